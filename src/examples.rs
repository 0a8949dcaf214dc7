//! The examples of `--help` and of the man pages, one table for both, run
//! as tests (`tests/examples.rs`) in a directory holding files of the
//! names they use, so no example can stop working unnoticed.

/// One example: the command it belongs to (`rbag` for the top level), the
/// shell line, and what it does.
pub struct Example {
    pub command: &'static str,
    pub line: &'static str,
    pub what: &'static str,
}

/// Every example, in the order they are shown.
pub const EXAMPLES: &[Example] = &[
    Example {
        command: "rbag",
        line: "rbag wordcount book.txt --top 10",
        what: "the ten most frequent words",
    },
    Example {
        command: "rbag",
        line: "rbag run 'pluck .user.lang | frequencies' tweets.jsonl",
        what: "how often each language occurs in JSON lines",
    },
    Example {
        command: "rbag",
        line: "rbag wordcount 'logs/*.txt' --expect golden.tsv",
        what: "a CI check: exit 3 and a diff when the counts change",
    },
    Example {
        command: "wordcount",
        line: "rbag wordcount book.txt --top 5",
        what: "Unicode words, lowercased, the five most frequent",
    },
    Example {
        command: "wordcount",
        line: "rbag wordcount --split whitespace --keep-case book.txt",
        what: "split at white space only, and keep case",
    },
    Example {
        command: "wordcount",
        line: "rbag wordcount 'logs/*.txt' --stopwords stop.txt -o counts.tsv",
        what: "the files of a quoted glob, without stopwords, into counts.tsv",
    },
    Example {
        command: "wordcount",
        line: "cat big.txt.gz | rbag wordcount --format jsonl | head -3",
        what: "compressed standard input, JSON lines out",
    },
    Example {
        command: "run",
        line: "rbag run 'filter .age >= 30 | pluck .name | take 5' people.jsonl",
        what: "the first five names of people aged 30 or more; reading stops there",
    },
    Example {
        command: "run",
        line: "rbag run 'group .path | pluck .ms | mean' requests.jsonl",
        what: "the mean time per path, one line per path",
    },
    Example {
        command: "run",
        line: "rbag run 'extract /status=(\\d+)/ | frequencies' app.log",
        what: "status codes of a log, most frequent first",
    },
    Example {
        command: "run",
        line: "rbag run 'words | lower | frequencies | filter .count >= 10 | count' book.txt",
        what: "how many words occur at least ten times",
    },
    Example {
        command: "freq",
        line: "rbag freq access.log --top 3",
        what: "the three most frequent lines",
    },
    Example {
        command: "freq",
        line: "rbag freq --field .user.lang tweets.jsonl",
        what: "how often each value of a JSON field occurs",
    },
    Example {
        command: "merge",
        line: "rbag wordcount --partial --byte-range 0:2000 book.txt > a.partial",
        what: "the words of the records that start in the first 2000 bytes",
    },
    Example {
        command: "merge",
        line: "rbag wordcount --partial --byte-range 2000: book.txt > b.partial",
        what: "the rest (on another machine, say)",
    },
    Example {
        command: "merge",
        line: "rbag merge a.partial b.partial --top 10",
        what: "the same bytes as rbag wordcount book.txt --top 10",
    },
];

/// The examples of `command`.
pub fn of(command: &str) -> impl Iterator<Item = &'static Example> + '_ {
    EXAMPLES.iter().filter(move |e| e.command == command)
}

/// The "Examples:" block of `--help` for `command`.
pub fn help(command: &str) -> String {
    let mut out = String::from("Examples:\n");
    for example in of(command) {
        out.push_str(&format!("  {}\n      {}\n", example.line, example.what));
    }
    if command == "rbag" {
        out.push_str(
            "\nExit status: 0 success (also when a reader such as head closes the pipe),\n\
             1 runtime error (missing file, I/O, bad data), 2 usage error, 3 --expect\n\
             found a difference, 128+N ended by signal N.",
        );
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_two_to_four_examples() {
        for command in ["rbag", "wordcount", "run", "freq", "merge"] {
            let n = of(command).count();
            assert!((2..=4).contains(&n), "{command} has {n} examples");
        }
    }
}
