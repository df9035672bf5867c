//! The official style measured against GB/T 9704-2012's rules, through the
//! PDF a reader gets: `pdftotext -bbox-layout` gives every line's box in
//! points, and the page content gives each text's face and size.
//!
//! What is measured: the text area (156 × 225 mm, 37 mm from the top and
//! 28 mm from the left), 22 lines to the page and 28 characters to the
//! line of 三号 (16 pt) body text, the faces (a Song body, 黑体 level 1
//! and 楷体 level 2 headings, a Song title of 二号), paragraphs indented two
//! characters, the attachment list two characters in with its numbers
//! aligned, each attachment on a new page under `附件N`, the signature never
//! on a page without body text, the annotation with it, the imprint at the
//! foot of the last page, page numbers 7 mm under the text area on the outer
//! edge, and a two-line title broken between phrases.
//!
//! Needs the fonts and `pdftotext` (`scripts/prepare-fonts.sh`).

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use sunward_render::{markup, pdf};

/// Millimetres per point.
const MM: f64 = 25.4 / 72.0;

/// A long official report with two levels of headings, long paragraphs of
/// Chinese only (so full lines hold only full-width characters), a note, two
/// attachments with tables, and an imprint.
fn report() -> String {
    let para = "全区各校按照统一部署开展学生心理健康工作，建立健全筛查预警转介干预机制，做到早发现早报告早干预，\
                切实维护学生身心健康和生命安全，各项工作稳步推进并取得明显成效，家校社协同育人格局基本形成。";
    // A paragraph without punctuation, whose full lines no layout can squeeze.
    let plain = "全区各校按照统一部署开展学生心理健康工作建立健全筛查预警转介干预机制做到早发现早报告早干预\
                 切实维护学生身心健康和生命安全各项工作稳步推进并取得明显成效家校社协同育人格局基本形成";
    let mut body = String::new();
    for (h1, h2s) in [
        ("一、主要工作", ["（一）完善工作机制", "（二）加强队伍建设"]),
        ("二、存在问题", ["（一）专业力量不足", "（二）资源分布不均"]),
        ("三、下一步打算", ["（一）健全预警体系", "（二）深化家校协同"]),
    ] {
        body.push_str(&format!("# {h1}\n\n"));
        for h2 in h2s {
            body.push_str(&format!("## {h2}\n\n{para}{para}\n\n{para}\n\n"));
        }
    }
    format!(
        "---
title: 太仓市教育局关于2024学年学生心理健康工作情况的报告
organisation: 太仓市教育局
generated: 2025-10-20
style: official
doc_number: 太教〔2025〕12号
recipient: 市人民政府：
signer: 张三
copies_to: 市卫生健康委员会，市民政局
printed_by: 太仓市教育局办公室
audience: 此件公开发布
---

现将太仓市2024学年学生心理健康工作的主要情况报告如下。

{plain}

{body}
特此报告。

Attachment: 各学年极端事件发生率

| 学年 | 在校学生 | 极端事件 |
|---|---:|---:|
| 2023学年 | 31013 | 127 |
| 2024学年 | 31161 | 87 |

Attachment: 各学年覆盖与筛查闭环情况

| 学年 | 筛查覆盖率 | 闭环率 |
|---|---:|---:|
| 2023学年 | 99% | 71% |
| 2024学年 | 99% | 73% |
"
    )
}

/// One line of text as pdftotext places it, in millimetres from the page's top left.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

/// Renders the report with the official faces and reads its lines, page by page.
fn rendered() -> (Vec<u8>, Vec<Vec<Line>>) {
    let doc = markup::parse(&report()).unwrap_or_else(|e| panic!("{e}"));
    let font = pdf::load_font().unwrap_or_else(|e| panic!("{e}"));
    let faces = pdf::OfficialFaces::load().unwrap_or_else(|e| panic!("{e}"));
    let bytes = pdf::render_with(&doc, &font, Some(&faces)).unwrap();
    let dir = match std::env::var_os("SUNWARD_KEEP") {
        Some(keep) => PathBuf::from(keep),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sunward-gbt9704"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    // One file per call: the tests run in parallel in one process.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("official-{}-{n}.pdf", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-bbox-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("cannot run pdftotext ({e}): run scripts/prepare-fonts.sh"));
    assert!(out.status.success());
    let xml = String::from_utf8(out.stdout).unwrap();
    (bytes, lines_of(&xml))
}

/// The `<line>` boxes of `pdftotext -bbox-layout`, with their words joined.
fn lines_of(xml: &str) -> Vec<Vec<Line>> {
    let attr = |tag: &str, name: &str| -> f64 {
        let key = format!("{name}=\"");
        let at = tag.find(&key).unwrap() + key.len();
        tag[at..].split('"').next().unwrap().parse::<f64>().unwrap() * MM
    };
    let mut pages = Vec::new();
    for page in xml.split("<page ").skip(1) {
        let mut lines = Vec::new();
        for chunk in page.split("<line ").skip(1) {
            let tag = chunk.split('>').next().unwrap();
            let text: String = chunk
                .split("<word ")
                .skip(1)
                .map(|w| w.split('>').nth(1).unwrap().split('<').next().unwrap().to_string())
                .collect();
            lines.push(Line {
                text,
                x0: attr(tag, "xMin"),
                y0: attr(tag, "yMin"),
                x1: attr(tag, "xMax"),
                y1: attr(tag, "yMax"),
            });
        }
        pages.push(lines);
    }
    pages
}

fn find<'a>(pages: &'a [Vec<Line>], text: &str) -> (usize, &'a Line) {
    pages
        .iter()
        .enumerate()
        .find_map(|(p, lines)| lines.iter().find(|l| l.text.contains(text)).map(|l| (p, l)))
        .unwrap_or_else(|| panic!("no line holds {text:?}"))
}

fn near(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// Whether a line is a body line: 16 pt type in the Song face (whose box
/// pdftotext draws 16.4 pt high; the 黑体's is taller).
fn is_body(l: &Line) -> bool {
    near(l.y1 - l.y0, 16.4 * MM, 0.3 * MM) && !l.text.starts_with('—')
}

#[test]
fn text_stays_in_the_text_area_and_page_numbers_sit_under_it_on_the_outer_edge() {
    let (_, pages) = rendered();
    assert!(pages.len() >= 4, "{} pages", pages.len());
    for (p, lines) in pages.iter().enumerate() {
        for l in lines {
            assert!(l.x0 >= 28.0 - 0.2 && l.x1 <= 184.0 + 0.2, "page {}: {l:?} leaves the 156 mm measure", p + 1);
            if l.text.starts_with('—') {
                // `— 2 —`: 四号, its top about 7 mm under the text area's bottom edge (262 mm).
                assert!(near(l.y0, 262.0 + 7.0, 2.0), "page {}: page number at {:.1} mm", p + 1, l.y0);
                let outer =
                    if p % 2 == 0 { near(l.x1, 184.0 - 14.0 * MM, 1.0) } else { near(l.x0, 28.0 + 14.0 * MM, 1.0) };
                assert!(outer, "page {}: page number {l:?} not a character in from the outer edge", p + 1);
                assert!(l.text.contains(&(p + 1).to_string()), "page {}: {l:?}", p + 1);
            } else {
                assert!(l.y1 <= 262.0 + 0.5, "page {}: {l:?} goes below the text area", p + 1);
                assert!(!is_body(l) || l.y0 >= 37.0 - 0.5, "page {}: {l:?} starts above the text area", p + 1);
            }
        }
    }
}

#[test]
fn body_text_is_22_lines_of_28_characters_on_a_full_page() {
    let (_, pages) = rendered();
    let pitch = 225.0 / 22.0;
    let text_lines = |lines: &Vec<Line>| lines.iter().filter(|l| !l.text.starts_with('—')).count();
    // No page holds more than 22 lines, and the pages the body fills hold 22 (headings included).
    assert!(pages.iter().all(|p| text_lines(p) <= 22), "{:?}", pages.iter().map(text_lines).collect::<Vec<_>>());
    assert!(pages.iter().any(|p| text_lines(p) == 22), "{:?}", pages.iter().map(text_lines).collect::<Vec<_>>());
    // Every body line lies on the grid: whole lines of 225/22 mm apart.
    for (p, lines) in pages.iter().enumerate().skip(1) {
        let body: Vec<&Line> = lines.iter().filter(|l| is_body(l)).collect();
        for pair in body.windows(2) {
            let steps = (pair[1].y0 - pair[0].y0) / pitch;
            assert!(
                (steps - steps.round()).abs() < 0.01 && steps >= 0.99,
                "page {}: {steps:.3} lines between {:?} and {:?}",
                p + 1,
                pair[0],
                pair[1]
            );
        }
    }
    let body: Vec<&Line> = pages.iter().flatten().filter(|l| is_body(l)).collect();
    // A full line of a paragraph (neither its first, indented, nor its last) holds 28 characters and fills the measure.
    let full: Vec<&&Line> = body.iter().filter(|l| near(l.x0, 28.0, 0.2) && l.x1 > 180.0).collect();
    assert!(full.len() >= 10, "{full:#?}");
    for l in full {
        assert_eq!(l.text.chars().count(), 28, "{l:?}");
        assert!(near(l.x1, 184.0, 0.3), "a full line ends at {:.2} mm: {l:?}", l.x1);
    }
    // Paragraphs and headings are indented two characters (2 × 156/28 mm).
    let (_, first) = find(&pages, "现将太仓市");
    assert!(near(first.x0, 28.0 + 2.0 * 156.0 / 28.0, 0.2), "{first:?}");
    let (_, heading) = find(&pages, "一、主要工作");
    assert!(near(heading.x0, 28.0 + 2.0 * 156.0 / 28.0, 0.2), "{heading:?}");
}

/// The sizes each face is set at, from the `Tf` operators of the page
/// contents, by the face's name (`ABCDEF+BousungEG-Light-GB`).
fn fonts_and_sizes(bytes: &[u8]) -> BTreeMap<String, Vec<f64>> {
    use lopdf::Object;
    let pdf = lopdf::Document::load_mem(bytes).unwrap();
    // Resource name (`F2`) → the font's BaseFont, from every font resource dictionary in the file.
    let mut names: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    for object in pdf.objects.values() {
        let Ok(dict) = object.as_dict() else { continue };
        let Ok(fonts) = dict.get(b"Font").and_then(|f| pdf.dereference(f)).and_then(|(_, f)| f.as_dict()) else {
            continue;
        };
        for (key, value) in fonts.iter() {
            let base = pdf
                .dereference(value)
                .ok()
                .and_then(|(_, f)| f.as_dict().ok())
                .and_then(|f| f.get(b"BaseFont").ok())
                .and_then(|b| Object::as_name(b).ok())
                .map(|b| String::from_utf8_lossy(b).to_string());
            if let Some(base) = base {
                names.insert(key.clone(), base);
            }
        }
    }
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (_, id) in pdf.get_pages() {
        let content = lopdf::content::Content::decode(&pdf.get_page_content(id)).unwrap();
        for op in content.operations.iter().filter(|o| o.operator == "Tf") {
            let name = op.operands[0].as_name().unwrap().to_vec();
            let size = f64::from(op.operands[1].as_float().unwrap());
            out.entry(names.get(&name).cloned().unwrap_or_default()).or_default().push(size);
        }
    }
    out
}

#[test]
fn the_faces_and_sizes_are_the_standards() {
    let (bytes, _) = rendered();
    let fonts = fonts_and_sizes(&bytes);
    let faces = pdf::OfficialFaces::load().unwrap();
    let main = pdf::load_font().unwrap();
    let name = |bytes: &[u8]| sunward_render::subset::postscript_name(bytes).unwrap();
    let face = |bytes: &[u8]| {
        let part = name(bytes);
        fonts
            .iter()
            .find(|(n, _)| n.ends_with(&format!("+{part}")))
            .unwrap_or_else(|| panic!("no {part} face among {:?}", fonts.keys().collect::<Vec<_>>()))
            .1
    };
    // The Song face: the body at 三号 (16 pt), the title at 二号 (22 pt), the mark larger, page numbers at 四号 (14 pt).
    let song = face(&faces.song);
    for size in [16.0, 22.0, 14.0] {
        assert!(song.contains(&size), "the Song face is not used at {size} pt: {song:?}");
    }
    // 楷体 for level 2 headings, at 三号.
    let kai = face(&faces.kai);
    assert!(kai.iter().all(|s| *s == 16.0), "{kai:?}");
    // 黑体 (the report face) for level 1 headings and the attachment labels, at 三号 (and tables in the attachments).
    let hei = face(&main);
    assert!(hei.contains(&16.0), "{hei:?}");
}

#[test]
fn attachments_are_listed_after_the_body_and_each_starts_a_page() {
    let (_, pages) = rendered();
    let em = 156.0 / 28.0;
    let (p1, first) = find(&pages, "附件：1．");
    assert!(near(first.x0, 28.0 + 2.0 * em, 0.2), "{first:?}");
    let (p2, second) = find(&pages, "2．各学年覆盖");
    assert_eq!(p1, p2);
    // `2．` sits under `1．`: three characters (附件：) further in.
    assert!(near(second.x0, first.x0 + 3.0 * em, 0.3), "{second:?} is not under {first:?}");
    // The signature follows the list, the annotation follows the signature, on the same page.
    let (ps, issuer) = pages
        .iter()
        .enumerate()
        .find_map(|(p, lines)| lines.iter().find(|l| l.text == "太仓市教育局").map(|l| (p, l)))
        .expect("no issuer line");
    let (pd, _) = find(&pages, "2025年10月20日");
    let (pa, _) = find(&pages, "（此件公开发布）");
    assert!(ps >= p1 && pd == ps && pa == ps, "list p{p1}, issuer p{ps}, date p{pd}, annotation p{pa}");
    // Never a signature page without body text: something at body size sits above the issuer.
    assert!(
        pages[ps].iter().any(|l| is_body(l) && l.y1 < issuer.y0 && !l.text.contains("附件")),
        "the signature's page holds no body text: {:#?}",
        pages[ps]
    );
    // Each attachment starts a new page: `附件N` on its first line, flush left, the title centred below it.
    for (n, title) in [(1, "各学年极端事件发生率"), (2, "各学年覆盖与筛查闭环情况")] {
        let label = format!("附件{n}");
        let (page, l) = pages
            .iter()
            .enumerate()
            .skip(pa + 1)
            .find_map(|(p, lines)| lines.iter().find(|l| l.text == label).map(|l| (p, l)))
            .unwrap_or_else(|| panic!("no page starts with {label}"));
        // (黑体's box is taller than its type: the label is checked as the page's first line.)
        assert!(near(l.x0, 28.0, 0.2), "{l:?}");
        assert!(pages[page].iter().all(|o| o.y0 >= l.y0), "{label} is not the first line of its page");
        let t = pages[page].iter().find(|l| l.text == title).unwrap_or_else(|| panic!("{title} not on its page"));
        assert!(near((t.x0 + t.x1) / 2.0, 106.0, 0.5), "{title} is not centred: {t:?}");
        assert!(t.y0 > l.y1, "{t:?}");
    }
}

#[test]
fn the_imprint_sits_at_the_foot_of_the_last_page() {
    let (_, pages) = rendered();
    let last = pages.len() - 1;
    let (p, printed) = find(&pages, "印发");
    assert_eq!(p, last, "the imprint is not on the last page");
    assert!(printed.y1 > 250.0, "the printing line ends at {:.1} mm, not at the foot", printed.y1);
    let (p, copies) = find(&pages, "抄送：");
    assert_eq!(p, last);
    assert!(copies.y0 < printed.y0);
}

#[test]
fn a_two_line_title_breaks_between_phrases() {
    let (_, pages) = rendered();
    let (_, first) = find(&pages, "太仓市教育局关于");
    assert_eq!(first.text, "太仓市教育局关于2024学年", "{first:?}");
    let (_, second) = find(&pages, "学生心理健康工作情况的报告");
    assert_eq!(second.text, "学生心理健康工作情况的报告");
    // 二号 (22 pt) type: the Song face's box is 1.02 em high.
    assert!(near(first.y1 - first.y0, 22.5 * MM, 0.4 * MM), "{first:?}");
}

/// The Word file as LibreOffice prints it: 28 characters to a full body line too.
#[test]
fn word_lines_hold_28_characters() {
    let doc = markup::parse(&report()).unwrap_or_else(|e| panic!("{e}"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sunward-gbt9704-word-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("official.docx");
    std::fs::write(&path, sunward_render::docx::render(&doc).unwrap()).unwrap();
    let pdf = common::soffice_convert(&path, &dir, "pdf");
    let text = Command::new("pdftotext").args(["-enc", "UTF-8", "-bbox-layout"]).arg(&pdf).arg("-").output().unwrap();
    let pages = lines_of(&String::from_utf8(text.stdout).unwrap());
    // The title breaks between phrases in Word too.
    let squeezed = |l: &Line| l.text.split_whitespace().collect::<String>();
    assert!(pages[0].iter().any(|l| squeezed(l) == "太仓市教育局关于2024学年"), "{:#?}", pages[0]);
    // Lines of ideographs only (the paragraph without punctuation, which no layout can squeeze).
    let ideographs = |l: &&Line| l.text.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || c.is_whitespace());
    let longest =
        pages.iter().flatten().filter(ideographs).map(|l| l.text.chars().filter(|c| !c.is_whitespace()).count()).max();
    assert_eq!(longest, Some(28), "{:#?}", pages.iter().flatten().filter(ideographs).collect::<Vec<_>>());
}
