//! The `xlsx` output: a workbook with a sheet per table.
//!
//! Headers are bold and frozen, numbers stay numbers, dates get a date
//! format, nulls are empty cells, and column widths are fitted to the content
//! (a Chinese character counts twice), so the workbook is readable as soon as
//! it is opened. Sheets are named after their tables, or as the `sheets:`
//! mapping says (`服务汇总: by_school`). Excel's limits — 1,048,576 rows and
//! 16,384 columns a sheet, 32,767 characters a cell, sheet names of at most
//! 31 characters without `[ ] : * ? / \` — are checked with a clear message
//! before anything is written.

use super::{table, write_error};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampMillisecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use sunward_core::atomic::write_atomic;
use sunward_core::yaml::PathPart;
use sunward_core::{ConfigIssue, Diagnostic, Plugin, PluginInfo, Result, RunContext, Sink, TableData};

/// Writes tables to an Excel workbook.
pub struct XlsxSink;

/// Settings of an `xlsx` output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct XlsxSinkConfig {
    /// The tables to write, one sheet each, named after the table, in this order.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Sheets named as you choose: sheet name → table (`服务汇总: by_school`),
    /// written after those of `tables`, in this order. A sheet name has at most
    /// 31 characters and none of `[ ] : * ? / \`.
    #[serde(default, deserialize_with = "ordered_pairs")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub sheets: Vec<(String, String)>,
    /// The file, relative to the output folder; `${param}` is replaced.
    pub path: String,
}

impl XlsxSinkConfig {
    /// Every sheet to write, as (sheet name, table), in workbook order.
    pub fn sheet_list(&self) -> Vec<(String, String)> {
        self.tables.iter().map(|t| (t.clone(), t.clone())).chain(self.sheets.iter().cloned()).collect()
    }
}

/// Read a mapping into pairs, keeping the order it is written in.
fn ordered_pairs<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Vec<(String, String)>, D::Error> {
    struct Pairs;
    impl<'de> Visitor<'de> for Pairs {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of sheet name to table name")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
            let mut pairs = Vec::new();
            while let Some((sheet, table)) = map.next_entry::<String, String>()? {
                pairs.push((sheet, table));
            }
            Ok(pairs)
        }
    }
    deserializer.deserialize_map(Pairs)
}

/// Excel's row limit per sheet (header included).
const MAX_ROWS: usize = 1_048_576;
/// Excel's column limit per sheet.
const MAX_COLUMNS: usize = 16_384;
/// Excel's limit on the characters of one cell.
const MAX_CELL_CHARS: usize = 32_767;
/// The widest a column is made, in characters.
const MAX_WIDTH: usize = 60;
/// The Excel serial number of 1970-01-01.
const EXCEL_EPOCH: f64 = 25_569.0;

/// Why Excel would refuse `name` as a sheet name, if it would.
pub fn sheet_name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some("a sheet name cannot be empty".to_string())
    } else if name.chars().count() > 31 {
        Some(format!("sheet name \"{name}\" has {} characters, more than the 31 Excel allows", name.chars().count()))
    } else if let Some(c) = name.chars().find(|c| "[]:*?/\\".contains(*c)) {
        Some(format!("sheet name \"{name}\" holds `{c}`, which Excel does not allow in a sheet name"))
    } else if name.starts_with('\'') || name.ends_with('\'') {
        Some(format!("sheet name \"{name}\" starts or ends with `'`, which Excel does not allow"))
    } else if name.eq_ignore_ascii_case("history") {
        Some("\"History\" is a sheet name Excel reserves".to_string())
    } else {
        None
    }
}

/// Problems with the sheet list, each with the path of the field it concerns.
fn sheet_problems(config: &XlsxSinkConfig) -> Vec<(Vec<PathPart>, String)> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    let places = config
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| (vec![PathPart::Key("tables".into()), PathPart::Index(i)], t))
        .chain(config.sheets.iter().map(|(s, _)| (vec![PathPart::Key("sheets".into()), PathPart::Key(s.clone())], s)));
    for (path, sheet) in places {
        if let Some(problem) = sheet_name_problem(sheet) {
            problems.push((path, problem));
        } else if !seen.insert(sheet.to_lowercase()) {
            problems.push((path, format!("sheet name \"{sheet}\" is used twice (Excel ignores case)")));
        }
    }
    problems
}

const SHEET_HINT: &str =
    "name the sheet with `sheets: {汇总: table}`: at most 31 characters, none of [ ] : * ? / \\, unique";

impl Plugin for XlsxSink {
    type Config = XlsxSinkConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "xlsx",
        description: "writes tables to an Excel workbook, a sheet per table",
        example: "plugin: xlsx\ntables: [by_school]\nsheets:\n  服务类型: by_type\npath: 汇总_${year}.xlsx\n",
    };
    fn check(&self, config: &XlsxSinkConfig) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if config.tables.is_empty() && config.sheets.is_empty() {
            issues.push(
                ConfigIssue::field("tables", "list at least one table")
                    .hint("write `tables: [by_school]` or `sheets: {汇总: by_school}`"),
            );
        }
        for (path, message) in sheet_problems(config) {
            issues.push(ConfigIssue { path, message, hint: Some(SHEET_HINT.to_string()) });
        }
        issues
    }
}

/// Columns a character takes in Excel's default font: two for East Asian wide
/// characters (Chinese, Japanese, Korean, full-width forms), one otherwise.
fn char_width(c: char) -> usize {
    match c as u32 {
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

/// The width of `text` in columns (see [`char_width`]).
pub fn display_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// A number for a cell of a numeric column.
fn number_at(array: &dyn Array, i: usize) -> Option<f64> {
    Some(match array.data_type() {
        DataType::Int8 => f64::from(array.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => f64::from(array.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => f64::from(array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(i) as f64,
        DataType::UInt8 => f64::from(array.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => f64::from(array.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => f64::from(array.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(i) as f64,
        DataType::Float16 => f64::from(array.as_primitive::<Float16Type>().value(i)),
        DataType::Float32 => f64::from(array.as_primitive::<Float32Type>().value(i)),
        DataType::Float64 => array.as_primitive::<Float64Type>().value(i),
        _ => return None,
    })
}

/// How a column is written.
enum Kind {
    /// As numbers.
    Number,
    /// As Excel dates (days since 1970 in a Date32 array).
    Date,
    /// As Excel date-times (milliseconds since 1970 in a Timestamp array).
    DateTime(ArrayRef),
    /// As true/false.
    Bool,
    /// As Decimal numbers (parsed from their text).
    Decimal,
    /// As text.
    Text,
}

fn kind_of(array: &ArrayRef) -> Kind {
    match array.data_type() {
        t if t.is_integer() || t.is_floating() => Kind::Number,
        DataType::Date32 => Kind::Date,
        DataType::Date64 | DataType::Timestamp(_, None) => {
            match cast(array, &DataType::Timestamp(TimeUnit::Millisecond, None)) {
                Ok(millis) => Kind::DateTime(millis),
                Err(_) => Kind::Text,
            }
        }
        DataType::Boolean => Kind::Bool,
        DataType::Decimal128(..) | DataType::Decimal256(..) => Kind::Decimal,
        _ => Kind::Text,
    }
}

struct Formats {
    bold: Format,
    date: Format,
    datetime: Format,
}

/// Where cells are written, for messages: the workbook's file and the sheet's name.
struct SheetPlace<'a> {
    path: &'a Path,
    sheet_name: &'a str,
}

impl SheetPlace<'_> {
    /// The error for a cell (0-based `row`, column `field`) that could not be written.
    fn cell_error(&self, row: u32, field: &str, e: XlsxError) -> Diagnostic {
        Diagnostic::runtime(format!(
            "cannot write {}: sheet \"{}\" row {} column {field}: {e}",
            self.path.display(),
            self.sheet_name,
            row + 1
        ))
        .caused_by(e)
    }

    /// The error for a text (0-based `row`, column `field`) longer than a cell holds.
    fn too_long(&self, row: u32, field: &str, chars: usize) -> Diagnostic {
        Diagnostic::runtime(format!(
            "cannot write {}: sheet \"{}\" row {} column {field} holds {chars} characters, \
             more than the {MAX_CELL_CHARS} an Excel cell holds",
            self.path.display(),
            self.sheet_name,
            row + 1,
        ))
        .hint("shorten the value in the query (e.g. `left(column, 1000)`), or use the csv output")
    }
}

/// Write one table into `sheet`.
fn fill_sheet(sheet: &mut Worksheet, sheet_name: &str, data: &TableData, path: &Path, formats: &Formats) -> Result<()> {
    let place = SheetPlace { path, sheet_name };
    let sheet_error = |e: XlsxError| write_error(path, e);
    let fields = data.schema.fields();
    let mut widths = write_header(sheet, data, formats, &place)?;
    sheet.set_freeze_panes(1, 0).map_err(sheet_error)?;
    let options = FormatOptions::default().with_display_error(true);
    let mut row = 1u32;
    for batch in &data.batches {
        for (col, array) in batch.columns().iter().enumerate() {
            let name = fields.get(col).map(|f| f.name().as_str()).unwrap_or_default();
            let formatter = ArrayFormatter::try_new(array.as_ref(), &options).map_err(|e| write_error(path, e))?;
            let column = Column { array, kind: kind_of(array), formatter, index: col as u16, name };
            let widest = write_column(sheet, &column, row, formats, &place)?;
            if let Some(w) = widths.get_mut(col) {
                *w = (*w).max(widest);
            }
        }
        row += batch.num_rows() as u32;
    }
    for (col, w) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, (*w + 2).min(MAX_WIDTH) as f64).map_err(sheet_error)?;
    }
    Ok(())
}

/// Write the header row in bold; returns each column's width so far.
fn write_header(
    sheet: &mut Worksheet,
    data: &TableData,
    formats: &Formats,
    place: &SheetPlace<'_>,
) -> Result<Vec<usize>> {
    let fields = data.schema.fields();
    let mut widths: Vec<usize> = Vec::with_capacity(fields.len());
    for (col, field) in fields.iter().enumerate() {
        let c = col as u16;
        sheet
            .write_string_with_format(0, c, field.name(), &formats.bold)
            .map_err(|e| place.cell_error(0, field.name(), e))?;
        widths.push(display_width(field.name()));
    }
    Ok(widths)
}

/// One column of a batch, ready to be written.
struct Column<'a> {
    array: &'a ArrayRef,
    kind: Kind,
    /// The column's values as text, for text cells and widths.
    formatter: ArrayFormatter<'a>,
    /// Its 0-based position in the sheet.
    index: u16,
    /// Its header, for messages.
    name: &'a str,
}

/// Write a batch's column from sheet row `first_row` on (nulls stay empty);
/// returns the width of its widest value.
fn write_column(
    sheet: &mut Worksheet,
    column: &Column<'_>,
    first_row: u32,
    formats: &Formats,
    place: &SheetPlace<'_>,
) -> Result<usize> {
    let mut widest = 0;
    for i in 0..column.array.len() {
        if column.array.is_null(i) {
            continue;
        }
        let r = first_row + i as u32;
        let shown = column.formatter.value(i).to_string();
        if matches!(column.kind, Kind::Text) && shown.len() > MAX_CELL_CHARS && shown.chars().count() > MAX_CELL_CHARS {
            return Err(place.too_long(r, column.name, shown.chars().count()));
        }
        write_cell(sheet, column, r, i, &shown, formats).map_err(|e| place.cell_error(r, column.name, e))?;
        widest = widest.max(display_width(&shown));
    }
    Ok(widest)
}

/// Write value `i` of `column` at sheet row `r`, as its kind says (`shown` is its text).
fn write_cell(
    sheet: &mut Worksheet,
    column: &Column<'_>,
    r: u32,
    i: usize,
    shown: &str,
    formats: &Formats,
) -> std::result::Result<(), XlsxError> {
    let (c, array) = (column.index, column.array);
    match &column.kind {
        Kind::Number => match number_at(array.as_ref(), i) {
            Some(x) if x.is_finite() => sheet.write_number(r, c, x).map(|_| ()),
            _ => sheet.write_string(r, c, shown).map(|_| ()),
        },
        Kind::Decimal => match shown.parse::<f64>() {
            Ok(x) if x.is_finite() => sheet.write_number(r, c, x).map(|_| ()),
            _ => sheet.write_string(r, c, shown).map(|_| ()),
        },
        Kind::Date => {
            let days = array.as_primitive::<Date32Type>().value(i);
            sheet.write_number_with_format(r, c, f64::from(days) + EXCEL_EPOCH, &formats.date).map(|_| ())
        }
        Kind::DateTime(millis) => {
            let ms = millis.as_primitive::<TimestampMillisecondType>().value(i);
            let serial = ms as f64 / 86_400_000.0 + EXCEL_EPOCH;
            sheet.write_number_with_format(r, c, serial, &formats.datetime).map(|_| ())
        }
        Kind::Bool => sheet.write_boolean(r, c, array.as_boolean().value(i)).map(|_| ()),
        Kind::Text => sheet.write_string(r, c, shown).map(|_| ()),
    }
}

impl Sink for XlsxSink {
    fn inputs(&self, config: &XlsxSinkConfig) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (_, t) in config.sheet_list() {
            if !names.contains(&t) {
                names.push(t);
            }
        }
        names
    }

    fn write(&self, config: &XlsxSinkConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>> {
        let path = ctx.output_path(&config.path)?;
        let sheets = config.sheet_list();
        if sheets.is_empty() {
            return Err(Diagnostic::invalid(format!("{} would hold no sheet", path.display()))
                .hint("list the tables to write under `tables:` or `sheets:`"));
        }
        if let Some((_, problem)) = sheet_problems(config).into_iter().next() {
            return Err(Diagnostic::invalid(format!("cannot write {}: {problem}", path.display())).hint(SHEET_HINT));
        }
        // Every limit is checked before the first cell is written.
        let mut data = Vec::with_capacity(sheets.len());
        for (sheet, name) in &sheets {
            let t = table(tables, name)?;
            if t.num_rows() + 1 > MAX_ROWS {
                return Err(Diagnostic::runtime(format!(
                    "cannot write {}: table \"{name}\" has {} rows, more than an Excel sheet holds ({})",
                    path.display(),
                    t.num_rows(),
                    MAX_ROWS - 1
                ))
                .hint("filter or aggregate it in a step, or write it with the csv or parquet output"));
            }
            if t.schema.fields().len() > MAX_COLUMNS {
                return Err(Diagnostic::runtime(format!(
                    "cannot write {}: table \"{name}\" has {} columns, more than an Excel sheet holds ({MAX_COLUMNS})",
                    path.display(),
                    t.schema.fields().len()
                ))
                .hint("select fewer columns in a step, or write it with the csv or parquet output"));
            }
            data.push((sheet, t));
        }
        let formats = Formats {
            bold: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        };
        let mut book = Workbook::new();
        for (sheet_name, t) in data {
            let sheet = book.add_worksheet();
            sheet.set_name(sheet_name.as_str()).map_err(|e| write_error(&path, e))?;
            fill_sheet(sheet, sheet_name, t, &path, &formats)?;
        }
        let bytes = book.save_to_buffer().map_err(|e| write_error(&path, e))?;
        let written = write_atomic(&path, |w| w.write_all(&bytes).map_err(|e| write_error(&path, e)))?;
        Ok(vec![written])
    }
}
