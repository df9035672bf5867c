//! Built-in sources: readers for the formats people export.
//!
//! Each reads a file into raw rows with their physical place; mapping, typing
//! and the data contract are applied by the engine for every source alike.

pub mod csv;
pub mod jsonl;
pub mod parquet;
pub mod xlsx;
mod xlsx_archive;

use std::fs::File;
use std::io::Read;
use std::path::Path;
use sunward_core::{Diagnostic, Registry, Result};

/// Register the built-in sources.
pub fn register(registry: &mut Registry) {
    registry
        .add_source(csv::CsvSource)
        .add_source(xlsx::XlsxSource)
        .add_source(jsonl::JsonlSource)
        .add_source(parquet::ParquetSource);
}

/// The text encoding of a text export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
pub enum Encoding {
    /// UTF-8 (a byte-order mark is skipped).
    #[default]
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    /// GB18030, as Excel in a Chinese locale saves CSV (a superset of GBK and GB2312).
    #[serde(rename = "gb18030", alias = "GB18030")]
    Gb18030,
    /// GBK (read as GB18030, its superset).
    #[serde(rename = "gbk", alias = "GBK", alias = "gb2312")]
    Gbk,
}

/// Open `path`, explaining why not when it cannot be opened.
pub(crate) fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "check the path; relative paths resolve against the pipeline's folder"
        } else {
            "check that the file is readable"
        };
        Diagnostic::runtime(format!("cannot open {}: {e}", path.display())).hint(hint).caused_by(e)
    })
}

/// A non-text format recognised by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Magic {
    /// A zip container: an `.xlsx` workbook.
    Xlsx,
    /// An OLE compound file: an old `.xls` workbook.
    Xls,
    /// A Parquet file.
    Parquet,
    /// UTF-16 text (either byte order).
    Utf16,
}

impl Magic {
    /// Why the file cannot be read as `format` (e.g. "CSV"), and what to use instead.
    pub(crate) fn explain(self, format: &str) -> String {
        match self {
            Magic::Xlsx => format!("this is an Excel workbook (.xlsx), not {format}: use plugin: xlsx"),
            Magic::Xls => format!("this is an old Excel workbook (.xls), not {format}"),
            Magic::Parquet => format!("this is a Parquet file, not {format}: use plugin: parquet"),
            Magic::Utf16 => format!("this file is UTF-16 text (it starts with a UTF-16 byte-order mark), not {format}"),
        }
    }

    /// What to do about it.
    pub(crate) fn hint(self) -> &'static str {
        match self {
            Magic::Xlsx => "point `plugin:` at the format the file really is",
            Magic::Xls => "open it in Excel, save it as .xlsx and use plugin: xlsx",
            Magic::Parquet => "point `plugin:` at the format the file really is",
            Magic::Utf16 => "save it again as UTF-8 (or GB18030) text",
        }
    }

    /// The diagnostic for reading `path` as `format` when it is this.
    pub(crate) fn refuse(self, path: &Path, format: &str) -> Diagnostic {
        Diagnostic::runtime(format!("cannot read {} as {format}: {}", path.display(), self.explain(format)))
            .hint(self.hint())
    }
}

/// What a file really is, judged by its first bytes, when it is not text.
pub(crate) fn sniff(path: &Path) -> Result<Option<Magic>> {
    let mut head = [0u8; 4];
    let mut file = open_file(path)?;
    let mut n = 0;
    while n < head.len() {
        let got = file.read(&mut head[n..]).map_err(|e| {
            Diagnostic::runtime(format!("cannot read {}: {e}", path.display()))
                .hint("check that the file is readable")
                .caused_by(e)
        })?;
        if got == 0 {
            break;
        }
        n += got;
    }
    let head = &head[..n];
    Ok(if head.starts_with(b"PK\x03\x04") {
        Some(Magic::Xlsx)
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Some(Magic::Xls)
    } else if head.starts_with(b"PAR1") {
        Some(Magic::Parquet)
    } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        Some(Magic::Utf16)
    } else {
        None
    })
}

/// A text file opened for reading in `encoding`, decoded as it is read.
///
/// UTF-8 passes through unchanged (so invalid bytes can be reported with
/// their line); GB18030/GBK is decoded to UTF-8. A UTF-8 byte-order mark is
/// removed in every case.
pub(crate) fn text_reader(path: &Path, encoding: Encoding) -> Result<Box<dyn Read + Send>> {
    Ok(decoded(open_file(path)?, encoding))
}

/// Text read from `raw` bytes in `encoding`, as [`text_reader`] reads a file.
pub(crate) fn decoded(raw: impl Read + Send + 'static, encoding: Encoding) -> Box<dyn Read + Send> {
    let mut builder = encoding_rs_io::DecodeReaderBytesBuilder::new();
    builder.strip_bom(true).bom_sniffing(true);
    match encoding {
        // No explicit encoding: bytes pass through untouched, a UTF-8 BOM is dropped.
        Encoding::Utf8 => builder.encoding(None).utf8_passthru(true),
        // A UTF-8 BOM still wins over the setting.
        Encoding::Gb18030 | Encoding::Gbk => builder.encoding(Some(encoding_rs::GB18030)).bom_override(true),
    };
    Box::new(builder.build(std::io::BufReader::new(raw)))
}

/// The hint for text that is not UTF-8.
pub(crate) const NOT_UTF8_HINT: &str = "set encoding: gb18030 if the file was saved by Excel in a Chinese locale";

/// Run `f`, turning a panic into an error without printing it (the
/// process's panic message is kept for every other thread and call).
/// The file parsers (calamine, parquet) panic on some damaged files; a
/// reader calls them through this and reports the file as damaged.
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    thread_local! {
        static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result
}
