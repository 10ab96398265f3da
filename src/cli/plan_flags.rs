//! The plan flags shared by `simulate` and `exam`: each overrides the same
//! field of the plan file (or of the default plan).

use clap::Args;
use fangsheng::cat::Plan;

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

    /// Ability estimator: eap, map, ml or wle.
    #[arg(long, value_name = "METHOD")]
    estimator: Option<String>,
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
        if let Some(method) = &self.estimator {
            plan.estimator = method.parse()?;
        }
        Ok(())
    }
}
