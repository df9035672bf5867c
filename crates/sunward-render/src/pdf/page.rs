//! The page furniture of a standard document: the title block (a title
//! page, or the top of page 1 for a compact report), and the
//! [`Decorator`] that draws every page's header and footer — or an
//! official document's `— N —` page numbers.

use std::rc::Rc;

use genpdf::style::Style;
use genpdf::{Context, Margins, Mm, PageDecorator, Position, render};

use super::flow::{Flow, Gap, PageBreak, Rule, Shared};
use super::style::{INK, MUTED, OFFICIAL_BOTTOM, PRIMARY, RULE, mm, pt_mm};
use super::text::TextPiece;
use crate::document::{Document, Lang};

fn footer_text(doc: &Document) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(doc.meta.organisation.clone());
    parts.extend(doc.meta.period.clone());
    parts.join(" · ")
}

/// The title, subtitle and facts: on a page of their own, lower down, for a
/// long report; at the top of page 1 above a rule, with the body following,
/// for a compact one.
pub(super) fn title_block(flow: &mut Flow, doc: &Document, compact: bool) {
    let lang = doc.lang;
    if !compact {
        flow.push(Gap(60.0));
    }
    let (title_size, sub_size) = if compact { (20, 13) } else { (24, 15) };
    let mut title = TextPiece::new(&doc.title, Style::new().with_font_size(title_size).with_color(PRIMARY), 1.3);
    title.pad = (0.0, if compact { 2.0 } else { 5.0 });
    flow.push(title);
    if let Some(sub) = &doc.subtitle {
        let mut p = TextPiece::new(sub, Style::new().with_font_size(sub_size).with_color(INK), 1.3);
        p.pad = (0.0, if compact { 3.0 } else { 10.0 });
        flow.push(p);
    }
    for (label, value) in doc.title_facts() {
        let sep = lang.pick("：", ": ");
        let size = if compact { 10 } else { 11 };
        flow.push(TextPiece::new(
            &format!("{label}{sep}{value}"),
            Style::new().with_font_size(size).with_color(MUTED),
            1.4,
        ));
    }
    if let Some(audience) = &doc.meta.audience {
        let mut p = TextPiece::new(audience, Style::new().with_font_size(11).with_color(PRIMARY), 1.4);
        p.pad = (4.0, 0.0);
        flow.push(p);
    }
    if compact {
        flow.push(Rule::title());
    } else {
        flow.pieces.push(Box::new(PageBreak));
    }
}

/// Header (the title, a rule) and footer (organisation and period, the page
/// number) on every page after the title page — and the footer on page 1
/// too when the title block shares it with the body — drawn directly with
/// fixed positions so they can never be skipped for lack of room.
pub(super) struct Decorator {
    shared: Rc<Shared>,
    header: String,
    footer: String,
    lang: Lang,
    footer_on_first: bool,
    /// An official document, with the style of its page numbers: no header,
    /// `— N —` under the text on every page, on the outer edge.
    official: Option<Style>,
}

impl Decorator {
    /// The decorator of `doc`'s pages; `official` gives an official
    /// document's page-number style.
    pub(super) fn new(doc: &Document, shared: Rc<Shared>, official: Option<Style>) -> Decorator {
        Decorator {
            shared,
            header: match &doc.meta.marking {
                Some(mark) => format!("{mark} · {}", doc.title),
                None => doc.title.clone(),
            },
            footer: footer_text(doc),
            lang: doc.lang,
            footer_on_first: doc.is_compact(),
            official,
        }
    }
}

impl PageDecorator for Decorator {
    fn decorate_page<'a>(
        &mut self,
        context: &Context,
        mut area: render::Area<'a>,
        style: Style,
    ) -> Result<render::Area<'a>, genpdf::error::Error> {
        let page = self.shared.page.get() + 1;
        self.shared.page.set(page);
        if let Some(numbers) = self.official {
            // A4 with the text area of GB/T 9704-2012: 156 mm × 225 mm, 37 mm
            // from the top and 28 mm from the left; the page number 7 mm below it.
            // `— 2 —`: the dashes and the number printed apart, half a character
            // between them, so that text extraction keeps the spaces.
            let big = numbers;
            let number = page.to_string();
            let w = |s: &str| mm(big.str_width(&context.font_cache, s));
            let gap = pt_mm(14.0) / 2.0;
            let total = 2.0 * w("—") + 2.0 * gap + w(&number);
            // On the outer edge, one character in from the text area's side: odd pages
            // on the right, even pages on the left (GB/T 9704-2012, 7.5).
            let one_char = pt_mm(14.0);
            let mut x = if page % 2 == 1 { 28.0 + 156.0 - one_char - total } else { 28.0 + one_char };
            let y = mm(area.size().height) - OFFICIAL_BOTTOM + 5.0;
            for (piece, after) in [("—", gap), (number.as_str(), gap), ("—", 0.0)] {
                area.print_str(&context.font_cache, Position::new(x, y), big, piece)?;
                x += w(piece) + after;
            }
            area.add_margins(Margins::trbl(37, 26, OFFICIAL_BOTTOM, 28));
            return Ok(area);
        }
        area.add_margins(Margins::trbl(14, 20, 12, 20));
        let (w, h) = (area.size().width, area.size().height);
        let small = style.with_font_size(8).with_color(MUTED);
        if page > 1 {
            area.print_str(&context.font_cache, Position::new(0, 0), small, &self.header)?;
            area.draw_line(vec![Position::new(0, 5.5), Position::new(w, Mm::from(5.5))], Style::new().with_color(RULE));
        }
        if page > 1 || self.footer_on_first {
            let number = match self.lang {
                Lang::ZhCn => format!("第{page}页"),
                Lang::En => format!("Page {page}"),
            };
            let nw = small.str_width(&context.font_cache, &number);
            let y = h - Mm::from(4.0);
            area.draw_line(
                vec![Position::new(0, y - Mm::from(1.5)), Position::new(w, y - Mm::from(1.5))],
                Style::new().with_color(RULE),
            );
            area.print_str(&context.font_cache, Position::new(Mm::from(0.0), y), small, &self.footer)?;
            area.print_str(&context.font_cache, Position::new(w - nw, y), small, &number)?;
        }
        area.add_margins(Margins::trbl(10, 0, 10, 0));
        Ok(area)
    }
}
