//! The word kernel as a block task: the tokenizer runs over each raw block
//! (no records in between) and every word goes straight into the worker's
//! count table.

use std::sync::Arc;

use super::ledger::BlockFailure;
use super::schedule::{BlockTask, Control};
use crate::counts::Counts;
use crate::input::block::Block;
use crate::plan::WordFilter;
use crate::reduce::KeyCounts;
use crate::reduce::spill::Spill;
use crate::tokenize::Tokenizer;

/// Counting the words of every block.
pub(super) struct WordTask {
    pub tokenizer: Tokenizer,
    /// Where a worker's table goes past its share of the memory budget.
    pub spill: Option<Arc<Spill>>,
}

/// One worker's counts and its reusable lowercasing buffer.
#[derive(Default)]
pub(super) struct WordPartial {
    pub counts: Counts,
    scratch: Vec<u8>,
}

impl BlockTask for WordTask {
    type Partial = WordPartial;

    fn new_partial(&self) -> WordPartial {
        WordPartial::default()
    }

    fn process(
        &self,
        partial: &mut WordPartial,
        block: &mut Block,
        _: &Control,
    ) -> Result<(), BlockFailure> {
        let WordPartial { counts, scratch } = partial;
        if self.spill.as_ref().is_some_and(|spill| spill.failed()) {
            // The run fails with the spill's error; nothing more to count.
            return Ok(());
        }
        self.tokenizer
            .for_each_token_in(block.data_mut(), scratch, |buf, start, end| {
                counts.add_soon_in(buf, start, end, 1);
            });
        if let Some(spill) = &self.spill
            && counts.memory() > spill.share
        {
            let mut table = KeyCounts {
                text: std::mem::take(counts),
                ..KeyCounts::default()
            };
            spill.spill_if_full(&mut table);
        }
        Ok(())
    }

    fn may_fail(&self) -> bool {
        false
    }
}

/// Whether `word` passes every filter.
pub(super) fn keeps(filters: &[&WordFilter], word: &[u8]) -> bool {
    filters.iter().all(|filter| match filter {
        WordFilter::MinLen(n) => char_len(word) >= *n,
        WordFilter::Stopwords(stopwords) => !stopwords.words.contains(word),
    })
}

/// The table without the words the kernel's filters drop (a filter on the
/// word commutes with counting it, so it runs once per distinct word).
pub(super) fn drop_words(mut counts: Counts, filters: Vec<&WordFilter>) -> Counts {
    if !filters.is_empty() {
        counts.retain(|word| keeps(&filters, word));
    }
    counts
}

/// Length in characters; each byte that is not UTF-8 counts as one.
fn char_len(word: &[u8]) -> usize {
    word.utf8_chunks()
        .map(|c| c.valid().chars().count() + c.invalid().len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::schedule::{Engine, EngineOptions};
    use crate::progress::Progress;
    use crate::tokenize::{Splitter, Tokenizer};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn char_len_counts_characters_and_stray_bytes() {
        assert_eq!(char_len("café".as_bytes()), 4);
        assert_eq!(char_len(b"a\xff\xfeb"), 4);
    }

    /// Pieces that stress the rules: case, final sigma, combining marks,
    /// both apostrophes, Unicode and ASCII white space, CRLF, invalid bytes.
    const PIECES: &[&[u8]] = &[
        b"a",
        b"B",
        b"the",
        b"THE",
        b" ",
        b"  ",
        b"\n",
        b"\r\n",
        b"\t",
        b"'",
        b"don't",
        b"_",
        b"1",
        b".",
        b",",
        b"-",
        b"\xff",
        b"\xc3",
        b"\xe2\x82",
        "\u{3a3}".as_bytes(),
        "\u{3a3}\u{391}\u{3a3}".as_bytes(),
        "\u{e9}".as_bytes(),
        "e\u{301}".as_bytes(),
        "\u{2019}".as_bytes(),
        "\u{a0}".as_bytes(),
        "\u{3000}".as_bytes(),
        "\u{6771}".as_bytes(),
        "\u{130}".as_bytes(),
    ];

    fn model(text: &[u8], words: bool, lowercase: bool) -> BTreeMap<Vec<u8>, u64> {
        crate::fuzzing::naive_word_counts(text, words, lowercase)
    }

    fn engine_counts(
        text: &[u8],
        words: bool,
        lowercase: bool,
        block_size: u64,
        threads: usize,
    ) -> BTreeMap<Vec<u8>, u64> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.txt");
        std::fs::write(&path, text).unwrap();
        let engine = Engine::new(EngineOptions {
            threads,
            block_size,
            delimiter: b'\n',
            count_records: false,
            strict_utf8: false,
            live: false,
        })
        .unwrap();
        let splitter = if words {
            Splitter::Words
        } else {
            Splitter::Whitespace
        };
        let task = WordTask {
            tokenizer: Tokenizer::new(splitter, lowercase, b'\n'),
            spill: None,
        };
        let inputs = crate::plan::inputs(
            vec![crate::input::Source::File(path)],
            crate::input::Decompress::Never,
            None,
            1,
        )
        .unwrap();
        let (partials, _, _) = engine.run(&task, &inputs, &Progress::hidden()).unwrap();
        let tables = partials.into_iter().map(|p| p.counts).collect();
        let counts = Counts::merge_all(tables, Some(engine.pool()));
        counts.iter().map(|(k, c)| (k.to_vec(), c)).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn wordcount_equals_the_naive_model(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..120),
            words in any::<bool>(),
            lowercase in any::<bool>(),
            block_size in 1u64..48,
            threads in 1usize..4,
        ) {
            let text = pieces.concat();
            let got = engine_counts(&text, words, lowercase, block_size, threads);
            prop_assert!(!got.contains_key(&Vec::new()), "an empty token was counted");
            prop_assert_eq!(got, model(&text, words, lowercase));
        }
    }
}
