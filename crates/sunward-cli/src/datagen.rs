//! `sunward datagen`: write the seventeen canonical tables of a preset or custom
//! data set (and `centre_services`, the district centres' own rows of
//! `services`) with [`sunward_datagen`], showing progress on stderr (when it
//! is a terminal) and a summary of rows per file on stdout.
//!
//! Usage mistakes (custom sizes with a fixed preset, impossible sizes, an
//! output folder that already holds the files) are diagnostics with exit code
//! 2; a failed write exits with 1.

use crate::progress::TermProgress;
use crate::{DatagenArgs, FormatArg, PresetArg};
use std::io::{IsTerminal, Write};
use sunward_core::Diagnostic;
use sunward_datagen::{CustomOptions, Format, Options, Preset, Written};
use sunward_engine::Progress as _;

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
