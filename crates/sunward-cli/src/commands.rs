//! `sunward run` and `sunward validate`: validation (pure), the engine's
//! check (files and queries), the provenance check of tables made by an
//! earlier run, and for `run` the run itself with its summary. A workflow
//! file ([`crate::workflow`]) is validated whole, then its pipelines run in
//! order.

use crate::parse::{parse_duration, parse_memory, parse_part_size};
use crate::progress::TermProgress;
use crate::report::{PipelineText, exit_code};
use crate::workflow;
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sunward_cluster::ClusterEngine;
use sunward_core::{Diagnostic, Plan, Registry, ValidateOptions, validate_file};
use sunward_engine::cache::SourceCache;
use sunward_engine::checks::Status as CheckStatus;
use sunward_engine::run::Silent;
use sunward_engine::session::{Engine, LocalEngine, SessionOptions};
use sunward_engine::{Progress, RunOptions, RunReport, SourceReport};

/// Arguments of `sunward run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The pipeline file, or a workflow file listing pipelines (YAML); in a
    /// project folder (`sunward init`), its sunward.yaml by default.
    #[arg(default_value = crate::workflow::PROJECT_FILE)]
    pub(crate) pipeline: PathBuf,
    /// Set a parameter, e.g. `--set year=2024` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) sets: Vec<String>,
    /// The output folder; relative output paths resolve against it.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub(crate) out: PathBuf,
    /// Memory the query engine may use before spilling to disk, e.g. 512M or 2G.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    pub(crate) memory_limit: Option<usize>,
    /// Where large tables wait between steps (a folder made and removed inside
    /// it; default: the output folder). The tables held in memory stay
    /// together under an eighth of --memory-limit (256 MiB without one);
    /// the rest are staged there as Parquet.
    #[arg(long, value_name = "DIR")]
    pub(crate) stage: Option<PathBuf>,
    /// Read every source afresh: neither use nor fill the cache of checked sources.
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// The cache of checked sources (default: $SUNWARD_CACHE_DIR, else
    /// $XDG_CACHE_HOME/sunward/sources, else ~/.cache/sunward/sources).
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// The cache's size limit; the least recently used entries beyond it are removed.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory, default_value = "4G")]
    pub(crate) cache_size: usize,
    /// No progress display and no summary; errors and warnings are still printed.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Read a metrics table (a `produced_by` source) even when its manifest shows
    /// other inputs or parameters than this run's; each difference becomes a warning.
    #[arg(long)]
    pub(crate) allow_stale_metrics: bool,
    /// Where the run's work is done: `local` (this process) or `ballista://HOST:PORT`
    /// (an Apache Ballista cluster started with `sunward cluster`, whose
    /// executors load the sources and run the SQL steps; the project, its data
    /// and --stage must then be folders every machine of the cluster sees at the
    /// same paths).
    #[arg(long, value_name = "ENGINE", env = "SUNWARD_ENGINE", default_value = "local", value_parser = parse_engine)]
    pub(crate) engine: EngineArg,
    /// The cluster's credential (a member folder made by `sunward cluster cert`) for a
    /// cluster started with --tls: every connection to it is then made over TLS.
    #[arg(long, value_name = "DIR", env = "SUNWARD_CLUSTER_TLS")]
    pub(crate) cluster_tls: Option<PathBuf>,
    /// With a cluster engine: read, type and check the sources in this process
    /// (the SQL steps still run on the cluster), for sources the executors cannot see.
    #[arg(long)]
    pub(crate) load_on_client: bool,
    /// With a cluster engine: a source file larger than this (e.g. 128M) is
    /// read by the executors in parts of about this size, side by side (CSV
    /// in UTF-8 and Parquet; other formats are read whole). `0` (the
    /// default): every file is read whole by one executor.
    #[arg(long, value_name = "SIZE", value_parser = parse_part_size, default_value = "0")]
    pub(crate) load_part_size: usize,
    /// Stop the run (a workflow: all of it) after this long, e.g. 90s, 10m or
    /// 1h 30m, as Ctrl-C would: nothing unfinished is kept, exit code 124.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) timeout: Option<std::time::Duration>,
}

/// Where a run's steps execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EngineArg {
    /// This process.
    Local,
    /// A Ballista cluster: the URL as given.
    Ballista(String),
}

pub(crate) fn parse_engine(text: &str) -> Result<EngineArg, String> {
    if text == "local" {
        return Ok(EngineArg::Local);
    }
    sunward_cluster::client::parse_url(text)
        .map(|_| EngineArg::Ballista(text.to_string()))
        .map_err(|d| format!("{}; {}", d.message, d.hint.unwrap_or_default()))
}

/// Arguments of `sunward validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The pipeline file, or a workflow file listing pipelines (YAML); in a
    /// project folder (`sunward init`), its sunward.yaml by default.
    #[arg(default_value = crate::workflow::PROJECT_FILE)]
    pub(crate) pipeline: PathBuf,
    /// Set a parameter, e.g. `--set year=2024` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) sets: Vec<String>,
    /// Report a stale metrics table as a warning instead of an error.
    #[arg(long)]
    pub(crate) allow_stale_metrics: bool,
}

/// Validate the pipeline file and check it against its inputs. On success,
/// the plan and the warnings found; on failure every problem is printed and
/// `Err` carries the exit code.
fn prepare(
    registry: &Registry,
    pipeline: &Path,
    sets: &[String],
    out_dir: PathBuf,
    runtime: &tokio::runtime::Runtime,
    text: &PipelineText,
) -> Result<(Plan, Vec<Diagnostic>), i32> {
    let options = ValidateOptions::now(sets.to_vec(), out_dir);
    let plan = validate_file(pipeline, registry, &options).map_err(|diags| text.print_errors(&diags))?;
    check_plan(plan, runtime, text)
}

/// Check a validated plan against its inputs: the plan and the warnings
/// found (the plan's own first), or every error printed and the exit code.
fn check_plan(
    plan: Plan,
    runtime: &tokio::runtime::Runtime,
    text: &PipelineText,
) -> Result<(Plan, Vec<Diagnostic>), i32> {
    let diags = runtime.block_on(sunward_engine::check(&plan));
    let (errors, mut warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = diags.into_iter().partition(Diagnostic::is_error);
    warnings.splice(0..0, plan.warnings.iter().cloned());
    if errors.is_empty() {
        Ok((plan, warnings))
    } else {
        text.print_warnings(&warnings);
        Err(text.print_errors(&errors))
    }
}

pub(crate) fn tokio_runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        errln!("{}", Diagnostic::runtime("cannot start the async runtime").caused_by(e).render(None));
        1
    })
}

/// `path` made absolute against the current folder, `..` resolved lexically.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let joined =
        if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    sunward_engine::manifest::normalize(&joined)
}

/// Whether the file is a workflow (read failures are left to validation).
fn is_workflow_file(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| workflow::is_workflow(&t))
}

/// Validate every pipeline of a workflow with the values it will get: each
/// input file must be there unless an earlier pipeline writes it (inside
/// `--out`). With `against_inputs` (for `validate`), a pipeline that reads
/// only files already there is also checked against them, as `validate`
/// checks a pipeline alone; a run does that itself, pipeline by pipeline,
/// before each writes anything. Returns the workflow and each pipeline's
/// plan (each pipeline is validated once), or prints every error and returns
/// the exit code.
fn prepare_workflow(
    registry: &Registry,
    path: &Path,
    sets: &[String],
    out: &Path,
    against_inputs: bool,
) -> Result<(workflow::Workflow, Vec<Plan>), i32> {
    let flow = workflow::load(path, sets, out).map_err(|diags| workflow::print_errors(path, &diags))?;
    let runtime = tokio_runtime()?;
    let out_abs = absolute(out);
    let made_earlier = |f: &Path| absolute(f).starts_with(&out_abs);
    let mut code = 0;
    let mut said = std::collections::HashSet::new();
    let mut plans = Vec::new();
    for stage in &flow.stages {
        let options = ValidateOptions::now(stage.sets.clone(), out.to_path_buf());
        match validate_file(&stage.pipeline, registry, &options) {
            Err(diags) => code = code.max(PipelineText::read(&stage.pipeline).print_errors(&diags)),
            // Its inputs are there, unless an earlier pipeline writes them (inside --out).
            Ok(plan) => {
                let missing = sunward_engine::check::missing_inputs(&plan, &made_earlier);
                if !missing.is_empty() {
                    code = code.max(PipelineText::read(&stage.pipeline).print_errors(&missing));
                    continue;
                }
                // A pipeline whose inputs are all there already (the workflow's
                // first, reading the exports) is checked against them as
                // `validate` checks a pipeline alone: headers, SQL against the real columns.
                let reads_earlier = plan.sources.iter().any(|s| {
                    s.plugin.files(&s.config, &plan.run).is_ok_and(|files| files.iter().any(|f| made_earlier(f)))
                });
                if against_inputs && !reads_earlier {
                    let mut errors: Vec<Diagnostic> = runtime
                        .block_on(sunward_engine::check(&plan))
                        .into_iter()
                        .filter(Diagnostic::is_error)
                        .collect();
                    errors.extend(sunward_engine::check::header_problems(&plan));
                    if !errors.is_empty() {
                        code = code.max(PipelineText::read(&stage.pipeline).print_errors(&errors));
                        continue;
                    }
                }
                // What its reports need per unit (every unit's text), from
                // the unit lists computed now: all of them named before the
                // first pipeline writes anything.
                let mut per_row = runtime.block_on(sunward_engine::check::per_row_problems(
                    &plan,
                    &RunOptions::default(),
                    &made_earlier,
                ));
                // The values the data must hold (a year with records): for
                // `validate`, which may read the exports; a run finds out as it goes.
                if against_inputs {
                    per_row.extend(runtime.block_on(sunward_engine::check::params_in_data(
                        &plan,
                        &RunOptions::default(),
                        &made_earlier,
                    )));
                }
                // Two entries of one pipeline (a summary in two styles) share their texts: each missing one is named once.
                let per_row: Vec<Diagnostic> = per_row.into_iter().filter(|d| said.insert(d.message.clone())).collect();
                if !per_row.is_empty() {
                    code = code.max(PipelineText::read(&stage.pipeline).print_errors(&per_row));
                }
                plans.push(plan);
            }
        }
    }
    if code != 0 {
        errln!("the workflow {} did not run: fix the errors above", path.display());
        return Err(code);
    }
    Ok((flow, plans))
}

/// `sunward validate`.
pub fn validate(registry: &Registry, args: &ValidateArgs) -> i32 {
    if is_workflow_file(&args.pipeline) {
        let out = std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")).join("out");
        return match prepare_workflow(registry, &args.pipeline, &args.sets, &out, true) {
            Ok((flow, _)) => {
                let names: Vec<String> = flow.stages.iter().map(|s| s.pipeline.display().to_string()).collect();
                outln!("ok: workflow {} — {} pipelines: {}", flow.name, names.len(), names.join(", "));
                0
            }
            Err(code) => code,
        };
    }
    let text = PipelineText::read(&args.pipeline);
    let runtime = match tokio_runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let out_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")).join("out");
    match prepare(registry, &args.pipeline, &args.sets, out_dir, &runtime, &text) {
        Ok((plan, mut warnings)) => {
            let headers = sunward_engine::check::header_problems(&plan);
            if !headers.is_empty() {
                text.print_warnings(&warnings);
                return text.print_errors(&headers);
            }
            let mut per_row =
                runtime.block_on(sunward_engine::check::per_row_problems(&plan, &RunOptions::default(), &|_| false));
            per_row.extend(runtime.block_on(sunward_engine::check::params_in_data(
                &plan,
                &RunOptions::default(),
                &|_| false,
            )));
            if !per_row.is_empty() {
                text.print_warnings(&warnings);
                return text.print_errors(&per_row);
            }
            let stale = sunward_engine::provenance::verify(&plan);
            if !stale.is_empty() {
                if args.allow_stale_metrics {
                    warnings.extend(stale.into_iter().map(|d| Diagnostic::warning(d.message).at(d.location)));
                } else {
                    text.print_warnings(&warnings);
                    return text.print_errors(&stale);
                }
            }
            text.print_warnings(&warnings);
            let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
            let mut extras = String::new();
            if !plan.checks.is_empty() {
                extras.push_str(&format!(", {}", count(plan.checks.len(), "check", "checks")));
            }
            if !plan.run.sql_functions.is_empty() {
                let names: Vec<&str> = plan.run.sql_functions.iter().map(|f| f.name.as_str()).collect();
                extras.push_str(&format!(", SQL functions: {}", names.join(", ")));
            }
            outln!(
                "ok: {} — {}, {}, {}{extras}",
                plan.pipeline.name,
                count(plan.sources.len(), "source", "sources"),
                count(plan.steps.len(), "step", "steps"),
                count(plan.outputs.len(), "output", "outputs"),
            );
            0
        }
        Err(code) => code,
    }
}

/// `sunward run`: a pipeline, or every pipeline of a workflow in order.
pub fn run(registry: &Registry, args: &RunArgs) -> i32 {
    crate::stopping::RUNNING_PIPELINES.store(true, std::sync::atomic::Ordering::SeqCst);
    if let Some(limit) = args.timeout {
        let text = humantime::format_duration(limit).to_string();
        std::thread::spawn(move || {
            std::thread::sleep(limit);
            crate::stopping::stop(&format!("stopped after --timeout {text}"), 124);
        });
    }
    if !is_workflow_file(&args.pipeline) {
        return run_pipeline(registry, &args.pipeline, &args.sets, args);
    }
    let (flow, plans) = match prepare_workflow(registry, &args.pipeline, &args.sets, &args.out, false) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let total = flow.stages.len();
    for (i, (stage, plan)) in flow.stages.iter().zip(plans).enumerate() {
        if !args.quiet {
            outln!("== {} ({}/{total}) {}", flow.name, i + 1, stage.pipeline.display());
        }
        let code = run_validated(plan, &stage.pipeline, stage.name.as_deref(), args);
        if code != 0 {
            errln!(
                "the workflow {} stopped at {} ({}/{total}); the pipelines after it did not run",
                flow.name,
                stage.pipeline.display(),
                i + 1
            );
            return code;
        }
    }
    if !args.quiet {
        outln!("workflow {}: {total} pipelines ran into {}", flow.name, args.out.display());
    }
    0
}

/// Run one pipeline file with these `--set` values and the other options of `args`.
fn run_pipeline(registry: &Registry, pipeline: &Path, sets: &[String], args: &RunArgs) -> i32 {
    let options = ValidateOptions::now(sets.to_vec(), args.out.clone());
    match validate_file(pipeline, registry, &options) {
        Ok(plan) => run_validated(plan, pipeline, None, args),
        Err(diags) => PipelineText::read(pipeline).print_errors(&diags),
    }
}

/// Check a validated plan against its inputs and run it with the options of
/// `args`, under the name `rename` if given (a workflow entry's `name:`).
fn run_validated(plan: Plan, pipeline: &Path, rename: Option<&str>, args: &RunArgs) -> i32 {
    let text = PipelineText::read(pipeline);
    let runtime = match tokio_runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (mut plan, mut warnings) = match check_plan(plan, &runtime, &text) {
        Ok(checked) => checked,
        Err(code) => return code,
    };
    if let Some(name) = rename {
        plan.pipeline.name = name.to_string();
    }
    let engine = match engine_of(args, &runtime) {
        Ok(engine) => engine,
        Err(diagnostic) => {
            text.print_warnings(&warnings);
            return text.print_errors(std::slice::from_ref(&diagnostic));
        }
    };
    let progress: Arc<dyn Progress> =
        if !args.quiet && std::io::stderr().is_terminal() { Arc::new(TermProgress::new()) } else { Arc::new(Silent) };
    let options = run_options(args, engine, progress.clone());
    let engine_name = options.engine.describe();
    let loaded_remotely = options.engine.loading().is_some();
    let result = runtime.block_on(sunward_engine::run(&plan, &options));
    progress.finish();
    drop(options);
    drop(progress);
    let report = match result {
        Ok(report) => report,
        Err(diagnostic) => {
            // A step failing because a stop cancelled its cluster job: the stop speaks.
            crate::stopping::wait_if_stopping();
            text.print_warnings(&warnings);
            return text.print_errors(std::slice::from_ref(&diagnostic));
        }
    };
    warnings.extend(report.warnings.iter().cloned());
    text.print_warnings(&warnings);
    if !args.quiet {
        print_summary(&report, &plan, &engine_name, loaded_remotely);
    }
    exit_code(&warnings)
}

/// Where the run's queries execute: here, or on the cluster `--engine` names.
fn engine_of(args: &RunArgs, runtime: &tokio::runtime::Runtime) -> Result<Arc<dyn Engine>, Diagnostic> {
    Ok(match &args.engine {
        EngineArg::Local => Arc::new(LocalEngine),
        EngineArg::Ballista(url) => {
            let tls = args.cluster_tls.as_deref().map(sunward_cluster::tls::ClusterTls::load).transpose()?;
            let cluster = runtime.block_on(ClusterEngine::connect(url, tls))?;
            if args.load_on_client {
                Arc::new(cluster.loading_here())
            } else {
                Arc::new(cluster.in_parts_of(args.load_part_size as u64))
            }
        }
    })
}

/// The engine's options from the command line's.
fn run_options(args: &RunArgs, engine: Arc<dyn Engine>, progress: Arc<dyn Progress>) -> RunOptions {
    RunOptions {
        engine,
        session: SessionOptions { memory_limit: args.memory_limit, ..SessionOptions::default() },
        progress,
        allow_stale_inputs: args.allow_stale_metrics,
        stage_dir: args.stage.clone(),
        cache: if args.no_cache {
            None
        } else {
            args.cache_dir
                .clone()
                .or_else(SourceCache::default_dir)
                .map(|dir| SourceCache { dir, limit: args.cache_size as u64 })
        },
    }
}

/// What a run did, line by line: each source's rows and rejects, the
/// sources taken from the cache, read in parts or in place, each step's
/// rows, the checks, the files written and the manifest.
fn print_summary(report: &RunReport, plan: &Plan, engine_name: &str, loaded_remotely: bool) {
    let mut out = std::io::stdout().lock();
    for s in &report.sources {
        let _ = writeln!(out, "{}", source_line(s));
    }
    let names = |keep: fn(&SourceReport) -> bool| -> Vec<&str> {
        report.sources.iter().filter(|s| keep(s)).map(|s| s.name.as_str()).collect()
    };
    let cached = names(|s| s.from_cache);
    if !cached.is_empty() {
        let _ =
            writeln!(out, "checked earlier, taken from the cache (--no-cache to read again): {}", cached.join(", "));
    }
    let parts: Vec<String> =
        report.sources.iter().filter(|s| s.parts > 1).map(|s| format!("{} ({})", s.name, s.parts)).collect();
    if !parts.is_empty() {
        let _ = writeln!(out, "large files read in parts side by side: {}", parts.join(", "));
    }
    let in_place = names(|s| s.in_place);
    if !in_place.is_empty() {
        let _ = writeln!(out, "every row passed as stored, read where it lies (no copy): {}", in_place.join(", "));
    }
    for t in report.tables.iter().filter(|t| plan.steps.iter().any(|s| s.name == t.name)) {
        let _ = match t.rows {
            Some(rows) => writeln!(out, "table {}: {rows} rows", t.name),
            None => writeln!(out, "table {}: a view, computed inside the step that reads it", t.name),
        };
    }
    if !report.checks.is_empty() {
        let passed = report.checks.iter().filter(|c| c.status == CheckStatus::Passed).count();
        let warned = report.checks.len() - passed;
        let warned = if warned > 0 { format!(", {warned} warned (see above)") } else { String::new() };
        let _ = writeln!(out, "checks: {passed} passed{warned}");
    }
    for file in report.outputs.iter().flat_map(|o| &o.files) {
        let _ = writeln!(out, "wrote {}", file.display());
    }
    if loaded_remotely {
        let _ = writeln!(out, "the sources were loaded and the steps ran on the cluster at {engine_name}");
    } else if engine_name != "local" {
        let _ = writeln!(out, "the steps ran on the cluster at {engine_name}");
    }
    let _ = writeln!(out, "manifest: {}", report.manifest.display());
}

/// What a source did, in one line: its rows and rejects, or that its
/// optional file was missing.
fn source_line(s: &SourceReport) -> String {
    if !s.missing.is_empty() {
        let files: Vec<String> = s.missing.iter().map(|f| f.display().to_string()).collect();
        return format!("{}: no file ({}): an empty table, as the source is optional", s.name, files.join(", "));
    }
    let mut line = format!("{}: loaded {} rows, rejected {}", s.name, s.rows_loaded, s.rows_rejected);
    if let Some(file) = &s.rejects_file
        && s.rows_rejected > 0
    {
        line.push_str(&format!(" (see {})", file.display()));
    }
    line
}
