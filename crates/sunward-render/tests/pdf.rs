//! The PDF renderer on the sample report, checked the way a reader would:
//! `pdftotext` must find the Chinese headings and the figures exactly, two
//! renders must be byte-identical, and the file must stay small.
//!
//! Needs the font from `scripts/prepare-fonts.sh` (or `SUNWARD_FONT`) and
//! `pdftotext` (poppler-utils, installed by the same script); without them
//! these tests fail and say so — they never skip.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use sunward_render::{Lang, pdf, sample};

fn font() -> Vec<u8> {
    pdf::load_font().unwrap_or_else(|e| panic!("{e}"))
}

fn pdftotext(bytes: &[u8], name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sunward-render");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext").arg("-enc").arg("UTF-8").arg(&path).arg("-").output().unwrap_or_else(|e| {
        panic!("cannot run pdftotext ({e}): run scripts/prepare-fonts.sh, which installs poppler-utils")
    });
    assert!(out.status.success(), "pdftotext failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn chinese_pdf_text_comes_out_exactly() {
    let font = font();
    let doc = sample::document(Lang::ZhCn);
    let start = Instant::now();
    let bytes = pdf::render(&doc, &font).unwrap();
    let took = start.elapsed();
    let text = pdftotext(&bytes, "sample-zh.pdf");
    eprintln!("sample-zh.pdf: {} bytes in {took:?}", bytes.len());
    for needle in [
        "2024年度学校社会工作服务年报",
        "生成日期：2025年1月15日",
        "一、年度概况",
        "（一）各校服务",
        "二、极端事件与筛查",
        "服务学生人次",
        "3208",
        "较上年 +12%",
        "表1 各校服务场次（2024年度）",
        "青柳湖中学",
        "<5",
        "图2 极端事件发生率（每千名学生，95%置信区间）",
        "第2页",
        "第3页",
        "向阳社工服务中心 · 2024年1月—12月",
        "全年累计服务学生3208人次",
        "成长课堂",
        "2913",
    ] {
        let squeezed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains(needle) || squeezed.contains(needle), "pdftotext lacks {needle:?}:\n{text}");
    }
    // No CJK compatibility ideographs: 年 must come out as U+5E74.
    assert!(!text.chars().any(|c| ('\u{F900}'..='\u{FAFF}').contains(&c)), "{text}");
    assert!(bytes.len() <= 300 * 1024, "{} bytes", bytes.len());
}

#[test]
fn pdf_shows_every_text_of_the_document() {
    let font = font();
    for (lang, name) in [(Lang::ZhCn, "every-zh.pdf"), (Lang::En, "every-en.pdf")] {
        let doc = sample::document(lang);
        let text = pdftotext(&pdf::render(&doc, &font).unwrap(), name);
        // pdftotext breaks lines where the PDF wraps them; compare without whitespace.
        let flat: String = text.split_whitespace().collect();
        // A column's title may wrap between its words, its lines read beside the
        // other titles' lines: each word must be there.
        let titles: Vec<String> = doc
            .blocks
            .iter()
            .filter_map(|b| if let sunward_render::Block::Table(t) = b { Some(t) } else { None })
            .flat_map(|t| t.columns.iter().map(|c| c.title.clone()))
            .collect();
        for t in doc.texts() {
            if titles.contains(&t) {
                for word in t.split_whitespace() {
                    assert!(flat.contains(word), "{name}: pdftotext lacks {word:?} of the column title {t:?}");
                }
                continue;
            }
            let t: String = t.split_whitespace().collect();
            assert!(flat.contains(&t), "{name}: pdftotext lacks {t:?}");
        }
    }
}

#[test]
fn pdf_is_byte_identical_across_renders() {
    let font = font();
    let doc = sample::document(Lang::ZhCn);
    let a = pdf::render(&doc, &font).unwrap();
    let b = pdf::render(&doc, &font).unwrap();
    assert!(a == b, "two renders differ ({} and {} bytes)", a.len(), b.len());
    let text = String::from_utf8_lossy(&a);
    assert!(text.contains("/CreationDate(D:20250115000000Z)"), "the document's own date is the creation date");
}

#[test]
fn english_pdf_works_too() {
    let font = font();
    let bytes = pdf::render(&sample::document(Lang::En), &font).unwrap();
    let text = pdftotext(&bytes, "sample-en.pdf");
    for needle in ["School social work: annual review 2024", "Student contacts", "3208", "Page 2", "Qingliu Lake"] {
        assert!(text.contains(needle), "pdftotext lacks {needle:?}:\n{text}");
    }
}

#[test]
fn font_collections_are_refused_clearly() {
    let err = sunward_render::subset::subset(b"ttcf....", &Default::default()).unwrap_err();
    assert!(err.to_string().contains("collection"));
}

#[test]
fn long_tables_repeat_their_header_on_every_page() {
    use sunward_render::{Block, Cell, Column, Document, Table};
    let font = font();
    let mut doc = Document::new("长表测试");
    doc.blocks.push(Block::Table(Table {
        caption: Some("表 各校名单".into()),
        columns: vec![Column::text("学校名称"), Column::numeric("在校学生数")],
        rows: (1..=120).map(|i| vec![Cell::Text(format!("第{i}学校")), Cell::number(f64::from(i * 10))]).collect(),
        totals: Some(vec![Cell::Text("合计".into()), Cell::number(72600.0)]),
        note: None,
    }));
    let bytes = pdf::render(&doc, &font).unwrap();
    let text = pdftotext(&bytes, "long-table.pdf");
    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert!(pages.len() >= 4, "title page and at least three pages of table: {}", pages.len());
    for (i, page) in pages.iter().enumerate().skip(1) {
        assert!(page.contains("学校名称") && page.contains("在校学生数"), "page {} lacks the header:\n{page}", i + 1);
    }
    for i in [1, 60, 120] {
        assert!(text.contains(&format!("第{i}学校")), "row {i} is missing");
    }
    assert!(text.contains("72600"));
}

#[test]
fn markup_renders_to_both_formats_with_the_same_figures() {
    let src = "---\ntitle: 2024年度服务简报\ngenerated: 2025-01-15\n---\n\n# 一、概况\n\n全年服务3208人次。\n\n\
               ```tiles\n服务学生人次 | 3208\n```\n\nTable: 表1 各校场次\n\n| 学校 | 场次 |\n|---|---:|\n\
               | 甲校 | 12 |\n| 乙校 | <5 |\n| 丙校 | — |\n| **合计** | 22 |\n";
    let doc = sunward_render::markup::parse(src).unwrap();
    let html = sunward_render::html::render(&doc);
    let text = pdftotext(&pdf::render(&doc, &font()).unwrap(), "markup.pdf");
    for needle in ["2024年度服务简报", "一、概况", "全年服务3208人次。", "表1 各校场次", "甲校", "<5", "—", "22"]
    {
        assert!(text.contains(needle), "pdf lacks {needle:?}:\n{text}");
        assert!(html.contains(&sunward_render::html::esc(needle)), "html lacks {needle:?}");
    }
}
