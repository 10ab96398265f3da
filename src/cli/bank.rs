//! `fangsheng bank`: import a dataset as an item bank, check a bank against
//! its calibration, and summarise a bank.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, Subcommand};
use fangsheng::bank::{
    BankInfo, ITEMS_FILE, ITEMS_FILE_GZ, ImportSpec, ItemBank, ItemType, ParamSet,
};
use fangsheng::model::Irf;
use serde::Serialize;

/// Flags of `fangsheng bank`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng bank info --bank item-banks/demo --params calibration/demo/v1.json
  fangsheng bank validate --bank item-banks/demo --params calibration/demo/v1.json
  fangsheng calibrate -r calibration/demo/runs.csv --model 2pl --out v1-2pl.json
  fangsheng calibrate -r calibration/demo/runs.csv --model 2pl --hold-out 0.2 --seed 2 --out v2-2pl.json
  fangsheng bank diff v1-2pl.json v2-2pl.json --k 2"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import a dataset (JSON Lines or CSV, gzipped or not) as an item bank.
    Import(Box<ImportArgs>),
    /// Check a bank against a parameter file: every item calibrated, every
    /// calibrated item in the bank, answers valid. Exits with 2 on errors.
    Validate(ValidateArgs),
    /// Count a bank's items per type, category, dimension and tag; with
    /// --params, how much of it is calibrated and its difficulty range.
    Info(InfoArgs),
    /// Compare two calibrations: items whose parameters moved beyond their
    /// standard errors, items added and removed.
    Diff(DiffArgs),
}

/// Flags of `fangsheng bank diff`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng calibrate -r calibration/demo/runs.csv --model 2pl --out v1-2pl.json
  fangsheng calibrate -r calibration/demo/runs.csv --model 2pl --hold-out 0.2 --seed 2 --out v2-2pl.json
  fangsheng bank diff v1-2pl.json v2-2pl.json
  fangsheng bank diff v1-2pl.json v2-2pl.json --k 3 --json

A parameter has drifted when |new - old| > k sqrt(se_old^2 + se_new^2).
Both versions must be on one scale (recalibrated with --anchor, or linked).
The same comparison runs with the contamination checks as
`diagnose contamination --previous V1.json`."
)]
struct DiffArgs {
    /// The older parameter file.
    #[arg(value_name = "V1")]
    old: PathBuf,

    /// The newer parameter file.
    #[arg(value_name = "V2")]
    new: PathBuf,

    /// Threshold in combined standard errors.
    #[arg(long, default_value_t = 2.0)]
    k: f64,

    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Flags of `fangsheng bank import`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng bank import examples/quiz.csv --id-field id --question-field q \\
      --choices-field A,B,C,D --answer-field key --category-field topic \\
      --dimension-field dim --out quiz-bank
  fangsheng bank import examples/sums.jsonl --id-field id --question-field q --answer-field n \\
      --type numeric --tolerance 0.01 --dimension application --out sums-bank

Every record must import: a bad record stops the import with its file:line,
and no bank is written (an existing items.jsonl is replaced only by a
complete new one, and only with --force)."
)]
struct ImportArgs {
    /// Dataset file: JSON Lines (.jsonl), CSV (.csv) or TSV (.tsv), optionally
    /// gzipped (.gz).
    #[arg(value_name = "FILE")]
    input: PathBuf,

    /// Field holding the item id (text or integer).
    #[arg(long, value_name = "FIELD")]
    id_field: String,

    /// Field holding the question text.
    #[arg(long, value_name = "FIELD")]
    question_field: String,

    /// Field holding the list of choices, or several fields (comma-separated
    /// or repeated), one choice each. Leave out for open questions.
    /// [default: none, open questions]
    #[arg(long, value_name = "FIELD", value_delimiter = ',')]
    choices_field: Vec<String>,

    /// Field holding the answer: a letter, a choice's text, a text or a
    /// number (a choice's position with --answer-index-base).
    #[arg(long, value_name = "FIELD")]
    answer_field: String,

    /// Field holding the category. [default: none, no category]
    #[arg(long, value_name = "FIELD")]
    category_field: Option<String>,

    /// Field holding the dimension (general, industry, application, safety
    /// or free text). [default: none, see --dimension]
    #[arg(long, value_name = "FIELD")]
    dimension_field: Option<String>,

    /// Dimension of every item (of those whose dimension field is empty, with
    /// --dimension-field). [default: none, no dimension]
    #[arg(long, value_name = "VALUE")]
    dimension: Option<String>,

    /// Type of every item: multiple_choice, exact, numeric or regex.
    /// [default: inferred per record: choices make multiple choice, a
    /// numeric answer numeric, else exact]
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,

    /// The answer field holds the correct choice's position counted from
    /// this base (0 or 1) instead of its letter. [default: none, a letter or
    /// a choice's text]
    #[arg(long, value_name = "0|1", value_parser = clap::value_parser!(u8).range(0..=1))]
    answer_index_base: Option<u8>,

    /// Field holding tags: a list, or a text split at ';'. [default: none, no
    /// tags]
    #[arg(long, value_name = "FIELD")]
    tags_field: Option<String>,

    /// Absolute tolerance given to numeric items. [default: 0, the exact
    /// number]
    #[arg(long, value_name = "X")]
    tolerance: Option<f64>,

    /// Fields copied as they are into each item's `meta` (comma-separated or
    /// repeated). [default: none]
    #[arg(long, value_name = "FIELD", value_delimiter = ',')]
    keep: Vec<String>,

    /// The bank folder to write, `item-banks/<name>`; the bank is named after
    /// it and its content written to `<folder>/items.jsonl`.
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,

    /// Write the content gzipped, as `<folder>/items.jsonl.gz` (the same
    /// bytes on every machine; every command reads either form).
    #[arg(long)]
    gzip: bool,

    /// Replace the bank's existing items file (items.jsonl or
    /// items.jsonl.gz).
    #[arg(long)]
    force: bool,
}

/// Flags of `fangsheng bank validate`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples (from the repository root):
  fangsheng bank validate --bank item-banks/demo --params calibration/demo/v1.json
  fangsheng bank validate --bank item-banks/demo/items.jsonl --params calibration/demo/v1.json --json")]
struct ValidateArgs {
    /// The bank: its folder, or its items.jsonl file.
    #[arg(long, short = 'b', value_name = "DIR")]
    bank: PathBuf,

    /// Item parameter file (fangsheng-params/1 JSON, or CSV).
    #[arg(long, short = 'p', value_name = "FILE")]
    params: PathBuf,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `fangsheng bank info`.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples (from the repository root):
  fangsheng bank info --bank item-banks/demo
  fangsheng bank info --bank item-banks/demo --params calibration/demo/v1.json --json")]
struct InfoArgs {
    /// The bank: its folder, or its items.jsonl file.
    #[arg(long, short = 'b', value_name = "DIR")]
    bank: PathBuf,

    /// Item parameter file: adds the calibrated share and the difficulty and
    /// discrimination ranges of the bank's calibrated items. [default: none,
    /// the content alone]
    #[arg(long, short = 'p', value_name = "FILE")]
    params: Option<PathBuf>,

    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Import(a) => import(*a),
        Command::Validate(a) => validate(a),
        Command::Info(a) => info(a),
        Command::Diff(a) => diff(a),
    }
}

fn diff(args: DiffArgs) -> anyhow::Result<()> {
    let old = load_params(&args.old)?;
    let new = load_params(&args.new)?;
    let report = fangsheng::diagnose::compare(&old, &new, args.k)?;
    if args.json {
        show(&format!("{}\n", serde_json::to_string_pretty(&report)?))
    } else {
        show(&report.to_string())
    }
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let spec = import_spec(&args)?;
    let target = args
        .out
        .join(if args.gzip { ITEMS_FILE_GZ } else { ITEMS_FILE });
    if let Some(existing) = [ITEMS_FILE, ITEMS_FILE_GZ]
        .iter()
        .map(|f| args.out.join(f))
        .find(|p| p.exists())
        && !args.force
    {
        bail!(
            "{} already exists; pass --force to replace it",
            existing.display()
        );
    }
    let bank = fangsheng::bank::import_to(&args.input, &spec, &args.out, args.gzip)?;
    show(&bank.info().to_string())?;
    eprintln!(
        "imported {} items from {} into {}",
        bank.len(),
        args.input.display(),
        target.display()
    );
    Ok(())
}

/// Turns the flags into an [`ImportSpec`], rejecting combinations that
/// cannot mean anything before the dataset is read.
fn import_spec(args: &ImportArgs) -> anyhow::Result<ImportSpec> {
    let mut spec = ImportSpec::new(&args.id_field, &args.question_field, &args.answer_field)
        .choices(args.choices_field.iter().filter(|f| !f.trim().is_empty()))
        .keep(args.keep.iter().filter(|f| !f.trim().is_empty()));
    if let Some(f) = &args.category_field {
        spec = spec.category(f);
    }
    if let Some(f) = &args.dimension_field {
        spec = spec.dimension_field(f);
    }
    if let Some(d) = &args.dimension {
        spec = spec.dimension(d);
    }
    spec.tags_field = args.tags_field.clone();
    if let Some(name) = &args.kind {
        let kind = ItemType::parse(name)?;
        let has_choices = !spec.choices_fields.is_empty();
        if has_choices != (kind == ItemType::MultipleChoice) {
            bail!(
                "--type {kind} {} --choices-field",
                if has_choices { "takes no" } else { "needs a" }
            );
        }
        spec = spec.kind(kind);
    }
    if let Some(base) = args.answer_index_base {
        if spec.choices_fields.is_empty() {
            bail!("--answer-index-base needs a --choices-field");
        }
        spec.answer_index_base = Some(base as usize);
    }
    if let Some(t) = args.tolerance {
        if !(t.is_finite() && t >= 0.0) {
            bail!("--tolerance must be a finite number >= 0, got {t}");
        }
        spec.tolerance = Some(t);
    }
    Ok(spec)
}

fn validate(args: ValidateArgs) -> anyhow::Result<()> {
    let bank = load_bank(&args.bank)?;
    let params = load_params(&args.params)?;
    let report = bank.validate_against(&params);
    if args.json {
        show(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        show(&report.to_string())?;
    }
    if !report.is_ok() {
        bail!(
            "{}: {} error{} against {}",
            args.bank.display(),
            report.errors().count(),
            if report.errors().count() == 1 {
                ""
            } else {
                "s"
            },
            args.params.display()
        );
    }
    Ok(())
}

/// `bank info` output: the bank's counts and, with parameters, a summary of
/// its calibration.
#[derive(Debug, Serialize)]
struct InfoOutput {
    #[serde(flatten)]
    bank: BankInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    calibration: Option<Calibration>,
}

/// How much of a bank a parameter set covers, and the spread of its items.
#[derive(Debug, Serialize)]
struct Calibration {
    params: String,
    version: Option<String>,
    n_calibrated: usize,
    calibrated_share: f64,
    n_params_not_in_bank: usize,
    by_model: std::collections::BTreeMap<String, usize>,
    /// Smallest and largest difficulty `b` (graded items: their thresholds).
    difficulty: Option<[f64; 2]>,
    /// Smallest and largest discrimination `a`.
    discrimination: Option<[f64; 2]>,
}

impl std::fmt::Display for Calibration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "calibration {}{}: {} items calibrated ({:.1}%), {} parameter items not in the bank",
            self.params,
            self.version
                .as_deref()
                .map(|v| format!(" (version {v})"))
                .unwrap_or_default(),
            self.n_calibrated,
            100.0 * self.calibrated_share,
            self.n_params_not_in_bank
        )?;
        for (model, n) in &self.by_model {
            writeln!(f, "  model {model:<6}  {n:>6}")?;
        }
        if let Some([lo, hi]) = self.difficulty {
            writeln!(f, "  difficulty b      {lo:>7.3} .. {hi:.3}")?;
        }
        if let Some([lo, hi]) = self.discrimination {
            writeln!(f, "  discrimination a  {lo:>7.3} .. {hi:.3}")?;
        }
        Ok(())
    }
}

fn info(args: InfoArgs) -> anyhow::Result<()> {
    let bank = load_bank(&args.bank)?;
    let calibration = match &args.params {
        Some(path) => Some(calibration(&bank, &load_params(path)?, path)),
        None => None,
    };
    let out = InfoOutput {
        bank: bank.info(),
        calibration,
    };
    if args.json {
        show(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    } else {
        let mut text = out.bank.to_string();
        if let Some(c) = &out.calibration {
            text += &c.to_string();
        }
        show(&text)?;
    }
    Ok(())
}

fn calibration(bank: &ItemBank, params: &ParamSet, path: &Path) -> Calibration {
    let mut by_model = std::collections::BTreeMap::new();
    let mut difficulty: Option<[f64; 2]> = None;
    let mut discrimination: Option<[f64; 2]> = None;
    let widen = |range: &mut Option<[f64; 2]>, x: f64| {
        let r = range.get_or_insert([x, x]);
        r[0] = r[0].min(x);
        r[1] = r[1].max(x);
    };
    let mut n_calibrated = 0;
    for item in bank.items() {
        let Some(p) = params.get(item.id.as_str()) else {
            continue;
        };
        n_calibrated += 1;
        *by_model.entry(p.kind.to_string()).or_insert(0) += 1;
        match &p.irf {
            Irf::Logistic(m) => {
                widen(&mut difficulty, m.b());
                widen(&mut discrimination, m.a());
            }
            Irf::Graded(m) => {
                for &t in m.thresholds() {
                    widen(&mut difficulty, t);
                }
                widen(&mut discrimination, m.a());
            }
        }
    }
    let n_params_not_in_bank = params
        .items()
        .iter()
        .filter(|p| bank.get(p.id.as_str()).is_none())
        .count();
    Calibration {
        params: path.display().to_string(),
        version: params.metadata().version.clone(),
        n_calibrated,
        calibrated_share: n_calibrated as f64 / bank.len() as f64,
        n_params_not_in_bank,
        by_model,
        difficulty,
        discrimination,
    }
}

/// Loads a bank; when it has several bad lines, all of them are printed
/// before the error, so that one run shows everything to fix.
fn load_bank(path: &Path) -> anyhow::Result<ItemBank> {
    match ItemBank::load(path) {
        Ok(bank) => Ok(bank),
        Err(first) => {
            if let Ok(problems) = ItemBank::problems(path) {
                if problems.len() > 1 {
                    for p in &problems {
                        eprintln!("{p}");
                    }
                }
            }
            Err(first).with_context(|| format!("reading the bank {}", path.display()))
        }
    }
}

/// Writes `text` to standard output. A reader that went away early (as
/// `| head` does) is not an error: the rest of the output is unwanted.
fn show(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing to standard output")
        }
        _ => Ok(()),
    }
}

fn load_params(path: &Path) -> anyhow::Result<ParamSet> {
    let loaded = ParamSet::load(path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded.params)
}
