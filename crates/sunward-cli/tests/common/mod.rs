//! Helpers shared by the CLI test files that run shipped pipelines: the
//! repository root, a success check that shows what the command printed,
//! a run of `pipelines/metrics.yaml`, and readers of what a report shows
//! (PDF text, Word text through LibreOffice, the HTML DOM and its tables).

#![allow(dead_code)] // each test file uses a subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `pipelines/` and `sample-data/` are).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A copy of the tiny fixture (`tests/fixtures/tiny`: one district, three
/// schools) in `dir/data`, for a test that changes a file of it.
pub fn tiny_copy(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for entry in std::fs::read_dir(repo().join("crates/sunward-cli/tests/fixtures/tiny")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), data.join(entry.file_name())).unwrap();
    }
    data
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

/// The text of a PDF as `pdftotext -layout` reads it.
pub fn pdf_text(path: &Path) -> String {
    let output = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/prepare-fonts.sh");
    assert!(output.status.success(), "pdftotext {}", path.display());
    String::from_utf8(output.stdout).unwrap()
}

/// The text of a Word file as LibreOffice prints it (to PDF, read with pdftotext).
pub fn docx_text(path: &Path, scratch: &Path) -> String {
    let profile = scratch.join("soffice-profile");
    let outdir = scratch.join("soffice-out");
    std::fs::create_dir_all(&outdir).unwrap();
    let output = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
        .arg(&outdir)
        .arg(path)
        .output()
        .expect("soffice (libreoffice-writer-nogui) is installed by scripts/prepare-fonts.sh");
    let pdf = outdir.join(path.with_extension("pdf").file_name().unwrap());
    assert!(pdf.is_file(), "soffice did not convert {}: {}", path.display(), String::from_utf8_lossy(&output.stderr));
    pdf_text(&pdf)
}

/// The text content of the HTML as headless Chromium builds its DOM.
pub fn chromium_dom(path: &Path) -> String {
    let browser = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("chromium is installed by scripts/prepare-fonts.sh");
    let output = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", path.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The cells of every table row of an HTML document, as text.
pub fn html_rows(html: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for tr in html.split("<tr").skip(1) {
        let tr = tr.split("</tr>").next().unwrap_or("");
        let cells: Vec<String> = tr
            .split("<t")
            .skip(1)
            .filter(|c| c.starts_with('d') || c.starts_with('h'))
            .map(|c| {
                let inner = c.split_once('>').map(|x| x.1).unwrap_or("");
                let inner = inner.split("</t").next().unwrap_or("");
                inner.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").trim().to_string()
            })
            .collect();
        rows.push(cells);
    }
    rows
}

/// The fenced code blocks of a Markdown text whose opening line is ```` ```LANG ````.
pub fn fenced_blocks(text: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_start() == format!("```{lang}") => current = Some(String::new()),
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The settings a shipped report pipeline has no default for (its data, its
/// report date, its texts), as the sample workflows give them, with paths
/// from the repository root: given first, so a test's own `--set` wins.
pub fn sample_settings(pipeline: &str) -> Vec<String> {
    let settings: &[&str] = match pipeline {
        "annual-review.yaml" => {
            &["data_dir=sample-data/project", "report_date=2026-01-20", "texts_dir=pipelines/texts/annual-review"]
        }
        "government-summary.yaml" => {
            &["data_dir=sample-data/taicang", "report_date=2025-10-20", "texts_dir=pipelines/texts/government-summary"]
        }
        "district-comparison.yaml" => &["data_dir=sample-data/taicang", "report_date=2025-10-15"],
        "access.yaml" => &["data_dir=sample-data/project"],
        _ => &[],
    };
    settings.iter().map(|s| s.to_string()).collect()
}
