//! Printing diagnostics: every error and warning rendered with the offending
//! pipeline line when it points into the pipeline file, then a one-line
//! summary, and the exit code they call for.

use std::io::Write;
use sunward_core::Diagnostic;

/// The pipeline file being worked on, for rendering diagnostics that point into it.
pub struct PipelineText {
    /// The file as named on the command line (and so in diagnostics).
    pub file: String,
    /// Its text, when it could be read.
    pub text: Option<String>,
}

impl PipelineText {
    /// Read the file (failing silently: validation reports an unreadable file).
    pub fn read(path: &std::path::Path) -> Self {
        PipelineText { file: path.display().to_string(), text: std::fs::read_to_string(path).ok() }
    }

    /// Render one diagnostic, with the source line when it points into this file.
    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        let inside = diagnostic.location.as_ref().is_some_and(|l| l.file == self.file);
        if inside {
            return diagnostic.render(self.text.as_deref());
        }
        // A YAML file the pipeline takes in (an `include:` file, a package's
        // plugin.yaml) is read for its line too; never a data file, whose
        // lines may hold what must not be printed.
        let other = diagnostic
            .location
            .as_ref()
            .filter(|l| l.file.ends_with(".yaml") || l.file.ends_with(".yml"))
            .and_then(|l| std::fs::read_to_string(&l.file).ok());
        diagnostic.render(other.as_deref())
    }

    /// Render every diagnostic in order; a hint already given in full by an
    /// earlier one (the same missing key in five steps, say) is shortened to
    /// "as above", so each place is still shown but the advice only once.
    pub fn render_all(&self, diagnostics: &[Diagnostic]) -> Vec<String> {
        let mut hints_given = std::collections::HashSet::new();
        diagnostics
            .iter()
            .map(|d| match &d.hint {
                Some(hint) if !hints_given.insert(hint.clone()) => {
                    let mut shorter = d.clone();
                    shorter.hint = Some("as above".to_string());
                    self.render(&shorter)
                }
                _ => self.render(d),
            })
            .collect()
    }

    /// Print warnings to stderr, each distinct one once (validation, the
    /// check and the run may each report the same one).
    pub fn print_warnings(&self, warnings: &[Diagnostic]) {
        let mut err = std::io::stderr().lock();
        let mut seen = std::collections::HashSet::new();
        for w in warnings {
            let rendered = self.render(w);
            if seen.insert(rendered.clone()) {
                let _ = writeln!(err, "{rendered}");
            }
        }
    }

    /// Print every diagnostic to stderr, then `N errors in FILE`; return the
    /// exit code (the highest any error calls for; 0 when none is an error).
    pub fn print_errors(&self, diagnostics: &[Diagnostic]) -> i32 {
        let mut err = std::io::stderr().lock();
        for rendered in self.render_all(diagnostics) {
            let _ = writeln!(err, "{rendered}");
        }
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            let noun = if errors == 1 { "error" } else { "errors" };
            let _ = writeln!(err, "{errors} {noun} in {}", self.file);
        }
        exit_code(diagnostics)
    }
}

/// The exit code for a set of diagnostics: the highest any error calls for.
pub fn exit_code(diagnostics: &[Diagnostic]) -> i32 {
    diagnostics.iter().filter(|d| d.is_error()).map(|d| d.kind.exit_code()).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sunward_core::{ErrorKind, Location};

    #[test]
    fn a_repeated_hint_is_given_once() {
        let text = PipelineText { file: "p.yaml".into(), text: None };
        let missing = |step: &str| Diagnostic::invalid("no key").in_context(step).hint("set SUNWARD_PSEUDONYM_KEY");
        let other = Diagnostic::invalid("bad").hint("something else");
        let shown = text.render_all(&[missing("steps.a"), missing("steps.b"), other]);
        assert!(shown[0].contains("set SUNWARD_PSEUDONYM_KEY") && shown[0].contains("steps.a"), "{}", shown[0]);
        assert!(shown[1].contains("as above") && shown[1].contains("steps.b"), "{}", shown[1]);
        assert!(!shown[1].contains("SUNWARD_PSEUDONYM_KEY"), "{}", shown[1]);
        assert!(shown[2].contains("something else"), "{}", shown[2]);
    }

    #[test]
    fn exit_code_is_the_highest() {
        let rejects = Diagnostic::new(ErrorKind::TooManyRejects, "too many");
        let runtime = Diagnostic::runtime("broken");
        let warning = Diagnostic::warning("careful");
        assert_eq!(exit_code(&[]), 0);
        assert_eq!(exit_code(std::slice::from_ref(&warning)), 0);
        assert_eq!(exit_code(&[runtime.clone(), warning]), 1);
        assert_eq!(exit_code(&[runtime, rejects]), 3);
    }

    #[test]
    fn source_lines_only_for_the_pipeline_file() {
        let text = PipelineText { file: "p.yaml".into(), text: Some("name: x\nsources: 3\n".into()) };
        let here = Diagnostic::invalid("bad sources").at(Some(Location { file: "p.yaml".into(), line: 2, column: 10 }));
        let elsewhere = Diagnostic::invalid("bad row").at(Some(Location { file: "a.csv".into(), line: 2, column: 1 }));
        assert!(text.render(&here).contains("2 | sources: 3\n"));
        assert!(!text.render(&elsewhere).contains("sources: 3"));
    }
}
