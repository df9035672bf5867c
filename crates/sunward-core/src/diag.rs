//! Diagnostics: the one error type of Sunward.
//!
//! Every problem a user can cause — a pipeline mistake, an unreadable file, a row
//! that breaks the data contract, a failed query — becomes a [`Diagnostic`]: a
//! kind (which decides the exit code), a lowercase message naming the thing, the
//! place (file:line:column, optionally the pipeline path such as `steps.by_school`),
//! a hint, and the underlying cause. [`Diagnostic::render`] prints it with the
//! offending line and a caret when the source text is at hand.

use std::fmt;
use std::sync::Arc;

/// What class of failure a diagnostic reports; decides the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// The pipeline file or the command line is wrong (exit code 2).
    Invalid,
    /// An input file cannot be read at all, or a query or write failed (exit code 1).
    Runtime,
    /// A source rejected more rows than its `max_rejected` allows (exit code 3).
    TooManyRejects,
    /// A data check of severity `error` failed (exit code 4).
    CheckFailed,
    /// Not an error: something the user should know (never fails a run).
    Warning,
}

impl ErrorKind {
    /// The documented process exit code for this kind of failure.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Warning => 0,
            ErrorKind::Runtime => 1,
            ErrorKind::Invalid => 2,
            ErrorKind::TooManyRejects => 3,
            ErrorKind::CheckFailed => 4,
        }
    }
}

/// A position in a text file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem, with everything a person needs to fix it.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// The failure class.
    pub kind: ErrorKind,
    /// What is wrong, lowercase, naming the thing.
    pub message: String,
    /// Where in a text file, when known.
    pub location: Option<Location>,
    /// Where in the pipeline (`steps.by_school`, `sources.services.encoding`), when known.
    pub context: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
    /// The underlying cause.
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// Shorthand for results whose error is a [`Diagnostic`].
pub type Result<T, E = Diagnostic> = std::result::Result<T, E>;

impl Diagnostic {
    /// A new diagnostic of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Diagnostic { kind, message: message.into(), location: None, context: None, hint: None, source: None }
    }
    /// A pipeline or usage error (exit code 2).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    /// A failure while running (exit code 1).
    pub fn runtime(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Runtime, message)
    }
    /// A warning: reported, never fatal.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Warning, message)
    }
    /// Attach a location.
    pub fn at(mut self, location: Option<Location>) -> Self {
        if location.is_some() {
            self.location = location;
        }
        self
    }
    /// Attach the pipeline path (`steps.by_school`).
    pub fn in_context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }
    /// Attach a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Attach the underlying cause.
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
    /// Whether this diagnostic fails a run (anything but a warning).
    pub fn is_error(&self) -> bool {
        self.kind != ErrorKind::Warning
    }

    /// Render for a terminal: the message, the place, the offending line with a
    /// caret when `source_text` (the whole file the location points into) is
    /// given, the hint and the chain of causes.
    pub fn render(&self, source_text: Option<&str>) -> String {
        let mut out = String::new();
        let label = if self.is_error() { "error" } else { "warning" };
        out.push_str(&format!("{label}: {}\n", self.message));
        match (&self.location, &self.context) {
            (Some(loc), Some(ctx)) => out.push_str(&format!("  --> {loc} ({ctx})\n")),
            (Some(loc), None) => out.push_str(&format!("  --> {loc}\n")),
            (None, Some(ctx)) => out.push_str(&format!("  --> {ctx}\n")),
            (None, None) => {}
        }
        if let (Some(loc), Some(text)) = (&self.location, source_text)
            && let Some(line_text) = text.lines().nth(loc.line.saturating_sub(1))
        {
            let number = loc.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_pad: String = line_text
                .chars()
                .take(loc.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{pad} |\n{number} | {line_text}\n{pad} | {caret_pad}^\n"));
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("  = hint: {hint}\n"));
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> =
            self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(err) = cause {
            out.push_str(&format!("  = cause: {err}\n"));
            cause = err.source();
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        match (&self.location, &self.context) {
            (Some(loc), Some(ctx)) => write!(f, " ({loc}, {ctx})")?,
            (Some(loc), None) => write!(f, " ({loc})")?,
            (None, Some(ctx)) => write!(f, " ({ctx})")?,
            (None, None) => {}
        }
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<datafusion::error::DataFusionError> for Diagnostic {
    fn from(err: datafusion::error::DataFusionError) -> Self {
        Diagnostic::runtime(format!("query failed: {}", err.message())).caused_by(err)
    }
}

/// `similar: a, b` for the names closest to `wanted` among `candidates`, if any
/// is close enough to be a plausible typo.
pub fn similar<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wanted, c), c))
        .filter(|(score, _)| *score >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    if scored.is_empty() {
        None
    } else {
        let names: Vec<&str> = scored.iter().take(3).map(|(_, c)| *c).collect();
        Some(format!("similar: {}", names.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_points_a_caret_at_the_column() {
        let d = Diagnostic::invalid("unknown plugin \"sqll\"")
            .at(Some(Location { file: "p.yaml".into(), line: 2, column: 13 }))
            .in_context("steps.by_school")
            .hint("similar: sql");
        let text = "steps:\n    plugin: sqll\n";
        let out = d.render(Some(text));
        assert!(out.contains("--> p.yaml:2:13 (steps.by_school)"), "{out}");
        assert!(out.contains("2 |     plugin: sqll\n  |             ^\n"), "{out}");
        assert!(out.contains("= hint: similar: sql"), "{out}");
    }

    #[test]
    fn similar_names_typos_only() {
        assert_eq!(similar("sqll", ["sql", "csv", "xlsx"]).as_deref(), Some("similar: sql"));
        assert_eq!(similar("zzzzzz", ["sql", "csv"]), None);
    }

    #[test]
    fn exit_codes_are_distinct() {
        assert_eq!(ErrorKind::Runtime.exit_code(), 1);
        assert_eq!(ErrorKind::Invalid.exit_code(), 2);
        assert_eq!(ErrorKind::TooManyRejects.exit_code(), 3);
        assert_eq!(ErrorKind::CheckFailed.exit_code(), 4);
    }
}

/// At most 120 characters of `text`, for a message (with `…` when cut): no
/// message repeats more of an input than that.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Names for a message, joined with `, `: each cut by [`excerpt`], and after
/// the first 20 the number of the others (`… and 9,980 more`).
pub fn excerpt_list<S: AsRef<str>>(names: &[S]) -> String {
    const SHOWN: usize = 20;
    let mut text: Vec<String> = names.iter().take(SHOWN).map(|n| excerpt(n.as_ref())).collect();
    if names.len() > SHOWN {
        text.push(format!("… and {} more", names.len() - SHOWN));
    }
    text.join(", ")
}

#[cfg(test)]
mod excerpt_tests {
    use super::*;

    #[test]
    fn long_inputs_are_cut_for_messages() {
        assert_eq!(excerpt("短"), "短");
        let long = "字".repeat(500);
        assert_eq!(excerpt(&long), format!("{}…", "字".repeat(120)));
        let names: Vec<String> = (0..25).map(|i| format!("c{i}")).collect();
        assert_eq!(excerpt_list(&names[..2]), "c0, c1");
        let listed = excerpt_list(&names);
        assert!(listed.starts_with("c0, c1, ") && listed.ends_with("c19, … and 5 more"), "{listed}");
    }
}
