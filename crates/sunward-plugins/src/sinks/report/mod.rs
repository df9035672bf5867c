//! The `report` output: a minijinja template renders report markup (see
//! [`sunward_render::markup`]) from the pipeline's tables and figures; the
//! markup becomes a [`Document`]; the publication rules are applied; the
//! document is written as a self-contained HTML file, an A4 PDF and, when
//! asked, a Word file.
//!
//! - **Figures** come from the long metrics table (`metrics:`) through
//!   `metric(key, unit_type, unit_id, period)`, typed ([`typed`]); other tables reach the
//!   template as `tables.<name>` (lists of rows). The filters that format and
//!   publish figures are listed in [`template`].
//! - **One report per unit**: with `for_each`, the template renders once per
//!   row of a table (`unit` is that row), in parallel, and `{unit}` in `path`
//!   becomes the row's key; the unit's own text files are read through
//!   `texts:` paths holding `{unit}` as well.
//! - **Audience**: `audience: public` (the default) applies the publication
//!   rules: small counts show as `<k`, rates resting on them are withheld,
//!   tables with totals get complementary suppression, small bars and funnel
//!   points are dropped, and a note says so ([`publish`]); the title page
//!   says it is the public edition. `audience: internal` shows every count,
//!   marks every page 内部资料 and says on the title page who may read it.
//!   A table handed to a report may not hold a `student_ref` column, nor may
//!   any table the report shows, whatever the audience.
//! - **Atomic and all-or-nothing**: every report is rendered before any file
//!   is written, so a failure for one unit leaves no files at all; each file
//!   is written to a temporary name and renamed.

pub mod catalogue;
pub mod publish;
pub mod targets;
pub mod template;
pub mod typed;
pub mod values;

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sunward_core::atomic::write_atomic;
use sunward_core::{ConfigIssue, Diagnostic, Plugin, PluginInfo, Result, RunContext, Sink, TableData};
use sunward_render::publication::{IDENTIFYING_COLUMNS, Rules};
use sunward_render::{Block, Document, Lang, docx, html, markup, pdf};

use super::{table, write_error};
use sunward_render::disclosure::{Adds, Catalogue, Hierarchy, Lattice, Pattern, Role, protect};
use template::Tracker;
use typed::{Identity, Registry, Settle, Verdict};
use values::Figures;

/// The files of one report: path and bytes, one per format.
type Files = Vec<(PathBuf, Vec<u8>)>;

/// Renders reports from a template.
pub struct ReportSink;

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

/// Whether a missing text stops the run or leaves a marked gap in an internal draft.
fn placeholders(config: &ReportSinkConfig, ctx: &RunContext, audience: Audience) -> Result<bool> {
    match ctx.interpolate(&config.missing_texts)?.as_str() {
        "error" => Ok(false),
        "placeholder" => Ok(audience == Audience::Internal),
        other => Err(Diagnostic::invalid(format!("unknown missing_texts \"{other}\""))
            .hint("write `missing_texts: error` (stop and name every missing file) or `missing_texts: placeholder`")),
    }
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
    fn path(&self) -> &str {
        match self {
            TextSource::Path(p) | TextSource::File(TextFile { path: p, .. }) => p,
        }
    }

    fn optional(&self) -> bool {
        matches!(self, TextSource::File(TextFile { optional: true, .. }))
    }

    fn draft(&self) -> Option<&str> {
        match self {
            TextSource::File(TextFile { draft: Some(d), .. }) => Some(d),
            _ => None,
        }
    }
}

/// How a text marks what is still to be written: a draft's gaps, and an
/// internal draft's missing texts. A text holding it is not written yet.
pub const TO_WRITE: &str = "【待补充】";

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

fn parse_lang(text: &str) -> Option<Lang> {
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
    fn parse(text: &str) -> Option<Audience> {
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

const AUDIENCE_HINT: &str = "write `audience: public` (publication rules on) or `audience: internal` (every count shown, pages marked 内部资料)";

/// Sets who the report is for on its title page, and the internal mark on every page.
fn state_audience(doc: &mut Document, audience: Audience, note: Option<String>, threshold: u64) {
    let lang = doc.lang;
    let who = doc.meta.organisation.clone().unwrap_or_else(|| lang.pick("本单位", "the organisation").to_string());
    let default = match (audience, lang) {
        (Audience::Internal, Lang::ZhCn) => format!("内部资料：供{who}内部使用，请勿公开或转发。"),
        (Audience::Internal, Lang::En) => format!("Internal: for the use of {who}; not for publication or forwarding."),
        // The rules themselves are in the one note at the end of the document.
        (Audience::Public, Lang::ZhCn) => {
            format!("公开版：按发布规则，小于{threshold}的人数等数字及可据以推算它们的数字不予公布，文末注释说明口径。")
        }
        (Audience::Public, Lang::En) => format!(
            "Public edition: counts under {threshold}, and figures that would let one be worked out, are withheld under the publication rules; the note at the end explains."
        ),
    };
    // An official document's annotation (附注) is the short formula of GB/T 9704.
    let default = match (doc.meta.style, audience, lang) {
        (sunward_render::DocStyle::Official, Audience::Public, Lang::ZhCn) => "此件公开发布".to_string(),
        (sunward_render::DocStyle::Official, Audience::Internal, Lang::ZhCn) => "此件不公开".to_string(),
        (sunward_render::DocStyle::Official, Audience::Public, Lang::En) => "for publication".to_string(),
        (sunward_render::DocStyle::Official, Audience::Internal, Lang::En) => "not for publication".to_string(),
        _ => default,
    };
    // The output's setting, else the template's front matter, else the default.
    doc.meta.audience = match note {
        Some(text) if text.trim().is_empty() => None,
        Some(text) => Some(text),
        None => Some(doc.meta.audience.take().unwrap_or(default)),
    };
    if audience == Audience::Internal {
        doc.meta.marking = Some(lang.pick("内部资料", "Internal").to_string());
    }
}

const LANG_HINT: &str = "write `lang: zh-CN` or `lang: en` (or `lang: ${lang}` with a parameter)";

impl Plugin for ReportSink {
    type Config = ReportSinkConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "report",
        description: "renders a report from a template to self-contained HTML and A4 PDF, with the publication rules",
        example: "plugin: report\ntemplate: ../report-templates/annual-review.md.j2\nmetrics: metrics\ntables: [units, topics]\nfor_each: {table: units, key: unit_id}\npath: review_${year}_{unit}\ntexts: {narrative: texts/{unit}.md}\n",
    };

    fn check(&self, config: &ReportSinkConfig) -> Vec<ConfigIssue> {
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
                ConfigIssue::field("missing_texts", format!("unknown missing_texts \"{}\"", config.missing_texts))
                    .hint("write `missing_texts: error` (stop and name every missing file) or `missing_texts: placeholder`"),
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
}

impl Sink for ReportSink {
    /// The template exists and parses, and the catalogues read without a mistake.
    fn preflight(&self, config: &ReportSinkConfig, ctx: &RunContext) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        match template_file(config, ctx) {
            Err(d) => problems.push(d),
            Ok(path) => {
                let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
                let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                let env = template::environment(&root, Arc::new(Figures::default()), ctx.contract);
                if let Err(e) = env.get_template(&name) {
                    let mut d = template_error(&path, &e, "");
                    d.kind = sunward_core::ErrorKind::Invalid;
                    problems.push(d);
                }
            }
        }
        if let Err(errors) = project_catalogue(config, ctx) {
            problems.extend(errors);
        }
        problems
    }

    fn per_row(&self, config: &ReportSinkConfig) -> Option<String> {
        config.for_each.as_ref().map(|each| each.table.clone())
    }

    /// A public edition is published; an audience that does not read counts as public.
    fn publishes(&self, config: &ReportSinkConfig, ctx: &RunContext) -> bool {
        let audience = ctx.interpolate(&config.audience).ok().and_then(|a| Audience::parse(&a));
        audience != Some(Audience::Internal)
    }

    /// Every unit's texts exist (unless an internal draft may mark a gap).
    fn preflight_rows(&self, config: &ReportSinkConfig, ctx: &RunContext, table: &TableData) -> Vec<Diagnostic> {
        let checked = (|| {
            let lang = parse_lang(&ctx.interpolate(&config.lang)?).unwrap_or_default();
            let audience = Audience::parse(&ctx.interpolate(&config.audience)?).unwrap_or(Audience::Public);
            if placeholders(config, ctx, audience)? {
                return Ok(());
            }
            missing_texts(config, ctx, &units(config, std::slice::from_ref(table), lang)?)
        })();
        checked.err().into_iter().collect()
    }

    /// A draft of every missing text that declares one, for each unit.
    fn drafts(&self, config: &ReportSinkConfig, ctx: &RunContext, table: &TableData) -> Result<Vec<(PathBuf, String)>> {
        let mut drafts = Vec::new();
        for (key, unit) in units(config, std::slice::from_ref(table), Lang::default())? {
            for source in config.texts.values() {
                let Some(draft) = source.draft() else { continue };
                let path = ctx.input_path(&ctx.interpolate(source.path())?.replace("{unit}", &key))?;
                if path.exists() {
                    continue;
                }
                let from = ctx.input_path(&ctx.interpolate(draft)?)?;
                let text = std::fs::read_to_string(&from).map_err(|e| {
                    Diagnostic::invalid(format!("cannot read the draft {}: {e}", from.display()))
                        .hint("`draft:` names a file relative to the pipeline")
                })?;
                let name = unit.get_attr("name").ok().filter(|v| !v.is_none()).map(|v| v.to_string());
                let text = text.replace("{unit}", &key).replace("{name}", name.as_deref().unwrap_or(&key));
                drafts.push((path, text));
            }
        }
        Ok(drafts)
    }

    fn inputs(&self, config: &ReportSinkConfig) -> Vec<String> {
        let mut names: Vec<String> = config.tables.clone();
        names.extend(config.metrics.iter().cloned());
        names.extend(config.hierarchy.iter().cloned());
        names.extend(config.breakdowns.keys().cloned());
        names.extend(config.for_each.iter().map(|f| f.table.clone()));
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        names
    }

    fn write(&self, config: &ReportSinkConfig, tables: &[TableData], ctx: &RunContext) -> Result<Vec<PathBuf>> {
        for t in tables {
            if let Some(f) = t.schema.fields().iter().find(|f| IDENTIFYING_COLUMNS.contains(&f.name().as_str())) {
                return Err(Diagnostic::invalid(format!(
                    "table \"{}\" has a column \"{}\" that identifies students; a report never receives it",
                    t.name,
                    f.name()
                ))
                .hint("aggregate it away in a sql step (COUNT(DISTINCT student_ref)) and hand the report that table"));
            }
        }
        let lang_text = ctx.interpolate(&config.lang)?;
        let lang = parse_lang(&lang_text)
            .ok_or_else(|| Diagnostic::invalid(format!("unknown report language \"{lang_text}\"")).hint(LANG_HINT))?;
        let template_path = template_file(config, ctx)?;
        let root = template_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = template_path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();

        let mut figures = match &config.metrics {
            Some(m) => Figures::from_table(table(tables, m)?)?,
            None => Figures::default(),
        };
        let mut catalogue = project_catalogue(config, ctx).map_err(all_in_one)?;
        for (name, breakdown) in &config.breakdowns {
            add_breakdown(&mut figures, &mut catalogue, name, breakdown, tables, ctx)?;
        }
        let figures = Arc::new(figures);
        let catalogue = Arc::new(catalogue);
        let env = template::environment(&root, figures.clone(), ctx.contract);
        // What a change or a rate ratio rests on: the baseline period, when the output names one.
        let baseline = match &config.baseline {
            Some(period) => Some(ctx.interpolate(period)?),
            None => None,
        };
        let mut table_values = BTreeMap::new();
        for t in &config.tables {
            let mut rows = values::rows(table(tables, t)?)?;
            if lang == Lang::En {
                values::in_english(&mut rows);
            }
            table_values.insert(t.clone(), rows);
        }
        let units = units(config, tables, lang)?;
        let audience_text = ctx.interpolate(&config.audience)?;
        let audience = Audience::parse(&audience_text)
            .ok_or_else(|| Diagnostic::invalid(format!("unknown audience \"{audience_text}\"")).hint(AUDIENCE_HINT))?;
        let audience_note = config.audience_note.as_deref().map(|n| ctx.interpolate(n)).transpose()?;
        let rules = (audience == Audience::Public).then(|| Rules::new(config.threshold));
        // What every public document of this metrics table withholds.
        let pattern = match (&rules, &config.metrics) {
            (Some(rules), Some(_)) => Some(disclosure_pattern(&figures, &catalogue, config, tables, rules.k)?),
            _ => None,
        };
        let pattern = Arc::new(pattern);
        let font = if config.formats.contains(&ReportFormat::Pdf) {
            Some(pdf::load_font().map_err(|e| Diagnostic::runtime(e.0).hint("run scripts/prepare-fonts.sh"))?)
        } else {
            None
        };
        // The faces of an official document (仿宋, 小标宋, 楷体), read once when the first one needs them.
        let official_faces: std::sync::OnceLock<Result<pdf::OfficialFaces, String>> = std::sync::OnceLock::new();
        let params = minijinja::Value::from_serialize(&ctx.params);
        let tables_value = minijinja::Value::from_serialize(&table_values);

        let placeholders = placeholders(config, ctx, audience)?;
        if !placeholders {
            missing_texts(config, ctx, &units)?;
        }
        let members = match (&config.targets, &config.hierarchy) {
            (Some(_), Some(name)) => targets::schools_of(&hierarchy_rows(table(tables, name)?, lang)?),
            _ => BTreeMap::new(),
        };
        // Render every report before writing anything.
        let rendered: Vec<Result<Files>> = units
            .par_iter()
            .map(|(key, unit)| {
                let texts = read_texts(config, ctx, key, audience, placeholders)?;
                let unit_targets = unit_targets(config, ctx, key, unit, &members)?;
                let target_list: Vec<minijinja::Value> = unit_targets
                    .iter()
                    .enumerate()
                    .map(|(index, r)| {
                        minijinja::context! { index => index, name => r.target.name.text(lang), metric => r.target.metric.clone() }
                    })
                    .collect();
                let tracker = Arc::new(Tracker {
                    rules: rules.clone(),
                    lang,
                    registry: Registry::default(),
                    baseline: baseline.clone(),
                    pattern: pattern.clone(),
                    catalogue: catalogue.clone(),
                    targets: unit_targets,
                });
                let context = minijinja::context! {
                    params => params.clone(),
                    tables => tables_value.clone(),
                    unit => unit.clone(),
                    // The organisation's own texts are markup: printed as they are.
                    texts => texts.into_iter().map(|(k, v)| (k, minijinja::Value::from_safe_string(v))).collect::<BTreeMap<_, _>>(),
                    lang => lang.tag(),
                    targets => target_list,
                    audience => audience.name(),
                    publication => rules.is_some(),
                    threshold => config.threshold,
                    __sunward_report => minijinja::Value::from_dyn_object(tracker.clone()),
                };
                let place = if key.is_empty() { String::new() } else { format!(" for unit \"{key}\"") };
                let source = env
                    .get_template(&name)
                    .and_then(|t| t.render(context))
                    .map_err(|e| template_error(&template_path, &e, &place))?;
                let mut doc = markup::parse(&source).map_err(|e| {
                    let line = source.lines().nth(e.line.saturating_sub(1)).unwrap_or("").trim();
                    Diagnostic::runtime(format!(
                        "the markup {} rendered{place} is not valid at its line {}: {}",
                        template_path.display(),
                        e.line,
                        e.message
                    ))
                    .hint(format!("that line reads: {line}"))
                })?;
                doc.lang = lang;
                state_audience(&mut doc, audience, audience_note.clone(), config.threshold);
                let refuse = |m: String| Diagnostic::invalid(format!("{}{place}: {m}", template_path.display()));
                publish::refuse_identifying(&doc).map_err(refuse)?;
                let records = tracker.registry.records();
                let mut settle = Settle {
                    records: &records,
                    rules: rules.as_ref(),
                    hidden: Default::default(),
                    pattern: pattern.as_ref().as_ref(),
                    withheld: 0,
                    group_digits: lang == Lang::En,
                    printed: Default::default(),
                };
                match &rules {
                    Some(rules) => {
                        publish::publish(&mut doc, rules, &mut settle).map_err(refuse)?;
                        add_note(&mut doc, rules);
                    }
                    None => publish::settle_document(&mut doc, &mut settle),
                }
                let mut base = ctx.output_path(&ctx.interpolate(&config.path)?.replace("{unit}", key))?;
                // The official edition of a report never replaces its standard one.
                if doc.meta.style == sunward_render::DocStyle::Official {
                    base.as_mut_os_string().push("_official");
                }
                let mut files = vec![(with_ext(&base, "figures.json"), printed_figures(&settle, audience, &rules))];
                for format in &config.formats {
                    match format {
                        ReportFormat::Html => files.push((with_ext(&base, "html"), html::render(&doc).into_bytes())),
                        ReportFormat::Pdf => {
                            let faces = if doc.meta.style == sunward_render::DocStyle::Official {
                                let faces = official_faces.get_or_init(|| pdf::OfficialFaces::load().map_err(|e| e.0));
                                Some(faces.as_ref().map_err(|e| {
                                    Diagnostic::runtime(format!("{}{place}: {e}", template_path.display()))
                                        .hint("run scripts/prepare-fonts.sh")
                                })?)
                            } else {
                                None
                            };
                            let bytes =
                                pdf::render_with(&doc, font.as_deref().unwrap_or_default(), faces).map_err(|e| {
                                    Diagnostic::runtime(format!("{}{place}: {}", template_path.display(), e.0))
                                })?;
                            files.push((with_ext(&base, "pdf"), bytes));
                        }
                        ReportFormat::Docx => {
                            let bytes = docx::render(&doc).map_err(|e| {
                                Diagnostic::runtime(format!("{}{place}: {}", template_path.display(), e.0))
                            })?;
                            files.push((with_ext(&base, "docx"), bytes));
                        }
                    }
                }
                Ok(files)
            })
            .collect();
        let mut files = Vec::new();
        for r in rendered {
            files.extend(r?);
        }
        let mut written = Vec::new();
        for (path, bytes) in files {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
            }
            written.push(write_atomic(&path, |w| w.write_all(&bytes).map_err(|e| write_error(&path, e)))?);
        }
        Ok(written)
    }
}

/// The unit's key as a file-name part: path separators and control characters become `_`.
/// The template file `template:` names, which must exist.
fn template_file(config: &ReportSinkConfig, ctx: &RunContext) -> Result<PathBuf> {
    let path = ctx.input_path(&ctx.interpolate(&config.template)?)?;
    if !path.is_file() {
        return Err(Diagnostic::invalid(format!("template {} does not exist", path.display()))
            .hint("`template:` is relative to the pipeline's folder"));
    }
    Ok(path)
}

/// The shipped metric catalogue with the files of `catalogue:` added, or
/// every mistake in them, each at its place.
fn project_catalogue(config: &ReportSinkConfig, ctx: &RunContext) -> std::result::Result<Catalogue, Vec<Diagnostic>> {
    let mut catalogue = typed::catalogue().clone();
    for file in &config.catalogue {
        let path = ctx.input_path(&ctx.interpolate(file).map_err(|d| vec![d])?).map_err(|d| vec![d])?;
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            vec![
                Diagnostic::invalid(format!("cannot read the metric catalogue {shown}"))
                    .caused_by(e)
                    .hint("`catalogue:` names files relative to the pipeline's folder"),
            ]
        })?;
        catalogue = catalogue::extend(&catalogue, &text, &shown)?;
    }
    Ok(catalogue)
}

/// Every mistake of a file in one diagnostic: the first, with the others
/// (each with its place) in its hint.
fn all_in_one(errors: Vec<Diagnostic>) -> Diagnostic {
    let mut errors = errors.into_iter();
    let Some(mut first) = errors.next() else { return Diagnostic::invalid("the file is broken") };
    let more: Vec<String> = errors
        .map(|e| match &e.location {
            Some(l) => format!("{}:{}:{}: {}", l.file, l.line, l.column, e.message),
            None => e.message.clone(),
        })
        .collect();
    if !more.is_empty() {
        let hint = first.hint.take().map(|h| format!("{h}\n")).unwrap_or_default();
        first.hint = Some(format!("{hint}also:\n  {}", more.join("\n  ")));
    }
    first
}

fn file_safe(key: &str) -> String {
    key.chars().map(|c| if c == '/' || c == '\\' || c.is_control() || c == ':' { '_' } else { c }).collect()
}

fn with_ext(base: &Path, ext: &str) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// The documents a report writes: one per row of its `for_each` table, by
/// the row's key as it appears in file names (one, unnamed, without it).
fn units(config: &ReportSinkConfig, tables: &[TableData], lang: Lang) -> Result<Vec<(String, minijinja::Value)>> {
    match &config.for_each {
        None => Ok(vec![(String::new(), minijinja::Value::from(()))]),
        Some(each) => {
            let mut rows = values::rows(table(tables, &each.table)?)?;
            if lang == Lang::En {
                values::in_english(&mut rows);
            }
            let mut units = Vec::new();
            for row in rows {
                let key = row.get(&each.key).filter(|v| !v.is_none()).ok_or_else(|| {
                    Diagnostic::invalid(format!(
                        "for_each: table \"{}\" has no column \"{}\" (or a row where it is null)",
                        each.table, each.key
                    ))
                    .hint("`for_each: {table: units, key: unit_id}` names the column that names each report")
                })?;
                units.push((file_safe(&key.to_string()), minijinja::Value::from(row)));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some((dup, _)) = units.iter().find(|(k, _)| !seen.insert(k.clone())) {
                return Err(Diagnostic::invalid(format!(
                    "for_each: two rows of \"{}\" have the key \"{dup}\"; each report needs its own file",
                    each.table
                )));
            }
            Ok(units)
        }
    }
}

/// The unit's texts (`texts:`), each without its front matter. A text says
/// who may read it in its front matter (`audience: public` or `audience:
/// internal`); a text that does not say is internal, since case stories and
/// the organisation's own account are written for the organisation first.
/// A public report gets an internal text as an empty string, so the
/// template can leave its section out (`{% if texts.cases %}`).
/// Every text file that must exist and does not, for every unit, named in
/// one error: a district writing its narratives learns of all the missing
/// ones at once, not one per run.
fn missing_texts(config: &ReportSinkConfig, ctx: &RunContext, units: &[(String, minijinja::Value)]) -> Result<()> {
    let mut missing = Vec::new();
    for (unit, _) in units {
        for (name, source) in config.texts.iter().filter(|(_, s)| !s.optional()) {
            let path = ctx.input_path(&ctx.interpolate(source.path())?.replace("{unit}", unit))?;
            if !path.is_file() {
                missing.push(format!("texts.{name}: {}", path.display()));
            } else if std::fs::read_to_string(&path).is_ok_and(|t| t.contains(TO_WRITE)) {
                missing.push(format!("texts.{name}: {} (a draft: it still holds {TO_WRITE})", path.display()));
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Diagnostic::invalid(format!(
        "{} text file{} the report includes {} missing:\n  {}",
        missing.len(),
        if missing.len() == 1 { "" } else { "s" },
        if missing.len() == 1 { "is" } else { "are" },
        missing.join("\n  ")
    ))
    .hint("write each one (report markup; `{unit}` in a text's path names one file per unit; `sunward init --texts` drafts them), or declare the text as `{path: …, optional: true}` where a unit may have none"))
}

fn read_texts(
    config: &ReportSinkConfig,
    ctx: &RunContext,
    unit: &str,
    audience: Audience,
    placeholders: bool,
) -> Result<BTreeMap<String, String>> {
    let mut texts = BTreeMap::new();
    for (name, source) in &config.texts {
        let path = ctx.input_path(&ctx.interpolate(source.path())?.replace("{unit}", unit))?;
        if source.optional() && !path.exists() {
            texts.insert(name.clone(), String::new());
            continue;
        }
        if placeholders && !path.exists() {
            let file = crate::sinks::report::template::escape_markup(&path.display().to_string());
            texts.insert(name.clone(), format!("**{TO_WRITE}** texts.{name}：{file}\n"));
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Diagnostic::invalid(format!("texts.{name}: cannot read {}: {e}", path.display())).hint(
                "the organisation's own text lives beside the pipeline; `{unit}` in the path names one file per unit",
            )
        })?;
        let (for_whom, body) = text_audience(&text).map_err(|(line, message)| {
            Diagnostic::invalid(format!("texts.{name}: {}:{line}: {message}", path.display()))
                .hint("a text's front matter may only say who may read it: `audience: public` or `audience: internal`")
        })?;
        let shown = (audience == Audience::Internal || for_whom == Audience::Public) && !body.trim().is_empty();
        texts.insert(name.clone(), if shown { body.to_string() } else { String::new() });
    }
    Ok(texts)
}

/// The hierarchy table's rows: school, its name (in English in an English report), organisation and district.
fn hierarchy_rows(t: &TableData, lang: Lang) -> Result<Vec<targets::SchoolRow>> {
    let text =
        |row: &BTreeMap<String, minijinja::Value>, c: &str| row.get(c).filter(|v| !v.is_none()).map(|v| v.to_string());
    let mut rows = values::rows(t)?;
    if lang == Lang::En {
        values::in_english(&mut rows);
    }
    let mut out = Vec::new();
    for row in rows {
        let school = text(&row, "school_id").ok_or_else(|| {
            Diagnostic::invalid(format!("hierarchy: table \"{}\" has no school_id (or a row where it is null)", t.name))
                .hint("`hierarchy:` names the schools table: school_id, org_id, district_id")
        })?;
        out.push(targets::SchoolRow {
            school,
            name: text(&row, "school_name"),
            org: text(&row, "org_id"),
            district: text(&row, "district_id"),
        });
    }
    Ok(out)
}

/// The targets of one unit (`targets:`), each with the places it is judged for.
fn unit_targets(
    config: &ReportSinkConfig,
    ctx: &RunContext,
    key: &str,
    unit: &minijinja::Value,
    members: &BTreeMap<(String, String), Vec<targets::Place>>,
) -> Result<Vec<targets::Resolved>> {
    let list = match &config.targets {
        None => return Ok(Vec::new()),
        Some(targets::TargetsSource::List(list)) => list.clone(),
        Some(targets::TargetsSource::File(path)) => {
            targets::read_file(&ctx.input_path(&ctx.interpolate(path)?.replace("{unit}", key))?)?
        }
    };
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let field =
        |name: &str| unit.get_attr(name).ok().filter(|v| !v.is_undefined() && !v.is_none()).map(|v| v.to_string());
    let (Some(unit_type), Some(unit_id)) = (field("unit_type"), field("unit_id")) else {
        return Err(Diagnostic::invalid(
            "targets: the report's units have no unit_type and unit_id, so no target can be judged",
        )
        .hint("render with `for_each` over a table with unit_type, unit_id and name columns"));
    };
    let label = field("name").unwrap_or_else(|| unit_id.clone());
    let own = targets::Place { unit_type: unit_type.clone(), unit_id: unit_id.clone(), label };
    list.into_iter()
        .map(|target| {
            let places = match target.each {
                None => vec![own.clone()],
                Some(targets::Each::School) => {
                    let schools = members.get(&(unit_type.clone(), unit_id.clone())).cloned().unwrap_or_default();
                    if schools.is_empty() {
                        return Err(Diagnostic::invalid(format!(
                            "targets: \"{}\" is judged for each school, but no school of {unit_type} {unit_id} is known",
                            target.metric
                        ))
                        .hint("`each: school` needs `hierarchy: schools` on the report output"));
                    }
                    schools
                }
            };
            Ok(targets::Resolved { target, places })
        })
        .collect()
}

/// A text's audience (from its front matter; internal when it has none) and its body.
fn text_audience(text: &str) -> std::result::Result<(Audience, &str), (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) else {
        return Ok((Audience::Internal, text));
    };
    let mut audience = None;
    let mut offset = 0;
    for (i, line) in rest.split_inclusive('\n').enumerate() {
        offset += line.len();
        let trimmed = line.trim();
        if trimmed == "---" {
            return Ok((audience.unwrap_or(Audience::Internal), &rest[offset..]));
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.split_once(':') {
            Some(("audience", value)) => {
                let value = value.trim().trim_matches('"');
                audience = Some(
                    Audience::parse(value)
                        .ok_or((i + 2, format!("unknown audience \"{value}\" (write public or internal)")))?,
                );
            }
            _ => return Err((i + 2, format!("unexpected front matter \"{trimmed}\""))),
        }
    }
    Err((1, "the front matter opened with `---` is never closed".to_string()))
}

/// Every figure a report prints, as a reader sees it: unit, period, metric,
/// and what was printed (the figure, `<k`, or the withheld marker), with the
/// value when shown. Written beside the report as `<name>.figures.json`, for
/// the bureau's own checks and for the disclosure audit.
fn printed_figures(settle: &Settle<'_>, audience: Audience, rules: &Option<Rules>) -> Vec<u8> {
    let figures: Vec<serde_json::Value> = settle
        .printed
        .iter()
        .filter_map(|(id, (verdict, display))| {
            let record = settle.records.get(*id)?;
            let i = &record.identity;
            if i.unit_type.is_empty() {
                return None; // a tally written from `tables.*`
            }
            let shown = match (verdict, rules) {
                (Verdict::Show, _) | (_, None) => display.clone(),
                (Verdict::Suppress, Some(r)) => r.marker(),
                (Verdict::Withhold, Some(r)) => r.withheld_marker.clone(),
            };
            let mut entry = serde_json::json!({
                "unit_type": i.unit_type, "unit_id": i.unit_id, "period": i.period, "metric": i.key,
                "shown": shown,
            });
            if *verdict == Verdict::Show {
                entry["value"] = serde_json::json!(record.value);
            }
            Some(entry)
        })
        .collect();
    let mut figures = figures;
    figures.sort_by_key(|f| f.to_string());
    figures.dedup();
    let doc = serde_json::json!({
        "audience": audience.name(),
        "threshold": rules.as_ref().map(|r| r.k),
        "figures": figures,
    });
    let mut bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Adds the rows of a breakdown table to the figures, as `<metric>/<part>`
/// of each row's unit in the breakdown's period; every unit that has the
/// metric gets every part (0 where it has no row), and the catalogue learns
/// that the metric is the sum of its parts.
fn add_breakdown(
    figures: &mut Figures,
    catalogue: &mut Catalogue,
    name: &str,
    breakdown: &Breakdown,
    tables: &[TableData],
    ctx: &RunContext,
) -> Result<()> {
    // One period for every row, or each row's own `period` column.
    let fixed = breakdown.period.as_deref().map(|p| ctx.interpolate(p)).transpose()?;
    let rows = values::rows(table(tables, name)?)?;
    let text = |row: &BTreeMap<String, minijinja::Value>, c: &str| -> Result<String> {
        row.get(c).filter(|v| !v.is_none()).map(|v| v.to_string()).ok_or_else(|| {
            Diagnostic::invalid(format!("breakdowns.{name}: table \"{name}\" has no column \"{c}\" (or a null in it)"))
                .hint("a breakdown table has unit_type, unit_id, the `by` column and the `value` column (and `period`, when the breakdown names none)")
        })
    };
    let mut parts: Vec<String> = Vec::new();
    let mut cells = Vec::with_capacity(rows.len());
    for row in &rows {
        let part = format!("{}/{}", breakdown.metric, text(row, &breakdown.by)?);
        let value: f64 = text(row, &breakdown.value)?.parse().map_err(|_| {
            Diagnostic::invalid(format!(
                "breakdowns.{name}: column \"{}\" holds a value that is not a number",
                breakdown.value
            ))
        })?;
        if !parts.contains(&part) {
            parts.push(part.clone());
        }
        let period = match &fixed {
            Some(p) => p.clone(),
            None => text(row, "period")?,
        };
        cells.push((text(row, "unit_type")?, text(row, "unit_id")?, period, part, value));
    }
    let mut periods: Vec<String> = cells.iter().map(|(_, _, p, _, _)| p.clone()).chain(fixed).collect();
    periods.sort();
    periods.dedup();
    // In each period, the parts of a unit the table lists are all its parts
    // (a part it lacks is 0); a unit whose metric is 0 has every part 0.
    // Other units (a district the table does not cover) get no parts.
    for period in &periods {
        let mut units: Vec<(String, String)> =
            cells.iter().filter(|(_, _, p, _, _)| p == period).map(|(t, u, _, _, _)| (t.clone(), u.clone())).collect();
        units.extend(
            figures
                .iter()
                .filter(|((_, _, p, m), v)| p == period && *m == breakdown.metric && **v == Some(0.0))
                .map(|((t, u, _, _), _)| (t.clone(), u.clone())),
        );
        units.sort();
        units.dedup();
        for (t, u) in &units {
            for part in &parts {
                figures.insert(t, u, period, part, Some(0.0));
            }
        }
    }
    for (t, u, period, part, value) in cells {
        figures.insert(&t, &u, &period, &part, Some(value));
    }
    let role = catalogue.role(&breakdown.metric).unwrap_or(Role::Count { adds: Adds::Sum });
    let part_refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    catalogue.add_with_parts(&breakdown.metric, role, &part_refs);
    Ok(())
}

/// The disclosure pattern of a public report's metrics table: which counts
/// every public document drawn from it withholds.
fn disclosure_pattern(
    figures: &Figures,
    catalogue: &Catalogue,
    config: &ReportSinkConfig,
    tables: &[TableData],
    k: u64,
) -> Result<Pattern> {
    let Some(name) = &config.hierarchy else {
        return Err(Diagnostic::invalid(
            "a public report that reads `metrics:` must say which schools make up each organisation and district",
        )
        .hint("add `hierarchy: schools` (a table with school_id, org_id, district_id), so that no organisation's figure minus a school's gives a withheld count back"));
    };
    // Ids only: the names are not read here, so the language does not matter.
    let schools = hierarchy_rows(table(tables, name)?, Lang::ZhCn)?;
    let hierarchy =
        Hierarchy::from_schools(schools.iter().map(|r| (r.school.as_str(), r.org.as_deref(), r.district.as_deref())));
    let values = figures
        .iter()
        .map(|((t, u, p, m), v)| (Identity::new(t, u, p, m), *v))
        .collect::<std::collections::HashMap<_, _>>();
    let lattice = Lattice::build(&values, catalogue, &hierarchy);
    let pattern = protect(&lattice, k);
    if let Some(first) = pattern.unresolved.first() {
        return Err(Diagnostic::runtime(format!(
            "the publication rules cannot protect {} withheld count{} of this metrics table, e.g. {first}",
            pattern.unresolved.len(),
            if pattern.unresolved.len() == 1 { "" } else { "s" }
        ))
        .hint("publish this report as `audience: internal`, or raise the publication threshold"));
    }
    Ok(pattern)
}

fn template_error(path: &Path, e: &minijinja::Error, place: &str) -> Diagnostic {
    let at = match (e.name(), e.line()) {
        (Some(name), Some(line)) => {
            let file = path.parent().map(|p| p.join(name)).unwrap_or_else(|| PathBuf::from(name));
            format!("{}:{line}", file.display())
        }
        _ => path.display().to_string(),
    };
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    Diagnostic::runtime(format!("template {at}{place}: {}{detail}", e.kind())).hint(
        "figures come from metric(key, unit_type, unit_id, period); tables from tables.<name>; see docs/TEMPLATES.md",
    )
}

/// Adds the publication note to a public document that does not say it yet, at
/// the end of its body (the cover line points to it).
fn add_note(doc: &mut Document, rules: &Rules) {
    let note = rules.note(doc.lang);
    let said = doc.blocks.iter().any(|b| match b {
        Block::Note { text } => text.contains(&note),
        Block::Table(t) => t.note.as_deref().is_some_and(|n| n.contains(&note)),
        _ => false,
    });
    if !said {
        // At the end of the body: before the first attachment of an official document.
        let at = doc.body_end();
        doc.blocks.insert(at, Block::Note { text: note });
    }
}
