//! Plan variants for evaluations: a base plan with a few settings changed,
//! named by a short spec such as `select=kl+exposure=randomesque:5`.
//!
//! A spec is `+`-joined `key=value` changes:
//!
//! | key | values |
//! |---|---|
//! | `select` | `max-info`, `kl`, `min-variance`, `closest-b`, `random` |
//! | `ties` | `random` or `first` ([`Ties`](super::Ties)) |
//! | `estimator` | `eap`, `map`, `ml`, `wle` |
//! | `exposure` | `none`, `randomesque:K`, `a-stratified:S`, `sympson-hetter:R`, `eligibility:R` |
//! | `content` | a tag name: targets are the bank's own shares of its values; `neyman:TAG`: Neyman-style targets, share x residual SD of each value (evaluations that know the calibration runs; the bank's shares elsewhere) |
//! | `start` | `random:N` (random pre-block of N items) or `theta:X` |
//! | `prior-sd` | the prior's standard deviation (a t prior's scale) |
//! | `prior-df` | Student-t prior with this many degrees of freedom, location the prior mean, scale the prior SD, truncated to `+- 12` scales (`inf`: normal) |
//! | `prior` | `empirical`: the calibration examinees' ability distribution (evaluations that know it); with `prior-df`, its mean and SD are the t's location and scale, in either order |
//! | `quadrature` | `N` fixed points on `[-6, 6]`, or `adaptive` |
//! | `shortlist` | candidates the `kl` and `min-variance` rules score |
//! | `score` | `model` or `blend` ([`BankScore`]) |
//! | `subscore` | a tag name: predict the bank score per value of the tag with empirical-Bayes shrunk abilities ([`SubscoreModel`](crate::subscore::SubscoreModel); evaluations that know the calibration runs) |

use std::fmt;

use fangsheng::cat::{BankScore, CatBank, Content, Grid, Plan, Prior, Start, bank_shares};
use fangsheng::error::{Error, Result};

/// A named set of changes to a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    spec: String,
    changes: Vec<(String, String)>,
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.spec.is_empty() {
            "base"
        } else {
            &self.spec
        })
    }
}

const KEYS: [&str; 13] = [
    "prior",
    "prior-df",
    "select",
    "ties",
    "estimator",
    "exposure",
    "content",
    "start",
    "prior-sd",
    "quadrature",
    "shortlist",
    "score",
    "subscore",
];

impl Variant {
    /// The base plan unchanged.
    pub fn base() -> Self {
        Variant {
            spec: String::new(),
            changes: Vec::new(),
        }
    }

    /// Parses a spec (`base` or an empty text is the base plan). The values
    /// are checked when applied.
    ///
    /// # Errors
    /// A change that is not `key=value` or an unknown key
    /// ([`ErrorKind::Config`](fangsheng::ErrorKind::Config)).
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        if spec.is_empty() || spec == "base" {
            return Ok(Variant::base());
        }
        let mut changes = Vec::new();
        for part in spec.split('+') {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                Error::config(format!("variant '{spec}': '{part}' is not key=value"))
            })?;
            let k = k.trim().to_ascii_lowercase();
            if !KEYS.contains(&k.as_str()) {
                return Err(Error::config(format!(
                    "variant '{spec}': unknown key '{k}' (expected one of {})",
                    KEYS.join(", ")
                )));
            }
            changes.push((k, v.trim().to_owned()));
        }
        Ok(Variant {
            spec: spec.to_owned(),
            changes,
        })
    }

    /// The tag of a `subscore=TAG` change: predict per value of the tag
    /// (the last such change wins).
    pub fn subscore_tag(&self) -> Option<&str> {
        self.changes
            .iter()
            .rev()
            .find(|(k, _)| k == "subscore")
            .map(|(_, v)| v.as_str())
    }

    /// Whether the variant sets `prior=empirical`, so it needs the
    /// calibration population.
    pub fn needs_population(&self) -> bool {
        self.changes
            .iter()
            .any(|(k, v)| k == "prior" && v == "empirical")
    }

    /// The tag of a `content=neyman:TAG` change (the last content change
    /// wins): content targets are the share times the residual SD of each
    /// value, which only an evaluation knowing the calibration runs can set
    /// ([`SubscoreModel::neyman_targets`](super::SubscoreModel::neyman_targets)).
    pub fn neyman_tag(&self) -> Option<&str> {
        self.changes
            .iter()
            .rev()
            .find(|(k, _)| k == "content")
            .and_then(|(_, v)| v.strip_prefix("neyman:"))
    }

    /// The spec text (`base` for the base plan).
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// `plan` and `score` with this variant's changes.
    ///
    /// # Errors
    /// An invalid value, or a changed plan [`Plan::validate`] rejects;
    /// `prior=empirical` (use [`Variant::apply_with`]).
    pub fn apply(
        &self,
        plan: &Plan,
        score: BankScore,
        bank: &CatBank,
    ) -> Result<(Plan, BankScore)> {
        self.apply_with(plan, score, bank, None)
    }

    /// As [`Variant::apply`], with `population` the ability distribution of
    /// the examinees the bank was calibrated on, which `prior=empirical`
    /// makes the prior.
    ///
    /// # Errors
    /// As [`Variant::apply`]; `prior=empirical` without a population.
    pub fn apply_with(
        &self,
        plan: &Plan,
        score: BankScore,
        bank: &CatBank,
        population: Option<Prior>,
    ) -> Result<(Plan, BankScore)> {
        let mut plan = plan.clone();
        let mut score = score;
        for (k, v) in &self.changes {
            let bad =
                |what: &str| Error::config(format!("variant '{}': {k}={v}: {what}", self.spec));
            let num = |s: &str| s.trim().parse::<f64>().map_err(|_| bad("not a number"));
            match k.as_str() {
                "select" => plan.select = v.parse()?,
                "ties" => plan.ties = v.parse()?,
                "estimator" => plan.estimator = v.parse()?,
                "score" => score = v.parse()?,
                "shortlist" => plan.shortlist = num(v)? as usize,
                "prior-sd" => plan.prior.sd = num(v)?,
                "prior-df" => plan.prior.df = Some(num(v)?),
                "prior" => {
                    if v != "empirical" {
                        return Err(bad("expected empirical"));
                    }
                    let p =
                        population.ok_or_else(|| bad("no calibration population is known here"))?;
                    // The population gives location and scale; a t's df stays.
                    plan.prior = Prior {
                        df: plan.prior.df.or(p.df),
                        ..p
                    };
                }
                "quadrature" => {
                    plan.quadrature = if v == "adaptive" {
                        None
                    } else {
                        Some(Grid {
                            points: num(v)? as usize,
                            lo: -6.0,
                            hi: 6.0,
                        })
                    }
                }
                "content" => {
                    // Neyman targets start at the bank's shares; an
                    // evaluation that knows the calibration runs replaces
                    // them (`Variant::neyman_tag`).
                    let tag = v.strip_prefix("neyman:").unwrap_or(v);
                    plan.content = Some(Content {
                        tag: tag.to_owned(),
                        targets: bank_shares(bank, tag)?,
                    })
                }
                "subscore" => {
                    // Checked here, used by the evaluation's prediction.
                    bank_shares(bank, v)?;
                }
                "start" => {
                    let (how, x) = v
                        .split_once(':')
                        .ok_or_else(|| bad("expected random:N or theta:X"))?;
                    plan.start = match how {
                        "random" => Start {
                            random_items: num(x)? as usize,
                            ..plan.start
                        },
                        "theta" => Start {
                            theta: num(x)?,
                            ..plan.start
                        },
                        _ => return Err(bad("expected random:N or theta:X")),
                    }
                }
                "exposure" => plan.exposure = v.parse().map_err(|e: Error| bad(e.message()))?,
                _ => unreachable!("keys are checked when parsed"),
            }
        }
        plan.validate()
            .map_err(|e| Error::config(format!("variant '{}': {}", self.spec, e.message())))?;
        Ok((plan, score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fangsheng::cat::{Exposure, SelectRule, Tags};
    use fangsheng::estimate::Method;
    use fangsheng::model::{Irf, Logistic};
    use std::collections::HashMap;

    fn bank() -> CatBank {
        let irfs: Vec<Irf> = (0..10)
            .map(|j| Logistic::two_pl(1.0, j as f64 / 5.0 - 1.0).unwrap().into())
            .collect();
        let ids: Vec<_> = (0..10).map(|j| format!("q{j}").into()).collect();
        let tags: HashMap<_, _> = (0..10)
            .map(|j| {
                let c = if j < 3 { "law" } else { "math" };
                (format!("q{j}").into(), Tags::category(c))
            })
            .collect();
        CatBank::from_parts(ids, irfs)
            .unwrap()
            .with_tags(&tags)
            .unwrap()
    }

    #[test]
    fn specs_change_the_named_settings() {
        let v = Variant::parse("select=kl+estimator=map+exposure=randomesque:3+content=category+start=random:2+score=model").unwrap();
        let (plan, score) = v
            .apply(&Plan::default(), BankScore::Blend, &bank())
            .unwrap();
        assert_eq!(plan.select, SelectRule::Kl);
        assert_eq!(plan.estimator, Method::Map);
        assert_eq!(plan.exposure, Exposure::Randomesque { k: 3 });
        assert_eq!(plan.start.random_items, 2);
        assert_eq!(score, BankScore::Model);
        let t = plan.content.unwrap().targets;
        assert!((t["law"] - 0.3).abs() < 1e-12 && (t["math"] - 0.7).abs() < 1e-12);
        assert_eq!(Variant::parse("base").unwrap(), Variant::base());
        assert_eq!(v.subscore_tag(), None);
        assert_eq!(v.neyman_tag(), None);
        assert_eq!(
            v.name(),
            "select=kl+estimator=map+exposure=randomesque:3+content=category+start=random:2+score=model"
        );
    }

    #[test]
    fn subscore_and_neyman_name_their_tag_and_leave_the_plan_otherwise() {
        let v = Variant::parse("content=neyman:category+subscore=category").unwrap();
        assert_eq!(v.subscore_tag(), Some("category"));
        assert_eq!(v.neyman_tag(), Some("category"));
        let (plan, score) = v
            .apply(&Plan::default(), BankScore::Blend, &bank())
            .unwrap();
        let c = plan.content.clone().unwrap();
        assert_eq!(c.tag, "category");
        assert!((c.targets["law"] - 0.3).abs() < 1e-12);
        assert_eq!(score, BankScore::Blend);
        let only = Variant::parse("subscore=category").unwrap();
        let (p2, _) = only
            .apply(&Plan::default(), BankScore::Blend, &bank())
            .unwrap();
        assert_eq!(p2, Plan::default());
        assert!(
            Variant::parse("subscore=dimension")
                .unwrap()
                .apply(&Plan::default(), BankScore::Blend, &bank())
                .is_err()
        );
    }

    #[test]
    fn prior_df_makes_a_t_prior_and_keeps_an_empirical_location_and_scale() {
        let b = bank();
        let (plan, _) = Variant::parse("content=category+prior-df=4")
            .unwrap()
            .apply(&Plan::default(), BankScore::Blend, &b)
            .unwrap();
        assert_eq!(plan.prior.df, Some(4.0));
        let default = Prior::default();
        assert_eq!((plan.prior.mean, plan.prior.sd), (default.mean, default.sd));
        assert!(plan.content.is_some());
        let pop = Prior {
            mean: 0.2,
            sd: 1.1,
            df: None,
        };
        for spec in ["prior=empirical+prior-df=4", "prior-df=4+prior=empirical"] {
            let (plan, _) = Variant::parse(spec)
                .unwrap()
                .apply_with(&Plan::default(), BankScore::Blend, &b, Some(pop))
                .unwrap();
            assert_eq!(
                plan.prior,
                Prior {
                    mean: 0.2,
                    sd: 1.1,
                    df: Some(4.0)
                },
                "{spec}"
            );
        }
        assert!(
            Variant::parse("prior-df=4+prior=empirical")
                .unwrap()
                .needs_population()
        );
        assert!(
            !Variant::parse("prior-df=4+prior-sd=2")
                .unwrap()
                .needs_population()
        );
        for spec in ["prior-df=0", "prior-df=-1", "prior-df=four"] {
            let err = Variant::parse(spec)
                .unwrap()
                .apply(&Plan::default(), BankScore::Blend, &b)
                .unwrap_err();
            assert_eq!(err.kind(), fangsheng::ErrorKind::Config, "{spec}");
        }
    }

    #[test]
    fn bad_specs_are_config_errors() {
        assert!(Variant::parse("selct=kl").is_err());
        assert!(Variant::parse("kl").is_err());
        let b = bank();
        for spec in [
            "select=best",
            "exposure=randomesque:0",
            "content=dimension",
            "start=late:1",
        ] {
            let v = Variant::parse(spec).unwrap();
            assert!(
                v.apply(&Plan::default(), BankScore::Blend, &b).is_err(),
                "{spec}"
            );
        }
    }
}
