//! The HTML page around the plots: one file, its style sheet inline, no
//! scripts and no links to anything outside it.

use super::svg::escape;

/// The report's style sheet; it also styles the inline SVG (classes set by
/// [`super::plots`]).
pub const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #1f2328;
  font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans", sans-serif; }
header { background: #1f3a5f; color: #fff; padding: 22px 32px 18px; }
header h1 { margin: 0 0 4px; font-size: 24px; font-weight: 600; }
header p { margin: 0; color: #c9d6e8; }
nav { background: #fff; border-bottom: 1px solid #d8dde3; padding: 8px 32px; font-size: 13px; }
nav a { color: #1f3a5f; margin-right: 18px; text-decoration: none; }
main { max-width: 1040px; margin: 0 auto; padding: 12px 24px 40px; }
section { background: #fff; border: 1px solid #d8dde3; border-radius: 6px; margin: 18px 0; padding: 16px 20px 18px; }
h2 { font-size: 18px; font-weight: 600; margin: 0 0 4px; color: #1f3a5f; }
h3 { font-size: 14px; font-weight: 600; margin: 14px 0 6px; }
p.lead { margin: 0 0 12px; color: #57606a; }
p.note { color: #57606a; font-style: italic; margin: 6px 0; }
ul.warnings { color: #9a6700; margin: 6px 0; }
figure { margin: 0; overflow-x: auto; }
figure svg { display: block; max-width: 100%; height: auto; }
.panels { display: flex; flex-wrap: wrap; gap: 8px; }
.panels svg { border: 1px solid #eaeef2; border-radius: 4px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { color: #57606a; font-weight: 600; border-bottom: 1px solid #d0d7de; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; }
footer { text-align: center; color: #8c959f; font-size: 12px; padding: 0 0 24px; }
svg text { font-family: inherit; fill: #1f2328; }
svg .tick { font-size: 11px; fill: #57606a; }
svg .axis-title { font-size: 12px; fill: #1f2328; }
svg .label { font-size: 12px; }
svg .legend { font-size: 12px; }
svg .legend-sub { font-size: 11px; fill: #57606a; }
svg .num { font-size: 11px; fill: #57606a; font-variant-numeric: tabular-nums; }
svg .col-head { font-size: 11px; font-weight: 600; fill: #57606a; }
svg .panel-title { font-size: 12px; font-weight: 600; }
svg .mark-label { font-size: 11px; fill: #1f2328; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
svg .ref { stroke: #8c959f; stroke-width: 1; stroke-dasharray: 4 3; }
svg .band { fill: #f6f8fa; }
svg .interval { stroke-width: 2; }
svg .point { stroke: #fff; stroke-width: 1; }
svg .curve { stroke: #1f3a5f; stroke-width: 2; fill: none; }
svg .area { fill: #1f3a5f; fill-opacity: 0.08; }
svg .se-line { stroke: #e15759; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .se { fill: #c0392b; }
svg .se-band { fill: #4e79a7; fill-opacity: 0.22; }
svg .icc { stroke-width: 2; fill: none; }
svg .marker { fill: #f28e2b; stroke: #fff; stroke-width: 1; }
svg .rug { stroke: #f28e2b; stroke-width: 2; }
svg .leader { stroke: #b0b8c1; stroke-width: 1; }
svg .bar { fill: #4e79a7; }
svg .bar.persons { fill: #f28e2b; }
"#;

/// A table with a header row; every cell is escaped. Columns whose header
/// starts with `#` are right-aligned numbers (the `#` is not shown).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let numeric: Vec<bool> = headers.iter().map(|h| h.starts_with('#')).collect();
    let mut out = String::from("<table>\n<thead><tr>");
    for (h, &num) in headers.iter().zip(&numeric) {
        let cls = if num { " class=\"num\"" } else { "" };
        out.push_str(&format!(
            "<th{cls}>{}</th>",
            escape(h.trim_start_matches('#'))
        ));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let cls = if numeric.get(i) == Some(&true) {
                " class=\"num\""
            } else {
                ""
            };
            out.push_str(&format!("<td{cls}>{}</td>", escape(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// A section of the page: `id` for the table of contents, a title, a lead
/// paragraph (escaped) and its body (HTML as is).
pub fn section(id: &str, title: &str, lead: &str, body: &str) -> String {
    format!(
        "<section id=\"{id}\">\n<h2>{}</h2>\n<p class=\"lead\">{}</p>\n{body}</section>\n",
        escape(title),
        escape(lead)
    )
}

/// A note paragraph (escaped).
pub fn note(text: &str) -> String {
    format!("<p class=\"note\">{}</p>\n", escape(text))
}

/// The whole page: title, subtitle, navigation over `sections` (id and
/// title) and their HTML.
pub fn page(title: &str, subtitle: &str, nav: &[(&str, &str)], body: &str) -> String {
    let mut links = String::new();
    for (id, name) in nav {
        links.push_str(&format!("<a href=\"#{id}\">{}</a>", escape(name)));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>{t}</h1>\n<p>{s}</p>\n</header>\n<nav>{links}</nav>\n<main>\n{body}</main>\n\
         <footer>fangsheng {v}</footer>\n</body>\n</html>\n",
        t = escape(title),
        s = escape(subtitle),
        v = env!("CARGO_PKG_VERSION"),
    )
}
