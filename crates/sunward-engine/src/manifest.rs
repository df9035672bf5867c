//! The run manifest: what a run read, made and wrote, for audit and reproducibility.
//!
//! Each run writes `manifest-<pipeline>.json` in its output folder (named
//! after the pipeline's `name:`, see [`manifest_file_name`]), so the metrics
//! and the reports run into one folder each keep their own. It records the pipeline, the parameters and `as_of`, every input file with
//! its size and SHA-256, rows loaded and rejected per source, rows per table,
//! every output with its size and SHA-256, timings per stage, the tool version
//! and whether the run succeeded. Two runs on the same inputs and parameters
//! can be compared file by file.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use sunward_core::atomic::write_atomic;
use sunward_core::{Diagnostic, Result};

/// A file with its size and hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRecord {
    /// The path as used in the run.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, hexadecimal.
    pub sha256: String,
}

/// Counts for one source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceRecord {
    /// Source name.
    pub name: String,
    /// Its files.
    pub files: Vec<FileRecord>,
    /// Rows read.
    pub rows_read: u64,
    /// Rows kept.
    pub rows_loaded: u64,
    /// Rows set aside.
    pub rows_rejected: u64,
    /// Whether the checked table came from the source cache instead of being read again.
    #[serde(default)]
    pub from_cache: bool,
}

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// `sunward` version.
    pub tool_version: String,
    /// The folder the run was started in: relative paths below are relative to it.
    #[serde(default)]
    pub working_dir: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Pipeline file.
    pub pipeline_file: String,
    /// UTC start time, ISO 8601.
    pub started_at: String,
    /// Where the queries ran: `local`, or the cluster (`ballista://host:port`).
    #[serde(default = "local")]
    pub engine: String,
    /// `succeeded` or `failed`.
    pub status: String,
    /// The error, when failed.
    pub error: Option<String>,
    /// The `as_of` date (`YYYY-MM-DD`) the rows were checked against.
    pub as_of: String,
    /// Parameter values, as text.
    pub params: BTreeMap<String, String>,
    /// Sources with their files and counts.
    pub sources: Vec<SourceRecord>,
    /// Rows per table (sources and steps).
    pub tables: BTreeMap<String, u64>,
    /// The data checks of `checks:` and what became of each.
    #[serde(default)]
    pub checks: Vec<crate::checks::CheckOutcome>,
    /// Tables too large to hold in memory, staged as Parquet files while the run lasted.
    #[serde(default)]
    pub staged: Vec<String>,
    /// Sources read where they lie: Parquet files whose every row and value
    /// passed the checks as stored, scanned by the steps without a copy.
    #[serde(default)]
    pub in_place: Vec<String>,
    /// Steps left as views: read by one later step only, their query ran inside that step's (no row count).
    #[serde(default)]
    pub views: Vec<String>,
    /// Files written.
    pub outputs: Vec<FileRecord>,
    /// Milliseconds per stage.
    pub timings_ms: BTreeMap<String, u64>,
    /// How the run shared its memory limit (absent from manifests of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<crate::budget::MemoryBudget>,
}

fn local() -> String {
    "local".to_string()
}

/// The manifest's file name for a pipeline: `manifest-<name>.json`.
pub fn manifest_file_name(pipeline: &str) -> String {
    let safe: String =
        pipeline.chars().map(|c| if c.is_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    format!("manifest-{safe}.json")
}

/// What tells one version of a file from another without reading it: size,
/// modification time and (on Unix) inode and change time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
    changed: (i64, i64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let (inode, changed) = {
            use std::os::unix::fs::MetadataExt;
            (meta.ino(), (meta.ctime(), meta.ctime_nsec()))
        };
        #[cfg(not(unix))]
        let (inode, changed) = (0, (0, 0));
        Stamp { len: meta.len(), modified: meta.modified().ok(), inode, changed }
    }
}

pub use sunward_core::paths::normalize;

/// Size and SHA-256 of a file, read in a stream.
///
/// A file is read once per process: the hash is remembered with the file's
/// size and modification time, so the provenance check, the source cache and
/// the manifest of one run share it, and a file changed since is read again.
pub fn file_record(path: &Path) -> Result<FileRecord> {
    type Seen = HashMap<PathBuf, (Stamp, String)>;
    static HASHED: OnceLock<Mutex<Seen>> = OnceLock::new();
    let err =
        |e: std::io::Error| Diagnostic::runtime(format!("cannot read {} to hash it", path.display())).caused_by(e);
    let mut file = std::fs::File::open(path).map_err(err)?;
    let meta = file.metadata().map_err(err)?;
    let stamp = Stamp::of(&meta);
    let hashed = HASHED.get_or_init(|| Mutex::new(HashMap::new()));
    let known = hashed.lock().ok().and_then(|h| h.get(path).cloned());
    if let Some((seen, sha256)) = known
        && seen == stamp
        && stamp.modified.is_some()
    {
        return Ok(FileRecord { path: path.display().to_string(), bytes: stamp.len, sha256 });
    }
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(err)?;
    let sha256: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if let Ok(mut h) = hashed.lock() {
        h.insert(path.to_path_buf(), (stamp, sha256.clone()));
    }
    Ok(FileRecord { path: path.display().to_string(), bytes, sha256 })
}

impl FileRecord {
    /// The path, made absolute against the run's working folder.
    pub fn absolute(&self, working_dir: &str) -> PathBuf {
        let path = Path::new(&self.path);
        if path.is_absolute() || working_dir.is_empty() {
            normalize(path)
        } else {
            normalize(&Path::new(working_dir).join(path))
        }
    }
}

impl Manifest {
    /// Read a manifest written by [`Manifest::write`].
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Diagnostic::runtime(format!("cannot read the manifest {}", path.display())).caused_by(e))?;
        serde_json::from_str(&text).map_err(|e| {
            Diagnostic::runtime(format!("{} is not a run manifest: {e}", path.display()))
                .hint("it is written by `sunward run`; run the pipeline again to rewrite it")
        })
    }

    /// Write it as pretty JSON, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Diagnostic::runtime("cannot serialise the manifest").caused_by(e))?;
        write_atomic(path, |w| {
            w.write_all(text.as_bytes())
                .and_then(|_| w.write_all(b"\n"))
                .map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_lexically() {
        assert_eq!(normalize(Path::new("pipelines/../sample-data/x.csv")), PathBuf::from("sample-data/x.csv"));
        assert_eq!(normalize(Path::new("./a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../a/b")), PathBuf::from("../a/b"));
        assert_eq!(normalize(Path::new("/x/../../y")), PathBuf::from("/y"));
        assert_eq!(normalize(Path::new("a/..")), PathBuf::from("."));
    }

    #[test]
    fn manifest_names_follow_the_pipeline() {
        assert_eq!(manifest_file_name("metrics"), "manifest-metrics.json");
        assert_eq!(manifest_file_name("district_comparison"), "manifest-district_comparison.json");
        assert_eq!(manifest_file_name("a/b c"), "manifest-a_b_c.json");
    }
}
