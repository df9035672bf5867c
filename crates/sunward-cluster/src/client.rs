//! The client side: a run whose SQL steps execute on a Ballista cluster.
//!
//! [`ClusterEngine::connect`] checks that the scheduler answers (within a
//! few seconds, so a wrong address fails at once rather than at the first
//! step); [`ClusterEngine`]'s sessions plan each query here, as the local
//! engine would, and hand it to the scheduler to run.

use ballista_core::extension::SessionStateExt;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use std::time::Duration;
use sunward_core::{Diagnostic, Result};
use sunward_engine::session::{Engine, SessionOptions, session_parts};

/// How long the scheduler has to answer before the run gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Ballista settings every cluster session carries (the scheduler reads them from the job).
///
/// The adaptive planner of Ballista 55 is off: with it, a stage of the
/// metrics pipeline (`service_reach`) never finished — its tasks reported
/// different numbers of operators, the scheduler refused their status
/// ("task metrics array size 12 does not equal … 11") and the job waited for
/// ever. The static planner runs every step, with the local run's figures.
const SETTINGS: &[(&str, &str)] = &[("ballista.planner.adaptive.enabled", "false")];

/// A Ballista cluster, reached through its scheduler.
#[derive(Debug, Clone)]
pub struct ClusterEngine {
    /// `HOST:PORT` of the scheduler.
    address: String,
}

impl ClusterEngine {
    /// The cluster at `url` (`ballista://HOST:PORT`), once its scheduler has answered.
    pub async fn connect(url: &str) -> Result<Self> {
        let address = parse_url(url)?;
        let endpoint = format!("http://{address}");
        let unreachable = |why: String| {
            Diagnostic::runtime(format!("cannot reach the cluster's scheduler at {address}: {why}"))
                .hint("start it with `sunward cluster scheduler`, check the address, or run with --engine local")
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, SchedulerGrpcClient::connect(endpoint)).await {
            Ok(Ok(_)) => Ok(ClusterEngine { address }),
            Ok(Err(e)) => Err(unreachable(e.to_string()).caused_by(e)),
            Err(_) => Err(unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
        }
    }
}

/// `ballista://HOST:PORT` (or `df://…`, Ballista's own spelling) as `HOST:PORT`.
pub fn parse_url(url: &str) -> Result<String> {
    let bad = || {
        Diagnostic::invalid(format!("`{url}` is not an engine"))
            .hint("use `local`, or `ballista://HOST:PORT` for a cluster (e.g. ballista://127.0.0.1:50050)")
    };
    let rest = url.strip_prefix("ballista://").or_else(|| url.strip_prefix("df://")).ok_or_else(bad)?;
    let rest = rest.trim_end_matches('/');
    crate::executor::host_and_port(rest).map_err(|_| bad())?;
    Ok(rest.to_string())
}

impl Engine for ClusterEngine {
    fn session(&self, options: &SessionOptions) -> Result<SessionContext> {
        let (config, runtime) = session_parts(options)?;
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(config)
            .with_runtime_env(runtime)
            .build()
            .upgrade_for_ballista(format!("http://{}", self.address))
            .map_err(|e| Diagnostic::runtime("cannot set up the cluster session").caused_by(e))?;
        let mut state = state;
        for (key, value) in SETTINGS {
            state
                .config_mut()
                .options_mut()
                .set(key, value)
                .map_err(|e| Diagnostic::runtime(format!("cannot set {key} on the cluster session")).caused_by(e))?;
        }
        // Registered after Ballista's upgrade, which sets the function list anew.
        let ctx = SessionContext::new_with_state(state);
        options.functions.register(&ctx);
        sunward_engine::exact_sums::register(&ctx);
        Ok(ctx)
    }

    fn distributed(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("ballista://{}", self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_urls() {
        assert_eq!(parse_url("ballista://127.0.0.1:50050").unwrap(), "127.0.0.1:50050");
        assert_eq!(parse_url("df://sched.internal:7/").unwrap(), "sched.internal:7");
        for bad in ["127.0.0.1:50050", "ballista://", "ballista://host", "http://h:1", "local"] {
            assert!(parse_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[tokio::test]
    async fn a_scheduler_that_is_not_there_is_said_at_once() {
        // A port nobody listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let started = std::time::Instant::now();
        let err = ClusterEngine::connect(&format!("ballista://127.0.0.1:{port}")).await.unwrap_err();
        assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(1));
        assert!(
            err.message.contains(&format!("cannot reach the cluster's scheduler at 127.0.0.1:{port}")),
            "{}",
            err.message
        );
        assert!(err.hint.as_deref().unwrap_or("").contains("sunward cluster scheduler"));
    }
}
