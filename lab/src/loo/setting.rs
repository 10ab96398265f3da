//! What one calibration setting (model and slope prior) adds to the
//! report: the full-run floor and, at each length, every variant's exams
//! (linked, rescored, by group), the inner choices and the random-item
//! baselines.

use std::time::Instant;

use rayon::prelude::*;

use fangsheng::cat::{BankScore, Plan, ScoreLink};
use fangsheng::error::{Error, Result};
use fangsheng::estimate::PredictedScore;
use fangsheng::loo::{
    GroupTruth, LooDetail, LooGroupDetail, LooRow, SeedRun, bank_cell, details_of,
    random_group_details, row_of, score_items,
};

use super::exams::{Prepared, held_out_runs, prepare};
use super::fold::Fold;
use super::inner::{
    InnerRun, argmin, chosen_row, inner_mae, inner_pairs, linked_runs, picks_of, refit_mae,
};
use super::{InnerChoice, LabConfig, LooAsked};
use crate::fixed::{random_exam, rescored_runs, score_two_part};
use crate::groups::group_details;
use crate::variant::Variant;

/// One calibration setting's folds and what every row of it shares.
pub(super) struct Setting<'a> {
    /// The calibration's name in the rows (model and slope prior).
    pub(super) name: &'a str,
    pub(super) config: &'a LabConfig,
    pub(super) folds: &'a [Fold],
    /// With [`LabConfig::rescore_slope_prior`]: the same folds calibrated
    /// with that slope prior.
    pub(super) rescore: Option<&'a [Fold]>,
    /// The held-out examinees' observed full-run scores, by fold.
    pub(super) observed: &'a [f64],
    /// Per group tag, per fold, the held-out examinee's observed group
    /// scores.
    pub(super) truths: &'a [Vec<GroupTruth>],
    /// The held-out examinees' names, by fold.
    pub(super) names: &'a [String],
    pub(super) seeds: &'a [u64],
    /// The base plan first, then [`LabConfig::variants`].
    pub(super) variants: &'a [Variant],
    /// The refit inner exams of every fold (inner refit or inner link).
    pub(super) refit: Option<&'a [Vec<InnerRun>]>,
}

/// The report as it is filled, row after row.
#[derive(Default)]
pub(super) struct Collected {
    pub(super) rows: Vec<LooRow>,
    pub(super) details: Vec<LooDetail>,
    pub(super) inner_choices: Vec<InnerChoice>,
    pub(super) plans: Vec<(String, Plan)>,
    pub(super) group_cells: Vec<LooGroupDetail>,
    pub(super) calibration_seconds: Vec<(String, f64)>,
    pub(super) asked: Vec<LooAsked>,
}

/// What the variants' exams at one length leave for the inner choices.
pub(super) struct Tried {
    /// Per variant, every fold's prepared design (empty when no inner
    /// choice is made).
    designs: Vec<Vec<Prepared>>,
    /// Per variant, the held-out runs mapped by the folds' inner links
    /// (with [`LabConfig::inner_link`]).
    linked: Vec<Vec<SeedRun>>,
}

impl Collected {
    /// Adds `row` and the details of its `runs`; with group tags, also the
    /// bank-score cells of those details (`grouped`).
    fn push(&mut self, s: &Setting<'_>, row: LooRow, runs: &[SeedRun], grouped: bool) {
        let details = details_of(&row, runs, s.names, s.observed);
        if grouped && !s.config.group_tags.is_empty() {
            self.group_cells.extend(details.iter().map(bank_cell));
        }
        self.details.extend(details);
        if s.config.record_asked {
            self.asked.extend(s.asked(&row, runs));
        }
        self.rows.push(row);
    }
}

impl Setting<'_> {
    /// The items of every exam of `runs`, with the scores the held-out
    /// examinee's run records for them.
    fn asked<'r>(
        &'r self,
        row: &'r LooRow,
        runs: &'r [SeedRun],
    ) -> impl Iterator<Item = LooAsked> + 'r {
        runs.iter().flat_map(move |r| {
            r.exams
                .iter()
                .enumerate()
                .filter(|(_, exam)| !exam.is_empty())
                .map(move |(fi, exam)| {
                    let f = &self.folds[fi];
                    LooAsked {
                        calibration: row.calibration.clone(),
                        method: row.method.clone(),
                        items: row.items,
                        seed: r.seed,
                        examinee: self.names[fi].clone(),
                        asked: exam
                            .iter()
                            .map(|&j| {
                                let score = f.replay.answer(0, j).map(|x| x as u8);
                                (f.bank.ids()[j].clone(), score)
                            })
                            .collect(),
                    }
                })
        })
    }

    fn n_items(&self) -> usize {
        self.folds[0].bank.len()
    }

    /// The summary row of `runs` at length `k`.
    fn row(&self, method: String, k: usize, runs: &[SeedRun], seconds: f64) -> LooRow {
        row_of(
            self.name,
            method,
            k,
            self.observed,
            runs,
            self.n_items(),
            seconds,
        )
    }

    /// The floor: every recorded answer scored with the calibration.
    pub(super) fn floor(&self, out: &mut Collected) -> Result<()> {
        let plan = &self.config.plan;
        let t = Instant::now();
        let full: Vec<(PredictedScore, usize)> = self
            .folds
            .par_iter()
            .map(|f| match &f.two_part {
                Some(tp) => {
                    let run = tp.full.run(0);
                    Ok((
                        score_two_part(f, tp, plan, BankScore::Model, run)?,
                        run.len(),
                    ))
                }
                None => {
                    let run = f.replay.run(0);
                    Ok((score_items(f, plan, BankScore::Model, run)?, run.len()))
                }
            })
            .collect::<Result<_>>()?;
        let run = SeedRun {
            seed: self.config.seed,
            predicted: full.iter().map(|x| x.0).collect(),
            exams: Vec::new(),
        };
        let mean_run = full.iter().map(|x| x.1).sum::<usize>() / full.len();
        let mut floor = self.row(
            "irt-full-run".into(),
            mean_run,
            std::slice::from_ref(&run),
            t.elapsed().as_secs_f64(),
        );
        floor.mean_length = mean_run as f64;
        out.push(self, floor, &[run], false);
        Ok(())
    }

    /// Every variant's adaptive exams at length `k` (index `ki` of the
    /// lengths), with their linked, rescored and per-group rows.
    pub(super) fn variants(
        &self,
        (ki, k): (usize, usize),
        base: &Plan,
        out: &mut Collected,
        progress: &mut dyn FnMut(String),
    ) -> Result<Tried> {
        let config = self.config;
        let name = self.name;
        let mut all_designs = Vec::new();
        let mut all_linked = Vec::new();
        for (vi, v) in self.variants.iter().enumerate() {
            progress(format!("{name}: {k} items, {}", v.name()));
            let t = Instant::now();
            let designs: Vec<Prepared> = self
                .folds
                .par_iter()
                .map(|f| prepare(f, v, base, config))
                .collect::<Result<_>>()?;
            let chosen: Vec<&Prepared> = designs.iter().collect();
            let runs = held_out_runs(self.folds, &chosen, self.seeds)?;
            let plan = designs[0].0.plan().clone();
            let rescored = self
                .rescore
                .map(|second| {
                    let t = Instant::now();
                    let r = rescored_runs(self.folds, second, &designs, &runs)?;
                    Ok::<_, Error>((r, t.elapsed().as_secs_f64()))
                })
                .transpose()?;
            let method = if v.name() == "base" {
                "adaptive".to_owned()
            } else {
                format!("adaptive {}", v.name())
            };
            match out.plans.iter_mut().find(|p| p.0 == method) {
                Some(p) => p.1 = plan,
                None => out.plans.push((method.clone(), plan)),
            }
            let row = self.row(method.clone(), k, &runs, t.elapsed().as_secs_f64());
            out.push(self, row, &runs, true);
            for (ti, tag) in config.group_tags.iter().enumerate() {
                progress(format!("{name}: {k} items, {}, scores by {tag}", v.name()));
                out.group_cells.extend(group_details(
                    self.folds,
                    &self.truths[ti],
                    &designs,
                    &runs,
                    (name, &method, k),
                    tag,
                )?);
            }
            if config.inner_choice || self.refit.is_some() {
                all_designs.push(designs);
            }
            if let (true, Some(inner)) = (config.inner_link, self.refit) {
                let linked = linked_runs(&runs, inner, ki, vi);
                let secs = t.elapsed().as_secs_f64();
                let row = self.row(format!("{method} linked"), k, &linked, secs);
                out.push(self, row, &linked, false);
                all_linked.push(linked);
            }
            if let Some((rescored, secs)) = rescored {
                let row = self.row(format!("{method} rescored"), k, &rescored, secs);
                out.push(self, row, &rescored, false);
            }
        }
        Ok(Tried {
            designs: all_designs,
            linked: all_linked,
        })
    }

    /// The rows of the inner choices at length `k`: in-sample, refit, and
    /// refit among the linked predictions. Each inner validation scores
    /// every plan per fold; the rows and picks are then made the same way
    /// for all of them.
    pub(super) fn choices(
        &self,
        (ki, k): (usize, usize),
        tried: &Tried,
        out: &mut Collected,
        progress: &mut dyn FnMut(String),
    ) -> Result<()> {
        let config = self.config;
        let (all_designs, all_linked) = (&tried.designs, &tried.linked);
        let n_variants = self.variants.len();
        let name = self.name;
        let mut choices: Vec<(&str, &str, Instant, Vec<Vec<f64>>)> = Vec::new();
        if config.inner_choice && n_variants > 1 {
            progress(format!("{name}: {k} items, inner choice"));
            let t = Instant::now();
            let scores: Vec<Vec<f64>> = self
                .folds
                .par_iter()
                .enumerate()
                .map(|(fi, f)| {
                    (0..n_variants)
                        .map(|vi| inner_mae(f, &all_designs[vi][fi], config.seed))
                        .collect::<Result<Vec<f64>>>()
                })
                .collect::<Result<_>>()?;
            choices.push(("adaptive inner-choice", "in-sample", t, scores));
        }
        if let (true, Some(inner)) = (config.inner_refit, self.refit) {
            progress(format!("{name}: {k} items, inner choice (refit)"));
            let t = Instant::now();
            let scores: Vec<Vec<f64>> = inner
                .iter()
                .map(|runs| (0..n_variants).map(|vi| refit_mae(runs, ki, vi)).collect())
                .collect();
            choices.push(("adaptive inner-choice-refit", "refit", t, scores));
        }
        // Each choice's row, runs, picks, per-fold scores and mode.
        type Made<'m> = (LooRow, Vec<SeedRun>, Vec<usize>, Vec<Vec<f64>>, &'m str);
        let mut made: Vec<Made> = Vec::new();
        if let (true, Some(inner)) = (config.inner_link, self.refit) {
            let scores: Vec<Vec<f64>> = inner
                .iter()
                .map(|runs| {
                    (0..n_variants)
                        .map(|vi| {
                            let (pairs, groups) = inner_pairs(runs, ki, vi);
                            ScoreLink::cross_validated_mae(&pairs, &groups)
                        })
                        .collect()
                })
                .collect();
            let picks: Vec<usize> = scores.iter().map(|s| argmin(s)).collect();
            let runs: Vec<SeedRun> = (0..self.seeds.len())
                .map(|si| SeedRun {
                    seed: self.seeds[si],
                    predicted: picks
                        .iter()
                        .enumerate()
                        .map(|(fi, &vi)| all_linked[vi][si].predicted[fi])
                        .collect(),
                    exams: picks
                        .iter()
                        .enumerate()
                        .map(|(fi, &vi)| all_linked[vi][si].exams[fi].clone())
                        .collect(),
                })
                .collect();
            let row = self.row("adaptive inner-choice-refit linked".into(), k, &runs, 0.0);
            made.push((row, runs, picks, scores, "refit-linked"));
        }
        for (method, mode, t, scores) in choices {
            let (row, runs, picks) = chosen_row(
                self.folds,
                all_designs,
                &scores,
                self.seeds,
                (name, method, k),
                self.observed,
                t,
            )?;
            made.push((row, runs, picks, scores, mode));
        }
        for (row, runs, picks, scores, mode) in made {
            out.push(self, row, &runs, false);
            out.inner_choices.extend(picks_of(
                &picks,
                &scores,
                self.variants,
                self.names,
                (name, k, mode),
            ));
        }
        Ok(())
    }

    /// The baselines at length `k`: the same `k` random recorded items per
    /// seed, as plain accuracy, scored with the calibration, and (with
    /// [`LabConfig::inner_link`]) that score linked.
    pub(super) fn baselines(
        &self,
        (ki, k): (usize, usize),
        base: &Plan,
        out: &mut Collected,
        progress: &mut dyn FnMut(String),
    ) -> Result<()> {
        let config = self.config;
        let t = Instant::now();
        let mut acc_runs = Vec::new();
        let mut irt_runs = Vec::new();
        for &s in self.seeds {
            let (outs, exams): (Vec<_>, Vec<Vec<usize>>) = self
                .folds
                .par_iter()
                .map(|f| random_exam(f, base, config.score, s))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .unzip();
            acc_runs.push(SeedRun {
                seed: s,
                predicted: outs.iter().map(|o| o.accuracy).collect(),
                exams: exams.clone(),
            });
            irt_runs.push(SeedRun {
                seed: s,
                predicted: outs.iter().map(|o| o.irt).collect(),
                exams,
            });
        }
        let secs = t.elapsed().as_secs_f64();
        let mut baselines = vec![("random-accuracy", acc_runs), ("random-irt", irt_runs)];
        if let (true, Some(inner)) = (config.inner_link, self.refit) {
            // The inner random-IRT scores sit after the variants'.
            let linked = linked_runs(&baselines[1].1, inner, ki, self.variants.len());
            baselines.push(("random-irt linked", linked));
        }
        for (ti, tag) in config.group_tags.iter().enumerate() {
            progress(format!(
                "{}: {k} items, random items, scores by {tag}",
                self.name
            ));
            out.group_cells.extend(random_group_details(
                self.folds,
                &self.truths[ti],
                base,
                &baselines[1].1,
                (self.name, k),
                tag,
            )?);
        }
        for (method, runs) in &baselines {
            let row = self.row((*method).into(), k, runs, secs);
            out.push(self, row, runs, !method.ends_with("linked"));
        }
        Ok(())
    }
}
