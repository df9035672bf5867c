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
//!
//! The parser, the front matter, the reading of table cells and the
//! helpers on styled text are modules of their own.
//!
//! [`Document`]: crate::document::Document
//! [`Meta`]: crate::document::Meta
//! [`Block::RichParagraph`]: crate::document::Block::RichParagraph
//! [`Block::List`]: crate::document::Block::List
//! [`Block::Attachment`]: crate::document::Block::Attachment
//! [`DocStyle::Official`]: crate::document::DocStyle::Official
//! [`Chart`]: crate::chart::Chart

mod cells;
mod error;
mod front_matter;
mod parser;
mod text;

pub use cells::cell_of;
pub use error::MarkupError;
pub use parser::parse;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Block, Cell, Column, DocStyle, Document, Lang, List, ListItem, Span};

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
