//! Lowering parsed arguments, once, into the plain requests of `cmd`
//! (clap's types go no further), with the defaults that depend on the
//! machine (threads) resolved, and the job's command line split for tools
//! that run it in parts: the arguments that decide what is computed, and
//! those that shape the output.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{
    Command, DecompressMode, ExecOptions, ExplainFormat, Format, FreqArgs, InputOptions, MergeArgs,
    OutputOptions, ProgressMode, RecordOptions, RunArgs, SortOrder, Split, WordcountArgs,
};
use crate::cmd::{self, Blocks, Common, Request, Words};
use crate::error::Error;
use crate::input::Decompress;
use crate::output::{self, Presentation};
use crate::plan::explain::Format as PlanFormat;
use crate::plan::{Argv, ByteRange, Output};
use crate::table::Order;

/// The request a parsed command line makes.
///
/// # Errors
/// Options that parse but do not go together (output shaping with
/// `--partial`).
pub(crate) fn lower(command: Command) -> Result<Request, Error> {
    Ok(match command {
        Command::Wordcount(args) => lower_wordcount(args)?,
        Command::Freq(args) => lower_freq(args)?,
        Command::Run(args) => lower_run(args)?,
        Command::Merge(args) => lower_merge(args)?,
    })
}

fn lower_wordcount(args: WordcountArgs) -> Result<Request, Error> {
    let WordcountArgs {
        files,
        words,
        input,
        output,
        exec,
    } = args;
    let mut job = vec!["wordcount".to_owned()];
    match &words.pattern {
        Some(pattern) => push(&mut job, "--pattern", pattern),
        None => push(
            &mut job,
            "--split",
            match words.split {
                Split::Words => "words",
                Split::Whitespace => "whitespace",
            },
        ),
    }
    flag(&mut job, "--keep-case", words.keep_case);
    if words.min_len > 0 {
        push(&mut job, "--min-len", &words.min_len.to_string());
    }
    if let Some(path) = &words.stopwords {
        push(&mut job, "--stopwords", &shown(path));
    }
    let words = Words {
        split: match (words.pattern, words.split) {
            (Some(pattern), _) => cmd::Split::Pattern(pattern),
            (None, Split::Words) => cmd::Split::Words,
            (None, Split::Whitespace) => cmd::Split::Whitespace,
        },
        keep_case: words.keep_case,
        min_len: words.min_len,
        stopwords: words.stopwords,
    };
    let blocks = blocks(files, &input, output, &exec, job)?;
    Ok(Request::Wordcount { words, blocks })
}

fn lower_freq(args: FreqArgs) -> Result<Request, Error> {
    let mut job = vec!["freq".to_owned()];
    if let Some(field) = &args.field {
        push(&mut job, "--field", field);
    }
    let records = records(&args.job.records, &mut job);
    let blocks = blocks(
        args.job.files,
        &args.job.input,
        args.job.output,
        &args.job.exec,
        job,
    )?;
    Ok(Request::Freq {
        field: args.field,
        records,
        blocks,
    })
}

fn lower_run(args: RunArgs) -> Result<Request, Error> {
    let mut job = vec!["run".to_owned()];
    let records = records(&args.job.records, &mut job);
    let mut blocks = blocks(
        args.job.files,
        &args.job.input,
        args.job.output,
        &args.job.exec,
        job,
    )?;
    // The pipeline is the last argument before the files.
    blocks.common.argv.job.push(args.pipeline.clone());
    Ok(Request::Run {
        pipeline: args.pipeline,
        records,
        blocks,
    })
}

fn lower_merge(args: MergeArgs) -> Result<Request, Error> {
    let threads = threads(args.exec.threads);
    let mut job = vec!["merge".to_owned()];
    if let Some(n) = args.exec.threads {
        push(&mut job, "--threads", &n.to_string());
    }
    let common = common(args.output, threads, args.exec.plan.explain, job)?;
    Ok(Request::Merge {
        files: args.files,
        common,
    })
}

/// The record options of `run` and `freq`, and their arguments.
fn records(options: &RecordOptions, job: &mut Vec<String>) -> cmd::RecordOptions {
    flag(job, "--jsonl", options.jsonl);
    flag(job, "--keep-cr", options.keep_cr);
    flag(job, "--skip-bad-lines", options.skip_bad_lines);
    cmd::RecordOptions {
        jsonl: options.jsonl,
        keep_cr: options.keep_cr,
        skip_bad_lines: options.skip_bad_lines,
        rejects: options.rejects.clone(),
    }
}

/// What the commands over blocks share, with the rest of their arguments.
fn blocks(
    files: Vec<std::ffi::OsString>,
    input: &InputOptions,
    output: OutputOptions,
    exec: &ExecOptions,
    mut job: Vec<String>,
) -> Result<Blocks, Error> {
    flag(&mut job, "--null", input.null);
    flag(&mut job, "--strict-utf8", input.strict_utf8);
    if input.decompress == DecompressMode::Never {
        push(&mut job, "--decompress", "never");
    }
    if let Some(n) = exec.threads {
        push(&mut job, "--threads", &n.to_string());
    }
    let common = common(output, threads(exec.threads), exec.plan.explain, job)?;
    Ok(Blocks {
        files,
        block_size: input.blocksize,
        null: input.null,
        strict_utf8: input.strict_utf8,
        decompress: match input.decompress {
            DecompressMode::Auto => Decompress::Auto,
            DecompressMode::Never => Decompress::Never,
        },
        byte_range: input.byte_range.map(|r| ByteRange {
            start: r.start,
            end: r.end,
        }),
        progress: match exec.progress {
            ProgressMode::Auto => crate::progress::Mode::Auto,
            ProgressMode::Always => crate::progress::Mode::Always,
            ProgressMode::Never => crate::progress::Mode::Never,
        },
        stats: exec.stats,
        memory: exec.memory,
        tmpdir: exec.tmpdir.clone(),
        common,
    })
}

/// What every command shares: the output, threads, `--explain`.
fn common(
    options: OutputOptions,
    threads: usize,
    explain: Option<ExplainFormat>,
    job: Vec<String>,
) -> Result<Common, Error> {
    if options.partial && (options.format.is_some() || options.sort.is_some()) {
        return Err(Error::Usage(
            "--format and --sort shape the final output; a partial has one format (give them to rbag merge)".into(),
        ));
    }
    let mut out = Vec::new();
    if let Some(format) = options.format {
        push(&mut out, "--format", lowered_format(format).name());
    }
    if let Some(sort) = options.sort {
        push(
            &mut out,
            "--sort",
            match sort {
                SortOrder::Count => "count",
                SortOrder::Key => "key",
            },
        );
    }
    if let Some(top) = options.top {
        push(&mut out, "--top", &top.to_string());
    }
    if let Some(min) = options.min_count {
        push(&mut out, "--min-count", &min.to_string());
    }
    if let Some(path) = &options.output {
        push(&mut out, "--output", &shown(path));
    }
    if let Some(path) = &options.expect {
        push(&mut out, "--expect", &shown(path));
    }
    flag(&mut out, "--partial", options.partial);
    let output = Output {
        presentation: Presentation {
            format: options.format.map_or(output::Format::Tsv, lowered_format),
            sort: options.sort.map(|sort| match sort {
                SortOrder::Count => Order::Count,
                SortOrder::Key => Order::Key,
            }),
            top: options.top,
            min_count: options.min_count,
        },
        to: options.output,
        expect: options.expect,
        partial: options.partial,
    };
    Ok(Common {
        output,
        threads,
        explain: explain.map(|format| match format {
            ExplainFormat::Text => PlanFormat::Text,
            ExplainFormat::Json => PlanFormat::Json,
            ExplainFormat::Dot => PlanFormat::Dot,
        }),
        argv: Argv { job, output: out },
    })
}

fn lowered_format(format: Format) -> output::Format {
    match format {
        Format::Tsv => output::Format::Tsv,
        Format::Csv => output::Format::Csv,
        Format::Jsonl => output::Format::Jsonl,
        Format::Json => output::Format::Json,
    }
}

/// The thread count: `-j`, else the number of cores.
fn threads(given: Option<u16>) -> usize {
    given.map_or_else(crate::threads::default_count, usize::from)
}

/// `--name=value`, one argument: a value that starts with `-` (a
/// pattern, a file) cannot be taken for an option.
fn push(args: &mut Vec<String>, name: &str, value: &str) {
    args.push(format!("{name}={value}"));
}

fn flag(args: &mut Vec<String>, name: &str, set: bool) {
    if set {
        args.push(name.to_owned());
    }
}

/// A path as an argument. The plan is JSON, which holds text: a name that
/// is not UTF-8 cannot be given on (its bytes would change).
fn shown(path: &Path) -> String {
    String::from_utf8_lossy(path.as_os_str().as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn argv(line: &[&str]) -> Argv {
        let cli =
            super::super::Cli::try_parse_from(std::iter::once("rbag").chain(line.iter().copied()))
                .unwrap();
        let request = lower(cli.command.unwrap()).unwrap();
        match request {
            Request::Wordcount { blocks, .. }
            | Request::Freq { blocks, .. }
            | Request::Run { blocks, .. } => blocks.common.argv,
            Request::Merge { common, .. } => common.argv,
        }
    }

    #[test]
    fn the_job_and_the_output_arguments_part() {
        let split = argv(&[
            "run",
            "--jsonl",
            "-j2",
            "--blocksize",
            "7",
            "--format=csv",
            "--top",
            "3",
            "-0",
            "pluck .a | frequencies",
            "x.jsonl",
        ]);
        assert_eq!(
            split.job,
            [
                "run",
                "--jsonl",
                "--null",
                "--threads=2",
                "pluck .a | frequencies"
            ]
        );
        assert_eq!(split.output, ["--format=csv", "--top=3"]);
        let words = argv(&[
            "wordcount",
            "--keep-case",
            "--min-len=3",
            "--stopwords",
            "s.txt",
            "-o",
            "out.tsv",
            "f",
        ]);
        assert_eq!(
            words.job,
            [
                "wordcount",
                "--split=words",
                "--keep-case",
                "--min-len=3",
                "--stopwords=s.txt"
            ]
        );
        assert_eq!(words.output, ["--output=out.tsv"]);
        // A value that starts with '-' stays one argument.
        let dashed = argv(&["wordcount", "--pattern=-?[0-9]+", "--output=-x", "f"]);
        assert_eq!(dashed.job, ["wordcount", "--pattern=-?[0-9]+"]);
        assert_eq!(dashed.output, ["--output=-x"]);
    }

    #[test]
    fn a_job_argv_parses_back_to_the_same_job() {
        let line = [
            "freq",
            "--field",
            ".a",
            "--skip-bad-lines",
            "--strict-utf8",
            "--decompress",
            "never",
            "--sort",
            "key",
            "x",
        ];
        let first = argv(&line);
        let mut again: Vec<&str> = first.job.iter().map(String::as_str).collect();
        again.extend(first.output.iter().map(String::as_str));
        again.push("x");
        let second = argv(&again);
        assert_eq!(first.job, second.job);
        assert_eq!(first.output, second.output);
    }
}
