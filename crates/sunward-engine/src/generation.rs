//! Outputs replaced as a set: a run writes into a new generation, then switches.
//!
//! Everything a run publishes — its outputs, its `rejects/` files and its
//! manifest — is first written into a private folder inside `--out`
//! (`.sunward-gen-*`, mode 0700, naming its owning process). When the run
//! succeeds, a `COMMIT` file is written into that folder, then every file is
//! renamed into place (the manifest last) and the folder removed: a reader
//! never sees new reports beside an old manifest once the switch is done,
//! and a run killed during the switch (`kill -9`, a power cut) is finished
//! by the next run into the same folder, which finds the `COMMIT` file
//! ([`Generation::new`] sweeps before anything else). A generation without
//! `COMMIT` whose process is gone is simply removed.
//!
//! A run that fails leaves the previous run's outputs, rejects and manifest
//! exactly as they were; its own rejects and manifest, which say why it
//! failed, go to `failed/<pipeline>/` ([`Generation::keep_failure`]), and the
//! next successful run of that pipeline removes them.

use std::path::{Path, PathBuf};
use sunward_core::plugin::confine;
use sunward_core::{Diagnostic, Result};

/// The name every generation folder starts with.
const GENERATION_PREFIX: &str = ".sunward-gen-";
/// The file naming the process that made a generation.
const OWNER_FILE: &str = "owner.pid";
/// Present once a generation is complete and being switched into place: it
/// lists (one per line) the published files the switch removes.
const COMMIT_FILE: &str = "COMMIT";
/// The folder (inside `--out`) holding the rejects and manifest of a failed run.
pub const FAILED_FOLDER: &str = "failed";

/// One run's outputs while they are being written.
#[derive(Debug)]
pub struct Generation {
    dir: PathBuf,
    out: PathBuf,
    pipeline: String,
}

impl Drop for Generation {
    fn drop(&mut self) {
        sunward_core::cleanup::unregister(&self.dir);
        // Not committed (a failure, an error while writing): nothing of it is
        // published. A committed one whose switch stopped half-way is left for
        // the next run to finish.
        if self.dir.exists() && !self.dir.join(COMMIT_FILE).exists() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Generation {
    /// A new generation in `out` (created if missing) for `pipeline`, after
    /// finishing or removing what interrupted runs left there.
    pub fn new(out: &Path, pipeline: &str) -> Result<Self> {
        std::fs::create_dir_all(out).map_err(|e| {
            Diagnostic::runtime(format!("cannot create the output folder {}", out.display())).caused_by(e)
        })?;
        sweep(out)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(GENERATION_PREFIX);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder
            .tempdir_in(out)
            .map_err(|e| {
                Diagnostic::runtime(format!("cannot write in the output folder {}", out.display()))
                    .hint("the folder given with --out must be writable")
                    .caused_by(e)
            })?
            .keep();
        let _ = std::fs::write(dir.join(OWNER_FILE), std::process::id().to_string());
        sunward_core::cleanup::register(&dir);
        Ok(Generation { dir, out: out.to_path_buf(), pipeline: pipeline.to_string() })
    }

    /// The folder outputs are written into (it stands for `--out` while the run goes on).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a file written into the generation is published.
    pub fn published(&self, written: &Path) -> PathBuf {
        match written.strip_prefix(&self.dir) {
            Ok(rel) => self.out.join(rel),
            Err(_) => written.to_path_buf(),
        }
    }

    /// Where a file written into the generation is kept if the run fails
    /// (the rejects and the manifest only).
    pub fn kept_on_failure(&self, written: &Path) -> PathBuf {
        match written.strip_prefix(&self.dir) {
            Ok(rel) => self.failed_dir().join(rel),
            Err(_) => written.to_path_buf(),
        }
    }

    fn failed_dir(&self) -> PathBuf {
        self.out.join(FAILED_FOLDER).join(&self.pipeline)
    }

    /// Switch the generation into place. `remove` names published files
    /// (relative to `--out`) that this run makes obsolete, such as a source's
    /// rejects file from a run that rejected rows when this one rejects none.
    pub fn commit(self, remove: &[PathBuf]) -> Result<()> {
        // From here on an interruption must not remove the generation: the
        // next run finishes the switch.
        sunward_core::cleanup::unregister(&self.dir);
        let mut listed: Vec<String> = remove.iter().map(|p| p.display().to_string()).collect();
        listed.push(Path::new(FAILED_FOLDER).join(&self.pipeline).display().to_string());
        let commit = self.dir.join(COMMIT_FILE);
        let ready = self.dir.join(format!("{COMMIT_FILE}.partial"));
        std::fs::write(&ready, listed.join("\n"))
            .and_then(|_| std::fs::File::open(&ready)?.sync_all())
            .and_then(|_| std::fs::rename(&ready, &commit))
            .map_err(|e| {
                Diagnostic::runtime(format!("cannot write in the output folder {}", self.out.display())).caused_by(e)
            })?;
        switch(&self.dir, &self.out)
    }

    /// Keep the failed run's rejects and manifest in `failed/<pipeline>/`
    /// (replacing an earlier failure's), and nothing else of it.
    pub fn keep_failure(self, manifest: &Path) -> Result<()> {
        let failed = self.failed_dir();
        if failed.exists() {
            std::fs::remove_dir_all(&failed)
                .map_err(|e| Diagnostic::runtime(format!("cannot replace {}", failed.display())).caused_by(e))?;
        }
        let kept: Vec<PathBuf> = files_under(&self.dir)
            .into_iter()
            .filter(|rel| rel.starts_with("rejects") || self.dir.join(rel) == manifest)
            .collect();
        if kept.is_empty() {
            return Ok(());
        }
        private_folder(&failed)?;
        for rel in kept {
            move_into(&self.dir, &failed, &rel)?;
        }
        Ok(())
    }
}

/// Every file under `dir` (relative paths), the generation's own
/// bookkeeping left out, sorted so that manifests come last.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else { continue };
        for entry in entries.flatten() {
            let path = rel.join(entry.file_name());
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_file() => {
                    let top = path.as_os_str();
                    if top != OWNER_FILE && top != COMMIT_FILE {
                        found.push(path)
                    }
                }
                _ => {}
            }
        }
    }
    let is_manifest = |p: &Path| {
        p.parent().is_some_and(|d| d.as_os_str().is_empty())
            && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("manifest-"))
    };
    found.sort_by(|a, b| (is_manifest(a), a).cmp(&(is_manifest(b), b)));
    found
}

/// Rename `from/rel` to `to/rel`, creating folders on the way with the
/// generation's modes (the `rejects/` folder stays private).
fn move_into(from: &Path, to: &Path, rel: &Path) -> Result<()> {
    let target = confine(to, &rel.to_string_lossy()).map_err(|why| {
        Diagnostic::runtime(format!("cannot publish {}: the path {why}", rel.display()))
            .hint("remove the symbolic link from the output folder")
    })?;
    if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut made = to.to_path_buf();
        let mut source = from.to_path_buf();
        for part in parent.components() {
            made.push(part);
            source.push(part);
            if !made.exists() {
                std::fs::create_dir(&made).map_err(|e| {
                    Diagnostic::runtime(format!("cannot create the folder {}", made.display())).caused_by(e)
                })?;
                if let Ok(meta) = std::fs::metadata(&source) {
                    let _ = std::fs::set_permissions(&made, meta.permissions());
                }
            }
        }
    }
    std::fs::rename(from.join(rel), &target).map_err(|e| {
        Diagnostic::runtime(format!("cannot move the finished file into place at {}", target.display())).caused_by(e)
    })
}

/// Finish switching a committed generation into `out`: move what is left of
/// it into place, manifests last, remove what its `COMMIT` file lists, then
/// the generation itself. Safe to repeat after an interruption.
fn switch(dir: &Path, out: &Path) -> Result<()> {
    for rel in files_under(dir) {
        move_into(dir, out, &rel)?;
    }
    let listed = std::fs::read_to_string(dir.join(COMMIT_FILE)).unwrap_or_default();
    for rel in listed.lines().filter(|l| !l.is_empty()) {
        if let Ok(path) = confine(out, rel) {
            let gone = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            if let Err(e) = gone
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(Diagnostic::runtime(format!("cannot remove the outdated {}", path.display())).caused_by(e));
            }
        }
    }
    std::fs::remove_dir_all(dir)
        .map_err(|e| Diagnostic::runtime(format!("cannot remove the folder {}", dir.display())).caused_by(e))
}

/// Finish or remove the generations of runs into `out` whose process is gone.
fn sweep(out: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with(GENERATION_PREFIX) || !path.is_dir() {
            continue;
        }
        let owner = std::fs::read_to_string(path.join(OWNER_FILE)).ok().and_then(|p| p.trim().parse::<u32>().ok());
        if owner.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
            continue;
        }
        if path.join(COMMIT_FILE).is_file() {
            switch(&path, out)?;
        } else {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    Ok(())
}

/// Create `dir` (and its parents) with `dir` readable by its owner only.
pub(crate) fn private_folder(dir: &Path) -> Result<()> {
    crate::cache::private_folder(dir)
        .map_err(|e| Diagnostic::runtime(format!("cannot create the folder {}", dir.display())).caused_by(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_commit_replaces_the_set_and_removes_what_it_lists() {
        let out = tempfile::tempdir().unwrap();
        let out = out.path();
        write(&out.join("a.csv"), "old a");
        write(&out.join("rejects/s.csv"), "old rejects");
        write(&out.join("manifest-p.json"), "old manifest");
        write(&out.join("failed/p/manifest-p.json"), "an earlier failure");
        let g = Generation::new(out, "p").unwrap();
        write(&g.dir().join("a.csv"), "new a");
        write(&g.dir().join("reports/b.html"), "new b");
        write(&g.dir().join("manifest-p.json"), "new manifest");
        assert_eq!(g.published(&g.dir().join("reports/b.html")), out.join("reports/b.html"));
        g.commit(&[PathBuf::from("rejects/s.csv")]).unwrap();
        let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
        assert_eq!(
            (read("a.csv"), read("reports/b.html"), read("manifest-p.json")),
            ("new a".into(), "new b".into(), "new manifest".into())
        );
        assert!(!out.join("rejects/s.csv").exists() && !out.join("failed/p").exists());
        let left: Vec<_> = std::fs::read_dir(out).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(left.iter().all(|n| !n.to_string_lossy().starts_with(GENERATION_PREFIX)), "{left:?}");
    }

    #[test]
    fn a_failure_keeps_the_previous_set_and_puts_its_rejects_aside() {
        let out = tempfile::tempdir().unwrap();
        let out = out.path();
        write(&out.join("a.csv"), "old a");
        write(&out.join("rejects/s.csv"), "old rejects");
        write(&out.join("manifest-p.json"), "old manifest");
        let g = Generation::new(out, "p").unwrap();
        write(&g.dir().join("a.csv"), "new a");
        write(&g.dir().join("rejects/s.csv"), "new rejects");
        let manifest = g.dir().join("manifest-p.json");
        write(&manifest, "failed manifest");
        assert_eq!(g.kept_on_failure(&g.dir().join("rejects/s.csv")), out.join("failed/p/rejects/s.csv"));
        g.keep_failure(&manifest).unwrap();
        let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
        assert_eq!(
            (read("a.csv"), read("rejects/s.csv"), read("manifest-p.json")),
            ("old a".into(), "old rejects".into(), "old manifest".into())
        );
        assert_eq!(
            (read("failed/p/rejects/s.csv"), read("failed/p/manifest-p.json")),
            ("new rejects".into(), "failed manifest".into())
        );
        assert!(!out.join("failed/p/a.csv").exists(), "no output of a failed run is kept");
    }

    #[test]
    fn an_interrupted_switch_is_finished_and_an_unfinished_generation_removed() {
        let out = tempfile::tempdir().unwrap();
        let out = out.path();
        write(&out.join("a.csv"), "old a");
        write(&out.join("manifest-p.json"), "old manifest");
        // A run killed half-way through its switch: a.csv moved, the manifest not yet.
        let done = out.join(".sunward-gen-dead1");
        write(&done.join("manifest-p.json"), "new manifest");
        write(&done.join(OWNER_FILE), "999999999");
        write(&done.join(COMMIT_FILE), "old.csv");
        write(&out.join("old.csv"), "obsolete");
        // A run killed while writing.
        let unfinished = out.join(".sunward-gen-dead2");
        write(&unfinished.join("a.csv"), "half");
        write(&unfinished.join(OWNER_FILE), "999999999");
        let g = Generation::new(out, "q").unwrap();
        assert_eq!(std::fs::read_to_string(out.join("manifest-p.json")).unwrap(), "new manifest");
        assert_eq!(std::fs::read_to_string(out.join("a.csv")).unwrap(), "old a");
        assert!(!done.exists() && !unfinished.exists() && !out.join("old.csv").exists());
        drop(g);
    }
}
