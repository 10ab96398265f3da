//! The leave-one-out report as a Markdown table, CSV and JSON.

use std::io::Write;

use fangsheng::cat::{BANK_TAG, LooGroupRow, LooReport, POOLED};
use fangsheng::{Error, Result};

use crate::cli::output::write_csv_rows;

/// The table in Markdown, errors in accuracy points (x100).
pub(super) fn markdown(report: &LooReport) -> String {
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

pub(super) fn write_loo(w: &mut dyn Write, report: &LooReport, json: bool) -> Result<()> {
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
                format!("{:.6}", r.mae),
                format!("{:.6}", r.mae_sd),
                format!("{:.6}", r.persistent),
                format!("{:.6}", r.spread),
                format!("{:.6}", r.max_error),
                format!("{:.6}", r.worst),
                format!("{:.6}", r.spearman),
                format!("{:.6}", r.coverage),
                format!("{:.6}", r.width),
                format!("{:.3}", r.mean_length),
                format!("{:.6}", r.max_exposure),
                format!("{:.6}", r.mean_overlap),
                format!("{:.3}", r.seconds),
            ]
        }),
    )
}

pub(super) fn write_details(w: &mut dyn Write, report: &LooReport) -> Result<()> {
    write_csv_rows(
        w,
        "<details>",
        &[
            "calibration",
            "method",
            "items",
            "seed",
            "examinee",
            "predicted",
            "observed",
            "predicted_lo",
            "predicted_hi",
        ],
        report.details.iter().map(|d| {
            vec![
                d.calibration.clone(),
                d.method.clone(),
                d.items.to_string(),
                d.seed.to_string(),
                d.examinee.clone(),
                format!("{:.6}", d.predicted),
                format!("{:.6}", d.observed),
                format!("{:.6}", d.predicted_lo),
                format!("{:.6}", d.predicted_hi),
            ]
        }),
    )
}

/// The pooled per-group rows and the bank-score check, errors in accuracy
/// points (x100); empty without group scores.
pub(super) fn group_markdown(report: &LooReport) -> String {
    let pooled: Vec<&LooGroupRow> = report
        .group_rows
        .iter()
        .filter(|r| r.value == POOLED || r.tag == BANK_TAG)
        .collect();
    if pooled.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "per-group scores (cross-validated line: fitted on the other held-out examinees)\n| calibration | method | k | tag | cells | MAE | coverage | width | linked MAE | linked coverage | linked width |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
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

pub(super) fn write_group_rows(w: &mut dyn Write, report: &LooReport) -> Result<()> {
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
                format!("{:.3}", r.mean_asked),
                format!("{:.6}", r.mae),
                format!("{:.6}", r.coverage),
                format!("{:.6}", r.width),
                format!("{:.6}", r.linked_mae),
                format!("{:.6}", r.linked_coverage),
                format!("{:.6}", r.linked_width),
            ]
        }),
    )
}

pub(super) fn write_group_details(w: &mut dyn Write, report: &LooReport) -> Result<()> {
    write_csv_rows(
        w,
        "<group details>",
        &[
            "calibration",
            "method",
            "items",
            "seed",
            "examinee",
            "tag",
            "value",
            "asked",
            "predicted",
            "observed",
            "predicted_lo",
            "predicted_hi",
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
                format!("{:.6}", d.predicted),
                format!("{:.6}", d.observed),
                format!("{:.6}", d.predicted_lo),
                format!("{:.6}", d.predicted_hi),
            ]
        }),
    )
}

/// Every item of every exam behind the rows, one CSV row per item asked.
pub(super) fn write_asked(w: &mut dyn Write, report: &LooReport) -> Result<()> {
    write_csv_rows(
        w,
        "<asked>",
        &[
            "calibration",
            "method",
            "items",
            "seed",
            "examinee",
            "position",
            "item",
            "score",
        ],
        report.asked.iter().flat_map(|a| {
            a.asked.iter().enumerate().map(move |(i, (item, score))| {
                vec![
                    a.calibration.clone(),
                    a.method.clone(),
                    a.items.to_string(),
                    a.seed.to_string(),
                    a.examinee.clone(),
                    (i + 1).to_string(),
                    item.to_string(),
                    score.map(|x| x.to_string()).unwrap_or_default(),
                ]
            })
        }),
    )
}
