//! Built-in sinks: outputs in the formats people read and analysts load.
//!
//! Every file is written to a temporary name beside its destination and
//! renamed when complete, so a failed run never leaves a half-written output.

pub mod csv;
pub mod jsonl;
pub mod parquet;
pub mod report;
pub mod xlsx;

use sunward_core::{Diagnostic, Registry, Result, TableData};

/// Register the built-in sinks.
pub fn register(registry: &mut Registry) {
    registry
        .add_sink(csv::CsvSink)
        .add_sink(parquet::ParquetSink)
        .add_sink(jsonl::JsonlSink)
        .add_sink(xlsx::XlsxSink)
        .add_sink(report::ReportSink);
}

/// The table named `name` among those handed to a sink.
pub(crate) fn table<'a>(tables: &'a [TableData], name: &str) -> Result<&'a TableData> {
    tables.iter().find(|t| t.name == name).ok_or_else(|| {
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        let hint = if names.is_empty() {
            "no table was handed to this output".to_string()
        } else {
            format!("tables handed to this output: {}", names.join(", "))
        };
        Diagnostic::runtime(format!("table \"{name}\" was not handed to the output")).hint(hint)
    })
}

/// Wrap an error from a writer.
pub(crate) fn write_error(path: &std::path::Path, e: impl std::error::Error + Send + Sync + 'static) -> Diagnostic {
    Diagnostic::runtime(format!("cannot write {}: {e}", path.display())).caused_by(e)
}
