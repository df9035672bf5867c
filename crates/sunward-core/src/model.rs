//! The pipeline model: what a pipeline file says, with positions kept.
//!
//! [`Pipeline`] is the parsed file; [`Entry`] one named source, step or output
//! with its `plugin:` and its raw settings; [`SourceOptions`] the settings every
//! source shares (contract, header and value mappings, bad-row policy), which
//! the engine applies whatever the file format; [`StepOptions`] those every
//! step shares.

use crate::contract::ColumnType;
use crate::diag::Diagnostic;
use crate::params::ParamType;
use crate::plugin::PluginKind;
use crate::yaml::{Node, Span};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The keys every source accepts besides its plugin's own (see [`SourceOptions`]).
pub const SOURCE_OPTION_KEYS: &[&str] = &[
    "contract",
    "columns",
    "headers",
    "values",
    "on_bad_rows",
    "max_rejected",
    "references",
    "short_rows",
    "produced_by",
    "ignore_columns",
    "optional",
];

/// The keys every step accepts besides its plugin's own (see [`StepOptions`]).
pub const STEP_OPTION_KEYS: &[&str] = &["materialize", "internal"];

/// Settings every step accepts, whatever its plugin.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepOptions {
    /// Compute the table once and keep it (in memory, or staged on disk when
    /// large) even when only one later step reads it. Without it, a table read
    /// by exactly one later step and by no output is a view: its query becomes
    /// part of the query that reads it, and it is never held whole. A table
    /// read by several steps, or written by an output, is always kept, and so
    /// is every step of a run with `--memory-limit`.
    #[serde(default)]
    pub materialize: bool,
    /// The table lists single cases or students (an overdue list with case
    /// numbers): it is for the people who act on it, never for publication.
    /// A public report that reads it is refused before anything runs; counts
    /// made from it by another step may be published as usual.
    #[serde(default)]
    pub internal: bool,
}

/// A parsed pipeline file.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The file as the user named it.
    pub file: String,
    /// Its folder (relative input paths resolve against it).
    pub dir: PathBuf,
    /// Its whole text (for error snippets).
    pub text: String,
    /// `name:`.
    pub name: String,
    /// `description:`.
    pub description: Option<String>,
    /// `params:` in file order.
    pub params: Vec<ParamDef>,
    /// `sources:`, `steps:` and `outputs:` entries in file order.
    pub entries: Vec<Entry>,
}

impl SourceOptions {
    /// The contract table this source holds, if it names one: `Err` with
    /// the table names when it names none of them.
    pub fn contract_table(&self) -> Option<Result<&'static crate::contract::TableSpec, Diagnostic>> {
        let name = self.contract.as_deref()?;
        let contract = self.within.unwrap_or_else(crate::contract::Contract::builtin);
        Some(contract.table(name).ok_or_else(|| {
            let names: Vec<&str> = contract.table_names().collect();
            Diagnostic::invalid(format!("unknown contract table \"{name}\""))
                .hint(format!("the contract tables are: {}", names.join(", ")))
        }))
    }
}

impl Pipeline {
    /// The entries of one section.
    pub fn section(&self, kind: PluginKind) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.kind == kind)
    }
}

/// A declared parameter.
#[derive(Debug, Clone)]
pub struct ParamDef {
    /// Its name (`$name` in SQL, `${name}` in paths).
    pub name: String,
    /// Its type.
    pub ty: ParamType,
    /// The default as written (parsed during validation); none: required.
    pub default: Option<String>,
    /// What it means.
    pub description: Option<String>,
    /// The values it may take (`one_of:`); empty: any value of its type.
    pub one_of: Vec<String>,
    /// `table.column` whose values it must be one of (`in_data:`), checked by `validate`.
    pub in_data: Option<String>,
    /// Where it is declared.
    pub span: Span,
}

/// How a parameter is declared in YAML (`params: {name: {...}}`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// The type: string, int, float, bool, date, path or list.
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// The value used when `--set` does not give one. Without a default the
    /// parameter must be set on the command line.
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// What the parameter means (shown by `sunward validate`).
    #[serde(default)]
    pub description: Option<String>,
    /// The values it may take, e.g. `[standard, official]`: any other, given
    /// with `--set` or as the default, is refused before anything runs.
    #[serde(default)]
    pub one_of: Vec<String>,
    /// `table.column`: the value must be one the data holds there, e.g.
    /// `periods.academic_year` for a year: `sunward validate` computes that
    /// table from the exports (only what it rests on) and refuses a year
    /// with no data before anything runs.
    #[serde(default)]
    pub in_data: Option<String>,
}

/// One named entry of `sources:`, `steps:` or `outputs:`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Which section it is in.
    pub kind: PluginKind,
    /// Its name (a table name for sources and steps).
    pub name: String,
    /// Where the name is written.
    pub name_span: Span,
    /// The `plugin:` value.
    pub plugin: String,
    /// The whole mapping of the entry.
    pub node: Node,
    /// The file it is written in, when not the pipeline's own (a package's `plugin.yaml`).
    pub file: Option<String>,
}

impl Entry {
    /// `sources.services`, `steps.by_school`, …
    pub fn context(&self) -> String {
        format!("{}.{}", self.kind.section(), self.name)
    }
}

/// What to do with rows that break the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnBadRows {
    /// Leave the row out of the table and write it to `rejects/<source>.csv` (default).
    #[default]
    Reject,
    /// Stop the run at the first bad row.
    Fail,
}

/// What to do with a row that has fewer fields than the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShortRows {
    /// A short row is a bad row (default): the fields it lacks are unknown,
    /// not empty, so it goes to the rejects with its field count.
    #[default]
    Reject,
    /// Read the missing trailing fields as empty, for exporters known to cut
    /// rows after their last filled field. The contract's rules still apply
    /// (a missing required value is still a bad row).
    Pad,
}

/// A limit on rejected rows: a count (`10`), a share (`0.05`) or a percentage (`"5%"`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MaxRejected {
    /// At most this many rows.
    Count(u64),
    /// At most this share of the rows read, between 0 and 1.
    Share(f64),
    /// At most this percentage of the rows read, written like `"5%"`.
    Percent(String),
}

impl MaxRejected {
    /// Whether `rejected` rows out of `read` exceed the limit. `None` when the
    /// limit itself is malformed (validation reports that).
    pub fn exceeded(&self, rejected: u64, read: u64) -> Option<bool> {
        let share = |limit: f64| {
            if read == 0 { rejected > 0 } else { rejected as f64 / read as f64 > limit + 1e-12 }
        };
        match self {
            MaxRejected::Count(n) => Some(rejected > *n),
            MaxRejected::Share(x) if (0.0..=1.0).contains(x) => Some(share(*x)),
            MaxRejected::Share(_) => None,
            MaxRejected::Percent(text) => {
                let number = text.trim().strip_suffix('%')?.trim().parse::<f64>().ok()?;
                (0.0..=100.0).contains(&number).then(|| share(number / 100.0))
            }
        }
    }
}

/// A column declared under `columns:`: its type, or its type and whether every row must fill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ColumnDecl {
    /// Just the type (`int`); the column may be empty.
    Type(ColumnType),
    /// The type and whether a value is required (`{type: int, required: true}`).
    Full(FullColumn),
}

/// `{type: …, required: …}` under `columns:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FullColumn {
    /// The type: string, int, float, date or bool.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Every row must have a value here; a row without one is a bad row.
    #[serde(default)]
    pub required: bool,
}

impl ColumnDecl {
    /// The declared type.
    pub fn ty(self) -> ColumnType {
        match self {
            ColumnDecl::Type(ty) | ColumnDecl::Full(FullColumn { ty, .. }) => ty,
        }
    }
    /// Whether every row must fill it.
    pub fn required(self) -> bool {
        matches!(self, ColumnDecl::Full(FullColumn { required: true, .. }))
    }
}

/// Settings every source accepts, whatever its file format.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceOptions {
    /// The data-contract table this source holds (`schools`, `enrolment`,
    /// `classes`, `services`, `cases`, `screenings`, `incidents`, `outcomes`,
    /// `attendance`). Column types come from the contract and every contract
    /// rule is checked; rows that break one are bad rows.
    #[serde(default)]
    pub contract: Option<String>,
    /// The contract `contract:` is looked up in: filled in by validation
    /// (the built-in contract, or the pipeline's extension of it); the
    /// built-in contract when not set.
    #[serde(skip)]
    #[schemars(skip)]
    pub within: Option<&'static crate::contract::Contract>,
    /// Column types for a source without a contract: a type (`string`,
    /// `int`, `float`, `date`, `bool`), or `{type: int, required: true}` for a
    /// column every row must fill. A value that is not of its type, or a
    /// required one missing, makes the row a bad row, as with a contract.
    /// Columns not listed are read as strings.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnDecl>,
    /// Header mapping: the file's header → the canonical column name
    /// (`学校编号: school_id`). Headers are compared after trimming spaces.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Value mapping per canonical column: the file's value → the canonical
    /// value (`service_type: {个案辅导: case_session}`). Values not listed pass unchanged.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// `reject` (default): bad rows go to `rejects/<source>.csv` and the run
    /// goes on; `fail`: the first bad row stops the run.
    #[serde(default)]
    pub on_bad_rows: OnBadRows,
    /// Fail the run (exit code 3) when more rows than this are rejected: a
    /// count (`10`), a share (`0.05`) or a percentage (`"5%"`). Default: no limit.
    #[serde(default)]
    pub max_rejected: Option<MaxRejected>,
    /// For reference checks: the contract table → the source that holds it
    /// (`schools: school_list`), or `none` to leave references to that table
    /// unchecked on purpose (`cases: none`). Default: the source whose
    /// `contract:` is that table; without one, a warning says the references
    /// are not checked.
    #[serde(default)]
    pub references: BTreeMap<String, String>,
    /// `reject` (default): a row with fewer fields than the header is a bad
    /// row; `pad`: its missing trailing fields are read as empty. Only for
    /// exporters known to cut rows short on purpose.
    #[serde(default)]
    pub short_rows: ShortRows,
    /// The pipeline whose run wrote this file (e.g. `metrics`), whatever its
    /// format. Before the run, its manifest beside the file
    /// (`manifest-<pipeline>.json`) must show the same parameters (those both
    /// pipelines declare, paths aside) and the same inputs where they overlap
    /// with this run's; otherwise the run stops naming each difference
    /// (`--allow-stale-metrics` reads it anyway).
    #[serde(default)]
    pub produced_by: Option<String>,
    /// The file may be missing — an export not every project has yet
    /// (appointments, feedback, duty rosters): the source is then an empty
    /// table with its contract's columns (or those under `columns:`), and the
    /// run says so. A file that is there is read and checked as always.
    #[serde(default)]
    pub optional: bool,
    /// Columns of the file (its headers as written) to leave out on purpose,
    /// without the warning an unknown column gets: a student's name in a
    /// case-system export, say. Each must be in the file, so a misspelt name
    /// is an error rather than a column silently kept.
    #[serde(default)]
    pub ignore_columns: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_rejected_forms() {
        assert_eq!(MaxRejected::Count(2).exceeded(3, 100), Some(true));
        assert_eq!(MaxRejected::Count(3).exceeded(3, 100), Some(false));
        assert_eq!(MaxRejected::Share(0.05).exceeded(5, 100), Some(false));
        assert_eq!(MaxRejected::Share(0.05).exceeded(6, 100), Some(true));
        assert_eq!(MaxRejected::Percent("5%".into()).exceeded(6, 100), Some(true));
        assert_eq!(MaxRejected::Percent("five".into()).exceeded(6, 100), None);
        assert_eq!(MaxRejected::Share(1.5).exceeded(6, 100), None);
    }
}
