//! One table of a plan computed before the run, in memory, writing nothing:
//! only the sources and steps it rests on are read and run.
//!
//! `sunward validate` (and a workflow before its first pipeline) uses it for
//! what a sink needs per row of a table: a report written once per school
//! needs each school's narrative, and the list of schools is a query on the
//! schools export. Computing that one small table up front lets every missing
//! text be named before anything is written, instead of after the metrics.
//! Rows the contract rejects are left out exactly as in the run (the run
//! reports them); nothing is cached, staged outside a temporary folder, or
//! written.

use crate::run::{RunOptions, load_source};
use crate::session::{SessionOptions, new_session};
use crate::stage::Stage;
use std::collections::{BTreeSet, HashMap};
use sunward_core::{Diagnostic, Plan, PluginKind, Result, StepContext, TableData};

/// The sources and steps `table` rests on (itself included), or `None` when
/// it rests on a source `skip` says cannot be read yet (a table an earlier
/// pipeline of the workflow writes, or a `produced_by` table).
fn closure(plan: &Plan, table: &str, skip: &dyn Fn(&str) -> bool) -> Option<BTreeSet<String>> {
    let mut needed = BTreeSet::new();
    let mut todo = vec![table.to_string()];
    while let Some(name) = todo.pop() {
        if !needed.insert(name.clone()) {
            continue;
        }
        if let Some(step) = plan.steps.iter().find(|s| s.name == name) {
            todo.extend(step.inputs.iter().cloned());
        } else if let Some(source) = plan.sources.iter().find(|s| s.name == name) {
            if skip(&source.name) {
                return None;
            }
            todo.extend(source.references.values().cloned());
        }
    }
    Some(needed)
}

/// The rows of `table` (a source or a step of `plan`), computed from only what
/// it rests on. `Ok(None)` when one of those sources is skipped by `skip`.
pub async fn table_rows(
    plan: &Plan,
    table: &str,
    options: &RunOptions,
    skip: &dyn Fn(&str) -> bool,
) -> Result<Option<TableData>> {
    let Some(needed) = closure(plan, table, skip) else { return Ok(None) };
    let options = RunOptions { cache: None, ..options.clone() };
    let stage = Stage::new(&std::env::temp_dir(), options.stage_threshold())?;
    let session = new_session(&SessionOptions {
        functions: plan.functions.clone(),
        target_partitions: Some(1),
        ..options.session.clone()
    })?;
    // Sources in waves: one that checks references against another after it.
    let mut loaded = HashMap::new();
    let mut pending: Vec<_> = plan.sources.iter().filter(|s| needed.contains(&s.name)).collect();
    while !pending.is_empty() {
        let (ready, waiting): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|s| s.references.values().all(|r| loaded.contains_key(r) || r == &s.name));
        if ready.is_empty() {
            return Err(Diagnostic::runtime("sources reference each other in a cycle"));
        }
        for source in ready {
            let l = load_source(source, plan, &loaded, &options, &options.budget(), &stage).map_err(|d| {
                if d.location.is_none() { d.at(plan.location_of(PluginKind::Source, &source.name)) } else { d }
            })?;
            session.register_table(source.name.as_str(), l.table.provider()?)?;
            loaded.insert(source.name.clone(), l);
        }
        pending = waiting;
    }
    if plan.sources.iter().any(|s| s.name == table) {
        let df = session.table(table).await?;
        let schema = df.schema().inner().clone();
        return Ok(Some(TableData::in_memory(table, schema, df.collect().await?)));
    }
    for step in plan.steps.iter().filter(|s| needed.contains(&s.name)) {
        let ctx = StepContext { session: &session, run: &plan.run, name: &step.name };
        let df = step.plugin.run(&step.config, &ctx).await.map_err(|d| {
            if d.location.is_none() { d.at(plan.location_of(PluginKind::Transform, &step.name)) } else { d }
        })?;
        if step.name == table {
            let schema = df.schema().inner().clone();
            return Ok(Some(TableData::in_memory(table, schema, df.collect().await?)));
        }
        session.register_table(step.name.as_str(), df.into_view())?;
    }
    Err(Diagnostic::runtime(format!("the pipeline has no table \"{table}\"")))
}
