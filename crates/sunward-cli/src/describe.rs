//! `sunward plugins` and `sunward schema`: what the registered plugins accept,
//! read from their JSON Schemas so the documentation is the code's own doc
//! comments.

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use sunward_core::model::{SourceOptions, StepOptions};
use sunward_core::plugin::{FunctionInfo, PluginHandle};
use sunward_core::sql_functions::type_name as sql_type_name;
use sunward_core::{PluginKind, Registry};

/// Arguments of `sunward schema`.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Print every key of a pipeline and a workflow file, and every plugin's
    /// settings, as Markdown (docs/PIPELINE-KEYS.md) instead of the JSON Schema.
    #[arg(long)]
    pub(crate) markdown: bool,
}

/// Arguments of `sunward plugins`.
#[derive(Debug, Args)]
pub(crate) struct PluginsArgs {
    /// Show only the plugin(s) of this name.
    pub(crate) name: Option<String>,
    /// Show only plugins of this kind.
    #[arg(long, value_enum)]
    pub(crate) kind: Option<KindArg>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// List the SQL functions, with those this pipeline declares (`functions:` and its `include:` files).
    #[arg(long, value_name = "FILE")]
    pub(crate) pipeline: Option<PathBuf>,
}

/// A plugin kind on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KindArg {
    /// Sources (`sources:`).
    Source,
    /// Transforms (`steps:`).
    Transform,
    /// Sinks (`outputs:`).
    Sink,
    /// SQL functions every `sql` step can call (the statistics functions, and plugins' own).
    Function,
}

/// One setting of a plugin, as shown to users.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key in the pipeline entry.
    pub name: String,
    /// A readable type, e.g. `string`, `list of string`, `one of: utf8, gb18030`.
    pub ty: String,
    /// Whether the entry must have it.
    pub required: bool,
    /// Its default, when the schema gives one.
    pub default: Option<Value>,
    /// Its doc comment.
    pub description: String,
}

/// The settings described by an object schema: the required ones first, then
/// the others, each group by name.
pub fn fields(schema: &Value) -> Vec<Field> {
    let defs = schema.get("$defs").and_then(Value::as_object).cloned().unwrap_or_default();
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Vec::new() };
    let mut fields: Vec<Field> = properties
        .iter()
        .map(|(name, property)| Field {
            name: name.clone(),
            ty: type_name(property, &defs, 0),
            required: required.contains(&name.as_str()),
            default: property.get("default").cloned(),
            description: description(property, &defs),
        })
        .collect();
    fields.sort_by(|a, b| b.required.cmp(&a.required).then_with(|| a.name.cmp(&b.name)));
    fields
}

/// The doc comment of a property, or of the definition it refers to.
fn description(schema: &Value, defs: &Map<String, Value>) -> String {
    let text = schema.get("description").and_then(Value::as_str).map(str::to_string).or_else(|| {
        // A `$ref`, directly or as the non-null branch of an optional field.
        let branches = ["anyOf", "oneOf"].iter().filter_map(|k| schema.get(*k)?.as_array()).flatten();
        std::iter::once(schema)
            .chain(branches)
            .filter_map(|s| resolve(s, defs))
            .find_map(|target| target.get("description").and_then(Value::as_str).map(str::to_string))
    });
    text.unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The definition a `$ref` points to.
fn resolve<'a>(schema: &Value, defs: &'a Map<String, Value>) -> Option<&'a Value> {
    let target = schema.get("$ref")?.as_str()?.strip_prefix("#/$defs/")?;
    defs.get(&target.replace("~1", "/").replace("~0", "~"))
}

/// A readable name for the type a schema describes.
pub fn type_name(schema: &Value, defs: &Map<String, Value>, depth: usize) -> String {
    if depth > 8 {
        return "value".to_string();
    }
    if let Some(target) = resolve(schema, defs) {
        return type_name(target, defs, depth + 1);
    }
    if let Some(value) = schema.get("const") {
        return value.to_string();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values.iter().map(plain).collect();
        return format!("one of: {}", names.join(", "));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let non_null: Vec<&Value> = branches.iter().filter(|b| !is_null(b)).collect();
            if !non_null.is_empty() && non_null.iter().all(|b| b.get("const").is_some()) {
                let names: Vec<String> = non_null.iter().filter_map(|b| b.get("const")).map(plain).collect();
                return format!("one of: {}", names.join(", "));
            }
            let mut names: Vec<String> = Vec::new();
            for branch in non_null {
                let name = type_name(branch, defs, depth + 1);
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            if !names.is_empty() {
                return names.join(" or ");
            }
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => Vec::new(),
    };
    let names: Vec<String> = types
        .iter()
        .map(|t| match *t {
            "array" => match schema.get("items") {
                Some(items) => format!("list of {}", type_name(items, defs, depth + 1)),
                None => "list".to_string(),
            },
            "object" => match schema.get("additionalProperties") {
                Some(values) if values.is_object() => {
                    format!("mapping of name → {}", type_name(values, defs, depth + 1))
                }
                _ => "mapping".to_string(),
            },
            "integer" => match schema.get("minimum").and_then(Value::as_f64) {
                Some(min) if min >= 0.0 => "non-negative integer".to_string(),
                _ => "integer".to_string(),
            },
            other => other.to_string(),
        })
        .collect();
    if names.is_empty() { "value".to_string() } else { names.join(" or ") }
}

fn is_null(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null") || schema.get("const") == Some(&Value::Null)
}

/// A JSON value as a person would type it in YAML.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn plural(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Source => "sources",
        PluginKind::Transform => "transforms",
        PluginKind::Sink => "sinks",
    }
}

fn kind_of(arg: KindArg) -> Option<PluginKind> {
    match arg {
        KindArg::Source => Some(PluginKind::Source),
        KindArg::Transform => Some(PluginKind::Transform),
        KindArg::Sink => Some(PluginKind::Sink),
        KindArg::Function => None,
    }
}

/// `sunward plugins --kind function`: the SQL functions, with their
/// signature and documentation.
fn functions(registry: &Registry, args: &PluginsArgs) -> i32 {
    let mut all = registry.functions().describe();
    if let Some(pipeline) = &args.pipeline {
        match declared_functions(registry, pipeline) {
            Ok(declared) => all.extend(declared),
            Err(code) => return code,
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
    }
    let chosen: Vec<_> = all.iter().filter(|f| args.name.as_deref().is_none_or(|n| n == f.name)).collect();
    if chosen.is_empty() {
        let names: Vec<&str> = all.iter().map(|f| f.name.as_str()).collect();
        let mut message = format!("error: no SQL function named \"{}\"", args.name.as_deref().unwrap_or_default());
        if let Some(name) = &args.name
            && let Some(similar) = sunward_core::diag::similar(name, names.iter().copied())
        {
            message.push_str(&format!("\n  = hint: {similar}"));
        }
        message.push_str(&format!("\n  = hint: functions: {}", names.join(", ")));
        errln!("{message}");
        return 2;
    }
    let mut out = String::new();
    if args.json {
        out = serde_json::to_string_pretty(&chosen).unwrap_or_default();
        out.push('\n');
    } else {
        for (i, f) in chosen.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "{} ({} SQL function)", f.signature, f.kind);
            if !f.description.is_empty() {
                let _ = writeln!(out, "  {}", f.description);
            }
        }
    }
    {
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), "{out}");
    }
    0
}

/// A value for each parameter the pipeline requires (one without a default):
/// the functions it declares do not depend on them, and describing them
/// needs no data folder or report date.
fn stand_ins(pipeline: &std::path::Path) -> Vec<String> {
    use sunward_core::yaml::{self, Node};
    let Ok(text) = std::fs::read_to_string(pipeline) else { return Vec::new() };
    let Ok(root) = yaml::parse(&text, "") else { return Vec::new() };
    let Some(params) = root.get("params").and_then(Node::as_map) else { return Vec::new() };
    params
        .iter()
        .filter(|(_, spec)| spec.get("default").is_none())
        .filter_map(|(name, spec)| {
            let value = match spec.get("type").and_then(Node::as_str)? {
                "int" | "float" => "0",
                "bool" => "false",
                "date" => "2000-01-01",
                "path" => ".",
                _ => "",
            };
            Some(format!("{}={value}", name.scalar_text()?))
        })
        .collect()
}

/// The SQL functions a pipeline declares in YAML, described like the registry's.
fn declared_functions(registry: &Registry, pipeline: &std::path::Path) -> Result<Vec<FunctionInfo>, i32> {
    let options = sunward_core::ValidateOptions::now(stand_ins(pipeline), std::path::PathBuf::from("out"));
    let plan = sunward_core::validate_file(pipeline, registry, &options)
        .map_err(|diags| crate::report::PipelineText::read(pipeline).print_errors(&diags))?;
    Ok(plan
        .run
        .sql_functions
        .iter()
        .map(|f| {
            let params: Vec<String> = f.params.iter().map(|(p, t)| format!("{p} {}", sql_type_name(*t))).collect();
            let mut description = f.description.clone().unwrap_or_default();
            if !description.is_empty() {
                description.push(' ');
            }
            let body = f.body.split_whitespace().collect::<Vec<_>>().join(" ");
            description.push_str(&format!("(declared in YAML at {}: {body})", f.place));
            FunctionInfo {
                name: f.name.clone(),
                kind: "scalar",
                signature: format!("{}({}) -> {}", f.name, params.join(", "), sql_type_name(f.returns)),
                description,
            }
        })
        .collect())
}

/// `sunward plugins`.
pub fn plugins(registry: &Registry, args: &PluginsArgs) -> i32 {
    if args.kind == Some(KindArg::Function) || args.pipeline.is_some() {
        return functions(registry, args);
    }
    let chosen: Vec<&PluginHandle> = registry
        .iter()
        .filter(|h| args.kind.is_none_or(|k| kind_of(k) == Some(h.kind())))
        .filter(|h| args.name.as_deref().is_none_or(|n| n == h.plugin().info().name))
        .collect();
    if chosen.is_empty() {
        errln!("{}", no_such_plugin(registry, args.name.as_deref()));
        return 2;
    }
    let shared = serde_json::to_value(sunward_core::schemars::schema_for!(SourceOptions)).unwrap_or_default();
    let step_shared = serde_json::to_value(sunward_core::schemars::schema_for!(StepOptions)).unwrap_or_default();
    let common = Common { source: fields(&shared), step: fields(&step_shared) };
    let out = if args.json {
        let mut out = plugins_json(&chosen, &common);
        out.push('\n');
        out
    } else {
        let mut out = plugins_text(&chosen, &common);
        // The whole list also names the SQL functions every `sql` step can call.
        let functions = registry.functions().describe();
        if args.kind.is_none() && args.name.is_none() && !functions.is_empty() {
            let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
            let _ = writeln!(out, "\nSQL functions: {} (sunward plugins --kind function)", names.join(", "));
        }
        out
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    0
}

/// The options every source and every step accepts besides its plugin's own.
struct Common {
    source: Vec<Field>,
    step: Vec<Field>,
}

/// The error when no plugin has the name (or kind) asked for, with the
/// closest name and every plugin by section.
fn no_such_plugin(registry: &Registry, name: Option<&str>) -> String {
    let mut names: Vec<&str> = registry.iter().map(|h| h.plugin().info().name).collect();
    names.sort_unstable();
    names.dedup();
    let mut message = match name {
        Some(name) => format!("error: no plugin named \"{name}\""),
        None => "error: no plugin of that kind".to_string(),
    };
    if let Some(name) = name
        && let Some(similar) = sunward_core::diag::similar(name, names.iter().copied())
    {
        message.push_str(&format!("\n  = hint: {similar}"));
    }
    // The same name can be a source and a sink (csv, jsonl, parquet), so
    // list them by section rather than as one list with repeats.
    for kind in [PluginKind::Source, PluginKind::Transform, PluginKind::Sink] {
        let of_kind: Vec<&str> = registry.iter().filter(|h| h.kind() == kind).map(|h| h.plugin().info().name).collect();
        if !of_kind.is_empty() {
            message.push_str(&format!("\n  = hint: {} ({}): {}", plural(kind), kind.section(), of_kind.join(", ")));
        }
    }
    message
}

/// The chosen plugins as a JSON list: each with its settings, example and schema.
fn plugins_json(chosen: &[&PluginHandle], common: &Common) -> String {
    let items: Vec<Value> = chosen
        .iter()
        .map(|h| {
            let info = h.plugin().info();
            let schema = h.plugin().schema();
            let mut item = json!({
                "name": info.name,
                "kind": h.kind().to_string(),
                "section": h.kind().section(),
                "description": info.description,
                "fields": fields(&schema).iter().map(field_json).collect::<Vec<_>>(),
                "example": info.example,
                "schema": schema,
            });
            if let Value::Object(map) = &mut item {
                match h.kind() {
                    PluginKind::Source => {
                        map.insert("source_options".into(), common.source.iter().map(field_json).collect());
                    }
                    PluginKind::Transform => {
                        map.insert("step_options".into(), common.step.iter().map(field_json).collect());
                    }
                    PluginKind::Sink => {}
                }
            }
            item
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_default()
}

/// The chosen plugins as text: each with its settings, the options every
/// source or step accepts, and its example.
fn plugins_text(chosen: &[&PluginHandle], common: &Common) -> String {
    let mut out = String::new();
    for (i, h) in chosen.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let info = h.plugin().info();
        let _ = writeln!(out, "{} ({}, under `{}:`)", info.name, h.kind(), h.kind().section());
        let _ = writeln!(out, "  {}", info.description);
        let own = fields(&h.plugin().schema());
        out.push_str("\n  settings:\n");
        if own.is_empty() {
            out.push_str("    (none)\n");
        }
        write_fields(&mut out, &own);
        if h.kind() == PluginKind::Source {
            out.push_str("\n  options every source accepts:\n");
            write_fields(&mut out, &common.source);
        }
        if h.kind() == PluginKind::Transform {
            out.push_str("\n  options every step accepts:\n");
            write_fields(&mut out, &common.step);
        }
        out.push_str("\n  example:\n");
        for line in info.example.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

fn field_json(field: &Field) -> Value {
    json!({
        "name": field.name,
        "type": field.ty,
        "required": field.required,
        "default": field.default,
        "description": field.description,
    })
}

/// `required` or `optional`, or `Err` with the default to show.
fn status(f: &Field) -> Result<String, &Value> {
    if f.required {
        return Ok("required".to_string());
    }
    match &f.default {
        Some(Value::Null) | None => Ok("optional".to_string()),
        Some(Value::Object(m)) if m.is_empty() => Ok("optional".to_string()),
        Some(Value::Array(a)) if a.is_empty() => Ok("optional".to_string()),
        Some(d) => Err(d),
    }
}

fn write_fields(out: &mut String, fields: &[Field]) {
    for f in fields {
        let status = status(f).unwrap_or_else(|d| format!("default: {d}"));
        let _ = writeln!(out, "    {} ({}; {status})", f.name, f.ty);
        if !f.description.is_empty() {
            for line in wrap(&f.description, 88) {
                let _ = writeln!(out, "        {line}");
            }
        }
    }
}

/// Break text into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `sunward schema` (`--markdown`: the reference of every key, as in docs/PIPELINE-KEYS.md).
pub fn schema(registry: &Registry, markdown: bool) -> i32 {
    let text = if markdown {
        keys_markdown(registry)
    } else {
        let schema = sunward_core::schema::pipeline_schema(registry);
        serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}

/// Text for one cell of a Markdown table: one line, `|` escaped.
fn cell(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

/// A Markdown table of settings: key, type, required or default, meaning.
fn fields_table(out: &mut String, fields: &[Field]) {
    if fields.is_empty() {
        out.push_str("(no settings)\n");
        return;
    }
    out.push_str("| key | type | required / default | meaning |\n|---|---|---|---|\n");
    for f in fields {
        let status = status(f).unwrap_or_else(|d| format!("`{d}`"));
        let _ = writeln!(out, "| `{}` | {} | {status} | {} |", f.name, cell(&f.ty), cell(&f.description));
    }
}

/// The settings of each part of a schema that is a mapping of its own (a
/// report's `for_each`, a text with settings), one table each.
fn parts_tables(out: &mut String, schema: &Value, within: &str, shown_elsewhere: &[String]) {
    let Some(defs) = schema.get("$defs").and_then(Value::as_object) else { return };
    for (name, def) in defs {
        if def.get("properties").is_none() || shown_elsewhere.contains(name) {
            continue;
        }
        let mut part = def.clone();
        if let Value::Object(map) = &mut part {
            map.insert("$defs".into(), Value::Object(defs.clone()));
        }
        let about = def.get("description").and_then(Value::as_str).map(cell).unwrap_or_default();
        let _ = writeln!(out, "\n#### {name} (in `{within}`)\n\n{about}\n");
        fields_table(out, &fields(&part));
    }
}

/// Every key of a pipeline file and of a workflow file, generated from the
/// schemas of the pipeline format and of every registered plugin.
fn keys_markdown(registry: &Registry) -> String {
    let mut out = String::from(
        "# Pipeline keys\n\n\
         Every key a pipeline file, a workflow file and each plugin accept, with its type, its default and \
         what it means. Generated from the code by `sunward schema --markdown` (a test keeps this file equal \
         to it); `sunward plugins NAME` shows a plugin's example too.\n",
    );
    let schema = sunward_core::schema::pipeline_schema(registry);
    out.push_str("\n## A pipeline file\n\n");
    fields_table(&mut out, &fields(&schema));
    // The entries of the sections whose entries are mappings of their own (checks, functions, packages).
    let defs = schema.get("$defs").cloned().unwrap_or_default();
    for (key, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let entry = property.get("items").or_else(|| property.get("additionalProperties"));
        let Some(mut entry) = entry.filter(|e| e.get("properties").is_some()).cloned() else { continue };
        if let Value::Object(map) = &mut entry {
            map.insert("$defs".into(), defs.clone());
        }
        let _ = writeln!(out, "\n## An entry of `{key}:`\n");
        fields_table(&mut out, &fields(&entry));
    }
    // The parts a plugin or the source options own are shown with them.
    let def_names = |schema: &Value| -> Vec<String> {
        schema.get("$defs").and_then(Value::as_object).map(|d| d.keys().cloned().collect()).unwrap_or_default()
    };
    let shared = serde_json::to_value(sunward_core::schemars::schema_for!(SourceOptions)).unwrap_or_default();
    let mut elsewhere = def_names(&shared);
    for h in registry.iter() {
        elsewhere.extend(def_names(&h.plugin().schema()));
    }
    parts_tables(&mut out, &schema, "a pipeline file", &elsewhere);
    out.push_str("\n## A workflow file\n\nA file with `pipelines:` and no `sources`, `steps` or `outputs`.\n\n");
    out.push_str("| key | meaning |\n|---|---|\n");
    for (key, meaning) in crate::workflow::KEYS.iter().chain(crate::workflow::ENTRY_KEYS_DOC) {
        let _ = writeln!(out, "| `{key}` | {} |", cell(meaning));
    }
    out.push_str("\n## Options every source has\n\n");
    fields_table(&mut out, &fields(&shared));
    parts_tables(&mut out, &shared, "source options", &[]);
    let step = serde_json::to_value(sunward_core::schemars::schema_for!(StepOptions)).unwrap_or_default();
    out.push_str("\n## Options every step has\n\n");
    fields_table(&mut out, &fields(&step));
    for kind in [PluginKind::Source, PluginKind::Transform, PluginKind::Sink] {
        let mut plugins: Vec<_> = registry.iter().filter(|h| h.kind() == kind).collect();
        plugins.sort_by_key(|h| h.plugin().info().name);
        let _ = writeln!(out, "\n## {} (under `{}:`)", plural(kind), kind.section());
        for h in plugins {
            let info = h.plugin().info();
            let _ = writeln!(out, "\n### `{}`\n\n{}\n", info.name, cell(info.description));
            let schema = h.plugin().schema();
            fields_table(&mut out, &fields(&schema));
            parts_tables(&mut out, &schema, info.name, &[]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_types_are_readable() {
        let schema = json!({
            "type": "object",
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "description": "The file,\n relative to the pipeline."},
                "sheets": {"type": ["array", "null"], "items": {"type": "string"}},
                "encoding": {"anyOf": [{"$ref": "#/$defs/Encoding"}, {"type": "null"}]},
                "skip": {"type": "integer", "format": "uint", "minimum": 0, "default": 0},
                "rename": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "$defs": {
                "Encoding": {"description": "A text encoding.", "oneOf": [
                    {"type": "string", "const": "utf8"}, {"type": "string", "const": "gb18030"}
                ]}
            }
        });
        let f = fields(&schema);
        let by = |n: &str| f.iter().find(|x| x.name == n).cloned().expect("field");
        assert_eq!(by("path").ty, "string");
        assert!(by("path").required);
        assert_eq!(by("path").description, "The file, relative to the pipeline.");
        assert_eq!(by("sheets").ty, "list of string");
        assert_eq!(by("encoding").ty, "one of: utf8, gb18030");
        assert_eq!(by("encoding").description, "A text encoding.");
        assert_eq!(by("skip").ty, "non-negative integer");
        assert_eq!(by("skip").default, Some(json!(0)));
        assert_eq!(by("rename").ty, "mapping of name → string");
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
    }
}
