//! The Word renderer checked the way a reader would meet it: the .docx is
//! opened by LibreOffice (headless), printed to PDF, and `pdftotext` must
//! find the title, the headings, the table's figures and publication
//! markers, the captions, the notes and the page numbers.
//!
//! Needs LibreOffice Writer (`soffice`), `pdftotext` and the report font —
//! all installed or written by `scripts/prepare-fonts.sh`; without them these
//! tests fail and say so — they never skip.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sunward_render::{BarChart, Block, Cell, Chart, Column, Document, Lang, Meta, Table, Tile, docx, sample};

/// A scratch folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sunward-docx").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The text of each page of a PDF.
fn pdftotext_pages(pdf: &Path) -> Vec<String> {
    let out =
        Command::new("pdftotext").args(["-enc", "UTF-8", "-layout"]).arg(pdf).arg("-").output().unwrap_or_else(|e| {
            panic!("cannot run pdftotext ({e}): run scripts/prepare-fonts.sh, which installs poppler-utils")
        });
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().split('\u{c}').map(str::to_string).collect()
}

/// Renders, writes, converts and reads back a document: the text per page.
fn through_libreoffice(doc: &Document, name: &str) -> Vec<String> {
    let path = write_docx(doc, name);
    let pdf = common::soffice_convert(&path, path.parent().unwrap(), "pdf");
    pdftotext_pages(&pdf)
}

/// Renders a document into a fresh scratch folder; the .docx's path.
fn write_docx(doc: &Document, name: &str) -> PathBuf {
    let bytes = docx::render(doc).unwrap();
    let path = scratch(name).join(format!("{name}.docx"));
    std::fs::write(&path, &bytes).unwrap();
    path
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect()
}

/// A short Chinese report with everything a reader must find.
fn chinese_report() -> Document {
    Document {
        title: "2024年度学校社会工作服务年报".into(),
        subtitle: Some("向阳社工服务中心".into()),
        meta: Meta {
            organisation: Some("向阳社工服务中心".into()),
            period: Some("2024年1月—12月".into()),
            generated: Some("2025-01-15".into()),
            ..Meta::default()
        },
        lang: Lang::ZhCn,
        blocks: vec![
            Block::Heading { level: 1, text: "一、年度概况".into() },
            Block::Paragraph { text: "全年累计服务学生3208人次，较上年增长12%。".into() },
            Block::KeyFigures {
                tiles: vec![
                    Tile {
                        label: "服务学生人次".into(), value: "3208".into(), note: Some("较上年 +12%".into())
                    },
                    Tile { label: "个案辅导场次".into(), value: "134".into(), note: None },
                ],
            },
            Block::Heading { level: 2, text: "（一）各校服务".into() },
            Block::Table(Table {
                caption: Some("表1 各校服务场次（2024年度）".into()),
                columns: vec![Column::text("学校"), Column::numeric("个案辅导"), Column::numeric("占比")],
                rows: vec![
                    vec![Cell::Text("青柳湖中学".into()), Cell::number(96.0), Cell::Withheld("—".into())],
                    vec![Cell::Text("石浦小学".into()), Cell::Suppressed("<5".into()), Cell::Withheld("—".into())],
                    vec![
                        Cell::Text("金家庄小学".into()),
                        Cell::number(35.0),
                        Cell::Number { value: 0.27, display: "27%".into() },
                    ],
                ],
                totals: Some(vec![Cell::Text("合计".into()), Cell::number(134.0), Cell::Empty]),
                note: Some("数据来源：服务记录导出。".into()),
            }),
            Block::Figure {
                caption: "图1 各类服务覆盖学生人次".into(),
                chart: Chart::Bar(BarChart {
                    categories: vec!["成长课堂".into(), "小组活动".into(), "个案辅导".into()],
                    values: vec![2913.0, 351.0, 134.0],
                    labels: None,
                    unit: Some("人次".into()),
                    tally: false,
                }),
            },
            Block::Note {
                text: "注：“<5”表示少于5人次，“—”表示按发布规则不予公布。".into()
            },
        ],
    }
}

#[test]
fn libreoffice_reads_the_chinese_report() {
    let pages = through_libreoffice(&chinese_report(), "report-zh");
    let all = pages.join("\n");
    let flat = squeeze(&all);
    for needle in [
        "2024年度学校社会工作服务年报",
        "生成日期：2025年1月15日",
        "一、年度概况",
        "（一）各校服务",
        "表1各校服务场次（2024年度）",
        "青柳湖中学",
        "96",
        "134",
        "27%",
        "<5",
        "—",
        "合计",
        "数据来源：服务记录导出。",
        "图1各类服务覆盖学生人次",
        "注：“<5”表示少于5人次",
        "3208",
        "服务学生人次",
    ] {
        assert!(flat.contains(&squeeze(needle)), "the PDF LibreOffice printed lacks {needle:?}:\n{all}");
    }
    // The suppressed and withheld markers sit in their rows, as Cell::display gives them.
    let row = all.lines().find(|l| l.contains("石浦小学")).unwrap_or_else(|| panic!("no 石浦小学 row:\n{all}"));
    assert!(row.contains("<5") && row.contains('—'), "{row}");
    // The title page has no number; the next page is 第2页, in the footer.
    assert!(pages.len() >= 2, "{} pages", pages.len());
    assert!(!squeeze(&pages[0]).contains("第1页"), "{}", pages[0]);
    let footer = pages[1].lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    assert_eq!(footer.trim(), "第2页", "page 2 ends with its number:\n{}", pages[1]);
    // No CJK compatibility ideographs: 年 must come out as U+5E74.
    assert!(!all.chars().any(|c| ('\u{F900}'..='\u{FAFF}').contains(&c)), "{all}");
}

#[test]
fn libreoffice_shows_every_text_of_the_sample_report() {
    for (lang, name) in [(Lang::ZhCn, "sample-zh"), (Lang::En, "sample-en")] {
        let doc = sample::document(lang);
        let pages = through_libreoffice(&doc, name);
        let flat = squeeze(&pages.join("\n"));
        for t in doc.texts() {
            assert!(flat.contains(&squeeze(&t)), "{name}: the printed report lacks {t:?}");
        }
        // Every page after the title page ends with its own number.
        let printed: Vec<&String> = pages.iter().filter(|p| !p.trim().is_empty()).collect();
        assert!(printed.len() >= 3, "{name}: {} pages", printed.len());
        for (i, page) in printed.iter().enumerate().skip(1) {
            let last = page.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
            let want = if lang == Lang::ZhCn { format!("第{}页", i + 1) } else { format!("Page{}", i + 1) };
            assert_eq!(squeeze(last), want, "{name}: page {} ends with {last:?}", i + 1);
        }
    }
}

#[test]
fn long_tables_repeat_their_header_row_on_every_page() {
    let mut doc = Document::new("长表测试");
    doc.blocks.push(Block::Table(Table {
        caption: Some("表 各校名单".into()),
        columns: vec![Column::text("学校名称"), Column::numeric("在校学生数")],
        rows: (1..=120).map(|i| vec![Cell::Text(format!("第{i}学校")), Cell::number(f64::from(i * 10))]).collect(),
        totals: Some(vec![Cell::Text("合计".into()), Cell::number(72600.0)]),
        note: None,
    }));
    let pages = through_libreoffice(&doc, "long-table");
    // Page 1 is the title page; the table runs over pages 2, 3, ….
    let table_pages: Vec<&String> = pages.iter().skip(1).filter(|p| p.contains("学校")).collect();
    assert!(table_pages.len() >= 3, "{} pages hold the table", table_pages.len());
    for (i, page) in table_pages.iter().enumerate() {
        // The first line after the caption (on the first page) or at the top of the page.
        let first = page.lines().find(|l| !l.trim().is_empty() && !l.contains("表 各校名单")).unwrap_or_default();
        assert!(first.contains("学校名称") && first.contains("在校学生数"), "page {} starts with {first:?}", i + 2);
    }
    let flat = squeeze(&pages.join(""));
    assert!(flat.contains("第120学校") && flat.contains("72600"));
}

#[test]
fn libreoffice_sees_the_headings_as_an_outline() {
    let path = write_docx(&chinese_report(), "outline");
    let odt = common::soffice_convert(&path, path.parent().unwrap(), "odt");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&odt).unwrap()).unwrap();
    let mut content = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("content.xml").unwrap(), &mut content).unwrap();
    for (level, text) in [(1, "一、年度概况"), (2, "（一）各校服务")] {
        let start = content.find(text).unwrap_or_else(|| panic!("no {text:?} in content.xml"));
        let open = &content[content[..start].rfind('<').unwrap()..start];
        assert!(
            open.starts_with("<text:h") && open.contains(&format!("text:outline-level=\"{level}\"")),
            "{text} is not a level-{level} heading: {open}"
        );
    }
}
