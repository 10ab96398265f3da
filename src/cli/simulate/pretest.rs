//! Pretest items in simulations: their true parameters and the outputs.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use fangsheng::bank::ParamSet;
use fangsheng::cat::{Design, ExamResult, Plan, examinee_seed};
use fangsheng::exam::{Header, JOURNAL_FORMAT, Journal, Step};
use fangsheng::grade::Outcome;
use fangsheng::io::csv_float;
use fangsheng::io::sha256_hex;
use fangsheng::model::Irf;
use fangsheng::{Error, Result};

use super::Args;

/// The plan with its pool filled from `--pretest-truth` when empty, and
/// the true response functions in pool order (`None` without pretest).
pub fn truth(mut plan: Plan, args: &Args) -> anyhow::Result<(Plan, Option<Vec<Irf>>)> {
    let Some(pre) = plan.pretest.as_mut() else {
        if args.pretest_truth.is_some() || args.pretest_out.is_some() {
            bail!(
                "--pretest-truth and --pretest-out need a plan with [pretest] (or --pretest-count)"
            );
        }
        return Ok((plan, None));
    };
    if args.thetas.is_none() {
        return Ok((plan, None));
    }
    let path = args
        .pretest_truth
        .as_deref()
        .context("simulating pretest items needs --pretest-truth FILE (their true parameters)")?;
    let truth = ParamSet::load(path)?.params;
    if pre.items.is_empty() {
        pre.items = truth.items().iter().map(|p| p.id.clone()).collect();
    }
    let irfs = pre
        .items
        .iter()
        .map(|id| {
            truth
                .get(id.as_str())
                .map(|p| p.irf.clone())
                .ok_or_else(|| {
                    Error::config("a pretest item without true parameters")
                        .for_item(id.as_str())
                        .in_file(path)
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((plan, Some(irfs)))
}

/// Writes `--pretest-out` and `--journals-out`.
pub fn write(
    args: &Args,
    design: &Arc<Design>,
    params_path: &Path,
    exams: &[ExamResult],
) -> anyhow::Result<()> {
    let pool = design
        .plan()
        .pretest
        .as_ref()
        .map_or(&[][..], |p| &p.items[..]);
    let ids = design.bank().ids();
    let name = |i: usize| format!("sim{:05}", i + 1);
    if let Some(path) = &args.pretest_out {
        let csv_err = |e: csv::Error| Error::format(format!("writing CSV: {e}"));
        fangsheng::io::write_atomic(path, |w| {
            let mut out = csv::Writer::from_writer(w);
            out.write_record(["model", "item", "score", "theta", "pretest"])
                .map_err(csv_err)?;
            for e in exams {
                let theta = csv_float(e.outcome.ability.theta, 6);
                let who = name(e.index);
                for s in &e.outcome.steps {
                    out.write_record([
                        &who,
                        ids[s.item].as_str(),
                        &s.score.to_string(),
                        &theta,
                        "0",
                    ])
                    .map_err(csv_err)?;
                }
                for p in &e.outcome.pretest {
                    out.write_record([
                        &who,
                        pool[p.item].as_str(),
                        &p.score.to_string(),
                        &theta,
                        "1",
                    ])
                    .map_err(csv_err)?;
                }
            }
            out.flush().map_err(|e| Error::io(path, e))
        })?;
    }
    if let Some(dir) = &args.journals_out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let bytes = std::fs::read(params_path)?;
        let loaded = ParamSet::load(params_path)?.params;
        let meta = loaded.metadata();
        for e in exams {
            let i = e.index;
            let header = Header {
                format: JOURNAL_FORMAT.to_owned(),
                bank: meta.bank.clone().unwrap_or_else(|| "simulated".to_owned()),
                bank_digest: String::new(),
                params_version: meta.version.clone(),
                params_digest: sha256_hex(&bytes),
                plan: serde_json::to_value(design.plan()).unwrap_or_default(),
                prompt: serde_json::Value::Null,
                seed: examinee_seed(args.seed, i),
                backend: format!("simulated theta={}", e.true_theta.unwrap_or(f64::NAN)),
            };
            journal_steps(e, ids, pool, design.plan().start.theta).and_then(|steps| {
                Journal::write_whole(&dir.join(format!("{}.jsonl", name(i))), &header, &steps)
            })?;
        }
    }
    Ok(())
}

/// The exam's steps in the order asked, pretest steps marked.
fn journal_steps(
    e: &ExamResult,
    ids: &[fangsheng::ItemId],
    pool: &[fangsheng::ItemId],
    start: f64,
) -> Result<Vec<Step>> {
    let ops = &e.outcome.steps;
    let pre = &e.outcome.pretest;
    let total = ops.len() + pre.len();
    let (mut o, mut p) = (0, 0);
    let (mut theta, mut se) = (start, None);
    let mut out = Vec::with_capacity(total);
    for n in 0..total {
        let pretest = pre.get(p).is_some_and(|s| s.position == n);
        let (item, score) = if pretest {
            p += 1;
            (pool[pre[p - 1].item].as_str(), pre[p - 1].score)
        } else {
            let s = &ops[o];
            o += 1;
            theta = s.theta;
            se = s.se.is_finite().then_some(s.se);
            (ids[s.item].as_str(), s.score)
        };
        out.push(Step {
            step: n + 1,
            item_id: item.to_owned(),
            prompt_hash: String::new(),
            output: None,
            extracted: None,
            score: Some(u8::try_from(score).map_err(|_| Error::value("score above 255"))?),
            outcome: Some(if score > 0 {
                Outcome::Correct
            } else {
                Outcome::Wrong
            }),
            skipped: None,
            theta,
            se,
            latency: 0.0,
            elapsed: 0.0,
            usage: None,
            attempts: 1,
            pretest,
            variant: None,
        });
    }
    Ok(out)
}
