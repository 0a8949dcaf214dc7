//! Man pages and shell completions, generated from the clap definitions so
//! they cannot drift from `--help`. `man/*.1` are committed copies, checked
//! current by a test.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::aot::{Shell, generate};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::{Cli, Generate};
use crate::error::Error;

/// The man pages rbag ships: file name and content.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut root = Cli::command();
    root.build();
    let mut pages = vec![(String::from("rbag.1"), render_man(&root, &root_sections()))];
    for sub in root.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("rbag-{}.1", sub.get_name());
        let verbatim: &[Verbatim] = match sub.get_name() {
            "run" => &[("PIPELINE", crate::cli::PIPELINE_HELP)],
            "merge" => &[("PARTIAL FORMAT", crate::cli::PARTIAL_FORMAT_HELP)],
            _ => &[],
        };
        let sections = subcommand_sections(sub.get_name());
        pages.push((name, render_man_with(sub, &sections, verbatim)));
    }
    pages
}

/// Print what `--generate` asks for on stdout.
///
/// # Errors
/// Writing to stdout failed.
pub fn print(what: Generate) -> Result<(), Error> {
    let mut out = Vec::new();
    let shell = match what {
        Generate::Man => return write_stdout(&page("rbag.1")),
        Generate::ManWordcount => return write_stdout(&page("rbag-wordcount.1")),
        Generate::ManRun => return write_stdout(&page("rbag-run.1")),
        Generate::ManFreq => return write_stdout(&page("rbag-freq.1")),
        Generate::ManMerge => return write_stdout(&page("rbag-merge.1")),
        Generate::CompleteBash => Shell::Bash,
        Generate::CompleteZsh => Shell::Zsh,
        Generate::CompleteFish => Shell::Fish,
        Generate::CompleteElvish => Shell::Elvish,
        Generate::CompletePowershell => Shell::PowerShell,
    };
    generate(shell, &mut Cli::command(), "rbag", &mut out);
    write_stdout(&out)
}

fn page(name: &str) -> Vec<u8> {
    man_pages()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, text)| text)
        .unwrap_or_default()
}

fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(Error::Stdout)
}

/// A section of hand-written text: a title and paragraphs, each paragraph a
/// list of (bold?, text) runs.
type Section = (&'static str, Vec<Vec<(bool, &'static str)>>);

/// A section printed as preformatted text (the pipeline reference).
type Verbatim = (&'static str, &'static str);

fn render_man(cmd: &clap::Command, extra: &[Section]) -> Vec<u8> {
    render_man_with(cmd, extra, &[])
}

fn render_man_with(cmd: &clap::Command, extra: &[Section], verbatim: &[Verbatim]) -> Vec<u8> {
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    if cmd.has_subcommands() {
        let _ = man.render_subcommands_section(&mut out);
    }
    let mut roff = Roff::new();
    for (title, text) in verbatim {
        roff.control("SH", [*title]);
        roff.control("nf", []);
        for line in text.lines() {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
    for (title, paragraphs) in extra {
        roff.control("SH", [*title]);
        for (i, paragraph) in paragraphs.iter().enumerate() {
            if i > 0 {
                roff.control("PP", []);
            }
            let runs: Vec<_> = paragraph
                .iter()
                .map(|&(is_bold, text)| if is_bold { bold(text) } else { roman(text) })
                .collect();
            roff.text(runs);
        }
    }
    let _ = roff.to_writer(&mut out);
    if cmd.get_version().is_some() {
        let _ = man.render_version_section(&mut out);
    }
    out
}

fn exit_status() -> Section {
    (
        "EXIT STATUS",
        vec![
            vec![
                (true, "0"),
                (
                    false,
                    "  success, including when a reader such as head(1) closes the pipe early.",
                ),
            ],
            vec![
                (true, "1"),
                (
                    false,
                    "  runtime error: a missing or unreadable file, a directory, an I/O error, bad data. Nothing is written to standard output, and an -o file is left as it was.",
                ),
            ],
            vec![
                (true, "2"),
                (
                    false,
                    "  usage error: an unknown flag, a bad size, a bad regular expression.",
                ),
            ],
            vec![(true, "130"), (false, "  interrupted.")],
            vec![(
                false,
                "Messages go to standard error as rbag: PATH:LINE:COL: what went wrong.",
            )],
        ],
    )
}

fn determinism() -> Section {
    (
        "DETERMINISM",
        vec![vec![(
            false,
            "For the same input bytes and options, the output is byte-identical whatever --threads, whatever --blocksize, and whether the input is a file or a pipe. Tables are ordered by count descending, then by the bytes of the key ascending (or by key alone with --sort key); no locale is ever read. Output can therefore be diffed against a golden file.",
        )]],
    )
}

fn root_sections() -> Vec<Section> {
    vec![
        (
            "EXAMPLES",
            vec![
                vec![
                    (true, "rbag wordcount book.txt"),
                    (false, "  count words, most frequent first."),
                ],
                vec![
                    (true, "rbag wordcount 'logs/*.txt' --top 20 --format jsonl"),
                    (
                        false,
                        "  the twenty most frequent words of many files, as JSON lines.",
                    ),
                ],
                vec![
                    (true, "cat book.txt | rbag wordcount | head"),
                    (
                        false,
                        "  read standard input; closing the pipe early is not an error.",
                    ),
                ],
            ],
        ),
        determinism(),
        exit_status(),
    ]
}

fn subcommand_sections(name: &str) -> Vec<Section> {
    let examples: Section = match name {
        "wordcount" => (
            "EXAMPLES",
            vec![
                vec![
                    (true, "rbag wordcount book.txt"),
                    (false, "  Unicode words, lowercased, most frequent first."),
                ],
                vec![
                    (
                        true,
                        "rbag wordcount --split whitespace --keep-case book.txt",
                    ),
                    (false, "  split on white space only and keep case."),
                ],
                vec![
                    (true, "rbag wordcount --pattern '[0-9]+' access.log --top 5"),
                    (false, "  the five most frequent numbers."),
                ],
                vec![
                    (
                        true,
                        "rbag wordcount --stopwords stop.txt --min-len 3 book.txt -o counts.tsv",
                    ),
                    (
                        false,
                        "  leave out stopwords and short words; write counts.tsv atomically.",
                    ),
                ],
            ],
        ),
        "run" => (
            "EXAMPLES",
            vec![
                vec![
                    (true, "rbag run 'words | lower | frequencies' book.txt"),
                    (false, "  the same bytes as rbag wordcount book.txt."),
                ],
                vec![
                    (
                        true,
                        "rbag run 'pluck .user.lang | frequencies' tweets.jsonl",
                    ),
                    (false, "  how often each language occurs."),
                ],
                vec![
                    (
                        true,
                        "rbag run 'filter .age >= 30 | pluck .name | take 5' people.jsonl",
                    ),
                    (
                        false,
                        "  the names of the first five people aged 30 or more; reading stops once they are found.",
                    ),
                ],
                vec![
                    (
                        true,
                        "rbag run 'extract /status=(\\d+)/ | frequencies' app.log",
                    ),
                    (false, "  status codes of a log, most frequent first."),
                ],
                vec![
                    (
                        true,
                        "rbag run 'pluck .bytes | sum' --skip-bad-lines --rejects bad.jsonl events.jsonl",
                    ),
                    (
                        false,
                        "  an exact sum, skipping lines that are not JSON and keeping them in bad.jsonl.",
                    ),
                ],
            ],
        ),
        "freq" => (
            "EXAMPLES",
            vec![
                vec![
                    (true, "rbag freq access.log --top 10"),
                    (false, "  the ten most frequent lines."),
                ],
                vec![
                    (true, "rbag freq --field .user.lang tweets.jsonl"),
                    (false, "  how often each value of a JSON field occurs."),
                ],
            ],
        ),
        "merge" => (
            "EXAMPLES",
            vec![
                vec![
                    (
                        true,
                        "rbag wordcount --partial --byte-range 0:1000000 big.txt > a.partial",
                    ),
                    (
                        false,
                        "  count the records that start in the first megabyte;",
                    ),
                ],
                vec![
                    (
                        true,
                        "rbag wordcount --partial --byte-range 1000000: big.txt > b.partial",
                    ),
                    (false, "  the rest (on another machine, say);"),
                ],
                vec![
                    (true, "rbag merge a.partial b.partial --top 10"),
                    (
                        false,
                        "  the same bytes as rbag wordcount big.txt --top 10.",
                    ),
                ],
            ],
        ),
        _ => ("EXAMPLES", vec![]),
    };
    vec![examples, determinism(), exit_status()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_has_a_page_with_examples_and_exit_status() {
        let pages = man_pages();
        assert_eq!(pages[0].0, "rbag.1");
        for page in [
            "rbag-wordcount.1",
            "rbag-run.1",
            "rbag-freq.1",
            "rbag-merge.1",
        ] {
            assert!(pages.iter().any(|(n, _)| n == page), "{page}");
        }
        let run =
            String::from_utf8_lossy(&pages.iter().find(|(n, _)| n == "rbag-run.1").unwrap().1)
                .into_owned();
        for stage in crate::pipeline::parse::STAGE_NAMES {
            assert!(
                run.contains(stage),
                "the run man page does not mention '{stage}'"
            );
        }
        for (name, text) in &pages {
            let text = String::from_utf8_lossy(text);
            assert!(text.contains(".SH \"EXIT STATUS\""), "{name}");
            assert!(text.contains(".SH EXAMPLES"), "{name}");
        }
    }
}
