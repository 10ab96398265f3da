//! `fangsheng calibrate-new`: parameters of new (pretest) items from exam
//! journals or a long CSV, the operational items' parameters held fixed.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use fangsheng::bank::ParamSet;
use fangsheng::calibrate::PriorConfig;
use fangsheng::io::sha256_hex;
use fangsheng::model::ModelKind;
use fangsheng::online::{Method, OnlineConfig, PretestData, calibrate_new, journal_paths};

/// Flags of `fangsheng calibrate-new`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng simulate --params calibration/demo/v1.json --thetas 200 \\
      --pretest demo-001,demo-040,demo-080,demo-120 --pretest-count 2 \\
      --pretest-truth calibration/demo/v1.json --journals-out journals --pretest-out pretest.csv \\
      --out sim.csv --quiet
  fangsheng calibrate-new --journals journals --params calibration/demo/v1.json --out new.json
  fangsheng calibrate-new --responses pretest.csv --params calibration/demo/v1.json --method fixed \\
      --merge --out v2.json

The simulation above pretests four items of the demo bank again (200
simulated models answer them by their v1 parameters), so new.json can be set
beside v1.json. Steps marked pretest in the journals (or, in a long CSV with
columns model,item,score[,theta][,pretest], rows of items not in --params)
are the new items; the other answers place each examinee on the bank's scale.
--method mem (default) integrates over each examinee's posterior through
several EM cycles (Ban et al. 2001); --method fixed treats the exam's final
estimate as the true ability (Stocking's method A), which attenuates the
slopes when estimates are noisy. Journals written under another calibration
than --params are refused. Items with no or few answers are flagged on
stderr and in metadata.provenance.online_calibration."
)]
pub struct Args {
    /// Exam journals, or folders of them (`*.jsonl`). [default: none, give
    /// --responses]
    #[arg(long, value_name = "FILE|DIR", num_args = 1.., required_unless_present = "responses")]
    journals: Vec<PathBuf>,

    /// Long CSV instead of (or besides) journals:
    /// model,item,score[,theta][,pretest]. [default: none]
    #[arg(long, value_name = "FILE")]
    responses: Option<PathBuf>,

    /// Parameters of the operational items (the journals' calibration).
    #[arg(long, short = 'p', value_name = "FILE")]
    params: PathBuf,

    /// Model of the new items: rasch, 1pl, 2pl, 3pl, 4pl or grm.
    #[arg(long, default_value = "2pl")]
    model: String,

    /// mem (multiple EM cycles over posteriors) or fixed (abilities held
    /// at their estimates).
    #[arg(long, default_value = "mem")]
    method: String,

    /// Priors on the new items: default or none.
    #[arg(long, default_value = "default", value_parser = ["default", "none"])]
    prior: String,

    /// Largest number of MEM cycles.
    #[arg(long, default_value_t = 100)]
    max_cycles: usize,

    /// Flag items with fewer answers than this.
    #[arg(long, default_value_t = 20)]
    min_responses: usize,

    /// Accept journals written under another calibration (their operational
    /// items are looked up by id in --params).
    #[arg(long)]
    any_params: bool,

    /// Write --params' items too, with the new ones (a new estimate
    /// replaces an item of the same id).
    #[arg(long)]
    merge: bool,

    /// Output parameter file (fangsheng-params/1 JSON).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.params)
        .with_context(|| format!("cannot read {}", args.params.display()))?;
    let loaded = ParamSet::load(&args.params)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let params = loaded.params;
    let digest = sha256_hex(&bytes);
    let mut data = PretestData::default();
    if !args.journals.is_empty() {
        let mut paths = Vec::new();
        for p in &args.journals {
            paths.extend(journal_paths(p)?);
        }
        if paths.is_empty() {
            bail!("no journal (*.jsonl) found in {:?}", args.journals);
        }
        let want = (!args.any_params).then_some(digest.as_str());
        let (d, warnings) = PretestData::from_journals(&paths, &params, want)?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        data = d;
    }
    if let Some(csv) = &args.responses {
        let d = PretestData::from_long_csv(csv, &params)?;
        data = if data.examinees.is_empty() {
            d
        } else {
            merge(data, d)
        };
    }
    let model: ModelKind = args.model.parse()?;
    let method: Method = args.method.parse()?;
    let config = OnlineConfig {
        method,
        model,
        priors: if args.prior == "none" {
            PriorConfig::none()
        } else {
            PriorConfig::default()
        },
        max_cycles: args.max_cycles,
        min_responses: args.min_responses,
        ..OnlineConfig::default()
    };
    let fit = calibrate_new(&data, &params, &config)?;
    for item in fit.items.iter().filter(|i| !i.flags.is_empty()) {
        eprintln!(
            "flagged: item '{}' ({} answers): {}",
            item.id,
            item.n,
            item.flags.join(", ")
        );
    }
    let out = fit.to_params(&data, &params, args.merge)?;
    out.save_json(&args.out)?;
    let estimated = fit.items.iter().filter(|i| i.params.is_some()).count();
    eprintln!(
        "{} new items estimated ({} flagged) from {} examinees by {} ({} cycle(s){}); written to {}",
        estimated,
        fit.items.iter().filter(|i| !i.flags.is_empty()).count(),
        data.examinees.len(),
        method.name(),
        fit.cycles,
        if fit.converged { "" } else { ", not converged" },
        args.out.display()
    );
    Ok(())
}

/// Journals and a CSV together: the CSV's examinees and items appended.
fn merge(mut a: PretestData, b: PretestData) -> PretestData {
    let mut map = std::collections::HashMap::new();
    for (i, id) in a.items.iter().enumerate() {
        map.insert(id.clone(), i);
    }
    let remap: Vec<usize> = b
        .items
        .iter()
        .map(|id| {
            *map.entry(id.clone()).or_insert_with(|| {
                a.items.push(id.clone());
                a.items.len() - 1
            })
        })
        .collect();
    for mut e in b.examinees {
        for r in &mut e.pretest {
            r.0 = remap[r.0];
        }
        a.examinees.push(e);
    }
    a.sources.extend(b.sources);
    a.digest = sha256_hex(format!("{}\n{}", a.digest, b.digest).as_bytes());
    a
}
