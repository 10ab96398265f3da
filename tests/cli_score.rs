//! End-to-end runs of `fangsheng score`: reference values from the command
//! line, output formats, and every kind of bad input.

mod common;

use common::{fangsheng, stderr};

use std::path::{Path, PathBuf};

fn fixture(name: &str) -> String {
    common::fixture(&format!("score/{name}"))
        .display()
        .to_string()
}

/// Parses `model,theta,se,n_items` rows.
fn rows(csv_text: &str) -> Vec<(String, f64, f64, usize)> {
    let mut lines = csv_text.lines();
    assert_eq!(lines.next(), Some("model,theta,se,n_items"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// Writes catR's TCALS bank in our CSV form and its fixed pattern as a long
/// response file, returning (params, responses).
fn tcals_files(dir: &Path) -> (PathBuf, PathBuf) {
    let mut bank = String::from("id,model,a,b,g,u\n");
    let mut r = csv::Reader::from_path(common::data("classic/tcals_bank.csv")).unwrap();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        bank += &format!(
            "{},4pl,{},{},{},{}\n",
            i + 1,
            &rec[0],
            &rec[1],
            &rec[2],
            &rec[3]
        );
    }
    let mut pattern = String::from("examinee,item,score\n");
    let mut r =
        csv::Reader::from_path(common::data("classic/tcals_pattern_seed1_theta0.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        pattern += &format!("catR,{},{}\n", &rec[0], &rec[1]);
    }
    let (p, x) = (dir.join("tcals.csv"), dir.join("pattern.csv"));
    std::fs::write(&p, bank).unwrap();
    std::fs::write(&x, pattern).unwrap();
    (p, x)
}

#[test]
fn reproduces_catr_on_tcals_from_the_command_line() {
    // catR 3.17, ../shared/reference/README.md; tolerance 1e-4 on theta and SE.
    let dir = tempfile::tempdir().unwrap();
    let (params, responses) = tcals_files(dir.path());
    let (p, r) = (params.to_str().unwrap(), responses.to_str().unwrap());
    let cases: [(&[&str], f64, f64); 4] = [
        (
            &["--method", "ml", "--bounds", "-4,4"],
            0.20334008,
            0.18702390,
        ),
        (&["--method", "map"], 0.19620470, 0.18325614),
        (
            &[
                "--method",
                "eap",
                "--quad-points",
                "33",
                "--quad-range",
                "-4,4",
            ],
            0.21057446,
            0.19063565,
        ),
        (
            &["--method", "wle", "--bounds", "-4,4"],
            0.18390228,
            0.18538094,
        ),
    ];
    for (flags, theta, se) in cases {
        let mut args = vec!["score", "--params", p, "--responses", r];
        args.extend_from_slice(flags);
        let out = fangsheng(&args);
        assert!(out.status.success(), "{flags:?}: {}", stderr(&out));
        let got = rows(&String::from_utf8(out.stdout).unwrap());
        assert_eq!(got.len(), 1);
        let (ref id, t, s, n) = got[0];
        assert_eq!((id.as_str(), n), ("catR", 85));
        assert!((t - theta).abs() < 1e-4, "{flags:?}: theta {t} vs {theta}");
        assert!((s - se).abs() < 1e-4, "{flags:?}: se {s} vs {se}");
    }
}

#[test]
fn long_and_wide_files_give_the_same_abilities() {
    let bank = fixture("bank.csv");
    let long = fangsheng(&["score", "-p", &bank, "-r", &fixture("long.csv")]);
    let wide = fangsheng(&[
        "score",
        "-p",
        &bank,
        "-r",
        &fixture("wide.csv"),
        "--id-col",
        "examinee",
    ]);
    assert!(long.status.success(), "{}", stderr(&long));
    assert!(wide.status.success(), "{}", stderr(&wide));
    assert_eq!(long.stdout, wide.stdout);
    let got = rows(&String::from_utf8(long.stdout).unwrap());
    let names: Vec<&str> = got.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    assert_eq!(got.iter().map(|r| r.3).collect::<Vec<_>>(), [4, 5, 2]);
    // The all-correct examinee scores highest, and EAP keeps every SE finite.
    assert!(got[1].1 > got[0].1 && got[1].1 > got[2].1);
    assert!(got.iter().all(|r| r.2.is_finite() && r.2 > 0.0));
}

#[test]
fn columns_and_the_transposed_layout_read_the_same_responses() {
    let dir = tempfile::tempdir().unwrap();
    let bank = fixture("bank.csv");
    let long = fangsheng(&["score", "-p", &bank, "-r", &fixture("long.csv")]);
    assert!(long.status.success(), "{}", stderr(&long));
    // Long, with column names nothing detects: name them all, or only the
    // ones detection misses (`item` is found by itself).
    let renamed = dir.path().join("renamed.csv");
    let text = std::fs::read_to_string(fixture("long.csv")).unwrap();
    let text = text.replacen("model,item,correct", "who,item,points", 1);
    std::fs::write(&renamed, text).unwrap();
    let renamed = renamed.to_str().unwrap();
    for columns in ["who,item,points", "who,,points"] {
        let o = fangsheng(&["score", "-p", &bank, "-r", renamed, "--columns", columns]);
        assert!(o.status.success(), "{columns}: {}", stderr(&o));
        assert_eq!(o.stdout, long.stdout, "{columns}");
    }
    let o = fangsheng(&[
        "score",
        "-p",
        &bank,
        "-r",
        renamed,
        "--columns",
        "who,points",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("takes three names, MODEL,ITEM,SCORE")
            && stderr(&o).contains("got 2 parts"),
        "{}",
        stderr(&o)
    );
    // The wide file with items as rows and models as columns.
    let transposed = dir.path().join("transposed.csv");
    std::fs::write(
        &transposed,
        "item,alpha,beta,gamma\nq1,1,1,0\nq2,1,1,\nq3,0,1,\nq4,0,1,\nq5,NA,1,1\n",
    )
    .unwrap();
    let o = fangsheng(&[
        "score",
        "-p",
        &bank,
        "-r",
        transposed.to_str().unwrap(),
        "--layout",
        "transposed",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, long.stdout);
}

#[test]
fn json_output_and_out_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("nested/abilities.json");
    let out = fangsheng(&[
        "score",
        "-p",
        &fixture("bank.csv"),
        "-r",
        &fixture("long.csv"),
        "--json",
        "--method",
        "map",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(arr[0]["model"], "alpha");
    assert!(arr[0]["theta"].as_f64().unwrap().is_finite());
    assert_eq!(arr[1]["n_items"], 5);
}

#[test]
fn ml_on_an_all_correct_pattern_sits_at_the_bound() {
    let out = fangsheng(&[
        "score",
        "-p",
        &fixture("bank.csv"),
        "-r",
        &fixture("long.csv"),
        "--method",
        "ml",
        "--bounds",
        "-5,5",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = rows(&String::from_utf8(out.stdout.clone()).unwrap());
    assert_eq!(got[1].1, 5.0);
    // The CSV has no status column, so the run says which rows are bounds.
    let err = stderr(&out);
    assert!(
        err.contains("note: 1 of 3 estimates sit at a bound of --bounds -5,5")
            && err.contains("): beta; eap, map or wle give finite ones"),
        "{err}"
    );
}

/// A number that is not finite (ML's infinite SE for a model with no usable
/// response) is an empty CSV cell and a JSON null, never `inf` or `NaN`.
#[test]
fn a_missing_number_is_an_empty_cell_and_a_json_null() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs.csv");
    let text = std::fs::read_to_string(fixture("long.csv")).unwrap();
    std::fs::write(&runs, text + "zeta,q1,NA,\n").unwrap();
    let args = |json: bool| {
        let mut a = vec![
            "score".to_owned(),
            "-p".into(),
            fixture("bank.csv"),
            "-r".into(),
            runs.display().to_string(),
            "--method".into(),
            "ml".into(),
        ];
        if json {
            a.push("--json".into());
        }
        a
    };
    let run = |json: bool| {
        let a = args(json);
        let o = fangsheng(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let csv = run(false);
    let zeta = csv.lines().find(|l| l.starts_with("zeta,")).unwrap();
    let cells: Vec<&str> = zeta.split(',').collect();
    assert_eq!(cells.len(), 4, "{zeta}");
    assert_eq!((cells[2], cells[3]), ("", "0"), "{zeta}");
    let lower = csv.to_ascii_lowercase();
    assert!(!lower.contains("nan") && !lower.contains("inf"), "{csv}");
    let json = run(true);
    assert!(!json.contains("NaN") && !json.contains("inf"), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "zeta")
        .unwrap();
    assert!(row["se"].is_null(), "{row}");
}

#[test]
fn demo_runs_without_files() {
    let out = fangsheng(&["score", "--demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = rows(&String::from_utf8(out.stdout).unwrap());
    assert!(got.len() >= 10);
    assert!(got.iter().all(|r| r.1.is_finite() && r.2 > 0.0 && r.3 > 0));
}

/// Runs a failing command and checks exit status 2, the message, and that
/// no output file appeared.
fn assert_fails(args: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.csv");
    let mut all = args.to_vec();
    all.extend_from_slice(&["--out", out_path.to_str().unwrap()]);
    let out = fangsheng(&all);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for n in needles {
        assert!(err.contains(n), "stderr lacks '{n}': {err}");
    }
    assert!(!out_path.exists(), "a partial output file was left");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary files left"
    );
}

#[test]
fn bad_input_names_the_file_line_or_item() {
    let bank = fixture("bank.csv");
    assert_fails(
        &["score", "-p", &bank, "-r", &fixture("malformed.csv")],
        &["malformed.csv:3"],
    );
    assert_fails(
        &["score", "-p", &bank, "-r", &fixture("nonnumeric.csv")],
        &["nonnumeric.csv:3", "yes please"],
    );
    assert_fails(
        &["score", "-p", &bank, "-r", &fixture("unknown_item.csv")],
        &["unknown_item.csv", "q99"],
    );
    assert_fails(
        &[
            "score",
            "-p",
            &bank,
            "-r",
            &fixture("score_out_of_range.csv"),
        ],
        &["score_out_of_range.csv", "q2", "alpha"],
    );
    assert_fails(
        &[
            "score",
            "-p",
            &fixture("bad_g_ge_u.csv"),
            "-r",
            &fixture("long.csv"),
        ],
        &["bad_g_ge_u.csv:3", "q2"],
    );
    assert_fails(
        &[
            "score",
            "-p",
            &fixture("bad_a.csv"),
            "-r",
            &fixture("long.csv"),
        ],
        &["bad_a.csv:3", "q2"],
    );
    assert_fails(
        &[
            "score",
            "-p",
            &bank,
            "-r",
            &fixture("long.csv"),
            "--method",
            "magic",
        ],
        &["magic"],
    );
    assert_fails(
        &[
            "score",
            "-p",
            "no/such/file.json",
            "-r",
            &fixture("long.csv"),
        ],
        &["no/such/file.json"],
    );
}

#[test]
fn help_shows_examples() {
    let out = fangsheng(&["score", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Examples (") && text.contains("fangsheng score --demo"));
}
