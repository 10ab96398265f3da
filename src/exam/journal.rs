//! The exam journal: append-only JSON Lines, one header record and then one
//! record per step, each synced to disk before the exam goes on.
//!
//! ```text
//! {"record":"header","format":"fangsheng-journal/1","bank":"demo",...,"time":"2026-11-28T15:04:05Z"}
//! {"record":"step","step":1,"item_id":"q07","prompt_hash":"..","output":"..",...,"time":"2026-11-28T15:04:07Z"}
//! ```
//!
//! Each record carries `time`, when it was written (UTC, RFC 3339, from
//! [`crate::export::utc_now`]): the header's is when the exam began, a
//! step's when it was journalled. Journals written before records carried
//! times read with none.
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
use crate::export::utc_now;
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

/// A record with the time it was written (kept beside the header and
/// step rather than in them, so that a resumed exam's steps equal an
/// uninterrupted one's).
#[derive(Serialize, Deserialize)]
struct Stamped<T> {
    #[serde(flatten)]
    record: T,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    Header(Stamped<Header>),
    Step(Stamped<Step>),
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    started: Option<String>,
}

/// What [`Journal::read`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Contents {
    /// The header.
    pub header: Header,
    /// When the exam began: the header's time (`None` in journals written
    /// before records carried times).
    pub started: Option<String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// When each step was journalled, parallel to `steps`.
    pub times: Vec<Option<String>>,
    /// Bytes up to the end of the last whole line.
    pub good_len: u64,
    /// Set when a torn last line was ignored.
    pub warning: Option<String>,
}

impl Contents {
    /// The time of the journal's last timed record: its last timed step,
    /// else its start.
    pub fn last_time(&self) -> Option<&str> {
        self.times
            .iter()
            .rev()
            .find_map(Option::as_deref)
            .or(self.started.as_deref())
    }

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
    /// Creates a new journal at `path` and writes its header, stamped with
    /// now as the exam's start. An existing file is not overwritten: it may
    /// hold an interrupted exam.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file exists or cannot be written; a
    /// malformed `SOURCE_DATE_EPOCH` ([`utc_now`]).
    pub fn create(path: &Path, header: &Header) -> Result<Self> {
        // As results do (`io::write_atomic`), a journal gets its folder.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "create the folder of", e))?;
        }
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
        let started = utc_now()?;
        let mut journal = Journal {
            file,
            path: path.to_owned(),
            started: Some(started.clone()),
        };
        journal.write(&Record::Header(Stamped {
            record: header.clone(),
            time: Some(started),
        }))?;
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
        let mut started = None;
        let mut steps = Vec::new();
        let mut times = Vec::new();
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
                (Record::Header(h), None) => {
                    header = Some(h.record);
                    started = h.time;
                }
                (Record::Step(s), Some(_)) => {
                    steps.push(s.record);
                    times.push(s.time);
                }
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
            started,
            steps,
            times,
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
        // Journals from before records carried times: their first step is
        // the best record of when the exam began.
        let started = contents
            .started
            .clone()
            .or_else(|| contents.times.first().cloned().flatten());
        Ok(Journal {
            file,
            path: path.to_owned(),
            started,
        })
    }

    /// Appends one step, stamped with now, and syncs it to disk.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when writing or syncing fails; a malformed
    /// `SOURCE_DATE_EPOCH` ([`utc_now`]).
    pub fn append(&mut self, step: &Step) -> Result<()> {
        self.write(&Record::Step(Stamped {
            record: step.clone(),
            time: Some(utc_now()?),
        }))
    }

    /// When the journal's exam began: the time [`Journal::create`] stamped,
    /// or on [`Journal::resume`] the journal's own (`None` for a journal
    /// that records no time).
    pub fn started(&self) -> Option<&str> {
        self.started.as_deref()
    }

    /// Writes a whole journal at once, atomically (simulated exams: no
    /// per-step sync is needed since nothing is resumed from it). The
    /// header is stamped with now; the steps, all made at once, carry no
    /// time of their own.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be written; a malformed
    /// `SOURCE_DATE_EPOCH` ([`utc_now`]).
    pub fn write_whole(path: &Path, header: &Header, steps: &[Step]) -> Result<()> {
        let header = Stamped {
            record: header.clone(),
            time: Some(utc_now()?),
        };
        crate::io::write_atomic(path, |w| {
            let records = std::iter::once(Record::Header(header)).chain(steps.iter().map(|s| {
                Record::Step(Stamped {
                    record: s.clone(),
                    time: None,
                })
            }));
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

    #[test]
    fn records_carry_times_and_old_journals_read_without() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::create(&path, &header()).unwrap();
        let started = j.started().unwrap().to_owned();
        j.append(&step(1)).unwrap();
        j.append(&step(2)).unwrap();
        drop(j);
        let c = Journal::read(&path).unwrap();
        assert_eq!(c.started.as_deref(), Some(started.as_str()));
        assert_eq!(c.steps, vec![step(1), step(2)]);
        assert_eq!(c.times.len(), 2);
        let t2 = c.times[1].clone().unwrap();
        assert!(started.as_str() <= t2.as_str(), "{started} > {t2}");
        assert_eq!(c.last_time(), Some(t2.as_str()));
        // A resumed journal keeps its start.
        let j = Journal::resume(&path, &c).unwrap();
        assert_eq!(j.started(), Some(started.as_str()));

        // A journal written before records carried times: no times, and its
        // first step's time (none here) stands for the start.
        let old = dir.path().join("old.jsonl");
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("time");
                format!("{v}\n")
            })
            .collect();
        assert!(!text.contains("\"time\""));
        std::fs::write(&old, text).unwrap();
        let c = Journal::read(&old).unwrap();
        assert_eq!(c.steps, vec![step(1), step(2)]);
        assert_eq!((c.started.as_deref(), c.last_time()), (None, None));
        assert_eq!(c.times, vec![None, None]);
        assert_eq!(Journal::resume(&old, &c).unwrap().started(), None);
    }
}
