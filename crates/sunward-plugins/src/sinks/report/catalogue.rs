//! The metric catalogue as data: `pipelines/metrics-catalogue.yaml`.
//!
//! What each figure of the metrics table is — a count of people (withheld
//! when small), a tally, a plain value, or a ratio, statistic or comparison
//! and the counts it rests on — decides what a public report may show. The
//! catalogue lives in a YAML file beside the metrics pipeline, embedded in
//! the binary and read once ([`standard`]); [`parse_with_docs`] reads such a file, each
//! mistake placed at its line and column.

use serde::Deserialize;
use std::sync::OnceLock;
use sunward_core::yaml::error_path;
use sunward_core::yaml::{self, Node, PathPart};
use sunward_core::{Diagnostic, Location};
use sunward_render::disclosure::{Adds, Catalogue, Role};

/// The shipped catalogue's file.
const STANDARD: (&str, &str) =
    ("pipelines/metrics-catalogue.yaml", include_str!("../../../../../pipelines/metrics-catalogue.yaml"));

/// The catalogue of the standard metrics pipeline.
pub fn standard() -> &'static Catalogue {
    &standard_with_docs().0
}

/// The standard catalogue with what each entry says for people.
fn standard_with_docs() -> &'static (Catalogue, Vec<MetricDoc>) {
    static CATALOGUE: OnceLock<(Catalogue, Vec<MetricDoc>)> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let (file, text) = STANDARD;
        // The shipped file is part of the program, checked by its tests.
        parse_with_docs(text, file).unwrap_or_else(|errors| {
            panic!(
                "the shipped metric catalogue is broken: {}",
                errors.iter().map(|e| e.render(None)).collect::<String>()
            )
        })
    })
}

/// What an entry says for people: its unit, the periods it exists for and
/// what it is, in English and Chinese.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDoc {
    /// The key or family (`events.*`).
    #[serde(skip)]
    pub key: String,
    /// Its unit.
    pub unit: Option<Bilingual>,
    /// The periods it exists for.
    pub periods: Option<Periods>,
    /// What it is, in English.
    pub en: Option<String>,
    /// What it is, in Chinese.
    pub zh: Option<String>,
}

/// A text in English and Chinese.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    /// English.
    pub en: String,
    /// Chinese.
    pub zh: String,
}

/// The periods a metric exists for.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Periods {
    /// Calendar years, academic years and terms.
    All,
    /// Months too (`2025-06`), besides calendar years, academic years and terms.
    MonthsAndAll,
    /// Academic years only.
    AcademicYears,
    /// Academic years and their terms.
    AcademicYearsAndTerms,
    /// The row of the current academic year only (a comparison with the baseline).
    CurrentAcademicYear,
}

impl Periods {
    fn describe(self) -> &'static str {
        match self {
            Periods::All => "all",
            Periods::MonthsAndAll => "months and all",
            Periods::AcademicYears => "academic years",
            Periods::AcademicYearsAndTerms => "academic years and terms",
            Periods::CurrentAcademicYear => "the current academic year",
        }
    }
}

/// The fields of an entry that are for people, not for the rules.
const DOC_FIELDS: [&str; 4] = ["unit", "periods", "en", "zh"];

/// The metric reference of docs/METRICS.md: every entry of the shipped
/// catalogue with its kind, what it rests on, unit, periods and meaning.
pub fn reference_markdown() -> String {
    let (catalogue, docs) = standard_with_docs();
    let mut out =
        String::from("| key | what it is | 含义 | kind | rests on | unit | periods |\n|---|---|---|---|---|---|---|\n");
    for doc in docs {
        // A family is described by one of its members, `<…>` standing for the rest of the key.
        let member = doc.key.replace('*', "<…>");
        let role = catalogue.role(&member);
        let kind = match &role {
            Some(Role::Count { adds: Adds::Sum }) => "count (adds up)",
            Some(Role::Count { .. }) => "count (distinct)",
            Some(Role::Tally) => "tally",
            Some(Role::Plain) => "plain",
            Some(Role::Ratio { .. }) => "ratio",
            Some(Role::Statistic { .. }) => "statistic",
            Some(Role::Comparison { .. }) => "comparison with the baseline",
            None => "",
        };
        let mut rests = role
            .as_ref()
            .map(|r| r.rests_on().iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" ÷ "))
            .unwrap_or_default();
        if let Some(Role::Ratio { per, .. }) = &role
            && *per != 1
        {
            rests.push_str(&format!(" × {per}"));
        }
        let unit = doc.unit.as_ref().map(|u| format!("{} ({})", u.en, u.zh)).unwrap_or_default();
        let periods = doc.periods.map(Periods::describe).unwrap_or_default();
        out.push_str(&format!(
            "| `{member}` | {} | {} | {kind} | {rests} | {unit} | {periods} |\n",
            doc.en.as_deref().unwrap_or(""),
            doc.zh.as_deref().unwrap_or("")
        ));
    }
    out
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    /// Each metric key or family with its role (order kept, for the places of mistakes).
    metrics: serde_json::Map<String, serde_json::Value>,
}

/// One entry as written: its role and what the role needs.
#[derive(Debug, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase", deny_unknown_fields)]
enum EntryFile {
    Count {
        adds: AddsFile,
        #[serde(default)]
        parts: Vec<String>,
    },
    // Struct variants, so that a field they do not take is an error.
    Tally {},
    Plain {},
    Ratio {
        numerator: String,
        denominator: String,
        #[serde(default = "one")]
        per: u32,
    },
    Statistic {
        over: String,
    },
    Comparison {
        of: String,
    },
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AddsFile {
    Sum,
    Distinct,
}

/// Read a catalogue file (`file` names it in messages): the catalogue and
/// what each entry says for people. Every mistake is reported, each at its
/// line and column.
pub fn parse_with_docs(text: &str, file: &str) -> Result<(Catalogue, Vec<MetricDoc>), Vec<Diagnostic>> {
    parse_onto(Catalogue::default(), text, file)
}

/// `base` with the entries of a project's catalogue file (`file` names it
/// in messages): new metrics only — an entry may not redefine a key `base`
/// has, and what a new ratio, statistic or comparison rests on may be any
/// count of either. Every mistake is reported, each at its line and column.
pub fn extend(base: &Catalogue, text: &str, file: &str) -> Result<Catalogue, Vec<Diagnostic>> {
    parse_onto(base.clone(), text, file).map(|(c, _)| c)
}

/// The entries of `text` added to `catalogue`.
fn parse_onto(
    mut catalogue: Catalogue,
    text: &str,
    file: &str,
) -> Result<(Catalogue, Vec<MetricDoc>), Vec<Diagnostic>> {
    let root = yaml::parse(text, file).map_err(|d| vec![d])?;
    let at = |node: &Node| Location { file: file.to_string(), line: node.span.line, column: node.span.column };
    let typed: CatalogueFile = serde_path_to_error::deserialize(root.to_json()).map_err(|e| {
        let place = root.find(&error_path(&e), false);
        vec![Diagnostic::invalid(format!("this is not a metric catalogue: {}", e.inner())).at(Some(at(place)))]
    })?;
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for (key, value) in &typed.metrics {
        let path = [PathPart::Key("metrics".into()), PathPart::Key(key.clone())];
        let node = root.find(&path, false);
        if catalogue.has(key) {
            errors.push(
                Diagnostic::invalid(format!(
                    "metric `{key}` is already in the catalogue; a project adds metrics, it cannot redefine one"
                ))
                .at(Some(at(root.find(&path, true))))
                .hint("give your metric a name of its own (docs/METRICS.md lists the shipped ones)"),
            );
            continue;
        }
        let (rules, doc_fields) = split_doc_fields(value);
        match read_doc(key, doc_fields) {
            Ok(doc) => docs.push(doc),
            Err(message) => errors.push(Diagnostic::invalid(message).at(Some(at(node))).hint(
                "`unit: {en: …, zh: …}`, `periods:` one of all, months_and_all, academic_years, academic_years_and_terms, current_academic_year",
            )),
        }
        let entry: EntryFile = match serde_path_to_error::deserialize(rules) {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(
                    Diagnostic::invalid(format!("metric `{key}`: {}", e.inner()))
                        .at(Some(at(node)))
                        .hint("roles: count (with adds: sum or distinct), tally, plain, ratio, statistic, comparison"),
                );
                continue;
            }
        };
        let (role, parts) = entry.into_role();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        catalogue.add_with_parts(key, role, &parts);
    }
    for (key, rests_on) in unknown_bases(&catalogue, &typed) {
        let node = root.find(&[PathPart::Key("metrics".into()), PathPart::Key(key.clone())], false);
        errors.push(
            Diagnostic::invalid(format!(
                "metric `{key}` rests on `{rests_on}`, which the catalogue does not list as a count or a tally"
            ))
            .at(Some(at(node))),
        );
    }
    if errors.is_empty() { Ok((catalogue, docs)) } else { Err(errors) }
}

/// An entry as written, parted into the fields for the rules and those for
/// people ([`DOC_FIELDS`]).
fn split_doc_fields(value: &serde_json::Value) -> (serde_json::Value, serde_json::Map<String, serde_json::Value>) {
    let mut rules = value.clone();
    let mut doc_fields = serde_json::Map::new();
    if let Some(map) = rules.as_object_mut() {
        for field in DOC_FIELDS {
            if let Some(v) = map.remove(field) {
                doc_fields.insert(field.to_string(), v);
            }
        }
    }
    (rules, doc_fields)
}

/// What the entry `key` says for people, or the message saying what is wrong with it.
fn read_doc(key: &str, doc_fields: serde_json::Map<String, serde_json::Value>) -> Result<MetricDoc, String> {
    match serde_path_to_error::deserialize::<_, MetricDoc>(serde_json::Value::Object(doc_fields)) {
        Ok(mut doc) => {
            doc.key = key.to_string();
            Ok(doc)
        }
        Err(e) => Err(format!("metric `{key}`: {}", e.inner())),
    }
}

impl EntryFile {
    /// The role the entry gives its metric, and the parts it adds up from.
    fn into_role(self) -> (Role, Vec<String>) {
        match self {
            EntryFile::Count { adds, parts } => {
                let adds = match adds {
                    AddsFile::Sum => Adds::Sum,
                    AddsFile::Distinct => Adds::Distinct,
                };
                (Role::Count { adds }, parts)
            }
            EntryFile::Tally {} => (Role::Tally, Vec::new()),
            EntryFile::Plain {} => (Role::Plain, Vec::new()),
            EntryFile::Ratio { numerator, denominator, per } => {
                (Role::Ratio { numerator, denominator, per }, Vec::new())
            }
            EntryFile::Statistic { over } => (Role::Statistic { over }, Vec::new()),
            EntryFile::Comparison { of } => (Role::Comparison { of }, Vec::new()),
        }
    }
}

/// Each metric of the file resting on a figure the catalogue does not know
/// as a count or a tally, with that figure, in the file's order: the
/// publication rules could not tell whether it is hidden.
fn unknown_bases<'f>(catalogue: &Catalogue, typed: &'f CatalogueFile) -> Vec<(&'f String, String)> {
    let mut unknown = Vec::new();
    for (key, _) in &typed.metrics {
        let Some(role) = catalogue.role(&key.replace('*', "x")) else { continue };
        for rests_on in role.rests_on() {
            let known = catalogue.role(rests_on);
            if !matches!(known, Some(Role::Count { .. }) | Some(Role::Tally)) {
                unknown.push((key, rests_on.to_string()));
            }
        }
    }
    unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_reads() {
        let c = standard();
        assert_eq!(c.role("student_contacts"), Some(Role::Count { adds: Adds::Sum }));
        assert_eq!(c.role("events.case_session"), Some(Role::Tally));
        assert_eq!(
            c.role("improvement_rate.resilience"),
            Some(Role::Ratio {
                numerator: "improved.resilience".into(),
                denominator: "outcome_n.resilience".into(),
                per: 1
            })
        );
        assert_eq!(c.parts("cases_active"), ["cases_active.red", "cases_active.orange", "cases_active.green"]);
        assert_eq!(c.role("unheard_of"), None);
    }

    /// Every shipped entry says what it is, in both languages, with its unit
    /// and periods; docs/METRICS.md holds the reference made from them.
    /// `SUNWARD_WRITE_DOCS=1` writes it there.
    #[test]
    fn the_metric_reference_in_the_docs_is_the_catalogue() {
        for doc in &standard_with_docs().1 {
            assert!(doc.unit.is_some() && doc.periods.is_some() && doc.en.is_some() && doc.zh.is_some(), "{}", doc.key);
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/METRICS.md");
        let docs = std::fs::read_to_string(&path).unwrap();
        let (start, end) = ("<!-- metric reference: begin -->\n", "<!-- metric reference: end -->");
        let (Some(a), Some(b)) = (docs.find(start), docs.find(end)) else {
            panic!("docs/METRICS.md has no metric reference")
        };
        let reference = reference_markdown();
        if std::env::var_os("SUNWARD_WRITE_DOCS").is_some() {
            let written = format!("{}{start}{reference}{}", &docs[..a], &docs[b..]);
            std::fs::write(&path, written).unwrap();
            return;
        }
        assert_eq!(&docs[a + start.len()..b], reference, "regenerate with SUNWARD_WRITE_DOCS=1");
    }

    #[test]
    fn mistakes_are_placed() {
        let text = "metrics:\n  a: {role: count, adds: sum}\n  b: {role: rate, numerator: a}\n  c: {role: ratio, numerator: a, denominator: d}\n  e: {role: tally, over: a}\n";
        let errors = parse_with_docs(text, "c.yaml").unwrap_err();
        let places: Vec<(usize, &str)> =
            errors.iter().map(|e| (e.location.as_ref().unwrap().line, e.message.as_str())).collect();
        assert_eq!(places.len(), 3, "{places:?}");
        assert!(places[0].0 == 3 && places[0].1.starts_with("metric `b`: unknown variant `rate`"), "{places:?}");
        assert!(places[1].0 == 5 && places[1].1.starts_with("metric `e`: unknown field `over`"), "{places:?}");
        assert!(places[2].0 == 4 && places[2].1.contains("rests on `d`"), "{places:?}");
    }
}
