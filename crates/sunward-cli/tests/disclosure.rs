//! Withheld means withheld: the disclosure audit, end to end.
//!
//! Every public report of a run writes, beside its HTML, PDF and Word file,
//! `<name>.figures.json`: each figure it prints with its unit, period and
//! metric, as printed (the figure, `<5` or `—`). The tests here check that
//! file against what the documents really show (the HTML text, the PDF text
//! layer, the Word file through LibreOffice), then play a reader with a
//! calculator who holds every public document of the run at once: from the
//! figures and markers printed, the rates with their rounding and every
//! equation between figures (an organisation or a district is the sum of
//! its schools, `all` of its districts, a year of its terms, a total of its
//! parts), they try to pin down each withheld count. They must find none —
//! on the sample project, on the two sample districts, and on generated
//! districts of many small schools. The same reader, given what the rules
//! before this audit printed (small counts as `<5`, everything else shown,
//! a rate withheld only when a count it was known to rest on was small),
//! finds the leaks readers reported: a referral rate beside its cases, an
//! organisation's high-risk students minus one school's.

use crate::common;

use common::{chromium_dom, docx_text, ok, pdf_text, repo};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use sunward_render::disclosure::{Catalogue, Hierarchy, Identity, Knowledge, Lattice, Role, SeenRate, audit};

fn sunward(args: &[String]) {
    let output = Command::new(env!("CARGO_BIN_EXE_sunward")).current_dir(repo()).args(args).output().unwrap();
    ok(&output);
}

fn run(pipeline: &str, sets: &[&str], out: &Path) {
    let mut args = vec!["run".to_string(), format!("pipelines/{pipeline}"), "--quiet".into()];
    for s in common::sample_settings(pipeline).iter().map(String::as_str).chain(sets.iter().copied()) {
        args.push("--set".into());
        args.push(s.to_string());
    }
    args.push("--out".into());
    args.push(out.display().to_string());
    sunward(&args);
}

/// One printed figure of a `.figures.json`.
struct Printed {
    identity: Identity,
    shown: String,
    value: Option<f64>,
}

fn read_printed(path: &Path) -> (String, Vec<Printed>) {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let audience = doc["audience"].as_str().unwrap().to_string();
    let figures = doc["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Printed {
            identity: Identity::new(
                f["unit_type"].as_str().unwrap(),
                f["unit_id"].as_str().unwrap(),
                f["period"].as_str().unwrap(),
                f["metric"].as_str().unwrap(),
            ),
            shown: f["shown"].as_str().unwrap().to_string(),
            value: f["value"].as_f64(),
        })
        .collect();
    (audience, figures)
}

/// Every public `.figures.json` under `dirs`.
fn public_ledgers(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(".figures.json") && read_printed(&path).0 == "public" {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The metrics table as the lattice's values.
fn truth(metrics_csv: &Path) -> HashMap<Identity, Option<f64>> {
    let mut reader = csv::Reader::from_path(metrics_csv).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (Identity::new(&r[0], &r[1], &r[2], &r[3]), r[4].parse::<f64>().ok())
        })
        .collect()
}

fn hierarchy(schools_csv: &Path) -> Hierarchy {
    let mut reader = csv::Reader::from_path(schools_csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (s, o, d) = (col("school_id").unwrap(), col("org_id"), col("district_id"));
    let rows: Vec<(String, Option<String>, Option<String>)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let get = |c: Option<usize>| c.map(|c| r[c].to_string()).filter(|v| !v.is_empty());
            (r[s].to_string(), get(o), get(d))
        })
        .collect();
    Hierarchy::from_schools(rows.iter().map(|(s, o, d)| (s.as_str(), o.as_deref(), d.as_deref())))
}

/// What a reader holding all these documents knows: each count's value or
/// marker, and each rate printed.
fn reader_of(ledgers: &[PathBuf]) -> (HashMap<Identity, Knowledge>, Vec<SeenRate>) {
    let catalogue = sunward_plugins::sinks::report::catalogue::standard().clone();
    let mut seen: HashMap<Identity, Knowledge> = HashMap::new();
    let mut rates = Vec::new();
    for path in ledgers {
        for p in read_printed(path).1 {
            let knowledge = match (p.value, p.shown.as_str()) {
                (Some(v), _) => Knowledge::Known(v),
                (None, s) if s.starts_with('<') => Knowledge::Small,
                _ => Knowledge::Withheld,
            };
            if let Some(Role::Ratio { .. }) = catalogue.role(&p.identity.key)
                && p.value.is_some()
                && let Some(rate) = SeenRate::from_display(p.identity.clone(), &p.shown)
            {
                rates.push(rate);
            }
            // A figure shown anywhere is known, whatever another document printed.
            let entry = seen.entry(p.identity).or_insert(knowledge);
            if matches!(knowledge, Knowledge::Known(_)) {
                *entry = knowledge;
            }
        }
    }
    (seen, rates)
}

/// The growth-class attendances of `year` by topic, per school and organisation, counted
/// here from the services export (a class without a topic is 其他), as the annual
/// review's `breakdowns:` hands them to the report: figures
/// `participants.growth_class/<topic>`, every topic of a listed unit present (0 if none).
fn topic_truth(data: &Path, year: &str) -> HashMap<Identity, Option<f64>> {
    let mut org_of: HashMap<String, String> = HashMap::new();
    let mut reader = csv::Reader::from_path(data.join("schools.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |h: &csv::StringRecord, name: &str| h.iter().position(|x| x == name).unwrap();
    let (s, o) = (col(&headers, "school_id"), col(&headers, "org_id"));
    for r in reader.records() {
        let r = r.unwrap();
        if !r[o].is_empty() {
            org_of.insert(r[s].to_string(), r[o].to_string());
        }
    }
    let mut reader = csv::Reader::from_path(data.join("services.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let (school, date, kind, people, topic) = (
        col(&headers, "school_id"),
        col(&headers, "service_date"),
        col(&headers, "service_type"),
        col(&headers, "participants"),
        col(&headers, "topic"),
    );
    let mut sums: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for r in reader.records() {
        let r = r.unwrap();
        if &r[kind] != "growth_class" || !r[date].starts_with(year) {
            continue;
        }
        let Some(org) = org_of.get(&r[school]) else { continue };
        let topic = if r[topic].is_empty() { "其他".to_string() } else { r[topic].to_string() };
        let n: f64 = r[people].parse().unwrap();
        *sums.entry(("school".into(), r[school].to_string(), topic.clone())).or_default() += n;
        *sums.entry(("org".into(), org.clone(), topic)).or_default() += n;
    }
    let topics: std::collections::BTreeSet<String> = sums.keys().map(|(_, _, t)| t.clone()).collect();
    let mut units: std::collections::BTreeSet<(String, String)> =
        org_of.keys().map(|s| ("school".to_string(), s.clone())).collect();
    units.extend(org_of.values().map(|o| ("org".to_string(), o.clone())));
    let mut out = HashMap::new();
    for (t, u) in &units {
        for topic in &topics {
            let n = sums.get(&(t.clone(), u.clone(), topic.clone())).copied().unwrap_or(0.0);
            out.insert(Identity::new(t, u, year, &format!("participants.growth_class/{topic}")), Some(n));
        }
    }
    out
}

fn audit_run(ledgers: &[PathBuf], metrics_csv: &Path, schools_csv: &Path) -> Vec<String> {
    audit_with(ledgers, truth(metrics_csv), &sunward_plugins::sinks::report::catalogue::standard().clone(), schools_csv)
}

/// The audit over the metrics and the topic breakdown of the annual reviews of `year`.
fn audit_with_topics(ledgers: &[PathBuf], metrics_csv: &Path, data: &Path, year: &str) -> Vec<String> {
    let mut values = truth(metrics_csv);
    // The access figures beside it, when the reports printed them too.
    let access = metrics_csv.with_file_name("access.csv");
    if access.is_file() {
        values.extend(truth(&access));
    }
    let topics = topic_truth(data, year);
    let mut parts: Vec<String> = topics.keys().map(|i| i.key.clone()).collect();
    parts.sort();
    parts.dedup();
    values.extend(topics);
    let mut catalogue = sunward_plugins::sinks::report::catalogue::standard().clone();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    catalogue.add_with_parts(
        "participants.growth_class",
        Role::Count { adds: sunward_render::disclosure::Adds::Sum },
        &parts,
    );
    audit_with(ledgers, values, &catalogue, &data.join("schools.csv"))
}

fn audit_with(
    ledgers: &[PathBuf],
    values: HashMap<Identity, Option<f64>>,
    catalogue: &Catalogue,
    schools_csv: &Path,
) -> Vec<String> {
    assert!(!ledgers.is_empty(), "no public report was written");
    let lattice = Lattice::build(&values, catalogue, &hierarchy(schools_csv));
    let (seen, rates) = reader_of(ledgers);
    audit(&lattice, &seen, &rates, 5).iter().map(ToString::to_string).collect()
}

/// Each shown count of a ledger appears in the document's text as printed:
/// the ledger describes the document, not a wish.
fn ledger_matches_document(ledger: &Path, text: &str, what: &str) {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for p in read_printed(ledger).1 {
        if p.value.is_some() {
            let shown: String = p.shown.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(
                squeezed.contains(&shown),
                "{}: {} is listed as printed \"{}\", but the {what} does not show it",
                ledger.display(),
                p.identity,
                p.shown
            );
        }
    }
}

fn base(ledger: &Path) -> String {
    ledger.to_string_lossy().trim_end_matches(".figures.json").to_string()
}

/// The sample project's metrics and its public annual reviews (Chinese) in
/// `dir/project`; returns that folder and the `metrics=…` setting naming its
/// metrics table (a fresh clone has no `out/project` to fall back on).
fn public_project_reviews(dir: &Path) -> (PathBuf, String) {
    let project = dir.join("project");
    common::run_metrics(&repo().join("sample-data/project"), 2024, 2024, &project);
    let metrics = format!("metrics={}", project.join("metrics.parquet").display());
    // The access figures too (after-hours service, appointments, feedback): the review prints them.
    run("access.yaml", &[], &project);
    run("annual-review.yaml", &["audience=public", &metrics], &project);
    (project, metrics)
}

/// The sample project's annual reviews, public edition, and the two sample
/// districts' public comparison and summary: no withheld count comes back.
#[test]
fn no_public_report_of_the_samples_gives_a_withheld_count_back() {
    let dir = tempfile::tempdir().unwrap();
    let (project, metrics) = public_project_reviews(dir.path());
    let english = dir.path().join("project-en");
    let access = format!("access={}", project.join("access.parquet").display());
    run("annual-review.yaml", &["audience=public", "lang=en", &metrics, &access], &english);
    let ledgers = public_ledgers(&[&project, &english]);
    assert_eq!(ledgers.len(), 6, "three units in two languages: {ledgers:?}");
    let found = audit_with_topics(&ledgers, &project.join("metrics.csv"), &repo().join("sample-data/project"), "2025");
    assert!(found.is_empty(), "a reader works out withheld counts of the public reviews:\n{}", found.join("\n"));

    // What the documents show is what the ledgers say they show.
    let org = ledgers.iter().find(|l| l.to_string_lossy().contains("_KS-ORG1.figures")).unwrap();
    let b = base(org);
    ledger_matches_document(org, &pdf_text(Path::new(&format!("{b}.pdf"))), "PDF text");
    ledger_matches_document(org, &chromium_dom(Path::new(&format!("{b}.html"))), "HTML");
    ledger_matches_document(org, &docx_text(Path::new(&format!("{b}.docx")), dir.path()), "Word file");

    for (district, baseline) in [("taicang", "2022"), ("qingpu", "2023")] {
        let out = dir.path().join(district);
        let data = format!("data_dir=sample-data/{district}");
        let baseline = format!("baseline_year={baseline}");
        run("district.yaml", &[&data, &baseline, "audience=public"], &out);
        let ledgers = public_ledgers(&[&out]);
        assert_eq!(ledgers.len(), 2, "the comparison and the summary: {ledgers:?}");
        let found =
            audit_run(&ledgers, &out.join("metrics.csv"), &repo().join(format!("sample-data/{district}/schools.csv")));
        assert!(found.is_empty(), "{district}: a reader works out withheld counts:\n{}", found.join("\n"));
        for ledger in &ledgers {
            ledger_matches_document(ledger, &pdf_text(Path::new(&format!("{}.pdf", base(ledger)))), "PDF text");
        }
    }
}

/// Generated districts with many small schools (a handful of students with
/// a case, incidents in ones and twos): the public comparison, the summary
/// and the annual review of every organisation and school, all read
/// together with the metrics' whole hierarchy, give nothing back.
#[test]
fn generated_districts_of_small_schools_give_nothing_back() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, schools) in [("7", "14"), ("11", "20"), ("23", "9")] {
        let data = dir.path().join(format!("data-{seed}"));
        sunward(&[
            "datagen".into(),
            "--preset".into(),
            "custom".into(),
            "--schools".into(),
            schools.into(),
            "--districts".into(),
            "2".into(),
            "--scale".into(),
            "0.05".into(),
            "--seed".into(),
            seed.into(),
            "--out".into(),
            data.display().to_string(),
        ]);
        // The bureau's own words, one public text per district.
        let texts = dir.path().join(format!("texts-{seed}"));
        std::fs::create_dir_all(&texts).unwrap();
        let mut reader = csv::Reader::from_path(data.join("schools.csv")).unwrap();
        let district = reader.headers().unwrap().iter().position(|h| h == "district_id").unwrap();
        for r in reader.records() {
            let id = r.unwrap()[district].to_string();
            std::fs::write(texts.join(format!("{id}.md")), "---\naudience: public\n---\n本区的工作情况。\n").unwrap();
        }
        let out = dir.path().join(format!("out-{seed}"));
        let data_set = format!("data_dir={}", data.display());
        let texts_set = format!("texts_dir={}", texts.display());
        run("district.yaml", &[&data_set, &texts_set, "audience=public"], &out);
        // The annual reviews of every organisation and school too, from the same metrics:
        // the organisations' figures beside their schools' are where differencing bites.
        let mut reader = csv::Reader::from_path(data.join("schools.csv")).unwrap();
        let headers = reader.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (school, org) = (col("school_id"), col("org_id"));
        for r in reader.records() {
            let r = r.unwrap();
            for unit in [&r[school], &r[org]] {
                std::fs::write(texts.join(format!("{unit}.md")), "---\naudience: public\n---\n本年的工作。\n").unwrap();
            }
        }
        let metrics_set = format!("metrics={}", out.join("metrics.parquet").display());
        run(
            "annual-review.yaml",
            &[&data_set, &texts_set, &metrics_set, "year=2024", "academic_year=2023", "audience=public"],
            &out,
        );
        let ledgers = public_ledgers(&[&out]);
        assert!(ledgers.iter().any(|l| l.to_string_lossy().contains("annual-review_2024_")), "{ledgers:?}");
        let found = audit_with_topics(&ledgers, &out.join("metrics.csv"), &data, "2024");
        assert!(found.is_empty(), "seed {seed}: a reader works out withheld counts:\n{}", found.join("\n"));
        // And the districts did have small counts to withhold.
        let (seen, _) = reader_of(&ledgers);
        assert!(seen.values().any(|k| *k == Knowledge::Small), "seed {seed}: nothing small was printed");
    }
}

/// The reader catches the leaks of the rules this replaced: on the sample
/// project, what a public review printed before (only small counts hidden;
/// a rate withheld only when its denominator was small) gives back, by
/// rate × denominator and by subtraction across the organisation and its
/// schools, each leak readers reported. (`SUNWARD_SHOW_FINDINGS=1` prints
/// every finding.)
#[test]
fn the_audit_finds_what_the_old_rules_gave_away() {
    let dir = tempfile::tempdir().unwrap();
    let (project, _) = public_project_reviews(dir.path());
    let ledgers = public_ledgers(&[&project]);
    let values = truth(&project.join("metrics.csv"));
    let lattice = Lattice::build(
        &values,
        &sunward_plugins::sinks::report::catalogue::standard().clone(),
        &hierarchy(&repo().join("sample-data/project/schools.csv")),
    );
    // The old rules on the same figures: every count printed unless small; a rate printed
    // unless its denominator was small (the numerators were not known to the rules).
    let mut seen = HashMap::new();
    let mut rates = Vec::new();
    // What the old review printed: the figures this one prints, and the rates it printed
    // whatever their numerators (this review leaves out a withheld rate's sentence).
    let mut printed: Vec<Identity> = Vec::new();
    for ledger in &ledgers {
        for p in read_printed(ledger).1 {
            printed.push(p.identity.sibling("referral_rate").in_period("2025"));
            printed.push(p.identity.sibling("red_deescalation_rate").in_period("2025"));
            printed.push(p.identity);
        }
    }
    printed.sort();
    printed.dedup();
    let catalogue = sunward_plugins::sinks::report::catalogue::standard().clone();
    for identity in printed {
        let Some(Some(v)) = values.get(&identity) else { continue };
        match catalogue.role(&identity.key) {
            Some(Role::Count { .. }) => {
                let knowledge = if (1.0..5.0).contains(v) { Knowledge::Small } else { Knowledge::Known(*v) };
                seen.insert(identity, knowledge);
            }
            Some(Role::Ratio { denominator, .. }) => {
                let den = values.get(&identity.sibling(&denominator)).copied().flatten().unwrap_or(0.0);
                if !(1.0..5.0).contains(&den) {
                    // Printed as a whole percentage, as the review prints it.
                    let shown = format!("{}%", (v * 100.0 + 1e-9).round());
                    rates.extend(SeenRate::from_display(identity, &shown));
                }
            }
            _ => {}
        }
    }
    let found = audit(&lattice, &seen, &rates, 5);
    if std::env::var_os("SUNWARD_SHOW_FINDINGS").is_some() {
        for f in &found {
            eprintln!("{f}");
        }
    }
    let found: BTreeMap<String, u64> = found
        .iter()
        .map(|f| (format!("{} {} {}", f.identity.unit_id, f.identity.period, f.identity.key), f.value))
        .collect();
    // The leaks readers reported on the old public review, each worked out again here:
    // referral rate 12% of 16 cases → 2, 10% of 10 → 1, 17% of 6 → 1; the organisation's
    // 10 high-risk students minus 湖畔中学's 6 → 4, its 11 red cases minus 7 → 4; the
    // emotion-regulation group's 22 minus 18 → 4 students, of whom 10 − 7 = 3 improved.
    for (leak, value) in [
        ("KS-ORG1 2025 cases_referred", 2),
        ("KS01 2025 cases_referred", 1),
        ("KS02 2025 cases_referred", 1),
        ("KS02 2025 high_risk_students", 4),
        ("KS02 2025 cases_active.red", 4),
        ("KS02 AY2024 outcome_n.emotion_regulation", 4),
        ("KS02 AY2024 improved.emotion_regulation", 3),
    ] {
        assert_eq!(found.get(leak), Some(&value), "the audit missed {leak} under the old rules: {found:?}");
    }
}

/// A public edition never prints a case story, and says why; the internal
/// edition prints them. Percentages round half up (2 of 16 → 13%).
#[test]
fn case_stories_stay_internal_and_shares_round_half_up() {
    let dir = tempfile::tempdir().unwrap();
    let (project, _) = public_project_reviews(dir.path());
    let public = pdf_text(&project.join("annual-review_2025_KS-ORG1.pdf"));
    let story = "一名学生出现自伤行为后";
    assert!(!public.contains(story), "a case story is in the public edition");
    assert!(public.contains("个案故事只收入"), "the public edition does not say where the stories are");
    // The privacy rules are said once, not under every table nor again on the cover
    // (which points to the note at the end).
    assert_eq!(public.matches("为保护学生隐私").count(), 1, "{public}");
    assert_eq!(public.matches("非零人数、人次、个案数和事件数").count(), 1, "{public}");
    assert!(public.contains("文末注释说明口径"), "{public}");
    let internal_dir = dir.path().join("internal");
    std::fs::create_dir_all(&internal_dir).unwrap();
    for f in ["metrics.csv", "metrics.parquet", "manifest-metrics.json"] {
        std::fs::copy(project.join(f), internal_dir.join(f)).unwrap();
    }
    let metrics = format!("metrics={}", internal_dir.join("metrics.parquet").display());
    run("annual-review.yaml", &["audience=internal", &metrics], &internal_dir);
    let internal = pdf_text(&internal_dir.join("annual-review_2025_KS-ORG1.pdf"));
    assert!(internal.replace(char::is_whitespace, "").contains(story), "the internal edition lost its case stories");
    // Every share in the ledger is printed as its figures round half up.
    let mut values = truth(&project.join("metrics.csv"));
    values.extend(truth(&project.join("access.csv")));
    for ledger in public_ledgers(&[&project]) {
        for p in read_printed(&ledger).1 {
            if p.shown.ends_with('%') && p.value.is_some() && !p.identity.key.contains("change") {
                let v = values[&p.identity].unwrap();
                let half_up = ((v * 100.0) + 0.5 + 1e-9).floor();
                assert_eq!(p.shown, format!("{half_up}%"), "{} = {v}", p.identity);
            }
        }
    }
}
