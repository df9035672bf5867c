//! `sunward contract`: the data contract printed from the code, and
//! docs/CONTRACT.md kept equal to it.

use std::path::Path;
use std::process::Command;

fn contract(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sunward")).arg("contract").args(args).output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn docs_contract_md_is_what_the_code_prints() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONTRACT.md");
    let committed = std::fs::read_to_string(&path).expect("docs/CONTRACT.md");
    assert!(
        committed == contract(&["--markdown"]),
        "docs/CONTRACT.md is out of date: run `sunward contract --markdown > docs/CONTRACT.md`"
    );
}

#[test]
fn the_contract_shows_each_table_its_codes_with_labels_and_its_rules() {
    let text = contract(&[]);
    for table in
        ["schools", "enrolment", "classes", "services", "cases", "screenings", "incidents", "outcomes", "attendance"]
    {
        assert!(text.contains(&format!("\n{table} — one row is ")), "{table}");
    }
    // A code with its Chinese labels, a minimum, a reference, a key of two columns, ordered dates.
    assert!(text.contains("`case_session` 个案辅导 / 个案介入") || text.contains("case_session 个案辅导 / 个案介入"));
    assert!(text.lines().any(|l| l.trim_start().starts_with("participants") && l.contains("1 to 100000")));
    assert!(text.lines().any(|l| l.trim_start().starts_with("case_id") && l.contains("a case_id of cases")));
    assert!(text.contains("unique together: school_id + academic_year"));
    assert!(text.lines().any(|l| l.trim_start().starts_with("closed_on") && l.contains("not before opened_on")));
    assert!(!text.contains('`'), "no Markdown in the text form");
    assert!(text.lines().all(|l| l == l.trim_end()), "no trailing spaces");
}

/// The contract's YAML files are the only place a code is spelled: no
/// source file of the engine, the plugins, the renderer or the command
/// writes one as a string (test modules aside). Three words that happen to
/// be codes are allowed where they mean something else; the generator
/// behind `sunward datagen` is a model of the shipped domain (how often
/// each code occurs, what it implies) and checks every code it writes
/// against the contract instead (`every_code_the_generator_writes_is_a_contract_code`
/// in its tests).
#[test]
fn codes_are_spelled_only_in_the_contract_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let codes: std::collections::BTreeSet<&str> = sunward_core::contract::tables()
        .iter()
        .flat_map(|t| t.columns.iter())
        .flat_map(|c| c.codes.unwrap_or_default().iter().copied())
        .collect();
    // (file, code): the word as something other than a code.
    let other_meanings = [
        ("crates/sunward-core/src/validate/mod.rs", "none"), // `references: {cases: none}`
        ("crates/sunward-render/src/chart.rs", "high"),      // a band of a chart
        ("crates/sunward-render/src/plot.rs", "none"),       // the English word in a sentence
        ("crates/sunward-render/src/html.rs", "phone"),      // the chart drawn for a phone's width
    ];
    let mut found = Vec::new();
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            if path.is_dir() {
                let skipped = relative.ends_with("/tests")
                    || relative == "crates/sunward-datagen"
                    || relative.ends_with("/target");
                if !skipped {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // The code before its test module, comments aside.
            let code_part: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for code in &codes {
                if code_part.contains(&format!("\"{code}\"")) && !other_meanings.contains(&(relative.as_str(), code)) {
                    found.push(format!("{relative}: \"{code}\""));
                }
            }
        }
    }
    assert!(found.is_empty(), "codes spelled in Rust, not in contract/*.yaml:\n{}", found.join("\n"));
}
