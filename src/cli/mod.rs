//! The command line: the clap definitions (the man pages and completions
//! are generated from them), their value parsers, the help texts (`help`),
//! and the lowering of parsed arguments into the plain requests the
//! commands take (`lower`). clap's types stop here.

// The help texts write `key<TAB>count` as users see it, not as HTML.
#![allow(rustdoc::invalid_html_tags)]

pub(crate) mod help;
mod lower;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use help::{
    ABOUT, FREQ_LONG_ABOUT, LONG_ABOUT, MERGE_LONG_ABOUT, PARTIAL_FORMAT_HELP, PIPELINE_HELP,
    RUN_LONG_ABOUT, WORDCOUNT_LONG_ABOUT,
};
pub(crate) use lower::lower;

/// The rbag command line.
#[derive(Debug, Parser)]
#[command(
    name = "rbag",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = crate::examples::help("rbag"),
    max_term_width = 100,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Print a man page or a shell completion script and exit.
    #[arg(long, value_name = "WHAT", hide = true, exclusive = true)]
    pub generate: Option<Generate>,
}

/// What `--generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// man/rbag.1
    Man,
    /// man/rbag-wordcount.1
    ManWordcount,
    /// man/rbag-run.1
    ManRun,
    /// man/rbag-freq.1
    ManFreq,
    /// man/rbag-merge.1
    ManMerge,
    CompleteBash,
    CompleteZsh,
    CompleteFish,
    CompleteElvish,
    CompletePowershell,
}

/// rbag's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Count words, most frequent first
    #[command(
        long_about = WORDCOUNT_LONG_ABOUT,
        after_help = crate::examples::help("wordcount")
    )]
    Wordcount(WordcountArgs),

    /// Run a bag pipeline: map, filter, flatten, then reduce
    #[command(
        long_about = RUN_LONG_ABOUT,
        after_help = crate::examples::help("run"),
        after_long_help = format!("{}\n\n{PIPELINE_HELP}", crate::examples::help("run"))
    )]
    Run(RunArgs),

    /// Count how often each record (or JSON field) occurs
    #[command(long_about = FREQ_LONG_ABOUT, after_help = crate::examples::help("freq"))]
    Freq(FreqArgs),

    /// Combine partial results (--partial) into the final output
    #[command(
        long_about = MERGE_LONG_ABOUT,
        after_help = crate::examples::help("merge"),
        after_long_help = format!("{}\n\n{PARTIAL_FORMAT_HELP}", crate::examples::help("merge"))
    )]
    Merge(MergeArgs),
}

/// Arguments of `rbag merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Partials or key<TAB>count tables to combine, in input order; '-'
    /// or none means standard input (which may hold several partials one
    /// after another).
    #[arg(value_name = "FILE")]
    pub files: Vec<OsString>,

    #[command(flatten)]
    pub output: OutputOptions,

    #[command(flatten)]
    pub exec: MergeExec,
}

/// How a merge runs.
#[derive(Debug, Args)]
#[command(next_help_heading = "Execution")]
pub struct MergeExec {
    /// Threads for sorting the result [default: number of cores].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    #[command(flatten)]
    pub plan: PlanOption,
}

/// Arguments of `rbag run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline, one argument: stages separated by '|', e.g.
    /// 'pluck .lang | frequencies'.
    #[arg(value_name = "PIPELINE")]
    pub pipeline: String,

    #[command(flatten)]
    pub job: RecordArgs,
}

/// Arguments of `rbag freq`.
#[derive(Debug, Args)]
pub struct FreqArgs {
    /// Count the value at this JSON path (e.g. .user.lang) instead of the
    /// whole record.
    #[arg(long, value_name = "PATH")]
    pub field: Option<String>,

    #[command(flatten)]
    pub job: RecordArgs,
}

/// The inputs and options shared by the record commands (`run`, `freq`).
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Files to read; '-' or none means standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<OsString>,

    #[command(flatten)]
    pub records: RecordOptions,

    #[command(flatten)]
    pub input: InputOptions,

    #[command(flatten)]
    pub output: OutputOptions,

    #[command(flatten)]
    pub exec: ExecOptions,
}

/// What records are and what to do with bad ones.
#[derive(Debug, Args)]
#[command(next_help_heading = "Records")]
pub struct RecordOptions {
    /// Records are JSON values, one per non-blank line (automatic when every
    /// FILE ends in .jsonl or .ndjson).
    #[arg(long)]
    pub jsonl: bool,

    /// Keep a carriage return before a newline as part of the record.
    #[arg(long)]
    pub keep_cr: bool,

    /// Skip lines that are not valid JSON (and text the json stage cannot
    /// parse) instead of failing; they are counted and summarised on
    /// standard error.
    #[arg(long)]
    pub skip_bad_lines: bool,

    /// Write the skipped lines, as they were, to FILE.
    #[arg(long, value_name = "FILE", requires = "skip_bad_lines")]
    pub rejects: Option<PathBuf>,
}

/// Arguments of `rbag wordcount`.
#[derive(Debug, Args)]
pub struct WordcountArgs {
    /// Files to read; '-' or none means standard input. A quoted glob such as
    /// 'logs/*.txt' is expanded by rbag, in byte order.
    #[arg(value_name = "FILE")]
    pub files: Vec<OsString>,

    #[command(flatten)]
    pub words: WordOptions,

    #[command(flatten)]
    pub input: InputOptions,

    #[command(flatten)]
    pub output: OutputOptions,

    #[command(flatten)]
    pub exec: ExecOptions,
}

/// How text is cut into words.
#[derive(Debug, Args)]
#[command(next_help_heading = "Words")]
pub struct WordOptions {
    /// What separates words.
    #[arg(long, value_enum, default_value_t = Split::Words, value_name = "HOW")]
    pub split: Split,

    /// Words are the matches of this regular expression (Rust regex syntax,
    /// matched on each line's bytes); replaces --split.
    #[arg(long, value_name = "REGEX", conflicts_with = "split")]
    pub pattern: Option<String>,

    /// Count words as they are written instead of lowercasing them.
    #[arg(long)]
    pub keep_case: bool,

    /// Ignore words shorter than N characters.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub min_len: usize,

    /// Ignore the words listed in FILE, one per line (compared after
    /// lowercasing, unless --keep-case).
    #[arg(long, value_name = "FILE")]
    pub stopwords: Option<PathBuf>,
}

/// The word splitters of `--split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Split {
    /// Unicode words: letters, marks, digits and '_', with inner apostrophes
    Words,
    /// Runs of anything but Unicode white space (punctuation stays attached)
    Whitespace,
}

/// How input is read.
#[derive(Debug, Args)]
#[command(next_help_heading = "Input")]
pub struct InputOptions {
    /// Size of the blocks counted in parallel: bytes, or a number with a unit
    /// (KB, MB, GB in powers of 1000; KiB, MiB, GiB in powers of 1024). Blocks
    /// are cut at line ends; a longer line makes its block larger.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1MiB")]
    pub blocksize: u64,

    /// Records end with a NUL byte instead of a newline (as from find -print0).
    #[arg(short = '0', long)]
    pub null: bool,

    /// Fail on bytes that are not UTF-8, naming file, line and byte offset
    /// (by default they are kept as they are).
    #[arg(long)]
    pub strict_utf8: bool,

    /// Decompress gzip, zstd, bzip2 and xz input, known by name (.gz, .zst,
    /// .bz2, .xz) or by its first bytes ('auto'), or read raw bytes
    /// ('never').
    #[arg(long, value_enum, default_value_t = DecompressMode::Auto, value_name = "WHEN")]
    pub decompress: DecompressMode,

    /// Only the records that start in bytes [START, END) of the one input
    /// file ('START:' runs to the end), as blocks are cut: ranges that tile
    /// a file read every record once. For splitting a file across machines.
    #[arg(long, value_name = "START:END", value_parser = parse_byte_range)]
    pub byte_range: Option<ByteRangeArg>,
}

/// When to decompress input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecompressMode {
    /// By file name or by the first bytes of the input
    Auto,
    /// Never: read the bytes as they are
    Never,
}

/// How results are written.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputOptions {
    /// Output format [default: tsv]. Records (a pipeline without a
    /// reduction, distinct, topk, take) print as text with tsv and csv, and
    /// as JSON values with jsonl and json.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Output order of tables: 'count' (count descending, then key; the
    /// default for frequencies) or 'key' (key bytes; the default for
    /// groups, where 'count' orders by value, largest first).
    #[arg(long, value_enum, value_name = "ORDER")]
    pub sort: Option<SortOrder>,

    /// Print only the first K rows of the sorted table (a table that is cut
    /// cannot be merged with others later).
    #[arg(long, value_name = "K")]
    pub top: Option<usize>,

    /// Print only keys counted at least N times.
    #[arg(long, value_name = "N")]
    pub min_count: Option<u64>,

    /// Write to FILE instead of standard output. A regular file is replaced
    /// atomically, keeping its mode, only when the run succeeds; a device
    /// or FIFO is written through; a symbolic link's target is replaced.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Compare the output with FILE instead of printing it (for golden
    /// files in CI): equal is exit 0 and silence; different is exit 3 and
    /// a short unified diff on standard error (where they first differ;
    /// a difference only in line endings, or of binary files, is said so).
    /// Compared as a stream, in little memory whatever the size. FILE '-'
    /// is standard input (then not an input too). A run that fails keeps
    /// its own error.
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    pub expect: Option<PathBuf>,

    /// Write an exact partial result for 'rbag merge' instead of the output
    /// (to split one job across processes or machines, e.g. with
    /// --byte-range).
    #[arg(long)]
    pub partial: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// key<TAB>count, with \\ \t \n \r escaped in keys
    Tsv,
    /// RFC 4180 CSV with a key,count header
    Csv,
    /// One {"key":...,"count":...} object per line
    Jsonl,
    /// One JSON array of {"key":...,"count":...} objects
    Json,
}

/// Output orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortOrder {
    /// Count (or value) descending, then key bytes ascending
    #[value(alias = "value")]
    Count,
    /// Key bytes ascending
    Key,
}

/// How the work is run.
#[derive(Debug, Args)]
#[command(next_help_heading = "Execution")]
pub struct ExecOptions {
    /// Number of counting threads [default: number of cores].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Progress bar on standard error: 'auto' shows it only on a terminal
    /// and only for work that takes more than a moment.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto, value_name = "WHEN")]
    pub progress: ProgressMode,

    /// Print a summary (inputs, bytes, blocks, tokens, distinct keys, time) on
    /// standard error.
    #[arg(long)]
    pub stats: bool,

    /// Memory the tables of frequencies and distinct may hold before they
    /// spill to disk, in parts counted one at a time (the output is the
    /// same; a partial, a group or stages after the table keep it whole)
    /// [default: half the machine's memory].
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    pub memory: Option<u64>,

    /// Where spilled tables go [default: $TMPDIR, or /tmp]; removed when
    /// the run ends, however it ends.
    #[arg(long, value_name = "DIR")]
    pub tmpdir: Option<PathBuf>,

    #[command(flatten)]
    pub plan: PlanOption,
}

/// `--explain`, for every command.
#[derive(Debug, Args)]
pub struct PlanOption {
    /// Print the plan instead of running it: the inputs with their sizes,
    /// compression and blocks, the threads, the stages fused per block, the
    /// reduction and how partial results combine, the output. As text, as
    /// JSON (for tools) or as a Graphviz graph (dot). Reads no input.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "text"
    )]
    pub explain: Option<ExplainFormat>,
}

/// How `--explain` prints the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// For people
    Text,
    /// For tools: stable keys, every block
    Json,
    /// A Graphviz task graph
    Dot,
}

/// When to draw a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// On a terminal, once the work has taken more than half a second
    Auto,
    /// From the start, even when standard error is not a terminal
    Always,
    /// Never
    Never,
}

/// `--byte-range START:END`: the records whose first byte is in
/// `[start, end)`; no end means to the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRangeArg {
    pub start: u64,
    pub end: Option<u64>,
}

/// Parse `START:END` or `START:`.
///
/// # Errors
/// Anything else, with what was expected.
pub fn parse_byte_range(text: &str) -> Result<ByteRangeArg, String> {
    let usage = || {
        format!("'{text}' is not a byte range; write START:END or START: (bytes, e.g. 0:1048576)")
    };
    let (start, end) = text.split_once(':').ok_or_else(usage)?;
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| usage());
    let start = number(start)?;
    let end = if end.trim().is_empty() {
        None
    } else {
        Some(number(end)?)
    };
    if end.is_some_and(|end| end < start) {
        return Err(format!("'{text}': the range ends before it starts"));
    }
    Ok(ByteRangeArg { start, end })
}

/// Parse a memory budget: a size as [`parse_size`] reads it.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    match parse_size(text) {
        Err(e) if e.starts_with("a block") => {
            Err("a budget of 0 bytes holds nothing: give at least 1 byte, e.g. 1GiB".into())
        }
        other => other,
    }
}

/// Parse a size such as `1048576`, `64KiB`, `16MiB` or `1GB`.
///
/// Decimal units (KB, MB, GB; also K, M, G as dask reads them) are powers of
/// 1000, binary units (KiB, MiB, GiB) powers of 1024. Case is ignored.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let unit = unit.trim();
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gi" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' (use B, KB, KiB, MB, MiB, GB or GiB, e.g. 64KiB)"
            ));
        }
    };
    if digits.is_empty() {
        return Err("expected a number, optionally with a unit, e.g. 64KiB".into());
    }
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{digits}' is too large"))?;
    let bytes = number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("'{text}' is too large"))?;
    if bytes == 0 {
        return Err("a block must hold at least 1 byte".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn byte_ranges_parse() {
        assert_eq!(
            parse_byte_range("0:10"),
            Ok(ByteRangeArg {
                start: 0,
                end: Some(10)
            })
        );
        assert_eq!(
            parse_byte_range("5:"),
            Ok(ByteRangeArg {
                start: 5,
                end: None
            })
        );
        assert_eq!(
            parse_byte_range("7:7"),
            Ok(ByteRangeArg {
                start: 7,
                end: Some(7)
            })
        );
        assert!(parse_byte_range("10").is_err());
        assert!(parse_byte_range("a:b").is_err());
        assert!(parse_byte_range("-1:3").is_err());
        assert_eq!(
            parse_byte_range("9:3"),
            Err("'9:3': the range ends before it starts".to_owned())
        );
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1"), Ok(1));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("64kib"), Ok(65536));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("2K"), Ok(2000));
        assert_eq!(parse_size("7 B"), Ok(7));
        assert!(parse_size("0").is_err());
        assert!(parse_size("KiB").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }

    #[test]
    fn every_visible_long_flag_has_help() {
        let mut cmd = Cli::command();
        cmd.build();
        for sub in cmd.get_subcommands() {
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                assert!(arg.get_help().is_some(), "{} has no help", arg.get_id());
            }
        }
    }
}
