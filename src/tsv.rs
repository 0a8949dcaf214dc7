//! The one TSV field codec, shared by the output tables and the partial
//! format: `\`, TAB, LF and CR are written as `\\`, `\t`, `\n`, `\r`, so
//! that any bytes round-trip through a field, and nothing else is escaped.

/// Append `field` escaped.
pub(crate) fn write_field(out: &mut Vec<u8>, field: &[u8]) {
    let needs_escape = |b: &u8| matches!(b, b'\\' | b'\t' | b'\n' | b'\r');
    if !field.iter().any(needs_escape) {
        out.extend_from_slice(field);
        return;
    }
    let mut plain_from = 0;
    for (at, byte) in field.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&field[plain_from..at]);
        out.extend_from_slice(escaped);
        plain_from = at + 1;
    }
    out.extend_from_slice(&field[plain_from..]);
}

/// Undo [`write_field`].
///
/// # Errors
/// A backslash followed by anything but `\`, `t`, `n` or `r`: the byte
/// offset of the backslash.
pub(crate) fn read_field(field: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter().enumerate();
    while let Some((at, &byte)) = bytes.next() {
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        match bytes.next() {
            Some((_, b'\\')) => out.push(b'\\'),
            Some((_, b't')) => out.push(b'\t'),
            Some((_, b'n')) => out.push(b'\n'),
            Some((_, b'r')) => out.push(b'\r'),
            _ => return Err(at),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let key = b"a\tb\\c\nd\re";
        let mut field = Vec::new();
        write_field(&mut field, key);
        assert_eq!(field, b"a\\tb\\\\c\\nd\\re");
        assert_eq!(read_field(&field).unwrap(), key);
        assert_eq!(read_field(b"a\\x"), Err(1));
        assert_eq!(read_field(b"a\\"), Err(1));
    }
}
