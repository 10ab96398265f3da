//! `fangsheng simulate --leave-one-out`: the evaluation run from the flags,
//! and the score link it can write.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use fangsheng::Result;
use fangsheng::calibrate::{CalibrationConfig, PriorConfig};
use fangsheng::cat::{
    BANK_TAG, BankScore, GroupLink, InnerChoice, LengthLink, LooConfig, LooDetail, LooReport, Plan,
    ScoreLink, ScoreLinkFile, Tags, Variant, leave_one_out,
};
use fangsheng::data::read_responses_with_no_answer;
use fangsheng::ids::ItemId;
use fangsheng::io::check_writable;
use fangsheng::model::ModelKind;

use crate::cli::output::emit;
use crate::cli::progress::ProgressLine;

use super::Args;
use super::loo_output::{
    group_markdown, markdown, write_asked, write_details, write_group_details, write_group_rows,
    write_loo,
};

pub(super) fn run_loo(
    args: &Args,
    plan: Plan,
    score: BankScore,
    tags: HashMap<ItemId, Tags>,
) -> anyhow::Result<()> {
    let source = args
        .input
        .responses
        .clone()
        .context("--leave-one-out needs --responses FILE")?;
    if args.params.is_some() || args.thetas.is_some() {
        bail!(
            "--leave-one-out calibrates its own parameters from --responses: drop --params and --thetas"
        );
    }
    let settings = args.models.len() * args.slope_prior_sd.len().max(1);
    if args.write_score_link.is_some() && settings != 1 {
        bail!(
            "--write-score-link fits the link of one calibration: give one --models and at most one --slope-prior-sd"
        );
    }
    // A leave-one-out run takes minutes to hours: an output it cannot
    // write must fail now, not when the run is over.
    let outputs = [
        &args.out,
        &args.details,
        &args.group_out,
        &args.group_details,
        &args.asked,
        &args.write_score_link,
    ];
    for path in outputs.into_iter().flatten() {
        check_writable(path)?;
    }
    let (responses, no_answer) = match args.no_answer_col.as_deref() {
        Some(col) => {
            let opts = args.input.read_options()?;
            let (responses, no_answer) = read_responses_with_no_answer(&source, &opts, col)?;
            (responses, Some(Arc::new(no_answer)))
        }
        None => (args.input.read()?, None),
    };
    let models = args
        .models
        .iter()
        .map(|m| m.parse::<ModelKind>())
        .collect::<Result<Vec<_>>>()?;
    let variants = args
        .variants
        .iter()
        .map(|v| Variant::parse(v))
        .collect::<Result<Vec<_>>>()?;
    let mut variants = variants;
    if let Some(tag) = &args.balance {
        // --balance applies to the plan; as a variant it needs the fold's bank.
        variants.insert(0, Variant::parse(&format!("content={tag}"))?);
    }
    let n = responses.n_examinees();
    let held_out = args.hold_out.map(|h| {
        let h = h.clamp(1, n);
        (0..h).map(|i| i * n / h).collect()
    });
    let config = LooConfig {
        calibration: CalibrationConfig {
            priors: if args.prior == "none" {
                PriorConfig::none()
            } else {
                PriorConfig::default()
            },
            ..CalibrationConfig::default()
        },
        models,
        lengths: args.lengths.clone(),
        seeds: args.seeds,
        seed: args.seed,
        plan,
        score,
        variants,
        tags,
        held_out,
        cache: args.cache.clone(),
        inner_choice: args.inner_choice.iter().any(|m| m == "in-sample"),
        inner_refit: args.inner_choice.iter().any(|m| m == "refit"),
        inner_link: args.inner_link,
        group_tags: args.group_scores.clone(),
        no_answer,
        record_asked: args.asked.is_some(),
        rescore_slope_prior: args
            .rescore_slope_prior_sd
            .map(|sd| crate::cli::positive_sd("rescore-slope-prior-sd", sd))
            .transpose()?,
        slope_priors: args
            .slope_prior_sd
            .iter()
            .map(|s| match s.trim() {
                "default" => Ok(None),
                x => x
                    .parse::<f64>()
                    .with_context(|| format!("--slope-prior-sd: '{x}' is not a number or default"))
                    .and_then(|sd| crate::cli::positive_sd("slope-prior-sd", sd))
                    .map(Some),
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let mut progress = ProgressLine::new(args.quiet);
    let report = leave_one_out(&responses, &config, &mut |msg| progress.update(|| msg)).map_err(
        |e| match e.path() {
            None => e.in_file(&source),
            Some(_) => e,
        },
    )?;
    progress.finish();
    let seconds = progress.elapsed().as_secs_f64();
    emit(args.out.as_deref(), |w| write_loo(w, &report, args.json))?;
    if let Some(path) = &args.details {
        emit(Some(path), |w| write_details(w, &report))?;
    }
    if let Some(path) = &args.group_out {
        emit(Some(path), |w| write_group_rows(w, &report))?;
    }
    if let Some(path) = &args.group_details {
        emit(Some(path), |w| write_group_details(w, &report))?;
    }
    if let Some(path) = &args.asked {
        emit(Some(path), |w| write_asked(w, &report))?;
    }
    eprintln!(
        "leave-one-out on {} ({} examinees held out, {} items, {} seeds from {}) in {seconds:.1}s; calibration {}",
        source.display(),
        report.held_out.len(),
        report.n_items,
        args.seeds,
        args.seed,
        report
            .calibration_seconds
            .iter()
            .map(|(m, s)| format!("{m} {s:.1}s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprint!("{}", markdown(&report));
    eprint!("{}", inner_summary(&report.inner_choices));
    eprint!("{}", group_markdown(&report));
    if let Some(path) = &args.write_score_link {
        write_score_link(path, &report, args, &source)?;
    }
    Ok(())
}

/// Fits and saves the score link of the plan's `adaptive` row (the
/// content-balanced one with --balance) at each length.
fn write_score_link(
    path: &Path,
    report: &LooReport,
    args: &Args,
    source: &Path,
) -> anyhow::Result<()> {
    let method = match &args.balance {
        Some(tag) => format!("adaptive content={tag}"),
        None => "adaptive".to_owned(),
    };
    let plan = report
        .plans
        .iter()
        .find(|p| p.0 == method)
        .map(|p| &p.1)
        .with_context(|| format!("no '{method}' row to fit a score link on"))?;
    // The examinee of each pair, for the link's examinee count.
    let group_of: HashMap<&str, usize> = report
        .held_out
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    let links: Vec<LengthLink> = args
        .lengths
        .iter()
        .map(|&k| {
            let rows: Vec<&LooDetail> = report
                .details
                .iter()
                .filter(|d| d.method == method && d.items == k)
                .collect();
            // A plan without random choices repeats each examinee's exam
            // for every seed: one pair per examinee then. Otherwise every
            // seed's exam is a pair (equal weight per examinee).
            let mut first: HashMap<&str, u64> = HashMap::new();
            let seed_free = rows.iter().all(|d| {
                *first
                    .entry(d.examinee.as_str())
                    .or_insert(d.predicted.to_bits())
                    == d.predicted.to_bits()
            });
            let first_seed = rows.first().map(|d| d.seed);
            let kept: Vec<&LooDetail> = rows
                .into_iter()
                .filter(|d| !seed_free || Some(d.seed) == first_seed)
                .collect();
            let pairs: Vec<(f64, f64)> = kept.iter().map(|d| (d.predicted, d.observed)).collect();
            let groups: Vec<usize> = kept.iter().map(|d| group_of[d.examinee.as_str()]).collect();
            // The same exams' group scores, one line per tag value.
            // (tag, value) -> the group's pairs and their examinees.
            type Pairs = (Vec<(f64, f64)>, Vec<usize>);
            let mut by_group: BTreeMap<(&str, &str), Pairs> = BTreeMap::new();
            for d in report.group_details.iter().filter(|d| {
                d.method == method
                    && d.items == k
                    && d.tag != BANK_TAG
                    && (!seed_free || Some(d.seed) == first_seed)
            }) {
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
        .collect();
    let described = format!(
        "leave-one-out exams of {} examinees of {} ({}, {} seeds from {}, row '{method}')",
        report.held_out.len(),
        source.display(),
        report
            .calibration_seconds
            .first()
            .map_or("", |c| c.0.as_str()),
        args.seeds,
        args.seed
    );
    ScoreLinkFile::new(described, plan, links.clone()).save(path)?;
    for l in &links {
        eprintln!(
            "score link, {} items: observed = {:.4} + {:.4} x predicted (residual SD {:.2} points, {} pairs of {} examinees)",
            l.items,
            l.link.intercept,
            l.link.slope,
            100.0 * l.link.residual_sd,
            l.link.n,
            l.link.examinees
        );
        let sds: Vec<f64> = l.groups.iter().map(|g| g.link.residual_sd).collect();
        if !sds.is_empty() {
            let lo = sds.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = sds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            eprintln!(
                "  and {} group lines ({}), residual SD {:.2} to {:.2} points",
                l.groups.len(),
                group_tags(&l.groups),
                100.0 * lo,
                100.0 * hi
            );
        }
    }
    eprintln!("score link written to {}", path.display());
    Ok(())
}

/// The tags of `groups` with their number of values, e.g. `category: 14`.
fn group_tags(groups: &[GroupLink]) -> String {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for g in groups {
        *count.entry(g.tag.as_str()).or_default() += 1;
    }
    count
        .iter()
        .map(|(t, n)| format!("{t}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How often each inner validation mode picked each plan, and each plan's
/// inner MAE (accuracy points, mean over folds), by calibration and length.
fn inner_summary(choices: &[InnerChoice]) -> String {
    // (mode, calibration, k) -> plan -> (folds picked, sum of inner MAEs, folds)
    type Tally = BTreeMap<(String, String, usize), Vec<(String, usize, f64, usize)>>;
    let mut tally: Tally = BTreeMap::new();
    for c in choices {
        let plans = tally
            .entry((c.mode.clone(), c.calibration.clone(), c.items))
            .or_insert_with(|| {
                c.inner_mae
                    .iter()
                    .map(|p| (p.0.clone(), 0, 0.0, 0))
                    .collect()
            });
        for (plan, (_, mae)) in plans.iter_mut().zip(&c.inner_mae) {
            plan.1 += usize::from(plan.0 == c.variant);
            plan.2 += mae;
            plan.3 += 1;
        }
    }
    let mut s = String::new();
    for ((mode, cal, k), plans) in tally {
        s.push_str(&format!(
            "inner choice {mode}, {cal}, {k} items (plan: folds picked, inner MAE mean over folds):\n"
        ));
        for (plan, picked, sum, n) in plans {
            s.push_str(&format!(
                "  {plan}: {picked}, {:.2}\n",
                100.0 * sum / n.max(1) as f64
            ));
        }
    }
    s
}
