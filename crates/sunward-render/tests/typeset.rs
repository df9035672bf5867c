//! Typesetting faults readers found, checked the way a reader meets them:
//! the PDF's text page by page (`pdftotext`), its catalog, outline and
//! drawing operators (lopdf), and the HTML's markup and style sheet.
//!
//! The page-break tests sweep a run of filler notes in front of the part
//! under test, so that across the sweep it lands at every height of a page,
//! the page's foot included.

use std::path::PathBuf;
use std::process::Command;

use lopdf::Object;
use sunward_render::{Block, Cell, Chart, Column, Document, Lang, Meta, Table, Tile, html, pdf, sample};

fn font() -> Vec<u8> {
    pdf::load_font().unwrap_or_else(|e| panic!("{e}"))
}

/// The text of each page, as `pdftotext` reads it.
fn pages(bytes: &[u8], name: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sunward-typeset");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext").arg("-enc").arg("UTF-8").arg(&path).arg("-").output().unwrap_or_else(|e| {
        panic!("cannot run pdftotext ({e}): run scripts/prepare-fonts.sh, which installs poppler-utils")
    });
    assert!(out.status.success(), "pdftotext failed on {}", path.display());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> =
        text.split('\u{c}').map(|p| p.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    while pages.last().is_some_and(|p| p.is_empty()) {
        pages.pop();
    }
    pages
}

fn meta() -> Meta {
    Meta {
        organisation: Some("向阳社工服务中心".into()),
        period: Some("2024年".into()),
        generated: Some("2025-01-15".into()),
        compact: Some(false),
        ..Meta::default()
    }
}

fn fillers(n: usize) -> Vec<Block> {
    (0..n).map(|i| Block::Note { text: format!("填充说明第{i}条。") }).collect()
}

fn school_table(caption: &str, rows: u32, totals: bool) -> Table {
    Table {
        caption: Some(caption.into()),
        columns: vec![Column::text("学校名称"), Column::numeric("事件数"), Column::numeric("在校学生数")],
        rows: (1..=rows)
            .map(|i| {
                vec![Cell::Text(format!("第{i}学校")), Cell::number(f64::from(i)), Cell::number(f64::from(i * 100))]
            })
            .collect(),
        totals: totals.then(|| vec![Cell::Text("合计".into()), Cell::number(1.0), Cell::number(2.0)]),
        note: None,
    }
}

/// The body rows of a school table a page shows.
fn body_rows(page: &str, rows: u32) -> usize {
    (1..=rows).filter(|i| page.contains(&format!("第{i}学校 "))).count()
}

#[test]
fn headings_and_captions_never_end_a_page() {
    let font = font();
    let mut failures = Vec::new();
    for n in 30..70 {
        let mut doc = Document::new("分页测试");
        doc.meta = meta();
        doc.blocks = fillers(n);
        doc.blocks.push(Block::Heading { level: 1, text: "三、测试大标题".into() });
        doc.blocks.push(Block::Heading { level: 2, text: "（一）测试小节".into() });
        doc.blocks.push(Block::Table(school_table("表3 测试表格", 20, true)));
        doc.blocks.extend(fillers(n % 7));
        doc.blocks.push(Block::Figure {
            caption: "图9 测试图".into(),
            chart: Chart::Bar(sunward_render::BarChart {
                categories: vec!["测试类别甲".into(), "测试类别乙".into()],
                values: vec![3.0, 5.0],
                labels: None,
                unit: None,
                tally: false,
            }),
        });
        let pages = pages(&pdf::render(&doc, &font).unwrap(), &format!("keep-{n}.pdf"));
        let on = |needle: &str| pages.iter().position(|p| p.contains(needle)).unwrap_or_else(|| panic!("no {needle}"));
        let heading = on("三、测试大标题");
        if on("（一）测试小节") != heading {
            failures.push(format!("{n} fillers: the level 1 heading ends page {}", heading + 1));
        }
        let caption = on("表3 测试表格");
        if caption != on("（一）测试小节") || body_rows(&pages[caption], 20) < 2 {
            failures
                .push(format!("{n} fillers: the heading or table caption ends page {} without two rows", caption + 1));
        }
        if on("图9 测试图") != on("测试类别甲") {
            failures.push(format!("{n} fillers: the figure caption is parted from its chart"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn tables_leave_no_lone_row_and_continue_with_caption_and_header() {
    let font = font();
    let mut failures = Vec::new();
    for (lang, caption, continued) in [
        (Lang::ZhCn, "表2 各校极端事件发生率", "续表2 各校极端事件发生率"),
        (Lang::En, "Table 2 Extreme incidents by school", "Table 2 (continued) Extreme incidents by school"),
    ] {
        for n in 0..45 {
            let mut doc = Document::new("续表测试");
            doc.meta = meta();
            doc.lang = lang;
            doc.blocks = fillers(n);
            doc.blocks.push(Block::Table(school_table(caption, 41, true)));
            doc.blocks.push(Block::Paragraph { text: "表后正文。".into() });
            let pages = pages(&pdf::render(&doc, &font).unwrap(), &format!("rows-{}-{n}.pdf", lang.tag()));
            let table_pages: Vec<(usize, &String)> =
                pages.iter().enumerate().filter(|(_, p)| body_rows(p, 41) > 0 || p.contains("合计")).collect();
            for (k, (i, page)) in table_pages.iter().enumerate() {
                let rows = body_rows(page, 41);
                if rows < 2 {
                    failures.push(format!("{} {n}: page {} holds {rows} body row(s) of the table", lang.tag(), i + 1));
                }
                if k > 0 && !(page.contains(continued) && page.contains("学校名称 事件数 在校学生数")) {
                    failures.push(format!(
                        "{} {n}: page {} continues the table without {continued:?} and the header",
                        lang.tag(),
                        i + 1
                    ));
                }
                if k == 0 && (page.contains(continued) || !page.contains(caption)) {
                    failures.push(format!(
                        "{} {n}: the table's first page {} lacks its own caption",
                        lang.tag(),
                        i + 1
                    ));
                }
            }
            if table_pages.len() < 2 {
                failures.push(format!("{} {n}: the 42-row table did not break", lang.tag()));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn small_tables_move_whole() {
    let font = font();
    for n in 0..45 {
        let mut doc = Document::new("小表测试");
        doc.meta = meta();
        doc.blocks = fillers(n);
        doc.blocks.push(Block::Table(school_table("表5 小表", 4, true)));
        let pages = pages(&pdf::render(&doc, &font).unwrap(), &format!("small-{n}.pdf"));
        let holding: Vec<usize> = (0..pages.len()).filter(|i| body_rows(&pages[*i], 4) > 0).collect();
        assert_eq!(holding.len(), 1, "{n} fillers: a 5-row table spread over pages {holding:?}");
        assert!(pages[holding[0]].contains("表5 小表") && pages[holding[0]].contains("合计"));
    }
}

/// How many tile boxes page 2 draws: each tile's bar is three strokes in the primary colour.
fn tile_boxes(bytes: &[u8]) -> usize {
    let doc = lopdf::Document::load_mem(bytes).unwrap();
    let page = doc.get_pages()[&2];
    let content = lopdf::content::Content::decode(&doc.get_page_content(page)).unwrap();
    let primary = [0x2f, 0x6f, 0x9f].map(|c| f64::from(c) / 255.0);
    let strokes = content
        .operations
        .iter()
        .filter(|op| op.operator == "RG")
        .filter(|op| {
            op.operands.len() == 3
                && op
                    .operands
                    .iter()
                    .zip(primary)
                    .all(|(o, p)| (o.as_float().map(f64::from).unwrap_or(-1.0) - p).abs() < 0.01)
        })
        .count();
    assert_eq!(strokes % 3, 0, "{strokes} primary strokes");
    strokes / 3
}

#[test]
fn key_figure_tiles_fill_their_grid_without_empty_boxes() {
    let font = font();
    for (count, rows) in [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (6, 2), (7, 2)] {
        let mut doc = Document::new("指标测试");
        doc.meta = meta();
        doc.blocks.push(Block::KeyFigures {
            tiles: (1..=count)
                .map(|i| Tile { label: format!("指标{i}"), value: format!("{}", 1000 + i), note: None })
                .collect(),
        });
        let bytes = pdf::render(&doc, &font).unwrap();
        assert_eq!(tile_boxes(&bytes), count, "{count} tiles must draw {count} boxes, no empty one");
        // Rows as a reader sees them: the values' lines in pdftotext's physical layout.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sunward-typeset");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("tiles-{count}.pdf"));
        std::fs::write(&path, &bytes).unwrap();
        let out = Command::new("pdftotext")
            .args(["-layout", "-enc", "UTF-8", "-f", "2", "-l", "2"])
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("100")).collect();
        assert_eq!(lines.len(), rows, "{count} tiles: value rows {lines:#?}");
    }
}

#[test]
fn pdf_has_outline_language_title_and_no_stray_creator() {
    let font = font();
    for lang in [Lang::ZhCn, Lang::En] {
        let doc = sample::long_document(lang);
        let bytes = pdf::render(&doc, &font).unwrap();
        assert_eq!(bytes, pdf::render(&doc, &font).unwrap(), "two renders differ");
        assert!(!bytes.windows(11).any(|w| w == b"Illustrator"), "printpdf's Adobe Illustrator creator is still there");
        let file = lopdf::Document::load_mem(&bytes).unwrap();
        let text = |o: &Object| -> String {
            let b = o.as_str().unwrap();
            if b.starts_with(&[0xFE, 0xFF]) {
                let u: Vec<u16> = b[2..].chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                String::from_utf16(&u).unwrap()
            } else {
                String::from_utf8(b.to_vec()).unwrap()
            }
        };
        let info = file.trailer.get(b"Info").and_then(|o| file.dereference(o)).unwrap().1.as_dict().unwrap();
        assert_eq!(text(info.get(b"Title").unwrap()), doc.title);
        assert_eq!(text(info.get(b"Creator").unwrap()), "Sunward");
        assert_eq!(text(info.get(b"Producer").unwrap()), "Sunward");
        let catalog = file.catalog().unwrap();
        assert_eq!(text(catalog.get(b"Lang").unwrap()), lang.tag());
        assert_eq!(catalog.get(b"PageMode").unwrap().as_name().unwrap(), b"UseOutlines");
        assert!(catalog.get(b"Metadata").is_err(), "no XMP (it would carry the clock)");

        // The outline, walked as a viewer does: level 1 entries with their level 2 children.
        let dict = |o: &Object| file.dereference(o).unwrap().1.as_dict().unwrap().clone();
        let walk = |first: Option<&Object>| {
            let mut out = Vec::new();
            let mut at = first.map(&dict);
            while let Some(d) = at {
                out.push(d.clone());
                at = d.get(b"Next").ok().map(&dict);
            }
            out
        };
        let outlines = dict(catalog.get(b"Outlines").unwrap());
        let page_of: std::collections::BTreeMap<lopdf::ObjectId, u32> =
            file.get_pages().into_iter().map(|(n, id)| (id, n)).collect();
        let text_pages = pages(&bytes, &format!("outline-{}.pdf", lang.tag()));
        let mut got = Vec::new();
        for top in walk(outlines.get(b"First").ok()) {
            let title = text(top.get(b"Title").unwrap());
            let kids: Vec<String> =
                walk(top.get(b"First").ok()).iter().map(|k| text(k.get(b"Title").unwrap())).collect();
            let dest = top.get(b"Dest").unwrap().as_array().unwrap();
            let page = page_of[&dest[0].as_reference().unwrap()] as usize;
            assert!(text_pages[page - 1].contains(&title), "{title:?} does not open its page {page}");
            got.push((title, kids));
        }
        let headings: Vec<(u8, String)> = doc
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading { level, text } if *level <= 2 => Some((*level, text.clone())),
                _ => None,
            })
            .collect();
        let mut want: Vec<(String, Vec<String>)> = Vec::new();
        for (level, t) in headings {
            match want.last_mut() {
                Some(last) if level == 2 => last.1.push(t),
                _ => want.push((t, Vec::new())),
            }
        }
        assert_eq!(got, want);
    }
}

#[test]
fn short_documents_print_the_title_above_the_body() {
    let font = font();
    let summary = |compact: Option<bool>| {
        let mut doc = Document::new("2024年度心理健康工作摘要");
        doc.meta = Meta { compact, ..meta() };
        doc.blocks = vec![
            Block::Heading { level: 1, text: "一、总体情况".into() },
            Block::Paragraph { text: "全年服务学生3208人次。".into() },
            Block::Table(school_table("表1 各校情况", 5, true)),
        ];
        doc
    };
    let short = pages(&pdf::render(&summary(None), &font).unwrap(), "compact.pdf");
    assert!(short[0].contains("2024年度心理健康工作摘要") && short[0].contains("一、总体情况"), "{short:#?}");
    assert!(short[0].contains("全年服务学生3208人次。") && short[0].contains("第1页"), "{short:#?}");
    assert_eq!(short.len(), 1);
    let forced = pages(&pdf::render(&summary(Some(false)), &font).unwrap(), "title-page.pdf");
    assert!(!forced[0].contains("一、总体情况") && forced[1].contains("一、总体情况"), "{forced:#?}");
    let long = pages(&pdf::render(&sample::long_document(Lang::ZhCn), &font).unwrap(), "long.pdf");
    assert!(!long[0].contains("一、年度概况"), "a long report keeps its title page");
}

#[test]
fn continued_captions_follow_the_house_style() {
    assert_eq!(pdf::continued_caption("表2 各校极端事件发生率", Lang::ZhCn), "续表2 各校极端事件发生率");
    assert_eq!(pdf::continued_caption("各校名单", Lang::ZhCn), "续表：各校名单");
    assert_eq!(pdf::continued_caption("Table 2 Incidents", Lang::En), "Table 2 (continued) Incidents");
    assert_eq!(pdf::continued_caption("Incidents", Lang::En), "Incidents (continued)");
}

#[test]
fn html_tables_and_charts_scroll_in_their_own_frame_on_a_phone() {
    let doc = sample::long_document(Lang::ZhCn);
    let out = html::render(&doc);
    let tables = out.matches("<table>").count();
    assert_eq!(tables, 2);
    assert_eq!(out.matches("<div class=\"scroll\"><table>").count(), tables, "every table sits in a scrolling frame");
    assert!(out.contains(".scroll { overflow-x: auto;"));
    assert!(
        out.contains("th:first-child, td:first-child { white-space: nowrap; }"),
        "names never wrap a character a line"
    );
    // Charts: the smallest text is 11 units on a 640-unit canvas that never shrinks below 640 px
    // on a desk; a phone (up to 40rem) shows the same chart laid out 360 units wide instead, at
    // about its natural size, so nothing runs off the screen.
    let svgs = out.matches("<svg class=\"chart desk\"").count();
    assert_eq!(out.matches("<div class=\"scroll\"><svg class=\"chart desk\"").count(), svgs);
    assert_eq!(out.matches("<svg class=\"chart phone\"").count(), svgs);
    assert!(out.contains("svg.chart { display: block; width: 100%; height: auto; min-width: 640px;"));
    assert!(out.contains(
        "@media (max-width: 40rem) { svg.chart.desk { display: none; } svg.chart.phone { display: block; } }"
    ));
    assert!(out.contains("viewBox=\"0 0 640 ") && out.contains("viewBox=\"0 0 360 "));
    for size in out.split("font-size=\"").skip(1) {
        let size: f64 = size.split('"').next().unwrap().parse().unwrap();
        assert!(size >= 11.0, "chart text of {size} units");
    }
}

#[test]
fn html_tiles_fill_their_grid() {
    let mut doc = Document::new("t");
    for (count, cols) in [(1, 1), (2, 2), (3, 3), (4, 4), (5, 3), (6, 3), (8, 4)] {
        doc.blocks = vec![Block::KeyFigures {
            tiles: (0..count).map(|i| Tile { label: format!("l{i}"), value: "1".into(), note: None }).collect(),
        }];
        let out = html::render(&doc);
        assert!(out.contains(&format!("<div class=\"tiles cols-{cols}\">")), "{count} tiles");
        if cols > 2 {
            assert!(
                out.contains(&format!(
                    ".tiles.cols-{cols} {{ grid-template-columns: repeat({cols}, minmax(0, 1fr)); }}"
                ))
            );
        }
    }
    assert!(!html::render(&doc).contains("auto-fit"), "auto-fit leaves gaps in the last row");
}

#[test]
fn chinese_names_stay_whole_beside_long_english_headers() {
    // Seven columns, as the English district comparison has them: the long
    // headers may wrap between words, the names of the schools may not.
    let names = ["城东初级中学", "浏河初级中学", "璜泾高级中学", "沙溪第一中学"];
    let headers = [
        "Students",
        "Class coverage",
        "Screening coverage",
        "High-level screenings",
        "Loop closed",
        "Median days to intervention",
    ];
    let mut columns = vec![Column::text("School")];
    columns.extend(headers.iter().map(|h| Column::numeric(*h)));
    let rows = names
        .iter()
        .map(|n| {
            let mut row = vec![Cell::Text((*n).into())];
            row.extend((0..headers.len()).map(|i| Cell::number(1000.0 + i as f64)));
            row
        })
        .collect();
    let mut doc = Document::new("Schools compared");
    doc.lang = Lang::En;
    doc.meta = meta();
    doc.blocks = vec![Block::Table(Table { caption: Some("Table 1".into()), columns, rows, totals: None, note: None })];
    let text = pages(&pdf::render(&doc, &font()).unwrap(), "names-whole.pdf").join(" ");
    for name in names {
        assert!(text.contains(name), "{name} is split across lines: {text}");
    }
}

/// The notes that end a document (sources, definitions) never stand on a
/// page of their own: whatever number of paragraphs comes before the last
/// chart, the page holding the closing note also holds the chart's caption.
#[test]
fn closing_notes_never_stand_alone() {
    let font = font();
    let chart = Chart::Bar(sunward_render::BarChart {
        categories: (1..=12).map(|i| format!("类别{i}")).collect(),
        values: (1..=12).map(f64::from).collect(),
        labels: None,
        unit: None,
        tally: true,
    });
    let mut alone = Vec::new();
    for n in 0..30 {
        let mut blocks: Vec<Block> = (0..n)
            .map(|i| Block::Paragraph {
                text: format!("第{i}段：全区各校按照统一部署开展学生心理健康工作，建立健全筛查预警转介干预机制。"),
            })
            .collect();
        blocks.push(Block::Figure { caption: "图1 结尾的图".into(), chart: chart.clone() });
        blocks.push(Block::Note { text: "数据来源：各校服务记录（结尾的注）。".into() });
        let doc = Document {
            title: "注不单独成页".into(),
            subtitle: None,
            lang: Lang::ZhCn,
            meta: Meta { compact: Some(true), ..Meta::default() },
            blocks,
        };
        let pages = pages(&pdf::render(&doc, &font).unwrap(), &format!("closing-note-{n}.pdf"));
        let last = pages.last().unwrap();
        if last.contains("结尾的注") && !last.contains("图1 结尾的图") {
            alone.push(n);
        }
    }
    assert!(alone.is_empty(), "the closing note stood alone after {alone:?} paragraphs");
}

/// A note right after a table (the template's `> …` under it) goes with the
/// table's last rows: whatever comes before, the page that holds the note
/// also holds the table's last row.
#[test]
fn a_note_under_a_table_stays_with_its_last_rows() {
    let font = font();
    let table = Table {
        caption: Some("表1 结尾有注的表".into()),
        columns: vec![Column::text("学校"), Column::numeric("人次")],
        rows: (1..=10).map(|i| vec![Cell::Text(format!("第{i}校")), Cell::number(f64::from(i * 10))]).collect(),
        totals: None,
        note: None,
    };
    let mut apart = Vec::new();
    for n in 0..34 {
        let mut blocks: Vec<Block> = (0..n)
            .map(|i| Block::Paragraph {
                text: format!("第{i}段：全区各校按照统一部署开展学生心理健康工作，建立健全筛查预警转介干预机制。"),
            })
            .collect();
        blocks.push(Block::Table(table.clone()));
        blocks.push(Block::Note { text: "表注：人次按场累计（表下的注）。".into() });
        blocks.push(Block::Paragraph { text: "表后的正文。".into() });
        let doc = Document {
            title: "表注不离表".into(),
            subtitle: None,
            lang: Lang::ZhCn,
            meta: Meta { compact: Some(true), ..Meta::default() },
            blocks,
        };
        let pages = pages(&pdf::render(&doc, &font).unwrap(), &format!("table-note-{n}.pdf"));
        let page = pages.iter().find(|p| p.contains("表下的注")).expect("the note is printed");
        if !page.contains("第10校") {
            apart.push(n);
        }
    }
    assert!(apart.is_empty(), "the note left its table after {apart:?} paragraphs");
}
