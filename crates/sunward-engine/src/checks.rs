//! Running data checks (`checks:`) on the tables of a run.
//!
//! Each check is a query over the session that holds the run's tables: the
//! rows breaking the rule are counted against the table's rows, and the first
//! few are kept as examples — with every column that could identify a student
//! (`student_ref` and the like) left out, since examples are printed and
//! written into the manifest. A check passes when the failing rows stay within
//! its `max_failing`; otherwise it has failed (`severity: error`) or warned
//! (`severity: warn`). The run turns failed checks into one error of kind
//! [`ErrorKind::CheckFailed`] before writing any output.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use sunward_core::checks::{Check, Severity, quote_ident};
use sunward_core::{Diagnostic, ErrorKind, Plan, Result, StepContext};

/// How many failing rows a check keeps as examples.
pub const EXAMPLES: usize = 5;

/// What became of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within its limits.
    Passed,
    /// Broken, with `severity: warn`.
    Warned,
    /// Broken, with `severity: error`: the run fails.
    Failed,
}

/// One check's result, as printed and recorded in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The check's name.
    pub name: String,
    /// The table checked.
    pub table: String,
    /// The rule (`unique`, `range`, …).
    pub rule: String,
    /// `error` or `warn`.
    pub severity: Severity,
    /// The result.
    pub status: Status,
    /// Rows breaking the rule (for `row_count`: the rows counted, when out of bounds).
    pub failing: u64,
    /// Rows of the table.
    pub rows: u64,
    /// What was found, in a sentence.
    pub summary: String,
    /// Up to [`EXAMPLES`] failing rows, column → value, student references left out.
    pub examples: Vec<BTreeMap<String, String>>,
    /// Why the rule holds, when the check says.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
}

impl CheckOutcome {
    /// The outcome as lines for the terminal: the summary, then the examples.
    pub fn render(&self) -> String {
        let mut out = format!("{}: {}", self.name, self.summary);
        if let Some(d) = &self.description {
            out.push_str(&format!(" ({d})"));
        }
        for example in &self.examples {
            let cells: Vec<String> = example.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("\n    e.g. {}", cells.join(", ")));
        }
        out
    }
}

/// Whether a column may identify a student, and so never appears in an example.
pub fn identifies_student(column: &str) -> bool {
    let c = column.to_lowercase();
    c.contains("student_ref") || c.contains("student_id") || c.contains("student_key") || c.contains("pseudonym")
}

fn count_of(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_primitive::<Int64Type>().value(0).max(0) as u64)
        .unwrap_or(0)
}

fn examples_of(batches: &[RecordBatch]) -> Vec<BTreeMap<String, String>> {
    let options = FormatOptions::default().with_null("null");
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let formatters: Vec<(String, ArrayFormatter)> = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| !identifies_student(f.name()))
            .filter_map(|(f, a)| ArrayFormatter::try_new(a.as_ref(), &options).ok().map(|fm| (f.name().clone(), fm)))
            .collect();
        for row in 0..batch.num_rows() {
            if out.len() == EXAMPLES {
                return out;
            }
            out.push(formatters.iter().map(|(name, f)| (name.clone(), f.value(row).to_string())).collect());
        }
    }
    out
}

/// Run one query to its batches.
async fn collect(ctx: &StepContext<'_>, sql: &str) -> Result<Vec<RecordBatch>> {
    let df = ctx.sql(sql).await?;
    df.collect()
        .await
        .map_err(|e| Diagnostic::runtime(format!("the check's query failed: {}", e.message())).caused_by(e))
}

/// Run one check.
pub async fn run_check(check: &Check, ctx: &StepContext<'_>) -> Result<CheckOutcome> {
    let rows = count_of(&collect(ctx, &format!("SELECT COUNT(*) FROM {}", quote_ident(&check.spec.table))).await?);
    let (failing, summary, examples, broken) = match check.failing_rows_sql() {
        Some(failing_sql) => {
            let failing = count_of(&collect(ctx, &format!("SELECT COUNT(*) FROM ({failing_sql})")).await?);
            let limit = check.spec.max_failing.clone().unwrap_or(sunward_core::model::MaxRejected::Count(0));
            let broken = limit.exceeded(failing, rows).unwrap_or(failing > 0);
            let examples = if failing > 0 {
                examples_of(&collect(ctx, &format!("{failing_sql} LIMIT {EXAMPLES}")).await?)
            } else {
                Vec::new()
            };
            let share = if rows == 0 { 0.0 } else { failing as f64 * 100.0 / rows as f64 };
            let allowed = match &check.spec.max_failing {
                None => String::new(),
                Some(sunward_core::model::MaxRejected::Count(n)) => format!("; {n} allowed"),
                Some(sunward_core::model::MaxRejected::Share(x)) => format!("; {}% allowed", x * 100.0),
                Some(sunward_core::model::MaxRejected::Percent(p)) => format!("; {p} allowed"),
            };
            (failing, format!("{failing} of {rows} rows fail ({share:.2}%{allowed})"), examples, broken)
        }
        None => {
            let bounds = check.spec.row_count.clone().unwrap_or_default();
            let low = bounds.min.is_some_and(|m| rows < m);
            let high = bounds.max.is_some_and(|m| rows > m);
            let expected = match (bounds.min, bounds.max) {
                (Some(a), Some(b)) => format!("between {a} and {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => "any number".to_string(),
            };
            let broken = low || high;
            (u64::from(broken) * rows, format!("{rows} rows, expected {expected}"), Vec::new(), broken)
        }
    };
    let status = match (broken, check.spec.severity) {
        (false, _) => Status::Passed,
        (true, Severity::Warn) => Status::Warned,
        (true, Severity::Error) => Status::Failed,
    };
    Ok(CheckOutcome {
        name: check.name.clone(),
        table: check.spec.table.clone(),
        rule: check.kind.to_string(),
        severity: check.spec.severity,
        status,
        failing,
        rows,
        summary,
        examples,
        description: check.spec.description.clone(),
    })
}

/// Run every check of the plan on the session holding its tables.
pub async fn run_checks(plan: &Plan, session: &SessionContext) -> Result<Vec<CheckOutcome>> {
    let mut out = Vec::new();
    for check in &plan.checks {
        let ctx = StepContext { session, run: &plan.run, name: &check.name };
        let outcome = run_check(check, &ctx).await.map_err(|d| {
            let d = if d.location.is_none() {
                d.at(Some(sunward_core::Location {
                    file: check.file.clone().unwrap_or_else(|| plan.pipeline.file.clone()),
                    line: check.span.line,
                    column: check.span.column,
                }))
            } else {
                d
            };
            d.in_context(check.context.clone())
        })?;
        out.push(outcome);
    }
    Ok(out)
}

/// The error for checks that failed, if any did, placed at the first of them.
pub fn failure(plan: &Plan, outcomes: &[CheckOutcome]) -> Option<Diagnostic> {
    let failed: Vec<&CheckOutcome> = outcomes.iter().filter(|o| o.status == Status::Failed).collect();
    if failed.is_empty() {
        return None;
    }
    let lines: Vec<String> = failed.iter().map(|o| o.render()).collect();
    Some(
        Diagnostic::new(
            ErrorKind::CheckFailed,
            format!(
                "{} data check{} failed:\n  {}",
                failed.len(),
                if failed.len() == 1 { "" } else { "s" },
                lines.join("\n  ").replace('\n', "\n  ")
            ),
        )
        .at(plan.checks.iter().find(|c| c.name == failed[0].name).map(|c| sunward_core::Location {
            file: c.file.clone().unwrap_or_else(|| plan.pipeline.file.clone()),
            line: c.span.line,
            column: c.span.column,
        }))
        .in_context("checks")
        .hint(
            "no output was written; fix the data or the steps, or give the check `severity: warn` or a `max_failing`",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::identifies_student;

    #[test]
    fn student_columns_are_recognised() {
        for c in ["student_ref", "Student_Ref", "mentor_student_ref", "student_id", "pseudonym"] {
            assert!(identifies_student(c), "{c}");
        }
        for c in ["school_id", "case_id", "students", "risk_level"] {
            assert!(!identifies_student(c), "{c}");
        }
    }
}
