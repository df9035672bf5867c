//! Whole records parsed into batches ([`Layout`]): cut into pieces at
//! record starts, each piece parsed by its own `csv::Reader` on rayon's
//! threads, fields going straight into one text column per header; a record
//! with another number of fields is kept as a row, and text that is not
//! UTF-8 is an error naming its line and column.

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use rayon::prelude::*;
use std::io::Read;
use std::ops::Range;
use std::sync::Arc;
use sunward_core::{Diagnostic, Places, RAW_BATCH_ROWS, RawBatch, RawCell, RawRow, Result, RowPlace};

use super::blocks::Ready;
use super::scan::Start;
use crate::sources::NOT_UTF8_HINT;

/// What parsing needs: the file's name, its header and its dialect.
pub(super) struct Layout {
    /// The file, for messages.
    pub(super) file: String,
    /// Empty while the header itself is read.
    pub(super) headers: Vec<String>,
    /// The field separator.
    pub(super) delimiter: u8,
    /// The quote.
    pub(super) quote: u8,
}

impl Layout {
    /// Parse `bytes`, whole records starting at `starts`, calling `each` with
    /// every record and its line, in order, until one is not UTF-8.
    pub(super) fn records(
        &self,
        bytes: &[u8],
        starts: &[Start],
        mut each: impl FnMut(u64, &csv::StringRecord),
    ) -> Result<()> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote)
            .has_headers(false)
            .flexible(true)
            // csv_core drops a byte-order mark at the start of its input: the
            // text's own went in `Blocks::skip_bom`, and a record that starts
            // with one keeps it. The line break before is skipped as empty.
            .from_reader(Read::chain(&b"\n"[..], bytes));
        let mut record = csv::ByteRecord::new();
        let mut starts = starts.iter();
        let mut line = 0;
        loop {
            let more = reader.read_byte_record(&mut record).map_err(|e| {
                Diagnostic::runtime(format!("cannot read {} at line {line}: {e}", self.file)).caused_by(e)
            })?;
            if !more {
                return Ok(());
            }
            // The scan finds exactly the records csv does; should it not, the last line known stands.
            line = starts.next().map_or(line, |s| s.line);
            // One check of the whole record; its fields are then text with no second look.
            match csv::StringRecord::from_byte_record(std::mem::take(&mut record)) {
                Ok(text) => {
                    each(line, &text);
                    record = text.into_byte_record();
                }
                Err(e) => return Err(self.not_utf8(line, &e.into_byte_record())),
            }
        }
    }

    /// The error for the record starting on `line` that is not UTF-8: it
    /// names the line and column of the first bad byte.
    fn not_utf8(&self, line: u64, record: &csv::ByteRecord) -> Diagnostic {
        let mut line_of_field = line;
        let mut column = String::new();
        for (index, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(_) => line_of_field += memchr_count(field, b'\n'),
                Err(e) => {
                    let before = field.get(..e.valid_up_to()).unwrap_or_default();
                    line_of_field += memchr_count(before, b'\n');
                    column = match self.headers.get(index) {
                        Some(name) => format!(", column \"{name}\""),
                        None => format!(", column {}", index + 1),
                    };
                    break;
                }
            }
        }
        Diagnostic::runtime(format!(
            "{} is not valid UTF-8 at line {line_of_field}{column}: expected UTF-8 text",
            self.file
        ))
        .hint(NOT_UTF8_HINT)
    }

    /// A record that is a line of white space only, which is not a record
    /// unless the header has a single column.
    fn is_blank(&self, record: &csv::StringRecord) -> bool {
        record.len() == 1 && self.headers.len() > 1 && record.iter().all(|f| f.trim().is_empty())
    }

    /// One piece of whole records as a batch (`None` if it holds none), and
    /// the error that stopped it after the records before it, if any.
    fn piece(&self, bytes: &[u8], starts: &[Start]) -> (Option<RawBatch>, Option<Diagnostic>) {
        let width = self.headers.len();
        let mut columns: Vec<StringBuilder> =
            (0..width).map(|_| StringBuilder::with_capacity(starts.len(), bytes.len() / width.max(1))).collect();
        let mut lines = Vec::with_capacity(starts.len());
        let mut rows = Vec::new();
        let stopped = self.records(bytes, starts, |line, record| {
            if self.is_blank(record) {
                return;
            }
            if record.len() == width {
                for (builder, field) in columns.iter_mut().zip(record) {
                    if field.is_empty() { builder.append_null() } else { builder.append_value(field) }
                }
            } else {
                rows.push((lines.len(), raw_row(line, record)));
                columns.iter_mut().for_each(|b| b.append_null());
            }
            lines.push(line);
        });
        let batch = (!lines.is_empty()).then(|| {
            let columns: Vec<ArrayRef> = columns.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
            RawBatch { columns, len: lines.len(), places: Places::Lines(lines), rows }
        });
        (batch, stopped.err())
    }

    /// Parse whole records in pieces of about `piece_bytes` (and at most
    /// [`RAW_BATCH_ROWS`] records) side by side: their batches in file
    /// order, ending at the first error.
    pub(super) fn parse(&self, ready: Ready, piece_bytes: usize) -> Vec<Result<RawBatch>> {
        let pieces = cut_pieces(&ready.starts, ready.bytes.len(), piece_bytes);
        let parsed: Vec<(Option<RawBatch>, Option<Diagnostic>)> = pieces
            .into_par_iter()
            .map(|(bytes, starts)| {
                self.piece(ready.bytes.get(bytes).unwrap_or_default(), ready.starts.get(starts).unwrap_or_default())
            })
            .collect();
        let mut out = Vec::with_capacity(parsed.len() + 1);
        for (batch, stopped) in parsed {
            out.extend(batch.map(Ok));
            if let Some(e) = stopped {
                out.push(Err(e));
                return out;
            }
        }
        out.extend(ready.then.map(Err));
        out
    }
}

/// Cut records (starting at `starts`, in `len` bytes) into pieces: each
/// from a record's start to the next piece's (or to `len`), holding at most
/// [`RAW_BATCH_ROWS`] records and about `piece_bytes` bytes. Returns each
/// piece's byte range and range of `starts`.
fn cut_pieces(starts: &[Start], len: usize, piece_bytes: usize) -> Vec<(Range<usize>, Range<usize>)> {
    let mut pieces = Vec::new();
    let mut first = 0;
    while let Some(from) = starts.get(first) {
        let mut end = first + 1;
        while let Some(next) = starts.get(end) {
            if end - first >= RAW_BATCH_ROWS || next.offset - from.offset >= piece_bytes {
                break;
            }
            end += 1;
        }
        let to = starts.get(end).map_or(len, |s| s.offset);
        pieces.push((from.offset..to, first..end));
        first = end;
    }
    pieces
}

/// A record as a row of cells.
fn raw_row(line: u64, record: &csv::StringRecord) -> RawRow {
    let cells =
        record.iter().map(|f| if f.is_empty() { RawCell::Empty } else { RawCell::Text(f.to_string()) }).collect();
    RawRow { place: RowPlace::Line(line), cells, malformed: None }
}

/// How many times `byte` occurs in `bytes`.
fn memchr_count(bytes: &[u8], byte: u8) -> u64 {
    bytes.iter().filter(|&&b| b == byte).count() as u64
}
