//! The steps table: one row per exam step, from journals and `simulate`
//! traces.

use super::abilities::no_data;
use super::schema::TableKind;
use super::sources::{Content, Source};
use super::table::{Table, Value};
use crate::error::Result;

/// Builds the steps table.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) naming a source without
/// steps (a result, simulate exams, parameters, abilities).
pub fn steps(sources: &[Source]) -> Result<Table> {
    let mut table = TableKind::Steps.empty_table();
    for src in sources {
        let source: Value = src.kind().name().into();
        let file: Value = src.path.display().to_string().into();
        match &src.content {
            Content::Journal(j) => {
                let model = src.model_name();
                for s in &j.steps {
                    let outcome = s
                        .outcome
                        .as_ref()
                        .and_then(|o| serde_json::to_value(o).ok())
                        .and_then(|v| v.as_str().map(str::to_owned));
                    table.push_row(vec![
                        model.as_str().into(),
                        source.clone(),
                        s.step.into(),
                        s.item_id.as_str().into(),
                        s.score.map_or(Value::Null, |x| Value::Int(i64::from(x))),
                        outcome.into(),
                        s.skipped.clone().into(),
                        s.theta.into(),
                        s.se.into(),
                        s.latency.into(),
                        s.elapsed.into(),
                        s.usage.as_ref().map(|u| u.prompt).into(),
                        s.usage.as_ref().map(|u| u.completion).into(),
                        Value::Int(i64::from(s.attempts)),
                        file.clone(),
                    ])?;
                }
            }
            Content::SimulateTrace(steps) => {
                for s in steps {
                    table.push_row(vec![
                        s.model.as_str().into(),
                        source.clone(),
                        Value::Int(s.step),
                        s.item.as_str().into(),
                        Value::Int(s.score),
                        Value::Null,
                        Value::Null,
                        s.theta.into(),
                        s.se.into(),
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        file.clone(),
                    ])?;
                }
            }
            _ => return Err(no_data(src, "steps", "abilities or items")),
        }
    }
    Ok(table)
}
