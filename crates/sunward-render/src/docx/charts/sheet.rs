//! A chart's data laid out once as a worksheet ([`Sheet`]): column A the
//! categories or x values, one column per series, the names in a header
//! row. The embedded workbook, the chart part's cell references and its
//! caches are all written from it.

use std::fmt::Write as _;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook, XlsxError};

use crate::docx::error::DocxError;
use crate::docx::xml::esc;
use crate::plot;

/// The one worksheet of a chart's workbook, as the cell references name it.
const SHEET: &str = "Sheet1";
/// The workbook's creation date when the document has none: the DOS epoch,
/// the date the zip entries carry.
const EPOCH: (u16, u8, u8) = (1980, 1, 1);

/// A cell of the worksheet.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SheetCell {
    Text(String),
    Number(f64),
    Blank,
}

impl SheetCell {
    /// The cell as a cache holds it; `None` for a blank (or a number that is not finite).
    pub(super) fn cached(&self) -> Option<String> {
        match self {
            SheetCell::Text(t) => Some(t.clone()),
            SheetCell::Number(v) if v.is_finite() => Some(number_text(*v)),
            _ => None,
        }
    }
}

/// One column of the worksheet: its header (row 1) and its cells from row 2 down.
pub(super) struct SheetColumn {
    pub(super) header: String,
    pub(super) cells: Vec<SheetCell>,
}

/// The worksheet of a chart's data.
#[derive(Default)]
pub(super) struct Sheet {
    pub(super) columns: Vec<SheetColumn>,
}

/// Cells of one column: the data rows `first .. first + len` (row 0 is the
/// row under the header, the sheet's row 2).
#[derive(Debug, Clone, Copy)]
pub(super) struct Cells {
    pub(super) column: usize,
    pub(super) first: usize,
    pub(super) len: usize,
}

impl Cells {
    /// The same rows of another column.
    pub(super) fn with_column(self, column: usize) -> Cells {
        Cells { column, ..self }
    }
}

impl Sheet {
    /// Adds a column; its index.
    pub(super) fn add(&mut self, header: impl Into<String>, cells: Vec<SheetCell>) -> usize {
        self.columns.push(SheetColumn { header: header.into(), cells });
        self.columns.len() - 1
    }

    /// Every data row of a column.
    pub(super) fn all(&self, column: usize) -> Cells {
        Cells { column, first: 0, len: self.columns.get(column).map_or(0, |c| c.cells.len()) }
    }

    /// The cells of a range, blank where the column is shorter.
    pub(super) fn cells(&self, range: Cells) -> impl Iterator<Item = SheetCell> + '_ {
        let column = self.columns.get(range.column);
        (range.first..range.first + range.len)
            .map(move |row| column.and_then(|c| c.cells.get(row)).cloned().unwrap_or(SheetCell::Blank))
    }

    /// A column's header.
    pub(super) fn header(&self, column: usize) -> &str {
        self.columns.get(column).map_or("", |c| c.header.as_str())
    }

    /// The workbook: the columns on `Sheet1`, headers in row 1, created on
    /// the document's date (or [`EPOCH`]).
    pub(super) fn workbook(&self, generated: Option<&str>) -> Result<Vec<u8>, DocxError> {
        let fail = |e: XlsxError| DocxError(format!("cannot write a chart's workbook: {e}"));
        let created = generated
            .and_then(ymd)
            .and_then(|(y, m, d)| ExcelDateTime::from_ymd(y, m, d).ok())
            .map_or_else(|| ExcelDateTime::from_ymd(EPOCH.0, EPOCH.1, EPOCH.2), Ok)
            .map_err(fail)?;
        let mut workbook = Workbook::new();
        workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
        let sheet = workbook.add_worksheet();
        sheet.set_name(SHEET).map_err(fail)?;
        for (c, column) in self.columns.iter().enumerate() {
            let col = u16::try_from(c).map_err(|_| DocxError("a chart has too many series".to_string()))?;
            sheet.write_string(0, col, column.header.as_str()).map_err(fail)?;
            let mut widest = plot::text_width(&column.header, 1.0);
            for (r, cell) in column.cells.iter().enumerate() {
                let row = u32::try_from(r + 1).map_err(|_| DocxError("a chart has too many points".to_string()))?;
                match cell {
                    SheetCell::Text(t) => {
                        sheet.write_string(row, col, t.as_str()).map_err(fail)?;
                    }
                    SheetCell::Number(v) if v.is_finite() => {
                        sheet.write_number(row, col, *v).map_err(fail)?;
                    }
                    _ => {}
                }
                if let Some(text) = cell.cached() {
                    widest = widest.max(plot::text_width(&text, 1.0));
                }
            }
            // text_width counts a Chinese character 1 and a digit 0.6; Excel's unit is a digit.
            sheet.set_column_width(col, (widest / 0.6 + 2.0).clamp(8.0, 60.0)).map_err(fail)?;
        }
        workbook.save_to_buffer().map_err(fail)
    }
}

/// `2025-01-15` → (2025, 1, 15).
fn ymd(date: &str) -> Option<(u16, u8, u8)> {
    let mut parts = date.trim().splitn(3, '-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    Some((y, m, d))
}

/// A column's letter: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub(super) fn column_letter(column: usize) -> String {
    let mut n = column + 1;
    let mut letters = Vec::new();
    while n > 0 {
        letters.push(char::from(b'A' + ((n - 1) % 26) as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// The formula of a range, e.g. `Sheet1!$B$2:$B$6` (a single cell for an empty range).
pub(super) fn formula(range: Cells) -> String {
    let col = column_letter(range.column);
    let first = range.first + 2;
    let last = first + range.len.max(1) - 1;
    format!("{SHEET}!${col}${first}:${col}${last}")
}

/// A number as a cache and the workbook's XML hold it: the shortest text that reads back the same.
pub(super) fn number_text(v: f64) -> String {
    format!("{v}")
}

/// How Word's General number format shows `v`, where that is plain: the
/// shortest decimal text, up to 11 characters; `None` for what General would
/// round or put in exponent form.
pub(super) fn general(v: f64) -> Option<String> {
    let text = number_text(v);
    (v.is_finite() && text.len() <= 11 && !text.contains('e')).then_some(text)
}

/// `<c:strRef>`: the range's formula and its texts.
pub(super) fn str_ref(sheet: &Sheet, range: Cells) -> String {
    let mut s = format!("<c:strRef><c:f>{}</c:f><c:strCache><c:ptCount val=\"{}\"/>", formula(range), range.len);
    for (i, cell) in sheet.cells(range).enumerate() {
        if let Some(text) = cell.cached() {
            let _ = write!(s, "<c:pt idx=\"{i}\"><c:v>{}</c:v></c:pt>", esc(&text));
        }
    }
    s.push_str("</c:strCache></c:strRef>");
    s
}

/// `<c:numRef>`: the range's formula and its numbers; blanks are left out (a gap).
pub(super) fn num_ref(sheet: &Sheet, range: Cells) -> String {
    let mut s = format!(
        "<c:numRef><c:f>{}</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val=\"{}\"/>",
        formula(range),
        range.len
    );
    for (i, cell) in sheet.cells(range).enumerate() {
        if let SheetCell::Number(v) = cell
            && v.is_finite()
        {
            let _ = write!(s, "<c:pt idx=\"{i}\"><c:v>{}</c:v></c:pt>", number_text(v));
        }
    }
    s.push_str("</c:numCache></c:numRef>");
    s
}

/// A series' name: its column's header.
pub(super) fn series_name(sheet: &Sheet, column: usize) -> String {
    let col = column_letter(column);
    format!(
        "<c:tx><c:strRef><c:f>{SHEET}!${col}$1</c:f><c:strCache><c:ptCount val=\"1\"/>\
         <c:pt idx=\"0\"><c:v>{}</c:v></c:pt></c:strCache></c:strRef></c:tx>",
        esc(sheet.header(column))
    )
}

pub(super) fn numbers(values: &[f64]) -> Vec<SheetCell> {
    values.iter().map(|v| SheetCell::Number(*v)).collect()
}

pub(super) fn texts(texts: &[String]) -> Vec<SheetCell> {
    texts.iter().map(|t| SheetCell::Text(t.clone())).collect()
}
