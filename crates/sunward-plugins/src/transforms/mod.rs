//! Built-in transforms: steps that make a table from other tables.

pub mod pseudonymise;
pub mod sql;

use sunward_core::Registry;

/// Register the built-in transforms.
pub fn register(registry: &mut Registry) {
    registry.add_transform(sql::SqlTransform);
    registry.add_transform(pseudonymise::PseudonymiseTransform);
}
