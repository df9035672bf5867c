//! `sunward datagen`: write the seventeen canonical tables of a preset or custom
//! data set (and `centre_services`, the district centres' own rows of
//! `services`) with [`sunward_datagen`], showing progress on stderr (when it
//! is a terminal) and a summary of rows per file on stdout.
//!
//! Usage mistakes (custom sizes with a fixed preset, impossible sizes, an
//! output folder that already holds the files) are diagnostics with exit code
//! 2; a failed write exits with 1.

use crate::progress::TermProgress;
use clap::{Args, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use sunward_core::Diagnostic;
use sunward_datagen::{CustomOptions, Format, Options, Preset, Written};
use sunward_engine::Progress as _;

/// Arguments of `sunward datagen`.
#[derive(Debug, Args)]
pub(crate) struct DatagenArgs {
    /// The data set: `project` (one organisation, two schools, 2024-09-01 .. 2025-12-31),
    /// `taicang` (20 schools, AY2022–AY2024), `qingpu` (11 schools, AY2023–AY2024) or
    /// `custom` (sizes from --schools, --districts, --years, --scale, --service-rows).
    #[arg(long, value_enum)]
    pub(crate) preset: PresetArg,
    /// The folder for the tables (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// The seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// The format of the tables.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub(crate) format: FormatArg,
    /// Also write real-style exports into this folder: GB18030 CSV and XLSX with Chinese
    /// headers and labels, and raw roll numbers (学籍号) instead of student_ref.
    #[arg(long, value_name = "DIR")]
    pub(crate) exports: Option<PathBuf>,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub(crate) force: bool,
    /// custom: the number of schools (1–9,999) [default: 10].
    #[arg(long, value_name = "N")]
    pub(crate) schools: Option<u32>,
    /// custom: the number of districts (1–schools) [default: 1].
    #[arg(long, value_name = "N")]
    pub(crate) districts: Option<u32>,
    /// custom: the academic years, e.g. 2022..2024 (AY2022 starts 2022-09-01) [default: 2022..2024].
    #[arg(long, value_name = "FIRST..LAST", value_parser = parse_years)]
    pub(crate) years: Option<(i32, i32)>,
    /// custom: multiply the service volume (events per student) by this [default: 1].
    #[arg(long, value_name = "F")]
    pub(crate) scale: Option<f64>,
    /// custom: write exactly this many service rows (instead of --scale).
    #[arg(long, value_name = "N")]
    pub(crate) service_rows: Option<u64>,
    /// No progress display and no summary; errors are still printed.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// A `--preset` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PresetArg {
    /// One organisation, a junior and a primary school; exact 2025 review figures.
    Project,
    /// 20 junior and senior schools of 太仓市, AY2022–AY2024.
    Taicang,
    /// 11 schools of 青浦区, AY2023–AY2024.
    Qingpu,
    /// Sizes from --schools, --districts, --years, --scale, --service-rows.
    Custom,
}

/// A `--format` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// `<table>.csv`, UTF-8.
    Csv,
    /// `<table>.parquet`.
    Parquet,
}

pub(crate) fn parse_years(text: &str) -> Result<(i32, i32), String> {
    sunward_datagen::parse_years(text)
}

/// Forwards the generator's progress to the terminal display.
struct Shown(TermProgress);

impl sunward_datagen::Progress for Shown {
    fn table(&self, table: &str) {
        self.0.stage(&format!("writing {table}"));
    }
    fn rows(&self, table: &str, rows: u64) {
        self.0.rows(table, rows);
    }
}

/// The preset the arguments ask for; custom sizes are refused with a fixed preset.
fn preset(args: &DatagenArgs) -> Result<Preset, Diagnostic> {
    let custom_flags = [
        ("--schools", args.schools.is_some()),
        ("--districts", args.districts.is_some()),
        ("--years", args.years.is_some()),
        ("--scale", args.scale.is_some()),
        ("--service-rows", args.service_rows.is_some()),
    ];
    let given: Vec<&str> = custom_flags.iter().filter(|(_, set)| *set).map(|(flag, _)| *flag).collect();
    let fixed = match args.preset {
        PresetArg::Project => Some(Preset::Project),
        PresetArg::Taicang => Some(Preset::Taicang),
        PresetArg::Qingpu => Some(Preset::Qingpu),
        PresetArg::Custom => None,
    };
    if let Some(preset) = fixed {
        if !given.is_empty() {
            return Err(Diagnostic::invalid(format!(
                "{} can only be used with --preset custom, not with --preset {}",
                given.join(", "),
                preset.name()
            ))
            .hint("the presets have fixed sizes; use --preset custom to choose them"));
        }
        return Ok(preset);
    }
    if args.scale.is_some() && args.service_rows.is_some() {
        return Err(Diagnostic::invalid("give --scale or --service-rows, not both")
            .hint("--service-rows N sets the service volume so that services has exactly N rows"));
    }
    let defaults = CustomOptions::default();
    let (first_year, last_year) = args.years.unwrap_or((defaults.first_year, defaults.last_year));
    Ok(Preset::Custom(CustomOptions {
        schools: args.schools.unwrap_or(defaults.schools),
        districts: args.districts.unwrap_or(defaults.districts),
        first_year,
        last_year,
        scale: args.scale.unwrap_or(defaults.scale),
        service_rows: args.service_rows,
    }))
}

fn human(bytes: u64) -> String {
    match bytes {
        0..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{:.1} KB", bytes as f64 / 1_024.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}

fn print_files(out: &mut impl Write, files: &[Written]) {
    let width = files.iter().map(|f| f.table.len()).max().unwrap_or(0);
    for f in files {
        let _ = writeln!(out, "{:width$}  {:>11} rows  {} ({})", f.table, f.rows, f.path.display(), human(f.bytes));
    }
}

/// `sunward datagen`.
pub fn run(args: &DatagenArgs) -> i32 {
    let fail = |d: Diagnostic| {
        let _ = write!(std::io::stderr().lock(), "{}", d.render(None));
        d.kind.exit_code()
    };
    let preset = match preset(args) {
        Ok(p) => p,
        Err(d) => return fail(d),
    };
    let options = Options {
        preset,
        seed: args.seed,
        format: match args.format {
            FormatArg::Csv => Format::Csv,
            FormatArg::Parquet => Format::Parquet,
        },
        out: args.out.clone(),
        exports: args.exports.clone(),
        force: args.force,
    };
    let started = std::time::Instant::now();
    let result = if !args.quiet && std::io::stderr().is_terminal() {
        let shown = Shown(TermProgress::new());
        let result = sunward_datagen::generate(&options, &shown);
        shown.0.finish();
        result
    } else {
        sunward_datagen::generate(&options, &sunward_datagen::Silent)
    };
    match result {
        Ok(summary) => {
            if !args.quiet {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "datagen {} (seed {}):", options.preset.name(), options.seed);
                print_files(&mut out, &summary.tables);
                if !summary.exports.is_empty() {
                    let _ = writeln!(out, "exports:");
                    print_files(&mut out, &summary.exports);
                }
                let _ = writeln!(out, "done in {:.1} s", started.elapsed().as_secs_f64());
            }
            0
        }
        Err(d) => fail(d),
    }
}
