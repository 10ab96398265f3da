//! Saving and restoring a session: its plan, seed, answers, exposure
//! states and position in the random stream, as JSON.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::bank::CatBank;
use super::design::Design;
use super::plan::Plan;
use super::session::{ItemState, Rebuild, Session};
use super::stop::StopReason;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::ItemId;

/// The format tag written into saved sessions.
pub const SESSION_FORMAT: &str = "fangsheng-session/1";

/// Everything needed to continue an exam later, on the same bank.
///
/// Restoring and continuing makes exactly the choices the uninterrupted
/// session would have made: the random stream resumes at the same word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionState {
    /// Always [`SESSION_FORMAT`].
    pub format: String,
    /// The plan. A session saved before plans had `ties` broke ties by
    /// bank order, and restores with `ties = "first"`.
    #[serde(deserialize_with = "super::plan::saved_plan")]
    pub plan: Plan,
    /// The seed of the exam's random stream.
    pub seed: u64,
    /// Words of the random stream consumed so far.
    pub rng_words: u64,
    /// Answers `(item, score)` in order.
    pub responses: Vec<(ItemId, usize)>,
    /// Items asked without an answer.
    #[serde(default)]
    pub skipped: Vec<ItemId>,
    /// Items set aside by the Sympson-Hetter filter.
    #[serde(default)]
    pub set_aside: Vec<ItemId>,
    /// Items not drawn eligible by eligibility control.
    #[serde(default)]
    pub ineligible: Vec<ItemId>,
    /// The item offered and not yet answered.
    #[serde(default)]
    pub pending: Option<ItemId>,
    /// Why the exam ended, if it has.
    #[serde(default)]
    pub stop: Option<StopReason>,
    /// Pretest items asked `(item, score)` in order, the score `null` when
    /// skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pretest: Vec<(ItemId, Option<usize>)>,
    /// The pretest item offered and not yet answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretest_pending: Option<ItemId>,
    /// Words of the pretest random stream consumed so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pretest_rng_words: u64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

impl Session {
    /// The session's state, to save and [`Session::restore`] later.
    pub fn state(&self) -> SessionState {
        let ids = self.bank().ids();
        let names = |list: Vec<usize>| list.into_iter().map(|j| ids[j].clone()).collect();
        SessionState {
            format: SESSION_FORMAT.to_owned(),
            plan: self.plan().clone(),
            seed: self.seed(),
            rng_words: self.rng_words(),
            responses: self
                .responses()
                .iter()
                .map(|&(j, k)| (ids[j].clone(), k))
                .collect(),
            skipped: names(self.skipped().to_vec()),
            set_aside: names(self.items_in(ItemState::SetAside)),
            ineligible: names(self.items_in(ItemState::Ineligible)),
            pending: self.pending().map(|j| ids[j].clone()),
            stop: self.stop_reason(),
            pretest: self
                .pretest_asked()
                .iter()
                .map(|&(p, k)| (self.pretest_pool()[p].clone(), k))
                .collect(),
            pretest_pending: self
                .pretest_pending()
                .map(|p| self.pretest_pool()[p].clone()),
            pretest_rng_words: self.pretest_rng_words(),
        }
    }

    /// The state as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.state()).unwrap_or_default()
    }

    /// Continues a saved exam on `bank` (the bank it was started on).
    ///
    /// # Errors
    /// Another format tag ([`ErrorKind::Format`]); the plan's errors as in
    /// [`Design::new`]; an item not in the bank or recorded twice
    /// ([`ErrorKind::Item`]); a score outside its item's categories.
    pub fn restore(bank: Arc<CatBank>, state: &SessionState) -> Result<Self> {
        let design = Arc::new(Design::new(bank, state.plan.clone())?);
        Self::restore_in(design, state)
    }

    /// As [`Session::restore`], with a prepared design whose plan must equal
    /// the saved one.
    ///
    /// # Errors
    /// As [`Session::restore`], and a different plan ([`ErrorKind::Config`]).
    pub fn restore_in(design: Arc<Design>, state: &SessionState) -> Result<Self> {
        if state.format != SESSION_FORMAT {
            return Err(Error::format(format!(
                "saved session has format '{}', expected '{SESSION_FORMAT}'",
                state.format
            )));
        }
        if design.plan() != &state.plan {
            return Err(Error::config("the saved session was run with another plan"));
        }
        let bank = Arc::clone(design.bank());
        let index = |id: &ItemId| {
            bank.index_of(id.as_str()).ok_or_else(|| {
                Error::new(
                    ErrorKind::Item,
                    "saved session names an item not in the bank",
                )
                .for_item(id.as_str())
            })
        };
        let list = |ids: &[ItemId]| ids.iter().map(index).collect::<Result<Vec<_>>>();
        let pool = state
            .plan
            .pretest
            .as_ref()
            .map_or(&[][..], |p| &p.items[..]);
        let pool_index = |id: &ItemId| {
            pool.iter().position(|x| x == id).ok_or_else(|| {
                Error::new(
                    ErrorKind::Item,
                    "saved session names a pretest item not in the plan's pool",
                )
                .for_item(id.as_str())
            })
        };
        let parts = Rebuild {
            responses: state
                .responses
                .iter()
                .map(|(id, k)| index(id).map(|j| (j, *k)))
                .collect::<Result<_>>()?,
            skipped: list(&state.skipped)?,
            set_aside: list(&state.set_aside)?,
            ineligible: list(&state.ineligible)?,
            rng_words: state.rng_words,
            pending: state.pending.as_ref().map(index).transpose()?,
            stop: state.stop,
            pretest: state
                .pretest
                .iter()
                .map(|(id, k)| pool_index(id).map(|p| (p, *k)))
                .collect::<Result<_>>()?,
            pretest_pending: state.pretest_pending.as_ref().map(pool_index).transpose()?,
            pretest_rng_words: state.pretest_rng_words,
        };
        Session::rebuild(design, state.seed, parts)
    }

    /// Continues an exam saved with [`Session::to_json`].
    ///
    /// # Errors
    /// Malformed JSON ([`ErrorKind::Format`]), else as [`Session::restore`].
    pub fn from_json(bank: Arc<CatBank>, json: &str) -> Result<Self> {
        let state: SessionState = serde_json::from_str(json)
            .map_err(|e| Error::format(format!("saved session: {e}")).at_line(e.line() as u64))?;
        Self::restore(bank, &state)
    }
}
