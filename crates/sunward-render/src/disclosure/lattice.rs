//! The [`Lattice`]: every protected count of a metrics table and every
//! equation a reader can use on it (a unit the sum of its members, an
//! academic year the sum of its terms, a total the sum of its parts), each
//! equation in a family that shares no count with the others.

use std::collections::{BTreeSet, HashMap};

use super::catalogue::{Adds, Catalogue, Role};
use super::hierarchy::Hierarchy;
use super::identity::Identity;

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

/// A ratio, its numerator, its denominator and its scale (`per`).
type Ratio = (Identity, Identity, Identity, u32);

/// An equation: the last member is the sum of the others.
type Line = Vec<Identity>;

impl Lattice {
    /// The lattice of a metrics table. A ratio whose numerator is not in the
    /// table gets it derived as ratio × denominator, rounded: what a reader
    /// would compute.
    pub fn build(values: &HashMap<Identity, Option<f64>>, catalogue: &Catalogue, hierarchy: &Hierarchy) -> Lattice {
        let (mut counts, mut ratios) = counts_and_ratios(values, catalogue);
        derive_numerators(&mut counts, &ratios, values, catalogue);
        ratios.sort();
        ratios.dedup();
        let mut lines = unit_and_term_lines(&counts, catalogue, hierarchy);
        lines.extend(total_lines(&counts, catalogue));
        let by_name = families_by_name(&lines, &counts, catalogue);
        let families = joined_families(&lines, &by_name);
        Lattice { counts, lines, ratios, families }
    }
}

/// The table's protected counts (whole, non-negative values of counts, and
/// of keys the catalogue does not know that look like counts) and its
/// ratios, in the order the table holds them.
fn counts_and_ratios(
    values: &HashMap<Identity, Option<f64>>,
    catalogue: &Catalogue,
) -> (HashMap<Identity, u64>, Vec<Ratio>) {
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
    (counts, ratios)
}

/// Numerators the table lacks, as a reader would work them out: the ratio
/// times its denominator, rounded.
fn derive_numerators(
    counts: &mut HashMap<Identity, u64>,
    ratios: &[Ratio],
    values: &HashMap<Identity, Option<f64>>,
    catalogue: &Catalogue,
) {
    for (ratio, num, den, per) in ratios {
        if counts.contains_key(num) || !matches!(catalogue.role(&num.key), Some(Role::Count { .. })) {
            continue;
        }
        if let (Some(Some(r)), Some(d)) = (values.get(ratio), counts.get(den)) {
            counts.insert(num.clone(), (r * *d as f64 / f64::from(*per)).round().max(0.0) as u64);
        }
    }
}

/// For each metric and period (in order) whose counts add up: the lines of
/// the hierarchy's groups, then those of an academic year of summed rows
/// with its two terms.
fn unit_and_term_lines(counts: &HashMap<Identity, u64>, catalogue: &Catalogue, hierarchy: &Hierarchy) -> Vec<Line> {
    let mut lines = Vec::new();
    // (key, period) → units present.
    let mut by_key_period: HashMap<(&str, &str), BTreeSet<(&str, &str)>> = HashMap::new();
    for id in counts.keys() {
        by_key_period.entry((&id.key, &id.period)).or_default().insert(id.unit());
    }
    let mut key_periods: Vec<&(&str, &str)> = by_key_period.keys().collect();
    key_periods.sort();
    for (key, period) in key_periods {
        let units = &by_key_period[&(*key, *period)];
        let adds = match catalogue.role_or_guess(key, 0.0) {
            Role::Count { adds } => adds,
            _ => Adds::Not,
        };
        if adds == Adds::Not {
            continue;
        }
        lines.extend(hierarchy_lines(hierarchy, units, key, period));
        // An academic year of summed rows is the sum of its terms.
        if adds == Adds::Sum && !period.contains('-') && period.starts_with("AY") {
            lines.extend(term_lines(counts, units, key, period));
        }
    }
    lines
}

/// A group of the hierarchy is the sum of its members, for one metric and
/// period, where the group and every member have a count (`units`).
fn hierarchy_lines(hierarchy: &Hierarchy, units: &BTreeSet<(&str, &str)>, key: &str, period: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    for ((gt, gid), members) in &hierarchy.groups {
        if !units.contains(&(gt.as_str(), gid.as_str())) || members.is_empty() {
            continue;
        }
        if members.iter().all(|(mt, mid)| units.contains(&(mt.as_str(), mid.as_str()))) {
            let mut line: Line = members.iter().map(|(mt, mid)| Identity::new(mt, mid, period, key)).collect();
            line.push(Identity::new(gt, gid, period, key));
            lines.push(line);
        }
    }
    lines
}

/// Each unit's academic year `period` is the sum of its two terms, where
/// both terms have a count.
fn term_lines(counts: &HashMap<Identity, u64>, units: &BTreeSet<(&str, &str)>, key: &str, period: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    for (ut, uid) in units {
        let terms = [format!("{period}-1"), format!("{period}-2")];
        let ids: Vec<Identity> = terms.iter().map(|t| Identity::new(ut, uid, t, key)).collect();
        if ids.iter().all(|i| counts.contains_key(i)) {
            let mut line = ids;
            line.push(Identity::new(ut, uid, period, key));
            lines.push(line);
        }
    }
    lines
}

/// Totals of parts within one unit and period, in the order of the totals,
/// where every part has a count.
fn total_lines(counts: &HashMap<Identity, u64>, catalogue: &Catalogue) -> Vec<Line> {
    let mut lines = Vec::new();
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
    lines
}

/// A line's family by name: its metric (a part of a total counts as the
/// total) and its year (a term counts as its academic year), numbered in the
/// order of the lines.
///
/// A part of two totals (`appointments_attended` of `appointments` and of
/// `appointments_due`) takes the first total by name, whatever the order
/// the counts are held in, so the pattern is the same every run.
fn families_by_name(lines: &[Line], counts: &HashMap<Identity, u64>, catalogue: &Catalogue) -> Vec<usize> {
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
    lines
        .iter()
        .map(|line: &Line| {
            let last = &line[line.len() - 1];
            let key = part_of.get(last.key.as_str()).copied().unwrap_or(&last.key);
            let year = term_year(&last.period).unwrap_or(&last.period);
            let next = family_numbers.len();
            *family_numbers.entry((key, year)).or_insert(next)
        })
        .collect()
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
