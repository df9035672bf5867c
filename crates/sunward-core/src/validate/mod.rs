//! Validation: from a pipeline file to a [`Plan`], reporting every mistake at once.
//!
//! This pass is pure — it reads the YAML text and nothing else. It checks the
//! YAML syntax, unknown and missing keys, the parameters and `--set` values,
//! each entry's plugin and its configuration, names (valid, unique),
//! references to tables (known, no cycles) and `${name}` in strings. Each
//! problem is a [`Diagnostic`] with file:line:column and a hint. Checks that
//! need the files (inputs exist, SQL plans against the real schemas) are the
//! engine's `check`.
//!
//! The work is shared among submodules, each validating one part of the
//! file on the validator defined here: `pipeline` runs the steps in order;
//! `parameters`, `packages`, `functions`, `contract_section`, `entries`,
//! `sources`, `checks` and `order` each handle one key or concern.

use crate::checks::Check;
use crate::contract::Contract;
use crate::diag::{Diagnostic, Location, similar};
use crate::model::{Entry, Pipeline, SourceOptions, StepOptions};
use crate::plugin::{
    AnyConfig, ErasedSink, ErasedSource, ErasedTransform, Functions, PluginKind, Registry, RunContext,
};
use crate::yaml::{self, Node, Span};
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod checks;
mod contract_section;
mod entries;
mod functions;
mod order;
mod packages;
mod parameters;
mod pipeline;
mod sources;

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "params",
    "contract",
    "include",
    "functions",
    "uses",
    "sources",
    "steps",
    "outputs",
    "checks",
];

/// The `references:` value that turns a table's reference check off on purpose.
pub const NOT_CHECKED: &str = "none";

/// Everything validation needs besides the file.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// `--set key=value` pairs as typed, in order.
    pub sets: Vec<String>,
    /// The folder `--set` paths resolve against (the current folder).
    pub cwd: PathBuf,
    /// The output folder.
    pub out_dir: PathBuf,
    /// The default `as_of` date (today).
    pub today: NaiveDate,
}

impl ValidateOptions {
    /// Options for a command run now: `--set` paths against the current
    /// folder, `as_of` today (the local date).
    pub fn now(sets: Vec<String>, out_dir: PathBuf) -> Self {
        ValidateOptions {
            sets,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            out_dir,
            today: chrono::Local::now().date_naive(),
        }
    }
}

/// A source ready to run.
#[derive(Clone)]
pub struct PlannedSource {
    /// Table name.
    pub name: String,
    /// The plugin.
    pub plugin: Arc<dyn ErasedSource>,
    /// The plugin's `plugin:` name.
    pub plugin_name: String,
    /// Its parsed settings.
    pub config: AnyConfig,
    /// The settings every source shares.
    pub options: SourceOptions,
    /// Sources it checks references against: contract table → source name.
    pub references: BTreeMap<String, String>,
}

/// A step ready to run.
#[derive(Clone)]
pub struct PlannedStep {
    /// Table name.
    pub name: String,
    /// The plugin.
    pub plugin: Arc<dyn ErasedTransform>,
    /// Its parsed settings.
    pub config: AnyConfig,
    /// Tables it reads.
    pub inputs: Vec<String>,
    /// Its shared settings.
    pub options: StepOptions,
}

/// An output ready to run.
#[derive(Clone)]
pub struct PlannedOutput {
    /// Output name.
    pub name: String,
    /// The plugin.
    pub plugin: Arc<dyn ErasedSink>,
    /// Its parsed settings.
    pub config: AnyConfig,
    /// Tables it writes.
    pub inputs: Vec<String>,
}

/// A validated pipeline: entries in an order that respects every reference.
#[derive(Clone)]
pub struct Plan {
    /// The pipeline as parsed.
    pub pipeline: Pipeline,
    /// Parameters, folders and `as_of`.
    pub run: RunContext,
    /// Sources, each after the sources it references.
    pub sources: Vec<PlannedSource>,
    /// Steps, each after the tables it reads.
    pub steps: Vec<PlannedStep>,
    /// Outputs.
    pub outputs: Vec<PlannedOutput>,
    /// The data checks of `checks:`, run after the steps and before any output.
    pub checks: Vec<Check>,
    /// Warnings found along the way.
    pub warnings: Vec<Diagnostic>,
    /// The SQL functions of the registry it was validated against: every
    /// session of the run registers them.
    pub functions: Functions,
    /// The data contract its sources are read by: the built-in one, or as
    /// the pipeline's `contract:` extends it.
    pub contract: &'static Contract,
}

impl Plan {
    /// Where an entry is declared, for runtime errors.
    pub fn location_of(&self, kind: PluginKind, name: &str) -> Option<Location> {
        self.pipeline.section(kind).find(|e| e.name == name).map(|e| Location {
            file: e.file.clone().unwrap_or_else(|| self.pipeline.file.clone()),
            line: e.name_span.line,
            column: e.name_span.column,
        })
    }
}

/// Read and validate a pipeline file.
pub fn validate_file(path: &Path, registry: &Registry, options: &ValidateOptions) -> Result<Plan, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::invalid(format!("cannot read the pipeline file {file}")).caused_by(e)])?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    validate_text(&text, &file, &dir, registry, options)
}

/// Validate pipeline text (`file` names it in messages; `dir` is its folder).
pub fn validate_text(
    text: &str,
    file: &str,
    dir: &Path,
    registry: &Registry,
    options: &ValidateOptions,
) -> Result<Plan, Vec<Diagnostic>> {
    let root = yaml::parse(text, file).map_err(|d| vec![d])?;
    let (mut diags, mut warnings) = (Vec::new(), Vec::new());
    let plan =
        Validator { file, diags: &mut diags, warnings: &mut warnings }.pipeline(&root, text, dir, registry, options);
    if diags.is_empty() {
        let mut plan = plan.expect("a plan exists when there are no errors");
        plan.warnings = warnings;
        Ok(plan)
    } else {
        diags.sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.column)).unwrap_or((usize::MAX, 0)));
        Err(diags)
    }
}

/// A diagnostic just recorded, still being filled in.
struct Pending<'a>(&'a mut Diagnostic);

impl Pending<'_> {
    fn in_context(self, context: impl Into<String>) -> Self {
        self.0.context = Some(context.into());
        self
    }
    fn hint(self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }
}

/// Validates one file — the pipeline, or a file it takes in (an included
/// file, a package's plugin.yaml) — and records its problems, each at a
/// place in that file. A file taken in is validated by a validator of its
/// own ([`Validator::of_file`]) that records into the same lists.
struct Validator<'a> {
    /// The file read, as messages name it.
    file: &'a str,
    /// The errors found so far, in every file.
    diags: &'a mut Vec<Diagnostic>,
    /// The warnings found so far, in every file.
    warnings: &'a mut Vec<Diagnostic>,
}

/// Whether `name` can be a table name in SQL without quoting.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Validator<'a> {
    /// A validator of `file`, recording into the same lists.
    fn of_file<'b>(&'b mut self, file: &'b str) -> Validator<'b> {
        Validator { file, diags: &mut *self.diags, warnings: &mut *self.warnings }
    }

    /// A validator of the file an entry is written in (a package's step is
    /// written in the package's file).
    fn of_entry<'b>(&'b mut self, e: &'b Entry) -> Validator<'b> {
        let file = e.file.as_deref().unwrap_or(self.file);
        self.of_file(file)
    }

    /// A place in the validator's file.
    fn loc(&self, span: Span) -> Option<Location> {
        Some(Location { file: self.file.to_string(), line: span.line, column: span.column })
    }

    /// Record an error at a place in the validator's file.
    fn error(&mut self, span: Span, message: impl Into<String>) -> Pending<'_> {
        let d = Diagnostic::invalid(message).at(self.loc(span));
        self.diags.push(d);
        Pending(self.diags.last_mut().expect("just pushed"))
    }

    /// Every key of the mapping `node` is one of `allowed`, and written once.
    fn unknown_keys(&mut self, node: &Node, allowed: &[&str], what: &str, context: &str) {
        let Some(entries) = node.as_map() else { return };
        let mut seen = HashSet::new();
        for (key, _) in entries {
            let name = key.scalar_text().unwrap_or_default();
            if !seen.insert(name.to_string()) {
                self.error(key.span, format!("duplicate key \"{name}\" in {what}"))
                    .in_context(context)
                    .hint("each key may appear once; remove or rename one of them");
                continue;
            }
            if !allowed.contains(&name) {
                let hint = similar(name, allowed.iter().copied())
                    .unwrap_or_else(|| format!("allowed keys: {}", allowed.join(", ")));
                self.error(key.span, format!("unknown key \"{name}\" in {what}")).in_context(context).hint(hint);
            }
        }
    }
}

/// The top-level property names of a JSON Schema.
pub fn schema_keys(schema: &serde_json::Value) -> Vec<String> {
    schema.get("properties").and_then(|p| p.as_object()).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

/// The first occurrence of `word` (as a whole word) in `text` at or after `from`:
/// used to point at a table name inside an SQL block.
pub fn find_word_after(text: &str, from: Span, word: &str) -> Option<Span> {
    for (i, line) in text.lines().enumerate().skip(from.line.saturating_sub(1)) {
        let mut start = 0;
        while let Some(pos) = line[start..].find(word) {
            let at = start + pos;
            let before = line[..at].chars().next_back();
            let after = line[at + word.len()..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            if boundary(before) && boundary(after) {
                return Some(Span { line: i + 1, column: line[..at].chars().count() + 1 });
            }
            start = at + word.len();
        }
    }
    None
}
