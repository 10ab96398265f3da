//! `fangsheng diagnose`: bank health. `saturation` (does the bank still
//! measure the strongest models?) and `contamination` (items easier for a
//! cohort than ability explains, misfitting models, drift between versions).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, Subcommand};
use fangsheng::bank::ParamSet;
use fangsheng::data::ResponseMatrix;
use fangsheng::diagnose::inputs::{read_abilities, released_after};
use fangsheng::diagnose::{
    ContaminationConfig, ContaminationReport, DifMethod, ModelAbility, SaturationConfig,
};
use fangsheng::estimate::{Estimator, Method, score_matrix};
use fangsheng::model::Irf;
use fangsheng::{Error, Result};

use super::input::ResponseArgs;
use super::output::emit;

/// Flags of `fangsheng diagnose`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng diagnose saturation --params calibration/demo/v1.json --responses calibration/demo/runs.csv
  fangsheng diagnose contamination --params calibration/demo/v1.json \\
      --responses calibration/demo/runs.csv --cohort demo-frontier-a,demo-frontier-b,demo-reasoner

There is no drift subcommand: drift between two versions of a calibration is
reported by contamination --previous V1.json (with the DIF and person-fit
checks), or alone by bank diff V1.json V2.json."
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Test information at the frontier, items the top models always get
    /// right, the SE reachable there and how many new items would fix it.
    Saturation(Box<SaturationArgs>),
    /// Items easier for a cohort of models than their ability explains
    /// (DIF, FDR-controlled), misfitting models (l_z*), drift against a
    /// previous version.
    Contamination(Box<ContaminationArgs>),
}

/// Flags of `fangsheng diagnose saturation`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng diagnose saturation --params calibration/demo/v1.json --responses calibration/demo/runs.csv
  fangsheng score -p calibration/demo/v1.json -r calibration/demo/runs.csv --out abilities.csv
  fangsheng diagnose saturation --params calibration/demo/v1.json --abilities abilities.csv \\
      --top 5 --target-se 0.25 --json --out saturation.json

Abilities come from --abilities (a CSV with model and theta columns, as
score writes) or are EAP-scored from --responses; with both, the
abilities are used and the responses add the observed share of items the top
models all got right."
)]
struct SaturationArgs {
    /// Item parameter file (fangsheng-params/1 JSON, or CSV).
    #[arg(long, short = 'p', value_name = "FILE")]
    params: PathBuf,

    /// Abilities CSV: a model (or examinee) column and a theta column.
    /// [default: none, EAP scores of --responses]
    #[arg(
        long,
        short = 'a',
        value_name = "FILE",
        required_unless_present = "responses"
    )]
    abilities: Option<PathBuf>,

    #[command(flatten)]
    input: ResponseArgs,

    /// Standard error wanted at the frontier.
    #[arg(long, default_value_t = 0.3)]
    target_se: f64,

    /// Number of strongest models that make the frontier.
    #[arg(long, default_value_t = 3)]
    top: usize,

    /// Length of the adaptive exam whose reachable SE is reported.
    #[arg(long, default_value_t = 50)]
    exam_length: usize,

    /// P(correct) from which an item counts as always answered correctly.
    #[arg(long, default_value_t = 0.95)]
    easy_p: f64,

    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,

    /// Output file, written atomically. [default: standard output]
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Flags of `fangsheng diagnose contamination`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng diagnose contamination --params calibration/demo/v1.json \\
      --responses calibration/demo/runs.csv --cohort demo-frontier-a,demo-frontier-b,demo-reasoner
  fangsheng calibrate -r calibration/demo/runs.csv --model 2pl --out v1-2pl.json
  fangsheng calibrate -r calibration/demo/runs.csv --model 2pl --hold-out 0.2 --seed 2 --out v2-2pl.json
  fangsheng diagnose contamination --params v2-2pl.json --responses calibration/demo/runs.csv \\
      --cohort demo-frontier-a,demo-frontier-b --dif mh --previous v1-2pl.json \\
      --format csv --out flags.csv

The cohort is the models released after --after in --models-meta (a CSV with
model and release_date columns, YYYY-MM-DD), or the models listed by
--cohort. Items are tested one-sided (easier for the cohort) and flagged at a
Benjamini-Hochberg false discovery rate; models are flagged when Snijders'
l_z* is below --person-threshold. With --previous, items whose parameters
moved beyond --k combined standard errors since that version are listed
(drift; bank diff gives the same comparison alone)."
)]
struct ContaminationArgs {
    /// Item parameter file (fangsheng-params/1 JSON, or CSV).
    #[arg(long, short = 'p', value_name = "FILE")]
    params: PathBuf,

    #[command(flatten)]
    input: ResponseArgs,

    /// Models metadata CSV with model and release_date columns. [default:
    /// none, give --cohort]
    #[arg(
        long,
        value_name = "FILE",
        requires = "after",
        conflicts_with = "cohort"
    )]
    models_meta: Option<PathBuf>,

    /// Cohort = models released strictly after this date (YYYY-MM-DD).
    /// [default: none]
    #[arg(long, value_name = "DATE", requires = "models_meta")]
    after: Option<String>,

    /// Cohort as a list of models (comma-separated or repeated). [default:
    /// none, give --models-meta and --after]
    #[arg(long, value_name = "MODELS", value_delimiter = ',')]
    cohort: Vec<String>,

    /// DIF test: lr (likelihood ratio of a cohort difficulty shift) or mh
    /// (Mantel-Haenszel with ability strata).
    #[arg(long, default_value = "lr")]
    dif: String,

    /// Mantel-Haenszel strata. [default: min(cohort, rest) / 5, within 2..5]
    #[arg(long, value_name = "K")]
    strata: Option<usize>,

    /// False discovery rate of the item flags.
    #[arg(long, default_value_t = 0.05)]
    fdr: f64,

    /// Purification rounds (re-estimate abilities without flagged items).
    #[arg(long, default_value_t = 1)]
    purify: usize,

    /// Flag models whose l_z* is below this (one-sided; -2.326 is alpha 0.01).
    #[arg(long, default_value_t = -2.326, allow_negative_numbers = true)]
    person_threshold: f64,

    /// Previous parameter file: list items that drifted since. [default:
    /// none, no drift check]
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,

    /// Drift threshold in combined standard errors.
    #[arg(long, default_value_t = 2.0)]
    k: f64,

    /// Output format: text, csv or json.
    #[arg(long, default_value = "text", value_parser = ["text", "csv", "json"])]
    format: String,

    /// Shorthand for --format json.
    #[arg(long)]
    json: bool,

    /// Output file, written atomically. [default: standard output]
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Saturation(a) => saturation(*a),
        Command::Contamination(a) => contamination(*a),
    }
}

fn load_params(path: &Path) -> anyhow::Result<ParamSet> {
    let loaded = ParamSet::load(path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded.params)
}

fn write_text(w: &mut dyn Write, text: &str) -> Result<()> {
    w.write_all(text.as_bytes())
        .map_err(|e| Error::io("<output>", e))
}

fn saturation(args: SaturationArgs) -> anyhow::Result<()> {
    let config = SaturationConfig {
        target_se: args.target_se,
        top: args.top,
        exam_length: args.exam_length,
        easy_p: args.easy_p,
        ..SaturationConfig::default()
    };
    let params = load_params(&args.params)?;
    let responses = match &args.input.responses {
        Some(_) => Some(args.input.read()?),
        None => None,
    };
    let abilities = match (&args.abilities, &responses) {
        (Some(path), _) => read_abilities(path)?,
        (None, Some(m)) => eap_abilities(&params, m, args.input.responses.as_deref())?,
        (None, None) => bail!("give --abilities FILE or --responses FILE"),
    };
    let report = fangsheng::diagnose::saturation(&params, &abilities, responses.as_ref(), &config)?;
    let text = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&report)?)
    } else {
        report.to_string()
    };
    emit(args.out.as_deref(), |w| write_text(w, &text))?;
    Ok(())
}

/// EAP abilities (N(0, 1) prior) of every examinee of `m`.
fn eap_abilities(
    params: &ParamSet,
    m: &ResponseMatrix,
    source: Option<&Path>,
) -> anyhow::Result<Vec<ModelAbility>> {
    let columns = params.align(m).map_err(|e| match source {
        Some(p) => e.in_file(p),
        None => e,
    })?;
    let irfs: Vec<&Irf> = columns.iter().map(|&c| &params.items()[c].irf).collect();
    let scored = score_matrix(&Estimator::new(Method::Eap), m, &irfs);
    eprintln!(
        "scored {} models by EAP from their responses",
        m.n_examinees()
    );
    Ok(m.examinees()
        .iter()
        .zip(scored)
        .map(|(id, a)| ModelAbility {
            model: id.to_string(),
            theta: a.theta,
        })
        .collect())
}

fn contamination(args: ContaminationArgs) -> anyhow::Result<()> {
    let method: DifMethod = args.dif.parse()?;
    let config = ContaminationConfig {
        method,
        fdr: args.fdr,
        strata: args.strata,
        purify: args.purify,
        person_threshold: args.person_threshold,
        ..ContaminationConfig::default()
    };
    let params = load_params(&args.params)?;
    let responses = args.input.read()?;
    let cohort: Vec<String> = match (&args.models_meta, &args.after) {
        (Some(meta), Some(after)) => released_after(meta, after)?,
        _ if !args.cohort.is_empty() => args
            .cohort
            .iter()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect(),
        _ => bail!("give the cohort: --models-meta FILE --after DATE, or --cohort MODEL,..."),
    };
    let focal: Vec<bool> = responses
        .examinees()
        .iter()
        .map(|e| cohort.iter().any(|c| c == e.as_str()))
        .collect();
    if args.models_meta.is_none() {
        let unknown: Vec<&str> = cohort
            .iter()
            .filter(|c| {
                !responses
                    .examinees()
                    .iter()
                    .any(|e| e.as_str() == c.as_str())
            })
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            bail!(
                "--cohort names models not in {}: {}",
                args.input
                    .responses
                    .as_deref()
                    .unwrap_or(Path::new("the responses"))
                    .display(),
                unknown.join(", ")
            );
        }
    }
    let mut report = fangsheng::diagnose::contamination(&params, &responses, &focal, &config)
        .map_err(|e| match &args.input.responses {
            Some(p) if e.path().is_none() && e.item().is_some() => e.in_file(p),
            _ => e,
        })?;
    if let Some(prev) = &args.previous {
        let old = load_params(prev)?;
        report.drift = Some(fangsheng::diagnose::compare(&old, &params, args.k)?);
    }
    let format = if args.json {
        "json"
    } else {
        args.format.as_str()
    };
    let text = match format {
        "json" => format!("{}\n", serde_json::to_string_pretty(&report)?),
        "csv" => contamination_csv(&report).context("formatting CSV")?,
        _ => report.to_string(),
    };
    emit(args.out.as_deref(), |w| write_text(w, &text))?;
    eprintln!(
        "{} of {} items and {} of {} models flagged",
        report.flagged_items().len(),
        report.items.len(),
        report.flagged_persons().len(),
        report.persons.len()
    );
    Ok(())
}

/// One row per test: `check,id,effect,statistic,p_value,q_value,flagged`,
/// `check` being `item_dif`, `person_fit` or `drift`.
fn contamination_csv(report: &ContaminationReport) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "check",
        "id",
        "effect",
        "statistic",
        "p_value",
        "q_value",
        "flagged",
    ])?;
    let num = |x: f64| fangsheng::io::csv_float(x, 6);
    for i in &report.items {
        w.write_record([
            "item_dif",
            &i.item,
            &num(i.test.effect),
            &num(i.test.z),
            &num(i.test.p_value),
            &num(i.q_value),
            &i.flagged.to_string(),
        ])?;
    }
    for p in &report.persons {
        w.write_record([
            "person_fit",
            &p.model,
            &num(p.theta),
            &num(p.lz_star.unwrap_or(f64::NAN)),
            &num(p.p_value),
            "",
            &p.flagged.to_string(),
        ])?;
    }
    if let Some(d) = &report.drift {
        for i in &d.items {
            let worst = i
                .shifts
                .iter()
                .max_by(|x, y| x.z.abs().total_cmp(&y.z.abs()));
            w.write_record([
                "drift",
                &i.id,
                &worst.map_or(String::new(), |s| num(s.new - s.old)),
                &worst.map_or(String::new(), |s| num(s.z)),
                "",
                "",
                &i.drifted.to_string(),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
