//! The organisation's own text keeps its Markdown (bold lead-ins, numbered
//! plans) and the official style (GB/T 9704-2012) — checked in all three
//! renderers the way a reader meets them: `pdftotext` on the PDF, the HTML
//! source, and the Word file's XML and LibreOffice's PDF of it.
//!
//! Needs the report font, `pdftotext` and LibreOffice (`soffice`), as the
//! other renderer tests do; set `SUNWARD_KEEP=dir` to keep the rendered
//! files there for a look.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sunward_render::{Block, DocStyle, Document, docx, html, markup, pdf};

/// A bureau's annual summary to the district government, as a template writes it.
const SUMMARY: &str = "---
title: 青浦区教育局关于2025年度学校心理健康工作情况的报告
organisation: 青浦区教育局
period: 2025年
generated: 2025-10-20
style: official
doc_number: 青教〔2025〕12号
recipient: 区人民政府：
audience: 此件公开发布
---

2025年，区教育局按照区政府的部署，持续推进学生心理健康工作，现将有关情况报告如下。

# 一、主要工作

**一是加强队伍建设。**全区配备专职心理教师48名，兼职心理辅导员213名，实现中小学全覆盖。

**二是完善筛查机制。**全年开展心理健康筛查两轮，覆盖学生31256人次，对需要关注的学生*及时*建立档案。

**三是推进家校协同。**举办家长课堂126场，参与家长9800余人次。

# 二、存在的问题

部分学校心理辅导室使用率不高，专职教师工作量不均衡，个别学校转介流程不够顺畅，需要在下一年度着力解决。

# 三、2026年工作计划

1. **完善三级预警网络**，年内实现区、校、班三级联动，预警信息48小时内处置完毕。
2. 开展专职心理教师全员培训，每人不少于40学时。
3. 建立学校心理健康工作评估制度，评估结果纳入学校年度考核。

特此报告。
";

fn font() -> Vec<u8> {
    pdf::load_font().unwrap_or_else(|e| panic!("{e}"))
}

fn summary() -> Document {
    markup::parse(SUMMARY).unwrap_or_else(|e| panic!("{e}"))
}

/// A folder for this test's files: `SUNWARD_KEEP` if set, else a scratch folder.
fn scratch(name: &str) -> PathBuf {
    let dir = match std::env::var_os("SUNWARD_KEEP") {
        Some(keep) => PathBuf::from(keep),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sunward-official").join(name),
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The text of each page of a PDF file (`-layout` keeps right-aligned text right).
fn pdftotext_pages(path: &Path) -> Vec<String> {
    pdftotext_with(path, &["-layout"])
}

/// The text of each page in reading order (without `-layout`, which packs
/// words closer than a character's width together, as in `—1—`).
fn pdftotext_raw(path: &Path) -> Vec<String> {
    pdftotext_with(path, &[])
}

fn pdftotext_with(path: &Path, args: &[&str]) -> Vec<String> {
    let out =
        Command::new("pdftotext").args(["-enc", "UTF-8"]).args(args).arg(path).arg("-").output().unwrap_or_else(|e| {
            panic!("cannot run pdftotext ({e}): run scripts/prepare-fonts.sh, which installs poppler-utils")
        });
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    while pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// Converts a .docx to PDF with LibreOffice, beside it.
fn soffice_pdf(docx: &Path) -> PathBuf {
    common::soffice_convert(docx, docx.parent().unwrap(), "pdf")
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect()
}

/// A part of the .docx package as text.
fn part(bytes: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    zip.by_name(name).unwrap_or_else(|_| panic!("no part {name}")).read_to_string(&mut s).unwrap();
    s
}

#[test]
fn the_summary_markup_reads_as_official_with_bold_lead_ins_and_a_numbered_plan() {
    let doc = summary();
    assert_eq!(doc.meta.style, DocStyle::Official);
    assert!(doc.blocks.iter().any(|b| matches!(b, Block::RichParagraph { .. })));
    let Some(Block::List(plan)) = doc.blocks.iter().find(|b| matches!(b, Block::List(_))) else { panic!() };
    assert!(plan.ordered);
    assert_eq!(plan.items.len(), 3);
    doc.check().unwrap();
}

#[test]
fn pdf_keeps_the_bold_lead_in_once_and_the_plan_numbers() {
    let bytes = pdf::render(&summary(), &font()).unwrap();
    let path = scratch("pdf").join("official-summary.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let pages = pdftotext_pages(&path);
    let all = pages.join("\n");
    let flat = squeeze(&all);
    // The lead-in is printed once (bold by stroking the glyphs, not by printing them twice).
    assert_eq!(flat.matches("一是加强队伍建设。").count(), 1, "{all}");
    assert!(flat.contains("一是加强队伍建设。全区配备专职心理教师48名"), "{all}");
    // Bold is drawn as text render mode 2 (fill and stroke) — the PDF has it.
    let content = pdf_page_contents(&bytes);
    assert!(content.contains("2 Tr"), "no stroked (bold) text in the page content");
    // The plan keeps its numbers, each at the start of its line.
    for (n, text) in [(1, "完善三级预警网络"), (2, "开展专职心理教师全员培训"), (3, "建立学校心理健康工作评估制度")]
    {
        let line = all.lines().find(|l| l.contains(text)).unwrap_or_else(|| panic!("no {text}:\n{all}"));
        assert!(line.trim_start().starts_with(&format!("{n}.")), "{line:?}");
    }
}

#[test]
fn pdf_official_style_has_the_mark_recipient_date_and_dash_page_numbers() {
    let bytes = pdf::render(&summary(), &font()).unwrap();
    let path = scratch("pdf-official").join("official.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let pages = pdftotext_pages(&path);
    assert!(pages.len() >= 2, "{} pages", pages.len());
    let first = &pages[0];
    let lines: Vec<&str> = first.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    // The authority's mark comes first (no title page), then the number, the title, the recipient.
    assert_eq!(lines[0], "青浦区教育局文件", "{first}");
    assert_eq!(lines[1], "青教〔2025〕12号", "{first}");
    let recipient = lines.iter().position(|l| *l == "区人民政府：").unwrap_or_else(|| panic!("{first}"));
    assert!(squeeze(&lines[2..recipient].concat()).contains("青浦区教育局关于2025年度学校心理健康工作情况的报告"));
    assert!(first.contains("— 1 —"), "{first}");
    assert!(pages[1].contains("— 2 —"), "{}", pages[1]);
    // Page numbers sit on the outer edge: page 1's on the right, page 2's on the left,
    // each a character in from the text area (the body's lines start at column 0 or so).
    let column = |page: &str, number: &str| {
        let line = page.lines().find(|l| l.contains(number)).unwrap_or_else(|| panic!("{page}"));
        line.find('—').unwrap()
    };
    let (odd, even) = (column(first, "— 1 —"), column(&pages[1], "— 2 —"));
    // (pdftotext -layout counts a Chinese character as one column: a line of body text is
    // about 28, and a centred number would stand near 13 on both pages.)
    assert!(odd >= 20, "page 1's number on the right: column {odd}");
    assert!(even <= 3, "page 2's number on the left: column {even}");
    assert!(!squeeze(&pages.concat()).contains("第2页"));
    // The issuer and the date close the document, right of centre.
    let last = pages.last().unwrap();
    let tail: Vec<&str> = last.lines().filter(|l| !l.trim().is_empty()).collect();
    let date = tail.iter().position(|l| l.trim() == "2025年10月20日").unwrap_or_else(|| panic!("{last}"));
    assert_eq!(tail[date - 1].trim(), "青浦区教育局");
    assert!(tail[date].find('2').unwrap() > 15, "the date is right-aligned: {:?}", tail[date]);
    assert!(squeeze(last).contains("（此件公开发布）"));
    // Every text of the document is there.
    let flat = squeeze(&pages.concat());
    for t in summary().texts() {
        assert!(flat.contains(&squeeze(&t)), "pdftotext lacks {t:?}");
    }
}

/// The page content streams of a PDF, decompressed, concatenated.
fn pdf_page_contents(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).unwrap();
    let mut out = String::new();
    for id in doc.get_pages().values() {
        out.push_str(&String::from_utf8_lossy(&doc.get_page_content(*id)));
    }
    out
}

#[test]
fn html_has_strong_ordered_lists_and_the_official_elements() {
    let doc = summary();
    let out = html::render(&doc);
    std::fs::write(scratch("html").join("official.html"), &out).unwrap();
    assert!(out.contains("<p><strong>一是加强队伍建设。</strong>全区配备专职心理教师48名"), "{out}");
    assert!(out.contains("<em>及时</em>"));
    assert!(out.contains("<ol>\n<li><strong>完善三级预警网络</strong>，年内实现"), "{out}");
    assert!(out.contains("<p class=\"issuer-mark\">青浦区教育局文件</p>"));
    assert!(out.contains("<p class=\"doc-number\">青教〔2025〕12号</p>"));
    assert!(out.contains("<hr class=\"red-rule\">"));
    assert!(out.contains("<p class=\"recipient\">区人民政府：</p>"));
    assert!(out.contains(
        "<footer class=\"signature\"><p class=\"issuer\">青浦区教育局</p><p class=\"date\">2025年10月20日</p></footer>"
    ));
    assert!(out.contains("<p class=\"annotation\">（此件公开发布）</p>"));
    assert!(out.contains("content: \"— \" counter(page) \" —\""));
    // No title page facts and no colophon in an official document.
    assert!(!out.contains("<header class=\"title-page\">") && !out.contains("<footer class=\"colophon\">"));
    // Every text, once the inline tags are taken out.
    let plain = out.replace("<strong>", "").replace("</strong>", "").replace("<em>", "").replace("</em>", "");
    for t in doc.texts() {
        assert!(plain.contains(&html::esc(&t)), "html lacks {t:?}");
    }
    // A list starting elsewhere keeps its number.
    let doc = markup::parse("---\ntitle: t\n---\n\n3. 丙\n4. 丁\n\n- 甲\n").unwrap();
    let out = html::render(&doc);
    assert!(out.contains("<ol start=\"3\">\n<li>丙</li>\n<li>丁</li>\n</ol>\n<ul>\n<li>甲</li>\n</ul>"), "{out}");
}

#[test]
fn word_has_bold_runs_numbering_and_the_official_layout() {
    let bytes = docx::render(&summary()).unwrap();
    let body = part(&bytes, "word/document.xml");
    assert!(
        body.contains("<w:r><w:rPr><w:b/><w:bCs/></w:rPr><w:t xml:space=\"preserve\">一是加强队伍建设。</w:t></w:r>"),
        "{body}"
    );
    assert!(body.contains("<w:em w:val=\"dot\"/></w:rPr><w:t xml:space=\"preserve\">及时</w:t>"));
    assert_eq!(body.matches("<w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr>").count(), 3);
    let numbering = part(&bytes, "word/numbering.xml");
    assert!(numbering.contains("<w:numFmt w:val=\"decimal\"/><w:lvlText w:val=\"%1.\"/>"), "{numbering}");
    assert!(numbering.contains("<w:num w:numId=\"1\"><w:abstractNumId w:val=\"0\"/>"));
    assert!(part(&bytes, "[Content_Types].xml").contains("/word/numbering.xml"));
    assert!(part(&bytes, "word/_rels/document.xml.rels").contains("Target=\"numbering.xml\""));
    // Official: red mark, red rule, no title page, `— PAGE —` on every page.
    assert!(body.contains("<w:color w:val=\"C00000\"/><w:sz w:val=\"72\"/>"));
    assert!(body.contains("<w:bottom w:val=\"single\" w:sz=\"18\" w:space=\"1\" w:color=\"C00000\"/>"));
    assert!(!body.contains("<w:titlePg/>") && !body.contains("w:type=\"page\""));
    let footer = part(&bytes, "word/footer1.xml");
    assert!(footer.contains("—  </w:t>") && footer.contains(" PAGE ") && footer.contains("  —</w:t>"), "{footer}");

    let path = scratch("docx").join("official-word.docx");
    std::fs::write(&path, &bytes).unwrap();
    let converted = soffice_pdf(&path);
    let pages = pdftotext_pages(&converted);
    assert!(pages.len() >= 2, "{} pages", pages.len());
    let first: Vec<String> = pages[0].lines().map(squeeze).filter(|l| !l.is_empty()).collect();
    // (LibreOffice sets a space between Chinese and figures: `青教〔2025〕12 号`.)
    assert_eq!(first[0], "青浦区教育局文件", "{}", pages[0]);
    assert!(
        first.contains(&"青教〔2025〕12号".to_string()) && first.contains(&"区人民政府：".to_string()),
        "{}",
        pages[0]
    );
    let raw = pdftotext_raw(&converted);
    assert!(raw[0].contains("— 1 —"), "{}", raw[0]);
    assert!(raw[1].contains("— 2 —"), "{}", raw[1]);
    // On the outer edge as LibreOffice prints it: page 1's number right, page 2's left.
    let column = |page: &str, number: &str| {
        let line = page.lines().find(|l| squeeze(l).contains(number)).unwrap_or_else(|| panic!("{page}"));
        line.find('—').unwrap()
    };
    let (odd, even) = (column(&pages[0], "—1—"), column(&pages[1], "—2—"));
    assert!(odd >= 20 && even <= 3, "page 1's number at column {odd}, page 2's at {even}");
    let all = pages.join("\n");
    // LibreOffice prints the list numbers Word would.
    for (n, text) in [(1, "完善三级预警网络"), (2, "开展专职心理教师全员培训"), (3, "建立学校心理健康工作评估制度")]
    {
        let line = all.lines().find(|l| l.contains(text)).unwrap_or_else(|| panic!("no {text}:\n{all}"));
        assert!(line.trim_start().starts_with(&format!("{n}.")), "{line:?}");
    }
    assert_eq!(squeeze(&all).matches("一是加强队伍建设。").count(), 1);
    let last = pages.last().unwrap();
    let tail: Vec<&str> = last.lines().filter(|l| !l.trim().is_empty()).collect();
    let date = tail.iter().position(|l| squeeze(l) == "2025年10月20日").unwrap_or_else(|| panic!("{last}"));
    assert_eq!(tail[date - 1].trim(), "青浦区教育局");
    assert!(tail[date].find('2').unwrap() > 15, "the date is right-aligned: {:?}", tail[date]);
}

#[test]
fn a_standard_report_keeps_bold_and_numbers_too() {
    // The same markup without `style: official`: a report with its title page.
    let src = SUMMARY.replace("style: official\n", "");
    let doc = markup::parse(&src).unwrap();
    assert_eq!(doc.meta.style, DocStyle::Standard);
    let bytes = pdf::render(&doc, &font()).unwrap();
    let path = scratch("pdf-standard").join("standard.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let all = pdftotext_pages(&path).join("\n");
    assert_eq!(squeeze(&all).matches("一是加强队伍建设。").count(), 1, "{all}");
    for n in 1..=3 {
        assert!(all.lines().any(|l| l.trim_start().starts_with(&format!("{n}. "))), "no {n}.:\n{all}");
    }
    assert!(all.contains("第2页") && !all.contains("青浦区教育局文件"));
    let bytes = docx::render(&doc).unwrap();
    let path = scratch("docx-standard").join("standard-word.docx");
    std::fs::write(&path, &bytes).unwrap();
    let all = pdftotext_pages(&soffice_pdf(&path)).join("\n");
    for n in 1..=3 {
        assert!(all.lines().any(|l| l.trim_start().starts_with(&format!("{n}."))), "no {n}.:\n{all}");
    }
}

#[test]
fn the_signature_never_stands_on_a_page_alone() {
    let font = font();
    let dir = scratch("signature");
    let mut pages_seen = std::collections::BTreeSet::new();
    for n in 6..=26 {
        let body: String = (1..=n)
            .map(|i| format!("第{i}段：全区各校按计划开展心理健康教育活动，覆盖全体学生，家校协同机制运行良好。\n\n"))
            .collect();
        let src = format!(
            "---\ntitle: 关于心理健康工作的报告\norganisation: 青浦区教育局\ngenerated: 2025-10-20\nstyle: official\n---\n\n{body}特此报告。\n"
        );
        let doc = markup::parse(&src).unwrap();
        let path = dir.join(format!("signature-{n}.pdf"));
        std::fs::write(&path, pdf::render(&doc, &font).unwrap()).unwrap();
        let pages = pdftotext_pages(&path);
        pages_seen.insert(pages.len());
        let last = squeeze(pages.last().unwrap());
        assert!(last.contains("2025年10月20日") && last.contains("特此报告。"), "{n} paragraphs: {last}");
    }
    assert!(pages_seen.len() >= 2, "the documents should cross a page boundary: {pages_seen:?}");
}

#[test]
fn the_sample_report_in_official_style_keeps_every_text() {
    // Tiles, tables and charts inside the official page: nothing is lost.
    let font = font();
    let mut doc = sunward_render::sample::document(sunward_render::Lang::ZhCn);
    doc.meta.style = DocStyle::Official;
    doc.meta.doc_number = Some("青教〔2025〕12号".into());
    doc.meta.recipient = Some("区人民政府：".into());
    let dir = scratch("sample-official");
    let path = dir.join("sample-official.pdf");
    std::fs::write(&path, pdf::render(&doc, &font).unwrap()).unwrap();
    let pages = pdftotext_pages(&path);
    let flat = squeeze(&pages.concat());
    for t in doc.texts() {
        assert!(flat.contains(&squeeze(&t)), "pdftotext lacks {t:?}");
    }
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains(&format!("— {} —", i + 1)), "page {}:\n{page}", i + 1);
        // A heading stays with the table after it, across the space set before tables.
        if page.contains("（一）各校服务") {
            assert!(page.contains("表1 各校服务场次"), "the heading ends page {}:\n{page}", i + 1);
        }
    }
    // In Word, tiles, tables and charts fit the official text width (156 mm = 8844 twips), not the report's.
    let bytes = docx::render(&doc).unwrap();
    let body = part(&bytes, "word/document.xml");
    assert!(body.contains("<w:tblW w:w=\"8844\" w:type=\"dxa\"/>"), "the table spans the text width");
    assert!(!body.contains("w:w=\"9638\""), "nothing is as wide as a report's text");
    assert!(body.contains("<wp:extent cx=\"5615940\""), "charts are 156 mm wide");
    // The chart's line is not the page's fixed 28.95 pt line, which would crop it.
    let pic = body.find("<w:drawing>").unwrap();
    let para = body[..pic].rfind("<w:p>").unwrap();
    assert!(body[para..pic].contains("w:line=\"240\" w:lineRule=\"auto\""), "{}", &body[para..pic]);
    std::fs::write(dir.join("sample-official.docx"), &bytes).unwrap();
    std::fs::write(dir.join("sample-official.html"), html::render(&doc)).unwrap();
}

/// A report to a higher authority carries its signer (签发人) on the line of
/// the document number: the number a character in from the left, the signer
/// a character in from the right — in the PDF, in Word as LibreOffice prints
/// it, and in the HTML.
#[test]
fn a_report_upward_names_its_signer_beside_the_number() {
    let mut doc = summary();
    doc.meta.signer = Some("王明".into());
    let line_of = |pages: &[String]| -> String {
        pages[0].lines().find(|l| l.contains("签发人")).unwrap_or_else(|| panic!("{}", pages[0])).to_string()
    };
    let dir = scratch("signer");
    let pdf_path = dir.join("signed.pdf");
    std::fs::write(&pdf_path, pdf::render(&doc, &font()).unwrap()).unwrap();
    let docx_path = dir.join("signed.docx");
    std::fs::write(&docx_path, docx::render(&doc).unwrap()).unwrap();
    for (what, pages) in [("PDF", pdftotext_pages(&pdf_path)), ("Word", pdftotext_pages(&soffice_pdf(&docx_path)))] {
        let line = line_of(&pages);
        let squeezed = squeeze(&line);
        assert!(squeezed.contains("青教〔2025〕12号") || squeezed.contains("青教〔2025〕12 号"), "{what}: {line}");
        assert!(squeezed.ends_with("签发人：王明"), "{what}: {line}");
        let (number, signer) = (line.find('青').unwrap(), line.find('签').unwrap());
        assert!(number <= 3 && signer > number + 15, "{what}: the number left, the signer right: {line:?}");
    }
    let html = html::render(&doc);
    assert!(html.contains("<p class=\"doc-number signed\"><span>青教〔2025〕12号</span><span>签发人：王明</span></p>"));
    // Without a signer the number stays centred on its own line.
    let html = html::render(&summary());
    assert!(html.contains("<p class=\"doc-number\">青教〔2025〕12号</p>"));
}

/// The imprint (版记) closes an official document: the copies line, then
/// the printing office on the left and the date it was printed on the
/// right — in the PDF, in Word as LibreOffice prints it, and in the HTML.
#[test]
fn the_imprint_names_the_copies_and_the_printing_office() {
    let mut doc = summary();
    doc.meta.copies_to = Some("区卫生健康委员会，区民政局".into());
    doc.meta.printed_by = Some("青浦区教育局办公室".into());
    let dir = scratch("imprint");
    let pdf_path = dir.join("imprint.pdf");
    std::fs::write(&pdf_path, pdf::render(&doc, &font()).unwrap()).unwrap();
    let docx_path = dir.join("imprint.docx");
    std::fs::write(&docx_path, docx::render(&doc).unwrap()).unwrap();
    for (what, pages) in [("PDF", pdftotext_pages(&pdf_path)), ("Word", pdftotext_pages(&soffice_pdf(&docx_path)))] {
        let last = pages.last().unwrap();
        assert!(squeeze(last).contains("抄送：区卫生健康委员会，区民政局。"), "{what}: {last}");
        let line = last.lines().find(|l| l.contains("办公室")).unwrap_or_else(|| panic!("{what}: {last}"));
        let squeezed = squeeze(line);
        assert!(squeezed.starts_with("青浦区教育局办公室") && squeezed.ends_with("印发"), "{what}: {line}");
        let (office, date) = (line.find('青').unwrap(), line.rfind('2').unwrap());
        assert!(office <= 3 && date > office + 15, "{what}: the office left, the date right: {line:?}");
        // The imprint comes after the annotation, at the very end (on a page of its own when it does not fit).
        let all = squeeze(&pages.join("\n"));
        assert!(all.rfind("印发").unwrap() > all.find("（此件公开发布）").unwrap(), "{what}");
    }
    let html = html::render(&doc);
    assert!(
        html.contains("<footer class=\"imprint\"><p class=\"copies\">抄送：区卫生健康委员会，区民政局。</p>"),
        "{html}"
    );
    assert!(html.contains("<p class=\"printed\"><span>青浦区教育局办公室</span><span>2025年10月20日印发</span></p>"));
}
