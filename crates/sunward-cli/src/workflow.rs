//! Workflow files: several pipelines run in order, with one set of shared
//! parameters, into one output folder, by one `sunward run`.
//!
//! A workflow is a YAML file with `name`, `description`, `params` and
//! `pipelines` (and no `sources`, `steps` or `outputs`, which is how `sunward
//! run` and `sunward validate` tell it from a pipeline):
//!
//! ```yaml
//! name: district
//! params:
//!   data_dir: ../sample-data/taicang        # relative to the workflow's folder
//!   baseline_year: 2022
//!   metrics: ${out}/metrics.parquet         # ${out} is the --out folder
//! pipelines:
//!   - metrics.yaml
//!   - district-comparison.yaml
//!   - {pipeline: government-summary.yaml, set: {report_date: 2025-10-20}}
//! ```
//!
//! Each shared parameter goes to every listed pipeline that declares it (and
//! must be declared by at least one); a pipeline's own `set:` and then the
//! command line's `--set` override it. Everything is validated before the
//! first pipeline runs — the workflow's keys, the pipeline files, every value
//! against the type each pipeline declares, and each pipeline with the values
//! it will get — and every error points at its file:line:column. The
//! pipelines then run one after the other into the one `--out` folder, each
//! writing its own `manifest-<pipeline>.json`; the first failure stops the
//! workflow with that pipeline's exit code.

use crate::report::PipelineText;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use sunward_core::diag::similar;
use sunward_core::params::{ParamType, ParamValue};
use sunward_core::yaml::{self, Node, Value};
use sunward_core::{Diagnostic, Location};

/// The project file `sunward run` and `sunward validate` read when given no file.
pub const PROJECT_FILE: &str = "sunward.yaml";

/// The keys a workflow file may have, with what each means (for the generated reference).
pub const KEYS: &[(&str, &str)] = &[
    ("name", "the workflow's name (required)"),
    ("description", "what it is for"),
    (
        "params",
        "shared values: each goes to every listed pipeline that declares it (a relative path is relative to the workflow's folder; ${out} is the --out folder)",
    ),
    ("pipelines", "the pipelines to run in order into one --out folder: a file name, or a mapping with the keys below"),
];
/// The keys of a pipeline entry written as a mapping, with what each means.
pub const ENTRY_KEYS_DOC: &[(&str, &str)] = &[
    ("pipeline", "(in an entry) the pipeline file, relative to the workflow's folder"),
    (
        "name",
        "(in an entry) the name the run goes by instead of the pipeline's own (its manifest is manifest-<name>.json): one pipeline may then run twice",
    ),
    ("set", "(in an entry) values for this pipeline only, over the shared ones"),
];
/// The keys a workflow file may have.
const TOP_KEYS: &[&str] = &["name", "description", "params", "pipelines"];
/// The keys of a pipeline entry written as a mapping.
const ENTRY_KEYS: &[&str] = &["pipeline", "name", "set"];
/// What `${out}` stands for in a workflow's values.
const OUT_VAR: &str = "${out}";

/// Whether the YAML text is a workflow rather than a pipeline: a mapping
/// with `pipelines:` and none of a pipeline's sections.
pub fn is_workflow(text: &str) -> bool {
    let Ok(root) = yaml::parse(text, "") else { return false };
    root.get("pipelines").is_some() && ["sources", "steps", "outputs"].iter().all(|k| root.get(k).is_none())
}

/// One pipeline of a workflow, ready to validate and run.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The pipeline file (the workflow's folder joined with its entry).
    pub pipeline: PathBuf,
    /// The `--set key=value` pairs it gets, in order (later ones win).
    pub sets: Vec<String>,
    /// The entry's `name:`, which replaces the pipeline's own name for this
    /// run (its manifest is `manifest-<name>.json`): how one pipeline runs
    /// twice in a workflow, e.g. a summary in the standard and the official style.
    pub name: Option<String>,
}

/// A validated workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// `name:`.
    pub name: String,
    /// The pipelines in order.
    pub stages: Vec<Stage>,
}

/// A parameter a pipeline declares: its type.
type Declared = BTreeMap<String, ParamType>;

struct Checker {
    file: String,
    diags: Vec<Diagnostic>,
}

impl Checker {
    fn error(&mut self, node: &Node, message: impl Into<String>) -> &mut Diagnostic {
        let location = Location { file: self.file.clone(), line: node.span.line, column: node.span.column };
        self.diags.push(Diagnostic::invalid(message).at(Some(location)));
        self.diags.last_mut().expect("just pushed")
    }
}

fn set_hint(d: &mut Diagnostic, hint: impl Into<String>) {
    let taken = std::mem::replace(d, Diagnostic::invalid(""));
    *d = taken.hint(hint);
}

fn set_context(d: &mut Diagnostic, context: impl Into<String>) {
    let taken = std::mem::replace(d, Diagnostic::invalid(""));
    *d = taken.in_context(context);
}

/// The parameters a pipeline file declares (`as_of` is always allowed). `None`
/// when the file cannot be read or parsed: its own validation says why.
fn declared_params(path: &Path) -> Option<Declared> {
    let text = std::fs::read_to_string(path).ok()?;
    let root = yaml::parse(&text, &path.display().to_string()).ok()?;
    let mut declared = Declared::new();
    declared.insert("as_of".into(), ParamType::Date);
    if let Some(entries) = root.get("params").and_then(Node::as_map) {
        for (key, value) in entries {
            let (Some(name), Some(ty)) = (key.scalar_text(), value.get("type").and_then(Node::as_str)) else {
                continue;
            };
            if let Ok(ty) = serde_json::from_value::<ParamType>(serde_json::Value::String(ty.to_string())) {
                declared.insert(name.to_string(), ty);
            }
        }
    }
    Some(declared)
}

/// The `name:` a pipeline file gives itself, if it reads.
fn pipeline_name(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let root = yaml::parse(&text, &path.display().to_string()).ok()?;
    root.get("name").and_then(Node::as_str).map(str::to_string)
}

/// A YAML value as `--set` text, or why it cannot be one.
fn value_text(node: &Node) -> Result<String, String> {
    match &node.value {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => Ok(node.raw.clone().unwrap_or_default()),
        Value::Seq(items) => items
            .iter()
            .map(|item| match &item.value {
                Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                    item.raw.clone().ok_or_else(|| "a list item has no text".to_string())
                }
                _ => Err(format!("a list may hold only plain values, not {}", item.kind_name())),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(",")),
        _ => Err(format!("a parameter value must be a plain value or a list, not {}", node.kind_name())),
    }
}

/// The value a pipeline gets: `${out}` replaced by the output folder, and a
/// relative path (for a `path` parameter) made relative to the workflow's folder.
fn resolve(text: &str, ty: ParamType, dir: &Path, out: &Path) -> String {
    if text.contains(OUT_VAR) {
        return text.replace(OUT_VAR, &out.display().to_string());
    }
    if ty == ParamType::Path && Path::new(text).is_relative() {
        return sunward_engine::manifest::normalize(&dir.join(text)).display().to_string();
    }
    text.to_string()
}

/// Check a `params:` or `set:` mapping against the declared parameters and
/// return its values as text, by name.
fn check_values(
    c: &mut Checker,
    map: &Node,
    what: &str,
    declared: &[(&str, &Declared)],
) -> Vec<(String, String, ParamType)> {
    let Some(entries) = map.as_map() else {
        c.error(map, format!("`{what}` must be a mapping of name: value, not {}", map.kind_name()));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let Some(name) = key.scalar_text() else { continue };
        let takers: Vec<(&str, ParamType)> =
            declared.iter().filter_map(|(file, d)| d.get(name).map(|ty| (*file, *ty))).collect();
        if takers.is_empty() {
            let names: Vec<&str> = declared.iter().flat_map(|(_, d)| d.keys().map(String::as_str)).collect();
            let files: Vec<&str> = declared.iter().map(|(f, _)| *f).collect();
            let hint = similar(name, names.iter().copied()).unwrap_or_else(|| {
                let mut names = names.clone();
                names.sort_unstable();
                names.dedup();
                format!("parameters declared by {}: {}", files.join(", "), names.join(", "))
            });
            let d = c.error(key, format!("no pipeline here declares the parameter \"{name}\""));
            set_hint(d, hint);
            set_context(d, format!("{what}.{name}"));
            continue;
        }
        let text = match value_text(value) {
            Ok(t) => t,
            Err(msg) => {
                let d = c.error(value, msg);
                set_context(d, format!("{what}.{name}"));
                continue;
            }
        };
        let mut checked: Vec<ParamType> = Vec::new();
        for (file, ty) in &takers {
            if text.contains(OUT_VAR) || checked.contains(ty) {
                continue;
            }
            checked.push(*ty);
            if let Err(msg) = ParamValue::parse(*ty, &text, Path::new(".")) {
                let d = c.error(value, format!("{msg}: {file} declares \"{name}\" as {ty}"));
                set_context(d, format!("{what}.{name}"));
                set_hint(d, format!("give a value of type {ty}"));
            }
        }
        out.push((name.to_string(), text, takers[0].1));
    }
    out
}

/// Read and validate a workflow file (pure: no pipeline runs). `sets` are the
/// command line's `--set` values, `out` the output folder.
pub fn load(path: &Path, sets: &[String], out: &Path) -> Result<Workflow, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::invalid(format!("cannot read the workflow file {file}")).caused_by(e)])?;
    let root = yaml::parse(&text, &file).map_err(|d| vec![d])?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut c = Checker { file: file.clone(), diags: Vec::new() };
    let Some(entries) = root.as_map() else {
        let d = c.error(&root, format!("a workflow must be a mapping, not {}", root.kind_name()));
        set_hint(d, "write `name:`, `params:` and `pipelines:` at the top level");
        return Err(c.diags);
    };
    for (key, _) in entries {
        let name = key.scalar_text().unwrap_or_default();
        if !TOP_KEYS.contains(&name) {
            let hint = similar(name, TOP_KEYS.iter().copied())
                .unwrap_or_else(|| format!("a workflow has {}", TOP_KEYS.join(", ")));
            let d = c.error(key, format!("unknown key \"{name}\" in a workflow"));
            set_hint(d, hint);
        }
    }
    let name = match root.get("name") {
        Some(n) => match n.as_str() {
            Some(s) if !s.trim().is_empty() => s.to_string(),
            _ => {
                c.error(n, "`name` must be a non-empty string");
                String::new()
            }
        },
        None => {
            let d = c.error(&root, "the workflow has no `name`");
            set_hint(d, "add e.g. `name: district`");
            String::new()
        }
    };

    // The pipelines, each with its own `set:`.
    let mut listed: Vec<(PathBuf, String, Declared, Option<&Node>)> = Vec::new();
    // Each entry's own `name:` (if any) and the name its run goes by, with the entry.
    let mut names: Vec<(Option<String>, String, &Node)> = Vec::new();
    match root.get("pipelines") {
        None => {
            let d = c.error(&root, "the workflow has no `pipelines`");
            set_hint(
                d,
                "list the pipeline files to run in order, e.g. `pipelines: [metrics.yaml, district-comparison.yaml]`",
            );
        }
        Some(node) => match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                for item in items {
                    let mut own_name = None;
                    let (file_node, set) = match &item.value {
                        Value::Str(_) => (item, None),
                        Value::Map(fields) => {
                            for (key, _) in fields {
                                let k = key.scalar_text().unwrap_or_default();
                                if !ENTRY_KEYS.contains(&k) {
                                    let hint = similar(k, ENTRY_KEYS.iter().copied())
                                        .unwrap_or_else(|| "an entry has `pipeline` and `set`".to_string());
                                    let d = c.error(key, format!("unknown key \"{k}\" in a pipeline entry"));
                                    set_hint(d, hint);
                                }
                            }
                            if let Some(n) = item.get("name") {
                                match n.as_str() {
                                    Some(t) if sunward_core::validate::is_identifier(t) => {
                                        own_name = Some(t.to_string())
                                    }
                                    _ => {
                                        let d = c.error(
                                            n,
                                            "an entry's `name` must be a name such as government_summary_official",
                                        );
                                        set_hint(d, "letters, digits and _, starting with a letter");
                                    }
                                }
                            }
                            match item.get("pipeline") {
                                Some(p) => (p, item.get("set")),
                                None => {
                                    let d = c.error(item, "the entry has no `pipeline`");
                                    set_hint(
                                        d,
                                        "write `{pipeline: file.yaml, set: {name: value}}` or just `file.yaml`",
                                    );
                                    continue;
                                }
                            }
                        }
                        _ => {
                            c.error(item, format!("a pipeline entry must be a file name, not {}", item.kind_name()));
                            continue;
                        }
                    };
                    let Some(relative) = file_node.as_str() else {
                        c.error(file_node, format!("`pipeline` must be a file name, not {}", file_node.kind_name()));
                        continue;
                    };
                    let pipeline = sunward_engine::manifest::normalize(&dir.join(relative));
                    if !pipeline.is_file() {
                        let folder = match pipeline.parent() {
                            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                            _ => PathBuf::from("."),
                        };
                        let wanted = Path::new(relative)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| relative.to_string());
                        let mut here: Vec<String> = std::fs::read_dir(&folder)
                            .map(|rd| {
                                rd.filter_map(|e| e.ok())
                                    .map(|e| e.file_name().to_string_lossy().into_owned())
                                    .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
                                    .collect()
                            })
                            .unwrap_or_default();
                        here.sort();
                        let hint = similar(&wanted, here.iter().map(String::as_str))
                            .unwrap_or_else(|| format!("pipelines in {}: {}", folder.display(), here.join(", ")));
                        let d = c.error(
                            file_node,
                            format!("no pipeline file \"{relative}\" (looked for {})", pipeline.display()),
                        );
                        set_hint(d, hint);
                        continue;
                    }
                    if std::fs::read_to_string(&pipeline).is_ok_and(|t| is_workflow(&t)) {
                        let d = c.error(file_node, format!("\"{relative}\" is a workflow, not a pipeline"));
                        set_hint(d, "list its pipelines here instead: workflows do not nest");
                        continue;
                    }
                    let declared = declared_params(&pipeline).unwrap_or_default();
                    let runs_as = own_name.clone().or_else(|| pipeline_name(&pipeline)).unwrap_or_default();
                    if let Some((_, _, first)) = names.iter().find(|(_, n, _)| !n.is_empty() && *n == runs_as) {
                        let line = first.span.line;
                        let d = c.error(
                            item,
                            format!(
                                "a second run named \"{runs_as}\" (the first is on line {line}) would replace its manifest-{runs_as}.json"
                            ),
                        );
                        set_hint(
                            d,
                            "give one of the entries its own name: `{pipeline: …, name: other_name, set: {…}}`",
                        );
                    }
                    names.push((own_name, runs_as, item));
                    listed.push((pipeline, relative.to_string(), declared, set));
                }
            }
            Value::Seq(_) => {
                c.error(node, "`pipelines` is empty");
            }
            _ => {
                let d =
                    c.error(node, format!("`pipelines` must be a list of pipeline files, not {}", node.kind_name()));
                set_hint(d, "write e.g. `pipelines: [metrics.yaml, district-comparison.yaml]`");
            }
        },
    }

    // Shared parameters: each declared by at least one pipeline, of its type.
    let all: Vec<(&str, &Declared)> = listed.iter().map(|(_, r, d, _)| (r.as_str(), d)).collect();
    let shared = match root.get("params") {
        Some(node) if !matches!(node.value, Value::Null) => check_values(&mut c, node, "params", &all),
        _ => Vec::new(),
    };
    let own: Vec<Vec<(String, String, ParamType)>> = listed
        .iter()
        .map(|(_, relative, declared, set)| match set {
            Some(node) => check_values(&mut c, node, "set", &[(relative.as_str(), declared)]),
            None => Vec::new(),
        })
        .collect();
    // The command line's --set: each must be declared by some pipeline.
    let mut cli: Vec<(String, String)> = Vec::new();
    for set in sets {
        let (key, value) = match sunward_core::params::parse_set(set) {
            Ok(kv) => kv,
            Err(d) => {
                c.diags.push(d);
                continue;
            }
        };
        if !listed.iter().any(|(_, _, d, _)| d.contains_key(key)) {
            let names: Vec<&str> = listed.iter().flat_map(|(_, _, d, _)| d.keys().map(String::as_str)).collect();
            c.diags.push(
                Diagnostic::invalid(format!("--set {key}: no pipeline of the workflow {file} declares \"{key}\""))
                    .in_context("--set")
                    .hint(
                        similar(key, names.iter().copied()).unwrap_or_else(|| "see `params:` of each pipeline".into()),
                    ),
            );
            continue;
        }
        cli.push((key.to_string(), value.to_string()));
    }
    if !c.diags.is_empty() {
        return Err(c.diags);
    }

    let stages = listed
        .iter()
        .zip(own)
        .zip(names)
        .map(|(((pipeline, _, declared, _), own), (name, _, _))| {
            let mut sets = Vec::new();
            for (name, text, _) in shared.iter().chain(own.iter()) {
                if let Some(ty) = declared.get(name) {
                    sets.push(format!("{name}={}", resolve(text, *ty, &dir, out)));
                }
            }
            for (name, value) in &cli {
                if declared.contains_key(name) {
                    sets.push(format!("{name}={value}"));
                }
            }
            Stage { pipeline: pipeline.clone(), sets, name }
        })
        .collect();
    Ok(Workflow { name, stages })
}

/// Print a workflow's errors (rendered with its text) and return the exit code.
pub fn print_errors(path: &Path, diagnostics: &[Diagnostic]) -> i32 {
    PipelineText::read(path).print_errors(diagnostics)
}
