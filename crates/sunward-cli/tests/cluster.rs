//! The cluster engine, end to end: a Ballista scheduler and two executors,
//! each a `sunward cluster …` child process on 127.0.0.1 (free ports, work
//! folders in a temporary folder, every process killed when the test ends),
//! and `sunward run --engine ballista://…` against them.
//!
//! - The metrics of the sample district from the cluster equal the local
//!   run's, byte for byte, and the executors did the work.
//! - An executor killed while a run is under way: the run either completes
//!   (Ballista runs the lost tasks again) with the same figures, or fails
//!   naming the step, leaving no output file. Never a partial file.
//! - A scheduler that is not there: exit code 1 within seconds, saying so.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sunward");

/// A port no process listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Wait until something listens on `port`.
fn wait_for(port: u16, within: Duration, who: &str, log: &Path) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the {who} did not listen on {port} within {within:?}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scheduler and executors, stopped when dropped.
struct Cluster {
    scheduler: u16,
    children: Vec<(String, Child)>,
}

impl Cluster {
    fn start(dir: &Path, executors: usize) -> Cluster {
        let scheduler = free_port();
        let log = dir.join("scheduler.log");
        let child = Command::new(BIN)
            .args(["cluster", "scheduler", "--bind", &format!("127.0.0.1:{scheduler}"), "--executor-timeout", "6"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the scheduler starts");
        let mut cluster = Cluster { scheduler, children: vec![("scheduler".into(), child)] };
        wait_for(scheduler, Duration::from_secs(30), "scheduler", &log);
        for i in 1..=executors {
            let (data, tasks) = (free_port(), free_port());
            let log = dir.join(format!("executor{i}.log"));
            let child = Command::new(BIN)
                .args(["cluster", "executor", "--scheduler", &format!("127.0.0.1:{scheduler}")])
                .args(["--bind", &format!("127.0.0.1:{data}"), "--grpc-port", &tasks.to_string()])
                .args(["--concurrent-tasks", "2", "--heartbeat", "1"])
                .arg("--work-dir")
                .arg(dir.join(format!("executor{i}")))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("an executor starts");
            cluster.children.push((format!("executor{i}"), child));
            wait_for(data, Duration::from_secs(30), "executor", &log);
            wait_for(tasks, Duration::from_secs(30), "executor", &log);
        }
        cluster
    }

    fn engine(&self) -> String {
        format!("ballista://127.0.0.1:{}", self.scheduler)
    }

    fn kill(&mut self, name: &str) {
        let (_, child) = self.children.iter_mut().find(|(n, _)| n == name).expect("that process");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn pipeline() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/metrics.yaml").display().to_string()
}

/// `sunward run pipelines/metrics.yaml` on `data` into `out`, plus `extra` arguments (not quiet: it prints its summary).
fn metrics_run(data: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["run", &pipeline(), "--no-cache"])
        .args(["--set", &format!("data_dir={}", data.display())])
        .args(["--set", "baseline_year=2022", "--set", "current_year=2024"])
        .arg("--out")
        .arg(out)
        .args(extra)
        .env_remove("SUNWARD_ENGINE");
    command
}

/// Wait for `child` at most `within`; killed (and the test failed) beyond it.
fn finish(mut child: Child, within: Duration) -> Output {
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

fn succeeded(output: &Output, what: &str) {
    assert!(output.status.success(), "{what} failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

fn sample_district() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample-data/taicang")
}

/// The files of a folder and below.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() { pending.push(p) } else { found.push(p) }
        }
    }
    found
}

#[test]
fn metrics_from_a_cluster_equal_the_local_run() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path(), 2);
    let data = sample_district();
    let (local, remote, stage) = (dir.path().join("local"), dir.path().join("cluster"), dir.path().join("stage"));
    succeeded(&metrics_run(&data, &local, &[]).output().unwrap(), "the local run");
    let engine = cluster.engine();
    // The summary says where the steps ran.
    let run = metrics_run(&data, &remote, &["--engine", &engine])
        .arg("--stage")
        .arg(&stage)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let output = finish(run, Duration::from_secs(300));
    succeeded(&output, "the cluster run");
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(summary.contains(&format!("the steps ran on the cluster at {engine}")), "{summary}");

    let (a, b) =
        (std::fs::read(local.join("metrics.csv")).unwrap(), std::fs::read(remote.join("metrics.csv")).unwrap());
    assert!(a.len() > 100_000, "the metrics table has its rows ({} bytes)", a.len());
    assert!(a == b, "the cluster's metrics.csv differs from the local one");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(remote.join("manifest-metrics.json")).unwrap()).unwrap();
    assert_eq!(manifest["engine"], engine.as_str());
    assert_eq!(manifest["views"], serde_json::json!([]), "no step is left as a view for the cluster");
    // The executors did the work: their work folders hold the data passed between stages.
    let shuffled: usize = (1..=2).map(|i| files_under(&dir.path().join(format!("executor{i}"))).len()).sum();
    assert!(shuffled > 0, "no executor wrote stage data");
    // The staging folder is gone.
    assert_eq!(std::fs::read_dir(&stage).unwrap().count(), 0, "the staging folder was left behind");
}

#[test]
fn an_executor_lost_mid_run_completes_or_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // A district large enough that the run takes a while on the cluster.
    let data = dir.path().join("data");
    let generated = Command::new(BIN)
        .args(["datagen", "--preset", "custom", "--schools", "12", "--years", "2022..2024"])
        .args(["--service-rows", "150000", "--quiet", "--out"])
        .arg(&data)
        .output()
        .unwrap();
    succeeded(&generated, "datagen");
    let mut cluster = Cluster::start(dir.path(), 2);
    let (local, remote, stage) = (dir.path().join("local"), dir.path().join("cluster"), dir.path().join("stage"));
    let engine = cluster.engine();
    let run = metrics_run(&data, &remote, &["--engine", &engine])
        .arg("--stage")
        .arg(&stage)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the cluster has finished a few steps, one executor goes.
    let deadline = Instant::now() + Duration::from_secs(240);
    let steps_done = || files_under(&stage).iter().filter(|p| p.extension().is_some_and(|e| e == "parquet")).count();
    while steps_done() < 12 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut run = run;
    assert!(run.try_wait().unwrap().is_none(), "the run ended before an executor could be taken away");
    let tables_when_killed = steps_done();
    cluster.kill("executor2");
    let output = finish(run, Duration::from_secs(300));
    eprintln!(
        "an executor was killed with {tables_when_killed} tables staged; the run ended with {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        succeeded(&metrics_run(&data, &local, &[]).output().unwrap(), "the local run");
        let same =
            std::fs::read(local.join("metrics.csv")).unwrap() == std::fs::read(remote.join("metrics.csv")).unwrap();
        assert!(same, "the run survived the lost executor but its figures differ");
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("steps."), "the failure names the step: {stderr}");
        let written: Vec<PathBuf> =
            files_under(&remote).into_iter().filter(|p| !p.ends_with("manifest-metrics.json")).collect();
        assert!(written.is_empty(), "a failed run left output files: {written:?}");
    }
    assert_eq!(std::fs::read_dir(&stage).unwrap().count(), 0, "the staging folder was left behind");
}

#[test]
fn a_scheduler_that_is_not_there_fails_the_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let engine = format!("ballista://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let output = finish(
        metrics_run(&sample_district(), &out, &["--engine", &engine]).stderr(Stdio::piped()).spawn().unwrap(),
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(
        stderr.contains(&format!("cannot reach the cluster's scheduler at {}", &engine["ballista://".len()..])),
        "{stderr}"
    );
    assert!(!out.join("metrics.csv").exists());
    // The engine from the environment, as from the flag.
    let output = metrics_run(&sample_district(), &out, &[]).env("SUNWARD_ENGINE", &engine).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot reach the cluster's scheduler"));
    // A malformed engine is a usage error.
    let output = metrics_run(&sample_district(), &out, &["--engine", "ballista:/nowhere"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
