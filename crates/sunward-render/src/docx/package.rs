//! The package's own parts: content types, relationships, core
//! properties (title, language, the document's date), settings and the
//! font table.

use std::fmt::Write as _;

use super::frames::ChartFrame;
use super::xml::{EAST_ASIAN_FONT, LATIN_FONT, NS_W, REL_BASE, XML_DECL, esc, language};
use crate::document::{Document, Lang};

pub(super) fn content_types(frames: &[Option<ChartFrame>]) -> String {
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

pub(super) fn package_rels() -> String {
    format!(
        "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
         <Relationship Id=\"rId1\" Type=\"{REL_BASE}/officeDocument\" Target=\"word/document.xml\"/>\
         <Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>\
         </Relationships>"
    )
}

pub(super) fn document_rels(frames: &[Option<ChartFrame>]) -> String {
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
pub(super) fn core_properties(doc: &Document) -> String {
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

pub(super) fn settings(lang: Lang, official: bool) -> String {
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

pub(super) fn font_table() -> String {
    format!(
        "{XML_DECL}<w:fonts xmlns:w=\"{NS_W}\">\
         <w:font w:name=\"{LATIN_FONT}\"><w:panose1 w:val=\"020B0604020202020204\"/><w:charset w:val=\"00\"/><w:family w:val=\"swiss\"/><w:pitch w:val=\"variable\"/></w:font>\
         <w:font w:name=\"{EAST_ASIAN_FONT}\"><w:altName w:val=\"微软雅黑\"/><w:panose1 w:val=\"020B0503020204020204\"/><w:charset w:val=\"86\"/><w:family w:val=\"swiss\"/><w:pitch w:val=\"variable\"/></w:font>\
         </w:fonts>"
    )
}
