//! The `parquet` source: a Parquet file, read batch by batch.
//!
//! Values keep their stored types (numbers, dates, timestamps, booleans);
//! anything else is shown as text. Rows are numbered from 1 for messages.

use super::{open_file, sniff};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::record_batch::RecordBatchReader;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use sunward_core::{Diagnostic, Plugin, PluginInfo, RawCell, RawRow, Result, RowPlace, RowReader, RunContext, Source};

/// Reads a Parquet file.
pub struct ParquetSource;

/// Settings of a `parquet` source.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParquetConfig {
    /// The file; `${param}` is replaced, and a relative path is relative to the pipeline's folder.
    pub path: String,
}

impl Plugin for ParquetSource {
    type Config = ParquetConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "parquet",
        description: "reads a Parquet file",
        example: "plugin: parquet\npath: data/services.parquet\ncontract: services\n",
    };
}

impl Source for ParquetSource {
    fn files(&self, config: &ParquetConfig, ctx: &RunContext) -> Result<Vec<PathBuf>> {
        Ok(vec![ctx.input_path(&config.path)?])
    }

    fn open(&self, config: &ParquetConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>> {
        let path = ctx.input_path(&config.path)?;
        let label = path.display().to_string();
        if let Some(magic) = sniff(&path)?.filter(|m| *m != super::Magic::Parquet) {
            return Err(magic.refuse(&path, "Parquet"));
        }
        let file = open_file(&path)?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(8192).build())
            .map_err(|e| {
                Diagnostic::runtime(format!("cannot read {label} as Parquet: {e}"))
                    .hint("check that the file is Parquet; a CSV file is read with plugin: csv, JSON lines with plugin: jsonl")
                    .caused_by(e)
            })?;
        let headers = reader.schema().fields().iter().map(|f| f.name().trim().to_string()).collect();
        Ok(Box::new(ParquetRows { file: label, headers, reader, batch: None, row: 0, record: 0 }))
    }
}

struct ParquetRows {
    file: String,
    headers: Vec<String>,
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    row: usize,
    record: u64,
}

fn value(array: &dyn Array, row: usize) -> RawCell {
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
                TimeUnit::Second => timestamp::<TimestampSecondType>(array, row, tz.as_deref()),
                TimeUnit::Millisecond => timestamp::<TimestampMillisecondType>(array, row, tz.as_deref()),
                TimeUnit::Microsecond => timestamp::<TimestampMicrosecondType>(array, row, tz.as_deref()),
                TimeUnit::Nanosecond => timestamp::<TimestampNanosecondType>(array, row, tz.as_deref()),
            };
            naive.map(RawCell::DateTime).unwrap_or_else(|| formatted(array, row))
        }
        _ => formatted(array, row),
    }
}

/// A timestamp as wall-clock time: in its time zone when it has one, else as stored.
fn timestamp<T>(array: &dyn Array, row: usize, tz: Option<&str>) -> Option<chrono::NaiveDateTime>
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
fn formatted(array: &dyn Array, row: usize) -> RawCell {
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array, &options) {
        Ok(f) => RawCell::Text(f.value(row).to_string()),
        Err(_) => RawCell::Empty,
    }
}

impl RowReader for ParquetRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next_row(&mut self) -> Option<Result<RawRow>> {
        loop {
            if let Some(batch) = &self.batch
                && self.row < batch.num_rows()
            {
                let cells = batch.columns().iter().map(|c| value(c.as_ref(), self.row)).collect();
                self.row += 1;
                self.record += 1;
                return Some(Ok(RawRow { place: RowPlace::Record(self.record), cells, malformed: None }));
            }
            match self.reader.next()? {
                Ok(batch) => {
                    self.batch = Some(batch);
                    self.row = 0;
                }
                Err(e) => {
                    return Some(Err(Diagnostic::runtime(format!(
                        "cannot read {} after record {}: {e}",
                        self.file, self.record
                    ))
                    .caused_by(e)));
                }
            }
        }
    }
}
