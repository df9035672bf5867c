//! Ingest: from a source's raw rows to a canonical Arrow table and its rejects.
//!
//! Every source, whatever its format, goes through here: header mapping,
//! value mapping, typing (dates in the forms Chinese exports use, Excel serial
//! numbers, `44.0` as an integer), and every rule of the data contract that
//! makes a row bad. A bad row is left out of the table and recorded as a
//! [`Reject`] with its place, column, rule and original text — never dropped
//! silently. Records stream through in blocks, typed and checked column by
//! column on several threads (module `columns`) and then swept in file order
//! (module `sweep`) for unique keys (module `keys`, in bounded memory) and the
//! exact account of each bad row, so only a few blocks and the key check's
//! bounded state are held in memory besides the table itself.
//!
//! The parts: `layout` works out a source's columns from its contract and
//! header; `parse` and `values` read and type one cell; `rows` holds the
//! rules of a row and judges one cell by cell; `key_hash` hashes unique keys;
//! `load` drives a whole load; `outcome` is what a load gives back.

mod columns;
mod key_hash;
mod keys;
mod layout;
mod load;
mod outcome;
mod parse;
mod rows;
mod sweep;
mod values;

pub use keys::KeyMemory;
pub use layout::{declared_schema, schema_without_file};
pub use load::{SourceToLoad, ingest, ingest_into};
pub use outcome::{BATCH_ROWS, Ingested, KeyClaim, KeyClaims, KeySet, Reject, write_rejects};
pub use parse::{excel_serial_date, parse_date_text, parse_time_text};
pub use rows::{MAX_FIELD_BYTES, duplicate_reject};
