//! The organisation's own texts a report includes (`texts:`): which must
//! exist, what a missing one does, who may read each (its front matter), and
//! the first drafts `sunward init --texts` writes for the missing ones.

use std::collections::BTreeMap;
use std::path::PathBuf;
use sunward_core::{Diagnostic, Result, RunContext};

use super::config::{Audience, ReportSinkConfig};
use super::template::escape_markup;

/// How a text marks what is still to be written: a draft's gaps, and an
/// internal draft's missing texts. A text holding it is not written yet.
pub const TO_WRITE: &str = "【待补充】";

/// Whether a missing text stops the run or leaves a marked gap in an internal draft.
pub(super) fn placeholders(config: &ReportSinkConfig, ctx: &RunContext, audience: Audience) -> Result<bool> {
    match ctx.interpolate(&config.missing_texts)?.as_str() {
        "error" => Ok(false),
        "placeholder" => Ok(audience == Audience::Internal),
        other => Err(Diagnostic::invalid(format!("unknown missing_texts \"{other}\""))
            .hint("write `missing_texts: error` (stop and name every missing file) or `missing_texts: placeholder`")),
    }
}

/// Every text file that must exist and does not, for every unit, named in
/// one error: a district writing its narratives learns of all the missing
/// ones at once, not one per run.
pub(super) fn missing_texts(
    config: &ReportSinkConfig,
    ctx: &RunContext,
    units: &[(String, minijinja::Value)],
) -> Result<()> {
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

/// The unit's texts (`texts:`), each without its front matter. A text says
/// who may read it in its front matter (`audience: public` or `audience:
/// internal`); a text that does not say is internal, since case stories and
/// the organisation's own account are written for the organisation first.
/// A public report gets an internal text as an empty string, so the
/// template can leave its section out (`{% if texts.cases %}`).
pub(super) fn read_texts(
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
            let file = escape_markup(&path.display().to_string());
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

/// A draft of every missing text that declares one (`draft:`), for each of
/// `units`: the file to write and its text, `{unit}` and `{name}` replaced.
pub(super) fn drafts(
    config: &ReportSinkConfig,
    ctx: &RunContext,
    units: Vec<(String, minijinja::Value)>,
) -> Result<Vec<(PathBuf, String)>> {
    let mut drafts = Vec::new();
    for (key, unit) in units {
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
