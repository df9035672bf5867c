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
//! `failed/<pipeline>/`, and the previous run's files stay as they were. With a [`SourceCache`], a source
//! checked by an earlier run on the same files and settings is taken from it.

use crate::cache::{CacheKey, KeyParts, SourceCache};
use crate::checks::{CheckOutcome, Status as CheckStatus, failure as check_failure, run_checks};
use crate::generation::{Generation, private_folder};
use crate::ingest::{Ingested, KeySet, schema_without_file, write_rejects};
use crate::manifest::{FileRecord, Manifest, SourceRecord, file_record, manifest_file_name, normalize};
use crate::remote::{
    MergedParts, RemoteLoading, SourceOutcome, SourceTask, TaskResult, claims_files, merge_parts, received, task_for,
};
use crate::session::{Engine, LocalEngine, SessionOptions};
use crate::source::{ingest_source, source_files, source_label};
use crate::stage::{DEFAULT_THRESHOLD, Placed, Stage, StagedTable, file_safe};
use crate::watchdog::{STALL, Stalled, single_partition, until_stalled};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use sunward_core::model::OnBadRows;
use sunward_core::params::ParamValue;
use sunward_core::validate::{PlannedSource, PlannedStep};
use sunward_core::{Diagnostic, ErrorKind, FilePart, Plan, PluginKind, Result, RunContext, StepContext, TableData};

/// Receives progress while a pipeline runs. Every method has a no-op default.
pub trait Progress: Send + Sync {
    /// A stage begins (`loading sources`, `step by_school`, `writing outputs`).
    fn stage(&self, _what: &str) {}
    /// A source has read this many rows so far.
    fn rows(&self, _source: &str, _rows: u64) {}
    /// The run is over.
    fn finish(&self) {}
}

/// A progress receiver that ignores everything.
pub struct Silent;
impl Progress for Silent {}

/// How to run.
#[derive(Clone)]
pub struct RunOptions {
    /// Session settings (memory limit, partitions).
    pub session: SessionOptions,
    /// Where progress goes.
    pub progress: Arc<dyn Progress>,
    /// Read a `produced_by` table even when its manifest shows other inputs
    /// or parameters (the differences become warnings).
    pub allow_stale_inputs: bool,
    /// The folder in which the run's staging folder is made (default: the output folder).
    pub stage_dir: Option<PathBuf>,
    /// Where checked sources are kept for later runs; `None`: read every source afresh.
    pub cache: Option<SourceCache>,
    /// Where the steps' queries execute (default: [`LocalEngine`], in this process).
    pub engine: Arc<dyn Engine>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            session: SessionOptions::default(),
            progress: Arc::new(Silent),
            allow_stale_inputs: false,
            stage_dir: None,
            cache: None,
            engine: Arc::new(LocalEngine),
        }
    }
}

impl RunOptions {
    /// Bytes all tables held in memory may take together before the next
    /// one to grow moves to the staging folder: an eighth of the memory
    /// limit (at least 1 MiB), or [`DEFAULT_THRESHOLD`] without one.
    pub fn stage_threshold(&self) -> usize {
        match self.session.memory_limit {
            Some(limit) => (limit / 8).max(1 << 20),
            None => DEFAULT_THRESHOLD,
        }
    }
}

/// Run a step and stream its result into the stage.
async fn stage_step(
    step: &PlannedStep,
    ctx: &StepContext<'_>,
    stage: &Stage,
    engine: &dyn Engine,
) -> Result<StagedTable> {
    let failed = |e: datafusion::error::DataFusionError| {
        let resources = matches!(e.find_root(), datafusion::error::DataFusionError::ResourcesExhausted(_));
        let d = Diagnostic::runtime(format!("the step failed: {}", e.message()));
        let too_large = e.message().contains("out of range Int64") || e.message().contains("out of range UInt64");
        let d = if resources {
            d.hint("the query needs more memory than --memory-limit allows; raise it")
        } else if too_large {
            d.hint(
                "a value or a total does not fit in a 64-bit integer (at most 9,223,372,036,854,775,807); \
                 sums over integer columns are never allowed to wrap: look for implausible values in the column summed",
            )
        } else {
            d
        };
        d.caused_by(e)
    };
    let df = step.plugin.run(&step.config, ctx).await?;
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await.map_err(failed)?;
    engine.watch(&plan);
    let mut stream = datafusion::physical_plan::execute_stream(plan, task).map_err(failed)?;
    // The executed plan's schema can differ from the logical one in
    // nullability (a UNION of a nullable and a non-null branch, say); the
    // table is staged with the schema its batches actually carry.
    let mut writer = stage.table(&step.name, stream.schema());
    while let Some(batch) = stream.next().await {
        writer.push(batch.map_err(failed)?)?;
    }
    writer.finish()
}

/// What one source did.
#[derive(Debug, Clone)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Its files.
    pub files: Vec<PathBuf>,
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
    /// Whether its file is the table itself, scanned where it lies (see [`Placed::InPlace`]).
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
}

/// What one output wrote.
#[derive(Debug, Clone)]
pub struct OutputReport {
    /// Output name.
    pub name: String,
    /// Files written.
    pub files: Vec<PathBuf>,
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
}

fn placed(d: Diagnostic, plan: &Plan, kind: PluginKind, name: &str) -> Diagnostic {
    let d = if d.location.is_none() { d.at(plan.location_of(kind, name)) } else { d };
    if d.context.is_none() { d.in_context(format!("{}.{name}", kind.section())) } else { d }
}

pub(crate) struct Loaded {
    files: Vec<PathBuf>,
    /// The files of its key values (one per part), when workers of the engine loaded it.
    keys_files: Vec<PathBuf>,
    /// How many parts its file was read in (0: whole).
    parts: usize,
    ingested: Ingested,
    pub(crate) table: StagedTable,
    /// Its key in the source cache, when the cache is on.
    key: Option<String>,
    from_cache: bool,
    /// Its table being kept in the cache: a warning if that failed.
    cache_write: Option<std::thread::JoinHandle<Option<Diagnostic>>>,
    /// An optional source's files that were not there (it is an empty table).
    missing: Vec<PathBuf>,
}

/// Sources being kept in the cache while the run goes on. Dropped (the run
/// failed), it still waits for them, so none is cut off mid-write and the
/// staging folder outlives them.
struct CacheWrites(Vec<(String, std::thread::JoinHandle<Option<Diagnostic>>)>);

impl CacheWrites {
    /// Wait for every write: the warnings of those that failed.
    fn finish(mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.0)
            .into_iter()
            .filter_map(|(name, write)| {
                let failed = write.join().unwrap_or_else(|_| Some(Diagnostic::warning("the cache writer stopped")));
                failed.map(|w| w.in_context(format!("sources.{name}")))
            })
            .collect()
    }
}

impl Drop for CacheWrites {
    fn drop(&mut self) {
        for (_, write) in self.0.drain(..) {
            let _ = write.join();
        }
    }
}

pub(crate) fn load_source(
    source: &PlannedSource,
    plan: &Plan,
    done: &HashMap<String, Loaded>,
    options: &RunOptions,
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
    let (ingested, table) =
        ingest_source(source, plan, &label, &references, (stage, &source.name), options.session.memory_limit, &|n| {
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

/// A source of a wave sent to the engine's workers.
struct Sent {
    name: String,
    files: Vec<PathBuf>,
    task: SourceTask,
    /// The parts its file is read in (none: read whole).
    parts: Vec<FilePart>,
}

impl Sent {
    /// Its tasks: the whole source, or each part.
    fn tasks(&self) -> Vec<SourceTask> {
        if self.parts.is_empty() {
            return vec![self.task.clone()];
        }
        self.parts.iter().map(|p| SourceTask { part: Some(*p), ..self.task.clone() }).collect()
    }
}

/// The parts a source's file is read in by workers reading `part_bytes`
/// each: none (read whole) for a file not larger, a source of several
/// files, or one whose first bad row stops the run (`on_bad_rows: fail`:
/// which row is first is known only in one pass).
fn parts_of(source: &PlannedSource, files: &[PathBuf], part_bytes: Option<u64>) -> Vec<FilePart> {
    let (Some(part_bytes), [file]) = (part_bytes, files) else { return Vec::new() };
    if source.options.on_bad_rows == OnBadRows::Fail {
        return Vec::new();
    }
    let Ok(len) = std::fs::metadata(file).map(|m| m.len()) else { return Vec::new() };
    let count = len.div_ceil(part_bytes.max(1)).min(4096) as usize;
    if count <= 1 { Vec::new() } else { FilePart::cut(len, count) }
}

/// Run `tasks` on the engine's workers: one answer per task, in order.
async fn ask(remote: &dyn RemoteLoading, tasks: Vec<SourceTask>) -> Result<Vec<TaskResult>> {
    let asked = tasks.len();
    let answers = remote.load(tasks).await?;
    if answers.len() != asked {
        return Err(Diagnostic::runtime(format!("the engine's workers answered {} of {asked} tasks", answers.len())));
    }
    Ok(answers)
}

/// Where a source stands after the first round of tasks.
enum FirstRound {
    /// Read whole: its answer.
    Whole(TaskResult),
    /// Its parts could not all be read: read whole in the second round (task `.0` of it).
    Retried(usize),
    /// Read in parts: the merged account, and the second round's tasks reading parts again.
    Parts(Box<MergedParts>, Vec<usize>),
    Failed(Diagnostic),
}

/// Load a wave of sources on the engine's workers (the source cache is not
/// used: the workers read every source afresh). A large file is read in
/// parts when the engine does so (see [`crate::remote`]): a first round of
/// tasks reads every source or part, the duplicates across each source's
/// parts are found, and a second round reads whole the sources whose parts
/// failed and again the parts that hold duplicates.
async fn load_remotely(
    remote: &dyn RemoteLoading,
    ready: &[&PlannedSource],
    plan: &Plan,
    done: &HashMap<String, Loaded>,
    options: &RunOptions,
    stage: &Stage,
) -> Vec<(String, Result<Loaded>)> {
    let mut results: Vec<(String, Result<Loaded>)> = Vec::new();
    let mut sent: Vec<Sent> = Vec::new();
    for source in ready {
        let files = match source_files(source, plan) {
            Ok(files) => files,
            Err(e) => {
                results.push((source.name.clone(), Err(e)));
                continue;
            }
        };
        let references: BTreeMap<String, Vec<PathBuf>> = source
            .references
            .iter()
            .filter_map(|(table, name)| done.get(name).map(|l| (table.clone(), l.keys_files.clone())))
            .filter(|(_, files)| !files.is_empty())
            .collect();
        let task = task_for(source, plan, &files, stage.folder(), references, options.session.memory_limit);
        let parts = parts_of(source, &files, remote.part_bytes());
        sent.push(Sent { name: source.name.clone(), files, task, parts });
    }
    if sent.is_empty() {
        return results;
    }
    let first: Vec<SourceTask> = sent.iter().flat_map(Sent::tasks).collect();
    let mut answers = match ask(remote, first).await {
        Ok(answers) => answers.into_iter(),
        Err(e) => {
            results.extend(sent.into_iter().map(|s| (s.name, Err(e.clone()))));
            return results;
        }
    };
    let mut second: Vec<SourceTask> = Vec::new();
    let mut rounds: Vec<(Sent, FirstRound)> = Vec::new();
    for s in sent {
        let mine: Vec<TaskResult> = answers.by_ref().take(s.parts.len().max(1)).collect();
        let round = if s.parts.is_empty() {
            match mine.into_iter().next() {
                Some(answer) => FirstRound::Whole(answer),
                None => FirstRound::Failed(Diagnostic::runtime("the engine's workers gave no answer")),
            }
        } else if mine.iter().any(std::result::Result::is_err) {
            second.push(s.task.clone());
            FirstRound::Retried(second.len() - 1)
        } else {
            let outcomes: Vec<SourceOutcome> = mine.into_iter().filter_map(std::result::Result::ok).collect();
            let claims = claims_files(&outcomes);
            let duplicates = if claims.is_empty() { Ok(Vec::new()) } else { remote.duplicates(claims).await };
            match duplicates.and_then(|d| merge_parts(outcomes, d)) {
                Err(e) => FirstRound::Failed(e),
                Ok(merged) => {
                    let mut again = Vec::new();
                    for (index, skip) in &merged.restage {
                        if let Some(part) = s.parts.get(*index) {
                            second.push(SourceTask {
                                part: Some(*part),
                                restage: Some(skip.clone()),
                                ..s.task.clone()
                            });
                            again.push(second.len() - 1);
                        }
                    }
                    FirstRound::Parts(Box::new(merged), again)
                }
            }
        };
        rounds.push((s, round));
    }
    let second_answers: Result<Vec<TaskResult>> =
        if second.is_empty() { Ok(Vec::new()) } else { ask(remote, second).await };
    let progress = options.progress.as_ref();
    for (s, round) in rounds {
        let second_answer = |i: usize| -> Result<SourceOutcome> {
            match &second_answers {
                Err(e) => Err(e.clone()),
                Ok(answers) => answers
                    .get(i)
                    .cloned()
                    .ok_or_else(|| Diagnostic::runtime("the engine's workers gave no answer"))?
                    .map_err(Diagnostic::from),
            }
        };
        let parts = if matches!(round, FirstRound::Parts(..)) { s.parts.len() } else { 0 };
        let loaded = match round {
            FirstRound::Failed(e) => Err(e),
            FirstRound::Whole(answer) => answer.map_err(Diagnostic::from).and_then(received),
            FirstRound::Retried(i) => second_answer(i).and_then(received),
            FirstRound::Parts(merged, again) => {
                again.into_iter().map(second_answer).collect::<Result<Vec<SourceOutcome>>>().and_then(|again| {
                    let (in_place, keys) = (merged.in_place.clone(), merged.keys.clone());
                    let ingested = merged.finish(&again)?;
                    let folder = stage.folder().join(format!("{}.parts", file_safe(&s.name)));
                    let place = match in_place {
                        Some(file) => Placed::InPlace(file),
                        None => Placed::File(folder),
                    };
                    let table = StagedTable { schema: ingested.schema.clone(), rows: ingested.rows_loaded, place };
                    Ok((ingested, table, keys))
                })
            }
        };
        let loaded = loaded.map(|(ingested, table, keys_files)| {
            progress.rows(&s.name, ingested.rows_read);
            Loaded {
                files: s.files,
                keys_files,
                parts,
                ingested,
                table,
                key: None,
                from_cache: false,
                cache_write: None,
                missing: Vec::new(),
            }
        });
        results.push((s.name, loaded));
    }
    results
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

/// Run a validated (and checked) plan.
pub async fn run(plan: &Plan, options: &RunOptions) -> Result<RunReport> {
    let started = chrono::Utc::now();
    let progress = options.progress.as_ref();
    let mut stale = crate::provenance::verify(plan);
    if !options.allow_stale_inputs && !stale.is_empty() {
        return Err(stale.remove(0));
    }
    let stale_warnings: Vec<Diagnostic> = stale
        .into_iter()
        .map(|d| {
            let mut w =
                Diagnostic::warning(format!("read anyway ({}): {}", crate::provenance::OVERRIDE_FLAG, d.message))
                    .at(d.location);
            if let Some(context) = d.context {
                w = w.in_context(context);
            }
            w
        })
        .collect();
    let generation = Generation::new(&plan.run.out_dir, &plan.pipeline.name)?;
    let mut timings: BTreeMap<String, u64> = BTreeMap::new();
    let mut manifest = Manifest {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        working_dir: std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default(),
        pipeline: plan.pipeline.name.clone(),
        pipeline_file: plan.pipeline.file.clone(),
        started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        engine: options.engine.describe(),
        status: "failed".to_string(),
        error: None,
        as_of: plan.run.as_of.format("%Y-%m-%d").to_string(),
        params: plan.run.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        sources: Vec::new(),
        tables: BTreeMap::new(),
        checks: Vec::new(),
        staged: Vec::new(),
        in_place: Vec::new(),
        views: Vec::new(),
        outputs: Vec::new(),
        timings_ms: BTreeMap::new(),
    };
    let manifest_path = generation.dir().join(manifest_file_name(&plan.pipeline.name));
    let mut obsolete = Vec::new();
    let result = run_stages(plan, options, progress, &generation, &mut manifest, &mut timings, &mut obsolete).await;
    manifest.timings_ms = timings;
    match result {
        Ok(mut report) => {
            report.warnings.splice(0..0, stale_warnings);
            manifest.status = "succeeded".to_string();
            manifest.write(&manifest_path)?;
            report.manifest = generation.published(&manifest_path);
            generation.commit(&obsolete)?;
            progress.finish();
            Ok(report)
        }
        Err(e) => {
            manifest.error = Some(e.to_string());
            if manifest.write(&manifest_path).is_ok() {
                let _ = generation.keep_failure(&manifest_path);
            }
            progress.finish();
            Err(e)
        }
    }
}

async fn run_stages(
    plan: &Plan,
    options: &RunOptions,
    progress: &dyn Progress,
    generation: &Generation,
    manifest: &mut Manifest,
    timings: &mut BTreeMap<String, u64>,
    obsolete: &mut Vec<PathBuf>,
) -> Result<RunReport> {
    let mut warnings: Vec<Diagnostic> = Vec::new();
    let stage = Stage::new(options.stage_dir.as_ref().unwrap_or(&plan.run.out_dir), options.stage_threshold())?;
    let stage = &stage;

    // Sources, in waves.
    progress.stage("loading sources");
    let clock = Instant::now();
    let mut loaded: HashMap<String, Loaded> = HashMap::new();
    let mut pending: Vec<&PlannedSource> = plan.sources.iter().collect();
    while !pending.is_empty() {
        let (ready, waiting): (Vec<&PlannedSource>, Vec<&PlannedSource>) =
            pending.into_iter().partition(|s| s.references.values().all(|r| loaded.contains_key(r) || r == &s.name));
        if ready.is_empty() {
            return Err(Diagnostic::runtime("sources reference each other in a cycle"));
        }
        // Optional sources whose file is missing are empty tables, made here.
        let (absent, ready): (Vec<&PlannedSource>, Vec<&PlannedSource>) =
            ready.into_iter().partition(|s| absent_optional(s, plan).is_some());
        let mut results: Vec<(String, Result<Loaded>)> = absent
            .iter()
            .map(|s| (s.name.clone(), empty_source(s, &absent_optional(s, plan).unwrap_or_default())))
            .collect();
        results.extend(if ready.is_empty() {
            Vec::new()
        } else if let Some(remote) = options.engine.loading() {
            load_remotely(remote, &ready, plan, &loaded, options, stage).await
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = ready
                    .iter()
                    .map(|s| {
                        let done = &loaded;
                        (s.name.clone(), scope.spawn(move || load_source(s, plan, done, options, stage)))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|(name, h)| {
                        (
                            name,
                            h.join()
                                .unwrap_or_else(|_| Err(Diagnostic::runtime("a source reader stopped unexpectedly"))),
                        )
                    })
                    .collect()
            })
        });
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
    timings.insert("load_sources".into(), clock.elapsed().as_millis() as u64);
    let cache_writes = CacheWrites(
        loaded.iter_mut().filter_map(|(name, l)| l.cache_write.take().map(|w| (name.clone(), w))).collect(),
    );

    // Rejects, counts, limits.
    let mut reports = Vec::new();
    let mut over_limit = Vec::new();
    for source in &plan.sources {
        let Some(l) = loaded.get(&source.name) else { continue };
        let ing = &l.ingested;
        warnings.extend(ing.warnings.iter().cloned());
        let label = l.files.first().map(|f| f.display().to_string()).unwrap_or_default();
        let rejects = PathBuf::from("rejects").join(format!("{}.csv", source.name));
        let written = if ing.rejects.is_empty() {
            // A rejects file from an earlier run would now describe rows that are no longer rejected.
            obsolete.push(rejects);
            None
        } else {
            let path = generation.dir().join(&rejects);
            private_folder(&generation.dir().join("rejects"))?;
            write_rejects(&path, &label, &ing.rejects)
                .map_err(|e| placed(e, plan, PluginKind::Source, &source.name))?;
            Some(path)
        };
        let rejects_file = written.as_ref().map(|p| generation.published(p));
        if let Some(limit) = &source.options.max_rejected
            && limit.exceeded(ing.rows_rejected, ing.rows_read) == Some(true)
        {
            over_limit.push(format!(
                "{}: {} of {} rows rejected (see {})",
                source.name,
                ing.rows_rejected,
                ing.rows_read,
                written.as_ref().map(|p| generation.kept_on_failure(p).display().to_string()).unwrap_or_default()
            ));
        }
        manifest.sources.push(SourceRecord {
            name: source.name.clone(),
            files: l.files.iter().map(|f| file_record(f)).collect::<Result<Vec<FileRecord>>>()?,
            rows_read: ing.rows_read,
            rows_loaded: ing.rows_loaded,
            rows_rejected: ing.rows_rejected,
            from_cache: l.from_cache,
        });
        reports.push(SourceReport {
            name: source.name.clone(),
            files: l.files.clone(),
            rows_read: ing.rows_read,
            rows_loaded: ing.rows_loaded,
            rows_rejected: ing.rows_rejected,
            rejects_file,
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

    // One session holding every table. A distributed engine's workers read
    // every table from a file in the staging folder.
    // The plan's SQL functions (the registry's: statistics and plugins' own).
    let session_options = SessionOptions { functions: plan.functions.clone(), ..options.session.clone() };
    let session = options.engine.session(&session_options)?;
    let distributed = options.engine.distributed();
    let shared = |name: &str, table: StagedTable| if distributed { stage.shared(name, table) } else { Ok(table) };
    let mut table_reports = Vec::new();
    // Every table by name, for the outputs.
    let mut staged: HashMap<String, StagedTable> = HashMap::new();
    for source in &plan.sources {
        if let Some(mut l) = loaded.remove(&source.name) {
            l.table = shared(&source.name, l.table).map_err(|e| placed(e, plan, PluginKind::Source, &source.name))?;
            session.register_table(source.name.as_str(), l.table.provider()?)?;
            manifest.tables.insert(source.name.clone(), l.table.rows);
            table_reports.push(TableReport { name: source.name.clone(), rows: Some(l.table.rows) });
            if l.table.is_staged() {
                manifest.staged.push(source.name.clone());
            }
            if matches!(l.table.place, Placed::InPlace(_)) {
                manifest.in_place.push(source.name.clone());
            }
            staged.insert(source.name.clone(), l.table);
        }
    }

    // Steps in order: a view when exactly one later step reads it (and no
    // output, and it does not ask to be kept), else streamed into the stage.
    // Under a memory limit every step is kept (staged on disk when large):
    // views merge several steps' operators into one query, and too many
    // operators sharing a small limit leave each too little to start.
    // A distributed engine plans a view's query on its own workers, so every
    // step is kept there too.
    let views_allowed = options.session.memory_limit.is_none() && !distributed;
    for step in &plan.steps {
        progress.stage(&format!("step {}", step.name));
        let clock = Instant::now();
        let ctx = StepContext { session: &session, run: &plan.run, name: &step.name };
        let readers = plan.steps.iter().filter(|s| s.inputs.contains(&step.name)).count();
        let written = plan.outputs.iter().any(|o| o.inputs.contains(&step.name));
        if views_allowed && readers == 1 && !written && !step.options.materialize {
            let df = step
                .plugin
                .run(&step.config, &ctx)
                .await
                .map_err(|e| placed(e, plan, PluginKind::Transform, &step.name))?;
            session.register_table(step.name.as_str(), df.into_view())?;
            manifest.views.push(step.name.clone());
            table_reports.push(TableReport { name: step.name.clone(), rows: None });
            continue;
        }
        // The stall guard is for this process's own query engine: with a
        // distributed engine, this process waits idle while the workers run.
        let watched = async {
            if distributed {
                Ok(stage_step(step, &ctx, stage, options.engine.as_ref()).await)
            } else {
                until_stalled(stage_step(step, &ctx, stage, options.engine.as_ref()), STALL).await
            }
        };
        let table = match watched.await {
            Ok(done) => done,
            Err(Stalled) => {
                // A deadlock of the query engine under a tight memory limit
                // (see `watchdog`): the step again, on one partition.
                progress.stage(&format!("step {} again, on one thread (the query engine had stopped)", step.name));
                let single = single_partition(&session);
                let ctx = StepContext { session: &single, run: &plan.run, name: &step.name };
                until_stalled(stage_step(step, &ctx, stage, options.engine.as_ref()), STALL).await.unwrap_or_else(
                    |Stalled| {
                        Err(Diagnostic::runtime(
                            "the step stopped making progress: the query engine used no CPU for 10 s, twice",
                        )
                        .hint("raise --memory-limit, or run without it"))
                    },
                )
            }
        }
        .and_then(|table| shared(&step.name, table))
        .map_err(|e| placed(e, plan, PluginKind::Transform, &step.name))?;
        let provider = table.provider().map_err(|e| {
            placed(
                Diagnostic::runtime(format!("the step's result cannot be registered: {}", e.message)).caused_by(e),
                plan,
                PluginKind::Transform,
                &step.name,
            )
        })?;
        session.register_table(step.name.as_str(), provider)?;
        manifest.tables.insert(step.name.clone(), table.rows);
        table_reports.push(TableReport { name: step.name.clone(), rows: Some(table.rows) });
        if table.is_staged() {
            manifest.staged.push(step.name.clone());
        }
        staged.insert(step.name.clone(), table);
        timings.insert(format!("step {}", step.name), clock.elapsed().as_millis() as u64);
    }

    // Data checks: a failed `error` check stops the run before any output.
    let mut checks = Vec::new();
    if !plan.checks.is_empty() {
        progress.stage("checking the data");
        let clock = Instant::now();
        checks = run_checks(plan, &session).await?;
        timings.insert("checks".into(), clock.elapsed().as_millis() as u64);
        manifest.checks = checks.clone();
        if let Some(failed) = check_failure(plan, &checks) {
            return Err(failed);
        }
        for warned in checks.iter().filter(|c| c.status == CheckStatus::Warned) {
            warnings.push(Diagnostic::warning(format!("data check {}", warned.render())).in_context("checks"));
        }
    }

    // Outputs.
    progress.stage("writing outputs");
    let clock = Instant::now();
    let mut outputs = Vec::new();
    // Sinks write into the run's generation, published as a whole at the end.
    let into_generation = RunContext { out_dir: generation.dir().to_path_buf(), ..plan.run.clone() };
    for output in &plan.outputs {
        let mut data: Vec<TableData> = Vec::new();
        for name in &output.inputs {
            let Some(table) = staged.get(name) else { continue };
            // A sink that streams reads a staged table from its file, batch by batch.
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
        let mut files = Vec::with_capacity(written.len());
        for f in &written {
            let published = generation.published(f);
            let mut record = file_record(f)?;
            record.path = normalize(&published).display().to_string();
            manifest.outputs.push(record);
            files.push(published);
        }
        outputs.push(OutputReport { name: output.name.clone(), files });
    }
    timings.insert("write_outputs".into(), clock.elapsed().as_millis() as u64);

    warnings.extend(cache_writes.finish());
    Ok(RunReport { sources: reports, tables: table_reports, checks, outputs, manifest: PathBuf::new(), warnings })
}
