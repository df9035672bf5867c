//! The template environment: minijinja with strict undefined values, the
//! report's folder as the loader root, and the few functions and filters a
//! report needs to show figures correctly.
//!
//! | name | kind | what it does |
//! |---|---|---|
//! | `metric(key, unit_type, unit_id, period)` | function | a figure of the metrics table (an integer when whole, none when null); an error when no such row exists |
//! | `fig(key, period=period)` | function | `metric()` for the template's `unit` (its `unit_type` and `unit_id`) and, by default, the template's `period` variable |
//! | `funnel(rate, size, overall, scale=1000)` | function | where a unit lies on a funnel plot: none inside the 95% limits, else a label such as `高于95%控制限` |
//! | `small(n)` | function | whether publication hides the count `n` (1 ≤ n < k) |
//! | `can_show(counts)` | function | whether a funnel point resting on these counts (one per pooled period) is shown under publication: their sum is 0 or ≥ k and they do not mix hidden and shown counts |
//! | `t(zh, en)` | function | the text in the report's language |
//! | `count` | filter | a count as published: `<5` for 1..k−1 |
//! | `num(d=1)` | filter | a number with at most `d` decimals (`2.8`) |
//! | `pct(d=0)` | filter | a share as a percentage (`0.553` → `55%`) |
//! | `change(d=0)` | filter | a relative change with its sign (`−0.472` → `−47%`) |
//! | `withhold(n, d, …)` | filter | the value, or `—` when publication hides any of the counts it rests on |
//!
//! None (a null figure) shows as `无` (`n/a` in English). Every hidden figure
//! is recorded on the render's [`Tracker`], so the report can carry the note
//! that explains it.

use minijinja::value::{Object, Rest};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior, Value};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use sunward_render::document::format_decimal;
use sunward_render::publication::Rules;
use sunward_render::{FunnelPlot, FunnelPoint, Lang};

use super::values::Figures;

/// The context variable holding the render's [`Tracker`].
pub const TRACKER: &str = "__sunward_report";

/// Per render: the publication rules (if on), the language, and how many figures were hidden.
#[derive(Debug)]
pub struct Tracker {
    /// `None`: publication rules off.
    pub rules: Option<Rules>,
    /// The report's language.
    pub lang: Lang,
    /// Figures hidden by the filters so far.
    pub hidden: AtomicUsize,
}

impl Object for Tracker {}

impl Tracker {
    fn is_small(&self, n: f64) -> bool {
        self.rules.as_ref().is_some_and(|r| n.fract() == 0.0 && n >= 1.0 && r.is_small(n as u64))
    }

    fn hide(&self) {
        self.hidden.fetch_add(1, Ordering::Relaxed);
    }

    fn none(&self) -> String {
        self.lang.pick("无", "n/a").to_string()
    }
}

fn tracker(state: &State) -> Result<Arc<Tracker>, Error> {
    state
        .lookup(TRACKER)
        .and_then(|v| v.downcast_object::<Tracker>())
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "internal: the report tracker is missing"))
}

fn number(value: &Value, what: &str) -> Result<Option<f64>, Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(None);
    }
    if let Some(text) = value.as_str()
        && let Ok(x) = text.trim().parse::<f64>()
    {
        return Ok(Some(x));
    }
    f64::try_from(value.clone())
        .map(Some)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("{what} expects a number, not {value:?}")))
}

/// A figure as a template value: an integer when it is whole (so a count
/// prints as `134`, not `134.0`), a float otherwise, none when null.
fn figure_value(v: Option<f64>) -> Value {
    match v {
        Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Value::from(x as i64),
        Some(x) => Value::from(x),
        None => Value::from(()),
    }
}

/// The environment for templates under `root`, reading figures from `figures`.
pub fn environment(root: &Path, figures: Arc<Figures>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_loader(minijinja::path_loader(root));
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);

    let lookup = Arc::new(move |key: &str, unit_type: &str, unit_id: &str, period: &str| -> Result<Value, Error> {
        match figures.get(unit_type, unit_id, period, key) {
            Some(v) => Ok(figure_value(v)),
            None => {
                let detail = if figures.is_empty() {
                    "the metrics table is empty or not declared (`metrics:`)".to_string()
                } else if !figures.distinct(3).iter().any(|k| k == key) {
                    format!("there is no metric \"{key}\"")
                } else if !figures.distinct(2).iter().any(|p| p == period) {
                    format!("there is no period \"{period}\"; periods: {}", figures.distinct(2).join(", "))
                } else {
                    format!("there is no unit {unit_type} \"{unit_id}\"")
                };
                Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("metric(\"{key}\", \"{unit_type}\", \"{unit_id}\", \"{period}\"): {detail}"),
                ))
            }
        }
    });
    let metric = lookup.clone();
    env.add_function("metric", move |key: &str, unit_type: &str, unit_id: &str, period: &str| {
        metric(key, unit_type, unit_id, period)
    });
    env.add_function("fig", move |state: &State, key: &str, period: Option<String>| -> Result<Value, Error> {
        let text = |name: &str| -> Result<String, Error> {
            let value = match name.split_once('.') {
                Some((outer, field)) => state.lookup(outer).and_then(|v| v.get_attr(field).ok()),
                None => state.lookup(name),
            };
            value.filter(|v| !v.is_undefined() && !v.is_none()).map(|v| v.to_string()).ok_or_else(|| {
                Error::new(
                    ErrorKind::UndefinedError,
                    format!("fig(\"{key}\") needs `{name}`: render with for_each (a `unit` row) and `{{% set period = ... %}}`"),
                )
            })
        };
        let period = match period {
            Some(p) => p,
            None => text("period")?,
        };
        lookup(key, &text("unit.unit_type")?, &text("unit.unit_id")?, &period)
    });
    env.add_function("small", |state: &State, n: Value| -> Result<bool, Error> {
        let t = tracker(state)?;
        Ok(number(&n, "small()")?.is_some_and(|n| t.is_small(n)))
    });
    env.add_function(
        "funnel",
        |state: &State, rate: f64, size: f64, overall: f64, scale: Option<f64>| -> Result<Value, Error> {
            let t = tracker(state)?;
            let plot = FunnelPlot {
                points: Vec::new(),
                scale: scale.unwrap_or(1000.0),
                overall: Some(overall),
                x_label: None,
                y_label: None,
            };
            let side = plot.side(&FunnelPoint { label: String::new(), denominator: size, rate, counts: None });
            Ok(side.label(t.lang).map(Value::from).unwrap_or(Value::from(())))
        },
    );
    env.add_function("can_show", |state: &State, counts: Vec<Value>| -> Result<bool, Error> {
        let t = tracker(state)?;
        let Some(rules) = &t.rules else { return Ok(true) };
        let mut whole = Vec::with_capacity(counts.len());
        for c in &counts {
            match number(c, "can_show()")? {
                Some(n) if n.fract() == 0.0 && n >= 0.0 => whole.push(n as u64),
                Some(n) => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("can_show() expects whole counts ≥ 0, not {n}"),
                    ));
                }
                None => return Ok(false),
            }
        }
        Ok(super::publish::pooled_point_shows(rules, &whole))
    });
    env.add_function("t", |state: &State, zh: String, en: String| -> Result<String, Error> {
        Ok(match tracker(state)?.lang {
            Lang::ZhCn => zh,
            Lang::En => en,
        })
    });

    env.add_filter("count", |state: &State, value: Value| -> Result<String, Error> {
        let t = tracker(state)?;
        let Some(n) = number(&value, "count")? else { return Ok(t.none()) };
        if n.fract() != 0.0 || n < 0.0 {
            return Err(Error::new(ErrorKind::InvalidOperation, format!("count expects a whole number ≥ 0, not {n}")));
        }
        if t.is_small(n) {
            t.hide();
            return Ok(t.rules.as_ref().map(Rules::marker).unwrap_or_default());
        }
        Ok(format_decimal(n, 0))
    });
    env.add_filter("num", |state: &State, value: Value, decimals: Option<usize>| -> Result<String, Error> {
        let t = tracker(state)?;
        Ok(match number(&value, "num")? {
            Some(x) => fixed(x, decimals.unwrap_or(1)),
            None => t.none(),
        })
    });
    env.add_filter("pct", |state: &State, value: Value, decimals: Option<usize>| -> Result<String, Error> {
        let t = tracker(state)?;
        Ok(match number(&value, "pct")? {
            Some(x) => format!("{}%", fixed(x * 100.0, decimals.unwrap_or(0))),
            None => t.none(),
        })
    });
    env.add_filter("change", |state: &State, value: Value, decimals: Option<usize>| -> Result<String, Error> {
        let t = tracker(state)?;
        Ok(match number(&value, "change")? {
            Some(x) => {
                let text = fixed(x * 100.0, decimals.unwrap_or(0));
                if x > 0.0 { format!("+{text}%") } else { format!("{text}%") }
            }
            None => t.none(),
        })
    });
    env.add_filter("withhold", |state: &State, value: Value, counts: Rest<Value>| -> Result<Value, Error> {
        let t = tracker(state)?;
        for c in counts.iter() {
            if number(c, "withhold")?.is_some_and(|n| t.is_small(n.round())) {
                t.hide();
                return Ok(Value::from(t.rules.as_ref().map(|r| r.withheld_marker.clone()).unwrap_or_default()));
            }
        }
        Ok(value)
    });
    env
}

/// `x` with exactly `decimals` decimals, `−` for minus, no `-0`.
pub fn fixed(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    let s = format!("{x:.decimals$}");
    let zero = s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.');
    match s.strip_prefix('-') {
        Some(rest) if !zero => format!("−{rest}"),
        Some(rest) => rest.to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_rounds_and_signs() {
        assert_eq!(fixed(5.2649, 1), "5.3");
        assert_eq!(fixed(-47.21, 0), "−47");
        assert_eq!(fixed(-0.04, 1), "0.0");
        assert_eq!(fixed(2913.0, 0), "2913");
    }

    #[test]
    fn whole_figures_become_integers() {
        assert_eq!(figure_value(Some(134.0)).to_string(), "134");
        assert_eq!(figure_value(Some(0.55)).to_string(), "0.55");
        assert!(figure_value(None).is_none());
    }
}
