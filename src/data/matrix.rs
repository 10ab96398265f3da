//! Sparse storage of responses: few examinees, many items, most cells empty.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::ids::{ExamineeId, ItemId};

/// One observed response: examinee index, item index, score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// Row (examinee) index.
    pub examinee: u32,
    /// Column (item) index.
    pub item: u32,
    /// Score category, `0..K-1` (0/1 for dichotomous items).
    pub score: u8,
}

/// An examinees x items response matrix holding only the observed cells.
///
/// Cells are stored twice, once grouped by examinee and once by item, so that
/// both the E-step (per examinee) and the M-step (per item) of calibration
/// stream through contiguous memory. Memory is proportional to the number of
/// responses, not examinees x items.
///
/// Each examinee carries a frequency weight (1 unless the source was a
/// pattern table with a frequency column).
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMatrix {
    examinees: Vec<ExamineeId>,
    items: Vec<ItemId>,
    weights: Vec<f64>,
    by_examinee: Compressed,
    by_item: Compressed,
}

/// Compressed sparse rows: for group `g`, entries `ptr[g]..ptr[g+1]`.
#[derive(Debug, Clone, PartialEq, Default)]
struct Compressed {
    ptr: Vec<usize>,
    index: Vec<u32>,
    score: Vec<u8>,
}

impl Compressed {
    fn build(n_groups: usize, cells: &[Cell], key: impl Fn(&Cell) -> (u32, u32)) -> Self {
        let mut ptr = vec![0usize; n_groups + 1];
        for c in cells {
            ptr[key(c).0 as usize + 1] += 1;
        }
        for g in 0..n_groups {
            ptr[g + 1] += ptr[g];
        }
        let mut next = ptr.clone();
        let mut index = vec![0u32; cells.len()];
        let mut score = vec![0u8; cells.len()];
        for c in cells {
            let (g, other) = key(c);
            let slot = next[g as usize];
            next[g as usize] += 1;
            index[slot] = other;
            score[slot] = c.score;
        }
        Compressed { ptr, index, score }
    }

    fn group(&self, g: usize) -> (&[u32], &[u8]) {
        let r = self.ptr[g]..self.ptr[g + 1];
        (&self.index[r.clone()], &self.score[r])
    }
}

impl ResponseMatrix {
    /// Builds a matrix from observed cells.
    ///
    /// `weights`, when given, has one non-negative finite frequency per
    /// examinee. Cells are kept in the order given within each examinee and
    /// each item.
    ///
    /// # Errors
    /// A cell whose indices are out of range, the same (examinee, item) pair
    /// twice, duplicate ids, or a weight that is negative or not finite.
    pub fn new(
        examinees: Vec<ExamineeId>,
        items: Vec<ItemId>,
        cells: Vec<Cell>,
        weights: Option<Vec<f64>>,
    ) -> Result<Self> {
        check_unique(&examinees, "examinee")?;
        check_unique(&items, "item")?;
        let weights = match weights {
            Some(w) => {
                if w.len() != examinees.len() {
                    return Err(Error::value(format!(
                        "{} weights for {} examinees",
                        w.len(),
                        examinees.len()
                    )));
                }
                if let Some((i, v)) = w
                    .iter()
                    .enumerate()
                    .find(|(_, v)| !v.is_finite() || **v < 0.0)
                {
                    return Err(Error::value(format!(
                        "weight of examinee '{}' must be a non-negative number, got {v}",
                        examinees[i]
                    )));
                }
                w
            }
            None => vec![1.0; examinees.len()],
        };
        for c in &cells {
            if c.examinee as usize >= examinees.len() || c.item as usize >= items.len() {
                return Err(Error::value(format!(
                    "cell ({}, {}) is outside a {} x {} matrix",
                    c.examinee,
                    c.item,
                    examinees.len(),
                    items.len()
                )));
            }
        }
        let by_examinee = Compressed::build(examinees.len(), &cells, |c| (c.examinee, c.item));
        for (e, examinee) in examinees.iter().enumerate() {
            let (its, _) = by_examinee.group(e);
            let mut seen: Vec<u32> = its.to_vec();
            seen.sort_unstable();
            if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
                return Err(Error::value(format!(
                    "examinee '{examinee}' has more than one response to this item"
                ))
                .for_item(items[w[0] as usize].as_str()));
            }
        }
        let by_item = Compressed::build(items.len(), &cells, |c| (c.item, c.examinee));
        Ok(ResponseMatrix {
            examinees,
            items,
            weights,
            by_examinee,
            by_item,
        })
    }

    /// Number of examinees (rows).
    pub fn n_examinees(&self) -> usize {
        self.examinees.len()
    }

    /// Number of items (columns).
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Number of observed cells.
    pub fn n_responses(&self) -> usize {
        self.by_examinee.index.len()
    }

    /// Examinee ids, in row order.
    pub fn examinees(&self) -> &[ExamineeId] {
        &self.examinees
    }

    /// Item ids, in column order.
    pub fn items(&self) -> &[ItemId] {
        &self.items
    }

    /// Frequency weight of each examinee.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The items examinee `e` answered and the scores, as parallel slices.
    pub fn examinee_responses(&self, e: usize) -> (&[u32], &[u8]) {
        self.by_examinee.group(e)
    }

    /// The examinees who answered item `j` and their scores, as parallel slices.
    pub fn item_responses(&self, j: usize) -> (&[u32], &[u8]) {
        self.by_item.group(j)
    }

    /// The highest score observed on item `j` (0 when nobody answered it).
    pub fn max_score(&self, j: usize) -> u8 {
        self.item_responses(j).1.iter().copied().max().unwrap_or(0)
    }

    /// All cells, grouped by examinee.
    pub fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        (0..self.n_examinees()).flat_map(move |e| {
            let (its, scores) = self.examinee_responses(e);
            its.iter().zip(scores).map(move |(&j, &s)| Cell {
                examinee: e as u32,
                item: j,
                score: s,
            })
        })
    }

    /// Column index of every item id.
    pub fn item_index(&self) -> HashMap<&str, usize> {
        self.items
            .iter()
            .enumerate()
            .map(|(j, id)| (id.as_str(), j))
            .collect()
    }

    /// A new matrix holding only the examinees for which `keep` is true
    /// (all items kept, in the same order).
    pub fn filter_examinees(&self, mut keep: impl FnMut(usize, &ExamineeId) -> bool) -> Self {
        let mut examinees = Vec::new();
        let mut weights = Vec::new();
        let mut cells = Vec::new();
        for (e, id) in self.examinees.iter().enumerate() {
            if !keep(e, id) {
                continue;
            }
            let row = examinees.len() as u32;
            examinees.push(id.clone());
            weights.push(self.weights[e]);
            let (its, scores) = self.examinee_responses(e);
            cells.extend(its.iter().zip(scores).map(|(&item, &score)| Cell {
                examinee: row,
                item,
                score,
            }));
        }
        ResponseMatrix::new(examinees, self.items.clone(), cells, Some(weights))
            .expect("a filtered valid matrix stays valid")
    }

    /// A new matrix holding only the items for which `keep` is true (all
    /// examinees and their weights kept, columns in the same order, cells
    /// remapped to the new column indices).
    pub fn filter_items(&self, mut keep: impl FnMut(usize, &ItemId) -> bool) -> Self {
        let mut column = vec![None; self.items.len()];
        let mut items = Vec::new();
        for (j, id) in self.items.iter().enumerate() {
            if keep(j, id) {
                column[j] = Some(items.len() as u32);
                items.push(id.clone());
            }
        }
        let cells = self
            .cells()
            .filter_map(|c| {
                column[c.item as usize].map(|item| Cell {
                    examinee: c.examinee,
                    item,
                    score: c.score,
                })
            })
            .collect();
        ResponseMatrix::new(
            self.examinees.clone(),
            items,
            cells,
            Some(self.weights.clone()),
        )
        .expect("a filtered valid matrix stays valid")
    }
}

fn check_unique<T: AsRef<str>>(ids: &[T], what: &str) -> Result<()> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for id in ids {
        if !seen.insert(id.as_ref()) {
            return Err(Error::value(format!(
                "{what} id '{}' appears twice",
                id.as_ref()
            )));
        }
    }
    Ok(())
}

impl AsRef<str> for ExamineeId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ItemId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids<T: From<String>>(n: usize, p: &str) -> Vec<T> {
        (0..n).map(|i| T::from(format!("{p}{i}"))).collect()
    }

    #[test]
    fn both_views_hold_the_same_cells() {
        let cells = vec![
            Cell {
                examinee: 0,
                item: 2,
                score: 1,
            },
            Cell {
                examinee: 1,
                item: 0,
                score: 0,
            },
            Cell {
                examinee: 0,
                item: 0,
                score: 1,
            },
            Cell {
                examinee: 2,
                item: 2,
                score: 0,
            },
        ];
        let m = ResponseMatrix::new(ids(3, "m"), ids(3, "q"), cells, None).unwrap();
        assert_eq!(m.n_responses(), 4);
        assert_eq!(m.examinee_responses(0), (&[2u32, 0][..], &[1u8, 1][..]));
        assert_eq!(m.item_responses(2), (&[0u32, 2][..], &[1u8, 0][..]));
        assert_eq!(m.item_responses(1), (&[][..], &[][..]));
        assert_eq!(m.max_score(0), 1);
        assert_eq!(m.weights(), &[1.0, 1.0, 1.0]);
        assert_eq!(m.cells().count(), 4);
    }

    #[test]
    fn rejects_duplicates_and_bad_weights() {
        let dup = vec![
            Cell {
                examinee: 0,
                item: 1,
                score: 1,
            },
            Cell {
                examinee: 0,
                item: 1,
                score: 0,
            },
        ];
        let e = ResponseMatrix::new(ids(1, "m"), ids(2, "q"), dup, None).unwrap_err();
        assert_eq!(e.item(), Some("q1"));
        assert!(ResponseMatrix::new(ids(1, "m"), ids(1, "q"), vec![], Some(vec![-1.0])).is_err());
        let same: Vec<ItemId> = vec!["a".into(), "a".into()];
        assert!(ResponseMatrix::new(ids(1, "m"), same, vec![], None).is_err());
    }

    #[test]
    fn filtering_keeps_weights_and_cells() {
        let cells = vec![
            Cell {
                examinee: 0,
                item: 0,
                score: 1,
            },
            Cell {
                examinee: 1,
                item: 1,
                score: 0,
            },
        ];
        let m = ResponseMatrix::new(ids(2, "m"), ids(2, "q"), cells, Some(vec![2.0, 3.0])).unwrap();
        let f = m.filter_examinees(|e, _| e == 1);
        assert_eq!(f.n_examinees(), 1);
        assert_eq!(f.weights(), &[3.0]);
        assert_eq!(f.examinee_responses(0), (&[1u32][..], &[0u8][..]));
    }

    #[test]
    fn filtering_items_remaps_columns() {
        let cell = |examinee, item, score| Cell {
            examinee,
            item,
            score,
        };
        let cells = vec![cell(0, 0, 1), cell(0, 2, 0), cell(1, 2, 1), cell(1, 1, 1)];
        let m = ResponseMatrix::new(ids(2, "m"), ids(3, "q"), cells, Some(vec![2.0, 3.0])).unwrap();
        // Drop the middle column: q2 becomes column 1.
        let f = m.filter_items(|_, id| id.as_str() != "q1");
        assert_eq!(f.n_items(), 2);
        assert_eq!(f.items()[1].as_str(), "q2");
        assert_eq!(f.n_examinees(), 2);
        assert_eq!(f.weights(), &[2.0, 3.0]);
        assert_eq!(f.n_responses(), 3);
        assert_eq!(f.examinee_responses(0), (&[0u32, 1][..], &[1u8, 0][..]));
        assert_eq!(f.examinee_responses(1), (&[1u32][..], &[1u8][..]));
        assert_eq!(f.item_responses(1), (&[0u32, 1][..], &[0u8, 1][..]));
        // The index passed to the predicate is the original column.
        let g = m.filter_items(|j, _| j == 1);
        assert_eq!(g.items()[0].as_str(), "q1");
        assert_eq!(g.item_responses(0), (&[1u32][..], &[1u8][..]));
    }
}
