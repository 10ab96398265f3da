//! The Stocking-Lord criterion and its minimisation.
//!
//! Residuals `r_q = T_old(theta_q) - T_new(u_q)` with `u_q = (theta_q - B) / A`;
//! their Jacobian is analytic: `dr_q/dA = T_new'(u_q) u_q / A` and
//! `dr_q/dB = T_new'(u_q) / A`, where `T' = sum_j sum_k k P_jk d ln P_jk /
//! d theta`. Gauss-Newton on the weighted least squares with
//! Levenberg-Marquardt damping converges in a handful of steps (the
//! residuals are zero at the solution when NEW is an exact linear image of
//! OLD).

use super::Transform;
use crate::bank::Scale;
use crate::error::{Error, Result};
use crate::model::{Irf, ResponseModel};

/// Number of points of the criterion's grid.
pub const GRID_POINTS: usize = 41;
/// Half-width of the grid in standardised units (`z` on `[-4, 4]`).
pub const GRID_RANGE: f64 = 4.0;

/// The grid on OLD's scale and its normalised N(0, 1) weights.
fn grid(scale: Scale) -> (Vec<f64>, Vec<f64>) {
    let step = 2.0 * GRID_RANGE / (GRID_POINTS - 1) as f64;
    let z: Vec<f64> = (0..GRID_POINTS)
        .map(|i| -GRID_RANGE + step * i as f64)
        .collect();
    let raw: Vec<f64> = z.iter().map(|z| (-0.5 * z * z).exp()).collect();
    let total: f64 = raw.iter().sum();
    let theta = z.iter().map(|z| scale.mean + scale.sd * z).collect();
    (theta, raw.iter().map(|w| w / total).collect())
}

/// `E[X | theta]` and its derivative in theta.
fn score_and_slope(irf: &Irf, theta: f64) -> (f64, f64) {
    (1..irf.n_categories()).fold((0.0, 0.0), |(e, d), k| {
        let t = irf.theta_derivs(theta, k);
        let p = t.log_prob.exp();
        (e + k as f64 * p, d + k as f64 * p * t.d1)
    })
}

/// Residuals and Jacobian columns (`dA`, `dB`) at `t`.
pub(super) struct Residuals {
    pub r: Vec<f64>,
    pub da: Vec<f64>,
    pub db: Vec<f64>,
}

pub(super) fn residuals(
    pairs: &[(&Irf, &Irf)],
    theta: &[f64],
    t_old: &[f64],
    t: Transform,
) -> Residuals {
    let n = theta.len();
    let mut out = Residuals {
        r: Vec::with_capacity(n),
        da: Vec::with_capacity(n),
        db: Vec::with_capacity(n),
    };
    for (q, &th) in theta.iter().enumerate() {
        let u = (th - t.b) / t.a;
        let (tn, dn) = pairs.iter().fold((0.0, 0.0), |(s, d), (_, irf)| {
            let (e, de) = score_and_slope(irf, u);
            (s + e, d + de)
        });
        out.r.push(t_old[q] - tn);
        out.da.push(dn * u / t.a);
        out.db.push(dn / t.a);
    }
    out
}

fn criterion(w: &[f64], r: &[f64]) -> f64 {
    w.iter().zip(r).map(|(w, r)| w * r * r).sum()
}

/// Minimises the criterion from `start`; with `unit_fixed`, `A = 1` and only
/// `B` moves. Returns the transform, the criterion and the iterations.
pub(super) fn solve(
    pairs: &[(&Irf, &Irf)],
    scale: Scale,
    start: Transform,
    unit_fixed: bool,
) -> Result<(Transform, f64, usize)> {
    let (theta, w) = grid(scale);
    let t_old: Vec<f64> = theta
        .iter()
        .map(|&th| pairs.iter().map(|(o, _)| o.expected_score(th)).sum())
        .collect();
    let mut t = if unit_fixed {
        Transform { a: 1.0, b: start.b }
    } else {
        start
    };
    let mut res = residuals(pairs, &theta, &t_old, t);
    let mut f = criterion(&w, &res.r);
    let mut lambda = 1e-3;
    let mut iterations = 0;
    for it in 1..=200 {
        iterations = it;
        // Normal equations J'WJ d = -J'W r, where J = d r / d(A, B).
        let (mut haa, mut hab, mut hbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (q, wq) in w.iter().enumerate() {
            let (wa, wb) = (wq * res.da[q], wq * res.db[q]);
            haa += wa * res.da[q];
            hab += wa * res.db[q];
            hbb += wb * res.db[q];
            ga += wa * res.r[q];
            gb += wb * res.r[q];
        }
        let mut improved = false;
        let mut small = false;
        for _ in 0..30 {
            let (daa, dbb) = (haa * (1.0 + lambda), hbb * (1.0 + lambda));
            let (step_a, step_b) = if unit_fixed {
                (0.0, if dbb > 0.0 { -gb / dbb } else { 0.0 })
            } else {
                let det = daa * dbb - hab * hab;
                if det > 0.0 {
                    ((-ga * dbb + gb * hab) / det, (-gb * daa + ga * hab) / det)
                } else {
                    (0.0, 0.0)
                }
            };
            if step_a == 0.0 && step_b == 0.0 {
                small = true;
                break;
            }
            let trial = Transform {
                a: t.a + step_a,
                b: t.b + step_b,
            };
            if trial.a > 0.0 && trial.a.is_finite() && trial.b.is_finite() {
                let r = residuals(pairs, &theta, &t_old, trial);
                let ft = criterion(&w, &r.r);
                if ft <= f {
                    small = step_a.abs() < 1e-12 * t.a.max(1.0)
                        && step_b.abs() < 1e-12 * t.b.abs().max(1.0);
                    t = trial;
                    res = r;
                    f = ft;
                    lambda = (lambda * 0.1).max(1e-12);
                    improved = true;
                    break;
                }
            }
            lambda *= 10.0;
        }
        if !improved || small || f < 1e-28 {
            break;
        }
    }
    if !(t.a > 0.0 && t.a.is_finite() && t.b.is_finite() && f.is_finite()) {
        return Err(Error::value(
            "Stocking-Lord linking found no solution with A > 0 (do the common items discriminate?)",
        ));
    }
    Ok((t, f, iterations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Graded, Logistic};

    fn items() -> Vec<(Irf, Irf)> {
        let t = Transform { a: 0.8, b: -0.3 };
        (0..8)
            .map(|j| {
                let old: Irf = if j % 4 == 3 {
                    Graded::new(1.1, vec![-1.0 + 0.1 * j as f64, 0.5, 1.4])
                        .unwrap()
                        .into()
                } else {
                    Logistic::new(0.7 + 0.15 * j as f64, -1.2 + 0.3 * j as f64, 0.1, 1.0)
                        .unwrap()
                        .into()
                };
                // NEW = OLD on a scale where theta_old = 1.25 theta_new + 0.4:
                // the inverse map of t sends OLD to NEW.
                let new = t.irf(&old).unwrap();
                (old, new)
            })
            .collect()
    }

    #[test]
    fn jacobian_matches_finite_differences() {
        let owned = items();
        let pairs: Vec<(&Irf, &Irf)> = owned.iter().map(|(o, n)| (o, n)).collect();
        let (theta, _) = grid(Scale::default());
        let t_old = vec![0.0; theta.len()];
        let t = Transform { a: 1.1, b: 0.2 };
        let res = residuals(&pairs, &theta, &t_old, t);
        let h = 1e-6;
        let at = |a: f64, b: f64| residuals(&pairs, &theta, &t_old, Transform { a, b }).r;
        let (ap, am) = (at(t.a + h, t.b), at(t.a - h, t.b));
        let (bp, bm) = (at(t.a, t.b + h), at(t.a, t.b - h));
        for q in 0..theta.len() {
            let fa = (ap[q] - am[q]) / (2.0 * h);
            let fb = (bp[q] - bm[q]) / (2.0 * h);
            assert!(
                (res.da[q] - fa).abs() < 1e-6,
                "dA at {q}: {} vs {fa}",
                res.da[q]
            );
            assert!(
                (res.db[q] - fb).abs() < 1e-6,
                "dB at {q}: {} vs {fb}",
                res.db[q]
            );
        }
    }

    #[test]
    fn recovers_an_exact_linear_map_from_a_poor_start() {
        let owned = items();
        let pairs: Vec<(&Irf, &Irf)> = owned.iter().map(|(o, n)| (o, n)).collect();
        // theta_old = A theta_new + B with NEW = t(OLD), t = (0.8, -0.3):
        // theta_new = 0.8 theta_old - 0.3, so A = 1.25, B = 0.375.
        let (t, f, _) = solve(&pairs, Scale::default(), Transform::IDENTITY, false).unwrap();
        assert!((t.a - 1.25).abs() < 1e-8, "{t:?}");
        assert!((t.b - 0.375).abs() < 1e-8, "{t:?}");
        assert!(f < 1e-16, "{f}");
    }
}
