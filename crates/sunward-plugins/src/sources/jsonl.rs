//! The `jsonl` source: one JSON object per line.
//!
//! A first streaming pass collects the keys of every object (in order of
//! first appearance) so that a key missing from the first lines is not lost;
//! a second pass yields the rows. A line that is not a JSON object is a bad
//! row, set aside with its line number, and reading goes on.

use super::{Encoding, open_file, sniff_binary};
use schemars::JsonSchema;
use serde::Deserialize;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use sunward_core::{Diagnostic, Plugin, PluginInfo, RawCell, RawRow, Result, RowPlace, RowReader, RunContext, Source};

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
    let file = open_file(path)?;
    let reader: Box<dyn Read + Send> = match encoding {
        Encoding::Utf8 => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding_rs::UTF_8))
                .bom_sniffing(true)
                .build(file),
        ),
        Encoding::Gb18030 | Encoding::Gbk => {
            Box::new(encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding_rs::GB18030)).build(file))
        }
    };
    Ok(Box::new(BufReader::new(reader)))
}

impl Source for JsonlSource {
    fn files(&self, config: &JsonlConfig, ctx: &RunContext) -> Result<Vec<PathBuf>> {
        Ok(vec![ctx.input_path(&config.path)?])
    }

    fn open(&self, config: &JsonlConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>> {
        let path = ctx.input_path(&config.path)?;
        let label = path.display().to_string();
        if let Some(what) = sniff_binary(&path)? {
            return Err(Diagnostic::runtime(format!("cannot read {label} as JSON lines: {what}")));
        }
        let io = |e: std::io::Error| Diagnostic::runtime(format!("cannot read {label}")).caused_by(e);
        let mut headers: Vec<String> = Vec::new();
        let mut known = std::collections::HashSet::new();
        for line in lines(&path, config.encoding)?.lines() {
            let line = line.map_err(io)?;
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&line) {
                for key in map.keys() {
                    if known.insert(key.trim().to_string()) {
                        headers.push(key.trim().to_string());
                    }
                }
            }
        }
        Ok(Box::new(JsonRows { file: label, headers, lines: lines(&path, config.encoding)?, line: 0 }))
    }
}

struct JsonRows {
    file: String,
    headers: Vec<String>,
    lines: Box<dyn BufRead + Send>,
    line: u64,
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

impl RowReader for JsonRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next_row(&mut self) -> Option<Result<RawRow>> {
        loop {
            let mut text = String::new();
            match self.lines.read_line(&mut text) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    return Some(Err(Diagnostic::runtime(format!(
                        "cannot read {} after line {}",
                        self.file, self.line
                    ))
                    .caused_by(e)));
                }
            }
            self.line += 1;
            let trimmed = text.trim();
            if trimmed.is_empty() {
                continue;
            }
            let place = RowPlace::Line(self.line);
            return Some(Ok(match serde_json::from_str::<serde_json::Value>(trimmed) {
                Ok(serde_json::Value::Object(map)) => {
                    let cells = self
                        .headers
                        .iter()
                        .map(|h| {
                            map.iter().find(|(k, _)| k.trim() == h).map(|(_, v)| to_cell(v)).unwrap_or(RawCell::Empty)
                        })
                        .collect();
                    RawRow { place, cells, malformed: None }
                }
                Ok(other) => {
                    RawRow { place, cells: vec![], malformed: Some(format!("not a JSON object: {}", kind(&other))) }
                }
                Err(e) => RawRow { place, cells: vec![], malformed: Some(format!("not valid JSON: {e}")) },
            }));
        }
    }
}

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
