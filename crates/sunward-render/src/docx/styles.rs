//! `styles.xml` and `numbering.xml`: the document defaults, the Normal
//! style and the paragraph styles (Title, Heading 1–3, Caption, Note,
//! Table Text, Footer) of a report or an official document, and the list
//! numbering with one instance per list.

use std::fmt::Write as _;

use super::official::{OFFICIAL_CONDENSE, official_font, official_indent};
use super::xml::{
    EAST_ASIAN_FONT, INK, LATIN_FONT, MUTED, NS_W, OFFICIAL_CHAR, OFFICIAL_SZ, PRIMARY, XML_DECL, language,
};
use crate::document::{Block, Document, Lang, List};

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
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    /// Word's own built-in style (shown under its localised name).
    builtin: bool,
    pub(super) ppr: String,
    pub(super) rpr: String,
}

/// The styles; an official document sets its text in 三号 (16 pt) with a
/// two-character first-line indent, black headings at body size, and its
/// title centred in 二号 (22 pt).
pub(super) fn styles(lang: Lang, official: bool) -> String {
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

/// An official document's heading style: `一、` in 黑体, `（一）` in 楷体,
/// `1.` in 仿宋 bold (the conventions GB/T 9704's example follows), all at
/// body size and indented like paragraphs.
fn official_heading(level: u8) -> ParaStyle {
    let sz = OFFICIAL_SZ;
    ParaStyle {
        id: ["Heading1", "Heading2", "Heading3"][usize::from(level - 1)],
        name: ["heading 1", "heading 2", "heading 3"][usize::from(level - 1)],
        builtin: true,
        ppr: format!("<w:keepNext/><w:keepLines/>{}<w:outlineLvl w:val=\"{}\"/>", official_indent(), level - 1),
        rpr: format!(
            "{}<w:color w:val=\"000000\"/><w:sz w:val=\"{sz}\"/><w:szCs w:val=\"{sz}\"/>",
            match level {
                1 => official_font("黑体", "SimHei"),
                2 => official_font("楷体", "KaiTi"),
                _ => format!("{}<w:b/><w:bCs/>", official_font("仿宋", "FangSong")),
            }
        ),
    }
}

/// An official document's style sheet: 三号 仿宋 on a fixed 22-line grid,
/// a 二号 小标宋 title, the headings of [`official_heading`].
fn official_styles(lang: Lang) -> String {
    let sz = OFFICIAL_SZ;
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
        official_heading(1),
        official_heading(2),
        official_heading(3),
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

/// The list numbering: one abstract numbering for numbered lists (`1.`),
/// one for bulleted ones (`•`), each with a hanging indent, and one
/// instance per list block so that every list starts at its own number.
pub(super) fn numbering(doc: &Document, official: bool) -> String {
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
pub(super) fn lists(doc: &Document) -> impl Iterator<Item = &List> {
    doc.blocks.iter().filter_map(|b| match b {
        Block::List(list) => Some(list),
        _ => None,
    })
}
