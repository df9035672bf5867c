//! Where rows go: one [`TableSink`] per file, fed one row at a time.
//!
//! - [`CsvSink`] writes canonical CSV (UTF-8 without BOM, `\n`, ISO dates,
//!   empty field = null, RFC 4180 quoting where a field needs it) or, configured for exports, GB18030 with CRLF,
//!   Chinese headers and labels and `2025/3/5` dates; rows pass through a
//!   buffered writer, never held.
//! - [`ParquetSink`] fills Arrow builders typed from the data contract (Utf8,
//!   Int64, Float64, Date32, Boolean) and hands a batch to the Parquet writer every
//!   [`BATCH_ROWS`] rows.
//! - [`XlsxSink`] builds a workbook (exports only; small tables).
//!
//! Every file is written to a temporary file beside its destination and
//! renamed into place when complete ([`sunward_core::atomic`]).

use crate::calendar::epoch_days;
use crate::world::Student;
use crate::{Progress, ROWS_PER_REPORT};
use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
    Time64NanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sunward_core::atomic::AtomicFile;
use sunward_core::contract::{ColumnType, TableSpec};
use sunward_core::{Diagnostic, Result};

/// Rows per Arrow batch handed to the Parquet writer.
pub const BATCH_ROWS: usize = 65_536;

/// One value of a row, in the table's canonical column order.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// Null (an empty CSV field).
    Null,
    /// Text.
    Str(&'a str),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// A date.
    Date(NaiveDate),
    /// A yes/no value, written `true` or `false`.
    Bool(bool),
    /// A time of day in seconds after midnight, written `18:30` (or `18:30:15`).
    Time(i32),
    /// A student, written as their `student_ref` (or, in exports, their roll number).
    Student(Student),
}

/// A file that has been written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The table it holds.
    pub table: String,
    /// Where it is.
    pub path: PathBuf,
    /// Data rows.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
}

/// A table being written.
pub trait TableSink {
    /// Write one row (cells in canonical column order).
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()>;
    /// Finish the file and move it into place.
    fn finish(self: Box<Self>, rows: u64) -> Result<Written>;
}

/// How students are written.
#[derive(Debug, Clone, Copy)]
pub struct Keys {
    /// The seed, for `student_ref`.
    pub seed: u64,
    /// The region prefix of roll numbers (`3205`).
    pub region: &'static str,
}

impl Keys {
    /// A student's roll number (学籍号): `G`, the region, 13 digits; one-to-one
    /// with the student (an affine bijection of an injective code modulo 10¹³).
    pub fn roll(&self, s: Student) -> String {
        const M: u128 = 10_000_000_000_000;
        let code = (u128::from(s.school) * 100 + (i64::from(s.entry).rem_euclid(100)) as u128) * 100_000
            + u128::from(s.serial % 100_000);
        let offset = u128::from(crate::rng::mix64(self.seed ^ 0x0726)) % M;
        let mixed = (code * 7_919_262_157 + offset) % M;
        format!("G{}{mixed:013}", self.region)
    }
}

fn write_error(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> Diagnostic {
    Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e)
}

/// Open the temporary file for `path` and a second handle to write through.
fn open(path: &Path) -> Result<(AtomicFile, File)> {
    let mut atomic = AtomicFile::create(path)?;
    let handle = atomic.file().try_clone().map_err(|e| write_error(path, e))?;
    Ok((atomic, handle))
}

/// Make the file readable by everyone, like a file written by any other tool
/// (temporary files start private).
fn share(atomic: &mut AtomicFile) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = atomic.path().to_path_buf();
        atomic.file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(|e| write_error(&path, e))?;
    }
    #[cfg(not(unix))]
    let _ = atomic;
    Ok(())
}

fn commit(mut atomic: AtomicFile, table: &str, rows: u64) -> Result<Written> {
    share(&mut atomic)?;
    let path = atomic.commit()?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(Written { table: table.to_string(), path, rows, bytes })
}

// ----------------------------------------------------------------------- CSV

/// How one output column is made from a canonical cell.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// As is (students as `student_ref`).
    Plain,
    /// A code replaced by its first label among the contract's `(label, code)` pairs.
    Label(&'static [(&'static str, &'static str)]),
    /// A student as their roll number.
    Roll,
    /// A student as a made-up name.
    Name,
}

/// One output column: its header, the canonical column it comes from, and how.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header text.
    pub header: String,
    /// Index of the canonical column.
    pub source: usize,
    /// Rendering.
    pub style: Style,
}

/// The layout of a CSV file.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    /// Columns in file order.
    pub columns: Vec<Column>,
    /// GB18030 instead of UTF-8.
    pub gb18030: bool,
    /// `\r\n` instead of `\n`.
    pub crlf: bool,
    /// Dates as `2025/3/5` instead of `2025-03-05`.
    pub slash_dates: bool,
}

impl CsvLayout {
    /// The canonical layout of a contract table.
    pub fn canonical(table: &TableSpec) -> CsvLayout {
        let columns = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| Column { header: c.name.to_string(), source: i, style: Style::Plain })
            .collect();
        CsvLayout { columns, gb18030: false, crlf: false, slash_dates: false }
    }
}

/// Writes a CSV file row by row.
pub struct CsvSink {
    table: String,
    path: PathBuf,
    atomic: AtomicFile,
    file: BufWriter<File>,
    record: String,
    layout: CsvLayout,
    keys: Keys,
    text: String,
}

impl CsvSink {
    /// Start `path` with the layout's header.
    pub fn create(path: &Path, table: &str, layout: CsvLayout, keys: Keys) -> Result<CsvSink> {
        let (atomic, handle) = open(path)?;
        let mut sink = CsvSink {
            table: table.to_string(),
            path: path.to_path_buf(),
            atomic,
            file: BufWriter::with_capacity(1 << 20, handle),
            record: String::with_capacity(512),
            layout,
            keys,
            text: String::new(),
        };
        for i in 0..sink.layout.columns.len() {
            let header = std::mem::take(&mut sink.layout.columns[i].header);
            sink.field(i, &header);
            sink.layout.columns[i].header = header;
        }
        sink.emit()?;
        Ok(sink)
    }

    /// Append field `i` of the current record, quoted when it must be (RFC 4180).
    fn field(&mut self, i: usize, text: &str) {
        if i > 0 {
            self.record.push(',');
        }
        if text.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
            self.record.push('"');
            self.record.push_str(&text.replace('"', "\"\""));
            self.record.push('"');
        } else {
            self.record.push_str(text);
        }
    }

    /// End the record and move it to the file, transcoding if needed.
    fn emit(&mut self) -> Result<()> {
        self.record.push_str(if self.layout.crlf { "\r\n" } else { "\n" });
        let result = if self.layout.gb18030 {
            let (encoded, _, _) = encoding_rs::GB18030.encode(&self.record);
            self.file.write_all(&encoded)
        } else {
            self.file.write_all(self.record.as_bytes())
        };
        self.record.clear();
        result.map_err(|e| write_error(&self.path, e))
    }
}

/// Render a cell as text into `out` (cleared first).
fn render(cell: &Cell<'_>, style: Style, slash_dates: bool, keys: &Keys, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    match (cell, style) {
        (Cell::Null, _) => {}
        (Cell::Str(s), Style::Label(labels)) => {
            out.push_str(labels.iter().find(|(_, code)| code == s).map_or(*s, |(label, _)| *label))
        }
        (Cell::Str(s), _) => out.push_str(s),
        (Cell::Int(v), _) => {
            let _ = write!(out, "{v}");
        }
        (Cell::Float(v), _) => {
            let _ = write!(out, "{v}");
        }
        (Cell::Date(d), _) if slash_dates => {
            let _ = write!(out, "{}/{}/{}", d.year(), d.month(), d.day());
        }
        (Cell::Date(d), _) => {
            let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
        }
        (Cell::Bool(b), _) => out.push_str(if *b { "true" } else { "false" }),
        (Cell::Time(t), _) if t % 60 == 0 => {
            let _ = write!(out, "{:02}:{:02}", t / 3600, t / 60 % 60);
        }
        (Cell::Time(t), _) => {
            let _ = write!(out, "{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
        }
        (Cell::Student(s), Style::Roll) => out.push_str(&keys.roll(*s)),
        (Cell::Student(s), Style::Name) => out.push_str(&crate::names::fake_name(keys.seed, *s)),
        (Cell::Student(s), _) => out.extend(s.reference(keys.seed).iter().map(|b| char::from(*b))),
    }
}

impl TableSink for CsvSink {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        let mut text = std::mem::take(&mut self.text);
        for i in 0..self.layout.columns.len() {
            let column = &self.layout.columns[i];
            let cell = cells.get(column.source).copied().unwrap_or(Cell::Null);
            render(&cell, column.style, self.layout.slash_dates, &self.keys, &mut text);
            self.field(i, &text);
        }
        self.text = text;
        self.emit()
    }

    fn finish(mut self: Box<Self>, rows: u64) -> Result<Written> {
        self.file.flush().map_err(|e| write_error(&self.path, e))?;
        let CsvSink { atomic, table, .. } = *self;
        commit(atomic, &table, rows)
    }
}

// ------------------------------------------------------------------- Parquet

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Bool(BooleanBuilder),
    Time(Time64NanosecondBuilder),
}

/// Writes a Parquet file in batches of [`BATCH_ROWS`] rows.
pub struct ParquetSink {
    table: String,
    path: PathBuf,
    atomic: AtomicFile,
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    builders: Vec<Builder>,
    pending: usize,
    keys: Keys,
}

/// The Arrow schema of a contract table.
pub fn arrow_schema(table: &TableSpec) -> SchemaRef {
    let fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| {
            let ty = match c.ty {
                ColumnType::String => DataType::Utf8,
                ColumnType::Bool => DataType::Boolean,
                ColumnType::Int => DataType::Int64,
                ColumnType::Float => DataType::Float64,
                ColumnType::Date => DataType::Date32,
                ColumnType::Time => DataType::Time64(TimeUnit::Nanosecond),
            };
            Field::new(c.name, ty, !c.required)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

impl ParquetSink {
    /// Start `path` for the rows of `table`, reported as `name` (the file's
    /// table: `centre_services` follows the `services` contract).
    pub fn create(path: &Path, name: &str, table: &TableSpec, keys: Keys) -> Result<ParquetSink> {
        let (atomic, handle) = open(path)?;
        let schema = arrow_schema(table);
        // Fixed properties and no timestamps: the same rows give the same bytes.
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("sunward-datagen {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer =
            ArrowWriter::try_new(handle, schema.clone(), Some(properties)).map_err(|e| write_error(path, e))?;
        let mut sink = ParquetSink {
            table: name.to_string(),
            path: path.to_path_buf(),
            atomic,
            writer,
            schema,
            builders: Vec::new(),
            pending: 0,
            keys,
        };
        sink.builders = sink.new_builders();
        Ok(sink)
    }

    fn new_builders(&self) -> Vec<Builder> {
        self.schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int64 => Builder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
                DataType::Float64 => Builder::Float(Float64Builder::with_capacity(BATCH_ROWS)),
                DataType::Date32 => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS)),
                DataType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(BATCH_ROWS)),
                DataType::Time64(_) => Builder::Time(Time64NanosecondBuilder::with_capacity(BATCH_ROWS)),
                _ => Builder::Str(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 16)),
            })
            .collect()
    }

    fn flush_batch(&mut self) -> Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        let fresh = self.new_builders();
        let columns: Vec<ArrayRef> = std::mem::replace(&mut self.builders, fresh)
            .into_iter()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Str(mut b) => Arc::new(b.finish()),
                    Builder::Int(mut b) => Arc::new(b.finish()),
                    Builder::Float(mut b) => Arc::new(b.finish()),
                    Builder::Date(mut b) => Arc::new(b.finish()),
                    Builder::Bool(mut b) => Arc::new(b.finish()),
                    Builder::Time(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| write_error(&self.path, e))?;
        self.writer.write(&batch).map_err(|e| write_error(&self.path, e))?;
        self.pending = 0;
        Ok(())
    }
}

impl TableSink for ParquetSink {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        for (i, builder) in self.builders.iter_mut().enumerate() {
            let cell = cells.get(i).copied().unwrap_or(Cell::Null);
            let mismatch = || {
                Diagnostic::runtime(format!(
                    "internal: a value of the wrong type for {}.{}",
                    self.table,
                    self.schema.field(i).name()
                ))
            };
            match (builder, cell) {
                (Builder::Str(b), Cell::Null) => b.append_null(),
                (Builder::Int(b), Cell::Null) => b.append_null(),
                (Builder::Float(b), Cell::Null) => b.append_null(),
                (Builder::Date(b), Cell::Null) => b.append_null(),
                (Builder::Bool(b), Cell::Null) => b.append_null(),
                (Builder::Time(b), Cell::Null) => b.append_null(),
                (Builder::Str(b), Cell::Str(s)) => b.append_value(s),
                (Builder::Str(b), Cell::Student(s)) => {
                    let r = s.reference(self.keys.seed);
                    b.append_value(std::str::from_utf8(&r).unwrap_or_default())
                }
                (Builder::Int(b), Cell::Int(v)) => b.append_value(v),
                (Builder::Float(b), Cell::Float(v)) => b.append_value(v),
                (Builder::Date(b), Cell::Date(d)) => b.append_value(epoch_days(d)),
                (Builder::Bool(b), Cell::Bool(v)) => b.append_value(v),
                (Builder::Time(b), Cell::Time(t)) => b.append_value(i64::from(t) * 1_000_000_000),
                _ => return Err(mismatch()),
            }
        }
        self.pending += 1;
        if self.pending >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, rows: u64) -> Result<Written> {
        self.flush_batch()?;
        let ParquetSink { atomic, writer, table, path, .. } = *self;
        writer.close().map_err(|e| write_error(&path, e))?;
        commit(atomic, &table, rows)
    }
}

// ---------------------------------------------------------------------- XLSX

/// Builds one worksheet in memory and writes the workbook when finished.
pub struct XlsxSink {
    table: String,
    path: PathBuf,
    workbook: rust_xlsxwriter::Workbook,
    columns: Vec<Column>,
    keys: Keys,
    row: u32,
    text: String,
    date: rust_xlsxwriter::Format,
}

impl XlsxSink {
    /// Start a workbook with one sheet called `sheet` and the columns' headers.
    pub fn create(path: &Path, table: &str, sheet: &str, columns: Vec<Column>, keys: Keys) -> Result<XlsxSink> {
        let xlsx = |e: rust_xlsxwriter::XlsxError| write_error(path, e);
        let mut workbook = rust_xlsxwriter::Workbook::new();
        // A fixed creation time: the same rows give the same bytes.
        let created = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 1, 1).map_err(xlsx)?;
        workbook.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&created));
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheet_ref = workbook.add_worksheet();
        sheet_ref.set_name(sheet).map_err(xlsx)?;
        for (i, c) in columns.iter().enumerate() {
            sheet_ref.write_string_with_format(0, i as u16, &c.header, &bold).map_err(xlsx)?;
            sheet_ref.set_column_width(i as u16, 14).map_err(xlsx)?;
        }
        sheet_ref.set_freeze_panes(1, 0).map_err(xlsx)?;
        Ok(XlsxSink {
            table: table.to_string(),
            path: path.to_path_buf(),
            workbook,
            columns,
            keys,
            row: 0,
            text: String::new(),
            date: rust_xlsxwriter::Format::new().set_num_format("yyyy/m/d"),
        })
    }
}

impl TableSink for XlsxSink {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        let path = self.path.clone();
        let xlsx = |e: rust_xlsxwriter::XlsxError| write_error(&path, e);
        self.row += 1;
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx)?;
        for (i, column) in self.columns.iter().enumerate() {
            let (r, c) = (self.row, i as u16);
            match cells.get(column.source).copied().unwrap_or(Cell::Null) {
                Cell::Null => {}
                Cell::Int(v) => {
                    sheet.write_number(r, c, v as f64).map_err(xlsx)?;
                }
                Cell::Float(v) => {
                    sheet.write_number(r, c, v).map_err(xlsx)?;
                }
                Cell::Bool(v) => {
                    sheet.write_boolean(r, c, v).map_err(xlsx)?;
                }
                Cell::Date(d) => {
                    let date =
                        rust_xlsxwriter::ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .map_err(xlsx)?;
                    sheet.write_datetime_with_format(r, c, &date, &self.date).map_err(xlsx)?;
                }
                cell => {
                    render(&cell, column.style, true, &self.keys, &mut self.text);
                    sheet.write_string(r, c, &self.text).map_err(xlsx)?;
                }
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, rows: u64) -> Result<Written> {
        let bytes = self.workbook.save_to_buffer().map_err(|e| write_error(&self.path, e))?;
        let mut atomic = AtomicFile::create(&self.path)?;
        atomic.file().write_all(&bytes).map_err(|e| write_error(&self.path, e))?;
        commit(atomic, &self.table, rows)
    }
}

/// A table being written, counting its rows and reporting progress.
pub struct Out<'a> {
    /// The sink.
    pub sink: Box<dyn TableSink>,
    /// The table's name.
    pub table: &'static str,
    /// Rows written so far.
    pub rows: u64,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
}

impl Out<'_> {
    pub(crate) fn push(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        self.sink.row(cells)?;
        self.rows += 1;
        if self.rows.is_multiple_of(ROWS_PER_REPORT) {
            self.progress.rows(self.table, self.rows);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolls_are_one_to_one_and_shaped() {
        let keys = Keys { seed: 5, region: "3205" };
        let mut seen = std::collections::BTreeSet::new();
        for school in 0..3u16 {
            for entry in [2016i16, 2019, 2025] {
                for serial in 0..400 {
                    let roll = keys.roll(Student { school, entry, serial });
                    assert_eq!(roll.len(), 18, "{roll}");
                    assert!(roll.starts_with("G3205"));
                    assert!(roll[1..].bytes().all(|b| b.is_ascii_digit()));
                    assert!(seen.insert(roll));
                }
            }
        }
    }
}
