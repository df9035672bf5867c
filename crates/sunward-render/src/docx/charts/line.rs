//! A line chart as a Word chart: the values as a heavy line with dots,
//! an interval as two thin dashed series.

use std::fmt::Write as _;

use super::drawing::{
    Axis, Drawn, FIRST_AXIS, HAIRLINE, HEAVY_LINE, SECOND_AXIS, marker, stroke, value_labels, values_header,
};
use super::sheet::{Sheet, num_ref, numbers, series_name, str_ref, texts};
use crate::chart::LineChart;
use crate::document::Lang;
use crate::numbers::format_number;
use crate::plot::Colour;

pub(super) fn line(c: &LineChart, lang: Lang) -> Drawn {
    let mut sheet = Sheet::default();
    let x = sheet.add(lang.pick("类别", "Category"), texts(&c.x));
    let values = sheet.add(values_header(c.unit.as_deref(), lang), numbers(&c.values));
    let band = match (&c.low, &c.high) {
        (Some(low), Some(high)) => Some([
            sheet.add(lang.pick("区间下限", "Interval low"), numbers(low)),
            sheet.add(lang.pick("区间上限", "Interval high"), numbers(high)),
        ]),
        _ => None,
    };
    let categories = str_ref(&sheet, sheet.all(x));
    let mut series = String::new();
    // The interval's ends first, so the values are drawn over them.
    for (order, column) in band.iter().flatten().enumerate() {
        let _ = write!(
            series,
            "<c:ser><c:idx val=\"{order}\"/><c:order val=\"{order}\"/>{}<c:spPr>{}</c:spPr>{}\
             <c:cat>{categories}</c:cat><c:val>{}</c:val><c:smooth val=\"0\"/></c:ser>",
            series_name(&sheet, *column),
            stroke(Colour::Primary, HAIRLINE, Some("dash")),
            marker(None),
            num_ref(&sheet, sheet.all(*column)),
        );
    }
    let order = if band.is_some() { 2 } else { 0 };
    let printed: Vec<String> = match &c.labels {
        Some(labels) => labels.clone(),
        None => c.values.iter().map(|v| format_number(*v)).collect(),
    };
    let _ = write!(
        series,
        "<c:ser><c:idx val=\"{order}\"/><c:order val=\"{order}\"/>{}<c:spPr>{}</c:spPr>{}{}\
         <c:cat>{categories}</c:cat><c:val>{}</c:val><c:smooth val=\"0\"/></c:ser>",
        series_name(&sheet, values),
        stroke(Colour::Primary, HEAVY_LINE, None),
        marker(Some((Colour::Primary, 6))),
        value_labels(&c.values, &printed, "t", lang),
        num_ref(&sheet, sheet.all(values)),
    );
    // From zero, as the PDF's axis, unless a value lies below it.
    let lowest = c.values.iter().chain(c.low.iter().flatten()).copied().fold(0.0, f64::min);
    let category_axis = Axis {
        category: true,
        id: FIRST_AXIS,
        cross: SECOND_AXIS,
        position: "b",
        reversed: false,
        min: None,
        gridlines: false,
        title: None,
        line: true,
        crosses: "autoZero",
        between: "between",
    };
    let value_axis = Axis {
        category: false,
        id: SECOND_AXIS,
        cross: FIRST_AXIS,
        position: "l",
        reversed: false,
        min: (lowest >= 0.0).then_some(0.0),
        gridlines: true,
        title: c.unit.as_deref(),
        line: false,
        crosses: "autoZero",
        between: "between",
    };
    let plot_area = format!(
        "<c:lineChart><c:grouping val=\"standard\"/><c:varyColors val=\"0\"/>{series}<c:marker val=\"1\"/>\
         <c:axId val=\"{FIRST_AXIS}\"/><c:axId val=\"{SECOND_AXIS}\"/></c:lineChart>{}{}",
        category_axis.xml(lang),
        value_axis.xml(lang)
    );
    Drawn { sheet, plot_area, legend: false }
}
