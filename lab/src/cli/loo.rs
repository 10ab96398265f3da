//! `fangsheng-lab loo`: the experiment run from the flags, and the score
//! link it can write.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use fangsheng::Result;
use fangsheng::calibrate::{CalibrationConfig, PriorConfig};
use fangsheng::cat::{BankScore, Plan};
use fangsheng::data::read_responses_with_no_answer;
use fangsheng::io::check_writable;
use fangsheng::loo::{
    describe_links, group_markdown, link_file, markdown, run_line, write_details,
    write_group_details, write_group_rows, write_rows,
};
use fangsheng::model::ModelKind;
use fangsheng_lab::loo::{LabConfig, LabReport, leave_one_out};
use fangsheng_lab::variant::Variant;

use super::output::emit;
use super::progress::ProgressLine;
use super::{Args, report, tags};

/// The plan: the plan file (or the defaults) with the flags applied.
fn plan(args: &Args) -> anyhow::Result<Plan> {
    let mut plan = match &args.plan {
        Some(p) => Plan::load(p)?,
        None => Plan::default(),
    };
    args.plan_flags.apply(&mut plan)?;
    match (&args.plan, plan.validate()) {
        (Some(p), Err(e)) if e.path().is_none() => Err(e.in_file(p).into()),
        (_, r) => Ok(r.map(|()| plan)?),
    }
}

pub(super) fn run(args: &Args) -> anyhow::Result<()> {
    let plan = plan(args)?;
    let score: BankScore = args.score.parse()?;
    let tags = match &args.tags {
        Some(p) => tags::read_tags(p, &args.id_field, &args.tag_field, &args.dimension_field)?,
        None => HashMap::new(),
    };
    let source = args
        .input
        .responses
        .clone()
        .context("--responses FILE is required")?;
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
    if let Some(tag) = args.plan_flags.balance_tag() {
        // --balance applies to the plan; as a variant it needs the fold's bank.
        variants.insert(0, Variant::parse(&format!("content={tag}"))?);
    }
    let n = responses.n_examinees();
    let held_out = args.hold_out.map(|h| {
        let h = h.clamp(1, n);
        (0..h).map(|i| i * n / h).collect()
    });
    let config = LabConfig {
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
        on_calibration: None,
        rescore_slope_prior: args
            .rescore_slope_prior_sd
            .map(|sd| super::positive_sd("rescore-slope-prior-sd", sd))
            .transpose()?,
        slope_priors: args
            .slope_prior_sd
            .iter()
            .map(|s| match s.trim() {
                "default" => Ok(None),
                x => x
                    .parse::<f64>()
                    .with_context(|| format!("--slope-prior-sd: '{x}' is not a number or default"))
                    .and_then(|sd| super::positive_sd("slope-prior-sd", sd))
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
    emit(args.out.as_deref(), |w| write_rows(w, &report, args.json))?;
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
        emit(Some(path), |w| report::write_asked(w, &report))?;
    }
    eprintln!(
        "{}",
        run_line(&report, &source, args.seeds, args.seed, seconds)
    );
    eprint!("{}", markdown(&report));
    eprint!("{}", report::inner_summary(&report.inner_choices));
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
    report: &LabReport,
    args: &Args,
    source: &Path,
) -> anyhow::Result<()> {
    let method = match args.plan_flags.balance_tag() {
        Some(tag) => format!("adaptive content={tag}"),
        None => "adaptive".to_owned(),
    };
    let described = format!(
        "leave-one-out exams of {} models of {} ({}, {} seeds from {}, row '{method}')",
        report.held_out.len(),
        source.display(),
        report
            .calibration_seconds
            .first()
            .map_or("", |c| c.0.as_str()),
        args.seeds,
        args.seed
    );
    let file = link_file(report, &method, &args.lengths, described)?;
    file.save(path)?;
    eprint!("{}", describe_links(&file.links));
    eprintln!("score link written to {}", path.display());
    Ok(())
}
