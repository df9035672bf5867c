//! The `jsonl` source: one JSON object per line.
//!
//! A first streaming pass collects the keys of every object (in order of
//! first appearance) so that a key missing from the first lines is not lost;
//! a second pass yields the rows. A line that is not a JSON object is a bad
//! row, set aside with its line number, and reading goes on. Text in the wrong
//! encoding (bytes that are not UTF-8 when `encoding` is `utf-8`) stops the read
//! with the line and a hint, since every later line would be garbled too.

use super::{Encoding, NOT_UTF8_HINT, sniff, text_reader};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use sunward_core::{
    Diagnostic, MAX_COLUMNS, MAX_RECORD_BYTES, Plugin, PluginInfo, RawCell, RawRow, Result, RowPlace, RowReader,
    RunContext, Source,
};

/// Reads a JSON-lines file.
pub struct JsonlSource;

/// Settings of a `jsonl` source.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonlConfig {
    /// The file; `${param}` is replaced, and a relative path is relative to the pipeline's folder.
    pub path: String,
    /// `utf-8` (default), `gb18030` or `gbk`.
    #[serde(default)]
    pub encoding: Encoding,
}

impl Plugin for JsonlSource {
    type Config = JsonlConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "jsonl",
        description: "reads a file of JSON objects, one per line",
        example: "plugin: jsonl\npath: exports/incidents.jsonl\ncontract: incidents\n",
    };
}

fn lines(path: &Path, encoding: Encoding) -> Result<Box<dyn BufRead + Send>> {
    Ok(Box::new(BufReader::new(text_reader(path, encoding)?)))
}

/// Read the next physical line into `buf` (without its line break);
/// `Ok(false)` at the end. A line longer than [`MAX_RECORD_BYTES`] is an
/// error, found without holding more than that of it.
fn next_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>, file: &str, line: u64) -> Result<bool> {
    buf.clear();
    let n = std::io::Read::take(&mut *reader, MAX_RECORD_BYTES as u64 + 1).read_until(b'\n', buf).map_err(|e| {
        Diagnostic::runtime(format!("cannot read {file} at line {line}: {e}"))
            .hint("check that the file is readable")
            .caused_by(e)
    })?;
    if buf.len() > MAX_RECORD_BYTES {
        return Err(Diagnostic::runtime(format!(
            "line {line} of {file} is longer than {} MiB: expected one JSON object of at most that per line",
            MAX_RECORD_BYTES >> 20
        ))
        .hint("write one object per line; a file that is not JSON lines is read with its own plugin"));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(n > 0)
}

/// The line as text, or the error for text that is not UTF-8.
fn as_text<'a>(bytes: &'a [u8], file: &str, line: u64) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| {
        Diagnostic::runtime(format!("{file} is not valid UTF-8 at line {line}: expected UTF-8 text"))
            .hint(NOT_UTF8_HINT)
    })
}

impl Source for JsonlSource {
    fn files(&self, config: &JsonlConfig, ctx: &RunContext) -> Result<Vec<PathBuf>> {
        Ok(vec![ctx.input_path(&config.path)?])
    }

    fn open(&self, config: &JsonlConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>> {
        let path = ctx.input_path(&config.path)?;
        let label = path.display().to_string();
        if let Some(magic) = sniff(&path)? {
            return Err(magic.refuse(&path, "JSON lines"));
        }
        // First pass: every key, in order of first appearance; the text is checked on the way.
        let mut headers: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut reader = lines(&path, config.encoding)?;
        let mut buf = Vec::new();
        let mut line = 0;
        while next_line(reader.as_mut(), &mut buf, &label, line + 1)? {
            line += 1;
            let text = as_text(&buf, &label, line)?;
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
                for key in map.keys() {
                    let key = key.trim();
                    if !index.contains_key(key) {
                        index.insert(key.to_string(), headers.len());
                        headers.push(key.to_string());
                    }
                }
                if headers.len() > MAX_COLUMNS {
                    return Err(Diagnostic::runtime(format!(
                        "the objects of {label} have more than {MAX_COLUMNS} different keys by line {line}: expected at most that many columns"
                    ))
                    .hint("check that the file is the export you meant"));
                }
            }
        }
        Ok(Box::new(JsonRows {
            file: label,
            headers,
            index,
            lines: lines(&path, config.encoding)?,
            buf: Vec::new(),
            line: 0,
            done: false,
        }))
    }
}

struct JsonRows {
    file: String,
    headers: Vec<String>,
    /// Column position of each (trimmed) key.
    index: HashMap<String, usize>,
    lines: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
    done: bool,
}

fn to_cell(value: &serde_json::Value) -> RawCell {
    match value {
        serde_json::Value::Null => RawCell::Empty,
        serde_json::Value::Bool(b) => RawCell::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => RawCell::Int(i),
            None => n.as_f64().map(RawCell::Float).unwrap_or_else(|| RawCell::Text(n.to_string())),
        },
        serde_json::Value::String(s) if s.is_empty() => RawCell::Empty,
        serde_json::Value::String(s) => RawCell::Text(s.clone()),
        other => RawCell::Text(other.to_string()),
    }
}

impl JsonRows {
    fn read(&mut self) -> Result<Option<RawRow>> {
        loop {
            if !next_line(self.lines.as_mut(), &mut self.buf, &self.file, self.line + 1)? {
                return Ok(None);
            }
            self.line += 1;
            let text = as_text(&self.buf, &self.file, self.line)?.trim();
            if text.is_empty() {
                continue;
            }
            let place = RowPlace::Line(self.line);
            return Ok(Some(match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(map)) => {
                    let mut cells = vec![RawCell::Empty; self.headers.len()];
                    for (key, value) in &map {
                        if let Some(cell) = self.index.get(key.trim()).and_then(|&i| cells.get_mut(i)) {
                            *cell = to_cell(value);
                        }
                    }
                    RawRow { place, cells, malformed: None }
                }
                Ok(other) => RawRow {
                    place,
                    cells: vec![RawCell::Text(text.to_string())],
                    malformed: Some(format!("not a JSON object: {}", kind(&other))),
                },
                Err(e) => RawRow { place, cells: vec![RawCell::Text(text.to_string())], malformed: Some(invalid(&e)) },
            }));
        }
    }
}

impl RowReader for JsonRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next_row(&mut self) -> Option<Result<RawRow>> {
        if self.done {
            return None;
        }
        let next = self.read();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}

/// The bad-row reason for a line that is not valid JSON.
fn invalid(e: &serde_json::Error) -> String {
    if e.is_eof() {
        "not a JSON object: the line ends before the JSON value does".to_string()
    } else {
        format!("not a JSON object: invalid JSON at column {}", e.column())
    }
}

/// How a JSON value that is not an object is called in messages.
fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Null => "null",
        serde_json::Value::Object(_) => "an object",
    }
}
