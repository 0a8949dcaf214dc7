//! Records within a block: lines (or NUL-terminated records), each with its
//! offset in the block. The delimiter ends a record and is not part of it;
//! one trailing `\r` before a newline is dropped unless kept on request; a
//! last record without a delimiter is still a record; a UTF-8 byte order
//! mark at the very start of a source is not part of its first record.

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xef\xbb\xbf";

/// One record of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Offset of the record's first byte in the block.
    pub start: usize,
    pub bytes: &'a [u8],
}

/// The records of a block, in order.
pub struct Records<'a> {
    data: &'a [u8],
    at: usize,
    delimiter: u8,
    strip_cr: bool,
}

impl<'a> Records<'a> {
    /// Records of `data` ending in `delimiter`; `keep_cr` keeps a `\r`
    /// before a newline as part of the record; `source_start` says the data
    /// starts its source (where a byte order mark is skipped).
    pub fn new(data: &'a [u8], delimiter: u8, keep_cr: bool, source_start: bool) -> Records<'a> {
        let bom = source_start && data.starts_with(BOM);
        Records {
            data,
            at: if bom { BOM.len() } else { 0 },
            delimiter,
            strip_cr: delimiter == b'\n' && !keep_cr,
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.at >= self.data.len() {
            return None;
        }
        let start = self.at;
        let rest = &self.data[start..];
        let (mut bytes, used) = match memchr::memchr(self.delimiter, rest) {
            Some(end) => (&rest[..end], end + 1),
            None => (rest, rest.len()),
        };
        if self.strip_cr {
            bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        }
        self.at += used;
        Some(Record { start, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(data: &[u8], delimiter: u8, keep_cr: bool) -> Vec<&[u8]> {
        Records::new(data, delimiter, keep_cr, true)
            .map(|r| r.bytes)
            .collect()
    }

    #[test]
    fn lines_lose_their_newline_and_one_carriage_return() {
        assert_eq!(
            records(b"a\r\n\nb\r\r\nc", b'\n', false),
            [&b"a"[..], b"", b"b\r", b"c"]
        );
        assert_eq!(records(b"a\r\n", b'\n', true), [&b"a\r"[..]]);
        assert!(records(b"", b'\n', false).is_empty());
    }

    #[test]
    fn a_byte_order_mark_starts_no_record() {
        assert_eq!(
            records(b"\xef\xbb\xbfa\nb", b'\n', false),
            [&b"a"[..], b"b"]
        );
        assert_eq!(records(b"\xef\xbb\xbf", b'\n', false), Vec::<&[u8]>::new());
        let inner: Vec<_> = Records::new(b"\xef\xbb\xbfa", b'\n', false, false)
            .map(|r| r.bytes)
            .collect();
        assert_eq!(inner, [&b"\xef\xbb\xbfa"[..]]);
    }

    #[test]
    fn nul_records_keep_newlines_and_carriage_returns() {
        assert_eq!(records(b"a\r\nb\0c\0", 0, false), [&b"a\r\nb"[..], b"c"]);
    }

    #[test]
    fn records_know_where_they_start() {
        let starts: Vec<_> = Records::new(b"ab\ncd\n", b'\n', false, false)
            .map(|r| r.start)
            .collect();
        assert_eq!(starts, [0, 3]);
    }
}
