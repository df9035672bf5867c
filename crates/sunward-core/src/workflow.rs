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

use crate::diag::similar;
use crate::params::{ParamType, ParamValue};
use crate::paths::normalize;
use crate::yaml::{self, Node, Value};
use crate::{Diagnostic, Location};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// The workflow's mistakes, each at its line and column.
struct Checker {
    file: String,
    diags: Vec<Diagnostic>,
}

impl Checker {
    /// Where `node` is in the workflow file.
    fn at(&self, node: &Node) -> Option<Location> {
        Some(Location { file: self.file.clone(), line: node.span.line, column: node.span.column })
    }

    /// A mistake at `node`.
    fn error(&mut self, node: &Node, message: impl Into<String>) {
        self.push(node, Diagnostic::invalid(message));
    }

    /// A mistake (with its hint or context) at `node`.
    fn push(&mut self, node: &Node, d: Diagnostic) {
        let at = self.at(node);
        self.diags.push(d.at(at));
    }
}

/// A pipeline the workflow lists, as its entry gives it.
struct Listed<'a> {
    /// The pipeline file (the workflow's folder joined with the entry).
    pipeline: PathBuf,
    /// The entry's file name, as written.
    relative: String,
    /// The parameters the pipeline declares.
    declared: Declared,
    /// The entry's own `set:`.
    set: Option<&'a Node>,
    /// The entry's own `name:`.
    own_name: Option<String>,
    /// The name its run goes by (its own, else the pipeline's).
    runs_as: String,
    /// The entry.
    item: &'a Node,
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
        return crate::paths::normalize(&dir.join(text)).display().to_string();
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
            c.push(
                key,
                Diagnostic::invalid(format!("no pipeline here declares the parameter \"{name}\""))
                    .hint(hint)
                    .in_context(format!("{what}.{name}")),
            );
            continue;
        }
        let text = match value_text(value) {
            Ok(t) => t,
            Err(msg) => {
                c.push(value, Diagnostic::invalid(msg).in_context(format!("{what}.{name}")));
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
                c.push(
                    value,
                    Diagnostic::invalid(format!("{msg}: {file} declares \"{name}\" as {ty}"))
                        .in_context(format!("{what}.{name}"))
                        .hint(format!("give a value of type {ty}")),
                );
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
        c.push(
            &root,
            Diagnostic::invalid(format!("a workflow must be a mapping, not {}", root.kind_name()))
                .hint("write `name:`, `params:` and `pipelines:` at the top level"),
        );
        return Err(c.diags);
    };
    top_keys(&mut c, entries);
    let name = workflow_name(&mut c, &root);
    let listed = pipelines(&mut c, &root, &dir);
    // Shared parameters: each declared by at least one pipeline, of its type.
    let all: Vec<(&str, &Declared)> = listed.iter().map(|l| (l.relative.as_str(), &l.declared)).collect();
    let shared = match root.get("params") {
        Some(node) if !matches!(node.value, Value::Null) => check_values(&mut c, node, "params", &all),
        _ => Vec::new(),
    };
    let own: Vec<Vec<(String, String, ParamType)>> = listed
        .iter()
        .map(|l| match l.set {
            Some(node) => check_values(&mut c, node, "set", &[(l.relative.as_str(), &l.declared)]),
            None => Vec::new(),
        })
        .collect();
    let cli = command_line_sets(&mut c, sets, &listed);
    if !c.diags.is_empty() {
        return Err(c.diags);
    }
    let stages = listed
        .into_iter()
        .zip(own)
        .map(|(l, own)| {
            let mut sets = Vec::new();
            for (name, text, _) in shared.iter().chain(own.iter()) {
                if let Some(ty) = l.declared.get(name) {
                    sets.push(format!("{name}={}", resolve(text, *ty, &dir, out)));
                }
            }
            sets.extend(cli.iter().filter(|(name, _)| l.declared.contains_key(name)).map(|(n, v)| format!("{n}={v}")));
            Stage { pipeline: l.pipeline, sets, name: l.own_name }
        })
        .collect();
    Ok(Workflow { name, stages })
}

/// Every top-level key must be one a workflow has.
fn top_keys(c: &mut Checker, entries: &[(Node, Node)]) {
    for (key, _) in entries {
        let name = key.scalar_text().unwrap_or_default();
        if !TOP_KEYS.contains(&name) {
            let hint = similar(name, TOP_KEYS.iter().copied())
                .unwrap_or_else(|| format!("a workflow has {}", TOP_KEYS.join(", ")));
            c.push(key, Diagnostic::invalid(format!("unknown key \"{name}\" in a workflow")).hint(hint));
        }
    }
}

/// The workflow's `name:` (empty, with a mistake recorded, when missing).
fn workflow_name(c: &mut Checker, root: &Node) -> String {
    match root.get("name") {
        Some(n) => match n.as_str() {
            Some(s) if !s.trim().is_empty() => s.to_string(),
            _ => {
                c.error(n, "`name` must be a non-empty string");
                String::new()
            }
        },
        None => {
            c.push(root, Diagnostic::invalid("the workflow has no `name`").hint("add e.g. `name: district`"));
            String::new()
        }
    }
}

/// The pipelines `pipelines:` lists, each with its own `set:`.
fn pipelines<'a>(c: &mut Checker, root: &'a Node, dir: &Path) -> Vec<Listed<'a>> {
    let mut listed: Vec<Listed> = Vec::new();
    match root.get("pipelines") {
        None => c.push(
            root,
            Diagnostic::invalid("the workflow has no `pipelines`").hint(
                "list the pipeline files to run in order, e.g. `pipelines: [metrics.yaml, district-comparison.yaml]`",
            ),
        ),
        Some(node) => match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                for item in items {
                    if let Some(entry) = pipeline_entry(c, item, dir, &listed) {
                        listed.push(entry);
                    }
                }
            }
            Value::Seq(_) => c.error(node, "`pipelines` is empty"),
            _ => c.push(
                node,
                Diagnostic::invalid(format!("`pipelines` must be a list of pipeline files, not {}", node.kind_name()))
                    .hint("write e.g. `pipelines: [metrics.yaml, district-comparison.yaml]`"),
            ),
        },
    }
    listed
}

/// One entry of `pipelines:`: a file name, or a mapping with `pipeline`,
/// `name` and `set`. `None` (with the mistake recorded) when it names no
/// pipeline this workflow can run.
fn pipeline_entry<'a>(c: &mut Checker, item: &'a Node, dir: &Path, earlier: &[Listed]) -> Option<Listed<'a>> {
    let (file_node, set, own_name) = match &item.value {
        Value::Str(_) => (item, None, None),
        Value::Map(fields) => {
            entry_keys(c, fields);
            let own_name = entry_name(c, item);
            let Some(p) = item.get("pipeline") else {
                c.push(
                    item,
                    Diagnostic::invalid("the entry has no `pipeline`")
                        .hint("write `{pipeline: file.yaml, set: {name: value}}` or just `file.yaml`"),
                );
                return None;
            };
            (p, item.get("set"), own_name)
        }
        _ => {
            c.error(item, format!("a pipeline entry must be a file name, not {}", item.kind_name()));
            return None;
        }
    };
    let Some(relative) = file_node.as_str() else {
        c.error(file_node, format!("`pipeline` must be a file name, not {}", file_node.kind_name()));
        return None;
    };
    let pipeline = normalize(&dir.join(relative));
    if !pipeline.is_file() {
        c.push(file_node, no_such_pipeline(relative, &pipeline));
        return None;
    }
    if std::fs::read_to_string(&pipeline).is_ok_and(|t| is_workflow(&t)) {
        c.push(
            file_node,
            Diagnostic::invalid(format!("\"{relative}\" is a workflow, not a pipeline"))
                .hint("list its pipelines here instead: workflows do not nest"),
        );
        return None;
    }
    let declared = declared_params(&pipeline).unwrap_or_default();
    let runs_as = own_name.clone().or_else(|| pipeline_name(&pipeline)).unwrap_or_default();
    if let Some(first) = earlier.iter().find(|l| !l.runs_as.is_empty() && l.runs_as == runs_as) {
        let line = first.item.span.line;
        c.push(
            item,
            Diagnostic::invalid(format!(
                "a second run named \"{runs_as}\" (the first is on line {line}) would replace its manifest-{runs_as}.json"
            ))
            .hint("give one of the entries its own name: `{pipeline: …, name: other_name, set: {…}}`"),
        );
    }
    Some(Listed { pipeline, relative: relative.to_string(), declared, set, own_name, runs_as, item })
}

/// Every key of an entry written as a mapping must be one an entry has.
fn entry_keys(c: &mut Checker, fields: &[(Node, Node)]) {
    for (key, _) in fields {
        let k = key.scalar_text().unwrap_or_default();
        if !ENTRY_KEYS.contains(&k) {
            let hint = similar(k, ENTRY_KEYS.iter().copied())
                .unwrap_or_else(|| "an entry has `pipeline` and `set`".to_string());
            c.push(key, Diagnostic::invalid(format!("unknown key \"{k}\" in a pipeline entry")).hint(hint));
        }
    }
}

/// An entry's own `name:`, when it is a name.
fn entry_name(c: &mut Checker, item: &Node) -> Option<String> {
    let n = item.get("name")?;
    match n.as_str() {
        Some(t) if crate::validate::is_identifier(t) => Some(t.to_string()),
        _ => {
            c.push(
                n,
                Diagnostic::invalid("an entry's `name` must be a name such as government_summary_official")
                    .hint("letters, digits and _, starting with a letter"),
            );
            None
        }
    }
}

/// The mistake of an entry naming a file that is not there, with the
/// pipelines of that folder (or the closest name) as its hint.
fn no_such_pipeline(relative: &str, pipeline: &Path) -> Diagnostic {
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
    Diagnostic::invalid(format!("no pipeline file \"{relative}\" (looked for {})", pipeline.display())).hint(hint)
}

/// The command line's `--set` values: each must be declared by some pipeline.
fn command_line_sets(c: &mut Checker, sets: &[String], listed: &[Listed]) -> Vec<(String, String)> {
    let mut cli = Vec::new();
    for set in sets {
        let (key, value) = match crate::params::parse_set(set) {
            Ok(kv) => kv,
            Err(d) => {
                c.diags.push(d);
                continue;
            }
        };
        if !listed.iter().any(|l| l.declared.contains_key(key)) {
            let names: Vec<&str> = listed.iter().flat_map(|l| l.declared.keys().map(String::as_str)).collect();
            c.diags.push(
                Diagnostic::invalid(format!("--set {key}: no pipeline of the workflow {} declares \"{key}\"", c.file))
                    .in_context("--set")
                    .hint(
                        similar(key, names.iter().copied()).unwrap_or_else(|| "see `params:` of each pipeline".into()),
                    ),
            );
            continue;
        }
        cli.push((key.to_string(), value.to_string()));
    }
    cli
}
