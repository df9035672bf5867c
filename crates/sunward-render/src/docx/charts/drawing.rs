//! The DrawingML every chart is made of: colours, line strokes, text
//! properties, markers, data labels, axes ([`Axis`]), and what a chart
//! kind hands back ([`Drawn`]: its sheet and its plot area).

use std::fmt::Write as _;

use super::sheet::{Sheet, general, number_text};
use crate::document::Lang;
use crate::docx::xml::{EAST_ASIAN_FONT, esc, language};
use crate::plot::Colour;

/// The two axes of a chart (ids are per part, so every part uses the same two).
pub(super) const FIRST_AXIS: u32 = 1001;
pub(super) const SECOND_AXIS: u32 = 1002;
/// Text sizes in hundredths of a point: labels and axis titles, tick labels.
pub(super) const TEXT_SIZE: u32 = 900;
const TICK_SIZE: u32 = 800;
/// Line widths in EMU (12700 a point).
pub(super) const HEAVY_LINE: u32 = 28575;
pub(super) const LINE: u32 = 12700;
pub(super) const HAIRLINE: u32 = 9525;

/// A colour as DrawingML's `RRGGBB`.
fn rgb(colour: Colour) -> String {
    let (r, g, b) = colour.rgb();
    format!("{r:02X}{g:02X}{b:02X}")
}

pub(super) fn solid(colour: Colour) -> String {
    format!("<a:solidFill><a:srgbClr val=\"{}\"/></a:solidFill>", rgb(colour))
}

/// A line: `width` in EMU, `dash` a preset (`dash`, `sysDot`) or solid.
pub(super) fn stroke(colour: Colour, width: u32, dash: Option<&str>) -> String {
    let dash = dash.map(|d| format!("<a:prstDash val=\"{d}\"/>")).unwrap_or_default();
    format!("<a:ln w=\"{width}\" cap=\"rnd\">{}{dash}<a:round/></a:ln>", solid(colour))
}

pub(super) const NO_LINE: &str = "<a:ln><a:noFill/></a:ln>";
pub(super) const NO_BOX: &str = "<c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>";

/// Character properties (`tag` is `a:defRPr` or `a:rPr`): one face for Latin
/// and East Asian text, see the module comment.
fn char_props(tag: &str, size: u32, colour: Colour, lang: Lang) -> String {
    format!(
        "<{tag} lang=\"{}\" sz=\"{size}\" b=\"0\">{}<a:latin typeface=\"{EAST_ASIAN_FONT}\"/>\
         <a:ea typeface=\"{EAST_ASIAN_FONT}\"/><a:cs typeface=\"{EAST_ASIAN_FONT}\"/></{tag}>",
        language(lang),
        solid(colour)
    )
}

/// `<c:txPr>`: the text properties of an axis, a legend or the chart.
pub(super) fn text_props(size: u32, colour: Colour, lang: Lang) -> String {
    format!(
        "<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr>{}</a:pPr><a:endParaRPr lang=\"{}\"/></a:p></c:txPr>",
        char_props("a:defRPr", size, colour, lang),
        language(lang)
    )
}

/// `<c:tx>` with a text of its own (an axis title, a data label), turned a
/// quarter left when `rotated` (a vertical axis's title).
fn rich_text(text: &str, size: u32, colour: Colour, lang: Lang, rotated: bool) -> String {
    let body = if rotated { "<a:bodyPr rot=\"-5400000\" vert=\"horz\"/>" } else { "<a:bodyPr/>" };
    format!(
        "<c:tx><c:rich>{body}<a:lstStyle/><a:p><a:pPr>{}</a:pPr><a:r>{}<a:t>{}</a:t></a:r></a:p></c:rich></c:tx>",
        char_props("a:defRPr", size, colour, lang),
        char_props("a:rPr", size, colour, lang),
        esc(text)
    )
}

/// A marker: a dot of `size` points, or none.
pub(super) fn marker(dot: Option<(Colour, u32)>) -> String {
    match dot {
        Some((colour, size)) => format!(
            "<c:marker><c:symbol val=\"circle\"/><c:size val=\"{size}\"/><c:spPr>{}{}</c:spPr></c:marker>",
            solid(colour),
            stroke(colour, HAIRLINE, None)
        ),
        None => "<c:marker><c:symbol val=\"none\"/></c:marker>".to_string(),
    }
}

/// What every data label shows besides its text: the value or nothing.
fn label_flags(value: bool) -> String {
    format!(
        "<c:showLegendKey val=\"0\"/><c:showVal val=\"{}\"/><c:showCatName val=\"0\"/><c:showSerName val=\"0\"/>\
         <c:showPercent val=\"0\"/><c:showBubbleSize val=\"0\"/>",
        u8::from(value)
    )
}

/// One point's data label with its own text.
pub(super) fn text_label(idx: usize, text: &str, position: &str, colour: Colour, lang: Lang) -> String {
    format!(
        "<c:dLbl><c:idx val=\"{idx}\"/>{}{NO_BOX}<c:dLblPos val=\"{position}\"/>{}</c:dLbl>",
        rich_text(text, TEXT_SIZE, colour, lang, false),
        label_flags(true)
    )
}

/// `<c:dLbls>`: the points' own labels, then what the others show (the value or nothing).
pub(super) fn data_labels(points: &str, position: &str, show_values: bool, lang: Lang) -> String {
    format!(
        "<c:dLbls>{points}<c:numFmt formatCode=\"General\" sourceLinked=\"0\"/>{NO_BOX}{}\
         <c:dLblPos val=\"{position}\"/>{}</c:dLbls>",
        text_props(TEXT_SIZE, Colour::Ink, lang),
        label_flags(show_values)
    )
}

/// The labels of a series whose point `i` the PDF labels `printed[i]`: the
/// values themselves when every printed label is how General shows its
/// value (an edit relabels the point), else the printed texts.
pub(super) fn value_labels(values: &[f64], printed: &[String], position: &str, lang: Lang) -> String {
    let linked =
        values.len() == printed.len() && values.iter().zip(printed).all(|(v, p)| general(*v).as_deref() == Some(p));
    if linked {
        return data_labels("", position, true, lang);
    }
    let points: String =
        printed.iter().enumerate().map(|(i, text)| text_label(i, text, position, Colour::Ink, lang)).collect();
    data_labels(&points, position, true, lang)
}

/// An axis of a chart.
pub(super) struct Axis<'a> {
    /// A category axis (`c:catAx`), else a value axis (`c:valAx`).
    pub(super) category: bool,
    pub(super) id: u32,
    /// The perpendicular axis.
    pub(super) cross: u32,
    /// Where it is drawn: `b` (bottom) or `l` (left).
    pub(super) position: &'static str,
    /// Runs from its maximum to its minimum (`maxMin`).
    pub(super) reversed: bool,
    /// The lowest value shown, when fixed.
    pub(super) min: Option<f64>,
    /// Gridlines across the plot at its ticks.
    pub(super) gridlines: bool,
    /// Its title (a unit or a label).
    pub(super) title: Option<&'a str>,
    /// Its own line.
    pub(super) line: bool,
    /// Where it crosses the perpendicular axis: `autoZero` or `max`.
    pub(super) crosses: &'static str,
    /// A value axis: whether the perpendicular categories sit `between` ticks or on them (`midCat`).
    pub(super) between: &'static str,
}

impl Axis<'_> {
    pub(super) fn xml(&self, lang: Lang) -> String {
        let tag = if self.category { "c:catAx" } else { "c:valAx" };
        let mut s = format!(
            "<{tag}><c:axId val=\"{}\"/><c:scaling><c:orientation val=\"{}\"/>",
            self.id,
            if self.reversed { "maxMin" } else { "minMax" }
        );
        if let Some(min) = self.min.filter(|m| m.is_finite()) {
            let _ = write!(s, "<c:min val=\"{}\"/>", number_text(min));
        }
        let _ = write!(s, "</c:scaling><c:delete val=\"0\"/><c:axPos val=\"{}\"/>", self.position);
        if self.gridlines {
            let _ = write!(
                s,
                "<c:majorGridlines><c:spPr>{}</c:spPr></c:majorGridlines>",
                stroke(Colour::Grid, HAIRLINE, None)
            );
        }
        if let Some(title) = self.title {
            let _ = write!(
                s,
                "<c:title>{}<c:overlay val=\"0\"/></c:title>",
                rich_text(title, TICK_SIZE, Colour::Axis, lang, self.position == "l")
            );
        }
        let (size, colour) = if self.category { (TEXT_SIZE, Colour::Ink) } else { (TICK_SIZE, Colour::Axis) };
        let line = if self.line { stroke(Colour::Axis, HAIRLINE, None) } else { NO_LINE.to_string() };
        let _ = write!(
            s,
            "<c:numFmt formatCode=\"General\" sourceLinked=\"1\"/><c:majorTickMark val=\"none\"/>\
             <c:minorTickMark val=\"none\"/><c:tickLblPos val=\"nextTo\"/><c:spPr><a:noFill/>{line}</c:spPr>{}\
             <c:crossAx val=\"{}\"/><c:crosses val=\"{}\"/>",
            text_props(size, colour, lang),
            self.cross,
            self.crosses
        );
        if self.category {
            s.push_str(
                "<c:auto val=\"1\"/><c:lblAlgn val=\"ctr\"/><c:lblOffset val=\"100\"/><c:noMultiLvlLbl val=\"0\"/>",
            );
        } else {
            let _ = write!(s, "<c:crossBetween val=\"{}\"/>", self.between);
        }
        let _ = write!(s, "</{tag}>");
        s
    }
}

/// A chart's data and what draws them.
pub(super) struct Drawn {
    pub(super) sheet: Sheet,
    /// The chart element and its axes, inside `c:plotArea`.
    pub(super) plot_area: String,
    /// A legend (at the top).
    pub(super) legend: bool,
}

/// The name of a series of values: the unit, or a plain word.
pub(super) fn values_header(unit: Option<&str>, lang: Lang) -> String {
    unit.map_or_else(|| lang.pick("数值", "Value").to_string(), str::to_string)
}
