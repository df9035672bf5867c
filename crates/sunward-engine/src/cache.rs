//! The cache of checked sources.
//!
//! Loading an export — reading it, typing it, checking every rule of the
//! contract — is most of the time of a run, and the same exports are often
//! loaded by several pipelines in a row (the metrics, then each report). A
//! source's result (its good rows as Parquet, its rejects, counts, warnings
//! and the key values other sources check references against) is kept under
//! a key that covers everything the result depends on: the tool's version, the
//! source's entry in the pipeline (plugin and every setting, as written), every
//! parameter's value, the `as_of` date, the SHA-256 of each input file's
//! content, and the keys of the sources it checks references against. A
//! changed file, setting or parameter is a different key, so a stale entry is
//! never read; it just ages out.
//!
//! Entries live in `$SUNWARD_CACHE_DIR`, else `$XDG_CACHE_HOME/sunward/sources`,
//! else `~/.cache/sunward/sources`, in a folder only its owner may read (the
//! rejects hold the exports' original text). An entry is written to a
//! temporary folder and renamed into place, so a crash leaves none half
//! written. When the entries pass the size limit (default 4 GiB), the least
//! recently used are removed. A problem with the cache is a warning, never a
//! failed run.

use crate::ingest::{Ingested, Reject};
use crate::manifest::FileRecord;
use crate::stage::{Placed, StagedTable};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use sunward_core::contract::Contract;
use sunward_core::{Diagnostic, Result, RowPlace};

/// The default size limit of the cache, in bytes.
pub const DEFAULT_LIMIT: u64 = 4 << 30;

/// Where and how large.
#[derive(Debug, Clone)]
pub struct SourceCache {
    /// The folder holding the entries.
    pub dir: PathBuf,
    /// Entries beyond this many bytes in all are removed, least recently used first.
    pub limit: u64,
}

impl SourceCache {
    /// The default folder: `$SUNWARD_CACHE_DIR`, `$XDG_CACHE_HOME/sunward/sources` or `~/.cache/sunward/sources`.
    pub fn default_dir() -> Option<PathBuf> {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        env("SUNWARD_CACHE_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("sunward/sources")))
            .or_else(|| env("HOME").map(|d| d.join(".cache/sunward/sources")))
    }
}

/// Everything a source's result depends on, hashed.
pub struct CacheKey(pub String);

/// What is hashed into a key.
pub struct KeyParts<'a> {
    /// The plugin name.
    pub plugin: &'a str,
    /// The source's entry as written in the pipeline (JSON).
    pub entry: serde_json::Value,
    /// The parameters the entry names (`${name}`), as text: what else a
    /// source reads comes from its entry, its files and `as_of`.
    pub params: Vec<(String, String)>,
    /// The `as_of` date.
    pub as_of: String,
    /// The input files' content hashes.
    pub files: &'a [FileRecord],
    /// The keys of the sources whose key values this one's references are checked against.
    pub references: Vec<(String, String)>,
    /// The data contract the pipeline reads its sources by.
    pub contract: &'a Contract,
}

/// A digest of a whole data contract (every table, column, code and rule).
fn contract_fingerprint(contract: &Contract) -> String {
    let described = format!("{:?}", contract.tables());
    Sha256::digest(described.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl CacheKey {
    /// The key of a source.
    pub fn new(parts: &KeyParts<'_>) -> Self {
        let files: Vec<&str> = parts.files.iter().map(|f| f.sha256.as_str()).collect();
        let described = serde_json::json!({
            // 3: a time of day is Time64 nanoseconds (SQL's TIME).
            "format": 3,
            "tool": env!("CARGO_PKG_VERSION"),
            // The data contract the rows were checked and typed against: a changed
            // rule, code or column (an upper bound, an optional column) loads afresh.
            "contract": contract_fingerprint(parts.contract),
            "plugin": parts.plugin,
            "entry": parts.entry,
            "params": parts.params,
            "as_of": parts.as_of,
            "files": files,
            "references": parts.references,
        });
        let digest = Sha256::digest(described.to_string().as_bytes());
        CacheKey(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// A reject as the cache stores it.
#[derive(Serialize, Deserialize)]
struct StoredReject {
    line: Option<u64>,
    sheet: Option<String>,
    row: Option<u64>,
    record: Option<u64>,
    column: String,
    rule: String,
    value: String,
}

/// A warning as the cache stores it.
#[derive(Serialize, Deserialize)]
struct StoredWarning {
    message: String,
    context: Option<String>,
    hint: Option<String>,
}

/// The `meta.json` of an entry.
#[derive(Serialize, Deserialize)]
struct Meta {
    rows_read: u64,
    rows_loaded: u64,
    rows_rejected: u64,
    rejects: Vec<StoredReject>,
    keys: std::collections::HashMap<String, std::collections::HashSet<String>>,
    warnings: Vec<StoredWarning>,
    /// A source read where it lies: its file (the entry's table file then
    /// holds only the schema). The key holds the file's SHA-256, so an entry
    /// found is for the same bytes.
    #[serde(default)]
    in_place: Option<PathBuf>,
}

const TABLE: &str = "table.parquet";
const META: &str = "meta.json";

impl SourceCache {
    fn entry(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(&key.0)
    }

    /// The source's result, when an entry holds it.
    pub fn get(&self, key: &CacheKey) -> Option<(Ingested, StagedTable)> {
        let dir = self.entry(key);
        let meta: Meta = serde_json::from_slice(&std::fs::read(dir.join(META)).ok()?).ok()?;
        let table = dir.join(TABLE);
        let file = std::fs::File::open(&table).ok()?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
        let schema = builder.schema().clone();
        let rows = match &meta.in_place {
            Some(source) => {
                let source = std::fs::File::open(source).ok()?;
                ParquetRecordBatchReaderBuilder::try_new(source).ok()?.metadata().file_metadata().num_rows()
            }
            None => builder.metadata().file_metadata().num_rows(),
        };
        if rows as u64 != meta.rows_loaded {
            return None;
        }
        // Used now: the last to be removed.
        let _ = std::fs::File::open(&dir).and_then(|f| f.set_modified(std::time::SystemTime::now()));
        let rejects = meta
            .rejects
            .into_iter()
            .map(|r| Reject {
                place: match (r.line, r.sheet, r.row, r.record) {
                    (Some(n), _, _, _) => RowPlace::Line(n),
                    (_, Some(sheet), Some(row), _) => RowPlace::Sheet { sheet, row },
                    (_, _, _, n) => RowPlace::Record(n.unwrap_or(0)),
                },
                column: r.column,
                rule: r.rule,
                value: r.value,
            })
            .collect();
        let warnings = meta
            .warnings
            .into_iter()
            .map(|w| {
                let mut d = Diagnostic::warning(w.message);
                if let Some(c) = w.context {
                    d = d.in_context(c);
                }
                if let Some(h) = w.hint {
                    d = d.hint(h);
                }
                d
            })
            .collect();
        let ingested = Ingested {
            schema: schema.clone(),
            batches: Vec::new(),
            rows_read: meta.rows_read,
            rows_loaded: meta.rows_loaded,
            rows_rejected: meta.rows_rejected,
            rejects,
            keys: meta.keys,
            warnings,
            in_place: meta.in_place.clone(),
            claims: None,
            skipped: Vec::new(),
        };
        let place = match meta.in_place {
            Some(source) => Placed::InPlace(source),
            None => Placed::File(table),
        };
        Some((ingested, StagedTable { schema, rows: meta.rows_loaded, place }))
    }

    /// Keep a source's result; then trim the cache to its limit.
    pub fn put(&self, key: &CacheKey, ingested: &Ingested, table: &StagedTable) -> Result<()> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            Diagnostic::warning(format!("cannot keep a source in the cache {}: {what}: {e}", self.dir.display()))
                .hint("the run goes on without the cache; --no-cache turns it off, SUNWARD_CACHE_DIR moves it")
        };
        private_folder(&self.dir).map_err(|e| failed("cannot create it", &e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".incoming-")
            .tempdir_in(&self.dir)
            .map_err(|e| failed("cannot create a folder in it", &e))?;
        match &table.place {
            Placed::File(path) => {
                std::fs::hard_link(path, tmp.path().join(TABLE))
                    .or_else(|_| std::fs::copy(path, tmp.path().join(TABLE)).map(|_| ()))
                    .map_err(|e| failed("cannot copy the table", &e))?;
            }
            Placed::Memory(batches) => write_parquet(&tmp.path().join(TABLE), table, batches)
                .map_err(|e| failed("cannot write the table", &e))?,
            Placed::InPlace(_) => write_parquet(&tmp.path().join(TABLE), table, &[])
                .map_err(|e| failed("cannot write the table's schema", &e))?,
        }
        let meta = Meta {
            in_place: match &table.place {
                Placed::InPlace(source) => Some(source.clone()),
                _ => None,
            },
            rows_read: ingested.rows_read,
            rows_loaded: ingested.rows_loaded,
            rows_rejected: ingested.rows_rejected,
            rejects: ingested
                .rejects
                .iter()
                .map(|r| {
                    let (line, sheet, row, record) = match &r.place {
                        RowPlace::Line(n) => (Some(*n), None, None, None),
                        RowPlace::Sheet { sheet, row } => (None, Some(sheet.clone()), Some(*row), None),
                        RowPlace::Record(n) => (None, None, None, Some(*n)),
                    };
                    StoredReject {
                        line,
                        sheet,
                        row,
                        record,
                        column: r.column.clone(),
                        rule: r.rule.clone(),
                        value: r.value.clone(),
                    }
                })
                .collect(),
            keys: ingested.keys.clone(),
            warnings: ingested
                .warnings
                .iter()
                .map(|w| StoredWarning { message: w.message.clone(), context: w.context.clone(), hint: w.hint.clone() })
                .collect(),
        };
        let json = serde_json::to_vec(&meta).map_err(|e| failed("cannot describe the entry", &e))?;
        std::fs::write(tmp.path().join(META), json).map_err(|e| failed("cannot write the entry", &e))?;
        let target = self.entry(key);
        let tmp = tmp.keep();
        if std::fs::rename(&tmp, &target).is_err() {
            // Another run kept the same entry meanwhile: theirs is as good.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        self.trim();
        Ok(())
    }

    /// Remove the least recently used entries until the rest fit the limit.
    fn trim(&self) {
        let Ok(read) = std::fs::read_dir(&self.dir) else { return };
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = read
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| {
                let used = e.metadata().ok()?.modified().ok()?;
                let size: u64 =
                    std::fs::read_dir(e.path()).ok()?.filter_map(|f| f.ok()?.metadata().ok().map(|m| m.len())).sum();
                Some((used, size, e.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(_, size, _)| size).sum();
        entries.sort();
        for (_, size, path) in entries {
            if total <= self.limit {
                break;
            }
            if std::fs::remove_dir_all(&path).is_ok() {
                total -= size;
            }
        }
    }
}

fn write_parquet(path: &Path, table: &StagedTable, batches: &[RecordBatch]) -> std::result::Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder().set_compression(Compression::LZ4_RAW).build();
    let mut writer = ArrowWriter::try_new(file, table.schema.clone(), Some(props)).map_err(|e| e.to_string())?;
    for b in batches {
        writer.write(b).map_err(|e| e.to_string())?;
    }
    writer.close().map_err(|e| e.to_string())?;
    Ok(())
}

/// Create `dir` (if missing) readable by its owner only (the cache, and a run's `rejects/`).
pub(crate) fn private_folder(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
