//! What the rules decide for a table: each figure shown, shown as `<k`, or
//! withheld (`—`).

use std::collections::BTreeSet;

use super::identity::Identity;
use super::knowledge::Finding;

/// What the rules do with one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Shown.
    Shown,
    /// A small count: shown as `<k`.
    Small,
    /// Withheld so that a small count cannot be worked out: shown as `—`.
    Complement,
}

/// Which counts every public document of one metrics table withholds.
#[derive(Debug, Clone, Default)]
pub struct Pattern {
    /// The threshold: counts from 1 to k−1 are small.
    pub k: u64,
    /// Counts shown as `<k`.
    pub small: BTreeSet<Identity>,
    /// Counts shown as withheld (`—`): complements, and small counts whose
    /// `<k` would give them away.
    pub complements: BTreeSet<Identity>,
    /// Hidden counts a reader could still work out (none, unless the table
    /// leaves no count to withhold beside them).
    pub unresolved: Vec<Finding>,
}

impl Pattern {
    /// What the rules do with a count (or any figure: a figure the pattern
    /// does not hold is shown).
    pub fn status(&self, id: &Identity) -> Status {
        if self.small.contains(id) {
            Status::Small
        } else if self.complements.contains(id) {
            Status::Complement
        } else {
            Status::Shown
        }
    }

    /// Whether a count is withheld (small or complement).
    pub fn hides(&self, id: &Identity) -> bool {
        self.small.contains(id) || self.complements.contains(id)
    }
}
