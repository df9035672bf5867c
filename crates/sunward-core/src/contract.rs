//! The data contract: the canonical tables of `data-contract.md`.
//!
//! Each [`TableSpec`] lists its columns with their type, whether they are
//! required, their code list, their lower bound, the table they reference and
//! the unique keys. A source declared with `contract: <table>` takes its column
//! types from here — never from inference, so an ID such as `007` stays a string
//! — and the loader checks every rule listed here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// UTF-8 text.
    String,
    /// A whole number (`Int64`); `44.0` counts as 44.
    Int,
    /// A number (`Float64`).
    Float,
    /// A date (`Date32`), written `2025-03-05`, `2025/3/5`, `2025年3月5日` or as an Excel serial number.
    Date,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `是`/`否`).
    Bool,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::String => "string",
            ColumnType::Int => "integer",
            ColumnType::Float => "number",
            ColumnType::Date => "date",
            ColumnType::Bool => "boolean",
        })
    }
}

/// One column of a contract table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    /// Canonical name.
    pub name: &'static str,
    /// Type.
    pub ty: ColumnType,
    /// Must be present in the header and non-null in every row.
    pub required: bool,
    /// The allowed codes, for code columns.
    pub codes: Option<&'static [&'static str]>,
    /// The smallest allowed value, for numbers.
    pub min: Option<f64>,
    /// The largest allowed value, for numbers: a count beyond any real school
    /// or event is a typing slip (and bounded counts keep every sum exact).
    pub max: Option<f64>,
    /// The contract table and column this column refers to.
    pub references: Option<(&'static str, &'static str)>,
}

/// A canonical table.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// Table name (`services`).
    pub name: &'static str,
    /// What one row is, in a few words, with the Chinese name the exports use.
    pub row: &'static str,
    /// Columns in canonical order.
    pub columns: &'static [ColumnSpec],
    /// Unique keys: each is a set of columns whose combined value may appear once.
    pub unique: &'static [&'static [&'static str]],
    /// Pairs of date columns where the second, when set, may not be before the first.
    pub ordered_dates: &'static [(&'static str, &'static str)],
}

impl TableSpec {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

const fn col(name: &'static str, ty: ColumnType, required: bool) -> ColumnSpec {
    ColumnSpec { name, ty, required, codes: None, min: None, max: None, references: None }
}
const fn code(name: &'static str, required: bool, codes: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec { name, ty: ColumnType::String, required, codes: Some(codes), min: None, max: None, references: None }
}
const fn count(name: &'static str, required: bool, min: f64, max: f64) -> ColumnSpec {
    ColumnSpec { name, ty: ColumnType::Int, required, codes: None, min: Some(min), max: Some(max), references: None }
}
const fn fk(name: &'static str, required: bool, table: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        ty: ColumnType::String,
        required,
        codes: None,
        min: None,
        max: None,
        references: Some((table, name)),
    }
}

use ColumnType::{Date, Float, Int, String as Str};

/// School stages.
pub const STAGES: &[&str] = &["primary", "junior", "senior", "nine_year", "vocational"];
/// Service types.
pub const SERVICE_TYPES: &[&str] = &[
    "case_session",
    "immediate_support",
    "mailbox_reply",
    "group_session",
    "growth_class",
    "committee_training",
    "teacher_workshop",
    "parent_workshop",
    "consultation",
    "hotline_call",
    "home_visit",
    "joint_meeting",
    "campus_event",
];
/// Service audiences.
pub const AUDIENCES: &[&str] = &["student", "teacher", "parent", "committee", "mixed"];
/// Three-colour tiers.
pub const TIERS: &[&str] = &["red", "orange", "green"];
/// Primary issues of a case.
pub const ISSUES: &[&str] = &[
    "self_harm_risk",
    "suicidal_ideation",
    "depression",
    "anxiety",
    "school_refusal",
    "family_conflict",
    "bullying",
    "peer_relationship",
    "academic_stress",
    "internet_dependence",
    "other",
];
/// Case outcomes.
pub const OUTCOMES: &[&str] = &["ongoing", "improved", "stable", "referred", "transferred", "withdrawn"];
/// Referral targets.
pub const REFERRALS: &[&str] = &["psychiatric_hospital", "mental_health_centre", "district_centre", "other"];
/// Screening levels.
pub const LEVELS: &[&str] = &["none", "general", "key", "high"];
/// Incident categories.
pub const INCIDENT_CATEGORIES: &[&str] =
    &["self_harm", "suicide_attempt", "suicide_death", "violence", "runaway", "other_crisis"];
/// Outcome domains.
pub const DOMAINS: &[&str] = &["interpersonal", "emotion_regulation", "resilience", "self_esteem"];

/// Every canonical table.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "schools",
        row: "a school: the unit every figure is made for, with its district and the social-work organisation serving it (学校)",
        columns: &[
            col("school_id", Str, true),
            col("school_name", Str, true),
            code("stage", true, STAGES),
            col("district_id", Str, true),
            col("district_name", Str, true),
            col("city", Str, true),
            col("org_id", Str, false),
            col("org_name", Str, false),
            // English names for English editions; a name left empty is romanised (湖畔中学 → Hupan Middle School).
            col("school_name_en", Str, false),
            col("district_name_en", Str, false),
            col("city_en", Str, false),
            col("org_name_en", Str, false),
        ],
        unique: &[&["school_id"]],
        ordered_dates: &[],
    },
    TableSpec {
        name: "enrolment",
        row: "a school in an academic year: its enrolled students and classes, the denominators of rates (在校生)",
        columns: &[
            fk("school_id", true, "schools"),
            col("academic_year", Int, true),
            // No school enrols 100,000 students or has 2,000 classes.
            count("students", true, 0.0, 100_000.0),
            count("classes", true, 0.0, 2_000.0),
        ],
        unique: &[&["school_id", "academic_year"]],
        ordered_dates: &[],
    },
    TableSpec {
        name: "classes",
        row: "a class in an academic year; a class gets a new `class_id` each year (班级)",
        columns: &[
            col("class_id", Str, true),
            fk("school_id", true, "schools"),
            col("academic_year", Int, true),
            ColumnSpec {
                name: "grade",
                ty: Int,
                required: true,
                codes: None,
                min: Some(1.0),
                max: Some(12.0),
                references: None,
            },
            count("students", true, 0.0, 200.0),
        ],
        unique: &[&["class_id"]],
        ordered_dates: &[],
    },
    TableSpec {
        name: "services",
        row: "a service event: a session, a class, a workshop, a letter, a call (服务记录)",
        columns: &[
            col("record_id", Str, true),
            fk("school_id", true, "schools"),
            col("service_date", Date, true),
            code("service_type", true, SERVICE_TYPES),
            code("audience", true, AUDIENCES),
            // The largest campus event in the samples has 1,192 people; 100,000 is a slip.
            count("participants", true, 1.0, 100_000.0),
            col("student_ref", Str, false),
            fk("case_id", false, "cases"),
            fk("class_id", false, "classes"),
            col("worker_id", Str, true),
            // A session lasts at most a day.
            count("duration_min", false, 0.0, 1_440.0),
            col("topic", Str, false),
        ],
        unique: &[&["record_id"]],
        ordered_dates: &[],
    },
    TableSpec {
        name: "cases",
        row: "a case opened for a student, with its three-colour tier (个案)",
        columns: &[
            col("case_id", Str, true),
            fk("school_id", true, "schools"),
            col("student_ref", Str, true),
            col("opened_on", Date, true),
            col("closed_on", Date, false),
            code("initial_tier", true, TIERS),
            code("final_tier", false, TIERS),
            code("primary_issue", true, ISSUES),
            code("outcome", true, OUTCOMES),
            code("referred_to", false, REFERRALS),
        ],
        unique: &[&["case_id"]],
        ordered_dates: &[("opened_on", "closed_on")],
    },
    TableSpec {
        name: "screenings",
        row: "a student screened in an academic year, and the follow-up of a high result (心理筛查)",
        columns: &[
            col("screening_id", Str, true),
            fk("school_id", true, "schools"),
            col("academic_year", Int, true),
            fk("class_id", true, "classes"),
            col("student_ref", Str, true),
            col("screened_on", Date, true),
            col("instrument", Str, false),
            ColumnSpec {
                name: "score",
                ty: Float,
                required: false,
                codes: None,
                min: Some(0.0),
                max: None,
                references: None,
            },
            code("level", true, LEVELS),
            col("second_assessed_on", Date, false),
            col("intervention_on", Date, false),
            col("referred_on", Date, false),
        ],
        unique: &[&["screening_id"]],
        ordered_dates: &[],
    },
    TableSpec {
        name: "incidents",
        row: "an extreme incident at a school (极端事件)",
        columns: &[
            col("incident_id", Str, true),
            fk("school_id", true, "schools"),
            col("occurred_on", Date, true),
            code("category", true, INCIDENT_CATEGORIES),
            col("student_ref", Str, false),
        ],
        unique: &[&["incident_id"]],
        ordered_dates: &[],
    },
    TableSpec {
        name: "outcomes",
        row: "a student's pre and post scores on one domain, from a group or a case (前后测)",
        columns: &[
            col("student_ref", Str, true),
            fk("school_id", true, "schools"),
            col("academic_year", Int, true),
            code("domain", true, DOMAINS),
            col("pre_score", Float, true),
            col("post_score", Float, true),
        ],
        unique: &[],
        ordered_dates: &[],
    },
    TableSpec {
        name: "attendance",
        row: "a day a social worker was on site at a school (驻校)",
        columns: &[col("worker_id", Str, true), fk("school_id", true, "schools"), col("on_date", Date, true)],
        unique: &[],
        ordered_dates: &[],
    },
];

/// The contract table called `name`.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// The names of all contract tables.
pub fn table_names() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.name)
}

/// What a column means, where its name and rules do not say it all, as
/// `(table, column, meaning)`.
pub const MEANINGS: &[(&str, &str, &str)] = &[
    ("schools", "org_id", "the organisation that serves the school; empty: none"),
    ("enrolment", "academic_year", "named by the calendar year it starts in: 2024 is 2024-09-01 to 2025-08-31"),
    ("classes", "class_id", "unique across the whole table, every year"),
    ("classes", "academic_year", "as in enrolment"),
    ("services", "record_id", "a repeated record_id is a repeated record"),
    ("services", "participants", "the head count of the event"),
    ("services", "student_ref", "the pseudonymous student of a one-to-one service"),
    ("services", "case_id", "the case of a `case_session`"),
    ("services", "class_id", "the class of a class-based event (`growth_class`)"),
    ("services", "worker_id", "the social worker who delivered it"),
    ("services", "topic", "e.g. 生命教育, 校园欺凌防范"),
    ("cases", "closed_on", "empty: the case is still open"),
    ("cases", "initial_tier", "the tier at intake: `red` 红色, `orange` 橙色, `green` 绿色"),
    ("cases", "final_tier", "the tier at closing or at the latest review"),
    ("screenings", "instrument", "e.g. MHT, SDQ"),
    ("screenings", "second_assessed_on", "the second-stage assessment by a psychology teacher or social worker"),
    ("screenings", "intervention_on", "the first intervention"),
    ("screenings", "referred_on", "the referral to a medical institution"),
    ("outcomes", "pre_score", "higher is better"),
    ("outcomes", "post_score", "higher is better"),
];

/// The Chinese labels real exports use for codes, as `(column, label, code)`.
/// Offered as hints when a value is outside its code list.
pub const LABELS: &[(&str, &str, &str)] = &[
    ("stage", "小学", "primary"),
    ("stage", "初中", "junior"),
    ("stage", "高中", "senior"),
    ("stage", "九年一贯制", "nine_year"),
    ("stage", "中职", "vocational"),
    ("service_type", "个案辅导", "case_session"),
    ("service_type", "个案介入", "case_session"),
    ("service_type", "个别化关爱", "immediate_support"),
    ("service_type", "即时疏导", "immediate_support"),
    ("service_type", "社工信箱回信", "mailbox_reply"),
    ("service_type", "小组活动", "group_session"),
    ("service_type", "成长课堂", "growth_class"),
    ("service_type", "心理委员培训", "committee_training"),
    ("service_type", "教师工作坊", "teacher_workshop"),
    ("service_type", "家长工作坊", "parent_workshop"),
    ("service_type", "心理咨询", "consultation"),
    ("service_type", "面询", "consultation"),
    ("service_type", "热线咨询", "hotline_call"),
    ("service_type", "家访", "home_visit"),
    ("service_type", "家校社联席会议", "joint_meeting"),
    ("service_type", "心理游园会", "campus_event"),
    ("service_type", "开放日", "campus_event"),
    ("initial_tier", "红色", "red"),
    ("initial_tier", "橙色", "orange"),
    ("initial_tier", "绿色", "green"),
    ("final_tier", "红色", "red"),
    ("final_tier", "橙色", "orange"),
    ("final_tier", "绿色", "green"),
    ("level", "无", "none"),
    ("level", "一般关注", "general"),
    ("level", "重点关注", "key"),
    ("level", "高危关注", "high"),
    ("category", "自伤", "self_harm"),
    ("category", "自杀未遂", "suicide_attempt"),
    ("category", "自杀死亡", "suicide_death"),
    ("category", "暴力伤害", "violence"),
    ("category", "离家出走", "runaway"),
    ("domain", "人际关系", "interpersonal"),
    ("domain", "情绪管理", "emotion_regulation"),
    ("domain", "心理韧性", "resilience"),
    ("domain", "自我接纳", "self_esteem"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_meaning_names_a_contract_column() {
        for (table_name, column, _) in MEANINGS {
            assert!(table(table_name).and_then(|t| t.column(column)).is_some(), "{table_name}.{column}");
        }
    }

    #[test]
    fn every_reference_points_at_a_unique_key() {
        for t in TABLES {
            for c in t.columns {
                if let Some((table_name, column)) = c.references {
                    let target = table(table_name).expect("referenced table exists");
                    assert!(
                        target.unique.iter().any(|k| k == &[column]),
                        "{}.{} -> {table_name}.{column}",
                        t.name,
                        c.name
                    );
                }
            }
            for key in t.unique {
                for k in *key {
                    assert!(t.column(k).is_some(), "{}: unique key column {k}", t.name);
                }
            }
        }
    }

    #[test]
    fn labels_map_to_real_codes() {
        for (column, _, code) in LABELS {
            let codes: Vec<&str> = TABLES
                .iter()
                .filter_map(|t| t.column(column))
                .filter_map(|c| c.codes)
                .flat_map(|c| c.iter().copied())
                .collect();
            assert!(codes.contains(code), "{column}: {code}");
        }
    }
}
