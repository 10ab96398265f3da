//! What online calibration reads: per examinee, the answers to operational
//! (calibrated) items and to pretest items, and the exam's ability
//! estimate, gathered from exam journals or a long CSV.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::io::sha256_hex;

use crate::bank::ParamSet;
use crate::error::{Error, ErrorKind, Result};
use crate::exam::Journal;
use crate::ids::ItemId;

/// One examinee's responses.
#[derive(Debug, Clone, PartialEq)]
pub struct Examinee {
    /// Who (the journal's path, or the CSV's examinee id).
    pub id: String,
    /// `(position in the parameter set, score)` of operational items.
    pub operational: Vec<(usize, usize)>,
    /// `(position in` [`PretestData::items`]`, score)` of pretest items.
    pub pretest: Vec<(usize, usize)>,
    /// The exam's final ability estimate, when recorded.
    pub theta: Option<f64>,
}

/// Responses for online calibration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PretestData {
    /// The new items, in order of first appearance (items asked but never
    /// answered included).
    pub items: Vec<ItemId>,
    /// The examinees.
    pub examinees: Vec<Examinee>,
    /// The sources read, in order.
    pub sources: Vec<String>,
    /// SHA-256 over the sources' own SHA-256 digests, in order.
    pub digest: String,
}

/// Journals in `dir` (`*.jsonl`, sorted by name), or `path` itself.
///
/// # Errors
/// An unreadable folder ([`ErrorKind::Io`]).
pub fn journal_paths(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::io(path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    out.sort();
    Ok(out)
}

impl PretestData {
    fn new_item(&mut self, index: &mut HashMap<ItemId, usize>, id: &str) -> usize {
        *index.entry(ItemId::from(id)).or_insert_with(|| {
            self.items.push(ItemId::from(id));
            self.items.len() - 1
        })
    }

    fn seal(&mut self, digests: &[String]) {
        self.digest = sha256_hex(digests.join("\n").as_bytes());
    }

    /// Reads exam journals. Steps marked pretest are pretest responses;
    /// the others must be items of `params`. The examinee's ability is the
    /// estimate after its last step.
    ///
    /// `params_digest`, when given, is the SHA-256 of the parameter file's
    /// bytes: a journal written under another calibration is refused (its
    /// abilities are on another scale), naming the journal.
    ///
    /// # Errors
    /// A journal that cannot be read ([`Journal::read`]); another
    /// calibration ([`ErrorKind::Config`]); an operational step whose item is
    /// not in `params` ([`ErrorKind::Item`]); a journal given twice.
    pub fn from_journals(
        paths: &[PathBuf],
        params: &ParamSet,
        params_digest: Option<&str>,
    ) -> Result<(Self, Vec<String>)> {
        let mut data = PretestData::default();
        let mut index = HashMap::new();
        let mut digests = Vec::new();
        let mut warnings = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for path in paths {
            if !seen.insert(path.clone()) {
                return Err(Error::config("journal given twice").in_file(path));
            }
            let contents = Journal::read(path)?;
            if let Some(w) = contents.warning {
                warnings.push(w);
            }
            if let Some(want) = params_digest {
                if contents.header.params_digest != want {
                    return Err(Error::config(format!(
                        "the journal was written under another calibration (params digest {}, version {}) than --params (digest {want}); its abilities are on another scale",
                        contents.header.params_digest,
                        contents.header.params_version.as_deref().unwrap_or("unversioned")
                    ))
                    .in_file(path));
                }
            }
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            digests.push(sha256_hex(&bytes));
            let mut ex = Examinee {
                id: path.display().to_string(),
                operational: Vec::new(),
                pretest: Vec::new(),
                theta: contents.steps.last().map(|s| s.theta),
            };
            for step in &contents.steps {
                if step.pretest {
                    let p = data.new_item(&mut index, &step.item_id);
                    if let Some(score) = step.score {
                        ex.pretest.push((p, usize::from(score)));
                    }
                    continue;
                }
                let Some(score) = step.score else { continue };
                let j = params.index_of(&step.item_id).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Item,
                        format!(
                            "step {}: an operational item not in --params (a journal of another bank?)",
                            step.step
                        ),
                    )
                    .for_item(&step.item_id)
                    .in_file(path)
                })?;
                ex.operational.push((j, usize::from(score)));
            }
            data.examinees.push(ex);
            data.sources.push(path.display().to_string());
        }
        data.seal(&digests);
        Ok((data, warnings))
    }

    /// Reads a long CSV: columns `model` (or `examinee`, `examinee_id`), `item`, `score`,
    /// optionally `theta` (the exam's estimate) and `pretest` (`1`/`true`
    /// marks a pretest row). Without a `pretest` column, rows of items not
    /// in `params` are pretest rows. An empty score is a pretest item asked
    /// without an answer.
    ///
    /// # Errors
    /// I/O; a missing column, a malformed score, theta or pretest value, or
    /// an operational row whose item is not in `params`, naming the line
    /// ([`ErrorKind::Format`], [`ErrorKind::Value`], [`ErrorKind::Item`]).
    pub fn from_long_csv(path: &Path, params: &ParamSet) -> Result<Self> {
        let text = crate::io::read_to_string(path)?;
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| Error::format(format!("cannot read the header: {e}")).in_file(path))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
        let need = |names: &[&str]| {
            col(names).ok_or_else(|| {
                Error::format(format!("no column {}", names.join(" or ")))
                    .at_line(1)
                    .in_file(path)
            })
        };
        let ex_col = need(&["model", "examinee", "examinee_id"])?;
        let item_col = need(&["item", "item_id"])?;
        let score_col = need(&["score"])?;
        let theta_col = col(&["theta"]);
        let pretest_col = col(&["pretest"]);
        let mut data = PretestData::default();
        let mut index = HashMap::new();
        let mut who: HashMap<String, usize> = HashMap::new();
        for (i, rec) in reader.records().enumerate() {
            let line = i as u64 + 2;
            let at = |e: Error| e.at_line(line).in_file(path);
            let rec = rec.map_err(|e| at(Error::format(format!("malformed row: {e}"))))?;
            let get = |c: usize| rec.get(c).unwrap_or("").trim();
            let item = get(item_col);
            let e = *who.entry(get(ex_col).to_owned()).or_insert_with(|| {
                data.examinees.push(Examinee {
                    id: get(ex_col).to_owned(),
                    operational: Vec::new(),
                    pretest: Vec::new(),
                    theta: None,
                });
                data.examinees.len() - 1
            });
            if let Some(c) = theta_col.filter(|&c| !get(c).is_empty()) {
                let t: f64 = get(c)
                    .parse()
                    .map_err(|_| at(Error::value(format!("theta '{}' is not a number", get(c)))))?;
                data.examinees[e].theta.get_or_insert(t);
            }
            let pretest = match pretest_col.map(get) {
                None => params.index_of(item).is_none(),
                Some("1" | "true" | "yes") => true,
                Some("0" | "false" | "no" | "") => false,
                Some(v) => {
                    return Err(at(Error::value(format!(
                        "pretest '{v}' is not 0/1 or true/false"
                    ))));
                }
            };
            let raw = get(score_col);
            let score: Option<usize> = if raw.is_empty() {
                None
            } else {
                Some(raw.parse().map_err(|_| {
                    at(Error::value(format!("score '{raw}' is not a whole number")).for_item(item))
                })?)
            };
            if pretest {
                let p = data.new_item(&mut index, item);
                if let Some(s) = score {
                    data.examinees[e].pretest.push((p, s));
                }
            } else if let Some(s) = score {
                let j = params.index_of(item).ok_or_else(|| {
                    at(
                        Error::new(ErrorKind::Item, "an operational item not in --params")
                            .for_item(item),
                    )
                })?;
                data.examinees[e].operational.push((j, s));
            }
        }
        data.sources.push(path.display().to_string());
        data.seal(&[sha256_hex(text.as_bytes())]);
        Ok(data)
    }

    /// Number of answers to each new item.
    pub fn counts(&self) -> Vec<usize> {
        let mut n = vec![0; self.items.len()];
        for e in &self.examinees {
            for &(p, _) in &e.pretest {
                n[p] += 1;
            }
        }
        n
    }
}
