//! Parameter recovery on simulated data with known truth, degenerate data,
//! and determinism.

use fangsheng::calibrate::{Calibration, CalibrationConfig, ItemFlag, calibrate};
use fangsheng::data::{Cell, ResponseMatrix};
use fangsheng::model::{Irf, Logistic, ModelKind};
use fangsheng::simulate::{simulate_responses, standard_normals};
mod common;

use common::pearson;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// True 2PL items: a ~ U(0.5, 2.5), b ~ N(0, 1) clamped to [-2.5, 2.5].
fn two_pl_bank(n: usize, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>, Vec<Irf>) {
    let a: Vec<f64> = (0..n).map(|_| rng.random_range(0.5..2.5)).collect();
    bank_with_slopes(a, rng)
}

/// 2PL items with the given slopes and `b ~ N(0, 1)` clamped to [-2.5, 2.5].
fn bank_with_slopes(a: Vec<f64>, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>, Vec<Irf>) {
    let b: Vec<f64> = standard_normals(a.len(), rng)
        .into_iter()
        .map(|v| v.clamp(-2.5, 2.5))
        .collect();
    let irfs = a
        .iter()
        .zip(&b)
        .map(|(&a, &b)| Logistic::two_pl(a, b).unwrap().into())
        .collect();
    (a, b, irfs)
}

fn estimated_ab(c: &Calibration) -> (Vec<f64>, Vec<f64>) {
    c.items
        .iter()
        .map(|it| match &it.irf {
            Irf::Logistic(l) => (l.a(), l.b()),
            Irf::Graded(_) => panic!("expected 2PL"),
        })
        .unzip()
}

fn run(m: &ResponseMatrix) -> Calibration {
    calibrate(m, &CalibrationConfig::default(), &mut |_| {}).unwrap()
}

#[test]
fn dense_5000_by_200_two_pl_recovers() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (a, b, irfs) = two_pl_bank(200, &mut rng);
    let thetas = standard_normals(5_000, &mut rng);
    let m = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
    let c = run(&m);
    assert!(c.converged);
    let (ea, eb) = estimated_ab(&c);
    let (ra, rb) = (pearson(&a, &ea), pearson(&b, &eb));
    println!(
        "5000 x 200: r(a) = {ra:.4}, r(b) = {rb:.4}, {} cycles",
        c.iterations
    );
    assert!(ra >= 0.99, "r(a) = {ra}");
    assert!(rb >= 0.995, "r(b) = {rb}");
    let rt = pearson(
        &thetas,
        &c.abilities.iter().map(|x| x.theta).collect::<Vec<_>>(),
    );
    assert!(rt > 0.95, "r(theta) = {rt}");
}

/// LLM-shaped 2PL items: `ln a ~ N(0, 0.5)` (the log-normal slope
/// distribution of BILOG-MG's slope prior and of most IRT simulation
/// studies), `b ~ N(0, 1)` clamped to [-2.5, 2.5].
fn log_normal_two_pl_bank(n: usize, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>, Vec<Irf>) {
    let a: Vec<f64> = standard_normals(n, rng)
        .into_iter()
        .map(|v| (0.5 * v).exp())
        .collect();
    bank_with_slopes(a, rng)
}

/// The oracle: each item's slope and difficulty fitted with the examinees' true abilities
/// known (logistic regression of the item's responses on theta, by Newton,
/// with the engine's default 2PL priors `ln a ~ N(0, 1)`, `d ~ N(0, 5)`).
/// No calibration can recover slopes better than this on average: it is the
/// ceiling that the sampling error of 200 responses per item sets.
fn oracle_items(m: &ResponseMatrix, thetas: &[f64]) -> (Vec<f64>, Vec<f64>) {
    (0..m.n_items())
        .map(|j| {
            let (examinees, scores) = m.item_responses(j);
            let (mut a, mut d) = (1.0f64, 0.0f64);
            for _ in 0..100 {
                let la = a.ln();
                // Log prior: -(ln a)^2 / 2 - d^2 / 50.
                let (mut ga, mut gd) = (-la / a, -d / 25.0);
                let (mut haa, mut had, mut hdd) = ((la - 1.0) / (a * a), 0.0, -1.0 / 25.0);
                for (&i, &x) in examinees.iter().zip(scores) {
                    let t = thetas[i as usize];
                    let s = 1.0 / (1.0 + (-(a * t + d)).exp());
                    let (r, w) = (x as f64 - s, s * (1.0 - s));
                    ga += r * t;
                    gd += r;
                    haa -= w * t * t;
                    had -= w * t;
                    hdd -= w;
                }
                let det = haa * hdd - had * had;
                let mut da = -(hdd * ga - had * gd) / det;
                let mut dd = -(haa * gd - had * ga) / det;
                let big = da.abs().max(dd.abs());
                if big > 0.5 {
                    da *= 0.5 / big;
                    dd *= 0.5 / big;
                }
                a = (a + da).max(0.01);
                d += dd;
                if big < 1e-10 {
                    break;
                }
            }
            (a, -d / a)
        })
        .unzip()
}

#[test]
fn llm_shaped_200_by_5000_two_pl_is_finite_and_recovers_slopes() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let (a, b, irfs) = log_normal_two_pl_bank(5_000, &mut rng);
    let thetas = standard_normals(200, &mut rng);
    let m = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
    let c = run(&m);
    let (ea, eb) = estimated_ab(&c);
    assert!(ea.iter().chain(&eb).all(|v| v.is_finite()));
    assert!(c.log_likelihood.is_finite());
    let (ra, rb) = (pearson(&a, &ea), pearson(&b, &eb));
    let (oa, ob) = oracle_items(&m, &thetas);
    let (oracle, oracle_b) = (pearson(&a, &oa), pearson(&b, &ob));
    println!(
        "200 x 5000: r(a) = {ra:.4} (oracle with true thetas {oracle:.4}), \
         r(b) = {rb:.4} (oracle {oracle_b:.4}), {} cycles, converged {}",
        c.iterations, c.converged
    );
    assert!(c.converged);
    // The target is r(a) >= 0.9. With 200 examinees per item the slopes'
    // sampling error caps r(a) whatever the estimator, so the design
    // matters: with a ~ U(0.5, 2.5) and b ~ N(0, 1) clamped to [-2.5, 2.5]
    // even the oracle above reaches only 0.88-0.90 across seeds (the steep
    // items with |b| near 2.5 are answered correctly, or wrongly, by a
    // handful of the 200). With the log-normal slopes used here the oracle
    // is 0.92-0.93, and the engine must reach 0.9 and stay within 0.02 of
    // the oracle.
    assert!(ra >= 0.9, "r(a) = {ra}");
    assert!(ra >= oracle - 0.02, "r(a) = {ra}, oracle {oracle}");
    // Difficulty: items with small slopes have poorly determined b = -d / a,
    // so r(b) is lower than under uniform slopes (0.96 here, as the oracle).
    assert!(rb >= 0.95, "r(b) = {rb}");
    assert!(rb >= oracle_b - 0.02, "r(b) = {rb}, oracle {oracle_b}");
    let mean_a = ea.iter().sum::<f64>() / ea.len() as f64;
    let true_mean = a.iter().sum::<f64>() / a.len() as f64;
    assert!(
        (mean_a / true_mean - 1.0).abs() < 0.05,
        "{mean_a} vs {true_mean}"
    );
    // Abilities from 5,000 items are nearly exact.
    let rt = pearson(
        &thetas,
        &c.abilities.iter().map(|x| x.theta).collect::<Vec<_>>(),
    );
    assert!(rt > 0.99, "r(theta) = {rt}");
    // Their SEs must describe that precision rather than the quadrature grid:
    // posteriors here (SD about 0.03) are far narrower than the 0.1 node
    // spacing, and grid moments would report SEs near zero. After a linear
    // fit of truth on estimate (the scale is only identified up to one),
    // the residual SD should match the mean SE within a factor of 1.5.
    let est: Vec<f64> = c.abilities.iter().map(|x| x.theta).collect();
    let residual_sd = residual_sd(&thetas, &est);
    let mean_se = c.abilities.iter().map(|x| x.se).sum::<f64>() / est.len() as f64;
    println!("abilities: residual SD {residual_sd:.4}, mean SE {mean_se:.4}");
    assert!(
        mean_se > residual_sd / 1.5 && mean_se < residual_sd * 1.5,
        "mean SE {mean_se} vs residual SD {residual_sd}"
    );
    let on_nodes = est
        .iter()
        .filter(|t| ((*t * 10.0) - (*t * 10.0).round()).abs() < 1e-6)
        .count();
    assert!(on_nodes < 5, "{on_nodes} abilities sit on quadrature nodes");
}

/// SD of the residuals of the least-squares line of `y` on `x`.
fn residual_sd(y: &[f64], x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = sxy / sxx;
    let ss: f64 = x
        .iter()
        .zip(y)
        .map(|(a, b)| (b - my - slope * (a - mx)).powi(2))
        .sum();
    (ss / (n - 2.0)).sqrt()
}

#[test]
fn sparse_design_recovers_as_expected() {
    // 5,000 examinees x 200 items, each cell observed with probability 0.2:
    // about 1,000 responses per item, a fifth of the dense design. Slope
    // error variance scales with 1/n, so r(a) drops from about 0.99 (dense)
    // to about 0.95-0.97; we assert 0.93 for a and 0.98 for b (difficulty is
    // far better determined than slope).
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (a, b, irfs) = two_pl_bank(200, &mut rng);
    let thetas = standard_normals(5_000, &mut rng);
    let m = simulate_responses(&irfs, &thetas, 0.2, None, &mut rng);
    let c = run(&m);
    assert!(c.converged);
    let (ea, eb) = estimated_ab(&c);
    let (ra, rb) = (pearson(&a, &ea), pearson(&b, &eb));
    println!(
        "sparse 20%: r(a) = {ra:.4}, r(b) = {rb:.4}, {} cycles",
        c.iterations
    );
    assert!(ra >= 0.93, "r(a) = {ra}");
    assert!(rb >= 0.98, "r(b) = {rb}");
}

fn small_matrix(rows: &[&[Option<u8>]]) -> ResponseMatrix {
    let n_items = rows[0].len();
    let mut cells = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            if let Some(s) = v {
                cells.push(Cell {
                    examinee: i as u32,
                    item: j as u32,
                    score: *s,
                });
            }
        }
    }
    ResponseMatrix::new(
        (0..rows.len()).map(|i| format!("m{i}").into()).collect(),
        (0..n_items).map(|j| format!("q{j}").into()).collect(),
        cells,
        None,
    )
    .unwrap()
}

#[test]
fn degenerate_items_and_examinees_are_flagged_not_fatal() {
    // Simulated data plus: an all-correct item, an all-wrong item, an
    // examinee with every answer correct, and one with a single response.
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let (_, _, irfs) = two_pl_bank(30, &mut rng);
    let thetas = standard_normals(300, &mut rng);
    let sim = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
    let mut cells: Vec<Cell> = sim.cells().collect();
    let n = sim.n_examinees() as u32;
    for i in 0..n + 2 {
        cells.push(Cell {
            examinee: i,
            item: 30,
            score: 1,
        });
        cells.push(Cell {
            examinee: i,
            item: 31,
            score: 0,
        });
    }
    for j in 0..30 {
        cells.push(Cell {
            examinee: n,
            item: j,
            score: 1,
        });
    }
    let items = (0..32).map(|j| format!("q{j}").into()).collect();
    let examinees = (0..n + 2).map(|i| format!("m{i}").into()).collect();
    // Examinee n + 1 answers only the all-correct and all-wrong items; make
    // one more with exactly one response by dropping its item 31 cell.
    cells.retain(|c| !(c.examinee == n + 1 && c.item == 31));
    let m = ResponseMatrix::new(examinees, items, cells, None).unwrap();
    let c = run(&m);
    let all_correct = &c.items[30];
    let all_wrong = &c.items[31];
    assert!(all_correct.flags.contains(&ItemFlag::AllCorrect));
    assert!(all_correct.flags.contains(&ItemFlag::NoVariance));
    assert!(all_wrong.flags.contains(&ItemFlag::AllIncorrect));
    for it in [all_correct, all_wrong] {
        match &it.irf {
            Irf::Logistic(l) => assert!(l.a().is_finite() && l.b().is_finite()),
            Irf::Graded(_) => unreachable!(),
        }
    }
    let Irf::Logistic(l) = &all_correct.irf else {
        panic!()
    };
    assert!(
        l.b() < -2.0,
        "all-correct item should be very easy: b = {}",
        l.b()
    );
    let perfect = &c.abilities[n as usize];
    let single = &c.abilities[n as usize + 1];
    assert!(perfect.theta.is_finite() && perfect.theta > 1.0);
    assert!(single.theta.is_finite() && single.se > 0.8, "{single:?}");
    assert!(
        c.items[..30]
            .iter()
            .all(|it| !it.flags.contains(&ItemFlag::NoVariance))
    );
}

#[test]
fn bad_input_gives_clear_errors() {
    let empty = ResponseMatrix::new(vec![], vec![], vec![], None).unwrap();
    assert!(
        calibrate(&empty, &CalibrationConfig::default(), &mut |_| {})
            .unwrap_err()
            .to_string()
            .contains("nothing to calibrate")
    );
    let flat = small_matrix(&[&[Some(1), Some(0)], &[Some(1), Some(0)]]);
    let e = calibrate(&flat, &CalibrationConfig::default(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("no item has variance"), "{e}");
    let unanswered = small_matrix(&[&[Some(1), None], &[Some(0), None]]);
    let e = calibrate(&unanswered, &CalibrationConfig::default(), &mut |_| {}).unwrap_err();
    assert_eq!(e.item(), Some("q1"));
    let polytomous = small_matrix(&[&[Some(2), Some(0)], &[Some(0), Some(1)]]);
    let e = calibrate(&polytomous, &CalibrationConfig::default(), &mut |_| {}).unwrap_err();
    assert_eq!(e.item(), Some("q0"));
    let config = CalibrationConfig {
        item_models: Some(vec![ModelKind::TwoPl]),
        ..CalibrationConfig::default()
    };
    assert!(calibrate(&polytomous, &config, &mut |_| {}).is_err());
}

#[test]
fn same_input_gives_bit_identical_output() {
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let (_, _, irfs) = two_pl_bank(100, &mut rng);
    let thetas = standard_normals(1_000, &mut rng);
    let m = simulate_responses(&irfs, &thetas, 0.5, None, &mut rng);
    let mut progress = Vec::new();
    let c1 = calibrate(&m, &CalibrationConfig::default(), &mut |p| {
        progress.push(*p)
    })
    .unwrap();
    let c2 = run(&m);
    // Debug prints every float in shortest round-trip form, so equal text
    // means bit-identical values (and treats NaN standard errors of fixed
    // parameters as equal, which `==` would not).
    assert_eq!(format!("{c1:?}"), format!("{c2:?}"));
    assert_eq!(progress.len(), c1.iterations);
    // Progress: iterations counted from 1, log-likelihood never decreasing
    // by more than rounding after the first few cycles.
    assert_eq!(progress[0].iteration, 1);
    for w in progress.windows(2).skip(2) {
        assert!(w[1].log_likelihood >= w[0].log_likelihood - 1e-6, "{w:?}");
    }
}

#[test]
fn mixed_bank_of_graded_and_two_pl_items() {
    use fangsheng::model::Graded;
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let mut irfs: Vec<Irf> = (0..10)
        .map(|j| {
            Logistic::two_pl(1.0 + 0.1 * j as f64, -1.0 + 0.2 * j as f64)
                .unwrap()
                .into()
        })
        .collect();
    irfs.extend(
        (0..5).map(|j| Irf::from(Graded::new(1.5, vec![-1.0, 0.0 + 0.1 * j as f64, 1.2]).unwrap())),
    );
    let thetas = standard_normals(2_000, &mut rng);
    let m = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
    let mut kinds = vec![ModelKind::TwoPl; 10];
    kinds.extend([ModelKind::Graded; 5]);
    let config = CalibrationConfig {
        item_models: Some(kinds),
        ..CalibrationConfig::default()
    };
    let c = calibrate(&m, &config, &mut |_| {}).unwrap();
    assert!(c.converged);
    for it in &c.items[10..] {
        let Irf::Graded(g) = &it.irf else {
            panic!("expected graded")
        };
        assert!((g.a() - 1.5).abs() < 0.25, "{}", g.a());
        assert!(
            (g.thresholds()[0] + 1.0).abs() < 0.2,
            "{:?}",
            g.thresholds()
        );
        assert!(
            it.se
                .as_ref()
                .unwrap()
                .iter()
                .all(|s| s.is_finite() && *s > 0.0)
        );
    }
    let ps = c.to_param_set(Default::default()).unwrap();
    assert_eq!(ps.len(), 15);
}
