//! The SQL functions every process of a cluster registers.
//!
//! A plan sent to the scheduler or an executor names a function; the
//! receiving process looks it up by that name in its own registry. Sunward's
//! functions — every function of the plugin registry the binary was built
//! with: the statistics functions and any plugin's own — are added to
//! Ballista's defaults here, for the scheduler's sessions and for the
//! executors' registry alike.

use ballista_core::extension::{ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions};
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::execution::SessionState;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::prelude::SessionConfig;
use sunward_core::plugin::Functions;

/// A scheduler's session: Ballista's default one, with Sunward's functions.
pub fn scheduler_session(config: SessionConfig, functions: &Functions) -> datafusion::common::Result<SessionState> {
    let mut state = ballista_core::utils::default_session_builder(config)?;
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
        let state = scheduler_session(SessionConfig::new(), &functions).unwrap();
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
