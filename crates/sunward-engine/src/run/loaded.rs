//! A source loaded into the stage, as the run's phases pass it on, and the
//! cache writes still under way.

use crate::ingest::Ingested;
use crate::stage::StagedTable;
use std::collections::HashMap;
use std::path::PathBuf;
use sunward_core::Diagnostic;

/// A source loaded into the stage, and what loading it found.
pub(crate) struct Loaded {
    /// Its files, as the manifest names them.
    pub(crate) files: Vec<PathBuf>,
    /// The files of its key values (one per part), when workers of the engine loaded it.
    pub(crate) keys_files: Vec<PathBuf>,
    /// How many parts its file was read in (0: whole).
    pub(crate) parts: usize,
    /// Its rows' account: counts, rejects, keys, warnings.
    pub(crate) ingested: Ingested,
    pub(crate) table: StagedTable,
    /// Its key in the source cache, when the cache is on.
    pub(crate) key: Option<String>,
    /// Whether it came from the source cache.
    pub(crate) from_cache: bool,
    /// Its table being kept in the cache: a warning if that failed.
    pub(crate) cache_write: Option<std::thread::JoinHandle<Option<Diagnostic>>>,
    /// An optional source's files that were not there (it is an empty table).
    pub(crate) missing: Vec<PathBuf>,
}

/// Sources being kept in the cache while the run goes on. Dropped (the run
/// failed), it still waits for them, so none is cut off mid-write and the
/// staging folder outlives them.
pub(crate) struct CacheWrites(Vec<(String, std::thread::JoinHandle<Option<Diagnostic>>)>);

impl CacheWrites {
    /// The cache writes of the loaded sources, taken from them.
    pub(crate) fn take(loaded: &mut HashMap<String, Loaded>) -> Self {
        CacheWrites(loaded.iter_mut().filter_map(|(name, l)| l.cache_write.take().map(|w| (name.clone(), w))).collect())
    }

    /// Wait for every write: the warnings of those that failed.
    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.0)
            .into_iter()
            .filter_map(|(name, write)| {
                let failed = write.join().unwrap_or_else(|_| Some(Diagnostic::warning("the cache writer stopped")));
                failed.map(|w| w.in_context(format!("sources.{name}")))
            })
            .collect()
    }
}

impl Drop for CacheWrites {
    fn drop(&mut self) {
        for (_, write) in self.0.drain(..) {
            let _ = write.join();
        }
    }
}
