//! Running the steps, in order: each a view when exactly one later step
//! reads it (and no output, and it does not ask to be kept), else its result
//! streamed into the stage once under its name.
//!
//! Under a memory limit every step is kept (staged on disk when large; see
//! [`crate::budget::MemoryBudget::views`]). A distributed engine plans a
//! view's query on its own workers, so every step is kept there too. A step
//! whose query engine stops making progress (a deadlock under a tight
//! memory limit, see [`crate::watchdog`]) runs again on one partition.

use super::options::{Progress, placed};
use super::report::{RunReport, TableReport};
use crate::budget::MemoryBudget;
use crate::session::Engine;
use crate::stage::{Stage, StagedTable};
use crate::watchdog::{STALL, Stalled, single_partition, until_stalled};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use sunward_core::validate::PlannedStep;
use sunward_core::{Diagnostic, Plan, PluginKind, Result, StepContext};

/// What the steps run with.
pub(super) struct StepRunner<'a> {
    pub plan: &'a Plan,
    pub session: &'a SessionContext,
    pub stage: &'a Stage,
    pub engine: &'a dyn Engine,
    pub progress: &'a dyn Progress,
    /// Moves a table where a distributed engine's workers read it.
    pub shared: &'a dyn Fn(&str, StagedTable) -> Result<StagedTable>,
}

impl StepRunner<'_> {
    /// Run every step of the plan, adding each kept table to `staged`.
    pub async fn run_all(
        &self,
        budget: &MemoryBudget,
        staged: &mut HashMap<String, StagedTable>,
        report: &mut RunReport,
    ) -> Result<()> {
        let views_allowed = budget.views && !self.engine.distributed();
        for step in &self.plan.steps {
            self.progress.stage(&format!("step {}", step.name));
            let clock = Instant::now();
            if views_allowed && self.is_view(step) {
                self.register_view(step, report).await?;
                continue;
            }
            let table = self.keep(step).await.map_err(|e| placed(e, self.plan, PluginKind::Transform, &step.name))?;
            let provider = table.provider().map_err(|e| {
                placed(
                    Diagnostic::runtime(format!("the step's result cannot be registered: {}", e.message)).caused_by(e),
                    self.plan,
                    PluginKind::Transform,
                    &step.name,
                )
            })?;
            self.session.register_table(step.name.as_str(), provider)?;
            report.tables.push(TableReport {
                name: step.name.clone(),
                rows: Some(table.rows),
                staged: table.is_staged(),
                in_place: false,
            });
            staged.insert(step.name.clone(), table);
            report.timings_ms.insert(format!("step {}", step.name), clock.elapsed().as_millis() as u64);
        }
        Ok(())
    }

    /// Whether a step may be left as a view: read by exactly one later step,
    /// by no output, and not asked to be kept.
    fn is_view(&self, step: &PlannedStep) -> bool {
        let readers = self.plan.steps.iter().filter(|s| s.inputs.contains(&step.name)).count();
        let written = self.plan.outputs.iter().any(|o| o.inputs.contains(&step.name));
        readers == 1 && !written && !step.options.materialize
    }

    /// Register a step as a view, computed inside the step that reads it.
    async fn register_view(&self, step: &PlannedStep, report: &mut RunReport) -> Result<()> {
        let ctx = StepContext { session: self.session, run: &self.plan.run, name: &step.name };
        let df = step
            .plugin
            .run(&step.config, &ctx)
            .await
            .map_err(|e| placed(e, self.plan, PluginKind::Transform, &step.name))?;
        self.session.register_table(step.name.as_str(), df.into_view())?;
        report.tables.push(TableReport { name: step.name.clone(), rows: None, staged: false, in_place: false });
        Ok(())
    }

    /// Run a step into the stage, under the stall guard (this process's own
    /// query engine only: with a distributed engine, this process waits idle
    /// while the workers run), and share the table with the engine's workers.
    async fn keep(&self, step: &PlannedStep) -> Result<StagedTable> {
        let ctx = StepContext { session: self.session, run: &self.plan.run, name: &step.name };
        let table = if self.engine.distributed() {
            stage_step(step, &ctx, self.stage, self.engine).await
        } else {
            match until_stalled(stage_step(step, &ctx, self.stage, self.engine), STALL).await {
                Ok(done) => done,
                Err(Stalled) => self.again_on_one_partition(step).await,
            }
        }?;
        (self.shared)(&step.name, table)
    }

    /// A step whose query engine stopped making progress, run again on one
    /// partition.
    async fn again_on_one_partition(&self, step: &PlannedStep) -> Result<StagedTable> {
        self.progress.stage(&format!("step {} again, on one thread (the query engine had stopped)", step.name));
        let single = single_partition(self.session);
        let ctx = StepContext { session: &single, run: &self.plan.run, name: &step.name };
        until_stalled(stage_step(step, &ctx, self.stage, self.engine), STALL).await.unwrap_or_else(|Stalled| {
            Err(Diagnostic::runtime("the step stopped making progress: the query engine used no CPU for 10 s, twice")
                .hint("raise --memory-limit, or run without it"))
        })
    }
}

/// Run a step and stream its result into the stage.
async fn stage_step(
    step: &PlannedStep,
    ctx: &StepContext<'_>,
    stage: &Stage,
    engine: &dyn Engine,
) -> Result<StagedTable> {
    let df = step.plugin.run(&step.config, ctx).await?;
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await.map_err(step_failed)?;
    engine.watch(&plan);
    let mut stream = datafusion::physical_plan::execute_stream(plan, task).map_err(step_failed)?;
    // The executed plan's schema can differ from the logical one in
    // nullability (a UNION of a nullable and a non-null branch, say); the
    // table is staged with the schema its batches actually carry.
    let mut writer = stage.table(&step.name, stream.schema());
    while let Some(batch) = stream.next().await {
        writer.push(batch.map_err(step_failed)?)?;
    }
    writer.finish()
}

/// The error of a step's query, with a hint when memory ran out or a sum
/// did not fit in 64 bits.
fn step_failed(e: datafusion::error::DataFusionError) -> Diagnostic {
    let resources = matches!(e.find_root(), datafusion::error::DataFusionError::ResourcesExhausted(_));
    let d = Diagnostic::runtime(format!("the step failed: {}", e.message()));
    let too_large = e.message().contains("out of range Int64") || e.message().contains("out of range UInt64");
    let d = if resources {
        d.hint("the query needs more memory than --memory-limit allows; raise it")
    } else if too_large {
        d.hint(
            "a value or a total does not fit in a 64-bit integer (at most 9,223,372,036,854,775,807); \
             sums over integer columns are never allowed to wrap: look for implausible values in the column summed",
        )
    } else {
        d
    };
    d.caused_by(e)
}
