//! Figures that keep their type through a template.
//!
//! `metric()` and `fig()` hand the template a *figure*: the value with the
//! metric it came from (key, unit, period) and its kind from `metrics.md` — a
//! count, a rate or share with the counts it rests on, or a plain value.
//! Whatever the template does with it — print it in a table cell, in a tile,
//! in a sentence as "3人", or format it with `num`, `pct` or `change` — what
//! reaches the rendered markup is a *token* carrying the figure's number in
//! this render's [`Registry`] and its display text. The publication pass then
//! decides by type, not by the look of the text:
//!
//! - a count from 1 to k−1 shows as `<k`, and a count withheld as a table's
//!   complement shows as `—`, wherever it appears;
//! - a rate is withheld (`—`) exactly when a count it rests on is hidden;
//!   a rate built on enrolment alone is never withheld because a neighbour
//!   is;
//! - a plain value (days on site, workers) is shown.
//!
//! Without publication every token becomes its display text. A token never
//! reaches a renderer: [`Settle::text`] resolves every string of the
//! document, and the document check refuses a private-use character left
//! over.
//!
//! The raw number stays available as `figure.value` for charts and
//! comparisons; a chart's points go through the chart rules of the
//! publication pass instead.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use sunward_render::Cell;
use sunward_render::disclosure::{Catalogue, Pattern, Role};
use sunward_render::markup::cell_of;
use sunward_render::publication::Rules;

/// Starts a token; then the record's number, [`SEP`], the display text and [`CLOSE`].
pub const OPEN: char = '\u{E000}';
/// Separates a token's number from its display text.
pub const SEP: char = '\u{E001}';
/// Ends a token.
pub const CLOSE: char = '\u{E002}';

/// Which figure of the metrics table: unit, period and metric key.
pub use sunward_render::disclosure::Identity;

/// What kind of figure a metric is, for the publication rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A count of students, events or sessions (subject to `<k`).
    Count,
    /// A rate or share, withheld when a count it rests on is hidden.
    Rate {
        /// The counts of the metrics table it is computed from.
        rests_on: Vec<Identity>,
    },
    /// A value the rules do not apply to (days on site, staff).
    Plain,
}

/// The catalogue of the standard metrics: what each one is and what each
/// rate rests on (`pipelines/metrics-catalogue.yaml`, [`super::catalogue`]).
pub fn catalogue() -> &'static Catalogue {
    super::catalogue::standard()
}

/// The kind of the figure `identity`, whose catalogue role is `role`:
/// counts of people are counts; tallies of sessions, classes and days are
/// plain; a ratio or statistic rests on the counts it divides or
/// summarises; a comparison on the count in this period and in `baseline`
/// (the baseline academic year's period, `AY2022`), or in every academic
/// year of `academic_years` when the baseline is not known.
pub fn kind_of(identity: &Identity, role: &Role, baseline: Option<&str>, academic_years: &[String]) -> Kind {
    match role {
        Role::Count { .. } => Kind::Count,
        Role::Tally | Role::Plain => Kind::Plain,
        Role::Ratio { .. } | Role::Statistic { .. } => Kind::Rate {
            rests_on: role.rests_on().into_iter().filter(|k| !k.is_empty()).map(|k| identity.sibling(k)).collect(),
        },
        Role::Comparison { of } => {
            let now = identity.sibling(of);
            let mut rests_on = vec![now.clone()];
            match baseline {
                Some(b) => rests_on.push(now.in_period(b)),
                None => {
                    rests_on.extend(academic_years.iter().filter(|p| **p != identity.period).map(|p| now.in_period(p)))
                }
            }
            Kind::Rate { rests_on }
        }
    }
}

/// A figure handed to a template.
#[derive(Debug, Clone)]
pub struct Record {
    /// Which figure.
    pub identity: Identity,
    /// Its value.
    pub value: f64,
    /// Its kind.
    pub kind: Kind,
}

/// The figures of one render, numbered in the order the template used them.
#[derive(Debug, Default)]
pub struct Registry {
    records: Mutex<Vec<Record>>,
}

impl Registry {
    /// Adds a figure; returns its number.
    pub fn register(&self, record: Record) -> usize {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.push(record);
        records.len() - 1
    }

    /// One figure, by number.
    pub fn get(&self, id: usize) -> Option<Record> {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    /// Every figure, by number.
    pub fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The token for figure `id` shown as `display`.
pub fn token(id: usize, display: &str) -> String {
    let clean: String = display.chars().filter(|c| ![OPEN, SEP, CLOSE].contains(c)).collect();
    format!("{OPEN}{id}{SEP}{clean}{CLOSE}")
}

/// A piece of text: plain, or a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece<'a> {
    /// Text as written.
    Text(&'a str),
    /// A figure's token: its number and display text.
    Token(usize, &'a str),
}

/// Splits `text` into plain text and tokens. A malformed token is kept as text.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len_utf8()..];
        let parsed = after.find(CLOSE).and_then(|end| {
            let inner = &after[..end];
            let (id, display) = inner.split_once(SEP)?;
            Some((id.parse::<usize>().ok()?, display, end))
        });
        match parsed {
            Some((id, display, end)) => {
                if start > 0 {
                    out.push(Piece::Text(&rest[..start]));
                }
                out.push(Piece::Token(id, display));
                rest = &after[end + CLOSE.len_utf8()..];
            }
            None => {
                out.push(Piece::Text(&rest[..start + OPEN.len_utf8()]));
                rest = after;
            }
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// Whether `text` holds a token.
pub fn has_token(text: &str) -> bool {
    text.contains(OPEN)
}

/// What the rules make of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Shown as formatted.
    Show,
    /// A small count: `<k`.
    Suppress,
    /// Withheld: `—`.
    Withhold,
}

/// Resolves tokens under the publication rules (or none).
pub struct Settle<'a> {
    /// This render's figures.
    pub records: &'a [Record],
    /// The rules; `None` shows every figure.
    pub rules: Option<&'a Rules>,
    /// Counts withheld as a complement within this document's tables.
    pub hidden: BTreeSet<Identity>,
    /// The counts every public document of this metrics table withholds
    /// ([`sunward_render::disclosure`]); `None` under no rules.
    pub pattern: Option<&'a Pattern>,
    /// Figures hidden so far.
    pub withheld: usize,
    /// Group the digits of whole figures in thousands (`3,695`), as English does.
    pub group_digits: bool,
    /// What a reader saw of each figure printed: shown (with its display
    /// text) or hidden; a figure shown anywhere counts as shown.
    pub printed: BTreeMap<usize, (Verdict, String)>,
}

/// `3695` → `3,695`; anything but a plain run of digits is left alone.
pub fn group_thousands(text: &str) -> String {
    if text.len() < 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 3);
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Settle<'_> {
    fn small(&self, value: f64) -> bool {
        self.rules.is_some_and(|r| value.fract() == 0.0 && value >= 1.0 && r.is_small(value as u64))
    }

    /// Whether the count `id` is withheld: by the table's pattern or as a
    /// complement within this document.
    fn withheld(&self, id: &Identity) -> bool {
        self.hidden.contains(id) || self.pattern.is_some_and(|p| p.hides(id))
    }

    /// The verdict on figure `id`.
    pub fn verdict(&self, id: usize) -> Verdict {
        if self.rules.is_none() {
            return Verdict::Show;
        }
        let Some(record) = self.records.get(id) else { return Verdict::Withhold };
        match &record.kind {
            // The table's pattern first: a small count whose `<k` would give it away is `—`.
            Kind::Count if self.pattern.is_some_and(|p| p.complements.contains(&record.identity)) => Verdict::Withhold,
            Kind::Count if self.small(record.value) => Verdict::Suppress,
            Kind::Count if self.withheld(&record.identity) => Verdict::Withhold,
            Kind::Count | Kind::Plain => Verdict::Show,
            Kind::Rate { rests_on } => {
                if rests_on.iter().any(|dep| self.withheld(dep)) {
                    Verdict::Withhold
                } else {
                    Verdict::Show
                }
            }
        }
    }

    fn marker(&self, verdict: Verdict) -> String {
        match (verdict, self.rules) {
            (Verdict::Suppress, Some(r)) => r.marker(),
            (_, Some(r)) => r.withheld_marker.clone(),
            (_, None) => String::new(),
        }
    }

    /// Records that figure `id` reached the reader as `verdict` (`display`
    /// when shown).
    pub fn saw(&mut self, id: usize, verdict: Verdict, display: &str) {
        let entry = self.printed.entry(id).or_insert((verdict, display.to_string()));
        if verdict == Verdict::Show {
            *entry = (verdict, display.to_string());
        }
    }

    /// `text` with every token replaced by its display text or its marker.
    pub fn text(&mut self, text: &str) -> String {
        if !has_token(text) {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        for piece in pieces(text) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Token(id, display) => {
                    let verdict = self.verdict(id);
                    self.saw(id, verdict, display);
                    match verdict {
                        Verdict::Show if self.group_digits => out.push_str(&group_thousands(display)),
                        Verdict::Show => out.push_str(display),
                        hidden => {
                            self.withheld += 1;
                            out.push_str(&self.marker(hidden));
                        }
                    }
                }
            }
        }
        out
    }

    /// A table cell holding tokens: shown as a figure when every token is
    /// shown; else the whole cell is hidden (`<k` for a lone small count).
    pub fn cell(&mut self, text: &str) -> Cell {
        let parts = pieces(text);
        let verdicts: Vec<Verdict> = parts
            .iter()
            .filter_map(|p| if let Piece::Token(id, _) = p { Some(self.verdict(*id)) } else { None })
            .collect();
        if verdicts.iter().all(|v| *v == Verdict::Show) {
            return cell_of(&self.text(text));
        }
        for piece in &parts {
            if let Piece::Token(id, display) = piece {
                let verdict = match self.verdict(*id) {
                    Verdict::Show => Verdict::Withhold,
                    v => v,
                };
                self.saw(*id, verdict, display);
            }
        }
        self.withheld += 1;
        let lone = verdicts.len() == 1 && parts.len() == 1;
        if lone && verdicts[0] == Verdict::Suppress {
            Cell::Suppressed(self.marker(Verdict::Suppress))
        } else {
            Cell::Withheld(self.marker(Verdict::Withhold))
        }
    }
}

/// The language-neutral text of a cell (its display), for finding tokens.
pub fn cell_text(cell: &Cell) -> Option<&str> {
    match cell {
        Cell::Text(s) => Some(s),
        Cell::Number { display, .. } => Some(display),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(key: &str, period: &str) -> Identity {
        Identity { unit_type: "school".into(), unit_id: "S1".into(), period: period.into(), key: key.into() }
    }

    #[test]
    fn tokens_split_back_into_their_pieces() {
        let text = format!("共{}人，占{}。", token(0, "3"), token(12, "55%"));
        assert_eq!(
            pieces(&text),
            [
                Piece::Text("共"),
                Piece::Token(0, "3"),
                Piece::Text("人，占"),
                Piece::Token(12, "55%"),
                Piece::Text("。")
            ]
        );
        // A stray opening mark is text.
        assert_eq!(pieces("a\u{E000}b"), [Piece::Text("a\u{E000}"), Piece::Text("b")]);
        // Display text cannot close a token early.
        assert_eq!(pieces(&token(1, "x\u{E002}y")), [Piece::Token(1, "xy")]);
    }

    fn kind(identity: &Identity, baseline: Option<&str>, years: &[String]) -> Kind {
        let role = catalogue().role(&identity.key).expect("a catalogued metric");
        kind_of(identity, &role, baseline, years)
    }

    #[test]
    fn kinds_follow_the_metric_definitions() {
        assert_eq!(kind(&id("incidents", "AY2024"), None, &[]), Kind::Count);
        assert_eq!(kind(&id("participants.home_visit", "AY2024"), None, &[]), Kind::Count);
        assert_eq!(kind(&id("onsite_days", "2025"), None, &[]), Kind::Plain);
        // Sessions count no person: never withheld.
        assert_eq!(kind(&id("events.group_session", "2025"), None, &[]), Kind::Plain);
        assert_eq!(kind(&id("case_sessions", "2025"), None, &[]), Kind::Plain);
        assert_eq!(
            kind(&id("incident_rate_per_1000", "AY2024"), None, &[]),
            Kind::Rate { rests_on: vec![id("incidents", "AY2024"), id("enrolment", "AY2024")] }
        );
        assert_eq!(
            kind(&id("incident_rate_ci_low", "AY2024"), None, &[]),
            Kind::Rate { rests_on: vec![id("incidents", "AY2024")] }
        );
        assert_eq!(
            kind(&id("referral_rate", "2025"), None, &[]),
            Kind::Rate { rests_on: vec![id("cases_referred", "2025"), id("cases_active", "2025")] }
        );
        assert_eq!(
            kind(&id("incident_rate_change", "AY2024"), Some("AY2022"), &[]),
            Kind::Rate { rests_on: vec![id("incidents", "AY2024"), id("incidents", "AY2022")] }
        );
        let years = ["AY2022".to_string(), "AY2023".to_string(), "AY2024".to_string()];
        assert_eq!(
            kind(&id("incident_rate_ratio", "AY2024"), None, &years),
            Kind::Rate {
                rests_on: vec![id("incidents", "AY2024"), id("incidents", "AY2022"), id("incidents", "AY2023")]
            }
        );
        assert_eq!(
            kind(&id("improvement_rate.resilience", "AY2024"), None, &[]),
            Kind::Rate { rests_on: vec![id("improved.resilience", "AY2024"), id("outcome_n.resilience", "AY2024")] }
        );
        assert_eq!(
            kind(&id("screening_coverage", "AY2024"), None, &[]),
            Kind::Rate { rests_on: vec![id("screened_students", "AY2024"), id("enrolment", "AY2024")] }
        );
        // A metric the catalogue does not know has no kind: a report refuses it.
        assert_eq!(catalogue().role("plugin_thing"), None);
    }

    #[test]
    fn the_rules_decide_by_type() {
        let records = vec![
            Record { identity: id("incidents", "AY2024"), value: 3.0, kind: Kind::Count },
            Record { identity: id("incidents", "AY2023"), value: 12.0, kind: Kind::Count },
            Record {
                identity: id("incident_rate_per_1000", "AY2024"),
                value: 2.5,
                kind: Kind::Rate { rests_on: vec![id("incidents", "AY2024"), id("enrolment", "AY2024")] },
            },
            Record {
                identity: id("screening_coverage", "AY2024"),
                value: 0.98,
                kind: Kind::Rate { rests_on: vec![id("screened_students", "AY2024"), id("enrolment", "AY2024")] },
            },
            Record { identity: id("onsite_days", "2025"), value: 2.0, kind: Kind::Plain },
        ];
        let rules = Rules::new(5);
        // The table's pattern: the 3 is small; nothing else is withheld.
        let pattern = Pattern { k: 5, small: [id("incidents", "AY2024")].into(), ..Pattern::default() };
        let mut settle = Settle {
            records: &records,
            rules: Some(&rules),
            hidden: BTreeSet::new(),
            pattern: Some(&pattern),
            withheld: 0,
            group_digits: false,
            printed: BTreeMap::new(),
        };
        // In prose: "3人" is still a small count; the rate on it is withheld; coverage
        // (on screened students and enrolment, both shown) and days on site are shown.
        let prose = format!(
            "{}人，每千人{}，覆盖率{}，驻校{}天，上年{}起",
            token(0, "3"),
            token(2, "2.5"),
            token(3, "98%"),
            token(4, "2"),
            token(1, "12")
        );
        assert_eq!(settle.text(&prose), "<5人，每千人—，覆盖率98%，驻校2天，上年12起");
        assert_eq!(settle.withheld, 2);
        // A count withheld as a complement is withheld everywhere it appears.
        settle.hidden.insert(id("incidents", "AY2023"));
        assert_eq!(settle.text(&token(1, "12")), "—");
        // Cells: a lone small count is <5; an interval of two rates on it is one —.
        assert_eq!(settle.cell(&token(0, "3")), Cell::Suppressed("<5".into()));
        assert_eq!(settle.cell(&format!("{}–{}", token(2, "0.6"), token(2, "8.0"))), Cell::Withheld("—".into()));
        assert_eq!(settle.cell(&token(3, "98%")), cell_of("98%"));
        // A complement of the table's pattern withholds the count and the rates on it.
        let pattern = Pattern { k: 5, complements: [id("screened_students", "AY2024")].into(), ..Pattern::default() };
        settle.pattern = Some(&pattern);
        assert_eq!(settle.text(&token(3, "98%")), "—");
        // Without rules every figure shows.
        let mut open = Settle {
            records: &records,
            rules: None,
            hidden: BTreeSet::new(),
            pattern: None,
            withheld: 0,
            group_digits: false,
            printed: BTreeMap::new(),
        };
        assert_eq!(open.text(&prose), "3人，每千人2.5，覆盖率98%，驻校2天，上年12起");
    }

    #[test]
    fn english_groups_whole_figures_in_thousands() {
        for (raw, grouped) in [
            ("0", "0"),
            ("999", "999"),
            ("1000", "1,000"),
            ("3695", "3,695"),
            ("12173", "12,173"),
            ("100000", "100,000"),
            ("1234567", "1,234,567"),
            ("2.5", "2.5"),
            ("98%", "98%"),
            ("<5", "<5"),
        ] {
            assert_eq!(group_thousands(raw), grouped);
        }
        // Against a reference over a whole range: strip the commas and the digits come back,
        // every group after the first has three digits, the first one to three.
        for n in (0u64..200_000).step_by(7) {
            let g = group_thousands(&n.to_string());
            assert_eq!(g.replace(',', ""), n.to_string());
            let groups: Vec<&str> = g.split(',').collect();
            assert!((1..=3).contains(&groups[0].len()), "{g}");
            assert!(groups[1..].iter().all(|x| x.len() == 3), "{g}");
        }
    }
}
