//! YAML with positions.
//!
//! serde's YAML deserializers forget where a value came from once it is parsed,
//! yet every validation error must point at its line and column. This module is
//! the only place that knows the YAML crate: it turns a file into a tree of
//! [`Node`]s that keep the position of every key and value, resolves plain
//! scalars by the YAML 1.2 core schema, expands aliases (with a size limit, so
//! a "billion laughs" file is an error and not an exhausted machine), and
//! converts any subtree to JSON for typed deserialization.

use crate::diag::{Diagnostic, Location};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The largest number of nodes a pipeline file may expand to (aliases included).
pub const MAX_NODES: usize = 200_000;

/// A 1-based position in the YAML file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A YAML value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts.
    pub span: Span,
    /// For scalars, the text as written (before type resolution).
    pub raw: Option<String>,
    /// True for `|` and `>` block scalars, whose text starts on the next line.
    pub block: bool,
}

/// A resolved YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order; duplicate keys are kept so validation can report them.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The string value, if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The text of a scalar as written, for any scalar (used for map keys).
    pub fn scalar_text(&self) -> Option<&str> {
        self.raw.as_deref()
    }
    /// The entries of a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }
    /// The value under `key` in a mapping (the first one if repeated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.scalar_text() == Some(key)).map(|(_, v)| v)
    }
    /// The key node of `key` in a mapping.
    pub fn key_node(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.scalar_text() == Some(key)).map(|(k, _)| k)
    }
    /// A short name of the kind of value, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
    /// This node's location in `file`.
    pub fn location(&self, file: &str) -> Location {
        Location { file: file.to_string(), line: self.span.line, column: self.span.column }
    }

    /// Convert to JSON for typed deserialization. Mapping keys become their text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or_else(|| J::String(self.raw.clone().unwrap_or_default())),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    let key = k.scalar_text().map(str::to_string).unwrap_or_else(|| k.to_json().to_string());
                    map.entry(key).or_insert_with(|| v.to_json());
                }
                J::Object(map)
            }
        }
    }

    /// Where the character at `line`:`column` of this string scalar's value
    /// (1-based, as a SQL parser counts in the text it was given) stands in
    /// `text`, the file the scalar was read from. Works for a `|` block
    /// scalar (its value line `n` is the file's line after the indicator plus
    /// `n - 1`, behind the block's indentation) and for a scalar on one line;
    /// `None` when the value is not written as it reads there (folded lines,
    /// escapes) or the place lies outside it.
    pub fn place_in_scalar(&self, text: &str, line: usize, column: usize) -> Option<Span> {
        let value_line = self.as_str()?.split('\n').nth(line.checked_sub(1)?)?;
        if column == 0 || column > value_line.chars().count() + 1 {
            return None;
        }
        // A block scalar's span is where its text starts (the line after `|`),
        // a plain or quoted one's where it is written: either way line 1 of the value.
        let file_line_number = self.span.line + line - 1;
        let file_line = text.lines().nth(file_line_number - 1)?;
        let written_from = if self.block {
            // Behind the indentation: the file line is the value line, indented.
            let indent = file_line.strip_suffix(value_line)?;
            indent.chars().all(char::is_whitespace).then(|| indent.chars().count())?
        } else {
            // The value itself, or in quotes (then one character further).
            let start = self.span.column.checked_sub(1)?;
            let rest: String = file_line.chars().skip(start).collect();
            let quoted = rest.starts_with(['"', '\'']);
            let rest = if quoted { &rest[1..] } else { rest.as_str() };
            if line != 1 || !rest.starts_with(value_line) {
                return None;
            }
            start + usize::from(quoted)
        };
        Some(Span { line: file_line_number, column: written_from + column })
    }

    /// Follow a path of map keys and sequence indices as serde reports it, and
    /// return the deepest node reached (so an error inside a value the path
    /// cannot fully follow still points near it). With `key` true, a final map
    /// key points at the key rather than its value.
    pub fn find<'a>(&'a self, path: &[PathPart], key: bool) -> &'a Node {
        let mut node = self;
        for (i, part) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let next = match (part, &node.value) {
                (PathPart::Key(k), Value::Map(entries)) => entries
                    .iter()
                    .find(|(kn, _)| kn.scalar_text() == Some(k.as_str()))
                    .map(|(kn, v)| if last && key { kn } else { v }),
                (PathPart::Index(i), Value::Seq(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }
}

/// One step of a path into a YAML tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Where in the YAML a typed reading failed, as [`Node::find`] follows it.
pub fn error_path(err: &serde_path_to_error::Error<serde_json::Error>) -> Vec<PathPart> {
    err.path()
        .iter()
        .filter_map(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(PathPart::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(PathPart::Index(*index)),
            _ => None,
        })
        .collect()
}

/// Parse a YAML document with positions. An empty document is `Null`.
pub fn parse(text: &str, file: &str) -> Result<Node, Diagnostic> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(err) = parser.load(&mut builder, false) {
        let m = err.marker();
        return Err(Diagnostic::invalid(format!("this is not valid YAML: {}", err.info()))
            .at(Some(Location { file: file.to_string(), line: m.line(), column: m.col() + 1 }))
            .hint("check the indentation and that every `key: value` has a space after the colon"));
    }
    if let Some(err) = builder.error {
        return Err(err.at(Some(Location {
            file: file.to_string(),
            line: builder.error_at.line,
            column: builder.error_at.column,
        })));
    }
    Ok(builder.root.unwrap_or(Node { value: Value::Null, span: Span { line: 1, column: 1 }, raw: None, block: false }))
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    error: Option<Diagnostic>,
    error_at: Span,
}

fn span_of(mark: &Marker) -> Span {
    Span { line: mark.line(), column: mark.col() + 1 }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(k, v)| count_nodes(k) + count_nodes(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Resolve a plain scalar by the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::Int(i);
    }
    let numeric = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit());
    if numeric && let Ok(f) = text.parse::<f64>() {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

impl Builder {
    fn fail(&mut self, message: &str, mark: &Marker) {
        if self.error.is_none() {
            self.error = Some(Diagnostic::invalid(message.to_string()));
            self.error_at = span_of(mark);
        }
    }

    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(seq, _)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Value::Map(entries) = &mut map.value {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.fail("the pipeline file is too large (over 200,000 YAML nodes)", &mark);
            return;
        }
        let span = span_of(&mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let value = match (style, tag) {
                    (_, Some(tag)) if tag.suffix == "str" => Value::Str(text.clone()),
                    (TScalarStyle::Plain, _) => resolve_plain(&text),
                    _ => Value::Str(text.clone()),
                };
                let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
                let node = Node { value, span, raw: Some(text), block };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack
                    .push(Frame::Seq(Node { value: Value::Seq(Vec::new()), span, raw: None, block: false }, anchor));
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(
                    Node { value: Value::Map(Vec::new()), span, raw: None, block: false },
                    anchor,
                    None,
                ));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(node, anchor)) | Some(Frame::Map(node, anchor, _)) => (node, anchor),
                    None => return,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => {
                    self.nodes += count_nodes(&node);
                    if self.nodes > MAX_NODES {
                        self.fail("the pipeline file expands to over 200,000 YAML nodes through aliases", &mark);
                        return;
                    }
                    self.push_value(node);
                }
                None => self.fail("alias to an unknown anchor", &mark),
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_and_types() {
        let text = "name: demo\nsteps:\n  a:\n    plugin: sql\n    n: 007\n    f: 1.5\n    s: '12'\n    q: |\n      select 1\n";
        let root = parse(text, "p.yaml").unwrap();
        let plugin = root.get("steps").unwrap().get("a").unwrap().get("plugin").unwrap();
        assert_eq!(plugin.as_str(), Some("sql"));
        assert_eq!((plugin.span.line, plugin.span.column), (4, 13));
        let a = root.get("steps").unwrap().get("a").unwrap();
        assert_eq!(a.get("n").unwrap().value, Value::Int(7));
        assert_eq!(a.get("n").unwrap().raw.as_deref(), Some("007"));
        assert_eq!(a.get("f").unwrap().value, Value::Float(1.5));
        assert_eq!(a.get("s").unwrap().value, Value::Str("12".into()));
        assert!(a.get("q").unwrap().block);
        assert_eq!(a.key_node("plugin").unwrap().span, Span { line: 4, column: 5 });
    }

    #[test]
    fn syntax_error_has_a_position() {
        let err = parse("a: [1, 2\nb: 3\n", "p.yaml").unwrap_err();
        let loc = err.location.unwrap();
        assert_eq!(loc.file, "p.yaml");
        assert!(loc.line >= 1);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let err = parse(&text, "bomb.yaml").unwrap_err();
        assert!(err.message.contains("200,000"), "{}", err.message);
    }

    #[test]
    fn places_inside_a_scalar_are_places_in_the_file() {
        let text = "steps:\n  a:\n    q: |\n      SELECT x\n        FROM t\n    p: SELECT y FROM u\n    s: 'SELECT z'\n    e: \"a\\tb\"\n";
        let a = parse(text, "p.yaml").unwrap().get("steps").unwrap().get("a").unwrap().clone();
        let q = a.get("q").unwrap();
        // `x` is on the value's line 1, column 8; `t` on line 2, column 8 (behind two more spaces).
        assert_eq!(q.place_in_scalar(text, 1, 8), Some(Span { line: 4, column: 14 }));
        assert_eq!(q.place_in_scalar(text, 2, 8), Some(Span { line: 5, column: 14 }));
        assert_eq!(q.place_in_scalar(text, 3, 1), None, "the value has two lines");
        assert_eq!(q.place_in_scalar(text, 1, 30), None, "line 1 has 8 characters");
        assert_eq!(a.get("p").unwrap().place_in_scalar(text, 1, 8), Some(Span { line: 6, column: 15 }));
        assert_eq!(a.get("s").unwrap().place_in_scalar(text, 1, 8), Some(Span { line: 7, column: 16 }));
        assert_eq!(a.get("e").unwrap().place_in_scalar(text, 1, 1), None, "an escape: not written as it reads");
    }

    #[test]
    fn find_follows_paths() {
        let root = parse("a:\n  b:\n    - x\n    - y\n", "p.yaml").unwrap();
        let n = root.find(&[PathPart::Key("a".into()), PathPart::Key("b".into()), PathPart::Index(1)], false);
        assert_eq!(n.as_str(), Some("y"));
        assert_eq!(n.span.line, 4);
    }
}
