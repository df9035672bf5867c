//! The data contract: the canonical tables every export is loaded into.
//!
//! Each [`TableSpec`] lists its columns with their type, whether they are
//! required, their code list (with the Chinese labels exports use), their
//! bounds, the table they reference, what they mean and the header names
//! exports give them, and the table's unique keys. A source declared with
//! `contract: <table>` takes its column types from here — never from
//! inference, so an ID such as `007` stays a string — and the loader checks
//! every rule listed here.
//!
//! The contract is data: one YAML file per table in the repository's
//! `contract/` folder, embedded in the binary and read once ([`tables`]).
//! [`parse_table`] reads such a file, with every mistake placed at its line
//! and column.

use crate::diag::{Diagnostic, Location, similar};
use crate::yaml::error_path;
use crate::yaml::{self, Node, PathPart};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// UTF-8 text.
    String,
    /// A whole number (`Int64`); `44.0` counts as 44.
    Int,
    /// A number (`Float64`).
    Float,
    /// A date (`Date32`), written `2025-03-05`, `2025/3/5`, `2025年3月5日` or as an Excel serial number.
    Date,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `是`/`否`).
    Bool,
    /// A time of day (`Time64(Nanosecond)`, SQL's `TIME`, Parquet's `TIME(NANOS)`), written `18:30`, `18:30:00`, `18：30`,
    /// `18点30分` or as an Excel time (a fraction of a day).
    Time,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::String => "string",
            ColumnType::Int => "integer",
            ColumnType::Float => "number",
            ColumnType::Date => "date",
            ColumnType::Bool => "boolean",
            ColumnType::Time => "time of day",
        })
    }
}

/// One column of a contract table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    /// Canonical name.
    pub name: &'static str,
    /// Type.
    pub ty: ColumnType,
    /// Must be present in the header and non-null in every row.
    pub required: bool,
    /// The allowed codes, for code columns.
    pub codes: Option<&'static [&'static str]>,
    /// The smallest allowed value, for numbers.
    pub min: Option<f64>,
    /// The largest allowed value, for numbers: a count beyond any real school
    /// or event is a typing slip (and bounded counts keep every sum exact).
    pub max: Option<f64>,
    /// The contract table and column this column refers to.
    pub references: Option<(&'static str, &'static str)>,
    /// What the column means, where its name and rules do not say it all.
    pub meaning: Option<&'static str>,
    /// Header names exports give the column (学校编号 for `school_id`), offered as hints.
    pub headers: &'static [&'static str],
    /// The labels exports write for each code, as `(label, code)`, in code order.
    pub labels: &'static [(&'static str, &'static str)],
    /// What each code is called in a report, in code order.
    pub names: &'static [CodeName],
}

/// What a code is called in Chinese and in English (reports print these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeName {
    /// The code (`case_session`).
    pub code: &'static str,
    /// Its Chinese label (个案辅导), also a spelling exports use.
    pub zh: Option<&'static str>,
    /// Its English label (`case sessions`).
    pub en: Option<&'static str>,
}

impl ColumnSpec {
    /// A column with a name and a type and no rule yet.
    fn blank(name: &'static str, ty: ColumnType) -> ColumnSpec {
        ColumnSpec {
            name,
            ty,
            required: false,
            codes: None,
            min: None,
            max: None,
            references: None,
            meaning: None,
            headers: &[],
            labels: &[],
            names: &[],
        }
    }

    /// What `code` is called in Chinese (`zh == true`) or English: its
    /// label, or the code itself (with spaces for `_` in English) when it
    /// has none.
    pub fn code_label(&self, code: &str, zh: bool) -> Option<String> {
        let name = self.names.iter().find(|n| n.code == code)?;
        let label = if zh { name.zh } else { name.en };
        Some(label.map(str::to_string).unwrap_or_else(|| if zh { code.to_string() } else { code.replace('_', " ") }))
    }
}

/// A code's labels as a table file writes them: `[个案辅导, 个案介入]` (the
/// spellings exports use, the first the Chinese label) or
/// `{zh: 个案辅导, en: "case sessions", also: [个案介入]}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CodeFile {
    Spellings(Vec<String>),
    Named(NamedCode),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedCode {
    zh: Option<String>,
    en: Option<String>,
    #[serde(default)]
    also: Vec<String>,
}

/// A canonical table.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// Table name (`services`).
    pub name: &'static str,
    /// What one row is, in a few words, with the Chinese name the exports use.
    pub row: &'static str,
    /// Columns in canonical order.
    pub columns: &'static [ColumnSpec],
    /// Unique keys: each is a set of columns whose combined value may appear once.
    pub unique: &'static [&'static [&'static str]],
    /// Pairs of date columns where the second, when set, may not be before the first.
    pub ordered_dates: &'static [(&'static str, &'static str)],
    /// Groups of columns of which every row sets exactly one (a service belongs to a school
    /// or to a district centre).
    pub one_of: &'static [&'static [&'static str]],
}

impl TableSpec {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A contract: the built-in tables, or the tables as a project's pipeline
/// extends them (`contract:` in the pipeline, see [`Contract::extend`]).
///
/// Its specs live as long as the program (an extended contract is made once
/// per validated pipeline and kept), so that every table and column can be
/// handed around as plain `&'static` references.
#[derive(Debug)]
pub struct Contract {
    tables: Vec<TableSpec>,
    /// The files (or pipeline places) whose documents extended the built-in
    /// contract, in order; empty for the built-in contract.
    pub extended_by: Vec<String>,
}

impl Contract {
    /// The built-in contract: the shipped `contract/*.yaml` files.
    pub fn builtin() -> &'static Contract {
        static BUILT_IN: OnceLock<Contract> = OnceLock::new();
        BUILT_IN.get_or_init(|| {
            let mut tables = Vec::new();
            let mut errors = Vec::new();
            for (file, text) in BUILTIN {
                match parse_table(text, file) {
                    Ok(t) => tables.push(t),
                    Err(e) => errors.extend(e),
                }
            }
            errors.extend(check_references(&tables, &HashMap::new()));
            // The built-in files are part of the program, checked by its tests.
            assert!(
                errors.is_empty(),
                "the built-in contract is broken: {}",
                errors.iter().map(|e| e.render(None)).collect::<String>()
            );
            Contract { tables, extended_by: Vec::new() }
        })
    }

    /// Every table, in order (the built-in tables first, then added ones).
    pub fn tables(&self) -> &[TableSpec] {
        &self.tables
    }

    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The names of all tables.
    pub fn table_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.tables.iter().map(|t| t.name)
    }

    /// Whether some table's column references the table `name` (its key
    /// values are then kept, to check those references).
    pub fn is_referenced(&self, name: &str) -> bool {
        self.tables.iter().any(|t| t.columns.iter().any(|c| c.references.is_some_and(|(to, _)| to == name)))
    }

    /// This contract extended by a project's documents, each a YAML mapping
    /// read from `file` (for messages): a new table, written as a shipped
    /// table file is (`table:`), or more for an existing table
    /// (`extends: cases`) — codes (with the labels exports write for them),
    /// header names, optional or required columns, ordered date pairs, and
    /// tighter bounds. Nothing a shipped rule says may be loosened or
    /// changed: a column keeps its type, a required column stays required,
    /// bounds only narrow, a reference stays. Every mistake is reported at
    /// once, each at its line and column.
    pub fn extend(&self, documents: &[(&Node, &str)]) -> Result<&'static Contract, Vec<Diagnostic>> {
        let mut tables = self.tables.clone();
        let mut errors = Vec::new();
        // Where each added reference was written, to place a wrong one.
        let mut declared: HashMap<(String, String), Location> = HashMap::new();
        for (root, file) in documents {
            let at = |node: &Node| node.location(file);
            if root.as_map().is_none() {
                errors.push(
                    Diagnostic::invalid(format!("a contract document must be a mapping, found {}", root.kind_name()))
                        .at(Some(at(root)))
                        .hint(DOCUMENT_HINT),
                );
                continue;
            }
            match (root.get("table"), root.get("extends")) {
                (Some(_), None) => match table_from_node(root, file) {
                    Ok(t) => {
                        if tables.iter().any(|x| x.name == t.name) {
                            let place = root.get("table").unwrap_or(root);
                            errors.push(
                                Diagnostic::invalid(format!("the contract already has a table `{}`", t.name))
                                    .at(Some(at(place)))
                                    .hint(format!("to add to it, write `extends: {}` instead of `table:`", t.name)),
                            );
                            continue;
                        }
                        note_references(&t, root.get("columns"), file, &mut declared);
                        tables.push(t);
                    }
                    Err(e) => errors.extend(e),
                },
                (None, Some(target)) => {
                    let name = target.as_str().unwrap_or_default();
                    let Some(index) = tables.iter().position(|t| t.name == name) else {
                        let names: Vec<&str> = tables.iter().map(|t| t.name).collect();
                        let hint = similar(name, names.iter().copied())
                            .unwrap_or_else(|| format!("the contract tables are: {}", names.join(", ")));
                        errors.push(
                            Diagnostic::invalid(format!("`extends: {name}` names no contract table"))
                                .at(Some(at(target)))
                                .hint(format!("{hint}; to add a table, write `table: {name}` with its `row:` and `columns:`")),
                        );
                        continue;
                    };
                    match extend_table(&tables[index], root, file) {
                        Ok(t) => {
                            note_references(&t, root.get("columns"), file, &mut declared);
                            tables[index] = t;
                        }
                        Err(e) => errors.extend(e),
                    }
                }
                _ => errors.push(
                    Diagnostic::invalid("a contract document has either `table:` (a new table) or `extends:` (more for a table), not both or neither")
                        .at(Some(at(root)))
                        .hint(DOCUMENT_HINT),
                ),
            }
        }
        if errors.is_empty() {
            errors.extend(check_references(&tables, &declared));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut extended_by = self.extended_by.clone();
        for (_, file) in documents {
            if !extended_by.iter().any(|f| f == file) {
                extended_by.push(file.to_string());
            }
        }
        Ok(Box::leak(Box::new(Contract { tables, extended_by })))
    }
}

const DOCUMENT_HINT: &str = "a new table: `table: visits`, `row:` and `columns:`; more for a table: `extends: cases` and the `columns:` to add or tighten (docs/CONTRACT.md, \"Extending the contract\")";

/// The contract table called `name` (of the built-in contract).
pub fn table(name: &str) -> Option<&'static TableSpec> {
    Contract::builtin().table(name)
}

/// The names of all contract tables (of the built-in contract).
pub fn table_names() -> impl Iterator<Item = &'static str> {
    Contract::builtin().table_names()
}

/// What a column means, as `(table, column, meaning)`, in table and column order.
pub fn meanings() -> &'static [(&'static str, &'static str, &'static str)] {
    static MEANINGS: OnceLock<Vec<(&'static str, &'static str, &'static str)>> = OnceLock::new();
    MEANINGS.get_or_init(|| {
        tables()
            .iter()
            .flat_map(|t| t.columns.iter().filter_map(move |c| c.meaning.map(|m| (t.name, c.name, m))))
            .collect()
    })
}

/// The labels real exports use for codes, as `(column, label, code)`, in
/// table, column and code order.
pub fn labels() -> &'static [(&'static str, &'static str, &'static str)] {
    static LABELS: OnceLock<Vec<(&'static str, &'static str, &'static str)>> = OnceLock::new();
    LABELS.get_or_init(|| {
        tables()
            .iter()
            .flat_map(|t| t.columns.iter().flat_map(|c| c.labels.iter().map(move |(l, code)| (c.name, *l, *code))))
            .collect()
    })
}

/// The built-in contract's files, one per table, in the order tables are listed.
const BUILTIN: &[(&str, &str)] = &[
    ("contract/schools.yaml", include_str!("../../../contract/schools.yaml")),
    ("contract/enrolment.yaml", include_str!("../../../contract/enrolment.yaml")),
    ("contract/classes.yaml", include_str!("../../../contract/classes.yaml")),
    ("contract/services.yaml", include_str!("../../../contract/services.yaml")),
    ("contract/cases.yaml", include_str!("../../../contract/cases.yaml")),
    ("contract/screenings.yaml", include_str!("../../../contract/screenings.yaml")),
    ("contract/incidents.yaml", include_str!("../../../contract/incidents.yaml")),
    ("contract/outcomes.yaml", include_str!("../../../contract/outcomes.yaml")),
    ("contract/attendance.yaml", include_str!("../../../contract/attendance.yaml")),
    ("contract/centres.yaml", include_str!("../../../contract/centres.yaml")),
    ("contract/followups.yaml", include_str!("../../../contract/followups.yaml")),
    ("contract/appointments.yaml", include_str!("../../../contract/appointments.yaml")),
    ("contract/feedback.yaml", include_str!("../../../contract/feedback.yaml")),
    ("contract/workers.yaml", include_str!("../../../contract/workers.yaml")),
    ("contract/rosters.yaml", include_str!("../../../contract/rosters.yaml")),
    ("contract/holidays.yaml", include_str!("../../../contract/holidays.yaml")),
    ("contract/terms.yaml", include_str!("../../../contract/terms.yaml")),
];

/// Every table of the built-in contract, in order.
pub fn tables() -> &'static [TableSpec] {
    Contract::builtin().tables()
}

/// A table file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    /// The table's name.
    table: String,
    /// What one row is.
    row: String,
    /// The unique key (a list holding at most one key).
    #[serde(default)]
    unique: Vec<Vec<String>>,
    /// Pairs of dates, the second not before the first.
    #[serde(default)]
    ordered_dates: Vec<(String, String)>,
    /// Groups of columns of which each row sets exactly one.
    #[serde(default)]
    one_of: Vec<Vec<String>>,
    /// The columns, in order (read from the YAML map itself, to keep its order and places).
    columns: serde_json::Map<String, serde_json::Value>,
}

/// More for an existing table, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionFile {
    /// The table extended.
    #[allow(dead_code)]
    extends: String,
    /// More pairs of dates, the second not before the first.
    #[serde(default)]
    ordered_dates: Vec<(String, String)>,
    /// Columns to add, or to add to.
    #[serde(default)]
    columns: serde_json::Map<String, serde_json::Value>,
}

/// A column as written (in a table file every column gives its `type`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnFile {
    #[serde(rename = "type")]
    ty: Option<ColumnType>,
    required: Option<bool>,
    /// `table.column`.
    references: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
    meaning: Option<String>,
    #[serde(default)]
    headers: Vec<String>,
    /// Each code with the labels exports write for it (possibly none).
    codes: Option<serde_json::Map<String, serde_json::Value>>,
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn leak_all(texts: Vec<String>) -> &'static [&'static str] {
    Box::leak(texts.into_iter().map(leak).collect::<Vec<_>>().into_boxed_slice())
}

fn leak_strs(texts: Vec<&'static str>) -> &'static [&'static str] {
    Box::leak(texts.into_boxed_slice())
}

/// Reads one document, typed, with the first mistake placed.
fn typed<T: serde::de::DeserializeOwned>(node: &Node, file: &str, what: &str) -> Result<T, Diagnostic> {
    serde_path_to_error::deserialize(node.to_json()).map_err(|err| {
        let path = error_path(&err);
        let place = node.find(&path, false);
        Diagnostic::invalid(format!("{what}: {}", err.inner()))
            .at(Some(place.location(file)))
            .hint("see docs/CONTRACT.md for the fields of a table and of a column")
    })
}

/// Read one table file (`file` names it in messages). Every mistake is
/// reported, each at its line and column.
pub fn parse_table(text: &str, file: &str) -> Result<TableSpec, Vec<Diagnostic>> {
    let root = yaml::parse(text, file).map_err(|d| vec![d])?;
    table_from_node(&root, file)
}

/// A table document, already parsed.
fn table_from_node(root: &Node, file: &str) -> Result<TableSpec, Vec<Diagnostic>> {
    let table: TableFile = typed(root, file, "this is not a contract table").map_err(|d| vec![d])?;
    let columns_node = root.get("columns").unwrap_or(root);
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    for (name, value) in &table.columns {
        let node = columns_node.get(name).unwrap_or(columns_node);
        let Some(column) = column_file(name, value, node, file, &mut errors) else { continue };
        let Some(ty) = column.ty else {
            errors.push(
                Diagnostic::invalid(format!("column `{name}` has no `type`"))
                    .at(Some(node.location(file)))
                    .hint("one of string, int, float, date, bool"),
            );
            continue;
        };
        let blank = ColumnSpec::blank(leak(name.clone()), ty);
        columns.push(apply_column(blank, &column, name, node, file, &mut errors));
    }
    if table.unique.len() > 1 {
        let place = root.find(&[PathPart::Key("unique".into()), PathPart::Index(1)], false);
        errors.push(
            Diagnostic::invalid("a contract table has one unique key at most")
                .at(Some(place.location(file)))
                .hint("list the key's columns together: `unique: [[school_id, academic_year]]`"),
        );
    }
    let known = |c: &str| table.columns.contains_key(c);
    check_named(root, file, "unique", &table.unique, &known, &mut errors);
    let pairs: Vec<Vec<String>> = table.ordered_dates.iter().map(|(a, b)| vec![a.clone(), b.clone()]).collect();
    check_named(root, file, "ordered_dates", &pairs, &known, &mut errors);
    check_named(root, file, "one_of", &table.one_of, &known, &mut errors);
    for (i, group) in table.one_of.iter().enumerate() {
        let required: Vec<&String> =
            group.iter().filter(|c| table.columns.get(c.as_str()).is_some_and(|v| v["required"] == true)).collect();
        if group.len() < 2 || !required.is_empty() {
            let place = root.find(&[PathPart::Key("one_of".into()), PathPart::Index(i)], false);
            errors.push(
                Diagnostic::invalid("a `one_of` group names two or more columns, none of them required")
                    .at(Some(place.location(file)))
                    .hint("e.g. `one_of: [[school_id, centre_id]]`: each row sets exactly one of them"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let unique: Vec<&'static [&'static str]> = table.unique.into_iter().map(leak_all).collect();
    let one_of: Vec<&'static [&'static str]> = table.one_of.into_iter().map(leak_all).collect();
    let ordered: Vec<(&'static str, &'static str)> =
        table.ordered_dates.into_iter().map(|(a, b)| (leak(a), leak(b))).collect();
    Ok(TableSpec {
        name: leak(table.table),
        row: leak(table.row),
        columns: Box::leak(columns.into_boxed_slice()),
        unique: Box::leak(unique.into_boxed_slice()),
        ordered_dates: Box::leak(ordered.into_boxed_slice()),
        one_of: Box::leak(one_of.into_boxed_slice()),
    })
}

/// `base` with the additions of an `extends:` document.
fn extend_table(base: &TableSpec, root: &Node, file: &str) -> Result<TableSpec, Vec<Diagnostic>> {
    let extension: ExtensionFile =
        typed(root, file, &format!("this does not extend `{}`", base.name)).map_err(|d| vec![d])?;
    let columns_node = root.get("columns").unwrap_or(root);
    let mut errors = Vec::new();
    let mut columns: Vec<ColumnSpec> = base.columns.to_vec();
    for (name, value) in &extension.columns {
        let node = columns_node.get(name).unwrap_or(columns_node);
        let Some(column) = column_file(name, value, node, file, &mut errors) else { continue };
        match columns.iter().position(|c| c.name == name) {
            Some(i) => {
                let shipped = columns[i];
                loosened(base.name, &shipped, &column, node, file, &mut errors);
                columns[i] = apply_column(shipped, &column, name, node, file, &mut errors);
            }
            None => {
                let Some(ty) = column.ty else {
                    errors.push(
                        Diagnostic::invalid(format!("`{name}` is not a column of `{}`, and has no `type`", base.name))
                            .at(Some(node.location(file)))
                            .hint(similar(name, base.columns.iter().map(|c| c.name)).unwrap_or_else(|| {
                                "a new column needs its type: one of string, int, float, date, bool".to_string()
                            })),
                    );
                    continue;
                };
                let blank = ColumnSpec::blank(leak(name.clone()), ty);
                columns.push(apply_column(blank, &column, name, node, file, &mut errors));
            }
        }
    }
    let known = |c: &str| columns.iter().any(|x| x.name == c);
    let pairs: Vec<Vec<String>> = extension.ordered_dates.iter().map(|(a, b)| vec![a.clone(), b.clone()]).collect();
    check_named(root, file, "ordered_dates", &pairs, &known, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut ordered = base.ordered_dates.to_vec();
    for (a, b) in extension.ordered_dates {
        if !ordered.iter().any(|(x, y)| *x == a && *y == b) {
            ordered.push((leak(a), leak(b)));
        }
    }
    Ok(TableSpec {
        columns: Box::leak(columns.into_boxed_slice()),
        ordered_dates: Box::leak(ordered.into_boxed_slice()),
        ..*base
    })
}

/// A column's settings, typed; a mistake is pushed to `errors`.
fn column_file(
    name: &str,
    value: &serde_json::Value,
    node: &Node,
    file: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<ColumnFile> {
    match serde_path_to_error::deserialize(value.clone()) {
        Ok(c) => Some(c),
        Err(err) => {
            let place = node.find(&error_path(&err), false);
            errors.push(
                Diagnostic::invalid(format!("column `{name}`: {}", err.inner()))
                    .at(Some(place.location(file)))
                    .hint("see docs/CONTRACT.md for the fields of a column"),
            );
            None
        }
    }
}

/// Each rule of `shipped` that `written` would loosen or change, as an error.
fn loosened(
    table: &str,
    shipped: &ColumnSpec,
    written: &ColumnFile,
    node: &Node,
    file: &str,
    errors: &mut Vec<Diagnostic>,
) {
    let name = shipped.name;
    let place = |key: &str| node.get(key).unwrap_or(node).location(file);
    let hint = "a project may add codes, columns and tables and tighten rules; it cannot loosen or change a rule the shipped figures rest on";
    let mut refuse = |key: &str, message: String| {
        errors.push(Diagnostic::invalid(message).at(Some(place(key))).hint(hint));
    };
    if let Some(ty) = written.ty
        && ty != shipped.ty
    {
        refuse("type", format!("{table}.{name} is a {} column; an extension cannot make it a {ty} column", shipped.ty));
    }
    if written.required == Some(false) && shipped.required {
        refuse("required", format!("{table}.{name} is required; an extension cannot make it optional"));
    }
    if let (Some(min), Some(was)) = (written.min, shipped.min)
        && min < was
    {
        refuse("min", format!("{table}.{name} has min {was}; an extension cannot lower it to {min}"));
    }
    if let (Some(max), Some(was)) = (written.max, shipped.max)
        && max > was
    {
        refuse("max", format!("{table}.{name} has max {was}; an extension cannot raise it to {max}"));
    }
    if let (Some(r), Some((t, c))) = (&written.references, shipped.references)
        && *r != format!("{t}.{c}")
    {
        refuse("references", format!("{table}.{name} references {t}.{c}; an extension cannot point it elsewhere"));
    }
}

/// `column` with the settings written for it: codes and headers added,
/// everything else set.
fn apply_column(
    mut column: ColumnSpec,
    written: &ColumnFile,
    name: &str,
    node: &Node,
    file: &str,
    errors: &mut Vec<Diagnostic>,
) -> ColumnSpec {
    let at = |n: &Node| n.location(file);
    if let Some(ty) = written.ty {
        column.ty = ty;
    }
    if let Some(required) = written.required {
        column.required = required;
    }
    column.min = written.min.or(column.min);
    column.max = written.max.or(column.max);
    if let (Some(min), Some(max)) = (column.min, column.max)
        && min > max
    {
        errors.push(Diagnostic::invalid(format!("column `{name}`: min {min} is above max {max}")).at(Some(at(node))));
    }
    if let Some(written) = &written.references {
        set_references(&mut column, written, name, node, file, errors);
    }
    if let Some(meaning) = &written.meaning {
        column.meaning = Some(leak(meaning.clone()));
    }
    if !written.headers.is_empty() {
        let mut headers = column.headers.to_vec();
        for h in &written.headers {
            if !headers.contains(&h.as_str()) {
                headers.push(leak(h.clone()));
            }
        }
        column.headers = leak_strs(headers);
    }
    if let Some(codes) = &written.codes {
        add_codes(&mut column, codes, name, node, file, errors);
    }
    column
}

/// `written`, the `references:` written for a column (`TABLE.COLUMN`), set
/// on `column`, or an error at it.
fn set_references(
    column: &mut ColumnSpec,
    written: &str,
    name: &str,
    node: &Node,
    file: &str,
    errors: &mut Vec<Diagnostic>,
) {
    match written.split_once('.') {
        Some((t, c)) if !t.is_empty() && !c.is_empty() => {
            column.references = Some((leak(t.to_string()), leak(c.to_string())))
        }
        _ => {
            let place = node.get("references").unwrap_or(node);
            errors.push(
                Diagnostic::invalid(format!("column `{name}`: `references` must be TABLE.COLUMN"))
                    .at(Some(place.location(file)))
                    .hint("for example `references: schools.school_id`"),
            );
        }
    }
}

/// The `codes:` written for a column added to it: each code (new, or more
/// for a shipped one) with its names and the labels exports write for it; a
/// label given to two codes, or a code written neither way, is an error.
fn add_codes(
    column: &mut ColumnSpec,
    codes: &serde_json::Map<String, serde_json::Value>,
    name: &str,
    node: &Node,
    file: &str,
    errors: &mut Vec<Diagnostic>,
) {
    let at = |n: &Node| n.location(file);
    let codes_node = node.get("codes").unwrap_or(node);
    let mut list: Vec<&'static str> = column.codes.map(<[_]>::to_vec).unwrap_or_default();
    let mut labels: Vec<(&'static str, &'static str)> = column.labels.to_vec();
    let mut names: Vec<CodeName> = column.names.to_vec();
    for (code, spelled) in codes {
        let code_node = codes_node.get(code).unwrap_or(codes_node);
        let (zh, en, written) = match serde_json::from_value(spelled.clone()) {
            Ok(CodeFile::Spellings(w)) => (w.first().cloned(), None, w),
            Ok(CodeFile::Named(n)) => (n.zh.clone(), n.en, n.zh.into_iter().chain(n.also).collect::<Vec<_>>()),
            Err(_) => {
                errors.push(
                    Diagnostic::invalid(format!(
                        "column `{name}`, code `{code}`: expected the labels exports write for it, or its names"
                    ))
                    .at(Some(at(code_node)))
                    .hint("for example `case_session: [个案辅导, 个案介入]`, or `case_session: {zh: 个案辅导, en: \"case sessions\", also: [个案介入]}`"),
                );
                continue;
            }
        };
        let code: &'static str = match list.iter().find(|c| **c == code) {
            Some(known) => known,
            None => {
                let code = leak(code.clone());
                list.push(code);
                code
            }
        };
        match names.iter_mut().find(|n| n.code == code) {
            // More for a shipped code: its names stay unless given.
            Some(n) => {
                if let Some(en) = en {
                    n.en = Some(leak(en));
                }
                if n.zh.is_none() {
                    n.zh = zh.map(leak);
                }
            }
            None => names.push(CodeName { code, zh: zh.map(leak), en: en.map(leak) }),
        }
        for label in written {
            match labels.iter().find(|(l, _)| *l == label) {
                Some((_, same)) if *same == code => {}
                Some((_, other)) => errors.push(
                    Diagnostic::invalid(format!(
                        "column `{name}`: the label \"{label}\" is given to both `{other}` and `{code}`"
                    ))
                    .at(Some(at(code_node))),
                ),
                None => labels.push((leak(label), code)),
            }
        }
    }
    column.codes = Some(leak_strs(list));
    column.labels = Box::leak(labels.into_boxed_slice());
    column.names = Box::leak(names.into_boxed_slice());
}

/// Each column named under `key` (lists of column names) is one of the table's, or an error at its place.
fn check_named(
    root: &Node,
    file: &str,
    key: &str,
    lists: &[Vec<String>],
    known: &dyn Fn(&str) -> bool,
    errors: &mut Vec<Diagnostic>,
) {
    for (index, list) in lists.iter().enumerate() {
        for (i, column) in list.iter().enumerate() {
            if !known(column) {
                let path = [PathPart::Key(key.to_string()), PathPart::Index(index), PathPart::Index(i)];
                errors.push(
                    Diagnostic::invalid(format!("`{key}` names `{column}`, which is not a column of this table"))
                        .at(Some(root.find(&path, false).location(file))),
                );
            }
        }
    }
}

/// Remembers where each reference of `table` written in `columns` was written.
fn note_references(
    table: &TableSpec,
    columns: Option<&Node>,
    file: &str,
    declared: &mut HashMap<(String, String), Location>,
) {
    let Some(columns) = columns else { return };
    for c in table.columns.iter().filter(|c| c.references.is_some()) {
        if let Some(node) = columns.get(c.name) {
            let place = node.get("references").unwrap_or(node);
            declared.insert((table.name.to_string(), c.name.to_string()), place.location(file));
        }
    }
}

/// Each reference names a table among `tables` and a unique key of it;
/// `declared` places the references a project wrote.
fn check_references(tables: &[TableSpec], declared: &HashMap<(String, String), Location>) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for t in tables {
        for c in t.columns {
            let Some((target, column)) = c.references else { continue };
            let ok = tables.iter().find(|x| x.name == target).is_some_and(|x| x.unique.iter().any(|k| k == &[column]));
            if !ok {
                let keys: Vec<String> = tables
                    .iter()
                    .flat_map(|x| x.unique.iter().filter(|k| k.len() == 1).map(move |k| format!("{}.{}", x.name, k[0])))
                    .collect();
                errors.push(
                    Diagnostic::invalid(format!(
                        "table `{}`: column `{}` references {target}.{column}, which is not a table's unique key",
                        t.name, c.name
                    ))
                    .at(declared.get(&(t.name.to_string(), c.name.to_string())).cloned())
                    .hint(format!("a reference names a one-column unique key: {}", keys.join(", "))),
                );
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each mistake in a table file is reported at its line and column, all at once.
    #[test]
    fn a_broken_table_file_points_at_each_mistake() {
        let text = "table: visits\nrow: a home visit\nunique:\n  - [visit_id, nowhere]\ncolumns:\n  visit_id:\n    type: string\n    required: true\n  minutes:\n    type: integr\n  kind:\n    type: string\n    codes:\n      home: [家访]\n      call: [家访]\n  school_id:\n    type: string\n    references: schools\n  size:\n    type: int\n    min: 5\n    max: 1\n    colour: red\n";
        let errors = parse_table(text, "visits.yaml").unwrap_err();
        let found: Vec<(usize, usize, &str)> = errors
            .iter()
            .map(|e| {
                let l = e.location.as_ref().unwrap();
                (l.line, l.column, e.message.as_str())
            })
            .collect();
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let expect = [
            (line_of("type: integr"), "column `minutes`: unknown variant `integr`"),
            (line_of("call: [家访]"), "column `kind`: the label \"家访\" is given to both `home` and `call`"),
            (line_of("references: schools"), "column `school_id`: `references` must be TABLE.COLUMN"),
            (line_of("colour: red"), "column `size`: unknown field `colour`"),
            (line_of("nowhere"), "`unique` names `nowhere`, which is not a column of this table"),
        ];
        assert_eq!(found.len(), expect.len(), "{found:?}");
        for ((line, _, message), (want_line, want)) in found.iter().zip(expect) {
            assert!(message.starts_with(want), "{message} (wanted {want})");
            assert_eq!(*line, want_line, "{message}");
        }
        // The unknown key column is pointed at itself: `nowhere` in `[visit_id, nowhere]`.
        assert_eq!(found[4].1, text.lines().nth(3).unwrap().find("nowhere").unwrap() + 1);
    }

    /// The built-in contract, read from its YAML files, has the seventeen tables
    /// and the rules the figures rest on.
    #[test]
    fn the_built_in_contract_is_read_from_its_files() {
        let names: Vec<&str> = table_names().collect();
        assert_eq!(
            names,
            [
                "schools",
                "enrolment",
                "classes",
                "services",
                "cases",
                "screenings",
                "incidents",
                "outcomes",
                "attendance",
                "centres",
                "followups",
                "appointments",
                "feedback",
                "workers",
                "rosters",
                "holidays",
                "terms",
            ]
        );
        // A service names its school or its district centre, never both, never neither.
        assert_eq!(table("services").unwrap().one_of, &[&["school_id", "centre_id"][..]]);
        assert!(!table("services").unwrap().column("school_id").unwrap().required);
        let services = table("services").unwrap();
        let participants = services.column("participants").unwrap();
        assert_eq!(
            (participants.ty, participants.required, participants.min, participants.max),
            (ColumnType::Int, true, Some(1.0), Some(100_000.0))
        );
        assert_eq!(services.column("case_id").unwrap().references, Some(("cases", "case_id")));
        let types = services.column("service_type").unwrap();
        assert_eq!(types.codes.unwrap().len(), 13);
        assert!(types.labels.contains(&("面询", "consultation")));
        assert!(services.column("school_id").unwrap().headers.contains(&"学校编号"));
        assert_eq!(table("cases").unwrap().ordered_dates, &[("opened_on", "closed_on"), ("leave_on", "returned_on")]);
    }

    #[test]
    fn a_one_of_group_names_two_optional_columns() {
        let text = "table: t\nrow: r\none_of:\n  - [a, b]\n  - [a]\n  - [a, c]\n  - [a, nowhere]\ncolumns:\n  a: {type: string}\n  b: {type: string}\n  c: {type: string, required: true}\n";
        let errors = parse_table(text, "t.yaml").unwrap_err();
        let found: Vec<(String, usize)> =
            errors.iter().map(|e| (e.message.clone(), e.location.as_ref().unwrap().line)).collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].0.contains("`nowhere`"), "{found:?}");
        assert_eq!(found[1], ("a `one_of` group names two or more columns, none of them required".to_string(), 5));
        assert_eq!(found[2].1, 6);
        let good = "table: t\nrow: r\none_of:\n  - [a, b]\ncolumns:\n  a: {type: string}\n  b: {type: string}\n";
        assert_eq!(parse_table(good, "t.yaml").unwrap().one_of, &[&["a", "b"][..]]);
    }

    #[test]
    fn every_meaning_names_a_contract_column() {
        for (table_name, column, _) in meanings() {
            assert!(table(table_name).and_then(|t| t.column(column)).is_some(), "{table_name}.{column}");
        }
    }

    #[test]
    fn every_reference_points_at_a_unique_key() {
        for t in tables() {
            for c in t.columns {
                if let Some((table_name, column)) = c.references {
                    let target = table(table_name).expect("referenced table exists");
                    assert!(
                        target.unique.iter().any(|k| k == &[column]),
                        "{}.{} -> {table_name}.{column}",
                        t.name,
                        c.name
                    );
                }
            }
            for key in t.unique {
                for k in *key {
                    assert!(t.column(k).is_some(), "{}: unique key column {k}", t.name);
                }
            }
        }
    }

    #[test]
    fn labels_map_to_real_codes() {
        for (column, _, code) in labels() {
            let codes: Vec<&str> = tables()
                .iter()
                .filter_map(|t| t.column(column))
                .filter_map(|c| c.codes)
                .flat_map(|c| c.iter().copied())
                .collect();
            assert!(codes.contains(code), "{column}: {code}");
        }
    }
}
