//! Tables and key figures in Word: a three-line table with a repeating
//! header, rows that never split, right-aligned numbers and totals that are
//! `SUM` fields where they add up; and key figures as a borderless grid of
//! tinted tiles.

use std::fmt::Write as _;

use super::xml::{INK, MUTED, PRIMARY, RULE, TILE_FILL, para, run};
use crate::document::{Align, Cell, Table, Tile};
use crate::layout::SMALL_TABLE;
use crate::plot;

/// Column widths in twips, in proportion to the widest text in each column
/// (as the PDF: between 3 and 16 ems), filling the text width.
pub(super) fn column_widths(table: &Table, text_w: u32) -> Vec<u32> {
    let weights: Vec<f64> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            table
                .rows
                .iter()
                .chain(table.totals.iter())
                .filter_map(|r| r.get(i))
                .map(|c| plot::text_width(c.display(), 1.0))
                .fold(plot::text_width(&col.title, 1.0), f64::max)
                .clamp(3.0, 16.0)
        })
        .collect();
    let total: f64 = weights.iter().sum::<f64>().max(1.0);
    let mut widths: Vec<u32> = weights.iter().map(|w| (f64::from(text_w) * w / total).floor() as u32).collect();
    // Give the rounding remainder to the first column so the grid fills the width exactly.
    let used: u32 = widths.iter().sum();
    if let Some(first) = widths.first_mut() {
        *first += text_w.saturating_sub(used);
    }
    widths
}

/// How a table row is set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowKind {
    Header,
    Body,
    Totals,
}

/// Caption (Caption style, kept with the table), the table — a three-line
/// table: heavy rules above and below the header and around the totals,
/// light ones between rows — and the note in the Note style. A table of
/// [`SMALL_TABLE`] rows or fewer is kept on one page, as in the PDF.
pub(super) fn table_xml(out: &mut String, table: &Table, text_w: u32) {
    if let Some(caption) = &table.caption {
        out.push_str(&para("Caption", "", &run(caption, "")));
    }
    let widths = column_widths(table, text_w);
    let _ = write!(
        out,
        "<w:tbl><w:tblPr><w:tblW w:w=\"{text_w}\" w:type=\"dxa\"/>\
         <w:tblBorders><w:top w:val=\"single\" w:sz=\"12\" w:space=\"0\" w:color=\"{INK}\"/>\
         <w:left w:val=\"nil\"/><w:bottom w:val=\"single\" w:sz=\"12\" w:space=\"0\" w:color=\"{INK}\"/><w:right w:val=\"nil\"/>\
         <w:insideH w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"{RULE}\"/><w:insideV w:val=\"nil\"/></w:tblBorders>\
         <w:tblLayout w:type=\"fixed\"/><w:tblCellMar><w:left w:w=\"85\" w:type=\"dxa\"/><w:right w:w=\"85\" w:type=\"dxa\"/></w:tblCellMar>\
         <w:tblLook w:val=\"0420\" w:firstRow=\"1\" w:lastRow=\"0\" w:firstColumn=\"0\" w:lastColumn=\"0\" w:noHBand=\"1\" w:noVBand=\"1\"/>\
         </w:tblPr><w:tblGrid>"
    );
    for w in &widths {
        let _ = write!(out, "<w:gridCol w:w=\"{w}\"/>");
    }
    out.push_str("</w:tblGrid>");
    let header: Vec<Cell> = table.columns.iter().map(|c| Cell::Text(c.title.clone())).collect();
    row_xml(out, table, &widths, &header, RowKind::Header, true);
    // A table of a few rows stays on one page: every row but the last keeps with the next.
    let rows = table.rows.len() + usize::from(table.totals.is_some());
    let whole = rows <= SMALL_TABLE;
    for (r, cells) in table.rows.iter().enumerate() {
        let keep = whole && r + 1 < rows;
        row_xml(out, table, &widths, cells, RowKind::Body, keep);
    }
    if let Some(totals) = &table.totals {
        row_xml(out, table, &widths, totals, RowKind::Totals, false);
    }
    out.push_str("</w:tbl>");
    let note = table.note.clone();
    match note {
        Some(note) => {
            for line in note.lines() {
                out.push_str(&para("Note", "", &run(line, "")));
            }
        }
        // A paragraph must separate this table from anything after it.
        None => out.push_str(&para("", "<w:spacing w:after=\"60\"/>", "")),
    }
}

/// The number format of a formula for column `i`'s total, when the total
/// `cell` is exactly the sum of the column's body figures, all of them whole
/// numbers shown in full (`"0"`, or `"#,##0"` when grouped): not for a
/// column holding a withheld or text cell, nor for a total of students
/// counted once (less than the rows' sum).
fn summed_column(table: &Table, i: usize, total: &Cell) -> Option<&'static str> {
    let whole = |cell: &Cell| match cell {
        Cell::Number { value, display } if value.fract() == 0.0 => {
            let digits = display.replace(',', "");
            (digits.parse::<f64>().ok() == Some(*value)).then_some((*value, display.contains(',')))
        }
        _ => None,
    };
    let (sum, grouped) = whole(total)?;
    let mut added = 0.0;
    for row in &table.rows {
        added += whole(row.get(i)?)?.0;
    }
    (added == sum && !table.rows.is_empty()).then_some(if grouped { "#,##0" } else { "0" })
}

/// One row; `keep`: its paragraphs keep with the next row's (a small table stays on one page).
fn row_xml(out: &mut String, table: &Table, widths: &[u32], cells: &[Cell], kind: RowKind, keep: bool) {
    let header = if kind == RowKind::Header { "<w:tblHeader/>" } else { "" };
    let _ = write!(out, "<w:tr><w:trPr><w:cantSplit/>{header}</w:trPr>");
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        let borders = match kind {
            RowKind::Header => format!(
                "<w:tcBorders><w:bottom w:val=\"single\" w:sz=\"8\" w:space=\"0\" w:color=\"{INK}\"/></w:tcBorders>"
            ),
            RowKind::Totals => format!(
                "<w:tcBorders><w:top w:val=\"single\" w:sz=\"8\" w:space=\"0\" w:color=\"{INK}\"/></w:tcBorders>"
            ),
            RowKind::Body => String::new(),
        };
        let valign = if kind == RowKind::Header { "bottom" } else { "top" };
        let numeric = table.columns.get(i).is_some_and(|c| c.align == Align::Numeric);
        let jc = format!(
            "{}{}",
            if keep { "<w:keepNext/>" } else { "" },
            if numeric { "<w:jc w:val=\"right\"/>" } else { "" }
        );
        let mut rpr = String::new();
        if kind != RowKind::Body {
            rpr.push_str("<w:b/><w:bCs/>");
        }
        if cell.is_hidden() {
            let _ = write!(rpr, "<w:color w:val=\"{MUTED}\"/>");
        }
        let runs = match (kind, summed_column(table, i, cell)) {
            // A total that is the sum of the whole figures above it is a formula
            // field: it stays right when a director edits a figure (F9 in Word
            // updates it; the file carries the value, so it shows as is until then).
            (RowKind::Totals, Some(format)) => format!(
                "<w:fldSimple w:instr=\" =SUM(ABOVE) \\# &quot;{format}&quot; \">{}</w:fldSimple>",
                run(cell.display(), &rpr)
            ),
            _ if cell.display().is_empty() => String::new(),
            _ => run(cell.display(), &rpr),
        };
        let _ = write!(
            out,
            "<w:tc><w:tcPr><w:tcW w:w=\"{width}\" w:type=\"dxa\"/>{borders}<w:vAlign w:val=\"{valign}\"/></w:tcPr>{}</w:tc>",
            para("TableText", &jc, &runs)
        );
    }
    out.push_str("</w:tr>");
}

/// Key figures: a borderless full-width grid of at most three tiles to a
/// row, the rows as even as the count allows (four tiles as 2 + 2, five as
/// 3 + 2, never 3 + 1); each tile tinted with a coloured left edge, value
/// large, label and note below. A cell left over in the last row stays
/// blank and untinted.
pub(super) fn tiles_xml(out: &mut String, tiles: &[Tile], text_w: u32) {
    if tiles.is_empty() {
        return;
    }
    let rows = tiles.len().div_ceil(3);
    let cols = tiles.len().div_ceil(rows);
    let width = text_w / cols as u32;
    let _ = write!(
        out,
        "<w:tbl><w:tblPr><w:tblW w:w=\"{}\" w:type=\"dxa\"/>\
         <w:tblBorders><w:top w:val=\"nil\"/><w:left w:val=\"nil\"/><w:bottom w:val=\"nil\"/><w:right w:val=\"nil\"/>\
         <w:insideH w:val=\"nil\"/><w:insideV w:val=\"nil\"/></w:tblBorders><w:tblLayout w:type=\"fixed\"/>\
         <w:tblCellMar><w:top w:w=\"60\" w:type=\"dxa\"/><w:left w:w=\"160\" w:type=\"dxa\"/><w:bottom w:w=\"80\" w:type=\"dxa\"/><w:right w:w=\"100\" w:type=\"dxa\"/></w:tblCellMar>\
         <w:tblLook w:val=\"0000\" w:firstRow=\"0\" w:lastRow=\"0\" w:firstColumn=\"0\" w:lastColumn=\"0\" w:noHBand=\"1\" w:noVBand=\"1\"/>\
         </w:tblPr><w:tblGrid>",
        width * cols as u32
    );
    for _ in 0..cols {
        let _ = write!(out, "<w:gridCol w:w=\"{width}\"/>");
    }
    out.push_str("</w:tblGrid>");
    for chunk in tiles.chunks(cols) {
        out.push_str("<w:tr><w:trPr><w:cantSplit/></w:trPr>");
        for i in 0..cols {
            tile_cell(out, chunk.get(i), width);
        }
        out.push_str("</w:tr>");
    }
    out.push_str("</w:tbl>");
    out.push_str(&para("", "<w:spacing w:after=\"60\"/>", ""));
}

fn tile_cell(out: &mut String, tile: Option<&Tile>, width: u32) {
    let _ = write!(out, "<w:tc><w:tcPr><w:tcW w:w=\"{width}\" w:type=\"dxa\"/>");
    let Some(tile) = tile else {
        out.push_str("</w:tcPr><w:p/></w:tc>");
        return;
    };
    // White top and bottom rules separate the rows of tiles; the blue left
    // edge (heavier) separates tiles in a row.
    let _ = write!(
        out,
        "<w:tcBorders><w:top w:val=\"single\" w:sz=\"36\" w:space=\"0\" w:color=\"FFFFFF\"/>\
         <w:left w:val=\"single\" w:sz=\"36\" w:space=\"0\" w:color=\"{PRIMARY}\"/>\
         <w:bottom w:val=\"single\" w:sz=\"36\" w:space=\"0\" w:color=\"FFFFFF\"/><w:right w:val=\"nil\"/></w:tcBorders>\
         <w:shd w:val=\"clear\" w:color=\"auto\" w:fill=\"{TILE_FILL}\"/></w:tcPr>"
    );
    let tight = "<w:keepNext/><w:spacing w:before=\"0\" w:after=\"0\" w:line=\"240\" w:lineRule=\"auto\"/>";
    out.push_str(&para(
        "",
        tight,
        &run(
            &tile.value,
            &format!("<w:b/><w:bCs/><w:color w:val=\"{PRIMARY}\"/><w:sz w:val=\"36\"/><w:szCs w:val=\"36\"/>"),
        ),
    ));
    out.push_str(&para("", tight, &run(&tile.label, "<w:sz w:val=\"18\"/><w:szCs w:val=\"18\"/>")));
    if let Some(note) = &tile.note {
        out.push_str(&para(
            "",
            tight,
            &run(note, &format!("<w:color w:val=\"{MUTED}\"/><w:sz w:val=\"16\"/><w:szCs w:val=\"16\"/>")),
        ));
    }
    out.push_str("</w:tc>");
}
