//! Data checks: what must hold of a table, stated in the pipeline (`checks:`).
//!
//! A check names a table (a source or a step) and one rule — `not_null`,
//! `unique`, `accepted_values`, `relationships`, `range`, `row_count` or
//! `expression` — with a severity (`error` fails the run before any output is
//! written; `warn` is printed and recorded) and how many failing rows it
//! tolerates (`max_failing`: a count, a share or a percentage, like dbt's
//! `error_if`). Every rule except `row_count` becomes one query selecting the
//! rows that break it ([`Check::failing_rows_sql`]); the engine counts them and
//! keeps a few as examples, never with a student reference.

use crate::model::MaxRejected;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The kinds of rule, in the order the docs list them.
pub const KINDS: &[&str] =
    &["not_null", "unique", "accepted_values", "relationships", "range", "row_count", "expression"];

/// The keys every check accepts besides its rule.
pub const SHARED_KEYS: &[&str] = &["table", "name", "severity", "max_failing", "description"];

/// What a failing check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The run fails (exit code 4) before any output is written (default).
    #[default]
    Error,
    /// The failure is printed and recorded in the manifest; the run goes on.
    Warn,
}

/// `accepted_values:` — a column holds only these values (nulls pass).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptedValues {
    /// The column.
    pub column: String,
    /// The values allowed.
    pub values: Vec<serde_json::Value>,
}

/// `relationships:` — every value of a column is a key of another table (nulls pass).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Relationships {
    /// The column holding the reference.
    pub column: String,
    /// The table referred to.
    pub to: String,
    /// Its key column (default: the same name as `column`).
    #[serde(default)]
    pub field: Option<String>,
}

/// `range:` — a column's values lie within bounds, both included (nulls pass).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// The column.
    pub column: String,
    /// The smallest allowed value (a number, or a date written `2024-09-01`).
    #[serde(default)]
    pub min: Option<serde_json::Value>,
    /// The largest allowed value.
    #[serde(default)]
    pub max: Option<serde_json::Value>,
}

/// `row_count:` — the table has between `min` and `max` rows.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowCount {
    /// At least this many rows.
    #[serde(default)]
    pub min: Option<u64>,
    /// At most this many rows.
    #[serde(default)]
    pub max: Option<u64>,
}

/// One column or several (a key made of several columns).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Columns {
    /// One column.
    One(String),
    /// Several columns.
    Many(Vec<String>),
}

impl Columns {
    /// The column names.
    pub fn names(&self) -> Vec<String> {
        match self {
            Columns::One(c) => vec![c.clone()],
            Columns::Many(cs) => cs.clone(),
        }
    }
}

/// One entry of `checks:` as written.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// The table checked: a source or a step.
    pub table: String,
    /// A name for messages and the manifest (default: the table and rule, e.g. `cases.unique(case_id)`).
    #[serde(default)]
    pub name: Option<String>,
    /// `error` (default): failing fails the run with exit code 4 before any
    /// output is written; `warn`: failing is printed and recorded only.
    #[serde(default)]
    pub severity: Severity,
    /// How many failing rows are tolerated: a count (`10`), a share of the
    /// table's rows (`0.01`) or a percentage (`"1%"`). Default 0. Not used by `row_count`.
    #[serde(default)]
    pub max_failing: Option<MaxRejected>,
    /// Why the rule holds, shown beside a failure.
    #[serde(default)]
    pub description: Option<String>,
    /// These columns are never null.
    #[serde(default)]
    pub not_null: Option<Columns>,
    /// No two rows share a value of these columns (rows with a null in them are left out).
    #[serde(default)]
    pub unique: Option<Columns>,
    /// A column holds only the values listed.
    #[serde(default)]
    pub accepted_values: Option<AcceptedValues>,
    /// A column's values are keys of another table.
    #[serde(default)]
    pub relationships: Option<Relationships>,
    /// A column's values lie within bounds.
    #[serde(default)]
    pub range: Option<Range>,
    /// The table's row count lies within bounds.
    #[serde(default)]
    pub row_count: Option<RowCount>,
    /// A SQL condition every row meets (a row where it is false or null fails).
    #[serde(default)]
    pub expression: Option<String>,
}

/// A validated check.
#[derive(Debug, Clone)]
pub struct Check {
    /// Its name (given, or made from the table and rule).
    pub name: String,
    /// Its place in `checks:` (`checks[2]`).
    pub context: String,
    /// The settings.
    pub spec: CheckSpec,
    /// Which rule it is (one of [`KINDS`]).
    pub kind: &'static str,
    /// Other tables it reads (`relationships.to`).
    pub reads: Vec<String>,
    /// Where the check is written.
    pub span: crate::yaml::Span,
    /// The file it is written in, when not the pipeline's own (a package's `plugin.yaml`).
    pub file: Option<String>,
}

/// A SQL identifier, quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A YAML value as a SQL literal: strings quoted, numbers and booleans as written.
pub fn literal(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        serde_json::Value::Null => "NULL".to_string(),
        other => other.to_string(),
    }
}

impl CheckSpec {
    /// Which rules are given (exactly one is allowed).
    pub fn kinds(&self) -> Vec<&'static str> {
        let given = [
            self.not_null.is_some(),
            self.unique.is_some(),
            self.accepted_values.is_some(),
            self.relationships.is_some(),
            self.range.is_some(),
            self.row_count.is_some(),
            self.expression.is_some(),
        ];
        KINDS.iter().zip(given).filter(|(_, g)| *g).map(|(k, _)| *k).collect()
    }

    /// The columns the rule names, for the default name.
    pub fn columns(&self) -> Vec<String> {
        if let Some(c) = self.not_null.as_ref().or(self.unique.as_ref()) {
            return c.names();
        }
        if let Some(a) = &self.accepted_values {
            return vec![a.column.clone()];
        }
        if let Some(r) = &self.relationships {
            return vec![r.column.clone()];
        }
        if let Some(r) = &self.range {
            return vec![r.column.clone()];
        }
        Vec::new()
    }
}

impl Check {
    /// The default name: `cases.unique(case_id)`, `metrics.row_count`,
    /// `services.expression(participants > 0)`.
    pub fn default_name(spec: &CheckSpec, kind: &str) -> String {
        if let Some(e) = &spec.expression {
            let e = e.split_whitespace().collect::<Vec<_>>().join(" ");
            return format!("{}.expression({e})", spec.table);
        }
        let columns = spec.columns();
        if columns.is_empty() {
            format!("{}.{kind}", spec.table)
        } else {
            format!("{}.{kind}({})", spec.table, columns.join(", "))
        }
    }

    /// The query selecting every row that breaks the rule; `None` for `row_count`.
    pub fn failing_rows_sql(&self) -> Option<String> {
        let s = &self.spec;
        let table = quote_ident(&s.table);
        let condition = if let Some(cols) = &s.not_null {
            cols.names().iter().map(|c| format!("{} IS NULL", quote_ident(c))).collect::<Vec<_>>().join(" OR ")
        } else if let Some(cols) = &s.unique {
            let key = cols.names().iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
            let present = cols
                .names()
                .iter()
                .map(|c| format!("{} IS NOT NULL", quote_ident(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            return Some(format!(
                "SELECT * EXCLUDE (__sunward_rows) FROM (SELECT *, COUNT(*) OVER (PARTITION BY {key}) AS __sunward_rows \
                 FROM {table} WHERE {present}) WHERE __sunward_rows > 1"
            ));
        } else if let Some(a) = &s.accepted_values {
            let values = a.values.iter().map(literal).collect::<Vec<_>>().join(", ");
            let column = quote_ident(&a.column);
            format!("{column} IS NOT NULL AND {column} NOT IN ({values})")
        } else if let Some(r) = &s.relationships {
            let column = quote_ident(&r.column);
            let field = quote_ident(r.field.as_deref().unwrap_or(&r.column));
            format!(
                "{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {} AS __sunward_to WHERE __sunward_to.{field} = {table}.{column})",
                quote_ident(&r.to)
            )
        } else if let Some(r) = &s.range {
            let column = quote_ident(&r.column);
            let mut parts = Vec::new();
            if let Some(min) = &r.min {
                parts.push(format!("{column} < {}", literal(min)));
            }
            if let Some(max) = &r.max {
                parts.push(format!("{column} > {}", literal(max)));
            }
            parts.join(" OR ")
        } else if let Some(e) = &s.expression {
            format!("({e}) IS NOT TRUE")
        } else {
            return None;
        };
        Some(format!("SELECT * FROM {table} WHERE {condition}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml_json: serde_json::Value) -> Check {
        let spec: CheckSpec = serde_json::from_value(yaml_json).unwrap();
        let kind = spec.kinds()[0];
        Check {
            name: Check::default_name(&spec, kind),
            context: "checks[0]".into(),
            spec,
            kind,
            reads: vec![],
            span: Default::default(),
            file: None,
        }
    }

    #[test]
    fn each_rule_selects_the_rows_that_break_it() {
        let c = check(serde_json::json!({"table": "cases", "not_null": ["case_id", "school_id"]}));
        assert_eq!(c.name, "cases.not_null(case_id, school_id)");
        assert_eq!(
            c.failing_rows_sql().unwrap(),
            "SELECT * FROM \"cases\" WHERE \"case_id\" IS NULL OR \"school_id\" IS NULL"
        );
        let c = check(
            serde_json::json!({"table": "t", "accepted_values": {"column": "level", "values": ["red", "it's", 3]}}),
        );
        assert_eq!(
            c.failing_rows_sql().unwrap(),
            "SELECT * FROM \"t\" WHERE \"level\" IS NOT NULL AND \"level\" NOT IN ('red', 'it''s', 3)"
        );
        let c = check(serde_json::json!({"table": "t", "range": {"column": "n", "min": 0}}));
        assert_eq!(c.failing_rows_sql().unwrap(), "SELECT * FROM \"t\" WHERE \"n\" < 0");
        let c = check(serde_json::json!({"table": "t", "expression": "a <= b"}));
        assert_eq!(c.failing_rows_sql().unwrap(), "SELECT * FROM \"t\" WHERE (a <= b) IS NOT TRUE");
        let c = check(serde_json::json!({"table": "t", "row_count": {"min": 1}}));
        assert_eq!((c.name.as_str(), c.failing_rows_sql()), ("t.row_count", None));
    }
}
