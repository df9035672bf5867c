//! The statistics functions against independent reference values.
//!
//! The fixtures under `fixtures/stats/` were computed once with mpmath at 50
//! digits (and the Poisson ends cross-checked with SciPy) by
//! `fixtures/stats/make_reference.py`; nothing here calls Sunward's code to
//! make an expected value. Every end must agree to 1e-9 relative.

use std::path::Path;
use sunward_plugins::functions::stats::{
    gamma_quantile, poisson_ci_high, poisson_ci_low, rate_ratio_ci_high, rate_ratio_ci_low, wilson_ci_high,
    wilson_ci_low,
};

const REL: f64 = 1e-9;

/// The data rows of a fixture, each as numbers (comment lines and the header skipped).
fn rows(name: &str) -> Vec<Vec<f64>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').map(|f| f.parse::<f64>().unwrap_or_else(|e| panic!("{name}: {l}: {e}"))).collect())
        .collect()
}

/// Relative agreement, with exact zeros compared exactly.
fn agrees(got: Option<f64>, want: f64) -> bool {
    match got {
        Some(g) if want == 0.0 => g == 0.0,
        Some(g) => ((g - want) / want).abs() <= REL,
        None => false,
    }
}

#[test]
fn poisson_interval_matches_reference_for_every_count() {
    let rows = rows("poisson_ci.csv");
    assert_eq!(rows.len(), 2007, "counts 0–2,000 and six large counts");
    let mut wrong = Vec::new();
    for row in &rows {
        let [k, low, high] = row[..] else { panic!("{row:?}") };
        if !agrees(poisson_ci_low(k), low) {
            wrong.push(format!("low({k}) = {:?}, reference {low}", poisson_ci_low(k)));
        }
        if !agrees(poisson_ci_high(k), high) {
            wrong.push(format!("high({k}) = {:?}, reference {high}", poisson_ci_high(k)));
        }
    }
    assert!(wrong.is_empty(), "{} of {} ends differ:\n{}", wrong.len(), 2 * rows.len(), wrong.join("\n"));
}

#[test]
fn wilson_interval_matches_reference_over_a_grid() {
    let rows = rows("wilson_ci.csv");
    assert!(rows.len() > 5000);
    let mut wrong = Vec::new();
    for row in &rows {
        let [x, n, low, high] = row[..] else { panic!("{row:?}") };
        if !agrees(wilson_ci_low(x, n), low) || !agrees(wilson_ci_high(x, n), high) {
            wrong.push(format!(
                "{x}/{n}: [{:?}, {:?}], reference [{low}, {high}]",
                wilson_ci_low(x, n),
                wilson_ci_high(x, n)
            ));
        }
    }
    assert!(wrong.is_empty(), "{} of {} intervals differ:\n{}", wrong.len(), rows.len(), wrong.join("\n"));
}

#[test]
fn rate_ratio_interval_matches_reference_over_a_grid() {
    let rows = rows("rate_ratio_ci.csv");
    assert!(rows.len() > 800);
    let mut wrong = Vec::new();
    for row in &rows {
        let [c, b, ratio, low, high] = row[..] else { panic!("{row:?}") };
        if !agrees(rate_ratio_ci_low(c, b, ratio), low) || !agrees(rate_ratio_ci_high(c, b, ratio), high) {
            wrong.push(format!("c={c} b={b} ratio={ratio}: reference [{low}, {high}]"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} intervals differ:\n{}", wrong.len(), rows.len(), wrong.join("\n"));
}

/// The quantile itself at closed forms: shape 1 is the exponential
/// distribution, x = −ln(1 − p), for p across (0, 1).
#[test]
fn gamma_quantile_of_shape_one_is_the_exponential_quantile() {
    for i in 1..1000 {
        let p = f64::from(i) / 1000.0;
        let want = -(-p).ln_1p();
        assert!(agrees(gamma_quantile(1.0, p), want), "p={p}: {:?} vs {want}", gamma_quantile(1.0, p));
    }
    assert_eq!(gamma_quantile(0.0, 0.5), None);
    assert_eq!(gamma_quantile(2.0, 1.0), None);
    assert_eq!(gamma_quantile(f64::NAN, 0.5), None);
}

/// Counts far beyond any district's (where the incomplete gamma's series
/// would need millions of terms) come back at once and agree with the
/// Cornish–Fisher expansion of the gamma quantile, a + z·√a + (z² − 1)/3
/// (a = k + 1 for the upper end, k for the lower), whose next term is
/// O(1/√a): under 1e-9 of k from k = 2·10⁷ on.
#[test]
fn huge_counts_are_answered_at_once() {
    let z = 1.959963984540054;
    let expansion = |a: f64, z: f64| a + z * a.sqrt() + (z * z - 1.0) / 3.0;
    for k in [2.0e7, 1.0e9, 1.0e12, 1.0e15, 1.0e300] {
        let high = poisson_ci_high(k).unwrap();
        let want = expansion(k + 1.0, z);
        assert!(((high - want) / want).abs() < 1e-9, "high({k}) = {high}, expansion {want}");
        let low = poisson_ci_low(k).unwrap();
        let want = expansion(k, -z);
        assert!(((low - want) / want).abs() < 1e-9, "low({k}) = {low}, expansion {want}");
    }
}
