//! Parameter files on disk: the JSON format `fangsheng-params/1` and the CSV
//! form, round trips between them, and every kind of bad input, using the
//! hand-written fixtures in `tests/fixtures/params/`.

mod common;

use std::io::Write;
use std::path::Path;

use common::fixture;
use fangsheng::ErrorKind;
use fangsheng::bank::{FORMAT, Loaded, Metadata, ParamSet};
use fangsheng::model::{ModelKind, ResponseModel};

fn load(name: &str) -> Loaded {
    let path = fixture(&format!("params/{name}"));
    ParamSet::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("params/{name}"))).unwrap()
}

fn csv_string(set: &ParamSet) -> String {
    let mut out = Vec::new();
    set.write_csv(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The items alone, as canonical JSON: compares sets whose metadata differ
/// (the CSV form has none) and treats unknown standard errors (`NaN`) as
/// equal, which `PartialEq` on `f64` does not.
fn items_json(set: &ParamSet) -> String {
    ParamSet::new(set.items().to_vec(), Metadata::default())
        .unwrap()
        .to_json_string()
}

#[test]
fn mixed_json_has_all_six_kinds_with_their_parameters() {
    let loaded = load("mixed.json");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let set = loaded.params;
    assert_eq!(set.len(), 8);
    let mut kinds: Vec<ModelKind> = set.items().iter().map(|i| i.kind).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ModelKind::ALL);
    let m = set.metadata();
    assert_eq!(m.bank.as_deref(), Some("fixture-mixed"));
    assert_eq!(m.provenance["seed"], 42);
    assert_eq!(m.provenance["fit"]["loglik"], -1234.5);
    assert_eq!(set.get("q3").unwrap().irf.params(), [0.5, 1.5, 0.1, 0.95]);
    assert_eq!(set.get("q4").unwrap().irf.params(), [1.0, 0.7, 0.0, 1.0]);
    assert_eq!(set.get("q5").unwrap().irf.params(), [2.0, -1.0, 0.2, 1.4]);
    // Standard errors are aligned with params(), NaN where not given.
    let se = set.get("q3").unwrap().se.clone().unwrap();
    assert!(se[..3].iter().all(|x| x.is_nan()) && se[3] == 0.02);
    let se = set.get("q7").unwrap().se.clone().unwrap();
    assert!(se[0].is_nan() && se[1].is_nan() && se[2] == 0.3);
    assert_eq!(set.get("17").unwrap().se, None);
}

#[test]
fn json_round_trip_is_byte_identical() {
    // The fixture is written in the canonical layout, so even the first
    // write reproduces it; a second round must in any case.
    let original = text("mixed.json");
    let first = load("mixed.json").params.to_json_string();
    assert_eq!(first, original);
    let again = ParamSet::from_json_str(&first, Path::new("again.json"))
        .unwrap()
        .params;
    assert_eq!(again.to_json_string(), first);
}

#[test]
fn non_canonical_json_is_stable_after_one_write() {
    let first = load("mixed_slope_intercept.json").params.to_json_string();
    let second = ParamSet::from_json_str(&first, Path::new("x.json"))
        .unwrap()
        .params
        .to_json_string();
    assert_eq!(second, first);
    assert!(first.starts_with(&format!("{{\n  \"format\": \"{FORMAT}\",\n")));
    assert!(first.ends_with("\n  ]\n}\n"));
}

#[test]
fn csv_round_trip_is_byte_identical() {
    let original = text("mixed.csv");
    let set = load("mixed.csv").params;
    assert_eq!(csv_string(&set), original);
    let again = ParamSet::from_csv_reader(original.as_bytes(), Path::new("x.csv"))
        .unwrap()
        .params;
    assert_eq!(csv_string(&again), original);
}

#[test]
fn json_and_csv_hold_the_same_bank() {
    let from_json = load("mixed.json").params;
    let from_csv = load("mixed.csv");
    assert!(from_csv.warnings.is_empty(), "{:?}", from_csv.warnings);
    assert_eq!(items_json(&from_csv.params), items_json(&from_json));
    // And converting one into the other gives the other's file.
    assert_eq!(csv_string(&from_json), text("mixed.csv"));
    assert_eq!(from_csv.params.metadata(), &Metadata::default());
}

#[test]
fn slope_intercept_input_equals_difficulty_input() {
    let b_form = items_json(&load("mixed.json").params);
    for name in ["mixed_slope_intercept.json", "mixed_slope_intercept.csv"] {
        let loaded = load(name);
        assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
        assert_eq!(items_json(&loaded.params), b_form, "{name}");
    }
}

#[test]
fn save_then_load_gives_the_same_set_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let set = load("mixed.json").params;
    let json = dir.path().join("out.json");
    let csv = dir.path().join("sub/out.csv");
    set.save_json(&json).unwrap();
    set.save_csv(&csv).unwrap();
    // Compared as text: unknown standard errors are NaN, never == themselves.
    assert_eq!(
        ParamSet::load(&json).unwrap().params.to_json_string(),
        set.to_json_string()
    );
    assert_eq!(
        items_json(&ParamSet::load(&csv).unwrap().params),
        items_json(&set)
    );
    let names = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let mut top = names(dir.path());
    top.sort();
    assert_eq!(top, ["out.json", "sub"]);
    assert_eq!(names(&dir.path().join("sub")), ["out.csv"]);
}

#[test]
fn failed_save_leaves_an_existing_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let set = load("mixed.json").params;
    let target = dir.path().join("params.json");
    std::fs::write(&target, "previous calibration").unwrap();
    // crate::io::write_atomic writes `.{name}.tmp-{pid}` beside the target;
    // a directory in its place makes the write fail before any rename.
    let blocker = dir
        .path()
        .join(format!(".params.json.tmp-{}", std::process::id()));
    std::fs::create_dir(&blocker).unwrap();
    let e = set.save_json(&target).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "previous calibration"
    );
    let e = set.save_csv(&target).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "previous calibration"
    );

    // A parent that is a file: the error names the path.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let e = set.save_json(&file.join("params.json")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.path().unwrap().starts_with(&file), "{e}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn load_reads_gzip_and_decides_the_form_by_content() {
    use flate2::{Compression, write::GzEncoder};
    let dir = tempfile::tempdir().unwrap();
    let expected = items_json(&load("mixed.json").params);
    for (src, name) in [("mixed.json", "bank.csv"), ("mixed.csv", "bank.json")] {
        // Misleading names on purpose: the content decides.
        let path = dir.path().join(format!("{name}.gz"));
        let mut enc = GzEncoder::new(std::fs::File::create(&path).unwrap(), Compression::fast());
        enc.write_all(text(src).as_bytes()).unwrap();
        enc.finish().unwrap();
        let loaded = ParamSet::load(&path).unwrap();
        assert_eq!(items_json(&loaded.params), expected, "{src}");
    }
    // A byte-order mark and leading blank lines do not hide the JSON.
    let path = dir.path().join("bom.json");
    std::fs::write(&path, format!("\u{feff}\n  \n{}", text("mixed.json"))).unwrap();
    assert_eq!(items_json(&ParamSet::load(&path).unwrap().params), expected);
}

#[test]
fn high_discrimination_is_a_warning_naming_file_line_and_item() {
    let path = fixture("params/warn_high_a.json");
    let loaded = ParamSet::load(&path).unwrap();
    assert_eq!(loaded.params.len(), 2);
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(
        loaded.warnings[0],
        format!(
            "{}:5: item 'q7': discrimination a = 12.3 is above 10; check the calibration",
            path.display()
        )
    );
}

#[test]
fn one_pl_items_with_different_slopes_warn() {
    let text = format!(
        "{{\"format\": \"{FORMAT}\", \"items\": [\n\
         {{\"id\": \"a\", \"model\": \"1pl\", \"a\": 1, \"b\": 0}},\n\
         {{\"id\": \"b\", \"model\": \"1pl\", \"a\": 1.2, \"b\": 0}}]}}"
    );
    let loaded = ParamSet::from_json_str(&text, Path::new("p.json")).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0].contains("share one slope"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let path = fixture("params/no-such-file.json");
    let e = ParamSet::load(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(e.path(), Some(path.as_path()));
}

/// One bad-input fixture and what its error must say.
struct Bad {
    file: &'static str,
    kind: ErrorKind,
    line: u64,
    item: Option<&'static str>,
    message: &'static str,
}

const fn bad(
    file: &'static str,
    kind: ErrorKind,
    line: u64,
    item: Option<&'static str>,
    message: &'static str,
) -> Bad {
    Bad {
        file,
        kind,
        line,
        item,
        message,
    }
}

use ErrorKind::{Format, Item, Param, Value};

// In the JSON fixtures the items start on line 4, one per line; in the CSV
// fixtures the header is line 1.
const BAD: &[Bad] = &[
    bad(
        "bad_a_nonpositive.json",
        Param,
        5,
        Some("q2"),
        "discrimination a must be a positive finite number, got 0",
    ),
    bad(
        "bad_a_nonpositive.csv",
        Param,
        3,
        Some("q2"),
        "discrimination a must be a positive finite number, got -1",
    ),
    bad(
        "bad_g_ge_u.json",
        Param,
        5,
        Some("q3"),
        "asymptotes must satisfy 0 <= g < u <= 1, got g = 0.5, u = 0.5",
    ),
    bad(
        "bad_g_ge_u.csv",
        Param,
        3,
        Some("q3"),
        "asymptotes must satisfy 0 <= g < u <= 1, got g = 0.6, u = 0.5",
    ),
    bad(
        "bad_thresholds.json",
        Param,
        5,
        Some("q5"),
        "thresholds must be strictly increasing, got 0.5 then 0.2",
    ),
    bad(
        "bad_thresholds.csv",
        Param,
        3,
        Some("q5"),
        "thresholds must be strictly increasing, got 0.5 then 0.2",
    ),
    bad(
        "bad_empty_thresholds.json",
        Param,
        5,
        Some("q5"),
        "at least one threshold",
    ),
    bad(
        "bad_no_thresholds.json",
        Format,
        5,
        Some("q5"),
        "model 'grm' needs 'thresholds'",
    ),
    bad(
        "bad_no_thresholds.csv",
        Format,
        3,
        Some("q5"),
        "model 'grm' needs 'thresholds'",
    ),
    bad(
        "bad_duplicate_id.json",
        Item,
        6,
        Some("q1"),
        "id appears more than once (first at line 4)",
    ),
    bad(
        "bad_duplicate_id.csv",
        Item,
        4,
        Some("q1"),
        "id appears more than once (first at line 2)",
    ),
    bad(
        "bad_duplicate_int_id.json",
        Item,
        5,
        Some("7"),
        "more than once",
    ),
    bad(
        "bad_nonnumeric.json",
        Value,
        5,
        Some("q2"),
        "\"a\" must be a number, found the string \"1.2\"",
    ),
    bad(
        "bad_nonnumeric.csv",
        Value,
        3,
        Some("q2"),
        "column 'a': '1.2x' is not a number",
    ),
    bad(
        "bad_nonfinite.csv",
        Param,
        3,
        Some("q2"),
        "difficulty b must be finite, got inf",
    ),
    bad(
        "bad_unknown_model.json",
        Value,
        5,
        Some("q2"),
        "unknown model '5pl'",
    ),
    bad(
        "bad_unknown_model.csv",
        Value,
        3,
        Some("q2"),
        "unknown model 'pcm'",
    ),
    bad(
        "bad_missing_b.json",
        Format,
        5,
        Some("q2"),
        "model '2pl' needs 'b' (or the slope-intercept 'd'), which is missing",
    ),
    bad(
        "bad_missing_b.csv",
        Format,
        3,
        Some("q2"),
        "model '3pl' needs 'b'",
    ),
    bad(
        "bad_missing_id.json",
        Format,
        5,
        None,
        "items[1] has no \"id\"",
    ),
    bad(
        "bad_rasch_slope.json",
        Param,
        5,
        Some("q4"),
        "a Rasch item has a = 1, got a = 1.3",
    ),
    bad(
        "bad_fixed_g.json",
        Param,
        5,
        Some("q2"),
        "model '2pl' fixes g = 0, got g = 0.2",
    ),
    bad(
        "bad_fixed_g.csv",
        Param,
        3,
        Some("q2"),
        "model '2pl' fixes g = 0, got g = 0.2",
    ),
    bad(
        "bad_b_and_d.json",
        Format,
        5,
        Some("q2"),
        "either 'b' or the slope-intercept 'd', not both",
    ),
    bad(
        "bad_field_for_model.json",
        Format,
        5,
        Some("q5"),
        "'b' belongs to dichotomous items",
    ),
    bad(
        "bad_se_negative.json",
        Param,
        5,
        Some("q2"),
        "standard error of b must be a finite non-negative number",
    ),
    bad(
        "bad_format.json",
        Format,
        2,
        None,
        "format is \"fangsheng-params/2\", but this version reads \"fangsheng-params/1\"",
    ),
    bad("bad_no_format.json", Format, 1, None, "no \"format\" key"),
    bad(
        "bad_syntax.json",
        Format,
        5,
        None,
        "invalid JSON: a comma before ']' (JSON has no trailing commas)",
    ),
    bad(
        "bad_ragged.csv",
        Format,
        3,
        None,
        "the row has 4 fields, but the header has 6",
    ),
    bad("bad_no_id_column.csv", Format, 1, None, "no 'id' column"),
];

#[test]
fn every_bad_fixture_fails_naming_file_line_item_and_problem() {
    for case in BAD {
        let path = fixture(&format!("params/{}", case.file));
        let e = match ParamSet::load(&path) {
            Ok(_) => panic!("{} loaded without error", case.file),
            Err(e) => e,
        };
        let name = case.file;
        assert_eq!(e.kind(), case.kind, "{name}: {e}");
        assert_eq!(e.line(), Some(case.line), "{name}: {e}");
        assert_eq!(e.item(), case.item, "{name}: {e}");
        assert_eq!(e.path(), Some(path.as_path()), "{name}: {e}");
        assert!(e.message().contains(case.message), "{name}: {e}");
        let prefix = match case.item {
            Some(id) => format!("{}:{}: item '{id}': ", path.display(), case.line),
            None => format!("{}:{}: ", path.display(), case.line),
        };
        assert!(e.to_string().starts_with(&prefix), "{name}: {e}");
    }
}

#[test]
fn every_bad_fixture_is_covered() {
    let dir = fixture("params");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("bad_") {
            assert!(
                BAD.iter().any(|b| b.file == name),
                "{name} has no expectation in BAD"
            );
        }
    }
}

#[test]
fn crlf_and_empty_lines_keep_the_line_numbers_right() {
    // The csv crate miscounts both (BurntSushi/rust-csv#208); the bad item
    // is on line 5 of each file.
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "crlf.csv",
            "id,model,a,b,g,u\r\nq1,2pl,1.2,-0.3,,\r\nq3,2pl,1,0,,\r\nq4,2pl,1,1,,\r\nq2,2pl,-1,0.4,,\r\n",
        ),
        (
            "empty_lines.csv",
            "id,model,a,b,g,u\nq1,2pl,1.2,-0.3,,\n\n\nq2,2pl,-1,0.4,,\n",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let e = ParamSet::load(&path).expect_err(name);
        assert_eq!(e.line(), Some(5), "{name}: {e}");
        assert_eq!(e.item(), Some("q2"), "{name}: {e}");
        assert!(e.message().contains("discrimination a"), "{name}: {e}");
    }
}
