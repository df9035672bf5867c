//! Workflow files and what every run leaves behind, through the real binary:
//! `pipelines/district.yaml` runs the metrics, the district comparison and
//! the government summary of a district in one command with one set of
//! parameters; a broken workflow is refused before anything runs, every
//! mistake with its line and column; each pipeline keeps its own manifest;
//! written files follow the umask while the rejects stay private; paths in
//! rejects are normalised.

use crate::common;

use common::{ok, repo};
use std::path::Path;
use std::process::{Command, Output};

fn sunward(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(repo()).args(args).arg("--out").arg(out).output().unwrap()
}

/// `sunward validate ARGS…` from the repository root.
fn validate(args: &[&str]) -> Output {
    validate_in(&repo(), args)
}

/// `sunward validate ARGS…` from `dir`.
fn validate_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(dir).arg("validate").args(args).output().unwrap()
}

fn manifest(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[test]
fn the_district_workflow_makes_metrics_and_both_reports_in_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("qingpu");
    let output = sunward(
        &["run", "pipelines/district.yaml", "--set", "data_dir=sample-data/qingpu", "--set", "baseline_year=2023"],
        &out,
    );
    ok(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("== district (1/4) pipelines/metrics.yaml"), "{stdout}");
    assert!(stdout.contains("== district (2/4) pipelines/access.yaml"), "{stdout}");
    assert!(stdout.contains("workflow district: 4 pipelines ran"), "{stdout}");
    let schools = std::fs::read_to_string(repo().join("sample-data/qingpu/schools.csv")).unwrap();
    let district = schools.lines().nth(1).unwrap().split(',').nth(3).unwrap().to_string();
    for file in [
        "metrics.csv".to_string(),
        "metrics.parquet".to_string(),
        format!("district-comparison_AY2024_{district}.html"),
        format!("district-comparison_AY2024_{district}.pdf"),
        format!("government-summary_AY2024_{district}.html"),
        format!("government-summary_AY2024_{district}.pdf"),
    ] {
        assert!(out.join(&file).is_file(), "{file} written");
    }
    // One manifest per pipeline, all three with the same shared parameters.
    let metrics = manifest(&out.join("manifest-metrics.json"));
    let comparison = manifest(&out.join("manifest-district_comparison.json"));
    let summary = manifest(&out.join("manifest-government_summary.json"));
    assert!(!out.join("manifest.json").exists());
    for m in [&metrics, &comparison, &summary] {
        assert_eq!(m["status"], "succeeded");
        assert_eq!(m["params"]["baseline_year"], "2023");
        assert_eq!(m["params"]["current_year"], "2024");
        assert_eq!(m["params"]["extreme_categories"], "self_harm,suicide_attempt,suicide_death,violence");
    }
    for m in [&metrics, &comparison, &summary] {
        let data_dir = m["params"]["data_dir"].as_str().unwrap();
        assert!(data_dir.ends_with("sample-data/qingpu"), "{data_dir}");
    }
    assert_eq!(comparison["params"]["metrics"], format!("{}/metrics.parquet", out.display()));
    // The manifest's input paths are normalised.
    let text = std::fs::read_to_string(out.join("manifest-metrics.json")).unwrap();
    assert!(!text.contains("/../"), "{text}");
}

#[test]
fn a_broken_workflow_is_refused_before_anything_runs_with_every_place() {
    let dir = tempfile::tempdir().unwrap();
    let pipelines = repo().join("pipelines");
    let workflow = dir.path().join("broken.yaml");
    std::fs::write(
        &workflow,
        format!(
            "name: broken\n\
             params:\n  baseline_year: twenty\n  baseline_yaer: 2022\n  data_dir: {data}\n\
             pipelines:\n  - {p}/metrics.yaml\n  - {p}/district-comparisn.yaml\n  - {{pipeline: {p}/government-summary.yaml, sett: {{}}}}\n\
             outputz: 1\n",
            data = repo().join("sample-data/taicang").display(),
            p = pipelines.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = sunward(&["run", workflow.to_str().unwrap()], &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let file = workflow.display().to_string();
    for (place, what) in [
        (format!("{file}:3:18"), "`twenty` is not a whole number"),
        (format!("{file}:4:3"), "no pipeline here declares the parameter \"baseline_yaer\""),
        (format!("{file}:8:5"), "no pipeline file"),
        (format!("{file}:9:"), "unknown key \"sett\""),
        (format!("{file}:10:1"), "unknown key \"outputz\""),
    ] {
        assert!(stderr.contains(&place), "{place} in:\n{stderr}");
        assert!(stderr.contains(what), "{what} in:\n{stderr}");
    }
    assert!(stderr.contains("similar: baseline_year"), "{stderr}");
    assert!(stderr.contains("similar: district-comparison.yaml"), "{stderr}");
    assert!(!out.exists(), "nothing ran");

    // `validate` reports the same, and accepts the shipped workflow.
    let output = Command::new(env!("CARGO_BIN_EXE_sunward")).arg("validate").arg(&workflow).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = validate(&["pipelines/district.yaml"]);
    ok(&output);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: workflow district — 4 pipelines"));

    // A --set no pipeline of the workflow declares is refused too.
    let output = sunward(&["run", "pipelines/district.yaml", "--set", "yeer=2024"], &out);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--set yeer"));
    assert!(!out.exists(), "nothing ran");
}

#[cfg(unix)]
#[test]
fn outputs_follow_the_umask_rejects_stay_private_and_paths_are_normalised() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("first");
    ok(&sunward(&["run", "pipelines/first.yaml", "--quiet"], &out));
    // What an ordinary new file gets here (0666 less the umask the binary inherited).
    let probe = dir.path().join("probe");
    std::fs::write(&probe, "x").unwrap();
    let ordinary = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
    for file in ["by_school_and_type_2025.csv", "services_2025.xlsx", "manifest-first.json"] {
        let mode = std::fs::metadata(out.join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, ordinary, "{file}: {mode:o}");
    }
    let rejects = out.join("rejects");
    assert_eq!(std::fs::metadata(&rejects).unwrap().permissions().mode() & 0o777, 0o700);
    let text = std::fs::read_to_string(rejects.join("services.csv")).unwrap();
    assert!(text.contains("sample-data/first/services.csv"), "{text}");
    assert!(!text.contains("/../"), "{text}");
}

/// A value a report cannot take is refused by `validate` of the workflow,
/// before anything runs, with exit code 2 — each of them, one by one.
#[test]
fn validate_refuses_every_value_a_report_cannot_take() {
    let cases = [
        ("audience=publc", "--set audience: \"publc\" is not one of", "similar: public"),
        ("lang=fr", "--set lang: \"fr\" is not one of zh-CN, en", "allowed: zh-CN, en"),
        ("style=offical", "--set style: \"offical\" is not one of standard, official", "similar: official"),
    ];
    for (set, message, hint) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let output = validate(&["pipelines/district.yaml", "--set", set]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{set}: {stderr}");
        assert!(stderr.contains(message) && stderr.contains(hint), "{set}: {stderr}");
        assert!(!out.exists(), "{set}: validate wrote nothing");
        // `run` refuses the same before writing anything.
        let output = sunward(&["run", "pipelines/district.yaml", "--set", set], &out);
        assert_eq!(output.status.code(), Some(2), "{set}");
        assert!(!out.join("metrics.parquet").exists(), "{set}: the metrics were not written");
    }
}

/// A setting written as `${param}` is checked with the value it gets, so a
/// pipeline that does not list a parameter's values (`one_of:`) still has
/// a wrong one refused at the setting's line and column.
#[test]
fn a_setting_filled_from_a_parameter_is_checked_with_its_value() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.csv"), "unit_type,unit_id,period,metric,value\n").unwrap();
    std::fs::write(dir.path().join("t.md.j2"), "# x\n").unwrap();
    let pipeline = "name: p\n\
params:\n\
\x20 who: {type: string, default: internal}\n\
sources:\n\
\x20 m: {plugin: csv, path: m.csv}\n\
outputs:\n\
\x20 r:\n\
\x20   plugin: report\n\
\x20   template: t.md.j2\n\
\x20   metrics: m\n\
\x20   audience: ${who}\n\
\x20   path: r\n\
\x20   formats: []\n";
    std::fs::write(dir.path().join("p.yaml"), pipeline).unwrap();
    let output = validate_in(dir.path(), &["p.yaml", "--set", "who=everyone"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown audience \"everyone\" (with the parameters filled in)"), "{stderr}");
    assert!(stderr.contains("p.yaml:11:15"), "{stderr}");
    // A mistake that names no parameter is reported once, not again with the values filled in.
    assert_eq!(stderr.matches("list at least one format").count(), 1, "{stderr}");
}

/// A misspelt folder in a workflow is caught by `validate` (as it is for a
/// pipeline alone), while the files an earlier pipeline of the workflow will
/// write (the metrics table inside --out) are not asked for.
#[test]
fn validate_of_a_workflow_finds_missing_inputs_but_not_what_it_will_make() {
    let output = validate(&["pipelines/district.yaml", "--set", "data_dir=sample-data/taicnag"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sample-data/taicnag/schools.csv does not exist"), "{stderr}");
    assert!(stderr.contains("pipelines/metrics.yaml:"), "placed in the pipeline: {stderr}");
    assert!(!stderr.contains("metrics.parquet"), "the metrics table is the workflow's own: {stderr}");
    let fine = validate(&["pipelines/district.yaml", "--set", "metrics=nowhere/metrics.parquet"]);
    let stderr = String::from_utf8_lossy(&fine.stderr);
    assert_eq!(fine.status.code(), Some(2), "a metrics table outside --out must exist: {stderr}");
    assert!(stderr.contains("nowhere/metrics.parquet does not exist"), "{stderr}");
}

/// The first pipeline of a workflow reads only files already there: its SQL
/// is planned against their real columns by `validate`, as for a pipeline alone.
#[test]
fn validate_of_a_workflow_plans_the_sql_of_a_pipeline_whose_inputs_are_there() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("visits.csv"), "school_id,visits\nS1,3\n").unwrap();
    std::fs::write(
        dir.path().join("first.yaml"),
        "name: first\nsources:\n  visits: {plugin: csv, path: visits.csv}\nsteps:\n  total:\n    plugin: sql\n    query: SELECT school_id, SUM(visitz) AS n FROM visits GROUP BY school_id\noutputs:\n  t: {plugin: csv, table: total, path: total.csv}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("flow.yaml"), "name: flow\npipelines:\n  - first.yaml\n").unwrap();
    let output = validate_in(dir.path(), &["flow.yaml"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("visitz"), "{stderr}");
    assert!(stderr.contains("first.yaml:"), "{stderr}");
}

/// An export whose header lacks a required column is found by `validate`
/// (exit code 2, with the mapping to write), before anything runs.
#[test]
fn validate_finds_a_header_without_a_required_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for entry in std::fs::read_dir(repo().join("sample-data/taicang")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), data.join(entry.file_name())).unwrap();
    }
    let services = std::fs::read_to_string(data.join("services.csv")).unwrap();
    std::fs::write(data.join("services.csv"), services.replacen("school_id", "schoolid", 1)).unwrap();
    for target in ["pipelines/district.yaml", "pipelines/metrics.yaml"] {
        let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
            .current_dir(repo())
            .args(["validate", target, "--set"])
            .arg(format!("data_dir={}", data.display()))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{target}: {stderr}");
        assert!(
            stderr.contains("lacks the column \"school_id\" of services: each row names one of school_id, centre_id"),
            "{target}: {stderr}"
        );
        assert!(stderr.contains("map it with `headers: {schoolid: school_id}`"), "{target}: {stderr}");
    }
}
