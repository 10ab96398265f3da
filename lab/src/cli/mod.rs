//! The `fangsheng-lab` command line: the experiments' flags, turned into
//! a [`LabConfig`](fangsheng_lab::loo::LabConfig) before any work starts.

// The lab reads responses, plans and progress the way the engine's commands
// do, from the same source files; not every helper of those files is used
// here.
#[allow(dead_code)]
#[path = "../../../src/cli/input.rs"]
mod input;
#[allow(dead_code)]
#[path = "../../../src/cli/output.rs"]
pub(crate) mod output;
#[allow(dead_code)]
#[path = "../../../src/cli/plan_flags.rs"]
mod plan_flags;
#[allow(dead_code)]
#[path = "../../../src/cli/progress.rs"]
pub(crate) mod progress;

mod loo;
mod report;
mod tags;

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

use input::ResponseArgs;

/// Research harness of fangsheng: leave-one-model-out experiments on real runs.
#[derive(Debug, Parser)]
#[command(name = "fangsheng-lab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Leave-one-model-out experiment: plan variants, inner choice and links, rescoring, slope priors, two-part and group scores.
    Loo(Box<Args>),
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Loo(args) => loo::run(&args),
    }
}

/// `sd` when it is a positive finite number (a prior's standard
/// deviation), else an error naming `--{flag}`.
fn positive_sd(flag: &str, sd: f64) -> anyhow::Result<f64> {
    if !(sd.is_finite() && sd > 0.0) {
        anyhow::bail!("--{flag} must be a positive number, got {sd}");
    }
    Ok(sd)
}

/// Flags of `fangsheng-lab loo`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  fangsheng-lab loo --responses calibration/demo/runs.csv --tags item-banks/demo/items.jsonl --lengths 20 --seeds 5 \\
      --variants content=category,select=kl --out loo.csv
  fangsheng-lab loo --responses calibration/demo/runs.csv --tags item-banks/demo/items.jsonl --lengths 20 --seeds 2 \\
      --balance category --inner-choice refit --inner-link --cache loo-cache --out loo.csv")]
pub struct Args {
    #[command(flatten)]
    input: ResponseArgs,

    /// First seed: seed s of the run is seed + s.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Plan file (TOML, or JSON by extension); the flags below override it.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,

    #[command(flatten)]
    plan_flags: plan_flags::PlanFlags,

    /// Predicted bank score: blend (observed answers on administered items,
    /// the model's expectation on the rest) or model (expectation on every item).
    #[arg(long, default_value = "blend")]
    score: String,

    /// Item tags: CSV with columns id,category(,dimension), or JSON lines
    /// (gzip allowed), e.g. MMLU-Pro's items.jsonl.gz.
    #[arg(long, value_name = "FILE")]
    tags: Option<PathBuf>,

    /// Field (JSON lines) or column (CSV) of the item id in --tags.
    #[arg(long, default_value = "id")]
    id_field: String,

    /// Field or column of the category in --tags.
    #[arg(long, default_value = "category")]
    tag_field: String,

    /// Field or column of the dimension in --tags (read when present).
    #[arg(long, default_value = "dimension")]
    dimension_field: String,

    /// Output file of the rows (default: standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,

    /// Write the whole report as JSON instead of the CSV rows.
    #[arg(long)]
    json: bool,

    /// Exam lengths.
    #[arg(
        long,
        value_name = "K,K,...",
        default_value = "25,50,100",
        value_delimiter = ','
    )]
    lengths: Vec<usize>,

    /// Number of seeds (seed, seed+1, ...).
    #[arg(long, default_value_t = 20)]
    seeds: usize,

    /// Calibration models to compare.
    #[arg(
        long,
        value_name = "M,M,...",
        default_value = "2pl",
        value_delimiter = ','
    )]
    models: Vec<String>,

    /// Plan variants beside the plan, comma separated, each
    /// `key=value` changes joined by `+` (e.g. `select=kl,exposure=randomesque:5`).
    #[arg(long, value_name = "SPEC,...", value_delimiter = ',')]
    variants: Vec<String>,

    /// Hold out only N examinees, evenly spaced in file order.
    #[arg(long, value_name = "N")]
    hold_out: Option<usize>,

    /// Priors on item parameters, default or none.
    #[arg(long, default_value = "default", value_parser = ["default", "none"])]
    prior: String,

    /// Pick in each fold the base plan or one of --variants
    /// by how well their exams predict the fold's calibration models
    /// (picks and each plan's inner MAE printed). `in-sample` (the default
    /// of a bare --inner-choice; row `adaptive inner-choice`): on the fold's
    /// bank, which they calibrated. `refit` (row `adaptive
    /// inner-choice-refit`): each calibration model examined on a bank
    /// calibrated without it and the held-out model (21 more calibrations
    /// per fold, cached with --cache). Both: `in-sample,refit`.
    #[arg(
        long,
        value_name = "MODE,...",
        num_args = 0..=1,
        default_missing_value = "in-sample",
        value_delimiter = ',',
        value_parser = ["in-sample", "refit"]
    )]
    inner_choice: Vec<String>,

    /// Add, for the base plan and each variant, a row whose
    /// predictions are mapped by a score link (observed = a + b x
    /// predicted, least squares) fitted on the fold's calibration models,
    /// each examined on a bank calibrated without it and the held-out
    /// model (the refit inner exams of --inner-choice refit, cached with
    /// --cache); the row `adaptive inner-choice-refit linked`, the plan
    /// whose linked inner predictions are best (cross-validated) per fold;
    /// and `random-irt linked`, the random-item baseline linked the same way.
    #[arg(long)]
    inner_link: bool,

    /// Add, for the base plan and each variant, a row whose
    /// exams (chosen as usual) are scored with a second calibration of each
    /// fold with slope prior ln a ~ N(0, SD): one calibration selects, the
    /// other predicts (`<plan> rescored`).
    #[arg(long, value_name = "SD")]
    rescore_slope_prior_sd: Option<f64>,

    /// Slope priors ln a ~ N(0, SD) to compare, comma
    /// separated; `default` is the model's own (the default).
    #[arg(long, value_name = "SD,...", value_delimiter = ',')]
    slope_prior_sd: Vec<String>,

    /// Also write every prediction
    /// (calibration,method,items,seed,model,predicted_score,predicted_lo,predicted_hi,observed_score) as CSV.
    #[arg(long, value_name = "FILE")]
    details: Option<PathBuf>,

    /// Also predict each exam's score (adaptive rows and the
    /// random-item baselines) on every value of these tags (comma
    /// separated, e.g. category), against the held-out
    /// examinee's observed score on those items; the summary gives each
    /// group's error and interval coverage, as predicted and through a
    /// per-group line cross-validated over the held-out examinees.
    #[arg(long, value_name = "TAG,...", value_delimiter = ',')]
    group_scores: Vec<String>,

    /// With --group-scores: write the per-group summary
    /// (calibration,method,items,tag,value,cells,mean_asked,mae,coverage,
    /// width,linked_mae,linked_coverage,linked_width) as CSV.
    #[arg(long, value_name = "FILE", requires = "group_scores")]
    group_out: Option<PathBuf>,

    /// With --group-scores: write every per-group prediction
    /// as CSV.
    #[arg(long, value_name = "FILE", requires = "group_scores")]
    group_details: Option<PathBuf>,

    /// Fit a score link (observed = a + b x predicted, least
    /// squares over the held-out models' exams, pooled over seeds; a seed-free
    /// plan's repeated exams counted once) for each
    /// length of the plan (with --balance TAG: the content-balanced plan)
    /// and save it here, for `--score-link` of `fangsheng simulate` and `fangsheng exam`. With
    /// --group-scores, each length also gets one line per value of each of
    /// those tags, fitted on the same exams' group scores, which `exam`
    /// applies to its per-category and per-dimension scores. Needs one
    /// calibration model and slope prior.
    #[arg(long, value_name = "FILE")]
    write_score_link: Option<PathBuf>,

    /// Read "no answer extracted" from this column of the
    /// long-layout --responses file (an empty field, or a missing token,
    /// means the harness extracted no answer; MMLU-Pro's runs call it
    /// `pred`) and score every exam with the two-part model: a 2PL of
    /// correctness calibrated on the answered responses and one of the
    /// no-answer indicators, each with its own ability. An asked item
    /// without an answer counts toward the length. The observed score
    /// still counts no answer as wrong.
    #[arg(
        long,
        value_name = "COLUMN",
        conflicts_with_all = ["group_scores", "write_score_link", "rescore_slope_prior_sd"]
    )]
    no_answer_col: Option<String>,

    /// Also write the items of every exam behind the rows
    /// (calibration,method,items,seed,model,position,item,score; score
    /// empty where the run records no answer) as CSV, one row per item
    /// asked.
    #[arg(long, value_name = "FILE")]
    asked: Option<PathBuf>,

    /// Save each fold's calibration in this folder and reuse it.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,

    /// No progress line.
    #[arg(long, short = 'q')]
    quiet: bool,
}
