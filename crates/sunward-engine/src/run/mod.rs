//! Running a plan: sources in parallel, steps in order, outputs, manifest.
//!
//! Before anything is read, a source that declares `produced_by` is checked
//! against the manifest of the run that wrote it ([`crate::provenance`]).
//! The manifest of this run is `manifest-<pipeline>.json` in the output
//! folder, so runs of different pipelines into one folder keep theirs.
//! Input paths are shown normalised (`sample-data/…`, not
//! `pipelines/../sample-data/…`). The `rejects/` folder, whose rows hold an
//! export's original text, is kept private to the owner (mode 0700); every
//! other file follows the umask.
//!
//! Sources load in waves — every source whose referenced sources are loaded
//! runs at once on its own thread — into the run's staging store
//! ([`crate::stage`]): a small table stays in memory, a large one streams to a
//! Parquet file there. Each is registered in one DataFusion session. Steps run
//! in dependency order, each result streamed into the stage once under its
//! name, so no table has to fit in memory whole; a step read by exactly one
//! later step is a view instead (unless there is a memory limit). An output
//! that streams (csv, parquet, jsonl) reads a staged table from its file batch
//! by batch; other outputs get the table's rows in memory. Outputs write
//! into the run's generation ([`crate::generation`]), switched into place as a
//! set once everything is written, the manifest last. If a source rejects
//! more rows than its `max_rejected`, the run stops before any step with exit
//! class `TooManyRejects`; its rejects files and manifest go to
//! `failed/<pipeline>/`, and the previous run's files stay as they were. With a [`crate::cache::SourceCache`], a source
//! checked by an earlier run on the same files and settings is taken from it.
//!
//! The run goes in phases ([`load`], then [`phases`] and [`steps`]), each adding
//! what it did to the [`RunReport`]; the manifest is made from the report at
//! the end, of a failed run too. `--memory-limit` is split once, by
//! [`crate::budget::MemoryBudget`], and the manifest records the split.

mod in_memory;
mod load;
mod loaded;
mod options;
mod phases;
mod remotely;
mod report;
mod steps;

pub use in_memory::{TablesRun, run_tables};
pub(crate) use load::load_source;
pub use options::{Progress, RunOptions, Silent};
pub use report::{OutputReport, RunReport, SourceReport, TableReport};

use crate::generation::Generation;
use crate::manifest::manifest_file_name;
use crate::session::SessionOptions;
use crate::stage::{Stage, StagedTable};
use datafusion::prelude::SessionContext;
use loaded::CacheWrites;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;
use sunward_core::{Diagnostic, Plan, Result};

/// Run a validated (and checked) plan.
pub async fn run(plan: &Plan, options: &RunOptions) -> Result<RunReport> {
    let started = chrono::Utc::now();
    let progress = options.progress.as_ref();
    let stale_warnings = stale_inputs(plan, options)?;
    let generation = Generation::new(&plan.run.out_dir, &plan.pipeline.name)?;
    let manifest_path = generation.dir().join(manifest_file_name(&plan.pipeline.name));
    let mut report = RunReport::empty(options.budget());
    let mut obsolete = Vec::new();
    let result = run_phases(plan, options, &generation, &mut report, &mut obsolete).await;
    let error = result.as_ref().err().map(|e| e.to_string());
    let manifest = report::manifest_of(plan, options.engine.describe(), started, &report, error);
    progress.finish();
    match result {
        Ok(()) => {
            report.warnings.splice(0..0, stale_warnings);
            manifest.write(&manifest_path)?;
            report.manifest = generation.published(&manifest_path);
            generation.commit(&obsolete)?;
            Ok(report)
        }
        Err(e) => {
            if manifest.write(&manifest_path).is_ok() {
                let _ = generation.keep_failure(&manifest_path);
            }
            Err(e)
        }
    }
}

/// The tables read from earlier runs (`produced_by`) whose manifests show
/// other inputs or parameters: an error, or (read anyway) warnings.
fn stale_inputs(plan: &Plan, options: &RunOptions) -> Result<Vec<Diagnostic>> {
    let mut stale = crate::provenance::verify(plan);
    if !options.allow_stale_inputs && !stale.is_empty() {
        return Err(stale.remove(0));
    }
    Ok(stale
        .into_iter()
        .map(|d| {
            let w = Diagnostic::warning(format!("read anyway ({}): {}", crate::provenance::OVERRIDE_FLAG, d.message))
                .at(d.location);
            match d.context {
                Some(context) => w.in_context(context),
                None => w,
            }
        })
        .collect())
}

/// The phases of a run, in order, each adding to `report`: load the sources,
/// settle their rejects, register them, run the steps, check the data, write
/// the outputs.
async fn run_phases(
    plan: &Plan,
    options: &RunOptions,
    generation: &Generation,
    report: &mut RunReport,
    obsolete: &mut Vec<PathBuf>,
) -> Result<()> {
    let progress = options.progress.as_ref();
    let budget = report.memory;
    let stage = Stage::new(options.stage_dir.as_ref().unwrap_or(&plan.run.out_dir), budget.stage_threshold)?;

    progress.stage("loading sources");
    let clock = Instant::now();
    let mut loaded = load::load_sources(plan, options, &budget, &stage).await?;
    report.timings_ms.insert("load_sources".into(), clock.elapsed().as_millis() as u64);
    let cache_writes = CacheWrites::take(&mut loaded);

    phases::settle_rejects(plan, Some(generation), &loaded, report, obsolete)?;

    let (session, staged) = compute(plan, options, &stage, loaded, report).await?;
    phases::write_outputs(plan, generation, &staged, progress, report)?;
    drop(session);
    report.warnings.extend(cache_writes.finish());
    Ok(())
}

/// The loaded sources registered in one session (with the plan's SQL
/// functions), the steps run and the data checked: the session, and every
/// kept table by name. A distributed engine's workers read every table from
/// a file in the staging folder.
pub(crate) async fn compute(
    plan: &Plan,
    options: &RunOptions,
    stage: &Stage,
    loaded: HashMap<String, loaded::Loaded>,
    report: &mut RunReport,
) -> Result<(SessionContext, HashMap<String, StagedTable>)> {
    let session_options = SessionOptions {
        functions: plan.functions.clone(),
        memory_limit: report.memory.query_pool,
        ..options.session.clone()
    };
    let session = options.engine.session(&session_options)?;
    let shared = phases::shared_with(options.engine.distributed(), stage);
    let mut staged = phases::register_sources(plan, &session, &shared, loaded, report)?;
    let steps = steps::StepRunner {
        plan,
        session: &session,
        stage,
        engine: options.engine.as_ref(),
        progress: options.progress.as_ref(),
        shared: &shared,
    };
    let budget = report.memory;
    steps.run_all(&budget, &mut staged, report).await?;
    phases::check_data(plan, &session, options.progress.as_ref(), report).await?;
    Ok((session, staged))
}
