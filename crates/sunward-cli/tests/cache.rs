//! The cache of checked sources: a second run on the same exports reuses the
//! checked tables, and a changed file, setting or parameter the source names
//! never reuses a stale entry.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// Run the metrics pipeline on `data` into `out`; returns which sources came from the cache.
fn run(data: &Path, out: &Path, cache: &Path, extra: &[&str]) -> Vec<(String, bool)> {
    let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .arg("run")
        .arg(repo("pipelines/metrics.yaml"))
        .arg("--set")
        .arg(format!("data_dir={}", data.display()))
        .args(["--set", "baseline_year=2024", "--set", "current_year=2025"])
        .arg("--cache-dir")
        .arg(cache)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "the run failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(out.join("manifest-metrics.json")).expect("a manifest");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    manifest["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["from_cache"].as_bool().unwrap()))
        .collect()
}

fn cached(sources: &[(String, bool)], name: &str) -> bool {
    sources.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no source {name}")).1
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_cached_source_is_reused_until_its_file_or_settings_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for entry in std::fs::read_dir(repo("sample-data/project")).unwrap() {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "csv") {
            std::fs::copy(entry.path(), data.join(entry.file_name())).unwrap();
        }
    }
    let cache = dir.path().join("cache");
    let out = |n: &str| dir.path().join(n);

    // First run: everything is read; second: everything comes from the cache, with the same figures.
    let first = run(&data, &out("1"), &cache, &[]);
    assert!(first.iter().all(|(_, c)| !c), "nothing is cached yet: {first:?}");
    let second = run(&data, &out("2"), &cache, &[]);
    assert!(second.iter().all(|(_, c)| *c), "everything comes from the cache: {second:?}");
    assert!(read(&out("1/metrics.csv")) == read(&out("2/metrics.csv")), "the same figures from the cache");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the cache is private to its owner");
    }

    // A changed services file: read again (with its new bad row), the others still cached.
    let services = data.join("services.csv");
    let mut text = std::fs::read_to_string(&services).unwrap();
    let first_row = text.lines().nth(1).unwrap().to_string();
    text.push_str(&first_row);
    text.push('\n');
    std::fs::write(&services, text).unwrap();
    let third = run(&data, &out("3"), &cache, &[]);
    assert!(!cached(&third, "services"), "a changed file is read again: {third:?}");
    assert!(cached(&third, "schools") && cached(&third, "cases"), "unchanged files stay cached: {third:?}");
    let rejects = String::from_utf8(read(&out("3/rejects/services.csv"))).unwrap();
    assert!(rejects.contains("duplicate record_id"), "the new duplicate is rejected: {rejects}");

    // Its rejects come back from the cache exactly.
    let fourth = run(&data, &out("4"), &cache, &[]);
    assert!(cached(&fourth, "services"));
    assert!(read(&out("3/rejects/services.csv")) == read(&out("4/rejects/services.csv")));
    assert!(read(&out("3/metrics.csv")) == read(&out("4/metrics.csv")));

    // --no-cache reads everything.
    let fresh = run(&data, &out("6"), &cache, &["--no-cache"]);
    assert!(fresh.iter().all(|(_, c)| !c), "--no-cache: {fresh:?}");
    assert!(read(&out("4/metrics.csv")) == read(&out("6/metrics.csv")));

    // A report pipeline declaring the exports as metrics.yaml does takes them
    // from the cache, even when it names the folder another way.
    let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .arg("run")
        .arg(repo("pipelines/annual-review.yaml"))
        .args(["--set", "report_date=2026-01-20", "--set"])
        .arg(format!("texts_dir={}", repo("pipelines/texts/annual-review").display()))
        .arg("--set")
        .arg(format!("data_dir={}", data.join("../data").display()))
        .arg("--set")
        .arg(format!("metrics={}", out("6").join("metrics.parquet").display()))
        .arg("--cache-dir")
        .arg(&cache)
        .arg("--out")
        .arg(out("6"))
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "the review failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(out("6").join("manifest-annual_review.json")).expect("a manifest");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    for source in manifest["sources"].as_array().expect("sources") {
        let from_cache = source["from_cache"].as_bool().unwrap();
        // The metrics table is read where it lies; the access figures are not there (optional).
        let read_afresh = source["name"] == "metrics" || source["name"] == "access";
        assert_eq!(from_cache, !read_afresh, "the review's {}", source["name"]);
    }

    // A parameter no source names leaves the entries as they are (the figures
    // are those of a run reading everything afresh); another value of one the
    // sources name (`data_dir`: the same files in another folder) is another key.
    let other = run(&data, &out("5"), &cache, &["--set", "baseline_year=2023"]);
    assert!(other.iter().all(|(_, c)| *c), "a parameter no source names: {other:?}");
    let afresh = run(&data, &out("7"), &cache, &["--set", "baseline_year=2023", "--no-cache"]);
    assert!(afresh.iter().all(|(_, c)| !c));
    assert!(read(&out("5/metrics.csv")) == read(&out("7/metrics.csv")));
    let moved = dir.path().join("moved");
    std::fs::create_dir(&moved).unwrap();
    for entry in std::fs::read_dir(&data).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), moved.join(entry.file_name())).unwrap();
    }
    let elsewhere = run(&moved, &out("8"), &cache, &[]);
    assert!(elsewhere.iter().all(|(_, c)| !c), "another data_dir: read afresh: {elsewhere:?}");
}
