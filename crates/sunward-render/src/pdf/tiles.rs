//! Key figures in the PDF: tiles in rows of [`tile_columns`], value large,
//! label and note below.

use genpdf::style::Style;
use genpdf::{Context, Mm, Position, render};

use super::breaking::{line_height, print_line, tokens, wrap};
use super::flow::Piece;
use super::style::{INK, MUTED, PRIMARY, RULE, mm};
use crate::document::{Align, Tile, tile_columns};

/// Key figures: as many tiles to a row as [`tile_columns`] says, value
/// large, label and note below; a short last row leaves blank paper, never
/// an empty box.
pub(super) struct TilesPiece {
    pub(super) tiles: Vec<Tile>,
    /// Per row: its height and each tile's lines (value, label, note).
    pub(super) layout: Option<(f64, Vec<TileRow>)>,
}

/// A row of tiles: its height and its tiles' lines.
type TileRow = (f64, Vec<TileLines>);

pub(super) struct TileLines {
    pub(super) value: Vec<String>,
    pub(super) label: Vec<String>,
    pub(super) note: Vec<String>,
}

const TILE_PAD: (f64, f64, f64, f64) = (2.5, 3.0, 3.0, 4.0);

fn tile_styles() -> (Style, Style, Style) {
    (
        Style::new().with_font_size(18).with_color(PRIMARY).with_line_spacing(1.2),
        Style::new().with_font_size(9).with_color(INK).with_line_spacing(1.35),
        Style::new().with_font_size(8).with_color(MUTED).with_line_spacing(1.35),
    )
}

impl TilesPiece {
    pub(super) fn layout(&mut self, context: &Context, width: f64) -> f64 {
        if let Some((w, rows)) = &self.layout
            && (*w - width).abs() < 1e-6
        {
            return rows.iter().map(|r| r.0).sum();
        }
        let cols = tile_columns(self.tiles.len());
        let inner = width / cols as f64 - TILE_PAD.1 - TILE_PAD.3;
        let (vs, ls, ns) = tile_styles();
        let mut rows = Vec::new();
        for chunk in self.tiles.chunks(cols) {
            let cells: Vec<TileLines> = chunk
                .iter()
                .map(|t| TileLines {
                    value: wrap(context, &tokens(&t.value), vs, inner),
                    label: wrap(context, &tokens(&t.label), ls, inner),
                    note: t.note.as_deref().map(|n| wrap(context, &tokens(n), ns, inner)).unwrap_or_default(),
                })
                .collect();
            let h = cells
                .iter()
                .map(|c| {
                    c.value.len() as f64 * line_height(context, vs)
                        + c.label.len() as f64 * line_height(context, ls)
                        + c.note.len() as f64 * line_height(context, ns)
                })
                .fold(0.0, f64::max)
                + TILE_PAD.0
                + TILE_PAD.2;
            rows.push((h, cells));
        }
        let total = rows.iter().map(|r| r.0).sum();
        self.layout = Some((width, rows));
        total
    }
}

impl Piece for TilesPiece {
    fn need(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width)
    }

    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let width = mm(area.size().width);
        let total = self.layout(context, width);
        let cols = tile_columns(self.tiles.len());
        let cw = width / cols as f64;
        let (vs, ls, ns) = tile_styles();
        let mut y0 = 0.0;
        if let Some((_, rows)) = &self.layout {
            for (h, cells) in rows {
                for (i, cell) in cells.iter().enumerate() {
                    let mut a = area.clone();
                    a.add_offset(Position::new(cw * i as f64, y0));
                    a.set_width(Mm::from(cw));
                    for dx in [0.2, 0.5, 0.8] {
                        a.draw_line(
                            vec![Position::new(dx, 1.5), Position::new(dx, h - 1.0)],
                            Style::new().with_color(PRIMARY),
                        );
                    }
                    a.draw_line(
                        vec![Position::new(0, h - 0.5), Position::new(cw - 2.0, h - 0.5)],
                        Style::new().with_color(RULE),
                    );
                    a.add_offset(Position::new(TILE_PAD.3, TILE_PAD.0));
                    let mut y = 0.0;
                    for (lines, style) in [(&cell.value, vs), (&cell.label, ls), (&cell.note, ns)] {
                        for line in lines {
                            print_line(context, &a, y, cw, line, style, Align::Text)?;
                            y += line_height(context, style);
                        }
                    }
                }
                y0 += h;
            }
        }
        Ok((total, false))
    }
}
