//! Writes the embedded demo: `calibration/demo/v1.json` (simulated item
//! parameters) and `calibration/demo/runs.csv` (simulated past runs).
//!
//! Run from the repository root: `cargo run --example demo_data`.
//! Deterministic: the same seed rewrites the same bytes.

use std::fmt::Write as _;
use std::path::Path;

use fangsheng::bank::{ItemParams, Metadata, ParamSet};
use fangsheng::model::{Irf, Logistic, ModelKind};
use fangsheng::simulate::{simulate_responses, standard_normals};
use fangsheng::{ExamineeId, ItemId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 20261128;
const N_ITEMS: usize = 60;
const MODELS: [&str; 12] = [
    "demo-tiny-1b",
    "demo-small-3b",
    "demo-small-7b",
    "demo-mid-13b",
    "demo-mid-34b",
    "demo-large-70b",
    "demo-large-70b-chat",
    "demo-xl-180b",
    "demo-moe-8x7b",
    "demo-reasoner",
    "demo-frontier-a",
    "demo-frontier-b",
];
const THETAS: [f64; 12] = [
    -2.0, -1.3, -0.8, -0.3, 0.1, 0.5, 0.7, 1.1, 0.3, 1.6, 2.2, 2.6,
];

fn main() -> fangsheng::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut items = Vec::with_capacity(N_ITEMS);
    for j in 0..N_ITEMS {
        let a = (0.35 * standard_normals(1, &mut rng)[0]).exp() * 1.2;
        let b: f64 = rng.random_range(-2.5..2.8);
        let id = ItemId::from(format!("demo-{:03}", j + 1));
        // Every third item is multiple choice with guessing (3PL).
        let (kind, irf) = if j % 3 == 2 {
            let g = rng.random_range(0.1..0.25);
            (ModelKind::ThreePl, Logistic::new(a, b, g, 1.0)?)
        } else {
            (ModelKind::TwoPl, Logistic::two_pl(a, b)?)
        };
        items.push(ItemParams {
            id,
            kind,
            irf: Irf::from(irf),
            se: None,
        });
    }
    let irfs: Vec<Irf> = items.iter().map(|i| i.irf.clone()).collect();
    let ids: Vec<ItemId> = items.iter().map(|i| i.id.clone()).collect();
    // Models answered 85% of the items each, as recorded runs often miss some.
    let runs = simulate_responses(&irfs, &THETAS, 0.85, Some(ids), &mut rng);

    let mut metadata = Metadata {
        bank: Some("demo".into()),
        version: Some("v1".into()),
        ..Metadata::default()
    };
    let prov = &mut metadata.provenance;
    prov.insert("simulated".into(), true.into());
    prov.insert(
        "note".into(),
        "Demonstration parameters drawn at random (log-normal a, uniform b, 3PL g on every third \
         item); not fitted to any real model."
            .into(),
    );
    prov.insert("generator".into(), "cargo run --example demo_data".into());
    prov.insert("seed".into(), SEED.into());
    let params = ParamSet::new(items, metadata)?;
    params.save_json(Path::new("calibration/demo/v1.json"))?;

    let names: Vec<ExamineeId> = MODELS.iter().map(|&m| ExamineeId::from(m)).collect();
    let mut csv = String::from("model,item,correct\n");
    for cell in runs.cells() {
        let _ = writeln!(
            csv,
            "{},{},{}",
            names[cell.examinee as usize],
            runs.items()[cell.item as usize],
            cell.score
        );
    }
    fangsheng::io::write_atomic(Path::new("calibration/demo/runs.csv"), |w| {
        w.write_all(csv.as_bytes())
            .map_err(|e| fangsheng::Error::io("calibration/demo/runs.csv", e))
    })?;
    eprintln!(
        "wrote calibration/demo/v1.json ({N_ITEMS} items) and runs.csv ({} responses)",
        runs.n_responses()
    );
    Ok(())
}
