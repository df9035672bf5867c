//! Sources loaded on the executors.
//!
//! A wave of sources (none referring to another) travels to the cluster as
//! one Ballista job: the client's session reads a [`LoadTable`], whose plan
//! is a [`LoadExec`] over an in-memory scan holding one row per task (the
//! task as JSON) in a partition of its own. The scheduler restricts each
//! task's plan to its partition of that scan (Ballista slices in-memory and
//! file scans, not other leaves: a leaf of our own would be run whole by
//! every task), so each executor task loads exactly one source or part. The executor runs the
//! task with the run's own loading code (`sunward_engine::remote`): it
//! validates the same pipeline file, reads, types and checks the source
//! into the run's staging folder, and answers with one row holding the
//! source's account (rows, rejects, warnings, where its table is) as JSON,
//! which the client gathers as it gathers any query's result.
//!
//! The plans travel as DataFusion's protobuf; the two codecs here carry
//! these nodes (as JSON behind a tag) and hand every other node to
//! Ballista's own codecs. The client and the scheduler encode and decode the
//! table ([`LogicalCodec`]); the scheduler and the executors the plan
//! ([`PhysicalCodec`]), which on an executor carries the [`TaskLoader`] that
//! runs it.

use async_trait::async_trait;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::array::{AsArray, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, TableReference};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{AggregateUDF, Expr, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use datafusion::prelude::SessionContext;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use futures::StreamExt;
use std::sync::Arc;
use sunward_engine::remote::{Duplicate, SourceTask, TaskLoader, TaskResult};

type DfResult<T> = datafusion::common::Result<T>;

/// The tag before a [`LoadTable`] or [`LoadExec`] in an encoded plan.
const TAG: &[u8] = b"sunward-load-sources:";

/// The schema of a load job's result: one row per task, its number, its source's name and its outcome.
fn outcome_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("task", DataType::UInt64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("outcome", DataType::Utf8, false),
    ]))
}

/// The schema of the scan under a [`LoadExec`]: one row per task, its number and the task as JSON.
fn task_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("task", DataType::UInt64, false), Field::new("json", DataType::Utf8, false)]))
}

fn encoded(tasks: &[SourceTask], buf: &mut Vec<u8>) -> DfResult<()> {
    buf.extend_from_slice(TAG);
    serde_json::to_writer(buf, tasks).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// The tasks behind the tag, or `None` for another node.
fn decoded(buf: &[u8]) -> Option<DfResult<Vec<SourceTask>>> {
    let body = buf.strip_prefix(TAG)?;
    Some(serde_json::from_slice(body).map_err(|e| DataFusionError::External(Box::new(e))))
}

/// The in-memory scan of `tasks`: partition `i` holds task `i` alone.
fn task_scan(tasks: &[SourceTask]) -> DfResult<Arc<dyn ExecutionPlan>> {
    let schema = task_schema();
    let partitions = tasks
        .iter()
        .enumerate()
        .map(|(i, task)| {
            let json = serde_json::to_string(task).map_err(|e| DataFusionError::External(Box::new(e)))?;
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(UInt64Array::from(vec![i as u64])), Arc::new(StringArray::from(vec![json]))],
            )?;
            Ok(vec![batch])
        })
        .collect::<DfResult<Vec<_>>>()?;
    Ok(datafusion::datasource::memory::MemorySourceConfig::try_new_exec(&partitions, schema, None)?)
}

/// The sources of one wave, as a table the client's session reads.
#[derive(Debug, Clone)]
pub struct LoadTable {
    tasks: Vec<SourceTask>,
}

impl LoadTable {
    /// The table loading these sources.
    pub fn new(tasks: Vec<SourceTask>) -> Self {
        LoadTable { tasks }
    }

    /// The sources' tasks.
    pub fn tasks(&self) -> &[SourceTask] {
        &self.tasks
    }
}

#[async_trait]
impl TableProvider for LoadTable {
    fn schema(&self) -> SchemaRef {
        outcome_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // Every task must run and answer whole: a narrower read would lose an answer's half.
        let all: Vec<usize> = (0..outcome_schema().fields().len()).collect();
        if projection.is_some_and(|p| p != &all) {
            return Err(DataFusionError::NotImplemented(
                "a load job's result is read whole (task, source and outcome)".into(),
            ));
        }
        Ok(Arc::new(LoadExec::new(task_scan(&self.tasks)?, None)))
    }
}

/// Loads the task in each row of its input (an in-memory scan of the
/// tasks, a partition each) and answers with the task's outcome.
#[derive(Debug)]
pub struct LoadExec {
    input: Arc<dyn ExecutionPlan>,
    /// What runs a task: set on an executor (by its [`PhysicalCodec`]).
    loader: Option<Arc<dyn TaskLoader>>,
    properties: Arc<PlanProperties>,
}

impl LoadExec {
    fn new(input: Arc<dyn ExecutionPlan>, loader: Option<Arc<dyn TaskLoader>>) -> Self {
        let partitions = input.properties().output_partitioning().partition_count();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(outcome_schema()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        LoadExec { input, loader, properties: Arc::new(properties) }
    }
}

impl DisplayAs for LoadExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "SunwardLoadExec: tasks={}", self.properties.output_partitioning().partition_count())
    }
}

impl ExecutionPlan for LoadExec {
    fn name(&self) -> &str {
        "SunwardLoadExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        let [input] = children.as_slice() else {
            return Err(DataFusionError::Internal("a load plan has one input".into()));
        };
        Ok(Arc::new(LoadExec::new(input.clone(), self.loader.clone())))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let loader = self.loader.clone().ok_or_else(|| {
            DataFusionError::Execution(
                "this process cannot load sources: only a Sunward executor runs a load task".into(),
            )
        })?;
        let input = self.input.execute(partition, context)?;
        let schema = outcome_schema();
        let batch_schema = schema.clone();
        let answers = input.then(move |batch| {
            let (loader, schema) = (loader.clone(), batch_schema.clone());
            async move {
                let batch = batch?;
                let numbers = batch.column(0).as_primitive::<datafusion::arrow::datatypes::UInt64Type>().clone();
                let tasks = batch.column(1).as_string::<i32>().clone();
                let mut out_numbers = Vec::new();
                let mut sources = Vec::new();
                let mut outcomes = Vec::new();
                for (number, json) in numbers.iter().zip(tasks.iter()) {
                    let (Some(number), Some(json)) = (number, json) else { continue };
                    let task: SourceTask =
                        serde_json::from_str(json).map_err(|e| DataFusionError::External(Box::new(e)))?;
                    let source = task.source.clone();
                    let loader = loader.clone();
                    let result: TaskResult = tokio::task::spawn_blocking(move || loader.load(&task))
                        .await
                        .map_err(|e| DataFusionError::External(Box::new(e)))?;
                    out_numbers.push(number);
                    sources.push(source);
                    outcomes.push(serde_json::to_string(&result).map_err(|e| DataFusionError::External(Box::new(e)))?);
                }
                Ok(RecordBatch::try_new(
                    schema,
                    vec![
                        Arc::new(UInt64Array::from(out_numbers)),
                        Arc::new(StringArray::from(sources)),
                        Arc::new(StringArray::from(outcomes)),
                    ],
                )?)
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, answers)))
    }
}

/// The logical codec of every Sunward process: [`LoadTable`]s, and Ballista's for the rest.
#[derive(Debug, Default)]
pub struct LogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> DfResult<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        match decoded(buf) {
            Some(tasks) => Ok(Arc::new(LoadTable::new(tasks?))),
            None => self.ballista.try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        match node.downcast_ref::<LoadTable>() {
            Some(table) => encoded(&table.tasks, buf),
            None => self.ballista.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn datafusion::datasource::file_format::FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn datafusion::datasource::file_format::FileFormatFactory>,
    ) -> DfResult<()> {
        self.ballista.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        self.ballista.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        self.ballista.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.ballista.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udwf(node, buf)
    }
}

/// The physical codec of the scheduler (no loader) and of an executor (its
/// loader): [`LoadExec`]s, and Ballista's for the rest.
#[derive(Debug, Default)]
pub struct PhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
    loader: Option<Arc<dyn TaskLoader>>,
}

impl PhysicalCodec {
    /// The codec of an executor whose load tasks `loader` runs.
    pub fn with_loader(loader: Arc<dyn TaskLoader>) -> Self {
        PhysicalCodec { ballista: BallistaPhysicalExtensionCodec::default(), loader: Some(loader) }
    }
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if buf == TAG {
            let [input] = inputs else {
                return Err(DataFusionError::Internal("a load plan has one input".into()));
            };
            return Ok(Arc::new(LoadExec::new(input.clone(), self.loader.clone())));
        }
        self.ballista.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        if node.downcast_ref::<LoadExec>().is_some() {
            buf.extend_from_slice(TAG);
            return Ok(());
        }
        self.ballista.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        self.ballista.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        self.ballista.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.ballista.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udwf(node, buf)
    }
}

/// Run one wave's tasks on the cluster through `ctx` (a cluster session):
/// each task's result, in order. `watch` is given the job's plan before it
/// runs (so a stopped run can cancel the job).
pub async fn load_on_cluster(
    ctx: &SessionContext,
    tasks: Vec<SourceTask>,
    watch: impl Fn(&Arc<dyn ExecutionPlan>),
) -> sunward_core::Result<Vec<TaskResult>> {
    use sunward_core::Diagnostic;
    let failed = |e: DataFusionError| {
        Diagnostic::runtime(format!("the cluster could not load the sources: {}", e.message()))
            .hint("see the executors' logs; or run with --engine local")
    };
    let names: Vec<String> = tasks.iter().map(|t| t.source.clone()).collect();
    let df = ctx.read_table(Arc::new(LoadTable::new(tasks))).map_err(failed)?;
    let task_ctx = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await.map_err(failed)?;
    watch(&plan);
    let batches = datafusion::physical_plan::collect(plan, task_ctx).await.map_err(failed)?;
    let mut answers: std::collections::HashMap<u64, TaskResult> = std::collections::HashMap::new();
    for batch in &batches {
        let numbers = batch.column(0).as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
        let outcomes = batch.column(2).as_string::<i32>();
        for (number, text) in numbers.iter().zip(outcomes.iter()) {
            let (Some(number), Some(text)) = (number, text) else { continue };
            let result: TaskResult = serde_json::from_str(text)
                .map_err(|e| Diagnostic::runtime("an executor's answer for a source cannot be read").caused_by(e))?;
            answers.insert(number, result);
        }
    }
    names
        .iter()
        .enumerate()
        .map(|(number, name)| {
            answers.remove(&(number as u64)).ok_or_else(|| {
                Diagnostic::runtime(format!("the cluster gave no answer for source `{name}`"))
                    .hint("see the executors' logs; or run with --engine local")
            })
        })
        .collect()
}

/// The duplicates among the unique-key claims in the files `claims` (the
/// parts of one source file), found by the cluster: the claims are scanned
/// and grouped by key on the executors
/// ([`sunward_engine::remote::repeated_keys_query`]), and joined back only
/// for keys claimed three times or more
/// ([`sunward_engine::remote::repeats_query`]); only the duplicates come
/// back. `watch` is given the job's plan before it runs.
pub async fn duplicates_on_cluster(
    ctx: &SessionContext,
    claims: &[std::path::PathBuf],
    watch: impl Fn(&Arc<dyn ExecutionPlan>),
) -> sunward_core::Result<Vec<Duplicate>> {
    use datafusion::datasource::file_format::parquet::ParquetFormat;
    use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
    use sunward_core::Diagnostic;
    let failed = |e: DataFusionError| {
        Diagnostic::runtime(format!(
            "the cluster could not check the unique keys across a file's parts: {}",
            e.message()
        ))
        .hint("see the executors' logs; or run with --engine local")
    };
    let urls = claims
        .iter()
        .map(|p| ListingTableUrl::parse(p.display().to_string()))
        .collect::<DfResult<Vec<_>>>()
        .map_err(failed)?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(sunward_engine::remote::claims_schema());
    let table = ListingTable::try_new(config).map_err(failed)?;
    const TABLE: &str = "sunward_key_claims";
    ctx.register_table(TABLE, Arc::new(table)).map_err(failed)?;
    let run = |sql: String| {
        let watch = &watch;
        async move {
            let df = ctx.sql(&sql).await.map_err(failed)?;
            let task_ctx = Arc::new(df.task_ctx());
            let plan = df.create_physical_plan().await.map_err(failed)?;
            watch(&plan);
            datafusion::physical_plan::collect(plan, task_ctx).await.map_err(failed)
        }
    };
    let u64s = |batch: &RecordBatch, i: usize| {
        datafusion::arrow::compute::cast(batch.column(i), &DataType::UInt64)
            .map(|a| a.as_primitive::<datafusion::arrow::datatypes::UInt64Type>().clone())
            .map_err(|e| failed(DataFusionError::from(e)))
    };
    let mut duplicates = Vec::new();
    let mut many = false;
    for batch in &run(sunward_engine::remote::repeated_keys_query(TABLE)).await? {
        let (parts, places, firsts, claims) = (u64s(batch, 0)?, u64s(batch, 1)?, u64s(batch, 2)?, u64s(batch, 3)?);
        for i in 0..batch.num_rows() {
            if claims.value(i) > 2 {
                many = true;
                continue;
            }
            duplicates.push(Duplicate {
                part: parts.value(i) as usize,
                place: places.value(i),
                first: firsts.value(i),
            });
        }
    }
    if many {
        for batch in &run(sunward_engine::remote::repeats_query(TABLE)).await? {
            let (parts, places, firsts) = (u64s(batch, 0)?, u64s(batch, 1)?, u64s(batch, 2)?);
            for i in 0..batch.num_rows() {
                duplicates.push(Duplicate {
                    part: parts.value(i) as usize,
                    place: places.value(i),
                    first: firsts.value(i),
                });
            }
        }
    }
    Ok(duplicates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(source: &str) -> SourceTask {
        SourceTask {
            pipeline: "/p/pipeline.yaml".into(),
            params: Default::default(),
            as_of: "2026-01-01".into(),
            out_dir: "/p/out".into(),
            source: source.into(),
            entry: String::new(),
            files: vec![],
            stage: "/p/stage".into(),
            references: Default::default(),
            memory_limit: None,
            part: None,
            restage: None,
        }
    }

    /// The tasks a plan restricted by the scheduler to some partitions would run.
    fn tasks_run(plan: &Arc<dyn ExecutionPlan>) -> Vec<String> {
        let load = plan.downcast_ref::<LoadExec>().expect("a load plan");
        let scan = load.input.clone();
        let ctx = Arc::new(TaskContext::default());
        let mut names = Vec::new();
        for p in 0..scan.properties().output_partitioning().partition_count() {
            let batches = futures::executor::block_on(datafusion::physical_plan::common::collect(
                scan.execute(p, ctx.clone()).unwrap(),
            ))
            .unwrap();
            for b in batches {
                for json in b.column(1).as_string::<i32>().iter().flatten() {
                    names.push(serde_json::from_str::<SourceTask>(json).unwrap().source);
                }
            }
        }
        names
    }

    #[test]
    fn each_task_of_a_load_job_runs_its_own_source_only() {
        // Ballista's scheduler gives each task the job's plan restricted to the
        // task's partitions; the load must then run that task's source alone
        // (a leaf it cannot restrict would be run whole by every task).
        let tasks = vec![task("services"), task("screenings"), task("cases")];
        let plan: Arc<dyn ExecutionPlan> = Arc::new(LoadExec::new(task_scan(&tasks).unwrap(), None));
        assert_eq!(tasks_run(&plan), ["services", "screenings", "cases"]);
        for (partition, source) in ["services", "screenings", "cases"].iter().enumerate() {
            let restricted =
                ballista_scheduler::state::task_builder::restrict_plan_to_partitions(plan.clone(), &[partition])
                    .unwrap();
            assert_eq!(tasks_run(&restricted), [*source], "the task of partition {partition}");
        }
    }
}
