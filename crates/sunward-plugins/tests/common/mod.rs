//! What the source tests share: a run context for a folder, and reading a
//! source to its end or its first error.

#![allow(dead_code)]

use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::Path;
use sunward_core::plugin::PluginHandle;
use sunward_core::{Diagnostic, PluginKind, RawRow, RunContext};

/// A run context whose pipeline and output folder are `dir`.
pub fn ctx(dir: &Path) -> RunContext {
    RunContext {
        pipeline_dir: dir.to_path_buf(),
        out_dir: dir.to_path_buf(),
        params: BTreeMap::new(),
        as_of: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        sql_functions: Default::default(),
        contract: sunward_core::contract::Contract::builtin(),
    }
}

/// Open a source and read it to the end (or to its first error).
pub fn read(plugin: &str, dir: &Path, config: serde_json::Value) -> Result<(Vec<String>, Vec<RawRow>), Diagnostic> {
    let (headers, rows, error) = read_until_error(plugin, dir, config)?;
    match error {
        Some(e) => Err(e),
        None => Ok((headers, rows)),
    }
}

/// Headers, the rows read, and the error that stopped the reading if any.
pub type Partial = (Vec<String>, Vec<RawRow>, Option<Diagnostic>);

/// Open a source and read it, keeping the rows yielded before an error.
pub fn read_until_error(plugin: &str, dir: &Path, config: serde_json::Value) -> Result<Partial, Diagnostic> {
    let registry = sunward_plugins::builtin_registry();
    let Some(PluginHandle::Source(source)) = registry.get(PluginKind::Source, plugin) else { panic!("{plugin}") };
    let config = source.parse(config).map_err(|e| Diagnostic::invalid(e.to_string()))?;
    let mut reader = source.open(&config, &ctx(dir))?;
    let headers = reader.headers().to_vec();
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row() {
        match row {
            Ok(row) => rows.push(row),
            Err(e) => {
                assert!(reader.next_row().is_none(), "a reader stops after an error");
                return Ok((headers, rows, Some(e)));
            }
        }
    }
    Ok((headers, rows, None))
}
