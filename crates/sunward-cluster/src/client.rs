//! The client side: a run whose SQL steps execute on a Ballista cluster.
//!
//! [`ClusterEngine::connect`] checks, before any source is read, that the
//! scheduler answers a request within a few seconds (a stopped scheduler
//! still accepts connections) and that an executor runs a test query (a
//! cluster without executors would leave every job queued for ever), so a
//! wrong address, a frozen scheduler or an empty cluster fails at once with
//! a message saying which. [`ClusterEngine`]'s sessions plan each query
//! here, as the local engine would, and hand it to the scheduler to run; the
//! jobs are kept ([`Engine::watch`]) and cancelled if the run is stopped
//! (Ctrl-C, SIGTERM, `--timeout`), so an abandoned query does not keep the
//! cluster's cores busy. With a cluster credential ([`crate::tls`]) every
//! connection — to the scheduler, and to the executors for the results — is
//! made over TLS with the member's certificate.

use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::extension::{BallistaConfigGrpcEndpoint, SessionConfigExt, SessionStateExt};
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{CancelJobParams, GetJobStatusParams};
use datafusion::execution::SessionStateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_proto::protobuf::LogicalPlanNode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sunward_core::{Diagnostic, Result};
use sunward_engine::session::{Engine, SessionOptions, session_parts};
use tonic::transport::{Channel, Endpoint};

use crate::loading::{LogicalCodec, duplicates_on_cluster, load_on_cluster};
use crate::tls::ClusterTls;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use sunward_engine::remote::{Duplicate, RemoteLoading, SourceTask, TaskResult};

/// How long the scheduler has to answer before the run gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the cluster has to run a test query before the run gives up
/// (an executor asks for work every few hundred milliseconds).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// Ballista settings every cluster session carries (the scheduler reads them from the job).
///
/// The adaptive planner of Ballista 55 is off: with it, a stage of the
/// metrics pipeline (`service_reach`) never finished — its tasks reported
/// different numbers of operators, the scheduler refused their status
/// ("task metrics array size 12 does not equal … 11") and the job waited for
/// ever. The static planner runs every step, with the local run's figures.
///
/// The client asks for its job's status (pull) instead of waiting for the
/// scheduler to push it: the job's id is then known as soon as the job is
/// accepted, so a stopped run can cancel it (pushed, the id comes with the
/// first status change, which a long stage may not make for minutes).
const SETTINGS: &[(&str, &str)] = &[("ballista.planner.adaptive.enabled", "false"), ("ballista.client.pull", "true")];

/// A Ballista cluster, reached through its scheduler.
#[derive(Debug, Clone)]
pub struct ClusterEngine {
    /// `HOST:PORT` of the scheduler.
    address: String,
    /// The cluster credential, when the cluster uses TLS.
    tls: Option<ClusterTls>,
    /// Whether the executors load the sources (the default) or this process does.
    load_sources: bool,
    /// How many bytes of a source file one load task reads (`None`: files whole).
    part_bytes: Option<u64>,
}

/// An error and every error under it, as one line (tonic's own says only "transport error").
fn whole(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// What a TLS failure means for the person running the command, before the library's words.
fn explain(why: &str, tls: bool) -> String {
    let lower = why.to_lowercase();
    // The other side hung up during or just after the handshake.
    let closed = ["connection closed", "broken pipe", "reset by peer", "handshake eof", "unexpected eof"]
        .iter()
        .any(|w| lower.contains(w));
    let refused = closed || why.contains("h2 protocol error") || why.contains("frame with invalid size");
    let meaning = if !tls && refused {
        "it does not speak plain gRPC to this run: a cluster started with --tls admits its members only, over TLS"
    } else if why.contains("invalid peer certificate: Expired") {
        "the scheduler's certificate has expired"
    } else if why.contains("invalid peer certificate") {
        "the scheduler's certificate is not one this credential trusts (another cluster's, or made by another `sunward cluster cert`)"
    } else if why.contains("CertificateExpired") {
        "the scheduler refused this member's certificate: it has expired"
    } else if why.contains("alert")
        && (why.contains("DecryptError") || why.contains("BadCertificate") || why.contains("UnknownCA"))
    {
        "the scheduler refused this member's certificate (not signed by the cluster's authority)"
    } else if closed {
        // TLS 1.3: the server checks the client's certificate after the client's
        // side of the handshake is done, and closes without a word the client sees.
        "it closed the connection: either it does not accept this member's certificate (expired, or not signed by the cluster's authority: the scheduler's log says which), or it stopped"
    } else {
        return why.to_string();
    };
    format!("{meaning} ({why})")
}

impl ClusterEngine {
    /// The cluster at `url` (`ballista://HOST:PORT`), once its scheduler has
    /// answered and an executor has run a test query; with `tls`, every
    /// connection is made over TLS with that member's certificate.
    pub async fn connect(url: &str, tls: Option<ClusterTls>) -> Result<Self> {
        let address = parse_url(url)?;
        let engine = ClusterEngine { address, tls, load_sources: true, part_bytes: None };
        let address = &engine.address;
        let unreachable = |why: String| {
            let hint = match &engine.tls {
                None => "start it with `sunward cluster scheduler`, check the address, or run with --engine local; a cluster started with --tls admits only its members: give its member folder with --cluster-tls".to_string(),
                Some(tls) => format!(
                    "start it with `sunward cluster scheduler --tls …`, check the address, and check that {} holds this cluster's credential (made by the same `sunward cluster cert`, not expired)",
                    tls.dir().display()
                ),
            };
            Diagnostic::runtime(format!(
                "cannot reach the cluster's scheduler at {address}: {}",
                explain(&why, engine.tls.is_some())
            ))
            .hint(hint)
        };
        let mut client = match tokio::time::timeout(CONNECT_TIMEOUT, engine.scheduler()).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(unreachable(e)),
            Err(_) => return Err(unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
        };
        // The kernel accepts connections for a stopped process: ask for the
        // status of a job that does not exist, which a live scheduler answers at once.
        let asked = client.get_job_status(GetJobStatusParams { job_id: "sunward-is-anyone-there".into() });
        match tokio::time::timeout(CONNECT_TIMEOUT, asked).await {
            Err(_) => {
                return Err(unreachable(format!(
                    "it accepted the connection but answered nothing within {} s (stopped, or overloaded)",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
            // Not an answer of the scheduler but a failed connection: a TLS front
            // refusing this client, or a plain scheduler asked over TLS.
            Ok(Err(status)) if std::error::Error::source(&status).is_some() => {
                return Err(unreachable(whole(&status)));
            }
            Ok(_) => {}
        }
        engine.probe().await?;
        Ok(engine)
    }

    /// This engine with the sources read, typed and checked in this process
    /// instead of on the executors (the SQL steps still run on the cluster).
    pub fn loading_here(self) -> Self {
        ClusterEngine { load_sources: false, ..self }
    }

    /// This engine with each source file larger than `bytes` read by the
    /// executors in parts of about that size (`0`: every file whole).
    pub fn in_parts_of(self, bytes: u64) -> Self {
        ClusterEngine { part_bytes: (bytes > 0).then_some(bytes), ..self }
    }

    /// A client of the scheduler (over TLS when the cluster uses it), or why not.
    async fn scheduler(&self) -> std::result::Result<SchedulerGrpcClient<Channel>, String> {
        let endpoint = match &self.tls {
            Some(tls) => tls.endpoint(&self.address).map_err(|d| d.message)?,
            None => Endpoint::from_shared(format!("http://{}", self.address)).map_err(|e| whole(&e))?,
        };
        let channel = endpoint.connect_timeout(CONNECT_TIMEOUT).connect().await.map_err(|e| whole(&e))?;
        Ok(SchedulerGrpcClient::new(channel))
    }

    /// Run a test query on the cluster: an error when no executor runs it in time.
    async fn probe(&self) -> Result<()> {
        let ctx = self.session(&SessionOptions::default())?;
        let plan = async {
            let df = ctx.sql("SELECT 1 AS one").await?;
            let task = Arc::new(df.task_ctx());
            let plan = df.create_physical_plan().await?;
            self.watch(&plan);
            datafusion::physical_plan::collect(plan, task).await
        };
        match tokio::time::timeout(PROBE_TIMEOUT, plan).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                Err(Diagnostic::runtime(format!("the cluster at {} cannot run a query: {}", self.address, e.message()))
                    .hint("see the scheduler's and executors' logs; or run with --engine local")
                    .caused_by(e))
            }
            Err(_) => {
                cancel_watched().await;
                Err(Diagnostic::runtime(format!(
                    "no executor of the cluster at {} ran a test query within {} s: the cluster has no executor, or none that works",
                    self.address,
                    PROBE_TIMEOUT.as_secs()
                ))
                .hint(format!(
                    "start one with `sunward cluster executor --scheduler {}`, or run with --engine local",
                    self.address
                )))
            }
        }
    }
}

/// The cluster jobs of this process: the cluster and each plan that
/// submitted one (its job id is known once the scheduler accepts it).
type Watched = Vec<(ClusterEngine, Arc<dyn ExecutionPlan>)>;
static WATCHED: Mutex<Watched> = Mutex::new(Vec::new());

/// The job a plan submitted, if it did.
fn job_of(plan: &Arc<dyn ExecutionPlan>) -> Option<String> {
    if let Some(distributed) = plan.downcast_ref::<DistributedQueryExec<LogicalPlanNode>>() {
        return distributed.job_id().map(|id| id.to_string());
    }
    plan.children().into_iter().find_map(job_of)
}

/// Cancel every watched job (best effort, a few seconds at most) and forget them.
async fn cancel_watched() {
    let watched: Watched = WATCHED.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default();
    for (engine, plan) in watched {
        let Some(job_id) = job_of(&plan) else { continue };
        let cancel = async {
            let mut client = engine.scheduler().await.ok()?;
            client.cancel_job(CancelJobParams { job_id }).await.ok()
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), cancel).await;
    }
}

/// Cancel the watched jobs from a thread outside any async runtime (the
/// process is being stopped).
fn cancel_watched_now() {
    if WATCHED.lock().map(|w| w.is_empty()).unwrap_or(true) {
        return;
    }
    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
        runtime.block_on(cancel_watched());
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
        // Sunward's own plan nodes (the sources' load tasks) travel with Ballista's.
        let config = config.with_ballista_logical_extension_codec(Arc::new(LogicalCodec::default()));
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(config)
            .with_runtime_env(runtime)
            .build()
            .upgrade_for_ballista(format!("{}://{}", if self.tls.is_some() { "https" } else { "http" }, self.address))
            .map_err(|e| Diagnostic::runtime("cannot set up the cluster session").caused_by(e))?;
        let mut state = state;
        let tls_settings: &[(&str, &str)] =
            if self.tls.is_some() { &[("ballista.client.use_tls", "true")] } else { &[] };
        if let Some(tls) = &self.tls {
            state.config_mut().set_extension(Arc::new(BallistaConfigGrpcEndpoint::new(tls.endpoint_override())));
        }
        for (key, value) in SETTINGS.iter().chain(tls_settings) {
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

    fn loading(&self) -> Option<&dyn RemoteLoading> {
        self.load_sources.then_some(self as &dyn RemoteLoading)
    }

    fn watch(&self, plan: &Arc<dyn ExecutionPlan>) {
        static STOP_ACTION: std::sync::Once = std::sync::Once::new();
        STOP_ACTION.call_once(|| sunward_core::cleanup::on_stop(cancel_watched_now));
        if let Ok(mut watched) = WATCHED.lock() {
            watched.push((self.clone(), plan.clone()));
        }
    }
}

impl RemoteLoading for ClusterEngine {
    fn load<'a>(
        &'a self,
        tasks: Vec<SourceTask>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<TaskResult>>> + Send + 'a>> {
        Box::pin(async move {
            let ctx = self.session(&SessionOptions::default())?;
            load_on_cluster(&ctx, tasks, |plan| self.watch(plan)).await
        })
    }

    fn part_bytes(&self) -> Option<u64> {
        self.part_bytes
    }

    fn duplicates<'a>(
        &'a self,
        claims: Vec<PathBuf>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Duplicate>>> + Send + 'a>> {
        Box::pin(async move {
            let ctx = self.session(&SessionOptions::default())?;
            duplicates_on_cluster(&ctx, &claims, |plan| self.watch(plan)).await
        })
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
        let err = ClusterEngine::connect(&format!("ballista://127.0.0.1:{port}"), None).await.unwrap_err();
        assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_secs(1));
        assert!(
            err.message.contains(&format!("cannot reach the cluster's scheduler at 127.0.0.1:{port}")),
            "{}",
            err.message
        );
        assert!(err.hint.as_deref().unwrap_or("").contains("sunward cluster scheduler"));
    }
}
