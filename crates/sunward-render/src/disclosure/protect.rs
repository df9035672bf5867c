//! Protection: deciding, once for a whole table, which counts every public
//! document withholds — the small ones, and as many more as it takes until
//! the audit of a reader who sees every shown count and every marker finds
//! nothing. The lattice is protected one family of equations at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::identity::Identity;
use super::knowledge::{Finding, Knowledge};
use super::lattice::Lattice;
use super::pattern::Pattern;
use super::system::System;

/// Decides, once for a whole table, which counts every public document
/// withholds: the small ones, and as many more as it takes until the
/// [`audit`](super::audit) of a reader who sees every shown count and every `<k` and `—`
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
///
/// Each round completes the lines (no line with one hidden count), audits
/// what a reader would see, and withholds more near each count the audit
/// finds, until it finds nothing or a round withholds nothing new.
fn protect_group(lattice: &Lattice, k: u64) -> Pattern {
    let mut group = Group::new(lattice, k);
    let truth: Vec<Option<u64>> = group.value.iter().map(|v| Some(*v)).collect();
    let mut unresolved = Vec::new();
    for _round in 0..10_000 {
        group.complete_lines();
        let findings = group.system.pinned(&group.knowledge(), &truth, &[], k);
        if findings.is_empty() {
            unresolved.clear();
            break;
        }
        let before = group.withheld();
        group.withhold_near(&findings);
        unresolved = group.findings(&findings);
        if group.withheld() == before {
            break;
        }
    }
    group.into_pattern(k, unresolved)
}

/// One group's counts, numbered in order of identity, and what is withheld
/// of them so far.
struct Group<'l> {
    /// The counts' identities, sorted.
    ids: Vec<&'l Identity>,
    /// Their values.
    value: Vec<u64>,
    /// The group's equations over the numbered counts.
    system: System,
    /// For each count, the equations it is on.
    lines_of: Vec<Vec<usize>>,
    /// Whether each count is small (1 to k−1).
    small: Vec<bool>,
    /// Whether each count is hidden (small, or withheld beside one).
    hidden: Vec<bool>,
    /// Shown as withheld instead of `<k`: a small count whose marker would give it away.
    masked: Vec<bool>,
}

impl<'l> Group<'l> {
    /// Numbers the group's counts once (every round works on indices); the
    /// small ones start hidden.
    fn new(lattice: &'l Lattice, k: u64) -> Self {
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
        let hidden = small.clone();
        let masked = vec![false; ids.len()];
        Group { ids, value, system, lines_of, small, hidden, masked }
    }

    /// Complementary suppression: withholds beside the hidden count of each
    /// line that has exactly one, until no line has.
    fn complete_lines(&mut self) {
        loop {
            let mut changed = false;
            for line in &self.system.lines {
                if line.iter().filter(|i| self.hidden[**i]).count() == 1
                    && let Some(i) = pick(line, &self.hidden, &self.value)
                {
                    self.hidden[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// What a reader sees of each count: `<k` for a small one (unless
    /// masked), withheld for the other hidden and the masked, else its value.
    fn knowledge(&self) -> Vec<Option<Knowledge>> {
        (0..self.ids.len())
            .map(|i| {
                Some(if self.small[i] && !self.masked[i] {
                    Knowledge::Small
                } else if self.hidden[i] || self.masked[i] {
                    Knowledge::Withheld
                } else {
                    Knowledge::Known(self.value[i] as f64)
                })
            })
            .collect()
    }

    /// How many counts are hidden or masked.
    fn withheld(&self) -> usize {
        self.hidden.iter().chain(&self.masked).filter(|h| **h).count()
    }

    /// Withholds more near each count the audit found. Lines changed this
    /// round are skipped: a finding on one of them waits for the next audit,
    /// which may find it already protected.
    fn withhold_near(&mut self, findings: &[(usize, f64, f64)]) {
        let mut touched = vec![false; self.system.lines.len()];
        for (f, _, _) in findings {
            let level: Vec<usize> = self.lines_of[*f].clone();
            if level.iter().any(|l| touched[*l]) {
                continue;
            }
            self.withhold_nearest(level, &mut touched);
        }
    }

    /// The nearest lines with a count left to withhold: first those through
    /// the count (`level`), then those through the hidden counts of those
    /// lines, and so on. On the first level where some line has one, it is
    /// withheld; failing that, where some line has a small count, that is
    /// masked. The lines of what changes are `touched`.
    fn withhold_nearest(&mut self, mut level: Vec<usize>, touched: &mut [bool]) {
        let mut visited: BTreeSet<usize> = level.iter().copied().collect();
        while !level.is_empty() {
            let picks: Vec<usize> =
                level.iter().filter_map(|l| pick(&self.system.lines[*l], &self.hidden, &self.value)).collect();
            if !picks.is_empty() {
                for i in picks {
                    self.hidden[i] = true;
                    self.lines_of[i].iter().for_each(|l| touched[*l] = true);
                }
                break;
            }
            // No count left to withhold: a small count of the line, the total first, is
            // shown as withheld instead of `<k`.
            let masks = self.masks(&level);
            if !masks.is_empty() {
                for i in masks {
                    self.masked[i] = true;
                    self.lines_of[i].iter().for_each(|l| touched[*l] = true);
                }
                break;
            }
            level = self.next_level(&level, &mut visited);
        }
    }

    /// On each line of `level`, its last small count not yet masked (the
    /// total first).
    fn masks(&self, level: &[usize]) -> Vec<usize> {
        level
            .iter()
            .filter_map(|l| self.system.lines[*l].iter().rev().find(|i| self.small[**i] && !self.masked[**i]).copied())
            .collect()
    }

    /// The lines not yet `visited` through the hidden counts of the lines of
    /// `level`.
    fn next_level(&self, level: &[usize], visited: &mut BTreeSet<usize>) -> Vec<usize> {
        let mut next = Vec::new();
        for l in level {
            for i in self.system.lines[*l].iter().filter(|i| self.hidden[**i]) {
                for m in &self.lines_of[*i] {
                    if visited.insert(*m) {
                        next.push(*m);
                    }
                }
            }
        }
        next
    }

    /// The audit's findings as findings about identities.
    fn findings(&self, findings: &[(usize, f64, f64)]) -> Vec<Finding> {
        findings
            .iter()
            .map(|(i, low, high)| Finding {
                identity: self.ids[*i].clone(),
                value: self.value[*i],
                low: *low,
                high: *high,
            })
            .collect()
    }

    /// The group's pattern: the masked counts as `small` (to come out of the
    /// table's `<k` set), complements and masked counts as `complements`.
    fn into_pattern(self, k: u64, unresolved: Vec<Finding>) -> Pattern {
        let ids = &self.ids;
        let complements = (0..ids.len())
            .filter(|i| (self.hidden[*i] && !self.small[*i]) || self.masked[*i])
            .map(|i| ids[i].clone())
            .collect();
        let masked = (0..ids.len()).filter(|i| self.masked[*i]).map(|i| ids[i].clone()).collect();
        Pattern { k, small: masked, complements, unresolved }
    }
}

/// The count to withhold beside the hidden ones of a line: the smallest
/// shown non-zero count, a part before the total on a tie.
fn pick(line: &[usize], hidden: &[bool], value: &[u64]) -> Option<usize> {
    let total = line[line.len() - 1];
    line.iter().filter(|i| !hidden[**i] && value[**i] > 0).min_by_key(|i| (value[**i], **i == total)).copied()
}
