//! Figures in the PDF: the caption and the chart drawn from its
//! [`Plot`] with genpdf's hairlines and strings (bars, bands and dots
//! hatched, lines dashed by hand).

use genpdf::style::{Color, Style};
use genpdf::{Context, Position, render};

use super::breaking::{line_height, print_line};
use super::flow::Piece;
use super::style::mm;
use super::text::{TextPiece, runs_text};
use crate::document::Align;
use crate::plot::{self, Anchor, Plot, Shape, Stroke};

/// A figure: its caption and the chart drawn from its [`Plot`] across the
/// text width, never parted.
pub(super) struct ChartPiece {
    pub(super) caption: TextPiece,
    pub(super) plot: Plot,
    /// Keep with what follows (the notes that end the document).
    pub(super) keep: bool,
}

const HATCH: f64 = 0.3;

impl ChartPiece {
    fn chart_height(&self, width: f64) -> f64 {
        self.plot.height * width.min(160.0) / plot::WIDTH
    }
}

impl Piece for ChartPiece {
    fn need(&mut self, context: &Context, width: f64) -> f64 {
        self.caption.height(context, width) + self.chart_height(width)
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
        let need = self.need(context, width);
        if need > mm(area.size().height) + 1e-6 && !at_top {
            return Ok((0.0, true));
        }
        let caption_h = self.caption.height(context, width);
        let lh = line_height(context, self.caption.style);
        for (i, line) in self.caption.lines.iter().enumerate() {
            print_line(
                context,
                &area,
                self.caption.pad.0 + i as f64 * lh,
                width,
                &runs_text(line),
                self.caption.style,
                Align::Text,
            )?;
        }
        let mut chart_area = area.clone();
        chart_area.add_offset(Position::new(0, caption_h));
        draw_plot(context, &chart_area, &self.plot, width.min(160.0))?;
        Ok((need, false))
    }
}

/// Draws a chart `width` mm wide with genpdf's lines and strings.
fn draw_plot(context: &Context, area: &render::Area<'_>, plot: &Plot, width: f64) -> Result<(), genpdf::error::Error> {
    let f = width / plot::WIDTH;
    let pen = |c: plot::Colour| {
        let (r, g, b) = c.rgb();
        Style::new().with_color(Color::Rgb(r, g, b))
    };
    for shape in &plot.shapes {
        match shape {
            Shape::Rect { x, y, w, h, colour } => {
                let mut yy = y * f + HATCH / 2.0;
                while yy < (y + h) * f {
                    area.draw_line(vec![Position::new(x * f, yy), Position::new((x + w) * f, yy)], pen(*colour));
                    yy += HATCH;
                }
            }
            Shape::Line { points, colour, stroke, heavy } => {
                let pts: Vec<(f64, f64)> = points.iter().map(|(x, y)| (x * f, y * f)).collect();
                let offsets: &[f64] = if *heavy { &[-0.2, 0.0, 0.2] } else { &[0.0] };
                for dy in offsets {
                    let shifted: Vec<(f64, f64)> = pts.iter().map(|(x, y)| (*x, y + dy)).collect();
                    for seg in dashes(&shifted, *stroke) {
                        area.draw_line(seg.into_iter().map(|(x, y)| Position::new(x, y)).collect(), pen(*colour));
                    }
                }
            }
            Shape::Band { xs, top, bottom, colour } => {
                let (x0, x1) = (xs[0] * f, xs[xs.len() - 1] * f);
                let mut x = x0;
                while x <= x1 {
                    let u = x / f;
                    let i = xs.windows(2).position(|w| u <= w[1]).unwrap_or(xs.len() - 2);
                    let t = ((u - xs[i]) / (xs[i + 1] - xs[i])).clamp(0.0, 1.0);
                    let yt = top[i] + (top[i + 1] - top[i]) * t;
                    let yb = bottom[i] + (bottom[i + 1] - bottom[i]) * t;
                    area.draw_line(vec![Position::new(x, yt * f), Position::new(x, yb * f)], pen(*colour));
                    x += HATCH;
                }
            }
            Shape::Marker { x, y, r, colour } => {
                let (cx, cy, r) = (x * f, y * f, r * f);
                let mut dy = -r + HATCH / 2.0;
                while dy < r {
                    let half = (r * r - dy * dy).max(0.0).sqrt();
                    area.draw_line(
                        vec![Position::new(cx - half, cy + dy), Position::new(cx + half, cy + dy)],
                        pen(*colour),
                    );
                    dy += HATCH;
                }
            }
            Shape::Text { x, y, text, size, anchor, colour } => {
                let pt = ((size * f) / 0.3528).round().clamp(5.0, 40.0) as u8;
                let s = pen(*colour).with_font_size(pt);
                let w = mm(s.str_width(&context.font_cache, text));
                let left = match anchor {
                    Anchor::Start => x * f,
                    Anchor::Middle => x * f - w / 2.0,
                    Anchor::End => x * f - w,
                };
                let top = y * f - mm(s.font(&context.font_cache).glyph_height(pt));
                area.print_str(&context.font_cache, Position::new(left.max(0.0), top.max(0.0)), s, text)?;
            }
        }
    }
    Ok(())
}

/// Cuts a polyline into the visible pieces of its dash pattern (mm).
pub(super) fn dashes(points: &[(f64, f64)], stroke: Stroke) -> Vec<Vec<(f64, f64)>> {
    let (on, off) = match stroke {
        Stroke::Solid => return vec![points.to_vec()],
        Stroke::Dashed => (1.6, 1.0),
        Stroke::Dotted => (0.35, 0.8),
    };
    let mut out = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut drawing = true;
    let mut left = on;
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let len = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
        let mut t = 0.0;
        if drawing && current.is_empty() {
            current.push((x0, y0));
        }
        while len - t > left {
            t += left;
            let p = (x0 + (x1 - x0) * t / len, y0 + (y1 - y0) * t / len);
            if drawing {
                current.push(p);
                out.push(std::mem::take(&mut current));
            } else {
                current.push(p);
            }
            drawing = !drawing;
            left = if drawing { on } else { off };
        }
        left -= len - t;
        if drawing {
            current.push((x1, y1));
        }
    }
    if drawing && current.len() > 1 {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashes_alternate_along_the_line() {
        let d = dashes(&[(0.0, 0.0), (5.2, 0.0)], Stroke::Dashed);
        assert_eq!(d, vec![vec![(0.0, 0.0), (1.6, 0.0)], vec![(2.6, 0.0), (4.2, 0.0)]]);
        assert_eq!(dashes(&[(0.0, 0.0), (1.0, 0.0)], Stroke::Solid), vec![vec![(0.0, 0.0), (1.0, 0.0)]]);
    }
}
