//! A run kept in memory: what a pipeline test runs. Sources are loaded
//! (their rejects kept), steps run and data checked as [`super::run`] does,
//! but nothing is written: no output, no rejects file, no manifest. The
//! tables are read back from the session as JSON rows, as the `jsonl`
//! output writes them.

use super::load;
use super::loaded::CacheWrites;
use super::options::RunOptions;
use super::phases;
use super::report::RunReport;
use crate::ingest::Reject;
use crate::stage::Stage;
use datafusion::arrow::json::writer::{JsonArray, WriterBuilder};
use datafusion::prelude::SessionContext;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use sunward_core::{Diagnostic, Plan, Result, StepContext};

/// A run kept in memory ([`run_tables`]): what it did, the rows each source
/// set aside, and the session that holds every table.
pub struct TablesRun {
    /// What the run did (no outputs, no manifest, no rejects files).
    pub report: RunReport,
    /// Each source's rejected rows, by source.
    pub rejects: BTreeMap<String, Vec<Reject>>,
    /// The session holding every source and step, to query.
    pub session: SessionContext,
    /// The staging folder of the tables too large for memory: kept while the session is.
    _stage: Stage,
}

/// Run a validated (and checked) plan without writing anything: sources
/// loaded (with their rejects kept in memory), steps run and data checked
/// as [`run`] does, but no output written, no rejects file and no manifest.
/// How a pipeline test runs a pipeline on the rows it gives.
pub async fn run_tables(plan: &Plan, options: &RunOptions) -> Result<TablesRun> {
    let mut report = RunReport::empty(options.budget());
    let stage_dir = options.stage_dir.clone().unwrap_or_else(std::env::temp_dir);
    let stage = Stage::new(&stage_dir, report.memory.stage_threshold)?;
    let mut loaded = load::load_sources(plan, options, &report.memory, &stage).await?;
    let cache_writes = CacheWrites::take(&mut loaded);
    let rejects = loaded.iter().map(|(name, l)| (name.clone(), l.ingested.rejects.clone())).collect();
    phases::settle_rejects(plan, None, &loaded, &mut report, &mut Vec::new())?;
    let (session, _) = super::compute(plan, options, &stage, loaded, &mut report).await?;
    report.warnings.extend(cache_writes.finish());
    options.progress.finish();
    Ok(TablesRun { report, rejects, session, _stage: stage })
}

impl TablesRun {
    /// The rows a query over the run's tables returns (planned as a step's
    /// query is, with the plan's parameters and functions), each a JSON
    /// object holding every column: a missing value as null, a date as
    /// `"YYYY-MM-DD"`.
    pub async fn rows(&self, plan: &Plan, query: &str) -> Result<Vec<Map<String, Json>>> {
        let ctx = StepContext { session: &self.session, run: &plan.run, name: "query" };
        let batches = ctx
            .sql(query)
            .await?
            .collect()
            .await
            .map_err(|e| Diagnostic::runtime(format!("the query failed: {}", e.message())))?;
        let failed =
            |e: datafusion::arrow::error::ArrowError| Diagnostic::runtime(format!("cannot show the rows: {e}"));
        let mut json = Vec::new();
        let mut writer = WriterBuilder::new().with_explicit_nulls(true).build::<_, JsonArray>(&mut json);
        for batch in &batches {
            writer.write(batch).map_err(failed)?;
        }
        writer.finish().map_err(failed)?;
        drop(writer);
        if json.is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_slice(&json).map_err(|e| Diagnostic::runtime("cannot show the rows").caused_by(e))
    }

    /// The first `most` rows `source` set aside, each a CSV line of its place,
    /// column, rule and value as the rejects file writes them.
    pub fn reject_lines(&self, source: &str, most: usize) -> Vec<String> {
        let mut text = Vec::new();
        {
            let mut out = csv::Writer::from_writer(&mut text);
            for r in self.rejects.get(source).into_iter().flatten().take(most) {
                let _ = out.write_record(r.fields());
            }
        }
        String::from_utf8_lossy(&text).lines().take(most).map(str::to_string).collect()
    }
}
