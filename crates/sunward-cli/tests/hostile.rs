//! Hostile and careless inputs, each reproduced as a user would meet it:
//! output paths that try to leave `--out` (from the pipeline, from `--set`,
//! through a symbolic link), sums that would wrap, and data that tries to
//! rewrite a report's structure. Each must end in a clear error or the
//! right result, with no file written outside the output folder.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{ok, repo};

fn sunward(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(dir).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// A pipeline that copies the tiny fixture's schools to `path`.
fn copy_schools(dir: &Path, path: &str) -> std::path::PathBuf {
    let schools = repo().join("crates/sunward-cli/tests/fixtures/tiny/schools.csv");
    let pipeline = dir.join("p.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "name: p\nparams:\n  tag: {{type: string, default: a}}\nsources:\n  schools: {{plugin: csv, path: \"{}\", contract: schools}}\n\
             outputs:\n  copy: {{plugin: csv, table: schools, path: \"{path}\"}}\n",
            schools.display()
        ),
    )
    .unwrap();
    pipeline
}

#[test]
fn output_paths_stay_inside_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // A planted link inside the output folder that leads out of it.
    let out = work.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("link")).unwrap();
    let escape = format!("{}/x.csv", outside.display());
    let cases: [(&str, &[&str], &str); 5] = [
        ("../../outside/x.csv", &[], "climbs out of the output folder"),
        (&escape, &[], "is absolute"),
        ("out_${tag}.csv", &["--set", "tag=/../../../outside/x"], "climbs out of the output folder"),
        ("link/x.csv", &[], "symbolic link"),
        ("a/../../x.csv", &[], "climbs out of the output folder"),
    ];
    for (path, extra, why) in cases {
        let pipeline = copy_schools(&work, path);
        let p = pipeline.to_str().unwrap();
        for command in ["validate", "run"] {
            // (validate checks against the default output folder, `out`.)
            let mut args = if command == "run" { vec![command, p, "--out", "out"] } else { vec![command, p] };
            args.extend_from_slice(extra);
            let output = sunward(&work, &args);
            assert_eq!(output.status.code(), Some(2), "{command} {path}: {}", stderr(&output));
            let err = stderr(&output);
            assert!(err.contains(why) && err.contains("--out"), "{command} {path}: {err}");
        }
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "a file was written outside --out");
    assert!(!dir.path().join("x.csv").exists());
    // A path that climbs within the folder is fine.
    let pipeline = copy_schools(&work, "a/../inside.csv");
    ok(&sunward(&work, &["run", pipeline.to_str().unwrap(), "--out", "out", "--quiet"]));
    assert!(out.join("inside.csv").is_file());
}
