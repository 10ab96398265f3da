//! Twin items: items whose response functions are identical, so that no
//! selection rule can tell them apart, and how an exam breaks the tie.
//!
//! Calibrated on a few LLMs, twins are common: an item's parameters depend
//! only on which calibration models answered it right, and with 21 models
//! many items share a pattern (on MMLU-Pro, 6,008 of 12,032 items have a
//! 2PL twin; under Rasch a fold has 34 distinct difficulties). Taking the
//! first twin in bank order, as a bare ranking does, sends every exam to the
//! same few items of each pattern and makes an exam's path turn on rounding
//! in its interim estimates. With [`Ties::Random`] the exam takes, among the
//! eligible twins of the item its rule chose, the one ranked first by a
//! random order of the bank drawn from the exam seed.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{Irf, ResponseModel};

/// How an exam chooses among twin items (identical response functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ties {
    /// A twin drawn from the exam seed (the default).
    #[default]
    Random,
    /// The first twin in bank order (the rule's own ranking; exams before
    /// this setting existed).
    First,
}

impl Ties {
    /// The name used in plans and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Ties::Random => "random",
            Ties::First => "first",
        }
    }
}

impl std::str::FromStr for Ties {
    type Err = crate::error::Error;

    /// Parses `random` or `first`, ignoring case and surrounding space.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming both values.
    fn from_str(s: &str) -> crate::error::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "random" => Ok(Ties::Random),
            "first" => Ok(Ties::First),
            other => Err(crate::error::Error::config(format!(
                "unknown ties rule '{other}' (expected random or first)"
            ))),
        }
    }
}

/// The twin classes of a bank, members of each class in bank order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Twins {
    /// Class of each item.
    class: Vec<u32>,
    /// Members of class `c`: `members[start[c]..start[c + 1]]`.
    start: Vec<u32>,
    members: Vec<u32>,
}

impl Twins {
    /// Groups items whose response functions have the same kind, number of
    /// categories and bit-identical parameters.
    pub(crate) fn new(irfs: &[Irf]) -> Self {
        let mut by_key: HashMap<(bool, usize, Vec<u64>), u32> = HashMap::new();
        let mut class = Vec::with_capacity(irfs.len());
        let mut sizes: Vec<u32> = Vec::new();
        for irf in irfs {
            let key = (
                matches!(irf, Irf::Graded(_)),
                irf.n_categories(),
                irf.params().iter().map(|p| p.to_bits()).collect(),
            );
            let next = sizes.len() as u32;
            let c = *by_key.entry(key).or_insert(next);
            if c == next {
                sizes.push(0);
            }
            sizes[c as usize] += 1;
            class.push(c);
        }
        let mut start = Vec::with_capacity(sizes.len() + 1);
        start.push(0u32);
        for s in &sizes {
            start.push(start.last().copied().unwrap_or(0) + s);
        }
        let mut fill = start.clone();
        let mut members = vec![0u32; irfs.len()];
        for (j, &c) in class.iter().enumerate() {
            members[fill[c as usize] as usize] = j as u32;
            fill[c as usize] += 1;
        }
        Twins {
            class,
            start,
            members,
        }
    }

    /// Item `j` and its twins, in bank order.
    pub(crate) fn of(&self, j: usize) -> &[u32] {
        let c = self.class[j] as usize;
        &self.members[self.start[c] as usize..self.start[c + 1] as usize]
    }

    /// True when some item has a twin.
    pub(crate) fn any(&self) -> bool {
        self.start.len() - 1 < self.class.len()
    }

    /// Among `j` and its twins that pass `eligible` (`j` itself is taken to
    /// pass), the one the exam seed `seed` ranks first; without twins, `j`.
    pub(crate) fn draw(&self, j: usize, seed: u64, eligible: impl Fn(usize) -> bool) -> usize {
        let twins = self.of(j);
        if twins.len() < 2 {
            return j;
        }
        twins
            .iter()
            .map(|&t| t as usize)
            .filter(|&t| t == j || eligible(t))
            .min_by_key(|&t| rank(seed, t))
            .unwrap_or(j)
    }
}

/// Position of item `j` in the random order of the bank drawn from `seed`:
/// SplitMix64's finaliser of the pair, a bijection of its input, so items
/// never share a rank under one seed. Stateless, so a restored session
/// breaks ties as the original would without saving any draw.
fn rank(seed: u64, j: usize) -> u64 {
    let mut z = seed ^ (j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Logistic;

    fn irf(a: f64, b: f64) -> Irf {
        Logistic::two_pl(a, b).unwrap().into()
    }

    #[test]
    fn classes_group_identical_functions_in_bank_order() {
        let irfs = [
            irf(1.0, 0.0),
            irf(1.5, 0.0),
            irf(1.0, 0.0),
            irf(1.0, 1e-12),
            irf(1.0, 0.0),
        ];
        let t = Twins::new(&irfs);
        assert!(t.any());
        assert_eq!(t.of(0), [0, 2, 4]);
        assert_eq!(t.of(4), [0, 2, 4]);
        assert_eq!(t.of(1), [1]);
        assert_eq!(t.of(3), [3], "a difference in the last bits is no twin");
        let distinct = Twins::new(&[irf(1.0, 0.0), irf(1.0, 1.0)]);
        assert!(!distinct.any());
        assert_eq!(distinct.draw(1, 7, |_| true), 1);
    }

    #[test]
    fn draws_follow_the_seed_and_respect_eligibility() {
        let irfs: Vec<Irf> = (0..40).map(|_| irf(1.2, 0.3)).collect();
        let t = Twins::new(&irfs);
        let picks: Vec<usize> = (0..200u64).map(|s| t.draw(0, s, |_| true)).collect();
        // Same seed, same twin; over seeds every twin comes up, none of them
        // much more often than its 1/40 share (5 of 200 expected).
        assert_eq!(
            picks,
            (0..200u64)
                .map(|s| t.draw(0, s, |_| true))
                .collect::<Vec<_>>()
        );
        let mut counts = [0usize; 40];
        for &p in &picks {
            counts[p] += 1;
        }
        assert!(
            counts.iter().filter(|&&c| c > 0).count() >= 30,
            "{counts:?}"
        );
        assert!(counts.iter().all(|&c| c <= 16), "{counts:?}");
        // Ineligible twins are never drawn; the rule's own pick always may be.
        for s in 0..50u64 {
            let p = t.draw(3, s, |k| k % 2 == 0);
            assert!(p == 3 || p % 2 == 0, "seed {s}: {p}");
        }
        assert_eq!(t.draw(5, 9, |_| false), 5);
    }

    #[test]
    fn graded_and_logistic_items_are_never_twins() {
        use crate::model::Graded;
        let g: Irf = Graded::new(1.0, vec![0.0]).unwrap().into();
        let t = Twins::new(&[g, irf(1.0, 0.0)]);
        assert!(!t.any());
    }

    #[test]
    fn names_round_trip() {
        for t in [Ties::Random, Ties::First] {
            assert_eq!(t.name().parse::<Ties>().unwrap(), t);
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.name())
            );
        }
        assert!(
            "lowest"
                .parse::<Ties>()
                .unwrap_err()
                .to_string()
                .contains("random or first")
        );
    }
}
