//! Writes simulated 2PL responses as a long CSV (`model,item,score`) and the
//! true item parameters (`id,a,b`), for timing `fangsheng calibrate` against
//! other tools on the same files (see `benches/README.md`).
//!
//! ```text
//! cargo run --release --example sim_2pl -- N_EXAMINEES N_ITEMS SEED OBSERVED OUT.csv TRUTH.csv
//! cargo run --release --example sim_2pl -- 5000 200 42 1.0 /tmp/sim_5000x200.csv /tmp/truth_5000x200.csv
//! ```
//!
//! Truth: `a ~ U(0.5, 2.5)`, `b ~ N(0, 1)` clamped to `[-2.5, 2.5]`,
//! `theta ~ N(0, 1)`; each cell observed with probability `OBSERVED`.
//! Deterministic: the same arguments write the same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};

use fangsheng::model::{Irf, Logistic};
use fangsheng::simulate::{simulate_responses, standard_normals};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [n, k, seed, observed, out, truth] = args.as_slice() else {
        return Err("usage: sim_2pl N_EXAMINEES N_ITEMS SEED OBSERVED OUT.csv TRUTH.csv".into());
    };
    let (n, k, seed): (usize, usize, u64) = (n.parse()?, k.parse()?, seed.parse()?);
    let observed: f64 = observed.parse()?;
    if !(observed > 0.0 && observed <= 1.0) {
        return Err(format!("OBSERVED must be in (0, 1], got {observed}").into());
    }

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a: Vec<f64> = (0..k).map(|_| rng.random_range(0.5..2.5)).collect();
    let b: Vec<f64> = standard_normals(k, &mut rng)
        .into_iter()
        .map(|v| v.clamp(-2.5, 2.5))
        .collect();
    let irfs: Vec<Irf> = a
        .iter()
        .zip(&b)
        .map(|(&a, &b)| Logistic::two_pl(a, b).map(Irf::from))
        .collect::<Result<_, _>>()?;
    let thetas = standard_normals(n, &mut rng);
    let m = simulate_responses(&irfs, &thetas, observed, None, &mut rng);

    let mut w = BufWriter::new(File::create(out)?);
    writeln!(w, "model,item,score")?;
    for c in m.cells() {
        writeln!(
            w,
            "{},{},{}",
            m.examinees()[c.examinee as usize],
            m.items()[c.item as usize],
            c.score
        )?;
    }
    w.flush()?;

    let mut t = BufWriter::new(File::create(truth)?);
    writeln!(t, "id,a,b")?;
    for (j, id) in m.items().iter().enumerate() {
        writeln!(t, "{id},{},{}", a[j], b[j])?;
    }
    t.flush()?;
    eprintln!(
        "wrote {} responses ({} examinees x {} items, {:.0}% observed) to {out}, truth to {truth}",
        m.n_responses(),
        n,
        k,
        100.0 * observed
    );
    Ok(())
}
