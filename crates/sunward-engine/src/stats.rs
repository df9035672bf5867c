//! Statistics as SQL functions, registered in every session.
//!
//! Analysts and the shipped pipelines compute intervals in SQL:
//! - `poisson_ci_low(count)`, `poisson_ci_high(count)`: the exact (Garwood)
//!   95% interval of a Poisson count — `χ²(0.025; 2k)/2` and `χ²(0.975; 2k+2)/2`;
//!   for a rate, divide by the exposure (e.g. `poisson_ci_high(n) / students * 1000`);
//! - `wilson_ci_low(successes, trials)`, `wilson_ci_high(successes, trials)`:
//!   the Wilson score 95% interval of a share;
//! - `rate_ratio_ci_low(count_c, count_b, ratio)`, `rate_ratio_ci_high(…)`: the
//!   log interval `exp(ln ratio ± 1.959964·√(1/count_c + 1/count_b))`.
//!
//! Each returns null where the interval is undefined (a null or negative input,
//! zero trials, a zero count in a rate ratio).

use datafusion::arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::sync::Arc;

/// The 97.5% quantile of the standard normal distribution.
pub const Z_95: f64 = 1.959964;

/// Lower end of the exact 95% Poisson interval for `count` events.
pub fn poisson_ci_low(count: f64) -> Option<f64> {
    if !(count.is_finite() && count >= 0.0) {
        return None;
    }
    if count == 0.0 {
        return Some(0.0);
    }
    Some(ChiSquared::new(2.0 * count).ok()?.inverse_cdf(0.025) / 2.0)
}

/// Upper end of the exact 95% Poisson interval for `count` events.
pub fn poisson_ci_high(count: f64) -> Option<f64> {
    if !(count.is_finite() && count >= 0.0) {
        return None;
    }
    Some(ChiSquared::new(2.0 * count + 2.0).ok()?.inverse_cdf(0.975) / 2.0)
}

fn wilson(successes: f64, trials: f64) -> Option<(f64, f64)> {
    if !(successes.is_finite() && trials.is_finite()) || trials <= 0.0 || successes < 0.0 || successes > trials {
        return None;
    }
    let p = successes / trials;
    let z2 = Z_95 * Z_95;
    let denom = 1.0 + z2 / trials;
    let centre = (p + z2 / (2.0 * trials)) / denom;
    let half = Z_95 / denom * (p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Lower end of the Wilson 95% interval of `successes` out of `trials`.
pub fn wilson_ci_low(successes: f64, trials: f64) -> Option<f64> {
    wilson(successes, trials).map(|w| w.0)
}

/// Upper end of the Wilson 95% interval of `successes` out of `trials`.
pub fn wilson_ci_high(successes: f64, trials: f64) -> Option<f64> {
    wilson(successes, trials).map(|w| w.1)
}

fn rate_ratio(count_c: f64, count_b: f64, ratio: f64, sign: f64) -> Option<f64> {
    if !(count_c > 0.0 && count_b > 0.0 && ratio > 0.0 && ratio.is_finite()) {
        return None;
    }
    Some((ratio.ln() + sign * Z_95 * (1.0 / count_c + 1.0 / count_b).sqrt()).exp())
}

/// Lower end of the 95% log interval of a rate ratio.
pub fn rate_ratio_ci_low(count_c: f64, count_b: f64, ratio: f64) -> Option<f64> {
    rate_ratio(count_c, count_b, ratio, -1.0)
}

/// Upper end of the 95% log interval of a rate ratio.
pub fn rate_ratio_ci_high(count_c: f64, count_b: f64, ratio: f64) -> Option<f64> {
    rate_ratio(count_c, count_b, ratio, 1.0)
}

/// Wrap a function of `N` floats into a vectorised SQL function body.
fn vectorised<const N: usize>(
    f: fn([f64; N]) -> Option<f64>,
) -> datafusion::logical_expr::ScalarFunctionImplementation {
    Arc::new(move |args: &[ColumnarValue]| {
        let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let floats: Vec<ArrayRef> = arrays.iter().map(|a| cast(a, &DataType::Float64)).collect::<Result<_, _>>()?;
        let floats: Vec<&Float64Array> =
            floats.iter().filter_map(|a| a.as_any().downcast_ref::<Float64Array>()).collect();
        let len = floats.first().map(|a| a.len()).unwrap_or(0);
        let out: Float64Array = (0..len)
            .map(|row| {
                let mut values = [0.0; N];
                for (slot, array) in values.iter_mut().zip(&floats) {
                    if array.is_null(row) {
                        return None;
                    }
                    *slot = array.value(row);
                }
                f(values)
            })
            .collect();
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(Arc::new(out)))
        }
    })
}

/// Register every statistics function in `ctx`.
pub fn register(ctx: &SessionContext) {
    let f64s = |n: usize| vec![DataType::Float64; n];
    let udfs = [
        create_udf(
            "poisson_ci_low",
            f64s(1),
            DataType::Float64,
            Volatility::Immutable,
            vectorised(|[k]| poisson_ci_low(k)),
        ),
        create_udf(
            "poisson_ci_high",
            f64s(1),
            DataType::Float64,
            Volatility::Immutable,
            vectorised(|[k]| poisson_ci_high(k)),
        ),
        create_udf(
            "wilson_ci_low",
            f64s(2),
            DataType::Float64,
            Volatility::Immutable,
            vectorised(|[x, n]| wilson_ci_low(x, n)),
        ),
        create_udf(
            "wilson_ci_high",
            f64s(2),
            DataType::Float64,
            Volatility::Immutable,
            vectorised(|[x, n]| wilson_ci_high(x, n)),
        ),
        create_udf(
            "rate_ratio_ci_low",
            f64s(3),
            DataType::Float64,
            Volatility::Immutable,
            vectorised(|[c, b, r]| rate_ratio_ci_low(c, b, r)),
        ),
        create_udf(
            "rate_ratio_ci_high",
            f64s(3),
            DataType::Float64,
            Volatility::Immutable,
            vectorised(|[c, b, r]| rate_ratio_ci_high(c, b, r)),
        ),
    ];
    for udf in udfs {
        ctx.register_udf(udf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64, tol: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < tol)
    }

    /// Published exact Poisson 95% limits (e.g. the tables in Ulm 1990 and
    /// the Garwood 1936 values reproduced in standard references).
    #[test]
    fn garwood_reference_values() {
        assert_eq!(poisson_ci_low(0.0), Some(0.0));
        assert!(close(poisson_ci_high(0.0), 3.6889, 1e-4));
        assert!(close(poisson_ci_low(1.0), 0.0253, 1e-4));
        assert!(close(poisson_ci_high(1.0), 5.5716, 1e-4));
        assert!(close(poisson_ci_low(5.0), 1.6235, 1e-4));
        assert!(close(poisson_ci_high(5.0), 11.6683, 1e-4));
        assert!(close(poisson_ci_low(10.0), 4.7954, 1e-4));
        assert!(close(poisson_ci_high(10.0), 18.3904, 1e-4));
        assert_eq!(poisson_ci_low(-1.0), None);
    }

    /// Wilson interval for 8/10, worked by hand:
    /// z²=3.841459, denom=1+z²/10=1.3841459, centre=(0.8+0.1920729)/denom=0.7167402,
    /// half=(1.959964/1.3841459)·√(0.016+0.0096036)=1.4160099·0.1600114=0.2265777,
    /// so [0.490162, 0.943318].
    #[test]
    fn wilson_worked_example() {
        assert!(close(wilson_ci_low(8.0, 10.0), 0.490162, 1e-5));
        assert!(close(wilson_ci_high(8.0, 10.0), 0.943318, 1e-5));
        assert_eq!(wilson_ci_low(0.0, 0.0), None);
        assert!(close(wilson_ci_low(0.0, 10.0), 0.0, 1e-12));
    }

    /// 20 events against 40: ratio 0.5 (equal exposure); se = √(1/20+1/40) =
    /// 0.273861; exp(ln 0.5 ∓ 1.959964·0.273861) = 0.5·exp(∓0.536758) = [0.292320, 0.855226].
    #[test]
    fn rate_ratio_worked_example() {
        assert!(close(rate_ratio_ci_low(20.0, 40.0, 0.5), 0.292320, 1e-5));
        assert!(close(rate_ratio_ci_high(20.0, 40.0, 0.5), 0.855226, 1e-5));
        assert_eq!(rate_ratio_ci_low(0.0, 40.0, 0.0), None);
    }

    #[tokio::test]
    async fn functions_work_in_sql() {
        let ctx = SessionContext::new();
        register(&ctx);
        let df = ctx
            .sql("SELECT poisson_ci_high(k) AS hi FROM (VALUES (0), (5), (CAST(NULL AS BIGINT))) AS t(k) ORDER BY k NULLS LAST")
            .await
            .unwrap();
        let batches = df.collect().await.unwrap();
        let col = batches[0].column(0).as_any().downcast_ref::<Float64Array>().unwrap();
        assert!((col.value(0) - 3.6889).abs() < 1e-4);
        assert!((col.value(1) - 11.6683).abs() < 1e-4);
        assert!(col.is_null(2));
        let df = ctx.sql("SELECT wilson_ci_low(8, 10) AS lo").await.unwrap();
        let batches = df.collect().await.unwrap();
        let col = batches[0].column(0).as_any().downcast_ref::<Float64Array>().unwrap();
        assert!((col.value(0) - 0.490159).abs() < 1e-5);
    }
}
