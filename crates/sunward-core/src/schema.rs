//! The JSON Schema of the whole pipeline format, built from a [`Registry`].
//!
//! `sunward schema` prints it so that editors (VS Code's YAML extension and the
//! like) can complete and check pipeline files as they are typed. The schema is
//! draft 2020-12: the top-level keys of a pipeline, the shape of `params:`, and
//! for `sources:`, `steps:` and `outputs:` an object of named entries, each a
//! `oneOf` over the registered plugins of that kind. A branch is the plugin's
//! own configuration schema with `plugin: {const: NAME}` added (and, for
//! sources, the options every source shares), closed with
//! `additionalProperties: false` so that a misspelt key is flagged.
//!
//! Every plugin's schema brings its own `$defs`; they are merged into one
//! `$defs` at the root. A definition keeps its name when no other schema uses
//! that name for something different; otherwise all the definitions of that
//! schema are renamed `<section>.<plugin>.<Name>` and its references rewritten,
//! so every `$ref` stays valid.

use crate::model::{ParamSpec, SourceOptions, StepOptions};
use crate::plugin::{PluginHandle, PluginKind, Registry};
use serde_json::{Map, Value, json};

/// The `$schema` URI of JSON Schema draft 2020-12.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

const REF_PREFIX: &str = "#/$defs/";

/// The JSON Schema (draft 2020-12) of a pipeline file for the plugins in `registry`.
pub fn pipeline_schema(registry: &Registry) -> Value {
    let mut defs = Map::new();

    let param_spec = absorb(&mut defs, "params", "param", to_value(schemars::schema_for!(ParamSpec)));
    let source_options = absorb(&mut defs, "sources", "options", to_value(schemars::schema_for!(SourceOptions)));
    let shared_properties = source_options.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let step_options = absorb(&mut defs, "steps", "options", to_value(schemars::schema_for!(StepOptions)));
    let step_properties = step_options.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let sections = plugin_sections(registry, &mut defs, &shared_properties, &step_properties);

    let mut properties = top_level_keys(param_spec);
    let check = absorb(&mut defs, "checks", "check", to_value(schemars::schema_for!(crate::checks::CheckSpec)));
    properties.insert(
        "checks".to_string(),
        json!({
            "description": "Data checks: what must hold of a source or a step; a failing `error` check stops the run (exit code 4) before any output.",
            "type": ["array", "null"],
            "items": check,
        }),
    );
    properties.extend(sections);

    json!({
        "$schema": DRAFT_2020_12,
        "title": "Sunward pipeline",
        "description": "A Sunward pipeline: sources read exports into tables, steps make tables from tables, outputs write them.",
        "type": "object",
        "required": ["name", "sources"],
        "additionalProperties": false,
        "properties": properties,
        "$defs": defs,
    })
}

/// `sources:`, `steps:` and `outputs:`: each an object of named entries,
/// each entry one of the section's plugins ([`plugin_branch`]); the
/// sources' and the steps' shared options are `shared_properties` and
/// `step_properties`.
fn plugin_sections(
    registry: &Registry,
    defs: &mut Map<String, Value>,
    shared_properties: &Map<String, Value>,
    step_properties: &Map<String, Value>,
) -> Map<String, Value> {
    let mut sections = Map::new();
    for kind in [PluginKind::Source, PluginKind::Transform, PluginKind::Sink] {
        let shared = match kind {
            PluginKind::Source => Some(shared_properties),
            PluginKind::Transform => Some(step_properties),
            PluginKind::Sink => None,
        };
        let mut branches = Vec::new();
        for name in registry.names(kind) {
            let Some(handle) = registry.get(kind, name) else { continue };
            branches.push(plugin_branch(defs, kind, name, handle, shared));
        }
        let entry = if branches.is_empty() { Value::Bool(false) } else { json!({"oneOf": branches}) };
        let what = match kind {
            PluginKind::Source => "The exports to read, by table name: each entry names its `plugin` and its settings.",
            PluginKind::Transform => "Tables made from other tables, by table name, run in dependency order.",
            PluginKind::Sink => "Files to write, by output name.",
        };
        sections.insert(
            kind.section().to_string(),
            json!({
                "description": what,
                "type": ["object", "null"],
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": entry,
            }),
        );
    }
    sections
}

/// One plugin's branch of its section's `oneOf`: its own configuration
/// schema (its `$defs` moved into `defs`) with `plugin: {const: NAME}` and
/// the section's `shared` options added, titled and described.
fn plugin_branch(
    defs: &mut Map<String, Value>,
    kind: PluginKind,
    name: &str,
    handle: &PluginHandle,
    shared: Option<&Map<String, Value>>,
) -> Value {
    let info = handle.plugin().info();
    let mut branch = absorb(defs, kind.section(), name, handle.plugin().schema());
    if let Some(object) = branch.as_object_mut() {
        object.remove("title");
        object.remove("description");
    }
    let mut extra = Map::new();
    extra.insert("plugin".to_string(), json!({"const": name, "description": format!("The {kind} plugin `{name}`.")}));
    for (key, value) in shared.into_iter().flatten() {
        extra.entry(key.clone()).or_insert_with(|| value.clone());
    }
    add_properties(&mut branch, &extra, "plugin");
    let mut described = Map::new();
    described.insert("title".to_string(), json!(name));
    described.insert("description".to_string(), json!(info.description));
    if let Value::Object(object) = branch {
        described.extend(object);
    }
    Value::Object(described)
}

/// The pipeline's keys other than its sections and `checks:`, described
/// (a data table); `param_spec` is the schema of one parameter.
fn top_level_keys(param_spec: Value) -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert(
    "name".to_string(),
    json!({"description": "The pipeline's name (shown in messages and in the run manifest).", "type": "string", "minLength": 1}),
);
    properties.insert(
        "description".to_string(),
        json!({"description": "What the pipeline is for.", "type": ["string", "null"]}),
    );
    properties.insert(
    "params".to_string(),
    json!({
        "description": "Parameters: `$name` in SQL, `${name}` in paths and other strings; set with `--set name=value`.",
        "type": ["object", "null"],
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "additionalProperties": param_spec,
    }),
);
    properties.insert(
    "contract".to_string(),
    json!({
        "description": "Additions to the data contract, applied in order: files (relative to the pipeline) holding one document each, or documents written in place. A document is a new table (`table:`, `row:`, `columns:`) or more for a table (`extends: cases` with the `columns:` to add or tighten).",
        "type": ["array", "null"],
        "items": {"type": ["string", "object"]},
    }),
);
    properties.insert(
        "include".to_string(),
        json!({
            "description": "Files (relative to the pipeline) whose `functions:` this pipeline uses.",
            "type": ["array", "null"],
            "items": {"type": "string"},
        }),
    );
    let types = json!({"enum": ["string", "int", "float", "date", "bool"]});
    properties.insert(
    "functions".to_string(),
    json!({
        "description": "SQL functions declared in YAML: each call is replaced by its body, with the arguments cast to the parameters' types.",
        "type": ["object", "null"],
        "propertyNames": {"pattern": "^[a-z_][a-z0-9_]*$"},
        "additionalProperties": {
            "type": "object",
            "required": ["returns", "body"],
            "additionalProperties": false,
            "properties": {
                "params": {"description": "Parameters in order, each with its type.", "type": ["object", "null"], "additionalProperties": types},
                "returns": types,
                "body": {"description": "One SQL expression over the parameters.", "type": "string", "minLength": 1},
                "description": {"description": "What the function computes.", "type": "string"},
            },
        },
    }),
);
    properties.insert(
    "uses".to_string(),
    json!({
        "description": "Plugin packages: a folder holding plugin.yaml (params, functions, steps, checks), with values for its parameters.",
        "type": ["object", "null"],
        "additionalProperties": {
            "type": "object",
            "required": ["package"],
            "additionalProperties": false,
            "properties": {
                "package": {"description": "The package's folder, relative to the pipeline.", "type": "string"},
                "with": {"description": "Values for the package's parameters (`${param}` of the pipeline allowed).", "type": ["object", "null"]},
            },
        },
    }),
);
    properties
}

fn to_value(schema: schemars::Schema) -> Value {
    serde_json::to_value(schema).unwrap_or(Value::Bool(true))
}

/// Take the `$defs` out of `schema` into `defs` (renaming them if their names
/// are taken by different definitions) and return the rest of the schema with
/// its references rewritten.
fn absorb(defs: &mut Map<String, Value>, section: &str, owner: &str, schema: Value) -> Value {
    let mut schema = match schema {
        Value::Object(object) => object,
        other => return other,
    };
    schema.remove("$schema");
    let own = match schema.remove("$defs") {
        Some(Value::Object(own)) => own,
        _ => Map::new(),
    };
    let clash = own.iter().any(|(name, def)| defs.get(name).is_some_and(|existing| existing != def));
    let rename = |name: &str| if clash { format!("{section}.{owner}.{name}") } else { name.to_string() };
    for (name, mut def) in own {
        rewrite_refs(&mut def, &rename);
        defs.entry(rename(&name)).or_insert(def);
    }
    let mut schema = Value::Object(schema);
    rewrite_refs(&mut schema, &rename);
    schema
}

/// Rewrite every `"$ref": "#/$defs/NAME"` in `value` to `#/$defs/rename(NAME)`.
fn rewrite_refs(value: &mut Value, rename: &dyn Fn(&str) -> String) {
    match value {
        Value::Object(object) => {
            for (key, item) in object.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = item
                    && let Some(name) = target.strip_prefix(REF_PREFIX)
                {
                    *target = format!("{REF_PREFIX}{}", escape_pointer(&rename(&unescape_pointer(name))));
                } else {
                    rewrite_refs(item, rename);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_refs(item, rename)),
        _ => {}
    }
}

fn unescape_pointer(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Add `extra` properties to an object schema (or to every branch of a
/// top-level `oneOf`/`anyOf`), require `required`, and close it.
fn add_properties(schema: &mut Value, extra: &Map<String, Value>, required: &str) {
    if matches!(schema, Value::Bool(true)) || schema.get("type").and_then(Value::as_str) == Some("null") {
        *schema = json!({"type": "object", "properties": {}});
    }
    let Some(object) = schema.as_object_mut() else { return };
    let branches: Vec<&str> =
        ["oneOf", "anyOf"].into_iter().filter(|k| object.get(*k).is_some_and(Value::is_array)).collect();
    if !object.contains_key("properties") && !branches.is_empty() {
        for key in branches {
            if let Some(Value::Array(items)) = object.get_mut(key) {
                items.iter_mut().for_each(|item| add_properties(item, extra, required));
            }
        }
        return;
    }
    object.insert("type".to_string(), json!("object"));
    let properties = object.entry("properties").or_insert_with(|| json!({}));
    if let Value::Object(properties) = properties {
        for (key, value) in extra {
            properties.insert(key.clone(), value.clone());
        }
    }
    let list = object.entry("required").or_insert_with(|| json!([]));
    if let Value::Array(list) = list
        && !list.iter().any(|v| v.as_str() == Some(required))
    {
        list.insert(0, json!(required));
    }
    object.insert("additionalProperties".to_string(), Value::Bool(false));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_renamed_when_names_clash() {
        let mut defs = Map::new();
        let first = json!({"$defs": {"Mode": {"enum": ["a"]}}, "properties": {"m": {"$ref": "#/$defs/Mode"}}});
        let second = json!({"$defs": {"Mode": {"enum": ["b"]}}, "properties": {"m": {"$ref": "#/$defs/Mode"}}});
        let same = json!({"$defs": {"Mode": {"enum": ["a"]}}, "properties": {"m": {"$ref": "#/$defs/Mode"}}});
        let a = absorb(&mut defs, "sources", "x", first);
        let b = absorb(&mut defs, "sources", "y/z", second);
        let c = absorb(&mut defs, "steps", "w", same);
        assert_eq!(a["properties"]["m"]["$ref"], "#/$defs/Mode");
        assert_eq!(b["properties"]["m"]["$ref"], "#/$defs/sources.y~1z.Mode");
        assert_eq!(c["properties"]["m"]["$ref"], "#/$defs/Mode");
        assert_eq!(defs["Mode"], json!({"enum": ["a"]}));
        assert_eq!(defs["sources.y/z.Mode"], json!({"enum": ["b"]}));
        assert_eq!(defs.len(), 2);
    }

    #[test]
    fn plugin_key_is_added_and_required() {
        let mut schema = json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]});
        let mut extra = Map::new();
        extra.insert("plugin".into(), json!({"const": "csv"}));
        add_properties(&mut schema, &extra, "plugin");
        assert_eq!(schema["required"], json!(["plugin", "path"]));
        assert_eq!(schema["properties"]["plugin"]["const"], "csv");
        assert_eq!(schema["additionalProperties"], json!(false));
    }
}
