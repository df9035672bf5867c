//! What a plugin sees at run time: the [`RunContext`] (parameters,
//! folders, `as_of`, the pipeline's SQL functions and contract) with the
//! paths it resolves and confines ([`confine`]), and a transform's
//! [`StepContext`], which plans its read-only SQL.

use crate::diag::{Diagnostic, Result};
use crate::params::{ParamValue, interpolate};
use crate::sql_functions::SqlFunctions;
use chrono::NaiveDate;
use datafusion::common::ParamValues;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::prelude::DataFrame;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Values a plugin needs at run time: parameters, folders, the `as_of` date.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The folder of the pipeline file; relative input paths resolve against it.
    pub pipeline_dir: PathBuf,
    /// The output folder; relative output paths resolve against it.
    pub out_dir: PathBuf,
    /// Every parameter's value (declared ones, after `--set`).
    pub params: BTreeMap<String, ParamValue>,
    /// Dates more than a year after this are bad rows.
    pub as_of: NaiveDate,
    /// The SQL functions the pipeline declares (`functions:`), expanded in
    /// every query a step plans through [`StepContext::sql`].
    pub sql_functions: Arc<SqlFunctions>,
    /// The data contract the pipeline reads its sources by (the built-in
    /// one, or as its `contract:` extends it): what each code is called.
    pub contract: &'static crate::contract::Contract,
}

impl RunContext {
    /// Replace `${name}` by parameter values.
    pub fn interpolate(&self, template: &str) -> Result<String> {
        interpolate(template, |name| self.params.get(name).map(|v| v.to_string())).map_err(|name| {
            Diagnostic::invalid(format!("unknown parameter `${{{name}}}` in \"{template}\""))
                .hint("declare it under `params:` or write `$${` for a literal `${`")
        })
    }
    /// An input path: interpolated, relative to the pipeline's folder.
    pub fn input_path(&self, template: &str) -> Result<PathBuf> {
        let text = self.interpolate(template)?;
        Ok(resolve(&self.pipeline_dir, Path::new(&text)))
    }
    /// An output path: interpolated, relative to the output folder, and
    /// confined to it ([`confine`]): an absolute path, `..` that climbs out
    /// of it, or a symbolic link on the way (or at the file itself) is an
    /// error, whether it comes from the pipeline, a `--set` value or data.
    pub fn output_path(&self, template: &str) -> Result<PathBuf> {
        let text = self.interpolate(template)?;
        confine(&self.out_dir, &text).map_err(|why| {
            let from = if text == template { String::new() } else { format!(" (from \"{template}\")") };
            Diagnostic::invalid(format!("the output path \"{}\"{from} {why}", crate::diag::excerpt(&text)))
                .hint("outputs are written inside the folder given with --out: write their paths relative to it")
        })
    }
}

/// `path` inside `base`: relative, `..` never climbing above `base`, and no
/// symbolic link among the parts of it that exist already (a link could lead
/// out of `base`, or a planted one turn a write into an overwrite elsewhere).
/// Returns the joined, normalised path, or why it leaves `base`.
pub fn confine(base: &Path, path: &str) -> std::result::Result<PathBuf, String> {
    use std::path::Component;
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err("climbs out of the output folder with `..`".into());
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err("is absolute".into()),
        }
    }
    if parts.is_empty() {
        return Err("names no file".into());
    }
    let mut joined = base.to_path_buf();
    for part in parts {
        joined.push(part);
        if joined.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!("passes through the symbolic link {}", joined.display()));
        }
    }
    Ok(joined)
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() { path.to_path_buf() } else { base.join(path) }
}

/// What a transform sees: the session holding every table loaded or made so
/// far, the run context and its own name.
pub struct StepContext<'a> {
    /// The DataFusion session; tables are registered under their pipeline names.
    pub session: &'a SessionContext,
    /// Parameters and folders.
    pub run: &'a RunContext,
    /// The step's name in the pipeline.
    pub name: &'a str,
}

impl StepContext<'_> {
    /// The SQL a pipeline may run: queries only; DDL, DML and `SET` statements are refused.
    pub fn sql_options() -> SQLOptions {
        SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
    }

    /// Plan a read-only query, binding every parameter to `$name` placeholders
    /// and expanding calls to the pipeline's declared functions.
    pub async fn sql(&self, query: &str) -> Result<DataFrame> {
        let planning =
            |e: DataFusionError| Diagnostic::invalid(format!("the query does not plan: {}", e.message())).caused_by(e);
        let state = self.session.state();
        let dialect = state.config().options().sql_parser.dialect;
        let mut statement = state.sql_to_statement(query, &dialect).map_err(planning)?;
        self.run
            .sql_functions
            .expand(&mut statement)
            .map_err(|e| Diagnostic::invalid(format!("the query does not plan: {}", e.message)).hint(e.hint))?;
        let plan = state.statement_to_plan(statement).await.map_err(planning)?;
        Self::sql_options().verify_plan(&plan).map_err(planning)?;
        let df = self.session.execute_logical_plan(plan).await.map_err(planning)?;
        let values: Vec<(String, datafusion::common::ScalarValue)> =
            self.run.params.iter().map(|(k, v)| (k.clone(), v.to_scalar())).collect();
        df.with_param_values(ParamValues::from(values)).map_err(|e| {
            Diagnostic::invalid(format!("a parameter in the query cannot be bound: {}", e.message()))
                .hint("write parameters as `$name` with a name declared under `params:`")
                .caused_by(e)
        })
    }
}
