//! End-to-end tests of `fangsheng report` on the demo bank: simulate output
//! and trace, an exam result and journal from the simulated backend, a
//! summary JSON and an abilities file with hostile names. The page must hold
//! every section, be well-formed (every SVG and the page's tags balanced,
//! attributes quoted, entities known), escape names, and come out
//! byte-identical from the same inputs.

#[path = "report_support.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::common::{fangsheng, stderr};
use support::{demo_inputs, p, root};

/// The demo inputs plus an abilities file with hostile names and a summary
/// JSON, reported into `dir/report.html`; returns the inputs and the page.
fn full_report(dir: &Path) -> (Vec<String>, PathBuf) {
    let mut from = demo_inputs(dir);
    let hostile = dir.join("hostile.csv");
    std::fs::write(
        &hostile,
        "examinee,theta,se,n_items\n\"<script>alert('x')</script>\",0.25,0.3,10\nA&B \"quoted\",-0.5,0.4,10\n",
    )
    .unwrap();
    let summary = dir.join("saturation.json");
    std::fs::write(
        &summary,
        r#"{"saturation": {"frontier_share": 0.125, "saturated": false}, "<b>note</b>": "x < y & z"}"#,
    )
    .unwrap();
    from.push(p(&hostile));
    from.push(p(&summary));
    let out = dir.join("report.html");
    support::demo_report(&from, &out);
    (from, out)
}

const VOID: [&str; 4] = ["meta", "br", "hr", "img"];
const ENTITIES: [&str; 5] = ["amp", "lt", "gt", "quot", "#39"];

/// Checks that `text` holds only known entities and no `<`.
fn check_text(text: &str, at: usize) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        let after = &rest[i + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| format!("byte {at}: '&' without ';'"))?;
        let name = &after[..end];
        if !ENTITIES.contains(&name) {
            return Err(format!("byte {at}: unknown entity '&{name};'"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// A small well-formedness check: tags nest and close (HTML void elements
/// aside), attribute values are quoted and hold no `<`, text and values use
/// only the five entities the report writes. Returns the number of elements.
fn check_markup(doc: &str) -> Result<usize, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut count = 0;
    let mut pos = 0;
    while let Some(i) = doc[pos..].find('<') {
        let start = pos + i;
        check_text(&doc[pos..start], pos)?;
        let rest = &doc[start..];
        if rest.starts_with("<!DOCTYPE") {
            pos = start + rest.find('>').ok_or("unclosed doctype")? + 1;
            continue;
        }
        // The tag ends at the first '>' outside quotes.
        let mut quote = None;
        let mut end = None;
        for (k, c) in rest.char_indices().skip(1) {
            match (quote, c) {
                (None, '"') => quote = Some('"'),
                (Some('"'), '"') => quote = None,
                (None, '<') => return Err(format!("byte {start}: '<' inside a tag")),
                (None, '>') => {
                    end = Some(k);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or_else(|| format!("byte {start}: unclosed tag"))?;
        let tag = &rest[1..end];
        pos = start + end + 1;
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .ok_or_else(|| format!("byte {start}: </{name}> closes nothing"))?;
            if open != name.trim() {
                return Err(format!("byte {start}: </{name}> closes <{open}>"));
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
        let name = &body[..name_end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("byte {start}: bad tag name '{name}'"));
        }
        // Attributes: name="value" pairs.
        let mut attrs = body[name_end..].trim();
        while !attrs.is_empty() {
            let eq = attrs
                .find("=\"")
                .ok_or_else(|| format!("byte {start}: unquoted attribute in <{name}>"))?;
            let attr = attrs[..eq].trim();
            if attr.is_empty() || attr.contains(char::is_whitespace) {
                return Err(format!("byte {start}: bad attribute '{attr}' in <{name}>"));
            }
            let value_end = attrs[eq + 2..]
                .find('"')
                .ok_or_else(|| format!("byte {start}: unterminated value"))?;
            let value = &attrs[eq + 2..eq + 2 + value_end];
            if value.contains('<') {
                return Err(format!("byte {start}: '<' in the value of {attr}"));
            }
            check_text(value, start)?;
            attrs = attrs[eq + 2 + value_end + 1..].trim_start();
        }
        count += 1;
        if !self_closing && !VOID.contains(&name) {
            stack.push(name.to_owned());
        }
        // Style sheets are raw text up to their closing tag.
        if name == "style" {
            let close = doc[pos..].find("</style>").ok_or("unclosed <style>")?;
            pos += close;
        }
    }
    check_text(&doc[pos..], pos)?;
    if let Some(open) = stack.pop() {
        return Err(format!("<{open}> is never closed"));
    }
    Ok(count)
}

fn svgs(doc: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find("<svg") {
        let end = rest[i..].find("</svg>").expect("closed svg") + i + "</svg>".len();
        out.push(&rest[i..end]);
        rest = &rest[end..];
    }
    out
}

#[test]
fn the_checker_rejects_broken_markup() {
    assert!(check_markup("<svg><g></svg>").is_err());
    assert!(check_markup("<svg><text x=1>a</text></svg>").is_err());
    assert!(check_markup("<p>a < b</p>").is_err());
    assert!(check_markup("<p>a &nbsp b</p>").is_err());
    assert!(check_markup("<p title=\"<x>\">a</p>").is_err());
    assert_eq!(check_markup("<p a=\"1\"><br><i>&lt;&#39;</i></p>"), Ok(3));
}

#[test]
fn demo_report_has_every_section_well_formed_escaped_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let (from, out) = full_report(dir.path());
    let doc = std::fs::read_to_string(&out).unwrap();

    for id in fangsheng::report::SECTIONS {
        assert!(
            doc.contains(&format!("<section id=\"{id}\">")),
            "no section {id}"
        );
    }
    // Predicted against observed, forest, information, curves, item map,
    // and one panel per trajectory (12 replayed exams + 1 journal).
    let svgs = svgs(&doc);
    assert_eq!(svgs.len(), 5 + 13, "{} SVGs", svgs.len());
    for (i, svg) in svgs.iter().enumerate() {
        let n = check_markup(svg).unwrap_or_else(|e| panic!("SVG {i}: {e}"));
        assert!(n > 10, "SVG {i} has only {n} elements");
    }
    check_markup(&doc).unwrap_or_else(|e| panic!("page: {e}"));
    assert!(doc.contains("aria-label=\"Ability forest plot\""));
    assert!(doc.contains("aria-label=\"Item map\""));

    // Every model of the demo runs is in the forest plot, with the exam.
    for name in [
        "demo-tiny-1b",
        "demo-frontier-b",
        "simulated theta=0.5 seed=1",
    ] {
        assert!(
            doc.contains(&format!(">{name}</text>")),
            "{name} not plotted"
        );
    }
    // No scripts, no links out; hostile names printed as text.
    assert!(!doc.contains("<script"), "a script tag got through");
    assert!(doc.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(doc.contains("A&amp;B &quot;quoted&quot;"));
    assert!(doc.contains("&lt;b&gt;note&lt;/b&gt;") && doc.contains("x &lt; y &amp; z"));
    assert_eq!(
        doc.matches("http").count(),
        doc.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "a link out of the page"
    );
    // The summary is a key/value table.
    assert!(doc.contains("<td>saturation.frontier_share</td><td>0.125</td>"));
    // Default item curves: five items with their parameters.
    assert_eq!(doc.matches("class=\"icc\"").count(), 2 * 5);
    // The journal's last estimate is the exam result's: listed once among
    // the abilities (and once among the predicted scores, from the result).
    let abilities = &doc[doc.find("<section id=\"abilities\">").unwrap()..];
    let abilities = &abilities[..abilities.find("</section>").unwrap()];
    assert_eq!(
        abilities
            .matches("<td>simulated theta=0.5 seed=1</td>")
            .count(),
        1,
        "exam listed twice"
    );
    assert_eq!(
        doc.matches("<td>simulated theta=0.5 seed=1</td>").count(),
        2
    );

    // Same inputs, same bytes.
    let again = dir.path().join("again.html");
    support::demo_report(&from, &again);
    assert!(
        std::fs::read(&again).unwrap() == doc.as_bytes(),
        "not reproducible"
    );
}

#[test]
fn chosen_items_and_missing_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let abil = dir.path().join("abilities.csv");
    std::fs::write(
        &abil,
        "model,theta,se,n_items\nm1,0.5,0.2,40\nm2,-1,0.3,40\n",
    )
    .unwrap();
    let out = dir.path().join("r.html");
    let params = root("calibration/demo/v1.json");
    let with_items = |items: &str| {
        fangsheng(&[
            "report",
            "--from",
            &p(&abil),
            "--params",
            &params,
            "--items",
            items,
            "--out",
            &p(&out),
        ])
    };
    let o = with_items("demo-003,demo-010");
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = std::fs::read_to_string(&out).unwrap();
    assert!(doc.contains("<td>demo-003</td>") && doc.contains("<td>demo-010</td>"));
    assert_eq!(doc.matches("class=\"icc\"").count(), 2 * 2);

    let o = with_items("nope");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("item 'nope'"), "{}", stderr(&o));

    // Without parameters the abilities still plot; the item sections say why
    // they are empty.
    let o = fangsheng(&["report", "--from", &p(&abil), "--out", &p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = std::fs::read_to_string(&out).unwrap();
    assert!(doc.contains("No item parameters"));
    assert!(doc.contains(">m1</text>"));
}

#[test]
fn unknown_files_and_two_parameter_sets_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("odd.csv");
    std::fs::write(&odd, "foo,bar\n1,2\n").unwrap();
    let out = dir.path().join("r.html");
    let o = fangsheng(&["report", "--from", &p(&odd), "--out", &p(&out)]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("odd.csv") && e.contains("does not know"), "{e}");
    assert!(!out.exists(), "no partial output");

    let params = root("calibration/demo/v1.json");
    let o = fangsheng(&[
        "report",
        "--from",
        &params,
        "--params",
        &params,
        "--out",
        &p(&out),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("two parameter files"), "{}", stderr(&o));
}

/// `--from` takes files separated by commas or by spaces, as `export
/// --from` does: both give the same page.
#[test]
fn from_takes_a_list_with_commas_or_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    std::fs::write(&a, "model,theta,se,n_items\nm1,0.5,0.2,40\n").unwrap();
    // b is written as abilities files were before the column was renamed.
    std::fs::write(&b, "examinee,theta,se,n_items\nm2,-1,0.3,40\n").unwrap();
    let (commas, spaces) = (dir.path().join("c.html"), dir.path().join("s.html"));
    let joined = format!("{},{}", p(&a), p(&b));
    let o = fangsheng(&["report", "--from", &joined, "--out", &p(&commas)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = fangsheng(&["report", "--from", &p(&a), &p(&b), "--out", &p(&spaces)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = std::fs::read_to_string(&spaces).unwrap();
    assert!(page.contains(">m1</text>") && page.contains(">m2</text>"));
    assert_eq!(std::fs::read_to_string(&commas).unwrap(), page);
}

/// The page leads with the predicted bank scores: the 12 replayed demo runs
/// with their observed scores and a predicted-against-observed plot, the
/// simulated exam without one; and says which intervals lack an error model.
#[test]
fn the_report_leads_with_predicted_scores() {
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = full_report(dir.path());
    let doc = std::fs::read_to_string(&out).unwrap();
    let at = |id: &str| doc.find(&format!("<section id=\"{id}\">")).unwrap();
    assert!(at("predictions") < at("inputs") && at("inputs") < at("abilities"));
    let section = &doc[at("predictions")..at("inputs")];
    assert!(section.contains("aria-label=\"Predicted against observed scores\""));
    assert!(
        section.contains("the interval held the observed score for "),
        "{section}"
    );
    assert!(section.contains(" of 12 models."), "{section}");
    // The demo calibration ships no error model: every interval says so.
    assert!(
        section.contains("13 of the intervals come from the exam&#39;s posterior alone"),
        "{section}"
    );
    assert!(section.contains("<td>demo-frontier-b</td>"), "{section}");
    assert!(
        section.contains("<td>simulated theta=0.5 seed=1</td>"),
        "{section}"
    );
    assert!(!section.contains("In-sample"), "{section}");
}

/// A replay of the very runs a calibration was fitted on is marked
/// in-sample in the report, as in `simulate`'s summary.
#[test]
fn an_in_sample_replay_is_marked_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let runs = root("calibration/demo/runs.csv");
    let params = dir.path().join("fitted.json");
    let o = fangsheng(&["calibrate", "-r", &runs, "--out", &p(&params), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sim = dir.path().join("sim.csv");
    let o = fangsheng(&[
        "simulate",
        "--params",
        &p(&params),
        "--responses",
        &runs,
        "--max-items",
        "20",
        "--out",
        &p(&sim),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("in-sample replay"), "{}", stderr(&o));
    let out = dir.path().join("report.html");
    let o = fangsheng(&["report", "--from", &p(&sim), "--out", &p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = std::fs::read_to_string(&out).unwrap();
    assert!(
        doc.contains("In-sample: 12 of these 12 models are ones the calibration was fitted on"),
        "{doc}"
    );
    assert_eq!(doc.matches("<td>in-sample</td>").count(), 12);
}
