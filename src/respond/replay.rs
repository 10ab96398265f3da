//! Answers from a recorded run: JSON Lines `{"item_id", "model", "output"}`
//! (gzip accepted), as in `shared/data/mmlu-pro/generations/`.

use std::collections::{BTreeSet, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Backend, BackendError, BackendErrorKind, Reply};
use crate::bank::Item;
use crate::error::{Error, ErrorKind, Result};
use crate::prompt::Prompt;

/// One model's recorded outputs, by item id.
#[derive(Debug, Clone)]
pub struct Replay {
    path: PathBuf,
    model: String,
    outputs: HashMap<String, String>,
}

impl Replay {
    /// Reads the outputs of `model` from `path`. With `model` `None` the
    /// file must hold a single model's outputs. A `null` output is an empty
    /// one (the model said nothing).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be read; [`ErrorKind::Format`]
    /// naming `file:line` for a line that is not a JSON object with
    /// `item_id` (string or integer), `model` and `output` (strings);
    /// [`ErrorKind::Item`] for an item recorded twice for the model;
    /// [`ErrorKind::Config`] when `model` is not in the file, or `None` and
    /// the file holds several models (their names are listed).
    pub fn load(path: &Path, model: Option<&str>) -> Result<Self> {
        let reader = crate::io::open_read(path)?;
        let mut by_model: HashMap<String, HashMap<String, String>> = HashMap::new();
        for (i, line) in reader.lines().enumerate() {
            let line_no = i as u64 + 1;
            let line = line.map_err(|e| Error::io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let located = |e: Error| e.at_line(line_no).in_file(path);
            let (id, m, output) = parse_line(&line).map_err(located)?;
            if model.is_some_and(|want| want != m) {
                continue;
            }
            let outputs = by_model.entry(m).or_default();
            if outputs.insert(id.clone(), output).is_some() {
                return Err(located(
                    Error::new(ErrorKind::Item, "recorded twice for this model").for_item(id),
                ));
            }
        }
        let (model, outputs) = match model {
            Some(want) => match by_model.remove_entry(want) {
                Some(found) => found,
                None => {
                    return Err(
                        Error::config(format!("no outputs of model '{want}'")).in_file(path)
                    );
                }
            },
            None if by_model.len() == 1 => by_model.into_iter().next().unwrap_or_default(),
            None => {
                let names: BTreeSet<_> = by_model.keys().cloned().collect();
                return Err(Error::config(if names.is_empty() {
                    "no recorded outputs".to_owned()
                } else {
                    format!(
                        "outputs of {} models ({}); name one",
                        names.len(),
                        names.into_iter().collect::<Vec<_>>().join(", ")
                    )
                })
                .in_file(path));
            }
        };
        Ok(Replay {
            path: path.to_path_buf(),
            model,
            outputs,
        })
    }

    /// The model whose outputs are replayed.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Number of recorded items.
    pub fn len(&self) -> usize {
        self.outputs.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// The recorded output for item `id`.
    pub fn output(&self, id: &str) -> Option<&str> {
        self.outputs.get(id).map(String::as_str)
    }
}

fn parse_line(line: &str) -> Result<(String, String, String)> {
    let v: Value =
        serde_json::from_str(line).map_err(|e| Error::format(format!("not valid JSON: {e}")))?;
    let id = match v.get("item_id") {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return Err(Error::format("no 'item_id' (a string or an integer)")),
    };
    let model = match v.get("model") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(Error::format("no 'model' (a string)").for_item(id)),
    };
    let output = match v.get("output") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) => String::new(),
        _ => return Err(Error::format("no 'output' (a string)").for_item(id)),
    };
    Ok((id, model, output))
}

impl Backend for Replay {
    fn describe(&self) -> String {
        format!("replay {} model={}", self.path.display(), self.model)
    }

    fn ask(&self, _prompt: &Prompt, item: &Item) -> Result<Reply, BackendError> {
        self.output(item.id.as_str())
            .map(Reply::immediate)
            .ok_or_else(|| {
                BackendError::new(
                    BackendErrorKind::NotRecorded,
                    format!(
                        "the recorded run of '{}' has no output for item '{}'",
                        self.model, item.id
                    ),
                )
            })
    }
}
