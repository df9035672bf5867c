//! The README's commands, run as written and in order — every ```sh block
//! but the two setup commands (`./setup.sh`, which this test's build comes
//! from, and `cargo nextest`, which runs this test) — by bash, with `sunward`
//! on the PATH as `./setup.sh` puts it there, in a scratch copy of the
//! repository (its pipelines, templates and sample data), so they write
//! their `out/` there. The README's example pipeline is checked to be one
//! that runs and writes what the README says. The README links only inside
//! the repository.

use crate::common;

use common::{fenced_blocks, ok, repo};
use std::path::Path;
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn the_readme_commands_run_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut script = String::from("set -euo pipefail\n");
    let mut setup_commands = 0;
    for block in fenced_blocks(&readme, "sh") {
        for line in block.lines() {
            if line.starts_with("./setup.sh") || line.starts_with("cargo ") {
                setup_commands += 1;
                continue;
            }
            script.push_str(line);
            script.push('\n');
        }
    }
    assert_eq!(setup_commands, 2, "the README's two setup commands");
    assert!(script.contains("sunward run pipelines/district.yaml"), "the README uses the workflow:\n{script}");

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(&repo().join("pipelines"), &root.join("pipelines"));
    copy_dir(&repo().join("report-templates"), &root.join("report-templates"));
    copy_dir(&repo().join("packages"), &root.join("packages"));
    copy_dir(&repo().join("calendars"), &root.join("calendars"));
    std::os::unix::fs::symlink(repo().join("sample-data"), root.join("sample-data")).unwrap();

    let bin = Path::new(env!("CARGO_BIN_EXE_sunward")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(root)
        .env("PATH", path)
        .env_remove("SUNWARD_PSEUDONYM_KEY")
        .output()
        .unwrap();
    ok(&output);
    for file in [
        "out/first/by_school_and_type_2025.csv",
        "out/first/manifest-first.json",
        "out/taicang/manifest-metrics.json",
        "out/taicang/district-comparison_AY2024_320585.pdf",
        "out/taicang/government-summary_AY2024_320585.html",
        "out/qingpu/manifest-government_summary.json",
        "out/project/annual-review_2025_KS-ORG1.pdf",
        "out/project-canonical/services.csv",
        "out/qingpu-loop/crisis-brief_2025-01-31_310118.pdf",
        "out/qingpu-loop/term-screening-public_AY2024-1_QP01.docx",
        "out/qingpu-loop/overdue.xlsx",
    ] {
        assert!(root.join(file).is_file(), "{file} after the README's commands");
    }

    // The README's example pipeline is the shipped first pipeline: it runs
    // and writes the file the README names.
    let yaml = fenced_blocks(&readme, "yaml").into_iter().next().expect("an example pipeline");
    std::fs::write(root.join("pipelines/readme-example.yaml"), yaml).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sunward"))
        .current_dir(root)
        .args(["run", "pipelines/readme-example.yaml", "--quiet", "--out", "example"])
        .output()
        .unwrap();
    ok(&output);
    let warnings = String::from_utf8_lossy(&output.stderr);
    assert!(!warnings.contains("warning"), "the README's pipeline runs without warnings: {warnings}");
    assert!(readme.contains("`by_school_and_type_2025.csv`"));
    assert_eq!(
        std::fs::read(root.join("example/by_school_and_type_2025.csv")).unwrap(),
        std::fs::read(root.join("out/first/by_school_and_type_2025.csv")).unwrap(),
        "the README's pipeline computes what pipelines/first.yaml computes"
    );
}

#[test]
fn the_readme_links_only_inside_the_repository() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    // A `../` path may only climb from pipelines/ back into the repository.
    for (i, _) in readme.match_indices("../") {
        let path: String = readme[i..].chars().take_while(|c| !c.is_whitespace() && !"`)}]\"',".contains(*c)).collect();
        assert!(
            repo().join("pipelines").join(&path).exists(),
            "the README names {path}, which is not in the repository"
        );
    }
    // Every relative link names a file of the repository.
    for (i, _) in readme.match_indices("](") {
        let rest = &readme[i + 2..];
        let target = &rest[..rest.find(')').unwrap()];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        assert!(!target.starts_with("../"), "README links outside the repository: {target}");
        assert!(repo().join(target).exists(), "README links to {target}, which does not exist");
    }
}
