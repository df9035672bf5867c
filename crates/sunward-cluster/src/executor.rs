//! `sunward cluster executor`: Ballista's executor with Sunward's functions.
//!
//! An executor registers with the scheduler, runs the tasks it is given
//! (each reading the staged Parquet files its plan names), keeps the data one
//! stage hands to the next in its work folder, and serves that data, and the
//! final results, over Arrow Flight on its own port. It sends a heartbeat to
//! the scheduler every few seconds; one that stops is taken as lost.
//!
//! The data it keeps is children's data, so it is kept close: the jobs'
//! files live in `jobs/` inside the work folder (a folder of this process's
//! own in the system's temporary folder when none is given), made readable by
//! its owner only (0700: nobody else can open what is inside). The folder is
//! emptied when the executor starts (a job from before a restart can no
//! longer be fetched), checked every minute for job data older than an hour,
//! and emptied again when the executor stops — on SIGTERM or Ctrl-C at once,
//! even with a task of an abandoned job still running. The scheduler has a
//! finished job's data removed a minute after it ends.
//!
//! With a cluster credential ([`crate::tls`]) both its services listen
//! behind TLS fronts that admit members only, and every connection it makes
//! (to the scheduler, to other executors' data) goes over TLS with its
//! certificate.

use crate::functions::executor_registry;
use crate::loading::{LogicalCodec, PhysicalCodec};
use crate::tls::{ClusterTls, behind, bind_front, serve_front};
use ballista_core::extension::SessionConfigExt;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use datafusion::prelude::SessionConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use sunward_core::plugin::Functions;
use sunward_core::{Diagnostic, Result};
use sunward_engine::remote::TaskLoader;

/// How an executor runs.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler, `HOST:PORT`.
    pub scheduler: String,
    /// The address of its data (Arrow Flight) service (default 127.0.0.1:50051:
    /// this machine only); its task service listens on `grpc_port`.
    pub bind: SocketAddr,
    /// The port of its task service (default: the data port + 1).
    pub grpc_port: Option<u16>,
    /// The host name the scheduler and clients use to reach it (default: the bind address).
    pub external_host: Option<String>,
    /// Where the data passed between stages is kept, in a `jobs/` folder of
    /// its own (default: a folder of this process in the temporary folder).
    pub work_dir: Option<PathBuf>,
    /// Tasks run at once (default: the number of cores).
    pub concurrent_tasks: Option<usize>,
    /// Memory all its tasks may use before spilling (default: Ballista's share of the machine's memory).
    pub memory_limit: Option<u64>,
    /// How often it tells the scheduler it is alive.
    pub heartbeat: Duration,
    /// The SQL functions its tasks may call (the plugin registry's).
    pub functions: Functions,
    /// The cluster credential: when given, only members reach it, and it reaches others over TLS.
    pub tls: Option<ClusterTls>,
    /// What runs the runs' source-loading tasks (validates their pipelines
    /// with the binary's plugins); without it, a load task fails.
    pub loader: Option<Arc<dyn TaskLoader>>,
}

impl Default for ExecutorOptions {
    fn default() -> Self {
        ExecutorOptions {
            scheduler: "127.0.0.1:50050".to_string(),
            bind: SocketAddr::from(([127, 0, 0, 1], 50051)),
            grpc_port: None,
            external_host: None,
            work_dir: None,
            concurrent_tasks: None,
            memory_limit: None,
            heartbeat: Duration::from_secs(5),
            functions: Functions::default(),
            tls: None,
            loader: None,
        }
    }
}

/// Split `HOST:PORT` (the port is required).
pub fn host_and_port(address: &str) -> Result<(String, u16)> {
    let bad = || {
        Diagnostic::invalid(format!("`{address}` is not HOST:PORT"))
            .hint("for example 127.0.0.1:50050, or scheduler.internal:50050")
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// Job data older than this is removed while the executor runs.
const JOB_DATA_TTL: Duration = Duration::from_secs(3600);
/// How often the executor looks for old job data.
const JOB_DATA_CHECK: Duration = Duration::from_secs(60);

/// The folder the jobs' data goes in: `jobs/` in the work folder, owner
/// only, emptied. Removed (emptied) again when the process is stopped.
fn private_jobs_folder(work_dir: Option<&Path>) -> Result<PathBuf> {
    let base = match work_dir {
        Some(dir) => dir.to_path_buf(),
        None => std::env::temp_dir().join(format!("sunward-executor-{}", std::process::id())),
    };
    let jobs = base.join("jobs");
    let failed = |e: std::io::Error| {
        Diagnostic::runtime(format!("cannot prepare the work folder {}", jobs.display()))
            .hint("the executor's user must be able to write there; choose another with --work-dir")
            .caused_by(e)
    };
    if jobs.exists() {
        std::fs::remove_dir_all(&jobs).map_err(failed)?;
    }
    std::fs::create_dir_all(&base).map_err(failed)?;
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        if work_dir.is_none() {
            std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
        }
    }
    builder.create(&jobs).map_err(failed)?;
    let owned = if work_dir.is_none() { base } else { jobs.clone() };
    sunward_core::cleanup::register(&owned);
    Ok(jobs)
}

/// Run an executor until the process is stopped (SIGTERM, Ctrl-C) or the scheduler tells it to stop.
pub async fn serve_executor(options: &ExecutorOptions) -> Result<()> {
    let (scheduler_host, scheduler_port) = host_and_port(&options.scheduler)?;
    let grpc_port = options.grpc_port.unwrap_or(options.bind.port().wrapping_add(1));
    let jobs = private_jobs_folder(options.work_dir.as_deref())?;
    // With TLS, Ballista listens on loopback, on the same ports (which it
    // tells the scheduler), behind a front for each of its two services.
    let listen = match &options.tls {
        None => options.bind,
        Some(tls) => {
            let inner = behind(options.bind)?;
            let data = bind_front(options.bind).await?;
            let tasks = bind_front(SocketAddr::new(options.bind.ip(), grpc_port)).await?;
            let (tls_data, tls_tasks) = (tls.clone(), tls.clone());
            tokio::spawn(async move { serve_front(data, inner, tls_data, "executor data").await });
            let inner_tasks = SocketAddr::new(inner.ip(), grpc_port);
            tokio::spawn(async move { serve_front(tasks, inner_tasks, tls_tasks, "executor tasks").await });
            inner
        }
    };
    let defaults = ExecutorProcessConfig::default();
    let mut config = ExecutorProcessConfig {
        bind_host: listen.ip().to_string(),
        port: options.bind.port(),
        grpc_port,
        external_host: Some(options.external_host.clone().unwrap_or_else(|| options.bind.ip().to_string())),
        scheduler_host: scheduler_host.clone(),
        scheduler_port,
        work_dir: Some(jobs.display().to_string()),
        job_data_ttl_seconds: JOB_DATA_TTL.as_secs(),
        job_data_clean_up_interval_seconds: JOB_DATA_CHECK.as_secs(),
        vcores: options.concurrent_tasks.unwrap_or(defaults.vcores).max(1),
        memory_pool_size: options.memory_limit,
        executor_heartbeat_interval_seconds: options.heartbeat.as_secs().max(1),
        print_thread_info: false,
        override_function_registry: Some(Arc::new(executor_registry(&options.functions))),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(match &options.loader {
            Some(loader) => PhysicalCodec::with_loader(loader.clone()),
            None => PhysicalCodec::default(),
        })),
        ..defaults
    };
    if let Some(tls) = &options.tls {
        let endpoint = tls.endpoint_override();
        config.override_create_grpc_client_endpoint = Some(endpoint.clone());
        // Tasks fetch other executors' data with these settings.
        config.override_config_producer = Some(Arc::new(move || {
            SessionConfig::new_with_ballista()
                .with_ballista_use_tls(true)
                .with_ballista_override_create_grpc_client_endpoint(endpoint.clone())
        }));
    }
    start_executor_process(Arc::new(config)).await.map_err(|e| {
        Diagnostic::runtime(format!("the executor stopped: {e}"))
            .hint(format!(
                "is the scheduler running at {scheduler_host}:{scheduler_port}, and are ports {} and {grpc_port} free?",
                options.bind.port()
            ))
            .caused_by(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(host_and_port("127.0.0.1:50050").unwrap(), ("127.0.0.1".to_string(), 50050));
        assert_eq!(host_and_port("scheduler.internal:7").unwrap(), ("scheduler.internal".to_string(), 7));
        assert_eq!(host_and_port("[::1]:50050").unwrap(), ("::1".to_string(), 50050));
        for bad in ["127.0.0.1", ":50050", "host:port", "host:70000", ""] {
            assert!(host_and_port(bad).is_err(), "{bad} accepted");
        }
    }
}
