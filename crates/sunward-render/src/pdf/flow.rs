//! The page flow: the [`Piece`] trait (a part of the body that can say
//! beforehand how much room its first unbreakable part needs), the
//! [`Flow`] that places pieces page by page as one genpdf element, the
//! record of where headings landed (for the outline), and the simplest
//! pieces: vertical space, rules, page breaks and a group set at the foot
//! of a page.

use std::cell::{Cell as StdCell, RefCell};

use genpdf::style::{Color, Style};
use genpdf::{Context, Element, Position, RenderResult, Size, render};

use super::style::{INK, OFFICIAL_RED, PRIMARY, mm};

/// Heading marks for the outline, and the page being filled, shared by the
/// page decorator and the pieces.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) page: StdCell<usize>,
    pub(super) marks: RefCell<Vec<Mark>>,
    /// The body's bottom edge, in millimetres above the paper's.
    pub(super) bottom: f64,
}

/// Where a heading landed: the outline entry built from it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Mark {
    pub(super) level: u8,
    pub(super) text: String,
    /// 1-based page number.
    pub(super) page: usize,
    /// The heading's top, in millimetres above the page's bottom edge.
    pub(super) top: f64,
}

/// One piece of the page flow. Unlike a genpdf element, a piece can tell
/// beforehand how much room its first unbreakable part needs, so the flow
/// can keep a heading or caption with what follows it.
pub(super) trait Piece {
    /// The height (mm) the piece needs before it may start on this page.
    fn need(&mut self, context: &Context, width: f64) -> f64;
    /// Whether the piece must share a page with the start of the next one.
    fn keeps_with_next(&self) -> bool {
        false
    }
    /// Whether this is a page break.
    fn is_page_break(&self) -> bool {
        false
    }
    /// Whether this is vertical space (a [`Space`]), and how high.
    fn is_space(&self) -> bool {
        false
    }
    /// The height of vertical space (0 for other pieces).
    fn space_height(&self) -> f64 {
        0.0
    }
    /// Makes the piece keep with the next (and stay whole, for text); the
    /// pieces that never break across pages ignore it.
    fn keep_with_next(&mut self) {}
    /// Draws as much as fits and returns the height used and whether more
    /// remains for the next page; `at_top` is true at the top of a page.
    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error>;
}

/// The whole body as one genpdf element that places its pieces itself: a
/// piece starts on a page only if it (and, for a heading or caption, the
/// start of what it keeps with) fits, otherwise the page ends there.
pub(super) struct Flow {
    pub(super) pieces: Vec<Box<dyn Piece>>,
    pub(super) idx: usize,
}

impl Flow {
    pub(super) fn push(&mut self, piece: impl Piece + 'static) {
        self.pieces.push(Box::new(piece));
    }

    /// The room piece `i` needs, with the pieces it keeps with.
    fn chain_need(&mut self, i: usize, context: &Context, width: f64) -> f64 {
        let need = self.pieces[i].need(context, width);
        if self.pieces[i].keeps_with_next() && i + 1 < self.pieces.len() && !self.pieces[i + 1].is_page_break() {
            need + self.chain_need(i + 1, context, width)
        } else {
            need
        }
    }
}

impl Flow {
    /// Makes the last piece keep with the next one: a space before it turns
    /// into a lead (which keeps) and the piece before that keeps too.
    pub(super) fn keep_last(&mut self) {
        let n = self.pieces.len();
        if n >= 2 && !self.pieces[n - 1].keeps_with_next() && self.pieces[n - 1].is_space() {
            self.pieces[n - 1] = Box::new(Lead(self.pieces[n - 1].space_height()));
            self.pieces[n - 2].keep_with_next();
        } else if let Some(last) = self.pieces.last_mut() {
            last.keep_with_next();
        }
    }
}

impl Element for Flow {
    fn render(
        &mut self,
        context: &Context,
        mut area: render::Area<'_>,
        _style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        let width = mm(area.size().width);
        let mut used = 0.0;
        let done = |used: f64, more: bool| RenderResult { size: Size::new(width, used), has_more: more };
        while self.idx < self.pieces.len() {
            if self.pieces[self.idx].is_page_break() {
                self.idx += 1;
                if used > 0.0 {
                    return Ok(done(used, self.idx < self.pieces.len()));
                }
                continue;
            }
            if used > 0.0 && self.chain_need(self.idx, context, width) > mm(area.size().height) + 1e-6 {
                return Ok(done(used, true));
            }
            let (h, more) = self.pieces[self.idx].draw(context, area.clone(), used == 0.0)?;
            used += h;
            area.add_offset(Position::new(0, h));
            if more {
                return Ok(done(used, true));
            }
            self.idx += 1;
        }
        Ok(done(used, false))
    }
}

/// Vertical space, of three kinds:
/// - `Spacer`: between blocks; needs no room of its own and disappears at
///   the top of a page;
/// - `Lead`: before a block; disappears at the top of a page and passes a
///   heading's keep on to the block after it;
/// - `Gap`: stays even at the top of a page (the title page's).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Space {
    Spacer(f64),
    Lead(f64),
    Gap(f64),
}
pub(super) use Space::{Gap, Lead, Spacer};

impl Piece for Space {
    fn need(&mut self, _context: &Context, _width: f64) -> f64 {
        match *self {
            Spacer(_) => 0.0,
            Lead(h) | Gap(h) => h,
        }
    }

    fn keeps_with_next(&self) -> bool {
        matches!(self, Lead(_))
    }

    fn is_space(&self) -> bool {
        true
    }

    fn space_height(&self) -> f64 {
        match *self {
            Spacer(h) | Lead(h) | Gap(h) => h,
        }
    }

    fn draw(
        &mut self,
        _context: &Context,
        area: render::Area<'_>,
        at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let height = match *self {
            Spacer(_) | Lead(_) if at_top => 0.0,
            Spacer(h) | Lead(h) | Gap(h) => h,
        };
        Ok((height.min(mm(area.size().height)), false))
    }
}

/// A full-width rule of hairlines (genpdf cannot set a line width, so a
/// heavier rule is several hairlines close together).
pub(super) struct Rule {
    pub(super) colour: Color,
    /// Where the first hairline lies below the top of the piece, in mm.
    pub(super) first: f64,
    /// How many hairlines, and how far apart (mm).
    pub(super) lines: u8,
    step: f64,
    /// The height the piece takes, in mm.
    pub(super) height: f64,
}

impl Rule {
    /// The rule under a compact title block.
    pub(super) fn title() -> Rule {
        Rule { colour: PRIMARY, first: 3.0, lines: 3, step: 0.3, height: 8.0 }
    }

    /// The red rule under an official document's mark and number (about 0.5 mm).
    pub(super) fn official_red() -> Rule {
        Rule { colour: OFFICIAL_RED, first: 3.0, lines: 6, step: 0.1, height: 6.0 }
    }

    /// A black rule of an official document's imprint, `before` mm below what precedes
    /// it: heavy (three hairlines) at its top and bottom, light (one) between its lines.
    pub(super) fn imprint(lines: u8, before: f64) -> Rule {
        Rule { colour: INK, first: before + 0.5, lines, step: 0.1, height: before + 1.5 }
    }
}

impl Piece for Rule {
    fn need(&mut self, _context: &Context, _width: f64) -> f64 {
        self.height
    }

    fn draw(
        &mut self,
        _context: &Context,
        area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let w = mm(area.size().width);
        for i in 0..self.lines {
            let y = self.first + f64::from(i) * self.step;
            area.draw_line(vec![Position::new(0, y), Position::new(w, y)], Style::new().with_color(self.colour));
        }
        Ok((self.height, false))
    }
}

pub(super) struct PageBreak;

/// Pieces that never break, set together at the foot of the page they
/// start on (or of the next, when they do not fit): an official document's
/// imprint, whose last rule lies on the text area's bottom edge.
pub(super) struct AtFoot {
    pub(super) parts: Vec<Box<dyn Piece>>,
}

impl Piece for AtFoot {
    fn need(&mut self, context: &Context, width: f64) -> f64 {
        self.parts.iter_mut().map(|p| p.need(context, width)).sum()
    }

    fn draw(
        &mut self,
        context: &Context,
        mut area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let width = mm(area.size().width);
        let avail = mm(area.size().height);
        let height = self.need(context, width);
        area.add_offset(Position::new(0, (avail - height).max(0.0)));
        for part in &mut self.parts {
            let (h, _) = part.draw(context, area.clone(), false)?;
            area.add_offset(Position::new(0, h));
        }
        Ok((avail.max(height), false))
    }
}

impl Piece for PageBreak {
    fn need(&mut self, _context: &Context, _width: f64) -> f64 {
        0.0
    }

    fn is_page_break(&self) -> bool {
        true
    }

    fn draw(
        &mut self,
        _context: &Context,
        _area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        Ok((0.0, false))
    }
}
