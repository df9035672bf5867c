//! The built-in plugins: sources for the formats people export (CSV, XLSX,
//! JSON lines, Parquet), the `sql` transform, sinks for the formats people
//! read (CSV, Parquet, JSON lines, XLSX, reports), and the statistics SQL
//! functions.
//!
//! They register through [`register`], exactly the path a third-party plugin
//! crate uses.

pub mod functions;
pub mod sinks;
pub mod sources;
pub mod transforms;

use sunward_core::Registry;

/// Register every built-in plugin.
pub fn register(registry: &mut Registry) {
    sources::register(registry);
    transforms::register(registry);
    sinks::register(registry);
    functions::register(registry);
}

/// A registry holding the built-in plugins.
pub fn builtin_registry() -> Registry {
    let mut registry = Registry::new();
    register(&mut registry);
    registry
}
