//! The charts of a Word report as native Word charts: each figure is a
//! DrawingML chart part (`word/charts/chartN.xml`) that carries its numbers,
//! with an embedded workbook (`word/embeddings/Microsoft_Excel_WorksheetN.xlsx`)
//! holding the same numbers, so that 编辑数据 / "Edit Data" in Word opens
//! them in a spreadsheet and the chart follows the edit. Word, WPS and
//! LibreOffice draw a chart from the values cached in its part
//! (`c:strCache`, `c:numCache`); the workbook is read only when someone edits.
//!
//! A chart's data are laid out once, as a [`Sheet`](sheet::Sheet): column A the categories
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
//! Every text of a chart is set in [`EAST_ASIAN_FONT`](crate::docx::xml::EAST_ASIAN_FONT) as its Latin and its
//! East Asian face (`a:latin`, `a:ea`): the face Word and WPS give Chinese
//! runs in the body, and one that holds both scripts, so no renderer sets a
//! Chinese label in a Latin-only face.
//!
//! The parts: `sheet` lays the data out, `drawing` holds the DrawingML
//! pieces, and `bar`, `line` and `funnel` draw one kind of chart each.

mod bar;
mod drawing;
mod funnel;
mod line;
mod sheet;

use super::error::DocxError;
use super::xml::{NS_R, REL_BASE, XML_DECL, language};
use crate::chart::Chart;
use crate::document::Lang;
use crate::plot::Colour;
use drawing::{Drawn, NO_BOX, TEXT_SIZE, text_props};

/// The relationship from a chart part to its workbook.
const WORKBOOK_REL: &str = "rIdWorkbook";

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
        Chart::Bar(c) => bar::bar(c, lang),
        Chart::Line(c) => line::line(c, lang),
        Chart::Funnel(c) => funnel::funnel(c, lang),
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
#[path = "../../../tests/common/mod.rs"]
mod test_common;

#[cfg(test)]
mod tests;
