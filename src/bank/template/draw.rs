//! Drawing variants: walking the slot space, the `where` conditions, and
//! building a variant's question, choices and key from its slot values.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::variants::slots_key;
use super::{Choices, Piece, Slots, Template, UsedVariants, Variant};
use crate::bank::content::{Item, ItemType, MAX_CHOICES, letter};
use crate::bank::template_expr::{Expr, Value};
use crate::error::{Error, Result};

/// Random draws tried before walking the slot space in order.
const RANDOM_TRIES: u64 = 64;
/// The most slot assignments a draw walks through when random draws keep
/// hitting used or excluded ones.
const WALK_LIMIT: u64 = 1 << 20;

/// What [`Template::draw`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    /// The variant as an item: the template's id, the drawn question, key and
    /// choices, and no template.
    pub item: Item,
    /// Its record.
    pub variant: Variant,
    /// True when every variant had been used: this one repeats.
    pub repeated: bool,
}

/// A stable 64-bit mix of a seed, a text and a number (FNV-1a, then
/// SplitMix64 finalisation), independent of platform and of Rust's hashing.
fn mix(seed: u64, text: &str, n: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in text.bytes().chain(n.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl Template {
    /// Draws `n` variants from a fixed seed and builds each: loading checks
    /// [`LOAD_SAMPLE`](super::LOAD_SAMPLE) of them, `fangsheng bank validate`
    /// looks further.
    ///
    /// # Errors
    /// As [`Template::parse`], for the first bad draw, with its slot values.
    pub fn check_draws(&self, n: usize) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(0x7e3a_11d0);
        let size = self.space_size();
        let mut found = false;
        for i in 0..n as u64 {
            let index = if size <= n as u64 {
                i % size
            } else {
                rng.random_range(0..size)
            };
            let slots = self.slots_at(index);
            match self.admits(&slots) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => return Err(with_slots(e, &slots)),
            }
            found = true;
            self.build_parts(&slots)
                .map_err(|e| with_slots(e, &slots))?;
        }
        if !found && self.first_admitted(0, size.min(WALK_LIMIT)).is_none() {
            return Err(Error::value(
                "no slot values meet every template.where condition",
            ));
        }
        Ok(())
    }

    /// Number of slot assignments (the product of the slots' sizes,
    /// saturating), before `where` conditions.
    pub fn space_size(&self) -> u64 {
        self.slots
            .values()
            .fold(1u64, |acc, s| acc.saturating_mul(s.size()))
    }

    /// Number of distinct variants: slot assignments meeting the `where`
    /// conditions, counted when there are at most about a million, else
    /// [`Template::space_size`].
    pub fn n_variants(&self) -> u64 {
        let size = self.space_size();
        if size > WALK_LIMIT {
            return size;
        }
        (0..size)
            .filter(|&i| self.admits(&self.slots_at(i)).unwrap_or(false))
            .count() as u64
    }

    /// The slot values of assignment `index` (mixed radix over the slots in
    /// name order).
    fn slots_at(&self, mut index: u64) -> Slots {
        let mut slots = Slots::new();
        for (name, slot) in &self.slots {
            let n = slot.size();
            slots.insert(name.clone(), slot.value(index % n));
            index /= n;
        }
        slots
    }

    fn env(&self, slots: &Slots) -> Result<BTreeMap<String, Value>> {
        let mut env = slots.clone();
        for (name, e) in &self.lets {
            let v = e
                .eval(&env, &self.tables)
                .map_err(|err| Error::value(format!("let '{name}': {}", err.message())))?;
            env.insert(name.clone(), v);
        }
        Ok(env)
    }

    /// Whether `slots` meet the `where` conditions.
    fn admits(&self, slots: &Slots) -> Result<bool> {
        if self.conditions.is_empty() {
            return Ok(true);
        }
        let env = self.env(slots)?;
        for c in &self.conditions {
            let v = c
                .eval(&env, &self.tables)
                .map_err(|e| Error::value(format!("template.where: {}", e.message())))?;
            if v == Value::Num(0.0) || v == Value::Text(String::new()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn first_admitted(&self, from: u64, limit: u64) -> Option<Slots> {
        let size = self.space_size();
        (0..limit.min(size))
            .map(|k| self.slots_at((from + k) % size))
            .find(|s| self.admits(s).unwrap_or(false))
    }

    /// Question, choices, key letter and answer text of the variant `slots`.
    fn build_parts(&self, slots: &Slots) -> Result<(String, Vec<String>, String, Variant)> {
        let env = self.env(slots)?;
        let eval = |e: &Expr, what: &str| {
            e.eval(&env, &self.tables)
                .map_err(|err| Error::value(format!("{what}: {}", err.message())))
        };
        let mut question = String::new();
        for p in &self.question {
            match p {
                Piece::Text(t) => question.push_str(t),
                Piece::Expr(e) => question.push_str(&eval(e, "the question")?.to_string()),
            }
        }
        let answer = eval(&self.answer, "template.answer")?;
        let answer_text = answer.to_string();
        let variant = |key: Option<char>| Variant {
            slots: slots.clone(),
            answer: answer_text.clone(),
            key,
        };
        match (&self.choices, self.kind) {
            (Choices::None, ItemType::Numeric) => {
                if let Value::Text(t) = &answer {
                    return Err(Error::value(format!(
                        "template.answer of a numeric template gave the text '{t}'"
                    )));
                }
                Ok((question, Vec::new(), answer_text.clone(), variant(None)))
            }
            (Choices::None, _) => {
                if answer_text.trim().is_empty() {
                    return Err(Error::value("template.answer gave an empty text"));
                }
                Ok((question, Vec::new(), answer_text.clone(), variant(None)))
            }
            (Choices::Fixed(list), _) => {
                let texts = list
                    .iter()
                    .map(|e| eval(e, "a choice").map(|v| v.to_string()))
                    .collect::<Result<Vec<_>>>()?;
                check_choices(&texts)?;
                let k = texts
                    .iter()
                    .position(|c| *c == answer_text)
                    .ok_or_else(|| {
                        Error::value(format!(
                            "the answer '{answer_text}' is not among the choices {texts:?}"
                        ))
                    })?;
                let key = letter(k);
                Ok((question, texts, key.to_string(), variant(Some(key))))
            }
            (Choices::Distractors(list), _) => {
                let mut texts = vec![answer_text.clone()];
                for e in list {
                    let t = eval(e, "a distractor")?.to_string();
                    if !texts.contains(&t) {
                        texts.push(t);
                    }
                }
                if texts.len() < 2 {
                    return Err(Error::value(format!(
                        "every distractor equals the answer '{answer_text}': fewer than 2 choices"
                    )));
                }
                check_choices(&texts)?;
                // The order follows from the slot values alone, so a
                // journalled variant is rebuilt with the same letters.
                let mut rng = ChaCha8Rng::seed_from_u64(mix(0, &slots_key(slots), 0));
                for i in (1..texts.len()).rev() {
                    let j = rng.random_range(0..=i);
                    texts.swap(i, j);
                }
                let k = texts.iter().position(|c| *c == answer_text).unwrap_or(0);
                let key = letter(k);
                Ok((question, texts, key.to_string(), variant(Some(key))))
            }
        }
    }

    /// The variant `slots` of the template item `base`: `base` with the
    /// drawn question, choices and key, and no template.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Value`] naming the item when a slot is missing,
    /// unknown or outside its values, or the variant cannot be built.
    pub fn instance(&self, base: &Item, slots: &Slots) -> Result<(Item, Variant)> {
        let located = |e: Error| e.for_item(base.id.as_str());
        if let Some(name) = self.slots.keys().find(|n| !slots.contains_key(*n)) {
            return Err(located(Error::value(format!("no value for slot '{name}'"))));
        }
        for (name, v) in slots {
            match self.slots.get(name) {
                None => return Err(located(Error::value(format!("no slot '{name}'")))),
                Some(s) if !s.contains(v) => {
                    return Err(located(Error::value(format!(
                        "'{v}' is not a value of slot '{name}'"
                    ))));
                }
                Some(_) => {}
            }
        }
        let (question, choices, answer, variant) = self
            .build_parts(slots)
            .map_err(|e| located(with_slots(e, slots)))?;
        let item = Item {
            question,
            choices,
            answer,
            template: None,
            ..base.clone()
        };
        item.check()?;
        Ok((item, variant))
    }

    /// Draws a variant of template item `base` for an exam with seed `seed`,
    /// avoiding the variants in `used` (which it does not update).
    ///
    /// Draw `t = 0, 1, ...` takes the slot assignment numbered by a
    /// generator seeded from `(seed, item id, t)`; after 64 draws that are
    /// used or fail the `where` conditions, the slot space is walked in
    /// order from the last one. When every admitted variant is used (the
    /// slot space is exhausted), the first admitted draw is returned with
    /// `repeated` set.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Value`] naming the item when no slot values meet
    /// the `where` conditions or the variant cannot be built.
    pub fn draw(&self, base: &Item, seed: u64, used: &UsedVariants) -> Result<Draw> {
        let id = base.id.as_str();
        let size = self.space_size();
        let mut first = None;
        let mut pick = |slots: Slots| -> Result<Option<Slots>> {
            if !self.admits(&slots).map_err(|e| e.for_item(id))? {
                return Ok(None);
            }
            if used.has_key(id, &slots_key(&slots)) {
                first.get_or_insert(slots);
                return Ok(None);
            }
            Ok(Some(slots))
        };
        let mut last = 0;
        let mut chosen = None;
        for t in 0..RANDOM_TRIES {
            let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, id, t));
            last = rng.random_range(0..size);
            if let Some(s) = pick(self.slots_at(last))? {
                chosen = Some(s);
                break;
            }
        }
        if chosen.is_none() {
            for k in 1..=size.min(WALK_LIMIT) {
                if let Some(s) = pick(self.slots_at((last + k) % size))? {
                    chosen = Some(s);
                    break;
                }
            }
        }
        let (slots, repeated) = match (chosen, first) {
            (Some(s), _) => (s, false),
            (None, Some(f)) => (f, true),
            (None, None) => {
                return Err(
                    Error::value("no slot values meet every template.where condition").for_item(id),
                );
            }
        };
        let (item, variant) = self.instance(base, &slots)?;
        Ok(Draw {
            item,
            variant,
            repeated,
        })
    }
}

fn check_choices(texts: &[String]) -> Result<()> {
    if texts.len() > MAX_CHOICES {
        return Err(Error::value(format!(
            "{} choices, more than the {MAX_CHOICES} letters A..Z",
            texts.len()
        )));
    }
    if let Some(t) = texts.iter().find(|t| t.trim().is_empty()) {
        return Err(Error::value(format!("a choice is empty ('{t}')")));
    }
    Ok(())
}

/// The error with the slot values that caused it.
fn with_slots(e: Error, slots: &Slots) -> Error {
    let shown: Vec<String> = slots.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    let mut out = Error::new(
        e.kind(),
        format!("{} (with {})", e.message(), shown.join(", ")),
    );
    if let Some(item) = e.item() {
        out = out.for_item(item);
    }
    out
}
