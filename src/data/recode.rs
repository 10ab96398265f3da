//! Recoding score categories so that each item's lowest observed category
//! is 0, as the response models expect (`0..K-1`).
//!
//! Rating scales are often stored as 1..4 (the Science data) or 1..5; the
//! reader keeps the numbers as written, and shifting them is this separate,
//! explicit step so that the offsets can be reported and undone.

use crate::data::{Cell, ResponseMatrix};

/// Shifts each item's scores down by its lowest observed score, returning
/// the new matrix and the per-item offsets (so `original = recoded + offset`).
///
/// An item nobody answered keeps offset 0. Examinees, items, weights and
/// the order of cells are unchanged.
///
/// ```
/// use fangsheng::data::{recode_from_min, Cell, ResponseMatrix};
/// let cells = vec![
///     Cell { examinee: 0, item: 0, score: 2 },
///     Cell { examinee: 1, item: 0, score: 4 },
/// ];
/// let m = ResponseMatrix::new(vec!["a".into(), "b".into()], vec!["q".into()], cells, None)?;
/// let (r, offsets) = recode_from_min(&m);
/// assert_eq!(offsets, vec![2]);
/// assert_eq!(r.item_responses(0).1, &[0, 2]);
/// # Ok::<(), fangsheng::Error>(())
/// ```
pub fn recode_from_min(m: &ResponseMatrix) -> (ResponseMatrix, Vec<u8>) {
    let offsets: Vec<u8> = (0..m.n_items())
        .map(|j| m.item_responses(j).1.iter().copied().min().unwrap_or(0))
        .collect();
    let cells: Vec<Cell> = m
        .cells()
        .map(|c| Cell {
            score: c.score - offsets[c.item as usize],
            ..c
        })
        .collect();
    let recoded = ResponseMatrix::new(
        m.examinees().to_vec(),
        m.items().to_vec(),
        cells,
        Some(m.weights().to_vec()),
    )
    .expect("recoding scores keeps a valid matrix valid");
    (recoded, offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_item_is_shifted_by_its_own_minimum() {
        let cell = |examinee, item, score| Cell {
            examinee,
            item,
            score,
        };
        let cells = vec![cell(0, 0, 3), cell(1, 0, 1), cell(0, 1, 0), cell(1, 1, 2)];
        let m = ResponseMatrix::new(
            vec!["a".into(), "b".into()],
            vec!["q1".into(), "q2".into(), "unused".into()],
            cells,
            Some(vec![2.0, 5.0]),
        )
        .unwrap();
        let (r, offsets) = recode_from_min(&m);
        assert_eq!(offsets, vec![1, 0, 0]);
        assert_eq!(r.item_responses(0), (&[0u32, 1][..], &[2u8, 0][..]));
        assert_eq!(r.item_responses(1), (&[0u32, 1][..], &[0u8, 2][..]));
        assert_eq!(r.weights(), m.weights());
        assert_eq!(r.items(), m.items());
    }
}
