//! Ingest: from a source's raw rows to a canonical Arrow table and its rejects.
//!
//! (Interface fixed; the implementation is being written.)

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::{HashMap, HashSet};
use sunward_core::model::SourceOptions;
use sunward_core::{Result, RowPlace, RowReader, RunContext};

/// One broken rule of one row, as written to `rejects/<source>.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// Where the row is.
    pub place: RowPlace,
    /// The canonical column (or the file's header when it has no mapping).
    pub column: String,
    /// The rule broken, in words (`not a date`, `duplicate record_id`, …).
    pub rule: String,
    /// The original text of the offending field.
    pub value: String,
}

/// The key values of one loaded source, by column: what other sources' references are checked against.
pub type KeySet = HashMap<String, HashSet<String>>;

/// A loaded source.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The canonical schema.
    pub schema: SchemaRef,
    /// The good rows.
    pub batches: Vec<RecordBatch>,
    /// Rows read from the file (good and bad).
    pub rows_read: u64,
    /// Rows kept.
    pub rows_loaded: u64,
    /// Rows set aside (a row breaking several rules counts once).
    pub rows_rejected: u64,
    /// Every broken rule (a row may break several).
    pub rejects: Vec<Reject>,
    /// Values of this table's single-column unique keys, for other sources' reference checks.
    pub keys: KeySet,
    /// Warnings (extra columns ignored, …).
    pub warnings: Vec<sunward_core::Diagnostic>,
}
