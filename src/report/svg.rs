//! A small SVG writer for the report's plots: linear scales, "nice" axis
//! ticks, escaping, and the few shapes the plots draw (lines, polylines,
//! bands, points, error bars, bars, text).
//!
//! Coordinates are written with one decimal (a tenth of a pixel is below
//! what a screen shows) and never as `NaN` or infinity: a shape with a
//! non-finite coordinate is left out. The same calls always give the same
//! bytes, so a report is reproducible.

use std::fmt::Write;

/// Escapes `text` for HTML and XML text and attribute values: `&`, `<`,
/// `>`, `"` and `'` become entities, so a model named `<script>` prints as
/// text and never as markup.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed
            // in XML 1.0 documents: drop them rather than break the SVG.
            c if c.is_control() && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// A pixel coordinate with one decimal; `-0.0` prints as `0.0`.
pub fn px(x: f64) -> String {
    let s = format!("{x:.1}");
    if s == "-0.0" { "0.0".to_owned() } else { s }
}

/// A linear map from a data interval (`domain`) onto a pixel interval
/// (`range`): `map(x) = r0 + (x - d0) (r1 - r0) / (d1 - d0)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Linear {
    /// The map of `domain` onto `range`; `range` may run backwards (a y axis
    /// grows downwards in SVG). A domain of zero width maps everything to
    /// the middle of the range.
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        Linear {
            d0: domain.0,
            d1: domain.1,
            r0: range.0,
            r1: range.1,
        }
    }

    /// The pixel position of `x`.
    pub fn map(&self, x: f64) -> f64 {
        let width = self.d1 - self.d0;
        if width == 0.0 || !width.is_finite() {
            return 0.5 * (self.r0 + self.r1);
        }
        self.r0 + (x - self.d0) * (self.r1 - self.r0) / width
    }

    /// The data interval.
    pub fn domain(&self) -> (f64, f64) {
        (self.d0, self.d1)
    }

    /// The pixel interval.
    pub fn range(&self) -> (f64, f64) {
        (self.r0, self.r1)
    }
}

/// Axis ticks: multiples of a "nice" step (1, 2 or 5 times a power of ten).
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// Distance between ticks.
    pub step: f64,
    /// The tick values, ascending.
    pub values: Vec<f64>,
}

/// The nice step for about `target` intervals over a span: the raw step
/// `span / target` rounded up to 1, 2, 5 or 10 times a power of ten.
pub fn nice_step(span: f64, target: usize) -> f64 {
    let span = if span.is_finite() && span > 0.0 {
        span
    } else {
        1.0
    };
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 + 1e-9 {
        1.0
    } else if norm <= 2.0 + 1e-9 {
        2.0
    } else if norm <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// About `target` nice ticks inside `[lo, hi]` (both ends included when they
/// fall on a multiple of the step). Each value is `k * step` for an integer
/// `k`, so no rounding error accumulates, and `-0` is written as `0`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Ticks {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let step = nice_step(hi - lo, target);
    let eps = step * 1e-9;
    let first = ((lo - eps) / step).ceil() as i64;
    let last = ((hi + eps) / step).floor() as i64;
    let values = (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            if v == 0.0 { 0.0 } else { v }
        })
        .collect();
    Ticks { step, values }
}

/// `[lo, hi]` widened outwards to multiples of the nice step for about
/// `target` intervals, so the axis starts and ends on a tick.
pub fn nice_domain(lo: f64, hi: f64, target: usize) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let step = nice_step(hi - lo, target);
    (
        // The tolerance points inwards: a bound already on a tick stays.
        (lo / step + 1e-9).floor() * step,
        (hi / step - 1e-9).ceil() * step,
    )
}

/// A tick label: as many decimals as the step needs (`0.5` needs one,
/// `2` none), and `0` rather than `-0`.
pub fn tick_label(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 - 1e-9 {
        0
    } else {
        (-(step.log10()) - 1e-9).ceil().max(0.0) as usize
    };
    let s = format!("{value:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_owned()
    } else {
        s
    }
}

/// Vertical positions for labels wanted at `wanted` (any order), moved
/// apart so that neighbours are at least `gap` pixels apart and all lie in
/// `[lo, hi]` when there is room. The returned positions are in the order of
/// `wanted`; the labels' order along the axis is kept.
pub fn spread_labels(wanted: &[f64], gap: f64, lo: f64, hi: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by(|&a, &b| wanted[a].total_cmp(&wanted[b]).then(a.cmp(&b)));
    let mut pos: Vec<f64> = order.iter().map(|&i| wanted[i].clamp(lo, hi)).collect();
    // Push down from the top, then up from the bottom: the second pass keeps
    // the last labels inside the box, the first keeps the gaps.
    for k in 1..pos.len() {
        pos[k] = pos[k].max(pos[k - 1] + gap);
    }
    if let Some(last) = pos.last_mut() {
        *last = last.min(hi);
    }
    for k in (0..pos.len().saturating_sub(1)).rev() {
        pos[k] = pos[k].min(pos[k + 1] - gap);
    }
    let mut out = vec![0.0; wanted.len()];
    for (k, &i) in order.iter().enumerate() {
        out[i] = pos[k];
    }
    out
}

/// Counts of `values` in `n` bins of equal width starting at `lo`; values
/// outside `[lo, lo + n width)` go to the first or last bin, non-finite ones
/// are ignored.
pub fn bin_counts(values: &[f64], lo: f64, width: f64, n: usize) -> Vec<usize> {
    let mut counts = vec![0; n];
    if n == 0 || width.is_nan() || width <= 0.0 {
        return counts;
    }
    for v in values.iter().filter(|v| v.is_finite()) {
        let k = ((v - lo) / width).floor();
        let k = if k < 0.0 { 0 } else { (k as usize).min(n - 1) };
        counts[k] += 1;
    }
    counts
}

/// Colours of data series (a qualitative palette of ten, distinguishable
/// for the common forms of colour blindness), repeating after ten.
pub fn series_color(i: usize) -> &'static str {
    const PALETTE: [&str; 10] = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
        "#9c755f", "#bab0ac",
    ];
    PALETTE[i % PALETTE.len()]
}

/// Where a text's anchor point is: its start, middle or end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Text starts at the point.
    Start,
    /// Text is centred on the point.
    Middle,
    /// Text ends at the point.
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// An SVG document being written.
///
/// Shapes take `attrs`, extra attribute text written as is (a class, a
/// stroke colour): it must come from this crate's code, never from user
/// data. User text (names, tooltips) goes through [`escape`].
#[derive(Debug, Clone)]
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

fn finite(xs: &[f64]) -> bool {
    xs.iter().all(|x| x.is_finite())
}

impl Svg {
    /// An empty drawing of `width` x `height` pixels.
    pub fn new(width: f64, height: f64) -> Self {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> f64 {
        self.height
    }

    fn title(&mut self, title: Option<&str>) {
        if let Some(t) = title {
            let _ = write!(self.body, "<title>{}</title>", escape(t));
        }
    }

    /// A straight line.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, attrs: &str) {
        if finite(&[x1, y1, x2, y2]) {
            let _ = writeln!(
                self.body,
                r#"<line x1="{}" y1="{}" x2="{}" y2="{}" {attrs}/>"#,
                px(x1),
                px(y1),
                px(x2),
                px(y2)
            );
        }
    }

    fn points(points: &[(f64, f64)]) -> String {
        points
            .iter()
            .map(|&(x, y)| format!("{},{}", px(x), px(y)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A line through `points`; a non-finite point breaks the line in two.
    pub fn polyline(&mut self, points: &[(f64, f64)], attrs: &str) {
        for run in points.split(|&(x, y)| !(x.is_finite() && y.is_finite())) {
            if run.len() >= 2 {
                let _ = writeln!(
                    self.body,
                    r#"<polyline points="{}" fill="none" {attrs}/>"#,
                    Self::points(run)
                );
            }
        }
    }

    /// A filled polygon (a confidence band: the upper edge left to right,
    /// then the lower edge right to left). Left out when a point is not
    /// finite.
    pub fn polygon(&mut self, points: &[(f64, f64)], attrs: &str) {
        if points.len() >= 3 && points.iter().all(|&(x, y)| finite(&[x, y])) {
            let _ = writeln!(
                self.body,
                r#"<polygon points="{}" {attrs}/>"#,
                Self::points(points)
            );
        }
    }

    /// A point, with an optional tooltip.
    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, attrs: &str, title: Option<&str>) {
        if finite(&[cx, cy, r]) {
            let _ = write!(
                self.body,
                r#"<circle cx="{}" cy="{}" r="{}" {attrs}>"#,
                px(cx),
                px(cy),
                px(r)
            );
            self.title(title);
            self.body.push_str("</circle>\n");
        }
    }

    /// A rectangle (negative sizes are flipped), with an optional tooltip.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, attrs: &str, title: Option<&str>) {
        if finite(&[x, y, w, h]) {
            let (x, w) = if w < 0.0 { (x + w, -w) } else { (x, w) };
            let (y, h) = if h < 0.0 { (y + h, -h) } else { (y, h) };
            let _ = write!(
                self.body,
                r#"<rect x="{}" y="{}" width="{}" height="{}" {attrs}>"#,
                px(x),
                px(y),
                px(w),
                px(h)
            );
            self.title(title);
            self.body.push_str("</rect>\n");
        }
    }

    /// A horizontal error bar from `x_lo` to `x_hi` at height `y`, with end
    /// caps `cap` pixels tall.
    pub fn error_bar_h(&mut self, x_lo: f64, x_hi: f64, y: f64, cap: f64, attrs: &str) {
        self.line(x_lo, y, x_hi, y, attrs);
        self.line(x_lo, y - cap / 2.0, x_lo, y + cap / 2.0, attrs);
        self.line(x_hi, y - cap / 2.0, x_hi, y + cap / 2.0, attrs);
    }

    /// A vertical error bar from `y_lo` to `y_hi` at `x`, with end caps
    /// `cap` pixels wide.
    pub fn error_bar_v(&mut self, x: f64, y_lo: f64, y_hi: f64, cap: f64, attrs: &str) {
        self.line(x, y_lo, x, y_hi, attrs);
        self.line(x - cap / 2.0, y_lo, x + cap / 2.0, y_lo, attrs);
        self.line(x - cap / 2.0, y_hi, x + cap / 2.0, y_hi, attrs);
    }

    /// Text at (`x`, `y`), the baseline at `y`; `text` is escaped.
    pub fn text(&mut self, x: f64, y: f64, anchor: Anchor, attrs: &str, text: &str) {
        if finite(&[x, y]) {
            let _ = writeln!(
                self.body,
                r#"<text x="{}" y="{}" text-anchor="{}" {attrs}>{}</text>"#,
                px(x),
                px(y),
                anchor.name(),
                escape(text)
            );
        }
    }

    /// Text turned a quarter counter-clockwise about (`x`, `y`) (a y-axis
    /// title), centred on the point.
    pub fn text_vertical(&mut self, x: f64, y: f64, attrs: &str, text: &str) {
        self.text_rotated(x, y, Anchor::Middle, attrs, text);
    }

    /// Text turned a quarter counter-clockwise about (`x`, `y`), reading
    /// upwards, anchored at the point by `anchor`.
    pub fn text_rotated(&mut self, x: f64, y: f64, anchor: Anchor, attrs: &str, text: &str) {
        if finite(&[x, y]) {
            let _ = writeln!(
                self.body,
                r#"<text x="{x}" y="{y}" text-anchor="{}" transform="rotate(-90 {x} {y})" {attrs}>{}</text>"#,
                anchor.name(),
                escape(text),
                x = px(x),
                y = px(y),
            );
        }
    }

    /// The finished document, with `label` as its accessible name.
    pub fn finish(self, label: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{label}\">\n{body}</svg>\n",
            w = px(self.width),
            h = px(self.height),
            label = escape(label),
            body = self.body
        )
    }
}

/// The plotting area of a chart and the scales onto it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Data x to pixels.
    pub x: Linear,
    /// Data y to pixels (upwards).
    pub y: Linear,
}

impl Frame {
    /// A frame with the plotting area `left..right` x `top..bottom` in
    /// pixels showing `x_domain` x `y_domain`.
    pub fn new(area: (f64, f64, f64, f64), x_domain: (f64, f64), y_domain: (f64, f64)) -> Self {
        let (left, top, right, bottom) = area;
        Frame {
            x: Linear::new(x_domain, (left, right)),
            y: Linear::new(y_domain, (bottom, top)),
        }
    }

    /// Left, top, right and bottom edges of the plotting area.
    pub fn area(&self) -> (f64, f64, f64, f64) {
        let (left, right) = self.x.range();
        let (bottom, top) = self.y.range();
        (left, top, right, bottom)
    }

    /// Vertical grid lines and labels at `ticks` below the area, and the
    /// axis title `label` under them.
    pub fn x_axis(&self, svg: &mut Svg, ticks: &Ticks, label: &str) {
        let (left, top, right, bottom) = self.area();
        for &v in &ticks.values {
            let x = self.x.map(v);
            svg.line(x, top, x, bottom, r#"class="grid""#);
            svg.line(x, bottom, x, bottom + 4.0, r#"class="axis""#);
            svg.text(
                x,
                bottom + 17.0,
                Anchor::Middle,
                r#"class="tick""#,
                &tick_label(v, ticks.step),
            );
        }
        svg.line(left, bottom, right, bottom, r#"class="axis""#);
        if !label.is_empty() {
            svg.text(
                0.5 * (left + right),
                bottom + 36.0,
                Anchor::Middle,
                r#"class="axis-title""#,
                label,
            );
        }
    }

    /// Horizontal grid lines and labels at `ticks` left of the area, and the
    /// axis title `label` beside them.
    pub fn y_axis(&self, svg: &mut Svg, ticks: &Ticks, label: &str) {
        let (left, top, right, bottom) = self.area();
        for &v in &ticks.values {
            let y = self.y.map(v);
            svg.line(left, y, right, y, r#"class="grid""#);
            svg.line(left - 4.0, y, left, y, r#"class="axis""#);
            svg.text(
                left - 7.0,
                y + 4.0,
                Anchor::End,
                r#"class="tick""#,
                &tick_label(v, ticks.step),
            );
        }
        svg.line(left, top, left, bottom, r#"class="axis""#);
        if !label.is_empty() {
            svg.text_vertical(
                left - 42.0,
                0.5 * (top + bottom),
                r#"class="axis-title""#,
                label,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_multiples_covering_the_span() {
        let t = nice_ticks(-4.0, 4.0, 8);
        assert_eq!(t.step, 1.0);
        assert_eq!(
            t.values,
            vec![-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0]
        );
        let t = nice_ticks(0.0, 1.0, 5);
        assert!((t.step - 0.2).abs() < 1e-12, "{t:?}");
        assert_eq!(t.values.len(), 6);
        assert_eq!(t.values[3], 3.0 * 0.2);
        let t = nice_ticks(0.13, 0.87, 4);
        assert!((t.step - 0.2).abs() < 1e-12);
        assert_eq!(t.values.len(), 4, "{t:?}"); // 0.2, 0.4, 0.6, 0.8
        let t = nice_ticks(0.0, 37.0, 5);
        assert_eq!(t.step, 10.0);
        assert_eq!(t.values, vec![0.0, 10.0, 20.0, 30.0]);
        let t = nice_ticks(0.0, 120.0, 6);
        assert_eq!(t.step, 20.0);
        // Reversed bounds and a zero span still give ticks.
        assert_eq!(nice_ticks(4.0, -4.0, 8).values.len(), 9);
        assert!(!nice_ticks(2.0, 2.0, 5).values.is_empty());
        // No negative zero.
        assert!(
            nice_ticks(-1.0, 1.0, 4)
                .values
                .iter()
                .all(|v| v.to_string() != "-0")
        );
    }

    #[test]
    fn domains_widen_to_ticks_and_labels_use_the_steps_decimals() {
        assert_eq!(nice_domain(-3.2, 2.6, 6), (-4.0, 3.0));
        assert_eq!(nice_domain(0.0, 0.93, 5), (0.0, 1.0));
        let (lo, hi) = nice_domain(1.0, 1.0, 5);
        assert!(lo < 1.0 && hi > 1.0);
        assert_eq!(tick_label(2.0, 1.0), "2");
        assert_eq!(tick_label(0.6000000000000001, 0.2), "0.6");
        assert_eq!(tick_label(-1e-17, 0.5), "0.0");
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(-2.5, 0.5), "-2.5");
    }

    #[test]
    fn escaping_turns_markup_into_text() {
        assert_eq!(
            escape(r#"<script>alert("x&y's")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;y&#39;s&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\td"), "abc\td");
        let mut svg = Svg::new(100.0, 50.0);
        svg.text(1.0, 2.0, Anchor::Start, "", "<b>");
        svg.circle(5.0, 5.0, 2.0, "", Some("</title><script>"));
        let doc = svg.finish("a \"label\"");
        assert!(!doc.contains("<b>") && !doc.contains("<script>"), "{doc}");
        assert!(doc.contains("&lt;b&gt;"));
        assert!(doc.contains("aria-label=\"a &quot;label&quot;\""));
    }

    #[test]
    fn scales_map_ends_and_midpoints() {
        let s = Linear::new((-4.0, 4.0), (50.0, 850.0));
        assert_eq!(s.map(-4.0), 50.0);
        assert_eq!(s.map(4.0), 850.0);
        assert_eq!(s.map(0.0), 450.0);
        // A y axis runs downwards.
        let f = Frame::new((40.0, 10.0, 240.0, 110.0), (0.0, 1.0), (0.0, 10.0));
        assert_eq!(f.y.map(0.0), 110.0);
        assert_eq!(f.y.map(10.0), 10.0);
        assert_eq!(f.x.map(0.5), 140.0);
        assert_eq!(f.area(), (40.0, 10.0, 240.0, 110.0));
        // Zero-width domain: the middle.
        assert_eq!(Linear::new((1.0, 1.0), (0.0, 10.0)).map(7.0), 5.0);
    }

    #[test]
    fn shapes_write_rounded_coordinates_and_skip_non_finite_ones() {
        let mut svg = Svg::new(10.0, 10.0);
        svg.line(0.04, -0.04, 1.26, 2.0, r#"class="a""#);
        svg.line(f64::NAN, 0.0, 1.0, 1.0, "");
        svg.polyline(
            &[(0.0, 0.0), (1.0, 1.0), (f64::INFINITY, 2.0), (3.0, 3.0)],
            "",
        );
        svg.rect(5.0, 5.0, -2.0, 3.0, "", None);
        let doc = svg.finish("t");
        assert!(doc.contains(r#"<line x1="0.0" y1="0.0" x2="1.3" y2="2.0" class="a"/>"#));
        assert_eq!(doc.matches("<line").count(), 1);
        // The run after the infinite point has one point: not drawn.
        assert_eq!(doc.matches("<polyline").count(), 1);
        assert!(doc.contains(r#"points="0.0,0.0 1.0,1.0""#));
        assert!(doc.contains(r#"<rect x="3.0" y="5.0" width="2.0" height="3.0""#));
        assert!(!doc.contains("NaN") && !doc.contains("inf"));
    }

    #[test]
    fn labels_spread_apart_in_order_and_inside_the_box() {
        let y = spread_labels(&[50.0, 51.0, 52.0, 200.0], 12.0, 0.0, 300.0);
        assert!(y[1] - y[0] >= 12.0 - 1e-9 && y[2] - y[1] >= 12.0 - 1e-9);
        assert_eq!(y[3], 200.0);
        let y = spread_labels(&[100.0, 99.0, 98.0], 10.0, 0.0, 100.0);
        // The largest wanted position keeps the largest place, inside the box.
        assert!(y[0] <= 100.0 && y[0] > y[1] && y[1] > y[2]);
        assert!((y[0] - y[1] - 10.0).abs() < 1e-9);
    }

    #[test]
    fn bins_count_and_clamp() {
        let c = bin_counts(&[-5.0, 0.1, 0.2, 0.9, 1.5, 9.0, f64::NAN], 0.0, 0.5, 3);
        assert_eq!(c, vec![3, 1, 2]);
        assert_eq!(bin_counts(&[1.0], 0.0, 0.0, 2), vec![0, 0]);
    }
}
