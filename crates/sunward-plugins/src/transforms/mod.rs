//! Built-in transforms (being written).

use sunward_core::Registry;

/// Register the built-in transforms.
pub fn register(_registry: &mut Registry) {}
