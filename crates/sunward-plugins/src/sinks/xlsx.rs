//! The `xlsx` output: a workbook with a sheet per table.
//!
//! Headers are bold and frozen, numbers stay numbers, dates get a date
//! format, and column widths are fitted to the content (a Chinese character
//! counts twice), so the workbook is readable as soon as it is opened.

use super::{table, write_error};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use rust_xlsxwriter::{Format, Workbook};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use sunward_core::atomic::write_atomic;
use sunward_core::{ConfigIssue, Diagnostic, Plugin, PluginInfo, Result, RunContext, Sink, TableData};

/// Writes tables to an Excel workbook.
pub struct XlsxSink;

/// Settings of an `xlsx` output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct XlsxSinkConfig {
    /// The tables to write, one sheet each, named after the table.
    pub tables: Vec<String>,
    /// The file, relative to the output folder; `${param}` is replaced.
    pub path: String,
}

/// Excel's row limit per sheet (header included).
const MAX_ROWS: usize = 1_048_576;

impl Plugin for XlsxSink {
    type Config = XlsxSinkConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "xlsx",
        description: "writes tables to an Excel workbook, a sheet per table",
        example: "plugin: xlsx\ntables: [by_school, by_type]\npath: 汇总_${year}.xlsx\n",
    };
    fn check(&self, config: &XlsxSinkConfig) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if config.tables.is_empty() {
            issues.push(ConfigIssue::field("tables", "list at least one table"));
        }
        for t in &config.tables {
            if t.chars().count() > 31 {
                issues.push(ConfigIssue::field(
                    "tables",
                    format!("\"{t}\" is longer than the 31 characters Excel allows in a sheet name"),
                ));
            }
        }
        issues
    }
}

fn display_width(text: &str) -> usize {
    text.chars().map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 }).sum()
}

impl Sink for XlsxSink {
    fn inputs(&self, config: &XlsxSinkConfig) -> Vec<String> {
        config.tables.clone()
    }

    fn write(&self, config: &XlsxSinkConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>> {
        let path = ctx.output_path(&config.path)?;
        let xerr = |e: rust_xlsxwriter::XlsxError| write_error(&path, e);
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        for name in &config.tables {
            let data = table(tables, name)?;
            if data.num_rows() + 1 > MAX_ROWS {
                return Err(Diagnostic::runtime(format!(
                    "table \"{name}\" has {} rows, more than an Excel sheet holds ({})",
                    data.num_rows(),
                    MAX_ROWS - 1
                ))
                .hint("write it with the csv or parquet output instead"));
            }
            let sheet = book.add_worksheet();
            sheet.set_name(name).map_err(xerr)?;
            let mut widths: Vec<usize> = Vec::new();
            for (col, field) in data.schema.fields().iter().enumerate() {
                sheet.write_string_with_format(0, col as u16, field.name(), &bold).map_err(xerr)?;
                widths.push(display_width(field.name()));
            }
            sheet.set_freeze_panes(1, 0).map_err(xerr)?;
            let mut row = 1u32;
            let options = FormatOptions::default();
            for batch in &data.batches {
                for (col, array) in batch.columns().iter().enumerate() {
                    let c = col as u16;
                    let formatter =
                        ArrayFormatter::try_new(array.as_ref(), &options).map_err(|e| write_error(&path, e))?;
                    for i in 0..array.len() {
                        let r = row + i as u32;
                        if array.is_null(i) {
                            continue;
                        }
                        let number = match array.data_type() {
                            DataType::Int8 => Some(array.as_primitive::<Int8Type>().value(i) as f64),
                            DataType::Int16 => Some(array.as_primitive::<Int16Type>().value(i) as f64),
                            DataType::Int32 => Some(array.as_primitive::<Int32Type>().value(i) as f64),
                            DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(i) as f64),
                            DataType::UInt8 => Some(array.as_primitive::<UInt8Type>().value(i) as f64),
                            DataType::UInt16 => Some(array.as_primitive::<UInt16Type>().value(i) as f64),
                            DataType::UInt32 => Some(array.as_primitive::<UInt32Type>().value(i) as f64),
                            DataType::UInt64 => Some(array.as_primitive::<UInt64Type>().value(i) as f64),
                            DataType::Float32 => Some(array.as_primitive::<Float32Type>().value(i) as f64),
                            DataType::Float64 => Some(array.as_primitive::<Float64Type>().value(i)),
                            _ => None,
                        };
                        let shown = formatter.value(i).to_string();
                        match (array.data_type(), number) {
                            (_, Some(x)) if x.is_finite() => {
                                sheet.write_number(r, c, x).map_err(xerr)?;
                            }
                            (DataType::Date32, _) => {
                                let days = array.as_primitive::<Date32Type>().value(i);
                                sheet
                                    .write_number_with_format(r, c, f64::from(days) + 25_569.0, &date)
                                    .map_err(xerr)?;
                            }
                            (DataType::Boolean, _) => {
                                sheet.write_boolean(r, c, array.as_boolean().value(i)).map_err(xerr)?;
                            }
                            _ => {
                                sheet.write_string(r, c, &shown).map_err(xerr)?;
                            }
                        }
                        if let Some(w) = widths.get_mut(col) {
                            *w = (*w).max(display_width(&shown));
                        }
                    }
                }
                row += batch.num_rows() as u32;
            }
            for (col, w) in widths.iter().enumerate() {
                sheet.set_column_width(col as u16, (*w + 2).min(60) as f64).map_err(xerr)?;
            }
        }
        let bytes = book.save_to_buffer().map_err(xerr)?;
        let written = write_atomic(&path, |w| w.write_all(&bytes).map_err(|e| write_error(&path, e)))?;
        Ok(vec![written])
    }
}
