//! `--expect FILE`: compare the output with a golden file instead of
//! printing it, for CI jobs. Equal is silence and exit 0; different is a
//! short unified diff on stderr and exit 3.

use std::time::Duration;

use similar::{ChangeTag, TextDiff};

/// At most this many lines of diff are shown.
const SHOWN_LINES: usize = 30;

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// A diff of large, very different texts can take long: past this, the
/// diff is coarser (but still correct).
const DIFF_DEADLINE: Duration = Duration::from_secs(2);

/// The report of a difference between `golden` (the file, named
/// `golden_name`) and `output`: a unified diff of at most about 30 lines,
/// then how many lines differ in all. `None` when they are equal.
pub fn compare(golden_name: &str, golden: &[u8], output: &[u8], command: &str) -> Option<String> {
    if golden == output {
        return None;
    }
    let old = String::from_utf8_lossy(golden);
    let new = String::from_utf8_lossy(output);
    let diff = TextDiff::configure()
        .timeout(DIFF_DEADLINE)
        .diff_lines(old.as_ref(), new.as_ref());
    let (mut removed, mut added) = (0usize, 0usize);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Delete => removed += 1,
            ChangeTag::Insert => added += 1,
            ChangeTag::Equal => {}
        }
    }
    let text = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .missing_newline_hint(true)
        .header(golden_name, &format!("{command} (output)"))
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut report = String::new();
    for line in lines.iter().take(SHOWN_LINES) {
        report.push_str(line);
        report.push('\n');
    }
    if lines.len() > SHOWN_LINES {
        report.push_str(&format!(
            "... ({} more lines of diff)\n",
            lines.len() - SHOWN_LINES
        ));
    }
    if removed == 0 && added == 0 {
        // The same lines, different bytes (not UTF-8): say so.
        report.push_str(&format!(
            "rbag: {golden_name}: the output differs in bytes that are not UTF-8"
        ));
    } else {
        report.push_str(&format!(
            "rbag: {golden_name}: the output differs: {removed} line(s) of the file not in the output, {added} line(s) of the output not in the file"
        ));
    }
    Some(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_is_silence() {
        assert_eq!(compare("g", b"a\n", b"a\n", "rbag x"), None);
    }

    #[test]
    fn a_difference_is_a_short_unified_diff() {
        let golden = b"the\t85\nand\t68\nof\t13\n";
        let output = b"the\t85\nand\t69\nof\t13\n";
        assert_eq!(
            compare("golden.tsv", golden, output, "rbag wordcount").unwrap(),
            "--- golden.tsv\n+++ rbag wordcount (output)\n@@ -1,3 +1,3 @@\n the\t85\n-and\t68\n+and\t69\n of\t13\nrbag: golden.tsv: the output differs: 1 line(s) of the file not in the output, 1 line(s) of the output not in the file"
        );
    }

    #[test]
    fn long_diffs_are_cut() {
        let golden: String = (0..200).map(|i| format!("{i}\n")).collect();
        let output: String = (0..200).map(|i| format!("{}\n", i * 2)).collect();
        let report = compare("g", golden.as_bytes(), output.as_bytes(), "rbag").unwrap();
        assert!(report.lines().count() <= SHOWN_LINES + 2, "{report}");
        assert!(report.contains("more lines of diff"));
    }
}
