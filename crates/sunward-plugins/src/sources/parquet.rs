//! The `parquet` source: a Parquet file, read batch by batch.
//!
//! Values keep their stored types (numbers, dates, timestamps, booleans);
//! anything else is shown as text. Rows are numbered from 1 for messages.

use super::{open_file, sniff};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchReader};
use datafusion::parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use sunward_core::plugin::cell_of_array;
use sunward_core::{
    Diagnostic, Places, Plugin, PluginInfo, RawBatch, RawRow, Result, RowPlace, RowReader, RunContext, Source,
};

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
            .and_then(|b| b.with_batch_size(sunward_core::RAW_BATCH_ROWS).build())
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
    /// A batch being handed out row by row (`next_row`), and the next row of it.
    batch: Option<RecordBatch>,
    row: usize,
    /// Records handed out so far.
    record: u64,
}

impl ParquetRows {
    fn read_batch(&mut self) -> Option<Result<RecordBatch>> {
        match self.reader.next()? {
            Ok(batch) => Some(Ok(batch)),
            Err(e) => {
                Some(Err(Diagnostic::runtime(format!("cannot read {} after record {}: {e}", self.file, self.record))
                    .caused_by(e)))
            }
        }
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
                let cells = batch.columns().iter().map(|c| cell_of_array(c.as_ref(), self.row)).collect();
                self.row += 1;
                self.record += 1;
                return Some(Ok(RawRow { place: RowPlace::Record(self.record), cells, malformed: None }));
            }
            match self.read_batch()? {
                Ok(batch) => {
                    self.batch = Some(batch);
                    self.row = 0;
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The file's own Arrow batches, typed as stored: nothing is turned into text.
    fn next_batch(&mut self) -> Option<Result<RawBatch>> {
        let batch = match self.batch.take() {
            // What `next_row` left of a batch.
            Some(b) if self.row < b.num_rows() => b.slice(self.row, b.num_rows() - self.row),
            _ => loop {
                match self.read_batch()? {
                    Ok(b) if b.num_rows() == 0 => continue,
                    Ok(b) => break b,
                    Err(e) => return Some(Err(e)),
                }
            },
        };
        let first = self.record + 1;
        self.record += batch.num_rows() as u64;
        Some(Ok(RawBatch {
            columns: batch.columns().to_vec(),
            len: batch.num_rows(),
            places: Places::Records { first },
            rows: Vec::new(),
        }))
    }
}
