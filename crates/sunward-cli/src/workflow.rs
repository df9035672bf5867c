//! Workflow files in the command line: the project file a command reads when
//! given none, and a workflow's errors printed with its text. Reading and
//! validating a workflow is [`sunward_core::workflow`].

use crate::report::PipelineText;
use std::path::Path;
use sunward_core::Diagnostic;
pub use sunward_core::workflow::{ENTRY_KEYS_DOC, KEYS, Workflow, is_workflow, load};

/// The project file `sunward run` and `sunward validate` read when given no file.
pub const PROJECT_FILE: &str = "sunward.yaml";

/// Print a workflow's errors (rendered with its text) and return the exit code.
pub fn print_errors(path: &Path, diagnostics: &[Diagnostic]) -> i32 {
    PipelineText::read(path).print_errors(diagnostics)
}
