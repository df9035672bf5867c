//! The PDF renderer, on genpdf 0.2: A4, a title page, headings, wrapped
//! paragraphs, key-figure tiles, tables whose numbers are right-aligned and
//! whose header row repeats on every page the table reaches, vector charts,
//! and a header and footer with the page number on every page after the
//! title page.
//!
//! How it deals with genpdf's limits:
//! - **Chinese line breaking.** genpdf breaks lines only at spaces and drops a
//!   word wider than the line, so text is pushed as one word per CJK
//!   character, with closing punctuation glued to the character before it and
//!   opening punctuation to the one after ([`tokens`]); overlong Latin words
//!   are cut into pieces.
//! - **Size and searchable text.** genpdf embeds its font whole (4.6 MB), so
//!   the renderer first subsets the font to the document's characters
//!   ([`crate::subset`]) — which also makes the PDF's `ToUnicode` map hold
//!   exactly the characters written, so `pdftotext` finds "2024年度". Only
//!   the regular face is embedded; the bold and italic slots genpdf insists
//!   on point at a built-in PDF font and are never used (genpdf has no
//!   synthetic bold: headings differ by size and colour).
//! - **Byte-identical output.** printpdf stamps the clock and a
//!   process-global counter into the file, and leaves streams uncompressed in
//!   debug builds; the finished file is therefore rewritten once with lopdf:
//!   every stream Flate-compressed (the font too), the info dictionary set to
//!   the title, producer and the document's own `generated` date, and the
//!   file `/ID` derived from the content.
//! - **Charts** are drawn from the same layout as the SVG ([`crate::plot`])
//!   with genpdf's lines and strings: genpdf cannot fill shapes or set line
//!   widths, so bars, bands and dots are hatched with hairlines 0.3 mm apart —
//!   vector, sharp in print, and a few kilobytes each, where a raster image
//!   would cost tens.
//!
//! The font comes from [`find_font`]: `SUNWARD_FONT`, or the file that
//! `scripts/prepare-fonts.sh` writes to `assets/fonts/wqy-microhei.ttf`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use genpdf::elements::{self, CellDecorator, Paragraph, TableLayout};
use genpdf::fonts::{FontData, FontFamily};
use genpdf::style::{Color, Style};
use genpdf::{Alignment, Context, Element, Margins, Mm, PageDecorator, Position, RenderResult, Size, render};

use crate::document::{Align, Block, Cell, Document, Lang, Table};
use crate::plot::{self, Anchor, Plot, Shape, Stroke, is_wide};

/// Why a PDF could not be made.
#[derive(Debug)]
pub struct PdfError(pub String);

impl std::fmt::Display for PdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PdfError {}

impl From<genpdf::error::Error> for PdfError {
    fn from(e: genpdf::error::Error) -> PdfError {
        PdfError(format!("pdf rendering failed: {e}"))
    }
}

impl From<crate::subset::FontError> for PdfError {
    fn from(e: crate::subset::FontError) -> PdfError {
        PdfError(format!("font: {e}"))
    }
}

/// The environment variable naming the font file to use.
pub const FONT_ENV: &str = "SUNWARD_FONT";

/// Where `scripts/prepare-fonts.sh` puts the font, relative to the repository root.
pub const FONT_ASSET: &str = "assets/fonts/wqy-microhei.ttf";

/// Finds the Chinese font: the file named by `SUNWARD_FONT`, else
/// `assets/fonts/wqy-microhei.ttf` under the current directory or under
/// this repository's root. The error says how to get one.
pub fn find_font() -> Result<PathBuf, PdfError> {
    if let Some(path) = std::env::var_os(FONT_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(PdfError(format!("{FONT_ENV}={} is not a file", path.display())))
        };
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(FONT_ASSET);
    for candidate in [PathBuf::from(FONT_ASSET), repo] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(PdfError(format!(
        "no Chinese font for PDF reports: run scripts/prepare-fonts.sh (it writes {FONT_ASSET}), \
         or set {FONT_ENV} to a single-face TrueType .ttf"
    )))
}

/// Reads the font [`find_font`] finds.
pub fn load_font() -> Result<Vec<u8>, PdfError> {
    let path = find_font()?;
    std::fs::read(&path).map_err(|e| PdfError(format!("cannot read font {}: {e}", path.display())))
}

/// The length in millimetres (genpdf's `Mm` hides its field).
fn mm(x: Mm) -> f64 {
    printpdf::Mm::from(x).0
}

const PRIMARY: Color = Color::Rgb(0x2f, 0x6f, 0x9f);
const MUTED: Color = Color::Rgb(0x66, 0x66, 0x66);
const RULE: Color = Color::Rgb(0xb0, 0xb8, 0xc0);
const INK: Color = Color::Rgb(0x22, 0x22, 0x22);

/// Renders a document to PDF bytes with the given TrueType font (the whole
/// font; it is subset here).
pub fn render(doc: &Document, font: &[u8]) -> Result<Vec<u8>, PdfError> {
    if let Err(errors) = doc.check() {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        return Err(PdfError(format!("the document is not valid: {}", list.join("; "))));
    }
    let plots: Vec<Option<Plot>> = doc
        .blocks
        .iter()
        .map(|b| match b {
            Block::Figure { chart, .. } => Some(plot::layout(chart, doc.lang)),
            _ => None,
        })
        .collect();
    let chars = used_chars(doc, &plots);
    let sub = crate::subset::subset(font, &chars)?;

    let regular = FontData::new(sub.clone(), None)?;
    let unused = || FontData::new(sub.clone(), Some(printpdf_helvetica()));
    let family = FontFamily { regular, bold: unused()?, italic: unused()?, bold_italic: unused()? };
    let mut pdf = genpdf::Document::new(family);
    pdf.set_title(doc.title.clone());
    pdf.set_minimal_conformance();
    pdf.set_paper_size(genpdf::PaperSize::A4);
    pdf.set_font_size(10);
    pdf.set_line_spacing(1.45);
    let header = match &doc.meta.marking {
        Some(mark) => format!("{mark} · {}", doc.title),
        None => doc.title.clone(),
    };
    pdf.set_page_decorator(Decorator { page: 0, header, footer: footer_text(doc), lang: doc.lang });

    title_page(&mut pdf, doc);
    for (block, plot) in doc.blocks.iter().zip(plots) {
        match block {
            Block::Heading { level, text } => {
                let (size, color, before) = match level {
                    1 => (16, PRIMARY, 4.0),
                    2 => (13, INK, 3.0),
                    _ => (11, INK, 2.0),
                };
                pdf.push(
                    paragraph(text, Style::new().with_font_size(size).with_color(color))
                        .padded(Margins::trbl(before, 0, 1.5, 0)),
                );
            }
            Block::Paragraph { text } => {
                for line in text.split('\n') {
                    pdf.push(paragraph(line, Style::new()).padded(Margins::trbl(0, 0, 2.5, 0)));
                }
            }
            Block::KeyFigures { tiles } => pdf.push(tiles_table(tiles).padded(Margins::trbl(1, 0, 4, 0))),
            Block::Table(table) => {
                if let Some(caption) = &table.caption {
                    pdf.push(
                        paragraph(caption, Style::new().with_font_size(10).with_color(INK))
                            .padded(Margins::trbl(2, 0, 1, 0)),
                    );
                }
                pdf.push(TableElement::new(table));
                if let Some(note) = &table.note {
                    for line in note.split('\n') {
                        pdf.push(paragraph(line, note_style()).padded(Margins::trbl(1, 0, 0, 0)));
                    }
                }
                pdf.push(elements::Break::new(0.8));
            }
            Block::Figure { caption, .. } => {
                pdf.push(
                    paragraph(caption, Style::new().with_font_size(10).with_color(INK))
                        .padded(Margins::trbl(2, 0, 1, 0)),
                );
                if let Some(plot) = plot {
                    pdf.push(ChartElement { plot });
                }
                pdf.push(elements::Break::new(0.6));
            }
            Block::Note { text } => {
                for line in text.split('\n') {
                    pdf.push(paragraph(line, note_style()).padded(Margins::trbl(1, 0, 1, 0)));
                }
            }
            Block::PageBreak => pdf.push(elements::PageBreak::new()),
        }
    }
    let mut raw = Vec::new();
    pdf.render(&mut raw)?;
    finish(raw, doc)
}

fn printpdf_helvetica() -> printpdf::BuiltinFont {
    printpdf::BuiltinFont::Helvetica
}

fn note_style() -> Style {
    Style::new().with_font_size(8).with_color(MUTED)
}

fn footer_text(doc: &Document) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(doc.meta.organisation.clone());
    parts.extend(doc.meta.period.clone());
    parts.join(" · ")
}

fn title_page(pdf: &mut genpdf::Document, doc: &Document) {
    let lang = doc.lang;
    pdf.push(elements::Break::new(9.0));
    pdf.push(
        paragraph(&doc.title, Style::new().with_font_size(24).with_color(PRIMARY)).padded(Margins::trbl(0, 0, 4, 0)),
    );
    if let Some(sub) = &doc.subtitle {
        pdf.push(paragraph(sub, Style::new().with_font_size(15).with_color(INK)).padded(Margins::trbl(0, 0, 10, 0)));
    }
    for (label, value) in [
        (lang.pick("单位", "Organisation"), doc.meta.organisation.clone()),
        (lang.pick("期间", "Period"), doc.meta.period.clone()),
        (lang.pick("生成日期", "Generated"), doc.meta.generated_display(lang)),
    ] {
        if let Some(value) = value {
            let sep = lang.pick("：", ": ");
            pdf.push(paragraph(&format!("{label}{sep}{value}"), Style::new().with_font_size(11).with_color(MUTED)));
        }
    }
    if let Some(audience) = &doc.meta.audience {
        pdf.push(
            paragraph(audience, Style::new().with_font_size(11).with_color(PRIMARY)).padded(Margins::trbl(6, 0, 0, 0)),
        );
    }
    pdf.push(elements::PageBreak::new());
}

/// Every character the PDF will print: the document's text, the labels the
/// renderer adds, chart labels, and printable ASCII (page numbers, figures).
fn used_chars(doc: &Document, plots: &[Option<Plot>]) -> BTreeSet<char> {
    let mut set: BTreeSet<char> = (' '..='~').collect();
    let mut add = |s: &str| set.extend(s.chars());
    add(&doc.title);
    doc.subtitle.iter().for_each(|s| add(s));
    for s in [&doc.meta.organisation, &doc.meta.period, &doc.meta.audience, &doc.meta.marking].into_iter().flatten() {
        add(s);
    }
    doc.meta.generated_display(doc.lang).iter().for_each(|s| add(s));
    add("单位期间生成日期：第页·— Organisation Period Generated");
    for block in &doc.blocks {
        match block {
            Block::Heading { text, .. } | Block::Paragraph { text } | Block::Note { text } => add(text),
            Block::KeyFigures { tiles } => {
                for t in tiles {
                    add(&t.label);
                    add(&t.value);
                    t.note.iter().for_each(|n| add(n));
                }
            }
            Block::Table(t) => {
                t.caption.iter().for_each(|s| add(s));
                t.note.iter().for_each(|s| add(s));
                t.columns.iter().for_each(|c| add(&c.title));
                t.rows.iter().chain(t.totals.iter()).flatten().for_each(|c| add(c.display()));
            }
            Block::Figure { caption, .. } => add(caption),
            Block::PageBreak => {}
        }
    }
    for plot in plots.iter().flatten() {
        for shape in &plot.shapes {
            if let Shape::Text { text, .. } = shape {
                add(text);
            }
        }
    }
    set.remove(&'\n');
    set
}

fn is_opening(c: char) -> bool {
    matches!(c, '（' | '(' | '《' | '「' | '『' | '【' | '〔' | '“' | '‘' | '〈' | '［' | '｛')
}

fn is_closing(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | ')'
            | '》'
            | '」'
            | '』'
            | '】'
            | '〕'
            | '”'
            | '’'
            | '〉'
            | '］'
            | '｝'
            | '…'
            | '%'
            | '％'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | '·'
    )
}

/// Longest run of non-CJK characters kept as one unbreakable word.
const MAX_WORD: usize = 18;

/// Splits text into the "words" genpdf may break between: one per CJK
/// character, closing punctuation glued to the character before it,
/// opening punctuation to the one after, Latin words whole (a space ends a
/// word and stays with it; words longer than 18 characters are cut).
pub fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut glue_next = false;
    let mut prev_latin = false;
    let mut latin_run = 0usize;
    for c in text.chars() {
        if c.is_whitespace() {
            if let Some(last) = out.last_mut() {
                if !last.ends_with(' ') {
                    last.push(' ');
                }
            } else {
                out.push(" ".to_string());
            }
            glue_next = false;
            prev_latin = false;
            continue;
        }
        let wide = is_wide(c) || is_opening(c) || is_closing(c) && !c.is_ascii();
        let glue = !out.is_empty()
            && !out.last().is_some_and(|s| s.ends_with(' '))
            && (glue_next || is_closing(c) || (!wide && prev_latin && latin_run < MAX_WORD));
        if glue {
            if let Some(last) = out.last_mut() {
                last.push(c);
            }
        } else {
            out.push(c.to_string());
            latin_run = 0;
        }
        if !wide {
            latin_run += 1;
        }
        glue_next = is_opening(c);
        prev_latin = !wide;
    }
    out
}

fn paragraph(text: &str, style: Style) -> Paragraph {
    let mut p = Paragraph::default();
    for t in tokens(text) {
        p.push_styled(t, style);
    }
    p
}

fn aligned(text: &str, style: Style, align: Align) -> Paragraph {
    let p = paragraph(text, style);
    if align == Align::Numeric { p.aligned(Alignment::Right) } else { p }
}

/// Key figures: three tiles to a row, value large, label and note below.
fn tiles_table(tiles: &[crate::document::Tile]) -> TableLayout {
    let cols = tiles.len().clamp(1, 3);
    let mut table = TableLayout::new(vec![1; cols]);
    table.set_cell_decorator(TileDecorator);
    for chunk in tiles.chunks(cols) {
        let mut row = table.row();
        for i in 0..cols {
            let mut cell = elements::LinearLayout::vertical();
            if let Some(t) = chunk.get(i) {
                cell.push(paragraph(&t.value, Style::new().with_font_size(18).with_color(PRIMARY)));
                cell.push(paragraph(&t.label, Style::new().with_font_size(9).with_color(INK)));
                if let Some(note) = &t.note {
                    cell.push(paragraph(note, Style::new().with_font_size(8).with_color(MUTED)));
                }
            }
            row.push_element(cell.padded(Margins::trbl(2.5, 3, 3, 4)));
        }
        // The row has exactly `cols` cells, so this cannot fail.
        let _ = row.push();
    }
    table
}

/// A coloured bar on the left of each tile and a rule under it.
struct TileDecorator;

impl CellDecorator for TileDecorator {
    fn decorate_cell(&mut self, _column: usize, _row: usize, _has_more: bool, area: render::Area<'_>, _style: Style) {
        let h = mm(area.size().height);
        let w = mm(area.size().width);
        for dx in [0.2, 0.5, 0.8] {
            area.draw_line(vec![Position::new(dx, 1.5), Position::new(dx, h - 1.0)], Style::new().with_color(PRIMARY));
        }
        area.draw_line(vec![Position::new(0, h - 0.5), Position::new(w - 2.0, h - 0.5)], Style::new().with_color(RULE));
    }
}

/// Column weights from the widest cell text of each column (in em), so a
/// column of long names gets room and a column of figures does not.
fn column_weights(table: &Table) -> Vec<usize> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let widest = table
                .rows
                .iter()
                .chain(table.totals.iter())
                .filter_map(|r| r.get(i))
                .map(|c| plot::text_width(c.display(), 1.0))
                .fold(plot::text_width(&col.title, 1.0), f64::max);
            (widest.clamp(3.0, 16.0) * 10.0) as usize
        })
        .collect()
}

/// A table whose header row is drawn again at the top of every page it
/// continues on. Rules: heavy above and below the header, light between
/// rows, heavy above and below the totals row.
struct TableElement {
    header: Vec<(String, Align)>,
    body: TableLayout,
    weights: Vec<usize>,
}

impl TableElement {
    fn new(table: &Table) -> TableElement {
        let weights = column_weights(table);
        let aligns: Vec<Align> = table.columns.iter().map(|c| c.align).collect();
        let mut body = TableLayout::new(weights.clone());
        let n_rows = table.rows.len() + usize::from(table.totals.is_some());
        body.set_cell_decorator(Rules {
            totals_row: table.totals.as_ref().map(|_| n_rows - 1),
            last_row: n_rows.saturating_sub(1),
        });
        for cells in table.rows.iter().chain(table.totals.iter()) {
            let mut row = body.row();
            for (cell, align) in cells.iter().zip(&aligns) {
                let color = match cell {
                    Cell::Suppressed(_) | Cell::Withheld(_) => MUTED,
                    _ => INK,
                };
                let style = Style::new().with_font_size(9).with_color(color);
                row.push_element(aligned(cell.display(), style, *align).padded(Margins::trbl(1.2, 2, 1.2, 2)));
            }
            // Rows were checked to have one cell per column.
            let _ = row.push();
        }
        TableElement { header: table.columns.iter().map(|c| (c.title.clone(), c.align)).collect(), body, weights }
    }

    fn header_layout(&self) -> TableLayout {
        let mut header = TableLayout::new(self.weights.clone());
        header.set_cell_decorator(HeaderRules);
        let mut row = header.row();
        for (title, align) in &self.header {
            row.push_element(
                aligned(title, Style::new().with_font_size(9).with_color(INK), *align)
                    .padded(Margins::trbl(1.5, 2, 1.5, 2)),
            );
        }
        let _ = row.push();
        header
    }
}

impl Element for TableElement {
    fn render(
        &mut self,
        context: &Context,
        mut area: render::Area<'_>,
        style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        // Leave a page rather than strand a header row at its foot.
        if area.size().height < Mm::from(22.0) {
            return Ok(RenderResult { size: Size::new(0, 0), has_more: true });
        }
        let head = self.header_layout().render(context, area.clone(), style)?;
        area.add_offset(Position::new(0, head.size.height));
        let body = self.body.render(context, area, style)?;
        Ok(RenderResult {
            size: Size::new(head.size.width.max(body.size.width), head.size.height + body.size.height),
            has_more: body.has_more,
        })
    }
}

struct HeaderRules;

impl CellDecorator for HeaderRules {
    fn decorate_cell(&mut self, _column: usize, _row: usize, _has_more: bool, area: render::Area<'_>, _style: Style) {
        let (w, h) = (area.size().width, mm(area.size().height));
        for y in [0.0, 0.3, h - 0.3, h] {
            area.draw_line(vec![Position::new(0, y), Position::new(w, Mm::from(y))], Style::new().with_color(INK));
        }
    }
}

struct Rules {
    totals_row: Option<usize>,
    last_row: usize,
}

impl CellDecorator for Rules {
    fn decorate_cell(&mut self, _column: usize, row: usize, has_more: bool, area: render::Area<'_>, _style: Style) {
        let (w, h) = (area.size().width, mm(area.size().height));
        let line = |y: f64, color: Color| {
            area.draw_line(vec![Position::new(0, y), Position::new(w, Mm::from(y))], Style::new().with_color(color))
        };
        if Some(row) == self.totals_row {
            line(0.0, INK);
            line(0.3, INK);
        }
        if row == self.last_row && !has_more {
            line(h, INK);
            line(h - 0.3, INK);
        } else {
            line(h, RULE);
        }
    }
}

/// A chart drawn from its [`Plot`] across the full text width.
struct ChartElement {
    plot: Plot,
}

const HATCH: f64 = 0.3;

impl Element for ChartElement {
    fn render(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        _style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        let width = mm(area.size().width).min(160.0);
        let f = width / plot::WIDTH;
        let height = self.plot.height * f;
        if Mm::from(height) > area.size().height {
            return Ok(RenderResult { size: Size::new(0, 0), has_more: true });
        }
        let pen = |c: plot::Colour| {
            let (r, g, b) = c.rgb();
            Style::new().with_color(Color::Rgb(r, g, b))
        };
        for shape in &self.plot.shapes {
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
        Ok(RenderResult { size: Size::new(width, height), has_more: false })
    }
}

/// Cuts a polyline into the visible pieces of its dash pattern (mm).
fn dashes(points: &[(f64, f64)], stroke: Stroke) -> Vec<Vec<(f64, f64)>> {
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

/// Header (the title, a rule) and footer (organisation and period, the page
/// number) on every page after the title page, drawn directly with fixed
/// positions so they can never be skipped for lack of room.
struct Decorator {
    page: usize,
    header: String,
    footer: String,
    lang: Lang,
}

impl PageDecorator for Decorator {
    fn decorate_page<'a>(
        &mut self,
        context: &Context,
        mut area: render::Area<'a>,
        style: Style,
    ) -> Result<render::Area<'a>, genpdf::error::Error> {
        self.page += 1;
        area.add_margins(Margins::trbl(14, 20, 12, 20));
        let (w, h) = (area.size().width, area.size().height);
        if self.page > 1 {
            let small = style.with_font_size(8).with_color(MUTED);
            area.print_str(&context.font_cache, Position::new(0, 0), small, &self.header)?;
            area.draw_line(vec![Position::new(0, 5.5), Position::new(w, Mm::from(5.5))], Style::new().with_color(RULE));
            let number = match self.lang {
                Lang::ZhCn => format!("第{}页", self.page),
                Lang::En => format!("Page {}", self.page),
            };
            let nw = small.str_width(&context.font_cache, &number);
            let y = h - Mm::from(4.0);
            area.draw_line(
                vec![Position::new(0, y - Mm::from(1.5)), Position::new(w, y - Mm::from(1.5))],
                Style::new().with_color(RULE),
            );
            area.print_str(&context.font_cache, Position::new(Mm::from(0.0), y), small, &self.footer)?;
            area.print_str(&context.font_cache, Position::new(w - nw, y), small, &number)?;
        }
        area.add_margins(Margins::trbl(10, 0, 10, 0));
        Ok(area)
    }
}

/// Rewrites printpdf's output deterministically: streams compressed, info
/// dictionary from the document, file ID from the content.
fn finish(raw: Vec<u8>, doc: &Document) -> Result<Vec<u8>, PdfError> {
    use lopdf::{Dictionary, Object, StringFormat};
    let mut pdf = lopdf::Document::load_mem(&raw).map_err(|e| PdfError(format!("cannot re-read the PDF: {e}")))?;
    // Drop XMP metadata (it carries the clock) if any.
    if let Ok(root) = pdf.trailer.get(b"Root").and_then(Object::as_reference)
        && let Ok(catalog) = pdf.get_object_mut(root).and_then(Object::as_dict_mut)
    {
        catalog.remove(b"Metadata");
    }
    let mut info = Dictionary::new();
    info.set("Title", Object::String(utf16be(&doc.title), StringFormat::Hexadecimal));
    info.set("Producer", Object::string_literal("Sunward"));
    if let Some(date) = doc.meta.generated.as_deref().and_then(pdf_date) {
        info.set("CreationDate", Object::string_literal(date.clone()));
        info.set("ModDate", Object::string_literal(date));
    }
    let info_id = pdf.add_object(Object::Dictionary(info));
    pdf.trailer.set("Info", Object::Reference(info_id));
    pdf.trailer.remove(b"ID");
    pdf.prune_objects();
    pdf.renumber_objects();
    pdf.compress();
    let mut first = Vec::new();
    pdf.save_to(&mut first).map_err(|e| PdfError(format!("cannot write the PDF: {e}")))?;
    let id = format!("{:016x}{:016x}", fnv64(&first, 0xcbf2_9ce4_8422_2325), fnv64(&first, 0x6c62_272e_07bb_0142));
    pdf.trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id.clone().into_bytes(), StringFormat::Literal),
            Object::String(id.into_bytes(), StringFormat::Literal),
        ]),
    );
    let mut out = Vec::new();
    pdf.save_to(&mut out).map_err(|e| PdfError(format!("cannot write the PDF: {e}")))?;
    Ok(out)
}

fn utf16be(s: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_be_bytes());
    }
    out
}

/// `2025-01-15` → `D:20250115000000Z`; other forms are left out.
fn pdf_date(date: &str) -> Option<String> {
    let d: Vec<&str> = date.trim().split('-').collect();
    let ok = d.len() == 3
        && d[0].len() == 4
        && d[1].len() == 2
        && d[2].len() == 2
        && d.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| format!("D:{}{}{}000000Z", d[0], d[1], d[2]))
}

fn fnv64(data: &[u8], seed: u64) -> u64 {
    data.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_breaks_between_characters_not_before_closing_punctuation() {
        assert_eq!(tokens("全年服务3208人次。"), ["全", "年", "服", "务", "3208", "人", "次。"]);
        assert_eq!(tokens("见（表1）和“闭环”，好"), ["见", "（表", "1）", "和", "“闭", "环”，", "好"]);
        assert_eq!(tokens("Hello world, 2024年度"), ["Hello ", "world, ", "2024", "年", "度"]);
        assert_eq!(tokens("55%的学生"), ["55%", "的", "学", "生"]);
    }

    #[test]
    fn overlong_latin_words_are_cut() {
        let t = tokens("abcdefghijklmnopqrstuvwxyz");
        assert_eq!(t, ["abcdefghijklmnopqr", "stuvwxyz"]);
    }

    #[test]
    fn dates_become_pdf_dates() {
        assert_eq!(pdf_date("2025-01-15").as_deref(), Some("D:20250115000000Z"));
        assert_eq!(pdf_date("2025年1月"), None);
    }

    #[test]
    fn dashes_alternate_along_the_line() {
        let d = dashes(&[(0.0, 0.0), (5.2, 0.0)], Stroke::Dashed);
        assert_eq!(d, vec![vec![(0.0, 0.0), (1.6, 0.0)], vec![(2.6, 0.0), (4.2, 0.0)]]);
        assert_eq!(dashes(&[(0.0, 0.0), (1.0, 0.0)], Stroke::Solid), vec![vec![(0.0, 0.0), (1.0, 0.0)]]);
    }
}
