//! Which score link `exam` and `simulate` report through: the one named by
//! `--score-link`, else the error model stored beside the calibration.

use std::path::{Path, PathBuf};

use anyhow::Context;
use fangsheng::cat::{ErrorModel, LengthLink, Plan, ScoreLinkFile};

/// The `--score-link` value that reports the model's own score.
pub const NO_LINK: &str = "none";

/// The line an exam of `plan` is reported through, the file it came from,
/// and one line for the user saying what was chosen and why.
pub struct ChosenLink {
    pub line: Option<(LengthLink, PathBuf)>,
    pub note: String,
}

/// The score link for exams of `plan` on the calibration `params` (content
/// `params_bytes`; `None` for an embedded calibration): `--score-link FILE`
/// must fit the plan (an error otherwise); without the flag the
/// calibration's own error model ([`ErrorModel::beside`]) is used when it
/// fits, and the note says why when it does not.
pub fn choose(
    flag: Option<&Path>,
    params: Option<&Path>,
    params_bytes: &[u8],
    plan: &Plan,
) -> anyhow::Result<ChosenLink> {
    match flag {
        Some(p) if p == Path::new(NO_LINK) => Ok(ChosenLink {
            line: None,
            note: "score link: none (--score-link none); the interval counts this exam's measurement error only".into(),
        }),
        Some(path) => {
            let line = ScoreLinkFile::load(path)?
                .length_for(plan)
                .cloned()
                .map_err(|e| e.in_file(path))?;
            Ok(ChosenLink {
                note: format!("score link: {} ({})", path.display(), describe(&line)),
                line: Some((line, path.to_owned())),
            })
        }
        None => {
            let Some(params) = params else {
                return Ok(ChosenLink {
                    line: None,
                    note: String::new(),
                });
            };
            choose_beside(params, params_bytes, plan)
        }
    }
}

fn choose_beside(params: &Path, params_bytes: &[u8], plan: &Plan) -> anyhow::Result<ChosenLink> {
    match ErrorModel::beside(params, params_bytes)
        .with_context(|| format!("the error model of {}", params.display()))?
    {
        ErrorModel::Absent => Ok(ChosenLink {
            line: None,
            note: format!(
                "no error model beside {} (written by `fangsheng evaluate --error-model`): the interval counts this exam's measurement error only",
                params.display()
            ),
        }),
        ErrorModel::Stale { path } => Ok(ChosenLink {
            line: None,
            note: format!(
                "warning: {} belongs to another version of {} (its digest differs) and is not used: the interval counts this exam's measurement error only",
                path.display(),
                params.display()
            ),
        }),
        ErrorModel::Found { path, file } => match file.length_for(plan) {
            Ok(line) => Ok(ChosenLink {
                note: format!("error model: {} ({})", path.display(), describe(line)),
                line: Some((line.clone(), path)),
            }),
            Err(e) => Ok(ChosenLink {
                line: None,
                note: format!(
                    "error model {} not used: {e}; the interval counts this exam's measurement error only",
                    path.display()
                ),
            }),
        },
    }
}

fn describe(line: &LengthLink) -> String {
    format!(
        "the {}-item line, fitted on {} models left out of their calibration",
        line.items,
        if line.link.examinees > 0 {
            line.link.examinees
        } else {
            line.link.n
        }
    )
}
