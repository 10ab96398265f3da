//! Checking a bank's content against a calibration, and summarising a bank.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::content::{ItemBank, ItemType};
use super::params::ParamSet;
use crate::ids::ItemId;
use crate::model::ResponseModel;

/// How serious an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The bank and parameters cannot be used together as they are.
    Error,
    /// Suspicious but usable.
    Warning,
}

/// One finding of [`ItemBank::validate_against`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// The item concerned, if it is about one item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemId>,
    /// What is wrong.
    pub message: String,
}

/// The result of checking a bank against a parameter set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The bank's name.
    pub bank: String,
    /// Items in the bank.
    pub n_items: usize,
    /// Items in the parameter set.
    pub n_params: usize,
    /// Bank items that have parameters.
    pub n_calibrated: usize,
    /// Everything found, errors first, then in bank order.
    pub issues: Vec<Issue>,
}

impl Report {
    /// True when there is no [`Severity::Error`].
    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The issues of severity [`Severity::Error`].
    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }

    /// The issues of severity [`Severity::Warning`].
    pub fn warnings(&self) -> impl Iterator<Item = &Issue> {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Warning)
    }
}

/// Draws of each template checked by [`ItemBank::validate_against`].
const VALIDATE_DRAWS: usize = 1000;
/// Fewer variants than this draw a warning.
const FEW_VARIANTS: u64 = 20;

/// How many issues [`Report`]'s `Display` lists before summarising the rest.
const SHOWN: usize = 20;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n_err = self.errors().count();
        let n_warn = self.issues.len() - n_err;
        writeln!(
            f,
            "bank '{}': {} items, {} calibrated; parameters for {} items; {} error{}, {} warning{}",
            self.bank,
            self.n_items,
            self.n_calibrated,
            self.n_params,
            n_err,
            if n_err == 1 { "" } else { "s" },
            n_warn,
            if n_warn == 1 { "" } else { "s" },
        )?;
        for issue in self.issues.iter().take(SHOWN) {
            let label = match issue.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            match &issue.item {
                Some(id) => writeln!(f, "  {label}: item '{id}': {}", issue.message)?,
                None => writeln!(f, "  {label}: {}", issue.message)?,
            }
        }
        if self.issues.len() > SHOWN {
            writeln!(f, "  ... and {} more", self.issues.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// Counts describing a bank, for `fangsheng bank info`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BankInfo {
    /// The bank's name.
    pub name: String,
    /// SHA-256 of its content ([`ItemBank::digest`]).
    pub digest: String,
    /// Number of items.
    pub n_items: usize,
    /// Items per type name.
    pub by_type: BTreeMap<String, usize>,
    /// Items per category (`(none)` for items without one).
    pub by_category: BTreeMap<String, usize>,
    /// Items per dimension (`(none)` for items without one).
    pub by_dimension: BTreeMap<String, usize>,
    /// Multiple-choice items per number of choices.
    pub by_n_choices: BTreeMap<usize, usize>,
    /// Items per tag.
    pub by_tag: BTreeMap<String, usize>,
}

const NONE: &str = "(none)";

impl fmt::Display for BankInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "bank '{}': {} items", self.name, self.n_items)?;
        writeln!(f, "digest: sha256:{}", self.digest)?;
        let tables: [(&str, Vec<(String, usize)>); 5] = [
            ("type", pairs(&self.by_type)),
            ("category", pairs(&self.by_category)),
            ("dimension", pairs(&self.by_dimension)),
            (
                "choices",
                self.by_n_choices
                    .iter()
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect(),
            ),
            ("tag", pairs(&self.by_tag)),
        ];
        for (title, rows) in tables {
            if rows.is_empty() {
                continue;
            }
            writeln!(f, "by {title}:")?;
            let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in rows {
                writeln!(f, "  {k:<width$}  {v:>6}")?;
            }
        }
        Ok(())
    }
}

fn pairs(map: &BTreeMap<String, usize>) -> Vec<(String, usize)> {
    map.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

impl ItemBank {
    /// Checks the bank against calibrated parameters:
    ///
    /// - every item is well-formed ([`Item::check`](super::Item::check)),
    /// - every item has parameters (error: an uncalibrated item cannot be
    ///   selected),
    /// - every parameter set item is in the bank (error: an exam could select
    ///   an item it has no question for),
    /// - items are scored 0/1, so their response function has two categories
    ///   (error otherwise),
    /// - a 3PL/4PL lower asymptote well above the chance rate `1/k` of a
    ///   `k`-choice item (warning: `g > 1/k + 0.25`),
    /// - the parameter file's `bank` name, when given, is this bank's name
    ///   (warning),
    /// - a template's answer is computable, and among its choices, for 1000
    ///   draws (error), and it has at least 20 variants (warning).
    pub fn validate_against(&self, params: &ParamSet) -> Report {
        let mut issues = Vec::new();
        let mut n_calibrated = 0;
        if let Some(name) = &params.metadata().bank {
            if name != self.name() {
                issues.push(Issue {
                    severity: Severity::Warning,
                    item: None,
                    message: format!(
                        "the parameters are for bank '{name}', not '{}'",
                        self.name()
                    ),
                });
            }
        }
        for item in self.items() {
            let mut problem = |severity, message: String| {
                issues.push(Issue {
                    severity,
                    item: Some(item.id.clone()),
                    message,
                })
            };
            if let Err(e) = item.check() {
                problem(Severity::Error, e.message().to_owned());
            }
            if let Some(t) = &item.template {
                if let Err(e) = t.check_draws(VALIDATE_DRAWS) {
                    problem(Severity::Error, format!("template: {}", e.message()));
                }
                let n = t.n_variants();
                if n < FEW_VARIANTS {
                    problem(
                        Severity::Warning,
                        format!(
                            "the template has only {n} variants: exams repeat them once a campaign has used them all"
                        ),
                    );
                }
            }
            let Some(p) = params.get(item.id.as_str()) else {
                problem(Severity::Error, "not calibrated".to_owned());
                continue;
            };
            n_calibrated += 1;
            let n_cat = p.irf.n_categories();
            if n_cat != 2 {
                problem(
                    Severity::Error,
                    format!(
                        "calibrated with {n_cat} score categories, but a '{}' item is scored 0/1",
                        item.kind
                    ),
                );
            }
            if let (ItemType::MultipleChoice, crate::model::Irf::Logistic(m)) = (item.kind, &p.irf)
            {
                let chance = 1.0 / item.choices.len() as f64;
                if m.g() > chance + 0.25 {
                    problem(
                        Severity::Warning,
                        format!(
                            "lower asymptote g = {:.3} is far above the chance rate 1/{} of its choices",
                            m.g(),
                            item.choices.len()
                        ),
                    );
                }
            }
        }
        for p in params.items() {
            if self.get(p.id.as_str()).is_none() {
                issues.push(Issue {
                    severity: Severity::Error,
                    item: Some(p.id.clone()),
                    message: "calibrated but not in the bank".to_owned(),
                });
            }
        }
        issues.sort_by_key(|i| i.severity);
        Report {
            bank: self.name().to_owned(),
            n_items: self.len(),
            n_params: params.len(),
            n_calibrated,
            issues,
        }
    }

    /// Counts per type, category, dimension, number of choices and tag.
    pub fn info(&self) -> BankInfo {
        let mut info = BankInfo {
            name: self.name().to_owned(),
            digest: self.digest().to_owned(),
            n_items: self.len(),
            by_type: BTreeMap::new(),
            by_category: BTreeMap::new(),
            by_dimension: BTreeMap::new(),
            by_n_choices: BTreeMap::new(),
            by_tag: BTreeMap::new(),
        };
        for item in self.items() {
            *info
                .by_type
                .entry(item.kind.as_str().to_owned())
                .or_default() += 1;
            *info
                .by_category
                .entry(item.category.clone().unwrap_or_else(|| NONE.into()))
                .or_default() += 1;
            *info
                .by_dimension
                .entry(item.dimension.clone().unwrap_or_else(|| NONE.into()))
                .or_default() += 1;
            if item.kind == ItemType::MultipleChoice {
                *info.by_n_choices.entry(item.choices.len()).or_default() += 1;
            }
            for tag in &item.tags {
                *info.by_tag.entry(tag.clone()).or_default() += 1;
            }
        }
        info
    }
}
