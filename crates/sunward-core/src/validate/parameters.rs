//! Validating `params:` and the values the parameters take: each
//! declaration (a name and a `{type, default, description, one_of,
//! in_data}` mapping), then the values — the defaults, `--set` over them —
//! each parsed by its type, inside `one_of` when it is given, and none left
//! without a value. `as_of` is always there: a date, today unless set.

use super::{ValidateOptions, Validator, is_identifier};
use crate::diag::{Diagnostic, similar};
use crate::model::{ParamDef, ParamSpec};
use crate::params::{ParamType, ParamValue};
use crate::yaml::{Node, Value};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::Path;

/// What `${out}` stands for in a path parameter's default: the output folder.
const OUT_VAR: &str = "${out}";

/// Every parameter's value by name.
type Values = BTreeMap<String, ParamValue>;

impl Validator<'_> {
    /// The declarations of `params:`.
    pub(super) fn params(&mut self, node: Option<&Node>) -> Vec<ParamDef> {
        let Some(node) = node else { return Vec::new() };
        let Some(entries) = node.as_map() else {
            if node.value != Value::Null {
                self.error(
                    node.span,
                    format!(
                        "`params` must be a mapping of name → {{type, default, description}}, found {}",
                        node.kind_name()
                    ),
                );
            }
            return Vec::new();
        };
        self.unknown_keys(
            node,
            &entries.iter().filter_map(|(k, _)| k.scalar_text()).collect::<Vec<_>>(),
            "params",
            "params",
        );
        let mut out = Vec::new();
        for (key, value) in entries {
            let name = key.scalar_text().unwrap_or_default().to_string();
            let context = format!("params.{name}");
            if !is_identifier(&name) {
                self.error(key.span, format!("\"{name}\" cannot be a parameter name"))
                    .in_context(&context)
                    .hint("use letters, digits and `_`, starting with a letter");
            }
            if value.as_map().is_none() {
                self.error(
                    value.span,
                    format!("parameter \"{name}\" must be a mapping with `type:`, found {}", value.kind_name()),
                )
                .in_context(&context)
                .hint("e.g. `year: {type: int, default: 2025}`");
                continue;
            }
            let spec: ParamSpec = match serde_path_to_error::deserialize(value.to_json()) {
                Ok(spec) => spec,
                Err(err) => {
                    self.serde_error(value, &err, &context, &["type", "default", "description", "one_of", "in_data"]);
                    continue;
                }
            };
            let default = spec.default.as_ref().and_then(|d| match d {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Array(items) => Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                other => Some(other.to_string()),
            });
            out.push(ParamDef {
                name,
                ty: spec.ty,
                default,
                description: spec.description,
                one_of: spec.one_of,
                in_data: spec.in_data,
                span: key.span,
            });
        }
        out
    }

    /// The parameters' values (defaults, then `--set`) and the `as_of`
    /// date; `None` after reporting why they are not all known and valid.
    pub(super) fn param_values(
        &mut self,
        params: &[ParamDef],
        dir: &Path,
        options: &ValidateOptions,
    ) -> Option<(Values, NaiveDate)> {
        let mut values = Values::new();
        let mut ok = self.default_values(params, dir, options, &mut values);
        let mut as_of_type = ParamType::Date;
        if let Some(p) = params.iter().find(|p| p.name == "as_of") {
            as_of_type = p.ty;
            if p.ty != ParamType::Date {
                ok = false;
                self.error(p.span, "parameter \"as_of\" must have type date").in_context("params.as_of");
            }
        }
        ok &= self.set_values(params, as_of_type, options, &mut values);
        ok &= self.values_one_of(params, options, &values);
        ok &= self.values_given(params, &values);
        let as_of = match values.get("as_of") {
            Some(ParamValue::Date(d)) => *d,
            _ => options.today,
        };
        values.insert("as_of".to_string(), ParamValue::Date(as_of));
        ok.then_some((values, as_of))
    }

    /// Each declared default, parsed by its parameter's type into `values`;
    /// false after reporting one that does not parse.
    fn default_values(
        &mut self,
        params: &[ParamDef],
        dir: &Path,
        options: &ValidateOptions,
        values: &mut Values,
    ) -> bool {
        let mut ok = true;
        for p in params {
            if let Some(default) = &p.default {
                // `${out}` in a path's default is the run's output folder
                // (`metrics: ${out}/metrics.parquet`: the table this --out holds).
                let (default, base) = match p.ty {
                    ParamType::Path if default.contains(OUT_VAR) => (
                        std::borrow::Cow::Owned(default.replace(OUT_VAR, &options.out_dir.display().to_string())),
                        options.cwd.as_path(),
                    ),
                    _ => (std::borrow::Cow::Borrowed(default.as_str()), dir),
                };
                match ParamValue::parse(p.ty, &default, base) {
                    Ok(v) => {
                        values.insert(p.name.clone(), v);
                    }
                    Err(msg) => {
                        ok = false;
                        self.error(p.span, format!("the default of parameter \"{}\" is not a {}: {msg}", p.name, p.ty))
                            .in_context(format!("params.{}", p.name));
                    }
                }
            }
        }
        ok
    }

    /// Each `--set key=value`, parsed by its parameter's type into `values`
    /// (over the default); false after reporting one that is malformed,
    /// names no parameter or does not parse.
    fn set_values(
        &mut self,
        params: &[ParamDef],
        as_of_type: ParamType,
        options: &ValidateOptions,
        values: &mut Values,
    ) -> bool {
        let mut ok = true;
        for set in &options.sets {
            let (key, text) = match crate::params::parse_set(set) {
                Ok(kv) => kv,
                Err(d) => {
                    ok = false;
                    self.diags.push(d);
                    continue;
                }
            };
            let ty = match params.iter().find(|p| p.name == key) {
                Some(p) => p.ty,
                None if key == "as_of" => as_of_type,
                None => {
                    ok = false;
                    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).chain(["as_of"]).collect();
                    let hint = similar(key, names.iter().copied())
                        .unwrap_or_else(|| format!("parameters of this pipeline: {}", names.join(", ")));
                    self.diags.push(
                        Diagnostic::invalid(format!("--set {key}: unknown parameter \"{key}\""))
                            .in_context("--set")
                            .hint(hint),
                    );
                    continue;
                }
            };
            match ParamValue::parse(ty, text, &options.cwd) {
                Ok(v) => {
                    values.insert(key.to_string(), v);
                }
                Err(msg) => {
                    ok = false;
                    self.diags.push(
                        Diagnostic::invalid(format!("--set {key}: {msg}"))
                            .in_context("--set")
                            .hint(format!("parameter \"{key}\" has type {ty}")),
                    );
                }
            }
        }
        ok
    }

    /// A value outside its parameter's `one_of`, from `--set` (an error at
    /// `--set`) or the default (at the declaration); false after reporting one.
    fn values_one_of(&mut self, params: &[ParamDef], options: &ValidateOptions, values: &Values) -> bool {
        let mut ok = true;
        for p in params.iter().filter(|p| !p.one_of.is_empty()) {
            let Some(value) = values.get(&p.name).map(ToString::to_string) else { continue };
            if p.one_of.contains(&value) {
                continue;
            }
            ok = false;
            let allowed = p.one_of.join(", ");
            let hint = match similar(&value, p.one_of.iter().map(String::as_str)) {
                Some(close) => format!("{close}; allowed: {allowed}"),
                None => format!("allowed: {allowed}"),
            };
            let given = options.sets.iter().any(|s| crate::params::parse_set(s).is_ok_and(|(k, _)| k == p.name));
            if given {
                self.diags.push(
                    Diagnostic::invalid(format!("--set {}: \"{value}\" is not one of {allowed}", p.name))
                        .in_context("--set")
                        .hint(hint),
                );
            } else {
                self.error(p.span, format!("the default of parameter \"{}\" is not one of {allowed}", p.name))
                    .in_context(format!("params.{}", p.name))
                    .hint(hint);
            }
        }
        ok
    }

    /// Every parameter has a value; false after reporting one without.
    fn values_given(&mut self, params: &[ParamDef], values: &Values) -> bool {
        let mut ok = true;
        for p in params {
            if !values.contains_key(&p.name) {
                ok = false;
                self.error(p.span, format!("parameter \"{}\" has no default and was not set", p.name))
                    .in_context(format!("params.{}", p.name))
                    .hint(format!("run with --set {}=…, or give it a default", p.name));
            }
        }
        ok
    }
}
