//! Plugins with their types erased, as the registry holds them: a parsed
//! configuration is an [`AnyConfig`], and each kind of plugin is reached
//! through [`ErasedSource`], [`ErasedTransform`] or [`ErasedSink`] (a
//! [`PluginHandle`] holds any of them), which hand the configuration back
//! to the plugin that parsed it, typed again.

use super::context::{RunContext, StepContext};
use super::rows::RowReader;
use super::table::TableData;
use super::traits::{ConfigIssue, FilePart, Plugin, PluginInfo, PluginKind, Sink, Source, Transform};
use crate::diag::{Diagnostic, Result};
use async_trait::async_trait;
use datafusion::prelude::DataFrame;
use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;

/// A parsed plugin configuration, typed by the plugin that parsed it.
pub type AnyConfig = Arc<dyn Any + Send + Sync>;

/// Everything the registry needs from any plugin, with the types erased.
pub trait ErasedPlugin: Send + Sync {
    /// Name, description, example.
    fn info(&self) -> PluginInfo;
    /// Parse the entry's keys into the plugin's `Config`.
    fn parse(
        &self,
        value: serde_json::Value,
    ) -> std::result::Result<AnyConfig, serde_path_to_error::Error<serde_json::Error>>;
    /// [`Plugin::check`].
    fn check(&self, config: &AnyConfig) -> Vec<ConfigIssue>;
    /// The JSON Schema of the `Config`.
    fn schema(&self) -> serde_json::Value;
}

/// A registered source with its types erased.
pub trait ErasedSource: ErasedPlugin {
    /// [`Source::files`].
    fn files(&self, config: &AnyConfig, ctx: &RunContext) -> Result<Vec<PathBuf>>;
    /// [`Source::open`].
    fn open(&self, config: &AnyConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>>;
    /// [`Source::open_part`].
    fn open_part(&self, config: &AnyConfig, ctx: &RunContext, part: &FilePart) -> Result<Option<Box<dyn RowReader>>>;
}

/// A registered transform with its types erased.
#[async_trait]
pub trait ErasedTransform: ErasedPlugin {
    /// [`Transform::inputs`].
    fn inputs(&self, config: &AnyConfig) -> std::result::Result<Vec<String>, ConfigIssue>;
    /// [`Transform::run`].
    async fn run(&self, config: &AnyConfig, ctx: &StepContext<'_>) -> Result<DataFrame>;
}

/// A registered sink with its types erased.
pub trait ErasedSink: ErasedPlugin {
    /// [`Sink::inputs`].
    fn inputs(&self, config: &AnyConfig) -> Vec<String>;
    /// [`Sink::write`].
    fn write(&self, config: &AnyConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>>;
    /// [`Sink::streams`].
    fn streams(&self) -> bool;
    /// [`Sink::preflight`].
    fn preflight(&self, config: &AnyConfig, ctx: &RunContext) -> Vec<Diagnostic>;
    /// [`Sink::publishes`].
    fn publishes(&self, config: &AnyConfig, ctx: &RunContext) -> bool;
    /// [`Sink::per_row`].
    fn per_row(&self, config: &AnyConfig) -> Option<String>;
    /// [`Sink::preflight_rows`].
    fn preflight_rows(&self, config: &AnyConfig, ctx: &RunContext, table: &TableData) -> Vec<Diagnostic>;
    /// [`Sink::drafts`].
    fn drafts(&self, config: &AnyConfig, ctx: &RunContext, table: &TableData) -> Result<Vec<(PathBuf, String)>>;
}

/// A plugin of type `P`, behind the erased traits.
pub(super) struct Typed<P>(pub(super) P);

fn typed<P: Plugin>(config: &AnyConfig) -> &P::Config {
    config.downcast_ref::<P::Config>().expect("a configuration is only ever handed back to the plugin that parsed it")
}

impl<P: Plugin> ErasedPlugin for Typed<P> {
    fn info(&self) -> PluginInfo {
        P::INFO
    }
    fn parse(
        &self,
        value: serde_json::Value,
    ) -> std::result::Result<AnyConfig, serde_path_to_error::Error<serde_json::Error>> {
        let config: P::Config = serde_path_to_error::deserialize(value)?;
        Ok(Arc::new(config))
    }
    fn check(&self, config: &AnyConfig) -> Vec<ConfigIssue> {
        self.0.check(typed::<P>(config))
    }
    fn schema(&self) -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(P::Config)).unwrap_or_default()
    }
}

impl<S: Source> ErasedSource for Typed<S> {
    fn files(&self, config: &AnyConfig, ctx: &RunContext) -> Result<Vec<PathBuf>> {
        self.0.files(typed::<S>(config), ctx)
    }
    fn open(&self, config: &AnyConfig, ctx: &RunContext) -> Result<Box<dyn RowReader>> {
        self.0.open(typed::<S>(config), ctx)
    }
    fn open_part(&self, config: &AnyConfig, ctx: &RunContext, part: &FilePart) -> Result<Option<Box<dyn RowReader>>> {
        self.0.open_part(typed::<S>(config), ctx, part)
    }
}

#[async_trait]
impl<T: Transform> ErasedTransform for Typed<T> {
    fn inputs(&self, config: &AnyConfig) -> std::result::Result<Vec<String>, ConfigIssue> {
        self.0.inputs(typed::<T>(config))
    }
    async fn run(&self, config: &AnyConfig, ctx: &StepContext<'_>) -> Result<DataFrame> {
        self.0.run(typed::<T>(config), ctx).await
    }
}

impl<S: Sink> ErasedSink for Typed<S> {
    fn inputs(&self, config: &AnyConfig) -> Vec<String> {
        self.0.inputs(typed::<S>(config))
    }
    fn write(&self, config: &AnyConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>> {
        self.0.write(typed::<S>(config), tables, ctx)
    }
    fn streams(&self) -> bool {
        self.0.streams()
    }
    fn preflight(&self, config: &AnyConfig, ctx: &RunContext) -> Vec<Diagnostic> {
        self.0.preflight(typed::<S>(config), ctx)
    }
    fn publishes(&self, config: &AnyConfig, ctx: &RunContext) -> bool {
        self.0.publishes(typed::<S>(config), ctx)
    }
    fn per_row(&self, config: &AnyConfig) -> Option<String> {
        self.0.per_row(typed::<S>(config))
    }
    fn preflight_rows(&self, config: &AnyConfig, ctx: &RunContext, table: &TableData) -> Vec<Diagnostic> {
        self.0.preflight_rows(typed::<S>(config), ctx, table)
    }
    fn drafts(&self, config: &AnyConfig, ctx: &RunContext, table: &TableData) -> Result<Vec<(PathBuf, String)>> {
        self.0.drafts(typed::<S>(config), ctx, table)
    }
}

/// A registered plugin of any kind.
#[derive(Clone)]
pub enum PluginHandle {
    /// A source.
    Source(Arc<dyn ErasedSource>),
    /// A transform.
    Transform(Arc<dyn ErasedTransform>),
    /// A sink.
    Sink(Arc<dyn ErasedSink>),
}

impl PluginHandle {
    /// The common part.
    pub fn plugin(&self) -> &dyn ErasedPlugin {
        match self {
            PluginHandle::Source(p) => p.as_ref(),
            PluginHandle::Transform(p) => p.as_ref(),
            PluginHandle::Sink(p) => p.as_ref(),
        }
    }
    /// Its kind.
    pub fn kind(&self) -> PluginKind {
        match self {
            PluginHandle::Source(_) => PluginKind::Source,
            PluginHandle::Transform(_) => PluginKind::Transform,
            PluginHandle::Sink(_) => PluginKind::Sink,
        }
    }
}
