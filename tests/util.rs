//! Shared helpers: where the binary and the fixtures are.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A command running the rbag binary built for these tests.
pub fn rbag() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rbag"))
}

/// The `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The directory of the golden cases.
pub fn cases() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cmd")
}

/// Make a FIFO or device node at `path` in a test's own directory (never
/// the real `/dev`).
pub fn mknod(path: &Path, kind: rustix::fs::FileType, dev: u64) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        kind,
        rustix::fs::Mode::from_raw_mode(0o666),
        dev,
    )
    .unwrap_or_else(|e| {
        panic!(
            "mknod {}: {e} (device nodes need root, as CI has)",
            path.display()
        )
    });
}
