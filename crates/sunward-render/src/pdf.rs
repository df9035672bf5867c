//! The PDF renderer, on genpdf 0.2: A4, a title page (or, for a short
//! document, a title block at the top of page 1 — [`Meta::compact`](crate::document::Meta::compact)),
//! headings, wrapped paragraphs, key-figure tiles, tables whose numbers are
//! right-aligned, vector charts, a header and footer with the page number,
//! and an outline of the level 1 and 2 headings.
//!
//! **Pagination.** genpdf places each element only after drawing it, so it
//! cannot keep one thing with the next. The body is therefore one genpdf
//! element (`Flow`) that lays out its own pieces, each of which can say
//! beforehand how much room its first unbreakable part needs: a heading or
//! a table caption never ends a page without what follows it, a figure's
//! caption never leaves its chart, paragraphs leave no single line on either
//! side of a break, a table breaks only between rows, with at least two
//! rows on each side (never the totals row alone; a table of six rows or
//! fewer moves whole), and every page a table continues on starts with a
//! continued caption ([`continued_caption`]: `续表2 …`, `Table 2 (continued) …`)
//! and the header row. Text is wrapped by the renderer itself
//! ([`tokens`] and genpdf's font metrics), so its height is known before
//! it is drawn.
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
//!   on point at a built-in PDF font (Helvetica, no Chinese) and are never
//!   used. Headings differ by size and colour; strong text (`**…**`) is
//!   printed in the same font in a near-black and drawn bold by
//!   `restyle_text` (text render mode 2: fill, then stroke the outlines), so it
//!   reads as bold and its text is in the file once.
//! - **Official documents** ([`DocStyle::Official`]) take the page of
//!   GB/T 9704-2012 (a 156 × 225 mm text area, 三号 body text with a
//!   two-character indent, `— 2 —` page numbers on the outer edge, no header) and open with
//!   the red authority mark and rule instead of a title page.
//! - **Byte-identical output.** printpdf stamps the clock and a
//!   process-global counter into the file, and leaves streams uncompressed in
//!   debug builds; the finished file is therefore rewritten once with lopdf:
//!   every stream Flate-compressed (the font too), the info dictionary set to
//!   the title, creator and producer (`Sunward`) and the document's own
//!   `generated` date, `/Lang` and the outline added to the catalog, the
//!   "Adobe Illustrator 14.0" creator printpdf writes into its layers'
//!   usage dictionary dropped, and the file `/ID` derived from the content.
//! - **Charts** are drawn from the same layout as the SVG ([`crate::plot`])
//!   with genpdf's lines and strings: genpdf cannot fill shapes or set line
//!   widths, so bars, bands and dots are hatched with hairlines 0.3 mm apart —
//!   vector, sharp in print, and a few kilobytes each, where a raster image
//!   would cost tens.
//!
//! The font comes from [`find_font`]: `SUNWARD_FONT`, or the file that
//! `scripts/prepare-fonts.sh` writes to `assets/fonts/wqy-microhei.ttf`.

use std::cell::{Cell as StdCell, RefCell};
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use genpdf::fonts::{FontData, FontFamily};
use genpdf::style::{Color, Style};
use genpdf::{Context, Element, Margins, Mm, PageDecorator, Position, RenderResult, Size, render};

use crate::document::{Align, Block, DocStyle, Document, Lang, List, Span, Table, Tile, spans_or_plain, tile_columns};
use crate::layout::SMALL_TABLE;
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
/// Strong text: near-black, and drawn heavier (see [`restyle_text`]).
const STRONG: Color = Color::Rgb(0x11, 0x11, 0x11);
/// Emphasised text (the font has no italic): the primary blue.
const EMPHASIS: Color = Color::Rgb(0x1f, 0x5a, 0x8a);
/// The red of an official document's authority mark and rule (also drawn heavier).
const OFFICIAL_RED: Color = Color::Rgb(0xc0, 0x00, 0x00);
/// An official document's body text: black, set on the character grid.
const BODY_BLACK: Color = Color::Rgb(0x02, 0x02, 0x02);
/// Strong text in an official document's body: heavy and on the grid.
const STRONG_TRACKED: Color = Color::Rgb(0x10, 0x10, 0x10);
/// Text filled in these colours is drawn heavier (see [`restyle_text`]).
const HEAVY: [(u8, u8, u8); 3] = [(0x11, 0x11, 0x11), (0xc0, 0x00, 0x00), (0x10, 0x10, 0x10)];
/// Text filled in these colours is set with [`OFFICIAL_TRACKING`] (see [`restyle_text`]).
const TRACKED: [(u8, u8, u8); 2] = [(0x02, 0x02, 0x02), (0x10, 0x10, 0x10)];
/// The outline width that makes heavy text look bold, per point of type
/// (0.25 pt at 10 pt, 0.4 pt at 16 pt).
const HEAVY_STROKE: f64 = 0.025;

/// Renders a document to PDF bytes with the given TrueType font (the whole
/// font; it is subset here). An official document is set in this one face
/// too; [`render_with`] gives it its own.
pub fn render(doc: &Document, font: &[u8]) -> Result<Vec<u8>, PdfError> {
    render_with(doc, font, None)
}

/// [`render`], with the faces of an official document (GB/T 9704-2012):
/// 仿宋 body, 小标宋 title, 黑体 and 楷体 headings ([`OfficialFaces`]).
/// Other documents ignore them.
pub fn render_with(doc: &Document, font: &[u8], faces: Option<&OfficialFaces>) -> Result<Vec<u8>, PdfError> {
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
    let mut pdf = genpdf::Document::new(family(crate::subset::subset(font, &chars)?)?);
    pdf.set_title(doc.title.clone());
    pdf.set_minimal_conformance();
    pdf.set_paper_size(genpdf::PaperSize::A4);
    pdf.set_font_size(10);
    pdf.set_line_spacing(1.45);
    let official = doc.meta.style == DocStyle::Official;
    // The Chinese faces' Latin letters are a typewriter's: an English edition keeps the report face.
    let faces = faces.filter(|_| doc.lang == Lang::ZhCn);
    let types = if official { Some(OfficialType::new(&mut pdf, faces, &chars)?) } else { None };
    let shared =
        Rc::new(Shared { bottom: if official { OFFICIAL_BOTTOM } else { CONTENT_BOTTOM }, ..Shared::default() });
    let compact = doc.is_compact();
    pdf.set_page_decorator(Decorator {
        shared: shared.clone(),
        header: match &doc.meta.marking {
            Some(mark) => format!("{mark} · {}", doc.title),
            None => doc.title.clone(),
        },
        footer: footer_text(doc),
        lang: doc.lang,
        footer_on_first: compact,
        official: types.as_ref().map(|t| t.numbers),
    });

    let mut flow = Flow { pieces: Vec::new(), idx: 0 };
    match &types {
        Some(t) => official_head(&mut flow, doc, t),
        None => title_block(&mut flow, doc, compact),
    }
    // An official document's body is set in 三号 (16 pt) on the grid of 22
    // lines to the page and 28 characters to the line, paragraphs indented
    // two characters.
    let (body, body_spacing, body_after) = match &types {
        Some(t) => (t.body, 1.0, 0.0),
        None => (Style::new().with_font_size(10).with_color(INK), 1.45, 2.5),
    };
    let first_indent = if official { 2.0 * OFFICIAL_CHAR } else { 0.0 };
    let lacks = types.as_ref().map(|t| &t.lacks);
    let text = |t: &str| {
        let p = TextPiece::new(t, body, body_spacing).with_lacks(lacks);
        if official { p.on_grid(true) } else { p }
    };
    let mut attachments = 0;
    for (index, (block, plot)) in doc.blocks.iter().zip(plots).enumerate() {
        if official && matches!(block, Block::KeyFigures { .. } | Block::Table(_) | Block::Figure { .. }) {
            // Official paragraphs have no space after them: set tiles, tables and charts apart.
            flow.push(Lead(3.0));
        }
        match block {
            Block::Heading { level, text: heading_text } => {
                let mut heading = match &types {
                    // 一、 headings in 黑体, （一） in 楷体, the others in the body face, heavy;
                    // all at body size, on the grid and indented like paragraphs.
                    Some(t) => {
                        let (style, spans) = match level {
                            1 => (t.heading, vec![Span::plain(heading_text.as_str())]),
                            2 => (t.subheading, vec![Span::plain(heading_text.as_str())]),
                            _ => (t.body, vec![Span::strong(heading_text.as_str())]),
                        };
                        let mut h = TextPiece::styled(&spans, style, 1.0).on_grid(*level >= 3).with_lacks(lacks);
                        h.first = first_indent;
                        h
                    }
                    None => standard_heading(*level, heading_text),
                };
                heading.keep = true;
                heading.mark = (*level <= 2).then(|| (*level, shared.clone()));
                flow.push(heading);
            }
            Block::Paragraph { text: para } => {
                for line in para.split('\n') {
                    let mut p = text(line);
                    p.pad = (0.0, body_after);
                    p.first = first_indent;
                    flow.push(p);
                }
            }
            Block::RichParagraph { spans, .. } => {
                for line in split_lines(spans) {
                    let mut p = TextPiece::styled(&line, body, body_spacing).with_lacks(lacks);
                    if official {
                        p = p.on_grid(true);
                    }
                    p.pad = (0.0, body_after);
                    p.first = first_indent;
                    flow.push(p);
                }
            }
            Block::List(list) => list_pieces(&mut flow, list, body, body_spacing, first_indent, lacks),
            Block::KeyFigures { tiles } => {
                flow.push(TilesPiece { tiles: tiles.clone(), layout: None });
                flow.push(Spacer(4.0));
            }
            Block::Table(table) => {
                // A note right after a table is the table's: it goes with its last rows.
                match doc.blocks.get(index + 1) {
                    Some(Block::Note { text: note }) => {
                        let mut with_note = table.clone();
                        with_note.note = Some(match &table.note {
                            Some(own) => format!("{own}\n{note}"),
                            None => note.clone(),
                        });
                        flow.push(TablePiece::new(&with_note, doc.lang));
                    }
                    _ => flow.push(TablePiece::new(table, doc.lang)),
                }
                flow.push(Spacer(4.0));
            }
            Block::Figure { caption, .. } => {
                if let Some(plot) = plot {
                    flow.push(ChartPiece { caption: caption_piece(caption), plot, keep: false });
                }
                flow.push(Spacer(3.0));
            }
            Block::Note { text: note } => {
                // A note right after a table was set with the table's last rows.
                if index > 0 && matches!(doc.blocks[index - 1], Block::Table(_)) {
                    continue;
                }
                // A note never stands on a page of its own when it ends the document or
                // follows a chart: the chart or text before it comes along.
                let closing = doc.blocks[index..].iter().all(|b| matches!(b, Block::Note { .. }));
                if closing || (index > 0 && matches!(doc.blocks[index - 1], Block::Figure { .. })) {
                    flow.keep_last();
                }
                // An official document's notes are in its body face, at 四号 (14 pt).
                let style = types.as_ref().map_or_else(note_style, |t| t.note);
                for line in note.split('\n') {
                    let mut p = TextPiece::new(line, style, 1.4).with_lacks(lacks);
                    p.pad = (1.0, 1.0);
                    flow.push(p);
                }
            }
            Block::PageBreak => flow.pieces.push(Box::new(PageBreak)),
            Block::Attachment { title } => {
                attachments += 1;
                match &types {
                    Some(t) => {
                        if attachments == 1 {
                            official_close(&mut flow, doc, t);
                        }
                        official_attachment_head(&mut flow, doc, t, attachments, title);
                    }
                    None => {
                        flow.pieces.push(Box::new(PageBreak));
                        let label = crate::document::attachment_label(attachments, doc.lang);
                        let mut h = standard_heading(1, &format!("{label}{}{title}", doc.lang.pick("　", " ")));
                        h.keep = true;
                        h.mark = Some((1, shared.clone()));
                        flow.push(h);
                    }
                }
            }
        }
    }
    if let Some(t) = &types {
        if attachments == 0 {
            official_close(&mut flow, doc, t);
        }
        official_imprint(&mut flow, doc, t);
    }
    pdf.push(flow);
    let mut raw = Vec::new();
    pdf.render(&mut raw)?;
    let marks = shared.marks.borrow().clone();
    finish(raw, doc, &marks)
}

/// A font family of one face: genpdf insists on bold and italic slots, which
/// point at a built-in PDF font (Helvetica, no Chinese) and are never used.
fn family(face: Vec<u8>) -> Result<FontFamily<FontData>, PdfError> {
    let unused = || FontData::new(face.clone(), Some(printpdf_helvetica()));
    Ok(FontFamily {
        regular: FontData::new(face.clone(), None)?,
        bold: unused()?,
        italic: unused()?,
        bold_italic: unused()?,
    })
}

/// An official title's two lines broken between phrases
/// ([`crate::document::phrase_break`]), as ranges of tokens.
fn phrase_lines(tokens: &[String], width_of: &dyn Fn(&str) -> f64, width: f64) -> Option<Vec<Range<usize>>> {
    let parts: Vec<&str> = tokens.iter().map(|t| t.trim_end()).collect();
    let text = parts.concat();
    let at = crate::document::phrase_break(&text, width_of, width)?;
    // The token the break falls before.
    let mut len = 0;
    let i = parts.iter().position(|p| {
        let here = len == at;
        len += p.len();
        here
    })?;
    Some(vec![0..i, i..tokens.len()])
}

/// `style` in the report face (the document's default font).
fn report_face(style: Style) -> Style {
    let mut plain = Style::new().with_font_size(style.font_size()).with_line_spacing(style.line_spacing());
    if let Some(colour) = style.color() {
        plain = plain.with_color(colour);
    }
    plain
}

/// A standard document's heading: larger, the first level in the primary colour.
fn standard_heading(level: u8, text: &str) -> TextPiece {
    let (size, color, pad) = match level {
        1 => (16, PRIMARY, (5.0, 2.0)),
        2 => (13, INK, (3.5, 2.0)),
        _ => (11, INK, (2.5, 2.0)),
    };
    let mut heading = TextPiece::new(text, Style::new().with_font_size(size).with_color(color), 1.3);
    heading.pad = pad;
    heading
}

/// The faces an official document is set in besides the report face (which
/// is a 黑体 and sets its level 1 headings, tables and the `附件1` label):
/// read by [`OfficialFaces::load`] from the files `scripts/prepare-fonts.sh`
/// installs, or from the files the environment names.
#[derive(Debug, Clone)]
pub struct OfficialFaces {
    /// A 宋体 (Song): the authority's mark, the title and the page numbers,
    /// and the body when no 仿宋 is given.
    pub song: Vec<u8>,
    /// A 楷体 (Kai): level 2 headings.
    pub kai: Vec<u8>,
    /// A 仿宋 (FangSong) for the body, which GB/T 9704 asks for. No free
    /// FangSong with the simplified characters is packaged by Debian, so
    /// none is installed: an office that holds a licence for one names it
    /// in `SUNWARD_FONT_FANGSONG`.
    pub fangsong: Option<Vec<u8>>,
    /// A 小标宋 for the title and the authority's mark; without one they
    /// are set in the Song face, drawn heavier.
    pub title: Option<Vec<u8>>,
}

/// The files `scripts/prepare-fonts.sh` writes, and the variables that override them.
const OFFICIAL_FONTS: [(&str, &str, &str); 4] = [
    ("SUNWARD_FONT_SONG", "assets/fonts/arphic-sungti.ttf", "the 宋体 (AR PL SungtiL GB)"),
    ("SUNWARD_FONT_KAI", "assets/fonts/arphic-kaiti.ttf", "the 楷体 (AR PL KaitiM GB)"),
    ("SUNWARD_FONT_FANGSONG", "", "a 仿宋"),
    ("SUNWARD_FONT_TITLE", "", "a 小标宋"),
];

impl OfficialFaces {
    /// Reads the faces: each from the file its variable names, else from
    /// where `scripts/prepare-fonts.sh` puts it (under the current directory
    /// or this repository's root). The Song and Kai faces are required; the
    /// FangSong and title faces are optional.
    pub fn load() -> Result<OfficialFaces, PdfError> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let read = |(var, asset, what): (&str, &str, &str)| -> Result<Option<Vec<u8>>, PdfError> {
            let path = match std::env::var_os(var) {
                Some(path) => Some(PathBuf::from(path)),
                None if asset.is_empty() => None,
                None => [PathBuf::from(asset), repo.join(asset)].into_iter().find(|p| p.is_file()),
            };
            match path {
                Some(path) => std::fs::read(&path).map(Some).map_err(|e| {
                    PdfError(format!("cannot read {what} for official documents ({var}={}): {e}", path.display()))
                }),
                None if asset.is_empty() => Ok(None),
                None => Err(PdfError(format!(
                    "no font for official documents: {what} is missing; run scripts/prepare-fonts.sh \
                     (it writes {asset}), or set {var} to a single-face TrueType .ttf"
                ))),
            }
        };
        let [song, kai, fangsong, title] = OFFICIAL_FONTS;
        let missing = |what: &str| PdfError(format!("no font for official documents: {what}"));
        Ok(OfficialFaces {
            song: read(song)?.ok_or_else(|| missing(song.2))?,
            kai: read(kai)?.ok_or_else(|| missing(kai.2))?,
            fangsong: read(fangsong)?,
            title: read(title)?,
        })
    }
}

/// The type of an official document's parts (GB/T 9704-2012).
#[derive(Debug, Clone)]
struct OfficialType {
    /// The characters some official face lacks (`–`, `−`, `•`): printed in the report face.
    lacks: Rc<BTreeSet<char>>,
    /// The body: 三号 仿宋 (or the Song face), black, on the grid.
    body: Style,
    /// The title: 二号 小标宋 (or the Song face, heavier).
    title: Style,
    /// The authority's mark: large, red, in the title face.
    mark: Style,
    /// Level 1 headings and the `附件1` label: 三号 黑体.
    heading: Style,
    /// Level 2 headings: 三号 楷体.
    subheading: Style,
    /// Notes: 四号 in the body face.
    note: Style,
    /// The page numbers: 四号 in the Song face (GB/T 9704-2012, 7.5).
    numbers: Style,
}

impl OfficialType {
    /// Adds the faces to the document (each subset to `chars`); without
    /// faces every part is set in the report face.
    fn new(
        pdf: &mut genpdf::Document,
        faces: Option<&OfficialFaces>,
        chars: &BTreeSet<char>,
    ) -> Result<OfficialType, PdfError> {
        let mut lacks = BTreeSet::new();
        let mut face = |bytes: &[u8]| -> Result<Style, PdfError> {
            let has = crate::subset::covered(bytes, chars)?;
            lacks.extend(chars.difference(&has).copied());
            let family = family(crate::subset::subset(bytes, chars)?)?;
            Ok(Style::new().with_font_family(pdf.add_font_family(family)))
        };
        let (song, kai, body, title) = match faces {
            Some(f) => {
                let song = face(&f.song)?;
                let body = match &f.fangsong {
                    Some(bytes) => face(bytes)?,
                    None => song,
                };
                let title = match &f.title {
                    Some(bytes) => face(bytes)?,
                    None => song,
                };
                (song, face(&f.kai)?, body, title)
            }
            None => (Style::new(), Style::new(), Style::new(), Style::new()),
        };
        Ok(OfficialType {
            lacks: Rc::new(lacks),
            body: body.with_font_size(OFFICIAL_SIZE).with_color(BODY_BLACK),
            title: title.with_font_size(22).with_color(STRONG),
            mark: title.with_font_size(36).with_color(OFFICIAL_RED),
            heading: Style::new().with_font_size(OFFICIAL_SIZE).with_color(INK),
            subheading: kai.with_font_size(OFFICIAL_SIZE).with_color(INK),
            note: body.with_font_size(14).with_color(INK),
            numbers: song.with_font_size(14).with_color(INK),
        })
    }
}

/// Points to millimetres.
fn pt_mm(pt: f64) -> f64 {
    pt * 25.4 / 72.0
}

/// Styled text cut at its line breaks (`\n`), one list of spans per line.
fn split_lines(spans: &[Span]) -> Vec<Vec<Span>> {
    let mut lines = vec![Vec::new()];
    for span in spans {
        for (i, part) in span.text.split('\n').enumerate() {
            if i > 0 {
                lines.push(Vec::new());
            }
            if !part.is_empty() {
                lines
                    .last_mut()
                    .unwrap_or_else(|| unreachable!())
                    .push(Span { text: part.to_string(), ..span.clone() });
            }
        }
    }
    lines
}

/// A list: each item a paragraph whose marker (`1.`, `•`) hangs in the
/// gutter before its text, which wraps under itself (a hanging indent).
/// `official` gives the characters an official body face lacks, and puts the items on the grid.
fn list_pieces(
    flow: &mut Flow,
    list: &List,
    body: Style,
    spacing: f64,
    indent: f64,
    official: Option<&Rc<BTreeSet<char>>>,
) {
    let size = f64::from(body.font_size());
    let em = pt_mm(size);
    let markers: Vec<String> = (0..list.items.len()).map(|i| list.marker(i)).collect();
    let widest = markers.iter().map(|m| plot::text_width(m, em)).fold(0.0, f64::max);
    // The marker starts at the paragraph indent (or one character in), the text after the widest marker.
    let label_x = if indent > 0.0 { indent } else { em };
    let hang = label_x + widest + 0.5 * em;
    let last = list.items.len().saturating_sub(1);
    for (i, item) in list.items.iter().enumerate() {
        let spans = spans_or_plain(&item.text, &item.spans);
        let lines = split_lines(&spans);
        for (j, line) in lines.iter().enumerate() {
            let mut p = TextPiece::styled(line, body, spacing).with_lacks(official);
            if official.is_some() {
                p = p.on_grid(true);
            }
            p.indent = hang;
            if j == 0 {
                p.label = Some((markers[i].clone(), label_x));
            }
            let after = if indent > 0.0 {
                0.0
            } else if i == last {
                2.5
            } else {
                1.2
            };
            p.pad = (0.0, if j + 1 == lines.len() { after } else { 0.0 });
            flow.push(p);
        }
    }
}

/// The head of an official document (GB/T 9704-2012): the mark
/// (`内部资料`) top left, the issuing authority's mark (`…文件`) large, red
/// and centred, the document number centred above the red rule, the title
/// centred two lines below, the main recipient flush left.
fn official_head(flow: &mut Flow, doc: &Document, t: &OfficialType) {
    let body = t.body;
    if let Some(mark) = &doc.meta.marking {
        let mut p = TextPiece::new(mark, t.heading, 1.3).with_lacks(Some(&t.lacks));
        p.pad = (0.0, 2.0);
        flow.push(p);
    }
    if let Some(org) = &doc.meta.organisation {
        let name = format!("{org}{}", doc.lang.pick("文件", ""));
        let mut p = TextPiece::new(&name, t.mark, 1.2).with_lacks(Some(&t.lacks));
        p.halign = HAlign::Centre;
        p.pad = (8.0, 6.0);
        flow.push(p);
    }
    let plain = body.with_color(INK);
    match (&doc.meta.doc_number, &doc.meta.signer) {
        (number, Some(signer)) => flow.push(TwoSided {
            left: number.clone().unwrap_or_default(),
            right: format!("{}{signer}", doc.lang.pick("签发人：", "Signed off by: ")),
            style: plain,
        }),
        (Some(number), None) => {
            let mut p = TextPiece::new(number, plain, 1.3).with_lacks(Some(&t.lacks));
            p.halign = HAlign::Centre;
            p.pad = (4.0, 0.0);
            flow.push(p);
        }
        (None, None) => {}
    }
    flow.push(Rule::official_red());
    let mut title = TextPiece::styled(&[Span::plain(doc.title.as_str())], t.title, 1.35).with_lacks(Some(&t.lacks));
    title.halign = HAlign::Centre;
    title.phrases = true;
    title.pad = (4.0, 6.0);
    title.keep = true;
    flow.push(title);
    if let Some(sub) = &doc.subtitle {
        let mut p = TextPiece::new(sub, body, 1.0).on_grid(true).with_lacks(Some(&t.lacks));
        p.halign = HAlign::Centre;
        p.pad = (0.0, OFFICIAL_LINE);
        p.keep = true;
        flow.push(p);
    }
    if let Some(recipient) = &doc.meta.recipient {
        let mut p = TextPiece::new(recipient, body, 1.0).on_grid(true).with_lacks(Some(&t.lacks));
        p.keep = true;
        flow.push(p);
    }
}

/// The end of an official document's body: the list of its attachments
/// (附件说明) a blank line below the text, two characters in, each further
/// title under the first; then the issuer centred over the date, the date
/// four characters in from the right, after a blank line; then the
/// audience as the annotation (`（此件公开发布）`), indented two characters.
fn official_close(flow: &mut Flow, doc: &Document, t: &OfficialType) {
    let body = t.body;
    let list = doc.attachment_list();
    // Never a page with the signature alone: the last paragraph comes along.
    if let Some(last) = flow.pieces.last_mut() {
        last.keep_with_next();
    }
    let grid_width =
        |s: &str| plot::text_width(s, pt_mm(f64::from(OFFICIAL_SIZE))) + s.chars().count() as f64 * OFFICIAL_TRACKING;
    let lead = grid_width(crate::document::ATTACHMENTS_LEAD.pick(doc.lang));
    for (i, (marker, title)) in list.iter().enumerate() {
        let mut p = TextPiece::new(title, body, 1.0).on_grid(true).with_lacks(Some(&t.lacks));
        // The marker of the first starts two characters in; the others' numbers line up under its number.
        let marker_x = 2.0 * OFFICIAL_CHAR + if i == 0 || list.len() == 1 { 0.0 } else { lead };
        p.label = Some((marker.clone(), marker_x));
        p.hang = true;
        if i == 0 {
            p.pad = (OFFICIAL_LINE, 0.0);
        }
        p.keep = true;
        flow.push(p);
    }
    let date = doc.meta.generated_display(doc.lang);
    if doc.meta.organisation.is_some() || date.is_some() {
        flow.push(Signature {
            issuer: doc.meta.organisation.clone(),
            date,
            style: body.with_color(INK),
            right: 4.0 * OFFICIAL_CHAR,
            before: OFFICIAL_LINE,
            line: OFFICIAL_LINE,
            keep: doc.meta.audience.is_some(),
        });
    }
    if let Some(audience) = &doc.meta.audience {
        let mut p = TextPiece::new(&crate::layout::annotation(audience, doc.lang), body, 1.0)
            .on_grid(true)
            .with_lacks(Some(&t.lacks));
        p.first = 2.0 * OFFICIAL_CHAR;
        p.pad = (OFFICIAL_LINE, 0.0);
        flow.push(p);
    }
}

/// An attachment's head (GB/T 9704-2012, 8.1): a new page, `附件1` in 黑体
/// flush left on its first line, the title centred on its third.
fn official_attachment_head(flow: &mut Flow, doc: &Document, t: &OfficialType, n: usize, title: &str) {
    flow.pieces.push(Box::new(PageBreak));
    let mut label = TextPiece::new(&crate::document::attachment_label(n, doc.lang), t.heading, 1.0)
        .on_grid(false)
        .with_lacks(Some(&t.lacks));
    label.keep = true;
    label.pad = (0.0, OFFICIAL_LINE);
    flow.push(label);
    let mut head = TextPiece::new(title, t.title, 1.35).with_lacks(Some(&t.lacks));
    head.halign = HAlign::Centre;
    head.phrases = true;
    head.pad = (0.0, 6.0);
    head.keep = true;
    flow.push(head);
}

/// The imprint (版记) at the foot of the last page: rules above, between
/// and below the copies line and the printing office with its date, in
/// 四号 (14 pt), the last rule on the text area's bottom edge.
fn official_imprint(flow: &mut Flow, doc: &Document, t: &OfficialType) {
    let (copies, printed) = doc.meta.imprint(doc.lang);
    if copies.is_none() && printed.is_none() {
        return;
    }
    let small = t.body.with_font_size(14).with_color(INK);
    let mut parts: Vec<Box<dyn Piece>> = vec![Box::new(Rule::imprint(3, 0.0))];
    if let Some(copies) = copies {
        let mut p = TextPiece::new(&copies, small, 1.3).with_lacks(Some(&t.lacks));
        p.first = pt_mm(14.0);
        parts.push(Box::new(p));
        parts.push(Box::new(Rule::imprint(1, 0.0)));
    }
    if let Some((office, date)) = printed {
        parts.push(Box::new(TwoSided { left: office, right: date, style: small }));
    }
    parts.push(Box::new(Rule::imprint(3, 0.0)));
    flow.pieces.push(Box::new(AtFoot { parts }));
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

/// The title, subtitle and facts: on a page of their own, lower down, for a
/// long report; at the top of page 1 above a rule, with the body following,
/// for a compact one.
fn title_block(flow: &mut Flow, doc: &Document, compact: bool) {
    let lang = doc.lang;
    if !compact {
        flow.push(Gap(60.0));
    }
    let (title_size, sub_size) = if compact { (20, 13) } else { (24, 15) };
    let mut title = TextPiece::new(&doc.title, Style::new().with_font_size(title_size).with_color(PRIMARY), 1.3);
    title.pad = (0.0, if compact { 2.0 } else { 5.0 });
    flow.push(title);
    if let Some(sub) = &doc.subtitle {
        let mut p = TextPiece::new(sub, Style::new().with_font_size(sub_size).with_color(INK), 1.3);
        p.pad = (0.0, if compact { 3.0 } else { 10.0 });
        flow.push(p);
    }
    for (label, value) in doc.title_facts() {
        let sep = lang.pick("：", ": ");
        let size = if compact { 10 } else { 11 };
        flow.push(TextPiece::new(
            &format!("{label}{sep}{value}"),
            Style::new().with_font_size(size).with_color(MUTED),
            1.4,
        ));
    }
    if let Some(audience) = &doc.meta.audience {
        let mut p = TextPiece::new(audience, Style::new().with_font_size(11).with_color(PRIMARY), 1.4);
        p.pad = (4.0, 0.0);
        flow.push(p);
    }
    if compact {
        flow.push(Rule::title());
    } else {
        flow.pieces.push(Box::new(PageBreak));
    }
}

/// Every character the PDF will print: the document's text, the labels the
/// renderer adds, chart labels, and printable ASCII (page numbers, figures).
fn used_chars(doc: &Document, plots: &[Option<Plot>]) -> BTreeSet<char> {
    let mut set: BTreeSet<char> = (' '..='~').collect();
    let mut add = |s: &str| set.extend(s.chars());
    add(&doc.title);
    doc.subtitle.iter().for_each(|s| add(s));
    for s in [
        &doc.meta.organisation,
        &doc.meta.period,
        &doc.meta.audience,
        &doc.meta.marking,
        &doc.meta.doc_number,
        &doc.meta.signer,
        &doc.meta.copies_to,
        &doc.meta.printed_by,
        &doc.meta.recipient,
    ]
    .into_iter()
    .flatten()
    {
        add(s);
    }
    add("文件签发人：抄送印发。（）()•");
    doc.meta.generated_display(doc.lang).iter().for_each(|s| add(s));
    add("单位期间生成日期：第页·—续表 Organisation Period Generated");
    for block in &doc.blocks {
        match block {
            Block::Heading { text, .. }
            | Block::Paragraph { text }
            | Block::RichParagraph { text, .. }
            | Block::Note { text } => add(text),
            Block::List(list) => list.items.iter().for_each(|i| add(&i.text)),
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
            Block::Attachment { title } => add(title),
        }
    }
    add("附件：．Attachments");
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
    let chars: Vec<(char, Tone)> = text.chars().map(|c| (c, Tone::Plain)).collect();
    toned_tokens(&chars).into_iter().map(|t| t.into_iter().map(|(c, _)| c).collect()).collect()
}

/// How a character of running text is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Plain,
    Strong,
    Emphasis,
}

impl Tone {
    fn of(span: &Span) -> Tone {
        match (span.strong, span.emphasis) {
            (true, _) => Tone::Strong,
            (false, true) => Tone::Emphasis,
            _ => Tone::Plain,
        }
    }

    /// The style a run of this tone is printed in.
    fn style(self, base: Style) -> Style {
        match self {
            Tone::Plain => base,
            Tone::Strong => base.with_color(match base.color() {
                Some(OFFICIAL_RED) => OFFICIAL_RED,
                Some(BODY_BLACK) => STRONG_TRACKED,
                _ => STRONG,
            }),
            Tone::Emphasis => base.with_color(EMPHASIS),
        }
    }
}

/// [`tokens`] for text whose characters carry a tone.
fn toned_tokens(text: &[(char, Tone)]) -> Vec<Vec<(char, Tone)>> {
    let mut out: Vec<Vec<(char, Tone)>> = Vec::new();
    let mut glue_next = false;
    let mut prev_latin = false;
    let mut latin_run = 0usize;
    let ends_with_space = |t: &Vec<(char, Tone)>| t.last().is_some_and(|(c, _)| *c == ' ');
    for &(c, tone) in text {
        if c.is_whitespace() {
            if let Some(last) = out.last_mut() {
                if !ends_with_space(last) {
                    last.push((' ', tone));
                }
            } else {
                out.push(vec![(' ', tone)]);
            }
            glue_next = false;
            prev_latin = false;
            continue;
        }
        let wide = is_wide(c) || is_opening(c) || is_closing(c) && !c.is_ascii();
        let glue = !out.is_empty()
            && !out.last().is_some_and(ends_with_space)
            && (glue_next || is_closing(c) || (!wide && prev_latin && latin_run < MAX_WORD));
        if glue {
            if let Some(last) = out.last_mut() {
                last.push((c, tone));
            }
        } else {
            out.push(vec![(c, tone)]);
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

/// Heading marks for the outline, and the page being filled, shared by the
/// page decorator and the pieces.
#[derive(Default)]
struct Shared {
    page: StdCell<usize>,
    marks: RefCell<Vec<Mark>>,
    /// The body's bottom edge, in millimetres above the paper's.
    bottom: f64,
}

/// Where a heading landed: the outline entry built from it.
#[derive(Debug, Clone, PartialEq)]
struct Mark {
    level: u8,
    text: String,
    /// 1-based page number.
    page: usize,
    /// The heading's top, in millimetres above the page's bottom edge.
    top: f64,
}

/// One piece of the page flow. Unlike a genpdf element, a piece can tell
/// beforehand how much room its first unbreakable part needs, so the flow
/// can keep a heading or caption with what follows it.
trait Piece {
    /// The height (mm) the piece needs before it may start on this page.
    fn need(&mut self, context: &Context, width: f64) -> f64;
    /// Whether the piece must share a page with the start of the next one.
    fn keeps_with_next(&self) -> bool {
        false
    }
    /// Whether this is a page break.
    fn is_page_break(&self) -> bool {
        false
    }
    /// Whether this is vertical space (a [`Space`]), and how high.
    fn is_space(&self) -> bool {
        false
    }
    /// The height of vertical space (0 for other pieces).
    fn space_height(&self) -> f64 {
        0.0
    }
    /// Makes the piece keep with the next (and stay whole, for text); the
    /// pieces that never break across pages ignore it.
    fn keep_with_next(&mut self) {}
    /// Draws as much as fits and returns the height used and whether more
    /// remains for the next page; `at_top` is true at the top of a page.
    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error>;
}

/// The whole body as one genpdf element that places its pieces itself: a
/// piece starts on a page only if it (and, for a heading or caption, the
/// start of what it keeps with) fits, otherwise the page ends there.
struct Flow {
    pieces: Vec<Box<dyn Piece>>,
    idx: usize,
}

impl Flow {
    fn push(&mut self, piece: impl Piece + 'static) {
        self.pieces.push(Box::new(piece));
    }

    /// The room piece `i` needs, with the pieces it keeps with.
    fn chain_need(&mut self, i: usize, context: &Context, width: f64) -> f64 {
        let need = self.pieces[i].need(context, width);
        if self.pieces[i].keeps_with_next() && i + 1 < self.pieces.len() && !self.pieces[i + 1].is_page_break() {
            need + self.chain_need(i + 1, context, width)
        } else {
            need
        }
    }
}

impl Flow {
    /// Makes the last piece keep with the next one: a space before it turns
    /// into a lead (which keeps) and the piece before that keeps too.
    fn keep_last(&mut self) {
        let n = self.pieces.len();
        if n >= 2 && !self.pieces[n - 1].keeps_with_next() && self.pieces[n - 1].is_space() {
            self.pieces[n - 1] = Box::new(Lead(self.pieces[n - 1].space_height()));
            self.pieces[n - 2].keep_with_next();
        } else if let Some(last) = self.pieces.last_mut() {
            last.keep_with_next();
        }
    }
}

impl Element for Flow {
    fn render(
        &mut self,
        context: &Context,
        mut area: render::Area<'_>,
        _style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        let width = mm(area.size().width);
        let mut used = 0.0;
        let done = |used: f64, more: bool| RenderResult { size: Size::new(width, used), has_more: more };
        while self.idx < self.pieces.len() {
            if self.pieces[self.idx].is_page_break() {
                self.idx += 1;
                if used > 0.0 {
                    return Ok(done(used, self.idx < self.pieces.len()));
                }
                continue;
            }
            if used > 0.0 && self.chain_need(self.idx, context, width) > mm(area.size().height) + 1e-6 {
                return Ok(done(used, true));
            }
            let (h, more) = self.pieces[self.idx].draw(context, area.clone(), used == 0.0)?;
            used += h;
            area.add_offset(Position::new(0, h));
            if more {
                return Ok(done(used, true));
            }
            self.idx += 1;
        }
        Ok(done(used, false))
    }
}

/// Breaks tokens into lines no wider than `width` (a token wider than the
/// line gets a line of its own).
fn wrap(context: &Context, tokens: &[String], style: Style, width: f64) -> Vec<String> {
    wrap_ranges(tokens, &|t| mm(style.str_width(&context.font_cache, t)), width, width)
        .into_iter()
        .map(|r| tokens[r].concat().trim_end().to_string())
        .collect()
}

/// Breaks tokens into lines, the first no wider than `first`, the others
/// no wider than `rest`, measuring with `width_of` (mm): the range of
/// tokens on each line.
fn wrap_ranges(tokens: &[String], width_of: &dyn Fn(&str) -> f64, first: f64, rest: f64) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut w = 0.0;
    for (i, t) in tokens.iter().enumerate() {
        let width = if lines.is_empty() { first } else { rest };
        let tw = width_of(t);
        let visible = width_of(t.trim_end());
        if i > start && w + visible > width + 1e-3 {
            lines.push(start..i);
            start = i;
            w = 0.0;
        }
        w += tw;
    }
    if !tokens[start..].concat().trim().is_empty() || lines.is_empty() {
        lines.push(start..tokens.len());
    }
    lines
}

fn line_height(context: &Context, style: Style) -> f64 {
    mm(style.line_height(&context.font_cache))
}

/// Prints one line at `y` within `width`, left or right aligned.
fn print_line(
    context: &Context,
    area: &render::Area<'_>,
    y: f64,
    width: f64,
    line: &str,
    style: Style,
    align: Align,
) -> Result<(), genpdf::error::Error> {
    let x = match align {
        Align::Text => 0.0,
        Align::Numeric => (width - mm(style.str_width(&context.font_cache, line))).max(0.0),
    };
    area.print_str(&context.font_cache, Position::new(x, y), style, line)?;
    Ok(())
}

/// Running text (a paragraph line, a heading, a note): wrapped once for the
/// width, drawn line by line, breaking across pages between lines but
/// never leaving one line alone on either side of a break.
struct TextPiece {
    /// The tokens ([`tokens`]), each character with its tone.
    tokens: Vec<Vec<(char, Tone)>>,
    style: Style,
    /// Space above and below (mm); the space above is dropped at a page top.
    pad: (f64, f64),
    keep: bool,
    /// The outline level and the shared record, for headings.
    mark: Option<(u8, Rc<Shared>)>,
    text: String,
    /// Left indent of every line (mm).
    indent: f64,
    /// Further indent of the first line (mm).
    first: f64,
    /// A marker printed on the first line at the given x (mm): a list item's number.
    label: Option<(String, f64)>,
    halign: HAlign,
    /// The official character grid, for an official document's body.
    grid: Option<Grid>,
    /// The text hangs after the label: every line starts where the label ends.
    hang: bool,
    /// A two-line title breaks between phrases ([`phrase_lines`]).
    phrases: bool,
    /// The characters the style's face lacks, printed in the report face
    /// instead (an official face has no `–`, `−` or `•`).
    lacks: Option<Rc<BTreeSet<char>>>,
    /// Each line as runs of one tone.
    lines: Vec<Vec<(String, Tone)>>,
    width: f64,
    next: usize,
}

/// A line's runs as plain text.
fn runs_text(runs: &[(String, Tone)]) -> String {
    runs.iter().map(|(t, _)| t.as_str()).collect()
}

/// How a line of running text sits between the margins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HAlign {
    Left,
    Centre,
}

impl TextPiece {
    fn new(text: &str, style: Style, spacing: f64) -> TextPiece {
        TextPiece::styled(&[Span::plain(text)], style, spacing)
    }

    /// Running text in styled spans: strong runs heavy, emphasised ones coloured.
    fn styled(spans: &[Span], style: Style, spacing: f64) -> TextPiece {
        let chars: Vec<(char, Tone)> =
            spans.iter().flat_map(|s| s.text.chars().map(move |c| (c, Tone::of(s)))).collect();
        TextPiece {
            tokens: toned_tokens(&chars),
            style: style.with_line_spacing(spacing),
            pad: (0.0, 0.0),
            keep: false,
            mark: None,
            text: chars.iter().map(|(c, _)| c).collect(),
            indent: 0.0,
            first: 0.0,
            label: None,
            halign: HAlign::Left,
            grid: None,
            hang: false,
            phrases: false,
            lacks: None,
            lines: Vec::new(),
            width: -1.0,
            next: 0,
        }
    }

    /// Sets the piece on the official grid: lines [`OFFICIAL_LINE`] apart
    /// and, when `tracked` (text in [`BODY_BLACK`]), characters
    /// [`OFFICIAL_TRACKING`] closer.
    fn on_grid(mut self, tracked: bool) -> TextPiece {
        self.grid = Some(Grid { line: OFFICIAL_LINE, tracking: if tracked { OFFICIAL_TRACKING } else { 0.0 } });
        self
    }

    /// Prints the characters in `lacks` in the report face.
    fn with_lacks(mut self, lacks: Option<&Rc<BTreeSet<char>>>) -> TextPiece {
        self.lacks = lacks.cloned();
        self
    }

    /// The height of one line.
    fn line(&self, context: &Context) -> f64 {
        self.grid.map_or_else(|| line_height(context, self.style), |g| g.line)
    }

    /// The width of a run of this piece's text.
    fn run_width(&self, context: &Context, text: &str) -> f64 {
        let tracking = self.grid.map_or(0.0, |g| g.tracking);
        let glyphs: f64 = self.segments(text).map(|(part, style)| mm(style.str_width(&context.font_cache, part))).sum();
        glyphs + tracking * text.chars().count() as f64
    }

    /// The text in pieces each printed in one face: the piece's own, or the
    /// report face for the characters its face lacks ([`TextPiece::lacks`]).
    fn segments<'t>(&self, text: &'t str) -> impl Iterator<Item = (&'t str, Style)> + 't {
        let lacks = self.lacks.clone();
        let (own, fallback) = (self.style, report_face(self.style));
        let missing = move |c: char| lacks.as_ref().is_some_and(|l| l.contains(&c));
        let mut rest = text;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let side = missing(first);
            let end = rest.char_indices().find(|&(_, c)| missing(c) != side).map_or(rest.len(), |(i, _)| i);
            let (part, tail) = rest.split_at(end);
            rest = tail;
            Some((part, if side { fallback } else { own }))
        })
    }

    fn layout(&mut self, context: &Context, width: f64) {
        if (self.width - width).abs() > 1e-6 {
            if self.hang
                && let Some((label, x)) = &self.label
            {
                self.indent = x + self.run_width(context, label);
            }
            let plain: Vec<String> = self.tokens.iter().map(|t| t.iter().map(|(c, _)| c).collect()).collect();
            let rest = (width - self.indent).max(1.0);
            let first = (rest - self.first).max(1.0);
            let width_of = |t: &str| self.run_width(context, t);
            let mut ranges = wrap_ranges(&plain, &width_of, first, rest);
            if self.phrases
                && ranges.len() == 2
                && let Some(two) = phrase_lines(&plain, &width_of, rest)
            {
                ranges = two;
            } else if self.halign == HAlign::Centre && ranges.len() > 1 {
                // A centred title is set in lines of even length: the narrowest
                // measure that needs no more lines (not a full line and a stub).
                let mut w = rest;
                while w > rest / 2.0 {
                    let narrower = wrap_ranges(&plain, &width_of, w - 1.0, w - 1.0);
                    if narrower.len() > ranges.len() {
                        break;
                    }
                    w -= 1.0;
                    ranges = narrower;
                }
            }
            self.lines = ranges
                .into_iter()
                .map(|r| {
                    let mut chars: Vec<(char, Tone)> = self.tokens[r].iter().flatten().copied().collect();
                    while chars.last().is_some_and(|(c, _)| c.is_whitespace()) {
                        chars.pop();
                    }
                    let mut runs: Vec<(String, Tone)> = Vec::new();
                    for (c, tone) in chars {
                        match runs.last_mut() {
                            Some((text, t)) if *t == tone => text.push(c),
                            _ => runs.push((c.to_string(), tone)),
                        }
                    }
                    runs
                })
                .collect();
            self.width = width;
        }
    }

    /// The whole height, for a piece that is never broken (a caption).
    fn height(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width);
        self.pad.0 + self.lines.len() as f64 * self.line(context) + self.pad.1
    }
}

fn caption_piece(text: &str) -> TextPiece {
    let mut p = TextPiece::new(text, Style::new().with_font_size(10).with_color(INK), 1.35);
    p.pad = (2.0, 1.0);
    p
}

impl Piece for TextPiece {
    fn need(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width);
        let left = self.lines.len() - self.next;
        let lines = if self.keep || left <= 3 { left } else { 2 };
        let pad = if self.next == 0 { self.pad.0 } else { 0.0 };
        pad + lines as f64 * self.line(context) + if lines == left { self.pad.1 } else { 0.0 }
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
        self.layout(context, width);
        let avail = mm(area.size().height);
        let lh = self.line(context);
        let mut y = if self.next == 0 && !at_top { self.pad.0 } else { 0.0 };
        if self.next == 0
            && let Some((level, shared)) = &self.mark
        {
            shared.marks.borrow_mut().push(Mark {
                level: *level,
                text: self.text.clone(),
                page: shared.page.get(),
                top: shared.bottom + avail - y + 2.0,
            });
        }
        let left = self.lines.len() - self.next;
        let mut fit = (((avail - y) / lh + 1e-6).floor().max(0.0) as usize).min(left);
        if fit < left {
            // No widow: carry at least two lines over; no orphan: keep two here.
            if left - fit == 1 && fit >= 3 {
                fit -= 1;
            }
            if fit == 1 && left > 1 && !at_top {
                fit = 0;
            }
            if fit == 0 && at_top {
                fit = 1;
            }
        }
        for (k, line) in self.lines[self.next..self.next + fit].iter().enumerate() {
            let first = self.next + k == 0;
            if first && let Some((label, x)) = &self.label {
                area.print_str(&context.font_cache, Position::new(*x, y), self.style, label)?;
            }
            let line_w: f64 = line.iter().map(|(t, _)| self.run_width(context, t)).sum();
            let mut x = self.indent + if first { self.first } else { 0.0 };
            if self.halign == HAlign::Centre {
                x = self.indent + ((width - self.indent - line_w) / 2.0).max(0.0);
            }
            let tracking = self.grid.map_or(0.0, |g| g.tracking);
            let own_height = mm(self.style.font(&context.font_cache).glyph_height(self.style.font_size()));
            for (text, tone) in line {
                for (part, style) in self.segments(text) {
                    // genpdf sets the baseline one glyph height below the given top: a part
                    // in another face moves so that the two faces share the baseline.
                    let height = mm(style.font(&context.font_cache).glyph_height(style.font_size()));
                    let top = y + own_height - height;
                    area.print_str(&context.font_cache, Position::new(x, top), tone.style(style), part)?;
                    x += mm(style.str_width(&context.font_cache, part)) + tracking * part.chars().count() as f64;
                }
            }
            y += lh;
        }
        self.next += fit;
        let more = self.next < self.lines.len();
        if !more {
            y = (y + self.pad.1).min(avail.max(y));
        }
        Ok((y, more))
    }
}

/// Vertical space, of three kinds:
/// - `Spacer`: between blocks; needs no room of its own and disappears at
///   the top of a page;
/// - `Lead`: before a block; disappears at the top of a page and passes a
///   heading's keep on to the block after it;
/// - `Gap`: stays even at the top of a page (the title page's).
#[derive(Clone, Copy, PartialEq)]
enum Space {
    Spacer(f64),
    Lead(f64),
    Gap(f64),
}
use Space::{Gap, Lead, Spacer};

impl Piece for Space {
    fn need(&mut self, _context: &Context, _width: f64) -> f64 {
        match *self {
            Spacer(_) => 0.0,
            Lead(h) | Gap(h) => h,
        }
    }

    fn keeps_with_next(&self) -> bool {
        matches!(self, Lead(_))
    }

    fn is_space(&self) -> bool {
        true
    }

    fn space_height(&self) -> f64 {
        match *self {
            Spacer(h) | Lead(h) | Gap(h) => h,
        }
    }

    fn draw(
        &mut self,
        _context: &Context,
        area: render::Area<'_>,
        at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let height = match *self {
            Spacer(_) | Lead(_) if at_top => 0.0,
            Spacer(h) | Lead(h) | Gap(h) => h,
        };
        Ok((height.min(mm(area.size().height)), false))
    }
}

/// A full-width rule of hairlines (genpdf cannot set a line width, so a
/// heavier rule is several hairlines close together).
struct Rule {
    colour: Color,
    /// Where the first hairline lies below the top of the piece, in mm.
    first: f64,
    /// How many hairlines, and how far apart (mm).
    lines: u8,
    step: f64,
    /// The height the piece takes, in mm.
    height: f64,
}

impl Rule {
    /// The rule under a compact title block.
    fn title() -> Rule {
        Rule { colour: PRIMARY, first: 3.0, lines: 3, step: 0.3, height: 8.0 }
    }

    /// The red rule under an official document's mark and number (about 0.5 mm).
    fn official_red() -> Rule {
        Rule { colour: OFFICIAL_RED, first: 3.0, lines: 6, step: 0.1, height: 6.0 }
    }

    /// A black rule of an official document's imprint, `before` mm below what precedes
    /// it: heavy (three hairlines) at its top and bottom, light (one) between its lines.
    fn imprint(lines: u8, before: f64) -> Rule {
        Rule { colour: INK, first: before + 0.5, lines, step: 0.1, height: before + 1.5 }
    }
}

impl Piece for Rule {
    fn need(&mut self, _context: &Context, _width: f64) -> f64 {
        self.height
    }

    fn draw(
        &mut self,
        _context: &Context,
        area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let w = mm(area.size().width);
        for i in 0..self.lines {
            let y = self.first + f64::from(i) * self.step;
            area.draw_line(vec![Position::new(0, y), Position::new(w, y)], Style::new().with_color(self.colour));
        }
        Ok((self.height, false))
    }
}

/// One line with text a character in from the left and text a character in
/// from the right: the document number and the signer (签发人) of a report
/// to a higher authority (GB/T 9704-2012, 7.2.4), or the printing office
/// and the date in the imprint.
struct TwoSided {
    left: String,
    right: String,
    style: Style,
}

impl Piece for TwoSided {
    fn need(&mut self, context: &Context, _width: f64) -> f64 {
        4.0 + line_height(context, self.style)
    }

    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let one_char = pt_mm(f64::from(self.style.font_size()));
        let w = mm(area.size().width);
        let height = line_height(context, self.style);
        let y = 4.0;
        area.print_str(&context.font_cache, Position::new(one_char, y), self.style, &self.left)?;
        let right_w = mm(self.style.str_width(&context.font_cache, &self.right));
        area.print_str(&context.font_cache, Position::new(w - one_char - right_w, y), self.style, &self.right)?;
        Ok((4.0 + height, false))
    }
}

/// An official document's signature: the issuer centred over the date,
/// the date `right` millimetres in from the right margin; kept together.
struct Signature {
    issuer: Option<String>,
    date: Option<String>,
    style: Style,
    right: f64,
    before: f64,
    /// The line pitch (the official grid's).
    line: f64,
    /// Keep with what follows (the annotation).
    keep: bool,
}

impl Piece for Signature {
    fn need(&mut self, _context: &Context, _width: f64) -> f64 {
        self.before + 2.0 * self.line
    }

    fn keeps_with_next(&self) -> bool {
        self.keep
    }

    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let width = mm(area.size().width);
        let lh = self.line;
        let w = |s: &str| mm(self.style.str_width(&context.font_cache, s));
        let mut y = if at_top { 0.0 } else { self.before };
        let date_w = self.date.as_deref().map_or(0.0, w);
        // The centre of the date (or of the space it would take).
        let centre = width - self.right - date_w / 2.0;
        if let Some(issuer) = &self.issuer {
            let x = (centre - w(issuer) / 2.0).clamp(0.0, (width - w(issuer)).max(0.0));
            area.print_str(&context.font_cache, Position::new(x, y), self.style, issuer)?;
            y += lh;
        }
        if let Some(date) = &self.date {
            area.print_str(&context.font_cache, Position::new(width - self.right - date_w, y), self.style, date)?;
            y += lh;
        }
        Ok((y, false))
    }
}

struct PageBreak;

/// Pieces that never break, set together at the foot of the page they
/// start on (or of the next, when they do not fit): an official document's
/// imprint, whose last rule lies on the text area's bottom edge.
struct AtFoot {
    parts: Vec<Box<dyn Piece>>,
}

impl Piece for AtFoot {
    fn need(&mut self, context: &Context, width: f64) -> f64 {
        self.parts.iter_mut().map(|p| p.need(context, width)).sum()
    }

    fn draw(
        &mut self,
        context: &Context,
        mut area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let width = mm(area.size().width);
        let avail = mm(area.size().height);
        let height = self.need(context, width);
        area.add_offset(Position::new(0, (avail - height).max(0.0)));
        for part in &mut self.parts {
            let (h, _) = part.draw(context, area.clone(), false)?;
            area.add_offset(Position::new(0, h));
        }
        Ok((avail.max(height), false))
    }
}

impl Piece for PageBreak {
    fn need(&mut self, _context: &Context, _width: f64) -> f64 {
        0.0
    }

    fn is_page_break(&self) -> bool {
        true
    }

    fn draw(
        &mut self,
        _context: &Context,
        _area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        Ok((0.0, false))
    }
}

/// Key figures: as many tiles to a row as [`tile_columns`] says, value
/// large, label and note below; a short last row leaves blank paper, never
/// an empty box.
struct TilesPiece {
    tiles: Vec<Tile>,
    /// Per row: its height and each tile's lines (value, label, note).
    layout: Option<(f64, Vec<TileRow>)>,
}

/// A row of tiles: its height and its tiles' lines.
type TileRow = (f64, Vec<TileLines>);

struct TileLines {
    value: Vec<String>,
    label: Vec<String>,
    note: Vec<String>,
}

const TILE_PAD: (f64, f64, f64, f64) = (2.5, 3.0, 3.0, 4.0);

fn tile_styles() -> (Style, Style, Style) {
    (
        Style::new().with_font_size(18).with_color(PRIMARY).with_line_spacing(1.2),
        Style::new().with_font_size(9).with_color(INK).with_line_spacing(1.35),
        Style::new().with_font_size(8).with_color(MUTED).with_line_spacing(1.35),
    )
}

impl TilesPiece {
    fn layout(&mut self, context: &Context, width: f64) -> f64 {
        if let Some((w, rows)) = &self.layout
            && (*w - width).abs() < 1e-6
        {
            return rows.iter().map(|r| r.0).sum();
        }
        let cols = tile_columns(self.tiles.len());
        let inner = width / cols as f64 - TILE_PAD.1 - TILE_PAD.3;
        let (vs, ls, ns) = tile_styles();
        let mut rows = Vec::new();
        for chunk in self.tiles.chunks(cols) {
            let cells: Vec<TileLines> = chunk
                .iter()
                .map(|t| TileLines {
                    value: wrap(context, &tokens(&t.value), vs, inner),
                    label: wrap(context, &tokens(&t.label), ls, inner),
                    note: t.note.as_deref().map(|n| wrap(context, &tokens(n), ns, inner)).unwrap_or_default(),
                })
                .collect();
            let h = cells
                .iter()
                .map(|c| {
                    c.value.len() as f64 * line_height(context, vs)
                        + c.label.len() as f64 * line_height(context, ls)
                        + c.note.len() as f64 * line_height(context, ns)
                })
                .fold(0.0, f64::max)
                + TILE_PAD.0
                + TILE_PAD.2;
            rows.push((h, cells));
        }
        let total = rows.iter().map(|r| r.0).sum();
        self.layout = Some((width, rows));
        total
    }
}

impl Piece for TilesPiece {
    fn need(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width)
    }

    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        _at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let width = mm(area.size().width);
        let total = self.layout(context, width);
        let cols = tile_columns(self.tiles.len());
        let cw = width / cols as f64;
        let (vs, ls, ns) = tile_styles();
        let mut y0 = 0.0;
        if let Some((_, rows)) = &self.layout {
            for (h, cells) in rows {
                for (i, cell) in cells.iter().enumerate() {
                    let mut a = area.clone();
                    a.add_offset(Position::new(cw * i as f64, y0));
                    a.set_width(Mm::from(cw));
                    for dx in [0.2, 0.5, 0.8] {
                        a.draw_line(
                            vec![Position::new(dx, 1.5), Position::new(dx, h - 1.0)],
                            Style::new().with_color(PRIMARY),
                        );
                    }
                    a.draw_line(
                        vec![Position::new(0, h - 0.5), Position::new(cw - 2.0, h - 0.5)],
                        Style::new().with_color(RULE),
                    );
                    a.add_offset(Position::new(TILE_PAD.3, TILE_PAD.0));
                    let mut y = 0.0;
                    for (lines, style) in [(&cell.value, vs), (&cell.label, ls), (&cell.note, ns)] {
                        for line in lines {
                            print_line(context, &a, y, cw, line, style, Align::Text)?;
                            y += line_height(context, style);
                        }
                    }
                }
                y0 += h;
            }
        }
        Ok((total, false))
    }
}

/// `表2 各校…` → `续表2 各校…`; `Table 2 Incidents` → `Table 2 (continued) Incidents`;
/// a caption without a number gets `续表：` before it or ` (continued)` after it.
pub fn continued_caption(caption: &str, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => {
            let numbered =
                caption.strip_prefix('表').is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
            if numbered { format!("续{caption}") } else { format!("续表：{caption}") }
        }
        Lang::En => {
            let mut words = caption.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("Table"), Some(n), rest) if n.starts_with(|c: char| c.is_ascii_digit()) => match rest {
                    Some(rest) => format!("Table {n} (continued) {rest}"),
                    None => format!("Table {n} (continued)"),
                },
                _ => format!("{caption} (continued)"),
            }
        }
    }
}

/// A table with its caption and note. It breaks between rows only: the
/// caption and header row never end a page without two rows under them, at
/// least two body rows (never the totals row alone) go over to the next
/// page, a table of up to six rows is never broken, and every page it
/// continues on starts with a continued caption (`续表N …`) and the header
/// row again. Rules: heavy above and below the header, light between rows,
/// heavy above and below the totals row.
struct TablePiece {
    caption: Option<TextPiece>,
    continued: TextPiece,
    header: Vec<(String, Align)>,
    /// Cells (text, colour) and whether the row is the totals row.
    rows: Vec<(Vec<(String, Color)>, bool)>,
    note: Vec<TextPiece>,
    /// Each column's widest body cell and widest header word, in em.
    natural: Vec<(f64, f64)>,
    /// Per width: the header's lines and height, each row's lines and height.
    layout: Option<(f64, RowLines, Vec<RowLines>)>,
    next: usize,
}

/// A row's wrapped cells and its height.
type RowLines = (Vec<Vec<String>>, f64);

const CELL_PAD: (f64, f64) = (1.2, 2.0);

fn cell_style() -> Style {
    Style::new().with_font_size(9).with_color(INK).with_line_spacing(1.35)
}

impl TablePiece {
    fn new(table: &Table, lang: Lang) -> TablePiece {
        let rows = table
            .rows
            .iter()
            .map(|r| (r, false))
            .chain(table.totals.iter().map(|r| (r, true)))
            .map(|(cells, totals)| {
                let cells =
                    cells.iter().map(|c| (c.display().to_string(), if c.is_hidden() { MUTED } else { INK })).collect();
                (cells, totals)
            })
            .collect();
        let continued = match &table.caption {
            Some(c) => continued_caption(c, lang),
            None => lang.pick("续表", "Table (continued)").to_string(),
        };
        let note = table
            .note
            .iter()
            .flat_map(|n| n.split('\n'))
            .map(|line| {
                let mut p = TextPiece::new(line, note_style(), 1.4);
                p.pad = (2.0, 0.0);
                p
            })
            .collect();
        TablePiece {
            caption: table.caption.as_deref().map(caption_piece),
            continued: caption_piece(&continued),
            header: table.columns.iter().map(|c| (c.title.clone(), c.align)).collect(),
            rows,
            note,
            natural: natural_widths(table),
            layout: None,
            next: 0,
        }
    }

    /// The columns' widths across `width` mm: when every body cell fits on one
    /// line (a school's name never breaks: 城东初级中/学), each column gets its
    /// widest cell, and what is left goes first to headers that would otherwise
    /// wrap inside a word, then to every column alike; when they do not all
    /// fit, widths follow the widest texts (clamped), as before.
    fn column_widths(&self, width: f64) -> Vec<f64> {
        let em = pt_mm(f64::from(cell_style().font_size()));
        let pad = 2.0 * CELL_PAD.1 + 0.5;
        let body: Vec<f64> = self.natural.iter().map(|(b, _)| b * em + pad).collect();
        let fits: f64 = body.iter().sum();
        if fits <= width {
            let mut widths = body.clone();
            let mut left = width - fits;
            // Headers' longest words next, as far as the room goes.
            let want: Vec<f64> =
                self.natural.iter().zip(&widths).map(|((_, h), w)| (h * em + pad - w).max(0.0)).collect();
            let wanted: f64 = want.iter().sum();
            let share = if wanted > 0.0 { (left / wanted).min(1.0) } else { 0.0 };
            for (w, x) in widths.iter_mut().zip(&want) {
                *w += x * share;
            }
            left -= wanted * share;
            let n = widths.len().max(1) as f64;
            widths.iter_mut().for_each(|w| *w += left / n);
            return widths;
        }
        let weights: Vec<f64> = self.natural.iter().map(|(b, h)| b.max(*h).clamp(3.0, 16.0)).collect();
        let total: f64 = weights.iter().sum();
        weights.iter().map(|w| width * w / total.max(1.0)).collect()
    }

    fn layout(&mut self, context: &Context, width: f64) {
        if self.layout.as_ref().is_some_and(|l| (l.0 - width).abs() < 1e-6) {
            return;
        }
        let widths = self.column_widths(width);
        let style = cell_style();
        let lh = line_height(context, style);
        let lay = |cells: Vec<&str>, pad: f64| -> RowLines {
            let lines: Vec<Vec<String>> = cells
                .iter()
                .zip(&widths)
                .map(|(text, w)| wrap(context, &tokens(text), style, w - 2.0 * CELL_PAD.1))
                .collect();
            let n = lines.iter().map(Vec::len).max().unwrap_or(1);
            (lines, n as f64 * lh + 2.0 * pad)
        };
        let header = lay(self.header.iter().map(|h| h.0.as_str()).collect(), 1.5);
        let rows =
            self.rows.iter().map(|(cells, _)| lay(cells.iter().map(|c| c.0.as_str()).collect(), CELL_PAD.0)).collect();
        self.layout = Some((width, header, rows));
    }

    fn note_height(&mut self, context: &Context, width: f64) -> f64 {
        self.note.iter_mut().map(|n| n.height(context, width)).sum()
    }

    /// The caption (or continued caption) and header row heights.
    fn head_height(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width);
        let caption = if self.next == 0 {
            self.caption.as_mut().map_or(0.0, |c| c.height(context, width))
        } else {
            self.continued.height(context, width)
        };
        caption + self.layout.as_ref().map_or(0.0, |l| l.1.1)
    }

    fn row_heights(&self) -> Vec<f64> {
        self.layout.as_ref().map(|l| l.2.iter().map(|r| r.1).collect()).unwrap_or_default()
    }

    /// How many rows from `self.next` to put on a page with `avail` mm.
    fn rows_here(&mut self, context: &Context, width: f64, avail: f64, at_top: bool) -> usize {
        let heights = self.row_heights();
        let n = heights.len();
        let mut y = self.head_height(context, width);
        let mut k = 0;
        while self.next + k < n && y + heights[self.next + k] <= avail + 1e-6 {
            y += heights[self.next + k];
            k += 1;
        }
        if self.next + k == n && k > 0 {
            let note = self.note_height(context, width);
            if y + note > avail + 1e-6 {
                // The note stays with the last rows.
                k = k.saturating_sub(2);
            }
        }
        if self.next + k < n {
            // At least two body rows go over with the rest (never the totals alone).
            let body_left = self.rows[self.next + k..].iter().filter(|r| !r.1).count();
            let body_from_here = self.rows[self.next..].iter().filter(|r| !r.1).count();
            let want = 2.min(body_from_here);
            if body_left < want {
                k = k.saturating_sub(want - body_left);
            }
            // A small table, or a start of fewer than two rows, waits for the next page.
            let small = self.next == 0 && n <= SMALL_TABLE;
            if !at_top && (small || (self.next == 0 && k < 2)) {
                k = 0;
            }
            if at_top && k == 0 {
                k = 1;
            }
        }
        k
    }
}

impl Piece for TablePiece {
    fn need(&mut self, context: &Context, width: f64) -> f64 {
        self.layout(context, width);
        let heights = self.row_heights();
        let left = &heights[self.next..];
        let whole = self.next == 0 && heights.len() <= SMALL_TABLE;
        let take = if whole { left.len() } else { left.len().min(2) };
        let note = if take == left.len() { self.note_height(context, width) } else { 0.0 };
        self.head_height(context, width) + left[..take].iter().sum::<f64>() + note
    }

    fn draw(
        &mut self,
        context: &Context,
        area: render::Area<'_>,
        at_top: bool,
    ) -> Result<(f64, bool), genpdf::error::Error> {
        let width = mm(area.size().width);
        self.layout(context, width);
        let avail = mm(area.size().height);
        let k = self.rows_here(context, width, avail, at_top);
        if k == 0 && !self.rows.is_empty() {
            return Ok((0.0, true));
        }
        let mut y = 0.0;
        let caption = if self.next == 0 { self.caption.as_mut() } else { Some(&mut self.continued) };
        if let Some(caption) = caption {
            let h = caption.height(context, width);
            let mut a = area.clone();
            a.add_offset(Position::new(0, y + caption.pad.0));
            let lh = line_height(context, caption.style);
            for (i, line) in caption.lines.iter().enumerate() {
                print_line(context, &a, i as f64 * lh, width, &runs_text(line), caption.style, Align::Text)?;
            }
            y += h;
        }
        let widths = self.column_widths(width);
        let style = cell_style();
        let lh = line_height(context, style);
        let Some((_, header, rows)) = &self.layout else { return Ok((y, false)) };
        let rule = |y: f64, colour: Color| {
            area.draw_line(vec![Position::new(0, y), Position::new(width, y)], Style::new().with_color(colour))
        };
        let draw_row = |y: f64,
                        lines: &RowLines,
                        pad: f64,
                        colours: Option<&Vec<(String, Color)>>|
         -> Result<(), genpdf::error::Error> {
            let mut x = 0.0;
            for (c, (cell, w)) in lines.0.iter().zip(&widths).enumerate() {
                let align = self.header[c].1;
                let colour = colours.map_or(INK, |cs| cs[c].1);
                let mut a = area.clone();
                a.add_offset(Position::new(x + CELL_PAD.1, y + pad));
                for (i, line) in cell.iter().enumerate() {
                    print_line(
                        context,
                        &a,
                        i as f64 * lh,
                        w - 2.0 * CELL_PAD.1,
                        line,
                        style.with_color(colour),
                        align,
                    )?;
                }
                x += w;
            }
            Ok(())
        };
        draw_row(y, header, 1.5, None)?;
        for dy in [0.0, 0.3, header.1 - 0.3, header.1] {
            rule(y + dy, INK);
        }
        y += header.1;
        let end = self.next + k;
        for (r, row) in rows.iter().enumerate().take(end).skip(self.next) {
            let h = row.1;
            let (cells, totals) = &self.rows[r];
            draw_row(y, row, CELL_PAD.0, Some(cells))?;
            if *totals {
                rule(y, INK);
                rule(y + 0.3, INK);
            }
            if r + 1 == self.rows.len() {
                rule(y + h - 0.3, INK);
                rule(y + h, INK);
            } else {
                rule(y + h, RULE);
            }
            y += h;
        }
        self.next = end;
        if self.next < self.rows.len() {
            return Ok((y, true));
        }
        for note in &mut self.note {
            let h = note.height(context, width);
            let mut a = area.clone();
            a.add_offset(Position::new(0, y + note.pad.0));
            let nl = line_height(context, note.style);
            for (i, line) in note.lines.iter().enumerate() {
                print_line(context, &a, i as f64 * nl, width, &runs_text(line), note.style, Align::Text)?;
            }
            y += h;
        }
        Ok((y.min(avail.max(y)), false))
    }
}

/// Each column's widest body cell (which should not wrap) and the longest
/// word of its header (which may wrap between words: "Median days to
/// intervention"), in em.
fn natural_widths(table: &Table) -> Vec<(f64, f64)> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let header = col.title.split_whitespace().map(|w| plot::text_width(w, 1.0)).fold(0.0, f64::max);
            let widest = table
                .rows
                .iter()
                .chain(table.totals.iter())
                .filter_map(|r| r.get(i))
                .map(|c| plot::text_width(c.display(), 1.0))
                .fold(0.0, f64::max);
            (widest, header)
        })
        .collect()
}

/// A figure: its caption and the chart drawn from its [`Plot`] across the
/// text width, never parted.
struct ChartPiece {
    caption: TextPiece,
    plot: Plot,
    /// Keep with what follows (the notes that end the document).
    keep: bool,
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

/// The page margins the decorator leaves: the body's bottom edge lies this
/// many millimetres above the paper's.
const CONTENT_BOTTOM: f64 = 22.0;
/// The same for an official document (GB/T 9704-2012: 35 mm).
const OFFICIAL_BOTTOM: f64 = 35.0;
/// An official document's text area (GB/T 9704-2012, 5.2.1): 156 mm wide, 225 mm high.
const OFFICIAL_WIDTH: f64 = 156.0;
/// See [`OFFICIAL_WIDTH`].
const OFFICIAL_HEIGHT: f64 = 225.0;
/// An official document's body type, 三号.
const OFFICIAL_SIZE: u8 = 16;
/// The official grid: 22 lines to the page (GB/T 9704-2012, 5.2.2) …
const OFFICIAL_LINE: f64 = OFFICIAL_HEIGHT / 22.0;
/// … and 28 characters to the line: 三号 characters (16 pt, 5.64 mm) set
/// this much closer (about −0.07 mm) so that 28 fill the 156 mm exactly.
const OFFICIAL_TRACKING: f64 = OFFICIAL_WIDTH / 28.0 - OFFICIAL_SIZE as f64 * 25.4 / 72.0;
/// One character of the official grid (5.57 mm): the unit of its indents.
const OFFICIAL_CHAR: f64 = OFFICIAL_WIDTH / 28.0;

/// The line pitch and character spacing of text set on a grid.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Grid {
    /// The distance between lines (mm).
    line: f64,
    /// What each character's advance is widened by (mm; negative to tighten).
    tracking: f64,
}

/// Header (the title, a rule) and footer (organisation and period, the page
/// number) on every page after the title page — and the footer on page 1
/// too when the title block shares it with the body — drawn directly with
/// fixed positions so they can never be skipped for lack of room.
struct Decorator {
    shared: Rc<Shared>,
    header: String,
    footer: String,
    lang: Lang,
    footer_on_first: bool,
    /// An official document, with the style of its page numbers: no header,
    /// `— N —` under the text on every page, on the outer edge.
    official: Option<Style>,
}

impl PageDecorator for Decorator {
    fn decorate_page<'a>(
        &mut self,
        context: &Context,
        mut area: render::Area<'a>,
        style: Style,
    ) -> Result<render::Area<'a>, genpdf::error::Error> {
        let page = self.shared.page.get() + 1;
        self.shared.page.set(page);
        if let Some(numbers) = self.official {
            // A4 with the text area of GB/T 9704-2012: 156 mm × 225 mm, 37 mm
            // from the top and 28 mm from the left; the page number 7 mm below it.
            // `— 2 —`: the dashes and the number printed apart, half a character
            // between them, so that text extraction keeps the spaces.
            let big = numbers;
            let number = page.to_string();
            let w = |s: &str| mm(big.str_width(&context.font_cache, s));
            let gap = pt_mm(14.0) / 2.0;
            let total = 2.0 * w("—") + 2.0 * gap + w(&number);
            // On the outer edge, one character in from the text area's side: odd pages
            // on the right, even pages on the left (GB/T 9704-2012, 7.5).
            let one_char = pt_mm(14.0);
            let mut x = if page % 2 == 1 { 28.0 + 156.0 - one_char - total } else { 28.0 + one_char };
            let y = mm(area.size().height) - OFFICIAL_BOTTOM + 5.0;
            for (piece, after) in [("—", gap), (number.as_str(), gap), ("—", 0.0)] {
                area.print_str(&context.font_cache, Position::new(x, y), big, piece)?;
                x += w(piece) + after;
            }
            area.add_margins(Margins::trbl(37, 26, OFFICIAL_BOTTOM, 28));
            return Ok(area);
        }
        area.add_margins(Margins::trbl(14, 20, 12, 20));
        let (w, h) = (area.size().width, area.size().height);
        let small = style.with_font_size(8).with_color(MUTED);
        if page > 1 {
            area.print_str(&context.font_cache, Position::new(0, 0), small, &self.header)?;
            area.draw_line(vec![Position::new(0, 5.5), Position::new(w, Mm::from(5.5))], Style::new().with_color(RULE));
        }
        if page > 1 || self.footer_on_first {
            let number = match self.lang {
                Lang::ZhCn => format!("第{page}页"),
                Lang::En => format!("Page {page}"),
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
/// dictionary from the document (title, creator and producer "Sunward", the
/// document's own date), the language and an outline of the level 1 and 2
/// headings in the catalog, printpdf's "Adobe Illustrator" layer creator
/// dropped, and the file ID from the content.
fn finish(raw: Vec<u8>, doc: &Document, marks: &[Mark]) -> Result<Vec<u8>, PdfError> {
    use lopdf::{Dictionary, Object, StringFormat};
    let mut pdf = lopdf::Document::load_mem(&raw).map_err(|e| PdfError(format!("cannot re-read the PDF: {e}")))?;
    // printpdf describes its layers (optional content groups) as made by
    // "Adobe Illustrator 14.0": drop that usage dictionary.
    for object in pdf.objects.values_mut() {
        if let Object::Dictionary(dict) = object
            && dict.has_type(b"OCG")
        {
            dict.remove(b"Usage");
        }
    }
    name_fonts(&mut pdf);
    let pages = pdf.get_pages();
    restyle_text(&mut pdf, &pages)?;
    let outline = build_outline(&mut pdf, marks, &pages);
    let root = pdf
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|e| PdfError(format!("the PDF has no catalog: {e}")))?;
    let catalog = pdf
        .get_object_mut(root)
        .and_then(Object::as_dict_mut)
        .map_err(|e| PdfError(format!("the PDF has no catalog: {e}")))?;
    // Drop XMP metadata (it carries the clock) if any.
    catalog.remove(b"Metadata");
    catalog.set("Lang", Object::string_literal(doc.lang.tag()));
    let mut prefs = Dictionary::new();
    prefs.set("DisplayDocTitle", Object::Boolean(true));
    catalog.set("ViewerPreferences", Object::Dictionary(prefs));
    match outline {
        Some(id) => {
            catalog.set("Outlines", Object::Reference(id));
            catalog.set("PageMode", Object::Name(b"UseOutlines".to_vec()));
        }
        None => {
            catalog.remove(b"Outlines");
            catalog.set("PageMode", Object::Name(b"UseNone".to_vec()));
        }
    }
    let mut info = Dictionary::new();
    info.set("Title", Object::String(utf16be(&doc.title), StringFormat::Hexadecimal));
    info.set("Creator", Object::string_literal("Sunward"));
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

/// Names each embedded font as the PDF standard asks of a subset
/// (`ABCDEF+ARPLSungtiLGB`: a tag from the subset's bytes and the face's
/// PostScript name) instead of printpdf's resource name (`F0`), so that
/// `pdffonts` and a reader's font list say which faces a document is set in.
fn name_fonts(pdf: &mut lopdf::Document) {
    use lopdf::Object;
    let mut names: Vec<(lopdf::ObjectId, String)> = Vec::new();
    for (&id, object) in &pdf.objects {
        let Ok(dict) = object.as_dict() else { continue };
        if !dict.has_type(b"FontDescriptor") {
            continue;
        }
        let Some(file) = dict.get(b"FontFile2").and_then(Object::as_reference).ok() else { continue };
        let Some(stream) = pdf.objects.get(&file).and_then(|o| o.as_stream().ok()) else { continue };
        let bytes = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
        if let Some(name) = crate::subset::postscript_name(&bytes) {
            // Six capitals from a hash of the subset: the same subset, the same tag.
            // FNV-1a, 64 bits.
            let mut h =
                bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
            let tag: String = (0..6)
                .map(|_| {
                    let c = char::from(b'A' + (h % 26) as u8);
                    h /= 26;
                    c
                })
                .collect();
            names.push((id, format!("{tag}+{name}")));
        }
    }
    for (descriptor, name) in names {
        if let Ok(dict) = pdf.get_object_mut(descriptor).and_then(Object::as_dict_mut) {
            dict.set("FontName", Object::Name(name.clone().into_bytes()));
        }
        // The CID font that holds the descriptor, inline in its Type0 font or by reference, and that Type0 font.
        for object in pdf.objects.values_mut() {
            let Ok(dict) = object.as_dict_mut() else { continue };
            let holds = |d: &lopdf::Dictionary| {
                d.get(b"FontDescriptor").and_then(Object::as_reference).ok() == Some(descriptor)
            };
            if holds(dict) {
                dict.set("BaseFont", Object::Name(name.clone().into_bytes()));
            }
            let inline = match dict.get_mut(b"DescendantFonts").and_then(Object::as_array_mut) {
                Ok(array) => array.iter_mut().filter_map(|o| o.as_dict_mut().ok()).any(|d| {
                    let found = holds(d);
                    if found {
                        d.set("BaseFont", Object::Name(name.clone().into_bytes()));
                    }
                    found
                }),
                Err(_) => false,
            };
            if inline {
                dict.set("BaseFont", Object::Name(name.clone().into_bytes()));
            }
        }
    }
}

/// Simulated bold and the official character grid, both set by colour:
/// - text filled in a [`HEAVY`] colour (the embedded faces have no bold) is
///   drawn with text render mode 2 (fill, then stroke the outlines in the
///   same colour, [`HEAVY_STROKE`] of the type size wide); the glyphs are
///   written once, so the text copies out once; the line width and stroke
///   colour are set back after the text object;
/// - text filled in a [`TRACKED`] colour (an official document's body) is
///   set with the character spacing (`Tc`) of [`OFFICIAL_TRACKING`], which
///   puts 28 characters of 三号 on a 156 mm line; genpdf cannot set it, and
///   the renderer measured those lines with it.
fn restyle_text(
    pdf: &mut lopdf::Document,
    pages: &std::collections::BTreeMap<u32, lopdf::ObjectId>,
) -> Result<(), PdfError> {
    let fail = |e: lopdf::Error| PdfError(format!("cannot rewrite a page for bold text: {e}"));
    for &id in pages.values() {
        let data = pdf.get_page_content(id);
        if let Some(bytes) = restyled(&data) {
            pdf.change_page_content(id, bytes).map_err(fail)?;
        }
    }
    Ok(())
}

/// Whether `r g b` is one of `colours` as printpdf writes them (two decimals: 0x11 → 0.07).
fn is_colour(rgb: [f64; 3], colours: &[(u8, u8, u8)]) -> bool {
    colours.iter().any(|&(r, g, b)| [r, g, b].iter().zip(&rgb).all(|(c, x)| (f64::from(*c) / 255.0 - x).abs() < 0.006))
}

/// A number as a content stream writes it (at most four decimals, no trailing zeros).
fn pdf_number(x: f64) -> String {
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" { "0".to_string() } else { text.to_string() }
}

/// The tokens of a content stream with their byte ranges: strings (`(…)`,
/// `<…>`), array and dictionary brackets, names and numbers and operators;
/// comments and white space are skipped.
fn content_tokens(data: &[u8]) -> Vec<Range<usize>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    let delimiter = |b: u8| matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%');
    while i < data.len() {
        let b = data[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match b {
            b'%' => {
                while i < data.len() && data[i] != b'\n' && data[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'(' => {
                let mut depth = 0usize;
                while i < data.len() {
                    match data[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'<' if data.get(i + 1) == Some(&b'<') => i += 2,
            b'>' if data.get(i + 1) == Some(&b'>') => i += 2,
            b'<' => {
                while i < data.len() && data[i] != b'>' {
                    i += 1;
                }
                i += 1;
            }
            b'[' | b']' | b'{' | b'}' => i += 1,
            _ => {
                i += 1;
                while i < data.len() && !data[i].is_ascii_whitespace() && !delimiter(data[i]) {
                    i += 1;
                }
            }
        }
        tokens.push(start..i.min(data.len()));
    }
    tokens
}

/// A page's content with strong text stroked and official text tracked
/// (see [`restyle_text`]), or `None` when the page has neither. The
/// operators are added between the page's own, whose bytes are kept as
/// they are: no parse into objects and back.
fn restyled(data: &[u8]) -> Option<Vec<u8>> {
    let tokens = content_tokens(data);
    let text = |r: &Range<usize>| data.get(r.clone()).unwrap_or_default();
    let number = |r: &Range<usize>| std::str::from_utf8(text(r)).ok().and_then(|s| s.parse::<f64>().ok());
    let tracking_pt = OFFICIAL_TRACKING * 72.0 / 25.4;
    // Insertions: (byte offset, text), in order.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let (mut on, mut tracked, mut touched) = (false, false, false);
    for (k, token) in tokens.iter().enumerate() {
        match text(token) {
            b"rg" if k >= 3 => {
                let operands = [&tokens[k - 3], &tokens[k - 2], &tokens[k - 1]];
                let rgb = match (number(operands[0]), number(operands[1]), number(operands[2])) {
                    (Some(r), Some(g), Some(b)) => [r, g, b],
                    _ => continue,
                };
                let heavy = is_colour(rgb, &HEAVY);
                let track = is_colour(rgb, &TRACKED);
                let mut added = String::new();
                if heavy {
                    let colour: Vec<String> = rgb.iter().map(|x| pdf_number(*x)).collect();
                    added.push_str(&format!(" {} RG {} w 2 Tr", colour.join(" "), pdf_number(HEAVY_STROKE * 10.0)));
                } else if on {
                    added.push_str(" 0 Tr");
                }
                if track != tracked {
                    added.push_str(&format!(" {} Tc", pdf_number(if track { tracking_pt } else { 0.0 })));
                }
                if !added.is_empty() {
                    inserts.push((token.end, added));
                }
                touched |= heavy || track;
                (on, tracked) = (heavy, track);
            }
            // The outline grows with the type: 0.025 of the font size.
            b"Tf" if on && k >= 1 => {
                if let Some(size) = number(&tokens[k - 1]) {
                    inserts.push((token.end, format!(" {} w", pdf_number(HEAVY_STROKE * size))));
                }
            }
            b"ET" if on => {
                inserts.push((token.start, "0 Tr ".to_string()));
                inserts.push((token.end, " 0 0 0 RG 1 w".to_string()));
                on = false;
            }
            _ => {}
        }
    }
    if !touched {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() + inserts.iter().map(|(_, t)| t.len()).sum::<usize>());
    let mut at = 0;
    for (offset, added) in inserts {
        out.extend_from_slice(&data[at..offset]);
        out.extend_from_slice(added.as_bytes());
        at = offset;
    }
    out.extend_from_slice(&data[at..]);
    Some(out)
}

/// Adds the outline (bookmarks): level 1 headings at the top, each level 2
/// heading under the level 1 before it, every entry opening its page at
/// the heading. Returns the outline dictionary's id, or `None` without headings.
fn build_outline(
    pdf: &mut lopdf::Document,
    marks: &[Mark],
    pages: &std::collections::BTreeMap<u32, lopdf::ObjectId>,
) -> Option<lopdf::ObjectId> {
    use lopdf::{Dictionary, Object, ObjectId, StringFormat};
    if marks.is_empty() {
        return None;
    }
    // (mark index, children's mark indices) for each top-level entry.
    let mut tree: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, m) in marks.iter().enumerate() {
        match tree.last_mut() {
            Some((_, children)) if m.level > 1 => children.push(i),
            _ => tree.push((i, Vec::new())),
        }
    }
    let root = pdf.new_object_id();
    let ids: Vec<ObjectId> = marks.iter().map(|_| pdf.new_object_id()).collect();
    let entry = |i: usize, parent: ObjectId, prev: Option<usize>, next: Option<usize>, kids: &[usize]| {
        let m = &marks[i];
        let mut d = Dictionary::new();
        d.set("Title", Object::String(utf16be(&m.text), StringFormat::Hexadecimal));
        d.set("Parent", Object::Reference(parent));
        if let Some(p) = prev {
            d.set("Prev", Object::Reference(ids[p]));
        }
        if let Some(n) = next {
            d.set("Next", Object::Reference(ids[n]));
        }
        if let (Some(first), Some(last)) = (kids.first(), kids.last()) {
            d.set("First", Object::Reference(ids[*first]));
            d.set("Last", Object::Reference(ids[*last]));
            d.set("Count", Object::Integer(kids.len() as i64));
        }
        if let Some(page) = pages.get(&(m.page as u32)) {
            let top = (m.top * 72.0 / 25.4 * 100.0).round() / 100.0;
            d.set(
                "Dest",
                Object::Array(vec![
                    Object::Reference(*page),
                    Object::Name(b"XYZ".to_vec()),
                    Object::Null,
                    Object::Real(top as f32),
                    Object::Null,
                ]),
            );
        }
        Object::Dictionary(d)
    };
    let mut objects = Vec::new();
    for (t, (i, kids)) in tree.iter().enumerate() {
        let prev = t.checked_sub(1).map(|p| tree[p].0);
        let next = tree.get(t + 1).map(|n| n.0);
        objects.push((ids[*i], entry(*i, root, prev, next, kids)));
        for (k, c) in kids.iter().enumerate() {
            let prev = k.checked_sub(1).map(|p| kids[p]);
            let next = kids.get(k + 1).copied();
            objects.push((ids[*c], entry(*c, ids[*i], prev, next, &[])));
        }
    }
    for (id, object) in objects {
        pdf.objects.insert(id, object);
    }
    let mut outlines = Dictionary::new();
    outlines.set("Type", Object::Name(b"Outlines".to_vec()));
    outlines.set("First", Object::Reference(ids[tree[0].0]));
    outlines.set("Last", Object::Reference(ids[tree[tree.len() - 1].0]));
    outlines.set("Count", Object::Integer(marks.len() as i64));
    pdf.objects.insert(root, Object::Dictionary(outlines));
    Some(root)
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

    #[test]
    fn restyling_adds_operators_only_outside_strings_and_keeps_the_page_bytes() {
        // 0x11 0x11 0x11 (0.07) is a heavy colour; a string holding "rg" and an
        // escaped parenthesis is text, not an operator.
        let page: &[u8] = b"BT /F0 10 Tf 0.07 0.07 0.07 rg (a \\) 1 1 1 rg) Tj ET\n0.5 0.5 0.5 rg 1 2 m";
        let out = restyled(page).expect("a heavy colour is restyled");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "BT /F0 10 Tf 0.07 0.07 0.07 rg 0.07 0.07 0.07 RG 0.25 w 2 Tr (a \\) 1 1 1 rg) Tj 0 Tr ET 0 0 0 RG 1 w\n0.5 0.5 0.5 rg 1 2 m"
        );
        // A page with neither heavy nor tracked text is left alone.
        assert_eq!(restyled(b"BT 0.5 0.5 0.5 rg (x) Tj ET"), None);
        assert_eq!(content_tokens(b"[(a)(b)] TJ % note\n<<>>").len(), 7);
    }

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
