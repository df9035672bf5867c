//! The units a report is rendered for (one per row of its `for_each`
//! table, each with the key that names its files) and what a unit brings
//! with it: the targets judged for it, and the schools of the hierarchy
//! table that make up an organisation or a district.

use std::collections::BTreeMap;
use sunward_core::{Diagnostic, Result, RunContext, TableData};
use sunward_render::Lang;

use super::config::ReportSinkConfig;
use super::{targets, values};
use crate::sinks::table;

/// The documents a report writes: one per row of its `for_each` table, by
/// the row's key as it appears in file names (one, unnamed, without it).
pub(super) fn units(
    config: &ReportSinkConfig,
    tables: &[TableData],
    lang: Lang,
) -> Result<Vec<(String, minijinja::Value)>> {
    match &config.for_each {
        None => Ok(vec![(String::new(), minijinja::Value::from(()))]),
        Some(each) => {
            let mut rows = values::rows(table(tables, &each.table)?)?;
            if lang == Lang::En {
                values::in_english(&mut rows);
            }
            let mut units = Vec::new();
            for row in rows {
                let key = row.get(&each.key).filter(|v| !v.is_none()).ok_or_else(|| {
                    Diagnostic::invalid(format!(
                        "for_each: table \"{}\" has no column \"{}\" (or a row where it is null)",
                        each.table, each.key
                    ))
                    .hint("`for_each: {table: units, key: unit_id}` names the column that names each report")
                })?;
                units.push((file_safe(&key.to_string()), minijinja::Value::from(row)));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some((dup, _)) = units.iter().find(|(k, _)| !seen.insert(k.clone())) {
                return Err(Diagnostic::invalid(format!(
                    "for_each: two rows of \"{}\" have the key \"{dup}\"; each report needs its own file",
                    each.table
                )));
            }
            Ok(units)
        }
    }
}

/// The unit's key as a file-name part: path separators and control characters become `_`.
fn file_safe(key: &str) -> String {
    key.chars().map(|c| if c == '/' || c == '\\' || c.is_control() || c == ':' { '_' } else { c }).collect()
}

/// The hierarchy table's rows: school, its name (in English in an English report), organisation and district.
pub(super) fn hierarchy_rows(t: &TableData, lang: Lang) -> Result<Vec<targets::SchoolRow>> {
    let text =
        |row: &BTreeMap<String, minijinja::Value>, c: &str| row.get(c).filter(|v| !v.is_none()).map(|v| v.to_string());
    let mut rows = values::rows(t)?;
    if lang == Lang::En {
        values::in_english(&mut rows);
    }
    let mut out = Vec::new();
    for row in rows {
        let school = text(&row, "school_id").ok_or_else(|| {
            Diagnostic::invalid(format!("hierarchy: table \"{}\" has no school_id (or a row where it is null)", t.name))
                .hint("`hierarchy:` names the schools table: school_id, org_id, district_id")
        })?;
        out.push(targets::SchoolRow {
            school,
            name: text(&row, "school_name"),
            org: text(&row, "org_id"),
            district: text(&row, "district_id"),
        });
    }
    Ok(out)
}

/// The targets of one unit (`targets:`), each with the places it is judged for.
pub(super) fn unit_targets(
    config: &ReportSinkConfig,
    ctx: &RunContext,
    key: &str,
    unit: &minijinja::Value,
    members: &BTreeMap<(String, String), Vec<targets::Place>>,
) -> Result<Vec<targets::Resolved>> {
    let list = match &config.targets {
        None => return Ok(Vec::new()),
        Some(targets::TargetsSource::List(list)) => list.clone(),
        Some(targets::TargetsSource::File(path)) => {
            targets::read_file(&ctx.input_path(&ctx.interpolate(path)?.replace("{unit}", key))?)?
        }
    };
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let field =
        |name: &str| unit.get_attr(name).ok().filter(|v| !v.is_undefined() && !v.is_none()).map(|v| v.to_string());
    let (Some(unit_type), Some(unit_id)) = (field("unit_type"), field("unit_id")) else {
        return Err(Diagnostic::invalid(
            "targets: the report's units have no unit_type and unit_id, so no target can be judged",
        )
        .hint("render with `for_each` over a table with unit_type, unit_id and name columns"));
    };
    let label = field("name").unwrap_or_else(|| unit_id.clone());
    let own = targets::Place { unit_type: unit_type.clone(), unit_id: unit_id.clone(), label };
    list.into_iter()
        .map(|target| {
            let places = match target.each {
                None => vec![own.clone()],
                Some(targets::Each::School) => {
                    let schools = members.get(&(unit_type.clone(), unit_id.clone())).cloned().unwrap_or_default();
                    if schools.is_empty() {
                        return Err(Diagnostic::invalid(format!(
                            "targets: \"{}\" is judged for each school, but no school of {unit_type} {unit_id} is known",
                            target.metric
                        ))
                        .hint("`each: school` needs `hierarchy: schools` on the report output"));
                    }
                    schools
                }
            };
            Ok(targets::Resolved { target, places })
        })
        .collect()
}
