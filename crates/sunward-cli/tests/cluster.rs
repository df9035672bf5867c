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
//! - A scheduler that is not there: exit code 1 within seconds, saying so;
//!   so does one that is stopped (it still accepts connections), and a
//!   cluster without executors — before any source is read.
//! - Ctrl-C of a run whose query never ends cancels its job, freeing the
//!   executor; SIGTERM stops an executor at once, its work folder (owner
//!   only) emptied.

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
        Self::start_with(dir, executors, 2)
    }

    /// A scheduler and `executors` executors running `slots` tasks at once each.
    fn start_with(dir: &Path, executors: usize, slots: usize) -> Cluster {
        let scheduler = free_port();
        let log = dir.join("scheduler.log");
        let child = Command::new(BIN)
            .args([
                "cluster",
                "scheduler",
                "--bind",
                &format!("127.0.0.1:{scheduler}"),
                "--executor-timeout",
                "6",
                "-v",
            ])
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
                .args(["--concurrent-tasks", &slots.to_string(), "--heartbeat", "1"])
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

    fn child(&mut self, name: &str) -> &mut Child {
        &mut self.children.iter_mut().find(|(n, _)| n == name).expect("that process").1
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

/// A run on a cluster with no executor, or with a stopped scheduler: a clear
/// error within seconds, before any source is read (no staging folder made).
#[test]
fn an_empty_cluster_or_a_stopped_scheduler_is_said_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(dir.path(), 0);
    let (out, stage) = (dir.path().join("out"), dir.path().join("stage"));
    let started = Instant::now();
    let run = metrics_run(&sample_district(), &out, &["--engine", &cluster.engine()])
        .arg("--stage")
        .arg(&stage)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = finish(run, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ran a test query within 15 s: the cluster has no executor"), "{stderr}");
    assert!(stderr.contains("sunward cluster executor --scheduler"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert!(!stage.exists() && !out.join("metrics.csv").exists(), "something was loaded or written");

    // The scheduler stopped (SIGSTOP): the kernel still accepts the connection.
    let pid = cluster.child("scheduler").id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    let started = Instant::now();
    let output = metrics_run(&sample_district(), &out, &["--engine", &cluster.engine()]).output().unwrap();
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("accepted the connection but answered nothing within 5 s"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

/// Ctrl-C of a run whose query would take hours (a cross join of 20⁸ rows)
/// cancels its cluster job: the scheduler is asked to cancel it and tells
/// the executor to stop its task. (The executor aborts a task at its next
/// yield point; this cross join, all in memory, never yields, so its core
/// stays busy.) SIGTERM then stops the executor within seconds all the same,
/// and empties its work folder, which only its owner could open.
#[test]
fn an_interrupted_run_cancels_its_job_and_executors_stop_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start_with(dir.path(), 1, 1);
    let schools = sample_district().join("schools.csv");
    let forever = dir.path().join("forever.yaml");
    std::fs::write(
        &forever,
        format!(
            "name: forever\nsources:\n  schools: {{plugin: csv, path: \"{}\", contract: schools}}\n\
             steps:\n  forever: {{plugin: sql, query: \"SELECT SUM(LENGTH(a.school_id) + LENGTH(h.school_id)) AS n FROM schools a, schools b, schools c, schools d, schools e, schools f, schools g, schools h\"}}\n\
             outputs:\n  n: {{plugin: csv, table: forever, path: n.csv}}\n",
            schools.display()
        ),
    )
    .unwrap();
    let stage = dir.path().join("stage");
    let run = Command::new(BIN)
        .args(["run", forever.to_str().unwrap(), "--quiet", "--engine", &cluster.engine(), "--out"])
        .arg(dir.path().join("forever"))
        .arg("--stage")
        .arg(&stage)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the scheduler has the step's job (the second, after the test query), and a moment more.
    let log = dir.path().join("scheduler.log");
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::read_to_string(&log).unwrap().matches("Job submitted:").count() < 2 {
        assert!(Instant::now() < deadline, "the step's job never reached the scheduler");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(Command::new("kill").args(["-INT", &run.id().to_string()]).status().unwrap().success());
    let output = finish(run, Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));

    // The job was cancelled, and its task with it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log).unwrap().contains("Cancelling 1 running tasks for job") {
        assert!(Instant::now() < deadline, "the job was not cancelled:\n{}", std::fs::read_to_string(&log).unwrap());
        std::thread::sleep(Duration::from_millis(100));
    }

    let jobs = dir.path().join("executor1/jobs");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&jobs).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the executor's job folder is open to others");
    }
    let pid = cluster.child("executor1").id().to_string();
    let started = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    while cluster.child("executor1").try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "the executor ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(files_under(&jobs).is_empty(), "job data outlived the executor: {:?}", files_under(&jobs));
}
