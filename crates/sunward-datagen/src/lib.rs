//! `sunward datagen`: a deterministic generator of the seventeen canonical
//! tables of the data contract — schools, enrolment, classes, services, cases,
//! screenings, incidents, outcomes, attendance, centres, followups, and the
//! access tables (workers, rosters, appointments, feedback, terms, holidays;
//! [`access`]) — for sample data, tests and load tests. The district mental-health centres'
//! own services (their hotline calls and walk-in counselling) are rows of the
//! `services` contract in a file of their own, `centre_services`, so that
//! `services` stays the schools' services: eighteen files in all ([`FILES`]).
//!
//! A [`Preset`] (`project`, `taicang`, `qingpu`, or `custom` sizes) becomes a
//! [`spec::Spec`]; the spec and a seed make a [`world::World`] (students year by
//! year, classes, on-site days) and a [`plan::Plan`] (service volumes, cases
//! and their path through the prevention loop, [`prevention`]); then each
//! file is streamed to `<file>.csv` or `<file>.parquet`.
//!
//! - **Deterministic**: all randomness is ChaCha8, with one stream per table
//!   and school (or year) derived from the seed ([`rng`]); no hash-map order
//!   reaches the output; Parquet and XLSX files carry no timestamps. The same
//!   seed gives byte-identical files.
//! - **Streaming**: rows are written as they are made (CSV through a buffered
//!   writer, Parquet in batches of [`sink::BATCH_ROWS`]); only the plan (counts
//!   and the case list) is held, so a hundred million service rows never sit in
//!   memory.
//! - **Valid**: every row keeps the contract (unique keys, existing
//!   references, codes from the lists, participants ≥ 1, `closed_on` ≥
//!   `opened_on`, `returned_on` ≥ `leave_on`, a school or a centre on each
//!   service, a case or a screening on each follow-up). Dates lie from 2000
//!   to the end of the data (at the latest 2026-08-31), but for the deadline
//!   of a planned follow-up, at most a week later.
//! - **Atomic**: each file is written beside its destination and renamed
//!   into place when complete.
//!
//! The `project` preset reproduces a two-school review's 2025 figures exactly
//! (see [`plan::PROJECT_2025`]); `taicang` an extreme-incident rate falling
//! from about 5.3 to 2.8 per 1,000 students; `qingpu` a screening closed loop
//! of about 0.85. Every preset has one centre per district, its hotline
//! taking about four calls per 1,000 students a year. [`Options::exports`]
//! adds real-style exports (GB18030 CSV with Chinese headers and labels, an
//! XLSX case register, raw roll numbers instead of `student_ref`) — see
//! [`export`].

pub mod access;
pub mod calendar;
pub mod export;
pub mod names;
pub mod plan;
pub mod prevention;
pub mod rng;
pub mod sink;
pub mod spec;
pub mod tables;
pub mod times;
pub mod world;

pub use sink::Written;
pub use spec::{CustomOptions, LAST_YEAR, Preset, parse_years};

use sink::{CsvLayout, CsvSink, Keys, ParquetSink, TableSink};
use std::path::{Path, PathBuf};
use sunward_core::contract::{self, TableSpec};
use sunward_core::{Diagnostic, Result};

/// The files, in the order they are written: each file's name (without
/// extension) and the contract table its rows follow. Every table has its
/// file; `centre_services` holds the centres' own rows of `services`.
pub const FILES: [(&str, &str); 18] = [
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

/// Rows between two progress reports of a table.
pub const ROWS_PER_REPORT: u64 = 65_536;

/// The file format of the canonical tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `<table>.csv`: UTF-8 without BOM, `\n`, ISO dates, empty field = null.
    Csv,
    /// `<table>.parquet`: Utf8, Int64, Float64 and Date32 columns, Snappy.
    Parquet,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The data set.
    pub preset: Preset,
    /// The seed: the same seed gives the same files.
    pub seed: u64,
    /// Format of the canonical tables.
    pub format: Format,
    /// Folder for the canonical tables.
    pub out: PathBuf,
    /// Folder for the real-style exports, if wanted.
    pub exports: Option<PathBuf>,
    /// Overwrite files that already exist.
    pub force: bool,
}

/// Receives progress while tables are written.
pub trait Progress: Sync {
    /// A table is starting.
    fn table(&self, _table: &str) {}
    /// Rows written so far in a table (every [`ROWS_PER_REPORT`] rows).
    fn rows(&self, _table: &str, _rows: u64) {}
}

/// A [`Progress`] that shows nothing.
pub struct Silent;

impl Progress for Silent {}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The canonical tables.
    pub tables: Vec<Written>,
    /// The exports.
    pub exports: Vec<Written>,
}

fn contract_table(name: &str) -> Result<&'static TableSpec> {
    contract::table(name).ok_or_else(|| Diagnostic::runtime(format!("internal: table {name} is not in the contract")))
}

/// The file names `generate` writes into the canonical folder.
pub fn table_files(format: Format) -> Vec<String> {
    FILES.iter().map(|(file, _)| format!("{file}.{}", format.extension())).collect()
}

/// The file names `generate` writes into the exports folder.
pub fn export_files() -> Vec<String> {
    FILES.iter().map(|(file, _)| export::file_name(file)).collect()
}

/// Refuse a folder that is a file, or that already holds files we would write (unless `force`).
fn check_folder(dir: &Path, files: &[String], force: bool, flag: &str) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Diagnostic::invalid(format!("{flag} {} is a file, not a folder", dir.display()))
            .hint("name a folder (it is created if missing)"));
    }
    let existing: Vec<&str> = files.iter().filter(|f| dir.join(f).exists()).map(String::as_str).collect();
    if !existing.is_empty() && !force {
        let shown: Vec<&str> = existing.iter().take(4).copied().collect();
        let more = if existing.len() > 4 { format!(" and {} more", existing.len() - 4) } else { String::new() };
        return Err(Diagnostic::invalid(format!("{} already holds {}{more}", dir.display(), shown.join(", ")))
            .hint("pass --force to overwrite them, or choose another folder"));
    }
    Ok(())
}

/// Generate the tables (and the exports, if asked for).
pub fn generate(options: &Options, progress: &dyn Progress) -> Result<Summary> {
    let spec = options.preset.spec()?;
    check_folder(&options.out, &table_files(options.format), options.force, "--out")?;
    if let Some(dir) = &options.exports {
        if same_folder(dir, &options.out) {
            return Err(Diagnostic::invalid("--exports must name another folder than --out")
                .hint("e.g. --out data/project --exports data/project-exports"));
        }
        check_folder(dir, &export_files(), options.force, "--exports")?;
    }
    let keys = Keys { seed: options.seed, region: spec.region };
    let world = world::World::new(spec, options.seed)?;
    let plan = plan_world(&world)?;
    let mut summary = Summary::default();
    for (name, contract_name) in FILES {
        let table = contract_table(contract_name)?;
        let path = options.out.join(format!("{name}.{}", options.format.extension()));
        let sink: Box<dyn TableSink> = match options.format {
            Format::Csv => Box::new(CsvSink::create(&path, name, CsvLayout::canonical(table), keys)?),
            Format::Parquet => Box::new(ParquetSink::create(&path, name, table, keys)?),
        };
        summary.tables.push(write_one(name, sink, &world, &plan, progress)?);
    }
    if let Some(dir) = &options.exports {
        for (name, contract_name) in FILES {
            let sink = export::sink(dir, name, contract_table(contract_name)?, keys)?;
            summary.exports.push(write_one(name, sink, &world, &plan, progress)?);
        }
    }
    Ok(summary)
}

/// The plan of a world: its services and cases, and each case's loop.
pub fn plan_world(world: &world::World) -> Result<plan::Plan> {
    let mut plan = plan::plan(world)?;
    plan.loops = prevention::case_loops(world, &plan.cases);
    Ok(plan)
}

/// Write file `table` (a name of [`crate::FILES`]) of the world.
fn write_table(table: &str, world: &world::World, plan: &plan::Plan, out: &mut sink::Out<'_>) -> Result<()> {
    match table {
        "schools" => tables::schools(world, out),
        "enrolment" => tables::enrolment(world, out),
        "classes" => tables::classes(world, out),
        "services" => tables::services(world, plan, out),
        "cases" => tables::cases(world, plan, out),
        "screenings" => tables::screenings(world, out),
        "incidents" => tables::incidents(world, out),
        "outcomes" => tables::outcomes(world, plan, out),
        "attendance" => tables::attendance(world, out),
        "centres" => tables::centres(world, out),
        "centre_services" => tables::centre_services(world, plan, out),
        "followups" => tables::followups(world, plan, out),
        "workers" => access::workers(world, out),
        "rosters" => access::rosters(world, out),
        "appointments" => access::appointments(world, plan, out),
        "feedback" => access::feedback(world, plan, out),
        "terms" => access::terms(world, out),
        "holidays" => access::holidays(world, out),
        other => Err(Diagnostic::runtime(format!("internal: no generator for table {other}"))),
    }
}

fn write_one(
    name: &'static str,
    sink: Box<dyn TableSink>,
    world: &world::World,
    plan: &plan::Plan,
    progress: &dyn Progress,
) -> Result<Written> {
    progress.table(name);
    let mut out = sink::Out { sink, table: name, rows: 0, progress };
    write_table(name, world, plan, &mut out)?;
    progress.rows(name, out.rows);
    let sink::Out { sink, rows, .. } = out;
    sink.finish(rows)
}

fn same_folder(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    a == b || canon(a) == canon(b)
}
