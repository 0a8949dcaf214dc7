//! The texts of `--help` and the man pages that teach rbag: what each
//! command does, the pipeline language, the partial format.

pub(crate) const ABOUT: &str = "Parallel, deterministic word and record counts for the shell";

pub(crate) const LONG_ABOUT: &str = "\
rbag brings Dask Bag's model to the shell. It reads text in blocks cut at line \
boundaries, counts every block in parallel, and merges the partial counts into \
one sorted table. The output is byte-identical whatever the thread count, the \
block size or the way the input arrives (file or pipe), so it can be diffed \
against a golden file in CI.";

pub(crate) const WORDCOUNT_LONG_ABOUT: &str = "\
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

pub(crate) const MERGE_LONG_ABOUT: &str = "\
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
pub(crate) const PARTIAL_FORMAT_HELP: &str = "\
Partial format (--partial), version 1. A partial is lines of bytes:

  rbag-partial<TAB>1<TAB>{JSON header}
  rows...
  end<TAB>N

The header names the job (its canonical command line: the pipeline in
canonical form and how records are read; a word count is named as
wordcount whichever command counted it, so only partials of one job merge),
the pipeline, the input kind, the record terminator, and whether --top or
--min-count cut the rows (such a partial is refused). The last line counts
the rows, so a partial cut short is refused. Fields are separated by TAB; a
field escapes \\, TAB, LF and CR as \\\\, \\t, \\n, \\r. The rows, in a
canonical order:

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

pub(crate) const RUN_LONG_ABOUT: &str = "\
Run a pipeline over the records of the input. Records are lines (or JSON \
values with --jsonl); each goes through the map, filter and flatten stages, \
and the records that come out are either reduced (frequencies, count, sum, \
...) into one answer, or printed in input order as they are ready.

The pipeline is one argument: quote it for the shell with single quotes, and \
write regexes as /.../ and strings as \"...\" inside it. It is checked before \
any input is read.";

/// The pipeline language, for `rbag run --help` and the man pages.
pub(crate) const PIPELINE_HELP: &str = "\
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
  ngrams N                 each run of N consecutive words, joined by one space
                           (ngrams 2: \"in the\", \"the beginning\", ...)
  split \",\"  split /RE/    the pieces between separators (empty pieces kept)
  chars                    each character
  explode                  the elements of a JSON array
  pipe \"CMD\"               run CMD with sh -c once per block of records, its
                           records on standard input one per line (JSON values
                           as compact JSON; NUL-terminated under -0); its output
                           lines are the records that flow on. Never run on a
                           block no record reaches; --blocksize 1 -j N runs it
                           once per record, N at a time

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

pub(crate) const FREQ_LONG_ABOUT: &str = "\
Count how often each record occurs: each line of text, or each JSON value \
(values equal by == count together: whatever the order of their keys, and \
3, 3.0 and 3e0 alike, printed 3), or with --field the value at a JSON path. The same as rbag run 'frequencies' (or \
'pluck PATH | frequencies').";
