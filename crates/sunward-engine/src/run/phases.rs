//! The phases of a run after loading: settling the rejects, registering the
//! tables, checking the data and writing the outputs. (Running the steps is
//! in [`super::steps`].) Each phase adds what it did to the run's report, so
//! a failed run's manifest says how far it got.

use super::loaded::Loaded;
use super::options::{Progress, placed};
use super::report::{OutputReport, RunReport, SourceReport, TableReport};
use crate::checks::{Status as CheckStatus, failure as check_failure, run_checks};
use crate::generation::{Generation, private_folder};
use crate::ingest::write_rejects;
use crate::manifest::{FileRecord, file_record, normalize};
use crate::stage::{Placed, Stage, StagedTable};
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;
use sunward_core::validate::PlannedSource;
use sunward_core::{Diagnostic, ErrorKind, Plan, PluginKind, Result, RunContext, TableData};

/// Write each source's rejects (`rejects/<source>.csv`, private to the
/// owner; not when there is no `generation`: a run kept in memory), report
/// its counts, and stop the run when a source rejected more than its
/// `max_rejected`. A source without rejects puts its rejects file of an
/// earlier run on `obsolete`.
pub(super) fn settle_rejects(
    plan: &Plan,
    generation: Option<&Generation>,
    loaded: &HashMap<String, Loaded>,
    report: &mut RunReport,
    obsolete: &mut Vec<PathBuf>,
) -> Result<()> {
    let mut over_limit = Vec::new();
    for source in &plan.sources {
        let Some(l) = loaded.get(&source.name) else { continue };
        report.warnings.extend(l.ingested.warnings.iter().cloned());
        let written = match generation {
            Some(generation) => write_source_rejects(plan, source, l, generation, obsolete)?,
            None => None,
        };
        if let Some(too_many) = over_its_limit(source, l, written.as_ref(), generation) {
            over_limit.push(too_many);
        }
        let ing = &l.ingested;
        report.sources.push(SourceReport {
            name: source.name.clone(),
            files: l.files.clone(),
            records: l.files.iter().map(|f| file_record(f)).collect::<Result<Vec<FileRecord>>>()?,
            rows_read: ing.rows_read,
            rows_loaded: ing.rows_loaded,
            rows_rejected: ing.rows_rejected,
            rejects_file: written.as_ref().zip(generation).map(|(p, g)| g.published(p)),
            warnings: ing.warnings.clone(),
            from_cache: l.from_cache,
            in_place: matches!(l.table.place, Placed::InPlace(_)),
            parts: l.parts,
            missing: l.missing.clone(),
        });
    }
    if !over_limit.is_empty() {
        return Err(Diagnostic::new(
            ErrorKind::TooManyRejects,
            format!("too many rejected rows: {}", over_limit.join("; ")),
        )
        .hint("fix the export or the source's mappings, or raise `max_rejected`; no output was written"));
    }
    Ok(())
}

/// A source's rejects file in the run's generation, when it rejected rows.
fn write_source_rejects(
    plan: &Plan,
    source: &PlannedSource,
    l: &Loaded,
    generation: &Generation,
    obsolete: &mut Vec<PathBuf>,
) -> Result<Option<PathBuf>> {
    let rejects = PathBuf::from("rejects").join(format!("{}.csv", source.name));
    if l.ingested.rejects.is_empty() {
        // A rejects file from an earlier run would now describe rows that are no longer rejected.
        obsolete.push(rejects);
        return Ok(None);
    }
    let label = l.files.first().map(|f| f.display().to_string()).unwrap_or_default();
    let path = generation.dir().join(&rejects);
    private_folder(&generation.dir().join("rejects"))?;
    write_rejects(&path, &label, &l.ingested.rejects).map_err(|e| placed(e, plan, PluginKind::Source, &source.name))?;
    Ok(Some(path))
}

/// What the run's error says of a source that rejected more rows than its
/// `max_rejected` allows.
fn over_its_limit(
    source: &PlannedSource,
    l: &Loaded,
    written: Option<&PathBuf>,
    generation: Option<&Generation>,
) -> Option<String> {
    let ing = &l.ingested;
    let limit = source.options.max_rejected.as_ref()?;
    (limit.exceeded(ing.rows_rejected, ing.rows_read) == Some(true)).then(|| {
        format!(
            "{}: {} of {} rows rejected (see {})",
            source.name,
            ing.rows_rejected,
            ing.rows_read,
            written.zip(generation).map(|(p, g)| g.kept_on_failure(p).display().to_string()).unwrap_or_default()
        )
    })
}

/// Register every loaded source in the session (on a distributed engine, as
/// a file of the staging folder its workers read): the tables by name.
pub(super) fn register_sources(
    plan: &Plan,
    session: &SessionContext,
    shared: &dyn Fn(&str, StagedTable) -> Result<StagedTable>,
    mut loaded: HashMap<String, Loaded>,
    report: &mut RunReport,
) -> Result<HashMap<String, StagedTable>> {
    let mut staged: HashMap<String, StagedTable> = HashMap::new();
    for source in &plan.sources {
        let Some(l) = loaded.remove(&source.name) else { continue };
        let table = shared(&source.name, l.table).map_err(|e| placed(e, plan, PluginKind::Source, &source.name))?;
        session.register_table(source.name.as_str(), table.provider()?)?;
        report.tables.push(TableReport {
            name: source.name.clone(),
            rows: Some(table.rows),
            staged: table.is_staged(),
            in_place: matches!(table.place, Placed::InPlace(_)),
        });
        staged.insert(source.name.clone(), table);
    }
    Ok(staged)
}

/// The data checks (`checks:`): a failed `error` check stops the run before
/// any output; a warned one becomes a warning.
pub(super) async fn check_data(
    plan: &Plan,
    session: &SessionContext,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<()> {
    if plan.checks.is_empty() {
        return Ok(());
    }
    progress.stage("checking the data");
    let clock = Instant::now();
    let checks = run_checks(plan, session).await?;
    report.timings_ms.insert("checks".into(), clock.elapsed().as_millis() as u64);
    report.checks = checks;
    if let Some(failed) = check_failure(plan, &report.checks) {
        return Err(failed);
    }
    for warned in report.checks.iter().filter(|c| c.status == CheckStatus::Warned) {
        report.warnings.push(Diagnostic::warning(format!("data check {}", warned.render())).in_context("checks"));
    }
    Ok(())
}

/// Write every output into the run's generation (published as a whole at
/// the end). A sink that streams reads a staged table from its file, batch
/// by batch; the others get the rows in memory.
pub(super) fn write_outputs(
    plan: &Plan,
    generation: &Generation,
    staged: &HashMap<String, StagedTable>,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<()> {
    progress.stage("writing outputs");
    let clock = Instant::now();
    let into_generation = RunContext { out_dir: generation.dir().to_path_buf(), ..plan.run.clone() };
    for output in &plan.outputs {
        let mut data: Vec<TableData> = Vec::new();
        for name in &output.inputs {
            let Some(table) = staged.get(name) else { continue };
            if output.plugin.streams() {
                data.push(table.table_data(name));
                continue;
            }
            let batches = table.read_all(name).map_err(|e| placed(e, plan, PluginKind::Sink, &output.name))?;
            data.push(TableData::in_memory(name.clone(), table.schema.clone(), batches));
        }
        let written = output
            .plugin
            .write(&output.config, &data, &into_generation)
            .map_err(|e| placed(e, plan, PluginKind::Sink, &output.name))?;
        let mut done = OutputReport { name: output.name.clone(), files: Vec::new(), records: Vec::new() };
        for f in &written {
            let published = generation.published(f);
            let mut record = file_record(f)?;
            record.path = normalize(&published).display().to_string();
            done.records.push(record);
            done.files.push(published);
        }
        report.outputs.push(done);
    }
    report.timings_ms.insert("write_outputs".into(), clock.elapsed().as_millis() as u64);
    Ok(())
}

/// A table of the run shared with a distributed engine's workers: moved to
/// a file of the staging folder (a local engine reads it where it is).
pub(super) fn shared_with(distributed: bool, stage: &Stage) -> impl Fn(&str, StagedTable) -> Result<StagedTable> + '_ {
    move |name, table| if distributed { stage.shared(name, table) } else { Ok(table) }
}
