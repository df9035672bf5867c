//! Built-in sources (being written).

use sunward_core::Registry;

/// Register the built-in sources.
pub fn register(_registry: &mut Registry) {}
