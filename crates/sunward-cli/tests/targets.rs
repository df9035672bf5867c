//! Targets judged in the reports: the sample organisation's plan for 2025
//! (`pipelines/texts/annual-review/KS-ORG1-targets.yaml`) in its annual
//! review, internal and public, in PDF, HTML and Word; a school without a
//! targets file gets no such section; a mistaken targets file stops the run
//! naming the file and the target.
//!
//! The figures the judgements rest on are the sample's metrics (checked by
//! hand in `tests/metrics.rs`): screening coverage AY2024 0.9799; the
//! organisation's extreme-incident rate AY2024 1.078 per 1,000 with the
//! interval 0.222–3.150; red-tier de-escalation 2025 0.6; the closed-loop rate
//! 2025 0.652; parent workshops per school and term: 湖畔中学 (KS01) 0 in
//! AY2024-2 and 1 in AY2025-1, 湖畔小学 (KS02) 1 and 0. By the rules of
//! docs/REPORTS.md: coverage ≥ 95% met; the rate ≤ 3 cannot be told (its
//! interval straddles 3); de-escalation ≥ 50% met; the closed loop ≥ 80% not
//! met; a workshop every term in every school not met in 2 of the 4. From the
//! access figures (checked by hand in `pipelines/tests/access/`): duty kept
//! on 445 of 468 planned school days, 0.951 (≥ 80%: met); 31 of 42 answers
//! satisfied, 0.738 with the Wilson interval 0.589–0.847 (≥ 80%: cannot tell).

use crate::common::{chromium_dom, docx_text, html_rows, ok, pdf_text, repo};
use std::path::Path;
use std::process::{Command, Output};

fn review(out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> =
        ["run", "pipelines/project.yaml", "--quiet", "--out"].iter().map(|s| s.to_string()).collect();
    args.push(out.display().to_string());
    for set in extra {
        args.push("--set".into());
        args.push(set.to_string());
    }
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(repo()).args(&args).output().unwrap()
}

/// The rows of the targets table — target, figure, "judgement：why" — with
/// the judgement and the reason split apart.
fn target_rows(html: &Path) -> Vec<Vec<String>> {
    let rows = html_rows(&chromium_dom(html));
    let names = [
        "每所学校",
        "心理筛查",
        "极端事件",
        "红色个案",
        "高危筛查",
        "延时服务",
        "学生对服务",
        "at least",
        "no more",
        "someone",
    ];
    rows.into_iter()
        .filter(|r| r.len() == 3 && names.iter().any(|n| r[0].starts_with(n)))
        .map(|r| {
            let (label, reason) = r[2].split_once('：').or_else(|| r[2].split_once(": ")).expect("judgement：reason");
            vec![r[0].clone(), r[1].clone(), label.to_string(), reason.to_string()]
        })
        .collect()
}

#[test]
fn the_organisations_review_judges_its_targets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("internal");
    ok(&review(&out, &[]));
    let rows = target_rows(&out.join("annual-review_2025_KS-ORG1.html"));
    let want = [
        [
            "每所学校每学期至少开展一次家长工作坊",
            "—",
            "未达成",
            "4项中有2项未达到：湖畔中学2024学年第二学期、湖畔小学2025学年第一学期",
        ],
        ["心理筛查覆盖率不低于95%", "98%", "达成", "98%，不低于目标95%"],
        ["极端事件发生率不高于每千人3起", "1.08", "尚无法判断", "1.08，但95%区间0.22–3.15跨越目标3，尚需更多数据"],
        ["红色个案降级率不低于50%", "60%", "达成", "60%，不低于目标50%"],
        ["高危筛查闭环率不低于80%", "65%", "未达成", "65%，低于目标80%"],
        ["延时服务值班覆盖率不低于80%", "95%", "达成", "95%，不低于目标80%"],
        ["学生对服务满意的比例不低于80%", "74%", "尚无法判断", "74%，但95%区间59%–85%跨越目标80%，尚需更多数据"],
    ];
    assert_eq!(rows, want.map(|r| r.map(String::from).to_vec()).to_vec());
    // The PDF and the Word file show the same section, numbered before the organisation's own words.
    let pdf: String = pdf_text(&out.join("annual-review_2025_KS-ORG1.pdf")).split_whitespace().collect();
    for needle in ["十一、年度目标", "年度目标达成情况", "尚无法判断", "十二、机构自述"] {
        assert!(pdf.contains(needle), "{needle} not in the PDF:\n{pdf}");
    }
    let word: String = docx_text(&out.join("annual-review_2025_KS-ORG1.docx"), dir.path()).split_whitespace().collect();
    assert!(word.contains("4项中有2项未达到") && word.contains("十二、机构自述"), "{word}");
    // A school that set itself no targets has no such section, and its own words stay eleventh.
    let school: String = pdf_text(&out.join("annual-review_2025_KS02.pdf")).split_whitespace().collect();
    assert!(!school.contains("年度目标") && school.contains("十一、学校社工自述"), "{school}");
}

#[test]
fn a_public_review_judges_no_target_on_a_withheld_figure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("public");
    ok(&review(&out, &["audience=public"]));
    let rows = target_rows(&out.join("annual-review_2025_KS-ORG1.html"));
    // The organisation's incident count for AY2024 is under 5, so its rate is withheld,
    // and the target resting on it is not judged: no figure, no interval.
    let incident = rows.iter().find(|r| r[0].starts_with("极端事件")).expect("the incident target");
    assert_eq!(incident, &["极端事件发生率不高于每千人3起", "—", "尚无法判断", "该数值按公开规则不予公布，不作判断"]);
    let html = std::fs::read_to_string(out.join("annual-review_2025_KS-ORG1.html")).unwrap();
    assert!(!html.contains("0.22–3.15") && !html.contains("1.08"), "the withheld rate or its interval is printed");
    let figures = std::fs::read_to_string(out.join("annual-review_2025_KS-ORG1.figures.json")).unwrap();
    assert!(!figures.contains("\"1.08\""), "{figures}");
    // The others are judged as in the internal edition.
    assert_eq!(rows.iter().filter(|r| r[2] == "达成").count(), 3);
}

#[test]
fn the_review_in_english_judges_in_english() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("en");
    ok(&review(&out, &["lang=en"]));
    let rows = target_rows(&out.join("annual-review_2025_KS-ORG1.html"));
    let straddle = rows.iter().find(|r| r[0].starts_with("no more")).expect("the incident target");
    assert_eq!(
        straddle,
        &[
            "no more than 3 extreme incidents per 1,000 students",
            "1.08",
            "cannot tell yet",
            "1.08, but its 95% interval 0.22–3.15 straddles the target 3: more data is needed"
        ]
    );
    let workshops = rows.iter().find(|r| r[0].starts_with("at least one parent")).expect("the workshop target");
    assert_eq!(
        workshops[3],
        "not met in 2 of 4: Hupan Middle School, term 2 of 2024–25, Hupan Primary School, term 1 of 2025–26"
    );
}

#[test]
fn a_mistaken_targets_file_stops_the_run_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let texts = dir.path().join("texts");
    std::fs::create_dir_all(&texts).unwrap();
    for entry in std::fs::read_dir(repo().join("pipelines/texts/annual-review")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), texts.join(entry.file_name())).unwrap();
    }
    std::fs::write(
        texts.join("KS-ORG1-targets.yaml"),
        "targets:\n  - {name: 覆盖率, metric: screening_coverage, period: AY2024, at_least: 0.95}\n  - {name: 闭环率, metric: closed_loop_rate, at_least: 0.8, at_most: 1}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = review(&out, &[&format!("texts_dir={}", texts.display())]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("KS-ORG1-targets.yaml"), "{stderr}");
    assert!(
        stderr.contains("target 2 (closed_loop_rate): it gives more than one of `at_least`, `at_most`, `equals`"),
        "{stderr}"
    );
    assert!(!out.join("annual-review_2025_KS-ORG1.pdf").exists(), "no report of a failed run");
}

/// The government summary judges the district's targets
/// (`pipelines/texts/government-summary/320585-targets.yaml`) on the Taicang
/// sample's metrics: screening coverage AY2024 0.9853 (≥ 95%: met); the
/// extreme-incident rate 2.79 per 1,000, interval 2.24–3.44 (≤ 3: cannot
/// tell); the closed-loop rate 0.7289 (≥ 90%: not met); every one of the 20
/// schools at a class coverage of at least 30%. Qingpu names no targets.
#[test]
fn the_government_summary_judges_the_districts_targets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("taicang");
    let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .current_dir(repo())
        .args(["run", "pipelines/district.yaml", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    ok(&output);
    let judged = target_rows(&out.join("government-summary_AY2024_320585.html"));
    let want = [
        ["心理筛查覆盖率不低于95%", "99%", "达成", "99%，不低于目标95%"],
        ["极端事件发生率降至每千人3起以下", "2.79", "尚无法判断", "2.79，但95%区间2.24–3.44跨越目标3，尚需更多数据"],
        ["高危筛查闭环率不低于90%", "73%", "未达成", "73%，低于目标90%"],
        ["每所学校成长课堂班级覆盖率不低于30%", "—", "达成", "20项均已达到"],
    ];
    assert_eq!(judged, want.map(|r| r.map(String::from).to_vec()).to_vec());
    let pdf: String = pdf_text(&out.join("government-summary_AY2024_320585.pdf")).split_whitespace().collect();
    assert!(pdf.contains("五、目标达成情况") && pdf.contains("六、工作情况"), "{pdf}");
}

/// The organisation's review prints the access figures of the year in their
/// own part of section 10 — each figure as the access table holds it — and a
/// review made without the access figures (the pipeline run alone after the
/// metrics) has no such part.
#[test]
fn the_review_reports_after_hours_service_appointments_and_feedback() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("with");
    ok(&review(&out, &[]));
    let access = std::fs::read_to_string(out.join("access.csv")).unwrap();
    let figure = |metric: &str| -> f64 {
        let prefix = format!("org,KS-ORG1,2025,{metric},");
        access.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("{prefix}")).parse().unwrap()
    };
    let pct = |x: f64| format!("{}%", ((x * 100.0) + 0.5 + 1e-9).floor());
    let pdf: String = pdf_text(&out.join("annual-review_2025_KS-ORG1.pdf")).split_whitespace().collect();
    for needle in [
        "延时服务、预约与反馈".to_string(),
        format!("共开展服务{}次，占能判断时段的服务的{}", figure("extended_services"), pct(figure("extended_share"))),
        format!("课后{}次", figure("extended_services.after_hours")),
        format!("接受延时服务的学生{}人", figure("extended_students")),
        format!("{}校·日实际有人值守（{}）", figure("duty_days_kept"), pct(figure("duty_coverage"))),
        format!("全年预约心理辅导{}人次，到访{}人次", figure("appointments"), figure("appointments_attended")),
        format!("（95%区间{}–{}）", pct(figure("no_show_rate_ci_low")), pct(figure("no_show_rate_ci_high"))),
        format!(
            "收到学生反馈{}份，评为满意（4分或5分）的占{}",
            figure("feedback_responses"),
            pct(figure("satisfied_share"))
        ),
    ] {
        assert!(pdf.contains(&needle), "{needle} not in the PDF:\n{pdf}");
    }
    // The annual review alone, after the metrics only: no access figures, no such part.
    let alone = dir.path().join("alone");
    let data = repo().join("sample-data/project");
    crate::common::run_metrics(&data, 2024, 2024, &alone);
    let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .current_dir(repo())
        .args(["run", "pipelines/annual-review.yaml", "--quiet", "--out"])
        .arg(&alone)
        .args(["--set", &format!("data_dir={}", data.display()), "--set", "texts_dir=pipelines/texts/annual-review"])
        .args(["--set", "report_date=2026-01-20", "--set", "academic_year=2024"])
        .output()
        .unwrap();
    ok(&output);
    let text: String = pdf_text(&alone.join("annual-review_2025_KS-ORG1.pdf")).split_whitespace().collect();
    assert!(!text.contains("延时服务、预约与反馈"), "{text}");
    // Its targets on the access figures cannot be told without them.
    assert!(text.contains("延时服务值班覆盖率不低于80%—尚无法判断：本期尚无该指标的数据"), "{text}");
}
