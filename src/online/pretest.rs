//! The `[pretest]` section of an exam plan: which uncalibrated items are
//! seeded into exams, how many, where and how they are chosen. The session
//! ([`crate::cat::Session::next_any`]) administers them; see the plan's module
//! docs for the TOML syntax.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::ItemId;

/// How pretest items are chosen among the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PretestSelect {
    /// Uniformly among the unused pool items.
    #[default]
    Random,
    /// Among unused items whose provisional difficulty is within `window` of
    /// the current estimate, and items without one.
    NearAbility,
}

/// Pretest seeding: uncalibrated items administered for online calibration
/// (not scored, not counted toward the length or the stopping rules, never
/// repeated within an exam).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pretest {
    /// The pool. Empty: the caller supplies it (the exam runner takes every
    /// item of the content bank without calibrated parameters).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemId>,
    /// Pretest items per exam.
    pub count: usize,
    /// How items are chosen.
    pub select: PretestSelect,
    /// Earliest slot, in operational answers given before the item.
    pub first: usize,
    /// Latest slot (default: `max_items`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<usize>,
    /// `near-ability`: largest `|b - theta|` of a candidate.
    pub window: f64,
    /// Provisional difficulties of pool items, for `near-ability`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub provisional: BTreeMap<ItemId, f64>,
}

impl Default for Pretest {
    fn default() -> Self {
        Pretest {
            items: Vec::new(),
            count: 5,
            select: PretestSelect::Random,
            first: 5,
            last: None,
            window: 0.5,
            provisional: BTreeMap::new(),
        }
    }
}

impl Pretest {
    /// The inclusive slot range `first..=last` under a plan of `max_items`
    /// (`first` is clamped to `last`).
    pub fn slot_range(&self, max_items: usize) -> (usize, usize) {
        let last = self.last.unwrap_or(max_items);
        (self.first.min(last), last)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.count == 0 {
            return Err(Error::config("pretest.count must be at least 1"));
        }
        if !(self.window.is_finite() && self.window > 0.0) {
            return Err(Error::config(format!(
                "pretest.window must be a positive number, got {}",
                self.window
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for id in &self.items {
            if !seen.insert(id.as_str()) {
                return Err(
                    Error::config("pretest.items names an item twice").for_item(id.as_str())
                );
            }
        }
        if let Some((id, b)) = self.provisional.iter().find(|(_, b)| !b.is_finite()) {
            return Err(Error::config(format!(
                "pretest.provisional: difficulty {b} is not finite"
            ))
            .for_item(id.as_str()));
        }
        Ok(())
    }
}

/// What a session asks next: an operational (calibrated, scored) item by
/// bank index, or a pretest item by its position in the plan's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextItem {
    /// Bank index of a calibrated item.
    Operational(usize),
    /// Index into the pretest pool (`plan.pretest.items`).
    Pretest(usize),
}

impl NextItem {
    /// True for a pretest item.
    pub fn is_pretest(self) -> bool {
        matches!(self, NextItem::Pretest(_))
    }
}
