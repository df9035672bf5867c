//! Extending a pipeline without Rust, end to end through the binary: SQL
//! functions declared in YAML (and in an included file), data checks, and
//! `sunward test` with the tests shipped beside `pipelines/metrics.yaml`.
//! Every mistake is expected at the line and column counted by hand in the
//! pipeline text written here.

use crate::common;

use common::{ok, repo};
use std::path::Path;
use std::process::{Command, Output};

fn sunward(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(dir).args(args).output().expect("the binary runs")
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A folder with two schools' services (one of them a student's case
/// session) and `pipeline.yaml` with the given body after its sources.
fn project(rest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schools.csv"),
        "school_id,school_name,stage,district_id,district_name,city,org_id,org_name\n\
         S1,一中,junior,D1,青浦区,上海市,,\nS2,二中,junior,D1,青浦区,上海市,,\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("services.csv"),
        "record_id,school_id,service_date,service_type,audience,participants,student_ref,case_id,class_id,worker_id,duration_min,topic\n\
         R1,S1,2025-03-04,consultation,student,1,P0001,,,W1,50,\n\
         R2,S1,2025-03-05,group_session,student,12,,,,W1,45,\n\
         R3,S2,2025-03-06,group_session,student,30,,,,W2,40,\n",
    )
    .unwrap();
    let head = "name: extend\n\
                sources:\n\
                \x20 schools: {plugin: csv, path: schools.csv, contract: schools}\n\
                \x20 services: {plugin: csv, path: services.csv, contract: services, references: {cases: none, classes: none}}\n";
    std::fs::write(dir.path().join("pipeline.yaml"), format!("{head}{rest}")).unwrap();
    dir
}

#[test]
fn a_yaml_function_runs_in_a_step_with_its_declared_types() {
    // `share` divides two integers; declared as floats, 12 / 42 is not 0.
    let dir = project(
        "functions:\n\
         \x20 share:\n\
         \x20   params: {part: float, whole: float}\n\
         \x20   returns: float\n\
         \x20   body: part / NULLIF(whole, 0)\n\
         \x20   description: a share, null over nothing\n\
         steps:\n\
         \x20 by_school:\n\
         \x20   plugin: sql\n\
         \x20   query: |\n\
         \x20     SELECT school_id, SUM(participants) AS p,\n\
         \x20            ROUND(share(SUM(participants), (SELECT SUM(participants) FROM services)), 4) AS s\n\
         \x20     FROM services GROUP BY school_id ORDER BY school_id\n\
         outputs:\n\
         \x20 out: {plugin: csv, table: by_school, path: by_school.csv}\n",
    );
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    ok(&output);
    assert!(text(&output).0.contains("SQL functions: share"), "{}", text(&output).0);
    ok(&sunward(dir.path(), &["run", "pipeline.yaml", "--out", "out", "--no-cache"]));
    let written = std::fs::read_to_string(dir.path().join("out/by_school.csv")).unwrap();
    // S1: 1 + 12 = 13 of 43 = 0.3023; S2: 30 of 43 = 0.6977.
    assert_eq!(written, "school_id,p,s\nS1,13,0.3023\nS2,30,0.6977\n");
}

#[test]
fn validate_points_at_each_mistake_in_functions_and_checks() {
    let dir = project(concat!(
        "functions:\n",                                           // line 5
        "  per_1000:\n",                                          // 6
        "    params: {count: float, students: integer}\n",        // 7: unknown type at col 38
        "    returns: float\n",                                   // 8
        "    body: count / NULLIF(students, 0) * 1000\n",         // 9
        "  twice:\n",                                             // 10
        "    params: {x: float}\n",                               // 11
        "    returns: float\n",                                   // 12
        "    body: |\n",                                          // 13
        "      x *\n",                                            // 14
        "        * 2\n",                                          // 15: parse error at col 9
        "  ratio:\n",                                             // 16
        "    params: {a: float}\n",                               // 17
        "    returns: float\n",                                   // 18
        "    body: a / b\n",                                      // 19: b is not a parameter: col 15
        "steps:\n",                                               // 20
        "  s:\n",                                                 // 21
        "    plugin: sql\n",                                      // 22
        "    query: SELECT school_id FROM services\n",            // 23
        "checks:\n",                                              // 24
        "  - {table: servics, not_null: school_id}\n",            // 25: unknown table at col 13
        "  - {table: s, unique: school_idd}\n",                   // 26: unknown column (planned)
        "  - {table: s, range: {column: school_id}}\n",           // 27: empty range at col 23
        "  - {table: s, row_count: {min: 1}, severity: fatal}\n", // 28: bad severity
    ));
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for expected in [
        "pipeline.yaml:7:38",
        "unknown type \"integer\"",
        "pipeline.yaml:15:9",
        "the body of twice() is not a SQL expression",
        "pipeline.yaml:25:13",
        "unknown table \"servics\"",
        "pipeline.yaml:27:23",
        "`range` is empty",
        "pipeline.yaml:28:",
        "fatal",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    // The pure mistakes fixed, the planning ones are found by the engine's check.
    let dir = project(concat!(
        "functions:\n",                                                  // 5
        "  ratio:\n",                                                    // 6
        "    params: {a: float}\n",                                      // 7
        "    returns: float\n",                                          // 8
        "    body: a / b\n",                                             // 9: b at col 15
        "steps:\n",                                                      // 10
        "  s:\n",                                                        // 11
        "    plugin: sql\n",                                             // 12
        "    query: SELECT school_id, ratio(1, 2) AS r FROM services\n", // 13
        "checks:\n",                                                     // 14
        "  - {table: services, unique: school_idd}\n",                   // 15: col 31
    ));
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for expected in [
        "pipeline.yaml:9:15",
        "the body of ratio() does not plan with its declared types",
        "a body may use only its parameters — a (float)",
        "pipeline.yaml:13:30",
        "ratio() is a function declared under `functions:` and takes 1 argument, but 2 were given",
        "pipeline.yaml:15:31",
        "the check services.unique(school_idd) does not plan",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn a_body_that_does_not_plan_is_reported_once_not_again_at_each_step_calling_it() {
    let dir = project(concat!(
        "functions:\n",
        "  ratio:\n",
        "    params: {a: float}\n",
        "    returns: float\n",
        "    body: a / participant\n",
        "steps:\n",
        "  s:\n",
        "    plugin: sql\n",
        "    query: SELECT participants, ratio(participants) AS r FROM services\n",
    ));
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pipeline.yaml:9:15"), "{stderr}");
    assert!(stderr.ends_with("1 error in pipeline.yaml\n"), "{stderr}");
}

#[test]
fn functions_come_from_an_included_file_and_cycles_are_refused() {
    let dir = project(concat!(
        "include: [lib/rates.yaml]\n",
        "steps:\n",
        "  s:\n",
        "    plugin: sql\n",
        "    query: SELECT school_id, per_100(SUM(participants), 200) AS r FROM services GROUP BY school_id\n",
        "outputs:\n",
        "  o: {plugin: csv, table: s, path: s.csv}\n",
    ));
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(
        dir.path().join("lib/rates.yaml"),
        "functions:\n  per_100:\n    params: {n: float, d: int}\n    returns: float\n    body: n * 100 / d\n",
    )
    .unwrap();
    ok(&sunward(dir.path(), &["run", "pipeline.yaml", "--out", "out", "--no-cache"]));
    let mut rows: Vec<String> =
        std::fs::read_to_string(dir.path().join("out/s.csv")).unwrap().lines().skip(1).map(str::to_string).collect();
    rows.sort();
    assert_eq!(rows, ["S1,6.5", "S2,15.0"]); // 13 × 100 / 200, 30 × 100 / 200
    // A cycle, reported in the included file.
    std::fs::write(
        dir.path().join("lib/rates.yaml"),
        "functions:\n  per_100:\n    params: {n: float, d: int}\n    returns: float\n    body: twice(n) / d\n  twice:\n    params: {n: float}\n    returns: float\n    body: per_100(n, 1) * 2\n",
    )
    .unwrap();
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("functions call each other in a cycle: per_100 → twice → per_100"), "{stderr}");
    assert!(stderr.contains("lib/rates.yaml:5:11"), "{stderr}");
}

#[test]
fn a_failing_error_check_stops_the_run_before_any_output_and_a_warning_is_recorded() {
    let checks = concat!(
        "steps:\n",
        "  s:\n",
        "    plugin: sql\n",
        "    query: SELECT * FROM services\n",
        "outputs:\n",
        "  o: {plugin: csv, table: s, path: s.csv}\n",
        "checks:\n",
        "  - {table: services, expression: participants < 20, severity: warn}\n",
        "  - {table: services, not_null: student_ref, max_failing: 2}\n",
    );
    let dir = project(checks);
    let output = sunward(dir.path(), &["run", "pipeline.yaml", "--out", "out", "--no-cache"]);
    ok(&output);
    let (stdout, stderr) = text(&output);
    // R3 has 30 participants: 1 of 3 rows; R2 and R3 have no student: 2, allowed.
    assert!(
        stderr.contains("data check services.expression(participants < 20): 1 of 3 rows fail (33.33%)"),
        "{stderr}"
    );
    assert!(stderr.contains("e.g. "), "{stderr}");
    assert!(stdout.contains("checks: 1 passed, 1 warned"), "{stdout}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/manifest-extend.json")).unwrap()).unwrap();
    let recorded = manifest["checks"].as_array().unwrap();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0]["status"], "warned");
    assert_eq!(recorded[0]["failing"], 1);
    assert_eq!(recorded[0]["examples"][0]["record_id"], "R3");
    assert_eq!(recorded[1]["status"], "passed");
    assert_eq!(recorded[1]["failing"], 2);

    // Without the allowance the second check fails: exit 4, nothing written,
    // and the examples never show a student reference.
    let dir = project(
        &checks.replace(", max_failing: 2", "").replace("not_null: student_ref", "expression: student_ref IS NULL"),
    );
    let output = sunward(dir.path(), &["run", "pipeline.yaml", "--out", "out", "--no-cache"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("1 data check failed"), "{stderr}");
    assert!(stderr.contains("--> pipeline.yaml:13:5 (checks)"), "{stderr}");
    assert!(stderr.contains("services.expression(student_ref IS NULL): 1 of 3 rows fail"), "{stderr}");
    assert!(stderr.contains("record_id=R1"), "{stderr}");
    assert!(!stderr.contains("P0001"), "a student reference was printed:\n{stderr}");
    assert!(!dir.path().join("out/s.csv").exists());
    assert!(!dir.path().join("out/manifest-extend.json").exists(), "nothing of the failed run is published");
    let manifest = std::fs::read_to_string(dir.path().join("out/failed/extend/manifest-extend.json")).unwrap();
    assert!(manifest.contains("\"failed\"") && !manifest.contains("P0001"), "{manifest}");
}

#[test]
fn the_metrics_tests_pass_and_a_broken_expectation_shows_the_difference() {
    let output = sunward(&repo(), &["test", "pipelines/metrics.yaml", "--set", "data_dir=sample-data/project"]);
    ok(&output);
    let (stdout, _) = text(&output);
    for name in ["cases", "closed_loop", "incident_rate", "outcomes", "service_reach"] {
        assert!(stdout.contains(&format!("ok   {name}\n")), "{name} in:\n{stdout}");
    }
    assert!(stdout.contains("ok   metrics.unique(unit_type, unit_id, period, metric)"), "{stdout}");
    assert!(stdout.ends_with("6 passed, 0 failed\n"), "{stdout}");

    // A copy of the pipeline whose incident-rate test expects 5 where the rate is 4.
    let copy = tempfile::tempdir().unwrap();
    let pipelines = repo().join("pipelines");
    std::fs::copy(pipelines.join("metrics.yaml"), copy.path().join("metrics.yaml")).unwrap();
    std::fs::create_dir_all(copy.path().join("functions")).unwrap();
    std::fs::copy(pipelines.join("functions/rates.yaml"), copy.path().join("functions/rates.yaml")).unwrap();
    std::fs::create_dir_all(copy.path().join("tests/metrics")).unwrap();
    let test = std::fs::read_to_string(pipelines.join("tests/metrics/incident_rate.yaml")).unwrap();
    let broken =
        test.replace("metric: incident_rate_per_1000, value: 4.0}", "metric: incident_rate_per_1000, value: 5.0}");
    assert_ne!(broken, test);
    std::fs::write(copy.path().join("tests/metrics/incident_rate.yaml"), broken).unwrap();
    let data = repo().join("sample-data/project");
    let output = sunward(copy.path(), &["test", "metrics.yaml", "--set", &format!("data_dir={}", data.display())]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("FAIL incident_rate"), "{stdout}");
    assert!(
        stdout.contains(
            "metrics: 1 expected row not found, 1 row not expected\n      unit_type | unit_id | metric | value\n    - school | S1 | incident_rate_per_1000 | 5.0\n    + school | S1 | incident_rate_per_1000 | 4"
        ),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
}

#[test]
fn a_source_without_a_contract_is_typed_by_columns_with_the_same_bad_row_rules() {
    let dir = tempfile::tempdir().unwrap();
    // Row 3 has no count, row 4 a count that is not a whole number, row 5 a
    // date that is not a date; rows 2 and 6 are good (row 6 leaves the
    // optional date empty).
    std::fs::write(
        dir.path().join("visits.csv"),
        "school,count,on\nA,3,2025-03-01\nB,,2025-03-02\nC,2.5,2025-03-03\nD,4,someday\nE,5,\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pipeline.yaml"),
        "name: typed\n\
         sources:\n\
         \x20 visits:\n\
         \x20   plugin: csv\n\
         \x20   path: visits.csv\n\
         \x20   columns: {count: {type: int, required: true}, on: date}\n\
         steps:\n\
         \x20 total:\n\
         \x20   plugin: sql\n\
         \x20   query: SELECT SUM(count) AS n, COUNT(on) AS dated, MAX(on) + 1 AS after FROM visits\n\
         outputs:\n\
         \x20 o: {plugin: csv, table: total, path: total.csv}\n",
    )
    .unwrap();
    let output = sunward(dir.path(), &["run", "pipeline.yaml", "--out", "out", "--no-cache"]);
    ok(&output);
    assert!(text(&output).0.contains("visits: loaded 2 rows, rejected 3"), "{}", text(&output).0);
    // 3 + 5; one dated row; 2025-03-01 + 1 day (a date, so the column was typed).
    assert_eq!(std::fs::read_to_string(dir.path().join("out/total.csv")).unwrap(), "n,dated,after\n8,1,2025-03-02\n");
    let rejects = std::fs::read_to_string(dir.path().join("out/rejects/visits.csv")).unwrap();
    assert_eq!(
        rejects,
        "file,place,column,rule,value\n\
         visits.csv,line 3,count,missing required value,\n\
         visits.csv,line 4,count,not a whole number,2.5\n\
         visits.csv,line 5,on,not a date,someday\n"
    );
    // A misspelt type is a validation error at its place.
    let pipeline = std::fs::read_to_string(dir.path().join("pipeline.yaml")).unwrap();
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline.replace("on: date", "on: datum")).unwrap();
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("pipeline.yaml:6:"), "{}", text(&output).1);
}

#[test]
fn plugins_lists_the_functions_a_pipeline_declares() {
    let output = sunward(&repo(), &["plugins", "--kind", "function", "--pipeline", "pipelines/metrics.yaml"]);
    ok(&output);
    let (stdout, _) = text(&output);
    assert!(stdout.contains("per_1000(count float, students int) -> float (scalar SQL function)"), "{stdout}");
    assert!(stdout.contains("declared in YAML at pipelines/functions/rates.yaml:"), "{stdout}");
    assert!(stdout.contains("poisson_ci_low"), "{stdout}");
    let output = sunward(&repo(), &["plugins", "--kind", "function"]);
    assert!(!text(&output).0.contains("per_1000"), "only with --pipeline");
}

#[test]
fn the_screening_loop_package_agrees_with_the_metrics_pipeline() {
    let out = tempfile::tempdir().unwrap();
    let data = repo().join("sample-data/project");
    let set = format!("data_dir={}", data.display());
    for pipeline in ["pipelines/metrics.yaml", "pipelines/screening-loop.yaml"] {
        ok(&sunward(&repo(), &["run", pipeline, "--set", &set, "--out", out.path().to_str().unwrap(), "--quiet"]));
    }
    let metrics = std::fs::read_to_string(out.path().join("metrics.csv")).unwrap();
    let figure = |school: &str, year: &str, metric: &str| -> String {
        let prefix = format!("school,{school},AY{year},{metric},");
        metrics.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("{prefix}")).to_string()
    };
    let mut reader = csv::Reader::from_path(out.path().join("screening_loop.csv")).unwrap();
    let mut compared = 0;
    for record in reader.records() {
        let r = record.unwrap();
        let (school, year) = (&r[1], &r[2]);
        assert_eq!(figure(school, year, "screened_high").parse::<f64>().unwrap(), r[3].parse::<f64>().unwrap());
        assert_eq!(figure(school, year, "closed_loop_rate"), &r[8], "{school} {year}");
        assert_eq!(figure(school, year, "median_days_to_intervention"), &r[9], "{school} {year}");
        compared += 1;
    }
    assert_eq!(compared, 4); // two schools, two academic years
}

#[test]
fn package_mistakes_are_reported_where_they_are_written() {
    let dir = project(concat!(
        "uses:\n",                                                              // 5
        "  count:\n",                                                           // 6
        "    package: pkg\n",                                                   // 7
        "    with: {table: services, min_people: \"1'; DROP\", colour: red}\n", // 8
    ));
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    std::fs::write(
        dir.path().join("pkg/plugin.yaml"),
        concat!(
            "name: count\n",
            "params:\n",
            "  table: {type: string}\n",
            "  min_people: {type: int, default: 1}\n",
            "steps:\n",
            "  counted:\n",
            "    plugin: sql\n",
            "    query: SELECT school_id, COUNT(*) AS n FROM ${table} WHERE participants >= ${min_people} GROUP BY school_id\n",
        ),
    )
    .unwrap();
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pipeline.yaml:8:41"), "{stderr}"); // the value with a quote
    assert!(stderr.contains("may not hold quotes"), "{stderr}");
    assert!(stderr.contains("pipeline.yaml:8:53"), "{stderr}");
    assert!(stderr.contains("the package pkg has no parameter \"colour\""), "{stderr}");

    // Fixed, it runs; a mistake inside the package's step names the package's file.
    let pipeline = std::fs::read_to_string(dir.path().join("pipeline.yaml")).unwrap();
    let fixed = pipeline.replace(", min_people: \"1'; DROP\", colour: red", ", min_people: 20");
    std::fs::write(
        dir.path().join("pipeline.yaml"),
        format!("{fixed}outputs:\n  o: {{plugin: csv, table: counted, path: counted.csv}}\n"),
    )
    .unwrap();
    ok(&sunward(dir.path(), &["run", "pipeline.yaml", "--out", "out", "--no-cache"]));
    // Only R3 (30 people) has at least 20.
    assert_eq!(std::fs::read_to_string(dir.path().join("out/counted.csv")).unwrap(), "school_id,n\nS2,1\n");
    let package = std::fs::read_to_string(dir.path().join("pkg/plugin.yaml")).unwrap();
    std::fs::write(dir.path().join("pkg/plugin.yaml"), package.replace("participants >=", "participant >=")).unwrap();
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pkg/plugin.yaml:6:3"), "{stderr}");
    assert!(stderr.contains("participant"), "{stderr}");
    // A text value is one word: it cannot add a clause to the package's query.
    let pipeline = std::fs::read_to_string(dir.path().join("pipeline.yaml")).unwrap();
    std::fs::write(
        dir.path().join("pipeline.yaml"),
        pipeline.replace("table: services,", "table: services WHERE participants IS NULL,"),
    )
    .unwrap();
    let output = sunward(dir.path(), &["validate", "pipeline.yaml"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("\"services WHERE participants IS NULL\" is not a name"), "{stderr}");
}

#[test]
fn the_walkthrough_quotes_the_analyst_example_whole_and_the_example_passes_its_tests() {
    let doc = std::fs::read_to_string(repo().join("docs/ANALYST.md")).unwrap();
    let marker = "<!-- example: ";
    let mut quoted = 0;
    for (at, _) in doc.match_indices(marker) {
        let rest = &doc[at + marker.len()..];
        let path = &rest[..rest.find(" -->").expect("the marker closes")];
        let fence = rest.find("```yaml\n").expect("a yaml block follows the marker") + "```yaml\n".len();
        let body = &rest[fence..];
        let block = &body[..body.find("\n```").expect("the block closes") + 1];
        let file = std::fs::read_to_string(repo().join(path)).unwrap_or_else(|_| panic!("{path} exists"));
        assert_eq!(block, file, "docs/ANALYST.md quotes {path} differently from the file");
        quoted += 1;
    }
    assert!(quoted >= 4, "the walkthrough quotes {quoted} example files");
    let output = sunward(&repo(), &["test", "examples/analyst/visits.yaml"]);
    ok(&output);
    assert!(text(&output).0.ends_with("3 passed, 0 failed\n"), "{}", text(&output).0);
}

#[test]
fn a_mistake_in_a_test_file_is_reported_at_its_place() {
    let dir = project("steps:\n  s:\n    plugin: sql\n    query: SELECT school_id FROM services\n");
    std::fs::create_dir_all(dir.path().join("tests/pipeline")).unwrap();
    std::fs::write(
        dir.path().join("tests/pipeline/misspelt.yaml"),
        "given:\n  services:\n    rows: []\nexpect:\n  s:\n    rows: []\n    orderd: true\n",
    )
    .unwrap();
    let output = sunward(dir.path(), &["test", "pipeline.yaml"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("FAIL misspelt"), "{stdout}");
    assert!(stderr.contains("tests/pipeline/misspelt.yaml:7:5"), "{stderr}");
    assert!(stderr.contains("unknown field `orderd`"), "{stderr}");
    assert!(stderr.contains("1 error in tests/pipeline/misspelt.yaml"), "{stderr}");
}

#[test]
fn every_rule_counts_the_rows_that_break_it() {
    // Services: R1 S1 2025-03-04 consultation 1 (P0001), R2 S1 2025-03-05
    // group_session 12, R3 S2 2025-03-06 group_session 30; schools S1, S2.
    let dir = project(concat!(
        "steps:\n",
        "  known:\n",
        "    plugin: sql\n",
        "    query: SELECT school_id FROM schools WHERE school_id = 'S1'\n",
        "checks:\n",
        "  - {table: services, not_null: [student_ref, case_id], severity: warn}\n", // R1 has no case, R2, R3 neither: 3
        "  - {table: services, unique: school_id, severity: warn}\n",                // S1 twice: R1, R2
        "  - {table: services, unique: [school_id, service_date], severity: warn}\n", // all different: 0
        "  - {table: services, accepted_values: {column: service_type, values: [group_session]}, severity: warn}\n", // R1
        "  - {table: services, relationships: {column: school_id, to: known}, severity: warn}\n", // R3 (S2 not known)
        "  - {table: services, range: {column: participants, min: 2, max: 20}, severity: warn}\n", // R1 (1), R3 (30)
        "  - {table: services, range: {column: service_date, max: '2025-03-05'}, severity: warn}\n", // R3
        "  - {table: services, row_count: {min: 4}, severity: warn}\n",                           // 3 rows
        "  - {table: services, row_count: {max: 3}, name: at_most_3}\n",                          // passes
    ));
    let output = sunward(dir.path(), &["run", "pipeline.yaml", "--out", "out", "--no-cache"]);
    ok(&output);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/manifest-extend.json")).unwrap()).unwrap();
    let outcome = |i: usize| {
        let c = &manifest["checks"][i];
        (c["status"].as_str().unwrap().to_string(), c["failing"].as_u64().unwrap())
    };
    let expected = [
        ("warned", 3),
        ("warned", 2),
        ("passed", 0),
        ("warned", 1),
        ("warned", 1),
        ("warned", 2),
        ("warned", 1),
        ("warned", 3),
        ("passed", 0),
    ];
    for (i, (status, failing)) in expected.iter().enumerate() {
        assert_eq!(outcome(i), (status.to_string(), *failing), "check {i}: {}", manifest["checks"][i]);
    }
    let examples = |i: usize| -> Vec<String> {
        manifest["checks"][i]["examples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["record_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(examples(1), ["R1", "R2"]);
    assert_eq!(examples(4), ["R3"]);
    // No example of any check carries the student reference.
    assert!(!manifest["checks"].to_string().contains("P0001"), "{}", manifest["checks"]);
}

/// `sunward test` takes a workflow as `run` and `validate` do: the tests
/// and checks of each of its pipelines, with the values the workflow gives.
#[test]
fn sunward_test_runs_the_tests_of_every_pipeline_of_a_workflow() {
    let output = sunward(&repo(), &["test", "pipelines/district.yaml"]);
    ok(&output);
    let (stdout, _) = text(&output);
    assert!(stdout.contains("== pipelines/metrics.yaml (1/4)"), "{stdout}");
    assert!(stdout.contains("ok   extended_hours"), "the access tests ran: {stdout}");
    assert!(stdout.contains("ok   closed_loop"), "the metrics tests ran: {stdout}");
    assert!(
        stdout.contains("== pipelines/government-summary.yaml (4/4)\n") && stdout.contains("ok   denominators"),
        "{stdout}"
    );
    assert!(stdout.contains("ok   funnel_inputs"), "the comparison's test ran: {stdout}");
    assert!(!stdout.contains(" 0 passed, 0 failed") && stdout.contains("passed, 0 failed"), "{stdout}");
}
