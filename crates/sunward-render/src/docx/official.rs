//! An official document's frame in Word (GB/T 9704-2012): the head (red
//! authority mark, number line, red rule as a paragraph border, title),
//! the close (attachments list, signature, annotation) and the imprint,
//! drawn from the [`OfficialFrame`] the layout layer builds; and the
//! indent, condensing and faces an official document's text is set with.

use super::xml::{INK, OFFICIAL_CHAR, OFFICIAL_RED, OFFICIAL_TEXT_W, para, run};
use crate::layout::{Imprint, NumberLine, OfficialFrame, Signature};
use crate::plot;

/// The two-character first-line indent of an official document's paragraphs.
pub(super) fn official_indent() -> String {
    format!("<w:ind w:firstLineChars=\"200\" w:firstLine=\"{}\"/>", 2 * OFFICIAL_CHAR)
}

/// How much an official document's characters are condensed, in twentieths
/// of a point: 28 characters of 16 pt less 0.25 pt each (441 pt) fit the
/// 156 mm (442.2 pt) line, where 28 at full width (448 pt) do not.
pub(super) const OFFICIAL_CONDENSE: i32 = -5;

/// The head of an official document: the mark (`内部资料`) top left, the
/// issuing authority's mark (`…文件`) large, red and centred, the
/// document number centred, the red rule, the title (and subtitle)
/// centred and the main recipient flush left.
pub(super) fn official_head(out: &mut String, frame: &OfficialFrame) {
    if let Some(mark) = &frame.marking {
        out.push_str(&para("", "<w:spacing w:after=\"0\"/>", &run(mark, "")));
    }
    if let Some(name) = &frame.issuer_mark {
        out.push_str(&para(
            "",
            "<w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"480\" w:after=\"360\" w:line=\"240\" w:lineRule=\"auto\"/><w:jc w:val=\"center\"/>",
            &run(
                name,
                &format!("<w:b/><w:bCs/><w:color w:val=\"{OFFICIAL_RED}\"/><w:sz w:val=\"72\"/><w:szCs w:val=\"72\"/>"),
            ),
        ));
    }
    if let Some(line) = &frame.number {
        out.push_str(&number_line(line));
    }
    // The red rule: the bottom border of an empty, low paragraph.
    out.push_str(&para(
        "",
        &format!(
            "<w:pBdr><w:bottom w:val=\"single\" w:sz=\"18\" w:space=\"1\" w:color=\"{OFFICIAL_RED}\"/></w:pBdr>\
             <w:spacing w:after=\"0\" w:line=\"200\" w:lineRule=\"exact\"/>"
        ),
        "",
    ));
    out.push_str(&para("Title", "", &run(&official_title_lines(&frame.title), "")));
    if let Some(sub) = &frame.subtitle {
        out.push_str(&para("Subtitle", "", &run(sub, "")));
    }
    if let Some(recipient) = &frame.recipient {
        out.push_str(&para("", "", &run(recipient, "")));
    }
}

/// The paragraph above the red rule: the number centred, or the number a
/// character in from the left and the signer at a right tab a character in.
fn number_line(line: &NumberLine) -> String {
    match line {
        NumberLine::Signed { number, signer } => {
            let ppr = format!(
                "<w:tabs><w:tab w:val=\"right\" w:pos=\"{}\"/></w:tabs><w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"240\" w:after=\"0\"/><w:ind w:left=\"{OFFICIAL_CHAR}\"/>",
                OFFICIAL_TEXT_W - 2 * OFFICIAL_CHAR
            );
            para("", &ppr, &format!("{}<w:r><w:tab/></w:r>{}", run(number, ""), run(signer, "")))
        }
        NumberLine::Centred(number) => para(
            "",
            "<w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"240\" w:after=\"0\"/><w:jc w:val=\"center\"/>",
            &run(number, ""),
        ),
    }
}

/// An official title too long for one line of 二号, with a line break
/// between phrases ([`crate::document::phrase_break`]) so that Word does not
/// break it inside a word.
fn official_title_lines(title: &str) -> String {
    // 二号 is 22 pt: 440 twips a character.
    let width_of = |s: &str| plot::text_width(s, 440.0);
    let line = f64::from(OFFICIAL_TEXT_W);
    if width_of(title) <= line {
        return title.to_string();
    }
    match crate::document::phrase_break(title, &width_of, line) {
        Some(at) => format!("{}\n{}", &title[..at], &title[at..]),
        None => title.to_string(),
    }
}

/// The width of text in official body type, in twips.
fn official_width(s: &str) -> f64 {
    plot::text_width(s, f64::from(OFFICIAL_CHAR))
}

/// The end of an official document's body: the list of attachments (附件说明)
/// a blank line below the text, two characters in, the further titles under
/// the first; the issuer centred over the date, the date four characters in
/// from the right (one blank line above); then the audience as the
/// annotation (`（此件公开发布）`), indented two characters.
pub(super) fn official_close(out: &mut String, frame: &OfficialFrame) {
    attachment_list(out, frame);
    if let Some(signature) = &frame.signature {
        out.push_str(&signature_xml(signature, frame.annotation.is_some()));
    }
    if let Some(annotation) = &frame.annotation {
        out.push_str(&para("", &format!("<w:spacing w:before=\"579\"/>{}", official_indent()), &run(annotation, "")));
    }
}

/// The list of attachments: a hanging indent, the title (and its wrapped
/// lines) after the marker, the marker out in front; further markers under
/// the first one's number.
fn attachment_list(out: &mut String, frame: &OfficialFrame) {
    let lead = official_width(frame.attachments_lead).round() as u32;
    for (i, line) in frame.attachments.iter().enumerate() {
        let marker_at = 2 * OFFICIAL_CHAR + if line.under_first { lead } else { 0 };
        let hang = official_width(&line.marker).round() as u32;
        let before = if i == 0 { "<w:spacing w:before=\"579\"/>" } else { "" };
        out.push_str(&para(
            "",
            &format!("<w:keepNext/>{before}<w:ind w:left=\"{}\" w:hanging=\"{hang}\"/>", marker_at + hang),
            &format!("{}{}", run(&line.marker, ""), run(&line.title, "")),
        ));
    }
}

/// The signature: the issuer centred over the date, the date four
/// characters in from the right, a blank line above; `keep`: the date
/// keeps with the annotation after it.
fn signature_xml(signature: &Signature, keep: bool) -> String {
    let mut out = String::new();
    let date_right = 4 * OFFICIAL_CHAR;
    let date_w = signature.date.as_deref().map_or(0.0, official_width);
    if let Some(issuer) = &signature.issuer {
        let right = (f64::from(date_right) + (date_w - official_width(issuer)) / 2.0).max(0.0).round() as u32;
        let right = if signature.date.is_some() { right } else { date_right };
        out.push_str(&para(
            "",
            &format!("<w:keepNext/><w:spacing w:before=\"1158\"/><w:ind w:right=\"{right}\"/><w:jc w:val=\"right\"/>"),
            &run(issuer, ""),
        ));
    }
    if let Some(date) = &signature.date {
        let before = if signature.issuer.is_some() { "" } else { "<w:spacing w:before=\"1158\"/>" };
        let keep = if keep { "<w:keepNext/>" } else { "" };
        out.push_str(&para(
            "",
            &format!("{keep}{before}<w:ind w:right=\"{date_right}\"/><w:jc w:val=\"right\"/>"),
            &run(date, ""),
        ));
    }
    out
}

/// The imprint (版记) at the end of an official document: a heavy rule
/// above and below, a light one between the copies line and the printing
/// office with its date; 4号 (14 pt), a character in.
pub(super) fn official_imprint(out: &mut String, imprint: &Imprint) {
    let (copies, printed) = (&imprint.copies, &imprint.printed);
    let heavy = format!("w:val=\"single\" w:sz=\"8\" w:space=\"1\" w:color=\"{INK}\"");
    let light = format!("w:val=\"single\" w:sz=\"4\" w:space=\"1\" w:color=\"{INK}\"");
    let size = "<w:sz w:val=\"28\"/><w:szCs w:val=\"28\"/>";
    let tab = OFFICIAL_TEXT_W - OFFICIAL_CHAR;
    if let Some(copies) = copies {
        let below = if printed.is_some() { &light } else { &heavy };
        out.push_str(&para(
            "",
            &format!(
                "<w:keepNext/><w:pBdr><w:top {heavy}/><w:bottom {below}/></w:pBdr><w:snapToGrid w:val=\"0\"/><w:spacing w:before=\"579\"/><w:ind w:left=\"{OFFICIAL_CHAR}\" w:right=\"{OFFICIAL_CHAR}\"/>"
            ),
            &run(copies, size),
        ));
    }
    if let Some((office, date)) = printed {
        let top = if copies.is_some() { String::new() } else { format!("<w:top {heavy}/>") };
        let before = if copies.is_some() { "" } else { "<w:spacing w:before=\"579\"/>" };
        out.push_str(&para(
            "",
            &format!(
                "<w:pBdr>{top}<w:bottom {heavy}/></w:pBdr><w:snapToGrid w:val=\"0\"/>{before}<w:tabs><w:tab w:val=\"right\" w:pos=\"{tab}\"/></w:tabs><w:ind w:left=\"{OFFICIAL_CHAR}\"/>"
            ),
            &format!("{}<w:r><w:tab/></w:r>{}", run(office, size), run(date, size)),
        ));
    }
}

/// The run properties of 黑体 text in an official document (the `附件1` label, level 1 headings).
pub(super) const OFFICIAL_HEI: &str = "<w:rFonts w:ascii=\"SimHei\" w:hAnsi=\"SimHei\" w:eastAsia=\"黑体\"/>";

/// `w:rFonts` naming an official document's face: its Chinese name for
/// Chinese text, its Latin name for figures and Latin text.
pub(super) fn official_font(chinese: &str, latin: &str) -> String {
    format!("<w:rFonts w:ascii=\"{latin}\" w:hAnsi=\"{latin}\" w:eastAsia=\"{chinese}\" w:cs=\"{latin}\"/>")
}
