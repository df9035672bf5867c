//! `sunward init`: a folder of one's own for a district or an organisation.
//!
//! `sunward init DIR` writes a project: `sunward.yaml` (a workflow holding
//! the project's settings once and listing every report), the shipped
//! pipelines, report templates and text drafts (embedded in this binary, so
//! no copy of the repository is needed), an empty `data/` for the exports,
//! export templates in `templates/` (each contract table as a CSV header and
//! as a sheet of one workbook with Chinese headers and drop-down lists of the
//! codes), and empty text folders. Nothing in it comes from the samples: the
//! years and the report date are worked out from today, and every text is
//! the project's own to write. `sunward init --texts DIR`, once the exports
//! are in `data/`, drafts each unit's missing texts from the unit lists the
//! data gives. Nothing existing is ever overwritten.

use crate::report::PipelineText;
use crate::workflow;
use crate::workflow::PROJECT_FILE;
use chrono::Datelike;
use clap::Args;
use std::path::{Path, PathBuf};
use sunward_core::contract::{ColumnSpec, Contract};
use sunward_core::{Diagnostic, Registry, ValidateOptions, validate_file};

/// Arguments of `sunward init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The project folder (made if missing; nothing in it is ever overwritten).
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// Draft every unit's missing texts (from the unit lists the exports in
    /// data/ give) instead of making the project.
    #[arg(long)]
    pub(crate) texts: bool,
    /// The project's name (default: the folder's name).
    #[arg(long, conflicts_with = "texts")]
    pub(crate) name: Option<String>,
}

/// The shipped pipelines, report templates and drafts, as a project gets them.
const SHIPPED: &[(&str, &str)] = &[
    ("pipelines/metrics.yaml", include_str!("../../../pipelines/metrics.yaml")),
    ("pipelines/functions/rates.yaml", include_str!("../../../pipelines/functions/rates.yaml")),
    ("pipelines/district-comparison.yaml", include_str!("../../../pipelines/district-comparison.yaml")),
    ("pipelines/government-summary.yaml", include_str!("../../../pipelines/government-summary.yaml")),
    ("pipelines/annual-review.yaml", include_str!("../../../pipelines/annual-review.yaml")),
    ("report-templates/annual-review.md.j2", include_str!("../../../report-templates/annual-review.md.j2")),
    ("report-templates/district-comparison.md.j2", include_str!("../../../report-templates/district-comparison.md.j2")),
    ("report-templates/government-summary.md.j2", include_str!("../../../report-templates/government-summary.md.j2")),
    ("report-templates/drafts/annual-review.md", include_str!("../../../report-templates/drafts/annual-review.md")),
    (
        "report-templates/drafts/government-summary.md",
        include_str!("../../../report-templates/drafts/government-summary.md"),
    ),
];

/// The academic year a date falls in (2024 = September 2024 to August 2025).
fn academic_year(date: chrono::NaiveDate) -> i32 {
    if date.month() >= 9 { date.year() } else { date.year() - 1 }
}

/// The project file of a new project named `name`, with years worked out from `today`.
fn project_file(name: &str, today: chrono::NaiveDate) -> String {
    // The last complete academic year, and the two before it for the trend.
    let current = academic_year(today) - 1;
    let baseline = current - 2;
    // The last complete calendar year.
    let year = today.year() - 1;
    // The academic year that ended in it (2024 for 2025), for class coverage.
    let class_year = year - 1;
    format!(
        r#"# The project {name}: its settings, said once, and every report they make.
#
#   sunward validate   # checks everything below against data/ and texts/; writes nothing
#   sunward run        # every report, in one run, into out/
#
# 1. Put the exports in data/, one CSV per table (templates/ shows each
#    table's columns; `sunward contract` describes them).
# 2. Set the values below.
# 3. `sunward init --texts` drafts each unit's texts in texts/; write them
#    (a text still marked 【待补充】 counts as not written).
# 4. `sunward validate`, then `sunward run`.
#
# A relative path is relative to this folder; ${{out}} is the --out folder.
name: {name}
description: the reports of {name}

params:
  # The exports: data/schools.csv, data/services.csv and the rest.
  data_dir: data
  # Academic years (2024 = September 2024 to August 2025): the district
  # comparison and the government summary cover baseline_year to current_year.
  baseline_year: {baseline}
  current_year: {current}
  # The annual review: the year it reviews, a calendar year (period:
  # calendar) or an academic year (period: academic); the year set beside
  # it (compare_year; 0 is the year before); and, for a calendar year, the
  # academic year of its class coverage.
  period: calendar
  year: {year}
  compare_year: 0
  academic_year: {class_year}
  # The date printed on every report (fixed, so that a rerun gives the same files).
  report_date: {today}
  # The metrics table this very run writes; every report reads it.
  metrics: ${{out}}/metrics.parquet

pipelines:
  - pipelines/metrics.yaml
  - pipelines/district-comparison.yaml
  - pipeline: pipelines/government-summary.yaml
    set: {{texts_dir: texts/government-summary}}
  # The same summary as a government document (GB/T 9704-2012), written as
  # government-summary_…_official.*. Each value is one for every district,
  # or one per district as "D01=太教〔2025〕12号; D02=…".
  - pipeline: pipelines/government-summary.yaml
    name: government_summary_official
    set:
      texts_dir: texts/government-summary
      style: official
      doc_number: ""
      recipient: ""
      signer: ""
      copies_to: ""
      printed_by: ""
  # One review per organisation and per school it serves (schools with an
  # org_id); without organisations in data/schools.csv it writes none.
  - pipeline: pipelines/annual-review.yaml
    set: {{texts_dir: texts/annual-review}}
"#
    )
}

/// What a new project's README says.
fn project_readme(name: &str) -> String {
    format!(
        "# {name}\n\n\
         A Sunward project. `sunward.yaml` holds its settings and lists its reports.\n\n\
         - `data/`: the exports, one CSV per table (`templates/` shows the columns of each;\n  \
           `templates/exports.xlsx` has a sheet per table with drop-down lists of the codes:\n  \
           save each sheet as CSV UTF-8 into `data/` under the sheet's name).\n\
         - `texts/`: the project's own words, one file per unit (`sunward init --texts` drafts them\n  \
           once the exports are in; replace every 【待补充】).\n\
         - `pipelines/`, `report-templates/`: as shipped with Sunward; edit them to change a report.\n\n\
         Then, in this folder: `sunward validate` (checks everything, writes nothing) and\n\
         `sunward run` (every report, into `out/`).\n"
    )
}

/// The header a template shows for a column: the first name exports use for
/// it (Chinese), else its canonical name.
fn header(column: &ColumnSpec) -> &'static str {
    column.headers.first().copied().unwrap_or(column.name)
}

/// The CSV template of a table: its header line, UTF-8 with a byte-order mark
/// so that spreadsheet programs read the Chinese headers right.
fn csv_template(contract: &Contract, table: &str) -> String {
    let Some(spec) = contract.table(table) else { return String::new() };
    let names: Vec<&str> = spec.columns.iter().map(header).collect();
    format!("\u{feff}{}\n", names.join(","))
}

/// The workbook template: a sheet per table with Chinese headers, each code
/// column a drop-down list of its codes, and a sheet `代码` listing every
/// code with its Chinese name.
fn xlsx_template(contract: &Contract) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DataValidation, Format, Formula, Workbook};
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    // The code lists first, so that the table sheets can point at them:
    // each list's first column in `代码`, by table and column.
    let mut col_of = std::collections::HashMap::new();
    {
        let codes = workbook.add_worksheet().set_name("代码")?;
        let mut col: u16 = 0;
        for table in contract.table_names() {
            let Some(spec) = contract.table(table) else { continue };
            for column in spec.columns.iter().filter(|c| c.codes.is_some()) {
                let list = column.codes.unwrap_or_default();
                codes.write_string_with_format(0, col, format!("{table}.{}", column.name), &bold)?;
                codes.write_string_with_format(0, col + 1, "中文", &bold)?;
                for (i, code) in list.iter().enumerate() {
                    let row = i as u32 + 1;
                    codes.write_string(row, col, *code)?;
                    let zh = column.names.iter().find(|n| n.code == *code).and_then(|n| n.zh).unwrap_or("");
                    codes.write_string(row, col + 1, zh)?;
                }
                codes.set_column_width(col, 22)?;
                codes.set_column_width(col + 1, 16)?;
                col_of.insert((table, column.name), col);
                col += 3;
            }
        }
    }
    for table in contract.table_names() {
        let Some(spec) = contract.table(table) else { continue };
        let sheet = workbook.add_worksheet().set_name(table)?;
        for (i, column) in spec.columns.iter().enumerate() {
            let c = i as u16;
            sheet.write_string_with_format(0, c, header(column), &bold)?;
            sheet.set_column_width(c, 14)?;
            if let Some(&at) = col_of.get(&(table, column.name)) {
                let n = column.codes.map_or(0, <[&str]>::len) as u32;
                let letter = rust_xlsxwriter::utility::column_number_to_name(at);
                let range = format!("='代码'!${letter}$2:${letter}${}", n + 1);
                let mut message: String = column
                    .names
                    .iter()
                    .map(|n| format!("{} {}", n.code, n.zh.unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("；");
                if message.chars().count() > 250 {
                    message = "见“代码”表".to_string();
                }
                let validation = DataValidation::new()
                    .allow_list_formula(Formula::new(range))
                    .set_input_title("填写代码")?
                    .set_input_message(message)?;
                sheet.add_data_validation(1, c, 100_000, c, &validation)?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
    }
    workbook.save_to_buffer()
}

/// Write `contents` to `path` unless something is there already; say what happened.
fn write_new(path: &Path, contents: &[u8], written: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    if path.exists() {
        return Err(Diagnostic::invalid(format!("{} exists already", path.display()))
            .hint("sunward init never overwrites a file: move it away, or choose another folder"));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Diagnostic::runtime(format!("cannot create the folder {}", parent.display())).caused_by(e))?;
    }
    std::fs::write(path, contents)
        .map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
    written.push(path.to_path_buf());
    Ok(())
}

/// A new project in `dir`.
fn new_project(dir: &Path, name: Option<&str>) -> Result<Vec<PathBuf>, Diagnostic> {
    if dir.join(PROJECT_FILE).exists() {
        return Err(Diagnostic::invalid(format!("{} is a project already (it has {PROJECT_FILE})", dir.display()))
            .hint(format!("`sunward init --texts {}` drafts its missing texts", dir.display())));
    }
    let name = match name {
        Some(n) => n.to_string(),
        None => std::path::absolute(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "project".to_string()),
    };
    if name.contains(['\n', '"', ':', '#']) || name.trim().is_empty() {
        return Err(Diagnostic::invalid(format!("\"{name}\" cannot name a project"))
            .hint("give a name without newlines, quotes, colons or #, with --name"));
    }
    // Check every file first: a refusal leaves nothing half-made.
    let contract = Contract::builtin();
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![
        (dir.join(PROJECT_FILE), project_file(&name, chrono::Local::now().date_naive()).into_bytes()),
        (dir.join("README.md"), project_readme(&name).into_bytes()),
    ];
    files.extend(SHIPPED.iter().map(|(path, text)| (dir.join(path), text.as_bytes().to_vec())));
    for table in contract.table_names() {
        files.push((dir.join("templates").join(format!("{table}.csv")), csv_template(contract, table).into_bytes()));
    }
    let workbook =
        xlsx_template(contract).map_err(|e| Diagnostic::runtime(format!("cannot make the workbook template: {e}")))?;
    files.push((dir.join("templates/exports.xlsx"), workbook));
    if let Some((path, _)) = files.iter().find(|(path, _)| path.exists()) {
        return Err(Diagnostic::invalid(format!("{} exists already", path.display()))
            .hint("sunward init never overwrites a file: choose an empty folder"));
    }
    let mut written = Vec::new();
    for (path, contents) in &files {
        write_new(path, contents, &mut written)?;
    }
    for folder in ["data", "texts/annual-review", "texts/government-summary"] {
        std::fs::create_dir_all(dir.join(folder)).map_err(|e| {
            Diagnostic::runtime(format!("cannot create the folder {}", dir.join(folder).display())).caused_by(e)
        })?;
    }
    Ok(written)
}

/// Drafts of every missing text of the project in `dir`, written in place.
fn draft_texts(registry: &Registry, dir: &Path) -> Result<(Vec<PathBuf>, usize), i32> {
    let project = dir.join(PROJECT_FILE);
    if !project.is_file() {
        let d = Diagnostic::invalid(format!("{} has no {PROJECT_FILE}", dir.display()))
            .hint(format!("make the project first: sunward init {}", dir.display()));
        errln!("{}", d.render(None));
        return Err(2);
    }
    let out = dir.join("out");
    let flow = workflow::load(&project, &[], &out).map_err(|diags| workflow::print_errors(&project, &diags))?;
    let runtime = crate::commands::tokio_runtime()?;
    // What an earlier pipeline writes (inside out/) is not there yet, as in `validate`.
    let out_abs = crate::commands::absolute(&out);
    let made_earlier = |f: &Path| crate::commands::absolute(f).starts_with(&out_abs);
    let mut written = Vec::new();
    let mut skipped = 0;
    for stage in &flow.stages {
        let options = ValidateOptions::now(stage.sets.clone(), out.clone());
        let plan = validate_file(&stage.pipeline, registry, &options)
            .map_err(|diags| PipelineText::read(&stage.pipeline).print_errors(&diags))?;
        let drafts = runtime
            .block_on(sunward_engine::check::drafts(&plan, &sunward_engine::RunOptions::default(), &made_earlier))
            .map_err(|d| PipelineText::read(&stage.pipeline).print_errors(std::slice::from_ref(&d)))?;
        let has_units = plan.outputs.iter().any(|o| o.plugin.per_row(&o.config).is_some());
        if has_units
            && drafts.is_empty()
            && !plan.sources.iter().all(|s| {
                s.plugin.files(&s.config, &plan.run).is_ok_and(|f| f.iter().all(|f| f.is_file() || made_earlier(f)))
            })
        {
            skipped += 1;
        }
        for (path, text) in drafts {
            // Two entries of one pipeline (standard and official) share their texts.
            if written.contains(&path) {
                continue;
            }
            write_new(&path, text.as_bytes(), &mut written).map_err(|d| {
                errln!("{}", d.render(None));
                2
            })?;
        }
    }
    Ok((written, skipped))
}

/// `sunward init`.
pub fn run(registry: &Registry, dir: &Path, texts: bool, name: Option<&str>) -> i32 {
    if texts {
        return match draft_texts(registry, dir) {
            Ok((written, skipped)) => {
                for path in &written {
                    outln!("wrote {}", path.display());
                }
                if written.is_empty() {
                    if skipped > 0 {
                        outln!(
                            "no drafts: the units come from the exports, and some are not in {} yet",
                            dir.join("data").display()
                        );
                    } else {
                        outln!("no drafts: every text is there already");
                    }
                } else {
                    outln!(
                        "{} draft{} to write: replace every 【待补充】, then `sunward validate`",
                        written.len(),
                        if written.len() == 1 { "" } else { "s" }
                    );
                }
                0
            }
            Err(code) => code,
        };
    }
    match new_project(dir, name) {
        Ok(written) => {
            outln!("made the project {} ({} files):", dir.display(), written.len());
            outln!("  {PROJECT_FILE}          the settings and the list of reports");
            outln!("  data/                 put the exports here (templates/ shows each table's columns)");
            outln!("  texts/                the project's own words (`sunward init --texts` drafts them)");
            outln!("next: fill data/, check the values in {PROJECT_FILE}, then in {}:", dir.display());
            outln!("  sunward init --texts . && sunward validate && sunward run");
            0
        }
        Err(d) => {
            errln!("{}", d.render(None));
            d.kind.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(text: &str, key: &str) -> String {
        let line = text.lines().find(|l| l.trim_start().starts_with(&format!("{key}:"))).unwrap();
        line.split_once(':').unwrap().1.trim().to_string()
    }

    #[test]
    fn the_years_of_a_new_project_are_the_last_complete_ones() {
        // (today, baseline_year, current_year, year, academic_year), worked out by hand.
        let cases = [
            ("2026-12-07", "2023", "2025", "2025", "2024"),
            ("2026-08-31", "2022", "2024", "2025", "2024"),
            ("2026-09-01", "2023", "2025", "2025", "2024"),
            ("2027-01-01", "2023", "2025", "2026", "2025"),
        ];
        for (today, baseline, current, year, class_year) in cases {
            let date = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
            let text = project_file("测试区", date);
            assert_eq!(param(&text, "baseline_year"), baseline, "{today}");
            assert_eq!(param(&text, "current_year"), current, "{today}");
            assert_eq!(param(&text, "year"), year, "{today}");
            assert_eq!(param(&text, "academic_year"), class_year, "{today}");
            assert_eq!(param(&text, "report_date"), today);
            assert!(workflow::is_workflow(&text), "the project file is a workflow");
        }
    }

    #[test]
    fn a_csv_template_has_the_chinese_header_of_every_column() {
        let contract = Contract::builtin();
        let text = csv_template(contract, "services");
        let header: Vec<&str> = text.trim_start_matches('\u{feff}').trim_end().split(',').collect();
        let spec = contract.table("services").unwrap();
        assert_eq!(header.len(), spec.columns.len());
        assert_eq!(header[0], "记录编号");
        assert!(header.contains(&"服务类型"));
    }
}
