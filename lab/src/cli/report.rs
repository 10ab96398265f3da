//! What only the experiments write: the items of every exam, and how
//! often each inner validation picked each plan.

use std::collections::BTreeMap;
use std::io::Write;

use fangsheng::Result;
use fangsheng_lab::loo::{InnerChoice, LabReport};

use fangsheng::io::write_csv_rows;

/// Every item of every exam behind the rows, one CSV row per item asked.
pub(super) fn write_asked(w: &mut dyn Write, report: &LabReport) -> Result<()> {
    write_csv_rows(
        w,
        "<asked>",
        &[
            "calibration",
            "method",
            "items",
            "seed",
            "model",
            "position",
            "item",
            "score",
        ],
        report.asked.iter().flat_map(|a| {
            a.asked.iter().enumerate().map(move |(i, (item, score))| {
                vec![
                    a.calibration.clone(),
                    a.method.clone(),
                    a.items.to_string(),
                    a.seed.to_string(),
                    a.examinee.clone(),
                    (i + 1).to_string(),
                    item.to_string(),
                    score.map(|x| x.to_string()).unwrap_or_default(),
                ]
            })
        }),
    )
}

/// How often each inner validation mode picked each plan, and each plan's
/// inner MAE (accuracy points, mean over folds), by calibration and length.
pub(super) fn inner_summary(choices: &[InnerChoice]) -> String {
    // (mode, calibration, k) -> plan -> (folds picked, sum of inner MAEs, folds)
    type Tally = BTreeMap<(String, String, usize), Vec<(String, usize, f64, usize)>>;
    let mut tally: Tally = BTreeMap::new();
    for c in choices {
        let plans = tally
            .entry((c.mode.clone(), c.calibration.clone(), c.items))
            .or_insert_with(|| {
                c.inner_mae
                    .iter()
                    .map(|p| (p.0.clone(), 0, 0.0, 0))
                    .collect()
            });
        for (plan, (_, mae)) in plans.iter_mut().zip(&c.inner_mae) {
            plan.1 += usize::from(plan.0 == c.variant);
            plan.2 += mae;
            plan.3 += 1;
        }
    }
    let mut s = String::new();
    for ((mode, cal, k), plans) in tally {
        s.push_str(&format!(
            "inner choice {mode}, {cal}, {k} items (plan: folds picked, inner MAE mean over folds):\n"
        ));
        for (plan, picked, sum, n) in plans {
            s.push_str(&format!(
                "  {plan}: {picked}, {:.2}\n",
                100.0 * sum / n.max(1) as f64
            ));
        }
    }
    s
}
