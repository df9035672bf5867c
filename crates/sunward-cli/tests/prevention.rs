//! The prevention loop's two reports, read as their readers read them: the
//! monthly crisis brief and the term screening summary, made from
//! `tests/fixtures/prevention` (the cases, follow-ups and centre records of
//! `pipelines/tests/prevention/`), with every figure worked out by hand from
//! that fixture; and the overdue list kept out of every public output.

use crate::common::{chromium_dom, docx_text, html_rows, ok, pdf_text, repo};
use std::path::Path;
use std::process::{Command, Output};

fn fixture() -> String {
    repo().join("crates/sunward-cli/tests/fixtures/prevention").display().to_string()
}

fn sunward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(repo()).args(args).output().unwrap()
}

/// `prevention.yaml`, then `pipeline`, on the fixture into `out`.
fn run_with_figures(pipeline: &str, as_of: &str, extra: &[&str], out: &Path) {
    let data = format!("data_dir={}", fixture());
    let as_of = format!("as_of={as_of}");
    let out = out.to_str().unwrap();
    ok(&sunward(&["run", "pipelines/prevention.yaml", "--quiet", "--set", &data, "--set", &as_of, "--out", out]));
    let mut args = vec!["run", pipeline, "--quiet", "--set", &data, "--set", &as_of, "--out", out];
    for e in extra {
        args.extend(["--set", e]);
    }
    ok(&sunward(&args));
}

/// The lines of `text` holding each of `needles`, in the order they appear.
fn order_of(text: &str, needles: &[&str]) -> Vec<usize> {
    needles.iter().map(|n| text.find(n).unwrap_or_else(|| panic!("no {n:?} in:\n{text}"))).collect()
}

#[test]
fn the_crisis_brief_prints_the_months_figures_worked_by_hand() {
    let out = tempfile::tempdir().unwrap();
    run_with_figures("pipelines/crisis-brief.yaml", "2025-06-30", &["report_date=2025-07-02"], out.path());
    let base = out.path().join("crisis-brief_2025-06-30_D1");
    let rows = html_rows(&chromium_dom(&base.with_extension("html")));
    let row = |first: &str| -> Vec<String> {
        rows.iter().find(|r| r.first().is_some_and(|c| c == first)).cloned().unwrap_or_else(|| panic!("no row {first}"))
    };
    // June: K2 (head teacher) and K6 (peer monitor) declared crises; K3 found by screening.
    assert_eq!(row("班主任"), ["班主任", "1", "1"]);
    assert_eq!(row("心理委员"), ["心理委员", "1", "1"]);
    assert_eq!(row("心理筛查"), ["心理筛查", "1", "0"]);
    // Follow-ups due in June: K2's notice (06-06, done 06-09: 3 late, 6 days), K2's plan
    // (06-16, open), K1's visit (06-03, done 06-10: late, 21 days after the visit before),
    // K1's contact (06-06, done 06-05: on time, 6 days), K1's counselling (06-24, done
    // 06-30: late, 20 days). K6's notice is due 07-02: not counted.
    assert_eq!(row("危机告知书"), ["危机告知书", "3", "1", "0", "1", "0", "0", "0%", "6.0"]);
    assert_eq!(row("学校干预方案"), ["学校干预方案", "7", "1", "0", "0", "0", "1", "0%", "无"]);
    assert_eq!(row("就医随访"), ["就医随访", "14", "1", "0", "1", "0", "0", "0%", "21.0"]);
    assert_eq!(row("居家联络"), ["居家联络", "7", "1", "1", "0", "0", "0", "100%", "6.0"]);
    assert_eq!(row("复学辅导"), ["复学辅导", "14", "1", "0", "1", "0", "0", "0%", "20.0"]);
    // By school: S1 has K6's crisis, K1 on leave and back; S2 K2's crisis and the open plan.
    assert_eq!(row("青柳湖中学"), ["青柳湖中学", "1", "0", "1", "1", "3", "1", "0"]);
    assert_eq!(row("西岸小学"), ["西岸小学", "1", "0", "0", "0", "2", "0", "1"]);

    let text = pdf_text(&base.with_extension("pdf"));
    // 1 of 5 on time; its 95% Wilson interval, worked out by hand, is 3.6% to 62.4%.
    assert!(text.contains("按期完成1项（20%，95%区间4%至62%）"), "{text}");
    // The centre in June: two calls (P7, and P1 again), no consultation after them.
    assert!(text.contains("本月接听热线2人次，接待来访面询0人次"), "{text}");
    // The overdue list, most urgent first: the open ones by days overdue (K5's counselling
    // due 04-07: 84 days; K2's plan: 14), then June's late ones (7, 6, 3 days).
    let list = &text[text.find("表4 逾期清单").expect("the overdue list")..];
    let at = order_of(list, &["K5", "K2 ", "K1 ", "K1 ", "K2 "]);
    let lines: Vec<&str> = list.lines().filter(|l| l.contains(" K")).take(5).collect();
    assert_eq!(lines.len(), 5, "{list}");
    for (line, (kind, days)) in lines.iter().zip([
        ("复学辅导", "84"),
        ("学校干预方案", "14"),
        ("就医随访", "7"),
        ("复学辅导", "6"),
        ("危机告知书", "3"),
    ]) {
        assert!(line.contains(kind) && line.trim_end().ends_with(days), "{line}");
    }
    assert!(at[0] < at[1]);
    // Internal: marked on every page, and no student reference anywhere.
    assert!(text.contains("内部资料"));
    for student in ["P1", "P2", "P5", "P6", "P7"] {
        assert!(!text.contains(student), "{student} is printed");
    }
    // The Word file, as LibreOffice prints it, holds the same list in the same order.
    let word = docx_text(&base.with_extension("docx"), out.path());
    let word_list = &word[word.find("逾期清单").expect("the list in Word")..];
    let at = order_of(word_list, &["K5", "K2"]);
    assert!(at[0] < at[1], "{word_list}");
}

#[test]
fn the_term_summary_publishes_what_the_rules_allow_and_nothing_of_a_case() {
    let out = tempfile::tempdir().unwrap();
    let settings = ["academic_year=2024", "term=1", "report_date=2025-02-10"];
    run_with_figures("pipelines/term-screening.yaml", "2025-01-31", &settings, out.path());
    let mut public = settings.to_vec();
    public.push("audience=public");
    run_with_figures("pipelines/term-screening.yaml", "2025-01-31", &public, out.path());

    // Internal: S1 screened 3 of 100 (3%): one at each of none, general and high;
    // the high one assessed and helped (its follow-up action, in June, comes after
    // as_of and is not counted); emotion above the cut-off for
    // two students of concern (SC3's flag is at level none and does not count).
    let internal = pdf_text(&out.path().join("term-screening-internal_AY2024-1_S1.pdf"));
    assert!(internal.contains("本学期本校共有3名学生参加心理筛查，占在校学生100人的3%"), "{internal}");
    let rows = html_rows(&chromium_dom(&out.path().join("term-screening-internal_AY2024-1_S1.html")));
    assert!(
        rows.contains(&vec!["高危关注".into(), "1".into(), "1".into(), "1".into(), "0".into(), "0".into()]),
        "{rows:?}"
    );
    assert!(rows.contains(&vec!["情绪".to_string(), "2".to_string()]), "{rows:?}");

    // Public: every count from 1 to 4 is <5, and the shares resting on them are withheld.
    let public = pdf_text(&out.path().join("term-screening-public_AY2024-1_S1.pdf"));
    assert!(public.contains("公开版"), "{public}");
    let rows = html_rows(&chromium_dom(&out.path().join("term-screening-public_AY2024-1_S1.html")));
    assert!(rows.contains(&vec!["高危关注".into(), "<5".into(), "—".into()]), "{rows:?}");
    assert!(rows.contains(&vec!["情绪".to_string(), "<5".to_string()]), "{rows:?}");
    for text in [&internal, &public] {
        for never in ["SC1", "P1", "K1"] {
            assert!(!text.contains(never), "{never} is printed");
        }
    }
}

#[test]
fn a_public_report_may_not_print_a_table_marked_internal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("list.md.j2"),
        "---\ntitle: list\n---\n\n{% for r in tables.overdue %}{{ r.case_id }}\n{% endfor %}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("obligations.csv"), "case_id,status\nK2,open\n").unwrap();
    let pipeline = |audience: &str| {
        format!(
            "name: leak\nsources:\n  obligations: {{plugin: csv, path: obligations.csv}}\nsteps:\n  overdue:\n    plugin: sql\n    internal: true\n    query: SELECT case_id FROM obligations WHERE status = 'open'\noutputs:\n  list:\n    plugin: report\n    template: list.md.j2\n    tables: [overdue]\n    path: list\n    formats: [html]\n    audience: {audience}\n"
        )
    };
    let file = dir.path().join("leak.yaml");
    std::fs::write(&file, pipeline("public")).unwrap();
    let refused = sunward(&["validate", file.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("`overdue` is marked `internal: true`") && stderr.contains("outputs.list"), "{stderr}");
    // `run` refuses it before writing anything.
    let out = dir.path().join("out");
    let run = sunward(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(!out.join("list.html").exists());
    // The internal edition may print it.
    std::fs::write(&file, pipeline("internal")).unwrap();
    ok(&sunward(&["run", file.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()]));
    assert!(std::fs::read_to_string(out.join("list.html")).unwrap().contains("K2"));
}
