//! Reading one part of a file ([`open_csv_part`]): the records that start
//! in a byte range of a UTF-8 file, the range moved to line starts, their
//! lines numbered as the whole file numbers them.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use sunward_core::{Diagnostic, FilePart, MAX_RECORD_BYTES, Result, RowReader};

use super::blocks::{Blocks, DECODE_BYTES, UTF8_BOM};
use super::config::CsvConfig;
use super::rows::{CsvRows, read_header};
use super::scan::Scanner;
use crate::sources::{Encoding, decoded, open_file, sniff, text_reader};

/// How many bytes are read at a time while a part's place in the file is found.
const PROBE_BYTES: usize = 64 << 10;

/// The records of a UTF-8 file that start in `part`'s byte range, read as
/// [`open_csv`](super::rows::open_csv) reads the whole file and numbered by the same physical
/// lines. The range is moved to line starts: a part begins at the file's
/// start or just after a line break (never inside the header) and ends where
/// the next part begins. A line break inside a quoted field is taken for a
/// record boundary here; the part before it then ends inside that quoted
/// field, which is an error ("never closed"), so a wrong cut never passes
/// unnoticed: the caller reads the file whole instead. `None` for text in
/// another encoding (a GB18030 byte sequence cannot be told apart from a
/// delimiter by its bytes alone) or with a UTF-16 byte-order mark.
#[doc(hidden)]
pub fn open_csv_part(
    path: &Path,
    config: &CsvConfig,
    part: &FilePart,
    block_bytes: usize,
) -> Result<Option<Box<dyn RowReader>>> {
    if config.encoding != Encoding::Utf8 {
        return Ok(None);
    }
    if let Some(magic) = sniff(path)? {
        return Err(magic.refuse(path, "CSV"));
    }
    let label = path.display().to_string();
    let unreadable = |e: std::io::Error| {
        Diagnostic::runtime(format!("cannot read {label}: {e}")).hint("check that the file is readable").caused_by(e)
    };
    let mut raw = open_file(path)?;
    let len = raw.metadata().map_err(unreadable)?.len();
    let mut head = [0u8; 2];
    let got = raw.read(&mut head).map_err(unreadable)?;
    if got == 2 && (head == [0xFF, 0xFE] || head == [0xFE, 0xFF]) {
        return Ok(None);
    }
    let (quote, delimiter) = (config.quote as u8, config.delimiter as u8);
    let data = data_start(&mut raw, quote, delimiter).map_err(unreadable)?;
    let start = if part.index == 0 { 0 } else { line_start(&mut raw, part.start, data, len).map_err(unreadable)? };
    let end = if part.end >= len { len } else { line_start(&mut raw, part.end, data, len).map_err(unreadable)? };
    let end = end.max(start);
    if part.index == 0 {
        raw.seek(SeekFrom::Start(0)).map_err(unreadable)?;
        let text = Box::new(BufReader::with_capacity(DECODE_BYTES, decoded(raw.take(end), Encoding::Utf8)));
        let mut blocks = Blocks::new(label, text, block_bytes, quote, delimiter);
        let layout = read_header(&mut blocks, config)?;
        return Ok(Some(Box::new(CsvRows::new(layout, blocks))));
    }
    let text = Box::new(BufReader::with_capacity(DECODE_BYTES, text_reader(path, Encoding::Utf8)?));
    let layout = read_header(&mut Blocks::new(label.clone(), text, PROBE_BYTES, quote, delimiter), config)?;
    let lines_before = newlines_before(&mut raw, start).map_err(unreadable)?;
    raw.seek(SeekFrom::Start(start)).map_err(unreadable)?;
    let text = Box::new(BufReader::with_capacity(DECODE_BYTES, raw.take(end - start)));
    let mut blocks = Blocks::new(label, text, block_bytes, quote, delimiter);
    blocks.scanner.line = lines_before + 1;
    Ok(Some(Box::new(CsvRows::new(layout, blocks))))
}

/// The offset where the records after the header begin: the second record's
/// start, or the end of the file. Byte-order marks are skipped as the reader
/// skips them (the decoder drops one, the scan another).
fn data_start(raw: &mut std::fs::File, quote: u8, delimiter: u8) -> std::io::Result<u64> {
    raw.seek(SeekFrom::Start(0))?;
    let mut text = Vec::new();
    let mut scanner = Scanner::new(quote, delimiter);
    let mut starts = Vec::new();
    let mut skipped = 0;
    let mut scanned = 0;
    loop {
        let got = Read::by_ref(raw).take(PROBE_BYTES as u64).read_to_end(&mut text)?;
        while skipped < 2 * UTF8_BOM.len() && text.get(skipped..).is_some_and(|t| t.starts_with(UTF8_BOM)) {
            skipped += UTF8_BOM.len();
        }
        let from = scanned.max(skipped);
        scanner.scan(text.get(from..).unwrap_or_default(), from, &mut starts);
        scanned = text.len();
        if let Some(second) = starts.get(1) {
            return Ok(second.offset as u64);
        }
        if got == 0 || text.len() > MAX_RECORD_BYTES {
            return Ok(text.len() as u64);
        }
    }
}

/// The first line start at or after `at`: `at` itself when a line break is
/// just before it, else just after the next line break; at least `data`,
/// at most `len`.
fn line_start(raw: &mut std::fs::File, at: u64, data: u64, len: u64) -> std::io::Result<u64> {
    if at <= data {
        return Ok(data.min(len));
    }
    let mut from = at - 1;
    raw.seek(SeekFrom::Start(from))?;
    let mut buffer = vec![0u8; PROBE_BYTES];
    loop {
        let got = raw.read(&mut buffer)?;
        if got == 0 {
            return Ok(len);
        }
        if let Some(i) = memchr::memchr(b'\n', buffer.get(..got).unwrap_or_default()) {
            return Ok((from + i as u64 + 1).min(len));
        }
        from += got as u64;
    }
}

/// How many line breaks (`\n`) the file holds before `offset`.
fn newlines_before(raw: &mut std::fs::File, offset: u64) -> std::io::Result<u64> {
    raw.seek(SeekFrom::Start(0))?;
    let mut counted = 0;
    let mut buffer = vec![0u8; 1 << 20];
    let mut left = offset;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buffer.len());
        let got = raw.read(buffer.get_mut(..want).unwrap_or_default())?;
        if got == 0 {
            break;
        }
        counted += memchr::memchr_iter(b'\n', buffer.get(..got).unwrap_or_default()).count() as u64;
        left -= got as u64;
    }
    Ok(counted)
}
