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
//!
//! The parts: the settings (`config`); the units rendered for and what
//! each brings (`units`); the organisation's texts (`texts`); the figures
//! and the catalogue (`figures`); what the renders share (`setup`); one
//! unit's render (`render`) and its edition's marks (`edition`); the
//! template environment ([`template`]), typed figures ([`typed`]), the
//! publication pass ([`publish`]) and targets ([`targets`]).

pub mod catalogue;
mod config;
mod edition;
mod figures;
pub mod publish;
mod render;
mod setup;
pub mod targets;
pub mod template;
mod texts;
pub mod typed;
mod units;
pub mod values;

pub use config::{Audience, Breakdown, ForEach, ReportFormat, ReportSinkConfig, TextFile, TextSource};
pub use texts::TO_WRITE;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use sunward_core::atomic::write_atomic;
use sunward_core::{ConfigIssue, Diagnostic, Plugin, PluginInfo, Result, RunContext, Sink, TableData};
use sunward_render::Lang;

use super::write_error;
use config::parse_lang;
use figures::project_catalogue;
use render::{Files, render_all, template_error};
use setup::{Setup, template_file};
use texts::{missing_texts, placeholders};
use units::units;
use values::Figures;

/// Renders reports from a template.
pub struct ReportSink;

impl Plugin for ReportSink {
    type Config = ReportSinkConfig;
    const INFO: PluginInfo = PluginInfo {
        name: "report",
        description: "renders a report from a template to self-contained HTML and A4 PDF, with the publication rules",
        example: "plugin: report\ntemplate: ../report-templates/annual-review.md.j2\nmetrics: metrics\ntables: [units, topics]\nfor_each: {table: units, key: unit_id}\npath: review_${year}_{unit}\ntexts: {narrative: texts/{unit}.md}\n",
    };

    fn check(&self, config: &ReportSinkConfig) -> Vec<ConfigIssue> {
        config::issues(config)
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
        texts::drafts(config, ctx, units(config, std::slice::from_ref(table), Lang::default())?)
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
        let setup = Setup::new(config, tables, ctx)?;
        // Render every report before writing anything.
        let files = render_all(&setup, config, ctx)?;
        write_files(files)
    }
}

/// Writes every file, each to a temporary name renamed when complete, creating its folder.
fn write_files(files: Files) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (path, bytes) in files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
        }
        written.push(write_atomic(&path, |w| w.write_all(&bytes).map_err(|e| write_error(&path, e)))?);
    }
    Ok(written)
}
