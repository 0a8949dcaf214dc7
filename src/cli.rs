//! The command line: clap definitions, value parsers, and the help text that
//! teaches rbag. The man pages are generated from these definitions.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Default block size: large enough that per-block overhead vanishes, small
/// enough that 2 cores get dozens of blocks from a 43 MB file.
pub const DEFAULT_BLOCKSIZE: u64 = 1 << 20;

const ABOUT: &str = "Parallel, deterministic word and record counts for the shell";

const LONG_ABOUT: &str = "\
rbag brings Dask Bag's model to the shell. It reads text in blocks cut at line \
boundaries, counts every block in parallel, and merges the partial counts into \
one sorted table. The output is byte-identical whatever the thread count, the \
block size or the way the input arrives (file or pipe), so it can be diffed \
against a golden file in CI.";

const WORDCOUNT_LONG_ABOUT: &str = "\
Count the words of the input and print each distinct word with its count, most \
frequent first (ties in byte order of the word).

A word is, by default, a maximal run of Unicode letters, marks, decimal digits \
and connector punctuation such as '_'; an apostrophe (' or \u{2019}) between \
two such characters belongs to the word, so \"don't\" is one word. Words are \
lowercased with the full Unicode mapping unless --keep-case is given. Use \
--split whitespace to split on white space only (punctuation stays attached), \
or --pattern to say what a word is with a regular expression.

Input is read in blocks cut at line boundaries and counted in parallel; the \
output does not depend on --threads or --blocksize.";

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

const MERGE_LONG_ABOUT: &str = "\
Combine partial results written with --partial (by wordcount, freq, run, or \
merge itself) into the output that one run over all their input would \
print, byte for byte. Plain key<TAB>count tables written by rbag merge too, \
as frequency tables.

Partials merge in the order given, which is the input order for what \
depends on it: take, ties of topk, and the records of a pipeline without a \
reduction come out part after part. Any grouping works: merging merges \
(with --partial) gives the same result. Refused, with the reason: partials \
of different jobs, a table cut by --top or --min-count, a malformed or \
truncated partial, an unknown format version.";

/// The partial format, for `rbag merge --help` and the man page.
pub const PARTIAL_FORMAT_HELP: &str = "\
Partial format (--partial), version 1. A partial is lines of bytes:

  rbag-partial<TAB>1<TAB>{JSON header}
  rows...
  end<TAB>N

The header names the plan (the command, the canonical pipeline and how
records are read: only partials of one plan merge), the pipeline, the input
kind, the record terminator, and whether --top or --min-count cut the rows
(such a partial is refused). The last line counts the rows, so a partial cut
short is refused. Fields are separated by TAB; a field escapes \\, TAB, LF and
CR as \\\\, \\t, \\n, \\r. The rows, in a canonical order:

  frequencies          KIND KEY COUNT per key (KIND: t text, j JSON)
  distinct             KIND KEY
  count                count N
  sum, mean            sum COUNT FLOATS INTS FLOATSUM: the exact integer total,
                       and floats as an exact integer times 2^-1074
  var, std             sum ... with the same three for the squares
  summary              summary ... with min and max
  min, max             item KIND RECORD (KIND: t text, r JSON line, j JSON)
  topk, bottomk        RANK KIND RECORD, best first (RANK: JSON, or -)
  take, no reduction   KIND RECORD, in input order
  group                group KIND KEY, the group's rows, end-group";

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

impl MergeExec {
    pub fn threads(&self) -> usize {
        self.threads.map_or_else(default_threads, usize::from)
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(64)
}

const RUN_LONG_ABOUT: &str = "\
Run a pipeline over the records of the input. Records are lines (or JSON \
values with --jsonl); each goes through the map, filter and flatten stages, \
and the records that come out are either reduced (frequencies, count, sum, \
...) into one answer, or printed in input order as they are ready.

The pipeline is one argument: quote it for the shell with single quotes, and \
write regexes as /.../ and strings as \"...\" inside it. It is checked before \
any input is read.";

/// The pipeline language, for `rbag run --help` and the man pages.
pub const PIPELINE_HELP: &str = "\
Pipeline stages, separated by '|'. A reduction's result flows on as records.

Map (one record in, one out):
  lower, upper             Unicode case mapping
  trim                     drop white space at both ends
  pluck PATH               the value at a JSON path: .a.b  .a[0]  .a[-1]  .[\"odd key\"]
                           (records without it are dropped, and counted in --stats)
  pluck PATH // DEFAULT    DEFAULT (a JSON literal) when the path is missing or null
  pluck [PATH, ...]        an array of the values (null for a missing path)
  replace /RE/ \"TEXT\"      replace every match; $1 or ${name} insert a group
  extract /RE/             the first group of the first match, else the whole match
                           (records without a match are dropped)
  len                      length: characters of text, elements of an array
  json                     parse text as JSON
  text                     JSON as text (a string's content, else compact JSON)

Filter (keep some records):
  filter TEST              keep the records for which TEST holds (remove: drop them)
  nonempty                 drop empty text, null, \"\", [] and {}
  sample P [seed S]        keep a record with probability P, decided by a hash of
                           its text and S: the same records for any threads, block
                           size or machine

Tests:
  /RE/                     the record's text matches
  .a.b                     the path is present and neither null nor false
  VALUE OP VALUE           OP is == != < <= > >=; VALUE is a path, len (the
                           record's length) or a literal: 3, \"en\", true, false,
                           null, [1, 2], {\"a\": 1}
  VALUE =~ /RE/            the value's text matches (!~: does not)
  VALUE in [LITERAL, ...]  the value equals one of the list
  not TEST, TEST and TEST, TEST or TEST, (TEST)
                           a test on a path the record lacks is false

Flatten (one record in, any number out):
  words                    the words of the text (as rbag wordcount splits them)
  split \",\"  split /RE/    the pieces between separators (empty pieces kept)
  chars                    each character
  explode                  the elements of a JSON array
  pipe \"CMD\"               run CMD with sh -c once per block, its records on
                           standard input one per line (JSON values as compact
                           JSON); its output lines are the records that flow on

Reduce:
  frequencies (freq)       each distinct record with its count, most frequent first
  count                    the number of records
  distinct                 each distinct record once, in byte order
  sum, mean                of numbers (JSON numbers, or text that is one), exact
                           and rounded once
  var [DDOF], std [DDOF]   variance and standard deviation; DDOF 0 (the default)
                           for the population, 1 for a sample
  summary                  count, sum, min, max, mean and std in one row
  min, max                 the smallest and largest record, in the order of values
  topk K [by PROJECTION]   the K largest records (by the value of a path, or of
  bottomk K [by PROJECTION] [paths]), ties in input order; bottomk: the smallest
  take N                   the first N records in input order; reading stops there

Group:
  group KEY | STAGES... | REDUCTION
                           per distinct KEY (a path, [paths], or /RE/ whose first
                           group is the key), run the stages and the reduction:
                           key<TAB>value per group, by key (--sort count: by value)

After a reduction the records are its result: {\"key\": K, \"count\": N} rows after
frequencies, {\"key\": K, \"value\": V} rows after a group, the records of distinct,
topk and take, one value after count, sum and the like:
  distinct | count          frequencies | filter .count >= 10 | count
A table that later stages only filter or cut still prints as a table.

Order of values (min, max, topk, bottomk, tests): null < false < true < numbers <
strings < arrays < objects; numbers by value, strings and text by their bytes,
arrays element by element, objects by their sorted keys, then their values.
== compares numbers by value (1 == 1.0); where 1 and 1.0 must be told apart (min,
max, topk), the integer comes first.

Without a reduction, records stream out in input order: unchanged records as
their original bytes, changed text as text, JSON strings as text, other JSON as
compact JSON with sorted keys. Regex flags follow the closing slash: /x/i.";

const FREQ_LONG_ABOUT: &str = "\
Count how often each record occurs: each line of text, or each JSON value \
(equal values count together whatever the order of their keys), or with \
--field the value at a JSON path. The same as rbag run 'frequencies' (or \
'pluck PATH | frequencies').";

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
    #[arg(long, value_name = "START:END", value_parser = crate::plan::parse_byte_range)]
    pub byte_range: Option<crate::plan::ByteRange>,
}

/// When to decompress input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecompressMode {
    /// By file name or by the first bytes of the input
    Auto,
    /// Never: read the bytes as they are
    Never,
}

impl DecompressMode {
    pub fn to_input(self) -> crate::input::Decompress {
        match self {
            DecompressMode::Auto => crate::input::Decompress::Auto,
            DecompressMode::Never => crate::input::Decompress::Never,
        }
    }
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
    /// a short unified diff on standard error. A run that fails keeps its
    /// own error.
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    pub expect: Option<PathBuf>,

    /// Write an exact partial result for 'rbag merge' instead of the output
    /// (to split one job across processes or machines, e.g. with
    /// --byte-range).
    #[arg(long)]
    pub partial: bool,
}

impl OutputOptions {
    /// The output format: `--format`, else TSV.
    pub fn format(&self) -> Format {
        self.format.unwrap_or(Format::Tsv)
    }
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
    pub explain: Option<crate::explain::ExplainFormat>,
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

impl ExecOptions {
    /// The thread count to use: the flag, else the number of cores (capped,
    /// since more counting threads than cores only adds merge work).
    pub fn threads(&self) -> usize {
        self.threads.map_or_else(default_threads, usize::from)
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
