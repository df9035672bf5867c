//! Disclosure control over a whole table of figures, so that no reader with
//! a calculator can work out a count a public report withholds — not from one
//! table, and not from several documents of the same run read side by side.
//!
//! The per-table rules of [`publication`](crate::publication) protect the
//! lines of one table. Readers also subtract across the hierarchy (an
//! organisation's figure minus one school's gives the other school's), across
//! tables (a tier table's total against a sentence), across periods (a year
//! minus one of its terms) and multiply a rate by its denominator. This
//! module therefore decides once, from the whole metrics table, which
//! figures every public document of that table withholds:
//!
//! - the [`Catalogue`] says what each metric is: a count of people (or of
//!   what happens to people: cases, incidents, attendances), which the rules
//!   protect; a tally of sessions, classes or days, which counts no person
//!   and is always shown; or a ratio, a statistic or a comparison with the
//!   counts it rests on (numerator and denominator);
//! - the [`Lattice`] holds every protected count and every equation a reader
//!   can use: an organisation or a district is the sum of its schools, `all`
//!   the sum of its districts, a year of summed rows the sum of its two
//!   terms, a total the sum of its parts (cases by tier);
//! - [`protect`] hides the small counts (1 to k−1), then hides further counts
//!   until an [`audit`] finds nothing: no hidden count lies alone on an
//!   equation, and no combination of equations and markers pins one down
//!   (where no count is left to withhold, a small count whose `<k` would
//!   itself give it away — four `<5` schools under a `<5` total are each 1 —
//!   is shown as withheld, `—`, which says only that it is not zero);
//! - a ratio is shown only when every count it rests on is shown, so a rate
//!   beside its denominator never gives back a hidden numerator.
//!
//! The result is a [`Pattern`]: a pure function of the figures, the same for
//! every document, format and audience drawn from them, so two public
//! documents of one run cannot disagree about what is withheld.
//!
//! The [`audit`] is the reader's side: given what a set of documents prints
//! (figures with their values, `<k` markers, withheld cells and the rates
//! they show with their rounding), it narrows every count as far as interval
//! reasoning over the equations and the rates allows, then solves the
//! equations exactly (Gaussian elimination per connected group), and
//! reports every hidden small count it can pin down. Distinct counts above
//! school level (a student seen at two schools counts once) are treated as
//! exact sums, as a reader would; that hides more, never less.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Which figure: unit, period and metric key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    /// `school`, `org`, `district` or `all`.
    pub unit_type: String,
    /// The unit's id.
    pub unit_id: String,
    /// `2025`, `AY2024`, `AY2024-1`, …
    pub period: String,
    /// The metric key, e.g. `incidents`.
    pub key: String,
}

impl Identity {
    /// A figure's identity from its four parts.
    pub fn new(unit_type: &str, unit_id: &str, period: &str, key: &str) -> Identity {
        Identity {
            unit_type: unit_type.to_string(),
            unit_id: unit_id.to_string(),
            period: period.to_string(),
            key: key.to_string(),
        }
    }

    /// The same unit and period, another metric.
    pub fn sibling(&self, key: &str) -> Identity {
        Identity { key: key.to_string(), ..self.clone() }
    }

    /// The same unit and metric, another period.
    pub fn in_period(&self, period: &str) -> Identity {
        Identity { period: period.to_string(), ..self.clone() }
    }

    fn unit(&self) -> (&str, &str) {
        (&self.unit_type, &self.unit_id)
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} {} in {}", self.key, self.unit_type, self.unit_id, self.period)
    }
}

/// How a count above school level relates to its schools' counts, and a
/// year's to its terms'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adds {
    /// A sum of rows: a unit's count is exactly the sum of its schools', an
    /// academic year's the sum of its two terms'.
    Sum,
    /// Distinct people or cases: a unit's count is at most the sum of its
    /// schools' (one student at two schools counts once); treated as the sum.
    Distinct,
    /// No equation is known (a plugin's count).
    Not,
}

/// What a metric is, for the publication rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A count of people or of what happens to people: 1 to k−1 are withheld.
    Count {
        /// How it adds up across units and terms.
        adds: Adds,
    },
    /// A count of sessions, classes, letters or days: it counts no person
    /// and is always shown.
    Tally,
    /// A value the rules do not apply to (workers).
    Plain,
    /// A rate, share or average: `numerator / denominator × per` (each a
    /// key of the same unit and period). Shown only when both are.
    Ratio {
        /// The key on top.
        numerator: String,
        /// The key below.
        denominator: String,
        /// 1 for a share or an average, 1000 for a rate per 1,000.
        per: u32,
    },
    /// A statistic over the rows a count counts (a median of days): shown
    /// only when that count is.
    Statistic {
        /// The count of rows it summarises.
        over: String,
    },
    /// A comparison of a count's rate between the baseline period and this
    /// one (a rate ratio, a change): shown only when both counts are.
    Comparison {
        /// The count compared.
        of: String,
    },
}

impl Role {
    /// The keys of the same unit a figure of this role rests on.
    pub fn rests_on(&self) -> Vec<&str> {
        match self {
            Role::Ratio { numerator, denominator, .. } => vec![numerator, denominator],
            Role::Statistic { over } => vec![over],
            Role::Comparison { of } => vec![of],
            _ => Vec::new(),
        }
    }
}

/// One catalogue entry: a key (or a family `events.*`), its role, and the
/// keys whose sum it is within one unit and period.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    role: Role,
    parts: Vec<String>,
}

/// What every metric of the metrics table is: the counts the rules protect,
/// the tallies they leave alone, and what each ratio rests on.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    entries: Vec<Entry>,
}

impl Catalogue {
    /// The standard metrics, for this crate's own tests (which cannot read
    /// YAML). The program reads the catalogue from
    /// `pipelines/metrics-catalogue.yaml` (the report sink's `catalogue`
    /// module); the two were compared equal when the file was made.
    #[cfg(test)]
    pub fn standard() -> Catalogue {
        use Adds::*;
        let count = |adds| Role::Count { adds };
        let ratio = |n: &str, d: &str| Role::Ratio { numerator: n.to_string(), denominator: d.to_string(), per: 1 };
        let mut c = Catalogue::default();
        // People, and what happens to people.
        for key in
            ["student_contacts", "screened_high", "screened_high_closed", "screened_high_intervened", "enrolment"]
        {
            c.add(key, count(Sum));
        }
        c.add("incidents", count(Sum));
        c.add("participants.*", count(Sum));
        c.add("outcome_n.*", count(Sum));
        c.add("improved.*", count(Sum));
        for key in [
            "students_individual",
            "high_risk_students",
            "screened_students",
            "cases_referred",
            "cases_reviewed.red",
            "cases_deescalated.red",
        ] {
            c.add(key, count(Distinct));
        }
        c.add_with_parts(
            "cases_active",
            count(Distinct),
            &["cases_active.red", "cases_active.orange", "cases_active.green"],
        );
        c.add("cases_active.*", count(Distinct));
        // Tallies: sessions, classes, days.
        for key in
            ["case_sessions", "case_sessions.red", "screened_classes", "classes", "classes_reached", "onsite_days"]
        {
            c.add(key, Role::Tally);
        }
        c.add("events.*", Role::Tally);
        c.add("workers", Role::Plain);
        // Ratios and what they divide.
        c.add(
            "incident_rate_per_1000",
            Role::Ratio { numerator: "incidents".into(), denominator: "enrolment".into(), per: 1000 },
        );
        // An interval's bounds are monotone in the count: they give it back as the rate does.
        for key in ["incident_rate_ci_low", "incident_rate_ci_high"] {
            c.add(key, Role::Statistic { over: "incidents".into() });
        }
        for key in
            ["incident_rate_ratio", "incident_rate_ratio_ci_low", "incident_rate_ratio_ci_high", "incident_rate_change"]
        {
            c.add(key, Role::Comparison { of: "incidents".into() });
        }
        c.add("closed_loop_rate", ratio("screened_high_closed", "screened_high"));
        c.add("median_days_to_intervention", Role::Statistic { over: "screened_high_intervened".into() });
        c.add("red_deescalation_rate", ratio("cases_deescalated.red", "cases_reviewed.red"));
        c.add("referral_rate", ratio("cases_referred", "cases_active"));
        c.add("sessions_per_high_risk_case", ratio("case_sessions.red", "cases_active.red"));
        c.add("class_coverage", ratio("classes_reached", "classes"));
        c.add("screening_coverage", ratio("screened_students", "enrolment"));
        c.add("improvement_rate.*", ratio("improved.{}", "outcome_n.{}"));
        c
    }

    /// Adds (or replaces) an entry. A key ending in `.*` names a family;
    /// `{}` in a ratio's keys stands for the part after the family's dot.
    pub fn add(&mut self, key: &str, role: Role) {
        self.add_with_parts(key, role, &[]);
    }

    /// Adds an entry whose figure is the sum of `parts` (keys of the same
    /// unit and period).
    pub fn add_with_parts(&mut self, key: &str, role: Role, parts: &[&str]) {
        self.entries.retain(|e| e.key != key);
        self.entries.push(Entry { key: key.to_string(), role, parts: parts.iter().map(|p| p.to_string()).collect() });
    }

    fn entry<'s, 'k>(&'s self, key: &'k str) -> Option<(&'s Entry, &'k str)> {
        if let Some(e) = self.entries.iter().find(|e| e.key == key) {
            return Some((e, ""));
        }
        self.entries
            .iter()
            .filter_map(|e| {
                let family = e.key.strip_suffix('*')?;
                let rest = key.strip_prefix(family)?;
                (!rest.is_empty()).then_some((e, rest))
            })
            .max_by_key(|(e, _)| e.key.len())
    }

    /// The role of `key`, with a family's `{}` filled in; `None` for a key
    /// the catalogue does not know.
    pub fn role(&self, key: &str) -> Option<Role> {
        let (entry, rest) = self.entry(key)?;
        let fill = |s: &String| s.replace("{}", rest);
        Some(match &entry.role {
            Role::Ratio { numerator, denominator, per } => {
                Role::Ratio { numerator: fill(numerator), denominator: fill(denominator), per: *per }
            }
            Role::Statistic { over } => Role::Statistic { over: fill(over) },
            Role::Comparison { of } => Role::Comparison { of: fill(of) },
            other => other.clone(),
        })
    }

    /// Whether `key` is an entry of its own (a family is `events.*`).
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|e| e.key == key)
    }

    /// The keys whose sum `key` is, within one unit and period.
    pub fn parts(&self, key: &str) -> &[String] {
        self.entry(key).map(|(e, _)| e.parts.as_slice()).unwrap_or(&[])
    }

    /// The role of a row of the metrics table, judged by its value when the
    /// catalogue does not know its key: a whole number is taken for a count
    /// (which hides more, never less). No report prints such a figure (a
    /// template that asks for one fails), but its rows stay in the table
    /// that a reader could add up with the figures a report does print.
    pub fn role_or_guess(&self, key: &str, value: f64) -> Role {
        self.role(key).unwrap_or(if value.fract() == 0.0 {
            Role::Count { adds: Adds::Not }
        } else {
            Role::Statistic { over: String::new() }
        })
    }
}

/// A unit: its type and id.
type Unit = (String, String);

/// Which schools make up each organisation and district.
#[derive(Debug, Clone, Default)]
pub struct Hierarchy {
    /// Each aggregate unit (`org`, `district`, `all`) and the units it adds up.
    groups: Vec<(Unit, Vec<Unit>)>,
}

impl Hierarchy {
    /// From the schools: their id, organisation (if any) and district (if
    /// any). `all` is the sum of the districts, or of the schools when no
    /// school has a district.
    pub fn from_schools<'a>(
        schools: impl IntoIterator<Item = (&'a str, Option<&'a str>, Option<&'a str>)>,
    ) -> Hierarchy {
        let mut orgs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut districts: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut all_schools = Vec::new();
        for (school, org, district) in schools {
            let unit = ("school".to_string(), school.to_string());
            if let Some(o) = org.filter(|o| !o.is_empty()) {
                orgs.entry(o.to_string()).or_default().push(unit.clone());
            }
            if let Some(d) = district.filter(|d| !d.is_empty()) {
                districts.entry(d.to_string()).or_default().push(unit.clone());
            }
            all_schools.push(unit);
        }
        let mut groups = Vec::new();
        let all_members: Vec<(String, String)> = if districts.is_empty() {
            all_schools
        } else {
            districts.keys().map(|d| ("district".to_string(), d.clone())).collect()
        };
        for (o, members) in orgs {
            groups.push((("org".to_string(), o), members));
        }
        for (d, members) in districts {
            groups.push((("district".to_string(), d), members));
        }
        groups.push((("all".to_string(), "all".to_string()), all_members));
        Hierarchy { groups }
    }
}

/// Every protected count and every equation a reader can use.
#[derive(Debug, Clone, Default)]
pub struct Lattice {
    /// The protected counts and their values.
    pub counts: HashMap<Identity, u64>,
    /// Equations: the last member of each is the sum of the others.
    pub lines: Vec<Vec<Identity>>,
    /// Ratios: the ratio, its numerator and denominator, and its scale
    /// (`per`), for the reader's multiplication.
    pub ratios: Vec<(Identity, Identity, Identity, u32)>,
    /// For each line, its family: lines of different families share no
    /// count (one metric, or a total with its parts, in one academic or
    /// calendar year), so each family can be protected on its own.
    pub families: Vec<usize>,
}

/// `AY2024-1` → `AY2024`; anything else → `None`.
fn term_year(period: &str) -> Option<&str> {
    let (year, term) = period.rsplit_once('-')?;
    (year.starts_with("AY") && matches!(term, "1" | "2")).then_some(year)
}

impl Lattice {
    /// The lattice of a metrics table. A ratio whose numerator is not in the
    /// table gets it derived as ratio × denominator, rounded: what a reader
    /// would compute.
    pub fn build(values: &HashMap<Identity, Option<f64>>, catalogue: &Catalogue, hierarchy: &Hierarchy) -> Lattice {
        let mut counts: HashMap<Identity, u64> = HashMap::new();
        let mut ratios = Vec::new();
        // Each key's role, looked up once (a table has a hundred keys and a million figures).
        let mut roles: HashMap<&str, Option<Role>> = HashMap::new();
        for (id, value) in values {
            let Some(v) = *value else { continue };
            let known = roles.entry(&id.key).or_insert_with(|| catalogue.role(&id.key));
            let role = match known {
                Some(role) => role.clone(),
                None => catalogue.role_or_guess(&id.key, v),
            };
            match role {
                Role::Count { .. } if v >= 0.0 && v.fract() == 0.0 => {
                    counts.insert(id.clone(), v as u64);
                }
                Role::Ratio { numerator, denominator, per } => {
                    ratios.push((id.clone(), id.sibling(&numerator), id.sibling(&denominator), per));
                }
                _ => {}
            }
        }
        // Numerators the table lacks, as a reader would work them out.
        for (ratio, num, den, per) in &ratios {
            if counts.contains_key(num) || !matches!(catalogue.role(&num.key), Some(Role::Count { .. })) {
                continue;
            }
            if let (Some(Some(r)), Some(d)) = (values.get(ratio), counts.get(den)) {
                counts.insert(num.clone(), (r * *d as f64 / f64::from(*per)).round().max(0.0) as u64);
            }
        }
        ratios.sort();
        ratios.dedup();

        let mut lines = Vec::new();
        // (key, period) → units present.
        let mut by_key_period: HashMap<(&str, &str), BTreeSet<(&str, &str)>> = HashMap::new();
        for id in counts.keys() {
            by_key_period.entry((&id.key, &id.period)).or_default().insert(id.unit());
        }
        let mut families: Vec<&(&str, &str)> = by_key_period.keys().collect();
        families.sort();
        for (key, period) in families {
            let units = &by_key_period[&(*key, *period)];
            let adds = match catalogue.role_or_guess(key, 0.0) {
                Role::Count { adds } => adds,
                _ => Adds::Not,
            };
            if adds == Adds::Not {
                continue;
            }
            for ((gt, gid), members) in &hierarchy.groups {
                if !units.contains(&(gt.as_str(), gid.as_str())) || members.is_empty() {
                    continue;
                }
                if members.iter().all(|(mt, mid)| units.contains(&(mt.as_str(), mid.as_str()))) {
                    let mut line: Vec<Identity> =
                        members.iter().map(|(mt, mid)| Identity::new(mt, mid, period, key)).collect();
                    line.push(Identity::new(gt, gid, period, key));
                    lines.push(line);
                }
            }
            // An academic year of summed rows is the sum of its terms.
            if adds == Adds::Sum && !period.contains('-') && period.starts_with("AY") {
                for (ut, uid) in units {
                    let terms = [format!("{period}-1"), format!("{period}-2")];
                    let ids: Vec<Identity> = terms.iter().map(|t| Identity::new(ut, uid, t, key)).collect();
                    if ids.iter().all(|i| counts.contains_key(i)) {
                        let mut line = ids;
                        line.push(Identity::new(ut, uid, period, key));
                        lines.push(line);
                    }
                }
            }
        }
        // Totals of parts within one unit and period.
        let mut totals: Vec<&Identity> = counts.keys().filter(|id| !catalogue.parts(&id.key).is_empty()).collect();
        totals.sort();
        for total in totals {
            let parts: Vec<Identity> = catalogue.parts(&total.key).iter().map(|p| total.sibling(p)).collect();
            if parts.iter().all(|p| counts.contains_key(p)) {
                let mut line = parts;
                line.push(total.clone());
                lines.push(line);
            }
        }
        // A line's family: its metric (a part of a total counts as the total) and its year
        // (a term counts as its academic year).
        // A part of two totals (`appointments_attended` of `appointments` and of
        // `appointments_due`) takes the first total by name, whatever the
        // order the counts are held in, so the pattern is the same every run.
        let mut total_keys: Vec<&str> = counts.keys().map(|id| id.key.as_str()).collect();
        total_keys.sort_unstable();
        total_keys.dedup();
        let mut part_of: HashMap<&str, &str> = HashMap::new();
        for total in total_keys {
            for part in catalogue.parts(total) {
                part_of.entry(part.as_str()).or_insert(total);
            }
        }
        let mut family_numbers: HashMap<(&str, &str), usize> = HashMap::new();
        let by_name: Vec<usize> = lines
            .iter()
            .map(|line: &Vec<Identity>| {
                let last = &line[line.len() - 1];
                let key = part_of.get(last.key.as_str()).copied().unwrap_or(&last.key);
                let year = term_year(&last.period).unwrap_or(&last.period);
                let next = family_numbers.len();
                *family_numbers.entry((key, year)).or_insert(next)
            })
            .collect();
        let families = joined_families(&lines, &by_name);
        Lattice { counts, lines, ratios, families }
    }
}

/// Families that share no count: lines of one family by name stay together,
/// and two families with a count in common (a part of two totals) become one.
/// Numbered in the order of their first line, so the same lines give the
/// same families every time.
fn joined_families(lines: &[Vec<Identity>], by_name: &[usize]) -> Vec<usize> {
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let count = by_name.iter().max().map_or(0, |m| m + 1);
    let mut parent: Vec<usize> = (0..count).collect();
    let mut family_of: HashMap<&Identity, usize> = HashMap::new();
    for (line, family) in lines.iter().zip(by_name) {
        for id in line {
            let other = *family_of.entry(id).or_insert(*family);
            let (a, b) = (root(&mut parent, other), root(&mut parent, *family));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut numbers: HashMap<usize, usize> = HashMap::new();
    by_name
        .iter()
        .map(|family| {
            let r = root(&mut parent, *family);
            let next = numbers.len();
            *numbers.entry(r).or_insert(next)
        })
        .collect()
}

/// What the rules do with one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Shown.
    Shown,
    /// A small count: shown as `<k`.
    Small,
    /// Withheld so that a small count cannot be worked out: shown as `—`.
    Complement,
}

/// Which counts every public document of one metrics table withholds.
#[derive(Debug, Clone, Default)]
pub struct Pattern {
    /// The threshold: counts from 1 to k−1 are small.
    pub k: u64,
    /// Counts shown as `<k`.
    pub small: BTreeSet<Identity>,
    /// Counts shown as withheld (`—`): complements, and small counts whose
    /// `<k` would give them away.
    pub complements: BTreeSet<Identity>,
    /// Hidden counts a reader could still work out (none, unless the table
    /// leaves no count to withhold beside them).
    pub unresolved: Vec<Finding>,
}

impl Pattern {
    /// What the rules do with a count (or any figure: a figure the pattern
    /// does not hold is shown).
    pub fn status(&self, id: &Identity) -> Status {
        if self.small.contains(id) {
            Status::Small
        } else if self.complements.contains(id) {
            Status::Complement
        } else {
            Status::Shown
        }
    }

    /// Whether a count is withheld (small or complement).
    pub fn hides(&self, id: &Identity) -> bool {
        self.small.contains(id) || self.complements.contains(id)
    }
}

/// What a reader knows of one count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Knowledge {
    /// Printed with its value.
    Known(f64),
    /// Printed as `<k`: from 1 to k−1.
    Small,
    /// Printed as a withheld count (`—`): at least 1, since zero is always
    /// shown. A withheld count may be large (a complement) or small (a
    /// small count whose `<k` would itself give it away, as four `<5`
    /// schools under a `<5` total would each have to be 1).
    Withheld,
}

/// A rate a reader saw: the ratio's identity and the range its printed
/// value stands for (e.g. `13%` → 0.125 to 0.135).
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRate {
    /// Which ratio.
    pub ratio: Identity,
    /// Lowest value the printed figure can stand for.
    pub low: f64,
    /// Highest value the printed figure can stand for.
    pub high: f64,
}

impl SeenRate {
    /// The rate `ratio` as printed (`13%`, `2.8`, `1,234.5`): the range of
    /// values that print so, rounding half up. `None` for text that is not
    /// a plain figure (`—`, `无`).
    pub fn from_display(ratio: Identity, display: &str) -> Option<SeenRate> {
        let text: String = display.trim().chars().filter(|c| *c != ',').collect();
        let (text, scale) = match text.strip_suffix('%') {
            Some(t) => (t.to_string(), 0.01),
            None => (text, 1.0),
        };
        let text = text.replace('−', "-");
        let value: f64 = text.parse().ok()?;
        let decimals = text.split_once('.').map(|(_, d)| d.len()).unwrap_or(0) as i32;
        let half = 0.5 * 10f64.powi(-decimals);
        Some(SeenRate { ratio, low: (value - half) * scale, high: (value + half) * scale })
    }
}

/// A hidden count a reader can work out.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Which count.
    pub identity: Identity,
    /// Its true value.
    pub value: u64,
    /// The lowest value the reader cannot rule out.
    pub low: f64,
    /// The highest (equal to `low` when one value is left).
    pub high: f64,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.high - self.low < 0.5 {
            write!(f, "{} is withheld ({}), but a reader can work it out: {}", self.identity, self.value, self.low)
        } else {
            write!(
                f,
                "{} is withheld ({}), but a reader can narrow it to {} to {}",
                self.identity, self.value, self.low, self.high
            )
        }
    }
}

/// The reader's side: from what was printed (`seen`: each count a reader
/// can read or whose marker they can see; `rates`: the rates printed), every
/// hidden small count of the lattice they can narrow down beyond "from 1 to
/// k−1": to one value, or to a range within 1..k−1 that leaves some out (two
/// `<5` cells that must add up to 7 are each 3 or 4). A count nobody printed
/// is unknown (0 or more); a withheld count whose range reaches k or beyond
/// is not known to be small.
pub fn audit(lattice: &Lattice, seen: &HashMap<Identity, Knowledge>, rates: &[SeenRate], k: u64) -> Vec<Finding> {
    let mut index: HashMap<&Identity, usize> = HashMap::new();
    let mut names: Vec<&Identity> = Vec::new();
    fn number<'a>(id: &'a Identity, index: &mut HashMap<&'a Identity, usize>, names: &mut Vec<&'a Identity>) -> usize {
        *index.entry(id).or_insert_with(|| {
            names.push(id);
            names.len() - 1
        })
    }
    let mut system = System::default();
    for line in &lattice.lines {
        let numbered = line.iter().map(|id| number(id, &mut index, &mut names)).collect();
        system.lines.push(numbered);
    }
    let ratio_parts: HashMap<&Identity, (&Identity, &Identity, f64)> =
        lattice.ratios.iter().map(|(r, n, d, per)| (r, (n, d, f64::from(*per)))).collect();
    let mut facts = Vec::new();
    for seen_rate in rates {
        let Some(&(n, d, per)) = ratio_parts.get(&seen_rate.ratio) else { continue };
        let (n, d) = (number(n, &mut index, &mut names), number(d, &mut index, &mut names));
        facts.push((n, d, seen_rate.low.max(0.0) / per, seen_rate.high / per));
    }
    let knowledge: Vec<Option<Knowledge>> = names.iter().map(|id| seen.get(*id).copied()).collect();
    let truth: Vec<Option<u64>> = names.iter().map(|id| lattice.counts.get(*id).copied()).collect();
    system
        .pinned(&knowledge, &truth, &facts, k)
        .into_iter()
        .map(|(i, low, high)| Finding { identity: names[i].clone(), value: truth[i].unwrap_or_default(), low, high })
        .collect()
}

/// Equations over numbered counts: the audit's inner loops work on indices,
/// not on identities (hashing four strings per step was most of the cost).
#[derive(Debug, Default)]
struct System {
    /// Each equation: the last count is the sum of the others.
    lines: Vec<Vec<usize>>,
}

impl System {
    /// Every count whose true value is from 1 to k−1 and that a reader with
    /// `knowledge` (and the rates `facts`: numerator, denominator, lowest and
    /// highest rate) can narrow down beyond "from 1 to k−1" (to one value, or
    /// to a range that leaves some of those out), with the range they find.
    fn pinned(
        &self,
        knowledge: &[Option<Knowledge>],
        truth: &[Option<u64>],
        facts: &[(usize, usize, f64, f64)],
        k: u64,
    ) -> Vec<(usize, f64, f64)> {
        let kf = k as f64;
        let mut bounds: Vec<(f64, f64)> = knowledge
            .iter()
            .map(|kn| match kn {
                Some(Knowledge::Known(v)) => (*v, *v),
                Some(Knowledge::Small) => (1.0, kf - 1.0),
                Some(Knowledge::Withheld) => (1.0, f64::INFINITY),
                None => (0.0, f64::INFINITY),
            })
            .collect();
        let tighten = |b: &mut [(f64, f64)], i: usize, lo: f64, hi: f64| -> bool {
            let lo = (lo - 1e-9).ceil();
            let hi = (hi + 1e-9).floor();
            let cur = &mut b[i];
            let mut changed = false;
            if lo > cur.0 {
                cur.0 = lo;
                changed = true;
            }
            if hi < cur.1 {
                cur.1 = hi;
                changed = true;
            }
            changed
        };
        for _round in 0..200 {
            let mut changed = false;
            for line in &self.lines {
                let (parts, total) = line.split_at(line.len() - 1);
                let total = total[0];
                let (plo, phi) = parts.iter().fold((0.0, 0.0), |(l, h), p| (l + bounds[*p].0, h + bounds[*p].1));
                changed |= tighten(&mut bounds, total, plo, phi);
                let t = bounds[total];
                for &p in parts {
                    let b = bounds[p];
                    changed |= tighten(&mut bounds, p, t.0 - (phi - b.1), t.1 - (plo - b.0));
                }
            }
            for &(n, d, rlo, rhi) in facts {
                let db = bounds[d];
                changed |= tighten(&mut bounds, n, rlo * db.0, rhi * db.1);
                let nb = bounds[n];
                if rhi > 0.0 && rlo > 0.0 {
                    changed |= tighten(&mut bounds, d, nb.0 / rhi, nb.1 / rlo);
                }
            }
            if !changed {
                break;
            }
        }
        let hidden_small =
            |i: usize| truth[i].is_some_and(|v| v >= 1 && v < k) && !matches!(knowledge[i], Some(Knowledge::Known(_)));
        // Exposed: the reader knows the count is small (its range lies within 1..k−1)
        // and knows more than that (the range leaves out some of 1..k−1): two `<5`
        // cells that must add up to 7 are each 3 or 4.
        let exposed = |lo: f64, hi: f64| hi < kf - 0.5 && (lo > 1.5 || hi < kf - 1.5);
        let mut found: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
        for (i, (lo, hi)) in bounds.iter().enumerate() {
            if hidden_small(i) && exposed(*lo, *hi) {
                found.insert(i, (*lo, *hi));
            }
        }
        let known: Vec<Option<f64>> = knowledge
            .iter()
            .map(|kn| match kn {
                Some(Knowledge::Known(v)) => Some(*v),
                _ => None,
            })
            .collect();
        for (i, value) in self.solve(&known) {
            if hidden_small(i) {
                found.insert(i, (value, value));
            }
        }
        found.into_iter().map(|(i, (lo, hi))| (i, lo, hi)).collect()
    }

    /// Counts that the equations alone pin down, with the value they give:
    /// Gaussian elimination over the unknown counts, one connected group at a time.
    fn solve(&self, known: &[Option<f64>]) -> Vec<(usize, f64)> {
        // Equations over the unknowns: Σ coefficient · x = constant.
        let mut equations: Vec<(Vec<(usize, f64)>, f64)> = Vec::new();
        for line in &self.lines {
            let (parts, total) = line.split_at(line.len() - 1);
            let mut terms = Vec::new();
            let mut constant = 0.0;
            for (i, coeff) in parts.iter().map(|p| (*p, 1.0)).chain(std::iter::once((total[0], -1.0))) {
                match known[i] {
                    Some(v) => constant -= coeff * v,
                    None => terms.push((i, coeff)),
                }
            }
            if !terms.is_empty() {
                equations.push((terms, constant));
            }
        }
        let mut parent: Vec<usize> = (0..known.len()).collect();
        fn root(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        for (terms, _) in &equations {
            for w in terms.windows(2) {
                let (a, b) = (root(&mut parent, w[0].0), root(&mut parent, w[1].0));
                if a != b {
                    parent[a] = b;
                }
            }
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (e, (terms, _)) in equations.iter().enumerate() {
            groups.entry(root(&mut parent, terms[0].0)).or_default().push(e);
        }
        let mut out = Vec::new();
        for eqs in groups.values() {
            let mut cols: Vec<usize> = eqs.iter().flat_map(|e| equations[*e].0.iter().map(|(i, _)| *i)).collect();
            cols.sort_unstable();
            cols.dedup();
            if cols.len() > 4000 {
                continue; // too large to solve densely; interval reasoning still applies
            }
            let col_of: HashMap<usize, usize> = cols.iter().enumerate().map(|(c, i)| (*i, c)).collect();
            let width = cols.len() + 1;
            let mut rows: Vec<Vec<f64>> = eqs
                .iter()
                .map(|e| {
                    let mut row = vec![0.0; width];
                    for (i, c) in &equations[*e].0 {
                        row[col_of[i]] += c;
                    }
                    row[width - 1] = equations[*e].1;
                    row
                })
                .collect();
            // Reduced row echelon form with partial pivoting.
            let mut pivot_row = 0;
            let mut pivots = Vec::new();
            for col in 0..cols.len() {
                if pivot_row == rows.len() {
                    break;
                }
                let Some(best) = (pivot_row..rows.len())
                    .filter(|r| rows[*r][col].abs() > 1e-9)
                    .max_by(|a, b| rows[*a][col].abs().total_cmp(&rows[*b][col].abs()))
                else {
                    continue;
                };
                rows.swap(pivot_row, best);
                let p = rows[pivot_row][col];
                for v in rows[pivot_row].iter_mut() {
                    *v /= p;
                }
                let pivot = rows[pivot_row].clone();
                for (r, row) in rows.iter_mut().enumerate() {
                    if r != pivot_row && row[col].abs() > 1e-12 {
                        let f = row[col];
                        for (v, pv) in row.iter_mut().zip(&pivot) {
                            *v -= f * pv;
                        }
                    }
                }
                pivots.push((pivot_row, col));
                pivot_row += 1;
            }
            for (r, col) in pivots {
                let alone = rows[r][..cols.len()].iter().enumerate().all(|(c, v)| c == col || v.abs() < 1e-9);
                if alone {
                    out.push((cols[col], rows[r][width - 1]));
                }
            }
        }
        out
    }
}

/// Decides, once for a whole table, which counts every public document
/// withholds: the small ones, and as many more as it takes until the
/// [`audit`] of a reader who sees every shown count and every `<k` and `—`
/// marker finds nothing.
///
/// The equations fall apart into independent groups (one metric and period
/// across the hierarchy, tied to its tiers or terms); each group holding a
/// small count is protected on its own, so the work grows with the small
/// counts, not with the table.
pub fn protect(lattice: &Lattice, k: u64) -> Pattern {
    let small: BTreeSet<Identity> =
        lattice.counts.iter().filter(|(_, v)| **v >= 1 && **v < k).map(|(id, _)| id.clone()).collect();
    let mut pattern = Pattern { k, small: small.clone(), ..Pattern::default() };
    for group in groups(lattice) {
        if !group.lines.iter().flatten().any(|id| small.contains(id)) {
            continue;
        }
        let part = protect_group(&group, k);
        for id in &part.small {
            pattern.small.remove(id);
        }
        for id in part.complements {
            pattern.small.remove(&id);
            pattern.complements.insert(id);
        }
        pattern.unresolved.extend(part.unresolved);
    }
    pattern
}

/// The lattice split into groups that share no count: its lines by family.
fn groups(lattice: &Lattice) -> Vec<Lattice> {
    let mut by_family: BTreeMap<usize, Vec<&Vec<Identity>>> = BTreeMap::new();
    for (line, family) in lattice.lines.iter().zip(&lattice.families) {
        by_family.entry(*family).or_default().push(line);
    }
    by_family
        .into_values()
        .map(|lines| {
            let mut group = Lattice::default();
            for line in lines {
                for id in line {
                    if let Some(v) = lattice.counts.get(id) {
                        group.counts.insert(id.clone(), *v);
                    }
                }
                group.lines.push(line.clone());
            }
            group
        })
        .collect()
}

/// [`protect`] within one group of equations. The returned pattern's
/// `small` holds the small counts shown as withheld instead (to be taken out
/// of the whole table's `<k` set); `complements` every count shown as `—`.
fn protect_group(lattice: &Lattice, k: u64) -> Pattern {
    // Number the group's counts once; every round works on indices.
    let mut ids: Vec<&Identity> = lattice.counts.keys().collect();
    ids.sort();
    let index: HashMap<&Identity, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let value: Vec<u64> = ids.iter().map(|id| lattice.counts[*id]).collect();
    let system = System { lines: lattice.lines.iter().map(|l| l.iter().map(|id| index[id]).collect()).collect() };
    let mut lines_of: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for (l, line) in system.lines.iter().enumerate() {
        for &i in line {
            lines_of[i].push(l);
        }
    }
    let small: Vec<bool> = value.iter().map(|v| *v >= 1 && *v < k).collect();
    let mut hidden = small.clone();
    // Shown as withheld instead of `<k`: a small count whose marker would give it away.
    let mut masked = vec![false; ids.len()];
    // The count to withhold beside the hidden ones of a line: the smallest
    // shown non-zero count, a part before the total on a tie.
    let pick = |line: &[usize], hidden: &[bool]| -> Option<usize> {
        let total = line[line.len() - 1];
        line.iter().filter(|i| !hidden[**i] && value[**i] > 0).min_by_key(|i| (value[**i], **i == total)).copied()
    };
    let truth: Vec<Option<u64>> = value.iter().map(|v| Some(*v)).collect();
    let mut unresolved = Vec::new();
    for _round in 0..10_000 {
        // Complementary suppression: no line with exactly one hidden count.
        loop {
            let mut changed = false;
            for line in &system.lines {
                if line.iter().filter(|i| hidden[**i]).count() == 1
                    && let Some(i) = pick(line, &hidden)
                {
                    hidden[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let knowledge: Vec<Option<Knowledge>> = (0..ids.len())
            .map(|i| {
                Some(if small[i] && !masked[i] {
                    Knowledge::Small
                } else if hidden[i] || masked[i] {
                    Knowledge::Withheld
                } else {
                    Knowledge::Known(value[i] as f64)
                })
            })
            .collect();
        let findings = system.pinned(&knowledge, &truth, &[], k);
        if findings.is_empty() {
            unresolved.clear();
            break;
        }
        let before = hidden.iter().chain(&masked).filter(|h| **h).count();
        // Lines changed this round: a finding on one of them waits for the next audit,
        // which may find it already protected.
        let mut touched = vec![false; system.lines.len()];
        for (f, _, _) in &findings {
            // The nearest lines with a count left to withhold: first those through the count,
            // then those through the hidden counts of those lines, and so on.
            let mut level: Vec<usize> = lines_of[*f].clone();
            if level.iter().any(|l| touched[*l]) {
                continue;
            }
            let mut visited: BTreeSet<usize> = level.iter().copied().collect();
            while !level.is_empty() {
                let picks: Vec<usize> = level.iter().filter_map(|l| pick(&system.lines[*l], &hidden)).collect();
                if !picks.is_empty() {
                    for i in picks {
                        hidden[i] = true;
                        lines_of[i].iter().for_each(|l| touched[*l] = true);
                    }
                    break;
                }
                // No count left to withhold: a small count of the line, the total first, is
                // shown as withheld instead of `<k`.
                let masks: Vec<usize> = level
                    .iter()
                    .filter_map(|l| system.lines[*l].iter().rev().find(|i| small[**i] && !masked[**i]).copied())
                    .collect();
                if !masks.is_empty() {
                    for i in masks {
                        masked[i] = true;
                        lines_of[i].iter().for_each(|l| touched[*l] = true);
                    }
                    break;
                }
                let mut next = Vec::new();
                for l in &level {
                    for i in system.lines[*l].iter().filter(|i| hidden[**i]) {
                        for m in &lines_of[*i] {
                            if visited.insert(*m) {
                                next.push(*m);
                            }
                        }
                    }
                }
                level = next;
            }
        }
        unresolved = findings
            .iter()
            .map(|(i, low, high)| Finding { identity: ids[*i].clone(), value: value[*i], low: *low, high: *high })
            .collect();
        if hidden.iter().chain(&masked).filter(|h| **h).count() == before {
            break;
        }
    }
    let complements =
        (0..ids.len()).filter(|i| (hidden[*i] && !small[*i]) || masked[*i]).map(|i| ids[i].clone()).collect();
    let masked = (0..ids.len()).filter(|i| masked[*i]).map(|i| ids[i].clone()).collect();
    Pattern { k, small: masked, complements, unresolved }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(unit: &str, period: &str, key: &str) -> Identity {
        let unit_type = match unit {
            "all" => "all",
            u if u.starts_with('O') => "org",
            u if u.starts_with('D') => "district",
            _ => "school",
        };
        Identity::new(unit_type, unit, period, key)
    }

    /// Organisation O1 = schools A and B, in district D1 with school C.
    fn hierarchy() -> Hierarchy {
        Hierarchy::from_schools([("A", Some("O1"), Some("D1")), ("B", Some("O1"), Some("D1")), ("C", None, Some("D1"))])
    }

    fn values(rows: &[(&str, &str, &str, f64)]) -> HashMap<Identity, Option<f64>> {
        rows.iter().map(|(u, p, k, v)| (id(u, p, k), Some(*v))).collect()
    }

    /// What a reader sees when only small counts are hidden (`<5`) and nothing else.
    fn naive(lattice: &Lattice) -> HashMap<Identity, Knowledge> {
        lattice
            .counts
            .iter()
            .map(|(i, v)| {
                let k = match v {
                    1..5 => Knowledge::Small,
                    _ => Knowledge::Known(*v as f64),
                };
                (i.clone(), k)
            })
            .collect()
    }

    fn reader(lattice: &Lattice, pattern: &Pattern) -> HashMap<Identity, Knowledge> {
        lattice
            .counts
            .iter()
            .map(|(i, v)| {
                let k = match pattern.status(i) {
                    Status::Shown => Knowledge::Known(*v as f64),
                    Status::Small => Knowledge::Small,
                    Status::Complement => Knowledge::Withheld,
                };
                (i.clone(), k)
            })
            .collect()
    }

    /// A part of two totals (attended bookings are part of all bookings and
    /// of those not cancelled): the pattern is the same however the figures
    /// are held. Each `HashMap` below has its own random order, so twenty
    /// builds see twenty orders; before the fix the part's family followed
    /// that order, and the withheld cells changed from one run to the next.
    #[test]
    fn a_part_of_two_totals_gives_the_same_pattern_every_time() {
        let mut c = Catalogue::standard();
        let count = || Role::Count { adds: Adds::Sum };
        c.add_with_parts("booked", count(), &["attended", "no_show", "cancelled"]);
        c.add_with_parts("due", count(), &["attended", "no_show"]);
        c.add("attended", count());
        c.add("no_show", count());
        c.add("cancelled", count());
        let mut rows = Vec::new();
        for (unit, attended, no_show, cancelled) in [("A", 12.0, 2.0, 6.0), ("B", 9.0, 7.0, 3.0), ("C", 30.0, 8.0, 1.0)]
        {
            rows.push((unit, "2025", "attended", attended));
            rows.push((unit, "2025", "no_show", no_show));
            rows.push((unit, "2025", "cancelled", cancelled));
            rows.push((unit, "2025", "due", attended + no_show));
            rows.push((unit, "2025", "booked", attended + no_show + cancelled));
        }
        let lattice = Lattice::build(&values(&rows), &c, &hierarchy());
        // No count belongs to lines of two families (so each family can be protected alone).
        let mut family_of: HashMap<&Identity, usize> = HashMap::new();
        for (line, family) in lattice.lines.iter().zip(&lattice.families) {
            for id in line {
                assert_eq!(*family_of.entry(id).or_insert(*family), *family, "{id} is in two families");
            }
        }
        let first = protect(&lattice, 5);
        for _ in 0..20 {
            let again = protect(&Lattice::build(&values(&rows), &c, &hierarchy()), 5);
            assert_eq!((&again.small, &again.complements), (&first.small, &first.complements));
        }
        assert!(first.unresolved.is_empty());
    }

    #[test]
    fn the_catalogue_knows_families_and_fills_them_in() {
        let c = Catalogue::standard();
        assert_eq!(c.role("events.case_session"), Some(Role::Tally));
        assert_eq!(c.role("participants.growth_class"), Some(Role::Count { adds: Adds::Sum }));
        assert_eq!(c.role("cases_active.red"), Some(Role::Count { adds: Adds::Distinct }));
        assert_eq!(
            c.role("improvement_rate.resilience"),
            Some(Role::Ratio {
                numerator: "improved.resilience".into(),
                denominator: "outcome_n.resilience".into(),
                per: 1
            })
        );
        assert_eq!(c.parts("cases_active"), ["cases_active.red", "cases_active.orange", "cases_active.green"]);
        assert_eq!(c.role("plugin_thing"), None);
        assert_eq!(c.role_or_guess("plugin_thing", 4.0), Role::Count { adds: Adds::Not });
    }

    #[test]
    fn an_organisation_minus_a_school_gives_nothing_back() {
        // The case: high-risk students O1 = 10, A = 6, B = 4 (C = 7, D1 = 17, all = 17).
        let v = values(&[
            ("A", "2025", "high_risk_students", 6.0),
            ("B", "2025", "high_risk_students", 4.0),
            ("C", "2025", "high_risk_students", 7.0),
            ("O1", "2025", "high_risk_students", 10.0),
            ("D1", "2025", "high_risk_students", 17.0),
            ("all", "2025", "high_risk_students", 17.0),
        ]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &hierarchy());
        // Lines: O1 = A + B; D1 = A + B + C; all = D1.
        assert_eq!(lattice.lines.len(), 3);
        // Without protection beyond <5, a reader works B out: 10 − 6 = 4.
        let naive = naive(&lattice);
        let found = audit(&lattice, &naive, &[], 5);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].identity.unit_id.as_str(), found[0].low), ("B", 4.0));
        // Protected: B small, and enough withheld beside it that no line pins B.
        let pattern = protect(&lattice, 5);
        assert!(pattern.small.contains(&id("B", "2025", "high_risk_students")));
        assert!(!pattern.complements.is_empty());
        assert!(audit(&lattice, &reader(&lattice, &pattern), &[], 5).is_empty());
        assert!(pattern.unresolved.is_empty());
    }

    #[test]
    fn two_small_counts_with_a_known_sum_are_protected_too() {
        // Taicang's table 1: two schools `<5` (3 and 4) beside shown ones, the total shown,
        // so the two add up to 7 and each is 3 or 4. A = 3, B = 4, C = 10 under D1 = 17.
        let h = Hierarchy::from_schools([("A", None, Some("D1")), ("B", None, Some("D1")), ("C", None, Some("D1"))]);
        let v = values(&[
            ("A", "2024", "screened_high", 3.0),
            ("B", "2024", "screened_high", 4.0),
            ("C", "2024", "screened_high", 10.0),
            ("D1", "2024", "screened_high", 17.0),
            ("all", "2024", "screened_high", 17.0),
        ]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &h);
        let found = audit(&lattice, &naive(&lattice), &[], 5);
        let ranges: Vec<(&str, f64, f64)> =
            found.iter().map(|f| (f.identity.unit_id.as_str(), f.low, f.high)).collect();
        assert_eq!(ranges, [("A", 3.0, 4.0), ("B", 3.0, 4.0)]);
        // Protected: C is withheld beside them, and a reader is left with 1 to 4 for each.
        let pattern = protect(&lattice, 5);
        assert!(pattern.complements.contains(&id("C", "2024", "screened_high")), "{pattern:?}");
        assert!(audit(&lattice, &reader(&lattice, &pattern), &[], 5).is_empty());
        assert!(pattern.unresolved.is_empty());
    }

    #[test]
    fn a_rate_beside_its_denominator_gives_its_numerator() {
        // Referral rate 2 of 16 cases: 13% of 16 pins 2 (12.5%–13.5% × 16 = 2.0–2.16).
        let v = values(&[
            ("A", "2025", "cases_active", 16.0),
            ("A", "2025", "referral_rate", 0.125),
            ("A", "2025", "cases_referred", 2.0),
        ]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &Hierarchy::default());
        let seen: HashMap<Identity, Knowledge> = [
            (id("A", "2025", "cases_active"), Knowledge::Known(16.0)),
            (id("A", "2025", "cases_referred"), Knowledge::Small),
        ]
        .into();
        let rate = SeenRate { ratio: id("A", "2025", "referral_rate"), low: 0.125, high: 0.135 };
        let found = audit(&lattice, &seen, &[rate], 5);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].low, 2.0);
        // The pattern hides the numerator, so the rate resting on it is withheld.
        let pattern = protect(&lattice, 5);
        let role = Catalogue::standard().role("referral_rate").unwrap();
        assert_eq!(role.rests_on(), ["cases_referred", "cases_active"]);
        assert!(pattern.hides(&id("A", "2025", "cases_referred")));
        // A numerator missing from the table is derived as a reader would.
        let v = values(&[("A", "2025", "cases_active", 16.0), ("A", "2025", "referral_rate", 0.125)]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &Hierarchy::default());
        assert_eq!(lattice.counts.get(&id("A", "2025", "cases_referred")), Some(&2));
    }

    #[test]
    fn markers_that_give_counts_away_become_withheld() {
        // Four schools of 1 under an organisation of 4: each `<5` is at least 1, the
        // total `<5` at most 4, so every school would be exactly 1. With no count left
        // to withhold (the others are 0), the total is shown as `—` instead.
        let h = Hierarchy::from_schools([
            ("A", Some("O1"), None),
            ("B", Some("O1"), None),
            ("C", Some("O1"), None),
            ("E", Some("O1"), None),
            ("F", Some("O1"), None),
        ]);
        let v = values(&[
            ("A", "2025", "cases_referred", 1.0),
            ("B", "2025", "cases_referred", 1.0),
            ("C", "2025", "cases_referred", 1.0),
            ("E", "2025", "cases_referred", 1.0),
            ("F", "2025", "cases_referred", 0.0),
            ("O1", "2025", "cases_referred", 4.0),
            ("all", "2025", "cases_referred", 4.0),
        ]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &h);
        let naive = naive(&lattice);
        assert_eq!(audit(&lattice, &naive, &[], 5).len(), 6, "each school, the organisation and all");
        let pattern = protect(&lattice, 5);
        assert!(pattern.unresolved.is_empty(), "{:?}", pattern.unresolved);
        assert!(audit(&lattice, &reader(&lattice, &pattern), &[], 5).is_empty());
        assert_eq!(pattern.status(&id("O1", "2025", "cases_referred")), Status::Complement);
        assert_eq!(pattern.status(&id("A", "2025", "cases_referred")), Status::Small);
    }

    #[test]
    fn a_complement_of_exactly_k_suffices_as_withheld_says_nothing_of_size() {
        // O1 = A + B with A = 1 and B = 5, C = 20: B withheld beside A leaves 6 = A + B
        // with A in 1..4 and B at least 1: A keeps its whole range.
        let v = values(&[
            ("A", "2025", "incidents", 1.0),
            ("B", "2025", "incidents", 5.0),
            ("C", "2025", "incidents", 20.0),
            ("O1", "2025", "incidents", 6.0),
            ("D1", "2025", "incidents", 26.0),
            ("all", "2025", "incidents", 26.0),
        ]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &hierarchy());
        let pattern = protect(&lattice, 5);
        let found = audit(&lattice, &reader(&lattice, &pattern), &[], 5);
        assert!(found.is_empty(), "{found:?}");
        assert!(pattern.complements.contains(&id("B", "2025", "incidents")), "{:?}", pattern.complements);
    }

    #[test]
    fn two_small_counts_summing_to_two_are_each_one() {
        // A = 1, B = 1, C = 10; O1 = 2 (small), D1 = 12. D1 − C = A + B = 2 → both are 1.
        let v = values(&[
            ("A", "2025", "incidents", 1.0),
            ("B", "2025", "incidents", 1.0),
            ("C", "2025", "incidents", 10.0),
            ("O1", "2025", "incidents", 2.0),
            ("D1", "2025", "incidents", 12.0),
            ("all", "2025", "incidents", 12.0),
        ]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &hierarchy());
        let naive = naive(&lattice);
        let found = audit(&lattice, &naive, &[], 5);
        let pinned: BTreeSet<&str> = found.iter().map(|f| f.identity.unit_id.as_str()).collect();
        assert_eq!(pinned, ["A", "B", "O1"].into(), "{found:?}");
        let pattern = protect(&lattice, 5);
        let found = audit(&lattice, &reader(&lattice, &pattern), &[], 5);
        assert!(found.is_empty(), "{found:?} {pattern:?}");
    }

    #[test]
    fn terms_add_up_to_their_year_and_tiers_to_their_total() {
        let v = values(&[
            ("A", "AY2024-1", "participants.group_session", 3.0),
            ("A", "AY2024-2", "participants.group_session", 30.0),
            ("A", "AY2024", "participants.group_session", 33.0),
            ("A", "2025", "cases_active.red", 2.0),
            ("A", "2025", "cases_active.orange", 9.0),
            ("A", "2025", "cases_active.green", 12.0),
            ("A", "2025", "cases_active", 23.0),
        ]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &Hierarchy::default());
        assert_eq!(lattice.lines.len(), 2, "{:?}", lattice.lines);
        let pattern = protect(&lattice, 5);
        assert!(audit(&lattice, &reader(&lattice, &pattern), &[], 5).is_empty());
        // The smallest other count of each line goes with the small one.
        assert!(pattern.complements.contains(&id("A", "AY2024-2", "participants.group_session")));
        assert!(pattern.complements.contains(&id("A", "2025", "cases_active.orange")));
    }

    #[test]
    fn combinations_of_equations_are_solved_exactly() {
        // Three schools, each pair in a group whose total is shown: x+y=5, y+z=7, x+z=6 → x=2.
        // (Groups of this shape arise from organisations and districts that overlap.)
        let h = Hierarchy {
            groups: vec![
                (("org".into(), "O1".into()), vec![("school".into(), "X".into()), ("school".into(), "Y".into())]),
                (("org".into(), "O2".into()), vec![("school".into(), "Y".into()), ("school".into(), "Z".into())]),
                (("org".into(), "O3".into()), vec![("school".into(), "X".into()), ("school".into(), "Z".into())]),
            ],
        };
        let v = values(&[
            ("X", "2025", "incidents", 2.0),
            ("Y", "2025", "incidents", 3.0),
            ("Z", "2025", "incidents", 4.0),
            ("O1", "2025", "incidents", 5.0),
            ("O2", "2025", "incidents", 7.0),
            ("O3", "2025", "incidents", 6.0),
        ]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &h);
        let found = audit(&lattice, &naive(&lattice), &[], 5);
        let exact: BTreeMap<&str, f64> = found.iter().map(|f| (f.identity.unit_id.as_str(), f.low)).collect();
        assert_eq!(exact, [("X", 2.0), ("Y", 3.0), ("Z", 4.0)].into());
        let pattern = protect(&lattice, 5);
        assert!(audit(&lattice, &reader(&lattice, &pattern), &[], 5).is_empty());
    }

    #[test]
    fn zero_is_shown_and_needs_no_complement() {
        let v = values(&[
            ("A", "2025", "incidents", 0.0),
            ("B", "2025", "incidents", 12.0),
            ("C", "2025", "incidents", 9.0),
            ("O1", "2025", "incidents", 12.0),
            ("D1", "2025", "incidents", 21.0),
            ("all", "2025", "incidents", 21.0),
        ]);
        let lattice = Lattice::build(&v, &Catalogue::standard(), &hierarchy());
        let pattern = protect(&lattice, 5);
        assert!(pattern.small.is_empty() && pattern.complements.is_empty());
    }

    /// Random trees of schools: whatever the counts, the protected pattern
    /// survives the audit, and every small count is withheld.
    #[test]
    fn protection_holds_over_a_grid_of_random_districts() {
        let mut seed: u64 = 0x5eed;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _case in 0..600 {
            let schools = 2 + next(6) as usize;
            let rows: Vec<(String, Option<String>, Option<String>)> = (0..schools)
                .map(|s| {
                    let org = (next(3) > 0).then(|| format!("O{}", next(2)));
                    (format!("S{s}"), org, Some(format!("D{}", next(2))))
                })
                .collect();
            let h = Hierarchy::from_schools(rows.iter().map(|(s, o, d)| (s.as_str(), o.as_deref(), d.as_deref())));
            let mut v: HashMap<Identity, Option<f64>> = HashMap::new();
            // Counts of every school, then every unit as the sum of its schools:
            // incidents and high-risk students; cases by tier with their total; a
            // year of attendances with its two terms.
            let mut school_values: Vec<(String, String, String, f64)> = Vec::new();
            for (s, _, _) in &rows {
                let mut draw = || [0, 1, 2, 3, 4, 5, 6, 9, 14, 30][next(10) as usize] as f64;
                for key in ["incidents", "high_risk_students"] {
                    school_values.push((s.clone(), "2025".into(), key.into(), draw()));
                }
                let tiers = [draw(), draw(), draw()];
                for (key, n) in ["cases_active.red", "cases_active.orange", "cases_active.green"].iter().zip(tiers) {
                    school_values.push((s.clone(), "2025".into(), key.to_string(), n));
                }
                school_values.push((s.clone(), "2025".into(), "cases_active".into(), tiers.iter().sum()));
                let terms = [draw(), draw()];
                school_values.push((s.clone(), "AY2024-1".into(), "participants.group_session".into(), terms[0]));
                school_values.push((s.clone(), "AY2024-2".into(), "participants.group_session".into(), terms[1]));
                school_values.push((
                    s.clone(),
                    "AY2024".into(),
                    "participants.group_session".into(),
                    terms[0] + terms[1],
                ));
            }
            let mut sums: BTreeMap<(String, String, String, String), f64> = BTreeMap::new();
            for (s, period, key, n) in &school_values {
                v.insert(Identity::new("school", s, period, key), Some(*n));
                let (_, o, d) = rows.iter().find(|r| &r.0 == s).unwrap();
                if let Some(o) = o {
                    *sums.entry(("org".into(), o.clone(), period.clone(), key.clone())).or_default() += n;
                }
                if let Some(d) = d {
                    *sums.entry(("district".into(), d.clone(), period.clone(), key.clone())).or_default() += n;
                }
                *sums.entry(("all".into(), "all".into(), period.clone(), key.clone())).or_default() += n;
            }
            for ((t, u, p, k), n) in sums {
                v.insert(Identity::new(&t, &u, &p, &k), Some(n));
            }
            let lattice = Lattice::build(&v, &Catalogue::standard(), &h);
            let pattern = protect(&lattice, 5);
            let found = audit(&lattice, &reader(&lattice, &pattern), &[], 5);
            assert!(found.is_empty(), "{found:?}\n{rows:?}\n{v:?}");
            for (i, n) in &lattice.counts {
                if (1..5).contains(n) {
                    assert_ne!(pattern.status(i), Status::Shown, "{i}");
                }
            }
        }
    }
}
