//! Flags shared by every command that reads a response file.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use fangsheng::data::{Layout, ReadOptions, ResponseMatrix, read_responses};

/// How to read a response file.
#[derive(Debug, Args)]
pub struct ResponseArgs {
    /// Response file: long CSV (one row per model x item) or wide CSV (rows
    /// = models, columns = items); gzip is detected automatically.
    /// [default: none; required except by score --demo and diagnose
    /// saturation --abilities]
    #[arg(long, short = 'r', value_name = "FILE")]
    pub responses: Option<PathBuf>,

    /// Layout of the response file: auto (long when the header names a
    /// model, an item and a score column, else wide), long, wide, or
    /// transposed (wide with items as rows and models as columns).
    #[arg(long, value_enum, default_value_t = LayoutFlag::Auto)]
    pub layout: LayoutFlag,

    /// Long layout: the names of the model, item and score columns; leave
    /// any of the three empty to detect it (e.g. `,question_id,`).
    /// [default: detected: model, examinee, examinee_id, person or subject;
    /// item, item_id or question_id; score, correct, x or response]
    #[arg(long, value_name = "MODEL,ITEM,SCORE", value_parser = parse_columns)]
    pub columns: Option<Columns>,

    /// Wide layout: name of the model id column (transposed: of the item id
    /// column). [default: a column with an empty name, or named id,
    /// examinee, model or person; transposed: the first column]
    #[arg(long, value_name = "NAME")]
    pub id_col: Option<String>,

    /// Wide layout: name of a frequency-weight column (pattern tables).
    /// [default: a column named freq, frequency, weight or count; else every
    /// row has weight 1]
    #[arg(long, value_name = "NAME")]
    pub weight_col: Option<String>,

    /// Extra cell values meaning "not administered" (repeat the flag for
    /// several). [default: none; blank, NA, NaN, nan and . always do]
    #[arg(long, value_name = "TOKEN")]
    pub missing: Vec<String>,
}

/// The values of `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutFlag {
    /// Long when the header names a model, an item and a score column, else wide.
    Auto,
    /// One row per model x item response.
    Long,
    /// One row per model, one column per item.
    Wide,
    /// One row per item, one column per model.
    Transposed,
}

/// The column names of `--columns`; `None` is detected from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub model: Option<String>,
    pub item: Option<String>,
    pub score: Option<String>,
}

/// Parses `MODEL,ITEM,SCORE`, each part possibly empty.
fn parse_columns(text: &str) -> Result<Columns, String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [model, item, score] = parts.as_slice() else {
        return Err(format!(
            "takes three names, MODEL,ITEM,SCORE (leave one empty to detect it, as in \
             ',question_id,'), got {} part{} in '{text}'",
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        ));
    };
    let name = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Ok(Columns {
        model: name(model),
        item: name(item),
        score: name(score),
    })
}

impl ResponseArgs {
    /// The library's read options for these flags.
    pub fn read_options(&self) -> anyhow::Result<ReadOptions> {
        let (layout, transpose) = match self.layout {
            LayoutFlag::Auto => (Layout::Auto, false),
            LayoutFlag::Long => (Layout::Long, false),
            LayoutFlag::Wide => (Layout::Wide, false),
            LayoutFlag::Transposed => (Layout::Wide, true),
        };
        let columns = self.columns.clone().unwrap_or(Columns {
            model: None,
            item: None,
            score: None,
        });
        Ok(ReadOptions {
            layout,
            examinee_col: columns.model,
            item_col: columns.item,
            score_col: columns.score,
            id_col: self.id_col.clone(),
            weight_col: self.weight_col.clone(),
            transpose,
            missing: self.missing.clone(),
        })
    }

    /// Reads the response file named by `--responses`.
    pub fn read(&self) -> anyhow::Result<ResponseMatrix> {
        let path = self
            .responses
            .as_ref()
            .context("--responses FILE is required")?;
        Ok(read_responses(path, &self.read_options()?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        input: ResponseArgs,
    }

    fn options(argv: &[&str]) -> Result<ReadOptions, String> {
        let mut all = vec!["x"];
        all.extend_from_slice(argv);
        let cli = Cli::try_parse_from(all).map_err(|e| e.to_string())?;
        cli.input.read_options().map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn columns_name_any_of_the_three_and_leave_the_rest_detected() {
        let o = options(&["--columns", ",question_id,"]).unwrap();
        assert_eq!(
            (o.examinee_col, o.item_col.as_deref(), o.score_col),
            (None, Some("question_id"), None)
        );
        let o = options(&["--columns", "who, what ,how"]).unwrap();
        assert_eq!(o.examinee_col.as_deref(), Some("who"));
        assert_eq!(o.item_col.as_deref(), Some("what"));
        assert_eq!(o.score_col.as_deref(), Some("how"));
        let o = options(&[]).unwrap();
        assert_eq!(
            (o.examinee_col, o.item_col, o.score_col),
            (None, None, None)
        );
        for bad in ["model", "model,item", "a,b,c,d"] {
            let e = options(&["--columns", bad]).unwrap_err();
            assert!(
                e.contains("takes three names, MODEL,ITEM,SCORE"),
                "{bad}: {e}"
            );
            assert!(e.contains(&format!("'{bad}'")), "{bad}: {e}");
        }
    }

    #[test]
    fn transposed_is_the_wide_layout_read_sideways() {
        let o = options(&["--layout", "transposed"]).unwrap();
        assert_eq!((o.layout, o.transpose), (Layout::Wide, true));
        let o = options(&["--layout", "wide"]).unwrap();
        assert_eq!((o.layout, o.transpose), (Layout::Wide, false));
        assert_eq!(options(&[]).unwrap().layout, Layout::Auto);
        assert!(options(&["--layout", "sideways"]).is_err());
        assert!(options(&["--transpose"]).is_err(), "the old flag is gone");
    }
}
