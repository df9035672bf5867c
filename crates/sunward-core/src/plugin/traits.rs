//! What a plugin is: its kind and description ([`PluginKind`],
//! [`PluginInfo`]), its typed configuration and the checks of it
//! ([`Plugin`], [`ConfigIssue`]), and the traits a source, a transform or a
//! sink implements ([`Source`], [`Transform`], [`Sink`]), with the part of
//! a file a source may be asked to read ([`FilePart`]).

use super::context::{RunContext, StepContext};
use super::rows::RowReader;
use super::table::TableData;
use crate::diag::{Diagnostic, Result};
use crate::yaml::PathPart;
use async_trait::async_trait;
use datafusion::prelude::DataFrame;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use std::fmt;
use std::path::PathBuf;

/// What a plugin does in a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginKind {
    /// Reads an export into a table (`sources:`).
    Source,
    /// Makes a table from other tables (`steps:`).
    Transform,
    /// Writes tables to files (`outputs:`).
    Sink,
}

impl PluginKind {
    /// The pipeline section whose entries use this kind.
    pub fn section(self) -> &'static str {
        match self {
            PluginKind::Source => "sources",
            PluginKind::Transform => "steps",
            PluginKind::Sink => "outputs",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::Source => "source",
            PluginKind::Transform => "transform",
            PluginKind::Sink => "sink",
        })
    }
}

/// A plugin's name, description and example, shown by `sunward plugins`.
#[derive(Debug, Clone, Copy)]
pub struct PluginInfo {
    /// The `plugin:` value in a pipeline.
    pub name: &'static str,
    /// One sentence on what it does.
    pub description: &'static str,
    /// A YAML example of a whole entry (a mapping with `plugin:`); tests parse it.
    pub example: &'static str,
}

/// A problem in a plugin's configuration found by [`Plugin::check`].
#[derive(Debug, Clone)]
pub struct ConfigIssue {
    /// The field it concerns, as a path inside the entry (empty: the entry).
    pub path: Vec<PathPart>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

impl ConfigIssue {
    /// An issue about the top-level field `field` of the entry.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ConfigIssue { path: vec![PathPart::Key(field.to_string())], message: message.into(), hint: None }
    }
    /// Add a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// What every plugin has: a typed configuration and a description.
pub trait Plugin: Send + Sync + 'static {
    /// The entry's settings. Derive `Deserialize` with
    /// `#[serde(deny_unknown_fields)]` and `JsonSchema`, and document every
    /// field: the doc comments are the user documentation.
    type Config: DeserializeOwned + JsonSchema + Send + Sync + 'static;
    /// Name, description and example.
    const INFO: PluginInfo;
    /// Checks beyond what the types say, without I/O. Defaults to none.
    fn check(&self, _config: &Self::Config) -> Vec<ConfigIssue> {
        Vec::new()
    }
}

/// A source: reads an export into raw rows.
pub trait Source: Plugin {
    /// The files it reads (checked for existence before a run, hashed in the manifest).
    fn files(&self, config: &Self::Config, ctx: &RunContext) -> Result<Vec<PathBuf>>;
    /// Open the export for reading. Fails when the file cannot be read at all,
    /// with a message naming the file and the cause.
    fn open(&self, config: &Self::Config, ctx: &RunContext) -> Result<Box<dyn RowReader>>;
    /// Open one part of the export, so that several workers can read one
    /// large file side by side: the records that start in `part`'s byte
    /// range of the file, numbered (lines, records) as [`Source::open`]
    /// numbers them. `None` (the default) when the format cannot be read in
    /// parts; then the export is read whole.
    fn open_part(
        &self,
        config: &Self::Config,
        ctx: &RunContext,
        part: &FilePart,
    ) -> Result<Option<Box<dyn RowReader>>> {
        let _ = (config, ctx, part);
        Ok(None)
    }
}

/// A byte range of a source's (single) file that one worker reads:
/// `start..end`, cut anywhere. A reader of the part takes the records that
/// begin in the range (a text file's first whole line at or after `start`;
/// a Parquet file's row groups whose data begins in it), so the parts of
/// `0..len` together hold every record once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilePart {
    /// The part's number, from 0, and how many parts the file is cut into.
    pub index: usize,
    /// How many parts the file is cut into.
    pub count: usize,
    /// The first byte of the range.
    pub start: u64,
    /// The byte after the range.
    pub end: u64,
}

impl FilePart {
    /// `count` parts of about equal size cutting a file of `len` bytes.
    pub fn cut(len: u64, count: usize) -> Vec<FilePart> {
        let count = count.max(1);
        let step = len.div_ceil(count as u64).max(1);
        (0..count)
            .map(|index| FilePart {
                index,
                count,
                start: (index as u64 * step).min(len),
                end: ((index as u64 + 1) * step).min(len),
            })
            .collect()
    }
}

/// A transform: makes a new table from tables already in the session.
#[async_trait]
pub trait Transform: Plugin {
    /// The names of the tables it reads (they decide the order of execution).
    fn inputs(&self, config: &Self::Config) -> std::result::Result<Vec<String>, ConfigIssue>;
    /// The (lazy) result. Validation calls this on empty tables of the right
    /// schemas to learn the output schema, so it must not depend on the data.
    async fn run(&self, config: &Self::Config, ctx: &StepContext<'_>) -> Result<DataFrame>;
}

/// A sink: writes tables to files.
pub trait Sink: Plugin {
    /// The names of the tables it writes.
    fn inputs(&self, config: &Self::Config) -> Vec<String>;
    /// Write them (atomically: see [`crate::atomic`]) and return the files written.
    fn write(&self, config: &Self::Config, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>>;
    /// Whether `write` reads its tables with [`TableData::iter`], batch by
    /// batch, so that a table too large for memory can be handed over on disk
    /// (`TableData::file`). Defaults to false: every table arrives in `batches`.
    fn streams(&self) -> bool {
        false
    }
    /// What it reads besides its tables (a template, a catalogue), checked
    /// before anything runs: every problem, each a diagnostic with its file
    /// and place. Defaults to none.
    fn preflight(&self, _config: &Self::Config, _ctx: &RunContext) -> Vec<Diagnostic> {
        Vec::new()
    }
    /// Whether what it writes is published (a public report): such an
    /// output may not read a table marked `internal: true`. Defaults to
    /// false (data files are working files for the people who run the
    /// pipeline).
    fn publishes(&self, _config: &Self::Config, _ctx: &RunContext) -> bool {
        false
    }
    /// The table it writes one document for each row of (a report's
    /// `for_each`), if any. Before anything runs, that table is computed
    /// from what it rests on and handed to [`Sink::preflight_rows`].
    fn per_row(&self, _config: &Self::Config) -> Option<String> {
        None
    }
    /// What it needs for each row of that table (a report's text per
    /// unit), checked before anything runs: every problem at once. Defaults
    /// to none.
    fn preflight_rows(&self, _config: &Self::Config, _ctx: &RunContext, _table: &TableData) -> Vec<Diagnostic> {
        Vec::new()
    }
    /// First drafts of what a person writes for each row of that table and
    /// has not yet (a report's texts), as file and content, for `sunward
    /// init --texts`. Defaults to none.
    fn drafts(&self, _config: &Self::Config, _ctx: &RunContext, _table: &TableData) -> Result<Vec<(PathBuf, String)>> {
        Ok(Vec::new())
    }
}
