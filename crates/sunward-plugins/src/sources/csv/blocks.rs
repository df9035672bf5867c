//! The text read a block at a time and scanned as it arrives ([`Blocks`]),
//! handed on as whole records ([`Ready`]): everything up to the last record
//! boundary, the first record alone (the header), or what is left at the
//! end with the error that ends it.

use std::io::Read;
use sunward_core::{Diagnostic, MAX_RECORD_BYTES};

use super::scan::{Scanner, Start};

/// How many bytes of text are read at a time; a longer record makes the block grow.
pub(super) const BLOCK_BYTES: usize = 8 << 20;

/// How many bytes of text are decoded at a time, whatever the block size.
pub(super) const DECODE_BYTES: usize = 64 << 10;

/// A UTF-8 byte-order mark.
pub(super) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes holding whole records, taken from the front of the text.
pub(super) struct Ready {
    pub(super) bytes: Vec<u8>,
    /// Where each record in `bytes` starts, in order.
    pub(super) starts: Vec<Start>,
    /// The error that follows these records: the file ends inside a quoted
    /// field, or could not be read further.
    pub(super) then: Option<Diagnostic>,
}

/// The text, read a block at a time and scanned as it arrives.
pub(super) struct Blocks {
    /// The file, for messages.
    pub(super) file: String,
    text: Box<dyn Read + Send>,
    /// How many bytes are read at a time.
    pub(super) block_bytes: usize,
    /// The scan of everything read so far.
    pub(super) scanner: Scanner,
    /// Text read but not yet taken; it begins at a record boundary.
    pending: Vec<u8>,
    /// The records starting in `pending`.
    starts: Vec<Start>,
    /// The offset in `pending` just after its last record boundary (0: none).
    complete: usize,
    /// The text has been read to its end.
    eof: bool,
    /// Reading failed; the error comes after the records before it.
    failed: Option<Diagnostic>,
    /// Everything has been taken.
    pub(super) exhausted: bool,
}

impl Blocks {
    /// The text of `file`, to be read `block_bytes` at a time.
    pub(super) fn new(file: String, text: Box<dyn Read + Send>, block_bytes: usize, quote: u8, delimiter: u8) -> Self {
        Blocks {
            file,
            text,
            block_bytes: block_bytes.max(1),
            scanner: Scanner::new(quote, delimiter),
            pending: Vec::new(),
            starts: Vec::new(),
            complete: 0,
            eof: false,
            failed: None,
            exhausted: false,
        }
    }

    /// Read up to `want` more bytes onto `pending` (unscanned); returns
    /// where they start.
    fn fill(&mut self, want: usize) -> usize {
        let before = self.pending.len();
        if self.eof || self.failed.is_some() {
            return before;
        }
        self.pending.reserve(want);
        match Read::by_ref(&mut self.text).take(want as u64).read_to_end(&mut self.pending) {
            // Fewer bytes than asked for: the text ended.
            Ok(got) => self.eof = got < want,
            // The bytes read before the error are in `pending` too.
            Err(e) => {
                self.failed = Some(
                    Diagnostic::runtime(format!("cannot read {} at line {}: {e}", self.file, self.scanner.line))
                        .hint("check that the file is readable")
                        .caused_by(e),
                )
            }
        }
        before
    }

    /// Scan `pending` from `from` on.
    fn scan_from(&mut self, from: usize) {
        let new = self.pending.get(from..).unwrap_or_default();
        if let Some(boundary) = self.scanner.scan(new, from, &mut self.starts) {
            self.complete = boundary;
        }
    }

    /// Drop a UTF-8 byte-order mark at the very start of the text, as the
    /// csv parser does: one more after the one `text_reader` removes, or a
    /// U+FEFF that GB18030 text starts with. Called once, first.
    pub(super) fn skip_bom(&mut self) {
        self.fill(UTF8_BOM.len());
        if self.pending.starts_with(UTF8_BOM) {
            self.pending.drain(..UTF8_BOM.len());
        }
        self.scan_from(0);
    }

    /// Read up to one more block onto `pending` and scan it.
    pub(super) fn read_block(&mut self) {
        let before = self.fill(self.block_bytes);
        self.scan_from(before);
        // A record still open after MAX_RECORD_BYTES stops the reading
        // (the records before it are kept): it is never a real export.
        if self.pending.len() - self.complete > MAX_RECORD_BYTES && self.failed.is_none() && !self.eof {
            let line = self.starts.iter().find(|s| s.offset >= self.complete).map_or(self.scanner.line, |s| s.line);
            let what = if self.scanner.in_open_quote() {
                format!("the quoted field starting on line {} is still open", self.scanner.quote_line)
            } else {
                format!("the record starting on line {line} has not ended")
            };
            self.failed = Some(
                Diagnostic::runtime(format!(
                    "{}: {what} after {} MiB: expected records of at most {} MiB",
                    self.file,
                    MAX_RECORD_BYTES >> 20,
                    MAX_RECORD_BYTES >> 20
                ))
                .hint("check the quotes and line breaks near that line; a quote inside a quoted field is written twice (\"\"), and a file that is not CSV is read with its own plugin"),
            );
        }
    }

    /// Take `pending[..cut]`, a record boundary, with the records starting in it.
    fn take(&mut self, cut: usize) -> Ready {
        let cut = cut.min(self.pending.len());
        let rest = self.pending.split_off(cut);
        let bytes = std::mem::replace(&mut self.pending, rest);
        let taken = self.starts.partition_point(|s| s.offset < cut);
        let starts: Vec<Start> = self.starts.drain(..taken).collect();
        for start in &mut self.starts {
            start.offset = start.offset.saturating_sub(cut);
        }
        self.complete = self.complete.saturating_sub(cut);
        Ready { bytes, starts, then: None }
    }

    /// Take what is left once the text can be read no further, with the
    /// error that ends it: a quoted field never closed replaces the last
    /// record; a failed read comes after the whole records.
    fn take_rest(&mut self) -> Ready {
        self.exhausted = true;
        if let Some(failed) = self.failed.take() {
            let mut ready = self.take(self.complete);
            ready.then = Some(failed);
            return ready;
        }
        let mut ready = self.take(self.pending.len());
        if self.scanner.in_open_quote() {
            if let Some(last) = ready.starts.pop() {
                ready.bytes.truncate(last.offset);
            }
            ready.then = Some(
                Diagnostic::runtime(format!(
                    "{}: the quoted field starting on line {} is never closed: expected a closing quote before the end of the file",
                    self.file, self.scanner.quote_line
                ))
                .hint("close the quote; a quote inside a quoted field is written twice (\"\")"),
            );
        }
        ready
    }

    /// The whole records read so far (reading blocks until there are some),
    /// or the rest at the end; `None` once everything was taken.
    pub(super) fn next_ready(&mut self) -> Option<Ready> {
        loop {
            if self.exhausted {
                return None;
            }
            if self.complete > 0 {
                let cut = self.complete;
                return Some(self.take(cut));
            }
            if self.eof || self.failed.is_some() {
                return Some(self.take_rest());
            }
            self.read_block();
        }
    }

    /// The first record alone (reading blocks until it is whole), or the rest
    /// when the text ends first; `None` once everything was taken.
    pub(super) fn first_record(&mut self) -> Option<Ready> {
        loop {
            if self.exhausted {
                return None;
            }
            if let Some(first) = self.starts.first()
                && self.complete > first.offset
            {
                // It ends where the second starts, or at the last boundary when that comes first.
                let cut = self.starts.get(1).map_or(self.complete, |second| second.offset.min(self.complete));
                return Some(self.take(cut));
            }
            if self.eof || self.failed.is_some() {
                return Some(self.take_rest());
            }
            self.read_block();
        }
    }
}
