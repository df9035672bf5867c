//! The sinks on one small table with Chinese text, a date, an int, a float and
//! nulls, split over two batches: each file is read back and compared with
//! values written out by hand; failed writes leave no file behind.

use calamine::{Data, DataType as _, Reader};
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use sunward_core::params::{ParamValue, date_to_days};
use sunward_core::yaml::PathPart;
use sunward_core::{Plugin, PluginKind, RunContext, Sink, TableData};
use sunward_plugins::sinks::csv::{CsvSink, CsvSinkConfig};
use sunward_plugins::sinks::jsonl::{JsonlSink, JsonlSinkConfig};
use sunward_plugins::sinks::parquet::{ParquetSink, ParquetSinkConfig};
use sunward_plugins::sinks::xlsx::{XlsxSink, XlsxSinkConfig, display_width};

fn days(y: i32, m: u32, d: u32) -> i32 {
    date_to_days(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("school", DataType::Utf8, true),
        Field::new("day", DataType::Date32, true),
        Field::new("events", DataType::Int64, true),
        Field::new("rate", DataType::Float64, true),
    ]))
}

/// | school      | day        | events | rate |
/// | 青柳湖中学  | 2025-03-05 | 3      | 0.5  |
/// | a,"b"       | null       | 12     | null |   (end of the first batch)
/// | null        | 2024-09-01 | null   | 1.25 |
fn table() -> TableData {
    let schema = schema();
    let first = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec![Some("青柳湖中学"), Some("a,\"b\"")])),
            Arc::new(Date32Array::from(vec![Some(days(2025, 3, 5)), None])),
            Arc::new(Int64Array::from(vec![Some(3), Some(12)])),
            Arc::new(Float64Array::from(vec![Some(0.5), None])),
        ],
    )
    .unwrap();
    let second = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec![None::<&str>])),
            Arc::new(Date32Array::from(vec![Some(days(2024, 9, 1))])),
            Arc::new(Int64Array::from(vec![None])),
            Arc::new(Float64Array::from(vec![Some(1.25)])),
        ],
    )
    .unwrap();
    TableData::in_memory("t", schema, vec![first, second])
}

fn context(out: &Path) -> RunContext {
    let mut params = BTreeMap::new();
    params.insert("year".to_string(), ParamValue::Int(2025));
    RunContext {
        pipeline_dir: out.to_path_buf(),
        out_dir: out.to_path_buf(),
        params,
        as_of: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        sql_functions: Default::default(),
        contract: sunward_core::contract::Contract::builtin(),
    }
}

/// Every entry of a folder, recursively, as paths relative to it.
fn files_in(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap_or(&p).display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn the_builtin_sinks_are_registered() {
    let registry = sunward_plugins::builtin_registry();
    assert_eq!(registry.names(PluginKind::Sink), ["csv", "jsonl", "parquet", "report", "xlsx"]);
}

#[test]
fn csv_is_exact_with_dates_nulls_and_quoting() {
    let tmp = tempfile::tempdir().unwrap();
    let config = CsvSinkConfig { table: "t".into(), path: "sub/t_${year}.csv".into(), delimiter: ',', bom: false };
    assert_eq!(CsvSink.inputs(&config), ["t"]);
    let written = CsvSink.write(&config, &[table()], &context(tmp.path())).unwrap();
    assert_eq!(written, [tmp.path().join("sub/t_2025.csv")]);
    assert_eq!(
        std::fs::read_to_string(&written[0]).unwrap(),
        "school,day,events,rate\n青柳湖中学,2025-03-05,3,0.5\n\"a,\"\"b\"\"\",,12,\n,2024-09-01,,1.25\n"
    );
    assert_eq!(files_in(tmp.path()), ["sub/t_2025.csv"], "no temporary file is left");
}

#[test]
fn csv_with_a_bom_and_semicolons() {
    let tmp = tempfile::tempdir().unwrap();
    let config = CsvSinkConfig { table: "t".into(), path: "t.csv".into(), delimiter: ';', bom: true };
    let written = CsvSink.write(&config, &[table()], &context(tmp.path())).unwrap();
    let bytes = std::fs::read(&written[0]).unwrap();
    assert_eq!(&bytes[..3], [0xEF, 0xBB, 0xBF]);
    assert_eq!(
        String::from_utf8(bytes[3..].to_vec()).unwrap(),
        "school;day;events;rate\n青柳湖中学;2025-03-05;3;0.5\n\"a,\"\"b\"\"\";;12;\n;2024-09-01;;1.25\n"
    );
}

#[test]
fn csv_of_an_empty_table_is_its_header() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = TableData::in_memory("t", schema(), vec![]);
    let config = CsvSinkConfig { table: "t".into(), path: "t.csv".into(), delimiter: ',', bom: false };
    let written = CsvSink.write(&config, &[empty], &context(tmp.path())).unwrap();
    assert_eq!(std::fs::read_to_string(&written[0]).unwrap(), "school,day,events,rate\n");
}

#[test]
fn csv_refuses_a_quote_as_delimiter() {
    let config = CsvSinkConfig { table: "t".into(), path: "t.csv".into(), delimiter: '"', bom: false };
    let issues = CsvSink.check(&config);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].path, [PathPart::Key("delimiter".into())]);
    let tmp = tempfile::tempdir().unwrap();
    assert!(CsvSink.write(&config, &[table()], &context(tmp.path())).is_err());
    assert!(files_in(tmp.path()).is_empty());
}

#[test]
fn jsonl_has_one_object_per_row_with_explicit_nulls() {
    let tmp = tempfile::tempdir().unwrap();
    let config = JsonlSinkConfig { table: "t".into(), path: "t.jsonl".into() };
    let written = JsonlSink.write(&config, &[table()], &context(tmp.path())).unwrap();
    assert_eq!(
        std::fs::read_to_string(&written[0]).unwrap(),
        concat!(
            "{\"school\":\"青柳湖中学\",\"day\":\"2025-03-05\",\"events\":3,\"rate\":0.5}\n",
            "{\"school\":\"a,\\\"b\\\"\",\"day\":null,\"events\":12,\"rate\":null}\n",
            "{\"school\":null,\"day\":\"2024-09-01\",\"events\":null,\"rate\":1.25}\n",
        )
    );
}

#[test]
fn parquet_reads_back_the_same_values_snappy_compressed() {
    let tmp = tempfile::tempdir().unwrap();
    let config = ParquetSinkConfig { table: "t".into(), path: "t.parquet".into() };
    let written = ParquetSink.write(&config, &[table()], &context(tmp.path())).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&written[0]).unwrap()).unwrap();
    assert_eq!(builder.metadata().file_metadata().num_rows(), 3);
    assert_eq!(builder.metadata().row_group(0).column(0).compression(), Compression::SNAPPY);
    assert_eq!(builder.schema(), &schema());
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    let all = datafusion::arrow::compute::concat_batches(&schema(), &batches).unwrap();
    let school = all.column(0).as_any().downcast_ref::<StringArray>().unwrap();
    let day = all.column(1).as_any().downcast_ref::<Date32Array>().unwrap();
    let events = all.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
    let rate = all.column(3).as_any().downcast_ref::<Float64Array>().unwrap();
    assert_eq!((school.value(0), school.value(1), school.is_null(2)), ("青柳湖中学", "a,\"b\"", true));
    assert_eq!((day.value(0), day.is_null(1), day.value(2)), (days(2025, 3, 5), true, days(2024, 9, 1)));
    assert_eq!((events.value(0), events.value(1), events.is_null(2)), (3, 12, true));
    assert_eq!((rate.value(0), rate.is_null(1), rate.value(2)), (0.5, true, 1.25));
}

fn xlsx_config(tables: &[&str], sheets: &[(&str, &str)]) -> XlsxSinkConfig {
    XlsxSinkConfig {
        tables: tables.iter().map(|t| t.to_string()).collect(),
        sheets: sheets.iter().map(|(s, t)| (s.to_string(), t.to_string())).collect(),
        path: "汇总_${year}.xlsx".into(),
    }
}

#[test]
fn xlsx_keeps_numbers_dates_text_and_nulls() {
    let tmp = tempfile::tempdir().unwrap();
    let other = TableData { name: "u".into(), ..table() };
    let config = xlsx_config(&["t"], &[("服务汇总", "u"), ("again", "t")]);
    assert_eq!(XlsxSink.inputs(&config), ["t", "u"]);
    assert!(XlsxSink.check(&config).is_empty());
    let written = XlsxSink.write(&config, &[table(), other], &context(tmp.path())).unwrap();
    assert_eq!(written, [tmp.path().join("汇总_2025.xlsx")]);

    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&written[0]).unwrap();
    assert_eq!(book.sheet_names(), ["t", "服务汇总", "again"]);
    for sheet in ["t", "服务汇总"] {
        let range = book.worksheet_range(sheet).unwrap();
        assert_eq!(range.get_size(), (4, 4), "a header and three rows");
        let header: Vec<String> = (0..4).map(|c| range.get_value((0, c)).unwrap().to_string()).collect();
        assert_eq!(header, ["school", "day", "events", "rate"]);
        assert_eq!(range.get_value((1, 0)), Some(&Data::String("青柳湖中学".into())));
        assert_eq!(range.get_value((2, 0)), Some(&Data::String("a,\"b\"".into())));
        assert_eq!(range.get_value((3, 0)), Some(&Data::Empty));
        let date = |r: u32| range.get_value((r, 1)).and_then(|d| d.as_date());
        assert_eq!(date(1), NaiveDate::from_ymd_opt(2025, 3, 5));
        assert_eq!(range.get_value((2, 1)), Some(&Data::Empty));
        assert_eq!(date(3), NaiveDate::from_ymd_opt(2024, 9, 1));
        assert!(matches!(range.get_value((1, 1)), Some(Data::DateTime(_))), "a date cell, not text");
        assert_eq!(range.get_value((1, 2)), Some(&Data::Float(3.0)));
        assert_eq!(range.get_value((2, 2)), Some(&Data::Float(12.0)));
        assert_eq!(range.get_value((3, 2)), Some(&Data::Empty));
        assert_eq!(range.get_value((1, 3)), Some(&Data::Float(0.5)));
        assert_eq!(range.get_value((2, 3)), Some(&Data::Empty));
        assert_eq!(range.get_value((3, 3)), Some(&Data::Float(1.25)));
    }
}

#[test]
fn xlsx_sheets_mapping_keeps_its_written_order() {
    let value = serde_json::json!({"sheets": {"总表": "t", "b_sheet": "u", "a_sheet": "v"}, "path": "x.xlsx"});
    let config: XlsxSinkConfig = serde_json::from_value(value).unwrap();
    assert_eq!(XlsxSink.inputs(&config), ["t", "u", "v"]);
    let unknown = serde_json::json!({"tables": ["t"], "path": "x.xlsx", "sheet": "t"});
    assert!(serde_json::from_value::<XlsxSinkConfig>(unknown).is_err());
}

#[test]
fn widths_count_chinese_characters_twice() {
    assert_eq!(display_width("school"), 6);
    assert_eq!(display_width("青柳湖中学"), 10);
    // nine narrow characters ("AY2024-1 ") and two wide ones
    assert_eq!(display_width("AY2024-1 学期"), 13);
    assert_eq!(display_width("（全角）"), 8);
}

#[test]
fn check_finds_sheet_names_excel_refuses() {
    let long = "a_table_name_longer_than_31_chars";
    let config = xlsx_config(&["t", long], &[("a/b", "t"), ("'quoted", "t"), ("T", "t"), ("", "t")]);
    let issues = XlsxSink.check(&config);
    let found: Vec<(Vec<PathPart>, String)> = issues.into_iter().map(|i| (i.path, i.message)).collect();
    assert_eq!(
        found,
        [
            (
                vec![PathPart::Key("tables".into()), PathPart::Index(1)],
                format!("sheet name \"{long}\" has 33 characters, more than the 31 Excel allows")
            ),
            (
                vec![PathPart::Key("sheets".into()), PathPart::Key("a/b".into())],
                "sheet name \"a/b\" holds `/`, which Excel does not allow in a sheet name".to_string()
            ),
            (
                vec![PathPart::Key("sheets".into()), PathPart::Key("'quoted".into())],
                "sheet name \"'quoted\" starts or ends with `'`, which Excel does not allow".to_string()
            ),
            (
                vec![PathPart::Key("sheets".into()), PathPart::Key("T".into())],
                "sheet name \"T\" is used twice (Excel ignores case)".to_string()
            ),
            (
                vec![PathPart::Key("sheets".into()), PathPart::Key("".into())],
                "a sheet name cannot be empty".to_string()
            ),
        ]
    );
    let none = xlsx_config(&[], &[]);
    assert_eq!(XlsxSink.check(&none)[0].message, "list at least one table");
}

#[test]
fn failed_writes_leave_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = context(tmp.path());
    // A table that was not handed over, after one that was.
    let err = XlsxSink.write(&xlsx_config(&["t", "missing"], &[]), &[table()], &ctx).unwrap_err();
    assert_eq!(err.message, "table \"missing\" was not handed to the output");
    assert_eq!(err.hint.as_deref(), Some("tables handed to this output: t"));
    // An invalid sheet name, even without validation.
    let err = XlsxSink.write(&xlsx_config(&["t"], &[("a[1]", "t")]), &[table()], &ctx).unwrap_err();
    assert!(err.message.contains("holds `[`"), "{}", err.message);
    let err = CsvSink
        .write(
            &CsvSinkConfig { table: "missing".into(), path: "m.csv".into(), delimiter: ',', bom: false },
            &[table()],
            &ctx,
        )
        .unwrap_err();
    assert!(err.message.contains("missing"));
    let err = ParquetSink
        .write(&ParquetSinkConfig { table: "missing".into(), path: "m.parquet".into() }, &[table()], &ctx)
        .unwrap_err();
    assert!(err.message.contains("missing"));
    let err = JsonlSink
        .write(&JsonlSinkConfig { table: "t".into(), path: "${nope}.jsonl".into() }, &[table()], &ctx)
        .unwrap_err();
    assert!(err.message.contains("unknown parameter `${nope}`"), "{}", err.message);
    assert!(files_in(tmp.path()).is_empty(), "{:?}", files_in(tmp.path()));
}

#[test]
fn a_file_is_replaced_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = context(tmp.path());
    std::fs::write(tmp.path().join("t.csv"), "old content that is longer than the new one…".repeat(20)).unwrap();
    let config = CsvSinkConfig { table: "t".into(), path: "t.csv".into(), delimiter: ',', bom: false };
    let empty = TableData::in_memory("t", schema(), vec![]);
    CsvSink.write(&config, &[empty], &ctx).unwrap();
    assert_eq!(std::fs::read_to_string(tmp.path().join("t.csv")).unwrap(), "school,day,events,rate\n");
    assert_eq!(files_in(tmp.path()), ["t.csv"]);
}
