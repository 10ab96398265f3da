//! `fangsheng export`: tidy tables of abilities, predicted scores, items or
//! exam steps, as CSV, JSON or Parquet (schemas in `fangsheng::export`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use fangsheng::bank::ItemBank;
use fangsheng::export::{Format, Source, TableKind, export, read_source, write_csv, write_json};

use super::output::emit;

/// Flags of `fangsheng export`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Tables (columns documented in the fangsheng::export docs):
  abilities  one row per model: theta, se, interval, predicted_score, observed_score, n_items, stop reason, bank, calibration, seed
  scores     one row per model and category/dimension: predicted_score and interval (long form)
  items      one row per calibrated item: parameters and SEs, category/dimension (--bank), exposure and fit (exam files)
  steps      one row per exam step: item, score, theta, se, latency, tokens

Examples (from the repository root; outputs go to the current folder):
  fangsheng exam --bank item-banks/demo --params calibration/demo/v1.json --backend simulated \\
      --theta 0.5 --out result.json
  fangsheng simulate --params calibration/demo/v1.json --responses calibration/demo/runs.csv \\
      --trace trace.csv --out sim.csv --quiet
  fangsheng export abilities --from result.json sim.csv --out abilities.csv
  fangsheng export scores --from result.json --format json --out scores.json
  fangsheng export items --from calibration/demo/v1.json result.journal.jsonl --bank item-banks/demo \\
      --out items.csv
  fangsheng export steps --from result.journal.jsonl,trace.csv --out steps.csv

Every table has the same columns in the same order whatever the inputs (a
column an input does not fill is empty). A build with --features polars also
writes Parquet (--out items.parquet)."
)]
pub struct Args {
    /// Which table: abilities, scores, items or steps.
    #[arg(value_parser = ["abilities", "scores", "items", "steps"])]
    table: String,

    /// Input files: exam results and journals, simulate exams and traces,
    /// parameter files, abilities CSVs (each recognised by its content);
    /// separated by spaces or commas, or the flag repeated.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 1..,
        value_delimiter = ',',
        required = true
    )]
    from: Vec<PathBuf>,

    /// Item bank folder (items.jsonl): categories and dimensions of items.
    /// [default: none, those columns empty]
    #[arg(long, value_name = "DIR")]
    bank: Option<PathBuf>,

    /// Output format: csv, json or parquet. Parquet needs a build with
    /// --features polars. [default: from the --out extension, else csv]
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,

    /// Output file, written atomically. [default: standard output, CSV and
    /// JSON only]
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let kind: TableKind = args.table.parse()?;
    let format = match (&args.format, &args.out) {
        (Some(f), _) => f.parse::<Format>()?,
        (None, Some(out)) => Format::from_path(out).unwrap_or(Format::Csv),
        (None, None) => Format::Csv,
    };
    if !format.is_available() {
        bail!(
            "--format parquet: this fangsheng was built without Parquet support; rebuild with --features polars"
        );
    }
    let sources: Vec<Source> = args
        .from
        .iter()
        .map(|p| read_source(p))
        .collect::<fangsheng::Result<_>>()?;
    for w in sources.iter().flat_map(|s| &s.warnings) {
        eprintln!("warning: {w}");
    }
    let bank = args
        .bank
        .as_deref()
        .map(ItemBank::load)
        .transpose()
        .context("--bank")?;
    let table = export(kind, &sources, bank.as_ref())?;
    match (&args.out, format) {
        (Some(out), f) => fangsheng::export::write_table(&table, out, f)?,
        (None, Format::Csv) => emit(None, |w| write_csv(&table, w))?,
        (None, Format::Json) => emit(None, |w| write_json(&table, w))?,
        (None, Format::Parquet) => bail!("--format parquet needs --out FILE"),
    }
    eprintln!(
        "exported {} {kind} rows x {} columns from {} files{}",
        table.n_rows(),
        table.n_columns(),
        sources.len(),
        args.out
            .as_ref()
            .map(|p| format!(" to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}
