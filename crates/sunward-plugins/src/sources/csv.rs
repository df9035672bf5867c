//! The `csv` source: delimited text as spreadsheets and case systems export it.
//!
//! Reads UTF-8 (with or without a byte-order mark) or GB18030/GBK — what Excel
//! writes in a Chinese locale — streaming, so a large export never has to fit
//! in memory. Quoted fields may hold delimiters, quotes and line breaks; each
//! row carries the physical line where it starts. A quote left open to the end
//! of the file, a workbook saved as `.csv` or text in the wrong encoding is an
//! error that names the file, the line and the likely fix.

use super::{Encoding, NOT_UTF8_HINT, sniff, text_reader};
use datafusion::arrow::array::{ArrayRef, StringBuilder};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use sunward_core::{
    Diagnostic, Places, Plugin, PluginInfo, RAW_BATCH_ROWS, RawBatch, RawCell, RawRow, Result, RowPlace, RowReader,
    RunContext, Source,
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
}

/// Follows the bytes on their way to the csv parser, tracking what the csv
/// crate does not report: the physical line where each record starts (its own
/// count drifts after CRLF line ends and blank lines) and whether the file ends
/// inside a quoted field (which it silently accepts).
///
/// It mirrors csv_core's rules: a quote opens a quoted field only as the first
/// byte of a field; inside one, a doubled quote is a quote and a single one
/// closes it; outside quotes, `\r` and `\n` end a record and blank lines are
/// skipped.
struct Watched<R> {
    inner: R,
    quote: u8,
    delimiter: u8,
    /// The physical line of the next byte (1-based).
    line: u64,
    in_quote: bool,
    /// Inside quotes, the previous byte was a quote: closing, or the first of a doubled pair.
    pending_quote: bool,
    at_field_start: bool,
    at_record_start: bool,
    /// The line where the last quoted field opened.
    quote_line: u64,
    /// Starting lines of records read ahead of the parser, oldest first.
    starts: VecDeque<u64>,
    eof: bool,
}

impl<R> Watched<R> {
    fn new(inner: R, quote: u8, delimiter: u8) -> Self {
        Watched {
            inner,
            quote,
            delimiter,
            line: 1,
            in_quote: false,
            pending_quote: false,
            at_field_start: true,
            at_record_start: true,
            quote_line: 1,
            starts: VecDeque::new(),
            eof: false,
        }
    }

    fn observe(&mut self, b: u8) {
        let is_break = b == b'\n' || b == b'\r';
        if self.in_quote {
            if self.pending_quote {
                self.pending_quote = false;
                if b != self.quote {
                    self.in_quote = false; // the quote closed the field; `b` is read as outside quotes
                }
            } else if b == self.quote {
                self.pending_quote = true;
            }
        }
        if !self.in_quote {
            if self.at_record_start && !is_break {
                self.starts.push_back(self.line);
                self.at_record_start = false;
            }
            if b == self.quote && self.at_field_start {
                self.in_quote = true;
                self.quote_line = self.line;
                self.at_field_start = false;
            } else if is_break {
                self.at_field_start = true;
                self.at_record_start = true;
            } else {
                self.at_field_start = b == self.delimiter;
            }
        }
        if b == b'\n' {
            self.line += 1;
        }
    }

    /// The file ended inside a quoted field.
    fn open_quote_at_end(&self) -> bool {
        self.eof && self.in_quote && !self.pending_quote
    }
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        for &b in buf.get(..n).unwrap_or_default() {
            self.observe(b);
        }
        Ok(n)
    }
}

struct CsvRows {
    file: String,
    headers: Vec<String>,
    reader: csv::Reader<Watched<Box<dyn Read + Send>>>,
    record: csv::ByteRecord,
    done: bool,
}

fn open_csv(path: &std::path::Path, config: &CsvConfig) -> Result<Box<dyn RowReader>> {
    let file_label = path.display().to_string();
    if let Some(magic) = sniff(path)? {
        return Err(magic.refuse(path, "CSV"));
    }
    let watched = Watched::new(text_reader(path, config.encoding)?, config.quote as u8, config.delimiter as u8);
    let reader = csv::ReaderBuilder::new()
        .delimiter(config.delimiter as u8)
        .quote(config.quote as u8)
        .has_headers(false)
        .flexible(true)
        .from_reader(watched);
    let mut rows =
        CsvRows { file: file_label.clone(), headers: Vec::new(), reader, record: csv::ByteRecord::new(), done: false };
    let headers: Vec<String> = match rows.read_record()? {
        None => Vec::new(),
        Some((_, fields)) => fields
            .into_iter()
            .map(|f| f.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').to_string())
            .collect(),
    };
    if headers.iter().all(String::is_empty) {
        return Err(Diagnostic::runtime(format!("the file {file_label} is empty: expected a header line"))
            .hint("export the table with its header row on line 1"));
    }
    rows.headers = headers;
    Ok(Box::new(rows))
}

impl CsvRows {
    /// Read the next record into `self.record`, checking that every field is
    /// UTF-8; returns the physical line where it starts.
    fn read_raw(&mut self) -> Result<Option<u64>> {
        let more = self.reader.read_byte_record(&mut self.record).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Diagnostic::runtime(format!("cannot read {} at line {line}: {e}", self.file)).caused_by(e)
        })?;
        if !more {
            return Ok(None);
        }
        let watched = self.reader.get_mut();
        let line = watched.starts.pop_front().or_else(|| self.record.position().map(|p| p.line())).unwrap_or(0);
        if watched.open_quote_at_end() {
            return Err(Diagnostic::runtime(format!(
                "{}: the quoted field starting on line {} is never closed: expected a closing quote before the end of the file",
                self.file, watched.quote_line
            ))
            .hint("close the quote; a quote inside a quoted field is written twice (\"\")"));
        }
        let mut line_of_field = line;
        for (index, field) in self.record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(_) => line_of_field += memchr_count(field, b'\n'),
                Err(e) => {
                    let before = field.get(..e.valid_up_to()).unwrap_or_default();
                    let bad_line = line_of_field + memchr_count(before, b'\n');
                    let column = match self.headers.get(index) {
                        Some(name) => format!("column \"{name}\""),
                        None => format!("column {}", index + 1),
                    };
                    return Err(Diagnostic::runtime(format!(
                        "{} is not valid UTF-8 at line {bad_line}, {column}: expected UTF-8 text",
                        self.file
                    ))
                    .hint(NOT_UTF8_HINT));
                }
            }
        }
        Ok(Some(line))
    }

    /// The fields of the record just read (checked UTF-8 by `read_raw`).
    fn fields(&self) -> impl Iterator<Item = &str> {
        self.record.iter().map(|f| std::str::from_utf8(f).unwrap_or_default())
    }

    /// The next record as strings with its starting line.
    fn read_record(&mut self) -> Result<Option<(u64, Vec<String>)>> {
        Ok(self.read_raw()?.map(|line| (line, self.fields().map(str::to_string).collect())))
    }

    /// The next record that is not a blank line, with its starting line.
    fn read_non_blank(&mut self) -> Result<Option<u64>> {
        loop {
            match self.read_raw()? {
                // a line holding only white space is not a record
                Some(_)
                    if self.record.len() == 1
                        && self.headers.len() > 1
                        && self.fields().all(|f| f.trim().is_empty()) => {}
                other => return Ok(other),
            }
        }
    }

    /// The record just read as a row of cells.
    fn raw_row(&self, line: u64) -> RawRow {
        let cells =
            self.fields().map(|f| if f.is_empty() { RawCell::Empty } else { RawCell::Text(f.to_string()) }).collect();
        RawRow { place: RowPlace::Line(line), cells, malformed: None }
    }
}

/// How many times `byte` occurs in `bytes`.
fn memchr_count(bytes: &[u8], byte: u8) -> u64 {
    bytes.iter().filter(|&&b| b == byte).count() as u64
}

impl RowReader for CsvRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Option<Result<RawRow>> {
        if self.done {
            return None;
        }
        match self.read_non_blank() {
            Ok(None) => {
                self.done = true;
                None
            }
            Ok(Some(line)) => Some(Ok(self.raw_row(line))),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// Fields go straight into one text column per header, with no string
    /// per cell; a record with another number of fields than the header is
    /// given as a row, for the engine to judge.
    fn next_batch(&mut self) -> Option<Result<RawBatch>> {
        if self.done {
            return None;
        }
        let width = self.headers.len();
        let mut columns: Vec<StringBuilder> =
            (0..width).map(|_| StringBuilder::with_capacity(RAW_BATCH_ROWS, RAW_BATCH_ROWS * 8)).collect();
        let mut lines = Vec::with_capacity(RAW_BATCH_ROWS);
        let mut rows = Vec::new();
        while lines.len() < RAW_BATCH_ROWS {
            let line = match self.read_non_blank() {
                Ok(Some(line)) => line,
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if self.record.len() == width {
                for (builder, field) in columns.iter_mut().zip(self.fields()) {
                    if field.is_empty() { builder.append_null() } else { builder.append_value(field) }
                }
            } else {
                rows.push((lines.len(), self.raw_row(line)));
                columns.iter_mut().for_each(|b| b.append_null());
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return None;
        }
        let columns: Vec<ArrayRef> = columns.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
        Some(Ok(RawBatch { columns, len: lines.len(), places: Places::Lines(lines), rows }))
    }
}
