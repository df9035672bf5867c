//! `pipelines/metrics.yaml` on the hand-made fixture in
//! `tests/fixtures/metrics/`: every key of metrics.md checked against a value
//! worked out by hand from the fixture's rows (the working is in the comments),
//! plus the shape of the long table (one row per unit × period × key).
//!
//! The fixture: schools S1 (junior) and S2 (primary) of organisation O1 in
//! district D1, S3 (senior, no organisation) in district D2. Enrolment:
//! AY2023 S1 400, S2 600, S3 1000; AY2024 S1 500, S2 500, S3 1000. The run uses
//! baseline_year 2023 and current_year 2024.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

type Key = (String, String, String, String);

struct Metrics {
    rows: Vec<Key>,
    values: HashMap<Key, Option<f64>>,
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn run_pipeline(extra: &[&str]) -> (tempfile::TempDir, Metrics) {
    let out = tempfile::tempdir().expect("a temporary folder");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics");
    let mut command = Command::new(env!("CARGO_BIN_EXE_sunward"));
    command
        .arg("run")
        .arg(repo("pipelines/metrics.yaml"))
        .arg("--set")
        .arg(format!("data_dir={}", data.display()))
        .args(["--set", "baseline_year=2023", "--set", "current_year=2024"])
        .args(extra)
        .arg("--out")
        .arg(out.path());
    let output = command.output().expect("the binary runs");
    assert!(output.status.success(), "the metrics pipeline failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let metrics = read_metrics(&out.path().join("metrics.csv"));
    (out, metrics)
}

fn read_metrics(path: &Path) -> Metrics {
    let mut reader = csv::Reader::from_path(path).expect("metrics.csv exists");
    let headers = reader.headers().expect("a header").clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), ["unit_type", "unit_id", "period", "metric", "value"]);
    let mut rows = Vec::new();
    let mut values = HashMap::new();
    for record in reader.records() {
        let record = record.expect("a record");
        let key: Key = (record[0].to_string(), record[1].to_string(), record[2].to_string(), record[3].to_string());
        let value = if record[4].is_empty() {
            None
        } else {
            Some(record[4].parse::<f64>().unwrap_or_else(|_| panic!("a number in {record:?}")))
        };
        assert!(values.insert(key.clone(), value).is_none(), "a repeated row: {key:?}");
        rows.push(key);
    }
    Metrics { rows, values }
}

/// The run with the pipeline's default closed-loop days, shared by the tests.
fn metrics() -> &'static Metrics {
    static RUN: OnceLock<(tempfile::TempDir, Metrics)> = OnceLock::new();
    &RUN.get_or_init(|| run_pipeline(&[])).1
}

fn unit(spec: &str) -> (&str, &str) {
    match spec {
        "all" => ("all", "all"),
        s if s.starts_with('S') => ("school", s),
        s if s.starts_with('O') => ("org", s),
        s if s.starts_with('D') => ("district", s),
        other => panic!("unknown unit {other}"),
    }
}

impl Metrics {
    fn get(&self, unit_spec: &str, period: &str, metric: &str) -> Option<f64> {
        let (unit_type, unit_id) = unit(unit_spec);
        let key = (unit_type.to_string(), unit_id.to_string(), period.to_string(), metric.to_string());
        *self.values.get(&key).unwrap_or_else(|| panic!("no row for {key:?}"))
    }

    fn has(&self, unit_spec: &str, period: &str, metric: &str) -> bool {
        let (unit_type, unit_id) = unit(unit_spec);
        self.values.contains_key(&(unit_type.to_string(), unit_id.to_string(), period.to_string(), metric.to_string()))
    }
}

/// Compare with the relative tolerance of metrics.md (1e-6).
fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-6 * expected.abs().max(1e-12) || (actual - expected).abs() < 1e-12
}

#[track_caller]
fn check(m: &Metrics, unit_spec: &str, period: &str, metric: &str, expected: f64) {
    match m.get(unit_spec, period, metric) {
        Some(actual) => {
            assert!(close(actual, expected), "{metric} of {unit_spec} in {period}: expected {expected}, got {actual}")
        }
        None => panic!("{metric} of {unit_spec} in {period}: expected {expected}, got null"),
    }
}

#[track_caller]
fn check_null(m: &Metrics, unit_spec: &str, period: &str, metric: &str) {
    let actual = m.get(unit_spec, period, metric);
    assert!(actual.is_none(), "{metric} of {unit_spec} in {period}: expected null, got {actual:?}");
}

#[test]
fn the_table_has_a_row_for_every_unit_period_and_key() {
    let m = metrics();
    // Units: S1, S2, S3, O1, D1, D2, all = 7.
    // Periods present: calendar 2023, 2024, 2025; AY2023, AY2024, AY2025
    // (AY2025 from the group session of 2025-09-15); terms AY2023-1, AY2023-2,
    // AY2024-1, AY2024-2, AY2025-1 = 11.
    // Keys per unit: 48 defined for every period (16 single keys of metrics.md
    // + 6 supplementary ones: cases_referred, cases_reviewed.red,
    // cases_deescalated.red, case_sessions.red, screened_high_closed,
    // screened_high_intervened; + 13 event and 13 participant keys) × 11 =
    // 528; 3 keys for academic years and terms (class_coverage and its
    // supplementary classes_reached and classes) × (3 years + 5 terms) = 24;
    // 20 academic-year keys (screening_coverage, screened_classes, incidents,
    // the rate and its two bounds, 4 improvement rates, 4 outcome counts, and
    // the supplementary screened_students, enrolment and 4 improved.<domain>)
    // × 3 = 60; the 4 comparison keys in AY2024 only = 4.
    // 528 + 24 + 60 + 4 = 616 (before the supplementary keys: 516; they add
    // 6 × 11 + 2 × 8 + 6 × 3 = 100).
    assert_eq!(m.rows.len(), 7 * 616);
    let mut periods: Vec<&str> = m.rows.iter().map(|k| k.2.as_str()).collect();
    periods.sort();
    periods.dedup();
    assert_eq!(
        periods,
        [
            "2023", "2024", "2025", "AY2023", "AY2023-1", "AY2023-2", "AY2024", "AY2024-1", "AY2024-2", "AY2025",
            "AY2025-1"
        ]
    );
    // Coverage has no calendar-year value; the comparison lives only in the current year.
    assert!(!m.has("S1", "2025", "class_coverage"));
    assert!(m.has("S1", "AY2024-1", "class_coverage"));
    assert!(!m.has("S1", "AY2024-1", "screening_coverage"));
    assert!(m.has("S1", "AY2024", "incident_rate_ratio"));
    assert!(!m.has("S1", "AY2023", "incident_rate_ratio"));
    // The supplementary keys have the periods of their rates.
    assert!(m.has("S1", "2025", "cases_referred"));
    assert!(m.has("S1", "2025", "screened_high_intervened"));
    assert!(m.has("S1", "AY2024-1", "classes"));
    assert!(!m.has("S1", "2025", "classes_reached"));
    assert!(m.has("S1", "AY2024", "enrolment"));
    assert!(!m.has("S1", "AY2024-1", "enrolment"));
    assert!(!m.has("S1", "2024", "screened_students"));
    assert!(!m.has("S1", "AY2024-2", "improved.interpersonal"));
    // The first rows are those of `all`, as the ORDER BY says.
    assert_eq!(m.rows[0].0, "all");
}

#[test]
fn service_volume_and_reach() {
    let m = metrics();
    // Calendar 2025 at O1's schools S1 and S2: R03 case_session (S1), R04
    // case_session (S2), R05 immediate_support (S1, P3), R06 mailbox_reply (S2,
    // P3), R08 growth_class 38 (S1), R09 growth_class 35 (S2), R10
    // teacher_workshop 20 (S1).
    check(m, "O1", "2025", "events.case_session", 2.0);
    check(m, "O1", "2025", "participants.case_session", 2.0);
    check(m, "O1", "2025", "case_sessions", 2.0);
    check(m, "O1", "2025", "events.growth_class", 2.0);
    check(m, "O1", "2025", "participants.growth_class", 73.0); // 38 + 35
    check(m, "O1", "2025", "events.teacher_workshop", 1.0);
    check(m, "O1", "2025", "participants.teacher_workshop", 20.0);
    check(m, "O1", "2025", "events.immediate_support", 1.0);
    check(m, "O1", "2025", "events.mailbox_reply", 1.0);
    check(m, "O1", "2025", "events.consultation", 0.0); // a count over nothing is 0
    check(m, "O1", "2025", "participants.consultation", 0.0);
    // Student audience only: 1 + 1 + 1 + 1 + 38 + 35 = 77 (the teacher workshop is left out).
    check(m, "O1", "2025", "student_contacts", 77.0);
    // P1 (R03), P2 (R04), P3 (R05 at S1 and R06 at S2, once): 3, not 2 + 2.
    check(m, "O1", "2025", "students_individual", 3.0);
    check(m, "S1", "2025", "students_individual", 2.0); // P1, P3
    check(m, "S2", "2025", "students_individual", 2.0); // P2, P3
    // `all` adds S3's R11 consultation (P9, 1) and R12 group_session (8): 77 + 1 + 8 = 86.
    check(m, "all", "2025", "student_contacts", 86.0);
    check(m, "all", "2025", "students_individual", 4.0);
    check(m, "all", "2025", "events.group_session", 1.0);
    check(m, "all", "2025", "participants.group_session", 8.0);
    check(m, "D2", "2025", "events.consultation", 1.0);
    // AY2024 at S1 (2024-09-01..2025-08-31): R01, R02, R03 case_session; R05
    // immediate_support; R07 growth 40, R08 growth 38; R10 teacher 20.
    check(m, "S1", "AY2024", "events.case_session", 3.0);
    check(m, "S1", "AY2024", "participants.growth_class", 78.0);
    check(m, "S1", "AY2024", "student_contacts", 82.0); // 1 + 1 + 1 + 1 + 40 + 38
    // Term AY2024-1 (2024-09-01..2025-01-31) at S1: R01, R02, R07.
    check(m, "S1", "AY2024-1", "events.case_session", 2.0);
    check(m, "S1", "AY2024-1", "student_contacts", 42.0); // 1 + 1 + 40
    // AY2023 at S1: R13 of 2023-10-10.
    check(m, "S1", "AY2023", "case_sessions", 1.0);
    check(m, "S1", "AY2023-1", "case_sessions", 1.0);
    check(m, "S1", "AY2023-2", "case_sessions", 0.0);
}

#[test]
fn onsite_days_and_workers() {
    let m = metrics();
    // Attendance: S1 2024-09-10 (W1), S1 2024-09-12 (W1, W4), S2 2024-09-10
    // (W2), S2 2025-03-05 (W1), S3 2025-03-05 (W3).
    check(m, "S1", "AY2024", "onsite_days", 2.0); // two days, W1 twice on 09-12 with W4
    check(m, "S1", "AY2024", "workers", 2.0); // W1, W4
    check(m, "O1", "AY2024", "onsite_days", 4.0); // S1 ×2 + S2 ×2
    check(m, "O1", "AY2024", "workers", 3.0); // W1, W4, W2
    check(m, "all", "AY2024", "onsite_days", 5.0);
    check(m, "all", "AY2024", "workers", 4.0);
    check(m, "O1", "2025", "onsite_days", 1.0);
    check(m, "O1", "2025", "workers", 1.0);
    check(m, "O1", "2024", "onsite_days", 3.0);
    check(m, "O1", "2024", "workers", 3.0);
    // 2025-03-05 at S2 and at S3: one date, two (school, day) pairs.
    check(m, "all", "2025", "onsite_days", 2.0);
    check(m, "all", "2025", "workers", 2.0); // W1, W3
    check(m, "S3", "2024", "onsite_days", 0.0);
}

#[test]
fn cases_and_risk_tiers() {
    let m = metrics();
    // K1 S1 P1 2023-09-20..2025-03-31 red→orange; K2 S2 P2 2025-02-10.. red,
    // no review, referred; K3 S1 P4 2024-10-01..2024-12-20 orange→green; K4 S3
    // P9 2022-05-01..2023-06-30 green; K5 S1 P1 2025-04-01.. red→red, referred.
    // Calendar 2025 at O1: K1 (closed after 1 January), K2, K5 are active.
    check(m, "O1", "2025", "cases_active", 3.0);
    check(m, "O1", "2025", "cases_active.red", 3.0);
    check(m, "O1", "2025", "cases_active.orange", 0.0);
    check(m, "O1", "2025", "high_risk_students", 2.0); // P1 (K1, K5), P2
    // Case sessions of 2025 on active red cases: R03 (K1), R04 (K2) = 2, over 3 red cases.
    check(m, "O1", "2025", "sessions_per_high_risk_case", 2.0 / 3.0);
    // Red cases with a final tier: K1 (orange, stepped down), K5 (red): 1/2.
    check(m, "O1", "2025", "red_deescalation_rate", 0.5);
    check(m, "O1", "2025", "referral_rate", 2.0 / 3.0); // K2, K5 of 3
    // S1 in 2025: K1 and K5, one student.
    check(m, "S1", "2025", "cases_active", 2.0);
    check(m, "S1", "2025", "cases_active.red", 2.0);
    check(m, "S1", "2025", "high_risk_students", 1.0);
    check(m, "S1", "2025", "sessions_per_high_risk_case", 0.5); // R03 / 2
    check(m, "S1", "2025", "red_deescalation_rate", 0.5);
    check(m, "S1", "2025", "referral_rate", 0.5);
    // S2 in 2025: K2 alone, never reviewed.
    check(m, "S2", "2025", "cases_active", 1.0);
    check(m, "S2", "2025", "sessions_per_high_risk_case", 1.0); // R04 / 1
    check_null(m, "S2", "2025", "red_deescalation_rate");
    check(m, "S2", "2025", "referral_rate", 1.0);
    // S3 in 2025: no active case; counts 0, ratios undefined.
    check(m, "S3", "2025", "cases_active", 0.0);
    check(m, "S3", "2025", "high_risk_students", 0.0);
    check_null(m, "S3", "2025", "sessions_per_high_risk_case");
    check_null(m, "S3", "2025", "red_deescalation_rate");
    check_null(m, "S3", "2025", "referral_rate");
    // AY2024 at O1: K1, K2, K3, K5; sessions R01, R02, R03 (K1) and R04 (K2) over 3 red cases.
    check(m, "O1", "AY2024", "cases_active", 4.0);
    check(m, "O1", "AY2024", "cases_active.red", 3.0);
    check(m, "O1", "AY2024", "cases_active.orange", 1.0);
    check(m, "O1", "AY2024", "sessions_per_high_risk_case", 4.0 / 3.0);
    check(m, "O1", "AY2024", "referral_rate", 0.5);
    // Calendar 2023 for all: K1 (opened 2023-09-20) and K4 (closed 2023-06-30); R13 on K1.
    check(m, "all", "2023", "cases_active", 2.0);
    check(m, "all", "2023", "cases_active.red", 1.0);
    check(m, "all", "2023", "cases_active.green", 1.0);
    check(m, "all", "2023", "sessions_per_high_risk_case", 1.0);
    check(m, "S3", "2023", "referral_rate", 0.0); // K4, not referred: 0/1
}

#[test]
fn class_and_screening_coverage() {
    let m = metrics();
    // Classes of AY2024: S1-2024-7-1, S1-2024-7-2, S2-2024-3-1, S3-2024-10-1.
    // Growth classes: R07 S1-2024-7-1 (2024-11-20, term 1), R08 S1-2024-7-1
    // (2025-04-10, term 2), R09 S2-2024-3-1 (2025-02-20, term 2).
    check(m, "S1", "AY2024", "class_coverage", 0.5); // 1 of 2
    check(m, "S2", "AY2024", "class_coverage", 1.0);
    check(m, "S3", "AY2024", "class_coverage", 0.0); // a class, never reached
    check(m, "O1", "AY2024", "class_coverage", 2.0 / 3.0);
    check(m, "all", "AY2024", "class_coverage", 0.5); // 2 of 4
    check(m, "S1", "AY2024-1", "class_coverage", 0.5);
    check(m, "S2", "AY2024-1", "class_coverage", 0.0);
    check(m, "S1", "AY2024-2", "class_coverage", 0.5);
    check(m, "S2", "AY2024-2", "class_coverage", 1.0);
    check(m, "S1", "AY2023", "class_coverage", 0.0); // S1-2023-7-1, no growth class that year
    check_null(m, "S2", "AY2023", "class_coverage"); // no class of AY2023
    check_null(m, "S1", "AY2025", "class_coverage");
    // Screenings of AY2024: S1 P1, P4, P5; S2 P2, P3; S3 P9, P3.
    check(m, "S1", "AY2024", "screening_coverage", 0.006); // 3 / 500
    check(m, "S2", "AY2024", "screening_coverage", 0.004); // 2 / 500
    check(m, "S3", "AY2024", "screening_coverage", 0.002); // 2 / 1000
    check(m, "O1", "AY2024", "screening_coverage", 0.005); // 5 / 1000
    check(m, "all", "AY2024", "screening_coverage", 0.003); // P3 once: 6 / 2000
    check(m, "S1", "AY2023", "screening_coverage", 0.0025); // P1 / 400
    check(m, "S2", "AY2023", "screening_coverage", 0.0); // 0 / 600
    check(m, "O1", "AY2023", "screening_coverage", 0.001); // 1 / 1000
    check_null(m, "S1", "AY2025", "screening_coverage"); // no enrolment
    check(m, "S1", "AY2024", "screened_classes", 2.0);
    check(m, "all", "AY2024", "screened_classes", 4.0);
    check(m, "S2", "AY2023", "screened_classes", 0.0);
}

#[test]
fn screening_closed_loop() {
    let m = metrics();
    // High screenings: SC1 S1 09-20, second 5 days, intervention 11 days:
    // closed. SC2 S1 09-20, second 8 days (> 7), intervention 12: open. SC4
    // S2, no intervention: open. SC6 S3, 1 and 14 days (≤ 14): closed. SC7 S1
    // 2023-09-25, 1 and 5 days: closed.
    check(m, "S1", "AY2024", "screened_high", 2.0);
    check(m, "S1", "AY2024", "closed_loop_rate", 0.5);
    check(m, "S1", "AY2024", "median_days_to_intervention", 11.5); // (11 + 12) / 2
    check(m, "S2", "AY2024", "screened_high", 1.0);
    check(m, "S2", "AY2024", "closed_loop_rate", 0.0);
    check_null(m, "S2", "AY2024", "median_days_to_intervention");
    check(m, "S3", "AY2024", "closed_loop_rate", 1.0);
    check(m, "S3", "AY2024", "median_days_to_intervention", 14.0);
    check(m, "O1", "AY2024", "screened_high", 3.0);
    check(m, "O1", "AY2024", "closed_loop_rate", 1.0 / 3.0);
    check(m, "O1", "AY2024", "median_days_to_intervention", 11.5);
    check(m, "all", "AY2024", "screened_high", 4.0);
    check(m, "all", "AY2024", "closed_loop_rate", 0.5);
    check(m, "all", "AY2024", "median_days_to_intervention", 12.0); // 11, 12, 14
    check(m, "S1", "AY2023", "closed_loop_rate", 1.0);
    check(m, "S1", "AY2023", "median_days_to_intervention", 5.0);
    check(m, "O1", "2025", "screened_high", 0.0);
    check_null(m, "O1", "2025", "closed_loop_rate");
    check_null(m, "O1", "2025", "median_days_to_intervention");
}

#[test]
fn the_closed_loop_days_are_parameters() {
    // With 8 days allowed for the second assessment, SC2 (8 days, intervention
    // after 12) closes too: S1 in AY2024 has 2 of 2.
    let (_out, m) = run_pipeline(&["--set", "second_assessment_days=8"]);
    check(&m, "S1", "AY2024", "closed_loop_rate", 1.0);
    // And with 13 days for the intervention, SC6 (14 days) no longer closes.
    let (_out, m) = run_pipeline(&["--set", "intervention_days=13"]);
    check(&m, "S3", "AY2024", "closed_loop_rate", 0.0);
}

#[test]
fn extreme_incident_rates_and_intervals() {
    let m = metrics();
    // Extreme incidents: I1 S1 2023-11-01 self_harm (AY2023), I2 S3
    // 2024-03-01 violence (AY2023), I3 S3 2024-04-01 suicide_attempt (AY2023),
    // I5 S1 2024-10-10 self_harm (AY2024). I4 runaway and I6 other_crisis are
    // not in the extreme set.
    check(m, "S1", "AY2023", "incidents", 1.0);
    check(m, "S1", "AY2023", "incident_rate_per_1000", 2.5); // 1 / 400 × 1000
    // Garwood interval of a count of 1: the lower bound μ solves P(X ≥ 1) =
    // 0.025, i.e. 1 − e^−μ = 0.025, μ = −ln 0.975 = 0.0253178; the upper
    // solves P(X ≤ 1) = e^−μ (1 + μ) = 0.025, μ = 5.5716434 (by bisection).
    // Both / 400 × 1000.
    check(m, "S1", "AY2023", "incident_rate_ci_low", -(0.975f64.ln()) / 400.0 * 1000.0);
    check(m, "S1", "AY2023", "incident_rate_ci_high", 5.571_643_390_9 / 400.0 * 1000.0);
    check(m, "S2", "AY2023", "incidents", 0.0); // I4 is a runaway
    check(m, "S2", "AY2023", "incident_rate_per_1000", 0.0);
    check(m, "S2", "AY2023", "incident_rate_ci_low", 0.0);
    // Count 0: the upper bound solves e^−μ = 0.025, μ = −ln 0.025 = 3.688879.
    check(m, "S2", "AY2023", "incident_rate_ci_high", -(0.025f64.ln()) / 600.0 * 1000.0);
    check(m, "S3", "AY2023", "incident_rate_per_1000", 2.0); // 2 / 1000
    check(m, "O1", "AY2023", "incident_rate_per_1000", 1.0); // 1 / 1000
    check(m, "all", "AY2023", "incident_rate_per_1000", 1.5); // 3 / 2000
    check(m, "S1", "AY2024", "incident_rate_per_1000", 2.0); // 1 / 500
    check(m, "all", "AY2024", "incident_rate_per_1000", 0.5); // 1 / 2000
    check(m, "S3", "AY2024", "incidents", 0.0); // I6 is other_crisis
    check(m, "S1", "AY2025", "incidents", 0.0);
    check_null(m, "S1", "AY2025", "incident_rate_per_1000"); // no enrolment
}

#[test]
fn incident_rate_comparison_against_the_baseline() {
    let m = metrics();
    let z: f64 = 1.959964;
    // S1: 2.0 against 2.5, one incident in each year.
    check(m, "S1", "AY2024", "incident_rate_ratio", 0.8);
    check(m, "S1", "AY2024", "incident_rate_change", -0.2);
    check(m, "S1", "AY2024", "incident_rate_ratio_ci_low", (0.8f64.ln() - z * 2f64.sqrt()).exp());
    check(m, "S1", "AY2024", "incident_rate_ratio_ci_high", (0.8f64.ln() + z * 2f64.sqrt()).exp());
    // S2: the baseline rate is 0, so nothing is defined.
    check_null(m, "S2", "AY2024", "incident_rate_ratio");
    check_null(m, "S2", "AY2024", "incident_rate_change");
    check_null(m, "S2", "AY2024", "incident_rate_ratio_ci_low");
    // S3: 0 against 2.0; the ratio is 0, the change −100%, the interval undefined (count 0).
    check(m, "S3", "AY2024", "incident_rate_ratio", 0.0);
    check(m, "S3", "AY2024", "incident_rate_change", -1.0);
    check_null(m, "S3", "AY2024", "incident_rate_ratio_ci_low");
    check_null(m, "S3", "AY2024", "incident_rate_ratio_ci_high");
    // all: 0.5 against 1.5 (counts 1 and 3).
    let ratio = 1.0 / 3.0;
    check(m, "all", "AY2024", "incident_rate_ratio", ratio);
    check(m, "all", "AY2024", "incident_rate_change", -2.0 / 3.0);
    let se = (1.0f64 + 1.0 / 3.0).sqrt();
    check(m, "all", "AY2024", "incident_rate_ratio_ci_low", (ratio.ln() - z * se).exp());
    check(m, "all", "AY2024", "incident_rate_ratio_ci_high", (ratio.ln() + z * se).exp());
    // O1: 1 / 1000 in both years.
    check(m, "O1", "AY2024", "incident_rate_ratio", 1.0);
    check(m, "O1", "AY2024", "incident_rate_change", 0.0);
}

#[test]
fn outcome_improvement() {
    let m = metrics();
    // AY2024 interpersonal: P1 at S1 10 → 12 (improved), P4 at S1 11 → 11
    // (a tie), P2 at S2 9 → 8. Resilience: P2 at S2 5 → 7.
    check(m, "S1", "AY2024", "improvement_rate.interpersonal", 0.5);
    check(m, "S1", "AY2024", "outcome_n.interpersonal", 2.0);
    check(m, "S2", "AY2024", "improvement_rate.interpersonal", 0.0);
    check(m, "O1", "AY2024", "improvement_rate.interpersonal", 1.0 / 3.0);
    check(m, "O1", "AY2024", "outcome_n.interpersonal", 3.0);
    check(m, "S2", "AY2024", "improvement_rate.resilience", 1.0);
    check_null(m, "S1", "AY2024", "improvement_rate.resilience");
    check(m, "S1", "AY2024", "outcome_n.resilience", 0.0);
    check_null(m, "all", "AY2023", "improvement_rate.self_esteem");
}

#[test]
fn supplementary_keys_are_the_rates_numerators_and_denominators() {
    let m = metrics();

    // Cases (see cases_and_risk_tiers): K1 S1 red→orange 2023-09-20..2025-03-31;
    // K2 S2 red, no final tier, referred, 2025-02-10..; K3 S1 orange→green
    // 2024-10-01..2024-12-20; K4 S3 green 2022-05-01..2023-06-30; K5 S1
    // red→red, referred, 2025-04-01... Case sessions: R13 2023-10-10, R01
    // 2024-09-10, R02 2024-10-15, R03 2025-03-04 (all K1, S1); R04 2025-03-05
    // (K2, S2); none on K5.
    //
    // Calendar 2025 at S1: K1 and K5 active, both red, both with a final tier
    // (orange, red); K1 stepped down; K5 referred; R03 is the one session.
    check(m, "S1", "2025", "cases_referred", 1.0);
    check(m, "S1", "2025", "cases_reviewed.red", 2.0);
    check(m, "S1", "2025", "cases_deescalated.red", 1.0);
    check(m, "S1", "2025", "case_sessions.red", 1.0);
    // S2 in 2025: K2, red and referred, never reviewed; R04.
    check(m, "S2", "2025", "cases_referred", 1.0);
    check(m, "S2", "2025", "cases_reviewed.red", 0.0);
    check(m, "S2", "2025", "cases_deescalated.red", 0.0);
    check(m, "S2", "2025", "case_sessions.red", 1.0);
    // O1 (and D1, and all, since S3 has no case in 2025): K1, K2, K5 active;
    // referred K2, K5 = 2 of 3; reviewed K1, K5 = 2, stepped down K1 = 1;
    // sessions R03 + R04 = 2 over 3 red cases.
    check(m, "O1", "2025", "cases_referred", 2.0);
    check(m, "O1", "2025", "cases_reviewed.red", 2.0);
    check(m, "O1", "2025", "cases_deescalated.red", 1.0);
    check(m, "O1", "2025", "case_sessions.red", 2.0);
    check(m, "D1", "2025", "cases_referred", 2.0);
    check(m, "all", "2025", "case_sessions.red", 2.0);
    // S3 in 2025: no active case, all counts 0 (not null).
    check(m, "S3", "2025", "cases_referred", 0.0);
    check(m, "D2", "2025", "case_sessions.red", 0.0);
    // Calendar 2024 at S1: K1 (red, reviewed, stepped down) and K3 (orange);
    // nobody referred; K1's sessions of 2024 are R01 and R02: 2 over 1 red case.
    check(m, "S1", "2024", "cases_referred", 0.0);
    check(m, "S1", "2024", "cases_reviewed.red", 1.0);
    check(m, "S1", "2024", "cases_deescalated.red", 1.0);
    check(m, "S1", "2024", "case_sessions.red", 2.0);
    check(m, "S1", "2024", "sessions_per_high_risk_case", 2.0);
    // AY2024 (2024-09-01..2025-08-31) at S1: K1, K3, K5; K5 referred; K1 and
    // K5 reviewed, K1 stepped down; R01, R02, R03 on K1 = 3 over 2 red cases.
    check(m, "S1", "AY2024", "cases_referred", 1.0);
    check(m, "S1", "AY2024", "cases_reviewed.red", 2.0);
    check(m, "S1", "AY2024", "cases_deescalated.red", 1.0);
    check(m, "S1", "AY2024", "case_sessions.red", 3.0);
    check(m, "S1", "AY2024", "sessions_per_high_risk_case", 1.5);
    // AY2024 at O1: adds K2 (referred, not reviewed) and R04: referred 2 of 4
    // active; sessions 4 over 3 red cases.
    check(m, "O1", "AY2024", "cases_referred", 2.0);
    check(m, "O1", "AY2024", "cases_reviewed.red", 2.0);
    check(m, "O1", "AY2024", "case_sessions.red", 4.0);
    // Term AY2024-1 (2024-09-01..2025-01-31) at O1: K1 and K3 only (K2 opens
    // 2025-02-10); R01 and R02. Term AY2024-2 (2025-02-01..): K1, K2, K5; R03, R04.
    check(m, "O1", "AY2024-1", "case_sessions.red", 2.0);
    check(m, "O1", "AY2024-1", "cases_referred", 0.0);
    check(m, "O1", "AY2024-2", "case_sessions.red", 2.0);
    check(m, "O1", "AY2024-2", "cases_referred", 2.0);
    check(m, "O1", "AY2024-2", "cases_reviewed.red", 2.0);
    // Calendar 2023 for all: K1 (red, reviewed, stepped down; R13) and K4
    // (green, not referred). D2 in 2023: K4 alone, no red case.
    check(m, "all", "2023", "cases_referred", 0.0);
    check(m, "all", "2023", "cases_reviewed.red", 1.0);
    check(m, "all", "2023", "cases_deescalated.red", 1.0);
    check(m, "all", "2023", "case_sessions.red", 1.0);
    check(m, "D2", "2023", "cases_reviewed.red", 0.0);
    check_null(m, "D2", "2023", "red_deescalation_rate");
    // AY2025 (from 2025-09-01) for all: K2 and K5 still open, both red and
    // referred; only K5 has a final tier (red, not stepped down); no session.
    check(m, "all", "AY2025", "cases_referred", 2.0);
    check(m, "all", "AY2025", "cases_reviewed.red", 1.0);
    check(m, "all", "AY2025", "cases_deescalated.red", 0.0);
    check(m, "all", "AY2025", "case_sessions.red", 0.0);
    check(m, "all", "AY2025", "red_deescalation_rate", 0.0);
    check(m, "all", "AY2025", "sessions_per_high_risk_case", 0.0);

    // High screenings (see screening_closed_loop): SC1 S1 closed, intervened;
    // SC2 S1 open, intervened (12 days); SC4 S2 open, no intervention; SC6 S3
    // closed, intervened; all dated September 2024. SC7 S1 2023-09-25 closed.
    check(m, "S1", "AY2024", "screened_high_closed", 1.0);
    check(m, "S1", "AY2024", "screened_high_intervened", 2.0); // the median of 11 and 12
    check(m, "S2", "AY2024", "screened_high_closed", 0.0);
    check(m, "S2", "AY2024", "screened_high_intervened", 0.0); // hence no median
    check(m, "O1", "AY2024", "screened_high_closed", 1.0); // of 3
    check(m, "O1", "AY2024", "screened_high_intervened", 2.0);
    check(m, "D2", "AY2024", "screened_high_closed", 1.0);
    check(m, "D2", "AY2024", "screened_high_intervened", 1.0);
    check(m, "all", "AY2024", "screened_high_closed", 2.0); // SC1, SC6 of 4
    check(m, "all", "AY2024", "screened_high_intervened", 3.0); // 11, 12, 14
    check(m, "all", "2024", "screened_high_closed", 2.0); // the same four screenings
    check(m, "all", "AY2024-1", "screened_high_intervened", 3.0);
    check(m, "all", "AY2024-2", "screened_high_closed", 0.0);
    check(m, "S1", "AY2023", "screened_high_closed", 1.0); // SC7
    check(m, "all", "2023", "screened_high_intervened", 1.0);
    check(m, "O1", "2025", "screened_high_intervened", 0.0);

    // Outcomes of AY2024: interpersonal P1 S1 10 → 12 (improved), P4 S1 11 →
    // 11 (tie), P2 S2 9 → 8; resilience P2 S2 5 → 7 (improved).
    check(m, "S1", "AY2024", "improved.interpersonal", 1.0); // of 2
    check(m, "S2", "AY2024", "improved.interpersonal", 0.0); // of 1
    check(m, "S2", "AY2024", "improved.resilience", 1.0); // of 1
    check(m, "S1", "AY2024", "improved.resilience", 0.0); // of 0: rate null
    check(m, "O1", "AY2024", "improved.interpersonal", 1.0); // of 3
    check(m, "all", "AY2024", "improved.interpersonal", 1.0);
    check(m, "all", "AY2024", "improved.resilience", 1.0);
    check(m, "all", "AY2024", "improved.self_esteem", 0.0);
    check(m, "all", "AY2023", "improved.interpersonal", 0.0);

    // Screened students (distinct student_ref by the screenings'
    // academic_year): AY2024 S1 P1, P4, P5; S2 P2, P3; S3 P9, P3; AY2023 S1 P1.
    // Enrolment: AY2023 400, 600, 1000; AY2024 500, 500, 1000; none in AY2025.
    check(m, "S1", "AY2024", "screened_students", 3.0);
    check(m, "S1", "AY2024", "enrolment", 500.0);
    check(m, "S3", "AY2024", "screened_students", 2.0);
    check(m, "O1", "AY2024", "screened_students", 5.0); // P1, P4, P5, P2, P3
    check(m, "O1", "AY2024", "enrolment", 1000.0);
    check(m, "D2", "AY2024", "screened_students", 2.0);
    check(m, "D2", "AY2024", "enrolment", 1000.0);
    check(m, "all", "AY2024", "screened_students", 6.0); // P3 at S2 and S3 counts once
    check(m, "all", "AY2024", "enrolment", 2000.0);
    check(m, "S1", "AY2023", "screened_students", 1.0);
    check(m, "S1", "AY2023", "enrolment", 400.0);
    check(m, "S2", "AY2023", "screened_students", 0.0);
    check(m, "S2", "AY2023", "enrolment", 600.0);
    check(m, "D1", "AY2023", "enrolment", 1000.0);
    check(m, "all", "AY2023", "enrolment", 2000.0);
    check(m, "all", "AY2025", "enrolment", 0.0); // no enrolment row: 0, and the rates are null
    check(m, "all", "AY2025", "screened_students", 0.0);
    check_null(m, "all", "AY2025", "screening_coverage");
    // The incident rate divides by the same enrolment: all AY2023, 3 / 2000 × 1000.
    check(m, "all", "AY2023", "incidents", 3.0);

    // Classes (see class_and_screening_coverage): AY2024 S1 2, S2 1, S3 1;
    // AY2023 S1 1. Reached: S1-2024-7-1 in term 1 (R07) and term 2 (R08);
    // S2-2024-3-1 in term 2 (R09).
    check(m, "S1", "AY2024", "classes", 2.0);
    check(m, "S1", "AY2024", "classes_reached", 1.0);
    check(m, "S2", "AY2024-1", "classes", 1.0);
    check(m, "S2", "AY2024-1", "classes_reached", 0.0);
    check(m, "S2", "AY2024-2", "classes_reached", 1.0);
    check(m, "O1", "AY2024", "classes", 3.0);
    check(m, "O1", "AY2024", "classes_reached", 2.0);
    check(m, "all", "AY2024", "classes", 4.0);
    check(m, "all", "AY2024", "classes_reached", 2.0);
    check(m, "all", "AY2024-1", "classes_reached", 1.0); // S1-2024-7-1 only
    check(m, "all", "AY2024-2", "classes_reached", 2.0);
    check(m, "D2", "AY2024", "classes", 1.0);
    check(m, "D2", "AY2024", "classes_reached", 0.0);
    check(m, "S1", "AY2023-2", "classes", 1.0); // the class of the year, in each term
    check(m, "S1", "AY2023", "classes_reached", 0.0);
    check(m, "S2", "AY2023", "classes", 0.0); // no class: class_coverage is null
    check(m, "all", "AY2025", "classes", 0.0);

    // Over the whole table, every unit and period: where a rate has a value,
    // it is its numerator over its denominator (× 1000 for the incident
    // rate); where it is null, its denominator is 0. Each key of a pair is
    // present wherever the rate is.
    let domains = ["interpersonal", "emotion_regulation", "resilience", "self_esteem"];
    let mut pairs: Vec<(String, String, String, f64)> = [
        ("referral_rate", "cases_referred", "cases_active", 1.0),
        ("red_deescalation_rate", "cases_deescalated.red", "cases_reviewed.red", 1.0),
        ("sessions_per_high_risk_case", "case_sessions.red", "cases_active.red", 1.0),
        ("closed_loop_rate", "screened_high_closed", "screened_high", 1.0),
        ("screening_coverage", "screened_students", "enrolment", 1.0),
        ("class_coverage", "classes_reached", "classes", 1.0),
        ("incident_rate_per_1000", "incidents", "enrolment", 1000.0),
    ]
    .iter()
    .map(|&(r, n, d, scale)| (r.to_string(), n.to_string(), d.to_string(), scale))
    .collect();
    for d in domains {
        pairs.push((format!("improvement_rate.{d}"), format!("improved.{d}"), format!("outcome_n.{d}"), 1.0));
    }
    let value = |k: &Key, metric: &str| -> f64 {
        let key = (k.0.clone(), k.1.clone(), k.2.clone(), metric.to_string());
        match m.values.get(&key) {
            Some(Some(v)) => *v,
            Some(None) => panic!("{key:?} is a count, but null"),
            None => panic!("no row for {key:?}"),
        }
    };
    let mut defined: HashMap<&str, usize> = HashMap::new();
    let mut rows_of: HashMap<&str, usize> = HashMap::new();
    for k in &m.rows {
        *rows_of.entry(k.3.as_str()).or_default() += 1;
        for (rate, num, den, scale) in &pairs {
            if k.3 != *rate {
                continue;
            }
            let (n, d) = (value(k, num), value(k, den));
            assert!(n >= 0.0 && n.fract() == 0.0 && d >= 0.0 && d.fract() == 0.0, "{k:?}: {num} {n}, {den} {d}");
            match m.values[k] {
                Some(r) => {
                    assert!(d > 0.0, "{k:?} is {r} over {den} 0");
                    let expected = scale * n / d;
                    assert!(
                        (r - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                        "{k:?}: {r}, but {num} / {den} = {n} / {d}"
                    );
                    *defined.entry(rate.as_str()).or_default() += 1;
                }
                None => assert_eq!(d, 0.0, "{k:?} is null, but {den} is {d}"),
            }
        }
        // The median of days to intervention is over the intervened high
        // screenings, of which the closed ones are a part.
        if k.3 == "median_days_to_intervention" {
            let (intervened, closed, high) =
                (value(k, "screened_high_intervened"), value(k, "screened_high_closed"), value(k, "screened_high"));
            assert!(closed <= intervened && intervened <= high, "{k:?}: {closed} closed, {intervened}, {high}");
            assert_eq!(m.values[k].is_some(), intervened > 0.0, "{k:?} against {intervened} intervened");
            if m.values[k].is_some() {
                *defined.entry("median_days_to_intervention").or_default() += 1;
            }
        }
        if k.3 == "red_deescalation_rate" {
            assert!(value(k, "cases_reviewed.red") <= value(k, "cases_active.red"), "{k:?}");
        }
    }
    // The numerators and denominators have exactly the rows of their rates
    // (enrolment and incidents also serve screening coverage, which has the
    // same academic-year rows).
    for (rate, num, den, _) in &pairs {
        assert_eq!(rows_of[num.as_str()], rows_of[rate.as_str()], "{num} against {rate}");
        assert_eq!(rows_of[den.as_str()], rows_of[rate.as_str()], "{den} against {rate}");
    }
    assert_eq!(rows_of["screened_high_intervened"], rows_of["median_days_to_intervention"]);
    // The check is not empty: every rate with data in the fixture has values.
    for rate in [
        "referral_rate",
        "red_deescalation_rate",
        "sessions_per_high_risk_case",
        "closed_loop_rate",
        "screening_coverage",
        "class_coverage",
        "incident_rate_per_1000",
        "improvement_rate.interpersonal",
        "improvement_rate.resilience",
        "median_days_to_intervention",
    ] {
        assert!(defined.get(rate).copied().unwrap_or(0) > 0, "no value of {rate} was checked");
    }
}

#[test]
fn the_parquet_output_holds_the_same_rows() {
    use sunward_core::datafusion::arrow::array::{Array, AsArray};
    use sunward_core::datafusion::arrow::compute::cast;
    use sunward_core::datafusion::arrow::datatypes::{DataType, Float64Type};
    use sunward_core::datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let csv = metrics();
    let (out, _) = run_pipeline(&[]);
    let file = std::fs::File::open(out.path().join("metrics.parquet")).expect("metrics.parquet exists");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).expect("a Parquet file").build().expect("a reader");
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.expect("a batch");
        // Read the text columns as Utf8 whatever string layout the file uses.
        let text = |i: usize| cast(batch.column(i), &DataType::Utf8).expect("text").as_string::<i32>().clone();
        let (unit_type, unit_id, period, metric) = (text(0), text(1), text(2), text(3));
        let value = batch.column(4).as_primitive::<Float64Type>();
        for r in 0..batch.num_rows() {
            let key: Key = (
                unit_type.value(r).to_string(),
                unit_id.value(r).to_string(),
                period.value(r).to_string(),
                metric.value(r).to_string(),
            );
            let v = (!value.is_null(r)).then(|| value.value(r));
            let expected = csv.values[&key];
            assert!(
                match (v, expected) {
                    (Some(a), Some(b)) => close(a, b),
                    (None, None) => true,
                    _ => false,
                },
                "{key:?}: Parquet {v:?}, CSV {expected:?}"
            );
            rows.push(key);
        }
    }
    assert_eq!(rows, csv.rows, "the same rows in the same order");
}

#[test]
fn the_extreme_set_is_a_parameter() {
    // Counting only runaways and other crises: I4 (S2, 2024-05-01, AY2023) and
    // I6 (S3, 2025-01-15, AY2024); the self-harm and violence rows drop out.
    let (_out, m) = run_pipeline(&["--set", "extreme_categories=[runaway, other_crisis]"]);
    check(&m, "S2", "AY2023", "incidents", 1.0);
    check(&m, "S2", "AY2023", "incident_rate_per_1000", 1.0 / 600.0 * 1000.0);
    check(&m, "S3", "AY2024", "incidents", 1.0);
    check(&m, "S1", "AY2023", "incidents", 0.0);
    check(&m, "all", "AY2023", "incidents", 1.0);
}
