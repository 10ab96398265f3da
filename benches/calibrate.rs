//! Calibration speed on simulated 2PL data (`cargo bench --bench calibrate`).
//! Reference: girth 0.8.0 `twopl_mml` takes 20-30 s on 5,000 x 200 and does
//! not finish on 200 x 5,000 on 2-core machines.

use criterion::{Criterion, criterion_group, criterion_main};
use fangsheng::calibrate::{CalibrationConfig, calibrate};
use fangsheng::data::ResponseMatrix;
use fangsheng::model::{Irf, Logistic};
use fangsheng::simulate::{simulate_responses, standard_normals};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn data(n_examinees: usize, n_items: usize, observed: f64) -> ResponseMatrix {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let irfs: Vec<Irf> = (0..n_items)
        .map(|_| {
            let a = rng.random_range(0.5..2.5);
            let b = rng.random_range(-2.0..2.0);
            Logistic::two_pl(a, b).unwrap().into()
        })
        .collect();
    let thetas = standard_normals(n_examinees, &mut rng);
    simulate_responses(&irfs, &thetas, observed, None, &mut rng)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("calibrate_2pl");
    group.sample_size(10);
    for (name, n, k) in [("5000x200", 5_000, 200), ("200x5000", 200, 5_000)] {
        let m = data(n, k, 1.0);
        for se in [true, false] {
            let config = CalibrationConfig {
                standard_errors: se,
                ..CalibrationConfig::default()
            };
            let id = format!("{name}{}", if se { "" } else { "_no_se" });
            group.bench_function(id, |b| {
                b.iter(|| calibrate(&m, &config, &mut |_| {}).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
