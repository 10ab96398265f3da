//! Contamination and drift diagnostics validated in simulation with planted
//! leaks, cheating models and shifted items.

use fangsheng::bank::{Metadata, ParamSet};
use fangsheng::calibrate::{CalibrationConfig, calibrate};
use fangsheng::data::{Cell, ResponseMatrix};
use fangsheng::diagnose::{ContaminationConfig, DifMethod, compare, contamination};
use fangsheng::ids::{ExamineeId, ItemId};
use fangsheng::model::{Irf, Logistic, ResponseModel};
use fangsheng::simulate::{draw_score, simulate_responses, standard_normals};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N_ITEMS: usize = 300;
const N_MODELS: usize = 60;
const COHORT: usize = 20;
const CHEATERS: usize = 5;
const N_LEAKED: usize = 30;

/// The planted truth of one simulated bank.
struct Planted {
    responses: ResponseMatrix,
    focal: Vec<bool>,
    leaked: Vec<bool>,
    cheater: Vec<bool>,
}

/// 300 2PL items (a in [0.8, 2], b in [-1.5, 1.5]), 60 models with theta
/// ~ N(0, 1). Models 0..20 are the cohort: 10% of the items (30, at random)
/// leaked to them, answered right with probability 0.95 whatever their
/// ability. Models 20..25 cheat: weak (theta ~ N(-1, 0.5^2)) but right with
/// probability 0.95 on a random third of the items they memorised.
fn plant(seed: u64) -> Planted {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let irfs: Vec<Irf> = (0..N_ITEMS)
        .map(|_| {
            Logistic::two_pl(rng.random_range(0.8..2.0), rng.random_range(-1.5..1.5))
                .unwrap()
                .into()
        })
        .collect();
    let mut thetas = standard_normals(N_MODELS, &mut rng);
    for t in &mut thetas[COHORT..COHORT + CHEATERS] {
        *t = -1.0 + 0.5 * *t;
    }
    let mut order: Vec<usize> = (0..N_ITEMS).collect();
    order.shuffle(&mut rng);
    let mut leaked = vec![false; N_ITEMS];
    for &j in &order[..N_LEAKED] {
        leaked[j] = true;
    }
    let mut cells = Vec::new();
    for (i, &theta) in thetas.iter().enumerate() {
        let cheat = (COHORT..COHORT + CHEATERS).contains(&i);
        for (j, irf) in irfs.iter().enumerate() {
            let forced = (i < COHORT && leaked[j]) || (cheat && rng.random::<f64>() < 1.0 / 3.0);
            let score = if forced {
                u8::from(rng.random::<f64>() < 0.95)
            } else {
                draw_score(irf, theta, &mut rng)
            };
            cells.push(Cell {
                examinee: i as u32,
                item: j as u32,
                score,
            });
        }
    }
    let responses = ResponseMatrix::new(
        (0..N_MODELS)
            .map(|i| ExamineeId::from(format!("m{i:02}")))
            .collect(),
        (0..N_ITEMS)
            .map(|j| ItemId::from(format!("q{j:03}")))
            .collect(),
        cells,
        None,
    )
    .unwrap();
    Planted {
        responses,
        focal: (0..N_MODELS).map(|i| i < COHORT).collect(),
        leaked,
        cheater: (0..N_MODELS)
            .map(|i| (COHORT..COHORT + CHEATERS).contains(&i))
            .collect(),
    }
}

fn precision_recall(flags: &[bool], truth: &[bool]) -> (f64, f64) {
    let tp = flags.iter().zip(truth).filter(|(f, t)| **f && **t).count() as f64;
    let n_flag = flags.iter().filter(|f| **f).count() as f64;
    let n_true = truth.iter().filter(|t| **t).count() as f64;
    (if n_flag > 0.0 { tp / n_flag } else { 1.0 }, tp / n_true)
}

/// Item and person precision/recall averaged over seeds, with the bank
/// calibrated (2PL) from the contaminated responses themselves, as a user
/// would.
fn validate(method: DifMethod, seeds: &[u64]) -> [f64; 4] {
    let mut sums = [0.0; 4];
    for &seed in seeds {
        let p = plant(seed);
        let config = CalibrationConfig {
            standard_errors: false,
            ..CalibrationConfig::default()
        };
        let fit = calibrate(&p.responses, &config, &mut |_| {}).unwrap();
        let params = fit.to_param_set(Metadata::default()).unwrap();
        let cfg = ContaminationConfig {
            method,
            ..ContaminationConfig::default()
        };
        let r = contamination(&params, &p.responses, &p.focal, &cfg).unwrap();
        let item_flags: Vec<bool> = r.items.iter().map(|i| i.flagged).collect();
        let person_flags: Vec<bool> = r.persons.iter().map(|x| x.flagged).collect();
        let (ip, ir) = precision_recall(&item_flags, &p.leaked);
        let (pp, pr) = precision_recall(&person_flags, &p.cheater);
        println!(
            "{method:?} seed {seed}: items precision {ip:.3} recall {ir:.3}; persons precision {pp:.3} recall {pr:.3}"
        );
        for (s, v) in sums.iter_mut().zip([ip, ir, pp, pr]) {
            *s += v / seeds.len() as f64;
        }
    }
    println!(
        "{method:?} mean over {} seeds: items precision {:.3} recall {:.3}; persons precision {:.3} recall {:.3}",
        seeds.len(),
        sums[0],
        sums[1],
        sums[2],
        sums[3]
    );
    sums
}

const SEEDS: [u64; 3] = [1, 2, 3];

#[test]
fn likelihood_ratio_finds_planted_leaks_and_cheaters() {
    let [ip, ir, pp, pr] = validate(DifMethod::LikelihoodRatio, &SEEDS);
    assert!(ip >= 0.8 && ir >= 0.8, "items: precision {ip}, recall {ir}");
    assert!(
        pp >= 0.8 && pr >= 0.8,
        "persons: precision {pp}, recall {pr}"
    );
}

#[test]
fn mantel_haenszel_finds_planted_leaks() {
    let [ip, ir, _, _] = validate(DifMethod::MantelHaenszel, &SEEDS);
    assert!(ip >= 0.8 && ir >= 0.6, "items: precision {ip}, recall {ir}");
}

/// Two independent calibrations of 30 items on 1,500 examinees each; in the
/// second, five items are 0.6 harder. At k = 3 the five are flagged and
/// almost nothing else.
#[test]
fn drift_flags_the_shifted_items() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let base: Vec<(f64, f64)> = (0..30)
        .map(|_| (rng.random_range(0.8..2.0), rng.random_range(-1.5..1.5)))
        .collect();
    let ids: Vec<ItemId> = (0..30).map(|j| ItemId::from(format!("q{j:02}"))).collect();
    let fit = |shift: f64, rng: &mut ChaCha8Rng| -> ParamSet {
        let irfs: Vec<Irf> = base
            .iter()
            .enumerate()
            .map(|(j, &(a, b))| {
                let b = if j < 5 { b + shift } else { b };
                Logistic::two_pl(a, b).unwrap().into()
            })
            .collect();
        let thetas = standard_normals(1500, rng);
        let m = simulate_responses(&irfs, &thetas, 1.0, Some(ids.clone()), rng);
        calibrate(&m, &CalibrationConfig::default(), &mut |_| {})
            .unwrap()
            .to_param_set(Metadata::default())
            .unwrap()
    };
    let v1 = fit(0.0, &mut rng);
    let v2 = fit(0.6, &mut rng);
    let r = compare(&v1, &v2, 3.0).unwrap();
    println!("{r}");
    let flagged: Vec<usize> = r
        .drifted()
        .iter()
        .map(|d| d.id[1..].parse().unwrap())
        .collect();
    assert!((0..5).all(|j| flagged.contains(&j)), "{flagged:?}");
    assert!(
        flagged.iter().filter(|&&j| j >= 5).count() <= 1,
        "{flagged:?}"
    );
    assert!(r.added.is_empty() && r.removed.is_empty() && r.n_untested() == 0);
    // Sanity of the planted shift's size against the model's scale.
    assert!(v2.items()[0].irf.expected_score(0.0) < v1.items()[0].irf.expected_score(0.0));
}
