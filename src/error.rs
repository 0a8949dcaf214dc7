//! The errors rbag reports, how they read, and the exit code each maps to.
//!
//! Every message is printed as `rbag: {error}`, so each `Display` starts with
//! what it is about: a path (`PATH:LINE:COL:` when a position is known),
//! `stdout`, or the flag involved.

use std::io;

/// Exit status for a runtime failure: I/O, bad data, a missing file.
pub const EXIT_RUNTIME: u8 = 1;
/// Exit status for a usage error: a bad flag, size or pattern.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when `--expect` found a difference.
pub const EXIT_DIFFERENT: u8 = 3;
/// Exit status after Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Everything that can stop an rbag run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or reading an input, or writing an output file, failed.
    #[error("{path}: {}", io_message(.source))]
    Io { path: String, source: io::Error },

    /// An input named on the command line is a directory.
    #[error(
        "{path}: is a directory (rbag reads files; quote a glob such as '{path}/*.txt' to read what is inside)"
    )]
    IsDirectory { path: String },

    /// An output (or golden) file named on the command line is a
    /// directory.
    #[error("{path}: is a directory, and {option} names {what}")]
    NotAFile {
        path: String,
        option: &'static str,
        what: &'static str,
    },

    /// No file can be created in the directory of an output.
    #[error("{dir}: cannot create {file} in this directory: {}", io_message(.source))]
    CannotCreate {
        dir: String,
        file: String,
        source: io::Error,
    },

    /// A quoted glob matched no file.
    #[error("{pattern}: no file matches this pattern")]
    NoMatch { pattern: String },

    /// A glob pattern that could not be parsed.
    #[error("{pattern}: bad glob pattern: {reason}")]
    BadGlob { pattern: String, reason: String },

    /// Writing results to standard output failed (other than a closed pipe).
    #[error("stdout: {}", io_message(.0))]
    Stdout(io::Error),

    /// A standard stream was closed when rbag started (`>&-`, `<&-`).
    #[error("{name}: {what} is closed ({redirect}?), so {consequence}")]
    StreamClosed {
        name: &'static str,
        what: &'static str,
        redirect: &'static str,
        consequence: &'static str,
    },

    /// An input file that changed while it was read.
    #[error(
        "{path}: it changed while rbag read it: {how}; no result is given for a file in the middle of a change"
    )]
    Changed { path: String, how: String },

    /// Compressed input that is corrupt or cut short.
    #[error("{path}: corrupt or truncated {format} data (at compressed byte {offset}): {detail}")]
    Corrupt {
        path: String,
        format: &'static str,
        offset: u64,
        detail: String,
    },

    /// `--strict-utf8` found bytes that are not UTF-8.
    #[error(
        "{path}:{line}:{column}: invalid UTF-8 (byte offset {offset}; drop --strict-utf8 to keep such bytes as they are)"
    )]
    InvalidUtf8 {
        path: String,
        line: u64,
        column: u64,
        offset: u64,
    },

    /// Bad data at a known position: invalid JSON, a value a stage cannot
    /// handle.
    #[error("{path}:{line}:{column}: {message}")]
    BadData {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },

    /// Something wrong with a whole block of records (a `pipe` command that
    /// failed on them).
    #[error("{path}:{first}-{last}: {message}")]
    BadBlock {
        path: String,
        first: u64,
        last: u64,
        message: String,
    },

    /// A pipeline that does not parse.
    #[error("pipeline: {line}:{column}: {message}")]
    Pipeline {
        line: u64,
        column: u64,
        message: String,
    },

    /// `--expect` found a difference: the report (a diff and a summary
    /// line), printed as it is.
    #[error("{0}")]
    Different(String),

    /// Partials that cannot be merged exactly, or a malformed one.
    #[error("{0}")]
    Merge(String),

    /// A reduction with no answer (the minimum of no numbers, an overflow).
    #[error("{0}")]
    NoResult(String),

    /// A command-line value that parsed but cannot be used.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// The process exit status this error maps to (SPEC section 7).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::BadGlob { .. } | Error::Pipeline { .. } => EXIT_USAGE,
            Error::Different(_) => EXIT_DIFFERENT,
            _ => EXIT_RUNTIME,
        }
    }

    /// True when the error is a reader closing our stdout early
    /// (`rbag ... | head`), which Unix tools treat as success.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    pub(crate) fn io(path: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Bytes (a path, a pattern) as text for a message: control characters
/// escaped (`\n`, `\t`, `\x1b`) and bytes that are not UTF-8 as `\xff`, so
/// that a name can neither split a message nor send escapes to a terminal.
pub fn display_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            match ch {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// A path as text for a message, as [`display_bytes`] shows it.
pub fn display_path(path: &std::path::Path) -> String {
    display_bytes(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
}

/// An I/O error as a short lowercase phrase, without the `(os error N)` tail
/// std appends, so messages read the same on every machine.
pub fn io_message(err: &io::Error) -> String {
    let text = err.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::from("i/o error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_messages_are_short_and_lowercase() {
        let err = io::Error::from(io::ErrorKind::NotFound);
        let shown = Error::io("a.txt", err).to_string();
        assert!(shown.starts_with("a.txt: "), "{shown}");
        assert!(!shown.contains("os error"), "{shown}");
        let raw = io::Error::from_raw_os_error(2);
        assert_eq!(io_message(&raw), "no such file or directory");
    }

    #[test]
    fn exit_codes_follow_the_spec() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(
            Error::NoMatch {
                pattern: "*.x".into()
            }
            .exit_code(),
            1
        );
        let pipe = Error::Stdout(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(pipe.is_broken_pipe());
    }
}
