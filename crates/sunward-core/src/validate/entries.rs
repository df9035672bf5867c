//! Validating the entries of `sources:`, `steps:` and `outputs:`: each a
//! mapping with `plugin:` under a unique name, split into the plugin's own
//! settings and the options its section shares, each part read with serde.
//! A failed reading becomes a message at the key or value it concerns
//! ([`Validator::serde_error`]), and so does a plugin's own [`ConfigIssue`].

use super::{Validator, schema_keys};
use crate::diag::similar;
use crate::model::{Entry, SOURCE_OPTION_KEYS, STEP_OPTION_KEYS, SourceOptions, StepOptions};
use crate::params::referenced_names;
use crate::plugin::{AnyConfig, ConfigIssue, PluginHandle, PluginKind};
use crate::yaml::{Node, PathPart, Value, error_path};
use std::collections::HashSet;

impl Validator<'_> {
    /// The entries of one section (`sources:`, `steps:` or `outputs:`):
    /// each a mapping with `plugin:`, under a name not repeated.
    pub(super) fn section(&mut self, kind: PluginKind, node: &Node) -> Vec<Entry> {
        let section = kind.section();
        let Some(map) = node.as_map() else {
            if node.value != Value::Null {
                self.error(
                    node.span,
                    format!("`{section}` must be a mapping of name → settings, found {}", node.kind_name()),
                )
                .hint(format!("e.g.\n{section}:\n  my_table:\n    plugin: …"));
            }
            return Vec::new();
        };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (key, value) in map {
            let name = key.scalar_text().unwrap_or_default().to_string();
            let context = format!("{section}.{name}");
            if !seen.insert(name.clone()) {
                self.error(key.span, format!("duplicate name \"{name}\" in {section}"))
                    .in_context(&context)
                    .hint("names must be unique");
                continue;
            }
            if value.as_map().is_none() {
                self.error(
                    value.span,
                    format!("{section} entry \"{name}\" must be a mapping with `plugin:`, found {}", value.kind_name()),
                )
                .in_context(&context);
                continue;
            }
            let plugin = match value.get("plugin") {
                Some(p) => match p.as_str() {
                    Some(s) => s.to_string(),
                    None => {
                        self.error(p.span, format!("`plugin` must be a plugin name, found {}", p.kind_name()))
                            .in_context(&context);
                        continue;
                    }
                },
                None => {
                    self.error(key.span, "missing required key \"plugin\"")
                        .in_context(&context)
                        .hint("say which plugin this entry uses, e.g. `plugin: csv`; `sunward plugins` lists them");
                    continue;
                }
            };
            out.push(Entry { kind, name, name_span: key.span, plugin, node: value.clone(), file: None });
        }
        out
    }

    /// `${name}` in every string of `node` names one of `known`.
    pub(super) fn interpolations(&mut self, node: &Node, known: &[String], context: &str) {
        match &node.value {
            Value::Str(s) => {
                for name in referenced_names(s) {
                    if !known.contains(&name) {
                        let hint = similar(&name, known.iter().map(String::as_str))
                            .unwrap_or_else(|| "declare it under `params:`".to_string());
                        self.error(node.span, format!("unknown parameter \"${{{name}}}\""))
                            .in_context(context)
                            .hint(hint);
                    }
                }
            }
            Value::Seq(items) => items.iter().for_each(|i| self.interpolations(i, known, context)),
            Value::Map(entries) => entries.iter().for_each(|(_, v)| self.interpolations(v, known, context)),
            _ => {}
        }
    }

    /// Split an entry's mapping into the plugin's own keys and, for sources
    /// and steps, the options every source (or step) shares.
    pub(super) fn split_entry(&mut self, e: &Entry) -> (Node, Option<SourceOptions>, Option<StepOptions>) {
        let entries = e.node.as_map().unwrap_or_default();
        let shared_keys = shared_keys(e.kind);
        let mut own = Vec::new();
        let mut shared = Vec::new();
        for (k, v) in entries {
            let key = k.scalar_text().unwrap_or_default();
            if key == "plugin" {
                continue;
            }
            if shared_keys.contains(&key) {
                shared.push((k.clone(), v.clone()));
            } else {
                own.push((k.clone(), v.clone()));
            }
        }
        // A key missing from the entry is reported at the entry's name.
        let own_node = Node { value: Value::Map(own), span: e.name_span, ..e.node.clone() };
        let shared_node = Node { value: Value::Map(shared), ..e.node.clone() };
        match e.kind {
            PluginKind::Source => (own_node, self.shared_options(e, &shared_node, SOURCE_OPTION_KEYS), None),
            PluginKind::Transform => (own_node, None, self.shared_options(e, &shared_node, STEP_OPTION_KEYS)),
            PluginKind::Sink => (own_node, None, None),
        }
    }

    /// The options an entry shares with its section (`SourceOptions`, `StepOptions`); `None` after reporting why not.
    fn shared_options<T: serde::de::DeserializeOwned>(&mut self, e: &Entry, node: &Node, keys: &[&str]) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(node.to_json()) {
            Ok(o) => Some(o),
            Err(err) => {
                self.serde_error(&e.node, &err, &e.context(), keys);
                None
            }
        }
    }

    /// The entry's own settings read into its plugin's configuration, or
    /// `None` after reporting why they cannot be.
    pub(super) fn parse_config(&mut self, e: &Entry, handle: &PluginHandle, node: &Node) -> Option<AnyConfig> {
        match handle.plugin().parse(node.to_json()) {
            Ok(c) => Some(c),
            Err(err) => {
                let mut allowed: Vec<String> = schema_keys(&handle.plugin().schema());
                allowed.push("plugin".into());
                allowed.extend(shared_keys(e.kind).iter().map(|s| s.to_string()));
                let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
                self.serde_error(node, &err, &e.context(), &allowed);
                None
            }
        }
    }

    /// A typed reading of `node` failed: the error in words, at the key or
    /// value it concerns, with the allowed keys or values as a hint.
    pub(super) fn serde_error(
        &mut self,
        node: &Node,
        err: &serde_path_to_error::Error<serde_json::Error>,
        context: &str,
        allowed: &[&str],
    ) {
        let path = error_path(err);
        let inner = err.inner().to_string();
        let field = path.iter().rev().find_map(|p| match p {
            PathPart::Key(k) => Some(k.clone()),
            PathPart::Index(_) => None,
        });
        let (message, hint, span) = if let Some(unknown) = backticked(&inner, "unknown field `") {
            let mut path = path.clone();
            if path.last() == Some(&PathPart::Key(unknown.clone())) {
                path.pop();
            }
            let target = node.find(&path, false);
            let span = target.key_node(&unknown).map(|k| k.span).unwrap_or(target.span);
            let expected: Vec<String> = all_backticked(&inner).into_iter().skip(1).collect();
            let candidates: Vec<&str> =
                if path.is_empty() { allowed.to_vec() } else { expected.iter().map(String::as_str).collect() };
            let hint = similar(&unknown, candidates.iter().copied())
                .unwrap_or_else(|| format!("allowed keys: {}", candidates.join(", ")));
            (format!("unknown key \"{unknown}\""), Some(hint), span)
        } else if let Some(missing) = backticked(&inner, "missing field `") {
            let target = node.find(&path, false);
            (format!("missing required key \"{missing}\""), Some(format!("add `{missing}:`")), target.span)
        } else if let Some(variant) = backticked(&inner, "unknown variant `") {
            let expected: Vec<String> = all_backticked(&inner).into_iter().skip(1).collect();
            let hint = similar(&variant, expected.iter().map(String::as_str))
                .map(|s| format!("{s}; allowed: {}", expected.join(", ")))
                .unwrap_or_else(|| format!("allowed: {}", expected.join(", ")));
            let at = field.as_deref().map(|f| format!(" for \"{f}\"")).unwrap_or_default();
            (format!("unknown value \"{variant}\"{at}"), Some(hint), node.find(&path, false).span)
        } else if inner.starts_with("invalid type") || inner.starts_with("invalid value") {
            let at = field.as_deref().map(|f| format!(" for \"{f}\"")).unwrap_or_default();
            let detail = inner.replacen("invalid type: ", "", 1).replacen("invalid value: ", "", 1);
            let (found, expected) = detail.split_once(", expected ").unwrap_or((detail.as_str(), ""));
            let message = if expected.is_empty() {
                format!("wrong value{at}: {found}")
            } else {
                format!("wrong type{at}: expected {expected}, found {found}")
            };
            (message, None, node.find(&path, false).span)
        } else if inner.starts_with("data did not match any variant") {
            let at = field.as_deref().map(|f| format!(" for \"{f}\"")).unwrap_or_default();
            (
                format!("wrong value{at}"),
                Some("see `sunward plugins` for the allowed forms".to_string()),
                node.find(&path, false).span,
            )
        } else {
            (inner.clone(), None, node.find(&path, false).span)
        };
        let d = self.error(span, message).in_context(context);
        d.0.hint = hint;
    }

    /// A plugin's [`ConfigIssue`], at the setting it concerns.
    pub(super) fn issue(&mut self, e: &Entry, issue: &ConfigIssue) {
        let span = e.node.find(&issue.path, false).span;
        let d = self.error(span, issue.message.clone()).in_context(e.context());
        d.0.hint = issue.hint.clone();
    }
}

/// The text between `prefix` and the next backtick.
fn backticked(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)? + prefix.len();
    let end = text[start..].find('`')?;
    Some(text[start..start + end].to_string())
}

fn all_backticked(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// The keys every entry of a section accepts besides its plugin's own.
fn shared_keys(kind: PluginKind) -> &'static [&'static str] {
    match kind {
        PluginKind::Source => SOURCE_OPTION_KEYS,
        PluginKind::Transform => STEP_OPTION_KEYS,
        PluginKind::Sink => &[],
    }
}
