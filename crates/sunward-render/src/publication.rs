//! The publication rules of `metrics.md` for reports read outside the
//! organisation, as pure functions from raw figures to display cells:
//!
//! - a count from 1 to k−1 (k = 5 unless configured) is shown as `<k`; zero is
//!   shown as `0`;
//! - a rate or share whose numerator or denominator is such a count is
//!   withheld (`—`);
//! - complementary suppression: in a table with totals, every row or column
//!   sum that holds exactly one hidden count gets a second one hidden — the
//!   smallest non-zero visible count of that line, a body cell before the
//!   total on a tie — repeated until no such line is left, so that no hidden
//!   count can be recovered by subtracting the visible ones from the total;
//! - a note ([`Rules::note`], Chinese or English), said once per document,
//!   says that figures under k are withheld and why;
//! - a table carrying a `student_ref` column is refused outright
//!   ([`refuse_identifying_columns`]).
//!
//! Complementary suppression here is the rule as written, line by line,
//! within one table. What a reader can work out across tables, levels of
//! the hierarchy, periods and documents is the business of
//! [`disclosure`](crate::disclosure), whose withheld counts reach a table as
//! [`Figure::Hidden`].

use std::collections::BTreeSet;

use crate::document::{Cell, Column, Lang, Table};
use crate::numbers::format_number;

/// Column names that never appear in a published table.
pub const IDENTIFYING_COLUMNS: &[&str] = &["student_ref"];

/// The publication settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Counts from 1 to `k − 1` are hidden. `metrics.md`'s default is 5.
    pub k: u64,
    /// What a withheld rate or complementary cell shows: `—`.
    pub withheld_marker: String,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules::new(5)
    }
}

/// A raw figure of a table before the rules are applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// A count of students, cases, attendances… (subject to `<k`).
    Count(u64),
    /// A count already withheld by a wider rule (the whole table of figures
    /// the document draws on, [`disclosure`](crate::disclosure)): hidden
    /// from the start, shown as the withheld marker.
    Hidden(u64),
    /// A rate or share with the counts it was computed from.
    Rate {
        /// The count on top (e.g. incidents).
        numerator: u64,
        /// The count below (e.g. enrolment).
        denominator: u64,
        /// The rate's value, for charts and checks.
        value: f64,
        /// How it is shown when published, e.g. `2.8` or `55%`.
        display: String,
    },
    /// Anything else, passed through unchanged (names, labels, figures the
    /// rules do not apply to).
    Other(Cell),
}

impl Figure {
    /// A text cell (a school's name).
    pub fn text(s: impl Into<String>) -> Figure {
        Figure::Other(Cell::Text(s.into()))
    }

    fn count(&self) -> Option<u64> {
        match self {
            Figure::Count(n) | Figure::Hidden(n) => Some(*n),
            _ => None,
        }
    }
}

/// A table of raw figures: what a report step builds before publication.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTable {
    /// The table's name in the pipeline (for error messages).
    pub name: String,
    /// The caption shown above it.
    pub caption: Option<String>,
    /// The displayed columns.
    pub columns: Vec<Column>,
    /// The body rows.
    pub rows: Vec<Vec<Figure>>,
    /// A totals row: in each column where it holds a [`Figure::Count`], that
    /// count is the sum of the column's body counts.
    pub totals: Option<Vec<Figure>>,
    /// A totals column: in every row, the count in column `column` is the sum
    /// of the counts in columns `parts`.
    pub totals_column: Option<TotalsColumn>,
    /// A note under the table (the rules' note is said once per document,
    /// by the caller, not under every table).
    pub note: Option<String>,
}

/// Which column holds row totals, and of which columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsColumn {
    /// The column holding each row's total.
    pub column: usize,
    /// The columns it adds up.
    pub parts: Vec<usize>,
}

/// What the rules did to a table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Counts shown as `<k`.
    pub suppressed: usize,
    /// Rates withheld because of a small numerator or denominator.
    pub withheld_rates: usize,
    /// Counts withheld by complementary suppression.
    pub complementary: usize,
}

impl Outcome {
    /// Whether anything was hidden (and the note is due).
    pub fn any(&self) -> bool {
        self.suppressed + self.withheld_rates + self.complementary > 0
    }
}

/// Why a table cannot be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicationError {
    /// The table holds a column that identifies students.
    IdentifyingColumn {
        /// The table's name.
        table: String,
        /// The offending column.
        column: String,
    },
    /// A row has the wrong number of cells, or totals point outside the table.
    Shape {
        /// The table's name.
        table: String,
        /// What is wrong.
        detail: String,
    },
}

impl std::fmt::Display for PublicationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublicationError::IdentifyingColumn { table, column } => write!(
                f,
                "table \"{table}\" has a column \"{column}\" that identifies students; \
                 a published report never shows it (drop the column in the query)"
            ),
            PublicationError::Shape { table, detail } => write!(f, "table \"{table}\": {detail}"),
        }
    }
}

impl std::error::Error for PublicationError {}

/// Refuses a table whose columns include one of [`IDENTIFYING_COLUMNS`]
/// (compared case-insensitively, surrounding spaces ignored); the error
/// names the table and the column.
pub fn refuse_identifying_columns<S: AsRef<str>>(table: &str, columns: &[S]) -> Result<(), PublicationError> {
    for column in columns {
        let name = column.as_ref().trim();
        if IDENTIFYING_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            return Err(PublicationError::IdentifyingColumn { table: table.to_string(), column: name.to_string() });
        }
    }
    Ok(())
}

impl Rules {
    /// Rules with threshold `k` (counts 1..k−1 hidden). `k` below 1 acts as 1
    /// (nothing hidden).
    pub fn new(k: u64) -> Rules {
        Rules { k: k.max(1), withheld_marker: "—".to_string() }
    }

    /// Whether a count is hidden: 1 ≤ n < k.
    pub fn is_small(&self, n: u64) -> bool {
        n >= 1 && n < self.k
    }

    /// What a small count shows: `<5`.
    pub fn marker(&self) -> String {
        format!("<{}", self.k)
    }

    /// A count as published: `<k` for 1..k−1, the number otherwise.
    pub fn count(&self, n: u64) -> Cell {
        if self.is_small(n) {
            Cell::Suppressed(self.marker())
        } else {
            Cell::Number { value: n as f64, display: format_number(n as f64) }
        }
    }

    /// A rate as published: withheld when its numerator or denominator is a
    /// small count, otherwise shown as `display`.
    pub fn rate(&self, numerator: u64, denominator: u64, value: f64, display: &str) -> Cell {
        if self.is_small(numerator) || self.is_small(denominator) {
            Cell::Withheld(self.withheld_marker.clone())
        } else {
            Cell::Number { value, display: display.to_string() }
        }
    }

    /// The note a report carries, once, when the rules hid anything.
    pub fn note(&self, lang: Lang) -> String {
        let k = self.k;
        match lang {
            Lang::ZhCn => format!(
                "注：为保护学生隐私，小于{k}的非零人数、人次、个案数和事件数显示为“<{k}”，以这类数字为分子或分母的比率不予公布（“{w}”）；\
                 为免把不同表格、不同学校或不同时段的数字相加减而推算出被隐去的数字，另有少数数字一并隐去（“{w}”）。\
                 场次、次数、天数等不计人的数字照常公布。",
                w = self.withheld_marker
            ),
            Lang::En => format!(
                "Note: to protect students' privacy, counts of students, attendances, cases and incidents from 1 to {} \
                 are shown as \"<{k}\", and rates and shares based on them are withheld (\"{w}\"). A few other figures are \
                 withheld as well (\"{w}\"), so that a hidden count cannot be worked out by adding or subtracting figures \
                 of other tables, other schools or other periods. Counts of sessions, classes and days, which count no \
                 person, are shown in full.",
                k - 1,
                w = self.withheld_marker
            ),
        }
    }

    /// Applies the rules to a table: small counts, rates on them, and
    /// complementary suppression along every totals equation. The note
    /// explaining the rules is the document's, said once.
    pub fn publish(&self, raw: &RawTable) -> Result<(Table, Outcome), PublicationError> {
        let grid = checked_grid(raw)?;
        let counts: Vec<Vec<Option<u64>>> = grid.iter().map(|row| row.iter().map(Figure::count).collect()).collect();
        let lines = totals_lines(raw, &counts);
        let total_cells: BTreeSet<(usize, usize)> = lines.iter().filter_map(|l| l.last().copied()).collect();
        let primary = self.small_cells(&counts);
        let already = hidden_cells(&grid);
        let hidden = complementary(&counts, &lines, &primary.union(&already).copied().collect(), &total_cells);

        let mut outcome = Outcome::default();
        let mut out_rows: Vec<Vec<Cell>> = grid
            .iter()
            .enumerate()
            .map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .map(|(c, fig)| {
                        self.publish_figure(fig, primary.contains(&(r, c)), hidden.contains(&(r, c)), &mut outcome)
                    })
                    .collect()
            })
            .collect();
        let totals = raw.totals.as_ref().map(|_| out_rows.pop().unwrap_or_default());
        Ok((
            Table {
                caption: raw.caption.clone(),
                columns: raw.columns.clone(),
                rows: out_rows,
                totals,
                note: raw.note.clone(),
            },
            outcome,
        ))
    }

    /// The cells holding a small count.
    fn small_cells(&self, counts: &[Vec<Option<u64>>]) -> BTreeSet<(usize, usize)> {
        counts
            .iter()
            .enumerate()
            .flat_map(|(r, row)| row.iter().enumerate().map(move |(c, v)| ((r, c), *v)))
            .filter(|(_, v)| v.is_some_and(|n| self.is_small(n)))
            .map(|(rc, _)| rc)
            .collect()
    }

    /// One figure as published, counted in `outcome`: a small count
    /// (`primary`) as `<k`, a count hidden beside one (`hidden`) or hidden
    /// before as withheld, a rate by [`Rules::rate`], anything else as it is.
    fn publish_figure(&self, fig: &Figure, primary: bool, hidden: bool, outcome: &mut Outcome) -> Cell {
        match fig {
            Figure::Count(n) if primary => {
                outcome.suppressed += 1;
                self.count(*n)
            }
            Figure::Count(_) if hidden => {
                outcome.complementary += 1;
                Cell::Withheld(self.withheld_marker.clone())
            }
            Figure::Count(n) => self.count(*n),
            Figure::Hidden(_) => {
                outcome.complementary += 1;
                Cell::Withheld(self.withheld_marker.clone())
            }
            Figure::Rate { numerator, denominator, value, display } => {
                let cell = self.rate(*numerator, *denominator, *value, display);
                if cell.is_hidden() {
                    outcome.withheld_rates += 1;
                }
                cell
            }
            Figure::Other(cell) => cell.clone(),
        }
    }
}

/// The table's rows, its totals row last, once every row is checked to have
/// a cell per column and the totals column to name columns that exist.
fn checked_grid(raw: &RawTable) -> Result<Vec<&Vec<Figure>>, PublicationError> {
    let shape = |detail: String| PublicationError::Shape { table: raw.name.clone(), detail };
    let n_cols = raw.columns.len();
    let mut grid: Vec<&Vec<Figure>> = raw.rows.iter().collect();
    if let Some(totals) = &raw.totals {
        grid.push(totals);
    }
    for (r, row) in grid.iter().enumerate() {
        if row.len() != n_cols {
            return Err(shape(format!("row {} has {} cells for {n_cols} columns", r + 1, row.len())));
        }
    }
    if let Some(tc) = &raw.totals_column
        && let Some(bad) = std::iter::once(tc.column).chain(tc.parts.iter().copied()).find(|c| *c >= n_cols)
    {
        return Err(shape(format!("totals column refers to column {} of {n_cols}", bad + 1)));
    }
    Ok(grid)
}

/// The table's totals equations over its counts, each a list of cells whose
/// last is the total: along each row whose totals column holds a count
/// (its parts that hold one), then down each column the totals row holds a
/// count in.
fn totals_lines(raw: &RawTable, counts: &[Vec<Option<u64>>]) -> Vec<Vec<(usize, usize)>> {
    let mut lines = Vec::new();
    if let Some(tc) = &raw.totals_column {
        for (r, row) in counts.iter().enumerate() {
            if row[tc.column].is_some() {
                let mut line: Vec<(usize, usize)> =
                    tc.parts.iter().filter(|c| row[**c].is_some()).map(|c| (r, *c)).collect();
                line.push((r, tc.column));
                lines.push(line);
            }
        }
    }
    if raw.totals.is_some() {
        let last = counts.len() - 1;
        for (c, total) in counts[last].iter().enumerate() {
            if total.is_some() {
                lines.push((0..=last).filter(|r| counts[*r][c].is_some()).map(|r| (r, c)).collect());
            }
        }
    }
    lines
}

/// The cells a caller already hid ([`Figure::Hidden`]).
fn hidden_cells(grid: &[&Vec<Figure>]) -> BTreeSet<(usize, usize)> {
    grid.iter()
        .enumerate()
        .flat_map(|(r, row)| row.iter().enumerate().map(move |(c, f)| ((r, c), f)))
        .filter(|(_, f)| matches!(f, Figure::Hidden(_)))
        .map(|(rc, _)| rc)
        .collect()
}

/// Complementary suppression over `lines` (each a list of cells whose last
/// one is the total of the others). Starting from `primary`, while some line
/// holds exactly one hidden cell, hides that line's smallest non-zero
/// visible count (body cells before totals on equal values, then the first
/// in line order). Returns every hidden cell, primary ones included.
pub fn complementary(
    counts: &[Vec<Option<u64>>],
    lines: &[Vec<(usize, usize)>],
    primary: &BTreeSet<(usize, usize)>,
    totals: &BTreeSet<(usize, usize)>,
) -> BTreeSet<(usize, usize)> {
    let mut hidden = primary.clone();
    loop {
        let mut changed = false;
        for line in lines {
            if line.iter().filter(|rc| hidden.contains(rc)).count() != 1 {
                continue;
            }
            let pick = line
                .iter()
                .enumerate()
                .filter(|(_, rc)| !hidden.contains(rc))
                .filter_map(|(i, rc)| {
                    let v = counts[rc.0][rc.1]?;
                    (v > 0).then_some(((v, totals.contains(rc), i), *rc))
                })
                .min_by_key(|(key, _)| *key);
            if let Some((_, rc)) = pick {
                hidden.insert(rc);
                changed = true;
            }
        }
        if !changed {
            return hidden;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: u64) -> Figure {
        Figure::Count(n)
    }

    fn shown(table: &Table) -> Vec<Vec<String>> {
        table
            .rows
            .iter()
            .chain(table.totals.iter())
            .map(|r| r.iter().map(|c| c.display().to_string()).collect())
            .collect()
    }

    #[test]
    fn small_counts_show_as_less_than_k_and_zero_stays() {
        let rules = Rules::default();
        assert_eq!(rules.count(0).display(), "0");
        assert_eq!(rules.count(1), Cell::Suppressed("<5".into()));
        assert_eq!(rules.count(4), Cell::Suppressed("<5".into()));
        assert_eq!(rules.count(5).display(), "5");
        let rules = Rules::new(10);
        assert_eq!(rules.count(9).display(), "<10");
        assert_eq!(rules.count(10).display(), "10");
        assert_eq!(Rules::new(0).count(1).display(), "1", "k = 0 hides nothing");
    }

    #[test]
    fn rates_on_small_counts_are_withheld() {
        let rules = Rules::default();
        // 3 incidents in 900 students: the rate would reveal the count.
        assert_eq!(rules.rate(3, 900, 3.33, "3.3"), Cell::Withheld("—".into()));
        // 2 of 3 improved: both counts small.
        assert_eq!(rules.rate(2, 3, 0.667, "67%").display(), "—");
        // 6 of 4 students? the denominator alone is small.
        assert_eq!(rules.rate(6, 4, 1.5, "150%").display(), "—");
        // Zero events in 900: 0 is shown, so is its rate.
        assert_eq!(rules.rate(0, 900, 0.0, "0").display(), "0");
        assert_eq!(rules.rate(12, 900, 13.33, "13.3").display(), "13.3");
    }

    #[test]
    fn column_totals_get_a_complementary_cell() {
        // Incidents by school with a district total:
        //   甲 12, 乙 3 (<5), 丙 7, 丁 0, total 22.
        // 乙 alone hidden would be 22 − 12 − 7 − 0 = 3; the next smallest
        // non-zero count, 丙's 7, is withheld too. 丁's 0 is never a complement.
        let raw = RawTable {
            name: "incidents_by_school".into(),
            caption: None,
            columns: vec![Column::text("学校"), Column::numeric("事件数")],
            rows: vec![
                vec![Figure::text("甲校"), c(12)],
                vec![Figure::text("乙校"), c(3)],
                vec![Figure::text("丙校"), c(7)],
                vec![Figure::text("丁校"), c(0)],
            ],
            totals: Some(vec![Figure::text("合计"), c(22)]),
            totals_column: None,
            note: None,
        };
        let (table, outcome) = Rules::default().publish(&raw).unwrap();
        assert_eq!(shown(&table), [["甲校", "12"], ["乙校", "<5"], ["丙校", "—"], ["丁校", "0"], ["合计", "22"]]);
        assert_eq!(outcome, Outcome { suppressed: 1, withheld_rates: 0, complementary: 1 });
        assert_eq!(table.note, None, "the note is said once per document, not under each table");
    }

    #[test]
    fn complements_spread_across_rows_and_columns_until_stable() {
        // Sessions by school (rows) and type (columns), with both totals:
        //
        //            个案  团体  课堂 | 合计
        //   甲校       2    10    30 |  42
        //   乙校       8     6    20 |  34
        //   丙校      15     9    40 |  64
        //   合计      25    25    90 | 140
        //
        // Primary: 甲·个案 (2). Row 甲 has one hidden → hide 甲·团体 (10,
        // smallest non-zero). Column 个案 has one hidden → hide 乙·个案 (8).
        // Column 团体 now has 甲 hidden only → hide 乙·团体 (6). Row 乙 then
        // has 个案 and 团体 hidden: two, stable. Every line holds 0 or 2.
        let raw = RawTable {
            name: "sessions".into(),
            caption: Some("各校服务场次".into()),
            columns: vec![
                Column::text("学校"),
                Column::numeric("个案"),
                Column::numeric("团体"),
                Column::numeric("课堂"),
                Column::numeric("合计"),
            ],
            rows: vec![
                vec![Figure::text("甲校"), c(2), c(10), c(30), c(42)],
                vec![Figure::text("乙校"), c(8), c(6), c(20), c(34)],
                vec![Figure::text("丙校"), c(15), c(9), c(40), c(64)],
            ],
            totals: Some(vec![Figure::text("合计"), c(25), c(25), c(90), c(140)]),
            totals_column: Some(TotalsColumn { column: 4, parts: vec![1, 2, 3] }),
            note: Some("数据来源：服务记录。".into()),
        };
        let (table, outcome) = Rules::default().publish(&raw).unwrap();
        assert_eq!(
            shown(&table),
            [
                ["甲校", "<5", "—", "30", "42"],
                ["乙校", "—", "—", "20", "34"],
                ["丙校", "15", "9", "40", "64"],
                ["合计", "25", "25", "90", "140"],
            ]
        );
        assert_eq!(outcome.suppressed, 1);
        assert_eq!(outcome.complementary, 3);
        assert_eq!(table.note.as_deref(), Some("数据来源：服务记录。"), "the table's own note is kept as it is");
    }

    #[test]
    fn counts_withheld_by_the_whole_table_take_part_in_each_line() {
        // 乙 is withheld by the metrics table's pattern (a complement elsewhere): shown as —
        // and counted as hidden, so the line needs one more (丙 9, the smallest) but a line
        // that already holds a small count as well needs none.
        let table = |rows: Vec<Vec<Figure>>, total: u64| RawTable {
            name: "t".into(),
            caption: None,
            columns: vec![Column::text("学校"), Column::numeric("n")],
            rows,
            totals: Some(vec![Figure::text("合计"), c(total)]),
            totals_column: None,
            note: None,
        };
        let raw = table(
            vec![
                vec![Figure::text("甲"), c(12)],
                vec![Figure::text("乙"), Figure::Hidden(7)],
                vec![Figure::text("丙"), c(9)],
            ],
            28,
        );
        let (t, outcome) = Rules::default().publish(&raw).unwrap();
        assert_eq!(shown(&t), [["甲", "12"], ["乙", "—"], ["丙", "—"], ["合计", "28"]]);
        assert_eq!(outcome.complementary, 2);
        let raw = table(
            vec![
                vec![Figure::text("甲"), c(12)],
                vec![Figure::text("乙"), Figure::Hidden(7)],
                vec![Figure::text("丙"), c(3)],
            ],
            22,
        );
        let (t, _) = Rules::default().publish(&raw).unwrap();
        assert_eq!(shown(&t), [["甲", "12"], ["乙", "—"], ["丙", "<5"], ["合计", "22"]]);
    }

    #[test]
    fn a_small_total_is_hidden_as_well() {
        // Column: 0, 3, 0 with total 3. The only complement left is the total.
        let raw = RawTable {
            name: "t".into(),
            caption: None,
            columns: vec![Column::numeric("n")],
            rows: vec![vec![c(0)], vec![c(3)], vec![c(0)]],
            totals: Some(vec![c(3)]),
            totals_column: None,
            note: None,
        };
        let (table, _) = Rules::default().publish(&raw).unwrap();
        assert_eq!(shown(&table), [["0"], ["<5"], ["0"], ["<5"]], "the total 3 is itself small");
        let raw = RawTable { rows: vec![vec![c(0)], vec![c(3)], vec![c(0)], vec![c(0)]], ..raw };
        let (table, _) = Rules::default().publish(&raw).unwrap();
        assert_eq!(table.totals.unwrap()[0].display(), "<5");
    }

    #[test]
    fn total_is_complement_when_body_has_no_other_nonzero_count() {
        let raw = RawTable {
            name: "t".into(),
            caption: None,
            columns: vec![Column::numeric("n")],
            rows: vec![vec![c(0)], vec![c(2)], vec![c(0)], vec![c(0)]],
            totals: Some(vec![c(9)]),
            totals_column: None,
            note: None,
        };
        // Impossible sums are the caller's; the rule still hides the total 9.
        let (table, outcome) = Rules::default().publish(&raw).unwrap();
        assert_eq!(shown(&table), [["0"], ["<5"], ["0"], ["0"], ["—"]]);
        assert_eq!(outcome.complementary, 1);
    }

    #[test]
    fn tables_without_totals_get_primary_suppression_only() {
        let raw = RawTable {
            name: "t".into(),
            caption: None,
            columns: vec![Column::text("学校"), Column::numeric("事件"), Column::numeric("每千人")],
            rows: vec![
                vec![
                    Figure::text("甲"),
                    c(3),
                    Figure::Rate { numerator: 3, denominator: 800, value: 3.75, display: "3.8".into() },
                ],
                vec![
                    Figure::text("乙"),
                    c(11),
                    Figure::Rate { numerator: 11, denominator: 2000, value: 5.5, display: "5.5".into() },
                ],
            ],
            totals: None,
            totals_column: None,
            note: Some("n".into()),
        };
        let (table, outcome) = Rules::default().publish(&raw).unwrap();
        assert_eq!(shown(&table), [["甲", "<5", "—"], ["乙", "11", "5.5"]]);
        assert_eq!(outcome.withheld_rates, 1);
        assert_eq!(outcome.complementary, 0);
        assert!(table.totals.is_none());
    }

    #[test]
    fn nothing_hidden_means_nothing_counted() {
        let raw = RawTable {
            name: "t".into(),
            caption: None,
            columns: vec![Column::numeric("n")],
            rows: vec![vec![c(0)], vec![c(12)]],
            totals: Some(vec![c(12)]),
            totals_column: None,
            note: None,
        };
        let (table, outcome) = Rules::default().publish(&raw).unwrap();
        assert!(!outcome.any());
        assert_eq!(table.note, None);
    }

    #[test]
    fn shape_errors_name_the_table() {
        let raw = RawTable {
            name: "by_school".into(),
            caption: None,
            columns: vec![Column::numeric("n")],
            rows: vec![vec![c(1), c(2)]],
            totals: None,
            totals_column: None,
            note: None,
        };
        let err = Rules::default().publish(&raw).unwrap_err();
        assert_eq!(err.to_string(), "table \"by_school\": row 1 has 2 cells for 1 columns");
    }

    #[test]
    fn student_ref_columns_are_refused_by_name() {
        refuse_identifying_columns("by_school", &["school_id", "events"]).unwrap();
        let err = refuse_identifying_columns("high_risk", &["school_id", " Student_Ref "]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "table \"high_risk\" has a column \"Student_Ref\" that identifies students; \
             a published report never shows it (drop the column in the query)"
        );
    }

    #[test]
    fn notes_exist_in_both_languages() {
        let rules = Rules::new(10);
        assert!(rules.note(Lang::ZhCn).contains("小于10的非零人数、人次、个案数和事件数显示为“<10”"));
        assert!(rules.note(Lang::En).contains("cases and incidents from 1 to 9 are shown as \"<10\""));
    }
}
