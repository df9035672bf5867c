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
mod parse;
mod progress;
mod report;
mod stopping;
mod test;
mod workflow;

use clap::{Parser, Subcommand};
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
    Run(commands::RunArgs),
    /// Validate a pipeline (or a workflow) and check its inputs and queries without running it.
    Validate(commands::ValidateArgs),
    /// Run a pipeline's data checks on its inputs, then its tests (tests/<pipeline>/*.yaml
    /// beside it: given rows for sources, expected rows of tables).
    Test(test::TestArgs),
    /// Describe the plugins this binary knows: settings, shared options, example.
    Plugins(describe::PluginsArgs),
    /// Print the JSON Schema (draft 2020-12) of the pipeline format, for editors
    /// (with --markdown, the reference of every key, as in docs/PIPELINE-KEYS.md).
    Schema(describe::SchemaArgs),
    /// Generate the canonical tables of a preset or custom data set (deterministic).
    Datagen(datagen::DatagenArgs),
    /// Print the data contract: the canonical tables, their columns, codes and rules (as a pipeline extends them, with --pipeline).
    Contract(contract::ContractArgs),
    /// Make a project folder for a district or an organisation (settings, export
    /// templates, the shipped pipelines); with --texts, draft its missing texts.
    Init(init::InitArgs),
    /// Serve a cluster that `sunward run --engine ballista://HOST:PORT` runs SQL steps on.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

/// Run the `sunward` command line with the plugins in `registry`, reading the
/// process arguments, and return the exit code.
pub fn main_with(registry: Registry) -> ExitCode {
    // Ctrl-C or SIGTERM: remove what the run has not finished (staging folders,
    // partial output files) and say so; finished outputs stay as they are.
    let _ = ctrlc::set_handler(|| stopping::stop("interrupted", 130));
    let code = run_cli(std::env::args_os(), registry);
    stopping::wait_if_stopping();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

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
