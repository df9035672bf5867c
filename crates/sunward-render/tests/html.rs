//! The HTML renderer on the sample report: self-contained, escaped,
//! deterministic, and showing every text and figure of the document.

use sunward_render::{Block, Document, Lang, html, sample};

#[test]
fn html_shows_every_text_and_figure_escaped() {
    let doc = sample::document(Lang::ZhCn);
    let out = html::render(&doc);
    for t in doc.texts() {
        let escaped = html::esc(&t).replace('\n', "<br>");
        assert!(out.contains(&escaped), "missing {t:?}");
    }
    assert!(out.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">"));
    assert!(out.contains("<h2>一、年度概况</h2>"));
    assert!(out.contains("<div class=\"tile-value\">3208</div><div class=\"tile-label\">服务学生人次</div>"));
    // The published table: 石浦小学's 3 case sessions show as <5 (escaped), its complements as —.
    assert!(out.contains("<td>石浦小学</td><td class=\"num hidden\" title=\"按发布规则不予公布\">&lt;5</td>"), "{out}");
    assert!(out.contains("<tfoot>\n<tr><td>合计</td><td class=\"num\">134</td>"));
    // Charts are inline SVG with Chinese labels as text.
    // Each of the three charts twice: laid out for a desk and for a phone.
    assert_eq!(out.matches("<svg class=\"chart desk\"").count(), 3);
    assert_eq!(
        out.matches("<svg class=\"chart phone\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 360 ").count(),
        3
    );
    assert!(out.contains(">成长课堂</text>"));
    assert!(out.contains(">2913</text>"));
    assert!(out.contains("font-size=\"11\" fill=\"#c8551b\">丁校</text>"), "丁校 lies above the limits");
    assert!(out.contains("@media print"));
}

#[test]
fn html_makes_no_external_requests() {
    let out = html::render(&sample::document(Lang::ZhCn));
    for needle in ["<script", "<link", "src=", "@import", "url(", "http://", "https://"] {
        let allowed = needle == "http://"
            && out.matches(needle).count() == out.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        assert!(allowed || !out.contains(needle), "found {needle}");
    }
}

#[test]
fn html_is_deterministic_and_english_works() {
    let doc = sample::document(Lang::En);
    let a = html::render(&doc);
    let b = html::render(&doc.clone());
    assert_eq!(a, b);
    assert!(a.contains("<html lang=\"en\">"));
    assert!(a.contains("cases and incidents from 1 to 4 are shown as &quot;&lt;5&quot;"));
    assert!(a.contains("<dt>Generated</dt><dd>15 January 2025</dd>"));
}

#[test]
fn html_escapes_hostile_text() {
    let mut doc = Document::new("<script>alert(1)</script>");
    doc.blocks.push(Block::Paragraph { text: "a & b <b>".into() });
    let out = html::render(&doc);
    assert!(!out.contains("<script>"));
    assert!(out.contains("<p>a &amp; b &lt;b&gt;</p>"));
}
