//! `fangsheng simulate`: adaptive exams for recorded runs (post-hoc replay)
//! or simulated examinees, and the leave-one-out evaluation on real runs.

mod loo;
mod loo_output;
mod pretest;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use fangsheng::bank::ParamSet;
use fangsheng::cat::{
    BankScore, CatBank, Content, ExamResult, Plan, Replay, ScoreLinkFile, Summary, Tags,
    bank_shares, normal_thetas, parse_exposure, prepare_design, replay_all, simulate_all,
};
use fangsheng::export::SimulateMeta;
use fangsheng::ids::ItemId;
use fangsheng::online::simulate_pretest;
use fangsheng::{Error, Result};
use serde_json::{Value, json};

use super::input::ResponseArgs;
use super::output::emit;
use super::progress::ProgressLine;
use loo::run_loo;

/// Flags of `fangsheng simulate`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  fangsheng simulate --params calibration/demo/v1.json --responses calibration/demo/runs.csv --max-items 20 --out exams.csv
  fangsheng simulate --params calibration/demo/v1.json --thetas 1000 --seed 7 --stop-se 0.3 --out sim.csv --trace steps.csv
  fangsheng simulate --params bank.json --responses runs.csv --plan plan.toml --select kl --json --out exams.json
  fangsheng simulate --leave-one-out --responses ../shared/data/mmlu-pro/responses.csv.gz \\
      --tags ../shared/data/mmlu-pro/items.jsonl.gz --id-field question_id --tag-field category \\
      --lengths 25,50,100 --seeds 20 --out loo.csv")]
pub struct Args {
    /// Item parameter file (fangsheng-params/1 JSON, or CSV). Not used with
    /// --leave-one-out, which calibrates its own.
    #[arg(long, short = 'p', value_name = "FILE")]
    params: Option<PathBuf>,

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

    /// Exposure control: none, randomesque:K, a-stratified:S,
    /// sympson-hetter:R or eligibility:R (parameters set by simulation when
    /// the bank has none).
    #[arg(long, value_name = "SPEC")]
    exposure: Option<String>,

    /// Balance content over the values of this tag, with the bank's own
    /// shares as targets (needs --tags).
    #[arg(long, value_name = "TAG")]
    balance: Option<String>,

    /// Predicted bank score: blend (observed answers on administered items,
    /// the model's expectation on the rest) or model (expectation on every item).
    #[arg(long, default_value = "blend")]
    score: String,

    /// Level of the predicted score's interval.
    #[arg(long, default_value_t = 0.95)]
    level: f64,

    /// Item tags: CSV with columns id,category(,dimension), or JSON lines
    /// (gzip allowed), e.g. MMLU-Pro's items.jsonl.gz.
    #[arg(long, value_name = "FILE")]
    tags: Option<PathBuf>,

    /// Field (JSON lines) or column (CSV) of the item id in --tags.
    #[arg(long, default_value = "id")]
    id_field: String,

    /// Field or column of the category in --tags.
    #[arg(long, default_value = "category")]
    tag_field: String,

    /// Field or column of the dimension in --tags (read when present).
    #[arg(long, default_value = "dimension")]
    dimension_field: String,

    /// Output file (default: standard output). Written atomically, with
    /// `FILE.meta.json` beside it: seed, calibration, plan and times.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,

    /// Also write every step: examinee,step,item,score,theta,se (CSV).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,

    /// Write JSON instead of CSV.
    #[arg(long)]
    json: bool,

    /// Leave-one-examinee-out evaluation on --responses: calibrate on all
    /// examinees but one, replay the held-out one, for each length and seed,
    /// beside random-item baselines.
    #[arg(long)]
    leave_one_out: bool,

    /// Leave-one-out: exam lengths.
    #[arg(
        long,
        value_name = "K,K,...",
        default_value = "25,50,100",
        value_delimiter = ','
    )]
    lengths: Vec<usize>,

    /// Leave-one-out: number of seeds (seed, seed+1, ...).
    #[arg(long, default_value_t = 20)]
    seeds: usize,

    /// Leave-one-out: calibration models to compare.
    #[arg(
        long,
        value_name = "M,M,...",
        default_value = "2pl",
        value_delimiter = ','
    )]
    models: Vec<String>,

    /// Leave-one-out: plan variants beside the plan, comma separated, each
    /// `key=value` changes joined by `+` (e.g. `select=kl,exposure=randomesque:5`).
    #[arg(long, value_name = "SPEC,...", value_delimiter = ',')]
    variants: Vec<String>,

    /// Leave-one-out: hold out only N examinees, evenly spaced in file order.
    #[arg(long, value_name = "N")]
    hold_out: Option<usize>,

    /// Leave-one-out: priors on item parameters, default or none.
    #[arg(long, default_value = "default", value_parser = ["default", "none"])]
    prior: String,

    /// Leave-one-out: pick in each fold the base plan or one of --variants
    /// by how well their exams predict the fold's calibration models
    /// (picks and each plan's inner MAE printed). `in-sample` (the default
    /// of a bare --inner-choice; row `adaptive inner-choice`): on the fold's
    /// bank, which they calibrated. `refit` (row `adaptive
    /// inner-choice-refit`): each calibration model examined on a bank
    /// calibrated without it and the held-out model (21 more calibrations
    /// per fold, cached with --cache). Both: `in-sample,refit`.
    #[arg(
        long,
        value_name = "MODE,...",
        num_args = 0..=1,
        default_missing_value = "in-sample",
        value_delimiter = ',',
        value_parser = ["in-sample", "refit"]
    )]
    inner_choice: Vec<String>,

    /// Leave-one-out: add, for the base plan and each variant, a row whose
    /// predictions are mapped by a score link (observed = a + b x
    /// predicted, least squares) fitted on the fold's calibration models,
    /// each examined on a bank calibrated without it and the held-out
    /// model (the refit inner exams of --inner-choice refit, cached with
    /// --cache); the row `adaptive inner-choice-refit linked`, the plan
    /// whose linked inner predictions are best (cross-validated) per fold;
    /// and `random-irt linked`, the random-item baseline linked the same way.
    #[arg(long)]
    inner_link: bool,

    /// Leave-one-out: add, for the base plan and each variant, a row whose
    /// exams (chosen as usual) are scored with a second calibration of each
    /// fold with slope prior ln a ~ N(0, SD): one calibration selects, the
    /// other predicts (`<plan> rescored`).
    #[arg(long, value_name = "SD")]
    rescore_slope_prior_sd: Option<f64>,

    /// Leave-one-out: slope priors ln a ~ N(0, SD) to compare, comma
    /// separated; `default` is the model's own (the default).
    #[arg(long, value_name = "SD,...", value_delimiter = ',')]
    slope_prior_sd: Vec<String>,

    /// Leave-one-out: also write every prediction
    /// (calibration,method,items,seed,examinee,predicted,observed) as CSV.
    #[arg(long, value_name = "FILE")]
    details: Option<PathBuf>,

    /// Leave-one-out: also predict each exam's score (adaptive rows and the
    /// random-item baselines) on every value of these tags (comma
    /// separated, e.g. category), against the held-out
    /// examinee's observed score on those items; the summary gives each
    /// group's error and interval coverage, as predicted and through a
    /// per-group line cross-validated over the held-out examinees.
    #[arg(
        long,
        value_name = "TAG,...",
        value_delimiter = ',',
        requires = "leave_one_out"
    )]
    group_scores: Vec<String>,

    /// Leave-one-out with --group-scores: write the per-group summary
    /// (calibration,method,items,tag,value,cells,mean_asked,mae,coverage,
    /// width,linked_mae,linked_coverage,linked_width) as CSV.
    #[arg(long, value_name = "FILE", requires = "group_scores")]
    group_out: Option<PathBuf>,

    /// Leave-one-out with --group-scores: write every per-group prediction
    /// as CSV.
    #[arg(long, value_name = "FILE", requires = "group_scores")]
    group_details: Option<PathBuf>,

    /// Leave-one-out: fit a score link (observed = a + b x predicted, least
    /// squares over the held-out models' exams, pooled over seeds; a seed-free
    /// plan's repeated exams counted once) for each
    /// length of the plan (with --balance TAG: the content-balanced plan)
    /// and save it here, for `--score-link` of `simulate` and `exam`. With
    /// --group-scores, each length also gets one line per value of each of
    /// those tags, fitted on the same exams' group scores, which `exam`
    /// applies to its per-category and per-dimension scores. Needs one
    /// calibration model and slope prior.
    #[arg(long, value_name = "FILE")]
    write_score_link: Option<PathBuf>,

    /// Map each exam's predicted bank score through this score link (see
    /// --write-score-link; fitted for the same plan and --max-items): the
    /// predicted_score column and the summary are linked, predicted_lo and
    /// predicted_hi become the link's prediction interval, and the sidecar
    /// records the line. Not with --leave-one-out.
    #[arg(long, value_name = "FILE", conflicts_with = "leave_one_out")]
    score_link: Option<PathBuf>,

    /// Leave-one-out: read "no answer extracted" from this column of the
    /// long-layout --responses file (an empty field, or a missing token,
    /// means the harness extracted no answer; MMLU-Pro's runs call it
    /// `pred`) and score every exam with the two-part model: a 2PL of
    /// correctness calibrated on the answered responses and one of the
    /// no-answer indicators, each with its own ability. An asked item
    /// without an answer counts toward the length. The observed score
    /// still counts no answer as wrong.
    #[arg(
        long,
        value_name = "COLUMN",
        requires = "leave_one_out",
        conflicts_with_all = ["group_scores", "write_score_link", "rescore_slope_prior_sd"]
    )]
    no_answer_col: Option<String>,

    /// Leave-one-out: also write the items of every exam behind the rows
    /// (calibration,method,items,seed,examinee,position,item,score; score
    /// empty where the run records no answer) as CSV, one row per item
    /// asked.
    #[arg(long, value_name = "FILE", requires = "leave_one_out")]
    asked: Option<PathBuf>,

    /// Leave-one-out: save each fold's calibration in this folder and reuse it.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,

    /// True parameters of the plan's pretest items (JSON or CSV parameter
    /// file): simulated examinees answer them from these. When the plan's
    /// pool is empty, it is every item of this file.
    #[arg(long, value_name = "FILE")]
    pretest_truth: Option<PathBuf>,

    /// Write every answer, operational and pretest, as a long CSV
    /// (examinee,item,score,theta,pretest) that calibrate-new reads.
    #[arg(long, value_name = "FILE")]
    pretest_out: Option<PathBuf>,

    /// Write one exam journal per simulated examinee into this folder.
    #[arg(long, value_name = "DIR")]
    journals_out: Option<PathBuf>,

    /// No progress line.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let tags = match &args.tags {
        Some(p) => read_tags(p, &args.id_field, &args.tag_field, &args.dimension_field)?,
        None => HashMap::new(),
    };
    let score: BankScore = args.score.parse()?;
    let plan = plan(&args)?;
    if args.leave_one_out {
        return run_loo(&args, plan, score, tags);
    }
    let params_path = args
        .params
        .as_deref()
        .context("--params FILE is required (or --leave-one-out)")?;
    let loaded = ParamSet::load(params_path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let known: HashMap<ItemId, Tags> = tags
        .into_iter()
        .filter(|(id, _)| loaded.params.index_of(id.as_str()).is_some())
        .collect();
    let bank = Arc::new(CatBank::new(&loaded.params)?.with_tags(&known)?);
    let plan = balanced(plan, &args, &bank)?;
    let (plan, truth) = pretest::truth(plan, &args)?;
    let design = prepare_design(&bank, &plan, args.seed).map_err(|e| at_plan(e, &args))?;
    // A link for another plan or length is refused before any exam runs.
    let link = match &args.score_link {
        Some(path) => Some((
            path.display().to_string(),
            ScoreLinkFile::load(path)?
                .link_for(design.plan())
                .map_err(|e| e.in_file(path))?,
        )),
        None => None,
    };
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
                        simulate_pretest(
                            &design, &thetas, truth, args.seed, args.level, score, tick,
                        )
                    })?;
                    pretest::write(&args, &design, params_path, &exams)?;
                    exams.into_iter().map(|e| e.result).collect()
                }
                None => with_progress(&mut progress, n, |tick| {
                    simulate_all(&design, &thetas, args.seed, args.level, score, tick)
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
                replay_all(&design, &replay, args.seed, args.level, score, tick)
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
            r.outcome.predicted = line.apply_score(r.outcome.predicted, args.level);
        }
    }
    let simulated = args.thetas.is_some();
    let summary = Summary::new(&results, bank.len());
    emit(args.out.as_deref(), |w| {
        write_exams(
            w,
            &results,
            &names,
            simulated,
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
        meta.write_beside(out)?;
    }
    if let Some(path) = &args.trace {
        emit(Some(path), |w| write_trace(w, &results, &names, bank.ids()))?;
    }
    report(&summary, &source, design.plan(), seconds, simulated);
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
    if let Some(e) = &args.exposure {
        plan.exposure = parse_exposure(e).with_context(|| {
            format!("--exposure takes none, randomesque:K, a-stratified:S, sympson-hetter:R or eligibility:R, got '{e}'")
        })?;
    }
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

fn balanced(mut plan: Plan, args: &Args, bank: &CatBank) -> anyhow::Result<Plan> {
    if let Some(tag) = &args.balance {
        plan.content = Some(Content {
            tag: tag.clone(),
            targets: bank_shares(bank, tag).context("--balance")?,
        });
    }
    Ok(plan)
}

/// Reads item tags from CSV (`id`, category and dimension columns) or JSON
/// lines (one object per item; numbers are read as text ids).
fn read_tags(
    path: &Path,
    id_field: &str,
    tag_field: &str,
    dim_field: &str,
) -> anyhow::Result<HashMap<ItemId, Tags>> {
    let text = fangsheng::io::read_to_string(path)?;
    let mut out = HashMap::new();
    let as_text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if text.trim_start().starts_with('{') {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |msg: String| Error::format(msg).at_line(i as u64 + 1).in_file(path);
            let v: Value =
                serde_json::from_str(line).map_err(|e| at(format!("not a JSON object: {e}")))?;
            let id = v
                .get(id_field)
                .and_then(as_text)
                .ok_or_else(|| at(format!("no id field '{id_field}'")))?;
            let mut t = Tags::default();
            if let Some(c) = v.get(tag_field).and_then(as_text) {
                t = t.with("category", c);
            }
            if let Some(d) = v.get(dim_field).and_then(as_text) {
                t = t.with("dimension", d);
            }
            out.insert(ItemId::from(id), t);
        }
    } else {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .with_context(|| format!("{}: cannot read the header", path.display()))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let id_col = col(id_field)
            .with_context(|| format!("{}:1: no column '{id_field}'", path.display()))?;
        let (cat_col, dim_col) = (col(tag_field), col(dim_field));
        for (i, rec) in reader.records().enumerate() {
            let rec =
                rec.with_context(|| format!("{}:{}: malformed row", path.display(), i + 2))?;
            let get = |c: Option<usize>| {
                c.and_then(|c| rec.get(c))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            let mut t = Tags::default();
            if let Some(c) = get(cat_col) {
                t = t.with("category", c);
            }
            if let Some(d) = get(dim_col) {
                t = t.with("dimension", d);
            }
            out.insert(ItemId::from(rec.get(id_col).unwrap_or("").trim()), t);
        }
    }
    Ok(out)
}

fn write_exams(
    w: &mut dyn Write,
    results: &[ExamResult],
    names: &[String],
    simulated: bool,
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
                let mut v = json!({
                    "examinee": names[r.index],
                    "theta": o.ability.theta,
                    "se": o.ability.se,
                    "n_items": o.steps.len(),
                    "stop_reason": o.stop_reason.name(),
                    "predicted_score": o.predicted.mean,
                    "observed_score": r.observed,
                    "predicted_lo": o.predicted.lo,
                    "predicted_hi": o.predicted.hi,
                    "skipped": o.skipped,
                });
                if let Some(t) = r.true_theta {
                    v["true_theta"] = json!(t);
                }
                v
            })
            .collect();
        let doc = json!({
            "seed": args.seed,
            "score": args.score,
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
    let mut header = vec![
        "examinee",
        "theta",
        "se",
        "n_items",
        "stop_reason",
        "predicted_score",
        "observed_score",
    ];
    if simulated {
        header.push("true_theta");
    }
    header.extend(["predicted_lo", "predicted_hi", "skipped"]);
    out.write_record(&header).map_err(csv_err)?;
    for r in results {
        let o = &r.outcome;
        let mut rec = vec![
            names[r.index].clone(),
            format!("{:.6}", o.ability.theta),
            format!("{:.6}", o.ability.se),
            o.steps.len().to_string(),
            o.stop_reason.name().to_owned(),
            format!("{:.6}", o.predicted.mean),
            format!("{:.6}", r.observed),
        ];
        if simulated {
            rec.push(format!("{:.6}", r.true_theta.unwrap_or(f64::NAN)));
        }
        rec.extend([
            format!("{:.6}", o.predicted.lo),
            format!("{:.6}", o.predicted.hi),
            o.skipped.to_string(),
        ]);
        out.write_record(&rec).map_err(csv_err)?;
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
    out.write_record(["examinee", "step", "item", "score", "theta", "se"])
        .map_err(csv_err)?;
    for r in results {
        for (i, s) in r.outcome.steps.iter().enumerate() {
            out.write_record([
                names[r.index].as_str(),
                &(i + 1).to_string(),
                ids[s.item].as_str(),
                &s.score.to_string(),
                &format!("{:.6}", s.theta),
                &format!("{:.6}", s.se),
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
