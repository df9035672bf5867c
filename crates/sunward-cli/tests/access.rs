//! Access to the service (`pipelines/access.yaml`): its tests worked by hand
//! (`pipelines/tests/access/`) pass through `sunward test`, as do the
//! prevention loop's and the report pipelines', which no other test ran; and on the sample project the
//! figures hold together the way their definitions say (parts add up, the
//! organisation is its schools, a share is its numerator over its
//! denominator), with nothing of a student in the table.

use crate::common::{ok, repo};
use std::collections::BTreeMap;
use std::process::{Command, Output};

fn sunward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(repo()).args(args).output().unwrap()
}

#[test]
fn the_shipped_pipeline_tests_pass() {
    let runs: [(&str, &[&str], &[&str]); 5] = [
        (
            "pipelines/district-comparison.yaml",
            &["--set", "data_dir=sample-data/taicang", "--set", "report_date=2025-10-15"],
            &["funnel_inputs"],
        ),
        (
            "pipelines/government-summary.yaml",
            &[
                "--set",
                "data_dir=sample-data/taicang",
                "--set",
                "report_date=2025-10-20",
                "--set",
                "texts_dir=pipelines/texts/government-summary",
            ],
            &["denominators"],
        ),
        (
            "pipelines/annual-review.yaml",
            &[
                "--set",
                "data_dir=sample-data/project",
                "--set",
                "report_date=2026-01-20",
                "--set",
                "texts_dir=pipelines/texts/annual-review",
            ],
            &["review_tables"],
        ),
        (
            "pipelines/access.yaml",
            &["--set", "data_dir=sample-data/project"],
            &["appointments", "extended_hours", "feedback_and_cases", "rosters"],
        ),
        (
            "pipelines/prevention.yaml",
            &["--set", "data_dir=sample-data/qingpu", "--set", "as_of=2025-06-30"],
            &["centre", "channels", "obligations", "term_screening"],
        ),
    ];
    for (pipeline, set, tests) in runs {
        let mut args = vec!["test", pipeline];
        args.extend_from_slice(set);
        let output = sunward(&args);
        ok(&output);
        let stdout = String::from_utf8_lossy(&output.stdout);
        for name in tests {
            assert!(stdout.contains(&format!("ok   {name}\n")), "{pipeline}: {name} in:\n{stdout}");
        }
        // One more for the pipeline's own checks, when it has some.
        let checks = usize::from(stdout.contains("checks on the pipeline's inputs:"));
        assert!(stdout.ends_with(&format!("{} passed, 0 failed\n", tests.len() + checks)), "{pipeline}:\n{stdout}");
    }
}

/// The access table of the sample project, keyed by (unit, period, metric).
fn sample_figures() -> BTreeMap<(String, String, String), Option<f64>> {
    let out = tempfile::tempdir().unwrap();
    ok(&sunward(&[
        "run",
        "pipelines/access.yaml",
        "--set",
        "data_dir=sample-data/project",
        "--out",
        out.path().to_str().unwrap(),
        "--quiet",
    ]));
    let text = std::fs::read_to_string(out.path().join("access.csv")).unwrap();
    assert!(!text.contains("老师") && !text.contains("等待"), "a feedback comment reached the table");
    let refs = std::fs::read_to_string(repo().join("sample-data/project/appointments.csv")).unwrap();
    let first_ref = refs.lines().nth(1).unwrap().split(',').nth(2).unwrap();
    assert!(!text.contains(first_ref), "a student reference reached the table");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            ((f[1].to_string(), f[2].to_string(), f[3].to_string()), f[4].parse().ok())
        })
        .collect()
}

#[test]
fn the_sample_figures_hold_together() {
    let figures = sample_figures();
    let get = |unit: &str, period: &str, metric: &str| -> Option<f64> {
        *figures.get(&(unit.into(), period.into(), metric.into())).unwrap_or_else(|| panic!("{unit} {period} {metric}"))
    };
    let mut checked = 0;
    for period in ["2025", "AY2024", "AY2024-2"] {
        for unit in ["KS-ORG1", "KS01", "KS02"] {
            let n = |m: &str| get(unit, period, m).unwrap_or_else(|| panic!("{unit} {period} {m} is a count"));
            // Bookings are attended, not come to, or cancelled by one side.
            let parts = [
                "appointments_attended",
                "appointments_no_show",
                "appointments_cancelled_by_student",
                "appointments_cancelled_by_service",
            ];
            assert_eq!(n("appointments"), parts.iter().map(|m| n(m)).sum::<f64>(), "{unit} {period}");
            let channels = ["appointments.in_person", "appointments.online", "appointments.phone"];
            assert_eq!(n("appointments"), channels.iter().map(|m| n(m)).sum::<f64>(), "{unit} {period}");
            let kinds = ["after_hours", "weekend", "holiday", "vacation"].map(|k| format!("extended_services.{k}"));
            assert_eq!(n("extended_services"), kinds.iter().map(|m| n(m)).sum::<f64>(), "{unit} {period}");
            assert!(n("seen_within_3_days") <= n("seen_within_7_days"));
            assert!(n("seen_within_7_days") <= n("appointments_attended"));
            assert!(n("volunteer_hours") <= n("duty_hours"));
            assert!(n("duty_days_kept") <= n("duty_days_planned"));
            // A share is its numerator over its denominator.
            for (share, num, den) in [
                ("no_show_rate", "appointments_no_show", "appointments_due"),
                ("extended_share", "extended_services", "services_timed"),
                ("duty_coverage", "duty_days_kept", "duty_days_planned"),
            ] {
                let want = (n(den) > 0.0).then(|| n(num) / n(den));
                assert_eq!(get(unit, period, share), want, "{unit} {period} {share}");
                checked += 1;
            }
        }
        // The organisation's tallies and summed counts are its two schools'.
        for metric in ["appointments", "extended_services", "duty_days_planned", "duty_hours", "feedback_responses"] {
            let school = |u: &str| get(u, period, metric).unwrap();
            assert_eq!(get("KS-ORG1", period, metric), Some(school("KS01") + school("KS02")), "{period} {metric}");
        }
    }
    assert_eq!(checked, 27);
    // The sample's organisation in 2025: something of every kind happened.
    for metric in ["appointments_no_show", "extended_services.after_hours", "volunteer_hours", "feedback_responses"] {
        assert!(get("KS-ORG1", "2025", metric).unwrap() > 0.0, "{metric}");
    }
}

/// A project that exports only schools, classes, cases and services: the
/// access pipeline still runs, each missing export an empty table that the
/// run's summary names, counts 0 and shares empty; an optional source must
/// say its columns.
#[test]
fn a_project_without_the_access_exports_gets_empty_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for table in ["schools", "classes", "cases", "services"] {
        std::fs::copy(repo().join(format!("sample-data/project/{table}.csv")), data.join(format!("{table}.csv")))
            .unwrap();
    }
    let set = format!("data_dir={}", data.display());
    ok(&sunward(&["validate", "pipelines/access.yaml", "--set", &set]));
    let out = dir.path().join("out");
    let output = sunward(&["run", "pipelines/access.yaml", "--set", &set, "--out", out.to_str().unwrap()]);
    ok(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for table in ["appointments", "feedback", "workers", "rosters", "terms"] {
        let file = data.join(format!("{table}.csv"));
        let line = format!("{table}: no file ({}): an empty table, as the source is optional", file.display());
        assert!(stdout.contains(&line), "{line} in:\n{stdout}");
    }
    assert!(!String::from_utf8_lossy(&output.stderr).contains("warning"), "a missing optional export is no warning");
    let text = std::fs::read_to_string(out.join("access.csv")).unwrap();
    let value = |metric: &str| {
        let prefix = format!("org,KS-ORG1,2025,{metric},");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("{prefix}")).to_string()
    };
    assert_eq!(
        (value("appointments"), value("no_show_rate"), value("duty_days_planned")),
        ("0.0".into(), String::new(), "0.0".into())
    );
    assert_eq!(value("feedback_responses"), "0.0");
    // The services are still there: their times are known.
    assert!(value("services_timed").parse::<f64>().unwrap() > 0.0);
    // The manifest records only the files that were read.
    let manifest = std::fs::read_to_string(out.join("manifest-access.json")).unwrap();
    assert!(manifest.contains("services.csv") && !manifest.contains("appointments.csv"), "{manifest}");

    // An optional source without `contract:` or `columns:` could not say what its empty table holds.
    let pipeline = dir.path().join("p.yaml");
    std::fs::write(&pipeline, "name: p\nsources:\n  s: {plugin: csv, path: nowhere.csv, optional: true}\n").unwrap();
    let refused = sunward(&["validate", pipeline.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("an optional source needs `contract:` or `columns:`"));
}

/// The access figures are the same bytes on every run: their means and
/// hours are taken from whole-number sums, never from floating sums whose
/// order follows the engine's threads (a satisfaction interval once differed
/// in its last digit from run to run).
#[test]
fn the_access_figures_are_the_same_bytes_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for run in 0..3 {
        let out = dir.path().join(format!("run{run}"));
        ok(&sunward(&[
            "run",
            "pipelines/access.yaml",
            "--set",
            "data_dir=sample-data/taicang",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--no-cache",
        ]));
        seen.push(std::fs::read(out.join("access.csv")).unwrap());
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "access.csv differs between runs");
}
