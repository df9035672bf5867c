//! The renderer-neutral report document: what a template produces and what
//! the HTML and PDF renderers read. It holds text and display-ready figures
//! only — every number is already formatted and already passed through the
//! publication rules — so both renderers show exactly the same content.
//!
//! The model derives `Deserialize` with `deny_unknown_fields`, so a template
//! can emit it as JSON or YAML. Blocks are tagged by `type`:
//!
//! ```
//! let doc: sunward_render::Document = serde_json::from_str(r#"{
//!   "title": "2024年度学校社会工作服务报告",
//!   "meta": {"organisation": "向阳社工服务中心", "period": "2024年", "generated": "2025-01-15"},
//!   "blocks": [
//!     {"type": "heading", "level": 1, "text": "一、年度概况"},
//!     {"type": "key_figures", "tiles": [{"label": "服务学生人次", "value": "3208"}]},
//!     {"type": "table", "caption": "各校服务", "columns": [
//!         {"title": "学校"}, {"title": "场次", "align": "numeric"}],
//!      "rows": [["青柳湖中学", 134], ["金家庄小学", {"suppressed": "<5"}]]}
//!   ]
//! }"#).unwrap();
//! assert_eq!(doc.blocks.len(), 3);
//! doc.check().unwrap();
//! ```
//!
//! Table cells ([`Cell`], [`Align`]), the report's language with its fixed
//! labels ([`Lang`], [`Words`]) and dates as readers write them
//! ([`display_date`], [`MONTHS`]) are modules of their own, re-exported
//! here.

use serde::{Deserialize, Serialize};

use crate::chart::Chart;

mod cell;
mod dates;
mod lang;

pub use cell::{Align, Cell};
pub use dates::{MONTHS, display_date};
pub use lang::{ATTACHMENTS_LEAD, Lang, Words, attachment_label};

/// A whole report: a title page's worth of metadata and a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// The report's title, e.g. `2024年度学校社会工作服务年报`.
    pub title: String,
    /// An optional second line under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Who, when, for which period.
    #[serde(default)]
    pub meta: Meta,
    /// The language of the report's own words (labels the renderers add).
    #[serde(default)]
    pub lang: Lang,
    /// The content, in reading order.
    #[serde(default)]
    pub blocks: Vec<Block>,
}

/// Facts printed on the title page and in the page header or footer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// The organisation, school or bureau the report is about or from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// The period covered, as readers should see it (`2024年`, `2024学年`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// The date the report was made, given explicitly (e.g. `2025-01-15`);
    /// renderers never read the clock, so output stays byte-identical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// Who the report is for, printed on the title page (`内部资料：供…使用` or
    /// `公开版：…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// A mark printed on every page (`内部资料` for an internal report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marking: Option<String>,
    /// How the PDF opens: `Some(true)` prints the title block at the top of
    /// page 1 and starts the body below it (for a short summary),
    /// `Some(false)` gives the title a page of its own; by default a short
    /// document (fewer than [`COMPACT_BLOCKS`] blocks) is compact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact: Option<bool>,
    /// How the whole document is laid out: the ordinary report, or
    /// [`DocStyle::Official`], a government document after GB/T 9704-2012.
    #[serde(default, skip_serializing_if = "DocStyle::is_standard")]
    pub style: DocStyle,
    /// The document number (发文字号) of an official document, e.g.
    /// `青教〔2025〕12号`, printed centred above the red rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_number: Option<String>,
    /// Who signed an official document off (签发人), printed on the line of
    /// the document number, on the right: a report to a higher authority
    /// carries one (GB/T 9704-2012, 7.2.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The offices a copy goes to (抄送机关) of an official document, e.g.
    /// `市卫生健康委员会，市民政局`, printed in the imprint (版记) at its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies_to: Option<String>,
    /// The office that prints and sends the document (印发机关), e.g.
    /// `太仓市教育局办公室`, printed in the imprint with the date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed_by: Option<String>,
    /// The main recipient (主送机关) of an official document, e.g.
    /// `区人民政府：`, printed flush left before the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
}

impl Meta {
    /// An official document's imprint (版记): the copies line (`抄送：…。`)
    /// and the printing office with the date it was printed (`…印发`), each
    /// when given.
    pub fn imprint(&self, lang: Lang) -> (Option<String>, Option<(String, String)>) {
        let copies = self.copies_to.as_ref().map(|c| {
            let c = c.trim().trim_end_matches(['。', '.']);
            format!("{}{c}{}", lang.pick("抄送：", "Copies to: "), lang.pick("。", "."))
        });
        let printed = self.printed_by.as_ref().map(|office| {
            let date = self.generated_display(lang).unwrap_or_default();
            (office.clone(), format!("{date}{}", lang.pick("印发", " (printed)")))
        });
        (copies, printed)
    }
}

/// The layout of a whole document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocStyle {
    /// A report: a title page (or a compact title block), running header
    /// and footer with `第N页`.
    #[default]
    Standard,
    /// A document to government after GB/T 9704-2012: the issuing
    /// authority's mark (`meta.organisation` + `文件`) in red, centred, the
    /// document number and a red rule below it, the title centred, the
    /// main recipient, the body, the issuer and the date (`2025年10月20日`)
    /// at the end, page numbers as `— 2 —`; no title page.
    Official,
}

impl DocStyle {
    /// Whether this is the default style (not written out by serde).
    pub fn is_standard(&self) -> bool {
        *self == DocStyle::Standard
    }
}

impl Meta {
    /// The `generated` date as a reader of `lang` writes it: `2025年10月15日`
    /// or `15 October 2025` for an ISO date (`2025-10-15`); any other text as
    /// it is.
    pub fn generated_display(&self, lang: Lang) -> Option<String> {
        self.generated.as_deref().map(|d| display_date(d, lang))
    }
}

/// Documents with fewer blocks than this open compactly by default (see [`Meta::compact`]).
pub const COMPACT_BLOCKS: usize = 8;

/// One piece of content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Block {
    /// A section heading; level 1 (chapter) to 3.
    Heading {
        /// 1, 2 or 3.
        level: u8,
        /// The heading's text.
        text: String,
    },
    /// A paragraph of running text (plain text; no markup).
    Paragraph {
        /// The paragraph's text.
        text: String,
    },
    /// A paragraph with inline emphasis (a bold lead-in such as
    /// `**一是加强队伍建设。**其后文字`): `text` is the plain text, `spans`
    /// the same text in styled pieces, in order (their texts joined are
    /// `text`, which [`Document::check`] verifies).
    RichParagraph {
        /// The paragraph's plain text.
        text: String,
        /// The text in pieces with their style.
        spans: Vec<Span>,
    },
    /// A bulleted or numbered list.
    List(List),
    /// Headline figures shown as tiles.
    KeyFigures {
        /// The tiles, in reading order.
        tiles: Vec<Tile>,
    },
    /// A table of figures.
    Table(Table),
    /// A chart with its caption.
    Figure {
        /// The caption, e.g. `图1 各年度极端事件发生率`.
        caption: String,
        /// The chart.
        chart: Chart,
    },
    /// A note in smaller type (sources, definitions, withheld figures).
    Note {
        /// The note's text.
        text: String,
    },
    /// Starts a new page in the PDF (and a page break when the HTML is printed).
    PageBreak,
    /// Starts an attachment (附件): what follows, up to the next attachment,
    /// belongs to it. An official document ([`DocStyle::Official`]) lists its
    /// attachments after the body (`附件：1．…`), signs and dates the body,
    /// and then sets each attachment on a new page under `附件1` and its
    /// title, as GB/T 9704-2012 asks; other documents start a new page with
    /// the label and title as a heading.
    Attachment {
        /// The attachment's title, e.g. `各学年极端事件发生率`.
        title: String,
    },
}

/// A piece of running text with its inline style.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// The text.
    pub text: String,
    /// Strong importance (Markdown `**…**`): bold.
    #[serde(default, skip_serializing_if = "is_false")]
    pub strong: bool,
    /// Stress emphasis (Markdown `*…*`): italic, or emphasis dots in Chinese.
    #[serde(default, skip_serializing_if = "is_false")]
    pub emphasis: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Span {
    /// Unstyled text.
    pub fn plain(text: impl Into<String>) -> Span {
        Span { text: text.into(), ..Span::default() }
    }

    /// Bold text.
    pub fn strong(text: impl Into<String>) -> Span {
        Span { text: text.into(), strong: true, ..Span::default() }
    }

    /// Emphasised text.
    pub fn emphasis(text: impl Into<String>) -> Span {
        Span { text: text.into(), emphasis: true, ..Span::default() }
    }
}

/// The spans a renderer draws for `text` with optional `spans`: the spans,
/// or the whole text as one plain span when there are none.
pub fn spans_or_plain(text: &str, spans: &[Span]) -> Vec<Span> {
    if spans.is_empty() { vec![Span::plain(text)] } else { spans.to_vec() }
}

/// The plain text of some spans.
pub fn spans_text(spans: &[Span]) -> String {
    spans.iter().map(|s| s.text.as_str()).collect()
}

/// A bulleted (`ordered: false`) or numbered list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct List {
    /// Numbered (`1.`, `2.`, …) rather than bulleted.
    #[serde(default)]
    pub ordered: bool,
    /// The first number of a numbered list (1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    /// The items, in order.
    pub items: Vec<ListItem>,
}

impl List {
    /// The marker of item `i` (0-based): `3.` in a numbered list, `•` in a bulleted one.
    pub fn marker(&self, i: usize) -> String {
        if self.ordered { format!("{}.", self.start.unwrap_or(1) + i as u64) } else { "•".to_string() }
    }
}

/// One list item: plain text, and optionally the same text in styled spans
/// (as [`Block::RichParagraph`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListItem {
    /// The item's plain text.
    pub text: String,
    /// The text in styled pieces; empty for plain text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

impl ListItem {
    /// A plain item.
    pub fn plain(text: impl Into<String>) -> ListItem {
        ListItem { text: text.into(), spans: Vec::new() }
    }

    /// An item made of spans (its text is theirs, joined).
    pub fn styled(spans: Vec<Span>) -> ListItem {
        ListItem { text: spans_text(&spans), spans }
    }
}

/// A headline figure: `服务学生人次 3208`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tile {
    /// What the figure counts.
    pub label: String,
    /// The figure as displayed (already formatted and published: `3208`, `<5`, `55%`).
    pub value: String,
    /// An optional line under the figure (`较上年 −47%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How many key-figure tiles go in one row so that every row is full or
/// nearly so and no empty box is ever drawn: 1–4 tiles in one row, 5 and 6
/// as 3+2 and 3+3, 7 and 8 as 4+3 and 4+4, then rows of at most four.
pub fn tile_columns(count: usize) -> usize {
    if count <= 4 {
        return count.max(1);
    }
    let rows = count.div_ceil(4);
    count.div_ceil(rows)
}

/// A table: columns, body rows, an optional totals row and a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// The caption above the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The columns, left to right.
    pub columns: Vec<Column>,
    /// The body rows; each has one cell per column.
    #[serde(default)]
    pub rows: Vec<Vec<Cell>>,
    /// A totals row shown after the body, set apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<Vec<Cell>>,
    /// A note under the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A table column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The header text.
    pub title: String,
    /// Text columns are left-aligned, numeric ones right-aligned.
    #[serde(default)]
    pub align: Align,
}

impl Column {
    /// A left-aligned text column.
    pub fn text(title: impl Into<String>) -> Column {
        Column { title: title.into(), align: Align::Text }
    }

    /// A right-aligned numeric column.
    pub fn numeric(title: impl Into<String>) -> Column {
        Column { title: title.into(), align: Align::Numeric }
    }
}

/// A mistake in a document that a renderer would otherwise show wrongly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    /// Which block (0-based) and what is wrong.
    pub message: String,
}

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DocumentError {}

impl Document {
    /// The facts of the title page every renderer prints, as (label, value)
    /// in the report's language: organisation, period and the date it was
    /// made (as readers write dates), each only when given.
    pub fn title_facts(&self) -> Vec<(&'static str, String)> {
        let lang = self.lang;
        [
            (lang.pick("单位", "Organisation"), self.meta.organisation.clone()),
            (lang.pick("期间", "Period"), self.meta.period.clone()),
            (lang.pick("生成日期", "Generated"), self.meta.generated_display(lang)),
        ]
        .into_iter()
        .filter_map(|(label, value)| value.map(|v| (label, v)))
        .collect()
    }

    /// Whether the title block shares page 1 with the body (see [`Meta::compact`]).
    pub fn is_compact(&self) -> bool {
        self.meta.compact.unwrap_or(self.blocks.len() < COMPACT_BLOCKS)
    }

    /// A new document with a title and nothing else.
    pub fn new(title: impl Into<String>) -> Document {
        Document {
            title: title.into(),
            subtitle: None,
            meta: Meta::default(),
            lang: Lang::default(),
            blocks: Vec::new(),
        }
    }

    /// Checks what the types cannot: heading levels 1–3, one cell per column
    /// in every row, charts whose series have matching lengths. Returns every
    /// mistake, one message each.
    pub fn check(&self) -> Result<(), Vec<DocumentError>> {
        let mut errors = Vec::new();
        for (i, block) in self.blocks.iter().enumerate() {
            let mut err = |what: String| {
                errors.push(DocumentError { message: format!("block {} ({}): {what}", i + 1, block.kind()) })
            };
            match block {
                Block::Heading { level, .. } if !(1..=3).contains(level) => {
                    err(format!("heading level {level} is not 1, 2 or 3"))
                }
                Block::Table(table) => {
                    if table.columns.is_empty() {
                        err("a table needs at least one column".to_string());
                    }
                    let n = table.columns.len();
                    for (r, row) in table.rows.iter().enumerate() {
                        if row.len() != n {
                            err(format!("row {} has {} cells for {n} columns", r + 1, row.len()));
                        }
                    }
                    if let Some(totals) = &table.totals
                        && totals.len() != n
                    {
                        err(format!("the totals row has {} cells for {n} columns", totals.len()));
                    }
                }
                Block::Attachment { title } if title.trim().is_empty() => {
                    err("an attachment needs a title (`Attachment: 各学年极端事件发生率`)".to_string())
                }
                Block::Figure { chart, .. } => {
                    if let Err(e) = chart.check() {
                        err(e);
                    }
                }
                Block::RichParagraph { text, spans } if spans_text(spans) != *text => {
                    err("the spans' texts joined differ from the paragraph's text".to_string())
                }
                Block::List(list) => {
                    if list.items.is_empty() {
                        err("a list needs at least one item".to_string());
                    }
                    for (k, item) in list.items.iter().enumerate() {
                        if !item.spans.is_empty() && spans_text(&item.spans) != item.text {
                            err(format!("item {}: the spans' texts joined differ from its text", k + 1));
                        }
                    }
                }
                _ => {}
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

impl Document {
    /// Every text a reader must find in a rendered copy, in reading order:
    /// title, subtitle, meta values, headings, paragraphs, tiles, table
    /// captions, column titles, cells and notes, figure captions. Renderer
    /// tests check each one against their output.
    ///
    /// An official document ([`DocStyle::Official`]) shows no period; it
    /// shows its document number and main recipient.
    pub fn texts(&self) -> Vec<String> {
        let mut out = vec![self.title.clone()];
        out.extend(self.subtitle.clone());
        let official = self.meta.style == DocStyle::Official;
        let period = if official { &None } else { &self.meta.period };
        for v in [
            &self.meta.organisation,
            period,
            &self.meta.audience,
            &self.meta.marking,
            &self.meta.doc_number,
            &self.meta.signer,
            &self.meta.copies_to,
            &self.meta.printed_by,
            &self.meta.recipient,
        ]
        .into_iter()
        .flatten()
        {
            out.push(v.clone());
        }
        out.extend(self.meta.generated_display(self.lang));
        for block in &self.blocks {
            match block {
                Block::Heading { text, .. }
                | Block::Paragraph { text }
                | Block::RichParagraph { text, .. }
                | Block::Note { text } => out.push(text.clone()),
                Block::List(list) => out.extend(list.items.iter().map(|i| i.text.clone())),
                Block::KeyFigures { tiles } => {
                    for t in tiles {
                        out.push(t.value.clone());
                        out.push(t.label.clone());
                        out.extend(t.note.clone());
                    }
                }
                Block::Table(t) => {
                    out.extend(t.caption.clone());
                    out.extend(t.columns.iter().map(|c| c.title.clone()));
                    for row in t.rows.iter().chain(t.totals.iter()) {
                        out.extend(row.iter().map(|c| c.display().to_string()).filter(|s| !s.is_empty()));
                    }
                    out.extend(t.note.clone());
                }
                Block::Figure { caption, .. } => out.push(caption.clone()),
                Block::PageBreak => {}
                Block::Attachment { title } => out.push(title.clone()),
            }
        }
        let titles = self.attachment_titles();
        for (i, _) in titles.iter().enumerate() {
            out.push(attachment_label(i + 1, self.lang));
        }
        out.extend(self.attachment_list().into_iter().map(|(marker, title)| format!("{marker}{title}")));
        out
    }

    /// Where the body ends: the index of the first [`Block::Attachment`]
    /// (the length of `blocks` when there is none).
    pub fn body_end(&self) -> usize {
        self.blocks.iter().position(|b| matches!(b, Block::Attachment { .. })).unwrap_or(self.blocks.len())
    }

    /// The attachments' titles, in order.
    pub fn attachment_titles(&self) -> Vec<&str> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Attachment { title } => Some(title.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The list of attachments an official document prints after its body
    /// (附件说明), as `(marker, title)` pairs: `附件：1．` before the first
    /// title and `2．` … before the others, which are set under the first
    /// one's number; a single attachment is not numbered (`附件：`). Empty
    /// without attachments.
    pub fn attachment_list(&self) -> Vec<(String, String)> {
        let titles = self.attachment_titles();
        let number = |i: usize| match self.lang {
            Lang::ZhCn => format!("{}．", i + 1),
            Lang::En => format!("{}. ", i + 1),
        };
        match titles.as_slice() {
            [] => Vec::new(),
            [only] => vec![(self.lang.pick("附件：", "Attachment: ").to_string(), only.to_string())],
            many => many
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let lead = if i == 0 { ATTACHMENTS_LEAD.pick(self.lang) } else { "" };
                    (format!("{lead}{}", number(i)), t.to_string())
                })
                .collect(),
        }
    }
}
/// Where a title set in two lines breaks between phrases, not inside a word
/// (`…关于2024学年学` / `生心理…` is what breaking by width alone gives): the
/// byte index of a break before or after `关于`, or after `的`, `学年`,
/// `年度`, `，` or `、`, whichever gives the most even lines that both fit
/// in `width` as `width_of` measures them. `None` when no such break fits.
pub fn phrase_break(text: &str, width_of: &dyn Fn(&str) -> f64, width: f64) -> Option<usize> {
    let good = |i: usize| {
        let (before, after) = text.split_at(i);
        ["关于", "的", "学年", "年度", "，", "、"].iter().any(|p| before.ends_with(p)) || after.starts_with("关于")
    };
    text.char_indices()
        .map(|(i, _)| i)
        .filter(|&i| i > 0 && good(i))
        .map(|i| (i, width_of(&text[..i]), width_of(&text[i..])))
        .filter(|&(_, a, b)| a <= width + 1e-3 && b <= width + 1e-3)
        .min_by(|x, y| (x.1 - x.2).abs().total_cmp(&(y.1 - y.2).abs()))
        .map(|(i, _, _)| i)
}

impl Block {
    /// The block's `type` name, as in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Block::Heading { .. } => "heading",
            Block::Paragraph { .. } => "paragraph",
            Block::RichParagraph { .. } => "rich_paragraph",
            Block::List(_) => "list",
            Block::KeyFigures { .. } => "key_figures",
            Block::Table(_) => "table",
            Block::Figure { .. } => "figure",
            Block::Note { .. } => "note",
            Block::PageBreak => "page_break",
            Block::Attachment { .. } => "attachment",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_fill_their_rows() {
        let cols: Vec<usize> = (0..=9).map(tile_columns).collect();
        assert_eq!(cols, [1, 1, 2, 3, 4, 3, 3, 4, 4, 3]);
        for n in 1..=12 {
            let c = tile_columns(n);
            let last = n - (n - 1) / c * c;
            assert!(c <= 4 && last * 2 >= c, "{n} tiles in {c} columns leave {last} in the last row");
        }
    }

    #[test]
    fn short_documents_open_compactly_unless_told() {
        let mut doc = Document::new("t");
        doc.blocks = vec![Block::PageBreak; 7];
        assert!(doc.is_compact());
        doc.blocks.push(Block::PageBreak);
        assert!(!doc.is_compact());
        doc.meta.compact = Some(true);
        assert!(doc.is_compact());
        let doc: Document = serde_json::from_str(r#"{"title": "t", "meta": {"compact": false}}"#).unwrap();
        assert!(!doc.is_compact());
    }

    #[test]
    fn cells_deserialize_from_every_form() {
        let cells: Vec<Cell> = serde_json::from_str(
            r#"["青柳湖中学", 134, 2.5, {"number": 0.55, "display": "55%"},
                {"suppressed": "<5"}, {"withheld": "—"}, {"text": "x"}, {"empty": null}]"#,
        )
        .unwrap();
        assert_eq!(
            cells,
            vec![
                Cell::Text("青柳湖中学".into()),
                Cell::Number { value: 134.0, display: "134".into() },
                Cell::Number { value: 2.5, display: "2.5".into() },
                Cell::Number { value: 0.55, display: "55%".into() },
                Cell::Suppressed("<5".into()),
                Cell::Withheld("—".into()),
                Cell::Text("x".into()),
                Cell::Empty,
            ]
        );
        let err = serde_json::from_str::<Cell>(r#"{"secret": 1}"#).unwrap_err();
        assert!(err.to_string().contains("a table cell is"), "{err}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<Document>(r#"{"title": "t", "titel": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `titel`"), "{err}");
        let err = serde_json::from_str::<Document>(
            r#"{"title": "t", "blocks": [{"type": "paragraph", "text": "a", "bold": true}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `bold`"), "{err}");
        let err = serde_json::from_str::<Document>(
            r#"{"title": "t", "blocks": [{"type": "table", "columns": [], "colour": 1}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
        let err = serde_json::from_str::<Document>(r#"{"title": "t", "blocks": [{"type": "poem"}]}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `poem`"), "{err}");
    }

    #[test]
    fn lang_defaults_to_chinese_and_reads_tags() {
        let doc: Document = serde_json::from_str(r#"{"title": "t"}"#).unwrap();
        assert_eq!(doc.lang, Lang::ZhCn);
        let doc: Document = serde_json::from_str(r#"{"title": "t", "lang": "en"}"#).unwrap();
        assert_eq!(doc.lang.tag(), "en");
    }

    #[test]
    fn check_reports_every_mistake() {
        let mut doc = Document::new("t");
        doc.blocks.push(Block::Heading { level: 4, text: "h".into() });
        doc.blocks.push(Block::Table(Table {
            caption: None,
            columns: vec![Column::text("a"), Column::numeric("b")],
            rows: vec![vec![Cell::Text("x".into())]],
            totals: Some(vec![Cell::Empty; 3]),
            note: None,
        }));
        let errors = doc.check().unwrap_err();
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "block 1 (heading): heading level 4 is not 1, 2 or 3",
                "block 2 (table): row 1 has 1 cells for 2 columns",
                "block 2 (table): the totals row has 3 cells for 2 columns",
            ]
        );
    }

    #[test]
    fn documents_round_trip_through_json() {
        let doc: Document = serde_json::from_str(
            r#"{"title": "t", "subtitle": "s", "meta": {"period": "2024年"},
                "blocks": [{"type": "page_break"}, {"type": "note", "text": "n"},
                {"type": "key_figures", "tiles": [{"label": "a", "value": "1", "note": "b"}]},
                {"type": "table", "columns": [{"title": "a", "align": "numeric"}],
                 "rows": [["x"], [1.5], [{"number": 0.5, "display": "50%"}], [{"suppressed": "<5"}],
                          [{"withheld": "—"}], [{"empty": null}]], "totals": [3]}]}"#,
        )
        .unwrap();
        let back: Document = serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(doc, back);
    }
}

#[cfg(test)]
mod emphasis_tests {
    use super::*;

    #[test]
    fn rich_paragraphs_lists_and_the_official_style_round_trip_through_json() {
        let doc: Document = serde_json::from_str(
            r#"{"title": "t", "meta": {"organisation": "青浦区教育局", "period": "2025年", "style": "official",
                "doc_number": "青教〔2025〕12号", "recipient": "区人民政府："},
                "blocks": [
                {"type": "rich_paragraph", "text": "一是加强。其后",
                 "spans": [{"text": "一是加强。", "strong": true}, {"text": "其后"}]},
                {"type": "list", "ordered": true, "start": 3,
                 "items": [{"text": "甲乙", "spans": [{"text": "甲", "emphasis": true}, {"text": "乙"}]}, {"text": "丙"}]},
                {"type": "list", "items": [{"text": "丁"}]}]}"#,
        )
        .unwrap();
        doc.check().unwrap();
        assert_eq!(doc.meta.style, DocStyle::Official);
        let Block::List(list) = &doc.blocks[1] else { panic!() };
        assert_eq!((list.marker(0), list.marker(1)), ("3.".to_string(), "4.".to_string()));
        let Block::List(bullets) = &doc.blocks[2] else { panic!() };
        assert_eq!((bullets.ordered, bullets.marker(0).as_str()), (false, "•"));
        let json = serde_json::to_string(&doc).unwrap();
        assert!(!json.contains("\"strong\":false") && !json.contains("\"spans\":[]"), "{json}");
        let back: Document = serde_json::from_str(&json).unwrap();
        assert_eq!(back, doc);
        // What a reader sees: the plain texts, the number and recipient, no period in an official document.
        let texts = doc.texts();
        for t in ["一是加强。其后", "甲乙", "丙", "丁", "青教〔2025〕12号", "区人民政府："] {
            assert!(texts.contains(&t.to_string()), "{t}");
        }
        assert!(!texts.contains(&"2025年".to_string()));
        // The default style is not written out, so older readers see the same JSON.
        let json = serde_json::to_string(&Document::new("t")).unwrap();
        assert!(!json.contains("style"), "{json}");
    }

    #[test]
    fn spans_must_spell_the_text_and_unknown_span_fields_are_refused() {
        let mut doc = Document::new("t");
        doc.blocks.push(Block::RichParagraph { text: "ab".into(), spans: vec![Span::strong("a")] });
        doc.blocks.push(Block::List(List { ordered: true, start: None, items: vec![] }));
        doc.blocks.push(Block::List(List {
            ordered: false,
            start: None,
            items: vec![
                ListItem { text: "x".into(), spans: vec![Span::plain("y")] },
                ListItem::styled(vec![Span::emphasis("z")]),
            ],
        }));
        let messages: Vec<String> = doc.check().unwrap_err().into_iter().map(|e| e.message).collect();
        assert_eq!(
            messages,
            [
                "block 1 (rich_paragraph): the spans' texts joined differ from the paragraph's text",
                "block 2 (list): a list needs at least one item",
                "block 3 (list): item 1: the spans' texts joined differ from its text",
            ]
        );
        let err = serde_json::from_str::<Document>(
            r#"{"title": "t", "blocks": [{"type": "rich_paragraph", "text": "a", "spans": [{"text": "a", "bold": true}]}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `bold`"), "{err}");
        let err = serde_json::from_str::<Document>(r#"{"title": "t", "meta": {"style": "fancy"}}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `fancy`"), "{err}");
    }
}
