//! `fangsheng calibrate`: item parameters from past runs by MML-EM.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use fangsheng::bank::{EXAMINEE_NAMES_KEY, Metadata, PROMPT_FORMAT_KEY, ParamSet};
use fangsheng::calibrate::{
    AnchoredCalibration, Calibration, CalibrationConfig, HoldoutScore, NormalPrior, PriorConfig,
    Progress, QuadratureConfig, calibrate, calibrate_anchored, evaluate_holdout, split_holdout,
};
use fangsheng::data::{ResponseMatrix, recode_from_min};
use fangsheng::model::ModelKind;
use serde_json::json;

use super::input::ResponseArgs;
use super::output::{AbilityRow, emit, write_abilities};
use super::progress::{Convergence, ProgressLine};

/// Flags of `fangsheng calibrate`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng calibrate --responses calibration/demo/runs.csv --model 2pl --out demo-2pl.json
  fangsheng calibrate -r calibration/demo/runs.csv --model rasch --bank demo --version rasch-1 \\
      --out demo-rasch.json --csv demo-rasch.csv --abilities abilities.csv
  fangsheng calibrate -r calibration/demo/runs.csv --model 3pl --hold-out 0.1 --seed 7 --out held-out-3pl.json
  fangsheng calibrate -r calibration/demo/runs.csv --model 2pl --quad-points 121 --quad-range -4,8 \\
      --out wide-grid.json
  fangsheng calibrate -r calibration/demo/runs.csv --model 2pl --anchor demo-2pl.json \\
      --bank demo --version v2 --out demo-v2.json

With --anchor V.json (recalibration on a stable scale), items present in V keep
their parameters; the other items and every examinee are placed on V's scale,
and the latent mean and SD of this population on that scale are estimated
(fixed item parameter calibration with the latent distribution re-estimated
each EM cycle) and written as metadata.scale. Anchor items nobody answered here
are copied unchanged, so the output is a complete new version. An anchor
calibrated under another model than the one asked for is an error (give its
items their models with --item-models, a CSV with columns id,model such as a
parameter CSV).

Every output records its provenance: response file(s) with SHA-256 digests,
date (UTC; set SOURCE_DATE_EPOCH for reproducible files), model, seed, fit
statistics, the parent version (the anchor file's path, digest, version), the
examinees' names when there are at most 500 (so that an exam can tell a model
the calibration was fitted on), and --prompt-format when given.

Items nobody answered are dropped with a warning. With --hold-out FRACTION,
that share of the observed cells (chosen with --seed) is hidden, the items are
calibrated on the rest (the written parameters are that fit), and the hidden
cells are predicted from each examinee's posterior: held-out log-likelihood
per response, accuracy and Brier score go to stderr and to the output's
metadata.provenance.holdout, for comparing models (higher log-likelihood is
better)."
)]
pub struct Args {
    #[command(flatten)]
    input: ResponseArgs,

    /// Model of every item: rasch, 1pl, 2pl, 3pl, 4pl, grm, or auto (grm for
    /// items with more than two observed categories, 2pl otherwise).
    #[arg(long, short = 'm', default_value = "2pl")]
    model: String,

    /// CSV with columns id,model giving some items their own model (mixed banks);
    /// items not listed use --model. [default: none, every item takes --model]
    #[arg(long, value_name = "FILE")]
    item_models: Option<PathBuf>,

    /// Where to write the calibrated parameters (fangsheng-params/1 JSON).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,

    /// Also write the parameters as CSV. [default: none, JSON only]
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,

    /// Also write each model's EAP ability and posterior SD (CSV with columns
    /// model,theta,se,n_items). [default: none, not written]
    #[arg(long, value_name = "FILE")]
    abilities: Option<PathBuf>,

    /// Quadrature points on the latent scale (121: LLM posteriors are narrow).
    #[arg(long, value_name = "N", default_value_t = 121)]
    quad_points: usize,

    /// Range of the quadrature grid on the standardised latent scale, as
    /// LO,HI with LO < 0 < HI; it may be asymmetric (e.g. -4,8 for a few
    /// models far above the rest).
    #[arg(
        long,
        value_name = "LO,HI",
        default_value = "-6,6",
        allow_hyphen_values = true
    )]
    quad_range: String,

    /// Priors on item parameters: `default` (weak for 2PL, BILOG-MG's for
    /// 3PL/4PL) or `none` (plain marginal maximum likelihood).
    #[arg(long, default_value = "default", value_parser = ["default", "none"])]
    prior: String,

    /// Log-normal slope prior `ln a ~ N(0, SD^2)` replacing the one `--prior`
    /// gives. With few examinees (tens of models) a tighter prior, e.g. 0.5,
    /// keeps slopes from absorbing noise; see benches/README.md for held-out
    /// comparisons. [default: --prior's: SD 1 for 2PL, 0.5 for 3PL/4PL]
    #[arg(long, value_name = "SD")]
    slope_prior_sd: Option<f64>,

    /// Convergence tolerance: largest parameter change in an EM cycle.
    #[arg(long, default_value_t = 1e-4)]
    tol: f64,

    /// Maximum EM cycles.
    #[arg(long, default_value_t = 2000)]
    max_iter: usize,

    /// Skip standard errors of the item parameters.
    #[arg(long)]
    no_se: bool,

    /// Shift each item's scores so its lowest observed category is 0
    /// (for files coded 1..K, such as Likert items).
    #[arg(long)]
    recode_min_to_zero: bool,

    /// Name of the bank, recorded in the output's metadata. [default: none]
    #[arg(long)]
    bank: Option<String>,

    /// Version label, recorded in the output's metadata. [default: none]
    #[arg(long)]
    version: Option<String>,

    /// Name of the prompt format the runs were answered under (a bank's
    /// `prompt.toml` `format`), recorded in the output's metadata; exams
    /// under another format say the calibration does not cover them.
    /// [default: none, not recorded]
    #[arg(long, value_name = "NAME")]
    prompt_format: Option<String>,

    /// Fail (exit status 2) when EM does not converge; the result is still written.
    #[arg(long)]
    strict: bool,

    /// Hold out this share of the observed cells (0 < FRACTION < 1),
    /// calibrate on the rest, and report how well the fit predicts the
    /// held-out cells. [default: none, every cell is used]
    #[arg(long, value_name = "FRACTION")]
    hold_out: Option<f64>,

    /// Earlier calibration whose items keep their parameters and define the
    /// scale (fixed item parameter calibration; see below). [default: none,
    /// the scale is this population's N(0, 1)]
    #[arg(long, value_name = "FILE")]
    anchor: Option<PathBuf>,

    /// Seed of the held-out split (ChaCha8); recorded in the output.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// No progress line.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let source = args
        .input
        .responses
        .clone()
        .context("--responses FILE is required")?;
    let anchor = args
        .anchor
        .as_ref()
        .map(|path| {
            let loaded = ParamSet::load(path)
                .with_context(|| format!("cannot use the anchor file {}", path.display()))?;
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            anyhow::Ok(loaded.params)
        })
        .transpose()?;
    let date = provenance_date()?;
    let mut responses = args.input.read()?;
    if args.recode_min_to_zero {
        responses = recode_from_min(&responses).0;
    }
    // With --hold-out, `responses` becomes the training cells; it keeps every
    // column so that held-out cells index into it.
    let mut held = Vec::new();
    if let Some(fraction) = args.hold_out {
        (responses, held) = split_holdout(&responses, fraction, args.seed)?;
    }
    let answered = drop_unanswered(&responses, args.hold_out.is_some());
    let dropped = answered
        .as_ref()
        .map_or(0, |a| responses.n_items() - a.n_items());
    let train = args.hold_out.is_some().then_some(&responses);
    let responses = answered.as_ref().unwrap_or(&responses);
    let config = config(&args, responses)?;

    let mut progress = ProgressLine::new(args.quiet);
    let mut first_change = None;
    let mut report = |p: &Progress| {
        let first = *first_change.get_or_insert(p.max_change);
        progress.update_convergence(
            "calibrating",
            Convergence {
                iteration: p.iteration,
                first_change: first,
                change: p.max_change,
                tolerance: config.tolerance,
                max_iterations: config.max_iterations,
            },
        )
    };
    let anchored: Option<AnchoredCalibration> = match &anchor {
        Some(a) => Some(
            calibrate_anchored(responses, &config, a, &mut report)
                .map_err(|e| e.in_file(&source))?,
        ),
        None => None,
    };
    let fit = match &anchored {
        Some(a) => a.calibration.clone(),
        None => calibrate(responses, &config, &mut report).map_err(|e| e.in_file(&source))?,
    };
    progress.finish();
    let seconds = progress.elapsed().as_secs_f64();
    let holdout = train
        .map(|train| {
            let start = std::time::Instant::now();
            let score = evaluate_holdout(&fit, train, &held)?;
            anyhow::Ok((score, start.elapsed().as_secs_f64()))
        })
        .transpose()?;

    let mut metadata = metadata(&args, &source, responses, &config, dropped)?;
    metadata.provenance.insert("date".into(), json!(date));
    if let Some(format) = &args.prompt_format {
        metadata
            .provenance
            .insert(PROMPT_FORMAT_KEY.into(), json!(format));
    }
    if let (Some(path), Some(a)) = (&args.anchor, &anchor) {
        metadata.provenance.insert(
            "parent".into(),
            Metadata::parent_record(path, a.metadata())?,
        );
        metadata.provenance.insert(
            "method".into(),
            json!(
                "MML-EM (Bock-Aitkin) with fixed anchor items; latent mean and SD \
                 re-estimated each EM cycle (FIPC, multiple weights updating)"
            ),
        );
    }
    if let Some((score, _)) = &holdout {
        metadata
            .provenance
            .insert("holdout".into(), holdout_json(&args, score));
    }
    let params = match &anchored {
        Some(a) => a.to_param_set(metadata)?,
        None => fit.to_param_set(metadata)?,
    };
    params.save_json(&args.out)?;
    if let Some(csv) = &args.csv {
        params.save_csv(csv)?;
    }
    if let Some(path) = &args.abilities {
        let rows: Vec<AbilityRow> = fit
            .abilities
            .iter()
            .enumerate()
            .map(|(e, a)| AbilityRow {
                model: a.id.as_str(),
                theta: a.theta,
                se: a.se,
                n_items: responses.examinee_responses(e).0.len(),
                status: None,
            })
            .collect();
        emit(Some(path), |w| write_abilities(w, &rows, false))?;
    }
    if let Some(a) = &anchored {
        eprintln!(
            "anchored: {} items fixed from {}, {} new, {} anchors without responses carried over; \
             latent mean {:.3} sd {:.3} on the anchor scale",
            a.n_anchored(),
            args.anchor.as_deref().unwrap_or(Path::new("")).display(),
            a.anchored.len() - a.n_anchored(),
            a.carried.len(),
            fit.latent.mean,
            fit.latent.sd
        );
    }
    summarise(&fit, responses, &args.out, seconds);
    if let Some((score, seconds)) = &holdout {
        report_holdout(&args, score, *seconds);
    }
    if !fit.converged {
        let msg = format!(
            "EM did not converge in {} cycles (tolerance {}); the result was written and is marked \"converged\": false",
            fit.iterations, args.tol
        );
        if args.strict {
            bail!(msg);
        }
        eprintln!("warning: {msg}");
    }
    Ok(())
}

/// The matrix without the columns nobody answered (the engine cannot
/// calibrate them), after a warning with their number and the first few
/// ids; `None` when every item has a response.
fn drop_unanswered(responses: &ResponseMatrix, after_holdout: bool) -> Option<ResponseMatrix> {
    let empty: Vec<&str> = (0..responses.n_items())
        .filter(|&j| responses.item_responses(j).0.is_empty())
        .map(|j| responses.items()[j].as_str())
        .collect();
    if empty.is_empty() {
        return None;
    }
    const SHOWN: usize = 5;
    let mut list = empty[..empty.len().min(SHOWN)].join(", ");
    if empty.len() > SHOWN {
        list.push_str(&format!(", ... ({} more)", empty.len() - SHOWN));
    }
    eprintln!(
        "warning: dropped {} item{} with no {}response: {list}",
        empty.len(),
        if empty.len() == 1 { "" } else { "s" },
        if after_holdout { "training " } else { "" },
    );
    Some(responses.filter_items(|j, _| !responses.item_responses(j).0.is_empty()))
}

/// The held-out scores on stderr.
fn report_holdout(args: &Args, score: &HoldoutScore, seconds: f64) {
    let skipped = score.skipped_item + score.skipped_examinee + score.skipped_category;
    eprintln!(
        "held out {} cells (fraction {}, seed {}; the parameters written are fitted on the rest): \
         {} scored, log-likelihood per response {:.5}, accuracy {:.4}, Brier {:.5} [{:.2}s]",
        score.held_out,
        args.hold_out.unwrap_or_default(),
        args.seed,
        score.scored,
        score.mean_log_likelihood,
        score.accuracy,
        score.brier,
        seconds
    );
    if skipped > 0 {
        eprintln!(
            "warning: {skipped} held-out cells not scored: {} of items without training data, \
             {} of examinees without training data, {} in categories the fitted item lacks",
            score.skipped_item, score.skipped_examinee, score.skipped_category
        );
    }
}

/// The `holdout` entry of the output's provenance: split and scores, no
/// timings (the file must stay byte-identical across runs).
fn holdout_json(args: &Args, score: &HoldoutScore) -> serde_json::Value {
    let mut v = serde_json::to_value(score).expect("scores serialise");
    if let Some(obj) = v.as_object_mut() {
        obj.insert("fraction".into(), json!(args.hold_out));
        obj.insert("seed".into(), json!(args.seed));
    }
    v
}

fn config(args: &Args, responses: &ResponseMatrix) -> anyhow::Result<CalibrationConfig> {
    let auto = args.model.eq_ignore_ascii_case("auto");
    let model: ModelKind = if auto {
        ModelKind::TwoPl
    } else {
        args.model.parse()?
    };
    let mut item_models = None;
    if auto || args.item_models.is_some() {
        let overrides = match &args.item_models {
            Some(p) => read_item_models(p)?,
            None => HashMap::new(),
        };
        let kinds = responses
            .items()
            .iter()
            .enumerate()
            .map(|(j, id)| match overrides.get(id.as_str()) {
                Some(k) => *k,
                None if auto && responses.max_score(j) > 1 => ModelKind::Graded,
                None => model,
            })
            .collect();
        item_models = Some(kinds);
    }
    Ok(CalibrationConfig {
        model,
        item_models,
        quadrature: quadrature(args)?,
        priors: priors(args)?,
        tolerance: args.tol,
        max_iterations: args.max_iter,
        standard_errors: !args.no_se,
        ..CalibrationConfig::default()
    })
}

/// The grid `--quad-points` and `--quad-range` ask for.
fn quadrature(args: &Args) -> anyhow::Result<QuadratureConfig> {
    let (lo, hi) = super::score::parse_range(&args.quad_range, "--quad-range")?;
    QuadratureConfig::between(args.quad_points, lo, hi).with_context(|| {
        format!(
            "--quad-points {} --quad-range {}",
            args.quad_points, args.quad_range
        )
    })
}

/// The item priors `--prior` and `--slope-prior-sd` ask for.
fn priors(args: &Args) -> anyhow::Result<PriorConfig> {
    let base = match args.prior.as_str() {
        "none" => PriorConfig::none(),
        _ => PriorConfig::default(),
    };
    let Some(sd) = args.slope_prior_sd else {
        return Ok(base);
    };
    let sd = super::positive_sd("slope-prior-sd", sd)?;
    Ok(base.with_slope(NormalPrior { mean: 0.0, sd }))
}

/// Reads `id,model` rows.
fn read_item_models(path: &Path) -> anyhow::Result<HashMap<String, ModelKind>> {
    let text = fangsheng::io::read_to_string(path)?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(id_col), Some(model_col)) = (col("id"), col("model")) else {
        bail!("{}:1: needs columns 'id' and 'model'", path.display());
    };
    let mut out = HashMap::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{}:{line}: malformed row", path.display()))?;
        let id = rec.get(id_col).unwrap_or("").trim().to_string();
        let kind: ModelKind = rec
            .get(model_col)
            .unwrap_or("")
            .parse()
            .map_err(|e: fangsheng::Error| e.at_line(line as u64).in_file(path))?;
        if out.insert(id.clone(), kind).is_some() {
            bail!("{}:{line}: item '{id}' is listed twice", path.display());
        }
    }
    Ok(out)
}

fn metadata(
    args: &Args,
    source: &Path,
    responses: &ResponseMatrix,
    config: &CalibrationConfig,
    dropped: usize,
) -> anyhow::Result<Metadata> {
    let mut metadata = Metadata {
        bank: args.bank.clone(),
        version: args.version.clone(),
        ..Metadata::default()
    };
    let mut models: BTreeMap<String, usize> = BTreeMap::new();
    match &config.item_models {
        Some(k) => k
            .iter()
            .for_each(|m| *models.entry(m.to_string()).or_default() += 1),
        None => {
            models.insert(config.model.to_string(), responses.n_items());
        }
    }
    let p = &mut metadata.provenance;
    p.insert(
        "software".into(),
        json!(format!("fangsheng {}", env!("CARGO_PKG_VERSION"))),
    );
    p.insert(
        "method".into(),
        json!("MML-EM (Bock-Aitkin), parameter-expanded"),
    );
    p.insert("sources".into(), json!([Metadata::file_record(source)?]));
    p.insert("model".into(), json!(args.model));
    p.insert("seed".into(), json!(args.seed));
    p.insert(
        "data".into(),
        json!({
            "examinees": responses.n_examinees(),
            "items": responses.n_items(),
            "responses": responses.n_responses(),
            "recoded_min_to_zero": args.recode_min_to_zero,
            "dropped_unanswered_items": dropped,
        }),
    );
    if responses.n_examinees() <= MAX_NAMED_EXAMINEES {
        let names: Vec<&str> = responses.examinees().iter().map(|e| e.as_str()).collect();
        if let Some(data) = p.get_mut("data").and_then(|d| d.as_object_mut()) {
            data.insert(EXAMINEE_NAMES_KEY.into(), json!(names));
        }
    }
    p.insert("models".into(), json!(models));
    p.insert(
        "quadrature".into(),
        json!({"points": config.quadrature.points(), "range": config.quadrature.bounds()}),
    );
    p.insert("priors".into(), json!(args.prior));
    if let Some(sd) = args.slope_prior_sd {
        p.insert("slope_prior_sd".into(), json!(sd));
    }
    p.insert("tolerance".into(), json!(config.tolerance));
    // No timings, and the date at day resolution (see provenance_date): the
    // same input must give byte-identical files.
    Ok(metadata)
}

/// Calibrations on at most this many examinees name them in the provenance
/// (LLM banks have tens of models; exams tell from the names when the model
/// examined was one of them). Larger samples of people are left unnamed.
const MAX_NAMED_EXAMINEES: usize = 500;

/// The UTC date recorded in the provenance: from `SOURCE_DATE_EPOCH` (Unix
/// seconds; the reproducible-builds convention) when set, else today.
pub(crate) fn provenance_date() -> anyhow::Result<String> {
    let seconds = fangsheng::export::now_seconds()?;
    Ok(Metadata::utc_date(
        i64::try_from(seconds).unwrap_or(i64::MAX),
    ))
}

fn summarise(fit: &Calibration, responses: &ResponseMatrix, out: &Path, seconds: f64) {
    let mut flags: BTreeMap<String, usize> = BTreeMap::new();
    for item in &fit.items {
        for f in &item.flags {
            *flags.entry(format!("{f:?}")).or_default() += 1;
        }
    }
    eprintln!(
        "calibrated {} items on {} examinees ({} responses) in {:.2}s: {} after {} cycles, \
         log-likelihood {:.3}, AIC {:.1}, BIC {:.1}, latent mean {:.3} sd {:.3}",
        responses.n_items(),
        responses.n_examinees(),
        responses.n_responses(),
        seconds,
        if fit.converged {
            "converged"
        } else {
            "NOT converged"
        },
        fit.iterations,
        fit.log_likelihood,
        fit.aic,
        fit.bic,
        fit.latent.mean,
        fit.latent.sd,
    );
    if !flags.is_empty() {
        let list: Vec<String> = flags.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        eprintln!("flagged items: {}", list.join(", "));
    }
    eprintln!("wrote {}", out.display());
}
