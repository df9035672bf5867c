//! The `sunward` binary end to end: `validate` reporting every mistake of a
//! pipeline at its exact place, YAML syntax errors, `run` of the sample
//! pipeline with its outputs checked against values counted by hand from
//! `sample-data/first/services.csv`, the exit codes (0, 2, 3), `plugins` and
//! `schema`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sunward() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sunward"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn outputs(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(path).expect("the CSV file exists");
    reader.records().map(|r| r.expect("a record").iter().map(str::to_string).collect()).collect()
}

fn rows(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

/// Run `validate` on the mistakes fixture from its folder, so the file is named `mistakes.yaml`.
fn validate_mistakes() -> (Option<i32>, String) {
    let output = sunward()
        .current_dir(fixture("validate"))
        .args(["validate", "mistakes.yaml", "--set", "year=twenty"])
        .output()
        .expect("the binary runs");
    let (_, stderr) = outputs(&output);
    (output.status.code(), stderr)
}

/// The rendered block of the error whose first line contains `message`.
fn block<'a>(stderr: &'a str, message: &str) -> &'a str {
    stderr
        .split("\n\n")
        .find(|b| b.lines().next().is_some_and(|l| l.contains(message)))
        .unwrap_or_else(|| panic!("no error containing {message:?} in:\n{stderr}"))
}

#[test]
fn validate_reports_every_mistake_at_its_place() {
    let (code, stderr) = validate_mistakes();
    assert_eq!(code, Some(2), "{stderr}");
    // Positions counted by hand in tests/fixtures/validate/mistakes.yaml.
    let unknown_top = block(&stderr, "unknown key \"colour\" in the pipeline");
    assert!(unknown_top.contains("--> mistakes.yaml:2:1 (pipeline)"), "{unknown_top}");

    let unknown_key = block(&stderr, "unknown key \"delimeter\"");
    assert!(unknown_key.contains("--> mistakes.yaml:9:5 (sources.schools)"), "{unknown_key}");
    assert!(unknown_key.contains("= hint: similar: delimiter"), "{unknown_key}");
    assert!(unknown_key.contains("9 |     delimeter: \";\"\n  |     ^"), "caret under the key: {unknown_key}");

    let duplicate = block(&stderr, "duplicate table name \"schools\"");
    assert!(duplicate.contains("--> mistakes.yaml:14:3 (steps.schools)"), "{duplicate}");
    assert!(duplicate.contains("first declared under sources at mistakes.yaml:6:3"), "{duplicate}");

    let plugin = block(&stderr, "unknown transform plugin \"sqll\"");
    assert!(plugin.contains("--> mistakes.yaml:18:13 (steps.by_school)"), "{plugin}");
    assert!(plugin.contains("= hint: similar: sql"), "{plugin}");

    let cycle = block(&stderr, "depend on each other in a cycle: a → b → a");
    assert!(cycle.contains("--> mistakes.yaml:20:3 (steps.a)"), "{cycle}");

    let table = block(&stderr, "unknown table \"servics\"");
    assert!(table.contains("--> mistakes.yaml:28:34 (steps.c)"), "{table}");
    assert!(table.contains("= hint: similar: services"), "{table}");

    let missing = block(&stderr, "missing required key \"table\"");
    assert!(missing.contains("--> mistakes.yaml:30:3 (outputs.out_csv)"), "{missing}");

    let wrong_type = block(&stderr, "wrong type for \"bom\": expected a boolean, found string \"yes\"");
    assert!(wrong_type.contains("--> mistakes.yaml:37:10 (outputs.flagged)"), "{wrong_type}");

    let set = block(&stderr, "--set year: `twenty` is not a whole number");
    assert!(set.contains("= hint: parameter \"year\" has type int"), "{set}");

    assert!(stderr.trim_end().ends_with("9 errors in mistakes.yaml"), "{stderr}");
    assert_eq!(stderr.matches("\nerror: ").count() + usize::from(stderr.starts_with("error: ")), 9, "{stderr}");
}

#[test]
fn validate_reports_a_yaml_syntax_error_with_its_position() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    // Line 5 is indented by three spaces inside a mapping indented by four.
    std::fs::write(dir.path().join("broken.yaml"), "name: broken\nsources:\n  a:\n    plugin: csv\n   path: x\n")
        .expect("write the pipeline");
    let output = sunward().current_dir(dir.path()).args(["validate", "broken.yaml"]).output().expect("runs");
    let (_, stderr) = outputs(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: this is not valid YAML"), "{stderr}");
    assert!(stderr.contains("--> broken.yaml:5:8\n"), "{stderr}");
    assert!(stderr.contains("5 |    path: x\n"), "{stderr}");
    assert!(stderr.trim_end().ends_with("1 error in broken.yaml"), "{stderr}");
}

#[test]
fn validate_accepts_the_sample_pipeline() {
    let output = sunward().arg("validate").arg(repo("pipelines/first.yaml")).output().expect("runs");
    let (stdout, stderr) = outputs(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "ok: first — 2 sources, 1 step, 2 outputs\n");
}

/// By school and service type, 2025 only; counted by hand from services.csv,
/// leaving out line 40 (participants 0) and line 41 (an unknown service type).
const BY_SCHOOL_2025: &[&[&str]] = &[
    &["school_id", "school_name", "service_type", "events", "participants"],
    &["S01", "青柳湖中学", "campus_event", "1", "320"],
    &["S01", "青柳湖中学", "case_session", "3", "3"],
    &["S01", "青柳湖中学", "committee_training", "1", "24"],
    &["S01", "青柳湖中学", "group_session", "2", "15"],
    &["S01", "青柳湖中学", "growth_class", "2", "87"],
    &["S01", "青柳湖中学", "mailbox_reply", "1", "1"],
    &["S01", "青柳湖中学", "parent_workshop", "1", "36"],
    &["S01", "青柳湖中学", "teacher_workshop", "1", "18"],
    &["S02", "桐荫小学", "consultation", "1", "1"],
    &["S02", "桐荫小学", "growth_class", "3", "117"],
    &["S02", "桐荫小学", "home_visit", "1", "2"],
    &["S02", "桐荫小学", "hotline_call", "1", "1"],
    &["S02", "桐荫小学", "immediate_support", "3", "3"],
    &["S02", "桐荫小学", "joint_meeting", "1", "9"],
    &["S02", "桐荫小学", "parent_workshop", "1", "52"],
    &["S02", "桐荫小学", "teacher_workshop", "1", "25"],
    &["S03", "澄溪中学", "campus_event", "1", "510"],
    &["S03", "澄溪中学", "case_session", "2", "2"],
    &["S03", "澄溪中学", "committee_training", "1", "30"],
    &["S03", "澄溪中学", "group_session", "3", "17"],
    &["S03", "澄溪中学", "growth_class", "1", "44"],
    &["S03", "澄溪中学", "joint_meeting", "1", "7"],
    &["S03", "澄溪中学", "mailbox_reply", "2", "2"],
    &["S03", "澄溪中学", "parent_workshop", "1", "61"],
];

#[test]
fn run_of_the_sample_pipeline_writes_its_outputs() {
    let out = tempfile::tempdir().expect("a temporary folder");
    let output = sunward()
        .arg("run")
        .arg(repo("pipelines/first.yaml"))
        .arg("--out")
        .arg(out.path())
        .args(["--memory-limit", "256M"])
        .output()
        .expect("runs");
    let (stdout, stderr) = outputs(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let rejects = out.path().join("rejects/services.csv");
    assert!(stdout.contains("schools: loaded 3 rows, rejected 0\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("services: loaded 38 rows, rejected 2 (see {})\n", rejects.display())),
        "{stdout}"
    );
    assert!(stdout.contains("table by_school_and_type: 24 rows\n"), "{stdout}");
    assert!(stdout.contains(&format!("manifest: {}\n", out.path().join("manifest-first.json").display())), "{stdout}");

    assert_eq!(csv_rows(&out.path().join("by_school_and_type_2025.csv")), rows(BY_SCHOOL_2025));
    assert!(out.path().join("services_2025.xlsx").is_file());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("manifest-first.json")).expect("a manifest"))
            .expect("the manifest is JSON");
    assert!(manifest.is_object());

    let rejected = csv_rows(&rejects);
    let places: Vec<(&str, &str)> = rejected.iter().skip(1).map(|r| (r[1].as_str(), r[2].as_str())).collect();
    assert_eq!(places, [("line 40", "participants"), ("line 41", "service_type")]);
}

#[test]
fn run_with_set_counts_another_year() {
    let out = tempfile::tempdir().expect("a temporary folder");
    let output = sunward()
        .arg("run")
        .arg(repo("pipelines/first.yaml"))
        .args(["--quiet", "--set", "year=2024", "--out"])
        .arg(out.path())
        .output()
        .expect("runs");
    let (stdout, stderr) = outputs(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "", "--quiet prints no summary");
    // Only R0013 and R0026 are dated 2024.
    let expected: &[&[&str]] = &[
        &["school_id", "school_name", "service_type", "events", "participants"],
        &["S01", "青柳湖中学", "growth_class", "1", "40"],
        &["S02", "桐荫小学", "parent_workshop", "1", "48"],
    ];
    assert_eq!(csv_rows(&out.path().join("by_school_and_type_2024.csv")), rows(expected));
}

#[test]
fn too_many_rejected_rows_exit_with_3() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let pipeline = std::fs::read_to_string(repo("pipelines/first.yaml"))
        .expect("the sample pipeline")
        .replace("    contract: services\n", "    contract: services\n    max_rejected: 1\n");
    std::fs::write(dir.path().join("limited.yaml"), pipeline).expect("write the pipeline");
    let data = repo("sample-data/first").canonicalize().expect("the sample data");
    let output = sunward()
        .current_dir(dir.path())
        .args(["run", "limited.yaml", "--out", "out", "--set"])
        .arg(format!("data_dir={}", data.display()))
        .output()
        .expect("runs");
    let (_, stderr) = outputs(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("error: too many rejected rows"), "{stderr}");
    assert!(stderr.trim_end().ends_with("1 error in limited.yaml"), "{stderr}");
    let rejects = dir.path().join("out/failed/first/rejects/services.csv");
    assert!(rejects.is_file(), "the failed run's rejects are set aside");
    assert!(stderr.contains("out/failed/first/rejects/services.csv"), "the message points to them: {stderr}");
    assert!(!dir.path().join("out/rejects").exists(), "nothing of the failed run is published");
    assert!(!dir.path().join("out/by_school_and_type_2025.csv").exists(), "no output is written");
}

#[test]
fn usage_errors_exit_with_2() {
    for args in
        [&["run"][..], &["frobnicate"], &["run", "p.yaml", "--memory-limit", "lots"], &["plugins", "--kind", "x"]]
    {
        let output = sunward().args(args).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    let output = sunward().arg("--help").output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
}

/// Every built-in plugin, by kind.
const BUILTINS: &[(&str, &str)] = &[
    ("csv", "source"),
    ("jsonl", "source"),
    ("parquet", "source"),
    ("xlsx", "source"),
    ("pseudonymise", "transform"),
    ("sql", "transform"),
    ("csv", "sink"),
    ("jsonl", "sink"),
    ("parquet", "sink"),
    ("report", "sink"),
    ("xlsx", "sink"),
];

#[test]
fn plugins_lists_every_builtin() {
    let output = sunward().arg("plugins").output().expect("runs");
    let (stdout, stderr) = outputs(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for (name, kind) in BUILTINS {
        assert!(
            stdout.contains(&format!("\n{name} ({kind}, under `")) || stdout.starts_with(&format!("{name} ({kind}"))
        );
    }
    assert_eq!(sunward_plugins::builtin_registry().iter().count(), BUILTINS.len(), "a new built-in needs a line here");
    // Sources show the options every source shares; the sql step its query and example.
    assert!(stdout.contains("  options every source accepts:\n"), "{stdout}");
    assert!(stdout.contains("\n    contract (string; optional)\n"), "{stdout}");
    assert!(stdout.contains("\n    on_bad_rows (one of: reject, fail; default: \"reject\")\n"), "{stdout}");
    let output = sunward().args(["plugins", "sql", "--kind", "transform"]).output().expect("runs");
    let (stdout, _) = outputs(&output);
    assert!(stdout.starts_with("sql (transform, under `steps:`)\n"), "{stdout}");
    assert!(stdout.contains("    query (string; required)\n"), "{stdout}");
    assert!(stdout.contains("  example:\n    plugin: sql\n"), "{stdout}");

    let output = sunward().args(["plugins", "--kind", "sink", "--json"]).output().expect("runs");
    let items: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let names: Vec<&str> = items.as_array().expect("a list").iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, ["csv", "jsonl", "parquet", "report", "xlsx"]);
    let csv = &items[0];
    assert_eq!(csv["kind"], "sink");
    let table = csv["fields"].as_array().expect("fields").iter().find(|f| f["name"] == "table").expect("table");
    assert_eq!(table["required"], true);
    assert_eq!(table["description"], "The table to write.");

    let output = sunward().args(["plugins", "sqll"]).output().expect("runs");
    let (_, stderr) = outputs(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("no plugin named \"sqll\"") && stderr.contains("similar: sql"), "{stderr}");
}

#[test]
fn schema_is_json_naming_every_plugin() {
    let output = sunward().arg("schema").output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the schema is JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let names = |section: &str| -> Vec<String> {
        schema["properties"][section]["additionalProperties"]["oneOf"]
            .as_array()
            .expect("branches")
            .iter()
            .filter_map(|b| b["properties"]["plugin"]["const"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(names("sources"), ["csv", "jsonl", "parquet", "xlsx"]);
    assert_eq!(names("steps"), ["pseudonymise", "sql"]);
    assert_eq!(names("outputs"), ["csv", "jsonl", "parquet", "report", "xlsx"]);
}

#[test]
fn the_schema_accepts_the_sample_pipeline_and_flags_an_unknown_key() {
    let output = sunward().arg("schema").output().expect("runs");
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let text = std::fs::read_to_string(repo("pipelines/first.yaml")).expect("the sample pipeline");
    let as_json = |text: &str| sunward_core::yaml::parse(text, "first.yaml").expect("YAML").to_json();
    let errors: Vec<String> = validator.iter_errors(&as_json(&text)).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let misspelt = text.replace("    contract: services\n", "    contract: services\n    encodng: gb18030\n");
    assert!(!validator.is_valid(&as_json(&misspelt)));
    let wrong_plugin_key = text.replace("    tables: [by_school_and_type]\n", "    table: by_school_and_type\n");
    assert!(!validator.is_valid(&as_json(&wrong_plugin_key)));
    // Every shipped pipeline passes, `include:`, `functions:` and `checks:` included.
    for pipeline in ["metrics", "district-comparison", "government-summary", "annual-review", "screening-loop"] {
        let text = std::fs::read_to_string(repo(&format!("pipelines/{pipeline}.yaml"))).unwrap();
        let errors: Vec<String> = validator.iter_errors(&as_json(&text)).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{pipeline}: {errors:?}");
    }
    let functions = std::fs::read_to_string(repo("pipelines/functions/rates.yaml")).unwrap();
    let declared = sunward_core::yaml::parse(&functions, "rates.yaml").unwrap().to_json();
    let mut with_functions = as_json(&text);
    with_functions["functions"] = declared["functions"].clone();
    assert!(validator.is_valid(&with_functions));
    with_functions["functions"]["per_1000"]["returns"] = "double".into();
    assert!(!validator.is_valid(&with_functions));
    let mut with_check = as_json(&text);
    with_check["checks"] = serde_json::json!([{"table": "services", "unique": "record_id", "severity": "warn"}]);
    assert!(validator.is_valid(&with_check));
    with_check["checks"][0]["severty"] = "warn".into();
    assert!(!validator.is_valid(&with_check));
}
