//! Ingest: from a source's raw rows to a canonical Arrow table and its rejects.
//!
//! Every source, whatever its format, goes through here: header mapping,
//! value mapping, typing (dates in the forms Chinese exports use, Excel serial
//! numbers, `44.0` as an integer), and every rule of the data contract that
//! makes a row bad. A bad row is left out of the table and recorded as a
//! [`Reject`] with its place, column, rule and original text — never dropped
//! silently. Records stream through in blocks, typed and checked column by
//! column on several threads (module `columns`) and then swept in file order
//! (module `sweep`) for unique keys (module `keys`, in bounded memory) and the
//! exact account of each bad row, so only a few blocks and the key check's
//! bounded state are held in memory besides the table itself.

mod columns;
mod keys;
mod sweep;

pub use keys::KeyMemory;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    Time64NanosecondBuilder,
};
use datafusion::arrow::compute::{filter, interleave};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use keys::UniqueKeys;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sunward_core::contract::{ColumnType, Contract, TableSpec};
use sunward_core::model::{OnBadRows, ShortRows, SourceOptions};
use sunward_core::plugin::cell_of_array;
use sunward_core::{
    Diagnostic, ErrorKind, RawBatch, RawCell, RawRow, Result, RowPlace, RowReader, RunContext, excerpt, excerpt_list,
};
use sweep::{InPlace, Sweep};

/// One broken rule of one row, as written to `rejects/<source>.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// Where the row is.
    pub place: RowPlace,
    /// The canonical column (or the file's header when it has no mapping).
    pub column: String,
    /// The rule broken, in words (`not a date`, `duplicate record_id`, …).
    pub rule: String,
    /// The original text of the offending field.
    pub value: String,
}

/// The key values of one loaded source, by column: what other sources' references are checked against.
pub type KeySet = HashMap<String, HashSet<String>>;

/// A loaded source.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The canonical schema.
    pub schema: SchemaRef,
    /// The good rows (from [`ingest`]; [`ingest_into`] hands them out instead and leaves this empty).
    pub batches: Vec<RecordBatch>,
    /// Rows read from the file (good and bad).
    pub rows_read: u64,
    /// Rows kept.
    pub rows_loaded: u64,
    /// Rows set aside (a row breaking several rules counts once).
    pub rows_rejected: u64,
    /// Every broken rule (a row may break several).
    pub rejects: Vec<Reject>,
    /// Values of this table's single-column unique keys, for other sources' reference checks.
    pub keys: KeySet,
    /// Warnings (extra columns ignored, …).
    pub warnings: Vec<Diagnostic>,
    /// When every row and value passed as the file stores them (a Parquet
    /// file, loaded by [`ingest_into`] with [`SourceToLoad::reopen`]): the
    /// file, which is then the table itself, to be scanned where it lies;
    /// no batch was handed out.
    pub in_place: Option<PathBuf>,
    /// The unique-key claims of the good rows, when the check was left to
    /// the caller ([`SourceToLoad::defer_keys`]).
    pub claims: Option<KeyClaims>,
    /// The rows left out ([`SourceToLoad::skip`]): each one's place number and key as written.
    pub skipped: Vec<(u64, String)>,
}

/// The unique-key claims of a part of a table loaded beside other parts:
/// every good row's key, to be checked across all the parts together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyClaims {
    /// The key's columns joined by `+`, as a duplicate's reject names them.
    pub names: String,
    /// The place of the first claim (its kind: line, record or sheet row), for a duplicate's text.
    pub like: Option<RowPlace>,
    /// Each good row's claim, in file order.
    pub claims: Vec<KeyClaim>,
}

/// One good row's claim on its table's unique key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyClaim {
    /// The 128-bit hash of the key's values.
    pub hash: u128,
    /// The row's place number (line, record or sheet row).
    pub place: u64,
}

/// The reject of a row whose key the row at place number `first` claimed
/// before it: the rule a whole-table load gives such a row.
pub fn duplicate_reject(like: &RowPlace, place: u64, names: &str, shown: &str, first: u64) -> Reject {
    sweep::duplicate(&place_like(like, place), names.to_string(), shown.to_string(), stored_place(first))
}

/// Rows per Arrow batch.
pub const BATCH_ROWS: usize = 8192;
/// The largest field allowed, in bytes of UTF-8.
pub const MAX_FIELD_BYTES: usize = 1_048_576;
/// How often (in rows read) `progress` is called.
const PROGRESS_EVERY: u64 = 65_536;

fn arrow_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::String => DataType::Utf8,
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Date => DataType::Date32,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Time => DataType::Time64(TimeUnit::Nanosecond),
    }
}

/// One output column: where it comes from and what it must satisfy.
struct Column {
    name: String,
    ty: ColumnType,
    /// The index of the file's column it is read from; `None`: absent, all null.
    source: Option<usize>,
    required: bool,
    codes: Option<&'static [&'static str]>,
    /// The labels exports write for the codes, as `(label, code)`.
    labels: &'static [(&'static str, &'static str)],
    min: Option<f64>,
    /// The largest allowed value.
    max: Option<f64>,
    /// The contract table and column this column refers to.
    references: Option<(&'static str, &'static str)>,
    values: Option<BTreeMap<String, String>>,
}

/// The columns a source will produce, and the warnings found on the way.
struct Layout {
    spec: Option<&'static TableSpec>,
    columns: Vec<Column>,
    /// The file's headers after trimming and mapping (empty when not known).
    headers: Vec<String>,
    warnings: Vec<Diagnostic>,
}

impl Layout {
    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|c| Field::new(&c.name, arrow_type(c.ty), !c.required)).collect::<Vec<_>>(),
        ))
    }
    fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
    /// How file column `i` is named in rejects: its header after mapping.
    fn header_name(&self, i: usize) -> String {
        self.headers.get(i).map(|h| shown_header(i, h)).unwrap_or_else(|| format!("column {}", i + 1))
    }
}

/// `file: message`, or just the message when the file is not known.
fn in_file(file: Option<&str>, message: String) -> String {
    match file {
        Some(f) => format!("{f}: {message}"),
        None => message,
    }
}

/// How a file's header is shown in messages (`column 4 (no name)` for a blank one).
fn shown_header(index: usize, name: &str) -> String {
    if name.is_empty() { format!("column {} (no name)", index + 1) } else { name.to_string() }
}

/// A name two or more header columns share (after mapping), among those `matters` selects.
fn duplicate_header(
    raw: &[String],
    mapped: &[String],
    file: Option<&str>,
    matters: impl Fn(&str) -> bool,
) -> Result<()> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, name) in mapped.iter().enumerate() {
        if !matters(name) {
            continue;
        }
        if let Some(&j) = first.get(name.as_str()) {
            let a = excerpt(raw.get(j).map(String::as_str).unwrap_or_default());
            let b = excerpt(raw.get(i).map(String::as_str).unwrap_or_default());
            let name = excerpt(name);
            let which = if a == b {
                format!("columns {} and {} of the header are both named \"{a}\"", j + 1, i + 1)
            } else {
                format!("the header's columns \"{a}\" and \"{b}\" both become \"{name}\"")
            };
            return Err(Diagnostic::invalid(in_file(file, format!("column \"{name}\" appears twice: {which}")))
                .hint("rename one of them in the file, or map them to different names with `headers:`"));
        }
        first.insert(name, i);
    }
    Ok(())
}

/// For each missing required column, a header of the file that looks like it.
fn header_suggestions(missing: &[&str], raw: &[String], mapped: &[String], spec: &TableSpec) -> Vec<String> {
    let normal = |s: &str| -> String {
        s.chars().filter(|c| !c.is_whitespace() && *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
    };
    let mut out = Vec::new();
    for want in missing {
        let candidates: Vec<&str> = raw
            .iter()
            .zip(mapped)
            .filter(|(r, m)| !r.is_empty() && spec.column(m).is_none())
            .map(|(r, _)| r.as_str())
            .collect();
        let synonyms = spec.column(want).map(|c| c.headers).unwrap_or_default();
        let found = candidates
            .iter()
            .find(|h| synonyms.contains(h) || normal(h) == normal(want))
            .or_else(|| candidates.iter().find(|h| strsim_close(h, want)));
        if let Some(h) = found {
            out.push(format!("{h}: {want}"));
        }
    }
    out
}

/// Whether `a` is a plausible typo of `b`.
fn strsim_close(a: &str, b: &str) -> bool {
    sunward_core::diag::similar(&a.to_lowercase(), [b]).is_some()
}

/// Work out the columns of a source from the options and, when known, the file's headers.
fn layout(options: &SourceOptions, headers: Option<&[String]>, file: Option<&str>) -> Result<Layout> {
    let raw: Option<Vec<String>> = headers.map(|h| h.iter().map(|s| s.trim().to_string()).collect());
    let mapped: Option<Vec<String>> =
        raw.as_ref().map(|r| r.iter().map(|h| options.headers.get(h).cloned().unwrap_or_else(|| h.clone())).collect());
    let mut warnings = Vec::new();
    let the_file = file.unwrap_or("the file");
    // Columns left out on purpose (`ignore_columns:`), by position; each must exist.
    let ignored: Vec<bool> = raw
        .as_ref()
        .map(|r| r.iter().map(|h| options.ignore_columns.iter().any(|c| c.trim() == h)).collect())
        .unwrap_or_default();
    if let Some(raw) = &raw {
        let absent: Vec<String> = options
            .ignore_columns
            .iter()
            .filter(|c| !raw.iter().any(|h| h == c.trim()))
            .map(|c| format!("\"{}\"", c.trim()))
            .collect();
        if !absent.is_empty() {
            return Err(Diagnostic::runtime(format!(
                "{the_file} has no column {} named under `ignore_columns`",
                absent.join(", ")
            ))
            .hint(format!("the file's header is: {}; name columns as the file writes them", excerpt_list(raw))));
        }
    }
    let is_ignored = |i: usize| ignored.get(i).copied().unwrap_or(false);

    if let Some(spec) = options.contract_table() {
        let spec = spec?;
        let position = |col: &str| {
            mapped.as_ref().and_then(|m| m.iter().enumerate().position(|(i, h)| h == col && !is_ignored(i)))
        };
        if let (Some(raw), Some(mapped)) = (&raw, &mapped) {
            duplicate_header(raw, mapped, file, |n| spec.column(n).is_some())?;
            let missing: Vec<&str> =
                spec.columns.iter().filter(|c| c.required && position(c.name).is_none()).map(|c| c.name).collect();
            if !missing.is_empty() {
                let mut hint = format!("the file's header is: {}", excerpt_list(raw));
                let fits = header_suggestions(&missing, raw, mapped, spec);
                if fits.is_empty() {
                    hint.push_str(
                        "; map the file's names onto the contract's with `headers:` (e.g. `学校编号: school_id`)",
                    );
                } else {
                    hint.push_str(&format!(
                        "; the file seems to name {} differently: map it with `headers: {{{}}}`",
                        if fits.len() > 1 { "them" } else { "it" },
                        fits.join(", ")
                    ));
                }
                return Err(Diagnostic::invalid(format!(
                    "{the_file} lacks the required column{} {} of {}",
                    if missing.len() > 1 { "s" } else { "" },
                    missing.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", "),
                    spec.name
                ))
                .hint(hint));
            }
            // A group of which each row sets one (a service's school or centre): the header needs
            // one of them, and a column of it that the file seems to name otherwise is a mistake
            // (a school export whose `schoolid` would leave every row without its school).
            for group in spec.one_of {
                let absent: Vec<&str> = group.iter().copied().filter(|c| position(c).is_none()).collect();
                let fits = header_suggestions(&absent, raw, mapped, spec);
                if absent.len() < group.len() && fits.is_empty() {
                    continue;
                }
                let mut hint = format!("the file's header is: {}", excerpt_list(raw));
                if fits.is_empty() {
                    hint.push_str(
                        "; map the file's name onto the contract's with `headers:` (e.g. `学校编号: school_id`)",
                    );
                } else {
                    hint.push_str(&format!(
                        "; the file seems to name it differently: map it with `headers: {{{}}}`",
                        fits.join(", ")
                    ));
                }
                // The columns the file seems to name otherwise, or else every column of the group.
                let wanted: Vec<&str> = if fits.is_empty() {
                    absent.clone()
                } else {
                    fits.iter().filter_map(|f| f.rsplit(": ").next()).collect()
                };
                let named: Vec<String> = wanted.iter().map(|m| format!("\"{m}\"")).collect();
                return Err(Diagnostic::invalid(format!(
                    "{the_file} lacks the column {} of {}: each row names one of {}",
                    named.join(" or "),
                    spec.name,
                    group.join(", ")
                ))
                .hint(hint));
            }
            let extra: Vec<String> = mapped
                .iter()
                .enumerate()
                .filter(|(i, h)| spec.column(h).is_none() && !is_ignored(*i))
                .map(|(i, h)| shown_header(i, h))
                .collect();
            if !extra.is_empty() {
                warnings.push(Diagnostic::warning(in_file(
                    file,
                    format!("columns not in the {} contract are ignored: {}", spec.name, excerpt_list(&extra)),
                )));
            }
        }
        let columns = spec
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.to_string(),
                ty: c.ty,
                source: position(c.name),
                required: c.required,
                codes: c.codes,
                labels: c.labels,
                min: c.min,
                max: c.max,
                references: c.references,
                values: options.values.get(c.name).cloned(),
            })
            .collect();
        return Ok(Layout { spec: Some(spec), columns, headers: mapped.unwrap_or_default(), warnings });
    }

    let (Some(raw), Some(mapped)) = (raw, mapped) else {
        return Err(Diagnostic::runtime(in_file(
            file,
            "the file's headers are needed to know the columns of a source without a contract".to_string(),
        )));
    };
    duplicate_header(&raw, &mapped, file, |n| !n.is_empty())?;
    let mut columns = Vec::new();
    let mut unnamed = Vec::new();
    for (i, name) in mapped.iter().enumerate() {
        if is_ignored(i) {
            continue;
        }
        if name.is_empty() {
            unnamed.push((i + 1).to_string());
            continue;
        }
        columns.push(Column {
            name: name.clone(),
            ty: options.columns.get(name).map(|c| c.ty()).unwrap_or(ColumnType::String),
            source: Some(i),
            required: options.columns.get(name).is_some_and(|c| c.required()),
            codes: None,
            labels: &[],
            min: None,
            max: None,
            references: None,
            values: options.values.get(name).cloned(),
        });
    }
    if !unnamed.is_empty() {
        warnings.push(
            Diagnostic::warning(in_file(
                file,
                format!(
                    "header column{} {} ha{} no name and {} ignored",
                    plural(unnamed.len()),
                    excerpt_list(&unnamed),
                    if unnamed.len() > 1 { "ve" } else { "s" },
                    if unnamed.len() > 1 { "are" } else { "is" }
                ),
            ))
            .hint("name it in the file to load it"),
        );
    }
    for declared in options.columns.keys() {
        if !mapped.contains(declared) {
            return Err(Diagnostic::invalid(in_file(
                file,
                format!("column \"{declared}\" is declared under `columns:` but the file has no such column"),
            ))
            .hint(format!(
                "the file's header is: {}; map a header onto it with `headers:` or remove it from `columns:`",
                excerpt_list(&raw)
            )));
        }
    }
    Ok(Layout { spec: None, columns, headers: mapped, warnings })
}

fn plural(n: usize) -> &'static str {
    if n > 1 { "s" } else { "" }
}

/// The schema a source will have, without reading rows: from the contract (all
/// its columns, in contract order, nullable when not required) when
/// `options.contract` is set; otherwise from `headers` (the file's headers
/// after the `headers:` mapping), typed by `options.columns` (others: strings).
/// `headers` may be `None` only with a contract; given with a contract, they
/// are checked (a required column missing, a name twice) as a load would.
pub fn declared_schema(options: &SourceOptions, headers: Option<&[String]>) -> Result<SchemaRef> {
    Ok(layout(options, headers, None)?.schema())
}

/// The schema of a source whose file is not there (an optional source): its
/// contract's columns, or the columns it declares, in the order declared.
pub fn schema_without_file(options: &SourceOptions) -> Result<SchemaRef> {
    if options.contract.is_some() {
        return declared_schema(options, None);
    }
    let names: Vec<String> = options.columns.keys().cloned().collect();
    declared_schema(options, Some(&names))
}

/// A value after typing.
#[derive(Debug, Clone, PartialEq)]
enum Typed {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Date(i32),
    Bool(bool),
    /// Nanoseconds after midnight (Arrow's `Time64(Nanosecond)`, SQL's `TIME`).
    Time(i64),
}

/// A typed value borrowed from a [`Typed`] or from an Arrow array: what a unique key is hashed from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum KeyPart<'a> {
    Null,
    Str(&'a str),
    Int(i64),
    Float(f64),
    Date(i32),
    Bool(bool),
    Time(i64),
}

impl KeyPart<'_> {
    fn hash_into(&self, h: &mut impl Hasher) {
        match self {
            KeyPart::Null => 0u8.hash(h),
            KeyPart::Str(s) => (1u8, s).hash(h),
            KeyPart::Int(i) => (2u8, i).hash(h),
            KeyPart::Float(x) => (3u8, x.to_bits()).hash(h),
            KeyPart::Date(d) => (4u8, d).hash(h),
            KeyPart::Bool(b) => (5u8, b).hash(h),
            KeyPart::Time(t) => (6u8, t).hash(h),
        }
    }
}

impl Typed {
    fn part(&self) -> KeyPart<'_> {
        match self {
            Typed::Null => KeyPart::Null,
            Typed::Str(s) => KeyPart::Str(s),
            Typed::Int(i) => KeyPart::Int(*i),
            Typed::Float(x) => KeyPart::Float(*x),
            Typed::Date(d) => KeyPart::Date(*d),
            Typed::Bool(b) => KeyPart::Bool(*b),
            Typed::Time(t) => KeyPart::Time(*t),
        }
    }
    fn number(&self) -> Option<f64> {
        match self {
            Typed::Int(i) => Some(*i as f64),
            Typed::Float(x) => Some(*x),
            _ => None,
        }
    }
}

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Bool(BooleanBuilder),
    Time(Time64NanosecondBuilder),
}

impl Builder {
    fn new(ty: ColumnType) -> Self {
        match ty {
            ColumnType::String => Builder::Str(StringBuilder::new()),
            ColumnType::Int => Builder::Int(Int64Builder::new()),
            ColumnType::Float => Builder::Float(Float64Builder::new()),
            ColumnType::Date => Builder::Date(Date32Builder::new()),
            ColumnType::Bool => Builder::Bool(BooleanBuilder::new()),
            ColumnType::Time => Builder::Time(Time64NanosecondBuilder::new()),
        }
    }
    fn push(&mut self, v: &Typed) {
        match (self, v) {
            (Builder::Str(b), Typed::Str(s)) => b.append_value(s),
            (Builder::Int(b), Typed::Int(i)) => b.append_value(*i),
            (Builder::Float(b), Typed::Float(x)) => b.append_value(*x),
            (Builder::Date(b), Typed::Date(d)) => b.append_value(*d),
            (Builder::Bool(b), Typed::Bool(x)) => b.append_value(*x),
            (Builder::Time(b), Typed::Time(t)) => b.append_value(*t),
            (Builder::Str(b), _) => b.append_null(),
            (Builder::Int(b), _) => b.append_null(),
            (Builder::Float(b), _) => b.append_null(),
            (Builder::Date(b), _) => b.append_null(),
            (Builder::Bool(b), _) => b.append_null(),
            (Builder::Time(b), _) => b.append_null(),
        }
    }
    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
        }
    }
}

fn days(d: NaiveDate) -> i32 {
    sunward_core::params::date_to_days(d)
}

/// A date from an Excel serial number in the 1900 date system: serial 1 is
/// 1900-01-01, 59 is 1900-02-28, 60 is Excel's fictitious 1900-02-29 (no
/// date), 61 is 1900-03-01, 45658 is 2025-01-01. A time of day (the fraction) is dropped.
pub fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let whole = serial.floor() as i64;
    let base = match whole {
        ..60 => NaiveDate::from_ymd_opt(1899, 12, 31)?,
        60 => return None,
        _ => NaiveDate::from_ymd_opt(1899, 12, 30)?,
    };
    base.checked_add_signed(chrono::Duration::days(whole))
}

/// A date written `2025-03-05`, `2025/3/5`, `2025-3-5`, `2025.3.5`,
/// `2025年3月5日`, with an optional time after a space or `T`, or as an Excel
/// serial number (`45658`, `45658.5`).
pub fn parse_date_text(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    // The common `2025-03-05` at once; the general rules below read it the same way.
    if let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = t.as_bytes()
        && [y1, y2, y3, y4, m1, m2, d1, d2].iter().all(|b| b.is_ascii_digit())
    {
        let n = |bs: &[&u8]| bs.iter().fold(0u32, |acc, b| acc * 10 + u32::from(**b - b'0'));
        return NaiveDate::from_ymd_opt(n(&[y1, y2, y3, y4]) as i32, n(&[m1, m2]), n(&[d1, d2]));
    }
    if let Some((y, rest)) = t.split_once('年') {
        let (m, rest) = rest.split_once('月')?;
        let d = rest.trim().strip_suffix('日').or_else(|| rest.trim().strip_suffix('号'))?;
        return NaiveDate::from_ymd_opt(y.trim().parse().ok()?, m.trim().parse().ok()?, d.trim().parse().ok()?);
    }
    let date_part = t.split([' ', 'T']).next().unwrap_or(t);
    for sep in ['-', '/', '.'] {
        let parts: Vec<&str> = date_part.split(sep).collect();
        if let [y, m, d] = parts.as_slice()
            && y.len() == 4
            && parts.iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        }
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return excel_serial_date(t.parse().ok()?);
    }
    None
}

/// A time of day written `18:30`, `18:30:00`, `8:05`, `18：30` or `18点30分`
/// (`18时30分`, `18点`), as seconds after midnight; `24:00` and beyond are not times.
pub fn parse_time_text(text: &str) -> Option<i32> {
    let t = text.trim();
    let (h, rest) = t.split_once([':', '：', '点', '时'])?;
    let rest = rest.trim().trim_end_matches(['分', '秒']);
    let (m, s) = match rest.split_once([':', '：', '分']) {
        Some((m, s)) => (m, s),
        None => (rest, ""),
    };
    let number = |p: &str, max: i32, digits: std::ops::RangeInclusive<usize>| -> Option<i32> {
        let p = p.trim();
        if !digits.contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok().filter(|v| *v <= max)
    };
    let hour = number(h, 23, 1..=2)?;
    let minute = if m.trim().is_empty() && t.ends_with(['点', '时']) { 0 } else { number(m, 59, 2..=2)? };
    let second = if s.trim().is_empty() { 0 } else { number(s, 59, 2..=2)? };
    Some(hour * 3600 + minute * 60 + second)
}

/// Seconds after midnight as nanoseconds, the unit of SQL's `TIME`.
fn nanos(seconds: i32) -> i64 {
    i64::from(seconds) * 1_000_000_000
}

/// An Excel time: a fraction of a day (a whole part, a date, is left out), to the nearest second.
fn excel_time(x: f64) -> Option<i32> {
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    let seconds = (x.fract() * 86_400.0).round() as i32;
    Some(seconds.min(86_399))
}

/// The largest magnitude below which every whole `f64` is exactly an `i64`.
const EXACT_F64: f64 = 9.0e15;

fn whole(x: f64) -> Option<i64> {
    (x.is_finite() && x.fract() == 0.0 && x.abs() < EXACT_F64).then_some(x as i64)
}

/// The rule broken by a value that is not a whole number.
const NOT_WHOLE: &str = "not a whole number";
/// The rule broken by a whole number beyond a 64-bit integer.
const TOO_LARGE: &str = "a whole number beyond ±9223372036854775807";
/// The rule broken by a spreadsheet number too large to be stored exactly.
const INEXACT: &str = "a number too large to be stored exactly (beyond 9000000000000000)";

/// A whole number written as text: `7`, `-7`, `7.0`, `7.000`, `1.5e3`.
/// Decided on the digits as written, exactly: `1.0000000000000001` is not
/// whole (read as a double it would round to 1).
fn parse_int_text(t: &str) -> Result<i64, &'static str> {
    if let Ok(i) = t.parse::<i64>() {
        return Ok(i);
    }
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], body[at + 1..].parse::<i32>().map_err(|_| NOT_WHOLE)?),
        None => (body, 0),
    };
    let (int_part, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int_part.bytes().chain(fraction.bytes()).collect();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(NOT_WHOLE);
    }
    // Where the decimal point falls among the digits once the exponent is applied.
    let point = int_part.len() as i64 + i64::from(exponent);
    let whole_digits = point.clamp(0, digits.len() as i64) as usize;
    if digits[whole_digits..].iter().any(|d| *d != b'0') {
        return Err(NOT_WHOLE);
    }
    let limit = 1i128 << 63;
    let mut value: i128 = 0;
    for d in &digits[..whole_digits] {
        value = value * 10 + i128::from(d - b'0');
        if value > limit {
            return Err(TOO_LARGE);
        }
    }
    // Zeros the exponent adds after the digits written.
    let mut zeros = point - digits.len() as i64;
    while zeros > 0 && value != 0 {
        value *= 10;
        zeros -= 1;
        if value > limit {
            return Err(TOO_LARGE);
        }
    }
    i64::try_from(if negative { -value } else { value }).map_err(|_| TOO_LARGE)
}

/// A number as text: `7.0` → `7`, `7.5` → `7.5`.
fn number_text(x: f64) -> String {
    match whole(x) {
        Some(i) => i.to_string(),
        None => x.to_string(),
    }
}

/// Type one cell (already trimmed and value-mapped); `Err` holds the rule broken.
fn type_cell(cell: &RawCell, ty: ColumnType) -> Result<Typed, String> {
    const NOT_NUMBER: &str = "not a number";
    const NOT_DATE: &str = "not a date";
    const NOT_BOOL: &str = "not true or false";
    const NOT_TIME: &str = "not a time of day (18:30)";
    if matches!(cell, RawCell::Empty) {
        return Ok(Typed::Null);
    }
    match ty {
        ColumnType::String => Ok(Typed::Str(match cell {
            RawCell::Float(x) => number_text(*x),
            other => other.original_text(),
        })),
        ColumnType::Int => match cell {
            RawCell::Int(i) => Ok(Typed::Int(*i)),
            RawCell::Float(x) => match whole(*x) {
                Some(i) => Ok(Typed::Int(i)),
                None if x.is_finite() && x.fract() == 0.0 => Err(INEXACT.into()),
                None => Err(NOT_WHOLE.into()),
            },
            RawCell::Text(t) => parse_int_text(t).map(Typed::Int).map_err(String::from),
            _ => Err(NOT_WHOLE.into()),
        },
        ColumnType::Float => match cell {
            RawCell::Int(i) => Ok(Typed::Float(*i as f64)),
            RawCell::Float(x) if x.is_finite() => Ok(Typed::Float(*x)),
            RawCell::Text(t) => {
                t.parse::<f64>().ok().filter(|x| x.is_finite()).map(Typed::Float).ok_or_else(|| NOT_NUMBER.into())
            }
            _ => Err(NOT_NUMBER.into()),
        },
        ColumnType::Date => {
            let date = match cell {
                RawCell::Date(d) => Some(*d),
                RawCell::DateTime(dt) => Some(dt.date()),
                RawCell::Int(i) => excel_serial_date(*i as f64),
                RawCell::Float(x) => excel_serial_date(*x),
                RawCell::Text(t) => parse_date_text(t),
                _ => None,
            };
            date.map(|d| Typed::Date(days(d))).ok_or_else(|| NOT_DATE.into())
        }
        ColumnType::Bool => match cell {
            RawCell::Bool(b) => Ok(Typed::Bool(*b)),
            RawCell::Int(0) => Ok(Typed::Bool(false)),
            RawCell::Int(1) => Ok(Typed::Bool(true)),
            RawCell::Float(x) if *x == 0.0 => Ok(Typed::Bool(false)),
            RawCell::Float(x) if *x == 1.0 => Ok(Typed::Bool(true)),
            RawCell::Text(t) => match t.to_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "是" => Ok(Typed::Bool(true)),
                "false" | "0" | "no" | "n" | "否" => Ok(Typed::Bool(false)),
                _ => Err(NOT_BOOL.into()),
            },
            _ => Err(NOT_BOOL.into()),
        },
        ColumnType::Time => {
            let time = match cell {
                RawCell::DateTime(dt) => {
                    use chrono::Timelike;
                    Some(dt.time().num_seconds_from_midnight() as i32)
                }
                RawCell::Float(x) if *x < 1.0 => excel_time(*x),
                RawCell::Text(t) => parse_time_text(t),
                _ => None,
            };
            time.map(|seconds| Typed::Time(nanos(seconds))).ok_or_else(|| NOT_TIME.into())
        }
    }
}

/// The cell after trimming and the column's value mapping (an exact match on
/// the trimmed text); blank text, before or after mapping, becomes empty.
fn effective_cell(cell: &RawCell, values: Option<&BTreeMap<String, String>>) -> RawCell {
    let mapped = |text: &str| values.and_then(|m| m.get(text));
    let text = |t: &str| {
        let t = t.trim();
        if t.is_empty() { RawCell::Empty } else { RawCell::Text(t.to_string()) }
    };
    match cell {
        RawCell::Empty => RawCell::Empty,
        RawCell::Text(t) => match mapped(t.trim()) {
            Some(v) => text(v),
            None => text(t),
        },
        other => {
            let shown = match other {
                RawCell::Float(x) => number_text(*x),
                _ => other.original_text(),
            };
            match mapped(&shown) {
                Some(v) => text(v),
                None => other.clone(),
            }
        }
    }
}

/// A 128-bit hash of a key's values (two SipHash passes with different salts).
fn key_hash<'a>(parts: impl Iterator<Item = KeyPart<'a>> + Clone) -> u128 {
    let pass = |salt: u64| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        for p in parts.clone() {
            p.hash_into(&mut h);
        }
        h.finish()
    };
    (u128::from(pass(0x5EED_0001)) << 64) | u128::from(pass(0x5EED_0002))
}

/// The kept part of a 128-bit key hash: 96 of its bits (two different keys
/// among 100 million collide with a chance of about one in 10^13). The
/// hashes are spread uniformly already, so the tables that hold them hash
/// them no further: they take the low 64 bits ([`PassThrough`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SeenHash(u64, u32);

impl From<u128> for SeenHash {
    fn from(h: u128) -> Self {
        SeenHash(h as u64, (h >> 96) as u32)
    }
}

impl Hash for SeenHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// A row number as the seen-key table keeps it; beyond 32 bits, "unknown".
fn stored_place(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Where the first row holding a key is, for a duplicate's rule text.
fn first_at(place: &RowPlace, first: u32) -> String {
    if first == u32::MAX {
        "earlier in the file".to_string()
    } else {
        format!("at {}", place_like(place, u64::from(first)))
    }
}

/// A hasher for keys that are hashes: the last 64 bits written are the hash.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

/// The rule text for a code outside its list, pointing at `values:` when the text is a known label.
fn code_rule(column: &str, value: &str, codes: &[&str], labels: &[(&str, &str)]) -> String {
    match labels.iter().find(|(label, _)| *label == value) {
        Some((label, code)) => format!(
            "\"{label}\" is not a valid {column} code; it is the label of `{code}`: map it with `values: {{{column}: {{{label}: {code}}}}}`"
        ),
        None => format!("\"{}\" is not a valid {column} code; expected one of {}", excerpt(value), codes.join(", ")),
    }
}

/// The number of a row's place: its line, sheet row or record.
fn place_number(place: &RowPlace) -> u64 {
    match place {
        RowPlace::Line(n) | RowPlace::Record(n) | RowPlace::Sheet { row: n, .. } => *n,
    }
}

/// The place numbered `n` in the same file (and sheet) as `place`.
fn place_like(place: &RowPlace, n: u64) -> RowPlace {
    match place {
        RowPlace::Line(_) => RowPlace::Line(n),
        RowPlace::Record(_) => RowPlace::Record(n),
        RowPlace::Sheet { sheet, .. } => RowPlace::Sheet { sheet: sheet.clone(), row: n },
    }
}

/// The original text of a file column of `row`.
fn cell_text(row: &RawRow, source: Option<usize>) -> String {
    source.and_then(|i| row.cells.get(i)).map(RawCell::original_text).unwrap_or_default()
}

/// Everything that decides whether a row is good, shared by the column-wise
/// pass ([`columns`]) and the row-wise one that explains bad rows.
struct Rules<'a> {
    columns: &'a [Column],
    layout: &'a Layout,
    header_count: usize,
    short_rows: ShortRows,
    /// Dates of a contract table must lie in `earliest..=latest` (days since the epoch).
    contract_dates: Option<(i32, i32)>,
    as_of: NaiveDate,
    /// Pairs of columns (by position) whose dates must not go backwards.
    ordered: Vec<(usize, usize)>,
    /// Groups of columns of which a row sets exactly one: each column's name and position
    /// (none when the file has no such column, which is then empty in every row).
    one_of: Vec<Vec<(&'static str, Option<usize>)>>,
    /// For each column, the key values its references must be among (when checked).
    held: Vec<Option<&'a HashSet<String>>>,
    /// The unique key's columns, by position (a contract table has one key at most).
    unique: Option<Vec<usize>>,
}

impl Rules<'_> {
    /// Judge one row cell by cell: its typed values (a bad cell is null) and
    /// every rule it breaks except unique keys, in the order they are reported.
    fn check_row(&self, row: &RawRow) -> (Vec<Typed>, Vec<Reject>) {
        let columns = self.columns;
        let mut broken: Vec<Reject> = Vec::new();
        let reject = |column: &str, rule: String, value: String| Reject {
            place: row.place.clone(),
            column: column.to_string(),
            rule,
            value,
        };
        let mut values: Vec<Typed> = Vec::with_capacity(columns.len());
        if let Some(reason) = &row.malformed {
            // The reader gives the record's original text as its cells.
            let text: Vec<String> = row.cells.iter().map(RawCell::original_text).collect();
            broken.push(reject("", reason.clone(), text.join(",")));
            return (values, broken);
        }
        let count = self.header_count;
        if row.cells.len() > count || (row.cells.len() < count && self.short_rows == ShortRows::Reject) {
            let text: Vec<String> = row.cells.iter().map(RawCell::original_text).collect();
            broken.push(reject("", format!("{} fields, the header has {count}", row.cells.len()), text.join(",")));
            return (values, broken);
        }
        // Fields too long or holding NUL: reported under the column they would fill.
        let mut bad_fields: Vec<usize> = Vec::new();
        for (i, cell) in row.cells.iter().enumerate() {
            if let RawCell::Text(t) = cell {
                let (rule, value) = if t.len() > MAX_FIELD_BYTES {
                    (format!("field longer than {MAX_FIELD_BYTES} bytes"), t.chars().take(80).collect())
                } else if t.contains('\0') {
                    ("field contains a NUL character".to_string(), t.replace('\0', "\\0"))
                } else {
                    continue;
                };
                bad_fields.push(i);
                broken.push(reject(&self.layout.header_name(i), rule, value));
            }
        }
        for (c, held) in columns.iter().zip(&self.held) {
            if c.source.is_some_and(|i| bad_fields.contains(&i)) {
                values.push(Typed::Null);
                continue;
            }
            let original = cell_text(row, c.source);
            let cell = c.source.and_then(|i| row.cells.get(i)).unwrap_or(&RawCell::Empty);
            let typed = match type_cell(&effective_cell(cell, c.values.as_ref()), c.ty) {
                Ok(v) => v,
                Err(rule) => {
                    broken.push(reject(&c.name, rule, original));
                    values.push(Typed::Null);
                    continue;
                }
            };
            if typed == Typed::Null {
                if c.required {
                    broken.push(reject(&c.name, "missing required value".into(), original));
                }
                values.push(Typed::Null);
                continue;
            }
            let before = broken.len();
            if let (Some(codes), Typed::Str(s)) = (c.codes, &typed)
                && !codes.contains(&s.as_str())
            {
                broken.push(reject(&c.name, code_rule(&c.name, s, codes, c.labels), original.clone()));
            }
            if let (Some(min), Some(v)) = (c.min, typed.number())
                && v < min
            {
                let rule = if min == 0.0 { "negative number".to_string() } else { format!("less than {min}") };
                broken.push(reject(&c.name, rule, original.clone()));
            }
            if let (Some(max), Some(v)) = (c.max, typed.number())
                && v > max
            {
                broken.push(reject(&c.name, format!("more than {max}"), original.clone()));
            }
            if let (Typed::Date(d), Some((earliest, latest))) = (&typed, self.contract_dates) {
                if *d < earliest {
                    broken.push(reject(&c.name, "date before 2000-01-01".into(), original.clone()));
                } else if *d > latest {
                    broken.push(reject(
                        &c.name,
                        format!("date more than a year after as_of ({})", self.as_of),
                        original.clone(),
                    ));
                }
            }
            if let (Some((table, _)), Some(held), Typed::Str(s)) = (c.references, held, &typed)
                && !held.contains(s)
            {
                broken.push(reject(&c.name, format!("{} \"{s}\" is not in {table}", c.name), original.clone()));
            }
            values.push(if broken.len() == before { typed } else { Typed::Null });
        }
        for (a, b) in &self.ordered {
            if let (Some(Typed::Date(x)), Some(Typed::Date(y)), Some(ca), Some(cb)) =
                (values.get(*a), values.get(*b), columns.get(*a), columns.get(*b))
                && y < x
            {
                broken.push(reject(&cb.name, format!("{} before {}", cb.name, ca.name), cell_text(row, cb.source)));
            }
        }
        for group in &self.one_of {
            // Set as written: a value broken by another rule still counts as given.
            let written = |i: usize| {
                values.get(i).is_some_and(|v| *v != Typed::Null)
                    || columns.get(i).is_some_and(|c| !cell_text(row, c.source).trim().is_empty())
            };
            let set: Vec<&(&str, Option<usize>)> = group.iter().filter(|(_, at)| at.is_some_and(written)).collect();
            if set.len() == 1 {
                continue;
            }
            let names: Vec<&str> = group.iter().map(|(name, _)| *name).collect();
            // Reported under the first column, or the second one set.
            let (column, at) = if set.is_empty() { group[0] } else { *set[1] };
            let rule = if set.is_empty() {
                format!("none of {} is set: a row names exactly one", names.join(", "))
            } else {
                let both: Vec<&str> = set.iter().map(|(name, _)| *name).collect();
                let all = if both.len() == 2 { "both" } else { "all" };
                format!("{} are {all} set: a row names exactly one", both.join(" and "))
            };
            let original = at.and_then(|i| columns.get(i)).map(|c| cell_text(row, c.source)).unwrap_or_default();
            broken.push(reject(column, rule, original));
        }
        (values, broken)
    }
}

/// The record in slot `i` of a raw batch, cell by cell.
fn slot_row(raw: &RawBatch, i: usize) -> RawRow {
    if let Ok(k) = raw.rows.binary_search_by_key(&i, |(slot, _)| *slot)
        && let Some((_, row)) = raw.rows.get(k)
    {
        return row.clone();
    }
    let cells = raw.columns.iter().map(|c| cell_of_array(c.as_ref(), i)).collect();
    RawRow { place: raw.place(i), cells, malformed: None }
}

/// How many raw batches are typed side by side before their rows are swept in order.
fn window() -> usize {
    2 * rayon::current_num_threads().max(1)
}

/// Read every row of `reader` into a canonical table: map and type each cell,
/// check every rule of the contract (when `options.contract` is set), keep the
/// good rows in batches of at most [`BATCH_ROWS`] and record every broken rule.
///
/// Records come from the reader in blocks ([`RowReader::next_batch`]). Each
/// block is typed and checked column by column, several blocks at once on
/// rayon's threads (module `columns`); then its rows are swept in file order, where
/// unique keys are checked and every row a column-wise rule flagged is judged
/// again cell by cell, which gives each broken rule its exact place, column
/// and original text. A bad row costs that second look; a good one does not.
///
/// `source` is the source's name in the pipeline and `file` the file as the
/// user named it, for messages; `ctx.as_of` bounds dates; `references` maps a
/// contract table (`schools`) to the key values of the source holding it (a
/// table not in it is not checked); `progress` is called with the rows read so
/// far every 65,536 rows or so and at the end. With `on_bad_rows: fail` the
/// first bad row is an error.
pub fn ingest(
    source: &str,
    file: &str,
    options: &SourceOptions,
    reader: &mut dyn RowReader,
    ctx: &RunContext,
    references: &HashMap<String, &KeySet>,
    progress: &dyn Fn(u64),
) -> Result<Ingested> {
    let mut batches = Vec::new();
    let load = SourceToLoad {
        name: source,
        file,
        options,
        keys: KeyMemory::default(),
        reopen: None,
        defer_keys: false,
        skip: None,
    };
    let mut ingested = ingest_into(&load, reader, ctx, references, progress, &mut |b| {
        batches.push(b);
        Ok(())
    })?;
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(ingested.schema.clone()));
    }
    ingested.batches = batches;
    Ok(ingested)
}

/// A source to load: its name in the pipeline, its file as the user named
/// it (for messages), its options, and how it may be loaded.
#[derive(Clone, Copy)]
pub struct SourceToLoad<'a> {
    /// The source's name in the pipeline.
    pub name: &'a str,
    /// The file as the user named it.
    pub file: &'a str,
    /// Its contract, mappings and bad-row policy.
    pub options: &'a SourceOptions,
    /// Memory for its unique-key check.
    pub keys: KeyMemory<'a>,
    /// Opens the source again from its start. Given, a file the reader
    /// hands out as stored ([`RowReader::as_stored`]) is first checked
    /// without handing out its rows: if every row and value passes as
    /// stored, the file is the table ([`Ingested::in_place`]); at the first
    /// that does not, the rows passed so far are read again and handed out,
    /// and loading goes on as usual.
    pub reopen: Option<&'a dyn Fn() -> Result<Box<dyn RowReader>>>,
    /// Leave the unique-key check to the caller: every good row's claim is
    /// returned ([`Ingested::claims`]) and no row is a duplicate here (what a
    /// part of a table loaded beside other parts does).
    pub defer_keys: bool,
    /// Rows left out of the table (their place numbers): good rows that the
    /// caller found to be duplicates. They are still counted as loaded.
    pub skip: Option<&'a HashSet<u64>>,
}

/// [`ingest`], handing each batch of good rows to `out` as soon as it is
/// made instead of keeping them (`Ingested::batches` is left empty): what a
/// run does, so that a table larger than memory can go straight to disk.
/// Batches come in file order, each non-empty, with the schema of
/// `Ingested::schema`.
pub fn ingest_into(
    load: &SourceToLoad<'_>,
    reader: &mut dyn RowReader,
    ctx: &RunContext,
    references: &HashMap<String, &KeySet>,
    progress: &dyn Fn(u64),
    out: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<Ingested> {
    let SourceToLoad { name: source, file, options, .. } = *load;
    let context = format!("sources.{source}");
    let within = |d: Diagnostic| if d.context.is_none() { d.in_context(&context) } else { d };
    let header_count = reader.headers().len();
    let layout = layout(options, Some(reader.headers()), Some(file)).map_err(within)?;
    let schema = layout.schema();
    let spec = layout.spec;
    let columns = &layout.columns;
    let warnings: Vec<Diagnostic> = layout.warnings.iter().cloned().map(within).collect();

    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).map(days).unwrap_or(i32::MIN);
    let latest = days(ctx.as_of.checked_add_months(chrono::Months::new(12)).unwrap_or(ctx.as_of));
    let empty_keys = HashSet::new();
    let rules = Rules {
        columns,
        layout: &layout,
        header_count,
        short_rows: options.short_rows,
        contract_dates: spec.map(|_| (earliest, latest)),
        as_of: ctx.as_of,
        ordered: spec
            .map(|s| {
                s.ordered_dates.iter().filter_map(|(a, b)| Some((layout.position(a)?, layout.position(b)?))).collect()
            })
            .unwrap_or_default(),
        one_of: spec
            .map(|s| s.one_of.iter().map(|g| g.iter().map(|c| (*c, layout.position(c))).collect()).collect())
            .unwrap_or_default(),
        held: columns
            .iter()
            .map(|c| {
                let (table, key) = c.references?;
                let held = references.get(table)?;
                Some(held.get(key).unwrap_or(&empty_keys))
            })
            .collect(),
        unique: spec.and_then(|s| s.unique.first()).map(|key| key.iter().filter_map(|k| layout.position(k)).collect()),
    };
    // Keys of tables that others reference, kept exactly; an empty table still has an (empty) entry.
    let kept_keys: Vec<(usize, &'static str)> = spec
        .filter(|s| options.within.unwrap_or_else(Contract::builtin).is_referenced(s.name))
        .map(|s| {
            s.unique
                .iter()
                .filter_map(|k| match k {
                    [one] => layout.position(one).map(|i| (i, *one)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    // A file whose columns are the table's, by name, may be the table itself.
    let in_place = match (load.reopen, reader.as_stored()) {
        (Some(reopen), Some((path, stored)))
            if columns.iter().all(|c| c.source.and_then(|i| stored.get(i)).is_some_and(|n| *n == c.name)) =>
        {
            Some(InPlace { path: path.to_path_buf(), rows: 0, reopen })
        }
        _ => None,
    };
    let mut sweep = Sweep {
        rules: &rules,
        schema: schema.clone(),
        file,
        context: &context,
        fail_on_bad_rows: options.on_bad_rows == OnBadRows::Fail,
        unique_keys: rules.unique.as_ref().filter(|_| !load.defer_keys).map(|_| UniqueKeys::new(load.keys)),
        deferred: (load.defer_keys && rules.unique.is_some()).then(KeyClaims::default),
        skip: load.skip,
        skipped: Vec::new(),
        held: Vec::new(),
        held_rows: Vec::new(),
        keys: kept_keys.iter().map(|(_, name)| (name.to_string(), HashSet::new())).collect(),
        kept_keys,
        out,
        rejects: Vec::new(),
        reject_rows: Vec::new(),
        read: 0,
        loaded: 0,
        rejected: 0,
        in_place,
    };

    // The reader runs on its own thread, a window of blocks ahead; each window
    // is typed in parallel, then swept in order.
    std::thread::scope(|scope| -> Result<()> {
        let (send, receive) = std::sync::mpsc::sync_channel::<Result<RawBatch>>(window());
        scope.spawn(move || {
            while let Some(raw) = reader.next_batch() {
                let failed = raw.is_err();
                // A closed channel: the sweep stopped (a bad row with `on_bad_rows: fail`).
                if send.send(raw).is_err() || failed {
                    break;
                }
            }
        });
        let mut reported = 0u64;
        loop {
            let raws = receive.iter().take(window()).collect::<Result<Vec<RawBatch>>>().map_err(within)?;
            if raws.is_empty() {
                return Ok(());
            }
            let typed: Vec<Result<columns::TypedBatch>> =
                raws.par_iter().map(|raw| columns::type_batch(&rules, raw)).collect();
            for (raw, typed) in raws.iter().zip(typed) {
                sweep.sweep(raw, typed?)?;
                if sweep.read / PROGRESS_EVERY > reported / PROGRESS_EVERY {
                    reported = sweep.read;
                    progress(sweep.read);
                }
            }
        }
    })?;
    sweep.finish_held()?;
    progress(sweep.read);
    Ok(Ingested {
        schema,
        batches: Vec::new(),
        rows_read: sweep.read,
        rows_loaded: sweep.loaded,
        rows_rejected: sweep.rejected,
        rejects: sweep.rejects,
        keys: sweep.keys,
        warnings,
        in_place: sweep.in_place.map(|p| p.path),
        claims: sweep.deferred,
        skipped: sweep.skipped,
    })
}

/// Write rejects as CSV (`file,place,column,rule,value`), atomically: the file
/// appears whole or not at all.
pub fn write_rejects(path: &Path, file: &str, rejects: &[Reject]) -> Result<()> {
    let failed = |e: csv::Error| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e);
    sunward_core::atomic::write_atomic(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["file", "place", "column", "rule", "value"]).map_err(failed)?;
        // A NUL character is written as `\0`: many tools stop reading a text at one.
        let shown = |text: &str| if text.contains('\0') { text.replace('\0', "\\0") } else { text.to_string() };
        for r in rejects {
            out.write_record([file, &r.place.to_string(), &shown(&r.column), &shown(&r.rule), &shown(&r.value)])
                .map_err(failed)?;
        }
        out.flush().map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole-number text over a grid of values and spellings, each expected
    /// value known by construction: an integer `n` written plainly, with
    /// zeros after a point, with an exponent that moves the point, and the
    /// same with a non-zero digit somewhere after the point (never whole).
    #[test]
    fn whole_number_text_is_decided_exactly() {
        let mut values: Vec<i128> = vec![0, 1, 7, 10, 100, 120, 999, 1_000_000, 9_000_000_000_000_001];
        values.extend([i128::from(i64::MAX), i128::from(i64::MAX) + 1, 10i128.pow(19), 10i128.pow(25)]);
        for n in values.clone() {
            values.push(-n);
        }
        for n in values {
            let expected = i64::try_from(n).map_err(|_| TOO_LARGE);
            let digits = n.unsigned_abs().to_string();
            let sign = if n < 0 { "-" } else { "" };
            let mut spellings =
                vec![format!("{sign}{digits}"), format!("{sign}{digits}.0"), format!("{sign}{digits}.000")];
            // The point moved left k places and an exponent of k: the same number.
            for k in 1..=digits.len() {
                let (head, tail) = digits.split_at(digits.len() - k);
                let head = if head.is_empty() { "0" } else { head };
                spellings.push(format!("{sign}{head}.{tail}e{k}"));
                spellings.push(format!("{sign}{head}.{tail}E+{k}"));
            }
            // Trailing zeros moved into the exponent.
            let trimmed = digits.trim_end_matches('0');
            if !trimmed.is_empty() && trimmed.len() < digits.len() {
                spellings.push(format!("{sign}{trimmed}e{}", digits.len() - trimmed.len()));
            }
            for text in &spellings {
                assert_eq!(parse_int_text(text), expected, "{text}");
            }
            // A non-zero digit after the point, however far: never whole.
            for zeros in [0, 1, 15, 16, 40] {
                let text = format!("{sign}{digits}.{}1", "0".repeat(zeros));
                assert_eq!(parse_int_text(&text), Err(NOT_WHOLE), "{text}");
                let text = format!("{sign}{digits}{}1e-{}", "0".repeat(zeros), zeros + 1);
                assert_eq!(parse_int_text(&text), Err(NOT_WHOLE), "{text}");
            }
        }
        for text in ["", "-", ".", "e5", "1e", "1..0", "1.0.0", "١٢", "1 000", "0x10", "inf", "NaN", "1e99999999999"]
        {
            assert_eq!(parse_int_text(text), Err(NOT_WHOLE), "{text:?}");
        }
        assert_eq!(parse_int_text("0e999999999"), Ok(0));
        assert_eq!(parse_int_text("1e999999999"), Err(TOO_LARGE));
        assert_eq!(parse_int_text("1.0000000000000001"), Err(NOT_WHOLE));
    }

    /// Numbers a spreadsheet stores as doubles: whole and exact, whole but
    /// too large to be exact, or not whole.
    #[test]
    fn spreadsheet_numbers_are_whole_only_when_exact() {
        let int = |x: f64| type_cell(&RawCell::Float(x), ColumnType::Int);
        assert_eq!(int(7.0), Ok(Typed::Int(7)));
        assert_eq!(int(-8_999_999_999_999_999.0), Ok(Typed::Int(-8_999_999_999_999_999)));
        assert_eq!(int(1e17), Err(INEXACT.to_string()));
        assert_eq!(int(7.5), Err(NOT_WHOLE.to_string()));
        assert_eq!(int(f64::NAN), Err(NOT_WHOLE.to_string()));
    }
}

#[cfg(test)]
mod time_tests {
    use super::*;

    /// Every minute of the day in every written form, against h·3600 + m·60
    /// worked out here; and the forms that are not times.
    #[test]
    fn every_minute_of_the_day_reads_in_every_form() {
        for h in 0..24 {
            for m in 0..60 {
                let want = Some(h * 3600 + m * 60);
                for text in [
                    format!("{h}:{m:02}"),
                    format!("{h:02}:{m:02}"),
                    format!("{h:02}:{m:02}:00"),
                    format!(" {h}：{m:02} "),
                    format!("{h}点{m:02}分"),
                    format!("{h}时{m:02}分"),
                ] {
                    assert_eq!(parse_time_text(&text), want, "{text:?}");
                }
                assert_eq!(parse_time_text(&format!("{h:02}:{m:02}:59")), Some(h * 3600 + m * 60 + 59));
                // An Excel time is a fraction of a day; a date-time's whole part is the date.
                let fraction = f64::from(h * 3600 + m * 60) / 86_400.0;
                assert_eq!(
                    type_cell(&RawCell::Float(fraction), ColumnType::Time).ok(),
                    want.map(|s| Typed::Time(nanos(s)))
                );
            }
            assert_eq!(parse_time_text(&format!("{h}点")), Some(h * 3600), "{h}点");
        }
        for bad in ["24:00", "7:5", "12:60", "12:30:60", "1230", "12", "abc", "-1:00", "12:3a", "", "123:00"] {
            assert_eq!(parse_time_text(bad), None, "{bad:?}");
            if !bad.is_empty() {
                assert_eq!(
                    type_cell(&RawCell::Text(bad.into()), ColumnType::Time).err().as_deref(),
                    Some("not a time of day (18:30)")
                );
            }
        }
        let at = NaiveDate::from_ymd_opt(2025, 3, 5).and_then(|d| d.and_hms_opt(18, 30, 15));
        assert_eq!(type_cell(&RawCell::DateTime(at.unwrap()), ColumnType::Time), Ok(Typed::Time(66_615_000_000_000)));
    }
}
