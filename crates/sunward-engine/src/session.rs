//! The DataFusion session every run and check uses, and the engine it runs on.
//!
//! One place decides the session's settings: a memory limit that makes large
//! sorts and aggregations spill to disk instead of exhausting a small machine,
//! and the statistical functions registered for every SQL step.
//!
//! An [`Engine`] makes the session a run uses. [`LocalEngine`] runs queries in
//! this process; another engine (the Ballista cluster of `sunward-cluster`)
//! plans them here and executes them elsewhere. Such an engine is
//! [`Engine::distributed`]: the run then keeps every table as a Parquet file
//! in the staging folder, which every process of the engine reads, and never
//! as a table in this process's memory or a view.

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use std::sync::Arc;
use sunward_core::plugin::Functions;
use sunward_core::{Diagnostic, Result};

/// Settings of a session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Bytes DataFusion may use for query execution; beyond it, operators spill to disk.
    pub memory_limit: Option<usize>,
    /// Number of partitions (threads) per query; default: the number of cores.
    pub target_partitions: Option<usize>,
    /// The SQL functions every session registers (the plan's, from the plugin registry).
    pub functions: Functions,
}

/// Where a run's queries execute.
pub trait Engine: Send + Sync {
    /// A session with these settings, every Sunward SQL function registered,
    /// whose queries run on this engine.
    fn session(&self, options: &SessionOptions) -> Result<SessionContext>;

    /// Whether queries run in other processes, which read tables only from
    /// files in the staging folder (no in-memory tables, no views).
    fn distributed(&self) -> bool {
        false
    }

    /// How the engine is named in the manifest and in messages (`local`, `ballista://host:port`).
    fn describe(&self) -> String;

    /// Called with each step's physical plan before it runs: a cluster keeps
    /// its jobs, to cancel them if the run is stopped.
    fn watch(&self, _plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>) {}

    /// The engine's workers, when they read, type and check the run's
    /// sources (a cluster's executors); `None`: this process loads them.
    fn loading(&self) -> Option<&dyn crate::remote::RemoteLoading> {
        None
    }
}

/// Queries run in this process, on all its cores (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalEngine;

impl Engine for LocalEngine {
    fn session(&self, options: &SessionOptions) -> Result<SessionContext> {
        new_session(options)
    }

    fn describe(&self) -> String {
        "local".to_string()
    }
}

/// A session's settings and runtime (memory pool, spill folder), without functions.
pub fn session_parts(options: &SessionOptions) -> Result<(SessionConfig, Arc<RuntimeEnv>)> {
    let mut config = SessionConfig::new().with_information_schema(false);
    if let Some(n) = options.target_partitions {
        config = config.with_target_partitions(n.max(1));
    }
    let mut runtime = RuntimeEnvBuilder::new()
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::OsTmpDirectory));
    if let Some(limit) = options.memory_limit {
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit)));
        // A sort reserves this much up front to merge its spill files; the
        // default (10 MB) alone would exceed a small limit.
        let execution = &mut config.options_mut().execution;
        execution.sort_spill_reservation_bytes = execution.sort_spill_reservation_bytes.min(limit / 4);
    }
    let runtime =
        runtime.build_arc().map_err(|e| Diagnostic::runtime("cannot set up the query engine").caused_by(e))?;
    Ok((config, runtime))
}

/// Make a local session with these settings and every Sunward SQL function.
pub fn new_session(options: &SessionOptions) -> Result<SessionContext> {
    let (config, runtime) = session_parts(options)?;
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    options.functions.register(&ctx);
    crate::exact_sums::register(&ctx);
    Ok(ctx)
}

/// Parse a size such as `512M`, `2G`, `1.5GiB` or a number of bytes.
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.trim().parse().map_err(|_| format!("`{text}` is not a size such as 512M or 2G"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("`{text}` has an unknown unit; use K, M or G")),
    };
    if !(number.is_finite() && number > 0.0) {
        return Err(format!("`{text}` must be a positive size"));
    }
    Ok((number * factor) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_size("2G"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5X").is_err());
    }
}
