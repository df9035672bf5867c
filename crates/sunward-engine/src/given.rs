//! Rows given in memory as a source: what a pipeline test hands a pipeline
//! in place of its exports.
//!
//! A test gives a source's rows as mappings of column → value or as CSV
//! text; [`GivenRows`] reads them as a file reader would read the same rows
//! (the header is line 1, each row numbered by the line it starts on, an
//! empty field empty), so the source's mappings, typing and contract rules
//! treat them exactly as they treat an export, and a bad row is rejected
//! with the line a file of those rows would give. Nothing is written to disk.

use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use sunward_core::plugin::{ErasedSource, PluginHandle, PluginInfo, RawCell, RawRow, RowPlace, RowReader};
use sunward_core::{Diagnostic, PluginKind, Registry, Result, RunContext};

/// A source of rows given in memory.
pub struct GivenRows;

/// The rows a [`GivenRows`] source holds.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// The column names, in order.
    pub header: Vec<String>,
    /// The rows, one text per column (`None`: empty), each with the line it
    /// starts on in a file holding them (the header is line 1).
    pub rows: Vec<(u64, Vec<Option<String>>)>,
}

impl sunward_core::plugin::Plugin for GivenRows {
    type Config = Given;
    const INFO: PluginInfo = PluginInfo {
        name: "given",
        description: "rows given in memory (a pipeline test's `given:`), read as a CSV file of them would be",
        example: "plugin: given\nheader: [school_id]\nrows: [[2, [KS01]]]\n",
    };
}

impl sunward_core::plugin::Source for GivenRows {
    fn files(&self, _config: &Given, _ctx: &RunContext) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }

    fn open(&self, config: &Given, _ctx: &RunContext) -> Result<Box<dyn RowReader>> {
        Ok(Box::new(config.reader()))
    }
}

/// Reads a [`Given`]'s rows in order.
struct GivenReader {
    header: Vec<String>,
    rows: std::vec::IntoIter<(u64, Vec<Option<String>>)>,
}

impl RowReader for GivenReader {
    fn headers(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Option<Result<RawRow>> {
        let (line, cells) = self.rows.next()?;
        let cells = cells
            .into_iter()
            .map(|c| match c {
                Some(text) if !text.is_empty() => RawCell::Text(text),
                _ => RawCell::Empty,
            })
            .collect();
        Some(Ok(RawRow { place: RowPlace::Line(line), cells, malformed: None }))
    }
}

impl Given {
    /// A reader of the rows, its header trimmed as a file's is.
    fn reader(&self) -> GivenReader {
        GivenReader {
            header: self.header.iter().map(|h| h.trim().to_string()).collect(),
            rows: self.rows.clone().into_iter(),
        }
    }

    /// Rows from a header and rows of text, one row per line after the header.
    pub fn of_rows(header: Vec<String>, rows: Vec<Vec<Option<String>>>) -> Self {
        Given { header, rows: rows.into_iter().enumerate().map(|(i, r)| (i as u64 + 2, r)).collect() }
    }

    /// Rows from CSV text (RFC 4180, header first), each numbered by the
    /// line it starts on; a record with more or fewer fields than the header
    /// is kept as it is, to be rejected as a file's would be.
    pub fn of_csv(text: &str, what: &str) -> Result<Self> {
        let failed = |e: csv::Error| Diagnostic::invalid(format!("{what} is not CSV text: {e}"));
        let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().map_err(failed)?.iter().map(str::to_string).collect();
        let mut rows = Vec::new();
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(failed)? {
            let line = record.position().map_or(0, csv::Position::line);
            rows.push((line, record.iter().map(|f| Some(f.to_string())).collect()));
        }
        Ok(Given { header, rows })
    }

    /// A source plugin holding these rows, and its configuration, to put in
    /// a planned source's place.
    pub fn into_source(self) -> Result<(Arc<dyn ErasedSource>, sunward_core::plugin::AnyConfig)> {
        let mut registry = Registry::new();
        registry.add_source(GivenRows);
        let Some(PluginHandle::Source(plugin)) = registry.get(PluginKind::Source, GivenRows::NAME) else {
            return Err(Diagnostic::runtime("the given-rows source did not register"));
        };
        let plugin = plugin.clone();
        let json = serde_json::json!({ "header": self.header, "rows": self.rows });
        let config = plugin.parse(json).map_err(|e| Diagnostic::runtime(format!("cannot hold the given rows: {e}")))?;
        Ok((plugin, config))
    }
}

impl GivenRows {
    /// The plugin's name.
    pub const NAME: &'static str = "given";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(reader: &mut dyn RowReader) -> Vec<(RowPlace, Vec<RawCell>)> {
        std::iter::from_fn(|| reader.next_row()).map(|r| r.unwrap()).map(|r| (r.place, r.cells)).collect()
    }

    #[test]
    fn csv_rows_keep_the_lines_a_file_gives_them() {
        // Line 1 the header, line 2 a row, lines 3–4 one record with a
        // line break inside quotes, line 5 a short row, line 6 an empty field.
        let given = Given::of_csv("a, b\nx,1\n\"y\nz\",2\nw\nv,\n", "test").unwrap();
        let mut reader = given.reader();
        assert_eq!(reader.headers(), ["a", "b"]);
        let rows = cells(&mut reader);
        let lines: Vec<RowPlace> = rows.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(lines, [RowPlace::Line(2), RowPlace::Line(3), RowPlace::Line(5), RowPlace::Line(6)]);
        assert_eq!(rows[1].1, [RawCell::Text("y\nz".into()), RawCell::Text("2".into())]);
        assert_eq!(rows[2].1, [RawCell::Text("w".into())]);
        assert_eq!(rows[3].1, [RawCell::Text("v".into()), RawCell::Empty]);
    }

    #[test]
    fn rows_are_numbered_from_line_two() {
        let given = Given::of_rows(vec!["a".into()], vec![vec![Some("x".into())], vec![None]]);
        let mut reader = given.reader();
        let rows = cells(&mut reader);
        assert_eq!(
            rows,
            [(RowPlace::Line(2), vec![RawCell::Text("x".into())]), (RowPlace::Line(3), vec![RawCell::Empty])]
        );
    }
}
