//! The PDF renderer, on genpdf 0.2: A4, a title page (or, for a short
//! document, a title block at the top of page 1 — [`Meta::compact`](crate::document::Meta::compact)),
//! headings, wrapped paragraphs, key-figure tiles, tables whose numbers are
//! right-aligned, vector charts, a header and footer with the page number,
//! and an outline of the level 1 and 2 headings.
//!
//! **Pagination.** genpdf places each element only after drawing it, so it
//! cannot keep one thing with the next. The body is therefore one genpdf
//! element (`Flow`) that lays out its own pieces, each of which can say
//! beforehand how much room its first unbreakable part needs: a heading or
//! a table caption never ends a page without what follows it, a figure's
//! caption never leaves its chart, paragraphs leave no single line on either
//! side of a break, a table breaks only between rows, with at least two
//! rows on each side (never the totals row alone; a table of six rows or
//! fewer moves whole), and every page a table continues on starts with a
//! continued caption ([`continued_caption`]: `续表2 …`, `Table 2 (continued) …`)
//! and the header row. Text is wrapped by the renderer itself
//! ([`tokens`] and genpdf's font metrics), so its height is known before
//! it is drawn.
//!
//! How it deals with genpdf's limits:
//! - **Chinese line breaking.** genpdf breaks lines only at spaces and drops a
//!   word wider than the line, so text is pushed as one word per CJK
//!   character, with closing punctuation glued to the character before it and
//!   opening punctuation to the one after ([`tokens`]); overlong Latin words
//!   are cut into pieces.
//! - **Size and searchable text.** genpdf embeds its font whole (4.6 MB), so
//!   the renderer first subsets the font to the document's characters
//!   ([`crate::subset`]) — which also makes the PDF's `ToUnicode` map hold
//!   exactly the characters written, so `pdftotext` finds "2024年度". Only
//!   the regular face is embedded; the bold and italic slots genpdf insists
//!   on point at a built-in PDF font (Helvetica, no Chinese) and are never
//!   used. Headings differ by size and colour; strong text (`**…**`) is
//!   printed in the same font in a near-black and drawn bold by
//!   `restyle_text` (text render mode 2: fill, then stroke the outlines), so it
//!   reads as bold and its text is in the file once.
//! - **Official documents** ([`DocStyle::Official`]) take the page of
//!   GB/T 9704-2012 (a 156 × 225 mm text area, 三号 body text with a
//!   two-character indent, `— 2 —` page numbers on the outer edge, no header) and open with
//!   the red authority mark and rule instead of a title page.
//! - **Byte-identical output.** printpdf stamps the clock and a
//!   process-global counter into the file, and leaves streams uncompressed in
//!   debug builds; the finished file is therefore rewritten once with lopdf:
//!   every stream Flate-compressed (the font too), the info dictionary set to
//!   the title, creator and producer (`Sunward`) and the document's own
//!   `generated` date, `/Lang` and the outline added to the catalog, the
//!   "Adobe Illustrator 14.0" creator printpdf writes into its layers'
//!   usage dictionary dropped, and the file `/ID` derived from the content.
//! - **Charts** are drawn from the same layout as the SVG ([`crate::plot`])
//!   with genpdf's lines and strings: genpdf cannot fill shapes or set line
//!   widths, so bars, bands and dots are hatched with hairlines 0.3 mm apart —
//!   vector, sharp in print, and a few kilobytes each, where a raster image
//!   would cost tens.
//!
//! The font comes from [`find_font`]: `SUNWARD_FONT`, or the file that
//! `scripts/prepare-fonts.sh` writes to `assets/fonts/wqy-microhei.ttf`.
//!
//! The parts: `fonts` finds and subsets the faces, `breaking` says
//! where text may break, `flow` places pieces page by page, `text`,
//! `tiles`, `table` and `chart` are the pieces of the blocks,
//! `official` draws an official document's frame, `page` the title
//! block and every page's header and footer, `body` turns the document
//! into pieces, and `finish` rewrites the file deterministically.

mod body;
mod breaking;
mod chart;
mod error;
mod finish;
mod flow;
mod fonts;
mod official;
mod page;
mod style;
mod table;
mod text;
mod tiles;

use std::collections::BTreeSet;
use std::rc::Rc;

pub use breaking::tokens;
pub use error::PdfError;
pub use fonts::{FONT_ASSET, FONT_ENV, OfficialFaces, find_font, load_font};
pub use table::continued_caption;

use crate::document::{Block, DocStyle, Document, Lang};
use crate::plot::{self, Plot};
use flow::Shared;
use official::OfficialType;
use page::Decorator;
use style::{CONTENT_BOTTOM, OFFICIAL_BOTTOM};

/// Renders a document to PDF bytes with the given TrueType font (the whole
/// font; it is subset here). An official document is set in this one face
/// too; [`render_with`] gives it its own.
pub fn render(doc: &Document, font: &[u8]) -> Result<Vec<u8>, PdfError> {
    render_with(doc, font, None)
}

/// [`render`], with the faces of an official document (GB/T 9704-2012):
/// 仿宋 body, 小标宋 title, 黑体 and 楷体 headings ([`OfficialFaces`]).
/// Other documents ignore them.
pub fn render_with(doc: &Document, font: &[u8], faces: Option<&OfficialFaces>) -> Result<Vec<u8>, PdfError> {
    if let Err(errors) = doc.check() {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        return Err(PdfError(format!("the document is not valid: {}", list.join("; "))));
    }
    let plots = chart_layouts(doc);
    let chars = fonts::used_chars(doc, &plots);
    let mut pdf = new_pdf(doc, font, &chars)?;
    let official = doc.meta.style == DocStyle::Official;
    // The Chinese faces' Latin letters are a typewriter's: an English edition keeps the report face.
    let faces = faces.filter(|_| doc.lang == Lang::ZhCn);
    let types = if official { Some(OfficialType::new(&mut pdf, faces, &chars)?) } else { None };
    let shared =
        Rc::new(Shared { bottom: if official { OFFICIAL_BOTTOM } else { CONTENT_BOTTOM }, ..Shared::default() });
    pdf.set_page_decorator(Decorator::new(doc, shared.clone(), types.as_ref().map(|t| t.numbers)));
    pdf.push(body::body_flow(doc, plots, types.as_ref(), &shared));
    let mut raw = Vec::new();
    pdf.render(&mut raw)?;
    let marks = shared.marks.borrow().clone();
    finish::finish(raw, doc, &marks)
}

/// Each block's chart laid out ([`crate::plot`]), `None` for a block without one.
fn chart_layouts(doc: &Document) -> Vec<Option<Plot>> {
    doc.blocks
        .iter()
        .map(|b| match b {
            Block::Figure { chart, .. } => Some(plot::layout(chart, doc.lang)),
            _ => None,
        })
        .collect()
}

/// A genpdf document in the report face subset to `chars`: A4, 10 pt type.
fn new_pdf(doc: &Document, font: &[u8], chars: &BTreeSet<char>) -> Result<genpdf::Document, PdfError> {
    let mut pdf = genpdf::Document::new(fonts::family(crate::subset::subset(font, chars)?)?);
    pdf.set_title(doc.title.clone());
    pdf.set_minimal_conformance();
    pdf.set_paper_size(genpdf::PaperSize::A4);
    pdf.set_font_size(10);
    pdf.set_line_spacing(1.45);
    Ok(pdf)
}
