//! `fangsheng report`: one self-contained HTML file with plots of exam
//! results, journals, simulate output and a calibration.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;
use fangsheng::bank::{ItemBank, ParamSet};
use fangsheng::report::{Inputs, Options, render};

/// Flags of `fangsheng report`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng simulate --params calibration/demo/v1.json --responses calibration/demo/runs.csv \\
      --trace trace.csv --out sim.csv --quiet
  fangsheng exam --bank item-banks/demo --params calibration/demo/v1.json --backend simulated \\
      --theta 0.5 --out exam.json
  fangsheng report --from sim.csv,trace.csv,exam.json,exam.journal.jsonl \\
      --params calibration/demo/v1.json --out report.html
  fangsheng report --from exam.json exam.journal.jsonl --params calibration/demo/v1.json \\
      --bank item-banks/demo --items demo-001,demo-040 --title \"Demo exam\" --out exam.html

Each --from file's kind is told from its content: exam result (JSON), exam
journal (JSON Lines), simulate output (CSV or JSON) and its --trace CSV,
abilities (calibrate --abilities, score), a parameter file, or any other JSON
object (shown as a key/value table, e.g. diagnose summaries). The page has no
scripts and loads nothing: open it offline in any browser."
)]
pub struct Args {
    /// Input files, separated by spaces or commas, or the flag repeated.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 1..,
        value_delimiter = ',',
        required = true
    )]
    from: Vec<PathBuf>,

    /// Item parameter file (fangsheng-params/1 JSON or CSV): test
    /// information, item curves and the item map need it. [default: none,
    /// those sections say so]
    #[arg(long, short = 'p', value_name = "FILE")]
    params: Option<PathBuf>,

    /// Item bank folder (items.jsonl): the chosen items' categories and
    /// questions. [default: none]
    #[arg(long, value_name = "DIR")]
    bank: Option<PathBuf>,

    /// Items whose characteristic curves to draw. [default: five spanning
    /// the bank's difficulty]
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    items: Vec<String>,

    /// Page title. [default: from the calibration's bank name]
    #[arg(long)]
    title: Option<String>,

    /// Output HTML file. Written atomically.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
}

/// Runs `fangsheng report`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut inputs = Inputs::new();
    if let Some(path) = &args.params {
        let loaded = ParamSet::load(path)?;
        inputs.warnings.extend(loaded.warnings);
        inputs.set_params(loaded.params, path)?;
    }
    for path in &args.from {
        inputs.add_file(path)?;
    }
    for w in &inputs.warnings {
        eprintln!("warning: {w}");
    }
    let bank = args
        .bank
        .as_deref()
        .map(ItemBank::load)
        .transpose()
        .context("--bank")?;
    let options = Options {
        title: args.title.clone(),
        items: args.items.clone(),
        bank,
    };
    let page = render(&inputs, &options)?;
    fangsheng::io::write_atomic(&args.out, |w| {
        w.write_all(page.as_bytes())
            .map_err(|e| fangsheng::Error::io(&args.out, e))
    })?;
    eprintln!(
        "wrote {} ({} files read, {} abilities, {} trajectories, {} summaries, {} KiB)",
        args.out.display(),
        inputs.files.len(),
        inputs.plotted_abilities().len(),
        inputs.trajectories.len(),
        inputs.summaries.len(),
        page.len().div_ceil(1024)
    );
    Ok(())
}
