//! Charts a report can hold — bar charts, line charts with an interval band,
//! and funnel plots — with the arithmetic both renderers share: axis ticks
//! and the funnel plot's control limits. Drawing is the renderers' business
//! (SVG in [`crate::html`], PDF lines in [`crate::pdf`]).
//!
//! # Funnel plot limits
//! A funnel plot compares units' rates (e.g. incidents per 1,000 students)
//! with the overall rate, against the size of each unit (its denominator).
//! For a unit of size `n` the number of events expected under the overall
//! rate `p` is Poisson with mean `λ = p·n`; the control limits are the exact
//! Poisson quantiles at 2.5 % / 97.5 % (95 % limits) and 0.1 % / 99.9 %
//! (99.8 % limits), made continuous with Spiegelhalter's interpolation
//! (*Funnel plots for comparing institutional performance*, Statistics in
//! Medicine 2005, appendix A.1.2): with `x` the smallest count whose
//! cumulative probability `F(x)` reaches the target `q`, the limit is
//! `x − (F(x) − q) / P(X = x)` events, divided by `n` and scaled. Exact
//! quantiles, not the normal approximation, because schools are small and
//! extreme incidents rare: at `λ = 2` the normal 95 % band would reach below
//! zero. A point is flagged when its rate lies strictly outside a limit.

use serde::{Deserialize, Serialize};

use crate::numbers::format_number;

/// A chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Chart {
    /// Horizontal bars, one per category.
    Bar(BarChart),
    /// A line over ordered labels (years), with an optional interval band.
    Line(LineChart),
    /// Units' rates against their size, with control limits.
    Funnel(FunnelPlot),
}

/// Horizontal bars: long Chinese category names read best on the left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarChart {
    /// The categories, top to bottom.
    pub categories: Vec<String>,
    /// One non-negative value per category.
    pub values: Vec<f64>,
    /// How each value is labelled at the end of its bar; defaults to the
    /// value formatted by [`format_number`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// The unit of the values, e.g. `人次`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The values count no person (sessions, classes, days): the publication
    /// rules leave every bar. Otherwise a bar of a count from 1 to k−1, or of
    /// a row whose figures a table withholds, is left out of a public report.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tally: bool,
}

/// A line over ordered labels with an optional interval (low–high) band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineChart {
    /// The x labels in order, e.g. `["2022学年", "2023学年", "2024学年"]`.
    pub x: Vec<String>,
    /// One value per label.
    pub values: Vec<f64>,
    /// The interval's lower ends, one per label (e.g. 95 % CI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<Vec<f64>>,
    /// The interval's upper ends, one per label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<Vec<f64>>,
    /// How each point's value is printed beside it (e.g. `5.3`), when the
    /// report rounds its figures; by default the value with at most two decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// The unit or axis label, e.g. `每千名学生`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A funnel plot of rates against unit size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelPlot {
    /// The units.
    pub points: Vec<FunnelPoint>,
    /// The rates' multiplier: 1000 for "per 1,000" (the default), 1 for a share.
    #[serde(default = "default_scale")]
    pub scale: f64,
    /// The overall rate (same scale); by default Σ events / Σ denominators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall: Option<f64>,
    /// The x axis label, e.g. `在校学生数`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_label: Option<String>,
    /// The y axis label, e.g. `每千名学生极端事件数`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_label: Option<String>,
}

fn default_scale() -> f64 {
    1000.0
}

/// One unit on a funnel plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelPoint {
    /// The unit's name, e.g. a school.
    pub label: String,
    /// Its size (enrolment).
    pub denominator: f64,
    /// Its rate, on the plot's scale.
    pub rate: f64,
    /// The counts of events the rate rests on, one per period when several
    /// periods are pooled (e.g. `[3, 4, 2]` for three academic years). With
    /// them the publication rules judge the point by its counts; without, by
    /// the events its rate and size imply and by the table row of its label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<u64>>,
}

/// Where a funnel point lies against the control limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunnelSide {
    /// Inside the 95 % limits.
    Within,
    /// Above the upper 95 % limit but not the 99.8 % one.
    Above95,
    /// Above the upper 99.8 % limit.
    Above998,
    /// Below the lower 95 % limit but not the 99.8 % one.
    Below95,
    /// Below the lower 99.8 % limit.
    Below998,
}

impl FunnelSide {
    /// Whether the point is flagged (outside the 95 % limits).
    pub fn is_flagged(self) -> bool {
        self != FunnelSide::Within
    }

    /// A short reader-facing label, or `None` inside the limits.
    pub fn label(self, lang: crate::Lang) -> Option<&'static str> {
        Some(match self {
            FunnelSide::Within => return None,
            FunnelSide::Above95 => lang.pick("高于95%控制限", "above 95% limit"),
            FunnelSide::Above998 => lang.pick("高于99.8%控制限", "above 99.8% limit"),
            FunnelSide::Below95 => lang.pick("低于95%控制限", "below 95% limit"),
            FunnelSide::Below998 => lang.pick("低于99.8%控制限", "below 99.8% limit"),
        })
    }
}

/// The control limits at one unit size, on the plot's scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Lower 99.8 % limit.
    pub low998: f64,
    /// Lower 95 % limit.
    pub low95: f64,
    /// Upper 95 % limit.
    pub high95: f64,
    /// Upper 99.8 % limit.
    pub high998: f64,
}

impl FunnelPlot {
    /// The overall rate: the given one, or Σ events / Σ denominators × scale.
    pub fn overall_rate(&self) -> f64 {
        if let Some(overall) = self.overall {
            return overall;
        }
        let events: f64 = self.points.iter().map(|p| p.rate * p.denominator).sum();
        let total: f64 = self.points.iter().map(|p| p.denominator).sum();
        if total > 0.0 { events / total } else { 0.0 }
    }

    /// The control limits for a unit of size `n`.
    pub fn limits(&self, n: f64) -> Limits {
        let lambda = self.overall_rate() / self.scale * n;
        let at = |q: f64| (poisson_limit(lambda, q) / n * self.scale).max(0.0);
        Limits { low998: at(0.001), low95: at(0.025), high95: at(0.975), high998: at(0.999) }
    }

    /// Where a point lies against the limits at its size. A point within 1 %
    /// of a limit is drawn on the line and is not called beyond it: a reader
    /// who sees the dot on the 99.8 % line must not read "above 99.8 %".
    pub fn side(&self, point: &FunnelPoint) -> FunnelSide {
        let l = self.limits(point.denominator);
        let r = point.rate;
        let above = |limit: f64| r > limit * 1.01 + 1e-12;
        let below = |limit: f64| r < limit * 0.99 - 1e-12;
        if above(l.high998) {
            FunnelSide::Above998
        } else if above(l.high95) {
            FunnelSide::Above95
        } else if below(l.low998) {
            FunnelSide::Below998
        } else if below(l.low95) {
            FunnelSide::Below95
        } else {
            FunnelSide::Within
        }
    }
}

/// The continuous Poisson quantile used for funnel limits: with `x` the
/// smallest count with `F(x) ≥ q` under mean `lambda`, returns
/// `x − (F(x) − q) / P(X = x)` (Spiegelhalter 2005). Negative results (a
/// lower limit at tiny λ) are the caller's to clamp.
///
/// The CDF is summed from λ − 40·√λ − 40 (below it lies less than e⁻⁸⁰⁰ of
/// the mass), so the work grows with √λ, not λ; beyond λ = 10¹⁰ (no school
/// is that large; a mistyped enrolment might be) the normal quantile
/// λ + z·√λ is used, whose error there is below 1e-9 of λ.
pub fn poisson_limit(lambda: f64, q: f64) -> f64 {
    if lambda <= 0.0 || !lambda.is_finite() || !(q > 0.0 && q < 1.0) {
        return 0.0;
    }
    if lambda > 1.0e10 {
        let z = -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * q);
        return lambda + z * lambda.sqrt();
    }
    let ln_lambda = lambda.ln();
    let mut x = (lambda - 40.0 * lambda.sqrt() - 40.0).max(0.0) as u64;
    let mut ln_pmf = x as f64 * ln_lambda - lambda - statrs::function::gamma::ln_gamma(x as f64 + 1.0);
    let mut pmf = ln_pmf.exp();
    let mut cdf = pmf;
    // Bounded: the quantile lies far below λ + 50·√λ + 50 for any q < 1 − 1e-12.
    let cap = (lambda + 50.0 * lambda.sqrt() + 50.0) as u64;
    while cdf < q && x < cap {
        x += 1;
        ln_pmf += ln_lambda - (x as f64).ln();
        pmf = ln_pmf.exp();
        cdf += pmf;
    }
    if pmf <= 0.0 {
        return x as f64;
    }
    x as f64 - (cdf - q) / pmf
}

impl Chart {
    /// Checks that the series have matching lengths and values are finite.
    pub fn check(&self) -> Result<(), String> {
        let finite = |v: &[f64], what: &str| -> Result<(), String> {
            match v.iter().position(|x| !x.is_finite()) {
                Some(i) => Err(format!("{what} value {} is not a finite number", i + 1)),
                None => Ok(()),
            }
        };
        match self {
            Chart::Bar(c) => {
                if c.values.len() != c.categories.len() {
                    return Err(format!(
                        "bar chart has {} values for {} categories",
                        c.values.len(),
                        c.categories.len()
                    ));
                }
                if let Some(labels) = &c.labels
                    && labels.len() != c.values.len()
                {
                    return Err(format!("bar chart has {} labels for {} values", labels.len(), c.values.len()));
                }
                if c.values.iter().any(|v| *v < 0.0) {
                    return Err("bar chart values must not be negative".to_string());
                }
                finite(&c.values, "bar chart")
            }
            Chart::Line(c) => {
                if c.values.len() != c.x.len() {
                    return Err(format!("line chart has {} values for {} x labels", c.values.len(), c.x.len()));
                }
                for (name, band) in [("low", &c.low), ("high", &c.high)] {
                    if let Some(band) = band {
                        if band.len() != c.x.len() {
                            return Err(format!(
                                "line chart has {} {name} values for {} x labels",
                                band.len(),
                                c.x.len()
                            ));
                        }
                        finite(band, "line chart")?;
                    }
                }
                if c.low.is_some() != c.high.is_some() {
                    return Err("line chart needs both low and high, or neither".to_string());
                }
                if let Some(labels) = &c.labels
                    && labels.len() != c.values.len()
                {
                    return Err(format!("line chart has {} labels for {} values", labels.len(), c.values.len()));
                }
                finite(&c.values, "line chart")
            }
            Chart::Funnel(c) => {
                if c.scale.is_nan() || c.scale <= 0.0 {
                    return Err("funnel plot scale must be positive".to_string());
                }
                if let Some(p) = c.points.iter().find(|p| p.denominator.is_nan() || p.denominator <= 0.0) {
                    return Err(format!("funnel point {:?} has no positive denominator", p.label));
                }
                finite(&c.points.iter().map(|p| p.rate).collect::<Vec<_>>(), "funnel")
            }
        }
    }
}

/// "Nice" axis ticks from 0 (or below, for negative data) to at least `max`:
/// steps of 1, 2 or 5 × 10ⁿ, about `target` of them. Always at least two.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
    let lo = min.min(0.0);
    let hi = if max > lo { max } else { lo + 1.0 };
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    // Work in whole multiples of step = m/10 · 10^e so that labels come out
    // exact (0.6, not 0.6000000000000001).
    let e = mag.log10().round() as i32;
    let m10 = (step / mag * 10.0).round() as i64;
    let at = |k: i64| {
        let units = (k * m10) as f64;
        if e >= 1 { units * 10f64.powi(e) / 10.0 } else { units / 10f64.powi(1 - e) }
    };
    let first = (lo / step).floor() as i64;
    let mut ticks = Vec::new();
    let mut k = first;
    loop {
        let t = at(k);
        ticks.push(t);
        if t >= hi - step * 1e-9 || k - first > 1000 {
            break;
        }
        k += 1;
    }
    if ticks.len() < 2 {
        ticks.push(at(k + 1));
    }
    ticks
}

/// Formats an axis tick label: as [`format_number`] with at most 2 decimals.
pub fn tick_label(v: f64) -> String {
    format_number(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn poisson_limit_matches_hand_worked_lambda_2() {
        // λ = 2: F(4) = 0.947347, F(5) = 0.983436, P(5) = 0.036089.
        // 97.5 %: x = 5, 5 − (0.983436 − 0.975)/0.036089 = 4.76625.
        assert!(close(poisson_limit(2.0, 0.975), 4.76625, 1e-4), "{}", poisson_limit(2.0, 0.975));
        // 2.5 %: F(0) = 0.135335 ≥ 0.025, x = 0: 0 − (0.135335 − 0.025)/0.135335 = −0.81527.
        assert!(close(poisson_limit(2.0, 0.025), -0.81527, 1e-4));
        // 99.9 %: F(7) = 0.998903, F(8) = 0.999763, P(8) = 0.000859.
        // x = 8: 8 − (0.999763 − 0.999)/0.000859 = 7.1117.
        assert!(close(poisson_limit(2.0, 0.999), 7.1117, 1e-3), "{}", poisson_limit(2.0, 0.999));
    }

    #[test]
    fn poisson_limit_approaches_normal_for_large_lambda() {
        let lambda = 10_000.0;
        let upper = poisson_limit(lambda, 0.975);
        // Normal: λ + 1.96·√λ = 10196; Poisson skew and continuity move it by < 1.
        assert!(close(upper, 10_196.0, 1.5), "{upper}");
        let lower = poisson_limit(lambda, 0.025);
        assert!(close(lower, 9_804.0, 1.5), "{lower}");
    }

    #[test]
    fn funnel_limits_match_hand_worked_values() {
        // Overall 5 per 1,000; a school of 1,000 students: λ = 5.
        // Poisson(5) CDF: F(0)=.006738 F(1)=.040428 F(9)=.968172 F(10)=.986305
        // F(12)=.997981 F(13)=.999302; P(1)=.033690 P(10)=.018133 P(13)=.001321.
        //   2.5 %: x=1,  1 − (.040428 − .025)/.033690 = 0.5421
        //   0.1 %: x=0,  0 − (.006738 − .001)/.006738 < 0 → 0
        //  97.5 %: x=10, 10 − (.986305 − .975)/.018133 = 9.3765
        //  99.9 %: x=13, 13 − (.999302 − .999)/.001321 = 12.771
        let mut plot = FunnelPlot { points: vec![], scale: 1000.0, overall: Some(5.0), x_label: None, y_label: None };
        let l = plot.limits(1000.0);
        assert!(close(l.low95, 0.5421, 1e-3), "{l:?}");
        assert_eq!(l.low998, 0.0);
        assert!(close(l.high95, 9.3765, 1e-3), "{l:?}");
        assert!(close(l.high998, 12.771, 1e-3), "{l:?}");
        let at = |rate: f64| FunnelPoint { label: "甲校".into(), denominator: 1000.0, rate, counts: None };
        assert_eq!(plot.side(&at(0.0)), FunnelSide::Below95);
        assert_eq!(plot.side(&at(5.0)), FunnelSide::Within);
        assert_eq!(plot.side(&at(9.0)), FunnelSide::Within);
        assert_eq!(plot.side(&at(10.0)), FunnelSide::Above95);
        assert_eq!(plot.side(&at(13.0)), FunnelSide::Above998);
        assert_eq!(FunnelSide::Above998.label(crate::Lang::ZhCn), Some("高于99.8%控制限"));
        assert!(!FunnelSide::Within.is_flagged() && FunnelSide::Below95.is_flagged());

        // Without a given overall rate: Σ events / Σ students = (3 + 40 + 10) / 7000.
        plot.overall = None;
        plot.points = vec![
            FunnelPoint { label: "甲校".into(), denominator: 1000.0, rate: 3.0, counts: None },
            FunnelPoint { label: "乙校".into(), denominator: 4000.0, rate: 10.0, counts: None },
            FunnelPoint { label: "丙校".into(), denominator: 2000.0, rate: 5.0, counts: None },
        ];
        assert!(close(plot.overall_rate(), 53.0 / 7.0, 1e-9));
    }

    #[test]
    fn funnel_limits_narrow_with_size() {
        let plot = FunnelPlot { points: vec![], scale: 1000.0, overall: Some(4.0), x_label: None, y_label: None };
        let small = plot.limits(300.0);
        let big = plot.limits(5000.0);
        assert!(small.high95 > big.high95 && small.low95 <= big.low95);
        assert_eq!(small.low998, 0.0, "clamped at zero");
    }

    #[test]
    fn ticks_are_nice() {
        assert_eq!(nice_ticks(0.0, 5.3, 5), vec![0.0, 2.0, 4.0, 6.0]);
        assert_eq!(nice_ticks(0.0, 3208.0, 4), vec![0.0, 1000.0, 2000.0, 3000.0, 4000.0]);
        assert_eq!(nice_ticks(0.0, 0.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(nice_ticks(0.0, 0.6, 3), vec![0.0, 0.2, 0.4, 0.6]);
    }

    #[test]
    fn charts_deserialize_by_kind_and_check_lengths() {
        let chart: Chart = serde_json::from_str(
            r#"{"kind": "line", "x": ["2022", "2023"], "values": [5.3, 2.8],
                "low": [4.0, 1.9], "high": [6.9, 4.0], "unit": "每千名学生"}"#,
        )
        .unwrap();
        chart.check().unwrap();
        let err = serde_json::from_str::<Chart>(r#"{"kind": "bar", "categories": [], "values": [], "color": 1}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `color`"), "{err}");
        let bad: Chart = serde_json::from_str(r#"{"kind": "bar", "categories": ["a"], "values": [1, 2]}"#).unwrap();
        assert_eq!(bad.check().unwrap_err(), "bar chart has 2 values for 1 categories");
        let funnel: Chart =
            serde_json::from_str(r#"{"kind": "funnel", "points": [{"label": "甲", "denominator": 900, "rate": 2.2}]}"#)
                .unwrap();
        let Chart::Funnel(f) = funnel else { panic!() };
        assert_eq!(f.scale, 1000.0);
    }
}
