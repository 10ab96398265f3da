//! One fold of the experiments: the engine's fold ([`fangsheng::loo::Fold`])
//! with what only the experiments need: the calibration population (for
//! `prior=empirical`), the per-group models of `subscore=TAG` variants and,
//! for the two-part model, the no-answer calibration.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use fangsheng::calibrate::{CalibrationConfig, NormalPrior};
use fangsheng::cat::{CatBank, Prior, Replay};
use fangsheng::data::ResponseMatrix;
use fangsheng::error::{Error, Result};
use fangsheng::estimate::{Estimator, Method};
use fangsheng::ids::ExamineeId;
use fangsheng::loo::{FoldSpec, answered_items, fold_params};
use fangsheng::model::{Irf, ModelKind};

use super::LabConfig;
use crate::subscore::SubscoreModel;
use crate::two_part::TwoPart;

/// One held-out examinee with the bank calibrated without it.
pub(crate) struct Fold {
    /// The engine's fold: row, bank, replay and the calibration runs.
    pub(crate) core: fangsheng::loo::Fold,
    /// The ability distribution of the calibration examinees (see
    /// [`population`]), computed on first use: only `prior=empirical`
    /// variants need it, and it costs an EAP pass over every calibration
    /// run in each fold (22 + 462 folds in a refit run on MMLU-Pro).
    pub(super) population: Mutex<Option<Prior>>,
    /// Per-group prediction models fitted on the calibration runs, by tag.
    subscores: Mutex<HashMap<String, Arc<SubscoreModel>>>,
    /// With [`LabConfig::no_answer`]: the fold's no-answer model (`bank`,
    /// `replay` and `train` then hold the answered responses only).
    pub(crate) two_part: Option<TwoPart>,
}

/// The experiments use the engine's fold through theirs.
impl Deref for Fold {
    type Target = fangsheng::loo::Fold;

    fn deref(&self) -> &fangsheng::loo::Fold {
        &self.core
    }
}

impl AsRef<fangsheng::loo::Fold> for Fold {
    fn as_ref(&self) -> &fangsheng::loo::Fold {
        &self.core
    }
}

impl Fold {
    /// The held-out examinee's observed full-run score.
    pub(crate) fn observed(&self) -> f64 {
        match &self.two_part {
            Some(tp) => tp.observed(),
            None => self.core.observed(),
        }
    }

    /// The calibration examinees' ability distribution, scored once.
    pub(super) fn population(&self) -> Result<Prior> {
        if let Some(p) = self.population.lock().ok().and_then(|p| *p) {
            return Ok(p);
        }
        let p = population(&self.bank, &self.train)?;
        if let Ok(mut cached) = self.population.lock() {
            *cached = Some(p);
        }
        Ok(p)
    }

    /// The per-group model of tag `tag`, fitted on the calibration runs
    /// once and reused.
    pub(super) fn subscore(&self, tag: &str) -> Result<Arc<SubscoreModel>> {
        if let Some(m) = self.subscores.lock().ok().and_then(|s| s.get(tag).cloned()) {
            return Ok(m);
        }
        let m = Arc::new(SubscoreModel::fit(&self.bank, tag, &self.train)?);
        if let Ok(mut s) = self.subscores.lock() {
            s.insert(tag.to_owned(), Arc::clone(&m));
        }
        Ok(m)
    }
}

/// The responses folds are cut from: all of them, and with
/// [`LabConfig::no_answer`] the answered ones (filtered once, not per fold).
#[derive(Clone, Copy)]
pub(super) struct Data<'a> {
    pub(super) responses: &'a ResponseMatrix,
    pub(super) answered: Option<&'a ResponseMatrix>,
}

/// Calibrates without examinee `row` (or reads the cached calibration);
/// the fold examines `row`. An inner fold (`outer = Some(m)`) also leaves
/// out the outer fold's held-out examinee `m`. With
/// [`LabConfig::no_answer`] the bank is calibrated on the answered
/// responses and the no-answer indicators get a calibration of their own.
pub(super) fn fold(
    Data {
        responses,
        answered,
    }: Data<'_>,
    config: &LabConfig,
    model: ModelKind,
    slope_prior: Option<f64>,
    row: usize,
    outer: Option<usize>,
) -> Result<Fold> {
    let calibration = CalibrationConfig {
        model,
        priors: match slope_prior {
            Some(sd) => config
                .calibration
                .priors
                .with_slope(NormalPrior { mean: 0.0, sd }),
            None => config.calibration.priors,
        },
        ..config.calibration.clone()
    };
    let label = match slope_prior {
        Some(sd) => format!("{model}-slope{sd}"),
        None => model.to_string(),
    };
    let bank_label = match answered {
        Some(_) => format!("{label}-answered"),
        None => label.clone(),
    };
    fn spec<'a>(
        calibration: &'a CalibrationConfig,
        config: &'a LabConfig,
        label: &'a str,
    ) -> FoldSpec<'a> {
        FoldSpec {
            calibration,
            tags: &config.tags,
            cache: config.cache.as_deref().map(|d| (d, label)),
            on_calibration: config
                .on_calibration
                .as_deref()
                .map(|f| f as &(dyn Fn(&ResponseMatrix) + Sync)),
        }
    }
    let core = fangsheng::loo::Fold::new(
        answered.unwrap_or(responses),
        spec(&calibration, config, &bank_label),
        row,
        outer,
    )?;
    let two_part = match &config.no_answer {
        Some(flags) => {
            let keep = |e: usize, _: &ExamineeId| e != row && Some(e) != outer;
            let flags_train = answered_items(&flags.filter_examinees(keep));
            // Without a single "no answer" there is nothing to calibrate.
            let flags_params = if flags_train.cells().any(|c| c.score > 0) {
                let label = format!("{label}-noanswer");
                Some(fold_params(
                    responses,
                    &flags_train,
                    spec(&calibration, config, &label),
                    row,
                    outer,
                )?)
            } else {
                None
            };
            let own = |m: &ResponseMatrix| m.filter_examinees(|e, _| e == row);
            Some(TwoPart::new(
                &core.bank,
                flags_params.as_ref(),
                &own(responses),
                &own(flags),
            )?)
        }
        None => None,
    };
    Ok(Fold {
        core,
        population: Mutex::new(None),
        subscores: Mutex::new(HashMap::new()),
        two_part,
    })
}

/// The predictive distribution of a new examinee's ability from the
/// calibration examinees: `N(m, s^2 (1 + 1/n))`, with `m` and `s` the mean
/// and SD of the `n` examinees' EAP abilities on the fold's bank (each
/// scored from its whole run, so the prior hardly matters). It uses only
/// the examinees the fold was calibrated on.
pub(super) fn population(bank: &CatBank, runs: &Replay) -> Result<Prior> {
    let irfs = bank.irfs();
    let thetas: Vec<f64> = (0..runs.len())
        .filter(|&e| !runs.run(e).is_empty())
        .map(|e| {
            let answers: Vec<(&Irf, usize)> = runs
                .run(e)
                .iter()
                .map(|&(j, x)| (&irfs[j as usize], x as usize))
                .collect();
            Estimator::new(Method::Eap).estimate(&answers).theta
        })
        .collect();
    let n = thetas.len() as f64;
    let mean = thetas.iter().sum::<f64>() / n;
    let var = thetas.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / (n - 1.0);
    let sd = (var * (1.0 + 1.0 / n)).sqrt();
    if !(mean.is_finite() && sd.is_finite() && sd > 0.0) {
        return Err(Error::config(format!(
            "the calibration examinees' abilities give no population prior (mean {mean}, sd {sd})"
        )));
    }
    Ok(Prior { mean, sd, df: None })
}
