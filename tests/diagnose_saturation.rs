//! Saturation diagnostics on the real MMLU-Pro runs and on a simulated
//! saturated bank.

mod common;

use fangsheng::bank::{ItemParams, Metadata, ParamSet};
use fangsheng::calibrate::{CalibrationConfig, calibrate};
use fangsheng::data::{ReadOptions, read_responses};
use fangsheng::diagnose::{ModelAbility, SaturationConfig, saturation};
use fangsheng::model::{Irf, Logistic, ModelKind};
use fangsheng::simulate::{simulate_responses, standard_normals};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 22 models x 12,032 items: a 2PL calibration (no standard errors), then
/// the report from the calibration's abilities and the observed responses.
#[test]
fn mmlu_pro_frontier() {
    let path = common::mmlu_pro_runs();
    let m = read_responses(&path, &ReadOptions::default()).unwrap();
    assert_eq!(m.n_examinees(), 22);
    let config = CalibrationConfig {
        standard_errors: false,
        tolerance: 1e-3,
        ..CalibrationConfig::default()
    };
    let fit = calibrate(&m, &config, &mut |_| {}).unwrap();
    let params = fit.to_param_set(Metadata::default()).unwrap();
    let abilities: Vec<ModelAbility> = fit
        .abilities
        .iter()
        .map(|a| ModelAbility {
            model: a.id.to_string(),
            theta: a.theta,
        })
        .collect();
    let r = saturation(&params, &abilities, Some(&m), &SaturationConfig::default()).unwrap();
    println!("{r}");
    // The data README: gemini-1.5-flash-002 has the highest accuracy (0.64).
    assert_eq!(r.top_models[0].model, "gemini-1.5-flash-002");
    assert_eq!(r.n_items, 12_032);
    // Twelve thousand items measure any model finely; the question is the
    // adaptive exam, whose SE must be above the whole bank's.
    assert!(r.full_bank_se < 0.1, "{}", r.full_bank_se);
    assert!(r.adaptive_se > r.full_bank_se);
    // With an accuracy of 0.6 at the top, a clear minority of items is
    // saturated by the model, and the observed all-right share of the top 3
    // is above the model-based one (three models right by chance too).
    assert!(r.saturated_share < 0.5, "{}", r.saturated_share);
    let obs = r.observed_saturated.unwrap();
    assert!(
        obs.n_items > 12_000 && obs.share > 0.1 && obs.share < 0.7,
        "{obs:?}"
    );
    assert!(!r.recommendation.message.is_empty());
}

/// Items mostly easy (b in [-3, 1]), the strongest models at theta 3: the
/// frontier SE is above the 0.3 target and new items must be hard.
#[test]
fn saturated_bank_needs_hard_items() {
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let items: Vec<ItemParams> = (0..300)
        .map(|j| ItemParams {
            id: format!("e{j:03}").into(),
            kind: ModelKind::TwoPl,
            irf: Logistic::two_pl(rng.random_range(0.8..1.6), rng.random_range(-3.0..1.0))
                .unwrap()
                .into(),
            se: None,
        })
        .collect();
    let params = ParamSet::new(items, Metadata::default()).unwrap();
    let mut thetas = standard_normals(20, &mut rng);
    thetas.extend([3.0, 2.9, 3.1]);
    let irfs: Vec<Irf> = params.items().iter().map(|p| p.irf.clone()).collect();
    let ids = params.items().iter().map(|p| p.id.clone()).collect();
    let m = simulate_responses(&irfs, &thetas, 1.0, Some(ids), &mut rng);
    let abilities: Vec<ModelAbility> = m
        .examinees()
        .iter()
        .zip(&thetas)
        .map(|(id, &theta)| ModelAbility {
            model: id.to_string(),
            theta,
        })
        .collect();
    let r = saturation(&params, &abilities, Some(&m), &SaturationConfig::default()).unwrap();
    println!("{r}");
    assert!((r.frontier_theta - 3.0).abs() < 1e-9);
    assert!(
        r.adaptive_se > 0.3 && r.full_bank_se > 0.3,
        "{} {}",
        r.adaptive_se,
        r.full_bank_se
    );
    assert!(r.saturated_share > 0.6, "{}", r.saturated_share);
    assert!(r.observed_saturated.unwrap().share > 0.6);
    let rec = &r.recommendation;
    assert!(rec.b_range[0] >= 2.4, "{:?}", rec.b_range);
    assert!(rec.new_items_adaptive.is_some_and(|n| n > 0) || rec.exam_length_needed.is_some());
    let text = r.to_string();
    assert!(
        text.contains("above the target 0.3") && text.contains("Add"),
        "{text}"
    );
    // The whole-bank arithmetic: n = ceil((I* - I) / i_new).
    let n = ((rec.target_information - rec.full_bank_information) / rec.info_per_new_item).ceil();
    assert_eq!(rec.new_items_full_bank, n as usize);
}
