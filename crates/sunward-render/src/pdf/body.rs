//! The document as a [`Flow`] of pieces: the head (a title block, or an
//! official document's head), each block turned into its pieces in the
//! document's type — a note after a table goes with the table, a closing
//! note keeps with what precedes it — and an official document's close and
//! imprint.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::rc::Rc;

use genpdf::style::Style;

use super::chart::ChartPiece;
use super::flow::{Flow, Lead, PageBreak, Shared, Spacer};
use super::official::{
    OfficialType, official_attachment_head, official_close, official_head, official_heading, official_imprint,
};
use super::page::title_block;
use super::style::{INK, OFFICIAL_CHAR, note_style};
use super::table::TablePiece;
use super::text::{TextPiece, caption_piece, list_pieces, split_lines, standard_heading};
use super::tiles::TilesPiece;
use crate::document::{Block, Document, Span, Table};
use crate::layout::{self, OfficialFrame};
use crate::plot::Plot;

/// How the body's running text is set: the report's 10 pt with space after
/// each paragraph, or an official document's 三号 (16 pt) on the grid of 22
/// lines to the page and 28 characters to the line, paragraphs indented two
/// characters.
struct BodyText<'t> {
    style: Style,
    spacing: f64,
    /// Space after a paragraph (mm).
    after: f64,
    /// The first line's indent (mm).
    first_indent: f64,
    /// The characters the official body face lacks.
    lacks: Option<&'t Rc<BTreeSet<char>>>,
    /// Set on the official grid.
    on_grid: bool,
}

impl BodyText<'_> {
    fn of(types: Option<&OfficialType>) -> BodyText<'_> {
        match types {
            Some(t) => BodyText {
                style: t.body,
                spacing: 1.0,
                after: 0.0,
                first_indent: 2.0 * OFFICIAL_CHAR,
                lacks: Some(&t.lacks),
                on_grid: true,
            },
            None => BodyText {
                style: Style::new().with_font_size(10).with_color(INK),
                spacing: 1.45,
                after: 2.5,
                first_indent: 0.0,
                lacks: None,
                on_grid: false,
            },
        }
    }

    /// One line of a paragraph (its text up to a line break) as a piece.
    fn paragraph(&self, spans: &[Span]) -> TextPiece {
        let mut p = TextPiece::styled(spans, self.style, self.spacing).with_lacks(self.lacks);
        if self.on_grid {
            p = p.on_grid(true);
        }
        p.pad = (0.0, self.after);
        p.first = self.first_indent;
        p
    }
}

/// The whole document as pieces: the head, the blocks with their charts'
/// layouts (`plots`, one per block), and an official document's close and
/// imprint. `types` is the official type, for an official document.
pub(super) fn body_flow(
    doc: &Document,
    plots: Vec<Option<Plot>>,
    types: Option<&OfficialType>,
    shared: &Rc<Shared>,
) -> Flow {
    let mut flow = Flow { pieces: Vec::new(), idx: 0 };
    let official = types.map(|t| (t, OfficialFrame::of(doc)));
    match &official {
        Some((t, frame)) => official_head(&mut flow, frame, t),
        None => title_block(&mut flow, doc, doc.is_compact()),
    }
    let text = BodyText::of(types);
    let mut attachments = 0;
    for (index, (block, plot)) in doc.blocks.iter().zip(plots).enumerate() {
        if official.is_some() && matches!(block, Block::KeyFigures { .. } | Block::Table(_) | Block::Figure { .. }) {
            // Official paragraphs have no space after them: set tiles, tables and charts apart.
            flow.push(Lead(3.0));
        }
        if let Block::Attachment { title } = block {
            attachments += 1;
            match &official {
                Some((t, frame)) => {
                    if attachments == 1 {
                        official_close(&mut flow, frame, t);
                    }
                    official_attachment_head(&mut flow, doc.lang, t, attachments, title);
                }
                None => standard_attachment_head(&mut flow, doc, attachments, title, shared),
            }
            continue;
        }
        push_block(&mut flow, doc, index, plot, &text, types, shared);
    }
    if let Some((t, frame)) = &official {
        if attachments == 0 {
            official_close(&mut flow, frame, t);
        }
        if let Some(imprint) = &frame.imprint {
            official_imprint(&mut flow, imprint, t);
        }
    }
    flow
}

/// The pieces of block `index` (not an attachment), with its chart's layout.
fn push_block(
    flow: &mut Flow,
    doc: &Document,
    index: usize,
    plot: Option<Plot>,
    text: &BodyText<'_>,
    types: Option<&OfficialType>,
    shared: &Rc<Shared>,
) {
    match &doc.blocks[index] {
        Block::Heading { level, text: heading } => {
            let mut piece = match types {
                Some(t) => official_heading(t, *level, heading),
                None => standard_heading(*level, heading),
            };
            piece.keep = true;
            piece.mark = (*level <= 2).then(|| (*level, shared.clone()));
            flow.push(piece);
        }
        Block::Paragraph { text: para } => {
            for line in para.split('\n') {
                flow.push(text.paragraph(&[Span::plain(line)]));
            }
        }
        Block::RichParagraph { spans, .. } => {
            for line in split_lines(spans) {
                flow.push(text.paragraph(&line));
            }
        }
        Block::List(list) => list_pieces(flow, list, text.style, text.spacing, text.first_indent, text.lacks),
        Block::KeyFigures { tiles } => {
            flow.push(TilesPiece { tiles: tiles.clone(), layout: None });
            flow.push(Spacer(4.0));
        }
        Block::Table(table) => {
            flow.push(TablePiece::new(&with_following_note(table, doc.blocks.get(index + 1)), doc.lang));
            flow.push(Spacer(4.0));
        }
        Block::Figure { caption, .. } => {
            if let Some(plot) = plot {
                flow.push(ChartPiece { caption: caption_piece(caption), plot, keep: false });
            }
            flow.push(Spacer(3.0));
        }
        Block::Note { text: note } => note_pieces(flow, doc, index, note, types),
        Block::PageBreak => flow.pieces.push(Box::new(PageBreak)),
        Block::Attachment { .. } => {}
    }
}

/// A table with the note right after it, if any, added to its own note:
/// that note is the table's and goes with its last rows.
fn with_following_note<'t>(table: &'t Table, next: Option<&Block>) -> Cow<'t, Table> {
    match next {
        Some(Block::Note { text: note }) => {
            let mut with_note = table.clone();
            with_note.note = Some(match &table.note {
                Some(own) => format!("{own}\n{note}"),
                None => note.clone(),
            });
            Cow::Owned(with_note)
        }
        _ => Cow::Borrowed(table),
    }
}

/// A note's lines, in the note style (an official document's in its body
/// face at 四号, 14 pt). A note right after a table was set with the
/// table; a note that ends the document or follows a chart never stands on
/// a page of its own: the chart or text before it comes along.
fn note_pieces(flow: &mut Flow, doc: &Document, index: usize, note: &str, types: Option<&OfficialType>) {
    if index > 0 && matches!(doc.blocks[index - 1], Block::Table(_)) {
        return;
    }
    let closing = doc.blocks[index..].iter().all(|b| matches!(b, Block::Note { .. }));
    if closing || (index > 0 && matches!(doc.blocks[index - 1], Block::Figure { .. })) {
        flow.keep_last();
    }
    let style = types.map_or_else(note_style, |t| t.note);
    let lacks = types.map(|t| &t.lacks);
    for line in note.split('\n') {
        let mut p = TextPiece::new(line, style, 1.4).with_lacks(lacks);
        p.pad = (1.0, 1.0);
        flow.push(p);
    }
}

/// A standard document's attachment: a new page and a level 1 heading
/// `附件1　title`, in the outline.
fn standard_attachment_head(flow: &mut Flow, doc: &Document, n: usize, title: &str, shared: &Rc<Shared>) {
    flow.pieces.push(Box::new(PageBreak));
    let mut heading = standard_heading(1, &layout::attachment_heading(n, title, doc.lang));
    heading.keep = true;
    heading.mark = Some((1, shared.clone()));
    flow.push(heading);
}
