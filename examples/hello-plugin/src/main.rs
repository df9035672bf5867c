//! `sunward-hello`: the whole `sunward` command with the built-in plugins and
//! this crate's `row_number` transform.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut registry = sunward_plugins::builtin_registry();
    sunward_hello_plugin::register(&mut registry);
    sunward_cli::main_with(registry)
}
