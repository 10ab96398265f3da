//! Priors on item parameters (the calibration is then a posterior mode,
//! "MAP-EM"; with [`PriorConfig::none`] it is plain marginal maximum
//! likelihood).
//!
//! Priors act on the slope-intercept parameters the engine works in
//! (`P = g + (u - g) / (1 + exp(-(a theta + d)))`, graded:
//! `P(X >= k) = 1 / (1 + exp(-(a theta + d_k)))`):
//!
//! * slope `a`: log-normal, applied as a normal density on `ln a`
//!   (`ln a ~ N(meanlog, sdlog)`), so its mode on `a` is `exp(meanlog)`;
//! * intercept `d` (each `d_k` of a graded item): normal;
//! * lower asymptote `g` and upper asymptote `u`: beta densities.
//!
//! Defaults ([`PriorConfig::Default`]), chosen so that every item stays
//! finite, including items that nobody (or everybody) answered correctly:
//!
//! | model | `ln a` | `d` | `g` | `u` |
//! |---|---|---|---|---|
//! | rasch, 1pl | (common slope: none) | N(0, 5) | | |
//! | 2pl, grm | N(0, 1) | N(0, 5) | | |
//! | 3pl | N(0, 0.5) | N(0, 5) | Beta(5, 17) | |
//! | 4pl | N(0, 0.5) | N(0, 5) | Beta(5, 17) | Beta(17, 2) |
//!
//! `ln a ~ N(0, 0.5)` and `g ~ Beta(5, 17)` are BILOG-MG's defaults for the
//! 3PL (the beta is `20 c + 1, 20 (1 - c) + 1` with guessing rate `c = 0.2`,
//! mode 0.2). `Beta(17, 2)` puts the upper asymptote's mode at 16/17 = 0.94.
//! The 2PL priors are weak (`a` between 0.14 and 7.4 within 2 SD, `|d| < 10`):
//! on LSAT7 they move no estimate by more than a few thousandths.

/// A normal density `N(mean, sd)` on a parameter (or on its log).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalPrior {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (positive).
    pub sd: f64,
}

/// A beta density `Beta(alpha, beta)` on an asymptote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaPrior {
    /// First shape (`>= 1` keeps the density bounded at 0).
    pub alpha: f64,
    /// Second shape (`>= 1` keeps the density bounded at 1).
    pub beta: f64,
}

/// The priors of one item; `None` leaves a parameter unpenalised.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ItemPriors {
    /// `ln a ~ N(mean, sd)`.
    pub log_slope: Option<NormalPrior>,
    /// `d ~ N(mean, sd)` (each intercept of a graded item).
    pub intercept: Option<NormalPrior>,
    /// `g ~ Beta(alpha, beta)`.
    pub guessing: Option<BetaPrior>,
    /// `u ~ Beta(alpha, beta)`.
    pub upper: Option<BetaPrior>,
}

/// Which priors a calibration uses.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum PriorConfig {
    /// The documented per-model defaults (see the module table).
    #[default]
    Default,
    /// No priors: plain marginal maximum likelihood (`--prior none`).
    None,
    /// The same priors for every item (parameters a model fixes ignore them).
    Custom(ItemPriors),
    /// The per-model defaults with this prior on `ln a` in place of theirs
    /// (`--slope-prior-sd`): each item of a mixed bank keeps its own
    /// model's other priors.
    DefaultWithSlope(NormalPrior),
}

impl PriorConfig {
    /// No priors: plain marginal maximum likelihood.
    pub fn none() -> Self {
        PriorConfig::None
    }

    /// These priors with `slope` on `ln a` in place of whatever they put there.
    pub fn with_slope(self, slope: NormalPrior) -> Self {
        match self {
            PriorConfig::Default | PriorConfig::DefaultWithSlope(_) => {
                PriorConfig::DefaultWithSlope(slope)
            }
            PriorConfig::None => PriorConfig::Custom(ItemPriors {
                log_slope: Some(slope),
                ..ItemPriors::default()
            }),
            PriorConfig::Custom(p) => PriorConfig::Custom(ItemPriors {
                log_slope: Some(slope),
                ..p
            }),
        }
    }

    /// The priors applied to an item of `kind`.
    pub fn for_kind(&self, kind: crate::model::ModelKind) -> ItemPriors {
        use crate::model::ModelKind as K;
        let n = |mean, sd| Some(NormalPrior { mean, sd });
        let b = |alpha, beta| Some(BetaPrior { alpha, beta });
        match self {
            PriorConfig::None => ItemPriors::default(),
            PriorConfig::Custom(p) => *p,
            PriorConfig::DefaultWithSlope(slope) => ItemPriors {
                log_slope: Some(*slope),
                ..PriorConfig::Default.for_kind(kind)
            },
            PriorConfig::Default => match kind {
                K::Rasch | K::OnePl => ItemPriors {
                    intercept: n(0.0, 5.0),
                    ..ItemPriors::default()
                },
                K::TwoPl | K::Graded => ItemPriors {
                    log_slope: n(0.0, 1.0),
                    intercept: n(0.0, 5.0),
                    ..ItemPriors::default()
                },
                K::ThreePl => ItemPriors {
                    log_slope: n(0.0, 0.5),
                    intercept: n(0.0, 5.0),
                    guessing: b(5.0, 17.0),
                    upper: None,
                },
                K::FourPl => ItemPriors {
                    log_slope: n(0.0, 0.5),
                    intercept: n(0.0, 5.0),
                    guessing: b(5.0, 17.0),
                    upper: b(17.0, 2.0),
                },
            },
        }
    }
}

/// Value, first and second derivative of a log prior term.
pub(crate) type Term = (f64, f64, f64);

impl NormalPrior {
    /// `ln` density (up to a constant) of `x` and its derivatives in `x`.
    pub(crate) fn on_value(&self, x: f64) -> Term {
        let v = self.sd * self.sd;
        let z = x - self.mean;
        (-0.5 * z * z / v, -z / v, -1.0 / v)
    }

    /// The density applied to `ln a`, with derivatives in `a`.
    pub(crate) fn on_log(&self, a: f64) -> Term {
        let v = self.sd * self.sd;
        let z = a.ln() - self.mean;
        (-0.5 * z * z / v, -z / (v * a), -(1.0 - z) / (v * a * a))
    }
}

impl BetaPrior {
    /// `ln` density (up to a constant) of `p = sigmoid(x)`, with derivatives
    /// in the logit `x`.
    pub(crate) fn on_logit(&self, p: f64) -> Term {
        let (am, bm) = (self.alpha - 1.0, self.beta - 1.0);
        let ln_p = if am == 0.0 { 0.0 } else { am * p.ln() };
        let ln_q = if bm == 0.0 { 0.0 } else { bm * (1.0 - p).ln() };
        (
            ln_p + ln_q,
            am * (1.0 - p) - bm * p,
            -(am + bm) * p * (1.0 - p),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: impl Fn(f64) -> Term, x: f64) {
        let h = 1e-5;
        let (_, d1, d2) = f(x);
        let fd1 = (f(x + h).0 - f(x - h).0) / (2.0 * h);
        let fd2 = (f(x + h).1 - f(x - h).1) / (2.0 * h);
        assert!((d1 - fd1).abs() < 1e-6, "{d1} vs {fd1}");
        assert!((d2 - fd2).abs() < 1e-6, "{d2} vs {fd2}");
    }

    #[test]
    fn prior_derivatives_match_finite_differences() {
        let n = NormalPrior { mean: 0.3, sd: 0.7 };
        check(|x| n.on_value(x), 1.3);
        check(|a| n.on_log(a), 1.7);
        let b = BetaPrior {
            alpha: 5.0,
            beta: 17.0,
        };
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        check(|x| b.on_logit(sig(x)), -1.2);
    }

    /// A slope override keeps each model's own other priors, so a 3PL item
    /// of a mixed bank keeps its guessing prior.
    #[test]
    fn with_slope_replaces_only_the_slope_prior() {
        use crate::model::ModelKind as K;
        let slope = NormalPrior { mean: 0.0, sd: 0.3 };
        let p = PriorConfig::Default.with_slope(slope);
        for kind in [K::TwoPl, K::ThreePl, K::FourPl] {
            let expected = ItemPriors {
                log_slope: Some(slope),
                ..PriorConfig::Default.for_kind(kind)
            };
            assert_eq!(p.for_kind(kind), expected, "{kind}");
        }
        assert!(p.for_kind(K::ThreePl).guessing.is_some());
        let none = PriorConfig::None.with_slope(slope).for_kind(K::ThreePl);
        assert_eq!(none.log_slope, Some(slope));
        assert_eq!(none.guessing, None);
    }
}
