//! What a run must remove if it is interrupted: its staging folders and the
//! temporary (`.partial`) files of the outputs it is writing. Each is
//! registered while it exists and unregistered when it is committed or
//! dropped; on SIGINT or SIGTERM the command line removes whatever is still
//! registered ([`remove_all`]) before it exits, so an interrupted run leaves
//! no copy of children's data behind. Actions registered with [`on_stop`]
//! (cancel the cluster's jobs, empty an executor's work folder) run first. A `kill -9` cannot be caught: the next
//! run into the same folder sweeps a staging folder whose process is gone
//! (see the engine's staging store).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Something to do before the process stops on a signal or a timeout.
type StopAction = Box<dyn Fn() + Send>;
static ON_STOP: Mutex<Vec<StopAction>> = Mutex::new(Vec::new());

/// Run `action` when the process is stopped (SIGINT, SIGTERM, `--timeout`),
/// before registered files are removed. It must be quick and must not panic.
pub fn on_stop(action: impl Fn() + Send + 'static) {
    if let Ok(mut actions) = ON_STOP.lock() {
        actions.push(Box::new(action));
    }
}

/// Registers a temporary file or folder to remove on interruption.
pub fn register(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.insert(path.to_path_buf());
    }
}

/// The path is committed or removed: nothing to do for it any more.
pub fn unregister(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.remove(path);
    }
}

/// Runs the [`on_stop`] actions, then removes every registered file and
/// folder; returns how many were removed.
pub fn remove_all() -> usize {
    let actions: Vec<StopAction> = match ON_STOP.lock() {
        Ok(mut actions) => std::mem::take(&mut *actions),
        Err(_) => Vec::new(),
    };
    for action in &actions {
        action();
    }
    let paths: Vec<PathBuf> = match LIVE.lock() {
        Ok(mut live) => std::mem::take(&mut *live).into_iter().collect(),
        Err(_) => return 0,
    };
    paths
        .iter()
        .filter(|p| if p.is_dir() { std::fs::remove_dir_all(p).is_ok() } else { std::fs::remove_file(p).is_ok() })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_paths_are_removed_and_unregistered_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (stage, partial, kept) = (dir.path().join("stage"), dir.path().join("a.partial"), dir.path().join("b"));
        std::fs::create_dir_all(stage.join("inner")).unwrap();
        std::fs::write(stage.join("inner/t.parquet"), b"x").unwrap();
        std::fs::write(&partial, b"x").unwrap();
        std::fs::write(&kept, b"x").unwrap();
        register(&stage);
        register(&partial);
        register(&kept);
        unregister(&kept);
        assert!(remove_all() >= 2);
        assert!(!stage.exists() && !partial.exists() && kept.exists());
    }
}
