//! The quadrature grid of the standardised latent variable.

use super::config::QuadratureConfig;

/// Nodes `z_q` equally spaced on `[-range, range]` and the log of their
/// normalised N(0, 1) weights, `ln w_q = ln phi(z_q) - ln sum_r phi(z_r)`.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub nodes: Vec<f64>,
    pub ln_weights: Vec<f64>,
}

impl Grid {
    pub fn new(config: &QuadratureConfig) -> Self {
        let q = config.points();
        let r = config.range();
        let step = 2.0 * r / (q - 1) as f64;
        let nodes: Vec<f64> = (0..q).map(|i| -r + step * i as f64).collect();
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
}
