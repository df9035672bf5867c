//! Targets as data: a figure, the units and periods it is judged for, a
//! comparison and a value (`duty_coverage` at least 0.8; at least one parent
//! workshop in every school in every term). A report names its targets in
//! YAML (`targets:`, usually one file per unit: next year's plan), hands them
//! to its template as `targets`, and the template judges each with
//! `judge(target)`.
//!
//! A target is **met**, **not met**, or **cannot tell yet**, always with the
//! reason in words. A figure with a 95% interval (`<metric>_ci_low` and
//! `_ci_high`, or the pair the target names) is judged by its interval: met
//! when the whole interval is on the right side of the value, not met when
//! the whole interval is on the wrong side, and cannot tell when it straddles
//! the value. A figure without one is judged by its value. No figure, an
//! empty one, or one a public report withholds is never judged: cannot tell
//! yet. A target judged for several schools or periods is met when every one
//! is met, not met when any one is not, and otherwise cannot tell.

use schemars::JsonSchema;
use serde::Deserialize;
use std::path::Path;
use sunward_core::{Diagnostic, Result};
use sunward_render::Lang;

/// The targets of a report: a YAML file (`${param}` and `{unit}` replaced;
/// a missing file means the unit names no targets), or the targets themselves.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TargetsSource {
    /// A file holding `targets:`, relative to the pipeline's folder.
    File(String),
    /// The targets, written in the pipeline.
    List(Vec<Target>),
}

/// A file of targets.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// What the targets are for, in words (shown nowhere; for the reader of the file).
    #[serde(default)]
    pub about: Option<String>,
    /// The targets.
    pub targets: Vec<Target>,
}

/// One target.
#[derive(Debug, Clone, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// What the target says, in Chinese and in English (`{zh: …, en: …}`), or one text for both.
    pub name: Name,
    /// The figure it is judged on: a key of the report's metrics table.
    pub metric: String,
    /// The period it is judged for (`2025`, `AY2024`, `AY2024-1`); default: the template's `period`.
    #[serde(default)]
    pub period: Option<String>,
    /// Several periods, each judged (every term of a year); instead of `period`.
    #[serde(default)]
    pub periods: Vec<String>,
    /// `school`: judged for every school of the unit, not for the unit as a whole.
    #[serde(default)]
    pub each: Option<Each>,
    /// The figure must be at least this.
    #[serde(default)]
    pub at_least: Option<f64>,
    /// The figure must be at most this.
    #[serde(default)]
    pub at_most: Option<f64>,
    /// The figure must be exactly this (judged on the value, never on an interval).
    #[serde(default)]
    pub equals: Option<f64>,
    /// The keys of the figure's 95% interval, when they are not `<metric>_ci_low` and `<metric>_ci_high`.
    #[serde(default)]
    pub interval: Option<[String; 2]>,
}

/// A target's name.
#[derive(Debug, Clone, Deserialize, JsonSchema, serde::Serialize)]
#[serde(untagged)]
pub enum Name {
    /// The same text in every language.
    One(String),
    /// A text per language.
    Both {
        /// Chinese.
        zh: String,
        /// English.
        en: String,
    },
}

impl Name {
    /// The name in `lang`.
    pub fn text(&self, lang: Lang) -> &str {
        match self {
            Name::One(t) => t,
            Name::Both { zh, en } => {
                if lang == Lang::En {
                    en
                } else {
                    zh
                }
            }
        }
    }
}

/// Over whom a target is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Each {
    /// Every school of the unit.
    School,
}

/// What a target asks of its figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Comparison {
    /// At least the value.
    AtLeast(f64),
    /// At most the value.
    AtMost(f64),
    /// Exactly the value.
    Equals(f64),
}

impl Target {
    /// Its comparison, or what is wrong with it.
    pub fn comparison(&self) -> std::result::Result<Comparison, String> {
        let given: Vec<Comparison> = [
            self.at_least.map(Comparison::AtLeast),
            self.at_most.map(Comparison::AtMost),
            self.equals.map(Comparison::Equals),
        ]
        .into_iter()
        .flatten()
        .collect();
        match given.as_slice() {
            [one] if one.value().is_finite() => Ok(*one),
            [_] => Err("its value is not a finite number".into()),
            [] => Err("it says no comparison: give one of `at_least`, `at_most`, `equals`".into()),
            _ => Err("it gives more than one of `at_least`, `at_most`, `equals`: a target compares once".into()),
        }
    }

    /// The interval keys of its figure.
    pub fn interval_keys(&self) -> (String, String) {
        match &self.interval {
            Some([low, high]) => (low.clone(), high.clone()),
            None => {
                // `on_time_share.crisis_notice` → `on_time_share_ci_low.crisis_notice`.
                let (head, tail) = match self.metric.split_once('.') {
                    Some((h, t)) => (h, format!(".{t}")),
                    None => (self.metric.as_str(), String::new()),
                };
                (format!("{head}_ci_low{tail}"), format!("{head}_ci_high{tail}"))
            }
        }
    }
}

impl Comparison {
    fn value(self) -> f64 {
        match self {
            Comparison::AtLeast(v) | Comparison::AtMost(v) | Comparison::Equals(v) => v,
        }
    }
}

/// Reads and checks the targets of `path`; a missing file is no targets.
pub fn read_file(path: &Path) -> Result<Vec<Target>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Diagnostic::invalid(format!("targets: cannot read {}: {e}", path.display()))),
    };
    let file = parse(&text, &path.display().to_string())?;
    check(&file.targets, &path.display().to_string())?;
    Ok(file.targets)
}

/// A targets file's text, read as [`TargetFile`]; a mistake names its place.
pub fn parse(text: &str, file: &str) -> Result<TargetFile> {
    let node = sunward_core::yaml::parse(text, file)?;
    serde_path_to_error::deserialize(node.to_json()).map_err(|e| {
        Diagnostic::invalid(format!("targets in {file}, at {}: {}", e.path(), e.inner()))
            .hint("a targets file holds `targets:`, a list of {name, metric, period or periods, each, at_least | at_most | equals}")
    })
}

/// Every mistake of `targets` at once (each target needs exactly one comparison, and not both `period` and `periods`).
pub fn check(targets: &[Target], file: &str) -> Result<()> {
    let mut problems = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let which = format!("target {} ({})", i + 1, t.metric);
        if let Err(e) = t.comparison() {
            problems.push(format!("{which}: {e}"));
        }
        if t.period.is_some() && !t.periods.is_empty() {
            problems.push(format!("{which}: give `period` or `periods`, not both"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Diagnostic::invalid(format!("targets in {file}: {}", problems.join("; ")))
        .hint("e.g. `- {name: {zh: 值班覆盖率不低于80%, en: duty kept on 80% of days}, metric: duty_coverage, at_least: 0.8}`"))
}

/// A place a target is judged for: a unit of the metrics table and how the reason names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// `school`, `org`, `district` or `all`.
    pub unit_type: String,
    /// The unit's id.
    pub unit_id: String,
    /// Its name in the reason (`青柳湖中学`).
    pub label: String,
}

/// A target of one render's unit, with the places it is judged for.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The target as written.
    pub target: Target,
    /// The unit itself, or (`each: school`) each of its schools.
    pub places: Vec<Place>,
}

/// A row of the hierarchy table: a school, its name, organisation and district.
#[derive(Debug, Clone)]
pub struct SchoolRow {
    /// `school_id`.
    pub school: String,
    /// `school_name`, if the table has it.
    pub name: Option<String>,
    /// `org_id`.
    pub org: Option<String>,
    /// `district_id`.
    pub district: Option<String>,
}

/// The schools of every unit (`school`, `org`, `district`, `all`): what
/// `each: school` judges a target for.
pub fn schools_of(rows: &[SchoolRow]) -> std::collections::BTreeMap<(String, String), Vec<Place>> {
    let mut members: std::collections::BTreeMap<(String, String), Vec<Place>> = Default::default();
    for row in rows {
        let place = Place {
            unit_type: "school".into(),
            unit_id: row.school.clone(),
            label: row.name.clone().unwrap_or_else(|| row.school.clone()),
        };
        let mut units = vec![("school".to_string(), row.school.clone()), ("all".to_string(), "all".to_string())];
        units.extend(row.org.iter().map(|o| ("org".to_string(), o.clone())));
        units.extend(row.district.iter().map(|d| ("district".to_string(), d.clone())));
        for unit in units {
            members.entry(unit).or_default().push(place.clone());
        }
    }
    members
}

/// A period of the metrics table in words: `2025` → 2025年, `AY2024` →
/// 2024学年, `AY2024-2` → 2024学年第二学期, `2025-06` → 2025年6月 (in English:
/// 2025, the 2024–25 school year, term 2 of 2024–25, June 2025).
pub fn period_name(period: &str, lang: Lang) -> String {
    let en = lang == Lang::En;
    let number = |s: &str| s.parse::<i32>().ok();
    if let Some(rest) = period.strip_prefix("AY") {
        let (year, term) = match rest.split_once('-') {
            Some((y, t)) => (number(y), number(t)),
            None => (number(rest), None),
        };
        if let Some(y) = year {
            let span = format!("{y}–{:02}", (y + 1) % 100);
            return match (term, en) {
                (None, false) => format!("{y}学年"),
                (None, true) => format!("the {span} school year"),
                (Some(1), false) => format!("{y}学年第一学期"),
                (Some(2), false) => format!("{y}学年第二学期"),
                (Some(t), false) => format!("{y}学年第{t}学期"),
                (Some(t), true) => format!("term {t} of {span}"),
            };
        }
    }
    if let Some((y, m)) = period.split_once('-')
        && let (Some(y), Some(m)) = (number(y), number(m))
        && (1..=12).contains(&m)
    {
        return if en {
            format!("{} {y}", sunward_render::document::MONTHS[(m - 1) as usize])
        } else {
            format!("{y}年{m}月")
        };
    }
    match (number(period), en) {
        (Some(y), false) => format!("{y}年"),
        _ => period.to_string(),
    }
}

/// What is known of a target's figure for one unit and period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observed {
    /// The metrics table has no such figure (a period not in the data yet).
    Missing,
    /// The figure is empty: nothing to take it over.
    Empty,
    /// A public report withholds it.
    Withheld,
    /// Its value, with its 95% interval when it has one.
    Value { value: f64, interval: Option<(f64, f64)> },
}

/// A judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Met.
    Met,
    /// Cannot tell yet.
    CannotTell,
    /// Not met.
    NotMet,
}

impl Status {
    /// The code a template tests (`met`, `not_met`, `cannot_tell`).
    pub fn code(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::NotMet => "not_met",
            Status::CannotTell => "cannot_tell",
        }
    }

    /// The judgement in words.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang == Lang::En) {
            (Status::Met, false) => "达成",
            (Status::NotMet, false) => "未达成",
            (Status::CannotTell, false) => "尚无法判断",
            (Status::Met, true) => "met",
            (Status::NotMet, true) => "not met",
            (Status::CannotTell, true) => "cannot tell yet",
        }
    }
}

/// A judgement of one figure, with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Met, not met, or cannot tell.
    pub status: Status,
    /// Why, in the report's language.
    pub reason: String,
}

/// How a figure is written in a reason: a share as a percentage, else a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A share (0.8 → 80%).
    Share,
    /// A number (up to two decimals).
    Number,
}

impl Shape {
    /// `x` as a reason writes it: a share as a whole percentage rounded half up
    /// (as the reports print shares), a number with at most two decimals.
    fn show(self, x: f64) -> String {
        self.show_with(x, 0)
    }

    fn show_with(self, x: f64, extra: i32) -> String {
        match self {
            Shape::Share => format!("{}%", trimmed(x * 100.0, extra)),
            Shape::Number => trimmed(x, 2 + extra),
        }
    }

    /// `x` beside `target`: with more decimals when the usual rounding would
    /// write a value that differs from the target as the target itself.
    fn beside(self, x: f64, target: f64) -> String {
        let mut extra = 0;
        while extra < 3 && x != target && self.show_with(x, extra) == self.show_with(target, extra) {
            extra += 1;
        }
        self.show_with(x, extra)
    }
}

/// `x` with at most `decimals` decimals, rounded half up, trailing zeros dropped.
fn trimmed(x: f64, decimals: i32) -> String {
    let scale = 10f64.powi(decimals);
    let rounded = ((x * scale) + 0.5 + 1e-9).floor() / scale;
    let text = format!("{rounded:.*}", decimals as usize);
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text };
    if text == "-0" { "0".into() } else { text }
}

/// Judges one figure against `comparison`.
pub fn judge(comparison: Comparison, observed: Observed, shape: Shape, lang: Lang) -> Verdict {
    let en = lang == Lang::En;
    let cannot = |zh: &str, english: &str| Verdict {
        status: Status::CannotTell,
        reason: if en { english.to_string() } else { zh.to_string() },
    };
    let (value, interval) = match observed {
        Observed::Missing => return cannot("本期尚无该指标的数据", "no figure for this period yet"),
        Observed::Empty => return cannot("本期没有可计算该指标的记录", "nothing to compute it from in this period"),
        Observed::Withheld => {
            return cannot(
                "该数值按公开规则不予公布，不作判断",
                "the figure is withheld under the publication rules, so it is not judged",
            );
        }
        Observed::Value { value, interval } => (value, interval),
    };
    let target = comparison.value();
    let t = shape.show(target);
    let v = shape.beside(value, target);
    let verdict =
        |status: Status, zh: String, english: String| Verdict { status, reason: if en { english } else { zh } };
    match (comparison, interval) {
        (Comparison::Equals(_), _) => {
            if (value - target).abs() <= 1e-9 * target.abs().max(1.0) {
                verdict(Status::Met, format!("{v}，等于目标值{t}"), format!("{v}, equal to the target {t}"))
            } else {
                verdict(Status::NotMet, format!("{v}，未达到目标值{t}"), format!("{v}, not the target {t}"))
            }
        }
        (Comparison::AtLeast(_), Some((low, high))) | (Comparison::AtMost(_), Some((low, high))) => {
            let (l, h) = (shape.show(low), shape.show(high));
            let at_least = matches!(comparison, Comparison::AtLeast(_));
            let (good, bad) = if at_least { (low >= target, high < target) } else { (high <= target, low > target) };
            if good {
                verdict(
                    Status::Met,
                    format!("{v}，95%区间{l}–{h}{}目标{t}", if at_least { "均不低于" } else { "均不高于" }),
                    format!(
                        "{v}; its 95% interval {l}–{h} is {} the target {t}",
                        if at_least { "at or above" } else { "at or below" }
                    ),
                )
            } else if bad {
                verdict(
                    Status::NotMet,
                    format!("{v}，95%区间{l}–{h}{}目标{t}", if at_least { "均低于" } else { "均高于" }),
                    format!(
                        "{v}; its 95% interval {l}–{h} is {} the target {t}",
                        if at_least { "below" } else { "above" }
                    ),
                )
            } else {
                verdict(
                    Status::CannotTell,
                    format!("{v}，但95%区间{l}–{h}跨越目标{t}，尚需更多数据"),
                    format!("{v}, but its 95% interval {l}–{h} straddles the target {t}: more data is needed"),
                )
            }
        }
        (Comparison::AtLeast(_), None) => {
            if value >= target {
                verdict(Status::Met, format!("{v}，不低于目标{t}"), format!("{v}, at or above the target {t}"))
            } else {
                verdict(Status::NotMet, format!("{v}，低于目标{t}"), format!("{v}, below the target {t}"))
            }
        }
        (Comparison::AtMost(_), None) => {
            if value <= target {
                verdict(Status::Met, format!("{v}，不高于目标{t}"), format!("{v}, at or below the target {t}"))
            } else {
                verdict(Status::NotMet, format!("{v}，高于目标{t}"), format!("{v}, above the target {t}"))
            }
        }
    }
}

/// Combines the judgements of one target over several places (a school, a
/// period, or both, each named): met when all are met, not met when any is
/// not (naming where), else cannot tell (naming where).
pub fn combine(judged: &[(String, Verdict)], lang: Lang) -> Verdict {
    let en = lang == Lang::En;
    if let [(_, only)] = judged {
        return only.clone();
    }
    let worst = |s: Status| judged.iter().filter(|(_, v)| v.status == s).map(|(w, _)| w.as_str()).collect::<Vec<_>>();
    let (not_met, unclear) = (worst(Status::NotMet), worst(Status::CannotTell));
    let n = judged.len();
    let list = |places: &[&str]| {
        let shown: Vec<&str> = places.iter().take(5).copied().collect();
        let more = places.len().saturating_sub(5);
        match (more, en) {
            (0, _) => shown.join(if en { ", " } else { "、" }),
            (m, true) => format!("{} and {m} more", shown.join(", ")),
            (m, false) => format!("{}等{}处", shown.join("、"), shown.len() + m),
        }
    };
    if !not_met.is_empty() {
        let reason = if en {
            format!("not met in {} of {n}: {}", not_met.len(), list(&not_met))
        } else {
            format!("{n}项中有{}项未达到：{}", not_met.len(), list(&not_met))
        };
        return Verdict { status: Status::NotMet, reason };
    }
    if !unclear.is_empty() {
        let reason = if en {
            format!("met in {} of {n}; cannot tell yet for {}", n - unclear.len(), list(&unclear))
        } else {
            format!("{n}项中{}项已达到，{}尚无法判断", n - unclear.len(), list(&unclear))
        };
        return Verdict { status: Status::CannotTell, reason };
    }
    let reason = if en { format!("met in all {n}") } else { format!("{n}项均已达到") };
    Verdict { status: Status::Met, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: f64) -> Observed {
        Observed::Value { value: v, interval: None }
    }

    fn with_interval(v: f64, low: f64, high: f64) -> Observed {
        Observed::Value { value: v, interval: Some((low, high)) }
    }

    /// At the edges, for every comparison: exactly at the target, an interval
    /// touching it, straddling it, wholly on either side; no data, an empty
    /// figure and a withheld one. Each status worked out here from the rule,
    /// not from the code.
    #[test]
    fn a_target_is_judged_at_its_edges() {
        use Comparison::*;
        use Status::*;
        let cases: Vec<(Comparison, Observed, Status)> = vec![
            (AtLeast(0.8), value(0.8), Met),
            (AtLeast(0.8), value(0.7999), NotMet),
            (AtLeast(0.8), value(1.0), Met),
            (AtLeast(0.8), with_interval(0.85, 0.8, 0.9), Met),
            (AtLeast(0.8), with_interval(0.85, 0.7999, 0.9), CannotTell),
            (AtLeast(0.8), with_interval(0.79, 0.7, 0.8), CannotTell),
            (AtLeast(0.8), with_interval(0.75, 0.7, 0.7999), NotMet),
            (AtMost(0.1), value(0.1), Met),
            (AtMost(0.1), value(0.1001), NotMet),
            (AtMost(0.1), with_interval(0.08, 0.05, 0.1), Met),
            (AtMost(0.1), with_interval(0.08, 0.05, 0.12), CannotTell),
            (AtMost(0.1), with_interval(0.15, 0.1001, 0.2), NotMet),
            (Equals(1.0), value(1.0), Met),
            (Equals(1.0), value(0.999), NotMet),
            (Equals(1.0), with_interval(1.0, 0.8, 1.0), Met),
            (Equals(1.0), with_interval(0.95, 0.9, 1.0), NotMet),
        ];
        for (comparison, observed, want) in cases {
            let got = judge(comparison, observed, Shape::Share, Lang::ZhCn);
            assert_eq!(got.status, want, "{comparison:?} {observed:?}: {}", got.reason);
        }
        for observed in [Observed::Missing, Observed::Empty, Observed::Withheld] {
            for comparison in [AtLeast(0.8), AtMost(0.1), Equals(1.0)] {
                assert_eq!(judge(comparison, observed, Shape::Share, Lang::En).status, CannotTell);
            }
        }
    }

    #[test]
    fn the_reason_says_why_in_the_reports_language() {
        let straddle = judge(Comparison::AtLeast(0.8), with_interval(0.82, 0.72, 0.9), Shape::Share, Lang::ZhCn);
        assert_eq!(straddle.reason, "82%，但95%区间72%–90%跨越目标80%，尚需更多数据");
        let met = judge(Comparison::AtLeast(1.0), value(3.0), Shape::Number, Lang::En);
        assert_eq!(met.reason, "3, at or above the target 1");
        let withheld = judge(Comparison::AtLeast(0.8), Observed::Withheld, Shape::Share, Lang::ZhCn);
        assert_eq!(withheld.reason, "该数值按公开规则不予公布，不作判断");
        let share = judge(Comparison::AtMost(0.13), value(0.12345), Shape::Share, Lang::En);
        assert_eq!(share.reason, "12%, at or below the target 13%");
        // Rounded as the target, a value short of it is written with the decimal that shows why.
        let short = judge(Comparison::AtLeast(0.8), value(0.7996), Shape::Share, Lang::ZhCn);
        assert_eq!(short.reason, "79.96%，低于目标80%");
        let half = judge(Comparison::AtLeast(0.5), value(0.125), Shape::Share, Lang::En);
        assert_eq!(half.reason, "13%, below the target 50%");
    }

    #[test]
    fn several_places_are_met_only_when_every_one_is() {
        let v = |s: Status| Verdict { status: s, reason: String::new() };
        let named = |list: &[(&str, Status)]| list.iter().map(|(w, s)| (w.to_string(), v(*s))).collect::<Vec<_>>();
        let all = combine(&named(&[("S1", Status::Met), ("S2", Status::Met)]), Lang::En);
        assert_eq!((all.status, all.reason.as_str()), (Status::Met, "met in all 2"));
        let one_short =
            combine(&named(&[("S1", Status::Met), ("S2", Status::NotMet), ("S3", Status::CannotTell)]), Lang::En);
        assert_eq!((one_short.status, one_short.reason.as_str()), (Status::NotMet, "not met in 1 of 3: S2"));
        let unclear = combine(&named(&[("S1", Status::Met), ("S2", Status::CannotTell)]), Lang::ZhCn);
        assert_eq!((unclear.status, unclear.reason.as_str()), (Status::CannotTell, "2项中1项已达到，S2尚无法判断"));
        let many: Vec<(String, Verdict)> = (1..=7).map(|i| (format!("S{i}"), v(Status::NotMet))).collect();
        assert_eq!(combine(&many, Lang::En).reason, "not met in 7 of 7: S1, S2, S3, S4, S5 and 2 more");
    }

    #[test]
    fn periods_are_named_in_words() {
        let cases = [
            ("2025", "2025年", "2025"),
            ("AY2024", "2024学年", "the 2024–25 school year"),
            ("AY2024-1", "2024学年第一学期", "term 1 of 2024–25"),
            ("AY2099-2", "2099学年第二学期", "term 2 of 2099–00"),
            ("2025-06", "2025年6月", "June 2025"),
            ("2025-13", "2025-13", "2025-13"),
            ("spring", "spring", "spring"),
        ];
        for (period, zh, en) in cases {
            assert_eq!(period_name(period, Lang::ZhCn), zh);
            assert_eq!(period_name(period, Lang::En), en);
        }
    }

    #[test]
    fn a_target_needs_exactly_one_comparison() {
        let parse = |yaml: &str| parse(yaml, "t.yaml");
        let good = parse("targets:\n  - {name: 覆盖率, metric: duty_coverage, at_least: 0.8}\n").unwrap();
        assert!(check(&good.targets, "t.yaml").is_ok());
        let bad = parse(
            "targets:\n  - {name: a, metric: m}\n  - {name: b, metric: m, at_least: 1, at_most: 2}\n  - {name: c, metric: m, equals: 1, period: '2025', periods: ['2024']}\n",
        )
        .unwrap();
        let message = check(&bad.targets, "t.yaml").unwrap_err().message;
        assert!(message.contains("target 1 (m): it says no comparison"), "{message}");
        assert!(message.contains("target 2 (m): it gives more than one"), "{message}");
        assert!(message.contains("target 3 (m): give `period` or `periods`, not both"), "{message}");
        assert!(
            parse("targets:\n  - {name: a, metric: m, at_least: 1, colour: red}\n").is_err(),
            "unknown keys are refused"
        );
        let keys = Target { interval: None, ..good.targets[0].clone() };
        assert_eq!(keys.interval_keys(), ("duty_coverage_ci_low".into(), "duty_coverage_ci_high".into()));
        let family = Target { metric: "on_time_share.crisis_notice".into(), ..keys };
        assert_eq!(
            family.interval_keys(),
            ("on_time_share_ci_low.crisis_notice".into(), "on_time_share_ci_high.crisis_notice".into())
        );
    }
}
