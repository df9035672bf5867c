//! The parser proper: [`parse`] walks the CommonMark events of the markup
//! once, and a [`Parser`] holds what is being read and turns the events into
//! blocks, one method per construct: the front matter, fenced blocks (tiles
//! and charts), headings, paragraphs (with table captions and attachments),
//! lists, notes, tables and the inline text they hold.

use std::mem::take;
use std::ops::Range;

use pulldown_cmark::{Alignment, CodeBlockKind, Event, HeadingLevel, MetadataBlockKind, Options, Tag, TagEnd};

use super::cells::{caption_of, cell_of};
use super::error::MarkupError;
use super::front_matter;
use super::text::{cjk_strong, list_item, literal_stars, push_span, restore_stars, split_fields, trim_spans, unescape};
use crate::chart::Chart;
use crate::document::{Align, Block, Cell, Column, Document, List, Span, Table, Tile};

/// Parses report markup into a document, then checks it ([`Document::check`]).
pub fn parse(src: &str) -> Result<Document, MarkupError> {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut parser = Parser::new(src);
    for (event, range) in pulldown_cmark::Parser::new_ext(src, opts).into_offset_iter() {
        parser.event(event, range)?;
    }
    parser.finish()
}

/// The 1-based line of a byte offset into the markup.
fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].matches('\n').count() + 1
}

/// An error about the line holding a byte offset of the markup.
fn error_at(src: &str, offset: usize, message: impl Into<String>) -> MarkupError {
    MarkupError { line: line_of(src, offset), message: message.into() }
}

/// The state of a parse: the document so far and what is open.
struct Parser<'s> {
    /// The markup.
    src: &'s str,
    /// The document so far.
    doc: Document,
    /// The text of the block being read (or the body of the front matter or
    /// of a fenced block).
    text: String,
    /// The same text in styled pieces.
    spans: Vec<Span>,
    /// How many bold spans are open.
    strong: usize,
    /// How many emphasis spans are open.
    emphasis: usize,
    /// Whether the front matter is being read.
    metadata: bool,
    /// The fenced block being read: its info string and where it starts.
    code: Option<(String, usize)>,
    /// The table being read.
    table: Option<OpenTable>,
    /// A caption read before its table.
    pending_caption: Option<String>,
    /// The paragraphs of the block quote (note) being read.
    quote: Option<Vec<String>>,
    /// The lists being read, outermost first.
    lists: Vec<OpenList>,
}

/// A table being read, its current row and where in it the parser is.
struct OpenTable {
    table: Table,
    row: Vec<Cell>,
    /// The cell being read (0-based) in the header or the row.
    cell_index: usize,
    /// Whether the header row is being read.
    in_head: bool,
    /// Whether the current row's first cell begins bold (a totals row).
    strong_first: bool,
}

/// A list being read: the part not yet written out, its first number and
/// how many items it has had so far.
struct OpenList {
    list: List,
    first: u64,
    count: usize,
}

impl OpenList {
    /// The marker of the next item when a list is written into a note as
    /// text: its number, or a middle dot.
    fn next_marker(&self) -> String {
        if self.list.ordered { format!("{}.", self.first + self.count as u64) } else { "·".to_string() }
    }
}

impl<'s> Parser<'s> {
    fn new(src: &'s str) -> Self {
        Parser {
            src,
            doc: Document::new(""),
            text: String::new(),
            spans: Vec::new(),
            strong: 0,
            emphasis: 0,
            metadata: false,
            code: None,
            table: None,
            pending_caption: None,
            quote: None,
            lists: Vec::new(),
        }
    }

    /// Reads one event; `range` is where in the markup it comes from.
    fn event(&mut self, event: Event<'_>, range: Range<usize>) -> Result<(), MarkupError> {
        match event {
            Event::Start(tag) => self.start(tag, range)?,
            Event::End(tag) => self.end(tag, range)?,
            Event::Text(t) => self.text(&t, range),
            Event::Code(t) => self.push_text(&t),
            Event::SoftBreak => self.soft_break(range.end),
            Event::HardBreak => self.push_text("\n"),
            Event::Rule => self.doc.blocks.push(Block::PageBreak),
            Event::Html(_) | Event::InlineHtml(_) => {
                return Err(error_at(self.src, range.start, "raw HTML is not allowed in report markup"));
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads the start of a block or a span.
    fn start(&mut self, tag: Tag<'_>, range: Range<usize>) -> Result<(), MarkupError> {
        match tag {
            Tag::MetadataBlock(MetadataBlockKind::YamlStyle) => self.metadata = true,
            Tag::CodeBlock(kind) => self.start_fenced_block(kind, range.start)?,
            Tag::Heading { .. } | Tag::Paragraph | Tag::Item | Tag::TableCell => self.clear_text(),
            Tag::List(first) => self.start_list(first),
            Tag::BlockQuote(_) => self.quote = Some(Vec::new()),
            Tag::Table(aligns) => self.start_table(&aligns),
            Tag::TableHead => self.start_table_head(),
            Tag::TableRow => self.start_table_row(),
            Tag::Strong => self.start_strong(),
            Tag::Emphasis => self.emphasis += 1,
            Tag::Image { .. } => {
                return Err(error_at(self.src, range.start, "images are not supported; use a ```chart block"));
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads the end of a block or a span.
    fn end(&mut self, tag: TagEnd, range: Range<usize>) -> Result<(), MarkupError> {
        match tag {
            TagEnd::MetadataBlock(_) => self.end_front_matter(range.start)?,
            TagEnd::CodeBlock => self.end_fenced_block()?,
            TagEnd::Heading(level) => self.end_heading(level),
            TagEnd::Paragraph => self.end_paragraph(),
            TagEnd::List(_) => self.end_list(),
            TagEnd::Item => self.end_item(),
            TagEnd::BlockQuote(_) => self.end_quote(),
            TagEnd::TableHead => {
                if let Some(open) = self.table.as_mut() {
                    open.in_head = false;
                }
            }
            TagEnd::Strong => self.strong = self.strong.saturating_sub(1),
            TagEnd::Emphasis => self.emphasis = self.emphasis.saturating_sub(1),
            TagEnd::TableCell => self.end_table_cell(),
            TagEnd::TableRow => self.end_table_row(range.start)?,
            TagEnd::Table => self.end_table(),
            _ => {}
        }
        Ok(())
    }

    /// Checks the title and the document, and puts back escaped asterisks.
    fn finish(self) -> Result<Document, MarkupError> {
        let mut doc = self.doc;
        if doc.title.trim().is_empty() {
            return Err(MarkupError {
                line: 1,
                message: "the front matter (between --- lines) must give a title".into(),
            });
        }
        restore_stars(&mut doc);
        doc.check().map_err(|errors| MarkupError {
            line: 1,
            message: errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "),
        })?;
        Ok(doc)
    }

    // Text and spans.

    /// Forgets the text read so far (a new block or cell starts).
    fn clear_text(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    /// Takes the text read so far, trimmed, with its styled spans (Chinese
    /// bold read, see [`cjk_strong`]).
    fn take_styled(&mut self) -> (String, Vec<Span>) {
        let mut text = take(&mut self.text).trim().to_string();
        let spans = cjk_strong(trim_spans(take(&mut self.spans)), &mut text);
        (text, spans)
    }

    /// Appends text in the open style.
    fn push_text(&mut self, text: &str) {
        self.text.push_str(text);
        push_span(&mut self.spans, text, self.strong > 0, self.emphasis > 0);
    }

    /// Reads a text event from `src[range]`: the front matter's and a fenced
    /// block's body verbatim, a table cell's as it is, any other with its
    /// escaped asterisks set aside ([`literal_stars`]).
    fn text(&mut self, text: &str, range: Range<usize>) {
        if self.metadata || self.code.is_some() {
            self.text.push_str(text);
        } else if self.table.is_none() {
            let text = literal_stars(self.src, range, text);
            self.push_text(&text);
        } else {
            self.push_text(text);
        }
    }

    /// A soft line break: nothing between Chinese lines, a space between
    /// English words (`end` is where the break ends in the markup).
    fn soft_break(&mut self, end: usize) {
        let next = self.src[end..].trim_start().chars().next();
        if self.text.chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == ',' || c == '.')
            && next.is_some_and(|c| c.is_ascii_alphanumeric())
        {
            self.push_text(" ");
        }
    }

    /// Opens bold, noting a table row whose first cell begins bold.
    fn start_strong(&mut self) {
        if let Some(open) = self.table.as_mut()
            && open.cell_index == 0
            && self.text.is_empty()
        {
            open.strong_first = true;
        }
        self.strong += 1;
    }

    // Front matter and fenced blocks.

    /// Reads the `---` block that has just ended at `start`: the front
    /// matter at the very top of the markup, text anywhere else.
    fn end_front_matter(&mut self, start: usize) -> Result<(), MarkupError> {
        self.metadata = false;
        let block = take(&mut self.text);
        if self.src[..start].trim_start_matches('\u{feff}').trim() != "" {
            self.doc.blocks.extend(front_matter::as_paragraph(&block));
            return Ok(());
        }
        front_matter::read(&mut self.doc, &block, line_of(self.src, start))
    }

    /// Opens a fenced block at `start`; indented code is refused.
    fn start_fenced_block(&mut self, kind: CodeBlockKind<'_>, start: usize) -> Result<(), MarkupError> {
        let info = match kind {
            CodeBlockKind::Fenced(info) => info.to_string(),
            CodeBlockKind::Indented => {
                return Err(error_at(self.src, start, "indented code is not part of a report; use a fenced block"));
            }
        };
        self.code = Some((info, start));
        self.text.clear();
        Ok(())
    }

    /// Reads the fenced block that has just ended: tiles or a chart.
    fn end_fenced_block(&mut self) -> Result<(), MarkupError> {
        let (info, start) = self.code.take().unwrap_or_default();
        let body = take(&mut self.text);
        let (kind, rest) = info.trim().split_once(char::is_whitespace).unwrap_or((info.trim(), ""));
        let block = match kind {
            "tiles" => Block::KeyFigures { tiles: self.tiles(&body, start)? },
            "chart" => self.figure(&body, rest, start)?,
            other => {
                return Err(error_at(
                    self.src,
                    start,
                    format!("unknown fenced block {other:?}; expected tiles or chart"),
                ));
            }
        };
        self.doc.blocks.push(block);
        Ok(())
    }

    /// The tiles of a ```` ```tiles ```` block opened at `start`, one
    /// `label | value | note` a line.
    fn tiles(&self, body: &str, start: usize) -> Result<Vec<Tile>, MarkupError> {
        let mut tiles = Vec::new();
        for (i, line) in body.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            // Fields split at `|` but not at an escaped `\|` (a template escapes the data it prints).
            let parts: Vec<String> = split_fields(line).iter().map(|f| unescape(f.trim())).collect();
            if parts.len() < 2 || parts.len() > 3 || parts[0].is_empty() {
                return Err(MarkupError {
                    line: line_of(self.src, start) + 1 + i,
                    message: format!("a tile is `label | value` or `label | value | note`, not {line:?}"),
                });
            }
            tiles.push(Tile {
                label: parts[0].clone(),
                value: parts[1].clone(),
                note: parts.get(2).filter(|n| !n.is_empty()).cloned(),
            });
        }
        Ok(tiles)
    }

    /// The figure of a ```` ```chart CAPTION ```` block opened at `start`:
    /// its JSON read and checked.
    fn figure(&self, body: &str, caption: &str, start: usize) -> Result<Block, MarkupError> {
        let chart: Chart = serde_json::from_str(body).map_err(|e| MarkupError {
            // Internally tagged enums buffer their input, so serde
            // knows no line for field errors: point at the fence then.
            line: line_of(self.src, start) + e.line(),
            message: format!("chart: {e}"),
        })?;
        chart.check().map_err(|e| error_at(self.src, start, format!("chart: {e}")))?;
        Ok(Block::Figure { caption: caption.trim().to_string(), chart })
    }

    // Headings, paragraphs and notes.

    /// A heading of level 1, 2 or 3 (deeper ones are 3), as plain text.
    fn end_heading(&mut self, level: HeadingLevel) {
        let level = match level {
            HeadingLevel::H1 => 1,
            HeadingLevel::H2 => 2,
            _ => 3,
        };
        // Headings are plain text: drop the asterisks of a bold CommonMark missed.
        let (heading, _) = self.take_styled();
        self.doc.blocks.push(Block::Heading { level, text: heading });
    }

    /// A paragraph that has just ended: part of a note, the text of a list
    /// item, or a block of its own.
    fn end_paragraph(&mut self) {
        let (para, styled) = self.take_styled();
        if let Some(q) = self.quote.as_mut() {
            q.push(para);
        } else if !self.lists.is_empty() {
            self.text = para;
            self.spans = styled;
        } else {
            self.paragraph_block(para, styled);
        }
    }

    /// A paragraph outside lists and notes: an attachment's start, a table's
    /// caption, or a plain or styled paragraph.
    fn paragraph_block(&mut self, para: String, styled: Vec<Span>) {
        if let Some(title) = para.strip_prefix("Attachment:") {
            self.doc.blocks.push(Block::Attachment { title: title.trim().to_string() });
        } else if let Some(caption) = caption_of(&para) {
            self.caption(caption);
        } else if styled.iter().all(|s| !s.strong && !s.emphasis) {
            self.doc.blocks.push(Block::Paragraph { text: para });
        } else {
            self.doc.blocks.push(Block::RichParagraph { text: para, spans: styled });
        }
    }

    /// A caption: the table right before it if that has none, else the next table's.
    fn caption(&mut self, caption: String) {
        match self.doc.blocks.last_mut() {
            Some(Block::Table(t)) if t.caption.is_none() => t.caption = Some(caption),
            _ => self.pending_caption = Some(caption),
        }
    }

    /// A block quote that has just ended: a note of its paragraphs, a line each.
    fn end_quote(&mut self) {
        if let Some(q) = self.quote.take() {
            self.doc.blocks.push(Block::Note { text: q.join("\n") });
        }
    }

    // Lists.

    /// Opens a list, numbered from `first` or bulleted.
    fn start_list(&mut self, first: Option<u64>) {
        if self.quote.is_none() && !self.lists.is_empty() {
            self.write_out_outer_list();
        }
        self.clear_text();
        self.lists.push(OpenList {
            list: List { ordered: first.is_some(), start: first.filter(|n| *n != 1), items: Vec::new() },
            first: first.unwrap_or(1),
            count: 0,
        });
    }

    /// A list inside an item: what the outer list has so far goes first (its
    /// current item included), the rest after the inner list, numbered on.
    fn write_out_outer_list(&mut self) {
        let (item, styled) = self.take_styled();
        let Some(outer) = self.lists.last_mut() else { return };
        if !item.is_empty() {
            outer.list.items.push(list_item(item, styled));
            outer.count += 1;
        }
        if !outer.list.items.is_empty() {
            self.doc.blocks.push(Block::List(outer.list.clone()));
            outer.list.items.clear();
            if outer.list.ordered {
                outer.list.start = Some(outer.first + outer.count as u64);
            }
        }
    }

    /// A list that has just ended: a block unless empty or inside a note.
    fn end_list(&mut self) {
        if let Some(open) = self.lists.pop()
            && self.quote.is_none()
            && !open.list.items.is_empty()
        {
            self.doc.blocks.push(Block::List(open.list));
        }
    }

    /// An item that has just ended: an item of its list, or in a note a
    /// line with its marker.
    fn end_item(&mut self) {
        let (item, styled) = self.take_styled();
        if !item.is_empty()
            && let Some(open) = self.lists.last_mut()
        {
            match self.quote.as_mut() {
                Some(q) => q.push(format!("{} {item}", open.next_marker())),
                None => open.list.items.push(list_item(item, styled)),
            }
            open.count += 1;
        }
    }

    // Tables.

    /// Opens a table: its right-aligned columns are the numeric ones, and a
    /// caption read before it is its caption.
    fn start_table(&mut self, aligns: &[Alignment]) {
        let columns = aligns
            .iter()
            .map(|a| Column {
                title: String::new(),
                align: if *a == Alignment::Right { Align::Numeric } else { Align::Text },
            })
            .collect();
        let table = Table { caption: self.pending_caption.take(), columns, rows: Vec::new(), totals: None, note: None };
        self.table = Some(OpenTable { table, row: Vec::new(), cell_index: 0, in_head: false, strong_first: false });
    }

    /// Opens the header row, whose cells are the column titles.
    fn start_table_head(&mut self) {
        if let Some(open) = self.table.as_mut() {
            open.in_head = true;
            open.cell_index = 0;
        }
    }

    /// Opens a body row.
    fn start_table_row(&mut self) {
        if let Some(open) = self.table.as_mut() {
            open.cell_index = 0;
            open.strong_first = false;
            open.row.clear();
        }
    }

    /// A cell that has just ended: a column title or a cell of the row.
    fn end_table_cell(&mut self) {
        let content = take(&mut self.text).trim().to_string();
        if let Some(open) = self.table.as_mut() {
            if open.in_head {
                if let Some(col) = open.table.columns.get_mut(open.cell_index) {
                    col.title = content;
                }
            } else {
                open.row.push(cell_of(&content));
            }
            open.cell_index += 1;
        }
    }

    /// A row that has just ended at `at`: the totals row (bold first cell;
    /// one, and last) or a body row.
    fn end_table_row(&mut self, at: usize) -> Result<(), MarkupError> {
        let src = self.src;
        let Some(open) = self.table.as_mut() else { return Ok(()) };
        let row = take(&mut open.row);
        let table = &mut open.table;
        if open.strong_first {
            if table.totals.is_some() {
                return Err(error_at(src, at, "a table has one totals row (bold first cell), not two"));
            }
            table.totals = Some(row);
        } else if table.totals.is_some() {
            return Err(error_at(src, at, "the totals row (bold first cell) must be the table's last row"));
        } else {
            table.rows.push(row);
        }
        Ok(())
    }

    /// A table that has just ended: a block.
    fn end_table(&mut self) {
        if let Some(open) = self.table.take() {
            self.doc.blocks.push(Block::Table(open.table));
        }
    }
}
