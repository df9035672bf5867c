//! Whole runs: a pipeline file and small CSV exports in a temporary folder,
//! validated, checked and run with the built-in plugins. Expected figures are
//! counted by hand from the fixture text written in each test.

use datafusion::arrow::array::{Array, Int64Array, StringArray};
use sha2::{Digest, Sha256};
use std::path::Path;
use sunward_core::{ErrorKind, Plan, ValidateOptions, validate_text};
use sunward_engine::session::SessionOptions;
use sunward_engine::{RunOptions, check, run};

const SCHOOLS: &str = "school_id,school_name,stage,district_id,district_name,city,org_id,org_name\n\
S1,青柳湖中学,junior,D1,昆山市,苏州市,O1,明川\n\
S2,青柳湖小学,primary,D1,昆山市,苏州市,O1,明川\n";

// 2025: S1 has 2 case sessions and 1 growth class (45); S2 has 1 growth class (38).
// 2024: one S1 case session. Line 7 names an unknown school; line 8 has a bad date.
const SERVICES: &str = "record_id,school_id,service_date,service_type,audience,participants,worker_id\n\
R1,S1,2025-03-05,case_session,student,1,W1\n\
R2,S1,2025-03-12,case_session,student,1,W1\n\
R3,S1,2025-04-01,growth_class,student,45,W1\n\
R4,S2,2025-05-06,growth_class,student,38,W2\n\
R5,S1,2024-11-11,case_session,student,1,W1\n\
R6,S9,2025-05-06,growth_class,student,30,W2\n\
R7,S2,2025-13-01,growth_class,student,30,W2\n";

fn pipeline(extra_source_options: &str, query: &str) -> String {
    format!(
        "name: test\nparams:\n  year: {{type: int, default: 2024}}\nsources:\n  schools:\n    plugin: csv\n    path: schools.csv\n    contract: schools\n  services:\n    plugin: csv\n    path: services.csv\n    contract: services\n{extra_source_options}steps:\n  by_school:\n    plugin: sql\n    query: |\n{query}\noutputs:\n  table_csv:\n    plugin: csv\n    table: by_school\n    path: by_school_${{year}}.csv\n  table_parquet:\n    plugin: parquet\n    table: by_school\n    path: by_school.parquet\n  table_jsonl:\n    plugin: jsonl\n    table: by_school\n    path: by_school.jsonl\n  workbook:\n    plugin: xlsx\n    tables: [by_school, schools]\n    path: 汇总.xlsx\n"
    )
}

const QUERY: &str = "      SELECT s.school_id, s.school_name, COUNT(*) AS events, SUM(v.participants) AS participants\n      FROM services v JOIN schools s ON s.school_id = v.school_id\n      WHERE EXTRACT(YEAR FROM v.service_date) = $year\n      GROUP BY s.school_id, s.school_name\n      ORDER BY s.school_id\n";

fn plan(dir: &Path, text: &str, sets: &[&str]) -> Plan {
    std::fs::write(dir.join("schools.csv"), SCHOOLS).unwrap();
    std::fs::write(dir.join("services.csv"), SERVICES).unwrap();
    let options = ValidateOptions {
        sets: sets.iter().map(|s| s.to_string()).collect(),
        cwd: dir.to_path_buf(),
        out_dir: dir.join("out"),
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    };
    validate_text(text, "p.yaml", dir, &sunward_plugins::builtin_registry(), &options)
        .unwrap_or_else(|d| panic!("{d:?}"))
}

fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_pipeline_runs_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plan = plan(dir, &pipeline("", QUERY), &["year=2025"]);
    assert!(check(&plan).await.is_empty());
    let report = run(&plan, &RunOptions::default()).await.unwrap_or_else(|d| panic!("{d}"));

    let services = report.sources.iter().find(|s| s.name == "services").unwrap();
    assert_eq!((services.rows_read, services.rows_loaded, services.rows_rejected), (7, 5, 2));
    let rejects = std::fs::read_to_string(dir.join("out/rejects/services.csv")).unwrap();
    assert!(rejects.contains("line 7,school_id,\"school_id \"\"S9\"\" is not in schools\",S9"), "{rejects}");
    assert!(rejects.contains("line 8,service_date,not a date,2025-13-01"), "{rejects}");

    let csv = std::fs::read_to_string(dir.join("out/by_school_2025.csv")).unwrap();
    assert_eq!(csv, "school_id,school_name,events,participants\nS1,青柳湖中学,3,47\nS2,青柳湖小学,1,38\n");

    let jsonl = std::fs::read_to_string(dir.join("out/by_school.jsonl")).unwrap();
    assert_eq!(
        jsonl,
        "{\"school_id\":\"S1\",\"school_name\":\"青柳湖中学\",\"events\":3,\"participants\":47}\n{\"school_id\":\"S2\",\"school_name\":\"青柳湖小学\",\"events\":1,\"participants\":38}\n"
    );

    let file = std::fs::File::open(dir.join("out/by_school.parquet")).unwrap();
    let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let ids = batches[0].column(0).as_any().downcast_ref::<StringArray>().unwrap();
    let events = batches[0].column(2).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!((ids.value(1), events.value(0), events.value(1)), ("S2", 3, 1));

    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(dir.join("out/汇总.xlsx")).unwrap();
    assert_eq!(book.sheet_names(), ["by_school", "schools"]);
    let sheet = book.worksheet_range("by_school").unwrap();
    assert_eq!(sheet.get_value((1, 1)).map(|v| v.to_string()), Some("青柳湖中学".to_string()));
    assert_eq!(sheet.get_value((2, 3)), Some(&calamine::Data::Float(38.0)));

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/manifest-test.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "succeeded");
    assert_eq!(manifest["params"]["year"], "2025");
    assert_eq!(manifest["tables"]["by_school"], 2);
    assert_eq!(manifest["tables"]["services"], 5);
    let svc = manifest["sources"].as_array().unwrap().iter().find(|s| s["name"] == "services").unwrap();
    assert_eq!((svc["rows_read"].as_u64(), svc["rows_rejected"].as_u64()), (Some(7), Some(2)));
    assert_eq!(svc["files"][0]["sha256"], sha256(&dir.join("services.csv")));
    assert_eq!(svc["files"][0]["bytes"], SERVICES.len());
    assert_eq!(manifest["outputs"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn the_default_parameter_applies_without_set() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan(tmp.path(), &pipeline("", QUERY), &[]);
    run(&plan, &RunOptions::default()).await.unwrap();
    let csv = std::fs::read_to_string(tmp.path().join("out/by_school_2024.csv")).unwrap();
    assert_eq!(csv, "school_id,school_name,events,participants\nS1,青柳湖中学,1,1\n");
}

#[tokio::test]
async fn too_many_rejects_stop_the_run_before_any_output() {
    let tmp = tempfile::tempdir().unwrap();
    // A first run without a limit publishes its outputs, rejects and manifest.
    run(&super_plan(tmp.path(), ""), &RunOptions::default()).await.unwrap();
    let out = tmp.path().join("out");
    let published = ["by_school_2024.csv", "rejects/services.csv", "manifest-test.json"];
    let before: Vec<Vec<u8>> = published.iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
    let plan = plan(tmp.path(), &pipeline("    max_rejected: 1\n", QUERY), &[]);
    let err = run(&plan, &RunOptions::default()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooManyRejects);
    assert!(err.message.contains("services: 2 of 7 rows rejected"), "{}", err.message);
    // The failed run's rejects and manifest are set aside, and the message points there.
    let failed = out.join("failed/test");
    assert!(err.message.contains(&failed.join("rejects/services.csv").display().to_string()), "{}", err.message);
    assert!(std::fs::read_to_string(failed.join("rejects/services.csv")).unwrap().contains("S9"));
    let manifest = std::fs::read_to_string(failed.join("manifest-test.json")).unwrap();
    assert!(manifest.contains("\"status\": \"failed\""));
    // The previous run's files are exactly as they were.
    let after: Vec<Vec<u8>> = published.iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
    assert!(before == after, "a failed run changed the published files");
    // The next successful run removes the failure's record.
    run(&super_plan(tmp.path(), ""), &RunOptions::default()).await.unwrap();
    assert!(!failed.exists());
    // A percentage limit: 2 of 7 is 28.6%, within 30%.
    let tmp = tempfile::tempdir().unwrap();
    let plan = super_plan(tmp.path(), "    max_rejected: \"30%\"\n");
    run(&plan, &RunOptions::default()).await.unwrap();
}

fn super_plan(dir: &Path, extra: &str) -> Plan {
    plan(dir, &pipeline(extra, QUERY), &[])
}

#[tokio::test]
async fn a_failing_step_leaves_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    // Planning succeeds; execution fails on a cast of a school name to an integer.
    let query = "      SELECT CAST(school_name AS BIGINT) AS n FROM schools\n";
    let plan = plan(tmp.path(), &pipeline("", query), &[]);
    let err = run(&plan, &RunOptions::default()).await.unwrap_err();
    assert_eq!(err.context.as_deref(), Some("steps.by_school"));
    assert!(err.location.is_some());
    let written: Vec<_> = std::fs::read_dir(tmp.path().join("out")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(written, ["failed"], "only the failure's manifest is kept, aside");
    let manifest = std::fs::read_to_string(tmp.path().join("out/failed/test/manifest-test.json")).unwrap();
    assert!(manifest.contains("\"status\": \"failed\""), "{manifest}");
}

#[tokio::test]
async fn check_reports_a_bad_column_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let query = "      SELECT school_id, servce_type FROM services\n";
    let text = pipeline("", query);
    let plan = plan(tmp.path(), &text, &[]);
    let diags = check(&plan).await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    let loc = diags[0].location.clone().unwrap();
    let line = text.lines().position(|l| l.contains("servce_type")).unwrap() + 1;
    assert_eq!((loc.line, loc.column), (line, 25));
    assert_eq!(diags[0].context.as_deref(), Some("steps.by_school"));
    // A missing input file is found before running.
    std::fs::remove_file(tmp.path().join("schools.csv")).unwrap();
    let diags = check(&plan).await;
    assert!(diags[0].message.contains("schools.csv does not exist"), "{diags:?}");
}

#[tokio::test]
async fn ddl_and_dml_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("schools.csv"), SCHOOLS).unwrap();
    std::fs::write(tmp.path().join("services.csv"), SERVICES).unwrap();
    for query in
        ["      DROP TABLE schools\n", "      INSERT INTO schools VALUES ('x')\n", "      CREATE TABLE x AS SELECT 1\n"]
    {
        let options = ValidateOptions {
            sets: vec![],
            cwd: tmp.path().to_path_buf(),
            out_dir: tmp.path().join("out"),
            today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        };
        let err =
            validate_text(&pipeline("", query), "p.yaml", tmp.path(), &sunward_plugins::builtin_registry(), &options)
                .err()
                .unwrap_or_else(|| panic!("{query} was accepted"));
        assert!(err[0].message.starts_with("only a SELECT query is allowed"), "{:?}", err[0]);
    }
}

#[tokio::test]
async fn string_parameters_are_bound_not_pasted() {
    let tmp = tempfile::tempdir().unwrap();
    let text = pipeline("", "      SELECT school_id, COUNT(*) AS events, 0 AS participants, '' AS school_name FROM schools WHERE school_id = $who GROUP BY school_id\n")
        .replace("params:\n", "params:\n  who: {type: string, default: S1}\n");
    let plan = plan(tmp.path(), &text, &["who=x' OR '1'='1"]);
    let report = run(&plan, &RunOptions::default()).await.unwrap();
    let by_school = report.tables.iter().find(|t| t.name == "by_school").unwrap();
    assert_eq!(by_school.rows, Some(0), "the quote in the value is data, not SQL");
}

#[tokio::test]
async fn a_small_memory_limit_spills_instead_of_failing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 60,000 services rows, sorted by a text key under a 4 MiB limit.
    let mut services = String::from("record_id,school_id,service_date,service_type,audience,participants,worker_id\n");
    for i in 0..60_000u32 {
        services.push_str(&format!(
            "R{:06},S{},2025-03-{:02},group_session,student,{},W{}\n",
            (i * 7919) % 60_000,
            1 + i % 2,
            1 + i % 28,
            1 + i % 40,
            i % 13
        ));
    }
    let text = "name: sort\nsources:\n  services:\n    plugin: csv\n    path: services.csv\n    contract: services\nsteps:\n  sorted:\n    plugin: sql\n    query: SELECT record_id, participants FROM services ORDER BY record_id DESC\noutputs:\n  out:\n    plugin: csv\n    table: sorted\n    path: sorted.csv\n";
    std::fs::write(dir.join("services.csv"), services).unwrap();
    let options = ValidateOptions {
        sets: vec![],
        cwd: dir.to_path_buf(),
        out_dir: dir.join("out"),
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    };
    let plan = validate_text(text, "p.yaml", dir, &sunward_plugins::builtin_registry(), &options).unwrap();
    let run_options = RunOptions {
        session: SessionOptions {
            memory_limit: Some(4 << 20),
            target_partitions: Some(2),
            ..SessionOptions::default()
        },
        ..Default::default()
    };
    let report = run(&plan, &run_options).await.unwrap_or_else(|d| panic!("{}", d.render(None)));
    assert_eq!(report.tables.iter().find(|t| t.name == "sorted").unwrap().rows, Some(60_000));
    let out = std::fs::read_to_string(dir.join("out/sorted.csv")).unwrap();
    let mut lines = out.lines().skip(1);
    assert!(lines.next().unwrap().starts_with("R059999,"));
    assert!(out.lines().last().unwrap().starts_with("R000000,"));
    // The sorted table (about 1.4 MB) is over the 1 MiB staging threshold of a
    // 4 MiB limit: it was staged on disk and the csv output streamed it from there.
    assert_eq!(out.lines().count(), 60_001);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/manifest-sort.json")).unwrap()).unwrap();
    let staged = manifest["staged"].as_array().unwrap();
    assert!(staged.contains(&serde_json::json!("sorted")), "staged: {staged:?}");
    assert!(staged.contains(&serde_json::json!("services")), "staged: {staged:?}");
}

#[tokio::test]
async fn a_step_read_once_is_a_view_and_the_rest_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // `kind_2025` is read by `by_kind` only: a view. `by_kind` is read by two
    // steps: kept. `biggest` asks to be kept. `top` and `total` are written.
    let text = "name: lazy\nsources:\n  services:\n    plugin: csv\n    path: services.csv\n    contract: services\nsteps:\n  kind_2025:\n    plugin: sql\n    query: SELECT service_type, participants FROM services WHERE service_date >= DATE '2025-01-01'\n  by_kind:\n    plugin: sql\n    query: SELECT service_type, COUNT(*) AS n, SUM(participants) AS p FROM kind_2025 GROUP BY service_type\n  biggest:\n    plugin: sql\n    materialize: true\n    query: SELECT MAX(p) AS p FROM by_kind\n  top:\n    plugin: sql\n    query: SELECT k.service_type, k.n FROM by_kind k JOIN biggest b ON k.p = b.p\n  total:\n    plugin: sql\n    query: SELECT SUM(n) AS n FROM by_kind\noutputs:\n  top:\n    plugin: csv\n    table: top\n    path: top.csv\n  total:\n    plugin: csv\n    table: total\n    path: total.csv\n";
    let plan = plan(dir, text, &[]);
    let report = run(&plan, &RunOptions::default()).await.unwrap_or_else(|d| panic!("{}", d.render(None)));
    let rows = |name: &str| report.tables.iter().find(|t| t.name == name).unwrap().rows;
    assert_eq!(rows("kind_2025"), None, "read by one step: a view");
    assert_eq!(rows("by_kind"), Some(2), "read by two steps: kept (case_session, growth_class)");
    assert_eq!(rows("biggest"), Some(1), "materialize: true keeps it");
    // 2025 good rows (R1–R4; R6 names an unknown school but no schools source is loaded here, so it is kept):
    // case_session 2 rows (2 participants), growth_class 3 rows (45 + 38 + 30 = 113).
    assert_eq!(std::fs::read_to_string(dir.join("out/top.csv")).unwrap(), "service_type,n\ngrowth_class,3\n");
    assert_eq!(std::fs::read_to_string(dir.join("out/total.csv")).unwrap(), "n\n5\n");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/manifest-lazy.json")).unwrap()).unwrap();
    assert_eq!(manifest["views"], serde_json::json!(["kind_2025"]));
    assert!(manifest["tables"].get("kind_2025").is_none(), "a view has no row count");
}

/// A run kept in memory: the given rows in place of a source (numbered by
/// the lines a file of them has), the steps' tables read back from the
/// session, the rejects in memory, and nothing written to the output folder.
#[tokio::test]
async fn a_run_in_memory_writes_nothing_and_returns_its_tables() {
    use sunward_engine::given::Given;
    let tmp = tempfile::tempdir().unwrap();
    let mut plan = plan(tmp.path(), &pipeline("", QUERY), &["year=2025"]);
    // Two of the fixture's 2025 rows for S1 (lines 2 and 3), and a bad date on line 4.
    let services = plan.sources.iter_mut().find(|s| s.name == "services").unwrap();
    (services.plugin, services.config) = Given::of_csv(
        "record_id,school_id,service_date,service_type,audience,participants,worker_id\n\
         R1,S1,2025-03-05,case_session,student,1,W1\n\
         R3,S1,2025-04-01,growth_class,student,45,W1\n\
         R7,S1,2025-13-01,growth_class,student,30,W2\n",
        "services",
    )
    .unwrap()
    .into_source()
    .unwrap();
    let run = sunward_engine::run_tables(&plan, &RunOptions::default()).await.unwrap_or_else(|d| panic!("{d}"));
    let rows = run.rows(&plan, "SELECT school_id, events, participants FROM by_school").await.unwrap();
    assert_eq!(
        rows,
        vec![
            serde_json::from_str::<serde_json::Map<_, _>>(r#"{"school_id":"S1","events":2,"participants":46}"#)
                .unwrap()
        ]
    );
    let services = run.report.sources.iter().find(|s| s.name == "services").unwrap();
    assert_eq!((services.rows_read, services.rows_loaded, services.rows_rejected), (3, 2, 1));
    assert!(services.files.is_empty() && services.rejects_file.is_none());
    assert_eq!(run.reject_lines("services", 5), ["line 4,service_date,not a date,2025-13-01"]);
    assert!(run.report.outputs.is_empty());
    assert!(!tmp.path().join("out").exists(), "a run in memory wrote into the output folder");
}

/// `--memory-limit` is split once, and the manifest says how.
#[tokio::test]
async fn the_manifest_records_how_the_memory_limit_was_split() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan(tmp.path(), &pipeline("", QUERY), &["year=2025"]);
    let options = RunOptions {
        session: SessionOptions { memory_limit: Some(64 << 20), ..Default::default() },
        ..Default::default()
    };
    run(&plan, &options).await.unwrap_or_else(|d| panic!("{d}"));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out/manifest-test.json")).unwrap()).unwrap();
    // 64 MiB: the pool is the whole, an eighth (8 MiB) stages, 65,536 exact claims, no views.
    assert_eq!(
        manifest["memory"],
        serde_json::json!({"limit": 67108864, "query_pool": 67108864, "stage_threshold": 8388608, "exact_key_claims": 65536, "views": false})
    );
    assert!(manifest["views"].as_array().unwrap().is_empty());
}
