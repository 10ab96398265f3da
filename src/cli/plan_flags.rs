//! The plan flags shared by `simulate` and `exam`: each overrides the same
//! field of the plan file (or of the default plan).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use fangsheng::bank::ParamSet;
use fangsheng::cat::Plan;
use fangsheng::ids::ItemId;
use fangsheng::model::Irf;
use fangsheng::online::Pretest;

/// Plan overrides from the command line.
#[derive(Debug, Args)]
pub struct PlanFlags {
    /// Largest number of items per exam.
    #[arg(long, value_name = "N")]
    max_items: Option<usize>,

    /// Fewest items before a precision or information stop.
    #[arg(long, value_name = "N")]
    min_items: Option<usize>,

    /// Stop when the standard error is at most this.
    #[arg(long, value_name = "SE")]
    stop_se: Option<f64>,

    /// Item selection rule: max-info, kl, min-variance, closest-b or random.
    #[arg(long, value_name = "RULE")]
    select: Option<String>,

    /// Among items with identical parameters, which the selection takes:
    /// random (drawn from the seed; the default) or first (in bank order).
    #[arg(long, value_name = "RULE")]
    ties: Option<String>,

    /// Ability estimator: eap, map, ml or wle.
    #[arg(long, value_name = "METHOD")]
    estimator: Option<String>,

    /// Student-t ability prior with this many degrees of freedom (location
    /// and scale: the plan's prior mean and SD; inf: normal).
    #[arg(long, value_name = "DF")]
    prior_df: Option<f64>,

    /// Pretest pool: a file of item ids (one per line), or a parameter file
    /// (JSON or CSV) whose difficulties are the items' provisional ones.
    #[arg(long, value_name = "FILE")]
    pretest: Option<PathBuf>,

    /// Pretest items seeded per exam (default 5 when the plan has none).
    #[arg(long, value_name = "K")]
    pretest_count: Option<usize>,

    /// Pretest choice: random or near-ability.
    #[arg(long, value_name = "RULE")]
    pretest_select: Option<String>,
}

/// A pool: its ids and the provisional difficulties known.
type Pool = (Vec<ItemId>, Vec<(ItemId, f64)>);

/// The pool and provisional difficulties of a `--pretest` file.
fn read_pool(path: &Path) -> anyhow::Result<Pool> {
    let is_params = path.extension().is_some_and(|e| e == "json" || e == "csv");
    if is_params {
        let loaded = ParamSet::load(path)?;
        let ids = loaded.params.items().iter().map(|p| p.id.clone()).collect();
        let b = loaded
            .params
            .items()
            .iter()
            .map(|p| {
                let b = match &p.irf {
                    Irf::Logistic(l) => l.b(),
                    Irf::Graded(g) => {
                        g.thresholds().iter().sum::<f64>() / g.thresholds().len() as f64
                    }
                };
                (p.id.clone(), b)
            })
            .filter(|(_, b)| b.is_finite())
            .collect();
        return Ok((ids, b));
    }
    let text = fangsheng::io::read_to_string(path)?;
    let ids = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(ItemId::from)
        .collect();
    Ok((ids, Vec::new()))
}

impl PlanFlags {
    /// Writes every given flag into `plan` (validation is the caller's).
    pub fn apply(&self, plan: &mut Plan) -> anyhow::Result<()> {
        if let Some(n) = self.max_items {
            plan.max_items = n;
        }
        if let Some(n) = self.min_items {
            plan.min_items = n;
        }
        if let Some(se) = self.stop_se {
            plan.stop_se = Some(se);
        }
        if let Some(rule) = &self.select {
            plan.select = rule.parse()?;
        }
        if let Some(rule) = &self.ties {
            plan.ties = rule.parse().context("--ties")?;
        }
        if let Some(method) = &self.estimator {
            plan.estimator = method.parse()?;
        }
        if let Some(df) = self.prior_df {
            plan.prior.df = Some(df);
            plan.prior
                .ability_prior()
                .with_context(|| format!("--prior-df {df}"))?;
        }
        if self.pretest.is_some() || self.pretest_count.is_some() || self.pretest_select.is_some() {
            let p = plan.pretest.get_or_insert_with(Pretest::default);
            if let Some(path) = &self.pretest {
                let (ids, b) =
                    read_pool(path).with_context(|| format!("--pretest {}", path.display()))?;
                p.items = ids;
                p.provisional.extend(b);
            }
            if let Some(k) = self.pretest_count {
                p.count = k;
            }
            if let Some(rule) = &self.pretest_select {
                p.select = serde_json::from_value(serde_json::Value::String(rule.clone()))
                    .with_context(|| {
                        format!("--pretest-select takes random or near-ability, got '{rule}'")
                    })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        flags: PlanFlags,
    }

    fn apply(argv: &[&str]) -> anyhow::Result<Plan> {
        let mut all = vec!["x"];
        all.extend_from_slice(argv);
        let cli = Cli::try_parse_from(all)?;
        let mut plan = Plan::default();
        cli.flags.apply(&mut plan)?;
        Ok(plan)
    }

    #[test]
    fn prior_df_sets_a_t_prior_and_rejects_a_bad_df() {
        assert_eq!(apply(&[]).unwrap(), Plan::default());
        let plan = apply(&["--prior-df", "4"]).unwrap();
        assert_eq!(plan.prior.df, Some(4.0));
        plan.validate().unwrap();
        for bad in ["0", "-1", "nan"] {
            let flag = format!("--prior-df={bad}");
            let err = apply(&[&flag]).unwrap_err();
            assert!(
                format!("{err:#}").contains("degrees of freedom"),
                "{bad}: {err:#}"
            );
        }
        assert!(apply(&["--prior-df", "four"]).is_err());
    }
}
