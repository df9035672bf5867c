//! What a table's text reads as: a cell's kind (empty, suppressed, withheld,
//! number or text) and a caption paragraph (`Table: …`, `表：…`).

use crate::document::Cell;

/// The caption a paragraph gives the table next to it, if it is one
/// (`Table: …`, `表：…` or `表:…`).
pub(super) fn caption_of(para: &str) -> Option<String> {
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
