//! A guard against a query that stops making progress.
//!
//! Under a tight memory limit, DataFusion 55 can deadlock: when two tasks
//! feeding a repartition spill at once, its reader waits on one spill file
//! while the batch it needs is in the other, and every thread parks for
//! good (apache/datafusion#24883, fixed in a later DataFusion than the one
//! this arrow version allows). A query that is working uses CPU; one that
//! is deadlocked uses none. [`until_stalled`] runs a step's work and gives
//! up when the whole process has used almost no CPU for a while, so that
//! the step can be run again without repartitioning ([`single_partition`]),
//! which cannot deadlock that way, instead of hanging forever.

use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use std::future::Future;
use std::time::Duration;

/// How long the process may use no CPU while a step runs before the step
/// counts as stalled.
pub const STALL: Duration = Duration::from_secs(10);

/// The work used almost no CPU for the stall time: it has deadlocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stalled;

/// Run `work`; `Err(Stalled)` (and `work` dropped, which cancels it) when
/// the process spends under 2 % of one core for `stall` in a row while it
/// runs. Where the process's CPU time cannot be read (not Linux), `work`
/// just runs.
pub async fn until_stalled<F: Future>(work: F, stall: Duration) -> Result<F::Output, Stalled> {
    let Some(first) = cpu_time() else { return Ok(work.await) };
    let tick = Duration::from_millis(250).min(stall);
    let windows = (stall.as_millis() / tick.as_millis().max(1)).max(1) as usize;
    // The CPU time at each of the last ticks, oldest first: one stall time apart at the ends.
    let mut samples = std::collections::VecDeque::from([first]);
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return Ok(done),
            () = tokio::time::sleep(tick) => {
                let now = cpu_time().unwrap_or(first);
                samples.push_back(now);
                if samples.len() > windows {
                    let then = samples.pop_front().unwrap_or(now);
                    if now.saturating_sub(then) < stall / 50 {
                        return Err(Stalled);
                    }
                }
            }
        }
    }
}

/// The CPU time the process has used (user and system, every thread), from
/// `/proc/self/stat`; `None` where there is no such file.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command name in parentheses: state, then 10 fields, then utime and stime in ticks.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    // Linux reports these in USER_HZ, 100 a second on every architecture it runs on.
    Some(Duration::from_millis((user + system) * 10))
}

/// The same session (tables, functions, memory pool), its queries run on
/// one partition: no repartition, so no repartition deadlock.
pub fn single_partition(ctx: &SessionContext) -> SessionContext {
    let state = ctx.state();
    let mut config = state.config().clone();
    config.options_mut().execution.target_partitions = 1;
    // Keep the existing catalog (with every table) rather than a fresh default one.
    config.options_mut().catalog.create_default_catalog_and_schema = false;
    SessionContext::new_with_state(SessionStateBuilder::new_from_existing(state).with_config(config).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_that_waits_for_ever_is_given_up() {
        let waited = until_stalled(std::future::pending::<()>(), Duration::from_secs(2)).await;
        assert_eq!(waited, Err(Stalled));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busy_work_runs_to_its_end() {
        // Four seconds of computing on a blocking thread, twice the stall time.
        let busy = tokio::task::spawn_blocking(|| {
            let start = std::time::Instant::now();
            let mut x = 0u64;
            while start.elapsed() < Duration::from_secs(4) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            x
        });
        assert!(until_stalled(busy, Duration::from_secs(2)).await.is_ok());
    }

    #[test]
    fn the_process_cpu_time_grows() {
        let before = cpu_time().expect("/proc/self/stat");
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(300) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        assert!(x != 1);
        assert!(cpu_time().expect("/proc/self/stat") > before);
    }

    #[test]
    fn a_single_partition_session_keeps_the_tables() {
        let ctx = SessionContext::new();
        ctx.register_batch(
            "t",
            datafusion::arrow::record_batch::RecordBatch::new_empty(std::sync::Arc::new(
                datafusion::arrow::datatypes::Schema::empty(),
            )),
        )
        .unwrap();
        let single = single_partition(&ctx);
        assert_eq!(single.state().config().target_partitions(), 1);
        assert!(single.table_exist("t").unwrap());
    }
}
