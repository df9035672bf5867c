//! docs/OWN-DATA.md followed as written: its ```sh blocks run in order, by
//! bash, in an empty folder outside the repository, with `sunward` on the
//! PATH. Between them the test does what the page asks of a person: after
//! the first `validate` (which must fail, naming the year with no data and
//! every missing text at once) it sets the years and the official summary's
//! document numbers as the page's `text` blocks show them; after `sunward
//! init --texts` it writes every drafted text in its own words. Then it reads
//! what the reports show: every report in every format, each district's own
//! document number and recipient, each unit's own text, and nothing of the
//! sample data (its texts, its report dates, its unit IDs).

use crate::common;

use common::{fenced_blocks, pdf_text, repo};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bash(script: &str, dir: &Path) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_sunward")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap()
}

/// The `key: value` lines of the page's text block that mentions `key`.
fn settings_shown(page: &str, key: &str) -> Vec<(String, String)> {
    let block = fenced_blocks(page, "text").into_iter().find(|b| b.contains(&format!("{key}:"))).unwrap();
    block
        .lines()
        .filter_map(|line| {
            let (k, v) = line.trim().split_once(':')?;
            let v = v.split(" #").next().unwrap().trim();
            (!v.is_empty() && !k.contains(' ')).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// `sunward.yaml` with each `key:` line given the value shown.
fn set_in_project(project: &Path, settings: &[(String, String)]) {
    let text = std::fs::read_to_string(project).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (key, value) in settings {
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("{key}:")))
            .unwrap_or_else(|| panic!("sunward.yaml has a line for {key}:\n{text}"));
        let indent = lines[at].len() - lines[at].trim_start().len();
        lines[at] = format!("{}{key}: {value}", " ".repeat(indent));
    }
    std::fs::write(project, lines.join("\n") + "\n").unwrap();
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(files_under(&path)) } else { files.push(path) }
    }
    files.sort();
    files
}

#[test]
fn the_own_data_page_runs_as_written_and_borrows_nothing_from_the_samples() {
    let page = std::fs::read_to_string(repo().join("docs/OWN-DATA.md")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let project = root.join("my-district");
    let blocks = fenced_blocks(&page, "sh");
    assert!(blocks.len() >= 4, "the page's commands: {blocks:?}");

    let mut refused = None;
    for block in &blocks {
        let output = bash(block, root);
        let code = output.status.code();
        if block.contains("exit code 2") {
            assert_eq!(code, Some(2), "{block}\n{}", String::from_utf8_lossy(&output.stderr));
            refused = Some(String::from_utf8_lossy(&output.stderr).into_owned());
            set_in_project(&project.join("sunward.yaml"), &settings_shown(&page, "baseline_year"));
            set_in_project(&project.join("sunward.yaml"), &settings_shown(&page, "doc_number"));
            continue;
        }
        assert_eq!(
            code,
            Some(0),
            "{block}\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if block.contains("init --texts") {
            // A person writes each draft in their own words.
            for file in files_under(&project.join("texts")) {
                let unit = file.file_stem().unwrap().to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&file).unwrap();
                assert!(text.contains("【待补充】"), "a draft marks its gaps: {}", file.display());
                let own = text.replace("【待补充】", "") + &format!("\n本单位自己的文字：{unit}。\n");
                std::fs::write(&file, own).unwrap();
            }
        }
    }

    // The first validate named the year with no data and every missing text at once.
    let refused = refused.expect("the page shows validate refusing first");
    assert!(refused.contains("current_year = "), "the year with no data: {refused}");
    let units = ["D01", "D02", "ORG01", "ORG02", "S001", "S002", "S003", "S004", "S005", "S006"];
    for unit in units {
        assert!(refused.contains(&format!("/{unit}.md")), "{unit}'s text named at once: {refused}");
    }

    let out = project.join("out");
    let mut expected = Vec::new();
    for d in ["D01", "D02"] {
        expected.extend(["html", "pdf"].map(|e| format!("district-comparison_AY2024_{d}.{e}")));
        expected.extend(["html", "pdf", "docx"].map(|e| format!("government-summary_AY2024_{d}.{e}")));
        expected.extend(["html", "pdf", "docx"].map(|e| format!("government-summary_AY2024_{d}_official.{e}")));
    }
    for u in &units[2..] {
        expected.extend(["html", "pdf", "docx"].map(|e| format!("annual-review_2024_{u}.{e}")));
    }
    for file in &expected {
        assert!(out.join(file).is_file(), "{file} after the page's commands");
    }

    // Each district's official summary carries its own number and recipient.
    let d01 = pdf_text(&out.join("government-summary_AY2024_D01_official.pdf"));
    let d02 = pdf_text(&out.join("government-summary_AY2024_D02_official.pdf"));
    assert!(d01.contains("临教〔2025〕3号") && d01.contains("临江区人民政府："), "{d01}");
    assert!(d02.contains("青教〔2025〕8号") && d02.contains("青石区人民政府："), "{d02}");
    assert!(!d01.contains("青教〔2025〕8号") && !d02.contains("临教〔2025〕3号"));

    // Each unit's own text, and nothing of the samples'.
    let sample_texts: Vec<String> = files_under(&repo().join("pipelines/texts"))
        .iter()
        .flat_map(|f| std::fs::read_to_string(f).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.chars().count() > 15 && !l.starts_with('#') && !l.contains(':'))
        .collect();
    assert!(sample_texts.len() > 5, "the sample texts to look for");
    for file in files_under(&out).iter().filter(|f| f.extension().is_some_and(|e| e == "html")) {
        let html = std::fs::read_to_string(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for line in &sample_texts {
            let probe: String = line.chars().take(20).collect();
            assert!(!html.contains(&probe), "{name} prints a sample text: {probe}");
        }
        for sample in ["2025-10-20", "2025-10-15", "2026-01-20", "2025年10月20日", "2026年1月20日", "KS-ORG1", "320585"]
        {
            assert!(!html.contains(sample), "{name} prints {sample} from the samples");
        }
        let unit = units
            .iter()
            .find(|u| name.contains(&format!("_{u}.")))
            .or(units.iter().find(|u| name.contains(&format!("_{u}_"))));
        if let Some(unit) = unit
            && !name.starts_with("district-comparison")
        {
            assert!(html.contains(&format!("本单位自己的文字：{unit}。")), "{name} prints its own text");
        }
    }
}

/// No pipeline a project runs (those `sunward init` ships: the metrics and
/// the three reports) borrows from the samples by default: no data folder,
/// texts folder, metrics table of another run, or printed date is a default
/// (the sample workflows `pipelines/district.yaml` and `pipelines/project.yaml`
/// and a project's `sunward.yaml` say them). The demonstrations of the
/// samples themselves (`first.yaml`, `project-exports.yaml`, `screening-loop.yaml`)
/// read their sample by default on purpose.
#[test]
fn no_shipped_pipeline_defaults_to_sample_content() {
    use sunward_core::yaml::{self, Node};
    let mut checked = 0;
    for name in ["metrics.yaml", "district-comparison.yaml", "government-summary.yaml", "annual-review.yaml"] {
        let path = repo().join("pipelines").join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let root = yaml::parse(&text, "").unwrap();
        let params = root.get("params").and_then(Node::as_map).unwrap();
        for (key, spec) in params {
            let param = key.scalar_text().unwrap();
            let Some(default) = spec.get("default") else { continue };
            let value = default.raw.clone().unwrap_or_else(|| default.as_str().unwrap_or_default().to_string());
            let ty = spec.get("type").and_then(Node::as_str).unwrap_or_default();
            assert!(ty != "date", "{name}: {param} defaults to the date {value}");
            for sample in ["sample-data", "texts/", "../out/"] {
                assert!(!value.contains(sample), "{name}: {param} defaults to {value}");
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "the shipped pipelines' defaults were read ({checked})");
}

/// `validate` refuses a review of a year the exports hold nothing of, of
/// either kind, naming the years they do hold, before anything runs (exit 2).
#[test]
fn validate_refuses_a_review_year_with_no_records() {
    let validate = |sets: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sunward"));
        cmd.current_dir(repo()).args(["validate", "pipelines/project.yaml"]);
        for set in sets {
            cmd.args(["--set", set]);
        }
        cmd.output().unwrap()
    };
    let output = validate(&["year=2019"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("year = 2019, but the data has no records there"), "{stderr}");
    assert!(stderr.contains("record_years.year holds: 2024, 2025"), "the calendar years present: {stderr}");

    // An academic year: the sample runs from September 2024, so AY2023 is empty.
    let output = validate(&["period=academic", "year=2023"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("year = 2023") && stderr.contains("holds: 2024, 2025"), "{stderr}");
    assert!(validate(&["period=academic", "year=2024"]).status.success());
}
