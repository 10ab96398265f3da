//! One fold of the leave-one-out: the bank calibrated without the
//! held-out examinee (or read from the cache), its replay and, for the
//! two-part model, the no-answer calibration.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::bank::{Metadata, ParamSet};
use crate::calibrate::{CalibrationConfig, NormalPrior, calibrate};
use crate::cat::bank::CatBank;
use crate::cat::eval_subscore::SubscoreModel;
use crate::cat::eval_two_part::TwoPart;
use crate::cat::plan::Prior;
use crate::cat::replay::Replay;
use crate::cat::tags::Tags;
use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::estimate::{Estimator, Method};
use crate::ids::{ExamineeId, ItemId};
use crate::model::{Irf, ModelKind};

use super::LooConfig;

/// One held-out examinee with the bank calibrated without it.
pub(in crate::cat) struct Fold {
    pub(in crate::cat) row: usize,
    pub(in crate::cat) bank: Arc<CatBank>,
    pub(in crate::cat) replay: Replay,
    /// The ability distribution of the calibration examinees (see
    /// [`population`]), computed on first use: only `prior=empirical`
    /// variants need it, and it costs an EAP pass over every calibration
    /// run in each fold (22 + 462 folds in a refit run on MMLU-Pro).
    pub(super) population: Mutex<Option<Prior>>,
    /// The calibration examinees' whole runs on the fold's bank.
    pub(super) train: Replay,
    /// Per-group prediction models fitted on `train`, by tag.
    subscores: Mutex<HashMap<String, Arc<SubscoreModel>>>,
    /// With [`LooConfig::no_answer`]: the fold's no-answer model (`bank`,
    /// `replay` and `train` then hold the answered responses only).
    pub(in crate::cat) two_part: Option<TwoPart>,
}

impl Fold {
    /// The held-out examinee's observed full-run score.
    pub(in crate::cat) fn observed(&self) -> f64 {
        match &self.two_part {
            Some(tp) => tp.observed(),
            None => self.replay.observed(0),
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
/// [`LooConfig::no_answer`] the answered ones (filtered once, not per fold).
#[derive(Clone, Copy)]
pub(super) struct Data<'a> {
    pub(super) responses: &'a ResponseMatrix,
    pub(super) answered: Option<&'a ResponseMatrix>,
}

/// Calibrates without examinee `row` (or reads the cached calibration);
/// the fold examines `row`. An inner fold (`outer = Some(m)`) also leaves
/// out the outer fold's held-out examinee `m`. With
/// [`LooConfig::no_answer`] the bank is calibrated on the answered
/// responses and the no-answer indicators get a calibration of their own.
pub(super) fn fold(
    Data {
        responses,
        answered,
    }: Data<'_>,
    config: &LooConfig,
    model: ModelKind,
    slope_prior: Option<f64>,
    row: usize,
    outer: Option<usize>,
) -> Result<Fold> {
    let keep = |e: usize, _: &ExamineeId| e != row && Some(e) != outer;
    let source = answered.unwrap_or(responses);
    let train = answered_items(&source.filter_examinees(keep));
    let label = match slope_prior {
        Some(sd) => format!("{model}-slope{sd}"),
        None => model.to_string(),
    };
    let setting = (model, slope_prior, row, outer);
    let bank_label = match answered {
        Some(_) => format!("{label}-answered"),
        None => label.clone(),
    };
    let params = fold_params(responses, &train, config, setting, &bank_label)?;
    let tags: HashMap<ItemId, Tags> = config
        .tags
        .iter()
        .filter(|(id, _)| params.index_of(id.as_str()).is_some())
        .map(|(id, t)| (id.clone(), t.clone()))
        .collect();
    let bank = Arc::new(CatBank::new(&params)?.with_tags(&tags)?);
    let own = |m: &ResponseMatrix| m.filter_examinees(|e, _| e == row);
    let two_part = match &config.no_answer {
        Some(flags) => {
            let flags_train = answered_items(&flags.filter_examinees(keep));
            // Without a single "no answer" there is nothing to calibrate.
            let flags_params = if flags_train.cells().any(|c| c.score > 0) {
                let label = format!("{label}-noanswer");
                Some(fold_params(
                    responses,
                    &flags_train,
                    config,
                    setting,
                    &label,
                )?)
            } else {
                None
            };
            let run = own(responses);
            Some(TwoPart::new(
                &bank,
                flags_params.as_ref(),
                &run,
                &own(flags),
            )?)
        }
        None => None,
    };
    let replay = Replay::new(&bank, &own(source))?;
    let train = Replay::new(&bank, &train)?;
    Ok(Fold {
        row,
        bank,
        replay,
        population: Mutex::new(None),
        train,
        subscores: Mutex::new(HashMap::new()),
        two_part,
    })
}

/// The calibration of one fold's training data `train` (read from the
/// cache under `label` when it holds the same fit): `setting` is the
/// model, slope prior, held-out row and outer row of [`fold`].
pub(super) fn fold_params(
    responses: &ResponseMatrix,
    train: &ResponseMatrix,
    config: &LooConfig,
    (model, slope_prior, row, outer): (ModelKind, Option<f64>, usize, Option<usize>),
    label: &str,
) -> Result<ParamSet> {
    let id = &responses.examinees()[row];
    let priors = match slope_prior {
        Some(sd) => config
            .calibration
            .priors
            .with_slope(NormalPrior { mean: 0.0, sd }),
        None => config.calibration.priors,
    };
    // Everything the fold's calibration depends on, as text (numbers would
    // not survive a round trip through the file exactly).
    let held = match outer {
        Some(m) => format!("{} and inner {id}", responses.examinees()[m]),
        None => id.to_string(),
    };
    let key = serde_json::Value::String(format!(
        "held out {held}; {} responses; {model}; priors {priors:?}; quadrature {} on +-{}; tolerance {}",
        train.n_responses(),
        config.calibration.quadrature.points(),
        config.calibration.quadrature.range(),
        config.calibration.tolerance,
    ));
    let cached = config.cache.as_ref().map(|d| match outer {
        Some(m) => cache_file(
            d,
            &format!("{label}-inner"),
            &format!("{}--{id}", responses.examinees()[m]),
        ),
        None => cache_file(d, label, id.as_str()),
    });
    let loaded = cached
        .as_ref()
        .filter(|p| p.is_file())
        .and_then(|p| ParamSet::load(p).ok())
        .map(|l| l.params)
        .filter(|p| p.metadata().provenance.get("leave_one_out") == Some(&key));
    if let Some(p) = loaded {
        return Ok(p);
    }
    let calibration = CalibrationConfig {
        model,
        priors,
        item_models: None,
        standard_errors: false,
        ..config.calibration.clone()
    };
    #[cfg(test)]
    super::tests::record_calibration(train);
    let fit = calibrate(train, &calibration, &mut |_| {})
        .map_err(|e| Error::config(format!("calibration without {held}: {}", e.message())))?;
    let mut metadata = Metadata::default();
    metadata.provenance.insert("leave_one_out".into(), key);
    let params = fit.to_param_set(metadata)?;
    if let Some(p) = &cached {
        std::fs::create_dir_all(p.parent().unwrap_or(p)).map_err(|e| Error::io(p, e))?;
        params.save_json(p)?;
    }
    Ok(params)
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

/// A copy of `m` without the items nobody answered (calibration rejects them).
pub(super) fn answered_items(m: &ResponseMatrix) -> ResponseMatrix {
    m.filter_items(|j, _| !m.item_responses(j).0.is_empty())
}

pub(super) fn cache_file(dir: &std::path::Path, model: &str, id: &str) -> PathBuf {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("loo-{model}-{safe}.json"))
}
