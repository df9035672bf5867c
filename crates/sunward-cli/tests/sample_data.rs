//! The committed sample data and the shipped pipelines that read it:
//! `sample-data/` is exactly what `sunward datagen` writes with seed 1, the
//! metrics pipeline finds the figures each sample was made to reproduce,
//! and the real-style exports give the same figures once loaded through
//! header and value mappings and pseudonymisation.

use crate::common;

use common::{ok, repo};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn sunward(args: &[String], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sunward"));
    cmd.current_dir(repo()).args(args).env_remove("SUNWARD_PSEUDONYM_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

type Metrics = BTreeMap<(String, String, String, String), Option<f64>>;

/// `pipelines/metrics.yaml` on `data`; returns the metrics table.
fn metrics(data: &Path, baseline: i32, current: i32, out: &Path) -> Metrics {
    common::run_metrics(data, baseline, current, out);
    let mut reader = csv::Reader::from_path(out.join("metrics.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let key = (r[0].to_string(), r[1].to_string(), r[2].to_string(), r[3].to_string());
            (key, if r[4].is_empty() { None } else { Some(r[4].parse().unwrap()) })
        })
        .collect()
}

fn value(m: &Metrics, unit_type: &str, unit_id: &str, period: &str, key: &str) -> f64 {
    m.get(&(unit_type.into(), unit_id.into(), period.into(), key.into()))
        .unwrap_or_else(|| panic!("no row {unit_type} {unit_id} {period} {key}"))
        .unwrap_or_else(|| panic!("{unit_type} {unit_id} {period} {key} is null"))
}

#[test]
fn the_sample_project_gives_the_reviewed_2025_figures() {
    let dir = tempfile::tempdir().unwrap();
    let m = metrics(&repo().join("sample-data/project"), 2024, 2024, dir.path());
    // The organisation (both schools), calendar year 2025, as the seed review itemises them.
    let expected = [
        ("high_risk_students", 10.0),
        ("case_sessions", 134.0),
        ("events.case_session", 134.0),
        ("events.immediate_support", 86.0),
        ("participants.immediate_support", 86.0),
        ("events.mailbox_reply", 211.0),
        ("events.group_session", 34.0),
        ("participants.group_session", 351.0),
        ("events.growth_class", 23.0),
        ("participants.growth_class", 2913.0),
        ("events.committee_training", 3.0),
        ("participants.committee_training", 36.0),
        ("events.teacher_workshop", 4.0),
        ("participants.teacher_workshop", 81.0),
        ("events.parent_workshop", 2.0),
        ("participants.parent_workshop", 426.0),
        ("onsite_days", 101.0),
    ];
    for (key, want) in expected {
        assert_eq!(value(&m, "org", "KS-ORG1", "2025", key), want, "{key}");
    }
    // 86 immediate-support events, each for one student, all different students.
    let services = std::fs::read_to_string(repo().join("sample-data/project/services.csv")).unwrap();
    let supported: std::collections::BTreeSet<&str> = services
        .lines()
        .filter(|l| l.contains(",immediate_support,") && l.contains(",2025-"))
        .map(|l| l.split(',').nth(6).unwrap())
        .collect();
    assert_eq!(supported.len(), 86);
}

#[test]
fn the_exports_load_into_the_same_figures_under_pseudonyms() {
    let dir = tempfile::tempdir().unwrap();
    let canonical = dir.path().join("canonical");
    let key = std::fs::read_to_string(repo().join("sample-data/project-exports/DEMO-KEY-NOT-SECRET.txt")).unwrap();
    let args: Vec<String> =
        ["run", "pipelines/project-exports.yaml", "--quiet", "--out", &canonical.display().to_string()]
            .iter()
            .map(|s| s.to_string())
            .collect();
    // Without a key the pipeline refuses to run and writes nothing.
    let refused = sunward(&args, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(!canonical.join("services.csv").exists());

    let loaded = sunward(&args, &[("SUNWARD_PSEUDONYM_KEY", key.clone())]);
    ok(&loaded);
    let stderr = String::from_utf8_lossy(&loaded.stderr);
    assert!(!stderr.contains("warning"), "the name column is left out on purpose, without a warning: {stderr}");
    // No roll number (学籍号: G + region + 13 digits) and no student name is left anywhere.
    let exports_cases = std::fs::read_to_string(repo().join("sample-data/project-exports/screenings.csv")).unwrap();
    let header: Vec<&str> = exports_cases.lines().next().unwrap().split(',').collect();
    let roll_at = header.iter().position(|h| *h == "学籍号").expect("a 学籍号 column in the export");
    let rolls: Vec<String> =
        exports_cases.lines().skip(1).take(50).map(|l| l.split(',').nth(roll_at).unwrap().to_string()).collect();
    for entry in std::fs::read_dir(&canonical).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).unwrap();
            for roll in &rolls {
                assert!(!text.contains(roll.as_str()), "{roll} in {}", path.display());
            }
            assert!(!text.contains("学生姓名") && !text.contains(key.trim()), "{}", path.display());
        }
    }
    // Every figure equals the canonical sample's.
    let from_exports = metrics(&canonical, 2024, 2024, &dir.path().join("m1"));
    let from_canonical = metrics(&repo().join("sample-data/project"), 2024, 2024, &dir.path().join("m2"));
    assert_eq!(from_exports.len(), from_canonical.len());
    for (k, v) in &from_canonical {
        assert_eq!(from_exports.get(k), Some(v), "{k:?}");
    }
}

#[test]
fn the_sample_districts_are_shaped_like_the_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let m = metrics(&repo().join("sample-data/taicang"), 2022, 2024, &dir.path().join("taicang"));
    let d = |p: &str, k: &str| value(&m, "district", "320585", p, k);
    let schools = std::fs::read_to_string(repo().join("sample-data/taicang/schools.csv")).unwrap();
    assert_eq!(schools.lines().count() - 1, 20);
    assert!((d("AY2022", "incident_rate_per_1000") - 5.3).abs() < 0.3, "{}", d("AY2022", "incident_rate_per_1000"));
    assert!((d("AY2024", "incident_rate_per_1000") - 2.8).abs() < 0.3, "{}", d("AY2024", "incident_rate_per_1000"));
    assert!((d("AY2024", "incident_rate_change") + 0.47).abs() < 0.06);
    for ay in ["AY2022", "AY2023", "AY2024"] {
        assert!(d(ay, "screening_coverage") > 0.95, "{ay}");
        let consultations = d(ay, "events.consultation");
        assert!((3700.0..=4100.0).contains(&consultations), "{ay}: {consultations}");
    }

    let m = metrics(&repo().join("sample-data/qingpu"), 2023, 2024, &dir.path().join("qingpu"));
    for ay in ["AY2023", "AY2024"] {
        let rate = value(&m, "district", "310118", ay, "closed_loop_rate");
        assert!(rate > 0.8, "{ay}: {rate}");
        assert!(value(&m, "district", "310118", ay, "median_days_to_intervention") <= 7.0, "{ay}");
    }
}

#[test]
fn the_committed_sample_data_is_what_datagen_writes() {
    let dir = tempfile::tempdir().unwrap();
    for preset in ["project", "taicang", "qingpu"] {
        let out = dir.path().join(preset);
        let mut args: Vec<String> =
            ["datagen", "--preset", preset, "--quiet", "--out", &out.display().to_string()].map(String::from).to_vec();
        if preset == "project" {
            args.push("--exports".into());
            args.push(dir.path().join("exports").display().to_string());
        }
        ok(&sunward(&args, &[]));
        let same = |generated: &Path, committed: &Path| {
            for entry in std::fs::read_dir(generated).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap();
                let committed_file = committed.join(name);
                assert!(
                    std::fs::read(&path).unwrap() == std::fs::read(&committed_file).unwrap(),
                    "{} differs from `sunward datagen --preset {preset}`: regenerate sample-data (see sample-data/README.md)",
                    committed_file.display()
                );
            }
        };
        same(&out, &repo().join("sample-data").join(preset));
        if preset == "project" {
            same(&dir.path().join("exports"), &repo().join("sample-data/project-exports"));
        }
    }
}
