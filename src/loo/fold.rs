//! One fold of a leave-one-out: the bank calibrated without the held-out
//! examinee (or read back from a cache folder), and that examinee's
//! recorded run aligned to it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bank::{Metadata, ParamSet};
use crate::calibrate::{CalibrationConfig, calibrate};
use crate::cat::{CatBank, Replay, Tags};
use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::ids::{ExamineeId, ItemId};

/// One held-out examinee with the bank calibrated without it.
#[derive(Debug)]
pub struct Fold {
    /// Row of the held-out examinee in the response matrix.
    pub row: usize,
    /// The bank calibrated on every other examinee (with the item tags).
    pub bank: Arc<CatBank>,
    /// The held-out examinee's recorded run on that bank (one examinee).
    pub replay: Replay,
    /// The calibration examinees' whole runs on that bank.
    pub train: Replay,
}

impl AsRef<Fold> for Fold {
    fn as_ref(&self) -> &Fold {
        self
    }
}

/// How folds are calibrated: the settings, the item tags their banks
/// carry, and where calibrations are kept between runs.
#[derive(Clone, Copy)]
pub struct FoldSpec<'a> {
    /// The calibration of every fold (its model, priors and quadrature);
    /// standard errors are never computed.
    pub calibration: &'a CalibrationConfig,
    /// Item tags for the folds' banks (content balance, group scores).
    pub tags: &'a HashMap<ItemId, Tags>,
    /// A folder where each fold's calibration is saved and reused, and the
    /// label its files carry (the model and priors, say).
    pub cache: Option<(&'a Path, &'a str)>,
    /// Called with the training data of every calibration that is run (not
    /// of those read from the cache): what a study checks to see that no
    /// fold calibrated on its held-out examinee.
    pub on_calibration: Option<&'a (dyn Fn(&ResponseMatrix) + Sync)>,
}

impl std::fmt::Debug for FoldSpec<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoldSpec")
            .field("calibration", self.calibration)
            .field("tags", &self.tags.len())
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Fold {
    /// Calibrates on `responses` without examinee `row` (or reads the cached
    /// calibration) and aligns `row`'s run to the bank. An inner fold
    /// (`outer = Some(m)`) also leaves out examinee `m`.
    ///
    /// # Errors
    /// A calibration that fails (naming the examinee held out); a cache
    /// file that cannot be written.
    pub fn new(
        responses: &ResponseMatrix,
        spec: FoldSpec<'_>,
        row: usize,
        outer: Option<usize>,
    ) -> Result<Fold> {
        let keep = |e: usize, _: &ExamineeId| e != row && Some(e) != outer;
        let train = answered_items(&responses.filter_examinees(keep));
        let params = fold_params(responses, &train, spec, row, outer)?;
        let tags: HashMap<ItemId, Tags> = spec
            .tags
            .iter()
            .filter(|(id, _)| params.index_of(id.as_str()).is_some())
            .map(|(id, t)| (id.clone(), t.clone()))
            .collect();
        let bank = Arc::new(CatBank::new(&params)?.with_tags(&tags)?);
        let replay = Replay::new(&bank, &responses.filter_examinees(|e, _| e == row))?;
        let train = Replay::new(&bank, &train)?;
        Ok(Fold {
            row,
            bank,
            replay,
            train,
        })
    }

    /// The held-out examinee's observed full-run score: the mean
    /// proportion of the maximum over its recorded items of the bank.
    pub fn observed(&self) -> f64 {
        self.replay.observed(0)
    }

    /// The held-out examinee's name.
    pub fn examinee(&self) -> &ExamineeId {
        &self.replay.examinees()[0]
    }
}

/// The calibration of one fold's training data `train`: examinee `row`
/// (and `outer`, for an inner fold) of `responses` left out. With a cache,
/// a saved calibration of the same data and settings is read back instead,
/// and a new one is saved.
///
/// # Errors
/// As [`Fold::new`].
pub fn fold_params(
    responses: &ResponseMatrix,
    train: &ResponseMatrix,
    spec: FoldSpec<'_>,
    row: usize,
    outer: Option<usize>,
) -> Result<ParamSet> {
    let config = spec.calibration;
    let id = &responses.examinees()[row];
    let held = match outer {
        Some(m) => format!("{} and inner {id}", responses.examinees()[m]),
        None => id.to_string(),
    };
    // Everything the fold's calibration depends on, as text (numbers would
    // not survive a round trip through the file exactly).
    let key = serde_json::Value::String(format!(
        "held out {held}; {} responses; {}; priors {:?}; quadrature {} on +-{}; tolerance {}",
        train.n_responses(),
        config.model,
        config.priors,
        config.quadrature.points(),
        config.quadrature.range(),
        config.tolerance,
    ));
    let cached = spec.cache.map(|(dir, label)| match outer {
        Some(m) => cache_file(
            dir,
            &format!("{label}-inner"),
            &format!("{}--{id}", responses.examinees()[m]),
        ),
        None => cache_file(dir, label, id.as_str()),
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
        item_models: None,
        standard_errors: false,
        ..config.clone()
    };
    if let Some(observe) = spec.on_calibration {
        observe(train);
    }
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

/// A copy of `m` without the items nobody answered (calibration rejects
/// them).
pub fn answered_items(m: &ResponseMatrix) -> ResponseMatrix {
    m.filter_items(|j, _| !m.item_responses(j).0.is_empty())
}

/// The cache file of examinee `id`'s fold under `label`.
fn cache_file(dir: &Path, label: &str, id: &str) -> PathBuf {
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
    dir.join(format!("loo-{label}-{safe}.json"))
}
