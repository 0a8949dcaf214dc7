//! Man pages and shell completions, generated from the clap definitions so
//! they cannot drift from `--help`. `man/*.1` are committed copies, checked
//! current by a test.

use std::borrow::Cow;
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
            "run" => &[("PIPELINE", crate::cli::help::PIPELINE_HELP)],
            "merge" => &[("PARTIAL FORMAT", crate::cli::help::PARTIAL_FORMAT_HELP)],
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
type Section = (&'static str, Vec<Vec<(bool, Cow<'static, str>)>>);

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
                .map(|(is_bold, text)| {
                    if *is_bold {
                        bold(text.as_ref())
                    } else {
                        roman(text.as_ref())
                    }
                })
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

fn paragraph(runs: &[(bool, &'static str)]) -> Vec<(bool, Cow<'static, str>)> {
    runs.iter().map(|&(b, t)| (b, Cow::Borrowed(t))).collect()
}

fn exit_status() -> Section {
    (
        "EXIT STATUS",
        vec![
            paragraph(&[
                (true, "0"),
                (
                    false,
                    "  success, including when a reader such as head(1) closes the pipe early.",
                ),
            ]),
            paragraph(&[
                (true, "1"),
                (
                    false,
                    "  runtime error: a missing or unreadable file, a directory, an I/O error, bad data, partials that cannot be merged. A reduction writes nothing to standard output, and an -o file is left as it was; a pipeline without a reduction has written the records before the bad one.",
                ),
            ]),
            paragraph(&[
                (true, "2"),
                (
                    false,
                    "  usage error: an unknown flag, a bad size, a pipeline that does not parse.",
                ),
            ]),
            paragraph(&[
                (true, "3"),
                (
                    false,
                    "  --expect found a difference (a diff is on standard error).",
                ),
            ]),
            paragraph(&[
                (true, "128+N"),
                (
                    false,
                    "  ended by signal N (130 for Ctrl-C); no temporary file is left.",
                ),
            ]),
            paragraph(&[(
                false,
                "Messages go to standard error as rbag: PATH:LINE:COL: what went wrong.",
            )]),
        ],
    )
}

fn determinism() -> Section {
    (
        "DETERMINISM",
        vec![paragraph(&[(
            false,
            "For the same input bytes and options, the output is byte-identical whatever --threads, whatever --blocksize, whether the input is a file, a pipe or compressed, and whether it was counted in one run or as partials merged with rbag merge. Tables are ordered by count descending, then by the bytes of the key ascending (or by key alone with --sort key); no locale is ever read. Output can therefore be diffed against a golden file (see --expect).",
        )])],
    )
}

/// The EXAMPLES section of a page, from the examples `--help` shows too.
fn examples(command: &str) -> Section {
    (
        "EXAMPLES",
        crate::examples::of(command)
            .map(|e| {
                vec![
                    (true, Cow::Borrowed(e.line)),
                    (false, Cow::Owned(format!("  {}.", e.what))),
                ]
            })
            .collect(),
    )
}

fn root_sections() -> Vec<Section> {
    vec![examples("rbag"), determinism(), exit_status()]
}

fn subcommand_sections(name: &str) -> Vec<Section> {
    vec![examples(name), determinism(), exit_status()]
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
