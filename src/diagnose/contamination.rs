//! Contamination checks of a bank against a cohort of models: items easier
//! for the cohort than its ability explains ([`dif`](super::dif)), and models
//! whose response patterns misfit ([`person_fit`](super::person_fit)).
//!
//! # Procedure
//! 1. Every examinee's ability is estimated by WLE from all its responses.
//! 2. Each item is tested for DIF against the cohort (one-sided: easier for
//!    the cohort), and the p-values are adjusted by Benjamini-Hochberg; items
//!    with `q <= fdr` are flagged.
//! 3. Purification (default one round): leaked items inflate the cohort's
//!    abilities, which hides the leak. Abilities are re-estimated without
//!    the flagged items and every item is tested again.
//! 4. Person fit `l_z*` uses the abilities from all items: a leak is part of
//!    the misfit it should see.

use std::fmt;

use rayon::prelude::*;
use serde::Serialize;

use super::dif::{
    DifMethod, DifTest, MhResponse, default_strata, mantel_haenszel, shift_test, strata,
};
use super::drift::DriftReport;
use super::fdr::benjamini_hochberg;
use super::person_fit::{Surprise, lz_star, most_surprising};
use crate::bank::ParamSet;
use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::estimate::{Ability, Estimator, Method, Status, score_matrix};
use crate::model::{Irf, ResponseModel};

/// Settings of [`contamination`].
#[derive(Debug, Clone, PartialEq)]
pub struct ContaminationConfig {
    /// DIF test (default the likelihood ratio of a difficulty shift).
    pub method: DifMethod,
    /// False discovery rate of the item flags (default 0.05).
    pub fdr: f64,
    /// Mantel-Haenszel strata (default [`default_strata`]).
    pub strata: Option<usize>,
    /// Purification rounds (default 1).
    pub purify: usize,
    /// A model is flagged when `l_z*` is below this (default `-2.326`,
    /// one-sided `alpha = 0.01`).
    pub person_threshold: f64,
    /// How many surprising responses to list per flagged model (default 5).
    pub n_surprising: usize,
}

impl Default for ContaminationConfig {
    fn default() -> Self {
        ContaminationConfig {
            method: DifMethod::LikelihoodRatio,
            fdr: 0.05,
            strata: None,
            purify: 1,
            person_threshold: -2.326,
            n_surprising: 5,
        }
    }
}

/// DIF result of one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemDif {
    /// The item.
    pub item: String,
    /// Focal examinees who answered it.
    pub n_focal: usize,
    /// Reference examinees who answered it.
    pub n_reference: usize,
    /// Share of focal answers in the top category.
    pub focal_right: f64,
    /// What the model predicts for that share at the focal abilities.
    pub focal_expected: f64,
    /// The test.
    #[serde(flatten)]
    pub test: DifTest,
    /// Benjamini-Hochberg adjusted p-value.
    pub q_value: f64,
    /// `q_value <= fdr`.
    pub flagged: bool,
}

/// Person fit of one examinee.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonFit {
    /// The model.
    pub model: String,
    /// In the cohort.
    pub focal: bool,
    /// WLE ability from all responses.
    pub theta: f64,
    /// Responses.
    pub n_items: usize,
    /// `l_z*` (`None` when not computable: fewer than two dichotomous
    /// items, or an ability at the search bound).
    pub lz_star: Option<f64>,
    /// One-sided p-value `Phi(l_z*)`.
    pub p_value: f64,
    /// `l_z*` below the threshold.
    pub flagged: bool,
    /// The least likely responses (flagged models only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub surprising: Vec<Surprise>,
}

/// The contamination report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContaminationReport {
    /// DIF test used.
    pub method: DifMethod,
    /// Mantel-Haenszel strata, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_strata: Option<usize>,
    /// False discovery rate.
    pub fdr: f64,
    /// Purification rounds run.
    pub purify: usize,
    /// Cohort size.
    pub n_focal: usize,
    /// Reference group size.
    pub n_reference: usize,
    /// Person-fit threshold.
    pub person_threshold: f64,
    /// Every item, in response-matrix column order.
    pub items: Vec<ItemDif>,
    /// Every examinee, in row order.
    pub persons: Vec<PersonFit>,
    /// Drift against a previous version, when compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftReport>,
}

impl ContaminationReport {
    /// Flagged items, smallest q first.
    pub fn flagged_items(&self) -> Vec<&ItemDif> {
        let mut v: Vec<&ItemDif> = self.items.iter().filter(|i| i.flagged).collect();
        v.sort_by(|x, y| x.test.p_value.total_cmp(&y.test.p_value));
        v
    }

    /// Flagged models, most misfitting first.
    pub fn flagged_persons(&self) -> Vec<&PersonFit> {
        let mut v: Vec<&PersonFit> = self.persons.iter().filter(|p| p.flagged).collect();
        v.sort_by(|x, y| x.p_value.total_cmp(&y.p_value));
        v
    }
}

/// Runs the DIF and person-fit checks of `responses` under `params`, with
/// `focal[i]` true for the cohort's examinees (rows of `responses`).
///
/// # Errors
/// A `focal` of the wrong length, an empty cohort or reference group, an
/// `fdr` outside `(0, 1)`, or an item of `responses` not in `params` (see
/// [`ParamSet::align`]).
pub fn contamination(
    params: &ParamSet,
    responses: &ResponseMatrix,
    focal: &[bool],
    config: &ContaminationConfig,
) -> Result<ContaminationReport> {
    if focal.len() != responses.n_examinees() {
        return Err(Error::config(format!(
            "{} cohort flags for {} examinees",
            focal.len(),
            responses.n_examinees()
        )));
    }
    let n_focal = focal.iter().filter(|&&f| f).count();
    let n_reference = focal.len() - n_focal;
    if n_focal == 0 || n_reference == 0 {
        return Err(Error::config(format!(
            "DIF needs models in and out of the cohort: {n_focal} in, {n_reference} out"
        )));
    }
    if !(config.fdr > 0.0 && config.fdr < 1.0) {
        return Err(Error::config(format!(
            "fdr must be in (0, 1), got {}",
            config.fdr
        )));
    }
    let columns = params.align(responses)?;
    let irfs: Vec<&Irf> = columns.iter().map(|&c| &params.items()[c].irf).collect();
    let wle = Estimator::new(Method::Wle);
    let all_items = score_matrix(&wle, responses, &irfs);
    let n_strata = (config.method == DifMethod::MantelHaenszel).then(|| {
        config
            .strata
            .unwrap_or_else(|| default_strata(n_focal, n_reference))
            .max(1)
    });

    let mut items = test_items(
        responses,
        &irfs,
        focal,
        &all_items,
        n_strata,
        config.fdr,
        config.method,
    );
    for _ in 0..config.purify {
        let flagged: Vec<bool> = items.iter().map(|i| i.flagged).collect();
        if !flagged.iter().any(|&f| f) {
            break;
        }
        let kept = responses.filter_items(|j, _| !flagged[j]);
        let kept_irfs: Vec<&Irf> = irfs
            .iter()
            .zip(&flagged)
            .filter(|(_, f)| !**f)
            .map(|(irf, _)| *irf)
            .collect();
        let purified = score_matrix(&wle, &kept, &kept_irfs);
        items = test_items(
            responses,
            &irfs,
            focal,
            &purified,
            n_strata,
            config.fdr,
            config.method,
        );
    }
    let persons = person_fits(responses, &irfs, focal, &all_items, config);
    Ok(ContaminationReport {
        method: config.method,
        n_strata,
        fdr: config.fdr,
        purify: config.purify,
        n_focal,
        n_reference,
        person_threshold: config.person_threshold,
        items,
        persons,
        drift: None,
    })
}

fn test_items(
    responses: &ResponseMatrix,
    irfs: &[&Irf],
    focal: &[bool],
    abilities: &[Ability],
    n_strata: Option<usize>,
    fdr: f64,
    method: DifMethod,
) -> Vec<ItemDif> {
    let thetas: Vec<f64> = abilities.iter().map(|a| a.theta).collect();
    let stratum = n_strata.map(|k| strata(&thetas, k));
    let mut items: Vec<ItemDif> = (0..responses.n_items())
        .into_par_iter()
        .map(|j| {
            let irf = irfs[j];
            let top = irf.n_categories() - 1;
            let (examinees, scores) = responses.item_responses(j);
            let mut focal_pattern = Vec::new();
            let mut reference_pattern = Vec::new();
            let mut mh = Vec::new();
            let (mut right, mut expected) = (0.0, 0.0);
            for (&e, &s) in examinees.iter().zip(scores) {
                let e = e as usize;
                if abilities[e].status == Status::NoResponses {
                    continue;
                }
                if focal[e] {
                    focal_pattern.push((thetas[e], s as usize));
                    right += f64::from(s as usize == top);
                    expected += irf.prob(thetas[e], top);
                } else {
                    reference_pattern.push((thetas[e], s as usize));
                }
                if let Some(st) = &stratum {
                    mh.push(MhResponse {
                        stratum: st[e],
                        focal: focal[e],
                        right: s as usize == top,
                    });
                }
            }
            let n_focal = focal_pattern.len();
            let test = match (method, n_strata) {
                (DifMethod::MantelHaenszel, Some(k)) => mantel_haenszel(&mh, k),
                _ => shift_test(irf, &focal_pattern, &reference_pattern),
            };
            ItemDif {
                item: responses.items()[j].to_string(),
                n_focal,
                n_reference: reference_pattern.len(),
                focal_right: right / n_focal as f64,
                focal_expected: expected / n_focal as f64,
                test,
                q_value: f64::NAN,
                flagged: false,
            }
        })
        .collect();
    let p: Vec<f64> = items.iter().map(|i| i.test.p_value).collect();
    for (item, q) in items.iter_mut().zip(benjamini_hochberg(&p)) {
        item.q_value = q;
        item.flagged = q <= fdr;
    }
    items
}

fn person_fits(
    responses: &ResponseMatrix,
    irfs: &[&Irf],
    focal: &[bool],
    abilities: &[Ability],
    config: &ContaminationConfig,
) -> Vec<PersonFit> {
    (0..responses.n_examinees())
        .into_par_iter()
        .map(|e| {
            let (cols, scores) = responses.examinee_responses(e);
            let pattern: Vec<(&Irf, usize)> = cols
                .iter()
                .zip(scores)
                .map(|(&j, &s)| (irfs[j as usize], s as usize))
                .collect();
            let a = abilities[e];
            let lz = (a.status == Status::Converged)
                .then(|| lz_star(&pattern, a.theta))
                .flatten();
            let p_value = lz.map_or(f64::NAN, |z| 1.0 - super::dif::upper_tail(z));
            let flagged = lz.is_some_and(|z| z < config.person_threshold);
            let surprising = if flagged {
                let ids: Vec<&str> = cols
                    .iter()
                    .map(|&j| responses.items()[j as usize].as_str())
                    .collect();
                most_surprising(&pattern, &ids, a.theta, config.n_surprising)
            } else {
                Vec::new()
            };
            PersonFit {
                model: responses.examinees()[e].to_string(),
                focal: focal[e],
                theta: a.theta,
                n_items: pattern.len(),
                lz_star: lz,
                p_value,
                flagged,
                surprising,
            }
        })
        .collect()
}

impl fmt::Display for ContaminationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tested = self
            .items
            .iter()
            .filter(|i| !i.test.p_value.is_nan())
            .count();
        let flagged = self.flagged_items();
        writeln!(
            f,
            "Cohort: {} models against {} reference models; DIF by {}{}, {} purification round{}",
            self.n_focal,
            self.n_reference,
            self.method,
            self.n_strata
                .map(|k| format!(" with {k} ability strata"))
                .unwrap_or_default(),
            self.purify,
            if self.purify == 1 { "" } else { "s" }
        )?;
        writeln!(
            f,
            "\n(a) Items easier for the cohort than ability explains: {} of {} tested (Benjamini-Hochberg FDR {})",
            flagged.len(),
            tested,
            self.fdr
        )?;
        if !flagged.is_empty() {
            writeln!(
                f,
                "{:<20} {:>7} {:>9} {:>9} {:>8} {:>7} {:>10} {:>10}",
                "item", "n_focal", "right", "expected", "effect", "z", "p", "q"
            )?;
            for i in &flagged {
                writeln!(
                    f,
                    "{:<20} {:>7} {:>9.3} {:>9.3} {:>8.3} {:>7.2} {:>10.2e} {:>10.2e}",
                    i.item,
                    i.n_focal,
                    i.focal_right,
                    i.focal_expected,
                    i.test.effect,
                    i.test.z,
                    i.test.p_value,
                    i.q_value
                )?;
            }
        }
        let persons = self.flagged_persons();
        writeln!(
            f,
            "\n(b) Models whose responses misfit (l_z* < {}): {} of {}",
            self.person_threshold,
            persons.len(),
            self.persons.len()
        )?;
        for p in &persons {
            writeln!(
                f,
                "  {:<30} theta {:>6.2}  l_z* {:>7.2}  p {:.2e}{}",
                p.model,
                p.theta,
                p.lz_star.unwrap_or(f64::NAN),
                p.p_value,
                if p.focal { "  (cohort)" } else { "" }
            )?;
            for s in &p.surprising {
                writeln!(
                    f,
                    "      {} on {} (b {:.2}, P(right) {:.3})",
                    if s.score > 0 { "right" } else { "wrong" },
                    s.item,
                    s.b,
                    s.p_correct
                )?;
            }
        }
        if let Some(d) = &self.drift {
            writeln!(f, "\n(c) Drift against the previous version: {d}")?;
        }
        Ok(())
    }
}
