//! The `sunward` command line as a library, so that a plugin crate can build its
//! own `sunward` binary with extra plugins: make a [`Registry`] (the built-ins
//! from `sunward_plugins::builtin_registry()` plus your own) and hand it to
//! [`main_with`].
//!
//! Subcommands: `run` (validate, check, run a pipeline, or every pipeline of
//! a workflow file in order), `validate` (validate and check only), `plugins` (describe the registered plugins), `schema`
//! (the JSON Schema of the pipeline format) and `datagen` (write the
//! canonical tables of a preset or custom data set, deterministically), `contract`
//! (the data contract) and `cluster` (a Ballista scheduler or executor, for
//! `run --engine ballista://…`). Exit codes follow
//! [`sunward_core::ErrorKind::exit_code`]: 0 ok, 1 runtime failure, 2 invalid
//! pipeline or usage, 3 too many rejected rows, 4 a data check (or, for
//! `test`, a pipeline test) failed.

/// `println!` for a reader that may stop reading: a closed stdout (`sunward
/// validate … | head -1`) is not an error of the command.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` for a reader that may stop reading (`sunward run … 2>&1 | head -3`).
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod cluster;
mod commands;
mod contract;
mod datagen;
mod describe;
mod init;
mod progress;
mod report;
mod test;
mod workflow;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use sunward_core::Registry;

/// Turn Chinese school social-work exports into tables, run SQL on them, write reports.
#[derive(Debug, Parser)]
#[command(name = "sunward", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a pipeline, check its inputs, then run it and write its outputs
    /// (or every pipeline of a workflow file, in order, into one folder).
    Run(RunArgs),
    /// Validate a pipeline (or a workflow) and check its inputs and queries without running it.
    Validate(ValidateArgs),
    /// Run a pipeline's data checks on its inputs, then its tests (tests/<pipeline>/*.yaml
    /// beside it: given rows for sources, expected rows of tables).
    Test(TestArgs),
    /// Describe the plugins this binary knows: settings, shared options, example.
    Plugins(PluginsArgs),
    /// Print the JSON Schema (draft 2020-12) of the pipeline format, for editors
    /// (with --markdown, the reference of every key, as in docs/PIPELINE-KEYS.md).
    Schema(SchemaArgs),
    /// Generate the canonical tables of a preset or custom data set (deterministic).
    Datagen(DatagenArgs),
    /// Print the data contract: the canonical tables, their columns, codes and rules (as a pipeline extends them, with --pipeline).
    Contract(ContractArgs),
    /// Make a project folder for a district or an organisation (settings, export
    /// templates, the shipped pipelines); with --texts, draft its missing texts.
    Init(InitArgs),
    /// Serve a cluster that `sunward run --engine ballista://HOST:PORT` runs SQL steps on.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

/// Arguments of `sunward schema`.
#[derive(Debug, Args)]
struct SchemaArgs {
    /// Print every key of a pipeline and a workflow file, and every plugin's
    /// settings, as Markdown (docs/PIPELINE-KEYS.md) instead of the JSON Schema.
    #[arg(long)]
    markdown: bool,
}

/// Arguments of `sunward init`.
#[derive(Debug, Args)]
struct InitArgs {
    /// The project folder (made if missing; nothing in it is ever overwritten).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Draft every unit's missing texts (from the unit lists the exports in
    /// data/ give) instead of making the project.
    #[arg(long)]
    texts: bool,
    /// The project's name (default: the folder's name).
    #[arg(long, conflicts_with = "texts")]
    name: Option<String>,
}

/// Arguments of `sunward contract`.
#[derive(Debug, Args)]
struct ContractArgs {
    /// Print Markdown (as in docs/CONTRACT.md) instead of text.
    #[arg(long)]
    markdown: bool,
    /// Print the contract as this pipeline sees it, with what its `contract:` adds.
    #[arg(long, value_name = "PIPELINE")]
    pipeline: Option<PathBuf>,
    /// A parameter of that pipeline, as `--set name=value` (repeatable).
    #[arg(long, value_name = "NAME=VALUE", requires = "pipeline")]
    set: Vec<String>,
}

/// Arguments of `sunward run`.
#[derive(Debug, Args)]
struct RunArgs {
    /// The pipeline file, or a workflow file listing pipelines (YAML); in a
    /// project folder (`sunward init`), its sunward.yaml by default.
    #[arg(default_value = init::PROJECT_FILE)]
    pipeline: PathBuf,
    /// Set a parameter, e.g. `--set year=2024` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// The output folder; relative output paths resolve against it.
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,
    /// Memory the query engine may use before spilling to disk, e.g. 512M or 2G.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    memory_limit: Option<usize>,
    /// Where large tables wait between steps (a folder made and removed inside
    /// it; default: the output folder). The tables held in memory stay
    /// together under an eighth of --memory-limit (256 MiB without one);
    /// the rest are staged there as Parquet.
    #[arg(long, value_name = "DIR")]
    stage: Option<PathBuf>,
    /// Read every source afresh: neither use nor fill the cache of checked sources.
    #[arg(long)]
    no_cache: bool,
    /// The cache of checked sources (default: $SUNWARD_CACHE_DIR, else
    /// $XDG_CACHE_HOME/sunward/sources, else ~/.cache/sunward/sources).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// The cache's size limit; the least recently used entries beyond it are removed.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory, default_value = "4G")]
    cache_size: usize,
    /// No progress display and no summary; errors and warnings are still printed.
    #[arg(long, short)]
    quiet: bool,
    /// Read a metrics table (a `produced_by` source) even when its manifest shows
    /// other inputs or parameters than this run's; each difference becomes a warning.
    #[arg(long)]
    allow_stale_metrics: bool,
    /// Where the run's work is done: `local` (this process) or `ballista://HOST:PORT`
    /// (an Apache Ballista cluster started with `sunward cluster`, whose
    /// executors load the sources and run the SQL steps; the project, its data
    /// and --stage must then be folders every machine of the cluster sees at the
    /// same paths).
    #[arg(long, value_name = "ENGINE", env = "SUNWARD_ENGINE", default_value = "local", value_parser = parse_engine)]
    engine: EngineArg,
    /// The cluster's credential (a member folder made by `sunward cluster cert`) for a
    /// cluster started with --tls: every connection to it is then made over TLS.
    #[arg(long, value_name = "DIR", env = "SUNWARD_CLUSTER_TLS")]
    cluster_tls: Option<PathBuf>,
    /// With a cluster engine: read, type and check the sources in this process
    /// (the SQL steps still run on the cluster), for sources the executors cannot see.
    #[arg(long)]
    load_on_client: bool,
    /// With a cluster engine: a source file larger than this (e.g. 128M) is
    /// read by the executors in parts of about this size, side by side (CSV
    /// in UTF-8 and Parquet; other formats are read whole). `0` (the
    /// default): every file is read whole by one executor.
    #[arg(long, value_name = "SIZE", value_parser = parse_part_size, default_value = "0")]
    load_part_size: usize,
    /// Stop the run (a workflow: all of it) after this long, e.g. 90s, 10m or
    /// 1h 30m, as Ctrl-C would: nothing unfinished is kept, exit code 124.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<std::time::Duration>,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration =
        humantime::parse_duration(text).map_err(|e| format!("{e}: write a duration such as 90s, 10m or 1h 30m"))?;
    if duration.is_zero() {
        return Err("a timeout of zero would stop every run at once".into());
    }
    Ok(duration)
}

/// Where a run's steps execute.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EngineArg {
    /// This process.
    Local,
    /// A Ballista cluster: the URL as given.
    Ballista(String),
}

fn parse_engine(text: &str) -> Result<EngineArg, String> {
    if text == "local" {
        return Ok(EngineArg::Local);
    }
    sunward_cluster::client::parse_url(text)
        .map(|_| EngineArg::Ballista(text.to_string()))
        .map_err(|d| format!("{}; {}", d.message, d.hint.unwrap_or_default()))
}

/// Arguments of `sunward validate`.
#[derive(Debug, Args)]
struct ValidateArgs {
    /// The pipeline file, or a workflow file listing pipelines (YAML); in a
    /// project folder (`sunward init`), its sunward.yaml by default.
    #[arg(default_value = init::PROJECT_FILE)]
    pipeline: PathBuf,
    /// Set a parameter, e.g. `--set year=2024` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Report a stale metrics table as a warning instead of an error.
    #[arg(long)]
    allow_stale_metrics: bool,
}

/// Arguments of `sunward test`.
#[derive(Debug, Args)]
struct TestArgs {
    /// The pipeline file, or a workflow (each of its pipelines with tests or checks);
    /// in a project folder, its sunward.yaml by default.
    #[arg(default_value = init::PROJECT_FILE)]
    pipeline: PathBuf,
    /// Set a parameter for the checks and every test, e.g. `--set data_dir=exports` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

/// Arguments of `sunward plugins`.
#[derive(Debug, Args)]
struct PluginsArgs {
    /// Show only the plugin(s) of this name.
    name: Option<String>,
    /// Show only plugins of this kind.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// List the SQL functions, with those this pipeline declares (`functions:` and its `include:` files).
    #[arg(long, value_name = "FILE")]
    pipeline: Option<PathBuf>,
}

/// Arguments of `sunward datagen`.
#[derive(Debug, Args)]
struct DatagenArgs {
    /// The data set: `project` (one organisation, two schools, 2024-09-01 .. 2025-12-31),
    /// `taicang` (20 schools, AY2022–AY2024), `qingpu` (11 schools, AY2023–AY2024) or
    /// `custom` (sizes from --schools, --districts, --years, --scale, --service-rows).
    #[arg(long, value_enum)]
    preset: PresetArg,
    /// The folder for the tables (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The format of the tables.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    format: FormatArg,
    /// Also write real-style exports into this folder: GB18030 CSV and XLSX with Chinese
    /// headers and labels, and raw roll numbers (学籍号) instead of student_ref.
    #[arg(long, value_name = "DIR")]
    exports: Option<PathBuf>,
    /// Overwrite files that already exist.
    #[arg(long)]
    force: bool,
    /// custom: the number of schools (1–9,999) [default: 10].
    #[arg(long, value_name = "N")]
    schools: Option<u32>,
    /// custom: the number of districts (1–schools) [default: 1].
    #[arg(long, value_name = "N")]
    districts: Option<u32>,
    /// custom: the academic years, e.g. 2022..2024 (AY2022 starts 2022-09-01) [default: 2022..2024].
    #[arg(long, value_name = "FIRST..LAST", value_parser = parse_years)]
    years: Option<(i32, i32)>,
    /// custom: multiply the service volume (events per student) by this [default: 1].
    #[arg(long, value_name = "F")]
    scale: Option<f64>,
    /// custom: write exactly this many service rows (instead of --scale).
    #[arg(long, value_name = "N")]
    service_rows: Option<u64>,
    /// No progress display and no summary; errors are still printed.
    #[arg(long, short)]
    quiet: bool,
}

/// A `--preset` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PresetArg {
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
enum FormatArg {
    /// `<table>.csv`, UTF-8.
    Csv,
    /// `<table>.parquet`.
    Parquet,
}

fn parse_years(text: &str) -> Result<(i32, i32), String> {
    sunward_datagen::parse_years(text)
}

/// A plugin kind on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    /// Sources (`sources:`).
    Source,
    /// Transforms (`steps:`).
    Transform,
    /// Sinks (`outputs:`).
    Sink,
    /// SQL functions every `sql` step can call (the statistics functions, and plugins' own).
    Function,
}

/// A part size: a size, or `0` for none.
fn parse_part_size(text: &str) -> Result<usize, String> {
    if text.trim() == "0" { Ok(0) } else { parse_memory(text) }
}

fn parse_memory(text: &str) -> Result<usize, String> {
    sunward_engine::session::parse_size(text)
}

/// Run the `sunward` command line with the plugins in `registry`, reading the
/// process arguments, and return the exit code.
pub fn main_with(registry: Registry) -> ExitCode {
    // Ctrl-C or SIGTERM: remove what the run has not finished (staging folders,
    // partial output files) and say so; finished outputs stay as they are.
    let _ = ctrlc::set_handler(|| stop("interrupted", 130));
    let code = run_cli(std::env::args_os(), registry);
    wait_if_stopping();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Stop the process at once, as Ctrl-C, SIGTERM or `--timeout` ask: remove
/// what the run has not finished and say so. A pipeline's outputs are
/// published as a set when it succeeds, so the outputs of its previous run
/// stay as they were.
pub(crate) fn stop(why: &str, code: i32) -> ! {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    let removed = sunward_core::cleanup::remove_all();
    if RUNNING_PIPELINES.load(std::sync::atomic::Ordering::SeqCst) {
        errln!(
            "sunward: {why}; nothing of the pipeline being run was published ({removed} unfinished files and \
             staging folders removed); outputs written before it are as they were"
        );
    } else {
        errln!("sunward: {why}; stopped ({removed} temporary files and folders removed)");
    }
    std::process::exit(code);
}

/// Set once [`stop`] has begun: the run's own ending (a job that fails
/// because [`stop`] cancelled it) then waits for [`stop`] to end the process.
pub(crate) static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// If the process is being stopped, wait here for [`stop`] to exit it.
pub(crate) fn wait_if_stopping() {
    while STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::park_timeout(std::time::Duration::from_secs(1));
    }
}

/// Set while `sunward run` runs pipelines (for what [`stop`] says).
pub(crate) static RUNNING_PIPELINES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Run the command line on the given arguments (the first is the program
/// name) and return the exit code, printing to stdout and stderr.
pub fn run_cli<I, T>(args: I, registry: Registry) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with exit code 0; usage errors to stderr with 2.
            let _ = err.print();
            return err.exit_code();
        }
    };
    match cli.command {
        Command::Run(args) => commands::run(&registry, &args),
        Command::Validate(args) => commands::validate(&registry, &args),
        Command::Test(args) => test::run_any(&registry, &args.pipeline, &args.sets),
        Command::Plugins(args) => describe::plugins(&registry, &args),
        Command::Schema(args) => describe::schema(&registry, args.markdown),
        Command::Datagen(args) => datagen::run(&args),
        Command::Contract(args) => contract::run(&args, &registry),
        Command::Init(args) => init::run(&registry, &args.dir, args.texts, args.name.as_deref()),
        Command::Cluster(command) => cluster::run(&command, &registry),
    }
}
