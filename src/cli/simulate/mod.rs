//! `fangsheng simulate`: adaptive exams for recorded runs (post-hoc replay)
//! or simulated examinees.

mod pretest;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use fangsheng::bank::{ItemBank, ParamSet};
use fangsheng::cat::{
    BankScore, CatBank, Design, ExamResult, Plan, Replay, Summary, Tags, normal_thetas, replay_all,
    simulate_all,
};
use fangsheng::export::SimulateMeta;
use fangsheng::ids::ItemId;
use fangsheng::io::{check_writable, csv_float};
use fangsheng::{Error, Result};
use serde_json::{Value, json};

use super::input::ResponseArgs;
use super::output::emit;
use super::progress::ProgressLine;

/// Flags of `fangsheng simulate`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  fangsheng simulate --params calibration/demo/v1.json --responses calibration/demo/runs.csv --max-items 20 --out exams.csv
  fangsheng simulate --params calibration/demo/v1.json --thetas 1000 --seed 7 --stop-se 0.3 --out sim.csv --trace steps.csv
  fangsheng simulate --params calibration/demo/v1.json --responses calibration/demo/runs.csv --bank item-banks/demo --balance category --json --out exams.json

Leave-one-out evaluation (how well exams predict models outside the calibration) is `fangsheng evaluate`.")]
pub struct Args {
    /// Item parameter file (fangsheng-params/1 JSON, or CSV).
    #[arg(long, short = 'p', value_name = "FILE")]
    params: PathBuf,

    #[command(flatten)]
    input: ResponseArgs,

    /// Simulate this many examinees with abilities drawn from N(0, 1)
    /// instead of replaying recorded runs.
    #[arg(long, value_name = "N", conflicts_with = "responses")]
    thetas: Option<usize>,

    /// Seed of the run: examinee i's exam (and simulated answers) use a seed
    /// derived from it and i.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Plan file (TOML, or JSON by extension); the flags below override it.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,

    #[command(flatten)]
    plan_flags: super::plan_flags::PlanFlags,

    /// The item bank (folder with items.jsonl) whose categories and
    /// dimensions tag the items: needed by --balance.
    #[arg(long, value_name = "DIR")]
    bank: Option<PathBuf>,

    /// Output file (default: standard output). Written atomically, with
    /// `FILE.meta.json` beside it: seed, calibration, plan and times.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,

    /// Also write every step: model,step,item,score,theta,se (CSV).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,

    /// Write JSON instead of CSV.
    #[arg(long)]
    json: bool,

    /// Map each exam's predicted bank score through this score link (from
    /// `fangsheng evaluate --write-score-link`, fitted for the same plan
    /// and --max-items or a shorter length): predicted_score and the
    /// summary are linked, predicted_lo and predicted_hi become the link's
    /// prediction interval, and the sidecar records the line; `none`
    /// reports the exams' own scores. [default: a replay uses the
    /// calibration's error model, `<params name>.link.json` beside it
    /// (`fangsheng evaluate --error-model`), when it fits the plan]
    #[arg(long, value_name = "FILE")]
    score_link: Option<PathBuf>,

    /// True parameters of the plan's pretest items (JSON or CSV parameter
    /// file): simulated examinees answer them from these. When the plan's
    /// pool is empty, it is every item of this file.
    #[arg(long, value_name = "FILE")]
    pretest_truth: Option<PathBuf>,

    /// Write every answer, operational and pretest, as a long CSV
    /// (model,item,score,theta,pretest) that calibrate-new reads.
    #[arg(long, value_name = "FILE")]
    pretest_out: Option<PathBuf>,

    /// Write one exam journal per simulated examinee into this folder.
    #[arg(long, value_name = "DIR")]
    journals_out: Option<PathBuf>,

    /// No progress line.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Level of the predicted scores' intervals.
const LEVEL: f64 = 0.95;

pub fn run(args: Args) -> anyhow::Result<()> {
    let params_path = args.params.as_path();
    // Outputs are checked before the bank is read or any exam runs.
    for path in [&args.out, &args.trace, &args.pretest_out]
        .into_iter()
        .flatten()
    {
        check_writable(path)?;
    }
    let plan = plan(&args)?;
    let score = BankScore::default();
    let loaded = ParamSet::load(params_path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let tags: HashMap<ItemId, Tags> = match &args.bank {
        Some(dir) => Tags::of_bank(&ItemBank::load(dir)?)
            .into_iter()
            .filter(|(id, _)| loaded.params.index_of(id.as_str()).is_some())
            .collect(),
        None => HashMap::new(),
    };
    let bank = Arc::new(CatBank::new(&loaded.params)?.with_tags(&tags)?);
    if args.plan_flags.balance_tag().is_some() && args.bank.is_none() {
        bail!("--balance needs --bank DIR, whose items carry the tags it balances");
    }
    let plan = args.plan_flags.balanced(plan, &bank)?;
    let (plan, truth) = pretest::truth(plan, &args)?;
    let design = Design::prepare(&bank, &plan, args.seed).map_err(|e| at_plan(e, &args))?;
    // A named link for another plan or length is refused before any exam
    // runs. The calibration's own error model describes real models left
    // out of it: replays use it, simulated examinees (who answer by the
    // calibration itself) do not need it.
    // Nor does an in-sample replay: its models are not new to the
    // calibration.
    let in_sample = match &args.input.responses {
        Some(path) if args.thetas.is_none() => loaded.params.metadata().records_source(path)?,
        _ => false,
    };
    let params_bytes = std::fs::read(params_path)
        .with_context(|| format!("cannot read {}", params_path.display()))?;
    let calibration = Some(params_path).filter(|_| args.thetas.is_none() && !in_sample);
    let chosen = super::error_model::choose(
        args.score_link.as_deref(),
        calibration,
        &params_bytes,
        design.plan(),
    )?;
    if !args.quiet && !chosen.note.is_empty() {
        eprintln!("{}", chosen.note);
    }
    let link = chosen
        .line
        .map(|(line, path)| (path.display().to_string(), line.link));
    let started = fangsheng::export::utc_now()?;

    let mut progress = ProgressLine::new(args.quiet);
    let (mut results, names, source) = match (args.thetas, &args.input.responses) {
        (Some(n), _) => {
            if n == 0 {
                bail!("--thetas must be at least 1");
            }
            let thetas = normal_thetas(n, args.seed);
            let results = match &truth {
                Some(truth) => {
                    let exams = with_progress(&mut progress, n, |tick| {
                        simulate_all(&design, &thetas, Some(truth), args.seed, LEVEL, score, tick)
                    })?;
                    pretest::write(&args, &design, params_path, &exams)?;
                    exams
                }
                None => with_progress(&mut progress, n, |tick| {
                    simulate_all(&design, &thetas, None, args.seed, LEVEL, score, tick)
                })?,
            };
            let names: Vec<String> = (1..=n).map(|i| format!("sim{i:05}")).collect();
            (
                results,
                names,
                format!("{n} simulated examinees, theta ~ N(0, 1)"),
            )
        }
        (None, Some(path)) => {
            if design.plan().pretest.is_some() {
                eprintln!("warning: pretest items are only simulated (--thetas), not replayed");
            }
            let responses = args.input.read()?;
            let replay = Replay::new(&bank, &responses).map_err(|e| e.in_file(path))?;
            if replay.outside_bank() > 0 {
                eprintln!(
                    "warning: {} recorded responses are to items not in {} (ignored)",
                    replay.outside_bank(),
                    params_path.display()
                );
            }
            let results = with_progress(&mut progress, replay.len(), |tick| {
                replay_all(&design, &replay, args.seed, LEVEL, score, tick)
            })?;
            let names: Vec<String> = replay.examinees().iter().map(|e| e.to_string()).collect();
            (results, names, format!("replay of {}", path.display()))
        }
        (None, None) => bail!("give --responses FILE (replay) or --thetas N (simulation)"),
    };
    progress.finish();
    let seconds = progress.elapsed().as_secs_f64();
    if let Some((_, line)) = &link {
        for r in &mut results {
            r.outcome.predicted = line.apply_score(r.outcome.predicted, LEVEL);
        }
    }
    let simulated = args.thetas.is_some();
    let summary = Summary::new(&results, bank.len());
    emit(args.out.as_deref(), |w| {
        write_exams(
            w,
            &results,
            &names,
            &args,
            &design.plan().to_toml(),
            &summary,
        )
    })?;
    if let Some(out) = &args.out {
        // The CSV's columns are fixed; seed, calibration and times go in a
        // sidecar that `export` reads back (see `export::meta`).
        let mut meta = SimulateMeta::new(
            args.seed,
            params_path,
            &loaded.params,
            design.plan(),
            started,
        )?;
        meta.score_link = link;
        meta.in_sample = in_sample;
        meta.write_beside(out)?;
    }
    if let Some(path) = &args.trace {
        emit(Some(path), |w| write_trace(w, &results, &names, bank.ids()))?;
    }
    report(&summary, &source, design.plan(), seconds, simulated);
    if in_sample {
        eprintln!(
            "in-sample replay: these runs are the ones {} was calibrated on, so the errors above are not a new model's (`fangsheng evaluate` measures those) and the error model, which describes new models, is not applied",
            params_path.display()
        );
    }
    Ok(())
}

/// Runs `work` with a progress callback counting finished exams.
fn with_progress<T>(
    progress: &mut ProgressLine,
    total: usize,
    work: impl FnOnce(&(dyn Fn(usize) + Sync)) -> Result<T> + Send,
) -> anyhow::Result<T>
where
    T: Send,
{
    let done = AtomicUsize::new(0);
    let out = std::thread::scope(|s| {
        let handle = s.spawn(|| {
            let tick = |n: usize| {
                done.fetch_max(n, Ordering::Relaxed);
            };
            work(&tick)
        });
        while !handle.is_finished() {
            progress.update_count("exams", done.load(Ordering::Relaxed), total);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        handle.join()
    });
    match out {
        Ok(r) => Ok(r?),
        Err(_) => bail!("an exam worker panicked"),
    }
}

/// The plan: the plan file (or the defaults) with the flags applied.
fn plan(args: &Args) -> anyhow::Result<Plan> {
    let mut plan = match &args.plan {
        Some(p) => Plan::load(p)?,
        None => Plan::default(),
    };
    args.plan_flags.apply(&mut plan)?;
    plan.validate().map_err(|e| at_plan(e, args))?;
    Ok(plan)
}

/// Errors about the plan name the plan file when there is one.
fn at_plan(e: Error, args: &Args) -> Error {
    match (&args.plan, e.path()) {
        (Some(p), None) => e.in_file(p),
        _ => e,
    }
}

/// The exams table: one row per exam, the same columns whether replayed
/// or simulated (`true_theta` is empty for a replay).
fn write_exams(
    w: &mut dyn Write,
    results: &[ExamResult],
    names: &[String],
    args: &Args,
    plan: &str,
    summary: &Summary,
) -> Result<()> {
    let io = |e: std::io::Error| Error::io("<output>", e);
    if args.json {
        let rows: Vec<Value> = results
            .iter()
            .map(|r| {
                let o = &r.outcome;
                json!({
                    "model": names[r.index],
                    "theta": o.ability.theta,
                    "se": o.ability.se,
                    "n_items": o.steps.len(),
                    "stop_reason": o.stop_reason.name(),
                    "predicted_score": o.predicted.mean,
                    "predicted_lo": o.predicted.lo,
                    "predicted_hi": o.predicted.hi,
                    "observed_score": r.observed,
                    "true_theta": r.true_theta,
                    "skipped": o.skipped,
                })
            })
            .collect();
        let doc = json!({
            "seed": args.seed,
            "plan": plan,
            "summary": summary,
            "exams": rows,
        });
        serde_json::to_writer_pretty(&mut *w, &doc)
            .map_err(|e| Error::format(format!("writing JSON: {e}")))?;
        return writeln!(w).map_err(io);
    }
    let csv_err = |e: csv::Error| Error::format(format!("writing CSV: {e}"));
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "model",
        "theta",
        "se",
        "n_items",
        "stop_reason",
        "predicted_score",
        "predicted_lo",
        "predicted_hi",
        "observed_score",
        "true_theta",
        "skipped",
    ])
    .map_err(csv_err)?;
    for r in results {
        let o = &r.outcome;
        out.write_record([
            names[r.index].clone(),
            csv_float(o.ability.theta, 6),
            csv_float(o.ability.se, 6),
            o.steps.len().to_string(),
            o.stop_reason.name().to_owned(),
            csv_float(o.predicted.mean, 6),
            csv_float(o.predicted.lo, 6),
            csv_float(o.predicted.hi, 6),
            csv_float(r.observed, 6),
            r.true_theta.map(|t| csv_float(t, 6)).unwrap_or_default(),
            o.skipped.to_string(),
        ])
        .map_err(csv_err)?;
    }
    out.flush().map_err(io)
}

fn write_trace(
    w: &mut dyn Write,
    results: &[ExamResult],
    names: &[String],
    ids: &[ItemId],
) -> Result<()> {
    let csv_err = |e: csv::Error| Error::format(format!("writing CSV: {e}"));
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["model", "step", "item", "score", "theta", "se"])
        .map_err(csv_err)?;
    for r in results {
        for (i, s) in r.outcome.steps.iter().enumerate() {
            out.write_record([
                names[r.index].as_str(),
                &(i + 1).to_string(),
                ids[s.item].as_str(),
                &s.score.to_string(),
                &csv_float(s.theta, 6),
                &csv_float(s.se, 6),
            ])
            .map_err(csv_err)?;
        }
    }
    out.flush().map_err(|e| Error::io("<trace>", e))
}

fn report(s: &Summary, source: &str, plan: &Plan, seconds: f64, simulated: bool) {
    let truth = if simulated {
        "true expected"
    } else {
        "observed"
    };
    eprintln!(
        "ran {} exams ({source}) in {seconds:.2}s: select {}, estimator {}, {} to {} items",
        s.n, plan.select, plan.estimator, plan.min_items, plan.max_items
    );
    eprintln!(
        "predicted vs {truth} score: MAE {:.2} points, max error {:.2} points, Spearman {:.3}",
        100.0 * s.mae,
        100.0 * s.max_error,
        s.spearman
    );
    eprintln!(
        "predicted-score intervals held the {truth} score in {:.1}% of exams",
        100.0 * s.coverage
    );
    eprintln!(
        "length: mean {:.1} items; {} selected items skipped for lack of a recorded answer",
        s.mean_length, s.skipped
    );
    eprintln!(
        "exposure: max rate {:.3}, mean overlap between exams {:.3}",
        s.max_exposure, s.mean_overlap
    );
    if let Some(r) = s.theta_rmse {
        eprintln!("theta RMSE against the true abilities: {r:.3}");
    }
}
