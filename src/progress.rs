//! The progress bar: bytes done, total, rate and time left (bytes and rate
//! when the size is unknown), drawn on standard error only, advanced once
//! per block. On a terminal it redraws in place and is cleared at the end;
//! `--progress always` off a terminal writes a plain line every few
//! seconds instead, which reads well in a CI log.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

/// Work shorter than this never shows a bar in `auto` mode, so quick runs
/// leave the terminal as they found it.
const AUTO_DELAY: Duration = Duration::from_millis(500);

/// How often indicatif draws into a log, and the least time between two
/// lines of it (indicatif lets a burst of draws through at first).
const LOG_HZ: u8 = 1;
const LOG_EVERY: Duration = Duration::from_secs(2);

/// When to draw the bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// On a terminal, once the work has taken more than a moment.
    Auto,
    /// From the start, as plain lines when standard error is not a terminal.
    Always,
    Never,
}

/// A progress bar that may be hidden.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    /// In `auto` mode the bar is drawn only once the delay has passed.
    waiting: AtomicBool,
    /// Drawing plain lines (a log), not a bar on a terminal.
    log: bool,
}

impl Progress {
    /// A bar for `total` bytes (unknown when reading a pipe).
    pub fn new(mode: Mode, total: Option<u64>) -> Progress {
        let on_terminal = console::Term::stderr().is_term();
        let (bar, log) = match mode {
            Mode::Never => (None, false),
            Mode::Auto if !on_terminal => (None, false),
            Mode::Auto => (
                Some(styled(total, ProgressDrawTarget::hidden(), false)),
                false,
            ),
            Mode::Always if on_terminal => (
                Some(styled(total, ProgressDrawTarget::stderr(), false)),
                false,
            ),
            Mode::Always => {
                let target =
                    ProgressDrawTarget::term_like_with_hz(Box::new(LogLines::default()), LOG_HZ);
                (Some(styled(total, target, true)), true)
            }
        };
        Progress {
            bar,
            started: Instant::now(),
            waiting: AtomicBool::new(mode == Mode::Auto),
            log,
        }
    }

    /// A bar that never draws.
    #[cfg(test)]
    pub fn hidden() -> Progress {
        Progress::new(Mode::Never, None)
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

    /// Remove the bar before results or messages are printed (in a log,
    /// write the last state as a final line).
    pub fn finish(&self) {
        let Some(bar) = &self.bar else { return };
        if self.log {
            bar.set_draw_target(ProgressDrawTarget::hidden());
            let seconds = self.started.elapsed().as_secs_f64();
            let done = bar.position();
            let rate = done as f64 / seconds.max(1e-9) / f64::from(1 << 20);
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "rbag: progress: done, {} in {seconds:.1} s ({rate:.2} MiB/s)",
                indicatif::BinaryBytes(done)
            );
        } else {
            bar.finish_and_clear();
        }
    }
}

fn styled(total: Option<u64>, target: ProgressDrawTarget, log: bool) -> ProgressBar {
    let (bar, template) = match (total, log) {
        (Some(total), false) => (
            ProgressBar::with_draw_target(Some(total), target),
            "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
        ),
        (Some(total), true) => (
            ProgressBar::with_draw_target(Some(total), target),
            "{binary_bytes}/{binary_total_bytes} ({percent}%) {binary_bytes_per_sec} eta {eta}",
        ),
        (None, false) => (
            ProgressBar::with_draw_target(None, target),
            "{spinner} {binary_bytes} {binary_bytes_per_sec} {elapsed}",
        ),
        (None, true) => (
            ProgressBar::with_draw_target(None, target),
            "{binary_bytes} {binary_bytes_per_sec} {elapsed}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// A "terminal" that is a log: each drawing becomes one plain line, with
/// no cursor movement and no padding.
#[derive(Debug, Default)]
struct LogLines {
    /// The line being drawn, and when the last line was written.
    line: Mutex<(String, Option<Instant>)>,
}

impl TermLike for LogLines {
    fn width(&self) -> u16 {
        100
    }

    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)?;
        self.flush()
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        // Padding and carriage returns place a bar on a terminal; a log
        // line needs neither.
        if !s.trim().is_empty() {
            self.line
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .0
                .push_str(s);
        }
        Ok(())
    }

    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn flush(&self) -> std::io::Result<()> {
        let mut guard = self.line.lock().unwrap_or_else(|e| e.into_inner());
        let (line, last) = &mut *guard;
        let due = last.is_none_or(|at| at.elapsed() >= LOG_EVERY);
        if line.trim().is_empty() || !due {
            line.clear();
            return Ok(());
        }
        let mut err = std::io::stderr().lock();
        writeln!(err, "rbag: progress: {}", line.trim())?;
        line.clear();
        *last = Some(Instant::now());
        err.flush()
    }
}
