//! The exam journal: append-only JSON Lines, one header record and then one
//! record per step, each synced to disk before the exam goes on.
//!
//! ```text
//! {"record":"header","format":"fangsheng-journal/1","bank":"demo",...}
//! {"record":"step","step":1,"item_id":"q07","prompt_hash":"..","output":"..",...}
//! ```
//!
//! A process killed while writing leaves at most one torn line at the end
//! (no trailing newline); reading ignores it with a warning and
//! [`Journal::resume`] cuts it off before appending.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bank::Variant;
use crate::error::{Error, ErrorKind, Result};
use crate::grade::Outcome;
use crate::respond::TokenUsage;

/// The `format` value of the journals this version writes.
pub const JOURNAL_FORMAT: &str = "fangsheng-journal/1";

/// What an exam is bound to: a resumed exam must match it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`JOURNAL_FORMAT`].
    pub format: String,
    /// Name of the item bank.
    pub bank: String,
    /// Digest of the bank's content ([`crate::bank::ItemBank::digest`]).
    pub bank_digest: String,
    /// The calibration's `metadata.version`.
    pub params_version: Option<String>,
    /// SHA-256 of the parameter file's bytes.
    pub params_digest: String,
    /// The exam plan, as JSON.
    pub plan: Value,
    /// The prompt settings, as JSON.
    pub prompt: Value,
    /// Seed of the session's random choices.
    pub seed: u64,
    /// Who answers ([`crate::respond::Backend::describe`]; never a key).
    pub backend: String,
}

/// One asked item: answered and graded, or skipped (no recorded answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based position in the exam, skipped items included.
    pub step: usize,
    /// The item asked.
    pub item_id: String,
    /// Hash of the rendered prompt ([`crate::prompt::Prompt::hash`]).
    pub prompt_hash: String,
    /// The model's raw output (`None` when skipped).
    pub output: Option<String>,
    /// The answer extracted from the output.
    pub extracted: Option<String>,
    /// The score recorded (`None` when skipped).
    pub score: Option<u8>,
    /// Correct, wrong or unparseable (`None` when skipped).
    pub outcome: Option<Outcome>,
    /// Why the item was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Ability estimate after the step.
    pub theta: f64,
    /// Its standard error (`null` when infinite).
    pub se: Option<f64>,
    /// Seconds of the request that succeeded.
    pub latency: f64,
    /// Seconds from the first attempt to the reply.
    pub elapsed: f64,
    /// Tokens used, when reported.
    pub usage: Option<TokenUsage>,
    /// Attempts made.
    pub attempts: u32,
    /// A pretest item: asked for online calibration, not scored (absent,
    /// i.e. false, in journals written before pretest seeding).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pretest: bool,
    /// For a template item, the variant asked: its slot values and the key
    /// they give (a resumed exam rebuilds the same variant from them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    Header(Header),
    Step(Step),
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

/// What [`Journal::read`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Contents {
    /// The header.
    pub header: Header,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Bytes up to the end of the last whole line.
    pub good_len: u64,
    /// Set when a torn last line was ignored.
    pub warning: Option<String>,
}

impl Contents {
    /// The template variants the journal's steps asked: `(item id, variant)`.
    pub fn variants(&self) -> impl Iterator<Item = (&str, &Variant)> {
        self.steps
            .iter()
            .filter_map(|s| s.variant.as_ref().map(|v| (s.item_id.as_str(), v)))
    }
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot {what} the journal: {e}")).in_file(path)
}

impl Journal {
    /// Creates a new journal at `path` and writes its header. An existing
    /// file is not overwritten: it may hold an interrupted exam.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file exists or cannot be written.
    pub fn create(path: &Path, header: &Header) -> Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::new(
                        ErrorKind::Io,
                        "the journal already exists: continue it with --resume, or remove it",
                    )
                    .in_file(path)
                } else {
                    io_error(path, "create", e)
                }
            })?;
        let mut journal = Journal {
            file,
            path: path.to_owned(),
        };
        journal.write(&Record::Header(header.clone()))?;
        Ok(journal)
    }

    /// Reads a journal: its header and steps. A last line without its
    /// newline (a write cut short) is ignored with a warning.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when unreadable; [`ErrorKind::Format`] naming the
    /// line when a whole line is not a record, or the header is missing.
    pub fn read(path: &Path) -> Result<Contents> {
        let bytes = std::fs::read(path).map_err(|e| io_error(path, "read", e))?;
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let warning = (whole < bytes.len()).then(|| {
            format!(
                "{}: ignoring a torn last line ({} bytes, a write cut short)",
                path.display(),
                bytes.len() - whole
            )
        });
        let text = std::str::from_utf8(&bytes[..whole])
            .map_err(|_| Error::format("the journal is not UTF-8").in_file(path))?;
        let mut header = None;
        let mut steps = Vec::new();
        for (i, line) in (1u64..).zip(text.lines()) {
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = serde_json::from_str(line).map_err(|e| {
                Error::format(format!("not a journal record: {e}"))
                    .at_line(i)
                    .in_file(path)
            })?;
            match (record, &header) {
                (Record::Header(h), None) => header = Some(h),
                (Record::Step(s), Some(_)) => steps.push(s),
                (Record::Header(_), Some(_)) => {
                    return Err(Error::format("a second header record")
                        .at_line(i)
                        .in_file(path));
                }
                (Record::Step(_), None) => {
                    return Err(Error::format("a step before the header record")
                        .at_line(i)
                        .in_file(path));
                }
            }
        }
        let header =
            header.ok_or_else(|| Error::format("the journal has no header").in_file(path))?;
        if header.format != JOURNAL_FORMAT {
            return Err(Error::format(format!(
                "journal format '{}' is not {JOURNAL_FORMAT}",
                header.format
            ))
            .in_file(path));
        }
        Ok(Contents {
            header,
            steps,
            good_len: whole as u64,
            warning,
        })
    }

    /// Opens a journal read by [`Journal::read`] for appending, first
    /// cutting off a torn last line.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be opened or cut.
    pub fn resume(path: &Path, contents: &Contents) -> Result<Self> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| io_error(path, "open", e))?;
        file.set_len(contents.good_len)
            .map_err(|e| io_error(path, "truncate", e))?;
        Ok(Journal {
            file,
            path: path.to_owned(),
        })
    }

    /// Appends one step and syncs it to disk.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when writing or syncing fails.
    pub fn append(&mut self, step: &Step) -> Result<()> {
        self.write(&Record::Step(step.clone()))
    }

    /// Writes a whole journal at once, atomically (simulated exams: no
    /// per-step sync is needed since nothing is resumed from it).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be written.
    pub fn write_whole(path: &Path, header: &Header, steps: &[Step]) -> Result<()> {
        crate::io::write_atomic(path, |w| {
            let records = std::iter::once(Record::Header(header.clone()))
                .chain(steps.iter().cloned().map(Record::Step));
            for r in records {
                serde_json::to_writer(&mut *w, &r)
                    .map_err(|e| Error::format(format!("cannot encode a journal record: {e}")))?;
                w.write_all(b"\n").map_err(|e| io_error(path, "write", e))?;
            }
            Ok(())
        })
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_string(record)
            .map_err(|e| Error::format(format!("cannot encode a journal record: {e}")))?;
        line.push('\n');
        // One write call per record keeps a crash from interleaving records;
        // sync_data makes the step durable before the next item is chosen.
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_error(&self.path, "write", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format: JOURNAL_FORMAT.into(),
            bank: "b".into(),
            bank_digest: "d".into(),
            params_version: Some("v1".into()),
            params_digest: "p".into(),
            plan: Value::Null,
            prompt: Value::Null,
            seed: 7,
            backend: "replay".into(),
        }
    }

    fn step(n: usize) -> Step {
        Step {
            step: n,
            item_id: format!("q{n}"),
            prompt_hash: "h".into(),
            output: Some("B".into()),
            extracted: Some("B".into()),
            score: Some(1),
            outcome: Some(Outcome::Correct),
            skipped: None,
            theta: 0.5,
            se: Some(0.9),
            latency: 0.0,
            elapsed: 0.0,
            usage: None,
            attempts: 1,
            pretest: false,
            variant: None,
        }
    }

    #[test]
    fn torn_last_line_is_ignored_and_cut_on_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::create(&path, &header()).unwrap();
        j.append(&step(1)).unwrap();
        j.append(&step(2)).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"record\":\"step\",\"step\":3,\"ite")
            .unwrap();
        drop(f);
        let c = Journal::read(&path).unwrap();
        assert_eq!(c.steps, vec![step(1), step(2)]);
        assert!(c.warning.as_deref().unwrap().contains("torn"));
        let mut j = Journal::resume(&path, &c).unwrap();
        j.append(&step(3)).unwrap();
        let c = Journal::read(&path).unwrap();
        assert_eq!(c.steps.len(), 3);
        assert!(c.warning.is_none());
    }

    #[test]
    fn pretest_steps_round_trip_and_old_steps_read_as_operational() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut pre = step(2);
        pre.pretest = true;
        Journal::write_whole(&path, &header(), &[step(1), pre.clone()]).unwrap();
        let c = Journal::read(&path).unwrap();
        assert_eq!(c.steps, vec![step(1), pre]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("\"pretest\":true").count(), 1);
        assert!(!text.contains("\"pretest\":false"));
    }

    #[test]
    fn existing_journal_is_not_overwritten_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        Journal::create(&path, &header()).unwrap();
        let e = Journal::create(&path, &header()).unwrap_err();
        assert!(e.to_string().contains("--resume"), "{e}");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"not json\n").unwrap();
        let e = Journal::read(&path).unwrap_err();
        assert!(e.to_string().contains(":2:"), "{e}");
    }
}
