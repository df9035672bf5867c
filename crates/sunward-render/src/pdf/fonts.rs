//! The fonts a PDF is set in: finding the report face ([`find_font`]),
//! the official faces ([`OfficialFaces`]), a genpdf font family of one
//! face, and every character the document will print (what each face is
//! subset to).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use genpdf::fonts::{FontData, FontFamily};

use super::error::PdfError;
use crate::document::{Block, Document};
use crate::plot::{Plot, Shape};

/// The environment variable naming the font file to use.
pub const FONT_ENV: &str = "SUNWARD_FONT";

/// Where `scripts/prepare-fonts.sh` puts the font, relative to the repository root.
pub const FONT_ASSET: &str = "assets/fonts/wqy-microhei.ttf";

/// Finds the Chinese font: the file named by `SUNWARD_FONT`, else
/// `assets/fonts/wqy-microhei.ttf` under the current directory or under
/// this repository's root. The error says how to get one.
pub fn find_font() -> Result<PathBuf, PdfError> {
    if let Some(path) = std::env::var_os(FONT_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(PdfError(format!("{FONT_ENV}={} is not a file", path.display())))
        };
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(FONT_ASSET);
    for candidate in [PathBuf::from(FONT_ASSET), repo] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(PdfError(format!(
        "no Chinese font for PDF reports: run scripts/prepare-fonts.sh (it writes {FONT_ASSET}), \
         or set {FONT_ENV} to a single-face TrueType .ttf"
    )))
}

/// Reads the font [`find_font`] finds.
pub fn load_font() -> Result<Vec<u8>, PdfError> {
    let path = find_font()?;
    std::fs::read(&path).map_err(|e| PdfError(format!("cannot read font {}: {e}", path.display())))
}

/// A font family of one face: genpdf insists on bold and italic slots, which
/// point at a built-in PDF font (Helvetica, no Chinese) and are never used.
pub(super) fn family(face: Vec<u8>) -> Result<FontFamily<FontData>, PdfError> {
    let unused = || FontData::new(face.clone(), Some(printpdf_helvetica()));
    Ok(FontFamily {
        regular: FontData::new(face.clone(), None)?,
        bold: unused()?,
        italic: unused()?,
        bold_italic: unused()?,
    })
}

/// The faces an official document is set in besides the report face (which
/// is a 黑体 and sets its level 1 headings, tables and the `附件1` label):
/// read by [`OfficialFaces::load`] from the files `scripts/prepare-fonts.sh`
/// installs, or from the files the environment names.
#[derive(Debug, Clone)]
pub struct OfficialFaces {
    /// A 宋体 (Song): the authority's mark, the title and the page numbers,
    /// and the body when no 仿宋 is given.
    pub song: Vec<u8>,
    /// A 楷体 (Kai): level 2 headings.
    pub kai: Vec<u8>,
    /// A 仿宋 (FangSong) for the body, which GB/T 9704 asks for. No free
    /// FangSong with the simplified characters is packaged by Debian, so
    /// none is installed: an office that holds a licence for one names it
    /// in `SUNWARD_FONT_FANGSONG`.
    pub fangsong: Option<Vec<u8>>,
    /// A 小标宋 for the title and the authority's mark; without one they
    /// are set in the Song face, drawn heavier.
    pub title: Option<Vec<u8>>,
}

/// The files `scripts/prepare-fonts.sh` writes, and the variables that override them.
const OFFICIAL_FONTS: [(&str, &str, &str); 4] = [
    ("SUNWARD_FONT_SONG", "assets/fonts/arphic-sungti.ttf", "the 宋体 (AR PL SungtiL GB)"),
    ("SUNWARD_FONT_KAI", "assets/fonts/arphic-kaiti.ttf", "the 楷体 (AR PL KaitiM GB)"),
    ("SUNWARD_FONT_FANGSONG", "", "a 仿宋"),
    ("SUNWARD_FONT_TITLE", "", "a 小标宋"),
];

impl OfficialFaces {
    /// Reads the faces: each from the file its variable names, else from
    /// where `scripts/prepare-fonts.sh` puts it (under the current directory
    /// or this repository's root). The Song and Kai faces are required; the
    /// FangSong and title faces are optional.
    pub fn load() -> Result<OfficialFaces, PdfError> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let read = |(var, asset, what): (&str, &str, &str)| -> Result<Option<Vec<u8>>, PdfError> {
            let path = match std::env::var_os(var) {
                Some(path) => Some(PathBuf::from(path)),
                None if asset.is_empty() => None,
                None => [PathBuf::from(asset), repo.join(asset)].into_iter().find(|p| p.is_file()),
            };
            match path {
                Some(path) => std::fs::read(&path).map(Some).map_err(|e| {
                    PdfError(format!("cannot read {what} for official documents ({var}={}): {e}", path.display()))
                }),
                None if asset.is_empty() => Ok(None),
                None => Err(PdfError(format!(
                    "no font for official documents: {what} is missing; run scripts/prepare-fonts.sh \
                     (it writes {asset}), or set {var} to a single-face TrueType .ttf"
                ))),
            }
        };
        let [song, kai, fangsong, title] = OFFICIAL_FONTS;
        let missing = |what: &str| PdfError(format!("no font for official documents: {what}"));
        Ok(OfficialFaces {
            song: read(song)?.ok_or_else(|| missing(song.2))?,
            kai: read(kai)?.ok_or_else(|| missing(kai.2))?,
            fangsong: read(fangsong)?,
            title: read(title)?,
        })
    }
}

fn printpdf_helvetica() -> printpdf::BuiltinFont {
    printpdf::BuiltinFont::Helvetica
}

/// Every character the PDF will print: the document's text, the labels the
/// renderer adds, chart labels, and printable ASCII (page numbers, figures).
pub(super) fn used_chars(doc: &Document, plots: &[Option<Plot>]) -> BTreeSet<char> {
    let mut set: BTreeSet<char> = (' '..='~').collect();
    let mut add = |s: &str| set.extend(s.chars());
    add(&doc.title);
    doc.subtitle.iter().for_each(|s| add(s));
    for s in [
        &doc.meta.organisation,
        &doc.meta.period,
        &doc.meta.audience,
        &doc.meta.marking,
        &doc.meta.doc_number,
        &doc.meta.signer,
        &doc.meta.copies_to,
        &doc.meta.printed_by,
        &doc.meta.recipient,
    ]
    .into_iter()
    .flatten()
    {
        add(s);
    }
    add("文件签发人：抄送印发。（）()•");
    doc.meta.generated_display(doc.lang).iter().for_each(|s| add(s));
    add("单位期间生成日期：第页·—续表 Organisation Period Generated");
    for block in &doc.blocks {
        match block {
            Block::Heading { text, .. }
            | Block::Paragraph { text }
            | Block::RichParagraph { text, .. }
            | Block::Note { text } => add(text),
            Block::List(list) => list.items.iter().for_each(|i| add(&i.text)),
            Block::KeyFigures { tiles } => {
                for t in tiles {
                    add(&t.label);
                    add(&t.value);
                    t.note.iter().for_each(|n| add(n));
                }
            }
            Block::Table(t) => {
                t.caption.iter().for_each(|s| add(s));
                t.note.iter().for_each(|s| add(s));
                t.columns.iter().for_each(|c| add(&c.title));
                t.rows.iter().chain(t.totals.iter()).flatten().for_each(|c| add(c.display()));
            }
            Block::Figure { caption, .. } => add(caption),
            Block::PageBreak => {}
            Block::Attachment { title } => add(title),
        }
    }
    add("附件：．Attachments");
    for plot in plots.iter().flatten() {
        for shape in &plot.shapes {
            if let Shape::Text { text, .. } = shape {
                add(text);
            }
        }
    }
    set.remove(&'\n');
    set
}
