//! Atomic file writing: a file appears whole or not at all.
//!
//! Every output is written to a temporary file in the destination folder and
//! renamed over the destination only when complete, so a failed or interrupted
//! run never leaves a half-written file where a reader expects a finished one.

use crate::diag::{Diagnostic, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written; [`AtomicFile::commit`] makes it visible.
/// Dropped without a commit, the temporary file is removed.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Start writing `path`, creating its folder if needed.
    pub fn create(path: &Path) -> Result<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| Diagnostic::runtime(format!("cannot create folder {}", dir.display())).caused_by(e))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|e| Diagnostic::runtime(format!("cannot write in {}", dir.display())).caused_by(e))?;
        Ok(AtomicFile { tmp, path: path.to_path_buf() })
    }
    /// The temporary file to write into.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }
    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Flush to disk and rename into place.
    pub fn commit(self) -> Result<PathBuf> {
        let path = self.path;
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
        self.tmp.persist(&path).map_err(|e| {
            Diagnostic::runtime(format!("cannot move the finished file to {}", path.display())).caused_by(e.error)
        })?;
        Ok(path)
    }
}

/// Write `path` atomically with a buffered writer handed to `fill`.
pub fn write_atomic(path: &Path, fill: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<PathBuf> {
    let mut file = AtomicFile::create(path)?;
    {
        let mut writer = BufWriter::new(file.file());
        fill(&mut writer)?;
        writer.flush().map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
    }
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/out.csv");
        let err = write_atomic(&target, |w| {
            w.write_all(b"half").unwrap();
            Err(Diagnostic::runtime("boom"))
        });
        assert!(err.is_err());
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 0);
        write_atomic(&target, |w| w.write_all(b"whole").map_err(|e| Diagnostic::runtime("io").caused_by(e))).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "whole");
    }
}
