//! Helpers shared by the renderer's test files: LibreOffice's conversion of
//! a Word file, the way a reader who opens it meets it.

#![allow(dead_code)] // each test file uses a subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Converts `docx` to `format` (`pdf`, `odt`) with LibreOffice, in a fresh
/// user profile so that tests running side by side (and a desktop
/// LibreOffice) never share one.
pub fn soffice_convert(docx: &Path, dir: &Path, format: &str) -> PathBuf {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let profile = std::env::temp_dir().join(format!(
        "sunward-soffice-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let out = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", format, "--outdir"])
        .arg(dir)
        .arg(docx)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run soffice ({e}): LibreOffice Writer is needed to check the Word reports; \
                 run scripts/prepare-fonts.sh, which installs libreoffice-writer-nogui"
            )
        });
    let _ = std::fs::remove_dir_all(&profile);
    let converted = dir.join(docx.with_extension(format).file_name().unwrap());
    assert!(
        out.status.success() && converted.is_file(),
        "soffice did not convert {}: {}{}",
        docx.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    converted
}
