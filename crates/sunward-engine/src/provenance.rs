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
    let produced = produced_sources(plan);
    if produced.is_empty() {
        return Vec::new();
    }
    let inputs = own_inputs(plan, &produced, &cwd);
    let mut hashes = Hashes::default();
    let mut errors = Vec::new();
    for (name, producer, location) in produced {
        let Some(source) = plan.sources.iter().find(|s| s.name == name) else { continue };
        let Ok(files) = source.plugin.files(&source.config, &plan.run) else { continue };
        for file in files {
            // An optional source whose file is missing is an empty table: nothing made it.
            if source.options.optional && !absolute(&cwd, &file).is_file() {
                continue;
            }
            let problems = compare(plan, &producer, &absolute(&cwd, &file), &inputs, &mut hashes);
            if problems.is_empty() {
                continue;
            }
            let shown = normalize(&file);
            let stale = Stale { name, producer: &producer, shown: &shown, problems: &problems };
            errors.push(stale.error(plan).at(location.clone()));
        }
    }
    errors
}

/// A path made absolute against the working folder `cwd`, normalized.
fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { normalize(p) } else { normalize(&cwd.join(p)) }
}

/// Each source that says which pipeline made its file (the typed option):
/// its name, the pipeline, and the place of that key in the pipeline file.
fn produced_sources(plan: &Plan) -> Vec<(&str, String, Option<Location>)> {
    plan.sources
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
        .collect()
}

/// This run's own inputs: every file of every source not among `produced`, absolute.
fn own_inputs(plan: &Plan, produced: &[(&str, String, Option<Location>)], cwd: &Path) -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = Vec::new();
    for source in &plan.sources {
        if produced.iter().any(|(name, ..)| *name == source.name) {
            continue;
        }
        if let Ok(files) = source.plugin.files(&source.config, &plan.run) {
            inputs.extend(files.iter().map(|f| absolute(cwd, f)));
        }
    }
    inputs
}

/// A `produced_by` source's file that does not agree with this run.
struct Stale<'a> {
    /// The source's name.
    name: &'a str,
    /// The pipeline that made the file.
    producer: &'a str,
    /// The file as the pipeline names it, normalized.
    shown: &'a Path,
    /// What differs.
    problems: &'a [String],
}

impl Stale<'_> {
    /// The error naming each difference, with a hint on computing the table again.
    fn error(&self, plan: &Plan) -> Diagnostic {
        let Stale { name, producer, shown, problems } = *self;
        let manifest = shown.with_file_name(manifest_file_name(producer));
        let message = format!(
            "{} was not made from this run's inputs and parameters ({} says):\n{}",
            shown.display(),
            manifest.display(),
            problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
        );
        let file_name = shown.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        let hint = match naming_param(plan, name) {
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
        Diagnostic::runtime(message).in_context(format!("sources.{name}")).hint(hint)
    }
}

/// The parameter that names source `name`'s file, when one does: the way to point at another table.
fn naming_param(plan: &Plan, name: &str) -> Option<String> {
    plan.pipeline
        .section(PluginKind::Source)
        .find(|e| e.name == name)
        .and_then(|e| e.node.get("path")?.as_str().map(referenced_names))
        .and_then(|names| names.into_iter().find(|n| plan.run.params.contains_key(n)))
}

/// The SHA-256 of each file looked at, read once.
#[derive(Default)]
struct Hashes(HashMap<PathBuf, Option<String>>);

impl Hashes {
    /// The SHA-256 of a file now, or `None` when it cannot be read.
    fn of(&mut self, path: &Path) -> Option<String> {
        self.0.entry(path.to_path_buf()).or_insert_with(|| file_record(path).ok().map(|r| r.sha256)).clone()
    }
}

/// A SHA-256 shortened for a message.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// What differs between the run that wrote `file` and this one.
fn compare(plan: &Plan, producer: &str, file: &Path, inputs: &[PathBuf], hashes: &mut Hashes) -> Vec<String> {
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let manifest = match producing_run(producer, file, &file_name) {
        Ok(m) => m,
        Err(problem) => return vec![problem],
    };
    let mut problems = Vec::new();
    problems.extend(written_file_problem(&manifest, producer, file, &file_name, hashes));
    param_problems(plan, &manifest, producer, &mut problems);
    input_problems(&manifest, producer, inputs, hashes, &mut problems);
    problems
}

/// The manifest of the run of `producer` that wrote `file` (named `file_name`),
/// when there is one and that run succeeded; else the one problem to report.
fn producing_run(producer: &str, file: &Path, file_name: &str) -> Result<Manifest, String> {
    let manifest_path = file.with_file_name(manifest_file_name(producer));
    if !manifest_path.is_file() {
        return Err(format!(
            "there is no {} beside {file_name}, so nothing shows which inputs and parameters made it",
            manifest_file_name(producer)
        ));
    }
    let manifest = Manifest::read(&manifest_path).map_err(|e| e.message)?;
    if manifest.status != "succeeded" {
        return Err(format!("the last run of `{producer}` into this folder failed"));
    }
    Ok(manifest)
}

/// Whether the file is not the one that run wrote: not among its outputs, or changed since.
fn written_file_problem(
    manifest: &Manifest,
    producer: &str,
    file: &Path,
    file_name: &str,
    hashes: &mut Hashes,
) -> Option<String> {
    let written: Option<&FileRecord> = manifest
        .outputs
        .iter()
        .find(|o| Path::new(&o.path).file_name().is_some_and(|n| n.to_string_lossy() == file_name));
    match (written, hashes.of(file)) {
        (None, _) => Some(format!("the run of `{producer}` did not write {file_name}")),
        (Some(record), Some(now)) if record.sha256 != now => Some(format!(
            "{file_name} has changed since the run of `{producer}` wrote it (sha256 {} then, {} now)",
            short(&record.sha256),
            short(&now)
        )),
        _ => None,
    }
}

/// Parameters both pipelines declare (paths aside: folders may differ) whose values differ.
fn param_problems(plan: &Plan, manifest: &Manifest, producer: &str, problems: &mut Vec<String>) {
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
}

/// Inputs of that run that differ where they overlap with this run's: a
/// file of the same name read here with other contents, or a file in a
/// folder this run reads from that has changed or gone since.
fn input_problems(
    manifest: &Manifest,
    producer: &str,
    inputs: &[PathBuf],
    hashes: &mut Hashes,
    problems: &mut Vec<String>,
) {
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
}
