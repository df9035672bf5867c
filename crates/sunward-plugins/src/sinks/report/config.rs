//! The settings of a `report` output as a pipeline writes them
//! ([`ReportSinkConfig`] and the types of its fields), their defaults, the
//! words they accept for the language and the audience, and the checks made
//! on them before anything runs.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use sunward_core::ConfigIssue;
use sunward_render::Lang;

use super::targets;

/// Settings of a `report` output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSinkConfig {
    /// The template (minijinja) that writes the report's markup, relative to the pipeline's
    /// folder; `${param}` is replaced. Templates it includes are found beside it.
    pub template: String,
    /// Tables handed to the template as `tables.<name>`: each a list of rows, each row a map
    /// from column name to value. None may hold a `student_ref` column.
    #[serde(default)]
    pub tables: Vec<String>,
    /// The long metrics table (`unit_type, unit_id, period, metric, value`) that
    /// `metric(key, unit_type, unit_id, period)` reads.
    #[serde(default)]
    pub metrics: Option<String>,
    /// Metric catalogues of the project's own metrics, relative to the
    /// pipeline's folder, in the format of the shipped one
    /// (`pipelines/metrics-catalogue.yaml`): what each is (count, ratio …),
    /// what a rate rests on, its unit and definition. A template may print
    /// only metrics the catalogues know.
    #[serde(default)]
    pub catalogue: Vec<String>,
    /// The baseline period a change or a rate ratio compares against, e.g.
    /// `AY${baseline_year}`: such a figure rests on the count in its own
    /// period and in this one, for the publication rules. Without it, on
    /// the count in every other academic year of the metrics table.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Render once per row of a table, in parallel: `unit` is the row in the template and
    /// `{unit}` in `path` and `texts` is the row's `key` column.
    #[serde(default)]
    pub for_each: Option<ForEach>,
    /// The report's file name without extension, relative to the output folder: each format
    /// adds its own (`.html`, `.pdf`). `${param}` is replaced, and `{unit}` with `for_each`.
    /// A document in the official style (front matter `style: official`) is written as
    /// `<path>_official.<format>`, so it never replaces the standard edition.
    pub path: String,
    /// The formats to write.
    #[serde(default = "default_formats")]
    #[schemars(default = "default_formats")]
    pub formats: Vec<ReportFormat>,
    /// The language of the report: `zh-CN` (default) or `en`; `${lang}` takes a parameter.
    /// The template reads it as `lang` and picks words with `t("中文", "English")`.
    #[serde(default = "default_lang")]
    #[schemars(default = "default_lang")]
    pub lang: String,
    /// Who reads the report: `public` (the default; the publication rules of metrics.md are
    /// applied: small counts as `<k`, the rates built on them withheld, complementary
    /// suppression, a note) or `internal` (every count shown; every page is marked 内部资料 and
    /// the title page says who the report is for). `${audience}` takes a parameter.
    #[serde(default = "default_audience")]
    #[schemars(default = "default_audience")]
    pub audience: String,
    /// The line on the title page saying who the report is for, replacing the template's
    /// (front matter `audience:`) and the default (`内部资料：供…内部使用` or `公开版：…`);
    /// `${param}` is replaced. An empty text prints none.
    #[serde(default)]
    pub audience_note: Option<String>,
    /// The schools table (`school_id`, with `org_id` and `district_id` where it has them) that
    /// says which schools make up each organisation and district. A public report reading
    /// `metrics:` needs it: counts are withheld so that no organisation's or district's figure
    /// minus its schools' gives a hidden count back, in this report or in any other drawn from
    /// the same metrics table.
    #[serde(default)]
    pub hierarchy: Option<String>,
    /// Tables that break a metric down (growth-class attendances by topic): each row of the
    /// named table becomes the figure `<metric>/<by>` of its `unit_type`, `unit_id` and the
    /// given `period`, read with `metric()` and `fig()` like any other, and the parts add up to
    /// the metric. A public report withholds them across the organisation and its schools as it
    /// withholds the metrics.
    #[serde(default)]
    pub breakdowns: BTreeMap<String, Breakdown>,
    /// The publication threshold k: counts from 1 to k−1 are withheld.
    #[serde(default = "default_threshold")]
    #[schemars(default = "default_threshold")]
    pub threshold: u64,
    /// Text files the template includes as `texts.<name>` (report markup: narrative, case
    /// stories written without identifying details, next year's plan), relative to the
    /// pipeline's folder; `${param}` and `{unit}` are replaced. Each must exist, unless given
    /// as `{path: …, optional: true}` (a missing one is then an empty text). A text's front
    /// matter says who may read it (`audience: public`); any other text is internal and left
    /// out of a public report.
    #[serde(default)]
    pub texts: BTreeMap<String, TextSource>,
    /// What a missing text file (one not declared optional) does: `error` (the default:
    /// the run stops and names every missing file) or `placeholder` (an internal draft
    /// prints a marked 【待补充】 paragraph naming the file in its place; a public report
    /// still stops, so a draft is never published). `${param}` takes a parameter.
    #[serde(default = "default_missing_texts")]
    #[schemars(default = "default_missing_texts")]
    pub missing_texts: String,
    /// Targets the report judges against its metrics table: a YAML file of `targets:`
    /// relative to the pipeline's folder (`${param}` and `{unit}` replaced; a missing file
    /// means no targets), or the list itself. Each target names a `metric`, a `period` (or
    /// `periods`), optionally `each: school`, and one of `at_least`, `at_most`, `equals`. The
    /// template receives them as `targets` and judges each with `judge(target)`: met, not
    /// met, or cannot tell yet (an interval straddling the value, no data, or a figure the
    /// publication rules withhold), with the reason (docs/REPORTS.md, "Targets").
    #[serde(default)]
    pub targets: Option<targets::TargetsSource>,
}

fn default_missing_texts() -> String {
    "error".to_string()
}

/// How a table breaks a metric down.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Breakdown {
    /// The metric whose parts the rows are, e.g. `participants.growth_class`.
    pub metric: String,
    /// The period of every row (`${year}` takes a parameter); without it,
    /// each row's `period` column says its own.
    #[serde(default)]
    pub period: Option<String>,
    /// The column naming each part (e.g. `topic`).
    pub by: String,
    /// The column holding each part's count (e.g. `students`).
    pub value: String,
}

/// Where a text comes from: a path, or a path that may be missing.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TextSource {
    /// A file that must exist.
    Path(String),
    /// A file with settings.
    File(TextFile),
}

/// A text file with settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextFile {
    /// The file, as for a plain path.
    pub path: String,
    /// A missing file is an empty text instead of an error (a unit with no case stories).
    #[serde(default)]
    pub optional: bool,
    /// A first draft of the text (a file, relative to the pipeline): `sunward
    /// init --texts` copies it for every unit whose text is missing, `{unit}`
    /// and `{name}` replaced by the unit's key and name. Its gaps are marked
    /// 【待补充】, and a text still holding that mark counts as not written.
    #[serde(default)]
    pub draft: Option<String>,
}

impl TextSource {
    pub(super) fn path(&self) -> &str {
        match self {
            TextSource::Path(p) | TextSource::File(TextFile { path: p, .. }) => p,
        }
    }

    pub(super) fn optional(&self) -> bool {
        matches!(self, TextSource::File(TextFile { optional: true, .. }))
    }

    pub(super) fn draft(&self) -> Option<&str> {
        match self {
            TextSource::File(TextFile { draft: Some(d), .. }) => Some(d),
            _ => None,
        }
    }
}

/// Which table's rows a report is rendered for.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForEach {
    /// The table with one row per report.
    pub table: String,
    /// The column naming each report's unit (`{unit}` in paths).
    #[serde(default = "default_key")]
    #[schemars(default = "default_key")]
    pub key: String,
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// One self-contained HTML file.
    Html,
    /// An A4 PDF with the Chinese font embedded (subset).
    Pdf,
    /// A Word document (.docx) to edit in Word or WPS: heading styles, real tables, charts
    /// as images, page numbers.
    Docx,
}

fn default_formats() -> Vec<ReportFormat> {
    vec![ReportFormat::Html, ReportFormat::Pdf]
}
fn default_lang() -> String {
    "zh-CN".to_string()
}
fn default_audience() -> String {
    "public".to_string()
}
fn default_threshold() -> u64 {
    5
}
fn default_key() -> String {
    "unit_id".to_string()
}

/// The report language a `lang:` setting names, if it names one.
pub(super) fn parse_lang(text: &str) -> Option<Lang> {
    match text.trim().to_ascii_lowercase().as_str() {
        "zh-cn" | "zh" | "zh-hans" => Some(Lang::ZhCn),
        "en" | "en-gb" | "en-us" => Some(Lang::En),
        _ => None,
    }
}

/// Who reads a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Readers outside the organisation: the publication rules apply.
    Public,
    /// The organisation's or bureau's own staff: every count is shown and every page is marked.
    Internal,
}

impl Audience {
    /// The audience an `audience:` setting or a text's front matter names, if it names one.
    pub(super) fn parse(text: &str) -> Option<Audience> {
        match text.trim().to_ascii_lowercase().as_str() {
            "public" => Some(Audience::Public),
            "internal" => Some(Audience::Internal),
            _ => None,
        }
    }

    /// The name templates see as `audience`.
    pub fn name(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Internal => "internal",
        }
    }
}

/// What to write for `audience:`.
pub(super) const AUDIENCE_HINT: &str = "write `audience: public` (publication rules on) or `audience: internal` (every count shown, pages marked 内部资料)";

/// What to write for `lang:`.
pub(super) const LANG_HINT: &str = "write `lang: zh-CN` or `lang: en` (or `lang: ${lang}` with a parameter)";

/// Every mistake in the settings that can be seen without running: an
/// unknown language, audience or `missing_texts`, a target list that does
/// not hold, a threshold that withholds nothing, and a `path` that does not
/// fit `for_each`.
pub(super) fn issues(config: &ReportSinkConfig) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    if config.formats.is_empty() {
        issues.push(ConfigIssue::field("formats", "list at least one format").hint("formats: [html, pdf]"));
    }
    if !config.lang.contains("${") && parse_lang(&config.lang).is_none() {
        issues.push(ConfigIssue::field("lang", format!("unknown language \"{}\"", config.lang)).hint(LANG_HINT));
    }
    if !config.audience.contains("${") && Audience::parse(&config.audience).is_none() {
        issues.push(
            ConfigIssue::field("audience", format!("unknown audience \"{}\"", config.audience)).hint(AUDIENCE_HINT),
        );
    }
    if !config.missing_texts.contains("${") && !["error", "placeholder"].contains(&config.missing_texts.as_str()) {
        issues.push(
            ConfigIssue::field("missing_texts", format!("unknown missing_texts \"{}\"", config.missing_texts)).hint(
                "write `missing_texts: error` (stop and name every missing file) or `missing_texts: placeholder`",
            ),
        );
    }
    if let Some(targets::TargetsSource::List(list)) = &config.targets
        && let Err(d) = targets::check(list, "the pipeline")
    {
        issues.push(ConfigIssue::field("targets", d.message).hint(d.hint.unwrap_or_default()));
    }
    if config.threshold < 2 {
        issues.push(
            ConfigIssue::field("threshold", "a threshold below 2 withholds nothing")
                .hint("metrics.md's default is 5; write `audience: internal` for a report that shows every count"),
        );
    }
    if config.for_each.is_none() && config.path.contains("{unit}") {
        issues.push(
            ConfigIssue::field("path", "`{unit}` is only replaced with `for_each`")
                .hint("add `for_each: {table: units}` or remove `{unit}`"),
        );
    }
    if config.for_each.is_some() && !config.path.contains("{unit}") {
        issues.push(
            ConfigIssue::field("path", "with `for_each` every report needs its own name: put `{unit}` in the path")
                .hint("e.g. `path: review_{unit}`"),
        );
    }
    issues
}
