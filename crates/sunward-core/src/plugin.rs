//! Plugins: the traits a source, a transform or a sink implements, and the
//! [`Registry`] that holds them by name.
//!
//! A plugin is a value implementing [`Plugin`] (its typed `Config` and its
//! [`PluginInfo`]) plus one of [`Source`], [`Transform`] or [`Sink`] — each with
//! two required methods. Built-in plugins and third-party ones register through
//! the same call, `registry.add_source(MySource)` and friends, from a crate's
//! `pub fn register(registry: &mut Registry)`.
//!
//! Sources only read: they turn a file into [`RawRow`]s of [`RawCell`]s with
//! their physical place. Header and value mapping, date parsing, the data
//! contract and bad-row handling are applied by the engine for every source, so
//! a new export format gets them for free.

use crate::diag::{Diagnostic, Result};
use crate::params::{ParamValue, interpolate};
use crate::sql_functions::SqlFunctions;
use crate::yaml::PathPart;
use async_trait::async_trait;
use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::ParamValues;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::logical_expr::{AggregateUDF, Documentation, ScalarUDF, Signature, TypeSignature, WindowUDF};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::prelude::DataFrame;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a plugin does in a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginKind {
    /// Reads an export into a table (`sources:`).
    Source,
    /// Makes a table from other tables (`steps:`).
    Transform,
    /// Writes tables to files (`outputs:`).
    Sink,
}

impl PluginKind {
    /// The pipeline section whose entries use this kind.
    pub fn section(self) -> &'static str {
        match self {
            PluginKind::Source => "sources",
            PluginKind::Transform => "steps",
            PluginKind::Sink => "outputs",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::Source => "source",
            PluginKind::Transform => "transform",
            PluginKind::Sink => "sink",
        })
    }
}

/// A plugin's name, description and example, shown by `sunward plugins`.
#[derive(Debug, Clone, Copy)]
pub struct PluginInfo {
    /// The `plugin:` value in a pipeline.
    pub name: &'static str,
    /// One sentence on what it does.
    pub description: &'static str,
    /// A YAML example of a whole entry (a mapping with `plugin:`); tests parse it.
    pub example: &'static str,
}

/// A problem in a plugin's configuration found by [`Plugin::check`].
#[derive(Debug, Clone)]
pub struct ConfigIssue {
    /// The field it concerns, as a path inside the entry (empty: the entry).
    pub path: Vec<PathPart>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

impl ConfigIssue {
    /// An issue about the top-level field `field` of the entry.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ConfigIssue { path: vec![PathPart::Key(field.to_string())], message: message.into(), hint: None }
    }
    /// Add a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// What every plugin has: a typed configuration and a description.
pub trait Plugin: Send + Sync + 'static {
    /// The entry's settings. Derive `Deserialize` with
    /// `#[serde(deny_unknown_fields)]` and `JsonSchema`, and document every
    /// field: the doc comments are the user documentation.
    type Config: DeserializeOwned + JsonSchema + Send + Sync + 'static;
    /// Name, description and example.
    const INFO: PluginInfo;
    /// Checks beyond what the types say, without I/O. Defaults to none.
    fn check(&self, _config: &Self::Config) -> Vec<ConfigIssue> {
        Vec::new()
    }
}

/// Where a raw row came from, for error messages and the rejects file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RowPlace {
    /// A physical line of a text file (the header is line 1); for a record
    /// spanning lines, the line where it starts.
    Line(u64),
    /// A row of a workbook sheet, 1-based as a spreadsheet shows it.
    Sheet {
        /// Sheet name.
        sheet: String,
        /// 1-based row number.
        row: u64,
    },
    /// The n-th record (1-based) of a binary file such as Parquet.
    Record(u64),
}

impl fmt::Display for RowPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowPlace::Line(n) => write!(f, "line {n}"),
            RowPlace::Sheet { sheet, row } => write!(f, "sheet {sheet} row {row}"),
            RowPlace::Record(n) => write!(f, "record {n}"),
        }
    }
}

/// A cell as the file holds it, before mapping and typing.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCell {
    /// Absent or empty: null.
    Empty,
    /// Text as written.
    Text(String),
    /// A whole number stored as a number (workbooks, JSON, Parquet).
    Int(i64),
    /// A number stored as a number (an Excel date without date format is one too).
    Float(f64),
    /// A boolean stored as such.
    Bool(bool),
    /// A date stored as such.
    Date(NaiveDate),
    /// A date and time stored as such (Excel dates arrive this way).
    DateTime(NaiveDateTime),
}

impl RawCell {
    /// The cell as text, as a person would read it in the file.
    pub fn original_text(&self) -> String {
        match self {
            RawCell::Empty => String::new(),
            RawCell::Text(s) => s.clone(),
            RawCell::Int(i) => i.to_string(),
            RawCell::Float(x) => x.to_string(),
            RawCell::Bool(b) => b.to_string(),
            RawCell::Date(d) => d.format("%Y-%m-%d").to_string(),
            RawCell::DateTime(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

/// The cell at `row` of an Arrow array, as a typed file (Parquet) holds it:
/// numbers, dates, timestamps (as wall-clock time) and booleans keep their
/// type, text stays text, anything else is shown as Arrow displays it.
pub fn cell_of_array(array: &dyn Array, row: usize) -> RawCell {
    if array.is_null(row) {
        return RawCell::Empty;
    }
    use datafusion::arrow::datatypes::*;
    let as_i64 = |v: i64| RawCell::Int(v);
    match array.data_type() {
        DataType::Utf8 => RawCell::Text(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => RawCell::Text(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => RawCell::Text(array.as_string_view().value(row).to_string()),
        DataType::Int8 => as_i64(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => as_i64(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => as_i64(array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => as_i64(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => as_i64(array.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => as_i64(array.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => as_i64(array.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => {
            let v = array.as_primitive::<UInt64Type>().value(row);
            i64::try_from(v).map(RawCell::Int).unwrap_or_else(|_| RawCell::Text(v.to_string()))
        }
        DataType::Float32 => RawCell::Float(array.as_primitive::<Float32Type>().value(row).into()),
        DataType::Float64 => RawCell::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => RawCell::Bool(array.as_boolean().value(row)),
        DataType::Date32 => {
            array.as_primitive::<Date32Type>().value_as_date(row).map(RawCell::Date).unwrap_or(RawCell::Empty)
        }
        DataType::Date64 => {
            array.as_primitive::<Date64Type>().value_as_date(row).map(RawCell::Date).unwrap_or(RawCell::Empty)
        }
        DataType::Timestamp(unit, tz) => {
            let naive = match unit {
                TimeUnit::Second => timestamp_cell::<TimestampSecondType>(array, row, tz.as_deref()),
                TimeUnit::Millisecond => timestamp_cell::<TimestampMillisecondType>(array, row, tz.as_deref()),
                TimeUnit::Microsecond => timestamp_cell::<TimestampMicrosecondType>(array, row, tz.as_deref()),
                TimeUnit::Nanosecond => timestamp_cell::<TimestampNanosecondType>(array, row, tz.as_deref()),
            };
            naive.map(RawCell::DateTime).unwrap_or_else(|| formatted_cell(array, row))
        }
        _ => formatted_cell(array, row),
    }
}

/// A timestamp as wall-clock time: in its time zone when it has one, else as stored.
fn timestamp_cell<T>(array: &dyn Array, row: usize, tz: Option<&str>) -> Option<chrono::NaiveDateTime>
where
    T: datafusion::arrow::datatypes::ArrowTimestampType,
{
    let values = array.as_primitive::<T>();
    match tz {
        None => values.value_as_datetime(row),
        Some(tz) => {
            let tz: Tz = tz.parse().ok()?;
            values.value_as_datetime_with_tz(row, tz).map(|t| t.naive_local())
        }
    }
}

/// Any other value as arrow displays it.
fn formatted_cell(array: &dyn Array, row: usize) -> RawCell {
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array, &options) {
        Ok(f) => RawCell::Text(f.value(row).to_string()),
        Err(_) => RawCell::Empty,
    }
}

/// One record of an export.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// Where it is in the file.
    pub place: RowPlace,
    /// One cell per header, in header order. A row with fewer or more cells
    /// than headers is a bad row (unless its source sets `short_rows: pad`,
    /// which reads the missing trailing cells as empty).
    pub cells: Vec<RawCell>,
    /// Set when the record itself could not be parsed (a JSON line that is not
    /// an object, say): the row is rejected with this reason, and reading goes
    /// on. Its `cells` then hold the record's original text, for the rejects file.
    pub malformed: Option<String>,
}

/// Where the records of a [`RawBatch`] are, slot by slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Places {
    /// The physical line where each record starts (text files), one per slot.
    Lines(Vec<u64>),
    /// Consecutive records of a binary file, the first numbered `first` (1-based).
    Records {
        /// The record number of slot 0.
        first: u64,
    },
    /// Every slot is a row of `RawBatch::rows`, which carries its own place.
    OfRows,
}

/// A block of records as the file holds them, before mapping and typing.
///
/// Slot `i` is either column values — `columns[c].value(i)` for each file
/// column `c`: text formats give `Utf8` arrays of the fields as written (null
/// for an empty field), typed formats such as Parquet their own arrays — or,
/// when it is listed in `rows`, a [`RawRow`] given cell by cell (a record with
/// the wrong number of fields, a malformed one, or every record of a format
/// read row by row). The columns of a slot listed in `rows` are not looked at.
#[derive(Debug, Clone)]
pub struct RawBatch {
    /// One array of `len` values per header column; empty when every slot is in `rows`.
    pub columns: Vec<ArrayRef>,
    /// The number of slots.
    pub len: usize,
    /// Where each slot is.
    pub places: Places,
    /// Slots given as rows, in ascending slot order.
    pub rows: Vec<(usize, RawRow)>,
}

impl RawBatch {
    /// A batch of rows given cell by cell.
    pub fn of_rows(rows: Vec<RawRow>) -> Self {
        RawBatch {
            columns: Vec::new(),
            len: rows.len(),
            places: Places::OfRows,
            rows: rows.into_iter().enumerate().collect(),
        }
    }

    /// The place of slot `i` when it is not one of `rows`.
    pub fn place(&self, i: usize) -> RowPlace {
        match &self.places {
            Places::Lines(lines) => RowPlace::Line(lines.get(i).copied().unwrap_or(0)),
            Places::Records { first } => RowPlace::Record(first + i as u64),
            Places::OfRows => {
                let found = self.rows.binary_search_by_key(&i, |(slot, _)| *slot).ok();
                found.and_then(|k| self.rows.get(k)).map(|(_, r)| r.place.clone()).unwrap_or(RowPlace::Record(0))
            }
        }
    }
}

/// How many records a [`RawBatch`] holds at most (a reader may return fewer).
pub const RAW_BATCH_ROWS: usize = 8192;

/// The longest record a source reads (8 MiB): a CSV record, a JSON line, a
/// run of worksheet XML between two tags. A field may hold at most 1 MiB
/// (a longer one makes its row a bad row), so a longer record is never a
/// real export: it is a quote left open, a file that is not what its name
/// says, or an attempt to exhaust memory, and stops the run with an error.
pub const MAX_RECORD_BYTES: usize = 8 << 20;

/// The most columns a source's header may have: Excel's own limit (16,384).
pub const MAX_COLUMNS: usize = 16_384;

/// A reader of one export, yielding records lazily so a large file never has
/// to fit in memory.
///
/// A reader implements [`next_row`](RowReader::next_row); a reader that can
/// give whole columns at once (CSV, Parquet) also overrides
/// [`next_batch`](RowReader::next_batch), which the engine calls, so that
/// mapping, typing and the contract's rules run over whole columns.
pub trait RowReader: Send {
    /// The column names as the file writes them (trimmed), in order.
    fn headers(&self) -> &[String];
    /// The next row; `Some(Err(_))` when the file cannot be read further (an
    /// unterminated quote, a broken encoding), `None` at the end.
    fn next_row(&mut self) -> Option<Result<RawRow>>;
    /// The next block of at most [`RAW_BATCH_ROWS`] records, in file order;
    /// `None` at the end. By default, rows from `next_row`.
    fn next_batch(&mut self) -> Option<Result<RawBatch>> {
        let mut rows = Vec::new();
        while rows.len() < RAW_BATCH_ROWS {
            match self.next_row() {
                Some(Ok(row)) => rows.push(row),
                // The file cannot be read further: the run stops here, whatever was read before.
                Some(Err(e)) => return Some(Err(e)),
                None => break,
            }
        }
        (!rows.is_empty()).then(|| Ok(RawBatch::of_rows(rows)))
    }
    /// The file this reader reads and its column names exactly as stored,
    /// when [`next_batch`](RowReader::next_batch) hands out the file's own
    /// columns, unchanged, with every record in file order (a Parquet file).
    /// A table whose every row and value passed the checks as stored can
    /// then be scanned where it lies instead of being copied. Defaults to
    /// `None`.
    fn as_stored(&self) -> Option<(&Path, &[String])> {
        None
    }
}

/// Values a plugin needs at run time: parameters, folders, the `as_of` date.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The folder of the pipeline file; relative input paths resolve against it.
    pub pipeline_dir: PathBuf,
    /// The output folder; relative output paths resolve against it.
    pub out_dir: PathBuf,
    /// Every parameter's value (declared ones, after `--set`).
    pub params: BTreeMap<String, ParamValue>,
    /// Dates more than a year after this are bad rows.
    pub as_of: NaiveDate,
    /// The SQL functions the pipeline declares (`functions:`), expanded in
    /// every query a step plans through [`StepContext::sql`].
    pub sql_functions: Arc<SqlFunctions>,
    /// The data contract the pipeline reads its sources by (the built-in
    /// one, or as its `contract:` extends it): what each code is called.
    pub contract: &'static crate::contract::Contract,
}

impl RunContext {
    /// Replace `${name}` by parameter values.
    pub fn interpolate(&self, template: &str) -> Result<String> {
        interpolate(template, |name| self.params.get(name).map(|v| v.to_string())).map_err(|name| {
            Diagnostic::invalid(format!("unknown parameter `${{{name}}}` in \"{template}\""))
                .hint("declare it under `params:` or write `$${` for a literal `${`")
        })
    }
    /// An input path: interpolated, relative to the pipeline's folder.
    pub fn input_path(&self, template: &str) -> Result<PathBuf> {
        let text = self.interpolate(template)?;
        Ok(resolve(&self.pipeline_dir, Path::new(&text)))
    }
    /// An output path: interpolated, relative to the output folder, and
    /// confined to it ([`confine`]): an absolute path, `..` that climbs out
    /// of it, or a symbolic link on the way (or at the file itself) is an
    /// error, whether it comes from the pipeline, a `--set` value or data.
    pub fn output_path(&self, template: &str) -> Result<PathBuf> {
        let text = self.interpolate(template)?;
        confine(&self.out_dir, &text).map_err(|why| {
            let from = if text == template { String::new() } else { format!(" (from \"{template}\")") };
            Diagnostic::invalid(format!("the output path \"{}\"{from} {why}", crate::diag::excerpt(&text)))
                .hint("outputs are written inside the folder given with --out: write their paths relative to it")
        })
    }
}

/// `path` inside `base`: relative, `..` never climbing above `base`, and no
/// symbolic link among the parts of it that exist already (a link could lead
/// out of `base`, or a planted one turn a write into an overwrite elsewhere).
/// Returns the joined, normalised path, or why it leaves `base`.
pub fn confine(base: &Path, path: &str) -> std::result::Result<PathBuf, String> {
    use std::path::Component;
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err("climbs out of the output folder with `..`".into());
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err("is absolute".into()),
        }
    }
    if parts.is_empty() {
        return Err("names no file".into());
    }
    let mut joined = base.to_path_buf();
    for part in parts {
        joined.push(part);
        if joined.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!("passes through the symbolic link {}", joined.display()));
        }
    }
    Ok(joined)
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() { path.to_path_buf() } else { base.join(path) }
}

/// What a transform sees: the session holding every table loaded or made so
/// far, the run context and its own name.
pub struct StepContext<'a> {
    /// The DataFusion session; tables are registered under their pipeline names.
    pub session: &'a SessionContext,
    /// Parameters and folders.
    pub run: &'a RunContext,
    /// The step's name in the pipeline.
    pub name: &'a str,
}

impl StepContext<'_> {
    /// The SQL a pipeline may run: queries only; DDL, DML and `SET` statements are refused.
    pub fn sql_options() -> SQLOptions {
        SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
    }

    /// Plan a read-only query, binding every parameter to `$name` placeholders
    /// and expanding calls to the pipeline's declared functions.
    pub async fn sql(&self, query: &str) -> Result<DataFrame> {
        let planning =
            |e: DataFusionError| Diagnostic::invalid(format!("the query does not plan: {}", e.message())).caused_by(e);
        let state = self.session.state();
        let dialect = state.config().options().sql_parser.dialect;
        let mut statement = state.sql_to_statement(query, &dialect).map_err(planning)?;
        self.run
            .sql_functions
            .expand(&mut statement)
            .map_err(|e| Diagnostic::invalid(format!("the query does not plan: {}", e.message)).hint(e.hint))?;
        let plan = state.statement_to_plan(statement).await.map_err(planning)?;
        Self::sql_options().verify_plan(&plan).map_err(planning)?;
        let df = self.session.execute_logical_plan(plan).await.map_err(planning)?;
        let values: Vec<(String, datafusion::common::ScalarValue)> =
            self.run.params.iter().map(|(k, v)| (k.clone(), v.to_scalar())).collect();
        df.with_param_values(ParamValues::from(values)).map_err(|e| {
            Diagnostic::invalid(format!("a parameter in the query cannot be bound: {}", e.message()))
                .hint("write parameters as `$name` with a name declared under `params:`")
                .caused_by(e)
        })
    }
}

/// A source: reads an export into raw rows.
pub trait Source: Plugin {
    /// The files it reads (checked for existence before a run, hashed in the manifest).
    fn files(&self, config: &Self::Config, ctx: &RunContext) -> Result<Vec<PathBuf>>;
    /// Open the export for reading. Fails when the file cannot be read at all,
    /// with a message naming the file and the cause.
    fn open(&self, config: &Self::Config, ctx: &RunContext) -> Result<Box<dyn RowReader>>;
    /// Open one part of the export, so that several workers can read one
    /// large file side by side: the records that start in `part`'s byte
    /// range of the file, numbered (lines, records) as [`Source::open`]
    /// numbers them. `None` (the default) when the format cannot be read in
    /// parts; then the export is read whole.
    fn open_part(
        &self,
        config: &Self::Config,
        ctx: &RunContext,
        part: &FilePart,
    ) -> Result<Option<Box<dyn RowReader>>> {
        let _ = (config, ctx, part);
        Ok(None)
    }
}

/// A byte range of a source's (single) file that one worker reads:
/// `start..end`, cut anywhere. A reader of the part takes the records that
/// begin in the range (a text file's first whole line at or after `start`;
/// a Parquet file's row groups whose data begins in it), so the parts of
/// `0..len` together hold every record once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilePart {
    /// The part's number, from 0, and how many parts the file is cut into.
    pub index: usize,
    /// How many parts the file is cut into.
    pub count: usize,
    /// The first byte of the range.
    pub start: u64,
    /// The byte after the range.
    pub end: u64,
}

impl FilePart {
    /// `count` parts of about equal size cutting a file of `len` bytes.
    pub fn cut(len: u64, count: usize) -> Vec<FilePart> {
        let count = count.max(1);
        let step = len.div_ceil(count as u64).max(1);
        (0..count)
            .map(|index| FilePart {
                index,
                count,
                start: (index as u64 * step).min(len),
                end: ((index as u64 + 1) * step).min(len),
            })
            .collect()
    }
}

/// A transform: makes a new table from tables already in the session.
#[async_trait]
pub trait Transform: Plugin {
    /// The names of the tables it reads (they decide the order of execution).
    fn inputs(&self, config: &Self::Config) -> std::result::Result<Vec<String>, ConfigIssue>;
    /// The (lazy) result. Validation calls this on empty tables of the right
    /// schemas to learn the output schema, so it must not depend on the data.
    async fn run(&self, config: &Self::Config, ctx: &StepContext<'_>) -> Result<DataFrame>;
}

/// A table handed to a sink.
///
/// Its rows are in `batches`, except for a large table given to a sink that
/// [streams](Sink::streams): then `batches` is empty and `file` names the
/// Parquet file in the run's staging folder that holds them. [`TableData::iter`]
/// reads either, batch by batch, in order.
#[derive(Debug, Clone)]
pub struct TableData {
    /// The table's pipeline name.
    pub name: String,
    /// Its schema.
    pub schema: SchemaRef,
    /// Its rows, when held in memory.
    pub batches: Vec<RecordBatch>,
    /// A Parquet file (or a folder of them) holding its rows instead (only for a sink that streams).
    pub file: Option<PathBuf>,
}

impl TableData {
    /// A table held in memory.
    pub fn in_memory(name: impl Into<String>, schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        TableData { name: name.into(), schema, batches, file: None }
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        match &self.file {
            Some(path) => parquet_files(path)
                .iter()
                .filter_map(|file| std::fs::File::open(file).ok())
                .filter_map(|f| ParquetRecordBatchReaderBuilder::try_new(f).ok())
                .map(|b| b.metadata().file_metadata().num_rows() as usize)
                .sum(),
            None => self.batches.iter().map(RecordBatch::num_rows).sum(),
        }
    }

    /// Every batch, in order: from memory, or read from the file (or the
    /// folder's files, in name order) one at a time.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Result<RecordBatch>> + '_> {
        let Some(path) = &self.file else { return Box::new(self.batches.iter().cloned().map(Ok)) };
        Box::new(parquet_files(path).into_iter().flat_map(move |file| self.file_batches(file)))
    }

    /// The batches of one Parquet file holding the table's columns.
    fn file_batches(&self, path: PathBuf) -> Box<dyn Iterator<Item = Result<RecordBatch>> + '_> {
        let shown = path.display().to_string();
        let failed = move |e: &dyn std::fmt::Display| {
            Diagnostic::runtime(format!("cannot read the table {} from {shown}: {e}", self.name))
        };
        // The table's columns, by name: a source read where it lies may hold
        // other columns too, and the file's schema may lack the table's metadata.
        let reader = std::fs::File::open(&path).map_err(|e| failed(&e)).and_then(|f| {
            let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| failed(&e))?;
            let stored = builder.schema().clone();
            let roots: Vec<usize> =
                self.schema.fields().iter().filter_map(|f| stored.index_of(f.name()).ok()).collect();
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder.with_projection(mask).build().map_err(|e| failed(&e))
        });
        match reader {
            Err(e) => Box::new(std::iter::once(Err(e))),
            Ok(reader) => Box::new(reader.map(move |b| {
                b.map_err(|e| failed(&e)).and_then(|b| {
                    let columns = self
                        .schema
                        .fields()
                        .iter()
                        .map(|f| {
                            b.column_by_name(f.name())
                                .cloned()
                                .ok_or_else(|| failed(&format!("no column {}", f.name())))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| failed(&e))
                })
            })),
        }
    }
}

/// The Parquet files of a table: the file itself, or a folder's files in name order.
fn parquet_files(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// A sink: writes tables to files.
pub trait Sink: Plugin {
    /// The names of the tables it writes.
    fn inputs(&self, config: &Self::Config) -> Vec<String>;
    /// Write them (atomically: see [`crate::atomic`]) and return the files written.
    fn write(&self, config: &Self::Config, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>>;
    /// Whether `write` reads its tables with [`TableData::iter`], batch by
    /// batch, so that a table too large for memory can be handed over on disk
    /// (`TableData::file`). Defaults to false: every table arrives in `batches`.
    fn streams(&self) -> bool {
        false
    }
    /// What it reads besides its tables (a template, a catalogue), checked
    /// before anything runs: every problem, each a diagnostic with its file
    /// and place. Defaults to none.
    fn preflight(&self, _config: &Self::Config, _ctx: &RunContext) -> Vec<Diagnostic> {
        Vec::new()
    }
    /// Whether what it writes is published (a public report): such an
    /// output may not read a table marked `internal: true`. Defaults to
    /// false (data files are working files for the people who run the
    /// pipeline).
    fn publishes(&self, _config: &Self::Config, _ctx: &RunContext) -> bool {
        false
    }
    /// The table it writes one document for each row of (a report's
    /// `for_each`), if any. Before anything runs, that table is computed
    /// from what it rests on and handed to [`Sink::preflight_rows`].
    fn per_row(&self, _config: &Self::Config) -> Option<String> {
        None
    }
    /// What it needs for each row of that table (a report's text per
    /// unit), checked before anything runs: every problem at once. Defaults
    /// to none.
    fn preflight_rows(&self, _config: &Self::Config, _ctx: &RunContext, _table: &TableData) -> Vec<Diagnostic> {
        Vec::new()
    }
    /// First drafts of what a person writes for each row of that table and
    /// has not yet (a report's texts), as file and content, for `sunward
    /// init --texts`. Defaults to none.
    fn drafts(&self, _config: &Self::Config, _ctx: &RunContext, _table: &TableData) -> Result<Vec<(PathBuf, String)>> {
        Ok(Vec::new())
    }
}

/// A parsed plugin configuration, typed by the plugin that parsed it.
pub type AnyConfig = Arc<dyn Any + Send + Sync>;

/// Everything the registry needs from any plugin, with the types erased.
pub trait ErasedPlugin: Send + Sync {
    /// Name, description, example.
    fn info(&self) -> PluginInfo;
    /// Parse the entry's keys into the plugin's `Config`.
    fn parse(
        &self,
        value: serde_json::Value,
    ) -> std::result::Result<AnyConfig, serde_path_to_error::Error<serde_json::Error>>;
    /// [`Plugin::check`].
    fn check(&self, config: &AnyConfig) -> Vec<ConfigIssue>;
    /// The JSON Schema of the `Config`.
    fn schema(&self) -> serde_json::Value;
}

/// A registered source with its types erased.
pub trait ErasedSource: ErasedPlugin {
    /// [`Source::files`].
    fn files(&self, config: &AnyConfig, ctx: &RunContext) -> Result<Vec<PathBuf>>;
    /// [`Source::open`].
    fn open(&self, config: &AnyConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>>;
    /// [`Source::open_part`].
    fn open_part(&self, config: &AnyConfig, ctx: &RunContext, part: &FilePart) -> Result<Option<Box<dyn RowReader>>>;
}

/// A registered transform with its types erased.
#[async_trait]
pub trait ErasedTransform: ErasedPlugin {
    /// [`Transform::inputs`].
    fn inputs(&self, config: &AnyConfig) -> std::result::Result<Vec<String>, ConfigIssue>;
    /// [`Transform::run`].
    async fn run(&self, config: &AnyConfig, ctx: &StepContext<'_>) -> Result<DataFrame>;
}

/// A registered sink with its types erased.
pub trait ErasedSink: ErasedPlugin {
    /// [`Sink::inputs`].
    fn inputs(&self, config: &AnyConfig) -> Vec<String>;
    /// [`Sink::write`].
    fn write(&self, config: &AnyConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>>;
    /// [`Sink::streams`].
    fn streams(&self) -> bool;
    /// [`Sink::preflight`].
    fn preflight(&self, config: &AnyConfig, ctx: &RunContext) -> Vec<Diagnostic>;
    /// [`Sink::publishes`].
    fn publishes(&self, config: &AnyConfig, ctx: &RunContext) -> bool;
    /// [`Sink::per_row`].
    fn per_row(&self, config: &AnyConfig) -> Option<String>;
    /// [`Sink::preflight_rows`].
    fn preflight_rows(&self, config: &AnyConfig, ctx: &RunContext, table: &TableData) -> Vec<Diagnostic>;
    /// [`Sink::drafts`].
    fn drafts(&self, config: &AnyConfig, ctx: &RunContext, table: &TableData) -> Result<Vec<(PathBuf, String)>>;
}

struct Typed<P>(P);

fn typed<P: Plugin>(config: &AnyConfig) -> &P::Config {
    config.downcast_ref::<P::Config>().expect("a configuration is only ever handed back to the plugin that parsed it")
}

impl<P: Plugin> ErasedPlugin for Typed<P> {
    fn info(&self) -> PluginInfo {
        P::INFO
    }
    fn parse(
        &self,
        value: serde_json::Value,
    ) -> std::result::Result<AnyConfig, serde_path_to_error::Error<serde_json::Error>> {
        let config: P::Config = serde_path_to_error::deserialize(value)?;
        Ok(Arc::new(config))
    }
    fn check(&self, config: &AnyConfig) -> Vec<ConfigIssue> {
        self.0.check(typed::<P>(config))
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(P::Config)).unwrap_or_default()
    }
}

impl<S: Source> ErasedSource for Typed<S> {
    fn files(&self, config: &AnyConfig, ctx: &RunContext) -> Result<Vec<PathBuf>> {
        self.0.files(typed::<S>(config), ctx)
    }
    fn open(&self, config: &AnyConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>> {
        self.0.open(typed::<S>(config), ctx)
    }
    fn open_part(&self, config: &AnyConfig, ctx: &RunContext, part: &FilePart) -> Result<Option<Box<dyn RowReader>>> {
        self.0.open_part(typed::<S>(config), ctx, part)
    }
}

#[async_trait]
impl<T: Transform> ErasedTransform for Typed<T> {
    fn inputs(&self, config: &AnyConfig) -> std::result::Result<Vec<String>, ConfigIssue> {
        self.0.inputs(typed::<T>(config))
    }
    async fn run(&self, config: &AnyConfig, ctx: &StepContext<'_>) -> Result<DataFrame> {
        self.0.run(typed::<T>(config), ctx).await
    }
}

impl<S: Sink> ErasedSink for Typed<S> {
    fn inputs(&self, config: &AnyConfig) -> Vec<String> {
        self.0.inputs(typed::<S>(config))
    }
    fn write(&self, config: &AnyConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>> {
        self.0.write(typed::<S>(config), tables, ctx)
    }
    fn streams(&self) -> bool {
        self.0.streams()
    }
    fn preflight(&self, config: &AnyConfig, ctx: &RunContext) -> Vec<Diagnostic> {
        self.0.preflight(typed::<S>(config), ctx)
    }
    fn publishes(&self, config: &AnyConfig, ctx: &RunContext) -> bool {
        self.0.publishes(typed::<S>(config), ctx)
    }
    fn per_row(&self, config: &AnyConfig) -> Option<String> {
        self.0.per_row(typed::<S>(config))
    }
    fn preflight_rows(&self, config: &AnyConfig, ctx: &RunContext, table: &TableData) -> Vec<Diagnostic> {
        self.0.preflight_rows(typed::<S>(config), ctx, table)
    }
    fn drafts(&self, config: &AnyConfig, ctx: &RunContext, table: &TableData) -> Result<Vec<(PathBuf, String)>> {
        self.0.drafts(typed::<S>(config), ctx, table)
    }
}

/// A registered plugin of any kind.
#[derive(Clone)]
pub enum PluginHandle {
    /// A source.
    Source(Arc<dyn ErasedSource>),
    /// A transform.
    Transform(Arc<dyn ErasedTransform>),
    /// A sink.
    Sink(Arc<dyn ErasedSink>),
}

impl PluginHandle {
    /// The common part.
    pub fn plugin(&self) -> &dyn ErasedPlugin {
        match self {
            PluginHandle::Source(p) => p.as_ref(),
            PluginHandle::Transform(p) => p.as_ref(),
            PluginHandle::Sink(p) => p.as_ref(),
        }
    }
    /// Its kind.
    pub fn kind(&self) -> PluginKind {
        match self {
            PluginHandle::Source(_) => PluginKind::Source,
            PluginHandle::Transform(_) => PluginKind::Transform,
            PluginHandle::Sink(_) => PluginKind::Sink,
        }
    }
}

/// The SQL functions a registry adds to every session: scalar, aggregate
/// and window functions (DataFusion's `ScalarUDF`, `AggregateUDF`,
/// `WindowUDF`), by name.
#[derive(Debug, Clone, Default)]
pub struct Functions {
    /// Scalar functions, by name.
    pub scalar: BTreeMap<String, Arc<ScalarUDF>>,
    /// Aggregate functions, by name.
    pub aggregate: BTreeMap<String, Arc<AggregateUDF>>,
    /// Window functions, by name.
    pub window: BTreeMap<String, Arc<WindowUDF>>,
}

impl Functions {
    /// Registers every function in a session.
    pub fn register(&self, ctx: &SessionContext) {
        for f in self.scalar.values() {
            ctx.register_udf(f.as_ref().clone());
        }
        for f in self.aggregate.values() {
            ctx.register_udaf(f.as_ref().clone());
        }
        for f in self.window.values() {
            ctx.register_udwf(f.as_ref().clone());
        }
    }

    /// Every function, described for `sunward plugins --kind function`, sorted by name.
    pub fn describe(&self) -> Vec<FunctionInfo> {
        let mut out: Vec<FunctionInfo> = Vec::new();
        for f in self.scalar.values() {
            out.push(FunctionInfo::new(f.name(), "scalar", f.signature(), f.documentation()));
        }
        for f in self.aggregate.values() {
            out.push(FunctionInfo::new(f.name(), "aggregate", f.signature(), f.documentation()));
        }
        for f in self.window.values() {
            out.push(FunctionInfo::new(f.name(), "window", f.signature(), f.documentation()));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// A SQL function as `sunward plugins` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionInfo {
    /// Its name in SQL.
    pub name: String,
    /// `scalar`, `aggregate` or `window`.
    pub kind: &'static str,
    /// How it is called, e.g. `poisson_ci_low(Float64) -> Float64` or the
    /// documentation's syntax example.
    pub signature: String,
    /// What it computes.
    pub description: String,
}

impl FunctionInfo {
    fn new(name: &str, kind: &'static str, signature: &Signature, doc: Option<&Documentation>) -> FunctionInfo {
        let args = match &signature.type_signature {
            TypeSignature::Exact(types) => types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
            TypeSignature::Uniform(n, types) => {
                let one = types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" | ");
                vec![one; *n].join(", ")
            }
            TypeSignature::Nullary => String::new(),
            other => format!("{other:?}"),
        };
        FunctionInfo {
            name: name.to_string(),
            kind,
            signature: doc.map(|d| d.syntax_example.clone()).unwrap_or_else(|| format!("{name}({args})")),
            description: doc.map(|d| d.description.clone()).unwrap_or_default(),
        }
    }
}

/// Every plugin a `sunward` binary knows, by kind and name, and the SQL
/// functions its plugins add.
#[derive(Clone, Default)]
pub struct Registry {
    plugins: BTreeMap<(PluginKind, &'static str), PluginHandle>,
    functions: Functions,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
    fn insert(&mut self, kind: PluginKind, name: &'static str, handle: PluginHandle) {
        self.plugins.insert((kind, name), handle);
    }
    /// Register a source (replacing one of the same name).
    pub fn add_source<S: Source>(&mut self, source: S) -> &mut Self {
        self.insert(PluginKind::Source, S::INFO.name, PluginHandle::Source(Arc::new(Typed(source))));
        self
    }
    /// Register a transform (replacing one of the same name).
    pub fn add_transform<T: Transform>(&mut self, transform: T) -> &mut Self {
        self.insert(PluginKind::Transform, T::INFO.name, PluginHandle::Transform(Arc::new(Typed(transform))));
        self
    }
    /// Register a sink (replacing one of the same name).
    pub fn add_sink<S: Sink>(&mut self, sink: S) -> &mut Self {
        self.insert(PluginKind::Sink, S::INFO.name, PluginHandle::Sink(Arc::new(Typed(sink))));
        self
    }
    /// Register a scalar SQL function (replacing one of the same name): every
    /// session of a run, and a cluster's scheduler and executors, know it.
    pub fn add_scalar_function(&mut self, function: ScalarUDF) -> &mut Self {
        self.functions.scalar.insert(function.name().to_string(), Arc::new(function));
        self
    }
    /// Register an aggregate SQL function (replacing one of the same name).
    pub fn add_aggregate_function(&mut self, function: AggregateUDF) -> &mut Self {
        self.functions.aggregate.insert(function.name().to_string(), Arc::new(function));
        self
    }
    /// Register a window SQL function (replacing one of the same name).
    pub fn add_window_function(&mut self, function: WindowUDF) -> &mut Self {
        self.functions.window.insert(function.name().to_string(), Arc::new(function));
        self
    }
    /// The SQL functions registered.
    pub fn functions(&self) -> &Functions {
        &self.functions
    }
    /// The plugin of that kind and name.
    pub fn get(&self, kind: PluginKind, name: &str) -> Option<&PluginHandle> {
        self.plugins.iter().find(|((k, n), _)| *k == kind && *n == name).map(|(_, h)| h)
    }
    /// The names of every plugin of a kind, sorted.
    pub fn names(&self, kind: PluginKind) -> Vec<&'static str> {
        self.plugins.keys().filter(|(k, _)| *k == kind).map(|(_, n)| *n).collect()
    }
    /// Every plugin, by kind then name.
    pub fn iter(&self) -> impl Iterator<Item = &PluginHandle> {
        self.plugins.values()
    }
}
