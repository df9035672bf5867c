//! What to generate: the presets (`project`, `taicang`, `qingpu`) and the
//! `custom` sizes, turned into a [`Spec`] — the districts, organisations and
//! schools with their sizes, the academic years and the rates the tables are
//! drawn with.
//!
//! Every name here is invented for sample data (place names are real towns,
//! the schools and organisations are fictitious).

use crate::calendar::{ay_end, ay_start, ymd};
use chrono::{NaiveDate, Weekday};
use sunward_core::{Diagnostic, Result};

/// A school stage (`schools.stage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// 小学, grades 1–6.
    Primary,
    /// 初中, grades 7–9.
    Junior,
    /// 高中, grades 10–12.
    Senior,
    /// 九年一贯制, grades 1–9.
    NineYear,
    /// 中职, grades 10–12.
    Vocational,
}

impl Stage {
    /// The contract code.
    pub fn code(self) -> &'static str {
        match self {
            Stage::Primary => "primary",
            Stage::Junior => "junior",
            Stage::Senior => "senior",
            Stage::NineYear => "nine_year",
            Stage::Vocational => "vocational",
        }
    }
    /// First and last grade.
    pub fn grades(self) -> (u8, u8) {
        match self {
            Stage::Primary => (1, 6),
            Stage::Junior => (7, 9),
            Stage::Senior | Stage::Vocational => (10, 12),
            Stage::NineYear => (1, 9),
        }
    }
}

/// Students per class in a grade.
pub fn class_size(stage: Stage, grade: u8) -> u32 {
    match (stage, grade) {
        (Stage::Vocational, _) => 40,
        (_, 1..=6) => 42,
        (_, 7..=9) => 46,
        _ => 48,
    }
}

/// A district (`district_id`, `district_name`, `city`).
#[derive(Debug, Clone)]
pub struct District {
    /// `district_id`.
    pub id: String,
    /// `district_name`.
    pub name: String,
    /// `city`.
    pub city: String,
}

/// A social-work organisation.
#[derive(Debug, Clone)]
pub struct Org {
    /// `org_id`.
    pub id: String,
    /// `org_name`.
    pub name: String,
    /// The supervisor who visits its schools now and then (`worker_id`).
    pub supervisor: String,
}

/// A school and how it is served.
#[derive(Debug, Clone)]
pub struct SchoolSpec {
    /// `school_id`.
    pub id: String,
    /// `school_name`.
    pub name: String,
    /// Stage.
    pub stage: Stage,
    /// Index into [`Spec::districts`].
    pub district: usize,
    /// Index into [`Spec::orgs`], if an organisation serves it.
    pub org: Option<usize>,
    /// About how many students it has.
    pub students: u32,
    /// Relative risk of extreme incidents (1 = the district's rate).
    pub risk: f64,
    /// The resident social worker.
    pub worker: String,
    /// The weekdays the worker is on site.
    pub onsite: Vec<Weekday>,
}

/// Which built-in plan the services, cases and attendance follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The two-school project with its fixed 2025 figures.
    Project,
    /// A district (or any number of them) drawn from rates.
    District,
}

/// How many consultations a school gets per academic year.
#[derive(Debug, Clone, Copy)]
pub enum Consultations {
    /// This many per enrolled student (before the scale factor).
    PerStudent(f64),
    /// A district total drawn from `lo..=hi` each year, split over its schools by size.
    DistrictTotal(u64, u64),
}

/// Everything the generator needs to know.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Preset name.
    pub name: &'static str,
    /// Plan kind.
    pub kind: Kind,
    /// Districts.
    pub districts: Vec<District>,
    /// Organisations.
    pub orgs: Vec<Org>,
    /// Schools, in output order.
    pub schools: Vec<SchoolSpec>,
    /// Academic years with enrolment, classes and screenings.
    pub years: Vec<i32>,
    /// First date of data.
    pub start: NaiveDate,
    /// Last date of data.
    pub end: NaiveDate,
    /// The province-and-city prefix of the export roll numbers (`3205` 苏州, `3101` 上海).
    pub region: &'static str,
    /// Extreme incidents per 1,000 students, one rate per academic year in `years`.
    pub incident_rates: Vec<f64>,
    /// Probability that a high screening gets its second assessment within 7 days,
    /// and that such a one gets its intervention within 14 days.
    pub closed_loop: (f64, f64),
    /// An on-time intervention comes at most this many days after screening
    /// (14 by the metrics' definition; 7 where the district works to a one-week loop).
    pub intervention_within: i64,
    /// New cases per enrolled student per academic year.
    pub case_rate: f64,
    /// Consultations.
    pub consultations: Consultations,
    /// Multiplier of service volume (events per student), case sessions excepted.
    pub scale: f64,
    /// Hit exactly this many service rows (overrides `scale`).
    pub service_rows: Option<u64>,
}

/// The sizes of a `custom` data set.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomOptions {
    /// Number of schools (1–9,999).
    pub schools: u32,
    /// Number of districts (1–schools).
    pub districts: u32,
    /// First academic year.
    pub first_year: i32,
    /// Last academic year (at most 2025).
    pub last_year: i32,
    /// Service volume multiplier.
    pub scale: f64,
    /// Exact number of service rows wanted, if any.
    pub service_rows: Option<u64>,
}

impl Default for CustomOptions {
    fn default() -> Self {
        CustomOptions { schools: 10, districts: 1, first_year: 2022, last_year: 2024, scale: 1.0, service_rows: None }
    }
}

/// A built-in data set.
#[derive(Debug, Clone, PartialEq)]
pub enum Preset {
    /// One organisation, a junior and a primary school, 2024-09-01 .. 2025-12-31.
    Project,
    /// 20 junior and senior schools of 太仓市, AY2022–AY2024.
    Taicang,
    /// 11 schools of 青浦区, AY2023–AY2024.
    Qingpu,
    /// Any number of schools, districts and years.
    Custom(CustomOptions),
}

/// The last academic year the generator accepts: AY2025 ends 2026-08-31.
pub const LAST_YEAR: i32 = 2025;

impl Preset {
    /// The preset's name.
    pub fn name(&self) -> &'static str {
        match self {
            Preset::Project => "project",
            Preset::Taicang => "taicang",
            Preset::Qingpu => "qingpu",
            Preset::Custom(_) => "custom",
        }
    }

    /// The full specification; fails (as a usage error) on impossible custom sizes.
    pub fn spec(&self) -> Result<Spec> {
        Ok(match self {
            Preset::Project => project(),
            Preset::Taicang => taicang(),
            Preset::Qingpu => qingpu(),
            Preset::Custom(options) => custom(options)?,
        })
    }
}

use Weekday::{Fri, Mon, Thu, Tue, Wed};

fn school(
    id: &str,
    name: &str,
    stage: Stage,
    district: usize,
    org: Option<usize>,
    students: u32,
    worker: String,
) -> SchoolSpec {
    let onsite = match students {
        0..=799 => vec![Tue, Thu],
        800..=1499 => vec![Mon, Tue, Thu],
        1500..=2199 => vec![Mon, Tue, Thu, Fri],
        _ => vec![Mon, Tue, Wed, Thu, Fri],
    };
    SchoolSpec { id: id.into(), name: name.into(), stage, district, org, students, risk: 1.0, worker, onsite }
}

fn district(id: &str, name: &str, city: &str) -> District {
    District { id: id.into(), name: name.into(), city: city.into() }
}

fn org(id: &str, name: &str, supervisor: &str) -> Org {
    Org { id: id.into(), name: name.into(), supervisor: supervisor.into() }
}

/// The two-school project of a social-work organisation in Kunshan (shaped like seed 000;
/// the school and organisation names are invented, as in every preset).
fn project() -> Spec {
    let mut schools = vec![
        school("KS01", "湖畔中学", Stage::Junior, 0, Some(0), 1150, "KS-W01".into()),
        school("KS02", "湖畔小学", Stage::Primary, 0, Some(0), 1650, "KS-W02".into()),
    ];
    // The schedule of the project is built in `world` (weekly, then fixed weekdays from September 2025).
    schools[0].onsite = vec![Tue, Wed];
    schools[1].onsite = vec![Mon, Thu, Fri];
    Spec {
        name: "project",
        kind: Kind::Project,
        districts: vec![district("320583", "昆山市", "苏州市")],
        orgs: vec![org("KS-ORG1", "向阳学校社会工作服务中心", "KS-W03")],
        schools,
        years: vec![2024, 2025],
        start: ymd(2024, 9, 1),
        end: ymd(2025, 12, 31),
        region: "3205",
        incident_rates: vec![1.1, 0.4],
        closed_loop: (0.85, 0.85),
        intervention_within: 14,
        case_rate: 0.0,
        consultations: Consultations::PerStudent(0.0),
        scale: 1.0,
        service_rows: None,
    }
}

/// 20 junior and senior schools of 太仓市, about 31,000 students (seed 001).
fn taicang() -> Spec {
    let list: [(&str, Stage, u32, Option<usize>); 20] = [
        ("城东初级中学", Stage::Junior, 2400, Some(0)),
        ("城西初级中学", Stage::Junior, 2100, Some(0)),
        ("实验初级中学", Stage::Junior, 2900, Some(0)),
        ("河畔初级中学", Stage::Junior, 1500, Some(0)),
        ("江滨初级中学", Stage::Junior, 1100, Some(0)),
        ("桥北初级中学", Stage::Junior, 1250, Some(0)),
        ("湖西初级中学", Stage::Junior, 900, Some(0)),
        ("凤鸣初级中学", Stage::Junior, 650, Some(1)),
        ("渡口初级中学", Stage::Junior, 800, Some(1)),
        ("新城初级中学", Stage::Junior, 1900, Some(1)),
        ("港湾初级中学", Stage::Junior, 1000, Some(1)),
        ("金沙初级中学", Stage::Junior, 380, Some(1)),
        ("新湖初级中学", Stage::Junior, 420, Some(1)),
        ("南苑初级中学", Stage::Junior, 1300, Some(1)),
        ("东方高级中学", Stage::Senior, 2700, Some(2)),
        ("西山高级中学", Stage::Senior, 2300, Some(2)),
        ("溪畔高级中学", Stage::Senior, 1900, Some(2)),
        ("明理高级中学", Stage::Senior, 1700, Some(2)),
        ("江口高级中学", Stage::Senior, 1100, Some(2)),
        ("海港高级中学", Stage::Senior, 1500, Some(2)),
    ];
    let total: u32 = list.iter().map(|s| s.2).sum();
    // Risk factors: most schools near the district rate, a few really different.
    let risks = [1.0, 0.9, 0.8, 1.1, 1.3, 1.0, 1.2, 2.6, 1.0, 0.9, 1.1, 0.7, 1.4, 1.0, 0.6, 0.8, 1.0, 0.5, 1.9, 1.0];
    let schools = list
        .iter()
        .zip(risks)
        .enumerate()
        .map(|(i, ((name, stage, students, org), risk))| {
            let students = (f64::from(*students) * 31_000.0 / f64::from(total)).round() as u32;
            let mut s =
                school(&format!("TC{:02}", i + 1), name, *stage, 0, *org, students, format!("TC-W{:02}", i + 1));
            s.risk = risk;
            s
        })
        .collect();
    Spec {
        name: "taicang",
        kind: Kind::District,
        districts: vec![district("320585", "太仓市", "苏州市")],
        orgs: vec![
            org("TC-ORG1", "启程社会工作服务中心", "TC-S1"),
            org("TC-ORG2", "远航社工事务所", "TC-S2"),
            org("TC-ORG3", "同行社会工作发展中心", "TC-S3"),
        ],
        schools,
        years: vec![2022, 2023, 2024],
        start: ay_start(2022),
        end: ay_end(2024),
        region: "3205",
        incident_rates: vec![5.3, 4.1, 2.8],
        closed_loop: (0.85, 0.85),
        intervention_within: 14,
        case_rate: 0.008,
        consultations: Consultations::DistrictTotal(3880, 4020),
        scale: 1.0,
        service_rows: None,
    }
}

/// 11 schools of 青浦区 with a one-week closed loop after screening (seed 004).
fn qingpu() -> Spec {
    let list: [(&str, Stage, u32, Option<usize>); 11] = [
        ("育英小学", Stage::Primary, 1500, Some(0)),
        ("朝阳小学", Stage::Primary, 1100, Some(0)),
        ("西苑小学", Stage::Primary, 900, None),
        ("启明小学", Stage::Primary, 1300, Some(0)),
        ("华光初级中学", Stage::Junior, 1000, Some(0)),
        ("重华中学", Stage::Junior, 700, None),
        ("水乡初级中学", Stage::Junior, 850, Some(0)),
        ("莲塘学校", Stage::NineYear, 1200, None),
        ("金桥学校", Stage::NineYear, 600, None),
        ("青溪高级中学", Stage::Senior, 1400, Some(0)),
        ("职业技术学校", Stage::Vocational, 1500, None),
    ];
    let risks = [0.8, 1.0, 1.2, 0.9, 1.1, 1.6, 1.0, 1.0, 0.7, 1.2, 1.4];
    let schools = list
        .iter()
        .zip(risks)
        .enumerate()
        .map(|(i, ((name, stage, students, org), risk))| {
            let mut s =
                school(&format!("QP{:02}", i + 1), name, *stage, 0, *org, *students, format!("QP-W{:02}", i + 1));
            s.risk = risk;
            s
        })
        .collect();
    Spec {
        name: "qingpu",
        kind: Kind::District,
        districts: vec![district("310118", "青浦区", "上海市")],
        orgs: vec![org("QP-ORG1", "阳光学校社工服务社", "QP-S1")],
        schools,
        years: vec![2023, 2024],
        start: ay_start(2023),
        end: ay_end(2024),
        region: "3101",
        incident_rates: vec![3.0, 2.5],
        closed_loop: (0.925, 0.925),
        intervention_within: 7,
        case_rate: 0.007,
        consultations: Consultations::PerStudent(0.10),
        scale: 1.0,
        service_rows: None,
    }
}

const CUSTOM_DISTRICTS: [&str; 12] = [
    "临江区",
    "青石区",
    "长河区",
    "南屏区",
    "北塘区",
    "云溪区",
    "东湖区",
    "西岭区",
    "白沙区",
    "桂山区",
    "清源区",
    "望海区",
];

fn custom(options: &CustomOptions) -> Result<Spec> {
    check_custom(options)?;
    let districts = custom_districts(options.districts as usize);
    let orgs = custom_orgs(&districts);
    let schools = custom_schools(options.schools as usize, &districts);
    let years: Vec<i32> = (options.first_year..=options.last_year).collect();
    let incident_rates = (0..years.len()).map(|i| 4.5 * 0.85f64.powi(i as i32)).collect();
    Ok(Spec {
        name: "custom",
        kind: Kind::District,
        districts,
        orgs,
        schools,
        start: ay_start(options.first_year),
        end: ay_end(options.last_year),
        years,
        region: "3300",
        incident_rates,
        closed_loop: (0.85, 0.85),
        intervention_within: 14,
        case_rate: 0.008,
        consultations: Consultations::PerStudent(0.12),
        scale: options.scale,
        service_rows: options.service_rows,
    })
}

/// The usage error for custom options out of range: schools, districts, years, scale, service rows.
fn check_custom(options: &CustomOptions) -> Result<()> {
    let usage = |message: String, hint: &str| Err(Diagnostic::invalid(message).hint(hint.to_string()));
    if !(1..=9_999).contains(&options.schools) {
        return usage(format!("--schools must be between 1 and 9999, not {}", options.schools), "e.g. --schools 20");
    }
    if options.districts < 1 || options.districts > options.schools {
        return usage(
            format!(
                "--districts must be between 1 and the number of schools ({}), not {}",
                options.schools, options.districts
            ),
            "each district needs at least one school",
        );
    }
    if options.first_year < 2000 || options.last_year > LAST_YEAR || options.first_year > options.last_year {
        return usage(
            format!(
                "--years {}..{} is not a range of academic years from 2000 to {LAST_YEAR}",
                options.first_year, options.last_year
            ),
            "e.g. --years 2022..2024 (AY2022 = 2022-09-01 .. 2023-08-31)",
        );
    }
    if !(options.scale.is_finite() && options.scale > 0.0 && options.scale <= 100_000.0) {
        return usage(
            format!("--scale must be a number above 0 and at most 100000, not {}", options.scale),
            "e.g. --scale 2.5",
        );
    }
    if options.service_rows == Some(0) {
        return usage("--service-rows must be at least 1".to_string(), "e.g. --service-rows 10000000");
    }
    Ok(())
}

/// The stages of custom schools, in turn.
const CUSTOM_STAGES: [Stage; 8] = [
    Stage::Primary,
    Stage::Junior,
    Stage::Primary,
    Stage::Senior,
    Stage::Junior,
    Stage::NineYear,
    Stage::Primary,
    Stage::Vocational,
];

/// How a school of `stage` ends its name.
fn name_suffix(stage: Stage) -> &'static str {
    match stage {
        Stage::Primary => "小学",
        Stage::Junior => "初级中学",
        Stage::Senior => "高级中学",
        Stage::NineYear => "学校",
        Stage::Vocational => "职业学校",
    }
}

/// `count` districts named from [`CUSTOM_DISTRICTS`], numbered when the names run out.
fn custom_districts(count: usize) -> Vec<District> {
    (0..count)
        .map(|d| {
            let base = CUSTOM_DISTRICTS[d % CUSTOM_DISTRICTS.len()];
            let name = if d < CUSTOM_DISTRICTS.len() {
                base.to_string()
            } else {
                format!("{base}{}", d / CUSTOM_DISTRICTS.len() + 1)
            };
            district(&format!("D{:02}", d + 1), &name, "示例市")
        })
        .collect()
}

/// One social-work organisation per district.
fn custom_orgs(districts: &[District]) -> Vec<Org> {
    (0..districts.len())
        .map(|d| {
            org(
                &format!("ORG{:02}", d + 1),
                &format!("{}向阳社会工作服务中心", districts[d].name),
                &format!("SUP{:02}", d + 1),
            )
        })
        .collect()
}

/// `count` schools dealt round the districts, their stages, sizes, risks
/// and organisations in fixed patterns (the same for every seed).
fn custom_schools(count: usize, districts: &[District]) -> Vec<SchoolSpec> {
    (0..count)
        .map(|i| {
            let d = i % districts.len();
            let stage = CUSTOM_STAGES[i % CUSTOM_STAGES.len()];
            let number = i / districts.len() + 1;
            // Sizes from 250 to 3,000, spread without randomness so the spec is the same for every seed.
            let students = 250 + ((crate::rng::mix64(i as u64) % 2751) as u32);
            let org = (i % 10 < 7).then_some(d);
            let mut s = school(
                &format!("S{:03}", i + 1),
                &format!("{}第{}{}", districts[d].name, number, name_suffix(stage)),
                stage,
                d,
                org,
                students,
                format!("W{:03}", i + 1),
            );
            s.risk = [1.0, 0.8, 1.3, 0.6, 1.0, 1.8, 0.9, 1.1][i % 8];
            s
        })
        .collect()
}

/// Parse `2022..2024`, `2022..=2024`, `2022-2024` or `2024` as an inclusive range of academic years.
pub fn parse_years(text: &str) -> std::result::Result<(i32, i32), String> {
    let text = text.trim();
    let parts: Vec<&str> = if let Some((a, b)) = text.split_once("..=") {
        vec![a, b]
    } else if let Some((a, b)) = text.split_once("..") {
        vec![a, b]
    } else if let Some((a, b)) = text.split_once('-') {
        vec![a, b]
    } else {
        vec![text, text]
    };
    let year = |s: &str| {
        s.trim().parse::<i32>().map_err(|_| format!("\"{text}\" is not a range of academic years such as 2022..2024"))
    };
    let (a, b) = (year(parts[0])?, year(parts[1])?);
    if a > b {
        return Err(format!("\"{text}\": the first year is after the last"));
    }
    if a < 2000 || b > LAST_YEAR {
        return Err(format!("\"{text}\": academic years must lie between 2000 and {LAST_YEAR}"));
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_parse() {
        assert_eq!(parse_years("2022..2024"), Ok((2022, 2024)));
        assert_eq!(parse_years("2022..=2024"), Ok((2022, 2024)));
        assert_eq!(parse_years("2024"), Ok((2024, 2024)));
        assert!(parse_years("2024..2022").is_err());
        assert!(parse_years("2030").is_err());
        assert!(parse_years("twenty").is_err());
    }

    #[test]
    fn custom_checks_its_sizes() {
        let bad = CustomOptions { schools: 0, ..CustomOptions::default() };
        assert!(Preset::Custom(bad).spec().is_err());
        let bad = CustomOptions { districts: 11, ..CustomOptions::default() };
        assert!(Preset::Custom(bad).spec().is_err());
        let bad = CustomOptions { scale: f64::NAN, ..CustomOptions::default() };
        assert!(Preset::Custom(bad).spec().is_err());
        let ok =
            Preset::Custom(CustomOptions { schools: 30, districts: 13, ..CustomOptions::default() }).spec().unwrap();
        let ids: std::collections::BTreeSet<&str> = ok.schools.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids.len(), 30);
        let names: std::collections::BTreeSet<&str> = ok.districts.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names.len(), 13);
    }
}
