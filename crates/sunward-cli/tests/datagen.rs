//! `sunward datagen` end to end, through the binary: byte-identical output for
//! a seed (CSV and Parquet, the prevention loop's files included), other
//! output for another seed, the `project` preset's 2025 figures counted by
//! hand from its CSV files, every generated file (the seventeen tables and
//! `centre_services`) loaded by a pipeline with `contract:` and no row
//! rejected, the real-style exports loaded through header and value
//! mappings, and clear errors with exit code 2 for bad arguments.

use crate::common;

use common::ok;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The files datagen writes, with the contract table each one follows.
const FILES: [(&str, &str); 18] = [
    ("schools", "schools"),
    ("enrolment", "enrolment"),
    ("classes", "classes"),
    ("services", "services"),
    ("cases", "cases"),
    ("screenings", "screenings"),
    ("incidents", "incidents"),
    ("outcomes", "outcomes"),
    ("attendance", "attendance"),
    ("centres", "centres"),
    ("centre_services", "services"),
    ("followups", "followups"),
    ("workers", "workers"),
    ("rosters", "rosters"),
    ("appointments", "appointments"),
    ("feedback", "feedback"),
    ("terms", "terms"),
    ("holidays", "holidays"),
];

fn sunward() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sunward"))
}

fn datagen(args: &[&str], out: &Path) -> Output {
    sunward().arg("datagen").args(args).arg("--out").arg(out).output().expect("the binary runs")
}

/// Every file of a folder with its bytes, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("the folder exists")
        .map(|e| {
            let e = e.expect("an entry");
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("readable"))
        })
        .collect()
}

#[test]
fn same_seed_gives_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["csv", "parquet"] {
        let (a, b) = (dir.path().join(format!("{format}-a")), dir.path().join(format!("{format}-b")));
        for out in [&a, &b] {
            ok(&datagen(&["--preset", "taicang", "--seed", "11", "--format", format, "--quiet"], out));
        }
        let (fa, fb) = (files(&a), files(&b));
        let expected: BTreeSet<String> = FILES.iter().map(|(f, _)| format!("{f}.{format}")).collect();
        assert_eq!(
            fa.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "only the eighteen files, no temporary files"
        );
        for (name, bytes) in &fa {
            assert!(bytes == &fb[name], "{format}: {name} differs between two runs with the same seed");
        }
    }
    // The exports too (GB18030 CSV and XLSX).
    let (a, b) = (dir.path().join("x-a"), dir.path().join("x-b"));
    for (i, x) in [&a, &b].into_iter().enumerate() {
        let out = dir.path().join(format!("x-data-{i}"));
        ok(&sunward()
            .args(["datagen", "--preset", "project", "--quiet", "--out"])
            .arg(&out)
            .arg("--exports")
            .arg(x)
            .output()
            .unwrap());
    }
    let (fa, fb) = (files(&a), files(&b));
    for name in ["centres.csv", "centre_services.csv", "followups.csv", "cases.xlsx", "services.csv"] {
        assert!(fa.contains_key(name), "the exports have {name}");
    }
    assert_eq!(fa, fb);
}

#[test]
fn another_seed_gives_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ok(&datagen(&["--preset", "qingpu", "--seed", "1", "--quiet"], &a));
    ok(&datagen(&["--preset", "qingpu", "--seed", "2", "--quiet"], &b));
    let (fa, fb) = (files(&a), files(&b));
    for table in ["services", "cases", "screenings", "incidents", "outcomes", "centre_services", "followups"] {
        let name = format!("{table}.csv");
        assert_ne!(fa[&name], fb[&name], "{name} should change with the seed");
    }
    // The schools and the centre are the preset's, whatever the seed.
    assert_eq!(fa["schools.csv"], fb["schools.csv"]);
    assert_eq!(fa["centres.csv"], fb["centres.csv"]);
}

type Row = BTreeMap<String, String>;

fn read(path: &Path) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().expect("a header").clone();
    reader
        .records()
        .map(|r| headers.iter().zip(r.expect("a record").iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect())
        .collect()
}

#[test]
fn project_preset_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("project");
    let output = datagen(&["--preset", "project"], &out);
    ok(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("services") && stdout.contains("rows"), "a summary of rows per table:\n{stdout}");

    let schools = read(&out.join("schools.csv"));
    let org = schools[0]["org_id"].clone();
    assert!(schools.iter().all(|s| s["org_id"] == org));
    // Unit: the organisation (both schools); period: calendar 2025.
    let in_2025 = |d: &str| d.starts_with("2025-");
    let mut events: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut supported = BTreeSet::new();
    for s in read(&out.join("services.csv")).iter().filter(|s| in_2025(&s["service_date"])) {
        let e = events.entry(s["service_type"].clone()).or_default();
        e.0 += 1;
        e.1 += s["participants"].parse::<i64>().unwrap();
        if s["service_type"] == "immediate_support" {
            assert_eq!(s["participants"], "1");
            supported.insert(s["student_ref"].clone());
        }
    }
    let figures: Vec<(&str, (i64, i64))> = events.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        figures,
        [
            ("case_session", (134, 134)),
            ("committee_training", (3, 36)),
            ("group_session", (34, 351)),
            ("growth_class", (23, 2913)),
            ("immediate_support", (86, 86)),
            ("mailbox_reply", (211, 211)),
            ("parent_workshop", (2, 426)),
            ("teacher_workshop", (4, 81)),
        ]
    );
    assert_eq!(supported.len(), 86);
    let high_risk: BTreeSet<String> = read(&out.join("cases.csv"))
        .into_iter()
        .filter(|c| c["initial_tier"] == "red")
        .filter(|c| c["opened_on"].as_str() <= "2025-12-31")
        .filter(|c| c["closed_on"].is_empty() || c["closed_on"].as_str() >= "2025-01-01")
        .map(|c| c["student_ref"].clone())
        .collect();
    assert_eq!(high_risk.len(), 10);
    let onsite: BTreeSet<(String, String)> = read(&out.join("attendance.csv"))
        .into_iter()
        .filter(|a| in_2025(&a["on_date"]))
        .map(|a| (a["school_id"].clone(), a["on_date"].clone()))
        .collect();
    assert_eq!(onsite.len(), 101);
}

/// A pipeline loading the eighteen files of `dir` with `contract:` (so every
/// reference between them is checked); returns rows loaded and rejected per source.
fn load_with_contract(dir: &Path, format: &str) -> BTreeMap<String, (u64, u64)> {
    let work = tempfile::tempdir().unwrap();
    let mut yaml = String::from("name: datagen_contract\nsources:\n");
    for (file, table) in FILES {
        yaml.push_str(&format!(
            "  {file}: {{plugin: {format}, path: \"{}\", contract: {table}}}\n",
            dir.join(format!("{file}.{format}")).display()
        ));
    }
    let pipeline = work.path().join("check.yaml");
    std::fs::write(&pipeline, yaml).unwrap();
    let out = work.path().join("out");
    let output = sunward().arg("run").arg(&pipeline).arg("--out").arg(&out).output().unwrap();
    ok(&output);
    manifest_counts(&out.join("manifest-datagen_contract.json"))
}

fn manifest_counts(path: &Path) -> BTreeMap<String, (u64, u64)> {
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    manifest["sources"]
        .as_array()
        .expect("sources in the manifest")
        .iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} in {s}"));
            (s["name"].as_str().unwrap().to_string(), (n("rows_loaded"), n("rows_rejected")))
        })
        .collect()
}

#[test]
fn generated_tables_keep_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let runs: [(&str, &[&str], &str); 5] = [
        ("project", &["--preset", "project"], "csv"),
        ("project-parquet", &["--preset", "project", "--format", "parquet"], "parquet"),
        ("taicang", &["--preset", "taicang", "--seed", "5"], "csv"),
        ("qingpu", &["--preset", "qingpu"], "csv"),
        (
            "custom",
            &["--preset", "custom", "--schools", "5", "--districts", "2", "--years", "2024..2025", "--scale", "0.5"],
            "csv",
        ),
    ];
    for (name, args, format) in runs {
        let out = dir.path().join(name);
        let mut args = args.to_vec();
        args.push("--quiet");
        ok(&datagen(&args, &out));
        let counts = load_with_contract(&out, format);
        assert_eq!(counts.len(), FILES.len(), "{name}");
        for (source, (loaded, rejected)) in &counts {
            assert_eq!(*rejected, 0, "{name}: {source} rejected rows");
            assert!(*loaded > 0, "{name}: {source} is empty");
        }
    }
}

#[test]
fn exports_load_through_header_and_value_mappings() {
    let dir = tempfile::tempdir().unwrap();
    let (data, exports) = (dir.path().join("data"), dir.path().join("exports"));
    let output = sunward()
        .args(["datagen", "--preset", "project", "--quiet", "--out"])
        .arg(&data)
        .arg("--exports")
        .arg(&exports)
        .output()
        .unwrap();
    ok(&output);
    let pipeline = repo_pipeline_for_exports(&exports);
    let work = dir.path().join("check.yaml");
    std::fs::write(&work, pipeline).unwrap();
    let out = dir.path().join("out");
    let output = sunward().arg("run").arg(&work).arg("--out").arg(&out).output().unwrap();
    ok(&output);
    let counts = manifest_counts(&out.join("manifest-exports_check.json"));
    let canonical_rows = |t: &str| read(&data.join(format!("{t}.csv"))).len() as u64;
    for t in ["schools", "classes", "services", "cases", "centres", "centre_services", "followups"] {
        assert_eq!(counts[t], (canonical_rows(t), 0), "{t}");
    }
    // The new columns survive the round trip through Chinese headers and labels.
    let loaded_cases = read(&out.join("cases_loaded.csv"));
    let mut canonical_cases = read(&data.join("cases.csv"));
    canonical_cases.sort_by(|a, b| a["case_id"].cmp(&b["case_id"]));
    assert_eq!(loaded_cases.len(), canonical_cases.len());
    for (l, c) in loaded_cases.iter().zip(&canonical_cases) {
        for column in ["case_id", "channel", "crisis_on", "referred_on", "leave_on", "returned_on"] {
            assert_eq!(l[column], c[column], "{column} of {}", c["case_id"]);
        }
    }
    let loaded_followups = read(&out.join("followups_loaded.csv"));
    let mut canonical_followups = read(&data.join("followups.csv"));
    canonical_followups.sort_by(|a, b| a["followup_id"].cmp(&b["followup_id"]));
    assert!(!loaded_followups.is_empty());
    assert_eq!(loaded_followups, canonical_followups);
    // The 2025 figures survive the round trip through labels and GB18030.
    let by_type = read(&out.join("by_type.csv"));
    let figures: BTreeMap<&str, (&str, &str)> = by_type
        .iter()
        .map(|r| (r["service_type"].as_str(), (r["events"].as_str(), r["participants"].as_str())))
        .collect();
    assert_eq!(figures["growth_class"], ("23", "2913"));
    assert_eq!(figures["case_session"], ("134", "134"));
}

/// The pipeline sample-data/README.md shows for the exports, minus pseudonymisation:
/// here the roll number is loaded as `student_ref` only to check the rows.
fn repo_pipeline_for_exports(exports: &Path) -> String {
    let d = exports.display();
    format!(
        r#"name: exports_check
sources:
  schools: {{plugin: csv, path: "{d}/schools.csv", contract: schools}}
  classes: {{plugin: csv, path: "{d}/classes.csv", contract: classes}}
  cases:
    plugin: xlsx
    path: "{d}/cases.xlsx"
    sheet: 个案台账
    contract: cases
    headers: {{个案编号: case_id, 学校编号: school_id, 学籍号: student_ref, 开案日期: opened_on, 结案日期: closed_on, 初始分级: initial_tier, 当前分级: final_tier, 主要问题: primary_issue, 个案状态: outcome, 转介机构: referred_to, 发现渠道: channel, 危机认定日期: crisis_on, 转介日期: referred_on, 休学日期: leave_on, 复学日期: returned_on}}
    values:
      initial_tier: {{红色: red, 橙色: orange, 绿色: green}}
      final_tier: {{红色: red, 橙色: orange, 绿色: green}}
      primary_issue: {{自伤风险: self_harm_risk, 自杀意念: suicidal_ideation, 抑郁情绪: depression, 焦虑情绪: anxiety, 厌学拒学: school_refusal, 家庭冲突: family_conflict, 校园欺凌: bullying, 同伴关系: peer_relationship, 学业压力: academic_stress, 网络依赖: internet_dependence, 其他: other}}
      outcome: {{跟进中: ongoing, 改善: improved, 稳定: stable, 已转介: referred, 转学: transferred, 退出服务: withdrawn}}
      referred_to: {{精神专科医院: psychiatric_hospital, 精神卫生中心: mental_health_centre, 区心理辅导中心: district_centre, 其他机构: other}}
      channel: {{心理筛查: screening, 心理热线: hotline, 来访面询: walk_in, 班主任: head_teacher, 家长: parent, 心理委员: peer_monitor, 其他渠道: other}}
  centres:
    plugin: csv
    path: "{d}/centres.csv"
    encoding: gb18030
    contract: centres
    headers: {{中心编号: centre_id, 中心名称: centre_name, 区县编号: district_id, 区县: district_name, 城市: city}}
  centre_services:
    plugin: csv
    path: "{d}/centre_services.csv"
    encoding: gb18030
    contract: services
    headers: {{中心编号: centre_id, 记录编号: record_id, 服务日期: service_date, 服务类型: service_type, 服务对象: audience, 人数: participants, 学籍号: student_ref, 社工编号: worker_id, 时长(分钟): duration_min, 主题: topic}}
    values:
      service_type: {{心理咨询: consultation, 热线咨询: hotline_call}}
      audience: {{学生: student, 家长: parent}}
  screenings: {{plugin: csv, path: "{d}/screenings.csv", contract: screenings, headers: {{学籍号: student_ref}}}}
  followups:
    plugin: csv
    path: "{d}/followups.csv"
    encoding: gb18030
    contract: followups
    headers: {{跟进编号: followup_id, 个案编号: case_id, 筛查编号: screening_id, 跟进类型: kind, 应完成日期: due_on, 完成日期: done_on, 社工编号: worker_id}}
    values:
      kind: {{危机告知书: crisis_notice, 学校干预方案: school_plan, 就医随访: hospital_visit, 居家联络: leave_contact, 复学辅导: return_counselling, 其他跟进: other}}
  services:
    plugin: csv
    path: "{d}/services.csv"
    encoding: gb18030
    contract: services
    headers: {{学校编号: school_id, 记录编号: record_id, 服务日期: service_date, 服务类型: service_type, 服务对象: audience, 人数: participants, 学籍号: student_ref, 个案编号: case_id, 班级编号: class_id, 社工编号: worker_id, 时长(分钟): duration_min, 主题: topic, 中心编号: centre_id}}
    values:
      service_type: {{个案辅导: case_session, 个别化关爱: immediate_support, 社工信箱回信: mailbox_reply, 小组活动: group_session, 成长课堂: growth_class, 心理委员培训: committee_training, 教师工作坊: teacher_workshop, 家长工作坊: parent_workshop, 心理咨询: consultation, 热线咨询: hotline_call, 家访: home_visit, 家校社联席会议: joint_meeting, 心理游园会: campus_event}}
      audience: {{学生: student, 教师: teacher, 家长: parent, 心理委员: committee, 混合: mixed}}
steps:
  by_type:
    plugin: sql
    query: |
      SELECT service_type, COUNT(*) AS events, SUM(participants) AS participants
      FROM services WHERE EXTRACT(YEAR FROM service_date) = 2025 GROUP BY service_type
  cases_loaded:
    plugin: sql
    query: SELECT case_id, channel, crisis_on, referred_on, leave_on, returned_on FROM cases ORDER BY case_id
  followups_loaded:
    plugin: sql
    query: SELECT followup_id, case_id, screening_id, kind, due_on, done_on, worker_id FROM followups ORDER BY followup_id
outputs:
  by_type: {{plugin: csv, table: by_type, path: by_type.csv}}
  cases_loaded: {{plugin: csv, table: cases_loaded, path: cases_loaded.csv}}
  followups_loaded: {{plugin: csv, table: followups_loaded, path: followups_loaded.csv}}
"#
    )
}

fn fails_with(args: &[&str], out: &Path, code: i32, message: &str) {
    let output = datagen(args, out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(message), "{args:?}: expected {message:?} in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fails_with(&["--preset", "shanghai"], &out, 2, "invalid value 'shanghai'");
    fails_with(&["--preset", "project", "--schools", "4"], &out, 2, "--schools can only be used with --preset custom");
    fails_with(&["--preset", "custom", "--schools", "0"], &out, 2, "--schools must be between 1 and 9999");
    fails_with(&["--preset", "custom", "--schools", "3", "--districts", "4"], &out, 2, "--districts must be between 1");
    fails_with(
        &["--preset", "custom", "--years", "2024..2030"],
        &out,
        2,
        "academic years must lie between 2000 and 2025",
    );
    fails_with(&["--preset", "custom", "--years", "soon"], &out, 2, "not a range of academic years");
    fails_with(&["--preset", "custom", "--scale=-1"], &out, 2, "--scale must be a number above 0");
    fails_with(&["--preset", "custom", "--service-rows", "0"], &out, 2, "--service-rows must be at least 1");
    fails_with(&["--preset", "custom", "--scale", "2", "--service-rows", "9"], &out, 2, "not both");
    fails_with(&["--preset", "project", "--seed", "minus one"], &out, 2, "invalid value");
    fails_with(&["--preset", "project", "--format", "xlsx"], &out, 2, "invalid value 'xlsx'");
    assert!(!out.exists(), "nothing written after a usage error");

    // --out naming a file.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    fails_with(&["--preset", "project"], &file, 2, "is a file, not a folder");
}

#[test]
fn existing_files_need_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ok(&datagen(&["--preset", "project", "--quiet"], &out));
    let before = files(&out);
    fails_with(&["--preset", "project", "--seed", "2"], &out, 2, "already holds");
    assert_eq!(files(&out), before, "a refused run leaves the files alone");
    // Another format's files do not collide.
    ok(&datagen(&["--preset", "project", "--format", "parquet", "--quiet"], &out));
    ok(&datagen(&["--preset", "project", "--seed", "2", "--force", "--quiet"], &out));
    assert_ne!(files(&out)["services.csv"], before["services.csv"]);
    let exports: PathBuf = out.clone();
    let output = sunward()
        .args(["datagen", "--preset", "project", "--force", "--out"])
        .arg(&out)
        .arg("--exports")
        .arg(&exports)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--exports must name another folder"));
}
