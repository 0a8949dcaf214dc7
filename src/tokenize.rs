//! Cutting text into words (SPEC section 2) and lowercasing them.
//!
//! The fast path classifies 64 bytes at a time into bit masks with exact
//! SWAR byte tests and walks the runs of token bytes; a group holding a
//! non-ASCII byte is scanned byte by byte instead (a 256-entry class table,
//! with characters decoded only at non-ASCII bytes). Tokens are handed out
//! as slices of the block (after ASCII lowercasing in place) or, only when
//! a token has non-ASCII text to lowercase, of a reused scratch buffer:
//! nothing is allocated per token.

use bstr::decode_utf8;
use regex::bytes::Regex;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// How a block is cut into words.
#[derive(Debug, Clone)]
pub enum Splitter {
    /// Unicode words: letters, marks, decimal digits, connector punctuation,
    /// and apostrophes between two of those.
    Words,
    /// Maximal runs of non-White_Space characters.
    Whitespace,
    /// The non-empty matches of a regex, found within each record.
    Pattern(Regex),
}

/// A configured word splitter.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    splitter: Splitter,
    lowercase: bool,
    delimiter: u8,
    /// The delimiter must be added to the separators found by the fast
    /// whitespace scanner (it is not white space itself, e.g. NUL).
    delimiter_is_token_byte: bool,
    classes: [Class; 256],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Ends a token.
    Separator,
    /// Part of a token.
    Token,
    /// An ASCII apostrophe: part of a word only between two word characters.
    Apostrophe,
    /// A non-ASCII byte: decode the character to decide.
    NonAscii,
}

impl Tokenizer {
    /// A tokenizer for records ending in `delimiter`, which always separates
    /// tokens, whatever the splitter.
    pub fn new(splitter: Splitter, lowercase: bool, delimiter: u8) -> Tokenizer {
        let mut classes = [Class::Separator; 256];
        for (byte, class) in classes.iter_mut().enumerate() {
            let byte = byte as u8;
            *class = if !byte.is_ascii() {
                Class::NonAscii
            } else {
                match splitter {
                    Splitter::Words if byte == b'\'' => Class::Apostrophe,
                    Splitter::Words if is_ascii_word(byte) => Class::Token,
                    Splitter::Whitespace if !(byte as char).is_whitespace() => Class::Token,
                    _ => Class::Separator,
                }
            };
        }
        let delimiter_is_token_byte = !(delimiter as char).is_whitespace();
        classes[usize::from(delimiter)] = Class::Separator;
        Tokenizer {
            splitter,
            lowercase,
            delimiter,
            delimiter_is_token_byte,
            classes,
        }
    }

    /// Call `emit` with every token of `block`, in order. The block may be
    /// changed in place (ASCII lowercasing); `scratch` is reused storage.
    #[inline]
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn for_each_token<F: FnMut(&[u8])>(
        &self,
        block: &mut [u8],
        scratch: &mut Vec<u8>,
        mut emit: F,
    ) {
        self.for_each_token_in(block, scratch, |buf, start, end| emit(&buf[start..end]));
    }

    /// Every token of `block`, in order, each given as `buf[start..end]`
    /// of the buffer it lies in (the block, a record, or `scratch` when it
    /// was lowercased), so that a counter may read whole words around it.
    #[inline(always)]
    pub fn for_each_token_in<F: FnMut(&[u8], usize, usize)>(
        &self,
        block: &mut [u8],
        scratch: &mut Vec<u8>,
        mut emit: F,
    ) {
        match &self.splitter {
            Splitter::Words | Splitter::Whitespace => {
                // Splitting never depends on ASCII case, and lowercasing the
                // ASCII letters first gives the same result as the full
                // mapping of each token afterwards (A-Z are cased either
                // way, so even final sigma sees the same context).
                if self.lowercase {
                    block.make_ascii_lowercase();
                }
                let block: &[u8] = block;
                let lowercase = self.lowercase;
                self.scan(block, |start, end, non_ascii| {
                    if non_ascii && lowercase {
                        scratch.clear();
                        lowercase_into(&block[start..end], scratch);
                        emit(scratch, 0, scratch.len());
                    } else {
                        emit(block, start, end);
                    }
                });
            }
            Splitter::Pattern(regex) => {
                for record in block.split(|&b| b == self.delimiter) {
                    let record = record.strip_suffix(b"\r").unwrap_or(record);
                    for found in regex.find_iter(record) {
                        if found.is_empty() {
                            continue;
                        }
                        if self.lowercase {
                            scratch.clear();
                            lowercase_into(found.as_bytes(), scratch);
                            emit(scratch, 0, scratch.len());
                        } else {
                            emit(record, found.start(), found.end());
                        }
                    }
                }
            }
        }
    }

    /// Call `emit` with the byte range of every token of `text` as it is
    /// (no lowercasing), in order. Only for the words and whitespace
    /// splitters; a pattern splitter yields nothing here.
    #[inline]
    pub fn for_each_range<F: FnMut(usize, usize)>(&self, text: &[u8], mut emit: F) {
        match &self.splitter {
            Splitter::Words | Splitter::Whitespace => {
                self.scan(text, |start, end, _| emit(start, end));
            }
            Splitter::Pattern(regex) => {
                for found in regex.find_iter(text) {
                    if !found.is_empty() {
                        emit(found.start(), found.end());
                    }
                }
            }
        }
    }

    /// Run the splitter's scanner, calling `emit(start, end, non_ascii)`,
    /// 64 bytes at a time: classify a group into bit masks, then walk the
    /// runs of token bytes. A group with a non-ASCII byte goes to the scalar
    /// scanner, from the start of the token in progress. For words, an
    /// apostrophe joins a word when the bytes on both sides are word
    /// characters, found with shifts of the word mask.
    #[inline(always)]
    fn scan<F: FnMut(usize, usize, bool)>(&self, block: &[u8], emit: F) {
        // One loop in the source, compiled once per splitter: a run-time
        // test inside it cost 8% more instructions.
        if matches!(self.splitter, Splitter::Words) {
            self.scan_groups::<true, F>(block, emit);
        } else {
            self.scan_groups::<false, F>(block, emit);
        }
    }

    #[inline(always)]
    fn scan_groups<const WORDS: bool, F: FnMut(usize, usize, bool)>(
        &self,
        block: &[u8],
        mut emit: F,
    ) {
        let end = block.len();
        let mut pos = 0;
        let mut token = None;
        // Words: whether the byte before `pos` is a word character.
        let mut word_before = false;
        while pos < end {
            let len = (end - pos).min(GROUP);
            let group = self.classify::<WORDS>(&block[pos..pos + len]);
            if group.high != 0 {
                let from = token.take().unwrap_or(pos);
                // The scalar scanners stop just after a separator.
                pos = if WORDS {
                    self.words_scalar(block, from, pos + len, &mut emit)
                } else {
                    self.whitespace_scalar(block, from, pos + len, &mut emit)
                };
                word_before = false;
                continue;
            }
            let runs = if WORDS {
                let word_bytes = group.first;
                let word_after = len == GROUP && self.word_char_at(block, pos + GROUP);
                let before = (word_bytes << 1) | u64::from(word_before);
                let after = (word_bytes >> 1) | (u64::from(word_after) << 63);
                word_before = len == GROUP && word_bytes >> 63 == 1;
                word_bytes | (group.second & before & after)
            } else {
                !group.first
            };
            walk_runs(runs, pos, &mut token, &mut emit);
            pos += len;
        }
        if let Some(start) = token {
            emit(start, end, false);
        }
    }

    /// Classify up to 64 bytes. Whitespace: `first` marks separators.
    /// Words: `first` marks ASCII word characters, `second` apostrophes.
    /// `high` marks non-ASCII bytes. Lanes past the end are separators.
    #[inline(always)]
    fn classify<const WORDS: bool>(&self, bytes: &[u8]) -> Group {
        if bytes.len() < GROUP {
            let mut group = Group {
                first: if WORDS { 0 } else { !0 },
                second: 0,
                high: 0,
            };
            for (lane, &byte) in bytes.iter().enumerate() {
                let bit = 1u64 << lane;
                match self.classes[usize::from(byte)] {
                    Class::NonAscii => group.high |= bit,
                    Class::Token if WORDS => group.first |= bit,
                    Class::Token => group.first &= !bit,
                    Class::Apostrophe => group.second |= bit,
                    Class::Separator => {}
                }
            }
            return group;
        }
        let mut group = Group {
            first: 0,
            second: 0,
            high: 0,
        };
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes([
                chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
            ]);
            let shift = 8 * i;
            let low = word & LOW7;
            let ascii = !word & HIGH;
            group.high |= gather(word & HIGH) << shift;
            if WORDS {
                let digit = at_least(low, b'0') & !at_least(low, b'9' + 1);
                let folded = low | splat(0x20);
                let alpha = at_least(folded, b'a') & !at_least(folded, b'z' + 1);
                let word_bytes = ((digit | alpha) & ascii) | equal(word, b'_');
                group.first |= gather(word_bytes) << shift;
                group.second |= gather(equal(word, b'\'')) << shift;
            } else {
                // For bytes up to 0x20: a space, or TAB..CR (0x09..=0x0d).
                let small = ascii & !at_least(low, 0x21);
                let space = at_least(low, 0x20);
                let control = at_least(low, 0x09) & !at_least(low, 0x0e);
                let mut separators = small & (space | control);
                if self.delimiter_is_token_byte {
                    separators |= equal(word, self.delimiter);
                }
                group.first |= gather(separators) << shift;
            }
        }
        group
    }

    /// The scalar whitespace scanner, from `from` (not inside a token) to
    /// the first position at or after `stop` that follows a separator (or
    /// the end), which it returns: there the fast scanner can take over.
    fn whitespace_scalar<F: FnMut(usize, usize, bool)>(
        &self,
        block: &[u8],
        from: usize,
        stop: usize,
        emit: &mut F,
    ) -> usize {
        let classes = &self.classes;
        let end = block.len();
        let mut at = from;
        while at < end {
            // Skip separators.
            let start;
            loop {
                match classes[usize::from(block[at])] {
                    Class::Separator => {
                        at += 1;
                        if at == end || at >= stop {
                            return at;
                        }
                    }
                    Class::NonAscii => {
                        let (ch, size) = decode_utf8(&block[at..]);
                        if ch.is_some_and(char::is_whitespace) {
                            at += size;
                            if at == end || at >= stop {
                                return at;
                            }
                        } else {
                            start = at;
                            break;
                        }
                    }
                    _ => {
                        start = at;
                        break;
                    }
                }
            }
            // Take the token.
            let mut non_ascii = false;
            while at < end {
                match classes[usize::from(block[at])] {
                    Class::Separator => break,
                    Class::NonAscii => {
                        let (ch, size) = decode_utf8(&block[at..]);
                        if ch.is_some_and(char::is_whitespace) {
                            break;
                        }
                        non_ascii = true;
                        at += size;
                    }
                    _ => at += 1,
                }
            }
            emit(start, at, non_ascii);
        }
        end
    }

    /// The scalar words scanner; `from`, `stop` and the result as for
    /// [`Tokenizer::whitespace_scalar`].
    fn words_scalar<F: FnMut(usize, usize, bool)>(
        &self,
        block: &[u8],
        from: usize,
        stop: usize,
        emit: &mut F,
    ) -> usize {
        let classes = &self.classes;
        let end = block.len();
        let mut at = from;
        while at < end {
            // Skip to the first word character.
            let start;
            loop {
                match classes[usize::from(block[at])] {
                    Class::Token => {
                        start = at;
                        break;
                    }
                    Class::NonAscii => {
                        let (ch, size) = decode_utf8(&block[at..]);
                        // Bytes that are not UTF-8 are never dropped: they
                        // belong to the word they touch (Latin-1 `caf\xe9`).
                        if ch.is_none_or(is_word_char) {
                            start = at;
                            break;
                        }
                        at += size;
                    }
                    _ => at += 1,
                }
                if at == end || at >= stop {
                    return at;
                }
            }
            // Take word characters, and apostrophes followed by one.
            let mut non_ascii = false;
            while at < end {
                match classes[usize::from(block[at])] {
                    Class::Token => at += 1,
                    Class::Separator => break,
                    Class::Apostrophe => {
                        if self.word_char_at(block, at + 1) {
                            at += 1;
                        } else {
                            break;
                        }
                    }
                    Class::NonAscii => {
                        let (ch, size) = decode_utf8(&block[at..]);
                        match ch {
                            None => {}
                            Some(c) if is_word_char(c) => {}
                            Some('\u{2019}') if self.word_char_at(block, at + size) => {}
                            _ => break,
                        }
                        non_ascii = true;
                        at += size;
                    }
                }
            }
            emit(start, at, non_ascii);
        }
        end
    }

    /// Is there a word character starting at `at`?
    #[inline]
    fn word_char_at(&self, block: &[u8], at: usize) -> bool {
        match block.get(at) {
            None => false,
            Some(&byte) => match self.classes[usize::from(byte)] {
                Class::Token => true,
                Class::NonAscii => decode_utf8(&block[at..]).0.is_none_or(is_word_char),
                _ => false,
            },
        }
    }
}

/// Bytes classified at a time by the fast scanners.
const GROUP: usize = 64;

/// Bit masks over a group of bytes, bit `i` for byte `i`.
struct Group {
    first: u64,
    second: u64,
    high: u64,
}

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// `byte` in every byte of a word.
const fn splat(byte: u8) -> u64 {
    byte as u64 * 0x0101_0101_0101_0101
}

/// For 7-bit bytes: the high bit set in each byte that is at least `n`
/// (1..=0x80). No carry crosses bytes: 0x7f + 0x7f < 0x100.
#[inline(always)]
fn at_least(low: u64, n: u8) -> u64 {
    low.wrapping_add(splat(0x80 - n)) & HIGH
}

/// The high bit set in each byte equal to `byte`, exactly.
#[inline(always)]
fn equal(word: u64, byte: u8) -> u64 {
    let diff = word ^ splat(byte);
    !(((diff & LOW7).wrapping_add(LOW7)) | diff) & HIGH
}

/// The high bits of the 8 bytes of `mask` as the low 8 bits: each bit
/// lands on its own position and no two products overlap.
#[inline(always)]
fn gather(mask: u64) -> u64 {
    ((mask >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

/// Walk the runs of set bits of `runs` (a group starting at `base`),
/// emitting each token that ends in the group; `token` carries a token
/// that is still open from one group to the next.
#[inline(always)]
fn walk_runs<F: FnMut(usize, usize, bool)>(
    runs: u64,
    base: usize,
    token: &mut Option<usize>,
    emit: &mut F,
) {
    let mut remaining = !0u64;
    loop {
        match *token {
            Some(start) => {
                let ends = !runs & remaining;
                if ends == 0 {
                    return;
                }
                let lane = ends.trailing_zeros();
                emit(start, base + lane as usize, false);
                *token = None;
                remaining = (!0u64).checked_shl(lane + 1).unwrap_or(0);
            }
            None => {
                let starts = runs & remaining;
                if starts == 0 {
                    return;
                }
                let lane = starts.trailing_zeros();
                *token = Some(base + lane as usize);
                remaining = (!0u64).checked_shl(lane + 1).unwrap_or(0);
            }
        }
    }
}

/// ASCII letters, digits and `_` (connector punctuation).
fn is_ascii_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Letters (L*), marks (M*), decimal digits (Nd) and connector punctuation
/// (Pc).
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return is_ascii_word(c as u8);
    }
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Mark
    ) || matches!(
        c.general_category(),
        GeneralCategory::DecimalNumber | GeneralCategory::ConnectorPunctuation
    )
}

/// Append the Unicode lowercase of `text` to `out`, as `str::to_lowercase`
/// does (final sigma included). Bytes that are not UTF-8 are copied as they
/// are and count as neither cased nor case-ignorable, so a sigma next to one
/// is judged as at the edge of the text.
pub fn lowercase_into(text: &[u8], out: &mut Vec<u8>) {
    if text.is_ascii() {
        out.extend(text.iter().map(u8::to_ascii_lowercase));
        return;
    }
    for chunk in text.utf8_chunks() {
        out.extend_from_slice(chunk.valid().to_lowercase().as_bytes());
        out.extend_from_slice(chunk.invalid());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Tokens = Vec<(usize, usize, bool)>;

    fn fast_and_scalar(tokenizer: &Tokenizer, text: &[u8]) -> (Tokens, Tokens) {
        let mut fast = Vec::new();
        tokenizer.scan(text, |s, e, n| fast.push((s, e, n)));
        let mut scalar = Vec::new();
        let mut push = |s, e, n| scalar.push((s, e, n));
        if matches!(tokenizer.splitter, Splitter::Words) {
            tokenizer.words_scalar(text, 0, usize::MAX, &mut push);
        } else {
            tokenizer.whitespace_scalar(text, 0, usize::MAX, &mut push);
        }
        (fast, scalar)
    }

    /// Mostly ASCII, so that whole groups take the fast path, with every
    /// byte class and some Unicode in between.
    fn text() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            20 => proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'Z'), Just(b'5'), Just(b'_')], 1..9),
            8 => Just(b" ".to_vec()),
            3 => Just(b"\n".to_vec()),
            2 => Just(b"'".to_vec()),
            2 => (0u8..0x80).prop_map(|b| vec![b]),
            1 => Just("\u{a0}".as_bytes().to_vec()),
            1 => Just("\u{2019}".as_bytes().to_vec()),
            1 => Just("é".as_bytes().to_vec()),
            1 => Just(b"\xff".to_vec()),
            1 => Just(b"\0".to_vec()),
        ];
        proptest::collection::vec(piece, 0..200).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn fast_scanners_match_the_scalar_ones(text in text(), nul in any::<bool>()) {
            let delimiter = if nul { 0 } else { b'\n' };
            for splitter in [Splitter::Words, Splitter::Whitespace] {
                let tokenizer = Tokenizer::new(splitter, false, delimiter);
                let (fast, scalar) = fast_and_scalar(&tokenizer, &text);
                prop_assert_eq!(fast, scalar);
            }
        }
    }

    #[test]
    fn swar_helpers_are_exact_for_every_byte() {
        for byte in 0..=255u8 {
            let word = splat(byte);
            for n in 1..=0x80u8 {
                let expected = (byte & 0x7f) >= n;
                assert_eq!(
                    at_least(word & LOW7, n) == HIGH,
                    expected,
                    "{byte:#x} >= {n:#x}"
                );
            }
            for other in [0u8, b'\'', b'_', 0x80, 0xff] {
                assert_eq!(equal(word, other) == HIGH, byte == other);
            }
        }
        assert_eq!(gather(0x8000_0000_0000_0080), 0b1000_0001);
        assert_eq!(gather(HIGH), 0xff);
    }

    fn tokens(splitter: Splitter, lowercase: bool, text: &[u8]) -> Vec<String> {
        let tokenizer = Tokenizer::new(splitter, lowercase, b'\n');
        let mut block = text.to_vec();
        let mut out = Vec::new();
        tokenizer.for_each_token(&mut block, &mut Vec::new(), |t| {
            out.push(String::from_utf8_lossy(t).into_owned())
        });
        out
    }

    #[test]
    fn words_keep_inner_apostrophes_only() {
        let got = tokens(
            Splitter::Words,
            true,
            "Don't 'tis dogs' a''b o\u{2019}clock rock'n'roll x_y 3.14".as_bytes(),
        );
        assert_eq!(
            got,
            [
                "don't",
                "tis",
                "dogs",
                "a",
                "b",
                "o\u{2019}clock",
                "rock'n'roll",
                "x_y",
                "3",
                "14"
            ]
        );
    }

    #[test]
    fn words_are_unicode_and_lowercased_fully() {
        let got = tokens(
            Splitter::Words,
            true,
            "ΟΔΟΣ Straße CAFÉ café cafe\u{301} İ 東京 ١٢٣".as_bytes(),
        );
        assert_eq!(
            got,
            [
                "\u{3bf}\u{3b4}\u{3bf}\u{3c2}",
                "straße",
                "café",
                "café",
                "cafe\u{301}",
                "i\u{307}",
                "東京",
                "١٢٣"
            ]
        );
    }

    #[test]
    fn whitespace_split_keeps_punctuation_and_splits_on_unicode_space() {
        let got = tokens(
            Splitter::Whitespace,
            true,
            "Hello, World!\u{a0}x\u{2003}y\x0bz\r\n".as_bytes(),
        );
        assert_eq!(got, ["hello,", "world!", "x", "y", "z"]);
    }

    #[test]
    fn invalid_utf8_is_kept_inside_the_word_it_touches() {
        let text = b"ab\xffCD \xc3, caf\xe9.";
        assert_eq!(
            tokens(Splitter::Whitespace, true, text),
            ["ab\u{fffd}cd", "\u{fffd},", "caf\u{fffd}."]
        );
        assert_eq!(
            tokens(Splitter::Words, true, text),
            ["ab\u{fffd}cd", "\u{fffd}", "caf\u{fffd}"]
        );
    }

    #[test]
    fn pattern_tokens_come_from_each_record_and_are_never_empty() {
        let regex = Regex::new("[A-Z]*").unwrap();
        let got = tokens(Splitter::Pattern(regex), true, b"aBCd\r\nEF");
        assert_eq!(got, ["bc", "ef"]);
    }

    #[test]
    fn keep_case_keeps_case() {
        assert_eq!(tokens(Splitter::Words, false, b"The THE"), ["The", "THE"]);
    }

    #[test]
    fn lowercase_matches_std_with_invalid_bytes_as_edges() {
        let mut out = Vec::new();
        lowercase_into("ΣΑΣ ΣΑΣα".as_bytes(), &mut out);
        assert_eq!(
            out,
            "\u{3c3}\u{3b1}\u{3c2} \u{3c3}\u{3b1}\u{3c3}\u{3b1}".as_bytes()
        );
        out.clear();
        lowercase_into(b"\xce\xa3\xce\x91\xce\xa3\xff\xce\x91", &mut out);
        assert_eq!(out, b"\xcf\x83\xce\xb1\xcf\x82\xff\xce\xb1");
    }

    #[test]
    fn the_delimiter_always_separates() {
        let tokenizer = Tokenizer::new(Splitter::Whitespace, true, 0);
        let mut block = b"a\0b c\0".to_vec();
        let mut out = Vec::new();
        tokenizer.for_each_token(&mut block, &mut Vec::new(), |t| out.push(t.to_vec()));
        assert_eq!(out, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }
}
