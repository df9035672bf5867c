//! Validating `uses:`: plugin packages written in YAML.
//!
//! A package is a folder with a `plugin.yaml` holding `name`, `description`,
//! `params` (declared as a pipeline declares them), `contract` (additions to
//! the data contract, as a pipeline writes them), `functions`, `steps` and
//! `checks`.
//! A pipeline takes one with
//!
//! ```yaml
//! uses:
//!   loop:
//!     package: ../packages/screening-loop
//!     with: {screenings: screenings, second_assessment_days: 7}
//! ```
//!
//! Every `${name}` in the package's text is replaced by the parameter's value
//! (from `with:`, itself allowed to use the pipeline's `${param}`s, or the
//! package's default) — so a package can be told which table to read and what
//! to name what it makes — and the package's steps, functions and checks join the
//! pipeline's as if written there, with every diagnostic naming the package's
//! file. Values are checked against the parameter's type and may not carry
//! quotes, `;` or line breaks, so a value cannot change the shape of a query.

use super::Validator;
use crate::diag::{Diagnostic, similar};
use crate::model::ParamDef;
use crate::params::{ParamType, ParamValue, interpolate};
use crate::yaml::{self, Node, Value};
use std::collections::BTreeMap;
use std::path::Path;

const USE_KEYS: &[&str] = &["package", "with"];
const PACKAGE_KEYS: &[&str] = &["name", "description", "params", "contract", "functions", "steps", "checks"];

/// A package taken by `uses:`, its parameters filled in.
pub(super) struct UsedPackage {
    /// How diagnostics name its file (`packages/screening-loop/plugin.yaml`).
    pub file: String,
    /// Its text after `${…}` replacement.
    pub text: String,
    /// That text, parsed.
    pub root: Node,
    /// Its folder (the files its `contract:` names are relative to it).
    pub dir: std::path::PathBuf,
}

impl Validator<'_> {
    /// The packages of `uses:`, each read, its parameters checked and filled in.
    pub(super) fn packages(
        &mut self,
        root: &Node,
        dir: &Path,
        pipeline_values: Option<&BTreeMap<String, ParamValue>>,
    ) -> Vec<UsedPackage> {
        let Some(uses) = root.get("uses") else { return Vec::new() };
        let Some(entries) = uses.as_map() else {
            if uses.value != Value::Null {
                self.error(
                    uses.span,
                    format!("`uses` must be a mapping of name → package, found {}", uses.kind_name()),
                )
                .hint(
                    "e.g.\nuses:\n  loop:\n    package: ../packages/screening-loop\n    with: {screenings: screenings}",
                );
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            out.extend(self.use_package(key, value, dir, pipeline_values));
        }
        out
    }

    /// The package one entry of `uses:` takes, read, its parameters given
    /// their values and written into its text, or `None` after reporting why not.
    fn use_package(
        &mut self,
        key: &Node,
        value: &Node,
        dir: &Path,
        pipeline_values: Option<&BTreeMap<String, ParamValue>>,
    ) -> Option<UsedPackage> {
        let name = key.scalar_text().unwrap_or_default().to_string();
        let context = format!("uses.{name}");
        if value.as_map().is_none() {
            self.error(
                value.span,
                format!("`uses.{name}` must be a mapping with `package:`, found {}", value.kind_name()),
            )
            .in_context(&context);
            return None;
        }
        self.unknown_keys(value, USE_KEYS, &format!("uses.{name}"), &context);
        let Some(folder) = value.get("package").and_then(Node::as_str) else {
            self.error(key.span, "missing required key \"package\"")
                .in_context(&context)
                .hint("the package's folder (holding plugin.yaml), relative to the pipeline");
            return None;
        };
        let path = lexical(&dir.join(folder).join("plugin.yaml"));
        let label = path.display().to_string();
        let Ok(text) = std::fs::read_to_string(&path) else {
            let span = value.get("package").map(|n| n.span).unwrap_or(key.span);
            self.error(span, format!("cannot read the package file {label}"))
                .in_context(&context)
                .hint("`package:` names a folder holding plugin.yaml, relative to the pipeline's folder");
            return None;
        };
        // The package's own declarations, read before any replacement.
        let declared = match yaml::parse(&text, &label) {
            Ok(node) => node,
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        let params = self.of_file(&label).params(declared.get("params"));
        let entry = UseEntry { key, value, folder, context: &context, dir };
        let values = self.package_values(&entry, &params, pipeline_values)?;
        let expanded = match fill(&text, &values) {
            Ok(t) => t,
            Err((n, line, column)) => {
                let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                self.diags.push(
                    Diagnostic::invalid(format!(
                        "the package uses \"${{{n}}}\", which it does not declare under `params:`"
                    ))
                    .at(Some(crate::diag::Location { file: label.clone(), line, column }))
                    .in_context(context.clone())
                    .hint(format!("its parameters: {}", names.join(", "))),
                );
                return None;
            }
        };
        let root = match yaml::parse(&expanded, &label) {
            Ok(node) => node,
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        let mut v = self.of_file(&label);
        if root.as_map().is_none() {
            v.error(root.span, "a package's plugin.yaml must be a mapping with `name:` and `steps:`");
        } else {
            v.unknown_keys(&root, PACKAGE_KEYS, "a package", &context);
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Some(UsedPackage { file: label, text: expanded, root, dir })
    }

    /// The value of each of the package's parameters as text: from `with:`
    /// (the pipeline's `${param}`s filled in), else its default; `None`
    /// after reporting one unknown, unfit or missing.
    fn package_values(
        &mut self,
        entry: &UseEntry,
        params: &[ParamDef],
        pipeline_values: Option<&BTreeMap<String, ParamValue>>,
    ) -> Option<BTreeMap<String, String>> {
        let (mut values, mut ok) = self.with_values(entry, params, pipeline_values);
        for p in params {
            if values.contains_key(&p.name) {
                continue;
            }
            match &p.default {
                Some(d) => {
                    values.insert(p.name.clone(), d.clone());
                }
                None => {
                    ok = false;
                    self.error(
                        entry.key.span,
                        format!("the package {} needs a value for \"{}\"", entry.folder, p.name),
                    )
                    .in_context(entry.context)
                    .hint(format!(
                        "add it under `with:`{}",
                        p.description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
                    ));
                }
            }
        }
        ok.then_some(values)
    }

    /// The values `with:` gives, each for a parameter of the package, the
    /// pipeline's `${param}`s filled in, and fit for its type; and whether
    /// all of them were (false after reporting one that is not).
    fn with_values(
        &mut self,
        entry: &UseEntry,
        params: &[ParamDef],
        pipeline_values: Option<&BTreeMap<String, ParamValue>>,
    ) -> (BTreeMap<String, String>, bool) {
        let UseEntry { value, folder, context, dir, .. } = *entry;
        let with: Vec<(&Node, &Node)> = value
            .get("with")
            .and_then(Node::as_map)
            .map(|m| m.iter().map(|(k, v)| (k, v)).collect())
            .unwrap_or_default();
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        let mut ok = true;
        for (k, v) in &with {
            let pname = k.scalar_text().unwrap_or_default();
            let Some(param) = params.iter().find(|p| p.name == pname) else {
                ok = false;
                let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                let hint = similar(pname, names.iter().copied())
                    .unwrap_or_else(|| format!("the package's parameters: {}", names.join(", ")));
                self.error(k.span, format!("the package {folder} has no parameter \"{pname}\""))
                    .in_context(context)
                    .hint(hint);
                continue;
            };
            let written = match &v.value {
                Value::Seq(items) => {
                    items.iter().map(|i| i.scalar_text().unwrap_or_default().to_string()).collect::<Vec<_>>().join(",")
                }
                _ => v.scalar_text().unwrap_or_default().to_string(),
            };
            let filled = interpolate(&written, |n| pipeline_values.and_then(|m| m.get(n)).map(|p| p.to_string()));
            let filled = match filled {
                Ok(f) => f,
                Err(n) => {
                    ok = false;
                    self.error(v.span, format!("unknown parameter \"${{{n}}}\""))
                        .in_context(context)
                        .hint("`with:` values may use the pipeline's own parameters");
                    continue;
                }
            };
            match check_value(param.ty, &filled, dir) {
                Ok(()) => {
                    values.insert(param.name.clone(), filled);
                }
                Err(why) => {
                    ok = false;
                    self.error(v.span, format!("`{pname}` of the package {folder}: {why}")).in_context(context);
                }
            }
        }
        (values, ok)
    }
}

/// One entry of `uses:` being read: its key and mapping, the package folder
/// it names, its context (`uses.loop`) and the pipeline's folder.
struct UseEntry<'a> {
    key: &'a Node,
    value: &'a Node,
    folder: &'a str,
    context: &'a str,
    dir: &'a Path,
}

/// The package's text with every `${name}` replaced, comment lines left as
/// they are; an unknown name comes back with its line and column.
fn fill(text: &str, values: &BTreeMap<String, String>) -> Result<String, (String, usize, usize)> {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        match interpolate(line, |n| values.get(n).cloned()) {
            Ok(filled) => out.push_str(&filled),
            Err(name) => {
                let column = line.find(&format!("${{{name}")).map(|b| line[..b].chars().count() + 1).unwrap_or(1);
                return Err((name, i + 1, column));
            }
        }
    }
    Ok(out)
}

/// `pipelines/../packages/x` as `packages/x`: `..` taken against the parts before it.
fn lexical(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut parts: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() { std::path::PathBuf::from(".") } else { parts.iter().collect() }
}

/// Whether a value written into a package fits its parameter's type, and
/// cannot change the shape of the package's text (no quotes, `;`, line breaks
/// or comments).
fn check_value(ty: ParamType, value: &str, dir: &Path) -> Result<(), String> {
    if value.contains(['\'', '"', ';', '\n', '\r', '`']) || value.contains("--") {
        return Err(format!("\"{value}\" may not hold quotes, `;`, `--` or line breaks"));
    }
    // A string is a name (a table, a prefix, a code): one word, so it cannot
    // add a clause (`screenings WHERE …`) to the query it is written into.
    if ty == ParamType::String && !value.chars().all(|c| c.is_alphanumeric() || "_-./".contains(c)) {
        return Err(format!(
            "\"{value}\" is not a name: a text parameter of a package takes one word (letters, digits, `_`, `-`, `.`, `/`)"
        ));
    }
    ParamValue::parse(ty, value, dir).map(|_| ()).map_err(|e| format!("not a {ty}: {e}"))
}
