//! The `jsonl` output: one table as JSON objects, one per line.
//!
//! Every object holds every column, a missing value as `null`, so tools that
//! infer a schema from the first lines see all the columns; dates are
//! `"YYYY-MM-DD"` strings.

use super::{table, write_error};
use datafusion::arrow::json::writer::{LineDelimited, WriterBuilder};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use sunward_core::atomic::write_atomic;
use sunward_core::{Plugin, PluginInfo, Result, RunContext, Sink, TableData};

/// Writes a table as JSON lines.
pub struct JsonlSink;

/// Settings of a `jsonl` output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonlSinkConfig {
    /// The table to write.
    pub table: String,
    /// The file, relative to the output folder; `${param}` is replaced.
    pub path: String,
}

impl Plugin for JsonlSink {
    type Config = JsonlSinkConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "jsonl",
        description: "writes one table as JSON lines, one object per row (missing values as null)",
        example: "plugin: jsonl\ntable: by_school\npath: by_school.jsonl\n",
    };
}

impl Sink for JsonlSink {
    fn streams(&self) -> bool {
        true
    }

    fn inputs(&self, config: &JsonlSinkConfig) -> Vec<String> {
        vec![config.table.clone()]
    }

    fn write(&self, config: &JsonlSinkConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>> {
        let data = table(tables, &config.table)?;
        let path = ctx.output_path(&config.path)?;
        let written = write_atomic(&path, |w| {
            let mut writer = WriterBuilder::new().with_explicit_nulls(true).build::<_, LineDelimited>(w);
            for batch in data.iter() {
                writer.write(&batch?).map_err(|e| write_error(&path, e))?;
            }
            writer.finish().map_err(|e| write_error(&path, e))
        })?;
        Ok(vec![written])
    }
}
