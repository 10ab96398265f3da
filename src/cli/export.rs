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
  abilities  one row per examinee: theta, se, interval, predicted score, n_items, stop reason, bank, calibration, seed
  scores     one row per examinee and category/dimension: predicted score and interval (long form)
  items      one row per calibrated item: parameters and SEs, category/dimension (--bank), exposure and fit (exam files)
  steps      one row per exam step: item, score, theta, se, latency, tokens

Examples:
  fangsheng export abilities --from results/*.json --out abilities.csv
  fangsheng export abilities --from sim.csv --format json --out abilities.json
  fangsheng export items --from calibration/demo/v1.json results/*.journal.jsonl --bank item-banks/demo --out items.parquet
  fangsheng export steps --from results/llama.journal.jsonl steps.csv --out steps.csv"
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
    #[arg(long, value_name = "DIR")]
    bank: Option<PathBuf>,

    /// Output format: csv, json or parquet (default: from the --out
    /// extension, else csv). Parquet needs a build with --features polars.
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,

    /// Output file (default: standard output, CSV and JSON only). Written
    /// atomically.
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
