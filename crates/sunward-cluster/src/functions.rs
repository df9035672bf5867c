//! The SQL functions every process of a cluster registers.
//!
//! A plan sent to the scheduler or an executor names a function; the
//! receiving process looks it up by that name in its own registry. Sunward's
//! functions (the statistics functions of `sunward_engine::stats`) are added
//! to Ballista's defaults here, for the scheduler's sessions and for the
//! executors' registry alike.

use ballista_core::extension::{ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions};
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::execution::SessionState;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionConfig;
use std::sync::Arc;

/// Every scalar function Sunward adds to SQL.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    sunward_engine::stats::functions().into_iter().map(Arc::new).collect()
}

/// A scheduler's session: Ballista's default one, with Sunward's functions.
pub fn scheduler_session(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let mut state = ballista_core::utils::default_session_builder(config)?;
    for udf in scalar_functions() {
        state.register_udf(udf)?;
    }
    Ok(state)
}

/// An executor's functions: every one a client's session has — DataFusion's
/// (array functions such as `make_array` included, which Ballista's default
/// executor registry leaves out), Ballista's and Sunward's.
pub fn executor_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry {
        scalar_functions: ballista_scalar_functions().into_iter().map(|f| (f.name().to_string(), f)).collect(),
        aggregate_functions: ballista_aggregate_functions().into_iter().map(|f| (f.name().to_string(), f)).collect(),
        window_functions: ballista_window_functions().into_iter().map(|f| (f.name().to_string(), f)).collect(),
        ..BallistaFunctionRegistry::default()
    };
    for udf in scalar_functions() {
        registry.scalar_functions.insert(udf.name().to_string(), udf);
    }
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
        let registry = executor_registry();
        let state = scheduler_session(SessionConfig::new()).unwrap();
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
