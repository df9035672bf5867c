//! Which figure a count is: its unit, period and metric key.

/// Which figure: unit, period and metric key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    /// `school`, `org`, `district` or `all`.
    pub unit_type: String,
    /// The unit's id.
    pub unit_id: String,
    /// `2025`, `AY2024`, `AY2024-1`, …
    pub period: String,
    /// The metric key, e.g. `incidents`.
    pub key: String,
}

impl Identity {
    /// A figure's identity from its four parts.
    pub fn new(unit_type: &str, unit_id: &str, period: &str, key: &str) -> Identity {
        Identity {
            unit_type: unit_type.to_string(),
            unit_id: unit_id.to_string(),
            period: period.to_string(),
            key: key.to_string(),
        }
    }

    /// The same unit and period, another metric.
    pub fn sibling(&self, key: &str) -> Identity {
        Identity { key: key.to_string(), ..self.clone() }
    }

    /// The same unit and metric, another period.
    pub fn in_period(&self, period: &str) -> Identity {
        Identity { period: period.to_string(), ..self.clone() }
    }

    pub(super) fn unit(&self) -> (&str, &str) {
        (&self.unit_type, &self.unit_id)
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} {} in {}", self.key, self.unit_type, self.unit_id, self.period)
    }
}
