//! `sunward test PIPELINE`: the pipeline's data checks, then its tests.
//!
//! First, when the pipeline has `checks:`, it runs on its own inputs (with
//! `--set`) without writing any output, and every check is reported. Then each
//! test file in `tests/<pipeline>/` beside the pipeline file runs: it gives
//! rows for some sources (inline `rows:`, inline `csv:` or a small `file:`),
//! the other sources are empty tables of their contract (or `columns:`), the
//! pipeline's steps and checks run on them exactly as in a real run (the
//! contract's rules included), and the rows of the named tables must be the
//! expected ones — as a set unless `ordered: true`, numbers equal within a
//! relative tolerance of 1e-9 unless the test gives its own. A failing test
//! shows the expected rows not found and the rows found but not expected.

use crate::report::PipelineText;
use clap::Args;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use sunward_core::validate::PlannedSource;
use sunward_core::yaml;
use sunward_core::{Diagnostic, Plan, Registry, ValidateOptions, validate_file};
use sunward_engine::checks::Status;
use sunward_engine::given::{Given as GivenRows, GivenRows as GivenSource};
use sunward_engine::{RunOptions, TablesRun};

/// Arguments of `sunward test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// The pipeline file, or a workflow (each of its pipelines with tests or checks);
    /// in a project folder, its sunward.yaml by default.
    #[arg(default_value = crate::workflow::PROJECT_FILE)]
    pub(crate) pipeline: PathBuf,
    /// Set a parameter for the checks and every test, e.g. `--set data_dir=exports` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) sets: Vec<String>,
}

/// A row of a table or of a test, column → value.
type Row = Map<String, Json>;

/// Exit code when a test or a data check fails.
pub const FAILED: i32 = 4;

/// One test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    /// What the test shows.
    #[serde(default)]
    description: Option<String>,
    /// Parameter values for this test (as `--set` would give them).
    #[serde(default)]
    set: Map<String, Json>,
    /// Rows for named sources; sources not named are empty.
    #[serde(default)]
    given: BTreeMap<String, Given>,
    /// The rows expected of named tables.
    expect: BTreeMap<String, Expect>,
}

/// A source's rows in a test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Given {
    /// Rows as mappings of column → value.
    #[serde(default)]
    rows: Option<Vec<Map<String, Json>>>,
    /// The file's text, header first.
    #[serde(default)]
    csv: Option<String>,
    /// A CSV file, relative to the test file.
    #[serde(default)]
    file: Option<String>,
}

/// What a table must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// A SQL condition choosing the rows compared (default: every row).
    #[serde(default, rename = "where")]
    condition: Option<String>,
    /// The expected rows; only the columns they name are compared.
    rows: Vec<Map<String, Json>>,
    /// Compare in order (default: as a set).
    #[serde(default)]
    ordered: bool,
    /// Relative tolerance for numbers (default 1e-9).
    #[serde(default)]
    tolerance: Option<f64>,
}

/// The test files beside a pipeline: `tests/<stem>/*.yaml`, sorted.
pub fn test_files(pipeline: &Path) -> Vec<PathBuf> {
    let stem = pipeline.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let dir = pipeline.parent().unwrap_or(Path::new(".")).join("tests").join(stem);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Read a test file, reporting a mistake at its line and column.
fn read_test(path: &Path) -> Result<TestFile, Diagnostic> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::invalid(format!("cannot read the test file {file}")).caused_by(e))?;
    let node = yaml::parse(&text, &file)?;
    serde_path_to_error::deserialize::<_, TestFile>(node.to_json()).map_err(|err| {
        // An unknown key is pointed at itself; a wrong value at its key too.
        let at = node.find(&sunward_core::yaml::error_path(&err), true);
        Diagnostic::invalid(format!("this test file is not valid: {}", err.inner()))
            .at(Some(at.location(&file)))
            .hint("a test has `given:` (rows per source: `rows:`, `csv:` or `file:`) and `expect:` (rows per table, optional `where:`, `ordered:`, `tolerance:`)")
    })
}

/// A JSON scalar as a CSV field.
fn field(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The columns an empty table of this source has: its contract's, or its `columns:`.
/// Without a contract, the columns come from the source's real file when it
/// can be read (after its `headers:` mapping), else from its `columns:`.
fn empty_header(s: &PlannedSource, run: &sunward_core::RunContext) -> Option<Vec<String>> {
    if let Some(Ok(table)) = s.options.contract_table() {
        return Some(table.columns.iter().map(|c| c.name.to_string()).collect());
    }
    let from_file = s.plugin.open(&s.config, run).ok().and_then(|reader| {
        let mut options = s.options.clone();
        options.ignore_columns.clear();
        sunward_engine::ingest::declared_schema(&options, Some(reader.headers()))
            .ok()
            .map(|schema| schema.fields().iter().map(|f| f.name().clone()).collect::<Vec<String>>())
    });
    from_file.or_else(|| (!s.options.columns.is_empty()).then(|| s.options.columns.keys().cloned().collect()))
}

/// The rows a test gives a source (or an empty table of its columns), held
/// in memory as a file of them would be read.
fn given_rows(
    source: &PlannedSource,
    given: Option<&Given>,
    test_path: &Path,
    plan: &Plan,
) -> Result<GivenRows, Diagnostic> {
    match given {
        Some(Given { rows: Some(rows), csv: None, file: None }) => {
            let mut header: Vec<String> = Vec::new();
            for row in rows {
                for key in row.keys() {
                    if !header.contains(key) {
                        header.push(key.clone());
                    }
                }
            }
            let rows = rows.iter().map(|r| header.iter().map(|h| r.get(h).map(field)).collect()).collect();
            Ok(GivenRows::of_rows(header, rows))
        }
        Some(Given { rows: None, csv: Some(text), file: None }) => {
            GivenRows::of_csv(text, &format!("`given.{}.csv`", source.name))
        }
        Some(Given { rows: None, csv: None, file: Some(file) }) => {
            let file = test_path.parent().unwrap_or(Path::new(".")).join(file);
            let text = std::fs::read_to_string(&file).map_err(|e| {
                Diagnostic::invalid(format!("cannot read the given file {}", file.display()))
                    .hint("`file:` is relative to the test file")
                    .caused_by(e)
            })?;
            GivenRows::of_csv(&text, &file.display().to_string())
        }
        Some(_) => Err(Diagnostic::invalid(format!(
            "`given.{}` must have exactly one of `rows:`, `csv:` or `file:`",
            source.name
        ))),
        None => match empty_header(source, &plan.run) {
            Some(header) => Ok(GivenRows::of_rows(header, Vec::new())),
            None => Err(Diagnostic::invalid(format!(
                "the test gives no rows for source \"{}\", and it has no contract or `columns:` to make an empty table from",
                source.name
            ))
            .hint(format!("add `given: {{{}: {{rows: [...]}}}}`", source.name))),
        },
    }
}

/// The plan a test runs: the given rows (in memory) in place of the
/// sources, and no outputs (the expected tables are read from the run's
/// session).
fn test_plan(mut plan: Plan, test: &TestFile, test_path: &Path) -> Result<Plan, Diagnostic> {
    for name in test.given.keys() {
        if !plan.sources.iter().any(|s| &s.name == name) {
            let names: Vec<&str> = plan.sources.iter().map(|s| s.name.as_str()).collect();
            return Err(Diagnostic::invalid(format!(
                "`given:` names \"{name}\", which is not a source of the pipeline"
            ))
            .hint(format!("sources: {}", names.join(", "))));
        }
    }
    let mut sources = Vec::new();
    for mut source in std::mem::take(&mut plan.sources) {
        let given = given_rows(&source, test.given.get(&source.name), test_path, &plan)?;
        (source.plugin, source.config) = given.into_source()?;
        source.plugin_name = GivenSource::NAME.to_string();
        // Given rows are the test's own: no earlier run made them, and they
        // are all there. They may use the file's own headers and codes or
        // the canonical ones: the source's mappings pass canonical names and
        // codes unchanged.
        source.options.produced_by = None;
        source.options.optional = false;
        source.options.ignore_columns.clear();
        source.options.max_rejected = None;
        sources.push(source);
    }
    plan.sources = sources;
    plan.outputs.clear();
    let tables: Vec<&str> =
        plan.sources.iter().map(|s| s.name.as_str()).chain(plan.steps.iter().map(|s| s.name.as_str())).collect();
    if let Some(table) = test.expect.keys().find(|t| !tables.contains(&t.as_str())) {
        return Err(Diagnostic::invalid(format!("`expect:` names \"{table}\", which is not a table of the pipeline"))
            .hint(format!("tables: {}", tables.join(", "))));
    }
    Ok(plan)
}

/// Whether an actual value matches an expected one.
fn matches(expected: &Json, actual: &Json, tolerance: f64) -> bool {
    match (expected, actual) {
        (Json::Number(e), Json::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap_or(f64::NAN), a.as_f64().unwrap_or(f64::NAN));
            e == a || (e - a).abs() <= tolerance * e.abs().max(a.abs())
        }
        // A number written as text in the table (or the test) still compares as a number.
        (Json::Number(_), Json::String(s)) | (Json::String(s), Json::Number(_)) => {
            let other = if let Json::Number(n) = expected {
                n
            } else if let Json::Number(n) = actual {
                n
            } else {
                unreachable!()
            };
            s.parse::<f64>().is_ok_and(|v| matches(&Json::from(v), &Json::Number(other.clone()), tolerance))
        }
        (e, a) => e == a,
    }
}

/// A row as `a | b | c` in the given columns.
fn show(row: &Map<String, Json>, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| match row.get(c) {
            Some(Json::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "(missing)".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Compare a table's rows with the expected ones; `None` when they agree, else the diff.
fn compare(table: &str, expect: &Expect, actual: &[Map<String, Json>]) -> Option<String> {
    let tolerance = expect.tolerance.unwrap_or(1e-9);
    let mut columns: Vec<String> = Vec::new();
    for row in &expect.rows {
        for k in row.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    if let Some(row) = actual.first()
        && let Some(unknown) = columns.iter().find(|c| !row.contains_key(*c))
    {
        let have: Vec<&str> = row.keys().map(String::as_str).collect();
        return Some(format!(
            "{table}: the expected rows name the column \"{unknown}\", which it does not have (columns: {})",
            have.join(", ")
        ));
    }
    let agree = |e: &Map<String, Json>, a: &Map<String, Json>| {
        columns.iter().all(|c| matches(e.get(c).unwrap_or(&Json::Null), a.get(c).unwrap_or(&Json::Null), tolerance))
    };
    let (missing, unexpected): (Vec<&Row>, Vec<&Row>) = if expect.ordered {
        let n = expect.rows.len().max(actual.len());
        let mut missing = Vec::new();
        let mut unexpected = Vec::new();
        for i in 0..n {
            match (expect.rows.get(i), actual.get(i)) {
                (Some(e), Some(a)) if agree(e, a) => {}
                (e, a) => {
                    missing.extend(e);
                    unexpected.extend(a);
                }
            }
        }
        (missing, unexpected)
    } else {
        let mut left: Vec<&Map<String, Json>> = actual.iter().collect();
        let mut missing = Vec::new();
        for e in &expect.rows {
            match left.iter().position(|a| agree(e, a)) {
                Some(i) => {
                    left.remove(i);
                }
                None => missing.push(e),
            }
        }
        (missing, left)
    };
    if missing.is_empty() && unexpected.is_empty() {
        return None;
    }
    let mut out = format!(
        "{table}: {} expected row{} not found, {} row{} not expected{}\n      {}",
        missing.len(),
        if missing.len() == 1 { "" } else { "s" },
        unexpected.len(),
        if unexpected.len() == 1 { "" } else { "s" },
        if expect.ordered { " (compared in order)" } else { "" },
        columns.join(" | ")
    );
    for m in missing {
        out.push_str(&format!("\n    - {}", show(m, &columns)));
    }
    for u in unexpected.iter().take(20) {
        out.push_str(&format!("\n    + {}", show(u, &columns)));
    }
    if unexpected.len() > 20 {
        out.push_str(&format!("\n    + … and {} more", unexpected.len() - 20));
    }
    Some(out)
}

/// The rows of `table` the test compares (those its `where:` chooses).
fn table_rows(
    run: &TablesRun,
    plan: &Plan,
    table: &str,
    expect: &Expect,
    runtime: &tokio::runtime::Runtime,
) -> Result<Vec<Row>, Diagnostic> {
    let query = match &expect.condition {
        Some(c) => format!("SELECT * FROM \"{table}\" WHERE {c}"),
        None => format!("SELECT * FROM \"{table}\""),
    };
    runtime.block_on(run.rows(plan, &query)).map_err(|d| d.in_context(format!("expect.{table}")))
}

fn options() -> RunOptions {
    RunOptions { cache: None, ..RunOptions::default() }
}

/// Run one test file: `Ok(None)` passed, `Ok(Some(why))` failed.
fn run_test(
    registry: &Registry,
    pipeline: &Path,
    sets: &[String],
    test_path: &Path,
    runtime: &tokio::runtime::Runtime,
) -> Result<Option<String>, Vec<Diagnostic>> {
    let test = read_test(test_path).map_err(|d| vec![d])?;
    let work =
        tempfile::tempdir().map_err(|e| vec![Diagnostic::runtime("cannot make a scratch folder").caused_by(e)])?;
    let mut all_sets = sets.to_vec();
    for (k, v) in &test.set {
        let value = match v {
            Json::Array(items) => items.iter().map(field).collect::<Vec<_>>().join(","),
            other => field(other),
        };
        all_sets.push(format!("{k}={value}"));
    }
    let options_v = ValidateOptions::now(all_sets, work.path().join("out"));
    let plan = validate_file(pipeline, registry, &options_v)?;
    let plan = test_plan(plan, &test, test_path).map_err(|d| vec![d])?;
    let checked = runtime.block_on(sunward_engine::check(&plan));
    let errors: Vec<Diagnostic> = checked.into_iter().filter(Diagnostic::is_error).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let options = RunOptions { stage_dir: Some(work.path().to_path_buf()), ..options() };
    let run = match runtime.block_on(sunward_engine::run_tables(&plan, &options)) {
        Ok(run) => run,
        Err(d) => return Ok(Some(d.message)),
    };
    let mut problems = rejected(&run);
    for (table, expect) in &test.expect {
        let rows = table_rows(&run, &plan, table, expect, runtime).map_err(|d| vec![d])?;
        if let Some(diff) = compare(table, expect, &rows) {
            problems.push(diff);
        }
    }
    for c in run.report.checks.iter().filter(|c| c.status == Status::Warned) {
        problems.push(format!("data check {} warned: {}", c.name, c.summary));
    }
    if let (Some(what), false) = (&test.description, problems.is_empty()) {
        problems.insert(0, format!("the test: {}", what.trim()));
    }
    Ok((!problems.is_empty()).then(|| problems.join("\n  ")))
}

/// What each source that set given rows aside says: how many, and the
/// first five with their place, column, rule and value (as a rejects file
/// writes them).
fn rejected(run: &TablesRun) -> Vec<String> {
    let mut problems = Vec::new();
    for s in run.report.sources.iter().filter(|s| s.rows_rejected > 0) {
        let reasons: String = run.reject_lines(&s.name, 5).iter().map(|l| format!("\n      {l}")).collect();
        problems.push(format!(
            "{}: {} given row{} broke the source's rules and {} set aside:{reasons}",
            s.name,
            s.rows_rejected,
            if s.rows_rejected == 1 { "" } else { "s" },
            if s.rows_rejected == 1 { "was" } else { "were" },
        ));
    }
    problems
}

/// `sunward test` of a pipeline, or of every pipeline of a workflow that
/// has tests or checks, each with the values the workflow gives it (a
/// pipeline with neither is named and passed over: its inputs may be made
/// by an earlier pipeline of the workflow). The exit code is the worst.
pub fn run_any(registry: &Registry, path: &Path, sets: &[String]) -> i32 {
    let is_workflow = std::fs::read_to_string(path).is_ok_and(|t| crate::workflow::is_workflow(&t));
    if !is_workflow {
        return run(registry, path, sets);
    }
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            errln!("{}", Diagnostic::runtime("cannot make a scratch folder").caused_by(e).render(None));
            return 1;
        }
    };
    let flow = match crate::workflow::load(path, sets, scratch.path()) {
        Ok(flow) => flow,
        Err(diags) => return crate::workflow::print_errors(path, &diags),
    };
    let total = flow.stages.len();
    let mut code = 0;
    for (i, stage) in flow.stages.iter().enumerate() {
        let has_checks =
            std::fs::read_to_string(&stage.pipeline).is_ok_and(|t| t.lines().any(|l| l.starts_with("checks:")));
        if test_files(&stage.pipeline).is_empty() && !has_checks {
            outln!("== {} ({}/{total}): no tests or checks", stage.pipeline.display(), i + 1);
            continue;
        }
        outln!("== {} ({}/{total})", stage.pipeline.display(), i + 1);
        code = code.max(run(registry, &stage.pipeline, &stage.sets));
    }
    code
}

/// `sunward test` of one pipeline: its data checks on its own inputs, then
/// each of its test files. The exit code: 0, [`FAILED`], or that of a test
/// that could not run.
pub fn run(registry: &Registry, pipeline: &Path, sets: &[String]) -> i32 {
    let text = PipelineText::read(pipeline);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            errln!("{}", Diagnostic::runtime("cannot start the async runtime").caused_by(e).render(None));
            return 1;
        }
    };
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            errln!("{}", Diagnostic::runtime("cannot make a scratch folder").caused_by(e).render(None));
            return 1;
        }
    };
    let options_v = ValidateOptions::now(sets.to_vec(), scratch.path().to_path_buf());
    let plan = match validate_file(pipeline, registry, &options_v) {
        Ok(plan) => plan,
        Err(diags) => return text.print_errors(&diags),
    };
    let mut tally = Tally::default();
    if !plan.checks.is_empty() {
        // The pipeline's inputs are read only for its own checks: a pipeline
        // without `checks:` (a report reading a table another pipeline makes)
        // is tested on the rows its tests give.
        let errors: Vec<Diagnostic> =
            runtime.block_on(sunward_engine::check(&plan)).into_iter().filter(Diagnostic::is_error).collect();
        if !errors.is_empty() {
            return text.print_errors(&errors);
        }
        run_checks(plan.clone(), &runtime, &mut tally);
    }
    let files = test_files(pipeline);
    if files.is_empty() {
        say_there_are_no_tests(pipeline, &plan);
    }
    for file in &files {
        run_file(registry, pipeline, sets, file, &runtime, &mut tally);
    }
    outln!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.invalid > 0 {
        tally.invalid
    } else if tally.failed > 0 {
        FAILED
    } else {
        0
    }
}

/// What the tests of a pipeline came to.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    /// The exit code of a test that could not run (its errors printed).
    invalid: i32,
}

/// The pipeline's data checks, on its own inputs, each reported.
fn run_checks(mut plan: Plan, runtime: &tokio::runtime::Runtime, tally: &mut Tally) {
    plan.outputs.clear();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "checks on the pipeline's inputs:");
    match runtime.block_on(sunward_engine::run(&plan, &options())) {
        Ok(report) => {
            for c in &report.checks {
                let mark = match c.status {
                    Status::Passed => "ok  ",
                    Status::Warned => "WARN",
                    Status::Failed => "FAIL",
                };
                let _ = writeln!(out, "  {mark} {}", c.render().replace('\n', "\n       "));
            }
            tally.passed += 1;
        }
        Err(d) => {
            tally.failed += 1;
            let _ = writeln!(out, "  FAIL {}", d.message.replace('\n', "\n  "));
        }
    }
}

/// Where a pipeline's tests go, and (for a report) what a test of it gives and expects.
fn say_there_are_no_tests(pipeline: &Path, plan: &Plan) {
    let stem = pipeline.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    outln!("no tests: add test files as tests/{stem}/<name>.yaml beside the pipeline");
    if plan.sources.iter().any(|s| s.options.produced_by.is_some()) {
        outln!(
            "  a test gives rows for each source (`given:`, e.g. the metrics table's unit_type, unit_id, period, metric, value) and expects rows of the tables the report reads (`expect:`)"
        );
    }
}

/// Run one test file and report it: ok, FAIL with why, or FAIL with the
/// errors that kept it from running (shown with the test file's lines when
/// the mistake is there).
fn run_file(
    registry: &Registry,
    pipeline: &Path,
    sets: &[String],
    file: &Path,
    runtime: &tokio::runtime::Runtime,
    tally: &mut Tally,
) {
    let name = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    match run_test(registry, pipeline, sets, file, runtime) {
        Ok(None) => {
            tally.passed += 1;
            let _ = writeln!(out, "ok   {name}");
        }
        Ok(Some(why)) => {
            tally.failed += 1;
            let _ = writeln!(out, "FAIL {name} ({})\n  {why}", file.display());
        }
        Err(diags) => {
            tally.failed += 1;
            let _ = writeln!(out, "FAIL {name} ({}): the test cannot run", file.display());
            let _ = out.flush();
            drop(out);
            let in_test =
                diags.first().and_then(|d| d.location.as_ref()).is_some_and(|l| l.file == file.display().to_string());
            let shown = if in_test { PipelineText::read(file) } else { PipelineText::read(pipeline) };
            tally.invalid = tally.invalid.max(shown.print_errors(&diags));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(rows: Json, ordered: bool) -> Expect {
        Expect { condition: None, rows: serde_json::from_value(rows).unwrap(), ordered, tolerance: None }
    }

    fn rows(v: Json) -> Vec<Map<String, Json>> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rows_compare_as_a_set_with_numbers_within_tolerance() {
        let actual = rows(serde_json::json!([{"a": "x", "n": 0.1 + 0.2, "z": 1}, {"a": "y", "n": 2, "z": 2}]));
        assert_eq!(
            compare("t", &expect(serde_json::json!([{"a": "y", "n": 2.0}, {"a": "x", "n": 0.3}]), false), &actual),
            None
        );
        let diff =
            compare("t", &expect(serde_json::json!([{"a": "y", "n": 2.5}, {"a": "x", "n": 0.3}]), false), &actual)
                .unwrap();
        assert_eq!(diff, "t: 1 expected row not found, 1 row not expected\n      a | n\n    - y | 2.5\n    + y | 2");
        let diff = compare("t", &expect(serde_json::json!([{"a": "y"}, {"a": "x"}]), true), &actual).unwrap();
        assert!(diff.contains("(compared in order)"), "{diff}");
        let diff = compare("t", &expect(serde_json::json!([{"b": 1}]), false), &actual).unwrap();
        assert!(diff.contains("\"b\""), "{diff}");
    }

    #[test]
    fn nulls_and_text_numbers() {
        assert!(matches(&Json::Null, &Json::Null, 1e-9));
        assert!(!matches(&Json::Null, &Json::from(0), 1e-9));
        assert!(matches(&Json::from(5), &Json::from("5.0"), 1e-9));
        assert!(matches(&Json::from(1000.0), &Json::from(1000.0000001), 1e-9));
        assert!(!matches(&Json::from(1000.0), &Json::from(1000.01), 1e-9));
    }
}
