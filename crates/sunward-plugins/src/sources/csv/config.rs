//! The settings of a `csv` source: the file, its delimiter and quote, and
//! its text encoding.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::sources::Encoding;

/// Settings of a `csv` source.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// The file; `${param}` is replaced, and a relative path is relative to the pipeline's folder.
    pub path: String,
    /// The field separator, one character (default `,`; `"\t"` for tab-separated files).
    #[serde(default = "comma")]
    pub delimiter: char,
    /// The quote character (default `"`).
    #[serde(default = "double_quote")]
    pub quote: char,
    /// `utf-8` (default), `gb18030` or `gbk` (files saved by Excel in a Chinese locale).
    #[serde(default)]
    pub encoding: Encoding,
}

fn comma() -> char {
    ','
}
fn double_quote() -> char {
    '"'
}
