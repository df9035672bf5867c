//! The `parquet` output: one table as a Parquet file, for analysts' tools.
//!
//! Columns are Snappy-compressed (pure Rust, read by every Parquet reader);
//! the Arrow schema is stored in the file, so dates stay dates.

use super::{table, write_error};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use sunward_core::atomic::AtomicFile;
use sunward_core::{Plugin, PluginInfo, Result, RunContext, Sink, TableData};

/// Writes a table as Parquet.
pub struct ParquetSink;

/// Settings of a `parquet` output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParquetSinkConfig {
    /// The table to write.
    pub table: String,
    /// The file, relative to the output folder; `${param}` is replaced.
    pub path: String,
}

impl Plugin for ParquetSink {
    type Config = ParquetSinkConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "parquet",
        description: "writes one table as a Snappy-compressed Parquet file",
        example: "plugin: parquet\ntable: metrics\npath: metrics.parquet\n",
    };
}

impl Sink for ParquetSink {
    fn streams(&self) -> bool {
        true
    }

    fn inputs(&self, config: &ParquetSinkConfig) -> Vec<String> {
        vec![config.table.clone()]
    }

    fn write(&self, config: &ParquetSinkConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>> {
        let data = table(tables, &config.table)?;
        let path = ctx.output_path(&config.path)?;
        let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let mut file = AtomicFile::create(&path)?;
        {
            let mut writer = ArrowWriter::try_new(file.file(), data.schema.clone(), Some(properties))
                .map_err(|e| write_error(&path, e))?;
            for batch in data.iter() {
                writer.write(&batch?).map_err(|e| write_error(&path, e))?;
            }
            writer.close().map_err(|e| write_error(&path, e))?;
        }
        Ok(vec![file.commit()?])
    }
}
