//! Score links fitted on a leave-one-out report: the lines a score-link
//! file holds for one method, one per length, with the per-group lines of
//! the same exams.

use std::collections::{BTreeMap, HashMap};

use super::groups::BANK_TAG;
use super::{LooDetail, LooReport};
use crate::cat::{GroupLink, LengthLink, ScoreLink};

/// The score link of `method` at each length of `lengths`: the
/// least-squares line from the held-out examinees' predicted to observed
/// scores, pooled over seeds (a method without random choices repeats each
/// examinee's exam on every seed, and then counts it once), and the same
/// line for every value of each group tag of the report.
pub fn fit_links(report: &LooReport, method: &str, lengths: &[usize]) -> Vec<LengthLink> {
    // The examinee of each pair, for the link's examinee count.
    let group_of: HashMap<&str, usize> = report
        .held_out
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    lengths
        .iter()
        .map(|&k| {
            let rows: Vec<&LooDetail> = report
                .details
                .iter()
                .filter(|d| d.method == method && d.items == k)
                .collect();
            let mut first: HashMap<&str, u64> = HashMap::new();
            let seed_free = rows.iter().all(|d| {
                *first
                    .entry(d.examinee.as_str())
                    .or_insert(d.predicted.to_bits())
                    == d.predicted.to_bits()
            });
            let first_seed = rows.first().map(|d| d.seed);
            let kept = |seed: u64| !seed_free || Some(seed) == first_seed;
            let (pairs, groups): (Vec<(f64, f64)>, Vec<usize>) = rows
                .iter()
                .filter(|d| kept(d.seed))
                .map(|d| ((d.predicted, d.observed), group_of[d.examinee.as_str()]))
                .unzip();
            // (tag, value) -> the group's pairs and their examinees.
            type Pairs = (Vec<(f64, f64)>, Vec<usize>);
            let mut by_group: BTreeMap<(&str, &str), Pairs> = BTreeMap::new();
            for d in report
                .group_details
                .iter()
                .filter(|d| d.method == method && d.items == k && d.tag != BANK_TAG && kept(d.seed))
            {
                let cell = by_group
                    .entry((d.tag.as_str(), d.value.as_str()))
                    .or_default();
                cell.0.push((d.predicted, d.observed));
                cell.1.push(group_of[d.examinee.as_str()]);
            }
            LengthLink {
                items: k,
                link: ScoreLink::fit_grouped(&pairs, &groups),
                groups: by_group
                    .into_iter()
                    .map(|((tag, value), (pairs, groups))| GroupLink {
                        tag: tag.to_owned(),
                        value: value.to_owned(),
                        link: ScoreLink::fit_grouped(&pairs, &groups),
                    })
                    .collect(),
            }
        })
        .collect()
}
