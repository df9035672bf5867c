//! The `pseudonymise` step end to end through the `sunward` binary: a roster
//! export with raw roll numbers (`学籍号`) and names is loaded, the roll
//! numbers become keyed pseudonyms in `student_ref`, and no output file, no
//! manifest and no message holds a roll number, a name or the key. The
//! expected pseudonyms are computed here with the `hmac` crate directly.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;
use std::process::{Command, Output};

const KEY: &str = "test-key-0123456789abcdef-not-secret";
const ROLLS: [&str; 3] = ["G320584201001234567", "G320584201007654321", "G320584201000000042"];
const NAMES: [&str; 3] = ["张小明", "李小红", "王小刚"];

fn expected_ref(key: &str, roll: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(roll.as_bytes());
    let digest = mac.finalize().into_bytes();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A folder with `roster.csv` (the second student appears twice) and `pseudo.yaml`.
fn project(step_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut roster = String::from("学籍号,学生姓名,学校编号,分数\n");
    for (i, (roll, name)) in ROLLS.iter().zip(NAMES).enumerate() {
        roster.push_str(&format!("{roll},{name},S1,{}\n", 60 + i));
    }
    roster.push_str(&format!("{},{},S2,70\n", ROLLS[1], NAMES[1]));
    std::fs::write(dir.path().join("roster.csv"), roster).expect("write the roster");
    let pipeline = format!(
        r#"name: pseudo
sources:
  roster:
    plugin: csv
    path: roster.csv
    headers: {{学校编号: school_id, 分数: score}}
steps:
  refs:
    plugin: pseudonymise
    table: roster
    columns: [学籍号]
    drop: [学生姓名]
{step_extra}
outputs:
  csv: {{plugin: csv, table: refs, path: refs.csv}}
  jsonl: {{plugin: jsonl, table: refs, path: refs.jsonl}}
  parquet: {{plugin: parquet, table: refs, path: refs.parquet}}
"#
    );
    std::fs::write(dir.path().join("pseudo.yaml"), pipeline).expect("write the pipeline");
    dir
}

fn sunward(dir: &Path, args: &[&str], key: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sunward"));
    command.current_dir(dir).args(args).env_remove("SUNWARD_PSEUDONYM_KEY");
    if let Some(key) = key {
        command.env("SUNWARD_PSEUDONYM_KEY", key);
    }
    command.output().expect("the binary runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn every_file(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() { files.extend(every_file(&path)) } else { files.push(path) }
    }
    files
}

#[test]
fn roll_numbers_become_keyed_refs_and_leave_no_trace() {
    let dir = project("");
    let output = sunward(dir.path(), &["run", "pseudo.yaml", "--out", "out"], Some(KEY));
    assert!(output.status.success(), "{}", text(&output));
    let messages = text(&output);

    let mut reader = csv::Reader::from_path(dir.path().join("out/refs.csv")).expect("refs.csv");
    let headers: Vec<String> = reader.headers().expect("a header").iter().map(str::to_string).collect();
    // The pseudonym takes the place of 学籍号; the name column is gone.
    assert_eq!(headers, ["student_ref", "school_id", "score"]);
    let refs: Vec<String> = reader.records().map(|r| r.expect("a row")[0].to_string()).collect();
    let expected: Vec<String> =
        [ROLLS[0], ROLLS[1], ROLLS[2], ROLLS[1]].iter().map(|roll| expected_ref(KEY, roll)).collect();
    assert_eq!(refs, expected, "HMAC-SHA-256 under the key, first 16 bytes in hex");
    assert_eq!(refs[1], refs[3], "the same student gets the same ref");

    let outputs: Vec<_> = every_file(&dir.path().join("out"));
    assert!(outputs.iter().any(|p| p.ends_with("manifest-pseudo.json")));
    for path in outputs {
        let bytes = std::fs::read(&path).expect("read an output");
        let content = String::from_utf8_lossy(&bytes);
        for secret in ROLLS.iter().chain(NAMES.iter()).chain([KEY].iter()) {
            assert!(!content.contains(secret), "{} holds {secret:?}", path.display());
        }
    }
    for secret in ROLLS.iter().chain(NAMES.iter()).chain([KEY].iter()) {
        assert!(!messages.contains(secret), "the messages hold {secret:?}:\n{messages}");
    }
}

#[test]
fn the_same_key_gives_the_same_refs_and_another_key_others() {
    let dir = project("");
    let read = |out: &str| std::fs::read_to_string(dir.path().join(out).join("refs.csv")).expect("refs.csv");
    assert!(sunward(dir.path(), &["run", "pseudo.yaml", "--out", "a"], Some(KEY)).status.success());
    assert!(sunward(dir.path(), &["run", "pseudo.yaml", "--out", "b"], Some(KEY)).status.success());
    let other = "another-key-0123456789abcdef";
    assert!(sunward(dir.path(), &["run", "pseudo.yaml", "--out", "c"], Some(other)).status.success());
    assert_eq!(read("a"), read("b"));
    assert_ne!(read("a"), read("c"));
    assert!(read("c").contains(&expected_ref(other, ROLLS[0])));
}

#[test]
fn a_missing_or_short_key_stops_the_run_and_validation() {
    let dir = project("");
    let output = sunward(dir.path(), &["run", "pseudo.yaml", "--out", "out"], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("SUNWARD_PSEUDONYM_KEY is not set"), "{}", text(&output));
    assert!(!dir.path().join("out/refs.csv").exists(), "nothing is written without a key");

    let output = sunward(dir.path(), &["validate", "pseudo.yaml"], None);
    assert_ne!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("SUNWARD_PSEUDONYM_KEY"), "{}", text(&output));

    let output = sunward(dir.path(), &["run", "pseudo.yaml", "--out", "out"], Some("kX9q7"));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("too short: 5 bytes"), "{}", text(&output));
    assert!(!text(&output).contains("kX9q7"), "the key itself is never echoed");
}

#[test]
fn a_key_file_beside_the_pipeline_works() {
    let dir = project("    key_file: pseudonym.key");
    std::fs::write(dir.path().join("pseudonym.key"), format!("{KEY}\n")).expect("write the key");
    let output = sunward(dir.path(), &["run", "pseudo.yaml", "--out", "out"], None);
    assert!(output.status.success(), "{}", text(&output));
    let refs = std::fs::read_to_string(dir.path().join("out/refs.csv")).expect("refs.csv");
    // The trailing line break of the file is not part of the key.
    assert!(refs.contains(&expected_ref(KEY, ROLLS[2])), "{refs}");
}

#[test]
fn a_misspelt_drop_column_is_refused() {
    let dir = project("");
    let pipeline = std::fs::read_to_string(dir.path().join("pseudo.yaml")).expect("read");
    std::fs::write(dir.path().join("pseudo.yaml"), pipeline.replace("drop: [学生姓名]", "drop: [学生名字]"))
        .expect("write");
    let output = sunward(dir.path(), &["run", "pseudo.yaml", "--out", "out"], Some(KEY));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("has no column \"学生名字\" to drop"), "{}", text(&output));
    assert!(!dir.path().join("out/refs.csv").exists());
}

#[test]
fn the_plugin_is_listed_with_its_settings() {
    let output = Command::new(env!("CARGO_BIN_EXE_sunward")).args(["plugins", "pseudonymise"]).output().expect("runs");
    let listing = text(&output);
    assert!(output.status.success(), "{listing}");
    for field in ["columns", "into", "drop", "key_env", "key_file"] {
        assert!(listing.contains(field), "{field} missing in:\n{listing}");
    }
}
