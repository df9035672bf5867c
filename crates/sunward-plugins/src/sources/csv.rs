//! The `csv` source: delimited text as spreadsheets and case systems export it.
//!
//! Reads UTF-8 (with or without a byte-order mark) or GB18030/GBK — what Excel
//! writes in a Chinese locale — streaming, so a large export never has to fit
//! in memory. Quoted fields may hold delimiters, quotes and line breaks; each
//! row carries the physical line where it starts. A quote left open to the end
//! of the file, a workbook saved as `.csv` or text in the wrong encoding is an
//! error that names the file, the line and the likely fix.

use super::{Encoding, open_file, sniff_binary};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use sunward_core::{Diagnostic, Plugin, PluginInfo, RawCell, RawRow, Result, RowPlace, RowReader, RunContext, Source};

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

/// Quote state seen by the bytes passing to the parser, to catch a quote left open to the end of the file.
#[derive(Default)]
struct QuoteWatch {
    in_quote: AtomicBool,
    quote_line: AtomicU64,
    eof: AtomicBool,
    /// Byte offsets of line breaks read ahead of the parser, so a record's
    /// starting line can be told from its starting byte (the csv crate's own
    /// line count is off by one after a CRLF).
    newlines: Mutex<VecDeque<u64>>,
}

struct Watched<R> {
    inner: R,
    watch: Arc<QuoteWatch>,
    quote: u8,
    delimiter: u8,
    line: u64,
    offset: u64,
    at_field_start: bool,
    pending_quote: bool,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.watch.eof.store(true, Ordering::SeqCst);
        }
        let mut in_quote = self.watch.in_quote.load(Ordering::SeqCst);
        let mut newlines = Vec::new();
        for &b in &buf[..n] {
            if b == b'\n' {
                newlines.push(self.offset);
            }
            self.offset += 1;
            if in_quote {
                if self.pending_quote {
                    self.pending_quote = false;
                    if b == self.quote {
                        continue; // a doubled quote inside a quoted field
                    }
                    in_quote = false;
                } else if b == self.quote {
                    self.pending_quote = true;
                    continue;
                }
            }
            if !in_quote {
                if b == self.quote && self.at_field_start {
                    in_quote = true;
                    self.watch.quote_line.store(self.line, Ordering::SeqCst);
                    self.at_field_start = false;
                } else {
                    self.at_field_start = b == self.delimiter || b == b'\n' || b == b'\r';
                }
            }
            if b == b'\n' {
                self.line += 1;
            }
        }
        if n == 0 && self.pending_quote {
            in_quote = false;
        }
        self.watch.in_quote.store(in_quote, Ordering::SeqCst);
        if let Ok(mut queue) = self.watch.newlines.lock() {
            queue.extend(newlines);
        }
        Ok(n)
    }
}

struct CsvRows {
    file: String,
    headers: Vec<String>,
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    watch: Arc<QuoteWatch>,
    lines_before: u64,
    done: bool,
}

fn open_csv(path: &std::path::Path, config: &CsvConfig) -> Result<Box<dyn RowReader>> {
    let file_label = path.display().to_string();
    if let Some(what) = sniff_binary(path)? {
        return Err(Diagnostic::runtime(format!("cannot read {file_label} as CSV: {what}")));
    }
    let file = open_file(path)?;
    let decoded: Box<dyn Read + Send> = match config.encoding {
        Encoding::Utf8 => Box::new(std::io::BufReader::new(file)),
        Encoding::Gb18030 | Encoding::Gbk => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding_rs::GB18030))
                .bom_override(true)
                .build(file),
        ),
    };
    let watch = Arc::new(QuoteWatch { quote_line: AtomicU64::new(1), ..Default::default() });
    let watched: Box<dyn Read + Send> = Box::new(Watched {
        inner: decoded,
        watch: watch.clone(),
        quote: config.quote as u8,
        delimiter: config.delimiter as u8,
        line: 1,
        offset: 0,
        at_field_start: true,
        pending_quote: false,
    });
    let reader = csv::ReaderBuilder::new()
        .delimiter(config.delimiter as u8)
        .quote(config.quote as u8)
        .has_headers(false)
        .flexible(true)
        .from_reader(watched);
    let mut rows = CsvRows {
        file: file_label.clone(),
        headers: Vec::new(),
        reader,
        record: csv::ByteRecord::new(),
        watch,
        lines_before: 0,
        done: false,
    };
    match rows.read_record()? {
        None => {
            return Err(Diagnostic::runtime(format!("{file_label} is empty: expected a header line"))
                .hint("export the table with its header row"));
        }
        Some((_, fields)) => {
            let mut headers: Vec<String> = fields.into_iter().map(|f| f.trim().to_string()).collect();
            if let Some(first) = headers.first_mut() {
                *first = first.trim_start_matches('\u{feff}').trim().to_string();
            }
            rows.headers = headers;
        }
    }
    Ok(Box::new(rows))
}

impl CsvRows {
    /// The next record as strings with its starting line.
    fn read_record(&mut self) -> Result<Option<(u64, Vec<String>)>> {
        let more = self.reader.read_byte_record(&mut self.record).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Diagnostic::runtime(format!("cannot read {} at line {line}: {e}", self.file)).caused_by(e)
        })?;
        if !more {
            return Ok(None);
        }
        let start = self.record.position().map(|p| p.byte()).unwrap_or(0);
        if let Ok(mut queue) = self.watch.newlines.lock() {
            // A record never begins with a line break, so one at its first byte ends the previous line.
            while queue.front().is_some_and(|&at| at <= start) {
                queue.pop_front();
                self.lines_before += 1;
            }
        }
        let line = self.lines_before + 1;
        if self.watch.eof.load(Ordering::SeqCst) && self.watch.in_quote.load(Ordering::SeqCst) {
            let start = self.watch.quote_line.load(Ordering::SeqCst);
            return Err(Diagnostic::runtime(format!(
                "{}: a quoted field starting on line {start} is never closed",
                self.file
            ))
            .hint("close the quote (a quote inside a quoted field is written twice: \"\")"));
        }
        let mut fields = Vec::with_capacity(self.record.len());
        for field in self.record.iter() {
            match std::str::from_utf8(field) {
                Ok(s) => fields.push(s.to_string()),
                Err(_) => {
                    return Err(Diagnostic::runtime(format!("{} is not valid UTF-8 at line {line}", self.file))
                        .hint("if the file was saved by Excel in a Chinese locale, set `encoding: gb18030`"));
                }
            }
        }
        Ok(Some((line, fields)))
    }
}

impl RowReader for CsvRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Option<Result<RawRow>> {
        if self.done {
            return None;
        }
        let next = loop {
            match self.read_record() {
                // a line holding only white space is not a record
                Ok(Some((_, fields))) if fields.len() == 1 && fields[0].trim().is_empty() && self.headers.len() > 1 => {
                }
                other => break other,
            }
        };
        match next {
            Ok(None) => {
                self.done = true;
                None
            }
            Ok(Some((line, fields))) => {
                let cells =
                    fields.into_iter().map(|f| if f.is_empty() { RawCell::Empty } else { RawCell::Text(f) }).collect();
                Some(Ok(RawRow { place: RowPlace::Line(line), cells, malformed: None }))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
