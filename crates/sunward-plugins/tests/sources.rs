//! The source plugins read what people export: expected headers, cells and
//! places are read off each fixture by eye. Fixtures that are awkward to write
//! inline (a GB18030 CSV, a workbook, a JSON-lines file) live in
//! `tests/fixtures/sources/` (`make_fixtures.py` made the binary ones); small
//! text cases are written to a temporary folder. A property test feeds the
//! text readers arbitrary bytes: errors are fine, panics are not.

use crate::common;

use chrono::NaiveDate;
use common::{ctx, read, read_until_error};
use proptest::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use sunward_core::plugin::PluginHandle;
use sunward_core::{PluginKind, RawCell, RawRow, RowPlace};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sources")
}

fn text(s: &str) -> RawCell {
    RawCell::Text(s.to_string())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn places(rows: &[RawRow]) -> Vec<RowPlace> {
    rows.iter().map(|r| r.place.clone()).collect()
}

// ---- csv ----

#[test]
fn csv_utf8_keeps_every_field_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "a.csv",
        " 学校编号 ,主题,人数\n007, 生命教育 ,12\n008,,\n009\n010,情绪,3,多余\n\"说 \"\"你好\"\"\",\"a,b\",1\n011,5\"3,4\n"
            .as_bytes(),
    );
    let (headers, rows) = read("csv", tmp.path(), json!({"path": "a.csv"})).unwrap();
    assert_eq!(headers, ["学校编号", "主题", "人数"], "header names are trimmed");
    assert_eq!(places(&rows), (2..=7).map(RowPlace::Line).collect::<Vec<_>>());
    assert_eq!(rows[0].cells, [text("007"), text(" 生命教育 "), text("12")], "values are left untrimmed");
    assert_eq!(rows[1].cells, [text("008"), RawCell::Empty, RawCell::Empty]);
    assert_eq!(rows[2].cells, [text("009")], "a short row is passed as it is");
    assert_eq!(rows[3].cells, [text("010"), text("情绪"), text("3"), text("多余")], "so is a long one");
    assert_eq!(rows[4].cells, [text("说 \"你好\""), text("a,b"), text("1")], "doubled quotes and a quoted comma");
    assert_eq!(rows[5].cells, [text("011"), text("5\"3"), text("4")], "a quote inside a field is a character");
    assert!(rows.iter().all(|r| r.malformed.is_none()));
}

#[test]
fn csv_utf8_with_bom_crlf_and_quoted_newlines() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "a.csv",
        "\u{feff}\"学校编号\", 主题 \r\n007,\"生命教育\r\n第二行\"\r\n008,\r\n\r\n009,\"三\n行\n\"\r\n010,末行"
            .as_bytes(),
    );
    let (headers, rows) = read("csv", tmp.path(), json!({"path": "a.csv"})).unwrap();
    assert_eq!(headers, ["学校编号", "主题"], "the byte-order mark is gone and the quoted header read");
    assert_eq!(rows[0].place, RowPlace::Line(2));
    assert_eq!(rows[0].cells, [text("007"), text("生命教育\r\n第二行")]);
    assert_eq!(rows[1].place, RowPlace::Line(4), "the quoted line break makes the next record start on line 4");
    assert_eq!(rows[1].cells, [text("008"), RawCell::Empty]);
    // Line 5 is blank; the record on line 6 runs over three lines.
    assert_eq!(rows[2].place, RowPlace::Line(6));
    assert_eq!(rows[2].cells, [text("009"), text("三\n行\n")]);
    assert_eq!(rows[3].place, RowPlace::Line(9), "no line break after the last record");
    assert_eq!(rows[3].cells, [text("010"), text("末行")]);
    assert_eq!(rows.len(), 4);
}

#[test]
fn csv_gb18030_fixture_from_excel() {
    // services_gb18030.csv: GB18030 with CRLF, a quoted comma and 𠮷 (four bytes in GB18030).
    for encoding in ["gb18030", "gbk"] {
        let (headers, rows) =
            read("csv", &fixtures(), json!({"path": "services_gb18030.csv", "encoding": encoding})).unwrap();
        assert_eq!(headers, ["学校编号", "服务类型", "主题", "人数"]);
        assert_eq!(places(&rows), [RowPlace::Line(2), RowPlace::Line(3)]);
        assert_eq!(rows[0].cells, [text("S001"), text("个案辅导"), text("情绪管理, 第一次"), text("1")]);
        assert_eq!(rows[1].cells, [text("S002"), text("团体辅导"), text("王𠮷的生命教育"), text("12")]);
    }
}

#[test]
fn csv_gb18030_with_semicolons_and_the_wrong_encoding() {
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
    assert!(err.message.contains("gb.csv is not valid UTF-8 at line 1, column 2"), "{}", err.message);
    assert_eq!(err.hint.as_deref(), Some("set encoding: gb18030 if the file was saved by Excel in a Chinese locale"));
}

#[test]
fn csv_invalid_utf8_names_the_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    // Line 3 starts a quoted field whose second line (line 4) holds the GB18030 bytes of 服 (B7 FE).
    let bytes = [&b"id,note\n1,ok\n2,\"fine\n"[..], &[0xB7, 0xFE], b"\"\n3,later\n"].concat();
    write(tmp.path(), "a.csv", &bytes);
    let (headers, rows, err) = read_until_error("csv", tmp.path(), json!({"path": "a.csv"})).unwrap();
    assert_eq!(headers, ["id", "note"]);
    assert_eq!(rows.len(), 1, "the good row before the bad bytes is read");
    let err = err.expect("an error");
    assert!(
        err.message.ends_with("a.csv is not valid UTF-8 at line 4, column \"note\": expected UTF-8 text"),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("encoding: gb18030"));
}

#[test]
fn csv_utf8_bom_wins_over_a_gb18030_setting() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "a.csv", "\u{feff}学校,主题\nS1,生命教育\n".as_bytes());
    let (headers, rows) = read("csv", tmp.path(), json!({"path": "a.csv", "encoding": "gb18030"})).unwrap();
    assert_eq!(headers, ["学校", "主题"]);
    assert_eq!(rows[0].cells, [text("S1"), text("生命教育")]);
}

#[test]
fn csv_tab_delimiter_and_other_quote() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "a.tsv", "学校\t主题\nS1\t'生命\t教育'\n".as_bytes());
    let (headers, rows) = read("csv", tmp.path(), json!({"path": "a.tsv", "delimiter": "\t", "quote": "'"})).unwrap();
    assert_eq!(headers, ["学校", "主题"]);
    assert_eq!(rows[0].cells, [text("S1"), text("生命\t教育")]);
}

#[test]
fn csv_unterminated_quote_names_the_line_where_it_opens() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "a.csv", "学校,主题\r\nS1,团体\r\nS2,\"生命教育\r\nS3,情绪\r\n".as_bytes());
    let err = read("csv", tmp.path(), json!({"path": "a.csv"})).unwrap_err();
    assert!(
        err.message.ends_with(
            "a.csv: the quoted field starting on line 3 is never closed: expected a closing quote before the end of the file"
        ),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().starts_with("close the quote"));

    // In a file longer than the reader's buffers, the rows before the open quote still arrive.
    let mut long = String::from("学校,主题\n");
    for i in 0..3000 {
        long.push_str(&format!("S{i},\"第{i}次\"\n"));
    }
    long.push_str("S3000,\"没有结束\nS3001,x\n");
    write(tmp.path(), "long.csv", long.as_bytes());
    let (_, rows, err) = read_until_error("csv", tmp.path(), json!({"path": "long.csv"})).unwrap();
    let err = err.expect("an error");
    assert!(err.message.contains("starting on line 3002 is never closed"), "{}", err.message);
    assert!(rows.len() <= 3000);
    assert!(rows.len() > 100, "{} rows", rows.len());
    assert_eq!(rows[99].cells, [text("S99"), text("第99次")]);
    assert_eq!(rows[99].place, RowPlace::Line(101));

    // A quote closed on the very last byte is fine.
    write(tmp.path(), "closed.csv", "a,b\n1,\"x\ny\"".as_bytes());
    let (_, rows) = read("csv", tmp.path(), json!({"path": "closed.csv"})).unwrap();
    assert_eq!(rows[0].cells, [text("1"), text("x\ny")]);
}

#[test]
fn csv_refuses_other_formats() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("services.xlsx"), tmp.path().join("services.csv")).unwrap();
    let err = read("csv", tmp.path(), json!({"path": "services.csv"})).unwrap_err();
    assert!(
        err.message.ends_with("services.csv as CSV: this is an Excel workbook (.xlsx), not CSV: use plugin: xlsx"),
        "{}",
        err.message
    );
    write(tmp.path(), "old.csv", &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    let err = read("csv", tmp.path(), json!({"path": "old.csv"})).unwrap_err();
    assert!(err.message.ends_with("this is an old Excel workbook (.xls), not CSV"), "{}", err.message);
    assert_eq!(err.hint.as_deref(), Some("open it in Excel, save it as .xlsx and use plugin: xlsx"));
    write(tmp.path(), "p.csv", b"PAR1\x15\x04");
    let err = read("csv", tmp.path(), json!({"path": "p.csv"})).unwrap_err();
    assert!(err.message.ends_with("this is a Parquet file, not CSV: use plugin: parquet"), "{}", err.message);
    write(tmp.path(), "u16.csv", &[0xFF, 0xFE, b'a', 0, b',', 0, b'b', 0]);
    let err = read("csv", tmp.path(), json!({"path": "u16.csv"})).unwrap_err();
    assert!(err.message.contains("UTF-16"), "{}", err.message);
    assert_eq!(err.hint.as_deref(), Some("save it again as UTF-8 (or GB18030) text"));
}

#[test]
fn csv_empty_header_only_and_missing_files() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "empty.csv", b"");
    let err = read("csv", tmp.path(), json!({"path": "empty.csv"})).unwrap_err();
    assert!(err.message.starts_with("the file "), "{}", err.message);
    assert!(err.message.ends_with("empty.csv is empty: expected a header line"), "{}", err.message);
    write(tmp.path(), "bom.csv", b"\xEF\xBB\xBF\r\n");
    let err = read("csv", tmp.path(), json!({"path": "bom.csv"})).unwrap_err();
    assert!(err.message.ends_with("is empty: expected a header line"), "{}", err.message);

    write(tmp.path(), "header.csv", "学校,主题\r\n".as_bytes());
    let (headers, rows) = read("csv", tmp.path(), json!({"path": "header.csv"})).unwrap();
    assert_eq!(headers, ["学校", "主题"]);
    assert!(rows.is_empty(), "a header with no rows is an empty table");

    let err = read("csv", tmp.path(), json!({"path": "missing.csv"})).unwrap_err();
    assert!(err.message.starts_with("cannot open"), "{}", err.message);
    assert!(err.message.contains("missing.csv"), "{}", err.message);
    assert!(err.hint.unwrap().starts_with("check the path"));
}

#[test]
fn csv_path_takes_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("2025")).unwrap();
    write(&tmp.path().join("2025"), "a.csv", "学校\nS1\n".as_bytes());
    let registry = sunward_plugins::builtin_registry();
    let Some(PluginHandle::Source(source)) = registry.get(PluginKind::Source, "csv") else { panic!("csv") };
    let config = source.parse(json!({"path": "${year}/a.csv"})).unwrap();
    let mut ctx = ctx(tmp.path());
    ctx.params.insert("year".into(), sunward_core::params::ParamValue::Int(2025));
    assert_eq!(source.files(&config, &ctx).unwrap(), [tmp.path().join("2025/a.csv")]);
    let mut reader = source.open(&config, &ctx).unwrap();
    assert_eq!(reader.next_row().unwrap().unwrap().cells, [text("S1")]);
}

// ---- xlsx ----

#[test]
fn xlsx_fixture_keeps_numbers_dates_and_errors() {
    // services.xlsx (openpyxl): sheet 说明 holds a note; sheet 服务记录 has its table at B2,
    // a wholly empty row 4 and an error cell.
    let (headers, rows) = read("xlsx", &fixtures(), json!({"path": "services.xlsx", "sheet": "服务记录"})).unwrap();
    assert_eq!(headers, ["服务日期", "开始时间", "人数", "主题", "结果"]);
    let sheet = |row| RowPlace::Sheet { sheet: "服务记录".into(), row };
    assert_eq!(places(&rows), [sheet(3), sheet(5)], "row numbers as Excel shows them; the empty row is skipped");
    let day = NaiveDate::from_ymd_opt(2025, 3, 5).unwrap();
    assert_eq!(
        rows[0].cells,
        [
            RawCell::Date(day),
            RawCell::DateTime(day.and_hms_opt(14, 30, 0).unwrap()),
            RawCell::Float(12.0),
            text("生命教育"),
            text("#DIV/0!"),
        ]
    );
    assert_eq!(
        rows[1].cells,
        [RawCell::Float(45658.0), RawCell::Empty, RawCell::Float(3.5), text("  情绪 管理 "), RawCell::Bool(true)],
        "a serial number without a date format stays a number for the engine to read"
    );

    let (by_index, rows_by_index) = read("xlsx", &fixtures(), json!({"path": "services.xlsx", "sheet": 1})).unwrap();
    assert_eq!(by_index, headers);
    assert_eq!(rows_by_index, rows);
    let (first, none) = read("xlsx", &fixtures(), json!({"path": "services.xlsx"})).unwrap();
    assert_eq!(first, ["导出说明"], "the first sheet by default");
    assert!(none.is_empty());
}

#[test]
fn xlsx_header_row_and_sheet_errors() {
    let (headers, rows) =
        read("xlsx", &fixtures(), json!({"path": "services.xlsx", "sheet": "服务记录", "header_row": 3})).unwrap();
    assert_eq!(headers, ["2025-03-05", "2025-03-05 14:30:00", "12", "生命教育", "#DIV/0!"]);
    assert_eq!(places(&rows), [RowPlace::Sheet { sheet: "服务记录".into(), row: 5 }]);

    let err =
        read("xlsx", &fixtures(), json!({"path": "services.xlsx", "sheet": "服务记录", "header_row": 4})).unwrap_err();
    assert!(err.message.starts_with("row 4 of sheet \"服务记录\" in "), "{}", err.message);
    assert!(err.message.ends_with("services.xlsx is empty: expected the header there"), "{}", err.message);

    let err = read("xlsx", &fixtures(), json!({"path": "services.xlsx", "sheet": "服务"})).unwrap_err();
    assert!(err.message.ends_with("services.xlsx has no sheet \"服务\""), "{}", err.message);
    assert_eq!(err.hint.as_deref(), Some("its sheets: 说明, 服务记录"));
    let err = read("xlsx", &fixtures(), json!({"path": "services.xlsx", "sheet": 2})).unwrap_err();
    assert!(err.message.ends_with("has no sheet number 2"), "{}", err.message);
}

#[test]
fn xlsx_refuses_text_files() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "a.xlsx", "学校,主题\nS1,生命教育\n".as_bytes());
    let err = read("xlsx", tmp.path(), json!({"path": "a.xlsx"})).unwrap_err();
    assert!(err.message.contains("a.xlsx as an .xlsx workbook: it does not start like one"), "{}", err.message);
    assert!(err.hint.unwrap().contains("plugin: csv"));
    write(tmp.path(), "broken.xlsx", b"PK\x03\x04 not really a zip");
    let err = read("xlsx", tmp.path(), json!({"path": "broken.xlsx"})).unwrap_err();
    assert!(
        err.message
            .ends_with("broken.xlsx: it is not a readable zip archive (invalid Zip archive: Could not find EOCD)"),
        "{}",
        err.message
    );
}

// ---- jsonl ----

#[test]
fn jsonl_fixture_collects_every_key_and_sets_aside_bad_lines() {
    // incidents.jsonl: CRLF; line 2 blank, line 4 an array, line 5 cut short; key " 学校编号 " on line 3.
    let (headers, rows) = read("jsonl", &fixtures(), json!({"path": "incidents.jsonl"})).unwrap();
    assert_eq!(headers, ["事件编号", "学校编号", "人数", "严重", "备注", "分数", "标签", "详情"]);
    assert_eq!(places(&rows), [1, 3, 4, 5, 6].map(RowPlace::Line));
    let e = RawCell::Empty;
    assert_eq!(
        rows[0].cells,
        [text("I001"), text("S001"), RawCell::Int(2), RawCell::Bool(true), e.clone(), e.clone(), e.clone(), e.clone()]
    );
    assert_eq!(
        rows[1].cells,
        [
            text("I002"),
            text("S002"),
            e.clone(),
            e.clone(),
            e.clone(),
            RawCell::Float(3.5),
            text("[\"欺凌\",\"校外\"]"),
            e.clone()
        ]
    );
    assert_eq!(rows[2].malformed.as_deref(), Some("not a JSON object: an array"));
    assert_eq!(rows[2].cells, [text("[1, 2]")], "the line's text goes to the rejects");
    assert_eq!(rows[3].malformed.as_deref(), Some("not a JSON object: the line ends before the JSON value does"));
    assert_eq!(
        rows[4].cells,
        [e.clone(), e.clone(), RawCell::Int(-7), e.clone(), e.clone(), e.clone(), e, text("{\"地点\":\"操场\"}")]
    );
    assert!(rows[4].malformed.is_none());
}

#[test]
fn jsonl_encodings_and_bad_text() {
    let tmp = tempfile::tempdir().unwrap();
    // {"服务":"S1"} with 服=B7FE 务=CEF1 in GB18030 (not UTF-8), then a syntax error on line 2.
    let gb = [&b"{\""[..], &[0xB7, 0xFE, 0xCE, 0xF1], b"\":\"S1\"}\n{\"a\" 1}\n"].concat();
    write(tmp.path(), "gb.jsonl", &gb);
    let (headers, rows) = read("jsonl", tmp.path(), json!({"path": "gb.jsonl", "encoding": "gb18030"})).unwrap();
    assert_eq!(headers, ["服务"]);
    assert_eq!(rows[0].cells, [text("S1")]);
    assert_eq!(rows[1].malformed.as_deref(), Some("not a JSON object: invalid JSON at column 6"));
    let err = read("jsonl", tmp.path(), json!({"path": "gb.jsonl"})).unwrap_err();
    assert!(err.message.ends_with("gb.jsonl is not valid UTF-8 at line 1: expected UTF-8 text"), "{}", err.message);
    assert!(err.hint.unwrap().contains("encoding: gb18030"));

    write(tmp.path(), "bom.jsonl", "\u{feff}{\"学校\": \"S2\"}".as_bytes());
    let (headers, rows) = read("jsonl", tmp.path(), json!({"path": "bom.jsonl"})).unwrap();
    assert_eq!(headers, ["学校"]);
    assert_eq!(rows[0].cells, [text("S2")]);
    assert_eq!(rows[0].place, RowPlace::Line(1));

    std::fs::copy(fixtures().join("services.xlsx"), tmp.path().join("x.jsonl")).unwrap();
    let err = read("jsonl", tmp.path(), json!({"path": "x.jsonl"})).unwrap_err();
    assert!(err.message.ends_with("not JSON lines: use plugin: xlsx"), "{}", err.message);
}

// ---- parquet ----

#[test]
fn parquet_keeps_types() {
    use datafusion::arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int64Array, ListArray, StringArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, TimeUnit};
    use datafusion::arrow::record_batch::RecordBatch;
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("学校编号", DataType::Utf8, true),
        Field::new("人数", DataType::Int64, true),
        Field::new("服务日期", DataType::Date32, true),
        Field::new("开始", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("开始_北京", DataType::Timestamp(TimeUnit::Microsecond, Some("+08:00".into())), true),
        Field::new("分数", DataType::Float64, true),
        Field::new("严重", DataType::Boolean, true),
        Field::new("编号", DataType::new_list(DataType::Int32, true), true),
    ]));
    // 2025-03-05 is day 20152 after 1970-01-01; 06:30 UTC that day is 1_741_156_200 s (14:30 in +08:00).
    let micros = 1_741_156_200_000_000i64;
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec![Some("生命教育"), None])),
            Arc::new(Int64Array::from(vec![Some(5), Some(-6)])),
            Arc::new(Date32Array::from(vec![Some(20152), None])),
            Arc::new(TimestampMicrosecondArray::from(vec![Some(micros), None])),
            Arc::new(TimestampMicrosecondArray::from(vec![Some(micros), None]).with_timezone("+08:00")),
            Arc::new(Float64Array::from(vec![Some(2.5), None])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), Some(2)]), None])),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(tmp.path().join("a.parquet")).unwrap();
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let (headers, rows) = read("parquet", tmp.path(), json!({"path": "a.parquet"})).unwrap();
    assert_eq!(headers, ["学校编号", "人数", "服务日期", "开始", "开始_北京", "分数", "严重", "编号"]);
    let day = NaiveDate::from_ymd_opt(2025, 3, 5).unwrap();
    assert_eq!(
        rows[0].cells,
        [
            text("生命教育"),
            RawCell::Int(5),
            RawCell::Date(day),
            RawCell::DateTime(day.and_hms_opt(6, 30, 0).unwrap()),
            RawCell::DateTime(day.and_hms_opt(14, 30, 0).unwrap()),
            RawCell::Float(2.5),
            RawCell::Bool(true),
            text("[1, 2]"),
        ]
    );
    assert_eq!(places(&rows), [RowPlace::Record(1), RowPlace::Record(2)]);
    let e = RawCell::Empty;
    assert_eq!(
        rows[1].cells,
        [e.clone(), RawCell::Int(-6), e.clone(), e.clone(), e.clone(), e.clone(), RawCell::Bool(false), e]
    );

    write(tmp.path(), "not.parquet", "学校,主题\n".as_bytes());
    let err = read("parquet", tmp.path(), json!({"path": "not.parquet"})).unwrap_err();
    assert!(err.message.contains("not.parquet as Parquet"), "{}", err.message);
    std::fs::copy(fixtures().join("services.xlsx"), tmp.path().join("x.parquet")).unwrap();
    let err = read("parquet", tmp.path(), json!({"path": "x.parquet"})).unwrap_err();
    assert!(
        err.message.ends_with("this is an Excel workbook (.xlsx), not Parquet: use plugin: xlsx"),
        "{}",
        err.message
    );
}

#[test]
fn examples_name_their_plugin() {
    let registry = sunward_plugins::builtin_registry();
    for name in ["csv", "xlsx", "jsonl", "parquet"] {
        let Some(PluginHandle::Source(source)) = registry.get(PluginKind::Source, name) else { panic!("{name}") };
        assert_eq!(source.info().name, name);
        assert!(source.info().example.starts_with(&format!("plugin: {name}\n")));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn text_readers_never_panic(bytes in proptest::collection::vec(prop_oneof![
        Just(b'"'), Just(b','), Just(b';'), Just(b'\n'), Just(b'\r'), Just(0u8), Just(0xFFu8), Just(0xEFu8),
        Just(0xD1u8), Just(b'{'), Just(b'}'), Just(b':'), any::<u8>()
    ], 0..400), gb in any::<bool>(), semicolon in any::<bool>()) {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "f", &bytes);
        let encoding = if gb { "gb18030" } else { "utf-8" };
        let delimiter = if semicolon { ";" } else { "," };
        let _ = read("csv", tmp.path(), json!({"path": "f", "encoding": encoding, "delimiter": delimiter}));
        let _ = read("jsonl", tmp.path(), json!({"path": "f", "encoding": encoding}));
    }

    /// Well-formed CSV built here, with the line each record starts on counted
    /// while writing it, reads back field for field with those lines.
    #[test]
    fn csv_reads_back_what_was_written(
        records in proptest::collection::vec(
            (
                "[a学]{1,3}",
                proptest::collection::vec(("[a学 ,\"\n]{0,4}", any::<bool>()), 0..3),
                any::<bool>(),
                any::<bool>(),
            ),
            0..12,
        ),
        last_break in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let mut file = String::from("甲,乙\r\n");
        let mut expected = Vec::new();
        for (i, (first, rest, crlf, blank_before)) in records.iter().enumerate() {
            if *blank_before {
                file.push_str(if *crlf { "\r\n" } else { "\n" });
            }
            let line = 1 + file.matches('\n').count() as u64;
            let mut fields = vec![first.clone()];
            let mut cells = vec![text(first)];
            for (value, force_quotes) in rest {
                let needs = value.contains([',', '"', '\n']);
                fields.push(if needs || *force_quotes {
                    format!("\"{}\"", value.replace('"', "\"\""))
                } else {
                    value.clone()
                });
                cells.push(if value.is_empty() { RawCell::Empty } else { text(value) });
            }
            file.push_str(&fields.join(","));
            if i + 1 < records.len() || last_break {
                file.push_str(if *crlf { "\r\n" } else { "\n" });
            }
            expected.push((RowPlace::Line(line), cells));
        }
        write(tmp.path(), "f.csv", file.as_bytes());
        let (headers, rows) = read("csv", tmp.path(), json!({"path": "f.csv"})).unwrap();
        prop_assert_eq!(headers, ["甲", "乙"]);
        let got: Vec<(RowPlace, Vec<RawCell>)> = rows.into_iter().map(|r| (r.place, r.cells)).collect();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn parquet_parts_hold_each_row_group_once_numbered_as_in_the_whole_file() {
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::parquet::file::properties::WriterProperties;
    use std::sync::Arc;
    use sunward_core::FilePart;
    let tmp = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("minutes", DataType::Int64, false),
    ]));
    let path = tmp.path().join("a.parquet");
    // 1,000 rows in row groups of 70: 15 groups, the last one short.
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(70)).build();
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        schema.clone(),
        Some(props),
    )
    .unwrap();
    let ids: Vec<String> = (0..1000).map(|i| format!("R{i:04}")).collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(ids.clone())), Arc::new(Int64Array::from_iter_values(0..1000))],
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let (headers, whole) = read("parquet", tmp.path(), json!({"path": "a.parquet"})).unwrap();
    assert_eq!(whole.len(), 1000);
    let registry = sunward_plugins::builtin_registry();
    let Some(PluginHandle::Source(source)) = registry.get(PluginKind::Source, "parquet") else { panic!() };
    let config = source.parse(json!({"path": "a.parquet"})).unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    for count in [1, 2, 3, 7, 15, 40] {
        let mut rows = Vec::new();
        for part in FilePart::cut(len, count) {
            let mut reader =
                source.open_part(&config, &ctx(tmp.path()), &part).unwrap().expect("Parquet is read in parts");
            assert_eq!(reader.headers(), headers.as_slice());
            while let Some(row) = reader.next_row() {
                rows.push(row.unwrap());
            }
        }
        assert_eq!(rows, whole, "{count} parts");
        assert_eq!(rows.last().map(|r| r.place.clone()), Some(RowPlace::Record(1000)));
    }
}
