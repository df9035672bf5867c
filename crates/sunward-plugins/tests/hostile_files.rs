//! The xlsx and parquet sources against damaged and hostile files.
//!
//! Workbooks are assembled here part by part (the XML written out by hand,
//! zipped with the zip crate), so that each can be broken exactly: a shared
//! string that does not exist, rows out of order, a cell outside Excel's
//! grid, endless text, a part whose stated size is huge or a lie, a
//! truncated or bit-flipped archive. Property tests generate sheets: a
//! well-formed one must read back cell for cell; a damaged one must end in
//! an error with a short message — never a panic, never rows made up.
//! Parquet files written by the arrow writer are cut short and have bytes
//! changed: each read ends with rows or an error, never a panic.
//! `PROPTEST_CASES=5000 cargo test -p sunward-plugins --test integration hostile_files`
//! runs them longer.

use crate::common;

use proptest::prelude::*;
use serde_json::json;
use std::io::Write;
use sunward_core::{Diagnostic, RawCell, RawRow, RowPlace};

const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const RELS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// The parts of a one-sheet workbook named 记录, with this sheet data and these shared strings.
fn parts(sheet_data: &str, strings: &[String]) -> Vec<(String, Vec<u8>)> {
    let sst: String = strings.iter().map(|s| format!("<si><t>{s}</t></si>")).collect();
    vec![
        (
            "[Content_Types].xml".into(),
            b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>"
                .to_vec(),
        ),
        (
            "xl/workbook.xml".into(),
            format!(
                "<?xml version=\"1.0\"?><workbook xmlns=\"{MAIN}\" xmlns:r=\"{RELS}\"><sheets><sheet name=\"记录\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
            )
            .into_bytes(),
        ),
        (
            "xl/_rels/workbook.xml.rels".into(),
            format!(
                "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
                 <Relationship Id=\"rId1\" Type=\"{RELS}/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
                 <Relationship Id=\"rId2\" Type=\"{RELS}/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>"
            )
            .into_bytes(),
        ),
        (
            "xl/sharedStrings.xml".into(),
            format!("<?xml version=\"1.0\"?><sst xmlns=\"{MAIN}\" count=\"{0}\" uniqueCount=\"{0}\">{sst}</sst>", strings.len())
                .into_bytes(),
        ),
        (
            "xl/worksheets/sheet1.xml".into(),
            format!("<?xml version=\"1.0\"?><worksheet xmlns=\"{MAIN}\"><sheetData>{sheet_data}</sheetData></worksheet>")
                .into_bytes(),
        ),
    ]
}

fn zip(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in parts {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Read the workbook `bytes`: headers and rows, or the error (from opening
/// or from reading; a reader yields nothing after its error).
fn read(bytes: &[u8]) -> Result<(Vec<String>, Vec<RawRow>), Diagnostic> {
    read_as("xlsx", "w.xlsx", bytes)
}

/// Read `bytes` saved as `file` with the source `plugin`.
fn read_as(plugin: &str, file: &str, bytes: &[u8]) -> Result<(Vec<String>, Vec<RawRow>), Diagnostic> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(file), bytes).unwrap();
    common::read(plugin, dir.path(), json!({ "path": file }))
}

fn error_of(bytes: &[u8]) -> String {
    match read(bytes) {
        Ok((headers, rows)) => panic!("read {headers:?} and {} rows", rows.len()),
        Err(e) => e.message,
    }
}

/// Excel's name of a 0-based column, for the tests' own XML.
fn column(i: usize) -> String {
    let (mut i, mut name) = (i, Vec::new());
    loop {
        name.insert(0, b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    String::from_utf8(name).unwrap()
}

/// A cell of a generated sheet.
#[derive(Debug, Clone)]
enum Cell {
    Number(i32),
    Shared(usize),
    Inline(String),
}

fn cell_xml(row: u32, col: usize, cell: &Cell) -> String {
    let at = format!("{}{row}", column(col));
    match cell {
        Cell::Number(n) => format!("<c r=\"{at}\"><v>{n}</v></c>"),
        Cell::Shared(i) => format!("<c r=\"{at}\" t=\"s\"><v>{i}</v></c>"),
        Cell::Inline(s) => format!("<c r=\"{at}\" t=\"inlineStr\"><is><t>{s}</t></is></c>"),
    }
}

/// Rows of a generated sheet: each row's 1-based number and its cells by 0-based column.
type Rows = Vec<(u32, Vec<(usize, Cell)>)>;

/// Rows (1-based numbers) of cells by column, as sheet XML.
fn sheet_xml(rows: &[(u32, Vec<(usize, Cell)>)]) -> String {
    rows.iter()
        .map(|(r, cells)| {
            let inner: String = cells.iter().map(|(c, cell)| cell_xml(*r, *c, cell)).collect();
            format!("<row r=\"{r}\">{inner}</row>")
        })
        .collect()
}

/// The header row (columns A.. named c0..) followed by the data rows.
fn with_header(width: usize, data: &[(u32, Vec<(usize, Cell)>)]) -> Rows {
    let header: Vec<(usize, Cell)> = (0..width).map(|c| (c, Cell::Inline(format!("c{c}")))).collect();
    std::iter::once((1, header)).chain(data.iter().map(|(r, cells)| (r + 1, cells.clone()))).collect()
}

fn strings() -> Vec<String> {
    ["学校", "生命教育", "个案", "x<y", "&amp;"].iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_shared_string_that_does_not_exist_is_an_error_not_a_panic() {
    let rows =
        with_header(2, &[(1, vec![(0, Cell::Shared(0)), (1, Cell::Number(3))]), (2, vec![(0, Cell::Shared(999))])]);
    let message = error_of(&zip(&parts(&sheet_xml(&rows), &strings())));
    assert!(message.contains("w.xlsx: it is damaged after row 2"), "{message}");
}

#[test]
fn cells_far_apart_are_streamed_and_cells_outside_the_grid_refused() {
    // One cell at A2 and one at XFD1048576: the grid between is never built.
    let data = "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>c0</t></is></c></row>\
                <row r=\"2\"><c r=\"A2\"><v>1</v></c></row>\
                <row r=\"1048576\"><c r=\"XFD1048576\"><v>2</v></c></row>";
    let (headers, rows) = read(&zip(&parts(data, &[]))).unwrap();
    assert_eq!(headers, ["c0"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].place, RowPlace::Sheet { sheet: "记录".into(), row: 1_048_576 });
    assert_eq!(rows[1].cells.len(), 16_384, "the far cell keeps its column, beyond the header");
    assert_eq!(rows[1].cells[16_383], RawCell::Float(2.0));
    // A column past XFD.
    let data = "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>c0</t></is></c><c r=\"XFE1\"><v>1</v></c></row>";
    let message = error_of(&zip(&parts(data, &[])));
    assert!(message.contains("outside Excel's grid"), "{message}");
}

#[test]
fn rows_out_of_order_are_an_error() {
    let rows = with_header(1, &[(5, vec![(0, Cell::Number(1))]), (2, vec![(0, Cell::Number(2))])]);
    let message = error_of(&zip(&parts(&sheet_xml(&rows), &[])));
    assert!(message.contains("lists row 3 after row 6: expected its rows in order"), "{message}");
}

#[test]
fn a_value_left_of_the_header_sets_its_row_aside() {
    // The header starts at column B; row 3 has a value in A, row 4 does not.
    let rows = vec![
        (2, vec![(1, Cell::Inline("学校".into())), (2, Cell::Inline("人数".into()))]),
        (3, vec![(0, Cell::Inline("备注".into())), (1, Cell::Inline("S1".into())), (2, Cell::Number(4))]),
        (4, vec![(1, Cell::Inline("S2".into())), (2, Cell::Number(5))]),
    ];
    // Without a stated area, columns start at A, and A has no name (the
    // ingest warns that it is ignored).
    let (headers, _) = read(&zip(&parts(&sheet_xml(&rows), &[]))).unwrap();
    assert_eq!(headers, ["", "学校", "人数"]);
    // A sheet stating its area as B2:C4 (wrongly: A3 holds a value).
    let mut stated = parts(&sheet_xml(&rows), &[]);
    let sheet =
        String::from_utf8(stated[4].1.clone()).unwrap().replace("<sheetData>", "<dimension ref=\"B2:C4\"/><sheetData>");
    stated[4].1 = sheet.into_bytes();
    let (headers, rows) = read(&zip(&stated)).unwrap();
    assert_eq!(headers, ["学校", "人数"]);
    assert_eq!(rows[0].malformed.as_deref(), Some("a value in column A, left of the header's first column"));
    assert_eq!(rows[0].cells, [RawCell::Text("备注".into()), RawCell::Text("S1".into()), RawCell::Float(4.0)]);
    assert_eq!(rows[1].malformed, None);
    assert_eq!(rows[1].cells, [RawCell::Text("S2".into()), RawCell::Float(5.0)]);
}

#[test]
fn endless_text_is_refused_before_reading() {
    // 9 MiB in one cell (Excel allows 32,767 characters): it compresses to almost nothing.
    let data = format!("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>{}</t></is></c></row>", "x".repeat(9 << 20));
    let message = error_of(&zip(&parts(&data, &[])));
    assert!(message.contains("xl/worksheets/sheet1.xml holds a run of more than 8 MiB"), "{message}");
    assert!(message.len() < 400, "{message}");
}

/// Overwrite the stated uncompressed size of `name` in its local header and
/// in the central directory (as a hand-made zip bomb or a damaged archive has it).
fn state_size(archive: &mut [u8], name: &str, size: u32) {
    let name = name.as_bytes();
    let mut patched = 0;
    for at in 0..archive.len().saturating_sub(name.len()) {
        if &archive[at..at + name.len()] != name {
            continue;
        }
        // Local header: name at 30, size at 22. Central directory: name at 46, size at 24.
        for (name_at, size_at, signature) in [(30, 22, b"PK\x03\x04"), (46, 24, b"PK\x01\x02")] {
            if at >= name_at && &archive[at - name_at..at - name_at + 4] == signature {
                archive[at - name_at + size_at..at - name_at + size_at + 4].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        }
    }
    assert_eq!(patched, 2, "the local header and the central directory entry");
}

#[test]
fn parts_too_large_or_lying_about_their_size_are_refused() {
    let rows = with_header(1, &[(1, vec![(0, Cell::Shared(1))])]);
    let good = zip(&parts(&sheet_xml(&rows), &strings()));
    assert!(read(&good).is_ok());
    // Shared strings that say they unpack to 3 GiB.
    let mut bomb = good.clone();
    state_size(&mut bomb, "xl/sharedStrings.xml", 3 << 30);
    let message = error_of(&bomb);
    assert!(message.contains("shared strings and styles of 3072 MiB unpacked: expected at most 512 MiB"), "{message}");
    // Shared strings that unpack to more than they say.
    let mut liar = good;
    state_size(&mut liar, "xl/sharedStrings.xml", 10);
    let message = error_of(&liar);
    assert!(message.starts_with("cannot read the workbook"), "{message}");
}

/// A generated sheet: a header of `width` columns and rows of cells, rows
/// numbered upwards with gaps, some cells empty.
fn sheet() -> impl Strategy<Value = (usize, Rows)> {
    (1usize..6).prop_flat_map(|width| {
        let cell = prop_oneof![
            any::<i32>().prop_map(Cell::Number),
            (0usize..5).prop_map(Cell::Shared),
            "[a-z学校<>&\"' ]{1,8}".prop_map(Cell::Inline),
        ];
        let row = (1u32..4, proptest::collection::vec(proptest::option::of(cell), width));
        (Just(width), proptest::collection::vec(row, 0..20)).prop_map(|(width, rows)| {
            let mut number = 1;
            let rows = rows
                .into_iter()
                .filter_map(|(gap, cells)| {
                    number += gap;
                    let cells: Vec<(usize, Cell)> =
                        cells.into_iter().enumerate().filter_map(|(c, cell)| cell.map(|cell| (c, cell))).collect();
                    (!cells.is_empty()).then_some((number, cells))
                })
                .collect();
            (width, rows)
        })
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn escaped(rows: &[(u32, Vec<(usize, Cell)>)]) -> Rows {
    rows.iter()
        .map(|(r, cells)| {
            let cells = cells
                .iter()
                .map(|(c, cell)| match cell {
                    Cell::Inline(s) => (*c, Cell::Inline(escape(s))),
                    other => (*c, other.clone()),
                })
                .collect();
            (*r, cells)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A well-formed sheet reads back cell for cell, each in its row and column.
    #[test]
    fn well_formed_sheets_read_back(generated in sheet()) {
        let (width, data) = generated;
        let pool: Vec<String> = strings().iter().map(|s| escape(s)).collect();
        let bytes = zip(&parts(&sheet_xml(&with_header(width, &escaped(&data))), &pool));
        let (headers, rows) = read(&bytes).unwrap();
        let expected_headers: Vec<String> = (0..width).map(|c| format!("c{c}")).collect();
        prop_assert_eq!(headers, expected_headers);
        // A row whose cells are all blank text is no row.
        let expected: Vec<(u64, Vec<RawCell>)> = data
            .iter()
            .map(|(number, cells)| {
                let mut row = vec![RawCell::Empty; width];
                for (c, cell) in cells {
                    row[*c] = match cell {
                        Cell::Number(n) => RawCell::Float(f64::from(*n)),
                        Cell::Shared(i) => RawCell::Text(strings()[*i].clone()),
                        Cell::Inline(s) if s.trim().is_empty() => RawCell::Empty,
                        Cell::Inline(s) => RawCell::Text(s.clone()),
                    };
                }
                (u64::from(number + 1), row)
            })
            .filter(|(_, row)| row.iter().any(|c| *c != RawCell::Empty))
            .collect();
        prop_assert_eq!(rows.len(), expected.len());
        for (row, (number, cells)) in rows.iter().zip(expected) {
            prop_assert_eq!(&row.place, &RowPlace::Sheet { sheet: "记录".into(), row: number });
            // Every row is as wide as the header: trailing empty cells are empty values.
            prop_assert_eq!(&row.cells, &cells);
        }
    }

    /// Damaged sheets and archives: shared strings out of range, rows out of
    /// order, the sheet's XML cut anywhere, any byte of the archive changed.
    /// Each read ends, with rows or a short error; none panics.
    #[test]
    fn damaged_workbooks_end_in_an_error_or_rows(
        generated in sheet(),
        missing in 5usize..50,
        swap in any::<bool>(),
        cut in any::<prop::sample::Index>(),
        flip in proptest::option::of((any::<prop::sample::Index>(), 1u8..=255)),
    ) {
        let (width, mut data) = generated;
        if let Some((_, cells)) = data.first_mut() {
            cells.push((0, Cell::Shared(missing)));
        }
        if swap && data.len() > 1 {
            data.swap(0, 1);
        }
        let mut xml = sheet_xml(&with_header(width, &escaped(&data)));
        let at = cut.index(xml.len() + 1);
        if xml.is_char_boundary(at) {
            xml.truncate(at);
        }
        let mut bytes = zip(&parts(&xml, &strings()));
        if let Some((at, mask)) = flip {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        if let Err(e) = read(&bytes) {
            prop_assert!(!e.message.is_empty() && e.message.len() < 600, "{}", e.message);
        }
    }
}

/// A Parquet file of `rows` rows in row groups of 7: text, integers with
/// nulls, dates.
fn parquet_file(rows: usize) -> Vec<u8> {
    use datafusion::arrow::array::{ArrayRef, Date32Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new("participants", DataType::Int64, true),
        Field::new("service_date", DataType::Date32, false),
    ]));
    let ids: ArrayRef = Arc::new(StringArray::from_iter_values((0..rows).map(|i| format!("R{i}"))));
    let counts: ArrayRef = Arc::new(Int64Array::from_iter((0..rows as i64).map(|i| (i % 3 != 0).then_some(i))));
    let dates: ArrayRef = Arc::new(Date32Array::from_iter_values((0..rows as i32).map(|i| 19_000 + i)));
    let batch = RecordBatch::try_new(schema.clone(), vec![ids, counts, dates]).unwrap();
    let mut bytes = Vec::new();
    let properties = WriterProperties::builder().set_max_row_group_row_count(Some(7)).build();
    let mut writer = ArrowWriter::try_new(&mut bytes, schema, Some(properties)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    bytes
}

/// Headers, rows and the error of reading Parquet `bytes` (rows read through batches).
fn read_parquet(bytes: &[u8]) -> Result<(Vec<String>, Vec<RawRow>), Diagnostic> {
    read_as("parquet", "t.parquet", bytes)
}

#[test]
fn a_sound_parquet_file_reads_back() {
    let (headers, rows) = read_parquet(&parquet_file(20)).unwrap();
    assert_eq!(headers, ["record_id", "participants", "service_date"]);
    assert_eq!(rows.len(), 20);
    assert_eq!(rows[4].cells[0], RawCell::Text("R4".into()));
    assert_eq!(rows[4].cells[1], RawCell::Int(4));
    assert_eq!(rows[3].cells[1], RawCell::Empty);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// A Parquet file cut short or with bytes changed (the footer, the
    /// page headers, the data): the read ends with rows or an error.
    #[test]
    fn damaged_parquet_files_end_in_an_error_or_rows(
        rows in 1usize..40,
        cut in proptest::option::of(any::<prop::sample::Index>()),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
    ) {
        let mut bytes = parquet_file(rows);
        for (at, mask) in flips {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok((_, read)) = read_parquet(&bytes) {
            prop_assert!(read.len() <= rows);
        }
    }
}
