//! Real-style exports: the same rows as the canonical tables, written the way a
//! case system or a social worker's spreadsheet hands them over.
//!
//! - `services.csv`: GB18030, CRLF, Chinese headers in the export's own order,
//!   Chinese labels for `service_type` and `audience`, dates as `2025/3/5`.
//! - `cases.xlsx`: one sheet `个案台账`, Chinese headers, Chinese labels for the
//!   tier, issue, outcome and referral codes, real Excel dates, and a made-up
//!   `学生姓名` column.
//! - the other seven tables as canonical CSV.
//!
//! Wherever a table carries a student, the export has a raw roll-number-like
//! `学籍号` (`G` + region + 13 digits, one-to-one with the canonical
//! `student_ref`) instead of `student_ref`: a pipeline must pseudonymise it.

use crate::sink::{Column, CsvLayout, CsvSink, Keys, Style, TableSink, XlsxSink};
use crate::world::Student;
use std::path::Path;
use sunward_core::Result;
use sunward_core::contract::TableSpec;

/// `service_type` labels.
pub const SERVICE_TYPE_LABELS: &[(&str, &str)] = &[
    ("case_session", "个案辅导"),
    ("immediate_support", "个别化关爱"),
    ("mailbox_reply", "社工信箱回信"),
    ("group_session", "小组活动"),
    ("growth_class", "成长课堂"),
    ("committee_training", "心理委员培训"),
    ("teacher_workshop", "教师工作坊"),
    ("parent_workshop", "家长工作坊"),
    ("consultation", "心理咨询"),
    ("hotline_call", "热线咨询"),
    ("home_visit", "家访"),
    ("joint_meeting", "家校社联席会议"),
    ("campus_event", "心理游园会"),
];

/// `audience` labels.
pub const AUDIENCE_LABELS: &[(&str, &str)] =
    &[("student", "学生"), ("teacher", "教师"), ("parent", "家长"), ("committee", "心理委员"), ("mixed", "混合")];

/// Tier labels (`initial_tier`, `final_tier`).
pub const TIER_LABELS: &[(&str, &str)] = &[("red", "红色"), ("orange", "橙色"), ("green", "绿色")];

/// `primary_issue` labels.
pub const ISSUE_LABELS: &[(&str, &str)] = &[
    ("self_harm_risk", "自伤风险"),
    ("suicidal_ideation", "自杀意念"),
    ("depression", "抑郁情绪"),
    ("anxiety", "焦虑情绪"),
    ("school_refusal", "厌学拒学"),
    ("family_conflict", "家庭冲突"),
    ("bullying", "校园欺凌"),
    ("peer_relationship", "同伴关系"),
    ("academic_stress", "学业压力"),
    ("internet_dependence", "网络依赖"),
    ("other", "其他"),
];

/// `outcome` labels.
pub const OUTCOME_LABELS: &[(&str, &str)] = &[
    ("ongoing", "跟进中"),
    ("improved", "改善"),
    ("stable", "稳定"),
    ("referred", "已转介"),
    ("transferred", "转学"),
    ("withdrawn", "退出服务"),
];

/// `referred_to` labels.
pub const REFERRAL_LABELS: &[(&str, &str)] = &[
    ("psychiatric_hospital", "精神专科医院"),
    ("mental_health_centre", "精神卫生中心"),
    ("district_centre", "区心理辅导中心"),
    ("other", "其他机构"),
];

/// The header of the roll-number column.
pub const ROLL_HEADER: &str = "学籍号";

/// The export file name of each table.
pub fn file_name(table: &str) -> String {
    match table {
        "cases" => "cases.xlsx".to_string(),
        other => format!("{other}.csv"),
    }
}

fn column(table: &TableSpec, header: &str, canonical: &str, style: Style) -> Column {
    let source = table.columns.iter().position(|c| c.name == canonical).unwrap_or(usize::MAX);
    Column { header: header.to_string(), source, style }
}

/// The sink writing `table`'s export into `dir`.
pub fn sink(dir: &Path, table: &'static TableSpec, keys: Keys) -> Result<Box<dyn TableSink>> {
    let path = dir.join(file_name(table.name));
    Ok(match table.name {
        "services" => {
            let columns = vec![
                column(table, "学校编号", "school_id", Style::Plain),
                column(table, "记录编号", "record_id", Style::Plain),
                column(table, "服务日期", "service_date", Style::Plain),
                column(table, "服务类型", "service_type", Style::Label(SERVICE_TYPE_LABELS)),
                column(table, "服务对象", "audience", Style::Label(AUDIENCE_LABELS)),
                column(table, "人数", "participants", Style::Plain),
                column(table, ROLL_HEADER, "student_ref", Style::Roll),
                column(table, "个案编号", "case_id", Style::Plain),
                column(table, "班级编号", "class_id", Style::Plain),
                column(table, "社工编号", "worker_id", Style::Plain),
                column(table, "时长(分钟)", "duration_min", Style::Plain),
                column(table, "主题", "topic", Style::Plain),
            ];
            let layout = CsvLayout { columns, gb18030: true, crlf: true, slash_dates: true };
            Box::new(CsvSink::create(&path, table.name, layout, keys)?)
        }
        "cases" => {
            let columns = vec![
                column(table, "个案编号", "case_id", Style::Plain),
                column(table, "学校编号", "school_id", Style::Plain),
                column(table, "学生姓名", "student_ref", Style::Name),
                column(table, ROLL_HEADER, "student_ref", Style::Roll),
                column(table, "开案日期", "opened_on", Style::Plain),
                column(table, "结案日期", "closed_on", Style::Plain),
                column(table, "初始分级", "initial_tier", Style::Label(TIER_LABELS)),
                column(table, "当前分级", "final_tier", Style::Label(TIER_LABELS)),
                column(table, "主要问题", "primary_issue", Style::Label(ISSUE_LABELS)),
                column(table, "个案状态", "outcome", Style::Label(OUTCOME_LABELS)),
                column(table, "转介机构", "referred_to", Style::Label(REFERRAL_LABELS)),
            ];
            Box::new(XlsxSink::create(&path, table.name, "个案台账", columns, keys)?)
        }
        _ => {
            let mut layout = CsvLayout::canonical(table);
            for c in &mut layout.columns {
                if c.header == "student_ref" {
                    c.header = ROLL_HEADER.to_string();
                    c.style = Style::Roll;
                }
            }
            Box::new(CsvSink::create(&path, table.name, layout, keys)?)
        }
    })
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "沈", "陆", "顾", "钱", "蒋", "蔡",
    "姚", "范",
];
const GIVEN: &[&str] = &[
    "子", "梓", "浩", "宇", "轩", "涵", "欣", "怡", "思", "雨", "晨", "睿", "博", "文", "佳", "诗", "可", "依", "嘉",
    "俊", "杰", "昊", "天", "乐", "心", "悦", "彤", "若", "辰", "泽", "铭", "瑞", "安", "语", "萱", "琪", "宁", "航",
    "霖", "一",
];

/// A made-up Chinese name for a student (only ever written to exports).
pub fn fake_name(seed: u64, student: Student) -> String {
    let h = crate::rng::hash(seed, "name", &[student.code()]);
    let pick = |list: &[&'static str], shift: u32| list[((h >> shift) % list.len() as u64) as usize];
    let mut name = String::from(pick(SURNAMES, 0));
    name.push_str(pick(GIVEN, 8));
    if !(h >> 40).is_multiple_of(5) {
        name.push_str(pick(GIVEN, 16));
    }
    name
}
