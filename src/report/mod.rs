//! A self-contained HTML report with inline SVG plots.
//!
//! [`Inputs`] gathers what the other commands wrote — exam results and
//! journals, `simulate` output and traces, abilities, a parameter file, and
//! any JSON summary (such as the saturation and contamination summaries of
//! [`crate::diagnose`]) — telling each file's kind from its content.
//! [`render`] turns them into one HTML page: no scripts, no external
//! links, its style sheet and plots inline, so it opens offline in any
//! browser and can be mailed as one file. The same inputs always give the
//! same bytes (no timestamps; everything is sorted deterministically).
//!
//! The page holds, where the inputs allow:
//! * first, each model's predicted score on the whole bank with its 95%
//!   interval, the observed score where the input has it (a replay) with a
//!   predicted-against-observed plot, and what the interval counts (an
//!   error model, or the exam's measurement error only) and whether the
//!   models were part of the calibration (an in-sample replay);
//! * an ability forest plot: each model's estimate with its 95% interval
//!   `theta +- 1.96 SE`, sorted, and the numbers in a table;
//! * the bank's test information curve `I(theta) = sum_j I_j(theta)` and
//!   its standard error `1 / sqrt(I)`, with the models' estimates marked;
//! * item characteristic curves of chosen items (default: five spanning
//!   the bank's difficulty);
//! * the item map (Wright map): item locations and model abilities on one
//!   theta axis;
//! * each exam's trajectory: `theta +- SE` after every step;
//! * key/value tables of the summaries given.
//!
//! Every name from the inputs is escaped ([`svg::escape`]).
//!
//! ```
//! use fangsheng::report::{Inputs, Options, render};
//! let html = render(&Inputs::new(), &Options::default()).unwrap();
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! ```

mod html;
pub mod inputs;
pub mod plots;
pub mod svg;

pub use inputs::{Ability, Inputs, KeyValues, Kind, PredictedBankScore, StepEstimate, Trajectory};

use crate::bank::{ItemBank, ItemParams};
use crate::error::{Error, ErrorKind, Result};
use plots::{MAX_FOREST_ROWS, MAX_TRAJECTORIES, Z95};

/// What to show besides the inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Page title (default: from the bank's name).
    pub title: Option<String>,
    /// Items for the characteristic curves (default: five spanning the
    /// bank's difficulty).
    pub items: Vec<String>,
    /// The item bank's content, for the items' categories and questions.
    pub bank: Option<ItemBank>,
}

/// The section ids, in page order.
pub const SECTIONS: [&str; 8] = [
    "predictions",
    "inputs",
    "abilities",
    "information",
    "curves",
    "item-map",
    "trajectories",
    "summaries",
];

/// Renders the report page.
///
/// # Errors
/// [`ErrorKind::Item`] when an item of [`Options::items`] is not in the
/// parameter set; [`ErrorKind::Config`] when items are chosen but no
/// parameters were given.
pub fn render(inputs: &Inputs, options: &Options) -> Result<String> {
    let params = inputs.params.as_ref();
    let abilities = inputs.plotted_abilities();
    let domain = plots::theta_domain(&abilities, params);
    let mut body = String::new();
    let mut nav: Vec<(&str, &str)> = Vec::new();
    let mut add = |id: &'static str, title: &'static str, lead: &str, content: String| {
        body.push_str(&html::section(id, title, lead, &content));
        nav.push((id, title));
    };

    add(
        "predictions",
        "Predicted scores",
        "Each model's predicted proportion correct on the whole bank with its 95% interval, and the observed score where the input records it.",
        predictions_section(&abilities),
    );

    add(
        "inputs",
        "Inputs",
        "The files this report was drawn from, each recognised by its content.",
        inputs_section(inputs),
    );

    let content = if abilities.is_empty() {
        html::note(
            "No abilities: give exam results, journals, simulate output or an abilities file with --from.",
        )
    } else {
        let mut c = String::new();
        if abilities.len() > MAX_FOREST_ROWS {
            c.push_str(&html::note(&format!(
                "{} estimates: the plot shows {MAX_FOREST_ROWS} of them, evenly spaced by rank; the table lists all.",
                abilities.len()
            )));
        }
        c.push_str(&figure(plots::forest(&abilities, domain)));
        c.push_str(&ability_table(&abilities));
        c
    };
    add(
        "abilities",
        "Abilities",
        "Each model's ability estimate (point) with its 95% interval θ ± 1.96 SE (bar), highest first. Colours tell the source files apart; hover a point for its numbers.",
        content,
    );

    let content = match params {
        Some(p) if !p.is_empty() => figure(plots::information(p, &abilities, domain)),
        _ => html::note(NO_PARAMS),
    };
    add(
        "information",
        "Test information",
        "How precisely the whole bank measures each ability: I(θ), the sum of the items' Fisher information (solid, left axis), and the standard error it allows, 1/√I(θ) (dashed, right axis). Dots mark the models' estimates.",
        content,
    );

    let content = match params {
        Some(p) if !p.is_empty() => curves_section(p, options)?,
        _ => {
            if !options.items.is_empty() {
                return Err(Error::config(
                    "--items needs item parameters (--params, or a parameter file in --from)",
                ));
            }
            html::note(NO_PARAMS)
        }
    };
    add(
        "curves",
        "Item characteristic curves",
        "The probability of a correct answer against ability for chosen items (graded items: expected score over its maximum). The dot marks each item's location b.",
        content,
    );

    let content = if params.is_none() && abilities.is_empty() {
        html::note("Needs item parameters or abilities.")
    } else {
        let mut c = figure(plots::item_map(params, &abilities, domain));
        if params.is_none() {
            c.push_str(&html::note(NO_PARAMS));
        }
        c
    };
    add(
        "item-map",
        "Item map",
        "Models and items on one ability scale (a Wright map): the models' estimates on the left, the number of items at each location on the right. An item is answered correctly with probability ½ (above its guessing floor) by a model at its location.",
        content,
    );

    add(
        "trajectories",
        "Exam trajectories",
        "The ability estimate after each step of each exam (line) with a band of ± 1 SE; all panels share their axes.",
        trajectories_section(inputs),
    );

    add(
        "summaries",
        "Summaries",
        "Summaries given as JSON (simulate summaries, saturation and contamination diagnostics, ...), as key/value tables.",
        summaries_section(inputs),
    );

    let title = options.title.clone().unwrap_or_else(|| {
        let bank = params
            .and_then(|p| p.metadata().bank.clone())
            .or_else(|| options.bank.as_ref().map(|b| b.name().to_owned()));
        match bank {
            Some(b) => format!("fangsheng report: {b}"),
            None => "fangsheng report".to_owned(),
        }
    });
    let subtitle = subtitle(inputs, &abilities);
    Ok(html::page(&title, &subtitle, &nav, &body))
}

const NO_PARAMS: &str = "No item parameters: give --params FILE (or a parameter file in --from).";

fn figure(svg: String) -> String {
    format!("<figure>\n{svg}</figure>\n")
}

fn subtitle(inputs: &Inputs, abilities: &[&Ability]) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &inputs.params {
        let version = p
            .metadata()
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        parts.push(format!(
            "calibration{version} ({} items, {})",
            p.len(),
            inputs.params_source.as_deref().unwrap_or("")
        ));
    }
    parts.push(format!(
        "{} ability estimate{}",
        abilities.len(),
        if abilities.len() == 1 { "" } else { "s" }
    ));
    parts.push(format!(
        "{} exam trajector{}",
        inputs.trajectories.len(),
        if inputs.trajectories.len() == 1 {
            "y"
        } else {
            "ies"
        }
    ));
    parts.join(" · ")
}

fn inputs_section(inputs: &Inputs) -> String {
    let mut rows: Vec<Vec<String>> = inputs
        .files
        .iter()
        .map(|(f, k)| vec![f.clone(), k.describe().to_owned()])
        .collect();
    if let Some(src) = &inputs.params_source {
        if !inputs
            .files
            .iter()
            .any(|(f, k)| f == src && *k == Kind::Params)
        {
            rows.push(vec![src.clone(), "item parameters (--params)".to_owned()]);
        }
    }
    let mut out = if rows.is_empty() {
        html::note("No input files.")
    } else {
        html::table(&["file", "read as"], &rows)
    };
    if !inputs.warnings.is_empty() {
        out.push_str("<ul class=\"warnings\">\n");
        for w in &inputs.warnings {
            out.push_str(&format!("<li>{}</li>\n", svg::escape(w)));
        }
        out.push_str("</ul>\n");
    }
    out
}

fn predictions_section(abilities: &[&Ability]) -> String {
    let with: Vec<&Ability> = abilities
        .iter()
        .copied()
        .filter(|a| a.predicted.is_some())
        .collect();
    if with.is_empty() {
        return html::note(
            "No predicted scores: give exam results or simulate output with --from.",
        );
    }
    let mut c = String::new();
    let in_sample = with.iter().filter(|a| a.in_sample).count();
    if in_sample > 0 {
        c.push_str(&html::note(&format!(
            "In-sample: {in_sample} of these {} models are ones the calibration was fitted on (a replay of its runs, or an exam of a model it names), so their errors are not a new model's (`fangsheng evaluate` measures those), and the error model, which describes new models, does not describe them.",
            with.len()
        )));
    }
    let unlinked = with
        .iter()
        .filter(|a| a.predicted.is_some_and(|p| !p.error_model))
        .count();
    if unlinked > 0 {
        c.push_str(&html::note(&format!(
            "{unlinked} of the intervals come from the exam's posterior alone, without an error model: they count the exam's measurement error, not the calibration's, and on models outside the calibration they are too narrow."
        )));
    }
    let observed: Vec<(f64, f64, f64, f64)> = with
        .iter()
        .filter_map(|a| {
            let p = a.predicted?;
            Some((p.score, p.lo, p.hi, p.observed?))
        })
        .collect();
    if !observed.is_empty() {
        let n = observed.len() as f64;
        let mae = observed
            .iter()
            .map(|(s, _, _, o)| (s - o).abs())
            .sum::<f64>()
            / n;
        let held = observed
            .iter()
            .filter(|(_, lo, hi, o)| lo <= o && o <= hi)
            .count();
        c.push_str(&html::note(&format!(
            "Against the observed scores: mean absolute error {:.2} points; the interval held the observed score for {held} of {} models.",
            100.0 * mae,
            observed.len()
        )));
        c.push_str(&figure(plots::predicted_vs_observed(&with)));
    }
    let mut rows: Vec<&Ability> = with.clone();
    rows.sort_by(|a, b| {
        let s = |x: &Ability| x.predicted.map_or(f64::NAN, |p| p.score);
        s(b).total_cmp(&s(a)).then_with(|| a.model.cmp(&b.model))
    });
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .filter_map(|a| {
            let p = a.predicted?;
            let num = |x: f64| format!("{x:.3}");
            let (observed, holds) = match p.observed {
                Some(o) => (
                    num(o),
                    if p.lo <= o && o <= p.hi { "yes" } else { "no" }.to_owned(),
                ),
                None => ("–".into(), "–".into()),
            };
            let basis = match (a.in_sample, p.error_model) {
                (true, _) => "in-sample",
                (false, true) => "error model",
                (false, false) => "exam posterior only",
            };
            Some(vec![
                a.model.clone(),
                num(p.score),
                num(p.lo),
                num(p.hi),
                observed,
                holds,
                basis.to_owned(),
                a.source.clone(),
            ])
        })
        .collect();
    c.push_str(&html::table(
        &[
            "model",
            "#predicted",
            "#95% low",
            "#95% high",
            "#observed",
            "interval holds",
            "interval from",
            "source",
        ],
        &table_rows,
    ));
    c
}

fn ability_table(abilities: &[&Ability]) -> String {
    let rows: Vec<Vec<String>> = plots::ranked(abilities, usize::MAX)
        .iter()
        .map(|a| {
            let (se, lo, hi) = match a.se {
                Some(se) => (
                    format!("{se:.3}"),
                    format!("{:.3}", a.theta - Z95 * se),
                    format!("{:.3}", a.theta + Z95 * se),
                ),
                None => ("–".into(), "–".into(), "–".into()),
            };
            vec![
                a.model.clone(),
                format!("{:.3}", a.theta),
                se,
                lo,
                hi,
                a.source.clone(),
            ]
        })
        .collect();
    html::table(
        &["model", "#θ", "#SE", "#95% low", "#95% high", "source"],
        &rows,
    )
}

fn curves_section(params: &crate::bank::ParamSet, options: &Options) -> Result<String> {
    let items: Vec<&ItemParams> = if options.items.is_empty() {
        plots::default_items(params)
    } else {
        options
            .items
            .iter()
            .map(|id| {
                params.get(id).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Item,
                        "--items names an item not in the parameter set",
                    )
                    .for_item(id.as_str())
                })
            })
            .collect::<Result<_>>()?
    };
    let mut out = figure(plots::characteristic_curves(&items, plots_domain(params)));
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let content = options.bank.as_ref().and_then(|b| b.get(i.id.as_str()));
            vec![
                i.id.to_string(),
                plots::param_text(i),
                content.and_then(|c| c.category.clone()).unwrap_or_default(),
                content
                    .map(|c| plots::shorten(c.question.trim(), 90))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&html::table(
        &["item", "parameters", "category", "question"],
        &rows,
    ));
    Ok(out)
}

/// The curves' theta range: the items' locations, within [-4, 4] at least.
fn plots_domain(params: &crate::bank::ParamSet) -> (f64, f64) {
    plots::theta_domain(&[], Some(params))
}

fn trajectories_section(inputs: &Inputs) -> String {
    let all: Vec<&Trajectory> = inputs
        .trajectories
        .iter()
        .filter(|t| !t.steps.is_empty())
        .collect();
    if all.is_empty() {
        return html::note(
            "No trajectories: give exam journals or a simulate --trace file with --from.",
        );
    }
    let shown: Vec<&Trajectory> = all.iter().take(MAX_TRAJECTORIES).copied().collect();
    let max_step = shown
        .iter()
        .flat_map(|t| t.steps.iter().map(|s| s.step))
        .max()
        .unwrap_or(1);
    let y_domain = plots::trajectory_domain(&shown);
    let mut out = String::new();
    if all.len() > shown.len() {
        out.push_str(&html::note(&format!(
            "{} exams: the first {MAX_TRAJECTORIES} are shown.",
            all.len()
        )));
    }
    out.push_str("<div class=\"panels\">\n");
    for t in &shown {
        out.push_str(&plots::trajectory(t, max_step, y_domain));
    }
    out.push_str("</div>\n");
    out
}

fn summaries_section(inputs: &Inputs) -> String {
    if inputs.summaries.is_empty() {
        return html::note(
            "No summaries: give JSON summaries (such as fangsheng diagnose output) with --from.",
        );
    }
    let mut out = String::new();
    for s in &inputs.summaries {
        out.push_str(&format!("<h3>{}</h3>\n", svg::escape(&s.title)));
        let rows: Vec<Vec<String>> = s
            .rows
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        out.push_str(&html::table(&["key", "value"], &rows));
    }
    out
}
