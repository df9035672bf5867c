//! Sources loaded by other processes: what a run hands to an engine whose
//! workers read, type and check its sources (a cluster's executors), and
//! what comes back.
//!
//! A [`SourceTask`] names the pipeline file, its parameters and the source;
//! the worker validates the same pipeline with the same values (so it reads
//! the source with the same plugin, mappings and contract rules as a local
//! run would), checks that it sees the same entry and files as the run, and
//! loads the source with the local engine's own code ([`load_task`]) into the
//! run's staging folder, which every process of the engine sees at the same
//! path. Its rejects, counts and warnings come back as a [`SourceOutcome`];
//! the key values other sources' references are checked against go to a
//! file beside the table, which the tasks of the next wave read. So a
//! source's rejects, counts and table are those a local run makes, row for
//! row.
//!
//! # A large file read in parts
//!
//! When the engine reads parts ([`RemoteLoading::part_bytes`]), a source file
//! larger than a part is cut into byte ranges ([`FilePart`]), each read,
//! typed and checked by a task of its own, which stages its good rows as one
//! file of the table's folder and writes every good row's unique-key claim
//! (the key's 128-bit hash, the row's place, the key as written) beside it.
//! The run then asks the engine for the duplicates among all the parts'
//! claims at once ([`RemoteLoading::duplicates`], a distributed aggregation
//! and join on a cluster): every row whose key an earlier row of the file
//! claimed, with that row's place. Each becomes the reject a whole-file load
//! gives it, merged into the parts' rejects in file order, and the parts
//! holding one are read again without it ([`SourceTask::restage`]). Reference
//! checks need nothing more: each part checks its rows against the referenced
//! tables' keys, and a referenced table's keys are the union of its parts'.
//! A source whose parts cannot be read so (a format read whole, a cut inside
//! a quoted field, `on_bad_rows: fail`) is read whole by one task instead,
//! and then every message is the whole-file load's own.

use crate::ingest::{Ingested, KeyClaims, KeySet, Reject, SourceToLoad, duplicate_reject, ingest_into};
use crate::source::{ingest_source, source_files, source_label};
use crate::stage::{Placed, Stage, StagedTable, file_safe};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use sunward_core::validate::{ValidateOptions, validate_file};
use sunward_core::{
    Diagnostic, ErrorKind, FilePart, Location, Plan, PluginKind, Registry, Result, RowPlace, RowReader,
};

/// One source for a worker to load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceTask {
    /// The pipeline file (absolute).
    pub pipeline: PathBuf,
    /// Every parameter's value as the run has it (paths absolute).
    pub params: BTreeMap<String, String>,
    /// The run's `as_of` date (`YYYY-MM-DD`).
    pub as_of: String,
    /// The run's output folder (absolute).
    pub out_dir: PathBuf,
    /// The source's name.
    pub source: String,
    /// Its entry in the pipeline, as JSON: the worker must see the same.
    pub entry: String,
    /// Its files, as the run lists them: the worker must list the same.
    pub files: Vec<PathBuf>,
    /// The run's staging folder, where the table and its keys go.
    pub stage: PathBuf,
    /// Referenced contract table → the key files of the source holding it (one per part).
    pub references: BTreeMap<String, Vec<PathBuf>>,
    /// The run's `--memory-limit`, for the unique-key check's budget.
    pub memory_limit: Option<usize>,
    /// The part of the source's file to read, when it is read in parts.
    #[serde(default)]
    pub part: Option<FilePart>,
    /// A part read again once the duplicates across parts are known: its
    /// rows at these places are left out and its table is staged (not read
    /// in place); its rejects and claims were taken the first time.
    #[serde(default)]
    pub restage: Option<Vec<u64>>,
}

impl SourceTask {
    /// The run's memory budget, split from its limit as the run split it.
    pub fn budget(&self) -> crate::budget::MemoryBudget {
        crate::budget::MemoryBudget::split(self.memory_limit)
    }

    /// Every path the task reads or writes: what a cluster limited to some
    /// folders checks before running it.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.pipeline.as_path())
            .chain(self.files.iter().map(PathBuf::as_path))
            .chain(std::iter::once(self.stage.as_path()))
            .chain(self.references.values().flatten().map(PathBuf::as_path))
    }
}

/// A diagnostic as it travels between processes (its cause as text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireDiagnostic {
    kind: ErrorKind,
    message: String,
    location: Option<Location>,
    context: Option<String>,
    hint: Option<String>,
    cause: Option<String>,
}

/// The cause of a diagnostic made in another process.
#[derive(Debug)]
struct RemoteCause(String);

impl std::fmt::Display for RemoteCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RemoteCause {}

impl From<&Diagnostic> for WireDiagnostic {
    fn from(d: &Diagnostic) -> Self {
        WireDiagnostic {
            kind: d.kind,
            message: d.message.clone(),
            location: d.location.clone(),
            context: d.context.clone(),
            hint: d.hint.clone(),
            cause: d.source.as_ref().map(|c| c.to_string()),
        }
    }
}

impl From<WireDiagnostic> for Diagnostic {
    fn from(w: WireDiagnostic) -> Self {
        let mut d = Diagnostic::new(w.kind, w.message);
        d.location = w.location;
        d.context = w.context;
        d.hint = w.hint;
        if let Some(cause) = w.cause {
            d = d.caused_by(RemoteCause(cause));
        }
        d
    }
}

/// A bad row as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct WireReject {
    place: sunward_core::RowPlace,
    column: String,
    rule: String,
    value: String,
}

/// What a worker made of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceOutcome {
    /// The table's schema, as an Arrow IPC stream without rows.
    schema: Vec<u8>,
    rows_read: u64,
    rows_loaded: u64,
    rows_rejected: u64,
    rejects: Vec<WireReject>,
    warnings: Vec<WireDiagnostic>,
    /// The staged table, or the source's own Parquet file read in place.
    table: PathBuf,
    in_place: bool,
    /// The key values for other sources' reference checks.
    keys: PathBuf,
    /// For a part: its unique-key claims.
    #[serde(default)]
    claims: Option<ClaimsFile>,
    /// For a part read again: the rows left out, each one's place and key as written.
    #[serde(default)]
    skipped: Vec<(u64, String)>,
}

/// Where a part's unique-key claims are, and how its duplicates are named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ClaimsFile {
    file: PathBuf,
    names: String,
    like: Option<RowPlace>,
}

/// A row that repeats a unique key an earlier row of its file claimed,
/// found across the parts of a file ([`RemoteLoading::duplicates`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The part holding the row.
    pub part: usize,
    /// The row's place number.
    pub place: u64,
    /// The place number of the row that claimed the key first.
    pub first: u64,
}

/// The columns of a claims file: the key hash's high and low 64 bits, the
/// row's place number and its part (32 bytes a row, no text: the key as
/// written is taken only for a duplicate, when its part is read again).
pub fn claims_schema() -> SchemaRef {
    use datafusion::arrow::datatypes::{DataType, Field};
    Arc::new(Schema::new(vec![
        Field::new("hash_high", DataType::UInt64, false),
        Field::new("hash_low", DataType::UInt64, false),
        Field::new("place", DataType::UInt64, false),
        Field::new("part", DataType::UInt64, false),
    ]))
}

/// The query finding the keys claimed more than once among the claims
/// registered as `table`, one row per key: the part and place of its last
/// claim, the place of its first, and how many rows claim it. A key claimed
/// twice (the usual duplicate) is settled by this row alone; only keys
/// claimed three times or more need [`repeats_query`]. One aggregation, so
/// the claims are read and exchanged once.
pub fn repeated_keys_query(table: &str) -> String {
    format!(
        "SELECT max(part) AS part, max(place) AS place, min(place) AS first, count(*) AS claims \
         FROM {table} GROUP BY hash_high, hash_low HAVING count(*) > 1"
    )
}

/// The query listing every claim after the first of each key claimed three
/// times or more among the claims registered as `table`, with that first
/// place.
pub fn repeats_query(table: &str) -> String {
    format!(
        "SELECT c.part, c.place, f.first \
         FROM {table} c \
         JOIN (SELECT hash_high, hash_low, min(place) AS first FROM {table} \
               GROUP BY hash_high, hash_low HAVING count(*) > 2) f \
         ON c.hash_high = f.hash_high AND c.hash_low = f.hash_low \
         WHERE c.place > f.first"
    )
}

impl SourceOutcome {
    /// The outcome of a load: its account, where its table and keys are, and
    /// (for a part) its claims.
    fn of(
        ingested: Ingested,
        table: PathBuf,
        in_place: bool,
        keys: PathBuf,
        claims: Option<ClaimsFile>,
    ) -> Result<Self> {
        Ok(SourceOutcome {
            schema: schema_bytes(&ingested.schema)?,
            rows_read: ingested.rows_read,
            rows_loaded: ingested.rows_loaded,
            rows_rejected: ingested.rows_rejected,
            rejects: ingested.rejects.into_iter().map(WireReject::from).collect(),
            warnings: ingested.warnings.iter().map(WireDiagnostic::from).collect(),
            table,
            in_place,
            keys,
            claims,
            skipped: ingested.skipped,
        })
    }
}

impl From<Reject> for WireReject {
    fn from(r: Reject) -> Self {
        WireReject { place: r.place, column: r.column, rule: r.rule, value: r.value }
    }
}

impl From<WireReject> for Reject {
    fn from(r: WireReject) -> Self {
        Reject { place: r.place, column: r.column, rule: r.rule, value: r.value }
    }
}

/// A worker's answer for one task: the outcome, or why the source could not be loaded.
pub type TaskResult = std::result::Result<SourceOutcome, WireDiagnostic>;

/// An engine whose workers load sources ([`crate::session::Engine::loading`]).
pub trait RemoteLoading: Send + Sync {
    /// Load every task (one wave of sources, none referring to another):
    /// each task's result, in order; an error when the engine itself failed.
    fn load<'a>(&'a self, tasks: Vec<SourceTask>)
    -> Pin<Box<dyn Future<Output = Result<Vec<TaskResult>>> + Send + 'a>>;

    /// How many bytes of a source file one task reads: a larger file is
    /// read in parts side by side. `None` (the default): every file whole.
    fn part_bytes(&self) -> Option<u64> {
        None
    }

    /// The duplicates among the unique-key claims in `claims` (the parts'
    /// claims files of one table), by [`repeated_keys_query`] and, when a key
    /// is claimed three times or more, [`repeats_query`].
    fn duplicates<'a>(
        &'a self,
        claims: Vec<PathBuf>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Duplicate>>> + Send + 'a>>;
}

/// What runs a task in a worker.
pub trait TaskLoader: Send + Sync + std::fmt::Debug {
    /// Load the task's source.
    fn load(&self, task: &SourceTask) -> TaskResult;
}

/// Runs tasks by validating their pipeline with this registry (the plugins
/// this binary was built with).
pub struct PipelineLoader {
    registry: Arc<Registry>,
}

impl std::fmt::Debug for PipelineLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PipelineLoader")
    }
}

impl PipelineLoader {
    /// A loader validating pipelines with `registry`.
    pub fn new(registry: Arc<Registry>) -> Self {
        PipelineLoader { registry }
    }
}

impl TaskLoader for PipelineLoader {
    fn load(&self, task: &SourceTask) -> TaskResult {
        let as_of = chrono::NaiveDate::parse_from_str(&task.as_of, "%Y-%m-%d").map_err(|e| {
            WireDiagnostic::from(&Diagnostic::runtime(format!("`{}` is not a date", task.as_of)).caused_by(e))
        })?;
        let options = ValidateOptions {
            sets: task.params.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            cwd: task.pipeline.parent().map(Path::to_path_buf).unwrap_or_default(),
            out_dir: task.out_dir.clone(),
            today: as_of,
        };
        let plan = validate_file(&task.pipeline, &self.registry, &options).map_err(|errors| {
            let said: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            WireDiagnostic::from(&Diagnostic::runtime(format!(
                "the worker cannot validate {}: {}",
                task.pipeline.display(),
                said.join("; ")
            )).hint("every machine of the cluster must see the same project files (pipelines, packages, contract) at the same paths"))
        })?;
        load_task(&plan, task).map_err(|d| WireDiagnostic::from(&d))
    }
}

/// The task of loading `source` of `plan` into `stage`, its references'
/// keys in the given files.
pub(crate) fn task_for(
    source: &sunward_core::validate::PlannedSource,
    plan: &Plan,
    files: &[PathBuf],
    stage: &Path,
    references: BTreeMap<String, Vec<PathBuf>>,
    memory_limit: Option<usize>,
) -> SourceTask {
    let absolute = |p: &Path| crate::manifest::normalize(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
    SourceTask {
        pipeline: absolute(Path::new(&plan.pipeline.file)),
        params: plan.run.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        as_of: plan.run.as_of.format("%Y-%m-%d").to_string(),
        out_dir: absolute(&plan.run.out_dir),
        source: source.name.clone(),
        entry: entry_of(plan, &source.name),
        files: files.to_vec(),
        stage: stage.to_path_buf(),
        references,
        memory_limit,
        part: None,
        restage: None,
    }
}

fn entry_of(plan: &Plan, source: &str) -> String {
    plan.pipeline
        .section(PluginKind::Source)
        .find(|e| e.name == source)
        .map(|e| e.node.to_json().to_string())
        .unwrap_or_default()
}

/// Load a task's source of `plan` (the worker's own validation of the
/// task's pipeline) with the local engine's code.
pub fn load_task(plan: &Plan, task: &SourceTask) -> Result<SourceOutcome> {
    let differs = |what: &str| {
        Diagnostic::runtime(format!(
            "the worker sees {what} of source `{}` otherwise than the run does ({})",
            task.source,
            task.pipeline.display()
        ))
        .hint("every machine of the cluster must see the same project and data files at the same paths")
    };
    let source = plan.sources.iter().find(|s| s.name == task.source).ok_or_else(|| differs("no entry"))?;
    if entry_of(plan, &source.name) != task.entry {
        return Err(differs("the entry"));
    }
    let files = source_files(source, plan)?;
    if files != task.files {
        return Err(differs("the files"));
    }
    let stage = Stage::shared_folder(&task.stage)?;
    let mut keys: HashMap<String, KeySet> = HashMap::new();
    for (table, files) in &task.references {
        let mut all = KeySet::new();
        for file in files {
            for (column, values) in read_keys(file)? {
                all.entry(column).or_default().extend(values);
            }
        }
        keys.insert(table.clone(), all);
    }
    let references: HashMap<String, &KeySet> = keys.iter().map(|(t, k)| (t.clone(), k)).collect();
    let label = source_label(source, &files);
    if let Some(part) = &task.part {
        return load_part(plan, source, task, part, &label, &references, &stage);
    }
    let safe = file_safe(&source.name);
    let (scratch, attempt) = attempt_stage(&stage, &safe, &safe)?;
    let (ingested, table) =
        ingest_source(source, plan, &label, &references, (&scratch, &attempt), &task.budget(), &|_| {})?;
    let keys_file = stage.folder().join(format!("{safe}.keys.json"));
    write_keys(&keys_file, &ingested.keys)?;
    let (table_file, in_place) = match table.place {
        Placed::InPlace(file) => (file, true),
        place => {
            let file = stage.folder().join(format!("{safe}.parquet"));
            (settle(&scratch, &attempt, StagedTable { place, ..table }, &file)?, false)
        }
    };
    SourceOutcome::of(ingested, table_file, in_place, keys_file, None)
}

/// Load one part of a source's file: its good rows staged as one file of
/// the table's folder, its claims and keys beside it.
fn load_part(
    plan: &Plan,
    source: &sunward_core::validate::PlannedSource,
    task: &SourceTask,
    part: &FilePart,
    label: &str,
    references: &HashMap<String, &KeySet>,
    stage: &Stage,
) -> Result<SourceOutcome> {
    let open = || -> Result<Box<dyn RowReader>> {
        source.plugin.open_part(&source.config, &plan.run, part)?.ok_or_else(|| {
            Diagnostic::runtime(format!("source `{}` cannot be read in parts: its format is read whole", source.name))
        })
    };
    let mut reader = open()?;
    let safe = file_safe(&source.name);
    let folder = stage.folder().join(format!("{safe}.parts"));
    std::fs::create_dir_all(&folder)
        .map_err(|e| Diagnostic::runtime(format!("cannot create {}", folder.display())).caused_by(e))?;
    let name = format!("part-{:05}", part.index);
    let (scratch, attempt) = attempt_stage(stage, &safe, &name)?;
    let skip: Option<HashSet<u64>> = task.restage.as_ref().map(|places| places.iter().copied().collect());
    let reopen: &dyn Fn() -> Result<Box<dyn RowReader>> = &open;
    let load = SourceToLoad {
        name: &source.name,
        file: label,
        options: &source.options,
        keys: task.budget().key_memory(Some(stage.folder())),
        reopen: task.restage.is_none().then_some(reopen),
        defer_keys: true,
        skip: skip.as_ref(),
    };
    let mut writer = None;
    let ingested = ingest_into(&load, reader.as_mut(), &plan.run, references, &|_| {}, &mut |batch| {
        writer.get_or_insert_with(|| scratch.table(&attempt, batch.schema())).push(batch)
    })?;
    let (table_file, in_place) = match &ingested.in_place {
        Some(file) => (file.clone(), true),
        None => {
            let table = writer.unwrap_or_else(|| scratch.table(&attempt, ingested.schema.clone())).finish()?;
            (settle(&scratch, &attempt, table, &folder.join(format!("{name}.parquet")))?, false)
        }
    };
    let keys_file = stage.folder().join(format!("{safe}.{name}.keys.json"));
    write_keys(&keys_file, &ingested.keys)?;
    let claims = match (&ingested.claims, &task.restage) {
        (Some(claims), None) => {
            let folder = stage.folder().join(format!("{safe}.claims"));
            std::fs::create_dir_all(&folder)
                .map_err(|e| Diagnostic::runtime(format!("cannot create {}", folder.display())).caused_by(e))?;
            let file = folder.join(format!("{name}.parquet"));
            write_claims(&file, part.index, claims)?;
            Some(ClaimsFile { file, names: claims.names.clone(), like: claims.like.clone() })
        }
        _ => None,
    };
    SourceOutcome::of(ingested, table_file, in_place, keys_file, claims)
}

/// The folder a task's table is written in before it is moved into place,
/// and this attempt's own name for it (`name`, the process and the time): a
/// task the cluster runs again (its executor was lost) never writes into a
/// file another attempt is writing or has written.
fn attempt_stage(stage: &Stage, safe: &str, name: &str) -> Result<(Stage, String)> {
    let writing = stage.folder().join(format!("{safe}.writing"));
    std::fs::create_dir_all(&writing)
        .map_err(|e| Diagnostic::runtime(format!("cannot create {}", writing.display())).caused_by(e))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    Ok((Stage::shared_folder(&writing)?, format!("{name}-{}-{nanos}", std::process::id())))
}

/// Write `table` (staged under `attempt` in `scratch`) to disk whole and
/// move it to `to`, replacing what an earlier attempt left there.
fn settle(scratch: &Stage, attempt: &str, table: StagedTable, to: &Path) -> Result<PathBuf> {
    let Placed::File(written) = scratch.shared(attempt, table)?.place else {
        return Err(Diagnostic::runtime("a staged table is not a file"));
    };
    std::fs::rename(&written, to)
        .map_err(|e| Diagnostic::runtime(format!("cannot move a staged table to {}", to.display())).caused_by(e))?;
    Ok(to.to_path_buf())
}

/// Write a part's claims as Parquet ([`claims_schema`]).
fn write_claims(file: &Path, part: usize, claims: &KeyClaims) -> Result<()> {
    use datafusion::arrow::array::{ArrayRef, UInt64Array};
    use datafusion::arrow::record_batch::RecordBatch;
    let failed = |e: &dyn std::fmt::Display| Diagnostic::runtime(format!("cannot write {}: {e}", file.display()));
    let schema = claims_schema();
    let mut out = sunward_core::atomic::AtomicFile::create(file)?;
    let mut writer =
        datafusion::parquet::arrow::ArrowWriter::try_new(out.file(), schema.clone(), None).map_err(|e| failed(&e))?;
    for chunk in claims.claims.chunks(crate::ingest::BATCH_ROWS) {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(chunk.iter().map(|c| (c.hash >> 64) as u64).collect::<UInt64Array>()),
            Arc::new(chunk.iter().map(|c| c.hash as u64).collect::<UInt64Array>()),
            Arc::new(chunk.iter().map(|c| c.place).collect::<UInt64Array>()),
            Arc::new(UInt64Array::from(vec![part as u64; chunk.len()])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| failed(&e))?;
        writer.write(&batch).map_err(|e| failed(&e))?;
    }
    writer.close().map_err(|e| failed(&e))?;
    out.commit()?;
    Ok(())
}

/// The parts' outcomes of one source, with the duplicates found across
/// them: which parts must be read again (those holding a duplicate, which
/// also gives each duplicate's key as written, and those read in place when
/// the file is not the table itself), and then ([`MergedParts::finish`]) the
/// source's account: rejects in file order, each duplicate's among them;
/// counts; the first part's warnings (they come from the header, the same in
/// every part).
pub(crate) struct MergedParts {
    ingested: Ingested,
    /// The parts to read again, each with the places of its rows to leave out.
    pub(crate) restage: Vec<(usize, Vec<u64>)>,
    /// Every part passed as stored and no row repeats a key: the file is the table.
    pub(crate) in_place: Option<PathBuf>,
    pub(crate) keys: Vec<PathBuf>,
    duplicates: Vec<Duplicate>,
    names: String,
    like: RowPlace,
}

/// The claims files among `outcomes` (parts of one source).
pub(crate) fn claims_files(outcomes: &[SourceOutcome]) -> Vec<PathBuf> {
    outcomes.iter().filter_map(|o| o.claims.as_ref().map(|c| c.file.clone())).collect()
}

/// Merge the outcomes of a source's parts (in part order) with the
/// duplicates found across them.
pub(crate) fn merge_parts(outcomes: Vec<SourceOutcome>, mut duplicates: Vec<Duplicate>) -> Result<MergedParts> {
    let first = outcomes.first().ok_or_else(|| Diagnostic::runtime("a source read in parts had no part"))?;
    let schema = schema_from(&first.schema)?;
    let warnings: Vec<Diagnostic> = first.warnings.iter().cloned().map(Diagnostic::from).collect();
    let (names, like) = outcomes
        .iter()
        .find_map(|o| o.claims.as_ref().and_then(|c| c.like.clone().map(|like| (c.names.clone(), like))))
        .unwrap_or_else(|| (String::new(), RowPlace::Record(0)));
    duplicates.sort_by_key(|d| d.place);
    let mut by_part: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for d in &duplicates {
        by_part.entry(d.part).or_default().push(d.place);
    }
    let placed_in_place: Vec<bool> = outcomes.iter().map(|o| o.in_place).collect();
    let all_in_place = placed_in_place.iter().all(|p| *p);
    let (mut read, mut loaded, mut rejected) = (0u64, 0u64, 0u64);
    let mut rejects: Vec<Reject> = Vec::new();
    let mut keys = Vec::new();
    let mut source_file = None;
    for o in outcomes {
        read += o.rows_read;
        loaded += o.rows_loaded;
        rejected += o.rows_rejected;
        rejects.extend(o.rejects.into_iter().map(Reject::from));
        source_file.get_or_insert(o.table);
        keys.push(o.keys);
    }
    let in_place = if all_in_place && duplicates.is_empty() { source_file } else { None };
    // Read again: each part holding a duplicate, and each part read in
    // place when the table is not the file itself (it has no staged file).
    let restage: Vec<(usize, Vec<u64>)> = if in_place.is_some() {
        Vec::new()
    } else {
        placed_in_place
            .iter()
            .enumerate()
            .filter(|(index, read_in_place)| **read_in_place || by_part.contains_key(index))
            .map(|(index, _)| (index, by_part.get(&index).cloned().unwrap_or_default()))
            .collect()
    };
    let count = duplicates.len() as u64;
    let ingested = Ingested {
        schema,
        batches: Vec::new(),
        rows_read: read,
        rows_loaded: loaded - count.min(loaded),
        rows_rejected: rejected + count,
        rejects,
        keys: KeySet::new(),
        warnings,
        in_place: in_place.clone(),
        claims: None,
        skipped: Vec::new(),
    };
    Ok(MergedParts { ingested, restage, in_place, keys, duplicates, names, like })
}

impl MergedParts {
    /// The source's account, given the outcomes of the parts read again
    /// (which name each duplicate's key as written).
    pub(crate) fn finish(self, again: &[SourceOutcome]) -> Result<Ingested> {
        let shown: HashMap<u64, &str> =
            again.iter().flat_map(|o| o.skipped.iter().map(|(place, key)| (*place, key.as_str()))).collect();
        let mut late = Vec::with_capacity(self.duplicates.len());
        for d in &self.duplicates {
            let key = shown.get(&d.place).ok_or_else(|| {
                Diagnostic::runtime(format!("a part read again did not leave out the duplicate at place {}", d.place))
            })?;
            late.push(duplicate_reject(&self.like, d.place, &self.names, key, d.first));
        }
        // The duplicates join the rejects in file order (a duplicate is the only reject of its row).
        let mut ingested = self.ingested;
        let rejects = std::mem::take(&mut ingested.rejects);
        let mut merged = Vec::with_capacity(rejects.len() + late.len());
        let mut late = late.into_iter().peekable();
        for r in rejects {
            while let Some(d) = late.next_if(|d| place_number(&d.place) < place_number(&r.place)) {
                merged.push(d);
            }
            merged.push(r);
        }
        merged.extend(late);
        ingested.rejects = merged;
        Ok(ingested)
    }
}

/// The number of a row's place (its line, record or sheet row).
fn place_number(place: &RowPlace) -> u64 {
    match place {
        RowPlace::Line(n) | RowPlace::Record(n) | RowPlace::Sheet { row: n, .. } => *n,
    }
}

/// A worker's outcome as the run's own loading result: the source's
/// account, its table and the file of its keys.
pub(crate) fn received(outcome: SourceOutcome) -> Result<(Ingested, StagedTable, Vec<PathBuf>)> {
    let schema = schema_from(&outcome.schema)?;
    let ingested = Ingested {
        schema: schema.clone(),
        batches: Vec::new(),
        rows_read: outcome.rows_read,
        rows_loaded: outcome.rows_loaded,
        rows_rejected: outcome.rows_rejected,
        rejects: outcome.rejects.into_iter().map(Reject::from).collect(),
        keys: KeySet::new(),
        warnings: outcome.warnings.into_iter().map(Diagnostic::from).collect(),
        in_place: outcome.in_place.then(|| outcome.table.clone()),
        claims: None,
        skipped: Vec::new(),
    };
    let place = if outcome.in_place { Placed::InPlace(outcome.table) } else { Placed::File(outcome.table) };
    let table = StagedTable { schema, rows: ingested.rows_loaded, place };
    Ok((ingested, table, vec![outcome.keys]))
}

fn schema_bytes(schema: &SchemaRef) -> Result<Vec<u8>> {
    let failed = |e: datafusion::arrow::error::ArrowError| {
        Diagnostic::runtime("cannot encode a loaded table's schema").caused_by(e)
    };
    let mut bytes = Vec::new();
    let mut writer = StreamWriter::try_new(&mut bytes, schema).map_err(failed)?;
    writer.finish().map_err(failed)?;
    drop(writer);
    Ok(bytes)
}

fn schema_from(bytes: &[u8]) -> Result<SchemaRef> {
    let reader = StreamReader::try_new(std::io::Cursor::new(bytes), None)
        .map_err(|e| Diagnostic::runtime("cannot read a loaded table's schema from the worker").caused_by(e))?;
    let schema: Schema = reader.schema().as_ref().clone();
    Ok(Arc::new(schema))
}

fn write_keys(path: &Path, keys: &KeySet) -> Result<()> {
    sunward_core::atomic::write_atomic(path, |w| {
        serde_json::to_writer(w, keys)
            .map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))
    })?;
    Ok(())
}

fn read_keys(path: &Path) -> Result<KeySet> {
    let file = std::fs::File::open(path)
        .map_err(|e| Diagnostic::runtime(format!("cannot read the referenced keys {}", path.display())).caused_by(e))?;
    serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| Diagnostic::runtime(format!("cannot read the referenced keys {}", path.display())).caused_by(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_crosses_with_its_place_hint_and_cause() {
        let d = Diagnostic::invalid("a header is missing")
            .at(Some(Location { file: "a.csv".into(), line: 1, column: 3 }))
            .in_context("sources.services")
            .hint("map it")
            .caused_by(RemoteCause("deeper".into()));
        let wire: WireDiagnostic =
            serde_json::from_str(&serde_json::to_string(&WireDiagnostic::from(&d)).unwrap()).unwrap();
        let back = Diagnostic::from(wire);
        assert_eq!(back.kind, ErrorKind::Invalid);
        assert_eq!(back.message, "a header is missing");
        assert_eq!(back.location, d.location);
        assert_eq!(back.context.as_deref(), Some("sources.services"));
        assert_eq!(back.hint.as_deref(), Some("map it"));
        assert_eq!(back.source.map(|c| c.to_string()).as_deref(), Some("deeper"));
    }

    #[test]
    fn a_schema_crosses_whole() {
        use datafusion::arrow::datatypes::{DataType, Field};
        let schema = Arc::new(Schema::new(vec![
            Field::new("school_id", DataType::Utf8, false),
            Field::new("service_date", DataType::Date32, true),
            Field::new("minutes", DataType::Int64, true),
        ]));
        assert_eq!(schema_from(&schema_bytes(&schema).unwrap()).unwrap(), schema);
    }

    /// A part's outcome: `read` rows of which the rejects at `bad` lines, read in place or staged.
    fn part(index: usize, read: u64, bad: &[u64], in_place: bool) -> SourceOutcome {
        use datafusion::arrow::datatypes::{DataType, Field};
        let schema = Arc::new(Schema::new(vec![Field::new("record_id", DataType::Utf8, false)]));
        SourceOutcome {
            schema: schema_bytes(&schema).unwrap(),
            rows_read: read,
            rows_loaded: read - bad.len() as u64,
            rows_rejected: bad.len() as u64,
            rejects: bad
                .iter()
                .map(|n| WireReject {
                    place: RowPlace::Line(*n),
                    column: "minutes".into(),
                    rule: "negative number".into(),
                    value: "-3".into(),
                })
                .collect(),
            warnings: Vec::new(),
            table: if in_place {
                PathBuf::from("/data/services.parquet")
            } else {
                PathBuf::from(format!("/stage/services.parts/part-{index:05}.parquet"))
            },
            in_place,
            keys: PathBuf::from(format!("/stage/services.part-{index:05}.keys.json")),
            claims: Some(ClaimsFile {
                file: PathBuf::from(format!("/stage/services.claims/part-{index:05}.parquet")),
                names: "record_id".into(),
                like: Some(RowPlace::Line(2)),
            }),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn parts_merge_into_the_whole_files_account() {
        // Every part read in place, no duplicate: the file is the table, nothing is read again.
        let merged = merge_parts(vec![part(0, 10, &[], true), part(1, 10, &[], true)], Vec::new()).unwrap();
        assert_eq!(merged.in_place, Some(PathBuf::from("/data/services.parquet")));
        assert!(merged.restage.is_empty());
        // One part read in place beside a staged one: it is read again to be staged.
        let merged = merge_parts(vec![part(0, 10, &[], true), part(1, 10, &[15], false)], Vec::new()).unwrap();
        assert_eq!(merged.in_place, None);
        assert_eq!(merged.restage, vec![(0, vec![])]);
        // Duplicates across parts: their parts are read again without them, and
        // each becomes a reject in file order, worded as a whole-file load words it.
        let duplicates = vec![
            Duplicate { part: 1, place: 17, first: 3 },
            Duplicate { part: 1, place: 12, first: 2 },
            Duplicate { part: 2, place: 25, first: 3 },
        ];
        let parts = vec![part(0, 10, &[5], false), part(1, 10, &[15], false), part(2, 10, &[21, 29], false)];
        let merged = merge_parts(parts, duplicates).unwrap();
        assert_eq!(merged.restage, vec![(1, vec![12, 17]), (2, vec![25])]);
        let mut again = part(1, 10, &[15], false);
        again.skipped = vec![(12, "R0002".into()), (17, "R0003".into())];
        let mut again_2 = part(2, 10, &[21, 29], false);
        again_2.skipped = vec![(25, "R0003".into())];
        let account = merged.finish(&[again, again_2]).unwrap();
        let shown: Vec<(u64, &str, &str)> = account
            .rejects
            .iter()
            .map(|r| match r.place {
                RowPlace::Line(n) => (n, r.rule.as_str(), r.value.as_str()),
                _ => panic!("{:?}", r.place),
            })
            .collect();
        assert_eq!(
            shown,
            [
                (5, "negative number", "-3"),
                (12, "duplicate record_id (first at line 2)", "R0002"),
                (15, "negative number", "-3"),
                (17, "duplicate record_id (first at line 3)", "R0003"),
                (21, "negative number", "-3"),
                (25, "duplicate record_id (first at line 3)", "R0003"),
                (29, "negative number", "-3"),
            ]
        );
        assert_eq!((account.rows_read, account.rows_loaded, account.rows_rejected), (30, 23, 7));
        // A part read again that did not leave out its duplicate is an error, not a silent gap.
        let merged = merge_parts(
            vec![part(0, 10, &[], false), part(1, 10, &[], false)],
            vec![Duplicate { part: 1, place: 12, first: 2 }],
        )
        .unwrap();
        assert!(merged.finish(&[part(1, 10, &[], false)]).is_err());
    }
}
