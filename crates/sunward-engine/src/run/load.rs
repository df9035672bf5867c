//! The first phase of a run: loading the sources into the stage.
//!
//! Sources load in waves: every source whose referenced sources are loaded
//! runs at once, each on a thread of its own (or on the engine's workers,
//! see [`super::remotely`]), so a referenced table's keys are known before
//! the tables that reference it are checked. An optional source whose file
//! is missing is an empty table. With a [`crate::cache::SourceCache`], a
//! source checked by an earlier run on the same files and settings is taken
//! from it, and a freshly checked one is written to it on a thread while the
//! run goes on ([`super::loaded::CacheWrites`]).

use super::loaded::Loaded;
use super::options::{RunOptions, placed};
use crate::budget::MemoryBudget;
use crate::cache::{CacheKey, KeyParts};
use crate::ingest::{Ingested, KeySet, schema_without_file};
use crate::manifest::{FileRecord, file_record, normalize};
use crate::source::{ingest_source, source_files, source_label};
use crate::stage::{Placed, Stage, StagedTable};
use std::collections::HashMap;
use std::path::PathBuf;
use sunward_core::params::ParamValue;
use sunward_core::validate::PlannedSource;
use sunward_core::{Diagnostic, Plan, PluginKind, Result};

/// Load every source of `plan` into `stage`, wave by wave: the loaded
/// sources by name. The first source that fails stops the run (placed at its
/// entry in the pipeline).
pub(super) async fn load_sources(
    plan: &Plan,
    options: &RunOptions,
    budget: &MemoryBudget,
    stage: &Stage,
) -> Result<HashMap<String, Loaded>> {
    let mut loaded: HashMap<String, Loaded> = HashMap::new();
    let mut pending: Vec<&PlannedSource> = plan.sources.iter().collect();
    while !pending.is_empty() {
        let (ready, waiting): (Vec<&PlannedSource>, Vec<&PlannedSource>) =
            pending.into_iter().partition(|s| s.references.values().all(|r| loaded.contains_key(r) || r == &s.name));
        if ready.is_empty() {
            return Err(Diagnostic::runtime("sources reference each other in a cycle"));
        }
        let results = load_wave(&ready, plan, &loaded, options, budget, stage).await;
        let mut errors = Vec::new();
        for (name, result) in results {
            match result {
                Ok(l) => {
                    loaded.insert(name, l);
                }
                Err(e) => errors.push(placed(e, plan, PluginKind::Source, &name)),
            }
        }
        if let Some(first) = errors.into_iter().next() {
            return Err(first);
        }
        pending = waiting;
    }
    Ok(loaded)
}

/// Load one wave: optional sources without their file as empty tables, the
/// rest on the engine's workers when it has them, else each on a thread here.
async fn load_wave(
    ready: &[&PlannedSource],
    plan: &Plan,
    done: &HashMap<String, Loaded>,
    options: &RunOptions,
    budget: &MemoryBudget,
    stage: &Stage,
) -> Vec<(String, Result<Loaded>)> {
    let (absent, present): (Vec<&PlannedSource>, Vec<&PlannedSource>) =
        ready.iter().partition(|s| absent_optional(s, plan).is_some());
    let mut results: Vec<(String, Result<Loaded>)> = absent
        .iter()
        .map(|s| (s.name.clone(), empty_source(s, &absent_optional(s, plan).unwrap_or_default())))
        .collect();
    if present.is_empty() {
        return results;
    }
    if let Some(remote) = options.engine.loading() {
        results.extend(super::remotely::load_remotely(remote, &present, plan, done, options, budget, stage).await);
        return results;
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = present
            .iter()
            .map(|s| (s.name.clone(), scope.spawn(move || load_source(s, plan, done, options, budget, stage))))
            .collect();
        results.extend(handles.into_iter().map(|(name, h)| {
            (name, h.join().unwrap_or_else(|_| Err(Diagnostic::runtime("a source reader stopped unexpectedly"))))
        }));
    });
    results
}

/// Load one source here: from the cache when it holds it, else read, typed
/// and checked into `stage` (and then written to the cache on a thread).
pub(crate) fn load_source(
    source: &PlannedSource,
    plan: &Plan,
    done: &HashMap<String, Loaded>,
    options: &RunOptions,
    budget: &MemoryBudget,
    stage: &Stage,
) -> Result<Loaded> {
    let progress = options.progress.as_ref();
    let files = source_files(source, plan)?;
    let label = source_label(source, &files);
    let key = match &options.cache {
        Some(_) => Some(cache_key(source, plan, done, &files)?),
        None => None,
    };
    if let (Some(cache), Some(key)) = (&options.cache, &key)
        && let Some((ingested, table)) = cache.get(key)
    {
        progress.rows(&source.name, ingested.rows_read);
        return Ok(Loaded {
            files,
            keys_files: Vec::new(),
            parts: 0,
            ingested,
            table,
            key: Some(key.0.clone()),
            from_cache: true,
            cache_write: None,
            missing: Vec::new(),
        });
    }
    let references: HashMap<String, &KeySet> = source
        .references
        .iter()
        .filter_map(|(table, name)| done.get(name).map(|l| (table.clone(), &l.ingested.keys)))
        .collect();
    let (ingested, table) = ingest_source(source, plan, &label, &references, (stage, &source.name), budget, &|n| {
        progress.rows(&source.name, n)
    })?;
    // Kept in the cache on a thread of its own, while the steps run.
    let cache_write = match (&options.cache, &key) {
        (Some(cache), Some(key)) => {
            let (cache, key, ingested, table) =
                (cache.clone(), CacheKey(key.0.clone()), ingested.clone(), table.clone());
            Some(std::thread::spawn(move || cache.put(&key, &ingested, &table).err()))
        }
        _ => None,
    };
    Ok(Loaded {
        files,
        keys_files: Vec::new(),
        parts: 0,
        ingested,
        table,
        key: key.map(|k| k.0),
        from_cache: false,
        cache_write,
        missing: Vec::new(),
    })
}

/// The files of an optional source (`optional: true`) when one of them is missing.
fn absent_optional(source: &PlannedSource, plan: &Plan) -> Option<Vec<PathBuf>> {
    if !source.options.optional {
        return None;
    }
    let files = source_files(source, plan).ok()?;
    files.iter().any(|f| !f.is_file()).then_some(files)
}

/// An optional source whose file is missing: an empty table of its declared
/// columns (the run's summary says so). It records no input file.
fn empty_source(source: &PlannedSource, files: &[PathBuf]) -> Result<Loaded> {
    let schema = schema_without_file(&source.options)?;
    let missing: Vec<PathBuf> = files.iter().filter(|f| !f.is_file()).cloned().collect();
    let ingested = Ingested {
        schema: schema.clone(),
        batches: Vec::new(),
        rows_read: 0,
        rows_loaded: 0,
        rows_rejected: 0,
        rejects: Vec::new(),
        keys: KeySet::new(),
        warnings: Vec::new(),
        in_place: None,
        claims: None,
        skipped: Vec::new(),
    };
    Ok(Loaded {
        files: Vec::new(),
        keys_files: Vec::new(),
        parts: 0,
        ingested,
        table: StagedTable { schema, rows: 0, place: Placed::Memory(Vec::new()) },
        key: None,
        from_cache: false,
        cache_write: None,
        missing,
    })
}

/// The cache key of a source: its entry, the parameters, `as_of`, its files' contents and the keys it checks against.
fn cache_key(
    source: &PlannedSource,
    plan: &Plan,
    done: &HashMap<String, Loaded>,
    files: &[PathBuf],
) -> Result<CacheKey> {
    let records = files.iter().map(|f| file_record(f)).collect::<Result<Vec<FileRecord>>>()?;
    let entry = plan
        .pipeline
        .section(PluginKind::Source)
        .find(|e| e.name == source.name)
        .map(|e| e.node.to_json())
        .unwrap_or_default();
    let references = source
        .references
        .iter()
        .map(|(table, name)| (table.clone(), done.get(name).and_then(|l| l.key.clone()).unwrap_or_default()))
        .collect();
    Ok(CacheKey::new(&KeyParts {
        contract: plan.contract,
        plugin: &source.plugin_name,
        // The parameters the entry names: another pipeline declaring the same
        // source with the same values (metrics.yaml, then a report) shares the entry.
        params: {
            let written = entry.to_string();
            plan.run
                .params
                .iter()
                .filter(|(k, _)| written.contains(&format!("${{{k}}}")))
                .map(|(k, v)| match v {
                    // `pipelines/../data` and `data` are one folder.
                    ParamValue::Path(path) => (k.clone(), normalize(path).display().to_string()),
                    other => (k.clone(), other.to_string()),
                })
                .collect()
        },
        entry,
        as_of: plan.run.as_of.to_string(),
        files: &records,
        references,
    }))
}
