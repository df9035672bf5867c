//! Typed pipeline parameters.
//!
//! A pipeline declares `params` with a type, an optional default and a
//! description; `--set key=value` overrides them. Values reach SQL as bound
//! values ([`ParamValue::to_scalar`]) and strings such as paths through
//! `${name}` interpolation ([`interpolate`]), never as pasted SQL text.

use chrono::NaiveDate;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Text.
    String,
    /// A whole number.
    Int,
    /// A number.
    Float,
    /// `true` or `false`.
    Bool,
    /// A date written `YYYY-MM-DD`.
    Date,
    /// A file or folder. A default resolves against the pipeline's folder; a
    /// value given with `--set` against the current folder.
    Path,
    /// A list of strings (on the command line: comma-separated).
    List,
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ParamType::String => "string",
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Bool => "bool",
            ParamType::Date => "date",
            ParamType::Path => "path",
            ParamType::List => "list",
        };
        f.write_str(s)
    }
}

/// A parameter value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// Text.
    Str(String),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// A flag.
    Bool(bool),
    /// A date.
    #[serde(serialize_with = "serialize_date")]
    Date(NaiveDate),
    /// A path, already resolved.
    Path(PathBuf),
    /// A list of strings.
    List(Vec<String>),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Str(s) => f.write_str(s),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            ParamValue::Path(p) => write!(f, "{}", p.display()),
            ParamValue::List(items) => f.write_str(&items.join(",")),
        }
    }
}

impl ParamValue {
    /// The value as a DataFusion scalar, for binding to `$name` in SQL.
    pub fn to_scalar(&self) -> ScalarValue {
        match self {
            ParamValue::Str(s) => ScalarValue::Utf8(Some(s.clone())),
            ParamValue::Int(i) => ScalarValue::Int64(Some(*i)),
            ParamValue::Float(x) => ScalarValue::Float64(Some(*x)),
            ParamValue::Bool(b) => ScalarValue::Boolean(Some(*b)),
            ParamValue::Date(d) => ScalarValue::Date32(Some(date_to_days(*d))),
            ParamValue::Path(p) => ScalarValue::Utf8(Some(p.display().to_string())),
            ParamValue::List(items) => {
                let values: Vec<ScalarValue> = items.iter().map(|s| ScalarValue::Utf8(Some(s.clone()))).collect();
                ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Utf8))
            }
        }
    }

    /// Parse a command-line or YAML text value as `ty`. Relative paths resolve against `base`.
    pub fn parse(ty: ParamType, text: &str, base: &Path) -> Result<ParamValue, String> {
        let text_trim = text.trim();
        match ty {
            ParamType::String => Ok(ParamValue::Str(text.to_string())),
            ParamType::Int => {
                text_trim.parse::<i64>().map(ParamValue::Int).map_err(|_| format!("`{text}` is not a whole number"))
            }
            ParamType::Float => text_trim
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(ParamValue::Float)
                .ok_or_else(|| format!("`{text}` is not a number")),
            ParamType::Bool => match text_trim.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Ok(ParamValue::Bool(true)),
                "false" | "no" | "0" | "off" => Ok(ParamValue::Bool(false)),
                _ => Err(format!("`{text}` is not true or false")),
            },
            ParamType::Date => parse_iso_date(text_trim)
                .map(ParamValue::Date)
                .ok_or_else(|| format!("`{text}` is not a date written YYYY-MM-DD")),
            ParamType::Path => {
                if text_trim.is_empty() {
                    return Err("a path cannot be empty".to_string());
                }
                let p = Path::new(text_trim);
                // Absolute, so that joining it to the pipeline's folder later changes nothing.
                let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
                Ok(ParamValue::Path(if p.is_absolute() { p.to_path_buf() } else { base.join(p) }))
            }
            ParamType::List => {
                // `a,b` or, as YAML writes it, `[a, b]`.
                let inner = text_trim.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text_trim);
                Ok(ParamValue::List(inner.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()))
            }
        }
    }
}

fn serialize_date<S: serde::Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.format("%Y-%m-%d").to_string())
}

/// One `--set key=value` of the command line: the key (trimmed) and the
/// value as written, or the error that says how to write it.
pub fn parse_set(set: &str) -> Result<(&str, &str), crate::Diagnostic> {
    match set.split_once('=') {
        Some((key, value)) => Ok((key.trim(), value)),
        None => Err(crate::Diagnostic::invalid(format!("--set \"{set}\" is not key=value"))
            .in_context("--set")
            .hint("write e.g. --set year=2025")),
    }
}

/// Days since 1970-01-01, as Arrow's `Date32` stores a date.
pub fn date_to_days(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid epoch");
    (d - epoch).num_days() as i32
}

/// Parse `YYYY-MM-DD`.
pub fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Replace every `${name}` in `template` by the parameter's value; `$${` is a
/// literal `${`. Fails with the unknown name.
pub fn interpolate(template: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            out.push_str("${");
            rest = escaped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| "unclosed `${` (write `$${` for a literal `${`)".to_string())?;
            let name = body[..end].trim();
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => return Err(name.to_string()),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The names used as `${name}` in `template` (for validation).
pub fn referenced_names(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let _ = interpolate(template, |name| {
        names.push(name.to_string());
        Some(String::new())
    });
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_type() {
        let base = Path::new("/base");
        assert_eq!(ParamValue::parse(ParamType::Int, "2024", base), Ok(ParamValue::Int(2024)));
        assert!(ParamValue::parse(ParamType::Int, "20x4", base).is_err());
        assert_eq!(ParamValue::parse(ParamType::Bool, "yes", base), Ok(ParamValue::Bool(true)));
        assert_eq!(
            ParamValue::parse(ParamType::Date, "2025-03-05", base),
            Ok(ParamValue::Date(NaiveDate::from_ymd_opt(2025, 3, 5).unwrap()))
        );
        assert!(ParamValue::parse(ParamType::Date, "2025/3/5", base).is_err());
        assert_eq!(ParamValue::parse(ParamType::Path, "data", base), Ok(ParamValue::Path("/base/data".into())));
        assert_eq!(
            ParamValue::parse(ParamType::List, "self_harm, violence", base),
            Ok(ParamValue::List(vec!["self_harm".into(), "violence".into()]))
        );
        assert_eq!(
            ParamValue::parse(ParamType::List, "[self_harm, violence]", base),
            Ok(ParamValue::List(vec!["self_harm".into(), "violence".into()]))
        );
        assert!(ParamValue::parse(ParamType::Float, "NaN", base).is_err());
    }

    #[test]
    fn interpolation_substitutes_and_escapes() {
        let look = |n: &str| (n == "year").then(|| "2025".to_string());
        assert_eq!(interpolate("out/${year}/a.csv", look), Ok("out/2025/a.csv".to_string()));
        assert_eq!(interpolate("cost $5 and $${year}", look), Ok("cost $5 and ${year}".to_string()));
        assert_eq!(interpolate("${nope}", look), Err("nope".to_string()));
        assert_eq!(referenced_names("${a}/${ b }"), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn date_days() {
        assert_eq!(date_to_days(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
    }
}
