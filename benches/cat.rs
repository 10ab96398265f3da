//! Adaptive-exam speed (`cargo bench --bench cat`).
//!
//! * `select_100k/<rule>`: one next-item selection on a simulated
//!   100,000-item 2PL bank, timed over the steps of 50-item exams (aim:
//!   <= 1 ms per step), for maximum information (alone and with
//!   randomesque-5 exposure control), KL, minimum expected posterior
//!   variance and closest difficulty.
//! * `exams_10k_mmlu_shape`: 10,000 simulated 50-item exams on a simulated
//!   12,032-item bank shaped like the MMLU-Pro 2PL calibration (slopes
//!   log-normal with median 1 and log-SD 0.6, difficulties N(0.8, 2.2^2)
//!   cut to +-8; fitted quantiles: a 0.48/0.98/2.35 and b -1.7/0.75/5.6 at
//!   10/50/90%), on 2 threads (aim: <= 10 s; catsim takes about 10 s for
//!   1,000 exams on a 500-item bank).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use fangsheng::cat::{
    BankScore, CatBank, Design, Exposure, Plan, SelectRule, Session, normal_thetas, simulate_all,
};
use fangsheng::model::{Irf, Logistic};
use fangsheng::simulate::standard_normals;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn bank(n: usize, seed: u64, mmlu_shape: bool) -> Arc<CatBank> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let z = standard_normals(2 * n, &mut rng);
    let irfs: Vec<Irf> = (0..n)
        .map(|j| {
            let (a, b) = if mmlu_shape {
                (
                    (0.6 * z[2 * j]).exp(),
                    (0.8 + 2.2 * z[2 * j + 1]).clamp(-8.0, 8.0),
                )
            } else {
                (rng.random_range(0.5..2.5), rng.random_range(-3.0..3.0))
            };
            Logistic::two_pl(a, b).unwrap().into()
        })
        .collect();
    let ids = (0..n).map(|j| format!("q{j}").into()).collect();
    Arc::new(CatBank::from_parts(ids, irfs).unwrap())
}

/// The plans timed by `select_100k/<rule>`: every selection rule, and
/// maximum information under randomesque exposure control.
fn selection_plans() -> Vec<(&'static str, Plan)> {
    let base = Plan {
        max_items: 50,
        ..Plan::default()
    };
    let with_rule = |select| Plan {
        select,
        ..base.clone()
    };
    vec![
        ("max-info", base.clone()),
        (
            "max-info+randomesque-5",
            Plan {
                exposure: Exposure::Randomesque { k: 5 },
                ..base.clone()
            },
        ),
        ("kl", with_rule(SelectRule::Kl)),
        ("min-variance", with_rule(SelectRule::MinVariance)),
        ("closest-b", with_rule(SelectRule::ClosestDifficulty)),
    ]
}

fn selection(c: &mut Criterion) {
    let bank = bank(100_000, 1, false);
    let thetas = normal_thetas(64, 2);
    let mut group = c.benchmark_group("select_100k");
    group.sample_size(20);
    for (name, plan) in selection_plans() {
        let design = Arc::new(Design::new(Arc::clone(&bank), plan).unwrap());
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                // Only the selection calls are timed; exams restart as needed.
                let mut spent = Duration::ZERO;
                let mut done = 0u64;
                let mut exam = 0usize;
                while done < iters {
                    let mut s = Session::start(Arc::clone(&design), exam as u64);
                    let mut answer = fangsheng::cat::simulated_examinee(
                        bank.irfs(),
                        thetas[exam % thetas.len()],
                        exam as u64,
                    );
                    exam += 1;
                    while done < iters {
                        let t = Instant::now();
                        let next = s.next_index();
                        spent += t.elapsed();
                        let Some(j) = next else { break };
                        done += 1;
                        s.record_index(j, answer(j).unwrap()).unwrap();
                    }
                }
                spent
            })
        });
    }
    group.finish();
}

fn exams(c: &mut Criterion) {
    let bank = bank(12_032, 3, true);
    let plan = Plan {
        max_items: 50,
        ..Plan::default()
    };
    let design = Arc::new(Design::new(bank, plan).unwrap());
    let thetas = normal_thetas(10_000, 4);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("cat");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("exams_10k_mmlu_shape", |b| {
        b.iter(|| {
            pool.install(|| {
                simulate_all(&design, &thetas, None, 5, 0.95, BankScore::Model, &|_| {}).unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, selection, exams);
criterion_main!(benches);
