//! The graded response model in slope-intercept coordinates
//! `(a, d_1, ..., d_{K-1})`, `P(X >= k) = sigmoid(a theta + d_k)` with
//! `d_1 > d_2 > ... > d_{K-1}`.

use crate::model::logspace::{ln_1m_exp, ln_sigmoid};

/// `ln P(X = k | theta)` for parameters `[a, d_1, ..]`; `NaN` when the
/// intercepts bounding `k` are not strictly decreasing.
#[inline]
pub(crate) fn ln_prob(p: &[f64], theta: f64, k: usize) -> f64 {
    let top = p.len() - 1; // highest category
    let a = p[0];
    match (k > 0, k < top) {
        (false, true) => ln_sigmoid(-(a * theta + p[1])),
        (true, false) => ln_sigmoid(a * theta + p[k]),
        (true, true) => {
            let x = a * theta + p[k];
            let y = a * theta + p[k + 1];
            if y >= x {
                return f64::NAN;
            }
            ln_sigmoid(x) + ln_sigmoid(-y) + ln_1m_exp(y - x)
        }
        (false, false) => 0.0,
    }
}

/// Value of `ln P(X = k)`, and its gradient and Hessian (row-major,
/// `n x n` with `n = p.len()`) added with weight `r` into `grad`/`hess`.
pub(crate) fn add_derivs(
    p: &[f64],
    theta: f64,
    k: usize,
    r: f64,
    grad: &mut [f64],
    hess: &mut [f64],
) -> f64 {
    let n = p.len();
    let top = n - 1;
    let a = p[0];
    let ln_p = ln_prob(p, theta, k);
    // The two cumulative curves bounding k: index into p and its logit.
    let lower = (k > 0).then(|| (k, a * theta + p[k]));
    let upper = (k < top).then(|| (k + 1, a * theta + p[k + 1]));
    // dP/d(logit) = w = s(1-s) and d2P/d(logit)2 = w (1 - 2s), over P;
    // the upper curve enters P with a minus sign.
    let piece = |(idx, x): (usize, f64), sign: f64| {
        let (ls, lsc) = (ln_sigmoid(x), ln_sigmoid(-x));
        let w = (ls + lsc - ln_p).exp();
        (idx, sign * w, sign * w * (lsc.exp() - ls.exp()))
    };
    let parts: Vec<(usize, f64, f64)> = lower
        .map(|l| piece(l, 1.0))
        .into_iter()
        .chain(upper.map(|u| piece(u, -1.0)))
        .collect();
    // Gradient of ln P (dense over a and the two intercepts involved).
    let mut g_a = 0.0;
    let mut h_aa = 0.0;
    for &(idx, w, v) in &parts {
        g_a += w * theta;
        h_aa += v * theta * theta;
        grad[idx] += r * w;
        hess[idx * n + idx] += r * v;
        hess[idx] += r * v * theta;
        hess[idx * n] += r * v * theta;
    }
    grad[0] += r * g_a;
    hess[0] += r * h_aa;
    // Minus the outer product of the gradient.
    let mut sparse: Vec<(usize, f64)> = vec![(0, g_a)];
    sparse.extend(parts.iter().map(|&(idx, w, _)| (idx, w)));
    for &(i, gi) in &sparse {
        for &(j, gj) in &sparse {
            hess[i * n + j] -= r * gi * gj;
        }
    }
    ln_p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_sum_to_one() {
        let p = [1.3, 2.0, 0.1, -1.7];
        for &t in &[-3.0, 0.0, 2.2] {
            let s: f64 = (0..4).map(|k| ln_prob(&p, t, k).exp()).sum();
            assert!((s - 1.0).abs() < 1e-13);
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let p = [1.3, 2.0, 0.1, -1.7];
        let n = p.len();
        let h = 1e-5;
        for &t in &[-2.0, 0.4, 2.5] {
            for k in 0..4 {
                let mut g = vec![0.0; n];
                let mut hs = vec![0.0; n * n];
                add_derivs(&p, t, k, 1.0, &mut g, &mut hs);
                for i in 0..n {
                    let mut up = p;
                    let mut dn = p;
                    up[i] += h;
                    dn[i] -= h;
                    let fd = (ln_prob(&up, t, k) - ln_prob(&dn, t, k)) / (2.0 * h);
                    assert!((fd - g[i]).abs() < 1e-7, "k {k} grad {i}: {fd} vs {}", g[i]);
                    let mut gu = vec![0.0; n];
                    let mut gd = vec![0.0; n];
                    let mut scratch = vec![0.0; n * n];
                    add_derivs(&up, t, k, 1.0, &mut gu, &mut scratch);
                    add_derivs(&dn, t, k, 1.0, &mut gd, &mut scratch);
                    for j in 0..n {
                        let fh = (gu[j] - gd[j]) / (2.0 * h);
                        assert!(
                            (fh - hs[i * n + j]).abs() < 1e-6,
                            "k {k} hess {i},{j}: {fh} vs {}",
                            hs[i * n + j]
                        );
                    }
                }
            }
        }
    }
}
