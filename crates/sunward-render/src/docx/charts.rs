//! The charts of a Word report as native Word charts: each figure is a
//! DrawingML chart part (`word/charts/chartN.xml`) that carries its numbers,
//! with an embedded workbook (`word/embeddings/Microsoft_Excel_WorksheetN.xlsx`)
//! holding the same numbers, so that 编辑数据 / "Edit Data" in Word opens
//! them in a spreadsheet and the chart follows the edit. Word, WPS and
//! LibreOffice draw a chart from the values cached in its part
//! (`c:strCache`, `c:numCache`); the workbook is read only when someone edits.
//!
//! A chart's data are laid out once, as a [`Sheet`]: column A the categories
//! (or the x values), one column per series, the names in a header row. The
//! workbook, the part's cell references (`Sheet1!$B$2:$B$5`) and its caches
//! are all written from that one layout, so they cannot disagree.
//!
//! - **Bar chart** — `c:barChart` with horizontal bars (`barDir bar`). A
//!   category axis runs bottom to top unless reversed, so it is reversed
//!   (`orientation maxMin`) to list the categories top to bottom as the PDF
//!   does, and the value axis crosses it at the last category (`crosses
//!   max`), which keeps the value axis below the bars. The value axis starts
//!   at zero, as the PDF's does.
//! - **Line chart** — `c:lineChart`: the values as a heavy line with dots;
//!   an interval is two more line series, its low ends and its high ends,
//!   thin, dashed and without dots. Plain line series, not the line chart's
//!   own hi-low lines or up-down bars: LibreOffice (7.4, tried) draws neither
//!   in a line chart, while every word processor draws a line series.
//! - **Funnel plot** — `c:scatterChart`: the units as dots without a line;
//!   the overall rate as a line; each control limit (95 %, 99.8 %) one
//!   series with its own legend entry, holding the upper curve, a blank row
//!   and the lower curve, so the line breaks between the two curves
//!   (`dispBlanksAs gap`). The sheet has the units' rows, then the curves'
//!   rows, and every series spans all of them, blank where it has no point:
//!   LibreOffice drops the line series of a scatter chart whose series span
//!   different rows. The curves are sampled as the PDF samples them
//!   (49 sizes, geometrically, from a tenth of the x range), and their
//!   values are in the workbook: editing a unit's rate moves its dot but not
//!   the limits, which are Poisson quantiles, not formulas.
//!
//! Data labels print what the PDF prints. A label that is exactly how Word's
//! General number format shows the value is the value itself (`showVal`), so
//! an edited number relabels itself; any other label (`2,913`, `5.30`, a
//! rounded rate) is the printed text, point by point (`c:dLbl` with its own
//! text). A funnel plot labels the units outside its limits with their names.
//!
//! Every text of a chart is set in [`EAST_ASIAN_FONT`] as its Latin and its
//! East Asian face (`a:latin`, `a:ea`): the face Word and WPS give Chinese
//! runs in the body, and one that holds both scripts, so no renderer sets a
//! Chinese label in a Latin-only face.

use std::fmt::Write as _;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook, XlsxError};

use super::error::DocxError;
use super::xml::{EAST_ASIAN_FONT, NS_R, REL_BASE, XML_DECL, esc, language};
use crate::chart::{BarChart, Chart, FunnelPlot, FunnelSide, LineChart, nice_ticks};
use crate::document::Lang;
use crate::numbers::format_number;
use crate::plot::{self, Colour};

/// The one worksheet of a chart's workbook, as the cell references name it.
const SHEET: &str = "Sheet1";
/// The relationship from a chart part to its workbook.
const WORKBOOK_REL: &str = "rIdWorkbook";
/// The two axes of a chart (ids are per part, so every part uses the same two).
const FIRST_AXIS: u32 = 1001;
const SECOND_AXIS: u32 = 1002;
/// Text sizes in hundredths of a point: labels and axis titles, tick labels.
const TEXT_SIZE: u32 = 900;
const TICK_SIZE: u32 = 800;
/// Line widths in EMU (12700 a point).
const HEAVY_LINE: u32 = 28575;
const LINE: u32 = 12700;
const HAIRLINE: u32 = 9525;
/// How many sizes a funnel plot's limit curves are sampled at (as the PDF's).
const LIMIT_SAMPLES: usize = 49;
/// The workbook's creation date when the document has none: the DOS epoch,
/// the date the zip entries carry.
const EPOCH: (u16, u8, u8) = (1980, 1, 1);

/// A chart as the package holds it.
pub(super) struct ChartPart {
    /// The chart part, `word/charts/chartN.xml`.
    pub xml: String,
    /// The embedded workbook with the chart's data.
    pub workbook: Vec<u8>,
}

/// The chart part and workbook of one chart. `generated` is the document's
/// date (`YYYY-MM-DD`), stamped as the workbook's creation date instead of
/// the clock, so that two renders give the same bytes.
pub(super) fn chart_part(chart: &Chart, lang: Lang, generated: Option<&str>) -> Result<ChartPart, DocxError> {
    let drawn = match chart {
        Chart::Bar(c) => bar(c, lang),
        Chart::Line(c) => line(c, lang),
        Chart::Funnel(c) => funnel(c, lang),
    };
    Ok(ChartPart { xml: chart_space(&drawn, lang), workbook: drawn.sheet.workbook(generated)? })
}

/// The file name of chart `n`'s workbook under `word/embeddings/`.
pub(super) fn workbook_name(n: usize) -> String {
    format!("Microsoft_Excel_Worksheet{n}.xlsx")
}

/// The relationships of chart part `n`: its embedded workbook.
pub(super) fn part_rels(n: usize) -> String {
    format!(
        "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
         <Relationship Id=\"{WORKBOOK_REL}\" Type=\"{REL_BASE}/package\" Target=\"../embeddings/{}\"/>\
         </Relationships>",
        workbook_name(n)
    )
}

// ---------------------------------------------------------------- the sheet

/// A cell of the worksheet.
#[derive(Debug, Clone, PartialEq)]
enum SheetCell {
    Text(String),
    Number(f64),
    Blank,
}

impl SheetCell {
    /// The cell as a cache holds it; `None` for a blank (or a number that is not finite).
    fn cached(&self) -> Option<String> {
        match self {
            SheetCell::Text(t) => Some(t.clone()),
            SheetCell::Number(v) if v.is_finite() => Some(number_text(*v)),
            _ => None,
        }
    }
}

/// One column of the worksheet: its header (row 1) and its cells from row 2 down.
struct SheetColumn {
    header: String,
    cells: Vec<SheetCell>,
}

/// The worksheet of a chart's data.
#[derive(Default)]
struct Sheet {
    columns: Vec<SheetColumn>,
}

/// Cells of one column: the data rows `first .. first + len` (row 0 is the
/// row under the header, the sheet's row 2).
#[derive(Debug, Clone, Copy)]
struct Cells {
    column: usize,
    first: usize,
    len: usize,
}

impl Cells {
    /// The same rows of another column.
    fn with_column(self, column: usize) -> Cells {
        Cells { column, ..self }
    }
}

impl Sheet {
    /// Adds a column; its index.
    fn add(&mut self, header: impl Into<String>, cells: Vec<SheetCell>) -> usize {
        self.columns.push(SheetColumn { header: header.into(), cells });
        self.columns.len() - 1
    }

    /// Every data row of a column.
    fn all(&self, column: usize) -> Cells {
        Cells { column, first: 0, len: self.columns.get(column).map_or(0, |c| c.cells.len()) }
    }

    /// The cells of a range, blank where the column is shorter.
    fn cells(&self, range: Cells) -> impl Iterator<Item = SheetCell> + '_ {
        let column = self.columns.get(range.column);
        (range.first..range.first + range.len)
            .map(move |row| column.and_then(|c| c.cells.get(row)).cloned().unwrap_or(SheetCell::Blank))
    }

    /// A column's header.
    fn header(&self, column: usize) -> &str {
        self.columns.get(column).map_or("", |c| c.header.as_str())
    }

    /// The workbook: the columns on `Sheet1`, headers in row 1, created on
    /// the document's date (or [`EPOCH`]).
    fn workbook(&self, generated: Option<&str>) -> Result<Vec<u8>, DocxError> {
        let fail = |e: XlsxError| DocxError(format!("cannot write a chart's workbook: {e}"));
        let created = generated
            .and_then(ymd)
            .and_then(|(y, m, d)| ExcelDateTime::from_ymd(y, m, d).ok())
            .map_or_else(|| ExcelDateTime::from_ymd(EPOCH.0, EPOCH.1, EPOCH.2), Ok)
            .map_err(fail)?;
        let mut workbook = Workbook::new();
        workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
        let sheet = workbook.add_worksheet();
        sheet.set_name(SHEET).map_err(fail)?;
        for (c, column) in self.columns.iter().enumerate() {
            let col = u16::try_from(c).map_err(|_| DocxError("a chart has too many series".to_string()))?;
            sheet.write_string(0, col, column.header.as_str()).map_err(fail)?;
            let mut widest = plot::text_width(&column.header, 1.0);
            for (r, cell) in column.cells.iter().enumerate() {
                let row = u32::try_from(r + 1).map_err(|_| DocxError("a chart has too many points".to_string()))?;
                match cell {
                    SheetCell::Text(t) => {
                        sheet.write_string(row, col, t.as_str()).map_err(fail)?;
                    }
                    SheetCell::Number(v) if v.is_finite() => {
                        sheet.write_number(row, col, *v).map_err(fail)?;
                    }
                    _ => {}
                }
                if let Some(text) = cell.cached() {
                    widest = widest.max(plot::text_width(&text, 1.0));
                }
            }
            // text_width counts a Chinese character 1 and a digit 0.6; Excel's unit is a digit.
            sheet.set_column_width(col, (widest / 0.6 + 2.0).clamp(8.0, 60.0)).map_err(fail)?;
        }
        workbook.save_to_buffer().map_err(fail)
    }
}

/// `2025-01-15` → (2025, 1, 15).
fn ymd(date: &str) -> Option<(u16, u8, u8)> {
    let mut parts = date.trim().splitn(3, '-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    Some((y, m, d))
}

/// A column's letter: 0 → `A`, 25 → `Z`, 26 → `AA`.
fn column_letter(column: usize) -> String {
    let mut n = column + 1;
    let mut letters = Vec::new();
    while n > 0 {
        letters.push(char::from(b'A' + ((n - 1) % 26) as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// The formula of a range, e.g. `Sheet1!$B$2:$B$6` (a single cell for an empty range).
fn formula(range: Cells) -> String {
    let col = column_letter(range.column);
    let first = range.first + 2;
    let last = first + range.len.max(1) - 1;
    format!("{SHEET}!${col}${first}:${col}${last}")
}

/// A number as a cache and the workbook's XML hold it: the shortest text that reads back the same.
fn number_text(v: f64) -> String {
    format!("{v}")
}

/// How Word's General number format shows `v`, where that is plain: the
/// shortest decimal text, up to 11 characters; `None` for what General would
/// round or put in exponent form.
fn general(v: f64) -> Option<String> {
    let text = number_text(v);
    (v.is_finite() && text.len() <= 11 && !text.contains('e')).then_some(text)
}

/// `<c:strRef>`: the range's formula and its texts.
fn str_ref(sheet: &Sheet, range: Cells) -> String {
    let mut s = format!("<c:strRef><c:f>{}</c:f><c:strCache><c:ptCount val=\"{}\"/>", formula(range), range.len);
    for (i, cell) in sheet.cells(range).enumerate() {
        if let Some(text) = cell.cached() {
            let _ = write!(s, "<c:pt idx=\"{i}\"><c:v>{}</c:v></c:pt>", esc(&text));
        }
    }
    s.push_str("</c:strCache></c:strRef>");
    s
}

/// `<c:numRef>`: the range's formula and its numbers; blanks are left out (a gap).
fn num_ref(sheet: &Sheet, range: Cells) -> String {
    let mut s = format!(
        "<c:numRef><c:f>{}</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val=\"{}\"/>",
        formula(range),
        range.len
    );
    for (i, cell) in sheet.cells(range).enumerate() {
        if let SheetCell::Number(v) = cell
            && v.is_finite()
        {
            let _ = write!(s, "<c:pt idx=\"{i}\"><c:v>{}</c:v></c:pt>", number_text(v));
        }
    }
    s.push_str("</c:numCache></c:numRef>");
    s
}

/// A series' name: its column's header.
fn series_name(sheet: &Sheet, column: usize) -> String {
    let col = column_letter(column);
    format!(
        "<c:tx><c:strRef><c:f>{SHEET}!${col}$1</c:f><c:strCache><c:ptCount val=\"1\"/>\
         <c:pt idx=\"0\"><c:v>{}</c:v></c:pt></c:strCache></c:strRef></c:tx>",
        esc(sheet.header(column))
    )
}

fn numbers(values: &[f64]) -> Vec<SheetCell> {
    values.iter().map(|v| SheetCell::Number(*v)).collect()
}

fn texts(texts: &[String]) -> Vec<SheetCell> {
    texts.iter().map(|t| SheetCell::Text(t.clone())).collect()
}

// ---------------------------------------------------------------- drawing properties

/// A colour as DrawingML's `RRGGBB`.
fn rgb(colour: Colour) -> String {
    let (r, g, b) = colour.rgb();
    format!("{r:02X}{g:02X}{b:02X}")
}

fn solid(colour: Colour) -> String {
    format!("<a:solidFill><a:srgbClr val=\"{}\"/></a:solidFill>", rgb(colour))
}

/// A line: `width` in EMU, `dash` a preset (`dash`, `sysDot`) or solid.
fn stroke(colour: Colour, width: u32, dash: Option<&str>) -> String {
    let dash = dash.map(|d| format!("<a:prstDash val=\"{d}\"/>")).unwrap_or_default();
    format!("<a:ln w=\"{width}\" cap=\"rnd\">{}{dash}<a:round/></a:ln>", solid(colour))
}

const NO_LINE: &str = "<a:ln><a:noFill/></a:ln>";
const NO_BOX: &str = "<c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>";

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
fn text_props(size: u32, colour: Colour, lang: Lang) -> String {
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
fn marker(dot: Option<(Colour, u32)>) -> String {
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
fn text_label(idx: usize, text: &str, position: &str, colour: Colour, lang: Lang) -> String {
    format!(
        "<c:dLbl><c:idx val=\"{idx}\"/>{}{NO_BOX}<c:dLblPos val=\"{position}\"/>{}</c:dLbl>",
        rich_text(text, TEXT_SIZE, colour, lang, false),
        label_flags(true)
    )
}

/// `<c:dLbls>`: the points' own labels, then what the others show (the value or nothing).
fn data_labels(points: &str, position: &str, show_values: bool, lang: Lang) -> String {
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
fn value_labels(values: &[f64], printed: &[String], position: &str, lang: Lang) -> String {
    let linked =
        values.len() == printed.len() && values.iter().zip(printed).all(|(v, p)| general(*v).as_deref() == Some(p));
    if linked {
        return data_labels("", position, true, lang);
    }
    let points: String =
        printed.iter().enumerate().map(|(i, text)| text_label(i, text, position, Colour::Ink, lang)).collect();
    data_labels(&points, position, true, lang)
}

// ---------------------------------------------------------------- axes

/// An axis of a chart.
struct Axis<'a> {
    /// A category axis (`c:catAx`), else a value axis (`c:valAx`).
    category: bool,
    id: u32,
    /// The perpendicular axis.
    cross: u32,
    /// Where it is drawn: `b` (bottom) or `l` (left).
    position: &'static str,
    /// Runs from its maximum to its minimum (`maxMin`).
    reversed: bool,
    /// The lowest value shown, when fixed.
    min: Option<f64>,
    /// Gridlines across the plot at its ticks.
    gridlines: bool,
    /// Its title (a unit or a label).
    title: Option<&'a str>,
    /// Its own line.
    line: bool,
    /// Where it crosses the perpendicular axis: `autoZero` or `max`.
    crosses: &'static str,
    /// A value axis: whether the perpendicular categories sit `between` ticks or on them (`midCat`).
    between: &'static str,
}

impl Axis<'_> {
    fn xml(&self, lang: Lang) -> String {
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

// ---------------------------------------------------------------- the three charts

/// A chart's data and what draws them.
struct Drawn {
    sheet: Sheet,
    /// The chart element and its axes, inside `c:plotArea`.
    plot_area: String,
    /// A legend (at the top).
    legend: bool,
}

/// The name of a series of values: the unit, or a plain word.
fn values_header(unit: Option<&str>, lang: Lang) -> String {
    unit.map_or_else(|| lang.pick("数值", "Value").to_string(), str::to_string)
}

fn bar(c: &BarChart, lang: Lang) -> Drawn {
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

fn line(c: &LineChart, lang: Lang) -> Drawn {
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

fn funnel(c: &FunnelPlot, lang: Lang) -> Drawn {
    // The sizes the limits are drawn at, as the PDF's layout samples them.
    let n_max = c.points.iter().map(|p| p.denominator).fold(0.0, f64::max);
    let x_max = nice_ticks(0.0, n_max * 1.05, 5).last().copied().unwrap_or(1.0);
    let n_from = x_max / 10.0;
    let last = (LIMIT_SAMPLES - 1) as f64;
    let sizes: Vec<f64> = (0..LIMIT_SAMPLES).map(|i| n_from * (x_max / n_from).powf(i as f64 / last)).collect();
    let limits: Vec<_> = sizes.iter().map(|n| c.limits(*n)).collect();
    let overall = c.overall_rate();
    let units = c.points.len();
    let blank = || SheetCell::Blank;

    // Rows: the units; the upper curves (with the overall rate); a blank row; the lower curves.
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
    let overall_column = sheet.add(lang.pick("总体水平", "Overall"), level);
    let limit95 = sheet.add(lang.pick("95%控制限", "95% limits"), limit95);
    let limit998 = sheet.add(lang.pick("99.8%控制限", "99.8% limits"), limit998);
    sheet.add(lang.pick("名称", "Name"), names);

    // Every series spans every row, blank where it has no point: LibreOffice leaves out
    // the line series of a scatter chart whose series cover different rows (a first
    // series shorter than the next, or units outnumbering the curves' rows).
    let every_row = |column| sheet.all(x).with_column(column);
    let mut series = String::new();
    // In the PDF's legend order: overall, 95 %, 99.8 %; the units last, drawn on top.
    let lines = [
        (overall_column, None, Colour::Primary),
        (limit95, Some("dash"), Colour::Axis),
        (limit998, Some("sysDot"), Colour::Axis),
    ];
    let unit_order = lines.len();
    for (order, (column, dash, colour)) in lines.into_iter().enumerate() {
        let _ = write!(
            series,
            "<c:ser><c:idx val=\"{order}\"/><c:order val=\"{order}\"/>{}<c:spPr>{}</c:spPr>{}\
             <c:xVal>{}</c:xVal><c:yVal>{}</c:yVal><c:smooth val=\"0\"/></c:ser>",
            series_name(&sheet, column),
            stroke(colour, LINE, dash),
            marker(None),
            num_ref(&sheet, every_row(x)),
            num_ref(&sheet, every_row(column)),
        );
    }
    // Units above the limits in the accent colour; every unit outside them named.
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
    let order = unit_order;
    let _ = write!(
        series,
        "<c:ser><c:idx val=\"{order}\"/><c:order val=\"{order}\"/>{}<c:spPr>{NO_LINE}</c:spPr>{}{points}{}\
         <c:xVal>{}</c:xVal><c:yVal>{}</c:yVal><c:smooth val=\"0\"/></c:ser>",
        series_name(&sheet, y),
        marker(Some((Colour::Primary, 7))),
        data_labels(&labels, "r", false, lang),
        num_ref(&sheet, every_row(x)),
        num_ref(&sheet, every_row(y)),
    );
    let x_axis = Axis {
        category: false,
        id: FIRST_AXIS,
        cross: SECOND_AXIS,
        position: "b",
        reversed: false,
        min: Some(0.0),
        gridlines: false,
        title: c.x_label.as_deref(),
        line: true,
        crosses: "autoZero",
        between: "midCat",
    };
    let y_axis = Axis {
        category: false,
        id: SECOND_AXIS,
        cross: FIRST_AXIS,
        position: "l",
        reversed: false,
        min: Some(0.0),
        gridlines: true,
        title: c.y_label.as_deref(),
        line: true,
        crosses: "autoZero",
        between: "midCat",
    };
    let plot_area = format!(
        "<c:scatterChart><c:scatterStyle val=\"lineMarker\"/><c:varyColors val=\"0\"/>{series}\
         <c:axId val=\"{FIRST_AXIS}\"/><c:axId val=\"{SECOND_AXIS}\"/></c:scatterChart>{}{}",
        x_axis.xml(lang),
        y_axis.xml(lang)
    );
    Drawn { sheet, plot_area, legend: true }
}

/// The chart part: no title (the caption stands above the chart in the
/// document), no border, the chart's text properties, and the workbook.
fn chart_space(drawn: &Drawn, lang: Lang) -> String {
    let legend = if drawn.legend {
        format!(
            "<c:legend><c:legendPos val=\"t\"/><c:overlay val=\"0\"/>{}</c:legend>",
            text_props(TEXT_SIZE, Colour::Ink, lang)
        )
    } else {
        String::new()
    };
    format!(
        "{XML_DECL}<c:chartSpace xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" \
         xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:r=\"{NS_R}\">\
         <c:date1904 val=\"0\"/><c:lang val=\"{}\"/><c:roundedCorners val=\"0\"/>\
         <c:chart><c:autoTitleDeleted val=\"1\"/><c:plotArea><c:layout/>{}{NO_BOX}</c:plotArea>{legend}\
         <c:plotVisOnly val=\"1\"/><c:dispBlanksAs val=\"gap\"/></c:chart>{NO_BOX}{}\
         <c:externalData r:id=\"{WORKBOOK_REL}\"><c:autoUpdate val=\"0\"/></c:externalData></c:chartSpace>",
        language(lang),
        drawn.plot_area,
        text_props(TEXT_SIZE, Colour::Ink, lang)
    )
}

/// The renderer's test helpers (LibreOffice's conversion), shared with its test files.
#[cfg(test)]
#[path = "../../tests/common/mod.rs"]
mod test_common;

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::*;
    use crate::chart::FunnelPoint;
    use crate::document::{Block, Document};

    /// The bytes of one entry of a zip.
    fn unzip(bytes: &[u8], name: &str) -> Vec<u8> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
        let mut file = zip.by_name(name).unwrap_or_else(|_| panic!("no part {name}"));
        let mut out = Vec::new();
        file.read_to_end(&mut out).expect("readable");
        out
    }

    fn unzip_text(bytes: &[u8], name: &str) -> String {
        String::from_utf8(unzip(bytes, name)).expect("UTF-8")
    }

    /// The text between the first `start` and the next `end` after it.
    fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
        let from = s.find(start).unwrap_or_else(|| panic!("no {start} in {s}")) + start.len();
        let to = s[from..].find(end).unwrap_or_else(|| panic!("no {end} after {start}"));
        &s[from..from + to]
    }

    /// The points of the first cache in `xml`: (index, text).
    fn points(xml: &str) -> Vec<(usize, String)> {
        xml.split("<c:pt idx=\"")
            .skip(1)
            .map(|p| {
                let idx = p[..p.find('"').unwrap()].parse().unwrap();
                (idx, between(p, "<c:v>", "</c:v>").to_string())
            })
            .collect()
    }

    /// The number at `idx` of the first cache in `xml`, if the point is there.
    fn number_at(xml: &str, idx: usize) -> Option<f64> {
        points(xml).into_iter().find(|(i, _)| *i == idx).map(|(_, v)| v.parse().unwrap())
    }

    /// The `<c:ser>` elements of a chart part.
    fn series(xml: &str) -> Vec<&str> {
        xml.split("<c:ser>").skip(1).map(|s| &s[..s.find("</c:ser>").unwrap()]).collect()
    }

    fn texts_of(v: &[&str]) -> Vec<(usize, String)> {
        v.iter().enumerate().map(|(i, t)| (i, t.to_string())).collect()
    }

    fn part(chart: Chart) -> ChartPart {
        chart_part(&chart, Lang::ZhCn, Some("2025-01-15")).unwrap()
    }

    fn services() -> BarChart {
        BarChart {
            categories: vec!["成长课堂".into(), "小组活动".into(), "个案辅导".into()],
            values: vec![2913.0, 351.0, 134.0],
            labels: None,
            unit: Some("人次".into()),
            tally: false,
        }
    }

    fn incidents() -> LineChart {
        LineChart {
            x: vec!["2022学年".into(), "2023学年".into(), "2024学年".into()],
            values: vec![5.3, 4.1, 2.8],
            low: Some(vec![4.6, 3.5, 2.3]),
            high: Some(vec![6.1, 4.8, 3.4]),
            labels: Some(vec!["5.3".into(), "4.1".into(), "2.8".into()]),
            unit: Some("每千名学生".into()),
        }
    }

    /// Overall 5 per 1,000; two schools of 900: 甲校 at the overall rate,
    /// 乙校 far above (16 per 1,000 is 14.4 events where λ = 4.5).
    fn schools() -> FunnelPlot {
        FunnelPlot {
            points: vec![
                FunnelPoint { label: "甲校".into(), denominator: 900.0, rate: 5.0, counts: None },
                FunnelPoint { label: "乙校".into(), denominator: 900.0, rate: 16.0, counts: None },
            ],
            scale: 1000.0,
            overall: Some(5.0),
            x_label: Some("在校学生数".into()),
            y_label: Some("每千名学生极端事件".into()),
        }
    }

    /// A cell of a workbook's first sheet as text (a shared string or a number).
    fn cell(workbook: &[u8], reference: &str) -> String {
        let sheet = unzip_text(workbook, "xl/worksheets/sheet1.xml");
        let open = format!("<c r=\"{reference}\"");
        let start = sheet.find(&open).unwrap_or_else(|| panic!("no cell {reference} in {sheet}"));
        let xml = &sheet[start..start + sheet[start..].find("</c>").unwrap()];
        let value = between(xml, "<v>", "</v>");
        if !xml.contains("t=\"s\"") {
            return value.to_string();
        }
        let shared = unzip_text(workbook, "xl/sharedStrings.xml");
        let index: usize = value.parse().unwrap();
        let item = shared.split("<si>").nth(index + 1).unwrap();
        let text = &item[item.find("<t").unwrap()..];
        between(text, ">", "</t>").to_string()
    }

    #[test]
    fn a_bar_chart_lists_its_categories_top_to_bottom_with_their_values() {
        let xml = part(Chart::Bar(services())).xml;
        assert!(xml.contains("<c:barDir val=\"bar\"/>"), "horizontal bars");
        let category_axis = between(&xml, "<c:catAx>", "</c:catAx>");
        assert!(category_axis.contains("<c:orientation val=\"maxMin\"/>"), "first category on top");
        let value_axis = between(&xml, "<c:valAx>", "</c:valAx>");
        assert!(value_axis.contains("<c:crosses val=\"max\"/>"), "value axis under the last bar");
        assert!(value_axis.contains("<c:min val=\"0\"/>"), "bars from zero");
        assert!(value_axis.contains("<a:t>人次</a:t>"), "the unit is the value axis's title");
        let all = series(&xml);
        assert_eq!(all.len(), 1);
        let ser = all[0];
        assert_eq!(between(ser, "<c:cat>", "</c:cat>").matches("<c:f>").count(), 1);
        assert!(ser.contains("<c:f>Sheet1!$A$2:$A$4</c:f>") && ser.contains("<c:f>Sheet1!$B$2:$B$4</c:f>"), "{ser}");
        assert_eq!(points(between(ser, "<c:cat>", "</c:cat>")), texts_of(&["成长课堂", "小组活动", "个案辅导"]));
        assert_eq!(points(between(ser, "<c:val>", "</c:val>")), texts_of(&["2913", "351", "134"]));
        assert_eq!(points(between(ser, "<c:tx>", "</c:tx>")), texts_of(&["人次"]));
        // The PDF prints 2913, 351, 134: the values themselves, which an edit relabels.
        let labels = between(ser, "<c:dLbls>", "</c:dLbls>");
        assert!(labels.contains("<c:showVal val=\"1\"/>") && !labels.contains("<c:dLbl>"), "{labels}");
        // Chinese text in the body's East Asian face, Latin text too.
        assert!(xml.contains("<a:latin typeface=\"Microsoft YaHei\"/><a:ea typeface=\"Microsoft YaHei\"/>"));
        assert!(xml.contains("<c:externalData r:id=\"rIdWorkbook\"><c:autoUpdate val=\"0\"/></c:externalData>"));
        assert!(xml.contains("<c:autoTitleDeleted val=\"1\"/>"), "the caption is the title");
    }

    #[test]
    fn labels_the_value_does_not_show_are_each_points_own_text() {
        let mut chart = services();
        chart.labels = Some(vec!["2,913".into(), "351".into(), "<5".into()]);
        let xml = part(Chart::Bar(chart)).xml;
        let labels = between(&xml, "<c:dLbls>", "</c:dLbls>");
        let own: Vec<&str> = labels.split("<a:t>").skip(1).map(|t| &t[..t.find("</a:t>").unwrap()]).collect();
        assert_eq!(own, ["2,913", "351", "&lt;5"]);
        assert!(labels.starts_with("<c:dLbl><c:idx val=\"0\"/>"), "{labels}");
        // The same texts as values: linked.
        let xml = part(Chart::Line(incidents())).xml;
        assert!(!xml.contains("<c:dLbl>"));
        // A rounded label (the PDF's 5.33 for 5.333…) stays the printed text.
        let mut line = incidents();
        line.values[0] = 16.0 / 3.0;
        line.labels = None;
        let xml = part(Chart::Line(line)).xml;
        assert_eq!(xml.matches("<c:dLbl>").count(), 3);
        assert!(xml.contains("<a:t>5.33</a:t>") && xml.contains("<a:t>4.1</a:t>"));
    }

    #[test]
    fn a_line_chart_draws_its_interval_as_two_dashed_series_under_the_values() {
        let xml = part(Chart::Line(incidents())).xml;
        assert!(xml.contains("<c:lineChart>"));
        let all = series(&xml);
        assert_eq!(all.len(), 3);
        let names: Vec<String> = all.iter().map(|s| points(between(s, "<c:tx>", "</c:tx>"))[0].1.clone()).collect();
        assert_eq!(names, ["区间下限", "区间上限", "每千名学生"]);
        let expect = [
            ("$C$2:$C$4", ["4.6", "3.5", "2.3"]),
            ("$D$2:$D$4", ["6.1", "4.8", "3.4"]),
            ("$B$2:$B$4", ["5.3", "4.1", "2.8"]),
        ];
        for (ser, (range, values)) in all.iter().zip(expect) {
            assert!(ser.contains(&format!("<c:f>Sheet1!{range}</c:f>")), "{ser}");
            assert_eq!(points(between(ser, "<c:val>", "</c:val>")), texts_of(&values));
            assert!(ser.contains("<c:f>Sheet1!$A$2:$A$4</c:f>"));
            assert_eq!(points(between(ser, "<c:cat>", "</c:cat>")), texts_of(&["2022学年", "2023学年", "2024学年"]));
        }
        for end in &all[..2] {
            assert!(end.contains("<a:prstDash val=\"dash\"/>") && end.contains("<c:symbol val=\"none\"/>"));
        }
        assert!(all[2].contains("<c:symbol val=\"circle\"/>") && all[2].contains("<c:dLblPos val=\"t\"/>"));
        assert!(between(&xml, "<c:valAx>", "</c:valAx>").contains("<a:t>每千名学生</a:t>"));
        // Without an interval, one series.
        let mut plain = incidents();
        plain.low = None;
        plain.high = None;
        assert_eq!(series(&part(Chart::Line(plain)).xml).len(), 1);
    }

    #[test]
    fn a_funnel_plot_has_its_units_as_dots_and_each_limit_as_one_series() {
        let xml = part(Chart::Funnel(schools())).xml;
        assert!(xml.contains("<c:scatterChart>") && xml.contains("<c:legend>"));
        assert!(xml.contains("<c:dispBlanksAs val=\"gap\"/>"));
        let all = series(&xml);
        let names: Vec<String> = all.iter().map(|s| points(between(s, "<c:tx>", "</c:tx>"))[0].1.clone()).collect();
        assert_eq!(names, ["总体水平", "95%控制限", "99.8%控制限", "每千名学生极端事件"]);
        // Rows 2–3 the units; then the curves: 49 upper points, a blank row, 49 lower. The
        // x range is 0–1000 (nice ticks over 945), sampled from 100 to 1000, so the last
        // upper point is at 1000 students, where λ = 5 (chart.rs works these by hand):
        // 95 % 0.5421–9.3765, 99.8 % 0–12.771 per 1,000. Every series spans all 101 rows.
        let (limit95, limit998) = (all[1], all[2]);
        assert!(limit95.contains("<c:f>Sheet1!$A$2:$A$102</c:f>") && limit95.contains("<c:f>Sheet1!$D$2:$D$102</c:f>"));
        assert!(limit998.contains("<c:f>Sheet1!$E$2:$E$102</c:f>"));
        let x = between(limit95, "<c:xVal>", "</c:xVal>");
        assert_eq!(number_at(x, 1), Some(900.0));
        assert_eq!(number_at(x, 2), Some(100.0));
        assert_eq!(number_at(x, 50), Some(1000.0));
        assert_eq!(number_at(x, 51), None, "the gap between the curves");
        let close = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 1e-3);
        let y95 = between(limit95, "<c:yVal>", "</c:yVal>");
        assert_eq!(number_at(y95, 1), None, "no limit on a unit's row");
        assert!(close(number_at(y95, 50), 9.3765), "{y95}");
        assert_eq!(number_at(y95, 51), None);
        assert!(close(number_at(y95, 100), 0.5421), "{y95}");
        let y998 = between(limit998, "<c:yVal>", "</c:yVal>");
        assert!(close(number_at(y998, 50), 12.771) && number_at(y998, 100) == Some(0.0), "{y998}");
        assert!(limit95.contains("<a:prstDash val=\"dash\"/>") && limit998.contains("<a:prstDash val=\"sysDot\"/>"));
        // The overall line over the upper rows only.
        let overall = all[0];
        assert!(overall.contains("<c:f>Sheet1!$C$2:$C$102</c:f>"));
        let level = between(overall, "<c:yVal>", "</c:yVal>");
        assert_eq!(number_at(level, 50), Some(5.0));
        assert_eq!(points(level).len(), 49, "{level}");
        for line in &all[..3] {
            assert!(line.contains("<c:symbol val=\"none\"/>"), "limits and overall without markers");
        }
        // The units: dots without a line; 乙校 above the limits, in the accent colour and named.
        let units = all[3];
        assert!(units.contains("<c:spPr><a:ln><a:noFill/></a:ln></c:spPr><c:marker><c:symbol val=\"circle\"/>"));
        assert!(units.contains("<c:f>Sheet1!$B$2:$B$102</c:f>"));
        assert_eq!(points(between(units, "<c:xVal>", "</c:xVal>"))[..2], texts_of(&["900", "900"]));
        assert_eq!(points(between(units, "<c:yVal>", "</c:yVal>")), texts_of(&["5", "16"]));
        let accent = "<c:dPt><c:idx val=\"1\"/><c:marker><c:symbol val=\"circle\"/><c:size val=\"7\"/>\
                      <c:spPr><a:solidFill><a:srgbClr val=\"C8551B\"/>";
        assert!(units.contains(accent), "{units}");
        assert!(!units.contains("<c:dPt><c:idx val=\"0\"/>"));
        let labels = between(units, "<c:dLbls>", "</c:dLbls>");
        assert_eq!(labels.matches("<c:dLbl>").count(), 1);
        assert!(labels.contains("<c:idx val=\"1\"/>") && labels.contains("<a:t>乙校</a:t>"));
        let axes = between(&xml, "</c:scatterChart>", "</c:plotArea>");
        assert!(axes.contains("<a:t>在校学生数</a:t>") && axes.contains("<a:t>每千名学生极端事件</a:t>"));
    }

    #[test]
    fn the_workbook_holds_what_the_chart_refers_to() {
        let bar = part(Chart::Bar(services()));
        for (reference, want) in [
            ("A1", "类别"),
            ("B1", "人次"),
            ("A2", "成长课堂"),
            ("A3", "小组活动"),
            ("A4", "个案辅导"),
            ("B2", "2913"),
            ("B3", "351"),
            ("B4", "134"),
        ] {
            assert_eq!(cell(&bar.workbook, reference), want, "cell {reference}");
        }
        assert!(unzip_text(&bar.workbook, "xl/workbook.xml").contains("name=\"Sheet1\""));
        let core = unzip_text(&bar.workbook, "docProps/core.xml");
        assert!(core.contains(">2025-01-15T00:00:00Z</dcterms:created>"), "{core}");
        let line = part(Chart::Line(incidents()));
        for (reference, want) in [("A4", "2024学年"), ("B4", "2.8"), ("C1", "区间下限"), ("C2", "4.6"), ("D3", "4.8")]
        {
            assert_eq!(cell(&line.workbook, reference), want, "cell {reference}");
        }
        let funnel = part(Chart::Funnel(schools()));
        for (reference, want) in
            [("A1", "在校学生数"), ("B3", "16"), ("F3", "乙校"), ("A52", "1000"), ("C52", "5"), ("A102", "1000")]
        {
            assert_eq!(cell(&funnel.workbook, reference), want, "cell {reference}");
        }
        let high = cell(&funnel.workbook, "E52").parse::<f64>().unwrap();
        assert!((high - 12.771).abs() < 1e-3, "{high}");
        assert!(!unzip_text(&funnel.workbook, "xl/worksheets/sheet1.xml").contains("<c r=\"A53\""), "the gap row");
    }

    #[test]
    fn workbooks_are_the_same_bytes_every_time_and_carry_no_clock() {
        let a = part(Chart::Funnel(schools())).workbook;
        let b = part(Chart::Funnel(schools())).workbook;
        assert!(a == b);
        let undated = chart_part(&Chart::Bar(services()), Lang::En, None).unwrap().workbook;
        assert!(unzip_text(&undated, "docProps/core.xml").contains(">1980-01-01T00:00:00Z</dcterms:created>"));
        let odd = chart_part(&Chart::Bar(services()), Lang::En, Some("2025年1月")).unwrap().workbook;
        assert!(odd == undated);
    }

    #[test]
    fn an_empty_chart_is_still_a_valid_part() {
        let empty = BarChart { categories: vec![], values: vec![], labels: None, unit: None, tally: false };
        let xml = part(Chart::Bar(empty)).xml;
        assert!(xml.contains("<c:f>Sheet1!$A$2:$A$2</c:f><c:strCache><c:ptCount val=\"0\"/></c:strCache>"), "{xml}");
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
    }

    /// A report with one chart of each kind.
    fn chart_report() -> Document {
        let mut doc = Document::new("图表测试");
        doc.meta.generated = Some("2025-01-15".into());
        for (caption, chart) in [
            ("图1 各类服务覆盖学生人次", Chart::Bar(services())),
            ("图2 极端事件发生率", Chart::Line(incidents())),
            ("图3 各校极端事件发生率", Chart::Funnel(schools())),
        ] {
            doc.blocks.push(Block::Figure { caption: caption.into(), chart });
        }
        doc
    }

    #[test]
    fn every_relationship_leads_to_a_part_and_every_part_has_a_content_type() {
        let bytes = super::super::render(&chart_report()).unwrap();
        let zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let names: Vec<String> = zip.file_names().map(str::to_string).collect();
        for n in 1..=3 {
            for name in [
                format!("word/charts/chart{n}.xml"),
                format!("word/charts/_rels/chart{n}.xml.rels"),
                format!("word/embeddings/Microsoft_Excel_Worksheet{n}.xlsx"),
            ] {
                assert!(names.contains(&name), "no {name} in {names:?}");
            }
            let rels = unzip_text(&bytes, &format!("word/charts/_rels/chart{n}.xml.rels"));
            assert!(
                rels.contains("Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/package\"")
            );
        }
        let document_rels = unzip_text(&bytes, "word/_rels/document.xml.rels");
        assert!(document_rels.contains(
            "<Relationship Id=\"rIdChart2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart\" Target=\"charts/chart2.xml\"/>"
        ));
        // Every relationship's target is in the package, read from its source part's folder.
        for rels in names.iter().filter(|n| n.ends_with(".rels")) {
            let folder = rels.split("_rels/").next().unwrap_or("");
            for rel in unzip_text(&bytes, rels).split("<Relationship ").skip(1) {
                let target = between(rel, "Target=\"", "\"");
                let mut path: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
                for step in target.split('/') {
                    match step {
                        ".." => {
                            path.pop();
                        }
                        "." | "" => {}
                        step => path.push(step),
                    }
                }
                let resolved = path.join("/");
                assert!(names.contains(&resolved), "{rels}: {target} ({resolved}) is not in the package");
            }
        }
        // Every part has a content type, and every override names a part.
        let types = unzip_text(&bytes, "[Content_Types].xml");
        for name in names.iter().filter(|n| *n != "[Content_Types].xml") {
            let ext = name.rsplit('.').next().unwrap();
            let by_name = types.contains(&format!("<Override PartName=\"/{name}\""));
            assert!(by_name || types.contains(&format!("<Default Extension=\"{ext}\"")), "no content type for {name}");
        }
        for over in types.split("<Override PartName=\"/").skip(1) {
            let name = &over[..over.find('"').unwrap()];
            assert!(names.iter().any(|n| n == name), "an override for a missing part {name}");
        }
        assert!(types.contains(
            "<Override PartName=\"/word/charts/chart3.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.drawingml.chart+xml\"/>"
        ));
        assert!(types.contains(
            "<Default Extension=\"xlsx\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\"/>"
        ));
        // Two renders, the same bytes.
        assert!(super::super::render(&chart_report()).unwrap() == bytes);
    }

    /// Converts a .docx to PDF with LibreOffice (as the Word tests in
    /// `tests/docx.rs` do) and reads it back with `pdftotext -layout`. It
    /// fails, never skips, when the tools are missing.
    fn through_libreoffice(docx: &Path) -> String {
        let pdf = super::test_common::soffice_convert(docx, docx.parent().unwrap(), "pdf");
        let text =
            Command::new("pdftotext").args(["-enc", "UTF-8", "-layout"]).arg(&pdf).arg("-").output().unwrap_or_else(
                |e| panic!("cannot run pdftotext ({e}): run scripts/prepare-fonts.sh, which installs poppler-utils"),
            );
        assert!(text.status.success());
        String::from_utf8(text.stdout).unwrap()
    }

    /// LibreOffice draws the native charts from their caches: the printed
    /// PDF holds the Chinese categories top to bottom with the value axis
    /// under them, the labels, the axis titles and the funnel's legend.
    #[test]
    fn libreoffice_draws_the_charts_with_their_chinese_labels() {
        let dir: PathBuf = std::env::temp_dir().join("sunward-docx-charts");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("charts.docx");
        std::fs::write(&path, super::super::render(&chart_report()).unwrap()).unwrap();
        let text = through_libreoffice(&path);
        let flat: String = text.split_whitespace().collect();
        for needle in [
            "成长课堂",
            "小组活动",
            "个案辅导",
            "2913",
            "351",
            "134",
            "人次",
            "2022学年",
            "2024学年",
            "5.3",
            "2.8",
            "每千名学生",
            "95%控制限",
            "99.8%控制限",
            "总体水平",
            "乙校",
            "在校学生数",
        ] {
            assert!(flat.contains(needle), "LibreOffice's print lacks {needle:?}:\n{text}");
        }
        assert!(!flat.contains("甲校"), "a unit within the limits is not named:\n{text}");
        // Top to bottom as listed, each bar's label on its line, the axis's figures below.
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap();
        let (first, second, third) = (line_of("成长课堂"), line_of("小组活动"), line_of("个案辅导"));
        assert!(first < second && second < third, "categories out of order:\n{text}");
        assert!(text.lines().nth(first).unwrap().contains("2913"), "{text}");
        let ticks = text.lines().position(|l| l.contains("1000") && l.contains("2000")).unwrap();
        assert!(ticks > third, "the value axis is not under the bars:\n{text}");
    }
}
