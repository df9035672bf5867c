//! Loading a wave of sources on the engine's workers (a cluster's executors).
//!
//! The source cache is not used: the workers read every source afresh. A
//! large file is read in parts when the engine does so (see
//! [`crate::remote`]): a first round of tasks reads every source or part, the
//! duplicates across each source's parts are found, and a second round reads
//! whole the sources whose parts failed and again the parts that hold
//! duplicates. Each source then becomes a [`Loaded`], as a local load would
//! make it.

use super::loaded::Loaded;
use super::options::RunOptions;
use crate::budget::MemoryBudget;
use crate::ingest::Ingested;
use crate::remote::{
    MergedParts, RemoteLoading, SourceOutcome, SourceTask, TaskResult, claims_files, merge_parts, received, task_for,
};
use crate::source::source_files;
use crate::stage::{Placed, Stage, StagedTable, file_safe};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use sunward_core::model::OnBadRows;
use sunward_core::validate::PlannedSource;
use sunward_core::{Diagnostic, FilePart, Plan, Result};

/// A source of a wave sent to the engine's workers.
struct Sent {
    name: String,
    files: Vec<PathBuf>,
    task: SourceTask,
    /// The parts its file is read in (none: read whole).
    parts: Vec<FilePart>,
}

impl Sent {
    /// Its tasks: the whole source, or each part.
    fn tasks(&self) -> Vec<SourceTask> {
        if self.parts.is_empty() {
            return vec![self.task.clone()];
        }
        self.parts.iter().map(|p| SourceTask { part: Some(*p), ..self.task.clone() }).collect()
    }
}

/// The parts a source's file is read in by workers reading `part_bytes`
/// each: none (read whole) for a file not larger, a source of several
/// files, or one whose first bad row stops the run (`on_bad_rows: fail`:
/// which row is first is known only in one pass).
fn parts_of(source: &PlannedSource, files: &[PathBuf], part_bytes: Option<u64>) -> Vec<FilePart> {
    let (Some(part_bytes), [file]) = (part_bytes, files) else { return Vec::new() };
    if source.options.on_bad_rows == OnBadRows::Fail {
        return Vec::new();
    }
    let Ok(len) = std::fs::metadata(file).map(|m| m.len()) else { return Vec::new() };
    let count = len.div_ceil(part_bytes.max(1)).min(4096) as usize;
    if count <= 1 { Vec::new() } else { FilePart::cut(len, count) }
}

/// Run `tasks` on the engine's workers: one answer per task, in order.
async fn ask(remote: &dyn RemoteLoading, tasks: Vec<SourceTask>) -> Result<Vec<TaskResult>> {
    let asked = tasks.len();
    let answers = remote.load(tasks).await?;
    if answers.len() != asked {
        return Err(Diagnostic::runtime(format!("the engine's workers answered {} of {asked} tasks", answers.len())));
    }
    Ok(answers)
}

/// Where a source stands after the first round of tasks.
enum FirstRound {
    /// Read whole: its answer.
    Whole(TaskResult),
    /// Its parts could not all be read: read whole in the second round (task `.0` of it).
    Retried(usize),
    /// Read in parts: the merged account, and the second round's tasks reading parts again.
    Parts(Box<MergedParts>, Vec<usize>),
    Failed(Diagnostic),
}

/// Load a wave of sources on the engine's workers: each source's name and
/// what became of it.
pub(super) async fn load_remotely(
    remote: &dyn RemoteLoading,
    ready: &[&PlannedSource],
    plan: &Plan,
    done: &HashMap<String, Loaded>,
    options: &RunOptions,
    budget: &MemoryBudget,
    stage: &Stage,
) -> Vec<(String, Result<Loaded>)> {
    let (mut results, sent) = tasks_of(remote, ready, plan, done, budget, stage);
    if sent.is_empty() {
        return results;
    }
    let first: Vec<SourceTask> = sent.iter().flat_map(Sent::tasks).collect();
    let answers = match ask(remote, first).await {
        Ok(answers) => answers,
        Err(e) => {
            results.extend(sent.into_iter().map(|s| (s.name, Err(e.clone()))));
            return results;
        }
    };
    let (rounds, second) = first_round(remote, sent, answers).await;
    let second_answers: Result<Vec<TaskResult>> =
        if second.is_empty() { Ok(Vec::new()) } else { ask(remote, second).await };
    for (s, round) in rounds {
        let name = s.name.clone();
        let loaded = finish_source(s, round, &second_answers, stage)
            .inspect(|loaded| options.progress.rows(&name, loaded.ingested.rows_read));
        results.push((name, loaded));
    }
    results
}

/// The task of each source of the wave (a source whose files cannot be named
/// fails at once): the failures, and the sources sent.
fn tasks_of(
    remote: &dyn RemoteLoading,
    ready: &[&PlannedSource],
    plan: &Plan,
    done: &HashMap<String, Loaded>,
    budget: &MemoryBudget,
    stage: &Stage,
) -> (Vec<(String, Result<Loaded>)>, Vec<Sent>) {
    let mut failed = Vec::new();
    let mut sent = Vec::new();
    for source in ready {
        let files = match source_files(source, plan) {
            Ok(files) => files,
            Err(e) => {
                failed.push((source.name.clone(), Err(e)));
                continue;
            }
        };
        let references: BTreeMap<String, Vec<PathBuf>> = source
            .references
            .iter()
            .filter_map(|(table, name)| done.get(name).map(|l| (table.clone(), l.keys_files.clone())))
            .filter(|(_, files)| !files.is_empty())
            .collect();
        let task = task_for(source, plan, &files, stage.folder(), references, budget.limit);
        let parts = parts_of(source, &files, remote.part_bytes());
        sent.push(Sent { name: source.name.clone(), files, task, parts });
    }
    (failed, sent)
}

/// Take each source's answers of the first round: where it stands, and the
/// tasks of the second round (sources read whole again, parts read again
/// without their duplicates).
async fn first_round(
    remote: &dyn RemoteLoading,
    sent: Vec<Sent>,
    answers: Vec<TaskResult>,
) -> (Vec<(Sent, FirstRound)>, Vec<SourceTask>) {
    let mut answers = answers.into_iter();
    let mut second: Vec<SourceTask> = Vec::new();
    let mut rounds: Vec<(Sent, FirstRound)> = Vec::new();
    for s in sent {
        let mine: Vec<TaskResult> = answers.by_ref().take(s.parts.len().max(1)).collect();
        let round = if s.parts.is_empty() {
            match mine.into_iter().next() {
                Some(answer) => FirstRound::Whole(answer),
                None => FirstRound::Failed(Diagnostic::runtime("the engine's workers gave no answer")),
            }
        } else if mine.iter().any(std::result::Result::is_err) {
            second.push(s.task.clone());
            FirstRound::Retried(second.len() - 1)
        } else {
            let outcomes: Vec<SourceOutcome> = mine.into_iter().filter_map(std::result::Result::ok).collect();
            match merged_parts(remote, outcomes).await {
                Err(e) => FirstRound::Failed(e),
                Ok(merged) => {
                    let again = read_again(&s, &merged, &mut second);
                    FirstRound::Parts(Box::new(merged), again)
                }
            }
        };
        rounds.push((s, round));
    }
    (rounds, second)
}

/// The parts' accounts merged, once the engine has found the duplicates
/// among all their key claims.
async fn merged_parts(remote: &dyn RemoteLoading, outcomes: Vec<SourceOutcome>) -> Result<MergedParts> {
    let claims = claims_files(&outcomes);
    let duplicates = if claims.is_empty() { Ok(Vec::new()) } else { remote.duplicates(claims).await };
    duplicates.and_then(|d| merge_parts(outcomes, d))
}

/// The second round's tasks reading again the parts of `s` that hold
/// duplicates (without those rows): their numbers in `second`.
fn read_again(s: &Sent, merged: &MergedParts, second: &mut Vec<SourceTask>) -> Vec<usize> {
    let mut again = Vec::new();
    for (index, skip) in &merged.restage {
        if let Some(part) = s.parts.get(*index) {
            second.push(SourceTask { part: Some(*part), restage: Some(skip.clone()), ..s.task.clone() });
            again.push(second.len() - 1);
        }
    }
    again
}

/// A source loaded once both rounds are answered.
fn finish_source(
    s: Sent,
    round: FirstRound,
    second_answers: &Result<Vec<TaskResult>>,
    stage: &Stage,
) -> Result<Loaded> {
    let second_answer = |i: usize| -> Result<SourceOutcome> {
        match second_answers {
            Err(e) => Err(e.clone()),
            Ok(answers) => answers
                .get(i)
                .cloned()
                .ok_or_else(|| Diagnostic::runtime("the engine's workers gave no answer"))?
                .map_err(Diagnostic::from),
        }
    };
    let parts = if matches!(round, FirstRound::Parts(..)) { s.parts.len() } else { 0 };
    let (ingested, table, keys_files) = match round {
        FirstRound::Failed(e) => Err(e),
        FirstRound::Whole(answer) => answer.map_err(Diagnostic::from).and_then(received),
        FirstRound::Retried(i) => second_answer(i).and_then(received),
        FirstRound::Parts(merged, again) => again
            .into_iter()
            .map(second_answer)
            .collect::<Result<Vec<SourceOutcome>>>()
            .and_then(|again| table_of_parts(&s.name, *merged, &again, stage)),
    }?;
    Ok(Loaded {
        files: s.files,
        keys_files,
        parts,
        ingested,
        table,
        key: None,
        from_cache: false,
        cache_write: None,
        missing: Vec::new(),
    })
}

/// A source read in parts: its account, its table (the parts' folder, or
/// the file itself when read in place) and its key files.
fn table_of_parts(
    name: &str,
    merged: MergedParts,
    again: &[SourceOutcome],
    stage: &Stage,
) -> Result<(Ingested, StagedTable, Vec<PathBuf>)> {
    let (in_place, keys) = (merged.in_place.clone(), merged.keys.clone());
    let ingested = merged.finish(again)?;
    let folder = stage.folder().join(format!("{}.parts", file_safe(name)));
    let place = match in_place {
        Some(file) => Placed::InPlace(file),
        None => Placed::File(folder),
    };
    let table = StagedTable { schema: ingested.schema.clone(), rows: ingested.rows_loaded, place };
    Ok((ingested, table, keys))
}
