//! The CSV source reads in parallel chunks cut at record boundaries; it must
//! give exactly what a plain serial reading gives.
//!
//! The serial reference below is the reader as it was before chunking: one
//! `csv::Reader` over the whole stream, with a byte observer tracking each
//! record's starting line and an open quote at the end (with one fix: a
//! second byte-order mark at the start, which csv_core drops, is not taken
//! for text by the observer either). Generated files —
//! quotes, doubled quotes, delimiters and line breaks inside quotes, CRLF, LF
//! and lone CR, blank and white-space lines, short and long rows, invalid
//! UTF-8, non-ASCII text, unterminated quotes, in UTF-8 and GB18030 — are read
//! both ways, the chunked one with blocks as small as one byte (so every
//! record boundary, and every place that is not one, is a block edge), by
//! batches, by rows and by both in turn. The records, their lines, which of
//! them are given as rows, and the error text must all agree.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use proptest::prelude::*;
use std::path::Path;
use sunward_core::{FilePart, Places, RAW_BATCH_ROWS, RawBatch, RawCell, RawRow, RowPlace};
use sunward_plugins::sources::Encoding;
use sunward_plugins::sources::csv::{CsvConfig, open_csv_part, open_csv_with_block_size};

/// What a reader yields, in order.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    /// A record: its starting line, its cells (`None`: empty) and whether it
    /// has another number of fields than the header.
    Record { line: u64, cells: Vec<Option<String>>, irregular: bool },
    /// The error that ends the reading, as displayed.
    Error(String),
}

/// Headers and events, or the error opening the file.
type Outcome = Result<(Vec<String>, Vec<Event>), String>;

fn config(path: &Path, delimiter: char, quote: char, encoding: Encoding) -> CsvConfig {
    CsvConfig { path: path.display().to_string(), delimiter, quote, encoding }
}

fn cell(c: &RawCell) -> Option<String> {
    match c {
        RawCell::Empty => None,
        RawCell::Text(s) => Some(s.clone()),
        other => panic!("a CSV cell is text or empty, not {other:?}"),
    }
}

fn row_event(row: &RawRow, width: usize) -> Event {
    let RowPlace::Line(line) = row.place else { panic!("a CSV row has a line, not {:?}", row.place) };
    assert!(row.malformed.is_none());
    Event::Record { line, cells: row.cells.iter().map(cell).collect(), irregular: row.cells.len() != width }
}

/// The events of one batch, checking its shape on the way.
fn batch_events(batch: &RawBatch, width: usize, out: &mut Vec<Event>) {
    assert!(batch.len > 0, "no empty batch");
    assert!(batch.len <= RAW_BATCH_ROWS, "a batch holds at most {RAW_BATCH_ROWS} records");
    let Places::Lines(lines) = &batch.places else { panic!("a CSV batch has lines") };
    assert_eq!(lines.len(), batch.len);
    assert_eq!(batch.columns.len(), width);
    for column in &batch.columns {
        assert_eq!(column.data_type(), &DataType::Utf8);
        assert_eq!(column.len(), batch.len);
    }
    assert!(batch.rows.windows(2).all(|w| w[0].0 < w[1].0), "rows in ascending slot order");
    let mut rows = batch.rows.iter().peekable();
    for (slot, &line) in lines.iter().enumerate() {
        if let Some((_, row)) = rows.next_if(|(s, _)| *s == slot) {
            assert_eq!(row.place, RowPlace::Line(line), "a row's place is its slot's line");
            assert_ne!(row.cells.len(), width, "only a record with another number of fields is a row");
            out.push(row_event(row, width));
        } else {
            let cells = batch
                .columns
                .iter()
                .map(|c| c.as_string::<i32>())
                .map(|c| c.is_valid(slot).then(|| c.value(slot).to_string()))
                .collect::<Vec<_>>();
            assert!(cells.iter().all(|c| c.as_deref() != Some("")), "an empty field is null");
            out.push(Event::Record { line, cells, irregular: false });
        }
    }
    assert!(rows.next().is_none(), "every row is at a slot of the batch");
}

/// How the chunked reader is driven.
#[derive(Debug, Clone, Copy)]
enum Drive {
    Batches,
    Rows,
    /// `next_row` and `next_batch` in turn, by a pattern.
    Mixed(u32),
}

fn chunked(path: &Path, config: &CsvConfig, block_bytes: usize, drive: Drive) -> Outcome {
    let mut reader = open_csv_with_block_size(path, config, block_bytes).map_err(|e| e.to_string())?;
    let headers = reader.headers().to_vec();
    let width = headers.len();
    let mut events = Vec::new();
    for call in 0u32.. {
        let by_row = match drive {
            Drive::Batches => false,
            Drive::Rows => true,
            Drive::Mixed(pattern) => pattern >> (call % 32) & 1 == 1,
        };
        let failed = if by_row {
            match reader.next_row() {
                None => break,
                Some(Ok(row)) => {
                    events.push(row_event(&row, width));
                    false
                }
                Some(Err(e)) => {
                    events.push(Event::Error(e.to_string()));
                    true
                }
            }
        } else {
            match reader.next_batch() {
                None => break,
                Some(Ok(batch)) => {
                    batch_events(&batch, width, &mut events);
                    false
                }
                Some(Err(e)) => {
                    events.push(Event::Error(e.to_string()));
                    true
                }
            }
        };
        if failed {
            assert!(reader.next_batch().is_none(), "nothing comes after an error");
            assert!(reader.next_row().is_none(), "nothing comes after an error");
            break;
        }
    }
    Ok((headers, events))
}

/// The reader before chunking, kept as the reference: one csv::Reader over
/// the whole stream, record by record.
mod serial {
    use super::Event;
    use std::collections::VecDeque;
    use std::io::Read;
    use std::path::Path;
    use sunward_core::{Diagnostic, Result};
    use sunward_plugins::sources::Encoding;
    use sunward_plugins::sources::csv::CsvConfig;

    const NOT_UTF8_HINT: &str = "set encoding: gb18030 if the file was saved by Excel in a Chinese locale";

    fn text_reader(path: &Path, encoding: Encoding) -> Box<dyn Read + Send> {
        let file = std::fs::File::open(path).unwrap();
        let mut builder = encoding_rs_io::DecodeReaderBytesBuilder::new();
        builder.strip_bom(true).bom_sniffing(true);
        match encoding {
            Encoding::Utf8 => builder.encoding(None).utf8_passthru(true),
            Encoding::Gb18030 | Encoding::Gbk => builder.encoding(Some(encoding_rs::GB18030)).bom_override(true),
        };
        Box::new(builder.build(std::io::BufReader::new(file)))
    }

    /// Follows the bytes on their way to the parser (csv_core's quoting rules).
    struct Watched<R> {
        inner: R,
        quote: u8,
        delimiter: u8,
        line: u64,
        in_quote: bool,
        pending_quote: bool,
        at_field_start: bool,
        at_record_start: bool,
        quote_line: u64,
        starts: VecDeque<u64>,
        eof: bool,
        /// No byte has been read yet.
        first: bool,
    }

    impl<R> Watched<R> {
        fn observe(&mut self, b: u8) {
            let is_break = b == b'\n' || b == b'\r';
            if self.in_quote {
                if self.pending_quote {
                    self.pending_quote = false;
                    if b != self.quote {
                        self.in_quote = false;
                    }
                } else if b == self.quote {
                    self.pending_quote = true;
                }
            }
            if !self.in_quote {
                if self.at_record_start && !is_break {
                    self.starts.push_back(self.line);
                    self.at_record_start = false;
                }
                if b == self.quote && self.at_field_start {
                    self.in_quote = true;
                    self.quote_line = self.line;
                    self.at_field_start = false;
                } else if is_break {
                    self.at_field_start = true;
                    self.at_record_start = true;
                } else {
                    self.at_field_start = b == self.delimiter;
                }
            }
            if b == b'\n' {
                self.line += 1;
            }
        }
    }

    impl<R: Read> Read for Watched<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            if n == 0 && !buf.is_empty() {
                self.eof = true;
            }
            // The one fix to the old observer: csv_core drops a byte-order mark
            // at the start of its first input (one more after the one the
            // decoder removes), so it is not part of the first record here
            // either. The old observer took it for field text, and a quote
            // right after it then shifted every line after.
            let skip = if std::mem::take(&mut self.first) && buf[..n].starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
            for &b in &buf[skip..n] {
                self.observe(b);
            }
            Ok(n)
        }
    }

    struct Rows {
        file: String,
        headers: Vec<String>,
        reader: csv::Reader<Watched<Box<dyn Read + Send>>>,
        record: csv::ByteRecord,
    }

    impl Rows {
        fn read_raw(&mut self) -> Result<Option<u64>> {
            let more = self.reader.read_byte_record(&mut self.record).map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                Diagnostic::runtime(format!("cannot read {} at line {line}: {e}", self.file))
            })?;
            if !more {
                return Ok(None);
            }
            let watched = self.reader.get_mut();
            let line = watched.starts.pop_front().expect("the observer saw the record start");
            if watched.eof && watched.in_quote && !watched.pending_quote {
                return Err(Diagnostic::runtime(format!(
                    "{}: the quoted field starting on line {} is never closed: expected a closing quote before the end of the file",
                    self.file, watched.quote_line
                ))
                .hint("close the quote; a quote inside a quoted field is written twice (\"\")"));
            }
            let mut line_of_field = line;
            for (index, field) in self.record.iter().enumerate() {
                match std::str::from_utf8(field) {
                    Ok(_) => line_of_field += field.iter().filter(|&&b| b == b'\n').count() as u64,
                    Err(e) => {
                        let bad_line =
                            line_of_field + field[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64;
                        let column = match self.headers.get(index) {
                            Some(name) => format!("column \"{name}\""),
                            None => format!("column {}", index + 1),
                        };
                        return Err(Diagnostic::runtime(format!(
                            "{} is not valid UTF-8 at line {bad_line}, {column}: expected UTF-8 text",
                            self.file
                        ))
                        .hint(NOT_UTF8_HINT));
                    }
                }
            }
            Ok(Some(line))
        }

        fn fields(&self) -> Vec<String> {
            self.record.iter().map(|f| String::from_utf8(f.to_vec()).unwrap()).collect()
        }
    }

    /// Why a file is refused before any reading, from its first bytes: another
    /// format's magic number or a UTF-16 byte-order mark (then the decoder would
    /// turn the bytes into UTF-16 text instead).
    fn refusal(path: &Path) -> Option<String> {
        let bytes = std::fs::read(path).unwrap();
        let refused = [
            (
                &b"PK\x03\x04"[..],
                "this is an Excel workbook (.xlsx), not CSV: use plugin: xlsx; point `plugin:` at the format the file really is",
            ),
            (
                &[0xD0, 0xCF, 0x11, 0xE0][..],
                "this is an old Excel workbook (.xls), not CSV; open it in Excel, save it as .xlsx and use plugin: xlsx",
            ),
            (
                &b"PAR1"[..],
                "this is a Parquet file, not CSV: use plugin: parquet; point `plugin:` at the format the file really is",
            ),
            (&[0xFF, 0xFE][..], UTF16),
            (&[0xFE, 0xFF][..], UTF16),
        ];
        refused.iter().find(|(magic, _)| bytes.starts_with(magic)).map(|(_, why)| why.to_string())
    }

    const UTF16: &str = "this file is UTF-16 text (it starts with a UTF-16 byte-order mark), not CSV; save it again as UTF-8 (or GB18030) text";

    /// Headers and every event, or the error opening the file.
    pub fn read(path: &Path, config: &CsvConfig) -> super::Outcome {
        let file = path.display().to_string();
        if let Some(refusal) = refusal(path) {
            return Err(format!("cannot read {file} as CSV: {refusal}"));
        }
        let watched = Watched {
            inner: text_reader(path, config.encoding),
            quote: config.quote as u8,
            delimiter: config.delimiter as u8,
            line: 1,
            in_quote: false,
            pending_quote: false,
            at_field_start: true,
            at_record_start: true,
            quote_line: 1,
            starts: VecDeque::new(),
            eof: false,
            first: true,
        };
        let reader = csv::ReaderBuilder::new()
            .delimiter(config.delimiter as u8)
            .quote(config.quote as u8)
            .has_headers(false)
            .flexible(true)
            .from_reader(watched);
        let mut rows = Rows { file: file.clone(), headers: Vec::new(), reader, record: csv::ByteRecord::new() };
        let headers: Vec<String> = match rows.read_raw().map_err(|e| e.to_string())? {
            None => Vec::new(),
            Some(_) => rows
                .fields()
                .iter()
                .map(|f| f.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').to_string())
                .collect(),
        };
        if headers.iter().all(String::is_empty) {
            return Err(Diagnostic::runtime(format!("the file {file} is empty: expected a header line"))
                .hint("export the table with its header row on line 1")
                .to_string());
        }
        rows.headers = headers.clone();
        let width = headers.len();
        let mut events = Vec::new();
        loop {
            match rows.read_raw() {
                Ok(None) => break,
                Ok(Some(line)) => {
                    let fields = rows.fields();
                    if fields.len() == 1 && width > 1 && fields[0].trim().is_empty() {
                        continue;
                    }
                    let irregular = fields.len() != width;
                    let cells = fields.into_iter().map(|f| (!f.is_empty()).then_some(f)).collect();
                    events.push(Event::Record { line, cells, irregular });
                }
                Err(e) => {
                    events.push(Event::Error(e.to_string()));
                    break;
                }
            }
        }
        Ok((headers, events))
    }
}

// ---- generated files ----

/// A piece of a generated file, written with the file's delimiter and quote.
#[derive(Debug, Clone)]
enum Piece {
    Text(&'static str),
    Delimiter,
    Quote,
    Lf,
    CrLf,
    Cr,
    /// Bytes that are not UTF-8 (and not all of them GB18030 either).
    Bad(&'static [u8]),
}

fn text_piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "S1", "007", "x y", "生命教育", "é", "𠮷", "学校", "—"]).prop_map(Piece::Text),
        1 => prop::sample::select(vec![" ", "  ", "\t", "\u{3000}", "\u{feff}"]).prop_map(Piece::Text),
        1 => prop::sample::select(vec![&[0xFFu8][..], &[0xC3], &[0x80], &[0xE5, 0xAD], &[0x81]]).prop_map(Piece::Bad),
    ]
}

fn line_break() -> impl Strategy<Value = Piece> {
    prop_oneof![3 => Just(Piece::Lf), 2 => Just(Piece::CrLf), 1 => Just(Piece::Cr)]
}

/// A field: plain, quoted (holding anything, quotes doubled), or left open.
fn field() -> impl Strategy<Value = Vec<Piece>> {
    let inside = prop_oneof![
        4 => text_piece().prop_map(|p| vec![p]),
        1 => Just(vec![Piece::Delimiter]),
        1 => Just(vec![Piece::Quote, Piece::Quote]),
        1 => line_break().prop_map(|p| vec![p]),
    ];
    prop_oneof![
        4 => prop::collection::vec(text_piece(), 0..3),
        3 => prop::collection::vec(inside, 0..4).prop_map(|inside| {
            let mut f = vec![Piece::Quote];
            f.extend(inside.into_iter().flatten());
            f.push(Piece::Quote);
            f
        }),
        // A quote inside an unquoted field, or text after a closing quote.
        1 => (text_piece(), text_piece()).prop_map(|(a, b)| vec![a, Piece::Quote, b]),
        1 => (text_piece(), text_piece()).prop_map(|(a, b)| vec![Piece::Quote, a, Piece::Quote, b]),
        // A lone quote: it opens a field that may never close.
        1 => Just(vec![Piece::Quote]),
    ]
}

/// A line: a record of 0..6 fields, or a blank or white-space line, with its line break.
fn line() -> impl Strategy<Value = Vec<Piece>> {
    let record = prop::collection::vec(field(), 1..6).prop_map(|fields| {
        let mut line = Vec::new();
        for (i, f) in fields.into_iter().enumerate() {
            if i > 0 {
                line.push(Piece::Delimiter);
            }
            line.extend(f);
        }
        line
    });
    let blank = prop::sample::select(vec!["", " ", "  \t", "\u{3000}"]).prop_map(|s| vec![Piece::Text(s)]);
    (prop_oneof![6 => record, 1 => blank], line_break()).prop_map(|(mut line, end)| {
        line.push(end);
        line
    })
}

/// A whole file: a header (usual, one column or generated), lines, and an
/// ending with or without a line break.
fn file() -> impl Strategy<Value = Vec<Piece>> {
    let header = prop_oneof![
        3 => Just(vec![Piece::Text("a"), Piece::Delimiter, Piece::Text("b"), Piece::Delimiter, Piece::Text("学校"), Piece::Lf]),
        1 => Just(vec![Piece::Text("only"), Piece::CrLf]),
        1 => line(),
    ];
    (header, prop::collection::vec(line(), 0..12), any::<bool>()).prop_map(|(header, lines, drop_last_break)| {
        let mut pieces: Vec<Piece> = header.into_iter().chain(lines.into_iter().flatten()).collect();
        if drop_last_break && matches!(pieces.last(), Some(Piece::Lf | Piece::CrLf | Piece::Cr)) {
            pieces.pop();
        }
        pieces
    })
}

/// The file's bytes: UTF-8, or GB18030 for `gb18030` (bad bytes stay as they are).
fn render(pieces: &[Piece], delimiter: char, quote: char, gb18030: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let text = |s: &str, out: &mut Vec<u8>| {
        if gb18030 {
            out.extend_from_slice(&encoding_rs::GB18030.encode(s).0);
        } else {
            out.extend_from_slice(s.as_bytes());
        }
    };
    for p in pieces {
        match p {
            Piece::Text(s) => text(s, &mut out),
            Piece::Delimiter => text(&delimiter.to_string(), &mut out),
            Piece::Quote => text(&quote.to_string(), &mut out),
            Piece::Lf => out.push(b'\n'),
            Piece::CrLf => out.extend_from_slice(b"\r\n"),
            Piece::Cr => out.push(b'\r'),
            Piece::Bad(bytes) => out.extend_from_slice(bytes),
        }
    }
    out
}

const BLOCKS: [usize; 9] = [1, 2, 3, 5, 7, 13, 64, 4096, 8 << 20];

/// Read `bytes` both ways, with every block size and way of driving the reader.
fn assert_same_as_serial(bytes: &[u8], delimiter: char, quote: char, encoding: Encoding, pattern: u32) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.csv");
    std::fs::write(&path, bytes).unwrap();
    let config = config(&path, delimiter, quote, encoding);
    let expected = serial::read(&path, &config);
    for block in BLOCKS {
        for drive in [Drive::Batches, Drive::Rows, Drive::Mixed(pattern)] {
            let got = chunked(&path, &config, block, drive);
            assert_eq!(got, expected, "block of {block} bytes, {drive:?}, file {:?}", String::from_utf8_lossy(bytes));
        }
    }
}

/// Read `bytes` in `count` parts (each with blocks of `block` bytes) and
/// check them against the whole reading: when no part fails, the parts'
/// records in turn are the whole file's, with the same lines and header;
/// a part fails only when the whole reading fails too or a line break lies
/// inside quotes (the cut that the part before it reports).
fn assert_parts_read_as_whole(bytes: &[u8], delimiter: char, quote: char, count: usize, block: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.csv");
    std::fs::write(&path, bytes).unwrap();
    let config = config(&path, delimiter, quote, Encoding::Utf8);
    let whole = chunked(&path, &config, 8 << 20, Drive::Batches);
    let mut headers = None;
    let mut events = Vec::new();
    let mut failed = None;
    for part in FilePart::cut(bytes.len() as u64, count) {
        let mut reader = match open_csv_part(&path, &config, &part, block) {
            Ok(reader) => reader.expect("a UTF-8 file is read in parts"),
            Err(e) => {
                failed = Some(e.to_string());
                break;
            }
        };
        let width = reader.headers().len();
        headers.get_or_insert_with(|| reader.headers().to_vec());
        assert_eq!(headers.as_deref(), Some(reader.headers()), "every part has the file's header");
        while let Some(batch) = reader.next_batch() {
            match batch {
                Ok(batch) => batch_events(&batch, width, &mut events),
                Err(e) => failed = Some(e.to_string()),
            }
        }
        if failed.is_some() {
            break;
        }
    }
    let shown = String::from_utf8_lossy(bytes);
    match (failed, whole) {
        (None, Ok((whole_headers, whole_events))) => {
            assert_eq!(headers.unwrap_or_default(), whole_headers, "file {shown:?}");
            assert_eq!(events, whole_events, "{count} parts, blocks of {block}, file {shown:?}");
        }
        (None, Err(e)) => panic!("the whole file fails ({e}) but its parts do not: {shown:?}"),
        (Some(e), whole) => {
            let broken_whole = match &whole {
                Err(_) => true,
                Ok((_, events)) => events.iter().any(|e| matches!(e, Event::Error(_))),
            };
            let quoted_break = bytes.contains(&(quote as u8)) && bytes.contains(&b'\n');
            assert!(broken_whole || quoted_break, "a part fails ({e}) on a file read whole without error: {shown:?}");
        }
    }
}

fn dialect() -> impl Strategy<Value = (char, char)> {
    prop::sample::select(vec![(',', '"'), (';', '"'), ('\t', '\''), ('|', '"')])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Structured files (records of plain, quoted and broken fields) in UTF-8.
    #[test]
    fn chunked_utf8_reads_as_serial(pieces in file(), (delimiter, quote) in dialect(), bom in any::<bool>(), pattern in any::<u32>()) {
        let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        bytes.extend(render(&pieces, delimiter, quote, false));
        assert_same_as_serial(&bytes, delimiter, quote, Encoding::Utf8, pattern);
    }

    /// The same files read in parts, as several workers read one large file.
    #[test]
    fn parts_read_as_the_whole(pieces in file(), (delimiter, quote) in dialect(), bom in any::<bool>(), count in 1usize..7, block in prop::sample::select(vec![1usize, 7, 64, 8 << 20])) {
        let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        bytes.extend(render(&pieces, delimiter, quote, false));
        assert_parts_read_as_whole(&bytes, delimiter, quote, count, block);
    }

    /// The same files encoded in GB18030, read with `encoding: gb18030`.
    #[test]
    fn chunked_gb18030_reads_as_serial(pieces in file(), (delimiter, quote) in dialect(), pattern in any::<u32>()) {
        let bytes = render(&pieces, delimiter, quote, true);
        assert_same_as_serial(&bytes, delimiter, quote, Encoding::Gb18030, pattern);
    }

    /// Byte soup over the bytes that matter to the parser.
    #[test]
    fn chunked_byte_soup_reads_as_serial(
        bytes in prop::collection::vec(prop_oneof![
            3 => Just(b'a'), 2 => Just(b','), 2 => Just(b'"'), 2 => Just(b'\n'), 1 => Just(b'\r'), 1 => Just(b' '),
            1 => Just(0xFFu8), 1 => Just(0xE5u8), 1 => Just(0xADu8), 1 => Just(0x81u8), 1 => any::<u8>(),
        ], 0..200),
        gb in any::<bool>(),
        pattern in any::<u32>(),
    ) {
        // A file starting with a UTF-16 byte-order mark is refused before reading, the same either way.
        let encoding = if gb { Encoding::Gb18030 } else { Encoding::Utf8 };
        assert_same_as_serial(&bytes, ',', '"', encoding, pattern);
    }
}

// ---- examples ----

#[test]
fn boundaries_inside_quotes_are_not_boundaries() {
    // Every byte is a block edge with a block of one byte.
    let file = "a,b\r\n1,\"x\r\n\r\ny\"\r\n\r\n \r\n2,\"\"\"\n\"\n3\r4,\"\"\n";
    assert_same_as_serial(file.as_bytes(), ',', '"', Encoding::Utf8, 0x5555_5555);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.csv");
    std::fs::write(&path, file).unwrap();
    let (_, events) = chunked(&path, &config(&path, ',', '"', Encoding::Utf8), 1, Drive::Batches).unwrap();
    let record = |line, cells: &[&str], irregular| Event::Record {
        line,
        cells: cells.iter().map(|c| (!c.is_empty()).then(|| c.to_string())).collect(),
        irregular,
    };
    assert_eq!(
        events,
        [
            record(2, &["1", "x\r\n\r\ny"], false),
            record(7, &["2", "\"\n"], false),
            record(9, &["3"], true),
            record(9, &["4", ""], false),
        ]
    );
}

#[test]
fn unterminated_quote_and_bad_utf8_come_after_the_records_before_them() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.csv");
    std::fs::write(&path, "学校,主题\r\nS1,团体\r\nS2,\"生命教育\r\nS3,情绪\r\n").unwrap();
    let config_ = config(&path, ',', '"', Encoding::Utf8);
    let (_, events) = chunked(&path, &config_, 2, Drive::Batches).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1],
        Event::Error(format!(
            "{}: the quoted field starting on line 3 is never closed: expected a closing quote before the end of the file; close the quote; a quote inside a quoted field is written twice (\"\")",
            path.display()
        ))
    );
    std::fs::write(&path, b"id,note\n1,ok\n2,\"a\nb\xFFc\"\n3,x\n").unwrap();
    let (_, events) = chunked(&path, &config_, 3, Drive::Rows).unwrap();
    assert_eq!(events.len(), 2);
    let Event::Error(text) = &events[1] else { panic!("{events:?}") };
    assert!(text.contains("is not valid UTF-8 at line 4, column \"note\""), "{text}");
}

#[test]
fn a_record_longer_than_the_block_grows_it() {
    let long = "长".repeat(30_000);
    let file = format!("a,b\n1,\"{long}\n{long}\"\n2,{long}\n3,x");
    assert_same_as_serial(file.as_bytes(), ',', '"', Encoding::Utf8, 0xF0F0_F0F0);
}

#[test]
fn many_records_make_full_batches_in_order() {
    // 30,000 records over blocks of 64 KiB: many blocks, several pieces in each.
    let mut file = String::from("id,name,note\n");
    for i in 0..30_000 {
        match i % 7 {
            0 => file.push_str(&format!("{i},\"multi\nline {i}\",\n")),
            1 => file.push_str(&format!("{i}\r\n")),
            2 => file.push_str("\n  \n"),
            _ => file.push_str(&format!("{i},名字{i},\"q\"\"{i}\"\n")),
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.csv");
    std::fs::write(&path, &file).unwrap();
    let config = config(&path, ',', '"', Encoding::Utf8);
    let expected = serial::read(&path, &config).unwrap();
    for block in [64 << 10, 8 << 20] {
        let mut reader = open_csv_with_block_size(&path, &config, block).unwrap();
        let mut events = Vec::new();
        let mut batches = 0;
        while let Some(batch) = reader.next_batch() {
            batch_events(&batch.unwrap(), 3, &mut events);
            batches += 1;
        }
        assert_eq!(events, expected.1, "block of {block} bytes");
        assert!(batches >= 4, "{batches} batches");
    }
}

#[test]
fn a_second_byte_order_mark_is_dropped_as_csv_core_drops_it() {
    // The decoder removes the first mark and csv_core the second; the quote
    // after them opens a quoted header field holding a line break.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.csv");
    std::fs::write(&path, b"\xEF\xBB\xBF\xEF\xBB\xBF\"a\nb\",c\n1,2\n\xEF\xBB\xBF3,4\n").unwrap();
    let config = config(&path, ',', '"', Encoding::Utf8);
    for block in [1, 2, 3, 4, 64] {
        let (headers, events) = chunked(&path, &config, block, Drive::Batches).unwrap();
        assert_eq!(headers, ["a\nb", "c"]);
        assert_eq!(
            events,
            [
                Event::Record { line: 3, cells: vec![Some("1".into()), Some("2".into())], irregular: false },
                Event::Record { line: 4, cells: vec![Some("\u{feff}3".into()), Some("4".into())], irregular: false },
            ],
            "a mark at the start of a later record is text; block of {block} bytes"
        );
    }
    assert_same_as_serial(&std::fs::read(&path).unwrap(), ',', '"', Encoding::Utf8, 0);
}

#[test]
fn cases_the_properties_found() {
    // GB18030 decoded into fewer than four bytes at a time lost text (a lead
    // byte at the end here, a U+FEFF below), before the decoder was always
    // given a large buffer.
    assert_same_as_serial(&[b'\n', b'a', 0xE5], ',', '"', Encoding::Gb18030, 0);
    let pieces = "a,b,学校\n\u{feff}\n";
    assert_same_as_serial(&encoding_rs::GB18030.encode(pieces).0, ',', '"', Encoding::Gb18030, 0);
    // A record starting with U+FEFF keeps it, though csv_core drops a mark
    // at the start of its input.
    assert_same_as_serial(pieces.as_bytes(), ',', '"', Encoding::Utf8, 0);
    // A quote left open on the last line, right after a closed one.
    assert_same_as_serial(b"\"a\"\n\"", ',', '"', Encoding::Utf8, 0);
}

#[test]
fn files_refused_by_their_first_bytes_are_refused_the_same_way() {
    // Found by the byte soup on a CI run: a file starting 0xFF 0xFE is
    // refused as UTF-16 by the source, which the reference did not do.
    for (bytes, says) in [
        (&b"\xFF\xFE"[..], "UTF-16"),
        (&b"\xFE\xFFa,b\n"[..], "UTF-16"),
        (&b"\xFF\xFEa,b\n1,2\n"[..], "UTF-16"),
        (&b"PK\x03\x04rest"[..], "Excel workbook"),
        (&b"\xD0\xCF\x11\xE0rest"[..], "old Excel"),
        (&b"PAR1rest"[..], "Parquet"),
    ] {
        for encoding in [Encoding::Utf8, Encoding::Gb18030] {
            assert_same_as_serial(bytes, ',', '"', encoding, 0);
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("f.csv");
            std::fs::write(&path, bytes).unwrap();
            let err = chunked(&path, &config(&path, ',', '"', encoding), 64, Drive::Batches).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }
}

#[test]
fn parts_cut_anywhere_give_every_record_once_with_its_line() {
    let mut file = String::from("\u{feff}id,name,note\r\n");
    for i in 0..2_000 {
        match i % 5 {
            0 => file.push_str(&format!("{i},名字{i},\"q\"\"{i}\"\r\n")),
            1 => file.push('\n'),
            2 => file.push_str(&format!("{i}\n")),
            _ => file.push_str(&format!("{i},n{i},x\n")),
        }
    }
    for count in [1, 2, 3, 8, 64, 500] {
        assert_parts_read_as_whole(file.as_bytes(), ',', '"', count, 4096);
    }
    // A quoted line break where a part begins: the part before it says so.
    let quoted = format!("a,b\n{}1,\"x\ny\"\n2,z\n", "0,0\n".repeat(10));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.csv");
    std::fs::write(&path, &quoted).unwrap();
    let config = config(&path, ',', '"', Encoding::Utf8);
    let cut = quoted.find("y\"").unwrap() as u64;
    let first = FilePart { index: 0, count: 2, start: 0, end: cut };
    let mut reader = open_csv_part(&path, &config, &first, 64).unwrap().unwrap();
    let mut errors = Vec::new();
    while let Some(batch) = reader.next_batch() {
        if let Err(e) = batch {
            errors.push(e.to_string());
        }
    }
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("never closed"), "{errors:?}");
    // Text in another encoding is not read in parts.
    let gb = CsvConfig { encoding: Encoding::Gb18030, ..config };
    assert!(open_csv_part(&path, &gb, &first, 64).unwrap().is_none());
}
