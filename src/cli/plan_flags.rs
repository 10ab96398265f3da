//! The plan flags shared by `simulate` and `exam`: each overrides the same
//! field of the plan file (or of the default plan) when it is given, and
//! only then; the `[default: ...]` in each flag's help is
//! `fangsheng::cat::Plan::default()`'s value (a test keeps them equal).
//!
//! Only the fields people change from run to run have flags. The rest are
//! plan-file keys: `ties` (how twins with identical parameters are chosen),
//! the prior's `mean`, `sd` and `df` (a Student-t prior) under `[prior]`,
//! `stop_information`, `[classify]`, `[start]`, explicit `[content]`
//! targets and the other `[pretest]` keys (see `fangsheng::cat::plan`).

use std::path::Path;

use anyhow::Context;
use clap::Args;
use fangsheng::bank::ParamSet;
use fangsheng::cat::{CatBank, Content, NO_BALANCE, Plan};
use fangsheng::ids::ItemId;
use fangsheng::model::Irf;
use fangsheng::online::Pretest;

/// Plan overrides from the command line.
#[derive(Debug, Args)]
pub struct PlanFlags {
    /// Largest number of items per exam. [default: 50]
    #[arg(long, value_name = "N")]
    max_items: Option<usize>,

    /// Fewest items before a precision or information stop. [default: 0]
    #[arg(long, value_name = "N")]
    min_items: Option<usize>,

    /// Stop when the standard error is at most this. [default: none, the
    /// exam runs to --max-items]
    #[arg(long, value_name = "SE")]
    stop_se: Option<f64>,

    /// Item selection rule: max-info, kl, min-variance, closest-b or random.
    /// [default: max-info]
    #[arg(long, value_name = "RULE")]
    select: Option<String>,

    /// Ability estimator: eap, map, ml or wle. [default: eap]
    #[arg(long, value_name = "METHOD")]
    estimator: Option<String>,

    /// Pretest pool: a file of item ids (one per line), a parameter file
    /// (JSON or CSV) whose difficulties are the items' provisional ones, or
    /// the ids themselves, comma-separated. [default: none]
    #[arg(long, value_name = "FILE|ID,...")]
    pretest: Option<String>,

    /// Pretest items seeded per exam. [default: 5]
    #[arg(long, value_name = "K")]
    pretest_count: Option<usize>,

    /// Pretest choice: random or near-ability. [default: random]
    #[arg(long, value_name = "RULE")]
    pretest_select: Option<String>,

    /// Exposure control: none, randomesque:K, a-stratified:S,
    /// sympson-hetter:R or eligibility:R (parameters set by simulation when
    /// the bank has none). [default: none]
    #[arg(long, value_name = "SPEC")]
    exposure: Option<String>,

    /// Balance content over the values of this tag (category or
    /// dimension), with the bank's own shares as targets; `none` turns it
    /// off. [default: category, when the bank's items have two categories
    /// or more and the plan has no [content]]
    #[arg(long, value_name = "TAG")]
    balance: Option<String>,
}

/// A pool: its ids and the provisional difficulties known.
type Pool = (Vec<ItemId>, Vec<(ItemId, f64)>);

/// The pool and provisional difficulties `--pretest` names: a file, or
/// (when no such file exists) a comma-separated list of ids.
fn pool_of(value: &str) -> anyhow::Result<Pool> {
    let path = Path::new(value);
    if path.exists() {
        return read_pool(path).with_context(|| format!("--pretest {value}"));
    }
    let looks_like_a_file = value.contains(std::path::MAIN_SEPARATOR)
        || path
            .extension()
            .is_some_and(|e| ["json", "csv", "txt"].iter().any(|x| e == *x));
    if looks_like_a_file && !value.contains(',') {
        anyhow::bail!("--pretest {value}: no such file");
    }
    let ids: Vec<ItemId> = value
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(ItemId::from)
        .collect();
    if ids.is_empty() {
        anyhow::bail!("--pretest takes a file or item ids, got '{value}'");
    }
    Ok((ids, Vec::new()))
}

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
    /// The tag `--balance` names (not `none`), if given.
    pub fn balance_tag(&self) -> Option<&str> {
        self.balance.as_deref().filter(|t| *t != NO_BALANCE)
    }

    /// `plan` balanced over `--balance`'s tag with `bank`'s shares as
    /// targets; `--balance none` removes the plan's balance; without the
    /// flag a plan without [content] gets the default balance of the bank
    /// ([`Content::default_for`]).
    pub fn balanced(&self, mut plan: Plan, bank: &CatBank) -> anyhow::Result<Plan> {
        match self.balance.as_deref() {
            Some(NO_BALANCE) => plan.content = None,
            Some(tag) => plan.content = Some(Content::mirroring(bank, tag).context("--balance")?),
            None if plan.content.is_none() => plan.content = Content::default_for(bank),
            None => {}
        }
        Ok(plan)
    }

    /// Writes every given flag into `plan` (validation is the caller's).
    pub fn apply(&self, plan: &mut Plan) -> anyhow::Result<()> {
        if let Some(e) = &self.exposure {
            plan.exposure = e.parse().context("--exposure")?;
        }
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
        if self.pretest.is_some() || self.pretest_count.is_some() || self.pretest_select.is_some() {
            let p = plan.pretest.get_or_insert_with(Pretest::default);
            if let Some(value) = &self.pretest {
                let (ids, b) = pool_of(value)?;
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
    fn flags_override_only_when_given() {
        assert_eq!(apply(&[]).unwrap(), Plan::default());
        let plan = apply(&["--max-items", "7", "--estimator", "wle"]).unwrap();
        assert_eq!(plan.max_items, 7);
        assert_eq!(plan.estimator, fangsheng::estimate::Method::Wle);
        assert_eq!(plan.min_items, Plan::default().min_items);
        for gone in ["--ties=first", "--prior-df=4"] {
            assert!(apply(&[gone]).is_err(), "{gone} is a plan-file key now");
        }
    }

    /// The help text of `flag` (its `[default: ...]` included).
    fn help_of(flag: &str) -> String {
        use clap::CommandFactory;
        let cmd = Cli::command();
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(flag))
            .unwrap_or_else(|| panic!("no --{flag}"));
        arg.get_help().map(|h| h.to_string()).unwrap_or_default()
    }

    #[test]
    fn pretest_takes_a_file_or_a_list_of_ids() {
        let pool = |v: &str| apply(&["--pretest", v]).map(|p| p.pretest.unwrap().items);
        let ids = pool("q1, q2,q3").unwrap();
        assert_eq!(ids, ["q1", "q2", "q3"].map(ItemId::from));
        assert_eq!(pool("q7").unwrap(), [ItemId::from("q7")]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pool.txt");
        std::fs::write(&file, "# new items\nn1\n\nn2\n").unwrap();
        assert_eq!(
            pool(file.to_str().unwrap()).unwrap(),
            [ItemId::from("n1"), ItemId::from("n2")]
        );
        let missing = dir.path().join("nope.txt");
        let e = pool(missing.to_str().unwrap()).unwrap_err();
        assert!(format!("{e:#}").contains("no such file"), "{e:#}");
        assert!(pool(",").is_err());
    }

    #[test]
    fn stated_defaults_are_the_default_plan() {
        let plan = Plan::default();
        let pretest = Pretest::default();
        let expected = [
            ("max-items", plan.max_items.to_string()),
            ("min-items", plan.min_items.to_string()),
            ("select", plan.select.to_string()),
            ("estimator", plan.estimator.to_string()),
            ("pretest-count", pretest.count.to_string()),
            (
                "pretest-select",
                serde_json::to_value(pretest.select)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
        ];
        for (flag, value) in expected {
            let help = help_of(flag);
            assert!(
                help.contains(&format!("[default: {value}]")),
                "--{flag}: '{help}' should state [default: {value}]"
            );
        }
        assert_eq!(plan.stop_se, None);
        assert!(help_of("stop-se").contains("[default: none"));
        assert!(plan.pretest.is_none());
        assert!(help_of("pretest").contains("[default: none]"));
    }
}
