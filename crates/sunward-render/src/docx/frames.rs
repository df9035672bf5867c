//! The document's charts as the package places them: a [`ChartFrame`] per
//! figure (its chart part and workbook, its size and alt text) and the
//! inline drawing that shows it.

use super::charts;
use super::error::DocxError;
use super::xml::{CHART_MM, EMU_PER_MM, esc, text_width};
use crate::document::{Block, Document};
use crate::plot;

/// A chart of the document: its chart part and workbook, and how it is placed.
pub(super) struct ChartFrame {
    /// Its number, from 1 in block order: the part is `word/charts/chart{n}.xml`,
    /// the relationship `rIdChart{n}`, the drawing's id `n`.
    pub(super) n: usize,
    /// The chart part and the embedded workbook.
    pub(super) part: charts::ChartPart,
    /// The size on the page, in EMU: as the PDF's chart.
    pub(super) cx: u64,
    cy: u64,
    /// The alt text: the chart's summary.
    pub(super) summary: String,
}

impl ChartFrame {
    /// The document's relationship to the chart part.
    pub(super) fn rel(&self) -> String {
        format!("rIdChart{}", self.n)
    }
}

/// One chart per `Figure` block, in block order (`None` for other blocks).
pub(super) fn chart_frames(doc: &Document) -> Result<Vec<Option<ChartFrame>>, DocxError> {
    let mut out = Vec::with_capacity(doc.blocks.len());
    let mut n = 0;
    for block in &doc.blocks {
        let Block::Figure { chart, .. } = block else {
            out.push(None);
            continue;
        };
        n += 1;
        // The PDF's layout gives the chart's proportions and its text summary.
        let plot = plot::layout(chart, doc.lang);
        // As wide as the PDF's, or the text if that is narrower (an official page).
        let chart_mm = CHART_MM.min(f64::from(text_width(doc)) * 25.4 / 1440.0);
        let cx = (chart_mm * EMU_PER_MM).round() as u64;
        let cy = (plot.height / plot::WIDTH * chart_mm * EMU_PER_MM).round() as u64;
        let part = charts::chart_part(chart, doc.lang, doc.meta.generated.as_deref())?;
        out.push(Some(ChartFrame { n, part, cx, cy, summary: plot.summary }));
    }
    Ok(out)
}

/// An inline chart run: the chart part in a graphic frame; its alt text is
/// the caption and the chart's summary.
pub(super) fn drawing(frame: &ChartFrame, caption: &str) -> String {
    let (cx, cy, id) = (frame.cx, frame.cy, frame.n);
    let descr = esc(&format!("{caption}: {}", frame.summary));
    format!(
        "<w:r><w:drawing><wp:inline distT=\"0\" distB=\"0\" distL=\"0\" distR=\"0\"><wp:extent cx=\"{cx}\" cy=\"{cy}\"/>\
         <wp:effectExtent l=\"0\" t=\"0\" r=\"0\" b=\"0\"/><wp:docPr id=\"{id}\" name=\"Chart {id}\" descr=\"{descr}\"/>\
         <wp:cNvGraphicFramePr/><a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/chart\">\
         <c:chart xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" r:id=\"{rel}\"/>\
         </a:graphicData></a:graphic></wp:inline></w:drawing></w:r>",
        rel = frame.rel()
    )
}
