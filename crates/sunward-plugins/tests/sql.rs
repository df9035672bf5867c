//! The `sql` step: which tables a query reads, which statements are refused,
//! and parameters bound as values on a three-row table whose expected results
//! are worked out by hand in each test.

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, Date32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use std::collections::BTreeMap;
use std::sync::Arc;
use sunward_core::params::{ParamValue, date_to_days};
use sunward_core::yaml::PathPart;
use sunward_core::{ConfigIssue, Plugin, RunContext, StepContext, Transform};
use sunward_plugins::transforms::sql::{SqlConfig, SqlTransform};

fn inputs(query: &str) -> Result<Vec<String>, ConfigIssue> {
    SqlTransform.inputs(&SqlConfig { query: query.to_string() })
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[test]
fn inputs_cover_joins_ctes_and_subqueries() {
    let query = "
        WITH recent AS (SELECT * FROM services WHERE service_date >= $since),
             big AS (SELECT school_id FROM enrolment WHERE students > 1000)
        SELECT s.school_name, COUNT(*) AS n
        FROM recent r
        JOIN schools s ON s.school_id = r.school_id
        LEFT JOIN big b ON b.school_id = s.school_id
        CROSS JOIN (SELECT COUNT(*) AS c FROM classes) k
        WHERE r.case_id IN (SELECT case_id FROM cases WHERE final_tier = 'red')
          AND EXISTS (SELECT 1 FROM incidents i WHERE i.school_id = s.school_id)
          AND s.school_id NOT IN (SELECT school_id FROM schools WHERE org_id IS NULL)
        GROUP BY s.school_name";
    // `recent` and `big` are the query's own; `schools` is named twice.
    assert_eq!(sorted(inputs(query).unwrap()), ["cases", "classes", "enrolment", "incidents", "schools", "services"]);
}

#[test]
fn a_cte_that_shadows_a_table_still_reads_the_table() {
    // The inner `services` is the pipeline's table; the outer one is the CTE.
    let query = "WITH services AS (SELECT * FROM services WHERE participants > 1) SELECT COUNT(*) FROM services";
    assert_eq!(inputs(query).unwrap(), ["services"]);
    // A CTE used only as itself is not an input.
    let query = "WITH t AS (SELECT 1 AS x) SELECT x FROM t JOIN schools ON true";
    assert_eq!(inputs(query).unwrap(), ["schools"]);
    // A union reads both sides.
    let query = "SELECT school_id FROM services UNION ALL SELECT school_id FROM attendance";
    assert_eq!(sorted(inputs(query).unwrap()), ["attendance", "services"]);
}

#[test]
fn statements_other_than_one_query_are_refused() {
    for (query, first) in [
        ("DROP TABLE schools", "DROP"),
        ("INSERT INTO schools VALUES ('S9')", "INSERT"),
        ("DELETE FROM schools WHERE school_id = 'S1'", "DELETE"),
        ("UPDATE schools SET school_name = 'x'", "UPDATE"),
        ("CREATE TABLE copy AS SELECT * FROM schools", "CREATE"),
        ("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'", "CREATE"),
        ("COPY schools TO '/tmp/schools.csv'", "COPY"),
        ("SET datafusion.execution.batch_size = 1", "SET"),
    ] {
        let issue = inputs(query).err().unwrap_or_else(|| panic!("{query} was accepted"));
        assert_eq!(issue.message, format!("only a SELECT query is allowed: found {first}"), "{query}");
        assert_eq!(issue.path, [PathPart::Key("query".into())]);
    }
    let issue = inputs("SELECT 1; DROP TABLE schools").unwrap_err();
    assert_eq!(issue.message, "only a SELECT query is allowed: found 2 statements separated by `;`");
}

#[test]
fn a_parse_error_names_the_query_field() {
    let issue = inputs("SELEC school_id FROM schools").unwrap_err();
    assert_eq!(issue.path, [PathPart::Key("query".into())]);
    assert!(issue.message.starts_with("the query does not parse: "), "{}", issue.message);
    assert!(issue.message.contains("SELEC"), "the parser's own words are kept: {}", issue.message);
}

#[test]
fn check_rejects_an_empty_query() {
    let issues = SqlTransform.check(&SqlConfig { query: "  \n ".into() });
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].message, "the query is empty");
    assert!(SqlTransform.check(&SqlConfig { query: "SELECT 1".into() }).is_empty());
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Three incidents:
/// | id | year | day        | category  | n |
/// | a  | 2023 | 2024-01-10 | self_harm | 1 |
/// | b  | 2024 | 2024-06-01 | violence  | 2 |
/// | c  | 2024 | 2025-02-01 | runaway   | 4 |
fn session() -> SessionContext {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("year", DataType::Int64, false),
        Field::new("day", DataType::Date32, false),
        Field::new("category", DataType::Utf8, false),
        Field::new("n", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["a", "b", "c"])),
            Arc::new(Int64Array::from(vec![2023, 2024, 2024])),
            Arc::new(Date32Array::from(vec![
                date_to_days(date(2024, 1, 10)),
                date_to_days(date(2024, 6, 1)),
                date_to_days(date(2025, 2, 1)),
            ])),
            Arc::new(StringArray::from(vec!["self_harm", "violence", "runaway"])),
            Arc::new(Int64Array::from(vec![1, 2, 4])),
        ],
    )
    .unwrap();
    let ctx = SessionContext::new();
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())).unwrap();
    ctx
}

fn run_context(params: &[(&str, ParamValue)]) -> RunContext {
    RunContext {
        pipeline_dir: ".".into(),
        out_dir: "out".into(),
        params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>(),
        as_of: date(2026, 1, 1),
        sql_functions: Default::default(),
        contract: sunward_core::contract::Contract::builtin(),
    }
}

/// Run `query` with `params` and return the first column as text.
async fn ids(query: &str, params: &[(&str, ParamValue)]) -> Vec<String> {
    let session = session();
    let run = run_context(params);
    let ctx = StepContext { session: &session, run: &run, name: "step" };
    let df = SqlTransform.run(&SqlConfig { query: query.into() }, &ctx).await.unwrap_or_else(|d| panic!("{d}"));
    let batches = df.collect().await.unwrap();
    let mut out = Vec::new();
    for b in &batches {
        let column = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
        let column = column.as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..column.len() {
            out.push(if column.is_null(i) { "null".to_string() } else { column.value(i).to_string() });
        }
    }
    out
}

#[tokio::test]
async fn an_int_parameter_is_bound() {
    let rows = ids("SELECT id FROM t WHERE year = $year ORDER BY id", &[("year", ParamValue::Int(2024))]).await;
    assert_eq!(rows, ["b", "c"]);
    // 2 + 4 for 2024.
    let total = ids("SELECT SUM(n) FROM t WHERE year = $year", &[("year", ParamValue::Int(2024))]).await;
    assert_eq!(total, ["6"]);
}

#[tokio::test]
async fn string_date_and_list_parameters_are_bound() {
    let rows = ids("SELECT id FROM t WHERE category = $what", &[("what", ParamValue::Str("violence".into()))]).await;
    assert_eq!(rows, ["b"]);
    // On or after 2024-06-01: b (that day) and c.
    let since = [("since", ParamValue::Date(date(2024, 6, 1)))];
    assert_eq!(ids("SELECT id FROM t WHERE day >= $since ORDER BY id", &since).await, ["b", "c"]);
    assert_eq!(ids("SELECT id FROM t WHERE day < $since", &since).await, ["a"]);
    let extreme = [("extreme", ParamValue::List(vec!["self_harm".into(), "violence".into()]))];
    assert_eq!(ids("SELECT id FROM t WHERE array_has($extreme, category) ORDER BY id", &extreme).await, ["a", "b"]);
    // Only c is outside the list; its n is 4.
    assert_eq!(ids("SELECT SUM(n) FROM t WHERE NOT array_has($extreme, category)", &extreme).await, ["4"]);
}

#[tokio::test]
async fn a_quote_in_a_string_parameter_is_data_not_sql() {
    let who = [("who", ParamValue::Str("x' OR '1'='1".into()))];
    assert!(ids("SELECT id FROM t WHERE id = $who", &who).await.is_empty());
    assert_eq!(ids("SELECT COUNT(*) FROM t WHERE id = $who OR category = $who", &who).await, ["0"]);
}

#[tokio::test]
async fn the_session_refuses_ddl_even_when_asked_directly() {
    let session = session();
    let run = run_context(&[]);
    let ctx = StepContext { session: &session, run: &run, name: "step" };
    for query in ["CREATE TABLE u AS SELECT * FROM t", "DROP TABLE t", "SET datafusion.execution.batch_size = 1"] {
        let err = SqlTransform.run(&SqlConfig { query: query.into() }, &ctx).await.err();
        let err = err.unwrap_or_else(|| panic!("{query} ran"));
        assert!(err.message.starts_with("the query does not plan"), "{query}: {}", err.message);
    }
    // The table is still there, unchanged.
    assert_eq!(ids("SELECT COUNT(*) FROM t", &[]).await, ["3"]);
}

#[tokio::test]
async fn an_undeclared_parameter_is_a_clear_error() {
    let session = session();
    let run = run_context(&[("year", ParamValue::Int(2024))]);
    let ctx = StepContext { session: &session, run: &run, name: "step" };
    let err = SqlTransform.run(&SqlConfig { query: "SELECT id FROM t WHERE year = $yaer".into() }, &ctx).await;
    let Err(err) = err else { panic!("an unknown parameter fails") };
    assert!(err.message.contains("yaer"), "{}", err.message);
}
