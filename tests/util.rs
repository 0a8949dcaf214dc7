//! Shared helpers: where the binary and the fixtures are.

use std::path::PathBuf;
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
