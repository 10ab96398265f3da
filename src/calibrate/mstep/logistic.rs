//! The dichotomous family in the engine's working coordinates: slope `a`,
//! intercept `d`, and the asymptotes through their logits,
//! `g = sigmoid(gamma)`, `u = sigmoid(nu)`:
//! `P = g + (u - g) sigmoid(a theta + d)`.
//!
//! Working on the logit scale keeps `0 < g < u < 1` without bounds in the
//! Newton steps. Every ratio below is formed as `exp(difference of logs)`, so
//! no probability underflows to zero in a division.

use crate::model::logspace::{ln_add_exp, ln_sigmoid, ln0};

/// Coordinate indices.
pub(crate) const A: usize = 0;
pub(crate) const D: usize = 1;
pub(crate) const GAMMA: usize = 2;
pub(crate) const NU: usize = 3;

/// `ln P(X = x | theta)` with its gradient and Hessian in `(a, d, gamma, nu)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Derivs {
    pub ln_p: f64,
    pub grad: [f64; 4],
    pub hess: [[f64; 4]; 4],
}

/// Logs of the pieces shared by the probability and its derivatives.
struct Logs {
    ls: f64,
    lsc: f64,
    lg: f64,
    l1g: f64,
    lu: f64,
    l1u: f64,
    lspan: f64,
    ln_p: f64,
    ln_q: f64,
}

#[inline]
fn logs(p: &[f64], theta: f64) -> Logs {
    let (a, d, g, u) = (p[0], p[1], p[2], p[3]);
    let z = a * theta + d;
    let ls = ln_sigmoid(z);
    let lsc = ln_sigmoid(-z);
    let lg = ln0(g);
    let l1u = ln0(1.0 - u);
    let lspan = (u - g).ln();
    Logs {
        ls,
        lsc,
        lg,
        l1g: (1.0 - g).ln(),
        lu: u.ln(),
        l1u,
        lspan,
        ln_p: ln_add_exp(lg, lspan + ls),
        ln_q: ln_add_exp(l1u, lspan + lsc),
    }
}

/// `(sigmoid(z), sigmoid(-z), sigmoid(z) sigmoid(-z))` from one `exp`,
/// each side without cancellation.
#[inline]
pub(crate) fn sigmoid_pair(z: f64) -> (f64, f64, f64) {
    let e = (-z.abs()).exp();
    let inv = 1.0 / (1.0 + e);
    let (s, sc) = if z >= 0.0 {
        (inv, e * inv)
    } else {
        (e * inv, inv)
    };
    (s, sc, e * inv * inv)
}

/// `(ln P, ln Q)` of an item with parameters `[a, d, g, u]`.
#[inline]
pub(crate) fn ln_pq(p: &[f64], theta: f64) -> (f64, f64) {
    if p[2] == 0.0 && p[3] == 1.0 {
        // 2PL: ln sigmoid(z) = min(z, 0) - ln(1 + exp(-|z|)) and
        // ln Q = ln sigmoid(-z) = ln sigmoid(z) - z: one `exp`, one `ln`.
        // This fills the E-step's table (items x nodes, every cycle), so the
        // logarithm is `ln` of the rounded `1 + e` rather than `ln_1p(e)`:
        // several times cheaper, and within 2e-16 (absolute) of it, which
        // moves a sum of 20,000 responses' log-likelihoods by under 1e-11.
        let z = p[0] * theta + p[1];
        let l = (1.0 + (-z.abs()).exp()).ln();
        let ls = if z >= 0.0 { -l } else { z - l };
        return (ls, ls - z);
    }
    let l = logs(p, theta);
    (l.ln_p, l.ln_q)
}

/// Value, gradient and Hessian of `ln P(X = x | theta)`.
pub(crate) fn derivs(p: &[f64], theta: f64, x: usize) -> Derivs {
    let l = logs(p, theta);
    let (g, u) = (p[2], p[3]);
    let lw = l.ls + l.lsc;
    let curv = l.lsc.exp() - l.ls.exp(); // 1 - 2 sigmoid(z)
    let (ln_norm, sign) = if x == 1 {
        (l.ln_p, 1.0)
    } else {
        (l.ln_q, -1.0)
    };
    let e = |t: f64| (t - ln_norm).exp();
    // First derivatives of P divided by P (or Q), before the sign of ln Q.
    let pz = e(l.lspan + lw);
    let pg = e(l.lg + l.l1g + l.lsc);
    let pu = e(l.lu + l.l1u + l.ls);
    let cg = e(lw + l.lg + l.l1g);
    let cu = e(lw + l.lu + l.l1u);
    let grad = [sign * pz * theta, sign * pz, sign * pg, sign * pu];
    // Second derivatives of P over P (or of Q over Q, with the sign).
    let mut h2 = [[0.0; 4]; 4];
    h2[A][A] = pz * curv * theta * theta;
    h2[A][D] = pz * curv * theta;
    h2[D][D] = pz * curv;
    h2[A][GAMMA] = -cg * theta;
    h2[D][GAMMA] = -cg;
    h2[A][NU] = cu * theta;
    h2[D][NU] = cu;
    h2[GAMMA][GAMMA] = pg * (1.0 - 2.0 * g);
    h2[NU][NU] = pu * (1.0 - 2.0 * u);
    let mut hess = [[0.0; 4]; 4];
    for r in 0..4 {
        for c in r..4 {
            let v = sign * h2[r][c] - grad[r] * grad[c];
            hess[r][c] = v;
            hess[c][r] = v;
        }
    }
    Derivs {
        ln_p: if x == 1 { l.ln_p } else { l.ln_q },
        grad,
        hess,
    }
}

/// The 2PL (and Rasch/1PL) case in closed form: with `n = r0 + r1` at a
/// node, `d/d(a, d) = (r1 - n s) (theta, 1)` and the Hessian is
/// `-n s (1 - s) (theta, 1)(theta, 1)^T`, `s = sigmoid(a theta + d)`.
/// Returns the expected complete-data log-likelihood, gradient and Hessian.
///
/// This is the innermost loop of the M-step (items x Newton evaluations x
/// nodes), so each node costs one `exp` and one `ln`: with
/// `e = exp(-|z|)`, `ln(1 + e)` gives both `ln s` and `ln(1 - s)` (they
/// differ by `z`), and `s (1 - s) = e / (1 + e)^2` on either side of zero.
/// Nodes without expected counts are skipped.
pub(crate) fn two_pl_objective(
    a: f64,
    d: f64,
    nodes: &[f64],
    r0: &[f64],
    r1: &[f64],
) -> (f64, [f64; 2], [[f64; 2]; 2]) {
    let (mut f, mut ga, mut gd, mut haa, mut had, mut hdd) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for ((&t, &n0), &n1) in nodes.iter().zip(r0).zip(r1) {
        let n = n0 + n1;
        if n == 0.0 {
            continue;
        }
        let z = a * t + d;
        let e = (-z.abs()).exp();
        // ln(1 + e) with e in (0, 1]: `ln` of the rounded sum is within
        // 2e-16 of `ln_1p`, and `f` only decides line searches (which allow
        // 1e-12 of it), while `ln` costs a fraction of `ln_1p`.
        let one_e = 1.0 + e;
        let l = one_e.ln();
        let inv = 1.0 / one_e;
        // ln s, ln(1 - s) and s for z >= 0; mirrored for z < 0.
        let (ls, lsc, s) = if z >= 0.0 {
            (-l, -z - l, inv)
        } else {
            (z - l, -l, e * inv)
        };
        f += n1 * ls + n0 * lsc;
        let res = n1 - n * s;
        ga += res * t;
        gd += res;
        let w = n * e * inv * inv;
        haa += w * t * t;
        had += w * t;
        hdd += w;
    }
    (f, [ga, gd], [[-haa, -had], [-had, -hdd]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params_from(x: &[f64; 4]) -> [f64; 4] {
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        [x[0], x[1], sig(x[2]), sig(x[3])]
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-5;
        for &coords in &[[1.3, -0.4, -1.5, 2.5], [0.7, 2.0, -3.0, 1.0]] {
            for &theta in &[-2.5, 0.3, 3.1] {
                for x in 0..2 {
                    let dv = derivs(&params_from(&coords), theta, x);
                    for k in 0..4 {
                        let mut up = coords;
                        let mut dn = coords;
                        up[k] += h;
                        dn[k] -= h;
                        let fu = derivs(&params_from(&up), theta, x);
                        let fd = derivs(&params_from(&dn), theta, x);
                        let g = (fu.ln_p - fd.ln_p) / (2.0 * h);
                        assert!((g - dv.grad[k]).abs() < 1e-7, "grad {k}: {g} {:?}", dv.grad);
                        for c in 0..4 {
                            let hc = (fu.grad[c] - fd.grad[c]) / (2.0 * h);
                            assert!(
                                (hc - dv.hess[k][c]).abs() < 1e-6,
                                "hess {k},{c}: {hc} vs {}",
                                dv.hess[k][c]
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn two_pl_closed_form_matches_general() {
        let nodes = [-1.0, 0.0, 1.5];
        let r0 = [3.0, 2.0, 0.5];
        let r1 = [1.0, 2.5, 4.0];
        let (f, g, hs) = two_pl_objective(1.2, 0.3, &nodes, &r0, &r1);
        let p = [1.2, 0.3, 0.0, 1.0];
        let (mut f2, mut g2, mut h2) = (0.0, [0.0; 2], [[0.0; 2]; 2]);
        for q in 0..3 {
            for (x, r) in [(0, r0[q]), (1, r1[q])] {
                let dv = derivs(&p, nodes[q], x);
                f2 += r * dv.ln_p;
                for i in 0..2 {
                    g2[i] += r * dv.grad[i];
                    for j in 0..2 {
                        h2[i][j] += r * dv.hess[i][j];
                    }
                }
            }
        }
        assert!((f - f2).abs() < 1e-12);
        for i in 0..2 {
            assert!((g[i] - g2[i]).abs() < 1e-12);
            for j in 0..2 {
                assert!((hs[i][j] - h2[i][j]).abs() < 1e-12);
            }
        }
    }
}
