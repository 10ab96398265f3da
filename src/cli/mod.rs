//! Command-line front end. Each subcommand has its own module that turns raw
//! flags into library configuration before any work starts.

mod bank;
mod calibrate;
mod calibrate_new;
mod diagnose;
mod error_model;
mod exam;
mod export;
mod input;
mod leave_one_out;
mod link;
mod output;
mod plan_flags;
mod progress;
mod report;
mod score;
mod simulate;

use clap::{Parser, Subcommand};

/// Adaptive dynamic testing of large language models with item response theory.
#[derive(Debug, Parser)]
#[command(name = "fangsheng", version, about, long_about = None)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng score --demo
  fangsheng exam --demo
  fangsheng score --params calibration/demo/v1.json --responses calibration/demo/runs.csv \\
      --method wle --out abilities.csv
  fangsheng calibrate --responses calibration/demo/runs.csv --model 2pl --out demo-2pl.json
  fangsheng exam --bank item-banks/demo --params calibration/demo/v1.json --backend simulated \\
      --theta 0.5 --out result.json
  fangsheng bank info --bank item-banks/demo --params calibration/demo/v1.json
  fangsheng evaluate --responses calibration/demo/runs.csv --lengths 20 --seeds 5 --out loo.csv
  fangsheng export abilities --from result.json --out result-abilities.csv
  fangsheng report --from result.json,result.journal.jsonl --params calibration/demo/v1.json \\
      --out report.html

Every command's --help has more examples."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Estimate abilities of examinees from their responses and known item parameters.
    Score(score::Args),
    /// Calibrate item parameters from past responses (marginal maximum likelihood).
    Calibrate(calibrate::Args),
    /// Run an adaptive exam of a model through a backend (journalled, resumable).
    Exam(exam::Args),
    /// Import, check and summarise item banks (items.jsonl and their calibration).
    Bank(bank::Args),
    /// Run adaptive exams on recorded runs (replay) or simulated examinees.
    Simulate(Box<simulate::Args>),
    /// Measure how well short exams predict models outside the calibration (leave one model out).
    Evaluate(Box<leave_one_out::Args>),
    /// Place two separate calibrations on one scale (Stocking-Lord or mean-sigma).
    Link(link::Args),
    /// Calibrate new (pretest) items from exam journals, abilities held fixed.
    CalibrateNew(calibrate_new::Args),
    /// Diagnose an item bank: saturation at the frontier, contamination (with drift against a previous version).
    Diagnose(diagnose::Args),
    /// Export abilities, items or exam steps as CSV, JSON or Parquet.
    Export(export::Args),
    /// Write a self-contained HTML report with plots.
    Report(report::Args),
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Score(args) => score::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Exam(args) => exam::run(args),
        Command::Bank(args) => bank::run(args),
        Command::Simulate(args) => simulate::run(*args),
        Command::Evaluate(args) => leave_one_out::run(*args),
        Command::Link(args) => link::run(args),
        Command::CalibrateNew(args) => calibrate_new::run(args),
        Command::Diagnose(args) => diagnose::run(args),
        Command::Export(args) => export::run(args),
        Command::Report(args) => report::run(args),
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
