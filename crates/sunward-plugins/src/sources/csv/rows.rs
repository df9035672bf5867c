//! The reader of a whole file ([`open_csv`]): the header read off the
//! front, then the parsed batches handed out in file order, as batches or
//! one row at a time (`CsvRows`), the next block read while one is parsed.

use datafusion::arrow::array::{Array, AsArray};
use std::collections::VecDeque;
use std::io::BufReader;
use std::path::Path;
use sunward_core::{Diagnostic, MAX_COLUMNS, Places, RawBatch, RawCell, RawRow, Result, RowReader};

use super::blocks::{BLOCK_BYTES, Blocks, DECODE_BYTES};
use super::config::CsvConfig;
use super::parse::Layout;
use crate::sources::{sniff, text_reader};

/// A csv file's rows: its header, and the batches parsed ahead of the reader.
pub(super) struct CsvRows {
    layout: Layout,
    blocks: Blocks,
    /// Batches parsed ahead, in file order; an error is last.
    queue: VecDeque<Result<RawBatch>>,
    /// A batch being handed out row by row (`next_row`), and its next slot.
    current: Option<(RawBatch, usize)>,
}

pub(super) fn open_csv(path: &Path, config: &CsvConfig) -> Result<Box<dyn RowReader>> {
    open_csv_with_block_size(path, config, BLOCK_BYTES)
}

/// [`CsvSource`]'s reader with blocks of `block_bytes` (at least one) instead
/// of 8 MiB: for tests that cut records at every possible place.
#[doc(hidden)]
pub fn open_csv_with_block_size(path: &Path, config: &CsvConfig, block_bytes: usize) -> Result<Box<dyn RowReader>> {
    let file = path.display().to_string();
    if let Some(magic) = sniff(path)? {
        return Err(magic.refuse(path, "CSV"));
    }
    let text = Box::new(BufReader::with_capacity(DECODE_BYTES, text_reader(path, config.encoding)?));
    let mut blocks = Blocks::new(file.clone(), text, block_bytes, config.quote as u8, config.delimiter as u8);
    let layout = read_header(&mut blocks, config)?;
    Ok(Box::new(CsvRows::new(layout, blocks)))
}

/// Read the header, the text's first record, off the front of `blocks`.
pub(super) fn read_header(blocks: &mut Blocks, config: &CsvConfig) -> Result<Layout> {
    let file = blocks.file.clone();
    blocks.skip_bom();
    let mut layout = Layout {
        file: file.clone(),
        headers: Vec::new(),
        delimiter: config.delimiter as u8,
        quote: config.quote as u8,
    };
    let mut headers: Option<Vec<String>> = None;
    if let Some(ready) = blocks.first_record() {
        layout.records(&ready.bytes, &ready.starts, |_, record| {
            headers.get_or_insert_with(|| {
                record
                    .iter()
                    .map(|f| f.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').to_string())
                    .collect()
            });
        })?;
        if let Some(e) = ready.then {
            return Err(e);
        }
    }
    let headers = headers.unwrap_or_default();
    if headers.len() > MAX_COLUMNS {
        return Err(Diagnostic::runtime(format!(
            "the header of {file} has {} columns: expected at most {MAX_COLUMNS} (as many as Excel allows)",
            headers.len()
        ))
        .hint("check the delimiter (`delimiter:`) and that the file is the export you meant"));
    }
    if headers.iter().all(String::is_empty) {
        return Err(Diagnostic::runtime(format!("the file {file} is empty: expected a header line"))
            .hint("export the table with its header row on line 1"));
    }
    layout.headers = headers;
    Ok(layout)
}

impl CsvRows {
    /// The rows of `blocks`, their header read into `layout`.
    pub(super) fn new(layout: Layout, blocks: Blocks) -> Self {
        CsvRows { layout, blocks, queue: VecDeque::new(), current: None }
    }

    /// Parse the next whole records into the queue, reading the block after
    /// them meanwhile; leaves the queue empty only at the end.
    fn refill(&mut self) {
        // Enough pieces per block to keep every thread busy.
        let piece_bytes = (self.blocks.block_bytes / (2 * rayon::current_num_threads().max(1))).max(1);
        while self.queue.is_empty() {
            let Some(ready) = self.blocks.next_ready() else { return };
            let (layout, blocks) = (&self.layout, &mut self.blocks);
            let (parsed, ()) = rayon::join(|| layout.parse(ready, piece_bytes), || blocks.read_block());
            if parsed.iter().any(Result::is_err) {
                // Nothing is read after an error.
                self.blocks.exhausted = true;
            }
            self.queue.extend(parsed);
        }
    }

    /// The next batch from the queue, refilling it when empty.
    fn next_parsed(&mut self) -> Option<Result<RawBatch>> {
        if self.queue.is_empty() {
            self.refill();
        }
        self.queue.pop_front()
    }
}

/// Slot `i` of a batch as a row.
fn slot_row(batch: &RawBatch, i: usize) -> RawRow {
    if let Ok(k) = batch.rows.binary_search_by_key(&i, |(slot, _)| *slot)
        && let Some((_, row)) = batch.rows.get(k)
    {
        return row.clone();
    }
    let cells = batch
        .columns
        .iter()
        .map(|column| match column.as_string_opt::<i32>() {
            Some(text) if text.is_valid(i) => RawCell::Text(text.value(i).to_string()),
            _ => RawCell::Empty,
        })
        .collect();
    RawRow { place: batch.place(i), cells, malformed: None }
}

/// The slots of a batch from `from` on, as a batch.
fn rest_of(batch: RawBatch, from: usize) -> RawBatch {
    if from == 0 {
        return batch;
    }
    let len = batch.len.saturating_sub(from);
    let places = match batch.places {
        Places::Lines(lines) => Places::Lines(lines.get(from..).unwrap_or_default().to_vec()),
        other => other,
    };
    RawBatch {
        columns: batch.columns.iter().map(|c| c.slice(from, len)).collect(),
        len,
        places,
        rows: batch.rows.into_iter().filter(|(slot, _)| *slot >= from).map(|(slot, row)| (slot - from, row)).collect(),
    }
}

impl RowReader for CsvRows {
    fn headers(&self) -> &[String] {
        &self.layout.headers
    }

    fn next_row(&mut self) -> Option<Result<RawRow>> {
        loop {
            if let Some((batch, next)) = &mut self.current {
                if *next < batch.len {
                    let row = slot_row(batch, *next);
                    *next += 1;
                    return Some(Ok(row));
                }
                self.current = None;
            }
            match self.next_parsed()? {
                Ok(batch) => self.current = Some((batch, 0)),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Fields go straight into one text column per header, with no string
    /// per cell; a record with another number of fields than the header is
    /// given as a row, for the engine to judge.
    fn next_batch(&mut self) -> Option<Result<RawBatch>> {
        if let Some((batch, next)) = self.current.take()
            && next < batch.len
        {
            return Some(Ok(rest_of(batch, next)));
        }
        self.next_parsed()
    }
}
