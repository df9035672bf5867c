//! Bounded memory: the metrics pipeline on data larger than `--memory-limit`.
//!
//! A generated district whose services table (300,000 rows, about 29 MB of
//! CSV and more as Arrow columns) is larger than the 24 MiB limit given: the
//! run must stage the large tables on disk, finish, and give exactly the
//! figures of a run without a limit, and the staging folder must be gone
//! afterwards.

use std::path::Path;
use std::process::Command;

fn sunward(args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_sunward")).args(args).output().expect("the binary runs");
    assert!(output.status.success(), "sunward {} failed:\n{}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    output
}

fn manifest(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("manifest-metrics.json")).expect("the manifest");
    serde_json::from_str(&text).expect("the manifest is JSON")
}

#[test]
fn metrics_under_a_memory_limit_smaller_than_the_data_are_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = |p: &str| dir.path().join(p).display().to_string();
    let data_dir = path("data");
    sunward(&[
        "datagen",
        "--preset",
        "custom",
        "--schools",
        "20",
        "--districts",
        "2",
        "--service-rows",
        "300000",
        "--out",
        &data_dir,
        "--quiet",
    ]);
    let services = std::fs::metadata(dir.path().join("data/services.csv")).unwrap().len();
    assert!(services > 24 << 20, "the services file ({services} bytes) is larger than the limit");
    let pipeline = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/metrics.yaml");
    let pipeline = pipeline.display().to_string();
    let data = format!("data_dir={data_dir}");
    let common = ["run", &pipeline, "--set", &data, "--set", "baseline_year=2023", "--set", "current_year=2024", "-q"];
    let (free_out, bounded_out, stage) = (path("free"), path("bounded"), path("stage"));
    let mut free = common.to_vec();
    free.extend(["--out", &free_out]);
    sunward(&free);
    std::fs::create_dir(&stage).unwrap();
    let mut bounded = common.to_vec();
    bounded.extend(["--out", &bounded_out, "--memory-limit", "24M", "--stage", &stage]);
    sunward(&bounded);

    let free_metrics = std::fs::read(dir.path().join("free/metrics.csv")).unwrap();
    let bounded_metrics = std::fs::read(dir.path().join("bounded/metrics.csv")).unwrap();
    assert!(free_metrics.len() > 10_000, "the metrics table has rows");
    assert!(free_metrics == bounded_metrics, "the figures differ with a memory limit");

    let staged = |out: &str| -> Vec<String> {
        manifest(&dir.path().join(out))["staged"]
            .as_array()
            .expect("a list of staged tables")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert!(staged("free").is_empty(), "nothing is staged without a limit: {:?}", staged("free"));
    let bounded_staged = staged("bounded");
    assert!(bounded_staged.contains(&"services".to_string()), "services is staged: {bounded_staged:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("stage")).unwrap().collect();
    assert!(left.is_empty(), "the staging folder is removed after the run: {left:?}");
}
