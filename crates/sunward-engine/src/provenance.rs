//! Provenance: a table made by an earlier run is only read together with the
//! inputs and parameters it was made from.
//!
//! A source that declares `produced_by: <pipeline>` (the report pipelines'
//! `metrics` source says `produced_by: metrics`) reads a file another
//! pipeline wrote. Before the run, [`verify`] opens that run's manifest beside
//! the file (`manifest-<pipeline>.json`) and compares it with this run:
//!
//! - the file must be the one the manifest lists among the run's outputs
//!   (same SHA-256), and the run must have succeeded;
//! - every parameter both pipelines declare, except paths, must have the same
//!   value (`baseline_year`, `current_year`, `extreme_categories`, the
//!   closed-loop days, …);
//! - every input of that run must match this run's inputs where they overlap:
//!   a file of the same name read here must have the same SHA-256, and a file
//!   in a folder this run reads from (its `data_dir`) must not have changed
//!   since.
//!
//! Each difference is named in one error per source (exit code 1, a runtime
//! failure: the files found do not agree). `--allow-stale-metrics` turns the
//! errors into warnings.

use crate::manifest::{FileRecord, Manifest, file_record, manifest_file_name, normalize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use sunward_core::params::{ParamType, ParamValue, referenced_names};
use sunward_core::{Diagnostic, Location, Plan, PluginKind};

/// The source setting that names the pipeline whose run wrote the file.
pub const PRODUCED_BY: &str = "produced_by";

/// The command-line flag that reads such a table anyway.
pub const OVERRIDE_FLAG: &str = "--allow-stale-metrics";

/// Compare every `produced_by` source with the manifest of the run that wrote
/// it. Returns one error per source whose table does not agree with this run
/// (none when everything agrees).
pub fn verify(plan: &Plan) -> Vec<Diagnostic> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let absolute = |p: &Path| if p.is_absolute() { normalize(p) } else { normalize(&cwd.join(p)) };
    // Each source that says which pipeline made its file (the typed option),
    // placed at that key of the pipeline file.
    let produced: Vec<(&str, String, Option<Location>)> = plan
        .sources
        .iter()
        .filter_map(|source| {
            let producer = source.options.produced_by.clone()?;
            let place = plan
                .pipeline
                .section(PluginKind::Source)
                .find(|entry| entry.name == source.name)
                .and_then(|entry| entry.node.get(PRODUCED_BY))
                .map(|node| node.location(&plan.pipeline.file));
            Some((source.name.as_str(), producer, place))
        })
        .collect();
    if produced.is_empty() {
        return Vec::new();
    }
    // This run's own inputs: every file of every other source.
    let mut inputs: Vec<PathBuf> = Vec::new();
    for source in &plan.sources {
        if produced.iter().any(|(name, ..)| *name == source.name) {
            continue;
        }
        if let Ok(files) = source.plugin.files(&source.config, &plan.run) {
            inputs.extend(files.iter().map(|f| absolute(f)));
        }
    }
    let mut hashes = Hashes::default();
    let mut errors = Vec::new();
    for (name, producer, location) in produced {
        let Some(source) = plan.sources.iter().find(|s| s.name == name) else { continue };
        let Ok(files) = source.plugin.files(&source.config, &plan.run) else { continue };
        for file in files {
            // An optional source whose file is missing is an empty table: nothing made it.
            if source.options.optional && !absolute(&file).is_file() {
                continue;
            }
            let shown = normalize(&file);
            let problems = compare(plan, &producer, &absolute(&file), &inputs, &mut hashes);
            if problems.is_empty() {
                continue;
            }
            let manifest = shown.with_file_name(manifest_file_name(&producer));
            let message = format!(
                "{} was not made from this run's inputs and parameters ({} says):\n{}",
                shown.display(),
                manifest.display(),
                problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
            );
            // The parameter that names the file, when one does: the way to point at another table.
            let named_by = plan
                .pipeline
                .section(PluginKind::Source)
                .find(|e| e.name == name)
                .and_then(|e| e.node.get("path")?.as_str().map(referenced_names))
                .and_then(|names| names.into_iter().find(|n| plan.run.params.contains_key(n)));
            let file_name = shown.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
            let hint = match named_by {
                Some(param) => format!(
                    "compute it from this run's data and parameters: run pipelines/{producer}.yaml with the same \
                     --set values and an --out folder of your own, then give this pipeline what it wrote with \
                     --set {param}=FOLDER/{file_name} (a workflow such as pipelines/district.yaml does both in one \
                     command); or pass {OVERRIDE_FLAG} to read it anyway"
                ),
                None => format!(
                    "compute it again from the same data and parameters (run pipelines/{producer}.yaml with the \
                     same --set values and --out {}, or run a workflow such as pipelines/district.yaml that does \
                     both), or pass {OVERRIDE_FLAG} to read it anyway",
                    shown.parent().map(|p| p.display().to_string()).unwrap_or_else(|| ".".into())
                ),
            };
            errors.push(
                Diagnostic::runtime(message).at(location.clone()).in_context(format!("sources.{name}")).hint(hint),
            );
        }
    }
    errors
}

#[derive(Default)]
struct Hashes(HashMap<PathBuf, Option<String>>);

impl Hashes {
    /// The SHA-256 of a file now, or `None` when it cannot be read.
    fn of(&mut self, path: &Path) -> Option<String> {
        self.0.entry(path.to_path_buf()).or_insert_with(|| file_record(path).ok().map(|r| r.sha256)).clone()
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// What differs between the run that wrote `file` and this one.
fn compare(plan: &Plan, producer: &str, file: &Path, inputs: &[PathBuf], hashes: &mut Hashes) -> Vec<String> {
    let manifest_path = file.with_file_name(manifest_file_name(producer));
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !manifest_path.is_file() {
        return vec![format!(
            "there is no {} beside {file_name}, so nothing shows which inputs and parameters made it",
            manifest_file_name(producer)
        )];
    }
    let manifest = match Manifest::read(&manifest_path) {
        Ok(m) => m,
        Err(e) => return vec![e.message],
    };
    if manifest.status != "succeeded" {
        return vec![format!("the last run of `{producer}` into this folder failed")];
    }
    let mut problems = Vec::new();

    // The file is the one that run wrote.
    let written: Option<&FileRecord> = manifest
        .outputs
        .iter()
        .find(|o| Path::new(&o.path).file_name().is_some_and(|n| n.to_string_lossy() == file_name));
    match (written, hashes.of(file)) {
        (None, _) => problems.push(format!("the run of `{producer}` did not write {file_name}")),
        (Some(record), Some(now)) if record.sha256 != now => problems.push(format!(
            "{file_name} has changed since the run of `{producer}` wrote it (sha256 {} then, {} now)",
            short(&record.sha256),
            short(&now)
        )),
        _ => {}
    }

    // Parameters both pipelines declare (paths aside: folders may differ).
    for def in &plan.pipeline.params {
        if def.ty == ParamType::Path {
            continue;
        }
        let (Some(theirs), Some(ours)) = (manifest.params.get(&def.name), plan.run.params.get(&def.name)) else {
            continue;
        };
        let same = match ours {
            ParamValue::List(items) => {
                let a: BTreeSet<&str> = items.iter().map(|s| s.trim()).collect();
                let b: BTreeSet<&str> = theirs.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                a == b
            }
            other => other.to_string() == *theirs,
        };
        if !same {
            problems.push(format!(
                "parameter `{}`: {theirs} for `{producer}`, {ours} in this run",
                def.name,
                ours = ours
            ));
        }
    }

    // Inputs where they overlap.
    for record in manifest.sources.iter().flat_map(|s| s.files.iter()) {
        let theirs = record.absolute(&manifest.working_dir);
        let name = theirs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(ours) = inputs.iter().find(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == name)) {
            match hashes.of(ours) {
                Some(now) if now != record.sha256 => problems.push(format!(
                    "input {name}: `{producer}` read {} (sha256 {}), this run reads {} (sha256 {})",
                    theirs.display(),
                    short(&record.sha256),
                    ours.display(),
                    short(&now)
                )),
                _ => {}
            }
        } else if inputs.iter().any(|p| p.parent() == theirs.parent()) {
            match hashes.of(&theirs) {
                None => problems.push(format!("input {name}: {} no longer exists or cannot be read", theirs.display())),
                Some(now) if now != record.sha256 => problems.push(format!(
                    "input {name}: {} has changed since `{producer}` read it (sha256 {} then, {} now)",
                    theirs.display(),
                    short(&record.sha256),
                    short(&now)
                )),
                _ => {}
            }
        }
    }
    problems
}
