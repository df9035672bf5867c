//! The Word renderer: a `.docx` that an organisation opens in Word or WPS,
//! edits and sends on. Everything a person edits is real Word structure —
//! headings in the built-in Title and Heading 1–3 styles (so the navigation
//! pane and a generated table of contents work), real tables whose header
//! row repeats on every page (`w:tblHeader`) and whose rows never split
//! (`w:cantSplit`), captions in the Caption style kept with what they
//! caption, notes in a smaller Note style, page numbers as a `PAGE` field
//! centred in the footer, Chinese text in an East Asian font
//! (`w:rFonts w:eastAsia`) with the document's language declared.
//!
//! How it is made, and why:
//! - **The OOXML is written here, zipped with the `zip` crate** (Deflate
//!   through flate2, which the PDF renderer's lopdf already builds). A docx
//!   library such as `docx-rs` was weighed and not taken: it gives every
//!   paragraph a `w14:paraId` from a global (in newer releases thread-local)
//!   counter that only a manual reset rewinds, so two renders of the same
//!   document differ — the trap printpdf set for the PDF — and it brings an
//!   image decoder and serde models of every part while `tblHeader`,
//!   `cantSplit` and a footer field are a few attributes each. The ten parts
//!   a report needs are a few hundred lines of plain strings, each element
//!   in the order the schema asks for, every text escaped ([`esc`]).
//! - **Charts are native Word charts** (`charts`): a DrawingML chart part
//!   per figure with its categories, values and labels cached in it, and an
//!   embedded workbook with the same numbers, written with `rust_xlsxwriter`
//!   (already in the workspace for the xlsx sink). Native, not
//!   pictures, because the report is edited before it goes out: the director
//!   corrects a figure in 编辑数据 / "Edit Data" and the chart follows, and
//!   the chart's text stays text (searchable, readable aloud). Word, WPS and
//!   LibreOffice draw the chart from the cached values without opening the
//!   workbook. Each chart is as wide and as tall as the PDF's, with the
//!   chart's text summary as its alt text.
//! - **Byte-identical output.** No clock, no counters, no random ids: zip
//!   entries carry the DOS epoch (1980-01-01) and fixed permissions, the
//!   core properties carry the title and the document's own `generated`
//!   date and no author, and every id is counted from the document's own
//!   blocks (chart 1, chart 2, …). The charts' workbooks carry the document's
//!   date as their creation date, not the clock.
//!
//! Bold (`**…**`) is real bold (`w:b`); emphasis is italic in English and
//! emphasis dots (`w:em`) in Chinese; lists are real Word lists
//! (`numbering.xml`, one numbering instance per list so each starts at its
//! own number, with a hanging indent). An official document
//! ([`DocStyle::Official`]) has the GB/T 9704-2012 page and head (red
//! authority mark, document number, red rule as a paragraph border), the
//! signature and date at the end, and `— PAGE —` in the footer of every page.
//!
//! Layout follows the PDF: A4, a title page (title, subtitle, organisation,
//! period, date) without a page number, then the blocks; table captions and
//! figure captions above what they caption; key figures as a borderless
//! full-width grid of tinted tiles, at most three to a row, rows even.
//!
//! The parts: `xml` holds the basics (fonts, measures, escaping, runs and
//! paragraphs), `package` the package's own parts, `styles` the style
//! sheet and list numbering, `page` footers and sections, `body` the
//! document's blocks, `table` tables and tiles, `official` an official
//! document's frame, `frames` and `charts` the native charts.

mod body;
mod charts;
mod error;
mod frames;
mod official;
mod package;
mod page;
mod styles;
mod table;
mod xml;

use std::io::Write as _;

pub use error::DocxError;
pub use xml::{EAST_ASIAN_FONT, LATIN_FONT, esc};

use crate::document::{DocStyle, Document};
use body::document_xml;
use frames::chart_frames;
use package::{content_types, core_properties, document_rels, font_table, package_rels, settings};
use page::{Side, empty_footer, footer, official_footer};
use styles::{numbering, styles};

/// Renders a document to the bytes of a `.docx` file. No font is needed:
/// charts are native Word charts, whose text the word processor sets in
/// [`EAST_ASIAN_FONT`] like the rest of the document.
pub fn render(doc: &Document) -> Result<Vec<u8>, DocxError> {
    if let Err(errors) = doc.check() {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        return Err(DocxError(format!("the document is not valid: {}", list.join("; "))));
    }
    let frames = chart_frames(doc)?;
    let official = doc.meta.style == DocStyle::Official;
    // An official document numbers odd pages on the right (footer1) and even pages on the
    // left (footer2); any other has footer1 on every page but the first, which has footer2.
    let (footer1, footer2) = if official {
        (official_footer(Side::Right), official_footer(Side::Left))
    } else {
        (footer(doc.lang, doc.meta.marking.as_deref()), empty_footer())
    };
    let mut parts: Vec<(String, Vec<u8>)> = vec![
        ("[Content_Types].xml".into(), content_types(&frames).into_bytes()),
        ("_rels/.rels".into(), package_rels().into_bytes()),
        ("docProps/core.xml".into(), core_properties(doc).into_bytes()),
        ("word/document.xml".into(), document_xml(doc, &frames).into_bytes()),
        ("word/_rels/document.xml.rels".into(), document_rels(&frames).into_bytes()),
        ("word/styles.xml".into(), styles(doc.lang, official).into_bytes()),
        ("word/numbering.xml".into(), numbering(doc, official).into_bytes()),
        ("word/settings.xml".into(), settings(doc.lang, official).into_bytes()),
        ("word/fontTable.xml".into(), font_table().into_bytes()),
        ("word/footer1.xml".into(), footer1.into_bytes()),
        ("word/footer2.xml".into(), footer2.into_bytes()),
    ];
    for frame in frames.into_iter().flatten() {
        let n = frame.n;
        parts.push((format!("word/charts/chart{n}.xml"), frame.part.xml.into_bytes()));
        parts.push((format!("word/charts/_rels/chart{n}.xml.rels"), charts::part_rels(n).into_bytes()));
        parts.push((format!("word/embeddings/{}", charts::workbook_name(n)), frame.part.workbook));
    }
    zip_parts(&parts)
}

/// Writes the parts into a zip in the given order, deterministically.
fn zip_parts(parts: &[(String, Vec<u8>)]) -> Result<Vec<u8>, DocxError> {
    use zip::write::SimpleFileOptions;
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let fail = |e: &dyn std::fmt::Display| DocxError(format!("cannot write the docx package: {e}"));
    for (name, bytes) in parts {
        zip.start_file(name.as_str(), options).map_err(|e| fail(&e))?;
        zip.write_all(bytes).map_err(|e| fail(&e))?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}

#[cfg(test)]
mod tests;
