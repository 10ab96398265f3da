//! Content tags of items: what content balancing and per-group predicted
//! scores group items by.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::bank::{Item, ItemBank};
use crate::ids::ItemId;

/// The tags of one item: its subject `category`, its `dimension` (for LLM
/// banks: general, industry, application, safety) and any other named tags.
///
/// Tags are looked up by name with [`Tags::get`]: `"category"` and
/// `"dimension"` read the two named fields, any other name reads `other`.
///
/// ```
/// use fangsheng::cat::Tags;
/// let t = Tags::category("math").with("source", "ori_mmlu");
/// assert_eq!(t.get("category"), Some("math"));
/// assert_eq!(t.get("source"), Some("ori_mmlu"));
/// assert_eq!(t.get("dimension"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tags {
    /// Subject category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Dimension of the benchmark the item measures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    /// Any further tags, by name.
    #[serde(default, flatten)]
    pub other: BTreeMap<String, String>,
}

impl Tags {
    /// The tags of a bank item: its category and dimension.
    pub fn of_item(item: &Item) -> Self {
        Tags {
            category: item.category.clone(),
            dimension: item.dimension.clone(),
            other: BTreeMap::new(),
        }
    }

    /// The tags of every item of `bank`, by id.
    pub fn of_bank(bank: &ItemBank) -> HashMap<ItemId, Tags> {
        bank.items()
            .iter()
            .map(|i| (i.id.clone(), Tags::of_item(i)))
            .collect()
    }

    /// Tags with only a category.
    pub fn category(value: impl Into<String>) -> Self {
        Tags {
            category: Some(value.into()),
            ..Tags::default()
        }
    }

    /// These tags with tag `name` set to `value` (`"category"` and
    /// `"dimension"` set the named fields).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match name {
            "category" => self.category = Some(value),
            "dimension" => self.dimension = Some(value),
            _ => {
                self.other.insert(name.to_owned(), value);
            }
        }
        self
    }

    /// The value of tag `name`, if the item has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        match name {
            "category" => self.category.as_deref(),
            "dimension" => self.dimension.as_deref(),
            _ => self.other.get(name).map(String::as_str),
        }
    }

    /// Names of the tags this item has.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.category
            .as_ref()
            .map(|_| "category")
            .into_iter()
            .chain(self.dimension.as_ref().map(|_| "dimension"))
            .chain(self.other.keys().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_other_tags_round_trip_through_json() {
        let t = Tags::category("law")
            .with("dimension", "industry")
            .with("src", "x");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"category":"law","dimension":"industry","src":"x"}"#
        );
        let back: Tags = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(
            back.names().collect::<Vec<_>>(),
            ["category", "dimension", "src"]
        );
    }
}
