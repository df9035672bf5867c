//! Bounded memory: the metrics pipeline on data larger than `--memory-limit`.
//!
//! A generated district whose services table (300,000 rows, about 29 MB of
//! CSV and more as Arrow columns) is larger than the 24 MiB limit given: the
//! run must stage the large tables on disk, finish, and give exactly the
//! figures of a run without a limit, and the staging folder must be gone
//! afterwards. And a clean Parquet export, read where it lies instead of
//! copied, gives the figures of the same rows read from CSV, from the cache too.

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

#[test]
fn a_clean_parquet_export_is_read_in_place_with_the_same_figures_and_cached_without_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = |p: &str| dir.path().join(p).display().to_string();
    // The same generated services as CSV and as Parquet.
    for (format, folder) in [("csv", "csv"), ("parquet", "parquet")] {
        let out = path(folder);
        let args = ["--preset", "custom", "--schools", "8", "--service-rows", "60000", "--format", format];
        let mut command = vec!["datagen"];
        command.extend(args);
        command.extend(["--out", &out, "--quiet"]);
        sunward(&command);
    }
    let pipeline = |format: &str| {
        let file = path(&format!("{format}.yaml"));
        let text = format!(
            "name: counts\nsources:\n  services:\n    plugin: {format}\n    path: {format}/services.{format}\n    contract: services\n    references: {{schools: none, cases: none, classes: none}}\nsteps:\n  counts:\n    plugin: sql\n    query: |\n      SELECT school_id, service_type, COUNT(*) AS events, SUM(participants) AS participants,\n             COUNT(DISTINCT student_ref) AS students\n      FROM services GROUP BY school_id, service_type ORDER BY school_id, service_type\noutputs:\n  counts: {{plugin: csv, table: counts, path: counts.csv}}\n  services: {{plugin: csv, table: services, path: services.csv}}\n"
        );
        std::fs::write(&file, text).unwrap();
        file
    };
    let (csv, parquet, cache) = (pipeline("csv"), pipeline("parquet"), path("cache"));
    let counts = |out: &str| std::fs::read(dir.path().join(out).join("counts.csv")).unwrap();
    let listed = |out: &str, key: &str| -> Vec<String> {
        let text = std::fs::read_to_string(dir.path().join(out).join("manifest-counts.json")).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
        match &manifest[key] {
            serde_json::Value::Array(names) => names.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
            _ => manifest["sources"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s[key] == serde_json::Value::Bool(true))
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect(),
        }
    };
    sunward(&["run", &csv, "--out", &path("from-csv"), "--no-cache", "-q"]);
    let first = sunward(&["run", &parquet, "--out", &path("first"), "--cache-dir", &cache]);
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(said.contains("read where it lies (no copy): services"), "the run says so: {said}");
    sunward(&["run", &parquet, "--out", &path("second"), "--cache-dir", &cache, "-q"]);
    assert!(counts("from-csv").len() > 1_000, "the counts have rows");
    assert!(counts("first") == counts("from-csv"), "the Parquet file read in place gives other figures");
    assert!(counts("second") == counts("from-csv"), "the cached Parquet source gives other figures");
    // The source table itself, written out from the file read in place, is the CSV run's, row for row.
    let services = |out: &str| std::fs::read(dir.path().join(out).join("services.csv")).unwrap();
    assert!(services("first") == services("from-csv"), "the services table read in place differs");
    assert_eq!(listed("from-csv", "in_place"), Vec::<String>::new());
    assert_eq!(listed("first", "in_place"), ["services"]);
    assert_eq!(listed("first", "staged"), Vec::<String>::new());
    assert_eq!(listed("first", "from_cache"), Vec::<String>::new());
    assert_eq!(listed("second", "from_cache"), ["services"]);
    assert_eq!(listed("second", "in_place"), ["services"]);
    // The cache holds the file's schema, not a copy of its rows.
    let largest = walk(dir.path().join("cache").as_path()).into_iter().max().unwrap_or(0);
    let file = std::fs::metadata(dir.path().join("parquet/services.parquet")).unwrap().len();
    assert!(largest < file / 10, "the cache holds a {largest}-byte file for a {file}-byte source");
}

/// The sizes of every file under `dir`.
fn walk(dir: &Path) -> Vec<u64> {
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            sizes.extend(walk(&entry.path()));
        } else {
            sizes.push(meta.len());
        }
    }
    sizes
}
