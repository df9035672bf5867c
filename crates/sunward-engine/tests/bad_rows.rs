//! Every rule of the data contract that makes a row bad, one fixture file
//! each, read through the real `csv` source: the rejects file's content and
//! the counts are asserted exactly as worked out by reading the fixture.

use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use sunward_core::model::SourceOptions;
use sunward_core::plugin::PluginHandle;
use sunward_core::{Diagnostic, PluginKind, RunContext};
use sunward_engine::ingest::{Ingested, KeySet, ingest, write_rejects};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad_rows")
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

fn load_in(
    base: &Path,
    file: &str,
    options: serde_json::Value,
    references: &HashMap<String, &KeySet>,
) -> Result<Ingested, Diagnostic> {
    let registry = sunward_plugins::builtin_registry();
    let Some(PluginHandle::Source(csv)) = registry.get(PluginKind::Source, "csv") else { panic!("csv source") };
    let config = csv.parse(json!({ "path": file })).unwrap();
    let options: SourceOptions = serde_json::from_value(options).unwrap();
    let ctx = ctx(base);
    let mut reader = csv.open(&config, &ctx)?;
    ingest("t", file, &options, reader.as_mut(), &ctx, references, &|_| {})
}

fn load(file: &str, contract: &str) -> Ingested {
    load_in(&dir(), file, json!({ "contract": contract }), &HashMap::new()).unwrap_or_else(|e| panic!("{e}"))
}

/// The rejects file as written, parsed back into records (header first).
fn rejects_file(file: &str, ingested: &Ingested) -> Vec<Vec<String>> {
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("rejects/t.csv");
    write_rejects(&path, file, &ingested.rejects).unwrap();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(&path).unwrap();
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

fn rows(lines: &[[&str; 5]]) -> Vec<Vec<String>> {
    std::iter::once(["file", "place", "column", "rule", "value"])
        .chain(lines.iter().copied())
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

fn counts(i: &Ingested) -> (u64, u64, u64) {
    (i.rows_read, i.rows_loaded, i.rows_rejected)
}

#[test]
fn required_value_missing() {
    let i = load("missing_required.csv", "services");
    assert_eq!(counts(&i), (3, 1, 2));
    assert_eq!(
        rejects_file("missing_required.csv", &i),
        rows(&[
            ["missing_required.csv", "line 3", "worker_id", "missing required value", ""],
            // A service names its school or its district centre: this one names neither.
            [
                "missing_required.csv",
                "line 4",
                "school_id",
                "none of school_id, centre_id is set: a row names exactly one",
                "",
            ],
        ])
    );
}

#[test]
fn value_that_is_not_a_date() {
    // 2025年3月5日 and 2025/3/5 are dates; 2025-02-30 and "yesterday" are not.
    let i = load("not_a_date.csv", "services");
    assert_eq!(counts(&i), (5, 3, 2));
    assert_eq!(
        rejects_file("not_a_date.csv", &i),
        rows(&[
            ["not_a_date.csv", "line 3", "service_date", "not a date", "2025-02-30"],
            ["not_a_date.csv", "line 4", "service_date", "not a date", "yesterday"],
        ])
    );
}

#[test]
fn code_outside_its_list() {
    let i = load("bad_code.csv", "services");
    assert_eq!(counts(&i), (3, 0, 3));
    assert_eq!(
        rejects_file("bad_code.csv", &i),
        rows(&[
            [
                "bad_code.csv",
                "line 2",
                "service_type",
                "\"个案辅导\" is not a valid service_type code; it is the label of `case_session`: map it with `values: {service_type: {个案辅导: case_session}}`",
                "个案辅导",
            ],
            [
                "bad_code.csv",
                "line 3",
                "service_type",
                "\"counselling\" is not a valid service_type code; expected one of case_session, immediate_support, mailbox_reply, group_session, growth_class, committee_training, teacher_workshop, parent_workshop, consultation, hotline_call, home_visit, joint_meeting, campus_event",
                "counselling",
            ],
            [
                "bad_code.csv",
                "line 4",
                "audience",
                "\"pupil\" is not a valid audience code; expected one of student, teacher, parent, committee, mixed",
                "pupil",
            ],
        ])
    );
    // The same file with the label mapped loads the first row.
    let mapped = load_in(
        &dir(),
        "bad_code.csv",
        json!({"contract": "services", "values": {"service_type": {"个案辅导": "case_session"}}}),
        &HashMap::new(),
    )
    .unwrap();
    assert_eq!(counts(&mapped), (3, 1, 2));
}

#[test]
fn dates_out_of_range() {
    // as_of 2026-06-01: the last allowed date is 2027-06-01; the first 2000-01-01.
    let i = load("date_range.csv", "services");
    assert_eq!(counts(&i), (4, 2, 2));
    assert_eq!(
        rejects_file("date_range.csv", &i),
        rows(&[
            ["date_range.csv", "line 2", "service_date", "date before 2000-01-01", "1999-12-31"],
            [
                "date_range.csv",
                "line 3",
                "service_date",
                "date more than a year after as_of (2026-06-01)",
                "2027-06-02"
            ],
        ])
    );
}

#[test]
fn numbers_below_their_minimum() {
    let i = load("below_minimum.csv", "services");
    assert_eq!(counts(&i), (3, 1, 2));
    assert_eq!(
        rejects_file("below_minimum.csv", &i),
        rows(&[
            ["below_minimum.csv", "line 2", "participants", "less than 1", "0"],
            ["below_minimum.csv", "line 3", "duration_min", "negative number", "-5"],
        ])
    );
}

#[test]
fn non_integers_where_integers_are_expected() {
    let i = load("not_an_integer.csv", "services");
    assert_eq!(counts(&i), (3, 1, 2));
    assert_eq!(
        rejects_file("not_an_integer.csv", &i),
        rows(&[
            ["not_an_integer.csv", "line 2", "participants", "not a whole number", "3.5"],
            ["not_an_integer.csv", "line 4", "participants", "not a whole number", "many"],
        ])
    );
    // 44.0, as spreadsheets export it, is 44.
    let batch = &i.batches[0];
    let participants = batch.column_by_name("participants").unwrap();
    let participants = participants.as_any().downcast_ref::<datafusion::arrow::array::Int64Array>().unwrap();
    assert_eq!(participants.value(0), 44);
}

#[test]
fn repeated_unique_keys_keep_the_first() {
    let i = load("duplicate_key.csv", "services");
    assert_eq!(counts(&i), (4, 2, 2));
    assert_eq!(
        rejects_file("duplicate_key.csv", &i),
        rows(&[
            ["duplicate_key.csv", "line 4", "record_id", "duplicate record_id (first at line 2)", "R1"],
            ["duplicate_key.csv", "line 5", "record_id", "duplicate record_id (first at line 2)", "R1"],
        ])
    );
}

#[test]
fn references_to_keys_another_source_lacks() {
    let schools = load("schools.csv", "schools");
    assert_eq!(counts(&schools), (2, 2, 0));
    let references: HashMap<String, &KeySet> = HashMap::from([("schools".to_string(), &schools.keys)]);
    let i = load_in(&dir(), "unknown_reference.csv", json!({"contract": "services"}), &references).unwrap();
    assert_eq!(counts(&i), (2, 1, 1));
    assert_eq!(
        rejects_file("unknown_reference.csv", &i),
        rows(&[["unknown_reference.csv", "line 3", "school_id", "school_id \"S9\" is not in schools", "S9"]])
    );
}

#[test]
fn a_service_names_its_school_or_its_centre_not_both() {
    // Line 2 is a school's, line 4 a district centre's hotline call; line 3 names both.
    let i = load("school_and_centre.csv", "services");
    assert_eq!(counts(&i), (3, 2, 1));
    assert_eq!(
        rejects_file("school_and_centre.csv", &i),
        rows(&[[
            "school_and_centre.csv",
            "line 3",
            "centre_id",
            "school_id and centre_id are both set: a row names exactly one",
            "C1"
        ]])
    );
}

#[test]
fn a_centre_export_without_a_school_column_loads() {
    // The centre's own export has no school_id column at all.
    let i = load("centre_only.csv", "services");
    assert_eq!(counts(&i), (2, 2, 0));
}

#[test]
fn closed_before_opened() {
    let i = load("closed_before_opened.csv", "cases");
    assert_eq!(counts(&i), (2, 1, 1));
    assert_eq!(
        rejects_file("closed_before_opened.csv", &i),
        rows(&[["closed_before_opened.csv", "line 3", "closed_on", "closed_on before opened_on", "2025-02-01"]])
    );
}

#[test]
fn more_fields_than_the_header() {
    let i = load("too_many_fields.csv", "services");
    assert_eq!(counts(&i), (2, 1, 1));
    assert_eq!(
        rejects_file("too_many_fields.csv", &i),
        rows(&[[
            "too_many_fields.csv",
            "line 2",
            "",
            "13 fields, the header has 12",
            "R1,S1,2025-03-05,case_session,student,1,,,,W1,50,,extra",
        ]])
    );
}

#[test]
fn fewer_fields_than_the_header() {
    // Line 3 lacks topic (11 fields); line 4 lacks duration_min and topic (10);
    // line 6 stops after its three empty references (9). Lines 2 and 5 have
    // every field, the last empty, and load.
    let i = load("too_few_fields.csv", "services");
    assert_eq!(counts(&i), (5, 2, 3));
    assert_eq!(
        rejects_file("too_few_fields.csv", &i),
        rows(&[
            [
                "too_few_fields.csv",
                "line 3",
                "",
                "11 fields, the header has 12",
                "R2,S1,2025-03-05,case_session,student,1,,,,W1,50",
            ],
            [
                "too_few_fields.csv",
                "line 4",
                "",
                "10 fields, the header has 12",
                "R3,S1,2025-03-05,case_session,student,1,,,,W1",
            ],
            [
                "too_few_fields.csv",
                "line 6",
                "",
                "9 fields, the header has 12",
                "R5,S1,2025-03-05,case_session,student,1,,,"
            ],
        ])
    );
}

#[test]
fn short_rows_pad_reads_missing_trailing_fields_as_empty() {
    // The same file with `short_rows: pad`: lines 3 and 4 load, their missing
    // fields null; a padded row still breaks rules like any other (line 6
    // lacks the required worker_id once padded).
    let i =
        load_in(&dir(), "too_few_fields.csv", json!({"contract": "services", "short_rows": "pad"}), &HashMap::new())
            .unwrap();
    assert_eq!(counts(&i), (5, 4, 1));
    assert_eq!(
        rejects_file("too_few_fields.csv", &i),
        rows(&[["too_few_fields.csv", "line 6", "worker_id", "missing required value", ""]])
    );
    let batch = &i.batches[0];
    let column = |name: &str| batch.column(batch.schema().index_of(name).unwrap()).clone();
    assert_eq!(column("topic").null_count(), 4, "every loaded row's topic is empty or missing");
    assert_eq!(column("duration_min").null_count(), 1, "only line 4 lacks duration_min");
}

#[test]
fn fields_too_long_or_holding_nul() {
    let tmp = tempfile::tempdir().unwrap();
    let long = "x".repeat(1_048_577);
    let text = format!(
        "record_id,school_id,service_date,service_type,audience,participants,worker_id,topic\n\
         R1,S1,2025-03-05,case_session,student,1,W1,{long}\n\
         R2,S1,2025-03-05,case_session,student,1,W1,a\0b\n\
         R3,S1,2025-03-05,case_session,student,1,W1,ok\n"
    );
    std::fs::write(tmp.path().join("long.csv"), text).unwrap();
    let i = load_in(tmp.path(), "long.csv", json!({"contract": "services"}), &HashMap::new()).unwrap();
    assert_eq!(counts(&i), (3, 1, 2));
    let rejects = rejects_file("long.csv", &i);
    assert_eq!(rejects[1][..4], ["long.csv", "line 2", "topic", "field longer than 1048576 bytes"]);
    assert_eq!(rejects[1][4], "x".repeat(80), "the value is shown cut to 80 characters");
    assert_eq!(rejects[2], ["long.csv", "line 3", "topic", "field contains a NUL character", "a\\0b"]);
}

#[test]
fn a_missing_required_column_fails_the_whole_load() {
    let err = load_in(&dir(), "missing_column.csv", json!({"contract": "services"}), &HashMap::new()).unwrap_err();
    assert_eq!(err.message, "missing_column.csv lacks the required column \"audience\" of services");
    assert!(err.hint.unwrap().contains("record_id, school_id, service_date, service_type, participants, worker_id"));
}

#[test]
fn a_header_naming_neither_school_nor_centre_fails_the_source() {
    let err = load_in(&dir(), "no_school_or_centre.csv", json!({"contract": "services"}), &HashMap::new()).unwrap_err();
    assert_eq!(
        err.message,
        "no_school_or_centre.csv lacks the column \"school_id\" or \"centre_id\" of services: each row names one of school_id, centre_id"
    );
    assert!(err.hint.unwrap().contains("record_id, service_date, service_type, audience, participants, worker_id"));
}

#[test]
fn a_header_without_rows_is_an_empty_table() {
    let i = load("header_only.csv", "services");
    assert_eq!(counts(&i), (0, 0, 0));
    assert_eq!(i.schema.fields().len(), 14);
    assert_eq!(i.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
}

#[test]
fn an_unterminated_quote_names_the_line_where_it_starts() {
    let err = load_in(&dir(), "unterminated_quote.csv", json!({"contract": "services"}), &HashMap::new()).unwrap_err();
    assert!(err.message.ends_with("unterminated_quote.csv: the quoted field starting on line 3 is never closed: expected a closing quote before the end of the file"), "{}", err.message);
}

#[test]
fn on_bad_rows_fail_stops_at_the_first_bad_row() {
    let err =
        load_in(&dir(), "not_a_date.csv", json!({"contract": "services", "on_bad_rows": "fail"}), &HashMap::new())
            .unwrap_err();
    assert_eq!(
        err.message,
        "bad row in not_a_date.csv, line 3, column \"service_date\": not a date (value \"2025-02-30\")"
    );
}

#[test]
fn ignore_columns_leaves_a_column_out_without_a_warning_and_checks_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("cases.csv"),
        "case_id,school_id,学生姓名,student_ref,opened_on,initial_tier,primary_issue,outcome\n\
         C1,S1,张三,stu-1,2025-03-01,red,anxiety,ongoing\n",
    )
    .unwrap();
    let load = |options: serde_json::Value| load_in(tmp.path(), "cases.csv", options, &HashMap::new());

    // Without it: loaded, with a warning naming the unknown column.
    let plain = load(json!({"contract": "cases"})).unwrap();
    assert_eq!(counts(&plain), (1, 1, 0));
    assert_eq!(plain.warnings.len(), 1);
    assert!(plain.warnings[0].message.contains("学生姓名"), "{}", plain.warnings[0].message);

    // Said on purpose: the same table, no warning.
    let quiet = load(json!({"contract": "cases", "ignore_columns": ["学生姓名"]})).unwrap();
    assert_eq!(counts(&quiet), (1, 1, 0));
    assert!(quiet.warnings.is_empty(), "{:?}", quiet.warnings);
    assert_eq!(quiet.batches, plain.batches);

    // Without a contract the column would be loaded; ignored, it is not in the table.
    let typed = load(json!({"ignore_columns": ["学生姓名"]})).unwrap();
    let names: Vec<String> = typed.schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["case_id", "school_id", "student_ref", "opened_on", "initial_tier", "primary_issue", "outcome"]);

    // A name the file does not have is an error, not a column silently kept.
    let err = load(json!({"contract": "cases", "ignore_columns": ["学生名字"]})).unwrap_err();
    assert_eq!(err.message, "cases.csv has no column \"学生名字\" named under `ignore_columns`");
    assert!(err.hint.unwrap().contains("case_id, school_id, 学生姓名, student_ref, opened_on"));
}
