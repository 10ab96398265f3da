//! `fangsheng evaluate`: how well a bank's short adaptive exams predict
//! models outside its calibration, by leaving each calibration model out
//! in turn, beside the random-item baselines; and the score link that
//! those exams fit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use fangsheng::bank::{ItemBank, Metadata, ParamSet};
use fangsheng::calibrate::CalibrationConfig;
use fangsheng::cat::{DEFAULT_BALANCE_TAG, ErrorModel, NO_BALANCE, Plan, Tags, default_balance};
use fangsheng::io::check_writable;
use fangsheng::loo::{
    ADAPTIVE, LooConfig, LooReport, describe_links, group_markdown, leave_one_out, link_file,
    markdown, run_line, write_details, write_group_rows, write_rows,
};
use fangsheng::model::ModelKind;

use super::input::ResponseArgs;
use super::output::emit;
use super::progress::ProgressLine;

/// Flags of `fangsheng evaluate`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  fangsheng evaluate --responses calibration/demo/runs.csv --bank item-banks/demo --balance category --lengths 10,20 --seeds 3 --out loo.csv
  fangsheng evaluate --responses calibration/demo/runs.csv --bank item-banks/demo --lengths 20 --seeds 5 --group-out groups.csv --write-score-link demo-link.json
  fangsheng exam --demo --max-items 20 --score-link demo-link.json

Rows: adaptive (the plan's exams), random-accuracy (plain accuracy of k random recorded items,
Wilson interval), random-irt (the same items scored with the calibration), irt-full-run (the
whole run scored: the floor any exam can reach). Errors are in accuracy points.")]
pub struct Args {
    #[command(flatten)]
    input: ResponseArgs,

    /// The item bank (folder with items.jsonl) whose categories and
    /// dimensions tag the items: needed by --balance; with it, every exam's
    /// per-category and per-dimension scores are evaluated too.
    #[arg(long, value_name = "DIR")]
    bank: Option<PathBuf>,

    /// Plan file (TOML, or JSON by extension) of the exams [default: the
    /// default plan]; its max_items is replaced by each length.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,

    /// Balance content over the values of this tag (category or
    /// dimension), each fold's bank shares as targets (needs --bank);
    /// `none` turns it off. [default: category, when the bank's items have
    /// two categories or more and the plan has no [content]]
    #[arg(long, value_name = "TAG", requires = "bank")]
    balance: Option<String>,

    /// IRT model of the calibrations: rasch, 1pl, 2pl, 3pl, 4pl or grm.
    #[arg(long, default_value = "2pl")]
    model: String,

    /// Exam lengths, comma separated.
    #[arg(
        long,
        value_name = "K,K,...",
        default_value = "25,50,100",
        value_delimiter = ','
    )]
    lengths: Vec<usize>,

    /// Number of seeds (seed, seed+1, ...) each exam is run with.
    #[arg(long, default_value_t = 20)]
    seeds: usize,

    /// First seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Examine only N of the models, evenly spaced in file order
    /// [default: every model].
    #[arg(long, value_name = "N")]
    folds: Option<usize>,

    /// Save each fold's calibration in this folder and reuse it.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,

    /// Output file of the rows (default: standard output), CSV:
    /// calibration,method,items,mae,mae_sd,persistent,spread,coverage,width,
    /// max_error,worst,spearman,mean_length,max_exposure,mean_overlap,seconds.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,

    /// Write the whole report as JSON instead of the CSV rows.
    #[arg(long)]
    json: bool,

    /// Also write every prediction (calibration,method,items,seed,model,
    /// predicted_score,predicted_lo,predicted_hi,observed_score) as CSV.
    #[arg(long, value_name = "FILE")]
    details: Option<PathBuf>,

    /// With --bank: also write the per-category and per-dimension summary
    /// (calibration,method,items,tag,value,cells,mean_asked,mae,coverage,
    /// width,linked_mae,linked_coverage,linked_width) as CSV.
    #[arg(long, value_name = "FILE", requires = "bank")]
    group_out: Option<PathBuf>,

    /// Fit a score link on the adaptive exams (observed = a + b x
    /// predicted, least squares over the held-out models, pooled over
    /// seeds) at each length, with one line per category and dimension when
    /// --bank is given, and save it here for --score-link of `exam` and
    /// `simulate`.
    #[arg(long, value_name = "FILE")]
    write_score_link: Option<PathBuf>,

    /// The bank's calibration on every model of --responses (from
    /// `fangsheng calibrate`): fit the score links as --write-score-link
    /// does and save them beside it as its error model, `<name>.link.json`
    /// with the calibration's digest, which `exam` and `simulate` then use
    /// by default.
    #[arg(long, value_name = "PARAMS", conflicts_with = "write_score_link")]
    error_model: Option<PathBuf>,

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
    // A leave-one-out run takes minutes: an output it cannot write must
    // fail now, not when the run is over.
    let outputs = [
        &args.out,
        &args.details,
        &args.group_out,
        &args.write_score_link,
        &args.error_model.as_deref().map(ErrorModel::path_beside),
    ];
    for path in outputs.into_iter().flatten() {
        check_writable(path)?;
    }
    let model: ModelKind = args.model.parse()?;
    let plan = match &args.plan {
        Some(p) => Plan::load(p)?,
        None => Plan::default(),
    };
    let mut plan = plan;
    match args.balance.as_deref() {
        Some(NO_BALANCE) => plan.content = None,
        Some(_) if plan.content.is_some() => {
            bail!("--balance and the plan's [content] both balance content: give one")
        }
        _ => {}
    }
    plan.validate().map_err(|e| match &args.plan {
        Some(p) if e.path().is_none() => e.in_file(p),
        _ => e,
    })?;
    let tags: HashMap<_, Tags> = match &args.bank {
        Some(dir) => Tags::of_bank(&ItemBank::load(dir)?),
        None => HashMap::new(),
    };
    let group_tags: Vec<String> = ["category", "dimension"]
        .into_iter()
        .filter(|t| tags.values().any(|x| x.get(t).is_some()))
        .map(str::to_owned)
        .collect();
    let balance = match args.balance.as_deref() {
        Some(NO_BALANCE) => None,
        Some(tag) => Some(tag.to_owned()),
        None if plan.content.is_none() => {
            default_balance(tags.values().map(|t| t.get(DEFAULT_BALANCE_TAG))).map(str::to_owned)
        }
        None => None,
    };
    let responses = args.input.read()?;
    let n = responses.n_examinees();
    let held_out = args.folds.map(|h| {
        let h = h.clamp(1, n);
        (0..h).map(|i| i * n / h).collect()
    });
    let config = LooConfig {
        lengths: args.lengths.clone(),
        seeds: args.seeds,
        seed: args.seed,
        plan,
        balance,
        tags,
        held_out,
        cache: args.cache.clone(),
        group_tags,
        ..LooConfig::new(CalibrationConfig {
            model,
            ..CalibrationConfig::default()
        })
    };
    let mut progress = ProgressLine::new(args.quiet);
    let report = leave_one_out(&responses, &config, &mut |msg| progress.update(|| msg)).map_err(
        |e| match e.path() {
            None => e.in_file(&source),
            Some(_) => e,
        },
    )?;
    progress.finish();
    let seconds = progress.elapsed().as_secs_f64();
    emit(args.out.as_deref(), |w| write_rows(w, &report, args.json))?;
    if let Some(path) = &args.details {
        emit(Some(path), |w| write_details(w, &report))?;
    }
    if let Some(path) = &args.group_out {
        emit(Some(path), |w| write_group_rows(w, &report))?;
    }
    eprintln!(
        "{}",
        run_line(&report, &source, args.seeds, args.seed, seconds)
    );
    eprint!("{}", markdown(&report));
    eprint!("{}", group_markdown(&report));
    if let Some(path) = &args.write_score_link {
        write_score_link(path, None, &report, &config, &source)?;
    }
    if let Some(params) = &args.error_model {
        let path = ErrorModel::path_beside(params);
        write_score_link(&path, Some(params), &report, &config, &source)?;
    }
    Ok(())
}

/// Fits and saves the score link of the adaptive exams at each length.
fn write_score_link(
    path: &Path,
    calibration: Option<&Path>,
    report: &LooReport,
    config: &LooConfig,
    source: &Path,
) -> anyhow::Result<()> {
    let described = format!(
        "leave-one-out exams of {} models of {} ({}, {} seeds from {})",
        report.held_out.len(),
        source.display(),
        config.calibration.model,
        config.seeds,
        config.seed
    );
    let mut file = link_file(report, ADAPTIVE, &config.lengths, described)?;
    if let Some(params) = calibration {
        file.calibration = Some(calibration_record(params, source)?);
    }
    file.save(path)?;
    eprint!("{}", describe_links(&file.links));
    eprintln!("score link written to {}", path.display());
    Ok(())
}

/// The record of the calibration an error model belongs to: its file's
/// path and digest. A calibration whose recorded sources do not include
/// the responses the links were fitted on gets a warning: its error model
/// would describe exams of another calibration.
fn calibration_record(params: &Path, responses: &Path) -> anyhow::Result<serde_json::Value> {
    let record = Metadata::file_record(params)?;
    if !ParamSet::load(params)?
        .params
        .metadata()
        .records_source(responses)?
    {
        eprintln!(
            "warning: {} was not calibrated on {} (no source of it has that file's digest): its error model describes exams of calibrations on {}",
            params.display(),
            responses.display(),
            responses.display()
        );
    }
    Ok(record)
}
