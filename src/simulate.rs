//! Simulated examinees with known abilities: the ground truth that parameter
//! recovery tests and simulation studies compare against.

use rand::Rng;

use crate::data::{Cell, ResponseMatrix};
use crate::ids::{ExamineeId, ItemId};
use crate::model::{Irf, ResponseModel};

/// Draws a score for `irf` at `theta` by inverting the category CDF.
pub fn draw_score<R: Rng + ?Sized>(irf: &Irf, theta: f64, rng: &mut R) -> u8 {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let last = irf.n_categories() - 1;
    for k in 0..last {
        acc += irf.prob(theta, k);
        if u < acc {
            return k as u8;
        }
    }
    last as u8
}

/// Simulates a response matrix: examinee `i` has ability `thetas[i]`, and
/// each cell is observed independently with probability `observed`
/// (1.0 for a complete matrix). Examinees are named `sim0001`-style and items
/// `item00001`-style unless ids are given.
pub fn simulate_responses<R: Rng + ?Sized>(
    irfs: &[Irf],
    thetas: &[f64],
    observed: f64,
    item_ids: Option<Vec<ItemId>>,
    rng: &mut R,
) -> ResponseMatrix {
    let examinees: Vec<ExamineeId> = (0..thetas.len())
        .map(|i| ExamineeId::from(format!("sim{:05}", i + 1)))
        .collect();
    let items = item_ids.unwrap_or_else(|| {
        (0..irfs.len())
            .map(|j| ItemId::from(format!("item{:06}", j + 1)))
            .collect()
    });
    let mut cells =
        Vec::with_capacity((thetas.len() as f64 * irfs.len() as f64 * observed) as usize);
    for (i, &theta) in thetas.iter().enumerate() {
        for (j, irf) in irfs.iter().enumerate() {
            if observed < 1.0 && rng.random::<f64>() >= observed {
                continue;
            }
            cells.push(Cell {
                examinee: i as u32,
                item: j as u32,
                score: draw_score(irf, theta, rng),
            });
        }
    }
    ResponseMatrix::new(examinees, items, cells, None)
        .expect("simulated ids are unique and cells in range")
}

/// Standard normal draws by the Box-Muller transform (keeps the dependency
/// set small: no distribution crate needed for simulation).
pub fn standard_normals<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Logistic;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn simulated_proportions_follow_the_model() {
        let irf: Irf = Logistic::new(1.0, 0.5, 0.2, 0.9).unwrap().into();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 40_000;
        let m = simulate_responses(
            std::slice::from_ref(&irf),
            &vec![0.0; n],
            1.0,
            None,
            &mut rng,
        );
        let correct = m.item_responses(0).1.iter().filter(|&&s| s == 1).count() as f64 / n as f64;
        let p = irf.prob(0.0, 1);
        // Binomial SD at n = 40,000 is about 0.0025: 4 SD tolerance.
        assert!((correct - p).abs() < 0.01, "{correct} vs {p}");
    }

    #[test]
    fn sparse_design_observes_the_requested_share() {
        let irfs: Vec<Irf> = (0..100)
            .map(|_| Logistic::rasch(0.0).unwrap().into())
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let m = simulate_responses(&irfs, &vec![0.0; 100], 0.2, None, &mut rng);
        let share = m.n_responses() as f64 / 10_000.0;
        assert!((share - 0.2).abs() < 0.02, "{share}");
    }

    #[test]
    fn normals_have_unit_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let z = standard_normals(50_000, &mut rng);
        let mean = z.iter().sum::<f64>() / z.len() as f64;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / z.len() as f64;
        assert!(
            mean.abs() < 0.02 && (var - 1.0).abs() < 0.03,
            "{mean} {var}"
        );
    }
}
