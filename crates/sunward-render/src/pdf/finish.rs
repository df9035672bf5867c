//! The finished file: printpdf's output rewritten once with lopdf so that
//! it is the same bytes every run — streams compressed, fonts named as
//! subsets, strong and official text restyled in the page content, the
//! info dictionary, language and outline set, the file ID from the content.

use std::ops::Range;

use super::error::PdfError;
use super::flow::Mark;
use super::style::{HEAVY, HEAVY_STROKE, OFFICIAL_TRACKING, TRACKED};
use crate::document::Document;

/// Rewrites printpdf's output deterministically: streams compressed, info
/// dictionary from the document (title, creator and producer "Sunward", the
/// document's own date), the language and an outline of the level 1 and 2
/// headings in the catalog, printpdf's "Adobe Illustrator" layer creator
/// dropped, and the file ID from the content.
pub(super) fn finish(raw: Vec<u8>, doc: &Document, marks: &[Mark]) -> Result<Vec<u8>, PdfError> {
    use lopdf::{Dictionary, Object, StringFormat};
    let mut pdf = lopdf::Document::load_mem(&raw).map_err(|e| PdfError(format!("cannot re-read the PDF: {e}")))?;
    // printpdf describes its layers (optional content groups) as made by
    // "Adobe Illustrator 14.0": drop that usage dictionary.
    for object in pdf.objects.values_mut() {
        if let Object::Dictionary(dict) = object
            && dict.has_type(b"OCG")
        {
            dict.remove(b"Usage");
        }
    }
    name_fonts(&mut pdf);
    let pages = pdf.get_pages();
    restyle_text(&mut pdf, &pages)?;
    let outline = build_outline(&mut pdf, marks, &pages);
    let root = pdf
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|e| PdfError(format!("the PDF has no catalog: {e}")))?;
    let catalog = pdf
        .get_object_mut(root)
        .and_then(Object::as_dict_mut)
        .map_err(|e| PdfError(format!("the PDF has no catalog: {e}")))?;
    // Drop XMP metadata (it carries the clock) if any.
    catalog.remove(b"Metadata");
    catalog.set("Lang", Object::string_literal(doc.lang.tag()));
    let mut prefs = Dictionary::new();
    prefs.set("DisplayDocTitle", Object::Boolean(true));
    catalog.set("ViewerPreferences", Object::Dictionary(prefs));
    match outline {
        Some(id) => {
            catalog.set("Outlines", Object::Reference(id));
            catalog.set("PageMode", Object::Name(b"UseOutlines".to_vec()));
        }
        None => {
            catalog.remove(b"Outlines");
            catalog.set("PageMode", Object::Name(b"UseNone".to_vec()));
        }
    }
    let mut info = Dictionary::new();
    info.set("Title", Object::String(utf16be(&doc.title), StringFormat::Hexadecimal));
    info.set("Creator", Object::string_literal("Sunward"));
    info.set("Producer", Object::string_literal("Sunward"));
    if let Some(date) = doc.meta.generated.as_deref().and_then(pdf_date) {
        info.set("CreationDate", Object::string_literal(date.clone()));
        info.set("ModDate", Object::string_literal(date));
    }
    let info_id = pdf.add_object(Object::Dictionary(info));
    pdf.trailer.set("Info", Object::Reference(info_id));
    pdf.trailer.remove(b"ID");
    pdf.prune_objects();
    pdf.renumber_objects();
    pdf.compress();
    let mut first = Vec::new();
    pdf.save_to(&mut first).map_err(|e| PdfError(format!("cannot write the PDF: {e}")))?;
    let id = format!("{:016x}{:016x}", fnv64(&first, 0xcbf2_9ce4_8422_2325), fnv64(&first, 0x6c62_272e_07bb_0142));
    pdf.trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id.clone().into_bytes(), StringFormat::Literal),
            Object::String(id.into_bytes(), StringFormat::Literal),
        ]),
    );
    let mut out = Vec::new();
    pdf.save_to(&mut out).map_err(|e| PdfError(format!("cannot write the PDF: {e}")))?;
    Ok(out)
}

/// Names each embedded font as the PDF standard asks of a subset
/// (`ABCDEF+ARPLSungtiLGB`: a tag from the subset's bytes and the face's
/// PostScript name) instead of printpdf's resource name (`F0`), so that
/// `pdffonts` and a reader's font list say which faces a document is set in.
fn name_fonts(pdf: &mut lopdf::Document) {
    use lopdf::Object;
    let mut names: Vec<(lopdf::ObjectId, String)> = Vec::new();
    for (&id, object) in &pdf.objects {
        let Ok(dict) = object.as_dict() else { continue };
        if !dict.has_type(b"FontDescriptor") {
            continue;
        }
        let Some(file) = dict.get(b"FontFile2").and_then(Object::as_reference).ok() else { continue };
        let Some(stream) = pdf.objects.get(&file).and_then(|o| o.as_stream().ok()) else { continue };
        let bytes = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
        if let Some(name) = crate::subset::postscript_name(&bytes) {
            // Six capitals from a hash of the subset: the same subset, the same tag.
            // FNV-1a, 64 bits.
            let mut h =
                bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
            let tag: String = (0..6)
                .map(|_| {
                    let c = char::from(b'A' + (h % 26) as u8);
                    h /= 26;
                    c
                })
                .collect();
            names.push((id, format!("{tag}+{name}")));
        }
    }
    for (descriptor, name) in names {
        if let Ok(dict) = pdf.get_object_mut(descriptor).and_then(Object::as_dict_mut) {
            dict.set("FontName", Object::Name(name.clone().into_bytes()));
        }
        // The CID font that holds the descriptor, inline in its Type0 font or by reference, and that Type0 font.
        for object in pdf.objects.values_mut() {
            let Ok(dict) = object.as_dict_mut() else { continue };
            let holds = |d: &lopdf::Dictionary| {
                d.get(b"FontDescriptor").and_then(Object::as_reference).ok() == Some(descriptor)
            };
            if holds(dict) {
                dict.set("BaseFont", Object::Name(name.clone().into_bytes()));
            }
            let inline = match dict.get_mut(b"DescendantFonts").and_then(Object::as_array_mut) {
                Ok(array) => array.iter_mut().filter_map(|o| o.as_dict_mut().ok()).any(|d| {
                    let found = holds(d);
                    if found {
                        d.set("BaseFont", Object::Name(name.clone().into_bytes()));
                    }
                    found
                }),
                Err(_) => false,
            };
            if inline {
                dict.set("BaseFont", Object::Name(name.clone().into_bytes()));
            }
        }
    }
}

/// Simulated bold and the official character grid, both set by colour:
/// - text filled in a [`HEAVY`] colour (the embedded faces have no bold) is
///   drawn with text render mode 2 (fill, then stroke the outlines in the
///   same colour, [`HEAVY_STROKE`] of the type size wide); the glyphs are
///   written once, so the text copies out once; the line width and stroke
///   colour are set back after the text object;
/// - text filled in a [`TRACKED`] colour (an official document's body) is
///   set with the character spacing (`Tc`) of [`OFFICIAL_TRACKING`], which
///   puts 28 characters of 三号 on a 156 mm line; genpdf cannot set it, and
///   the renderer measured those lines with it.
pub(super) fn restyle_text(
    pdf: &mut lopdf::Document,
    pages: &std::collections::BTreeMap<u32, lopdf::ObjectId>,
) -> Result<(), PdfError> {
    let fail = |e: lopdf::Error| PdfError(format!("cannot rewrite a page for bold text: {e}"));
    for &id in pages.values() {
        let data = pdf.get_page_content(id);
        if let Some(bytes) = restyled(&data) {
            pdf.change_page_content(id, bytes).map_err(fail)?;
        }
    }
    Ok(())
}

/// Whether `r g b` is one of `colours` as printpdf writes them (two decimals: 0x11 → 0.07).
fn is_colour(rgb: [f64; 3], colours: &[(u8, u8, u8)]) -> bool {
    colours.iter().any(|&(r, g, b)| [r, g, b].iter().zip(&rgb).all(|(c, x)| (f64::from(*c) / 255.0 - x).abs() < 0.006))
}

/// A number as a content stream writes it (at most four decimals, no trailing zeros).
fn pdf_number(x: f64) -> String {
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" { "0".to_string() } else { text.to_string() }
}

/// The tokens of a content stream with their byte ranges: strings (`(…)`,
/// `<…>`), array and dictionary brackets, names and numbers and operators;
/// comments and white space are skipped.
fn content_tokens(data: &[u8]) -> Vec<Range<usize>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    let delimiter = |b: u8| matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%');
    while i < data.len() {
        let b = data[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match b {
            b'%' => {
                while i < data.len() && data[i] != b'\n' && data[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'(' => {
                let mut depth = 0usize;
                while i < data.len() {
                    match data[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'<' if data.get(i + 1) == Some(&b'<') => i += 2,
            b'>' if data.get(i + 1) == Some(&b'>') => i += 2,
            b'<' => {
                while i < data.len() && data[i] != b'>' {
                    i += 1;
                }
                i += 1;
            }
            b'[' | b']' | b'{' | b'}' => i += 1,
            _ => {
                i += 1;
                while i < data.len() && !data[i].is_ascii_whitespace() && !delimiter(data[i]) {
                    i += 1;
                }
            }
        }
        tokens.push(start..i.min(data.len()));
    }
    tokens
}

/// A page's content with strong text stroked and official text tracked
/// (see [`restyle_text`]), or `None` when the page has neither. The
/// operators are added between the page's own, whose bytes are kept as
/// they are: no parse into objects and back.
fn restyled(data: &[u8]) -> Option<Vec<u8>> {
    let tokens = content_tokens(data);
    let text = |r: &Range<usize>| data.get(r.clone()).unwrap_or_default();
    let number = |r: &Range<usize>| std::str::from_utf8(text(r)).ok().and_then(|s| s.parse::<f64>().ok());
    let tracking_pt = OFFICIAL_TRACKING * 72.0 / 25.4;
    // Insertions: (byte offset, text), in order.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let (mut on, mut tracked, mut touched) = (false, false, false);
    for (k, token) in tokens.iter().enumerate() {
        match text(token) {
            b"rg" if k >= 3 => {
                let operands = [&tokens[k - 3], &tokens[k - 2], &tokens[k - 1]];
                let rgb = match (number(operands[0]), number(operands[1]), number(operands[2])) {
                    (Some(r), Some(g), Some(b)) => [r, g, b],
                    _ => continue,
                };
                let heavy = is_colour(rgb, &HEAVY);
                let track = is_colour(rgb, &TRACKED);
                let mut added = String::new();
                if heavy {
                    let colour: Vec<String> = rgb.iter().map(|x| pdf_number(*x)).collect();
                    added.push_str(&format!(" {} RG {} w 2 Tr", colour.join(" "), pdf_number(HEAVY_STROKE * 10.0)));
                } else if on {
                    added.push_str(" 0 Tr");
                }
                if track != tracked {
                    added.push_str(&format!(" {} Tc", pdf_number(if track { tracking_pt } else { 0.0 })));
                }
                if !added.is_empty() {
                    inserts.push((token.end, added));
                }
                touched |= heavy || track;
                (on, tracked) = (heavy, track);
            }
            // The outline grows with the type: 0.025 of the font size.
            b"Tf" if on && k >= 1 => {
                if let Some(size) = number(&tokens[k - 1]) {
                    inserts.push((token.end, format!(" {} w", pdf_number(HEAVY_STROKE * size))));
                }
            }
            b"ET" if on => {
                inserts.push((token.start, "0 Tr ".to_string()));
                inserts.push((token.end, " 0 0 0 RG 1 w".to_string()));
                on = false;
            }
            _ => {}
        }
    }
    if !touched {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() + inserts.iter().map(|(_, t)| t.len()).sum::<usize>());
    let mut at = 0;
    for (offset, added) in inserts {
        out.extend_from_slice(&data[at..offset]);
        out.extend_from_slice(added.as_bytes());
        at = offset;
    }
    out.extend_from_slice(&data[at..]);
    Some(out)
}

/// Adds the outline (bookmarks): level 1 headings at the top, each level 2
/// heading under the level 1 before it, every entry opening its page at
/// the heading. Returns the outline dictionary's id, or `None` without headings.
fn build_outline(
    pdf: &mut lopdf::Document,
    marks: &[Mark],
    pages: &std::collections::BTreeMap<u32, lopdf::ObjectId>,
) -> Option<lopdf::ObjectId> {
    use lopdf::{Dictionary, Object, ObjectId, StringFormat};
    if marks.is_empty() {
        return None;
    }
    // (mark index, children's mark indices) for each top-level entry.
    let mut tree: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, m) in marks.iter().enumerate() {
        match tree.last_mut() {
            Some((_, children)) if m.level > 1 => children.push(i),
            _ => tree.push((i, Vec::new())),
        }
    }
    let root = pdf.new_object_id();
    let ids: Vec<ObjectId> = marks.iter().map(|_| pdf.new_object_id()).collect();
    let entry = |i: usize, parent: ObjectId, prev: Option<usize>, next: Option<usize>, kids: &[usize]| {
        let m = &marks[i];
        let mut d = Dictionary::new();
        d.set("Title", Object::String(utf16be(&m.text), StringFormat::Hexadecimal));
        d.set("Parent", Object::Reference(parent));
        if let Some(p) = prev {
            d.set("Prev", Object::Reference(ids[p]));
        }
        if let Some(n) = next {
            d.set("Next", Object::Reference(ids[n]));
        }
        if let (Some(first), Some(last)) = (kids.first(), kids.last()) {
            d.set("First", Object::Reference(ids[*first]));
            d.set("Last", Object::Reference(ids[*last]));
            d.set("Count", Object::Integer(kids.len() as i64));
        }
        if let Some(page) = pages.get(&(m.page as u32)) {
            let top = (m.top * 72.0 / 25.4 * 100.0).round() / 100.0;
            d.set(
                "Dest",
                Object::Array(vec![
                    Object::Reference(*page),
                    Object::Name(b"XYZ".to_vec()),
                    Object::Null,
                    Object::Real(top as f32),
                    Object::Null,
                ]),
            );
        }
        Object::Dictionary(d)
    };
    let mut objects = Vec::new();
    for (t, (i, kids)) in tree.iter().enumerate() {
        let prev = t.checked_sub(1).map(|p| tree[p].0);
        let next = tree.get(t + 1).map(|n| n.0);
        objects.push((ids[*i], entry(*i, root, prev, next, kids)));
        for (k, c) in kids.iter().enumerate() {
            let prev = k.checked_sub(1).map(|p| kids[p]);
            let next = kids.get(k + 1).copied();
            objects.push((ids[*c], entry(*c, ids[*i], prev, next, &[])));
        }
    }
    for (id, object) in objects {
        pdf.objects.insert(id, object);
    }
    let mut outlines = Dictionary::new();
    outlines.set("Type", Object::Name(b"Outlines".to_vec()));
    outlines.set("First", Object::Reference(ids[tree[0].0]));
    outlines.set("Last", Object::Reference(ids[tree[tree.len() - 1].0]));
    outlines.set("Count", Object::Integer(marks.len() as i64));
    pdf.objects.insert(root, Object::Dictionary(outlines));
    Some(root)
}

fn utf16be(s: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_be_bytes());
    }
    out
}

/// `2025-01-15` → `D:20250115000000Z`; other forms are left out.
fn pdf_date(date: &str) -> Option<String> {
    let d: Vec<&str> = date.trim().split('-').collect();
    let ok = d.len() == 3
        && d[0].len() == 4
        && d[1].len() == 2
        && d[2].len() == 2
        && d.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| format!("D:{}{}{}000000Z", d[0], d[1], d[2]))
}

fn fnv64(data: &[u8], seed: u64) -> u64 {
    data.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restyling_adds_operators_only_outside_strings_and_keeps_the_page_bytes() {
        // 0x11 0x11 0x11 (0.07) is a heavy colour; a string holding "rg" and an
        // escaped parenthesis is text, not an operator.
        let page: &[u8] = b"BT /F0 10 Tf 0.07 0.07 0.07 rg (a \\) 1 1 1 rg) Tj ET\n0.5 0.5 0.5 rg 1 2 m";
        let out = restyled(page).expect("a heavy colour is restyled");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "BT /F0 10 Tf 0.07 0.07 0.07 rg 0.07 0.07 0.07 RG 0.25 w 2 Tr (a \\) 1 1 1 rg) Tj 0 Tr ET 0 0 0 RG 1 w\n0.5 0.5 0.5 rg 1 2 m"
        );
        // A page with neither heavy nor tracked text is left alone.
        assert_eq!(restyled(b"BT 0.5 0.5 0.5 rg (x) Tj ET"), None);
        assert_eq!(content_tokens(b"[(a)(b)] TJ % note\n<<>>").len(), 7);
    }

    #[test]
    fn dates_become_pdf_dates() {
        assert_eq!(pdf_date("2025-01-15").as_deref(), Some("D:20250115000000Z"));
        assert_eq!(pdf_date("2025年1月"), None);
    }
}
