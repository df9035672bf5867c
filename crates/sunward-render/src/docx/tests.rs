//! The Word renderer's unit tests: the parts of rendered documents.

use std::io::Read as _;

use super::table::column_widths;
use super::xml::TEXT_W;
use super::*;
use crate::document::{Block, Cell, Column, Lang, Meta, Table, Tile};
use crate::sample;

/// The text of one part of a docx.
fn part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut file = zip.by_name(name).unwrap_or_else(|_| panic!("no part {name}"));
    let mut s = String::new();
    file.read_to_string(&mut s).expect("UTF-8");
    s
}

/// A chart-free document with every other block.
fn text_doc(lang: Lang) -> Document {
    let mut doc = Document::new("2024年度学校社会工作服务年报");
    doc.lang = lang;
    doc.subtitle = Some("向阳社工服务中心".into());
    doc.meta = Meta {
        organisation: Some("向阳社工服务中心".into()),
        period: Some("2024年".into()),
        generated: Some("2025-01-15".into()),
        ..Meta::default()
    };
    doc.blocks = vec![
        Block::Heading { level: 1, text: "一、年度概况".into() },
        Block::Heading { level: 2, text: "（一）各校服务".into() },
        Block::Heading { level: 3, text: "1. 个案".into() },
        Block::Paragraph { text: "全年服务3208人次。\n第二行 & <x>".into() },
        Block::KeyFigures {
            tiles: vec![
                Tile { label: "服务学生人次".into(), value: "3208".into(), note: Some("较上年 +12%".into()) },
                Tile { label: "高危学生".into(), value: "<5".into(), note: None },
            ],
        },
        Block::Table(Table {
            caption: Some("表1 各校服务场次".into()),
            columns: vec![Column::text("学校"), Column::numeric("场次"), Column::numeric("占比")],
            rows: vec![
                vec![Cell::Text("青柳湖中学".into()), Cell::number(134.0), Cell::Withheld("—".into())],
                vec![Cell::Text("金家庄小学".into()), Cell::Suppressed("<5".into()), Cell::Empty],
            ],
            totals: Some(vec![Cell::Text("合计".into()), Cell::number(138.0), Cell::Empty]),
            note: Some("数据来源：服务记录。".into()),
        }),
        Block::Note { text: "注：<5 表示少于5人。".into() },
        Block::PageBreak,
    ];
    doc
}

#[test]
fn headings_use_word_heading_styles() {
    let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
    let body = part(&bytes, "word/document.xml");
    assert!(body.contains("<w:pStyle w:val=\"Title\"/></w:pPr><w:r><w:t xml:space=\"preserve\">2024年度"), "{body}");
    for (id, text) in [("Heading1", "一、年度概况"), ("Heading2", "（一）各校服务"), ("Heading3", "1. 个案")]
    {
        let want = format!("<w:pStyle w:val=\"{id}\"/></w:pPr><w:r><w:t xml:space=\"preserve\">{text}</w:t>");
        assert!(body.contains(&want), "no {id} paragraph for {text}");
    }
    let styles = part(&bytes, "word/styles.xml");
    for (id, name, lvl) in [("Heading1", "heading 1", 0), ("Heading2", "heading 2", 1), ("Heading3", "heading 3", 2)] {
        let start = styles.find(&format!("w:styleId=\"{id}\"")).unwrap_or_else(|| panic!("no style {id}"));
        let style = &styles[start..start + styles[start..].find("</w:style>").unwrap()];
        assert!(style.contains(&format!("<w:name w:val=\"{name}\"/>")), "{style}");
        assert!(style.contains(&format!("<w:outlineLvl w:val=\"{lvl}\"/>")), "{style}");
    }
    assert!(styles.contains("w:styleId=\"Title\"><w:name w:val=\"Title\"/>"));
    assert!(styles.contains("w:styleId=\"Caption\"><w:name w:val=\"caption\"/>"));
}

#[test]
fn table_header_repeats_rows_do_not_split_numbers_align_right() {
    let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
    let body = part(&bytes, "word/document.xml");
    let start = body.find("表1 各校服务场次").unwrap();
    let table = &body[start..start + body[start..].find("</w:tbl>").unwrap()];
    // The caption is a Caption paragraph, kept with the table by its style.
    assert!(body[..start].ends_with("<w:pStyle w:val=\"Caption\"/></w:pPr><w:r><w:t xml:space=\"preserve\">"));
    let rows: Vec<&str> = table.split("<w:tr>").skip(1).collect();
    assert_eq!(rows.len(), 4, "header, two rows, totals");
    assert!(rows[0].starts_with("<w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"), "{}", rows[0]);
    assert_eq!(table.matches("<w:tblHeader/>").count(), 1, "only the header row repeats");
    assert!(rows.iter().all(|r| r.contains("<w:cantSplit/>")));
    // Numeric columns right-aligned, in the header too; the text column not.
    assert!(rows[1].contains("<w:jc w:val=\"right\"/></w:pPr><w:r><w:t xml:space=\"preserve\">134</w:t>"));
    assert!(
        rows[0].contains(
            "<w:jc w:val=\"right\"/></w:pPr><w:r><w:rPr><w:b/><w:bCs/></w:rPr><w:t xml:space=\"preserve\">场次"
        )
    );
    assert!(!rows[1].contains("<w:jc w:val=\"right\"/></w:pPr><w:r><w:t xml:space=\"preserve\">青柳湖中学"));
    // Markers exactly as Cell::display gives them, escaped.
    assert!(rows[1].contains(">—</w:t>"), "{}", rows[1]);
    assert!(rows[2].contains(">&lt;5</w:t>"), "{}", rows[2]);
    // The totals row is bold and ruled off.
    assert!(rows[3].contains("<w:b/><w:bCs/></w:rPr><w:t xml:space=\"preserve\">合计"), "{}", rows[3]);
    assert!(rows[3].contains("<w:tcBorders><w:top w:val=\"single\""));
    // The note follows in the Note style.
    assert!(body[start..].contains("<w:pStyle w:val=\"Note\"/></w:pPr><w:r><w:t xml:space=\"preserve\">数据来源"));
}

#[test]
fn chinese_font_and_language_are_declared() {
    let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
    let styles = part(&bytes, "word/styles.xml");
    let defaults = &styles[..styles.find("</w:docDefaults>").unwrap()];
    assert!(defaults.contains("w:eastAsia=\"Microsoft YaHei\""), "{defaults}");
    assert!(defaults.contains("w:ascii=\"Arial\""), "{defaults}");
    assert!(defaults.contains("<w:lang w:val=\"zh-CN\" w:eastAsia=\"zh-CN\""), "{defaults}");
    assert!(part(&bytes, "word/settings.xml").contains("<w:themeFontLang w:val=\"zh-CN\" w:eastAsia=\"zh-CN\"/>"));
    let en = render(&text_doc(Lang::En)).unwrap();
    let styles = part(&en, "word/styles.xml");
    assert!(styles.contains("<w:lang w:val=\"en-US\" w:eastAsia=\"zh-CN\""), "{styles}");
    assert!(part(&en, "word/footer1.xml").contains(">Page </w:t>"));
}

#[test]
fn footer_numbers_pages_with_a_page_field_except_on_the_title_page() {
    let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
    let footer = part(&bytes, "word/footer1.xml");
    assert!(footer.contains("<w:instrText xml:space=\"preserve\"> PAGE </w:instrText>"), "{footer}");
    assert!(footer.contains("<w:fldChar w:fldCharType=\"begin\"/>") && footer.contains("w:fldCharType=\"end\""));
    let styles = part(&bytes, "word/styles.xml");
    let start = styles.find("w:styleId=\"Footer\"").unwrap();
    assert!(styles[start..].split("</w:style>").next().unwrap().contains("<w:jc w:val=\"center\"/>"));
    let body = part(&bytes, "word/document.xml");
    assert!(body.contains("<w:footerReference w:type=\"default\" r:id=\"rIdFooter\"/>"));
    assert!(body.contains("<w:titlePg/>"));
    let rels = part(&bytes, "word/_rels/document.xml.rels");
    assert!(rels.contains("Id=\"rIdFooter\"") && rels.contains("Target=\"footer1.xml\""));
}

#[test]
fn core_properties_have_the_title_and_the_documents_own_date_only() {
    let bytes = render(&text_doc(Lang::ZhCn)).unwrap();
    let core = part(&bytes, "docProps/core.xml");
    assert!(core.contains("<dc:title>2024年度学校社会工作服务年报</dc:title>"), "{core}");
    assert!(core.contains(">2025-01-15T00:00:00Z</dcterms:created>"), "{core}");
    assert!(!core.contains("creator") && !core.contains("lastModifiedBy"), "{core}");
    let mut doc = text_doc(Lang::ZhCn);
    doc.meta.generated = Some("2025年1月".into());
    let core = part(&render(&doc).unwrap(), "docProps/core.xml");
    assert!(!core.contains("dcterms:created"), "{core}");
}

#[test]
fn the_same_document_gives_the_same_bytes() {
    // Charts and their workbooks too: no clock, no counter.
    let doc = sample::document(Lang::ZhCn);
    let a = render(&doc).unwrap();
    let b = render(&doc).unwrap();
    assert!(a == b, "two renders differ ({} and {} bytes)", a.len(), b.len());
    let c = render(&sample::document(Lang::En)).unwrap();
    assert!(a != c);
}

#[test]
fn charts_are_native_word_charts_with_alt_text() {
    let doc = sample::document(Lang::ZhCn);
    let bytes = render(&doc).unwrap();
    let body = part(&bytes, "word/document.xml");
    assert_eq!(body.matches("<w:drawing>").count(), 3);
    for n in 1..=3 {
        let frame = format!(
            "<a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/chart\">\
             <c:chart xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" r:id=\"rIdChart{n}\"/>"
        );
        assert!(body.contains(&frame), "no chart frame {n}");
        assert!(part(&bytes, &format!("word/charts/chart{n}.xml")).contains("<c:plotArea>"));
    }
    assert!(!body.contains("pic:") && !body.contains("<a:blip"), "no pictures left");
    assert!(body.contains("descr=\"图1 各类服务覆盖学生人次: 成长课堂 2913;"), "alt text holds the figures");
    // As wide as the PDF's chart (160 mm), as tall as its layout.
    assert!(body.contains("<wp:extent cx=\"5760000\""), "{body}");
    // Caption above the chart, kept with it.
    let cap = body.find("图2 极端事件发生率").unwrap();
    assert!(body[cap..].find("<w:drawing>").unwrap() < body[cap..].find("图3").unwrap());
}

#[test]
fn a_total_that_sums_its_column_is_a_formula_others_are_plain() {
    // 12 + 30 = 42: a SUM(ABOVE) field holding 42. Students counted once: 12 and 30
    // make 38 (a student in both), no formula. A withheld cell above: no formula.
    let table = |rows: [Cell; 2], total: f64| Table {
        caption: None,
        columns: vec![Column::text("学校"), Column::numeric("人次")],
        rows: rows.into_iter().enumerate().map(|(k, c)| vec![Cell::Text(format!("校{k}")), c]).collect(),
        totals: Some(vec![Cell::Text("合计".into()), Cell::number(total)]),
        note: None,
    };
    for (rows, total, formula) in [
        ([Cell::number(12.0), Cell::number(30.0)], 42.0, true),
        ([Cell::number(12.0), Cell::number(30.0)], 38.0, false),
        ([Cell::number(12.0), Cell::Withheld("—".into())], 42.0, false),
    ] {
        let mut doc = Document::new("t");
        doc.blocks.push(Block::Table(table(rows, total)));
        let body = part(&render(&doc).unwrap(), "word/document.xml");
        assert_eq!(body.contains("=SUM(ABOVE)"), formula, "total {total}: {body}");
        assert!(body.contains(&format!(">{total}</w:t>")), "the value is in the file");
        assert!(!body.contains("自动更新"), "no editing instruction in the document");
    }
    // Grouped figures keep their grouping.
    let mut doc = Document::new("t");
    let grouped = |v: f64, d: &str| Cell::Number { value: v, display: d.into() };
    let mut t = table([grouped(1200.0, "1,200"), grouped(3000.0, "3,000")], 4200.0);
    t.totals = Some(vec![Cell::Text("合计".into()), grouped(4200.0, "4,200")]);
    doc.blocks.push(Block::Table(t));
    let body = part(&render(&doc).unwrap(), "word/document.xml");
    assert!(body.contains("=SUM(ABOVE) \\# &quot;#,##0&quot;"), "{body}");
}

#[test]
fn a_small_table_keeps_its_rows_on_one_page() {
    // Three rows and a totals row: every row but the last keeps with the next;
    // a table of ten rows may break between rows.
    let table = |n: usize| Table {
        caption: None,
        columns: vec![Column::text("学校"), Column::numeric("人次")],
        rows: (0..n).map(|i| vec![Cell::Text(format!("校{i}")), Cell::number(1.0)]).collect(),
        totals: Some(vec![Cell::Text("合计".into()), Cell::number(n as f64)]),
        note: None,
    };
    for (n, kept_rows) in [(3, 3), (10, 0)] {
        let mut doc = Document::new("t");
        doc.blocks.push(Block::Table(table(n)));
        let body = part(&render(&doc).unwrap(), "word/document.xml");
        let rows: Vec<&str> = body.split("<w:tr>").skip(1).collect();
        let kept = rows.iter().skip(1).filter(|r| r.contains("<w:keepNext/>")).count();
        assert_eq!(kept, kept_rows, "{n} rows");
        assert!(!rows.last().unwrap().contains("<w:keepNext/>"), "the last row keeps with nothing");
    }
}

#[test]
fn tiles_are_a_borderless_full_width_grid_without_empty_boxes() {
    let mut doc = Document::new("t");
    let tile = |v: &str| Tile { label: "服务学生人次".into(), value: v.into(), note: None };
    doc.blocks.push(Block::KeyFigures { tiles: vec![tile("3208"), tile("134"), tile("10"), tile("<5")] });
    let body = part(&render(&doc).unwrap(), "word/document.xml");
    let start = body.find("<w:tbl>").unwrap();
    let grid = &body[start..start + body[start..].find("</w:tbl>").unwrap()];
    assert!(grid.contains(&format!("<w:tblW w:w=\"{}\" w:type=\"dxa\"/>", TEXT_W / 2 * 2)));
    assert!(grid.contains("<w:insideV w:val=\"nil\"/>") && grid.contains("<w:top w:val=\"nil\"/>"));
    // Four tiles as two rows of two: four tinted cells, none blank (not 3 + 1).
    assert_eq!(grid.matches("<w:tc>").count(), 4);
    assert_eq!(grid.matches("w:fill=").count(), 4);
    assert_eq!(grid.matches("</w:tcPr><w:p/></w:tc>").count(), 0);
    assert!(grid.contains(">&lt;5</w:t>"));
    // Five as 3 + 2: one blank cell.
    let mut doc = Document::new("t");
    doc.blocks.push(Block::KeyFigures { tiles: vec![tile("1"), tile("2"), tile("3"), tile("4"), tile("5")] });
    let body = part(&render(&doc).unwrap(), "word/document.xml");
    assert_eq!(body.matches("<w:tc>").count(), 6);
    assert_eq!(body.matches("</w:tcPr><w:p/></w:tc>").count(), 1);
}

#[test]
fn invalid_documents_and_characters_are_handled_without_panics() {
    let mut doc = Document::new("t\u{1}itle");
    doc.blocks.push(Block::Heading { level: 9, text: "h".into() });
    assert!(render(&doc).unwrap_err().0.contains("heading level 9"));
    doc.blocks.clear();
    doc.blocks.push(Block::Paragraph { text: "a\u{0}b\u{FFFF}c\td".into() });
    let body = part(&render(&doc).unwrap(), "word/document.xml");
    assert!(body.contains(">title</w:t>"), "{body}");
    assert!(body.contains(">abc</w:t><w:tab/><w:t xml:space=\"preserve\">d</w:t>"), "{body}");
    assert_eq!(esc("<5 & \"x\" 'y'"), "&lt;5 &amp; &quot;x&quot; &apos;y&apos;");
}

#[test]
fn column_widths_fill_the_text_width() {
    let doc = text_doc(Lang::ZhCn);
    let Some(Block::Table(table)) = doc.blocks.iter().find(|b| matches!(b, Block::Table(_))) else {
        panic!("no table")
    };
    let widths = column_widths(table, TEXT_W);
    assert_eq!(widths.iter().sum::<u32>(), TEXT_W);
    assert!(widths[0] > widths[1], "{widths:?}");
}
