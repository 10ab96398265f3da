//! Session-level unit tests: the step-by-step API and its rules.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::ErrorKind;
use crate::estimate::Method;
use crate::ids::ItemId;
use crate::model::{Irf, Logistic};

/// `n` 2PL items `q0..`, `a` cycling over 0.8..2.0, `b` spread over [-2, 2],
/// categories `c0..c2` by `j % 3`.
fn bank(n: usize) -> CatBank {
    let irfs: Vec<Irf> = (0..n)
        .map(|j| {
            let a = 0.8 + 0.3 * (j % 5) as f64;
            let b = -2.0 + 4.0 * j as f64 / (n - 1) as f64;
            Logistic::two_pl(a, b).unwrap().into()
        })
        .collect();
    tagged(irfs, "q", 3)
}

/// A bank of `irfs` with ids `{prefix}0..` and categories `c0..` by
/// `j % groups`.
fn tagged(irfs: Vec<Irf>, prefix: &str, groups: usize) -> CatBank {
    let ids: Vec<ItemId> = (0..irfs.len())
        .map(|j| format!("{prefix}{j}").into())
        .collect();
    let tags: HashMap<ItemId, Tags> = ids
        .iter()
        .enumerate()
        .map(|(j, id)| (id.clone(), Tags::category(format!("c{}", j % groups))))
        .collect();
    CatBank::from_parts(ids, irfs)
        .unwrap()
        .with_tags(&tags)
        .unwrap()
}

fn session(n: usize, plan: Plan) -> Session {
    Session::new(Arc::new(bank(n)), plan, 7).unwrap()
}

#[test]
fn next_item_is_stable_until_an_answer_is_recorded() {
    let mut s = session(30, Plan::default());
    let first = s.next_item().unwrap();
    assert_eq!(s.next_item().unwrap(), first);
    s.record(first.as_str(), 1).unwrap();
    assert_ne!(s.next_item().unwrap(), first);
}

#[test]
fn first_max_info_item_is_the_most_informative_at_the_start_theta() {
    let plan = Plan {
        start: Start {
            theta: 1.0,
            random_items: 0,
        },
        ..Plan::default()
    };
    let mut s = session(30, plan);
    let j = s.next_index().unwrap();
    let b = s.bank();
    let best = (0..b.len())
        .max_by(|&x, &y| {
            index::information(&b.irfs()[x], 1.0).total_cmp(&index::information(&b.irfs()[y], 1.0))
        })
        .unwrap();
    assert_eq!(j, best);
}

#[test]
fn bad_answers_are_rejected_and_leave_the_session_unchanged() {
    let mut s = session(10, Plan::default());
    assert_eq!(s.record("nope", 1).unwrap_err().kind(), ErrorKind::Item);
    assert_eq!(s.record("q1", 2).unwrap_err().kind(), ErrorKind::Value);
    s.record("q1", 0).unwrap();
    let err = s.record("q1", 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Item);
    assert!(err.to_string().contains("already administered"), "{err}");
    let err = s.record_all(&[("q2", 1), ("q3", 7)]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Value);
    assert_eq!(s.n_administered(), 1);
    assert!(s.record_all(&[("q2", 1), ("q2", 0)]).is_err());
    s.record_all(&[("q2", 1), ("q3", 0)]).unwrap();
    assert_eq!(s.n_administered(), 3);
    assert_eq!(s.estimate().n_items, 3);
    assert!(s.record_index(99, 0).is_err());
}

#[test]
fn enemies_and_exclusions_are_never_administered() {
    let plan = Plan {
        max_items: 30,
        exclude: vec!["q5".into()],
        enemies: vec![vec!["q0".into(), "q1".into(), "q2".into()]],
        ..Plan::default()
    };
    let mut s = session(30, plan);
    s.record("q1", 1).unwrap();
    assert!(s.record("q5", 1).is_err());
    assert!(s.record("q2", 1).is_err());
    while let Some(j) = s.next_index() {
        s.record_index(j, j % 2).unwrap();
    }
    let asked: Vec<usize> = s.responses().iter().map(|r| r.0).collect();
    for banned in [0, 2, 5] {
        assert!(!asked.contains(&banned));
    }
    assert_eq!(asked.len(), 27);
    assert_eq!(s.stop_reason(), Some(StopReason::Exhausted));
    assert_eq!(s.next_index(), None);
}

#[test]
fn precision_classification_and_information_stops() {
    let run = |plan: Plan| {
        let mut s = session(200, plan);
        while let Some(j) = s.next_index() {
            s.record_index(j, usize::from(j % 4 != 0)).unwrap();
        }
        (s.n_administered(), s.stop_reason().unwrap(), s.estimate())
    };
    let (n, why, a) = run(Plan {
        max_items: 100,
        stop_se: Some(0.5),
        ..Plan::default()
    });
    assert_eq!(why, StopReason::Precision);
    assert!(a.se <= 0.5 && n < 100);
    let (n, why, _) = run(Plan {
        max_items: 100,
        min_items: 20,
        stop_se: Some(0.9),
        ..Plan::default()
    });
    assert_eq!((n, why), (20, StopReason::Precision));
    let (_, why, a) = run(Plan {
        max_items: 100,
        classify: Some(Classify {
            cut: Some(-1.5),
            cut_score: None,
            level: 0.9,
        }),
        ..Plan::default()
    });
    assert_eq!(why, StopReason::ClassifiedAbove);
    assert!(a.theta - 1.645 * a.se > -1.5);
    let (_, why, _) = run(Plan {
        max_items: 200,
        stop_information: Some(0.5),
        ..Plan::default()
    });
    assert_eq!(why, StopReason::MinInformation);
}

#[test]
fn every_rule_and_estimator_runs_a_full_exam() {
    for select in SelectRule::ALL {
        for estimator in Method::ALL {
            let plan = Plan {
                max_items: 12,
                select,
                estimator,
                ..Plan::default()
            };
            let mut s = session(60, plan);
            while let Some(j) = s.next_index() {
                s.record_index(j, usize::from(j > 20)).unwrap();
            }
            assert_eq!(s.n_administered(), 12, "{select} {estimator}");
            let a = s.estimate();
            assert!(
                a.theta.is_finite() && a.se.is_finite(),
                "{select} {estimator}: {a:?}"
            );
        }
    }
}

#[test]
fn posterior_rules_prefer_informative_items_near_the_estimate() {
    for select in [SelectRule::Kl, SelectRule::MinVariance] {
        let plan = Plan {
            select,
            ..Plan::default()
        };
        let mut s = session(41, plan);
        let j = s.next_index().unwrap();
        let Irf::Logistic(l) = &s.bank().irfs()[j] else {
            unreachable!()
        };
        // At the N(0, 1) prior the best items are discriminating and central.
        assert!(
            l.b().abs() < 0.6 && l.a() >= 1.7,
            "{select}: a {} b {}",
            l.a(),
            l.b()
        );
    }
}

#[test]
fn random_start_then_the_rule() {
    let plan = Plan {
        max_items: 6,
        start: Start {
            theta: 0.0,
            random_items: 3,
        },
        ..Plan::default()
    };
    let firsts: std::collections::HashSet<usize> = (0..20)
        .map(|seed| {
            let mut s = Session::new(Arc::new(bank(100)), plan.clone(), seed).unwrap();
            s.next_index().unwrap()
        })
        .collect();
    assert!(firsts.len() > 10, "random first items: {firsts:?}");
}

#[test]
fn a_stratified_exams_start_with_low_discrimination() {
    let plan = Plan {
        max_items: 20,
        select: SelectRule::ClosestDifficulty,
        exposure: Exposure::AStratified { strata: 4 },
        ..Plan::default()
    };
    let mut s = session(200, plan);
    let mut a_seq = Vec::new();
    while let Some(j) = s.next_index() {
        if let Irf::Logistic(l) = &s.bank().irfs()[j] {
            a_seq.push(l.a());
        }
        s.record_index(j, j % 2).unwrap();
    }
    assert!(a_seq[..5].iter().all(|&a| a < 1.2), "{a_seq:?}");
    assert!(a_seq[15..].iter().all(|&a| a > 1.6), "{a_seq:?}");
}

#[test]
fn predicted_scores_per_tag_match_the_direct_computation() {
    // The direct computation's prior, N(0, 1).
    let plan = Plan {
        prior: crate::cat::Prior {
            sd: 1.0,
            ..Default::default()
        },
        ..Plan::default()
    };
    let mut s = session(90, plan);
    s.record_all(&[("q10", 1), ("q50", 0), ("q70", 1)]).unwrap();
    let pattern: Vec<(&Irf, usize)> = [(10, 1), (50, 0), (70, 1)]
        .iter()
        .map(|&(j, k)| (&s.bank().irfs()[j], k))
        .collect();
    let exact = crate::estimate::Estimator::new(Method::Eap).posterior(&pattern);
    let direct =
        crate::estimate::predicted_score(&exact, &s.bank().irfs().iter().collect::<Vec<_>>(), 0.95);
    let p = s.prediction(0.95);
    // The session's 0.1-spaced grid against adaptive quadrature: the
    // interval ends differ by the grid quantile's error, about 1e-5.
    for (got, want) in [
        (p.bank.mean, direct.mean),
        (p.bank.lo, direct.lo),
        (p.bank.hi, direct.hi),
    ] {
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }
    assert_eq!(p.category.len(), 3);
    assert!(p.dimension.is_empty());
    let c1: Vec<&Irf> = (0..90)
        .filter(|j| j % 3 == 1)
        .map(|j| &s.bank().irfs()[j])
        .collect();
    let direct = crate::estimate::predicted_score(&exact, &c1, 0.95);
    assert_eq!(p.category[1].value, "c1");
    assert_eq!(p.category[1].n_items, 30);
    assert!((p.category[1].score.mean - direct.mean).abs() < 1e-5);
    assert_eq!(
        s.predicted_by("topic", 0.9).unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn designs_reject_plans_the_bank_cannot_serve() {
    let b = Arc::new(bank(12));
    let content = |tag: &str, targets: &[(&str, f64)]| {
        Some(Content {
            tag: tag.into(),
            targets: targets.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        })
    };
    let cases = [
        (
            Plan {
                content: content("topic", &[("a", 1.0)]),
                ..Plan::default()
            },
            "unknown tag 'topic'",
        ),
        (
            Plan {
                content: content("category", &[("c0", 0.5), ("zz", 0.5)]),
                ..Plan::default()
            },
            "'zz'",
        ),
        (
            Plan {
                exclude: vec!["q99".into()],
                ..Plan::default()
            },
            "q99",
        ),
        (
            Plan {
                enemies: vec![vec!["q1".into(), "q98".into()]],
                ..Plan::default()
            },
            "q98",
        ),
        (
            Plan {
                min_items: 13,
                max_items: 20,
                ..Plan::default()
            },
            "fewer than min_items",
        ),
        (
            Plan {
                exposure: Exposure::SympsonHetter { r_max: 0.3 },
                ..Plan::default()
            },
            "exposure parameters",
        ),
    ];
    for (plan, want) in cases {
        let err = Design::new(Arc::clone(&b), plan).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains(want), "{err} lacks {want}");
    }
}

#[test]
fn skipped_items_are_replaced_by_the_next_best() {
    let d = Arc::new(
        Design::new(
            Arc::new(bank(40)),
            Plan {
                max_items: 10,
                ..Plan::default()
            },
        )
        .unwrap(),
    );
    let out = run(&d, 3, |next| match next {
        NextItem::Operational(j) => (j % 3 != 0).then_some(1),
        NextItem::Pretest(_) => None,
    })
    .unwrap()
    .outcome(0.95, BankScore::Model);
    assert_eq!(out.steps.len(), 10);
    assert!(out.skipped > 0);
    assert!(out.steps.iter().all(|s| s.item % 3 != 0));
    assert_eq!(out.stop_reason, StopReason::MaxItems);
}

/// A respondent that records what the loop told it, and ends the exam
/// after `limit` answers.
struct Counting {
    limit: usize,
    seen: Vec<(usize, f64)>,
}

impl Respondent for Counting {
    type Error = crate::Error;

    fn answer(&mut self, _: &Session, next: NextItem) -> crate::Result<Option<Answer>> {
        if self.seen.len() >= self.limit {
            return Ok(None);
        }
        Ok(Some(match next {
            NextItem::Operational(j) => Answer::Score(j % 2),
            NextItem::Pretest(_) => Answer::Skip,
        }))
    }

    fn recorded(&mut self, session: &Session, next: NextItem, _: Answer) -> crate::Result<()> {
        if let NextItem::Operational(j) = next {
            self.seen.push((j, session.estimate().theta));
        }
        Ok(())
    }
}

#[test]
fn the_loop_reports_each_recorded_step_and_lets_the_source_end_the_exam() {
    let d = Arc::new(
        Design::new(
            Arc::new(bank(40)),
            Plan {
                max_items: 10,
                ..Plan::default()
            },
        )
        .unwrap(),
    );
    let mut source = Counting {
        limit: 4,
        seen: Vec::new(),
    };
    let exam = run_session(Session::start(Arc::clone(&d), 9), &mut source).unwrap();
    assert!(exam.ended);
    assert_eq!(exam.steps.len(), 4);
    // The callback saw each step after it was recorded: the same items and
    // the estimates the steps carry.
    let steps: Vec<(usize, f64)> = exam.steps.iter().map(|s| (s.item, s.theta)).collect();
    assert_eq!(source.seen, steps);
    assert_eq!(exam.session.n_administered(), 4);
    assert_eq!(exam.stop_reason(), StopReason::Exhausted);
    // The same answers through `run` go on to the plan's stop.
    let full = run(&d, 9, |next| match next {
        NextItem::Operational(j) => Some(j % 2),
        NextItem::Pretest(_) => None,
    })
    .unwrap();
    assert!(!full.ended);
    assert_eq!(full.steps.len(), 10);
    assert_eq!(full.steps[..4], exam.steps[..]);
    assert_eq!(full.stop_reason(), StopReason::MaxItems);
}

/// `patterns` distinct 2PL items, each repeated `copies` times (twins),
/// the copies of pattern `p` at `p, p + patterns, ...`; categories `c0..c1`
/// by `j % 2`.
fn twin_bank(patterns: usize, copies: usize) -> Arc<CatBank> {
    let n = patterns * copies;
    let irfs: Vec<Irf> = (0..n)
        .map(|j| {
            let p = j % patterns;
            let b = -2.0 + 4.0 * p as f64 / (patterns - 1) as f64;
            Logistic::two_pl(1.0 + 0.1 * (p % 4) as f64, b)
                .unwrap()
                .into()
        })
        .collect();
    Arc::new(tagged(irfs, "t", 2))
}

/// The item indices of an exam answered by a fixed rule (right when the
/// item's index is even), so every seed sees the same answers to the same
/// patterns.
fn twin_exam(bank: &Arc<CatBank>, plan: &Plan, seed: u64) -> Vec<usize> {
    let mut s = Session::new(bank.clone(), plan.clone(), seed).unwrap();
    let mut items = Vec::new();
    while let Some(j) = s.next_index() {
        s.record_index(j, usize::from(j % 2 == 0)).unwrap();
        items.push(j);
    }
    items
}

#[test]
fn ties_first_takes_the_first_twin_and_random_draws_one_from_the_seed() {
    let (patterns, copies) = (20, 6);
    let bank = twin_bank(patterns, copies);
    let plan = |ties| Plan {
        max_items: 12,
        ties,
        ..Plan::default()
    };
    // First: every item is the first twin of its class not yet asked,
    // whatever the seed.
    let first = twin_exam(&bank, &plan(Ties::First), 1);
    for (n, &j) in first.iter().enumerate() {
        let earlier_twins = (j % patterns..j).step_by(patterns);
        assert!(
            earlier_twins.clone().all(|t| first[..n].contains(&t)),
            "{first:?}"
        );
    }
    assert_eq!(twin_exam(&bank, &plan(Ties::First), 2), first);
    // Random: the same seed gives the same exam; across seeds the twins
    // taken vary, each pick is a twin of an item as informative as the best
    // available, and no item is asked twice.
    let random = plan(Ties::Random);
    assert_eq!(twin_exam(&bank, &random, 3), twin_exam(&bank, &random, 3));
    let mut later_copies = 0;
    for seed in 0..20 {
        let items = twin_exam(&bank, &random, seed);
        let mut seen = items.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), items.len(), "seed {seed}: {items:?}");
        later_copies += items.iter().filter(|&&j| j >= patterns).count();
    }
    // With 6 copies a random twin is a later copy 5 times in 6.
    assert!(later_copies > 20 * 12 / 2, "{later_copies}");
}

#[test]
fn random_ties_keep_each_pick_as_informative_as_the_rules_and_survive_a_restore() {
    let bank = twin_bank(15, 4);
    let plan = Plan {
        max_items: 10,
        content: Some(Content {
            tag: "category".into(),
            targets: [("c0".to_owned(), 0.5), ("c1".to_owned(), 0.5)].into(),
        }),
        ..Plan::default()
    };
    let mut s = Session::new(bank.clone(), plan.clone(), 11).unwrap();
    let mut t = Session::new(
        bank.clone(),
        Plan {
            ties: Ties::First,
            ..plan.clone()
        },
        11,
    )
    .unwrap();
    for step in 0..10 {
        let (a, b) = (s.next_index().unwrap(), t.next_index().unwrap());
        // Both sessions have the same answers so far, so the pick under
        // random ties is a twin of the rule's own, within the same category.
        assert_eq!(bank.twins().of(a), bank.twins().of(b), "step {step}");
        assert_eq!(a % 2, b % 2, "step {step}: content group kept");
        s.record_index(a, usize::from(step % 3 != 0)).unwrap();
        t.record_index(b, usize::from(step % 3 != 0)).unwrap();
    }
    // A session restored mid-exam draws the same twins as the original.
    let answer = |k: usize| usize::from(k % 3 != 0);
    let mut orig = Session::new(bank.clone(), plan, 5).unwrap();
    for k in 0..5 {
        let j = orig.next_index().unwrap();
        orig.record_index(j, answer(k)).unwrap();
    }
    let mut restored = Session::from_json(bank.clone(), &orig.to_json()).unwrap();
    for k in 5..10 {
        let (x, y) = (orig.next_index().unwrap(), restored.next_index().unwrap());
        assert_eq!(x, y, "step {k}");
        orig.record_index(x, answer(k)).unwrap();
        restored.record_index(y, answer(k)).unwrap();
    }
}

#[test]
fn a_session_saved_before_the_ties_setting_restores_with_first_twin_ties() {
    let bank = twin_bank(10, 3);
    let plan = Plan {
        max_items: 6,
        ties: Ties::First,
        ..Plan::default()
    };
    let mut s = Session::new(bank.clone(), plan.clone(), 2).unwrap();
    for k in 0..3 {
        let j = s.next_index().unwrap();
        s.record_index(j, k % 2).unwrap();
    }
    let mut saved: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(saved["plan"]["ties"], "first");
    saved["plan"].as_object_mut().unwrap().remove("ties");
    let mut restored = Session::from_json(bank, &saved.to_string()).unwrap();
    assert_eq!(restored.plan(), &plan);
    for k in 3..6 {
        let (x, y) = (s.next_index().unwrap(), restored.next_index().unwrap());
        assert_eq!(x, y, "step {k}");
        s.record_index(x, k % 2).unwrap();
        restored.record_index(y, k % 2).unwrap();
    }
}
