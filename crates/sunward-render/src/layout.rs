//! What the frame of a document holds, decided once for the three
//! renderers: an official document's head (mark, authority, number line,
//! title, recipient), its close (list of attachments, signature,
//! annotation) and its imprint, as plain data built from the [`Document`];
//! the heading a standard document gives an attachment; and the size of a
//! table that never breaks across pages. The HTML, PDF and Word renderers
//! draw from these in their own units and markup, as they draw a chart
//! from the one [`crate::plot`] layout.

use crate::document::{ATTACHMENTS_LEAD, Document, Lang, attachment_label};

/// Tables of this many rows or fewer (totals included) are never broken
/// across pages, in the PDF and in Word.
pub const SMALL_TABLE: usize = 6;

/// The line under an official document's authority mark.
#[derive(Debug, Clone, PartialEq)]
pub enum NumberLine {
    /// The document number alone, centred.
    Centred(String),
    /// A report to a higher authority (GB/T 9704-2012, 7.2.4): the number
    /// (perhaps empty) a character in from the left, the signer (`签发人：…`)
    /// a character in from the right.
    Signed {
        /// The document number, or `""`.
        number: String,
        /// The signer with its label: `签发人：王芳`.
        signer: String,
    },
}

/// One line of an official document's list of attachments (附件说明).
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentLine {
    /// `附件：1．`, `2．`, or `附件：` for a single attachment.
    pub marker: String,
    /// The attachment's title.
    pub title: String,
    /// The line is a further one of several: its number stands under the
    /// first line's number, the width of [`OfficialFrame::attachments_lead`] in.
    pub under_first: bool,
}

/// An official document's signature: the issuer centred over the date.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// The issuing organisation.
    pub issuer: Option<String>,
    /// The date, as readers see it (`2025年1月15日`).
    pub date: Option<String>,
}

/// An official document's imprint (版记) at the foot of its last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Imprint {
    /// `抄送：….`
    pub copies: Option<String>,
    /// The printing office and the date it printed (`2025年1月15日印发`).
    pub printed: Option<(String, String)>,
}

/// Everything an official document (GB/T 9704-2012) sets around its body,
/// in reading order: what each part says, not how it is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficialFrame {
    /// The mark top left (`内部资料`).
    pub marking: Option<String>,
    /// The issuing authority's mark, large and red: `…文件`.
    pub issuer_mark: Option<String>,
    /// The document number, with the signer when there is one.
    pub number: Option<NumberLine>,
    /// The title, centred below the red rule.
    pub title: String,
    /// The subtitle, centred under the title.
    pub subtitle: Option<String>,
    /// The main recipient, flush left.
    pub recipient: Option<String>,
    /// The index of the first block after the body: the first attachment,
    /// or the number of blocks. The close comes there.
    pub body_end: usize,
    /// The list of attachments under the body.
    pub attachments: Vec<AttachmentLine>,
    /// The words before the first of several attachments (`附件：`).
    pub attachments_lead: &'static str,
    /// The signature, when there is an issuer or a date.
    pub signature: Option<Signature>,
    /// The audience as the annotation (附注): `（此件公开发布）`.
    pub annotation: Option<String>,
    /// The imprint, when there are copies or a printing office.
    pub imprint: Option<Imprint>,
}

impl OfficialFrame {
    /// The frame of `doc`, from its title and meta data and its attachments.
    pub fn of(doc: &Document) -> OfficialFrame {
        let lang = doc.lang;
        let meta = &doc.meta;
        let date = meta.generated_display(lang);
        let signature = (meta.organisation.is_some() || date.is_some())
            .then(|| Signature { issuer: meta.organisation.clone(), date });
        let (copies, printed) = meta.imprint(lang);
        let imprint = (copies.is_some() || printed.is_some()).then_some(Imprint { copies, printed });
        OfficialFrame {
            marking: meta.marking.clone(),
            issuer_mark: meta.organisation.as_ref().map(|org| format!("{org}{}", lang.pick("文件", ""))),
            number: number_line(meta.doc_number.as_deref(), meta.signer.as_deref(), lang),
            title: doc.title.clone(),
            subtitle: doc.subtitle.clone(),
            recipient: meta.recipient.clone(),
            body_end: doc.body_end(),
            attachments: attachment_lines(doc),
            attachments_lead: ATTACHMENTS_LEAD.pick(lang),
            signature,
            annotation: meta.audience.as_deref().map(|a| annotation(a, lang)),
            imprint,
        }
    }
}

/// The number line: the number and the signer side by side when there is
/// a signer, else the number alone.
fn number_line(number: Option<&str>, signer: Option<&str>, lang: Lang) -> Option<NumberLine> {
    match (number, signer) {
        (number, Some(signer)) => Some(NumberLine::Signed {
            number: number.unwrap_or_default().to_string(),
            signer: format!("{}{signer}", lang.pick("签发人：", "Signed off by: ")),
        }),
        (Some(number), None) => Some(NumberLine::Centred(number.to_string())),
        (None, None) => None,
    }
}

/// The list of attachments ([`Document::attachment_list`]), each line
/// knowing whether it stands under the first.
fn attachment_lines(doc: &Document) -> Vec<AttachmentLine> {
    let list = doc.attachment_list();
    let several = list.len() > 1;
    list.into_iter()
        .enumerate()
        .map(|(i, (marker, title))| AttachmentLine { marker, title, under_first: several && i > 0 })
        .collect()
}

/// The audience as an official document's annotation (附注), in brackets:
/// `（此件公开发布）`.
pub fn annotation(audience: &str, lang: Lang) -> String {
    let a = audience.trim();
    if a.starts_with('（') || a.starts_with('(') {
        a.to_string()
    } else {
        format!("{}{a}{}", lang.pick("（", "("), lang.pick("）", ")"))
    }
}

/// The heading a standard (not official) document gives its `n`th
/// attachment, on a new page: `附件1　title`, `Attachment 1 title`.
pub fn attachment_heading(n: usize, title: &str, lang: Lang) -> String {
    format!("{}{}{title}", attachment_label(n, lang), lang.pick("　", " "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Block, DocStyle};

    #[test]
    fn the_annotation_is_bracketed_once() {
        assert_eq!(annotation("此件公开发布", Lang::ZhCn), "（此件公开发布）");
        assert_eq!(annotation(" （此件公开发布）", Lang::ZhCn), "（此件公开发布）");
        assert_eq!(annotation("for publication", Lang::En), "(for publication)");
    }

    #[test]
    fn the_frame_holds_the_parts_the_document_gives() {
        let mut doc = Document::new("关于2024年度工作的报告");
        doc.lang = Lang::ZhCn;
        doc.meta.style = DocStyle::Official;
        doc.meta.organisation = Some("向阳社工站".into());
        doc.meta.signer = Some("王芳".into());
        doc.blocks.push(Block::Paragraph { text: "正文".into() });
        doc.blocks.push(Block::Attachment { title: "一".into() });
        doc.blocks.push(Block::Attachment { title: "二".into() });
        let frame = OfficialFrame::of(&doc);
        assert_eq!(frame.issuer_mark.as_deref(), Some("向阳社工站文件"));
        assert_eq!(frame.number, Some(NumberLine::Signed { number: String::new(), signer: "签发人：王芳".into() }));
        assert_eq!(frame.body_end, 1);
        assert_eq!(frame.attachments.iter().map(|a| a.under_first).collect::<Vec<_>>(), [false, true]);
        assert_eq!(frame.signature, Some(Signature { issuer: Some("向阳社工站".into()), date: None }));
        assert_eq!((frame.annotation, frame.imprint), (None, None));
        assert_eq!(attachment_heading(2, "名单", Lang::ZhCn), "附件2　名单");
    }
}
