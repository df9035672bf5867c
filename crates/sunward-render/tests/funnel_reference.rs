//! The funnel plot's control limits against independent reference values.
//!
//! `fixtures/funnel_limits.csv` was computed once with mpmath at 50 digits by
//! `fixtures/make_funnel_reference.py` (Spiegelhalter's continuous Poisson
//! quantile, over rates from 0.01 to 100,000 expected events and the four
//! quantiles the plot draws); nothing here calls Sunward's code to make an
//! expected value.

use std::path::Path;
use sunward_render::chart::poisson_limit;

#[test]
fn poisson_limit_matches_reference_over_a_grid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/funnel_limits.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<[f64; 3]> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|f| f.parse().unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
            [v[0], v[1], v[2]]
        })
        .collect();
    assert_eq!(rows.len(), 84, "21 expected counts × 4 quantiles");
    let wrong: Vec<String> = rows
        .iter()
        .filter_map(|&[lambda, q, want]| {
            let got = poisson_limit(lambda, q);
            ((got - want).abs() > 1e-9 * want.abs().max(1.0))
                .then(|| format!("λ={lambda} q={q}: {got}, reference {want}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{} of {} limits differ:\n{}", wrong.len(), rows.len(), wrong.join("\n"));
}

/// Absurd sizes (a mistyped enrolment) come back at once, near λ + z·√λ.
#[test]
fn huge_expected_counts_are_answered_at_once() {
    for lambda in [1.0e9, 1.0e11, 1.0e15] {
        let high = poisson_limit(lambda, 0.975);
        let normal = lambda + 1.959963984540054 * lambda.sqrt();
        assert!(((high - normal) / normal).abs() < 1e-8, "λ={lambda}: {high} vs {normal}");
    }
    assert_eq!(poisson_limit(f64::INFINITY, 0.975), 0.0);
}
