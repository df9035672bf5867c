//! The `csv` source: delimited text as spreadsheets and case systems export it.
//!
//! Reads UTF-8 (with or without a byte-order mark) or GB18030/GBK — what Excel
//! writes in a Chinese locale — streaming, so a large export never has to fit
//! in memory. Quoted fields may hold delimiters, quotes and line breaks; each
//! row carries the physical line where it starts. A quote left open to the end
//! of the file, a workbook saved as `.csv` or text in the wrong encoding is an
//! error that names the file, the line and the likely fix.
//!
//! # Reading in parallel chunks
//!
//! The text (decoded to UTF-8 from GB18030, or a UTF-8 file's bytes as they
//! are) is read a block at a time (8 MiB). One sequential pass, the
//! `Scanner`, follows it with the csv parser's own state machine (csv_core's
//! rules: a quote opens a quoted field only as the first byte of a field;
//! inside one a doubled quote is a quote and a single one closes it; outside
//! quotes `\r` and `\n` end a record and empty lines are skipped), skipping
//! the runs of bytes that change nothing eight at a time. It notes where each
//! record starts and on which physical line (every `\n` counts, inside quotes
//! and on blank lines too — the csv crate's own count drifts after CRLF line
//! ends and blank lines), and where the last *record boundary* is: a point
//! outside quotes just after a line break.
//!
//! Everything before that boundary holds whole records. It is cut at record
//! starts into pieces of at most [`RAW_BATCH_ROWS`](sunward_core::RAW_BATCH_ROWS) records, which are parsed
//! side by side on rayon's threads, each by its own `csv::Reader` over its
//! bytes (same delimiter and quote, no header, any number of fields), while
//! the next block is read and scanned. Each piece becomes one [`RawBatch`](sunward_core::RawBatch):
//! fields go straight into one text column per header (null for an empty
//! one); a record with another number of fields than the header is given as
//! a [`RawRow`](sunward_core::RawRow); a line holding only white space is skipped when the header
//! has more than one column. Batches wait in a queue in file order. The bytes
//! after the boundary — a record not yet complete — stay for the next block;
//! a record longer than a block makes the block grow until it ends.
//!
//! Errors come in file order, after every record before them: text that is
//! not UTF-8 names its line and column, and when the file ends inside a quoted
//! field (which the csv crate silently accepts) the last record is replaced by
//! an error naming the line where that quote opened. [`RowReader::next_row`](sunward_core::RowReader::next_row)
//! hands out the same batches one row at a time.
//!
//! csv_core drops a UTF-8 byte-order mark at the start of its input; each
//! piece is given a line break first so that it does not, and the one mark it
//! would drop from the whole text is dropped before the scan. The decoder is
//! read through a 64 KiB buffer whatever the block size: asked for fewer than
//! four bytes at a time, GB18030 decoding loses text.
//!
//! # Reading one part of a file
//!
//! [`open_csv_part`] reads the records that start in a byte range of a UTF-8
//! file, for a cluster whose executors read one large file side by side: the
//! range is moved to line starts (never inside the header), each part counts
//! the line breaks before it so its lines are the file's, and the header is
//! read from the file's start. A cut that lands on a line break inside a
//! quoted field leaves the part before it ending inside that field, which is
//! the "never closed" error: the caller then reads the file whole.
//!
//! # The parts
//!
//! `config` holds the settings; `scan` the sequential pass (`Scanner`);
//! `blocks` the text read a block at a time and cut at record boundaries;
//! `parse` the parallel parse of whole records into batches; `rows` the
//! reader that hands them out; `part` the reading of one byte range.

mod blocks;
mod config;
mod parse;
mod part;
mod rows;
mod scan;

pub use config::CsvConfig;
pub use part::open_csv_part;
pub use rows::open_csv_with_block_size;

use std::path::PathBuf;
use sunward_core::{FilePart, Plugin, PluginInfo, Result, RowReader, RunContext, Source};

use blocks::BLOCK_BYTES;
use rows::open_csv;

/// Reads a delimited text file.
pub struct CsvSource;

impl Plugin for CsvSource {
    type Config = CsvConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "csv",
        description: "reads a delimited text file (UTF-8 or GB18030/GBK), streaming",
        example: "plugin: csv\npath: exports/服务记录.csv\nencoding: gb18030\ncontract: services\nheaders:\n  记录编号: record_id\n  学校编号: school_id\nvalues:\n  service_type:\n    个案辅导: case_session\n",
    };
    fn check(&self, config: &CsvConfig) -> Vec<sunward_core::ConfigIssue> {
        let mut issues = Vec::new();
        if !config.delimiter.is_ascii() || config.delimiter == '\n' || config.delimiter == '\r' {
            issues.push(sunward_core::ConfigIssue::field(
                "delimiter",
                "the delimiter must be one ASCII character other than a line break",
            ));
        }
        if !config.quote.is_ascii() || config.quote == config.delimiter {
            issues.push(sunward_core::ConfigIssue::field(
                "quote",
                "the quote must be one ASCII character different from the delimiter",
            ));
        }
        issues
    }
}

impl Source for CsvSource {
    fn files(&self, config: &CsvConfig, ctx: &RunContext) -> Result<Vec<PathBuf>> {
        Ok(vec![ctx.input_path(&config.path)?])
    }

    fn open(&self, config: &CsvConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>> {
        let path = ctx.input_path(&config.path)?;
        open_csv(&path, config)
    }

    fn open_part(&self, config: &CsvConfig, ctx: &RunContext, part: &FilePart) -> Result<Option<Box<dyn RowReader>>> {
        let path = ctx.input_path(&config.path)?;
        open_csv_part(&path, config, part, BLOCK_BYTES)
    }
}
