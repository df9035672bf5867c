//! Writes the sample report as HTML and PDF, in Chinese and English:
//! `cargo run -p sunward-render --example sample -- out/sample`
//! (needs the font from `scripts/prepare-fonts.sh`).

use std::path::PathBuf;

use sunward_render::{Lang, html, pdf, sample};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "out/sample".into()));
    std::fs::create_dir_all(&dir)?;
    let font = pdf::load_font()?;
    for (lang, name) in [(Lang::ZhCn, "sample-zh"), (Lang::En, "sample-en")] {
        let doc = sample::document(lang);
        std::fs::write(dir.join(format!("{name}.html")), html::render(&doc))?;
        let start = std::time::Instant::now();
        let bytes = pdf::render(&doc, &font)?;
        std::fs::write(dir.join(format!("{name}.pdf")), &bytes)?;
        println!("{name}.pdf: {} bytes in {:?}", bytes.len(), start.elapsed());
    }
    println!("wrote {}", dir.display());
    Ok(())
}
