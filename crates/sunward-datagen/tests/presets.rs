//! The presets' fixed facts and the field's behaviour, checked on the CSV
//! files the generator writes — read back with the csv crate and counted by
//! hand per the definitions of metrics.md, never through generator internals.

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use sunward_datagen::{CustomOptions, Format, Options, Preset, Silent};

type Row = BTreeMap<String, String>;

fn generate(preset: Preset, seed: u64, exports: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let options = Options {
        preset,
        seed,
        format: Format::Csv,
        out: dir.path().join("data"),
        exports: exports.then(|| dir.path().join("exports")),
        force: false,
    };
    sunward_datagen::generate(&options, &Silent).expect("generation succeeds");
    dir
}

fn read(path: &Path) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().expect("a header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("a record");
            headers.iter().zip(r.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()
        })
        .collect()
}

fn table(dir: &tempfile::TempDir, name: &str) -> Vec<Row> {
    read(&dir.path().join("data").join(format!("{name}.csv")))
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|_| panic!("an ISO date: {text:?}"))
}

fn academic_year(d: NaiveDate) -> i32 {
    if d.month() >= 9 { d.year() } else { d.year() - 1 }
}

fn int(row: &Row, column: &str) -> i64 {
    row[column].parse().unwrap_or_else(|_| panic!("an integer in {column}: {row:?}"))
}

/// Events and Σ participants per service type.
type Volume = BTreeMap<String, (i64, i64)>;
/// Distinct students per service type.
type Reached = BTreeMap<String, BTreeSet<String>>;

/// Volume and students reached per service type in calendar 2025.
fn services_2025(services: &[Row]) -> (Volume, Reached) {
    let mut volume = Volume::new();
    let mut students = Reached::new();
    for r in services.iter().filter(|r| date(&r["service_date"]).year() == 2025) {
        let entry = volume.entry(r["service_type"].clone()).or_default();
        entry.0 += 1;
        entry.1 += int(r, "participants");
        if !r["student_ref"].is_empty() {
            students.entry(r["service_type"].clone()).or_default().insert(r["student_ref"].clone());
        }
    }
    (volume, students)
}

#[test]
fn project_2025_figures_are_exact() {
    for seed in [1, 7, 2026] {
        let dir = generate(Preset::Project, seed, false);
        let schools = table(&dir, "schools");
        assert_eq!(schools.len(), 2);
        let org = &schools[0]["org_id"];
        assert!(schools.iter().all(|s| &s["org_id"] == org), "one organisation serves both schools");
        let stages: BTreeSet<&str> = schools.iter().map(|s| s["stage"].as_str()).collect();
        assert_eq!(stages, BTreeSet::from(["junior", "primary"]));

        let (volume, students) = services_2025(&table(&dir, "services"));
        let expected: BTreeMap<String, (i64, i64)> = [
            ("case_session", 134, 134),
            ("immediate_support", 86, 86),
            ("mailbox_reply", 211, 211),
            ("group_session", 34, 351),
            ("growth_class", 23, 2913),
            ("committee_training", 3, 36),
            ("teacher_workshop", 4, 81),
            ("parent_workshop", 2, 426),
        ]
        .into_iter()
        .map(|(t, e, p)| (t.to_string(), (e, p)))
        .collect();
        assert_eq!(volume, expected, "seed {seed}: no other service type in 2025, exact events and participants");
        assert_eq!(students["immediate_support"].len(), 86, "86 distinct students");

        // High-risk students: red cases active in 2025.
        let cases = table(&dir, "cases");
        let (start, end) = (date("2025-01-01"), date("2025-12-31"));
        let high_risk: BTreeSet<&str> = cases
            .iter()
            .filter(|c| c["initial_tier"] == "red")
            .filter(|c| date(&c["opened_on"]) <= end && (c["closed_on"].is_empty() || date(&c["closed_on"]) >= start))
            .map(|c| c["student_ref"].as_str())
            .collect();
        assert_eq!(high_risk.len(), 10, "seed {seed}");

        let onsite: BTreeSet<(String, String)> = table(&dir, "attendance")
            .into_iter()
            .filter(|a| date(&a["on_date"]).year() == 2025)
            .map(|a| (a["school_id"].clone(), a["on_date"].clone()))
            .collect();
        assert_eq!(onsite.len(), 101, "seed {seed}");

        // Data from 2024-09-01 to 2025-12-31; enrolment and classes for AY2024 and AY2025.
        let years: BTreeSet<i64> = table(&dir, "enrolment").iter().map(|e| int(e, "academic_year")).collect();
        assert_eq!(years, BTreeSet::from([2024, 2025]));
        for r in table(&dir, "services") {
            let d = date(&r["service_date"]);
            assert!(d >= date("2024-09-01") && d <= end, "{r:?}");
        }
    }
}

/// Σ enrolled students per academic year.
fn enrolled(dir: &tempfile::TempDir) -> BTreeMap<i32, i64> {
    let mut out = BTreeMap::new();
    for e in table(dir, "enrolment") {
        *out.entry(int(&e, "academic_year") as i32).or_default() += int(&e, "students");
    }
    out
}

#[test]
fn taicang_rates_sizes_and_consultations() {
    let dir = generate(Preset::Taicang, 1, false);
    let schools = table(&dir, "schools");
    assert_eq!(schools.len(), 20);
    assert!(schools.iter().all(|s| s["stage"] == "junior" || s["stage"] == "senior"));
    assert!(schools.iter().all(|s| s["district_name"] == "太仓市" && s["city"] == "苏州市"));
    let students = enrolled(&dir);
    assert_eq!(students.keys().copied().collect::<Vec<_>>(), [2022, 2023, 2024]);
    for (ay, n) in &students {
        assert!((29_500..=32_500).contains(n), "AY{ay}: {n} students");
    }
    // Small schools beside big ones.
    let sizes: Vec<i64> =
        table(&dir, "enrolment").iter().filter(|e| e["academic_year"] == "2024").map(|e| int(e, "students")).collect();
    assert!(sizes.iter().min().unwrap() < &600 && sizes.iter().max().unwrap() > &2_500, "{sizes:?}");

    let extreme = ["self_harm", "suicide_attempt", "suicide_death", "violence"];
    let mut incidents: BTreeMap<i32, i64> = BTreeMap::new();
    let mut others = 0;
    for i in table(&dir, "incidents") {
        if extreme.contains(&i["category"].as_str()) {
            *incidents.entry(academic_year(date(&i["occurred_on"]))).or_default() += 1;
        } else {
            others += 1;
        }
    }
    assert!(others > 0, "some runaway/other_crisis incidents that are not counted");
    let rate = |ay: i32| incidents[&ay] as f64 / students[&ay] as f64 * 1000.0;
    assert!((5.2..=5.4).contains(&rate(2022)), "AY2022 rate {}", rate(2022));
    assert!((2.7..=2.9).contains(&rate(2024)), "AY2024 rate {}", rate(2024));
    assert!(rate(2023) < rate(2022) && rate(2024) < rate(2023));

    let mut consultations: BTreeMap<i32, i64> = BTreeMap::new();
    for s in table(&dir, "services").iter().filter(|s| s["service_type"] == "consultation") {
        *consultations.entry(academic_year(date(&s["service_date"]))).or_default() += 1;
    }
    for ay in [2022, 2023, 2024] {
        assert!((3_500..=4_300).contains(&consultations[&ay]), "AY{ay}: {} consultations", consultations[&ay]);
    }

    // Nearly every student screened each September.
    let mut screened: BTreeMap<i32, BTreeSet<String>> = BTreeMap::new();
    for s in table(&dir, "screenings") {
        assert_eq!(date(&s["screened_on"]).month(), 9, "{s:?}");
        screened.entry(int(&s, "academic_year") as i32).or_default().insert(s["student_ref"].clone());
    }
    for (ay, refs) in &screened {
        let coverage = refs.len() as f64 / students[ay] as f64;
        assert!(coverage > 0.95 && coverage <= 1.0, "AY{ay}: coverage {coverage}");
    }
}

/// Share of high screenings with a second assessment within 7 days and an intervention within 14.
fn closed_loop_rate(screenings: &[Row]) -> f64 {
    let high: Vec<&Row> = screenings.iter().filter(|s| s["level"] == "high").collect();
    let closed = high
        .iter()
        .filter(|s| {
            let screened = date(&s["screened_on"]);
            let within =
                |column: &str, days: i64| !s[column].is_empty() && (date(&s[column]) - screened).num_days() <= days;
            within("second_assessed_on", 7) && within("intervention_on", 14)
        })
        .count();
    closed as f64 / high.len() as f64
}

#[test]
fn qingpu_closes_the_loop_within_a_week() {
    let dir = generate(Preset::Qingpu, 1, false);
    let schools = table(&dir, "schools");
    assert!((10..=12).contains(&schools.len()));
    assert!(schools.iter().all(|s| s["district_name"] == "青浦区" && s["city"] == "上海市"));
    assert!(schools.iter().any(|s| s["org_id"].is_empty()), "some schools have no organisation");
    assert_eq!(enrolled(&dir).keys().copied().collect::<Vec<_>>(), [2023, 2024]);
    let screenings = table(&dir, "screenings");
    let rate = closed_loop_rate(&screenings);
    assert!((0.8..=0.9).contains(&rate), "closed-loop rate {rate}");
    let high = screenings.iter().filter(|s| s["level"] == "high").count() as f64 / screenings.len() as f64;
    let key = screenings.iter().filter(|s| s["level"] == "key").count() as f64 / screenings.len() as f64;
    assert!((0.01..=0.02).contains(&high), "high share {high}");
    assert!((0.02..=0.05).contains(&key), "key share {key}");
    // Some high screenings are late or never followed up.
    assert!(screenings.iter().any(|s| s["level"] == "high" && s["intervention_on"].is_empty()));
}

fn in_break(d: NaiveDate) -> bool {
    let (m, day) = (d.month(), d.day());
    (m == 1 && day >= 20) || (m == 2 && day <= 15) || (m == 7 && day >= 10) || m == 8
}

#[test]
fn rows_behave_like_the_field() {
    let dir = generate(Preset::Taicang, 3, false);
    let hex = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));

    // On-site days: weekdays in term only, none in the breaks.
    let attendance = table(&dir, "attendance");
    assert!(!attendance.is_empty());
    for a in &attendance {
        let d = date(&a["on_date"]);
        assert!(!matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !in_break(d), "{a:?}");
    }
    // Services sparse in the breaks.
    let services = table(&dir, "services");
    let breaks = services.iter().filter(|s| in_break(date(&s["service_date"]))).count();
    assert!((breaks as f64) < services.len() as f64 * 0.05, "{breaks} of {} in breaks", services.len());

    // Growth classes name a class of the same academic year and school, with a topic.
    let classes: BTreeMap<String, (String, i64)> = table(&dir, "classes")
        .into_iter()
        .map(|c| (c["class_id"].clone(), (c["school_id"].clone(), int(&c, "academic_year"))))
        .collect();
    let mut topics = BTreeSet::new();
    for s in services.iter().filter(|s| s["service_type"] == "growth_class") {
        let (school, ay) = &classes[&s["class_id"]];
        assert_eq!((school, *ay), (&s["school_id"], i64::from(academic_year(date(&s["service_date"])))));
        topics.insert(s["topic"].clone());
    }
    assert!(topics.contains("生命教育") && topics.contains("校园欺凌防范"), "{topics:?}");

    // Case sessions carry their case and its student; red cases get 10 to 35 sessions.
    let cases: BTreeMap<String, Row> = table(&dir, "cases").into_iter().map(|c| (c["case_id"].clone(), c)).collect();
    let mut sessions: BTreeMap<String, usize> = BTreeMap::new();
    for s in services.iter().filter(|s| s["service_type"] == "case_session") {
        let case = &cases[&s["case_id"]];
        assert_eq!(s["student_ref"], case["student_ref"]);
        let d = date(&s["service_date"]);
        assert!(d >= date(&case["opened_on"]));
        if !case["closed_on"].is_empty() {
            assert!(d <= date(&case["closed_on"]));
        }
        *sessions.entry(s["case_id"].clone()).or_default() += 1;
    }
    let closed_red: Vec<&Row> =
        cases.values().filter(|c| c["initial_tier"] == "red" && !c["closed_on"].is_empty()).collect();
    assert!(!closed_red.is_empty());
    for c in closed_red {
        assert!((10..=35).contains(&sessions[&c["case_id"]]), "{c:?}");
    }
    // Cases across years, some still open.
    assert!(cases.values().any(|c| c["closed_on"].is_empty()));
    assert!(cases.values().any(|c| {
        !c["closed_on"].is_empty() && academic_year(date(&c["closed_on"])) > academic_year(date(&c["opened_on"]))
    }));

    // Students are pseudonymous: 32 hex characters everywhere.
    for (name, column) in [("screenings", "student_ref"), ("cases", "student_ref"), ("outcomes", "student_ref")] {
        assert!(table(&dir, name).iter().all(|r| hex(&r[column])), "{name}");
    }
    assert!(services.iter().filter(|s| !s["student_ref"].is_empty()).all(|s| hex(&s["student_ref"])));

    // High screenings: follow-ups mostly within 7 and 14 days.
    let screenings = table(&dir, "screenings");
    let rate = closed_loop_rate(&screenings);
    assert!((0.6..0.95).contains(&rate), "{rate}");
}

#[test]
fn custom_sizes_and_exact_service_rows() {
    let options = CustomOptions {
        schools: 7,
        districts: 3,
        first_year: 2023,
        last_year: 2025,
        service_rows: Some(20_000),
        ..CustomOptions::default()
    };
    let dir = generate(Preset::Custom(options), 5, false);
    assert_eq!(table(&dir, "schools").len(), 7);
    let districts: BTreeSet<String> = table(&dir, "schools").into_iter().map(|s| s["district_id"].clone()).collect();
    assert_eq!(districts.len(), 3);
    assert_eq!(enrolled(&dir).keys().copied().collect::<Vec<_>>(), [2023, 2024, 2025]);
    let services = table(&dir, "services");
    assert_eq!(services.len(), 20_000);
    let last = services.iter().map(|s| date(&s["service_date"])).max().unwrap();
    assert!(last <= date("2026-08-31"), "never in the future: {last}");
}

fn gb18030_rows(path: &Path) -> (String, Vec<Row>) {
    let bytes = std::fs::read(path).expect("the export exists");
    let (text, _, malformed) = encoding_rs::GB18030.decode(&bytes);
    assert!(!malformed);
    let text = text.into_owned();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("a header").clone();
    let rows = reader
        .records()
        .map(|r| headers.iter().zip(r.expect("a record").iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect())
        .collect();
    (text, rows)
}

#[test]
fn exports_match_the_canonical_tables() {
    let dir = generate(Preset::Project, 1, true);
    let exports = dir.path().join("exports");
    let (text, rows) = gb18030_rows(&exports.join("services.csv"));
    assert!(std::str::from_utf8(&std::fs::read(exports.join("services.csv")).unwrap()).is_err(), "GB18030, not UTF-8");
    assert!(text.lines().count() > 1 && text.split('\n').filter(|l| !l.is_empty()).all(|l| l.ends_with('\r')), "CRLF");
    let header: Vec<&str> = text.lines().next().unwrap().trim_end().split(',').collect();
    assert_eq!(
        header,
        [
            "学校编号",
            "记录编号",
            "服务日期",
            "服务类型",
            "服务对象",
            "人数",
            "学籍号",
            "个案编号",
            "班级编号",
            "社工编号",
            "时长(分钟)",
            "主题",
            "中心编号",
            "开始时间"
        ]
    );
    let canonical: BTreeMap<String, Row> =
        table(&dir, "services").into_iter().map(|r| (r["record_id"].clone(), r)).collect();
    assert_eq!(rows.len(), canonical.len());
    let mut roll_of: BTreeMap<String, String> = BTreeMap::new();
    let mut ref_of: BTreeMap<String, String> = BTreeMap::new();
    for r in &rows {
        let c = &canonical[&r["记录编号"]];
        let d = date(&c["service_date"]);
        assert_eq!(r["服务日期"], format!("{}/{}/{}", d.year(), d.month(), d.day()));
        assert!(
            [
                "个案辅导",
                "个别化关爱",
                "社工信箱回信",
                "小组活动",
                "成长课堂",
                "心理委员培训",
                "教师工作坊",
                "家长工作坊",
                "心理游园会",
                "家校社联席会议"
            ]
            .contains(&r["服务类型"].as_str()),
            "{r:?}"
        );
        assert!(["学生", "教师", "家长", "心理委员", "混合"].contains(&r["服务对象"].as_str()));
        assert_eq!(r["人数"], c["participants"]);
        assert_eq!(r["学籍号"].is_empty(), c["student_ref"].is_empty());
        if !r["学籍号"].is_empty() {
            let roll = &r["学籍号"];
            assert!(roll.starts_with("G3205") && roll.len() == 18 && roll[1..].bytes().all(|b| b.is_ascii_digit()));
            // One-to-one with student_ref.
            assert_eq!(roll_of.entry(c["student_ref"].clone()).or_insert_with(|| roll.clone()), roll);
            assert_eq!(ref_of.entry(roll.clone()).or_insert_with(|| c["student_ref"].clone()), &c["student_ref"]);
        }
    }
    // The other tables carry 学籍号 instead of student_ref.
    let screenings = read(&exports.join("screenings.csv"));
    assert!(screenings[0].contains_key("学籍号") && !screenings[0].contains_key("student_ref"));
    assert!(exports.join("cases.xlsx").metadata().unwrap().len() > 0);

    // The centre's log and the follow-ups: GB18030 with Chinese headers and labels.
    let (_, centre_rows) = gb18030_rows(&exports.join("centre_services.csv"));
    let centre_canonical: BTreeMap<String, Row> =
        table(&dir, "centre_services").into_iter().map(|r| (r["record_id"].clone(), r)).collect();
    assert_eq!(centre_rows.len(), centre_canonical.len());
    for r in &centre_rows {
        let c = &centre_canonical[&r["记录编号"]];
        assert_eq!(r["中心编号"], c["centre_id"]);
        let label = if c["service_type"] == "hotline_call" { "热线咨询" } else { "心理咨询" };
        assert_eq!(r["服务类型"], label);
        assert!(!r.contains_key("学校编号"), "a centre's log has no school column");
    }
    let (_, followup_rows) = gb18030_rows(&exports.join("followups.csv"));
    let kinds: BTreeSet<&str> = followup_rows.iter().map(|r| r["跟进类型"].as_str()).collect();
    assert!(kinds.is_subset(&BTreeSet::from([
        "危机告知书",
        "学校干预方案",
        "就医随访",
        "居家联络",
        "复学辅导",
        "其他跟进"
    ])));
    assert!(kinds.contains("危机告知书"), "{kinds:?}");
    assert_eq!(followup_rows.len(), table(&dir, "followups").len());
    let (_, centre_list) = gb18030_rows(&exports.join("centres.csv"));
    assert_eq!(centre_list[0]["中心名称"], "昆山市未成年人心理健康中心");
}

/// The generator's model spells the codes it draws; the contract's YAML is
/// the source of truth: every value it writes in a code column, in every
/// preset, is one of that column's codes in the built-in contract.
#[test]
fn every_code_the_generator_writes_is_a_contract_code() {
    for preset in [Preset::Project, Preset::Taicang, Preset::Qingpu] {
        let dir = generate(preset.clone(), 7, false);
        // Every table of the contract has its file; `centre_services` follows `services`.
        let files: BTreeSet<&str> = sunward_datagen::FILES.iter().map(|(_, t)| *t).collect();
        assert!(sunward_core::contract::tables().iter().all(|t| files.contains(t.name)));
        for (file, table_name) in sunward_datagen::FILES {
            let table = sunward_core::contract::table(table_name).expect("a contract table");
            let rows = self::table(&dir, file);
            assert_eq!(
                rows.first().map(|r| r.len()),
                Some(table.columns.len()),
                "{preset:?}: {file} has the contract's columns"
            );
            for column in table.columns {
                let Some(codes) = column.codes else { continue };
                for row in &rows {
                    let value = row.get(column.name).map(String::as_str).unwrap_or_default();
                    assert!(
                        value.is_empty() || codes.contains(&value),
                        "{preset:?}: {file}.{} = {value:?} is not a contract code",
                        column.name
                    );
                }
            }
        }
    }
}

/// The period of a preset's data: its first and last date.
fn period(preset: &Preset) -> (NaiveDate, NaiveDate) {
    match preset {
        Preset::Project => (date("2024-09-01"), date("2025-12-31")),
        Preset::Taicang => (date("2022-09-01"), date("2025-08-31")),
        Preset::Qingpu => (date("2023-09-01"), date("2025-08-31")),
        Preset::Custom(o) => (
            NaiveDate::from_ymd_opt(o.first_year, 9, 1).unwrap(),
            NaiveDate::from_ymd_opt(o.last_year + 1, 8, 31).unwrap(),
        ),
    }
}

fn optional_date(row: &Row, column: &str) -> Option<NaiveDate> {
    (!row[column].is_empty()).then(|| date(&row[column]))
}

/// The prevention loop across its files: the centres and their services, the
/// cases' channels and crisis dates, the follow-ups, the screenings' new
/// columns — each consistent with the others, for several presets and seeds.
#[test]
fn the_prevention_loop_holds_together() {
    let custom = CustomOptions { schools: 9, districts: 3, first_year: 2023, last_year: 2025, ..Default::default() };
    let runs = [
        (Preset::Project, 1),
        (Preset::Project, 2),
        (Preset::Taicang, 1),
        (Preset::Qingpu, 4),
        (Preset::Custom(custom), 5),
    ];
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (preset, seed) in runs {
        let (start, end) = period(&preset);
        let dir = generate(preset.clone(), seed, false);
        let at = format!("{preset:?} seed {seed}");

        // One centre per district, named after it, in the district's city.
        let schools = table(&dir, "schools");
        let districts: BTreeMap<String, (String, String)> = schools
            .iter()
            .map(|s| (s["district_id"].clone(), (s["district_name"].clone(), s["city"].clone())))
            .collect();
        let centres = table(&dir, "centres");
        assert_eq!(centres.len(), districts.len(), "{at}");
        let mut centre_of_district = BTreeMap::new();
        for c in &centres {
            let (name, city) = &districts[&c["district_id"]];
            assert_eq!((&c["district_name"], &c["city"]), (name, city), "{at}");
            assert_eq!(c["centre_name"], format!("{name}未成年人心理健康中心"));
            centre_of_district.insert(c["district_id"].clone(), c["centre_id"].clone());
        }
        let district_of_school: BTreeMap<String, String> =
            schools.iter().map(|s| (s["school_id"].clone(), s["district_id"].clone())).collect();

        // Services: the schools' rows name no centre, the centres' rows no school.
        let services = table(&dir, "services");
        assert!(services.iter().all(|s| s["centre_id"].is_empty() && !s["school_id"].is_empty()), "{at}");
        let centre_services = table(&dir, "centre_services");
        let mut record_ids: BTreeSet<&str> = services.iter().map(|s| s["record_id"].as_str()).collect();
        let mut weekend_calls = 0;
        for r in &centre_services {
            assert!(r["school_id"].is_empty(), "{at}: {r:?}");
            assert!(centre_of_district.values().any(|c| *c == r["centre_id"]), "{at}: {r:?}");
            assert!(record_ids.insert(&r["record_id"]), "{at}: {} twice", r["record_id"]);
            assert_eq!(r["participants"], "1");
            assert!(r["case_id"].is_empty() && r["class_id"].is_empty());
            assert!(r["worker_id"].starts_with(&format!("{}-W", r["centre_id"])), "{r:?}");
            let d = date(&r["service_date"]);
            assert!(d >= start && d <= end, "{at}: {r:?}");
            let minutes = int(r, "duration_min");
            match r["service_type"].as_str() {
                "hotline_call" => {
                    assert!((10..=60).contains(&minutes), "{r:?}");
                    assert!(["student", "parent"].contains(&r["audience"].as_str()));
                    weekend_calls += usize::from(matches!(d.weekday(), Weekday::Sat | Weekday::Sun));
                }
                "consultation" => {
                    assert!((40..=90).contains(&minutes), "{r:?}");
                    assert_eq!(r["audience"], "student");
                    assert!(!r["student_ref"].is_empty(), "{r:?}");
                }
                other => panic!("{at}: a centre's service of type {other}"),
            }
        }
        let calls = centre_services.iter().filter(|r| r["service_type"] == "hotline_call").count();
        let anonymous = centre_services
            .iter()
            .filter(|r| r["service_type"] == "hotline_call" && r["student_ref"].is_empty())
            .count();
        assert!(calls > 0 && anonymous > 0 && anonymous < calls, "{at}: {anonymous} of {calls} calls anonymous");
        *seen.entry("weekend calls").or_default() += weekend_calls;

        // Cases: a channel each, crisis dates within the case, leave only after a crisis.
        let cases = table(&dir, "cases");
        let channels = ["screening", "hotline", "walk_in", "head_teacher", "parent", "peer_monitor", "other"];
        for c in &cases {
            assert!(channels.contains(&c["channel"].as_str()), "{at}: {c:?}");
            let opened = date(&c["opened_on"]);
            let last = optional_date(c, "closed_on").unwrap_or(end);
            let crisis = optional_date(c, "crisis_on");
            let (leave, returned) = (optional_date(c, "leave_on"), optional_date(c, "returned_on"));
            for d in [crisis, optional_date(c, "referred_on"), leave, returned].into_iter().flatten() {
                assert!(d >= opened && d <= last && d <= end, "{at}: {c:?}");
            }
            assert!(crisis.is_none() || c["initial_tier"] == "red", "{c:?}");
            assert_eq!(c["referred_on"].is_empty(), c["referred_to"].is_empty(), "{c:?}");
            assert!(leave.is_none() || (crisis.is_some() && crisis <= leave), "{c:?}");
            assert!(returned.is_none() || (leave.is_some() && leave <= returned), "{c:?}");
            let centre = &centre_of_district[&district_of_school[&c["school_id"]]];
            let by_student = |kind: &str, from: NaiveDate, to: NaiveDate| {
                centre_services.iter().any(|r| {
                    r["service_type"] == kind
                        && r["student_ref"] == c["student_ref"]
                        && &r["centre_id"] == centre
                        && (from..=to).contains(&date(&r["service_date"]))
                })
            };
            match c["channel"].as_str() {
                "hotline" => {
                    let from = (opened - chrono::Days::new(10)).max(start);
                    assert!(by_student("hotline_call", from, opened.pred_opt().unwrap()), "{at}: no call before {c:?}");
                }
                "walk_in" => {
                    let from = (opened - chrono::Days::new(5)).max(start);
                    assert!(by_student("consultation", from, opened), "{at}: no walk-in before {c:?}");
                }
                _ => {}
            }
            *seen.entry(if crisis.is_some() { "crisis cases" } else { "other cases" }).or_default() += 1;
            *seen.entry("returned").or_default() += usize::from(returned.is_some());
        }

        // Screenings: found by the yearly screening, five dimensions, none above a cut-off at level none.
        let screenings = table(&dir, "screenings");
        let dims = ["dim_emotion", "dim_behaviour", "dim_cognition", "dim_social", "dim_life_events"];
        for s in &screenings {
            assert_eq!(s["channel"], "screening");
            for d in dims {
                assert!(s[d] == "true" || s[d] == "false", "{s:?}");
                assert!(s["level"] != "none" || s[d] == "false", "{s:?}");
            }
        }
        let high_with_emotion =
            screenings.iter().filter(|s| s["level"] == "high" && s["dim_emotion"] == "true").count();
        let high = screenings.iter().filter(|s| s["level"] == "high").count();
        assert!(high_with_emotion * 2 > high, "{at}: most high screenings are above the emotion cut-off");

        // Follow-ups: after a crisis or a high screening, dated within the data but for a planned contact.
        let followups = table(&dir, "followups");
        let by_screening: BTreeMap<&str, &Row> = screenings.iter().map(|s| (s["screening_id"].as_str(), s)).collect();
        let ids: BTreeSet<&str> = followups.iter().map(|f| f["followup_id"].as_str()).collect();
        assert_eq!(ids.len(), followups.len(), "{at}: unique followup_id");
        let mut actions: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
        for f in &followups {
            assert!(f["case_id"].is_empty() != f["screening_id"].is_empty(), "{f:?}");
            match optional_date(f, "done_on") {
                Some(d) => assert!(d <= end && f["due_on"].is_empty(), "{at}: {f:?}"),
                None => assert!(f["kind"] == "leave_contact" && !f["due_on"].is_empty(), "{at}: {f:?}"),
            }
            *seen.entry(if f["done_on"].is_empty() { "planned" } else { "done" }).or_default() += 1;
            if f["screening_id"].is_empty() {
                actions.entry(f["case_id"].as_str()).or_default().push(f);
            } else {
                let s = by_screening[f["screening_id"].as_str()];
                assert_eq!((s["level"].as_str(), f["kind"].as_str()), ("high", "other"), "{f:?}");
                assert!(date(&f["done_on"]) > date(&s["screened_on"]), "{f:?}");
            }
        }
        let hospitals = ["psychiatric_hospital", "mental_health_centre"];
        for c in &cases {
            let list = actions.remove(c["case_id"].as_str()).unwrap_or_default();
            let referred_to_hospital = hospitals.contains(&c["referred_to"].as_str());
            let Some(crisis) = optional_date(c, "crisis_on") else {
                assert!(
                    list.iter().all(|f| referred_to_hospital && f["kind"] == "hospital_visit"),
                    "{at}: a case without a crisis has only hospital follow-ups: {c:?} {list:?}"
                );
                *seen.entry("hospital visits without a crisis").or_default() += list.len();
                continue;
            };
            let notices: Vec<&&Row> = list.iter().filter(|f| f["kind"] == "crisis_notice").collect();
            assert_eq!(notices.len(), 1, "{at}: one crisis notice for {c:?}");
            let notice = date(&notices[0]["done_on"]);
            assert!(notice >= crisis && notice <= crisis + chrono::Days::new(2), "{at}: {c:?}");
            assert!(notices[0]["worker_id"].contains("-MHC-W"), "{at}: a centre counsellor sends the notice");
            let (leave, returned) = (optional_date(c, "leave_on"), optional_date(c, "returned_on"));
            let mut last_contact = leave;
            for f in &list {
                let d = optional_date(f, "done_on");
                match f["kind"].as_str() {
                    "leave_contact" => {
                        let leave = leave.expect("contacts only while on leave");
                        match d {
                            Some(d) => {
                                assert!(d > leave && returned.is_none_or(|r| d < r), "{at}: {f:?} {c:?}");
                                last_contact = Some(d);
                            }
                            None => {
                                assert!(returned.is_none(), "{at}: a planned contact for a student back: {c:?}");
                                let due = date(&f["due_on"]);
                                assert_eq!(Some(due), last_contact.map(|l| l + chrono::Days::new(7)), "{f:?}");
                            }
                        }
                    }
                    "return_counselling" => {
                        assert!(d.zip(returned).is_some_and(|(d, r)| d > r), "{at}: {f:?} {c:?}")
                    }
                    "hospital_visit" => {
                        assert!(referred_to_hospital, "{f:?}");
                        assert!(d > optional_date(c, "referred_on"), "{f:?}");
                        assert!(c["closed_on"].is_empty() || d <= optional_date(c, "closed_on"), "{f:?}");
                    }
                    "school_plan" => assert!(d.is_some_and(|d| d > notice), "{f:?}"),
                    "crisis_notice" => {}
                    other => panic!("{at}: a case's follow-up of kind {other}"),
                }
                *seen.entry(if f["kind"] == "crisis_notice" { "notices" } else { "case actions" }).or_default() += 1;
            }
        }
        assert!(actions.is_empty(), "{at}: follow-ups of unknown cases: {actions:?}");
    }
    // Every part of the loop shows up somewhere.
    for key in
        ["weekend calls", "crisis cases", "returned", "notices", "case actions", "hospital visits without a crisis"]
    {
        assert!(seen.get(key).is_some_and(|n| *n > 0), "no {key}: {seen:?}");
    }
}

#[test]
fn channels_and_centre_volumes_have_their_shares() {
    let dir = generate(Preset::Taicang, 1, false);
    let cases = table(&dir, "cases");
    let share = |channel: &str| cases.iter().filter(|c| c["channel"] == channel).count() as f64 / cases.len() as f64;
    for (channel, want) in [("screening", 0.40), ("head_teacher", 0.20), ("parent", 0.12), ("hotline", 0.10)] {
        assert!((share(channel) - want).abs() < 0.05, "{channel}: {}", share(channel));
    }
    // About four calls per 1,000 students a year (before the calls of hotline cases).
    let students = enrolled(&dir);
    let mut calls: BTreeMap<i32, i64> = BTreeMap::new();
    for r in table(&dir, "centre_services").iter().filter(|r| r["service_type"] == "hotline_call") {
        *calls.entry(academic_year(date(&r["service_date"]))).or_default() += 1;
    }
    for (ay, n) in &students {
        let per_1000 = calls[ay] as f64 / *n as f64 * 1000.0;
        assert!((3.2..=5.8).contains(&per_1000), "AY{ay}: {per_1000} calls per 1,000");
    }
    // Crises: red cases only, mostly of self-harm, suicidal ideation or low mood.
    let crises: Vec<&Row> = cases.iter().filter(|c| !c["crisis_on"].is_empty()).collect();
    assert!(crises.len() >= 10, "{}", crises.len());
    let serious = crises
        .iter()
        .filter(|c| ["self_harm_risk", "suicidal_ideation", "depression"].contains(&c["primary_issue"].as_str()))
        .count();
    assert!(serious * 10 >= crises.len() * 8, "{serious} of {}", crises.len());
}
