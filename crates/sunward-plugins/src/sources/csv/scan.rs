//! The sequential pass over the text ([`Scanner`]): it follows csv_core's
//! state machine to find where each record starts and on which physical
//! line, where the text may be cut between records, and whether it ends
//! inside a quoted field — skipping the runs of bytes that change nothing
//! eight at a time ([`find`]).

/// Where the scan is, as csv_core's parser would be after the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between records: line breaks here are skipped.
    RecordStart,
    /// At the first byte of a field (after a delimiter, or a record's first byte).
    FieldStart,
    /// Inside a field that did not open with a quote.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Inside a quoted field, just after a quote: it closes the field, or is the first of a doubled pair.
    QuoteInQuoted,
}

/// A record's first byte, as an offset into the bytes it is read from, and its physical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Start {
    pub(super) offset: usize,
    pub(super) line: u64,
}

/// One sequential pass over the text, tracking what the csv crate does not
/// report: the physical line where each record starts, where records may be
/// cut apart, and whether the file ends inside a quoted field.
///
/// [`Scanner::step`] mirrors csv_core's transitions byte by byte (default
/// dialect, no escape or comment byte, `\r`, `\n` or `\r\n` as a terminator),
/// testing in the same order. [`Scanner::scan`] calls it on the bytes that can
/// change something and skips the runs in between: inside quotes, everything
/// but a quote or `\n`; outside, everything but a quote or a line break (a
/// delimiter there only decides whether a following quote opens a field,
/// which the byte before that quote tells).
#[derive(Debug)]
pub(super) struct Scanner {
    quote: u8,
    delimiter: u8,
    /// The quote, the delimiter and the line breaks are four different bytes,
    /// so runs can be skipped (else every byte is stepped through).
    skips: bool,
    state: State,
    /// The physical line of the next byte (1-based).
    pub(super) line: u64,
    /// The line where the last quoted field opened.
    pub(super) quote_line: u64,
}

impl Scanner {
    /// A scan at the start of the text, for this quote and delimiter.
    pub(super) fn new(quote: u8, delimiter: u8) -> Self {
        let breaks = [b'\n', b'\r'];
        let skips = quote != delimiter && !breaks.contains(&quote) && !breaks.contains(&delimiter);
        Scanner { quote, delimiter, skips, state: State::RecordStart, line: 1, quote_line: 1 }
    }

    /// Follow `bytes`, which come right after every byte scanned before and
    /// sit at offset `base` of their buffer: push each record start onto
    /// `starts`, and return the offset just after the last record boundary
    /// among them, if any.
    pub(super) fn scan(&mut self, bytes: &[u8], base: usize, starts: &mut Vec<Start>) -> Option<usize> {
        let (quote, delimiter) = (self.quote, self.delimiter);
        let mut boundary = None;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if self.skips {
                let rest = bytes.get(i..).unwrap_or_default();
                let skipped = match self.state {
                    State::Quoted => find(rest, [quote, b'\n']),
                    State::FieldStart | State::Unquoted => {
                        let k = find(rest, [quote, b'\n', b'\r']);
                        // Only delimiters and field text were skipped: the last of them says where we are.
                        if let Some(&last) = k.checked_sub(1).and_then(|last| rest.get(last)) {
                            self.state = if last == delimiter { State::FieldStart } else { State::Unquoted };
                        }
                        k
                    }
                    _ => 0,
                };
                if skipped > 0 {
                    i += skipped;
                    continue;
                }
            }
            if self.step(b, base + i, starts) {
                boundary = Some(base + i + 1);
            }
            i += 1;
        }
        boundary
    }

    /// Follow one byte at `offset`; true when a record boundary follows it.
    fn step(&mut self, b: u8, offset: usize, starts: &mut Vec<Start>) -> bool {
        let is_break = b == b'\n' || b == b'\r';
        if self.state == State::RecordStart && !is_break {
            starts.push(Start { offset, line: self.line });
            self.state = State::FieldStart;
        }
        self.state = match self.state {
            // An empty line, or the `\n` of a `\r\n`: skipped.
            State::RecordStart => State::RecordStart,
            State::FieldStart => {
                if b == self.quote {
                    self.quote_line = self.line;
                    State::Quoted
                } else {
                    self.outside_quotes(b, is_break)
                }
            }
            State::Unquoted => self.outside_quotes(b, is_break),
            State::Quoted if b == self.quote => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            // A doubled quote is a quote; a single one closed the field and `b` follows it.
            State::QuoteInQuoted if b == self.quote => State::Quoted,
            State::QuoteInQuoted => self.outside_quotes(b, is_break),
        };
        if b == b'\n' {
            self.line += 1;
        }
        is_break && self.state == State::RecordStart
    }

    /// The state after `b` in a field, outside quotes.
    fn outside_quotes(&self, b: u8, is_break: bool) -> State {
        if b == self.delimiter {
            State::FieldStart
        } else if is_break {
            State::RecordStart
        } else {
            State::Unquoted
        }
    }

    /// The text so far ends inside a quoted field.
    pub(super) fn in_open_quote(&self) -> bool {
        self.state == State::Quoted
    }
}

/// How many bytes at the start of `bytes` are none of `targets` (all of
/// them if none is). Eight bytes are tested at a time: in a word where each
/// byte equal to a target is zero, the lowest byte whose top bit survives
/// `(w - 0x01…) & !w & 0x80…` is the first zero byte.
fn find<const N: usize>(bytes: &[u8], targets: [u8; N]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut skipped = 0;
    for word in &mut words {
        let Ok(word) = <[u8; 8]>::try_from(word) else { break };
        let word = u64::from_le_bytes(word);
        let hits = targets.iter().fold(0, |hits, &t| {
            let zeroed = word ^ (ONES * u64::from(t));
            hits | (zeroed.wrapping_sub(ONES) & !zeroed & TOPS)
        });
        if hits != 0 {
            return skipped + (hits.trailing_zeros() / 8) as usize;
        }
        skipped += 8;
    }
    let tail = bytes.get(skipped..).unwrap_or_default();
    skipped + tail.iter().position(|b| targets.contains(b)).unwrap_or(tail.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Scan `bytes` cut at `cuts`: the starts, the boundary each call
    /// returned, and where the scan ends.
    fn scan_in_parts(bytes: &[u8], cuts: &[usize], scanner: &mut Scanner) -> (Vec<Start>, Vec<Option<usize>>) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let (mut starts, mut boundaries, mut from) = (Vec::new(), Vec::new(), 0);
        for to in cuts {
            boundaries.push(scanner.scan(&bytes[from..to], from, &mut starts));
            from = to;
        }
        (starts, boundaries)
    }

    proptest! {
        /// Skipping runs gives what stepping through every byte gives.
        #[test]
        fn skipping_runs_changes_nothing(
            bytes in proptest::collection::vec(proptest::sample::select(b"ab,;\"'\r\n \xE5".to_vec()), 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            (quote, delimiter) in proptest::sample::select(vec![(b'"', b','), (b'\'', b';'), (b'"', b'a')]),
        ) {
            let mut skipping = Scanner::new(quote, delimiter);
            let mut stepping = Scanner::new(quote, delimiter);
            stepping.skips = false;
            prop_assert!(skipping.skips);
            let skipped = scan_in_parts(&bytes, &cuts, &mut skipping);
            let stepped = scan_in_parts(&bytes, &cuts, &mut stepping);
            prop_assert_eq!(skipped, stepped);
            prop_assert_eq!(
                (skipping.state, skipping.line, skipping.quote_line),
                (stepping.state, stepping.line, stepping.quote_line)
            );
        }
    }

    #[test]
    fn find_gives_the_first_target() {
        let bytes = b"0123456789abcdefghij\"klmnopqrstuvwxyz\n";
        for from in 0..bytes.len() {
            let rest = &bytes[from..];
            let expected = rest.iter().position(|&b| b == b'"' || b == b'\n').unwrap_or(rest.len());
            assert_eq!(find(rest, [b'"', b'\n']), expected, "from {from}");
        }
        assert_eq!(find(b"", [b'"']), 0);
        assert_eq!(find(&[0xFF; 17], [b'"', 0xFE]), 17);
        assert_eq!(find(b"\x00\x01\x80\xFF\x7F\x22", [b'"']), 5);
    }

    #[test]
    fn odd_dialects_step_through_every_byte() {
        assert!(!Scanner::new(b'\n', b',').skips);
        assert!(!Scanner::new(b'"', b'"').skips);
        assert!(!Scanner::new(b'"', b'\r').skips);
        // A quote that is a line break: csv_core skips it between records and opens a field with it after a delimiter.
        let mut scanner = Scanner::new(b'\n', b',');
        let mut starts = Vec::new();
        scanner.scan(b"\na,\nb\n\nc", 0, &mut starts);
        assert_eq!(starts, [Start { offset: 1, line: 2 }]);
        // The break after `,` opens a quoted field; the two after `b` are a doubled quote: still open.
        assert_eq!((scanner.state, scanner.line, scanner.quote_line), (State::Quoted, 5, 2));
    }
}
