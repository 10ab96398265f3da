//! Estimating new items' parameters with the operational items' held fixed.
//!
//! # Methods
//! * [`Method::Mem`] (default) — the multiple-EM-cycle method (Ban,
//!   Hanson, Wang, Yi & Harris 2001, after Wainer & Mislevy 1990's one-cycle
//!   OEM): each examinee's posterior over quadrature nodes, `N(mean, sd)`
//!   prior (the parameter file's scale) times the likelihood of its
//!   operational answers, gives expected counts for one M-step of the new
//!   items (cycle 1 is OEM); later cycles add the new items' own answers,
//!   under the current estimates, to the posteriors, until no parameter moves
//!   by more than `tolerance`.
//! * [`Method::Fixed`] — Stocking's (1988) method A: each examinee's
//!   ability estimate (the exam's final estimate, else EAP of its
//!   operational answers) is taken as known, and each item is fitted by
//!   ordinary logistic regression on it.
//!
//! MEM is the default because an adaptive exam's ability estimate carries
//! an error of roughly its standard error (0.3 to 0.4 after 30 items):
//! method A treats it as exact, and the errors-in-variables attenuate the
//! slopes (and pull difficulties toward the mean); Ban et al. found MEM
//! recovered parameters best among OEM, MEM and Stocking's A and B. MEM
//! integrates over each examinee's posterior instead, so the abilities'
//! uncertainty is carried into the items' estimates.
//!
//! Standard errors come from the expected information of the final M-step
//! (with the prior's curvature). Under MEM that is the complete-data
//! information, which ignores the missing information about the
//! abilities: treat them as lower bounds.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::data::PretestData;
use super::mstep::{Point, Spec};
use crate::bank::{ItemParams, ParamSet};
use crate::calibrate::PriorConfig;
use crate::error::{Error, Result};
use crate::ids::ItemId;
use crate::model::{Irf, ModelKind, ResponseModel};

/// How the examinees' abilities enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Multiple EM cycles over each examinee's posterior.
    #[default]
    Mem,
    /// Abilities fixed at their estimates (Stocking's method A).
    Fixed,
}

impl Method {
    /// `mem` or `fixed`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Mem => "mem",
            Method::Fixed => "fixed",
        }
    }
}

impl FromStr for Method {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mem" => Ok(Method::Mem),
            "fixed" => Ok(Method::Fixed),
            other => Err(Error::config(format!(
                "unknown online calibration method '{other}' (expected mem or fixed)"
            ))),
        }
    }
}

/// Settings of [`calibrate_new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnlineConfig {
    /// How abilities enter.
    pub method: Method,
    /// Model of the new items.
    pub model: ModelKind,
    /// Priors on the new items (the calibration module's defaults).
    pub priors: PriorConfig,
    /// Largest number of MEM cycles.
    pub max_cycles: usize,
    /// MEM stops when no parameter moves by more than this in a cycle.
    pub tolerance: f64,
    /// Quadrature nodes from -6 to 6 (in prior SDs around its mean).
    pub points: usize,
    /// Items with fewer answers are flagged.
    pub min_responses: usize,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        OnlineConfig {
            method: Method::Mem,
            model: ModelKind::TwoPl,
            priors: PriorConfig::Default,
            max_cycles: 100,
            tolerance: 1e-4,
            points: 61,
            min_responses: 20,
        }
    }
}

/// One new item's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// The item.
    pub id: ItemId,
    /// Its estimate; `None` when it could not be estimated (no answers).
    pub params: Option<ItemParams>,
    /// Number of answers.
    pub n: usize,
    /// Why the item needs a look (empty when fine): `no responses`,
    /// `few responses`, `no variance`, `not converged`.
    pub flags: Vec<String>,
}

/// The result of [`calibrate_new`].
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineCalibration {
    /// The method used.
    pub method: Method,
    /// The new items, in [`PretestData::items`] order.
    pub items: Vec<NewItem>,
    /// EM cycles run (1 for the fixed method).
    pub cycles: usize,
    /// Whether the cycles converged.
    pub converged: bool,
}

/// Estimates the new items of `data` with the items of `params` fixed.
///
/// # Errors
/// No examinee or no new item ([`ErrorKind::Config`](crate::ErrorKind::Config));
/// a score outside an operational item's categories, or above 1 for a
/// dichotomous model ([`ErrorKind::Value`](crate::ErrorKind::Value)); 1PL
/// without 1PL items in `params` for the common slope.
pub fn calibrate_new(
    data: &PretestData,
    params: &ParamSet,
    config: &OnlineConfig,
) -> Result<OnlineCalibration> {
    if data.examinees.is_empty() {
        return Err(Error::config("no examinees in the input"));
    }
    if data.items.is_empty() {
        return Err(Error::config(
            "no pretest items in the input (no step is marked pretest)",
        ));
    }
    let irfs: Vec<&Irf> = params.items().iter().map(|p| &p.irf).collect();
    for e in &data.examinees {
        for &(j, k) in &e.operational {
            if k >= irfs[j].n_categories() {
                return Err(Error::value(format!(
                    "examinee '{}' has score {k} outside the item's categories",
                    e.id
                ))
                .for_item(params.items()[j].id.as_str()));
            }
        }
    }
    let n_items = data.items.len();
    let mut n_cat = vec![2usize; n_items];
    for e in &data.examinees {
        for &(p, k) in &e.pretest {
            if config.model.is_dichotomous() && k > 1 {
                return Err(Error::value(format!(
                    "examinee '{}' has score {k}; model {} needs 0 or 1",
                    e.id, config.model
                ))
                .for_item(data.items[p].as_str()));
            }
            n_cat[p] = n_cat[p].max(k + 1);
        }
    }
    let slope = match config.model {
        ModelKind::OnePl => params
            .items()
            .iter()
            .find(|p| p.kind == ModelKind::OnePl)
            .map(|p| p.irf.params()[0])
            .ok_or_else(|| {
                Error::config("--model 1pl needs 1PL items in --params for the common slope")
            })?,
        _ => 1.0,
    };
    let scale = params.metadata().scale;
    let nodes: Vec<f64> = (0..config.points)
        .map(|q| scale.mean + scale.sd * (-6.0 + 12.0 * q as f64 / (config.points - 1) as f64))
        .collect();
    // ln prior + operational log-likelihood per examinee and node.
    let base: Vec<Vec<f64>> = data
        .examinees
        .iter()
        .map(|e| {
            nodes
                .iter()
                .map(|&t| {
                    let z = (t - scale.mean) / scale.sd;
                    -0.5 * z * z
                        + e.operational
                            .iter()
                            .map(|&(j, k)| irfs[j].log_prob(t, k))
                            .sum::<f64>()
                })
                .collect()
        })
        .collect();

    let counts = data.counts();
    let spec = |p: usize| Spec {
        kind: config.model,
        n_cat: n_cat[p],
        slope,
        priors: config.priors,
    };
    let mut fits: Vec<Option<super::mstep::Fit>> = vec![None; n_items];
    let mut coords: Vec<Option<Vec<f64>>> = vec![None; n_items];
    let (mut cycles, mut converged) = (0, false);
    let max_cycles = match config.method {
        Method::Mem => config.max_cycles.max(1),
        Method::Fixed => 1,
    };
    while cycles < max_cycles {
        cycles += 1;
        let points = match config.method {
            Method::Fixed => fixed_points(data, &base, &nodes, &n_cat),
            Method::Mem => posterior_points(data, &base, &nodes, &n_cat, &fits),
        };
        let mut change = 0.0_f64;
        for p in 0..n_items {
            if counts[p] == 0 {
                continue;
            }
            let (fit, x) = spec(p)
                .fit(&points[p], coords[p].as_deref())
                .map_err(|e| e.for_item(data.items[p].as_str()))?;
            if let Some(old) = &fits[p] {
                let moved = old
                    .irf
                    .params()
                    .iter()
                    .zip(fit.irf.params())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                change = change.max(moved);
            } else {
                change = f64::INFINITY;
            }
            fits[p] = Some(fit);
            coords[p] = Some(x);
        }
        if config.method == Method::Fixed || change <= config.tolerance {
            converged = true;
            break;
        }
    }

    let items = (0..n_items)
        .map(|p| {
            let mut flags = Vec::new();
            if counts[p] == 0 {
                flags.push("no responses".to_owned());
            } else if counts[p] < config.min_responses {
                flags.push("few responses".to_owned());
            }
            let scores: std::collections::BTreeSet<usize> = data
                .examinees
                .iter()
                .flat_map(|e| e.pretest.iter().filter(|r| r.0 == p).map(|r| r.1))
                .collect();
            if counts[p] > 0 && scores.len() < 2 {
                flags.push("no variance".to_owned());
            }
            let params = fits[p].as_ref().map(|f| {
                if !f.converged {
                    flags.push("not converged".to_owned());
                }
                ItemParams {
                    id: data.items[p].clone(),
                    kind: config.model,
                    irf: f.irf.clone(),
                    se: Some(f.se.clone()),
                }
            });
            NewItem {
                id: data.items[p].clone(),
                params,
                n: counts[p],
                flags,
            }
        })
        .collect();
    Ok(OnlineCalibration {
        method: config.method,
        items,
        cycles,
        converged,
    })
}

fn empty_points(n_cat: &[usize]) -> Vec<Vec<Point>> {
    n_cat.iter().map(|_| Vec::new()).collect()
}

/// Method A: one point per answer, at the examinee's estimate (EAP on the
/// grid when none was recorded).
fn fixed_points(
    data: &PretestData,
    base: &[Vec<f64>],
    nodes: &[f64],
    n_cat: &[usize],
) -> Vec<Vec<Point>> {
    let mut out = empty_points(n_cat);
    for (e, lw) in data.examinees.iter().zip(base) {
        let theta = e.theta.unwrap_or_else(|| {
            let w = normalise(lw);
            nodes.iter().zip(&w).map(|(t, w)| t * w).sum()
        });
        for &(p, k) in &e.pretest {
            let mut counts = vec![0.0; n_cat[p]];
            counts[k] = 1.0;
            out[p].push(Point { theta, counts });
        }
    }
    out
}

/// MEM: expected counts at the nodes under each examinee's posterior, which
/// includes its answers to the new items under their current estimates.
fn posterior_points(
    data: &PretestData,
    base: &[Vec<f64>],
    nodes: &[f64],
    n_cat: &[usize],
    fits: &[Option<super::mstep::Fit>],
) -> Vec<Vec<Point>> {
    let mut out: Vec<Vec<Point>> = n_cat
        .iter()
        .map(|&k| {
            nodes
                .iter()
                .map(|&theta| Point {
                    theta,
                    counts: vec![0.0; k],
                })
                .collect()
        })
        .collect();
    for (e, lw) in data.examinees.iter().zip(base) {
        if e.pretest.is_empty() {
            continue;
        }
        let mut lw = lw.clone();
        for &(p, k) in &e.pretest {
            if let Some(f) = &fits[p] {
                for (l, &t) in lw.iter_mut().zip(nodes) {
                    *l += f.irf.log_prob(t, k);
                }
            }
        }
        let w = normalise(&lw);
        for &(p, k) in &e.pretest {
            for (pt, &wq) in out[p].iter_mut().zip(&w) {
                pt.counts[k] += wq;
            }
        }
    }
    for pts in &mut out {
        pts.retain(|pt| pt.counts.iter().sum::<f64>() > 1e-10);
    }
    out
}

/// Weights from log weights (log-sum-exp).
fn normalise(lw: &[f64]) -> Vec<f64> {
    let m = lw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = lw.iter().map(|l| (l - m).exp()).collect();
    let s: f64 = w.iter().sum();
    w.into_iter().map(|x| x / s).collect()
}

impl OnlineCalibration {
    /// The estimated items as a parameter set (items that could not be
    /// estimated left out), with the provenance recorded: method, model,
    /// sources and their digest, cycles, answers per item and flags.
    /// With `merge`, the items of `params` come first (a new estimate
    /// replaces an item of the same id) and its metadata is kept.
    ///
    /// # Errors
    /// As [`ParamSet::new`].
    pub fn to_params(
        &self,
        data: &PretestData,
        params: &ParamSet,
        merge: bool,
    ) -> Result<ParamSet> {
        use serde_json::{Map, Value, json};
        let new: Vec<ItemParams> = self.items.iter().filter_map(|i| i.params.clone()).collect();
        let items = if merge {
            let replaced: std::collections::HashSet<&str> =
                new.iter().map(|i| i.id.as_str()).collect();
            params
                .items()
                .iter()
                .filter(|i| !replaced.contains(i.id.as_str()))
                .cloned()
                .chain(new.iter().cloned())
                .collect()
        } else {
            new
        };
        let mut meta = params.metadata().clone();
        if !merge {
            meta.version = None;
        }
        let n: Map<String, Value> = self
            .items
            .iter()
            .map(|i| (i.id.to_string(), json!(i.n)))
            .collect();
        let flagged: Map<String, Value> = self
            .items
            .iter()
            .filter(|i| !i.flags.is_empty())
            .map(|i| (i.id.to_string(), json!(i.flags.join(", "))))
            .collect();
        meta.provenance.insert(
            "online_calibration".to_owned(),
            json!({
                "method": self.method.name(),
                "model": self.items.iter().find_map(|i| i.params.as_ref().map(|p| p.kind.name())),
                "sources": data.sources,
                "sources_digest": data.digest,
                "examinees": data.examinees.len(),
                "cycles": self.cycles,
                "converged": self.converged,
                "parent_version": params.metadata().version,
                "n_responses": n,
                "flagged": flagged,
                "software": format!("fangsheng {}", env!("CARGO_PKG_VERSION")),
            }),
        );
        ParamSet::new(items, meta)
    }
}
