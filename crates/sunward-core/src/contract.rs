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

use crate::diag::{Diagnostic, Location};
use crate::validate::error_path;
use crate::yaml::{self, Node, PathPart};
use serde::{Deserialize, Serialize};
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
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::String => "string",
            ColumnType::Int => "integer",
            ColumnType::Float => "number",
            ColumnType::Date => "date",
            ColumnType::Bool => "boolean",
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
}

impl TableSpec {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The contract table called `name`.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    tables().iter().find(|t| t.name == name)
}

/// The names of all contract tables.
pub fn table_names() -> impl Iterator<Item = &'static str> {
    tables().iter().map(|t| t.name)
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
/// table, column and code order. Offered as hints when a value is outside
/// its code list.
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
];

/// Every table of the built-in contract, in order.
pub fn tables() -> &'static [TableSpec] {
    static TABLES: OnceLock<Vec<TableSpec>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut tables = Vec::new();
        let mut errors = Vec::new();
        for (file, text) in BUILTIN {
            match parse_table(text, file) {
                Ok(t) => tables.push(t),
                Err(e) => errors.extend(e),
            }
        }
        errors.extend(check_references(&tables));
        // The built-in files are part of the program, checked by its tests.
        assert!(
            errors.is_empty(),
            "the built-in contract is broken: {}",
            errors.iter().map(|e| e.render(None)).collect::<String>()
        );
        tables
    })
}

/// A table file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    /// The table's name.
    table: String,
    /// What one row is.
    row: String,
    /// Unique keys.
    #[serde(default)]
    unique: Vec<Vec<String>>,
    /// Pairs of dates, the second not before the first.
    #[serde(default)]
    ordered_dates: Vec<(String, String)>,
    /// The columns, in order (read from the YAML map itself, to keep its order and places).
    columns: serde_json::Map<String, serde_json::Value>,
}

/// A column as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnFile {
    #[serde(rename = "type")]
    ty: ColumnType,
    #[serde(default)]
    required: bool,
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

/// Read one table file (`file` names it in messages). Every mistake is
/// reported, each at its line and column.
pub fn parse_table(text: &str, file: &str) -> Result<TableSpec, Vec<Diagnostic>> {
    let root = yaml::parse(text, file).map_err(|d| vec![d])?;
    let at = |node: &Node| Location { file: file.to_string(), line: node.span.line, column: node.span.column };
    let typed_error = |node: &Node, err: serde_path_to_error::Error<serde_json::Error>, what: &str| {
        let path = error_path(&err);
        let place = node.find(&path, false);
        Diagnostic::invalid(format!("{what}: {}", err.inner()))
            .at(Some(at(place)))
            .hint("see contract/README.md for the fields of a table and of a column")
    };
    let table: TableFile = serde_path_to_error::deserialize(root.to_json())
        .map_err(|e| vec![typed_error(&root, e, "this is not a contract table")])?;
    let columns_node = root.get("columns").unwrap_or(&root);
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    for (name, value) in &table.columns {
        let node = columns_node.get(name).unwrap_or(columns_node);
        let column: ColumnFile = match serde_path_to_error::deserialize(value.clone()) {
            Ok(c) => c,
            Err(e) => {
                errors.push(typed_error(node, e, &format!("column `{name}`")));
                continue;
            }
        };
        let references = match column.references.as_deref().map(|r| r.split_once('.')) {
            None => None,
            Some(Some((t, c))) if !t.is_empty() && !c.is_empty() => Some((leak(t.to_string()), leak(c.to_string()))),
            Some(_) => {
                let place = node.get("references").unwrap_or(node);
                errors.push(
                    Diagnostic::invalid(format!("column `{name}`: `references` must be TABLE.COLUMN"))
                        .at(Some(at(place)))
                        .hint("for example `references: schools.school_id`"),
                );
                None
            }
        };
        if let (Some(min), Some(max)) = (column.min, column.max)
            && min > max
        {
            errors
                .push(Diagnostic::invalid(format!("column `{name}`: min {min} is above max {max}")).at(Some(at(node))));
        }
        let (codes, labels) = match &column.codes {
            None => (None, Vec::new()),
            Some(codes) => {
                let codes_node = node.get("codes").unwrap_or(node);
                let mut labels: Vec<(&'static str, &'static str)> = Vec::new();
                for (code, spelled) in codes {
                    let code_node = codes_node.get(code).unwrap_or(codes_node);
                    let written: Vec<String> = match serde_json::from_value(spelled.clone()) {
                        Ok(w) => w,
                        Err(_) => {
                            errors.push(
                                Diagnostic::invalid(format!(
                                    "column `{name}`, code `{code}`: expected a list of the labels exports write for it"
                                ))
                                .at(Some(at(code_node)))
                                .hint("for example `case_session: [个案辅导, 个案介入]`, or `[]` for none"),
                            );
                            continue;
                        }
                    };
                    let code = leak(code.clone());
                    for label in written {
                        if let Some((_, other)) = labels.iter().find(|(l, _)| *l == label) {
                            errors.push(
                                Diagnostic::invalid(format!(
                                    "column `{name}`: the label \"{label}\" is given to both `{other}` and `{code}`"
                                ))
                                .at(Some(at(code_node))),
                            );
                            continue;
                        }
                        labels.push((leak(label), code));
                    }
                }
                (Some(leak_all(codes.keys().cloned().collect())), labels)
            }
        };
        columns.push(ColumnSpec {
            name: leak(name.clone()),
            ty: column.ty,
            required: column.required,
            codes,
            min: column.min,
            max: column.max,
            references,
            meaning: column.meaning.map(leak),
            headers: leak_all(column.headers),
            labels: Box::leak(labels.into_boxed_slice()),
        });
    }
    // Each column a key or a date pair names, at its own place.
    let named = |list: &[String], key: &str, index: usize, errors: &mut Vec<Diagnostic>| {
        for (i, column) in list.iter().enumerate() {
            if !table.columns.contains_key(column) {
                let path = [PathPart::Key(key.to_string()), PathPart::Index(index), PathPart::Index(i)];
                errors.push(
                    Diagnostic::invalid(format!("`{key}` names `{column}`, which is not a column of this table"))
                        .at(Some(at(root.find(&path, false)))),
                );
            }
        }
    };
    for (i, key) in table.unique.iter().enumerate() {
        named(key, "unique", i, &mut errors);
    }
    for (i, (a, b)) in table.ordered_dates.iter().enumerate() {
        named(&[a.clone(), b.clone()], "ordered_dates", i, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let unique: Vec<&'static [&'static str]> = table.unique.into_iter().map(leak_all).collect();
    let ordered: Vec<(&'static str, &'static str)> =
        table.ordered_dates.into_iter().map(|(a, b)| (leak(a), leak(b))).collect();
    Ok(TableSpec {
        name: leak(table.table),
        row: leak(table.row),
        columns: Box::leak(columns.into_boxed_slice()),
        unique: Box::leak(unique.into_boxed_slice()),
        ordered_dates: Box::leak(ordered.into_boxed_slice()),
    })
}

/// Each reference names a table among `tables` and a unique key of it.
fn check_references(tables: &[TableSpec]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for t in tables {
        for c in t.columns {
            let Some((target, column)) = c.references else { continue };
            let ok = tables.iter().find(|x| x.name == target).is_some_and(|x| x.unique.iter().any(|k| k == &[column]));
            if !ok {
                errors.push(Diagnostic::invalid(format!(
                    "table `{}`: column `{}` references {target}.{column}, which is not a table's unique key",
                    t.name, c.name
                )));
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

    /// The built-in contract, read from its YAML files, has the nine tables
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
                "attendance"
            ]
        );
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
        assert_eq!(table("cases").unwrap().ordered_dates, &[("opened_on", "closed_on")]);
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
