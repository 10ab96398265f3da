//! Precomputed orderings of a bank that make next-item searches sublinear.
//!
//! * [`InfoIndex`]: logistic items in buckets of similar discrimination,
//!   each bucket sorted by difficulty. For any logistic item (2PL to 4PL)
//!   `I(theta) <= a^2 s(z) s(-z)` with `z = a (theta - b)` and `s` the
//!   logistic function, because `P >= (u - g) s(z)` and `Q >= (u - g) s(-z)`.
//!   In a bucket with `a` in `[a_lo, a_hi]`, an item at distance
//!   `d = |theta - b|` therefore has `I <= a_hi^2 s(a_lo d) s(-a_lo d)`,
//!   which falls with `d`. Walking each bucket outward from `theta` stops as
//!   soon as that bound is below the k-th best information found, and whole
//!   buckets are skipped when `a_hi^2 / 4` is. Graded items have no such
//!   bound here and are evaluated one by one.
//! * [`LocationIndex`]: every item sorted by its location (difficulty `b`;
//!   the mean threshold for graded items), walked outward from `theta`.

use crate::model::{Irf, ResponseModel};

/// The best `k` candidates seen so far, best first; ties keep the lower index.
#[derive(Debug, Clone)]
pub(crate) struct TopK {
    k: usize,
    items: Vec<(f64, usize)>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k: k.max(1),
            items: Vec::with_capacity(k.max(1) + 1),
        }
    }

    /// True when `score` could not enter the list.
    #[inline]
    pub(crate) fn excludes(&self, score: f64) -> bool {
        self.items.len() == self.k && score < self.items[self.k - 1].0
    }

    /// Offers a candidate with `score` (higher is better; NaN never enters).
    #[inline]
    pub(crate) fn offer(&mut self, score: f64, item: usize) {
        if score.is_nan() || self.excludes(score) {
            return;
        }
        let pos = self
            .items
            .partition_point(|&(s, j)| s > score || (s == score && j < item));
        if pos >= self.k {
            return;
        }
        self.items.insert(pos, (score, item));
        self.items.truncate(self.k);
    }

    /// The candidates, best first.
    pub(crate) fn into_items(self) -> Vec<usize> {
        self.items.into_iter().map(|(_, j)| j).collect()
    }

    /// The candidates with their scores, best first.
    pub(crate) fn scored(&self) -> &[(f64, usize)] {
        &self.items
    }
}

#[inline]
fn logistic_pq(z: f64) -> f64 {
    // s(z) s(-z) = e^-|z| / (1 + e^-|z|)^2, stable for any z.
    let e = (-z.abs()).exp();
    e / ((1.0 + e) * (1.0 + e))
}

/// The 2PL information `a^2 s(z) s(-z)`, exact for items with `g = 0, u = 1`.
#[inline]
pub(crate) fn information(irf: &Irf, theta: f64) -> f64 {
    match irf {
        Irf::Logistic(l) if l.g() == 0.0 && l.u() == 1.0 => {
            l.a() * l.a() * logistic_pq(l.a() * (theta - l.b()))
        }
        other => other.information(theta),
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    a_lo: f64,
    a_hi: f64,
    /// Difficulties, increasing.
    b: Vec<f64>,
    /// Bank index of each entry of `b`.
    items: Vec<u32>,
}

/// Buckets of logistic items for bounded maximum-information search.
#[derive(Debug, Clone, Default)]
pub(crate) struct InfoIndex {
    /// In increasing `a`.
    buckets: Vec<Bucket>,
    /// Items without a usable bound (graded), evaluated exhaustively.
    others: Vec<u32>,
}

impl InfoIndex {
    pub(crate) fn new(irfs: &[Irf]) -> Self {
        let mut logistic: Vec<(f64, f64, u32)> = Vec::new();
        let mut others = Vec::new();
        for (j, irf) in irfs.iter().enumerate() {
            match irf {
                Irf::Logistic(l) => logistic.push((l.a(), l.b(), j as u32)),
                Irf::Graded(_) => others.push(j as u32),
            }
        }
        logistic.sort_by(|x, y| x.0.total_cmp(&y.0));
        // About sqrt(n) / 8 buckets: few enough to skip cheaply, narrow
        // enough in `a` for a tight bound.
        let n_buckets = ((logistic.len() as f64).sqrt() / 8.0)
            .ceil()
            .clamp(1.0, 64.0) as usize;
        let per = logistic.len().div_ceil(n_buckets).max(1);
        let buckets = logistic
            .chunks(per)
            .map(|chunk| {
                let mut entries: Vec<(f64, u32)> = chunk.iter().map(|&(_, b, j)| (b, j)).collect();
                entries.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                Bucket {
                    a_lo: chunk[0].0,
                    a_hi: chunk[chunk.len() - 1].0,
                    b: entries.iter().map(|e| e.0).collect(),
                    items: entries.iter().map(|e| e.1).collect(),
                }
            })
            .collect();
        InfoIndex { buckets, others }
    }

    /// The `k` eligible items of highest information at `theta`, best first.
    /// `a_range` (inclusive) lets whole buckets outside it be skipped; the
    /// caller's `eligible` must reject items outside it too.
    pub(crate) fn top(
        &self,
        irfs: &[Irf],
        theta: f64,
        k: usize,
        a_range: Option<(f64, f64)>,
        eligible: &dyn Fn(usize) -> bool,
    ) -> TopK {
        let mut top = TopK::new(k);
        for bucket in self.buckets.iter().rev() {
            if top.excludes(bucket.a_hi * bucket.a_hi * 0.25) {
                // Buckets come in decreasing a_hi: none further can compete.
                break;
            }
            if let Some((lo, hi)) = a_range {
                if bucket.a_hi < lo || bucket.a_lo > hi {
                    continue;
                }
            }
            let a2 = bucket.a_hi * bucket.a_hi;
            let mut right = bucket.b.partition_point(|&b| b < theta);
            let mut left = right;
            loop {
                let dl = if left > 0 {
                    theta - bucket.b[left - 1]
                } else {
                    f64::INFINITY
                };
                let dr = if right < bucket.b.len() {
                    bucket.b[right] - theta
                } else {
                    f64::INFINITY
                };
                let (pos, d) = if dl <= dr {
                    if left == 0 {
                        break;
                    }
                    left -= 1;
                    (left, dl)
                } else {
                    right += 1;
                    (right - 1, dr)
                };
                if top.excludes(a2 * logistic_pq(bucket.a_lo * d)) {
                    break;
                }
                let j = bucket.items[pos] as usize;
                if eligible(j) {
                    top.offer(information(&irfs[j], theta), j);
                }
            }
        }
        for &j in &self.others {
            let j = j as usize;
            if eligible(j) {
                top.offer(irfs[j].information(theta), j);
            }
        }
        top
    }
}

/// The location of an item on the theta scale: `b`, or the mean threshold of
/// a graded item.
pub(crate) fn location(irf: &Irf) -> f64 {
    match irf {
        Irf::Logistic(l) => l.b(),
        Irf::Graded(g) => g.thresholds().iter().sum::<f64>() / g.thresholds().len() as f64,
    }
}

/// Every item sorted by [`location`].
#[derive(Debug, Clone, Default)]
pub(crate) struct LocationIndex {
    loc: Vec<f64>,
    items: Vec<u32>,
}

impl LocationIndex {
    pub(crate) fn new(irfs: &[Irf]) -> Self {
        let mut entries: Vec<(f64, u32)> = irfs
            .iter()
            .enumerate()
            .map(|(j, irf)| (location(irf), j as u32))
            .collect();
        entries.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        LocationIndex {
            loc: entries.iter().map(|e| e.0).collect(),
            items: entries.iter().map(|e| e.1).collect(),
        }
    }

    /// The `k` eligible items whose location is nearest `theta`, nearest first.
    pub(crate) fn nearest(
        &self,
        theta: f64,
        k: usize,
        eligible: &dyn Fn(usize) -> bool,
    ) -> Vec<usize> {
        let mut out = Vec::with_capacity(k);
        let mut right = self.loc.partition_point(|&b| b < theta);
        let mut left = right;
        while out.len() < k {
            let dl = if left > 0 {
                theta - self.loc[left - 1]
            } else {
                f64::INFINITY
            };
            let dr = if right < self.loc.len() {
                self.loc[right] - theta
            } else {
                f64::INFINITY
            };
            let pos = if dl <= dr {
                if left == 0 {
                    break;
                }
                left -= 1;
                left
            } else {
                right += 1;
                right - 1
            };
            let j = self.items[pos] as usize;
            if eligible(j) {
                out.push(j);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Graded, Logistic};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_bank(n: usize, seed: u64) -> Vec<Irf> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|j| {
                let a = rng.random_range(0.3..2.5);
                let b = rng.random_range(-3.0..3.0);
                match j % 4 {
                    0 => Logistic::two_pl(a, b).unwrap().into(),
                    1 => Logistic::new(a, b, rng.random_range(0.0..0.3), 1.0)
                        .unwrap()
                        .into(),
                    2 => Logistic::new(a, b, 0.1, rng.random_range(0.8..1.0))
                        .unwrap()
                        .into(),
                    _ => Graded::new(a, vec![b - 0.5, b + 0.5]).unwrap().into(),
                }
            })
            .collect()
    }

    #[test]
    fn bounded_search_equals_exhaustive_search() {
        let bank = random_bank(2_000, 5);
        let index = InfoIndex::new(&bank);
        for (t, &theta) in [-4.0, -1.3, 0.0, 0.7, 2.9, 6.0].iter().enumerate() {
            let eligible = |j: usize| (j + t) % 3 != 0;
            let got = index.top(&bank, theta, 5, None, &eligible).into_items();
            let mut all: Vec<(f64, usize)> = (0..bank.len())
                .filter(|&j| eligible(j))
                .map(|j| (bank[j].information(theta), j))
                .collect();
            all.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            let want: Vec<usize> = all.iter().take(5).map(|x| x.1).collect();
            assert_eq!(got, want, "theta {theta}");
        }
    }

    #[test]
    fn fast_two_pl_information_matches_the_model() {
        let irf: Irf = Logistic::two_pl(1.7, 0.4).unwrap().into();
        for theta in [-30.0, -2.0, 0.4, 1.0, 30.0] {
            let (fast, exact) = (information(&irf, theta), irf.information(theta));
            assert!(
                (fast - exact).abs() <= 1e-12 * exact.max(1e-300),
                "{fast} {exact}"
            );
        }
    }

    #[test]
    fn nearest_walks_outward_and_stops_at_the_ends() {
        let bank: Vec<Irf> = [-2.0, -0.5, 0.1, 0.3, 2.0]
            .iter()
            .map(|&b| Logistic::rasch(b).unwrap().into())
            .collect();
        let index = LocationIndex::new(&bank);
        assert_eq!(index.nearest(0.0, 3, &|_| true), [2, 3, 1]);
        // -2 and 2 tie: the lower location comes first.
        assert_eq!(index.nearest(0.0, 9, &|j| j != 2), [3, 1, 0, 4]);
        assert!(index.nearest(0.0, 2, &|_| false).is_empty());
    }

    #[test]
    fn top_k_orders_by_score_then_index() {
        let mut top = TopK::new(3);
        for (s, j) in [
            (1.0, 5),
            (3.0, 2),
            (1.0, 1),
            (f64::NAN, 0),
            (2.0, 9),
            (0.5, 3),
        ] {
            top.offer(s, j);
        }
        assert_eq!(top.into_items(), [2, 9, 1]);
    }
}
