//! The publication pass over a rendered document, for reports read outside
//! the organisation (`metrics.md`, "Publication rules").
//!
//! Figures from the metrics table arrive typed ([`typed`](super::typed)): a
//! cell holding one count takes part in the rules as that count, and every
//! other figure — in a cell, a sentence, a tile, a caption — is shown,
//! suppressed or withheld by its type once the tables are done. Numbers a
//! template writes from `tables.*` are untyped: in a table's right-aligned
//! columns a cell written as digits only (`134`) is a count and anything
//! else (`2.8`, `55%`, a `withhold`ed `—`) is already formatted. The tables
//! go through [`Rules::publish`]: small counts become `<k`, and
//! along the totals row (a bold first cell) and a totals column (headed
//! 合计, 总计 or Total) a second count is withheld so no hidden count can be
//! recovered by subtraction. A totals line is treated as one even when the
//! figures do not add up exactly (a distinct count above school level): that
//! hides more, never less. Bar charts lose bars of small counts; funnel plots
//! lose points whose events or enrolment are small counts, or — for a point
//! pooling several periods (`counts`) — whose counts would give a hidden one
//! back (their overall rate is kept from all points); a chart left with
//! nothing becomes a sentence, and a funnel that lost points gets a note
//! counting them. In a row where a count is hidden, the row's untyped
//! figures that are not counts (its rates) are withheld too, and a chart
//! drops the bar or point labelled like that row. Every table is refused
//! when a column is headed `student_ref`, whatever the audience.

use std::collections::{BTreeMap, BTreeSet};
use sunward_render::disclosure::Pattern;
use sunward_render::publication::{Figure, RawTable, Rules, TotalsColumn, refuse_identifying_columns};
use sunward_render::{Align, Block, Cell, Chart, Document};

use super::typed::{self, Kind, Piece, Record, Settle, Verdict};

/// Headers of a totals column.
const TOTALS_HEADERS: &[&str] = &["合计", "总计", "total", "totals"];

/// Why a document cannot be published.
pub type Refusal = String;

/// Refuses a document with an identifying column in any table.
pub fn refuse_identifying(doc: &Document) -> Result<(), Refusal> {
    for (i, block) in doc.blocks.iter().enumerate() {
        if let Block::Table(table) = block {
            let titles: Vec<&str> = table.columns.iter().map(|c| c.title.as_str()).collect();
            let name = table.caption.clone().unwrap_or_else(|| format!("table {}", i + 1));
            refuse_identifying_columns(&name, &titles).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn is_count_text(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == ',')
}

fn figure_of(cell: &Cell, numeric: bool) -> Figure {
    match cell {
        Cell::Number { value, display } if numeric && is_count_text(display) => Figure::Count(*value as u64),
        other => Figure::Other(other.clone()),
    }
}

/// The typed count a cell holds alone (one token of a whole count), if any.
fn lone_count<'r>(cell: &Cell, records: &'r [Record]) -> Option<&'r Record> {
    records.get(lone_token(cell, records)?)
}

/// The number of the typed count a cell holds alone, if any.
fn lone_token(cell: &Cell, records: &[Record]) -> Option<usize> {
    let text = typed::cell_text(cell)?;
    match typed::pieces(text).as_slice() {
        [Piece::Token(id, _)] => {
            let record = records.get(*id)?;
            (record.kind == Kind::Count && record.value.fract() == 0.0 && record.value >= 0.0).then_some(*id)
        }
        _ => None,
    }
}

/// A cell as the rules see it: a typed count as that count (already hidden
/// when the table's pattern withholds it); any other cell holding tokens is
/// left for [`settle_document`]; an untyped cell is read by [`figure_of`].
fn typed_figure_of(cell: &Cell, numeric: bool, records: &[Record], pattern: Option<&Pattern>) -> Figure {
    if let Some(record) = lone_count(cell, records) {
        let n = record.value as u64;
        if pattern.is_some_and(|p| p.complements.contains(&record.identity)) {
            return Figure::Hidden(n);
        }
        return Figure::Count(n);
    }
    match typed::cell_text(cell) {
        Some(text) if typed::has_token(text) => Figure::Other(Cell::Text(text.to_string())),
        _ => figure_of(cell, numeric),
    }
}

/// Resolves every token left in the document: table cells holding figures,
/// and every text a reader sees (title, headings, paragraphs, tiles,
/// captions, notes, chart labels).
pub fn settle_document(doc: &mut Document, settle: &mut Settle<'_>) {
    doc.title = settle.text(&doc.title);
    for text in doc.subtitle.iter_mut().chain(doc.meta.organisation.iter_mut()).chain(doc.meta.period.iter_mut()) {
        *text = settle.text(text);
    }
    for block in doc.blocks.iter_mut() {
        match block {
            Block::Heading { text, .. }
            | Block::Paragraph { text }
            | Block::Note { text }
            | Block::Attachment { title: text } => *text = settle.text(text),
            Block::RichParagraph { text, spans } => {
                settle_spans(spans, settle);
                *text = if spans.is_empty() { settle.text(text) } else { sunward_render::document::spans_text(spans) };
            }
            Block::List(list) => {
                for item in &mut list.items {
                    settle_spans(&mut item.spans, settle);
                    item.text = if item.spans.is_empty() {
                        settle.text(&item.text)
                    } else {
                        sunward_render::document::spans_text(&item.spans)
                    };
                }
            }
            Block::KeyFigures { tiles } => {
                for tile in tiles {
                    tile.label = settle.text(&tile.label);
                    tile.value = settle.text(&tile.value);
                    if settle.group_digits {
                        tile.value = typed::group_thousands(&tile.value);
                    }
                    if let Some(note) = &mut tile.note {
                        *note = settle.text(note);
                    }
                }
            }
            Block::Table(table) => {
                for text in table.caption.iter_mut().chain(table.note.iter_mut()) {
                    *text = settle.text(text);
                }
                for column in &mut table.columns {
                    column.title = settle.text(&column.title);
                }
                let numeric: Vec<bool> = table.columns.iter().map(|c| c.align == Align::Numeric).collect();
                for row in table.rows.iter_mut().chain(table.totals.iter_mut()) {
                    for (cell, numeric) in row.iter_mut().zip(&numeric) {
                        if let Some(text) = typed::cell_text(cell)
                            && typed::has_token(text)
                        {
                            *cell = settle.cell(text);
                        } else if let Cell::Number { display, .. } = cell
                            && settle.group_digits
                            && *numeric
                        {
                            // A whole figure written from `tables.*` (enrolment): grouped like the rest.
                            *display = typed::group_thousands(display);
                        }
                    }
                }
            }
            Block::Figure { caption, chart } => {
                *caption = settle.text(caption);
                settle_chart(chart, settle);
            }
            Block::PageBreak => {}
        }
    }
}

/// Resolves the tokens of styled text, piece by piece (a figure's token never spans two pieces).
fn settle_spans(spans: &mut [sunward_render::Span], settle: &mut Settle<'_>) {
    for span in spans {
        span.text = settle.text(&span.text);
    }
}

fn settle_chart(chart: &mut Chart, settle: &mut Settle<'_>) {
    let mut all = |texts: &mut dyn Iterator<Item = &mut String>| {
        for text in texts {
            *text = settle.text(text);
        }
    };
    match chart {
        Chart::Bar(bar) => {
            all(&mut bar.categories.iter_mut().chain(bar.labels.iter_mut().flatten()).chain(bar.unit.iter_mut()));
        }
        Chart::Line(line) => {
            all(&mut line.x.iter_mut().chain(line.labels.iter_mut().flatten()).chain(line.unit.iter_mut()));
        }
        Chart::Funnel(funnel) => {
            all(&mut funnel
                .points
                .iter_mut()
                .map(|p| &mut p.label)
                .chain(funnel.x_label.iter_mut())
                .chain(funnel.y_label.iter_mut()));
        }
    }
}

/// Applies the rules to the document; returns how many figures it hid.
///
/// Typed figures ([`typed`](super::typed)) are judged by their type: a
/// table cell holding one count token takes part in complementary
/// suppression as that count; a rate token is withheld exactly when a count
/// it rests on is hidden. Cells written without figures (numbers from
/// `tables.*`) are read as before: digits are counts, and a row with a hidden
/// count withholds its other figures.
pub fn publish(doc: &mut Document, rules: &Rules, settle: &mut Settle<'_>) -> Result<usize, Refusal> {
    let (mut hidden, raw_rows) = publish_tables(doc, rules, settle)?;
    let before = settle.withheld;
    settle_document(doc, settle);
    hidden += settle.withheld - before;
    let rows = HiddenRows::of(doc, &raw_rows);
    let trimmed = trim_charts(doc, rules, &rows);
    hidden += trimmed.dropped;
    replace_emptied_bars(doc, rules, &trimmed.emptied_bars);
    say_what_funnels_leave_out(doc, rules, &trimmed.unplaced);
    Ok(hidden)
}

/// The raw figures of each table's body rows, by block index.
type RawRows = Vec<(usize, Vec<Vec<Figure>>)>;

/// Applies the rules to every table of the document: how many figures they
/// hid, and each table's raw figures.
fn publish_tables(doc: &mut Document, rules: &Rules, settle: &mut Settle<'_>) -> Result<(usize, RawRows), Refusal> {
    let mut hidden = 0;
    let mut raw_rows: RawRows = Vec::new();
    for (i, block) in doc.blocks.iter_mut().enumerate() {
        if let Block::Table(table) = block {
            let (table_hidden, raw) = publish_table(i, table, rules, settle)?;
            hidden += table_hidden;
            raw_rows.push((i, raw));
        }
    }
    Ok((hidden, raw_rows))
}

/// Applies the rules to one table, the document's `i`th block, replacing it
/// with the table as published: how many figures it hid, and the raw
/// figures of its body rows.
fn publish_table(
    i: usize,
    table: &mut sunward_render::Table,
    rules: &Rules,
    settle: &mut Settle<'_>,
) -> Result<(usize, Vec<Vec<Figure>>), Refusal> {
    let name = table.caption.clone().unwrap_or_else(|| format!("table {}", i + 1));
    let numeric: Vec<bool> = table.columns.iter().map(|c| c.align == Align::Numeric).collect();
    let has_totals = table.totals.is_some() || totals_column(table).is_some();
    let premarked = table.rows.iter().chain(table.totals.iter()).flatten().any(|c| matches!(c, Cell::Suppressed(_)));
    if has_totals && premarked {
        return Err(format!(
            "table \"{name}\" has totals and cells already shown as \"<k\": write raw whole counts in tables \
                 (not `|count`), so that the second cell of each line can be withheld as well"
        ));
    }
    let convert = |row: &Vec<Cell>| {
        row.iter()
            .zip(&numeric)
            .map(|(c, n)| typed_figure_of(c, *n, settle.records, settle.pattern))
            .collect::<Vec<_>>()
    };
    let raw = RawTable {
        name: name.clone(),
        caption: table.caption.clone(),
        columns: table.columns.clone(),
        rows: table.rows.iter().map(convert).collect(),
        totals: table.totals.as_ref().map(convert),
        totals_column: totals_column(table),
        note: table.note.clone(),
    };
    let (mut published, outcome) = rules.publish(&raw).map_err(|e| e.to_string())?;
    let premarked_hidden = table.rows.iter().flatten().filter(|c| c.is_hidden()).count();
    let mut hidden = outcome.suppressed + outcome.withheld_rates + outcome.complementary + premarked_hidden;
    hidden += withhold_row_rates(&mut published, &numeric, rules);
    record_verdicts(table, &published, settle);
    *table = published;
    Ok((hidden, raw.rows))
}

/// Notes what became of each typed count a table held alone in a cell:
/// one hidden here (small, or the complement of one) is hidden everywhere.
fn record_verdicts(before: &sunward_render::Table, after: &sunward_render::Table, settle: &mut Settle<'_>) {
    let lines = before.rows.iter().zip(&after.rows).chain(before.totals.iter().zip(after.totals.iter()));
    let mut seen = Vec::new();
    for (before, after) in lines {
        for (cell, out) in before.iter().zip(after) {
            if let Some(id) = lone_token(cell, settle.records) {
                let verdict = match out {
                    Cell::Suppressed(_) => Verdict::Suppress,
                    c if c.is_hidden() => Verdict::Withhold,
                    _ => Verdict::Show,
                };
                seen.push((id, verdict, out.display().to_string()));
            }
            if out.is_hidden()
                && let Some(record) = lone_count(cell, settle.records)
            {
                settle.hidden.insert(record.identity.clone());
            }
        }
    }
    for (id, verdict, display) in seen {
        settle.saw(id, verdict, &display);
    }
}

/// The rows of the published tables that hid something, by their label
/// (first cell), for the charts that show the same rows.
#[derive(Default)]
struct HiddenRows {
    /// Rows with a hidden figure, and the figures of each such row: a chart
    /// bar with the same label and one of those values must go too (a bar
    /// with the same label but another figure — a topic's attendances beside
    /// a group domain of the same name — stays).
    labels: BTreeMap<String, Vec<f64>>,
    /// Rows whose count was withheld as a complement: a pooled point must not give it back.
    complements: BTreeSet<String>,
}

impl HiddenRows {
    /// The hidden rows of the published tables, read beside their raw figures.
    fn of(doc: &Document, raw_rows: &RawRows) -> HiddenRows {
        let mut rows = HiddenRows::default();
        for (i, raw) in raw_rows {
            let Some(Block::Table(table)) = doc.blocks.get(*i) else { continue };
            for (row, raw_row) in table.rows.iter().zip(raw) {
                let Some(Cell::Text(label)) = row.first() else { continue };
                if row.iter().any(Cell::is_hidden) {
                    let values = rows.labels.entry(label.clone()).or_default();
                    for figure in raw_row {
                        match figure {
                            Figure::Count(n) | Figure::Hidden(n) => values.push(*n as f64),
                            // A bar may show the rate, or either count it rests on.
                            Figure::Rate { value, numerator, denominator, .. } => {
                                values.extend([*value, *numerator as f64, *denominator as f64])
                            }
                            Figure::Other(_) => {}
                        }
                    }
                }
                let complement = row
                    .iter()
                    .zip(raw_row)
                    .any(|(cell, figure)| matches!((cell, figure), (Cell::Withheld(_), Figure::Count(_))));
                if complement {
                    rows.complements.insert(label.clone());
                }
            }
        }
        rows
    }
}

/// What the charts lost to the rules.
#[derive(Default)]
struct Trimmed {
    /// Bars and points dropped.
    dropped: usize,
    /// Bar charts that lost every bar, by block index: drawn empty they
    /// would look like missing data.
    emptied_bars: Vec<usize>,
    /// Points each funnel plot lost, in document order.
    unplaced: Vec<usize>,
}

/// Drops the bars and funnel points the rules hide (bar charts of tallies keep theirs).
fn trim_charts(doc: &mut Document, rules: &Rules, rows: &HiddenRows) -> Trimmed {
    let mut trimmed = Trimmed::default();
    for (i, block) in doc.blocks.iter_mut().enumerate() {
        match block {
            Block::Figure { chart: Chart::Bar(bar), .. } if !bar.tally => {
                let dropped = trim_bar(bar, rules, &rows.labels);
                if dropped > 0 {
                    trimmed.dropped += dropped;
                    if bar.categories.is_empty() {
                        trimmed.emptied_bars.push(i);
                    }
                }
            }
            Block::Figure { chart: Chart::Funnel(funnel), .. } => {
                let dropped = trim_funnel(funnel, rules, rows);
                trimmed.dropped += dropped;
                trimmed.unplaced.push(dropped);
            }
            _ => {}
        }
    }
    trimmed
}

/// Drops the bars of small counts, and those showing a figure of a table
/// row (by its label) that hid one; returns how many.
fn trim_bar(bar: &mut sunward_render::BarChart, rules: &Rules, hidden_labels: &BTreeMap<String, Vec<f64>>) -> usize {
    let keep: Vec<bool> = bar
        .values
        .iter()
        .zip(&bar.categories)
        .map(|(v, c)| {
            let same_figure = hidden_labels.get(c).is_some_and(|values| {
                // A percentage bar (0–100) may show a share held as 0–1.
                values.iter().any(|x| (x - v).abs() < 1e-9 || (x * 100.0 - v).abs() < 1e-6)
            });
            !(small_whole(rules, *v) || same_figure)
        })
        .collect();
    let dropped = keep.iter().filter(|k| !**k).count();
    if dropped > 0 {
        retain_kept(&mut bar.categories, &keep);
        retain_kept(&mut bar.values, &keep);
        if let Some(labels) = &mut bar.labels {
            retain_kept(labels, &keep);
        }
    }
    dropped
}

/// Drops the funnel points whose events or size are small counts, those of
/// a table row that hid one, and pooled points that would give a hidden
/// count back; the overall rate is kept from all points. Returns how many.
fn trim_funnel(funnel: &mut sunward_render::FunnelPlot, rules: &Rules, rows: &HiddenRows) -> usize {
    let scale = funnel.scale;
    if funnel.overall.is_none() {
        funnel.overall = Some(funnel.overall_rate());
    }
    let before = funnel.points.len();
    funnel.points.retain(|p| match &p.counts {
        Some(counts) => {
            pooled_point_shows(rules, counts)
                && !small_whole(rules, p.denominator.round())
                && !rows.complements.contains(&p.label)
        }
        None => {
            let events = (p.rate * p.denominator / scale).round();
            !(small_whole(rules, events)
                || small_whole(rules, p.denominator.round())
                || rows.labels.contains_key(&p.label))
        }
    });
    before - funnel.points.len()
}

/// Replaces each bar chart that lost every bar with a sentence saying why.
fn replace_emptied_bars(doc: &mut Document, rules: &Rules, emptied_bars: &[usize]) {
    let lang = doc.lang;
    for &i in emptied_bars {
        if let Some(Block::Figure { caption, .. }) = doc.blocks.get(i) {
            let k = rules.k;
            let text = match lang {
                sunward_render::Lang::ZhCn => {
                    format!("{caption}：未绘制。图中各项的人数或小于{k}，或在表中一并隐去，按发布规则不予公布。")
                }
                sunward_render::Lang::En => format!(
                    "{caption}: not drawn. Each item's count is either under {k} or withheld in the table beside it, \
                     as the publication rules require."
                ),
            };
            doc.blocks[i] = Block::Note { text };
        }
    }
}

/// Whether a funnel point resting on these counts (one per pooled period)
/// can be shown: their sum is 0 or at least k, and they are not a mix of
/// hidden (1..k−1) and shown counts — with a year's count shown in a table
/// and the pooled count on the chart, the hidden year would follow by
/// subtraction.
pub fn pooled_point_shows(rules: &Rules, counts: &[u64]) -> bool {
    let sum: u64 = counts.iter().sum();
    let small = |c: &u64| *c >= 1 && rules.is_small(*c);
    let mixed = counts.iter().any(small) && counts.iter().any(|c| !small(c) && *c > 0);
    (sum == 0 || !rules.is_small(sum)) && !mixed
}

/// Every funnel plot that lost points gets a note saying how many units it
/// leaves out and why; one that lost them all is replaced by a sentence, so
/// no empty chart is drawn. `unplaced` holds the points each funnel lost, in
/// document order.
fn say_what_funnels_leave_out(doc: &mut Document, rules: &Rules, unplaced: &[usize]) {
    let lang = doc.lang;
    let k = rules.k;
    let mut funnels = unplaced.iter();
    let mut blocks = Vec::with_capacity(doc.blocks.len());
    for block in std::mem::take(&mut doc.blocks) {
        let Block::Figure { chart: Chart::Funnel(funnel), caption } = &block else {
            blocks.push(block);
            continue;
        };
        let dropped = funnels.next().copied().unwrap_or(0);
        if funnel.points.is_empty() && dropped > 0 {
            let text = match lang {
                sunward_render::Lang::ZhCn => format!(
                    "{caption}：未绘制。各单位的事件数均小于{k}，或与表中已公布的数字相减可得出被隐去的数字，没有一个单位能在图中标出而不泄露小数字。"
                ),
                sunward_render::Lang::En => format!(
                    "{caption}: not drawn. Every unit's count of events is under {k}, or would give back a withheld figure by subtraction, so no unit can be placed without disclosing a small number."
                ),
            };
            blocks.push(Block::Note { text });
            continue;
        }
        blocks.push(block);
        if dropped > 0 {
            let text = match lang {
                sunward_render::Lang::ZhCn => {
                    format!("图中未标出{dropped}个单位：其事件数小于{k}，或与表中已公布的数字相减可得出被隐去的数字。")
                }
                sunward_render::Lang::En => format!(
                    "{dropped} {} not shown: {} count of events is under {k}, or would give back a withheld figure by subtraction.",
                    if dropped == 1 { "unit is" } else { "units are" },
                    if dropped == 1 { "its" } else { "their" }
                ),
            };
            blocks.push(Block::Note { text });
        }
    }
    doc.blocks = blocks;
}

/// Whether `v` is a whole count that the rules hide (1 ≤ v < k).
fn small_whole(rules: &Rules, v: f64) -> bool {
    v.fract() == 0.0 && v >= 1.0 && rules.is_small(v as u64)
}

/// Keeps the items whose flag in `keep` is set.
fn retain_kept<T>(items: &mut Vec<T>, keep: &[bool]) {
    let mut flags = keep.iter();
    items.retain(|_| *flags.next().unwrap_or(&true));
}

/// In a row where a count is hidden, the other right-aligned figures that
/// are not counts (rates, shares, intervals, changes) are withheld as well:
/// a rate shown beside a withheld count, with the enrolment beside it, would
/// give the count back. Returns how many cells it withheld.
fn withhold_row_rates(table: &mut sunward_render::Table, numeric: &[bool], rules: &Rules) -> usize {
    let mut withheld = 0;
    for row in table.rows.iter_mut() {
        if !row.iter().any(Cell::is_hidden) {
            continue;
        }
        for (cell, numeric) in row.iter_mut().zip(numeric) {
            let is_rate = match cell {
                Cell::Number { display, .. } => !is_count_text(display) && !typed::has_token(display),
                // A typed figure is judged by the counts it rests on, not by its row.
                Cell::Text(text) => !typed::has_token(text),
                _ => false,
            };
            if *numeric && is_rate {
                *cell = Cell::Withheld(rules.withheld_marker.clone());
                withheld += 1;
            }
        }
    }
    withheld
}

/// The totals column: a right-aligned column headed 合计/总计/Total, adding up
/// the other right-aligned columns that hold whole counts in every body row.
fn totals_column(table: &sunward_render::Table) -> Option<TotalsColumn> {
    let column = table
        .columns
        .iter()
        .position(|c| c.align == Align::Numeric && TOTALS_HEADERS.contains(&c.title.trim().to_lowercase().as_str()))?;
    let parts: Vec<usize> = (0..table.columns.len())
        .filter(|c| *c != column && table.columns[*c].align == Align::Numeric)
        .filter(|c| {
            table.rows.iter().all(|r| match &r[*c] {
                Cell::Number { display, .. } => is_count_text(display),
                Cell::Suppressed(_) | Cell::Empty => true,
                _ => false,
            })
        })
        .collect();
    (!parts.is_empty()).then_some(TotalsColumn { column, parts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sunward_render::markup;

    /// Publishes a document whose figures were written without `metric()`.
    fn untyped(d: &mut Document, rules: &Rules) -> Result<usize, Refusal> {
        let mut settle = Settle {
            records: &[],
            rules: Some(rules),
            hidden: Default::default(),
            pattern: None,
            withheld: 0,
            group_digits: false,
            printed: Default::default(),
        };
        publish(d, rules, &mut settle)
    }

    fn doc(body: &str) -> Document {
        markup::parse(&format!("---\ntitle: t\n---\n\n{body}")).expect("markup")
    }

    fn cells(doc: &Document) -> Vec<Vec<String>> {
        let Block::Table(t) = &doc.blocks[0] else { panic!("a table first") };
        t.rows.iter().chain(t.totals.iter()).map(|r| r.iter().map(|c| c.display().to_string()).collect()).collect()
    }

    #[test]
    fn small_counts_and_their_complement_are_hidden_along_the_totals_row() {
        // School B has 3 incidents: shown <5. The totals row (3 + 12 + 40 = 55)
        // would give it back by subtraction, so the next smallest count of
        // that column (12, school A) is withheld as well.
        let mut d = doc("| 学校 | 事件 |\n|---|---:|\n| A | 12 |\n| B | 3 |\n| C | 40 |\n| **合计** | 55 |\n");
        let hidden = untyped(&mut d, &Rules::new(5)).unwrap();
        assert_eq!(cells(&d), [vec!["A", "—"], vec!["B", "<5"], vec!["C", "40"], vec!["合计", "55"]]);
        assert_eq!(hidden, 2);
    }

    #[test]
    fn rates_beside_a_hidden_count_are_withheld_and_others_pass() {
        // Row A: 2 incidents among 2500 students; its rate 0.8 would give the 2 back.
        let mut d = doc(
            "| 学校 | 学生 | 事件 | 每千人 |\n|---|---:|---:|---:|\n| A | 2500 | 2 | 0.8 |\n| B | 160 | 9 | 56% |\n",
        );
        untyped(&mut d, &Rules::new(5)).unwrap();
        assert_eq!(cells(&d), [vec!["A", "2500", "<5", "—"], vec!["B", "160", "9", "56%"]]);
    }

    #[test]
    fn a_complementary_cell_takes_its_rates_and_chart_points_along() {
        // Incidents 12, 7, 2 (total 21): 2 is hidden, 7 is withheld as its complement,
        // so school B's rate (7 / 1500 × 1000 = 4.7) is withheld and its funnel point dropped.
        let table = "| 学校 | 学生 | 事件 | 每千人 |\n|---|---:|---:|---:|\n| A | 2000 | 12 | 6.0 |\n| B | 1500 | 7 | 4.7 |\n| C | 30 | 2 | 66.7 |\n| **合计** | 3530 | 21 | 5.9 |\n";
        let funnel = r#"{"kind": "funnel", "points": [{"label": "A", "denominator": 2000, "rate": 6.0}, {"label": "B", "denominator": 1500, "rate": 4.6667}, {"label": "C", "denominator": 30, "rate": 66.667}]}"#;
        let mut d = doc(&format!("{table}\n```chart 图1\n{funnel}\n```\n"));
        untyped(&mut d, &Rules::new(5)).unwrap();
        assert_eq!(
            cells(&d),
            [
                vec!["A", "2000", "12", "6.0"],
                vec!["B", "1500", "—", "—"],
                vec!["C", "30", "<5", "—"],
                vec!["合计", "3530", "21", "5.9"]
            ]
        );
        let Block::Figure { chart: Chart::Funnel(f), .. } = &d.blocks[1] else { panic!("the funnel") };
        let labels: Vec<&str> = f.points.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["A"]);
    }

    #[test]
    fn totals_column_is_found_by_its_header() {
        // Row A: 2 + 30 = 32; the 2 is hidden, so 30 is withheld too (else 32 − 30 = 2).
        let mut d =
            doc("| 学校 | 小学 | 初中 | 合计 |\n|---|---:|---:|---:|\n| A | 2 | 30 | 32 |\n| B | 10 | 20 | 30 |\n");
        untyped(&mut d, &Rules::new(5)).unwrap();
        assert_eq!(cells(&d), [vec!["A", "<5", "—", "32"], vec!["B", "10", "20", "30"]]);
    }

    #[test]
    fn student_ref_columns_are_refused() {
        let d = doc("| student_ref | 次数 |\n|---|---:|\n| abc | 3 |\n");
        let err = refuse_identifying(&d).unwrap_err();
        assert!(err.contains("student_ref"), "{err}");
    }

    #[test]
    fn premarked_cells_in_a_table_with_totals_are_an_error() {
        let mut d = doc("| 学校 | 事件 |\n|---|---:|\n| A | <5 |\n| B | 30 |\n| **合计** | 33 |\n");
        let err = untyped(&mut d, &Rules::new(5)).unwrap_err();
        assert!(err.contains("raw whole counts"), "{err}");
    }

    #[test]
    fn small_bars_and_funnel_points_are_dropped() {
        let chart = r#"{"kind": "bar", "categories": ["a", "b"], "values": [3, 40]}"#;
        let mut d = doc(&format!("```chart 图1\n{chart}\n```\n"));
        assert_eq!(untyped(&mut d, &Rules::new(5)).unwrap(), 1);
        let Block::Figure { chart: Chart::Bar(bar), .. } = &d.blocks[0] else { panic!() };
        assert_eq!(bar.categories, ["b"]);

        // 2 events in 1000 students (rate 2.0 per 1,000) is a small count; 30 in 10,000 is not.
        let funnel = r#"{"kind": "funnel", "points": [{"label": "A", "denominator": 1000, "rate": 2.0}, {"label": "B", "denominator": 10000, "rate": 3.0}]}"#;
        let mut d = doc(&format!("```chart 图2\n{funnel}\n```\n"));
        assert_eq!(untyped(&mut d, &Rules::new(5)).unwrap(), 1);
        let Block::Figure { chart: Chart::Funnel(f), .. } = &d.blocks[0] else { panic!() };
        assert_eq!(f.points.len(), 1);
        // The overall rate stays that of all schools: (2 + 30) / 11,000 × 1000.
        assert!((f.overall.unwrap() - 32.0 / 11.0).abs() < 1e-9);
    }

    #[test]
    fn a_bar_goes_with_a_withheld_row_only_when_it_shows_that_row_s_figure() {
        // Row A of the table withholds its 2 (<5) and, as a complement, its 30; a bar
        // labelled A that shows 30 would give it back and goes. A bar labelled A that
        // shows another figure (a topic's 284 attendances beside a group domain of the
        // same English name) stays.
        let table = "| 学校 | 小学 | 初中 | 合计 |\n|---|---:|---:|---:|\n| A | 2 | 30 | 32 |\n| B | 10 | 20 | 30 |\n";
        for (value, kept) in [(30, false), (284, true)] {
            let chart = format!(r#"{{"kind": "bar", "categories": ["A", "B"], "values": [{value}, 20]}}"#);
            let mut d = doc(&format!("{table}\n```chart 图1\n{chart}\n```\n"));
            untyped(&mut d, &Rules::new(5)).unwrap();
            let Block::Figure { chart: Chart::Bar(bar), .. } = &d.blocks[1] else { panic!("{:?}", d.blocks) };
            let expected: Vec<&str> = if kept { vec!["A", "B"] } else { vec!["B"] };
            assert_eq!(bar.categories, expected, "a bar of {value}");
        }
    }

    #[test]
    fn pooled_points_show_only_counts_that_give_nothing_back() {
        let rules = Rules::new(5);
        // By hand: a sum under 5 is itself small; a hidden year beside a shown one
        // comes back by subtraction; all hidden but a sum of 5 or more reveals only the sum.
        for (counts, shows) in [
            (vec![0, 0], true),
            (vec![2, 3], true),
            (vec![1, 2], false),
            (vec![5, 0, 7], true),
            (vec![6, 2], false),
            (vec![0, 4], false),
            (vec![4, 4, 4], true),
            (vec![12], true),
            (vec![3], false),
        ] {
            assert_eq!(pooled_point_shows(&rules, &counts), shows, "{counts:?}");
        }
        // The whole grid of two and three years of 0..=9 events, against the rule
        // read off each year's publication: hidden (1..4), shown (0 or 5+).
        for a in 0..10u64 {
            for b in 0..10u64 {
                for c in [None, Some(0u64), Some(3), Some(8)] {
                    let counts: Vec<u64> = [Some(a), Some(b), c].into_iter().flatten().collect();
                    let hidden = counts.iter().filter(|n| (1..5).contains(*n)).count();
                    let shown_nonzero = counts.iter().filter(|n| **n >= 5).count();
                    let total: u64 = counts.iter().sum();
                    let expected = (hidden == 0 || shown_nonzero == 0) && (total == 0 || total >= 5);
                    assert_eq!(pooled_point_shows(&rules, &counts), expected, "{counts:?}");
                }
            }
        }
    }

    #[test]
    fn a_funnel_left_without_points_becomes_a_sentence() {
        let funnel = r#"{"kind": "funnel", "points": [{"label": "A", "denominator": 1000, "rate": 2.0}, {"label": "B", "denominator": 900, "rate": 3.3333}]}"#;
        let mut d = doc(&format!("```chart 图1 漏斗图\n{funnel}\n```\n"));
        untyped(&mut d, &Rules::new(5)).unwrap();
        assert!(!d.blocks.iter().any(|b| matches!(b, Block::Figure { .. })), "{:?}", d.blocks);
        let Block::Note { text } = &d.blocks[0] else { panic!("{:?}", d.blocks) };
        assert!(text.starts_with("图1 漏斗图：未绘制。"), "{text}");
    }

    #[test]
    fn pooled_points_are_judged_by_their_counts_and_complements() {
        // Row C's count 2 is hidden; its pooled point (2 + 4 + 3 = 9 events, all years hidden)
        // still shows. Row B's 7 is withheld as the complement: its pooled point would give it
        // back and is dropped. Row A (12 + 3) mixes a shown and a hidden year: dropped.
        let table = "| 学校 | 学生 | 事件 |\n|---|---:|---:|\n| A | 2000 | 12 |\n| B | 1500 | 7 |\n| C | 30 | 2 |\n| **合计** | 3530 | 21 |\n";
        let funnel = r#"{"kind": "funnel", "points": [
            {"label": "A", "denominator": 4000, "rate": 3.75, "counts": [12, 3]},
            {"label": "B", "denominator": 3000, "rate": 4.0, "counts": [7, 5]},
            {"label": "C", "denominator": 90, "rate": 100.0, "counts": [2, 4, 3]}]}"#;
        let mut d = doc(&format!("{table}\n```chart 图1\n{funnel}\n```\n"));
        untyped(&mut d, &Rules::new(5)).unwrap();
        let Block::Figure { chart: Chart::Funnel(f), .. } = &d.blocks[1] else { panic!("the funnel") };
        let labels: Vec<&str> = f.points.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["C"]);
        let Block::Note { text } = &d.blocks[2] else { panic!("{:?}", d.blocks) };
        assert!(text.starts_with("图中未标出2个单位"), "{text}");
    }

    #[test]
    fn a_bar_chart_left_without_bars_becomes_a_sentence() {
        let chart = r#"{"kind": "bar", "categories": ["a", "b"], "values": [3, 2]}"#;
        let mut d = doc(&format!("```chart 图1 各主题\n{chart}\n```\n"));
        assert_eq!(untyped(&mut d, &Rules::new(5)).unwrap(), 2);
        let [Block::Note { text }] = d.blocks.as_slice() else { panic!("{:?}", d.blocks) };
        assert!(text.starts_with("图1 各主题：未绘制。"), "{text}");
    }
}
