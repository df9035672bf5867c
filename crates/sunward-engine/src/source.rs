//! Reading one source into the stage: the files it names (as the manifest
//! and the rejects name them), and its rows typed, checked and written to a
//! staged table. The local run and the engine's workers both load a source
//! this way.

use crate::budget::MemoryBudget;
use crate::ingest::{Ingested, KeySet, SourceToLoad, ingest_into};
use crate::manifest::normalize;
use crate::stage::{Placed, Stage, StagedTable, TableWriter};
use std::collections::HashMap;
use std::path::PathBuf;
use sunward_core::validate::PlannedSource;
use sunward_core::{Plan, Result};

/// A source's files, as the manifest and the rejects name them.
pub(crate) fn source_files(source: &PlannedSource, plan: &Plan) -> Result<Vec<PathBuf>> {
    Ok(source.plugin.files(&source.config, &plan.run)?.iter().map(|f| normalize(f)).collect())
}

/// What a source's rejects name as its file: the first of its files, or its name.
pub(crate) fn source_label(source: &PlannedSource, files: &[PathBuf]) -> String {
    files.first().map(|f| f.display().to_string()).unwrap_or_else(|| source.name.clone())
}

/// Read, type and check one source into the table named `table_name` in
/// `stage`: its rows and rejects, and its table.
pub(crate) fn ingest_source(
    source: &PlannedSource,
    plan: &Plan,
    label: &str,
    references: &HashMap<String, &KeySet>,
    (stage, table_name): (&Stage, &str),
    budget: &MemoryBudget,
    progress: &dyn Fn(u64),
) -> Result<(Ingested, StagedTable)> {
    let mut reader = source.plugin.open(&source.config, &plan.run)?;
    let mut writer: Option<TableWriter> = None;
    let reopen = || source.plugin.open(&source.config, &plan.run);
    let load = SourceToLoad {
        name: &source.name,
        file: label,
        options: &source.options,
        keys: budget.key_memory(Some(stage.folder())),
        reopen: Some(&reopen),
        defer_keys: false,
        skip: None,
    };
    let ingested = ingest_into(&load, reader.as_mut(), &plan.run, references, progress, &mut |batch| {
        writer.get_or_insert_with(|| stage.table(table_name, batch.schema())).push(batch)
    })?;
    let table = match &ingested.in_place {
        Some(file) => StagedTable {
            schema: ingested.schema.clone(),
            rows: ingested.rows_loaded,
            place: Placed::InPlace(file.clone()),
        },
        None => writer.unwrap_or_else(|| stage.table(table_name, ingested.schema.clone())).finish()?,
    };
    Ok((ingested, table))
}
