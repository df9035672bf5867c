//! The report's language and the fixed labels that depend on it: [`Lang`],
//! labels in both languages ([`Words`]), and the words around attachments.

use serde::{Deserialize, Serialize};

/// The language of a report: Chinese first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// Simplified Chinese (the default).
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// The BCP 47 tag, as used in `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Picks the Chinese or the English form of a label.
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }
}

/// The words before the list of several attachments: `附件：`, `Attachments: `.
pub const ATTACHMENTS_LEAD: Words = Words { zh: "附件：", en: "Attachments: " };

/// A fixed label in both languages.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    /// The Chinese form.
    pub zh: &'static str,
    /// The English form.
    pub en: &'static str,
}

impl Words {
    /// The form for `lang`.
    pub fn pick(self, lang: Lang) -> &'static str {
        lang.pick(self.zh, self.en)
    }
}

/// The label over attachment `n` (1-based): `附件1`, `Attachment 1`.
pub fn attachment_label(n: usize, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => format!("附件{n}"),
        Lang::En => format!("Attachment {n}"),
    }
}
