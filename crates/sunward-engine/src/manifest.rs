//! The run manifest: what a run read, made and wrote, for audit and reproducibility.
//!
//! `manifest.json` records the pipeline, the parameters and `as_of`, every input file with
//! its size and SHA-256, rows loaded and rejected per source, rows per table,
//! every output with its size and SHA-256, timings per stage, the tool version
//! and whether the run succeeded. Two runs on the same inputs and parameters
//! can be compared file by file.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use sunward_core::atomic::write_atomic;
use sunward_core::{Diagnostic, Result};

/// A file with its size and hash.
#[derive(Debug, Clone, Serialize)]
pub struct FileRecord {
    /// The path as used in the run.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, hexadecimal.
    pub sha256: String,
}

/// Counts for one source.
#[derive(Debug, Clone, Serialize)]
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
}

/// The whole manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// `sunward` version.
    pub tool_version: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Pipeline file.
    pub pipeline_file: String,
    /// UTC start time, ISO 8601.
    pub started_at: String,
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
    /// Files written.
    pub outputs: Vec<FileRecord>,
    /// Milliseconds per stage.
    pub timings_ms: BTreeMap<String, u64>,
}

/// Size and SHA-256 of a file, read in a stream.
pub fn file_record(path: &Path) -> Result<FileRecord> {
    let err =
        |e: std::io::Error| Diagnostic::runtime(format!("cannot read {} to hash it", path.display())).caused_by(e);
    let mut file = std::fs::File::open(path).map_err(err)?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(err)?;
    let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(FileRecord { path: path.display().to_string(), bytes, sha256 })
}

impl Manifest {
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
