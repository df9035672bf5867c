//! A TrueType subsetter for the PDF renderer: keeps only the glyphs of the
//! characters a document uses (plus the components of composite glyphs),
//! renumbers them densely, and writes a complete, ordinary TrueType font
//! with a fresh `cmap` holding exactly those characters.
//!
//! genpdf 0.2 embeds whatever font bytes it is given, whole — 4.6 MB for
//! WenQuanYi Micro Hei — and builds the PDF's `ToUnicode` map from the
//! font's own `cmap`. Handing it a subset therefore shrinks the report to
//! a few hundred kilobytes *and* makes copied or searched text come out as
//! the characters that were written (no CJK compatibility code points: the
//! subset's `cmap` maps only what the document holds).
//!
//! Kept tables: `head` `hhea` `maxp` `hmtx` `loca` (long) `glyf` `cmap`, and
//! when present `OS/2` `name` `cvt ` `fpgm` `prep` `gasp`, plus `post`
//! rewritten as version 3 (no glyph names). Layout tables (`GSUB`, `GPOS`,
//! `kern`, vertical metrics) are dropped: genpdf uses none of them. CFF
//! (`OTTO`) fonts and collections (`ttcf`) are refused with a clear error.

use std::collections::{BTreeMap, BTreeSet};

/// Why a font could not be subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontError(pub String);

impl std::fmt::Display for FontError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FontError {}

fn err<T>(msg: impl Into<String>) -> Result<T, FontError> {
    Err(FontError(msg.into()))
}

fn u16_at(d: &[u8], o: usize) -> Result<u16, FontError> {
    d.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or_else(|| FontError("font data is truncated".into()))
}

fn u32_at(d: &[u8], o: usize) -> Result<u32, FontError> {
    d.get(o..o + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| FontError("font data is truncated".into()))
}

/// The tables of a single-face TrueType font.
struct Font<'a> {
    tables: BTreeMap<[u8; 4], &'a [u8]>,
}

impl<'a> Font<'a> {
    fn parse(data: &'a [u8]) -> Result<Font<'a>, FontError> {
        match data.get(0..4) {
            Some(b"ttcf") => {
                return err("the font is a collection (.ttc); extract one face as .ttf (scripts/prepare-fonts.sh)");
            }
            Some(b"OTTO") => return err("the font has CFF outlines (.otf); a TrueType-outline .ttf is needed"),
            Some([0, 1, 0, 0]) | Some(b"true") => {}
            _ => return err("not a TrueType font"),
        }
        let n = u16_at(data, 4)? as usize;
        let mut tables = BTreeMap::new();
        for i in 0..n {
            let rec = 12 + 16 * i;
            let tag: [u8; 4] = data
                .get(rec..rec + 4)
                .ok_or_else(|| FontError("font data is truncated".into()))?
                .try_into()
                .unwrap_or_default();
            let off = u32_at(data, rec + 8)? as usize;
            let len = u32_at(data, rec + 12)? as usize;
            let table = data
                .get(off..off + len)
                .ok_or_else(|| FontError(format!("table {} lies outside the font", String::from_utf8_lossy(&tag))))?;
            tables.insert(tag, table);
        }
        for tag in [b"head", b"hhea", b"maxp", b"hmtx", b"loca", b"glyf", b"cmap"] {
            if !tables.contains_key(tag) {
                return err(format!(
                    "the font has no {} table (TrueType outlines are needed)",
                    String::from_utf8_lossy(tag)
                ));
            }
        }
        Ok(Font { tables })
    }

    fn table(&self, tag: &[u8; 4]) -> &'a [u8] {
        self.tables.get(tag).copied().unwrap_or(&[])
    }
}

/// Looks a character up in a font's best Unicode `cmap` subtable
/// (format 12 preferred, then format 4). Returns glyph 0 when absent.
fn cmap_lookup(cmap: &[u8], c: char) -> Result<u16, FontError> {
    let n = u16_at(cmap, 2)? as usize;
    let mut fmt4 = None;
    let mut fmt12 = None;
    for i in 0..n {
        let rec = 4 + 8 * i;
        let (platform, encoding) = (u16_at(cmap, rec)?, u16_at(cmap, rec + 2)?);
        let off = u32_at(cmap, rec + 4)? as usize;
        let unicode = platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10));
        if !unicode {
            continue;
        }
        match u16_at(cmap, off)? {
            4 => fmt4 = fmt4.or(Some(off)),
            12 => fmt12 = fmt12.or(Some(off)),
            _ => {}
        }
    }
    let cp = c as u32;
    if let Some(off) = fmt12 {
        let groups = u32_at(cmap, off + 12)? as usize;
        let (mut lo, mut hi) = (0, groups);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let g = off + 16 + 12 * mid;
            let (start, end) = (u32_at(cmap, g)?, u32_at(cmap, g + 4)?);
            if cp < start {
                hi = mid;
            } else if cp > end {
                lo = mid + 1;
            } else {
                return Ok((u32_at(cmap, g + 8)? + (cp - start)) as u16);
            }
        }
        return Ok(0);
    }
    let Some(off) = fmt4 else {
        return err("the font has no Unicode cmap (format 4 or 12)");
    };
    if cp > 0xFFFF {
        return Ok(0);
    }
    let cp = cp as u16;
    let seg_x2 = u16_at(cmap, off + 6)? as usize;
    let ends = off + 14;
    let starts = ends + seg_x2 + 2;
    let deltas = starts + seg_x2;
    let ranges = deltas + seg_x2;
    for s in 0..seg_x2 / 2 {
        let end = u16_at(cmap, ends + 2 * s)?;
        if cp > end {
            continue;
        }
        let start = u16_at(cmap, starts + 2 * s)?;
        if cp < start {
            return Ok(0);
        }
        let delta = u16_at(cmap, deltas + 2 * s)?;
        let range = u16_at(cmap, ranges + 2 * s)? as usize;
        if range == 0 {
            return Ok(cp.wrapping_add(delta));
        }
        let at = ranges + 2 * s + range + 2 * (cp - start) as usize;
        let g = u16_at(cmap, at)?;
        return Ok(if g == 0 { 0 } else { g.wrapping_add(delta) });
    }
    Ok(0)
}

/// The byte range of each glyph in `glyf`.
fn glyph_range(font: &Font<'_>, long: bool, gid: u16) -> Result<(usize, usize), FontError> {
    let loca = font.table(b"loca");
    let g = gid as usize;
    let (a, b) = if long {
        (u32_at(loca, 4 * g)? as usize, u32_at(loca, 4 * g + 4)? as usize)
    } else {
        (2 * u16_at(loca, 2 * g)? as usize, 2 * u16_at(loca, 2 * g + 2)? as usize)
    };
    if a > b || b > font.table(b"glyf").len() {
        return err(format!("glyph {gid} lies outside the glyf table"));
    }
    Ok((a, b))
}

/// Walks a composite glyph's components: calls `f` with the byte offset of
/// each component's glyph index.
fn components(glyph: &[u8], mut f: impl FnMut(usize) -> Result<(), FontError>) -> Result<(), FontError> {
    if glyph.len() < 10 || (u16_at(glyph, 0)? as i16) >= 0 {
        return Ok(());
    }
    let mut o = 10;
    loop {
        let flags = u16_at(glyph, o)?;
        f(o + 2)?;
        o += 4;
        o += if flags & 0x0001 != 0 { 4 } else { 2 };
        if flags & 0x0008 != 0 {
            o += 2;
        } else if flags & 0x0040 != 0 {
            o += 4;
        } else if flags & 0x0080 != 0 {
            o += 8;
        }
        if flags & 0x0020 == 0 {
            return Ok(());
        }
    }
}

/// The font's PostScript name (`name` table, name 6), e.g. `ARPLSungtiLGB`;
/// `None` when it has none or the data is not a TrueType font.
pub fn postscript_name(data: &[u8]) -> Option<String> {
    let name = Font::parse(data).ok()?.table(b"name");
    let count = u16_at(name, 2).ok()? as usize;
    let strings = u16_at(name, 4).ok()? as usize;
    for i in 0..count {
        let rec = 6 + 12 * i;
        let (platform, id) = (u16_at(name, rec).ok()?, u16_at(name, rec + 6).ok()?);
        if id != 6 {
            continue;
        }
        let (len, off) = (u16_at(name, rec + 8).ok()? as usize, u16_at(name, rec + 10).ok()? as usize);
        let bytes = name.get(strings + off..strings + off + len)?;
        let text = match platform {
            // Windows and Unicode names are UTF-16BE; Macintosh ones are single bytes.
            0 | 3 => String::from_utf16_lossy(
                &bytes.chunks_exact(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect::<Vec<_>>(),
            ),
            _ => bytes.iter().map(|&b| char::from(b)).collect(),
        };
        // A PDF name may hold only printable ASCII without delimiters.
        let clean: String = text.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        if !clean.is_empty() {
            return Some(clean);
        }
    }
    None
}

/// The characters of `chars` the font has a glyph for.
pub fn covered(data: &[u8], chars: &BTreeSet<char>) -> Result<BTreeSet<char>, FontError> {
    let font = Font::parse(data)?;
    let num_glyphs = u16_at(font.table(b"maxp"), 4)?;
    let cmap = font.table(b"cmap");
    let mut out = BTreeSet::new();
    for &c in chars {
        let g = cmap_lookup(cmap, c)?;
        if g != 0 && g < num_glyphs {
            out.insert(c);
        }
    }
    Ok(out)
}

/// Subsets a single-face TrueType font to the given characters. Characters
/// the font lacks are left out (they would show as the font's `.notdef`).
pub fn subset(data: &[u8], chars: &BTreeSet<char>) -> Result<Vec<u8>, FontError> {
    let font = Font::parse(data)?;
    let long = u16_at(font.table(b"head"), 50)? == 1;
    let num_glyphs = u16_at(font.table(b"maxp"), 4)?;
    let map = char_glyphs(&font, chars, num_glyphs)?;
    let keep = glyph_closure(&font, long, num_glyphs, map.values().copied().collect())?;
    let new_id: BTreeMap<u16, u16> = keep.iter().enumerate().map(|(i, g)| (*g, i as u16)).collect();
    let (new_glyf, new_loca) = renumbered_glyphs(&font, long, &keep, &new_id)?;
    let new_hmtx = full_metrics(&font, &keep)?;

    let mut tables = resized_tables(&font, keep.len());
    tables.insert(*b"hmtx", new_hmtx);
    tables.insert(*b"loca", new_loca);
    tables.insert(*b"glyf", new_glyf);
    let mapped: BTreeMap<char, u16> = map.iter().map(|(c, g)| (*c, new_id[g])).collect();
    tables.insert(*b"cmap", build_cmap(&mapped)?);
    if let Some(post) = font.tables.get(b"post").filter(|p| p.len() >= 32) {
        let mut p = post[..32].to_vec();
        p[0..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());
        tables.insert(*b"post", p);
    }
    for tag in [b"OS/2", b"name", b"cvt ", b"fpgm", b"prep", b"gasp"] {
        if let Some(t) = font.tables.get(tag) {
            tables.insert(*tag, t.to_vec());
        }
    }
    Ok(assemble(tables))
}

/// The glyph of each of `chars` the font has one for.
fn char_glyphs(font: &Font<'_>, chars: &BTreeSet<char>, num_glyphs: u16) -> Result<BTreeMap<char, u16>, FontError> {
    let cmap = font.table(b"cmap");
    let mut map = BTreeMap::new();
    for &c in chars {
        let g = cmap_lookup(cmap, c)?;
        if g != 0 && g < num_glyphs {
            map.insert(c, g);
        }
    }
    Ok(map)
}

/// The glyphs to keep: `.notdef`, the `roots`, and the components of
/// composite glyphs among them, transitively.
fn glyph_closure(font: &Font<'_>, long: bool, num_glyphs: u16, mut todo: Vec<u16>) -> Result<BTreeSet<u16>, FontError> {
    let glyf = font.table(b"glyf");
    let mut keep: BTreeSet<u16> = BTreeSet::from([0]);
    while let Some(g) = todo.pop() {
        if !keep.insert(g) {
            continue;
        }
        let (a, b) = glyph_range(font, long, g)?;
        let glyph = &glyf[a..b];
        components(glyph, |o| {
            let c = u16_at(glyph, o)?;
            if c >= num_glyphs {
                return err(format!("glyph {g} refers to a missing component {c}"));
            }
            if !keep.contains(&c) {
                todo.push(c);
            }
            Ok(())
        })?;
    }
    Ok(keep)
}

/// The new `glyf` and (long) `loca` tables: the kept glyphs in order, each
/// padded to four bytes, their components renumbered by `new_id`.
fn renumbered_glyphs(
    font: &Font<'_>,
    long: bool,
    keep: &BTreeSet<u16>,
    new_id: &BTreeMap<u16, u16>,
) -> Result<(Vec<u8>, Vec<u8>), FontError> {
    let glyf = font.table(b"glyf");
    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity(4 * (keep.len() + 1));
    for &g in keep {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        let (a, b) = glyph_range(font, long, g)?;
        let mut glyph = glyf[a..b].to_vec();
        let mut patches = Vec::new();
        components(&glyf[a..b], |o| {
            patches.push(o);
            Ok(())
        })?;
        for o in patches {
            let old = u16::from_be_bytes([glyph[o], glyph[o + 1]]);
            glyph[o..o + 2].copy_from_slice(&new_id[&old].to_be_bytes());
        }
        new_glyf.extend_from_slice(&glyph);
        while new_glyf.len() % 4 != 0 {
            new_glyf.push(0);
        }
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
    Ok((new_glyf, new_loca))
}

/// The new `hmtx`: one full metric (advance and left side bearing) per kept
/// glyph.
fn full_metrics(font: &Font<'_>, keep: &BTreeSet<u16>) -> Result<Vec<u8>, FontError> {
    let hmtx = font.table(b"hmtx");
    let num_h = u16_at(font.table(b"hhea"), 34)? as usize;
    if num_h == 0 {
        return err("the font's hhea has no horizontal metrics");
    }
    let mut new_hmtx = Vec::with_capacity(4 * keep.len());
    for &g in keep {
        let g = g as usize;
        let (adv, lsb) = if g < num_h {
            (u16_at(hmtx, 4 * g)?, u16_at(hmtx, 4 * g + 2)?)
        } else {
            (u16_at(hmtx, 4 * (num_h - 1))?, u16_at(hmtx, 4 * num_h + 2 * (g - num_h))?)
        };
        new_hmtx.extend_from_slice(&adv.to_be_bytes());
        new_hmtx.extend_from_slice(&lsb.to_be_bytes());
    }
    Ok(new_hmtx)
}

/// `head`, `hhea` and `maxp` for a font of `glyphs` glyphs: the count in
/// `hhea` (full metrics) and `maxp`, long `loca` offsets and a zero checksum
/// adjustment in `head`.
fn resized_tables(font: &Font<'_>, glyphs: usize) -> BTreeMap<[u8; 4], Vec<u8>> {
    let mut new_hhea = font.table(b"hhea").to_vec();
    new_hhea[34..36].copy_from_slice(&(glyphs as u16).to_be_bytes());
    let mut new_maxp = font.table(b"maxp").to_vec();
    new_maxp[4..6].copy_from_slice(&(glyphs as u16).to_be_bytes());
    let mut new_head = font.table(b"head").to_vec();
    new_head[8..12].copy_from_slice(&[0; 4]);
    new_head[50..52].copy_from_slice(&1u16.to_be_bytes());
    BTreeMap::from([(*b"head", new_head), (*b"hhea", new_hhea), (*b"maxp", new_maxp)])
}

/// Builds a `cmap` with a (3,1) format-4 subtable for the BMP characters and,
/// when any lie beyond it, a (3,10) format-12 subtable for all of them.
fn build_cmap(map: &BTreeMap<char, u16>) -> Result<Vec<u8>, FontError> {
    // Runs of consecutive characters with consecutive glyphs.
    let mut runs: Vec<(u32, u32, u16)> = Vec::new();
    for (&c, &g) in map {
        let cp = c as u32;
        match runs.last_mut() {
            Some((start, end, g0)) if *end + 1 == cp && u32::from(*g0) + (cp - *start) == u32::from(g) => *end = cp,
            _ => runs.push((cp, cp, g)),
        }
    }
    let bmp: Vec<_> = runs.iter().filter(|r| r.1 <= 0xFFFF).copied().collect();
    let seg = bmp.len() + 1;
    let len4 = 16 + 8 * seg;
    if len4 > 0xFFFF {
        return err("too many distinct characters for one font subset");
    }
    let mut f4 = Vec::with_capacity(len4);
    let pow = if seg == 0 { 0 } else { 1usize << (usize::BITS - 1 - seg.leading_zeros()) };
    let push16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_be_bytes());
    push16(&mut f4, 4);
    push16(&mut f4, len4 as u16);
    push16(&mut f4, 0);
    push16(&mut f4, (2 * seg) as u16);
    push16(&mut f4, (2 * pow) as u16);
    push16(&mut f4, pow.trailing_zeros() as u16);
    push16(&mut f4, (2 * seg - 2 * pow) as u16);
    for r in &bmp {
        push16(&mut f4, r.1 as u16);
    }
    push16(&mut f4, 0xFFFF);
    push16(&mut f4, 0);
    for r in &bmp {
        push16(&mut f4, r.0 as u16);
    }
    push16(&mut f4, 0xFFFF);
    for r in &bmp {
        push16(&mut f4, r.2.wrapping_sub(r.0 as u16));
    }
    push16(&mut f4, 1);
    for _ in 0..seg {
        push16(&mut f4, 0);
    }
    let wide = runs.iter().any(|r| r.1 > 0xFFFF);
    let mut out = Vec::new();
    push16(&mut out, 0);
    push16(&mut out, if wide { 2 } else { 1 });
    let first = 4 + 8 * if wide { 2 } else { 1 };
    push16(&mut out, 3);
    push16(&mut out, 1);
    out.extend_from_slice(&(first as u32).to_be_bytes());
    if wide {
        push16(&mut out, 3);
        push16(&mut out, 10);
        out.extend_from_slice(&((first + f4.len()) as u32).to_be_bytes());
    }
    out.extend_from_slice(&f4);
    if wide {
        push16(&mut out, 12);
        push16(&mut out, 0);
        out.extend_from_slice(&((16 + 12 * runs.len()) as u32).to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&(runs.len() as u32).to_be_bytes());
        for r in &runs {
            out.extend_from_slice(&r.0.to_be_bytes());
            out.extend_from_slice(&r.1.to_be_bytes());
            out.extend_from_slice(&u32::from(r.2).to_be_bytes());
        }
    }
    Ok(out)
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, c| {
        let mut b = [0u8; 4];
        b[..c.len()].copy_from_slice(c);
        sum.wrapping_add(u32::from_be_bytes(b))
    })
}

/// Writes the tables (sorted by tag) as a TrueType file and fixes
/// `head.checkSumAdjustment`.
fn assemble(tables: BTreeMap<[u8; 4], Vec<u8>>) -> Vec<u8> {
    let n = tables.len();
    let pow = 1usize << (usize::BITS - 1 - n.leading_zeros());
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&((16 * pow) as u16).to_be_bytes());
    out.extend_from_slice(&(pow.trailing_zeros() as u16).to_be_bytes());
    out.extend_from_slice(&((16 * n - 16 * pow) as u16).to_be_bytes());
    let mut offset = 12 + 16 * n;
    let mut head_at = None;
    for (tag, data) in &tables {
        if tag == b"head" {
            head_at = Some(offset);
        }
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for data in tables.values() {
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    if let Some(h) = head_at {
        let adj = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[h + 8..h + 12].copy_from_slice(&adj.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_cmaps_look_up_every_character() {
        let map: BTreeMap<char, u16> =
            [('A', 1), ('B', 2), ('C', 3), ('年', 9), ('度', 4), ('𠀀', 12)].into_iter().collect();
        let cmap = build_cmap(&map).unwrap();
        for (c, g) in &map {
            assert_eq!(cmap_lookup(&cmap, *c).unwrap(), *g, "{c}");
        }
        assert_eq!(cmap_lookup(&cmap, 'D').unwrap(), 0);
        // Without non-BMP characters there is only the format-4 subtable.
        let bmp: BTreeMap<char, u16> = [('年', 5), ('度', 6)].into_iter().collect();
        let cmap = build_cmap(&bmp).unwrap();
        assert_eq!(u16_at(&cmap, 2).unwrap(), 1);
        assert_eq!(cmap_lookup(&cmap, '年').unwrap(), 5);
        assert_eq!(cmap_lookup(&cmap, '度').unwrap(), 6);
    }

    #[test]
    fn collections_and_cff_fonts_are_refused_clearly() {
        let e = subset(b"ttcf\0\0\0\0", &BTreeSet::new()).unwrap_err();
        assert!(e.0.contains("collection"), "{e}");
        let e = subset(b"OTTO\0\0\0\0", &BTreeSet::new()).unwrap_err();
        assert!(e.0.contains("CFF"), "{e}");
        assert!(subset(b"", &BTreeSet::new()).is_err());
    }

    #[test]
    fn checksums_pad_with_zeros() {
        assert_eq!(checksum(&[0, 0, 0, 1, 0, 0, 0, 2]), 3);
        assert_eq!(checksum(&[1]), 0x0100_0000);
    }
}
