//! Score links fitted on a leave-one-out report: the lines a score-link
//! file holds for one method, one per length, with the per-group lines of
//! the same exams.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use super::groups::BANK_TAG;
use super::{LooDetail, LooReport};
use crate::cat::{GroupLink, LengthLink, ScoreLink, ScoreLinkFile};
use crate::error::{Error, Result};

/// The level of the lines' prediction intervals whose coverage is measured.
const LEVEL: f64 = 0.95;

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
                coverage: ScoreLink::cross_validated_coverage(&pairs, &groups, LEVEL),
                groups: by_group
                    .into_iter()
                    .map(|((tag, value), (pairs, groups))| GroupLink {
                        tag: tag.to_owned(),
                        value: value.to_owned(),
                        link: ScoreLink::fit_grouped(&pairs, &groups),
                        coverage: ScoreLink::cross_validated_coverage(&pairs, &groups, LEVEL),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The score-link file of `method` at `lengths` ([`fit_links`]), for the
/// plan that method's exams ran; `source` says where the pairs came from.
///
/// # Errors
/// The report has no exams of `method`
/// ([`ErrorKind::Config`](crate::ErrorKind::Config)).
pub fn link_file(
    report: &LooReport,
    method: &str,
    lengths: &[usize],
    source: String,
) -> Result<ScoreLinkFile> {
    let plan = report
        .plans
        .iter()
        .find(|p| p.0 == method)
        .map(|p| &p.1)
        .ok_or_else(|| Error::config(format!("no '{method}' exams to fit a score link on")))?;
    Ok(ScoreLinkFile::new(
        source,
        plan,
        fit_links(report, method, lengths),
    ))
}

/// One line per length saying what the link is and how well it fits (and
/// how many group lines it has), for a terminal.
pub fn describe_links(links: &[LengthLink]) -> String {
    let mut s = String::new();
    for l in links {
        let _ = writeln!(
            s,
            "score link, {} items: observed = {:.4} + {:.4} x predicted (residual SD {:.2} points, {} pairs of {} models)",
            l.items,
            l.link.intercept,
            l.link.slope,
            100.0 * l.link.residual_sd,
            l.link.n,
            l.link.examinees
        );
        if l.groups.is_empty() {
            continue;
        }
        let sds = l.groups.iter().map(|g| g.link.residual_sd);
        let lo = sds.clone().fold(f64::INFINITY, f64::min);
        let hi = sds.fold(f64::NEG_INFINITY, f64::max);
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for g in &l.groups {
            *count.entry(g.tag.as_str()).or_default() += 1;
        }
        let tags: Vec<String> = count.iter().map(|(t, n)| format!("{t}: {n}")).collect();
        let _ = writeln!(
            s,
            "  and {} group lines ({}), residual SD {:.2} to {:.2} points",
            l.groups.len(),
            tags.join(", "),
            100.0 * lo,
            100.0 * hi
        );
    }
    s
}
