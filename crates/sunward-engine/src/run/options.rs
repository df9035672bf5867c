//! How a run is asked for: where progress goes, the session settings, the
//! cache and the engine; and how an error is placed at its pipeline entry.

use crate::budget::MemoryBudget;
use crate::cache::SourceCache;
use crate::session::{Engine, LocalEngine, SessionOptions};
use std::path::PathBuf;
use std::sync::Arc;
use sunward_core::{Diagnostic, Plan, PluginKind};

/// Receives progress while a pipeline runs. Every method has a no-op default.
pub trait Progress: Send + Sync {
    /// A stage begins (`loading sources`, `step by_school`, `writing outputs`).
    fn stage(&self, _what: &str) {}
    /// A source has read this many rows so far.
    fn rows(&self, _source: &str, _rows: u64) {}
    /// The run is over.
    fn finish(&self) {}
}

/// A progress receiver that ignores everything.
pub struct Silent;
impl Progress for Silent {}

/// How to run.
#[derive(Clone)]
pub struct RunOptions {
    /// Session settings (memory limit, partitions).
    pub session: SessionOptions,
    /// Where progress goes.
    pub progress: Arc<dyn Progress>,
    /// Read a `produced_by` table even when its manifest shows other inputs
    /// or parameters (the differences become warnings).
    pub allow_stale_inputs: bool,
    /// The folder in which the run's staging folder is made (default: the output folder).
    pub stage_dir: Option<PathBuf>,
    /// Where checked sources are kept for later runs; `None`: read every source afresh.
    pub cache: Option<SourceCache>,
    /// Where the steps' queries execute (default: [`LocalEngine`], in this process).
    pub engine: Arc<dyn Engine>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            session: SessionOptions::default(),
            progress: Arc::new(Silent),
            allow_stale_inputs: false,
            stage_dir: None,
            cache: None,
            engine: Arc::new(LocalEngine),
        }
    }
}

impl RunOptions {
    /// How the run shares `session.memory_limit` (see [`MemoryBudget`]).
    pub fn budget(&self) -> MemoryBudget {
        MemoryBudget::split(self.session.memory_limit)
    }

    /// Bytes all tables held in memory may take together before the next
    /// one to grow moves to the staging folder ([`MemoryBudget::stage_threshold`]).
    pub fn stage_threshold(&self) -> usize {
        self.budget().stage_threshold
    }
}

/// `d` placed at the pipeline entry `kind.name`, unless it has a place already.
pub(crate) fn placed(d: Diagnostic, plan: &Plan, kind: PluginKind, name: &str) -> Diagnostic {
    let d = if d.location.is_none() { d.at(plan.location_of(kind, name)) } else { d };
    if d.context.is_none() { d.in_context(format!("{}.{name}", kind.section())) } else { d }
}
