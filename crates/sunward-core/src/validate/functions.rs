//! Validating `functions:` and `include:`: SQL functions declared in YAML.
//!
//! Each function is checked where it is written — its name (an identifier,
//! not already a function of the registry or of DataFusion, declared once),
//! its parameters and their types, its return type, and its body, which must
//! parse as one SQL expression (a parse error points at the line and column
//! inside the body). Functions may call each other; a cycle is an error.
//! Whether a body *plans* with its declared types is the engine's check, which
//! needs a session. Included files hold `functions:` only, and their
//! diagnostics name the included file.

use super::packages::UsedPackage;
use super::{Validator, is_identifier};
use crate::contract::ColumnType;
use crate::diag::{Location, similar};
use crate::plugin::Registry;
use crate::sql_functions::{Declared, SqlFunctions, called_functions, parse_expression};
use crate::yaml::{self, Node, Span, Value};
use datafusion::execution::FunctionRegistry;
use datafusion::sql::sqlparser::ast::Expr as SqlExpr;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const FUNCTION_KEYS: &[&str] = &["params", "returns", "body", "description"];
const INCLUDED_KEYS: &[&str] = &["description", "functions"];
const TYPES: &[&str] = &["string", "int", "float", "date", "bool"];

/// A type name as written in `params:` and `returns:`.
fn column_type(name: &str) -> Option<ColumnType> {
    match name {
        "string" => Some(ColumnType::String),
        "int" => Some(ColumnType::Int),
        "float" => Some(ColumnType::Float),
        "date" => Some(ColumnType::Date),
        "bool" => Some(ColumnType::Bool),
        "time" => Some(ColumnType::Time),
        _ => None,
    }
}

/// Where line `line`, column `column` (1-based) of a scalar's text is in the
/// file; `key` is where the scalar's key is written.
fn inside_scalar(text: &str, key: Span, node: &Node, line: usize, column: usize) -> Span {
    if node.block {
        // A block scalar's text starts on the line after its key and `|` or `>`, indented.
        // Its indentation is the first line's; deeper lines keep their extra spaces in the text.
        let file_line = key.line + line;
        let indent = text.lines().nth(key.line).map(|l| l.len() - l.trim_start().len()).unwrap_or(0);
        Span { line: file_line, column: indent + column }
    } else {
        let quoted = node.raw.is_none() || matches!(text_at(text, node.span), Some('"' | '\''));
        let start = node.span.column + usize::from(quoted);
        if line == 1 {
            Span { line: node.span.line, column: start + column - 1 }
        } else {
            Span { line: node.span.line + line - 1, column }
        }
    }
}

/// The character at a position of the text.
fn text_at(text: &str, span: Span) -> Option<char> {
    text.lines().nth(span.line.checked_sub(1)?)?.chars().nth(span.column.checked_sub(1)?)
}

impl Validator<'_> {
    /// The functions of `include:`d files and of `functions:`, checked and expanded.
    pub(super) fn functions(
        &mut self,
        root: &Node,
        text: &str,
        dir: &Path,
        registry: &Registry,
        packages: &[UsedPackage],
    ) -> SqlFunctions {
        let mut declared: Vec<(Declared, Span)> = Vec::new();
        for package in packages {
            if let Some(section) = package.root.get("functions") {
                declared.extend(self.of_file(&package.file).declare(section, &package.text));
            }
        }
        if let Some(include) = root.get("include") {
            let files: Vec<&Node> = match &include.value {
                Value::Seq(items) => items.iter().collect(),
                Value::Str(_) => vec![include],
                Value::Null => Vec::new(),
                _ => {
                    self.error(
                        include.span,
                        format!("`include` must be a list of files, found {}", include.kind_name()),
                    )
                    .hint("e.g. `include: [functions/rates.yaml]`");
                    Vec::new()
                }
            };
            for file in files {
                let Some(name) = file.as_str() else {
                    self.error(file.span, format!("an included file must be a path, found {}", file.kind_name()));
                    continue;
                };
                let path = dir.join(name);
                let Ok(included) = std::fs::read_to_string(&path) else {
                    self.error(file.span, format!("cannot read the included file {}", path.display()))
                        .hint("paths in `include:` are relative to the pipeline's folder");
                    continue;
                };
                let label = path.display().to_string();
                let node = match yaml::parse(&included, &label) {
                    Ok(node) => node,
                    Err(d) => {
                        self.diags.push(d);
                        continue;
                    }
                };
                let mut v = self.of_file(&label);
                if node.as_map().is_none() {
                    v.error(node.span, "an included file must be a mapping with `functions:`");
                } else {
                    v.unknown_keys(&node, INCLUDED_KEYS, "an included file", "include");
                    if let Some(section) = node.get("functions") {
                        declared.extend(v.declare(section, &included));
                    }
                }
            }
        }
        if let Some(section) = root.get("functions") {
            declared.extend(self.declare(section, text));
        }
        self.order_and_expand(declared, registry)
    }

    /// The declarations of one `functions:` mapping (in the validator's file, whose text is `text`).
    fn declare(&mut self, section: &Node, text: &str) -> Vec<(Declared, Span)> {
        let Some(entries) = section.as_map() else {
            if section.value != Value::Null {
                self.error(section.span, format!("`functions` must be a mapping of name → function, found {}", section.kind_name()))
                    .hint("e.g.\nfunctions:\n  per_1000:\n    params: {count: float, students: int}\n    returns: float\n    body: count * 1000.0 / students");
            }
            return Vec::new();
        };
        entries.iter().filter_map(|(key, value)| self.declare_one(key, value, text).map(|d| (d, key.span))).collect()
    }

    /// One function's declaration, or `None` after reporting what is wrong with it.
    fn declare_one(&mut self, key: &Node, value: &Node, text: &str) -> Option<Declared> {
        let name = key.scalar_text().unwrap_or_default().to_string();
        let context = format!("functions.{name}");
        if !self.function_name_fits(key, &name, value, &context) {
            return None;
        }
        self.unknown_keys(value, FUNCTION_KEYS, &format!("function \"{name}\""), &context);
        let params = self.function_params(value, &context);
        let returns = match value.get("returns") {
            Some(node) => self.type_of(node, &context),
            None => {
                self.error(key.span, "missing required key \"returns\"")
                    .in_context(&context)
                    .hint(format!("the type of the result: {}", TYPES.join(", ")));
                None
            }
        };
        let description = value.get("description").and_then(|n| n.as_str()).map(str::to_string);
        let body_key = value.key_node("body").map(|k| k.span).unwrap_or(key.span);
        let body = self.function_body(value, key.span, body_key, &name, &context, text);
        let (Some(returns), Some((body, parsed, body_node)), Some(params)) = (returns, body, params) else {
            return None;
        };
        let place = Location { file: self.file.to_string(), line: key.span.line, column: key.span.column };
        let body_span = if body_node.block { inside_scalar(text, body_key, body_node, 1, 1) } else { body_node.span };
        let body_place = Location { file: self.file.to_string(), line: body_span.line, column: body_span.column };
        Some(Declared { name, params, returns, body, parsed, description, place, body_place })
    }

    /// A function's name is an identifier in lower case, and what it names is a mapping.
    fn function_name_fits(&mut self, key: &Node, name: &str, value: &Node, context: &str) -> bool {
        if !is_identifier(name) {
            self.error(key.span, format!("\"{name}\" cannot be a function name"))
                .in_context(context)
                .hint("use letters, digits and `_`, starting with a letter");
            return false;
        }
        if name != name.to_lowercase() {
            self.error(key.span, format!("the function name \"{name}\" has capitals"))
                .in_context(context)
                .hint(format!("SQL folds unquoted names to lower case: name it `{}`", name.to_lowercase()));
            return false;
        }
        if value.as_map().is_none() {
            self.error(
                value.span,
                format!(
                    "function \"{name}\" must be a mapping with `params`, `returns` and `body`, found {}",
                    value.kind_name()
                ),
            )
            .in_context(context);
            return false;
        }
        true
    }

    /// A function's `params:`, each name with its type (none when not
    /// given), or `None` after reporting a bad name, a repeated one or an
    /// unknown type.
    fn function_params(&mut self, value: &Node, context: &str) -> Option<Vec<(String, ColumnType)>> {
        let mut ok = true;
        let mut params = Vec::new();
        match value.get("params") {
            None | Some(Node { value: Value::Null, .. }) => {}
            Some(node) => match node.as_map() {
                Some(pairs) => {
                    for (p, ty) in pairs {
                        let pname = p.scalar_text().unwrap_or_default().to_string();
                        if !is_identifier(&pname) || pname != pname.to_lowercase() {
                            ok = false;
                            self.error(p.span, format!("\"{pname}\" cannot be a parameter name"))
                                .in_context(context)
                                .hint("use lower-case letters, digits and `_`, starting with a letter");
                        } else if params.iter().any(|(q, _)| *q == pname) {
                            ok = false;
                            self.error(p.span, format!("parameter \"{pname}\" is declared twice")).in_context(context);
                        }
                        match self.type_of(ty, context) {
                            Some(t) => params.push((pname, t)),
                            None => ok = false,
                        }
                    }
                }
                None => {
                    ok = false;
                    self.error(
                        node.span,
                        format!("`params` must map each parameter to its type, found {}", node.kind_name()),
                    )
                    .in_context(context)
                    .hint("e.g. `params: {count: float, students: int}`");
                }
            },
        }
        ok.then_some(params)
    }

    /// A function's `body:` as written and parsed, with its node, or `None`
    /// after reporting it missing, not a string, or not one SQL expression
    /// (at the line and column inside the body where parsing failed).
    fn function_body<'n>(
        &mut self,
        value: &'n Node,
        key: Span,
        body_key: Span,
        name: &str,
        context: &str,
        text: &str,
    ) -> Option<(String, SqlExpr, &'n Node)> {
        let Some(node) = value.get("body") else {
            self.error(key, "missing required key \"body\"")
                .in_context(context)
                .hint("the SQL expression the function computes, e.g. `body: count * 1000.0 / students`");
            return None;
        };
        match node.as_str() {
            Some(b) if !b.trim().is_empty() => match parse_expression(b) {
                Ok(parsed) => Some((b.to_string(), parsed, node)),
                Err((message, line, column)) => {
                    let at = inside_scalar(text, body_key, node, line, column);
                    self.error(at, format!("the body of {name}() is not a SQL expression: {message}"))
                        .in_context(context)
                        .hint("a body is one expression over the parameters, e.g. `count * 1000.0 / students`");
                    None
                }
            },
            _ => {
                self.error(node.span, format!("`body` must be a SQL expression, found {}", node.kind_name()))
                    .in_context(context);
                None
            }
        }
    }

    /// The declarations by name, leaving out (after reporting) a name
    /// declared twice and one that is already a SQL function.
    fn distinct_names(&mut self, declared: Vec<(Declared, Span)>, registry: &Registry) -> BTreeMap<String, Declared> {
        let builtin = datafusion::prelude::SessionContext::new();
        let known = registry.functions();
        let mut by_name: BTreeMap<String, Declared> = BTreeMap::new();
        for (d, _) in declared {
            let context = format!("functions.{}", d.name);
            if let Some(first) = by_name.get(&d.name) {
                let hint = format!("first declared at {}; a name may be declared once", first.place);
                self.at(&d.place, format!("function \"{}\" is declared twice", d.name), &context, hint);
                continue;
            }
            let taken = known.scalar.contains_key(&d.name)
                || known.aggregate.contains_key(&d.name)
                || known.window.contains_key(&d.name)
                || builtin.udf(&d.name).is_ok()
                || builtin.udaf(&d.name).is_ok()
                || builtin.udwf(&d.name).is_ok();
            if taken {
                self.at(
                    &d.place,
                    format!("\"{}\" is already a SQL function", d.name),
                    &context,
                    "choose another name: a declared function may not hide a built-in or a plugin's function (`sunward plugins --kind function` lists the plugins' ones)".to_string(),
                );
                continue;
            }
            by_name.insert(d.name.clone(), d);
        }
        by_name
    }

    /// A type as written (`float`), or `None` after reporting it.
    fn type_of(&mut self, node: &Node, context: &str) -> Option<ColumnType> {
        let name = node.as_str().unwrap_or_default();
        let found = column_type(name);
        if found.is_none() {
            let hint = similar(name, TYPES.iter().copied()).unwrap_or_else(|| format!("types: {}", TYPES.join(", ")));
            let shown = node.scalar_text().unwrap_or(node.kind_name());
            self.at(&node.location(self.file), format!("unknown type \"{shown}\""), context, hint);
        }
        found
    }

    /// Record an error at a location that may be in another file.
    fn at(&mut self, location: &Location, message: String, context: &str, hint: String) {
        self.diags.push(crate::Diagnostic::invalid(message).at(Some(location.clone())).in_context(context).hint(hint));
    }

    /// Check names against each other and the known functions, order the
    /// declarations so each follows those it calls, and expand them.
    fn order_and_expand(&mut self, declared: Vec<(Declared, Span)>, registry: &Registry) -> SqlFunctions {
        if declared.is_empty() {
            return SqlFunctions::default();
        }
        let mut by_name = self.distinct_names(declared, registry);
        let order = match call_order(&by_name) {
            Ok(order) => order,
            Err(cycles) => {
                for cycle in cycles {
                    let first = cycle.split(" → ").next().unwrap_or_default().to_string();
                    let d = &by_name[&first];
                    let (place, context) = (d.body_place.clone(), format!("functions.{first}"));
                    self.at(
                        &place,
                        format!("functions call each other in a cycle: {cycle}"),
                        &context,
                        "a function may call other declared functions, but never itself, directly or not".to_string(),
                    );
                }
                return SqlFunctions::default();
            }
        };
        let ordered: Vec<Declared> = order.iter().filter_map(|n| by_name.remove(n)).collect();
        match SqlFunctions::from_ordered(ordered) {
            Ok(functions) => functions,
            Err((d, e)) => {
                let context = format!("functions.{}", d.name);
                self.at(&d.body_place, e.message, &context, e.hint);
                SqlFunctions::default()
            }
        }
    }
}

/// The declared functions in an order where each comes after those it
/// calls (depth first, by name), or every cycle among them (`a → b → a`).
fn call_order(by_name: &BTreeMap<String, Declared>) -> Result<Vec<String>, Vec<String>> {
    let calls: HashMap<String, Vec<String>> = by_name
        .iter()
        .map(|(n, d)| {
            (n.clone(), called_functions(&d.parsed).into_iter().filter(|c| by_name.contains_key(c)).collect())
        })
        .collect();
    let mut order: Vec<String> = Vec::new();
    let mut cyclic: Vec<String> = Vec::new();
    fn visit(
        name: &str,
        calls: &HashMap<String, Vec<String>>,
        path: &mut Vec<String>,
        order: &mut Vec<String>,
        cyclic: &mut Vec<String>,
    ) {
        if order.iter().any(|o| o == name) {
            return;
        }
        if let Some(at) = path.iter().position(|p| p == name) {
            let mut cycle = path[at..].to_vec();
            cycle.push(name.to_string());
            cyclic.push(cycle.join(" → "));
            return;
        }
        path.push(name.to_string());
        for callee in &calls[name] {
            visit(callee, calls, path, order, cyclic);
        }
        path.pop();
        order.push(name.to_string());
    }
    for name in by_name.keys() {
        visit(name, &calls, &mut Vec::new(), &mut order, &mut cyclic);
    }
    if cyclic.is_empty() { Ok(order) } else { Err(cyclic) }
}
