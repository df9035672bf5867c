//! Validation: from a pipeline file to a [`Plan`], reporting every mistake at once.
//!
//! This pass is pure — it reads the YAML text and nothing else. It checks the
//! YAML syntax, unknown and missing keys, the parameters and `--set` values,
//! each entry's plugin and its configuration, names (valid, unique),
//! references to tables (known, no cycles) and `${name}` in strings. Each
//! problem is a [`Diagnostic`] with file:line:column and a hint. Checks that
//! need the files (inputs exist, SQL plans against the real schemas) are the
//! engine's `check`.

use crate::checks::Check;
use crate::contract::Contract;
use crate::diag::{Diagnostic, Location, similar};
use crate::model::{
    Entry, ParamDef, ParamSpec, Pipeline, SOURCE_OPTION_KEYS, STEP_OPTION_KEYS, SourceOptions, StepOptions,
};
use crate::params::{ParamType, ParamValue, referenced_names};
use crate::plugin::{
    AnyConfig, ConfigIssue, ErasedSink, ErasedSource, ErasedTransform, Functions, PluginHandle, PluginKind, Registry,
    RunContext,
};
use crate::yaml::{self, Node, PathPart, Span, Value, error_path};
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod checks;
mod contract_section;
mod functions;
mod packages;

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
    let mut v = Validator { file: file.to_string(), diags: Vec::new(), warnings: Vec::new() };
    let plan = v.pipeline(&root, text, dir, registry, options);
    if v.diags.is_empty() {
        let mut plan = plan.expect("a plan exists when there are no errors");
        plan.warnings = v.warnings;
        Ok(plan)
    } else {
        v.diags.sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.column)).unwrap_or((usize::MAX, 0)));
        Err(v.diags)
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

struct Validator {
    file: String,
    diags: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

/// What `${out}` stands for in a path parameter's default: the output folder.
const OUT_VAR: &str = "${out}";

/// Whether `name` can be a table name in SQL without quoting.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Validator {
    fn loc(&self, span: Span) -> Option<Location> {
        Some(Location { file: self.file.clone(), line: span.line, column: span.column })
    }
    fn error(&mut self, span: Span, message: impl Into<String>) -> Pending<'_> {
        let d = Diagnostic::invalid(message).at(self.loc(span));
        self.diags.push(d);
        Pending(self.diags.last_mut().expect("just pushed"))
    }

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

    fn pipeline(
        &mut self,
        root: &Node,
        text: &str,
        dir: &Path,
        registry: &Registry,
        options: &ValidateOptions,
    ) -> Option<Plan> {
        if root.as_map().is_none() {
            self.error(
                root.span,
                format!("a pipeline must be a mapping with `name:` and `sources:`, found {}", root.kind_name()),
            )
            .hint("start the file with `name: my-pipeline`");
            return None;
        }
        self.unknown_keys(root, TOP_KEYS, "the pipeline", "pipeline");
        let name = match root.get("name") {
            Some(n) => match n.as_str() {
                Some(s) if !s.trim().is_empty() => s.to_string(),
                _ => {
                    self.error(n.span, format!("`name` must be a non-empty string, found {}", n.kind_name()));
                    String::new()
                }
            },
            None => {
                self.error(root.span, "missing required key \"name\"").hint("add `name: my-pipeline` at the top");
                String::new()
            }
        };
        let description = root.get("description").and_then(|n| {
            let s = n.as_str().map(str::to_string);
            if s.is_none() && n.value != Value::Null {
                self.error(n.span, format!("`description` must be a string, found {}", n.kind_name()));
            }
            s
        });

        let params = self.params(root.get("params"));
        let values = self.param_values(&params, dir, options);
        let packages = self.packages(root, dir, values.as_ref().map(|(m, _)| m));
        let sql_functions = self.functions(root, text, dir, registry, &packages);
        let contract = self.contract(root, dir, &packages);

        let mut entries = Vec::new();
        for kind in [PluginKind::Source, PluginKind::Transform, PluginKind::Sink] {
            match root.get(kind.section()) {
                Some(section) => entries.extend(self.section(kind, section)),
                None if kind == PluginKind::Source => {
                    self.error(root.span, "missing required key \"sources\"")
                        .hint("a pipeline reads at least one export: add a `sources:` mapping");
                }
                None => {}
            }
        }
        // A package's steps join the pipeline's, named in its own file.
        for package in &packages {
            if let Some(steps) = package.root.get("steps") {
                let pipeline_file = std::mem::replace(&mut self.file, package.file.clone());
                let mut added = self.section(PluginKind::Transform, steps);
                for e in &mut added {
                    e.file = Some(package.file.clone());
                }
                entries.extend(added);
                self.file = pipeline_file;
            }
        }
        let pipeline_file = self.file.clone();
        let pipeline = Pipeline {
            file: self.file.clone(),
            dir: dir.to_path_buf(),
            text: text.to_string(),
            name,
            description,
            params: params.clone(),
            entries,
        };

        // Names: valid, unique across tables.
        let mut tables: HashMap<String, (PluginKind, Span)> = HashMap::new();
        let mut output_names = HashSet::new();
        for e in &pipeline.entries {
            self.file = e.file.clone().unwrap_or_else(|| pipeline_file.clone());
            if !is_identifier(&e.name) {
                self.error(e.name_span, format!("\"{}\" cannot be a table name", e.name))
                    .in_context(e.context())
                    .hint("use letters, digits and `_`, starting with a letter (e.g. `services_2025`)");
            }
            if e.kind == PluginKind::Sink {
                output_names.insert(e.name.clone());
                continue;
            }
            if let Some((kind, span)) = tables.get(&e.name) {
                let first = format!("{}:{}:{}", self.file, span.line, span.column);
                let first_kind = kind.section();
                self.error(e.name_span, format!("duplicate table name \"{}\"", e.name))
                    .in_context(e.context())
                    .hint(format!("first declared under {first_kind} at {first}; table names must be unique"));
            } else {
                tables.insert(e.name.clone(), (e.kind, e.name_span));
            }
        }

        self.file = pipeline_file.clone();
        let mut checks = Vec::new();
        // A package's checks come first, named in its own file.
        for package in &packages {
            self.file = package.file.clone();
            let added = self.checks(package.root.get("checks"), &tables);
            checks.extend(added.into_iter().map(|mut c| {
                c.file = Some(package.file.clone());
                c.context = format!("{} ({})", c.context, package.file);
                c
            }));
        }
        self.file = pipeline_file.clone();
        let own = self.checks(root.get("checks"), &tables);
        for c in own {
            if let Some(first) = checks.iter().find(|d| d.name == c.name) {
                self.error(c.span, format!("two checks are named \"{}\"", c.name))
                    .in_context(&c.context)
                    .hint(format!("the other is {}; give one a `name:`", first.context));
            } else {
                checks.push(c);
            }
        }

        // `${name}` in every string of sources and outputs.
        let mut known_params: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
        known_params.push("as_of".to_string());
        for e in pipeline.entries.iter().filter(|e| e.kind != PluginKind::Transform) {
            self.interpolations(&e.node, &known_params, &e.context());
        }

        // Plugins and their settings; those naming a parameter are checked
        // again once the parameters are known.
        // (entry, plugin, its settings, the issues already reported for them)
        let mut with_parameters: Vec<(Entry, PluginHandle, Node, Vec<String>)> = Vec::new();
        let mut sources = Vec::new();
        let mut steps = Vec::new();
        let mut outputs = Vec::new();
        for e in &pipeline.entries {
            self.file = e.file.clone().unwrap_or_else(|| pipeline_file.clone());
            let Some(handle) = registry.get(e.kind, &e.plugin) else {
                let span = e.node.get("plugin").map(|n| n.span).unwrap_or(e.name_span);
                let names = registry.names(e.kind);
                let hint = similar(&e.plugin, names.iter().copied())
                    .unwrap_or_else(|| format!("{} plugins: {}", e.kind, names.join(", ")));
                let other_kind = [PluginKind::Source, PluginKind::Transform, PluginKind::Sink]
                    .into_iter()
                    .find(|k| *k != e.kind && registry.get(*k, &e.plugin).is_some());
                let hint = match other_kind {
                    Some(k) => format!("\"{}\" is a {k} plugin: put it under `{}:`; {hint}", e.plugin, k.section()),
                    None => hint,
                };
                self.error(span, format!("unknown {} plugin \"{}\"", e.kind, e.plugin))
                    .in_context(e.context())
                    .hint(hint);
                continue;
            };
            let (plugin_node, source_options, step_options) = self.split_entry(e);
            let Some(config) = self.parse_config(e, handle, &plugin_node) else { continue };
            let issues = handle.plugin().check(&config);
            for issue in &issues {
                self.issue(e, issue);
            }
            if plugin_node.to_json().to_string().contains("${") {
                let reported = issues.into_iter().map(|i| i.message).collect();
                with_parameters.push((e.clone(), handle.clone(), plugin_node.clone(), reported));
            }
            match handle {
                PluginHandle::Source(p) => {
                    let mut options = source_options.unwrap_or_default();
                    options.within = Some(contract);
                    let references = self.source_options(e, &options, &pipeline);
                    sources.push(PlannedSource {
                        name: e.name.clone(),
                        plugin: p.clone(),
                        plugin_name: e.plugin.clone(),
                        config,
                        options,
                        references,
                    });
                }
                PluginHandle::Transform(p) => match p.inputs(&config) {
                    Ok(inputs) => steps.push(PlannedStep {
                        name: e.name.clone(),
                        plugin: p.clone(),
                        config,
                        inputs,
                        options: step_options.unwrap_or_default(),
                    }),
                    Err(issue) => self.issue(e, &issue),
                },
                PluginHandle::Sink(p) => {
                    let inputs = p.inputs(&config);
                    outputs.push(PlannedOutput { name: e.name.clone(), plugin: p.clone(), config, inputs });
                }
            }
        }

        self.file = pipeline_file.clone();
        // References to tables.
        let table_names: Vec<&str> = tables.keys().map(String::as_str).collect();
        for (kind, name, inputs) in steps
            .iter()
            .map(|s| (PluginKind::Transform, &s.name, &s.inputs))
            .chain(outputs.iter().map(|o| (PluginKind::Sink, &o.name, &o.inputs)))
        {
            let entry = pipeline.section(kind).find(|e| &e.name == name).expect("entry exists");
            self.file = entry.file.clone().unwrap_or_else(|| pipeline_file.clone());
            for input in inputs {
                if tables.contains_key(input) || input.contains('.') {
                    continue;
                }
                let span = match entry.file {
                    None => find_word_after(text, entry.name_span, input).unwrap_or(entry.name_span),
                    Some(_) => entry.name_span,
                };
                let hint = similar(input, table_names.iter().copied())
                    .unwrap_or_else(|| format!("tables: {}", sorted(&table_names).join(", ")));
                self.error(span, format!("unknown table \"{input}\"")).in_context(entry.context()).hint(hint);
            }
        }
        self.file = pipeline_file.clone();
        for o in &outputs {
            if o.inputs.is_empty() {
                let entry = pipeline.section(PluginKind::Sink).find(|e| e.name == o.name).expect("entry exists");
                self.error(entry.name_span, "this output writes no table").in_context(entry.context());
            }
        }

        // Order: sources after the sources they reference, steps after their inputs.
        let sources = self.order_sources(sources, &pipeline);
        let steps = self.order_steps(steps, &pipeline, &tables);

        let (params_map, as_of) = values?;
        let run = RunContext {
            pipeline_dir: dir.to_path_buf(),
            out_dir: options.out_dir.clone(),
            params: params_map,
            as_of,
            sql_functions: Arc::new(sql_functions),
            contract,
        };
        // Settings that name a parameter, checked with its value: `audience:
        // ${audience}` run with `--set audience=publc` is refused here, before
        // anything runs, as a misspelt literal is.
        for (e, handle, node, reported) in &with_parameters {
            let filled = fill_parameters(node.to_json(), &run);
            let Ok(config) = handle.plugin().parse(filled) else { continue };
            for mut issue in handle.plugin().check(&config).into_iter().filter(|i| !reported.contains(&i.message)) {
                self.file = e.file.clone().unwrap_or_else(|| pipeline_file.clone());
                issue.message.push_str(" (with the parameters filled in)");
                self.issue(e, &issue);
            }
        }
        self.file = pipeline_file.clone();
        // Every output stays inside --out once the parameters are filled in
        // (a report's `{unit}` stands for a key of its data, checked again when it is written).
        for e in pipeline.section(PluginKind::Sink) {
            let Some(node) = e.node.get("path") else { continue };
            let Some(Ok(path)) = node.as_str().map(|p| run.interpolate(p)) else { continue };
            if let Err(why) = crate::plugin::confine(&run.out_dir, &path.replace("{unit}", "unit")) {
                self.file = e.file.clone().unwrap_or_else(|| pipeline_file.clone());
                self.error(node.span, format!("the output path \"{path}\" {why}"))
                    .in_context(e.context())
                    .hint("outputs are written inside the folder given with --out: write their paths relative to it");
            }
        }
        self.file = pipeline_file.clone();
        Some(Plan {
            pipeline,
            run,
            sources,
            steps,
            outputs,
            checks,
            warnings: Vec::new(),
            functions: registry.functions().clone(),
            contract,
        })
    }

    fn params(&mut self, node: Option<&Node>) -> Vec<ParamDef> {
        let Some(node) = node else { return Vec::new() };
        let Some(entries) = node.as_map() else {
            if node.value != Value::Null {
                self.error(
                    node.span,
                    format!(
                        "`params` must be a mapping of name → {{type, default, description}}, found {}",
                        node.kind_name()
                    ),
                );
            }
            return Vec::new();
        };
        self.unknown_keys(
            node,
            &entries.iter().filter_map(|(k, _)| k.scalar_text()).collect::<Vec<_>>(),
            "params",
            "params",
        );
        let mut out = Vec::new();
        for (key, value) in entries {
            let name = key.scalar_text().unwrap_or_default().to_string();
            let context = format!("params.{name}");
            if !is_identifier(&name) {
                self.error(key.span, format!("\"{name}\" cannot be a parameter name"))
                    .in_context(&context)
                    .hint("use letters, digits and `_`, starting with a letter");
            }
            if value.as_map().is_none() {
                self.error(
                    value.span,
                    format!("parameter \"{name}\" must be a mapping with `type:`, found {}", value.kind_name()),
                )
                .in_context(&context)
                .hint("e.g. `year: {type: int, default: 2025}`");
                continue;
            }
            let spec: ParamSpec = match serde_path_to_error::deserialize(value.to_json()) {
                Ok(spec) => spec,
                Err(err) => {
                    self.serde_error(value, &err, &context, &["type", "default", "description", "one_of", "in_data"]);
                    continue;
                }
            };
            let default = spec.default.as_ref().and_then(|d| match d {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Array(items) => Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                other => Some(other.to_string()),
            });
            out.push(ParamDef {
                name,
                ty: spec.ty,
                default,
                description: spec.description,
                one_of: spec.one_of,
                in_data: spec.in_data,
                span: key.span,
            });
        }
        out
    }

    fn param_values(
        &mut self,
        params: &[ParamDef],
        dir: &Path,
        options: &ValidateOptions,
    ) -> Option<(BTreeMap<String, ParamValue>, NaiveDate)> {
        let mut values = BTreeMap::new();
        let mut ok = true;
        for p in params {
            if let Some(default) = &p.default {
                // `${out}` in a path's default is the run's output folder
                // (`metrics: ${out}/metrics.parquet`: the table this --out holds).
                let (default, base) = match p.ty {
                    ParamType::Path if default.contains(OUT_VAR) => (
                        std::borrow::Cow::Owned(default.replace(OUT_VAR, &options.out_dir.display().to_string())),
                        options.cwd.as_path(),
                    ),
                    _ => (std::borrow::Cow::Borrowed(default.as_str()), dir),
                };
                match ParamValue::parse(p.ty, &default, base) {
                    Ok(v) => {
                        values.insert(p.name.clone(), v);
                    }
                    Err(msg) => {
                        ok = false;
                        self.error(p.span, format!("the default of parameter \"{}\" is not a {}: {msg}", p.name, p.ty))
                            .in_context(format!("params.{}", p.name));
                    }
                }
            }
        }
        let mut as_of_type = ParamType::Date;
        if let Some(p) = params.iter().find(|p| p.name == "as_of") {
            as_of_type = p.ty;
            if p.ty != ParamType::Date {
                ok = false;
                self.error(p.span, "parameter \"as_of\" must have type date").in_context("params.as_of");
            }
        }
        for set in &options.sets {
            let (key, text) = match crate::params::parse_set(set) {
                Ok(kv) => kv,
                Err(d) => {
                    ok = false;
                    self.diags.push(d);
                    continue;
                }
            };
            let ty = match params.iter().find(|p| p.name == key) {
                Some(p) => p.ty,
                None if key == "as_of" => as_of_type,
                None => {
                    ok = false;
                    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).chain(["as_of"]).collect();
                    let hint = similar(key, names.iter().copied())
                        .unwrap_or_else(|| format!("parameters of this pipeline: {}", names.join(", ")));
                    self.diags.push(
                        Diagnostic::invalid(format!("--set {key}: unknown parameter \"{key}\""))
                            .in_context("--set")
                            .hint(hint),
                    );
                    continue;
                }
            };
            match ParamValue::parse(ty, text, &options.cwd) {
                Ok(v) => {
                    values.insert(key.to_string(), v);
                }
                Err(msg) => {
                    ok = false;
                    self.diags.push(
                        Diagnostic::invalid(format!("--set {key}: {msg}"))
                            .in_context("--set")
                            .hint(format!("parameter \"{key}\" has type {ty}")),
                    );
                }
            }
        }
        // A value outside `one_of`, from `--set` or the default.
        for p in params.iter().filter(|p| !p.one_of.is_empty()) {
            let Some(value) = values.get(&p.name).map(ToString::to_string) else { continue };
            if p.one_of.contains(&value) {
                continue;
            }
            ok = false;
            let allowed = p.one_of.join(", ");
            let hint = match similar(&value, p.one_of.iter().map(String::as_str)) {
                Some(close) => format!("{close}; allowed: {allowed}"),
                None => format!("allowed: {allowed}"),
            };
            let given = options.sets.iter().any(|s| crate::params::parse_set(s).is_ok_and(|(k, _)| k == p.name));
            if given {
                self.diags.push(
                    Diagnostic::invalid(format!("--set {}: \"{value}\" is not one of {allowed}", p.name))
                        .in_context("--set")
                        .hint(hint),
                );
            } else {
                self.error(p.span, format!("the default of parameter \"{}\" is not one of {allowed}", p.name))
                    .in_context(format!("params.{}", p.name))
                    .hint(hint);
            }
        }
        for p in params {
            if !values.contains_key(&p.name) {
                ok = false;
                self.error(p.span, format!("parameter \"{}\" has no default and was not set", p.name))
                    .in_context(format!("params.{}", p.name))
                    .hint(format!("run with --set {}=…, or give it a default", p.name));
            }
        }
        let as_of = match values.get("as_of") {
            Some(ParamValue::Date(d)) => *d,
            _ => options.today,
        };
        values.insert("as_of".to_string(), ParamValue::Date(as_of));
        ok.then_some((values, as_of))
    }

    fn section(&mut self, kind: PluginKind, node: &Node) -> Vec<Entry> {
        let section = kind.section();
        let Some(map) = node.as_map() else {
            if node.value != Value::Null {
                self.error(
                    node.span,
                    format!("`{section}` must be a mapping of name → settings, found {}", node.kind_name()),
                )
                .hint(format!("e.g.\n{section}:\n  my_table:\n    plugin: …"));
            }
            return Vec::new();
        };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (key, value) in map {
            let name = key.scalar_text().unwrap_or_default().to_string();
            let context = format!("{section}.{name}");
            if !seen.insert(name.clone()) {
                self.error(key.span, format!("duplicate name \"{name}\" in {section}"))
                    .in_context(&context)
                    .hint("names must be unique");
                continue;
            }
            if value.as_map().is_none() {
                self.error(
                    value.span,
                    format!("{section} entry \"{name}\" must be a mapping with `plugin:`, found {}", value.kind_name()),
                )
                .in_context(&context);
                continue;
            }
            let plugin = match value.get("plugin") {
                Some(p) => match p.as_str() {
                    Some(s) => s.to_string(),
                    None => {
                        self.error(p.span, format!("`plugin` must be a plugin name, found {}", p.kind_name()))
                            .in_context(&context);
                        continue;
                    }
                },
                None => {
                    self.error(key.span, "missing required key \"plugin\"")
                        .in_context(&context)
                        .hint("say which plugin this entry uses, e.g. `plugin: csv`; `sunward plugins` lists them");
                    continue;
                }
            };
            out.push(Entry { kind, name, name_span: key.span, plugin, node: value.clone(), file: None });
        }
        out
    }

    fn interpolations(&mut self, node: &Node, known: &[String], context: &str) {
        match &node.value {
            Value::Str(s) => {
                for name in referenced_names(s) {
                    if !known.contains(&name) {
                        let hint = similar(&name, known.iter().map(String::as_str))
                            .unwrap_or_else(|| "declare it under `params:`".to_string());
                        self.error(node.span, format!("unknown parameter \"${{{name}}}\""))
                            .in_context(context)
                            .hint(hint);
                    }
                }
            }
            Value::Seq(items) => items.iter().for_each(|i| self.interpolations(i, known, context)),
            Value::Map(entries) => entries.iter().for_each(|(_, v)| self.interpolations(v, known, context)),
            _ => {}
        }
    }

    /// Split an entry's mapping into the plugin's own keys and, for sources
    /// and steps, the options every source (or step) shares.
    fn split_entry(&mut self, e: &Entry) -> (Node, Option<SourceOptions>, Option<StepOptions>) {
        let entries = e.node.as_map().unwrap_or_default();
        let shared_keys = shared_keys(e.kind);
        let mut own = Vec::new();
        let mut shared = Vec::new();
        for (k, v) in entries {
            let key = k.scalar_text().unwrap_or_default();
            if key == "plugin" {
                continue;
            }
            if shared_keys.contains(&key) {
                shared.push((k.clone(), v.clone()));
            } else {
                own.push((k.clone(), v.clone()));
            }
        }
        // A key missing from the entry is reported at the entry's name.
        let own_node = Node { value: Value::Map(own), span: e.name_span, ..e.node.clone() };
        let shared_node = Node { value: Value::Map(shared), ..e.node.clone() };
        match e.kind {
            PluginKind::Source => (own_node, self.shared_options(e, &shared_node, SOURCE_OPTION_KEYS), None),
            PluginKind::Transform => (own_node, None, self.shared_options(e, &shared_node, STEP_OPTION_KEYS)),
            PluginKind::Sink => (own_node, None, None),
        }
    }

    /// The options an entry shares with its section (`SourceOptions`, `StepOptions`); `None` after reporting why not.
    fn shared_options<T: serde::de::DeserializeOwned>(&mut self, e: &Entry, node: &Node, keys: &[&str]) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(node.to_json()) {
            Ok(o) => Some(o),
            Err(err) => {
                self.serde_error(&e.node, &err, &e.context(), keys);
                None
            }
        }
    }

    fn parse_config(&mut self, e: &Entry, handle: &PluginHandle, node: &Node) -> Option<AnyConfig> {
        match handle.plugin().parse(node.to_json()) {
            Ok(c) => Some(c),
            Err(err) => {
                let mut allowed: Vec<String> = schema_keys(&handle.plugin().schema());
                allowed.push("plugin".into());
                allowed.extend(shared_keys(e.kind).iter().map(|s| s.to_string()));
                let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
                self.serde_error(node, &err, &e.context(), &allowed);
                None
            }
        }
    }

    fn serde_error(
        &mut self,
        node: &Node,
        err: &serde_path_to_error::Error<serde_json::Error>,
        context: &str,
        allowed: &[&str],
    ) {
        let path = error_path(err);
        let inner = err.inner().to_string();
        let field = path.iter().rev().find_map(|p| match p {
            PathPart::Key(k) => Some(k.clone()),
            PathPart::Index(_) => None,
        });
        let (message, hint, span) = if let Some(unknown) = backticked(&inner, "unknown field `") {
            let mut path = path.clone();
            if path.last() == Some(&PathPart::Key(unknown.clone())) {
                path.pop();
            }
            let target = node.find(&path, false);
            let span = target.key_node(&unknown).map(|k| k.span).unwrap_or(target.span);
            let expected: Vec<String> = all_backticked(&inner).into_iter().skip(1).collect();
            let candidates: Vec<&str> =
                if path.is_empty() { allowed.to_vec() } else { expected.iter().map(String::as_str).collect() };
            let hint = similar(&unknown, candidates.iter().copied())
                .unwrap_or_else(|| format!("allowed keys: {}", candidates.join(", ")));
            (format!("unknown key \"{unknown}\""), Some(hint), span)
        } else if let Some(missing) = backticked(&inner, "missing field `") {
            let target = node.find(&path, false);
            (format!("missing required key \"{missing}\""), Some(format!("add `{missing}:`")), target.span)
        } else if let Some(variant) = backticked(&inner, "unknown variant `") {
            let expected: Vec<String> = all_backticked(&inner).into_iter().skip(1).collect();
            let hint = similar(&variant, expected.iter().map(String::as_str))
                .map(|s| format!("{s}; allowed: {}", expected.join(", ")))
                .unwrap_or_else(|| format!("allowed: {}", expected.join(", ")));
            let at = field.as_deref().map(|f| format!(" for \"{f}\"")).unwrap_or_default();
            (format!("unknown value \"{variant}\"{at}"), Some(hint), node.find(&path, false).span)
        } else if inner.starts_with("invalid type") || inner.starts_with("invalid value") {
            let at = field.as_deref().map(|f| format!(" for \"{f}\"")).unwrap_or_default();
            let detail = inner.replacen("invalid type: ", "", 1).replacen("invalid value: ", "", 1);
            let (found, expected) = detail.split_once(", expected ").unwrap_or((detail.as_str(), ""));
            let message = if expected.is_empty() {
                format!("wrong value{at}: {found}")
            } else {
                format!("wrong type{at}: expected {expected}, found {found}")
            };
            (message, None, node.find(&path, false).span)
        } else if inner.starts_with("data did not match any variant") {
            let at = field.as_deref().map(|f| format!(" for \"{f}\"")).unwrap_or_default();
            (
                format!("wrong value{at}"),
                Some("see `sunward plugins` for the allowed forms".to_string()),
                node.find(&path, false).span,
            )
        } else {
            (inner.clone(), None, node.find(&path, false).span)
        };
        let d = self.error(span, message).in_context(context);
        d.0.hint = hint;
    }

    fn issue(&mut self, e: &Entry, issue: &ConfigIssue) {
        let span = e.node.find(&issue.path, false).span;
        let d = self.error(span, issue.message.clone()).in_context(e.context());
        d.0.hint = issue.hint.clone();
    }

    fn source_options(&mut self, e: &Entry, options: &SourceOptions, pipeline: &Pipeline) -> BTreeMap<String, String> {
        let contract = options.within.unwrap_or_else(Contract::builtin);
        let ctx = e.context();
        let field_span = |key: &str| e.node.key_node(key).map(|k| k.span).unwrap_or(e.name_span);
        let mut references = BTreeMap::new();
        let sources: Vec<&Entry> = pipeline.section(PluginKind::Source).collect();
        let source_names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        for (table, source) in &options.references {
            let span = e
                .node
                .get("references")
                .and_then(|r| r.key_node(table))
                .map(|k| k.span)
                .unwrap_or(field_span("references"));
            if contract.table(table).is_none() {
                let hint = similar(table, contract.table_names())
                    .unwrap_or_else(|| contract.table_names().collect::<Vec<_>>().join(", "));
                self.error(span, format!("\"{table}\" is not a contract table")).in_context(&ctx).hint(hint);
            }
            if source != NOT_CHECKED && !source_names.contains(&source.as_str()) {
                let hint = similar(source, source_names.iter().copied())
                    .unwrap_or_else(|| format!("sources: {}", source_names.join(", ")));
                self.error(span, format!("unknown source \"{source}\"")).in_context(&ctx).hint(hint);
            }
        }
        if let Some(max) = &options.max_rejected
            && max.exceeded(0, 1).is_none()
        {
            self.error(
                e.node.get("max_rejected").map(|n| n.span).unwrap_or(e.name_span),
                "`max_rejected` is not a count, a share between 0 and 1, or a percentage like \"5%\"",
            )
            .in_context(&ctx);
        }
        if options.optional && options.contract.is_none() && options.columns.is_empty() {
            self.error(
                e.node.get("optional").map(|n| n.span).unwrap_or(e.name_span),
                "an optional source needs `contract:` or `columns:`: a missing file becomes an empty table with those columns",
            )
            .in_context(&ctx)
            .hint("e.g. `appointments: {plugin: csv, path: …, contract: appointments, optional: true}`");
        }
        let Some(contract_name) = &options.contract else {
            return references;
        };
        let Some(spec) = contract.table(contract_name) else {
            let hint = similar(contract_name, contract.table_names()).unwrap_or_else(|| {
                format!("contract tables: {}", contract.table_names().collect::<Vec<_>>().join(", "))
            });
            self.error(
                e.node.get("contract").map(|n| n.span).unwrap_or(e.name_span),
                format!("unknown contract table \"{contract_name}\""),
            )
            .in_context(&ctx)
            .hint(hint);
            return references;
        };
        if !options.columns.is_empty() {
            self.error(field_span("columns"), "`columns` cannot be used with `contract`")
                .in_context(&ctx)
                .hint("a contract source takes its column types from the data contract; remove `columns:`");
        }
        let canonical: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        if let Some(h) = e.node.get("headers") {
            for (k, v) in h.as_map().unwrap_or_default() {
                let target = v.as_str().unwrap_or_default();
                if !canonical.contains(&target) {
                    let hint = similar(target, canonical.iter().copied())
                        .unwrap_or_else(|| format!("columns of {contract_name}: {}", canonical.join(", ")));
                    let _ = k;
                    self.error(v.span, format!("\"{target}\" is not a column of {contract_name}"))
                        .in_context(&ctx)
                        .hint(hint);
                }
            }
        }
        if let Some(vals) = e.node.get("values") {
            for (k, _) in vals.as_map().unwrap_or_default() {
                let column = k.scalar_text().unwrap_or_default();
                if !canonical.contains(&column) {
                    let hint = similar(column, canonical.iter().copied())
                        .unwrap_or_else(|| format!("columns of {contract_name}: {}", canonical.join(", ")));
                    self.error(k.span, format!("\"{column}\" is not a column of {contract_name}"))
                        .in_context(&ctx)
                        .hint(hint);
                }
            }
        }
        // Which source holds each referenced table.
        // In name order, so warnings come out the same way every run.
        let wanted: std::collections::BTreeSet<&str> =
            spec.columns.iter().filter_map(|c| c.references.map(|(t, _)| t)).collect();
        for table in wanted {
            if let Some(explicit) = options.references.get(table) {
                if explicit != NOT_CHECKED {
                    references.insert(table.to_string(), explicit.clone());
                }
                continue;
            }
            let holders: Vec<&Entry> = sources
                .iter()
                .copied()
                .filter(|s| s.name != e.name && s.node.get("contract").and_then(Node::as_str) == Some(table))
                .collect();
            match holders.as_slice() {
                [one] => {
                    references.insert(table.to_string(), one.name.clone());
                }
                [] => self.warnings.push(
                    Diagnostic::warning(format!(
                        "references to {table} are not checked: no source has `contract: {table}`"
                    ))
                    .at(self.loc(e.name_span))
                    .in_context(&ctx)
                    .hint(format!(
                        "add a source with `contract: {table}` to check them, or say `references: {{{table}: none}}` to leave them unchecked on purpose"
                    )),
                ),
                many => {
                    let names: Vec<&str> = many.iter().map(|s| s.name.as_str()).collect();
                    self.error(e.name_span, format!("several sources hold {table}: {}", names.join(", ")))
                        .in_context(&ctx)
                        .hint(format!("say which one with `references: {{{table}: {}}}`", names[0]));
                }
            }
        }
        references
    }

    fn order_sources(&mut self, sources: Vec<PlannedSource>, pipeline: &Pipeline) -> Vec<PlannedSource> {
        let deps: Vec<(String, Vec<String>)> =
            sources.iter().map(|s| (s.name.clone(), s.references.values().cloned().collect())).collect();
        let order = self.topological(&deps, pipeline, PluginKind::Source);
        let mut by_name: HashMap<String, PlannedSource> = sources.into_iter().map(|s| (s.name.clone(), s)).collect();
        order.into_iter().filter_map(|n| by_name.remove(&n)).collect()
    }

    fn order_steps(
        &mut self,
        steps: Vec<PlannedStep>,
        pipeline: &Pipeline,
        _tables: &HashMap<String, (PluginKind, Span)>,
    ) -> Vec<PlannedStep> {
        let deps: Vec<(String, Vec<String>)> = steps.iter().map(|s| (s.name.clone(), s.inputs.clone())).collect();
        let order = self.topological(&deps, pipeline, PluginKind::Transform);
        let mut by_name: HashMap<String, PlannedStep> = steps.into_iter().map(|s| (s.name.clone(), s)).collect();
        order.into_iter().filter_map(|n| by_name.remove(&n)).collect()
    }

    /// Order `nodes` so each comes after its dependencies among `nodes`
    /// (dependencies outside are already available); report cycles.
    fn topological(&mut self, nodes: &[(String, Vec<String>)], pipeline: &Pipeline, kind: PluginKind) -> Vec<String> {
        let names: HashSet<&str> = nodes.iter().map(|(n, _)| n.as_str()).collect();
        let deps: HashMap<&str, Vec<&str>> = nodes
            .iter()
            .map(|(n, d)| (n.as_str(), d.iter().map(String::as_str).filter(|x| names.contains(x) && *x != n).collect()))
            .collect();
        let mut order = Vec::new();
        let mut state: HashMap<&str, u8> = HashMap::new(); // 1 visiting, 2 done
        let mut reported = false;
        fn visit<'a>(
            n: &'a str,
            deps: &HashMap<&'a str, Vec<&'a str>>,
            state: &mut HashMap<&'a str, u8>,
            stack: &mut Vec<&'a str>,
            order: &mut Vec<String>,
            cycle: &mut Option<Vec<String>>,
        ) {
            match state.get(n) {
                Some(2) => return,
                Some(1) => {
                    if cycle.is_none() {
                        let start = stack.iter().position(|s| *s == n).unwrap_or(0);
                        let mut c: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                        c.push(n.to_string());
                        *cycle = Some(c);
                    }
                    return;
                }
                _ => {}
            }
            state.insert(n, 1);
            stack.push(n);
            for d in deps.get(n).into_iter().flatten() {
                visit(d, deps, state, stack, order, cycle);
            }
            stack.pop();
            state.insert(n, 2);
            order.push(n.to_string());
        }
        for (n, _) in nodes {
            let mut cycle = None;
            visit(n, &deps, &mut state, &mut Vec::new(), &mut order, &mut cycle);
            if let Some(c) = cycle
                && !reported
            {
                reported = true;
                let span = pipeline.section(kind).find(|e| e.name == c[0]).map(|e| e.name_span).unwrap_or_default();
                self.error(
                    span,
                    format!("these {} depend on each other in a cycle: {}", kind.section(), c.join(" → ")),
                )
                .in_context(format!("{}.{}", kind.section(), c[0]))
                .hint("a table cannot be computed from itself; break the cycle");
            }
        }
        order
    }
}

/// `value` with `${name}` in every string replaced by the parameter's value
/// (a string naming an unknown parameter is left as it is: reported elsewhere).
fn fill_parameters(value: serde_json::Value, run: &RunContext) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        J::String(s) if s.contains("${") => J::String(run.interpolate(&s).unwrap_or(s)),
        J::Array(items) => J::Array(items.into_iter().map(|v| fill_parameters(v, run)).collect()),
        J::Object(map) => J::Object(map.into_iter().map(|(k, v)| (k, fill_parameters(v, run))).collect()),
        other => other,
    }
}

fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut v = names.to_vec();
    v.sort_unstable();
    v
}

/// The text between `prefix` and the next backtick.
fn backticked(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)? + prefix.len();
    let end = text[start..].find('`')?;
    Some(text[start..start + end].to_string())
}

fn all_backticked(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_string).collect()
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

/// The keys every entry of a section accepts besides its plugin's own.
fn shared_keys(kind: PluginKind) -> &'static [&'static str] {
    match kind {
        PluginKind::Source => SOURCE_OPTION_KEYS,
        PluginKind::Transform => STEP_OPTION_KEYS,
        PluginKind::Sink => &[],
    }
}
