//! `sunward run` and `sunward validate`: validation (pure), the engine's
//! check (files and queries), and for `run` the run itself with its summary.

use crate::progress::TermProgress;
use crate::report::{PipelineText, exit_code};
use crate::{RunArgs, ValidateArgs};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sunward_core::{Diagnostic, Plan, Registry, ValidateOptions, validate_file};
use sunward_engine::run::Silent;
use sunward_engine::session::SessionOptions;
use sunward_engine::{Progress, RunOptions};

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
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let options = ValidateOptions { sets: sets.to_vec(), cwd, out_dir, today: chrono::Local::now().date_naive() };
    let plan = validate_file(pipeline, registry, &options).map_err(|diags| text.print_errors(&diags))?;
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

fn tokio_runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        eprintln!("{}", Diagnostic::runtime("cannot start the async runtime").caused_by(e).render(None));
        1
    })
}

/// `sunward validate`.
pub fn validate(registry: &Registry, args: &ValidateArgs) -> i32 {
    let text = PipelineText::read(&args.pipeline);
    let runtime = match tokio_runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let out_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")).join("out");
    match prepare(registry, &args.pipeline, &args.sets, out_dir, &runtime, &text) {
        Ok((plan, warnings)) => {
            text.print_warnings(&warnings);
            let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
            println!(
                "ok: {} — {}, {}, {}",
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

/// `sunward run`.
pub fn run(registry: &Registry, args: &RunArgs) -> i32 {
    let text = PipelineText::read(&args.pipeline);
    let runtime = match tokio_runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (plan, mut warnings) = match prepare(registry, &args.pipeline, &args.sets, args.out.clone(), &runtime, &text) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let progress: Arc<dyn Progress> =
        if !args.quiet && std::io::stderr().is_terminal() { Arc::new(TermProgress::new()) } else { Arc::new(Silent) };
    let options = RunOptions {
        session: SessionOptions { memory_limit: args.memory_limit, target_partitions: None },
        progress: progress.clone(),
    };
    let result = runtime.block_on(sunward_engine::run(&plan, &options));
    progress.finish();
    drop(options);
    drop(progress);
    let report = match result {
        Ok(report) => report,
        Err(diagnostic) => {
            text.print_warnings(&warnings);
            return text.print_errors(std::slice::from_ref(&diagnostic));
        }
    };
    warnings.extend(report.warnings.iter().cloned());
    text.print_warnings(&warnings);
    if !args.quiet {
        let mut out = std::io::stdout().lock();
        for s in &report.sources {
            let mut line = format!("{}: loaded {} rows, rejected {}", s.name, s.rows_loaded, s.rows_rejected);
            if let Some(file) = &s.rejects_file
                && s.rows_rejected > 0
            {
                line.push_str(&format!(" (see {})", file.display()));
            }
            let _ = writeln!(out, "{line}");
        }
        for t in report.tables.iter().filter(|t| plan.steps.iter().any(|s| s.name == t.name)) {
            let _ = writeln!(out, "table {}: {} rows", t.name, t.rows);
        }
        for o in &report.outputs {
            for file in &o.files {
                let _ = writeln!(out, "wrote {}", file.display());
            }
        }
        let _ = writeln!(out, "manifest: {}", report.manifest.display());
    }
    exit_code(&warnings)
}
