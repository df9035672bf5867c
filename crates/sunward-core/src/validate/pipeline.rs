//! Validating a whole pipeline file, step by step: its top-level keys, its
//! parameters and what it takes in (packages, functions, contract), its
//! entries and their names, its checks, each entry's plugin and settings,
//! the tables each step and output reads, and — once the parameters have
//! their values — the settings that name a parameter and the output paths.
//! [`Validator::pipeline`] runs the steps in that order and builds the [`Plan`].

use super::packages::UsedPackage;
use super::{
    Plan, PlannedOutput, PlannedSource, PlannedStep, TOP_KEYS, ValidateOptions, Validator, find_word_after,
    is_identifier,
};
use crate::contract::Contract;
use crate::diag::similar;
use crate::model::{Entry, Pipeline};
use crate::plugin::{PluginHandle, PluginKind, Registry, RunContext};
use crate::yaml::{Node, Span, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The pipeline's tables (sources and steps), each with its kind and where
/// its name is written.
pub(super) type Tables = HashMap<String, (PluginKind, Span)>;

/// The entries whose plugin and settings are valid, ready to run, and those
/// whose settings name a parameter.
#[derive(Default)]
struct PlannedEntries {
    sources: Vec<PlannedSource>,
    steps: Vec<PlannedStep>,
    outputs: Vec<PlannedOutput>,
    /// Settings to check again once the parameters have their values: the
    /// entry, its plugin, its settings and the issues already reported for them.
    with_parameters: Vec<(Entry, PluginHandle, Node, Vec<String>)>,
}

impl Validator<'_> {
    /// The plan of a pipeline file whose text is `text` and whose folder is
    /// `dir`, or `None` when it is not a mapping or its parameters have no
    /// valid values (every problem is recorded either way).
    pub(super) fn pipeline(
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
        let name = self.pipeline_name(root);
        let description = self.description(root);

        let params = self.params(root.get("params"));
        let values = self.param_values(&params, dir, options);
        let packages = self.packages(root, dir, values.as_ref().map(|(m, _)| m));
        let sql_functions = self.functions(root, text, dir, registry, &packages);
        let contract = self.contract(root, dir, &packages);

        let entries = self.entries(root, &packages);
        let pipeline = Pipeline {
            file: self.file.to_string(),
            dir: dir.to_path_buf(),
            text: text.to_string(),
            name,
            description,
            params,
            entries,
        };
        let tables = self.table_names(&pipeline);
        let checks = self.all_checks(root, &packages, &tables);
        self.parameters_in_strings(&pipeline);
        let planned = self.plan_entries(&pipeline, registry, contract);
        self.table_references(&pipeline, &tables, &planned);
        self.outputs_without_tables(&pipeline, &planned.outputs);

        // Order: sources after the sources they reference, steps after their inputs.
        let PlannedEntries { sources, steps, outputs, with_parameters } = planned;
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
        self.settings_with_parameters(&with_parameters, &run);
        self.output_paths(&pipeline, &run);
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

    /// The pipeline's `name:` (empty after reporting it missing or not a string).
    fn pipeline_name(&mut self, root: &Node) -> String {
        match root.get("name") {
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
        }
    }

    /// The pipeline's `description:`, if it is a string.
    fn description(&mut self, root: &Node) -> Option<String> {
        root.get("description").and_then(|n| {
            let s = n.as_str().map(str::to_string);
            if s.is_none() && n.value != Value::Null {
                self.error(n.span, format!("`description` must be a string, found {}", n.kind_name()));
            }
            s
        })
    }

    /// The entries of `sources:`, `steps:` and `outputs:`, then the
    /// packages' steps, each of those named in its package's file.
    fn entries(&mut self, root: &Node, packages: &[UsedPackage]) -> Vec<Entry> {
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
        for package in packages {
            if let Some(steps) = package.root.get("steps") {
                let mut added = self.of_file(&package.file).section(PluginKind::Transform, steps);
                for e in &mut added {
                    e.file = Some(package.file.clone());
                }
                entries.extend(added);
            }
        }
        entries
    }

    /// The tables (sources and steps) by name, each name checked: valid,
    /// and unique across tables.
    fn table_names(&mut self, pipeline: &Pipeline) -> Tables {
        let mut tables = Tables::new();
        for e in &pipeline.entries {
            let mut v = self.of_entry(e);
            if !is_identifier(&e.name) {
                v.error(e.name_span, format!("\"{}\" cannot be a table name", e.name))
                    .in_context(e.context())
                    .hint("use letters, digits and `_`, starting with a letter (e.g. `services_2025`)");
            }
            if e.kind == PluginKind::Sink {
                continue;
            }
            if let Some((kind, span)) = tables.get(&e.name) {
                let first = format!("{}:{}:{}", v.file, span.line, span.column);
                let first_kind = kind.section();
                v.error(e.name_span, format!("duplicate table name \"{}\"", e.name))
                    .in_context(e.context())
                    .hint(format!("first declared under {first_kind} at {first}; table names must be unique"));
            } else {
                tables.insert(e.name.clone(), (e.kind, e.name_span));
            }
        }
        tables
    }

    /// The packages' checks (each named in its package's file), then the
    /// pipeline's own, whose names may not repeat one already taken.
    fn all_checks(&mut self, root: &Node, packages: &[UsedPackage], tables: &Tables) -> Vec<crate::checks::Check> {
        let mut checks = Vec::new();
        for package in packages {
            let added = self.of_file(&package.file).checks(package.root.get("checks"), tables);
            checks.extend(added.into_iter().map(|mut c| {
                c.file = Some(package.file.clone());
                c.context = format!("{} ({})", c.context, package.file);
                c
            }));
        }
        let own = self.checks(root.get("checks"), tables);
        for c in own {
            if let Some(first) = checks.iter().find(|d| d.name == c.name) {
                self.error(c.span, format!("two checks are named \"{}\"", c.name))
                    .in_context(&c.context)
                    .hint(format!("the other is {}; give one a `name:`", first.context));
            } else {
                checks.push(c);
            }
        }
        checks
    }

    /// `${name}` in every string of sources and outputs names a declared
    /// parameter (or `as_of`).
    fn parameters_in_strings(&mut self, pipeline: &Pipeline) {
        let mut known_params: Vec<String> = pipeline.params.iter().map(|p| p.name.clone()).collect();
        known_params.push("as_of".to_string());
        for e in pipeline.entries.iter().filter(|e| e.kind != PluginKind::Transform) {
            self.interpolations(&e.node, &known_params, &e.context());
        }
    }

    /// Each entry's plugin and settings; those naming a parameter are kept
    /// to be checked again once the parameters are known.
    fn plan_entries(
        &mut self,
        pipeline: &Pipeline,
        registry: &Registry,
        contract: &'static Contract,
    ) -> PlannedEntries {
        let mut planned = PlannedEntries::default();
        for e in &pipeline.entries {
            let mut v = self.of_entry(e);
            let Some(handle) = registry.get(e.kind, &e.plugin) else {
                v.unknown_plugin(e, registry);
                continue;
            };
            let (plugin_node, source_options, step_options) = v.split_entry(e);
            let Some(config) = v.parse_config(e, handle, &plugin_node) else { continue };
            let issues = handle.plugin().check(&config);
            for issue in &issues {
                v.issue(e, issue);
            }
            if plugin_node.to_json().to_string().contains("${") {
                let reported = issues.into_iter().map(|i| i.message).collect();
                planned.with_parameters.push((e.clone(), handle.clone(), plugin_node.clone(), reported));
            }
            match handle {
                PluginHandle::Source(p) => {
                    let mut options = source_options.unwrap_or_default();
                    options.within = Some(contract);
                    let references = v.source_options(e, &options, pipeline);
                    planned.sources.push(PlannedSource {
                        name: e.name.clone(),
                        plugin: p.clone(),
                        plugin_name: e.plugin.clone(),
                        config,
                        options,
                        references,
                    });
                }
                PluginHandle::Transform(p) => match p.inputs(&config) {
                    Ok(inputs) => planned.steps.push(PlannedStep {
                        name: e.name.clone(),
                        plugin: p.clone(),
                        config,
                        inputs,
                        options: step_options.unwrap_or_default(),
                    }),
                    Err(issue) => v.issue(e, &issue),
                },
                PluginHandle::Sink(p) => {
                    let inputs = p.inputs(&config);
                    planned.outputs.push(PlannedOutput { name: e.name.clone(), plugin: p.clone(), config, inputs });
                }
            }
        }
        planned
    }

    /// An entry's plugin is not registered for its section: the error names
    /// the plugins that are, and the section it belongs to if it is another's.
    fn unknown_plugin(&mut self, e: &Entry, registry: &Registry) {
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
        self.error(span, format!("unknown {} plugin \"{}\"", e.kind, e.plugin)).in_context(e.context()).hint(hint);
    }

    /// Every table a step or an output reads is a table of the pipeline;
    /// an unknown one is pointed at where the pipeline file writes it.
    fn table_references(&mut self, pipeline: &Pipeline, tables: &Tables, planned: &PlannedEntries) {
        let table_names: Vec<&str> = tables.keys().map(String::as_str).collect();
        for (kind, name, inputs) in planned
            .steps
            .iter()
            .map(|s| (PluginKind::Transform, &s.name, &s.inputs))
            .chain(planned.outputs.iter().map(|o| (PluginKind::Sink, &o.name, &o.inputs)))
        {
            let entry = pipeline.section(kind).find(|e| &e.name == name).expect("entry exists");
            let mut v = self.of_entry(entry);
            for input in inputs {
                if tables.contains_key(input) || input.contains('.') {
                    continue;
                }
                let span = match entry.file {
                    None => find_word_after(&pipeline.text, entry.name_span, input).unwrap_or(entry.name_span),
                    Some(_) => entry.name_span,
                };
                let hint = similar(input, table_names.iter().copied())
                    .unwrap_or_else(|| format!("tables: {}", sorted(&table_names).join(", ")));
                v.error(span, format!("unknown table \"{input}\"")).in_context(entry.context()).hint(hint);
            }
        }
    }

    /// An output that names no table is an error at its name.
    fn outputs_without_tables(&mut self, pipeline: &Pipeline, outputs: &[PlannedOutput]) {
        for o in outputs {
            if o.inputs.is_empty() {
                let entry = pipeline.section(PluginKind::Sink).find(|e| e.name == o.name).expect("entry exists");
                self.error(entry.name_span, "this output writes no table").in_context(entry.context());
            }
        }
    }

    /// Settings that name a parameter, checked with its value: `audience:
    /// ${audience}` run with `--set audience=publc` is refused here, before
    /// anything runs, as a misspelt literal is.
    fn settings_with_parameters(
        &mut self,
        with_parameters: &[(Entry, PluginHandle, Node, Vec<String>)],
        run: &RunContext,
    ) {
        for (e, handle, node, reported) in with_parameters {
            let filled = fill_parameters(node.to_json(), run);
            let Ok(config) = handle.plugin().parse(filled) else { continue };
            for mut issue in handle.plugin().check(&config).into_iter().filter(|i| !reported.contains(&i.message)) {
                issue.message.push_str(" (with the parameters filled in)");
                self.of_entry(e).issue(e, &issue);
            }
        }
    }

    /// Every output stays inside --out once the parameters are filled in
    /// (a report's `{unit}` stands for a key of its data, checked again when it is written).
    fn output_paths(&mut self, pipeline: &Pipeline, run: &RunContext) {
        for e in pipeline.section(PluginKind::Sink) {
            let Some(node) = e.node.get("path") else { continue };
            let Some(Ok(path)) = node.as_str().map(|p| run.interpolate(p)) else { continue };
            if let Err(why) = crate::plugin::confine(&run.out_dir, &path.replace("{unit}", "unit")) {
                self.of_entry(e)
                    .error(node.span, format!("the output path \"{path}\" {why}"))
                    .in_context(e.context())
                    .hint("outputs are written inside the folder given with --out: write their paths relative to it");
            }
        }
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

/// The names in alphabetical order, for a hint.
fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut v = names.to_vec();
    v.sort_unstable();
    v
}
