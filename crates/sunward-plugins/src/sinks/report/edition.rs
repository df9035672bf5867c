//! What tells a public edition from an internal one on the page: the line
//! on the title page saying who the report is for, the 内部资料 mark on
//! every page of an internal one, and the publication note at the end of a
//! public one.

use sunward_render::publication::Rules;
use sunward_render::{Block, Document, Lang};

use super::config::Audience;

/// Sets who the report is for on its title page, and the internal mark on every page.
pub(super) fn state_audience(doc: &mut Document, audience: Audience, note: Option<String>, threshold: u64) {
    let lang = doc.lang;
    let who = doc.meta.organisation.clone().unwrap_or_else(|| lang.pick("本单位", "the organisation").to_string());
    let default = match (audience, lang) {
        (Audience::Internal, Lang::ZhCn) => format!("内部资料：供{who}内部使用，请勿公开或转发。"),
        (Audience::Internal, Lang::En) => format!("Internal: for the use of {who}; not for publication or forwarding."),
        // The rules themselves are in the one note at the end of the document.
        (Audience::Public, Lang::ZhCn) => {
            format!("公开版：按发布规则，小于{threshold}的人数等数字及可据以推算它们的数字不予公布，文末注释说明口径。")
        }
        (Audience::Public, Lang::En) => format!(
            "Public edition: counts under {threshold}, and figures that would let one be worked out, are withheld under the publication rules; the note at the end explains."
        ),
    };
    // An official document's annotation (附注) is the short formula of GB/T 9704.
    let default = match (doc.meta.style, audience, lang) {
        (sunward_render::DocStyle::Official, Audience::Public, Lang::ZhCn) => "此件公开发布".to_string(),
        (sunward_render::DocStyle::Official, Audience::Internal, Lang::ZhCn) => "此件不公开".to_string(),
        (sunward_render::DocStyle::Official, Audience::Public, Lang::En) => "for publication".to_string(),
        (sunward_render::DocStyle::Official, Audience::Internal, Lang::En) => "not for publication".to_string(),
        _ => default,
    };
    // The output's setting, else the template's front matter, else the default.
    doc.meta.audience = match note {
        Some(text) if text.trim().is_empty() => None,
        Some(text) => Some(text),
        None => Some(doc.meta.audience.take().unwrap_or(default)),
    };
    if audience == Audience::Internal {
        doc.meta.marking = Some(lang.pick("内部资料", "Internal").to_string());
    }
}

/// Adds the publication note to a public document that does not say it yet, at
/// the end of its body (the cover line points to it).
pub(super) fn add_note(doc: &mut Document, rules: &Rules) {
    let note = rules.note(doc.lang);
    let said = doc.blocks.iter().any(|b| match b {
        Block::Note { text } => text.contains(&note),
        Block::Table(t) => t.note.as_deref().is_some_and(|n| n.contains(&note)),
        _ => false,
    });
    if !said {
        // At the end of the body: before the first attachment of an official document.
        let at = doc.body_end();
        doc.blocks.insert(at, Block::Note { text: note });
    }
}
