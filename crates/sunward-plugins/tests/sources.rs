//! The source plugins read what people export: expected headers, cells and
//! places are read off each fixture by eye. A property test feeds the text
//! readers arbitrary bytes: errors are fine, panics are not.

use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use sunward_core::plugin::PluginHandle;
use sunward_core::{Diagnostic, PluginKind, RawCell, RawRow, RowPlace, RunContext};

fn ctx(dir: &Path) -> RunContext {
    RunContext {
        pipeline_dir: dir.to_path_buf(),
        out_dir: dir.to_path_buf(),
        params: BTreeMap::new(),
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    }
}

fn read(plugin: &str, dir: &Path, config: serde_json::Value) -> Result<(Vec<String>, Vec<RawRow>), Diagnostic> {
    let registry = sunward_plugins::builtin_registry();
    let Some(PluginHandle::Source(source)) = registry.get(PluginKind::Source, plugin) else { panic!("{plugin}") };
    let config = source.parse(config).map_err(|e| Diagnostic::invalid(e.to_string()))?;
    let mut reader = source.open(&config, &ctx(dir))?;
    let headers = reader.headers().to_vec();
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row() {
        rows.push(row?);
    }
    Ok((headers, rows))
}

fn text(s: &str) -> RawCell {
    RawCell::Text(s.to_string())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn csv_utf8_with_bom_crlf_and_quoted_newlines() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "a.csv", "\u{feff}学校编号, 主题 \r\n007,\"生命教育\r\n第二行\"\r\n008,\r\n".as_bytes());
    let (headers, rows) = read("csv", tmp.path(), json!({"path": "a.csv"})).unwrap();
    assert_eq!(headers, ["学校编号", "主题"]);
    assert_eq!(rows[0].place, RowPlace::Line(2));
    assert_eq!(rows[0].cells, [text("007"), text("生命教育\r\n第二行")]);
    assert_eq!(rows[1].place, RowPlace::Line(4), "the quoted line break makes the next record start on line 4");
    assert_eq!(rows[1].cells, [text("008"), RawCell::Empty]);
}

#[test]
fn csv_gb18030_and_semicolons() {
    let tmp = tempfile::tempdir().unwrap();
    // "学校;服务类型\nS1;个案辅导\n" in GB18030: 学=D1A7 校=D0A3 服=B7FE 务=CEF1 类=C0E0 型=D0CD 个=B8F6 案=B0B8 辅=B8A8 导=B5BC
    let bytes: Vec<u8> = [
        &[0xD1, 0xA7, 0xD0, 0xA3][..],
        b";",
        &[0xB7, 0xFE, 0xCE, 0xF1, 0xC0, 0xE0, 0xD0, 0xCD],
        b"\nS1;",
        &[0xB8, 0xF6, 0xB0, 0xB8, 0xB8, 0xA8, 0xB5, 0xBC],
        b"\n",
    ]
    .concat();
    write(tmp.path(), "gb.csv", &bytes);
    let (headers, rows) =
        read("csv", tmp.path(), json!({"path": "gb.csv", "encoding": "gb18030", "delimiter": ";"})).unwrap();
    assert_eq!(headers, ["学校", "服务类型"]);
    assert_eq!(rows[0].cells, [text("S1"), text("个案辅导")]);
    // Read as UTF-8, the same bytes are an error that suggests the encoding.
    let err = read("csv", tmp.path(), json!({"path": "gb.csv", "delimiter": ";"})).unwrap_err();
    assert!(err.message.contains("is not valid UTF-8 at line 1"), "{}", err.message);
    assert!(err.hint.unwrap().contains("encoding: gb18030"));
}

#[test]
fn csv_refuses_other_formats_and_empty_files() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "book.csv", b"PK\x03\x04rest of a zip");
    let err = read("csv", tmp.path(), json!({"path": "book.csv"})).unwrap_err();
    assert!(
        err.message.ends_with("this is an Excel workbook (.xlsx), not a text file: use plugin: xlsx"),
        "{}",
        err.message
    );
    write(tmp.path(), "empty.csv", b"");
    let err = read("csv", tmp.path(), json!({"path": "empty.csv"})).unwrap_err();
    assert!(err.message.ends_with("is empty: expected a header line"), "{}", err.message);
    let err = read("csv", tmp.path(), json!({"path": "missing.csv"})).unwrap_err();
    assert!(err.message.starts_with("cannot open"), "{}", err.message);
}

#[test]
fn xlsx_keeps_numbers_and_dates() {
    let tmp = tempfile::tempdir().unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    let first = book.add_worksheet();
    first.set_name("说明").unwrap();
    first.write_string(0, 0, "ignored").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("服务记录").unwrap();
    sheet.write_string(1, 0, "服务日期").unwrap();
    sheet.write_string(1, 1, "人数").unwrap();
    sheet.write_string(1, 2, "主题").unwrap();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy/m/d");
    let day = rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 3, 5).unwrap();
    sheet.write_datetime_with_format(2, 0, &day, &date).unwrap();
    sheet.write_number(2, 1, 44.0).unwrap();
    sheet.write_string(2, 2, "生命教育").unwrap();
    sheet.write_number(3, 0, 45658.0).unwrap();
    book.save(tmp.path().join("a.xlsx")).unwrap();

    let (headers, rows) = read("xlsx", tmp.path(), json!({"path": "a.xlsx", "sheet": "服务记录"})).unwrap();
    assert_eq!(headers, ["服务日期", "人数", "主题"]);
    assert_eq!(rows[0].place, RowPlace::Sheet { sheet: "服务记录".into(), row: 3 });
    assert_eq!(
        rows[0].cells,
        [RawCell::Date(chrono::NaiveDate::from_ymd_opt(2025, 3, 5).unwrap()), RawCell::Float(44.0), text("生命教育")]
    );
    assert_eq!(
        rows[1].cells[0],
        RawCell::Float(45658.0),
        "an unformatted serial stays a number for the engine to read"
    );
    let (_, by_index) = read("xlsx", tmp.path(), json!({"path": "a.xlsx", "sheet": 1})).unwrap();
    assert_eq!(by_index.len(), 2);
    let err = read("xlsx", tmp.path(), json!({"path": "a.xlsx", "sheet": "服务"})).unwrap_err();
    assert_eq!(err.hint.as_deref(), Some("its sheets: 说明, 服务记录"));
    write(tmp.path(), "a.csv", b"a,b\n1,2\n");
    let err = read("xlsx", tmp.path(), json!({"path": "a.csv"})).unwrap_err();
    assert!(err.message.ends_with("is not an .xlsx workbook"), "{}", err.message);
}

#[test]
fn jsonl_collects_every_key_and_sets_aside_bad_lines() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "a.jsonl",
        "{\"id\": \"I1\", \"n\": 3}\n\n[1, 2]\n{\"id\": \"I2\", \"when\": \"2025/3/5\", \"ok\": true}\nnot json\n"
            .as_bytes(),
    );
    let (headers, rows) = read("jsonl", tmp.path(), json!({"path": "a.jsonl"})).unwrap();
    assert_eq!(headers, ["id", "n", "when", "ok"]);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].cells, [text("I1"), RawCell::Int(3), RawCell::Empty, RawCell::Empty]);
    assert_eq!(rows[1].place, RowPlace::Line(3));
    assert_eq!(rows[1].malformed.as_deref(), Some("not a JSON object: an array"));
    assert_eq!(rows[2].cells, [text("I2"), RawCell::Empty, text("2025/3/5"), RawCell::Bool(true)]);
    assert_eq!(rows[3].place, RowPlace::Line(5));
    assert!(rows[3].malformed.as_deref().unwrap().starts_with("not valid JSON"));
}

#[test]
fn parquet_keeps_types() {
    use datafusion::arrow::array::{Date32Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
        Field::new("d", DataType::Date32, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec![Some("007"), None])),
            Arc::new(Int64Array::from(vec![Some(5), Some(6)])),
            Arc::new(Date32Array::from(vec![Some(20152), None])),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(tmp.path().join("a.parquet")).unwrap();
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let (headers, rows) = read("parquet", tmp.path(), json!({"path": "a.parquet"})).unwrap();
    assert_eq!(headers, ["id", "n", "d"]);
    // Day 20152 after 1970-01-01 is 2025-03-05.
    assert_eq!(
        rows[0].cells,
        [text("007"), RawCell::Int(5), RawCell::Date(chrono::NaiveDate::from_ymd_opt(2025, 3, 5).unwrap())]
    );
    assert_eq!(rows[1].place, RowPlace::Record(2));
    assert_eq!(rows[1].cells, [RawCell::Empty, RawCell::Int(6), RawCell::Empty]);
    write(tmp.path(), "not.parquet", b"a,b\n");
    assert!(read("parquet", tmp.path(), json!({"path": "not.parquet"})).unwrap_err().message.contains("as Parquet"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn text_readers_never_panic(bytes in proptest::collection::vec(prop_oneof![
        Just(b'"'), Just(b','), Just(b'\n'), Just(b'\r'), Just(0u8), Just(0xFFu8), Just(0xD1u8), Just(b'{'), Just(b'}'), any::<u8>()
    ], 0..400), gb in any::<bool>()) {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "f", &bytes);
        let encoding = if gb { "gb18030" } else { "utf-8" };
        let _ = read("csv", tmp.path(), json!({"path": "f", "encoding": encoding}));
        let _ = read("jsonl", tmp.path(), json!({"path": "f", "encoding": encoding}));
    }
}
