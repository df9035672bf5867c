//! What a run did: its report, filled phase by phase, and the manifest made
//! from it at the end (of a failed run too: what it had done by then).

use crate::budget::MemoryBudget;
use crate::checks::CheckOutcome;
use crate::manifest::{FileRecord, Manifest, SourceRecord};
use std::collections::BTreeMap;
use std::path::PathBuf;
use sunward_core::{Diagnostic, Plan};

/// What one source did.
#[derive(Debug, Clone)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Its files.
    pub files: Vec<PathBuf>,
    /// Its files with their sizes and hashes, as the manifest records them.
    pub records: Vec<FileRecord>,
    /// Rows read.
    pub rows_read: u64,
    /// Rows kept.
    pub rows_loaded: u64,
    /// Rows set aside.
    pub rows_rejected: u64,
    /// `rejects/<source>.csv`, when rows were set aside.
    pub rejects_file: Option<PathBuf>,
    /// What loading it found worth knowing (ignored columns, unchecked references, …).
    pub warnings: Vec<Diagnostic>,
    /// Whether it came from the source cache.
    pub from_cache: bool,
    /// Whether its file is the table itself, scanned where it lies (see [`crate::stage::Placed::InPlace`]).
    pub in_place: bool,
    /// How many parts the engine's workers read its file in, side by side (0: whole).
    pub parts: usize,
    /// The files of an optional source that were not there: it is an empty table.
    pub missing: Vec<PathBuf>,
}

/// A table made by the run.
#[derive(Debug, Clone)]
pub struct TableReport {
    /// Table name.
    pub name: String,
    /// Rows; `None` for a step left as a view (computed inside the one step that reads it).
    pub rows: Option<u64>,
    /// Whether it was staged to a Parquet file, being too large to hold in memory.
    pub staged: bool,
    /// Whether it is a source read where it lies.
    pub in_place: bool,
}

/// What one output wrote.
#[derive(Debug, Clone)]
pub struct OutputReport {
    /// Output name.
    pub name: String,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// The same files with their sizes and hashes, as the manifest records them.
    pub records: Vec<FileRecord>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Per source.
    pub sources: Vec<SourceReport>,
    /// Per table, sources then steps.
    pub tables: Vec<TableReport>,
    /// Per data check (`checks:`), in order.
    pub checks: Vec<CheckOutcome>,
    /// Per output.
    pub outputs: Vec<OutputReport>,
    /// The manifest file.
    pub manifest: PathBuf,
    /// Warnings found while running, every source's together (the plan's own
    /// warnings, found by validation, are in `Plan::warnings` and not repeated here).
    pub warnings: Vec<Diagnostic>,
    /// Milliseconds per phase (`load_sources`, `step <name>`, `checks`, `write_outputs`).
    pub timings_ms: BTreeMap<String, u64>,
    /// How the run shared its memory limit.
    pub memory: MemoryBudget,
}

impl RunReport {
    /// The report of a run that has not begun.
    pub(crate) fn empty(memory: MemoryBudget) -> Self {
        RunReport {
            sources: Vec::new(),
            tables: Vec::new(),
            checks: Vec::new(),
            outputs: Vec::new(),
            manifest: PathBuf::new(),
            warnings: Vec::new(),
            timings_ms: BTreeMap::new(),
            memory,
        }
    }
}

/// The manifest of a run of `plan` on `engine`, started at `started`, that
/// did what `report` says; `error` when it failed.
pub(crate) fn manifest_of(
    plan: &Plan,
    engine: String,
    started: chrono::DateTime<chrono::Utc>,
    report: &RunReport,
    error: Option<String>,
) -> Manifest {
    let tables = |keep: fn(&TableReport) -> bool| -> Vec<String> {
        report.tables.iter().filter(|t| keep(t)).map(|t| t.name.clone()).collect()
    };
    Manifest {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        working_dir: std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default(),
        pipeline: plan.pipeline.name.clone(),
        pipeline_file: plan.pipeline.file.clone(),
        started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        engine,
        status: if error.is_none() { "succeeded" } else { "failed" }.to_string(),
        error,
        as_of: plan.run.as_of.format("%Y-%m-%d").to_string(),
        params: plan.run.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        sources: report
            .sources
            .iter()
            .map(|s| SourceRecord {
                name: s.name.clone(),
                files: s.records.clone(),
                rows_read: s.rows_read,
                rows_loaded: s.rows_loaded,
                rows_rejected: s.rows_rejected,
                from_cache: s.from_cache,
            })
            .collect(),
        tables: report.tables.iter().filter_map(|t| Some((t.name.clone(), t.rows?))).collect(),
        checks: report.checks.clone(),
        staged: tables(|t| t.staged),
        in_place: tables(|t| t.in_place),
        views: tables(|t| t.rows.is_none()),
        outputs: report.outputs.iter().flat_map(|o| o.records.iter().cloned()).collect(),
        timings_ms: report.timings_ms.clone(),
        memory: Some(report.memory),
    }
}
