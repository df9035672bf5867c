//! What each metric of the metrics table is, for the publication rules: a
//! count of people (protected), a tally (always shown), a plain value, or a
//! ratio, statistic or comparison with the counts it rests on; and which
//! keys a total is the sum of.

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
