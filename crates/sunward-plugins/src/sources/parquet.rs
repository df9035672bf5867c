//! The `parquet` source: a Parquet file, read batch by batch.
//!
//! Values keep their stored types (numbers, dates, timestamps, booleans);
//! anything else is shown as text. Rows are numbered from 1 for messages.
//! Row groups are decoded on up to four threads at once and handed out in
//! file order. A part of the file ([`Source::open_part`]) is the row groups
//! whose data begins in its byte range, its records numbered as in the
//! whole file.

use super::{open_file, quietly, sniff};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::errors::ParquetError;
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use sunward_core::plugin::cell_of_array;
use sunward_core::{
    Diagnostic, FilePart, Places, Plugin, PluginInfo, RawBatch, RawRow, Result, RowPlace, RowReader, RunContext, Source,
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
        open_parquet(&ctx.input_path(&config.path)?, None)
    }

    fn open_part(
        &self,
        config: &ParquetConfig,
        ctx: &RunContext,
        part: &FilePart,
    ) -> Result<Option<Box<dyn RowReader>>> {
        open_parquet(&ctx.input_path(&config.path)?, Some(part)).map(Some)
    }
}

/// The first byte of a row group's data (its first column chunk's).
fn group_start(group: &datafusion::parquet::file::metadata::RowGroupMetaData) -> u64 {
    group.columns().iter().map(|c| c.byte_range().0).min().unwrap_or(0)
}

/// Read the file, or only the row groups whose data begins in `part`'s
/// byte range, numbering records from the file's first.
fn open_parquet(path: &std::path::Path, part: Option<&FilePart>) -> Result<Box<dyn RowReader>> {
    let path = path.to_path_buf();
    let label = path.display().to_string();
    if let Some(magic) = sniff(&path)?.filter(|m| *m != super::Magic::Parquet) {
        return Err(magic.refuse(&path, "Parquet"));
    }
    let file = open_file(&path)?;
    let not_parquet = |e: ParquetError| {
        Diagnostic::runtime(format!("cannot read {label} as Parquet: {e}"))
            .hint("check that the file is Parquet; a CSV file is read with plugin: csv, JSON lines with plugin: jsonl")
            .caused_by(e)
    };
    let metadata = quietly(|| ArrowReaderMetadata::load(&file, ArrowReaderOptions::default()))
        .map_err(|_| damaged(&label))?
        .map_err(not_parquet)?;
    let stored: Vec<String> = metadata.schema().fields().iter().map(|f| f.name().to_string()).collect();
    let headers = stored.iter().map(|n| n.trim().to_string()).collect();
    let all = metadata.metadata().row_groups();
    let chosen: Vec<usize> = (0..all.len())
        .filter(|g| {
            part.is_none_or(|p| all.get(*g).map(group_start).is_some_and(|start| (p.start..p.end).contains(&start)))
        })
        .collect();
    let record = chosen
        .first()
        .map(|first| all.iter().take(*first).map(|g| u64::try_from(g.num_rows()).unwrap_or(0)).sum())
        .unwrap_or(0);
    let chosen = Arc::new(chosen);
    let groups = chosen.len();
    let lanes = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4).min(groups.max(1));
    let lanes = (0..lanes)
        .map(|lane| {
            let (send, receive) = sync_channel::<Decoded>(2);
            let path = path.clone();
            let metadata = metadata.clone();
            let chosen = chosen.clone();
            std::thread::spawn(move || {
                if quietly(|| decode_lane(&path, metadata, lane, lanes, &chosen, &send)).is_err() {
                    let _ = send.send(Decoded::Failed("the file is damaged".into()));
                }
            });
            receive
        })
        .collect::<Vec<_>>();
    Ok(Box::new(ParquetRows {
        file: label,
        path,
        stored,
        headers,
        lanes,
        group: 0,
        groups,
        batch: None,
        row: 0,
        record,
    }))
}

/// The error for a file the Parquet reader panics on.
fn damaged(label: &str) -> Diagnostic {
    Diagnostic::runtime(format!("cannot read {label} as Parquet: the file is damaged"))
        .hint("write the file again; a file that is not Parquet is read with its own plugin")
}

/// What a decoding thread sends: batches of a row group, then the end of it.
enum Decoded {
    Batch(RecordBatch),
    EndOfGroup,
    Failed(String),
}

/// Decode the row groups at `lane`, `lane + lanes`, … of `groups` in order, sending each one's
/// batches and then its end; stops when the reader is dropped.
fn decode_lane(
    path: &std::path::Path,
    metadata: ArrowReaderMetadata,
    lane: usize,
    lanes: usize,
    groups: &[usize],
    send: &SyncSender<Decoded>,
) {
    for &group in groups.iter().skip(lane).step_by(lanes) {
        // A handle of its own for each group: a cloned handle would share the read position.
        let reader = std::fs::File::open(path).map_err(|e| e.to_string()).and_then(|f| {
            ParquetRecordBatchReaderBuilder::new_with_metadata(f, metadata.clone())
                .with_row_groups(vec![group])
                .with_batch_size(sunward_core::RAW_BATCH_ROWS)
                .build()
                .map_err(|e| e.to_string())
        });
        let reader = match reader {
            Ok(r) => r,
            Err(e) => {
                let _ = send.send(Decoded::Failed(e));
                return;
            }
        };
        for batch in reader {
            let message = match batch {
                Ok(b) => Decoded::Batch(b),
                Err(e) => Decoded::Failed(e.to_string()),
            };
            let failed = matches!(message, Decoded::Failed(_));
            if send.send(message).is_err() || failed {
                return;
            }
        }
        if send.send(Decoded::EndOfGroup).is_err() {
            return;
        }
    }
}

/// Reads a Parquet file's row groups on several threads at once (each thread
/// decodes every n-th group) and hands their batches out in file order.
struct ParquetRows {
    file: String,
    path: PathBuf,
    /// The column names as stored, and as headers (trimmed).
    stored: Vec<String>,
    headers: Vec<String>,
    /// One channel per decoding thread; row group `g` comes from lane `g % lanes`.
    lanes: Vec<Receiver<Decoded>>,
    /// The row group being handed out, and how many there are.
    group: usize,
    groups: usize,
    /// A batch being handed out row by row (`next_row`), and the next row of it.
    batch: Option<RecordBatch>,
    row: usize,
    /// Records handed out so far.
    record: u64,
}

impl ParquetRows {
    fn read_batch(&mut self) -> Option<Result<RecordBatch>> {
        while self.group < self.groups {
            let lane = self.lanes.get(self.group % self.lanes.len().max(1))?;
            match lane.recv() {
                Ok(Decoded::Batch(batch)) => return Some(Ok(batch)),
                Ok(Decoded::EndOfGroup) => self.group += 1,
                Ok(Decoded::Failed(e)) => {
                    self.group = self.groups;
                    return Some(Err(Diagnostic::runtime(format!(
                        "cannot read {} after record {}: {e}",
                        self.file, self.record
                    ))));
                }
                Err(_) => {
                    self.group = self.groups;
                    return Some(Err(Diagnostic::runtime(format!(
                        "cannot read {} after record {}: the decoding thread stopped",
                        self.file, self.record
                    ))));
                }
            }
        }
        None
    }
}

impl RowReader for ParquetRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn as_stored(&self) -> Option<(&std::path::Path, &[String])> {
        Some((&self.path, &self.stored))
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
