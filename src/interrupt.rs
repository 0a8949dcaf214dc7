//! Ctrl-C: remove the temporary files of unfinished outputs, then exit with
//! status 130, so an interrupted run leaves no trace beside its `-o` file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::EXIT_INTERRUPTED;

/// Temporary files that an interrupt must remove.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Install the handler; the binary calls this once at start.
pub fn install() {
    // Without a handler the default still ends the process with SIGINT's
    // status; only the clean-up would be missing, so a failure is ignored.
    let _ = ctrlc::set_handler(|| {
        let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        for path in pending.iter() {
            let _ = std::fs::remove_file(path);
        }
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    });
}

/// Remove `path` if the run is interrupted.
pub fn register(path: &Path) {
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.to_path_buf());
}

/// `path` is gone or complete: an interrupt must leave it alone.
pub fn unregister(path: &Path) {
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| p != path);
}
