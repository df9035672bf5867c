//! Column-wise typing and checking of one raw batch.
//!
//! Each output column is made from its file column in one pass: text is
//! trimmed, value-mapped and parsed with the same functions the row-wise path
//! uses, and a column the file already stores in the right type (a Parquet
//! `Int64` count, a `Date32` date) is taken as it is. Then every contract rule
//! that needs no other row — required, codes, minimums, the date window,
//! references, dates in order — is tested on whole columns. A row that fails
//! anything is only *flagged*: the sweep (module `sweep`) judges it again cell by
//! cell, which gives the exact reject (place, column, rule, original text) and
//! is the final word on its values. So this pass may be cautious, flagging a
//! row that turns out good, but must never let a bad row through unflagged;
//! `tests/batch_equivalence.rs` holds it to that.

use super::key_hash::{KeyPart, key_hash};
use super::layout::{Column, arrow_type};
use super::parse::{days, nanos, parse_date_text, parse_int_text, parse_time_text};
use super::rows::{MAX_FIELD_BYTES, Rules};
use super::values::{Builder, Typed, effective_cell, type_cell};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type, Time64NanosecondType, TimeUnit};
use std::sync::Arc;
use sunward_core::contract::ColumnType;
use sunward_core::plugin::cell_of_array;
use sunward_core::{Diagnostic, RawBatch, Result};

/// A raw batch typed column by column.
pub(super) struct TypedBatch {
    /// One array per output column, of the canonical type, one value per slot.
    pub arrays: Vec<ArrayRef>,
    /// Slots to judge cell by cell: given as rows, or failing a rule here.
    pub flagged: Vec<bool>,
    /// Each slot's hash of the unique key, if the rules have one (meaningful for slots not flagged).
    pub key_hashes: Vec<u128>,
}

impl TypedBatch {
    /// The value of output column `col` at `row`, borrowed.
    pub fn part(&self, col: usize, row: usize) -> KeyPart<'_> {
        let Some(a) = self.arrays.get(col) else { return KeyPart::Null };
        if row >= a.len() || a.is_null(row) {
            return KeyPart::Null;
        }
        match a.data_type() {
            DataType::Utf8 => KeyPart::Str(a.as_string::<i32>().value(row)),
            DataType::Int64 => KeyPart::Int(a.as_primitive::<Int64Type>().value(row)),
            DataType::Float64 => KeyPart::Float(a.as_primitive::<Float64Type>().value(row)),
            DataType::Date32 => KeyPart::Date(a.as_primitive::<Date32Type>().value(row)),
            DataType::Boolean => KeyPart::Bool(a.as_boolean().value(row)),
            DataType::Time64(TimeUnit::Nanosecond) => {
                KeyPart::Time(a.as_primitive::<Time64NanosecondType>().value(row))
            }
            _ => KeyPart::Null,
        }
    }
}

fn cast_failed(e: datafusion::arrow::error::ArrowError) -> Diagnostic {
    Diagnostic::runtime(format!("cannot convert a column while loading: {e}")).caused_by(e)
}

/// Type and check every column of `raw`.
pub(super) fn type_batch(rules: &Rules<'_>, raw: &RawBatch) -> Result<TypedBatch> {
    let len = raw.len;
    let mut flagged = vec![false; len];
    for (slot, _) in &raw.rows {
        if let Some(f) = flagged.get_mut(*slot) {
            *f = true;
        }
    }
    let columnar = raw.columns.len() == rules.header_count && raw.columns.iter().all(|c| c.len() == len);
    if !columnar {
        // Rows only (or a batch this pass cannot read): every slot is judged cell by cell.
        let arrays = rules.columns.iter().map(|c| new_null_array(&arrow_type(c.ty), len)).collect();
        return Ok(TypedBatch { arrays, flagged: vec![true; len], key_hashes: Vec::new() });
    }
    // Text columns as Utf8; fields too long or holding NUL flagged, whichever column they are in.
    let mut texts: Vec<Option<ArrayRef>> = Vec::with_capacity(raw.columns.len());
    for column in &raw.columns {
        let text = match column.data_type() {
            DataType::Utf8 => Some(column.clone()),
            DataType::LargeUtf8 | DataType::Utf8View => Some(cast(column, &DataType::Utf8).map_err(cast_failed)?),
            t if shown_as_text(t) => {
                // Arrow's display of an unusual type could be anything: judged row by row.
                flagged.iter_mut().for_each(|f| *f = true);
                None
            }
            _ => None,
        };
        if let Some(text) = &text {
            flag_bad_fields(text.as_string::<i32>(), &mut flagged);
        }
        texts.push(text);
    }
    let mut arrays = Vec::with_capacity(rules.columns.len());
    for c in rules.columns {
        let array = match c.source {
            None => new_null_array(&arrow_type(c.ty), len),
            Some(i) => match (texts.get(i).and_then(Option::as_ref), raw.columns.get(i)) {
                (Some(text), _) => type_text(c, text.as_string::<i32>(), &mut flagged),
                (None, Some(native)) => type_native(c, native, &mut flagged)?,
                (None, None) => new_null_array(&arrow_type(c.ty), len),
            },
        };
        arrays.push(array);
    }
    check_rules(rules, &arrays, &mut flagged);
    let mut typed = TypedBatch { arrays, flagged, key_hashes: Vec::new() };
    if let Some(cols) = &rules.unique {
        typed.key_hashes = (0..len)
            .map(|i| {
                if typed.flagged.get(i).copied().unwrap_or(true) {
                    0
                } else {
                    key_hash(cols.iter().map(|c| typed.part(*c, i)))
                }
            })
            .collect();
    }
    Ok(typed)
}

/// Types `cell_of_array` turns into text through Arrow's display.
fn shown_as_text(t: &DataType) -> bool {
    !(t.is_integer()
        || t.is_floating()
        || matches!(
            t,
            DataType::Boolean
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(..)
                | DataType::Time32(..)
                | DataType::Time64(..)
                | DataType::Null
        ))
}

/// Flag fields longer than [`MAX_FIELD_BYTES`] or holding NUL.
fn flag_bad_fields(text: &StringArray, flagged: &mut [bool]) {
    let bytes = text.value_data();
    if bytes.len() <= MAX_FIELD_BYTES && !bytes.contains(&0) {
        return;
    }
    for (i, value) in text.iter().enumerate() {
        if let Some(v) = value
            && (v.len() > MAX_FIELD_BYTES || v.contains('\0'))
            && let Some(f) = flagged.get_mut(i)
        {
            *f = true;
        }
    }
}

/// A text column typed as `c` says: trimmed, value-mapped, parsed.
fn type_text(c: &Column, text: &StringArray, flagged: &mut [bool]) -> ArrayRef {
    let len = text.len();
    // The text after trimming and value mapping; `None` for a blank field.
    let effective = |i: usize| -> Option<&str> {
        let v = text.is_valid(i).then(|| text.value(i))?;
        let t = v.trim();
        let t = match &c.values {
            Some(map) => map.get(t).map(|m| m.trim()).unwrap_or(t),
            None => t,
        };
        (!t.is_empty()).then_some(t)
    };
    let mut builder = Builder::new(c.ty);
    match c.ty {
        ColumnType::String => {
            let clean =
                c.values.is_none() && text.iter().all(|v| v.is_none_or(|s| !s.is_empty() && s.trim().len() == s.len()));
            if clean {
                return Arc::new(text.clone());
            }
            let mut b = StringBuilder::with_capacity(len, text.value_data().len());
            for i in 0..len {
                b.append_option(effective(i));
            }
            return Arc::new(b.finish());
        }
        ColumnType::Int => {
            for i in 0..len {
                push_parsed(&mut builder, effective(i).map(|t| parse_int_text(t).ok().map(Typed::Int)), i, flagged);
            }
        }
        ColumnType::Float => {
            for i in 0..len {
                let parsed = effective(i).map(|t| t.parse::<f64>().ok().filter(|x| x.is_finite()).map(Typed::Float));
                push_parsed(&mut builder, parsed, i, flagged);
            }
        }
        ColumnType::Date => {
            for i in 0..len {
                let parsed = effective(i).map(|t| parse_date_text(t).map(|d| Typed::Date(days(d))));
                push_parsed(&mut builder, parsed, i, flagged);
            }
        }
        ColumnType::Bool => {
            for i in 0..len {
                let parsed = effective(i).map(|t| match t.to_lowercase().as_str() {
                    "true" | "1" | "yes" | "y" | "是" => Some(Typed::Bool(true)),
                    "false" | "0" | "no" | "n" | "否" => Some(Typed::Bool(false)),
                    _ => None,
                });
                push_parsed(&mut builder, parsed, i, flagged);
            }
        }
        ColumnType::Time => {
            for i in 0..len {
                let parsed = effective(i).map(|t| parse_time_text(t).map(|s| Typed::Time(nanos(s))));
                push_parsed(&mut builder, parsed, i, flagged);
            }
        }
    }
    builder.finish()
}

/// Append a parsed value: `None` is a blank field (null), `Some(None)` a field that does not parse (flagged, null).
fn push_parsed(builder: &mut Builder, parsed: Option<Option<Typed>>, i: usize, flagged: &mut [bool]) {
    match parsed {
        None => builder.push(&Typed::Null),
        Some(Some(v)) => builder.push(&v),
        Some(None) => {
            if let Some(f) = flagged.get_mut(i) {
                *f = true;
            }
            builder.push(&Typed::Null);
        }
    }
}

/// A column the file stores typed (Parquet): taken as it is when its type is
/// the canonical one (or widens to it exactly), cell by cell otherwise.
fn type_native(c: &Column, native: &ArrayRef, flagged: &mut [bool]) -> Result<ArrayRef> {
    let t = native.data_type();
    let direct = c.values.is_none()
        && match c.ty {
            ColumnType::Int => {
                matches!(t, DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64)
                    || matches!(t, DataType::UInt8 | DataType::UInt16 | DataType::UInt32)
            }
            ColumnType::Float => matches!(t, DataType::Float32 | DataType::Float64),
            ColumnType::Date => *t == DataType::Date32,
            ColumnType::Bool => *t == DataType::Boolean,
            ColumnType::Time => *t == DataType::Time64(TimeUnit::Nanosecond),
            ColumnType::String => false,
        };
    if direct {
        let array = cast(native, &arrow_type(c.ty)).map_err(cast_failed)?;
        match c.ty {
            ColumnType::Float => {
                for (i, v) in array.as_primitive::<Float64Type>().iter().enumerate() {
                    if v.is_some_and(|x| !x.is_finite())
                        && let Some(f) = flagged.get_mut(i)
                    {
                        *f = true;
                    }
                }
            }
            ColumnType::Time => {
                for (i, v) in array.as_primitive::<Time64NanosecondType>().iter().enumerate() {
                    if v.is_some_and(|ns| !(0..86_400_000_000_000).contains(&ns))
                        && let Some(f) = flagged.get_mut(i)
                    {
                        *f = true;
                    }
                }
            }
            ColumnType::Date => {
                let dates = array.as_primitive::<Date32Type>();
                for i in 0..dates.len() {
                    if dates.is_valid(i)
                        && dates.value_as_date(i).is_none()
                        && let Some(f) = flagged.get_mut(i)
                    {
                        *f = true;
                    }
                }
            }
            _ => {}
        }
        return Ok(array);
    }
    // Cell by cell, exactly as the row-wise path types it.
    let mut builder = Builder::new(c.ty);
    for i in 0..native.len() {
        match type_cell(&effective_cell(&cell_of_array(native.as_ref(), i), c.values.as_ref()), c.ty) {
            Ok(v) => builder.push(&v),
            Err(_) => {
                if let Some(f) = flagged.get_mut(i) {
                    *f = true;
                }
                builder.push(&Typed::Null);
            }
        }
    }
    Ok(builder.finish())
}

/// Flag the rows breaking a rule of one row's own values.
fn check_rules(rules: &Rules<'_>, arrays: &[ArrayRef], flagged: &mut [bool]) {
    let mut flag = |i: usize| {
        if let Some(f) = flagged.get_mut(i) {
            *f = true;
        }
    };
    for ((c, held), array) in rules.columns.iter().zip(&rules.held).zip(arrays) {
        let len = array.len();
        if c.required && array.null_count() > 0 {
            (0..len).filter(|i| array.is_null(*i)).for_each(&mut flag);
        }
        match array.data_type() {
            DataType::Utf8 => {
                let text = array.as_string::<i32>();
                if c.codes.is_some() || held.is_some() {
                    for (i, v) in text.iter().enumerate() {
                        let Some(v) = v else { continue };
                        if c.codes.is_some_and(|codes| !codes.contains(&v)) || held.is_some_and(|h| !h.contains(v)) {
                            flag(i);
                        }
                    }
                }
            }
            DataType::Int64 if c.min.is_some() || c.max.is_some() => {
                let (min, max) = (c.min.unwrap_or(f64::NEG_INFINITY), c.max.unwrap_or(f64::INFINITY));
                for (i, v) in array.as_primitive::<Int64Type>().iter().enumerate() {
                    if v.is_some_and(|v| (v as f64) < min || (v as f64) > max) {
                        flag(i);
                    }
                }
            }
            DataType::Float64 if c.min.is_some() || c.max.is_some() => {
                let (min, max) = (c.min.unwrap_or(f64::NEG_INFINITY), c.max.unwrap_or(f64::INFINITY));
                for (i, v) in array.as_primitive::<Float64Type>().iter().enumerate() {
                    if v.is_some_and(|v| v < min || v > max) {
                        flag(i);
                    }
                }
            }
            DataType::Date32 => {
                if let Some((earliest, latest)) = rules.contract_dates {
                    for (i, v) in array.as_primitive::<Date32Type>().iter().enumerate() {
                        if v.is_some_and(|d| d < earliest || d > latest) {
                            flag(i);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for group in &rules.one_of {
        let present: Vec<&ArrayRef> = group.iter().filter_map(|(_, at)| arrays.get((*at)?)).collect();
        let rows = arrays.first().map_or(0, |a| a.len());
        for i in 0..rows {
            if present.iter().filter(|a| a.is_valid(i)).count() != 1 {
                flag(i);
            }
        }
    }
    for (a, b) in &rules.ordered {
        let (Some(x), Some(y)) = (arrays.get(*a), arrays.get(*b)) else { continue };
        if x.data_type() != &DataType::Date32 || y.data_type() != &DataType::Date32 {
            continue;
        }
        for (i, (x, y)) in x.as_primitive::<Date32Type>().iter().zip(y.as_primitive::<Date32Type>().iter()).enumerate()
        {
            if let (Some(x), Some(y)) = (x, y)
                && y < x
            {
                flag(i);
            }
        }
    }
}
