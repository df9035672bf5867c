//! Validating the options every source shares: `references:` (a contract
//! table → the source holding it, or `none`), `max_rejected` and
//! `optional`; for a contract source, its contract table and the columns
//! its `headers:` and `values:` name; and then which source holds each
//! table its columns reference, found when it is not said.

use super::{NOT_CHECKED, Validator};
use crate::contract::{Contract, TableSpec};
use crate::diag::{Diagnostic, similar};
use crate::model::{Entry, Pipeline, SourceOptions};
use crate::plugin::PluginKind;
use crate::yaml::{Node, Span};
use std::collections::BTreeMap;

/// Where an entry writes `key`, or its name when it does not.
fn field_span(e: &Entry, key: &str) -> Span {
    e.node.key_node(key).map(|k| k.span).unwrap_or(e.name_span)
}

impl Validator<'_> {
    /// A source's shared options, checked; returns the source that holds
    /// each contract table its columns reference (contract table → source).
    pub(super) fn source_options(
        &mut self,
        e: &Entry,
        options: &SourceOptions,
        pipeline: &Pipeline,
    ) -> BTreeMap<String, String> {
        let contract = options.within.unwrap_or_else(Contract::builtin);
        let sources: Vec<&Entry> = pipeline.section(PluginKind::Source).collect();
        self.written_references(e, options, contract, &sources);
        self.rejects_and_optional(e, options);
        let Some(contract_name) = &options.contract else {
            return BTreeMap::new();
        };
        let Some(spec) = self.contract_table(e, contract, contract_name) else {
            return BTreeMap::new();
        };
        self.contract_columns(e, options, contract_name, spec);
        self.reference_holders(e, options, spec, &sources)
    }

    /// Each pair of `references:` names a contract table and a source (or `none`).
    fn written_references(&mut self, e: &Entry, options: &SourceOptions, contract: &Contract, sources: &[&Entry]) {
        let ctx = e.context();
        let source_names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        for (table, source) in &options.references {
            let span = e
                .node
                .get("references")
                .and_then(|r| r.key_node(table))
                .map(|k| k.span)
                .unwrap_or(field_span(e, "references"));
            if contract.table(table).is_none() {
                let hint = similar(table, contract.table_names())
                    .unwrap_or_else(|| contract.table_names().collect::<Vec<_>>().join(", "));
                self.error(span, format!("\"{table}\" is not a contract table")).in_context(&ctx).hint(hint);
            }
            if source != NOT_CHECKED && !source_names.contains(&source.as_str()) {
                let hint = similar(source, source_names.iter().copied())
                    .unwrap_or_else(|| format!("sources: {}", source_names.join(", ")));
                self.error(span, format!("unknown source \"{source}\"")).in_context(&ctx).hint(hint);
            }
        }
    }

    /// `max_rejected` is a count or a share, and an `optional` source
    /// declares the columns its missing file stands for.
    fn rejects_and_optional(&mut self, e: &Entry, options: &SourceOptions) {
        let ctx = e.context();
        if let Some(max) = &options.max_rejected
            && max.exceeded(0, 1).is_none()
        {
            self.error(
                e.node.get("max_rejected").map(|n| n.span).unwrap_or(e.name_span),
                "`max_rejected` is not a count, a share between 0 and 1, or a percentage like \"5%\"",
            )
            .in_context(&ctx);
        }
        if options.optional && options.contract.is_none() && options.columns.is_empty() {
            self.error(
                e.node.get("optional").map(|n| n.span).unwrap_or(e.name_span),
                "an optional source needs `contract:` or `columns:`: a missing file becomes an empty table with those columns",
            )
            .in_context(&ctx)
            .hint("e.g. `appointments: {plugin: csv, path: …, contract: appointments, optional: true}`");
        }
    }

    /// The contract table a source names, or `None` after reporting it unknown.
    fn contract_table<'c>(&mut self, e: &Entry, contract: &'c Contract, name: &str) -> Option<&'c TableSpec> {
        let spec = contract.table(name);
        if spec.is_none() {
            let hint = similar(name, contract.table_names()).unwrap_or_else(|| {
                format!("contract tables: {}", contract.table_names().collect::<Vec<_>>().join(", "))
            });
            self.error(
                e.node.get("contract").map(|n| n.span).unwrap_or(e.name_span),
                format!("unknown contract table \"{name}\""),
            )
            .in_context(e.context())
            .hint(hint);
        }
        spec
    }

    /// A contract source takes no `columns:`, and its `headers:` and
    /// `values:` name columns of its contract table.
    fn contract_columns(&mut self, e: &Entry, options: &SourceOptions, contract_name: &str, spec: &TableSpec) {
        let ctx = e.context();
        if !options.columns.is_empty() {
            self.error(field_span(e, "columns"), "`columns` cannot be used with `contract`")
                .in_context(&ctx)
                .hint("a contract source takes its column types from the data contract; remove `columns:`");
        }
        let canonical: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        for (_, v) in named(e.node.get("headers")) {
            self.column_of(v, v.as_str().unwrap_or_default(), contract_name, &canonical, &ctx);
        }
        for (k, _) in named(e.node.get("values")) {
            self.column_of(k, k.scalar_text().unwrap_or_default(), contract_name, &canonical, &ctx);
        }
    }

    /// `column`, written at `node`, is one of the contract table's `canonical` columns.
    fn column_of(&mut self, node: &Node, column: &str, contract_name: &str, canonical: &[&str], ctx: &str) {
        if !canonical.contains(&column) {
            let hint = similar(column, canonical.iter().copied())
                .unwrap_or_else(|| format!("columns of {contract_name}: {}", canonical.join(", ")));
            self.error(node.span, format!("\"{column}\" is not a column of {contract_name}"))
                .in_context(ctx)
                .hint(hint);
        }
    }

    /// Which source holds each table the contract table's columns
    /// reference: the one `references:` names, else the one source with
    /// that contract (none: a warning; several: an error).
    fn reference_holders(
        &mut self,
        e: &Entry,
        options: &SourceOptions,
        spec: &TableSpec,
        sources: &[&Entry],
    ) -> BTreeMap<String, String> {
        let ctx = e.context();
        let mut references = BTreeMap::new();
        // In name order, so warnings come out the same way every run.
        let wanted: std::collections::BTreeSet<&str> =
            spec.columns.iter().filter_map(|c| c.references.map(|(t, _)| t)).collect();
        for table in wanted {
            if let Some(explicit) = options.references.get(table) {
                if explicit != NOT_CHECKED {
                    references.insert(table.to_string(), explicit.clone());
                }
                continue;
            }
            let holders: Vec<&Entry> = sources
                .iter()
                .copied()
                .filter(|s| s.name != e.name && s.node.get("contract").and_then(Node::as_str) == Some(table))
                .collect();
            match holders.as_slice() {
                [one] => {
                    references.insert(table.to_string(), one.name.clone());
                }
                [] => self.warnings.push(
                    Diagnostic::warning(format!(
                        "references to {table} are not checked: no source has `contract: {table}`"
                    ))
                    .at(self.loc(e.name_span))
                    .in_context(&ctx)
                    .hint(format!(
                        "add a source with `contract: {table}` to check them, or say `references: {{{table}: none}}` to leave them unchecked on purpose"
                    )),
                ),
                many => {
                    let names: Vec<&str> = many.iter().map(|s| s.name.as_str()).collect();
                    self.error(e.name_span, format!("several sources hold {table}: {}", names.join(", ")))
                        .in_context(&ctx)
                        .hint(format!("say which one with `references: {{{table}: {}}}`", names[0]));
                }
            }
        }
        references
    }
}

/// The entries of a mapping, if `node` is one.
fn named(node: Option<&Node>) -> &[(Node, Node)] {
    node.and_then(Node::as_map).unwrap_or_default()
}
