//! Sunward's engine: runs a validated [`Plan`](sunward_core::Plan) on Apache DataFusion.
//!
//! [`ingest`] turns a source's raw rows into a canonical Arrow table and its
//! rejects; [`check`] is the validation that needs the files (inputs exist,
//! SQL plans against the real schemas); [`run`] loads sources in parallel,
//! runs steps in order, writes outputs atomically and the run manifest;
//! [`provenance`] refuses a table from an earlier run made from other inputs
//! or parameters.

pub mod budget;
pub mod cache;
pub mod check;
pub mod checks;
pub mod exact_sums;
pub mod generation;
pub mod given;
pub mod ingest;
pub mod manifest;
pub mod preview;
pub mod provenance;
pub mod remote;
pub mod run;
pub mod session;
mod source;
pub mod stage;
pub mod watchdog;

pub use check::check;
pub use run::{
    OutputReport, Progress, RunOptions, RunReport, Silent, SourceReport, TableReport, TablesRun, run, run_tables,
};
