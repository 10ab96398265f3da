//! Item content: the questions an exam asks, apart from their calibrated
//! parameters.
//!
//! A bank is a folder `item-banks/<name>/` holding `items.jsonl`, one JSON
//! object per line:
//!
//! ```text
//! {"id": "q1", "question": "2 + 2 = ?", "choices": ["3", "4"], "answer": "B",
//!  "type": "multiple_choice", "category": "arithmetic", "dimension": "general",
//!  "tags": ["demo"]}
//! ```
//!
//! Calibrated parameters live in a separate file ([`ParamSet`](super::ParamSet)),
//! so recalibrating never rewrites content; [`ItemBank::validate_against`]
//! checks that the two describe the same items.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::io::sha256_hex;
use serde::{Deserialize, Serialize};

use super::content_parse::{parse_lines, to_json_line};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::ItemId;

/// The file name of a bank's content inside its folder.
pub const ITEMS_FILE: &str = "items.jsonl";

/// The gzipped form of [`ITEMS_FILE`], read when the plain file is absent
/// (a large bank ships this way).
pub const ITEMS_FILE_GZ: &str = "items.jsonl.gz";

/// How an item's answer is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// Choices lettered `A`, `B`, ...; the answer is the correct letter.
    MultipleChoice,
    /// A short text answer, compared after normalisation.
    Exact,
    /// A number, compared within [`Item::tolerance`] / [`Item::rel_tolerance`].
    Numeric,
    /// A regular expression the output must match.
    Regex,
}

impl ItemType {
    /// Every type, in the order used by summaries.
    pub const ALL: [ItemType; 4] = [
        ItemType::MultipleChoice,
        ItemType::Exact,
        ItemType::Numeric,
        ItemType::Regex,
    ];

    /// The name used in `items.jsonl` (`multiple_choice`, `exact`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::MultipleChoice => "multiple_choice",
            ItemType::Exact => "exact",
            ItemType::Numeric => "numeric",
            ItemType::Regex => "regex",
        }
    }

    /// Parses a type name as written in `items.jsonl`.
    ///
    /// # Errors
    /// [`ErrorKind::Value`] naming the unknown type and the known ones.
    pub fn parse(name: &str) -> Result<Self> {
        ItemType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| {
                Error::value(format!(
                    "unknown type '{name}' (expected multiple_choice, exact, numeric or regex)"
                ))
            })
    }
}

impl std::fmt::Display for ItemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most choices an item may have: one per letter `A..Z`.
pub const MAX_CHOICES: usize = 26;

/// One question with its answer key.
///
/// The fields are public so that tools can build items in memory; a bank
/// built with [`ItemBank::from_items`] checks each with [`Item::check`].
/// The answer key (`answer`, `kind`, `choices`, the tolerances) holds what a
/// grader needs: for example a multiple-choice key is
/// `(key_letter(), choices.len())` and a numeric key is
/// `(numeric_answer(), tolerance(), rel_tolerance())`.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Unique id within the bank (integers in the file become their text).
    pub id: ItemId,
    /// The question text.
    pub question: String,
    /// Choice texts for multiple-choice items, in letter order; empty for
    /// other types.
    pub choices: Vec<String>,
    /// The key: an upper-case letter for multiple choice, the text for exact,
    /// the number as written for numeric, the pattern for regex.
    pub answer: String,
    /// How the answer is checked (`type` in the file).
    pub kind: ItemType,
    /// Absolute tolerance of a numeric answer (none: 0).
    pub tolerance: Option<f64>,
    /// Relative tolerance of a numeric answer, a fraction of `|answer|`
    /// (none: 0).
    pub rel_tolerance: Option<f64>,
    /// Subject, for per-category predicted scores.
    pub category: Option<String>,
    /// What the item measures: `general`, `industry`, `application`,
    /// `safety`, or free text.
    pub dimension: Option<String>,
    /// Free labels.
    pub tags: Vec<String>,
    /// Anything else, kept as written (for example the source of the item, or
    /// `example`, a text that matches a regex item's pattern, which the
    /// simulated backend uses as its correct answer).
    pub meta: serde_json::Map<String, serde_json::Value>,
    /// Set for a dynamic item template ([`super::template`]): the fields
    /// above then hold one concrete variant (the preview), and exams draw
    /// fresh variants from the template.
    pub template: Option<std::sync::Arc<super::Template>>,
}

impl Item {
    /// A multiple-choice item with the given key letter (checked by
    /// [`Item::check`], not here).
    pub fn multiple_choice(
        id: impl Into<ItemId>,
        question: impl Into<String>,
        choices: Vec<String>,
        answer: char,
    ) -> Self {
        Item {
            id: id.into(),
            question: question.into(),
            choices,
            answer: answer.to_ascii_uppercase().to_string(),
            kind: ItemType::MultipleChoice,
            tolerance: None,
            rel_tolerance: None,
            category: None,
            dimension: None,
            tags: Vec::new(),
            meta: serde_json::Map::new(),
            template: None,
        }
    }

    /// An item of a type without choices (`exact`, `numeric`, `regex`).
    pub fn open(
        id: impl Into<ItemId>,
        question: impl Into<String>,
        kind: ItemType,
        answer: impl Into<String>,
    ) -> Self {
        Item {
            kind,
            answer: answer.into(),
            choices: Vec::new(),
            ..Item::multiple_choice(id, question, Vec::new(), 'A')
        }
    }

    /// The choice letters of this item: `A`, `B`, ... one per choice.
    pub fn letters(&self) -> impl Iterator<Item = char> + '_ {
        (0..self.choices.len()).map(letter)
    }

    /// The key letter of a multiple-choice item.
    pub fn key_letter(&self) -> Option<char> {
        match self.kind {
            ItemType::MultipleChoice => self.answer.chars().next(),
            _ => None,
        }
    }

    /// The 0-based position of the correct choice of a multiple-choice item.
    pub fn key_index(&self) -> Option<usize> {
        self.key_letter()
            .and_then(letter_index)
            .filter(|&i| i < self.choices.len())
    }

    /// The correct value of a numeric item.
    pub fn numeric_answer(&self) -> Option<f64> {
        match self.kind {
            ItemType::Numeric => self
                .answer
                .trim()
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite()),
            _ => None,
        }
    }

    /// Absolute tolerance of a numeric item (0 when not given).
    pub fn tolerance(&self) -> f64 {
        self.tolerance.unwrap_or(0.0)
    }

    /// Relative tolerance of a numeric item (0 when not given).
    pub fn rel_tolerance(&self) -> f64 {
        self.rel_tolerance.unwrap_or(0.0)
    }

    /// Checks that the item is well-formed: a non-empty id and question,
    /// 2 to 26 choices and a key letter among them for multiple choice, no
    /// choices and a non-empty answer for the other types, a finite number
    /// for numeric answers, finite non-negative tolerances on numeric items
    /// only.
    ///
    /// # Errors
    /// [`ErrorKind::Value`] saying what is wrong, naming the item.
    pub fn check(&self) -> Result<()> {
        self.check_inner().map_err(|e| e.for_item(self.id.as_str()))
    }

    fn check_inner(&self) -> Result<()> {
        if self.id.as_str().trim().is_empty() {
            return Err(Error::value("the id is empty"));
        }
        if self.question.trim().is_empty() {
            return Err(Error::value("the question is empty"));
        }
        if self.kind != ItemType::Numeric
            && (self.tolerance.is_some() || self.rel_tolerance.is_some())
        {
            return Err(Error::value(format!(
                "tolerances are only for numeric items, not '{}'",
                self.kind
            )));
        }
        for (name, tol) in [
            ("tolerance", self.tolerance),
            ("rel_tolerance", self.rel_tolerance),
        ] {
            if let Some(t) = tol {
                if !(t.is_finite() && t >= 0.0) {
                    return Err(Error::value(format!(
                        "{name} {t} is not a finite number >= 0"
                    )));
                }
            }
        }
        match self.kind {
            ItemType::MultipleChoice => {
                let n = self.choices.len();
                if n < 2 {
                    return Err(Error::value(format!(
                        "a multiple_choice item needs at least 2 choices, it has {n}"
                    )));
                }
                if n > MAX_CHOICES {
                    return Err(Error::value(format!(
                        "{n} choices, more than the {MAX_CHOICES} letters A..Z"
                    )));
                }
                let mut chars = self.answer.chars();
                let ok = match (chars.next(), chars.next()) {
                    (Some(c), None) => letter_index(c).is_some_and(|i| i < n),
                    _ => false,
                };
                if !ok {
                    return Err(Error::value(format!(
                        "answer '{}' is not among the choices A..{}",
                        self.answer,
                        letter(n - 1)
                    )));
                }
            }
            kind => {
                if !self.choices.is_empty() {
                    return Err(Error::value(format!(
                        "choices are only for multiple_choice items, not '{kind}'"
                    )));
                }
                if self.answer.trim().is_empty() {
                    return Err(Error::value("the answer is empty"));
                }
                if kind == ItemType::Numeric && self.numeric_answer().is_none() {
                    return Err(Error::value(format!(
                        "answer '{}' of a numeric item is not a finite number",
                        self.answer
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The letter of the 0-based choice `i` (`0 -> 'A'`). `i` must be below 26.
pub fn letter(i: usize) -> char {
    debug_assert!(i < MAX_CHOICES);
    (b'A' + i as u8) as char
}

/// The 0-based position of choice letter `c` (either case), if it is one.
pub fn letter_index(c: char) -> Option<usize> {
    let u = c.to_ascii_uppercase();
    u.is_ascii_uppercase().then(|| (u as u8 - b'A') as usize)
}

/// A bank of items with unique ids, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemBank {
    name: String,
    items: Vec<Item>,
    index: HashMap<ItemId, usize>,
    digest: String,
}

impl ItemBank {
    /// Builds a bank from items, checking each ([`Item::check`]) and that ids
    /// are unique.
    ///
    /// # Errors
    /// The first bad item's error, or [`ErrorKind::Item`] for a repeated id;
    /// [`ErrorKind::Format`] for an empty bank.
    pub fn from_items(name: impl Into<String>, items: Vec<Item>) -> Result<Self> {
        let mut index = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            item.check()?;
            if index.insert(item.id.clone(), i).is_some() {
                return Err(
                    Error::new(ErrorKind::Item, "item id appears more than once")
                        .for_item(item.id.as_str()),
                );
            }
        }
        if items.is_empty() {
            return Err(Error::format("the bank has no items"));
        }
        let digest = sha256_hex(Self::render(&items).as_bytes());
        Ok(ItemBank {
            name: name.into(),
            items,
            index,
            digest,
        })
    }

    /// Reads a bank: a folder holding `items.jsonl` (or `items.jsonl.gz`),
    /// or an items file itself, gzipped or not.
    ///
    /// The bank's name is the folder's name (for a file, the name of the
    /// folder it is in when it is called `items.jsonl*`, else the file name
    /// without extensions).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be read; otherwise the first
    /// problem found, naming `file:line` and the item: a line that is not
    /// valid JSON or not an object, a missing or mistyped field, an unknown
    /// field or type, an answer that is not among the choices, a repeated id.
    /// When there are several, the message ends with how many more there are;
    /// [`ItemBank::problems`] lists them all.
    pub fn load(path: &Path) -> Result<Self> {
        let (file, name) = locate(path)?;
        let text = crate::io::read_to_string(&file)?;
        Self::from_jsonl(name, &text, &file)
    }

    /// Reads a bank from the text of an `items.jsonl` file (for example one
    /// embedded in the binary); `file` names it in errors.
    ///
    /// # Errors
    /// As [`ItemBank::load`], without the I/O errors.
    pub fn from_jsonl(name: impl Into<String>, text: &str, file: &Path) -> Result<Self> {
        let (items, mut problems) = parse_lines(text, file);
        if !problems.is_empty() {
            let more = problems.len() - 1;
            let first = problems.swap_remove(0);
            return Err(if more == 0 {
                first
            } else {
                with_count(first, more)
            });
        }
        Self::from_parsed(name.into(), items, text, file)
    }

    fn from_parsed(name: String, items: Vec<Item>, text: &str, file: &Path) -> Result<Self> {
        if items.is_empty() {
            return Err(Error::format("the bank has no items").in_file(file));
        }
        let index = items
            .iter()
            .enumerate()
            .map(|(i, item)| (item.id.clone(), i))
            .collect();
        Ok(ItemBank {
            name,
            items,
            index,
            digest: sha256_hex(text.as_bytes()),
        })
    }

    /// Every problem of a bank file, one error per bad line (an empty list
    /// for a good file).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be read.
    pub fn problems(path: &Path) -> Result<Vec<Error>> {
        let (file, _) = locate(path)?;
        let text = crate::io::read_to_string(&file)?;
        let (items, mut problems) = parse_lines(&text, &file);
        if items.is_empty() && problems.is_empty() {
            problems.push(Error::format("the bank has no items").in_file(&file));
        }
        Ok(problems)
    }

    /// Writes the bank as `<dir>/items.jsonl`, atomically (an existing file
    /// is replaced only once the new one is complete), and returns the file's
    /// path. The written text is the one [`ItemBank::digest`] hashes.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] naming the file.
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(ITEMS_FILE);
        let text = Self::render(&self.items);
        crate::io::write_atomic(&path, |w| {
            w.write_all(text.as_bytes())
                .map_err(|e| Error::io(&path, e))
        })?;
        Ok(path)
    }

    /// [`ItemBank::save`] as `<dir>/items.jsonl.gz`. The gzip stream is the
    /// same for the same items on every machine and build
    /// ([`crate::io::gzip_stable`]), so a shipped bank rebuilds byte for
    /// byte.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] naming the file.
    pub fn save_gzipped(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(ITEMS_FILE_GZ);
        let bytes = crate::io::gzip_stable(Self::render(&self.items).as_bytes());
        crate::io::write_atomic(&path, |w| {
            w.write_all(&bytes).map_err(|e| Error::io(&path, e))
        })?;
        Ok(path)
    }

    fn render(items: &[Item]) -> String {
        let mut text = String::new();
        for item in items {
            text.push_str(&to_json_line(item));
            text.push('\n');
        }
        text
    }

    /// The bank's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same bank under another name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// SHA-256 (hex) of the bank's `items.jsonl` text (decompressed): a
    /// version of the content, recorded in exam journals so that a journal
    /// is never resumed against other content.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Items in file order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Always false: a bank has at least one item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item with id `id`.
    pub fn get(&self, id: &str) -> Option<&Item> {
        self.index.get(id).map(|&i| &self.items[i])
    }

    /// Position of item `id` in file order.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }
}

/// Resolves a bank path to its items file and the bank's name.
fn locate(path: &Path) -> Result<(PathBuf, String)> {
    if path.is_dir() {
        let name = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "bank".into());
        for file in [ITEMS_FILE, ITEMS_FILE_GZ] {
            let candidate = path.join(file);
            if candidate.is_file() {
                return Ok((candidate, name));
            }
        }
        return Err(
            Error::new(ErrorKind::Io, format!("no {ITEMS_FILE} in the bank folder")).in_file(path),
        );
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if file_name.starts_with("items.") {
        path.canonicalize()
            .ok()
            .and_then(|p| {
                p.parent()
                    .and_then(|d| d.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "bank".into())
    } else {
        file_name
            .split('.')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("bank")
            .to_owned()
    };
    Ok((path.to_path_buf(), name))
}

/// The same error with "(and N more problems)" after its message.
fn with_count(e: Error, more: usize) -> Error {
    let plural = if more == 1 { "" } else { "s" };
    let mut out = Error::new(
        e.kind(),
        format!(
            "{} (and {more} more problem{plural} in this file)",
            e.message()
        ),
    );
    if let Some(item) = e.item() {
        out = out.for_item(item);
    }
    if let Some(line) = e.line() {
        out = out.at_line(line);
    }
    if let Some(path) = e.path() {
        out = out.in_file(path);
    }
    out
}
