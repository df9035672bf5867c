//! Writes the sample reports as PDF and HTML into a folder, for looking at
//! a layout change: `cargo run -p sunward-render --example render -- /tmp/out`.

use sunward_render::{Lang, html, pdf, sample};

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "sunward-samples".into()));
    std::fs::create_dir_all(&dir).expect("cannot create the output folder");
    let font = pdf::load_font().unwrap_or_else(|e| panic!("{e}"));
    for (name, doc) in [
        ("sample-zh", sample::document(Lang::ZhCn)),
        ("sample-en", sample::document(Lang::En)),
        ("long-zh", sample::long_document(Lang::ZhCn)),
        ("long-en", sample::long_document(Lang::En)),
    ] {
        std::fs::write(dir.join(format!("{name}.pdf")), pdf::render(&doc, &font).expect("pdf")).expect("write");
        std::fs::write(dir.join(format!("{name}.html")), html::render(&doc)).expect("write");
    }
    println!("wrote {}", dir.display());
}
