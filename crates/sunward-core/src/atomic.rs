//! Atomic file writing: a file appears whole or not at all.
//!
//! Every output is written to a temporary file in the destination folder and
//! renamed over the destination only when complete, so a failed or interrupted
//! run never leaves a half-written file where a reader expects a finished one.
//!
//! The finished file gets the permissions an ordinary new file gets: read and
//! write for everyone, less the process's umask (so `0644` under the usual
//! umask `022`), like files written by `cp` or `sunward datagen` — a report
//! put on a share or a web server is readable there. Files that must stay
//! private are made with [`AtomicFile::create_private`] (owner only, `0600`).

use crate::diag::{Diagnostic, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written; [`AtomicFile::commit`] makes it visible.
/// Dropped without a commit, the temporary file is removed; interrupted
/// (SIGINT, SIGTERM), the command line removes it ([`crate::cleanup`]).
pub struct AtomicFile {
    /// The temporary file (taken by [`AtomicFile::commit`]).
    tmp: Option<tempfile::NamedTempFile>,
    path: PathBuf,
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            crate::cleanup::unregister(tmp.path());
        }
    }
}

impl AtomicFile {
    /// Start writing `path`, creating its folder if needed. The file will
    /// have mode `0666` less the umask.
    pub fn create(path: &Path) -> Result<Self> {
        Self::create_with_mode(path, 0o666)
    }

    /// Start writing `path` readable and writable by its owner only (`0600`),
    /// for files holding record-level data that must not be shared.
    pub fn create_private(path: &Path) -> Result<Self> {
        Self::create_with_mode(path, 0o600)
    }

    fn create_with_mode(path: &Path, mode: u32) -> Result<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| Diagnostic::runtime(format!("cannot create folder {}", dir.display())).caused_by(e))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        // The mode is given to open(2), which applies the umask, so a file
        // created with 0666 ends up 0644 under umask 022.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(mode));
        }
        #[cfg(not(unix))]
        let _ = mode;
        let tmp = builder
            .tempfile_in(&dir)
            .map_err(|e| Diagnostic::runtime(format!("cannot write in {}", dir.display())).caused_by(e))?;
        crate::cleanup::register(tmp.path());
        Ok(AtomicFile { tmp: Some(tmp), path: path.to_path_buf() })
    }
    /// The temporary file to write into.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_mut().expect("an uncommitted file has its temporary file").as_file_mut()
    }
    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Flush to disk and rename into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        let path = self.path.clone();
        let tmp = self.tmp.take().expect("a file is committed once");
        crate::cleanup::unregister(tmp.path());
        tmp.as_file()
            .sync_all()
            .map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
        tmp.persist(&path).map_err(|e| {
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

    #[cfg(unix)]
    #[test]
    fn finished_files_follow_the_umask_and_private_ones_stay_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // Whatever the umask, the mode is 0666 less it: create a plain file
        // the ordinary way to learn what that is here.
        let probe = dir.path().join("probe");
        std::fs::write(&probe, b"x").unwrap();
        let ordinary = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        let shared = write_atomic(&dir.path().join("report.html"), |w| {
            w.write_all(b"<p>").map_err(|e| Diagnostic::runtime("io").caused_by(e))
        })
        .unwrap();
        assert_eq!(std::fs::metadata(&shared).unwrap().permissions().mode() & 0o777, ordinary);
        let mut private = AtomicFile::create_private(&dir.path().join("rows.csv")).unwrap();
        private.file().write_all(b"a\n").unwrap();
        let private = private.commit().unwrap();
        assert_eq!(std::fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o600);
    }

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
