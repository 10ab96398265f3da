//! The estimation step of a session: the plan's estimator, its fallback
//! for patterns without a finite ML estimate, and the posterior.

use super::posterior::GridPosterior;
use crate::estimate::{Ability, Estimator, Method, Status};
use crate::model::{Irf, ResponseModel};

use super::plan::Plan;

/// The estimators a plan asks for.
#[derive(Debug, Clone)]
pub(crate) struct Estimation {
    primary: Estimator,
    fallback: Estimator,
}

/// True when every answer is the item's lowest category, or every answer
/// its highest: the likelihood then rises toward a bound and ML (and, for
/// most banks, WLE) has no finite maximum.
pub(crate) fn extreme(responses: &[(&Irf, usize)]) -> bool {
    let all_low = responses.iter().all(|(_, k)| *k == 0);
    let all_high = responses
        .iter()
        .all(|(irf, k)| *k + 1 == irf.n_categories());
    all_low || all_high
}

impl Estimation {
    /// The plan's estimators (the plan has been validated).
    pub(crate) fn new(plan: &Plan) -> Self {
        let prior = plan.ability_prior().unwrap_or_default();
        let make = |m: Method| {
            Estimator::new(m)
                .prior(prior)
                .quadrature(plan.quadrature_rule())
        };
        Estimation {
            primary: make(plan.estimator),
            fallback: make(plan.fallback),
        }
    }

    /// The ability estimate; EAP reads `post`, the session's posterior,
    /// when given.
    pub(crate) fn estimate(
        &self,
        responses: &[(&Irf, usize)],
        post: Option<&GridPosterior>,
    ) -> Ability {
        let est = match self.primary.method() {
            Method::Ml | Method::Wle if !responses.is_empty() && extreme(responses) => {
                &self.fallback
            }
            _ => &self.primary,
        };
        match (est.method(), post) {
            (Method::Eap, Some(p)) if !responses.is_empty() => Ability {
                theta: p.mean(),
                se: p.sd(),
                n_items: responses.len(),
                status: Status::Converged,
            },
            _ => est.estimate(responses),
        }
    }

    /// True when the primary estimator is EAP (its estimate is the posterior's).
    pub(crate) fn is_eap(&self) -> bool {
        self.primary.method() == Method::Eap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Logistic;

    #[test]
    fn ml_falls_back_while_the_pattern_is_extreme() {
        let items: Vec<Irf> = [-1.0, 0.0, 1.0]
            .iter()
            .map(|&b| Logistic::two_pl(1.2, b).unwrap().into())
            .collect();
        let plan = Plan {
            estimator: Method::Ml,
            ..Plan::default()
        };
        let est = Estimation::new(&plan);
        let all_right: Vec<(&Irf, usize)> = items.iter().map(|i| (i, 1)).collect();
        let a = est.estimate(&all_right, None);
        assert_eq!(a.status, Status::Converged);
        assert!(a.theta > 0.0 && a.theta < 3.0, "{a:?}");
        let mixed: Vec<(&Irf, usize)> = items.iter().zip([1, 1, 0]).collect();
        let ml = Estimator::new(Method::Ml).estimate(&mixed);
        assert_eq!(est.estimate(&mixed, None), ml);
    }
}
