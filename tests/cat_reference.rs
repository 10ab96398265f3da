//! Next-item choices on catR's TCALS bank against hand computations.
//!
//! Reference: `../shared/reference/README.md`, "catR 3.17 on the TCALS
//! bank": item information at theta = 0 for items 1-5 (D = 1).

mod common;

use std::sync::Arc;

use fangsheng::cat::{CatBank, Exposure, Plan, SelectRule, Session, Start};
use fangsheng::model::{Irf, Logistic, ResponseModel};

/// TCALS rows `(a, b, c, d)`: `P = c + (d - c) / (1 + exp(-a (theta - b)))`.
fn tcals_rows() -> Vec<[f64; 4]> {
    let path = common::data("classic/tcals_bank.csv");
    let mut reader = csv::Reader::from_path(&path).expect("open TCALS bank");
    let headers = reader.headers().expect("header").clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name} missing in {}", path.display()))
    };
    let cols = [col("a"), col("b"), col("c"), col("d")];
    reader
        .records()
        .map(|rec| {
            let rec = rec.expect("TCALS record");
            cols.map(|i| rec[i].parse::<f64>().expect("numeric parameter"))
        })
        .collect()
}

fn tcals_bank() -> Arc<CatBank> {
    let rows = tcals_rows();
    let irfs: Vec<Irf> = rows
        .iter()
        .map(|&[a, b, c, d]| Logistic::from_catr(a, b, c, d, 1.0).unwrap().into())
        .collect();
    let ids = (1..=rows.len()).map(|j| j.to_string().into()).collect();
    Arc::new(CatBank::from_parts(ids, irfs).unwrap())
}

/// The 4PL information written out by hand:
/// `I = a^2 (P - c)^2 (d - P)^2 / ((d - c)^2 P (1 - P))`.
fn hand_information([a, b, c, d]: [f64; 4], theta: f64) -> f64 {
    let p = c + (d - c) / (1.0 + (-a * (theta - b)).exp());
    a * a * (p - c).powi(2) * (d - p).powi(2) / ((d - c).powi(2) * p * (1.0 - p))
}

fn argmax_by_hand(rows: &[[f64; 4]], theta: f64, skip: &[usize]) -> usize {
    (0..rows.len())
        .filter(|j| !skip.contains(j))
        .max_by(|&x, &y| {
            hand_information(rows[x], theta).total_cmp(&hand_information(rows[y], theta))
        })
        .unwrap()
}

fn plan_at(theta: f64, select: SelectRule) -> Plan {
    Plan {
        select,
        start: Start {
            theta,
            random_items: 0,
        },
        ..Plan::default()
    }
}

#[test]
fn information_of_items_1_to_5_matches_catr_and_the_hand_formula() {
    // catR 3.17 Ii(0, it[1:5, ]), D = 1.
    let catr = [
        0.057072167,
        0.056417175,
        0.020856683,
        0.151074782,
        0.096404828,
    ];
    let rows = tcals_rows();
    let bank = tcals_bank();
    for (j, want) in catr.into_iter().enumerate() {
        let engine = bank.irfs()[j].information(0.0);
        let hand = hand_information(rows[j], 0.0);
        assert!(
            (engine - want).abs() < 1e-8,
            "item {}: {engine} vs catR {want}",
            j + 1
        );
        assert!(
            (hand - want).abs() < 1e-8,
            "item {}: hand {hand} vs catR {want}",
            j + 1
        );
    }
}

#[test]
fn first_max_info_choice_is_the_hand_argmax() {
    let rows = tcals_rows();
    for theta in [-2.0, -1.0, 0.0, 0.5, 1.5, 3.0] {
        let mut s = Session::new(tcals_bank(), plan_at(theta, SelectRule::MaxInfo), 1).unwrap();
        let got = s.next_index().unwrap();
        assert_eq!(got, argmax_by_hand(&rows, theta, &[]), "theta {theta}");
    }
}

#[test]
fn later_max_info_choices_are_the_hand_argmax_at_the_current_estimate() {
    let rows = tcals_rows();
    let mut s = Session::new(tcals_bank(), plan_at(0.0, SelectRule::MaxInfo), 1).unwrap();
    for step in 0..15 {
        let theta = if step == 0 { 0.0 } else { s.estimate().theta };
        let asked: Vec<usize> = s.responses().iter().map(|r| r.0).collect();
        let j = s.next_index().unwrap();
        assert_eq!(j, argmax_by_hand(&rows, theta, &asked), "step {step}");
        s.record_index(j, usize::from(step % 3 != 2)).unwrap();
    }
}

#[test]
fn randomesque_draws_only_from_the_hand_top_k() {
    let rows = tcals_rows();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&x, &y| {
        hand_information(rows[y], 0.0).total_cmp(&hand_information(rows[x], 0.0))
    });
    let top5 = &order[..5];
    let plan = Plan {
        exposure: Exposure::Randomesque { k: 5 },
        ..plan_at(0.0, SelectRule::MaxInfo)
    };
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..60 {
        let j = Session::new(tcals_bank(), plan.clone(), seed)
            .unwrap()
            .next_index()
            .unwrap();
        assert!(
            top5.contains(&j),
            "seed {seed}: item {} is not in the top 5",
            j + 1
        );
        seen.insert(j);
    }
    assert_eq!(seen.len(), 5, "60 draws reach all of the top 5");
}

#[test]
fn closest_difficulty_picks_the_b_nearest_theta() {
    let rows = tcals_rows();
    for theta in [-1.7, 0.0, 0.42, 2.2] {
        let mut s = Session::new(
            tcals_bank(),
            plan_at(theta, SelectRule::ClosestDifficulty),
            1,
        )
        .unwrap();
        let got = s.next_index().unwrap();
        let want = (0..rows.len())
            .min_by(|&x, &y| {
                (rows[x][1] - theta)
                    .abs()
                    .total_cmp(&(rows[y][1] - theta).abs())
            })
            .unwrap();
        assert_eq!(got, want, "theta {theta}");
    }
}
