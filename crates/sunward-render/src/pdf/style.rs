//! The PDF's units, colours and measures: millimetres from genpdf's and
//! from points, the palette (including the colours the finishing rewrite
//! recognises to draw text heavier or on the official grid), the page
//! margins and the official document's grid (GB/T 9704-2012).

use genpdf::Mm;
use genpdf::style::{Color, Style};

/// The length in millimetres (genpdf's `Mm` hides its field).
pub(super) fn mm(x: Mm) -> f64 {
    printpdf::Mm::from(x).0
}

pub(super) const PRIMARY: Color = Color::Rgb(0x2f, 0x6f, 0x9f);
pub(super) const MUTED: Color = Color::Rgb(0x66, 0x66, 0x66);
pub(super) const RULE: Color = Color::Rgb(0xb0, 0xb8, 0xc0);
pub(super) const INK: Color = Color::Rgb(0x22, 0x22, 0x22);
/// Strong text: near-black, and drawn heavier (see `finish::restyle_text`).
pub(super) const STRONG: Color = Color::Rgb(0x11, 0x11, 0x11);
/// Emphasised text (the font has no italic): the primary blue.
pub(super) const EMPHASIS: Color = Color::Rgb(0x1f, 0x5a, 0x8a);
/// The red of an official document's authority mark and rule (also drawn heavier).
pub(super) const OFFICIAL_RED: Color = Color::Rgb(0xc0, 0x00, 0x00);
/// An official document's body text: black, set on the character grid.
pub(super) const BODY_BLACK: Color = Color::Rgb(0x02, 0x02, 0x02);
/// Strong text in an official document's body: heavy and on the grid.
pub(super) const STRONG_TRACKED: Color = Color::Rgb(0x10, 0x10, 0x10);
/// Text filled in these colours is drawn heavier (see `finish::restyle_text`).
pub(super) const HEAVY: [(u8, u8, u8); 3] = [(0x11, 0x11, 0x11), (0xc0, 0x00, 0x00), (0x10, 0x10, 0x10)];
/// Text filled in these colours is set with [`OFFICIAL_TRACKING`] (see `finish::restyle_text`).
pub(super) const TRACKED: [(u8, u8, u8); 2] = [(0x02, 0x02, 0x02), (0x10, 0x10, 0x10)];
/// The outline width that makes heavy text look bold, per point of type
/// (0.25 pt at 10 pt, 0.4 pt at 16 pt).
pub(super) const HEAVY_STROKE: f64 = 0.025;

/// `style` in the report face (the document's default font).
pub(super) fn report_face(style: Style) -> Style {
    let mut plain = Style::new().with_font_size(style.font_size()).with_line_spacing(style.line_spacing());
    if let Some(colour) = style.color() {
        plain = plain.with_color(colour);
    }
    plain
}

/// Points to millimetres.
pub(super) fn pt_mm(pt: f64) -> f64 {
    pt * 25.4 / 72.0
}

pub(super) fn note_style() -> Style {
    Style::new().with_font_size(8).with_color(MUTED)
}

/// The page margins the decorator leaves: the body's bottom edge lies this
/// many millimetres above the paper's.
pub(super) const CONTENT_BOTTOM: f64 = 22.0;
/// The same for an official document (GB/T 9704-2012: 35 mm).
pub(super) const OFFICIAL_BOTTOM: f64 = 35.0;
/// An official document's text area (GB/T 9704-2012, 5.2.1): 156 mm wide, 225 mm high.
const OFFICIAL_WIDTH: f64 = 156.0;
/// See [`OFFICIAL_WIDTH`].
const OFFICIAL_HEIGHT: f64 = 225.0;
/// An official document's body type, 三号.
pub(super) const OFFICIAL_SIZE: u8 = 16;
/// The official grid: 22 lines to the page (GB/T 9704-2012, 5.2.2) …
pub(super) const OFFICIAL_LINE: f64 = OFFICIAL_HEIGHT / 22.0;
/// … and 28 characters to the line: 三号 characters (16 pt, 5.64 mm) set
/// this much closer (about −0.07 mm) so that 28 fill the 156 mm exactly.
pub(super) const OFFICIAL_TRACKING: f64 = OFFICIAL_WIDTH / 28.0 - OFFICIAL_SIZE as f64 * 25.4 / 72.0;
/// One character of the official grid (5.57 mm): the unit of its indents.
pub(super) const OFFICIAL_CHAR: f64 = OFFICIAL_WIDTH / 28.0;

/// The line pitch and character spacing of text set on a grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Grid {
    /// The distance between lines (mm).
    pub(super) line: f64,
    /// What each character's advance is widened by (mm; negative to tighten).
    pub(super) tracking: f64,
}
