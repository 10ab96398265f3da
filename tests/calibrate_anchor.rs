//! Recalibration on a stable scale, in simulation: anchored (fixed item
//! parameter) calibration and Stocking-Lord linking against known truth.
//!
//! The set-up: a 2PL bank of 200 items calibrated on 300
//! examinees as V1; then 30% new examinees (90) and 20% new items (40) are
//! added, the new examinees answering old and new items and the old
//! examinees' data kept, and the whole is recalibrated with V1 as anchor.

use fangsheng::bank::{ItemParams, Metadata, ParamSet};
use fangsheng::calibrate::{
    AnchoredCalibration, Calibration, CalibrationConfig, calibrate, calibrate_anchored,
};
use fangsheng::data::{Cell, ResponseMatrix};
use fangsheng::ids::ItemId;
use fangsheng::link::{Method, common_items, link};
use fangsheng::model::{Irf, Logistic};
use fangsheng::simulate::{draw_score, standard_normals};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const OLD_ITEMS: usize = 200;
const NEW_ITEMS: usize = 40;
const OLD_EXAMINEES: usize = 300;
const NEW_EXAMINEES: usize = 90;

/// `n` draws standardised to sample mean `mean` and SD `sd` exactly, so that
/// the population the scale is defined on is known without sampling error.
fn cohort(n: usize, mean: f64, sd: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let z = standard_normals(n, rng);
    let m = z.iter().sum::<f64>() / n as f64;
    let s = (z.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64).sqrt();
    z.iter().map(|v| mean + sd * (v - m) / s).collect()
}

fn bank(rng: &mut ChaCha8Rng) -> Vec<Irf> {
    (0..OLD_ITEMS + NEW_ITEMS)
        .map(|_| {
            let a = rng.random_range(0.7..2.0);
            let b = rng.random_range(-2.0..2.0);
            Logistic::two_pl(a, b).unwrap().into()
        })
        .collect()
}

fn item_ids() -> Vec<ItemId> {
    (0..OLD_ITEMS + NEW_ITEMS)
        .map(|j| ItemId::from(format!("q{j:03}")))
        .collect()
}

/// Examinee `i` (ability `thetas[i]`) answers every item in `items`.
fn responses(
    irfs: &[Irf],
    groups: &[(&[f64], std::ops::Range<usize>, &str)],
    rng: &mut ChaCha8Rng,
) -> ResponseMatrix {
    let mut examinees = Vec::new();
    let mut cells = Vec::new();
    for (thetas, items, prefix) in groups {
        for (i, &theta) in thetas.iter().enumerate() {
            let e = examinees.len() as u32;
            examinees.push(format!("{prefix}{i:03}").into());
            for j in items.clone() {
                cells.push(Cell {
                    examinee: e,
                    item: j as u32,
                    score: draw_score(&irfs[j], theta, rng),
                });
            }
        }
    }
    let n_items = groups.iter().map(|g| g.1.end).max().unwrap();
    ResponseMatrix::new(examinees, item_ids()[..n_items].to_vec(), cells, None).unwrap()
}

fn v1_params(fit: &Calibration) -> ParamSet {
    fit.to_param_set(Metadata {
        version: Some("v1".into()),
        ..Metadata::default()
    })
    .unwrap()
}

struct Study {
    truth: Vec<Irf>,
    v1_fit: Calibration,
    v2_data: ResponseMatrix,
    v2: AnchoredCalibration,
    new_thetas: Vec<f64>,
}

/// V1 on the old cohort; V2 anchored on V1 with a new cohort drawn from
/// `N(new_mean, new_sd^2)` answering old and new items.
fn study(seed: u64, new_mean: f64, new_sd: f64) -> Study {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let truth = bank(&mut rng);
    let old = cohort(OLD_EXAMINEES, 0.0, 1.0, &mut rng);
    let new_thetas = cohort(NEW_EXAMINEES, new_mean, new_sd, &mut rng);
    let v1_data = responses(&truth, &[(&old, 0..OLD_ITEMS, "old")], &mut rng);
    let config = CalibrationConfig::default();
    let v1_fit = calibrate(&v1_data, &config, &mut |_| {}).unwrap();
    // V2's data: the old cohort's responses unchanged, plus the new cohort.
    let mut rng2 = ChaCha8Rng::seed_from_u64(seed + 1000);
    let new_data = responses(
        &truth,
        &[(&new_thetas, 0..OLD_ITEMS + NEW_ITEMS, "new")],
        &mut rng2,
    );
    let cells: Vec<Cell> = v1_data
        .cells()
        .chain(new_data.cells().map(|c| Cell {
            examinee: c.examinee + OLD_EXAMINEES as u32,
            ..c
        }))
        .collect();
    let examinees = v1_data
        .examinees()
        .iter()
        .chain(new_data.examinees())
        .cloned()
        .collect();
    let v2_data = ResponseMatrix::new(examinees, item_ids(), cells, None).unwrap();
    let v2 = calibrate_anchored(&v2_data, &config, &v1_params(&v1_fit), &mut |_| {}).unwrap();
    Study {
        truth,
        v1_fit,
        v2_data,
        v2,
        new_thetas,
    }
}

fn mean_abs_shift(s: &Study) -> f64 {
    shift_against(s, &s.v2.calibration)
}

fn shift_against(s: &Study, v2: &Calibration) -> f64 {
    let v1 = &s.v1_fit.abilities;
    let v2 = &v2.abilities[..OLD_EXAMINEES];
    v1.iter()
        .zip(v2)
        .map(|(a, b)| {
            assert_eq!(a.id, b.id);
            (a.theta - b.theta).abs()
        })
        .sum::<f64>()
        / OLD_EXAMINEES as f64
}

fn ab(irf: &Irf) -> (f64, f64) {
    match irf {
        Irf::Logistic(l) => (l.a(), l.b()),
        Irf::Graded(_) => unreachable!("2PL bank"),
    }
}

fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let syy: f64 = y.iter().map(|b| (b - my) * (b - my)).sum();
    sxy / (sxx * syy).sqrt()
}

#[test]
fn old_abilities_stay_put_when_new_models_and_items_arrive() {
    // New cohort from the same population: the scale-stability figure.
    let s = study(11, 0.0, 1.0);
    let v2 = &s.v2;
    assert!(v2.calibration.converged);
    assert_eq!(v2.n_anchored(), OLD_ITEMS);
    assert!(v2.carried.is_empty());
    // Anchor items come back exactly as V1 wrote them.
    let v1 = v1_params(&s.v1_fit);
    for (j, item) in v2.calibration.items[..OLD_ITEMS].iter().enumerate() {
        assert_eq!(item.irf, v1.items()[j].irf, "{}", item.id);
    }
    let shift = mean_abs_shift(&s);
    println!(
        "same-population cohort: mean |EAP change| of the {OLD_EXAMINEES} old examinees = {shift:.4}; \
         latent N({:.3}, {:.3}^2)",
        v2.calibration.latent.mean, v2.calibration.latent.sd
    );
    assert!(shift < 0.05, "mean ability shift {shift}");
    // The 390-examinee population has sample mean 0 and SD 1 on the true
    // scale; V1's scale matches it up to V1's estimation error.
    assert!(v2.calibration.latent.mean.abs() < 0.1);
    assert!((v2.calibration.latent.sd - 1.0).abs() < 0.1);
}

#[test]
fn a_shifted_cohort_is_placed_on_the_anchor_scale_with_its_mean_and_sd() {
    let s = study(12, 0.8, 1.2);
    let v2 = &s.v2;
    assert!(v2.calibration.converged);
    // Population: 300 at N(0, 1) and 90 at N(0.8, 1.2^2) (exact sample
    // moments): mean 72/390, SD from the pooled second moment.
    let n = (OLD_EXAMINEES + NEW_EXAMINEES) as f64;
    let mean = NEW_EXAMINEES as f64 * 0.8 / n;
    let second = (OLD_EXAMINEES as f64 + NEW_EXAMINEES as f64 * (1.44 + 0.64)) / n;
    let sd = (second - mean * mean).sqrt();
    let latent = v2.calibration.latent;
    let shift = mean_abs_shift(&s);
    println!(
        "shifted cohort N(0.8, 1.2^2): latent N({:.3}, {:.3}^2) vs population N({mean:.3}, {sd:.3}^2); \
         mean |EAP change| of old examinees = {shift:.4}",
        latent.mean, latent.sd
    );
    assert!((latent.mean - mean).abs() < 0.1, "{latent:?}");
    assert!((latent.sd - sd).abs() < 0.1, "{latent:?}");
    assert!(shift < 0.05, "mean ability shift {shift}");
    // For contrast: recalibrating without anchors re-centres the scale on
    // the mixed population and moves the old examinees.
    let free = calibrate(&s.v2_data, &CalibrationConfig::default(), &mut |_| {}).unwrap();
    let free_shift = shift_against(&s, &free);
    println!("without anchors: mean |EAP change| of old examinees = {free_shift:.4}");
    assert!(free_shift > 2.0 * shift);
    // The new cohort's abilities are on the anchor scale: their mean is near
    // 0.8, not squeezed towards 0.
    let new_mean = v2.calibration.abilities[OLD_EXAMINEES..]
        .iter()
        .map(|a| a.theta)
        .sum::<f64>()
        / NEW_EXAMINEES as f64;
    let true_mean = s.new_thetas.iter().sum::<f64>() / NEW_EXAMINEES as f64;
    assert!(
        (new_mean - true_mean).abs() < 0.1,
        "{new_mean} vs {true_mean}"
    );
    // New items are on the true scale: difficulties correlate and agree on
    // average (no shift by the cohort's 0.8).
    let (est, tru): (Vec<f64>, Vec<f64>) = (OLD_ITEMS..OLD_ITEMS + NEW_ITEMS)
        .map(|j| (ab(&v2.calibration.items[j].irf).1, ab(&s.truth[j]).1))
        .unzip();
    let bias = est.iter().zip(&tru).map(|(e, t)| e - t).sum::<f64>() / NEW_ITEMS as f64;
    println!(
        "new items: r(b) = {:.3}, mean b error {bias:.3}",
        correlation(&est, &tru)
    );
    assert!(correlation(&est, &tru) > 0.95);
    assert!(bias.abs() < 0.1, "mean difficulty error {bias}");
}

#[test]
fn the_new_cohort_alone_recovers_its_latent_mean_and_sd() {
    // Only the new cohort in V2: the latent distribution is theirs.
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let truth = bank(&mut rng);
    let old = cohort(OLD_EXAMINEES, 0.0, 1.0, &mut rng);
    let new = cohort(200, 0.8, 1.2, &mut rng);
    let v1_data = responses(&truth, &[(&old, 0..OLD_ITEMS, "old")], &mut rng);
    let config = CalibrationConfig::default();
    let v1 = v1_params(&calibrate(&v1_data, &config, &mut |_| {}).unwrap());
    let v2_data = responses(&truth, &[(&new, 0..OLD_ITEMS + NEW_ITEMS, "new")], &mut rng);
    let v2 = calibrate_anchored(&v2_data, &config, &v1, &mut |_| {}).unwrap();
    let latent = v2.calibration.latent;
    println!(
        "new cohort alone, N(0.8, 1.2^2): latent N({:.3}, {:.3}^2)",
        latent.mean, latent.sd
    );
    assert!((latent.mean - 0.8).abs() < 0.1, "{latent:?}");
    assert!((latent.sd - 1.2).abs() < 0.1, "{latent:?}");
    // An unanchored calibration of the same data squeezes them to N(0, 1).
    let free = calibrate(&v2_data, &config, &mut |_| {}).unwrap();
    assert_eq!(free.latent.mean, 0.0);

    // Separate calibrations linked by Stocking-Lord find the same map:
    // theta_v1 = A theta_free + B with A ~ 1.2, B ~ 0.8.
    let free_set = free.to_param_set(Metadata::default()).unwrap();
    let common = common_items(&v1, &free_set);
    assert_eq!(common.len(), OLD_ITEMS);
    let sl = link(&v1, &free_set, &common, Method::StockingLord).unwrap();
    let ms = link(&v1, &free_set, &common, Method::MeanSigma).unwrap();
    println!(
        "separate calibrations: Stocking-Lord A = {:.4}, B = {:.4}; mean-sigma A = {:.4}, B = {:.4} (truth 1.2, 0.8)",
        sl.transform.a, sl.transform.b, ms.transform.a, ms.transform.b
    );
    assert!((sl.transform.a - 1.2).abs() < 0.1, "{:?}", sl.transform);
    assert!((sl.transform.b - 0.8).abs() < 0.1, "{:?}", sl.transform);
    // Linked new items agree with the anchored calibration's.
    let linked = sl.apply(&free_set).unwrap();
    let diff = (OLD_ITEMS..OLD_ITEMS + NEW_ITEMS)
        .map(|j| {
            let id = v2.calibration.items[j].id.as_str();
            (ab(&linked.get(id).unwrap().irf).1 - ab(&v2.calibration.items[j].irf).1).abs()
        })
        .sum::<f64>()
        / NEW_ITEMS as f64;
    println!("new items: mean |b(linked) - b(anchored)| = {diff:.4}");
    assert!(diff < 0.1, "{diff}");
}

#[test]
fn anchors_missing_from_the_responses_are_carried_over_and_bad_anchors_are_errors() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let truth = bank(&mut rng);
    let thetas = cohort(200, 0.0, 1.0, &mut rng);
    let data = responses(&truth, &[(&thetas, 0..30, "m")], &mut rng);
    let anchor_items = |range: std::ops::Range<usize>, kind| {
        ParamSet::new(
            range
                .map(|j| ItemParams {
                    id: item_ids()[j].clone(),
                    kind,
                    irf: truth[j].clone(),
                    se: None,
                })
                .collect(),
            Metadata::default(),
        )
        .unwrap()
    };
    use fangsheng::model::ModelKind;
    let config = CalibrationConfig::default();
    // Anchors 20..40: 10 in the responses, 10 carried over.
    let fit = calibrate_anchored(
        &data,
        &config,
        &anchor_items(20..40, ModelKind::TwoPl),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(fit.n_anchored(), 10);
    assert_eq!(fit.carried.len(), 10);
    let set = fit.to_param_set(Metadata::default()).unwrap();
    assert_eq!(set.len(), 40);
    assert_eq!(set.get("q035").unwrap().irf, truth[35]);
    assert_eq!(set.metadata().scale.mean, fit.calibration.latent.mean);
    assert_eq!(set.metadata().provenance["anchor"]["carried_over"], 10);

    // No anchor in the responses.
    let e = calibrate_anchored(
        &data,
        &config,
        &anchor_items(100..110, ModelKind::TwoPl),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("none of the 10 anchor items"), "{e}");
    // An anchor calibrated under another model: named.
    let three_pl: Vec<ItemParams> = (0..5)
        .map(|j| ItemParams {
            id: item_ids()[j].clone(),
            kind: ModelKind::ThreePl,
            irf: Logistic::new(1.0, 0.0, 0.2, 1.0).unwrap().into(),
            se: None,
        })
        .collect();
    let e = calibrate_anchored(
        &data,
        &config,
        &ParamSet::new(three_pl, Metadata::default()).unwrap(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("item 'q000'") && e.contains("3pl"), "{e}");
}

#[test]
fn rasch_items_keep_unit_slope_and_linking_fixes_a_at_one() {
    use fangsheng::model::ModelKind;
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let truth: Vec<Irf> = (0..40)
        .map(|j| Logistic::rasch(-1.5 + 0.075 * j as f64).unwrap().into())
        .collect();
    let thetas = cohort(600, 0.5, 1.0, &mut rng);
    let data = responses(&truth, &[(&thetas, 0..40, "m")], &mut rng);
    let anchors = ParamSet::new(
        (0..20)
            .map(|j| ItemParams {
                id: item_ids()[j].clone(),
                kind: ModelKind::Rasch,
                irf: truth[j].clone(),
                se: None,
            })
            .collect(),
        Metadata::default(),
    )
    .unwrap();
    let config = CalibrationConfig {
        model: ModelKind::Rasch,
        ..CalibrationConfig::default()
    };
    let fit = calibrate_anchored(&data, &config, &anchors, &mut |_| {}).unwrap();
    let latent = fit.calibration.latent;
    assert!((latent.mean - 0.5).abs() < 0.1, "{latent:?}");
    assert!((latent.sd - 1.0).abs() < 0.1, "{latent:?}");
    for (item, irf) in fit.calibration.items.iter().zip(&truth).skip(20) {
        let (a, b) = ab(&item.irf);
        assert_eq!(a, 1.0);
        assert!((b - ab(irf).1).abs() < 0.3, "{}: b {b}", item.id);
    }
    // Linking a free Rasch calibration (latent mean 0) onto the anchors:
    // only the shift is estimated.
    let free = calibrate(&data, &config, &mut |_| {})
        .unwrap()
        .to_param_set(Metadata::default())
        .unwrap();
    let l = link(
        &anchors,
        &free,
        &common_items(&anchors, &free),
        Method::StockingLord,
    )
    .unwrap();
    assert_eq!(l.transform.a, 1.0);
    assert!((l.transform.b - 0.5).abs() < 0.1, "{:?}", l.transform);
}
