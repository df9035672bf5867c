//! The figures a report reads and what the publication rules know of them:
//! the metrics table with its breakdowns added, the metric catalogue with
//! the project's own files (`catalogue:`), and the disclosure pattern every
//! public document of the metrics table shares.

use std::collections::BTreeMap;
use sunward_core::{Diagnostic, Result, RunContext, TableData};
use sunward_render::Lang;
use sunward_render::disclosure::{Adds, Catalogue, Hierarchy, Lattice, Pattern, Role, protect};

use super::catalogue;
use super::config::{Breakdown, ReportSinkConfig};
use super::typed::{self, Identity};
use super::units::hierarchy_rows;
use super::values::{self, Figures};
use crate::sinks::table;

/// The shipped metric catalogue with the files of `catalogue:` added, or
/// every mistake in them, each at its place.
pub(super) fn project_catalogue(
    config: &ReportSinkConfig,
    ctx: &RunContext,
) -> std::result::Result<Catalogue, Vec<Diagnostic>> {
    let mut catalogue = typed::catalogue().clone();
    for file in &config.catalogue {
        let path = ctx.input_path(&ctx.interpolate(file).map_err(|d| vec![d])?).map_err(|d| vec![d])?;
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            vec![
                Diagnostic::invalid(format!("cannot read the metric catalogue {shown}"))
                    .caused_by(e)
                    .hint("`catalogue:` names files relative to the pipeline's folder"),
            ]
        })?;
        catalogue = catalogue::extend(&catalogue, &text, &shown)?;
    }
    Ok(catalogue)
}

/// Every mistake of a file in one diagnostic: the first, with the others
/// (each with its place) in its hint.
pub(super) fn all_in_one(errors: Vec<Diagnostic>) -> Diagnostic {
    let mut errors = errors.into_iter();
    let Some(mut first) = errors.next() else { return Diagnostic::invalid("the file is broken") };
    let more: Vec<String> = errors
        .map(|e| match &e.location {
            Some(l) => format!("{}:{}:{}: {}", l.file, l.line, l.column, e.message),
            None => e.message.clone(),
        })
        .collect();
    if !more.is_empty() {
        let hint = first.hint.take().map(|h| format!("{h}\n")).unwrap_or_default();
        first.hint = Some(format!("{hint}also:\n  {}", more.join("\n  ")));
    }
    first
}

/// Adds the rows of a breakdown table to the figures, as `<metric>/<part>`
/// of each row's unit in the breakdown's period; every unit that has the
/// metric gets every part (0 where it has no row), and the catalogue learns
/// that the metric is the sum of its parts.
pub(super) fn add_breakdown(
    figures: &mut Figures,
    catalogue: &mut Catalogue,
    name: &str,
    breakdown: &Breakdown,
    tables: &[TableData],
    ctx: &RunContext,
) -> Result<()> {
    // One period for every row, or each row's own `period` column.
    let fixed = breakdown.period.as_deref().map(|p| ctx.interpolate(p)).transpose()?;
    let rows = values::rows(table(tables, name)?)?;
    let text = |row: &BTreeMap<String, minijinja::Value>, c: &str| -> Result<String> {
        row.get(c).filter(|v| !v.is_none()).map(|v| v.to_string()).ok_or_else(|| {
            Diagnostic::invalid(format!("breakdowns.{name}: table \"{name}\" has no column \"{c}\" (or a null in it)"))
                .hint("a breakdown table has unit_type, unit_id, the `by` column and the `value` column (and `period`, when the breakdown names none)")
        })
    };
    let mut parts: Vec<String> = Vec::new();
    let mut cells = Vec::with_capacity(rows.len());
    for row in &rows {
        let part = format!("{}/{}", breakdown.metric, text(row, &breakdown.by)?);
        let value: f64 = text(row, &breakdown.value)?.parse().map_err(|_| {
            Diagnostic::invalid(format!(
                "breakdowns.{name}: column \"{}\" holds a value that is not a number",
                breakdown.value
            ))
        })?;
        if !parts.contains(&part) {
            parts.push(part.clone());
        }
        let period = match &fixed {
            Some(p) => p.clone(),
            None => text(row, "period")?,
        };
        cells.push((text(row, "unit_type")?, text(row, "unit_id")?, period, part, value));
    }
    let mut periods: Vec<String> = cells.iter().map(|(_, _, p, _, _)| p.clone()).chain(fixed).collect();
    periods.sort();
    periods.dedup();
    // In each period, the parts of a unit the table lists are all its parts
    // (a part it lacks is 0); a unit whose metric is 0 has every part 0.
    // Other units (a district the table does not cover) get no parts.
    for period in &periods {
        let mut units: Vec<(String, String)> =
            cells.iter().filter(|(_, _, p, _, _)| p == period).map(|(t, u, _, _, _)| (t.clone(), u.clone())).collect();
        units.extend(
            figures
                .iter()
                .filter(|((_, _, p, m), v)| p == period && *m == breakdown.metric && **v == Some(0.0))
                .map(|((t, u, _, _), _)| (t.clone(), u.clone())),
        );
        units.sort();
        units.dedup();
        for (t, u) in &units {
            for part in &parts {
                figures.insert(t, u, period, part, Some(0.0));
            }
        }
    }
    for (t, u, period, part, value) in cells {
        figures.insert(&t, &u, &period, &part, Some(value));
    }
    let role = catalogue.role(&breakdown.metric).unwrap_or(Role::Count { adds: Adds::Sum });
    let part_refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    catalogue.add_with_parts(&breakdown.metric, role, &part_refs);
    Ok(())
}

/// The disclosure pattern of a public report's metrics table: which counts
/// every public document drawn from it withholds.
pub(super) fn disclosure_pattern(
    figures: &Figures,
    catalogue: &Catalogue,
    config: &ReportSinkConfig,
    tables: &[TableData],
    k: u64,
) -> Result<Pattern> {
    let Some(name) = &config.hierarchy else {
        return Err(Diagnostic::invalid(
            "a public report that reads `metrics:` must say which schools make up each organisation and district",
        )
        .hint("add `hierarchy: schools` (a table with school_id, org_id, district_id), so that no organisation's figure minus a school's gives a withheld count back"));
    };
    // Ids only: the names are not read here, so the language does not matter.
    let schools = hierarchy_rows(table(tables, name)?, Lang::ZhCn)?;
    let hierarchy =
        Hierarchy::from_schools(schools.iter().map(|r| (r.school.as_str(), r.org.as_deref(), r.district.as_deref())));
    let values = figures
        .iter()
        .map(|((t, u, p, m), v)| (Identity::new(t, u, p, m), *v))
        .collect::<std::collections::HashMap<_, _>>();
    let lattice = Lattice::build(&values, catalogue, &hierarchy);
    let pattern = protect(&lattice, k);
    if let Some(first) = pattern.unresolved.first() {
        return Err(Diagnostic::runtime(format!(
            "the publication rules cannot protect {} withheld count{} of this metrics table, e.g. {first}",
            pattern.unresolved.len(),
            if pattern.unresolved.len() == 1 { "" } else { "s" }
        ))
        .hint("publish this report as `audience: internal`, or raise the publication threshold"));
    }
    Ok(pattern)
}
