//! A report never renders another run's figures: the real binary runs the
//! metrics on a copy of the tiny fixture, then the district comparison, which
//! must refuse the metrics table (exit code 1, nothing written) when the data
//! behind it has changed, when a parameter both pipelines declare differs, or
//! when the metrics run's manifest is missing — each time naming the
//! difference — and read it with a warning under `--allow-stale-metrics`.

use crate::common;

use common::{ok, repo};
use std::path::Path;
use std::process::{Command, Output};

fn copy_fixture(to: &Path) {
    let from = repo().join("crates/sunward-cli/tests/fixtures/tiny");
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The district comparison on `data`, reading `out/metrics.parquet`, into `out`.
fn comparison(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut cmd = comparison_run(data, &out.join("metrics.parquet"));
    cmd.args(["--set", "baseline_year=2023", "--out"]).arg(out);
    cmd.args(extra);
    cmd.output().unwrap()
}

/// `sunward run` of the district comparison on `data` with the metrics table `metrics`.
fn comparison_run(data: &Path, metrics: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sunward"));
    cmd.current_dir(repo()).args(["run", "pipelines/district-comparison.yaml", "--quiet"]);
    cmd.args(["--set", "report_date=2025-10-15", "--set"]).arg(format!("data_dir={}", data.display()));
    cmd.arg("--set").arg(format!("metrics={}", metrics.display()));
    cmd
}

fn refused(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "exit 1 expected\nstderr:\n{stderr}");
    assert!(stderr.contains("was not made from this run's inputs and parameters"), "{stderr}");
    assert!(stderr.contains("pipelines/district-comparison.yaml:"), "the place in the pipeline: {stderr}");
    assert!(stderr.contains("--allow-stale-metrics"), "the way out is named: {stderr}");
    // The table is named by the parameter `metrics`: the hint says how to give it another one.
    assert!(stderr.contains("--set metrics=FOLDER/metrics.parquet"), "the parameter is named: {stderr}");
    stderr
}

fn reports_in(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("district-comparison_"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_report_refuses_metrics_whose_data_has_changed_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    copy_fixture(&data);
    common::run_metrics(&data, 2023, 2024, &out);
    assert!(out.join("manifest-metrics.json").is_file(), "the metrics run keeps its own manifest");

    // Same data, same parameters: the report renders.
    ok(&comparison(&data, &out, &[]));
    assert_eq!(
        reports_in(&out),
        [
            "district-comparison_AY2024_D1.figures.json",
            "district-comparison_AY2024_D1.html",
            "district-comparison_AY2024_D1.pdf"
        ]
    );
    assert!(out.join("manifest-district_comparison.json").is_file());
    assert!(out.join("manifest-metrics.json").is_file(), "the report's run leaves the metrics' manifest alone");
    for name in reports_in(&out) {
        std::fs::remove_file(out.join(name)).unwrap();
    }

    // A file the report reads itself changes: enrolment.csv is named, with both hashes.
    let enrolment = std::fs::read_to_string(data.join("enrolment.csv")).unwrap();
    std::fs::write(data.join("enrolment.csv"), enrolment.replace("T1,2023,2000,40", "T1,2023,2100,40")).unwrap();
    let stderr = refused(&comparison(&data, &out, &[]));
    assert!(stderr.contains("input enrolment.csv"), "{stderr}");
    assert!(stderr.contains("sha256"), "{stderr}");
    assert!(!stderr.contains("schools.csv"), "unchanged files are not named: {stderr}");
    assert!(reports_in(&out).is_empty(), "nothing is written when the metrics are refused");
    std::fs::write(data.join("enrolment.csv"), &enrolment).unwrap();

    // A file only the metrics read changes (services.csv, in the report's data_dir): named too.
    let services = std::fs::read_to_string(data.join("services.csv")).unwrap();
    std::fs::write(data.join("services.csv"), services.replacen("W1,45,", "W1,50,", 1)).unwrap();
    let stderr = refused(&comparison(&data, &out, &[]));
    assert!(stderr.contains("input services.csv"), "{stderr}");
    assert!(stderr.contains("has changed since `metrics` read it"), "{stderr}");
    assert!(reports_in(&out).is_empty());

    // The override reads it anyway, with a warning naming the same difference.
    let output = comparison(&data, &out, &["--allow-stale-metrics"]);
    ok(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("warning") && stderr.contains("input services.csv"), "{stderr}");
    assert_eq!(reports_in(&out).len(), 3, "HTML, PDF and the figures they print");
}

#[test]
fn a_report_refuses_metrics_computed_with_other_parameters_or_without_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    copy_fixture(&data);
    common::run_metrics(&data, 2023, 2024, &out);

    // The metrics used baseline 2023; the report defaults to 2022.
    let mut cmd = comparison_run(&data, &out.join("metrics.parquet"));
    cmd.arg("--out").arg(&out);
    let stderr = refused(&cmd.output().unwrap());
    assert!(stderr.contains("parameter `baseline_year`: 2023 for `metrics`, 2022 in this run"), "{stderr}");

    // Another extreme-incident set than the metrics used.
    let stderr = refused(&comparison(&data, &out, &["--set", "extreme_categories=self_harm,violence"]));
    assert!(stderr.contains("parameter `extreme_categories`"), "{stderr}");
    // The same set in another order is the same set.
    ok(&comparison(&data, &out, &["--set", "extreme_categories=violence,self_harm,suicide_attempt,suicide_death"]));

    // The metrics of other data (the sample district) read with this data_dir.
    let metrics_dir = dir.path().join("other");
    common::run_metrics(&repo().join("sample-data/taicang"), 2023, 2024, &metrics_dir);
    let mut cmd = comparison_run(&data, &metrics_dir.join("metrics.parquet"));
    cmd.args(["--set", "baseline_year=2023", "--out"]).arg(&out);
    let stderr = refused(&cmd.output().unwrap());
    assert!(stderr.contains("input schools.csv") && stderr.contains("input enrolment.csv"), "{stderr}");

    // `sunward validate` says the same before anything runs.
    let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .current_dir(repo())
        .args(["validate", "pipelines/district-comparison.yaml", "--set", "report_date=2025-10-15", "--set"])
        .arg(format!("data_dir={}", data.display()))
        .arg("--set")
        .arg(format!("metrics={}", out.join("metrics.parquet").display()))
        .output()
        .unwrap();
    let stderr = refused(&output);
    assert!(stderr.contains("parameter `baseline_year`"), "{stderr}");

    // No manifest beside the table: nothing shows where it came from.
    std::fs::remove_file(out.join("manifest-metrics.json")).unwrap();
    let stderr = refused(&comparison(&data, &out, &[]));
    assert!(stderr.contains("there is no manifest-metrics.json beside metrics.parquet"), "{stderr}");
}

/// `produced_by` is an option of every source: a pipeline reading the
/// metrics as CSV is refused the same way once the data behind them changes.
#[test]
fn a_csv_source_is_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    copy_fixture(&data);
    common::run_metrics(&data, 2023, 2024, &out);
    let pipeline = dir.path().join("count.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "name: count\nparams:\n  data_dir: {{type: path, default: {data}}}\n  baseline_year: {{type: int, default: 2023}}\nsources:\n  enrolment: {{plugin: csv, path: \"${{data_dir}}/enrolment.csv\", contract: enrolment, references: {{schools: none}}}}\n  metrics: {{plugin: csv, path: {out}/metrics.csv, produced_by: metrics, columns: {{value: float}}}}\nsteps:\n  n: {{plugin: sql, query: \"SELECT COUNT(*) AS n FROM metrics\"}}\noutputs:\n  n: {{plugin: csv, table: n, path: n.csv}}\n",
            data = data.display(),
            out = out.display()
        ),
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_sunward"))
            .current_dir(repo())
            .arg("run")
            .arg(&pipeline)
            .args(["--quiet", "--out"])
            .arg(dir.path().join("count-out"))
            .output()
            .unwrap()
    };
    ok(&run());
    let enrolment = std::fs::read_to_string(data.join("enrolment.csv")).unwrap();
    std::fs::write(data.join("enrolment.csv"), enrolment.replace("T1,2023,2000,40", "T1,2023,2100,40")).unwrap();
    let output = run();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("input enrolment.csv"), "{stderr}");
}
