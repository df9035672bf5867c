//! Validation of whole pipelines against a small registry of test plugins,
//! registered through the same public path as real ones. Every expected
//! position below was counted by hand in the YAML text of the test.

use datafusion::prelude::DataFrame;
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use sunward_core::{
    ConfigIssue, Diagnostic, Plugin, PluginInfo, Registry, RowReader, RunContext, Sink, Source, StepContext, TableData,
    Transform, ValidateOptions, async_trait, validate_text,
};

struct FileSource;
/// Test source settings.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// The file.
    path: String,
    /// A separator.
    #[serde(default)]
    #[allow(dead_code)]
    delimiter: Option<char>,
}
impl Plugin for FileSource {
    type Config = FileConfig;
    const INFO: PluginInfo = PluginInfo { name: "csv", description: "test", example: "plugin: csv\npath: a.csv\n" };
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
    /// Tables read.
    from: Vec<String>,
    /// Row limit.
    #[serde(default)]
    #[allow(dead_code)]
    limit: Option<u32>,
}
#[async_trait]
impl Transform for Query {
    fn inputs(&self, c: &QueryConfig) -> Result<Vec<String>, ConfigIssue> {
        Ok(c.from.clone())
    }
    async fn run(&self, _: &QueryConfig, _: &StepContext<'_>) -> sunward_core::Result<DataFrame> {
        Err(Diagnostic::runtime("not used"))
    }
}
impl Plugin for Query {
    type Config = QueryConfig;
    const INFO: PluginInfo = PluginInfo { name: "sql", description: "test", example: "plugin: sql\nfrom: [a]\n" };
    fn check(&self, c: &QueryConfig) -> Vec<ConfigIssue> {
        if c.from.is_empty() { vec![ConfigIssue::field("from", "reads no table")] } else { vec![] }
    }
}

struct Out;
/// Test sink settings.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OutConfig {
    /// Table.
    table: String,
    /// Path.
    path: String,
}
impl Plugin for Out {
    type Config = OutConfig;
    const INFO: PluginInfo =
        PluginInfo { name: "csv", description: "test", example: "plugin: csv\ntable: a\npath: a.csv\n" };
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

fn options(sets: &[&str]) -> ValidateOptions {
    ValidateOptions {
        sets: sets.iter().map(|s| s.to_string()).collect(),
        cwd: PathBuf::from("/cwd"),
        out_dir: PathBuf::from("/out"),
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    }
}

fn errors(text: &str, sets: &[&str]) -> Vec<(usize, usize, String, Option<String>)> {
    match validate_text(text, "p.yaml", Path::new("/pipes"), &registry(), &options(sets)) {
        Ok(_) => vec![],
        Err(diags) => diags
            .into_iter()
            .map(|d| {
                let (l, c) = d.location.map(|l| (l.line, l.column)).unwrap_or((0, 0));
                (l, c, d.message, d.hint)
            })
            .collect(),
    }
}

#[test]
fn a_good_pipeline_plans_in_dependency_order() {
    let text = "name: ok\nparams:\n  year: {type: int, default: 2025}\n  dir: {type: path, default: data}\nsources:\n  services:\n    plugin: csv\n    path: ${dir}/s.csv\n    contract: services\n  schools:\n    plugin: csv\n    path: ${dir}/schools.csv\n    contract: schools\nsteps:\n  b:\n    plugin: sql\n    from: [a]\n  a:\n    plugin: sql\n    from: [services, schools]\noutputs:\n  out:\n    plugin: csv\n    table: b\n    path: b_${year}.csv\n";
    let plan = validate_text(text, "p.yaml", Path::new("/pipes"), &registry(), &options(&["year=2024"]))
        .unwrap_or_else(|d| panic!("{d:?}"));
    let steps: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, ["a", "b"]);
    let sources: Vec<&str> = plan.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(sources, ["schools", "services"], "services references schools, so schools loads first");
    assert_eq!(plan.sources[1].references.get("schools").map(String::as_str), Some("schools"));
    assert_eq!(plan.run.params["year"].to_string(), "2024");
    assert_eq!(plan.run.params["dir"].to_string(), "/pipes/data");
    assert_eq!(plan.run.input_path("${dir}/x.csv").unwrap(), PathBuf::from("/pipes/data/x.csv"));
    assert_eq!(plan.run.output_path("b_${year}.csv").unwrap(), PathBuf::from("/out/b_2024.csv"));
    assert_eq!(plan.run.as_of.to_string(), "2026-01-01");
}

#[test]
fn every_mistake_is_reported_with_its_position() {
    // line numbers:        1            2         3
    let text = "name: bad\nparams:\n  year: {type: int, default: 2025}\nsurces: {}\nsources:\n  services:\n    plugin: csvv\n    path: a.csv\n  schools:\n    plugin: csv\n    pth: s.csv\n  enrol:\n    plugin: csv\n    path: 5\nsteps:\n  a:\n    plugin: sql\n    from: [b]\n  b:\n    plugin: sql\n    from: [a, servces]\n  schools:\n    plugin: sql\n    from: [enrol]\n  c:\n    plugin: sql\noutputs:\n  o:\n    plugin: csv\n    table: nothing\n    path: ${yeer}.csv\n";
    let errs = errors(text, &["year=twenty", "yaer=1"]);
    let find = |needle: &str| {
        errs.iter()
            .find(|e| e.2.contains(needle))
            .unwrap_or_else(|| panic!("no error containing {needle:?} in {errs:#?}"))
    };
    let unknown_top = find("unknown key \"surces\"");
    assert_eq!((unknown_top.0, unknown_top.1), (4, 1));
    assert_eq!(unknown_top.3.as_deref(), Some("similar: sources, uses"));
    let plugin = find("unknown source plugin \"csvv\"");
    assert_eq!((plugin.0, plugin.1), (7, 13));
    assert!(plugin.3.as_deref().unwrap().contains("similar: csv"));
    let key = find("unknown key \"pth\"");
    assert_eq!((key.0, key.1), (11, 5));
    assert!(key.3.as_deref().unwrap().contains("path"));
    let ty = find("wrong type for \"path\"");
    assert_eq!((ty.0, ty.1), (14, 11));
    let dup = find("duplicate table name \"schools\"");
    assert_eq!((dup.0, dup.1), (22, 3));
    let table = find("unknown table \"servces\"");
    assert_eq!((table.0, table.1), (21, 15));
    assert_eq!(table.3.as_deref(), Some("similar: services"));
    let cycle = find("cycle");
    assert!(cycle.2.contains("a → b → a") || cycle.2.contains("b → a → b"), "{}", cycle.2);
    let missing = find("missing required key \"from\"");
    assert_eq!((missing.0, missing.1), (25, 3), "points at the entry's name");
    let out_table = find("unknown table \"nothing\"");
    assert_eq!((out_table.0, out_table.1), (30, 12));
    let param = find("unknown parameter \"${yeer}\"");
    assert_eq!((param.0, param.1), (31, 11));
    assert_eq!(param.3.as_deref(), Some("similar: year"));
    let set = find("--set year: `twenty` is not a whole number");
    assert_eq!(set.0, 0);
    let set2 = find("--set yaer: unknown parameter");
    assert_eq!(set2.3.as_deref(), Some("similar: year"));
}

#[test]
fn structural_errors() {
    assert_eq!(
        errors("- just\n- a list\n", &[])[0].2,
        "a pipeline must be a mapping with `name:` and `sources:`, found a list"
    );
    let e = errors("name: x\n", &[]);
    assert_eq!(e[0].2, "missing required key \"sources\"");
    let e = errors("name: x\nsources:\n  a:\n    path: a.csv\n", &[]);
    assert_eq!((e[0].0, e[0].1, e[0].2.as_str()), (3, 3, "missing required key \"plugin\""));
    let e = errors(
        "name: x\nsources:\n  a:\n    plugin: csv\n    path: a.csv\n  a:\n    plugin: csv\n    path: b.csv\n",
        &[],
    );
    assert_eq!((e[0].0, e[0].2.as_str()), (6, "duplicate name \"a\" in sources"));
    let e = errors("name: x\nsources:\n  a-b:\n    plugin: csv\n    path: a.csv\n", &[]);
    assert_eq!(e[0].2, "\"a-b\" cannot be a table name");
    let e = errors("name: x\nsources:\n  a:\n    plugin: csv\n    path: a.csv\n    contract: servics\n", &[]);
    assert_eq!((e[0].0, e[0].1), (6, 15));
    assert!(e[0].3.as_deref().unwrap().starts_with("similar: services"), "{e:?}");
    let e = errors("name: x\nparams:\n  y: {type: int}\nsources:\n  a:\n    plugin: csv\n    path: a.csv\n", &[]);
    assert_eq!(e[0].2, "parameter \"y\" has no default and was not set");
    let e = errors("name: x\nparams:\n  y: {type: integer}\nsources:\n  a:\n    plugin: csv\n    path: a.csv\n", &[]);
    assert!(e[0].2.contains("unknown value \"integer\""), "{e:?}");
    let e = errors("name: x\nsources:\n  a:\n    plugin: sql\n    from: []\n", &[]);
    assert!(e[0].3.as_deref().unwrap().contains("is a transform plugin: put it under `steps:`"), "{e:?}");
    let e = errors(
        "name: x\nsources:\n  a:\n    plugin: csv\n    path: a.csv\nsteps:\n  s:\n    plugin: sql\n    from: []\n",
        &[],
    );
    assert_eq!((e[0].0, e[0].1, e[0].2.as_str()), (9, 11, "reads no table"));
    let e = errors("name: x\nsources:\n  a:\n    plugin: csv\n    path: a.csv\n    delimiter: ab\n", &[]);
    assert_eq!((e[0].0, e[0].1), (6, 16));
    assert_eq!(e[0].2, "wrong type for \"delimiter\": expected a character, found string \"ab\"");
}

/// Services reference schools, cases and classes. Without a source holding
/// cases the plan warns (with a hint naming both ways out) on the services
/// entry; `references: {cases: none}` leaves them unchecked without a word.
#[test]
fn unchecked_references_warn_unless_left_out_on_purpose() {
    let warned = |extra: &str| -> Vec<(usize, usize, String, Option<String>)> {
        let text = format!(
            "name: w\nsources:\n  schools: {{plugin: csv, path: s.csv, contract: schools}}\n  services: {{plugin: csv, path: v.csv, contract: services{extra}}}\nsteps:\n  a: {{plugin: sql, from: [services]}}\noutputs:\n  o: {{plugin: csv, table: a, path: a.csv}}\n"
        );
        let plan = validate_text(&text, "p.yaml", Path::new("/pipes"), &registry(), &options(&[]))
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(plan.sources[1].references.get("schools").map(String::as_str), Some("schools"));
        assert!(!plan.sources[1].references.contains_key("cases"));
        plan.warnings
            .iter()
            .map(|d| {
                let (l, c) = d.location.as_ref().map(|l| (l.line, l.column)).unwrap_or((0, 0));
                (l, c, d.message.clone(), d.hint.clone())
            })
            .collect()
    };
    let both = warned("");
    let messages: Vec<&str> = both.iter().map(|w| w.2.as_str()).collect();
    assert_eq!(
        messages,
        [
            "references to cases are not checked: no source has `contract: cases`",
            "references to centres are not checked: no source has `contract: centres`",
            "references to classes are not checked: no source has `contract: classes`"
        ]
    );
    assert_eq!((both[0].0, both[0].1), (4, 3), "at the services entry's name");
    assert!(both[0].3.as_deref().is_some_and(|h| h.contains("`references: {cases: none}`")), "{both:?}");
    let one = warned(", references: {cases: none, centres: none}");
    assert_eq!(one.len(), 1);
    assert!(one[0].2.starts_with("references to classes"));
    assert!(warned(", references: {cases: none, centres: none, classes: none}").is_empty());
}

#[test]
fn materialize_is_a_step_option_checked_like_any_key() {
    let text = "name: m\nsources:\n  s:\n    plugin: csv\n    path: a.csv\nsteps:\n  a:\n    plugin: sql\n    from: [s]\n    materialize: true\n  b:\n    plugin: sql\n    from: [a]\n    materialize: maybe\n  c:\n    plugin: sql\n    from: [a]\n    materialise: true\n";
    let errs = errors(text, &[]);
    let wrong = errs.iter().find(|e| e.2.contains("materialize")).unwrap_or_else(|| panic!("{errs:#?}"));
    assert_eq!((wrong.0, wrong.1), (14, 18), "{wrong:?}");
    let typo = errs.iter().find(|e| e.2.contains("unknown key \"materialise\"")).unwrap_or_else(|| panic!("{errs:#?}"));
    assert_eq!((typo.0, typo.1), (18, 5));
    assert!(typo.3.as_deref().unwrap_or_default().contains("materialize"), "{typo:?}");
    let ok = "name: m\nsources:\n  s:\n    plugin: csv\n    path: a.csv\nsteps:\n  a:\n    plugin: sql\n    from: [s]\n    materialize: true\n";
    let plan = validate_text(ok, "p.yaml", Path::new("/pipes"), &registry(), &options(&[]))
        .unwrap_or_else(|d| panic!("{d:?}"));
    assert!(plan.steps[0].options.materialize);
}
