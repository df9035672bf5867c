//! An official document's frame in the PDF (GB/T 9704-2012): the type of
//! its parts in the official faces ([`OfficialType`]), and the pieces of
//! its head, close, attachment heads and imprint, drawn from the
//! [`OfficialFrame`] the layout layer builds.

use std::collections::BTreeSet;
use std::rc::Rc;

use genpdf::style::Style;
use genpdf::{Context, Position, render};

use super::breaking::line_height;
use super::error::PdfError;
use super::flow::{AtFoot, Flow, PageBreak, Piece, Rule};
use super::fonts::{OfficialFaces, family};
use super::style::{
    BODY_BLACK, INK, OFFICIAL_CHAR, OFFICIAL_LINE, OFFICIAL_RED, OFFICIAL_SIZE, OFFICIAL_TRACKING, STRONG, mm, pt_mm,
};
use super::text::{HAlign, TextPiece};
use crate::document::{Lang, Span};
use crate::layout::{Imprint, NumberLine, OfficialFrame};
use crate::plot;

/// The type of an official document's parts (GB/T 9704-2012).
#[derive(Debug, Clone)]
pub(super) struct OfficialType {
    /// The characters some official face lacks (`–`, `−`, `•`): printed in the report face.
    pub(super) lacks: Rc<BTreeSet<char>>,
    /// The body: 三号 仿宋 (or the Song face), black, on the grid.
    pub(super) body: Style,
    /// The title: 二号 小标宋 (or the Song face, heavier).
    pub(super) title: Style,
    /// The authority's mark: large, red, in the title face.
    pub(super) mark: Style,
    /// Level 1 headings and the `附件1` label: 三号 黑体.
    pub(super) heading: Style,
    /// Level 2 headings: 三号 楷体.
    subheading: Style,
    /// Notes: 四号 in the body face.
    pub(super) note: Style,
    /// The page numbers: 四号 in the Song face (GB/T 9704-2012, 7.5).
    pub(super) numbers: Style,
}

impl OfficialType {
    /// Adds the faces to the document (each subset to `chars`); without
    /// faces every part is set in the report face.
    pub(super) fn new(
        pdf: &mut genpdf::Document,
        faces: Option<&OfficialFaces>,
        chars: &BTreeSet<char>,
    ) -> Result<OfficialType, PdfError> {
        let mut lacks = BTreeSet::new();
        let mut face = |bytes: &[u8]| -> Result<Style, PdfError> {
            let has = crate::subset::covered(bytes, chars)?;
            lacks.extend(chars.difference(&has).copied());
            let family = family(crate::subset::subset(bytes, chars)?)?;
            Ok(Style::new().with_font_family(pdf.add_font_family(family)))
        };
        let (song, kai, body, title) = match faces {
            Some(f) => {
                let song = face(&f.song)?;
                let body = match &f.fangsong {
                    Some(bytes) => face(bytes)?,
                    None => song,
                };
                let title = match &f.title {
                    Some(bytes) => face(bytes)?,
                    None => song,
                };
                (song, face(&f.kai)?, body, title)
            }
            None => (Style::new(), Style::new(), Style::new(), Style::new()),
        };
        Ok(OfficialType {
            lacks: Rc::new(lacks),
            body: body.with_font_size(OFFICIAL_SIZE).with_color(BODY_BLACK),
            title: title.with_font_size(22).with_color(STRONG),
            mark: title.with_font_size(36).with_color(OFFICIAL_RED),
            heading: Style::new().with_font_size(OFFICIAL_SIZE).with_color(INK),
            subheading: kai.with_font_size(OFFICIAL_SIZE).with_color(INK),
            note: body.with_font_size(14).with_color(INK),
            numbers: song.with_font_size(14).with_color(INK),
        })
    }
}

/// An official document's heading: `一、` headings in 黑体, `（一）` in
/// 楷体, the others in the body face, heavy; all at body size, on the grid
/// and indented like paragraphs.
pub(super) fn official_heading(t: &OfficialType, level: u8, text: &str) -> TextPiece {
    let (style, spans) = match level {
        1 => (t.heading, vec![Span::plain(text)]),
        2 => (t.subheading, vec![Span::plain(text)]),
        _ => (t.body, vec![Span::strong(text)]),
    };
    let mut heading = TextPiece::styled(&spans, style, 1.0).on_grid(level >= 3).with_lacks(Some(&t.lacks));
    heading.first = 2.0 * OFFICIAL_CHAR;
    heading
}

/// The head of an official document (GB/T 9704-2012): the mark
/// (`内部资料`) top left, the issuing authority's mark (`…文件`) large, red
/// and centred, the document number centred above the red rule, the title
/// centred two lines below, the main recipient flush left.
pub(super) fn official_head(flow: &mut Flow, frame: &OfficialFrame, t: &OfficialType) {
    let body = t.body;
    if let Some(mark) = &frame.marking {
        let mut p = TextPiece::new(mark, t.heading, 1.3).with_lacks(Some(&t.lacks));
        p.pad = (0.0, 2.0);
        flow.push(p);
    }
    if let Some(name) = &frame.issuer_mark {
        let mut p = TextPiece::new(name, t.mark, 1.2).with_lacks(Some(&t.lacks));
        p.halign = HAlign::Centre;
        p.pad = (8.0, 6.0);
        flow.push(p);
    }
    number_line(flow, frame.number.as_ref(), t);
    flow.push(Rule::official_red());
    let mut title = TextPiece::styled(&[Span::plain(frame.title.as_str())], t.title, 1.35).with_lacks(Some(&t.lacks));
    title.halign = HAlign::Centre;
    title.phrases = true;
    title.pad = (4.0, 6.0);
    title.keep = true;
    flow.push(title);
    if let Some(sub) = &frame.subtitle {
        let mut p = TextPiece::new(sub, body, 1.0).on_grid(true).with_lacks(Some(&t.lacks));
        p.halign = HAlign::Centre;
        p.pad = (0.0, OFFICIAL_LINE);
        p.keep = true;
        flow.push(p);
    }
    if let Some(recipient) = &frame.recipient {
        let mut p = TextPiece::new(recipient, body, 1.0).on_grid(true).with_lacks(Some(&t.lacks));
        p.keep = true;
        flow.push(p);
    }
}

/// The line above the red rule: the number and the signer on either side,
/// or the number centred.
fn number_line(flow: &mut Flow, line: Option<&NumberLine>, t: &OfficialType) {
    let plain = t.body.with_color(INK);
    match line {
        Some(NumberLine::Signed { number, signer }) => {
            flow.push(TwoSided { left: number.clone(), right: signer.clone(), style: plain })
        }
        Some(NumberLine::Centred(number)) => {
            let mut p = TextPiece::new(number, plain, 1.3).with_lacks(Some(&t.lacks));
            p.halign = HAlign::Centre;
            p.pad = (4.0, 0.0);
            flow.push(p);
        }
        None => {}
    }
}

/// The end of an official document's body: the list of its attachments
/// (附件说明) a blank line below the text, two characters in, each further
/// title under the first; then the issuer centred over the date, the date
/// four characters in from the right, after a blank line; then the
/// audience as the annotation (`（此件公开发布）`), indented two characters.
pub(super) fn official_close(flow: &mut Flow, frame: &OfficialFrame, t: &OfficialType) {
    let body = t.body;
    // Never a page with the signature alone: the last paragraph comes along.
    if let Some(last) = flow.pieces.last_mut() {
        last.keep_with_next();
    }
    attachment_list(flow, frame, t);
    if let Some(signature) = &frame.signature {
        flow.push(Signature {
            issuer: signature.issuer.clone(),
            date: signature.date.clone(),
            style: body.with_color(INK),
            right: 4.0 * OFFICIAL_CHAR,
            before: OFFICIAL_LINE,
            line: OFFICIAL_LINE,
            keep: frame.annotation.is_some(),
        });
    }
    if let Some(annotation) = &frame.annotation {
        let mut p = TextPiece::new(annotation, body, 1.0).on_grid(true).with_lacks(Some(&t.lacks));
        p.first = 2.0 * OFFICIAL_CHAR;
        p.pad = (OFFICIAL_LINE, 0.0);
        flow.push(p);
    }
}

/// The list of attachments, each title hanging after its marker; the
/// markers of further lines stand under the first line's number.
fn attachment_list(flow: &mut Flow, frame: &OfficialFrame, t: &OfficialType) {
    let grid_width =
        |s: &str| plot::text_width(s, pt_mm(f64::from(OFFICIAL_SIZE))) + s.chars().count() as f64 * OFFICIAL_TRACKING;
    let lead = grid_width(frame.attachments_lead);
    for (i, line) in frame.attachments.iter().enumerate() {
        let mut p = TextPiece::new(&line.title, t.body, 1.0).on_grid(true).with_lacks(Some(&t.lacks));
        // The marker of the first starts two characters in; the others' numbers line up under its number.
        let marker_x = 2.0 * OFFICIAL_CHAR + if line.under_first { lead } else { 0.0 };
        p.label = Some((line.marker.clone(), marker_x));
        p.hang = true;
        if i == 0 {
            p.pad = (OFFICIAL_LINE, 0.0);
        }
        p.keep = true;
        flow.push(p);
    }
}

/// An attachment's head (GB/T 9704-2012, 8.1): a new page, `附件1` in 黑体
/// flush left on its first line, the title centred on its third.
pub(super) fn official_attachment_head(flow: &mut Flow, lang: Lang, t: &OfficialType, n: usize, title: &str) {
    flow.pieces.push(Box::new(PageBreak));
    let mut label = TextPiece::new(&crate::document::attachment_label(n, lang), t.heading, 1.0)
        .on_grid(false)
        .with_lacks(Some(&t.lacks));
    label.keep = true;
    label.pad = (0.0, OFFICIAL_LINE);
    flow.push(label);
    let mut head = TextPiece::new(title, t.title, 1.35).with_lacks(Some(&t.lacks));
    head.halign = HAlign::Centre;
    head.phrases = true;
    head.pad = (0.0, 6.0);
    head.keep = true;
    flow.push(head);
}

/// The imprint (版记) at the foot of the last page: rules above, between
/// and below the copies line and the printing office with its date, in
/// 四号 (14 pt), the last rule on the text area's bottom edge.
pub(super) fn official_imprint(flow: &mut Flow, imprint: &Imprint, t: &OfficialType) {
    let small = t.body.with_font_size(14).with_color(INK);
    let mut parts: Vec<Box<dyn Piece>> = vec![Box::new(Rule::imprint(3, 0.0))];
    if let Some(copies) = &imprint.copies {
        let mut p = TextPiece::new(copies, small, 1.3).with_lacks(Some(&t.lacks));
        p.first = pt_mm(14.0);
        parts.push(Box::new(p));
        parts.push(Box::new(Rule::imprint(1, 0.0)));
    }
    if let Some((office, date)) = &imprint.printed {
        parts.push(Box::new(TwoSided { left: office.clone(), right: date.clone(), style: small }));
    }
    parts.push(Box::new(Rule::imprint(3, 0.0)));
    flow.pieces.push(Box::new(AtFoot { parts }));
}

/// One line with text a character in from the left and text a character in
/// from the right: the document number and the signer (签发人) of a report
/// to a higher authority (GB/T 9704-2012, 7.2.4), or the printing office
/// and the date in the imprint.
struct TwoSided {
    pub(super) left: String,
    pub(super) right: String,
    pub(super) style: Style,
}

impl Piece for TwoSided {
    fn need(&mut self, context: &Context, _width: f64) -> f64 {
        4.0 + line_height(context, self.style)
    }

    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let one_char = pt_mm(f64::from(self.style.font_size()));
        let w = mm(area.size().width);
        let height = line_height(context, self.style);
        let y = 4.0;
        area.print_str(&context.font_cache, Position::new(one_char, y), self.style, &self.left)?;
        let right_w = mm(self.style.str_width(&context.font_cache, &self.right));
        area.print_str(&context.font_cache, Position::new(w - one_char - right_w, y), self.style, &self.right)?;
        Ok((4.0 + height, false))
    }
}

/// An official document's signature: the issuer centred over the date,
/// the date `right` millimetres in from the right margin; kept together.
struct Signature {
    issuer: Option<String>,
    pub(super) date: Option<String>,
    pub(super) style: Style,
    pub(super) right: f64,
    pub(super) before: f64,
    /// The line pitch (the official grid's).
    pub(super) line: f64,
    /// Keep with what follows (the annotation).
    pub(super) keep: bool,
}

impl Piece for Signature {
    fn need(&mut self, _context: &Context, _width: f64) -> f64 {
        self.before + 2.0 * self.line
    }

    fn keeps_with_next(&self) -> bool {
        self.keep
    }

    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let width = mm(area.size().width);
        let lh = self.line;
        let w = |s: &str| mm(self.style.str_width(&context.font_cache, s));
        let mut y = if at_top { 0.0 } else { self.before };
        let date_w = self.date.as_deref().map_or(0.0, w);
        // The centre of the date (or of the space it would take).
        let centre = width - self.right - date_w / 2.0;
        if let Some(issuer) = &self.issuer {
            let x = (centre - w(issuer) / 2.0).clamp(0.0, (width - w(issuer)).max(0.0));
            area.print_str(&context.font_cache, Position::new(x, y), self.style, issuer)?;
            y += lh;
        }
        if let Some(date) = &self.date {
            area.print_str(&context.font_cache, Position::new(width - self.right - date_w, y), self.style, date)?;
            y += lh;
        }
        Ok((y, false))
    }
}
