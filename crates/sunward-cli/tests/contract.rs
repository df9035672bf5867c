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
