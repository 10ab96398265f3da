//! A Student-t ability prior on a simulated bank: an examinee far above the
//! calibration population is pulled in less than under the normal prior.

use std::sync::Arc;

use fangsheng::cat::{
    BankScore, CatBank, Design, NextItem, Outcome, Plan, Prior, run, simulated_examinee,
};
use fangsheng::model::{Irf, Logistic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One exam of `design` with its operational items answered by `answer`
/// (pretest items skipped) and the bank score predicted from the posterior.
fn simulate(
    design: &Arc<Design>,
    seed: u64,
    level: f64,
    mut answer: impl FnMut(usize) -> Option<usize>,
) -> fangsheng::Result<Outcome> {
    let exam = run(design, seed, |next| match next {
        NextItem::Operational(j) => answer(j),
        NextItem::Pretest(_) => None,
    })?;
    Ok(exam.outcome(level, BankScore::Model))
}

/// 400 2PL items, `a ~ U(0.8, 2)`, `b ~ U(-2.5, 2.5)`: a bank calibrated on
/// a population near `N(0, 1)`, so `theta = 3.5` is beyond its hardest items.
fn bank() -> Arc<CatBank> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let irfs: Vec<Irf> = (0..400)
        .map(|_| {
            let a = rng.random_range(0.8..2.0);
            let b = rng.random_range(-2.5..2.5);
            Logistic::two_pl(a, b).unwrap().into()
        })
        .collect();
    let ids = (0..400).map(|j| format!("q{j}").into()).collect();
    Arc::new(CatBank::from_parts(ids, irfs).unwrap())
}

/// Mean of (final EAP - true theta) over `seeds` 50-item exams.
fn mean_bias(bank: &Arc<CatBank>, prior: Prior, theta: f64, seeds: u64) -> f64 {
    let plan = Plan {
        max_items: 50,
        prior,
        ..Plan::default()
    };
    let design = Arc::new(Design::new(Arc::clone(bank), plan).unwrap());
    let total: f64 = (0..seeds)
        .map(|s| {
            let answers = simulated_examinee(bank.irfs(), theta, 1000 + s);
            let o = simulate(&design, s, 0.95, answers).unwrap();
            assert!(o.ability.theta.is_finite() && o.ability.se.is_finite());
            o.ability.theta - theta
        })
        .sum();
    total / seeds as f64
}

#[test]
fn an_extreme_examinee_is_pulled_in_less_by_a_t_prior() {
    let bank = bank();
    // The population's own scale, where a normal prior's shrinkage of an
    // examinee far outside it shows most.
    let normal = Prior {
        sd: 1.0,
        ..Prior::default()
    };
    let t4 = Prior {
        df: Some(4.0),
        ..normal
    };
    let (bn, bt) = (
        mean_bias(&bank, normal, 3.5, 40),
        mean_bias(&bank, t4, 3.5, 40),
    );
    eprintln!("theta 3.5, 40 exams of 50 items: mean bias N(0, 1) {bn:.3}, t(4) {bt:.3}");
    // The normal prior shrinks toward 0 (negative bias); t(4) less so.
    assert!(bn < 0.0, "normal bias {bn}");
    assert!(bt.abs() < bn.abs(), "t(4) bias {bt} vs normal {bn}");
    // Near the population centre the two priors agree closely.
    let (cn, ct) = (
        mean_bias(&bank, normal, 0.3, 20),
        mean_bias(&bank, t4, 0.3, 20),
    );
    eprintln!("theta 0.3: mean bias N(0, 1) {cn:.3}, t(4) {ct:.3}");
    assert!((cn - ct).abs() < 0.05, "normal {cn} vs t(4) {ct}");
}
