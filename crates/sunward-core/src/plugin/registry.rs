//! The [`Registry`]: every plugin a `sunward` binary knows, by kind and
//! name, and the SQL functions its plugins add ([`Functions`], described
//! for `sunward plugins` as [`FunctionInfo`]).

use super::erased::{PluginHandle, Typed};
use super::traits::{PluginKind, Sink, Source, Transform};
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{AggregateUDF, Documentation, ScalarUDF, Signature, TypeSignature, WindowUDF};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The SQL functions a registry adds to every session: scalar, aggregate
/// and window functions (DataFusion's `ScalarUDF`, `AggregateUDF`,
/// `WindowUDF`), by name.
#[derive(Debug, Clone, Default)]
pub struct Functions {
    /// Scalar functions, by name.
    pub scalar: BTreeMap<String, Arc<ScalarUDF>>,
    /// Aggregate functions, by name.
    pub aggregate: BTreeMap<String, Arc<AggregateUDF>>,
    /// Window functions, by name.
    pub window: BTreeMap<String, Arc<WindowUDF>>,
}

impl Functions {
    /// Registers every function in a session.
    pub fn register(&self, ctx: &SessionContext) {
        for f in self.scalar.values() {
            ctx.register_udf(f.as_ref().clone());
        }
        for f in self.aggregate.values() {
            ctx.register_udaf(f.as_ref().clone());
        }
        for f in self.window.values() {
            ctx.register_udwf(f.as_ref().clone());
        }
    }

    /// Every function, described for `sunward plugins --kind function`, sorted by name.
    pub fn describe(&self) -> Vec<FunctionInfo> {
        let mut out: Vec<FunctionInfo> = Vec::new();
        for f in self.scalar.values() {
            out.push(FunctionInfo::new(f.name(), "scalar", f.signature(), f.documentation()));
        }
        for f in self.aggregate.values() {
            out.push(FunctionInfo::new(f.name(), "aggregate", f.signature(), f.documentation()));
        }
        for f in self.window.values() {
            out.push(FunctionInfo::new(f.name(), "window", f.signature(), f.documentation()));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// A SQL function as `sunward plugins` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionInfo {
    /// Its name in SQL.
    pub name: String,
    /// `scalar`, `aggregate` or `window`.
    pub kind: &'static str,
    /// How it is called, e.g. `poisson_ci_low(Float64) -> Float64` or the
    /// documentation's syntax example.
    pub signature: String,
    /// What it computes.
    pub description: String,
}

impl FunctionInfo {
    fn new(name: &str, kind: &'static str, signature: &Signature, doc: Option<&Documentation>) -> FunctionInfo {
        let args = match &signature.type_signature {
            TypeSignature::Exact(types) => types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
            TypeSignature::Uniform(n, types) => {
                let one = types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" | ");
                vec![one; *n].join(", ")
            }
            TypeSignature::Nullary => String::new(),
            other => format!("{other:?}"),
        };
        FunctionInfo {
            name: name.to_string(),
            kind,
            signature: doc.map(|d| d.syntax_example.clone()).unwrap_or_else(|| format!("{name}({args})")),
            description: doc.map(|d| d.description.clone()).unwrap_or_default(),
        }
    }
}

/// Every plugin a `sunward` binary knows, by kind and name, and the SQL
/// functions its plugins add.
#[derive(Clone, Default)]
pub struct Registry {
    plugins: BTreeMap<(PluginKind, &'static str), PluginHandle>,
    functions: Functions,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
    fn insert(&mut self, kind: PluginKind, name: &'static str, handle: PluginHandle) {
        self.plugins.insert((kind, name), handle);
    }
    /// Register a source (replacing one of the same name).
    pub fn add_source<S: Source>(&mut self, source: S) -> &mut Self {
        self.insert(PluginKind::Source, S::INFO.name, PluginHandle::Source(Arc::new(Typed(source))));
        self
    }
    /// Register a transform (replacing one of the same name).
    pub fn add_transform<T: Transform>(&mut self, transform: T) -> &mut Self {
        self.insert(PluginKind::Transform, T::INFO.name, PluginHandle::Transform(Arc::new(Typed(transform))));
        self
    }
    /// Register a sink (replacing one of the same name).
    pub fn add_sink<S: Sink>(&mut self, sink: S) -> &mut Self {
        self.insert(PluginKind::Sink, S::INFO.name, PluginHandle::Sink(Arc::new(Typed(sink))));
        self
    }
    /// Register a scalar SQL function (replacing one of the same name): every
    /// session of a run, and a cluster's scheduler and executors, know it.
    pub fn add_scalar_function(&mut self, function: ScalarUDF) -> &mut Self {
        self.functions.scalar.insert(function.name().to_string(), Arc::new(function));
        self
    }
    /// Register an aggregate SQL function (replacing one of the same name).
    pub fn add_aggregate_function(&mut self, function: AggregateUDF) -> &mut Self {
        self.functions.aggregate.insert(function.name().to_string(), Arc::new(function));
        self
    }
    /// Register a window SQL function (replacing one of the same name).
    pub fn add_window_function(&mut self, function: WindowUDF) -> &mut Self {
        self.functions.window.insert(function.name().to_string(), Arc::new(function));
        self
    }
    /// The SQL functions registered.
    pub fn functions(&self) -> &Functions {
        &self.functions
    }
    /// The plugin of that kind and name.
    pub fn get(&self, kind: PluginKind, name: &str) -> Option<&PluginHandle> {
        self.plugins.iter().find(|((k, n), _)| *k == kind && *n == name).map(|(_, h)| h)
    }
    /// The names of every plugin of a kind, sorted.
    pub fn names(&self, kind: PluginKind) -> Vec<&'static str> {
        self.plugins.keys().filter(|(k, _)| *k == kind).map(|(_, n)| *n).collect()
    }
    /// Every plugin, by kind then name.
    pub fn iter(&self) -> impl Iterator<Item = &PluginHandle> {
        self.plugins.values()
    }
}
