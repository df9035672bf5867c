//! Snapshots of the sample reports as their readers get them: the HTML file,
//! the PDF's text (`pdftotext -layout`) and the Word file's paragraphs, for
//! the sample organisation's annual review, the district comparison and the
//! government summary, and the public English review. The outputs are
//! deterministic (the report date is a parameter, never the clock), so a
//! change to any page shows here as a diff of its `.snap` file under
//! `tests/snapshots/`. When the change is meant, accept it with
//! `INSTA_UPDATE=always cargo nextest run --workspace -E 'test(/snapshots::/)'`
//! (or `cargo insta review`) and commit the snapshots with the change.

use crate::common::{ok, pdf_text, repo};
use std::io::Read;
use std::path::Path;
use std::process::Command;

fn workflow(pipeline: &str, out: &Path, sets: &[&str]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sunward"));
    command.current_dir(repo()).args(["run", pipeline, "--quiet", "--out"]).arg(out);
    for set in sets {
        command.args(["--set", set]);
    }
    ok(&command.output().unwrap());
}

/// The paragraphs of a Word file, one a line: the text runs of each `<w:p>`.
fn word_paragraphs(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut xml = String::new();
    archive.by_name("word/document.xml").unwrap().read_to_string(&mut xml).unwrap();
    let mut out = String::new();
    for paragraph in xml.split("</w:p>") {
        let mut line = String::new();
        // A text run opens `<w:t>` or `<w:t xml:space="preserve">` (not `<w:tbl…>` or `<w:tc…>`).
        for run in paragraph.split("<w:t").skip(1) {
            let Some((attributes, rest)) = run.split_once('>') else { continue };
            if !(attributes.is_empty() || attributes.starts_with(' ')) {
                continue;
            }
            line.push_str(rest.split("</w:t>").next().unwrap_or(""));
        }
        if !line.is_empty() {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn the_sample_reports_as_readers_get_them() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    workflow("pipelines/project.yaml", &project, &[]);
    let district = dir.path().join("taicang");
    workflow("pipelines/district.yaml", &district, &[]);
    let public_en = dir.path().join("public-en");
    workflow("pipelines/project.yaml", &public_en, &["audience=public", "lang=en"]);

    let review = project.join("annual-review_2025_KS-ORG1");
    let comparison = district.join("district-comparison_AY2024_320585");
    let summary = district.join("government-summary_AY2024_320585");
    let read = |base: &Path, ext: &str| std::fs::read_to_string(base.with_extension(ext)).unwrap();
    let pdf = |base: &Path| pdf_text(&base.with_extension("pdf"));
    let word = |base: &Path| word_paragraphs(&base.with_extension("docx"));

    snapshot("annual_review_org_html", &read(&review, "html"));
    snapshot("annual_review_org_pdf", &pdf(&review));
    snapshot("annual_review_org_docx", &word(&review));
    snapshot("annual_review_school_pdf", &pdf(&project.join("annual-review_2025_KS01")));
    snapshot("annual_review_org_public_en_pdf", &pdf(&public_en.join("annual-review_2025_KS-ORG1")));
    snapshot("district_comparison_html", &read(&comparison, "html"));
    snapshot("district_comparison_pdf", &pdf(&comparison));
    snapshot("government_summary_html", &read(&summary, "html"));
    snapshot("government_summary_pdf", &pdf(&summary));
    snapshot("government_summary_docx", &word(&summary));
}
