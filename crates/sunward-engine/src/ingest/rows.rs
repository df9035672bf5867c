//! Judging one row cell by cell: the rules every row must satisfy
//! ([`Rules`]), shared with the column-wise pass (module `columns`), and the
//! exact rejects of a bad row — its place, column, rule and original text —
//! including the reject of a duplicate key.

use super::key_hash::stored_place;
use super::layout::{Column, Layout};
use super::outcome::Reject;
use super::values::{Typed, effective_cell, type_cell};
use chrono::NaiveDate;
use std::collections::HashSet;
use sunward_core::model::ShortRows;
use sunward_core::plugin::cell_of_array;
use sunward_core::{RawBatch, RawCell, RawRow, RowPlace, excerpt};

/// The largest field allowed, in bytes of UTF-8.
pub const MAX_FIELD_BYTES: usize = 1_048_576;

/// The reject of a row whose key the row at place number `first` claimed
/// before it: the rule a whole-table load gives such a row.
pub fn duplicate_reject(like: &RowPlace, place: u64, names: &str, shown: &str, first: u64) -> Reject {
    duplicate(&place_like(like, place), names.to_string(), shown.to_string(), stored_place(first))
}

/// Where the first row holding a key is, for a duplicate's rule text.
fn first_at(place: &RowPlace, first: u32) -> String {
    if first == u32::MAX {
        "earlier in the file".to_string()
    } else {
        format!("at {}", place_like(place, u64::from(first)))
    }
}

/// The rule text for a code outside its list, pointing at `values:` when the text is a known label.
fn code_rule(column: &str, value: &str, codes: &[&str], labels: &[(&str, &str)]) -> String {
    match labels.iter().find(|(label, _)| *label == value) {
        Some((label, code)) => format!(
            "\"{label}\" is not a valid {column} code; it is the label of `{code}`: map it with `values: {{{column}: {{{label}: {code}}}}}`"
        ),
        None => format!("\"{}\" is not a valid {column} code; expected one of {}", excerpt(value), codes.join(", ")),
    }
}

/// The number of a row's place: its line, sheet row or record.
pub(super) fn place_number(place: &RowPlace) -> u64 {
    match place {
        RowPlace::Line(n) | RowPlace::Record(n) | RowPlace::Sheet { row: n, .. } => *n,
    }
}

/// The place numbered `n` in the same file (and sheet) as `place`.
fn place_like(place: &RowPlace, n: u64) -> RowPlace {
    match place {
        RowPlace::Line(_) => RowPlace::Line(n),
        RowPlace::Record(_) => RowPlace::Record(n),
        RowPlace::Sheet { sheet, .. } => RowPlace::Sheet { sheet: sheet.clone(), row: n },
    }
}

/// The original text of a file column of `row`.
pub(super) fn cell_text(row: &RawRow, source: Option<usize>) -> String {
    source.and_then(|i| row.cells.get(i)).map(RawCell::original_text).unwrap_or_default()
}

/// Everything that decides whether a row is good, shared by the column-wise
/// pass (module `columns`) and the row-wise one that explains bad rows.
pub(super) struct Rules<'a> {
    pub(super) columns: &'a [Column],
    pub(super) layout: &'a Layout,
    pub(super) header_count: usize,
    pub(super) short_rows: ShortRows,
    /// Dates of a contract table must lie in `earliest..=latest` (days since the epoch).
    pub(super) contract_dates: Option<(i32, i32)>,
    pub(super) as_of: NaiveDate,
    /// Pairs of columns (by position) whose dates must not go backwards.
    pub(super) ordered: Vec<(usize, usize)>,
    /// Groups of columns of which a row sets exactly one: each column's name and position
    /// (none when the file has no such column, which is then empty in every row).
    pub(super) one_of: Vec<Vec<(&'static str, Option<usize>)>>,
    /// For each column, the key values its references must be among (when checked).
    pub(super) held: Vec<Option<&'a HashSet<String>>>,
    /// The unique key's columns, by position (a contract table has one key at most).
    pub(super) unique: Option<Vec<usize>>,
}

impl Rules<'_> {
    /// Judge one row cell by cell: its typed values (a bad cell is null) and
    /// every rule it breaks except unique keys, in the order they are reported.
    pub(super) fn check_row(&self, row: &RawRow) -> (Vec<Typed>, Vec<Reject>) {
        let mut broken: Vec<Reject> = Vec::new();
        let mut values: Vec<Typed> = Vec::with_capacity(self.columns.len());
        if let Some(unreadable) = self.unreadable(row) {
            broken.push(unreadable);
            return (values, broken);
        }
        let bad_fields = self.bad_fields(row, &mut broken);
        for (c, held) in self.columns.iter().zip(&self.held) {
            if c.source.is_some_and(|i| bad_fields.contains(&i)) {
                values.push(Typed::Null);
                continue;
            }
            values.push(self.check_cell(c, *held, row, &mut broken));
        }
        self.check_ordered(row, &values, &mut broken);
        self.check_one_of(row, &values, &mut broken);
        (values, broken)
    }

    /// The reject of a row that cannot be read field by field: a record the
    /// reader found malformed, or one with more fields than the header (or
    /// fewer, when short rows are rejected).
    #[inline]
    fn unreadable(&self, row: &RawRow) -> Option<Reject> {
        // The reader gives the record's original text as its cells.
        let text = || row.cells.iter().map(RawCell::original_text).collect::<Vec<String>>().join(",");
        if let Some(reason) = &row.malformed {
            return Some(reject(row, "", reason.clone(), text()));
        }
        let count = self.header_count;
        if row.cells.len() > count || (row.cells.len() < count && self.short_rows == ShortRows::Reject) {
            return Some(reject(row, "", format!("{} fields, the header has {count}", row.cells.len()), text()));
        }
        None
    }

    /// Fields too long or holding NUL, reported under the column they would
    /// fill: their file columns, each one's reject added to `broken`.
    #[inline]
    fn bad_fields(&self, row: &RawRow, broken: &mut Vec<Reject>) -> Vec<usize> {
        let mut bad_fields: Vec<usize> = Vec::new();
        for (i, cell) in row.cells.iter().enumerate() {
            if let RawCell::Text(t) = cell {
                let (rule, value) = if t.len() > MAX_FIELD_BYTES {
                    (format!("field longer than {MAX_FIELD_BYTES} bytes"), t.chars().take(80).collect())
                } else if t.contains('\0') {
                    ("field contains a NUL character".to_string(), t.replace('\0', "\\0"))
                } else {
                    continue;
                };
                bad_fields.push(i);
                broken.push(reject(row, &self.layout.header_name(i), rule, value));
            }
        }
        bad_fields
    }

    /// Type column `c`'s cell of `row` and check it against the column's
    /// rules, adding each rule broken to `broken`: the typed value, or null
    /// when the cell is empty or breaks a rule. `held` is the key values
    /// its reference must be among (when checked).
    #[inline]
    fn check_cell(&self, c: &Column, held: Option<&HashSet<String>>, row: &RawRow, broken: &mut Vec<Reject>) -> Typed {
        let original = cell_text(row, c.source);
        let cell = c.source.and_then(|i| row.cells.get(i)).unwrap_or(&RawCell::Empty);
        let typed = match type_cell(&effective_cell(cell, c.values.as_ref()), c.ty) {
            Ok(v) => v,
            Err(rule) => {
                broken.push(reject(row, &c.name, rule, original));
                return Typed::Null;
            }
        };
        if typed == Typed::Null {
            if c.required {
                broken.push(reject(row, &c.name, "missing required value".into(), original));
            }
            return Typed::Null;
        }
        let before = broken.len();
        self.check_value(c, held, &typed, row, &original, broken);
        if broken.len() == before { typed } else { Typed::Null }
    }

    /// Check a typed, non-null value of column `c` against its code list,
    /// bounds, the contract's date window and its reference; `original` is
    /// the cell's text as the file wrote it.
    #[inline]
    fn check_value(
        &self,
        c: &Column,
        held: Option<&HashSet<String>>,
        typed: &Typed,
        row: &RawRow,
        original: &str,
        broken: &mut Vec<Reject>,
    ) {
        if let (Some(codes), Typed::Str(s)) = (c.codes, typed)
            && !codes.contains(&s.as_str())
        {
            broken.push(reject(row, &c.name, code_rule(&c.name, s, codes, c.labels), original.to_string()));
        }
        if let (Some(min), Some(v)) = (c.min, typed.number())
            && v < min
        {
            let rule = if min == 0.0 { "negative number".to_string() } else { format!("less than {min}") };
            broken.push(reject(row, &c.name, rule, original.to_string()));
        }
        if let (Some(max), Some(v)) = (c.max, typed.number())
            && v > max
        {
            broken.push(reject(row, &c.name, format!("more than {max}"), original.to_string()));
        }
        if let (Typed::Date(d), Some((earliest, latest))) = (typed, self.contract_dates) {
            if *d < earliest {
                broken.push(reject(row, &c.name, "date before 2000-01-01".into(), original.to_string()));
            } else if *d > latest {
                let rule = format!("date more than a year after as_of ({})", self.as_of);
                broken.push(reject(row, &c.name, rule, original.to_string()));
            }
        }
        if let (Some((table, _)), Some(held), Typed::Str(s)) = (c.references, held, typed)
            && !held.contains(s)
        {
            broken.push(reject(row, &c.name, format!("{} \"{s}\" is not in {table}", c.name), original.to_string()));
        }
    }

    /// Pairs of dates that go backwards: reported under the later column.
    #[inline]
    fn check_ordered(&self, row: &RawRow, values: &[Typed], broken: &mut Vec<Reject>) {
        let columns = self.columns;
        for (a, b) in &self.ordered {
            if let (Some(Typed::Date(x)), Some(Typed::Date(y)), Some(ca), Some(cb)) =
                (values.get(*a), values.get(*b), columns.get(*a), columns.get(*b))
                && y < x
            {
                broken.push(reject(
                    row,
                    &cb.name,
                    format!("{} before {}", cb.name, ca.name),
                    cell_text(row, cb.source),
                ));
            }
        }
    }

    /// Groups of which a row must set exactly one, set none or several times.
    #[inline]
    fn check_one_of(&self, row: &RawRow, values: &[Typed], broken: &mut Vec<Reject>) {
        let columns = self.columns;
        for group in &self.one_of {
            // Set as written: a value broken by another rule still counts as given.
            let written = |i: usize| {
                values.get(i).is_some_and(|v| *v != Typed::Null)
                    || columns.get(i).is_some_and(|c| !cell_text(row, c.source).trim().is_empty())
            };
            let set: Vec<&(&str, Option<usize>)> = group.iter().filter(|(_, at)| at.is_some_and(written)).collect();
            if set.len() == 1 {
                continue;
            }
            let names: Vec<&str> = group.iter().map(|(name, _)| *name).collect();
            // Reported under the first column, or the second one set.
            let (column, at) = if set.is_empty() { group[0] } else { *set[1] };
            let rule = if set.is_empty() {
                format!("none of {} is set: a row names exactly one", names.join(", "))
            } else {
                let both: Vec<&str> = set.iter().map(|(name, _)| *name).collect();
                let all = if both.len() == 2 { "both" } else { "all" };
                format!("{} are {all} set: a row names exactly one", both.join(" and "))
            };
            let original = at.and_then(|i| columns.get(i)).map(|c| cell_text(row, c.source)).unwrap_or_default();
            broken.push(reject(row, column, rule, original));
        }
    }
}

/// One broken rule of `row`, under `column`.
#[inline]
fn reject(row: &RawRow, column: &str, rule: String, value: String) -> Reject {
    Reject { place: row.place.clone(), column: column.to_string(), rule, value }
}

/// The record in slot `i` of a raw batch, cell by cell.
pub(super) fn slot_row(raw: &RawBatch, i: usize) -> RawRow {
    if let Ok(k) = raw.rows.binary_search_by_key(&i, |(slot, _)| *slot)
        && let Some((_, row)) = raw.rows.get(k)
    {
        return row.clone();
    }
    let cells = raw.columns.iter().map(|c| cell_of_array(c.as_ref(), i)).collect();
    RawRow { place: raw.place(i), cells, malformed: None }
}

/// The reject of a row whose key the row numbered `first` claimed.
pub(super) fn duplicate(place: &RowPlace, names: String, shown: String, first: u32) -> Reject {
    Reject {
        place: place.clone(),
        rule: format!("duplicate {names} (first {})", first_at(place, first)),
        column: names,
        value: shown,
    }
}
