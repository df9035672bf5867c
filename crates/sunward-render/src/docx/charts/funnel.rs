//! A funnel plot as a Word scatter chart: the units as dots, the overall
//! rate as a line, each control limit one series of an upper curve, a
//! blank row and a lower curve.

use std::fmt::Write as _;

use super::drawing::{
    Axis, Drawn, FIRST_AXIS, HAIRLINE, LINE, NO_LINE, SECOND_AXIS, data_labels, marker, solid, stroke, text_label,
};
use super::sheet::{Sheet, SheetCell, num_ref, series_name};
use crate::chart::{FunnelPlot, FunnelSide, nice_ticks};
use crate::document::Lang;
use crate::plot::Colour;

/// How many sizes a funnel plot's limit curves are sampled at (as the PDF's).
const LIMIT_SAMPLES: usize = 49;

/// The sizes the limit curves are sampled at, as the PDF's layout samples
/// them: [`LIMIT_SAMPLES`] sizes, geometrically, from a tenth of the x range.
fn limit_sizes(c: &FunnelPlot) -> Vec<f64> {
    let n_max = c.points.iter().map(|p| p.denominator).fold(0.0, f64::max);
    let x_max = nice_ticks(0.0, n_max * 1.05, 5).last().copied().unwrap_or(1.0);
    let n_from = x_max / 10.0;
    let last = (LIMIT_SAMPLES - 1) as f64;
    (0..LIMIT_SAMPLES).map(|i| n_from * (x_max / n_from).powf(i as f64 / last)).collect()
}

/// The sheet's columns a funnel plot draws from.
struct Columns {
    /// The sizes: the units', then the curves'.
    x: usize,
    /// The units' rates.
    y: usize,
    /// The overall rate, beside the upper curves.
    overall: usize,
    /// The 95 % and 99.8 % limits: the upper curve, a blank row, the lower curve.
    limit95: usize,
    limit998: usize,
}

/// The funnel plot's sheet. Rows: the units; the upper curves (with the
/// overall rate); a blank row; the lower curves.
fn funnel_sheet(c: &FunnelPlot, lang: Lang) -> (Sheet, Columns) {
    let sizes = limit_sizes(c);
    let limits: Vec<_> = sizes.iter().map(|n| c.limits(*n)).collect();
    let overall = c.overall_rate();
    let units = c.points.len();
    let blank = || SheetCell::Blank;
    let mut size: Vec<SheetCell> = c.points.iter().map(|p| SheetCell::Number(p.denominator)).collect();
    let mut rate: Vec<SheetCell> = c.points.iter().map(|p| SheetCell::Number(p.rate)).collect();
    let mut names: Vec<SheetCell> = c.points.iter().map(|p| SheetCell::Text(p.label.clone())).collect();
    let mut limit95: Vec<SheetCell> = (0..units).map(|_| blank()).collect();
    let mut limit998 = limit95.clone();
    let mut level = limit95.clone();
    for (n, l) in sizes.iter().zip(&limits) {
        size.push(SheetCell::Number(*n));
        limit95.push(SheetCell::Number(l.high95));
        limit998.push(SheetCell::Number(l.high998));
        level.push(SheetCell::Number(overall));
    }
    for column in [&mut size, &mut limit95, &mut limit998] {
        column.push(blank());
    }
    for (n, l) in sizes.iter().zip(&limits) {
        size.push(SheetCell::Number(*n));
        limit95.push(SheetCell::Number(l.low95));
        limit998.push(SheetCell::Number(l.low998));
    }
    rate.resize(units, blank());
    names.resize(units, blank());

    let mut sheet = Sheet::default();
    let x = sheet.add(c.x_label.clone().unwrap_or_else(|| lang.pick("规模", "Size").to_string()), size);
    let y = sheet.add(c.y_label.clone().unwrap_or_else(|| lang.pick("比率", "Rate").to_string()), rate);
    let overall = sheet.add(lang.pick("总体水平", "Overall"), level);
    let limit95 = sheet.add(lang.pick("95%控制限", "95% limits"), limit95);
    let limit998 = sheet.add(lang.pick("99.8%控制限", "99.8% limits"), limit998);
    sheet.add(lang.pick("名称", "Name"), names);
    (sheet, Columns { x, y, overall, limit95, limit998 })
}

/// The series of a funnel plot. Every series spans every row, blank where
/// it has no point: LibreOffice leaves out the line series of a scatter
/// chart whose series cover different rows (a first series shorter than
/// the next, or units outnumbering the curves' rows). In the PDF's legend
/// order: overall, 95 %, 99.8 %; the units last, drawn on top.
fn funnel_series(c: &FunnelPlot, sheet: &Sheet, columns: &Columns, lang: Lang) -> String {
    let x = columns.x;
    let every_row = |column| sheet.all(x).with_column(column);
    let mut series = String::new();
    let lines = [
        (columns.overall, None, Colour::Primary),
        (columns.limit95, Some("dash"), Colour::Axis),
        (columns.limit998, Some("sysDot"), Colour::Axis),
    ];
    let unit_order = lines.len();
    for (order, (column, dash, colour)) in lines.into_iter().enumerate() {
        let _ = write!(
            series,
            "<c:ser><c:idx val=\"{order}\"/><c:order val=\"{order}\"/>{}<c:spPr>{}</c:spPr>{}\
             <c:xVal>{}</c:xVal><c:yVal>{}</c:yVal><c:smooth val=\"0\"/></c:ser>",
            series_name(sheet, column),
            stroke(colour, LINE, dash),
            marker(None),
            num_ref(sheet, every_row(x)),
            num_ref(sheet, every_row(column)),
        );
    }
    let (points, labels) = unit_points(c, lang);
    let order = unit_order;
    let _ = write!(
        series,
        "<c:ser><c:idx val=\"{order}\"/><c:order val=\"{order}\"/>{}<c:spPr>{NO_LINE}</c:spPr>{}{points}{}\
         <c:xVal>{}</c:xVal><c:yVal>{}</c:yVal><c:smooth val=\"0\"/></c:ser>",
        series_name(sheet, columns.y),
        marker(Some((Colour::Primary, 7))),
        data_labels(&labels, "r", false, lang),
        num_ref(sheet, every_row(x)),
        num_ref(sheet, every_row(columns.y)),
    );
    series
}

/// The units' own points and labels: units above the limits in the accent
/// colour; every unit outside them named.
fn unit_points(c: &FunnelPlot, lang: Lang) -> (String, String) {
    let mut points = String::new();
    let mut labels = String::new();
    for (i, p) in c.points.iter().enumerate() {
        let side = c.side(p);
        let above = matches!(side, FunnelSide::Above95 | FunnelSide::Above998);
        if above {
            // The marker's colour for Word, the point's own fill for LibreOffice.
            let _ = write!(
                points,
                "<c:dPt><c:idx val=\"{i}\"/>{}<c:bubble3D val=\"0\"/><c:spPr>{}{}</c:spPr></c:dPt>",
                marker(Some((Colour::Accent, 7))),
                solid(Colour::Accent),
                stroke(Colour::Accent, HAIRLINE, None)
            );
        }
        if side.is_flagged() {
            labels.push_str(&text_label(i, &p.label, "r", if above { Colour::Accent } else { Colour::Ink }, lang));
        }
    }
    (points, labels)
}

/// A funnel plot: a scatter chart of its series, both axes from zero.
pub(super) fn funnel(c: &FunnelPlot, lang: Lang) -> Drawn {
    let (sheet, columns) = funnel_sheet(c, lang);
    let series = funnel_series(c, &sheet, &columns, lang);
    let value_axis = |id, cross, position, gridlines, title| Axis {
        category: false,
        id,
        cross,
        position,
        reversed: false,
        min: Some(0.0),
        gridlines,
        title,
        line: true,
        crosses: "autoZero",
        between: "midCat",
    };
    let x_axis = value_axis(FIRST_AXIS, SECOND_AXIS, "b", false, c.x_label.as_deref());
    let y_axis = value_axis(SECOND_AXIS, FIRST_AXIS, "l", true, c.y_label.as_deref());
    let plot_area = format!(
        "<c:scatterChart><c:scatterStyle val=\"lineMarker\"/><c:varyColors val=\"0\"/>{series}\
         <c:axId val=\"{FIRST_AXIS}\"/><c:axId val=\"{SECOND_AXIS}\"/></c:scatterChart>{}{}",
        x_axis.xml(lang),
        y_axis.xml(lang)
    );
    Drawn { sheet, plot_area, legend: true }
}
