//! Stopping the process (Ctrl-C, SIGTERM, `--timeout`): remove what the run
//! has not finished and say so, whichever command was running.

/// Stop the process at once, as Ctrl-C, SIGTERM or `--timeout` ask: remove
/// what the run has not finished and say so. A pipeline's outputs are
/// published as a set when it succeeds, so the outputs of its previous run
/// stay as they were.
pub(crate) fn stop(why: &str, code: i32) -> ! {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    let removed = sunward_core::cleanup::remove_all();
    if RUNNING_PIPELINES.load(std::sync::atomic::Ordering::SeqCst) {
        errln!(
            "sunward: {why}; nothing of the pipeline being run was published ({removed} unfinished files and \
             staging folders removed); outputs written before it are as they were"
        );
    } else {
        errln!("sunward: {why}; stopped ({removed} temporary files and folders removed)");
    }
    std::process::exit(code);
}

/// Set once [`stop`] has begun: the run's own ending (a job that fails
/// because [`stop`] cancelled it) then waits for [`stop`] to end the process.
pub(crate) static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// If the process is being stopped, wait here for [`stop`] to exit it.
pub(crate) fn wait_if_stopping() {
    while STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::park_timeout(std::time::Duration::from_secs(1));
    }
}

/// Set while `sunward run` runs pipelines (for what [`stop`] says).
pub(crate) static RUNNING_PIPELINES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
