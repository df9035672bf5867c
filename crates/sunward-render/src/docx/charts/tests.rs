//! The Word charts' unit tests: parts, workbooks and LibreOffice's drawing of them.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::sheet::column_letter;
use super::*;
use crate::chart::{BarChart, FunnelPlot, FunnelPoint, LineChart};
use crate::document::{Block, Document};

/// The bytes of one entry of a zip.
fn unzip(bytes: &[u8], name: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut file = zip.by_name(name).unwrap_or_else(|_| panic!("no part {name}"));
    let mut out = Vec::new();
    file.read_to_end(&mut out).expect("readable");
    out
}

fn unzip_text(bytes: &[u8], name: &str) -> String {
    String::from_utf8(unzip(bytes, name)).expect("UTF-8")
}

/// The text between the first `start` and the next `end` after it.
fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s.find(start).unwrap_or_else(|| panic!("no {start} in {s}")) + start.len();
    let to = s[from..].find(end).unwrap_or_else(|| panic!("no {end} after {start}"));
    &s[from..from + to]
}

/// The points of the first cache in `xml`: (index, text).
fn points(xml: &str) -> Vec<(usize, String)> {
    xml.split("<c:pt idx=\"")
        .skip(1)
        .map(|p| {
            let idx = p[..p.find('"').unwrap()].parse().unwrap();
            (idx, between(p, "<c:v>", "</c:v>").to_string())
        })
        .collect()
}

/// The number at `idx` of the first cache in `xml`, if the point is there.
fn number_at(xml: &str, idx: usize) -> Option<f64> {
    points(xml).into_iter().find(|(i, _)| *i == idx).map(|(_, v)| v.parse().unwrap())
}

/// The `<c:ser>` elements of a chart part.
fn series(xml: &str) -> Vec<&str> {
    xml.split("<c:ser>").skip(1).map(|s| &s[..s.find("</c:ser>").unwrap()]).collect()
}

fn texts_of(v: &[&str]) -> Vec<(usize, String)> {
    v.iter().enumerate().map(|(i, t)| (i, t.to_string())).collect()
}

fn part(chart: Chart) -> ChartPart {
    chart_part(&chart, Lang::ZhCn, Some("2025-01-15")).unwrap()
}

fn services() -> BarChart {
    BarChart {
        categories: vec!["成长课堂".into(), "小组活动".into(), "个案辅导".into()],
        values: vec![2913.0, 351.0, 134.0],
        labels: None,
        unit: Some("人次".into()),
        tally: false,
    }
}

fn incidents() -> LineChart {
    LineChart {
        x: vec!["2022学年".into(), "2023学年".into(), "2024学年".into()],
        values: vec![5.3, 4.1, 2.8],
        low: Some(vec![4.6, 3.5, 2.3]),
        high: Some(vec![6.1, 4.8, 3.4]),
        labels: Some(vec!["5.3".into(), "4.1".into(), "2.8".into()]),
        unit: Some("每千名学生".into()),
    }
}

/// Overall 5 per 1,000; two schools of 900: 甲校 at the overall rate,
/// 乙校 far above (16 per 1,000 is 14.4 events where λ = 4.5).
fn schools() -> FunnelPlot {
    FunnelPlot {
        points: vec![
            FunnelPoint { label: "甲校".into(), denominator: 900.0, rate: 5.0, counts: None },
            FunnelPoint { label: "乙校".into(), denominator: 900.0, rate: 16.0, counts: None },
        ],
        scale: 1000.0,
        overall: Some(5.0),
        x_label: Some("在校学生数".into()),
        y_label: Some("每千名学生极端事件".into()),
    }
}

/// A cell of a workbook's first sheet as text (a shared string or a number).
fn cell(workbook: &[u8], reference: &str) -> String {
    let sheet = unzip_text(workbook, "xl/worksheets/sheet1.xml");
    let open = format!("<c r=\"{reference}\"");
    let start = sheet.find(&open).unwrap_or_else(|| panic!("no cell {reference} in {sheet}"));
    let xml = &sheet[start..start + sheet[start..].find("</c>").unwrap()];
    let value = between(xml, "<v>", "</v>");
    if !xml.contains("t=\"s\"") {
        return value.to_string();
    }
    let shared = unzip_text(workbook, "xl/sharedStrings.xml");
    let index: usize = value.parse().unwrap();
    let item = shared.split("<si>").nth(index + 1).unwrap();
    let text = &item[item.find("<t").unwrap()..];
    between(text, ">", "</t>").to_string()
}

#[test]
fn a_bar_chart_lists_its_categories_top_to_bottom_with_their_values() {
    let xml = part(Chart::Bar(services())).xml;
    assert!(xml.contains("<c:barDir val=\"bar\"/>"), "horizontal bars");
    let category_axis = between(&xml, "<c:catAx>", "</c:catAx>");
    assert!(category_axis.contains("<c:orientation val=\"maxMin\"/>"), "first category on top");
    let value_axis = between(&xml, "<c:valAx>", "</c:valAx>");
    assert!(value_axis.contains("<c:crosses val=\"max\"/>"), "value axis under the last bar");
    assert!(value_axis.contains("<c:min val=\"0\"/>"), "bars from zero");
    assert!(value_axis.contains("<a:t>人次</a:t>"), "the unit is the value axis's title");
    let all = series(&xml);
    assert_eq!(all.len(), 1);
    let ser = all[0];
    assert_eq!(between(ser, "<c:cat>", "</c:cat>").matches("<c:f>").count(), 1);
    assert!(ser.contains("<c:f>Sheet1!$A$2:$A$4</c:f>") && ser.contains("<c:f>Sheet1!$B$2:$B$4</c:f>"), "{ser}");
    assert_eq!(points(between(ser, "<c:cat>", "</c:cat>")), texts_of(&["成长课堂", "小组活动", "个案辅导"]));
    assert_eq!(points(between(ser, "<c:val>", "</c:val>")), texts_of(&["2913", "351", "134"]));
    assert_eq!(points(between(ser, "<c:tx>", "</c:tx>")), texts_of(&["人次"]));
    // The PDF prints 2913, 351, 134: the values themselves, which an edit relabels.
    let labels = between(ser, "<c:dLbls>", "</c:dLbls>");
    assert!(labels.contains("<c:showVal val=\"1\"/>") && !labels.contains("<c:dLbl>"), "{labels}");
    // Chinese text in the body's East Asian face, Latin text too.
    assert!(xml.contains("<a:latin typeface=\"Microsoft YaHei\"/><a:ea typeface=\"Microsoft YaHei\"/>"));
    assert!(xml.contains("<c:externalData r:id=\"rIdWorkbook\"><c:autoUpdate val=\"0\"/></c:externalData>"));
    assert!(xml.contains("<c:autoTitleDeleted val=\"1\"/>"), "the caption is the title");
}

#[test]
fn labels_the_value_does_not_show_are_each_points_own_text() {
    let mut chart = services();
    chart.labels = Some(vec!["2,913".into(), "351".into(), "<5".into()]);
    let xml = part(Chart::Bar(chart)).xml;
    let labels = between(&xml, "<c:dLbls>", "</c:dLbls>");
    let own: Vec<&str> = labels.split("<a:t>").skip(1).map(|t| &t[..t.find("</a:t>").unwrap()]).collect();
    assert_eq!(own, ["2,913", "351", "&lt;5"]);
    assert!(labels.starts_with("<c:dLbl><c:idx val=\"0\"/>"), "{labels}");
    // The same texts as values: linked.
    let xml = part(Chart::Line(incidents())).xml;
    assert!(!xml.contains("<c:dLbl>"));
    // A rounded label (the PDF's 5.33 for 5.333…) stays the printed text.
    let mut line = incidents();
    line.values[0] = 16.0 / 3.0;
    line.labels = None;
    let xml = part(Chart::Line(line)).xml;
    assert_eq!(xml.matches("<c:dLbl>").count(), 3);
    assert!(xml.contains("<a:t>5.33</a:t>") && xml.contains("<a:t>4.1</a:t>"));
}

#[test]
fn a_line_chart_draws_its_interval_as_two_dashed_series_under_the_values() {
    let xml = part(Chart::Line(incidents())).xml;
    assert!(xml.contains("<c:lineChart>"));
    let all = series(&xml);
    assert_eq!(all.len(), 3);
    let names: Vec<String> = all.iter().map(|s| points(between(s, "<c:tx>", "</c:tx>"))[0].1.clone()).collect();
    assert_eq!(names, ["区间下限", "区间上限", "每千名学生"]);
    let expect = [
        ("$C$2:$C$4", ["4.6", "3.5", "2.3"]),
        ("$D$2:$D$4", ["6.1", "4.8", "3.4"]),
        ("$B$2:$B$4", ["5.3", "4.1", "2.8"]),
    ];
    for (ser, (range, values)) in all.iter().zip(expect) {
        assert!(ser.contains(&format!("<c:f>Sheet1!{range}</c:f>")), "{ser}");
        assert_eq!(points(between(ser, "<c:val>", "</c:val>")), texts_of(&values));
        assert!(ser.contains("<c:f>Sheet1!$A$2:$A$4</c:f>"));
        assert_eq!(points(between(ser, "<c:cat>", "</c:cat>")), texts_of(&["2022学年", "2023学年", "2024学年"]));
    }
    for end in &all[..2] {
        assert!(end.contains("<a:prstDash val=\"dash\"/>") && end.contains("<c:symbol val=\"none\"/>"));
    }
    assert!(all[2].contains("<c:symbol val=\"circle\"/>") && all[2].contains("<c:dLblPos val=\"t\"/>"));
    assert!(between(&xml, "<c:valAx>", "</c:valAx>").contains("<a:t>每千名学生</a:t>"));
    // Without an interval, one series.
    let mut plain = incidents();
    plain.low = None;
    plain.high = None;
    assert_eq!(series(&part(Chart::Line(plain)).xml).len(), 1);
}

#[test]
fn a_funnel_plot_has_its_units_as_dots_and_each_limit_as_one_series() {
    let xml = part(Chart::Funnel(schools())).xml;
    assert!(xml.contains("<c:scatterChart>") && xml.contains("<c:legend>"));
    assert!(xml.contains("<c:dispBlanksAs val=\"gap\"/>"));
    let all = series(&xml);
    let names: Vec<String> = all.iter().map(|s| points(between(s, "<c:tx>", "</c:tx>"))[0].1.clone()).collect();
    assert_eq!(names, ["总体水平", "95%控制限", "99.8%控制限", "每千名学生极端事件"]);
    // Rows 2–3 the units; then the curves: 49 upper points, a blank row, 49 lower. The
    // x range is 0–1000 (nice ticks over 945), sampled from 100 to 1000, so the last
    // upper point is at 1000 students, where λ = 5 (chart.rs works these by hand):
    // 95 % 0.5421–9.3765, 99.8 % 0–12.771 per 1,000. Every series spans all 101 rows.
    let (limit95, limit998) = (all[1], all[2]);
    assert!(limit95.contains("<c:f>Sheet1!$A$2:$A$102</c:f>") && limit95.contains("<c:f>Sheet1!$D$2:$D$102</c:f>"));
    assert!(limit998.contains("<c:f>Sheet1!$E$2:$E$102</c:f>"));
    let x = between(limit95, "<c:xVal>", "</c:xVal>");
    assert_eq!(number_at(x, 1), Some(900.0));
    assert_eq!(number_at(x, 2), Some(100.0));
    assert_eq!(number_at(x, 50), Some(1000.0));
    assert_eq!(number_at(x, 51), None, "the gap between the curves");
    let close = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 1e-3);
    let y95 = between(limit95, "<c:yVal>", "</c:yVal>");
    assert_eq!(number_at(y95, 1), None, "no limit on a unit's row");
    assert!(close(number_at(y95, 50), 9.3765), "{y95}");
    assert_eq!(number_at(y95, 51), None);
    assert!(close(number_at(y95, 100), 0.5421), "{y95}");
    let y998 = between(limit998, "<c:yVal>", "</c:yVal>");
    assert!(close(number_at(y998, 50), 12.771) && number_at(y998, 100) == Some(0.0), "{y998}");
    assert!(limit95.contains("<a:prstDash val=\"dash\"/>") && limit998.contains("<a:prstDash val=\"sysDot\"/>"));
    // The overall line over the upper rows only.
    let overall = all[0];
    assert!(overall.contains("<c:f>Sheet1!$C$2:$C$102</c:f>"));
    let level = between(overall, "<c:yVal>", "</c:yVal>");
    assert_eq!(number_at(level, 50), Some(5.0));
    assert_eq!(points(level).len(), 49, "{level}");
    for line in &all[..3] {
        assert!(line.contains("<c:symbol val=\"none\"/>"), "limits and overall without markers");
    }
    // The units: dots without a line; 乙校 above the limits, in the accent colour and named.
    let units = all[3];
    assert!(units.contains("<c:spPr><a:ln><a:noFill/></a:ln></c:spPr><c:marker><c:symbol val=\"circle\"/>"));
    assert!(units.contains("<c:f>Sheet1!$B$2:$B$102</c:f>"));
    assert_eq!(points(between(units, "<c:xVal>", "</c:xVal>"))[..2], texts_of(&["900", "900"]));
    assert_eq!(points(between(units, "<c:yVal>", "</c:yVal>")), texts_of(&["5", "16"]));
    let accent = "<c:dPt><c:idx val=\"1\"/><c:marker><c:symbol val=\"circle\"/><c:size val=\"7\"/>\
                  <c:spPr><a:solidFill><a:srgbClr val=\"C8551B\"/>";
    assert!(units.contains(accent), "{units}");
    assert!(!units.contains("<c:dPt><c:idx val=\"0\"/>"));
    let labels = between(units, "<c:dLbls>", "</c:dLbls>");
    assert_eq!(labels.matches("<c:dLbl>").count(), 1);
    assert!(labels.contains("<c:idx val=\"1\"/>") && labels.contains("<a:t>乙校</a:t>"));
    let axes = between(&xml, "</c:scatterChart>", "</c:plotArea>");
    assert!(axes.contains("<a:t>在校学生数</a:t>") && axes.contains("<a:t>每千名学生极端事件</a:t>"));
}

#[test]
fn the_workbook_holds_what_the_chart_refers_to() {
    let bar = part(Chart::Bar(services()));
    for (reference, want) in [
        ("A1", "类别"),
        ("B1", "人次"),
        ("A2", "成长课堂"),
        ("A3", "小组活动"),
        ("A4", "个案辅导"),
        ("B2", "2913"),
        ("B3", "351"),
        ("B4", "134"),
    ] {
        assert_eq!(cell(&bar.workbook, reference), want, "cell {reference}");
    }
    assert!(unzip_text(&bar.workbook, "xl/workbook.xml").contains("name=\"Sheet1\""));
    let core = unzip_text(&bar.workbook, "docProps/core.xml");
    assert!(core.contains(">2025-01-15T00:00:00Z</dcterms:created>"), "{core}");
    let line = part(Chart::Line(incidents()));
    for (reference, want) in [("A4", "2024学年"), ("B4", "2.8"), ("C1", "区间下限"), ("C2", "4.6"), ("D3", "4.8")]
    {
        assert_eq!(cell(&line.workbook, reference), want, "cell {reference}");
    }
    let funnel = part(Chart::Funnel(schools()));
    for (reference, want) in
        [("A1", "在校学生数"), ("B3", "16"), ("F3", "乙校"), ("A52", "1000"), ("C52", "5"), ("A102", "1000")]
    {
        assert_eq!(cell(&funnel.workbook, reference), want, "cell {reference}");
    }
    let high = cell(&funnel.workbook, "E52").parse::<f64>().unwrap();
    assert!((high - 12.771).abs() < 1e-3, "{high}");
    assert!(!unzip_text(&funnel.workbook, "xl/worksheets/sheet1.xml").contains("<c r=\"A53\""), "the gap row");
}

#[test]
fn workbooks_are_the_same_bytes_every_time_and_carry_no_clock() {
    let a = part(Chart::Funnel(schools())).workbook;
    let b = part(Chart::Funnel(schools())).workbook;
    assert!(a == b);
    let undated = chart_part(&Chart::Bar(services()), Lang::En, None).unwrap().workbook;
    assert!(unzip_text(&undated, "docProps/core.xml").contains(">1980-01-01T00:00:00Z</dcterms:created>"));
    let odd = chart_part(&Chart::Bar(services()), Lang::En, Some("2025年1月")).unwrap().workbook;
    assert!(odd == undated);
}

#[test]
fn an_empty_chart_is_still_a_valid_part() {
    let empty = BarChart { categories: vec![], values: vec![], labels: None, unit: None, tally: false };
    let xml = part(Chart::Bar(empty)).xml;
    assert!(xml.contains("<c:f>Sheet1!$A$2:$A$2</c:f><c:strCache><c:ptCount val=\"0\"/></c:strCache>"), "{xml}");
    assert_eq!(column_letter(0), "A");
    assert_eq!(column_letter(25), "Z");
    assert_eq!(column_letter(26), "AA");
}

/// A report with one chart of each kind.
fn chart_report() -> Document {
    let mut doc = Document::new("图表测试");
    doc.meta.generated = Some("2025-01-15".into());
    for (caption, chart) in [
        ("图1 各类服务覆盖学生人次", Chart::Bar(services())),
        ("图2 极端事件发生率", Chart::Line(incidents())),
        ("图3 各校极端事件发生率", Chart::Funnel(schools())),
    ] {
        doc.blocks.push(Block::Figure { caption: caption.into(), chart });
    }
    doc
}

#[test]
fn every_relationship_leads_to_a_part_and_every_part_has_a_content_type() {
    let bytes = super::super::render(&chart_report()).unwrap();
    let zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    for n in 1..=3 {
        for name in [
            format!("word/charts/chart{n}.xml"),
            format!("word/charts/_rels/chart{n}.xml.rels"),
            format!("word/embeddings/Microsoft_Excel_Worksheet{n}.xlsx"),
        ] {
            assert!(names.contains(&name), "no {name} in {names:?}");
        }
        let rels = unzip_text(&bytes, &format!("word/charts/_rels/chart{n}.xml.rels"));
        assert!(rels.contains("Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/package\""));
    }
    let document_rels = unzip_text(&bytes, "word/_rels/document.xml.rels");
    assert!(document_rels.contains(
        "<Relationship Id=\"rIdChart2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart\" Target=\"charts/chart2.xml\"/>"
    ));
    // Every relationship's target is in the package, read from its source part's folder.
    for rels in names.iter().filter(|n| n.ends_with(".rels")) {
        let folder = rels.split("_rels/").next().unwrap_or("");
        for rel in unzip_text(&bytes, rels).split("<Relationship ").skip(1) {
            let target = between(rel, "Target=\"", "\"");
            let mut path: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
            for step in target.split('/') {
                match step {
                    ".." => {
                        path.pop();
                    }
                    "." | "" => {}
                    step => path.push(step),
                }
            }
            let resolved = path.join("/");
            assert!(names.contains(&resolved), "{rels}: {target} ({resolved}) is not in the package");
        }
    }
    // Every part has a content type, and every override names a part.
    let types = unzip_text(&bytes, "[Content_Types].xml");
    for name in names.iter().filter(|n| *n != "[Content_Types].xml") {
        let ext = name.rsplit('.').next().unwrap();
        let by_name = types.contains(&format!("<Override PartName=\"/{name}\""));
        assert!(by_name || types.contains(&format!("<Default Extension=\"{ext}\"")), "no content type for {name}");
    }
    for over in types.split("<Override PartName=\"/").skip(1) {
        let name = &over[..over.find('"').unwrap()];
        assert!(names.iter().any(|n| n == name), "an override for a missing part {name}");
    }
    assert!(types.contains(
        "<Override PartName=\"/word/charts/chart3.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.drawingml.chart+xml\"/>"
    ));
    assert!(types.contains(
        "<Default Extension=\"xlsx\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\"/>"
    ));
    // Two renders, the same bytes.
    assert!(super::super::render(&chart_report()).unwrap() == bytes);
}

/// Converts a .docx to PDF with LibreOffice (as the Word tests in
/// `tests/docx.rs` do) and reads it back with `pdftotext -layout`. It
/// fails, never skips, when the tools are missing.
fn through_libreoffice(docx: &Path) -> String {
    let pdf = super::test_common::soffice_convert(docx, docx.parent().unwrap(), "pdf");
    let text =
        Command::new("pdftotext").args(["-enc", "UTF-8", "-layout"]).arg(&pdf).arg("-").output().unwrap_or_else(|e| {
            panic!("cannot run pdftotext ({e}): run scripts/prepare-fonts.sh, which installs poppler-utils")
        });
    assert!(text.status.success());
    String::from_utf8(text.stdout).unwrap()
}

/// LibreOffice draws the native charts from their caches: the printed
/// PDF holds the Chinese categories top to bottom with the value axis
/// under them, the labels, the axis titles and the funnel's legend.
#[test]
fn libreoffice_draws_the_charts_with_their_chinese_labels() {
    let dir: PathBuf = std::env::temp_dir().join("sunward-docx-charts");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("charts.docx");
    std::fs::write(&path, super::super::render(&chart_report()).unwrap()).unwrap();
    let text = through_libreoffice(&path);
    let flat: String = text.split_whitespace().collect();
    for needle in [
        "成长课堂",
        "小组活动",
        "个案辅导",
        "2913",
        "351",
        "134",
        "人次",
        "2022学年",
        "2024学年",
        "5.3",
        "2.8",
        "每千名学生",
        "95%控制限",
        "99.8%控制限",
        "总体水平",
        "乙校",
        "在校学生数",
    ] {
        assert!(flat.contains(needle), "LibreOffice's print lacks {needle:?}:\n{text}");
    }
    assert!(!flat.contains("甲校"), "a unit within the limits is not named:\n{text}");
    // Top to bottom as listed, each bar's label on its line, the axis's figures below.
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap();
    let (first, second, third) = (line_of("成长课堂"), line_of("小组活动"), line_of("个案辅导"));
    assert!(first < second && second < third, "categories out of order:\n{text}");
    assert!(text.lines().nth(first).unwrap().contains("2913"), "{text}");
    let ticks = text.lines().position(|l| l.contains("1000") && l.contains("2000")).unwrap();
    assert!(ticks > third, "the value axis is not under the bars:\n{text}");
}
