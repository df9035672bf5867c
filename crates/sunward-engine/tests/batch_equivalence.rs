//! The column-wise load must equal the row-by-row one exactly.
//!
//! Ingest types and checks whole columns and judges cell by cell only the
//! rows a column-wise rule flags. The row-by-row path is what every row went
//! through before, and it is still what a reader that only gives rows gets.
//! Here the same file goes through both — the real reader, and the same
//! reader wrapped so it yields rows only — and the tables, rejects, counts
//! and kept keys must be identical: on every bad-row fixture, and on
//! generated CSV and Parquet files mixing good rows with every kind of bad one.
//!
//! A third load checks unique keys the way a table too large for an exact
//! key table is checked (a Bloom filter, a claim log, rows held and settled
//! at the end), with a filter so small that nearly every row is held: the
//! same rows, rejects in the same order, counts and keys; only the order of
//! the kept rows may differ. That load may also read a Parquet file in place
//! (when every row and value passes as stored, the file is the table).

use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, StringArray};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use proptest::prelude::*;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use sunward_core::model::SourceOptions;
use sunward_core::plugin::PluginHandle;
use sunward_core::{PluginKind, RawRow, RowReader, RunContext, TableData};
use sunward_engine::ingest::{Ingested, KeyMemory, KeySet, SourceToLoad, declared_schema, ingest, ingest_into};

/// A reader that hides its batches: every record comes as a row.
struct RowsOnly(Box<dyn RowReader>);

impl RowReader for RowsOnly {
    fn headers(&self) -> &[String] {
        self.0.headers()
    }
    fn next_row(&mut self) -> Option<sunward_core::Result<RawRow>> {
        self.0.next_row()
    }
}

fn ctx(base: &Path) -> RunContext {
    RunContext {
        pipeline_dir: base.to_path_buf(),
        out_dir: std::env::temp_dir(),
        params: BTreeMap::new(),
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        sql_functions: Default::default(),
        contract: sunward_core::contract::Contract::builtin(),
    }
}

/// Load `file` both ways, then column-wise with the filtered key check
/// (checked against the row-wise load here); `Err` texts are compared too.
fn both_ways(
    base: &Path,
    plugin: &str,
    file: &str,
    options: serde_json::Value,
    references: &HashMap<String, &KeySet>,
) -> (Result<Ingested, String>, Result<Ingested, String>) {
    let registry = sunward_plugins::builtin_registry();
    let Some(PluginHandle::Source(source)) = registry.get(PluginKind::Source, plugin) else { panic!("{plugin}") };
    let config = source.parse(json!({ "path": file })).unwrap();
    let options: SourceOptions = serde_json::from_value(options).unwrap();
    let ctx = ctx(base);
    let load = |rows_only: bool| -> Result<Ingested, String> {
        let reader = source.open(&config, &ctx).map_err(|e| e.to_string())?;
        let mut reader: Box<dyn RowReader> = if rows_only { Box::new(RowsOnly(reader)) } else { reader };
        ingest("t", file, &options, reader.as_mut(), &ctx, references, &|_| {}).map_err(|e| e.to_string())
    };
    let rows = load(true);
    let filtered = {
        let keys = KeyMemory { exact_claims: 0, filter_bytes: 32, log_buffer: 7, spill_dir: None };
        let reopen = || source.open(&config, &ctx);
        let load = SourceToLoad {
            name: "t",
            file,
            options: &options,
            keys,
            reopen: Some(&reopen),
            defer_keys: false,
            skip: None,
        };
        let mut batches = Vec::new();
        let loaded = source.open(&config, &ctx).map_err(|e| e.to_string()).and_then(|mut reader| {
            ingest_into(&load, reader.as_mut(), &ctx, references, &|_| {}, &mut |b| {
                batches.push(b);
                Ok(())
            })
            .map_err(|e| e.to_string())
        });
        loaded.map(|mut i| {
            i.batches = match &i.in_place {
                Some(path) => {
                    assert!(batches.is_empty(), "{file}: rows handed out from a file read in place");
                    let table = TableData {
                        name: "t".into(),
                        schema: i.schema.clone(),
                        batches: Vec::new(),
                        file: Some(path.clone()),
                    };
                    table.iter().collect::<sunward_core::Result<Vec<_>>>().unwrap()
                }
                None => batches,
            };
            i
        })
    };
    assert_same_rows_in_any_order(&filtered, &rows, file);
    (load(false), rows)
}

fn one_table(i: &Ingested) -> RecordBatch {
    concat_batches(&i.schema, &i.batches).unwrap()
}

/// Each row of the table as text, sorted.
fn sorted_rows(i: &Ingested) -> Vec<String> {
    let mut rows = Vec::new();
    for b in &i.batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> =
                b.columns().iter().map(|c| array_value_to_string(c.as_ref(), r).unwrap()).collect();
            rows.push(cells.join("\u{1f}"));
        }
    }
    rows.sort();
    rows
}

fn assert_same_rows_in_any_order(filtered: &Result<Ingested, String>, rows: &Result<Ingested, String>, what: &str) {
    compare(filtered, rows, &format!("{what}, keys checked by the filter"), true);
}

fn assert_same(columnar: &Result<Ingested, String>, rows: &Result<Ingested, String>, what: &str) {
    compare(columnar, rows, what, false);
}

/// The two loads agree: schema, rows (in the same order unless `any_order`),
/// rejects in order, counts, kept keys and warnings, or the same error.
fn compare(a: &Result<Ingested, String>, b: &Result<Ingested, String>, what: &str, any_order: bool) {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.schema, b.schema, "{what}: schema");
            if any_order {
                assert_eq!(sorted_rows(a), sorted_rows(b), "{what}: table");
                assert!(a.batches.iter().all(|x| x.num_rows() > 0 && x.schema() == a.schema), "{what}: batches");
            } else {
                assert_eq!(one_table(a), one_table(b), "{what}: table");
            }
            assert_eq!(a.rejects, b.rejects, "{what}: rejects");
            assert_eq!(
                (a.rows_read, a.rows_loaded, a.rows_rejected),
                (b.rows_read, b.rows_loaded, b.rows_rejected),
                "{what}: counts"
            );
            assert_eq!(a.keys, b.keys, "{what}: keys");
            let warnings = |i: &Ingested| i.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>();
            assert_eq!(warnings(a), warnings(b), "{what}: warnings");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "{what}: error"),
        (a, b) => panic!("{what}: one way {:?}, the other {:?}", a.as_ref().err(), b.as_ref().err()),
    }
}

#[test]
fn every_bad_row_fixture_loads_the_same_both_ways() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad_rows");
    let school_keys: KeySet = HashMap::from([("school_id".to_string(), HashSet::from(["S1".to_string()]))]);
    let references: HashMap<String, &KeySet> = HashMap::from([("schools".to_string(), &school_keys)]);
    let cases = [
        ("bad_code.csv", json!({"contract": "services"})),
        ("bad_code.csv", json!({"contract": "services", "values": {"service_type": {"个案辅导": "case_session"}}})),
        ("below_minimum.csv", json!({"contract": "services"})),
        ("closed_before_opened.csv", json!({"contract": "cases"})),
        ("date_range.csv", json!({"contract": "services"})),
        ("duplicate_key.csv", json!({"contract": "services"})),
        ("duplicate_key.csv", json!({"contract": "services", "on_bad_rows": "fail"})),
        ("header_only.csv", json!({"contract": "services"})),
        ("missing_column.csv", json!({"contract": "services"})),
        ("missing_required.csv", json!({"contract": "services"})),
        ("not_a_date.csv", json!({"contract": "services"})),
        ("not_a_date.csv", json!({"contract": "services", "on_bad_rows": "fail"})),
        ("not_an_integer.csv", json!({"contract": "services"})),
        ("schools.csv", json!({"contract": "schools"})),
        ("too_few_fields.csv", json!({"contract": "services"})),
        ("too_few_fields.csv", json!({"contract": "services", "short_rows": "pad"})),
        ("too_many_fields.csv", json!({"contract": "services"})),
        ("unknown_reference.csv", json!({"contract": "services"})),
        ("unterminated_quote.csv", json!({"contract": "services"})),
        ("duplicate_key.csv", json!({})),
        ("not_a_date.csv", json!({"columns": {"service_date": "date", "participants": "int"}})),
    ];
    for (file, options) in cases {
        let what = format!("{file} with {options}");
        let (a, b) = both_ways(&dir, "csv", file, options.clone(), &references);
        assert_same(&a, &b, &what);
        let (a, b) = both_ways(&dir, "csv", file, options, &HashMap::new());
        assert_same(&a, &b, &what);
    }
}

/// Field values for a generated services row: good ones and every kind of bad one.
fn field(column: usize) -> BoxedStrategy<String> {
    let pick = |values: &'static [&'static str]| proptest::sample::select(values).prop_map(str::to_string).boxed();
    match column {
        // record_id: few distinct values, so keys repeat
        0 => pick(&["R1", "R2", "R3", " R4 ", "R5", "", "R\u{0}6", "\"R7\""]),
        1 => pick(&["S1", "S2", " S1", "", "学校"]),
        2 => pick(&[
            "2025-03-05",
            "2025/3/5",
            "2025年3月5日",
            "2025-3-5",
            "2025.03.05",
            "45658",
            "2025-02-30",
            "1999-12-31",
            "2030-01-01",
            "yesterday",
            "",
            " 2025-03-05 ",
            "2025-03-05 08:30",
        ]),
        3 => pick(&["case_session", "growth_class", "个案辅导", "unknown", "", " group_session "]),
        4 => pick(&["student", "parent", "学生", "", "teacher"]),
        5 => pick(&["1", "12", "0", "-3", "4.0", "4.5", "x", "", " 7 ", "99999999999999999999"]),
        6 => pick(&["", "P1", "P2"]),
        7 => pick(&["", "C1"]),
        8 => pick(&["", "K1"]),
        9 => pick(&["W1", "", "  "]),
        10 => pick(&["", "30", "-1", "1e3", "45.5"]),
        _ => pick(&["", "情绪", "a,b", "line\nbreak", "say \"hi\""]),
    }
}

fn quoted(value: &str) -> String {
    if value.contains([',', '"', '\n']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value.to_string() }
}

/// A generated record: 12 fields, or (now and then) one too few or too many.
fn record() -> impl Strategy<Value = Vec<String>> {
    ((0..12).map(field).collect::<Vec<_>>(), 0..20u8).prop_map(|(mut fields, shape)| {
        match shape {
            0 => {
                fields.pop();
            }
            1 => fields.push("extra".into()),
            _ => {}
        }
        fields
    })
}

const HEADER: &str = "record_id,school_id,service_date,service_type,audience,participants,student_ref,case_id,class_id,worker_id,duration_min,topic";

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn generated_csv_loads_the_same_both_ways(
        records in proptest::collection::vec(record(), 0..400),
        crlf in any::<bool>(),
        pad in any::<bool>(),
        mapped in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("{HEADER}{end}");
        for r in &records {
            text.push_str(&r.iter().map(|f| quoted(f)).collect::<Vec<_>>().join(","));
            text.push_str(end);
        }
        std::fs::write(dir.path().join("s.csv"), text).unwrap();
        let mut options = json!({"contract": "services"});
        if pad {
            options["short_rows"] = json!("pad");
        }
        if mapped {
            options["values"] = json!({"service_type": {"个案辅导": "case_session"}, "audience": {"学生": " student "}});
        }
        let school_keys: KeySet = HashMap::from([("school_id".to_string(), HashSet::from(["S1".to_string()]))]);
        let references: HashMap<String, &KeySet> = HashMap::from([("schools".to_string(), &school_keys)]);
        let (a, b) = both_ways(dir.path(), "csv", "s.csv", options.clone(), &references);
        assert_same(&a, &b, "generated csv");
        // Without a contract, every column is text or as `columns:` declares.
        let plain = json!({"columns": {"service_date": "date", "participants": "int", "duration_min": "float"}});
        let (a, b) = both_ways(dir.path(), "csv", "s.csv", plain, &HashMap::new());
        assert_same(&a, &b, "generated csv without a contract");
    }

    #[test]
    fn generated_parquet_loads_the_same_both_ways(
        rows in proptest::collection::vec(
            (0..6u8, 0..4u8, -2000i32..25_000, -3i64..6, proptest::option::of(-2.0f64..90.0), 0..3u8, 0..3u8),
            0..300,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<Option<String>> = rows.iter().map(|r| (r.0 > 0).then(|| format!("R{}", r.0))).collect();
        let schools: Vec<Option<&str>> = rows.iter().map(|r| [Some("S1"), Some("S2"), None, Some(" S1")][r.1 as usize]).collect();
        let dates: Vec<Option<i32>> = rows.iter().map(|r| (r.2 != 0).then_some(r.2)).collect();
        let participants: Vec<Option<i64>> = rows.iter().map(|r| (r.3 != 0).then_some(r.3)).collect();
        let minutes: Vec<Option<f64>> =
            rows.iter().map(|r| r.4.map(|x| if x > 85.0 { f64::NAN } else { x.round() })).collect();
        let types: Vec<&str> = rows.iter().map(|r| ["case_session", "bad", ""][r.5 as usize]).collect();
        let grades: Vec<Option<i32>> = rows.iter().map(|r| (r.6 > 0).then_some(i32::from(r.6))).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("record_id", DataType::Utf8, true),
            Field::new("school_id", DataType::Utf8, true),
            Field::new("service_date", DataType::Date32, true),
            Field::new("service_type", DataType::Utf8, false),
            Field::new("audience", DataType::Utf8, false),
            Field::new("participants", DataType::Int64, true),
            Field::new("worker_id", DataType::Utf8, false),
            Field::new("duration_min", DataType::Float64, true),
            Field::new("class_id", DataType::Int32, true),
        ]));
        let n = rows.len();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(schools)),
            Arc::new(Date32Array::from(dates)),
            Arc::new(StringArray::from(types)),
            Arc::new(StringArray::from(vec!["student"; n])),
            Arc::new(Int64Array::from(participants)),
            Arc::new(StringArray::from(vec!["W1"; n])),
            Arc::new(Float64Array::from(minutes)),
            Arc::new(Int32Array::from(grades)),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let file = std::fs::File::create(dir.path().join("s.parquet")).unwrap();
        // Small row groups and pages, so the reader's batches split the rows.
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(37)).build();
        let mut writer = ArrowWriter::try_new(file, schema, Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let school_keys: KeySet = HashMap::from([("school_id".to_string(), HashSet::from(["S1".to_string()]))]);
        let references: HashMap<String, &KeySet> = HashMap::from([("schools".to_string(), &school_keys)]);
        let (a, b) = both_ways(dir.path(), "parquet", "s.parquet", json!({"contract": "services"}), &references);
        assert_same(&a, &b, "generated parquet");
        let plain = json!({"columns": {"service_date": "date", "participants": "float", "duration_min": "int", "class_id": "string"}});
        let (a, b) = both_ways(dir.path(), "parquet", "s.parquet", plain, &HashMap::new());
        assert_same(&a, &b, "generated parquet without a contract");
    }
}

#[test]
fn blocks_after_the_first_keep_keys_places_and_order() {
    // 20,000 records: three blocks, keys repeating across blocks, bad rows in each.
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!("{HEADER}\n");
    for n in 0..20_000u32 {
        let id = format!("R{}", n % 9_000);
        let date = if n % 997 == 0 { "2025-13-01".to_string() } else { format!("2025-03-{:02}", n % 28 + 1) };
        let kind = if n % 1_301 == 0 { "bad" } else { "growth_class" };
        text.push_str(&format!("{id},S1,{date},{kind},student,{},,,,W1,{},\n", n % 40 + 1, n % 60));
        if n % 5_003 == 0 {
            text.push_str("\n   \n");
        }
    }
    std::fs::write(dir.path().join("s.csv"), text).unwrap();
    let (a, b) = both_ways(dir.path(), "csv", "s.csv", json!({"contract": "services"}), &HashMap::new());
    assert_same(&a, &b, "three blocks");
    let a = a.unwrap();
    assert_eq!(a.rows_read, 20_000);
    // Every id from 0 to 8,999 is kept once (its first good occurrence).
    assert_eq!(a.rows_loaded, 9_000);
}

/// Load `file` (Parquet, `contract: services`) the filtered way with a
/// reopener, as a run does: whether it was read in place, and the rows.
fn in_place(dir: &Path) -> Option<std::path::PathBuf> {
    let registry = sunward_plugins::builtin_registry();
    let Some(PluginHandle::Source(source)) = registry.get(PluginKind::Source, "parquet") else { panic!() };
    let config = source.parse(json!({ "path": "s.parquet" })).unwrap();
    let options: SourceOptions = serde_json::from_value(json!({"contract": "services"})).unwrap();
    let ctx = ctx(dir);
    let reopen = || source.open(&config, &ctx);
    let load = SourceToLoad {
        name: "t",
        file: "s.parquet",
        options: &options,
        keys: KeyMemory::default(),
        reopen: Some(&reopen),
        defer_keys: false,
        skip: None,
    };
    let mut reader = source.open(&config, &ctx).unwrap();
    ingest_into(&load, reader.as_mut(), &ctx, &HashMap::new(), &|_| {}, &mut |_| Ok(())).unwrap().in_place
}

/// A change to one value of a generated file: (column, row, value) → value.
type Change = dyn Fn(&str, usize, String) -> String;

#[test]
fn a_parquet_file_passing_as_stored_is_the_table_and_any_change_is_caught() {
    // 20,000 services in row groups of 3,000 (seven blocks), with the
    // contract's columns and types (and one more column), every row good.
    let options: SourceOptions = serde_json::from_value(json!({"contract": "services"})).unwrap();
    let canonical = declared_schema(&options, None).unwrap();
    let n = 20_000usize;
    let write = |dir: &Path, change: &Change| {
        let mut fields: Vec<Field> = canonical.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new("note", DataType::Utf8, true));
        let schema = Arc::new(Schema::new(fields));
        let text = |name: &str, f: &dyn Fn(usize) -> Option<String>| -> ArrayRef {
            Arc::new(StringArray::from((0..n).map(|i| f(i).map(|v| change(name, i, v))).collect::<Vec<_>>()))
        };
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| match f.name().as_str() {
                "record_id" => text("record_id", &|i| Some(format!("R{i}"))),
                "school_id" => text("school_id", &|_| Some("S1".into())),
                "service_date" => {
                    Arc::new(Date32Array::from_iter_values((0..n).map(|i| 20_100 + (i % 300) as i32))) as ArrayRef
                }
                "service_type" => text("service_type", &|_| Some("growth_class".into())),
                "audience" => text("audience", &|_| Some("student".into())),
                "participants" => Arc::new(Int64Array::from_iter_values((0..n).map(|i| (i % 40 + 1) as i64))),
                "worker_id" => text("worker_id", &|_| Some("W1".into())),
                "duration_min" => Arc::new(Int64Array::from_iter_values((0..n).map(|i| (i % 90) as i64))),
                "note" => text("note", &|i| Some(format!(" free text {i} "))),
                other => {
                    assert!(f.is_nullable(), "{other}");
                    datafusion::arrow::array::new_null_array(f.data_type(), n)
                }
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let file = std::fs::File::create(dir.join("s.parquet")).unwrap();
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(3_000)).build();
        let mut writer = ArrowWriter::try_new(file, schema, Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.parquet");
    // Every row good: the file is the table; both ways agree on its rows (see `both_ways`).
    write(dir.path(), &|_, _, v| v);
    assert_eq!(in_place(dir.path()), Some(file.clone()));
    let (a, b) = both_ways(dir.path(), "parquet", "s.parquet", json!({"contract": "services"}), &HashMap::new());
    assert_same(&a, &b, "clean parquet");
    assert_eq!(b.unwrap().rows_loaded, n as u64);
    // A bad code in the sixth block; a key repeated across blocks (found
    // only when the table ends); a value that loads trimmed: each is a
    // table that is not the file, read again and handed out.
    let changes: [(&str, &Change); 3] = [
        ("a bad code", &|c, i, v| if c == "service_type" && i == 16_000 { "bad".into() } else { v }),
        ("a repeated key", &|c, i, v| if c == "record_id" && i == 19_999 { "R5".into() } else { v }),
        ("a value trimmed", &|c, i, v| if c == "school_id" && i == 12_345 { " S1".into() } else { v }),
    ];
    for (what, change) in changes {
        write(dir.path(), change);
        assert_eq!(in_place(dir.path()), None, "{what}");
        let (a, b) = both_ways(dir.path(), "parquet", "s.parquet", json!({"contract": "services"}), &HashMap::new());
        assert_same(&a, &b, what);
    }
}
