//! What every unit's render shares, set up once per write ([`Setup`]): the
//! language, the template and its environment, the figures and what the
//! publication rules know of them, the audience and its rules, the fonts,
//! the tables handed to the template, and the units themselves. Each step
//! that can fail does so before any unit is rendered, in a fixed order, so
//! a broken output names the same mistake on every run.

use minijinja::{Environment, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use sunward_core::{Diagnostic, Result, RunContext, TableData};
use sunward_render::disclosure::{Catalogue, Pattern};
use sunward_render::publication::{IDENTIFYING_COLUMNS, Rules};
use sunward_render::{Lang, pdf};

use super::config::{AUDIENCE_HINT, Audience, LANG_HINT, ReportFormat, ReportSinkConfig, parse_lang};
use super::figures::{add_breakdown, all_in_one, disclosure_pattern, project_catalogue};
use super::targets::{self, Place};
use super::template;
use super::texts::{missing_texts, placeholders};
use super::units::{hierarchy_rows, units};
use super::values::{self, Figures};
use crate::sinks::table;

/// Everything the renders of one write share.
pub(super) struct Setup {
    /// The report's language.
    pub lang: Lang,
    /// The template file (`template:`).
    pub template_path: PathBuf,
    /// Its name in the environment (the file name, its folder being the loader's root).
    pub template_name: String,
    /// The template environment, reading the figures.
    pub env: Environment<'static>,
    /// What each metric is (the shipped catalogue, the project's, the breakdowns).
    pub catalogue: Arc<Catalogue>,
    /// The baseline period a change or a rate ratio rests on, when the output names one.
    pub baseline: Option<String>,
    /// Who reads the reports.
    pub audience: Audience,
    /// The output's own line saying who the report is for (`audience_note:`).
    pub audience_note: Option<String>,
    /// The publication rules: `None` for an internal report.
    pub rules: Option<Rules>,
    /// What every public document of the metrics table withholds.
    pub pattern: Arc<Option<Pattern>>,
    /// The Chinese font, when a PDF is written.
    pub font: Option<Vec<u8>>,
    /// The faces of an official document (仿宋, 小标宋, 楷体), read once when the first one needs them.
    pub official_faces: OnceLock<std::result::Result<pdf::OfficialFaces, String>>,
    /// The run's parameters, as the template's `params`.
    pub params: Value,
    /// The tables handed to the template, as its `tables`.
    pub tables: Value,
    /// A missing text leaves a marked gap instead of stopping the run.
    pub placeholders: bool,
    /// The schools of each organisation and district, for targets judged for each school.
    pub members: BTreeMap<(String, String), Vec<Place>>,
    /// The units to render, each with its key.
    pub units: Vec<(String, Value)>,
}

impl Setup {
    /// Reads and checks everything the renders share, stopping at the first mistake.
    pub(super) fn new(config: &ReportSinkConfig, tables: &[TableData], ctx: &RunContext) -> Result<Setup> {
        refuse_identifying_tables(tables)?;
        let lang = report_lang(config, ctx)?;
        let template_path = template_file(config, ctx)?;
        let root = template_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let template_name = template_path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let (figures, catalogue) = figures_and_catalogue(config, tables, ctx)?;
        let figures = Arc::new(figures);
        let catalogue = Arc::new(catalogue);
        let env = template::environment(&root, figures.clone(), ctx.contract);
        // What a change or a rate ratio rests on: the baseline period, when the output names one.
        let baseline = match &config.baseline {
            Some(period) => Some(ctx.interpolate(period)?),
            None => None,
        };
        let table_values = table_values(config, tables, lang)?;
        let units = units(config, tables, lang)?;
        let audience = report_audience(config, ctx)?;
        let audience_note = config.audience_note.as_deref().map(|n| ctx.interpolate(n)).transpose()?;
        let rules = (audience == Audience::Public).then(|| Rules::new(config.threshold));
        // What every public document of this metrics table withholds.
        let pattern = match (&rules, &config.metrics) {
            (Some(rules), Some(_)) => Some(disclosure_pattern(&figures, &catalogue, config, tables, rules.k)?),
            _ => None,
        };
        let font = pdf_font(config)?;
        let params = Value::from_serialize(&ctx.params);
        let tables_value = Value::from_serialize(&table_values);
        let placeholders = placeholders(config, ctx, audience)?;
        if !placeholders {
            missing_texts(config, ctx, &units)?;
        }
        let members = match (&config.targets, &config.hierarchy) {
            (Some(_), Some(name)) => targets::schools_of(&hierarchy_rows(table(tables, name)?, lang)?),
            _ => BTreeMap::new(),
        };
        Ok(Setup {
            lang,
            template_path,
            template_name,
            env,
            catalogue,
            baseline,
            audience,
            audience_note,
            rules,
            pattern: Arc::new(pattern),
            font,
            official_faces: OnceLock::new(),
            params,
            tables: tables_value,
            placeholders,
            members,
            units,
        })
    }
}

/// Refuses every table holding a column that identifies students: a report never receives one.
fn refuse_identifying_tables(tables: &[TableData]) -> Result<()> {
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
    Ok(())
}

/// The report's language (`lang:`, parameters replaced).
fn report_lang(config: &ReportSinkConfig, ctx: &RunContext) -> Result<Lang> {
    let lang_text = ctx.interpolate(&config.lang)?;
    parse_lang(&lang_text)
        .ok_or_else(|| Diagnostic::invalid(format!("unknown report language \"{lang_text}\"")).hint(LANG_HINT))
}

/// Who reads the report (`audience:`, parameters replaced).
fn report_audience(config: &ReportSinkConfig, ctx: &RunContext) -> Result<Audience> {
    let audience_text = ctx.interpolate(&config.audience)?;
    Audience::parse(&audience_text)
        .ok_or_else(|| Diagnostic::invalid(format!("unknown audience \"{audience_text}\"")).hint(AUDIENCE_HINT))
}

/// The template file `template:` names, which must exist.
pub(super) fn template_file(config: &ReportSinkConfig, ctx: &RunContext) -> Result<PathBuf> {
    let path = ctx.input_path(&ctx.interpolate(&config.template)?)?;
    if !path.is_file() {
        return Err(Diagnostic::invalid(format!("template {} does not exist", path.display()))
            .hint("`template:` is relative to the pipeline's folder"));
    }
    Ok(path)
}

/// The figures of the metrics table (none without `metrics:`) and the
/// project's catalogue, with every breakdown added to both.
fn figures_and_catalogue(
    config: &ReportSinkConfig,
    tables: &[TableData],
    ctx: &RunContext,
) -> Result<(Figures, Catalogue)> {
    let mut figures = match &config.metrics {
        Some(m) => Figures::from_table(table(tables, m)?)?,
        None => Figures::default(),
    };
    let mut catalogue = project_catalogue(config, ctx).map_err(all_in_one)?;
    for (name, breakdown) in &config.breakdowns {
        add_breakdown(&mut figures, &mut catalogue, name, breakdown, tables, ctx)?;
    }
    Ok((figures, catalogue))
}

/// The tables handed to the template (`tables:`), as lists of rows, in English in an English report.
fn table_values(
    config: &ReportSinkConfig,
    tables: &[TableData],
    lang: Lang,
) -> Result<BTreeMap<String, Vec<BTreeMap<String, Value>>>> {
    let mut table_values = BTreeMap::new();
    for t in &config.tables {
        let mut rows = values::rows(table(tables, t)?)?;
        if lang == Lang::En {
            values::in_english(&mut rows);
        }
        table_values.insert(t.clone(), rows);
    }
    Ok(table_values)
}

/// The Chinese font, read when a PDF is to be written.
fn pdf_font(config: &ReportSinkConfig) -> Result<Option<Vec<u8>>> {
    if config.formats.contains(&ReportFormat::Pdf) {
        Ok(Some(pdf::load_font().map_err(|e| Diagnostic::runtime(e.0).hint("run scripts/prepare-fonts.sh"))?))
    } else {
        Ok(None)
    }
}
