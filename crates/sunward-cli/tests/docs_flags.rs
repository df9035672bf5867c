//! No document names a flag or a pipeline key that the code lacks: every
//! `sunward <command> … --flag` written in the README, docs/, the contract's
//! and the sample data's READMEs and the shipped pipelines' comments is
//! checked against that command's own `--help`, and every key of a pipeline
//! written in a document's YAML block against the JSON Schema `sunward
//! schema` prints.

use crate::common;

use common::repo;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const COMMANDS: &[&str] =
    &["run", "validate", "test", "plugins", "schema", "datagen", "contract", "cluster scheduler", "cluster executor"];

/// The `--flags` in a piece of text (`--set=x` gives `--set`).
fn flags_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '(' || c == '[' || c == '`')
        .filter_map(|token| {
            let rest = token.strip_prefix("--")?;
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            (name.starts_with(|c: char| c.is_ascii_lowercase())).then(|| format!("--{name}"))
        })
        .collect()
}

/// Each command's flags, from its `--help`.
fn known_flags() -> BTreeMap<&'static str, BTreeSet<String>> {
    COMMANDS
        .iter()
        .map(|command| {
            let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
                .args(command.split(' '))
                .arg("--help")
                .output()
                .expect("the binary runs");
            assert!(output.status.success(), "sunward {command} --help");
            (*command, flags_in(&String::from_utf8_lossy(&output.stdout)).into_iter().collect())
        })
        .collect()
}

/// The documents a user reads.
fn documents() -> Vec<std::path::PathBuf> {
    let root = repo();
    let mut files = vec![root.join("README.md"), root.join("contract/README.md"), root.join("sample-data/README.md")];
    for dir in ["docs", "pipelines", "examples/analyst", "examples/bureau", "bench"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md" || e == "yaml" || e == "sh") {
                files.push(path);
            }
        }
    }
    files
}

/// Every `sunward <command> …` in `text`: the command and what follows it
/// on its line (continuation lines joined), up to a closing backtick or a
/// `#` comment.
fn invocations(text: &str) -> Vec<(String, String)> {
    let joined = text.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let mut from = 0;
        while let Some(at) = line[from..].find("sunward ") {
            let start = from + at;
            from = start + "sunward ".len();
            let before = line[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                continue;
            }
            let rest = &line[from..];
            let Some(command) =
                COMMANDS.iter().filter(|c| rest.starts_with(&format!("{c} ")) || rest == **c).max_by_key(|c| c.len())
            else {
                continue;
            };
            let segment = &rest[command.len()..];
            let end = [segment.find('`'), segment.find(" #")].into_iter().flatten().min().unwrap_or(segment.len());
            found.push((command.to_string(), segment[..end].to_string()));
        }
    }
    found
}

#[test]
fn every_flag_a_document_gives_a_command_is_one_it_has() {
    let known = known_flags();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for path in documents() {
        let text = std::fs::read_to_string(&path).unwrap();
        for (command, segment) in invocations(&text) {
            for flag in flags_in(&segment) {
                checked += 1;
                if !known[command.as_str()].contains(&flag) {
                    wrong.push(format!("{}: sunward {command} … {flag}", path.strip_prefix(repo()).unwrap().display()));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} flags found: the scan is broken");
    assert!(wrong.is_empty(), "flags the commands do not have:\n{}", wrong.join("\n"));
}

#[test]
fn the_scan_finds_flags_in_code_and_in_prose() {
    let text = "Run `sunward run p.yaml --out out --set year=2024` then\n\
                sunward validate p.yaml \\\n  --set x=1 # not --this\n\
                and target/debug/sunward contract --markdown.";
    assert_eq!(
        invocations(text).into_iter().map(|(c, s)| (c, flags_in(&s))).collect::<Vec<_>>(),
        [
            ("run".to_string(), vec!["--out".to_string(), "--set".to_string()]),
            ("validate".to_string(), vec!["--set".to_string()]),
            ("contract".to_string(), vec!["--markdown".to_string()]),
        ]
    );
}

#[test]
fn every_pipeline_key_a_document_writes_is_one_the_schema_has() {
    let output = Command::new(env!("CARGO_BIN_EXE_sunward")).arg("schema").output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let top: BTreeSet<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    // Each plugin's keys, by section.
    let mut plugins: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for section in ["sources", "steps", "outputs"] {
        for branch in schema["properties"][section]["additionalProperties"]["oneOf"].as_array().unwrap() {
            let name = branch["title"].as_str().unwrap();
            let keys = branch["properties"].as_object().unwrap().keys().map(String::as_str).collect();
            plugins.insert((section, name), keys);
        }
    }
    let mut wrong = Vec::new();
    let mut entries = 0;
    for path in documents().into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = path.strip_prefix(repo()).unwrap().display().to_string();
        for block in common::fenced_blocks(&text, "yaml") {
            let Ok(root) = sunward_core::yaml::parse(&block, &shown) else { continue };
            let root = root.to_json();
            let Some(map) = root.as_object() else { continue };
            let sections: Vec<&str> =
                ["sources", "steps", "outputs"].into_iter().filter(|s| map.contains_key(*s)).collect();
            if sections.is_empty() {
                continue;
            }
            for key in map.keys() {
                if !top.contains(key.as_str()) {
                    wrong.push(format!("{shown}: the pipeline key `{key}`"));
                }
            }
            for section in sections {
                let Some(section_entries) = map[section].as_object() else { continue };
                for (name, entry) in section_entries {
                    let Some(plugin) = entry.get("plugin").and_then(|p| p.as_str()) else { continue };
                    entries += 1;
                    // The example plugin crate's own step, in its own binary.
                    if plugin == "row_number" {
                        continue;
                    }
                    let Some(keys) = plugins.get(&(section, plugin)) else {
                        wrong.push(format!("{shown}: {section}.{name}: no {section} plugin `{plugin}`"));
                        continue;
                    };
                    for key in entry.as_object().unwrap().keys() {
                        if !keys.contains(key.as_str()) {
                            wrong.push(format!("{shown}: {section}.{name}: `{plugin}` has no key `{key}`"));
                        }
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "keys the code does not have:\n{}", wrong.join("\n"));
    assert!(entries >= 15, "only {entries} entries found: the scan is broken");
}

/// docs/PIPELINE-KEYS.md is the reference `sunward schema --markdown` prints
/// from the code: every key of a pipeline, a workflow and each plugin.
#[test]
fn the_pipeline_keys_reference_is_what_the_code_prints() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sunward"))
        .args(["schema", "--markdown"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let committed = std::fs::read_to_string(common::repo().join("docs/PIPELINE-KEYS.md")).unwrap();
    assert!(
        committed == printed,
        "docs/PIPELINE-KEYS.md is out of date: run `sunward schema --markdown > docs/PIPELINE-KEYS.md`"
    );
    for key in ["sources", "for_each", "in_data", "max_rejected", "draft"] {
        assert!(printed.contains(&format!("| `{key}` |")), "{key} in the reference");
    }
    assert!(printed.contains("### `report`") && printed.contains("## A workflow file"));
}
