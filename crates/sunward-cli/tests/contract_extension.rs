//! A project extends the data contract and the metric catalogue in YAML,
//! end to end through the binary, on the worked example `examples/bureau`:
//! two case issues, a grade column and a follow-up table added; rows that
//! break the added rules set aside with line and column; two metrics of its
//! own catalogued; a public report that prints them with the publication
//! rules, read back from the HTML and the PDF as a reader with a calculator
//! would. And every way a project could get it wrong, each an error at its
//! line and column (counted by hand in the text written here).

use crate::common;

use common::{chromium_dom, html_rows, ok, pdf_text, repo};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sunward(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(dir).args(args).output().expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A copy of `examples/bureau` in a fresh folder.
fn bureau_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bureau");
    for sub in ["", "contract", "data"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
        for entry in std::fs::read_dir(repo().join("examples/bureau").join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), root.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    (dir, root)
}

/// The rows of a rejects file after its header, without the file column.
fn rejects(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().skip(1).map(|l| l.split_once(',').unwrap().1.to_string()).collect()
}

#[test]
fn the_worked_example_loads_its_own_codes_columns_and_table_and_publishes_its_own_metrics() {
    let out = tempfile::tempdir().unwrap();
    let run =
        sunward(&repo(), &["run", "examples/bureau/pipeline.yaml", "--quiet", "--out", out.path().to_str().unwrap()]);
    ok(&run);

    // Rows breaking what the project added are set aside, with line and column;
    // the added codes and the grade column load.
    assert_eq!(
        rejects(&out.path().join("rejects/cases.csv")),
        [
            "line 7,primary_issue,\"\"\"sexting\"\" is not a valid primary_issue code; expected one of self_harm_risk, suicidal_ideation, depression, anxiety, school_refusal, family_conflict, bullying, peer_relationship, academic_stress, internet_dependence, other, cyberbullying, abuse\",sexting",
            "line 15,grade,more than 12,15",
        ]
    );
    assert_eq!(
        rejects(&out.path().join("rejects/followups.csv")),
        ["line 11,case_id,\"case_id \"\"E09-C2025-999\"\" is not in cases\",E09-C2025-999"]
    );

    // The figures, counted by hand from examples/bureau/data: cases opened in
    // 2025 by issue, follow-ups due in 2025 and those done by their due date.
    let metrics = std::fs::read_to_string(out.path().join("metrics.csv")).unwrap();
    let expected = [
        ("org", "EX-ORG", [14, 3, 17, 14]),
        ("school", "E01", [6, 1, 8, 6]),
        ("school", "E02", [3, 0, 3, 2]),
        ("school", "E03", [5, 2, 6, 6]),
    ];
    for (unit_type, unit_id, [cyber, abuse, due, on_time]) in expected {
        for (metric, value) in [
            ("cyberbullying_cases", cyber),
            ("abuse_cases", abuse),
            ("followups_due", due),
            ("followups_on_time", on_time),
        ] {
            let row = format!("{unit_type},{unit_id},2025,{metric},{value}.0");
            assert!(metrics.lines().any(|l| l == row), "{row} in\n{metrics}");
        }
        let rate = metrics
            .lines()
            .find(|l| l.starts_with(&format!("{unit_type},{unit_id},2025,followup_on_time_rate,")))
            .and_then(|l| l.rsplit(',').next()?.parse::<f64>().ok())
            .unwrap();
        assert!((rate - on_time as f64 / due as f64).abs() < 1e-12, "{unit_id}: {rate}");
    }

    // The public report as a reader sees it: the HTML table's rows, and the
    // same rows in the PDF.
    let html = chromium_dom(&out.path().join("bureau_2025.html"));
    let rows: Vec<Vec<String>> = html_rows(&html).into_iter().skip(1).collect();
    let names = ["东湖中学", "西岸小学", "南山中学", "合计"];
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), names);
    let shown = |cell: &str| cell.parse::<u64>().ok();
    for column in 1..=4 {
        let cells: Vec<&str> = rows.iter().map(|r| r[column].as_str()).collect();
        // No count from 1 to 4 is printed.
        assert!(cells.iter().all(|c| shown(c).is_none_or(|n| n == 0 || n >= 5)), "column {column}: {cells:?}");
        // Three schools add up to the centre: one hidden cell in that sum would be given back.
        let hidden = cells.iter().filter(|c| shown(c).is_none()).count();
        assert!(hidden != 1, "column {column}: {cells:?} gives its one hidden cell back");
    }
    for row in &rows {
        // A rate is printed only beside both its counts (rate × denominator = numerator).
        if row[5] != "—" {
            assert!(shown(&row[3]).is_some() && shown(&row[4]).is_some(), "{row:?}");
        }
    }
    // What the rules leave: the centre's totals, the larger schools' counts, the centre's rate.
    assert_eq!(rows[3], ["合计", "14", "—", "17", "14", "82%"]);
    assert_eq!(rows[1], ["西岸小学", "<5", "0", "<5", "<5", "—"]);
    let pdf = pdf_text(&out.path().join("bureau_2025.pdf"));
    for row in &rows {
        assert!(
            pdf.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == *row),
            "{row:?} is not a row of the PDF:\n{pdf}"
        );
    }
    assert!(!pdf.contains("sexting") && !html.contains("E02-C2025"), "no case reaches the report");

    // The internal edition shows every count.
    let internal = tempfile::tempdir().unwrap();
    ok(&sunward(
        &repo(),
        &[
            "run",
            "examples/bureau/pipeline.yaml",
            "--quiet",
            "--set",
            "audience=internal",
            "--out",
            internal.path().to_str().unwrap(),
        ],
    ));
    let rows = html_rows(&chromium_dom(&internal.path().join("bureau_2025.html")));
    assert_eq!(rows[2], ["西岸小学", "3", "0", "3", "2", "67%"]);
}

#[test]
fn the_contract_as_a_pipeline_sees_it_marks_what_the_project_added() {
    let output = sunward(&repo(), &["contract", "--pipeline", "examples/bureau/pipeline.yaml"]);
    ok(&output);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(
            "as extended by examples/bureau/contract/cases-local.yaml, examples/bureau/contract/followups.yaml"
        ),
        "{text}"
    );
    let line = |start: &str| {
        text.lines().find(|l| l.trim_start().starts_with(start)).unwrap_or_else(|| panic!("no line {start}:\n{text}"))
    };
    assert!(line("primary_issue").contains("cyberbullying (added) 网络欺凌, abuse (added) 虐待 / 侵害"));
    assert!(line("primary_issue").contains("bullying 校园欺凌"));
    assert!(text.lines().any(|l| l.trim_start().starts_with("grade ") && l.contains("added by the project; 1 to 12")));
    assert!(line("kind").contains("school_meeting (added) 校内约谈"), "{text}");
    assert!(line("due_on").contains("required"), "{text}");
    // The shipped table's reference to cases, made required.
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("case_id ")
            && l.contains("required")
            && l.contains("a case_id of cases"))
    );
    // Without --pipeline, the shipped contract, which has none of it.
    let shipped = sunward(&repo(), &["contract"]);
    let shipped = String::from_utf8(shipped.stdout).unwrap();
    assert!(!shipped.contains("cyberbullying") && !shipped.contains("school_meeting"));
}

#[test]
fn every_mistake_in_a_contract_extension_is_an_error_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("visits.yaml"), "table: visits\nrow: a home visit\ncolumns:\n  visit_id:\n    type: string\n  student_ref:\n    type: string\n    references: cases.student_ref\n").unwrap();
    let pipeline = "name: broken\n\
contract:\n\
\x20 - visits.yaml\n\
\x20 - missing.yaml\n\
\x20 - extends: cases\n\
\x20   columns:\n\
\x20     case_id: {required: false}\n\
\x20     opened_on: {type: string}\n\
\x20     primary_issue:\n\
\x20       codes:\n\
\x20         school_bullying: [校园欺凌]\n\
\x20     grade: {min: 1}\n\
\x20 - extends: services\n\
\x20   columns:\n\
\x20     participants: {max: 200000, min: 0}\n\
\x20 - extends: casez\n\
\x20   columns: {}\n\
\x20 - table: schools\n\
\x20   row: a school again\n\
\x20   columns:\n\
\x20     school_id: {type: string}\n\
sources:\n\
\x20 cases: {plugin: csv, path: cases.csv, contract: cases}\n";
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline).unwrap();
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    // Each expected error: the file:line:column it names and words of its message.
    let expected = [
        ("pipeline.yaml:4:5", "cannot read the contract file"),
        ("pipeline.yaml:7:27", "cases.case_id is required; an extension cannot make it optional"),
        ("pipeline.yaml:8:25", "cases.opened_on is a date column; an extension cannot make it a string column"),
        ("pipeline.yaml:11:28", "the label \"校园欺凌\" is given to both `bullying` and `school_bullying`"),
        ("pipeline.yaml:12:14", "`grade` is not a column of `cases`, and has no `type`"),
        ("pipeline.yaml:15:27", "services.participants has max 100000; an extension cannot raise it to 200000"),
        ("pipeline.yaml:15:40", "services.participants has min 1; an extension cannot lower it to 0"),
        ("pipeline.yaml:16:14", "`extends: casez` names no contract table"),
        ("pipeline.yaml:18:12", "the contract already has a table `schools`"),
    ];
    for (place, words) in expected {
        assert!(err.lines().any(|l| l.contains(place)) && err.contains(words), "expected {place}: {words}\n{err}");
    }
    assert!(err.contains("similar: cases"), "{err}");
    assert!(err.contains("cannot loosen or change a rule the shipped figures rest on"), "{err}");
    // The reference to a column that is no key is placed in its own file, once the rest is right.
    let fixed =
        "name: fixed\ncontract:\n  - visits.yaml\nsources:\n  cases: {plugin: csv, path: cases.csv, contract: cases}\n";
    std::fs::write(dir.path().join("pipeline.yaml"), fixed).unwrap();
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("visits.yaml:8:17"), "{err}");
    assert!(err.contains("references cases.student_ref, which is not a table's unique key"), "{err}");
}

#[test]
fn a_template_that_prints_a_metric_no_catalogue_knows_fails_and_writes_no_report() {
    let (_dir, root) = bureau_copy();
    let pipeline = std::fs::read_to_string(root.join("pipeline.yaml")).unwrap();
    std::fs::write(root.join("pipeline.yaml"), pipeline.replace("    catalogue: [catalogue.yaml]\n", "")).unwrap();
    let out = root.join("out");
    let output = sunward(&root, &["run", "pipeline.yaml", "--quiet", "--out", "out"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("the metric \"cyberbullying_cases\" is not in the metric catalogue"), "{err}");
    assert!(err.contains("catalogue:"), "{err}");
    assert!(!out.join("bureau_2025.html").exists() && !out.join("bureau_2025.pdf").exists());
}

#[test]
fn a_project_catalogue_cannot_redefine_a_shipped_metric() {
    let (_dir, root) = bureau_copy();
    let catalogue = std::fs::read_to_string(root.join("catalogue.yaml")).unwrap();
    let line = catalogue.lines().count() + 2;
    std::fs::write(
        root.join("catalogue.yaml"),
        format!("{catalogue}  incidents:\n    role: plain\n    unit: {{en: x, zh: x}}\n    periods: all\n    en: x\n    zh: x\n"),
    )
    .unwrap();
    let output = sunward(&root, &["run", "pipeline.yaml", "--quiet", "--out", "out"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains(&format!("catalogue.yaml:{}:3", line - 1)), "{err}");
    assert!(err.contains("metric `incidents` is already in the catalogue"), "{err}");
}

#[test]
fn a_package_brings_its_contract_additions_and_a_pipeline_adds_after_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pkg/contract")).unwrap();
    std::fs::write(
        dir.path().join("pkg/plugin.yaml"),
        "name: visits\ndescription: home visits\ncontract:\n  - contract/visits.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pkg/contract/visits.yaml"),
        "table: visits\nrow: a home visit\nunique:\n  - [visit_id]\ncolumns:\n  visit_id: {type: string, required: true}\n  mode:\n    type: string\n    codes:\n      in_person: {zh: 上门, en: \"in person\"}\n",
    )
    .unwrap();
    // The pipeline adds a code to the package's table: its documents come after the package's.
    std::fs::write(
        dir.path().join("pipeline.yaml"),
        "name: p\nuses:\n  visits: {package: pkg}\ncontract:\n  - extends: visits\n    columns:\n      mode:\n        codes:\n          video: [视频]\nsources:\n  visits: {plugin: csv, path: visits.csv, contract: visits}\n",
    )
    .unwrap();
    let output = sunward(dir.path(), &["contract", "--pipeline", "pipeline.yaml"]);
    ok(&output);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("as extended by pkg/contract/visits.yaml, pipeline.yaml"), "{text}");
    let mode = text.lines().find(|l| l.trim_start().starts_with("mode ")).unwrap();
    assert!(mode.contains("one of in_person 上门 (in person), video 视频"), "{mode}");
}

/// `validate` reads what the report reads besides its tables: a mistake in
/// the project's catalogue or in the template's syntax is found before
/// anything runs (exit code 2), at its place.
#[test]
fn validate_finds_a_broken_catalogue_or_template_before_anything_runs() {
    let (_dir, root) = bureau_copy();
    let catalogue = std::fs::read_to_string(root.join("catalogue.yaml")).unwrap();
    std::fs::write(root.join("catalogue.yaml"), catalogue.replace("role: ratio", "role: rate")).unwrap();
    let line = catalogue.lines().position(|l| l.contains("followup_on_time_rate:")).unwrap() + 1;
    let output = sunward(&root, &["validate", "pipeline.yaml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("metric `followup_on_time_rate`") && err.contains("unknown variant `rate`"), "{err}");
    assert!(err.contains(&format!("catalogue.yaml:{}", line + 1)), "{err}");
    std::fs::write(root.join("catalogue.yaml"), catalogue).unwrap();

    let template = std::fs::read_to_string(root.join("report.md.j2")).unwrap();
    std::fs::write(root.join("report.md.j2"), template.replace("{% for s in schools %}", "{% for s in %}")).unwrap();
    let output = sunward(&root, &["validate", "pipeline.yaml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    let line = template.lines().position(|l| l.contains("{% for s in schools %}")).unwrap() + 1;
    assert!(err.contains(&format!("report.md.j2:{line}")) && err.contains("syntax error"), "{err}");
    assert!(!root.join("out").exists(), "validate wrote nothing");
}
