//! The progress bar: bytes done, rate and time left, drawn on standard error
//! only, advanced once per block.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ProgressMode;

/// Work shorter than this never shows a bar in `auto` mode, so quick runs
/// leave the terminal as they found it.
const AUTO_DELAY: Duration = Duration::from_millis(500);

/// A progress bar that may be hidden.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    /// In `auto` mode the bar is drawn only once the delay has passed.
    waiting: AtomicBool,
}

impl Progress {
    /// A bar for `total` bytes (unknown when reading a pipe).
    pub fn new(mode: ProgressMode, total: Option<u64>) -> Progress {
        let bar = match mode {
            ProgressMode::Never => None,
            ProgressMode::Auto if !console::Term::stderr().is_term() => None,
            ProgressMode::Auto => Some(styled(total, ProgressDrawTarget::hidden())),
            // `always` draws through the raw terminal interface, which does
            // not hide itself when standard error is a file or a pipe.
            ProgressMode::Always => Some(styled(
                total,
                ProgressDrawTarget::term_like(Box::new(console::Term::stderr())),
            )),
        };
        Progress {
            bar,
            started: Instant::now(),
            waiting: AtomicBool::new(mode == ProgressMode::Auto),
        }
    }

    /// A bar that never draws.
    pub fn hidden() -> Progress {
        Progress::new(ProgressMode::Never, None)
    }

    /// Record that `bytes` more were processed.
    pub fn advance(&self, bytes: u64) {
        let Some(bar) = &self.bar else { return };
        bar.inc(bytes);
        if self.waiting.load(Ordering::Relaxed)
            && self.started.elapsed() >= AUTO_DELAY
            && self.waiting.swap(false, Ordering::Relaxed)
        {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// Remove the bar before results or messages are printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn styled(total: Option<u64>, target: ProgressDrawTarget) -> ProgressBar {
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::with_draw_target(Some(total), target),
            "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
        ),
        None => (
            ProgressBar::with_draw_target(None, target),
            "{spinner} {binary_bytes} {binary_bytes_per_sec} {elapsed}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
