//! `--expect FILE`: compare the output with a golden file instead of
//! printing it, for CI jobs. Equal is silence and exit 0; different is a
//! short unified diff on stderr and exit 3.
//!
//! The two are compared as streams, line by line, so a golden file of
//! gigabytes takes no more memory than one of a line. Only where they
//! first differ is a window of lines kept and diffed (with `similar`),
//! so the diff shown is exact for a golden file of ordinary size and a
//! faithful first hunk for a huge one. A difference only in line endings
//! (`\r\n` against `\n`) is named as such, and files that hold NUL bytes
//! are not printed: binary files differ.

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffTag};

/// At most this many lines of diff are shown.
const SHOWN_LINES: usize = 30;

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// From the first difference, at most this many lines (and bytes) of each
/// side are kept and diffed.
const WINDOW_LINES: usize = 20_000;
const WINDOW_BYTES: usize = 8 << 20;

/// A diff of very different windows can take long: past this, the diff
/// is coarser (but still correct).
const DIFF_DEADLINE: Duration = Duration::from_secs(2);

/// Which of the two a read error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Golden,
    Output,
}

/// One side being read: its lines, counted.
struct Reader<R> {
    input: R,
    lines: u64,
    bytes: u64,
    nul: bool,
    side: Side,
}

impl<R: BufRead> Reader<R> {
    /// The next line, with its newline if it has one; empty at the end.
    fn next(&mut self, line: &mut Vec<u8>) -> Result<bool, (Side, io::Error)> {
        line.clear();
        loop {
            match self.input.read_until(b'\n', line) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.lines += 1;
                    self.bytes += n as u64;
                    self.nul |= memchr::memchr(0, line).is_some();
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err((self.side, e)),
            }
        }
    }

    /// Up to a window of lines from here on, into `kept`; whether the end
    /// was reached.
    fn window(&mut self, kept: &mut Vec<Vec<u8>>) -> Result<bool, (Side, io::Error)> {
        let mut bytes: usize = kept.iter().map(Vec::len).sum();
        while kept.len() < WINDOW_LINES && bytes < WINDOW_BYTES {
            let mut line = Vec::new();
            if !self.next(&mut line)? {
                return Ok(true);
            }
            bytes += line.len();
            kept.push(line);
        }
        Ok(false)
    }

    /// Read on to the end, counting.
    fn drain(&mut self) -> Result<(), (Side, io::Error)> {
        let mut line = Vec::new();
        while self.next(&mut line)? {}
        Ok(())
    }
}

/// A line without its line ending, and whether it ended in `\r\n`.
fn body(line: &[u8]) -> (&[u8], bool) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    match line.strip_suffix(b"\r") {
        Some(body) => (body, true),
        None => (line, false),
    }
}

/// The report of a difference between `golden` (the file, named
/// `golden_name`) and `output`: a unified diff of at most about 30 lines,
/// then a line that says how they differ. `None` when they are equal.
///
/// # Errors
/// Reading either side failed; the error says which.
pub fn compare(
    golden_name: &str,
    golden: impl BufRead,
    output: impl BufRead,
    command: &str,
) -> Result<Option<String>, (Side, io::Error)> {
    let mut golden = Reader {
        input: golden,
        lines: 0,
        bytes: 0,
        nul: false,
        side: Side::Golden,
    };
    let mut output = Reader {
        input: output,
        lines: 0,
        bytes: 0,
        nul: false,
        side: Side::Output,
    };
    let (mut old, mut new) = (Vec::new(), Vec::new());
    // The last lines before the first difference, for context: each
    // side's own, since they may differ in their line endings.
    let mut old_before: VecDeque<Vec<u8>> = VecDeque::with_capacity(CONTEXT + 1);
    let mut new_before: VecDeque<Vec<u8>> = VecDeque::with_capacity(CONTEXT + 1);
    // The first line equal but for its line ending: (line, golden has CR).
    let mut endings: Option<(u64, bool)> = None;
    let first = loop {
        let (more_old, more_new) = (golden.next(&mut old)?, output.next(&mut new)?);
        if !more_old && !more_new {
            break None;
        }
        let ((old_body, old_cr), (new_body, new_cr)) = (body(&old), body(&new));
        let same_newline = old.ends_with(b"\n") == new.ends_with(b"\n");
        if more_old && more_new && old_body == new_body && same_newline {
            if old_cr != new_cr {
                endings.get_or_insert((golden.lines, old_cr));
            }
            remember(&mut old_before, &old);
            remember(&mut new_before, &new);
            continue;
        }
        break Some(golden.lines.max(output.lines));
    };
    let Some(line) = first else {
        return Ok(endings.map(|(line, golden_cr)| {
            let (file, out) = if golden_cr {
                ("\\r\\n (CRLF)", "\\n")
            } else {
                ("\\n", "\\r\\n (CRLF)")
            };
            format!(
                "rbag: {golden_name}: the output differs only in line endings (first at line {line}: the file's line ends in {file}, the output's in {out})"
            )
        }));
    };
    // The first byte that differs, for binary files.
    let same = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let at_byte = golden.bytes - old.len() as u64 + same as u64;
    let context = old_before.len();
    let mut old_window: Vec<Vec<u8>> = old_before.into_iter().collect();
    let mut new_window: Vec<Vec<u8>> = new_before.into_iter().collect();
    if !old.is_empty() {
        old_window.push(std::mem::take(&mut old));
    }
    if !new.is_empty() {
        new_window.push(std::mem::take(&mut new));
    }
    let whole = golden.window(&mut old_window)? & output.window(&mut new_window)?;
    golden.drain()?;
    output.drain()?;
    if golden.nul || output.nul {
        return Ok(Some(format!(
            "rbag: {golden_name}: binary files differ (first at line {line}, byte {})",
            at_byte + 1
        )));
    }
    // The window's first line is this line of both sides.
    let start = line - context as u64;
    let deadline = Instant::now() + DIFF_DEADLINE;
    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        &old_window,
        &new_window,
        Some(deadline),
    );
    let (mut removed, mut added) = (0usize, 0usize);
    for op in &ops {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag != DiffTag::Equal {
            removed += old_range.len();
            added += new_range.len();
        }
    }
    let mut diff = vec![
        format!("--- {golden_name}"),
        format!("+++ {command} (output)"),
    ];
    for group in similar::group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        diff.push(format!(
            "@@ -{} +{} @@",
            hunk_range(start, &old_range),
            hunk_range(start, &new_range)
        ));
        for op in &group {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            if tag == DiffTag::Equal {
                for line in &old_window[old_range] {
                    show(&mut diff, ' ', line);
                }
                continue;
            }
            for line in &old_window[old_range] {
                show(&mut diff, '-', line);
            }
            for line in &new_window[new_range] {
                show(&mut diff, '+', line);
            }
        }
    }
    let mut report = String::new();
    for line in diff.iter().take(SHOWN_LINES) {
        report.push_str(line);
        report.push('\n');
    }
    if diff.len() > SHOWN_LINES {
        report.push_str(&format!(
            "... ({} more lines of diff)\n",
            diff.len() - SHOWN_LINES
        ));
    }
    if whole {
        report.push_str(&format!(
            "rbag: {golden_name}: the output differs: {removed} line(s) of the file not in the output, {added} line(s) of the output not in the file"
        ));
    } else {
        report.push_str(&format!(
            "rbag: {golden_name}: the output differs, first at line {line}: the file has {} line(s), the output {} (the diff covers {WINDOW_LINES} lines from the first difference)",
            golden.lines, output.lines
        ));
    }
    Ok(Some(report))
}

/// Keep `line` among the last few equal ones.
fn remember(before: &mut VecDeque<Vec<u8>>, line: &[u8]) {
    if before.len() == CONTEXT {
        before.pop_front();
    }
    if CONTEXT > 0 {
        before.push_back(line.to_vec());
    }
}

/// A hunk's range in unified diff form: `START,COUNT` (`START` alone for
/// one line; an empty range starts at the line before it). `first` is the
/// line number of index 0.
fn hunk_range(first: u64, range: &std::ops::Range<usize>) -> String {
    let start = first + range.start as u64;
    match range.len() {
        1 => format!("{start}"),
        0 => format!("{},0", start - 1),
        n => format!("{start},{n}"),
    }
}

/// One line of diff: a carriage return before the newline shows as `^M`
/// (otherwise the two sides of a line-ending difference would look the
/// same), and a last line without a newline says so.
fn show(diff: &mut Vec<String>, mark: char, line: &[u8]) {
    let (text, cr) = body(line);
    let mut shown = format!("{mark}{}", String::from_utf8_lossy(text));
    if cr {
        shown.push_str("^M");
    }
    diff.push(shown);
    if !line.ends_with(b"\n") {
        diff.push("\\ No newline at end of file".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(golden: &[u8], output: &[u8]) -> Option<String> {
        compare("g", golden, output, "rbag").unwrap()
    }

    #[test]
    fn equal_is_silence() {
        assert_eq!(check(b"a\n", b"a\n"), None);
        assert_eq!(check(b"", b""), None);
    }

    #[test]
    fn a_difference_is_a_short_unified_diff() {
        let golden = b"the\t85\nand\t68\nof\t13\n";
        let output = b"the\t85\nand\t69\nof\t13\n";
        assert_eq!(
            compare("golden.tsv", &golden[..], &output[..], "rbag wordcount")
                .unwrap()
                .unwrap(),
            "--- golden.tsv\n+++ rbag wordcount (output)\n@@ -1,3 +1,3 @@\n the\t85\n-and\t68\n+and\t69\n of\t13\nrbag: golden.tsv: the output differs: 1 line(s) of the file not in the output, 1 line(s) of the output not in the file"
        );
    }

    #[test]
    fn hunks_carry_the_real_line_numbers() {
        let golden: String = (1..=100).map(|i| format!("{i}\n")).collect();
        let output = golden.replace("\n50\n", "\nfifty\n");
        let report = check(golden.as_bytes(), output.as_bytes()).unwrap();
        assert!(
            report.contains("@@ -47,7 +47,7 @@\n 47\n 48\n 49\n-50\n+fifty\n 51\n"),
            "{report}"
        );
        // A line missing at the end, and one without its newline.
        let report = check(b"a\nb\n", b"a\n").unwrap();
        assert!(report.contains("@@ -1,2 +1 @@\n a\n-b\n"), "{report}");
        let report = check(b"a\n", b"a").unwrap();
        assert!(
            report.contains("-a\n+a\n\\ No newline at end of file\n"),
            "{report}"
        );
    }

    #[test]
    fn long_diffs_are_cut() {
        let golden: String = (0..200).map(|i| format!("{i}\n")).collect();
        let output: String = (0..200).map(|i| format!("{}\n", i * 2)).collect();
        let report = check(golden.as_bytes(), output.as_bytes()).unwrap();
        assert!(report.lines().count() <= SHOWN_LINES + 2, "{report}");
        assert!(report.contains("more lines of diff"));
    }

    #[test]
    fn line_endings_are_named_and_shown() {
        assert_eq!(
            check(b"a\r\nb\r\n", b"a\nb\n").unwrap(),
            "rbag: g: the output differs only in line endings (first at line 1: the file's line ends in \\r\\n (CRLF), the output's in \\n)"
        );
        // Once contents differ too, every line that differs shows.
        let report = check(b"a\r\nb\r\n", b"a\nc\n").unwrap();
        assert!(report.contains("-a^M\n-b^M\n+a\n+c\n"), "{report}");
        assert!(
            report.ends_with(
                "2 line(s) of the file not in the output, 2 line(s) of the output not in the file"
            ),
            "{report}"
        );
    }

    #[test]
    fn binary_files_are_not_printed() {
        assert_eq!(
            check(b"a\n\0\x01\n", b"a\nb\n").unwrap(),
            "rbag: g: binary files differ (first at line 2, byte 3)"
        );
    }

    #[test]
    fn millions_of_lines_give_the_first_difference_and_the_counts() {
        let golden: String = (0..1_000_000).map(|i| format!("{i}\n")).collect();
        let mut output = golden.replace("\n500000\n", "\nx\n");
        output.push_str("extra\n");
        let report = check(golden.as_bytes(), output.as_bytes()).unwrap();
        assert!(report.contains("@@ -499998,7 +499998,7 @@\n"), "{report}");
        assert!(report.contains("-500000\n+x\n"), "{report}");
        assert!(report.ends_with(
            "rbag: g: the output differs, first at line 500001: the file has 1000000 line(s), the output 1000001 (the diff covers 20000 lines from the first difference)"
        ), "{report}");
    }
}
