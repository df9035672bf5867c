//! Typed values: one cell trimmed and value-mapped ([`effective_cell`]),
//! then typed to its column's type ([`type_cell`], whose error is the rule
//! broken), and typed values built into Arrow arrays ([`Builder`]).

use super::key_hash::KeyPart;
use super::parse::{
    INEXACT, NOT_WHOLE, days, excel_serial_date, excel_time, nanos, number_text, parse_date_text, parse_int_text,
    parse_time_text, whole,
};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, Time64NanosecondBuilder,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use sunward_core::RawCell;
use sunward_core::contract::ColumnType;

/// A value after typing.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Typed {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Date(i32),
    Bool(bool),
    /// Nanoseconds after midnight (Arrow's `Time64(Nanosecond)`, SQL's `TIME`).
    Time(i64),
}

impl Typed {
    pub(super) fn part(&self) -> KeyPart<'_> {
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
    pub(super) fn number(&self) -> Option<f64> {
        match self {
            Typed::Int(i) => Some(*i as f64),
            Typed::Float(x) => Some(*x),
            _ => None,
        }
    }
}

/// An Arrow array being built from typed values, one builder per column type.
pub(super) enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Bool(BooleanBuilder),
    Time(Time64NanosecondBuilder),
}

impl Builder {
    pub(super) fn new(ty: ColumnType) -> Self {
        match ty {
            ColumnType::String => Builder::Str(StringBuilder::new()),
            ColumnType::Int => Builder::Int(Int64Builder::new()),
            ColumnType::Float => Builder::Float(Float64Builder::new()),
            ColumnType::Date => Builder::Date(Date32Builder::new()),
            ColumnType::Bool => Builder::Bool(BooleanBuilder::new()),
            ColumnType::Time => Builder::Time(Time64NanosecondBuilder::new()),
        }
    }
    pub(super) fn push(&mut self, v: &Typed) {
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
    pub(super) fn finish(&mut self) -> ArrayRef {
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

/// Type one cell (already trimmed and value-mapped); `Err` holds the rule broken.
pub(super) fn type_cell(cell: &RawCell, ty: ColumnType) -> Result<Typed, String> {
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
pub(super) fn effective_cell(cell: &RawCell, values: Option<&BTreeMap<String, String>>) -> RawCell {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    use chrono::NaiveDate;

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
