//! The text helpers of the markup parser: styled spans (joined and trimmed
//! as the text is), the Chinese bold CommonMark misses, asterisks a template
//! escaped (kept literal through the bold rule), and the escapes and `|`
//! fields of tile lines and front-matter values.

use crate::document::{Block, Document, ListItem, Span};

/// Appends text to the spans, joining it to the last span when the style is the same.
pub(super) fn push_span(spans: &mut Vec<Span>, text: &str, strong: bool, emphasis: bool) {
    match spans.last_mut() {
        Some(last) if last.strong == strong && last.emphasis == emphasis => last.text.push_str(text),
        _ => spans.push(Span { text: text.to_string(), strong, emphasis }),
    }
}

/// Trims the spans as the text is trimmed (start of the first, end of the
/// last) and drops empty ones.
pub(super) fn trim_spans(mut spans: Vec<Span>) -> Vec<Span> {
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
pub(super) fn literal_stars<'a>(src: &str, range: std::ops::Range<usize>, text: &'a str) -> std::borrow::Cow<'a, str> {
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
pub(super) fn restore_stars(doc: &mut Document) {
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
pub(super) fn cjk_strong(spans: Vec<Span>, text: &mut String) -> Vec<Span> {
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
pub(super) fn list_item(text: String, spans: Vec<Span>) -> ListItem {
    if spans.iter().all(|s| !s.strong && !s.emphasis) { ListItem::plain(text) } else { ListItem { text, spans } }
}

/// A tile line's fields: split at each `|` that no backslash escapes.
pub(super) fn split_fields(line: &str) -> Vec<&str> {
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
pub(super) fn unescape(value: &str) -> String {
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
