//! Chart layout shared by both renderers: each chart is laid out once, in
//! abstract units on a canvas 640 units wide (y grows downwards), as a short
//! list of primitives — rectangles, lines, an interval band, point markers
//! and text. The HTML renderer turns them into SVG elements, the PDF
//! renderer into genpdf lines and strings, so a chart looks the same in both.

use crate::chart::{BarChart, Chart, FunnelPlot, FunnelSide, LineChart, nice_ticks, tick_label};
use crate::document::Lang;
use crate::numbers::format_number;

/// The canvas width every chart is laid out in.
pub const WIDTH: f64 = 640.0;

/// The width of a chart laid out for a phone screen (HTML only): at 390 px
/// the chart is drawn at about its natural size, so its text stays readable
/// and no point or value runs off the screen.
pub const NARROW: f64 = 360.0;

/// The colours of a chart (sRGB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// Bars, lines, points inside the limits.
    Primary,
    /// Points outside the control limits.
    Accent,
    /// The interval band.
    Band,
    /// Axes, limits and gridlines' labels.
    Axis,
    /// Gridlines.
    Grid,
    /// Text.
    Ink,
}

impl Colour {
    /// The colour's RGB components.
    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Colour::Primary => (0x2f, 0x6f, 0x9f),
            Colour::Accent => (0xc8, 0x55, 0x1b),
            Colour::Band => (0xcf, 0xe0, 0xee),
            Colour::Axis => (0x80, 0x80, 0x80),
            Colour::Grid => (0xe2, 0xe2, 0xe2),
            Colour::Ink => (0x22, 0x22, 0x22),
        }
    }

    /// The colour as `#rrggbb`.
    pub fn hex(self) -> String {
        let (r, g, b) = self.rgb();
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// Where a text's x coordinate sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// At its left end.
    Start,
    /// At its middle.
    Middle,
    /// At its right end.
    End,
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stroke {
    /// Solid, regular.
    Solid,
    /// Dashed (95 % limits).
    Dashed,
    /// Dotted (99.8 % limits).
    Dotted,
}

/// One drawing primitive.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A filled rectangle.
    Rect {
        /// Left.
        x: f64,
        /// Top.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
        /// Fill.
        colour: Colour,
    },
    /// A polyline.
    Line {
        /// Its points.
        points: Vec<(f64, f64)>,
        /// Its colour.
        colour: Colour,
        /// Its pattern.
        stroke: Stroke,
        /// Heavier than the default (data lines).
        heavy: bool,
    },
    /// A filled band between two polylines over the same x positions.
    Band {
        /// The x positions, increasing.
        xs: Vec<f64>,
        /// Upper edge y (smaller y), one per x.
        top: Vec<f64>,
        /// Lower edge y, one per x.
        bottom: Vec<f64>,
        /// Fill.
        colour: Colour,
    },
    /// A point marker (a dot) of radius `r`.
    Marker {
        /// Centre x.
        x: f64,
        /// Centre y.
        y: f64,
        /// Radius.
        r: f64,
        /// Fill.
        colour: Colour,
    },
    /// A text whose baseline is at `y`.
    Text {
        /// x of the anchor.
        x: f64,
        /// Baseline y.
        y: f64,
        /// The text.
        text: String,
        /// Font size in canvas units.
        size: f64,
        /// Anchor.
        anchor: Anchor,
        /// Colour.
        colour: Colour,
    },
}

/// A laid-out chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Width in canvas units ([`WIDTH`], or [`NARROW`] for a phone).
    pub width: f64,
    /// Height in canvas units.
    pub height: f64,
    /// The primitives, back to front.
    pub shapes: Vec<Shape>,
    /// A short text alternative (for `aria-label`).
    pub summary: String,
}

/// Text width estimate used for layout in both renderers: CJK and other
/// wide characters 1 em, everything else 0.6 em. Layout only needs room
/// for labels; the PDF renderer measures the real widths when it anchors.
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().map(|c| if is_wide(c) { 1.0 } else { 0.6 }).sum::<f64>() * size
}

/// Whether a character is set full-width (CJK ideographs, kana, hangul,
/// full-width punctuation and forms).
pub fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

const FONT: f64 = 12.0;
const SMALL: f64 = 11.0;

fn text(x: f64, y: f64, s: impl Into<String>, size: f64, anchor: Anchor, colour: Colour) -> Shape {
    Shape::Text { x, y, text: s.into(), size, anchor, colour }
}

fn line(points: Vec<(f64, f64)>, colour: Colour, stroke: Stroke, heavy: bool) -> Shape {
    Shape::Line { points, colour, stroke, heavy }
}

/// Lays out a chart [`WIDTH`] units wide.
pub fn layout(chart: &Chart, lang: Lang) -> Plot {
    layout_at(chart, lang, WIDTH)
}

/// Lays out a chart `width` units wide ([`WIDTH`] for print and desk, [`NARROW`] for a phone).
pub fn layout_at(chart: &Chart, lang: Lang, width: f64) -> Plot {
    let mut plot = match chart {
        Chart::Bar(c) => bar(c, width),
        Chart::Line(c) => line_chart(c, width),
        Chart::Funnel(c) => funnel(c, lang, width),
    };
    plot.width = width;
    plot
}

fn bar(c: &BarChart, width: f64) -> Plot {
    let row = 30.0;
    let top = 8.0;
    let label_w = c.categories.iter().map(|s| text_width(s, FONT)).fold(0.0, f64::max).min((width * 0.35).min(220.0));
    let x0 = label_w + 12.0;
    let labels: Vec<String> = match &c.labels {
        Some(l) => l.clone(),
        None => c.values.iter().map(|v| format_number(*v)).collect(),
    };
    let value_w = labels.iter().map(|s| text_width(s, SMALL)).fold(0.0, f64::max) + 10.0;
    let x1 = width - value_w.max(40.0);
    let max = c.values.iter().copied().fold(0.0, f64::max);
    let ticks = nice_ticks(0.0, max, 4);
    let t_max = *ticks.last().unwrap_or(&1.0);
    let sx = |v: f64| x0 + (x1 - x0) * v / t_max;
    let bottom = top + row * c.categories.len() as f64;
    let mut shapes = Vec::new();
    for t in &ticks {
        shapes.push(line(vec![(sx(*t), top), (sx(*t), bottom)], Colour::Grid, Stroke::Solid, false));
        shapes.push(text(sx(*t), bottom + 16.0, tick_label(*t), SMALL, Anchor::Middle, Colour::Axis));
    }
    for (i, (cat, v)) in c.categories.iter().zip(&c.values).enumerate() {
        let y = top + row * i as f64;
        shapes.push(Shape::Rect { x: x0, y: y + 6.0, w: sx(*v) - x0, h: row - 12.0, colour: Colour::Primary });
        // A category wider than the label column goes on two lines (a phone's narrow chart).
        let lines = label_lines(cat, label_w);
        let first = y + row / 2.0 + 4.0 - 6.5 * (lines.len() as f64 - 1.0);
        for (k, part) in lines.into_iter().enumerate() {
            shapes.push(text(x0 - 8.0, first + 13.0 * k as f64, part, FONT, Anchor::End, Colour::Ink));
        }
        shapes.push(text(sx(*v) + 5.0, y + row / 2.0 + 4.0, labels[i].clone(), SMALL, Anchor::Start, Colour::Ink));
    }
    shapes.push(line(vec![(x0, top), (x0, bottom)], Colour::Axis, Stroke::Solid, false));
    let mut height = bottom + 22.0;
    if let Some(unit) = &c.unit {
        shapes.push(text(x1, height + 6.0, unit.clone(), SMALL, Anchor::End, Colour::Axis));
        height += 14.0;
    }
    let summary = c.categories.iter().zip(&labels).map(|(c, l)| format!("{c} {l}")).collect::<Vec<_>>().join("; ");
    Plot { width, height, shapes, summary }
}

/// A bar's category in at most two lines no wider than `max` (at [`FONT`]):
/// broken at the space nearest the middle (or between two Chinese
/// characters), the second line shortened with `…` if it is still too long.
fn label_lines(label: &str, max: f64) -> Vec<String> {
    if text_width(label, FONT) <= max + 0.5 {
        return vec![label.to_string()];
    }
    let chars: Vec<(usize, char)> = label.char_indices().collect();
    let middle = label.len() / 2;
    let breaks = chars.iter().filter(|(i, c)| *i > 0 && (*c == ' ' || is_wide(*c))).map(|(i, _)| *i);
    let Some(at) = breaks.min_by_key(|i| i.abs_diff(middle)) else {
        return vec![label.to_string()];
    };
    let (a, b) = label.split_at(at);
    let mut second = b.trim().to_string();
    if text_width(&second, FONT) > max + 0.5 {
        let mut kept: Vec<char> = second.chars().collect();
        while kept.len() > 1 && text_width(&format!("{}…", kept.iter().collect::<String>()), FONT) > max + 0.5 {
            kept.pop();
        }
        second = format!("{}…", kept.iter().collect::<String>().trim_end());
    }
    vec![a.trim().to_string(), second]
}

fn line_chart(c: &LineChart, width: f64) -> Plot {
    let (left, right, top, plot_h) = (56.0, 24.0, 24.0, 220.0);
    let lows = c.low.clone().unwrap_or_else(|| c.values.clone());
    let highs = c.high.clone().unwrap_or_else(|| c.values.clone());
    let min = c.values.iter().chain(&lows).copied().fold(0.0, f64::min);
    let max = c.values.iter().chain(&highs).copied().fold(0.0, f64::max);
    let ticks = nice_ticks(min, max, 5);
    let (t_min, t_max) = (ticks[0], *ticks.last().unwrap_or(&1.0));
    let bottom = top + plot_h;
    let sy = |v: f64| bottom - plot_h * (v - t_min) / (t_max - t_min);
    let n = c.x.len().max(1);
    let step = (width - left - right) / n as f64;
    let sx = |i: usize| left + step * (i as f64 + 0.5);
    let mut shapes = Vec::new();
    for t in &ticks {
        shapes.push(line(vec![(left, sy(*t)), (width - right, sy(*t))], Colour::Grid, Stroke::Solid, false));
        shapes.push(text(left - 8.0, sy(*t) + 4.0, tick_label(*t), SMALL, Anchor::End, Colour::Axis));
    }
    if c.low.is_some() && c.x.len() > 1 {
        shapes.push(Shape::Band {
            xs: (0..c.x.len()).map(sx).collect(),
            top: highs.iter().map(|v| sy(*v)).collect(),
            bottom: lows.iter().map(|v| sy(*v)).collect(),
            colour: Colour::Band,
        });
    }
    if c.low.is_some() {
        for i in 0..c.x.len() {
            shapes.push(line(vec![(sx(i), sy(highs[i])), (sx(i), sy(lows[i]))], Colour::Primary, Stroke::Solid, false));
        }
    }
    shapes.push(line(vec![(left, bottom), (width - right, bottom)], Colour::Axis, Stroke::Solid, false));
    let points: Vec<(f64, f64)> = c.values.iter().enumerate().map(|(i, v)| (sx(i), sy(*v))).collect();
    if points.len() > 1 {
        shapes.push(line(points.clone(), Colour::Primary, Stroke::Solid, true));
    }
    for (i, (x, y)) in points.iter().enumerate() {
        shapes.push(Shape::Marker { x: *x, y: *y, r: 4.0, colour: Colour::Primary });
        let label_y = if c.low.is_some() { sy(highs[i]) - 6.0 } else { y - 9.0 };
        shapes.push(text(*x + 7.0, label_y.min(y - 9.0), line_label(c, i), FONT, Anchor::Start, Colour::Ink));
        shapes.push(text(*x, bottom + 17.0, c.x[i].clone(), FONT, Anchor::Middle, Colour::Ink));
    }
    if let Some(unit) = &c.unit {
        shapes.push(text(left - 8.0, top - 10.0, unit.clone(), SMALL, Anchor::Start, Colour::Axis));
    }
    let summary =
        c.x.iter().enumerate().map(|(i, x)| format!("{x} {}", line_label(c, i))).collect::<Vec<_>>().join("; ");
    Plot { width, height: bottom + 28.0, shapes, summary }
}

/// A funnel plot: the points' rates against their denominators, inside the
/// 95 % and 99.8 % control limits around the overall rate, with a legend
/// along the top and the points outside the limits named.
fn funnel(c: &FunnelPlot, lang: Lang, width: f64) -> Plot {
    let (left, right, plot_h) = (56.0, 24.0, 240.0);
    let (legend, legend_y) = funnel_legend(c, lang, left, right, width);
    let top = legend_y + 38.0;
    let bottom = top + plot_h;
    let overall = c.overall_rate();
    let n_max = c.points.iter().map(|p| p.denominator).fold(0.0, f64::max);
    let x_ticks = nice_ticks(0.0, n_max * 1.05, 5);
    let x_max = *x_ticks.last().unwrap_or(&1.0);
    // The y range: every point and the 99.8 % limits from a tenth of the x range on.
    let n_from = x_max / 10.0;
    let y_top = c.points.iter().map(|p| p.rate).fold(c.limits(n_from).high998, f64::max);
    let y_ticks = nice_ticks(0.0, y_top, 5);
    let y_max = *y_ticks.last().unwrap_or(&1.0);
    let frame = FunnelFrame { left, right, width, top, bottom, plot_h, x_max, y_max };
    let mut shapes = Vec::new();
    frame.axes(&x_ticks, &y_ticks, &mut shapes);
    funnel_limits(c, &frame, n_from, overall, &mut shapes);
    let flagged = funnel_points(c, &frame, &mut shapes);
    // The legend, placed before the plot.
    for (x, y, label, key) in legend {
        match key {
            Some((stroke, colour)) => shapes.push(line(vec![(x, y - 4.0), (x + 22.0, y - 4.0)], colour, stroke, false)),
            None => shapes.push(Shape::Marker { x: x + 11.0, y: y - 4.0, r: 4.5, colour: Colour::Accent }),
        }
        shapes.push(text(x + 27.0, y, label, SMALL, Anchor::Start, Colour::Ink));
    }
    let mut height = bottom + 24.0;
    if let Some(xl) = &c.x_label {
        shapes.push(text(width - right, height + 6.0, xl.clone(), SMALL, Anchor::End, Colour::Axis));
        height += 14.0;
    }
    if let Some(yl) = &c.y_label {
        shapes.push(text(left - 8.0, top - 12.0, yl.clone(), SMALL, Anchor::Start, Colour::Axis));
    }
    let summary = format!(
        "{} {}; {}: {}",
        lang.pick("总体水平", "overall"),
        format_number(overall),
        lang.pick("超出控制限", "outside the limits"),
        if flagged.is_empty() { lang.pick("无", "none").to_string() } else { flagged.join(", ") }
    );
    Plot { width, height, shapes, summary }
}

/// A legend entry: where it goes, its label, and its key (a line's stroke
/// and colour, or `None` for the alarm colour's marker).
type LegendEntry = (f64, f64, &'static str, Option<(Stroke, Colour)>);

/// The funnel's legend along the top, in a second row when the first is
/// full (a phone's width), and the baseline of its last row (the plot
/// starts below it). The alarm colour's entry only when a point wears it
/// (above either limit).
fn funnel_legend(c: &FunnelPlot, lang: Lang, left: f64, right: f64, width: f64) -> (Vec<LegendEntry>, f64) {
    let any_above = c.points.iter().any(|p| matches!(c.side(p), FunnelSide::Above95 | FunnelSide::Above998));
    let above = lang.pick("高于控制限", "above a limit");
    let mut entries = vec![
        (lang.pick("总体水平", "overall"), Some((Stroke::Solid, Colour::Primary))),
        (lang.pick("95%控制限", "95% limits"), Some((Stroke::Dashed, Colour::Axis))),
        (lang.pick("99.8%控制限", "99.8% limits"), Some((Stroke::Dotted, Colour::Axis))),
    ];
    if any_above {
        entries.push((above, None));
    }
    let mut legend = Vec::new();
    let (mut lx, mut ly) = (left, 14.0);
    for (label, key) in entries {
        let entry_w = 27.0 + text_width(label, SMALL);
        if lx > left && lx + entry_w > width - right {
            lx = left;
            ly += 16.0;
        }
        legend.push((lx, ly, label, key));
        lx += entry_w + 18.0;
    }
    (legend, ly)
}

/// Where a funnel plot's area lies on the canvas and the ranges of its axes.
struct FunnelFrame {
    left: f64,
    right: f64,
    width: f64,
    top: f64,
    bottom: f64,
    plot_h: f64,
    x_max: f64,
    y_max: f64,
}

impl FunnelFrame {
    /// The canvas x of a denominator.
    fn sx(&self, n: f64) -> f64 {
        self.left + (self.width - self.left - self.right) * n / self.x_max
    }

    /// The canvas y of a rate (clamped to the y range).
    fn sy(&self, v: f64) -> f64 {
        self.bottom - self.plot_h * v.clamp(0.0, self.y_max) / self.y_max
    }

    /// Gridlines with their labels, the x axis's labels and both axes.
    fn axes(&self, x_ticks: &[f64], y_ticks: &[f64], shapes: &mut Vec<Shape>) {
        let (left, right, width, top, bottom) = (self.left, self.right, self.width, self.top, self.bottom);
        for t in y_ticks {
            shapes.push(line(
                vec![(left, self.sy(*t)), (width - right, self.sy(*t))],
                Colour::Grid,
                Stroke::Solid,
                false,
            ));
            shapes.push(text(left - 8.0, self.sy(*t) + 4.0, tick_label(*t), SMALL, Anchor::End, Colour::Axis));
        }
        for t in x_ticks {
            shapes.push(text(self.sx(*t), bottom + 16.0, tick_label(*t), SMALL, Anchor::Middle, Colour::Axis));
        }
        shapes.push(line(vec![(left, bottom), (width - right, bottom)], Colour::Axis, Stroke::Solid, false));
        shapes.push(line(vec![(left, top), (left, bottom)], Colour::Axis, Stroke::Solid, false));
    }
}

/// The control limits, sampled geometrically so the funnel's mouth is
/// smooth (the curves start at `n_from`, where the 99.8 % band first fits
/// the y range), and the overall rate's line.
fn funnel_limits(c: &FunnelPlot, frame: &FunnelFrame, n_from: f64, overall: f64, shapes: &mut Vec<Shape>) {
    let x_max = frame.x_max;
    let samples: Vec<f64> = (0..=48).map(|i| n_from * (x_max / n_from).powf(i as f64 / 48.0)).collect();
    let limits: Vec<_> = samples.iter().map(|n| c.limits(*n)).collect();
    let curve = |f: &dyn Fn(&crate::chart::Limits) -> f64| -> Vec<(f64, f64)> {
        samples.iter().zip(&limits).map(|(n, l)| (frame.sx(*n), frame.sy(f(l)))).collect()
    };
    shapes.push(line(curve(&|l| l.high998), Colour::Axis, Stroke::Dotted, false));
    shapes.push(line(curve(&|l| l.low998), Colour::Axis, Stroke::Dotted, false));
    shapes.push(line(curve(&|l| l.high95), Colour::Axis, Stroke::Dashed, false));
    shapes.push(line(curve(&|l| l.low95), Colour::Axis, Stroke::Dashed, false));
    shapes.push(line(
        vec![(frame.sx(n_from), frame.sy(overall)), (frame.width - frame.right, frame.sy(overall))],
        Colour::Primary,
        Stroke::Solid,
        false,
    ));
}

/// The points, those outside the limits labelled (in the alarm colour when
/// above them; one below them is named in plain ink); returns their labels.
fn funnel_points(c: &FunnelPlot, frame: &FunnelFrame, shapes: &mut Vec<Shape>) -> Vec<String> {
    let mut flagged = Vec::new();
    for p in &c.points {
        let side = c.side(p);
        // Only a rate above the limits is an alarm; one below them is named in plain ink.
        let above = matches!(side, FunnelSide::Above95 | FunnelSide::Above998);
        let colour = if above { Colour::Accent } else { Colour::Primary };
        let (x, y) = (frame.sx(p.denominator), frame.sy(p.rate));
        shapes.push(Shape::Marker { x, y, r: 4.5, colour });
        if side != FunnelSide::Within {
            let ink = if above { Colour::Accent } else { Colour::Ink };
            shapes.push(text(x + 7.0, y - 6.0, p.label.clone(), SMALL, Anchor::Start, ink));
            flagged.push(p.label.clone());
        }
    }
    flagged
}

/// The label printed beside a line chart's point `i`: the chart's own, or the value.
fn line_label(c: &LineChart, i: usize) -> String {
    match c.labels.as_ref().and_then(|l| l.get(i)) {
        Some(label) => label.clone(),
        None => format_number(c.values[i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::FunnelPoint;

    #[test]
    fn wide_characters_are_recognised() {
        assert!(is_wide('年') && is_wide('，') && is_wide('（'));
        assert!(!is_wide('2') && !is_wide('a') && !is_wide('%'));
        assert_eq!(text_width("2024年", 10.0), 34.0);
    }

    /// Every chart of the sample reports, laid out for a phone, keeps every
    /// bar, point, label and legend entry inside its 360-unit canvas (text
    /// measured as the layout measures it), where the desk layout would run
    /// 640 units wide and a 390 px screen would cut it.
    #[test]
    fn phone_layouts_keep_everything_on_the_canvas() {
        let mut charts = Vec::new();
        for doc in [crate::sample::document(Lang::ZhCn), crate::sample::document(Lang::En)] {
            for block in doc.blocks {
                if let crate::Block::Figure { chart, .. } = block {
                    charts.push((chart, doc.lang));
                }
            }
        }
        assert!(charts.len() >= 6, "bar, line and funnel charts in both languages");
        // The annual review's English topics, whose names ran off a phone's left edge.
        let topics = ["Getting along with others", "Puberty and sex education", "Managing emotions", "Life education"];
        charts.push((
            Chart::Bar(BarChart {
                categories: topics.iter().map(|t| t.to_string()).collect(),
                values: vec![795.0, 501.0, 284.0, 100.0],
                labels: None,
                unit: Some("attendances".into()),
                tally: false,
            }),
            Lang::En,
        ));
        for (chart, lang) in &charts {
            let plot = layout_at(chart, *lang, NARROW);
            assert_eq!(plot.width, NARROW);
            let within = |x: f64, what: &str| assert!((-0.5..=NARROW + 0.5).contains(&x), "{what} at {x} in {chart:?}");
            for shape in &plot.shapes {
                match shape {
                    Shape::Rect { x, w, .. } => within(x + w, "a bar's end"),
                    Shape::Line { points, .. } => points.iter().for_each(|(x, _)| within(*x, "a line")),
                    Shape::Marker { x, r, .. } => within(x + r, "a point"),
                    Shape::Text { x, text, size, anchor, .. } => {
                        let w = text_width(text, *size);
                        let (from, to) = match anchor {
                            Anchor::Start => (*x, x + w),
                            Anchor::Middle => (x - w / 2.0, x + w / 2.0),
                            Anchor::End => (x - w, *x),
                        };
                        within(from, text);
                        within(to, text);
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn funnel_layout_labels_only_flagged_points() {
        let plot = layout(
            &Chart::Funnel(FunnelPlot {
                points: vec![
                    FunnelPoint { label: "甲校".into(), denominator: 1000.0, rate: 5.0, counts: None },
                    FunnelPoint { label: "乙校".into(), denominator: 1000.0, rate: 14.0, counts: None },
                ],
                scale: 1000.0,
                overall: Some(5.0),
                x_label: None,
                y_label: None,
            }),
            Lang::ZhCn,
        );
        let labels: Vec<_> = plot
            .shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Text { text, colour: Colour::Accent, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(labels, ["乙校"]);
        assert_eq!(plot.summary, "总体水平 5; 超出控制限: 乙校");
    }
}
