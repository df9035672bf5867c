//! Built-in sources: readers for the formats people export.
//!
//! Each reads a file into raw rows with their physical place; mapping, typing
//! and the data contract are applied by the engine for every source alike.

pub mod csv;
pub mod jsonl;
pub mod parquet;
pub mod xlsx;

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

/// What a file really is, judged by its first bytes, when it is not text.
pub(crate) fn sniff_binary(path: &Path) -> Result<Option<&'static str>> {
    let mut head = [0u8; 8];
    let mut file = open_file(path)?;
    let n = file
        .read(&mut head)
        .map_err(|e| Diagnostic::runtime(format!("cannot read {}", path.display())).caused_by(e))?;
    let head = &head[..n];
    Ok(if head.starts_with(b"PK\x03\x04") {
        Some("this is an Excel workbook (.xlsx), not a text file: use plugin: xlsx")
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Some("this is an old Excel .xls workbook: save it as .xlsx in Excel and use plugin: xlsx")
    } else if head.starts_with(b"PAR1") {
        Some("this is a Parquet file, not a text file: use plugin: parquet")
    } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        Some("this file is UTF-16 text: save it as UTF-8 (or GB18030) CSV")
    } else {
        None
    })
}
