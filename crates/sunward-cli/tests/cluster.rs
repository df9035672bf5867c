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
//! - With the cluster's credential (`--tls`), the figures are the local
//!   run's; a run, an executor and a data fetch without it are refused, as
//!   are another cluster's credential and an expired certificate; and no
//!   process listens on a network address without TLS unless `--insecure`.

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
        Self::start_with(dir, executors, 2, None, &[])
    }

    /// A scheduler and `executors` executors running `slots` tasks at once each;
    /// with `tls`, every process is given that cluster credential.
    /// `scheduler` holds more arguments for the scheduler.
    fn start_with(dir: &Path, executors: usize, slots: usize, tls: Option<&Path>, scheduler: &[&str]) -> Cluster {
        let tls_args: Vec<String> = tls.map(|t| vec!["--tls".to_string(), t.display().to_string()]).unwrap_or_default();
        let extra = scheduler;
        let scheduler = free_port();
        let log = dir.join("scheduler.log");
        let child = Command::new(BIN)
            .env_remove("SUNWARD_CLUSTER_TLS")
            .args([
                "cluster",
                "scheduler",
                "--bind",
                &format!("127.0.0.1:{scheduler}"),
                "--executor-timeout",
                "6",
                "-v",
            ])
            .args(&tls_args)
            .args(extra)
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
                .env_remove("SUNWARD_CLUSTER_TLS")
                .args(["cluster", "executor", "--scheduler", &format!("127.0.0.1:{scheduler}")])
                .args(&tls_args)
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
    metrics_run_of(Path::new(&pipeline()), data, out, extra)
}

/// [`metrics_run`] of the metrics pipeline at `pipeline`.
fn metrics_run_of(pipeline: &Path, data: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["run", &pipeline.display().to_string(), "--no-cache"])
        .args(["--set", &format!("data_dir={}", data.display())])
        .args(["--set", "baseline_year=2022", "--set", "current_year=2024"])
        .arg("--out")
        .arg(out)
        .args(extra)
        .env_remove("SUNWARD_ENGINE")
        .env_remove("SUNWARD_CLUSTER_TLS");
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
    let summary = cluster_metrics_run(&data, &remote, &stage, &["--engine", &engine], "the cluster run");
    assert!(
        summary.contains(&format!("the sources were loaded and the steps ran on the cluster at {engine}")),
        "{summary}"
    );

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

/// Every file of a folder and below, by its path inside it.
fn contents(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|f| (f.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&f).unwrap()))
        .collect()
}

/// Append `lines` to a CSV file.
fn append(file: &Path, lines: &[&str]) {
    let mut text = std::fs::read_to_string(file).unwrap();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(file, text).unwrap();
}

/// Run the metrics into `out` with `args` and the staging folder `stage`: its summary.
fn cluster_metrics_run(data: &Path, out: &Path, stage: &Path, args: &[&str], what: &str) -> String {
    let run = metrics_run(data, out, args).arg("--stage").arg(stage).stdout(Stdio::piped()).spawn().unwrap();
    let output = finish(run, Duration::from_secs(300));
    succeeded(&output, what);
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// The same rejects files in `other` as in `local`, byte for byte: file, place, column, rule and text, in file order.
fn assert_same_rejects(local: &Path, other: &Path, what: &str) {
    let (a, b) = (contents(&local.join("rejects")), contents(&other.join("rejects")));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same rejects files ({what})");
    for (file, bytes) in &a {
        assert!(
            bytes == &b[file],
            "rejects/{} differs ({what}):\n{}\n--- {what}:\n{}",
            file.display(),
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&b[file])
        );
    }
}

#[test]
fn sources_loaded_by_the_executors_give_the_local_rejects_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    // A district's exports with bad rows sprinkled in: each breaks one contract rule.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for f in files_under(&sample_district()) {
        std::fs::copy(&f, data.join(f.file_name().unwrap())).unwrap();
    }
    let services = std::fs::read_to_string(data.join("services.csv")).unwrap();
    let first_service = services.lines().nth(1).unwrap().to_string();
    let middle_service = services.lines().nth(services.lines().count() / 2).unwrap().to_string();
    append(
        &data.join("services.csv"),
        &[
            &first_service,                                                       // duplicate record_id
            &middle_service,                                                      // another, first claimed mid-file
            &first_service,                                                       // the first one again
            "TC01-BAD-1,TC99,2023-03-01,case_session,student,1,,,,TC-W01,30,,",   // unknown school
            "TC01-BAD-2,TC01,2023-02-30,case_session,student,1,,,,TC-W01,30,,",   // not a date
            "TC01-BAD-3,TC01,2023-03-01,dancing,student,1,,,,TC-W01,30,,",        // not a code
            "TC01-BAD-4,TC01,2023-03-01,group_session,student,-3,,,,TC-W01,30,,", // below the minimum
            "TC01-BAD-5,TC01,2023-03-01",                                         // short row
        ],
    );
    append(
        &data.join("cases.csv"),
        &[
            "TC01-C2022-BAD,ZZ01,8f4ebd312d9beac909a477c2e3e2ee35,2022-09-19,2022-09-01,green,green,anxiety,stable,,screening,,,,",
        ],
    );
    append(
        &data.join("screenings.csv"),
        &[
            "TC01-22-BAD01,TC01,2022,TC01-2022-G7-1,16248adfbfb4976b5888144e7ffb333f,2022-09-12,MHT,75,purple,,,,screening,,,,,",
        ],
    );
    let cluster = Cluster::start(dir.path(), 2);
    let (local, remote, stage) = (dir.path().join("local"), dir.path().join("cluster"), dir.path().join("stage"));
    succeeded(&metrics_run(&data, &local, &[]).output().unwrap(), "the local run");
    let engine = cluster.engine();
    let summary = cluster_metrics_run(&data, &remote, &stage, &["--engine", &engine], "the cluster run");
    assert!(summary.contains("the sources were loaded and the steps ran on the cluster"), "{summary}");

    // The same rejects, byte for byte: file, place, column, rule and text, in file order.
    let a = contents(&local.join("rejects"));
    let names: Vec<&PathBuf> = a.keys().collect();
    for table in ["services.csv", "cases.csv", "screenings.csv"] {
        assert!(a.contains_key(Path::new(table)), "the local run rejected rows of {table}: {names:?}");
    }
    let services_rejects = String::from_utf8_lossy(&a[Path::new("services.csv")]).to_string();
    for rule in ["duplicate record_id", "TC99", "2023-02-30", "dancing", "-3"] {
        assert!(services_rejects.contains(rule), "{rule} is in the rejects: {services_rejects}");
    }
    assert_same_rejects(&local, &remote, "the cluster run");
    // The same counts and the same figures.
    let manifest = |out: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest-metrics.json")).unwrap()).unwrap()
    };
    let counts = |m: &serde_json::Value| -> Vec<(String, u64, u64, u64)> {
        m["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let n = |k: &str| s[k].as_u64().unwrap();
                (s["name"].as_str().unwrap().to_string(), n("rows_read"), n("rows_loaded"), n("rows_rejected"))
            })
            .collect()
    };
    let (local_counts, remote_counts) = (counts(&manifest(&local)), counts(&manifest(&remote)));
    assert!(local_counts.iter().any(|(name, _, _, rejected)| name == "services" && *rejected == 8), "{local_counts:?}");
    assert_eq!(local_counts, remote_counts);
    let (a, b) =
        (std::fs::read(local.join("metrics.csv")).unwrap(), std::fs::read(remote.join("metrics.csv")).unwrap());
    assert!(a == b, "the cluster's metrics.csv differs from the local one");
    assert_eq!(std::fs::read_dir(&stage).unwrap().count(), 0, "the staging folder was left behind");

    // The large files read in parts of 1 MiB (services in 3, screenings in 13), the
    // duplicates found across them by the cluster: the same rejects, counts and figures.
    let parts = dir.path().join("cluster-parts");
    let summary = cluster_metrics_run(
        &data,
        &parts,
        &stage,
        &["--engine", &engine, "--load-part-size", "1M"],
        "the cluster run in parts",
    );
    assert!(summary.contains("large files read in parts side by side: services (3), screenings (13)"), "{summary}");
    assert_same_rejects(&local, &parts, "the cluster run in parts");
    assert_eq!(local_counts, counts(&manifest(&parts)));
    let (a, c) = (std::fs::read(local.join("metrics.csv")).unwrap(), std::fs::read(parts.join("metrics.csv")).unwrap());
    assert!(a == c, "the metrics differ when the sources are read in parts");
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
    let mut cluster = Cluster::start_with(dir.path(), 1, 1, None, &[]);
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

/// `sunward cluster cert` into `dir/NAME`: the member folder.
fn make_credential(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let made = Command::new(BIN)
        .args(["cluster", "cert", "--host", "127.0.0.1", "--days", "30", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    succeeded(&made, "cluster cert");
    out.join("member")
}

/// A TLS handshake with the process at `port` trusting `member`'s CA, showing
/// `member`'s certificate or none, then one byte each way: the error, if any.
/// (rustls on *ring*, as the cluster uses it; see sunward_cluster::tls.)
#[allow(deprecated)]
fn handshake(port: u16, member: &Path, show_certificate: bool) -> Result<rustls::ProtocolVersion, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use std::io::{Read, Write};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(member.join("ca.pem")).unwrap() {
        roots.add(ca.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = if show_certificate {
        let certs = CertificateDer::pem_file_iter(member.join("member.pem")).unwrap().map(|c| c.unwrap()).collect();
        builder.with_client_auth_cert(certs, PrivateKeyDer::from_pem_file(member.join("member.key")).unwrap()).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
    let mut connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut stream = rustls::Stream::new(&mut connection, &mut socket);
    // The HTTP/2 preface: a server that admits the client answers with its settings.
    stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").map_err(|e| e.to_string())?;
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(n) if n > 0 => Ok(connection.protocol_version().expect("a finished handshake")),
        Ok(_) => Err("closed".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn a_cluster_with_tls_gives_the_local_figures_and_admits_its_members_only() {
    let dir = tempfile::tempdir().unwrap();
    let member = make_credential(dir.path(), "certs");
    let shared = dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let root = shared.display().to_string();
    let cluster = Cluster::start_with(dir.path(), 1, 2, Some(&member), &["--data-root", &root]);
    let data = sample_district();
    // The project and its data in the shared folder, as every machine of the cluster sees them.
    let project = shared.join("project/pipelines");
    std::fs::create_dir_all(project.join("functions")).unwrap();
    let pipelines = Path::new(&pipeline()).parent().unwrap().to_path_buf();
    std::fs::copy(pipelines.join("metrics.yaml"), project.join("metrics.yaml")).unwrap();
    std::fs::copy(pipelines.join("functions/rates.yaml"), project.join("functions/rates.yaml")).unwrap();
    let shared_data = shared.join("data");
    std::fs::create_dir_all(&shared_data).unwrap();
    for f in files_under(&data) {
        std::fs::copy(&f, shared_data.join(f.file_name().unwrap())).unwrap();
    }
    let shared_pipeline = project.join("metrics.yaml");
    let (local, remote) = (dir.path().join("local"), dir.path().join("cluster"));
    succeeded(&metrics_run(&data, &local, &["--quiet"]).output().unwrap(), "the local run");
    let engine = cluster.engine();
    let tls = member.display().to_string();
    let run = metrics_run_of(
        &shared_pipeline,
        &shared_data,
        &remote,
        &["--quiet", "--engine", &engine, "--cluster-tls", &tls],
    )
    .arg("--stage")
    .arg(shared.join("stage"))
    .spawn()
    .unwrap();
    succeeded(&finish(run, Duration::from_secs(300)), "the run over TLS");
    // A run staged outside the cluster's data folder: its queries would read files
    // there, and the scheduler refuses them, whoever sends them.
    let outside = metrics_run_of(
        &shared_pipeline,
        &shared_data,
        &dir.path().join("outside"),
        &["--engine", &engine, "--cluster-tls", &tls],
    )
    .arg("--stage")
    .arg(dir.path().join("elsewhere"))
    .output()
    .unwrap();
    assert_eq!(outside.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert!(stderr.contains("outside the folders this cluster may read"), "{stderr}");
    assert!(!dir.path().join("outside/metrics.csv").exists());
    // Sources outside it: the executors would read them, and the scheduler refuses that too.
    let outside = metrics_run(&data, &dir.path().join("outside-data"), &["--engine", &engine, "--cluster-tls", &tls])
        .arg("--stage")
        .arg(shared.join("stage"))
        .output()
        .unwrap();
    assert_eq!(outside.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert!(
        stderr.contains("loading the run's sources reads")
            && stderr.contains("outside the folders this cluster may read"),
        "{stderr}"
    );
    assert!(!dir.path().join("outside-data/metrics.csv").exists());
    assert!(
        std::fs::read(local.join("metrics.csv")).unwrap() == std::fs::read(remote.join("metrics.csv")).unwrap(),
        "the cluster's metrics.csv over TLS differs from the local one"
    );

    // A run without the credential is refused before any source is read.
    let refused = metrics_run(&data, &dir.path().join("plain"), &["--engine", &engine]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("a cluster started with --tls admits its members only") && stderr.contains("--cluster-tls"),
        "{stderr}"
    );
    assert!(!dir.path().join("plain/metrics.csv").exists());

    // Another cluster's credential: its CA does not sign this scheduler's certificate.
    let other = make_credential(dir.path(), "other");
    let refused = metrics_run(&data, &dir.path().join("other-run"), &["--engine", &engine, "--cluster-tls"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not one this credential trusts"), "{stderr}");

    // An expired member certificate, signed by the right CA: the scheduler refuses it.
    let expired = dir.path().join("expired");
    std::fs::create_dir_all(&expired).unwrap();
    std::fs::copy(member.join("ca.pem"), expired.join("ca.pem")).unwrap();
    let ca_key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(dir.path().join("certs/ca.key")).unwrap()).unwrap();
    // The CA as `sunward cluster cert` names it: its certificates name it as their issuer.
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca.distinguished_name.push(rcgen::DnType::CommonName, "Sunward cluster CA");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.extended_key_usages =
        vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    std::fs::write(expired.join("member.pem"), params.signed_by(&key, &issuer).unwrap().pem()).unwrap();
    std::fs::write(expired.join("member.key"), key.serialize_pem()).unwrap();
    let refused = metrics_run(&data, &dir.path().join("expired-run"), &["--engine", &engine, "--cluster-tls"])
        .arg(&expired)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    // The alert may or may not reach the client before the connection closes (TLS 1.3).
    assert!(
        stderr.contains("refused this member's certificate: it has expired")
            || stderr.contains("does not accept this member's certificate (expired"),
        "{stderr}"
    );
    let log = std::fs::read_to_string(dir.path().join("scheduler.log")).unwrap();
    assert!(log.contains("scheduler: refused a connection") && log.contains("certificate expired"), "{log}");

    // The executor's data service (where results and stage data are fetched):
    // a handshake without a certificate is refused; with the member's it is
    // TLS 1.3, so nothing passes in the clear.
    let executor_log = std::fs::read_to_string(dir.path().join("executor1.log")).unwrap();
    let data_port: u16 = std::fs::read_to_string(dir.path().join("executor1.log"))
        .unwrap()
        .lines()
        .find_map(|l| l.split("data on 127.0.0.1:").nth(1)?.split(',').next()?.parse().ok())
        .unwrap_or_else(|| panic!("the executor's data port in its log:\n{executor_log}"));
    assert!(handshake(data_port, &member, false).is_err(), "a fetch without the credential was served");
    assert_eq!(handshake(data_port, &member, true), Ok(rustls::ProtocolVersion::TLSv1_3));
    let plain = std::net::TcpStream::connect(("127.0.0.1", data_port)).and_then(|mut s| {
        use std::io::{Read, Write};
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")?;
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        Ok(answer)
    });
    assert!(!plain.unwrap().starts_with(&[0, 0]), "the data service answered plain HTTP/2");

    // An executor without the credential does not join: the scheduler refuses it.
    let scheduler_log = || std::fs::read_to_string(dir.path().join("scheduler.log")).unwrap();
    let joined = |log: &str| log.matches("Received register executor request").count();
    let before = joined(&scheduler_log());
    let stranger_port = free_port();
    let mut stranger = Command::new(BIN)
        .env_remove("SUNWARD_CLUSTER_TLS")
        .args(["cluster", "executor", "--scheduler", &format!("127.0.0.1:{}", cluster.scheduler)])
        .args(["--bind", &format!("127.0.0.1:{stranger_port}"), "--heartbeat", "1", "--work-dir"])
        .arg(dir.path().join("stranger"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !scheduler_log().contains("refused a connection") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let _ = stranger.kill();
    let _ = stranger.wait();
    let log = scheduler_log();
    assert!(log.contains("scheduler: refused a connection"), "{log}");
    assert_eq!(joined(&log), before, "an executor without the credential registered:\n{log}");
}

#[test]
fn nothing_listens_on_a_network_address_without_tls_unless_told() {
    for args in [
        vec!["cluster", "scheduler", "--bind", "0.0.0.0:1"],
        vec!["cluster", "executor", "--bind", "0.0.0.0:1", "--scheduler", "127.0.0.1:2"],
        vec!["cluster", "executor", "--scheduler", "10.255.255.1:2"],
    ] {
        let output = Command::new(BIN).env_remove("SUNWARD_CLUSTER_TLS").args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("is a network address, and this process has no cluster credential"), "{stderr}");
        assert!(stderr.contains("--insecure"), "{stderr}");
    }
    // Told, it listens (and says who can read what passes).
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = dir.path().join("insecure.log");
    let mut child = Command::new(BIN)
        .env_remove("SUNWARD_CLUSTER_TLS")
        .args(["cluster", "scheduler", "--insecure", "--bind", &format!("0.0.0.0:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for(port, Duration::from_secs(30), "insecure scheduler", &log);
    let _ = child.kill();
    let _ = child.wait();
    assert!(std::fs::read_to_string(&log).unwrap().contains("WITHOUT TLS (--insecure)"));
}

/// The `command:` lists of a compose file, each as its arguments.
fn compose_commands(text: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("command: [") {
        let after = &rest[start + "command: [".len()..];
        let end = after.find(']').expect("a command list ends");
        let args =
            after[..end].split(',').map(|a| a.trim().trim_matches('"').to_string()).filter(|a| !a.is_empty()).collect();
        commands.push(args);
        rest = &after[end..];
    }
    commands
}

#[test]
fn the_compose_file_starts_every_process_with_tls_and_arguments_the_binary_takes() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/compose/compose.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let commands = compose_commands(&text);
    assert_eq!(commands.len(), 3, "a scheduler and two executors: {commands:?}");
    assert!(text.contains("SUNWARD_CLUSTER_TLS: /etc/sunward/tls"), "every process has the credential");
    assert!(commands[0].windows(2).any(|w| w[0] == "--data-root"), "the scheduler reads only the shared folder");
    let dir = tempfile::tempdir().unwrap();
    for args in &commands {
        // Without the credential's files each stops before listening, after its
        // arguments were taken: a wrong flag would be a usage error instead.
        let output =
            Command::new(BIN).args(args).env("SUNWARD_CLUSTER_TLS", dir.path().join("no-credential")).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("Usage:") && !stderr.contains("unexpected argument"), "{args:?}: {stderr}");
        assert!(stderr.contains("the cluster credential is incomplete"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_parquet_source_read_in_place_by_an_executor_gives_the_local_table() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = Command::new(BIN)
        .args(["datagen", "--preset", "custom", "--schools", "12", "--service-rows", "20000", "--format", "parquet"])
        .arg("--out")
        .arg(&data)
        .arg("--quiet")
        .output()
        .unwrap();
    succeeded(&made, "datagen");
    let cluster = Cluster::start(dir.path(), 2);
    let pipeline = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/groupby.yaml");
    let run = |engine: &str, out: &Path| {
        let output = Command::new(BIN)
            .args(["run", &pipeline.display().to_string(), "--no-cache", "--engine", engine])
            .args(if out.ends_with("cluster-parts") { &["--load-part-size", "64K"][..] } else { &[] })
            .arg("--set")
            .arg(format!("data_dir={}", data.display()))
            .arg("--out")
            .arg(out)
            .arg("--stage")
            .arg(dir.path().join("stage"))
            .env_remove("SUNWARD_ENGINE")
            .env_remove("SUNWARD_CLUSTER_TLS")
            .output()
            .unwrap();
        succeeded(&output, engine);
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let (local, remote) = (dir.path().join("local"), dir.path().join("cluster"));
    run("local", &local);
    let summary = run(&cluster.engine(), &remote);
    // The executor found every row as stored: the file itself is the table.
    assert!(summary.contains("services: loaded 20000 rows, rejected 0"), "{summary}");
    assert!(summary.contains("read where it lies (no copy): services"), "{summary}");
    assert!(summary.contains("the sources were loaded and the steps ran on the cluster"), "{summary}");
    let (a, b) = (
        std::fs::read(local.join("by_school_and_type.csv")).unwrap(),
        std::fs::read(remote.join("by_school_and_type.csv")).unwrap(),
    );
    assert!(a.len() > 1000 && a == b, "the cluster's table differs from the local one");
    // Read in parts of 64 KiB (its row groups shared among them), every part
    // passed as stored: the file is still the table itself.
    let parts = dir.path().join("cluster-parts");
    let summary = run(&cluster.engine(), &parts);
    assert!(summary.contains("large files read in parts side by side: services ("), "{summary}");
    assert!(summary.contains("read where it lies (no copy): services"), "{summary}");
    assert!(std::fs::read(parts.join("by_school_and_type.csv")).unwrap() == a, "the table differs when read in parts");
}
