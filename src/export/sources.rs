//! The files an export reads, recognised by their content: exam results,
//! exam journals, `simulate` outputs (exams CSV/JSON and step traces),
//! parameter files and `calibrate --abilities` tables.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::clock::rfc3339;
use super::meta::{SimulateMeta, meta_path};
use crate::bank::ParamSet;
use crate::error::{Error, ErrorKind, Result};
use crate::exam::{Contents, ExamResult, JOURNAL_FORMAT, Journal, RESULT_FORMAT};

/// What kind of file a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A `fangsheng exam` result (JSON, format `fangsheng-exam/1`).
    ExamResult,
    /// A `fangsheng exam` journal (JSON lines, format `fangsheng-journal/1`).
    Journal,
    /// `fangsheng simulate` exams, CSV or JSON.
    SimulateExams,
    /// `fangsheng simulate --trace`: one CSV row per step.
    SimulateTrace,
    /// A parameter file (`fangsheng-params/1` JSON or the CSV form).
    Params,
    /// `fangsheng calibrate --abilities` (or `score`) CSV:
    /// `model,theta,se,n_items` (`examinee` in files written before).
    Abilities,
}

impl SourceKind {
    /// A short name (`exam`, `journal`, `simulate`, `trace`, `params`,
    /// `calibrate`), the `source` column of the tables.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::ExamResult => "exam",
            SourceKind::Journal => "journal",
            SourceKind::SimulateExams => "simulate",
            SourceKind::SimulateTrace => "trace",
            SourceKind::Params => "params",
            SourceKind::Abilities => "calibrate",
        }
    }
}

/// One exam of a `simulate` run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedExam {
    /// Model (examinee) name.
    pub model: String,
    /// Final ability estimate.
    pub theta: f64,
    /// Its standard error.
    pub se: f64,
    /// Items answered.
    pub n_items: Option<i64>,
    /// Why the exam stopped.
    pub stop_reason: Option<String>,
    /// Predicted bank score and interval.
    pub predicted: [f64; 3],
    /// Observed (replay) or true expected (simulation) bank score.
    pub observed: f64,
    /// The simulated examinee's true ability.
    pub true_theta: Option<f64>,
    /// Selected items skipped for lack of a recorded answer.
    pub skipped: Option<i64>,
}

/// One step of a `simulate --trace` file.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceStep {
    /// Model (examinee) name.
    pub model: String,
    /// 1-based step.
    pub step: i64,
    /// Item id.
    pub item: String,
    /// Score recorded.
    pub score: i64,
    /// Ability estimate after the step.
    pub theta: f64,
    /// Its standard error.
    pub se: f64,
}

/// One row of an abilities CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct AbilityRow {
    /// Model (examinee) name.
    pub model: String,
    /// Ability estimate.
    pub theta: f64,
    /// Its standard error.
    pub se: f64,
    /// Items answered.
    pub n_items: Option<i64>,
}

/// A source file's content.
#[derive(Debug, Clone)]
pub enum Content {
    /// An exam result.
    ExamResult(Box<ExamResult>),
    /// An exam journal.
    Journal(Box<Contents>),
    /// Simulated or replayed exams, with the run's seed when recorded.
    SimulateExams {
        /// The run's seed (JSON output, or the sidecar).
        seed: Option<u64>,
        /// The exams.
        exams: Vec<SimulatedExam>,
        /// The run's sidecar (`<file>.meta.json`), when there is one
        /// written for this file.
        meta: Option<Box<SimulateMeta>>,
    },
    /// Steps of simulated exams.
    SimulateTrace(Vec<TraceStep>),
    /// A parameter set.
    Params(Box<ParamSet>),
    /// Abilities by examinee.
    Abilities(Vec<AbilityRow>),
}

/// A read source file.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// What it holds.
    pub content: Content,
    /// When it was made, UTC, RFC 3339: the time the file records (an exam
    /// result's `finished`, a journal's last step, a simulate sidecar's
    /// `finished`), else the file's modification time (`None` when
    /// unknown).
    pub timestamp: Option<String>,
    /// Problems that did not stop reading (a torn journal line, parameter
    /// warnings).
    pub warnings: Vec<String>,
}

impl Source {
    /// The kind of file.
    pub fn kind(&self) -> SourceKind {
        match &self.content {
            Content::ExamResult(_) => SourceKind::ExamResult,
            Content::Journal(_) => SourceKind::Journal,
            Content::SimulateExams { .. } => SourceKind::SimulateExams,
            Content::SimulateTrace(_) => SourceKind::SimulateTrace,
            Content::Params(_) => SourceKind::Params,
            Content::Abilities(_) => SourceKind::Abilities,
        }
    }

    /// The examinee name a single-exam file stands for: its file name
    /// without `.json`, `.journal.jsonl` or `.jsonl` (campaigns write
    /// `<model>.json` and `<model>.journal.jsonl`).
    pub fn model_name(&self) -> String {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for suffix in [".journal.jsonl", ".jsonl", ".json", ".gz"] {
            if let Some(stem) = name.strip_suffix(suffix) {
                if !stem.is_empty() {
                    return stem.strip_suffix(".json").unwrap_or(stem).to_owned();
                }
            }
        }
        name
    }
}

/// Reads `path`, deciding its kind from its content (see [`SourceKind`]).
///
/// # Errors
/// [`ErrorKind::Format`] naming the file when it is none of the kinds
/// (with what was found), or the reading errors of its kind, naming the
/// file and line.
pub fn read_source(path: &Path) -> Result<Source> {
    let text = crate::io::read_to_string(path)?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let first_line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut warnings = Vec::new();
    let mut content = if first_line.trim_start().starts_with('{') {
        read_json_source(path, body, first_line, &mut warnings)?
    } else {
        read_csv_source(path, body, first_line, &mut warnings)?
    };
    if let Content::SimulateExams { seed, meta, .. } = &mut content {
        *meta = sidecar(path, *seed, &mut warnings).map(Box::new);
        *seed = seed.or(meta.as_ref().map(|m| m.seed));
    }
    let timestamp = recorded_time(&content).or_else(|| modified(path));
    Ok(Source {
        path: path.to_owned(),
        content,
        timestamp,
        warnings,
    })
}

/// The sidecar of a simulate exams file, if it has one of its own; a
/// sidecar that cannot be used, or whose seed contradicts the file's, is
/// left out with a warning.
fn sidecar(path: &Path, seed: Option<u64>, warnings: &mut Vec<String>) -> Option<SimulateMeta> {
    match SimulateMeta::read_beside(path) {
        Ok(Some(meta)) if seed.is_some_and(|s| s != meta.seed) => {
            warnings.push(format!(
                "{}: ignored: its seed {} is not the file's {}",
                meta_path(path).display(),
                meta.seed,
                seed.unwrap_or_default()
            ));
            None
        }
        Ok(meta) => meta,
        Err(e) => {
            warnings.push(format!("ignoring the sidecar: {e}"));
            None
        }
    }
}

/// The time a file's content records for when it was made: an exam
/// result's end, a journal's last step (or its start, with no timed step),
/// a simulate run's end from its sidecar.
fn recorded_time(content: &Content) -> Option<String> {
    match content {
        Content::ExamResult(r) => r.finished.clone(),
        Content::Journal(j) => j.last_time().map(str::to_owned),
        Content::SimulateExams { meta, .. } => meta.as_ref().and_then(|m| m.finished.clone()),
        Content::SimulateTrace(_) | Content::Params(_) | Content::Abilities(_) => None,
    }
}

const EXPECTED: &str = "expected an exam result or journal (fangsheng exam), simulate exams or \
     trace (fangsheng simulate), a parameter file, or an abilities CSV (calibrate --abilities)";

fn unknown(path: &Path, found: &str) -> Error {
    Error::format(format!(
        "not a file fangsheng export reads: {found}; {EXPECTED}"
    ))
    .in_file(path)
}

fn read_json_source(
    path: &Path,
    body: &str,
    first_line: &str,
    warnings: &mut Vec<String>,
) -> Result<Content> {
    // A journal's first line is a whole header record.
    if let Ok(Json::Object(o)) = serde_json::from_str::<Json>(first_line) {
        if o.get("record").and_then(Json::as_str) == Some("header") {
            if o.get("format").and_then(Json::as_str) != Some(JOURNAL_FORMAT) {
                return Err(Error::format(format!(
                    "journal format {} is not {JOURNAL_FORMAT}",
                    o.get("format").unwrap_or(&Json::Null)
                ))
                .at_line(1)
                .in_file(path));
            }
            let contents = Journal::read(path)?;
            warnings.extend(contents.warning.clone());
            return Ok(Content::Journal(Box::new(contents)));
        }
    }
    let doc: Json = serde_json::from_str(body).map_err(|e| {
        Error::format(format!("not JSON ({e}); {EXPECTED}"))
            .at_line(e.line() as u64)
            .in_file(path)
    })?;
    let format = doc.get("format").and_then(Json::as_str);
    if format == Some(RESULT_FORMAT) {
        let result: ExamResult = serde_json::from_value(doc).map_err(|e| {
            Error::format(format!("not a valid {RESULT_FORMAT} result: {e}")).in_file(path)
        })?;
        return Ok(Content::ExamResult(Box::new(result)));
    }
    if format == Some(crate::bank::FORMAT) {
        let loaded = ParamSet::from_json_str(body, path)?;
        warnings.extend(loaded.warnings);
        return Ok(Content::Params(Box::new(loaded.params)));
    }
    if let Some(exams) = doc.get("exams").and_then(Json::as_array) {
        let exams = exams
            .iter()
            .enumerate()
            .map(|(i, e)| {
                simulated_from_json(e)
                    .map_err(|m| Error::format(format!("exam {}: {m}", i + 1)).in_file(path))
            })
            .collect::<Result<Vec<_>>>()?;
        let seed = doc.get("seed").and_then(Json::as_u64);
        return Ok(Content::SimulateExams {
            seed,
            exams,
            meta: None,
        });
    }
    let found = match format {
        Some(f) => format!("a JSON document of format '{f}'"),
        None => "a JSON document with no 'format' or 'exams'".to_owned(),
    };
    Err(unknown(path, &found))
}

fn simulated_from_json(e: &Json) -> std::result::Result<SimulatedExam, String> {
    let num = |k: &str| e.get(k).and_then(Json::as_f64);
    let need = |k: &str| num(k).ok_or_else(|| format!("no number '{k}'"));
    Ok(SimulatedExam {
        model: MODEL_COLUMNS
            .iter()
            .find_map(|k| e.get(*k).and_then(Json::as_str))
            .ok_or("no 'model'")?
            .to_owned(),
        theta: need("theta")?,
        se: num("se").unwrap_or(f64::INFINITY),
        n_items: e.get("n_items").and_then(Json::as_i64),
        stop_reason: e
            .get("stop_reason")
            .and_then(Json::as_str)
            .map(str::to_owned),
        predicted: [
            need("predicted_score")?,
            num("predicted_lo").unwrap_or(f64::NAN),
            num("predicted_hi").unwrap_or(f64::NAN),
        ],
        observed: num("observed_score").unwrap_or(f64::NAN),
        true_theta: num("true_theta"),
        skipped: e.get("skipped").and_then(Json::as_i64),
    })
}

/// Names of the model column, the current first: files written before it
/// was renamed call it `examinee`.
const MODEL_COLUMNS: [&str; 2] = ["model", "examinee"];

/// Columns identifying each CSV kind besides the model column (all must be
/// present).
const SIMULATE_EXAMS: &[&str] = &["theta", "se", "predicted_score", "observed_score"];
const TRACE: &[&str] = &["step", "item", "score", "theta", "se"];
const ABILITIES: &[&str] = &["theta", "se"];

fn read_csv_source(
    path: &Path,
    body: &str,
    first_line: &str,
    warnings: &mut Vec<String>,
) -> Result<Content> {
    let mut reader = csv::ReaderBuilder::new().from_reader(body.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_owned()).collect(),
        Err(_) => return Err(unknown(path, "unreadable text")),
    };
    let model_col = MODEL_COLUMNS
        .iter()
        .find(|m| header.iter().any(|h| h == *m))
        .copied();
    let has =
        |cols: &[&str]| model_col.is_some() && cols.iter().all(|c| header.iter().any(|h| h == c));
    let col = |name: &str| header.iter().position(|h| h == name);
    let model_col = model_col.unwrap_or(MODEL_COLUMNS[0]);
    let lower: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    if lower.iter().any(|h| h == "id") && lower.iter().any(|h| h == "model") {
        let loaded = ParamSet::from_csv_reader(body.as_bytes(), path)?;
        warnings.extend(loaded.warnings);
        return Ok(Content::Params(Box::new(loaded.params)));
    }
    // An exported table holds the columns of the files it was made from
    // (simulate's among them): telling it apart keeps it from being read as
    // one of them.
    if header.len() > 2 && header[0] == "model" && header[1] == "source" {
        return Err(unknown(
            path,
            "a table fangsheng export wrote (export the files it was made from instead)",
        ));
    }
    let kind = if has(SIMULATE_EXAMS) {
        SourceKind::SimulateExams
    } else if has(TRACE) {
        SourceKind::SimulateTrace
    } else if has(ABILITIES) {
        SourceKind::Abilities
    } else {
        let shown: String = first_line.chars().take(80).collect();
        return Err(unknown(path, &format!("a table with header '{shown}'")));
    };
    let mut exams = Vec::new();
    let mut steps = Vec::new();
    let mut abilities = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let at = |msg: String| Error::format(msg).at_line(line).in_file(path);
        let rec = rec.map_err(|e| at(format!("malformed row: {e}")))?;
        let text = |name: &str| {
            col(name)
                .and_then(|c| rec.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let float = |name: &str| -> Result<Option<f64>> {
            text(name)
                .map(|s| {
                    s.parse::<f64>().map_err(|_| {
                        Error::new(
                            ErrorKind::Value,
                            format!("column '{name}': '{s}' is not a number"),
                        )
                        .at_line(line)
                        .in_file(path)
                    })
                })
                .transpose()
        };
        let int = |name: &str| -> Result<Option<i64>> {
            text(name)
                .map(|s| {
                    s.parse::<i64>().map_err(|_| {
                        Error::new(
                            ErrorKind::Value,
                            format!("column '{name}': '{s}' is not an integer"),
                        )
                        .at_line(line)
                        .in_file(path)
                    })
                })
                .transpose()
        };
        let need_text = |name: &str| {
            text(name)
                .map(str::to_owned)
                .ok_or_else(|| at(format!("column '{name}' is empty")))
        };
        let need = |name: &str| float(name)?.ok_or_else(|| at(format!("column '{name}' is empty")));
        match kind {
            SourceKind::SimulateExams => exams.push(SimulatedExam {
                model: need_text(model_col)?,
                theta: need("theta")?,
                se: float("se")?.unwrap_or(f64::INFINITY),
                n_items: int("n_items")?,
                stop_reason: text("stop_reason").map(str::to_owned),
                predicted: [
                    need("predicted_score")?,
                    float("predicted_lo")?.unwrap_or(f64::NAN),
                    float("predicted_hi")?.unwrap_or(f64::NAN),
                ],
                observed: float("observed_score")?.unwrap_or(f64::NAN),
                true_theta: float("true_theta")?,
                skipped: int("skipped")?,
            }),
            SourceKind::SimulateTrace => steps.push(TraceStep {
                model: need_text(model_col)?,
                step: int("step")?.ok_or_else(|| at("column 'step' is empty".into()))?,
                item: need_text("item")?,
                score: int("score")?.ok_or_else(|| at("column 'score' is empty".into()))?,
                theta: need("theta")?,
                se: float("se")?.unwrap_or(f64::INFINITY),
            }),
            _ => abilities.push(AbilityRow {
                model: need_text(model_col)?,
                theta: need("theta")?,
                se: float("se")?.unwrap_or(f64::INFINITY),
                n_items: int("n_items")?,
            }),
        }
    }
    Ok(match kind {
        SourceKind::SimulateExams => Content::SimulateExams {
            seed: None,
            exams,
            meta: None,
        },
        SourceKind::SimulateTrace => Content::SimulateTrace(steps),
        _ => Content::Abilities(abilities),
    })
}

/// The file's modification time as `YYYY-MM-DDTHH:MM:SSZ`, for files
/// that record no time of their own.
fn modified(path: &Path) -> Option<String> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(rfc3339(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_files_are_named_with_what_was_found() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("weird.csv");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        let e = read_source(&p).unwrap_err();
        assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
        assert!(e.to_string().contains("header 'a,b'"), "{e}");
        let p = dir.path().join("other.json");
        std::fs::write(&p, "{\"format\": \"x/1\"}").unwrap();
        let e = read_source(&p).unwrap_err();
        assert!(e.to_string().contains("format 'x/1'"), "{e}");
    }

    #[test]
    fn simulate_abilities_and_trace_files_read_with_current_or_old_names() {
        let dir = tempfile::tempdir().unwrap();
        let read = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            read_source(&p).unwrap().content
        };
        // simulate's columns now (empty cells for missing numbers), and as
        // written before.
        let now = read(
            "now.csv",
            "model,theta,se,n_items,stop_reason,predicted_score,predicted_lo,predicted_hi,\
             observed_score,true_theta,skipped\nm1,0.5,,10,max_items,0.6,0.5,0.7,0.62,,0\n",
        );
        let before = read(
            "before.csv",
            "examinee,theta,se,n_items,stop_reason,predicted_score,observed_score,\
             predicted_lo,predicted_hi,skipped\nm1,0.5,inf,10,max_items,0.6,0.62,0.5,0.7,0\n",
        );
        for c in [&now, &before] {
            let Content::SimulateExams { exams, .. } = c else {
                panic!("{c:?}")
            };
            assert_eq!(exams[0].model, "m1");
            assert_eq!(exams[0].se, f64::INFINITY);
            assert_eq!(exams[0].predicted, [0.6, 0.5, 0.7]);
            assert_eq!(exams[0].true_theta, None);
        }
        for header in ["model", "examinee"] {
            let trace = read(
                "t.csv",
                &format!("{header},step,item,score,theta,se\nm2,1,q1,1,0.3,\n"),
            );
            let Content::SimulateTrace(steps) = trace else {
                panic!("{trace:?}")
            };
            assert_eq!(
                (steps[0].model.as_str(), steps[0].se),
                ("m2", f64::INFINITY)
            );
            let abil = read(
                "a.csv",
                &format!("{header},theta,se,n_items\nm3,1.5,0.2,4\n"),
            );
            let Content::Abilities(rows) = abil else {
                panic!("{abil:?}")
            };
            assert_eq!(rows[0].model, "m3");
        }
        let json = read(
            "sim.json",
            r#"{"seed": 1, "exams": [{"model": "m4", "theta": 0.1, "predicted_score": 0.5}]}"#,
        );
        let Content::SimulateExams { exams, .. } = json else {
            panic!("{json:?}")
        };
        assert_eq!(exams[0].model, "m4");
        // A table export wrote is refused by name, not read as simulate's.
        let p = dir.path().join("exported.csv");
        std::fs::write(
            &p,
            "model,source,theta,se,predicted_score,observed_score\nm,simulate,0,1,0.5,0.5\n",
        )
        .unwrap();
        let e = read_source(&p).unwrap_err();
        assert!(
            e.to_string().contains("a table fangsheng export wrote"),
            "{e}"
        );
    }

    #[test]
    fn model_names_drop_the_result_suffixes() {
        let s = |p: &str| Source {
            path: p.into(),
            content: Content::Abilities(vec![]),
            timestamp: None,
            warnings: vec![],
        };
        assert_eq!(s("out/llama.json").model_name(), "llama");
        assert_eq!(s("out/llama.journal.jsonl").model_name(), "llama");
        assert_eq!(s("x.json.gz").model_name(), "x");
    }
}
