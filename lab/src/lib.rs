//! fangsheng-lab: the research harness beside the engine.
//!
//! Leave-one-model-out experiments on real runs, built on the engine's
//! public evaluation pieces ([`fangsheng::loo`]): plan variants compared
//! fold by fold ([`variant`]), inner validation that picks a plan or fits a
//! score link without the held-out model, rescoring with a second
//! calibration, slope-prior comparisons, a two-part model for unanswered
//! items ([`two_part`]), per-group shrunk abilities ([`subscore`]) and the
//! items every exam asked. What the experiments measured is in
//! `lab/RESULTS.md`; the engine's defaults follow it.

mod fixed;
mod groups;
pub mod loo;
pub mod subscore;
pub mod two_part;
pub mod variant;
