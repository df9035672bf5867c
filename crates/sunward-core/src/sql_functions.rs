//! SQL functions declared in YAML: `functions:` in a pipeline or a file it includes.
//!
//! An analyst writes a scalar function as a SQL expression over typed
//! parameters (`per_1000(count, students)`), with no Rust and no rebuild.
//! Such a function is a macro, not a registered UDF: before a step's query is
//! planned, every call is replaced by the body with the arguments put in
//! place of the parameters and the whole cast to the declared return type
//! (`CAST((…) AS DOUBLE)`). So the query DataFusion plans names only
//! built-in and registered functions: the optimiser sees through the call, and
//! a cluster's executors need to know nothing about the pipeline's functions.
//! As with any macro, an argument used twice in the body is evaluated twice.
//!
//! Validation ([`crate::validate`]) parses each body and orders the
//! functions (one may call another, never in a cycle); the engine's check
//! plans each body with its declared types; [`SqlFunctions::expand`] does the
//! replacing.

use crate::contract::ColumnType;
use crate::diag::Location;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, Value, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

/// One declared function.
#[derive(Debug, Clone)]
pub struct SqlFunction {
    /// Its name in SQL.
    pub name: String,
    /// Its parameters in order, with their types.
    pub params: Vec<(String, ColumnType)>,
    /// The type of its result.
    pub returns: ColumnType,
    /// The body as written: one SQL expression over the parameters.
    pub body: String,
    /// What it computes.
    pub description: Option<String>,
    /// Where its name is written.
    pub place: Location,
    /// Where its body is written.
    pub body_place: Location,
    /// `CAST((body) AS type)` with every call to another declared function
    /// already replaced; the parameters are still identifiers.
    template: Expr,
}

/// The SQL type a parameter or result type is cast to.
pub fn sql_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::String => "VARCHAR",
        ColumnType::Int => "BIGINT",
        ColumnType::Float => "DOUBLE",
        ColumnType::Date => "DATE",
        ColumnType::Bool => "BOOLEAN",
        ColumnType::Time => "TIME",
    }
}

/// A type as `functions:` writes it (`float`, `int`, …).
pub fn type_name(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::String => "string",
        ColumnType::Int => "int",
        ColumnType::Float => "float",
        ColumnType::Date => "date",
        ColumnType::Bool => "bool",
        ColumnType::Time => "time",
    }
}

/// The name a SQL identifier stands for: unquoted names are case-insensitive.
fn normal(ident: &Ident) -> String {
    if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() }
}

/// Parse one SQL expression; the error carries the 1-based line and column in `text`.
pub fn parse_expression(text: &str) -> Result<Expr, (String, usize, usize)> {
    let parsed = Parser::new(&GenericDialect {}).try_with_sql(text).and_then(|mut p| {
        let expr = p.parse_expr()?;
        // Anything left after the expression is a mistake (`a + b c`).
        let next = p.peek_token();
        if next.token != datafusion::sql::sqlparser::tokenizer::Token::EOF {
            // A CASE the parser could not read falls back to a column named
            // `case`; read it as a CASE again for the mistake inside it.
            if matches!(&expr, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("case")) {
                let mut again = Parser::new(&GenericDialect {}).try_with_sql(text)?;
                again.expect_keyword(datafusion::sql::sqlparser::keywords::Keyword::CASE)?;
                again.parse_case_expr()?;
            }
            return Err(datafusion::sql::sqlparser::parser::ParserError::ParserError(format!(
                "expected the end of the expression, found {} at Line: {}, Column: {}",
                next.token, next.span.start.line, next.span.start.column
            )));
        }
        Ok(expr)
    });
    parsed.map_err(|e| {
        let message = e.to_string();
        let (line, column) = error_position(&message).unwrap_or((1, 1));
        let message =
            message.split(" at Line: ").next().unwrap_or(&message).trim_start_matches("sql parser error: ").to_string();
        (message, line, column)
    })
}

/// `… at Line: 2, Column: 7` in a parser message.
fn error_position(message: &str) -> Option<(usize, usize)> {
    let rest = &message[message.find("Line: ")? + 6..];
    let line: usize = rest.split(',').next()?.trim().parse().ok()?;
    let rest = &rest[rest.find("Column: ")? + 8..];
    let column: usize = rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()?;
    Some((line, column))
}

/// The names of functions an expression calls, lowercased, each once.
pub fn called_functions(expr: &Expr) -> Vec<String> {
    let mut expr = expr.clone();
    let mut names: Vec<String> = Vec::new();
    let _ = visit_expressions_mut(&mut expr, |e| {
        if let Expr::Function(f) = e
            && let Some(part) = f.name.0.last().and_then(|p| p.as_ident())
        {
            let name = normal(part);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    names
}

/// A function as declared, before its body is expanded.
#[derive(Debug, Clone)]
pub struct Declared {
    /// Its name.
    pub name: String,
    /// Its parameters with their types.
    pub params: Vec<(String, ColumnType)>,
    /// Its result type.
    pub returns: ColumnType,
    /// Its body as written.
    pub body: String,
    /// Its body, parsed.
    pub parsed: Expr,
    /// What it computes.
    pub description: Option<String>,
    /// Where its name is written.
    pub place: Location,
    /// Where its body is written.
    pub body_place: Location,
}

/// The functions a pipeline declares, ready to expand calls to them.
#[derive(Debug, Clone, Default)]
pub struct SqlFunctions {
    functions: BTreeMap<String, SqlFunction>,
}

/// Why a call cannot be expanded.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    /// What is wrong.
    pub message: String,
    /// How the function is called.
    pub hint: String,
}

impl SqlFunctions {
    /// Build from declarations already checked to be acyclic, given in an
    /// order where each comes after every declared function its body calls.
    pub fn from_ordered(declared: Vec<Declared>) -> Result<SqlFunctions, (Declared, CallError)> {
        let mut out = SqlFunctions::default();
        for d in declared {
            let mut body = d.parsed.clone();
            if let Err(e) = out.expand_expr(&mut body) {
                return Err((d, e));
            }
            let text = format!("CAST(({body}) AS {})", sql_type(d.returns));
            let template = match parse_expression(&text) {
                Ok(t) => t,
                Err((message, _, _)) => {
                    return Err((d, CallError { message, hint: String::new() }));
                }
            };
            out.functions.insert(
                d.name.clone(),
                SqlFunction {
                    name: d.name,
                    params: d.params,
                    returns: d.returns,
                    body: d.body,
                    description: d.description,
                    place: d.place,
                    body_place: d.body_place,
                    template,
                },
            );
        }
        Ok(out)
    }

    /// Whether none is declared.
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    /// One function by name.
    pub fn get(&self, name: &str) -> Option<&SqlFunction> {
        self.functions.get(name)
    }

    /// Every function, by name.
    pub fn iter(&self) -> impl Iterator<Item = &SqlFunction> {
        self.functions.values()
    }

    /// Replace every call to a declared function in a statement.
    pub fn expand(&self, statement: &mut DfStatement) -> Result<(), CallError> {
        if self.functions.is_empty() {
            return Ok(());
        }
        let DfStatement::Statement(statement) = statement else { return Ok(()) };
        let mut failure = None;
        let _ = visit_expressions_mut(statement.as_mut(), |e| match self.expand_call(e) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => {
                failure = Some(error);
                ControlFlow::Break(())
            }
        });
        failure.map_or(Ok(()), Err)
    }

    /// Replace every call to a declared function in an expression.
    pub fn expand_expr(&self, expr: &mut Expr) -> Result<(), CallError> {
        let mut failure = None;
        let _ = visit_expressions_mut(expr, |e| match self.expand_call(e) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => {
                failure = Some(error);
                ControlFlow::Break(())
            }
        });
        failure.map_or(Ok(()), Err)
    }

    /// The query that plans a function's body with its declared types: each
    /// parameter becomes a typed null.
    pub fn probe_query(&self, function: &SqlFunction) -> String {
        let args: Vec<Expr> = function.params.iter().map(|_| Expr::value(Value::Null)).collect();
        format!("SELECT {} AS result", substitute(&function.template, &function.params, &args))
    }

    /// If `expr` calls a declared function, replace it by the body.
    fn expand_call(&self, expr: &mut Expr) -> Result<(), CallError> {
        let Expr::Function(call) = expr else { return Ok(()) };
        if call.name.0.len() != 1 {
            return Ok(());
        }
        let Some(name) = call.name.0[0].as_ident().map(normal) else { return Ok(()) };
        let Some(function) = self.functions.get(&name) else { return Ok(()) };
        let usage = format!(
            "call it as {}({})",
            function.name,
            function.params.iter().map(|(p, t)| format!("{p} {}", type_name(*t))).collect::<Vec<_>>().join(", ")
        );
        let refuse = |what: &str| CallError {
            message: format!("{}() is a function declared under `functions:` and {what}", function.name),
            hint: usage.clone(),
        };
        if call.over.is_some() || call.filter.is_some() || !call.within_group.is_empty() {
            return Err(refuse("cannot take OVER, FILTER or WITHIN GROUP: it is a scalar function"));
        }
        let list = match &call.args {
            FunctionArguments::List(list) => list,
            FunctionArguments::None => return Err(refuse("needs its arguments in parentheses")),
            FunctionArguments::Subquery(_) => return Err(refuse("takes expressions, not a subquery")),
        };
        if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
            return Err(refuse("takes plain arguments (no DISTINCT, ORDER BY or other clauses)"));
        }
        let mut args = Vec::new();
        for arg in &list.args {
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e.clone()),
                _ => return Err(refuse("takes its arguments by position (no names, no `*`)")),
            }
        }
        if args.len() != function.params.len() {
            return Err(refuse(&format!(
                "takes {} argument{}, but {} {} given",
                function.params.len(),
                if function.params.len() == 1 { "" } else { "s" },
                args.len(),
                if args.len() == 1 { "was" } else { "were" },
            )));
        }
        *expr = substitute(&function.template, &function.params, &args);
        Ok(())
    }
}

/// The template with each parameter replaced by its argument, cast to the
/// parameter's type (so `count: float` divides as a float whatever is passed).
fn substitute(template: &Expr, params: &[(String, ColumnType)], args: &[Expr]) -> Expr {
    let typed: Vec<Expr> = params
        .iter()
        .zip(args)
        .map(|((_, ty), arg)| {
            let cast = format!("CAST((x) AS {})", sql_type(*ty));
            let mut e = parse_expression(&cast).expect("a cast parses");
            let _ = visit_expressions_mut(&mut e, |inner| {
                if matches!(inner, Expr::Identifier(i) if i.value == "x") {
                    *inner = arg.clone();
                }
                ControlFlow::<()>::Continue(())
            });
            e
        })
        .collect();
    let mut out = template.clone();
    let _ = visit_expressions_mut(&mut out, |e| {
        if let Expr::Identifier(ident) = e
            && let Some(i) = params.iter().position(|(p, _)| *p == normal(ident))
        {
            *e = typed[i].clone();
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(name: &str, params: &[(&str, ColumnType)], returns: ColumnType, body: &str) -> Declared {
        let place = Location { file: "p.yaml".into(), line: 1, column: 1 };
        Declared {
            name: name.into(),
            params: params.iter().map(|(p, t)| (p.to_string(), *t)).collect(),
            returns,
            body: body.into(),
            parsed: parse_expression(body).expect("body parses"),
            description: None,
            place: place.clone(),
            body_place: place,
        }
    }

    fn expanded(functions: &SqlFunctions, sql: &str) -> Result<String, CallError> {
        let mut statement =
            datafusion::sql::parser::DFParser::parse_sql(sql).expect("parses").pop_front().expect("one statement");
        functions.expand(&mut statement)?;
        Ok(statement.to_string())
    }

    fn per_1000() -> Declared {
        declared(
            "per_1000",
            &[("count", ColumnType::Float), ("students", ColumnType::Int)],
            ColumnType::Float,
            "CASE WHEN students > 0 THEN count * 1000.0 / students END",
        )
    }

    #[test]
    fn a_call_becomes_the_body_with_its_arguments() {
        let functions = SqlFunctions::from_ordered(vec![per_1000()]).unwrap();
        let sql = expanded(&functions, "SELECT PER_1000(SUM(n), s.students) AS rate FROM t s").unwrap();
        assert_eq!(
            sql,
            "SELECT CAST((CASE WHEN CAST((s.students) AS BIGINT) > 0 THEN CAST((SUM(n)) AS DOUBLE) * 1000.0 / CAST((s.students) AS BIGINT) END) AS DOUBLE) AS rate FROM t s"
        );
    }

    #[test]
    fn calls_inside_bodies_and_nested_calls_expand() {
        let double = declared("twice", &[("x", ColumnType::Float)], ColumnType::Float, "x * 2");
        let rate = declared(
            "twice_rate",
            &[("c", ColumnType::Float), ("n", ColumnType::Int)],
            ColumnType::Float,
            "twice(per_1000(c, n))",
        );
        let functions = SqlFunctions::from_ordered(vec![double, per_1000(), rate]).unwrap();
        let sql = expanded(&functions, "SELECT twice_rate(twice(a), b) FROM t").unwrap();
        assert!(!sql.contains("twice(") && !sql.contains("per_1000"), "{sql}");
        assert!(sql.contains("CAST((CAST((a) AS DOUBLE) * 2) AS DOUBLE)"), "{sql}");
    }

    #[test]
    fn a_quoted_column_named_like_a_parameter_is_untouched_outside_the_body() {
        let functions = SqlFunctions::from_ordered(vec![per_1000()]).unwrap();
        let sql = expanded(&functions, "SELECT count, per_1000(1, 2) FROM t").unwrap();
        assert!(sql.starts_with("SELECT count, CAST("), "{sql}");
    }

    #[test]
    fn wrong_calls_say_how_to_call() {
        let functions = SqlFunctions::from_ordered(vec![per_1000()]).unwrap();
        let e = expanded(&functions, "SELECT per_1000(1) FROM t").unwrap_err();
        assert_eq!(
            e.message,
            "per_1000() is a function declared under `functions:` and takes 2 arguments, but 1 was given"
        );
        assert_eq!(e.hint, "call it as per_1000(count float, students int)");
        let e = expanded(&functions, "SELECT per_1000(1, 2) OVER () FROM t").unwrap_err();
        assert!(e.message.contains("OVER"), "{}", e.message);
    }

    #[test]
    fn the_probe_plans_the_body_with_typed_nulls() {
        let functions = SqlFunctions::from_ordered(vec![per_1000()]).unwrap();
        let probe = functions.probe_query(functions.get("per_1000").unwrap());
        assert_eq!(
            probe,
            "SELECT CAST((CASE WHEN CAST((NULL) AS BIGINT) > 0 THEN CAST((NULL) AS DOUBLE) * 1000.0 / CAST((NULL) AS BIGINT) END) AS DOUBLE) AS result"
        );
    }

    #[test]
    fn parse_errors_carry_their_place() {
        let (message, line, column) = parse_expression("a +\n  * b").unwrap_err();
        assert_eq!((line, column), (2, 3), "{message}");
        let (message, line, column) = parse_expression("a b c").unwrap_err();
        assert!(message.contains("end of the expression"), "{message}");
        assert_eq!((line, column), (1, 3));
        assert_eq!(called_functions(&parse_expression("f(g(x)) + F(y)").unwrap()), vec!["g", "f"]);
        // A mistake inside a CASE is found where it is, not at the CASE.
        let (message, line, column) = parse_expression("CASE WHEN x > 1\n     THN 2\nEND").unwrap_err();
        assert_eq!((line, column), (2, 6), "{message}");
        assert!(message.contains("THEN"), "{message}");
    }
}
