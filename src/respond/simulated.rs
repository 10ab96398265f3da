//! A simulated model of known ability `theta`, answering each item correctly
//! with the probability its calibrated response function gives.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Backend, BackendError, BackendErrorKind, Reply};
use crate::bank::{Item, ItemParams, ItemType, letter};
use crate::ids::ItemId;
use crate::model::{Irf, ResponseModel};
use crate::prompt::Prompt;

/// A model answering with the calibrated probabilities.
///
/// The answer to an item depends only on the seed, the item's id and
/// `theta`: asking again, in another order or after resuming an exam gives
/// the same text, as a model at temperature 0 would. Its replies have the
/// forms real models use, so they go through the same grading:
///
/// - multiple choice: `The answer is (C).`, with the key letter when correct
///   and a uniformly drawn other letter when wrong;
/// - numeric: `The answer is 42.`, the key when correct, else a number
///   outside the tolerance;
/// - exact: the key when correct, else `unknown` (or `none` when the key is
///   `unknown`);
/// - regex: the item's `meta.example` alone (a text the pattern matches: a
///   regex key is matched against the whole output, so no wrapping) when
///   correct, else `unknown` (or `none`). A regex item without
///   `meta.example` is a [`BackendErrorKind::Config`] error.
///
/// An item is correct when a score drawn from its response function is the
/// top category (for dichotomous items, with probability `P(theta)`).
#[derive(Debug, Clone)]
pub struct Simulated {
    theta: f64,
    seed: u64,
    irfs: HashMap<ItemId, Irf>,
}

impl Simulated {
    /// A model of ability `theta` answering the items of `params`.
    pub fn new<'a>(
        theta: f64,
        params: impl IntoIterator<Item = &'a ItemParams>,
        seed: u64,
    ) -> Self {
        Simulated {
            theta,
            seed,
            irfs: params
                .into_iter()
                .map(|p| (p.id.clone(), p.irf.clone()))
                .collect(),
        }
    }

    /// The simulated ability.
    pub fn theta(&self) -> f64 {
        self.theta
    }

    /// The probability that item `id` is answered correctly.
    pub fn p_correct(&self, id: &str) -> Option<f64> {
        let irf = self.irfs.get(id)?;
        Some(irf.prob(self.theta, irf.n_categories() - 1))
    }

    /// Whether the model answers correctly: one score drawn from the item's
    /// response function.
    fn is_correct(&self, irf: &Irf, rng: &mut ChaCha8Rng) -> bool {
        let n = irf.n_categories();
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut score = n - 1;
        for k in 0..n {
            acc += irf.prob(self.theta, k);
            if u < acc {
                score = k;
                break;
            }
        }
        score == n - 1
    }
}

/// FNV-1a of the id: a stable per-item stream, independent of platform and
/// of Rust's randomised `HashMap` hashing.
fn stream_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn wrong_text(key: &str) -> &'static str {
    if key.trim().eq_ignore_ascii_case("unknown") {
        "none"
    } else {
        "unknown"
    }
}

impl Backend for Simulated {
    fn describe(&self) -> String {
        format!("simulated theta={} seed={}", self.theta, self.seed)
    }

    fn ask(&self, _prompt: &Prompt, item: &Item) -> Result<Reply, BackendError> {
        let config = |what: String| BackendError::new(BackendErrorKind::Config, what);
        let irf = self.irfs.get(item.id.as_str()).ok_or_else(|| {
            config(format!(
                "the simulated model has no parameters for item '{}'",
                item.id
            ))
        })?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ stream_of(item.id.as_str()));
        let correct = self.is_correct(irf, &mut rng);
        let answer = match item.kind {
            ItemType::MultipleChoice => {
                let n = item.choices.len();
                let key = item
                    .key_index()
                    .ok_or_else(|| config(format!("item '{}' has no valid key letter", item.id)))?;
                let chosen = if correct || n < 2 {
                    key
                } else {
                    // A uniform draw among the n - 1 other letters.
                    let k = rng.random_range(0..n - 1);
                    if k >= key { k + 1 } else { k }
                };
                format!("({})", letter(chosen))
            }
            ItemType::Numeric => {
                let v = item
                    .numeric_answer()
                    .ok_or_else(|| config(format!("item '{}' has no numeric answer", item.id)))?;
                if correct {
                    item.answer.trim().to_owned()
                } else {
                    let margin = item.tolerance() + item.rel_tolerance() * v.abs();
                    format!("{}", v + 2.0 * margin + 1.0 + 0.1 * v.abs())
                }
            }
            ItemType::Exact if correct => item.answer.clone(),
            ItemType::Regex => {
                let text = match item.meta.get("example") {
                    Some(serde_json::Value::String(s)) if correct => s.clone(),
                    Some(serde_json::Value::String(_)) => wrong_text(&item.answer).to_owned(),
                    _ => {
                        return Err(config(format!(
                            "regex item '{}' has no meta.example for the simulated model to answer with",
                            item.id
                        )));
                    }
                };
                return Ok(Reply::immediate(text));
            }
            ItemType::Exact if correct => item.answer.clone(),
            ItemType::Exact => wrong_text(&item.answer).to_owned(),
        };
        Ok(Reply::immediate(format!("The answer is {answer}.")))
    }
}
