//! Real-style exports: the same rows as the canonical tables, written the way a
//! case system or a social worker's spreadsheet hands them over.
//!
//! - `services.csv`: GB18030, CRLF, Chinese headers in the export's own order,
//!   Chinese labels for `service_type` and `audience`, dates as `2025/3/5`;
//!   `centre_services.csv` (a centre's hotline and walk-in log) the same way,
//!   headed by the centre instead of the school.
//! - `cases.xlsx`: one sheet `个案台账`, Chinese headers, Chinese labels for the
//!   tier, issue, outcome, referral and channel codes, real Excel dates, and a
//!   made-up `学生姓名` column.
//! - `centres.csv` and `followups.csv` (Chinese labels for the kind of
//!   action) as GB18030 with Chinese headers, like `services.csv`.
//! - the other tables as canonical CSV.
//!
//! Columns the contract gained later come last in each export, so the
//! columns before them keep their place and their bytes.
//!
//! Wherever a table carries a student, the export has a raw roll-number-like
//! `学籍号` (`G` + region + 13 digits, one-to-one with the canonical
//! `student_ref`) instead of `student_ref`: a pipeline must pseudonymise it.

use crate::sink::{Column, CsvLayout, CsvSink, Keys, Style, TableSink, XlsxSink};
use std::path::Path;
use sunward_core::Result;
use sunward_core::contract::TableSpec;

/// The header of the roll-number column.
pub const ROLL_HEADER: &str = "学籍号";

/// The export file name of each file of [`crate::FILES`].
pub fn file_name(file: &str) -> String {
    match file {
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

/// A GB18030 CSV with CRLF line ends and `2025/3/5` dates, as a Chinese office exports it.
fn chinese_csv(path: &Path, file: &str, columns: Vec<Column>, keys: Keys) -> Result<Box<dyn TableSink>> {
    let layout = CsvLayout { columns, gb18030: true, crlf: true, slash_dates: true };
    Ok(Box::new(CsvSink::create(path, file, layout, keys)?))
}

/// The sink writing the export of `file` (rows of contract table `table`) into `dir`.
pub fn sink(dir: &Path, file: &str, table: &'static TableSpec, keys: Keys) -> Result<Box<dyn TableSink>> {
    let path = dir.join(file_name(file));
    Ok(match file {
        "services" => chinese_csv(&path, file, services_columns(table), keys)?,
        "centre_services" => chinese_csv(&path, file, centre_services_columns(table), keys)?,
        "centres" => chinese_csv(&path, file, centres_columns(table), keys)?,
        "followups" => chinese_csv(&path, file, followups_columns(table), keys)?,
        "cases" => Box::new(XlsxSink::create(&path, file, "个案台账", cases_columns(table), keys)?),
        _ => Box::new(CsvSink::create(&path, file, canonical_layout(table), keys)?),
    })
}

/// The contract's own columns, the student's roll number under its Chinese header.
fn canonical_layout(table: &'static TableSpec) -> CsvLayout {
    let mut layout = CsvLayout::canonical(table);
    for c in &mut layout.columns {
        if c.header == "student_ref" {
            c.header = ROLL_HEADER.to_string();
            c.style = Style::Roll;
        }
    }
    layout
}

/// The columns of the schools' `services` export, in the order the export writes them.
fn services_columns(table: &'static TableSpec) -> Vec<Column> {
    vec![
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
        column(table, "中心编号", "centre_id", Style::Plain),
        column(table, "开始时间", "start_time", Style::Plain),
    ]
}

/// The columns of the centres' `centre_services` export.
fn centre_services_columns(table: &'static TableSpec) -> Vec<Column> {
    vec![
        column(table, "中心编号", "centre_id", Style::Plain),
        column(table, "记录编号", "record_id", Style::Plain),
        column(table, "服务日期", "service_date", Style::Plain),
        labelled(table, "服务类型", "service_type"),
        labelled(table, "服务对象", "audience"),
        column(table, "人数", "participants", Style::Plain),
        column(table, ROLL_HEADER, "student_ref", Style::Roll),
        column(table, "社工编号", "worker_id", Style::Plain),
        column(table, "时长(分钟)", "duration_min", Style::Plain),
        column(table, "主题", "topic", Style::Plain),
        column(table, "开始时间", "start_time", Style::Plain),
    ]
}

/// The columns of the `centres` export.
fn centres_columns(table: &'static TableSpec) -> Vec<Column> {
    vec![
        column(table, "中心编号", "centre_id", Style::Plain),
        column(table, "中心名称", "centre_name", Style::Plain),
        column(table, "区县编号", "district_id", Style::Plain),
        column(table, "区县", "district_name", Style::Plain),
        column(table, "城市", "city", Style::Plain),
    ]
}

/// The columns of the `followups` export.
fn followups_columns(table: &'static TableSpec) -> Vec<Column> {
    vec![
        column(table, "跟进编号", "followup_id", Style::Plain),
        column(table, "个案编号", "case_id", Style::Plain),
        column(table, "筛查编号", "screening_id", Style::Plain),
        labelled(table, "跟进类型", "kind"),
        column(table, "应完成日期", "due_on", Style::Plain),
        column(table, "完成日期", "done_on", Style::Plain),
        column(table, "社工编号", "worker_id", Style::Plain),
    ]
}

/// The columns of the `cases` workbook (a student's name beside the roll number).
fn cases_columns(table: &'static TableSpec) -> Vec<Column> {
    vec![
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
        labelled(table, "发现渠道", "channel"),
        column(table, "危机认定日期", "crisis_on", Style::Plain),
        column(table, "转介日期", "referred_on", Style::Plain),
        column(table, "休学日期", "leave_on", Style::Plain),
        column(table, "复学日期", "returned_on", Style::Plain),
    ]
}
