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
//!
//! The parts, one module each: the identity of a figure, the catalogue of
//! what each metric is, the hierarchy of units, the lattice of counts and
//! equations, the pattern the rules decide, protection (which decides it),
//! the audit with what a reader knows, and the system of numbered equations
//! that the audit and protection both reason over.

mod audit;
mod catalogue;
mod hierarchy;
mod identity;
mod knowledge;
mod lattice;
mod pattern;
mod protect;
mod system;

pub use audit::audit;
pub use catalogue::{Adds, Catalogue, Role};
pub use hierarchy::Hierarchy;
pub use identity::Identity;
pub use knowledge::{Finding, Knowledge, SeenRate};
pub use lattice::Lattice;
pub use pattern::{Pattern, Status};
pub use protect::protect;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet, HashMap};

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
