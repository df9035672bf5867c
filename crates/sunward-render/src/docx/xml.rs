//! The basics every part of the package is written with: the fonts, the
//! page's measures and colours, the namespaces, escaping, and a run and a
//! paragraph of WordprocessingML.

use std::fmt::Write as _;

use crate::document::{DocStyle, Document, Lang};

/// The font Word and WPS use for Chinese text: Microsoft YaHei (微软雅黑),
/// on every Windows since Vista and in WPS; elsewhere the word processor
/// substitutes its own CJK sans. A sans serif, like the PDF's WenQuanYi Micro Hei.
pub const EAST_ASIAN_FONT: &str = "Microsoft YaHei";
/// The font for Latin letters and figures.
pub const LATIN_FONT: &str = "Arial";

/// A4 in twentieths of a point.
pub(super) const PAGE_W: u32 = 11906;
pub(super) const PAGE_H: u32 = 16838;
/// Left and right margins (20 mm, as the PDF).
pub(super) const MARGIN_X: u32 = 1134;
/// The text width in twips.
pub(super) const TEXT_W: u32 = PAGE_W - 2 * MARGIN_X;
/// An official document's margins (GB/T 9704-2012: left 28 mm, right 26 mm)
/// and text width (156 mm), in twips.
pub(super) const OFFICIAL_LEFT: u32 = 1588;
pub(super) const OFFICIAL_RIGHT: u32 = 1474;
pub(super) const OFFICIAL_TEXT_W: u32 = PAGE_W - OFFICIAL_LEFT - OFFICIAL_RIGHT;

/// The text width of a document's pages, in twips.
pub(super) fn text_width(doc: &Document) -> u32 {
    if doc.meta.style == DocStyle::Official { OFFICIAL_TEXT_W } else { TEXT_W }
}
/// English Metric Units per millimetre (drawings are sized in EMU).
pub(super) const EMU_PER_MM: f64 = 36_000.0;
/// The widest a chart is set, in millimetres (as the PDF).
pub(super) const CHART_MM: f64 = 160.0;

pub(super) const PRIMARY: &str = "2F6F9F";
pub(super) const INK: &str = "222222";
pub(super) const MUTED: &str = "666666";
pub(super) const RULE: &str = "B0B8C0";
pub(super) const TILE_FILL: &str = "F3F6F9";
/// The red of an official document's authority mark and rule.
pub(super) const OFFICIAL_RED: &str = "C00000";
/// An official document's body size (三号, 16 pt) in half-points, and one
/// character's width in twips.
pub(super) const OFFICIAL_SZ: u32 = 32;
pub(super) const OFFICIAL_CHAR: u32 = 320;

pub(super) const NS_W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
pub(super) const NS_R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
pub(super) const REL_BASE: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
pub(super) const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

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

/// The language tag Word uses for Latin text in this document.
pub(super) fn language(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhCn => "zh-CN",
        Lang::En => "en-US",
    }
}

/// A run of text with run properties `rpr` (the inside of `w:rPr`); line
/// breaks become `w:br`, tabs `w:tab`.
pub(super) fn run(text: &str, rpr: &str) -> String {
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
pub(super) fn para(style: &str, ppr: &str, runs: &str) -> String {
    let style = if style.is_empty() { String::new() } else { format!("<w:pStyle w:val=\"{style}\"/>") };
    if style.is_empty() && ppr.is_empty() {
        format!("<w:p>{runs}</w:p>")
    } else {
        format!("<w:p><w:pPr>{style}{ppr}</w:pPr>{runs}</w:p>")
    }
}

pub(super) fn page_break() -> String {
    "<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>".to_string()
}
