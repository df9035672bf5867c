//! The `csv` source: delimited text as spreadsheets and case systems export it.
//!
//! Reads UTF-8 (with or without a byte-order mark) or GB18030/GBK — what Excel
//! writes in a Chinese locale — streaming, so a large export never has to fit
//! in memory. Quoted fields may hold delimiters, quotes and line breaks; each
//! row carries the physical line where it starts. A quote left open to the end
//! of the file, a workbook saved as `.csv` or text in the wrong encoding is an
//! error that names the file, the line and the likely fix.
//!
//! # Reading in parallel chunks
//!
//! The text (decoded to UTF-8 from GB18030, or a UTF-8 file's bytes as they
//! are) is read a block at a time (8 MiB). One sequential pass, the
//! `Scanner`, follows it with the csv parser's own state machine (csv_core's
//! rules: a quote opens a quoted field only as the first byte of a field;
//! inside one a doubled quote is a quote and a single one closes it; outside
//! quotes `\r` and `\n` end a record and empty lines are skipped), skipping
//! the runs of bytes that change nothing eight at a time. It notes where each
//! record starts and on which physical line (every `\n` counts, inside quotes
//! and on blank lines too — the csv crate's own count drifts after CRLF line
//! ends and blank lines), and where the last *record boundary* is: a point
//! outside quotes just after a line break.
//!
//! Everything before that boundary holds whole records. It is cut at record
//! starts into pieces of at most [`RAW_BATCH_ROWS`] records, which are parsed
//! side by side on rayon's threads, each by its own `csv::Reader` over its
//! bytes (same delimiter and quote, no header, any number of fields), while
//! the next block is read and scanned. Each piece becomes one [`RawBatch`]:
//! fields go straight into one text column per header (null for an empty
//! one); a record with another number of fields than the header is given as
//! a [`RawRow`]; a line holding only white space is skipped when the header
//! has more than one column. Batches wait in a queue in file order. The bytes
//! after the boundary — a record not yet complete — stay for the next block;
//! a record longer than a block makes the block grow until it ends.
//!
//! Errors come in file order, after every record before them: text that is
//! not UTF-8 names its line and column, and when the file ends inside a quoted
//! field (which the csv crate silently accepts) the last record is replaced by
//! an error naming the line where that quote opened. [`RowReader::next_row`]
//! hands out the same batches one row at a time.
//!
//! csv_core drops a UTF-8 byte-order mark at the start of its input; each
//! piece is given a line break first so that it does not, and the one mark it
//! would drop from the whole text is dropped before the scan. The decoder is
//! read through a 64 KiB buffer whatever the block size: asked for fewer than
//! four bytes at a time, GB18030 decoding loses text.
//!
//! # Reading one part of a file
//!
//! [`open_csv_part`] reads the records that start in a byte range of a UTF-8
//! file, for a cluster whose executors read one large file side by side: the
//! range is moved to line starts (never inside the header), each part counts
//! the line breaks before it so its lines are the file's, and the header is
//! read from the file's start. A cut that lands on a line break inside a
//! quoted field leaves the part before it ending inside that field, which is
//! the "never closed" error: the caller then reads the file whole.

use super::{Encoding, NOT_UTF8_HINT, decoded, open_file, sniff, text_reader};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::VecDeque;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sunward_core::{
    Diagnostic, FilePart, MAX_COLUMNS, MAX_RECORD_BYTES, Places, Plugin, PluginInfo, RAW_BATCH_ROWS, RawBatch, RawCell,
    RawRow, Result, RowPlace, RowReader, RunContext, Source,
};

/// Reads a delimited text file.
pub struct CsvSource;

/// Settings of a `csv` source.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// The file; `${param}` is replaced, and a relative path is relative to the pipeline's folder.
    pub path: String,
    /// The field separator, one character (default `,`; `"\t"` for tab-separated files).
    #[serde(default = "comma")]
    pub delimiter: char,
    /// The quote character (default `"`).
    #[serde(default = "double_quote")]
    pub quote: char,
    /// `utf-8` (default), `gb18030` or `gbk` (files saved by Excel in a Chinese locale).
    #[serde(default)]
    pub encoding: Encoding,
}

fn comma() -> char {
    ','
}
fn double_quote() -> char {
    '"'
}

impl Plugin for CsvSource {
    type Config = CsvConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "csv",
        description: "reads a delimited text file (UTF-8 or GB18030/GBK), streaming",
        example: "plugin: csv\npath: exports/服务记录.csv\nencoding: gb18030\ncontract: services\nheaders:\n  记录编号: record_id\n  学校编号: school_id\nvalues:\n  service_type:\n    个案辅导: case_session\n",
    };
    fn check(&self, config: &CsvConfig) -> Vec<sunward_core::ConfigIssue> {
        let mut issues = Vec::new();
        if !config.delimiter.is_ascii() || config.delimiter == '\n' || config.delimiter == '\r' {
            issues.push(sunward_core::ConfigIssue::field(
                "delimiter",
                "the delimiter must be one ASCII character other than a line break",
            ));
        }
        if !config.quote.is_ascii() || config.quote == config.delimiter {
            issues.push(sunward_core::ConfigIssue::field(
                "quote",
                "the quote must be one ASCII character different from the delimiter",
            ));
        }
        issues
    }
}

impl Source for CsvSource {
    fn files(&self, config: &CsvConfig, ctx: &RunContext) -> Result<Vec<PathBuf>> {
        Ok(vec![ctx.input_path(&config.path)?])
    }

    fn open(&self, config: &CsvConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>> {
        let path = ctx.input_path(&config.path)?;
        open_csv(&path, config)
    }

    fn open_part(&self, config: &CsvConfig, ctx: &RunContext, part: &FilePart) -> Result<Option<Box<dyn RowReader>>> {
        let path = ctx.input_path(&config.path)?;
        open_csv_part(&path, config, part, BLOCK_BYTES)
    }
}

/// How many bytes of text are read at a time; a longer record makes the block grow.
const BLOCK_BYTES: usize = 8 << 20;

/// How many bytes of text are decoded at a time, whatever the block size.
const DECODE_BYTES: usize = 64 << 10;

/// A UTF-8 byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where the scan is, as csv_core's parser would be after the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between records: line breaks here are skipped.
    RecordStart,
    /// At the first byte of a field (after a delimiter, or a record's first byte).
    FieldStart,
    /// Inside a field that did not open with a quote.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Inside a quoted field, just after a quote: it closes the field, or is the first of a doubled pair.
    QuoteInQuoted,
}

/// A record's first byte, as an offset into the bytes it is read from, and its physical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Start {
    offset: usize,
    line: u64,
}

/// One sequential pass over the text, tracking what the csv crate does not
/// report: the physical line where each record starts, where records may be
/// cut apart, and whether the file ends inside a quoted field.
///
/// [`Scanner::step`] mirrors csv_core's transitions byte by byte (default
/// dialect, no escape or comment byte, `\r`, `\n` or `\r\n` as a terminator),
/// testing in the same order. [`Scanner::scan`] calls it on the bytes that can
/// change something and skips the runs in between: inside quotes, everything
/// but a quote or `\n`; outside, everything but a quote or a line break (a
/// delimiter there only decides whether a following quote opens a field,
/// which the byte before that quote tells).
#[derive(Debug)]
struct Scanner {
    quote: u8,
    delimiter: u8,
    /// The quote, the delimiter and the line breaks are four different bytes,
    /// so runs can be skipped (else every byte is stepped through).
    skips: bool,
    state: State,
    /// The physical line of the next byte (1-based).
    line: u64,
    /// The line where the last quoted field opened.
    quote_line: u64,
}

impl Scanner {
    fn new(quote: u8, delimiter: u8) -> Self {
        let breaks = [b'\n', b'\r'];
        let skips = quote != delimiter && !breaks.contains(&quote) && !breaks.contains(&delimiter);
        Scanner { quote, delimiter, skips, state: State::RecordStart, line: 1, quote_line: 1 }
    }

    /// Follow `bytes`, which come right after every byte scanned before and
    /// sit at offset `base` of their buffer: push each record start onto
    /// `starts`, and return the offset just after the last record boundary
    /// among them, if any.
    fn scan(&mut self, bytes: &[u8], base: usize, starts: &mut Vec<Start>) -> Option<usize> {
        let (quote, delimiter) = (self.quote, self.delimiter);
        let mut boundary = None;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if self.skips {
                let rest = bytes.get(i..).unwrap_or_default();
                let skipped = match self.state {
                    State::Quoted => find(rest, [quote, b'\n']),
                    State::FieldStart | State::Unquoted => {
                        let k = find(rest, [quote, b'\n', b'\r']);
                        // Only delimiters and field text were skipped: the last of them says where we are.
                        if let Some(&last) = k.checked_sub(1).and_then(|last| rest.get(last)) {
                            self.state = if last == delimiter { State::FieldStart } else { State::Unquoted };
                        }
                        k
                    }
                    _ => 0,
                };
                if skipped > 0 {
                    i += skipped;
                    continue;
                }
            }
            if self.step(b, base + i, starts) {
                boundary = Some(base + i + 1);
            }
            i += 1;
        }
        boundary
    }

    /// Follow one byte at `offset`; true when a record boundary follows it.
    fn step(&mut self, b: u8, offset: usize, starts: &mut Vec<Start>) -> bool {
        let is_break = b == b'\n' || b == b'\r';
        if self.state == State::RecordStart && !is_break {
            starts.push(Start { offset, line: self.line });
            self.state = State::FieldStart;
        }
        self.state = match self.state {
            // An empty line, or the `\n` of a `\r\n`: skipped.
            State::RecordStart => State::RecordStart,
            State::FieldStart => {
                if b == self.quote {
                    self.quote_line = self.line;
                    State::Quoted
                } else {
                    self.outside_quotes(b, is_break)
                }
            }
            State::Unquoted => self.outside_quotes(b, is_break),
            State::Quoted if b == self.quote => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            // A doubled quote is a quote; a single one closed the field and `b` follows it.
            State::QuoteInQuoted if b == self.quote => State::Quoted,
            State::QuoteInQuoted => self.outside_quotes(b, is_break),
        };
        if b == b'\n' {
            self.line += 1;
        }
        is_break && self.state == State::RecordStart
    }

    /// The state after `b` in a field, outside quotes.
    fn outside_quotes(&self, b: u8, is_break: bool) -> State {
        if b == self.delimiter {
            State::FieldStart
        } else if is_break {
            State::RecordStart
        } else {
            State::Unquoted
        }
    }

    /// The text so far ends inside a quoted field.
    fn in_open_quote(&self) -> bool {
        self.state == State::Quoted
    }
}

/// How many bytes at the start of `bytes` are none of `targets` (all of
/// them if none is). Eight bytes are tested at a time: in a word where each
/// byte equal to a target is zero, the lowest byte whose top bit survives
/// `(w - 0x01…) & !w & 0x80…` is the first zero byte.
fn find<const N: usize>(bytes: &[u8], targets: [u8; N]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut skipped = 0;
    for word in &mut words {
        let Ok(word) = <[u8; 8]>::try_from(word) else { break };
        let word = u64::from_le_bytes(word);
        let hits = targets.iter().fold(0, |hits, &t| {
            let zeroed = word ^ (ONES * u64::from(t));
            hits | (zeroed.wrapping_sub(ONES) & !zeroed & TOPS)
        });
        if hits != 0 {
            return skipped + (hits.trailing_zeros() / 8) as usize;
        }
        skipped += 8;
    }
    let tail = bytes.get(skipped..).unwrap_or_default();
    skipped + tail.iter().position(|b| targets.contains(b)).unwrap_or(tail.len())
}

/// Bytes holding whole records, taken from the front of the text.
struct Ready {
    bytes: Vec<u8>,
    /// Where each record in `bytes` starts, in order.
    starts: Vec<Start>,
    /// The error that follows these records: the file ends inside a quoted
    /// field, or could not be read further.
    then: Option<Diagnostic>,
}

/// The text, read a block at a time and scanned as it arrives.
struct Blocks {
    file: String,
    text: Box<dyn Read + Send>,
    block_bytes: usize,
    scanner: Scanner,
    /// Text read but not yet taken; it begins at a record boundary.
    pending: Vec<u8>,
    /// The records starting in `pending`.
    starts: Vec<Start>,
    /// The offset in `pending` just after its last record boundary (0: none).
    complete: usize,
    /// The text has been read to its end.
    eof: bool,
    /// Reading failed; the error comes after the records before it.
    failed: Option<Diagnostic>,
    /// Everything has been taken.
    exhausted: bool,
}

impl Blocks {
    fn new(file: String, text: Box<dyn Read + Send>, block_bytes: usize, quote: u8, delimiter: u8) -> Self {
        Blocks {
            file,
            text,
            block_bytes: block_bytes.max(1),
            scanner: Scanner::new(quote, delimiter),
            pending: Vec::new(),
            starts: Vec::new(),
            complete: 0,
            eof: false,
            failed: None,
            exhausted: false,
        }
    }

    /// Read up to `want` more bytes onto `pending` (unscanned); returns
    /// where they start.
    fn fill(&mut self, want: usize) -> usize {
        let before = self.pending.len();
        if self.eof || self.failed.is_some() {
            return before;
        }
        self.pending.reserve(want);
        match Read::by_ref(&mut self.text).take(want as u64).read_to_end(&mut self.pending) {
            // Fewer bytes than asked for: the text ended.
            Ok(got) => self.eof = got < want,
            // The bytes read before the error are in `pending` too.
            Err(e) => {
                self.failed = Some(
                    Diagnostic::runtime(format!("cannot read {} at line {}: {e}", self.file, self.scanner.line))
                        .hint("check that the file is readable")
                        .caused_by(e),
                )
            }
        }
        before
    }

    /// Scan `pending` from `from` on.
    fn scan_from(&mut self, from: usize) {
        let new = self.pending.get(from..).unwrap_or_default();
        if let Some(boundary) = self.scanner.scan(new, from, &mut self.starts) {
            self.complete = boundary;
        }
    }

    /// Drop a UTF-8 byte-order mark at the very start of the text, as the
    /// csv parser does: one more after the one `text_reader` removes, or a
    /// U+FEFF that GB18030 text starts with. Called once, first.
    fn skip_bom(&mut self) {
        self.fill(UTF8_BOM.len());
        if self.pending.starts_with(UTF8_BOM) {
            self.pending.drain(..UTF8_BOM.len());
        }
        self.scan_from(0);
    }

    /// Read up to one more block onto `pending` and scan it.
    fn read_block(&mut self) {
        let before = self.fill(self.block_bytes);
        self.scan_from(before);
        // A record still open after MAX_RECORD_BYTES stops the reading
        // (the records before it are kept): it is never a real export.
        if self.pending.len() - self.complete > MAX_RECORD_BYTES && self.failed.is_none() && !self.eof {
            let line = self.starts.iter().find(|s| s.offset >= self.complete).map_or(self.scanner.line, |s| s.line);
            let what = if self.scanner.in_open_quote() {
                format!("the quoted field starting on line {} is still open", self.scanner.quote_line)
            } else {
                format!("the record starting on line {line} has not ended")
            };
            self.failed = Some(
                Diagnostic::runtime(format!(
                    "{}: {what} after {} MiB: expected records of at most {} MiB",
                    self.file,
                    MAX_RECORD_BYTES >> 20,
                    MAX_RECORD_BYTES >> 20
                ))
                .hint("check the quotes and line breaks near that line; a quote inside a quoted field is written twice (\"\"), and a file that is not CSV is read with its own plugin"),
            );
        }
    }

    /// Take `pending[..cut]`, a record boundary, with the records starting in it.
    fn take(&mut self, cut: usize) -> Ready {
        let cut = cut.min(self.pending.len());
        let rest = self.pending.split_off(cut);
        let bytes = std::mem::replace(&mut self.pending, rest);
        let taken = self.starts.partition_point(|s| s.offset < cut);
        let starts: Vec<Start> = self.starts.drain(..taken).collect();
        for start in &mut self.starts {
            start.offset = start.offset.saturating_sub(cut);
        }
        self.complete = self.complete.saturating_sub(cut);
        Ready { bytes, starts, then: None }
    }

    /// Take what is left once the text can be read no further, with the
    /// error that ends it: a quoted field never closed replaces the last
    /// record; a failed read comes after the whole records.
    fn take_rest(&mut self) -> Ready {
        self.exhausted = true;
        if let Some(failed) = self.failed.take() {
            let mut ready = self.take(self.complete);
            ready.then = Some(failed);
            return ready;
        }
        let mut ready = self.take(self.pending.len());
        if self.scanner.in_open_quote() {
            if let Some(last) = ready.starts.pop() {
                ready.bytes.truncate(last.offset);
            }
            ready.then = Some(
                Diagnostic::runtime(format!(
                    "{}: the quoted field starting on line {} is never closed: expected a closing quote before the end of the file",
                    self.file, self.scanner.quote_line
                ))
                .hint("close the quote; a quote inside a quoted field is written twice (\"\")"),
            );
        }
        ready
    }

    /// The whole records read so far (reading blocks until there are some),
    /// or the rest at the end; `None` once everything was taken.
    fn next_ready(&mut self) -> Option<Ready> {
        loop {
            if self.exhausted {
                return None;
            }
            if self.complete > 0 {
                let cut = self.complete;
                return Some(self.take(cut));
            }
            if self.eof || self.failed.is_some() {
                return Some(self.take_rest());
            }
            self.read_block();
        }
    }

    /// The first record alone (reading blocks until it is whole), or the rest
    /// when the text ends first; `None` once everything was taken.
    fn first_record(&mut self) -> Option<Ready> {
        loop {
            if self.exhausted {
                return None;
            }
            if let Some(first) = self.starts.first()
                && self.complete > first.offset
            {
                // It ends where the second starts, or at the last boundary when that comes first.
                let cut = self.starts.get(1).map_or(self.complete, |second| second.offset.min(self.complete));
                return Some(self.take(cut));
            }
            if self.eof || self.failed.is_some() {
                return Some(self.take_rest());
            }
            self.read_block();
        }
    }
}

/// What parsing needs: the file's name, its header and its dialect.
struct Layout {
    file: String,
    /// Empty while the header itself is read.
    headers: Vec<String>,
    delimiter: u8,
    quote: u8,
}

impl Layout {
    /// Parse `bytes`, whole records starting at `starts`, calling `each` with
    /// every record and its line, in order, until one is not UTF-8.
    fn records(&self, bytes: &[u8], starts: &[Start], mut each: impl FnMut(u64, &csv::StringRecord)) -> Result<()> {
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
    fn parse(&self, ready: Ready, piece_bytes: usize) -> Vec<Result<RawBatch>> {
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

struct CsvRows {
    layout: Layout,
    blocks: Blocks,
    /// Batches parsed ahead, in file order; an error is last.
    queue: VecDeque<Result<RawBatch>>,
    /// A batch being handed out row by row (`next_row`), and its next slot.
    current: Option<(RawBatch, usize)>,
}

fn open_csv(path: &Path, config: &CsvConfig) -> Result<Box<dyn RowReader>> {
    open_csv_with_block_size(path, config, BLOCK_BYTES)
}

/// [`CsvSource`]'s reader with blocks of `block_bytes` (at least one) instead
/// of 8 MiB: for tests that cut records at every possible place.
#[doc(hidden)]
pub fn open_csv_with_block_size(path: &Path, config: &CsvConfig, block_bytes: usize) -> Result<Box<dyn RowReader>> {
    let file = path.display().to_string();
    if let Some(magic) = sniff(path)? {
        return Err(magic.refuse(path, "CSV"));
    }
    let text = Box::new(BufReader::with_capacity(DECODE_BYTES, text_reader(path, config.encoding)?));
    let mut blocks = Blocks::new(file.clone(), text, block_bytes, config.quote as u8, config.delimiter as u8);
    let layout = read_header(&mut blocks, config)?;
    Ok(Box::new(CsvRows { layout, blocks, queue: VecDeque::new(), current: None }))
}

/// Read the header, the text's first record, off the front of `blocks`.
fn read_header(blocks: &mut Blocks, config: &CsvConfig) -> Result<Layout> {
    let file = blocks.file.clone();
    blocks.skip_bom();
    let mut layout = Layout {
        file: file.clone(),
        headers: Vec::new(),
        delimiter: config.delimiter as u8,
        quote: config.quote as u8,
    };
    let mut headers: Option<Vec<String>> = None;
    if let Some(ready) = blocks.first_record() {
        layout.records(&ready.bytes, &ready.starts, |_, record| {
            headers.get_or_insert_with(|| {
                record
                    .iter()
                    .map(|f| f.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').to_string())
                    .collect()
            });
        })?;
        if let Some(e) = ready.then {
            return Err(e);
        }
    }
    let headers = headers.unwrap_or_default();
    if headers.len() > MAX_COLUMNS {
        return Err(Diagnostic::runtime(format!(
            "the header of {file} has {} columns: expected at most {MAX_COLUMNS} (as many as Excel allows)",
            headers.len()
        ))
        .hint("check the delimiter (`delimiter:`) and that the file is the export you meant"));
    }
    if headers.iter().all(String::is_empty) {
        return Err(Diagnostic::runtime(format!("the file {file} is empty: expected a header line"))
            .hint("export the table with its header row on line 1"));
    }
    layout.headers = headers;
    Ok(layout)
}

/// How many bytes are read at a time while a part's place in the file is found.
const PROBE_BYTES: usize = 64 << 10;

/// The records of a UTF-8 file that start in `part`'s byte range, read as
/// [`open_csv`] reads the whole file and numbered by the same physical
/// lines. The range is moved to line starts: a part begins at the file's
/// start or just after a line break (never inside the header) and ends where
/// the next part begins. A line break inside a quoted field is taken for a
/// record boundary here; the part before it then ends inside that quoted
/// field, which is an error ("never closed"), so a wrong cut never passes
/// unnoticed: the caller reads the file whole instead. `None` for text in
/// another encoding (a GB18030 byte sequence cannot be told apart from a
/// delimiter by its bytes alone) or with a UTF-16 byte-order mark.
#[doc(hidden)]
pub fn open_csv_part(
    path: &Path,
    config: &CsvConfig,
    part: &FilePart,
    block_bytes: usize,
) -> Result<Option<Box<dyn RowReader>>> {
    if config.encoding != Encoding::Utf8 {
        return Ok(None);
    }
    if let Some(magic) = sniff(path)? {
        return Err(magic.refuse(path, "CSV"));
    }
    let label = path.display().to_string();
    let unreadable = |e: std::io::Error| {
        Diagnostic::runtime(format!("cannot read {label}: {e}")).hint("check that the file is readable").caused_by(e)
    };
    let mut raw = open_file(path)?;
    let len = raw.metadata().map_err(unreadable)?.len();
    let mut head = [0u8; 2];
    let got = raw.read(&mut head).map_err(unreadable)?;
    if got == 2 && (head == [0xFF, 0xFE] || head == [0xFE, 0xFF]) {
        return Ok(None);
    }
    let (quote, delimiter) = (config.quote as u8, config.delimiter as u8);
    let data = data_start(&mut raw, quote, delimiter).map_err(unreadable)?;
    let start = if part.index == 0 { 0 } else { line_start(&mut raw, part.start, data, len).map_err(unreadable)? };
    let end = if part.end >= len { len } else { line_start(&mut raw, part.end, data, len).map_err(unreadable)? };
    let end = end.max(start);
    if part.index == 0 {
        raw.seek(SeekFrom::Start(0)).map_err(unreadable)?;
        let text = Box::new(BufReader::with_capacity(DECODE_BYTES, decoded(raw.take(end), Encoding::Utf8)));
        let mut blocks = Blocks::new(label, text, block_bytes, quote, delimiter);
        let layout = read_header(&mut blocks, config)?;
        return Ok(Some(Box::new(CsvRows { layout, blocks, queue: VecDeque::new(), current: None })));
    }
    let text = Box::new(BufReader::with_capacity(DECODE_BYTES, text_reader(path, Encoding::Utf8)?));
    let layout = read_header(&mut Blocks::new(label.clone(), text, PROBE_BYTES, quote, delimiter), config)?;
    let lines_before = newlines_before(&mut raw, start).map_err(unreadable)?;
    raw.seek(SeekFrom::Start(start)).map_err(unreadable)?;
    let text = Box::new(BufReader::with_capacity(DECODE_BYTES, raw.take(end - start)));
    let mut blocks = Blocks::new(label, text, block_bytes, quote, delimiter);
    blocks.scanner.line = lines_before + 1;
    Ok(Some(Box::new(CsvRows { layout, blocks, queue: VecDeque::new(), current: None })))
}

/// The offset where the records after the header begin: the second record's
/// start, or the end of the file. Byte-order marks are skipped as the reader
/// skips them (the decoder drops one, the scan another).
fn data_start(raw: &mut std::fs::File, quote: u8, delimiter: u8) -> std::io::Result<u64> {
    raw.seek(SeekFrom::Start(0))?;
    let mut text = Vec::new();
    let mut scanner = Scanner::new(quote, delimiter);
    let mut starts = Vec::new();
    let mut skipped = 0;
    let mut scanned = 0;
    loop {
        let got = Read::by_ref(raw).take(PROBE_BYTES as u64).read_to_end(&mut text)?;
        while skipped < 2 * UTF8_BOM.len() && text.get(skipped..).is_some_and(|t| t.starts_with(UTF8_BOM)) {
            skipped += UTF8_BOM.len();
        }
        let from = scanned.max(skipped);
        scanner.scan(text.get(from..).unwrap_or_default(), from, &mut starts);
        scanned = text.len();
        if let Some(second) = starts.get(1) {
            return Ok(second.offset as u64);
        }
        if got == 0 || text.len() > MAX_RECORD_BYTES {
            return Ok(text.len() as u64);
        }
    }
}

/// The first line start at or after `at`: `at` itself when a line break is
/// just before it, else just after the next line break; at least `data`,
/// at most `len`.
fn line_start(raw: &mut std::fs::File, at: u64, data: u64, len: u64) -> std::io::Result<u64> {
    if at <= data {
        return Ok(data.min(len));
    }
    let mut from = at - 1;
    raw.seek(SeekFrom::Start(from))?;
    let mut buffer = vec![0u8; PROBE_BYTES];
    loop {
        let got = raw.read(&mut buffer)?;
        if got == 0 {
            return Ok(len);
        }
        if let Some(i) = memchr::memchr(b'\n', buffer.get(..got).unwrap_or_default()) {
            return Ok((from + i as u64 + 1).min(len));
        }
        from += got as u64;
    }
}

/// How many line breaks (`\n`) the file holds before `offset`.
fn newlines_before(raw: &mut std::fs::File, offset: u64) -> std::io::Result<u64> {
    raw.seek(SeekFrom::Start(0))?;
    let mut counted = 0;
    let mut buffer = vec![0u8; 1 << 20];
    let mut left = offset;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buffer.len());
        let got = raw.read(buffer.get_mut(..want).unwrap_or_default())?;
        if got == 0 {
            break;
        }
        counted += memchr::memchr_iter(b'\n', buffer.get(..got).unwrap_or_default()).count() as u64;
        left -= got as u64;
    }
    Ok(counted)
}

impl CsvRows {
    /// Parse the next whole records into the queue, reading the block after
    /// them meanwhile; leaves the queue empty only at the end.
    fn refill(&mut self) {
        // Enough pieces per block to keep every thread busy.
        let piece_bytes = (self.blocks.block_bytes / (2 * rayon::current_num_threads().max(1))).max(1);
        while self.queue.is_empty() {
            let Some(ready) = self.blocks.next_ready() else { return };
            let (layout, blocks) = (&self.layout, &mut self.blocks);
            let (parsed, ()) = rayon::join(|| layout.parse(ready, piece_bytes), || blocks.read_block());
            if parsed.iter().any(Result::is_err) {
                // Nothing is read after an error.
                self.blocks.exhausted = true;
            }
            self.queue.extend(parsed);
        }
    }

    /// The next batch from the queue, refilling it when empty.
    fn next_parsed(&mut self) -> Option<Result<RawBatch>> {
        if self.queue.is_empty() {
            self.refill();
        }
        self.queue.pop_front()
    }
}

/// Slot `i` of a batch as a row.
fn slot_row(batch: &RawBatch, i: usize) -> RawRow {
    if let Ok(k) = batch.rows.binary_search_by_key(&i, |(slot, _)| *slot)
        && let Some((_, row)) = batch.rows.get(k)
    {
        return row.clone();
    }
    let cells = batch
        .columns
        .iter()
        .map(|column| match column.as_string_opt::<i32>() {
            Some(text) if text.is_valid(i) => RawCell::Text(text.value(i).to_string()),
            _ => RawCell::Empty,
        })
        .collect();
    RawRow { place: batch.place(i), cells, malformed: None }
}

/// The slots of a batch from `from` on, as a batch.
fn rest_of(batch: RawBatch, from: usize) -> RawBatch {
    if from == 0 {
        return batch;
    }
    let len = batch.len.saturating_sub(from);
    let places = match batch.places {
        Places::Lines(lines) => Places::Lines(lines.get(from..).unwrap_or_default().to_vec()),
        other => other,
    };
    RawBatch {
        columns: batch.columns.iter().map(|c| c.slice(from, len)).collect(),
        len,
        places,
        rows: batch.rows.into_iter().filter(|(slot, _)| *slot >= from).map(|(slot, row)| (slot - from, row)).collect(),
    }
}

impl RowReader for CsvRows {
    fn headers(&self) -> &[String] {
        &self.layout.headers
    }

    fn next_row(&mut self) -> Option<Result<RawRow>> {
        loop {
            if let Some((batch, next)) = &mut self.current {
                if *next < batch.len {
                    let row = slot_row(batch, *next);
                    *next += 1;
                    return Some(Ok(row));
                }
                self.current = None;
            }
            match self.next_parsed()? {
                Ok(batch) => self.current = Some((batch, 0)),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Fields go straight into one text column per header, with no string
    /// per cell; a record with another number of fields than the header is
    /// given as a row, for the engine to judge.
    fn next_batch(&mut self) -> Option<Result<RawBatch>> {
        if let Some((batch, next)) = self.current.take()
            && next < batch.len
        {
            return Some(Ok(rest_of(batch, next)));
        }
        self.next_parsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Scan `bytes` cut at `cuts`: the starts, the boundary each call
    /// returned, and where the scan ends.
    fn scan_in_parts(bytes: &[u8], cuts: &[usize], scanner: &mut Scanner) -> (Vec<Start>, Vec<Option<usize>>) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let (mut starts, mut boundaries, mut from) = (Vec::new(), Vec::new(), 0);
        for to in cuts {
            boundaries.push(scanner.scan(&bytes[from..to], from, &mut starts));
            from = to;
        }
        (starts, boundaries)
    }

    proptest! {
        /// Skipping runs gives what stepping through every byte gives.
        #[test]
        fn skipping_runs_changes_nothing(
            bytes in proptest::collection::vec(proptest::sample::select(b"ab,;\"'\r\n \xE5".to_vec()), 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            (quote, delimiter) in proptest::sample::select(vec![(b'"', b','), (b'\'', b';'), (b'"', b'a')]),
        ) {
            let mut skipping = Scanner::new(quote, delimiter);
            let mut stepping = Scanner::new(quote, delimiter);
            stepping.skips = false;
            prop_assert!(skipping.skips);
            let skipped = scan_in_parts(&bytes, &cuts, &mut skipping);
            let stepped = scan_in_parts(&bytes, &cuts, &mut stepping);
            prop_assert_eq!(skipped, stepped);
            prop_assert_eq!(
                (skipping.state, skipping.line, skipping.quote_line),
                (stepping.state, stepping.line, stepping.quote_line)
            );
        }
    }

    #[test]
    fn find_gives_the_first_target() {
        let bytes = b"0123456789abcdefghij\"klmnopqrstuvwxyz\n";
        for from in 0..bytes.len() {
            let rest = &bytes[from..];
            let expected = rest.iter().position(|&b| b == b'"' || b == b'\n').unwrap_or(rest.len());
            assert_eq!(find(rest, [b'"', b'\n']), expected, "from {from}");
        }
        assert_eq!(find(b"", [b'"']), 0);
        assert_eq!(find(&[0xFF; 17], [b'"', 0xFE]), 17);
        assert_eq!(find(b"\x00\x01\x80\xFF\x7F\x22", [b'"']), 5);
    }

    #[test]
    fn odd_dialects_step_through_every_byte() {
        assert!(!Scanner::new(b'\n', b',').skips);
        assert!(!Scanner::new(b'"', b'"').skips);
        assert!(!Scanner::new(b'"', b'\r').skips);
        // A quote that is a line break: csv_core skips it between records and opens a field with it after a delimiter.
        let mut scanner = Scanner::new(b'\n', b',');
        let mut starts = Vec::new();
        scanner.scan(b"\na,\nb\n\nc", 0, &mut starts);
        assert_eq!(starts, [Start { offset: 1, line: 2 }]);
        // The break after `,` opens a quoted field; the two after `b` are a doubled quote: still open.
        assert_eq!((scanner.state, scanner.line, scanner.quote_line), (State::Quoted, 5, 2));
    }
}
