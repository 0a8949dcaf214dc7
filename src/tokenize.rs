//! Cutting text into words (SPEC section 2) and lowercasing them.
//!
//! The hot loops classify ASCII bytes with a 256-entry table and decode a
//! character only at a non-ASCII byte. Tokens are handed out as slices of
//! the block (after ASCII lowercasing in place) or, only when a token
//! contains non-ASCII text to lowercase, of a reused scratch buffer: nothing
//! is allocated per token.

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
        classes[usize::from(delimiter)] = Class::Separator;
        Tokenizer {
            splitter,
            lowercase,
            delimiter,
            classes,
        }
    }

    /// Call `emit` with every token of `block`, in order. The block may be
    /// changed in place (ASCII lowercasing); `scratch` is reused storage.
    #[inline]
    pub fn for_each_token<F: FnMut(&[u8])>(
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
                    let token = &block[start..end];
                    if non_ascii && lowercase {
                        scratch.clear();
                        lowercase_into(token, scratch);
                        emit(scratch);
                    } else {
                        emit(token);
                    }
                });
            }
            Splitter::Pattern(regex) => {
                for record in block.split(|&b| b == self.delimiter) {
                    let record = record.strip_suffix(b"\r").unwrap_or(record);
                    for found in regex.find_iter(record) {
                        let token = found.as_bytes();
                        if token.is_empty() {
                            continue;
                        }
                        if self.lowercase {
                            scratch.clear();
                            lowercase_into(token, scratch);
                            emit(scratch);
                        } else {
                            emit(token);
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

    /// Run the splitter's scanner, calling `token(start, end, non_ascii)`.
    #[inline(always)]
    fn scan<F: FnMut(usize, usize, bool)>(&self, block: &[u8], mut token: F) {
        if matches!(self.splitter, Splitter::Words) {
            self.words(block, &mut token);
        } else {
            self.whitespace(block, &mut token);
        }
    }

    fn whitespace<F: FnMut(usize, usize, bool)>(&self, block: &[u8], emit: &mut F) {
        let classes = &self.classes;
        let end = block.len();
        let mut at = 0;
        while at < end {
            // Skip separators.
            let start;
            loop {
                match classes[usize::from(block[at])] {
                    Class::Separator => {
                        at += 1;
                        if at == end {
                            return;
                        }
                    }
                    Class::NonAscii => {
                        let (ch, size) = decode_utf8(&block[at..]);
                        if ch.is_some_and(char::is_whitespace) {
                            at += size;
                            if at == end {
                                return;
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
    }

    fn words<F: FnMut(usize, usize, bool)>(&self, block: &[u8], emit: &mut F) {
        let classes = &self.classes;
        let end = block.len();
        let mut at = 0;
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
                        if ch.is_some_and(is_word_char) {
                            start = at;
                            break;
                        }
                        at += size;
                    }
                    _ => at += 1,
                }
                if at == end {
                    return;
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
    }

    /// Is there a word character starting at `at`?
    #[inline]
    fn word_char_at(&self, block: &[u8], at: usize) -> bool {
        match block.get(at) {
            None => false,
            Some(&byte) => match self.classes[usize::from(byte)] {
                Class::Token => true,
                Class::NonAscii => decode_utf8(&block[at..]).0.is_some_and(is_word_char),
                _ => false,
            },
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
    fn invalid_utf8_is_kept_by_whitespace_and_separates_words() {
        let text = b"ab\xffCD \xc3";
        assert_eq!(
            tokens(Splitter::Whitespace, true, text),
            ["ab\u{fffd}cd", "\u{fffd}"]
        );
        assert_eq!(tokens(Splitter::Words, true, text), ["ab", "cd"]);
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
