//! Sunward's core: the pipeline model, its validation, the data contract,
//! diagnostics, and the plugin traits with their [`Registry`].
//!
//! It reads a pipeline's text and decides whether it is runnable (pure, apart
//! from reading the files a pipeline includes), and defines the interfaces
//! the engine and plugins implement. Two helpers every writer shares also
//! live here because they sit below both: atomic file writing ([`atomic`])
//! and the list of what an interrupted run must remove ([`cleanup`]). Rows
//! are read, SQL is run and outputs are written by the engine and the
//! plugins, never here.

pub mod atomic;
pub mod checks;
pub mod cleanup;
pub mod contract;
pub mod diag;
pub mod model;
pub mod params;
pub mod paths;
pub mod plugin;
pub mod schema;
pub mod sql_functions;
pub mod validate;
pub mod workflow;
pub mod yaml;

pub use diag::{Diagnostic, ErrorKind, Location, Result, excerpt, excerpt_list};
pub use plugin::{
    ConfigIssue, FilePart, MAX_COLUMNS, MAX_RECORD_BYTES, Places, Plugin, PluginInfo, PluginKind, RAW_BATCH_ROWS,
    RawBatch, RawCell, RawRow, Registry, RowPlace, RowReader, RunContext, Sink, Source, StepContext, TableData,
    Transform,
};
pub use validate::{Plan, ValidateOptions, validate_file, validate_text};

/// Re-exports for plugin crates, so they build against the same versions.
pub use async_trait::async_trait;
pub use datafusion;
pub use schemars;
