//! What a report is drawn from: abilities, exam trajectories, a parameter
//! set and key/value summaries, read from the files the other commands
//! write. Each file's kind is told from its content, not its name.

use std::path::Path;

use serde_json::Value;

use crate::bank::ParamSet;
use crate::error::{Error, Result};
use crate::exam::{ExamResult, Journal, RESULT_FORMAT};
use crate::export::SimulateMeta;

/// The kinds of file a report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An exam result (`fangsheng-exam/1` JSON).
    ExamResult,
    /// An exam journal (`fangsheng-journal/1` JSON Lines).
    Journal,
    /// `fangsheng simulate` output, CSV or JSON.
    Simulate,
    /// `fangsheng simulate --trace` CSV: one row per exam step.
    Trace,
    /// Abilities CSV or JSON (`calibrate --abilities`, `score`).
    Abilities,
    /// A parameter file (`fangsheng-params/1` JSON or parameter CSV).
    Params,
    /// Any other JSON object, shown as a key/value table (diagnose
    /// summaries, for instance).
    Summary,
}

impl Kind {
    /// A short description for the report's list of inputs.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::ExamResult => "exam result",
            Kind::Journal => "exam journal",
            Kind::Simulate => "simulate output",
            Kind::Trace => "simulate trace",
            Kind::Abilities => "abilities",
            Kind::Params => "item parameters",
            Kind::Summary => "summary (JSON)",
        }
    }
}

/// One model's (or examinee's) ability estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Ability {
    /// Who was examined.
    pub model: String,
    /// The estimate on the calibration's scale.
    pub theta: f64,
    /// Its standard error (`None` when unknown or infinite).
    pub se: Option<f64>,
    /// Name of the file it came from.
    pub source: String,
    /// The kind of that file.
    pub kind: Kind,
    /// The predicted score on the whole bank, when the file gives one.
    pub predicted: Option<PredictedBankScore>,
    /// Whether the model was one of the calibration's own runs (an
    /// in-sample replay, as its `simulate` sidecar records, or an exam of a
    /// model the calibration names): its errors are not a new model's.
    pub in_sample: bool,
}

/// A predicted whole-bank score as a report shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictedBankScore {
    /// The predicted proportion correct.
    pub score: f64,
    /// Its 95% interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
    /// The score observed on the whole bank, when the input has it (a
    /// replay of recorded runs).
    pub observed: Option<f64>,
    /// Whether the score and interval come through an error model (a
    /// score link fitted on held-out models); otherwise the interval
    /// counts the exam's measurement error only.
    pub error_model: bool,
}

/// One step of an exam: the estimate after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepEstimate {
    /// 1-based step number.
    pub step: usize,
    /// Ability estimate after the step.
    pub theta: f64,
    /// Its standard error (`None` when infinite).
    pub se: Option<f64>,
}

/// The estimates of one exam, step by step.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Who was examined.
    pub model: String,
    /// The steps in order.
    pub steps: Vec<StepEstimate>,
    /// Name of the file it came from.
    pub source: String,
}

/// A titled list of key/value pairs, shown as a table.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValues {
    /// Table title.
    pub title: String,
    /// The pairs, sorted by key (nested keys joined with `.`).
    pub rows: Vec<(String, String)>,
}

/// Everything read for a report.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Ability estimates, in the order read.
    pub abilities: Vec<Ability>,
    /// Exam trajectories, in the order read.
    pub trajectories: Vec<Trajectory>,
    /// The item parameters, when given.
    pub params: Option<ParamSet>,
    /// Where the parameters came from.
    pub params_source: Option<String>,
    /// Key/value summaries.
    pub summaries: Vec<KeyValues>,
    /// Every file read, with its kind.
    pub files: Vec<(String, Kind)>,
    /// Problems that did not stop the report.
    pub warnings: Vec<String>,
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn finite_se(se: Option<f64>) -> Option<f64> {
    se.filter(|s| s.is_finite() && *s >= 0.0)
}

impl Inputs {
    /// No inputs yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `path`, tells its kind from its content and adds what it holds.
    ///
    /// # Errors
    /// The file cannot be read, is of no kind the report knows, or is
    /// malformed; every error names the file (and the line where known). A
    /// second parameter file is an error too.
    pub fn add_file(&mut self, path: &Path) -> Result<Kind> {
        let text = crate::io::read_to_string(path)?;
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let kind = self.add_text(body, path).map_err(|e| match e.path() {
            Some(_) => e,
            None => e.in_file(path),
        })?;
        self.files.push((file_name(path), kind));
        Ok(kind)
    }

    /// Adds a parameter set read elsewhere (`--params`).
    ///
    /// # Errors
    /// A parameter set was already given.
    pub fn set_params(&mut self, params: ParamSet, source: &Path) -> Result<()> {
        if let Some(old) = &self.params_source {
            return Err(Error::config(format!(
                "two parameter files: {old} and {}; give one",
                file_name(source)
            ))
            .in_file(source));
        }
        self.params = Some(params);
        self.params_source = Some(file_name(source));
        Ok(())
    }

    fn add_text(&mut self, text: &str, path: &Path) -> Result<Kind> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            let first = trimmed.lines().next().unwrap_or("");
            if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(first) {
                if o.contains_key("record") {
                    return self.add_journal(path);
                }
            }
            let value: Value = serde_json::from_str(text)
                .map_err(|e| Error::format(format!("not valid JSON: {e}")))?;
            return self.add_json(value, text, path);
        }
        self.add_csv(text, path)
    }

    fn add_journal(&mut self, path: &Path) -> Result<Kind> {
        let contents = Journal::read(path)?;
        if let Some(w) = contents.warning {
            self.warnings.push(w);
        }
        let model = contents.header.backend.clone();
        let steps: Vec<StepEstimate> = contents
            .steps
            .iter()
            .filter(|s| s.theta.is_finite())
            .map(|s| StepEstimate {
                step: s.step,
                theta: s.theta,
                se: finite_se(s.se),
            })
            .collect();
        if let Some(last) = steps.last() {
            self.abilities.push(Ability {
                model: model.clone(),
                theta: last.theta,
                se: last.se,
                source: file_name(path),
                kind: Kind::Journal,
                predicted: None,
                in_sample: false,
            });
        }
        self.trajectories.push(Trajectory {
            model,
            steps,
            source: file_name(path),
        });
        Ok(Kind::Journal)
    }

    fn add_json(&mut self, value: Value, text: &str, path: &Path) -> Result<Kind> {
        let source = file_name(path);
        let format = value.get("format").and_then(Value::as_str);
        if format == Some(RESULT_FORMAT) {
            let r: ExamResult = serde_json::from_value(value)
                .map_err(|e| Error::format(format!("not a valid exam result: {e}")))?;
            let bank = r.predicted_score.bank;
            self.abilities.push(Ability {
                model: r.backend.clone(),
                theta: r.theta,
                se: finite_se(r.se),
                source,
                kind: Kind::ExamResult,
                predicted: Some(PredictedBankScore {
                    score: bank.mean,
                    lo: bank.lo,
                    hi: bank.hi,
                    observed: None,
                    error_model: r.error_model || r.score_link.is_some(),
                }),
                in_sample: r.in_sample == Some(true),
            });
            return Ok(Kind::ExamResult);
        }
        if format == Some(crate::bank::FORMAT) {
            let loaded = ParamSet::from_json_str(text, path)?;
            self.warnings.extend(loaded.warnings);
            self.set_params(loaded.params, path)?;
            return Ok(Kind::Params);
        }
        if let Some(exams) = value.get("exams").and_then(Value::as_array) {
            let sidecar = self.sidecar(path);
            for (i, row) in exams.iter().enumerate() {
                let mut a = ability_from_json(row, &source, Kind::Simulate)
                    .map_err(|e| Error::format(format!("exams[{i}]: {e}")))?;
                let number = |k: &str| row.get(k).and_then(Value::as_f64);
                a.predicted = simulate_prediction(
                    [
                        number("predicted_score"),
                        number("predicted_lo"),
                        number("predicted_hi"),
                    ],
                    number("observed_score"),
                    &sidecar,
                );
                a.in_sample = sidecar.as_ref().is_some_and(|m| m.in_sample);
                self.abilities.push(a);
            }
            let mut rows = Vec::new();
            for key in ["seed", "score"] {
                if let Some(v) = value.get(key) {
                    rows.push((key.to_owned(), scalar_text(v)));
                }
            }
            if let Some(s) = value.get("summary") {
                flatten("", s, &mut rows);
            }
            self.summaries.push(KeyValues {
                title: format!("simulate summary ({source})"),
                rows,
            });
            return Ok(Kind::Simulate);
        }
        match &value {
            Value::Array(rows)
                if !rows.is_empty()
                    && rows
                        .iter()
                        .all(|r| model_key(r).is_some() && r.get("theta").is_some()) =>
            {
                for (i, row) in rows.iter().enumerate() {
                    let a = ability_from_json(row, &source, Kind::Abilities)
                        .map_err(|e| Error::format(format!("element {i}: {e}")))?;
                    self.abilities.push(a);
                }
                Ok(Kind::Abilities)
            }
            Value::Object(_) => {
                let mut rows = Vec::new();
                flatten("", &value, &mut rows);
                self.summaries.push(KeyValues {
                    title: source,
                    rows,
                });
                Ok(Kind::Summary)
            }
            _ => Err(Error::format(
                "a JSON file the report does not know: expected an exam result, a parameter \
                 file, simulate output, an array of abilities or a summary object",
            )),
        }
    }

    fn add_csv(&mut self, text: &str, path: &Path) -> Result<Kind> {
        let source = file_name(path);
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| Error::format(format!("cannot read a CSV header: {e}")).at_line(1))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let has = |names: &[&str]| names.iter().all(|n| col(n).is_some());
        if has(&["id", "model"]) {
            let loaded = ParamSet::from_csv_reader(text.as_bytes(), path)?;
            self.warnings.extend(loaded.warnings);
            self.set_params(loaded.params, path)?;
            return Ok(Kind::Params);
        }
        let model_col = MODEL_KEYS.iter().find_map(|k| col(k));
        let (Some(e_col), Some(t_col), Some(s_col)) = (model_col, col("theta"), col("se")) else {
            return Err(Error::format(format!(
                "a CSV file the report does not know (columns: {}): expected simulate output or \
                 trace (model,step,theta,se), abilities (model,theta,se) or parameters \
                 (id,model,...)",
                headers.iter().collect::<Vec<_>>().join(",")
            ))
            .at_line(1));
        };
        let step_col = col("step");
        let prediction_cols = [
            col("predicted_score"),
            col("predicted_lo"),
            col("predicted_hi"),
        ];
        let observed_col = col("observed_score");
        let sidecar = self.sidecar(path);
        // An exported abilities table (`source` column) has simulate's
        // columns too; its rows are abilities of any kind.
        let kind = if step_col.is_some() {
            Kind::Trace
        } else if has(&["stop_reason", "predicted_score"]) && col("source").is_none() {
            Kind::Simulate
        } else {
            Kind::Abilities
        };
        for (i, record) in reader.records().enumerate() {
            let line = i as u64 + 2;
            let record = record
                .map_err(|e| Error::format(format!("malformed CSV row: {e}")).at_line(line))?;
            let field = |c: usize| record.get(c).unwrap_or("");
            // An empty cell is a missing number (an infinite SE, no estimate).
            let number = |c: usize, what: &str| -> Result<f64> {
                match field(c) {
                    "" => Ok(f64::NAN),
                    s => s.parse::<f64>().map_err(|_| {
                        Error::value(format!("{what} '{s}' is not a number")).at_line(line)
                    }),
                }
            };
            let model = field(e_col).to_owned();
            let theta = number(t_col, "theta")?;
            let se = finite_se(Some(number(s_col, "se")?));
            if !theta.is_finite() {
                self.warnings.push(format!(
                    "{}:{line}: '{model}' has no finite theta (row left out)",
                    path.display()
                ));
                continue;
            }
            match step_col {
                Some(sc) => {
                    let step = field(sc).parse::<usize>().map_err(|_| {
                        Error::value(format!("step '{}' is not a whole number", field(sc)))
                            .at_line(line)
                    })?;
                    let point = StepEstimate { step, theta, se };
                    match self
                        .trajectories
                        .last_mut()
                        .filter(|t| t.model == model && t.source == source)
                    {
                        Some(t) => t.steps.push(point),
                        None => self.trajectories.push(Trajectory {
                            model,
                            steps: vec![point],
                            source: source.clone(),
                        }),
                    }
                }
                None => {
                    let cell = |c: Option<usize>, what: &str| -> Result<Option<f64>> {
                        c.map(|c| number(c, what)).transpose()
                    };
                    let predicted = simulate_prediction(
                        [
                            cell(prediction_cols[0], "predicted_score")?,
                            cell(prediction_cols[1], "predicted_lo")?,
                            cell(prediction_cols[2], "predicted_hi")?,
                        ],
                        cell(observed_col, "observed_score")?,
                        &sidecar,
                    );
                    self.abilities.push(Ability {
                        model,
                        theta,
                        se,
                        source: source.clone(),
                        kind,
                        predicted,
                        in_sample: sidecar.as_ref().is_some_and(|m| m.in_sample),
                    });
                }
            }
        }
        Ok(kind)
    }

    /// The `simulate` sidecar beside `path` when it belongs to it; a sidecar
    /// that does not is noted and left out.
    fn sidecar(&mut self, path: &Path) -> Option<SimulateMeta> {
        match SimulateMeta::read_beside(path) {
            Ok(meta) => meta,
            Err(e) => {
                self.warnings.push(format!("{e} (ignored)"));
                None
            }
        }
    }

    /// The abilities to plot: every one read, except a journal's last
    /// estimate when an exam result of the same model was also given (the
    /// two are the same exam).
    pub fn plotted_abilities(&self) -> Vec<&Ability> {
        self.abilities
            .iter()
            .filter(|a| {
                a.kind != Kind::Journal
                    || !self
                        .abilities
                        .iter()
                        .any(|b| b.kind == Kind::ExamResult && b.model == a.model)
            })
            .collect()
    }
}

fn ability_from_json(
    row: &Value,
    source: &str,
    kind: Kind,
) -> std::result::Result<Ability, String> {
    let model = match model_key(row) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => return Err("no 'model'".into()),
    };
    let theta = row
        .get("theta")
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("'{model}': 'theta' is not a number"))?;
    let se = finite_se(row.get("se").and_then(Value::as_f64));
    Ok(Ability {
        model,
        theta,
        se,
        source: source.to_owned(),
        kind,
        predicted: None,
        in_sample: false,
    })
}

/// The prediction of a `simulate` row: its score and interval when all
/// three are numbers, linked when its sidecar records a score link.
fn simulate_prediction(
    [score, lo, hi]: [Option<f64>; 3],
    observed: Option<f64>,
    sidecar: &Option<SimulateMeta>,
) -> Option<PredictedBankScore> {
    let (score, lo, hi) = (score?, lo?, hi?);
    [score, lo, hi]
        .iter()
        .all(|x| x.is_finite())
        .then_some(PredictedBankScore {
            score,
            lo,
            hi,
            observed: observed.filter(|o| o.is_finite()),
            error_model: sidecar.as_ref().is_some_and(|m| m.score_link.is_some()),
        })
}

/// Names of the model column or key, the current first: files written
/// before it was renamed call it `examinee`.
const MODEL_KEYS: [&str; 2] = ["model", "examinee"];

/// A row's model name, under its current key or the old one.
fn model_key(row: &Value) -> Option<&Value> {
    MODEL_KEYS.iter().find_map(|k| row.get(*k))
}

/// A JSON scalar as table text; arrays and objects as compact JSON, cut at
/// 160 characters.
fn scalar_text(v: &Value) -> String {
    const LONGEST: usize = 160;
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => format!("{}", (x * 1e6).round() / 1e6),
            _ => n.to_string(),
        },
        other => other.to_string(),
    };
    if s.chars().count() > LONGEST {
        let cut: String = s.chars().take(LONGEST).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Flattens objects into `prefix.key` rows; other values become one row.
fn flatten(prefix: &str, v: &Value, rows: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, child, rows);
            }
        }
        other => rows.push((prefix.to_owned(), scalar_text(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn kinds_are_told_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Inputs::new();
        let trace = write(
            dir.path(),
            "a.txt",
            "examinee,step,item,score,theta,se\nm1,1,q1,1,0.5,0.9\nm1,2,q2,0,0.1,0.7\nm2,1,q1,0,-0.5,0.9\n",
        );
        assert_eq!(inputs.add_file(&trace).unwrap(), Kind::Trace);
        assert_eq!(inputs.trajectories.len(), 2);
        assert_eq!(inputs.trajectories[0].steps.len(), 2);
        let abil = write(
            dir.path(),
            "b.txt",
            "examinee,theta,se,n_items\nx,1.5,inf,3\n",
        );
        assert_eq!(inputs.add_file(&abil).unwrap(), Kind::Abilities);
        assert_eq!(inputs.abilities[0].se, None);
        let sum = write(
            dir.path(),
            "c.txt",
            r#"{"saturation": {"share": 0.25}, "flag": true}"#,
        );
        assert_eq!(inputs.add_file(&sum).unwrap(), Kind::Summary);
        assert_eq!(
            inputs.summaries[0].rows,
            vec![
                ("flag".to_owned(), "true".to_owned()),
                ("saturation.share".to_owned(), "0.25".to_owned())
            ]
        );
    }

    #[test]
    fn current_and_old_column_names_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Inputs::new();
        // simulate's columns now, its trace, and an abilities table with an
        // empty cell for an infinite SE.
        let sim = write(
            dir.path(),
            "sim.csv",
            "model,theta,se,n_items,stop_reason,predicted_score,predicted_lo,predicted_hi,\
             observed_score,true_theta,skipped\nm1,0.5,0.2,10,max_items,0.6,0.5,0.7,0.62,,0\n",
        );
        assert_eq!(inputs.add_file(&sim).unwrap(), Kind::Simulate);
        let trace = write(
            dir.path(),
            "trace.csv",
            "model,step,item,score,theta,se\nm1,1,q1,1,0.5,\n",
        );
        assert_eq!(inputs.add_file(&trace).unwrap(), Kind::Trace);
        assert_eq!(inputs.trajectories[0].steps[0].se, None);
        let abil = write(
            dir.path(),
            "ab.csv",
            "model,theta,se,n_items\nx,1.5,,3\ny,,,0\n",
        );
        assert_eq!(inputs.add_file(&abil).unwrap(), Kind::Abilities);
        let json = write(
            dir.path(),
            "ab.json",
            r#"[{"model": "z", "theta": 0.1, "se": null}, {"examinee": "w", "theta": 0.2}]"#,
        );
        assert_eq!(inputs.add_file(&json).unwrap(), Kind::Abilities);
        let names: Vec<(&str, Option<f64>)> = inputs
            .abilities
            .iter()
            .map(|a| (a.model.as_str(), a.se))
            .collect();
        assert_eq!(
            names,
            [("m1", Some(0.2)), ("x", None), ("z", None), ("w", None)]
        );
        // The row without theta is left out, with a warning naming it.
        assert!(
            inputs
                .warnings
                .iter()
                .any(|w| w.contains("ab.csv:3") && w.contains("'y'")),
            "{:?}",
            inputs.warnings
        );
    }

    #[test]
    fn unknown_and_malformed_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Inputs::new();
        let p = write(dir.path(), "odd.csv", "foo,bar\n1,2\n");
        let e = inputs.add_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("odd.csv:1:") && e.contains("does not know"),
            "{e}"
        );
        let p = write(dir.path(), "bad.csv", "examinee,theta,se\nm,abc,0.1\n");
        let e = inputs.add_file(&p).unwrap_err().to_string();
        assert!(e.contains("bad.csv:2:") && e.contains("'abc'"), "{e}");
        let p = write(dir.path(), "bad.json", "{\"a\": ");
        let e = inputs.add_file(&p).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("JSON"), "{e}");
        let p = write(dir.path(), "num.json", "42");
        let e = inputs.add_file(&p).unwrap_err().to_string();
        assert!(e.contains("num.json"), "{e}");
        assert!(inputs.files.is_empty());
    }
}
