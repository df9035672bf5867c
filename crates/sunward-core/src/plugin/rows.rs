//! What a source reads, before mapping and typing: raw cells and rows with
//! their place in the file ([`RawCell`], [`RawRow`], [`RowPlace`]), blocks
//! of them ([`RawBatch`]), the reader that yields them ([`RowReader`]), and
//! the limits every reader keeps to.

use crate::diag::Result;
use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::fmt;
use std::path::Path;

/// Where a raw row came from, for error messages and the rejects file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RowPlace {
    /// A physical line of a text file (the header is line 1); for a record
    /// spanning lines, the line where it starts.
    Line(u64),
    /// A row of a workbook sheet, 1-based as a spreadsheet shows it.
    Sheet {
        /// Sheet name.
        sheet: String,
        /// 1-based row number.
        row: u64,
    },
    /// The n-th record (1-based) of a binary file such as Parquet.
    Record(u64),
}

impl fmt::Display for RowPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowPlace::Line(n) => write!(f, "line {n}"),
            RowPlace::Sheet { sheet, row } => write!(f, "sheet {sheet} row {row}"),
            RowPlace::Record(n) => write!(f, "record {n}"),
        }
    }
}

/// A cell as the file holds it, before mapping and typing.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCell {
    /// Absent or empty: null.
    Empty,
    /// Text as written.
    Text(String),
    /// A whole number stored as a number (workbooks, JSON, Parquet).
    Int(i64),
    /// A number stored as a number (an Excel date without date format is one too).
    Float(f64),
    /// A boolean stored as such.
    Bool(bool),
    /// A date stored as such.
    Date(NaiveDate),
    /// A date and time stored as such (Excel dates arrive this way).
    DateTime(NaiveDateTime),
}

impl RawCell {
    /// The cell as text, as a person would read it in the file.
    pub fn original_text(&self) -> String {
        match self {
            RawCell::Empty => String::new(),
            RawCell::Text(s) => s.clone(),
            RawCell::Int(i) => i.to_string(),
            RawCell::Float(x) => x.to_string(),
            RawCell::Bool(b) => b.to_string(),
            RawCell::Date(d) => d.format("%Y-%m-%d").to_string(),
            RawCell::DateTime(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

/// The cell at `row` of an Arrow array, as a typed file (Parquet) holds it:
/// numbers, dates, timestamps (as wall-clock time) and booleans keep their
/// type, text stays text, anything else is shown as Arrow displays it.
pub fn cell_of_array(array: &dyn Array, row: usize) -> RawCell {
    if array.is_null(row) {
        return RawCell::Empty;
    }
    use datafusion::arrow::datatypes::*;
    let as_i64 = |v: i64| RawCell::Int(v);
    match array.data_type() {
        DataType::Utf8 => RawCell::Text(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => RawCell::Text(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => RawCell::Text(array.as_string_view().value(row).to_string()),
        DataType::Int8 => as_i64(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => as_i64(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => as_i64(array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => as_i64(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => as_i64(array.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => as_i64(array.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => as_i64(array.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => {
            let v = array.as_primitive::<UInt64Type>().value(row);
            i64::try_from(v).map(RawCell::Int).unwrap_or_else(|_| RawCell::Text(v.to_string()))
        }
        DataType::Float32 => RawCell::Float(array.as_primitive::<Float32Type>().value(row).into()),
        DataType::Float64 => RawCell::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => RawCell::Bool(array.as_boolean().value(row)),
        DataType::Date32 => {
            array.as_primitive::<Date32Type>().value_as_date(row).map(RawCell::Date).unwrap_or(RawCell::Empty)
        }
        DataType::Date64 => {
            array.as_primitive::<Date64Type>().value_as_date(row).map(RawCell::Date).unwrap_or(RawCell::Empty)
        }
        DataType::Timestamp(unit, tz) => {
            let naive = match unit {
                TimeUnit::Second => timestamp_cell::<TimestampSecondType>(array, row, tz.as_deref()),
                TimeUnit::Millisecond => timestamp_cell::<TimestampMillisecondType>(array, row, tz.as_deref()),
                TimeUnit::Microsecond => timestamp_cell::<TimestampMicrosecondType>(array, row, tz.as_deref()),
                TimeUnit::Nanosecond => timestamp_cell::<TimestampNanosecondType>(array, row, tz.as_deref()),
            };
            naive.map(RawCell::DateTime).unwrap_or_else(|| formatted_cell(array, row))
        }
        _ => formatted_cell(array, row),
    }
}

/// A timestamp as wall-clock time: in its time zone when it has one, else as stored.
fn timestamp_cell<T>(array: &dyn Array, row: usize, tz: Option<&str>) -> Option<chrono::NaiveDateTime>
where
    T: datafusion::arrow::datatypes::ArrowTimestampType,
{
    let values = array.as_primitive::<T>();
    match tz {
        None => values.value_as_datetime(row),
        Some(tz) => {
            let tz: Tz = tz.parse().ok()?;
            values.value_as_datetime_with_tz(row, tz).map(|t| t.naive_local())
        }
    }
}

/// Any other value as arrow displays it.
fn formatted_cell(array: &dyn Array, row: usize) -> RawCell {
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array, &options) {
        Ok(f) => RawCell::Text(f.value(row).to_string()),
        Err(_) => RawCell::Empty,
    }
}

/// One record of an export.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// Where it is in the file.
    pub place: RowPlace,
    /// One cell per header, in header order. A row with fewer or more cells
    /// than headers is a bad row (unless its source sets `short_rows: pad`,
    /// which reads the missing trailing cells as empty).
    pub cells: Vec<RawCell>,
    /// Set when the record itself could not be parsed (a JSON line that is not
    /// an object, say): the row is rejected with this reason, and reading goes
    /// on. Its `cells` then hold the record's original text, for the rejects file.
    pub malformed: Option<String>,
}

/// Where the records of a [`RawBatch`] are, slot by slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Places {
    /// The physical line where each record starts (text files), one per slot.
    Lines(Vec<u64>),
    /// Consecutive records of a binary file, the first numbered `first` (1-based).
    Records {
        /// The record number of slot 0.
        first: u64,
    },
    /// Every slot is a row of `RawBatch::rows`, which carries its own place.
    OfRows,
}

/// A block of records as the file holds them, before mapping and typing.
///
/// Slot `i` is either column values — `columns[c].value(i)` for each file
/// column `c`: text formats give `Utf8` arrays of the fields as written (null
/// for an empty field), typed formats such as Parquet their own arrays — or,
/// when it is listed in `rows`, a [`RawRow`] given cell by cell (a record with
/// the wrong number of fields, a malformed one, or every record of a format
/// read row by row). The columns of a slot listed in `rows` are not looked at.
#[derive(Debug, Clone)]
pub struct RawBatch {
    /// One array of `len` values per header column; empty when every slot is in `rows`.
    pub columns: Vec<ArrayRef>,
    /// The number of slots.
    pub len: usize,
    /// Where each slot is.
    pub places: Places,
    /// Slots given as rows, in ascending slot order.
    pub rows: Vec<(usize, RawRow)>,
}

impl RawBatch {
    /// A batch of rows given cell by cell.
    pub fn of_rows(rows: Vec<RawRow>) -> Self {
        RawBatch {
            columns: Vec::new(),
            len: rows.len(),
            places: Places::OfRows,
            rows: rows.into_iter().enumerate().collect(),
        }
    }

    /// The place of slot `i` when it is not one of `rows`.
    pub fn place(&self, i: usize) -> RowPlace {
        match &self.places {
            Places::Lines(lines) => RowPlace::Line(lines.get(i).copied().unwrap_or(0)),
            Places::Records { first } => RowPlace::Record(first + i as u64),
            Places::OfRows => {
                let found = self.rows.binary_search_by_key(&i, |(slot, _)| *slot).ok();
                found.and_then(|k| self.rows.get(k)).map(|(_, r)| r.place.clone()).unwrap_or(RowPlace::Record(0))
            }
        }
    }
}

/// How many records a [`RawBatch`] holds at most (a reader may return fewer).
pub const RAW_BATCH_ROWS: usize = 8192;

/// The longest record a source reads (8 MiB): a CSV record, a JSON line, a
/// run of worksheet XML between two tags. A field may hold at most 1 MiB
/// (a longer one makes its row a bad row), so a longer record is never a
/// real export: it is a quote left open, a file that is not what its name
/// says, or an attempt to exhaust memory, and stops the run with an error.
pub const MAX_RECORD_BYTES: usize = 8 << 20;

/// The most columns a source's header may have: Excel's own limit (16,384).
pub const MAX_COLUMNS: usize = 16_384;

/// A reader of one export, yielding records lazily so a large file never has
/// to fit in memory.
///
/// A reader implements [`next_row`](RowReader::next_row); a reader that can
/// give whole columns at once (CSV, Parquet) also overrides
/// [`next_batch`](RowReader::next_batch), which the engine calls, so that
/// mapping, typing and the contract's rules run over whole columns.
pub trait RowReader: Send {
    /// The column names as the file writes them (trimmed), in order.
    fn headers(&self) -> &[String];
    /// The next row; `Some(Err(_))` when the file cannot be read further (an
    /// unterminated quote, a broken encoding), `None` at the end.
    fn next_row(&mut self) -> Option<Result<RawRow>>;
    /// The next block of at most [`RAW_BATCH_ROWS`] records, in file order;
    /// `None` at the end. By default, rows from `next_row`.
    fn next_batch(&mut self) -> Option<Result<RawBatch>> {
        let mut rows = Vec::new();
        while rows.len() < RAW_BATCH_ROWS {
            match self.next_row() {
                Some(Ok(row)) => rows.push(row),
                // The file cannot be read further: the run stops here, whatever was read before.
                Some(Err(e)) => return Some(Err(e)),
                None => break,
            }
        }
        (!rows.is_empty()).then(|| Ok(RawBatch::of_rows(rows)))
    }
    /// The file this reader reads and its column names exactly as stored,
    /// when [`next_batch`](RowReader::next_batch) hands out the file's own
    /// columns, unchanged, with every record in file order (a Parquet file).
    /// A table whose every row and value passed the checks as stored can
    /// then be scanned where it lies instead of being copied. Defaults to
    /// `None`.
    fn as_stored(&self) -> Option<(&Path, &[String])> {
        None
    }
}
