//! One unit's report, from template to files: the template's context for
//! the unit, the rendered markup read as a document, the edition's marks,
//! the publication pass (or, for an internal report, the figures settled as
//! they are), and the document encoded in every format asked for, beside
//! the record of the figures it prints. Every unit is rendered, in
//! parallel, before any file is written.

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sunward_core::{Diagnostic, Result, RunContext};
use sunward_render::publication::Rules;
use sunward_render::{DocStyle, Document, Lang, docx, html, markup, pdf};

use super::config::{Audience, ReportFormat, ReportSinkConfig};
use super::edition::{add_note, state_audience};
use super::publish;
use super::setup::Setup;
use super::template::Tracker;
use super::texts::read_texts;
use super::typed::{Record, Registry, Settle, Verdict};
use super::units::unit_targets;

/// The files of one report: path and bytes, one per format.
pub(super) type Files = Vec<(PathBuf, Vec<u8>)>;

/// The files of every unit's report, in unit order; the first unit that
/// fails (in that order) gives the error, and then nothing is written.
pub(super) fn render_all(setup: &Setup, config: &ReportSinkConfig, ctx: &RunContext) -> Result<Files> {
    let rendered: Vec<Result<Files>> =
        setup.units.par_iter().map(|(key, unit)| render_unit(setup, config, ctx, key, unit)).collect();
    let mut files = Vec::new();
    for r in rendered {
        files.extend(r?);
    }
    Ok(files)
}

/// The files of the report of the unit `key` (its row `unit`).
fn render_unit(
    setup: &Setup,
    config: &ReportSinkConfig,
    ctx: &RunContext,
    key: &str,
    unit: &minijinja::Value,
) -> Result<Files> {
    let (tracker, context) = unit_context(setup, config, ctx, key, unit)?;
    let place = if key.is_empty() { String::new() } else { format!(" for unit \"{key}\"") };
    let mut doc = render_document(setup, context, &place)?;
    doc.lang = setup.lang;
    state_audience(&mut doc, setup.audience, setup.audience_note.clone(), config.threshold);
    let records = tracker.registry.records();
    let settle = publish_document(setup, &mut doc, &records, &place)?;
    let base = report_base(config, ctx, key, &doc)?;
    let mut files = vec![(with_ext(&base, "figures.json"), printed_figures(&settle, setup.audience, &setup.rules))];
    for format in &config.formats {
        files.push(encode(setup, &doc, *format, &base, &place)?);
    }
    Ok(files)
}

/// The template's context for one unit, and the tracker its figures are registered on.
fn unit_context(
    setup: &Setup,
    config: &ReportSinkConfig,
    ctx: &RunContext,
    key: &str,
    unit: &minijinja::Value,
) -> Result<(Arc<Tracker>, minijinja::Value)> {
    let lang = setup.lang;
    let texts = read_texts(config, ctx, key, setup.audience, setup.placeholders)?;
    let unit_targets = unit_targets(config, ctx, key, unit, &setup.members)?;
    let target_list: Vec<minijinja::Value> = unit_targets
        .iter()
        .enumerate()
        .map(|(index, r)| {
            minijinja::context! { index => index, name => r.target.name.text(lang), metric => r.target.metric.clone() }
        })
        .collect();
    let tracker = Arc::new(Tracker {
        rules: setup.rules.clone(),
        lang,
        registry: Registry::default(),
        baseline: setup.baseline.clone(),
        pattern: setup.pattern.clone(),
        catalogue: setup.catalogue.clone(),
        targets: unit_targets,
    });
    let context = minijinja::context! {
        params => setup.params.clone(),
        tables => setup.tables.clone(),
        unit => unit.clone(),
        // The organisation's own texts are markup: printed as they are.
        texts => texts.into_iter().map(|(k, v)| (k, minijinja::Value::from_safe_string(v))).collect::<BTreeMap<_, _>>(),
        lang => lang.tag(),
        targets => target_list,
        audience => setup.audience.name(),
        publication => setup.rules.is_some(),
        threshold => config.threshold,
        __sunward_report => minijinja::Value::from_dyn_object(tracker.clone()),
    };
    Ok((tracker, context))
}

/// The template rendered in `context`, read as a document; `place` names
/// the unit in messages.
fn render_document(setup: &Setup, context: minijinja::Value, place: &str) -> Result<Document> {
    let template_path = &setup.template_path;
    let source = setup
        .env
        .get_template(&setup.template_name)
        .and_then(|t| t.render(context))
        .map_err(|e| template_error(template_path, &e, place))?;
    markup::parse(&source).map_err(|e| {
        let line = source.lines().nth(e.line.saturating_sub(1)).unwrap_or("").trim();
        Diagnostic::runtime(format!(
            "the markup {} rendered{place} is not valid at its line {}: {}",
            template_path.display(),
            e.line,
            e.message
        ))
        .hint(format!("that line reads: {line}"))
    })
}

/// Refuses a document showing an identifying column, then resolves every
/// figure it prints: under the publication rules (with the note that
/// explains them), or as they are for an internal report. Returns what the
/// reader sees of each figure.
fn publish_document<'a>(
    setup: &'a Setup,
    doc: &mut Document,
    records: &'a [Record],
    place: &str,
) -> Result<Settle<'a>> {
    let refuse = |m: String| Diagnostic::invalid(format!("{}{place}: {m}", setup.template_path.display()));
    publish::refuse_identifying(doc).map_err(refuse)?;
    let mut settle = Settle {
        records,
        rules: setup.rules.as_ref(),
        hidden: Default::default(),
        pattern: setup.pattern.as_ref().as_ref(),
        withheld: 0,
        group_digits: setup.lang == Lang::En,
        printed: Default::default(),
    };
    match &setup.rules {
        Some(rules) => {
            publish::publish(doc, rules, &mut settle).map_err(refuse)?;
            add_note(doc, rules);
        }
        None => publish::settle_document(doc, &mut settle),
    }
    Ok(settle)
}

/// The unit's files without their extension (`path:`, `{unit}` replaced);
/// an official document's end in `_official`, so it never replaces the
/// standard edition.
fn report_base(config: &ReportSinkConfig, ctx: &RunContext, key: &str, doc: &Document) -> Result<PathBuf> {
    let mut base = ctx.output_path(&ctx.interpolate(&config.path)?.replace("{unit}", key))?;
    // The official edition of a report never replaces its standard one.
    if doc.meta.style == DocStyle::Official {
        base.as_mut_os_string().push("_official");
    }
    Ok(base)
}

/// The document in one format: its file and bytes.
fn encode(setup: &Setup, doc: &Document, format: ReportFormat, base: &Path, place: &str) -> Result<(PathBuf, Vec<u8>)> {
    let template_path = &setup.template_path;
    Ok(match format {
        ReportFormat::Html => (with_ext(base, "html"), html::render(doc).into_bytes()),
        ReportFormat::Pdf => {
            let faces = official_faces(setup, doc, place)?;
            let bytes = pdf::render_with(doc, setup.font.as_deref().unwrap_or_default(), faces)
                .map_err(|e| Diagnostic::runtime(format!("{}{place}: {}", template_path.display(), e.0)))?;
            (with_ext(base, "pdf"), bytes)
        }
        ReportFormat::Docx => {
            let bytes = docx::render(doc)
                .map_err(|e| Diagnostic::runtime(format!("{}{place}: {}", template_path.display(), e.0)))?;
            (with_ext(base, "docx"), bytes)
        }
    })
}

/// The faces of an official document's PDF (none for any other), read once
/// for every unit.
fn official_faces<'a>(setup: &'a Setup, doc: &Document, place: &str) -> Result<Option<&'a pdf::OfficialFaces>> {
    if doc.meta.style != DocStyle::Official {
        return Ok(None);
    }
    let faces = setup.official_faces.get_or_init(|| pdf::OfficialFaces::load().map_err(|e| e.0));
    let faces = faces.as_ref().map_err(|e| {
        Diagnostic::runtime(format!("{}{place}: {e}", setup.template_path.display()))
            .hint("run scripts/prepare-fonts.sh")
    })?;
    Ok(Some(faces))
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

/// A template that does not parse or render, at its file and line when
/// minijinja knows them; `place` names the unit.
pub(super) fn template_error(path: &Path, e: &minijinja::Error, place: &str) -> Diagnostic {
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

/// `base` with `.ext` added (a name may hold dots of its own).
fn with_ext(base: &Path, ext: &str) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}
