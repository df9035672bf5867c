//! The front matter: the `key: value` lines between `---` at the very top of
//! the markup, read into the document's title, subtitle, language and
//! [`Meta`](crate::document::Meta) fields. A `---` block further down is an
//! organisation's text, and stays text.

use super::error::MarkupError;
use super::text::unescape;
use crate::document::{Block, DocStyle, Document, Lang};

/// Reads a front-matter block into `doc`. `fence_line` is the line of its
/// opening `---`; an error names the line of the field it is about.
pub(super) fn read(doc: &mut Document, block: &str, fence_line: usize) -> Result<(), MarkupError> {
    for (i, line) in block.lines().enumerate() {
        let line_no = fence_line + 1 + i;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        set_field(doc, line).map_err(|message| MarkupError { line: line_no, message })?;
    }
    Ok(())
}

/// A `---` block below the top as what it is there: one paragraph of its
/// non-empty lines, trimmed and joined by spaces (none when it is empty).
pub(super) fn as_paragraph(block: &str) -> Option<Block> {
    let literal: Vec<String> = block.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    (!literal.is_empty()).then(|| Block::Paragraph { text: literal.join(" ") })
}

/// Sets the field one `key: value` line gives (the value unquoted and
/// unescaped).
fn set_field(doc: &mut Document, line: &str) -> Result<(), String> {
    let Some((key, value)) = line.split_once(':') else {
        return Err(format!("front matter line {line:?} is not `key: value`"));
    };
    let value = unescape(value.trim().trim_matches('"'));
    match key.trim() {
        "title" => doc.title = value,
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
        "style" => doc.meta.style = style(&value)?,
        "compact" => doc.meta.compact = Some(yes_or_no(&value)?),
        "lang" => doc.lang = lang(&value)?,
        other => {
            return Err(format!(
                "unknown front matter key {other:?}; expected title, subtitle, organisation, period, generated, audience, compact, lang, style, doc_number, signer, recipient, copies_to or printed_by"
            ));
        }
    }
    Ok(())
}

/// The document style a `style:` value names.
fn style(value: &str) -> Result<DocStyle, String> {
    match value {
        "official" => Ok(DocStyle::Official),
        "standard" | "report" => Ok(DocStyle::Standard),
        other => Err(format!("unknown style {other:?}; expected official or standard")),
    }
}

/// The flag a `compact:` value gives.
fn yes_or_no(value: &str) -> Result<bool, String> {
    match value {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(format!("compact is true or false, not {value:?}")),
    }
}

/// The language a `lang:` value names.
fn lang(value: &str) -> Result<Lang, String> {
    match value {
        "zh-CN" => Ok(Lang::ZhCn),
        "en" => Ok(Lang::En),
        other => Err(format!("unknown lang {other:?}; expected zh-CN or en")),
    }
}
