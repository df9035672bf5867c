//! Running text: a [`TextPiece`] (a paragraph line, heading, caption or
//! note) wrapped once for its width and drawn line by line, breaking
//! between lines with no widow or orphan; and the pieces a heading, a
//! line of styled text and a list become.

use std::collections::BTreeSet;
use std::rc::Rc;

use genpdf::style::Style;
use genpdf::{Context, Position, render};

use super::breaking::{Tone, line_height, phrase_lines, toned_tokens, wrap_ranges};
use super::flow::{Flow, Mark, Piece, Shared};
use super::style::{Grid, INK, OFFICIAL_LINE, OFFICIAL_TRACKING, PRIMARY, mm, pt_mm, report_face};
use crate::document::{List, Span, spans_or_plain};
use crate::plot;

/// A standard document's heading: larger, the first level in the primary colour.
pub(super) fn standard_heading(level: u8, text: &str) -> TextPiece {
    let (size, color, pad) = match level {
        1 => (16, PRIMARY, (5.0, 2.0)),
        2 => (13, INK, (3.5, 2.0)),
        _ => (11, INK, (2.5, 2.0)),
    };
    let mut heading = TextPiece::new(text, Style::new().with_font_size(size).with_color(color), 1.3);
    heading.pad = pad;
    heading
}

/// Styled text cut at its line breaks (`\n`), one list of spans per line.
pub(super) fn split_lines(spans: &[Span]) -> Vec<Vec<Span>> {
    let mut lines = vec![Vec::new()];
    for span in spans {
        for (i, part) in span.text.split('\n').enumerate() {
            if i > 0 {
                lines.push(Vec::new());
            }
            if !part.is_empty() {
                lines
                    .last_mut()
                    .unwrap_or_else(|| unreachable!())
                    .push(Span { text: part.to_string(), ..span.clone() });
            }
        }
    }
    lines
}

/// A list: each item a paragraph whose marker (`1.`, `•`) hangs in the
/// gutter before its text, which wraps under itself (a hanging indent).
/// `official` gives the characters an official body face lacks, and puts the items on the grid.
pub(super) fn list_pieces(
    flow: &mut Flow,
    list: &List,
    body: Style,
    spacing: f64,
    indent: f64,
    official: Option<&Rc<BTreeSet<char>>>,
) {
    let size = f64::from(body.font_size());
    let em = pt_mm(size);
    let markers: Vec<String> = (0..list.items.len()).map(|i| list.marker(i)).collect();
    let widest = markers.iter().map(|m| plot::text_width(m, em)).fold(0.0, f64::max);
    // The marker starts at the paragraph indent (or one character in), the text after the widest marker.
    let label_x = if indent > 0.0 { indent } else { em };
    let hang = label_x + widest + 0.5 * em;
    let last = list.items.len().saturating_sub(1);
    for (i, item) in list.items.iter().enumerate() {
        let spans = spans_or_plain(&item.text, &item.spans);
        let lines = split_lines(&spans);
        for (j, line) in lines.iter().enumerate() {
            let mut p = TextPiece::styled(line, body, spacing).with_lacks(official);
            if official.is_some() {
                p = p.on_grid(true);
            }
            p.indent = hang;
            if j == 0 {
                p.label = Some((markers[i].clone(), label_x));
            }
            let after = if indent > 0.0 {
                0.0
            } else if i == last {
                2.5
            } else {
                1.2
            };
            p.pad = (0.0, if j + 1 == lines.len() { after } else { 0.0 });
            flow.push(p);
        }
    }
}

/// Running text (a paragraph line, a heading, a note): wrapped once for the
/// width, drawn line by line, breaking across pages between lines but
/// never leaving one line alone on either side of a break.
pub(super) struct TextPiece {
    /// The tokens ([`tokens`](super::breaking::tokens)), each character with its tone.
    pub(super) tokens: Vec<Vec<(char, Tone)>>,
    pub(super) style: Style,
    /// Space above and below (mm); the space above is dropped at a page top.
    pub(super) pad: (f64, f64),
    pub(super) keep: bool,
    /// The outline level and the shared record, for headings.
    pub(super) mark: Option<(u8, Rc<Shared>)>,
    pub(super) text: String,
    /// Left indent of every line (mm).
    pub(super) indent: f64,
    /// Further indent of the first line (mm).
    pub(super) first: f64,
    /// A marker printed on the first line at the given x (mm): a list item's number.
    pub(super) label: Option<(String, f64)>,
    pub(super) halign: HAlign,
    /// The official character grid, for an official document's body.
    pub(super) grid: Option<Grid>,
    /// The text hangs after the label: every line starts where the label ends.
    pub(super) hang: bool,
    /// A two-line title breaks between phrases ([`phrase_lines`]).
    pub(super) phrases: bool,
    /// The characters the style's face lacks, printed in the report face
    /// instead (an official face has no `–`, `−` or `•`).
    pub(super) lacks: Option<Rc<BTreeSet<char>>>,
    /// Each line as runs of one tone.
    pub(super) lines: Vec<Vec<(String, Tone)>>,
    pub(super) width: f64,
    pub(super) next: usize,
}

/// A line's runs as plain text.
pub(super) fn runs_text(runs: &[(String, Tone)]) -> String {
    runs.iter().map(|(t, _)| t.as_str()).collect()
}

/// How a line of running text sits between the margins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HAlign {
    Left,
    Centre,
}

impl TextPiece {
    pub(super) fn new(text: &str, style: Style, spacing: f64) -> TextPiece {
        TextPiece::styled(&[Span::plain(text)], style, spacing)
    }

    /// Running text in styled spans: strong runs heavy, emphasised ones coloured.
    pub(super) fn styled(spans: &[Span], style: Style, spacing: f64) -> TextPiece {
        let chars: Vec<(char, Tone)> =
            spans.iter().flat_map(|s| s.text.chars().map(move |c| (c, Tone::of(s)))).collect();
        TextPiece {
            tokens: toned_tokens(&chars),
            style: style.with_line_spacing(spacing),
            pad: (0.0, 0.0),
            keep: false,
            mark: None,
            text: chars.iter().map(|(c, _)| c).collect(),
            indent: 0.0,
            first: 0.0,
            label: None,
            halign: HAlign::Left,
            grid: None,
            hang: false,
            phrases: false,
            lacks: None,
            lines: Vec::new(),
            width: -1.0,
            next: 0,
        }
    }

    /// Sets the piece on the official grid: lines [`OFFICIAL_LINE`] apart
    /// and, when `tracked` (text in [`BODY_BLACK`](super::style::BODY_BLACK)), characters
    /// [`OFFICIAL_TRACKING`] closer.
    pub(super) fn on_grid(mut self, tracked: bool) -> TextPiece {
        self.grid = Some(Grid { line: OFFICIAL_LINE, tracking: if tracked { OFFICIAL_TRACKING } else { 0.0 } });
        self
    }

    /// Prints the characters in `lacks` in the report face.
    pub(super) fn with_lacks(mut self, lacks: Option<&Rc<BTreeSet<char>>>) -> TextPiece {
        self.lacks = lacks.cloned();
        self
    }

    /// The height of one line.
    pub(super) fn line(&self, context: &Context) -> f64 {
        self.grid.map_or_else(|| line_height(context, self.style), |g| g.line)
    }

    /// The width of a run of this piece's text.
    fn run_width(&self, context: &Context, text: &str) -> f64 {
        let tracking = self.grid.map_or(0.0, |g| g.tracking);
        let glyphs: f64 = self.segments(text).map(|(part, style)| mm(style.str_width(&context.font_cache, part))).sum();
        glyphs + tracking * text.chars().count() as f64
    }

    /// The text in pieces each printed in one face: the piece's own, or the
    /// report face for the characters its face lacks ([`TextPiece::lacks`]).
    fn segments<'t>(&self, text: &'t str) -> impl Iterator<Item = (&'t str, Style)> + 't {
        let lacks = self.lacks.clone();
        let (own, fallback) = (self.style, report_face(self.style));
        let missing = move |c: char| lacks.as_ref().is_some_and(|l| l.contains(&c));
        let mut rest = text;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let side = missing(first);
            let end = rest.char_indices().find(|&(_, c)| missing(c) != side).map_or(rest.len(), |(i, _)| i);
            let (part, tail) = rest.split_at(end);
            rest = tail;
            Some((part, if side { fallback } else { own }))
        })
    }

    pub(super) fn layout(&mut self, context: &Context, width: f64) {
        if (self.width - width).abs() > 1e-6 {
            if self.hang
                && let Some((label, x)) = &self.label
            {
                self.indent = x + self.run_width(context, label);
            }
            let plain: Vec<String> = self.tokens.iter().map(|t| t.iter().map(|(c, _)| c).collect()).collect();
            let rest = (width - self.indent).max(1.0);
            let first = (rest - self.first).max(1.0);
            let width_of = |t: &str| self.run_width(context, t);
            let mut ranges = wrap_ranges(&plain, &width_of, first, rest);
            if self.phrases
                && ranges.len() == 2
                && let Some(two) = phrase_lines(&plain, &width_of, rest)
            {
                ranges = two;
            } else if self.halign == HAlign::Centre && ranges.len() > 1 {
                // A centred title is set in lines of even length: the narrowest
                // measure that needs no more lines (not a full line and a stub).
                let mut w = rest;
                while w > rest / 2.0 {
                    let narrower = wrap_ranges(&plain, &width_of, w - 1.0, w - 1.0);
                    if narrower.len() > ranges.len() {
                        break;
                    }
                    w -= 1.0;
                    ranges = narrower;
                }
            }
            self.lines = ranges
                .into_iter()
                .map(|r| {
                    let mut chars: Vec<(char, Tone)> = self.tokens[r].iter().flatten().copied().collect();
                    while chars.last().is_some_and(|(c, _)| c.is_whitespace()) {
                        chars.pop();
                    }
                    let mut runs: Vec<(String, Tone)> = Vec::new();
                    for (c, tone) in chars {
                        match runs.last_mut() {
                            Some((text, t)) if *t == tone => text.push(c),
                            _ => runs.push((c.to_string(), tone)),
                        }
                    }
                    runs
                })
                .collect();
            self.width = width;
        }
    }

    /// The whole height, for a piece that is never broken (a caption).
    pub(super) fn height(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width);
        self.pad.0 + self.lines.len() as f64 * self.line(context) + self.pad.1
    }
}

pub(super) fn caption_piece(text: &str) -> TextPiece {
    let mut p = TextPiece::new(text, Style::new().with_font_size(10).with_color(INK), 1.35);
    p.pad = (2.0, 1.0);
    p
}

impl Piece for TextPiece {
    fn need(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width);
        let left = self.lines.len() - self.next;
        let lines = if self.keep || left <= 3 { left } else { 2 };
        let pad = if self.next == 0 { self.pad.0 } else { 0.0 };
        pad + lines as f64 * self.line(context) + if lines == left { self.pad.1 } else { 0.0 }
    }

    fn keeps_with_next(&self) -> bool {
        self.keep
    }

    fn keep_with_next(&mut self) {
        self.keep = true;
    }

    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let width = mm(area.size().width);
        self.layout(context, width);
        let avail = mm(area.size().height);
        let lh = self.line(context);
        let mut y = if self.next == 0 && !at_top { self.pad.0 } else { 0.0 };
        if self.next == 0
            && let Some((level, shared)) = &self.mark
        {
            shared.marks.borrow_mut().push(Mark {
                level: *level,
                text: self.text.clone(),
                page: shared.page.get(),
                top: shared.bottom + avail - y + 2.0,
            });
        }
        let left = self.lines.len() - self.next;
        let mut fit = (((avail - y) / lh + 1e-6).floor().max(0.0) as usize).min(left);
        if fit < left {
            // No widow: carry at least two lines over; no orphan: keep two here.
            if left - fit == 1 && fit >= 3 {
                fit -= 1;
            }
            if fit == 1 && left > 1 && !at_top {
                fit = 0;
            }
            if fit == 0 && at_top {
                fit = 1;
            }
        }
        for (k, line) in self.lines[self.next..self.next + fit].iter().enumerate() {
            let first = self.next + k == 0;
            if first && let Some((label, x)) = &self.label {
                area.print_str(&context.font_cache, Position::new(*x, y), self.style, label)?;
            }
            let line_w: f64 = line.iter().map(|(t, _)| self.run_width(context, t)).sum();
            let mut x = self.indent + if first { self.first } else { 0.0 };
            if self.halign == HAlign::Centre {
                x = self.indent + ((width - self.indent - line_w) / 2.0).max(0.0);
            }
            let tracking = self.grid.map_or(0.0, |g| g.tracking);
            let own_height = mm(self.style.font(&context.font_cache).glyph_height(self.style.font_size()));
            for (text, tone) in line {
                for (part, style) in self.segments(text) {
                    // genpdf sets the baseline one glyph height below the given top: a part
                    // in another face moves so that the two faces share the baseline.
                    let height = mm(style.font(&context.font_cache).glyph_height(style.font_size()));
                    let top = y + own_height - height;
                    area.print_str(&context.font_cache, Position::new(x, top), tone.style(style), part)?;
                    x += mm(style.str_width(&context.font_cache, part)) + tracking * part.chars().count() as f64;
                }
            }
            y += lh;
        }
        self.next += fit;
        let more = self.next < self.lines.len();
        if !more {
            y = (y + self.pad.1).min(avail.max(y));
        }
        Ok((y, more))
    }
}
