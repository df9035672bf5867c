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

/// The header of the roll-number column.
pub const ROLL_HEADER: &str = "学籍号";

/// The export file name of each table.
pub fn file_name(table: &str) -> String {
    match table {
        "cases" => "cases.xlsx".to_string(),
        other => format!("{other}.csv"),
    }
}

/// A code column written as the first label the contract gives each code
/// (as the case systems write it), the code itself where it gives none.
fn labelled(table: &'static TableSpec, header: &str, canonical: &str) -> Column {
    let labels = table.column(canonical).map(|c| c.labels).unwrap_or_default();
    column(table, header, canonical, Style::Label(labels))
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
                labelled(table, "服务类型", "service_type"),
                labelled(table, "服务对象", "audience"),
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
                labelled(table, "初始分级", "initial_tier"),
                labelled(table, "当前分级", "final_tier"),
                labelled(table, "主要问题", "primary_issue"),
                labelled(table, "个案状态", "outcome"),
                labelled(table, "转介机构", "referred_to"),
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
