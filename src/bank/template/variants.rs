//! What identifies a variant ([`Variant`]) and the record of the variants a
//! campaign has asked ([`UsedVariants`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::Slots;

/// The variant an exam asked: its slot values, and the key they give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Slot values by name.
    pub slots: Slots,
    /// The answer as the variant renders it: the number or text, or for
    /// multiple choice the correct choice's text.
    pub answer: String,
    /// The key letter of a multiple-choice variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<char>,
}

impl Variant {
    /// The variant's identity within its template: its slot values as
    /// canonical JSON.
    pub fn key_text(&self) -> String {
        slots_key(&self.slots)
    }
}

pub(super) fn slots_key(slots: &Slots) -> String {
    serde_json::to_string(slots).unwrap_or_default()
}

/// The variants a campaign has asked, per template id: shared by the exams
/// of a campaign (it is `Sync`), so that no two of them, and no exam and an
/// earlier one whose journal was read in, get the same variant while unused
/// ones remain.
#[derive(Debug, Default)]
pub struct UsedVariants {
    used: Mutex<HashMap<String, HashSet<String>>>,
}

impl UsedVariants {
    /// An empty set.
    pub fn new() -> Arc<Self> {
        Arc::new(UsedVariants::default())
    }

    /// Marks `variant` of template `item` as used; false when it already was.
    pub fn insert(&self, item: &str, variant: &Variant) -> bool {
        self.lock()
            .entry(item.to_owned())
            .or_default()
            .insert(variant.key_text())
    }

    /// Marks every `(template id, variant)` as used, for example those of a
    /// journal read back (`Contents::variants` in `crate::exam`).
    pub fn extend<'a>(&self, variants: impl IntoIterator<Item = (&'a str, &'a Variant)>) {
        let mut used = self.lock();
        for (item, v) in variants {
            used.entry(item.to_owned())
                .or_default()
                .insert(v.key_text());
        }
    }

    /// Whether `variant` of template `item` was used.
    pub fn contains(&self, item: &str, variant: &Variant) -> bool {
        self.lock()
            .get(item)
            .is_some_and(|s| s.contains(&variant.key_text()))
    }

    /// How many variants of template `item` were used.
    pub fn count(&self, item: &str) -> usize {
        self.lock().get(item).map_or(0, HashSet::len)
    }

    pub(super) fn has_key(&self, item: &str, key: &str) -> bool {
        self.lock().get(item).is_some_and(|s| s.contains(key))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        // A panic elsewhere while holding the lock leaves a set that is still
        // a valid set of strings: carry on with it.
        self.used.lock().unwrap_or_else(|p| p.into_inner())
    }
}
