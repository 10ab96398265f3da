//! Reading response files: the small fixtures under
//! `tests/fixtures/responses/`, every kind of bad input, the shipped classic
//! sets and MMLU-Pro runs, and (with `--ignored`) ChemBench from the shared
//! folder.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use common::{fixture, shared_data};
use fangsheng::data::{
    Layout, ReadOptions, ResponseMatrix, read_responses, read_responses_from, recode_from_min,
};
use fangsheng::{Error, ErrorKind};

fn responses(rel: &str) -> std::path::PathBuf {
    fixture(&format!("responses/{rel}"))
}

fn read(rel: &str, opts: &ReadOptions) -> ResponseMatrix {
    let path = responses(rel);
    read_responses(&path, opts).unwrap_or_else(|e| panic!("{e}"))
}

fn read_err(rel: &str, opts: &ReadOptions) -> Error {
    match read_responses(&responses(rel), opts) {
        Ok(m) => panic!("{rel} read without error: {m:?}"),
        Err(e) => e,
    }
}

/// The score of `examinee` on `item`, or None when not administered.
fn score(m: &ResponseMatrix, examinee: &str, item: &str) -> Option<u8> {
    let e = m.examinees().iter().position(|x| x.as_str() == examinee)?;
    let j = m.items().iter().position(|x| x.as_str() == item)? as u32;
    let (items, scores) = m.examinee_responses(e);
    items.iter().position(|&i| i == j).map(|k| scores[k])
}

fn names<T: AsRef<str>>(ids: &[T]) -> Vec<&str> {
    ids.iter().map(AsRef::as_ref).collect()
}

/// Weighted number of examinees scoring 1 or more on each item.
fn weighted_correct(m: &ResponseMatrix) -> Vec<f64> {
    (0..m.n_items())
        .map(|j| {
            let (es, scores) = m.item_responses(j);
            es.iter()
                .zip(scores)
                .map(|(&e, &s)| m.weights()[e as usize] * f64::from(s))
                .sum()
        })
        .collect()
}

fn long() -> ReadOptions {
    ReadOptions {
        layout: Layout::Long,
        ..Default::default()
    }
}

// ---------------------------------------------------------------- long

#[test]
fn long_with_default_names() {
    let m = read("long_default.csv", &ReadOptions::default());
    assert_eq!(names(m.examinees()), ["m1", "m2", "m3"]);
    assert_eq!(names(m.items()), ["q1", "q2", "q3"]);
    // m2,q1,NA is "not administered": the examinee and item stay, the cell does not.
    assert_eq!(m.n_responses(), 5);
    assert_eq!(score(&m, "m2", "q1"), None);
    assert_eq!(score(&m, "m1", "q3"), Some(1));
    assert_eq!(score(&m, "m3", "q3"), Some(2));
    assert_eq!(m.weights(), &[1.0, 1.0, 1.0]);
    // Saying "long" explicitly gives the same matrix.
    assert_eq!(read("long_default.csv", &long()), m);
}

#[test]
fn long_with_overridden_names() {
    // The file has a `Correct` column (all 0) beside the real score column `grade`.
    let all = ReadOptions {
        examinee_col: Some("who".into()),
        item_col: Some("question".into()),
        score_col: Some("GRADE".into()),
        ..Default::default()
    };
    let m = read("long_custom.csv", &all);
    assert_eq!(names(m.examinees()), ["alpha", "beta"]);
    assert_eq!(names(m.items()), ["x1", "x2"]);
    assert_eq!(score(&m, "alpha", "x1"), Some(1));
    assert_eq!(score(&m, "beta", "x1"), Some(1));
    // Overriding only some names: the score column is found by its usual name.
    let some = ReadOptions {
        score_col: None,
        ..all
    };
    let m = read("long_custom.csv", &some);
    assert_eq!(score(&m, "alpha", "x1"), Some(0));
}

#[test]
fn long_with_extra_columns_and_other_spellings() {
    let m = read("long_extra.csv", &ReadOptions::default());
    assert_eq!(names(m.examinees()), ["llama", "qwen"]);
    assert_eq!(names(m.items()), ["101", "102", "103"]);
    assert_eq!(m.n_responses(), 5);
    assert_eq!(score(&m, "qwen", "101"), Some(1)); // TRUE
    assert_eq!(score(&m, "qwen", "103"), Some(0)); // 0.0
    assert_eq!(score(&m, "llama", "102"), Some(0)); // empty `pred` is not the score
}

#[test]
fn long_gzipped_reads_like_plain() {
    use flate2::{Compression, write::GzEncoder};
    let plain = responses("long_default.csv");
    let dir = tempfile::tempdir().unwrap();
    // A name without .gz: compression is recognised from the content.
    let gz = dir.path().join("long_default.csv");
    let mut enc = GzEncoder::new(std::fs::File::create(&gz).unwrap(), Compression::default());
    enc.write_all(&std::fs::read(&plain).unwrap()).unwrap();
    enc.finish().unwrap();
    let opts = ReadOptions::default();
    assert_eq!(
        read_responses(&gz, &opts).unwrap(),
        read_responses(&plain, &opts).unwrap()
    );
}

#[test]
fn extra_missing_tokens_are_honoured() {
    let csv = "model,item,score\na,q1,1\na,q2,-9\nb,q1,0\n";
    let src = Path::new("inline.csv");
    let e = read_responses_from(csv.as_bytes(), src, &ReadOptions::default()).unwrap_err();
    assert_eq!((e.kind(), e.line()), (ErrorKind::Value, Some(3)));
    let opts = ReadOptions {
        missing: vec!["-9".into()],
        ..Default::default()
    };
    let m = read_responses_from(csv.as_bytes(), src, &opts).unwrap();
    assert_eq!((m.n_items(), m.n_responses()), (2, 2));
}

// ---------------------------------------------------------------- wide

#[test]
fn wide_with_id_column_and_missing_cells() {
    let m = read("wide_id.csv", &ReadOptions::default());
    assert_eq!(names(m.examinees()), ["ann", "bob", "cat", "dan"]);
    assert_eq!(names(m.items()), ["q1", "q2", "q3"]);
    assert_eq!(score(&m, "ann", "q1"), Some(1));
    assert_eq!(score(&m, "ann", "q3"), None); // NA
    assert_eq!(score(&m, "bob", "q1"), None); // blank
    // cat answered nothing (NA, ".", blank) but is kept, with no responses.
    assert_eq!(m.examinee_responses(2).0.len(), 0);
    assert_eq!(m.n_responses(), 7);
    // Naming the id column explicitly (it has an empty name) is the same.
    let explicit = ReadOptions {
        layout: Layout::Wide,
        id_col: Some("".into()),
        ..Default::default()
    };
    assert_eq!(read("wide_id.csv", &explicit), m);
}

#[test]
fn wide_without_id_column_numbers_rows() {
    let m = read("wide_noid.csv", &ReadOptions::default());
    assert_eq!(names(m.examinees()), ["row1", "row2", "row3"]);
    assert_eq!(names(m.items()), ["q1", "q2", "q3"]);
    assert_eq!(score(&m, "row2", "q3"), None);
    assert_eq!(m.n_responses(), 8);
}

#[test]
fn wide_with_weight_column() {
    let m = read("wide_weight.csv", &ReadOptions::default());
    assert_eq!(m.n_items(), 3, "the count column is not an item");
    assert_eq!(m.weights(), &[5.0, 3.0, 2.0, 0.5]);
    assert_eq!(weighted_correct(&m), vec![5.5, 2.5, 0.5]);
    // The same column named explicitly, in another case.
    let named = ReadOptions {
        weight_col: Some("COUNT".into()),
        ..Default::default()
    };
    assert_eq!(read("wide_weight.csv", &named), m);
}

#[test]
fn wide_transposed() {
    let opts = ReadOptions {
        transpose: true,
        ..Default::default()
    };
    let m = read("transposed.csv", &opts);
    assert_eq!(names(m.examinees()), ["m1", "m2", "m3"]);
    assert_eq!(names(m.items()), ["item_a", "item_b", "item_c"]);
    assert_eq!(score(&m, "m1", "item_a"), Some(1));
    assert_eq!(score(&m, "m2", "item_a"), Some(0));
    assert_eq!(score(&m, "m3", "item_b"), None);
    assert_eq!(m.n_responses(), 8);
}

// ---------------------------------------------------------------- bad input

/// Checks kind, line, that the message names the file and each of `words`.
fn assert_error(e: &Error, kind: ErrorKind, line: Option<u64>, words: &[&str]) {
    let shown = e.to_string();
    assert_eq!(e.kind(), kind, "{shown}");
    assert_eq!(e.line(), line, "{shown}");
    assert!(e.path().is_some(), "no file in: {shown}");
    for w in words {
        assert!(shown.contains(w), "'{w}' missing from: {shown}");
    }
}

#[test]
fn malformed_row_names_its_line() {
    let e = read_err("bad/malformed.csv", &ReadOptions::default());
    assert_error(
        &e,
        ErrorKind::Format,
        Some(3),
        &["malformed.csv:3:", "4 fields", "3"],
    );
}

#[test]
fn non_numeric_score_names_line_item_and_value() {
    let e = read_err("bad/non_numeric.csv", &ReadOptions::default());
    assert_error(
        &e,
        ErrorKind::Value,
        Some(3),
        &["non_numeric.csv:3:", "'yes'", "not a number"],
    );
    assert_eq!(e.item(), Some("q2"));
}

#[test]
fn negative_score_is_rejected() {
    let e = read_err("bad/negative.csv", &ReadOptions::default());
    assert_error(
        &e,
        ErrorKind::Value,
        Some(3),
        &["'-1'", "negative", "'score'"],
    );
    assert_eq!(e.item(), Some("q2"));
}

#[test]
fn fractional_score_is_rejected() {
    let e = read_err("bad/fractional.csv", &ReadOptions::default());
    assert_error(
        &e,
        ErrorKind::Value,
        Some(3),
        &["'0.5'", "whole number", "row2"],
    );
    assert_eq!(e.item(), Some("q2"));
}

#[test]
fn score_above_255_is_rejected() {
    let e = read_err("bad/too_large.csv", &ReadOptions::default());
    assert_error(
        &e,
        ErrorKind::Value,
        Some(4),
        &["'256'", "255", "'correct'"],
    );
    assert_eq!(e.item(), Some("q2"));
}

#[test]
fn duplicate_long_row_names_both_lines() {
    let e = read_err("bad/duplicate.csv", &ReadOptions::default());
    assert_error(
        &e,
        ErrorKind::Value,
        Some(5),
        &["duplicate.csv:5:", "'m1'", "line 2"],
    );
    assert_eq!(e.item(), Some("q1"));
}

#[test]
fn missing_long_column_lists_the_columns_found() {
    let e = read_err("bad/missing_column.csv", &long());
    assert_error(
        &e,
        ErrorKind::Format,
        Some(1),
        &["no item column", "'model', 'question', 'score'"],
    );
    // Under auto-detection the same file is wide (`model` is the id column,
    // `question` an item), so it fails on the first item id read as a score.
    let e = read_err("bad/missing_column.csv", &ReadOptions::default());
    assert_error(&e, ErrorKind::Value, Some(2), &["item 'question'", "'q1'"]);
}

#[test]
fn unknown_long_column_override_is_a_config_error() {
    let opts = ReadOptions {
        score_col: Some("grade".into()),
        ..Default::default()
    };
    let e = read_err("long_default.csv", &opts);
    assert_error(
        &e,
        ErrorKind::Config,
        Some(1),
        &["'grade'", "'model', 'item', 'score'"],
    );
}

#[test]
fn unknown_id_or_weight_column_is_a_config_error() {
    let id = ReadOptions {
        id_col: Some("name".into()),
        ..Default::default()
    };
    let e = read_err("wide_noid.csv", &id);
    assert_error(
        &e,
        ErrorKind::Config,
        Some(1),
        &["id column 'name'", "'q1'"],
    );
    let weight = ReadOptions {
        weight_col: Some("freq".into()),
        ..Default::default()
    };
    let e = read_err("wide_noid.csv", &weight);
    assert_error(
        &e,
        ErrorKind::Config,
        Some(1),
        &["weight column 'freq'", "'q3'"],
    );
}

#[test]
fn contradicting_options_are_a_config_error() {
    let opts = ReadOptions {
        layout: Layout::Long,
        transpose: true,
        ..Default::default()
    };
    let e = read_err("long_default.csv", &opts);
    assert_error(&e, ErrorKind::Config, None, &["wide"]);
}

#[test]
fn empty_file_and_header_only_have_no_responses() {
    let e = read_err("bad/empty.csv", &ReadOptions::default());
    assert_error(&e, ErrorKind::Format, None, &["empty.csv", "no responses"]);
    let e = read_err("bad/header_only.csv", &ReadOptions::default());
    assert_error(
        &e,
        ErrorKind::Format,
        None,
        &["header_only.csv", "no responses"],
    );
    let e = read_err("bad/header_only.csv", &ReadOptions::default());
    assert_eq!(e.kind(), ErrorKind::Format);
}

#[test]
fn wide_problems_name_line_and_item() {
    let src = Path::new("inline.csv");
    let wide = ReadOptions::default();
    let cases: [(&str, ErrorKind, Option<u64>, &str); 4] = [
        (
            "a,b,a\n1,0,1\n",
            ErrorKind::Item,
            Some(1),
            "columns 1 and 3",
        ),
        (
            "id,a\nx,1\nx,0\n",
            ErrorKind::Value,
            Some(3),
            "first on line 2",
        ),
        ("a,freq\n1,-2\n", ErrorKind::Value, Some(2), "weight '-2'"),
        ("a,b\n1,0\n1\n", ErrorKind::Format, Some(3), "1 fields"),
    ];
    for (csv, kind, line, words) in cases {
        let e = read_responses_from(csv.as_bytes(), src, &wide).unwrap_err();
        assert_error(&e, kind, line, &[words, "inline.csv"]);
    }
    let transposed = ReadOptions {
        transpose: true,
        ..Default::default()
    };
    let e = read_responses_from(",m1\nq1,1\nq1,0\n".as_bytes(), src, &transposed).unwrap_err();
    assert_error(
        &e,
        ErrorKind::Item,
        Some(3),
        &["item 'q1'", "first on line 2"],
    );
    let e = read_responses_from(",m1\nq1,2.5\n".as_bytes(), src, &transposed).unwrap_err();
    assert_error(
        &e,
        ErrorKind::Value,
        Some(2),
        &["item 'q1'", "column 'm1'", "'2.5'"],
    );
}

// ---------------------------------------------------------------- real data

#[test]
fn lsat7_pattern_table_matches_its_expansion() {
    let opts = ReadOptions::default();
    let table = read_responses(&common::data("classic/LSAT7.csv"), &opts).unwrap();
    assert_eq!(
        names(table.items()),
        ["Item.1", "Item.2", "Item.3", "Item.4", "Item.5"]
    );
    assert_eq!(table.n_examinees(), 32);
    assert_eq!(table.weights().iter().sum::<f64>(), 1000.0);
    let expanded = read_responses(&common::data("classic/LSAT7_expanded.csv"), &opts).unwrap();
    assert_eq!(expanded.n_examinees(), 1000);
    assert_eq!(expanded.items(), table.items());
    // Numbers correct per item, 828, 658, 772, 606, 843: the LSAT section 7
    // data of Bock & Lieberman (1970) as shipped with R's mirt.
    let expected = vec![828.0, 658.0, 772.0, 606.0, 843.0];
    assert_eq!(weighted_correct(&table), expected);
    assert_eq!(weighted_correct(&expanded), expected);
}

#[test]
fn other_pattern_tables_find_their_weight_columns() {
    let opts = ReadOptions::default();
    // `Freq` (LSAT6, 30 patterns of 1000 people) and `Frequency` (deAyala,
    // 32 patterns of 19,601 people); totals are the sums of those columns.
    for (file, patterns, total) in [
        ("classic/LSAT6.csv", 30, 1000.0),
        ("classic/deAyala.csv", 32, 19601.0),
    ] {
        let m = read_responses(&common::data(file), &opts).unwrap();
        assert_eq!((m.n_examinees(), m.n_items()), (patterns, 5), "{file}");
        assert_eq!(m.weights().iter().sum::<f64>(), total, "{file}");
    }
}

#[test]
#[ignore = "reads ChemBench from ../shared (FANGSHENG_SHARED); .ci/run runs it with --ignored"]
fn chembench_transposed_matches_published_model_scores_shared() {
    let opts = ReadOptions {
        transpose: true,
        ..Default::default()
    };
    let m = read_responses(
        &shared_data("chembench/responses_wide_items_by_model.csv"),
        &opts,
    )
    .unwrap();
    assert_eq!((m.n_examinees(), m.n_items()), (22, 2854));
    assert_eq!(m.n_responses(), 22 * 2854);
    // model_scores.csv (irt-on-bench) holds each model's mean correct.
    let mut scores = csv::Reader::from_path(shared_data("chembench/model_scores.csv")).unwrap();
    let mut checked = 0;
    for row in scores.records() {
        let row = row.unwrap();
        let e = m
            .examinees()
            .iter()
            .position(|x| x.as_str() == &row[0])
            .unwrap_or_else(|| panic!("model {} not read", &row[0]));
        let expected: f64 = row[1].parse().unwrap();
        let (items, s) = m.examinee_responses(e);
        let mean = s.iter().map(|&v| f64::from(v)).sum::<f64>() / items.len() as f64;
        assert!(
            (mean - expected).abs() < 1e-9,
            "{}: {mean} vs {expected}",
            &row[0]
        );
        checked += 1;
    }
    assert_eq!(checked, 22);
}

#[test]
fn mmlu_pro_long_gzipped() {
    let path = common::mmlu_pro_runs();
    let start = Instant::now();
    let m = read_responses(&path, &ReadOptions::default()).unwrap();
    let elapsed = start.elapsed();
    println!(
        "read {} ({} rows) in {:.1} ms",
        path.display(),
        m.n_responses(),
        elapsed.as_secs_f64() * 1e3
    );
    assert_eq!((m.n_examinees(), m.n_items()), (22, 12_032));
    // One response per data row of the file (263,004 lines with the header).
    assert_eq!(m.n_responses(), 263_003);
    for e in 0..m.n_examinees() {
        let (items, s) = m.examinee_responses(e);
        // "A few models lack some items" (data/README.md): DeepSeek-Coder-V2 has 10,351.
        assert!(
            items.len() > 10_000,
            "{}: {} items",
            m.examinees()[e],
            items.len()
        );
        let accuracy = s.iter().map(|&v| f64::from(v)).sum::<f64>() / items.len() as f64;
        // data/README.md: accuracies range from 0.18 to 0.64.
        assert!(
            (0.18..=0.65).contains(&accuracy),
            "{}: {accuracy}",
            m.examinees()[e]
        );
    }
    assert!((0..m.n_items()).all(|j| m.max_score(j) <= 1));
}

#[test]
fn science_keeps_categories_until_recoded() {
    let m = read_responses(
        &common::data("classic/Science.csv"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(names(m.items()), ["Comfort", "Work", "Future", "Benefit"]);
    assert_eq!(m.n_examinees(), 392);
    // Every item uses all of categories 1..4 (e.g. Comfort: 5, 32, 266, 89 people).
    let counts = |m: &ResponseMatrix, j: usize| {
        let mut n = [0usize; 5];
        m.item_responses(j)
            .1
            .iter()
            .for_each(|&s| n[s as usize] += 1);
        n
    };
    assert_eq!(counts(&m, 0), [0, 5, 32, 266, 89]);
    for j in 0..4 {
        assert_eq!((counts(&m, j)[0], m.max_score(j)), (0, 4), "item {j}");
    }
    let (r, offsets) = recode_from_min(&m);
    assert_eq!(offsets, vec![1, 1, 1, 1]);
    assert_eq!(counts(&r, 0), [5, 32, 266, 89, 0]);
    for (j, &offset) in offsets.iter().enumerate() {
        // Every cell moved down by exactly its item's offset.
        let (before, after) = (m.item_responses(j).1, r.item_responses(j).1);
        assert!(before.iter().zip(after).all(|(x, y)| x - y == offset));
        assert_eq!(r.max_score(j), 3);
    }
    assert_eq!(r.n_responses(), m.n_responses());
}

/// Writes `text` to a scratch file and reads it, expecting an error.
fn read_text_err(dir: &Path, name: &str, text: &str) -> Error {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    match read_responses(&path, &ReadOptions::default()) {
        Ok(m) => panic!("{name} read without error: {m:?}"),
        Err(e) => e,
    }
}

#[test]
fn errors_name_the_right_line_after_empty_lines_and_in_crlf_files() {
    // The csv crate's own line numbers are off in both cases
    // (BurntSushi/rust-csv#208): each case has its bad score on line 5.
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("blank.csv", "model,item,score\nm1,q1,1\n\n\nm1,q2,x\n"),
        (
            "crlf.csv",
            "model,item,score\r\nm1,q1,1\r\nm1,q3,0\r\nm2,q1,1\r\nm1,q2,x\r\n",
        ),
        (
            "crlf_blank.csv",
            "model,item,score\r\nm1,q1,1\r\n\r\n\r\nm1,q2,x\r\n",
        ),
        (
            "wide_crlf.csv",
            "model,q1,q2\r\nm1,1,0\r\nm2,0,1\r\n\r\nm3,1,x\r\n",
        ),
    ];
    for (name, text) in cases {
        let e = read_text_err(dir.path(), name, text);
        assert_error(
            &e,
            ErrorKind::Value,
            Some(5),
            &[&format!("{name}:5:"), "'x'"],
        );
        assert_eq!(e.item(), Some("q2"), "{name}");
    }
    // A malformed row (too many fields) after empty lines.
    let e = read_text_err(
        dir.path(),
        "malformed_crlf.csv",
        "model,item,score\r\nm1,q1,1\r\n\r\nm1,q2,1,extra\r\n",
    );
    assert_error(
        &e,
        ErrorKind::Format,
        Some(4),
        &["malformed_crlf.csv:4:", "4 fields"],
    );
}
