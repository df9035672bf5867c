//! The equations of a lattice over numbered counts, and what a reader can
//! work out from them: interval reasoning over the equations and the rates
//! they see, then exact solving (Gaussian elimination, one connected group
//! of equations at a time).

use std::collections::{BTreeMap, HashMap};

use super::knowledge::Knowledge;

/// Equations over numbered counts: the audit's inner loops work on indices,
/// not on identities (hashing four strings per step was most of the cost).
#[derive(Debug, Default)]
pub(super) struct System {
    /// Each equation: the last count is the sum of the others.
    pub(super) lines: Vec<Vec<usize>>,
}

/// An equation over the unknown counts: Σ coefficient · x = constant.
type Equation = (Vec<(usize, f64)>, f64);

impl System {
    /// Every count whose true value is from 1 to k−1 and that a reader with
    /// `knowledge` (and the rates `facts`: numerator, denominator, lowest and
    /// highest rate) can narrow down beyond "from 1 to k−1" (to one value, or
    /// to a range that leaves some of those out), with the range they find.
    pub(super) fn pinned(
        &self,
        knowledge: &[Option<Knowledge>],
        truth: &[Option<u64>],
        facts: &[(usize, usize, f64, f64)],
        k: u64,
    ) -> Vec<(usize, f64, f64)> {
        let kf = k as f64;
        let mut bounds = initial_bounds(knowledge, kf);
        self.narrow(&mut bounds, facts);
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
        for (i, value) in self.solve(&known_values(knowledge)) {
            if hidden_small(i) {
                found.insert(i, (value, value));
            }
        }
        found.into_iter().map(|(i, (lo, hi))| (i, lo, hi)).collect()
    }

    /// Narrows the bounds by the equations and the rates, round after round
    /// (at most 200), until a round changes nothing.
    fn narrow(&self, bounds: &mut [(f64, f64)], facts: &[(usize, usize, f64, f64)]) {
        for _round in 0..200 {
            let mut changed = self.narrow_by_lines(bounds);
            changed |= narrow_by_rates(bounds, facts);
            if !changed {
                break;
            }
        }
    }

    /// One pass over the equations: a total lies between the sums of its
    /// parts' bounds, and each part between the total less the others.
    /// Whether any bound changed.
    fn narrow_by_lines(&self, bounds: &mut [(f64, f64)]) -> bool {
        let mut changed = false;
        for line in &self.lines {
            let (parts, total) = line.split_at(line.len() - 1);
            let total = total[0];
            let (plo, phi) = parts.iter().fold((0.0, 0.0), |(l, h), p| (l + bounds[*p].0, h + bounds[*p].1));
            changed |= tighten(bounds, total, plo, phi);
            let t = bounds[total];
            for &p in parts {
                let b = bounds[p];
                changed |= tighten(bounds, p, t.0 - (phi - b.1), t.1 - (plo - b.0));
            }
        }
        changed
    }

    /// Counts that the equations alone pin down, with the value they give:
    /// Gaussian elimination over the unknown counts, one connected group at a time.
    fn solve(&self, known: &[Option<f64>]) -> Vec<(usize, f64)> {
        let equations = self.equations(known);
        let mut out = Vec::new();
        for eqs in connected_groups(&equations, known.len()).values() {
            out.extend(solve_group(&equations, eqs));
        }
        out
    }

    /// The equations over the unknown counts, the known ones moved to the
    /// constant; lines with no unknown left are dropped.
    fn equations(&self, known: &[Option<f64>]) -> Vec<Equation> {
        let mut equations: Vec<Equation> = Vec::new();
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
        equations
    }
}

/// What a reader knows of each count as bounds: its value, 1 to k−1 for
/// `<k`, at least 1 for withheld, at least 0 for unknown.
fn initial_bounds(knowledge: &[Option<Knowledge>], kf: f64) -> Vec<(f64, f64)> {
    knowledge
        .iter()
        .map(|kn| match kn {
            Some(Knowledge::Known(v)) => (*v, *v),
            Some(Knowledge::Small) => (1.0, kf - 1.0),
            Some(Knowledge::Withheld) => (1.0, f64::INFINITY),
            None => (0.0, f64::INFINITY),
        })
        .collect()
}

/// The values a reader reads, by count (`None` where not printed).
fn known_values(knowledge: &[Option<Knowledge>]) -> Vec<Option<f64>> {
    knowledge
        .iter()
        .map(|kn| match kn {
            Some(Knowledge::Known(v)) => Some(*v),
            _ => None,
        })
        .collect()
}

/// Narrows count `i` to the whole numbers within `lo..=hi`; whether its
/// bounds changed.
fn tighten(b: &mut [(f64, f64)], i: usize, lo: f64, hi: f64) -> bool {
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
}

/// One pass over the rates a reader saw: a numerator lies within the rate
/// times its denominator, and a denominator within the numerator over the
/// rate. Whether any bound changed.
fn narrow_by_rates(bounds: &mut [(f64, f64)], facts: &[(usize, usize, f64, f64)]) -> bool {
    let mut changed = false;
    for &(n, d, rlo, rhi) in facts {
        let db = bounds[d];
        changed |= tighten(bounds, n, rlo * db.0, rhi * db.1);
        let nb = bounds[n];
        if rhi > 0.0 && rlo > 0.0 {
            changed |= tighten(bounds, d, nb.0 / rhi, nb.1 / rlo);
        }
    }
    changed
}

/// The equations in groups that share no unknown, each group keyed by its
/// root (in that order) and listing its equations by index.
fn connected_groups(equations: &[Equation], unknowns: usize) -> BTreeMap<usize, Vec<usize>> {
    let mut parent: Vec<usize> = (0..unknowns).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for (terms, _) in equations {
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
    groups
}

/// The unknowns one group of equations (`eqs`) pins down, with their
/// values. A group of more than 4,000 unknowns is left to the interval
/// reasoning (too large to solve densely).
fn solve_group(equations: &[Equation], eqs: &[usize]) -> Vec<(usize, f64)> {
    let mut cols: Vec<usize> = eqs.iter().flat_map(|e| equations[*e].0.iter().map(|(i, _)| *i)).collect();
    cols.sort_unstable();
    cols.dedup();
    if cols.len() > 4000 {
        return Vec::new(); // too large to solve densely; interval reasoning still applies
    }
    let width = cols.len() + 1;
    let mut rows = dense_rows(equations, eqs, &cols);
    let pivots = reduce(&mut rows, cols.len());
    let mut out = Vec::new();
    for (r, col) in pivots {
        let alone = rows[r][..cols.len()].iter().enumerate().all(|(c, v)| c == col || v.abs() < 1e-9);
        if alone {
            out.push((cols[col], rows[r][width - 1]));
        }
    }
    out
}

/// The group's equations as a dense matrix: a column per unknown of `cols`
/// and the constant last.
fn dense_rows(equations: &[Equation], eqs: &[usize], cols: &[usize]) -> Vec<Vec<f64>> {
    let col_of: HashMap<usize, usize> = cols.iter().enumerate().map(|(c, i)| (*i, c)).collect();
    let width = cols.len() + 1;
    eqs.iter()
        .map(|e| {
            let mut row = vec![0.0; width];
            for (i, c) in &equations[*e].0 {
                row[col_of[i]] += c;
            }
            row[width - 1] = equations[*e].1;
            row
        })
        .collect()
}

/// Brings `rows` (over `unknowns` columns and the constant) to reduced row
/// echelon form with partial pivoting; returns each pivot's row and column.
fn reduce(rows: &mut [Vec<f64>], unknowns: usize) -> Vec<(usize, usize)> {
    let mut pivot_row = 0;
    let mut pivots = Vec::new();
    for col in 0..unknowns {
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
    pivots
}
