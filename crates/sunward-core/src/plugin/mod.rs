//! Plugins: the traits a source, a transform or a sink implements, and the
//! [`Registry`] that holds them by name.
//!
//! A plugin is a value implementing [`Plugin`] (its typed `Config` and its
//! [`PluginInfo`]) plus one of [`Source`], [`Transform`] or [`Sink`] — each with
//! two required methods. Built-in plugins and third-party ones register through
//! the same call, `registry.add_source(MySource)` and friends, from a crate's
//! `pub fn register(registry: &mut Registry)`.
//!
//! Sources only read: they turn a file into [`RawRow`]s of [`RawCell`]s with
//! their physical place. Header and value mapping, date parsing, the data
//! contract and bad-row handling are applied by the engine for every source, so
//! a new export format gets them for free.
//!
//! The parts: `traits` (what a plugin implements), `rows` (what a source
//! reads), `context` (what a plugin sees at run time), `table` (what a sink
//! is handed), `erased` (plugins as the registry holds them) and
//! `registry`. Everything is used through this module's re-exports.

mod context;
mod erased;
mod registry;
mod rows;
mod table;
mod traits;

pub use context::{RunContext, StepContext, confine};
pub use erased::{AnyConfig, ErasedPlugin, ErasedSink, ErasedSource, ErasedTransform, PluginHandle};
pub use registry::{FunctionInfo, Functions, Registry};
pub use rows::{
    MAX_COLUMNS, MAX_RECORD_BYTES, Places, RAW_BATCH_ROWS, RawBatch, RawCell, RawRow, RowPlace, RowReader,
    cell_of_array,
};
pub use table::TableData;
pub use traits::{ConfigIssue, FilePart, Plugin, PluginInfo, PluginKind, Sink, Source, Transform};
