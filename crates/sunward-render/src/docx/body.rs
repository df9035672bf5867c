//! `document.xml`: the title page (or an official document's head), each
//! block as Word paragraphs, tables and charts, an official document's
//! close and imprint, and the section.

use super::frames::{ChartFrame, drawing};
use super::official::{OFFICIAL_HEI, official_close, official_head, official_imprint, official_indent};
use super::page::{official_section, section};
use super::table::{table_xml, tiles_xml};
use super::xml::{MUTED, NS_R, NS_W, XML_DECL, page_break, para, run, text_width};
use crate::document::{Block, DocStyle, Document, Lang, Span, spans_or_plain};
use crate::layout::{self, OfficialFrame};

pub(super) fn document_xml(doc: &Document, frames: &[Option<ChartFrame>]) -> String {
    let mut body = String::with_capacity(32 * 1024);
    let official = doc.meta.style == DocStyle::Official;
    let frame = official.then(|| OfficialFrame::of(doc));
    match &frame {
        Some(frame) => official_head(&mut body, frame),
        None => title_page(&mut body, doc),
    }
    let mut ctx =
        Body { lang: doc.lang, official, lists: 0, attachments: 0, keep_next: false, text_w: text_width(doc) };
    // An official document's body ends at its first attachment: the list of
    // attachments, the signature and the annotation come there, the imprint at the very end.
    let end = frame.as_ref().map_or(doc.blocks.len(), |f| f.body_end);
    for (i, (block, chart)) in doc.blocks.iter().zip(frames).enumerate() {
        if let Some(frame) = &frame
            && i == end
        {
            official_close(&mut body, frame);
        }
        // An official document's last paragraph stays with the signature.
        ctx.keep_next = official && i + 1 == end;
        block_xml(&mut body, block, chart.as_ref(), &mut ctx);
    }
    if let Some(frame) = &frame {
        if end == doc.blocks.len() {
            official_close(&mut body, frame);
        }
        if let Some(imprint) = &frame.imprint {
            official_imprint(&mut body, imprint);
        }
    }
    format!(
        "{XML_DECL}<w:document xmlns:w=\"{NS_W}\" xmlns:r=\"{NS_R}\" \
         xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\" \
         xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\"><w:body>{body}{}</w:body></w:document>",
        if official { official_section() } else { section() }
    )
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
pub(super) struct Body {
    pub(super) lang: Lang,
    pub(super) official: bool,
    pub(super) lists: usize,
    /// The attachments begun so far.
    pub(super) attachments: usize,
    /// Keep this block's paragraphs with the next paragraph.
    keep_next: bool,
    /// The text width, in twips.
    pub(super) text_w: u32,
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
    if !ctx.official {
        return para("Heading1", "", &run(&layout::attachment_heading(ctx.attachments, title, ctx.lang), ""));
    }
    let label = crate::document::attachment_label(ctx.attachments, ctx.lang);
    let mut out = para("", "<w:keepNext/>", &run(&label, OFFICIAL_HEI));
    out.push_str(&para("", "<w:keepNext/>", ""));
    out.push_str(&para("Title", "<w:keepNext/>", &run(title, "")));
    out.push_str(&para("", "<w:keepNext/>", ""));
    out
}
