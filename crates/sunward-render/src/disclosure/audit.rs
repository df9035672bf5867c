//! The reader's side: from what a set of documents prints, every hidden
//! small count a reader can narrow down.

use std::collections::HashMap;

use super::identity::Identity;
use super::knowledge::{Finding, Knowledge, SeenRate};
use super::lattice::Lattice;
use super::system::System;

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
