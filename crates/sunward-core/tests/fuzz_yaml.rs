//! Validation never panics, whatever the pipeline file holds: arbitrary bytes
//! (decoded lossily, as a file with broken UTF-8 would be read), arbitrary
//! text, and YAML-looking text assembled from pipeline fragments all produce
//! either a plan or diagnostics. Every diagnostic is an error with a lowercase
//! message, and a located one points inside the text.

use datafusion::prelude::DataFrame;
use proptest::prelude::*;
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
        PluginInfo { name: "csv", description: "test", example: "plugin: csv\ntable: a\npath: a\n" };
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

fn check_never_panics(text: &str, sets: &[String]) {
    let options = ValidateOptions {
        sets: sets.to_vec(),
        cwd: PathBuf::from("/cwd"),
        out_dir: PathBuf::from("/out"),
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date"),
    };
    // YAML breaks lines at `\n`, `\r\n` and a lone `\r`; a position may be one past the last line.
    let lines = text.replace("\r\n", "\n").matches(['\n', '\r']).count() + 2;
    if let Err(diags) = validate_text(text, "p.yaml", Path::new("/pipes"), &registry(), &options) {
        assert!(!diags.is_empty());
        for d in diags {
            assert!(d.is_error(), "{d}");
            let first = d.message.chars().next();
            assert!(first.is_none_or(|c| !c.is_uppercase()), "message not lowercase: {}", d.message);
            if let Some(loc) = &d.location {
                assert!(loc.line >= 1 && loc.line <= lines, "line {} outside a {lines}-line text", loc.line);
                assert!(loc.column >= 1);
            }
            let _ = d.render(Some(text));
        }
    }
}

/// Pieces of pipelines, right and wrong, to assemble into YAML-like text.
const FRAGMENTS: &[&str] = &[
    "name: x\n",
    "name: [1, 2]\n",
    "description: d\n",
    "params:\n",
    "  year: {type: int, default: 2025}\n",
    "  when: {type: date}\n",
    "  p: {type: path, default: ${year}}\n",
    "sources:\n",
    "  a:\n",
    "    plugin: csv\n",
    "    plugin: sqll\n",
    "    path: ${p}/a.csv\n",
    "    contract: services\n",
    "    max_rejected: \"5%\"\n",
    "    max_rejected: -1\n",
    "steps:\n",
    "  b:\n",
    "    plugin: sql\n",
    "    from: [a, b]\n",
    "    from: 3\n",
    "outputs:\n",
    "  c:\n",
    "    plugin: csv\n",
    "    table: b\n",
    "    path: c.csv\n",
    "  - item\n",
    "&anchor x: *anchor\n",
    "? complex\n",
    ": value\n",
    "'unterminated\n",
    "{a: [b, {c: d}]}\n",
    "---\n",
    "\t\n",
    "key: |\n  block\n",
    "!!binary aGVsbG8=\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_never_panics(&String::from_utf8_lossy(&bytes), &[]);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check_never_panics(&text, &[]);
    }

    #[test]
    fn assembled_pipelines_never_panic(
        picks in proptest::collection::vec(0..FRAGMENTS.len(), 0..24),
        sets in proptest::collection::vec("[a-z=,0-9:-]{0,12}", 0..3),
    ) {
        let text: String = picks.iter().filter_map(|i| FRAGMENTS.get(*i)).copied().collect();
        check_never_panics(&text, &sets);
    }
}
