//! The sidecar of a `fangsheng simulate` output: `<out>.meta.json`, beside
//! the exams file, recording what the fixed CSV schema has no room for —
//! the run's seed, the calibration it used, its plan, and when it ran.
//!
//! ```text
//! {"format":"fangsheng-simulate-meta/1","seed":7,"params":"calibration/demo/v1.json",
//!  "bank":"demo","calibration_version":"v1","calibration_digest":"3f..",
//!  "plan":{..},"started":"2026-11-28T15:04:05Z","finished":"2026-11-28T15:04:09Z",
//!  "out_digest":"9a.."}
//! ```
//!
//! `out_digest` is the SHA-256 of the exams file as written: an export
//! reading the sidecar ([`SimulateMeta::read_beside`]) uses it only when the
//! exams file still has those bytes, so a sidecar left over from an earlier
//! run is never taken for the current file's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::clock::utc_now;
use crate::bank::ParamSet;
use crate::cat::Plan;
use crate::error::{Error, ErrorKind, Result};
use crate::io::sha256_hex;

/// The `format` value of the sidecars this version writes.
pub const SIMULATE_META_FORMAT: &str = "fangsheng-simulate-meta/1";

/// What a `simulate` run records beside its exams file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulateMeta {
    /// [`SIMULATE_META_FORMAT`].
    pub format: String,
    /// The run's seed (`--seed`).
    pub seed: u64,
    /// The parameter file, as given (`--params`).
    pub params: String,
    /// Its `metadata.bank`.
    pub bank: Option<String>,
    /// Its `metadata.version`.
    pub calibration_version: Option<String>,
    /// SHA-256 of its bytes.
    pub calibration_digest: String,
    /// The plan the exams ran (flags applied), as JSON.
    pub plan: serde_json::Value,
    /// When the run began, UTC, RFC 3339 ([`utc_now`]).
    pub started: Option<String>,
    /// When the exams file was written, UTC, RFC 3339.
    pub finished: Option<String>,
    /// SHA-256 of the exams file's bytes (set by [`SimulateMeta::write_beside`]).
    pub out_digest: Option<String>,
    /// The score link the `predicted_score` column went through
    /// (`simulate --score-link`): the file, as given, and its line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_link: Option<(String, crate::cat::ScoreLink)>,
    /// Whether the replayed runs are the ones the calibration was fitted on
    /// (an in-sample replay: its errors are not a new model's).
    #[serde(default)]
    pub in_sample: bool,
}

/// The sidecar path of an exams file: its name with `.meta.json` appended
/// (`exams.csv` -> `exams.csv.meta.json`).
pub fn meta_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".meta.json");
    PathBuf::from(name)
}

impl SimulateMeta {
    /// The record of a run with `seed`, the calibration `params` read from
    /// `params_path`, and `plan`, which started at `started` (take it with
    /// [`utc_now`] before the exams run).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the parameter file cannot be read again for
    /// its digest.
    pub fn new(
        seed: u64,
        params_path: &Path,
        params: &ParamSet,
        plan: &Plan,
        started: String,
    ) -> Result<Self> {
        let bytes = std::fs::read(params_path).map_err(|e| Error::io(params_path, e))?;
        let meta = params.metadata();
        Ok(SimulateMeta {
            format: SIMULATE_META_FORMAT.to_owned(),
            seed,
            params: params_path.display().to_string(),
            bank: meta.bank.clone(),
            calibration_version: meta.version.clone(),
            calibration_digest: sha256_hex(&bytes),
            plan: serde_json::to_value(plan).unwrap_or_default(),
            started: Some(started),
            finished: None,
            out_digest: None,
            score_link: None,
            in_sample: false,
        })
    }

    /// Writes the sidecar of the exams file `out` (already written)
    /// atomically at [`meta_path`]`(out)`, recording `out`'s digest and, when
    /// not set, now as `finished`.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when `out` cannot be read or the sidecar written;
    /// a malformed `SOURCE_DATE_EPOCH` ([`utc_now`]).
    pub fn write_beside(mut self, out: &Path) -> Result<()> {
        let bytes = std::fs::read(out).map_err(|e| Error::io(out, e))?;
        self.out_digest = Some(sha256_hex(&bytes));
        if self.finished.is_none() {
            self.finished = Some(utc_now()?);
        }
        crate::io::write_json_atomic(&meta_path(out), &self, "sidecar")
    }

    /// The sidecar of the exams file `out`, when there is one that belongs
    /// to it: `Ok(None)` without a sidecar; `Err` with the reason when the
    /// sidecar is unreadable or records another file's digest (the caller
    /// warns and goes on without it).
    ///
    /// # Errors
    /// [`ErrorKind::Format`] naming the sidecar when it is not a
    /// [`SIMULATE_META_FORMAT`] record or was written for other bytes than
    /// `out`'s; [`ErrorKind::Io`] when a file cannot be read.
    pub fn read_beside(out: &Path) -> Result<Option<SimulateMeta>> {
        let path = meta_path(out);
        if !path.is_file() {
            return Ok(None);
        }
        let text = crate::io::read_to_string(&path)?;
        let meta: SimulateMeta = serde_json::from_str(&text).map_err(|e| {
            Error::format(format!("not a {SIMULATE_META_FORMAT} sidecar: {e}"))
                .at_line(e.line() as u64)
                .in_file(&path)
        })?;
        if meta.format != SIMULATE_META_FORMAT {
            return Err(Error::format(format!(
                "sidecar format '{}' is not {SIMULATE_META_FORMAT}",
                meta.format
            ))
            .in_file(&path));
        }
        let bytes = std::fs::read(out).map_err(|e| Error::io(out, e))?;
        if meta.out_digest.as_deref() != Some(sha256_hex(&bytes).as_str()) {
            return Err(Error::new(
                ErrorKind::Format,
                format!(
                    "written for other contents than {} (a sidecar of an earlier run?)",
                    out.display()
                ),
            )
            .in_file(&path));
        }
        Ok(Some(meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> (PathBuf, ParamSet) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration/demo/v1.json");
        let params = ParamSet::load(&path).unwrap().params;
        (path, params)
    }

    #[test]
    fn sidecar_round_trips_and_records_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("exams.csv");
        std::fs::write(&out, "examinee,theta\nm,0.5\n").unwrap();
        let (path, params) = demo();
        let plan = Plan {
            max_items: 17,
            ..Plan::default()
        };
        let meta =
            SimulateMeta::new(9, &path, &params, &plan, "2026-11-28T10:00:00Z".into()).unwrap();
        meta.clone().write_beside(&out).unwrap();
        assert!(meta_path(&out).ends_with("exams.csv.meta.json"));
        let back = SimulateMeta::read_beside(&out).unwrap().unwrap();
        assert_eq!(back.seed, 9);
        assert_eq!(back.bank.as_deref(), Some("demo"));
        assert_eq!(back.calibration_version.as_deref(), Some("v1"));
        assert_eq!(
            back.calibration_digest,
            sha256_hex(&std::fs::read(&path).unwrap())
        );
        assert_eq!(back.plan["max_items"], 17);
        assert_eq!(back.started.as_deref(), Some("2026-11-28T10:00:00Z"));
        let finished = back.finished.clone().unwrap();
        assert_eq!(finished.len(), 20, "{finished}");
        assert!(finished.ends_with('Z'));
        // Everything but the digest of the exams file is what was given.
        assert_eq!(
            SimulateMeta {
                out_digest: None,
                finished: None,
                ..back
            },
            meta
        );
    }

    #[test]
    fn missing_stale_and_foreign_sidecars_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("exams.csv");
        std::fs::write(&out, "a\n").unwrap();
        assert!(SimulateMeta::read_beside(&out).unwrap().is_none());

        let (path, params) = demo();
        let meta = SimulateMeta::new(1, &path, &params, &Plan::default(), "x".into()).unwrap();
        meta.write_beside(&out).unwrap();
        // The exams file rewritten by a run that wrote no sidecar.
        std::fs::write(&out, "b\n").unwrap();
        let e = SimulateMeta::read_beside(&out).unwrap_err();
        assert!(e.to_string().contains("earlier run"), "{e}");
        assert!(e.to_string().contains("exams.csv.meta.json"), "{e}");

        std::fs::write(meta_path(&out), "{\"format\": \"other/1\"}").unwrap();
        let e = SimulateMeta::read_beside(&out).unwrap_err();
        assert!(e.to_string().contains("fangsheng-simulate-meta/1"), "{e}");
    }
}
