//! The column layout of a source: which output columns it has, of what
//! type, read from which column of the file, under which rules. From the
//! contract (its columns, matched to the file's header after the `headers:`
//! mapping, with the header's mistakes reported: a required column missing,
//! a name twice, an `ignore_columns:` entry the file lacks) or, without a
//! contract, from the header itself typed by `columns:`.

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use sunward_core::contract::{ColumnType, TableSpec};
use sunward_core::model::SourceOptions;
use sunward_core::{Diagnostic, Result, excerpt, excerpt_list};

/// The Arrow type of a contract column type.
pub(super) fn arrow_type(ty: ColumnType) -> DataType {
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
pub(super) struct Column {
    pub(super) name: String,
    pub(super) ty: ColumnType,
    /// The index of the file's column it is read from; `None`: absent, all null.
    pub(super) source: Option<usize>,
    pub(super) required: bool,
    pub(super) codes: Option<&'static [&'static str]>,
    /// The labels exports write for the codes, as `(label, code)`.
    pub(super) labels: &'static [(&'static str, &'static str)],
    pub(super) min: Option<f64>,
    /// The largest allowed value.
    pub(super) max: Option<f64>,
    /// The contract table and column this column refers to.
    pub(super) references: Option<(&'static str, &'static str)>,
    pub(super) values: Option<BTreeMap<String, String>>,
}

/// The columns a source will produce, and the warnings found on the way.
pub(super) struct Layout {
    pub(super) spec: Option<&'static TableSpec>,
    pub(super) columns: Vec<Column>,
    /// The file's headers after trimming and mapping (empty when not known).
    pub(super) headers: Vec<String>,
    pub(super) warnings: Vec<Diagnostic>,
}

impl Layout {
    pub(super) fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|c| Field::new(&c.name, arrow_type(c.ty), !c.required)).collect::<Vec<_>>(),
        ))
    }
    pub(super) fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
    /// How file column `i` is named in rejects: its header after mapping.
    pub(super) fn header_name(&self, i: usize) -> String {
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
pub(super) fn layout(options: &SourceOptions, headers: Option<&[String]>, file: Option<&str>) -> Result<Layout> {
    let raw: Option<Vec<String>> = headers.map(|h| h.iter().map(|s| s.trim().to_string()).collect());
    let mapped: Option<Vec<String>> =
        raw.as_ref().map(|r| r.iter().map(|h| options.headers.get(h).cloned().unwrap_or_else(|| h.clone())).collect());
    let ignored = ignored_columns(options, raw.as_deref(), file.unwrap_or("the file"))?;
    match options.contract_table() {
        Some(spec) => contract_layout(spec?, options, raw.as_deref(), mapped, &ignored, file),
        None => header_layout(options, raw, mapped, &ignored, file),
    }
}

/// Which of the file's columns are left out on purpose (`ignore_columns:`),
/// by position; each column named there must exist.
fn ignored_columns(options: &SourceOptions, raw: Option<&[String]>, the_file: &str) -> Result<Vec<bool>> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let ignored = raw.iter().map(|h| options.ignore_columns.iter().any(|c| c.trim() == h)).collect();
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
    Ok(ignored)
}

/// Whether file column `i` is left out on purpose.
fn is_ignored(ignored: &[bool], i: usize) -> bool {
    ignored.get(i).copied().unwrap_or(false)
}

/// The file column (after mapping, not ignored) that fills contract column `col`.
fn header_position(mapped: Option<&[String]>, ignored: &[bool], col: &str) -> Option<usize> {
    mapped.and_then(|m| m.iter().enumerate().position(|(i, h)| h == col && !is_ignored(ignored, i)))
}

/// The layout of a source with a contract: the contract's columns, each
/// filled from the file column mapped onto it; the header, when known, is
/// checked first.
fn contract_layout(
    spec: &'static TableSpec,
    options: &SourceOptions,
    raw: Option<&[String]>,
    mapped: Option<Vec<String>>,
    ignored: &[bool],
    file: Option<&str>,
) -> Result<Layout> {
    let position = |col: &str| header_position(mapped.as_deref(), ignored, col);
    let mut warnings = Vec::new();
    if let (Some(raw), Some(mapped)) = (raw, mapped.as_deref()) {
        duplicate_header(raw, mapped, file, |n| spec.column(n).is_some())?;
        let the_file = file.unwrap_or("the file");
        check_required(spec, raw, mapped, the_file, &position)?;
        check_one_of(spec, raw, mapped, the_file, &position)?;
        warnings.extend(extra_columns(spec, mapped, ignored, file));
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
    Ok(Layout { spec: Some(spec), columns, headers: mapped.unwrap_or_default(), warnings })
}

/// The error for required columns of the contract the header lacks, with
/// the header's names that seem to be them.
fn check_required(
    spec: &TableSpec,
    raw: &[String],
    mapped: &[String],
    the_file: &str,
    position: &dyn Fn(&str) -> Option<usize>,
) -> Result<()> {
    let missing: Vec<&str> =
        spec.columns.iter().filter(|c| c.required && position(c.name).is_none()).map(|c| c.name).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut hint = format!("the file's header is: {}", excerpt_list(raw));
    let fits = header_suggestions(&missing, raw, mapped, spec);
    if fits.is_empty() {
        hint.push_str("; map the file's names onto the contract's with `headers:` (e.g. `学校编号: school_id`)");
    } else {
        hint.push_str(&format!(
            "; the file seems to name {} differently: map it with `headers: {{{}}}`",
            if fits.len() > 1 { "them" } else { "it" },
            fits.join(", ")
        ));
    }
    Err(Diagnostic::invalid(format!(
        "{the_file} lacks the required column{} {} of {}",
        if missing.len() > 1 { "s" } else { "" },
        missing.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", "),
        spec.name
    ))
    .hint(hint))
}

/// The error for a group of which each row sets one (a service's school or
/// centre) when the header has none of it, or when a column of it seems to
/// be named otherwise (a school export whose `schoolid` would leave every
/// row without its school).
fn check_one_of(
    spec: &TableSpec,
    raw: &[String],
    mapped: &[String],
    the_file: &str,
    position: &dyn Fn(&str) -> Option<usize>,
) -> Result<()> {
    for group in spec.one_of {
        let absent: Vec<&str> = group.iter().copied().filter(|c| position(c).is_none()).collect();
        let fits = header_suggestions(&absent, raw, mapped, spec);
        if absent.len() < group.len() && fits.is_empty() {
            continue;
        }
        let mut hint = format!("the file's header is: {}", excerpt_list(raw));
        if fits.is_empty() {
            hint.push_str("; map the file's name onto the contract's with `headers:` (e.g. `学校编号: school_id`)");
        } else {
            hint.push_str(&format!(
                "; the file seems to name it differently: map it with `headers: {{{}}}`",
                fits.join(", ")
            ));
        }
        // The columns the file seems to name otherwise, or else every column of the group.
        let wanted: Vec<&str> =
            if fits.is_empty() { absent.clone() } else { fits.iter().filter_map(|f| f.rsplit(": ").next()).collect() };
        let named: Vec<String> = wanted.iter().map(|m| format!("\"{m}\"")).collect();
        return Err(Diagnostic::invalid(format!(
            "{the_file} lacks the column {} of {}: each row names one of {}",
            named.join(" or "),
            spec.name,
            group.join(", ")
        ))
        .hint(hint));
    }
    Ok(())
}

/// The warning for the file's columns the contract does not have (and that are not ignored on purpose).
fn extra_columns(spec: &TableSpec, mapped: &[String], ignored: &[bool], file: Option<&str>) -> Option<Diagnostic> {
    let extra: Vec<String> = mapped
        .iter()
        .enumerate()
        .filter(|(i, h)| spec.column(h).is_none() && !is_ignored(ignored, *i))
        .map(|(i, h)| shown_header(i, h))
        .collect();
    (!extra.is_empty()).then(|| {
        Diagnostic::warning(in_file(
            file,
            format!("columns not in the {} contract are ignored: {}", spec.name, excerpt_list(&extra)),
        ))
    })
}

/// The layout of a source without a contract: a column for each named
/// column of the header, typed by `columns:`, every one of which the header must have.
fn header_layout(
    options: &SourceOptions,
    raw: Option<Vec<String>>,
    mapped: Option<Vec<String>>,
    ignored: &[bool],
    file: Option<&str>,
) -> Result<Layout> {
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
        if is_ignored(ignored, i) {
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
    let warnings: Vec<Diagnostic> = unnamed_columns(&unnamed, file).into_iter().collect();
    check_declared(options, &raw, &mapped, file)?;
    Ok(Layout { spec: None, columns, headers: mapped, warnings })
}

/// The warning for header columns without a name (numbered from 1), which are not loaded.
fn unnamed_columns(unnamed: &[String], file: Option<&str>) -> Option<Diagnostic> {
    (!unnamed.is_empty()).then(|| {
        Diagnostic::warning(in_file(
            file,
            format!(
                "header column{} {} ha{} no name and {} ignored",
                plural(unnamed.len()),
                excerpt_list(unnamed),
                if unnamed.len() > 1 { "ve" } else { "s" },
                if unnamed.len() > 1 { "are" } else { "is" }
            ),
        ))
        .hint("name it in the file to load it")
    })
}

/// The error for a column declared under `columns:` that the header lacks.
fn check_declared(options: &SourceOptions, raw: &[String], mapped: &[String], file: Option<&str>) -> Result<()> {
    for declared in options.columns.keys() {
        if !mapped.contains(declared) {
            return Err(Diagnostic::invalid(in_file(
                file,
                format!("column \"{declared}\" is declared under `columns:` but the file has no such column"),
            ))
            .hint(format!(
                "the file's header is: {}; map a header onto it with `headers:` or remove it from `columns:`",
                excerpt_list(raw)
            )));
        }
    }
    Ok(())
}

/// `s` for more than one.
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
