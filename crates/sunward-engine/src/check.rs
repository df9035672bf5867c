//! The checks that need the files: every input exists and can be opened, and
//! every step plans against the real schemas of its inputs.
//!
//! Validation in `sunward-core` is pure; this pass runs after it (in
//! `sunward validate` and before every `sunward run`). It reads only headers
//! and schemas, never the rows, and registers empty tables so that each SQL
//! step is planned by DataFusion exactly as it will run, reporting unknown
//! columns, type errors and the like with the step's place in the pipeline.

use crate::ingest::{declared_schema, schema_without_file};
use crate::session::{SessionOptions, new_session};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::sync::Arc;
use sunward_core::model::Entry;
use sunward_core::validate::find_word_after;
use sunward_core::yaml::Span;
use sunward_core::{Diagnostic, ErrorKind, Plan, PluginKind, StepContext};

/// The error for an input file that is not there, or `None` when it is.
fn missing_input(plan: &Plan, file: &std::path::Path) -> Option<Diagnostic> {
    if file.is_file() {
        return None;
    }
    let what = if file.exists() { "is not a file" } else { "does not exist" };
    Some(Diagnostic::invalid(format!("input file {} {what}", file.display())).hint(format!(
        "relative paths resolve against the pipeline's folder ({}); a path given with --set against the current folder",
        plan.run.pipeline_dir.display()
    )))
}

/// The input files of a validated plan that are not there, each an error at
/// its source, leaving out those `made_earlier` says an earlier pipeline of
/// the same workflow writes. Cheap: it opens no file.
pub fn missing_inputs(plan: &Plan, made_earlier: &dyn Fn(&std::path::Path) -> bool) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for source in plan.sources.iter().filter(|s| !s.options.optional) {
        let Ok(files) = source.plugin.files(&source.config, &plan.run) else { continue };
        for file in files.iter().filter(|f| !made_earlier(f)) {
            if let Some(d) = missing_input(plan, file) {
                diags.push(
                    d.at(plan.location_of(PluginKind::Source, &source.name))
                        .in_context(format!("sources.{}", source.name)),
                );
            }
        }
    }
    diags
}

/// The header of every contract source's file against its contract: a
/// required column the header lacks, each an error at its source. What
/// `validate` adds to [`check`]: a run finds the same when it loads the
/// file, before anything is written, without opening it twice.
pub fn header_problems(plan: &Plan) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for source in plan.sources.iter().filter(|s| s.options.contract.is_some()) {
        let present = source.plugin.files(&source.config, &plan.run).is_ok_and(|f| f.iter().all(|f| f.is_file()));
        if !present {
            continue;
        }
        let fits = source
            .plugin
            .open(&source.config, &plan.run)
            .and_then(|r| declared_schema(&source.options, Some(r.headers())));
        if let Err(d) = fits {
            let d = if d.location.is_none() { d.at(plan.location_of(PluginKind::Source, &source.name)) } else { d };
            diags.push(if d.context.is_none() { d.in_context(format!("sources.{}", source.name)) } else { d });
        }
    }
    diags
}

/// Check a validated plan against its files. Returns every problem found.
pub async fn check(plan: &Plan) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut schemas = source_schemas(plan, &mut diags);
    let session = match planning_session(plan) {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return diags;
        }
    };
    for (name, schema) in &schemas {
        if let Err(d) = register_empty(&session, name, schema) {
            diags.push(d);
        }
    }
    let function_errors = check_functions(plan, &session).await;
    let broken = broken_calls(&function_errors);
    diags.extend(function_errors);
    diags.extend(check_steps(plan, &session, &mut schemas, &broken).await);
    diags.extend(check_checks(plan, &session, &schemas).await);
    diags.extend(internal_tables_published(plan));
    diags.extend(outputs_preflight(plan));
    diags
}

/// The schema of every source that can be read, by table name; a source
/// that cannot adds its errors to `diags`, each at the source.
fn source_schemas(plan: &Plan, diags: &mut Vec<Diagnostic>) -> HashMap<String, SchemaRef> {
    let mut schemas = HashMap::new();
    for source in &plan.sources {
        let context = format!("sources.{}", source.name);
        let located = |d: Diagnostic| {
            let d = if d.location.is_none() { d.at(plan.location_of(PluginKind::Source, &source.name)) } else { d };
            if d.context.is_none() { d.in_context(&context) } else { d }
        };
        let files = match source.plugin.files(&source.config, &plan.run) {
            Ok(files) => files,
            Err(d) => {
                diags.push(located(d));
                continue;
            }
        };
        let missing: Vec<Diagnostic> = files.iter().filter_map(|f| missing_input(plan, f)).map(located).collect();
        let absent = !missing.is_empty();
        if absent && !source.options.optional {
            diags.extend(missing);
            continue;
        }
        // A contract source's columns are the contract's: its file is not
        // opened here (a run reads its header when it loads it; `validate`
        // reads it with [`header_problems`]). An optional source whose file
        // is missing is an empty table of its declared columns.
        let schema = if absent {
            schema_without_file(&source.options)
        } else if source.options.contract.is_some() {
            declared_schema(&source.options, None)
        } else {
            source
                .plugin
                .open(&source.config, &plan.run)
                .and_then(|reader| declared_schema(&source.options, Some(reader.headers())))
        };
        match schema {
            Ok(schema) => {
                schemas.insert(source.name.clone(), schema);
            }
            Err(d) => diags.push(located(d)),
        }
    }
    schemas
}

/// A session that only plans: one partition, the plan's SQL functions, and
/// the place in its SQL text of every name it resolves recorded, so that an
/// unknown column's error says where the column is written.
fn planning_session(plan: &Plan) -> Result<SessionContext, Diagnostic> {
    let session = new_session(&SessionOptions {
        memory_limit: None,
        target_partitions: Some(1),
        functions: plan.functions.clone(),
    })?;
    session.state_ref().write().config_mut().options_mut().sql_parser.collect_spans = true;
    Ok(session)
}

/// Register an empty table of `schema` as `name`, for planning against it.
fn register_empty(session: &SessionContext, name: &str, schema: &SchemaRef) -> Result<(), Diagnostic> {
    let table = MemTable::try_new(schema.clone(), vec![vec![]])?;
    session.register_table(name, Arc::new(table))?;
    Ok(())
}

/// The calls (`name(`) of the declared functions whose body does not plan,
/// from their errors: a step calling one fails for the same reason, and its
/// error would only repeat it, at a worse place.
fn broken_calls(function_errors: &[Diagnostic]) -> Vec<String> {
    function_errors
        .iter()
        .filter_map(|d| d.context.as_deref()?.strip_prefix("functions.").map(|n| format!("{n}(")))
        .collect()
}

/// Plan every step, in order, on empty tables of its inputs' schemas; each
/// step that plans adds its own schema to `schemas`. A step that does not
/// plan is an error at its place (see [`step_error`]).
async fn check_steps(
    plan: &Plan,
    session: &SessionContext,
    schemas: &mut HashMap<String, SchemaRef>,
    broken: &[String],
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for step in &plan.steps {
        if step.inputs.iter().any(|i| !schemas.contains_key(i)) {
            continue; // an input failed already; its error is reported
        }
        let ctx = StepContext { session, run: &plan.run, name: &step.name };
        match step.plugin.run(&step.config, &ctx).await {
            Ok(df) => {
                let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
                match register_empty(session, &step.name, &schema) {
                    Ok(()) => {
                        schemas.insert(step.name.clone(), schema);
                    }
                    Err(d) => diags.push(d),
                }
            }
            Err(d) => diags.extend(step_error(plan, &step.name, d, broken)),
        }
    }
    diags
}

/// A step's planning error as reported: at the name DataFusion could not
/// resolve when it can be found in the pipeline file (else at the step's
/// name; a package's step at its name in the package's file), or `None`
/// when the step calls a function whose body is broken (reported already).
fn step_error(plan: &Plan, step: &str, mut d: Diagnostic, broken: &[String]) -> Option<Diagnostic> {
    d.kind = ErrorKind::Invalid;
    let entry = plan.pipeline.section(PluginKind::Transform).find(|e| e.name == step);
    let written = entry.map(|e| e.node.to_json().to_string().to_lowercase()).unwrap_or_default();
    let wrong_call = d.message.contains("() is a function declared under");
    if !wrong_call && broken.iter().any(|call| written.contains(call.as_str())) {
        return None;
    }
    let start = entry.map(|e| e.name_span).unwrap_or_default();
    // A package's step is pointed at by its name in the package's file.
    let elsewhere = entry.and_then(|e| e.file.clone());
    let near = match elsewhere {
        None => entry
            .and_then(|e| place_in_query(&plan.pipeline.text, e, &d))
            .or_else(|| offending_name(&d.message).and_then(|n| find_word_after(&plan.pipeline.text, start, &n))),
        Some(_) => None,
    };
    let span: Span = near.unwrap_or(start);
    if d.location.is_none() {
        d = d.at(Some(sunward_core::Location {
            file: elsewhere.unwrap_or_else(|| plan.pipeline.file.clone()),
            line: span.line,
            column: span.column,
        }));
    }
    Some(d.in_context(format!("steps.{step}")))
}

/// Where in the pipeline file `text` a step's `query:` goes wrong, from
/// DataFusion's own account of the error: the place in the query of the
/// name it could not resolve (its diagnostic's span), carried over into
/// the YAML scalar that holds the query. `None` when the error carries no
/// place, the step has no `query:` written as it reads, or the text at the
/// place is not a name the error mentions (a place in a function's body,
/// expanded into the query, is not a place in the query).
fn place_in_query(text: &str, entry: &Entry, d: &Diagnostic) -> Option<Span> {
    let error = d.source.as_deref()?.downcast_ref::<DataFusionError>()?;
    let at = error.diagnostic()?.span?.start;
    let (line, column) = (usize::try_from(at.line).ok()?, usize::try_from(at.column).ok()?);
    let node = entry.node.get("query")?;
    let query_line = node.as_str()?.split('\n').nth(line.checked_sub(1)?)?;
    let word: String = query_line
        .chars()
        .skip(column.checked_sub(1)?)
        .skip_while(|c| matches!(c, '"' | '`'))
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if word.is_empty() || !d.message.to_lowercase().contains(&word.to_lowercase()) {
        return None;
    }
    node.place_in_scalar(text, line, column)
}

/// What each output reads besides its tables (a report's template and
/// catalogues), each problem at the output.
fn outputs_preflight(plan: &Plan) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for output in &plan.outputs {
        for d in output.plugin.preflight(&output.config, &plan.run) {
            let d = if d.location.is_none() { d.at(plan.location_of(PluginKind::Sink, &output.name)) } else { d };
            diags.push(if d.context.is_none() { d.in_context(format!("outputs.{}", output.name)) } else { d });
        }
    }
    diags
}

/// A public output reading a table marked `internal: true`, as an error at the output.
fn internal_tables_published(plan: &Plan) -> Vec<Diagnostic> {
    let internal: Vec<&str> = plan.steps.iter().filter(|s| s.options.internal).map(|s| s.name.as_str()).collect();
    let mut diags = Vec::new();
    for output in &plan.outputs {
        if internal.is_empty() || !output.plugin.publishes(&output.config, &plan.run) {
            continue;
        }
        for table in output.inputs.iter().filter(|t| internal.contains(&t.as_str())) {
            diags.push(
                Diagnostic::invalid(format!(
                    "`{table}` is marked `internal: true` (it lists single cases or students) and this output is public"
                ))
                .at(plan.location_of(PluginKind::Sink, &output.name))
                .in_context(format!("outputs.{}", output.name))
                .hint("print it in an internal edition (`audience: internal`), or publish counts made from it by another step"),
            );
        }
    }
    diags
}

/// Plan each data check's query against the tables' schemas, so a misspelt
/// column or an expression that does not plan is found before the run.
async fn check_checks(plan: &Plan, session: &SessionContext, schemas: &HashMap<String, SchemaRef>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for check in &plan.checks {
        if !schemas.contains_key(&check.spec.table) || check.reads.iter().any(|t| !schemas.contains_key(t)) {
            continue; // the table failed already; its error is reported
        }
        let query = check.failing_rows_sql().unwrap_or_else(|| {
            format!("SELECT COUNT(*) FROM {}", sunward_core::checks::quote_ident(&check.spec.table))
        });
        let ctx = StepContext { session, run: &plan.run, name: &check.name };
        if let Err(d) = ctx.sql(&query).await {
            let near = offending_name(&d.message)
                .filter(|_| check.file.is_none())
                .and_then(|n| find_word_after(&plan.pipeline.text, check.span, &n))
                .unwrap_or(check.span);
            let message =
                d.message.replacen("the query does not plan", &format!("the check {} does not plan", check.name), 1);
            diags.push(
                Diagnostic::invalid(message)
                    .at(Some(sunward_core::Location {
                        file: check.file.clone().unwrap_or_else(|| plan.pipeline.file.clone()),
                        line: near.line,
                        column: near.column,
                    }))
                    .in_context(check.context.clone())
                    .hint(format!(
                        "columns of {}: {}",
                        check.spec.table,
                        schemas[&check.spec.table]
                            .fields()
                            .iter()
                            .map(|f| f.name().as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
            );
        }
    }
    diags
}

/// Plan each declared function's body with its declared types: each
/// parameter a typed null, the result cast to the declared type.
async fn check_functions(plan: &Plan, session: &SessionContext) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for function in plan.run.sql_functions.iter() {
        let query = plan.run.sql_functions.probe_query(function);
        let Err(e) = session.sql_with_options(&query, StepContext::sql_options()).await else { continue };
        let mut place = function.body_place.clone();
        if place.file == plan.pipeline.file
            && let Some(name) = offending_name(&e.message())
            && let Some(span) = find_word_after(&plan.pipeline.text, Span { line: place.line, column: 1 }, &name)
        {
            place.line = span.line;
            place.column = span.column;
        }
        let params: Vec<String> = function
            .params
            .iter()
            .map(|(p, t)| format!("{p} ({})", sunward_core::sql_functions::type_name(*t)))
            .collect();
        let hint = if params.is_empty() {
            "the function has no parameters: its body may use constants and other functions only".to_string()
        } else {
            format!("a body may use only its parameters — {} — and functions", params.join(", "))
        };
        diags.push(
            Diagnostic::invalid(format!(
                "the body of {}() does not plan with its declared types: {}",
                function.name,
                e.message()
            ))
            .at(Some(place))
            .in_context(format!("functions.{}", function.name))
            .hint(hint),
        );
    }
    diags
}

/// The column or table a DataFusion planning error names, to point at it.
fn offending_name(message: &str) -> Option<String> {
    // A declared function called wrongly: point at the call.
    if let Some(pos) = message.find("() is a function declared under") {
        let name: String = message[..pos]
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !name.is_empty() {
            return Some(name);
        }
    }
    for marker in ["No field named ", "table '", "Invalid function '"] {
        if let Some(pos) = message.find(marker) {
            let rest = &message[pos + marker.len()..];
            let name: String = rest
                .trim_start_matches(['"', '\'', '`'])
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            let name = name.trim_end_matches('.').rsplit('.').next().unwrap_or_default().to_string();
            if !name.is_empty() {
                return Some(name);
            }
        }
    }
    None
}

/// Whether a source cannot be read before the run: a `produced_by` table,
/// or a file missing or written by an earlier pipeline of the workflow.
fn unreadable_source<'a>(
    plan: &'a Plan,
    made_earlier: &'a dyn Fn(&std::path::Path) -> bool,
) -> impl Fn(&str) -> bool + 'a {
    move |name: &str| {
        plan.sources.iter().find(|s| s.name == name).is_none_or(|s| {
            s.options.produced_by.is_some()
                || s.plugin
                    .files(&s.config, &plan.run)
                    .map_or(true, |files| files.iter().any(|f| !f.is_file() || made_earlier(f)))
        })
    }
}

fn placed_at_output(plan: &Plan, output: &str, d: Diagnostic) -> Diagnostic {
    let d = if d.location.is_none() { d.at(plan.location_of(PluginKind::Sink, output)) } else { d };
    if d.context.is_none() { d.in_context(format!("outputs.{output}")) } else { d }
}

/// What each output needs for every row of a table (a report's text for
/// each unit), checked on that table computed before the run: every
/// problem at once, each at its output (see [`per_row_tables`]).
pub async fn per_row_problems(
    plan: &Plan,
    options: &crate::RunOptions,
    made_earlier: &dyn Fn(&std::path::Path) -> bool,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (output, rows) in per_row_tables(plan, options, made_earlier).await {
        match rows {
            Ok(Some(rows)) => diags.extend(
                output
                    .plugin
                    .preflight_rows(&output.config, &plan.run, &rows)
                    .into_iter()
                    .map(|d| placed_at_output(plan, &output.name, d)),
            ),
            Ok(None) => {}
            Err(d) => diags.push(d),
        }
    }
    diags
}

/// First drafts of what a person writes per row and has not yet (each
/// report's texts, for each unit), as file and content.
pub async fn drafts(
    plan: &Plan,
    options: &crate::RunOptions,
    made_earlier: &dyn Fn(&std::path::Path) -> bool,
) -> Result<Vec<(std::path::PathBuf, String)>, Diagnostic> {
    let mut drafts = Vec::new();
    for (output, rows) in per_row_tables(plan, options, made_earlier).await {
        if let Some(rows) = rows? {
            drafts.extend(
                output
                    .plugin
                    .drafts(&output.config, &plan.run, &rows)
                    .map_err(|d| placed_at_output(plan, &output.name, d))?,
            );
        }
    }
    Ok(drafts)
}

/// Every parameter declared `in_data: table.column` whose value the data
/// does not hold there (a year with no records), each an error at its
/// declaration naming the values it does hold. The table is computed from
/// only what it rests on; one resting on a file not there yet is left alone.
pub async fn params_in_data(
    plan: &Plan,
    options: &crate::RunOptions,
    made_earlier: &dyn Fn(&std::path::Path) -> bool,
) -> Vec<Diagnostic> {
    let unreadable = unreadable_source(plan, made_earlier);
    let mut diags = Vec::new();
    // Each table once, however many parameters name it (a trend's first and
    // last year); `None` when it cannot be computed before the run.
    let mut tables: std::collections::HashMap<String, Option<sunward_core::TableData>> = Default::default();
    for param in &plan.pipeline.params {
        let Some(place) = &param.in_data else { continue };
        let location = sunward_core::Location {
            file: plan.pipeline.file.clone(),
            line: param.span.line,
            column: param.span.column,
        };
        let at = |d: Diagnostic| d.at(Some(location.clone())).in_context(format!("params.{}", param.name));
        let Some((table, column)) = place.split_once('.') else {
            diags.push(at(Diagnostic::invalid(format!("in_data: \"{place}\" is not table.column"))
                .hint("e.g. `in_data: periods.academic_year`")));
            continue;
        };
        if !tables.contains_key(table) {
            let rows = match crate::preview::table_rows(plan, table, options, &unreadable).await {
                Ok(rows) => rows,
                Err(d) => {
                    diags.push(at(d));
                    None
                }
            };
            tables.insert(table.to_string(), rows);
        }
        let Some(rows) = &tables[table] else { continue };
        let mut held = std::collections::BTreeSet::new();
        for batch in &rows.batches {
            let Some(values) = batch.column_by_name(column) else {
                diags.push(at(Diagnostic::invalid(format!("in_data: the table {table} has no column {column}"))));
                break;
            };
            let text = match datafusion::arrow::compute::cast(values, &datafusion::arrow::datatypes::DataType::Utf8) {
                Ok(text) => text,
                Err(e) => {
                    diags.push(at(Diagnostic::invalid(format!(
                        "in_data: the column {place} cannot be read as text: {e}"
                    ))));
                    break;
                }
            };
            if let Some(text) = text.as_any().downcast_ref::<datafusion::arrow::array::StringArray>() {
                held.extend(text.iter().flatten().map(str::to_string));
            }
        }
        let Some(value) = plan.run.params.get(&param.name).map(|v| v.to_string()) else { continue };
        if !held.contains(&value) {
            let list: Vec<&str> = held.iter().map(String::as_str).collect();
            let holds = if list.is_empty() { "nothing".to_string() } else { list.join(", ") };
            diags.push(at(Diagnostic::invalid(format!(
                "{} = {value}, but the data has no records there ({place} holds: {holds})",
                param.name
            ))
            .hint(format!(
                "set `{}` to one the data holds (in the project file, or --set {}=…)",
                param.name, param.name
            ))));
        }
    }
    diags
}

/// Each output that writes a document per row of a table, with that table
/// computed before the run from only what it rests on ([`crate::preview`]);
/// `Ok(None)` when it rests on a file not there yet (one that `made_earlier`
/// says an earlier pipeline writes) or on a `produced_by` table.
async fn per_row_tables<'p>(
    plan: &'p Plan,
    options: &crate::RunOptions,
    made_earlier: &dyn Fn(&std::path::Path) -> bool,
) -> Vec<(&'p sunward_core::validate::PlannedOutput, sunward_core::Result<Option<sunward_core::TableData>>)> {
    let unreadable = unreadable_source(plan, made_earlier);
    let mut tables = Vec::new();
    for output in &plan.outputs {
        let Some(table) = output.plugin.per_row(&output.config) else { continue };
        let rows = crate::preview::table_rows(plan, &table, options, &unreadable)
            .await
            .map_err(|d| placed_at_output(plan, &output.name, d));
        tables.push((output, rows));
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::{check, offending_name};
    use sunward_core::{ValidateOptions, validate_text};

    /// The errors `check` finds in a pipeline whose one step is `step`.
    async fn step_errors(step: &str) -> Vec<(usize, usize, String)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("services.csv"), "record_id,school_id,service_date,service_type\n").unwrap();
        let text = format!(
            "name: t\nsources:\n  services:\n    plugin: csv\n    path: services.csv\n    contract: services\nsteps:\n  kinds:\n    plugin: sql\n{step}"
        );
        let options = ValidateOptions {
            sets: vec![],
            cwd: dir.path().to_path_buf(),
            out_dir: dir.path().join("out"),
            today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        };
        let plan = validate_text(&text, "p.yaml", dir.path(), &sunward_plugins::builtin_registry(), &options)
            .unwrap_or_else(|d| panic!("{d:?}"));
        check(&plan)
            .await
            .into_iter()
            .map(|d| {
                let at = d.location.unwrap();
                (at.line, at.column, d.message)
            })
            .collect()
    }

    #[tokio::test]
    async fn an_unknown_column_is_placed_where_the_query_writes_it() {
        // `kind` is written twice: first as the alias (line 11, column 30),
        // then as a column, which it is not (line 12: 13 spaces, `COUNT(*) AS
        // n, ` — 15 characters — then `kind` at column 29). A search for the
        // word finds the first; DataFusion's place of the error is the second.
        let errors = step_errors(concat!(
            "    query: |\n",
            "      SELECT service_type AS kind,\n",
            "             COUNT(*) AS n, kind\n",
            "      FROM services GROUP BY service_type\n",
        ))
        .await;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].0, errors[0].1), (12, 29), "{errors:?}");
        assert!(errors[0].2.contains("No field named kind"), "{errors:?}");
        // The same on one line (line 10): `    query: ` is 11 characters, and
        // the second `kind` is at column 30 of the query.
        let errors = step_errors("    query: SELECT service_type AS kind, kind FROM services\n").await;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].0, errors[0].1), (10, 41), "{errors:?}");
    }

    #[test]
    fn names_in_planning_errors() {
        assert_eq!(
            offending_name("Schema error: No field named servce_type. Valid fields are a.b").as_deref(),
            Some("servce_type")
        );
        assert_eq!(offending_name("Schema error: No field named \"Foo\".").as_deref(), Some("Foo"));
        assert_eq!(offending_name("No field named s.school_id.").as_deref(), Some("school_id"));
        assert_eq!(offending_name("something else"), None);
        assert_eq!(
            offending_name("the query does not plan: ratio() is a function declared under `functions:` and …")
                .as_deref(),
            Some("ratio")
        );
    }
}
