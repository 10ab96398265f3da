//! Item fit after calibration: S-X2 (Orlando & Thissen 2000) under a
//! correctly specified model, on a planted misfitting item, on LSAT7 and
//! Science, on sparse data, and through the parameter file into the items
//! export.

mod common;

use fangsheng::bank::Metadata;
use fangsheng::calibrate::{
    Calibration, CalibrationConfig, ItemFlag, PriorConfig, QuadratureConfig, SumScoreFit,
    SumScoreSkip, calibrate,
};
use fangsheng::data::{Cell, ReadOptions, ResponseMatrix, read_responses, recode_from_min};
use fangsheng::export::{TableKind, export, read_source};
use fangsheng::model::{Irf, Logistic, ModelKind};
use fangsheng::simulate::{simulate_responses, standard_normals};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn run(m: &ResponseMatrix, config: &CalibrationConfig) -> Calibration {
    let c = calibrate(m, config, &mut |_| {}).unwrap();
    assert!(c.converged, "not converged in {} cycles", c.iterations);
    c
}

fn s_x2(c: &Calibration, j: usize) -> SumScoreFit {
    let fit = c.items[j].fit.expect("item fit");
    *fit.s_x2()
        .unwrap_or_else(|| panic!("item {}: no S-X2 ({:?})", c.items[j].id, fit.sum_score))
}

/// 2PL items with `a ~ U(0.7, 2)` and `b ~ U(-1.5, 1.5)`.
fn two_pl_bank(n: usize, rng: &mut ChaCha8Rng) -> Vec<Irf> {
    (0..n)
        .map(|_| {
            let a = rng.random_range(0.7..2.0);
            let b = rng.random_range(-1.5..1.5);
            Logistic::two_pl(a, b).unwrap().into()
        })
        .collect()
}

#[test]
fn correctly_specified_two_pl_rejects_at_about_the_nominal_rate() {
    // Five replications of 2,000 x 20 under the 2PL they are fitted with:
    // 100 p-values. Under the null S-X2 is close to chi-squared (Orlando &
    // Thissen 2000 report empirical type I error near 0.05 at N = 1,000),
    // so about 5 of 100 fall below 0.05; 15 would already be far in the
    // binomial tail (P(X >= 15) < 1e-3 for Binomial(100, 0.05)). With 20
    // replications (400 p-values) the rate here was 0.075 and the mean p
    // 0.51: slightly liberal, as S-X2 with estimated parameters tends to be.
    let mut ps = Vec::new();
    for seed in 0..5 {
        let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
        let irfs = two_pl_bank(20, &mut rng);
        let thetas = standard_normals(2_000, &mut rng);
        let m = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
        let c = run(&m, &CalibrationConfig::default());
        for j in 0..20 {
            let s = s_x2(&c, j);
            assert!(s.s_x2.is_finite() && s.s_x2 >= 0.0, "{s:?}");
            assert!(s.df >= 1 && s.df + 2 == s.n_groups, "{s:?}");
            assert!((0.0..=1.0).contains(&s.p), "{s:?}");
            assert_eq!(s.n_examinees, 2_000.0);
            ps.push(s.p);
        }
    }
    let rejected = ps.iter().filter(|&&p| p < 0.05).count() as f64 / ps.len() as f64;
    let mean = ps.iter().sum::<f64>() / ps.len() as f64;
    let below_half = ps.iter().filter(|&&p| p < 0.5).count();
    println!("rejection rate at 0.05: {rejected}, mean p {mean:.3}, {below_half} below 0.5");
    assert!(rejected <= 0.15, "rejection rate {rejected}");
    // Not degenerate: spread over (0, 1) like uniform draws (mean 0.5, SD of
    // the mean of 100 about 0.03), neither piled at 1 (an overestimated
    // df) nor at 0.
    assert!((0.35..=0.65).contains(&mean), "mean p {mean}");
    assert!(
        (25..=75).contains(&below_half),
        "{below_half} of 100 below 0.5"
    );
}

#[test]
fn a_planted_non_monotone_item_misfits() {
    // Item 0 peaks in the middle (P = 0.15 + 0.7 exp(-theta^2)): no 2PL
    // curve follows it. The other 19 are 2PL.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut irfs = two_pl_bank(20, &mut rng);
    irfs[0] = Logistic::two_pl(1.0, 0.0).unwrap().into(); // placeholder, overwritten below
    let thetas = standard_normals(2_000, &mut rng);
    let mut m = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
    let mut cells: Vec<Cell> = m.cells().collect();
    for cell in cells.iter_mut().filter(|c| c.item == 0) {
        let t = thetas[cell.examinee as usize];
        let p = 0.15 + 0.7 * (-t * t).exp();
        cell.score = u8::from(rng.random::<f64>() < p);
    }
    m = ResponseMatrix::new(m.examinees().to_vec(), m.items().to_vec(), cells, None).unwrap();
    let c = run(&m, &CalibrationConfig::default());
    let planted = s_x2(&c, 0);
    println!("planted item: {planted:?}");
    assert!(planted.p < 0.001, "{planted:?}");
    assert!(planted.misfit);
    assert!(c.items[0].flags.contains(&ItemFlag::Misfit));
    let others_flagged = (1..20).filter(|&j| s_x2(&c, j).misfit).count();
    assert!(
        others_flagged <= 2,
        "{others_flagged} fitting items flagged"
    );
}

#[test]
fn strong_guessing_fitted_as_two_pl_misfits() {
    // Item 0 is a 3PL with g = 0.35 and a steep slope: the 2PL cannot lift
    // its lower tail. 3,000 examinees to make the lack of fit unmistakable.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut irfs = two_pl_bank(20, &mut rng);
    irfs[0] = Logistic::new(2.5, 0.5, 0.35, 1.0).unwrap().into();
    let thetas = standard_normals(3_000, &mut rng);
    let m = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
    let c = run(&m, &CalibrationConfig::default());
    let planted = s_x2(&c, 0);
    println!("guessing item: {planted:?}");
    assert!(planted.p < 0.001, "{planted:?}");
    assert!(c.items[0].flags.contains(&ItemFlag::Misfit));
}

/// A classic wide response file (a frequency column is picked up by name),
/// read as `fangsheng calibrate` reads it; graded scores recoded from 0.
fn read(rel: &str) -> ResponseMatrix {
    let m = read_responses(&common::data(rel), &ReadOptions::default()).unwrap();
    recode_from_min(&m).0
}

fn mirt_config(model: ModelKind) -> CalibrationConfig {
    CalibrationConfig {
        model,
        quadrature: QuadratureConfig::new(61, 6.0).unwrap(),
        priors: PriorConfig::none(),
        ..CalibrationConfig::default()
    }
}

#[test]
fn lsat7_has_finite_s_x2_with_five_item_degrees_of_freedom() {
    // Five dichotomous items: summed scores 1..4 carry information, so at
    // most 4 groups and df = groups - 2 for the 2PL. The frequency table and
    // the expanded matrix are the same data: same statistics.
    let table = run(&read("classic/LSAT7.csv"), &mirt_config(ModelKind::TwoPl));
    let expanded = run(
        &read("classic/LSAT7_expanded.csv"),
        &mirt_config(ModelKind::TwoPl),
    );
    for j in 0..5 {
        let (t, e) = (s_x2(&table, j), s_x2(&expanded, j));
        println!("LSAT7 item {}: {t:?}", j + 1);
        assert!(t.s_x2.is_finite() && t.p > 0.0 && t.p <= 1.0);
        assert!(t.n_groups <= 4 && t.df == t.n_groups - 2, "{t:?}");
        assert_eq!(t.n_examinees, 1_000.0);
        assert_eq!((t.df, t.n_groups), (e.df, e.n_groups));
        assert!((t.s_x2 - e.s_x2).abs() < 1e-6, "{t:?} vs {e:?}");
    }
    // Rasch: one parameter per item, one more df per item.
    let rasch = run(&read("classic/LSAT7.csv"), &mirt_config(ModelKind::Rasch));
    for j in 0..5 {
        let s = s_x2(&rasch, j);
        assert!(s.s_x2.is_finite() && s.df == s.n_groups - 1, "{s:?}");
    }
}

#[test]
fn science_graded_items_get_the_generalised_s_x2() {
    // Four 4-category items: summed scores 0..12, groups 1..11. Rare
    // categories (few examinees chose "strongly disagree") collapse within
    // score groups, so each group has 1 to 3 df, less the item's 4
    // parameters (a and three thresholds).
    let c = run(
        &read("classic/Science.csv"),
        &mirt_config(ModelKind::Graded),
    );
    for j in 0..4 {
        let s = s_x2(&c, j);
        println!("Science {}: {s:?}", c.items[j].id);
        assert!(s.s_x2.is_finite() && s.s_x2 > 0.0, "{s:?}");
        assert!(s.n_groups <= 11, "{s:?}");
        assert!(s.df >= 1 && s.df + 4 <= 3 * s.n_groups, "{s:?}");
        assert!((0.0..=1.0).contains(&s.p), "{s:?}");
        assert_eq!(s.n_examinees, 392.0);
    }
}

#[test]
fn sparse_data_use_only_complete_examinees_or_say_why_not() {
    // 2,000 x 20, each cell observed with probability 0.2: nobody answered
    // all 20 items, so no S-X2, and every item says why.
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let irfs = two_pl_bank(20, &mut rng);
    let thetas = standard_normals(2_000, &mut rng);
    let sparse = simulate_responses(&irfs, &thetas, 0.2, None, &mut rng);
    let c = run(&sparse, &CalibrationConfig::default());
    for it in &c.items {
        let fit = it.fit.expect("mean squares");
        assert!(fit.infit.is_finite() && fit.outfit.is_finite());
        match fit.sum_score {
            Err(SumScoreSkip::TooFewComplete { complete, needed }) => {
                assert_eq!(complete, 0.0);
                assert_eq!(needed, 105.0); // max(100, 5 (20 + 1))
            }
            other => panic!("{}: {other:?}", it.id),
        }
        assert!(!it.flags.contains(&ItemFlag::Misfit));
    }
    let prov = c.item_fit_provenance().unwrap();
    assert!(
        prov["skipped"]
            .as_str()
            .unwrap()
            .contains("0 examinees answered every item")
    );
    assert!(prov.get("items").is_none());

    // Half complete, half missing one item: the 1,000 complete examinees
    // are used, and only they.
    let dense = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
    let cells: Vec<Cell> = dense
        .cells()
        .filter(|c| c.examinee % 2 == 0 || c.item as usize != (c.examinee as usize / 2) % 20)
        .collect();
    let half = ResponseMatrix::new(
        dense.examinees().to_vec(),
        dense.items().to_vec(),
        cells,
        None,
    )
    .unwrap();
    let c = run(&half, &CalibrationConfig::default());
    for j in 0..20 {
        assert_eq!(s_x2(&c, j).n_examinees, 1_000.0);
    }
}

#[test]
fn s_x2_goes_through_the_parameter_file_into_the_items_export() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let irfs = two_pl_bank(10, &mut rng);
    let thetas = standard_normals(1_000, &mut rng);
    let m = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
    let c = run(&m, &CalibrationConfig::default());
    let set = c.to_param_set(Metadata::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.json");
    set.save_json(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("NaN") && !text.contains("inf"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let recorded = &json["metadata"]["provenance"]["item_fit"];
    assert_eq!(recorded["statistic"], "S-X2");
    let table = export(TableKind::Items, &[read_source(&path).unwrap()], None).unwrap();
    TableKind::Items.check(&table).unwrap();
    for (row, it) in c.items.iter().enumerate() {
        let s = s_x2(&c, row);
        assert_eq!(table.get(row, "id").unwrap().as_str(), Some(it.id.as_str()));
        assert_eq!(table.get(row, "s_x2").unwrap().as_f64(), Some(s.s_x2));
        assert_eq!(
            table.get(row, "s_x2_df").unwrap().as_i64(),
            Some(s.df as i64)
        );
        assert_eq!(table.get(row, "s_x2_p").unwrap().as_f64(), Some(s.p));
        assert_eq!(recorded["items"][it.id.as_str()]["df"], s.df);
    }
    // Writing twice gives the same bytes.
    let again = c.to_param_set(Metadata::default()).unwrap();
    assert_eq!(again.to_json_string(), text);
}
