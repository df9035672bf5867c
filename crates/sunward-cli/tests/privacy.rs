//! Privacy by type: a figure from the metrics table is judged by what it is
//! (a count, or a rate with the counts it rests on), wherever a template
//! prints it — in prose, in a left-aligned column, with a unit after it, in
//! a tile — not by the look of the text.
//!
//! The tiny fixture (tests/fixtures/tiny), AY2024, worked by hand:
//!   大河中学 (T1) 12 incidents of 2000 students → 6.0 per 1,000;
//!   山顶小学 (T3) 2 incidents of 30 students → 66.7 per 1,000 (2 is under 5).
//!   Screening coverage rests on enrolment only, never on the incidents.

use crate::common;

use common::{ok, repo};
use std::path::Path;
use std::process::Command;

const TEMPLATE: &str = r#"---
title: 隐私测试
---
{% set period = "AY2024" %}
{% set n = metric("incidents", "school", "T3", period) %}

山顶小学全年发生{{ n }}起事件，每千人{{ metric("incident_rate_per_1000", "school", "T3", period) | num(1) }}；大河中学发生{{ metric("incidents", "school", "T1", period) }}起，每千人{{ metric("incident_rate_per_1000", "school", "T1", period) | num(1) }}。

**山顶小学：**列表前发生{{ n }}起。

1. 计划项发生{{ n }}起

| 学校 | 事件 | 说明 |
|---|---|---|
| 山顶小学 | {{ n }}人 | 共{{ n | count }}起 |

```tiles
山顶小学事件 | {{ n }}
山顶小学每千人 | {{ metric("incident_rate_per_1000", "school", "T3", period) | num(1) }}
山顶小学筛查覆盖率 | {{ metric("screening_coverage", "school", "T3", period) | pct }}
```
"#;

fn render(audience: &str, dir: &Path, metrics: &Path) -> String {
    std::fs::write(dir.join("t.md.j2"), TEMPLATE).unwrap();
    let pipeline = dir.join(format!("{audience}.yaml"));
    std::fs::write(
        &pipeline,
        format!(
            "name: privacy\nsources:\n  metrics: {{plugin: parquet, path: \"{}\"}}\n  schools: {{plugin: csv, path: \"{}\", contract: schools}}\noutputs:\n  r: {{plugin: report, template: t.md.j2, metrics: metrics, hierarchy: schools, path: {audience}, formats: [html], audience: {audience}}}\n",
            metrics.display(),
            repo().join("crates/sunward-cli/tests/fixtures/tiny/schools.csv").display()
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .current_dir(repo())
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&pipeline)
        .output()
        .unwrap();
    ok(&output);
    let html = std::fs::read_to_string(out.join(format!("{audience}.html"))).unwrap();
    html.replace("&lt;", "<")
}

#[test]
fn small_counts_are_withheld_wherever_a_template_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo().join("crates/sunward-cli/tests/fixtures/tiny");
    let metrics_dir = dir.path().join("metrics");
    common::run_metrics(&data, 2023, 2024, &metrics_dir);
    let metrics = metrics_dir.join("metrics.parquet");

    let public = render("public", dir.path(), &metrics);
    // Prose: the count and the rate on it; the school with 12 keeps both.
    assert!(public.contains("山顶小学全年发生<5起事件，每千人—；大河中学发生12起，每千人6.0。"), "{public}");
    // Bold lead-ins and numbered items are prose too.
    assert!(public.contains("列表前发生<5起。") && public.contains("计划项发生<5起"), "{public}");
    // A left-aligned column, with a unit after the count: the whole cell is withheld.
    assert!(!public.contains(">2人<") && !public.contains(">共2起<"), "{public}");
    // Tiles: the count, the rate on it; coverage rests on enrolment and stays.
    assert!(public.contains("<div class=\"tile-value\"><5</div>"), "{public}");
    assert!(public.contains("<div class=\"tile-value\">—</div>"), "{public}");
    assert!(!public.contains("66.7"), "the rate on a small count leaked: {public}");
    // No private-use character (a figure's token) reaches the page.
    assert!(!public.chars().any(|c| ('\u{E000}'..='\u{E002}').contains(&c)), "a token leaked");

    let internal = render("internal", dir.path(), &metrics);
    assert!(internal.contains("山顶小学全年发生2起事件，每千人66.7；大河中学发生12起，每千人6.0。"), "{internal}");
    assert!(internal.contains(">2人<") && internal.contains(">共2起<"), "{internal}");
    assert!(internal.contains("列表前发生2起。") && internal.contains("计划项发生2起"), "{internal}");
    assert!(!internal.chars().any(|c| ('\u{E000}'..='\u{E002}').contains(&c)), "a token leaked");
}

/// A change rests on the count in its own period and in the baseline the
/// output names (`baseline:`): 12 incidents against 10 is shown, although an
/// earlier year had 3. Without a baseline it rests on every other academic
/// year, 3 among them, and is withheld.
#[test]
fn a_change_rests_on_the_baseline_the_output_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("metrics.csv"),
        "unit_type,unit_id,period,metric,value\n\
         school,T1,AY2022,incidents,3\nschool,T1,AY2023,incidents,10\nschool,T1,AY2024,incidents,12\n\
         school,T1,AY2024,incident_rate_change,20\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("t.md.j2"),
        "---\ntitle: 基线\n---\n\n事件{{ metric(\"incidents\", \"school\", \"T1\", \"AY2024\") }}起，变化{{ metric(\"incident_rate_change\", \"school\", \"T1\", \"AY2024\") | num(0) }}。\n",
    )
    .unwrap();
    let schools = repo().join("crates/sunward-cli/tests/fixtures/tiny/schools.csv");
    let report = |name: &str, extra: &str| {
        format!(
            "  {name}: {{plugin: report, template: t.md.j2, metrics: metrics, hierarchy: schools, path: {name}, formats: [html], audience: public{extra}}}\n"
        )
    };
    std::fs::write(
        dir.path().join("p.yaml"),
        format!(
            "name: baseline\nsources:\n  metrics: {{plugin: csv, path: metrics.csv, columns: {{value: float}}}}\n  schools: {{plugin: csv, path: \"{}\", contract: schools}}\noutputs:\n{}{}",
            schools.display(),
            report("named", ", baseline: AY2023"),
            report("unnamed", "")
        ),
    )
    .unwrap();
    ok(&Command::new(env!("CARGO_BIN_EXE_sunward"))
        .current_dir(dir.path())
        .args(["run", "--quiet", "p.yaml"])
        .output()
        .unwrap());
    let read = |name: &str| std::fs::read_to_string(dir.path().join(format!("out/{name}.html"))).unwrap();
    assert!(read("named").contains("事件12起，变化20。"), "{}", read("named"));
    assert!(read("unnamed").contains("事件12起，变化—。"), "{}", read("unnamed"));
}
