//! Writing results: to a file atomically, or to standard output.

use std::io::Write;
use std::path::Path;

use fangsheng::estimate::Status;
use fangsheng::io::csv_float;
use fangsheng::{Error, Result};
use serde::Serialize;

/// Writes what `write` produces to `path` atomically (no partial file on
/// error), or to standard output when `path` is `None`.
pub fn emit(path: Option<&Path>, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    match path {
        Some(p) => fangsheng::io::write_atomic(p, write),
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            write(&mut lock)?;
            lock.flush().map_err(|e| Error::io("<stdout>", e))
        }
    }
}

/// One model's ability, as `score` and `calibrate --abilities` write it.
#[derive(Debug, Serialize)]
pub struct AbilityRow<'a> {
    pub model: &'a str,
    pub theta: f64,
    pub se: f64,
    pub n_items: usize,
    /// How the estimate ended (JSON only); absent for calibration by-products.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// Writes `model,theta,se,n_items` CSV (a non-finite number as an empty
/// cell), or a JSON array of rows (`null` for it).
pub fn write_abilities(w: &mut dyn Write, rows: &[AbilityRow], json: bool) -> Result<()> {
    let io = |e: std::io::Error| Error::io("<output>", e);
    if json {
        serde_json::to_writer_pretty(&mut *w, rows)
            .map_err(|e| Error::format(format!("writing JSON: {e}")))?;
        return writeln!(w).map_err(io);
    }
    let csv_err = |e: csv::Error| Error::format(format!("writing CSV: {e}"));
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["model", "theta", "se", "n_items"])
        .map_err(csv_err)?;
    for r in rows {
        out.write_record([
            r.model,
            &csv_float(r.theta, 6),
            &csv_float(r.se, 6),
            &r.n_items.to_string(),
        ])
        .map_err(csv_err)?;
    }
    out.flush().map_err(io)
}
