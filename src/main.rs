//! The rbag binary: parse the command line, run, map the outcome to an exit
//! status. Everything else is in the library.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use rbag::cli::Cli;
use rbag::error::EXIT_USAGE;

/// What a bare `rbag` prints on stderr: the commands, two examples, and
/// where to read more.
const SHORT_USAGE: &str = "\
rbag: parallel, deterministic word and record counts for the shell

Usage: rbag <COMMAND> [OPTIONS] [FILE]...
Commands: wordcount, freq, run, merge

Examples:
  rbag wordcount book.txt --top 10
  rbag run 'pluck .user.lang | frequencies' tweets.jsonl

'rbag --help' and 'rbag COMMAND --help' tell more (man rbag too).
";

/// Running out of memory is an error with a message, not an abort.
#[global_allocator]
static ALLOCATOR: rbag::memory::Allocator = rbag::memory::Allocator;

fn main() -> ExitCode {
    rbag::interrupt::install();
    if std::env::args_os().len() <= 1 {
        let _ = std::io::stderr().write_all(SHORT_USAGE.as_bytes());
        return ExitCode::from(EXIT_USAGE);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    let result = rbag::run(cli);
    if rbag::interrupt::stopping() {
        // The signal's handler is cleaning up and exits with its status.
        loop {
            std::thread::park();
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Rust ignores SIGPIPE, so a reader that stops early (`| head`) shows
        // up as a write error. Unix tools treat that as a normal end.
        Err(err) if err.is_broken_pipe() => ExitCode::SUCCESS,
        // The report of --expect is its own message (a diff, then a line
        // that starts with "rbag: ").
        Err(rbag::error::Error::Different(report)) => {
            let _ = writeln!(std::io::stderr(), "{report}");
            ExitCode::from(rbag::error::EXIT_DIFFERENT)
        }
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "rbag: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Print a clap error (or `--help`/`--version`) in rbag's own voice.
fn usage_error(err: &clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            let code = if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                EXIT_USAGE
            } else {
                0
            };
            ExitCode::from(code)
        }
        _ => {
            let text = err.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            let _ = write!(std::io::stderr(), "rbag: {text}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
