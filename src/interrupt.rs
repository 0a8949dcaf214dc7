//! Signals that end a run (SIGINT, SIGTERM, SIGHUP): remove the temporary
//! files of unfinished outputs, stop the commands `pipe` started, and exit
//! with status 128 + the signal's number, so an interrupted run leaves no
//! trace beside its `-o` file and nothing running behind it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Temporary files that a signal must remove.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Child processes that a signal must stop.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A signal arrived: the run is ending with its status.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a signal is ending the run: its handler exits the process with
/// 128 + the signal's number once the clean-up is done, so nothing else
/// may end it first (with the status of a failure the clean-up caused).
pub fn stopping() -> bool {
    STOPPING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Install the handler; the binary calls this once at start.
pub fn install() {
    // Without a handler the default still ends the process with the
    // signal's status; only the clean-up would be missing, so a failure to
    // install is ignored.
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("rbag-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // First, so that a failure the clean-up causes (a command
                // it ends) is known as the signal's doing.
                STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
                clean_up();
                std::process::exit(128 + signal);
            }
        });
}

fn clean_up() {
    let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    for path in pending.iter() {
        // A file, or a directory of spilled tables, which a worker may be
        // writing in as it goes: tried again while it is still there.
        if std::fs::remove_file(path).is_err() {
            for _ in 0..20 {
                if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
                    break;
                }
            }
        }
    }
    let groups: Vec<_> = CHILDREN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|&pid| rustix::process::Pid::from_raw(pid as i32))
        .collect();
    // Each command leads its own process group: end all of it, and what
    // ignores SIGTERM gets SIGKILL after a short grace, so that nothing
    // outlives the run.
    for &group in &groups {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let alive = |group| rustix::process::test_kill_process_group(group).is_ok();
    while groups.iter().any(|&g| alive(g)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for &group in groups.iter().filter(|&&g| alive(g)) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

/// Remove `path` if the run is interrupted.
pub fn register(path: &Path) {
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.to_path_buf());
}

/// Make something a signal must remove (a temporary directory), under the
/// lock the clean-up takes: made and registered before a signal's
/// clean-up, or never made.
///
/// # Errors
/// What `make` returns.
pub fn make_registered<T>(
    make: impl FnOnce() -> std::io::Result<T>,
    path_of: impl Fn(&T) -> &Path,
) -> std::io::Result<T> {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    if stopping() {
        return Err(std::io::Error::other("a signal is ending the run"));
    }
    let made = make()?;
    pending.push(path_of(&made).to_path_buf());
    Ok(made)
}

/// `path` is gone or complete: a signal must leave it alone.
pub fn unregister(path: &Path) {
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| p != path);
}

/// Start `command` as a child whose process group a signal must end;
/// `None` once a signal is ending the run. Registered under the lock the
/// clean-up takes, so that a child started at any moment is either seen
/// by it or never started (a command may be quick to do what a test, or
/// a user, waits for).
///
/// # Errors
/// The command could not be started.
pub fn spawn_child(
    command: &mut std::process::Command,
) -> std::io::Result<Option<std::process::Child>> {
    let mut children = CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
    if stopping() {
        return Ok(None);
    }
    let child = command.spawn()?;
    children.push(child.id());
    Ok(Some(child))
}

/// Child `pid` has ended.
pub fn unregister_child(pid: u32) {
    CHILDREN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| *p != pid);
}
