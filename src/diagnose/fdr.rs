//! Multiple-testing control: Benjamini-Hochberg adjusted p-values.

/// Benjamini-Hochberg adjusted p-values (q-values), in input order:
/// with the `m` p-values sorted ascending, `q_(i) = min_{k >= i} m p_(k) / k`,
/// capped at 1. Flagging every test with `q <= alpha` controls the false
/// discovery rate at `alpha` for independent (or positively dependent) tests
/// (Benjamini & Hochberg, 1995). NaN p-values (tests that could not be run)
/// get NaN and do not count towards `m`.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let m = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computed_example() {
        // m = 5: sorted p 0.01, 0.02, 0.03, 0.04, 0.5 -> raw 0.05, 0.05,
        // 0.05, 0.05, 0.5; the running minimum from the top keeps them.
        let q = benjamini_hochberg(&[0.04, 0.5, 0.01, 0.03, 0.02]);
        let want = [0.05, 0.5, 0.05, 0.05, 0.05];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }

    #[test]
    fn monotone_in_p_and_nan_is_left_out() {
        let q = benjamini_hochberg(&[0.001, f64::NAN, 0.2, 0.011]);
        assert!(q[1].is_nan());
        // m = 3 (NaN left out): 0.001 * 3 = 0.003, 0.011 * 3 / 2 = 0.0165, 0.2.
        assert!((q[0] - 0.003).abs() < 1e-12);
        assert!((q[3] - 0.0165).abs() < 1e-12);
        assert!((q[2] - 0.2).abs() < 1e-12);
    }
}
