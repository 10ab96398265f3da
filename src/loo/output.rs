//! A leave-one-out report as Markdown tables (for a terminal), CSV and
//! JSON. Missing numbers (a method without intervals, say) are empty CSV
//! cells.

use std::io::Write;
use std::path::Path;

use super::{BANK_TAG, LooGroupRow, LooReport, POOLED};
use crate::error::{Error, Result};
use crate::io::{csv_float, write_csv_rows};

/// The line that says what a run did: its data, folds, seeds and times.
pub fn run_line(
    report: &LooReport,
    source: &Path,
    seeds: usize,
    seed: u64,
    seconds: f64,
) -> String {
    let calibrations: Vec<String> = report
        .calibration_seconds
        .iter()
        .map(|(m, s)| format!("{m} {s:.1}s"))
        .collect();
    format!(
        "leave-one-out on {} ({} models held out, {} items, {seeds} seeds from {seed}) in {seconds:.1}s; calibration {}",
        source.display(),
        report.held_out.len(),
        report.n_items,
        calibrations.join(", ")
    )
}

/// The rows as a Markdown table, errors in accuracy points (x100).
pub fn markdown(report: &LooReport) -> String {
    let mut s = String::from(
        "| calibration | method | k | MAE | MAE sd | persistent | spread | max err | worst | Spearman | coverage | width | max exposure | overlap | seconds |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &report.rows {
        s.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |\n",
            r.calibration,
            r.method,
            r.items,
            100.0 * r.mae,
            100.0 * r.mae_sd,
            100.0 * r.persistent,
            100.0 * r.spread,
            100.0 * r.max_error,
            100.0 * r.worst,
            r.spearman,
            r.coverage,
            100.0 * r.width,
            r.max_exposure,
            r.mean_overlap,
            r.seconds
        ));
    }
    s
}

/// The rows as CSV (`calibration,method,items,mae,...`), or the whole
/// report as JSON.
///
/// # Errors
/// A failed write.
pub fn write_rows(w: &mut dyn Write, report: &LooReport, json: bool) -> Result<()> {
    let io = |e: std::io::Error| Error::io("<output>", e);
    if json {
        serde_json::to_writer_pretty(&mut *w, report)
            .map_err(|e| Error::format(format!("writing JSON: {e}")))?;
        return writeln!(w).map_err(io);
    }
    write_csv_rows(
        w,
        "<output>",
        &[
            "calibration",
            "method",
            "items",
            "mae",
            "mae_sd",
            "persistent",
            "spread",
            "max_error",
            "worst",
            "spearman",
            "coverage",
            "width",
            "mean_length",
            "max_exposure",
            "mean_overlap",
            "seconds",
        ],
        report.rows.iter().map(|r| {
            vec![
                r.calibration.clone(),
                r.method.clone(),
                r.items.to_string(),
                csv_float(r.mae, 6),
                csv_float(r.mae_sd, 6),
                csv_float(r.persistent, 6),
                csv_float(r.spread, 6),
                csv_float(r.max_error, 6),
                csv_float(r.worst, 6),
                csv_float(r.spearman, 6),
                csv_float(r.coverage, 6),
                csv_float(r.width, 6),
                csv_float(r.mean_length, 3),
                csv_float(r.max_exposure, 6),
                csv_float(r.mean_overlap, 6),
                csv_float(r.seconds, 3),
            ]
        }),
    )
}

/// Every prediction behind the rows as CSV.
///
/// # Errors
/// A failed write.
pub fn write_details(w: &mut dyn Write, report: &LooReport) -> Result<()> {
    write_csv_rows(
        w,
        "<details>",
        &[
            "calibration",
            "method",
            "items",
            "seed",
            "model",
            "predicted_score",
            "predicted_lo",
            "predicted_hi",
            "observed_score",
        ],
        report.details.iter().map(|d| {
            vec![
                d.calibration.clone(),
                d.method.clone(),
                d.items.to_string(),
                d.seed.to_string(),
                d.examinee.clone(),
                csv_float(d.predicted, 6),
                csv_float(d.predicted_lo, 6),
                csv_float(d.predicted_hi, 6),
                csv_float(d.observed, 6),
            ]
        }),
    )
}

/// The pooled per-group rows and the bank-score check, errors in accuracy
/// points (x100); empty without group scores.
pub fn group_markdown(report: &LooReport) -> String {
    let pooled: Vec<&LooGroupRow> = report
        .group_rows
        .iter()
        .filter(|r| r.value == POOLED || r.tag == BANK_TAG)
        .collect();
    if pooled.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "per-group scores (cross-validated line: fitted on the other held-out models)\n| calibration | method | k | tag | cells | MAE | coverage | width | linked MAE | linked coverage | linked width |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in pooled {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            r.calibration,
            r.method,
            r.items,
            r.tag,
            r.cells,
            100.0 * r.mae,
            r.coverage,
            100.0 * r.width,
            100.0 * r.linked_mae,
            r.linked_coverage,
            100.0 * r.linked_width
        ));
    }
    s
}

/// The per-group summary as CSV.
///
/// # Errors
/// A failed write.
pub fn write_group_rows(w: &mut dyn Write, report: &LooReport) -> Result<()> {
    write_csv_rows(
        w,
        "<group summary>",
        &[
            "calibration",
            "method",
            "items",
            "tag",
            "value",
            "cells",
            "mean_asked",
            "mae",
            "coverage",
            "width",
            "linked_mae",
            "linked_coverage",
            "linked_width",
        ],
        report.group_rows.iter().map(|r| {
            vec![
                r.calibration.clone(),
                r.method.clone(),
                r.items.to_string(),
                r.tag.clone(),
                r.value.clone(),
                r.cells.to_string(),
                csv_float(r.mean_asked, 3),
                csv_float(r.mae, 6),
                csv_float(r.coverage, 6),
                csv_float(r.width, 6),
                csv_float(r.linked_mae, 6),
                csv_float(r.linked_coverage, 6),
                csv_float(r.linked_width, 6),
            ]
        }),
    )
}

/// Every per-group prediction as CSV.
///
/// # Errors
/// A failed write.
pub fn write_group_details(w: &mut dyn Write, report: &LooReport) -> Result<()> {
    write_csv_rows(
        w,
        "<group details>",
        &[
            "calibration",
            "method",
            "items",
            "seed",
            "model",
            "tag",
            "value",
            "asked",
            "predicted_score",
            "predicted_lo",
            "predicted_hi",
            "observed_score",
        ],
        report.group_details.iter().map(|d| {
            vec![
                d.calibration.clone(),
                d.method.clone(),
                d.items.to_string(),
                d.seed.to_string(),
                d.examinee.clone(),
                d.tag.clone(),
                d.value.clone(),
                d.asked.to_string(),
                csv_float(d.predicted, 6),
                csv_float(d.predicted_lo, 6),
                csv_float(d.predicted_hi, 6),
                csv_float(d.observed, 6),
            ]
        }),
    )
}
