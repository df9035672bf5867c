//! The staging store: where checked tables wait for the steps that read them.
//!
//! A table is held in memory while it is small. Once its batches pass the
//! stage's threshold — which all the tables held in memory share, so that
//! together they stay under it — it moves to a Parquet file in the run's staging folder,
//! written batch by batch on its own thread while loading goes on, and the
//! steps read it through a DataFusion scan — so a table far larger than the
//! memory limit never has to fit in memory, and the rest of the run is held
//! to `--memory-limit`. The folder holds one file per table
//! (`<name>.parquet`), readable by any engine that reads Parquet from a path;
//! it is removed when the run ends.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::datasource::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use sunward_core::{Diagnostic, Result, TableData};

/// Bytes all tables held in memory may take together, when no memory limit is set.
pub const DEFAULT_THRESHOLD: usize = 256 * 1024 * 1024;

/// The name every staging folder starts with.
const STAGE_PREFIX: &str = ".sunward-stage-";
/// The file in a staging folder naming the process that made it.
const OWNER_FILE: &str = "owner.pid";

/// Removes staging folders in `parent` that an interrupted run left behind
/// (`kill -9`, a power cut): those whose owning process is no longer running.
/// A folder of a run still going (this machine's process table says so) is
/// left alone; one without an owner file is older than this rule and is
/// removed too.
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(STAGE_PREFIX) || !entry.path().is_dir() {
            continue;
        }
        let owner =
            std::fs::read_to_string(entry.path().join(OWNER_FILE)).ok().and_then(|p| p.trim().parse::<u32>().ok());
        let running = owner.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !running {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The staging folder of one run.
#[derive(Debug)]
pub struct Stage {
    dir: StageDir,
    threshold: usize,
    /// Bytes of every table held in memory so far (tables are loaded on several threads).
    held: Arc<AtomicUsize>,
}

/// The folder of a [`Stage`]: the run's own, or another process's it writes into.
#[derive(Debug)]
enum StageDir {
    /// Made for this run and removed with it.
    Own(tempfile::TempDir),
    /// A run's folder seen from a process loading a source for it (a
    /// cluster's executor): left as it is when the stage is dropped.
    Shared(PathBuf),
}

impl StageDir {
    fn path(&self) -> &Path {
        match self {
            StageDir::Own(dir) => dir.path(),
            StageDir::Shared(path) => path,
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        // The folder itself goes with the `TempDir`.
        if let StageDir::Own(dir) = &self.dir {
            sunward_core::cleanup::unregister(dir.path());
        }
    }
}

impl Stage {
    /// A fresh staging folder inside `parent` (created if missing); a table
    /// that would take the bytes of all tables held in memory past
    /// `threshold` goes to disk.
    pub fn new(parent: &Path, threshold: usize) -> Result<Self> {
        std::fs::create_dir_all(parent).map_err(|e| {
            Diagnostic::runtime(format!("cannot create the staging folder {}", parent.display())).caused_by(e)
        })?;
        // Absolute, so that a table's path means the same file to every process reading it.
        let parent = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
        sweep(&parent);
        let mut builder = tempfile::Builder::new();
        builder.prefix(STAGE_PREFIX);
        // Owner only: a staged table holds record-level data (roll numbers, before pseudonymising).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder.tempdir_in(&parent).map_err(|e| {
            Diagnostic::runtime(format!("cannot create a staging folder in {}", parent.display()))
                .hint("the staging folder must be writable; choose another with --stage")
                .caused_by(e)
        })?;
        // Which process owns the folder: a later run sweeps it once that process is gone.
        let _ = std::fs::write(dir.path().join(OWNER_FILE), std::process::id().to_string());
        sunward_core::cleanup::register(dir.path());
        Ok(Stage { dir: StageDir::Own(dir), threshold, held: Arc::new(AtomicUsize::new(0)) })
    }

    /// Another run's staging folder, which must exist, to stage tables in
    /// for it: every table goes to a file there, and the folder stays when
    /// this stage is dropped (its run removes it).
    pub fn shared_folder(folder: &Path) -> Result<Self> {
        if !folder.is_dir() {
            return Err(Diagnostic::runtime(format!("the run's staging folder {} is not here", folder.display()))
                .hint("every machine of a cluster must see the run's --stage folder at the same path"));
        }
        Ok(Stage { dir: StageDir::Shared(folder.to_path_buf()), threshold: 0, held: Arc::new(AtomicUsize::new(0)) })
    }

    /// The staging folder itself (for other spill files of the run).
    pub fn folder(&self) -> &Path {
        self.dir.path()
    }

    /// The file a table of this name is staged in.
    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{}.parquet", file_safe(name)))
    }

    /// Start a table.
    pub fn table(&self, name: &str, schema: SchemaRef) -> TableWriter {
        TableWriter {
            path: self.path_of(name),
            schema,
            threshold: self.threshold,
            all_held: self.held.clone(),
            held: Vec::new(),
            held_bytes: 0,
            rows: 0,
            writer: None,
        }
    }
}

impl Stage {
    /// The table as a file inside the staging folder, for an engine whose
    /// workers read tables only from there: a table held in memory is
    /// written out (a table without rows too), and a file elsewhere (in the
    /// source cache, or a source read in place) is linked in, or copied where
    /// a link cannot be made (another file system).
    pub fn shared(&self, name: &str, table: StagedTable) -> Result<StagedTable> {
        let path = self.path_of(name);
        let place = match table.place {
            Placed::Memory(batches) => {
                let writer = BackgroundWriter::start(&path, table.schema.clone())?;
                let bytes: usize = batches.iter().map(slice_bytes).sum();
                for batch in batches {
                    writer.write(batch)?;
                }
                writer.finish()?;
                self.held.fetch_sub(bytes.min(self.held.load(Ordering::Relaxed)), Ordering::Relaxed);
                Placed::File(path)
            }
            Placed::File(file) if file.parent() == Some(self.dir.path()) => Placed::File(file),
            Placed::File(file) => Placed::File(link_or_copy(&file, &path)?),
            Placed::InPlace(file) => Placed::InPlace(link_or_copy(&file, &path)?),
        };
        Ok(StagedTable { schema: table.schema, rows: table.rows, place })
    }
}

/// `to` made the same file as `from`: a hard link, else a copy.
fn link_or_copy(from: &Path, to: &Path) -> Result<PathBuf> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| {
            Diagnostic::runtime(format!("cannot copy {} into the staging folder", from.display()))
                .hint("is the disk of the staging folder (--stage) full?")
                .caused_by(e)
        })?;
    }
    Ok(to.to_path_buf())
}

/// The bytes a batch's rows take. Not `get_array_memory_size`: the batches an
/// aggregation emits are slices of one large buffer, and each would count all of it.
fn slice_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or_else(|_| c.get_array_memory_size()))
        .sum()
}

/// A table name as a file name: anything but letters, digits, `_` and `-` becomes `_`.
pub(crate) fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// A table being staged, batch by batch.
pub struct TableWriter {
    path: PathBuf,
    schema: SchemaRef,
    threshold: usize,
    /// The stage's count of bytes held in memory by every table.
    all_held: Arc<AtomicUsize>,
    held: Vec<RecordBatch>,
    held_bytes: usize,
    rows: u64,
    writer: Option<BackgroundWriter>,
}

/// A Parquet file written on its own thread. Dropped unfinished (a step
/// given up), it still waits for the thread, so the file is closed before
/// anything else writes to its path.
struct BackgroundWriter {
    send: Option<SyncSender<RecordBatch>>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Drop for BackgroundWriter {
    fn drop(&mut self) {
        drop(self.send.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl BackgroundWriter {
    fn start(path: &Path, schema: SchemaRef) -> Result<Self> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(|e| {
            Diagnostic::runtime(format!("cannot create the staging file {}", path.display())).caused_by(e)
        })?;
        // Fast to write: plain pages without statistics (dictionaries and
        // min/max comparisons were a third of the writer's time, and a staged
        // table is read whole), LZ4 (uncompressed, the kernel's copying of
        // three times the bytes cost more than compressing), row groups of
        // 131,072 rows (the writer holds a whole row group in memory: a
        // million rows of services took about 100 MB, once per staged table).
        let props = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_compression(Compression::LZ4_RAW)
            .set_max_row_group_row_count(Some(1 << 17))
            .build();
        let mut writer = ArrowWriter::try_new(file, schema, Some(props))
            .map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
        let (send, receive) = sync_channel::<RecordBatch>(4);
        let label = path.display().to_string();
        let thread = std::thread::spawn(move || {
            let failed = |e: datafusion::parquet::errors::ParquetError| {
                Diagnostic::runtime(format!("cannot write the staging file {label}: {e}"))
                    .hint("is the disk full? the staging folder is chosen with --stage")
                    .caused_by(e)
            };
            for batch in receive {
                writer.write(&batch).map_err(failed)?;
            }
            writer.close().map_err(failed)?;
            Ok(())
        });
        Ok(BackgroundWriter { send: Some(send), thread: Some(thread) })
    }

    fn write(&self, batch: RecordBatch) -> Result<()> {
        // A closed channel means the writer thread stopped on an error, which `finish` reports.
        if let Some(send) = &self.send {
            let _ = send.send(batch);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        drop(self.send.take());
        match self.thread.take() {
            Some(thread) => {
                thread.join().unwrap_or_else(|_| Err(Diagnostic::runtime("the staging writer stopped unexpectedly")))
            }
            None => Ok(()),
        }
    }
}

impl TableWriter {
    /// Add a batch (of the table's schema).
    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        if let Some(w) = &self.writer {
            return w.write(batch);
        }
        let bytes = slice_bytes(&batch);
        self.held_bytes += bytes;
        self.held.push(batch);
        let all = self.all_held.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if all > self.threshold {
            self.all_held.fetch_sub(self.held_bytes, Ordering::Relaxed);
            let w = BackgroundWriter::start(&self.path, self.schema.clone())?;
            for b in self.held.drain(..) {
                w.write(b)?;
            }
            self.held_bytes = 0;
            self.writer = Some(w);
        }
        Ok(())
    }

    /// The table, in memory or on disk.
    pub fn finish(mut self) -> Result<StagedTable> {
        let place = match self.writer.take() {
            Some(w) => {
                w.finish()?;
                Placed::File(self.path.clone())
            }
            None => {
                // Its bytes stay counted: the table stays in memory.
                self.held_bytes = 0;
                Placed::Memory(std::mem::take(&mut self.held))
            }
        };
        Ok(StagedTable { schema: self.schema.clone(), rows: self.rows, place })
    }
}

impl Drop for TableWriter {
    /// A table dropped unfinished (a step given up) no longer counts as held.
    fn drop(&mut self) {
        self.all_held.fetch_sub(self.held_bytes, Ordering::Relaxed);
    }
}

/// Where a staged table is.
#[derive(Debug, Clone)]
pub enum Placed {
    /// Held in memory.
    Memory(Vec<RecordBatch>),
    /// A Parquet file in the staging folder.
    File(PathBuf),
    /// A source's own Parquet file, whose every row and value passed as
    /// stored: scanned where it lies (it may hold other columns too).
    InPlace(PathBuf),
}

/// A staged table.
#[derive(Debug, Clone)]
pub struct StagedTable {
    /// Its schema.
    pub schema: SchemaRef,
    /// Its number of rows.
    pub rows: u64,
    /// Where it is.
    pub place: Placed,
}

impl StagedTable {
    /// Whether it went to disk.
    pub fn is_staged(&self) -> bool {
        matches!(self.place, Placed::File(_))
    }

    /// The table as an output sees it: the batches in memory, or the staged
    /// file to read batch by batch.
    pub fn table_data(&self, name: &str) -> TableData {
        match &self.place {
            Placed::Memory(batches) => TableData::in_memory(name, self.schema.clone(), batches.clone()),
            Placed::File(path) | Placed::InPlace(path) => TableData {
                name: name.to_string(),
                schema: self.schema.clone(),
                batches: Vec::new(),
                file: Some(path.clone()),
            },
        }
    }

    /// Every row, in the order staged (for an output that does not stream).
    pub fn read_all(&self, name: &str) -> Result<Vec<RecordBatch>> {
        self.table_data(name).iter().collect()
    }

    /// A table provider reading it: the batches themselves, or a Parquet scan.
    pub fn provider(&self) -> Result<Arc<dyn TableProvider>> {
        match &self.place {
            Placed::Memory(batches) => Ok(Arc::new(MemTable::try_new(self.schema.clone(), vec![batches.clone()])?)),
            Placed::File(path) | Placed::InPlace(path) => {
                let url = ListingTableUrl::parse(path.display().to_string())?;
                // A source file may be named anything; the table's columns are taken by name.
                let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("");
                let config =
                    ListingTableConfig::new(url).with_listing_options(options).with_schema(self.schema.clone());
                Ok(Arc::new(ListingTable::try_new(config)?))
            }
        }
    }
}
