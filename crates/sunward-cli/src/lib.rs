//! The `sunward` command line as a library, so that a plugin crate can build its
//! own `sunward` binary with extra plugins: make a [`Registry`] (the built-ins
//! from `sunward_plugins::builtin_registry()` plus your own) and hand it to
//! [`main_with`].
//!
//! Subcommands: `run` (validate, check, run a pipeline), `validate` (validate
//! and check only), `plugins` (describe the registered plugins) and `schema`
//! (the JSON Schema of the pipeline format). Exit codes follow
//! [`sunward_core::ErrorKind::exit_code`]: 0 ok, 1 runtime failure, 2 invalid
//! pipeline or usage, 3 too many rejected rows.

mod commands;
mod describe;
mod progress;
mod report;

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
    /// Validate a pipeline, check its inputs, then run it and write its outputs.
    Run(RunArgs),
    /// Validate a pipeline and check its inputs and queries without running it.
    Validate(ValidateArgs),
    /// Describe the plugins this binary knows: settings, shared options, example.
    Plugins(PluginsArgs),
    /// Print the JSON Schema (draft 2020-12) of the pipeline format, for editors.
    Schema,
}

/// Arguments of `sunward run`.
#[derive(Debug, Args)]
struct RunArgs {
    /// The pipeline file (YAML).
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
    /// No progress display and no summary; errors and warnings are still printed.
    #[arg(long, short)]
    quiet: bool,
}

/// Arguments of `sunward validate`.
#[derive(Debug, Args)]
struct ValidateArgs {
    /// The pipeline file (YAML).
    pipeline: PathBuf,
    /// Set a parameter, e.g. `--set year=2024` (repeatable).
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
}

fn parse_memory(text: &str) -> Result<usize, String> {
    sunward_engine::session::parse_size(text)
}

/// Run the `sunward` command line with the plugins in `registry`, reading the
/// process arguments, and return the exit code.
pub fn main_with(registry: Registry) -> ExitCode {
    let code = run_cli(std::env::args_os(), registry);
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
        Command::Plugins(args) => describe::plugins(&registry, &args),
        Command::Schema => describe::schema(&registry),
    }
}
