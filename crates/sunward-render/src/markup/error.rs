//! The error the markup parser returns: a message and the line of the
//! markup it is about.

/// A mistake in report markup, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkupError {
    /// The line of the markup (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for MarkupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for MarkupError {}
