//! A table handed to a sink ([`TableData`]): its rows in memory, or — for
//! a sink that streams — in Parquet files on disk, read batch by batch.

use crate::diag::{Diagnostic, Result};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};

/// A table handed to a sink.
///
/// Its rows are in `batches`, except for a large table given to a sink that
/// [streams](Sink::streams): then `batches` is empty and `file` names the
/// Parquet file in the run's staging folder that holds them. [`TableData::iter`]
/// reads either, batch by batch, in order.
#[derive(Debug, Clone)]
pub struct TableData {
    /// The table's pipeline name.
    pub name: String,
    /// Its schema.
    pub schema: SchemaRef,
    /// Its rows, when held in memory.
    pub batches: Vec<RecordBatch>,
    /// A Parquet file (or a folder of them) holding its rows instead (only for a sink that streams).
    pub file: Option<PathBuf>,
}

impl TableData {
    /// A table held in memory.
    pub fn in_memory(name: impl Into<String>, schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        TableData { name: name.into(), schema, batches, file: None }
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        match &self.file {
            Some(path) => parquet_files(path)
                .iter()
                .filter_map(|file| std::fs::File::open(file).ok())
                .filter_map(|f| ParquetRecordBatchReaderBuilder::try_new(f).ok())
                .map(|b| b.metadata().file_metadata().num_rows() as usize)
                .sum(),
            None => self.batches.iter().map(RecordBatch::num_rows).sum(),
        }
    }

    /// Every batch, in order: from memory, or read from the file (or the
    /// folder's files, in name order) one at a time.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Result<RecordBatch>> + '_> {
        let Some(path) = &self.file else { return Box::new(self.batches.iter().cloned().map(Ok)) };
        Box::new(parquet_files(path).into_iter().flat_map(move |file| self.file_batches(file)))
    }

    /// The batches of one Parquet file holding the table's columns.
    fn file_batches(&self, path: PathBuf) -> Box<dyn Iterator<Item = Result<RecordBatch>> + '_> {
        let shown = path.display().to_string();
        let failed = move |e: &dyn std::fmt::Display| {
            Diagnostic::runtime(format!("cannot read the table {} from {shown}: {e}", self.name))
        };
        // The table's columns, by name: a source read where it lies may hold
        // other columns too, and the file's schema may lack the table's metadata.
        let reader = std::fs::File::open(&path).map_err(|e| failed(&e)).and_then(|f| {
            let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| failed(&e))?;
            let stored = builder.schema().clone();
            let roots: Vec<usize> =
                self.schema.fields().iter().filter_map(|f| stored.index_of(f.name()).ok()).collect();
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder.with_projection(mask).build().map_err(|e| failed(&e))
        });
        match reader {
            Err(e) => Box::new(std::iter::once(Err(e))),
            Ok(reader) => Box::new(reader.map(move |b| {
                b.map_err(|e| failed(&e)).and_then(|b| {
                    let columns = self
                        .schema
                        .fields()
                        .iter()
                        .map(|f| {
                            b.column_by_name(f.name())
                                .cloned()
                                .ok_or_else(|| failed(&format!("no column {}", f.name())))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| failed(&e))
                })
            })),
        }
    }
}

/// The Parquet files of a table: the file itself, or a folder's files in name order.
fn parquet_files(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}
