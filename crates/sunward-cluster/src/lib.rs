//! Sunward on an Apache Ballista cluster: one binary is the scheduler, an
//! executor, or a client whose SQL steps run on the cluster.
//!
//! Ballista is DataFusion's own distributed engine: a client plans a query
//! as DataFusion does, sends the logical plan to the scheduler, which splits
//! it into stages at every repartition and hands the stages' tasks to the
//! executors; the executors exchange the intermediate data and the client
//! fetches the result. Plans travel as DataFusion's protobuf, which names
//! functions without their code, so every process registers the same
//! functions: [`functions`] is that one list, used by the [`scheduler`], the
//! [`executor`] and the [`client`].
//!
//! Tables travel as paths: the executors read a step's input tables from the
//! Parquet files of the run's staging folder, which therefore has to be a
//! folder every machine of the cluster sees at the same path (see
//! `docs/DISTRIBUTED.md`). The sources are read, typed and checked there
//! too, each by an executor task ([`loading`]); the client plans, gathers
//! the rejects and results, and writes the outputs and reports.

pub mod client;
pub mod executor;
pub mod functions;
pub mod loading;
pub mod scheduler;
pub mod tls;

pub use client::ClusterEngine;
pub use executor::{ExecutorOptions, serve_executor};
pub use scheduler::{SchedulerOptions, serve_scheduler};

/// Print the cluster's log (Ballista's own messages) to standard error: warnings
/// and errors by default, everything at `info` with `verbose`, or as
/// `RUST_LOG` says.
pub fn init_logging(verbose: bool) {
    // Ballista logs a failure to attach metrics to a plan's display as an
    // error; it does not affect results, so it is left out.
    let default = if verbose { "info,ballista_scheduler::display=off" } else { "warn,ballista_scheduler::display=off" };
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .format_timestamp_secs()
        .try_init();
}
