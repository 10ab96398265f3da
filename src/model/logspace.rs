//! Scalar helpers for working with probabilities in log space.

/// The logistic function `1 / (1 + exp(-x))`, exact to rounding for all `x`.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(sigmoid(x)) = -ln(1 + exp(-x))`, without overflow or cancellation.
#[inline]
pub fn ln_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

/// `ln(exp(x) + exp(y))`, accepting `-inf` for either argument.
#[inline]
pub fn ln_add_exp(x: f64, y: f64) -> f64 {
    let (hi, lo) = if x >= y { (x, y) } else { (y, x) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// `ln(1 - exp(x))` for `x < 0` (Maechler's split keeps full precision on
/// both sides of `-ln 2`).
#[inline]
pub fn ln_1m_exp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

/// Natural log that maps 0 to `-inf` without fuss (for asymptotes of 0).
#[inline]
pub fn ln0(x: f64) -> f64 {
    if x <= 0.0 { f64::NEG_INFINITY } else { x.ln() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_symmetric_and_saturates_cleanly() {
        for &x in &[-800.0, -30.0, -1.0, 0.0, 0.5, 30.0, 800.0] {
            assert!((sigmoid(x) + sigmoid(-x) - 1.0).abs() < 1e-15);
            assert!(ln_sigmoid(x).is_finite() || x < -700.0);
        }
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((ln_sigmoid(-800.0) + 800.0).abs() < 1e-12);
        assert!(ln_sigmoid(800.0) == 0.0);
    }

    #[test]
    fn ln_add_exp_matches_direct_sum() {
        let v = ln_add_exp(0.3f64.ln(), 0.2f64.ln());
        assert!((v - 0.5f64.ln()).abs() < 1e-15);
        assert_eq!(ln_add_exp(f64::NEG_INFINITY, -2.0), -2.0);
        assert!((ln_add_exp(-1000.0, -1000.0) - (-1000.0 + 2f64.ln())).abs() < 1e-12);
    }

    #[test]
    fn ln_1m_exp_is_accurate_near_zero_and_far_out() {
        assert!((ln_1m_exp(-1e-10) - (1e-10f64).ln()).abs() < 1e-6);
        assert!((ln_1m_exp(-50.0) + (-50f64).exp()).abs() < 1e-30);
        assert!((ln_1m_exp(-1.0) - (1.0 - (-1f64).exp()).ln()).abs() < 1e-15);
    }
}
