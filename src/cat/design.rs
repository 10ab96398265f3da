//! A plan applied to a bank: the plan's checks against the bank's items,
//! and the per-item facts every session of the plan shares (exclusions,
//! content groups, strata, enemy sets, the classification cut).

use std::collections::HashMap;
use std::sync::Arc;

use super::bank::CatBank;
use super::estimation::Estimation;
use super::exposure::Exposure;
use super::plan::Plan;
use super::stop::Rules;
use crate::error::{Error, Result};
use crate::model::Irf;

/// A validated plan on a bank, shared by every session that runs it.
///
/// Building one checks what depends on the bank and costs `O(n log n)`;
/// [`Session::start`](super::Session::start) then costs `O(n)` per exam.
///
/// # Errors
/// [`Design::new`] returns [`ErrorKind::Config`](crate::ErrorKind::Config)
/// for an invalid plan ([`Plan::validate`]), an excluded or enemy item that
/// is not in the bank, a content tag no item has, a content target whose
/// group has no items, Sympson-Hetter or eligibility control on a bank
/// without exposure parameters, and fewer administrable items than
/// `min_items`.
#[derive(Debug)]
pub struct Design {
    bank: Arc<CatBank>,
    plan: Plan,
    pub(crate) rules: Rules,
    pub(crate) estimation: Estimation,
    /// Never administered in this design.
    pub(crate) excluded: Vec<bool>,
    /// Content group of each item (0 without content balancing).
    pub(crate) group: Vec<u16>,
    /// Target proportion of each content group.
    pub(crate) targets: Vec<f64>,
    /// Name (tag value) of each content group.
    pub(crate) group_names: Vec<String>,
    /// a-stratum of each item (0 without a-stratification).
    pub(crate) stratum: Vec<u16>,
    /// Inclusive `a` range of each stratum.
    pub(crate) strata: Vec<(f64, f64)>,
    /// For an item in enemy sets, the other members of those sets.
    pub(crate) enemies: HashMap<usize, Vec<usize>>,
}

fn discrimination(irf: &Irf) -> f64 {
    match irf {
        Irf::Logistic(l) => l.a(),
        Irf::Graded(g) => g.a(),
    }
}

impl Design {
    /// Checks `plan` against `bank` and prepares its per-item tables.
    pub fn new(bank: Arc<CatBank>, plan: Plan) -> Result<Self> {
        plan.validate()?;
        let n = bank.len();
        let lookup = |id: &str, what: &str| {
            bank.index_of(id).ok_or_else(|| {
                Error::config(format!("{what} names an item that is not in the bank")).for_item(id)
            })
        };
        let mut excluded: Vec<bool> = (0..n).map(|j| bank.is_excluded(j)).collect();
        for id in &plan.exclude {
            excluded[lookup(id.as_str(), "exclude")?] = true;
        }
        let mut enemies: HashMap<usize, Vec<usize>> = HashMap::new();
        for set in &plan.enemies {
            let members = set
                .iter()
                .map(|id| lookup(id.as_str(), "an enemy set"))
                .collect::<Result<Vec<_>>>()?;
            for &j in &members {
                let list = enemies.entry(j).or_default();
                list.extend(members.iter().copied().filter(|&m| m != j));
            }
        }

        let (group, targets, group_names) = match &plan.content {
            None => (vec![0u16; n], vec![1.0], vec![String::new()]),
            Some(content) => {
                if !bank.has_tag(&content.tag) {
                    return Err(Error::config(format!(
                        "content: unknown tag '{}' (no item of the bank has it)",
                        content.tag
                    )));
                }
                let names: Vec<String> = content.targets.keys().cloned().collect();
                let targets: Vec<f64> = content.targets.values().copied().collect();
                let mut group = vec![0u16; n];
                let mut sizes = vec![0usize; names.len()];
                for j in 0..n {
                    let g = bank
                        .tags(j)
                        .get(&content.tag)
                        .and_then(|v| names.iter().position(|name| name == v));
                    match g {
                        Some(g) if targets[g] > 0.0 => {
                            group[j] = g as u16;
                            if !excluded[j] {
                                sizes[g] += 1;
                            }
                        }
                        // Items outside the targeted groups are not administered.
                        _ => excluded[j] = true,
                    }
                }
                if let Some(g) = (0..names.len()).find(|&g| targets[g] > 0.0 && sizes[g] == 0) {
                    return Err(Error::config(format!(
                        "content: no administrable item has {} '{}' (target {})",
                        content.tag, names[g], targets[g]
                    )));
                }
                (group, targets, names)
            }
        };

        let (stratum, strata) = match plan.exposure {
            Exposure::AStratified { strata } => stratify(&bank, &excluded, strata),
            _ => (vec![0u16; n], vec![(f64::NEG_INFINITY, f64::INFINITY)]),
        };

        if plan.exposure.uses_params() && bank.exposure_param(0).is_none() {
            return Err(Error::config(
                "exposure: sympson-hetter and eligibility control need per-item exposure \
                 parameters in the bank (see calibrate_exposure)",
            ));
        }
        let available = excluded.iter().filter(|&&x| !x).count();
        if available < plan.min_items {
            return Err(Error::config(format!(
                "the bank has {available} administrable items, fewer than min_items ({})",
                plan.min_items
            )));
        }

        let classify = match &plan.classify {
            None => None,
            Some(c) => {
                let cut = match (c.cut, c.cut_score) {
                    (Some(cut), _) => cut,
                    (None, Some(p)) => bank.curve().inverse(bank.irfs(), p),
                    (None, None) => unreachable!("validated: one of cut and cut_score"),
                };
                Some((cut, c.z()))
            }
        };
        let rules = Rules {
            max_items: plan.max_items,
            min_items: plan.min_items,
            stop_se: plan.stop_se,
            classify,
        };
        Ok(Design {
            estimation: Estimation::new(&plan),
            bank,
            plan,
            rules,
            excluded,
            group,
            targets,
            group_names,
            stratum,
            strata,
            enemies,
        })
    }

    /// The bank.
    pub fn bank(&self) -> &Arc<CatBank> {
        &self.bank
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Content group names (tag values) in the order of
    /// [`Session::content_counts`](super::Session::content_counts); one
    /// empty name without content balancing.
    pub fn content_groups(&self) -> &[String] {
        &self.group_names
    }

    /// The classification cut on the theta scale, if the plan classifies.
    pub fn cut(&self) -> Option<f64> {
        self.rules.classify.map(|(c, _)| c)
    }

    pub(crate) fn n_strata(&self) -> usize {
        self.strata.len()
    }
}

/// Strata of equal size by increasing discrimination among the
/// administrable items (excluded items go to stratum 0; they are never
/// eligible anyway).
fn stratify(bank: &CatBank, excluded: &[bool], strata: usize) -> (Vec<u16>, Vec<(f64, f64)>) {
    let mut order: Vec<usize> = (0..bank.len()).filter(|&j| !excluded[j]).collect();
    order.sort_by(|&x, &y| {
        discrimination(&bank.irfs()[x])
            .total_cmp(&discrimination(&bank.irfs()[y]))
            .then(x.cmp(&y))
    });
    let mut stratum = vec![0u16; bank.len()];
    let mut ranges = vec![(f64::INFINITY, f64::NEG_INFINITY); strata];
    let len = order.len().max(1);
    for (rank, &j) in order.iter().enumerate() {
        let s = rank * strata / len;
        stratum[j] = s as u16;
        let a = discrimination(&bank.irfs()[j]);
        ranges[s].0 = ranges[s].0.min(a);
        ranges[s].1 = ranges[s].1.max(a);
    }
    (stratum, ranges)
}

/// Simulated examinees and rounds used to set Sympson-Hetter or
/// eligibility parameters when a bank has none ([`Design::prepare`]).
pub const EXPOSURE_SIMULEES: usize = 300;
/// See [`EXPOSURE_SIMULEES`].
pub const EXPOSURE_ROUNDS: usize = 8;

impl Design {
    /// The design of `plan` on `bank`, ready to run: for Sympson-Hetter or
    /// eligibility control on a bank without exposure parameters, they are
    /// first set by simulation
    /// ([`calibrate_exposure`](super::calibrate_exposure) with
    /// [`EXPOSURE_SIMULEES`] `N(0, 1)` examinees and [`EXPOSURE_ROUNDS`]
    /// rounds, seeded by `seed`).
    ///
    /// # Errors
    /// As [`Design::new`] and [`calibrate_exposure`](super::calibrate_exposure).
    pub fn prepare(bank: &Arc<CatBank>, plan: &Plan, seed: u64) -> Result<Arc<Design>> {
        let bank = if plan.exposure.uses_params() && bank.exposure_param(0).is_none() {
            let thetas = super::normal_thetas(EXPOSURE_SIMULEES, seed);
            let fit = super::calibrate_exposure(bank, plan, &thetas, EXPOSURE_ROUNDS, seed)?;
            Arc::new((**bank).clone().with_exposure_params(&fit.params)?)
        } else {
            Arc::clone(bank)
        };
        Ok(Arc::new(Design::new(bank, plan.clone())?))
    }
}
