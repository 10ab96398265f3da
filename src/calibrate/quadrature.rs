//! The quadrature grid of the standardised latent variable.

use super::config::QuadratureConfig;

/// Nodes `z_q` equally spaced on `[lo, hi]` and the log of their
/// normalised N(0, 1) weights, `ln w_q = ln phi(z_q) - ln sum_r phi(z_r)`.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub nodes: Vec<f64>,
    pub ln_weights: Vec<f64>,
}

impl Grid {
    pub fn new(config: &QuadratureConfig) -> Self {
        let q = config.points();
        let (lo, hi) = config.bounds();
        let step = (hi - lo) / (q - 1) as f64;
        let nodes: Vec<f64> = (0..q).map(|i| lo + step * i as f64).collect();
        let raw: Vec<f64> = nodes.iter().map(|z| -0.5 * z * z).collect();
        let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ln_sum = max + raw.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        let ln_weights = raw.iter().map(|v| v - ln_sum).collect();
        Grid { nodes, ln_weights }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_normalise_and_match_normal_moments() {
        let g = Grid::new(&QuadratureConfig::new(61, 6.0).unwrap());
        let w: Vec<f64> = g.ln_weights.iter().map(|v| v.exp()).collect();
        let total: f64 = w.iter().sum();
        let mean: f64 = w.iter().zip(&g.nodes).map(|(w, z)| w * z).sum();
        let var: f64 = w.iter().zip(&g.nodes).map(|(w, z)| w * z * z).sum();
        assert!((total - 1.0).abs() < 1e-14);
        assert!(mean.abs() < 1e-14);
        // The rectangle rule is spectrally accurate on a Gaussian; what is
        // left is the tail beyond 6 SD (about 1e-7 of the variance).
        assert!((var - 1.0).abs() < 1e-6, "{var}");
    }

    #[test]
    fn an_asymmetric_grid_runs_from_lo_to_hi_with_the_same_weights() {
        let sym = Grid::new(&QuadratureConfig::new(121, 6.0).unwrap());
        // 20 nodes more on the right, at the same spacing.
        let wide = Grid::new(&QuadratureConfig::between(141, -6.0, 8.0).unwrap());
        assert_eq!(wide.nodes[0], -6.0);
        assert!((wide.nodes[140] - 8.0).abs() < 1e-12);
        for q in 0..121 {
            assert!((wide.nodes[q] - sym.nodes[q]).abs() < 1e-12, "node {q}");
            // The extra nodes hold about 1e-8 of the mass: the shared ones
            // keep their weights to that precision.
            let (a, b) = (wide.ln_weights[q].exp(), sym.ln_weights[q].exp());
            assert!((a - b).abs() < 1e-9, "node {q}: {a} vs {b}");
        }
    }

    /// Slopes and difficulties of a 2PL calibration of `m` on `quadrature`.
    fn fitted_ab(m: &crate::data::ResponseMatrix, quadrature: QuadratureConfig) -> Vec<(f64, f64)> {
        use crate::model::Irf;
        let config = crate::calibrate::CalibrationConfig {
            quadrature,
            ..Default::default()
        };
        let fit = crate::calibrate::calibrate(m, &config, &mut |_| {}).unwrap();
        assert!(fit.converged);
        fit.items
            .iter()
            .map(|it| match &it.irf {
                Irf::Logistic(l) => (l.a(), l.b()),
                Irf::Graded(_) => unreachable!("2PL items"),
            })
            .collect()
    }

    #[test]
    fn an_asymmetric_grid_calibrates_as_the_symmetric_one() {
        use crate::model::{Irf, Logistic};
        use crate::simulate::{simulate_responses, standard_normals};
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let truth: Vec<(f64, f64)> = (0..20)
            .map(|j| (0.6 + 0.08 * j as f64, -2.0 + 0.2 * j as f64))
            .collect();
        let irfs: Vec<Irf> = truth
            .iter()
            .map(|&(a, b)| Logistic::two_pl(a, b).unwrap().into())
            .collect();
        let thetas = standard_normals(2_000, &mut rng);
        let m = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
        let sym = fitted_ab(&m, QuadratureConfig::new(121, 6.0).unwrap());
        // The same nodes and 20 more above 6 SD, where the prior has no mass:
        // the same fit.
        let longer = fitted_ab(&m, QuadratureConfig::between(141, -6.0, 8.0).unwrap());
        // A grid cut at -4 SD and stretched to +8 SD, nodes 0.1 apart: the
        // cut tail holds 3e-5 of the prior, so the fit moves a little.
        let shifted = fitted_ab(&m, QuadratureConfig::between(121, -4.0, 8.0).unwrap());
        for j in 0..truth.len() {
            let (a, b) = sym[j];
            assert!((longer[j].0 - a).abs() < 1e-6 && (longer[j].1 - b).abs() < 1e-6);
            assert!(
                (shifted[j].0 - a).abs() < 0.02,
                "a{j}: {:?} vs {a}",
                shifted[j]
            );
            assert!(
                (shifted[j].1 - b).abs() < 0.02,
                "b{j}: {:?} vs {b}",
                shifted[j]
            );
            // And it recovers the truth.
            assert!((shifted[j].0 - truth[j].0).abs() < 0.25, "a{j}");
            assert!((shifted[j].1 - truth[j].1).abs() < 0.25, "b{j}");
        }
    }
}
