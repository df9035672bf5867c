//! Ingest: from a source's raw rows to a canonical Arrow table and its rejects.
//!
//! Every source, whatever its format, goes through here: header mapping,
//! value mapping, typing (dates in the forms Chinese exports use, Excel serial
//! numbers, `44.0` as an integer), and every rule of the data contract that
//! makes a row bad. A bad row is left out of the table and recorded as a
//! [`Reject`] with its place, column, rule and original text — never dropped
//! silently. Rows stream through in batches, so only the current batch and the
//! unique-key sets are held in memory.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::{HashMap, HashSet};
use sunward_core::model::SourceOptions;
use sunward_core::{Result, RowPlace, RowReader, RunContext};

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
    /// The good rows.
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
    pub warnings: Vec<sunward_core::Diagnostic>,
}

fn arrow_type(ty: sunward_core::contract::ColumnType) -> datafusion::arrow::datatypes::DataType {
    use datafusion::arrow::datatypes::DataType;
    use sunward_core::contract::ColumnType;
    match ty {
        ColumnType::String => DataType::Utf8,
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Date => DataType::Date32,
        ColumnType::Bool => DataType::Boolean,
    }
}

/// The schema a source will have, without reading rows: the contract's columns
/// in contract order when `options.contract` is set; otherwise the file's
/// `headers` after the `headers:` mapping, typed by `columns:` (others: strings).
pub fn declared_schema(options: &SourceOptions, headers: Option<&[String]>) -> Result<SchemaRef> {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    use sunward_core::Diagnostic;
    if let Some(name) = &options.contract {
        let spec = sunward_core::contract::table(name)
            .ok_or_else(|| Diagnostic::invalid(format!("unknown contract table \"{name}\"")))?;
        let fields: Vec<Field> =
            spec.columns.iter().map(|c| Field::new(c.name, arrow_type(c.ty), !c.required)).collect();
        return Ok(Arc::new(Schema::new(fields)));
    }
    let headers = headers.ok_or_else(|| Diagnostic::runtime("the file's headers are needed to know its columns"))?;
    let mut seen = HashSet::new();
    let mut fields = Vec::new();
    for raw in headers {
        let raw = raw.trim();
        let name = options.headers.get(raw).map(String::as_str).unwrap_or(raw);
        if !seen.insert(name.to_string()) {
            return Err(Diagnostic::invalid(format!("column \"{name}\" appears twice in the header"))
                .hint("rename one of them, or map one to another name with `headers:`"));
        }
        let ty = options.columns.get(name).map(|t| arrow_type(*t)).unwrap_or(DataType::Utf8);
        fields.push(Field::new(name, ty, true));
    }
    for declared in options.columns.keys() {
        if !seen.contains(declared) {
            return Err(Diagnostic::invalid(format!(
                "column \"{declared}\" is declared under `columns:` but the file has no such column"
            ))
            .hint(format!("the file's columns: {}", headers.join(", "))));
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Rows per Arrow batch.
pub const BATCH_ROWS: usize = 8192;
/// The largest field allowed, in bytes of UTF-8.
pub const MAX_FIELD_BYTES: usize = 1_048_576;

/// A value after typing.
#[derive(Debug, Clone, PartialEq)]
enum Typed {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Date(i32),
    Bool(bool),
}

/// One output column: where it comes from and what it must satisfy.
struct Column {
    name: String,
    ty: sunward_core::contract::ColumnType,
    source: Option<usize>,
    required: bool,
    codes: Option<&'static [&'static str]>,
    min: Option<f64>,
    references: Option<&'static str>,
    values: Option<std::collections::BTreeMap<String, String>>,
}

enum Builder {
    Str(datafusion::arrow::array::StringBuilder),
    Int(datafusion::arrow::array::Int64Builder),
    Float(datafusion::arrow::array::Float64Builder),
    Date(datafusion::arrow::array::Date32Builder),
    Bool(datafusion::arrow::array::BooleanBuilder),
}

impl Builder {
    fn new(ty: sunward_core::contract::ColumnType) -> Self {
        use datafusion::arrow::array::*;
        use sunward_core::contract::ColumnType;
        match ty {
            ColumnType::String => Builder::Str(StringBuilder::new()),
            ColumnType::Int => Builder::Int(Int64Builder::new()),
            ColumnType::Float => Builder::Float(Float64Builder::new()),
            ColumnType::Date => Builder::Date(Date32Builder::new()),
            ColumnType::Bool => Builder::Bool(BooleanBuilder::new()),
        }
    }
    fn push(&mut self, v: &Typed) {
        match (self, v) {
            (Builder::Str(b), Typed::Str(s)) => b.append_value(s),
            (Builder::Int(b), Typed::Int(i)) => b.append_value(*i),
            (Builder::Float(b), Typed::Float(x)) => b.append_value(*x),
            (Builder::Date(b), Typed::Date(d)) => b.append_value(*d),
            (Builder::Bool(b), Typed::Bool(x)) => b.append_value(*x),
            (Builder::Str(b), _) => b.append_null(),
            (Builder::Int(b), _) => b.append_null(),
            (Builder::Float(b), _) => b.append_null(),
            (Builder::Date(b), _) => b.append_null(),
            (Builder::Bool(b), _) => b.append_null(),
        }
    }
    fn finish(&mut self) -> datafusion::arrow::array::ArrayRef {
        use std::sync::Arc;
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
        }
    }
}

fn days(d: chrono::NaiveDate) -> i32 {
    sunward_core::params::date_to_days(d)
}

/// A date from an Excel serial number (1900 date system, with Excel's fictitious 1900-02-29).
pub fn excel_serial_date(serial: f64) -> Option<chrono::NaiveDate> {
    if !serial.is_finite() || !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let whole = serial.floor() as i64;
    let base = if whole < 60 {
        chrono::NaiveDate::from_ymd_opt(1899, 12, 31)?
    } else if whole == 60 {
        return None;
    } else {
        chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?
    };
    base.checked_add_signed(chrono::Duration::days(whole))
}

/// A date written `2025-03-05`, `2025/3/5`, `2025.3.5`, `2025年3月5日`, an
/// ISO date-time, or an Excel serial number.
pub fn parse_date_text(text: &str) -> Option<chrono::NaiveDate> {
    let t = text.trim();
    if let Some(rest) = t.strip_suffix('日') {
        let (y, rest) = rest.split_once('年')?;
        let (m, d) = rest.split_once('月')?;
        return chrono::NaiveDate::from_ymd_opt(y.trim().parse().ok()?, m.trim().parse().ok()?, d.trim().parse().ok()?);
    }
    let date_part = t.split([' ', 'T']).next().unwrap_or(t);
    for sep in ['-', '/', '.'] {
        let parts: Vec<&str> = date_part.split(sep).collect();
        if parts.len() == 3
            && parts[0].len() == 4
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return chrono::NaiveDate::from_ymd_opt(
                parts[0].parse().ok()?,
                parts[1].parse().ok()?,
                parts[2].parse().ok()?,
            );
        }
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return excel_serial_date(t.parse().ok()?);
    }
    None
}

fn parse_int_text(t: &str) -> Option<i64> {
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    let x: f64 = t.parse().ok()?;
    (x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64)
}

fn number_text(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 { format!("{}", x as i64) } else { x.to_string() }
}

/// Type one cell; `Err` holds the rule broken.
fn type_cell(
    cell: &sunward_core::RawCell,
    text: Option<&str>,
    ty: sunward_core::contract::ColumnType,
) -> Result<Typed, String> {
    use sunward_core::RawCell;
    use sunward_core::contract::ColumnType;
    // `text` is the trimmed, value-mapped text for text cells (None when empty).
    match ty {
        ColumnType::String => Ok(match cell {
            RawCell::Int(i) => Typed::Str(i.to_string()),
            RawCell::Float(x) => Typed::Str(number_text(*x)),
            RawCell::Empty => Typed::Null,
            RawCell::Text(_) => text.map(|t| Typed::Str(t.to_string())).unwrap_or(Typed::Null),
            other => Typed::Str(other.original_text()),
        }),
        ColumnType::Int => match cell {
            RawCell::Int(i) => Ok(Typed::Int(*i)),
            RawCell::Float(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(Typed::Int(*x as i64)),
            RawCell::Float(_) => Err("not a whole number".into()),
            RawCell::Text(_) => match text {
                None => Ok(Typed::Null),
                Some(t) => parse_int_text(t).map(Typed::Int).ok_or_else(|| "not a whole number".into()),
            },
            RawCell::Empty => Ok(Typed::Null),
            _ => Err("not a whole number".into()),
        },
        ColumnType::Float => match cell {
            RawCell::Int(i) => Ok(Typed::Float(*i as f64)),
            RawCell::Float(x) if x.is_finite() => Ok(Typed::Float(*x)),
            RawCell::Text(_) => match text {
                None => Ok(Typed::Null),
                Some(t) => t
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Typed::Float)
                    .ok_or_else(|| "not a number".into()),
            },
            RawCell::Empty => Ok(Typed::Null),
            _ => Err("not a number".into()),
        },
        ColumnType::Date => match cell {
            RawCell::Date(d) => Ok(Typed::Date(days(*d))),
            RawCell::DateTime(dt) => Ok(Typed::Date(days(dt.date()))),
            RawCell::Int(i) => {
                excel_serial_date(*i as f64).map(|d| Typed::Date(days(d))).ok_or_else(|| "not a date".into())
            }
            RawCell::Float(x) => excel_serial_date(*x).map(|d| Typed::Date(days(d))).ok_or_else(|| "not a date".into()),
            RawCell::Text(_) => match text {
                None => Ok(Typed::Null),
                Some(t) => parse_date_text(t).map(|d| Typed::Date(days(d))).ok_or_else(|| "not a date".into()),
            },
            RawCell::Empty => Ok(Typed::Null),
            RawCell::Bool(_) => Err("not a date".into()),
        },
        ColumnType::Bool => match cell {
            RawCell::Bool(b) => Ok(Typed::Bool(*b)),
            RawCell::Int(0) => Ok(Typed::Bool(false)),
            RawCell::Int(1) => Ok(Typed::Bool(true)),
            RawCell::Text(_) => match text.map(str::to_lowercase).as_deref() {
                None => Ok(Typed::Null),
                Some("true" | "1" | "yes" | "y" | "是") => Ok(Typed::Bool(true)),
                Some("false" | "0" | "no" | "n" | "否") => Ok(Typed::Bool(false)),
                Some(_) => Err("not true or false".into()),
            },
            RawCell::Empty => Ok(Typed::Null),
            _ => Err("not true or false".into()),
        },
    }
}

/// The cell after trimming and the column's value mapping; blank text becomes empty.
fn effective_cell(
    cell: &sunward_core::RawCell,
    values: Option<&std::collections::BTreeMap<String, String>>,
) -> sunward_core::RawCell {
    use sunward_core::RawCell;
    match cell {
        RawCell::Text(t) => {
            let t = t.trim();
            if t.is_empty() {
                RawCell::Empty
            } else {
                RawCell::Text(values.and_then(|m| m.get(t)).cloned().unwrap_or_else(|| t.to_string()))
            }
        }
        RawCell::Empty => RawCell::Empty,
        other => match values.and_then(|m| m.get(&other.original_text())) {
            Some(v) => RawCell::Text(v.clone()),
            None => other.clone(),
        },
    }
}

fn key_hash(parts: &[&Typed]) -> u128 {
    use std::hash::{Hash, Hasher};
    let text: Vec<String> = parts.iter().map(|p| format!("{p:?}")).collect();
    let mut a = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    0xA5A5_u16.hash(&mut b);
    text.hash(&mut b);
    ((a.finish() as u128) << 64) | b.finish() as u128
}

/// Read every row of `reader` into a canonical table (see the module docs).
pub fn ingest(
    source: &str,
    file: &str,
    options: &SourceOptions,
    reader: &mut dyn RowReader,
    ctx: &RunContext,
    references: &HashMap<String, &KeySet>,
    progress: &dyn Fn(u64),
) -> Result<Ingested> {
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;
    use sunward_core::contract::{self, LABELS};
    use sunward_core::model::OnBadRows;
    use sunward_core::{Diagnostic, ErrorKind};

    let file_headers: Vec<String> = reader.headers().iter().map(|h| h.trim().to_string()).collect();
    let mapped: Vec<String> =
        file_headers.iter().map(|h| options.headers.get(h).cloned().unwrap_or_else(|| h.clone())).collect();
    let position = |name: &str| mapped.iter().position(|h| h == name);
    let mut warnings = Vec::new();
    let spec = match &options.contract {
        Some(name) => Some(
            contract::table(name).ok_or_else(|| Diagnostic::invalid(format!("unknown contract table \"{name}\"")))?,
        ),
        None => None,
    };
    let mut columns: Vec<Column> = Vec::new();
    if let Some(spec) = spec {
        let missing: Vec<&str> =
            spec.columns.iter().filter(|c| c.required && position(c.name).is_none()).map(|c| c.name).collect();
        if !missing.is_empty() {
            return Err(Diagnostic::runtime(format!(
                "{file} lacks the required column{} {} of {}",
                if missing.len() > 1 { "s" } else { "" },
                missing.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", "),
                spec.name
            ))
            .in_context(format!("sources.{source}"))
            .hint(format!(
                "the file's header is: {}; map the file's names onto the contract's with `headers:` (e.g. `学校编号: school_id`)",
                file_headers.join(", ")
            )));
        }
        let extra: Vec<&str> = mapped.iter().filter(|h| spec.column(h).is_none()).map(String::as_str).collect();
        if !extra.is_empty() {
            warnings.push(
                Diagnostic::warning(format!(
                    "{file}: columns not in the {} contract are ignored: {}",
                    spec.name,
                    extra.join(", ")
                ))
                .in_context(format!("sources.{source}")),
            );
        }
        for c in spec.columns {
            columns.push(Column {
                name: c.name.to_string(),
                ty: c.ty,
                source: position(c.name),
                required: c.required,
                codes: c.codes,
                min: c.min,
                references: c.references.map(|(t, _)| t),
                values: options.values.get(c.name).cloned(),
            });
        }
    } else {
        let schema = declared_schema(options, Some(&file_headers))?;
        for (i, f) in schema.fields().iter().enumerate() {
            let ty = options.columns.get(f.name()).copied().unwrap_or(contract::ColumnType::String);
            columns.push(Column {
                name: f.name().clone(),
                ty,
                source: Some(i),
                required: false,
                codes: None,
                min: None,
                references: None,
                values: options.values.get(f.name()).cloned(),
            });
        }
    }
    let schema: SchemaRef = Arc::new(Schema::new(
        columns.iter().map(|c| Field::new(&c.name, arrow_type(c.ty), !c.required)).collect::<Vec<_>>(),
    ));
    let earliest = days(chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date"));
    let latest = days(ctx.as_of.checked_add_signed(chrono::Duration::days(365)).unwrap_or(ctx.as_of));
    let unique: Vec<Vec<usize>> = spec
        .map(|s| {
            s.unique
                .iter()
                .map(|key| key.iter().filter_map(|k| columns.iter().position(|c| c.name == *k)).collect())
                .collect()
        })
        .unwrap_or_default();
    let mut seen: Vec<HashSet<u128>> = vec![HashSet::new(); unique.len()];
    let keep_keys = spec.is_some_and(|s| matches!(s.name, "schools" | "cases" | "classes"));
    let mut keys: KeySet = HashMap::new();
    let ordered: Vec<(usize, usize)> = spec
        .map(|s| {
            s.ordered_dates
                .iter()
                .filter_map(|(a, b)| {
                    Some((columns.iter().position(|c| c.name == *a)?, columns.iter().position(|c| c.name == *b)?))
                })
                .collect()
        })
        .unwrap_or_default();

    let mut builders: Vec<Builder> = columns.iter().map(|c| Builder::new(c.ty)).collect();
    let mut batch_rows = 0usize;
    let mut batches = Vec::new();
    let mut rejects = Vec::new();
    let (mut read, mut loaded, mut rejected) = (0u64, 0u64, 0u64);
    let flush = |builders: &mut Vec<Builder>, batches: &mut Vec<RecordBatch>| -> Result<()> {
        let arrays = builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|e| Diagnostic::runtime(format!("cannot build a table from {file}")).caused_by(e))?;
        batches.push(batch);
        Ok(())
    };

    while let Some(row) = reader.next_row() {
        let row = row.map_err(|d| if d.context.is_none() { d.in_context(format!("sources.{source}")) } else { d })?;
        read += 1;
        if read % 65_536 == 0 {
            progress(read);
        }
        let mut broken: Vec<Reject> = Vec::new();
        let reject = |column: &str, rule: String, value: String| Reject {
            place: row.place.clone(),
            column: column.to_string(),
            rule,
            value,
        };
        if let Some(reason) = &row.malformed {
            broken.push(reject("", reason.clone(), String::new()));
        } else if row.cells.len() > file_headers.len() {
            let text: Vec<String> = row.cells.iter().map(|c| c.original_text()).collect();
            broken.push(reject(
                "",
                format!("{} fields, the header has {}", row.cells.len(), file_headers.len()),
                text.join(","),
            ));
        }
        for (i, cell) in row.cells.iter().enumerate() {
            if let sunward_core::RawCell::Text(t) = cell {
                let name = mapped.get(i).map(String::as_str).unwrap_or("");
                if t.len() > MAX_FIELD_BYTES {
                    broken.push(reject(
                        name,
                        format!("field longer than {MAX_FIELD_BYTES} bytes"),
                        t.chars().take(80).collect(),
                    ));
                } else if t.contains('\0') {
                    broken.push(reject(name, "field contains a NUL character".into(), t.replace('\0', "\\0")));
                }
            }
        }
        let mut values: Vec<Typed> = Vec::with_capacity(columns.len());
        if broken.is_empty() {
            for c in &columns {
                let empty = sunward_core::RawCell::Empty;
                let cell = c.source.and_then(|i| row.cells.get(i)).unwrap_or(&empty);
                let original = cell.original_text();
                let effective = effective_cell(cell, c.values.as_ref());
                let text_for_typing = match &effective {
                    sunward_core::RawCell::Text(t) => Some(t.as_str()),
                    _ => None,
                };
                let typed = match type_cell(&effective, text_for_typing, c.ty) {
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
                let mut ok = true;
                if let (Some(codes), Typed::Str(s)) = (c.codes, &typed)
                    && !codes.contains(&s.as_str())
                {
                    ok = false;
                    let label = LABELS.iter().find(|(col, label, _)| *col == c.name && label == s);
                    let rule = match label {
                        Some((_, label, code)) => format!(
                            "\"{label}\" is not a valid {} code; it is the label of `{code}`: map it with `values: {{{}: {{{label}: {code}}}}}`",
                            c.name, c.name
                        ),
                        None => format!("\"{s}\" is not a valid {} code; expected one of {}", c.name, codes.join(", ")),
                    };
                    broken.push(reject(&c.name, rule, original.clone()));
                }
                if let Some(min) = c.min {
                    let v = match typed {
                        Typed::Int(i) => Some(i as f64),
                        Typed::Float(x) => Some(x),
                        _ => None,
                    };
                    if let Some(v) = v
                        && v < min
                    {
                        ok = false;
                        let rule = if min == 0.0 { "negative number".to_string() } else { format!("less than {min}") };
                        broken.push(reject(&c.name, rule, original.clone()));
                    }
                }
                if let Typed::Date(d) = typed
                    && spec.is_some()
                {
                    if d < earliest {
                        ok = false;
                        broken.push(reject(&c.name, "date before 2000-01-01".into(), original.clone()));
                    } else if d > latest {
                        ok = false;
                        broken.push(reject(
                            &c.name,
                            format!("date more than a year after as_of ({})", ctx.as_of),
                            original.clone(),
                        ));
                    }
                }
                if let (Some(table), Typed::Str(s)) = (c.references, &typed)
                    && let Some(known) = references.get(table).and_then(|k| k.get(&c.name))
                    && !known.contains(s)
                {
                    ok = false;
                    broken.push(reject(&c.name, format!("{} \"{s}\" is not in {table}", c.name), original.clone()));
                }
                values.push(if ok { typed } else { Typed::Null });
            }
            for (a, b) in &ordered {
                if let (Typed::Date(x), Typed::Date(y)) = (&values[*a], &values[*b])
                    && y < x
                {
                    let original = c_text(&row, columns[*b].source);
                    broken.push(reject(
                        &columns[*b].name,
                        format!("{} before {}", columns[*b].name, columns[*a].name),
                        original,
                    ));
                }
            }
            if broken.is_empty() {
                let mut fresh: Vec<(usize, u128)> = Vec::new();
                for (k, cols) in unique.iter().enumerate() {
                    let parts: Vec<&Typed> = cols.iter().map(|i| &values[*i]).collect();
                    let h = key_hash(&parts);
                    if seen[k].contains(&h) {
                        let names: Vec<&str> = cols.iter().map(|i| columns[*i].name.as_str()).collect();
                        let shown: Vec<String> = cols.iter().map(|i| c_text(&row, columns[*i].source)).collect();
                        broken.push(reject(
                            &names.join("+"),
                            format!("duplicate {}", names.join("+")),
                            shown.join("+"),
                        ));
                    } else {
                        fresh.push((k, h));
                    }
                }
                if broken.is_empty() {
                    for (k, h) in fresh {
                        seen[k].insert(h);
                    }
                }
            }
        }
        if !broken.is_empty() {
            if options.on_bad_rows == OnBadRows::Fail {
                let first = &broken[0];
                return Err(Diagnostic::new(
                    ErrorKind::Runtime,
                    format!(
                        "bad row in {file}, {}, column \"{}\": {} (value \"{}\")",
                        first.place, first.column, first.rule, first.value
                    ),
                )
                .in_context(format!("sources.{source}"))
                .hint("fix the export, or set `on_bad_rows: reject` to set bad rows aside in rejects/"));
            }
            rejected += 1;
            rejects.extend(broken);
            continue;
        }
        if keep_keys && let Some(spec) = spec {
            for key in spec.unique.iter().filter(|k| k.len() == 1) {
                if let Some(i) = columns.iter().position(|c| c.name == key[0])
                    && let Typed::Str(s) = &values[i]
                {
                    keys.entry(key[0].to_string()).or_default().insert(s.clone());
                }
            }
        }
        for (b, v) in builders.iter_mut().zip(&values) {
            b.push(v);
        }
        loaded += 1;
        batch_rows += 1;
        if batch_rows == BATCH_ROWS {
            flush(&mut builders, &mut batches)?;
            batch_rows = 0;
        }
    }
    if batch_rows > 0 || batches.is_empty() {
        flush(&mut builders, &mut batches)?;
    }
    progress(read);
    Ok(Ingested {
        schema,
        batches,
        rows_read: read,
        rows_loaded: loaded,
        rows_rejected: rejected,
        rejects,
        keys,
        warnings,
    })
}

fn c_text(row: &sunward_core::RawRow, source: Option<usize>) -> String {
    source.and_then(|i| row.cells.get(i)).map(|c| c.original_text()).unwrap_or_default()
}

/// Write rejects as CSV (`file,place,column,rule,value`), atomically.
pub fn write_rejects(path: &std::path::Path, file: &str, rejects: &[Reject]) -> Result<()> {
    use sunward_core::Diagnostic;
    sunward_core::atomic::write_atomic(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        let io = |e: csv::Error| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e);
        out.write_record(["file", "place", "column", "rule", "value"]).map_err(io)?;
        for r in rejects {
            out.write_record([file, &r.place.to_string(), &r.column, &r.rule, &r.value]).map_err(io)?;
        }
        out.flush().map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
        Ok(())
    })?;
    Ok(())
}
