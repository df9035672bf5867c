//! Validating `checks:`: each entry names a known table and exactly one rule.
//!
//! The settings are read with serde (unknown keys and wrong types are
//! reported where they are written); then the table and, for
//! `relationships`, the table referred to must be a source or a step of the
//! pipeline, and a rule's lists must not be empty. Whether the columns exist
//! and an `expression` plans is the engine's check, which knows the schemas.

use super::Validator;
use crate::checks::{Check, CheckSpec, KINDS, SHARED_KEYS};
use crate::diag::similar;
use crate::plugin::PluginKind;
use crate::yaml::{Node, Span, Value};
use std::collections::HashMap;

impl Validator<'_> {
    /// The checks of `checks:`, each validated against the pipeline's tables.
    pub(super) fn checks(&mut self, node: Option<&Node>, tables: &HashMap<String, (PluginKind, Span)>) -> Vec<Check> {
        let Some(node) = node else { return Vec::new() };
        let items = match &node.value {
            Value::Seq(items) => items,
            Value::Null => return Vec::new(),
            _ => {
                self.error(node.span, format!("`checks` must be a list of checks, found {}", node.kind_name()))
                    .hint("e.g.\nchecks:\n  - {table: cases, unique: case_id}\n  - {table: services, not_null: [school_id, service_date]}");
                return Vec::new();
            }
        };
        let mut names: Vec<&str> = tables.keys().map(String::as_str).collect();
        names.sort();
        let mut allowed: Vec<&str> = SHARED_KEYS.to_vec();
        allowed.extend(KINDS);
        let mut out: Vec<Check> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(check) = self.check(i, item, tables, &names, &allowed, &out) {
                out.push(check);
            }
        }
        out
    }

    /// The check at index `i` of `checks:`, or `None` after reporting what
    /// is wrong with it (`earlier` are the checks before it, whose names it
    /// may not repeat).
    fn check(
        &mut self,
        i: usize,
        item: &Node,
        tables: &HashMap<String, (PluginKind, Span)>,
        names: &[&str],
        allowed: &[&str],
        earlier: &[Check],
    ) -> Option<Check> {
        let context = format!("checks[{i}]");
        if item.as_map().is_none() {
            self.error(
                item.span,
                format!("a check must be a mapping with `table:` and a rule, found {}", item.kind_name()),
            )
            .in_context(&context)
            .hint(format!("rules: {}", KINDS.join(", ")));
            return None;
        }
        let spec: CheckSpec = match serde_path_to_error::deserialize(item.to_json()) {
            Ok(spec) => spec,
            Err(err) => {
                self.serde_error(item, &err, &context, allowed);
                return None;
            }
        };
        let kind = self.single_rule(item, &spec, &context)?;
        let mut ok = true;
        let table_span = item.get("table").map(|n| n.span).unwrap_or(item.span);
        if !tables.contains_key(&spec.table) {
            ok = false;
            let hint =
                similar(&spec.table, names.iter().copied()).unwrap_or_else(|| format!("tables: {}", names.join(", ")));
            self.error(table_span, format!("unknown table \"{}\"", spec.table)).in_context(&context).hint(hint);
        }
        let rule = item.get(kind).expect("the rule was given");
        let mut reads = Vec::new();
        if let Some(r) = &spec.relationships {
            if tables.contains_key(&r.to) {
                reads.push(r.to.clone());
            } else {
                ok = false;
                let span = rule.get("to").map(|n| n.span).unwrap_or(rule.span);
                let hint =
                    similar(&r.to, names.iter().copied()).unwrap_or_else(|| format!("tables: {}", names.join(", ")));
                self.error(span, format!("unknown table \"{}\"", r.to)).in_context(&context).hint(hint);
            }
        }
        ok &= self.rule_not_empty(rule, &spec, kind, &context);
        if let Some(limit) = &spec.max_failing
            && limit.exceeded(0, 1).is_none()
        {
            ok = false;
            let span = item.get("max_failing").map(|n| n.span).unwrap_or(item.span);
            self.error(span, "`max_failing` must be a count, a share between 0 and 1, or a percentage like \"1%\"")
                .in_context(&context);
        }
        let name = spec.name.clone().unwrap_or_else(|| Check::default_name(&spec, kind));
        if let Some(first) = earlier.iter().find(|c| c.name == name) {
            ok = false;
            self.error(item.span, format!("two checks are named \"{name}\""))
                .in_context(&context)
                .hint(format!("the first is {}; give one a `name:`", first.context));
        }
        ok.then(|| Check { name, context, spec, kind, reads, span: item.span, file: None })
    }

    /// The one rule a check holds, or `None` after reporting none or several.
    fn single_rule(&mut self, item: &Node, spec: &CheckSpec, context: &str) -> Option<&'static str> {
        let kinds = spec.kinds();
        match kinds.as_slice() {
            [one] => Some(*one),
            [] => {
                self.error(item.span, "this check has no rule")
                    .in_context(context)
                    .hint(format!("add one of: {}", KINDS.join(", ")));
                None
            }
            [_, second, ..] => {
                let span = item.get(second).map(|n| n.span).unwrap_or(item.span);
                self.error(span, format!("a check holds one rule, found {}", kinds.join(" and ")))
                    .in_context(context)
                    .hint("write each rule as its own entry of `checks:`");
                None
            }
        }
    }

    /// A rule that would check nothing (no columns, no values, no bounds)
    /// is an error; false after reporting one.
    fn rule_not_empty(&mut self, rule: &Node, spec: &CheckSpec, kind: &str, context: &str) -> bool {
        let empty = match kind {
            "not_null" | "unique" => spec.columns().is_empty(),
            "accepted_values" => spec.accepted_values.as_ref().is_some_and(|a| a.values.is_empty()),
            "range" => spec.range.as_ref().is_some_and(|r| r.min.is_none() && r.max.is_none()),
            "row_count" => spec.row_count.as_ref().is_some_and(|r| r.min.is_none() && r.max.is_none()),
            "expression" => spec.expression.as_ref().is_some_and(|e| e.trim().is_empty()),
            _ => false,
        };
        if empty {
            self.error(rule.span, format!("`{kind}` is empty: it would check nothing")).in_context(context).hint(
                match kind {
                    "range" | "row_count" => "give `min:`, `max:` or both",
                    "accepted_values" => "list the allowed values under `values:`",
                    "expression" => "write a SQL condition every row must meet, e.g. `participants >= 0`",
                    _ => "name at least one column",
                },
            );
        }
        !empty
    }
}
