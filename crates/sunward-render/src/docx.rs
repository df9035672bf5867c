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
//! - **Charts are native Word charts** ([`charts`]): a DrawingML chart part
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

use std::fmt::Write as _;
use std::io::Write as _;

use crate::document::{Align, Block, Cell, DocStyle, Document, Lang, List, Span, Table, Tile, spans_or_plain};
use crate::layout::SMALL_TABLE;
use crate::plot;

mod charts;

/// Why a Word document could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocxError(pub String);

impl std::fmt::Display for DocxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DocxError {}

/// The font Word and WPS use for Chinese text: Microsoft YaHei (微软雅黑),
/// on every Windows since Vista and in WPS; elsewhere the word processor
/// substitutes its own CJK sans. A sans serif, like the PDF's WenQuanYi Micro Hei.
pub const EAST_ASIAN_FONT: &str = "Microsoft YaHei";
/// The font for Latin letters and figures.
pub const LATIN_FONT: &str = "Arial";

/// A4 in twentieths of a point.
const PAGE_W: u32 = 11906;
const PAGE_H: u32 = 16838;
/// Left and right margins (20 mm, as the PDF).
const MARGIN_X: u32 = 1134;
/// The text width in twips.
const TEXT_W: u32 = PAGE_W - 2 * MARGIN_X;
/// An official document's margins (GB/T 9704-2012: left 28 mm, right 26 mm)
/// and text width (156 mm), in twips.
const OFFICIAL_LEFT: u32 = 1588;
const OFFICIAL_RIGHT: u32 = 1474;
const OFFICIAL_TEXT_W: u32 = PAGE_W - OFFICIAL_LEFT - OFFICIAL_RIGHT;

/// The text width of a document's pages, in twips.
fn text_width(doc: &Document) -> u32 {
    if doc.meta.style == DocStyle::Official { OFFICIAL_TEXT_W } else { TEXT_W }
}
/// English Metric Units per millimetre (drawings are sized in EMU).
const EMU_PER_MM: f64 = 36_000.0;
/// The widest a chart is set, in millimetres (as the PDF).
const CHART_MM: f64 = 160.0;

const PRIMARY: &str = "2F6F9F";
const INK: &str = "222222";
const MUTED: &str = "666666";
const RULE: &str = "B0B8C0";
const TILE_FILL: &str = "F3F6F9";
/// The red of an official document's authority mark and rule.
const OFFICIAL_RED: &str = "C00000";
/// An official document's body size (三号, 16 pt) in half-points, and one
/// character's width in twips.
const OFFICIAL_SZ: u32 = 32;
const OFFICIAL_CHAR: u32 = 320;

const NS_W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const NS_R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const REL_BASE: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

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

/// A chart of the document: its chart part and workbook, and how it is placed.
struct ChartFrame {
    /// Its number, from 1 in block order: the part is `word/charts/chart{n}.xml`,
    /// the relationship `rIdChart{n}`, the drawing's id `n`.
    n: usize,
    /// The chart part and the embedded workbook.
    part: charts::ChartPart,
    /// The size on the page, in EMU: as the PDF's chart.
    cx: u64,
    cy: u64,
    /// The alt text: the chart's summary.
    summary: String,
}

impl ChartFrame {
    /// The document's relationship to the chart part.
    fn rel(&self) -> String {
        format!("rIdChart{}", self.n)
    }
}

/// One chart per `Figure` block, in block order (`None` for other blocks).
fn chart_frames(doc: &Document) -> Result<Vec<Option<ChartFrame>>, DocxError> {
    let mut out = Vec::with_capacity(doc.blocks.len());
    let mut n = 0;
    for block in &doc.blocks {
        let Block::Figure { chart, .. } = block else {
            out.push(None);
            continue;
        };
        n += 1;
        // The PDF's layout gives the chart's proportions and its text summary.
        let plot = plot::layout(chart, doc.lang);
        // As wide as the PDF's, or the text if that is narrower (an official page).
        let chart_mm = CHART_MM.min(f64::from(text_width(doc)) * 25.4 / 1440.0);
        let cx = (chart_mm * EMU_PER_MM).round() as u64;
        let cy = (plot.height / plot::WIDTH * chart_mm * EMU_PER_MM).round() as u64;
        let part = charts::chart_part(chart, doc.lang, doc.meta.generated.as_deref())?;
        out.push(Some(ChartFrame { n, part, cx, cy, summary: plot.summary }));
    }
    Ok(out)
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

/// Escapes text for XML content and attribute values, dropping characters
/// XML 1.0 cannot hold (C0 controls other than tab, newline and return;
/// U+FFFE, U+FFFF) so that odd input can never make an unreadable file.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------- package

fn content_types(frames: &[Option<ChartFrame>]) -> String {
    let mut s = String::from(XML_DECL);
    s.push_str(
        "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Default Extension=\"xlsx\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\"/>\
         <Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>\
         <Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/>\
         <Override PartName=\"/word/numbering.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml\"/>\
         <Override PartName=\"/word/settings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml\"/>\
         <Override PartName=\"/word/fontTable.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml\"/>\
         <Override PartName=\"/word/footer1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/>\
         <Override PartName=\"/word/footer2.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/>\
         <Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>",
    );
    for frame in frames.iter().flatten() {
        let _ = write!(
            s,
            "<Override PartName=\"/word/charts/chart{}.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.drawingml.chart+xml\"/>",
            frame.n
        );
    }
    s.push_str("</Types>");
    s
}

fn package_rels() -> String {
    format!(
        "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
         <Relationship Id=\"rId1\" Type=\"{REL_BASE}/officeDocument\" Target=\"word/document.xml\"/>\
         <Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>\
         </Relationships>"
    )
}

fn document_rels(frames: &[Option<ChartFrame>]) -> String {
    let mut s = format!(
        "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
         <Relationship Id=\"rIdStyles\" Type=\"{REL_BASE}/styles\" Target=\"styles.xml\"/>\
         <Relationship Id=\"rIdNumbering\" Type=\"{REL_BASE}/numbering\" Target=\"numbering.xml\"/>\
         <Relationship Id=\"rIdSettings\" Type=\"{REL_BASE}/settings\" Target=\"settings.xml\"/>\
         <Relationship Id=\"rIdFonts\" Type=\"{REL_BASE}/fontTable\" Target=\"fontTable.xml\"/>\
         <Relationship Id=\"rIdFooter\" Type=\"{REL_BASE}/footer\" Target=\"footer1.xml\"/>\
         <Relationship Id=\"rIdFooterFirst\" Type=\"{REL_BASE}/footer\" Target=\"footer2.xml\"/>"
    );
    for frame in frames.iter().flatten() {
        let _ = write!(
            s,
            "<Relationship Id=\"{}\" Type=\"{REL_BASE}/chart\" Target=\"charts/chart{}.xml\"/>",
            frame.rel(),
            frame.n
        );
    }
    s.push_str("</Relationships>");
    s
}

/// Title, subject and language; the dates only when the document gives one
/// (`generated` as `YYYY-MM-DD`); no author and no "last modified by".
fn core_properties(doc: &Document) -> String {
    let mut s = format!(
        "{XML_DECL}<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>{}</dc:title>",
        esc(&doc.title)
    );
    if let Some(sub) = &doc.subtitle {
        let _ = write!(s, "<dc:subject>{}</dc:subject>", esc(sub));
    }
    let _ = write!(s, "<dc:language>{}</dc:language>", language(doc.lang));
    if let Some(date) = doc.meta.generated.as_deref().and_then(w3c_date) {
        let _ = write!(
            s,
            "<dcterms:created xsi:type=\"dcterms:W3CDTF\">{date}</dcterms:created>\
             <dcterms:modified xsi:type=\"dcterms:W3CDTF\">{date}</dcterms:modified>"
        );
    }
    s.push_str("</cp:coreProperties>");
    s
}

/// `2025-01-15` → `2025-01-15T00:00:00Z`; other forms are left out.
fn w3c_date(date: &str) -> Option<String> {
    let d: Vec<&str> = date.trim().split('-').collect();
    let ok = d.len() == 3
        && [4, 2, 2].iter().zip(&d).all(|(n, p)| p.len() == *n)
        && d.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| format!("{}-{}-{}T00:00:00Z", d[0], d[1], d[2]))
}

/// The language tag Word uses for Latin text in this document.
fn language(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhCn => "zh-CN",
        Lang::En => "en-US",
    }
}

// ---------------------------------------------------------------- styles

/// `w:rFonts` for every run: Latin font for Latin text, Microsoft YaHei for
/// Chinese; in a Chinese report, ambiguous characters (quotes, dashes,
/// ellipses) are set as East Asian (`w:hint`).
fn fonts_element(lang: Lang) -> String {
    let hint = if lang == Lang::ZhCn { " w:hint=\"eastAsia\"" } else { "" };
    format!(
        "<w:rFonts w:ascii=\"{LATIN_FONT}\" w:hAnsi=\"{LATIN_FONT}\" w:eastAsia=\"{EAST_ASIAN_FONT}\" w:cs=\"{LATIN_FONT}\"{hint}/>"
    )
}

/// `w:lang`: Latin text proofed as English, Chinese as Simplified Chinese;
/// a Chinese report declares Chinese for its Latin runs too.
fn lang_element(lang: Lang) -> String {
    format!("<w:lang w:val=\"{}\" w:eastAsia=\"zh-CN\" w:bidi=\"ar-SA\"/>", language(lang))
}

/// A paragraph style.
struct ParaStyle {
    id: &'static str,
    name: &'static str,
    /// Word's own built-in style (shown under its localised name).
    builtin: bool,
    ppr: String,
    rpr: String,
}

/// The styles; an official document sets its text in 三号 (16 pt) with a
/// two-character first-line indent, black headings at body size, and its
/// title centred in 二号 (22 pt).
fn styles(lang: Lang, official: bool) -> String {
    if official {
        return official_styles(lang);
    }
    let heading = |level: u8, size: u32, colour: &str, before: u32| ParaStyle {
        id: ["Heading1", "Heading2", "Heading3"][usize::from(level - 1)],
        name: ["heading 1", "heading 2", "heading 3"][usize::from(level - 1)],
        builtin: true,
        ppr: format!(
            "<w:keepNext/><w:keepLines/><w:spacing w:before=\"{before}\" w:after=\"120\"/><w:outlineLvl w:val=\"{}\"/>",
            level - 1
        ),
        rpr: format!("<w:b/><w:bCs/><w:color w:val=\"{colour}\"/><w:sz w:val=\"{size}\"/><w:szCs w:val=\"{size}\"/>"),
    };
    let list = [
        ParaStyle {
            id: "Title",
            name: "Title",
            builtin: true,
            ppr: "<w:spacing w:before=\"2400\" w:after=\"240\"/>".into(),
            rpr: format!("<w:b/><w:bCs/><w:color w:val=\"{PRIMARY}\"/><w:sz w:val=\"48\"/><w:szCs w:val=\"48\"/>"),
        },
        ParaStyle {
            id: "Subtitle",
            name: "Subtitle",
            builtin: true,
            ppr: "<w:spacing w:after=\"600\"/>".into(),
            rpr: format!("<w:color w:val=\"{INK}\"/><w:sz w:val=\"30\"/><w:szCs w:val=\"30\"/>"),
        },
        heading(1, 32, PRIMARY, 360),
        heading(2, 26, INK, 280),
        heading(3, 22, INK, 200),
        ParaStyle {
            id: "Caption",
            name: "caption",
            builtin: true,
            ppr: "<w:keepNext/><w:spacing w:before=\"200\" w:after=\"80\"/>".into(),
            rpr: format!("<w:b/><w:bCs/><w:color w:val=\"{INK}\"/><w:sz w:val=\"20\"/><w:szCs w:val=\"20\"/>"),
        },
        ParaStyle {
            id: "Note",
            name: "Note",
            builtin: false,
            ppr: "<w:spacing w:before=\"60\" w:after=\"120\" w:line=\"276\" w:lineRule=\"auto\"/>".into(),
            rpr: format!("<w:color w:val=\"{MUTED}\"/><w:sz w:val=\"16\"/><w:szCs w:val=\"16\"/>"),
        },
        ParaStyle {
            id: "TableText",
            name: "Table Text",
            builtin: false,
            ppr: "<w:spacing w:before=\"40\" w:after=\"40\" w:line=\"240\" w:lineRule=\"auto\"/>".into(),
            rpr: "<w:sz w:val=\"19\"/><w:szCs w:val=\"19\"/>".into(),
        },
        ParaStyle {
            id: "Footer",
            name: "footer",
            builtin: true,
            ppr: "<w:spacing w:after=\"0\"/><w:jc w:val=\"center\"/>".into(),
            rpr: format!("<w:color w:val=\"{MUTED}\"/><w:sz w:val=\"18\"/><w:szCs w:val=\"18\"/>"),
        },
    ];
    style_sheet(lang, 21, "<w:spacing w:after=\"120\" w:line=\"312\" w:lineRule=\"auto\"/>", ("", ""), list)
}

fn official_styles(lang: Lang) -> String {
    let sz = OFFICIAL_SZ;
    let indent = official_indent();
    // 一、 in 黑体, （一） in 楷体, 1. in 仿宋 bold (the conventions GB/T 9704's example follows).
    let heading = |level: u8| ParaStyle {
        id: ["Heading1", "Heading2", "Heading3"][usize::from(level - 1)],
        name: ["heading 1", "heading 2", "heading 3"][usize::from(level - 1)],
        builtin: true,
        ppr: format!("<w:keepNext/><w:keepLines/>{indent}<w:outlineLvl w:val=\"{}\"/>", level - 1),
        rpr: format!(
            "{}<w:color w:val=\"000000\"/><w:sz w:val=\"{sz}\"/><w:szCs w:val=\"{sz}\"/>",
            match level {
                1 => official_font("黑体", "SimHei"),
                2 => official_font("楷体", "KaiTi"),
                _ => format!("{}<w:b/><w:bCs/>", official_font("仿宋", "FangSong")),
            }
        ),
    };
    let list = [
        ParaStyle {
            id: "Title",
            name: "Title",
            builtin: true,
            ppr: "<w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"480\" w:after=\"480\" w:line=\"560\" w:lineRule=\"exact\"/><w:jc w:val=\"center\"/>"
                .into(),
            // 二号 小标宋 (the face bureaux install; Word substitutes where it is missing).
            rpr: format!(
                "{}<w:color w:val=\"000000\"/><w:sz w:val=\"44\"/><w:szCs w:val=\"44\"/>",
                official_font("方正小标宋简体", "FZXiaoBiaoSong-B05S")
            ),
        },
        ParaStyle {
            id: "Subtitle",
            name: "Subtitle",
            builtin: true,
            ppr: "<w:snapToGrid w:val=\"0\"/><w:spacing w:after=\"240\"/><w:jc w:val=\"center\"/>".into(),
            rpr: format!("<w:sz w:val=\"{sz}\"/><w:szCs w:val=\"{sz}\"/>"),
        },
        heading(1),
        heading(2),
        heading(3),
        ParaStyle {
            id: "Caption",
            name: "caption",
            builtin: true,
            ppr: "<w:keepNext/><w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"200\" w:after=\"80\" w:line=\"360\" w:lineRule=\"auto\"/><w:jc w:val=\"center\"/>".into(),
            rpr: "<w:b/><w:bCs/><w:sz w:val=\"24\"/><w:szCs w:val=\"24\"/>".into(),
        },
        ParaStyle {
            id: "Note",
            name: "Note",
            builtin: false,
            ppr: "<w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"60\" w:after=\"120\" w:line=\"300\" w:lineRule=\"auto\"/>".into(),
            rpr: format!("<w:color w:val=\"{MUTED}\"/><w:sz w:val=\"21\"/><w:szCs w:val=\"21\"/>"),
        },
        ParaStyle {
            id: "TableText",
            name: "Table Text",
            builtin: false,
            ppr: "<w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"40\" w:after=\"40\" w:line=\"240\" w:lineRule=\"auto\"/>".into(),
            rpr: "<w:sz w:val=\"21\"/><w:szCs w:val=\"21\"/>".into(),
        },
        ParaStyle {
            id: "Footer",
            name: "footer",
            builtin: true,
            ppr: "<w:snapToGrid w:val=\"0\"/><w:spacing w:after=\"0\"/><w:jc w:val=\"center\"/>".into(),
            rpr: "<w:sz w:val=\"28\"/><w:szCs w:val=\"28\"/>".into(),
        },
    ];
    // 22 lines to the page: a fixed 28.95 pt line; the body in 仿宋.
    style_sheet(
        lang,
        sz,
        "<w:spacing w:after=\"0\" w:line=\"579\" w:lineRule=\"exact\"/>",
        // Characters condensed by 0.25 pt: 28 of 三号 to the 156 mm line (GB/T 9704-2012, 5.2.2).
        // (A document grid, `w:docGrid`, would do it in Word, but LibreOffice lays it out
        // with two cells to a character.)
        ("", &format!("{}<w:spacing w:val=\"{OFFICIAL_CONDENSE}\"/>", official_font("仿宋", "FangSong"))),
        list,
    )
}

/// The style sheet: defaults (size in half-points, paragraph spacing), the
/// Normal style (with `normal_ppr`) and the paragraph styles.
fn style_sheet(lang: Lang, size: u32, spacing: &str, normal: (&str, &str), list: [ParaStyle; 9]) -> String {
    let (normal_ppr, normal_rpr) = normal;
    let mut s = format!(
        "{XML_DECL}<w:styles xmlns:w=\"{NS_W}\"><w:docDefaults><w:rPrDefault><w:rPr>{}<w:sz w:val=\"{size}\"/><w:szCs w:val=\"{size}\"/>{}</w:rPr></w:rPrDefault>\
         <w:pPrDefault><w:pPr>{spacing}</w:pPr></w:pPrDefault></w:docDefaults>\
         <w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/><w:qFormat/>\
         <w:pPr><w:widowControl/>{normal_ppr}</w:pPr><w:rPr>{normal_rpr}<w:color w:val=\"{INK}\"/></w:rPr></w:style>\
         <w:style w:type=\"character\" w:default=\"1\" w:styleId=\"DefaultParagraphFont\"><w:name w:val=\"Default Paragraph Font\"/><w:uiPriority w:val=\"1\"/><w:semiHidden/></w:style>\
         <w:style w:type=\"table\" w:default=\"1\" w:styleId=\"TableNormal\"><w:name w:val=\"Normal Table\"/><w:semiHidden/>\
         <w:tblPr><w:tblInd w:w=\"0\" w:type=\"dxa\"/><w:tblCellMar><w:top w:w=\"0\" w:type=\"dxa\"/><w:left w:w=\"108\" w:type=\"dxa\"/>\
         <w:bottom w:w=\"0\" w:type=\"dxa\"/><w:right w:w=\"108\" w:type=\"dxa\"/></w:tblCellMar></w:tblPr></w:style>",
        fonts_element(lang),
        lang_element(lang)
    );
    for st in list {
        let next = if st.id == "Footer" { "" } else { "<w:next w:val=\"Normal\"/>" };
        let q = if st.builtin { "<w:qFormat/>" } else { "" };
        let _ = write!(
            s,
            "<w:style w:type=\"paragraph\" w:styleId=\"{}\"{}><w:name w:val=\"{}\"/><w:basedOn w:val=\"Normal\"/>{next}{q}\
             <w:pPr>{}</w:pPr><w:rPr>{}</w:rPr></w:style>",
            st.id,
            if st.builtin { "" } else { " w:customStyle=\"1\"" },
            st.name,
            st.ppr,
            st.rpr
        );
    }
    s.push_str("</w:styles>");
    s
}

fn settings(lang: Lang, official: bool) -> String {
    // An official document has different footers on odd and even pages.
    let even_and_odd = if official { "<w:evenAndOddHeaders/>" } else { "" };
    format!(
        "{XML_DECL}<w:settings xmlns:w=\"{NS_W}\"><w:zoom w:percent=\"100\"/>{even_and_odd}<w:defaultTabStop w:val=\"420\"/>\
         <w:characterSpacingControl w:val=\"compressPunctuation\"/>\
         <w:compat><w:compatSetting w:name=\"compatibilityMode\" w:uri=\"http://schemas.microsoft.com/office/word\" w:val=\"15\"/></w:compat>\
         <w:themeFontLang w:val=\"{}\" w:eastAsia=\"zh-CN\"/></w:settings>",
        language(lang)
    )
}

fn font_table() -> String {
    format!(
        "{XML_DECL}<w:fonts xmlns:w=\"{NS_W}\">\
         <w:font w:name=\"{LATIN_FONT}\"><w:panose1 w:val=\"020B0604020202020204\"/><w:charset w:val=\"00\"/><w:family w:val=\"swiss\"/><w:pitch w:val=\"variable\"/></w:font>\
         <w:font w:name=\"{EAST_ASIAN_FONT}\"><w:altName w:val=\"微软雅黑\"/><w:panose1 w:val=\"020B0503020204020204\"/><w:charset w:val=\"86\"/><w:family w:val=\"swiss\"/><w:pitch w:val=\"variable\"/></w:font>\
         </w:fonts>"
    )
}

/// The footer on every page after the title page: the page number, centred,
/// as a `PAGE` field (`第N页` / `Page N`), after the internal mark if any.
fn footer(lang: Lang, marking: Option<&str>) -> String {
    let (number, after) = match lang {
        Lang::ZhCn => ("第", "页"),
        Lang::En => ("Page ", ""),
    };
    // An internal report's mark goes before the number on every page.
    let before = match marking {
        Some(mark) => format!("{mark} · {number}"),
        None => number.to_string(),
    };
    let before = before.as_str();
    let mut s = format!("{XML_DECL}<w:ftr xmlns:w=\"{NS_W}\"><w:p><w:pPr><w:pStyle w:val=\"Footer\"/></w:pPr>");
    s.push_str(&run(before, ""));
    s.push_str(
        "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> PAGE </w:instrText></w:r>\
         <w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>2</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r>",
    );
    if !after.is_empty() {
        s.push_str(&run(after, ""));
    }
    s.push_str("</w:p></w:ftr>");
    s
}

/// An official document's footer on every page: `— 2 —`, centred, the
/// number a `PAGE` field.
/// Which edge of the text area an official page number stands by.
#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
}

/// An official document's page number, `— N —`, on the outer edge one
/// character in from the text area: the right on odd pages, the left on
/// even ones (GB/T 9704-2012, 7.5).
fn official_footer(side: Side) -> String {
    let place = match side {
        Side::Right => format!("<w:jc w:val=\"right\"/><w:ind w:right=\"{OFFICIAL_CHAR}\"/>"),
        Side::Left => format!("<w:jc w:val=\"left\"/><w:ind w:left=\"{OFFICIAL_CHAR}\"/>"),
    };
    let mut s = format!("{XML_DECL}<w:ftr xmlns:w=\"{NS_W}\"><w:p><w:pPr><w:pStyle w:val=\"Footer\"/>{place}</w:pPr>");
    // The dashes and spaces set in the Latin font (not as East Asian text),
    // two of them to a side, so that the gap reads as one in extracted text.
    let latin = "<w:rFonts w:hint=\"default\"/>";
    s.push_str(&run("—  ", latin));
    s.push_str(
        "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> PAGE </w:instrText></w:r>\
         <w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r>",
    );
    s.push_str(&run("  —", latin));
    s.push_str("</w:p></w:ftr>");
    s
}

/// The two-character first-line indent of an official document's paragraphs.
fn official_indent() -> String {
    format!("<w:ind w:firstLineChars=\"200\" w:firstLine=\"{}\"/>", 2 * OFFICIAL_CHAR)
}

/// The list numbering: one abstract numbering for numbered lists (`1.`),
/// one for bulleted ones (`•`), each with a hanging indent, and one
/// instance per list block so that every list starts at its own number.
fn numbering(doc: &Document, official: bool) -> String {
    // The number or bullet hangs in a two-character gutter (indented two
    // characters more in an official document, like its paragraphs).
    let (left, hanging) = if official { (4 * OFFICIAL_CHAR, 2 * OFFICIAL_CHAR) } else { (420, 420) };
    let level = |fmt: &str, text: &str| {
        format!(
            "<w:lvl w:ilvl=\"0\"><w:start w:val=\"1\"/><w:numFmt w:val=\"{fmt}\"/><w:lvlText w:val=\"{text}\"/>\
             <w:lvlJc w:val=\"left\"/><w:pPr><w:ind w:left=\"{left}\" w:hanging=\"{hanging}\"/></w:pPr></w:lvl>"
        )
    };
    let mut s = format!(
        "{XML_DECL}<w:numbering xmlns:w=\"{NS_W}\">\
         <w:abstractNum w:abstractNumId=\"0\"><w:multiLevelType w:val=\"singleLevel\"/>{}</w:abstractNum>\
         <w:abstractNum w:abstractNumId=\"1\"><w:multiLevelType w:val=\"singleLevel\"/>{}</w:abstractNum>",
        level("decimal", "%1."),
        level("bullet", "•")
    );
    for (id, list) in lists(doc).enumerate() {
        let _ = write!(
            s,
            "<w:num w:numId=\"{}\"><w:abstractNumId w:val=\"{}\"/><w:lvlOverride w:ilvl=\"0\"><w:startOverride w:val=\"{}\"/></w:lvlOverride></w:num>",
            id + 1,
            if list.ordered { 0 } else { 1 },
            list.start.unwrap_or(1)
        );
    }
    s.push_str("</w:numbering>");
    s
}

/// The document's lists, in order: list `i` uses numbering instance `i + 1`.
fn lists(doc: &Document) -> impl Iterator<Item = &List> {
    doc.blocks.iter().filter_map(|b| match b {
        Block::List(list) => Some(list),
        _ => None,
    })
}

/// The title page's footer: empty.
fn empty_footer() -> String {
    format!("{XML_DECL}<w:ftr xmlns:w=\"{NS_W}\"><w:p><w:pPr><w:pStyle w:val=\"Footer\"/></w:pPr></w:p></w:ftr>")
}

// ---------------------------------------------------------------- body

/// A run of text with run properties `rpr` (the inside of `w:rPr`); line
/// breaks become `w:br`, tabs `w:tab`.
fn run(text: &str, rpr: &str) -> String {
    let mut s = String::from("<w:r>");
    if !rpr.is_empty() {
        let _ = write!(s, "<w:rPr>{rpr}</w:rPr>");
    }
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            s.push_str("<w:br/>");
        }
        for (j, piece) in line.split('\t').enumerate() {
            if j > 0 {
                s.push_str("<w:tab/>");
            }
            if !piece.is_empty() {
                let _ = write!(s, "<w:t xml:space=\"preserve\">{}</w:t>", esc(piece));
            }
        }
    }
    s.push_str("</w:r>");
    s
}

/// A paragraph: style id, further paragraph properties, runs.
fn para(style: &str, ppr: &str, runs: &str) -> String {
    let style = if style.is_empty() { String::new() } else { format!("<w:pStyle w:val=\"{style}\"/>") };
    if style.is_empty() && ppr.is_empty() {
        format!("<w:p>{runs}</w:p>")
    } else {
        format!("<w:p><w:pPr>{style}{ppr}</w:pPr>{runs}</w:p>")
    }
}

fn document_xml(doc: &Document, frames: &[Option<ChartFrame>]) -> String {
    let mut body = String::with_capacity(32 * 1024);
    let official = doc.meta.style == DocStyle::Official;
    if official {
        official_head(&mut body, doc);
    } else {
        title_page(&mut body, doc);
    }
    let mut ctx =
        Body { lang: doc.lang, official, lists: 0, attachments: 0, keep_next: false, text_w: text_width(doc) };
    // An official document's body ends at its first attachment: the list of
    // attachments, the signature and the annotation come there, the imprint at the very end.
    let end = doc.body_end();
    for (i, (block, frame)) in doc.blocks.iter().zip(frames).enumerate() {
        if official && i == end {
            official_close(&mut body, doc);
        }
        // An official document's last paragraph stays with the signature.
        ctx.keep_next = official && i + 1 == end;
        block_xml(&mut body, block, frame.as_ref(), &mut ctx);
    }
    if official {
        if end == doc.blocks.len() {
            official_close(&mut body, doc);
        }
        official_imprint(&mut body, doc);
    }
    format!(
        "{XML_DECL}<w:document xmlns:w=\"{NS_W}\" xmlns:r=\"{NS_R}\" \
         xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\" \
         xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\"><w:body>{body}{}</w:body></w:document>",
        if official { official_section() } else { section() }
    )
}

/// A4, 20 mm side margins, the numbered footer on every page but the first.
fn section() -> String {
    format!(
        "<w:sectPr><w:footerReference w:type=\"default\" r:id=\"rIdFooter\"/><w:footerReference w:type=\"first\" r:id=\"rIdFooterFirst\"/>\
         <w:pgSz w:w=\"{PAGE_W}\" w:h=\"{PAGE_H}\"/>\
         <w:pgMar w:top=\"1304\" w:right=\"{MARGIN_X}\" w:bottom=\"1304\" w:left=\"{MARGIN_X}\" w:header=\"709\" w:footer=\"567\" w:gutter=\"0\"/>\
         <w:cols w:space=\"425\"/><w:titlePg/></w:sectPr>"
    )
}

/// How much an official document's characters are condensed, in twentieths
/// of a point: 28 characters of 16 pt less 0.25 pt each (441 pt) fit the
/// 156 mm (442.2 pt) line, where 28 at full width (448 pt) do not.
const OFFICIAL_CONDENSE: i32 = -5;

/// An official document's page (GB/T 9704-2012): top margin 37 mm, bottom
/// 35 mm, left 28 mm, right 26 mm (a 156 mm × 225 mm text area), the
/// `— N —` footer on every page, on the outer edge.
fn official_section() -> String {
    format!(
        "<w:sectPr><w:footerReference w:type=\"default\" r:id=\"rIdFooter\"/><w:footerReference w:type=\"even\" r:id=\"rIdFooterFirst\"/>\
         <w:pgSz w:w=\"{PAGE_W}\" w:h=\"{PAGE_H}\"/>\
         <w:pgMar w:top=\"2098\" w:right=\"{OFFICIAL_RIGHT}\" w:bottom=\"1984\" w:left=\"{OFFICIAL_LEFT}\" w:header=\"851\" w:footer=\"1247\" w:gutter=\"0\"/>\
         <w:cols w:space=\"425\"/></w:sectPr>"
    )
}

/// The head of an official document: the mark (`内部资料`) top left, the
/// issuing authority's mark (`…文件`) large, red and centred, the
/// document number centred, the red rule, the title (and subtitle)
/// centred and the main recipient flush left.
fn official_head(out: &mut String, doc: &Document) {
    if let Some(mark) = &doc.meta.marking {
        out.push_str(&para("", "<w:spacing w:after=\"0\"/>", &run(mark, "")));
    }
    if let Some(org) = &doc.meta.organisation {
        let name = format!("{org}{}", doc.lang.pick("文件", ""));
        out.push_str(&para(
            "",
            "<w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"480\" w:after=\"360\" w:line=\"240\" w:lineRule=\"auto\"/><w:jc w:val=\"center\"/>",
            &run(
                &name,
                &format!("<w:b/><w:bCs/><w:color w:val=\"{OFFICIAL_RED}\"/><w:sz w:val=\"72\"/><w:szCs w:val=\"72\"/>"),
            ),
        ));
    }
    match (&doc.meta.doc_number, &doc.meta.signer) {
        (number, Some(signer)) => {
            // The number a character in from the left, the signer at a right tab a character in.
            let ppr = format!(
                "<w:tabs><w:tab w:val=\"right\" w:pos=\"{}\"/></w:tabs><w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"240\" w:after=\"0\"/><w:ind w:left=\"{OFFICIAL_CHAR}\"/>",
                OFFICIAL_TEXT_W - 2 * OFFICIAL_CHAR
            );
            let runs = format!(
                "{}<w:r><w:tab/></w:r>{}",
                run(number.as_deref().unwrap_or(""), ""),
                run(&format!("{}{signer}", doc.lang.pick("签发人：", "Signed off by: ")), "")
            );
            out.push_str(&para("", &ppr, &runs));
        }
        (Some(number), None) => out.push_str(&para(
            "",
            "<w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"240\" w:after=\"0\"/><w:jc w:val=\"center\"/>",
            &run(number, ""),
        )),
        (None, None) => {}
    }
    // The red rule: the bottom border of an empty, low paragraph.
    out.push_str(&para(
        "",
        &format!(
            "<w:pBdr><w:bottom w:val=\"single\" w:sz=\"18\" w:space=\"1\" w:color=\"{OFFICIAL_RED}\"/></w:pBdr>\
             <w:spacing w:after=\"0\" w:line=\"200\" w:lineRule=\"exact\"/>"
        ),
        "",
    ));
    out.push_str(&para("Title", "", &run(&official_title_lines(&doc.title), "")));
    if let Some(sub) = &doc.subtitle {
        out.push_str(&para("Subtitle", "", &run(sub, "")));
    }
    if let Some(recipient) = &doc.meta.recipient {
        out.push_str(&para("", "", &run(recipient, "")));
    }
}

/// An official title too long for one line of 二号, with a line break
/// between phrases ([`crate::document::phrase_break`]) so that Word does not
/// break it inside a word.
fn official_title_lines(title: &str) -> String {
    // 二号 is 22 pt: 440 twips a character.
    let width_of = |s: &str| plot::text_width(s, 440.0);
    let line = f64::from(OFFICIAL_TEXT_W);
    if width_of(title) <= line {
        return title.to_string();
    }
    match crate::document::phrase_break(title, &width_of, line) {
        Some(at) => format!("{}\n{}", &title[..at], &title[at..]),
        None => title.to_string(),
    }
}

/// The end of an official document's body: the list of attachments (附件说明)
/// a blank line below the text, two characters in, the further titles under
/// the first; the issuer centred over the date, the date four characters in
/// from the right (one blank line above); then the audience as the
/// annotation (`（此件公开发布）`), indented two characters.
fn official_close(out: &mut String, doc: &Document) {
    let width = |s: &str| plot::text_width(s, f64::from(OFFICIAL_CHAR));
    let list = doc.attachment_list();
    let lead = width(crate::document::ATTACHMENTS_LEAD.pick(doc.lang)).round() as u32;
    for (i, (marker, title)) in list.iter().enumerate() {
        // A hanging indent: the title (and its wrapped lines) after the marker, the marker out in front.
        let marker_at = 2 * OFFICIAL_CHAR + if i == 0 || list.len() == 1 { 0 } else { lead };
        let hang = width(marker).round() as u32;
        let before = if i == 0 { "<w:spacing w:before=\"579\"/>" } else { "" };
        out.push_str(&para(
            "",
            &format!("<w:keepNext/>{before}<w:ind w:left=\"{}\" w:hanging=\"{hang}\"/>", marker_at + hang),
            &format!("{}{}", run(marker, ""), run(title, "")),
        ));
    }
    let date = doc.meta.generated_display(doc.lang);
    let date_right = 4 * OFFICIAL_CHAR;
    let date_w = date.as_deref().map_or(0.0, width);
    if let Some(org) = &doc.meta.organisation {
        let right = (f64::from(date_right) + (date_w - width(org)) / 2.0).max(0.0).round() as u32;
        let right = if date.is_some() { right } else { date_right };
        out.push_str(&para(
            "",
            &format!("<w:keepNext/><w:spacing w:before=\"1158\"/><w:ind w:right=\"{right}\"/><w:jc w:val=\"right\"/>"),
            &run(org, ""),
        ));
    }
    if let Some(date) = &date {
        let before = if doc.meta.organisation.is_some() { "" } else { "<w:spacing w:before=\"1158\"/>" };
        // The annotation stays with the date.
        let keep = if doc.meta.audience.is_some() { "<w:keepNext/>" } else { "" };
        out.push_str(&para(
            "",
            &format!("{keep}{before}<w:ind w:right=\"{date_right}\"/><w:jc w:val=\"right\"/>"),
            &run(date, ""),
        ));
    }
    if let Some(audience) = &doc.meta.audience {
        out.push_str(&para(
            "",
            &format!("<w:spacing w:before=\"579\"/>{}", official_indent()),
            &run(&crate::layout::annotation(audience, doc.lang), ""),
        ));
    }
}

/// The imprint (版记) at the end of an official document.
fn official_imprint(out: &mut String, doc: &Document) {
    // The imprint (版记): a heavy rule above and below, a light one between the copies
    // line and the printing office with its date; 4号 (14 pt), a character in.
    let (copies, printed) = doc.meta.imprint(doc.lang);
    let heavy = format!("w:val=\"single\" w:sz=\"8\" w:space=\"1\" w:color=\"{INK}\"");
    let light = format!("w:val=\"single\" w:sz=\"4\" w:space=\"1\" w:color=\"{INK}\"");
    let size = "<w:sz w:val=\"28\"/><w:szCs w:val=\"28\"/>";
    let tab = OFFICIAL_TEXT_W - OFFICIAL_CHAR;
    if let Some(copies) = &copies {
        let below = if printed.is_some() { &light } else { &heavy };
        out.push_str(&para(
            "",
            &format!(
                "<w:keepNext/><w:pBdr><w:top {heavy}/><w:bottom {below}/></w:pBdr><w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"579\"/><w:ind w:left=\"{OFFICIAL_CHAR}\" w:right=\"{OFFICIAL_CHAR}\"/>"
            ),
            &run(copies, size),
        ));
    }
    if let Some((office, date)) = &printed {
        let top = if copies.is_some() { String::new() } else { format!("<w:top {heavy}/>") };
        let before = if copies.is_some() { "" } else { "<w:spacing w:before=\"579\"/>" };
        out.push_str(&para(
            "",
            &format!(
                "<w:pBdr>{top}<w:bottom {heavy}/></w:pBdr><w:snapToGrid w:val=\"0\"/>{before}<w:tabs><w:tab w:val=\"right\" w:pos=\"{tab}\"/></w:tabs><w:ind w:left=\"{OFFICIAL_CHAR}\"/>"
            ),
            &format!("{}<w:r><w:tab/></w:r>{}", run(office, size), run(date, size)),
        ));
    }
}

fn page_break() -> String {
    "<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>".to_string()
}

/// Title, subtitle, then `单位：…`, `期间：…`, `生成日期：…`, and a page break.
fn title_page(out: &mut String, doc: &Document) {
    let lang = doc.lang;
    out.push_str(&para("Title", "", &run(&doc.title, "")));
    if let Some(sub) = &doc.subtitle {
        out.push_str(&para("Subtitle", "", &run(sub, "")));
    }
    for (label, value) in doc.title_facts() {
        let sep = lang.pick("：", ": ");
        let rpr = format!("<w:color w:val=\"{MUTED}\"/><w:sz w:val=\"22\"/><w:szCs w:val=\"22\"/>");
        out.push_str(&para("", "<w:spacing w:after=\"60\"/>", &run(&format!("{label}{sep}{value}"), &rpr)));
    }
    if let Some(audience) = &doc.meta.audience {
        out.push_str(&para(
            "",
            "<w:spacing w:before=\"240\"/>",
            &run(audience, "<w:b/><w:sz w:val=\"22\"/><w:szCs w:val=\"22\"/>"),
        ));
    }
    out.push_str(&page_break());
}

/// What the body's blocks share: the language, the style, and how many
/// lists came before (each list has its own numbering instance).
struct Body {
    lang: Lang,
    official: bool,
    lists: usize,
    /// The attachments begun so far.
    attachments: usize,
    /// Keep this block's paragraphs with the next paragraph.
    keep_next: bool,
    /// The text width, in twips.
    text_w: u32,
}

/// Runs for styled text: strong as real bold (`w:b`), emphasis as italic
/// in English and as emphasis dots (`w:em`) in Chinese.
fn spans_runs(spans: &[Span], lang: Lang) -> String {
    let mut out = String::new();
    for span in spans {
        let mut rpr = String::new();
        if span.strong {
            rpr.push_str("<w:b/><w:bCs/>");
        }
        if span.emphasis {
            rpr.push_str(match lang {
                Lang::ZhCn => "<w:em w:val=\"dot\"/>",
                Lang::En => "<w:i/><w:iCs/>",
            });
        }
        // w:em goes after w:i in w:rPr's schema order; b and i come first.
        out.push_str(&run(&span.text, &rpr));
    }
    out
}

fn block_xml(out: &mut String, block: &Block, frame: Option<&ChartFrame>, ctx: &mut Body) {
    let keep = if ctx.keep_next { "<w:keepNext/>" } else { "" };
    let body_ppr = if ctx.official { format!("{keep}{}", official_indent()) } else { keep.to_string() };
    match block {
        Block::Heading { level, text } => {
            let style = ["Heading1", "Heading2", "Heading3"][usize::from((*level).clamp(1, 3) - 1)];
            out.push_str(&para(style, "", &run(text, "")));
        }
        Block::Paragraph { text } => out.push_str(&para("", &body_ppr, &run(text, ""))),
        Block::RichParagraph { spans, .. } => out.push_str(&para("", &body_ppr, &spans_runs(spans, ctx.lang))),
        Block::List(list) => {
            ctx.lists += 1;
            let spacing = if ctx.official { "" } else { "<w:spacing w:after=\"60\"/>" };
            for item in &list.items {
                let ppr = format!(
                    "{keep}<w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"{}\"/></w:numPr>{spacing}",
                    ctx.lists
                );
                out.push_str(&para("", &ppr, &spans_runs(&spans_or_plain(&item.text, &item.spans), ctx.lang)));
            }
        }
        Block::KeyFigures { tiles } => tiles_xml(out, tiles, ctx.text_w),
        Block::Table(table) => table_xml(out, table, ctx.text_w),
        Block::Figure { caption, .. } => {
            out.push_str(&para("Caption", "", &run(caption, "")));
            if let Some(frame) = frame {
                out.push_str(&para(
                    "",
                    // The line grows with the chart (an official page's fixed line would crop it).
                    "<w:keepLines/><w:spacing w:after=\"200\" w:line=\"240\" w:lineRule=\"auto\"/><w:jc w:val=\"center\"/>",
                    &drawing(frame, caption),
                ));
            }
        }
        Block::Note { text } => out.push_str(&para("Note", keep, &run(text, ""))),
        Block::PageBreak => out.push_str(&page_break()),
        Block::Attachment { title } => {
            ctx.attachments += 1;
            out.push_str(&page_break());
            out.push_str(&attachment_head(ctx, title));
        }
    }
}

/// The head of an attachment: in an official document `附件1` top left
/// in 黑体, a blank line and the title centred in the title's face (GB/T
/// 9704-2012, 8.1); elsewhere a level 1 heading `附件1　title`.
fn attachment_head(ctx: &Body, title: &str) -> String {
    let label = crate::document::attachment_label(ctx.attachments, ctx.lang);
    if ctx.official {
        let mut out = para("", "<w:keepNext/>", &run(&label, OFFICIAL_HEI));
        out.push_str(&para("", "<w:keepNext/>", ""));
        out.push_str(&para("Title", "<w:keepNext/>", &run(title, "")));
        out.push_str(&para("", "<w:keepNext/>", ""));
        out
    } else {
        para("Heading1", "", &run(&format!("{label}{}{title}", ctx.lang.pick("　", " ")), ""))
    }
}

/// The run properties of 黑体 text in an official document (the `附件1` label, level 1 headings).
const OFFICIAL_HEI: &str = "<w:rFonts w:ascii=\"SimHei\" w:hAnsi=\"SimHei\" w:eastAsia=\"黑体\"/>";

/// `w:rFonts` naming an official document's face: its Chinese name for
/// Chinese text, its Latin name for figures and Latin text.
fn official_font(chinese: &str, latin: &str) -> String {
    format!("<w:rFonts w:ascii=\"{latin}\" w:hAnsi=\"{latin}\" w:eastAsia=\"{chinese}\" w:cs=\"{latin}\"/>")
}

/// An inline chart run: the chart part in a graphic frame; its alt text is
/// the caption and the chart's summary.
fn drawing(frame: &ChartFrame, caption: &str) -> String {
    let (cx, cy, id) = (frame.cx, frame.cy, frame.n);
    let descr = esc(&format!("{caption}: {}", frame.summary));
    format!(
        "<w:r><w:drawing><wp:inline distT=\"0\" distB=\"0\" distL=\"0\" distR=\"0\"><wp:extent cx=\"{cx}\" cy=\"{cy}\"/>\
         <wp:effectExtent l=\"0\" t=\"0\" r=\"0\" b=\"0\"/><wp:docPr id=\"{id}\" name=\"Chart {id}\" descr=\"{descr}\"/>\
         <wp:cNvGraphicFramePr/><a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/chart\">\
         <c:chart xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" r:id=\"{rel}\"/>\
         </a:graphicData></a:graphic></wp:inline></w:drawing></w:r>",
        rel = frame.rel()
    )
}

/// Column widths in twips, in proportion to the widest text in each column
/// (as the PDF: between 3 and 16 ems), filling the text width.
fn column_widths(table: &Table, text_w: u32) -> Vec<u32> {
    let weights: Vec<f64> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            table
                .rows
                .iter()
                .chain(table.totals.iter())
                .filter_map(|r| r.get(i))
                .map(|c| plot::text_width(c.display(), 1.0))
                .fold(plot::text_width(&col.title, 1.0), f64::max)
                .clamp(3.0, 16.0)
        })
        .collect();
    let total: f64 = weights.iter().sum::<f64>().max(1.0);
    let mut widths: Vec<u32> = weights.iter().map(|w| (f64::from(text_w) * w / total).floor() as u32).collect();
    // Give the rounding remainder to the first column so the grid fills the width exactly.
    let used: u32 = widths.iter().sum();
    if let Some(first) = widths.first_mut() {
        *first += text_w.saturating_sub(used);
    }
    widths
}

/// How a table row is set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowKind {
    Header,
    Body,
    Totals,
}

/// Caption (Caption style, kept with the table), the table — a three-line
/// table: heavy rules above and below the header and around the totals,
/// light ones between rows — and the note in the Note style. A table of
/// [`SMALL_TABLE`] rows or fewer is kept on one page, as in the PDF.
fn table_xml(out: &mut String, table: &Table, text_w: u32) {
    if let Some(caption) = &table.caption {
        out.push_str(&para("Caption", "", &run(caption, "")));
    }
    let widths = column_widths(table, text_w);
    let _ = write!(
        out,
        "<w:tbl><w:tblPr><w:tblW w:w=\"{text_w}\" w:type=\"dxa\"/>\
         <w:tblBorders><w:top w:val=\"single\" w:sz=\"12\" w:space=\"0\" w:color=\"{INK}\"/>\
         <w:left w:val=\"nil\"/><w:bottom w:val=\"single\" w:sz=\"12\" w:space=\"0\" w:color=\"{INK}\"/><w:right w:val=\"nil\"/>\
         <w:insideH w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"{RULE}\"/><w:insideV w:val=\"nil\"/></w:tblBorders>\
         <w:tblLayout w:type=\"fixed\"/><w:tblCellMar><w:left w:w=\"85\" w:type=\"dxa\"/><w:right w:w=\"85\" w:type=\"dxa\"/></w:tblCellMar>\
         <w:tblLook w:val=\"0420\" w:firstRow=\"1\" w:lastRow=\"0\" w:firstColumn=\"0\" w:lastColumn=\"0\" w:noHBand=\"1\" w:noVBand=\"1\"/>\
         </w:tblPr><w:tblGrid>"
    );
    for w in &widths {
        let _ = write!(out, "<w:gridCol w:w=\"{w}\"/>");
    }
    out.push_str("</w:tblGrid>");
    let header: Vec<Cell> = table.columns.iter().map(|c| Cell::Text(c.title.clone())).collect();
    row_xml(out, table, &widths, &header, RowKind::Header, true);
    // A table of a few rows stays on one page: every row but the last keeps with the next.
    let rows = table.rows.len() + usize::from(table.totals.is_some());
    let whole = rows <= SMALL_TABLE;
    for (r, cells) in table.rows.iter().enumerate() {
        let keep = whole && r + 1 < rows;
        row_xml(out, table, &widths, cells, RowKind::Body, keep);
    }
    if let Some(totals) = &table.totals {
        row_xml(out, table, &widths, totals, RowKind::Totals, false);
    }
    out.push_str("</w:tbl>");
    let note = table.note.clone();
    match note {
        Some(note) => {
            for line in note.lines() {
                out.push_str(&para("Note", "", &run(line, "")));
            }
        }
        // A paragraph must separate this table from anything after it.
        None => out.push_str(&para("", "<w:spacing w:after=\"60\"/>", "")),
    }
}

/// The number format of a formula for column `i`'s total, when the total
/// `cell` is exactly the sum of the column's body figures, all of them whole
/// numbers shown in full (`"0"`, or `"#,##0"` when grouped): not for a
/// column holding a withheld or text cell, nor for a total of students
/// counted once (less than the rows' sum).
fn summed_column(table: &Table, i: usize, total: &Cell) -> Option<&'static str> {
    let whole = |cell: &Cell| match cell {
        Cell::Number { value, display } if value.fract() == 0.0 => {
            let digits = display.replace(',', "");
            (digits.parse::<f64>().ok() == Some(*value)).then_some((*value, display.contains(',')))
        }
        _ => None,
    };
    let (sum, grouped) = whole(total)?;
    let mut added = 0.0;
    for row in &table.rows {
        added += whole(row.get(i)?)?.0;
    }
    (added == sum && !table.rows.is_empty()).then_some(if grouped { "#,##0" } else { "0" })
}

/// One row; `keep`: its paragraphs keep with the next row's (a small table stays on one page).
fn row_xml(out: &mut String, table: &Table, widths: &[u32], cells: &[Cell], kind: RowKind, keep: bool) {
    let header = if kind == RowKind::Header { "<w:tblHeader/>" } else { "" };
    let _ = write!(out, "<w:tr><w:trPr><w:cantSplit/>{header}</w:trPr>");
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        let borders = match kind {
            RowKind::Header => format!(
                "<w:tcBorders><w:bottom w:val=\"single\" w:sz=\"8\" w:space=\"0\" w:color=\"{INK}\"/></w:tcBorders>"
            ),
            RowKind::Totals => format!(
                "<w:tcBorders><w:top w:val=\"single\" w:sz=\"8\" w:space=\"0\" w:color=\"{INK}\"/></w:tcBorders>"
            ),
            RowKind::Body => String::new(),
        };
        let valign = if kind == RowKind::Header { "bottom" } else { "top" };
        let numeric = table.columns.get(i).is_some_and(|c| c.align == Align::Numeric);
        let jc = format!(
            "{}{}",
            if keep { "<w:keepNext/>" } else { "" },
            if numeric { "<w:jc w:val=\"right\"/>" } else { "" }
        );
        let mut rpr = String::new();
        if kind != RowKind::Body {
            rpr.push_str("<w:b/><w:bCs/>");
        }
        if cell.is_hidden() {
            let _ = write!(rpr, "<w:color w:val=\"{MUTED}\"/>");
        }
        let runs = match (kind, summed_column(table, i, cell)) {
            // A total that is the sum of the whole figures above it is a formula
            // field: it stays right when a director edits a figure (F9 in Word
            // updates it; the file carries the value, so it shows as is until then).
            (RowKind::Totals, Some(format)) => format!(
                "<w:fldSimple w:instr=\" =SUM(ABOVE) \\# &quot;{format}&quot; \">{}</w:fldSimple>",
                run(cell.display(), &rpr)
            ),
            _ if cell.display().is_empty() => String::new(),
            _ => run(cell.display(), &rpr),
        };
        let _ = write!(
            out,
            "<w:tc><w:tcPr><w:tcW w:w=\"{width}\" w:type=\"dxa\"/>{borders}<w:vAlign w:val=\"{valign}\"/></w:tcPr>{}</w:tc>",
            para("TableText", &jc, &runs)
        );
    }
    out.push_str("</w:tr>");
}

/// Key figures: a borderless full-width grid of at most three tiles to a
/// row, the rows as even as the count allows (four tiles as 2 + 2, five as
/// 3 + 2, never 3 + 1); each tile tinted with a coloured left edge, value
/// large, label and note below. A cell left over in the last row stays
/// blank and untinted.
fn tiles_xml(out: &mut String, tiles: &[Tile], text_w: u32) {
    if tiles.is_empty() {
        return;
    }
    let rows = tiles.len().div_ceil(3);
    let cols = tiles.len().div_ceil(rows);
    let width = text_w / cols as u32;
    let _ = write!(
        out,
        "<w:tbl><w:tblPr><w:tblW w:w=\"{}\" w:type=\"dxa\"/>\
         <w:tblBorders><w:top w:val=\"nil\"/><w:left w:val=\"nil\"/><w:bottom w:val=\"nil\"/><w:right w:val=\"nil\"/>\
         <w:insideH w:val=\"nil\"/><w:insideV w:val=\"nil\"/></w:tblBorders><w:tblLayout w:type=\"fixed\"/>\
         <w:tblCellMar><w:top w:w=\"60\" w:type=\"dxa\"/><w:left w:w=\"160\" w:type=\"dxa\"/><w:bottom w:w=\"80\" w:type=\"dxa\"/><w:right w:w=\"100\" w:type=\"dxa\"/></w:tblCellMar>\
         <w:tblLook w:val=\"0000\" w:firstRow=\"0\" w:lastRow=\"0\" w:firstColumn=\"0\" w:lastColumn=\"0\" w:noHBand=\"1\" w:noVBand=\"1\"/>\
         </w:tblPr><w:tblGrid>",
        width * cols as u32
    );
    for _ in 0..cols {
        let _ = write!(out, "<w:gridCol w:w=\"{width}\"/>");
    }
    out.push_str("</w:tblGrid>");
    for chunk in tiles.chunks(cols) {
        out.push_str("<w:tr><w:trPr><w:cantSplit/></w:trPr>");
        for i in 0..cols {
            tile_cell(out, chunk.get(i), width);
        }
        out.push_str("</w:tr>");
    }
    out.push_str("</w:tbl>");
    out.push_str(&para("", "<w:spacing w:after=\"60\"/>", ""));
}

fn tile_cell(out: &mut String, tile: Option<&Tile>, width: u32) {
    let _ = write!(out, "<w:tc><w:tcPr><w:tcW w:w=\"{width}\" w:type=\"dxa\"/>");
    let Some(tile) = tile else {
        out.push_str("</w:tcPr><w:p/></w:tc>");
        return;
    };
    // White top and bottom rules separate the rows of tiles; the blue left
    // edge (heavier) separates tiles in a row.
    let _ = write!(
        out,
        "<w:tcBorders><w:top w:val=\"single\" w:sz=\"36\" w:space=\"0\" w:color=\"FFFFFF\"/>\
         <w:left w:val=\"single\" w:sz=\"36\" w:space=\"0\" w:color=\"{PRIMARY}\"/>\
         <w:bottom w:val=\"single\" w:sz=\"36\" w:space=\"0\" w:color=\"FFFFFF\"/><w:right w:val=\"nil\"/></w:tcBorders>\
         <w:shd w:val=\"clear\" w:color=\"auto\" w:fill=\"{TILE_FILL}\"/></w:tcPr>"
    );
    let tight = "<w:keepNext/><w:spacing w:before=\"0\" w:after=\"0\" w:line=\"240\" w:lineRule=\"auto\"/>";
    out.push_str(&para(
        "",
        tight,
        &run(
            &tile.value,
            &format!("<w:b/><w:bCs/><w:color w:val=\"{PRIMARY}\"/><w:sz w:val=\"36\"/><w:szCs w:val=\"36\"/>"),
        ),
    ));
    out.push_str(&para("", tight, &run(&tile.label, "<w:sz w:val=\"18\"/><w:szCs w:val=\"18\"/>")));
    if let Some(note) = &tile.note {
        out.push_str(&para(
            "",
            tight,
            &run(note, &format!("<w:color w:val=\"{MUTED}\"/><w:sz w:val=\"16\"/><w:szCs w:val=\"16\"/>")),
        ));
    }
    out.push_str("</w:tc>");
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::document::{Column, Meta};
    use crate::sample;

    /// The text of one part of a docx.
    fn part(bytes: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
        let mut file = zip.by_name(name).unwrap_or_else(|_| panic!("no part {name}"));
        let mut s = String::new();
        file.read_to_string(&mut s).expect("UTF-8");
        s
    }

    /// A chart-free document with every other block.
    fn text_doc(lang: Lang) -> Document {
        let mut doc = Document::new("2024年度学校社会工作服务年报");
        doc.lang = lang;
        doc.subtitle = Some("向阳社工服务中心".into());
        doc.meta = Meta {
            organisation: Some("向阳社工服务中心".into()),
            period: Some("2024年".into()),
            generated: Some("2025-01-15".into()),
            ..Meta::default()
        };
        doc.blocks = vec![
            Block::Heading { level: 1, text: "一、年度概况".into() },
            Block::Heading { level: 2, text: "（一）各校服务".into() },
            Block::Heading { level: 3, text: "1. 个案".into() },
            Block::Paragraph { text: "全年服务3208人次。\n第二行 & <x>".into() },
            Block::KeyFigures {
                tiles: vec![
                    Tile {
                        label: "服务学生人次".into(), value: "3208".into(), note: Some("较上年 +12%".into())
                    },
                    Tile { label: "高危学生".into(), value: "<5".into(), note: None },
                ],
            },
            Block::Table(Table {
                caption: Some("表1 各校服务场次".into()),
                columns: vec![Column::text("学校"), Column::numeric("场次"), Column::numeric("占比")],
                rows: vec![
                    vec![Cell::Text("青柳湖中学".into()), Cell::number(134.0), Cell::Withheld("—".into())],
                    vec![Cell::Text("金家庄小学".into()), Cell::Suppressed("<5".into()), Cell::Empty],
                ],
                totals: Some(vec![Cell::Text("合计".into()), Cell::number(138.0), Cell::Empty]),
                note: Some("数据来源：服务记录。".into()),
            }),
            Block::Note { text: "注：<5 表示少于5人。".into() },
            Block::PageBreak,
        ];
        doc
    }

    #[test]
    fn headings_use_word_heading_styles() {
        let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
        let body = part(&bytes, "word/document.xml");
        assert!(
            body.contains("<w:pStyle w:val=\"Title\"/></w:pPr><w:r><w:t xml:space=\"preserve\">2024年度"),
            "{body}"
        );
        for (id, text) in [("Heading1", "一、年度概况"), ("Heading2", "（一）各校服务"), ("Heading3", "1. 个案")]
        {
            let want = format!("<w:pStyle w:val=\"{id}\"/></w:pPr><w:r><w:t xml:space=\"preserve\">{text}</w:t>");
            assert!(body.contains(&want), "no {id} paragraph for {text}");
        }
        let styles = part(&bytes, "word/styles.xml");
        for (id, name, lvl) in
            [("Heading1", "heading 1", 0), ("Heading2", "heading 2", 1), ("Heading3", "heading 3", 2)]
        {
            let start = styles.find(&format!("w:styleId=\"{id}\"")).unwrap_or_else(|| panic!("no style {id}"));
            let style = &styles[start..start + styles[start..].find("</w:style>").unwrap()];
            assert!(style.contains(&format!("<w:name w:val=\"{name}\"/>")), "{style}");
            assert!(style.contains(&format!("<w:outlineLvl w:val=\"{lvl}\"/>")), "{style}");
        }
        assert!(styles.contains("w:styleId=\"Title\"><w:name w:val=\"Title\"/>"));
        assert!(styles.contains("w:styleId=\"Caption\"><w:name w:val=\"caption\"/>"));
    }

    #[test]
    fn table_header_repeats_rows_do_not_split_numbers_align_right() {
        let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
        let body = part(&bytes, "word/document.xml");
        let start = body.find("表1 各校服务场次").unwrap();
        let table = &body[start..start + body[start..].find("</w:tbl>").unwrap()];
        // The caption is a Caption paragraph, kept with the table by its style.
        assert!(body[..start].ends_with("<w:pStyle w:val=\"Caption\"/></w:pPr><w:r><w:t xml:space=\"preserve\">"));
        let rows: Vec<&str> = table.split("<w:tr>").skip(1).collect();
        assert_eq!(rows.len(), 4, "header, two rows, totals");
        assert!(rows[0].starts_with("<w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"), "{}", rows[0]);
        assert_eq!(table.matches("<w:tblHeader/>").count(), 1, "only the header row repeats");
        assert!(rows.iter().all(|r| r.contains("<w:cantSplit/>")));
        // Numeric columns right-aligned, in the header too; the text column not.
        assert!(rows[1].contains("<w:jc w:val=\"right\"/></w:pPr><w:r><w:t xml:space=\"preserve\">134</w:t>"));
        assert!(rows[0].contains(
            "<w:jc w:val=\"right\"/></w:pPr><w:r><w:rPr><w:b/><w:bCs/></w:rPr><w:t xml:space=\"preserve\">场次"
        ));
        assert!(!rows[1].contains("<w:jc w:val=\"right\"/></w:pPr><w:r><w:t xml:space=\"preserve\">青柳湖中学"));
        // Markers exactly as Cell::display gives them, escaped.
        assert!(rows[1].contains(">—</w:t>"), "{}", rows[1]);
        assert!(rows[2].contains(">&lt;5</w:t>"), "{}", rows[2]);
        // The totals row is bold and ruled off.
        assert!(rows[3].contains("<w:b/><w:bCs/></w:rPr><w:t xml:space=\"preserve\">合计"), "{}", rows[3]);
        assert!(rows[3].contains("<w:tcBorders><w:top w:val=\"single\""));
        // The note follows in the Note style.
        assert!(body[start..].contains("<w:pStyle w:val=\"Note\"/></w:pPr><w:r><w:t xml:space=\"preserve\">数据来源"));
    }

    #[test]
    fn chinese_font_and_language_are_declared() {
        let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
        let styles = part(&bytes, "word/styles.xml");
        let defaults = &styles[..styles.find("</w:docDefaults>").unwrap()];
        assert!(defaults.contains("w:eastAsia=\"Microsoft YaHei\""), "{defaults}");
        assert!(defaults.contains("w:ascii=\"Arial\""), "{defaults}");
        assert!(defaults.contains("<w:lang w:val=\"zh-CN\" w:eastAsia=\"zh-CN\""), "{defaults}");
        assert!(part(&bytes, "word/settings.xml").contains("<w:themeFontLang w:val=\"zh-CN\" w:eastAsia=\"zh-CN\"/>"));
        let en = render(&text_doc(Lang::En)).unwrap();
        let styles = part(&en, "word/styles.xml");
        assert!(styles.contains("<w:lang w:val=\"en-US\" w:eastAsia=\"zh-CN\""), "{styles}");
        assert!(part(&en, "word/footer1.xml").contains(">Page </w:t>"));
    }

    #[test]
    fn footer_numbers_pages_with_a_page_field_except_on_the_title_page() {
        let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
        let footer = part(&bytes, "word/footer1.xml");
        assert!(footer.contains("<w:instrText xml:space=\"preserve\"> PAGE </w:instrText>"), "{footer}");
        assert!(footer.contains("<w:fldChar w:fldCharType=\"begin\"/>") && footer.contains("w:fldCharType=\"end\""));
        let styles = part(&bytes, "word/styles.xml");
        let start = styles.find("w:styleId=\"Footer\"").unwrap();
        assert!(styles[start..].split("</w:style>").next().unwrap().contains("<w:jc w:val=\"center\"/>"));
        let body = part(&bytes, "word/document.xml");
        assert!(body.contains("<w:footerReference w:type=\"default\" r:id=\"rIdFooter\"/>"));
        assert!(body.contains("<w:titlePg/>"));
        let rels = part(&bytes, "word/_rels/document.xml.rels");
        assert!(rels.contains("Id=\"rIdFooter\"") && rels.contains("Target=\"footer1.xml\""));
    }

    #[test]
    fn core_properties_have_the_title_and_the_documents_own_date_only() {
        let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
        let core = part(&bytes, "docProps/core.xml");
        assert!(core.contains("<dc:title>2024年度学校社会工作服务年报</dc:title>"), "{core}");
        assert!(core.contains(">2025-01-15T00:00:00Z</dcterms:created>"), "{core}");
        assert!(!core.contains("creator") && !core.contains("lastModifiedBy"), "{core}");
        let mut doc = text_doc(Lang::ZhCn);
        doc.meta.generated = Some("2025年1月".into());
        let core = part(&render(&doc).unwrap(), "docProps/core.xml");
        assert!(!core.contains("dcterms:created"), "{core}");
    }

    #[test]
    fn the_same_document_gives_the_same_bytes() {
        // Charts and their workbooks too: no clock, no counter.
        let doc = sample::document(Lang::ZhCn);
        let a = render(&doc).unwrap();
        let b = render(&doc).unwrap();
        assert!(a == b, "two renders differ ({} and {} bytes)", a.len(), b.len());
        let c = render(&sample::document(Lang::En)).unwrap();
        assert!(a != c);
    }

    #[test]
    fn charts_are_native_word_charts_with_alt_text() {
        let doc = sample::document(Lang::ZhCn);
        let bytes = render(&doc).unwrap();
        let body = part(&bytes, "word/document.xml");
        assert_eq!(body.matches("<w:drawing>").count(), 3);
        for n in 1..=3 {
            let frame = format!(
                "<a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/chart\">\
                 <c:chart xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" r:id=\"rIdChart{n}\"/>"
            );
            assert!(body.contains(&frame), "no chart frame {n}");
            assert!(part(&bytes, &format!("word/charts/chart{n}.xml")).contains("<c:plotArea>"));
        }
        assert!(!body.contains("pic:") && !body.contains("<a:blip"), "no pictures left");
        assert!(body.contains("descr=\"图1 各类服务覆盖学生人次: 成长课堂 2913;"), "alt text holds the figures");
        // As wide as the PDF's chart (160 mm), as tall as its layout.
        assert!(body.contains("<wp:extent cx=\"5760000\""), "{body}");
        // Caption above the chart, kept with it.
        let cap = body.find("图2 极端事件发生率").unwrap();
        assert!(body[cap..].find("<w:drawing>").unwrap() < body[cap..].find("图3").unwrap());
    }

    #[test]
    fn a_total_that_sums_its_column_is_a_formula_others_are_plain() {
        // 12 + 30 = 42: a SUM(ABOVE) field holding 42. Students counted once: 12 and 30
        // make 38 (a student in both), no formula. A withheld cell above: no formula.
        let table = |rows: [Cell; 2], total: f64| Table {
            caption: None,
            columns: vec![Column::text("学校"), Column::numeric("人次")],
            rows: rows.into_iter().enumerate().map(|(k, c)| vec![Cell::Text(format!("校{k}")), c]).collect(),
            totals: Some(vec![Cell::Text("合计".into()), Cell::number(total)]),
            note: None,
        };
        for (rows, total, formula) in [
            ([Cell::number(12.0), Cell::number(30.0)], 42.0, true),
            ([Cell::number(12.0), Cell::number(30.0)], 38.0, false),
            ([Cell::number(12.0), Cell::Withheld("—".into())], 42.0, false),
        ] {
            let mut doc = Document::new("t");
            doc.blocks.push(Block::Table(table(rows, total)));
            let body = part(&render(&doc).unwrap(), "word/document.xml");
            assert_eq!(body.contains("=SUM(ABOVE)"), formula, "total {total}: {body}");
            assert!(body.contains(&format!(">{total}</w:t>")), "the value is in the file");
            assert!(!body.contains("自动更新"), "no editing instruction in the document");
        }
        // Grouped figures keep their grouping.
        let mut doc = Document::new("t");
        let grouped = |v: f64, d: &str| Cell::Number { value: v, display: d.into() };
        let mut t = table([grouped(1200.0, "1,200"), grouped(3000.0, "3,000")], 4200.0);
        t.totals = Some(vec![Cell::Text("合计".into()), grouped(4200.0, "4,200")]);
        doc.blocks.push(Block::Table(t));
        let body = part(&render(&doc).unwrap(), "word/document.xml");
        assert!(body.contains("=SUM(ABOVE) \\# &quot;#,##0&quot;"), "{body}");
    }

    #[test]
    fn a_small_table_keeps_its_rows_on_one_page() {
        // Three rows and a totals row: every row but the last keeps with the next;
        // a table of ten rows may break between rows.
        let table = |n: usize| Table {
            caption: None,
            columns: vec![Column::text("学校"), Column::numeric("人次")],
            rows: (0..n).map(|i| vec![Cell::Text(format!("校{i}")), Cell::number(1.0)]).collect(),
            totals: Some(vec![Cell::Text("合计".into()), Cell::number(n as f64)]),
            note: None,
        };
        for (n, kept_rows) in [(3, 3), (10, 0)] {
            let mut doc = Document::new("t");
            doc.blocks.push(Block::Table(table(n)));
            let body = part(&render(&doc).unwrap(), "word/document.xml");
            let rows: Vec<&str> = body.split("<w:tr>").skip(1).collect();
            let kept = rows.iter().skip(1).filter(|r| r.contains("<w:keepNext/>")).count();
            assert_eq!(kept, kept_rows, "{n} rows");
            assert!(!rows.last().unwrap().contains("<w:keepNext/>"), "the last row keeps with nothing");
        }
    }

    #[test]
    fn tiles_are_a_borderless_full_width_grid_without_empty_boxes() {
        let mut doc = Document::new("t");
        let tile = |v: &str| Tile { label: "服务学生人次".into(), value: v.into(), note: None };
        doc.blocks.push(Block::KeyFigures { tiles: vec![tile("3208"), tile("134"), tile("10"), tile("<5")] });
        let body = part(&render(&doc).unwrap(), "word/document.xml");
        let start = body.find("<w:tbl>").unwrap();
        let grid = &body[start..start + body[start..].find("</w:tbl>").unwrap()];
        assert!(grid.contains(&format!("<w:tblW w:w=\"{}\" w:type=\"dxa\"/>", TEXT_W / 2 * 2)));
        assert!(grid.contains("<w:insideV w:val=\"nil\"/>") && grid.contains("<w:top w:val=\"nil\"/>"));
        // Four tiles as two rows of two: four tinted cells, none blank (not 3 + 1).
        assert_eq!(grid.matches("<w:tc>").count(), 4);
        assert_eq!(grid.matches("w:fill=").count(), 4);
        assert_eq!(grid.matches("</w:tcPr><w:p/></w:tc>").count(), 0);
        assert!(grid.contains(">&lt;5</w:t>"));
        // Five as 3 + 2: one blank cell.
        let mut doc = Document::new("t");
        doc.blocks.push(Block::KeyFigures { tiles: vec![tile("1"), tile("2"), tile("3"), tile("4"), tile("5")] });
        let body = part(&render(&doc).unwrap(), "word/document.xml");
        assert_eq!(body.matches("<w:tc>").count(), 6);
        assert_eq!(body.matches("</w:tcPr><w:p/></w:tc>").count(), 1);
    }

    #[test]
    fn invalid_documents_and_characters_are_handled_without_panics() {
        let mut doc = Document::new("t\u{1}itle");
        doc.blocks.push(Block::Heading { level: 9, text: "h".into() });
        assert!(render(&doc).unwrap_err().0.contains("heading level 9"));
        doc.blocks.clear();
        doc.blocks.push(Block::Paragraph { text: "a\u{0}b\u{FFFF}c\td".into() });
        let body = part(&render(&doc).unwrap(), "word/document.xml");
        assert!(body.contains(">title</w:t>"), "{body}");
        assert!(body.contains(">abc</w:t><w:tab/><w:t xml:space=\"preserve\">d</w:t>"), "{body}");
        assert_eq!(esc("<5 & \"x\" 'y'"), "&lt;5 &amp; &quot;x&quot; &apos;y&apos;");
    }

    #[test]
    fn column_widths_fill_the_text_width() {
        let doc = text_doc(Lang::ZhCn);
        let Some(Block::Table(table)) = doc.blocks.iter().find(|b| matches!(b, Block::Table(_))) else {
            panic!("no table")
        };
        let widths = column_widths(table, TEXT_W);
        assert_eq!(widths.iter().sum::<u32>(), TEXT_W);
        assert!(widths[0] > widths[1], "{widths:?}");
    }
}
