//! Arrow tables as template values: a table becomes a list of rows, a row a
//! map from column name to a string, integer, float, boolean, ISO date or
//! none. The long metrics table also becomes an index for `metric()`.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use minijinja::Value;
use std::collections::{BTreeMap, HashMap};
use sunward_core::{Diagnostic, Result, TableData};

/// One cell as a template value.
fn cell(array: &dyn Array, i: usize, formatter: &ArrayFormatter<'_>) -> Value {
    if array.is_null(i) {
        return Value::from(());
    }
    match array.data_type() {
        DataType::Utf8 => Value::from(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Value::from(array.as_string::<i64>().value(i)),
        DataType::Utf8View => Value::from(array.as_string_view().value(i)),
        DataType::Boolean => Value::from(array.as_boolean().value(i)),
        DataType::Int8 => Value::from(array.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => Value::from(array.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => Value::from(array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Value::from(array.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => Value::from(array.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => Value::from(array.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => Value::from(array.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => Value::from(f64::from(array.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => Value::from(array.as_primitive::<Float64Type>().value(i)),
        DataType::Date32 => match array.as_primitive::<Date32Type>().value_as_date(i) {
            Some(d) => Value::from(d.format("%Y-%m-%d").to_string()),
            None => Value::from(()),
        },
        _ => Value::from(formatter.value(i).to_string()),
    }
}

/// The rows of a table as maps from column name to value, in table order.
pub fn rows(table: &TableData) -> Result<Vec<BTreeMap<String, Value>>> {
    let options = FormatOptions::default();
    let mut out = Vec::with_capacity(table.num_rows());
    for batch in &table.batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Diagnostic::runtime(format!("table \"{}\" cannot be shown: {e}", table.name)))?;
        let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        for i in 0..batch.num_rows() {
            let row = names
                .iter()
                .zip(batch.columns())
                .zip(&formatters)
                .map(|((name, column), formatter)| (name.clone(), cell(column.as_ref(), i, formatter)))
                .collect();
            out.push(row);
        }
    }
    Ok(out)
}

/// Whether a column holds a unit's name (`name`, `school_name`, `org_name`, `city`, …).
fn is_name_column(column: &str) -> bool {
    column.ends_with("name") || column == "city"
}

/// The rows as an English report shows them: every name column (one whose
/// name ends in `name`, and `city`) takes its English from the column of the
/// same name with `_en` when the table has one and it is filled in (e.g.
/// `school_name_en`), else the Chinese romanised
/// ([`sunward_render::names::english`]: 湖畔中学 → Hupan Middle School).
pub fn in_english(rows: &mut [BTreeMap<String, Value>]) {
    for row in rows {
        let columns: Vec<String> = row.keys().filter(|c| is_name_column(c)).cloned().collect();
        for column in columns {
            let given = row.get(&format!("{column}_en")).filter(|v| !v.is_none()).map(|v| v.to_string());
            let english = match (given.filter(|g| !g.trim().is_empty()), row.get(&column).and_then(|v| v.as_str())) {
                (Some(g), _) => g,
                (None, Some(zh)) => sunward_render::names::english(zh),
                (None, None) => continue,
            };
            row.insert(column, Value::from(english));
        }
    }
}

/// The key of one figure: unit type, unit id, period, metric.
pub type FigureKey = (String, String, String, String);

/// The long metrics table (`unit_type, unit_id, period, metric, value`), indexed.
#[derive(Debug, Default)]
pub struct Figures {
    values: HashMap<FigureKey, Option<f64>>,
}

/// The columns the metrics table must have.
pub const METRICS_COLUMNS: [&str; 5] = ["unit_type", "unit_id", "period", "metric", "value"];

impl Figures {
    /// Index a metrics table; its columns must be [`METRICS_COLUMNS`].
    pub fn from_table(table: &TableData) -> Result<Figures> {
        let missing: Vec<&str> =
            METRICS_COLUMNS.iter().copied().filter(|c| table.schema.field_with_name(c).is_err()).collect();
        if !missing.is_empty() {
            return Err(Diagnostic::invalid(format!(
                "metrics table \"{}\" lacks the column{} {}",
                table.name,
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ))
            .hint("`metrics:` names the long table written by pipelines/metrics.yaml (unit_type, unit_id, period, metric, value)"));
        }
        let mut values = HashMap::new();
        for row in rows(table)? {
            let text = |c: &str| row.get(c).map(|v| if v.is_none() { String::new() } else { v.to_string() });
            let key = (
                text("unit_type").unwrap_or_default(),
                text("unit_id").unwrap_or_default(),
                text("period").unwrap_or_default(),
                text("metric").unwrap_or_default(),
            );
            let value = row.get("value").and_then(|v| {
                if v.is_none() {
                    None
                } else {
                    f64::try_from(v.clone()).ok().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                }
            });
            values.insert(key, value);
        }
        Ok(Figures { values })
    }

    /// A figure: `None` when there is no such row, `Some(None)` when its value is null.
    pub fn get(&self, unit_type: &str, unit_id: &str, period: &str, metric: &str) -> Option<Option<f64>> {
        self.values.get(&(unit_type.to_string(), unit_id.to_string(), period.to_string(), metric.to_string())).copied()
    }

    /// Every figure: (unit type, unit id, period, metric) and its value.
    pub fn iter(&self) -> impl Iterator<Item = (&FigureKey, &Option<f64>)> {
        self.values.iter()
    }

    /// Adds or replaces one figure.
    pub fn insert(&mut self, unit_type: &str, unit_id: &str, period: &str, metric: &str, value: Option<f64>) {
        self.values.insert((unit_type.to_string(), unit_id.to_string(), period.to_string(), metric.to_string()), value);
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The units, periods and metric keys present, for error hints.
    pub fn distinct(&self, part: usize) -> Vec<String> {
        let mut seen: Vec<String> = self
            .values
            .keys()
            .map(|k| match part {
                0 => k.0.clone(),
                1 => k.1.clone(),
                2 => k.2.clone(),
                _ => k.3.clone(),
            })
            .collect();
        seen.sort();
        seen.dedup();
        seen
    }
}
