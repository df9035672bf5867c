//! The `sql` step: one read-only query over the pipeline's tables.
//!
//! The tables a query reads are found by parsing it, so execution order
//! follows the query itself. Only `SELECT` (with `WITH`) is accepted: DDL, DML
//! and `SET` are refused both here and by the session's SQL options, so a
//! pipeline reads only its declared inputs and writes only through outputs.
//! Parameters are bound to `$name` placeholders as typed values, never pasted
//! into the text.

use datafusion::prelude::DataFrame;
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::resolve::resolve_table_references;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use schemars::JsonSchema;
use serde::Deserialize;
use sunward_core::{ConfigIssue, Plugin, PluginInfo, Result, StepContext, Transform, async_trait};

/// Runs a SQL query.
pub struct SqlTransform;

/// Settings of a `sql` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// One `SELECT` (or `WITH … SELECT`) over tables named in the pipeline. Parameters are
    /// written `$name` and bound as values (`WHERE academic_year = $current_year`); a list
    /// parameter is tested with `array_has($extreme, category)`. The statistics functions
    /// `poisson_ci_low/high`, `wilson_ci_low/high` and `rate_ratio_ci_low/high` are available.
    pub query: String,
}

impl Plugin for SqlTransform {
    type Config = SqlConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "sql",
        description: "runs one read-only SQL query (DataFusion dialect) over the pipeline's tables",
        example: "plugin: sql\nquery: |\n  SELECT school_id, service_type, COUNT(*) AS events, SUM(participants) AS participants\n  FROM services\n  WHERE EXTRACT(YEAR FROM service_date) = $year\n  GROUP BY school_id, service_type\n",
    };
    fn check(&self, config: &SqlConfig) -> Vec<ConfigIssue> {
        if config.query.trim().is_empty() {
            vec![ConfigIssue::field("query", "the query is empty").hint("write a SELECT over the pipeline's tables")]
        } else {
            Vec::new()
        }
    }
}

/// The tables a query reads (references to its own CTEs excluded), each once, or why it is
/// not an acceptable query.
pub fn query_inputs(query: &str) -> std::result::Result<Vec<String>, ConfigIssue> {
    let statements = DFParser::parse_sql(query)
        .map_err(|e| ConfigIssue::field("query", format!("the query does not parse: {}", e.message())))?;
    let statement = match statements.len() {
        1 => &statements[0],
        0 => {
            return Err(
                ConfigIssue::field("query", "the query is empty").hint("write a SELECT over the pipeline's tables")
            );
        }
        n => {
            return Err(ConfigIssue::field(
                "query",
                format!("only a SELECT query is allowed: found {n} statements separated by `;`"),
            )
            .hint("a step holds one query; split the statements into separate steps"));
        }
    };
    let is_query = matches!(statement, Statement::Statement(s) if matches!(s.as_ref(), SqlStatement::Query(_)));
    if !is_query {
        let first = statement.to_string().split_whitespace().next().unwrap_or_default().to_uppercase();
        return Err(ConfigIssue::field("query", format!("only a SELECT query is allowed: found {first}"))
            .hint("a pipeline reads its declared inputs and writes only through `outputs:`"));
    }
    // References to a CTE in its scope are left out by the resolver itself; a
    // table a CTE shadows elsewhere (`WITH services AS (SELECT … FROM services)`)
    // is still an input, so CTE names must not be filtered out again here.
    let (tables, _ctes) = resolve_table_references(statement, true)
        .map_err(|e| ConfigIssue::field("query", format!("the query does not parse: {}", e.message())))?;
    let mut names: Vec<String> = Vec::new();
    for t in tables {
        let name = t.to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

#[async_trait]
impl Transform for SqlTransform {
    fn inputs(&self, config: &SqlConfig) -> std::result::Result<Vec<String>, ConfigIssue> {
        query_inputs(&config.query)
    }

    async fn run(&self, config: &SqlConfig, ctx: &StepContext<'_>) -> Result<DataFrame> {
        ctx.sql(&config.query).await
    }
}
