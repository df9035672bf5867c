//! The example plugin's own `sunward` binary: it lists `row_number` beside the
//! built-ins, validates a pipeline using it, and runs it on a five-row CSV. The
//! expected numbering was worked out by hand: by ascending age, the person
//! without an age last.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sunward-hello"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/row_number").join(name)
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn plugins_lists_row_number_and_the_builtins() {
    let output = binary().arg("plugins").output().expect("the binary runs");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("row_number (transform, under `steps:`)"), "{stdout}");
    assert!(stdout.contains("sql (transform, under `steps:`)"), "{stdout}");
    assert!(stdout.contains("csv (source, under `sources:`)"), "{stdout}");
    // The whole list ends by naming the SQL functions, the plugin's among them.
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("SQL functions: age_band, poisson_ci_high"), "{last}");

    let output = binary().args(["plugins", "row_number"]).output().expect("the binary runs");
    let (stdout, _) = text(&output);
    assert!(stdout.contains("table (string; required)"), "{stdout}");
    assert!(stdout.contains("column (string; default: \"row_number\")"), "{stdout}");
    assert!(stdout.contains("order_by (string; optional)"), "{stdout}");
    assert!(!stdout.contains("sql ("), "only the plugin asked for: {stdout}");
}

#[test]
fn schema_includes_row_number() {
    let output = binary().arg("schema").output().expect("the binary runs");
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the schema is JSON");
    let steps = schema["properties"]["steps"]["additionalProperties"]["oneOf"].as_array().expect("step branches");
    assert!(steps.iter().any(|b| b["properties"]["plugin"]["const"] == "row_number"));
}

#[test]
fn runs_a_pipeline_using_row_number() {
    let out = tempfile::tempdir().expect("a temporary folder");
    let output = binary()
        .args(["run", "--quiet", "--out"])
        .arg(out.path())
        .arg(fixture("pipeline.yaml"))
        .output()
        .expect("the binary runs");
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    let mut reader = csv::Reader::from_path(out.path().join("numbered.csv")).expect("the output exists");
    let headers = reader.headers().expect("a header").clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), ["n", "name", "age", "band"]);
    let rows: Vec<Vec<String>> =
        reader.records().map(|r| r.expect("a record").iter().map(str::to_string).collect()).collect();
    // The bands by hand: 25 and 29 are under 30, 34 is 30–39, 41 is 40 and over, no age no band.
    let expected = [
        ["1", "Zhao Min", "25", "under 30"],
        ["2", "Li Lei", "29", "under 30"],
        ["3", "Wang Fang", "34", "30–39"],
        ["4", "Zhang Wei", "41", "40 and over"],
        ["5", "Chen Jing", "", ""],
    ];
    assert_eq!(rows, expected.map(|r| r.map(str::to_string).to_vec()).to_vec());
}

#[test]
fn an_unknown_order_column_is_reported_by_validate() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::copy(fixture("people.csv"), dir.path().join("people.csv")).expect("copy the data");
    let pipeline = std::fs::read_to_string(fixture("pipeline.yaml"))
        .expect("the fixture")
        .replace("order_by: age", "order_by: agee");
    let path = dir.path().join("pipeline.yaml");
    std::fs::write(&path, pipeline).expect("write the pipeline");
    let output = binary().arg("validate").arg(&path).output().expect("the binary runs");
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("has no column \"agee\" to order by"), "{stderr}");
    assert!(stderr.contains("similar: age"), "{stderr}");
}

#[test]
fn plugins_lists_the_plugins_function_with_its_signature_and_documentation() {
    let output = binary().args(["plugins", "--kind", "function"]).output().expect("the binary runs");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("age_band(age)"), "{stdout}");
    assert!(stdout.contains("under 30, 30–39, or 40 and over"), "{stdout}");
    // The built-in statistics functions are listed the same way.
    assert!(stdout.contains("poisson_ci_high(count)"), "{stdout}");
    let output = binary().args(["plugins", "--kind", "function", "age_band", "--json"]).output().expect("runs");
    let (stdout, _) = text(&output);
    let items: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(items[0]["name"], "age_band");
    assert_eq!(items[0]["kind"], "scalar");
}
