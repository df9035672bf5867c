//! Tables in the PDF: column widths from the cells' natural widths, rows
//! wrapped per column, and a [`TablePiece`] that breaks only between rows
//! and starts every page it continues on with a continued caption
//! ([`continued_caption`]) and the header row.

use genpdf::style::{Color, Style};
use genpdf::{Context, Position, render};

use super::breaking::{line_height, print_line, tokens, wrap};
use super::flow::Piece;
use super::style::{INK, MUTED, RULE, mm, note_style, pt_mm};
use super::text::{TextPiece, caption_piece, runs_text};
use crate::document::{Align, Lang, Table};
use crate::layout::SMALL_TABLE;
use crate::plot;

/// `表2 各校…` → `续表2 各校…`; `Table 2 Incidents` → `Table 2 (continued) Incidents`;
/// a caption without a number gets `续表：` before it or ` (continued)` after it.
pub fn continued_caption(caption: &str, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => {
            let numbered =
                caption.strip_prefix('表').is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
            if numbered { format!("续{caption}") } else { format!("续表：{caption}") }
        }
        Lang::En => {
            let mut words = caption.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("Table"), Some(n), rest) if n.starts_with(|c: char| c.is_ascii_digit()) => match rest {
                    Some(rest) => format!("Table {n} (continued) {rest}"),
                    None => format!("Table {n} (continued)"),
                },
                _ => format!("{caption} (continued)"),
            }
        }
    }
}

/// A table with its caption and note. It breaks between rows only: the
/// caption and header row never end a page without two rows under them, at
/// least two body rows (never the totals row alone) go over to the next
/// page, a table of up to six rows is never broken, and every page it
/// continues on starts with a continued caption (`续表N …`) and the header
/// row again. Rules: heavy above and below the header, light between rows,
/// heavy above and below the totals row.
pub(super) struct TablePiece {
    pub(super) caption: Option<TextPiece>,
    pub(super) continued: TextPiece,
    pub(super) header: Vec<(String, Align)>,
    /// Cells (text, colour) and whether the row is the totals row.
    pub(super) rows: Vec<(Vec<(String, Color)>, bool)>,
    pub(super) note: Vec<TextPiece>,
    /// Each column's widest body cell and widest header word, in em.
    natural: Vec<(f64, f64)>,
    /// Per width: the header's lines and height, each row's lines and height.
    pub(super) layout: Option<(f64, RowLines, Vec<RowLines>)>,
    pub(super) next: usize,
}

/// A row's wrapped cells and its height.
type RowLines = (Vec<Vec<String>>, f64);

const CELL_PAD: (f64, f64) = (1.2, 2.0);

fn cell_style() -> Style {
    Style::new().with_font_size(9).with_color(INK).with_line_spacing(1.35)
}

impl TablePiece {
    pub(super) fn new(table: &Table, lang: Lang) -> TablePiece {
        let rows = table
            .rows
            .iter()
            .map(|r| (r, false))
            .chain(table.totals.iter().map(|r| (r, true)))
            .map(|(cells, totals)| {
                let cells =
                    cells.iter().map(|c| (c.display().to_string(), if c.is_hidden() { MUTED } else { INK })).collect();
                (cells, totals)
            })
            .collect();
        let continued = match &table.caption {
            Some(c) => continued_caption(c, lang),
            None => lang.pick("续表", "Table (continued)").to_string(),
        };
        let note = table
            .note
            .iter()
            .flat_map(|n| n.split('\n'))
            .map(|line| {
                let mut p = TextPiece::new(line, note_style(), 1.4);
                p.pad = (2.0, 0.0);
                p
            })
            .collect();
        TablePiece {
            caption: table.caption.as_deref().map(caption_piece),
            continued: caption_piece(&continued),
            header: table.columns.iter().map(|c| (c.title.clone(), c.align)).collect(),
            rows,
            note,
            natural: natural_widths(table),
            layout: None,
            next: 0,
        }
    }

    /// The columns' widths across `width` mm: when every body cell fits on one
    /// line (a school's name never breaks: 城东初级中/学), each column gets its
    /// widest cell, and what is left goes first to headers that would otherwise
    /// wrap inside a word, then to every column alike; when they do not all
    /// fit, widths follow the widest texts (clamped), as before.
    fn column_widths(&self, width: f64) -> Vec<f64> {
        let em = pt_mm(f64::from(cell_style().font_size()));
        let pad = 2.0 * CELL_PAD.1 + 0.5;
        let body: Vec<f64> = self.natural.iter().map(|(b, _)| b * em + pad).collect();
        let fits: f64 = body.iter().sum();
        if fits <= width {
            let mut widths = body.clone();
            let mut left = width - fits;
            // Headers' longest words next, as far as the room goes.
            let want: Vec<f64> =
                self.natural.iter().zip(&widths).map(|((_, h), w)| (h * em + pad - w).max(0.0)).collect();
            let wanted: f64 = want.iter().sum();
            let share = if wanted > 0.0 { (left / wanted).min(1.0) } else { 0.0 };
            for (w, x) in widths.iter_mut().zip(&want) {
                *w += x * share;
            }
            left -= wanted * share;
            let n = widths.len().max(1) as f64;
            widths.iter_mut().for_each(|w| *w += left / n);
            return widths;
        }
        let weights: Vec<f64> = self.natural.iter().map(|(b, h)| b.max(*h).clamp(3.0, 16.0)).collect();
        let total: f64 = weights.iter().sum();
        weights.iter().map(|w| width * w / total.max(1.0)).collect()
    }

    pub(super) fn layout(&mut self, context: &Context, width: f64) {
        if self.layout.as_ref().is_some_and(|l| (l.0 - width).abs() < 1e-6) {
            return;
        }
        let widths = self.column_widths(width);
        let style = cell_style();
        let lh = line_height(context, style);
        let lay = |cells: Vec<&str>, pad: f64| -> RowLines {
            let lines: Vec<Vec<String>> = cells
                .iter()
                .zip(&widths)
                .map(|(text, w)| wrap(context, &tokens(text), style, w - 2.0 * CELL_PAD.1))
                .collect();
            let n = lines.iter().map(Vec::len).max().unwrap_or(1);
            (lines, n as f64 * lh + 2.0 * pad)
        };
        let header = lay(self.header.iter().map(|h| h.0.as_str()).collect(), 1.5);
        let rows =
            self.rows.iter().map(|(cells, _)| lay(cells.iter().map(|c| c.0.as_str()).collect(), CELL_PAD.0)).collect();
        self.layout = Some((width, header, rows));
    }

    fn note_height(&mut self, context: &Context, width: f64) -> f64 {
        self.note.iter_mut().map(|n| n.height(context, width)).sum()
    }

    /// The caption (or continued caption) and header row heights.
    fn head_height(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width);
        let caption = if self.next == 0 {
            self.caption.as_mut().map_or(0.0, |c| c.height(context, width))
        } else {
            self.continued.height(context, width)
        };
        caption + self.layout.as_ref().map_or(0.0, |l| l.1.1)
    }

    fn row_heights(&self) -> Vec<f64> {
        self.layout.as_ref().map(|l| l.2.iter().map(|r| r.1).collect()).unwrap_or_default()
    }

    /// How many rows from `self.next` to put on a page with `avail` mm.
    fn rows_here(&mut self, context: &Context, width: f64, avail: f64, at_top: bool) -> usize {
        let heights = self.row_heights();
        let n = heights.len();
        let mut y = self.head_height(context, width);
        let mut k = 0;
        while self.next + k < n && y + heights[self.next + k] <= avail + 1e-6 {
            y += heights[self.next + k];
            k += 1;
        }
        if self.next + k == n && k > 0 {
            let note = self.note_height(context, width);
            if y + note > avail + 1e-6 {
                // The note stays with the last rows.
                k = k.saturating_sub(2);
            }
        }
        if self.next + k < n {
            // At least two body rows go over with the rest (never the totals alone).
            let body_left = self.rows[self.next + k..].iter().filter(|r| !r.1).count();
            let body_from_here = self.rows[self.next..].iter().filter(|r| !r.1).count();
            let want = 2.min(body_from_here);
            if body_left < want {
                k = k.saturating_sub(want - body_left);
            }
            // A small table, or a start of fewer than two rows, waits for the next page.
            let small = self.next == 0 && n <= SMALL_TABLE;
            if !at_top && (small || (self.next == 0 && k < 2)) {
                k = 0;
            }
            if at_top && k == 0 {
                k = 1;
            }
        }
        k
    }

    /// Prints the caption on the table's first page, the continued caption
    /// on the others; returns its height.
    fn draw_caption(
        &mut self,
        context: &Context,
        area: &render::Area<'_>,
        width: f64,
    ) -> Result<f64, genpdf::error::Error> {
        let caption = if self.next == 0 { self.caption.as_mut() } else { Some(&mut self.continued) };
        match caption {
            Some(caption) => print_piece(context, area, 0.0, width, caption),
            None => Ok(0.0),
        }
    }

    /// Draws the header row and the rows from `self.next` up to `end`,
    /// starting `y` mm down, with their rules: heavy above and below the
    /// header, light between rows, heavy around the totals and under the
    /// last row. Returns where the last row ends.
    fn draw_rows(
        &self,
        context: &Context,
        area: &render::Area<'_>,
        width: f64,
        mut y: f64,
        end: usize,
    ) -> Result<f64, genpdf::error::Error> {
        let widths = self.column_widths(width);
        let style = cell_style();
        let lh = line_height(context, style);
        let Some((_, header, rows)) = &self.layout else { return Ok(y) };
        let rule = |y: f64, colour: Color| {
            area.draw_line(vec![Position::new(0, y), Position::new(width, y)], Style::new().with_color(colour))
        };
        let draw_row = |y: f64,
                        lines: &RowLines,
                        pad: f64,
                        colours: Option<&Vec<(String, Color)>>|
         -> Result<(), genpdf::error::Error> {
            let mut x = 0.0;
            for (c, (cell, w)) in lines.0.iter().zip(&widths).enumerate() {
                let align = self.header[c].1;
                let colour = colours.map_or(INK, |cs| cs[c].1);
                let mut a = area.clone();
                a.add_offset(Position::new(x + CELL_PAD.1, y + pad));
                for (i, line) in cell.iter().enumerate() {
                    print_line(
                        context,
                        &a,
                        i as f64 * lh,
                        w - 2.0 * CELL_PAD.1,
                        line,
                        style.with_color(colour),
                        align,
                    )?;
                }
                x += w;
            }
            Ok(())
        };
        draw_row(y, header, 1.5, None)?;
        for dy in [0.0, 0.3, header.1 - 0.3, header.1] {
            rule(y + dy, INK);
        }
        y += header.1;
        for (r, row) in rows.iter().enumerate().take(end).skip(self.next) {
            let h = row.1;
            let (cells, totals) = &self.rows[r];
            draw_row(y, row, CELL_PAD.0, Some(cells))?;
            if *totals {
                rule(y, INK);
                rule(y + 0.3, INK);
            }
            if r + 1 == self.rows.len() {
                rule(y + h - 0.3, INK);
                rule(y + h, INK);
            } else {
                rule(y + h, RULE);
            }
            y += h;
        }
        Ok(y)
    }
}

impl Piece for TablePiece {
    fn need(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width);
        let heights = self.row_heights();
        let left = &heights[self.next..];
        let whole = self.next == 0 && heights.len() <= SMALL_TABLE;
        let take = if whole { left.len() } else { left.len().min(2) };
        let note = if take == left.len() { self.note_height(context, width) } else { 0.0 };
        self.head_height(context, width) + left[..take].iter().sum::<f64>() + note
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
        let k = self.rows_here(context, width, avail, at_top);
        if k == 0 && !self.rows.is_empty() {
            return Ok((0.0, true));
        }
        let mut y = self.draw_caption(context, &area, width)?;
        if self.layout.is_none() {
            return Ok((y, false));
        }
        let end = self.next + k;
        y = self.draw_rows(context, &area, width, y, end)?;
        self.next = end;
        if self.next < self.rows.len() {
            return Ok((y, true));
        }
        for note in &mut self.note {
            y += print_piece(context, &area, y, width, note)?;
        }
        Ok((y.min(avail.max(y)), false))
    }
}

/// Prints a caption or a note's lines `y` mm down, after its space above;
/// returns its whole height.
fn print_piece(
    context: &Context,
    area: &render::Area<'_>,
    y: f64,
    width: f64,
    piece: &mut TextPiece,
) -> Result<f64, genpdf::error::Error> {
    let h = piece.height(context, width);
    let mut a = area.clone();
    a.add_offset(Position::new(0, y + piece.pad.0));
    let lh = line_height(context, piece.style);
    for (i, line) in piece.lines.iter().enumerate() {
        print_line(context, &a, i as f64 * lh, width, &runs_text(line), piece.style, Align::Text)?;
    }
    Ok(h)
}

/// Each column's widest body cell (which should not wrap) and the longest
/// word of its header (which may wrap between words: "Median days to
/// intervention"), in em.
fn natural_widths(table: &Table) -> Vec<(f64, f64)> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let header = col.title.split_whitespace().map(|w| plot::text_width(w, 1.0)).fold(0.0, f64::max);
            let widest = table
                .rows
                .iter()
                .chain(table.totals.iter())
                .filter_map(|r| r.get(i))
                .map(|c| plot::text_width(c.display(), 1.0))
                .fold(0.0, f64::max);
            (widest, header)
        })
        .collect()
}
