//! `sunward cluster scheduler`: Ballista's scheduler with Sunward's functions.
//!
//! It listens for clients and executors on one gRPC port, keeps the
//! cluster's state in memory, and forgets an executor that has not sent a
//! heartbeat for `executor_timeout`, after which the tasks it held are run
//! again elsewhere. With a cluster credential ([`crate::tls`]) it listens
//! behind a TLS front that admits members only, and reaches executors over
//! TLS.

use crate::functions::{ReadsOnlyUnder, scheduler_session};
use crate::loading::{LogicalCodec, PhysicalCodec};
use crate::tls::{ClusterTls, behind, bind_front, serve_front};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use sunward_core::plugin::Functions;
use sunward_core::{Diagnostic, Result};

/// How a scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// The address to listen on (default 127.0.0.1:50050: this machine only).
    pub bind: SocketAddr,
    /// The host name executors and clients use to reach it (default: the bind address).
    pub external_host: Option<String>,
    /// An executor silent for this long is taken as lost and its tasks run elsewhere.
    pub executor_timeout: Duration,
    /// The SQL functions its sessions know (the plugin registry's).
    pub functions: Functions,
    /// The cluster credential: when given, only members reach it, over TLS.
    pub tls: Option<ClusterTls>,
    /// The folders the cluster's queries may read files in; empty: any.
    pub data_roots: Vec<std::path::PathBuf>,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 50050)),
            external_host: None,
            executor_timeout: Duration::from_secs(30),
            functions: Functions::default(),
            tls: None,
            data_roots: Vec::new(),
        }
    }
}

/// Seconds after a job ends before the scheduler has the executors remove its data.
pub const FINISHED_JOB_DATA_SECONDS: u64 = 60;

/// Run a scheduler until the process is stopped.
pub async fn serve_scheduler(options: &SchedulerOptions) -> Result<()> {
    let timeout = options.executor_timeout.as_secs().max(2);
    // With TLS, Ballista listens on loopback behind the front on `bind`.
    let (listen, front) = match &options.tls {
        None => (options.bind, None),
        Some(tls) => (behind(options.bind)?, Some((bind_front(options.bind).await?, tls.clone()))),
    };
    let mut config = SchedulerConfig {
        bind_host: listen.ip().to_string(),
        bind_port: listen.port(),
        external_host: options.external_host.clone().unwrap_or_else(|| options.bind.ip().to_string()),
        executor_timeout_seconds: timeout,
        expire_dead_executor_interval_seconds: (timeout / 4).max(1),
        no_executors_grace_period_seconds: timeout,
        // A finished job's data (intermediate results with student
        // references) is removed from the executors a minute after the job
        // ends: time for the client to fetch the results, no longer.
        finished_job_data_clean_up_interval_seconds: FINISHED_JOB_DATA_SECONDS,
        // Sunward's own plan nodes (the sources' load tasks) travel with Ballista's.
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..SchedulerConfig::default()
    };
    let functions = options.functions.clone();
    let reads = ReadsOnlyUnder::new(&options.data_roots)?;
    if !reads.restricts() {
        log::warn!("no --data-root: the cluster's queries may read any file its executors can read");
    }
    config.override_session_builder = Some(Arc::new(move |c| scheduler_session(c, &functions, &reads)));
    if let Some(tls) = &options.tls {
        // Its own calls to the executors (cancel a job, remove its data) go over TLS too.
        config.use_tls = true;
        config.override_create_grpc_client_endpoint = Some(tls.endpoint_override());
    }
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| Diagnostic::runtime("cannot set up the scheduler").caused_by(e))?;
    if let Some((listener, tls)) = front {
        tokio::spawn(async move { serve_front(listener, listen, tls, "scheduler").await });
    }
    ballista_scheduler::scheduler_process::start_server(cluster, listen, Arc::new(config)).await.map_err(|e| {
        Diagnostic::runtime(format!("the scheduler stopped: {e}"))
            .hint(format!("is {} already in use, or not an address of this machine?", options.bind))
            .caused_by(e)
    })
}
