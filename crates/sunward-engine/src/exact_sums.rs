//! Integer sums that never wrap.
//!
//! DataFusion adds 64-bit integers with wrapping arithmetic: two values of
//! `i64::MAX` and nine ones sum to 7, with no error. A figure that is
//! silently wrong is the worst failure a report can have, so every session
//! rewrites each `SUM` over an integer column before it is planned: the
//! values are summed as `DECIMAL(38, 0)` (exact for any number of 64-bit
//! values a table can hold), and the total is cast back to the sum's own
//! type, a cast that fails when the total does not fit ("Cast error: …
//! overflow"), naming the step. The column keeps its name and type, so
//! nothing downstream changes. Contract counts have upper bounds as well
//! (participants, duration), so a sum over checked exports never gets near
//! the limit; this guards every other integer column.
//!
//! The rule runs after DataFusion's type coercion (it is added to the end of
//! the analyzer's rules) and rewrites `Aggregate` nodes, in subqueries too.
//! Window sums (`SUM(x) OVER (…)`) are left as they are.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Aggregate, Expr, ExprSchemable, LogicalPlan, Projection, cast};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// The analyzer rule; add it to a session with [`register`].
#[derive(Debug, Default)]
pub struct ExactSums;

/// Make every integer `SUM` of this session exact or an error.
pub fn register(ctx: &SessionContext) {
    ctx.add_analyzer_rule(Arc::new(ExactSums));
}

/// The type wide enough to sum any number of 64-bit integers exactly.
const WIDE: DataType = DataType::Decimal128(38, 0);

impl AnalyzerRule for ExactSums {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| match node {
            LogicalPlan::Aggregate(aggregate) => widen(aggregate),
            other => Ok(Transformed::no(other)),
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "sunward_exact_sums"
    }
}

/// The sum's argument, when `expr` is a `SUM` over an integer expression.
fn integer_sum<'a>(expr: &'a Expr, aggregate: &Aggregate) -> Option<&'a AggregateFunction> {
    let inner = match expr {
        Expr::Alias(alias) => alias.expr.as_ref(),
        other => other,
    };
    let Expr::AggregateFunction(function) = inner else { return None };
    if function.func.name() != "sum" || function.params.args.len() != 1 {
        return None;
    }
    let ty = function.params.args[0].get_type(aggregate.input.schema()).ok()?;
    ty.is_integer().then_some(function)
}

/// `aggregate` with its integer sums summed wide, under a projection that
/// casts each back to its type under its name; unchanged if it has none.
fn widen(aggregate: Aggregate) -> Result<Transformed<LogicalPlan>> {
    if !aggregate.aggr_expr.iter().any(|e| integer_sum(e, &aggregate).is_some()) {
        return Ok(Transformed::no(LogicalPlan::Aggregate(aggregate)));
    }
    // The aggregate expressions are the last fields of the output.
    let fields = aggregate.schema.fields();
    let first = fields.len() - aggregate.aggr_expr.len();
    let mut narrowed: Vec<(String, DataType)> = Vec::new();
    let mut aggr_expr = Vec::with_capacity(aggregate.aggr_expr.len());
    for (i, expr) in aggregate.aggr_expr.iter().enumerate() {
        let Some(function) = integer_sum(expr, &aggregate) else {
            aggr_expr.push(expr.clone());
            continue;
        };
        let field = &fields[first + i];
        let mut wide = function.clone();
        wide.params.args = vec![cast(wide.params.args[0].clone(), WIDE)];
        aggr_expr.push(Expr::AggregateFunction(wide).alias(field.name()));
        narrowed.push((field.name().clone(), field.data_type().clone()));
    }
    let wide = Aggregate::try_new(aggregate.input.clone(), aggregate.group_expr.clone(), aggr_expr)?;
    let wide = Arc::new(LogicalPlan::Aggregate(wide));
    let columns = wide
        .schema()
        .iter()
        .map(|(qualifier, field)| {
            let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
            match narrowed.iter().find(|(name, _)| name == field.name()) {
                Some((name, ty)) => cast(column, ty.clone()).alias(name),
                None => column,
            }
        })
        .collect();
    Ok(Transformed::yes(LogicalPlan::Projection(Projection::try_new(columns, wide)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray, Int64Array};
    use datafusion::arrow::datatypes::{Field, Int64Type, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;

    /// A session with the rule and a table `t(g, v)` of these rows.
    fn session(rows: &[(i64, Option<i64>)]) -> SessionContext {
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Int64, false),
            Field::new("v", DataType::Int64, true),
        ]));
        let g = Int64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>());
        let v = Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>());
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(g), Arc::new(v)]).unwrap();
        let ctx = SessionContext::new();
        register(&ctx);
        ctx.register_table("t", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())).unwrap();
        ctx
    }

    async fn query(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
        ctx.sql(sql).await?.collect().await
    }

    /// Sums over a grid of values near the limits, against i128 arithmetic
    /// done here: the exact total when it fits in 64 bits, an error when not.
    #[tokio::test]
    async fn sums_are_exact_or_an_error() {
        let values = [i64::MIN, i64::MIN + 1, -7, -1, 0, 1, 2, 9, i64::MAX - 1, i64::MAX];
        for a in values {
            for b in values {
                for c in [0, 1, -1, i64::MAX] {
                    let rows = [(1, Some(a)), (1, Some(b)), (1, None), (2, Some(c))];
                    let ctx = session(&rows);
                    let expected = i128::from(a) + i128::from(b);
                    let result =
                        query(&ctx, "SELECT g, SUM(v) AS total, COUNT(*) AS n FROM t GROUP BY g ORDER BY g").await;
                    match i64::try_from(expected) {
                        Ok(total) => {
                            let batches = result.unwrap_or_else(|e| panic!("{a} + {b}: {e}"));
                            let totals = batches[0].column(1).as_primitive::<Int64Type>();
                            assert_eq!(batches[0].schema().field(1).data_type(), &DataType::Int64);
                            assert_eq!((totals.value(0), totals.value(1)), (total, c), "{a} + {b}");
                        }
                        Err(_) => {
                            let e = result.expect_err(&format!("{a} + {b} does not fit")).to_string();
                            assert!(e.contains("out of range Int64"), "{a} + {b}: {e}");
                        }
                    }
                }
            }
        }
    }

    /// The column keeps its name, nulls stay nulls, and subqueries, HAVING
    /// and DISTINCT sums are covered too.
    #[tokio::test]
    async fn names_nulls_and_subqueries() {
        let ctx = session(&[(1, Some(i64::MAX)), (1, Some(1)), (2, None)]);
        let batches = query(&ctx, "SELECT g, SUM(v) FROM t GROUP BY g ORDER BY g").await;
        assert!(batches.unwrap_err().to_string().contains("out of range Int64"));
        let ctx = session(&[(1, Some(5)), (1, Some(5)), (2, None)]);
        let batches = query(&ctx, "SELECT g, SUM(v), SUM(DISTINCT v) FROM t GROUP BY g ORDER BY g").await.unwrap();
        assert_eq!(batches[0].schema().field(1).name(), "sum(t.v)");
        let sums = batches[0].column(1).as_primitive::<Int64Type>();
        let distinct = batches[0].column(2).as_primitive::<Int64Type>();
        assert_eq!((sums.value(0), distinct.value(0)), (10, 5));
        assert!(sums.is_null(1), "a group of nulls sums to null");
        let big = session(&[(1, Some(i64::MAX)), (1, Some(i64::MAX))]);
        // Compared but not shown, the total is compared exactly (wrapped, it
        // would be −2 and the group would vanish).
        let kept = query(&big, "SELECT g FROM t GROUP BY g HAVING SUM(v) > 0").await.unwrap();
        assert_eq!(kept.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
        for sql in ["SELECT (SELECT SUM(v) FROM t) AS s", "SELECT * FROM (SELECT SUM(v) AS s FROM t) x WHERE s > 0"] {
            let e = query(&big, sql).await.expect_err(sql).to_string();
            assert!(e.contains("out of range Int64"), "{sql}: {e}");
        }
    }
}
