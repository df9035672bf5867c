//! The report markup: the small Markdown dialect a template renders to, and
//! its parser into a [`Document`]. Plain CommonMark where it fits, fenced
//! blocks for what Markdown lacks:
//!
//! ````markdown
//! ---
//! title: 2024年度学校社会工作服务年报
//! subtitle: 向阳社工服务中心
//! organisation: 向阳社工服务中心
//! period: 2024年1月—12月
//! generated: 2025-01-15
//! lang: zh-CN
//! ---
//!
//! # 一、年度概况
//!
//! 全年累计服务学生3208人次。
//!
//! ```tiles
//! 服务学生人次 | 3208 | 较上年 +12%
//! 个案辅导场次 | 134
//! ```
//!
//! Table: 表1 各校服务场次
//!
//! | 学校 | 个案辅导 | 合计 |
//! |---|---:|---:|
//! | 青柳湖中学 | 96 | 129 |
//! | 石浦小学 | <5 | — |
//! | **合计** | 134 | 199 |
//!
//! ```chart 图1 各类服务覆盖学生人次
//! {"kind": "bar", "categories": ["成长课堂", "小组活动"], "values": [2913, 351]}
//! ```
//!
//! > 注：小于5的计数显示为“<5”。
//!
//! ***
//! ````
//!
//! - The front matter between `---` lines gives the title (required) and the
//!   [`Meta`] fields, one `key: value` a line.
//! - `#`, `##`, `###` are headings of level 1, 2, 3 (deeper ones are 3).
//! - A paragraph is running text; soft line breaks join Chinese lines
//!   without a space. `**bold**` and `*emphasis*` are kept
//!   ([`Block::RichParagraph`]), including the Chinese lead-in
//!   `**一是加强队伍建设。**其后文字` that CommonMark itself leaves as
//!   asterisks (a closing `**` after punctuation and before a character).
//! - `1.` / `-` lists are [`Block::List`]s: numbered from their first number
//!   (`3.` starts at 3) or bulleted, items keeping their bold and emphasis;
//!   a list inside an item follows the item as a list of its own.
//! - Front matter `style: official` lays the document out as a government
//!   document (GB/T 9704-2012, [`DocStyle::Official`]); `doc_number:`
//!   (`青教〔2025〕12号`) and `recipient:` (`区人民政府：`) give its
//!   document number and main recipient, `organisation:` the issuing
//!   authority and `generated:` the date at its end.
//! - ```` ```tiles ```` holds one key figure a line: `label | value | note`.
//! - A table's numeric columns are the right-aligned ones (`---:`); a row
//!   whose first cell is bold is the totals row; a paragraph `Table: …`
//!   (or `表：…`) right before or after it is its caption; cells reading
//!   `<5` are suppressed counts and `—` withheld figures.
//! - ```` ```chart CAPTION ```` holds one chart as JSON ([`Chart`]).
//! - A block quote is a note; a thematic break (`***`) is a page break.
//! - A paragraph `Attachment: 各学年极端事件发生率` starts an attachment
//!   ([`Block::Attachment`]): what follows is attachment 1 (附件1), to the
//!   next one or the end.
//! - Raw HTML and images are refused: the markup carries data, not layout.
//!
//! Errors name the line of the markup they are about.

use pulldown_cmark::{Alignment, CodeBlockKind, Event, HeadingLevel, MetadataBlockKind, Options, Parser, Tag, TagEnd};

use crate::chart::Chart;
use crate::document::{Align, Block, Cell, Column, DocStyle, Document, Lang, List, ListItem, Span, Table, Tile};

/// A mistake in report markup, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkupError {
    /// The line of the markup (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for MarkupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for MarkupError {}

/// Parses report markup into a document, then checks it ([`Document::check`]).
pub fn parse(src: &str) -> Result<Document, MarkupError> {
    let line_of = |offset: usize| src[..offset.min(src.len())].matches('\n').count() + 1;
    let fail = |offset: usize, message: String| MarkupError { line: line_of(offset), message };
    let opts = Options::ENABLE_TABLES | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut doc = Document::new("");
    let mut title_seen = false;
    let mut text = String::new();
    let mut strong_first = false;
    // Table state.
    // The table being read and its current row.
    let mut table: Option<(Table, Vec<Cell>)> = None;
    let mut cell_index = 0usize;
    let mut in_head = false;
    let mut pending_caption: Option<String> = None;
    // Nesting.
    let mut quote: Option<Vec<String>> = None;
    // The lists being read, outermost first.
    let mut lists: Vec<OpenList> = Vec::new();
    // The current text again, in styled pieces, and the open emphasis.
    let mut spans: Vec<Span> = Vec::new();
    let (mut strong, mut emphasis) = (0usize, 0usize);
    let mut code: Option<(String, usize)> = None;
    let mut metadata = false;

    for (event, range) in Parser::new_ext(src, opts).into_offset_iter() {
        match event {
            Event::Start(Tag::MetadataBlock(MetadataBlockKind::YamlStyle)) => metadata = true,
            // Front matter is the block at the very top of the markup and nowhere else:
            // a `---` block further down (in a text an organisation wrote) stays text.
            Event::End(TagEnd::MetadataBlock(_)) if src[..range.start].trim_start_matches('\u{feff}').trim() != "" => {
                metadata = false;
                let literal: Vec<String> = std::mem::take(&mut text)
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect();
                if !literal.is_empty() {
                    doc.blocks.push(Block::Paragraph { text: literal.join(" ") });
                }
            }
            Event::End(TagEnd::MetadataBlock(_)) => {
                metadata = false;
                for (i, line) in std::mem::take(&mut text).lines().enumerate() {
                    let line_no = line_of(range.start) + 1 + i;
                    let err = |m: String| MarkupError { line: line_no, message: m };
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let Some((key, value)) = line.split_once(':') else {
                        return Err(err(format!("front matter line {line:?} is not `key: value`")));
                    };
                    let value = unescape(value.trim().trim_matches('"'));
                    match key.trim() {
                        "title" => {
                            doc.title = value;
                            title_seen = true;
                        }
                        "subtitle" => doc.subtitle = Some(value),
                        "organisation" => doc.meta.organisation = Some(value),
                        "period" => doc.meta.period = Some(value),
                        "generated" => doc.meta.generated = Some(value),
                        "audience" => doc.meta.audience = Some(value),
                        "doc_number" => doc.meta.doc_number = Some(value),
                        "recipient" => doc.meta.recipient = Some(value),
                        "signer" => doc.meta.signer = Some(value),
                        "copies_to" => doc.meta.copies_to = Some(value),
                        "printed_by" => doc.meta.printed_by = Some(value),
                        "style" => {
                            doc.meta.style = match value.as_str() {
                                "official" => DocStyle::Official,
                                "standard" | "report" => DocStyle::Standard,
                                other => {
                                    return Err(err(format!("unknown style {other:?}; expected official or standard")));
                                }
                            }
                        }
                        "compact" => {
                            doc.meta.compact = Some(match value.as_str() {
                                "true" | "yes" => true,
                                "false" | "no" => false,
                                _ => return Err(err(format!("compact is true or false, not {value:?}"))),
                            })
                        }
                        "lang" => {
                            doc.lang = match value.as_str() {
                                "zh-CN" => Lang::ZhCn,
                                "en" => Lang::En,
                                other => return Err(err(format!("unknown lang {other:?}; expected zh-CN or en"))),
                            }
                        }
                        other => {
                            return Err(err(format!(
                                "unknown front matter key {other:?}; expected title, subtitle, organisation, period, generated, audience, compact, lang, style, doc_number, signer, recipient, copies_to or printed_by"
                            )));
                        }
                    }
                }
            }
            Event::Text(t) if metadata => text.push_str(&t),
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => {
                        return Err(fail(
                            range.start,
                            "indented code is not part of a report; use a fenced block".into(),
                        ));
                    }
                };
                code = Some((info, range.start));
                text.clear();
            }
            Event::Text(t) if code.is_some() => text.push_str(&t),
            Event::End(TagEnd::CodeBlock) => {
                let (info, start) = code.take().unwrap_or_default();
                let body = std::mem::take(&mut text);
                let (kind, rest) = info.trim().split_once(char::is_whitespace).unwrap_or((info.trim(), ""));
                match kind {
                    "tiles" => {
                        let mut tiles = Vec::new();
                        for (i, line) in body.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                            // Fields split at `|` but not at an escaped `\|` (a template escapes the data it prints).
                            let parts: Vec<String> = split_fields(line).iter().map(|f| unescape(f.trim())).collect();
                            if parts.len() < 2 || parts.len() > 3 || parts[0].is_empty() {
                                return Err(MarkupError {
                                    line: line_of(start) + 1 + i,
                                    message: format!(
                                        "a tile is `label | value` or `label | value | note`, not {line:?}"
                                    ),
                                });
                            }
                            tiles.push(Tile {
                                label: parts[0].clone(),
                                value: parts[1].clone(),
                                note: parts.get(2).filter(|n| !n.is_empty()).cloned(),
                            });
                        }
                        doc.blocks.push(Block::KeyFigures { tiles });
                    }
                    "chart" => {
                        let chart: Chart = serde_json::from_str(&body).map_err(|e| MarkupError {
                            // Internally tagged enums buffer their input, so serde
                            // knows no line for field errors: point at the fence then.
                            line: line_of(start) + e.line(),
                            message: format!("chart: {e}"),
                        })?;
                        chart.check().map_err(|e| fail(start, format!("chart: {e}")))?;
                        doc.blocks.push(Block::Figure { caption: rest.trim().to_string(), chart });
                    }
                    other => {
                        return Err(fail(start, format!("unknown fenced block {other:?}; expected tiles or chart")));
                    }
                }
            }
            Event::Start(Tag::Heading { .. })
            | Event::Start(Tag::Paragraph)
            | Event::Start(Tag::Item)
            | Event::Start(Tag::TableCell) => {
                text.clear();
                spans.clear();
            }
            Event::End(TagEnd::Heading(level)) => {
                let level = match level {
                    HeadingLevel::H1 => 1,
                    HeadingLevel::H2 => 2,
                    _ => 3,
                };
                // Headings are plain text: drop the asterisks of a bold CommonMark missed.
                let mut heading = std::mem::take(&mut text).trim().to_string();
                cjk_strong(trim_spans(std::mem::take(&mut spans)), &mut heading);
                doc.blocks.push(Block::Heading { level, text: heading });
            }
            Event::End(TagEnd::Paragraph) => {
                let mut para = std::mem::take(&mut text).trim().to_string();
                let styled = cjk_strong(trim_spans(std::mem::take(&mut spans)), &mut para);
                if let Some(q) = quote.as_mut() {
                    q.push(para);
                } else if !lists.is_empty() {
                    text = para;
                    spans = styled;
                } else if let Some(title) = para.strip_prefix("Attachment:") {
                    doc.blocks.push(Block::Attachment { title: title.trim().to_string() });
                } else if let Some(caption) = caption_of(&para) {
                    match doc.blocks.last_mut() {
                        Some(Block::Table(t)) if t.caption.is_none() => t.caption = Some(caption),
                        _ => pending_caption = Some(caption),
                    }
                } else if styled.iter().all(|s| !s.strong && !s.emphasis) {
                    doc.blocks.push(Block::Paragraph { text: para });
                } else {
                    doc.blocks.push(Block::RichParagraph { text: para, spans: styled });
                }
            }
            Event::Start(Tag::List(first)) => {
                // A list inside an item: what the outer list has so far goes
                // first (its current item included), the rest after the inner list.
                if quote.is_none()
                    && let Some(outer) = lists.last_mut()
                {
                    let mut item = std::mem::take(&mut text).trim().to_string();
                    let styled = cjk_strong(trim_spans(std::mem::take(&mut spans)), &mut item);
                    if !item.is_empty() {
                        outer.list.items.push(list_item(item, styled));
                        outer.count += 1;
                    }
                    if !outer.list.items.is_empty() {
                        doc.blocks.push(Block::List(outer.list.clone()));
                        outer.list.items.clear();
                        if outer.list.ordered {
                            outer.list.start = Some(outer.first + outer.count as u64);
                        }
                    }
                }
                text.clear();
                spans.clear();
                lists.push(OpenList {
                    list: List { ordered: first.is_some(), start: first.filter(|n| *n != 1), items: Vec::new() },
                    first: first.unwrap_or(1),
                    count: 0,
                });
            }
            Event::End(TagEnd::List(_)) => {
                if let Some(open) = lists.pop()
                    && quote.is_none()
                    && !open.list.items.is_empty()
                {
                    doc.blocks.push(Block::List(open.list));
                }
            }
            Event::End(TagEnd::Item) => {
                let mut item = std::mem::take(&mut text).trim().to_string();
                let styled = cjk_strong(trim_spans(std::mem::take(&mut spans)), &mut item);
                if !item.is_empty()
                    && let Some(open) = lists.last_mut()
                {
                    match quote.as_mut() {
                        Some(q) => {
                            let marker = if open.list.ordered {
                                format!("{}.", open.first + open.count as u64)
                            } else {
                                "·".to_string()
                            };
                            q.push(format!("{marker} {item}"));
                        }
                        None => open.list.items.push(list_item(item, styled)),
                    }
                    open.count += 1;
                }
            }
            Event::Start(Tag::BlockQuote(_)) => quote = Some(Vec::new()),
            Event::End(TagEnd::BlockQuote(_)) => {
                if let Some(q) = quote.take() {
                    doc.blocks.push(Block::Note { text: q.join("\n") });
                }
            }
            Event::Rule => doc.blocks.push(Block::PageBreak),
            Event::Start(Tag::Table(aligns)) => {
                let columns = aligns
                    .iter()
                    .map(|a| Column {
                        title: String::new(),
                        align: if *a == Alignment::Right { Align::Numeric } else { Align::Text },
                    })
                    .collect();
                let t = Table { caption: pending_caption.take(), columns, rows: Vec::new(), totals: None, note: None };
                table = Some((t, Vec::new()));
            }
            Event::Start(Tag::TableHead) => {
                in_head = true;
                cell_index = 0;
            }
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) => {
                cell_index = 0;
                strong_first = false;
                if let Some((_, row)) = table.as_mut() {
                    row.clear();
                }
            }
            Event::Start(Tag::Strong) => {
                if table.is_some() && cell_index == 0 && text.is_empty() {
                    strong_first = true;
                }
                strong += 1;
            }
            Event::End(TagEnd::Strong) => strong = strong.saturating_sub(1),
            Event::Start(Tag::Emphasis) => emphasis += 1,
            Event::End(TagEnd::Emphasis) => emphasis = emphasis.saturating_sub(1),
            Event::End(TagEnd::TableCell) => {
                let content = std::mem::take(&mut text).trim().to_string();
                if let Some((t, row)) = table.as_mut() {
                    if in_head {
                        if let Some(col) = t.columns.get_mut(cell_index) {
                            col.title = content;
                        }
                    } else {
                        row.push(cell_of(&content));
                    }
                }
                cell_index += 1;
            }
            Event::End(TagEnd::TableRow) => {
                if let Some((t, row)) = table.as_mut() {
                    let row = std::mem::take(row);
                    if strong_first {
                        if t.totals.is_some() {
                            return Err(fail(
                                range.start,
                                "a table has one totals row (bold first cell), not two".into(),
                            ));
                        }
                        t.totals = Some(row);
                    } else if t.totals.is_some() {
                        return Err(fail(
                            range.start,
                            "the totals row (bold first cell) must be the table's last row".into(),
                        ));
                    } else {
                        t.rows.push(row);
                    }
                }
            }
            Event::End(TagEnd::Table) => {
                if let Some((t, _)) = table.take() {
                    doc.blocks.push(Block::Table(t));
                }
            }
            Event::Text(t) if table.is_none() => {
                let t = literal_stars(src, range.clone(), &t);
                text.push_str(&t);
                push_span(&mut spans, &t, strong > 0, emphasis > 0);
            }
            Event::Text(t) | Event::Code(t) => {
                text.push_str(&t);
                push_span(&mut spans, &t, strong > 0, emphasis > 0);
            }
            Event::SoftBreak => {
                let next = src[range.end..].trim_start().chars().next();
                if text.chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == ',' || c == '.')
                    && next.is_some_and(|c| c.is_ascii_alphanumeric())
                {
                    text.push(' ');
                    push_span(&mut spans, " ", strong > 0, emphasis > 0);
                }
            }
            Event::HardBreak => {
                text.push('\n');
                push_span(&mut spans, "\n", strong > 0, emphasis > 0);
            }
            Event::Html(_) | Event::InlineHtml(_) => {
                return Err(fail(range.start, "raw HTML is not allowed in report markup".into()));
            }
            Event::Start(Tag::Image { .. }) => {
                return Err(fail(range.start, "images are not supported; use a ```chart block".into()));
            }
            _ => {}
        }
    }
    if !title_seen || doc.title.trim().is_empty() {
        return Err(MarkupError { line: 1, message: "the front matter (between --- lines) must give a title".into() });
    }
    restore_stars(&mut doc);
    doc.check().map_err(|errors| MarkupError {
        line: 1,
        message: errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "),
    })?;
    Ok(doc)
}

/// A list being read: the part not yet written out, its first number and
/// how many items it has had so far.
struct OpenList {
    list: List,
    first: u64,
    count: usize,
}

/// Appends text to the spans, joining it to the last span when the style is the same.
fn push_span(spans: &mut Vec<Span>, text: &str, strong: bool, emphasis: bool) {
    match spans.last_mut() {
        Some(last) if last.strong == strong && last.emphasis == emphasis => last.text.push_str(text),
        _ => spans.push(Span { text: text.to_string(), strong, emphasis }),
    }
}

/// Trims the spans as the text is trimmed (start of the first, end of the
/// last) and drops empty ones.
fn trim_spans(mut spans: Vec<Span>) -> Vec<Span> {
    while spans.first().is_some_and(|s| s.text.trim_start().is_empty()) {
        spans.remove(0);
    }
    while spans.last().is_some_and(|s| s.text.trim_end().is_empty()) {
        spans.pop();
    }
    if let Some(first) = spans.first_mut() {
        first.text = first.text.trim_start().to_string();
    }
    if let Some(last) = spans.last_mut() {
        last.text = last.text.trim_end().to_string();
    }
    spans
}

/// Stands for a `*` written escaped (`\*`, as every `*` in a value or a
/// narrative is) while the text goes through [`cjk_strong`], which must read
/// only the asterisks a template wrote as markup; [`restore_stars`] puts the
/// asterisks back. A private-use character never in a report's text, and
/// not one of those the report sink marks its figures with (U+E000–E002).
const LITERAL_STAR: char = '\u{E02A}';

/// `text`, a text event read from `src[range]`, with each asterisk that the
/// source escapes replaced by [`LITERAL_STAR`]. The parser starts a new text
/// event at each escaped character (the range then begins after the
/// backslash; an odd number of backslashes before it means it is escaped),
/// and an escape inside the range is found character by character. The text
/// is left as it is when the source cannot be matched to it exactly.
fn literal_stars<'a>(src: &str, range: std::ops::Range<usize>, text: &'a str) -> std::borrow::Cow<'a, str> {
    let backslashes = src[..range.start].bytes().rev().take_while(|b| *b == b'\\').count();
    let escaped_first = backslashes % 2 == 1 && text.starts_with('*');
    let source = &src[range];
    if !escaped_first && !source.contains("\\*") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = source.chars().peekable();
    if escaped_first && chars.next() == Some('*') {
        out.push(LITERAL_STAR);
    }
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&next)) if next.is_ascii_punctuation() => {
                chars.next();
                out.push(if next == '*' { LITERAL_STAR } else { next });
            }
            _ => out.push(c),
        }
    }
    if out.replace(LITERAL_STAR, "*") == text { std::borrow::Cow::Owned(out) } else { std::borrow::Cow::Borrowed(text) }
}

/// Put back the asterisks [`literal_stars`] set aside, in every text the
/// parser builds from paragraphs (table cells and code blocks never get them).
fn restore_stars(doc: &mut Document) {
    fn put_back(text: &mut String) {
        if text.contains(LITERAL_STAR) {
            *text = text.replace(LITERAL_STAR, "*");
        }
    }
    fn spans(spans: &mut [Span]) {
        spans.iter_mut().for_each(|s| put_back(&mut s.text));
    }
    for block in &mut doc.blocks {
        match block {
            Block::Heading { text, .. } | Block::Paragraph { text } | Block::Note { text } => put_back(text),
            Block::Attachment { title } => put_back(title),
            Block::RichParagraph { text, spans: styled } => {
                put_back(text);
                spans(styled);
            }
            Block::List(list) => {
                for item in &mut list.items {
                    put_back(&mut item.text);
                    spans(&mut item.spans);
                }
            }
            Block::Table(table) => {
                table.caption.iter_mut().for_each(put_back);
                table.note.iter_mut().for_each(put_back);
            }
            Block::Figure { caption, .. } => put_back(caption),
            Block::KeyFigures { .. } | Block::PageBreak => {}
        }
    }
}

/// Bold that CommonMark misses in Chinese. A closing `**` after
/// punctuation counts only when followed by a space or punctuation, so the
/// usual lead-in `**一是加强队伍建设。**其后文字` comes out of the parser
/// as literal asterisks. Pairs of `**` left in unstyled text are read as
/// bold here, and `text` is made the spans' text again.
fn cjk_strong(spans: Vec<Span>, text: &mut String) -> Vec<Span> {
    if !spans.iter().any(|s| !s.strong && s.text.matches("**").count() >= 2) {
        return spans;
    }
    let mut out: Vec<Span> = Vec::new();
    for span in spans {
        if span.strong || span.text.matches("**").count() < 2 {
            out.push(span);
            continue;
        }
        let parts: Vec<&str> = span.text.split("**").collect();
        // With an odd number of markers the last one stays as written.
        let used = (parts.len() - 1) / 2 * 2;
        for (i, part) in parts[..used].iter().enumerate() {
            out.push(Span { text: part.to_string(), strong: i % 2 == 1, emphasis: span.emphasis });
        }
        out.push(Span { text: parts[used..].join("**"), strong: false, emphasis: span.emphasis });
    }
    out.retain(|s| !s.text.is_empty());
    // Join neighbours of the same style.
    let mut joined: Vec<Span> = Vec::new();
    for span in out {
        match joined.last_mut() {
            Some(last) if last.strong == span.strong && last.emphasis == span.emphasis => {
                last.text.push_str(&span.text)
            }
            _ => joined.push(span),
        }
    }
    *text = crate::document::spans_text(&joined);
    joined
}

/// A list item: plain unless some span is styled.
fn list_item(text: String, spans: Vec<Span>) -> ListItem {
    if spans.iter().all(|s| !s.strong && !s.emphasis) { ListItem::plain(text) } else { ListItem { text, spans } }
}

/// A tile line's fields: split at each `|` that no backslash escapes.
fn split_fields(line: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in line.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => {
                fields.push(&line[start..i]);
                start = i + 1;
            }
            _ => escaped = false,
        }
    }
    fields.push(&line[start..]);
    fields
}

/// A front-matter value with its backslash escapes read back (`\*` → `*`),
/// as in the rest of the markup: a template escapes the data it prints.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(next)) if next.is_ascii_punctuation() => {
                out.push(*next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

fn caption_of(para: &str) -> Option<String> {
    ["Table:", "表：", "表:"].iter().find_map(|p| para.strip_prefix(p)).map(|c| c.trim().to_string())
}

/// Reads a table cell: empty, `<k` (suppressed), `—` (withheld), a number
/// (with optional `−`/`-` sign, thousands commas and a trailing `%` or `‰`,
/// kept as written), or text.
pub fn cell_of(s: &str) -> Cell {
    let s = s.trim();
    if s.is_empty() {
        return Cell::Empty;
    }
    if s == "—" {
        return Cell::Withheld(s.to_string());
    }
    if let Some(k) = s.strip_prefix('<')
        && !k.is_empty()
        && k.bytes().all(|b| b.is_ascii_digit())
    {
        return Cell::Suppressed(s.to_string());
    }
    let plain: String = s.trim_end_matches(['%', '‰']).replace(',', "").replace('−', "-");
    match plain.parse::<f64>() {
        Ok(v) if v.is_finite() && !plain.starts_with('+') => Cell::Number { value: v, display: s.to_string() },
        _ => Cell::Text(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dashed_block_below_the_top_is_text_not_front_matter() {
        // An organisation's text with a `---` block of its own, printed into an internal report.
        let doc = parse("---\ntitle: 年报\naudience: 内部资料\n---\n\n我们的工作。\n\n---\ntitle: HACKED\naudience: 公开\n---\n\n其后文字。\n")
            .unwrap();
        assert_eq!(doc.title, "年报");
        assert_eq!(doc.meta.audience.as_deref(), Some("内部资料"));
        let texts: Vec<String> = doc
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Paragraph { text } => Some(text.clone()),
                _ => None,
            })
            .collect();
        assert!(texts.iter().any(|t| t.contains("title: HACKED")), "{:?}", doc.blocks);
    }
    use crate::chart::Chart;

    const SAMPLE: &str = "---
title: 2024年度学校社会工作服务年报
subtitle: 向阳社工服务中心
organisation: 向阳社工服务中心
period: 2024年1月—12月
generated: 2025-01-15
---

# 一、年度概况

全年累计服务学生3208人次，
较上年增长12%。

```tiles
服务学生人次 | 3208 | 较上年 +12%
个案辅导场次 | 134
```

Table: 表1 各校服务场次

| 学校 | 个案辅导 | 合计 |
|---|---:|---:|
| 青柳湖中学 | 1,096 | 129 |
| 石浦小学 | <5 | — |
| **合计** | 134 | 199 |

```chart 图1 各类服务覆盖学生人次
{\"kind\": \"bar\", \"categories\": [\"成长课堂\", \"小组活动\"], \"values\": [2913, 351]}
```

> 注：小于5的计数显示为“<5”。

***

## （一）说明

- 第一项
- 第二项
";

    #[test]
    fn the_sample_parses_into_every_kind_of_block() {
        let doc = parse(SAMPLE).unwrap();
        assert_eq!(doc.title, "2024年度学校社会工作服务年报");
        assert_eq!(doc.subtitle.as_deref(), Some("向阳社工服务中心"));
        assert_eq!(doc.meta.generated.as_deref(), Some("2025-01-15"));
        assert_eq!(doc.lang, Lang::ZhCn);
        let kinds: Vec<&str> = doc.blocks.iter().map(Block::kind).collect();
        assert_eq!(
            kinds,
            ["heading", "paragraph", "key_figures", "table", "figure", "note", "page_break", "heading", "list"]
        );
        assert_eq!(doc.blocks[1], Block::Paragraph { text: "全年累计服务学生3208人次，较上年增长12%。".into() });
        let Block::KeyFigures { tiles } = &doc.blocks[2] else { panic!() };
        assert_eq!(tiles[0].note.as_deref(), Some("较上年 +12%"));
        assert_eq!(tiles[1].note, None);
        let Block::Table(t) = &doc.blocks[3] else { panic!() };
        assert_eq!(t.caption.as_deref(), Some("表1 各校服务场次"));
        assert_eq!(t.columns, vec![Column::text("学校"), Column::numeric("个案辅导"), Column::numeric("合计")]);
        assert_eq!(
            t.rows[0],
            vec![
                Cell::Text("青柳湖中学".into()),
                Cell::Number { value: 1096.0, display: "1,096".into() },
                Cell::number(129.0)
            ]
        );
        assert_eq!(t.rows[1][1], Cell::Suppressed("<5".into()));
        assert_eq!(t.rows[1][2], Cell::Withheld("—".into()));
        assert_eq!(t.totals.as_ref().unwrap()[0], Cell::Text("合计".into()));
        let Block::Figure { caption, chart: Chart::Bar(bar) } = &doc.blocks[4] else { panic!() };
        assert_eq!(caption, "图1 各类服务覆盖学生人次");
        assert_eq!(bar.values, [2913.0, 351.0]);
        assert_eq!(doc.blocks[5], Block::Note { text: "注：小于5的计数显示为“<5”。".into() });
        assert_eq!(doc.blocks[7], Block::Heading { level: 2, text: "（一）说明".into() });
        assert_eq!(
            doc.blocks[8],
            Block::List(List {
                ordered: false,
                start: None,
                items: vec![ListItem::plain("第一项"), ListItem::plain("第二项")]
            })
        );
    }

    /// Asterisks written escaped (every `*` of a value or a narrative) stay
    /// asterisks: the Chinese bold rule reads only those the template wrote.
    #[test]
    fn escaped_asterisks_are_never_bold() {
        let doc =
            parse("---\ntitle: t\n---\n\n# 一、\\*\\*\\*\\*\n\n**一是。**其后\\*\\*注\\*\\*。\n\n- \\*\\*甲\\*\\*\n")
                .unwrap();
        assert_eq!(doc.blocks[0], Block::Heading { level: 1, text: "一、****".into() });
        assert_eq!(
            doc.blocks[1],
            Block::RichParagraph {
                text: "一是。其后**注**。".into(),
                spans: vec![Span::strong("一是。"), Span::plain("其后**注**。")]
            }
        );
        let Block::List(list) = &doc.blocks[2] else { panic!("{:?}", doc.blocks[2]) };
        assert_eq!(list.items[0].text, "**甲**");
    }

    #[test]
    fn bold_lead_ins_and_numbered_plans_keep_their_markup() {
        let src = "---\ntitle: t\nstyle: official\ndoc_number: 青教〔2025〕12号\nrecipient: 区人民政府：\n---\n\n\
                   **一是加强队伍建设。**其后文字，*重点*在于落实。\n\n普通段落。\n\n\
                   3. 第三项**要点**\n4. 第四项\n\n> 1. 引用中的条目\n";
        let doc = parse(src).unwrap();
        assert_eq!(doc.meta.style, DocStyle::Official);
        assert_eq!(doc.meta.doc_number.as_deref(), Some("青教〔2025〕12号"));
        assert_eq!(doc.meta.recipient.as_deref(), Some("区人民政府："));
        assert_eq!(
            doc.blocks[0],
            Block::RichParagraph {
                text: "一是加强队伍建设。其后文字，重点在于落实。".into(),
                spans: vec![
                    Span::strong("一是加强队伍建设。"),
                    Span::plain("其后文字，"),
                    Span::emphasis("重点"),
                    Span::plain("在于落实。")
                ]
            }
        );
        assert_eq!(doc.blocks[1], Block::Paragraph { text: "普通段落。".into() });
        assert_eq!(
            doc.blocks[2],
            Block::List(List {
                ordered: true,
                start: Some(3),
                items: vec![
                    ListItem {
                        text: "第三项要点".into(), spans: vec![Span::plain("第三项"), Span::strong("要点")]
                    },
                    ListItem::plain("第四项")
                ]
            })
        );
        assert_eq!(doc.blocks[3], Block::Note { text: "1. 引用中的条目".into() });
        assert_eq!(doc.blocks.len(), 4);
        let back: Document = serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(back, doc);
        let doc = parse("---\ntitle: t\n---\n\n# **一、总体情况。**概述\n\n单个**星号不配对\n").unwrap();
        assert_eq!(doc.blocks[0], Block::Heading { level: 1, text: "一、总体情况。概述".into() });
        assert_eq!(doc.blocks[1], Block::Paragraph { text: "单个**星号不配对".into() });
    }

    #[test]
    fn nested_lists_keep_their_order_and_numbers() {
        let doc = parse("---\ntitle: t\n---\n\n1. 甲\n   - 子一\n   - 子二\n2. 乙\n").unwrap();
        let lists: Vec<&List> = doc
            .blocks
            .iter()
            .map(|b| match b {
                Block::List(l) => l,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(lists.len(), 3);
        assert_eq!((lists[0].ordered, lists[0].start, lists[0].items[0].text.as_str()), (true, None, "甲"));
        assert_eq!(lists[1].items.len(), 2);
        assert!(!lists[1].ordered);
        assert_eq!((lists[2].start, lists[2].items[0].text.as_str()), (Some(2), "乙"));
        assert_eq!(lists[2].marker(0), "2.");
    }

    #[test]
    fn english_soft_breaks_keep_a_space() {
        let doc = parse("---\ntitle: t\nlang: en\n---\n\nStudent contacts\nreached 3208.\n").unwrap();
        assert_eq!(doc.blocks[0], Block::Paragraph { text: "Student contacts reached 3208.".into() });
        assert_eq!(doc.lang, Lang::En);
    }

    #[test]
    fn mistakes_name_their_line() {
        let err = |src: &str| parse(src).unwrap_err().to_string();
        assert_eq!(err("# no front matter\n"), "line 1: the front matter (between --- lines) must give a title");
        assert_eq!(
            err("---\ntitle: t\ncolour: red\n---\n"),
            "line 3: unknown front matter key \"colour\"; expected title, subtitle, organisation, period, generated, audience, compact, lang, style, doc_number, signer, recipient, copies_to or printed_by"
        );
        assert_eq!(err("---\ntitle: t\n---\n\n<div>x</div>\n"), "line 5: raw HTML is not allowed in report markup");
        assert_eq!(
            err("---\ntitle: t\n---\n\n```poem\nx\n```\n"),
            "line 5: unknown fenced block \"poem\"; expected tiles or chart"
        );
        assert_eq!(
            err("---\ntitle: t\n---\n\n```tiles\na | 1\nb\n```\n"),
            "line 7: a tile is `label | value` or `label | value | note`, not \"b\""
        );
        let e = err("---\ntitle: t\n---\n\n```chart c\n{\"kind\": \"bar\",\n \"colour\": 1}\n```\n");
        assert!(e.starts_with("line 5: chart: unknown field `colour`"), "{e}");
        let e = err("---\ntitle: t\n---\n\n```chart c\n{\"kind\": \"bar\",\n \"values\": [1,]}\n```\n");
        assert!(e.starts_with("line 7: chart: "), "{e}");
        let e = err(
            "---\ntitle: t\n---\n\n```chart c\n{\"kind\": \"bar\", \"categories\": [\"a\"], \"values\": []}\n```\n",
        );
        assert_eq!(e, "line 5: chart: bar chart has 0 values for 1 categories");
    }

    #[test]
    fn captions_may_follow_the_table() {
        let doc = parse("---\ntitle: t\n---\n\n| a |\n|---|\n| x |\n\n表：表2 说明\n").unwrap();
        let Block::Table(t) = &doc.blocks[0] else { panic!() };
        assert_eq!(t.caption.as_deref(), Some("表2 说明"));
        assert_eq!(doc.blocks.len(), 1);
    }

    #[test]
    fn cells_read_their_kind() {
        assert_eq!(cell_of(""), Cell::Empty);
        assert_eq!(cell_of("<5"), Cell::Suppressed("<5".into()));
        assert_eq!(cell_of("<a"), Cell::Text("<a".into()));
        assert_eq!(cell_of("−47%"), Cell::Number { value: -47.0, display: "−47%".into() });
        assert_eq!(cell_of("2.8"), Cell::number(2.8));
        assert_eq!(cell_of("+12%"), Cell::Text("+12%".into()));
        assert_eq!(cell_of("2022学年"), Cell::Text("2022学年".into()));
    }
}
