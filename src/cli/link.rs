//! `fangsheng link`: NEW's items on OLD's scale through their common items.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use fangsheng::bank::{Metadata, ParamSet};
use fangsheng::ids::ItemId;
use fangsheng::link::{Method, common_items, link};
use serde_json::json;

use super::calibrate::provenance_date;

/// Flags of `fangsheng link`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Examples (from the repository root; outputs go to the current folder):
  fangsheng calibrate -r calibration/demo/runs.csv --model 2pl --hold-out 0.3 --seed 2 --out separate.json
  fangsheng link calibration/demo/v1.json separate.json --out linked.json
  fangsheng link calibration/demo/v1.json separate.json --method mean-sigma --version v2 \\
      --out linked-ms.json --csv linked-ms.csv

Finds theta_old = A theta_new + B from the items both files share (or those
listed in --common-items: one id per line, '#' comments) and writes NEW's items
on OLD's scale: a / A, A b + B for b and every graded threshold, g and u
unchanged, standard errors mapped likewise; metadata.scale becomes
(A mean + B, A sd). The transformation (method, A, B, number of common items,
criterion) goes to metadata.provenance.link, and both inputs (path, SHA-256,
version) to metadata.provenance.parents.

Methods: stocking-lord (default) minimises the squared difference of the
common items' test characteristic curves over 41 points z in [-4, 4] on OLD's
scale (theta = mean + sd z from OLD's metadata.scale), weighted by the N(0, 1)
density, by Gauss-Newton with analytic derivatives from the mean-sigma start;
mean-sigma matches the mean and SD of the common difficulties; mean-mean the
mean slope and mean difficulty. With Rasch items in NEW, A is fixed at 1.
When the new responses are at hand, calibrate --anchor needs no separate
calibration."
)]
pub struct Args {
    /// The parameter file whose scale is kept.
    #[arg(value_name = "OLD")]
    old: PathBuf,

    /// The parameter file to put on OLD's scale.
    #[arg(value_name = "NEW")]
    new: PathBuf,

    /// Where to write NEW's items on OLD's scale (fangsheng-params/1 JSON).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,

    /// Linking method: stocking-lord, mean-sigma or mean-mean.
    #[arg(long, default_value = "stocking-lord")]
    method: String,

    /// File listing the common item ids, one per line. [default: every id
    /// in both files]
    #[arg(long, value_name = "FILE")]
    common_items: Option<PathBuf>,

    /// Version label of the output. [default: NEW's]
    #[arg(long)]
    version: Option<String>,

    /// Also write the linked parameters as CSV. [default: none, JSON only]
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let method: Method = args.method.parse()?;
    let old = load(&args.old)?;
    let new = load(&args.new)?;
    let common = match &args.common_items {
        Some(path) => read_common(path, &old, &new)?,
        None => common_items(&old, &new),
    };
    let linking = link(&old, &new, &common, method).with_context(|| {
        format!(
            "cannot link {} onto {}",
            args.new.display(),
            args.old.display()
        )
    })?;
    let mut out = linking.apply(&new)?;
    let date = provenance_date()?;
    let old_record = Metadata::parent_record(&args.old, old.metadata())?;
    let new_record = Metadata::parent_record(&args.new, new.metadata())?;
    let meta = out.metadata_mut();
    if let Some(v) = &args.version {
        meta.version = Some(v.clone());
    }
    if meta.bank.is_none() {
        meta.bank = old.metadata().bank.clone();
    }
    let p = &mut meta.provenance;
    p.insert(
        "parents".into(),
        json!({"old": old_record, "new": new_record}),
    );
    p.insert("date".into(), json!(date));
    p.insert(
        "software".into(),
        json!(format!("fangsheng {}", env!("CARGO_PKG_VERSION"))),
    );
    out.save_json(&args.out)?;
    if let Some(csv) = &args.csv {
        out.save_csv(csv)?;
    }
    let t = linking.transform;
    let criterion = linking
        .criterion
        .map(|(f, it)| format!(", criterion {f:.3e} after {it} iterations"))
        .unwrap_or_default();
    eprintln!(
        "linked {} items of {} onto the scale of {} by {method} on {} common items: \
         theta_old = {:.4} theta_new {} {:.4}{criterion}",
        new.len(),
        args.new.display(),
        args.old.display(),
        common.len(),
        t.a,
        if t.b < 0.0 { '-' } else { '+' },
        t.b.abs(),
    );
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

fn load(path: &Path) -> anyhow::Result<ParamSet> {
    let loaded = ParamSet::load(path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded.params)
}

/// Reads common item ids, one per line; blank lines and `#` comments are
/// skipped, and so is a first line `id` (a one-column CSV header).
fn read_common(path: &Path, old: &ParamSet, new: &ParamSet) -> anyhow::Result<Vec<ItemId>> {
    let text = fangsheng::io::read_to_string(path)?;
    let mut ids: Vec<ItemId> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let id = line.trim();
        if id.is_empty() || id.starts_with('#') || (i == 0 && id.eq_ignore_ascii_case("id")) {
            continue;
        }
        for (set, name) in [(old, "OLD"), (new, "NEW")] {
            if set.get(id).is_none() {
                bail!(
                    "{}:{}: item '{id}' is not in the {name} parameter file",
                    path.display(),
                    i + 1
                );
            }
        }
        if ids.iter().any(|x| x.as_str() == id) {
            bail!("{}:{}: item '{id}' is listed twice", path.display(), i + 1);
        }
        ids.push(ItemId::from(id));
    }
    Ok(ids)
}
