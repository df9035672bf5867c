//! Built-in sinks (being written).

use sunward_core::Registry;

/// Register the built-in sinks.
pub fn register(_registry: &mut Registry) {}
