//! The `sunward` binary: the built-in plugins and the command line of
//! [`sunward_cli`]. A plugin crate builds its own binary the same way, with its
//! plugins added to the registry.

use std::process::ExitCode;

fn main() -> ExitCode {
    sunward_cli::main_with(sunward_plugins::builtin_registry())
}
