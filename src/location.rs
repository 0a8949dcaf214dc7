//! Places in text for messages: the 1-based line and column of a byte
//! offset, the one rule for every `LINE:COL` rbag prints (input data and
//! pipelines alike). Columns count bytes: input need not be UTF-8, and a
//! byte column is what `cut -b` and an editor's go-to-byte take.

/// A line and a column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub line: u64,
    pub column: u64,
}

impl Place {
    /// The place of byte `offset` of `text`, whose lines end with
    /// `delimiter` (an offset past the end is the end).
    pub fn of(text: &[u8], offset: usize, delimiter: u8) -> Place {
        let before = &text[..offset.min(text.len())];
        let line_start = memchr::memrchr(delimiter, before).map_or(0, |i| i + 1);
        Place {
            line: memchr::memchr_iter(delimiter, before).count() as u64 + 1,
            column: (before.len() - line_start) as u64 + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_bytes_from_one() {
        assert_eq!(Place::of(b"abc", 0, b'\n'), Place { line: 1, column: 1 });
        assert_eq!(Place::of(b"ab\ncd", 4, b'\n'), Place { line: 2, column: 2 });
        // "é" is two bytes: the byte after it is column 3.
        assert_eq!(
            Place::of("é|x".as_bytes(), 2, b'\n'),
            Place { line: 1, column: 3 }
        );
        assert_eq!(Place::of(b"a\0b", 2, 0), Place { line: 2, column: 1 });
        assert_eq!(Place::of(b"ab", 9, b'\n'), Place { line: 1, column: 3 });
    }
}
