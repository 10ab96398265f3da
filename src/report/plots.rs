//! The report's plots, each an SVG document drawn with [`super::svg`]:
//! predicted against observed scores, the ability forest plot, the test information curve, item characteristic
//! curves, exam trajectories and the item map (Wright map).

use super::inputs::{Ability, PredictedBankScore, Trajectory};
use super::svg::{
    Anchor, Frame, Linear, Svg, bin_counts, nice_domain, nice_step, nice_ticks, series_color,
    spread_labels,
};
use crate::bank::{ItemParams, ParamSet};
use crate::model::{Irf, ResponseModel};

/// The normal quantile of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Width of the wide plots, pixels.
const WIDTH: f64 = 960.0;

/// Forest plots show at most this many rows (evenly spaced by rank beyond).
pub const MAX_FOREST_ROWS: usize = 150;

/// At most this many trajectory panels.
pub const MAX_TRAJECTORIES: usize = 24;

/// At most this many abilities are named on the information curve and the
/// item map; beyond, they are drawn unnamed (map: as a histogram).
const MAX_NAMED: usize = 40;

/// `s` cut to `n` characters, with an ellipsis when cut.
pub fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// An item's location on the ability scale: `b` for logistic items, the
/// mean threshold for graded ones.
pub fn location(item: &ItemParams) -> f64 {
    match &item.irf {
        Irf::Logistic(m) => m.b(),
        Irf::Graded(m) => {
            let t = m.thresholds();
            t.iter().sum::<f64>() / t.len().max(1) as f64
        }
    }
}

/// The ability interval every theta axis of a report shares: `[-3, 3]`
/// widened to hold the 95% intervals and the item locations, within
/// `[-8, 8]`, rounded out to ticks.
pub fn theta_domain(abilities: &[&Ability], params: Option<&ParamSet>) -> (f64, f64) {
    let (mut lo, mut hi) = (-3.0f64, 3.0f64);
    for a in abilities {
        let half = a.se.map_or(0.0, |s| Z95 * s);
        lo = lo.min(a.theta - half);
        hi = hi.max(a.theta + half);
    }
    if let Some(p) = params {
        for item in p.items() {
            let b = location(item);
            if b.is_finite() {
                lo = lo.min(b);
                hi = hi.max(b);
            }
        }
    }
    nice_domain(lo.max(-8.0), hi.min(8.0), 8)
}

fn fmt2(x: f64) -> String {
    let s = format!("{x:.2}");
    if s == "-0.00" { "0.00".to_owned() } else { s }
}

/// The 95% interval text of an ability, `theta [lo, hi]`.
pub fn interval_text(a: &Ability) -> String {
    match a.se {
        Some(se) => format!(
            "{} [{}, {}]",
            fmt2(a.theta),
            fmt2(a.theta - Z95 * se),
            fmt2(a.theta + Z95 * se)
        ),
        None => format!("{} [SE unknown]", fmt2(a.theta)),
    }
}

/// Abilities sorted from highest to lowest (ties by name, then source),
/// thinned to `max` evenly spaced ranks.
pub fn ranked<'a>(abilities: &[&'a Ability], max: usize) -> Vec<&'a Ability> {
    let mut sorted: Vec<&Ability> = abilities.to_vec();
    sorted.sort_by(|a, b| {
        b.theta
            .total_cmp(&a.theta)
            .then_with(|| a.model.cmp(&b.model))
            .then_with(|| a.source.cmp(&b.source))
    });
    if sorted.len() <= max || max < 2 {
        return sorted;
    }
    let n = sorted.len();
    (0..max).map(|k| sorted[k * (n - 1) / (max - 1)]).collect()
}

/// The sources among `abilities`, in first-seen order (for colours).
fn sources(abilities: &[&Ability]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in abilities {
        if !out.contains(&a.source) {
            out.push(a.source.clone());
        }
    }
    out
}

fn tooltip(a: &Ability) -> String {
    match a.se {
        Some(se) => format!(
            "{}: theta {} (SE {}, 95% {}) from {}",
            a.model,
            fmt2(a.theta),
            fmt2(se),
            interval_text(a),
            a.source
        ),
        None => format!("{}: theta {} from {}", a.model, fmt2(a.theta), a.source),
    }
}

/// The forest plot: one row per ability, highest first, the estimate as a
/// point and its 95% interval `theta +- 1.96 SE` as a bar, coloured by
/// source file; the interval in numbers on the right.
pub fn forest(abilities: &[&Ability], domain: (f64, f64)) -> String {
    let rows = ranked(abilities, MAX_FOREST_ROWS);
    let srcs = sources(&rows);
    let labels: Vec<String> = rows.iter().map(|a| shorten(&a.model, 40)).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let left = (longest as f64 * 6.6 + 24.0).clamp(90.0, 300.0);
    let row_h = 22.0;
    let top = 16.0;
    let legend_h = if srcs.len() > 1 { 22.0 } else { 0.0 };
    let height = top + row_h * rows.len().max(1) as f64 + 52.0 + legend_h;
    let right = WIDTH - 150.0;
    let bottom = top + row_h * rows.len().max(1) as f64;
    let frame = Frame::new((left, top, right, bottom), domain, (0.0, 1.0));
    let mut svg = Svg::new(WIDTH, height);
    for (i, _) in rows.iter().enumerate() {
        if i % 2 == 1 {
            svg.rect(
                0.0,
                top + row_h * i as f64,
                WIDTH,
                row_h,
                r#"class="band""#,
                None,
            );
        }
    }
    frame.x_axis(
        &mut svg,
        &nice_ticks(domain.0, domain.1, 8),
        "ability θ (95% interval = θ ± 1.96 SE)",
    );
    if domain.0 < 0.0 && domain.1 > 0.0 {
        let x0 = frame.x.map(0.0);
        svg.line(x0, top, x0, bottom, r#"class="ref""#);
    }
    svg.text(
        right + 12.0,
        top - 4.0,
        Anchor::Start,
        r#"class="col-head""#,
        "θ [95% interval]",
    );
    for (i, a) in rows.iter().enumerate() {
        let y = top + row_h * (i as f64 + 0.5);
        let color = series_color(srcs.iter().position(|s| *s == a.source).unwrap_or(0));
        svg.text(
            left - 10.0,
            y + 4.0,
            Anchor::End,
            r#"class="label""#,
            &labels[i],
        );
        if let Some(se) = a.se {
            let (lo, hi) = (a.theta - Z95 * se, a.theta + Z95 * se);
            svg.error_bar_h(
                frame.x.map(lo.max(domain.0)),
                frame.x.map(hi.min(domain.1)),
                y,
                8.0,
                &format!(r#"stroke="{color}" class="interval""#),
            );
        }
        svg.circle(
            frame.x.map(a.theta),
            y,
            4.5,
            &format!(r#"fill="{color}" class="point""#),
            Some(&tooltip(a)),
        );
        svg.text(
            right + 12.0,
            y + 4.0,
            Anchor::Start,
            r#"class="num""#,
            &interval_text(a),
        );
    }
    if srcs.len() > 1 {
        legend_row(&mut svg, &srcs, left, height - 10.0);
    }
    svg.finish("Ability forest plot")
}

/// A row of coloured swatches with names, starting at `x`.
fn legend_row(svg: &mut Svg, names: &[String], x: f64, y: f64) {
    let mut x = x;
    for (i, name) in names.iter().enumerate() {
        let name = shorten(name, 36);
        svg.rect(
            x,
            y - 9.0,
            10.0,
            10.0,
            &format!(r#"fill="{}""#, series_color(i)),
            None,
        );
        svg.text(x + 14.0, y, Anchor::Start, r#"class="legend""#, &name);
        x += 30.0 + 6.4 * name.chars().count() as f64;
    }
}

/// `n + 1` evenly spaced abilities over `domain`.
fn grid(domain: (f64, f64), n: usize) -> Vec<f64> {
    (0..=n)
        .map(|k| domain.0 + (domain.1 - domain.0) * k as f64 / n as f64)
        .collect()
}

/// The test information `I(theta) = sum_j I_j(theta)` of the whole bank.
pub fn test_information(params: &ParamSet, theta: f64) -> f64 {
    params
        .items()
        .iter()
        .map(|i| i.irf.information(theta))
        .sum()
}

/// The bank's test information curve (left axis) with the standard error
/// it implies, `SE(theta) = 1 / sqrt(I(theta))` (dashed, right axis), and
/// each model's estimate marked on the curve and named above it.
pub fn information(params: &ParamSet, abilities: &[&Ability], domain: (f64, f64)) -> String {
    let thetas = grid(domain, 240);
    let info: Vec<f64> = thetas
        .iter()
        .map(|&t| test_information(params, t))
        .collect();
    let max_info = info.iter().cloned().fold(0.0, f64::max);
    let named = abilities.len() <= MAX_NAMED;
    let label_h = if named && !abilities.is_empty() {
        130.0
    } else {
        16.0
    };
    let (left, right, top) = (70.0, WIDTH - 70.0, label_h);
    let bottom = top + 300.0;
    let height = bottom + 52.0;
    let y_dom = nice_domain(0.0, max_info.max(1e-9) * 1.05, 6);
    let frame = Frame::new((left, top, right, bottom), domain, y_dom);
    let mut svg = Svg::new(WIDTH, height);
    frame.x_axis(&mut svg, &nice_ticks(domain.0, domain.1, 8), "ability θ");
    frame.y_axis(
        &mut svg,
        &nice_ticks(y_dom.0, y_dom.1, 6),
        "test information I(θ)",
    );

    // SE on the right axis, cut at 2 (beyond, the bank says little).
    let min_se = info
        .iter()
        .filter(|&&i| i > 0.0)
        .map(|i| 1.0 / i.sqrt())
        .fold(f64::INFINITY, f64::min);
    if min_se.is_finite() {
        let se_top = nice_domain(0.0, (3.0 * min_se).min(2.0), 5).1;
        let se_scale = Linear::new((0.0, se_top), (bottom, top));
        let se_ticks = nice_ticks(0.0, se_top, 5);
        for &v in &se_ticks.values {
            let y = se_scale.map(v);
            svg.line(right, y, right + 4.0, y, r#"class="axis""#);
            svg.text(
                right + 7.0,
                y + 4.0,
                Anchor::Start,
                r#"class="tick se""#,
                &super::svg::tick_label(v, se_ticks.step),
            );
        }
        svg.line(right, top, right, bottom, r#"class="axis""#);
        svg.text_vertical(
            right + 48.0,
            0.5 * (top + bottom),
            r#"class="axis-title se""#,
            "standard error 1/√I(θ)",
        );
        let pts: Vec<(f64, f64)> = thetas
            .iter()
            .zip(&info)
            .map(|(&t, &i)| {
                let se = 1.0 / i.sqrt();
                let y = if se <= se_top {
                    se_scale.map(se)
                } else {
                    f64::NAN
                };
                (frame.x.map(t), y)
            })
            .collect();
        svg.polyline(&pts, r#"class="se-line""#);
    }
    let pts: Vec<(f64, f64)> = thetas
        .iter()
        .zip(&info)
        .map(|(&t, &i)| (frame.x.map(t), frame.y.map(i)))
        .collect();
    let mut area = pts.clone();
    area.push((frame.x.map(domain.1), frame.y.map(y_dom.0)));
    area.push((frame.x.map(domain.0), frame.y.map(y_dom.0)));
    svg.polygon(&area, r#"class="area""#);
    svg.polyline(&pts, r#"class="curve""#);

    let ranked = ranked(abilities, usize::MAX);
    let xs: Vec<f64> = ranked.iter().map(|a| frame.x.map(a.theta)).collect();
    let label_x = spread_labels(&xs, 13.0, left, right);
    for (k, a) in ranked.iter().enumerate() {
        let x = xs[k];
        let y = frame.y.map(test_information(params, a.theta));
        svg.line(x, bottom, x, bottom - 6.0, r#"class="rug""#);
        if named {
            svg.line(x, y, x, top - 4.0, r#"class="leader""#);
            svg.line(x, top - 4.0, label_x[k], top - 14.0, r#"class="leader""#);
            let t = shorten(&a.model, 18);
            let (lx, ly) = (label_x[k] + 4.0, top - 18.0);
            svg.text_rotated(lx, ly, Anchor::Start, r#"class="mark-label""#, &t);
        }
        svg.circle(x, y, 4.0, r#"class="marker""#, Some(&tooltip(a)));
    }
    svg.finish("Test information curve")
}

/// The item characteristic curves of `items`: the probability of a correct
/// answer (graded items: the expected score over its maximum) against
/// ability, each item's location marked on the 0.5 line.
pub fn characteristic_curves(items: &[&ItemParams], domain: (f64, f64)) -> String {
    let (left, right, top, bottom) = (70.0, WIDTH - 250.0, 16.0, 336.0);
    let frame = Frame::new((left, top, right, bottom), domain, (0.0, 1.0));
    let mut svg = Svg::new(WIDTH, bottom + 52.0);
    frame.x_axis(&mut svg, &nice_ticks(domain.0, domain.1, 8), "ability θ");
    frame.y_axis(&mut svg, &nice_ticks(0.0, 1.0, 5), "P(correct)");
    let thetas = grid(domain, 200);
    for (i, item) in items.iter().enumerate() {
        let color = series_color(i);
        let max = (item.irf.n_categories() - 1).max(1) as f64;
        let pts: Vec<(f64, f64)> = thetas
            .iter()
            .map(|&t| {
                (
                    frame.x.map(t),
                    frame.y.map(item.irf.expected_score(t) / max),
                )
            })
            .collect();
        svg.polyline(&pts, &format!(r#"stroke="{color}" class="icc""#));
        let b = location(item);
        svg.circle(
            frame.x.map(b),
            frame.y.map(item.irf.expected_score(b) / max),
            3.5,
            &format!(r#"fill="{color}" class="point""#),
            Some(&format!("{}: location {}", item.id, fmt2(b))),
        );
        let y = top + 14.0 + 36.0 * i as f64;
        svg.line(
            right + 20.0,
            y - 4.0,
            right + 44.0,
            y - 4.0,
            &format!(r#"stroke="{color}" class="icc""#),
        );
        svg.text(
            right + 52.0,
            y,
            Anchor::Start,
            r#"class="legend""#,
            &shorten(item.id.as_str(), 26),
        );
        svg.text(
            right + 52.0,
            y + 15.0,
            Anchor::Start,
            r#"class="legend-sub""#,
            &param_text(item),
        );
    }
    svg.finish("Item characteristic curves")
}

/// `2pl a=1.20 b=-0.31`: the item's model and parameters, shortly.
pub fn param_text(item: &ItemParams) -> String {
    match &item.irf {
        Irf::Logistic(m) => {
            let mut s = format!("{} a={} b={}", item.kind, fmt2(m.a()), fmt2(m.b()));
            if m.g() != 0.0 {
                s.push_str(&format!(" g={}", fmt2(m.g())));
            }
            if m.u() != 1.0 {
                s.push_str(&format!(" u={}", fmt2(m.u())));
            }
            s
        }
        Irf::Graded(m) => format!(
            "{} a={} b={}",
            item.kind,
            fmt2(m.a()),
            m.thresholds()
                .iter()
                .map(|&b| fmt2(b))
                .collect::<Vec<_>>()
                .join("/")
        ),
    }
}

/// Default items for the characteristic curves: five spanning the bank's
/// difficulty (locations at the 5th, 27.5th, 50th, 72.5th and 95th
/// percentiles).
pub fn default_items(params: &ParamSet) -> Vec<&ItemParams> {
    let mut items: Vec<&ItemParams> = params
        .items()
        .iter()
        .filter(|i| location(i).is_finite())
        .collect();
    items.sort_by(|a, b| location(a).total_cmp(&location(b)).then(a.id.cmp(&b.id)));
    let n = items.len();
    if n == 0 {
        return items;
    }
    let mut out: Vec<&ItemParams> = Vec::new();
    for q in [0.05, 0.275, 0.5, 0.725, 0.95] {
        let k = (q * (n - 1) as f64).round() as usize;
        if !out.iter().any(|i| i.id == items[k].id) {
            out.push(items[k]);
        }
    }
    out
}

/// The shared y range of the trajectory panels: every `theta +- SE`.
pub fn trajectory_domain(trajectories: &[&Trajectory]) -> (f64, f64) {
    let (mut lo, mut hi) = (-1.0f64, 1.0f64);
    for t in trajectories {
        for s in &t.steps {
            let half = s.se.unwrap_or(0.0);
            lo = lo.min(s.theta - half);
            hi = hi.max(s.theta + half);
        }
    }
    nice_domain(lo.max(-8.0), hi.min(8.0), 5)
}

/// One exam's trajectory: the estimate after each step, with a band of
/// `theta +- SE` (steps whose SE is infinite have no band). Panels share
/// the axes `steps` x `y_domain` so they compare at a glance.
pub fn trajectory(t: &Trajectory, max_step: usize, y_domain: (f64, f64)) -> String {
    let (w, h) = (300.0, 210.0);
    let (left, right, top, bottom) = (46.0, w - 10.0, 28.0, h - 40.0);
    let x_dom = (0.0, max_step.max(1) as f64);
    let frame = Frame::new((left, top, right, bottom), x_dom, y_domain);
    let mut svg = Svg::new(w, h);
    svg.text(
        left,
        16.0,
        Anchor::Start,
        r#"class="panel-title""#,
        &shorten(&t.model, 34),
    );
    frame.x_axis(&mut svg, &nice_ticks(x_dom.0, x_dom.1, 5), "step");
    frame.y_axis(&mut svg, &nice_ticks(y_domain.0, y_domain.1, 4), "");
    let clamp = |v: f64| v.clamp(y_domain.0, y_domain.1);
    // The band is drawn in runs of steps with a finite SE.
    for run in t.steps.split(|s| s.se.is_none()) {
        if run.len() >= 2 {
            let mut band: Vec<(f64, f64)> = run
                .iter()
                .map(|s| {
                    (
                        frame.x.map(s.step as f64),
                        frame.y.map(clamp(s.theta + s.se.unwrap_or(0.0))),
                    )
                })
                .collect();
            band.extend(run.iter().rev().map(|s| {
                (
                    frame.x.map(s.step as f64),
                    frame.y.map(clamp(s.theta - s.se.unwrap_or(0.0))),
                )
            }));
            svg.polygon(&band, r#"class="se-band""#);
        }
    }
    let pts: Vec<(f64, f64)> = t
        .steps
        .iter()
        .map(|s| (frame.x.map(s.step as f64), frame.y.map(clamp(s.theta))))
        .collect();
    svg.polyline(&pts, r#"class="curve""#);
    if let Some(last) = t.steps.last() {
        let se = last.se.map_or_else(|| "∞".to_owned(), fmt2);
        svg.circle(
            frame.x.map(last.step as f64),
            frame.y.map(clamp(last.theta)),
            3.5,
            r#"class="marker""#,
            Some(&format!(
                "step {}: theta {}, SE {se}",
                last.step,
                fmt2(last.theta)
            )),
        );
        svg.text(
            right,
            16.0,
            Anchor::End,
            r#"class="num""#,
            &format!("θ {} ± {se}", fmt2(last.theta)),
        );
    }
    svg.finish(&format!("Trajectory of {}", t.model))
}

/// The item map (Wright map): one vertical ability axis; the models'
/// estimates on its left (named, or as a histogram when there are many),
/// a histogram of item locations on its right.
pub fn item_map(params: Option<&ParamSet>, abilities: &[&Ability], domain: (f64, f64)) -> String {
    let (top, bottom) = (34.0, 554.0);
    let axis_x = 470.0;
    let right = WIDTH - 30.0;
    let mut svg = Svg::new(WIDTH, bottom + 46.0);
    let y = Linear::new(domain, (bottom, top));
    let bin = nice_step(domain.1 - domain.0, 32);
    let n_bins = ((domain.1 - domain.0) / bin).round().max(1.0) as usize;

    // Items: histogram bars to the right of the axis.
    let locations: Vec<f64> =
        params.map_or_else(Vec::new, |p| p.items().iter().map(location).collect());
    let counts = bin_counts(&locations, domain.0, bin, n_bins);
    let max_count = counts.iter().copied().max().unwrap_or(0).max(1);
    let count_dom = nice_domain(0.0, max_count as f64, 5);
    let count_x = Linear::new(count_dom, (axis_x + 2.0, right));
    let count_ticks = nice_ticks(count_dom.0, count_dom.1, 5);
    for &v in &count_ticks.values {
        let x = count_x.map(v);
        svg.line(x, top, x, bottom, r#"class="grid""#);
        svg.text(
            x,
            bottom + 16.0,
            Anchor::Middle,
            r#"class="tick""#,
            &super::svg::tick_label(v, count_ticks.step),
        );
    }
    svg.text(
        0.5 * (axis_x + right),
        bottom + 36.0,
        Anchor::Middle,
        r#"class="axis-title""#,
        "number of items",
    );
    svg.text(
        axis_x + 8.0,
        18.0,
        Anchor::Start,
        r#"class="col-head""#,
        "items (location b)",
    );
    for (k, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let lo = domain.0 + bin * k as f64;
        let (y0, y1) = (y.map(lo + bin), y.map(lo));
        svg.rect(
            count_x.map(0.0),
            y0 + 0.5,
            count_x.map(c as f64) - count_x.map(0.0),
            (y1 - y0 - 1.0).max(0.5),
            r#"class="bar""#,
            Some(&format!(
                "{c} item{} with location in [{}, {})",
                if c == 1 { "" } else { "s" },
                fmt2(lo),
                fmt2(lo + bin)
            )),
        );
    }

    // The shared axis.
    let ticks = nice_ticks(domain.0, domain.1, 8);
    for &v in &ticks.values {
        let yy = y.map(v);
        svg.line(axis_x - 4.0, yy, axis_x, yy, r#"class="axis""#);
        svg.text(
            axis_x - 7.0,
            yy + 4.0,
            Anchor::End,
            r#"class="tick""#,
            &super::svg::tick_label(v, ticks.step),
        );
    }
    svg.line(axis_x, top, axis_x, bottom, r#"class="axis""#);
    svg.text(
        axis_x - 8.0,
        18.0,
        Anchor::End,
        r#"class="col-head""#,
        "models (θ)",
    );
    svg.text(
        axis_x,
        bottom + 36.0,
        Anchor::Middle,
        r#"class="axis-title""#,
        "θ",
    );

    // Models: named points, or a histogram leftwards when there are many.
    let dot_x = axis_x - 44.0;
    if abilities.len() <= MAX_NAMED {
        let ranked = ranked(abilities, usize::MAX);
        let ys: Vec<f64> = ranked.iter().map(|a| y.map(a.theta)).collect();
        let label_y = spread_labels(&ys, 13.0, top + 4.0, bottom);
        for (k, a) in ranked.iter().enumerate() {
            let ly = label_y[k];
            svg.line(
                dot_x - 6.0,
                ys[k],
                dot_x - 18.0,
                ly - 4.0,
                r#"class="leader""#,
            );
            svg.text(
                dot_x - 22.0,
                ly,
                Anchor::End,
                r#"class="label""#,
                &shorten(&a.model, 44),
            );
            svg.circle(dot_x, ys[k], 4.0, r#"class="marker""#, Some(&tooltip(a)));
        }
    } else {
        let thetas: Vec<f64> = abilities.iter().map(|a| a.theta).collect();
        let counts = bin_counts(&thetas, domain.0, bin, n_bins);
        let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        let scale = Linear::new((0.0, max), (axis_x - 50.0, 40.0));
        for (k, &c) in counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let lo = domain.0 + bin * k as f64;
            let (y0, y1) = (y.map(lo + bin), y.map(lo));
            svg.rect(
                scale.map(c as f64),
                y0 + 0.5,
                scale.map(0.0) - scale.map(c as f64),
                (y1 - y0 - 1.0).max(0.5),
                r#"class="bar persons""#,
                Some(&format!("{c} with θ in [{}, {})", fmt2(lo), fmt2(lo + bin))),
            );
        }
    }
    svg.finish("Item map")
}

/// Predicted against observed whole-bank scores, for the abilities that
/// have both: each model a point with its 95% interval as a vertical bar,
/// the line `predicted = observed` for reference. A point whose interval
/// misses the observed score is drawn hollow.
pub fn predicted_vs_observed(abilities: &[&Ability]) -> String {
    let points: Vec<(&Ability, PredictedBankScore, f64)> = abilities
        .iter()
        .filter_map(|a| {
            let p = a.predicted?;
            Some((*a, p, p.observed?))
        })
        .collect();
    let values = points
        .iter()
        .flat_map(|(_, p, o)| [p.lo, p.hi, *o])
        .collect::<Vec<_>>();
    let lo = values
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .max(0.0);
    let hi = values
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .min(1.0);
    let domain = nice_domain(lo, hi.max(lo + 0.05), 6);
    let size = 520.0;
    let (left, top, right, bottom) = (70.0, 16.0, size - 20.0, size - 56.0);
    let frame = Frame::new((left, top, right, bottom), domain, domain);
    let mut svg = Svg::new(size, size);
    let ticks = nice_ticks(domain.0, domain.1, 6);
    frame.x_axis(&mut svg, &ticks, "observed score on the whole bank");
    frame.y_axis(&mut svg, &ticks, "predicted score (95% interval)");
    svg.line(
        frame.x.map(domain.0),
        frame.y.map(domain.0),
        frame.x.map(domain.1),
        frame.y.map(domain.1),
        r#"class="ref""#,
    );
    for (a, p, observed) in &points {
        let x = frame.x.map(*observed);
        let color = series_color(0);
        svg.error_bar_v(
            x,
            frame.y.map(p.lo.max(domain.0)),
            frame.y.map(p.hi.min(domain.1)),
            6.0,
            &format!(r#"stroke="{color}" class="interval""#),
        );
        let holds = p.lo <= *observed && *observed <= p.hi;
        let fill = if holds {
            format!(r#"fill="{color}" class="point""#)
        } else {
            format!(r#"fill="white" stroke="{color}" class="point""#)
        };
        let tip = format!(
            "{}: predicted {:.3} [{:.3}, {:.3}], observed {observed:.3}{}",
            a.model,
            p.score,
            p.lo,
            p.hi,
            if holds { "" } else { " (outside the interval)" }
        );
        svg.circle(x, frame.y.map(p.score), 4.5, &fill, Some(&tip));
    }
    svg.finish("Predicted against observed scores")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Metadata;
    use crate::model::{Graded, Logistic, ModelKind};
    use crate::report::Kind;

    fn ability(model: &str, theta: f64, se: Option<f64>) -> Ability {
        Ability {
            model: model.into(),
            theta,
            se,
            source: "f".into(),
            kind: Kind::Abilities,
            predicted: None,
            in_sample: false,
        }
    }

    #[test]
    fn predicted_against_observed_marks_the_intervals_that_miss() {
        let mut held = ability("held", 0.0, Some(0.1));
        held.predicted = Some(PredictedBankScore {
            score: 0.50,
            lo: 0.45,
            hi: 0.55,
            observed: Some(0.52),
            error_model: true,
        });
        let mut missed = ability("missed", 1.0, Some(0.1));
        missed.predicted = Some(PredictedBankScore {
            score: 0.70,
            lo: 0.66,
            hi: 0.74,
            observed: Some(0.62),
            error_model: false,
        });
        // No observed score: not drawn.
        let mut live = ability("live", 2.0, Some(0.1));
        live.predicted = Some(PredictedBankScore {
            observed: None,
            ..held.predicted.unwrap()
        });
        let svg = predicted_vs_observed(&[&held, &missed, &live]);
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        assert_eq!(svg.matches(r#"fill="white""#).count(), 1, "{svg}");
        assert!(svg.contains(
            "missed: predicted 0.700 [0.660, 0.740], observed 0.620 (outside the interval)"
        ));
        assert!(svg.contains("held: predicted 0.500 [0.450, 0.550], observed 0.520<"));
    }

    fn bank(bs: &[f64]) -> ParamSet {
        let items = bs
            .iter()
            .enumerate()
            .map(|(i, &b)| ItemParams {
                id: format!("q{i}").into(),
                kind: ModelKind::TwoPl,
                irf: Logistic::two_pl(1.0, b).unwrap().into(),
                se: None,
            })
            .collect();
        ParamSet::new(items, Metadata::default()).unwrap()
    }

    #[test]
    fn ranking_sorts_high_first_and_thins_evenly_keeping_the_ends() {
        let all: Vec<Ability> = (0..10)
            .map(|i| ability(&format!("m{i}"), i as f64, None))
            .collect();
        let refs: Vec<&Ability> = all.iter().collect();
        let r = ranked(&refs, usize::MAX);
        assert_eq!(r[0].model, "m9");
        assert_eq!(r[9].model, "m0");
        let thin = ranked(&refs, 4);
        let names: Vec<&str> = thin.iter().map(|a| a.model.as_str()).collect();
        assert_eq!(names, ["m9", "m6", "m3", "m0"]);
    }

    #[test]
    fn domain_covers_intervals_and_items_within_limits() {
        let a = ability("x", 3.5, Some(0.5));
        assert_eq!(theta_domain(&[&a], None), (-3.0, 5.0));
        let far = ability("far", 30.0, None);
        assert_eq!(theta_domain(&[&far], None).1, 8.0);
        let p = bank(&[-4.4, 0.0]);
        assert_eq!(theta_domain(&[], Some(&p)), (-5.0, 3.0));
    }

    #[test]
    fn default_items_span_the_difficulty_and_locations_of_graded_items_are_mean_thresholds() {
        let p = bank(&[0.5, -2.0, 2.0, 0.0, -1.0, 1.0, 1.5, -0.5, 3.0, -3.0, 0.25]);
        let chosen: Vec<f64> = default_items(&p).iter().map(|i| location(i)).collect();
        // Sorted ranks 0..=10; the percentiles pick ranks 0.5, 2.75, 5,
        // 7.25 and 9.5, rounded half away from zero.
        assert_eq!(chosen, [-2.0, -0.5, 0.25, 1.0, 3.0]);
        let g = ItemParams {
            id: "g".into(),
            kind: ModelKind::Graded,
            irf: Graded::new(1.0, vec![-1.0, 0.5, 2.0]).unwrap().into(),
            se: None,
        };
        assert!((location(&g) - 0.5).abs() < 1e-12);
        assert_eq!(param_text(&g), "grm a=1.00 b=-1.00/0.50/2.00");
    }

    #[test]
    fn test_information_is_the_sum_of_item_information() {
        // 2PL with a = 1 at theta = b: P = 1/2, I = a^2 P Q = 0.25.
        let p = bank(&[0.0, 0.0]);
        assert!((test_information(&p, 0.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn labels_are_shortened_with_an_ellipsis() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
