//! Flags shared by every command that reads a response file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use fangsheng::data::{Layout, ReadOptions, ResponseMatrix, read_responses};

/// How to read a response file.
#[derive(Debug, Args)]
pub struct ResponseArgs {
    /// Response file: long CSV (one row per examinee x item) or wide CSV
    /// (rows = examinees, columns = items); gzip is detected automatically.
    #[arg(long, short = 'r', value_name = "FILE")]
    pub responses: Option<PathBuf>,

    /// Layout of the response file.
    #[arg(long, default_value = "auto", value_parser = ["auto", "long", "wide"])]
    pub layout: String,

    /// Long layout: name of the examinee column (default: model, examinee, ...).
    #[arg(long, value_name = "NAME")]
    pub examinee_col: Option<String>,

    /// Long layout: name of the item column (default: item, item_id, ...).
    #[arg(long, value_name = "NAME")]
    pub item_col: Option<String>,

    /// Long layout: name of the score column (default: score, correct, ...).
    #[arg(long, value_name = "NAME")]
    pub score_col: Option<String>,

    /// Wide layout: name of the examinee id column.
    #[arg(long, value_name = "NAME")]
    pub id_col: Option<String>,

    /// Wide layout: name of a frequency-weight column (pattern tables).
    #[arg(long, value_name = "NAME")]
    pub weight_col: Option<String>,

    /// Wide layout: rows are items and columns are examinees.
    #[arg(long)]
    pub transpose: bool,

    /// Extra cell values meaning "not administered" (blank and NA always do).
    #[arg(long, value_name = "TOKEN")]
    pub missing: Vec<String>,
}

impl ResponseArgs {
    /// The library's read options for these flags.
    pub fn read_options(&self) -> anyhow::Result<ReadOptions> {
        let layout: Layout = self.layout.parse()?;
        Ok(ReadOptions {
            layout,
            examinee_col: self.examinee_col.clone(),
            item_col: self.item_col.clone(),
            score_col: self.score_col.clone(),
            id_col: self.id_col.clone(),
            weight_col: self.weight_col.clone(),
            transpose: self.transpose,
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
