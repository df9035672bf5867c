//! The pipeline JSON Schema, checked with an independent validator (the
//! `jsonschema` crate) on pipelines written by hand: a good one passes, and
//! each mistake an editor should flag (an unknown key, an unknown plugin, a
//! wrong type, a missing key) fails. The test registry has two plugins whose
//! configurations both define a type named `Mode` differently, so the merged
//! `$defs` must keep them apart.

use datafusion::prelude::DataFrame;
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use sunward_core::schema::{DRAFT_2020_12, pipeline_schema};
use sunward_core::{
    ConfigIssue, Diagnostic, Plugin, PluginInfo, Registry, RowReader, RunContext, Sink, Source, StepContext, TableData,
    Transform, async_trait,
};

mod source_mode {
    use schemars::JsonSchema;
    use serde::Deserialize;
    /// How to read.
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum Mode {
        /// Fast.
        Fast,
        /// Careful.
        Careful,
    }
}

mod sink_mode {
    use schemars::JsonSchema;
    use serde::Deserialize;
    /// How to write.
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum Mode {
        /// Replace.
        Replace,
        /// Append.
        Append,
    }
}

struct FileSource;
/// Test source settings.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FileConfig {
    /// The file.
    path: String,
    /// How to read it.
    #[serde(default)]
    mode: Option<source_mode::Mode>,
}
impl Plugin for FileSource {
    type Config = FileConfig;
    const INFO: PluginInfo =
        PluginInfo { name: "csv", description: "reads csv", example: "plugin: csv\npath: a.csv\n" };
}
impl Source for FileSource {
    fn files(&self, c: &FileConfig, ctx: &RunContext) -> sunward_core::Result<Vec<PathBuf>> {
        Ok(vec![ctx.input_path(&c.path)?])
    }
    fn open(&self, _: &FileConfig, _: &RunContext) -> sunward_core::Result<Box<dyn RowReader>> {
        Err(Diagnostic::runtime("not used"))
    }
}

struct Query;
/// Test transform settings.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct QueryConfig {
    /// The query.
    query: String,
}
#[async_trait]
impl Transform for Query {
    fn inputs(&self, _: &QueryConfig) -> Result<Vec<String>, ConfigIssue> {
        Ok(vec![])
    }
    async fn run(&self, c: &QueryConfig, ctx: &StepContext<'_>) -> sunward_core::Result<DataFrame> {
        ctx.sql(&c.query).await
    }
}
impl Plugin for Query {
    type Config = QueryConfig;
    const INFO: PluginInfo = PluginInfo { name: "sql", description: "runs sql", example: "plugin: sql\nquery: x\n" };
}

struct Out;
/// Test sink settings.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct OutConfig {
    /// Table.
    table: String,
    /// Path.
    path: String,
    /// How to write.
    #[serde(default)]
    mode: Option<sink_mode::Mode>,
}
impl Plugin for Out {
    type Config = OutConfig;
    const INFO: PluginInfo =
        PluginInfo { name: "csv", description: "writes csv", example: "plugin: csv\ntable: a\npath: a.csv\n" };
}
impl Sink for Out {
    fn inputs(&self, c: &OutConfig) -> Vec<String> {
        vec![c.table.clone()]
    }
    fn write(&self, c: &OutConfig, _: &[TableData], ctx: &RunContext) -> sunward_core::Result<Vec<PathBuf>> {
        Ok(vec![ctx.output_path(&c.path)?])
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.add_source(FileSource).add_transform(Query).add_sink(Out);
    r
}

fn as_json(yaml: &str) -> serde_json::Value {
    sunward_core::yaml::parse(yaml, "p.yaml").expect("test yaml parses").to_json()
}

fn is_valid(yaml: &str) -> bool {
    let schema = pipeline_schema(&registry());
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    validator.is_valid(&as_json(yaml))
}

const GOOD: &str = "\
name: test
description: a test
params:
  year: {type: int, default: 2025}
  data_dir: {type: path, default: data}
sources:
  services:
    plugin: csv
    path: ${data_dir}/services.csv
    mode: careful
    contract: services
    headers: {学校编号: school_id}
    values: {service_type: {个案辅导: case_session}}
    max_rejected: \"5%\"
steps:
  by_school:
    plugin: sql
    query: select school_id, count(*) as n from services group by school_id
outputs:
  report:
    plugin: csv
    table: by_school
    path: by_school.csv
    mode: append
";

#[test]
fn a_good_pipeline_is_valid() {
    assert!(is_valid(GOOD));
}

#[test]
fn the_schema_is_draft_2020_12_with_one_branch_per_plugin() {
    let schema = pipeline_schema(&registry());
    assert_eq!(schema["$schema"], DRAFT_2020_12);
    let branches = schema["properties"]["sources"]["additionalProperties"]["oneOf"].as_array().expect("oneOf");
    assert_eq!(branches.len(), 1);
    assert_eq!(branches[0]["properties"]["plugin"]["const"], "csv");
    assert_eq!(branches[0]["properties"]["path"]["description"], "The file.");
    assert!(branches[0]["properties"]["contract"].is_object(), "shared source options merged in");
    assert_eq!(branches[0]["additionalProperties"], false);
    let outputs = &schema["properties"]["outputs"]["additionalProperties"]["oneOf"][0];
    assert!(outputs["properties"].get("contract").is_none(), "sinks do not take source options");
    // Both plugins define a `Mode`; the merged definitions keep both.
    let defs = schema["$defs"].as_object().expect("$defs");
    let modes: Vec<&serde_json::Value> = defs.iter().filter(|(k, _)| k.ends_with("Mode")).map(|(_, v)| v).collect();
    assert_eq!(modes.len(), 2, "{defs:?}");
}

#[test]
fn the_source_mode_is_not_the_sink_mode() {
    assert!(!is_valid(&GOOD.replace("mode: careful", "mode: append")));
    assert!(!is_valid(&GOOD.replace("mode: append", "mode: careful")));
}

#[test]
fn an_unknown_key_in_a_plugin_entry_is_invalid() {
    assert!(!is_valid(&GOOD.replace("    path: by_school.csv", "    path: by_school.csv\n    colour: red")));
}

#[test]
fn an_unknown_top_level_key_is_invalid() {
    assert!(!is_valid(&format!("{GOOD}extra: 1\n")));
}

#[test]
fn an_unknown_plugin_is_invalid() {
    assert!(!is_valid(&GOOD.replace("plugin: sql", "plugin: sqll")));
}

#[test]
fn a_wrong_type_is_invalid() {
    assert!(!is_valid(&GOOD.replace("type: int", "type: integer")));
    assert!(!is_valid(&GOOD.replace("max_rejected: \"5%\"", "max_rejected: [1]")));
}

#[test]
fn a_missing_required_key_is_invalid() {
    assert!(!is_valid(&GOOD.replace("    table: by_school\n", "")));
    assert!(!is_valid(&GOOD.replace("name: test\n", "")));
}

#[test]
fn a_source_option_is_not_allowed_on_a_step() {
    assert!(!is_valid(&GOOD.replace("    query: select", "    contract: services\n    query: select")));
}
