//! EAP scoring throughput on a 1,000-item 2PL bank: complete response
//! patterns of simulated examinees, scored by `score_matrix` (the code path of
//! `fangsheng score`). Criterion reports examinee x item responses per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fangsheng::estimate::{Estimator, Method, Quadrature, score_matrix};
use fangsheng::model::{Irf, Logistic};
use fangsheng::simulate::{simulate_responses, standard_normals};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn bank(n: usize, rng: &mut ChaCha8Rng) -> Vec<Irf> {
    (0..n)
        .map(|_| {
            let a = (0.3 * standard_normals(1, rng)[0]).exp();
            let b = rng.random_range(-2.5..2.5);
            Logistic::two_pl(a, b).unwrap().into()
        })
        .collect()
}

fn eap_scoring(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let irfs = bank(1_000, &mut rng);
    let thetas = standard_normals(200, &mut rng);
    let responses = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
    let refs: Vec<&Irf> = irfs.iter().collect();

    let mut group = c.benchmark_group("eap_scoring_1000_items");
    group.sample_size(20);
    group.throughput(Throughput::Elements(responses.n_responses() as u64));
    let adaptive = Estimator::new(Method::Eap);
    group.bench_function("adaptive_quadrature_200_examinees", |b| {
        b.iter(|| score_matrix(&adaptive, &responses, &refs))
    });
    let fixed = Estimator::new(Method::Eap).quadrature(Quadrature::Fixed {
        points: 61,
        lo: -6.0,
        hi: 6.0,
    });
    group.bench_function("fixed_61_points_200_examinees", |b| {
        b.iter(|| score_matrix(&fixed, &responses, &refs))
    });
    group.finish();
}

criterion_group!(benches, eap_scoring);
criterion_main!(benches);
