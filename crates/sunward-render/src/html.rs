//! The HTML renderer: one self-contained file per document — inline CSS
//! (a single column that reads on a phone and widens on a desk, a print
//! stylesheet for A4), inline SVG charts, no scripts, fonts or other
//! external requests. Every text is HTML-escaped; the output depends on the
//! document alone, byte for byte.

use std::fmt::Write;

use crate::document::{Align, Block, Cell, DocStyle, Document, Span, Table, Tile, spans_or_plain, tile_columns};
use crate::layout::{self, Imprint, NumberLine, OfficialFrame};
use crate::plot::{self, Anchor, Shape, Stroke};

const CSS: &str = r#"
:root { --ink: #222; --muted: #666; --rule: #d0d7de; --soft: #f3f6f9; --primary: #2f6f9f; --accent: #c8551b; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff;
  font-family: "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC",
    "WenQuanYi Micro Hei", system-ui, sans-serif;
  font-size: 16px; line-height: 1.7; }
.report { max-width: 52rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
.title-page { border-bottom: 3px solid var(--primary); margin-bottom: 1.5rem; padding-bottom: 1rem; }
h1 { font-size: 1.7rem; line-height: 1.35; margin: 0.5rem 0; color: var(--primary); }
.subtitle { font-size: 1.15rem; color: var(--muted); margin: 0 0 0.75rem; }
.audience { font-weight: 600; margin: 0.75rem 0 0; }
.marking { margin: 0 0 1rem; padding: 0.3rem 0.6rem; border: 1px solid var(--accent); color: var(--accent);
  font-weight: 600; display: inline-block; }
@media print { .marking { position: fixed; top: 0; right: 0; } }
.meta { display: flex; flex-wrap: wrap; gap: 0.25rem 1.5rem; margin: 0; font-size: 0.95rem; color: var(--muted); }
.meta div { display: flex; gap: 0.4rem; }
.meta dt::after { content: "："; }
.meta dd { margin: 0; color: var(--ink); }
h2 { font-size: 1.35rem; margin: 2rem 0 0.75rem; padding-bottom: 0.25rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
h4 { font-size: 1rem; margin: 1.25rem 0 0.5rem; }
p { margin: 0 0 0.9rem; }
.tiles { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0.75rem; margin: 1rem 0 1.25rem; }
.tiles.cols-1 { grid-template-columns: minmax(0, 1fr); }
@media (min-width: 40rem) {
  .tiles.cols-3 { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  .tiles.cols-4 { grid-template-columns: repeat(4, minmax(0, 1fr)); }
}
.tile { background: var(--soft); border-left: 4px solid var(--primary); padding: 0.7rem 0.8rem; border-radius: 4px; }
.tile-value { font-size: 1.75rem; font-weight: 700; line-height: 1.2; color: var(--primary); font-variant-numeric: tabular-nums; }
.tile-label { font-size: 0.92rem; }
.tile-note { font-size: 0.82rem; color: var(--muted); }
figure { margin: 1.25rem 0; }
figcaption { font-weight: 600; margin-bottom: 0.4rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch;
  /* A shadow at an edge where more of the table lies beyond it: the reader sees it scrolls. */
  background: linear-gradient(to right, #fff 30%, rgba(255,255,255,0)), linear-gradient(to left, #fff 30%, rgba(255,255,255,0)) 100% 0,
    radial-gradient(farthest-side at 0 50%, rgba(0,0,0,.22), rgba(0,0,0,0)), radial-gradient(farthest-side at 100% 50%, rgba(0,0,0,.22), rgba(0,0,0,0)) 100% 0;
  background-repeat: no-repeat; background-size: 2.5rem 100%, 2.5rem 100%, 0.9rem 100%, 0.9rem 100%;
  background-attachment: local, local, scroll, scroll; }
table { border-collapse: collapse; width: 100%; font-size: 0.93rem; }
th, td { padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); border-top: 2px solid var(--ink); white-space: nowrap; }
tfoot td { border-top: 2px solid var(--ink); border-bottom: 2px solid var(--ink); font-weight: 600; }
th:first-child, td:first-child { white-space: nowrap; }
@media (max-width: 40rem) { td:first-child { white-space: normal; min-width: 6.5em; } }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.hidden { color: var(--muted); }
.note { font-size: 0.85rem; color: var(--muted); margin-top: 0.4rem; }
svg.chart { display: block; width: 100%; height: auto; min-width: 640px; max-width: 44rem; font-family: inherit; }
svg.chart.phone { display: none; min-width: 0; max-width: 100%; }
@media (max-width: 40rem) { svg.chart.desk { display: none; } svg.chart.phone { display: block; } }
.colophon { margin-top: 2.5rem; padding-top: 0.5rem; border-top: 1px solid var(--rule); font-size: 0.8rem; color: var(--muted); }
.page-break { display: none; }
ol, ul { margin: 0 0 0.9rem; padding-left: 2.2em; }
li { margin: 0 0 0.35rem; padding-left: 0.2em; }
strong { font-weight: 700; }
:lang(zh) em { font-style: normal; text-emphasis: filled dot; -webkit-text-emphasis: filled dot;
  text-emphasis-position: under right; -webkit-text-emphasis-position: under; }
.official { max-width: 44rem; }
.official-head { text-align: center; margin-bottom: 1.75rem; }
.official-head .marking { float: left; }
.issuer-mark { clear: both; color: #c00000; font-size: 2.3rem; font-weight: 700; letter-spacing: 0.08em;
  line-height: 1.3; margin: 1.5rem 0 1.25rem; }
.doc-number { margin: 0 0 0.4rem; }
.doc-number.signed { display: flex; justify-content: space-between; padding: 0 1em; }
.imprint { margin-top: 2rem; border-top: 2px solid var(--ink); border-bottom: 2px solid var(--ink); }
.imprint p { margin: 0; padding: 0.3rem 1em; }
.imprint .copies + .printed { border-top: 1px solid var(--ink); }
.imprint .printed { display: flex; justify-content: space-between; }
.red-rule { border: 0; border-top: 2px solid #c00000; margin: 0; }
.official h1 { color: var(--ink); text-align: center; font-size: 1.6rem; margin: 1.5rem 0 1.25rem; text-wrap: balance; }
.official .subtitle { text-align: center; }
.official h2 { border-bottom: 0; font-size: 1.1rem; margin: 1rem 0 0.5rem; text-indent: 2em; }
.official h3, .official h4 { font-size: 1rem; margin: 0.8rem 0 0.4rem; text-indent: 2em; }
.official > p:not(.recipient):not(.marking):not(.subtitle) { text-indent: 2em; }
.recipient { text-indent: 0; margin: 0 0 0.5rem; }
.signature { margin: 2.5rem 4em 0 auto; width: max-content; text-align: center;
  break-before: avoid; page-break-before: avoid; break-inside: avoid; page-break-inside: avoid; }
.signature p { margin: 0; text-indent: 0; }
.annotation { margin-top: 1rem; }
.official { font-family: FangSong, "仿宋", "FangSong_GB2312", "仿宋_GB2312", STFangsong, "AR PL SungtiL GB", serif; }
.official h1, .official .attachment-title { font-family: "方正小标宋简体", "FZXiaoBiaoSong-B05S", "STZhongsong", "AR PL SungtiL GB", serif; font-weight: 400; }
.official h2, .official .attachment-label { font-family: SimHei, "黑体", "Heiti SC", "WenQuanYi Micro Hei", sans-serif; font-weight: 400; }
.official h3 { font-family: KaiTi, "楷体", "KaiTi_GB2312", STKaiti, "AR PL KaitiM GB", serif; font-weight: 400; }
.official table { font-family: system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; }
.attachment-list { list-style: none; margin: 1rem 0 0; padding-left: 2em; }
.attachment-list li { padding-left: 3em; text-indent: -3em; }
.attachment-list li:not(:first-child) .marker { margin-left: 3em; }
.attachment { margin-top: 3rem; border-top: 1px dashed var(--rule); padding-top: 1.5rem; }
.attachment-label { margin: 0; }
.official .attachment-title { text-align: center; font-size: 1.4rem; border-bottom: 0; margin: 1rem 0; text-indent: 0; }
@media (min-width: 48rem) { body { font-size: 17px; } .report { padding: 2.5rem 2rem 4rem; } h1 { font-size: 2rem; } }
@media print {
  @page { size: A4; margin: 18mm 16mm 20mm; }
  body { font-size: 10.5pt; }
  .report { max-width: none; padding: 0; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  figure, .tile, tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  .scroll { overflow: visible; }
  svg.chart { min-width: 0; }
  svg.chart.desk { display: block; } svg.chart.phone { display: none; }
  .tiles.cols-3 { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  .tiles.cols-4 { grid-template-columns: repeat(4, minmax(0, 1fr)); }
  .tile { border: 1px solid var(--rule); border-left: 4px solid var(--primary); }
  .page-break { display: block; break-after: page; page-break-after: always; }
  @page official { size: A4; margin: 37mm 26mm 35mm 28mm;
    @bottom-center { content: "— " counter(page) " —"; font-size: 14pt; vertical-align: top; padding-top: 5mm; } }
  .official { page: official; font-size: 16pt; line-height: 1.75; }
  .official .issuer-mark { font-size: 36pt; }
  .official h1 { font-size: 22pt; }
  .official h2, .official h3, .official h4 { font-size: 16pt; margin: 0; }
  .official p, .official li { margin: 0; }
  .official ol, .official ul { margin: 0; padding-left: 4em; }
  .official .attachment-list { padding-left: 2em; }
  .attachment { break-before: page; page-break-before: always; border-top: 0; margin-top: 0; padding-top: 0; }
  .official .attachment-title { font-size: 22pt; margin: 29pt 0; }
}
"#;

/// Renders a document as one self-contained HTML file.
pub fn render(doc: &Document) -> String {
    let lang = doc.lang;
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n");
    let _ = writeln!(out, "<html lang=\"{}\">", lang.tag());
    out.push_str("<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"Sunward\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&doc.title));
    let _ = writeln!(out, "<style>{}</style>", CSS.trim());
    if doc.meta.style == DocStyle::Official {
        official(&mut out, doc);
        return out;
    }
    out.push_str("</head>\n<body>\n<main class=\"report\">\n");
    if let Some(mark) = &doc.meta.marking {
        let _ = writeln!(out, "<p class=\"marking\" role=\"note\">{}</p>", esc(mark));
    }
    out.push_str("<header class=\"title-page\">\n");
    let _ = writeln!(out, "<h1>{}</h1>", esc(&doc.title));
    if let Some(sub) = &doc.subtitle {
        let _ = writeln!(out, "<p class=\"subtitle\">{}</p>", esc(sub));
    }
    let meta = doc.title_facts();
    if !meta.is_empty() {
        out.push_str("<dl class=\"meta\">");
        for (k, v) in meta {
            let _ = write!(out, "<div><dt>{}</dt><dd>{}</dd></div>", esc(k), esc(&v));
        }
        out.push_str("</dl>\n");
    }
    if let Some(audience) = &doc.meta.audience {
        let _ = writeln!(out, "<p class=\"audience\">{}</p>", esc(audience));
    }
    out.push_str("</header>\n");
    for (i, block) in doc.blocks.iter().enumerate() {
        block_html(&mut out, i, block, doc);
    }
    let _ = writeln!(out, "<footer class=\"colophon\">{}</footer>", esc(&colophon(doc)));
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// An official document (GB/T 9704-2012): the issuing authority's mark in
/// red, the document number, a red rule, the title centred, the main
/// recipient, the body, the issuer and date at the end and the audience
/// as the annotation; printed pages numbered `— 2 —`. What each part says
/// comes from the [`OfficialFrame`].
fn official(out: &mut String, doc: &Document) {
    let frame = OfficialFrame::of(doc);
    out.push_str("</head>\n<body>\n<main class=\"report official\">\n");
    official_head(out, &frame);
    for (i, block) in doc.blocks[..frame.body_end].iter().enumerate() {
        block_html(out, i, block, doc);
    }
    official_close(out, &frame);
    official_attachments(out, doc, frame.body_end);
    if let Some(imprint) = &frame.imprint {
        official_imprint(out, imprint);
    }
    out.push_str("</main>\n</body>\n</html>\n");
}

/// The head: the mark, the authority's mark, the number line and the red
/// rule; then the title, subtitle and main recipient.
fn official_head(out: &mut String, frame: &OfficialFrame) {
    out.push_str("<header class=\"official-head\">\n");
    if let Some(mark) = &frame.marking {
        let _ = writeln!(out, "<p class=\"marking\" role=\"note\">{}</p>", esc(mark));
    }
    if let Some(issuer) = &frame.issuer_mark {
        let _ = writeln!(out, "<p class=\"issuer-mark\">{}</p>", esc(issuer));
    }
    match &frame.number {
        Some(NumberLine::Signed { number, signer }) => {
            // The number on the left and the signer on the right, a character in from each side.
            let _ = writeln!(
                out,
                "<p class=\"doc-number signed\"><span>{}</span><span>{}</span></p>",
                esc(number),
                esc(signer)
            );
        }
        Some(NumberLine::Centred(number)) => {
            let _ = writeln!(out, "<p class=\"doc-number\">{}</p>", esc(number));
        }
        None => {}
    }
    out.push_str("<hr class=\"red-rule\">\n</header>\n");
    let _ = writeln!(out, "<h1>{}</h1>", esc(&frame.title));
    if let Some(sub) = &frame.subtitle {
        let _ = writeln!(out, "<p class=\"subtitle\">{}</p>", esc(sub));
    }
    if let Some(recipient) = &frame.recipient {
        let _ = writeln!(out, "<p class=\"recipient\">{}</p>", esc(recipient));
    }
}

/// The close after the body: the list of attachments, the signature and
/// the annotation.
fn official_close(out: &mut String, frame: &OfficialFrame) {
    if !frame.attachments.is_empty() {
        out.push_str("<ol class=\"attachment-list\">");
        for line in &frame.attachments {
            let _ = write!(out, "<li><span class=\"marker\">{}</span>{}</li>", esc(&line.marker), esc(&line.title));
        }
        out.push_str("</ol>\n");
    }
    if let Some(signature) = &frame.signature {
        out.push_str("<footer class=\"signature\">");
        if let Some(issuer) = &signature.issuer {
            let _ = write!(out, "<p class=\"issuer\">{}</p>", esc(issuer));
        }
        if let Some(date) = &signature.date {
            let _ = write!(out, "<p class=\"date\">{}</p>", esc(date));
        }
        out.push_str("</footer>\n");
    }
    if let Some(annotation) = &frame.annotation {
        let _ = writeln!(out, "<p class=\"annotation\">{}</p>", esc(annotation));
    }
}

/// The blocks from `start` on: each attachment a section of its own (a
/// printed page), after the signature and before the imprint.
fn official_attachments(out: &mut String, doc: &Document, start: usize) {
    let mut n = 0;
    for (i, block) in doc.blocks.iter().enumerate().skip(start) {
        if let Block::Attachment { title } = block {
            if n > 0 {
                out.push_str("</section>\n");
            }
            n += 1;
            let _ = writeln!(
                out,
                "<section class=\"attachment\">\n<p class=\"attachment-label\">{}</p>\n<h2 class=\"attachment-title\">{}</h2>",
                esc(&crate::document::attachment_label(n, doc.lang)),
                esc(title)
            );
        } else {
            block_html(out, i, block, doc);
        }
    }
    if n > 0 {
        out.push_str("</section>\n");
    }
}

/// The imprint: the copies line, then the printing office and its date.
fn official_imprint(out: &mut String, imprint: &Imprint) {
    out.push_str("<footer class=\"imprint\">");
    if let Some(copies) = &imprint.copies {
        let _ = write!(out, "<p class=\"copies\">{}</p>", esc(copies));
    }
    if let Some((office, date)) = &imprint.printed {
        let _ = write!(out, "<p class=\"printed\"><span>{}</span><span>{}</span></p>", esc(office), esc(date));
    }
    out.push_str("</footer>\n");
}

/// Styled text as HTML: `<strong>`, `<em>`, line breaks as `<br>`.
fn spans_html(spans: &[Span]) -> String {
    let mut out = String::new();
    for span in spans {
        let mut t = esc(&span.text).replace('\n', "<br>");
        if span.emphasis {
            t = format!("<em>{t}</em>");
        }
        if span.strong {
            t = format!("<strong>{t}</strong>");
        }
        out.push_str(&t);
    }
    out
}

/// The line at the end of a report (and in the PDF's footer): what made it and when.
pub(crate) fn colophon(doc: &Document) -> String {
    let lang = doc.lang;
    match doc.meta.generated_display(lang) {
        Some(date) => format!("{}{date}", lang.pick("由向阳 Sunward 生成，", "Made with Sunward, ")),
        None => lang.pick("由向阳 Sunward 生成", "Made with Sunward").to_string(),
    }
}

fn block_html(out: &mut String, index: usize, block: &Block, doc: &Document) {
    match block {
        Block::Heading { level, text } => {
            let h = (*level).clamp(1, 3) + 1;
            let _ = writeln!(out, "<h{h}>{}</h{h}>", esc(text));
        }
        Block::Paragraph { text } => {
            let _ = writeln!(out, "<p>{}</p>", esc(text).replace('\n', "<br>"));
        }
        Block::RichParagraph { spans, .. } => {
            let _ = writeln!(out, "<p>{}</p>", spans_html(spans));
        }
        Block::List(list) => {
            let tag = if list.ordered { "ol" } else { "ul" };
            let start = match list.start {
                Some(n) if list.ordered && n != 1 => format!(" start=\"{n}\""),
                _ => String::new(),
            };
            let _ = writeln!(out, "<{tag}{start}>");
            for item in &list.items {
                let _ = writeln!(out, "<li>{}</li>", spans_html(&spans_or_plain(&item.text, &item.spans)));
            }
            let _ = writeln!(out, "</{tag}>");
        }
        Block::KeyFigures { tiles } => {
            // As many columns as `tile_columns` says (two on a phone), so no row has a gap that looks like a missing figure.
            let _ = writeln!(out, "<div class=\"tiles cols-{}\">", tile_columns(tiles.len()));
            for Tile { label, value, note } in tiles {
                let _ = write!(
                    out,
                    "<div class=\"tile\"><div class=\"tile-value\">{}</div><div class=\"tile-label\">{}</div>",
                    esc(value),
                    esc(label)
                );
                if let Some(note) = note {
                    let _ = write!(out, "<div class=\"tile-note\">{}</div>", esc(note));
                }
                out.push_str("</div>\n");
            }
            out.push_str("</div>\n");
        }
        Block::Table(table) => table_html(out, table, doc),
        Block::Figure { caption, chart } => {
            let _ = writeln!(out, "<figure class=\"chart\">\n<figcaption>{}</figcaption>", esc(caption));
            // Two layouts of the same chart: the desk one (640 units, chart text at least 11 px
            // wide screens), and a narrow one a phone shows at about its natural size, so no
            // point, bar value or legend runs off the screen. CSS shows one.
            out.push_str("<div class=\"scroll\">");
            svg(out, &plot::layout_at(chart, doc.lang, plot::WIDTH), caption, "desk");
            svg(out, &plot::layout_at(chart, doc.lang, plot::NARROW), caption, "phone");
            out.push_str("</div>\n");
            out.push_str("</figure>\n");
        }
        Block::Note { text } => {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(text).replace('\n', "<br>"));
        }
        Block::PageBreak => out.push_str("<div class=\"page-break\"></div>\n"),
        Block::Attachment { title } => {
            // Outside an official document (whose attachments `official` lays out): a new page and a heading.
            let n = doc.blocks[..index].iter().filter(|b| matches!(b, Block::Attachment { .. })).count() + 1;
            let heading = layout::attachment_heading(n, title, doc.lang);
            let _ = writeln!(out, "<div class=\"page-break\"></div>\n<h2>{}</h2>", esc(&heading));
        }
    }
}

fn table_html(out: &mut String, table: &Table, doc: &Document) {
    out.push_str("<figure class=\"table\">\n");
    if let Some(caption) = &table.caption {
        let _ = writeln!(out, "<figcaption>{}</figcaption>", esc(caption));
    }
    out.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for col in &table.columns {
        let class = if col.align == Align::Numeric { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th scope=\"col\"{class}>{}</th>", esc(&col.title));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let row = |out: &mut String, cells: &[Cell]| {
        out.push_str("<tr>");
        for (i, cell) in cells.iter().enumerate() {
            let numeric = table.columns.get(i).is_some_and(|c| c.align == Align::Numeric);
            let mut classes = Vec::new();
            if numeric {
                classes.push("num");
            }
            if cell.is_hidden() {
                classes.push("hidden");
            }
            let class = if classes.is_empty() { String::new() } else { format!(" class=\"{}\"", classes.join(" ")) };
            let title = if cell.is_hidden() {
                format!(" title=\"{}\"", doc.lang.pick("按发布规则不予公布", "withheld under the publication rules"))
            } else {
                String::new()
            };
            let _ = write!(out, "<td{class}{title}>{}</td>", esc(cell.display()));
        }
        out.push_str("</tr>\n");
    };
    for cells in &table.rows {
        row(out, cells);
    }
    out.push_str("</tbody>\n");
    if let Some(totals) = &table.totals {
        out.push_str("<tfoot>\n");
        row(out, totals);
        out.push_str("</tfoot>\n");
    }
    out.push_str("</table></div>\n");
    if let Some(note) = &table.note {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(note).replace('\n', "<br>"));
    }
    out.push_str("</figure>\n");
}

fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s).to_string();
    if s == "-0" { "0".to_string() } else { s }
}

fn svg(out: &mut String, plot: &plot::Plot, caption: &str, screen: &str) {
    let _ = writeln!(
        out,
        "<svg class=\"chart {screen}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">",
        n(plot.width),
        n(plot.height),
        esc(&format!("{caption}: {}", plot.summary))
    );
    for shape in &plot.shapes {
        match shape {
            Shape::Rect { x, y, w, h, colour } => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                    n(*x),
                    n(*y),
                    n(w.max(0.0)),
                    n(*h),
                    colour.hex()
                );
            }
            Shape::Line { points, colour, stroke, heavy } => {
                let pts: Vec<String> = points.iter().map(|(x, y)| format!("{},{}", n(*x), n(*y))).collect();
                let dash = match stroke {
                    Stroke::Solid => "",
                    Stroke::Dashed => " stroke-dasharray=\"6 4\"",
                    Stroke::Dotted => " stroke-dasharray=\"2 3\"",
                };
                let _ = writeln!(
                    out,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{dash}/>",
                    pts.join(" "),
                    colour.hex(),
                    if *heavy { "2.5" } else { "1" }
                );
            }
            Shape::Band { xs, top, bottom, colour } => {
                let pts: Vec<String> = xs
                    .iter()
                    .zip(top)
                    .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
                    .chain(xs.iter().zip(bottom).rev().map(|(x, y)| format!("{},{}", n(*x), n(*y))))
                    .collect();
                let _ = writeln!(out, "<polygon points=\"{}\" fill=\"{}\"/>", pts.join(" "), colour.hex());
            }
            Shape::Marker { x, y, r, colour } => {
                let _ = writeln!(
                    out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>",
                    n(*x),
                    n(*y),
                    n(*r),
                    colour.hex()
                );
            }
            Shape::Text { x, y, text, size, anchor, colour } => {
                let anchor = match anchor {
                    Anchor::Start => "",
                    Anchor::Middle => " text-anchor=\"middle\"",
                    Anchor::End => " text-anchor=\"end\"",
                };
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{}\"{anchor}>{}</text>",
                    n(*x),
                    n(*y),
                    n(*size),
                    colour.hex(),
                    esc(text)
                );
            }
        }
    }
    out.push_str("</svg>\n");
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<5 & \"x\" 'y'"), "&lt;5 &amp; &quot;x&quot; &#39;y&#39;");
    }

    #[test]
    fn svg_numbers_are_short_and_stable() {
        assert_eq!(n(12.0), "12");
        assert_eq!(n(12.345), "12.3");
        assert_eq!(n(-0.01), "0");
    }
}
