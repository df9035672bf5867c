//! The SQL functions every process of a cluster registers.
//!
//! A plan sent to the scheduler or an executor names a function; the
//! receiving process looks it up by that name in its own registry. Sunward's
//! functions — every function of the plugin registry the binary was built
//! with: the statistics functions and any plugin's own — are added to
//! Ballista's defaults here, for the scheduler's sessions and for the
//! executors' registry alike.
//!
//! The scheduler's sessions also hold [`ReadsOnlyUnder`]: a plan that would
//! read a file outside the cluster's data folders is refused before any
//! task runs, whoever sent it.

use crate::loading::LoadTable;
use ballista_core::extension::{ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions};
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::catalog::default_table_source::source_as_provider;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, plan_err};
use datafusion::datasource::listing::ListingTable;
use datafusion::execution::SessionState;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::logical_expr::LogicalPlan;
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sunward_core::plugin::Functions;

/// The folders a cluster's queries may read files in (a run's staged
/// tables live in its `--stage` folder, under one of them).
#[derive(Debug, Clone, Default)]
pub struct ReadsOnlyUnder {
    /// Each folder as a `file://` URL ending in `/`.
    roots: Vec<String>,
}

impl ReadsOnlyUnder {
    /// The folders, which must exist (they are compared as the executors see them).
    pub fn new(folders: &[PathBuf]) -> sunward_core::Result<ReadsOnlyUnder> {
        let mut roots = Vec::new();
        for folder in folders {
            let real = std::fs::canonicalize(folder).map_err(|e| {
                sunward_core::Diagnostic::invalid(format!("--data-root {} is not a folder of this machine", folder.display()))
                    .hint("give the shared folder runs stage their tables in (their --stage), as every machine of the cluster sees it")
                    .caused_by(e)
            })?;
            roots.push(Self::url(&real));
        }
        Ok(ReadsOnlyUnder { roots })
    }

    fn url(path: &Path) -> String {
        let text = path.display().to_string();
        format!("file://{}/", text.trim_end_matches('/'))
    }

    /// Whether any folder is set (none: every file the executors can read).
    pub fn restricts(&self) -> bool {
        !self.roots.is_empty()
    }

    /// Whether a path (as the run names it, or as it resolves on this machine) is inside a folder.
    fn allowed_path(&self, path: &Path) -> bool {
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.allowed(&Self::url(&real))
    }

    fn allowed(&self, url: &str) -> bool {
        let url = if url.ends_with('/') { url.to_string() } else { format!("{url}/") };
        self.roots.iter().any(|root| url.starts_with(root.as_str()))
    }
}

impl AnalyzerRule for ReadsOnlyUnder {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> datafusion::common::Result<LogicalPlan> {
        let mut refused: Option<DataFusionError> = None;
        plan.apply_with_subqueries(|node| {
            let LogicalPlan::TableScan(scan) = node else { return Ok(TreeNodeRecursion::Continue) };
            let provider = source_as_provider(&scan.source)?;
            // A run's sources, loaded by the executors: every file they read or write.
            if let Some(load) = provider.downcast_ref::<LoadTable>() {
                let outside = load.tasks().iter().flat_map(|t| t.paths()).find(|p| !self.allowed_path(p));
                if let Some(path) = outside {
                    refused = Some(DataFusionError::Plan(format!(
                        "loading the run's sources reads {}, outside the folders this cluster may read ({}): keep the project, its data and the staging folder under one of them",
                        path.display(),
                        self.roots.join(", ")
                    )));
                    return Ok(TreeNodeRecursion::Stop);
                }
                return Ok(TreeNodeRecursion::Continue);
            }
            let Some(listing) = provider.downcast_ref::<ListingTable>() else {
                refused = Some(DataFusionError::Plan(format!(
                    "table `{}` is not a file table: the cluster reads only the files of the run's staging folder",
                    scan.table_name
                )));
                return Ok(TreeNodeRecursion::Stop);
            };
            if let Some(path) = listing.table_paths().iter().find(|p| !self.allowed(p.as_str())) {
                refused = Some(DataFusionError::Plan(format!(
                    "table `{}` reads {}, outside the folders this cluster may read ({}): stage the run under one of them (--stage)",
                    scan.table_name,
                    path.as_str(),
                    self.roots.join(", ")
                )));
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        match refused {
            Some(e) => plan_err!("{e}"),
            None => Ok(plan),
        }
    }

    fn name(&self) -> &str {
        "sunward_reads_only_under"
    }
}

/// A scheduler's session: Ballista's default one, with Sunward's functions;
/// with `reads` set, a plan reading a file outside its folders is refused.
pub fn scheduler_session(
    config: SessionConfig,
    functions: &Functions,
    reads: &ReadsOnlyUnder,
) -> datafusion::common::Result<SessionState> {
    let mut state = ballista_core::utils::default_session_builder(config)?;
    if reads.restricts() {
        state.add_analyzer_rule(Arc::new(reads.clone()));
    }
    for udf in functions.scalar.values() {
        state.register_udf(udf.clone())?;
    }
    for udaf in functions.aggregate.values() {
        state.register_udaf(udaf.clone())?;
    }
    for udwf in functions.window.values() {
        state.register_udwf(udwf.clone())?;
    }
    Ok(state)
}

/// An executor's functions: every one a client's session has — DataFusion's
/// (array functions such as `make_array` included, which Ballista's default
/// executor registry leaves out), Ballista's and Sunward's.
pub fn executor_registry(functions: &Functions) -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry {
        scalar_functions: ballista_scalar_functions().into_iter().map(|f| (f.name().to_string(), f)).collect(),
        aggregate_functions: ballista_aggregate_functions().into_iter().map(|f| (f.name().to_string(), f)).collect(),
        window_functions: ballista_window_functions().into_iter().map(|f| (f.name().to_string(), f)).collect(),
        ..BallistaFunctionRegistry::default()
    };
    registry.scalar_functions.extend(functions.scalar.iter().map(|(n, f)| (n.clone(), f.clone())));
    registry.aggregate_functions.extend(functions.aggregate.iter().map(|(n, f)| (n.clone(), f.clone())));
    registry.window_functions.extend(functions.window.iter().map(|(n, f)| (n.clone(), f.clone())));
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_know_every_statistics_function() {
        let names = [
            "poisson_ci_low",
            "poisson_ci_high",
            "wilson_ci_low",
            "wilson_ci_high",
            "rate_ratio_ci_low",
            "rate_ratio_ci_high",
        ];
        let functions = sunward_plugins::builtin_registry().functions().clone();
        let registry = executor_registry(&functions);
        let state = scheduler_session(SessionConfig::new(), &functions, &ReadsOnlyUnder::default()).unwrap();
        for name in names {
            assert!(registry.scalar_functions.contains_key(name), "executor lacks {name}");
            assert!(state.udf(name).is_ok(), "scheduler lacks {name}");
        }
        // DataFusion's own functions are still there.
        for name in ["abs", "make_array", "array_has", "date_trunc"] {
            assert!(registry.scalar_functions.contains_key(name), "executor lacks {name}");
        }
        assert!(registry.aggregate_functions.contains_key("count"));
        assert!(registry.window_functions.contains_key("row_number"));
        assert!(state.udf("abs").is_ok());
    }
}
