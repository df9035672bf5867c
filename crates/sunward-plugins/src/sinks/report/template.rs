//! The template environment: minijinja with strict undefined values, the
//! report's folder as the loader root, and the few functions and filters a
//! report needs to show figures correctly.
//!
//! | name | kind | what it does |
//! |---|---|---|
//! | `metric(key, unit_type, unit_id, period)` | function | a typed figure of the metrics table ([`FigureValue`]: printed it is a token the publication pass judges by type; `.value` is the number), none when null; an error when no such row exists |
//! | `fig(key, period=period)` | function | `metric()` for the template's `unit` (its `unit_type` and `unit_id`) and, by default, the template's `period` variable |
//! | `funnel(rate, size, overall, scale=1000)` | function | where a unit lies on a funnel plot: none inside the 95% limits, else a label such as `高于95%控制限` |
//! | `small(n)` | function | whether publication hides the count `n` (1 ≤ n < k) |
//! | `shown(x)` | function | whether the figure `x` will be printed under publication (a count neither small nor withheld by the metrics table's pattern; a rate whose counts are all shown), so a sentence can be written that reads well without it |
//! | `can_show(counts)` | function | whether a funnel point resting on these counts (one per pooled period) is shown under publication: their sum is 0 or ≥ k and they do not mix hidden and shown counts |
//! | `count_change(now, before)` | function | the change between two counts with its 95% interval (Poisson counts, log interval): `+20%（−8%至+56%）`; "too few to compare" when either is under 10 |
//! | `t(zh, en)` | function | the text in the report's language |
//! | `count` | filter | a count as published: `<5` for 1..k−1; digits grouped in English (`3,695`) |
//! | `num(d=1)` | filter | a number with at most `d` decimals (`2.8`) |
//! | `pct(d=0)` | filter | a share as a percentage, rounded half up (四舍五入: `0.125` → `13%`) |
//! | `tally` | filter | a number that counts no person (sessions, classes, days), written from `tables.*`: never withheld, where a bare number in a table's figure column is taken for a count |
//! | `change(d=0)` | filter | a relative change with its sign (`−0.472` → `−47%`) |
//! | `ratio_change(d=0)` | filter | a rate ratio as the change it means (`0.53` → `−47%`), for an interval's ends |
//! | `withhold(n, d, …)` | filter | the value, or `—` when publication hides any of the counts it rests on (a small count, or a figure the metrics table's pattern withholds) |
//!
//! None (a null figure) shows as `无` (`n/a` in English). Every hidden figure
//! is recorded on the render's [`Tracker`], so the report can carry the note
//! that explains it.

use minijinja::value::{Object, Rest};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior, Value};
use std::path::Path;
use std::sync::Arc;
use sunward_core::contract::Contract;
use sunward_render::disclosure::Catalogue;
use sunward_render::numbers::{format_decimal, format_number};
use sunward_render::publication::Rules;
use sunward_render::{FunnelPlot, FunnelPoint, Lang};

use super::typed::{Identity, Kind, Record, Registry, group_thousands, kind_of, token};
use super::values::Figures;

/// The context variable holding the render's [`Tracker`].
pub const TRACKER: &str = "__sunward_report";

/// Per render: the publication rules (if on), the language, and the figures handed to the template.
#[derive(Debug)]
pub struct Tracker {
    /// `None`: publication rules off.
    pub rules: Option<Rules>,
    /// The report's language.
    pub lang: Lang,
    /// The figures handed to the template, typed ([`typed`](super::typed)).
    pub registry: Registry,
    /// The baseline academic year's period (`AY2022`) when the pipeline has a
    /// `baseline_year` parameter: what a change or a rate ratio rests on.
    pub baseline: Option<String>,
    /// What every public document of the metrics table withholds (`None`
    /// under no rules), so that `shown()` can tell a template in advance.
    pub pattern: Arc<Option<sunward_render::disclosure::Pattern>>,
    /// What each metric is: the shipped catalogue with the report's own
    /// (`catalogue:`) and its breakdowns. A metric it does not know is not printed.
    pub catalogue: Arc<Catalogue>,
    /// The targets of this render's unit, with the places each is judged for
    /// (`targets` in the template holds their names and indexes).
    pub targets: Vec<super::targets::Resolved>,
}

impl Object for Tracker {}

impl Tracker {
    fn is_small(&self, n: f64) -> bool {
        self.rules.as_ref().is_some_and(|r| n.fract() == 0.0 && n >= 1.0 && r.is_small(n as u64))
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
    if let Some(figure) = value.downcast_object_ref::<FigureValue>() {
        return Ok(Some(figure.value));
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

/// A number as a template value: an integer when it is whole (so a count
/// prints as `134`, not `134.0`), a float otherwise.
fn plain_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 { Value::from(x as i64) } else { Value::from(x) }
}

/// A figure of the metrics table in a template: printed, it becomes a token
/// the publication pass resolves by the figure's type; `.value` is the raw
/// number (for charts and comparisons).
#[derive(Debug)]
pub struct FigureValue {
    /// Its number in the render's registry.
    pub id: usize,
    /// Its value.
    pub value: f64,
}

impl Object for FigureValue {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "value" => Some(plain_number(self.value)),
            _ => None,
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.value != 0.0
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&token(self.id, &format_number(self.value)))
    }
}

/// The figure `identity` with value `v` as a template value: none when null,
/// else a registered [`FigureValue`].
/// A metric the catalogue does not know is an error: the publication rules
/// could not tell a count from a rate.
fn figure_value(t: &Tracker, identity: Identity, v: Option<f64>, academic_years: &[String]) -> Result<Value, Error> {
    let Some(role) = t.catalogue.role(&identity.key) else {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "the metric \"{}\" is not in the metric catalogue, so the publication rules cannot tell whether it is a count, a rate or a plain value; add it to a catalogue file named under the report's `catalogue:` (docs/METRICS.md, \"Adding a metric\")",
                identity.key
            ),
        ));
    };
    let Some(value) = v else { return Ok(Value::from(())) };
    let kind = kind_of(&identity, &role, t.baseline.as_deref(), academic_years);
    let id = t.registry.register(Record { identity, value, kind });
    Ok(Value::from_object(FigureValue { id, value }))
}

/// Whether `value` will be printed under publication: a count neither small
/// nor withheld by the metrics table's pattern, a rate whose counts are all shown.
fn is_shown(t: &Tracker, value: &Value) -> Result<bool, Error> {
    if t.rules.is_none() || value.is_none() || value.is_undefined() {
        return Ok(true);
    }
    if let Some(figure) = value.downcast_object_ref::<FigureValue>() {
        let Some(record) = t.registry.get(figure.id) else { return Ok(false) };
        let hides = |id: &Identity| (*t.pattern).as_ref().is_some_and(|p| p.hides(id));
        return Ok(match &record.kind {
            Kind::Count => !t.is_small(record.value) && !hides(&record.identity),
            Kind::Plain => true,
            Kind::Rate { rests_on } => !rests_on.iter().any(hides),
        });
    }
    Ok(!number(value, "shown()")?.is_some_and(|n| t.is_small(n)))
}

/// `judge(target)`: one of the unit's targets judged against the metrics
/// table at every place and period it names ([`super::targets`]); a map of
/// `status` (`met`, `not_met`, `cannot_tell`), `label`, `reason`, `value`
/// (the figure, when the target rests on one that is shown) and `share`.
fn judge_target(state: &State, target: &Value, figures: &Figures, academic_years: &[String]) -> Result<Value, Error> {
    use super::targets::{Observed, Shape, combine, judge};
    let t = tracker(state)?;
    let wrong = |m: String| Error::new(ErrorKind::InvalidOperation, m);
    let index = target.get_attr("index").ok().and_then(|i| usize::try_from(i).ok()).ok_or_else(|| {
        wrong("judge(target) takes one of `targets`: `{% for tg in targets %}{{ judge(tg).label }}`".into())
    })?;
    let resolved = t.targets.get(index).ok_or_else(|| wrong(format!("judge(): no target {index}")))?;
    let spec = &resolved.target;
    let comparison = spec.comparison().map_err(|e| wrong(format!("target \"{}\": {e}", spec.metric)))?;
    let periods: Vec<String> = if !spec.periods.is_empty() {
        spec.periods.clone()
    } else if let Some(p) = &spec.period {
        vec![p.clone()]
    } else {
        let p = state.lookup("period").filter(|v| !v.is_undefined() && !v.is_none()).ok_or_else(|| {
            wrong(format!(
                "target \"{}\" names no period: give it `period:`, or set `period` in the template",
                spec.metric
            ))
        })?;
        vec![p.to_string()]
    };
    let shape = match t.catalogue.role(&spec.metric) {
        Some(sunward_render::disclosure::Role::Ratio { per: 1, .. }) => Shape::Share,
        _ => Shape::Number,
    };
    let (low_key, high_key) = spec.interval_keys();
    let several = (resolved.places.len() > 1, periods.len() > 1);
    let mut judged = Vec::new();
    let mut shown_value = Value::from(());
    for place in &resolved.places {
        for period in &periods {
            let observed = match figures.get(&place.unit_type, &place.unit_id, period, &spec.metric) {
                None => Observed::Missing,
                Some(None) => Observed::Empty,
                Some(Some(v)) => {
                    let identity = Identity::new(&place.unit_type, &place.unit_id, period, &spec.metric);
                    let figure = figure_value(&t, identity, Some(v), academic_years)?;
                    if is_shown(&t, &figure)? {
                        let bound = |key: &str| figures.get(&place.unit_type, &place.unit_id, period, key).flatten();
                        let interval = bound(&low_key).zip(bound(&high_key));
                        shown_value = figure;
                        Observed::Value { value: v, interval }
                    } else {
                        Observed::Withheld
                    }
                }
            };
            let when = super::targets::period_name(period, t.lang);
            let name = match several {
                (true, true) => format!("{}{}{when}", place.label, if t.lang == Lang::En { ", " } else { "" }),
                (true, false) => place.label.clone(),
                _ => when,
            };
            judged.push((name, judge(comparison, observed, shape, t.lang)));
        }
    }
    let verdict = combine(&judged, t.lang);
    Ok(minijinja::context! {
        status => verdict.status.code(),
        label => verdict.status.label(t.lang),
        reason => verdict.reason,
        value => if judged.len() == 1 { shown_value } else { Value::from(()) },
        share => shape == Shape::Share,
    })
}

/// A filter's output for `value`: a token of the same figure when `value` is
/// one (so the formatted text keeps its type), else the text itself.
fn keep_type(value: &Value, text: String) -> Value {
    match value.downcast_object_ref::<FigureValue>() {
        Some(figure) => Value::from_safe_string(token(figure.id, &text)),
        None => Value::from(text),
    }
}

/// `text` as literal report markup: line breaks become spaces (a value never
/// ends a table row or a front-matter line), and every character that could
/// start or end markup (`\ ` * _ [ ] < > # | ~ &`, and `-`, `+` or `=` at
/// the start) is escaped with a backslash, which the markup reads back as the
/// character itself.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.chars().enumerate() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The environment for templates under `root`, reading figures from `figures`.
pub fn environment(root: &Path, figures: Arc<Figures>, contract: &'static Contract) -> Environment<'static> {
    let mut env = Environment::new();
    set_syntax(&mut env, root);
    add_figure_functions(&mut env, figures);
    add_contract_functions(&mut env, contract);
    add_publication_functions(&mut env);
    add_language_functions(&mut env);
    add_number_filters(&mut env);
    env
}

/// How templates are found and written: strict undefined values, templates
/// beside the report's, block tags taking their line with them, and every
/// string a template prints escaped as report markup.
fn set_syntax(env: &mut Environment<'static>, root: &Path) {
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_loader(minijinja::path_loader(root));
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // Data stays data: every string a template prints is escaped for the report
    // markup (a school's name cannot start a heading, close a table cell or open a
    // front-matter key), unless it is markup already (a text, a figure's token).
    // Escaping on (a custom kind, done by the formatter below), so that what a
    // template builds itself — a macro's output, a `{% set %}` block — stays markup.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Custom("report-markup"));
    env.set_formatter(|out: &mut minijinja::Output, _state: &State, value: &Value| -> Result<(), Error> {
        let written = if value.kind() == minijinja::value::ValueKind::String && !value.is_safe() {
            out.write_str(&escape_markup(value.as_str().unwrap_or_default()))
        } else if value.is_none() || value.is_undefined() {
            Ok(())
        } else {
            write!(out, "{value}")
        };
        written.map_err(|e| Error::new(ErrorKind::WriteFailure, "cannot write the report").with_source(e))
    });
}

/// The figures of the metrics table as `metric()` and `fig()` read them,
/// and the academic years a change or a rate ratio may compare.
struct FigureLookup {
    figures: Arc<Figures>,
    /// The periods of whole academic years (`AY2024`, not `AY2024-T1`).
    academic_years: Vec<String>,
}

impl FigureLookup {
    fn new(figures: Arc<Figures>) -> Self {
        let academic_years =
            figures.distinct(2).into_iter().filter(|p| p.starts_with("AY") && !p.contains('-')).collect();
        FigureLookup { figures, academic_years }
    }

    /// `metric(key, unit_type, unit_id, period)`: the figure, registered on
    /// the render's tracker, or an error saying which part names nothing.
    fn metric(&self, state: &State, key: &str, unit_type: &str, unit_id: &str, period: &str) -> Result<Value, Error> {
        match self.figures.get(unit_type, unit_id, period, key) {
            Some(v) => {
                let identity = Identity {
                    unit_type: unit_type.to_string(),
                    unit_id: unit_id.to_string(),
                    period: period.to_string(),
                    key: key.to_string(),
                };
                let t = tracker(state)?;
                figure_value(&t, identity, v, &self.academic_years)
            }
            None => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "metric(\"{key}\", \"{unit_type}\", \"{unit_id}\", \"{period}\"): {}",
                    self.why_missing(key, unit_type, unit_id, period)
                ),
            )),
        }
    }

    /// Why the metrics table has no figure `key` of that unit and period.
    fn why_missing(&self, key: &str, unit_type: &str, unit_id: &str, period: &str) -> String {
        let figures = &self.figures;
        if figures.is_empty() {
            "the metrics table is empty or not declared (`metrics:`)".to_string()
        } else if !figures.distinct(3).iter().any(|k| k == key) {
            format!("there is no metric \"{key}\"")
        } else if !figures.distinct(2).iter().any(|p| p == period) {
            format!("there is no period \"{period}\"; periods: {}", figures.distinct(2).join(", "))
        } else {
            format!("there is no unit {unit_type} \"{unit_id}\"")
        }
    }

    /// `fig(key, period=period)`: `metric()` for the template's `unit` and, by
    /// default, its `period` variable.
    fn fig(&self, state: &State, key: &str, period: Option<String>) -> Result<Value, Error> {
        let period = match period {
            Some(p) => p,
            None => fig_needs(state, key, "period")?,
        };
        self.metric(
            state,
            key,
            &fig_needs(state, key, "unit.unit_type")?,
            &fig_needs(state, key, "unit.unit_id")?,
            &period,
        )
    }
}

/// The template variable `name` (`outer.field` reads a field) that `fig(key)`
/// needs, as text; an error saying how to provide it when it is not set.
fn fig_needs(state: &State, key: &str, name: &str) -> Result<String, Error> {
    let value = match name.split_once('.') {
        Some((outer, field)) => state.lookup(outer).and_then(|v| v.get_attr(field).ok()),
        None => state.lookup(name),
    };
    value.filter(|v| !v.is_undefined() && !v.is_none()).map(|v| v.to_string()).ok_or_else(|| {
        Error::new(
            ErrorKind::UndefinedError,
            format!(
                "fig(\"{key}\") needs `{name}`: render with for_each (a `unit` row) and `{{% set period = ... %}}`"
            ),
        )
    })
}

/// The functions that read the metrics table: `metric`, `fig` and `judge`.
fn add_figure_functions(env: &mut Environment<'static>, figures: Arc<Figures>) {
    let lookup = Arc::new(FigureLookup::new(figures));
    let metric = lookup.clone();
    env.add_function("metric", move |state: &State, key: &str, unit_type: &str, unit_id: &str, period: &str| {
        metric.metric(state, key, unit_type, unit_id, period)
    });
    let fig = lookup.clone();
    env.add_function("fig", move |state: &State, key: &str, period: Option<String>| -> Result<Value, Error> {
        fig.fig(state, key, period)
    });
    env.add_function("judge", move |state: &State, target: Value| -> Result<Value, Error> {
        judge_target(state, &target, &lookup.figures, &lookup.academic_years)
    });
}

/// `code_label`: what a code is called in the report's language, from the
/// data contract (as the pipeline extends it):
/// `code_label("incidents.category", "self_harm")`.
fn add_contract_functions(env: &mut Environment<'static>, contract: &'static Contract) {
    env.add_function("code_label", move |state: &State, column: &str, code: &str| -> Result<String, Error> {
        let t = tracker(state)?;
        let found = column.split_once('.').and_then(|(table, name)| contract.table(table)?.column(name));
        let Some(spec) = found else {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("code_label(\"{column}\", …): no code column {column} in the data contract; write TABLE.COLUMN, e.g. \"incidents.category\""),
            ));
        };
        spec.code_label(code, t.lang == Lang::ZhCn).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "code_label(\"{column}\", \"{code}\"): \"{code}\" is not a code of {column}; its codes: {}",
                    spec.codes.unwrap_or_default().join(", ")
                ),
            )
        })
    });
}

/// The functions that ask what publication will show, so a template can
/// write around it: `small`, `shown`, `can_show`, `funnel` and `count_change`.
fn add_publication_functions(env: &mut Environment<'static>) {
    env.add_function("small", |state: &State, n: Value| -> Result<bool, Error> {
        let t = tracker(state)?;
        Ok(number(&n, "small()")?.is_some_and(|n| t.is_small(n)))
    });
    env.add_function("shown", |state: &State, value: Value| -> Result<bool, Error> {
        is_shown(&*tracker(state)?, &value)
    });
    env.add_function("funnel", funnel_side);
    env.add_function("can_show", can_show);
    env.add_function("count_change", |state: &State, now: Value, before: Value| -> Result<Value, Error> {
        let t = tracker(state)?;
        let (Some(a), Some(b)) = (number(&now, "count_change()")?, number(&before, "count_change()")?) else {
            return Ok(Value::from(t.none()));
        };
        Ok(Value::from(count_change(a, b, t.lang)))
    });
}

/// `funnel(rate, size, overall, scale=1000)`: where a unit lies on a funnel
/// plot — none inside the 95% limits, else a label such as `高于95%控制限`.
fn funnel_side(state: &State, rate: Value, size: Value, overall: Value, scale: Option<f64>) -> Result<Value, Error> {
    let t = tracker(state)?;
    let (Some(rate), Some(size), Some(overall)) =
        (number(&rate, "funnel()")?, number(&size, "funnel()")?, number(&overall, "funnel()")?)
    else {
        return Ok(Value::from(()));
    };
    let plot = FunnelPlot {
        points: Vec::new(),
        scale: scale.unwrap_or(1000.0),
        overall: Some(overall),
        x_label: None,
        y_label: None,
    };
    let side = plot.side(&FunnelPoint { label: String::new(), denominator: size, rate, counts: None });
    Ok(side.label(t.lang).map(Value::from).unwrap_or(Value::from(())))
}

/// `can_show(counts)`: whether a funnel point resting on these counts (one
/// per pooled period) is shown under publication.
fn can_show(state: &State, counts: Vec<Value>) -> Result<bool, Error> {
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
}

/// `t(zh, en)`: the text in the report's language.
fn add_language_functions(env: &mut Environment<'static>) {
    env.add_function("t", |state: &State, zh: String, en: String| -> Result<String, Error> {
        Ok(match tracker(state)?.lang {
            Lang::ZhCn => zh,
            Lang::En => en,
        })
    });
}

/// The filters that write numbers: `count` and `tally` (whole numbers, as
/// published), `num`, `pct`, `change` and `ratio_change` (formatted, keeping
/// a figure's type), and `withhold` (a value hidden with the counts it rests on).
fn add_number_filters(env: &mut Environment<'static>) {
    env.add_filter("count", count_filter);
    env.add_filter("tally", |state: &State, value: Value| -> Result<Value, Error> {
        let t = tracker(state)?;
        let Some(n) = number(&value, "tally")? else { return Ok(Value::from(t.none())) };
        let record = Record { identity: Identity::new("", "", "", "tally"), value: n, kind: Kind::Plain };
        let id = t.registry.register(record);
        Ok(Value::from_safe_string(token(id, &format_decimal(n, 0))))
    });
    env.add_filter("num", |state: &State, value: Value, decimals: Option<usize>| -> Result<Value, Error> {
        let t = tracker(state)?;
        Ok(match number(&value, "num")? {
            Some(x) => keep_type(&value, fixed(x, decimals.unwrap_or(1))),
            None => Value::from(t.none()),
        })
    });
    env.add_filter("pct", |state: &State, value: Value, decimals: Option<usize>| -> Result<Value, Error> {
        let t = tracker(state)?;
        Ok(match number(&value, "pct")? {
            Some(x) => keep_type(&value, format!("{}%", fixed(x * 100.0, decimals.unwrap_or(0)))),
            None => Value::from(t.none()),
        })
    });
    env.add_filter("change", |state: &State, value: Value, decimals: Option<usize>| -> Result<Value, Error> {
        let t = tracker(state)?;
        Ok(match number(&value, "change")? {
            Some(x) => {
                let text = fixed(x * 100.0, decimals.unwrap_or(0));
                keep_type(&value, if x > 0.0 { format!("+{text}%") } else { format!("{text}%") })
            }
            None => Value::from(t.none()),
        })
    });
    env.add_filter("ratio_change", |state: &State, value: Value, decimals: Option<usize>| -> Result<Value, Error> {
        let t = tracker(state)?;
        Ok(match number(&value, "ratio_change")? {
            Some(x) => {
                let text = fixed((x - 1.0) * 100.0, decimals.unwrap_or(0));
                keep_type(&value, if x > 1.0 && text != "0" { format!("+{text}%") } else { format!("{text}%") })
            }
            None => Value::from(t.none()),
        })
    });
    env.add_filter("withhold", withhold_filter);
}

/// `count`: a count as published — `<k` for 1..k−1, digits grouped in
/// English; a figure keeps its type, to be judged when the document is published.
fn count_filter(state: &State, value: Value) -> Result<Value, Error> {
    let t = tracker(state)?;
    let Some(n) = number(&value, "count")? else { return Ok(Value::from(t.none())) };
    if n.fract() != 0.0 || n < 0.0 {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("count expects a whole number ≥ 0, not {n}")));
    }
    if value.downcast_object_ref::<FigureValue>().is_some() {
        // A figure is judged by its type when the document is published.
        return Ok(keep_type(&value, format_decimal(n, 0)));
    }
    if t.is_small(n) {
        return Ok(Value::from(t.rules.as_ref().map(Rules::marker).unwrap_or_default()));
    }
    let text = format_decimal(n, 0);
    Ok(Value::from(if t.lang == Lang::En { group_thousands(&text) } else { text }))
}

/// `withhold(n, d, …)`: the value, or the withheld marker when publication
/// hides any of the counts it rests on (a small count, or a figure the
/// metrics table's pattern withholds).
fn withhold_filter(state: &State, value: Value, counts: Rest<Value>) -> Result<Value, Error> {
    let t = tracker(state)?;
    for c in counts.iter() {
        let hidden_figure = c.downcast_object_ref::<FigureValue>().is_some_and(|f| {
            t.registry.get(f.id).is_some_and(|r| (*t.pattern).as_ref().is_some_and(|p| p.hides(&r.identity)))
        });
        if hidden_figure || number(c, "withhold")?.is_some_and(|n| t.is_small(n.round())) {
            return Ok(Value::from(t.rules.as_ref().map(|r| r.withheld_marker.clone()).unwrap_or_default()));
        }
    }
    Ok(value)
}

/// Fewer than this many in either year and a change between two counts is
/// not worth printing: its interval would run from a fall by half to a
/// doubling or more.
pub const FEWEST_TO_COMPARE: f64 = 10.0;

/// The change from `before` to `now` (two counts, e.g. sessions in two
/// whole years) with its 95% interval: the counts taken as Poisson, the
/// interval of their ratio exp(ln(a/b) ± 1.959964·√(1/a + 1/b)), shown as
/// changes (`+20%（−8%至+56%）`). Under [`FEWEST_TO_COMPARE`] in either year
/// it says the counts are too few.
pub fn count_change(now: f64, before: f64, lang: Lang) -> String {
    if now < FEWEST_TO_COMPARE || before < FEWEST_TO_COMPARE {
        return lang.pick("数量过少，不计算变化", "too few to compare").to_string();
    }
    let ratio = now / before;
    let half = 1.959964 * (1.0 / now + 1.0 / before).sqrt();
    let (low, high) = ((ratio.ln() - half).exp(), (ratio.ln() + half).exp());
    let as_change = |r: f64| {
        let text = fixed((r - 1.0) * 100.0, 0);
        if r > 1.0 && text != "0" { format!("+{text}%") } else { format!("{text}%") }
    };
    match lang {
        Lang::ZhCn => format!("{}（{}至{}）", as_change(ratio), as_change(low), as_change(high)),
        Lang::En => format!("{} ({} to {})", as_change(ratio), as_change(low), as_change(high)),
    }
}

/// `x` with exactly `decimals` decimals, rounded half away from zero as
/// Chinese statistics round (四舍五入: 12.5 → 13, where Rust's formatting
/// would give 12), `−` for minus, no `-0`. A value a hair below the half
/// because of binary floating point (28.499999999999996 for 57/200 × 100)
/// rounds as the exact fraction would.
pub fn fixed(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    let scale = 10f64.powi(decimals.min(15) as i32);
    let scaled = x * scale;
    let nudged = scaled + scaled.signum() * 1e-9 * scaled.abs().max(1.0);
    let x = nudged.round() / scale;
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
    use proptest::prelude::*;
    use sunward_render::document::{Block, Cell};

    proptest! {
        /// Any text — markup characters, line breaks, HTML, entities, code
        /// fences, table bars, Chinese — escaped and placed in a paragraph, a
        /// heading and a table cell, reads back as itself (line breaks as
        /// spaces), and the document keeps its own title and structure.
        #[test]
        fn escaped_text_reads_back_as_itself(text in "[a-z学校0-9 \\\\`*_\\[\\]<>#|~&+=\\-!{}()\"'.:;/\n\r\t]{0,30}") {
            let shown = text.replace(['\n', '\r'], " ");
            let escaped = escape_markup(&text);
            let markup = format!(
                "---\ntitle: 标题\n---\n\n# 一、{escaped}\n\n前 {escaped} 后\n\n| 名称 | 人数 |\n|---|---:|\n| {escaped} | 3 |\n"
            );
            let doc = sunward_render::markup::parse(&markup).unwrap_or_else(|e| panic!("{e}\n{markup}"));
            prop_assert_eq!(&doc.title, "标题");
            prop_assert_eq!(doc.blocks.len(), 3, "{:?}", doc.blocks);
            match &doc.blocks[0] {
                Block::Heading { text: heading, .. } => prop_assert_eq!(heading, &format!("一、{}", shown.trim_end())),
                other => prop_assert!(false, "{other:?}"),
            }
            match &doc.blocks[1] {
                Block::Paragraph { text: paragraph } | Block::RichParagraph { text: paragraph, .. } => {
                    prop_assert_eq!(paragraph, &format!("前 {shown} 后"))
                }
                other => prop_assert!(false, "{other:?}"),
            }
            match &doc.blocks[2] {
                Block::Table(table) => {
                    prop_assert_eq!(table.rows.len(), 1);
                    prop_assert_eq!(table.rows[0][0].display(), shown.trim());
                    prop_assert_eq!(&table.rows[0][1], &Cell::number(3.0));
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }

    #[test]
    fn a_change_between_counts_carries_its_interval() {
        // 120 against 100: ratio 1.2, √(1/120 + 1/100) = 0.13540, ln 1.2 = 0.18232;
        // exp(0.18232 ∓ 0.26538) = 0.9203 and 1.5647.
        assert_eq!(count_change(120.0, 100.0, Lang::ZhCn), "+20%（−8%至+56%）");
        // 30 against 45: ratio 0.667, interval 0.4200 to 1.0581.
        assert_eq!(count_change(30.0, 45.0, Lang::En), "−33% (−58% to +6%)");
        // 1 against 4 (readers saw "+296%"): too few.
        assert_eq!(count_change(4.0, 1.0, Lang::ZhCn), "数量过少，不计算变化");
        assert_eq!(count_change(9.0, 40.0, Lang::En), "too few to compare");
    }

    #[test]
    fn fixed_rounds_and_signs() {
        assert_eq!(fixed(5.2649, 1), "5.3");
        assert_eq!(fixed(-47.21, 0), "−47");
        assert_eq!(fixed(-0.04, 1), "0.0");
        assert_eq!(fixed(2913.0, 0), "2913");
        // 2/16 = 12.5%: 四舍五入 gives 13.
        assert_eq!(fixed(2.0 / 16.0 * 100.0, 0), "13");
        assert_eq!(fixed(-2.0 / 16.0 * 100.0, 0), "−13");
    }

    /// Every share a/b with b up to 400, as a percentage with 0, 1 and 2
    /// decimals, against exact integer arithmetic: round half up of
    /// 100·a/b·10^d is ⌊(2·100·10^d·a + b) / 2b⌋.
    #[test]
    fn percentages_round_half_up_over_a_grid_of_fractions() {
        for b in 1u64..=400 {
            for a in 0..=b {
                for d in 0..3usize {
                    let p = 10u64.pow(d as u32);
                    let units = (2 * 100 * p * a + b) / (2 * b);
                    let expected = if d == 0 {
                        units.to_string()
                    } else {
                        format!("{}.{:0width$}", units / p, units % p, width = d)
                    };
                    let got = fixed(a as f64 / b as f64 * 100.0, d);
                    assert_eq!(got, expected, "{a}/{b} with {d} decimals");
                }
            }
        }
    }

    #[test]
    fn figures_print_as_tokens_and_give_their_value() {
        let t = Tracker {
            rules: None,
            lang: Lang::ZhCn,
            registry: Registry::default(),
            baseline: None,
            pattern: Arc::new(None),
            catalogue: Arc::new(super::super::typed::catalogue().clone()),
            targets: Vec::new(),
        };
        let identity = |key: &str| Identity {
            unit_type: "school".into(),
            unit_id: "S1".into(),
            period: "AY2024".into(),
            key: key.into(),
        };
        let n = figure_value(&t, identity("incidents"), Some(134.0), &[]).unwrap();
        assert_eq!(n.to_string(), token(0, "134"));
        assert_eq!(n.get_attr("value").unwrap().to_string(), "134");
        let r = figure_value(&t, identity("screening_coverage"), Some(0.55), &[]).unwrap();
        assert_eq!(r.get_attr("value").unwrap().to_string(), "0.55");
        assert!(figure_value(&t, identity("incidents"), None, &[]).unwrap().is_none());
        // A metric the catalogue does not know is refused, whatever its value.
        let refused = figure_value(&t, identity("plugin_thing"), Some(4.0), &[]).unwrap_err();
        assert!(refused.to_string().contains("\"plugin_thing\" is not in the metric catalogue"), "{refused}");
        let records = t.registry.records();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].kind, super::super::typed::Kind::Count);
    }
}
