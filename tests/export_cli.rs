//! End-to-end tests of `fangsheng export`: tables built from real outputs of
//! `exam` (a campaign of simulated models on the demo bank) and `simulate`,
//! written as CSV, JSON (and Parquet with the `polars` feature) and read
//! back equal; their schemas; and bad inputs named in the error.

mod common;

use common::{fangsheng, ok, path_str as s, stderr};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fangsheng::export::{Format, Source, Table, TableKind, Value, export, read_source, read_table};

const BANK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/item-banks/demo");
const PARAMS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration/demo/v1.json");
const RUNS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration/demo/runs.csv");

/// Outputs of the other commands, made once for all tests: a campaign of
/// three simulated models (results and journals), a replay of the demo
/// runs (exams CSV and JSON, step trace) and a calibration's abilities.
struct Outputs {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Outputs {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn results(&self) -> Vec<PathBuf> {
        ["low", "mid", "high"]
            .iter()
            .map(|m| self.path(&format!("results/{m}.json")))
            .collect()
    }

    fn journals(&self) -> Vec<PathBuf> {
        ["low", "mid", "high"]
            .iter()
            .map(|m| self.path(&format!("results/{m}.journal.jsonl")))
            .collect()
    }
}

fn outputs() -> &'static Outputs {
    static OUT: OnceLock<Outputs> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let campaign = root.join("campaign.toml");
        std::fs::write(
            &campaign,
            "[[model]]\nname = \"low\"\nbackend = \"simulated\"\ntheta = -1.0\n\n\
             [[model]]\nname = \"mid\"\nbackend = \"simulated\"\ntheta = 0.2\n\n\
             [[model]]\nname = \"high\"\nbackend = \"simulated\"\ntheta = 1.4\n",
        )
        .unwrap();
        let results = root.join("results");
        ok(fangsheng(&[
            "exam",
            "--bank",
            BANK,
            "--params",
            PARAMS,
            "--campaign",
            s(&campaign),
            "--out",
            s(&results),
            "--max-items",
            "12",
            "--seed",
            "3",
            "--quiet",
        ]));
        let replay = root.join("replay.csv");
        let trace = root.join("trace.csv");
        ok(fangsheng(&[
            "simulate",
            "--params",
            PARAMS,
            "--responses",
            RUNS,
            "--max-items",
            "10",
            "--out",
            s(&replay),
            "--trace",
            s(&trace),
            "--quiet",
        ]));
        ok(fangsheng(&[
            "simulate",
            "--params",
            PARAMS,
            "--thetas",
            "5",
            "--seed",
            "9",
            "--max-items",
            "8",
            "--json",
            "--out",
            s(&root.join("sim.json")),
            "--quiet",
        ]));
        ok(fangsheng(&[
            "calibrate",
            "--responses",
            RUNS,
            "--model",
            "rasch",
            "--out",
            s(&root.join("rasch.json")),
            "--abilities",
            s(&root.join("calibrate_abilities.csv")),
        ]));
        Outputs { _dir: dir, root }
    })
}

fn sources(paths: &[PathBuf]) -> Vec<Source> {
    paths.iter().map(|p| read_source(p).unwrap()).collect()
}

/// Every format this build writes.
fn formats() -> Vec<Format> {
    let mut f = vec![Format::Csv, Format::Json];
    if Format::Parquet.is_available() {
        f.push(Format::Parquet);
    }
    f
}

/// Exports `kind` through the CLI in every format and reads each file back:
/// all equal the table the library builds from the same files.
fn round_trip(kind: TableKind, from: &[PathBuf], bank: bool) -> Table {
    let scratch = tempfile::tempdir().unwrap();
    let expected = {
        let b = bank.then(|| fangsheng::bank::ItemBank::load(Path::new(BANK)).unwrap());
        export(kind, &sources(from), b.as_ref()).unwrap()
    };
    kind.check(&expected).unwrap();
    for format in formats() {
        let file = scratch.path().join(format!("{kind}.{format}"));
        let mut args = vec!["export", kind.name(), "--out", s(&file), "--from"];
        args.extend(from.iter().map(|p| s(p)));
        if bank {
            args.extend(["--bank", BANK]);
        }
        ok(fangsheng(&args));
        let back = read_table(&file, kind, format).unwrap();
        assert_eq!(back, expected, "{kind} as {format} did not read back equal");
    }
    expected
}

fn text(t: &Table, row: usize, col: &str) -> String {
    t.get(row, col)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn float(t: &Table, row: usize, col: &str) -> f64 {
    t.get(row, col).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

#[test]
fn abilities_of_exam_results_round_trip_and_carry_the_result() {
    let out = outputs();
    let t = round_trip(TableKind::Abilities, &out.results(), false);
    assert_eq!(t.n_rows(), 3);
    let models: Vec<String> = (0..3).map(|r| text(&t, r, "model")).collect();
    assert_eq!(models, ["low", "mid", "high"]);
    for r in 0..3 {
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out.results()[r]).unwrap()).unwrap();
        assert_eq!(float(&t, r, "theta"), result["theta"].as_f64().unwrap());
        assert_eq!(float(&t, r, "lo"), result["interval"][0].as_f64().unwrap());
        assert_eq!(float(&t, r, "hi"), result["interval"][1].as_f64().unwrap());
        assert_eq!(
            float(&t, r, "predicted_score"),
            result["predicted_score"]["bank"]["mean"].as_f64().unwrap()
        );
        assert_eq!(t.get(r, "seed"), Some(&Value::Int(3)));
        assert_eq!(text(&t, r, "bank"), result["bank"].as_str().unwrap());
        assert_eq!(text(&t, r, "source"), "exam");
        // The time the result records (pinned by SOURCE_DATE_EPOCH, which
        // common::fangsheng sets to 2026-01-01), not the file's mtime.
        assert_eq!(
            text(&t, r, "timestamp"),
            result["finished"].as_str().unwrap()
        );
        assert_eq!(text(&t, r, "timestamp"), "2026-01-01T00:00:00Z");
    }
    // The simulated abilities -1 < 0.2 < 1.4 come out in that order.
    assert!(float(&t, 0, "theta") < float(&t, 1, "theta"));
    assert!(float(&t, 1, "theta") < float(&t, 2, "theta"));
}

#[test]
fn scores_are_long_one_row_per_group() {
    let out = outputs();
    let t = round_trip(TableKind::Scores, &out.results(), false);
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out.results()[0]).unwrap()).unwrap();
    let n_cat = result["predicted_score"]["category"]
        .as_array()
        .unwrap()
        .len();
    let n_dim = result["predicted_score"]["dimension"]
        .as_array()
        .unwrap()
        .len();
    assert!(n_cat > 1, "the demo bank has categories");
    assert_eq!(t.n_rows(), 3 * (1 + n_cat + n_dim));
    assert_eq!(text(&t, 0, "scope"), "bank");
    assert_eq!(t.get(0, "group"), Some(&Value::Null));
    assert_eq!(text(&t, 1, "scope"), "category");
    for r in 0..t.n_rows() {
        let (p, lo, hi) = (
            float(&t, r, "predicted_score"),
            float(&t, r, "predicted_lo"),
            float(&t, r, "predicted_hi"),
        );
        assert!((0.0..=1.0).contains(&p) && lo <= p && p <= hi, "row {r}");
    }
}

#[test]
fn abilities_from_simulate_calibrate_and_journals() {
    let out = outputs();
    let from = [
        out.path("replay.csv"),
        out.path("sim.json"),
        out.path("calibrate_abilities.csv"),
        out.journals()[0].clone(),
    ];
    let t = round_trip(TableKind::Abilities, &from, false);
    let sources: Vec<String> = (0..t.n_rows()).map(|r| text(&t, r, "source")).collect();
    let replayed = sources.iter().filter(|s| *s == "simulate").count();
    assert_eq!(
        replayed,
        12 + 5,
        "12 replayed models, 5 simulated examinees"
    );
    assert_eq!(sources.iter().filter(|s| *s == "calibrate").count(), 12);
    assert_eq!(sources.last().unwrap(), "journal");
    for r in 0..t.n_rows() {
        let (theta, lo, hi) = (
            float(&t, r, "theta"),
            float(&t, r, "lo"),
            float(&t, r, "hi"),
        );
        assert!(lo < theta && theta < hi, "row {r}: {lo} {theta} {hi}");
    }
    // Simulated examinees carry their true ability; the JSON its seed.
    let sim: Vec<usize> = (0..t.n_rows())
        .filter(|&r| text(&t, r, "model").starts_with("sim"))
        .collect();
    assert_eq!(sim.len(), 5);
    assert!(
        sim.iter()
            .all(|&r| t.get(r, "true_theta").unwrap().as_f64().is_some())
    );
    assert!(
        sim.iter()
            .all(|&r| t.get(r, "seed") == Some(&Value::Int(9)))
    );
    // The journal's last step is the result's estimate.
    let j = t.n_rows() - 1;
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out.results()[0]).unwrap()).unwrap();
    assert_eq!(float(&t, j, "theta"), result["theta"].as_f64().unwrap());
    assert_eq!(
        t.get(j, "n_items"),
        Some(&Value::Int(result["items_used"].as_i64().unwrap()))
    );
    // A journal's time is its last step's.
    let last_step = std::fs::read_to_string(&out.journals()[0])
        .unwrap()
        .lines()
        .last()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .unwrap();
    assert_eq!(
        text(&t, j, "timestamp"),
        last_step["time"].as_str().unwrap()
    );
}

/// A simulate exams CSV records no seed or calibration; its sidecar
/// (`<file>.meta.json`) does, and the export takes them from it — but only
/// from a sidecar written for the file's current bytes.
#[test]
fn simulate_sidecars_give_the_seed_calibration_and_time() {
    use fangsheng::cat::Plan;
    use fangsheng::export::{SimulateMeta, meta_path};

    let out = outputs();
    let dir = tempfile::tempdir().unwrap();
    let exams = dir.path().join("replay.csv");
    std::fs::copy(out.path("replay.csv"), &exams).unwrap();
    let export_csv = |from: &Path| {
        let o = ok(fangsheng(&["export", "abilities", "--from", s(from)]));
        let table =
            fangsheng::export::read_csv(o.stdout.as_slice(), from, TableKind::Abilities).unwrap();
        (table, stderr(&o))
    };
    let (t, _) = export_csv(&exams);
    assert_eq!(t.get(0, "seed"), Some(&Value::Null), "no sidecar, no seed");
    assert_eq!(t.get(0, "calibration_version"), Some(&Value::Null));

    let params = fangsheng::bank::ParamSet::load(Path::new(PARAMS))
        .unwrap()
        .params;
    let meta = SimulateMeta::new(
        41,
        Path::new(PARAMS),
        &params,
        &Plan::default(),
        "2026-11-28T09:00:00Z".into(),
    )
    .unwrap();
    meta.write_beside(&exams).unwrap();
    let sidecar: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(meta_path(&exams)).unwrap()).unwrap();
    let (t, _) = export_csv(&exams);
    assert_eq!(t.n_rows(), 12);
    for r in 0..t.n_rows() {
        assert_eq!(t.get(r, "seed"), Some(&Value::Int(41)));
        assert_eq!(text(&t, r, "calibration_version"), "v1");
        assert_eq!(text(&t, r, "bank"), "demo");
        assert_eq!(
            text(&t, r, "calibration_digest"),
            sidecar["calibration_digest"].as_str().unwrap()
        );
        assert_eq!(
            text(&t, r, "timestamp"),
            sidecar["finished"].as_str().unwrap()
        );
    }

    // The exams file rewritten without a new sidecar: the old one is left
    // out, with a warning naming it.
    let text_now = std::fs::read_to_string(&exams).unwrap();
    std::fs::write(&exams, text_now.replacen('\n', "\n\n", 1)).unwrap();
    let (t, err) = export_csv(&exams);
    assert_eq!(t.get(0, "seed"), Some(&Value::Null));
    assert!(
        err.contains("replay.csv.meta.json") && err.contains("earlier run"),
        "{err}"
    );
}

#[test]
fn items_join_the_bank_and_count_exposure() {
    let out = outputs();
    let mut from = vec![PathBuf::from(PARAMS)];
    from.extend(out.journals());
    let t = round_trip(TableKind::Items, &from, true);
    assert_eq!(t.n_rows(), 126);
    let exposed: i64 = (0..126)
        .map(|r| t.get(r, "exposure_count").unwrap().as_i64().unwrap())
        .sum();
    assert_eq!(exposed, 3 * 12, "three exams of 12 items");
    assert!((0..126).all(|r| !text(&t, r, "category").is_empty()));
    assert!((0..126).any(|r| text(&t, r, "flags").contains("never_administered")));
    let rated: Vec<usize> = (0..126)
        .filter(|&r| t.get(r, "infit").unwrap().as_f64().is_some())
        .collect();
    assert!(!rated.is_empty());
    // Without exam files, exposure is unknown rather than zero.
    let bare = export(TableKind::Items, &sources(&[PathBuf::from(PARAMS)]), None).unwrap();
    assert_eq!(bare.get(0, "exposure_count"), Some(&Value::Null));
    assert_eq!(bare.get(0, "category"), Some(&Value::Null));
}

#[test]
fn steps_of_journals_and_traces() {
    let out = outputs();
    let mut from = out.journals();
    from.push(out.path("trace.csv"));
    let t = round_trip(TableKind::Steps, &from, false);
    let journal_rows = (0..t.n_rows())
        .filter(|&r| text(&t, r, "source") == "journal")
        .count();
    assert_eq!(journal_rows, 36);
    assert_eq!(t.get(0, "step"), Some(&Value::Int(1)));
    assert_eq!(text(&t, 0, "model"), "low");
    assert!(matches!(
        text(&t, 0, "outcome").as_str(),
        "correct" | "wrong"
    ));
    let trace = std::fs::read_to_string(out.path("trace.csv")).unwrap();
    assert_eq!(t.n_rows() - journal_rows, trace.lines().count() - 1);
}

#[test]
fn csv_header_is_the_documented_schema() {
    let out = outputs();
    let o = ok(fangsheng(&[
        "export",
        "steps",
        "--from",
        s(&out.journals()[1]),
    ]));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let header = stdout.lines().next().unwrap();
    let expected: Vec<&str> = fangsheng::export::STEPS.iter().map(|c| c.0).collect();
    assert_eq!(header, expected.join(","));
    let o = ok(fangsheng(&[
        "export",
        "abilities",
        "--format",
        "json",
        "--from",
        s(&out.results()[2]),
    ]));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), fangsheng::export::ABILITIES.len());
    assert_eq!(rows[0]["model"], "high");
}

#[test]
fn unknown_and_unsuitable_files_are_named() {
    let out = outputs();
    let weird = out.path("weird.csv");
    std::fs::write(&weird, "foo,bar\n1,2\n").unwrap();
    let o = fangsheng(&["export", "abilities", "--from", s(&weird)]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains(s(&weird)) && e.contains("not a file fangsheng export reads"),
        "{e}"
    );

    let o = fangsheng(&["export", "abilities", "--from", PARAMS]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains(PARAMS) && e.contains("holds no abilities"),
        "{e}"
    );

    let o = fangsheng(&["export", "items", "--from", s(&out.results()[0])]);
    assert!(
        stderr(&o).contains("needs a parameter file"),
        "{}",
        stderr(&o)
    );

    let o = fangsheng(&["export", "steps", "--from", s(&out.results()[0])]);
    assert!(stderr(&o).contains("holds no steps"), "{}", stderr(&o));

    let missing = out.path("nope.json");
    let o = fangsheng(&["export", "abilities", "--from", s(&missing)]);
    assert!(!o.status.success() && stderr(&o).contains(s(&missing)));

    let o = fangsheng(&["export", "abilities", "--from", PARAMS, "--format", "xml"]);
    assert!(
        stderr(&o).contains("unknown format 'xml'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn parquet_needs_the_feature_or_round_trips() {
    let out = outputs();
    let file = out.path("check.parquet");
    let o = fangsheng(&[
        "export",
        "abilities",
        "--from",
        s(&out.results()[0]),
        "--out",
        s(&file),
    ]);
    if cfg!(feature = "polars") {
        ok(o);
        let t = read_table(&file, TableKind::Abilities, Format::Parquet).unwrap();
        assert_eq!(t.n_rows(), 1);
    } else {
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("rebuild with --features polars"),
            "{}",
            stderr(&o)
        );
        assert!(!file.exists(), "no partial file");
    }
}

/// `--from` takes files separated by spaces or by commas, as `report
/// --from` does: both give the same table.
#[test]
fn from_takes_a_list_with_spaces_or_commas() {
    let out = outputs();
    let files = out.results();
    let spaced = ok(fangsheng(&[
        "export",
        "abilities",
        "--from",
        s(&files[0]),
        s(&files[1]),
    ]));
    let joined = format!("{},{}", s(&files[0]), s(&files[1]));
    let commas = ok(fangsheng(&["export", "abilities", "--from", &joined]));
    assert_eq!(spaced.stdout, commas.stdout);
    assert_eq!(
        common::stdout(&spaced).lines().count(),
        3,
        "a header and two rows"
    );
}
