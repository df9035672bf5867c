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

use crate::ingest::{Ingested, KeySet, Reject};
use crate::run::{ingest_source, source_files, source_label};
use crate::stage::{Placed, Stage, StagedTable, file_safe};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use sunward_core::validate::{ValidateOptions, validate_file};
use sunward_core::{Diagnostic, ErrorKind, Location, Plan, PluginKind, Registry, Result};

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
    /// Referenced contract table → the key file of the source holding it.
    pub references: BTreeMap<String, PathBuf>,
    /// The run's `--memory-limit`, for the unique-key check's budget.
    pub memory_limit: Option<usize>,
}

impl SourceTask {
    /// Every path the task reads or writes: what a cluster limited to some
    /// folders checks before running it.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.pipeline.as_path())
            .chain(self.files.iter().map(PathBuf::as_path))
            .chain(std::iter::once(self.stage.as_path()))
            .chain(self.references.values().map(PathBuf::as_path))
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
}

/// A worker's answer for one task: the outcome, or why the source could not be loaded.
pub type TaskResult = std::result::Result<SourceOutcome, WireDiagnostic>;

/// An engine whose workers load sources ([`crate::session::Engine::loading`]).
pub trait RemoteLoading: Send + Sync {
    /// Load every task (one wave of sources, none referring to another):
    /// each task's result, in order; an error when the engine itself failed.
    fn load<'a>(&'a self, tasks: Vec<SourceTask>)
    -> Pin<Box<dyn Future<Output = Result<Vec<TaskResult>>> + Send + 'a>>;
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
    references: BTreeMap<String, PathBuf>,
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
    for (table, file) in &task.references {
        keys.insert(table.clone(), read_keys(file)?);
    }
    let references: HashMap<String, &KeySet> = keys.iter().map(|(t, k)| (t.clone(), k)).collect();
    let label = source_label(source, &files);
    let (ingested, table) = ingest_source(source, plan, &label, &references, &stage, task.memory_limit, &|_| {})?;
    let keys_file = stage.folder().join(format!("{}.keys.json", file_safe(&source.name)));
    write_keys(&keys_file, &ingested.keys)?;
    let (table_file, in_place) = match table.place {
        Placed::InPlace(file) => (file, true),
        place => match stage.shared(&source.name, StagedTable { place, ..table })?.place {
            Placed::File(file) => (file, false),
            _ => return Err(Diagnostic::runtime("a staged table is not a file")),
        },
    };
    Ok(SourceOutcome {
        schema: schema_bytes(&ingested.schema)?,
        rows_read: ingested.rows_read,
        rows_loaded: ingested.rows_loaded,
        rows_rejected: ingested.rows_rejected,
        rejects: ingested
            .rejects
            .into_iter()
            .map(|r| WireReject { place: r.place, column: r.column, rule: r.rule, value: r.value })
            .collect(),
        warnings: ingested.warnings.iter().map(WireDiagnostic::from).collect(),
        table: table_file,
        in_place,
        keys: keys_file,
    })
}

/// A worker's outcome as the run's own loading result: the source's
/// account, its table and the file of its keys.
pub(crate) fn received(outcome: SourceOutcome) -> Result<(Ingested, StagedTable, PathBuf)> {
    let schema = schema_from(&outcome.schema)?;
    let ingested = Ingested {
        schema: schema.clone(),
        batches: Vec::new(),
        rows_read: outcome.rows_read,
        rows_loaded: outcome.rows_loaded,
        rows_rejected: outcome.rows_rejected,
        rejects: outcome
            .rejects
            .into_iter()
            .map(|r| Reject { place: r.place, column: r.column, rule: r.rule, value: r.value })
            .collect(),
        keys: KeySet::new(),
        warnings: outcome.warnings.into_iter().map(Diagnostic::from).collect(),
        in_place: outcome.in_place.then(|| outcome.table.clone()),
    };
    let place = if outcome.in_place { Placed::InPlace(outcome.table) } else { Placed::File(outcome.table) };
    let table = StagedTable { schema, rows: ingested.rows_loaded, place };
    Ok((ingested, table, outcome.keys))
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
    let file = std::fs::File::create(path)
        .map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
    serde_json::to_writer(std::io::BufWriter::new(file), keys)
        .map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))
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
}
