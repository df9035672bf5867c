//! An example of a third-party Sunward plugin crate.
//!
//! It adds one transform, `row_number`, which copies a table and adds a column
//! numbering its rows (1, 2, 3, …), optionally in the order of one column, and
//! one SQL function, `age_band(age)`, which every `sql` step can call. The
//! crate shows the whole path a plugin takes: a typed, documented `Config`
//! (its doc comments become the help of `sunward plugins`), the [`Plugin`] and
//! [`Transform`] traits, a function with its documentation, a `register`
//! function, and a binary (`src/main.rs`) that is a complete `sunward` with
//! the plugin built in — a cluster started from that binary knows the
//! function too.

use serde::Deserialize;
use std::sync::Arc;
use sunward_core::datafusion::arrow::array::{AsArray, StringArray};
use sunward_core::datafusion::arrow::compute::cast;
use sunward_core::datafusion::arrow::datatypes::{DataType, Int64Type};
use sunward_core::datafusion::functions_window::expr_fn::row_number;
use sunward_core::datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarUDF, Volatility, create_udf,
};
use sunward_core::datafusion::prelude::{DataFrame, ExprFunctionExt, ident};
use sunward_core::schemars::{self, JsonSchema};
use sunward_core::{ConfigIssue, Diagnostic, Plugin, PluginInfo, Registry, StepContext, Transform, async_trait};

/// Register this crate's plugins.
pub fn register(registry: &mut Registry) {
    registry.add_transform(RowNumber);
    registry.add_scalar_function(age_band());
}

/// `age_band(age)`: the age band of a person, `under 30`, `30–39` or `40 and over`;
/// null for a null age.
pub fn age_band() -> ScalarUDF {
    let band = |age: i64| match age {
        ..30 => "under 30",
        30..40 => "30–39",
        _ => "40 and over",
    };
    let function = create_udf(
        "age_band",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let ages = ColumnarValue::values_to_arrays(args)?;
            let ages = cast(&ages[0], &DataType::Int64)?;
            let ages = ages.as_primitive::<Int64Type>();
            let bands: StringArray = ages.iter().map(|a| a.map(band)).collect();
            Ok(ColumnarValue::Array(Arc::new(bands)))
        }),
    );
    let doc = Documentation::builder(
        DocSection { include: true, label: "Hello plugin", description: None },
        "The age band of a person: under 30, 30–39, or 40 and over; null for a null age.",
        "age_band(age)",
    )
    .build();
    sunward_plugins::functions::documented(function, doc)
}

/// The `row_number` transform.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowNumber;

/// Settings of `row_number`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowNumberConfig {
    /// The table to number (a source or an earlier step).
    pub table: String,
    /// The name of the new column holding 1, 2, 3, …
    #[serde(default = "default_column")]
    #[schemars(default = "default_column")]
    pub column: String,
    /// Number the rows in ascending order of this column (nulls last). Without
    /// it the rows are numbered in the order the table holds them.
    #[serde(default)]
    pub order_by: Option<String>,
}

fn default_column() -> String {
    "row_number".to_string()
}

impl Plugin for RowNumber {
    type Config = RowNumberConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "row_number",
        description: "Copies a table and adds a column numbering its rows, optionally in the order of a column.",
        example: "plugin: row_number\ntable: services\ncolumn: n\norder_by: service_date\n",
    };

    fn check(&self, config: &RowNumberConfig) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if config.table.trim().is_empty() {
            issues.push(ConfigIssue::field("table", "`table` is empty").hint("name the table to number"));
        }
        if config.column.trim().is_empty() {
            issues
                .push(ConfigIssue::field("column", "`column` is empty").hint("name the new column, e.g. `row_number`"));
        }
        if config.order_by.as_deref().is_some_and(|c| c.trim().is_empty()) {
            issues.push(
                ConfigIssue::field("order_by", "`order_by` is empty").hint("name a column, or leave `order_by` out"),
            );
        }
        issues
    }
}

#[async_trait]
impl Transform for RowNumber {
    fn inputs(&self, config: &RowNumberConfig) -> Result<Vec<String>, ConfigIssue> {
        Ok(vec![config.table.clone()])
    }

    async fn run(&self, config: &RowNumberConfig, ctx: &StepContext<'_>) -> sunward_core::Result<DataFrame> {
        let table = ctx.session.table(config.table.as_str()).await.map_err(|e| {
            Diagnostic::invalid(format!("row_number: table \"{}\" is not available", config.table))
                .hint("name a source or an earlier step in `table:`")
                .caused_by(e)
        })?;
        let columns: Vec<String> = table.schema().fields().iter().map(|f| f.name().clone()).collect();
        if columns.contains(&config.column) {
            return Err(Diagnostic::invalid(format!(
                "row_number: table \"{}\" already has a column \"{}\"",
                config.table, config.column
            ))
            .hint("choose another name with `column:`"));
        }
        let number = match &config.order_by {
            Some(order) => {
                if !columns.contains(order) {
                    let hint = sunward_core::diag::similar(order, columns.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("columns of {}: {}", config.table, columns.join(", ")));
                    return Err(Diagnostic::invalid(format!(
                        "row_number: table \"{}\" has no column \"{order}\" to order by",
                        config.table
                    ))
                    .hint(hint));
                }
                row_number().order_by(vec![ident(order.as_str()).sort(true, false)]).build()?
            }
            None => row_number(),
        };
        Ok(table.window(vec![number.alias(config.column.as_str())])?)
    }
}
