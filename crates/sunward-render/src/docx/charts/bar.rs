//! A bar chart as a Word chart: horizontal bars, categories top to
//! bottom, the value axis from zero below the bars.

use super::drawing::{Axis, Drawn, FIRST_AXIS, NO_LINE, SECOND_AXIS, solid, value_labels, values_header};
use super::sheet::{Sheet, num_ref, numbers, series_name, str_ref, texts};
use crate::chart::BarChart;
use crate::document::Lang;
use crate::numbers::format_number;
use crate::plot::Colour;

pub(super) fn bar(c: &BarChart, lang: Lang) -> Drawn {
    let mut sheet = Sheet::default();
    let categories = sheet.add(lang.pick("类别", "Category"), texts(&c.categories));
    let values = sheet.add(values_header(c.unit.as_deref(), lang), numbers(&c.values));
    let printed = c.labels.clone().unwrap_or_else(|| c.values.iter().map(|v| format_number(*v)).collect());
    let series = format!(
        "<c:ser><c:idx val=\"0\"/><c:order val=\"0\"/>{}<c:spPr>{}{NO_LINE}</c:spPr><c:invertIfNegative val=\"0\"/>\
         {}<c:cat>{}</c:cat><c:val>{}</c:val></c:ser>",
        series_name(&sheet, values),
        solid(Colour::Primary),
        value_labels(&c.values, &printed, "outEnd", lang),
        str_ref(&sheet, sheet.all(categories)),
        num_ref(&sheet, sheet.all(values)),
    );
    let category_axis = Axis {
        category: true,
        id: FIRST_AXIS,
        cross: SECOND_AXIS,
        position: "l",
        reversed: true,
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
        position: "b",
        reversed: false,
        min: Some(0.0),
        gridlines: true,
        title: c.unit.as_deref(),
        line: false,
        crosses: "max",
        between: "between",
    };
    let plot_area = format!(
        "<c:barChart><c:barDir val=\"bar\"/><c:grouping val=\"clustered\"/><c:varyColors val=\"0\"/>{series}\
         <c:gapWidth val=\"67\"/><c:axId val=\"{FIRST_AXIS}\"/><c:axId val=\"{SECOND_AXIS}\"/></c:barChart>{}{}",
        category_axis.xml(lang),
        value_axis.xml(lang)
    );
    Drawn { sheet, plot_area, legend: false }
}
