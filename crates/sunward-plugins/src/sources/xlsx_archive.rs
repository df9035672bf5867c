//! Checks an `.xlsx` archive before its workbook is read.
//!
//! A workbook is a zip archive of XML parts. The reader (calamine) holds some
//! parts in memory whole — the shared strings, the styles, the workbook and
//! its relationships — and streams the sheet. A hostile or broken archive can
//! claim small parts that inflate to gigabytes (a zip bomb), lie about their
//! sizes, or hold one XML text of gigabytes that a streaming parser would
//! still buffer whole. So before reading, every XML part is inflated once
//! through a counter, holding nothing:
//! - the parts held in memory may unpack to at most [`HELD_BYTES`] together,
//!   by their stated sizes and by what they really inflate to;
//! - no XML part may hold a run of more than [`MAX_RECORD_BYTES`] without a
//!   tag (`<`): a cell holds at most 32,767 characters in Excel, so a longer
//!   run is never a real export;
//! - a part that inflates to more than it states is refused (a lying archive).
//!
//! Images and other binary parts are not inflated. The sheet itself is
//! streamed afterwards, so its size bounds time, not memory (`--timeout`
//! bounds time).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use sunward_core::{Diagnostic, MAX_RECORD_BYTES, Result};

/// The most the parts read whole (shared strings, styles, workbook,
/// relationships) may unpack to together: 512 MiB, room for the text of
/// several million distinct cells.
pub const HELD_BYTES: u64 = 512 << 20;

/// Whether calamine reads this part whole into memory.
fn held_whole(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "xl/sharedstrings.xml"
            | "xl/styles.xml"
            | "xl/workbook.xml"
            | "xl/_rels/workbook.xml.rels"
            | "[content_types].xml"
    )
}

/// Whether this part is XML text (parsed by the reader) rather than an image or a binary blob.
fn is_xml(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with(".xml") || name.ends_with(".rels")
}

/// Check the archive at `path` (shown as `label`) as described above.
pub fn check(path: &Path, label: &str) -> Result<()> {
    let damaged = |what: String| {
        Diagnostic::runtime(format!("cannot read the workbook {label}: {what}")).hint(
            "save the file again from Excel as .xlsx (Excel Workbook); a file from elsewhere may be damaged or crafted",
        )
    };
    let file = File::open(path).map_err(|e| Diagnostic::runtime(format!("cannot open {label}")).caused_by(e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| damaged(format!("it is not a readable zip archive ({e})")))?;
    let mut stated_held = 0u64;
    let mut parts = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| damaged(format!("entry {i} cannot be read ({e})")))?;
        if entry.is_dir() || !is_xml(entry.name()) {
            continue;
        }
        if held_whole(entry.name()) {
            stated_held = stated_held.saturating_add(entry.size());
        }
        parts.push((i, entry.name().to_string(), entry.size()));
    }
    if stated_held > HELD_BYTES {
        return Err(too_large(label, stated_held));
    }
    let mut held = 0u64;
    for (i, name, stated) in parts {
        let entry = zip.by_index(i).map_err(|e| damaged(format!("the part {name} cannot be read ({e})")))?;
        // One byte past the stated size is enough to know it lies.
        let mut scan = RunScan::default();
        let mut reader = entry.take(stated.saturating_add(1));
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => return Err(damaged(format!("the part {name} cannot be unpacked ({e})"))),
            };
            scan.feed(&buf[..n]);
            if scan.longest > MAX_RECORD_BYTES {
                return Err(damaged(format!(
                    "the part {name} holds a run of more than {} MiB of text without markup: expected cells of at most 32,767 characters",
                    MAX_RECORD_BYTES >> 20
                )));
            }
        }
        if scan.total > stated {
            return Err(damaged(format!("the part {name} unpacks to more than the {stated} bytes the archive states")));
        }
        if held_whole(&name) {
            held += scan.total;
            if held > HELD_BYTES {
                return Err(too_large(label, held));
            }
        }
    }
    Ok(())
}

fn too_large(label: &str, bytes: u64) -> Diagnostic {
    Diagnostic::runtime(format!(
        "the workbook {label} has shared strings and styles of {} MiB unpacked: expected at most {} MiB",
        bytes >> 20,
        HELD_BYTES >> 20
    ))
    .hint("export the sheet as CSV (plugin: csv), which is read as a stream")
}

/// Counts bytes and the longest run without a `<`.
#[derive(Default)]
struct RunScan {
    total: u64,
    run: usize,
    longest: usize,
}

impl RunScan {
    fn feed(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let mut rest = bytes;
        while let Some(at) = memchr::memchr(b'<', rest) {
            self.longest = self.longest.max(self.run + at);
            self.run = 0;
            rest = &rest[at + 1..];
        }
        self.run += rest.len();
        self.longest = self.longest.max(self.run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest run found by [`RunScan`] equals a direct count, however
    /// the text is cut into pieces.
    #[test]
    fn runs_are_measured_across_pieces() {
        let text: Vec<u8> = b"<a>12345</a><b>1234567890123</b>x<c/>".to_vec();
        let direct = text.split(|b| *b == b'<').map(<[u8]>::len).max().unwrap();
        for piece in 1..=text.len() {
            let mut scan = RunScan::default();
            for chunk in text.chunks(piece) {
                scan.feed(chunk);
            }
            assert_eq!((scan.longest, scan.total), (direct, text.len() as u64), "pieces of {piece}");
        }
    }
}
