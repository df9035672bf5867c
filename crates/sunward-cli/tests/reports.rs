//! The shipped report pipelines, end to end: `metrics.yaml` on the sample
//! data, then the annual review, the district comparison and the government
//! summary. Reports are checked by what they show — PDF text through
//! `pdftotext`, HTML through headless Chromium's DOM — against figures
//! worked out by hand (the tiny fixture) or read from the metrics table
//! (whose own figures `tests/metrics.rs` checks by hand).

use crate::common;

use common::{chromium_dom, docx_text, html_rows, ok, pdf_text, repo};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn sunward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(repo()).args(args).output().unwrap()
}

fn run(pipeline: &str, sets: &[String], out: &Path) {
    let output = run_unchecked(pipeline, sets, out);
    ok(&output);
    // A shipped report pipeline prints no warning a user could not act on
    // (e.g. about references it leaves unchecked on purpose).
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("warning"), "{pipeline} warned:\n{stderr}");
}

/// The metrics of `data` (canonical tables) into `out`.
fn metrics(data: &Path, baseline: i32, current: i32, out: &Path) {
    common::run_metrics(data, baseline, current, out);
}

/// The annual reviews of 2024 on the Taicang sample, set up in `dir`: its
/// metrics computed into `out`, an empty texts folder, and the `--set`
/// values that point the review at both (texts to be written by the test).
struct TaicangReview {
    out: std::path::PathBuf,
    texts: std::path::PathBuf,
    sets: Vec<String>,
}

fn taicang_review(dir: &Path) -> TaicangReview {
    let data = repo().join("sample-data/taicang");
    let out = dir.join("taicang");
    metrics(&data, 2022, 2024, &out);
    let texts = dir.join("texts");
    std::fs::create_dir_all(&texts).unwrap();
    let sets = vec![
        format!("data_dir={}", data.display()),
        format!("metrics={}", out.join("metrics.parquet").display()),
        "year=2024".to_string(),
        "academic_year=2023".to_string(),
        format!("texts_dir={}", texts.display()),
    ];
    TaicangReview { out, texts, sets }
}

/// `sunward run pipelines/<pipeline> --quiet --set … --out OUT`, whatever its outcome.
fn run_unchecked(pipeline: &str, sets: &[String], out: &Path) -> Output {
    let mut args = vec!["run".to_string(), format!("pipelines/{pipeline}"), "--quiet".into()];
    for s in common::sample_settings(pipeline).iter().chain(sets) {
        args.push("--set".into());
        args.push(s.clone());
    }
    args.push("--out".into());
    args.push(out.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sunward(&args)
}

fn pdf_pages(path: &Path) -> usize {
    let output = Command::new("pdfinfo").arg(path).output().expect("pdfinfo (poppler-utils)");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo {}: {text}", path.display()))
}

/// A screenshot of the HTML in headless Chromium; returns the PNG's size in bytes.
fn chromium_screenshot(path: &Path, png: &Path) -> u64 {
    let output = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=900,1400"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("chromium is installed by scripts/prepare-fonts.sh");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    bytes.len() as u64
}

fn row_of<'a>(rows: &'a [Vec<String>], first: &str) -> Vec<&'a Vec<String>> {
    rows.iter().filter(|r| r.first().is_some_and(|c| c == first)).collect()
}

/// `metrics.csv` as (unit_type, unit_id, period, metric) → value text.
fn metrics_csv(path: &Path) -> BTreeMap<(String, String, String, String), String> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            ((r[0].to_string(), r[1].to_string(), r[2].to_string(), r[3].to_string()), r[4].to_string())
        })
        .collect()
}

#[test]
fn the_annual_reviews_of_the_sample_project() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("project");
    metrics(&repo().join("sample-data/project"), 2024, 2024, &out);
    let set = format!("metrics={}", out.join("metrics.parquet").display());
    run("annual-review.yaml", std::slice::from_ref(&set), &out);
    for unit in ["KS-ORG1", "KS01", "KS02"] {
        for ext in ["html", "pdf", "docx"] {
            let f = out.join(format!("annual-review_2025_{unit}.{ext}"));
            assert!(f.is_file(), "{} is missing", f.display());
        }
    }
    // The organisation's review shows seed 000's itemised figures for 2025.
    let pdf = out.join("annual-review_2025_KS-ORG1.pdf");
    let text = pdf_text(&pdf);
    for heading in ["2025年度学校社会工作服务年报", "一、年度概况", "三、个案工作", "六、成长课堂", "十、驻校服务"]
    {
        assert!(text.contains(heading), "{heading} not in the PDF:\n{text}");
    }
    let compact: String = text.split_whitespace().collect();
    for figure in [
        "高危（红色）学生10名",
        "个案辅导134次",
        "疏导，全年86次",
        "全年回复学生来信211封",
        "开展成长课堂23场，覆盖学生2913人次",
        "小组活动34节，服务学生351人次",
        "全年驻校101天",
    ] {
        assert!(compact.contains(figure), "{figure} not in the PDF:\n{text}");
    }
    // The Word file, as LibreOffice prints it, shows the same headings and figures,
    // and the title page says who the review is for.
    let word = docx_text(&out.join("annual-review_2025_KS-ORG1.docx"), dir.path());
    let word_compact: String = word.split_whitespace().collect();
    for needle in ["2025年度学校社会工作服务年报", "一、年度概况", "个案辅导134次", "全年驻校101天", "内部资料：供"]
    {
        assert!(word_compact.contains(needle), "{needle} not in the Word file:\n{word}");
    }
    let size = std::fs::metadata(&pdf).unwrap().len();
    let pages = pdf_pages(&pdf);
    assert!(size <= 100_000 * pages as u64, "{pages} pages weigh {size} bytes");

    // The same figures in the HTML, as Chromium reads it.
    let html = out.join("annual-review_2025_KS-ORG1.html");
    let dom = chromium_dom(&html);
    let rows = html_rows(&dom);
    let training = row_of(&rows, "家长工作坊");
    assert_eq!(training.len(), 1, "{rows:?}");
    assert_eq!(training[0][1..], ["2".to_string(), "426".to_string()]);
    let teachers = row_of(&rows, "教师工作坊");
    assert_eq!(teachers[0][1..], ["4".to_string(), "81".to_string()]);
    let committee = row_of(&rows, "心理委员培训");
    assert_eq!(committee[0][1..], ["3".to_string(), "36".to_string()]);
    assert!(dom.contains("湖畔中学") && dom.contains("湖畔小学"));
    // A blank 900×1400 page compresses to a few kilobytes; the rendered report
    // (text in two fonts, tiles, tables) to well over 50 KB.
    let shot = chromium_screenshot(&html, &dir.path().join("review.png"));
    assert!(shot > 50_000, "the screenshot is {shot} bytes: is the page blank?");
    // No pseudonymous reference (32 hex characters) reaches a report.
    let raw = std::fs::read_to_string(&html).unwrap();
    assert!(!has_hex_ref(&raw) && !has_hex_ref(&text), "a student_ref-like string in the report");

    // Byte-identical on a second run.
    let again = dir.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    run("annual-review.yaml", &[set], &again);
    for unit in ["KS-ORG1", "KS01", "KS02"] {
        for ext in ["html", "pdf", "docx"] {
            let name = format!("annual-review_2025_{unit}.{ext}");
            assert!(std::fs::read(out.join(&name)).unwrap() == std::fs::read(again.join(&name)).unwrap(), "{name}");
        }
    }
}

fn has_hex_ref(text: &str) -> bool {
    text.as_bytes().windows(32).any(|w| w.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)))
}

#[test]
fn the_district_reports_of_the_sample_district() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("taicang");
    metrics(&repo().join("sample-data/taicang"), 2022, 2024, &out);
    let set = format!("metrics={}", out.join("metrics.parquet").display());
    run("district-comparison.yaml", std::slice::from_ref(&set), &out);
    run("government-summary.yaml", &[set], &out);
    let m = metrics_csv(&out.join("metrics.csv"));
    let get = |period: &str, key: &str| -> f64 {
        m[&("district".into(), "320585".into(), period.into(), key.into())].parse().unwrap()
    };
    let rate_now = format!("{:.1}", get("AY2024", "incident_rate_per_1000"));
    let rate_then = format!("{:.1}", get("AY2022", "incident_rate_per_1000"));
    let change = get("AY2024", "incident_rate_change") * 100.0;
    let change = format!("{}{:.0}%", if change < 0.0 { "−" } else { "+" }, change.abs());

    let summary = pdf_text(&out.join("government-summary_AY2024_320585.pdf"));
    for needle in ["太仓市学生心理健康工作情况汇报", "一、主要数据", "二、极端事件趋势", &rate_now, &rate_then, &change]
    {
        assert!(summary.contains(needle), "{needle} not in the summary PDF:\n{summary}");
    }
    let comparison_pdf = out.join("district-comparison_AY2024_320585.pdf");
    let comparison = pdf_text(&comparison_pdf);
    for needle in ["学校心理健康服务比较", "表2 各校极端事件发生率", "漏斗图", &rate_now] {
        assert!(comparison.contains(needle), "{needle} not in the comparison PDF:\n{comparison}");
    }
    // Every school is in the comparison's DOM, in the incidents table, once.
    let dom = chromium_dom(&out.join("district-comparison_AY2024_320585.html"));
    let rows = html_rows(&dom);
    let schools = std::fs::read_to_string(repo().join("sample-data/taicang/schools.csv")).unwrap();
    for line in schools.lines().skip(1) {
        let name = line.split(',').nth(1).unwrap();
        assert_eq!(row_of(&rows, name).len(), 2, "{name} in tables 1 and 2");
    }
    // 太仓市 is a county-level city: the whole is 全市, not 全区.
    let district = row_of(&rows, "全市");
    assert_eq!(district[1][2], format!("{}", get("AY2024", "incidents")), "{district:?}");
    assert!(!comparison.contains("全区"), "{comparison}");
    // The comparison is the bureau's own (internal by default): every page after the
    // title page is marked, and the title page says who it is for.
    assert!(comparison.contains("内部资料：供太仓市教育局内部使用"), "{comparison}");
    assert_eq!(comparison.matches("内部资料 · ").count() + 1, pdf_pages(&comparison_pdf), "{comparison}");
    // The summary is public and its fall is real: the rate ratio's interval lies below 1.
    assert!(summary.contains("公开版"), "{summary}");
    let flat = summary.split_whitespace().collect::<String>();
    assert!(flat.contains(&format!("降至2024学年的{rate_now}")), "{summary}");
    assert!(flat.contains("区间整体低于1"), "{summary}");
    assert!(flat.contains("生成日期：2025年10月20日"), "{summary}");
    assert!(dom.contains("<svg"), "the funnel plot is inline SVG");
    // Self-contained: nothing is fetched from elsewhere.
    let raw = std::fs::read_to_string(out.join("district-comparison_AY2024_320585.html")).unwrap();
    for external in ["src=\"http", "href=\"http", "url(http", "@import", "<script src", "<link"] {
        assert!(!raw.contains(external), "{external} in the HTML");
    }
}

#[test]
fn a_tiny_school_has_its_small_counts_withheld() {
    // The fixture (tests/fixtures/tiny): one district, three schools.
    //   AY2024 incidents: 大河中学 12 of 2000 students, 小溪中学 7 of 1500, 山顶小学 2 of 30;
    //   district 21 of 3530 = 5.949 per 1,000 → "5.9"; AY2023: 19 of 3530 = 5.382;
    //   change 21/19 − 1 = +0.105 → "+11%".
    //   山顶小学's 2 is under 5: shown "<5", its rate withheld; the totals row (21)
    //   would give it back, so the next smallest count of the column, 小溪中学's 7,
    //   is withheld too, with its rate (7/1500 would give 7 back).
    //   Services AY2024: 42 consultations (40 + 2), 3 home visits at 山顶小学: the visits
    //   are shown (sessions count no person), their 3 attendances are "<5".
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiny");
    let data = repo().join("crates/sunward-cli/tests/fixtures/tiny");
    metrics(&data, 2023, 2024, &out);
    let sets = [
        format!("data_dir={}", data.display()),
        format!("metrics={}", out.join("metrics.parquet").display()),
        "baseline_year=2023".to_string(),
        "audience=public".to_string(),
        // Schools named on incidents (off by default), to see their table withheld.
        "name_schools=true".to_string(),
    ];
    run("district-comparison.yaml", &sets, &out);
    let texts = dir.path().join("texts");
    std::fs::create_dir_all(&texts).unwrap();
    std::fs::write(texts.join("D1.md"), "测试区的工作情况。\n").unwrap();
    let mut summary_sets = sets[..4].to_vec();
    summary_sets.push(format!("texts_dir={}", texts.display()));
    run("government-summary.yaml", &summary_sets, &out);

    let dom = chromium_dom(&out.join("district-comparison_AY2024_D1.html"));
    let rows = html_rows(&dom);
    // Table 2: school, students, incidents, per 1,000 with its interval, change with its interval, funnel.
    let incidents_row = |name: &str| row_of(&rows, name)[1].clone();
    // 12 of 2000: 6.0 per 1,000, Garwood interval 6.20–20.96 incidents → 3.1–10.5.
    assert_eq!(incidents_row("大河中学")[..4], ["大河中学", "2000", "12", "6.0（3.1–10.5）"]);
    assert_eq!(incidents_row("小溪中学")[..6], ["小溪中学", "1500", "—", "—", "—", "—"]);
    assert_eq!(incidents_row("山顶小学")[..6], ["山顶小学", "30", "<5", "—", "—", "—"]);
    assert_eq!(incidents_row("全区")[..3], ["全区", "3530", "21"]);
    assert!(incidents_row("全区")[3].starts_with("5.9（"), "{:?}", incidents_row("全区"));
    // The change carries its interval.
    assert!(incidents_row("全区")[4].starts_with("+11%（"), "{:?}", incidents_row("全区"));
    assert!(dom.contains("为保护学生隐私"), "the note on withheld figures");
    let pdf = pdf_text(&out.join("district-comparison_AY2024_D1.pdf"));
    let line = pdf.lines().filter(|l| l.contains("山顶小学")).nth(1).expect("山顶小学 in table 2");
    assert!(line.contains("<5") && !line.contains("66.7"), "{line}");

    let summary = chromium_dom(&out.join("government-summary_AY2024_D1.html"));
    let rows = html_rows(&summary);
    // 3 home visits count no person and are shown; the 3 attendances are people, <5.
    assert_eq!(row_of(&rows, "家访")[0][1..], ["3".to_string(), "<5".to_string()]);
    assert_eq!(row_of(&rows, "心理咨询")[0][1..], ["42".to_string(), "42".to_string()]);
    assert!(summary.contains("为保护学生隐私"));
}

#[test]
fn a_report_refuses_a_table_with_student_refs_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo().join("crates/sunward-cli/tests/fixtures/tiny");
    std::fs::write(dir.path().join("t.md.j2"), "---\ntitle: x\n---\n\n{{ tables.services | length }}\n").unwrap();
    let pipeline = dir.path().join("p.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "name: leak\nsources:\n  schools: {{plugin: csv, path: \"{d}/schools.csv\", contract: schools}}\n  services: {{plugin: csv, path: \"{d}/services.csv\", contract: services}}\noutputs:\n  r: {{plugin: report, template: t.md.j2, tables: [services], path: leak, formats: [html]}}\n",
            d = data.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output =
        Command::new(env!("CARGO_BIN_EXE_sunward")).arg("run").arg(&pipeline).arg("--out").arg(&out).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("student_ref") && stderr.contains("services"), "{stderr}");
    assert!(!out.join("leak.html").exists());
}

#[test]
fn the_review_in_english() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("en");
    metrics(&repo().join("sample-data/project"), 2024, 2024, &out);
    run(
        "annual-review.yaml",
        &[format!("metrics={}", out.join("metrics.parquet").display()), "lang=en".to_string()],
        &out,
    );
    let dom = chromium_dom(&out.join("annual-review_2025_KS-ORG1.html"));
    assert!(dom.contains("lang=\"en\""));
    assert!(dom.contains("1. The year at a glance") && dom.contains("Case sessions"), "{dom}");
    let rows = html_rows(&dom);
    assert_eq!(row_of(&rows, "Parent workshops")[0][1..], ["2".to_string(), "426".to_string()]);
}

/// The Qingpu sample has a handful of incidents per school and year: under
/// `audience: public` most single-year counts are withheld. The public
/// comparison tells the same story as the bureau's internal one for the same
/// year — the same funnel, the same schools outside the limits, less the
/// ones whose counts it withholds, which it counts and says why — never
/// gives a verdict beside a withheld rate and never draws an empty chart.
#[test]
fn the_qingpu_comparison_tells_one_story_in_both_editions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("qingpu");
    let data = repo().join("sample-data/qingpu");
    metrics(&data, 2023, 2024, &out);
    let sets = [
        format!("data_dir={}", data.display()),
        format!("metrics={}", out.join("metrics.parquet").display()),
        "baseline_year=2023".to_string(),
        "audience=public".to_string(),
        "name_schools=true".to_string(),
    ];
    run("district-comparison.yaml", &sets, &out);
    let dom = chromium_dom(&out.join("district-comparison_AY2024_310118.html"));
    for row in html_rows(&dom) {
        if row.get(3).is_some_and(|c| c == "—") {
            assert!(!row.iter().any(|c| c.contains("控制限")), "a verdict beside a withheld rate: {row:?}");
        }
    }
    assert!(dom.contains("漏斗图，2024学年"), "the public funnel shows the report's year, as the internal one does");
    assert!(dom.contains("因偶然落在95%控制限之外"), "the note on many comparisons");
    let drawn = dom.split("<svg").nth(1).is_some_and(|svg| {
        let svg = svg.split("</svg>").next().unwrap();
        svg.split("<circle").skip(1).filter(|c| !c.contains("cy=\"10\"")).count() >= 1
    });
    assert!(drawn || dom.contains("未绘制"), "an empty funnel plot");

    // The same data for the bureau itself: every count shown, the same year, verdicts given.
    let internal = dir.path().join("internal");
    std::fs::create_dir_all(&internal).unwrap();
    let mut sets = sets.to_vec();
    sets.truncate(3);
    run("district-comparison.yaml", &sets, &internal);
    let inside = chromium_dom(&internal.join("district-comparison_AY2024_310118.html"));
    assert!(inside.contains("内部资料"), "marked internal");
    assert!(!inside.contains("&lt;5"), "an internal report shows every count");
    assert!(inside.contains("漏斗图，2024学年"), "a single year");
    // The schools outside the limits: the public edition names those the internal one
    // names, less the withheld ones, which it counts.
    let named = |dom: &str| -> Vec<String> {
        dom.split("落在控制限之外的学校：")
            .nth(1)
            .map(|rest| rest.split('。').next().unwrap().split('、').map(|s| s.to_string()).collect())
            .unwrap_or_default()
    };
    let hidden = dom
        .split("另有")
        .nth(1)
        .and_then(|rest| rest.split("所学校落在控制限之外").next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let (public_named, internal_named) = (named(&dom), named(&inside));
    assert!(public_named.iter().all(|s| internal_named.contains(s)), "{public_named:?} vs {internal_named:?}");
    assert_eq!(public_named.len() + hidden, internal_named.len(), "{public_named:?} + {hidden} vs {internal_named:?}");

    // By default a public edition names no school on incidents that include self-harm:
    // no per-school incident table, no funnel plot (its points' sizes would name the
    // schools through table 1), and the same number of schools outside the limits as
    // the internal edition names, said in words.
    let unnamed = dir.path().join("unnamed");
    std::fs::create_dir_all(&unnamed).unwrap();
    sets.push("audience=public".to_string());
    run("district-comparison.yaml", &sets, &unnamed);
    let plain = chromium_dom(&unnamed.join("district-comparison_AY2024_310118.html"));
    let section = plain.split("三、极端事件").nth(1).expect("section 3");
    for school in &internal_named {
        let name = school.split('（').next().unwrap();
        assert!(!section.contains(name), "{name} is named on incidents in the public edition");
    }
    assert!(!plain.contains("<svg"), "a funnel plot in the public edition without names");
    assert!(!plain.contains("表2 各校极端事件"), "a per-school incident table");
    let said = format!("本学年有{}所学校的发生率落在95%控制限之外", internal_named.len());
    assert!(internal_named.is_empty() || section.contains(&said), "{said} not in: {section}");
    assert!(section.contains("见教育局内部版") || internal_named.is_empty());
}

/// The metrics and the annual reviews of the sample project (2025, Chinese
/// unless `lang` says otherwise) into a fresh folder.
fn sample_reviews(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join("project");
    metrics(&repo().join("sample-data/project"), 2024, 2024, &out);
    // The access figures too, which the review prints in section 10.
    run("access.yaml", &[], &out);
    let mut sets = vec![format!("metrics={}", out.join("metrics.parquet").display())];
    sets.extend(extra.iter().map(|s| s.to_string()));
    run("annual-review.yaml", &sets, &out);
    out
}

fn cells(row: &[String]) -> Vec<&str> {
    row.iter().map(String::as_str).collect()
}

/// Readers saw 10 高危学生 in the tiles and 11 red cases in the tier table,
/// and "86次" of immediate support under a column headed （人）. Each figure
/// now says what it counts. Worked by hand from sample-data/project (2025):
/// red-tier cases active in 2025: 11, of 10 distinct student_refs (one
/// student has two); immediate_support rows: 86 (each one student);
/// student_contacts: Σ participants of student services = 134 + 86 + 211 +
/// 351 + 2913 = 3695.
#[test]
fn the_annual_review_says_what_each_figure_counts() {
    let dir = tempfile::tempdir().unwrap();
    let out = sample_reviews(dir.path(), &[]);
    let text = pdf_text(&out.join("annual-review_2025_KS-ORG1.pdf"));
    let compact: String = text.split_whitespace().collect();
    for needle in [
        // Beside the headline 人次, its definition.
        "全年累计服务学生3695人次（学生每参与一次服务计一次，同一学生参与多次计多次）",
        // The line of definitions under the tiles explains 11 against 10.
        "人次——学生每参与一次服务计一次",
        "所以本年红色个案（11个）多于高危学生（10名）",
        // And so does the note under the tier table.
        "本表数的是个案，不是学生",
        "本年11个红色个案涉及高危学生10名",
        // The case-work text names both.
        "高危（红色）学生10名，共有红色个案11个",
    ] {
        assert!(compact.contains(needle), "{needle} not in the PDF:\n{text}");
    }
    let dom = chromium_dom(&out.join("annual-review_2025_KS-ORG1.html"));
    // Beside the headline 人次 and the high-risk students, what they count.
    assert!(dom.contains("人次：每参与一次计一次"), "{dom}");
    assert!(dom.contains("人：每名学生只计一次"), "{dom}");
    let rows = html_rows(&dom);
    let header = rows.iter().find(|r| r.first().is_some_and(|c| c == "学校") && r.len() == 6).expect("table 1");
    assert_eq!(header[2], "即时关爱（次）", "{header:?}");
    assert!(!dom.contains("即时关爱（人）"), "immediate support counts times, not students");
    assert_eq!(cells(&row_of(&rows, "合计")[0][..3]), ["合计", "134", "86"]);
    // Trainings and workshops add up attendances over sessions.
    assert!(dom.contains("参加人次") && !dom.contains("参加人数"));
}

/// The sections a real review has: group outcomes, home–school–community
/// work and last year. By hand from sample-data/project:
/// outcomes of AY2024 (rows, all one per student and domain): resilience 42,
/// 31 with post > pre (74%); emotion_regulation 22, 10 (45%);
/// interpersonal 21, 12 (57%); no self_esteem rows.
/// 2025: no joint_meeting or home_visit rows; parent_workshop 2 rows, 426
/// participants. The records of 2024 start on 2024-09-03 (services and
/// attendance) and end on 2024-12-31, so 2024 is shown beside 2025 without a
/// change: 2366 student attendances (Σ participants, student audience),
/// 61 case sessions, 33 on-site days.
#[test]
fn the_annual_review_reports_outcomes_joint_work_and_last_year() {
    let dir = tempfile::tempdir().unwrap();
    let out = sample_reviews(dir.path(), &[]);
    let table = metrics_csv(&out.join("metrics.csv"));
    let figure = |period: &str, key: &str| table[&("org".into(), "KS-ORG1".into(), period.into(), key.into())].clone();
    assert_eq!(figure("2024", "student_contacts"), "2366.0");
    assert_eq!(figure("AY2024", "outcome_n.resilience"), "42.0");

    let dom = chromium_dom(&out.join("annual-review_2025_KS-ORG1.html"));
    let rows = html_rows(&dom);
    // Table 3: area, students measured, scored higher, share.
    let outcome = |area: &str| {
        let found: Vec<_> = row_of(&rows, area).into_iter().filter(|r| r.len() == 4).collect();
        assert_eq!(found.len(), 1, "{area}: {rows:?}");
        found[0].clone()
    };
    assert_eq!(cells(&outcome("抗逆力")), ["抗逆力", "42", "31", "74%"]);
    assert_eq!(cells(&outcome("情绪调节")), ["情绪调节", "22", "10", "45%"]);
    assert_eq!(cells(&outcome("人际交往")), ["人际交往", "21", "12", "57%"]);
    assert!(row_of(&rows, "自尊").is_empty(), "a domain nobody was measured in is left out");
    assert!(dom.contains("五、小组活动及成效") && dom.contains("小组前后测结果（2024学年）"));

    // Home, school and community: joint meetings, parent workshops, home visits.
    assert!(dom.contains("九、家校社协同"));
    assert_eq!(cells(&row_of(&rows, "家校社联席会议")[0][1..]), ["0", "0"]);
    assert_eq!(cells(&row_of(&rows, "家长工作坊")[0][1..]), ["2", "426"]);
    assert_eq!(cells(&row_of(&rows, "家访")[0][1..]), ["0", "0"]);
    assert!(dom.contains("本年没有家校社联席会议的记录"));

    // Last year: only September to December 2024 is in the data, said plainly, no change.
    assert!(dom.contains("二、与上年比较"));
    assert!(dom.contains("数据中2024年的记录从9月3日开始、到12月31日为止，只有4个月，不是完整的一年"), "{dom}");
    let header = rows.iter().find(|r| r.first().is_some_and(|c| c == "项目") && r.contains(&"2025年".to_string()));
    assert_eq!(cells(header.expect("table 2")), ["项目", "2025年", "2024年（9—12月）"]);
    assert_eq!(cells(&row_of(&rows, "服务学生（人次）")[0][1..]), ["3695", "2366"]);
    assert_eq!(cells(&row_of(&rows, "个案辅导（次）")[0][1..]), ["134", "61"]);
    assert_eq!(cells(&row_of(&rows, "驻校天数（天）")[0][1..]), ["101", "33"]);
    assert_eq!(row_of(&rows, "服务学生（人次）")[0].len(), 3, "no change against a part year");

    // A review of 2024 has no earlier year at all: it says so.
    let early = dir.path().join("early");
    std::fs::create_dir_all(&early).unwrap();
    run(
        "annual-review.yaml",
        &[format!("metrics={}", out.join("metrics.parquet").display()), "year=2024".into()],
        &early,
    );
    let text: String = pdf_text(&early.join("annual-review_2024_KS-ORG1.pdf")).split_whitespace().collect();
    assert!(text.contains("数据中没有2023年的服务或驻校记录，因此本年报无法与上年比较"), "{text}");
}

/// Two whole years (the Taicang sample, 2023 and 2024): the change is given.
/// By hand from sample-data/taicang, the seven schools of TC-ORG1: student
/// attendances 24964 in 2024, 17900 in 2023 → +39%; case sessions 789 and
/// 660 → +20%.
#[test]
fn the_annual_review_compares_two_whole_years() {
    let dir = tempfile::tempdir().unwrap();
    let TaicangReview { out, texts, sets } = taicang_review(dir.path());
    let schools = std::fs::read_to_string(repo().join("sample-data/taicang/schools.csv")).unwrap();
    for line in schools.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        std::fs::write(texts.join(format!("{}.md", f[0])), "学校的文字。\n").unwrap();
        std::fs::write(texts.join(format!("{}.md", f[6])), "机构的文字。\n").unwrap();
    }
    run("annual-review.yaml", &sets, &out);
    let rows = html_rows(&chromium_dom(&out.join("annual-review_2024_TC-ORG1.html")));
    let header = rows.iter().find(|r| r.first().is_some_and(|c| c == "项目") && r.contains(&"2024年".to_string()));
    assert_eq!(cells(header.expect("table 2")), ["项目", "2024年", "2023年", "变化"]);
    // 24964 against 17900: ratio 1.3946; 1.959964·√(1/24964 + 1/17900) = 0.019196, so the
    // interval is 1.3946·e^∓0.019196 = 1.3681 to 1.4217.
    assert_eq!(cells(&row_of(&rows, "服务学生（人次）")[0][1..]), ["24964", "17900", "+39%（+37%至+42%）"]);
    // 789 against 660: 1.1955·e^∓0.10339 = 1.0780 to 1.3257.
    assert_eq!(cells(&row_of(&rows, "个案辅导（次）")[0][1..]), ["789", "660", "+20%（+8%至+33%）"]);
}

/// A school's own text is the school team's, and its title says so.
#[test]
fn the_school_reviews_title_their_own_words_by_who_wrote_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = sample_reviews(dir.path(), &[]);
    let school: String = pdf_text(&out.join("annual-review_2025_KS01.pdf")).split_whitespace().collect();
    assert!(school.contains("十一、学校社工自述"), "{school}");
    assert!(!school.contains("机构自述"), "{school}");
    // Its case-work note does not point to case stories it does not hold.
    assert!(!school.contains("收入第十一部分"), "{school}");
    // The organisation set itself targets (pipelines/texts/annual-review/KS-ORG1-targets.yaml):
    // they come eleventh, and its own words twelfth.
    let org: String = pdf_text(&out.join("annual-review_2025_KS-ORG1.pdf")).split_whitespace().collect();
    assert!(org.contains("十一、年度目标") && org.contains("十二、机构自述"), "{org}");
}

/// The English review reads as prose: figures with thousands separators,
/// the peer mental-health monitors by their name, no "label: figure" lines,
/// and the schools' Chinese names whole in the PDF.
#[test]
fn the_english_review_reads_as_prose() {
    let dir = tempfile::tempdir().unwrap();
    let out = sample_reviews(dir.path(), &["lang=en"]);
    let text = pdf_text(&out.join("annual-review_2025_KS-ORG1.pdf"));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "Students took part in their services 3,695 times over the year",
        "with 2,913 student attendances",
        "This year 10 high-risk students had an active red-tier case",
        "Social workers trained peer mental-health monitors in 3 sessions",
        "Peer mental-health monitor training",
        "social workers spent 101 days on site",
        "The records for 2024 run only from 3 September to 31 December",
        "In the organisation's words",
    ] {
        assert!(flat.contains(needle), "{needle} not in the PDF:\n{text}");
    }
    for form in
        ["3695", "2913", "Class committee", "Days on site over the year:", "Growth classes held:", "reached students"]
    {
        assert!(!flat.contains(form), "{form} in the PDF:\n{text}");
    }
    // Schools are named in English (romanised where the data give no English name), and a
    // name breaks only between words.
    for name in ["Hupan Middle School", "Hupan Primary School"] {
        assert!(text.lines().any(|l| l.contains(name)), "{name} not whole on a line of the PDF:\n{text}");
    }
    let before_own_words = flat.split("In the organisation's words").next().unwrap();
    for chinese in ["湖畔中学", "湖畔小学", "向阳学校社会工作服务中心"] {
        assert!(!before_own_words.contains(chinese), "{chinese} in the English review:\n{text}");
    }
    let dom = chromium_dom(&out.join("annual-review_2025_KS-ORG1.html"));
    let rows = html_rows(&dom);
    assert_eq!(cells(&row_of(&rows, "Case sessions")[0][1..]), ["85", "49", "134"]);
    assert_eq!(cells(&row_of(&rows, "Student attendances")[0][1..]), ["3,695", "2,366"]);
}

/// The summary as a government document (`--set style=official`): the
/// bureau's mark, the document number and the recipient at the head, the
/// issuer and the date in Chinese at the end, page numbers as — 2 —.
#[test]
fn the_summary_in_the_official_style() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("taicang");
    metrics(&repo().join("sample-data/taicang"), 2022, 2024, &out);
    let sets = [
        format!("metrics={}", out.join("metrics.parquet").display()),
        "style=official".to_string(),
        "doc_number=太教〔2025〕12号".to_string(),
        "recipient=市人民政府：".to_string(),
    ];
    run("government-summary.yaml", &sets, &out);
    // Beside the standard edition, not over it.
    run("government-summary.yaml", &sets[..1], &out);
    let standard = pdf_text(&out.join("government-summary_AY2024_320585.pdf"));
    assert!(!standard.contains("太教〔2025〕12号"), "the standard edition is its own:\n{standard}");
    let pdf = out.join("government-summary_AY2024_320585_official.pdf");
    let text = pdf_text(&pdf);
    let flat: String = text.split_whitespace().collect();
    for needle in ["太仓市教育局文件", "太教〔2025〕12号", "市人民政府：", "2025年10月20日", "—2—"]
    {
        assert!(flat.contains(needle), "{needle} not in the official summary:\n{text}");
    }
    // The date closes the document: it comes after the bureau's own account.
    let date = flat.rfind("2025年10月20日").unwrap();
    assert!(date > flat.find("五、").unwrap(), "{text}");
    assert!(pdf_pages(&pdf) >= 2);
    // A report, titled as one, with its opening and closing formulas and the short annotation.
    for needle in ["太仓市教育局关于2024学年学生心理健康工作情况的报告", "报告如下。", "特此报告。", "（此件公开发布）"]
    {
        assert!(flat.contains(needle), "{needle} not in the official summary:\n{text}");
    }
    // No dashboard in a government document: no tiles, no chart.
    let html = std::fs::read_to_string(out.join("government-summary_AY2024_320585_official.html")).unwrap();
    assert!(!html.contains("class=\"tiles") && !html.contains("<svg"), "tiles or a chart in the official summary");
}

/// A reader found "高危（红色）学生—名，共有红色个案—个" and "红色个案数不足5个"
/// in a school's public review whose red-tier cases were 7 (withheld only so
/// that they could not be worked out from the organisation's figures). No
/// sentence of a public review holds a blank where a figure was, and none
/// says a withheld figure is under 5 — in Chinese or English.
#[test]
fn public_sentences_have_no_blanks_and_no_false_fewer_than() {
    let blank_zh = |text: &str| {
        let chars: Vec<char> = text.chars().collect();
        chars.windows(3).any(|w| w[1] == '—' && (w[0] > '\u{4e00}' || w[0] == '（') && "名个次人）".contains(w[2]))
    };
    for lang in ["zh-CN", "en"] {
        let dir = tempfile::tempdir().unwrap();
        let out = sample_reviews(dir.path(), &["audience=public", &format!("lang={lang}")]);
        for unit in ["KS-ORG1", "KS01", "KS02"] {
            let dom = chromium_dom(&out.join(format!("annual-review_2025_{unit}.html")));
            // Headings are headings: a template's comment once swallowed the blank line
            // after "三、个案工作" and made its whole first paragraph part of the heading.
            for heading in dom.split("<h2").skip(1).map(|h| h.split("</h2>").next().unwrap()) {
                assert!(heading.chars().count() < 80, "{lang} {unit}: a heading holds a paragraph: {heading}");
            }
            let paragraphs: Vec<&str> = dom
                .split("<p")
                .skip(1)
                .map(|p| p.split("</p>").next().unwrap())
                .filter(|p| !p.contains("class=\"note\""))
                .collect();
            for p in &paragraphs {
                assert!(!blank_zh(p), "{lang} {unit}: a blank in a sentence: {p}");
                assert!(
                    !p.contains(" — high-risk") && !p.contains(" — red-tier") && !p.contains("has — "),
                    "{lang} {unit}: {p}"
                );
                assert!(
                    !p.contains("个案数不足") && !p.contains("Fewer than 5 red") && !p.contains("With fewer than"),
                    "{lang} {unit}: {p}"
                );
            }
        }
    }
}

/// English editions take a unit's English name from the contract's optional
/// `*_en` columns where the export gives one, and romanise the Chinese name
/// where it does not.
#[test]
fn english_editions_use_the_english_names_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::tiny_copy(dir.path());
    std::fs::write(
        data.join("schools.csv"),
        "school_id,school_name,stage,district_id,district_name,city,org_id,org_name,school_name_en,district_name_en,city_en\n\
         T1,大河中学,junior,D1,测试区,测试市,,,Great River Secondary,Test District,Test City\n\
         T2,小溪中学,junior,D1,测试区,测试市,,,,Test District,Test City\n\
         T3,山顶小学,primary,D1,测试区,测试市,,,,Test District,Test City\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    metrics(&data, 2023, 2024, &out);
    let sets = [
        format!("data_dir={}", data.display()),
        format!("metrics={}", out.join("metrics.parquet").display()),
        "baseline_year=2023".to_string(),
        "lang=en".to_string(),
    ];
    run("district-comparison.yaml", &sets, &out);
    let dom = chromium_dom(&out.join("district-comparison_AY2024_D1.html"));
    assert!(dom.contains("Test District"), "the district's English name");
    let rows = html_rows(&dom);
    assert!(rows.iter().any(|r| r.first().is_some_and(|c| c == "Great River Secondary")), "{rows:?}");
    // No English name given: the Chinese one romanised.
    assert!(rows.iter().any(|r| r.first().is_some_and(|c| c == "Xiaoxi Middle School")), "{rows:?}");
    assert!(!dom.contains("大河中学"));
}

/// Every narrative a district has not written yet is named in one error —
/// all of them, for every unit — and no report is written.
#[test]
fn every_missing_text_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let TaicangReview { out, texts, sets } = taicang_review(dir.path());
    // Units: each organisation and each of its schools.
    let schools = std::fs::read_to_string(repo().join("sample-data/taicang/schools.csv")).unwrap();
    let mut units = std::collections::BTreeSet::new();
    for line in schools.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if !f[6].is_empty() {
            units.insert(f[0].to_string());
            units.insert(f[6].to_string());
        }
    }
    let output = run_unchecked("annual-review.yaml", &sets, &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("{} text files the report includes are missing", units.len())), "{stderr}");
    for unit in &units {
        assert!(stderr.contains(&format!("texts.narrative: {}/{unit}.md", texts.display())), "{unit}: {stderr}");
    }
    assert!(
        !std::fs::read_dir(&out).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("annual-review_"))
    );
}

/// With `missing_texts=placeholder`, an internal draft marks each unwritten
/// narrative with 【待补充】 and its file; a public edition still stops.
#[test]
fn a_draft_marks_each_missing_text_and_a_public_edition_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let TaicangReview { out, sets, .. } = taicang_review(dir.path());
    let with = |audience: &str| {
        let mut sets = sets.clone();
        sets.extend(["missing_texts=placeholder".to_string(), format!("audience={audience}")]);
        sets
    };
    run("annual-review.yaml", &with("internal"), &out);
    let text: String = pdf_text(&out.join("annual-review_2024_TC-ORG1.pdf")).split_whitespace().collect();
    assert!(text.contains("【待补充】"), "{text}");
    assert!(text.contains("TC-ORG1.md"), "the file to write is named: {text}");
    let output = run_unchecked("annual-review.yaml", &with("public"), &dir.path().join("public"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a public edition is never a draft: {stderr}");
    assert!(stderr.contains("text files the report includes are missing"), "{stderr}");
}

/// One run over two districts gives each official summary its own number
/// and recipient, written `DISTRICT=VALUE; …`.
#[test]
fn each_district_gets_its_own_document_number_and_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&sunward(&[
        "datagen",
        "--preset",
        "custom",
        "--schools",
        "4",
        "--districts",
        "2",
        "--quiet",
        "--out",
        &data.display().to_string(),
    ]));
    let texts = dir.path().join("texts");
    std::fs::create_dir_all(&texts).unwrap();
    for district in ["D01", "D02"] {
        std::fs::write(texts.join(format!("{district}.md")), "本区的文字。\n").unwrap();
    }
    let out = dir.path().join("out");
    ok(&sunward(&[
        "run",
        "pipelines/district.yaml",
        "--quiet",
        "--set",
        &format!("data_dir={}", data.display()),
        "--set",
        &format!("texts_dir={}", texts.display()),
        "--set",
        "style=official",
        "--set",
        "doc_number=D01=临教〔2025〕1号; D02=青教〔2025〕2号",
        "--set",
        "recipient=D01=临江区人民政府：; D02=青石区人民政府：",
        "--out",
        &out.display().to_string(),
    ]));
    let own = [("D01", "临教〔2025〕1号", "临江区人民政府："), ("D02", "青教〔2025〕2号", "青石区人民政府：")];
    for (district, number, recipient) in own {
        let text: String = pdf_text(&out.join(format!("government-summary_AY2024_{district}_official.pdf")))
            .split_whitespace()
            .collect();
        assert!(text.contains(number) && text.contains(recipient), "{district}: {text}");
        for (other, other_number, other_recipient) in own {
            if other != district {
                assert!(!text.contains(other_number) && !text.contains(other_recipient), "{district}: {text}");
            }
        }
    }
}

/// An academic-year review covers September to August: its title and period
/// say so, its figures count the services of those months (the case
/// sessions counted here from the export itself), and it is set beside the
/// comparison year it is given, which here holds only four months.
#[test]
fn an_academic_year_review_covers_september_to_august() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let data = repo().join("sample-data/project");
    metrics(&data, 2024, 2024, &out);
    run("annual-review.yaml", &["period=academic".into(), "year=2024".into()], &out);
    let html = std::fs::read_to_string(out.join("annual-review_2024_KS-ORG1.html")).unwrap();

    // The organisation's case sessions from 1 September 2024 to 31 August 2025, from the export.
    let read = |file: &str| csv::Reader::from_path(data.join(file)).unwrap();
    let mut schools = read("schools.csv");
    let header = schools.headers().unwrap().clone();
    let col = |h: &csv::StringRecord, name: &str| h.iter().position(|c| c == name).unwrap();
    let (school_col, org_col) = (col(&header, "school_id"), col(&header, "org_id"));
    let ours: Vec<String> = schools
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[org_col] == "KS-ORG1")
        .map(|r| r[school_col].to_string())
        .collect();
    let mut services = read("services.csv");
    let header = services.headers().unwrap().clone();
    let (school, kind, date) = (col(&header, "school_id"), col(&header, "service_type"), col(&header, "service_date"));
    let sessions = services
        .records()
        .map(|r| r.unwrap())
        .filter(|r| ours.contains(&r[school].to_string()) && &r[kind] == "case_session")
        .filter(|r| ("2024-09-01"..="2025-08-31").contains(&&r[date]))
        .count();
    assert!(sessions > 10, "the export has case sessions in AY2024 ({sessions})");

    assert!(html.contains("2024学年学校社会工作服务年报"), "the title names the academic year");
    assert!(html.contains("2024年9月—2025年8月"), "the period runs September to August");
    assert!(html.contains(&format!("一对一个案辅导{sessions}次")), "{sessions} case sessions in AY2024");
    assert!(html.contains("数据中没有2023学年的服务或驻校记录"), "AY2023 is not in the data");

    // Set beside another year: AY2025 holds only September to December 2025.
    let again = dir.path().join("again");
    metrics(&data, 2024, 2024, &again);
    run("annual-review.yaml", &["period=academic".into(), "year=2024".into(), "compare_year=2025".into()], &again);
    let html = std::fs::read_to_string(again.join("annual-review_2024_KS-ORG1.html")).unwrap();
    assert!(html.contains("二、与2025学年比较"), "the heading names the comparison year");
    assert!(html.contains("数据中2025学年的记录从9月1日开始、到12月31日为止，只有4个月"), "a part year, by its months");
}
