//! What loading a source gives back: the good rows and their schema, every
//! broken rule as a [`Reject`], the key values other sources' references are
//! checked against, and the unique-key claims of a part loaded beside other
//! parts; and the rejects file written from the rejects.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use sunward_core::{Diagnostic, Result, RowPlace};

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
    /// The good rows (from [`ingest`](super::ingest); [`ingest_into`](super::ingest_into) hands them out instead and leaves this empty).
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
    pub warnings: Vec<Diagnostic>,
    /// When every row and value passed as the file stores them (a Parquet
    /// file, loaded by [`ingest_into`](super::ingest_into) with [`SourceToLoad::reopen`](super::SourceToLoad::reopen)): the
    /// file, which is then the table itself, to be scanned where it lies;
    /// no batch was handed out.
    pub in_place: Option<PathBuf>,
    /// The unique-key claims of the good rows, when the check was left to
    /// the caller ([`SourceToLoad::defer_keys`](super::SourceToLoad::defer_keys)).
    pub claims: Option<KeyClaims>,
    /// The rows left out ([`SourceToLoad::skip`](super::SourceToLoad::skip)): each one's place number and key as written.
    pub skipped: Vec<(u64, String)>,
}

/// The unique-key claims of a part of a table loaded beside other parts:
/// every good row's key, to be checked across all the parts together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyClaims {
    /// The key's columns joined by `+`, as a duplicate's reject names them.
    pub names: String,
    /// The place of the first claim (its kind: line, record or sheet row), for a duplicate's text.
    pub like: Option<RowPlace>,
    /// Each good row's claim, in file order.
    pub claims: Vec<KeyClaim>,
}

/// One good row's claim on its table's unique key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyClaim {
    /// The 128-bit hash of the key's values.
    pub hash: u128,
    /// The row's place number (line, record or sheet row).
    pub place: u64,
}

/// Rows per Arrow batch.
pub const BATCH_ROWS: usize = 8192;

impl Reject {
    /// Its place, column, rule and value as a rejects file writes them: a
    /// NUL character as `\0`, since many tools stop reading a text at one.
    pub fn fields(&self) -> [String; 4] {
        let shown = |text: &str| if text.contains('\0') { text.replace('\0', "\\0") } else { text.to_string() };
        [self.place.to_string(), shown(&self.column), shown(&self.rule), shown(&self.value)]
    }
}

/// Write rejects as CSV (`file,place,column,rule,value`), atomically: the file
/// appears whole or not at all.
pub fn write_rejects(path: &Path, file: &str, rejects: &[Reject]) -> Result<()> {
    let failed = |e: csv::Error| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e);
    sunward_core::atomic::write_atomic(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["file", "place", "column", "rule", "value"]).map_err(failed)?;
        for r in rejects {
            let [place, column, rule, value] = r.fields();
            out.write_record([file, &place, &column, &rule, &value]).map_err(failed)?;
        }
        out.flush().map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
        Ok(())
    })?;
    Ok(())
}
