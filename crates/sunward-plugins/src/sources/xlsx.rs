//! The `xlsx` source: one sheet of an Excel workbook.
//!
//! Reads a sheet chosen by name or index (default: the first), takes the
//! first non-empty row (or `header_row`) as the header, and keeps each cell's
//! stored type — numbers stay numbers and date cells arrive as dates, so a
//! date formatted `2025/3/5` and one stored as a serial number both load.
//! Rows carry their sheet and 1-based row number as Excel shows them.

use super::{Magic, sniff};
use calamine::{Data, DataType, Reader, Xlsx};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use sunward_core::{Diagnostic, Plugin, PluginInfo, RawCell, RawRow, Result, RowPlace, RowReader, RunContext, Source};

/// Reads one sheet of an `.xlsx` workbook.
pub struct XlsxSource;

/// A sheet given by name or by 0-based position.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SheetRef {
    /// The sheet's 0-based position.
    Index(usize),
    /// The sheet's name, e.g. `服务记录`.
    Name(String),
}

/// Settings of an `xlsx` source.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct XlsxConfig {
    /// The workbook; `${param}` is replaced, and a relative path is relative to the pipeline's folder.
    pub path: String,
    /// The sheet: its name or its 0-based position (default: the first sheet).
    #[serde(default)]
    pub sheet: Option<SheetRef>,
    /// The 1-based row of the header (default: the first row that is not empty).
    #[serde(default)]
    pub header_row: Option<u32>,
}

impl Plugin for XlsxSource {
    type Config = XlsxConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "xlsx",
        description: "reads one sheet of an Excel workbook (.xlsx), keeping numbers and dates as stored",
        example: "plugin: xlsx\npath: exports/个案.xlsx\nsheet: 个案记录\ncontract: cases\nvalues:\n  initial_tier:\n    红色: red\n    橙色: orange\n    绿色: green\n",
    };
}

impl Source for XlsxSource {
    fn files(&self, config: &XlsxConfig, ctx: &RunContext) -> Result<Vec<PathBuf>> {
        Ok(vec![ctx.input_path(&config.path)?])
    }

    fn open(&self, config: &XlsxConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>> {
        let path = ctx.input_path(&config.path)?;
        let label = path.display().to_string();
        match sniff(&path)? {
            Some(Magic::Xlsx) => {}
            Some(magic) => return Err(magic.refuse(&path, "an .xlsx workbook")),
            None => {
                return Err(Diagnostic::runtime(format!(
                    "cannot read {label} as an .xlsx workbook: it does not start like one (a zip archive)"
                ))
                .hint("a CSV file (even one named .xlsx) is read with plugin: csv; otherwise save the file again from Excel as .xlsx"));
            }
        }
        let mut book: Xlsx<_> = calamine::open_workbook(&path).map_err(|e| {
            Diagnostic::runtime(format!("cannot open the workbook {label}: {e}"))
                .hint("save the file again from Excel as .xlsx (Excel Workbook)")
                .caused_by(e)
        })?;
        let names = book.sheet_names();
        let name = match &config.sheet {
            None => names.first().cloned(),
            Some(SheetRef::Index(i)) => names.get(*i).cloned(),
            Some(SheetRef::Name(n)) => names.iter().find(|s| *s == n).cloned(),
        }
        .ok_or_else(|| {
            Diagnostic::runtime(format!(
                "{label} has no sheet {}",
                match &config.sheet {
                    Some(SheetRef::Index(i)) => format!("number {i}"),
                    Some(SheetRef::Name(n)) => format!("\"{n}\""),
                    None => "at all".to_string(),
                }
            ))
            .hint(format!("its sheets: {}", names.join(", ")))
        })?;
        let range = book
            .worksheet_range(&name)
            .map_err(|e| Diagnostic::runtime(format!("cannot read sheet \"{name}\" of {label}: {e}")).caused_by(e))?;
        let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
        let mut rows: Vec<(u64, Vec<RawCell>)> = Vec::new();
        for (i, row) in range.rows().enumerate() {
            let cells: Vec<RawCell> = row.iter().map(cell).collect();
            if cells.iter().all(|c| *c == RawCell::Empty) {
                continue;
            }
            rows.push((u64::from(first_row) + i as u64 + 1, cells));
        }
        let header_at = match config.header_row {
            Some(h) => rows.iter().position(|(r, _)| *r == u64::from(h)).ok_or_else(|| {
                Diagnostic::runtime(format!(
                    "row {h} of sheet \"{name}\" in {label} is empty: expected the header there"
                ))
            })?,
            None if rows.is_empty() => {
                return Err(Diagnostic::runtime(format!(
                    "sheet \"{name}\" of {label} is empty: expected a header row"
                )));
            }
            None => 0,
        };
        let mut rest = rows.split_off(header_at);
        let (_, header_cells) = rest.remove(0);
        let mut headers: Vec<String> = header_cells.iter().map(|c| c.original_text().trim().to_string()).collect();
        while headers.last().is_some_and(String::is_empty) {
            headers.pop();
        }
        Ok(Box::new(SheetRows { headers, sheet: name, rows: rest.into_iter() }))
    }
}

fn cell(data: &Data) -> RawCell {
    match data {
        Data::Empty => RawCell::Empty,
        Data::String(s) if s.trim().is_empty() => RawCell::Empty,
        Data::String(s) => RawCell::Text(s.clone()),
        Data::Int(i) => RawCell::Int(*i),
        Data::Float(x) => RawCell::Float(*x),
        Data::Bool(b) => RawCell::Bool(*b),
        Data::DateTime(dt) if dt.is_duration() => RawCell::Float(dt.as_f64()),
        Data::DateTime(_) | Data::DateTimeIso(_) => match data.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => RawCell::Date(t.date()),
            Some(t) => RawCell::DateTime(t),
            None => match (data, data.as_date()) {
                (_, Some(d)) => RawCell::Date(d),
                (Data::DateTime(dt), None) => RawCell::Float(dt.as_f64()),
                (_, None) => RawCell::Text(data.to_string()),
            },
        },
        Data::DurationIso(s) => RawCell::Text(s.clone()),
        Data::Error(e) => RawCell::Text(e.to_string()),
    }
}

struct SheetRows {
    headers: Vec<String>,
    sheet: String,
    rows: std::vec::IntoIter<(u64, Vec<RawCell>)>,
}

impl RowReader for SheetRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next_row(&mut self) -> Option<Result<RawRow>> {
        let (row, mut cells) = self.rows.next()?;
        while cells.len() > self.headers.len() && cells.last() == Some(&RawCell::Empty) {
            cells.pop();
        }
        Some(Ok(RawRow { place: RowPlace::Sheet { sheet: self.sheet.clone(), row }, cells, malformed: None }))
    }
}
