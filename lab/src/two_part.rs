//! The two-part response model of the leave-one-out (`--no-answer-col`):
//! "no answer extracted" as an outcome of its own.
//!
//! For examinee `m` and item `i`, `P(no answer) = Q_i(phi_m)` (a model of
//! the no-answer indicators in a second ability `phi`) and
//! `P(correct | answered) = P_i(theta_m)` (the fold's bank, calibrated on
//! the answered responses only). The predicted bank score is
//! `(1/N) sum_i (1 - E[Q_i(phi)]) E[P_i(theta)]` over every item, with
//! independent posteriors of `theta` and `phi`; an item nobody in the fold
//! answered has `P_i = 0`. Its interval is normal, with the variance of
//! that sum over `theta`'s posterior plus its variance over `phi`'s (their
//! interaction left out). The observed score still counts no answer as
//! wrong, so it is the same as without the model.
//!
//! In an exam, items are selected by `theta` as usual. An asked item
//! without an answer counts toward the length, tells `phi` "no answer"
//! and `theta` nothing (the session skips it); an answered item tells
//! `phi` "answered" and `theta` its score. `lab/RESULTS.md` has what it
//! measured.

use std::sync::Arc;

use statrs::distribution::{ContinuousCDF, Normal};

use fangsheng::bank::ParamSet;
use fangsheng::cat::{
    Answer, BankScore, CatBank, Design, GridPosterior, NextItem, Replay, Respondent, Session,
    run_session,
};
use fangsheng::data::ResponseMatrix;
use fangsheng::error::{Error, Result};
use fangsheng::estimate::{AbilityPrior, Estimator, Method, PredictedScore};
use fangsheng::model::{Irf, ResponseModel};

/// Posterior nodes lighter than this (weights sum to 1) are left out of
/// the per-item expectations: their share of any proportion is below it.
const LIGHT: f64 = 1e-13;

/// One asked item of a two-part exam.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    /// Index in the no-answer bank (the fold's item order).
    pub(crate) item: usize,
    /// The answer's proportion of the maximum score; `None` when no answer
    /// was extracted.
    pub(crate) score: Option<f64>,
}

/// The answers of a two-part exam: an asked item without an answer counts
/// toward the length and tells `theta` nothing (it is skipped in the
/// session), so the exam ends when `limit` items were asked either way.
struct TwoPartExam<'a> {
    model: &'a TwoPart,
    answered: &'a Replay,
    irfs: &'a [Irf],
    limit: usize,
    asked: Vec<Asked>,
    items: Vec<usize>,
}

impl Respondent for TwoPartExam<'_> {
    type Error = Error;

    fn answer(&mut self, _: &Session, next: NextItem) -> Result<Option<Answer>> {
        if self.asked.len() >= self.limit {
            return Ok(None);
        }
        let NextItem::Operational(j) = next else {
            return Ok(Some(Answer::Skip));
        };
        let i = self.model.to_flags[j] as usize;
        Ok(Some(
            match (self.answered.answer(0, j), self.model.flags.answer(0, i)) {
                (Some(x), _) => {
                    let max = (self.irfs[j].n_categories() - 1) as f64;
                    self.asked.push(Asked {
                        item: i,
                        score: Some(x as f64 / max),
                    });
                    self.items.push(j);
                    Answer::Score(x)
                }
                (None, Some(1)) => {
                    // Asked, and it costs a query, but nothing about theta.
                    self.asked.push(Asked {
                        item: i,
                        score: None,
                    });
                    self.items.push(j);
                    Answer::Skip
                }
                // Not recorded: the replay's documented skip.
                _ => Answer::Skip,
            },
        ))
    }
}

/// A fold's two-part model and its examinee's recorded outcomes.
#[derive(Debug)]
pub(crate) struct TwoPart {
    /// The no-answer indicators' calibration, every item of the fold;
    /// `None` when nobody in the fold ever gave no answer (then
    /// `P(no answer) = 0`, and the model is the one-part model).
    flags_irfs: Option<Vec<Irf>>,
    /// Number of items of the no-answer bank (the fold's items).
    n_items: usize,
    /// Per item of the no-answer bank, its index in the answered bank (None:
    /// nobody in the fold answered it).
    to_answered: Vec<Option<u32>>,
    /// Per item of the answered bank, its index in the no-answer bank.
    to_flags: Vec<u32>,
    /// The examinee's whole recorded run (no answer = 0) on the no-answer
    /// bank's items.
    pub(crate) full: Replay,
    /// Its no-answer indicators on the same items.
    flags: Replay,
}

impl TwoPart {
    /// The model of a fold: `bank` calibrated on the answered responses,
    /// `flags` the calibration of the no-answer indicators (`None` when the
    /// fold has no "no answer" to calibrate: its items are `bank`'s), `run`
    /// and `no_answer` the fold's examinee's recorded responses and
    /// indicators (one examinee each).
    pub(crate) fn new(
        bank: &Arc<CatBank>,
        flags: Option<&ParamSet>,
        run: &ResponseMatrix,
        no_answer: &ResponseMatrix,
    ) -> Result<Self> {
        let flags_bank = match flags {
            Some(p) => Arc::new(CatBank::new(p)?),
            None => Arc::clone(bank),
        };
        let to_answered: Vec<Option<u32>> = flags_bank
            .ids()
            .iter()
            .map(|id| bank.index_of(id.as_str()).map(|j| j as u32))
            .collect();
        let to_flags = bank
            .ids()
            .iter()
            .map(|id| {
                flags_bank
                    .index_of(id.as_str())
                    .map(|i| i as u32)
                    .ok_or_else(|| {
                        Error::config("an answered item has no no-answer calibration")
                            .for_item(id.as_str())
                    })
            })
            .collect::<Result<_>>()?;
        Ok(TwoPart {
            flags_irfs: flags.map(|_| flags_bank.irfs().to_vec()),
            n_items: flags_bank.len(),
            to_answered,
            to_flags,
            full: Replay::new(&flags_bank, run)?,
            flags: Replay::new(&flags_bank, no_answer)?,
        })
    }

    /// The examinee's observed full-run score (no answer = wrong).
    pub(crate) fn observed(&self) -> f64 {
        self.full.observed(0)
    }

    /// Index in the answered bank of no-answer-bank item `i`.
    pub(crate) fn answered_index(&self, i: usize) -> Option<usize> {
        self.to_answered[i].map(|j| j as usize)
    }

    /// The adaptive exam of the fold's examinee under `design` (on the
    /// answered bank), its answers replayed from `answered` (the
    /// examinee's answered responses): the prediction and the items asked
    /// (answered-bank indices), no-answer items included.
    pub(crate) fn exam(
        &self,
        design: &Arc<Design>,
        seed: u64,
        answered: &Replay,
        score: BankScore,
    ) -> Result<(PredictedScore, Vec<usize>)> {
        let mut asker = TwoPartExam {
            model: self,
            answered,
            irfs: design.bank().irfs(),
            limit: design.plan().max_items,
            asked: Vec::new(),
            items: Vec::new(),
        };
        let exam = run_session(Session::start(Arc::clone(design), seed), &mut asker)?;
        let predicted = self.predict(
            asker.irfs,
            exam.session.posterior(),
            &asker.asked,
            score,
            0.95,
        )?;
        Ok((predicted, asker.items))
    }

    /// The prediction from the items `picked` of the examinee's whole run
    /// (no-answer-bank index, recorded score), `theta` scored by `score_theta`
    /// from the answered ones (answered-bank index, score).
    pub(crate) fn score_run(
        &self,
        picked: &[(u32, u8)],
        irfs: &[Irf],
        score: BankScore,
        score_theta: impl FnOnce(&[(u32, u8)]) -> Result<GridPosterior>,
    ) -> Result<PredictedScore> {
        let mut asked = Vec::with_capacity(picked.len());
        let mut theta_answers = Vec::with_capacity(picked.len());
        for &(i, x) in picked {
            let i = i as usize;
            if self.flags.answer(0, i) == Some(1) {
                asked.push(Asked {
                    item: i,
                    score: None,
                });
                continue;
            }
            // An item nobody in the fold answered: scored as 0/1 (the
            // indicators' bank has no categories to divide by).
            let mut s = f64::from(x.min(1));
            if let Some(j) = self.answered_index(i) {
                theta_answers.push((j as u32, x));
                s = x as f64 / (irfs[j].n_categories() - 1) as f64;
            }
            asked.push(Asked {
                item: i,
                score: Some(s),
            });
        }
        let theta = score_theta(&theta_answers)?;
        self.predict(irfs, &theta, &asked, score, 0.95)
    }

    /// The two-part prediction with its `level` interval: `theta`'s
    /// posterior on the answered bank (`irfs`), `phi`'s from the asked
    /// items' no-answer indicators (standard normal prior). With
    /// [`BankScore::Blend`] the asked items count their recorded outcome.
    fn predict(
        &self,
        irfs: &[Irf],
        theta: &GridPosterior,
        asked: &[Asked],
        score: BankScore,
        level: f64,
    ) -> Result<PredictedScore> {
        let n = self.n_items;
        let nf = n as f64;
        // P(no answer) of every item at every heavy phi node, kept for the
        // variance over phi (no nodes when no answer never happens).
        let mut eq = vec![0.0; n];
        let mut q = Vec::new();
        let mut phi_w = Vec::new();
        if let Some(flags) = &self.flags_irfs {
            let pattern: Vec<(&Irf, usize)> = asked
                .iter()
                .map(|a| (&flags[a.item], usize::from(a.score.is_none())))
                .collect();
            let prior = AbilityPrior::normal(0.0, 1.0)?;
            let phi = Estimator::new(Method::Eap).prior(prior).posterior(&pattern);
            let phi_nodes;
            (phi_nodes, phi_w) = heavy(&phi);
            q = vec![0.0; phi_nodes.len() * n];
            for (h, (&t, &w)) in phi_nodes.iter().zip(&phi_w).enumerate() {
                let row = &mut q[h * n..(h + 1) * n];
                for (i, irf) in flags.iter().enumerate() {
                    let p = irf.expected_score(t) / (irf.n_categories() - 1) as f64;
                    row[i] = p;
                    eq[i] += w * p;
                }
            }
        }
        // E[P_i(theta)], and the bank score at each theta node given E[Q].
        let (theta_nodes, theta_w) = heavy(theta);
        let mut ep = vec![0.0; n];
        let mut var_theta = 0.0;
        for (&t, &w) in theta_nodes.iter().zip(&theta_w) {
            let mut s = 0.0;
            for i in 0..n {
                if let Some(j) = self.to_answered[i] {
                    let irf = &irfs[j as usize];
                    let p = irf.expected_score(t) / (irf.n_categories() - 1) as f64;
                    ep[i] += w * p;
                    s += (1.0 - eq[i]) * p;
                }
            }
            var_theta += w * (s / nf) * (s / nf);
        }
        let mean: f64 = (0..n).map(|i| (1.0 - eq[i]) * ep[i]).sum::<f64>() / nf;
        var_theta -= mean * mean;
        let mut var_phi = 0.0;
        for (h, &w) in phi_w.iter().enumerate() {
            let row = &q[h * n..(h + 1) * n];
            let s: f64 = (0..n).map(|i| (1.0 - row[i]) * ep[i]).sum::<f64>() / nf;
            var_phi += w * s * s;
        }
        var_phi -= mean * mean;
        let shift = match score {
            BankScore::Model => 0.0,
            BankScore::Blend => {
                asked
                    .iter()
                    .map(|a| a.score.unwrap_or(0.0) - (1.0 - eq[a.item]) * ep[a.item])
                    .sum::<f64>()
                    / nf
            }
        };
        let z = Normal::standard().inverse_cdf(0.5 + 0.5 * level.clamp(0.0, 1.0));
        let half = z * (var_theta.max(0.0) + var_phi.max(0.0)).sqrt();
        let centre = mean + shift;
        Ok(PredictedScore {
            mean: centre.clamp(0.0, 1.0),
            lo: (centre - half).clamp(0.0, 1.0),
            hi: (centre + half).clamp(0.0, 1.0),
        })
    }
}

/// The nodes of `post` that carry weight, with their weights renormalised.
fn heavy(post: &GridPosterior) -> (Vec<f64>, Vec<f64>) {
    let (nodes, w): (Vec<f64>, Vec<f64>) = post
        .nodes()
        .iter()
        .zip(post.weights())
        .filter(|(_, w)| **w > LIGHT)
        .map(|(&t, &w)| (t, w))
        .unzip();
    let total: f64 = w.iter().sum();
    (nodes, w.into_iter().map(|x| x / total).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loo::tests::config;
    use crate::loo::{LabReport, leave_one_out};
    use fangsheng::cat::Plan;
    use fangsheng::cat::bank_score;
    use fangsheng::data::Cell;
    use fangsheng::ids::ItemId;
    use fangsheng::model::Logistic;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn two_pl(a: f64, b: f64) -> Irf {
        Logistic::two_pl(a, b).unwrap().into()
    }

    /// A 40-item bank and a two-part model whose no-answer items sit at
    /// difficulty `flag_b` (every item of the bank answered in the fold).
    fn model(flag_b: f64) -> (Arc<CatBank>, TwoPart) {
        let ids: Vec<ItemId> = (0..40).map(|j| format!("q{j}").into()).collect();
        let irfs: Vec<Irf> = (0..40)
            .map(|j| two_pl(0.5 + (j % 4) as f64 * 0.3, j as f64 / 10.0 - 2.0))
            .collect();
        let bank = Arc::new(CatBank::from_parts(ids, irfs).unwrap());
        let flags_irfs = (0..40)
            .map(|j| two_pl(1.2, flag_b - j as f64 / 40.0))
            .collect();
        let run =
            ResponseMatrix::new(vec!["m".into()], bank.ids().to_vec(), Vec::new(), None).unwrap();
        let tp = TwoPart {
            flags_irfs: Some(flags_irfs),
            n_items: 40,
            to_answered: (0..40).map(Some).collect(),
            to_flags: (0..40).collect(),
            full: Replay::new(&bank, &run).unwrap(),
            flags: Replay::new(&bank, &run).unwrap(),
        };
        (bank, tp)
    }

    fn session(bank: &Arc<CatBank>) -> (Session, Vec<Asked>) {
        let plan = Plan {
            max_items: 10,
            ..Plan::default()
        };
        let mut s = Session::new(Arc::clone(bank), plan, 1).unwrap();
        let mut asked = Vec::new();
        for (j, x) in [(3, 1), (12, 1), (20, 0), (25, 1), (31, 0), (38, 0)] {
            s.record_index(j, x).unwrap();
            asked.push(Asked {
                item: j,
                score: Some(x as f64),
            });
        }
        (s, asked)
    }

    #[test]
    fn without_no_answers_it_is_the_one_part_prediction() {
        // Q_i(phi) < 1e-20 for every item: the first factor is 1.
        let (bank, tp) = model(60.0);
        let (s, asked) = session(&bank);
        for rule in [BankScore::Model, BankScore::Blend] {
            let two = tp
                .predict(bank.irfs(), s.posterior(), &asked, rule, 0.95)
                .unwrap();
            let one = bank_score(&s, 0.95, rule);
            // The session reads the bank curve from a table; this sums items.
            assert!(
                (two.mean - one.mean).abs() < 1e-6,
                "{rule:?}: {two:?} {one:?}"
            );
            assert!(two.lo < two.mean && two.mean < two.hi);
        }
    }

    #[test]
    fn the_prediction_is_the_mean_of_both_posteriors_product() {
        let (bank, tp) = model(0.5);
        let (s, mut asked) = session(&bank);
        asked.push(Asked {
            item: 5,
            score: None,
        });
        let two = tp
            .predict(bank.irfs(), s.posterior(), &asked, BankScore::Model, 0.95)
            .unwrap();
        // By hand: phi's posterior from its own indicators, expectations
        // item by item on both full grids.
        let flags = tp.flags_irfs.as_ref().unwrap();
        let pattern: Vec<(&Irf, usize)> = asked
            .iter()
            .map(|a| (&flags[a.item], usize::from(a.score.is_none())))
            .collect();
        let phi = Estimator::new(Method::Eap)
            .prior(AbilityPrior::normal(0.0, 1.0).unwrap())
            .posterior(&pattern);
        let theta = s.posterior();
        let by_hand = (0..40)
            .map(|i| {
                let eq = phi.expect(|t| flags[i].expected_score(t));
                let ep = theta.expect(|t| bank.irfs()[i].expected_score(t));
                (1.0 - eq) * ep
            })
            .sum::<f64>()
            / 40.0;
        assert!((two.mean - by_hand).abs() < 1e-9, "{} {by_hand}", two.mean);
        // Fewer items answered than asked: below the one-part prediction.
        assert!(two.mean < bank_score(&s, 0.95, BankScore::Model).mean);
    }

    /// 12 examinees x 150 items where the two-part model is true: ability
    /// `theta` for correctness, `phi` for no answer, drawn independently.
    /// Returns the responses (no answer scored 0) and the indicators.
    fn two_part_data() -> (ResponseMatrix, ResponseMatrix) {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n_items = 150;
        let mut cells = Vec::new();
        let mut flags = Vec::new();
        for e in 0..12u32 {
            let theta = e as f64 / 3.0 - 1.8;
            // No-answer propensity unrelated to ability: every third
            // examinee almost always answers.
            let phi = if e % 3 == 0 {
                -4.0
            } else {
                rng.random::<f64>() * 2.0 - 0.5
            };
            for j in 0..n_items {
                let b = (j % 15) as f64 / 4.0 - 1.75;
                let a = 0.8 + (j % 4) as f64 * 0.3;
                let q = 1.0 / (1.0 + (-(1.3 * (phi - 1.0 - 0.4 * b))).exp());
                let p = 1.0 / (1.0 + (-(a * (theta - b))).exp());
                let none = rng.random::<f64>() < q;
                let x = u8::from(!none && rng.random::<f64>() < p);
                cells.push(Cell {
                    examinee: e,
                    item: j,
                    score: x,
                });
                flags.push(Cell {
                    examinee: e,
                    item: j,
                    score: u8::from(none),
                });
            }
        }
        let examinees: Vec<_> = (0..12).map(|e| format!("n{e}").into()).collect();
        let items: Vec<ItemId> = (0..n_items).map(|j| format!("q{j}").into()).collect();
        (
            ResponseMatrix::new(examinees.clone(), items.clone(), cells, None).unwrap(),
            ResponseMatrix::new(examinees, items, flags, None).unwrap(),
        )
    }

    fn run(m: &ResponseMatrix, no_answer: Option<&ResponseMatrix>) -> LabReport {
        let config = LabConfig {
            held_out: None,
            lengths: vec![20],
            seeds: 2,
            no_answer: no_answer.map(|n| Arc::new(n.clone())),
            ..config(Default::default(), &[])
        };
        leave_one_out(m, &config, &mut |_| {}).unwrap()
    }

    use crate::loo::LabConfig;

    #[test]
    fn leave_one_out_with_the_two_part_model() {
        let (m, flags) = two_part_data();
        let one = run(&m, None);
        let two = run(&m, Some(&flags));
        let row = |r: &LabReport, method: &str| {
            r.rows.iter().find(|x| x.method == method).unwrap().clone()
        };
        // Every asked item counts toward the length, answered or not.
        assert_eq!(row(&two, "adaptive").mean_length, 20.0);
        // The same observed scores, and the same random draws for plain
        // accuracy.
        let details = |r: &LabReport, method: &str| -> Vec<(String, u64, f64, f64)> {
            r.details
                .iter()
                .filter(|d| d.method == method)
                .map(|d| (d.examinee.clone(), d.seed, d.predicted, d.observed))
                .collect()
        };
        assert_eq!(
            details(&one, "random-accuracy"),
            details(&two, "random-accuracy")
        );
        assert_eq!(details(&one, "irt-full-run").len(), 12);
        for (a, b) in details(&one, "irt-full-run")
            .iter()
            .zip(details(&two, "irt-full-run"))
        {
            assert_eq!(a.3, b.3);
        }
        // Where the model is true, the whole run scored with it is closer
        // to the observed score than the one-part 2PL's (no answer scored
        // as wrong gives examinees with many no-answers a too low ability
        // on items they do answer and a too high one on the rest).
        let (f1, f2) = (row(&one, "irt-full-run").mae, row(&two, "irt-full-run").mae);
        assert!(f2 < f1, "two-part floor {f2} against one-part {f1}");
    }

    #[test]
    fn options_the_model_does_not_replay_are_refused() {
        let (m, flags) = two_part_data();
        let grouped = LabConfig {
            group_tags: vec!["category".into()],
            no_answer: Some(Arc::new(flags.clone())),
            ..config(Default::default(), &[])
        };
        let e = leave_one_out(&m, &grouped, &mut |_| {}).unwrap_err();
        assert!(
            e.to_string().contains("does not support group scores"),
            "{e}"
        );
        let other = flags.filter_examinees(|e, _| e > 0);
        let mismatched = LabConfig {
            no_answer: Some(Arc::new(other)),
            ..config(Default::default(), &[])
        };
        let e = leave_one_out(&m, &mismatched, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("do not match"), "{e}");
    }
}

#[cfg(test)]
mod degenerate {
    use super::*;
    use crate::loo::tests::{config, data_named};
    use crate::loo::{LabConfig, leave_one_out};
    use fangsheng::data::Cell;

    #[test]
    fn runs_where_every_response_has_an_answer_match_the_one_part_model() {
        let (m, tags) = data_named("d");
        let none = ResponseMatrix::new(
            m.examinees().to_vec(),
            m.items().to_vec(),
            m.cells().map(|c| Cell { score: 0, ..c }).collect(),
            None,
        )
        .unwrap();
        let one = leave_one_out(&m, &config(tags.clone(), &[]), &mut |_| {}).unwrap();
        let two = LabConfig {
            no_answer: Some(Arc::new(none)),
            ..config(tags, &[])
        };
        let two = leave_one_out(&m, &two, &mut |_| {}).unwrap();
        for (a, b) in one.details.iter().zip(&two.details) {
            assert_eq!((&a.method, &a.examinee), (&b.method, &b.examinee));
            assert!(
                (a.predicted - b.predicted).abs() < 1e-5,
                "{} {}: {} {}",
                a.method,
                a.examinee,
                a.predicted,
                b.predicted
            );
        }
    }
}
