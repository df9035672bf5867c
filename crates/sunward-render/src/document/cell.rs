//! A table cell as displayed ([`Cell`]: text, a figure, a suppressed or
//! withheld marker, or nothing), how it reads from and writes to JSON or
//! YAML, and a column's alignment ([`Align`]).

use serde::{Deserialize, Serialize};

use crate::numbers::format_number;

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    /// Left-aligned text.
    #[default]
    Text,
    /// Right-aligned figures.
    Numeric,
}

/// One table cell, as displayed.
///
/// In JSON or YAML a cell is a string (text), a number (shown as written by
/// [`format_number`]), or a one-key map: `{number: 2.8, display: "2.8"}`,
/// `{suppressed: "<5"}`, `{withheld: "—"}`, or the string-less `"empty"`
/// spelled `{empty: null}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A figure: its value (for charts and checks) and how it is displayed.
    Number {
        /// The value.
        value: f64,
        /// The displayed form, e.g. `2.8` or `55%`.
        display: String,
    },
    /// A small count hidden by the publication rules; shows its marker (`<5`).
    Suppressed(String),
    /// A figure withheld by the publication rules (a rate on a small count,
    /// or a complementary cell); shows its marker (`—`).
    Withheld(String),
    /// No figure (not applicable, e.g. a zero denominator).
    Empty,
}

impl Cell {
    /// A number displayed by [`format_number`].
    pub fn number(value: f64) -> Cell {
        Cell::Number { value, display: format_number(value) }
    }

    /// The text a renderer shows for this cell.
    pub fn display(&self) -> &str {
        match self {
            Cell::Text(s) | Cell::Suppressed(s) | Cell::Withheld(s) => s,
            Cell::Number { display, .. } => display,
            Cell::Empty => "",
        }
    }

    /// Whether the publication rules hid this cell's figure.
    pub fn is_hidden(&self) -> bool {
        matches!(self, Cell::Suppressed(_) | Cell::Withheld(_))
    }
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Cell::Text(s) => serializer.serialize_str(s),
            Cell::Number { value, display } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("number", value)?;
                map.serialize_entry("display", display)?;
                map.end()
            }
            Cell::Suppressed(s) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("suppressed", s)?;
                map.end()
            }
            Cell::Withheld(s) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("withheld", s)?;
                map.end()
            }
            Cell::Empty => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("empty", &())?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Cell, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        enum Tagged {
            Text(String),
            Suppressed(String),
            Withheld(String),
            Empty(()),
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Num {
            number: f64,
            display: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Int(i64),
            Float(f64),
            Num(Num),
            Tagged(Tagged),
        }
        let repr = Repr::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "a table cell is a string, a number, {number: N, display: \"…\"}, \
                 {text: \"…\"}, {suppressed: \"<5\"}, {withheld: \"—\"} or {empty: null}",
            )
        })?;
        Ok(match repr {
            Repr::Text(s) => Cell::Text(s),
            Repr::Int(i) => Cell::number(i as f64),
            Repr::Float(f) => Cell::number(f),
            Repr::Num(Num { number, display }) => {
                Cell::Number { value: number, display: display.unwrap_or_else(|| format_number(number)) }
            }
            Repr::Tagged(Tagged::Text(s)) => Cell::Text(s),
            Repr::Tagged(Tagged::Suppressed(s)) => Cell::Suppressed(s),
            Repr::Tagged(Tagged::Withheld(s)) => Cell::Withheld(s),
            Repr::Tagged(Tagged::Empty(())) => Cell::Empty,
        })
    }
}
