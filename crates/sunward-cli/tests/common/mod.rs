//! Helpers shared by the CLI test files that run shipped pipelines: the
//! repository root, a success check that shows what the command printed,
//! and a run of `pipelines/metrics.yaml`.

#![allow(dead_code)] // each test file uses a subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `pipelines/` and `sample-data/` are).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Asserts that a command succeeded, printing its exit code and output if not.
pub fn ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `pipelines/metrics.yaml` from the repository root on the canonical tables in `data`, into `out`.
pub fn run_metrics(data: &Path, baseline: i32, current: i32, out: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .current_dir(repo())
        .args(["run", "pipelines/metrics.yaml", "--quiet", "--set"])
        .arg(format!("data_dir={}", data.display()))
        .args(["--set", &format!("baseline_year={baseline}"), "--set", &format!("current_year={current}"), "--out"])
        .arg(out)
        .output()
        .unwrap();
    ok(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("warning"), "metrics.yaml warned:\n{stderr}");
}
