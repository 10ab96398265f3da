//! Tidy exports of abilities, items and exam steps for analysts.
//!
//! An export reads the files other commands write — exam results and
//! journals (`fangsheng exam`), exams (with their [`SimulateMeta`]
//! sidecars) and step traces (`fangsheng simulate`), parameter files (`fangsheng calibrate`, [`crate::bank`]) and
//! abilities tables (`calibrate --abilities`) — recognising each by its
//! content ([`read_source`]; a file of none of these kinds is an error
//! naming it), and builds one [`Table`]: named columns of typed, nullable
//! values. [`write_table`] writes it as CSV or JSON, or as Parquet with the
//! `polars` feature; [`read_table`] reads any of them back to an equal
//! table.
//!
//! ```no_run
//! use std::path::Path;
//! use fangsheng::export::{export, read_source, write_table, Format, TableKind};
//!
//! let sources = vec![read_source(Path::new("results/llama.json"))?];
//! let table = export(TableKind::Abilities, &sources, None)?;
//! write_table(&table, Path::new("abilities.csv"), Format::Csv)?;
//! # Ok::<(), fangsheng::Error>(())
//! ```
//!
//! # Formats
//! * **CSV**: a header of column names, one line per row, null as an empty
//!   field (empty text is stored as null), floats in Rust's shortest
//!   round-trip form (`0.5`, `1.0`, `1e-7`).
//! * **JSON**: an array of row objects, keys in column order, `null` for
//!   null (`polars.read_json` reads it directly).
//! * **Parquet** (feature `polars`): one column per table column: `str` as
//!   String, `int` as Int64, `float` as Float64, all nullable.
//!
//! Non-finite numbers (an infinite standard error) are stored as null, so
//! every format holds the same table. Types below: `str`, `int` (64-bit),
//! `float` (64-bit).
//!
//! Every table has the same columns in the same order whatever the sources
//! and flags. [`read_table`] also reads tables written before two columns
//! were renamed: `predicted` (now `predicted_score`, in abilities and
//! scores) and `observed` (now `observed_score`, in abilities).
//!
//! # Simulate sidecars
//! The `simulate` exams CSV has a fixed schema with no room for the run's
//! seed and calibration, so `simulate --out FILE` also writes
//! `FILE.meta.json` ([`SimulateMeta`]: seed, parameter file with its bank,
//! version and digest, plan, started and finished times, and the digest of
//! FILE). An export of FILE reads the sidecar when it is there and was
//! written for FILE's current bytes; otherwise it warns and leaves those
//! columns null.
//!
//! # Tables
//! Abilities, scores and steps end with `file`, the source file a row came
//! from; items have the fixed columns below, then the graded thresholds.
//!
//! ## abilities — one row per examinee and source
//! | column | type | meaning |
//! |---|---|---|
//! | `model` | str | who was examined: the file name of a result or journal without `.json` / `.journal.jsonl` (campaigns name them after the model), or the `model` column of simulate and abilities files (`examinee` in files written before) |
//! | `source` | str | `exam` (result), `journal`, `simulate`, `calibrate` (abilities CSV) |
//! | `backend` | str | who answered (exam results and journals) |
//! | `theta` | float | ability estimate (journals: after the last step) |
//! | `se` | float | its standard error (null when infinite) |
//! | `lo`, `hi` | float | interval of theta: the result's own, else `theta -/+ 1.96 se` |
//! | `level` | float | the interval's level (0.95 where computed here) |
//! | `predicted_score` | float | predicted proportion of the whole bank's maximum score |
//! | `predicted_lo`, `predicted_hi` | float | its interval |
//! | `score_link` | str | the score link the predicted score went through, `a + b x` (`exam` / `simulate --score-link`: results, and simulate files with a sidecar); null when none |
//! | `observed_score` | float | simulate: the observed (replay) or true expected (simulation) bank score |
//! | `true_theta` | float | simulate with `--thetas`: the simulated examinee's ability |
//! | `n_items` | int | items answered |
//! | `skipped` | int | items asked and skipped (no recorded answer) |
//! | `correct` | int | answers graded correct (results and journals) |
//! | `stop_reason` | str | why the exam stopped (results, simulate) |
//! | `bank`, `bank_digest` | str | item bank name and content digest (results, journals; simulate with a sidecar: the calibration's `metadata.bank`, no digest) |
//! | `calibration_version`, `calibration_digest` | str | the parameter file's `metadata.version` and SHA-256 (results, journals, simulate with a sidecar) |
//! | `seed` | int | the session's seed (results, journals; simulate: the run's seed, from the JSON output or the sidecar) |
//! | `prompt_tokens`, `completion_tokens` | int | tokens used in all |
//! | `latency_seconds` | float | sum of the successful requests' latencies |
//! | `timestamp` | str | when the source was made, UTC, RFC 3339: an exam result's `finished`; a journal's last step `time` (its header's `started` before any timed step); a simulate exams file's sidecar `finished`. Files that record no time — results and journals written before exams recorded times, simulate files without a sidecar, abilities CSVs — give their modification time |
//! | `file` | str | the source file |
//!
//! ## scores — one row per examinee and item group (the long companion of abilities)
//! Predicted scores per category and dimension vary in number from bank to
//! bank, so they are rows, not columns: filter `scope` to pick a level.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `model` | str | examinee, as in abilities |
//! | `scope` | str | `bank` (the whole bank), `category` or `dimension` |
//! | `group` | str | the category or dimension value (null for `bank`) |
//! | `n_items` | int | items in the group (null for `bank`) |
//! | `predicted_score`, `predicted_lo`, `predicted_hi` | float | predicted proportion and interval |
//! | `score_link` | str | the line the row's score went through, `a + b x` (an exam result's score link for `bank`, its group line for a group); null when none |
//! | `level` | float | the interval's level |
//! | `file` | str | the source file |
//!
//! ## items — one row per item of each parameter file
//! | column | type | meaning |
//! |---|---|---|
//! | `id` | str | item id |
//! | `bank`, `calibration_version` | str | the parameter file's `metadata.bank` and `metadata.version` |
//! | `category`, `dimension` | str | from the bank's `items.jsonl` (`--bank`) |
//! | `irt_model` | str | `rasch`, `1pl`, `2pl`, `3pl`, `4pl` or `grm` |
//! | `n_categories` | int | score categories (2 for dichotomous items) |
//! | `a`, `b`, `g`, `u` | float | slope, difficulty, lower and upper asymptote (graded: `a` only) |
//! | `se_a`, `se_b`, `se_g`, `se_u` | float | their standard errors (null when unknown) |
//! | `exposure_count` | int | exams among the `--from` exam files that asked the item (null without any) |
//! | `exposure_rate` | float | `exposure_count` / number of exams |
//! | `n_responses` | int | scored answers to the item in those exams |
//! | `mean_score` | float | their mean, as a proportion of the item's maximum score |
//! | `infit`, `outfit` | float | mean squares at each exam's final theta (see [`items`]) |
//! | `s_x2`, `s_x2_df`, `s_x2_p` | float, int, float | calibration's S-X2 summed-score fit statistic, its degrees of freedom and p-value, from the parameter file's `metadata.provenance.item_fit` (null when calibration did not compute it: see [`crate::calibrate::SumScoreFit`]) |
//! | `flags` | str | `;`-separated: `extreme_difficulty`, `high_slope`, `low_slope`, `high_guessing`, `low_upper`, `never_administered`, `misfit` (mean squares outside 0.7..1.3, or S-X2 significant after a Benjamini-Hochberg correction) |
//! | `b1` .. `bK` | float | thresholds of graded items (present when the file has graded items) |
//! | `se_b1` .. `se_bK` | float | their standard errors |
//!
//! ## steps — one row per exam step
//! | column | type | meaning |
//! |---|---|---|
//! | `model` | str | examinee, as in abilities |
//! | `source` | str | `journal` or `trace` (simulate `--trace`) |
//! | `step` | int | 1-based position in the exam (skipped items included) |
//! | `item` | str | the item asked |
//! | `score` | int | the score recorded (null when skipped) |
//! | `outcome` | str | `correct`, `wrong` or `unparseable` (journals) |
//! | `skipped` | str | why the item was skipped (journals) |
//! | `theta`, `se` | float | ability estimate after the step and its standard error |
//! | `latency`, `elapsed` | float | seconds of the successful request, and from first attempt to reply |
//! | `prompt_tokens`, `completion_tokens` | int | tokens used, when reported |
//! | `attempts` | int | attempts made |
//! | `file` | str | the source file |

mod abilities;
mod clock;
mod csv_table;
mod items;
mod json_table;
mod meta;
#[cfg(feature = "polars")]
mod parquet_table;
mod schema;
mod sources;
mod steps;
mod table;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub use abilities::{DEFAULT_LEVEL, abilities, scores};
pub use clock::{now_seconds, rfc3339, utc_now};
pub use csv_table::{read_csv, write_csv};
pub use items::items;
pub use json_table::{read_json, write_json};
pub use meta::{SIMULATE_META_FORMAT, SimulateMeta, meta_path};
#[cfg(feature = "polars")]
pub use parquet_table::{read_data_frame, read_parquet, to_data_frame, write_parquet};
pub use schema::{ABILITIES, ITEMS, SCORES, STEPS, TableKind};
pub use sources::{AbilityRow, Content, SimulatedExam, Source, SourceKind, TraceStep, read_source};
pub use steps::steps;
pub use table::{Column, ColumnType, Table, Value};

use crate::bank::ItemBank;
use crate::error::{Error, ErrorKind, Result};

/// A table file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array of row objects.
    Json,
    /// Apache Parquet (feature `polars`).
    Parquet,
}

impl Format {
    /// The format a file name's extension names (`.csv`, `.json`,
    /// `.parquet`/`.pq`), if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// True when this build can write and read the format (Parquet needs
    /// the `polars` feature).
    pub fn is_available(self) -> bool {
        self != Format::Parquet || cfg!(feature = "polars")
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Parquet => "parquet",
        })
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Parses `csv`, `json` or `parquet` (any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "parquet" => Ok(Format::Parquet),
            _ => Err(Error::config(format!(
                "unknown format '{s}' (expected csv, json or parquet)"
            ))),
        }
    }
}

/// The error for Parquet in a build without polars.
#[cfg_attr(feature = "polars", allow(dead_code))]
fn no_parquet(path: &Path) -> Error {
    Error::new(
        ErrorKind::Config,
        "Parquet needs the polars feature: rebuild with --features polars (cargo build --features polars)",
    )
    .in_file(path)
}

/// Builds the table `kind` from `sources`; `bank` adds items' categories and
/// dimensions.
///
/// # Errors
/// Those of [`abilities`], [`scores`], [`items`] and [`steps`]: a source
/// with nothing for the table is named.
pub fn export(kind: TableKind, sources: &[Source], bank: Option<&ItemBank>) -> Result<Table> {
    match kind {
        TableKind::Abilities => abilities(sources),
        TableKind::Scores => scores(sources),
        TableKind::Items => items(sources, bank),
        TableKind::Steps => steps(sources),
    }
}

/// Writes `table` to `path` in `format`, atomically (no partial file).
///
/// # Errors
/// [`ErrorKind::Io`] when writing fails; [`ErrorKind::Config`] for Parquet
/// without the `polars` feature.
pub fn write_table(table: &Table, path: &Path, format: Format) -> Result<()> {
    match format {
        Format::Csv => crate::io::write_atomic(path, |w| write_csv(table, w)),
        Format::Json => crate::io::write_atomic(path, |w| write_json(table, w)),
        #[cfg(feature = "polars")]
        Format::Parquet => write_parquet(table, path),
        #[cfg(not(feature = "polars"))]
        Format::Parquet => Err(no_parquet(path)),
    }
}

/// Reads a table of kind `kind` written by [`write_table`] (or by hand, with
/// the kind's columns), gzip allowed for CSV and JSON.
///
/// # Errors
/// [`ErrorKind::Io`] when unreadable; [`ErrorKind::Format`] /
/// [`ErrorKind::Value`] naming the file (and line) for columns or values
/// that do not fit the kind; [`ErrorKind::Config`] for Parquet without the
/// `polars` feature.
pub fn read_table(path: &Path, kind: TableKind, format: Format) -> Result<Table> {
    match format {
        Format::Csv => read_csv(crate::io::open_read(path)?, path, kind),
        Format::Json => read_json(&crate::io::read_to_string(path)?, path, kind),
        #[cfg(feature = "polars")]
        Format::Parquet => read_parquet(path, kind),
        #[cfg(not(feature = "polars"))]
        Format::Parquet => Err(no_parquet(path)),
    }
}
