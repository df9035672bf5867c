//! The page: footers (the page number as a `PAGE` field, `第N页`, or an
//! official document's `— N —` on the outer edge) and the section
//! properties (A4 and its margins).

use super::xml::{MARGIN_X, NS_W, OFFICIAL_CHAR, OFFICIAL_LEFT, OFFICIAL_RIGHT, PAGE_H, PAGE_W, XML_DECL, run};
use crate::document::Lang;

/// The footer on every page after the title page: the page number, centred,
/// as a `PAGE` field (`第N页` / `Page N`), after the internal mark if any.
pub(super) fn footer(lang: Lang, marking: Option<&str>) -> String {
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
pub(super) enum Side {
    Left,
    Right,
}

/// An official document's page number, `— N —`, on the outer edge one
/// character in from the text area: the right on odd pages, the left on
/// even ones (GB/T 9704-2012, 7.5).
pub(super) fn official_footer(side: Side) -> String {
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

/// The title page's footer: empty.
pub(super) fn empty_footer() -> String {
    format!("{XML_DECL}<w:ftr xmlns:w=\"{NS_W}\"><w:p><w:pPr><w:pStyle w:val=\"Footer\"/></w:pPr></w:p></w:ftr>")
}

/// A4, 20 mm side margins, the numbered footer on every page but the first.
pub(super) fn section() -> String {
    format!(
        "<w:sectPr><w:footerReference w:type=\"default\" r:id=\"rIdFooter\"/><w:footerReference w:type=\"first\" r:id=\"rIdFooterFirst\"/>\
         <w:pgSz w:w=\"{PAGE_W}\" w:h=\"{PAGE_H}\"/>\
         <w:pgMar w:top=\"1304\" w:right=\"{MARGIN_X}\" w:bottom=\"1304\" w:left=\"{MARGIN_X}\" w:header=\"709\" w:footer=\"567\" w:gutter=\"0\"/>\
         <w:cols w:space=\"425\"/><w:titlePg/></w:sectPr>"
    )
}

/// An official document's page (GB/T 9704-2012): top margin 37 mm, bottom
/// 35 mm, left 28 mm, right 26 mm (a 156 mm × 225 mm text area), the
/// `— N —` footer on every page, on the outer edge.
pub(super) fn official_section() -> String {
    format!(
        "<w:sectPr><w:footerReference w:type=\"default\" r:id=\"rIdFooter\"/><w:footerReference w:type=\"even\" r:id=\"rIdFooterFirst\"/>\
         <w:pgSz w:w=\"{PAGE_W}\" w:h=\"{PAGE_H}\"/>\
         <w:pgMar w:top=\"2098\" w:right=\"{OFFICIAL_RIGHT}\" w:bottom=\"1984\" w:left=\"{OFFICIAL_LEFT}\" w:header=\"851\" w:footer=\"1247\" w:gutter=\"0\"/>\
         <w:cols w:space=\"425\"/></w:sectPr>"
    )
}
