//! The `sunward` binary as a user runs it: exit codes, every validation
//! mistake reported with its place, the shipped first pipeline, plugins and schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sunward(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).args(args).current_dir(cwd).output().expect("the binary runs")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn validate_reports_every_mistake_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.csv"), "a\n1\n").unwrap();
    // Lines:     1           2        3                                   4            5
    let text = "name: bad\nparams:\n  year: {type: int, default: 2025}\nsurces: {}\nsources:\n  s:\n    plugin: csv\n    path: s.csv\n    delimiter: 5\n  t:\n    plugin: csvv\n    path: t.csv\n  u:\n    plugin: csv\n    pth: u.csv\nsteps:\n  a:\n    plugin: sqll\n    query: SELECT 1\n  b:\n    plugin: sql\n    query: SELECT * FROM c\n  c:\n    plugin: sql\n    query: SELECT * FROM b\n  d:\n    plugin: sql\n    query: SELECT * FROM nowhere\n  s:\n    plugin: sql\n";
    std::fs::write(tmp.path().join("p.yaml"), text).unwrap();
    let out = sunward(&["validate", "p.yaml", "--set", "year=soon"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "unknown key \"surces\" in the pipeline\n  --> p.yaml:4:1",
        "wrong type for \"delimiter\": expected a character, found integer `5`\n  --> p.yaml:9:16",
        "unknown source plugin \"csvv\"\n  --> p.yaml:11:13",
        "unknown key \"pth\"\n  --> p.yaml:15:5",
        "unknown transform plugin \"sqll\"\n  --> p.yaml:18:13",
        "these steps depend on each other in a cycle: b → c → b\n  --> p.yaml:20:3",
        "unknown table \"nowhere\"\n  --> p.yaml:28:26",
        "duplicate table name \"s\"\n  --> p.yaml:29:3",
        "missing required key \"query\"\n  --> p.yaml:29:3",
        "--set year: `soon` is not a whole number",
        "similar: sql",
        "similar: sources",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn a_yaml_syntax_error_has_a_position() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.yaml"), "name: x\nsources: [a, b\n").unwrap();
    let out = sunward(&["validate", "p.yaml"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("this is not valid YAML") && stderr.contains("--> p.yaml:"), "{stderr}");
}

#[test]
fn the_first_pipeline_runs_and_a_reject_limit_fails_with_code_3() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let out = sunward(&["run", "pipelines/first.yaml", "--out", out_dir.to_str().unwrap()], &repo());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("services: loaded 38 rows, rejected 2"), "{stdout}");
    let csv = std::fs::read_to_string(out_dir.join("by_school_and_type_2025.csv")).unwrap();
    // Counted by hand in sample-data/first/services.csv: S01's case sessions in 2025 are
    // R0001-R0003, one participant each; S03's two are written with the label 个案辅导.
    assert!(csv.contains("S01,淀山湖中学,case_session,3,3\n"), "{csv}");
    assert!(csv.contains("S03,浏河中学,case_session,2,2\n"), "{csv}");
    assert!(out_dir.join("rejects/services.csv").exists());
    assert!(out_dir.join("manifest.json").exists());

    let strict = std::fs::read_to_string(repo().join("pipelines/first.yaml"))
        .unwrap()
        .replace("    contract: services\n", "    contract: services\n    max_rejected: 0\n")
        .replace("../sample-data/first", repo().join("sample-data/first").to_str().unwrap());
    std::fs::write(tmp.path().join("strict.yaml"), strict).unwrap();
    let out = sunward(&["run", "strict.yaml", "--out", "strict-out", "--quiet"], tmp.path());
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!tmp.path().join("strict-out/by_school_and_type_2025.csv").exists());
}

#[test]
fn plugins_and_schema_list_every_builtin() {
    let out = sunward(&["plugins"], &repo());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["csv", "xlsx", "jsonl", "parquet", "sql"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    let out = sunward(&["schema"], &repo());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    let text = schema.to_string();
    for name in ["\"xlsx\"", "\"parquet\"", "\"sql\"", "max_rejected"] {
        assert!(text.contains(name), "{name} missing from the schema");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = sunward(&["frobnicate"], &repo());
    assert_eq!(out.status.code(), Some(2));
}
