//! Progress on stderr while a pipeline runs: a spinner naming the current
//! stage and one line per source counting the rows read. Shown only when
//! stderr is a terminal and `--quiet` is not given; otherwise the engine's
//! silent receiver is used.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use sunward_engine::Progress;

/// Spinners drawn with indicatif.
pub struct TermProgress {
    multi: MultiProgress,
    stage: ProgressBar,
    sources: Mutex<BTreeMap<String, ProgressBar>>,
}

impl TermProgress {
    /// Start drawing on stderr.
    pub fn new() -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let stage = multi.add(ProgressBar::new_spinner().with_style(spinner_style("{spinner} {msg}")));
        stage.enable_steady_tick(Duration::from_millis(100));
        TermProgress { multi, stage, sources: Mutex::new(BTreeMap::new()) }
    }
}

fn spinner_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Progress for TermProgress {
    fn stage(&self, stage: &str) {
        self.stage.set_message(stage.to_string());
    }

    fn rows(&self, source: &str, rows: u64) {
        let Ok(mut sources) = self.sources.lock() else { return };
        let bar = sources.entry(source.to_string()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner().with_style(spinner_style("  {prefix}: {msg}")));
            bar.set_prefix(source.to_string());
            bar
        });
        bar.set_message(format!("{rows} rows"));
    }

    fn finish(&self) {
        if let Ok(sources) = self.sources.lock() {
            sources.values().for_each(ProgressBar::finish_and_clear);
        }
        self.stage.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Drop for TermProgress {
    fn drop(&mut self) {
        self.finish();
    }
}
