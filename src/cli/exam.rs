//! `fangsheng exam`: an adaptive exam of a model (or of several, in a
//! campaign) through a backend, journalled and resumable.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use fangsheng::bank::{ItemBank, ParamSet, UsedVariants};
use fangsheng::cat::{COVERAGE_FLOOR, CatBank, IntervalBasis, Plan, Tags};
use fangsheng::exam::{Exam, ExamResult, Journal, Progress, PromptRecord, run as run_exam};
use fangsheng::ids::ItemId;
use fangsheng::prompt::PromptSpec;
use fangsheng::respond::{
    ApiKeySource, Backend, Command, CommandConfig, OpenAi, OpenAiConfig, Replay, RetryPolicy,
    Semaphore, Simulated, split_command_line,
};
use serde::Deserialize;

/// Flags of `fangsheng exam`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng exam --demo
  fangsheng exam --demo --theta 1.5 --max-items 15 --out demo.json
  fangsheng exam --demo --backend openai --endpoint http://localhost:8000/v1 --model llama-3
  fangsheng exam --bank item-banks/mmlu-pro --params calibration/mmlu-pro/v1.json --backend openai \\
      --endpoint http://localhost:8000/v1 --model llama-3 --out mmlu-pro.json
  fangsheng exam --bank item-banks/demo --params calibration/demo/v1.json --backend simulated \\
      --theta 0.5 --out result.json
  fangsheng exam --bank item-banks/demo --params calibration/demo/v1.json --backend command \\
      --command \"tail -n 1\" --max-items 10 --out command.json
  fangsheng exam --bank item-banks/demo --params calibration/demo/v1.json --backend openai \\
      --endpoint http://localhost:8000/v1 --model llama-3 --journal llama.jsonl --out llama.json
  fangsheng exam --bank item-banks/demo --params calibration/demo/v1.json --backend openai \\
      --endpoint http://localhost:8000/v1 --model llama-3 --journal llama.jsonl --resume --out llama.json

On the shipped MMLU-Pro bank an exam asks 50 items balanced over its 14
categories under the bank's own prompt (item-banks/mmlu-pro/prompt.toml)
and reports the predicted accuracy with the calibration's error model; the
result records the model, endpoint, sampling parameters, prompt format and
hash, software version and whether the error model was used.

An endpoint that wants a key reads it from the variable --api-key-env names
(OPENAI_API_KEY=... fangsheng exam ... --api-key-env OPENAI_API_KEY).
--resume continues the exam the journal holds, after an interruption, with
the same flags (a finished exam gives its result again). --campaign FILE
examines several models: one [[model]] table each, with a name and the
backend flags' names as keys (name = \"low\", backend = \"simulated\",
theta = -1.0), and --out a folder receiving <name>.json and
<name>.journal.jsonl. The plan flags override the --plan file only when
given; `ties` and the prior's `mean`, `sd` and `df` are plan-file keys."
)]
pub struct Args {
    /// The embedded demo: the demo bank (item-banks/demo) with its
    /// SIMULATED calibration (calibration/demo/v1.json), answered by a
    /// simulated model of ability --theta (default 0.8) unless --backend is
    /// given; the journal goes to a temporary file (removed afterwards)
    /// unless --journal is given, and the result is printed.
    #[arg(long, conflicts_with_all = ["bank", "params", "campaign"])]
    demo: bool,

    /// Item bank folder (with items.jsonl). [default: with --demo,
    /// item-banks/demo; required otherwise]
    #[arg(long, value_name = "DIR", required_unless_present = "demo")]
    bank: Option<PathBuf>,

    /// Calibrated parameters of the bank's items. [default: with --demo,
    /// calibration/demo/v1.json; required otherwise]
    #[arg(long, value_name = "FILE", required_unless_present = "demo")]
    params: Option<PathBuf>,

    #[command(flatten)]
    backend: BackendFlags,

    /// Exam plan (TOML; a `[prompt]` table sets the prompt); the flags below
    /// override it. [default: none, the default plan and prompt]
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,

    #[command(flatten)]
    plan_flags: super::plan_flags::PlanFlags,

    /// Report the bank score through this score link (written by `fangsheng
    /// evaluate --write-score-link` for the same plan, and the exam's length
    /// or a shorter one; `none` reports the model's own score):
    /// `predicted_score.bank` is linked, with the link's prediction
    /// interval (from its residuals on held-out models), and the model's
    /// own score is kept in `score_link.unlinked`. When the file has group
    /// lines (evaluate with `--bank`), each category or dimension score
    /// with a line is linked the same way (`score_link.groups`).
    /// [default: the calibration's error model, `<params name>.link.json`
    /// beside it (`fangsheng evaluate --error-model`), when it fits the
    /// plan]
    #[arg(long, value_name = "FILE")]
    score_link: Option<PathBuf>,

    /// Seed of the session's random choices (recorded in the journal and
    /// the result).
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Journal (JSON Lines). [default: the output path with
    /// `.journal.jsonl`; with --demo, a temporary file]
    #[arg(long, value_name = "FILE", conflicts_with = "campaign")]
    journal: Option<PathBuf>,

    /// Continue the exam the journal holds.
    #[arg(long)]
    resume: bool,

    /// Several models at once: a TOML file with one `[[model]]` table per
    /// model (name, backend and the backend flags' names); `--out` is then a
    /// folder receiving `<name>.json` and `<name>.journal.jsonl`. [default:
    /// none, one model]
    #[arg(long, value_name = "FILE")]
    campaign: Option<PathBuf>,

    /// Result file (JSON), or the campaign's output folder. [default: with
    /// --demo, standard output; required otherwise]
    #[arg(long, value_name = "PATH", required_unless_present = "demo")]
    out: Option<PathBuf>,

    /// Journals (files, or folders of *.jsonl files) of earlier exams of
    /// the same campaign: the template variants they asked are not drawn
    /// again while unused ones remain. A --campaign reads every journal in
    /// its --out folder as well. [default: none]
    #[arg(long, value_name = "PATH")]
    avoid_variants: Vec<PathBuf>,

    /// No progress lines and no end-of-exam line (warnings still show).
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    quiet: bool,

    /// A line per step on stderr even when it is not a terminal (by default
    /// step lines show only on a terminal, so logs of unattended runs stay short).
    #[arg(long, short = 'v')]
    verbose: bool,
}

/// What an exam prints on stderr besides warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verbosity {
    /// Nothing.
    Quiet,
    /// The end-of-exam line.
    Summary,
    /// A line per step, then the end-of-exam line.
    Steps,
}

impl Args {
    /// Step lines with --verbose or on a terminal; nothing with --quiet.
    fn verbosity(&self) -> Verbosity {
        if self.quiet {
            Verbosity::Quiet
        } else if self.verbose || std::io::stderr().is_terminal() {
            Verbosity::Steps
        } else {
            Verbosity::Summary
        }
    }
}

/// How one model is reached: the backend flags, or one `[[model]]` table of
/// a campaign.
#[derive(Debug, Clone, Default, ClapArgs, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackendFlags {
    /// A label for progress lines and campaign file names (campaigns only).
    #[arg(skip)]
    name: Option<String>,

    /// Who answers: openai, command, replay or simulated. [default: simulated
    /// with --demo; required otherwise]
    #[arg(long, value_name = "KIND")]
    backend: Option<String>,

    /// openai: base URL, up to and without /chat/completions. [default:
    /// none, required by openai]
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,

    /// openai: model name; replay: which model's recorded outputs.
    /// [default: none, required by openai]
    #[arg(long, value_name = "NAME")]
    model: Option<String>,

    /// openai: environment variable holding the API key. [default: none,
    /// no key sent]
    #[arg(long, value_name = "VAR")]
    api_key_env: Option<String>,

    /// openai: sampling temperature. [default: 0]
    #[arg(long)]
    temperature: Option<f64>,

    /// openai: longest completion in tokens. [default: none, the server's]
    #[arg(long, value_name = "N")]
    max_tokens: Option<u32>,

    /// openai, command: seconds allowed per request. [default: 120 for
    /// openai, 300 for command]
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,

    /// openai: attempts per request, the first included. [default: 6]
    #[arg(long, value_name = "N")]
    max_attempts: Option<u32>,

    /// openai: first backoff between attempts, milliseconds. [default: 1000]
    #[arg(long, value_name = "MS")]
    backoff_ms: Option<u64>,

    /// openai: requests in flight at once. In a campaign, models at the same
    /// endpoint share one limit: the first of them sets it. [default: 4]
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,

    /// command: the program and its arguments, split like a shell would
    /// ('single' and "double" quotes, backslash escapes; no expansion); it
    /// reads the prompt on stdin and writes the answer on stdout. [default:
    /// none, required by command]
    #[arg(long, value_name = "\"PROG ARGS\"")]
    command: Option<String>,

    /// replay: recorded outputs (JSON Lines: item_id, model, output).
    /// [default: none, required by replay]
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,

    /// simulated: the model's ability. [default: 0.8 with --demo; required
    /// otherwise]
    #[arg(long, allow_negative_numbers = true)]
    theta: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Campaign {
    model: Vec<BackendFlags>,
}

fn secs(s: Option<f64>, flag: &str) -> anyhow::Result<Option<Duration>> {
    match s {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => bail!("--{flag} must be a positive number of seconds, got {s}"),
    }
}

impl BackendFlags {
    fn label(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.model.clone())
            .unwrap_or_else(|| self.backend.clone().unwrap_or_default())
    }

    /// The backend these flags describe, checked.
    /// The backend these flags describe. `limiters` holds one request limit
    /// per OpenAI endpoint, so that models served by one machine share it.
    fn build(
        &self,
        params: &ParamSet,
        seed: u64,
        limiters: &mut HashMap<String, Arc<Semaphore>>,
    ) -> anyhow::Result<Box<dyn Backend>> {
        let kind = self
            .backend
            .as_deref()
            .context("--backend is required: openai, command, replay or simulated")?;
        let timeout = secs(self.timeout, "timeout")?;
        Ok(match kind {
            "openai" => {
                let endpoint = self
                    .endpoint
                    .clone()
                    .context("--backend openai needs --endpoint URL")?;
                let model = self
                    .model
                    .clone()
                    .context("--backend openai needs --model NAME")?;
                let mut cfg = OpenAiConfig::new(endpoint, model);
                if let Some(var) = &self.api_key_env {
                    cfg.api_key = ApiKeySource::Env(var.clone());
                }
                if let Some(t) = self.temperature {
                    cfg.temperature = t;
                }
                cfg.max_tokens = self.max_tokens;
                if let Some(t) = timeout {
                    cfg.timeout = t;
                }
                let mut retry = RetryPolicy::default();
                if let Some(n) = self.max_attempts {
                    retry.max_attempts = n.max(1);
                }
                if let Some(ms) = self.backoff_ms {
                    retry.base_delay = Duration::from_millis(ms);
                }
                retry.seed = seed;
                cfg.retry = retry;
                if let Some(n) = self.concurrency {
                    cfg.concurrency = n.max(1);
                }
                let key = cfg.endpoint.trim().trim_end_matches('/').to_owned();
                let limiter = limiters
                    .entry(key)
                    .or_insert_with(|| Arc::new(Semaphore::new(cfg.concurrency)))
                    .clone();
                Box::new(OpenAi::with_limiter(cfg, limiter)?)
            }
            "command" => {
                let line = self
                    .command
                    .as_deref()
                    .context("--backend command needs --command \"PROG ARGS\"")?;
                let argv =
                    split_command_line(line).map_err(|e| anyhow::anyhow!("--command: {e}"))?;
                let mut cfg = CommandConfig::new(argv);
                if let Some(t) = timeout {
                    cfg.timeout = t;
                }
                Box::new(Command::new(cfg)?)
            }
            "replay" => {
                let file = self
                    .replay
                    .as_deref()
                    .context("--backend replay needs --replay FILE")?;
                Box::new(Replay::load(file, self.model.as_deref())?)
            }
            "simulated" => {
                let theta = self.theta.context("--backend simulated needs --theta T")?;
                Box::new(Simulated::new(theta, params.items(), seed))
            }
            other => bail!("unknown backend '{other}': use openai, command, replay or simulated"),
        })
    }
}

/// The plan file split into the plan and its `[prompt]` table, with the
/// flags applied. Without a `[prompt]` table the prompt is the bank's own
/// (its folder's `prompt.toml`), else the built-in one.
fn load_plan(args: &Args) -> anyhow::Result<(Plan, PromptSpec)> {
    let bank_prompt = || -> anyhow::Result<PromptSpec> {
        match args.bank.as_deref().filter(|_| !args.demo) {
            Some(dir) => Ok(PromptSpec::of_bank(dir)?.unwrap_or_default()),
            None => Ok(PromptSpec::default()),
        }
    };
    let (mut plan, prompt) = match &args.plan {
        None => (Plan::default(), bank_prompt()?),
        Some(path) => {
            let text = fangsheng::io::read_to_string(path)?;
            let mut table: toml::Table = text
                .parse()
                .with_context(|| format!("{}: not valid TOML", path.display()))?;
            let prompt = match table.remove("prompt") {
                None => bank_prompt()?,
                Some(v) => PromptSpec::deserialize(v)
                    .with_context(|| format!("{}: [prompt]", path.display()))?,
            };
            let plan = Plan::from_toml(&toml::to_string(&table)?).map_err(|e| e.in_file(path))?;
            (plan, prompt)
        }
    };
    args.plan_flags.apply(&mut plan)?;
    plan.validate()?;
    Ok((plan, prompt))
}

fn default_journal(out: &Path) -> PathBuf {
    let mut name = out.file_stem().unwrap_or_default().to_os_string();
    name.push(".journal.jsonl");
    out.with_file_name(name)
}

fn write_result(path: &Path, result: &ExamResult) -> anyhow::Result<()> {
    fangsheng::io::write_json_atomic(path, result, "result")?;
    Ok(())
}

/// Runs one model's exam, printing a line per step prefixed by `label`.
fn run_one(
    exam: &Exam,
    backend: &dyn Backend,
    journal: &Path,
    resume: bool,
    out: Option<&Path>,
    label: &str,
    verbosity: Verbosity,
) -> anyhow::Result<ExamResult> {
    let mut progress = |p: Progress<'_>| match p {
        Progress::Note(note) => eprintln!("{label}: warning: {note}"),
        Progress::Step { step, replayed } if verbosity == Verbosity::Steps => {
            let what = match (&step.outcome, &step.skipped) {
                (Some(o), _) => format!("{o:?}").to_lowercase(),
                (None, _) => "skipped".to_owned(),
            };
            let se = step
                .se
                .map_or_else(|| "inf".to_owned(), |s| format!("{s:.3}"));
            eprintln!(
                "{label}: {}item {} {} {what}, theta {:.3}, se {se}",
                if replayed { "(journal) " } else { "" },
                step.step,
                step.item_id,
                step.theta
            );
        }
        Progress::Step { .. } => {}
    };
    let result = run_exam(exam, backend, journal, resume, &mut progress)
        .with_context(|| format!("{label}: exam stopped"))?;
    if let Some(out) = out {
        write_result(out, &result)?;
    }
    if verbosity != Verbosity::Quiet {
        let bank = result.predicted_score.bank;
        eprintln!(
            "{label}: done ({}): predicted score on the whole bank {:.3} [{:.3}, {:.3}] ({:.0}% interval, {}), theta {:.3}, {} items{}",
            result.stop_reason,
            bank.mean,
            bank.lo,
            bank.hi,
            100.0 * result.level,
            if result.error_model {
                "error model"
            } else {
                "this exam's measurement error only"
            },
            result.theta,
            result.items_used,
            out.map(|o| format!(", result in {}", o.display()))
                .unwrap_or_default()
        );
        if result.in_sample == Some(true) {
            let model = result.request.as_ref().map_or("", |r| r.model.as_str());
            eprintln!(
                "{label}: in-sample exam: '{model}' is one of the models the calibration was fitted on, so this prediction is not a new model's, and the error model's interval, which describes new models, does not describe it"
            );
        }
        if result.bank_interval == Some(IntervalBasis::ErrorModelShort) {
            eprintln!(
                "{label}: the bank score's interval does not hold its level: the error model's line held the observed score in under {:.0}% of held-out exams",
                100.0 * COVERAGE_FLOOR
            );
        }
        for note in group_interval_notes(&result) {
            eprintln!("{label}: {note}");
        }
    }
    Ok(result)
}

/// The template variants asked in `paths`: journal files, or folders whose
/// `*.jsonl` files are journals.
fn used_variants(paths: &[PathBuf]) -> anyhow::Result<Arc<UsedVariants>> {
    let used = UsedVariants::new();
    for path in paths {
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            files.sort();
            files
        } else {
            vec![path.clone()]
        };
        for file in files {
            used.extend(Journal::read(&file)?.variants());
        }
    }
    Ok(used)
}

/// The embedded demo: the demo bank and its simulated calibration, as
/// `cargo run --example demo_data` writes them.
const DEMO_ITEMS: &str = include_str!("../../item-banks/demo/items.jsonl");
const DEMO_PARAMS: &str = include_str!("../../calibration/demo/v1.json");
/// The demo's simulated model, when `--theta` is not given: a mid-range
/// model of the demo's fictional population.
const DEMO_THETA: f64 = 0.8;

/// The bank, its calibration and the calibration file's bytes: the
/// embedded demo's or the files named by the flags.
fn inputs(args: &Args) -> anyhow::Result<(ItemBank, ParamSet, Vec<u8>)> {
    if args.demo {
        let bank = ItemBank::from_jsonl(
            "demo",
            DEMO_ITEMS,
            Path::new("<embedded item-banks/demo/items.jsonl>"),
        )?;
        let src = Path::new("<embedded calibration/demo/v1.json>");
        let params = ParamSet::from_json_str(DEMO_PARAMS, src)?.params;
        return Ok((bank, params, DEMO_PARAMS.as_bytes().to_vec()));
    }
    let (Some(bank), Some(params)) = (&args.bank, &args.params) else {
        bail!("--bank DIR and --params FILE are required (or --demo)");
    };
    let bank = ItemBank::load(bank)?;
    let params_bytes =
        std::fs::read(params).with_context(|| format!("cannot read {}", params.display()))?;
    let loaded = ParamSet::load(params)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok((bank, loaded.params, params_bytes))
}

/// What to tell the user about the prompt: nothing when the calibration
/// covers it or records no format.
fn prompt_note(p: &PromptRecord) -> Option<String> {
    match (&p.calibrated_format, p.covered) {
        (Some(calibrated), Some(false)) => Some(format!(
            "prompt format '{}' is not the one the calibration's runs were answered under ('{calibrated}'): \
             the calibration does not cover it, and the predicted scores assume the model answers as it would under that prompt",
            p.format
        )),
        _ => None,
    }
}

/// A journal path no earlier run has used, in the system's temporary
/// folder: a demo can be run again and again.
fn fresh_journal() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "fangsheng-demo-{}-{nanos}.journal.jsonl",
        std::process::id()
    ))
}

/// A few lines summing up an exam, for the demo's standard output.
fn summary(result: &ExamResult, true_theta: Option<f64>) -> String {
    let mut s = String::new();
    let cal = result
        .calibration
        .version
        .as_deref()
        .unwrap_or("unversioned");
    let _ = writeln!(
        s,
        "adaptive exam on bank '{}' (calibration {cal}, SIMULATED demo parameters) answered by {}",
        result.bank, result.backend
    );
    let _ = writeln!(
        s,
        "stopped ({}) after {} items, {} correct",
        result.stop_reason, result.items_used, result.correct
    );
    let se = result
        .se
        .map_or_else(|| "inf".to_owned(), |v| format!("{v:.3}"));
    let _ = write!(s, "theta {:.3}, SE {se}", result.theta);
    if let Some([lo, hi]) = result.interval {
        let _ = write!(
            s,
            ", {:.0}% interval [{lo:.3}, {hi:.3}]",
            100.0 * result.level
        );
    }
    if let Some(t) = true_theta {
        let _ = write!(s, " (the simulated model's true theta is {t})");
    }
    s.push('\n');
    let p = &result.predicted_score;
    let _ = writeln!(
        s,
        "predicted score on the whole bank: {:.3} [{:.3}, {:.3}]",
        p.bank.mean, p.bank.lo, p.bank.hi
    );
    if let Some(l) = &result.score_link {
        let _ = writeln!(
            s,
            "  (linked: {:.4} + {:.4} x the model's {:.3}; the interval is the link's prediction interval, residual SD {:.3})",
            l.link.intercept, l.link.slope, l.unlinked.mean, l.link.residual_sd
        );
        let n_groups = p.category.len() + p.dimension.len();
        if l.groups.len() == n_groups && n_groups > 0 {
            s.push_str(
                "  (each group score below is linked by its own line; its interval is that line's prediction interval)\n",
            );
        } else if !l.groups.is_empty() {
            // Groups without a line of their own keep the posterior: the
            // bank's line was not fitted on them.
            s.push_str(
                "  (group scores marked * are linked by their own lines, with their prediction intervals; the others are the model's own, not linked)\n",
            );
        } else if n_groups > 0 {
            s.push_str(
                "  (the group scores below are the model's own, not linked; a link written with --group-scores has lines for them)\n",
            );
        }
    }
    if result.score_link.is_none() {
        // Held-out MMLU-Pro and ChemBench models fell inside such posterior
        // intervals well under half the time (docs/validation.md).
        s.push_str(
            "  (the interval counts this exam's measurement error only; a --score-link interval also counts calibration error)\n",
        );
    }
    let linked = |tag: &str, value: &str| {
        result.score_link.as_ref().is_some_and(|l| {
            l.groups.len() < p.category.len() + p.dimension.len()
                && l.groups.iter().any(|g| g.tag == tag && g.value == value)
        })
    };
    for (title, groups) in [("category", &p.category), ("dimension", &p.dimension)] {
        for g in groups {
            let mark = if linked(title, &g.value) { " *" } else { "" };
            let short = if g.interval == Some(IntervalBasis::ErrorModelShort) {
                " (interval does not hold its level)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "  {title} {:<12} {:.3} [{:.3}, {:.3}] ({} items){mark}{short}",
                g.value, g.score.mean, g.score.lo, g.score.hi, g.n_items
            );
        }
    }
    for note in group_interval_notes(result) {
        let _ = writeln!(s, "  ({note})");
    }
    s
}

/// What a reader must know about the category and dimension intervals of
/// `result`: the groups whose interval cannot be stated as holding its
/// level, and why.
fn group_interval_notes(result: &ExamResult) -> Vec<String> {
    let p = &result.predicted_score;
    let named = |basis: IntervalBasis| -> Vec<String> {
        [("category", &p.category), ("dimension", &p.dimension)]
            .iter()
            .flat_map(|(tag, groups)| {
                groups
                    .iter()
                    .filter(move |g| g.interval == Some(basis))
                    .map(move |g| format!("{tag} {}", g.value))
            })
            .collect()
    };
    let n_groups = p.category.len() + p.dimension.len();
    let mut notes = Vec::new();
    let posterior = named(IntervalBasis::Posterior);
    if !posterior.is_empty() {
        let which = if posterior.len() == n_groups {
            "the category and dimension intervals".to_owned()
        } else {
            format!("the intervals of {}", posterior.join(", "))
        };
        notes.push(format!(
            "{which} count this exam's measurement error only: they do not hold their level on a model outside the calibration"
        ));
    }
    let short = named(IntervalBasis::ErrorModelShort);
    if !short.is_empty() {
        notes.push(format!(
            "the intervals of {} do not hold their level: the error model's lines for them held the observed score in under {:.0}% of held-out exams, too little calibration data to state an honest interval",
            short.join(", "),
            100.0 * COVERAGE_FLOOR
        ));
    }
    notes
}

/// Runs `fangsheng exam --demo`: the embedded bank and calibration, a
/// simulated model unless another backend is given, a throw-away journal
/// unless one is named, and the summary on standard output.
fn run_demo(args: &Args, exam: &Exam, params: &ParamSet) -> anyhow::Result<()> {
    let mut flags = args.backend.clone();
    let kind = flags.backend.get_or_insert_with(|| "simulated".to_owned());
    let true_theta = if kind == "simulated" {
        Some(*flags.theta.get_or_insert(DEMO_THETA))
    } else {
        None
    };
    let backend = flags.build(params, args.seed, &mut HashMap::new())?;
    let (journal, temporary) = match &args.journal {
        Some(j) => (j.clone(), false),
        None if args.resume => bail!("--demo --resume needs the --journal FILE to continue"),
        None => (fresh_journal(), true),
    };
    let result = run_one(
        exam,
        backend.as_ref(),
        &journal,
        args.resume,
        args.out.as_deref(),
        &flags.label(),
        args.verbosity(),
    );
    if temporary {
        // The journal of a demo is scratch: removing it keeps the temporary
        // folder clean; a failure to remove it changes nothing for the user.
        let _ = std::fs::remove_file(&journal);
    }
    print!("{}", summary(&result?, true_theta));
    Ok(())
}

/// Runs `fangsheng exam`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (bank, params, params_bytes) = inputs(&args)?;
    let (plan, prompt) = load_plan(&args)?;
    // Balance targets are the shares among the calibrated items with
    // content, the items the exam can ask.
    let tags: HashMap<ItemId, Tags> = Tags::of_bank(&bank)
        .into_iter()
        .filter(|(id, _)| params.index_of(id.as_str()).is_some())
        .collect();
    let plan = args
        .plan_flags
        .balanced(plan, &CatBank::new(&params)?.with_tags(&tags)?)?;
    let mut journals = args.avoid_variants.clone();
    if let (Some(out), Some(_)) = (&args.out, &args.campaign) {
        if out.is_dir() {
            journals.push(out.clone());
        }
    }
    let used = used_variants(&journals)?;
    // The embedded demo calibration has no error model beside it.
    let calibration = args.params.as_deref().filter(|_| !args.demo);
    let chosen = super::error_model::choose(
        args.score_link.as_deref(),
        calibration,
        &params_bytes,
        &plan,
    )?;
    if !args.quiet && !chosen.note.is_empty() {
        eprintln!("{}", chosen.note);
    }
    let mut exam = Exam::new(bank, params.clone(), &params_bytes, plan, prompt, args.seed)?
        .with_used_variants(used);
    if !args.quiet {
        if let Some(note) = prompt_note(exam.prompt_record()) {
            eprintln!("{note}");
        }
    }
    if let Some((line, path)) = chosen.line {
        exam = exam.with_score_link(line, path.display().to_string());
    }
    if args.demo {
        return run_demo(&args, &exam, &params);
    }
    let Some(out) = args.out.clone() else {
        bail!("--out PATH is required");
    };

    let Some(campaign_path) = &args.campaign else {
        let backend = args
            .backend
            .build(&params, args.seed, &mut HashMap::new())?;
        let journal = args
            .journal
            .clone()
            .unwrap_or_else(|| default_journal(&out));
        let label = args.backend.label();
        run_one(
            &exam,
            backend.as_ref(),
            &journal,
            args.resume,
            Some(&out),
            &label,
            args.verbosity(),
        )?;
        return Ok(());
    };

    let text = fangsheng::io::read_to_string(campaign_path)?;
    let campaign: Campaign = toml::from_str(&text)
        .with_context(|| format!("{}: not a campaign", campaign_path.display()))?;
    if campaign.model.is_empty() {
        bail!("{}: no [[model]] listed", campaign_path.display());
    }
    let mut labels = std::collections::HashSet::new();
    let mut runs = Vec::new();
    let mut limiters = HashMap::new();
    for m in &campaign.model {
        let label = m.label();
        if label.is_empty() || label.contains(['/', '\\']) || !labels.insert(label.clone()) {
            bail!(
                "{}: model names must be distinct file names, got '{label}'",
                campaign_path.display()
            );
        }
        let backend = m
            .build(&params, args.seed, &mut limiters)
            .with_context(|| format!("{}: model '{label}'", campaign_path.display()))?;
        runs.push((label, backend));
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    // Progress lines of concurrent models interleave; each carries its
    // model's name, which is also how a terminal tells them apart.
    let verbosity = args.verbosity();
    let exam = Arc::new(exam);
    let outcomes: Vec<(String, anyhow::Result<ExamResult>)> = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|(label, backend)| {
                let exam = Arc::clone(&exam);
                let out_file = out.join(format!("{label}.json"));
                let journal = out.join(format!("{label}.journal.jsonl"));
                let resume = args.resume;
                s.spawn(move || {
                    let r = run_one(
                        &exam,
                        backend.as_ref(),
                        &journal,
                        resume,
                        Some(&out_file),
                        label,
                        verbosity,
                    );
                    (label.clone(), r)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    ("?".into(), Err(anyhow::anyhow!("a model's exam panicked")))
                })
            })
            .collect()
    });
    let done: Vec<(&str, &ExamResult)> = outcomes
        .iter()
        .filter_map(|(label, r)| r.as_ref().ok().map(|r| (label.as_str(), r)))
        .collect();
    if verbosity != Verbosity::Quiet && !done.is_empty() {
        print!("{}", campaign_table(&done));
    }
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|(label, r)| r.as_ref().err().map(|e| format!("{label}: {e:#}")))
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} exams failed:\n{}",
            failed.len(),
            outcomes.len(),
            failed.join("\n")
        );
    }
    Ok(())
}

/// The campaign's models side by side, strongest first: the comparison an
/// evaluator reads after a campaign (each model's full result is in its own
/// file).
fn campaign_table(done: &[(&str, &ExamResult)]) -> String {
    let mut rows: Vec<&(&str, &ExamResult)> = done.iter().collect();
    rows.sort_by(|x, y| y.1.theta.total_cmp(&x.1.theta).then(x.0.cmp(y.0)));
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0).max(5);
    let mut out = format!(
        "{:<width$}  {:>7}  {:>6}  {:>17}  {:>6}  {:>15}  {:>5}  stop\n",
        "model", "theta", "se", "theta interval", "score", "score interval", "items"
    );
    let fmt_pair = |p: Option<[f64; 2]>, decimals: usize| {
        p.map_or_else(
            || "-".to_owned(),
            |[lo, hi]| format!("[{lo:.decimals$}, {hi:.decimals$}]"),
        )
    };
    for (label, r) in rows {
        let score = &r.predicted_score.bank;
        out.push_str(&format!(
            "{label:<width$}  {:>7.3}  {:>6}  {:>17}  {:>6.3}  {:>15}  {:>5}  {}\n",
            r.theta,
            r.se.map_or_else(|| "-".to_owned(), |se| format!("{se:.3}")),
            fmt_pair(r.interval, 3),
            score.mean,
            fmt_pair(Some([score.lo, score.hi]), 3),
            r.items_used,
            r.stop_reason,
        ));
    }
    out
}
