//! The `csv` output: one table as comma-separated UTF-8 text.
//!
//! Dates are written `YYYY-MM-DD`; a byte-order mark can be added so that Excel
//! on Chinese Windows shows Chinese text correctly.

use super::{table, write_error};
use datafusion::arrow::csv::WriterBuilder;
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use sunward_core::atomic::write_atomic;
use sunward_core::{ConfigIssue, Diagnostic, Plugin, PluginInfo, Result, RunContext, Sink, TableData};

/// Writes a table as CSV.
pub struct CsvSink;

/// Settings of a `csv` output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvSinkConfig {
    /// The table to write.
    pub table: String,
    /// The file, relative to the output folder; `${param}` is replaced.
    pub path: String,
    /// The field separator (default `,`).
    #[serde(default = "comma")]
    pub delimiter: char,
    /// Start the file with a UTF-8 byte-order mark, for Excel on Chinese Windows (default false).
    #[serde(default)]
    pub bom: bool,
}

fn comma() -> char {
    ','
}

/// Whether `c` can separate fields: one ASCII byte that is not a quote or a line break.
fn delimiter_ok(c: char) -> bool {
    c.is_ascii() && !matches!(c, '"' | '\n' | '\r')
}

impl Plugin for CsvSink {
    type Config = CsvSinkConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "csv",
        description: "writes one table as a UTF-8 CSV file",
        example: "plugin: csv\ntable: by_school\npath: by_school_${year}.csv\nbom: true\n",
    };
    fn check(&self, config: &CsvSinkConfig) -> Vec<ConfigIssue> {
        if delimiter_ok(config.delimiter) {
            vec![]
        } else {
            vec![
                ConfigIssue::field(
                    "delimiter",
                    format!(
                        "{:?} cannot be a delimiter: it must be one ASCII character other than a quote or a line break",
                        config.delimiter
                    ),
                )
                .hint("use `,`, `;`, `|` or a tab (`\"\\t\"`)"),
            ]
        }
    }
}

impl Sink for CsvSink {
    fn streams(&self) -> bool {
        true
    }

    fn inputs(&self, config: &CsvSinkConfig) -> Vec<String> {
        vec![config.table.clone()]
    }

    fn write(&self, config: &CsvSinkConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>> {
        if !delimiter_ok(config.delimiter) {
            return Err(Diagnostic::invalid(format!("{:?} cannot be a CSV delimiter", config.delimiter))
                .hint("use one ASCII character other than a quote or a line break, such as `,` or `;`"));
        }
        let data = table(tables, &config.table)?;
        let path = ctx.output_path(&config.path)?;
        let written = write_atomic(&path, |w| {
            if config.bom {
                w.write_all("\u{feff}".as_bytes()).map_err(|e| write_error(&path, e))?;
            }
            let mut writer = WriterBuilder::new()
                .with_header(true)
                .with_delimiter(config.delimiter as u8)
                .with_date_format("%Y-%m-%d".to_string())
                .build(w);
            let mut any = false;
            for batch in data.iter() {
                writer.write(&batch?).map_err(|e| write_error(&path, e))?;
                any = true;
            }
            if !any {
                let empty = datafusion::arrow::record_batch::RecordBatch::new_empty(data.schema.clone());
                writer.write(&empty).map_err(|e| write_error(&path, e))?;
            }
            Ok(())
        })?;
        Ok(vec![written])
    }
}
