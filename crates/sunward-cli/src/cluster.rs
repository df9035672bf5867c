//! `sunward cluster scheduler` and `sunward cluster executor`: the two
//! long-running processes of a Ballista cluster, from the same binary as the
//! client, so that every process knows the same SQL functions.
//!
//! Both listen on 127.0.0.1 unless told otherwise: the tables they read are
//! children's records. Off this machine they need the cluster's credential
//! (`--tls DIR`, made by `sunward cluster cert`): TLS on every connection,
//! and only members admitted. Listening on a network address without it is
//! refused unless `--insecure` says so on purpose (see docs/DISTRIBUTED.md).

use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use sunward_cluster::tls::{ClusterTls, make_certificates};
use sunward_cluster::{ExecutorOptions, SchedulerOptions, serve_executor, serve_scheduler};
use sunward_core::{Diagnostic, Registry};
use sunward_engine::remote::PipelineLoader;

/// `sunward cluster …`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Run the scheduler: clients send it their queries, executors take tasks from it.
    Scheduler(SchedulerArgs),
    /// Run an executor: it registers with the scheduler and runs the tasks it is given.
    Executor(ExecutorArgs),
    /// Make the cluster's credential: a private certificate authority and a member's folder
    /// (ca.pem, member.pem, member.key) to give every process with --tls.
    Cert(CertArgs),
}

/// Arguments of `sunward cluster cert`.
#[derive(Debug, Args)]
pub struct CertArgs {
    /// Where to write: OUT/ca.key (the authority's key: keep it off the cluster) and
    /// OUT/member/ (the folder every scheduler, executor and client is given).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// A host name or address the cluster's processes are reached at (repeat for each machine).
    #[arg(long = "host", value_name = "HOST", required = true)]
    hosts: Vec<String>,
    /// Days the certificates are valid.
    #[arg(long, value_name = "N", default_value_t = 365)]
    days: u32,
    /// Replace an existing credential (every member then needs the new folder).
    #[arg(long)]
    force: bool,
}

/// What every cluster process accepts about its connections.
#[derive(Debug, Args)]
pub struct Security {
    /// The cluster's credential, a folder made by `sunward cluster cert` (its `member/`):
    /// TLS on every connection, and only processes holding it admitted.
    #[arg(long, value_name = "DIR", env = "SUNWARD_CLUSTER_TLS")]
    tls: Option<PathBuf>,
    /// Listen on (or reach) a network address without TLS: anyone who reaches the port can
    /// read the children's records passing through. For a private network you control only.
    #[arg(long)]
    insecure: bool,
}

impl Security {
    /// The credential, or an error when a network address would be used without it.
    fn check(&self, addresses: &[(&str, std::net::IpAddr)]) -> Result<Option<ClusterTls>, Diagnostic> {
        if let Some(dir) = &self.tls {
            return ClusterTls::load(dir).map(Some);
        }
        if let Some((what, ip)) = addresses.iter().find(|(_, ip)| !ip.is_loopback()).filter(|_| !self.insecure) {
            return Err(Diagnostic::invalid(format!(
                "{what} {ip} is a network address, and this process has no cluster credential"
            ))
            .hint("make one with `sunward cluster cert --out certs --host HOST…` and give --tls certs/member to every process (and --cluster-tls to `sunward run`); or pass --insecure for a private network you control"));
        }
        Ok(None)
    }
}

/// Arguments of `sunward cluster scheduler`.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// The address to listen on; 0.0.0.0:50050 listens on every network of the machine.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    bind: SocketAddr,
    /// The name executors and clients reach it by, when not the bind address.
    #[arg(long, value_name = "HOST")]
    external_host: Option<String>,
    /// Seconds without a heartbeat after which an executor is taken as lost and its tasks run elsewhere.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    executor_timeout: u64,
    /// A folder the cluster's queries may read files in: the shared folder runs stage their
    /// tables in (their --stage is inside it). Repeat for several. A query reading any other
    /// file is refused. Without it, queries may read any file the executors can.
    #[arg(long = "data-root", value_name = "DIR")]
    data_roots: Vec<PathBuf>,
    /// Print Ballista's log at `info` (default: warnings and errors; RUST_LOG overrides).
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    security: Security,
}

/// Arguments of `sunward cluster executor`.
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler to register with.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    scheduler: String,
    /// The address of its data service (clients and other executors fetch results there);
    /// the task service listens on the next port unless --grpc-port says otherwise.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
    bind: SocketAddr,
    /// The port of its task service.
    #[arg(long, value_name = "PORT")]
    grpc_port: Option<u16>,
    /// The name the scheduler and clients reach it by, when not the bind address.
    #[arg(long, value_name = "HOST")]
    external_host: Option<String>,
    /// Where data passed between stages is kept (default: a temporary folder).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Tasks run at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    concurrent_tasks: Option<usize>,
    /// Memory its tasks may use together before spilling, e.g. 4G (default: a share of the machine's memory).
    #[arg(long, value_name = "SIZE", value_parser = crate::parse::parse_memory)]
    memory_limit: Option<usize>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    heartbeat: u64,
    /// Print Ballista's log at `info` (default: warnings and errors; RUST_LOG overrides).
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    security: Security,
}

/// Run a cluster process until it is stopped; the exit code.
/// Runs a cluster process with the SQL functions of `registry` (the statistics
/// functions and those of any plugin built into this binary).
pub fn run(command: &ClusterCommand, registry: &Registry) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Planning recurses over the plan tree; Ballista's own binaries use large stacks too.
        .thread_stack_size(32 * 1024 * 1024)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            errln!("{}", Diagnostic::runtime("cannot start the async runtime").caused_by(e).render(None));
            return 1;
        }
    };
    let result = match command {
        ClusterCommand::Cert(args) => certificates(args),
        ClusterCommand::Scheduler(args) => {
            scheduler_options(args, registry).and_then(|o| runtime.block_on(serve_scheduler(&o)))
        }
        ClusterCommand::Executor(args) => {
            executor_options(args, registry).and_then(|o| runtime.block_on(serve_executor(&o)))
        }
    };
    match result {
        Ok(()) => 0,
        Err(diagnostic) => fail(&diagnostic),
    }
}

/// `sunward cluster cert`: make the cluster's certificates and say where each goes.
fn certificates(args: &CertArgs) -> Result<(), Diagnostic> {
    let files = make_certificates(&args.out, &args.hosts, args.days, args.force)?;
    for file in &files {
        errln!("wrote {}", file.display());
    }
    errln!(
        "give {} to every scheduler, executor (--tls) and run (--cluster-tls); keep {} off the cluster",
        args.out.join("member").display(),
        files[0].display()
    );
    Ok(())
}

/// The scheduler's settings, once its security is checked, and what it
/// tells executors and runs to connect with.
fn scheduler_options(args: &SchedulerArgs, registry: &Registry) -> Result<SchedulerOptions, Diagnostic> {
    let tls = args.security.check(&[("--bind", args.bind.ip())])?;
    sunward_cluster::init_logging(args.verbose);
    errln!("sunward scheduler listening on {}{}", args.bind, exposure(&args.bind, tls.is_some()));
    errln!("  executors: sunward cluster executor --scheduler {}", reach(&args.bind, &args.external_host));
    errln!(
        "  runs:      sunward run PIPELINE --engine ballista://{} --stage SHARED_DIR",
        reach(&args.bind, &args.external_host)
    );
    Ok(SchedulerOptions {
        bind: args.bind,
        external_host: args.external_host.clone(),
        executor_timeout: Duration::from_secs(args.executor_timeout),
        functions: registry.functions().clone(),
        tls,
        data_roots: args.data_roots.clone(),
    })
}

/// An executor's settings, once its security is checked (its own address
/// and the scheduler's).
fn executor_options(args: &ExecutorArgs, registry: &Registry) -> Result<ExecutorOptions, Diagnostic> {
    let scheduler_ip = sunward_cluster::executor::host_and_port(&args.scheduler)
        .ok()
        .and_then(|(host, _)| {
            if host == "localhost" {
                Some(std::net::IpAddr::from([127, 0, 0, 1]))
            } else {
                host.parse::<std::net::IpAddr>().ok()
            }
        })
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let tls = args.security.check(&[("--bind", args.bind.ip()), ("--scheduler", scheduler_ip)])?;
    sunward_cluster::init_logging(args.verbose);
    let grpc = args.grpc_port.unwrap_or(args.bind.port().wrapping_add(1));
    errln!(
        "sunward executor: data on {}, tasks on port {grpc}{}; scheduler {}",
        args.bind,
        exposure(&args.bind, tls.is_some()),
        args.scheduler
    );
    Ok(ExecutorOptions {
        scheduler: args.scheduler.clone(),
        bind: args.bind,
        grpc_port: args.grpc_port,
        external_host: args.external_host.clone(),
        work_dir: args.work_dir.clone(),
        concurrent_tasks: args.concurrent_tasks,
        memory_limit: args.memory_limit.map(|m| m as u64),
        heartbeat: Duration::from_secs(args.heartbeat),
        functions: registry.functions().clone(),
        tls,
        loader: Some(Arc::new(PipelineLoader::new(Arc::new(registry.clone())))),
    })
}

fn fail(diagnostic: &Diagnostic) -> i32 {
    errln!("{}", diagnostic.render(None));
    diagnostic.kind.exit_code()
}

/// Who can reach an address, said beside it.
fn exposure(bind: &SocketAddr, tls: bool) -> &'static str {
    match (bind.ip().is_loopback(), tls) {
        (true, false) => " (this machine only)",
        (_, true) => " over TLS, members of the cluster only",
        (false, false) => {
            " WITHOUT TLS (--insecure): anyone who reaches this port can read the children's records passing through"
        }
    }
}

/// The address others use to reach a process bound to `bind`.
fn reach(bind: &SocketAddr, external: &Option<String>) -> String {
    match external {
        Some(host) => format!("{host}:{}", bind.port()),
        None if bind.ip().is_unspecified() => format!("THIS_HOST:{}", bind.port()),
        None => bind.to_string(),
    }
}
