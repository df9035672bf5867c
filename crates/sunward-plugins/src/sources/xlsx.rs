//! The `xlsx` source: one sheet of an Excel workbook.
//!
//! Reads a sheet chosen by name or index (default: the first), takes the
//! first non-empty row (or `header_row`) as the header, and keeps each cell's
//! stored type — numbers stay numbers and date cells arrive as dates, so a
//! date formatted `2025/3/5` and one stored as a serial number both load.
//! Rows carry their sheet and 1-based row number as Excel shows them.
//!
//! The archive is checked first ([`xlsx_archive`]: sizes, zip bombs, endless
//! text). The sheet is then streamed cell by cell on a thread of its own,
//! a bounded number of rows ahead of the load, so a large sheet never has to
//! fit in memory; a cell outside Excel's grid, rows out of order or a
//! damaged workbook end the reading with an error naming the file, the
//! sheet and the row (calamine's own panics on damaged files included).

use super::{Magic, quietly, sniff, xlsx_archive};
use calamine::{Data, DataType, Reader, Xlsx};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use sunward_core::{
    Diagnostic, MAX_COLUMNS, Plugin, PluginInfo, RawCell, RawRow, Result, RowPlace, RowReader, RunContext, Source,
};

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
        xlsx_archive::check(&path, &label)?;
        let (sender, receiver) = sync_channel(ROWS_AHEAD);
        let sheet = config.sheet.clone();
        let reading = label.clone();
        std::thread::Builder::new()
            .name("xlsx reader".into())
            .spawn(move || read_sheet(&path, &reading, sheet.as_ref(), &sender))
            .map_err(|e| Diagnostic::runtime("cannot start reading the workbook").caused_by(e))?;
        let (name, first_column) = match receiver.recv() {
            Ok(Message::Opened { sheet, first_column }) => (sheet, first_column),
            Ok(Message::Failed(e)) => return Err(e),
            Ok(Message::Row { .. }) | Err(_) => {
                return Err(Diagnostic::runtime(format!("cannot read the workbook {label}: the reader stopped")));
            }
        };
        // The header: the given row, or the first that is not empty.
        let header = loop {
            match receiver.recv() {
                Ok(Message::Row { row, cells }) => match config.header_row {
                    Some(h) if row < u64::from(h) => continue,
                    Some(h) if row > u64::from(h) => break None,
                    _ => break Some(cells),
                },
                Ok(Message::Failed(e)) => return Err(e),
                Ok(Message::Opened { .. }) | Err(_) => break None,
            }
        };
        let Some(header) = header else {
            return Err(match config.header_row {
                Some(h) => Diagnostic::runtime(format!(
                    "row {h} of sheet \"{name}\" in {label} is empty: expected the header there"
                )),
                None => Diagnostic::runtime(format!("sheet \"{name}\" of {label} is empty: expected a header row")),
            });
        };
        // Columns start where the sheet's stated area or its header does, whichever is further left.
        let header_start = header.iter().position(|c| *c != RawCell::Empty).unwrap_or(0);
        let offset = first_column.min(header_start);
        let mut headers: Vec<String> =
            header.iter().skip(offset).map(|c| c.original_text().trim().to_string()).collect();
        while headers.last().is_some_and(String::is_empty) {
            headers.pop();
        }
        Ok(Box::new(SheetRows { headers, sheet: name, offset, receiver }))
    }
}

/// Rows read ahead of the rows handed out (the reading thread waits beyond).
const ROWS_AHEAD: usize = 1024;
/// Excel's number of rows.
const MAX_ROWS: u32 = 1_048_576;

/// What the reading thread sends: the sheet opened, a row, or the error that ends the reading.
enum Message {
    /// The sheet's name and the first column of its stated area (`<dimension>`).
    Opened {
        sheet: String,
        first_column: usize,
    },
    /// A row that is not empty, with its 1-based number; cells from column A.
    Row {
        row: u64,
        cells: Vec<RawCell>,
    },
    Failed(Diagnostic),
}

/// Read the sheet on this thread, sending its rows until the receiver is gone.
fn read_sheet(path: &Path, label: &str, sheet: Option<&SheetRef>, sender: &SyncSender<Message>) {
    let last_row = std::cell::Cell::new(0u64);
    let failure = match quietly(|| stream_sheet(path, label, sheet, sender, &last_row)) {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e,
        // calamine panics on some damaged workbooks (a shared string that does not exist).
        Err(_) => Diagnostic::runtime(format!(
            "cannot read the workbook {label}: it is damaged{}",
            match last_row.get() {
                0 => String::new(),
                row => format!(" after row {row}"),
            }
        ))
        .hint("save the file again from Excel as .xlsx (Excel Workbook)"),
    };
    let _ = sender.send(Message::Failed(failure));
}

/// Stream the sheet's cells into rows, sending each row that is not empty;
/// `last_row` follows the reading, for the message should calamine panic.
fn stream_sheet(
    path: &Path,
    label: &str,
    sheet: Option<&SheetRef>,
    sender: &SyncSender<Message>,
    last_row: &std::cell::Cell<u64>,
) -> Result<()> {
    let (mut book, name) = open_sheet(path, label, sheet)?;
    let unreadable = |e: calamine::XlsxError, row: u64| {
        let after = if row == 0 { String::new() } else { format!(" after row {row}") };
        Diagnostic::runtime(format!("cannot read sheet \"{name}\" of {label}{after}: {e}"))
            .hint("save the file again from Excel as .xlsx (Excel Workbook)")
            .caused_by(e)
    };
    let mut cells = book.worksheet_cells_reader(&name).map_err(|e| unreadable(e, 0))?;
    let first_column = cells.dimensions().start.1 as usize;
    if sender.send(Message::Opened { sheet: name.clone(), first_column }).is_err() {
        return Ok(());
    }
    let mut row: Option<(u32, Vec<RawCell>)> = None;
    let flush = |row: Option<(u32, Vec<RawCell>)>| match row {
        Some((r, cells)) if cells.iter().any(|c| *c != RawCell::Empty) => {
            sender.send(Message::Row { row: u64::from(r) + 1, cells }).is_ok()
        }
        _ => true,
    };
    loop {
        let Some(cell) = cells.next_cell().map_err(|e| unreadable(e, last_row.get()))? else { break };
        let (r, c) = cell.get_position();
        check_in_grid(&name, label, r, c)?;
        let value = cell_of(&Data::from(cell.get_value().clone()));
        match &mut row {
            Some((current, _)) if *current == r => {}
            Some((current, _)) if r < *current => return Err(out_of_order(&name, label, r, *current)),
            _ => {
                if !flush(row.take()) {
                    return Ok(());
                }
                last_row.set(u64::from(r) + 1);
                row = Some((r, Vec::new()));
            }
        }
        if value != RawCell::Empty
            && let Some((_, cells)) = &mut row
        {
            place_cell(cells, c as usize, value);
        }
    }
    flush(row);
    Ok(())
}

/// The workbook and the name of the sheet to read: the one asked for, or the first.
fn open_sheet(
    path: &Path,
    label: &str,
    sheet: Option<&SheetRef>,
) -> Result<(Xlsx<std::io::BufReader<std::fs::File>>, String)> {
    let book: Xlsx<_> = calamine::open_workbook(path).map_err(|e| {
        Diagnostic::runtime(format!("cannot open the workbook {label}: {e}"))
            .hint("save the file again from Excel as .xlsx (Excel Workbook)")
            .caused_by(e)
    })?;
    let names = book.sheet_names();
    let name = match sheet {
        None => names.first().cloned(),
        Some(SheetRef::Index(i)) => names.get(*i).cloned(),
        Some(SheetRef::Name(n)) => names.iter().find(|s| *s == n).cloned(),
    }
    .ok_or_else(|| {
        Diagnostic::runtime(format!(
            "{label} has no sheet {}",
            match sheet {
                Some(SheetRef::Index(i)) => format!("number {i}"),
                Some(SheetRef::Name(n)) => format!("\"{}\"", sunward_core::excerpt(n)),
                None => "at all".to_string(),
            }
        ))
        .hint(format!("its sheets: {}", sunward_core::excerpt_list(&names)))
    })?;
    Ok((book, name))
}

/// An error for a cell (0-based row `r`, column `c`) outside Excel's grid.
fn check_in_grid(name: &str, label: &str, r: u32, c: u32) -> Result<()> {
    if r >= MAX_ROWS || c as usize >= MAX_COLUMNS {
        return Err(Diagnostic::runtime(format!(
            "sheet \"{name}\" of {label} has a cell at row {}, column {}: outside Excel's grid of {MAX_ROWS} rows and {MAX_COLUMNS} columns",
            u64::from(r) + 1,
            u64::from(c) + 1
        ))
        .hint("save the file again from Excel as .xlsx (Excel Workbook)"));
    }
    Ok(())
}

/// The error for a row (0-based `r`) listed after a later one (`current`).
fn out_of_order(name: &str, label: &str, r: u32, current: u32) -> Diagnostic {
    Diagnostic::runtime(format!(
        "sheet \"{name}\" of {label} lists row {} after row {}: expected its rows in order",
        u64::from(r) + 1,
        u64::from(current) + 1
    ))
    .hint("save the file again from Excel as .xlsx (Excel Workbook)")
}

/// Puts `value` in column `c` of a row's cells, filling the columns before it with empty cells.
fn place_cell(cells: &mut Vec<RawCell>, c: usize, value: RawCell) {
    if cells.len() <= c {
        cells.resize(c + 1, RawCell::Empty);
    }
    cells[c] = value;
}

fn cell_of(data: &Data) -> RawCell {
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
    /// Cells left of this column are not under the header.
    offset: usize,
    receiver: Receiver<Message>,
}

impl RowReader for SheetRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next_row(&mut self) -> Option<Result<RawRow>> {
        let (row, mut cells) = match self.receiver.recv() {
            Ok(Message::Row { row, cells }) => (row, cells),
            Ok(Message::Failed(e)) => return Some(Err(e)),
            Ok(Message::Opened { .. }) | Err(_) => return None,
        };
        let place = RowPlace::Sheet { sheet: self.sheet.clone(), row };
        let left: Vec<RawCell> = cells.drain(..self.offset.min(cells.len())).collect();
        if let Some(column) = left.iter().position(|c| *c != RawCell::Empty) {
            // Never dropped in silence: the row is set aside with its text.
            let mut text = left;
            text.extend(cells);
            return Some(Ok(RawRow {
                place,
                cells: text,
                malformed: Some(format!(
                    "a value in column {}, left of the header's first column",
                    column_name(column)
                )),
            }));
        }
        // A sheet has no field count: a row ends with its last value, and the
        // empty cells after it, up to the header's width, are empty values.
        while cells.len() > self.headers.len() && cells.last() == Some(&RawCell::Empty) {
            cells.pop();
        }
        if cells.len() < self.headers.len() {
            cells.resize(self.headers.len(), RawCell::Empty);
        }
        Some(Ok(RawRow { place, cells, malformed: None }))
    }
}

/// Excel's name of a 0-based column (0 → A, 26 → AA).
fn column_name(mut index: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Column names against a reference that counts as Excel's column
    /// headers do: increment the last letter, Z wraps to A with a carry, and
    /// a carry past the first letter adds an A in front.
    #[test]
    fn column_names_follow_excel() {
        let mut name = vec![b'A'];
        for i in 0..MAX_COLUMNS {
            assert_eq!(column_name(i).as_bytes(), name.as_slice(), "column {i}");
            let mut at = name.len();
            loop {
                if at == 0 {
                    name.insert(0, b'A');
                    break;
                }
                at -= 1;
                if name[at] == b'Z' {
                    name[at] = b'A';
                } else {
                    name[at] += 1;
                    break;
                }
            }
        }
        assert_eq!(column_name(MAX_COLUMNS - 1), "XFD");
    }
}
