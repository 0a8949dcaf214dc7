//! Reading one JSON value from a line, in full or only the part at a path.
//!
//! Both ways check the whole line by the same rules (syntax, UTF-8 in
//! strings, numbers in range, nesting at most [`MAX_DEPTH`] deep), so a
//! line is accepted or rejected alike whatever the pipeline does with it;
//! a pluck only skips building what it does not keep. Errors give the byte
//! offset of the offending byte in the line.

use std::borrow::Cow;

use super::{Number, Object, Value};
use crate::numbers::{json_number_end, json_number_len};

/// How deep arrays and objects may nest.
pub const MAX_DEPTH: usize = 256;

/// One step of a path into a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array element; negative counts from the end.
    Index(i64),
}

/// What is wrong with a line, and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

/// Parse `text` as exactly one JSON value (white space around it allowed).
///
/// # Errors
/// The first problem in the line.
pub fn parse(text: &[u8]) -> Result<Value, ParseError> {
    let mut parser = Parser::new(text)?;
    let value = parser.value()?;
    parser.end()?;
    Ok(value)
}

/// Check `text` as [`parse`] does and return only the value at `steps`
/// (`None` when the path is missing), building nothing else.
///
/// # Errors
/// As [`parse`].
pub fn pluck(text: &[u8], steps: &[Step]) -> Result<Option<Value>, ParseError> {
    let mut parser = Parser::new(text)?;
    let found = parser.find(steps)?;
    parser.end()?;
    Ok(found)
}

/// Parse the JSON value at the start of `text`; returns it and the number
/// of bytes it used (for literals inside a pipeline).
///
/// # Errors
/// As [`parse`].
pub fn parse_prefix(text: &[u8]) -> Result<(Value, usize), ParseError> {
    let mut parser = Parser::new(text)?;
    let value = parser.value()?;
    Ok((value, parser.at))
}

struct Parser<'a> {
    /// The line, checked to be UTF-8 once, so that strings are slices of
    /// it without a check per string.
    source: &'a str,
    text: &'a [u8],
    at: usize,
    depth: usize,
}

type Parsed<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    /// A parser for a line, which must be UTF-8 (as JSON must).
    fn new(text: &'a [u8]) -> Parsed<Parser<'a>> {
        // SIMD validation: a std-compatible position, several times faster
        // than std on text that is not ASCII.
        let source = simdutf8::compat::from_utf8(text).map_err(|e| ParseError {
            at: e.valid_up_to(),
            message: "invalid UTF-8".into(),
        })?;
        Ok(Parser {
            source,
            text,
            at: 0,
            depth: 0,
        })
    }

    fn fail<T>(&self, at: usize, message: impl Into<String>) -> Parsed<T> {
        Err(ParseError {
            at,
            message: message.into(),
        })
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.text.get(self.at).copied()
    }

    /// Only white space may follow the value.
    fn end(&mut self) -> Parsed<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail(
                self.at,
                format!("unexpected {} after the JSON value", self.describe(self.at)),
            ),
        }
    }

    /// What is at `at`, for messages.
    fn describe(&self, at: usize) -> String {
        let rest = &self.text[at.min(self.text.len())..];
        match rest.first() {
            None => "the end of the line".into(),
            Some(b) if b.is_ascii_alphabetic() => {
                let word: Vec<u8> = rest
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .take(20)
                    .copied()
                    .collect();
                format!("'{}'", String::from_utf8_lossy(&word))
            }
            Some(b) if b.is_ascii_graphic() => format!("'{}'", char::from(*b)),
            Some(b) => format!("byte 0x{b:02x}"),
        }
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(self.at, format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn expect_value(&mut self) -> Parsed<u8> {
        match self.peek() {
            Some(b) => Ok(b),
            None => self.fail(self.at, "expected a value, found the end of the line"),
        }
    }

    fn value(&mut self) -> Parsed<Value> {
        match self.expect_value()? {
            b'{' => {
                self.enter()?;
                self.at += 1;
                let mut members = Vec::new();
                if self.peek() != Some(b'}') {
                    loop {
                        let key = self.key()?;
                        let value = self.value()?;
                        members.push((key.into_owned(), value));
                        if self.next_member(b'}')? {
                            break;
                        }
                    }
                }
                self.at += 1;
                self.depth -= 1;
                Ok(Value::Object(Object::from_members(members)))
            }
            b'[' => {
                self.enter()?;
                self.at += 1;
                let mut items = Vec::new();
                if self.peek() != Some(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.next_member(b']')? {
                            break;
                        }
                    }
                }
                self.at += 1;
                self.depth -= 1;
                Ok(Value::Array(items))
            }
            b'"' => Ok(Value::String(self.string()?.into_owned())),
            b'-' | b'0'..=b'9' => {
                let (start, end) = self.number_span()?;
                // The span is ASCII digits and signs: always UTF-8.
                let text = std::str::from_utf8(&self.text[start..end]).unwrap_or("0");
                match Number::from_json_text(text) {
                    Ok(n) => Ok(Value::Number(n)),
                    Err(_) => self.out_of_range(start),
                }
            }
            _ => self.literal(),
        }
    }

    fn out_of_range<T>(&self, at: usize) -> Parsed<T> {
        self.fail(at, "number out of range (beyond ±1.8e308)")
    }

    /// A key and its colon.
    fn key(&mut self) -> Parsed<Cow<'a, str>> {
        self.scan_key::<true>()
    }

    /// Whether the key at the cursor is `wanted`; the cursor moves past
    /// its colon. A plain key (no escapes, a colon after it) is compared
    /// where it lies, which is most keys; any other takes [`Parser::key`].
    fn key_is(&mut self, wanted: &str) -> Parsed<bool> {
        self.skip_ws();
        let open = self.at;
        if self.text.get(open) == Some(&b'"') {
            let body = &self.text[open + 1..];
            if let Some(len) = find_special(body).filter(|&len| body[len] == b'"') {
                self.at = open + 1 + len + 1;
                if self.peek() == Some(b':') {
                    self.at += 1;
                    return Ok(&body[..len] == wanted.as_bytes());
                }
                self.at = open;
            }
        }
        Ok(self.key()? == wanted)
    }

    /// A key and its colon, checked but not built.
    fn skip_key(&mut self) -> Parsed<()> {
        self.scan_key::<false>().map(drop)
    }

    fn scan_key<const BUILD: bool>(&mut self) -> Parsed<Cow<'a, str>> {
        match self.peek() {
            Some(b'"') => {}
            Some(b'}') => return self.fail(self.at, "trailing comma"),
            _ => {
                return self.fail(
                    self.at,
                    format!("expected a string key, found {}", self.describe(self.at)),
                );
            }
        }
        let key = self.scan_string::<BUILD>()?;
        match self.peek() {
            Some(b':') => {
                self.at += 1;
                Ok(key)
            }
            _ => self.fail(
                self.at,
                format!(
                    "expected ':' after the key, found {}",
                    self.describe(self.at)
                ),
            ),
        }
    }

    /// After a member of an array or object: a comma and another member
    /// (false), or the closing byte (true, not consumed).
    fn next_member(&mut self, close: u8) -> Parsed<bool> {
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                if close == b']' && self.peek() == Some(b']') {
                    return self.fail(self.at, "trailing comma");
                }
                Ok(false)
            }
            Some(b) if b == close => Ok(true),
            _ => {
                let what = if close == b'}' { "object" } else { "array" };
                self.fail(
                    self.at,
                    format!(
                        "expected ',' or '{}' in the {what}, found {}",
                        char::from(close),
                        self.describe(self.at)
                    ),
                )
            }
        }
    }

    fn literal(&mut self) -> Parsed<Value> {
        let rest = &self.text[self.at..];
        let (value, len) = if rest.starts_with(b"true") {
            (Value::Bool(true), 4)
        } else if rest.starts_with(b"false") {
            (Value::Bool(false), 5)
        } else if rest.starts_with(b"null") {
            (Value::Null, 4)
        } else {
            let hint = if rest.first() == Some(&b'\'') {
                " (strings take double quotes)"
            } else {
                ""
            };
            return self.fail(
                self.at,
                format!("expected a value, found {}{hint}", self.describe(self.at)),
            );
        };
        // `nullx` is not `null` followed by junk but one bad word.
        if rest.get(len).is_some_and(|b| b.is_ascii_alphanumeric()) {
            return self.fail(
                self.at,
                format!("expected a value, found {}", self.describe(self.at)),
            );
        }
        self.at += len;
        Ok(value)
    }

    /// The span of the number at the cursor, checked for syntax.
    fn number_span(&mut self) -> Parsed<(usize, usize)> {
        let start = self.at;
        let rest = &self.text[start..];
        match json_number_len(rest) {
            Some(len) => {
                // `01` is not a number followed by `1`: say what it is.
                let digits = &rest[usize::from(rest[0] == b'-')..];
                if digits.len() > 1 && digits[0] == b'0' && digits[1].is_ascii_digit() {
                    return self.fail(start, "invalid number: leading zero");
                }
                self.at = start + len;
                Ok((start, start + len))
            }
            None => self.fail(start, "invalid number"),
        }
    }

    /// A string at the cursor (which is at its `"`): borrowed when it has
    /// no escapes.
    fn string(&mut self) -> Parsed<Cow<'a, str>> {
        self.scan_string::<true>()
    }

    /// Check the string at the cursor without building it: a string with
    /// escapes that is skipped need not be unescaped into a new one (a
    /// fifth of the lines of a typical export escape all non-ASCII text).
    fn skip_string(&mut self) -> Parsed<()> {
        self.scan_string::<false>().map(drop)
    }

    /// The string at the cursor, built only when `BUILD` (otherwise the
    /// result is empty, but every escape is checked just the same).
    fn scan_string<const BUILD: bool>(&mut self) -> Parsed<Cow<'a, str>> {
        let open = self.at;
        self.at += 1;
        let mut owned: Option<String> = None;
        let mut plain_from = self.at;
        loop {
            let Some(run) = find_special(&self.text[self.at..]) else {
                return self.fail(open, "unterminated string");
            };
            self.at += run;
            match self.text[self.at] {
                b'"' => {
                    // Quotes and backslashes are ASCII, so the pieces
                    // between them are whole characters of the line.
                    let tail = &self.source[plain_from..self.at];
                    self.at += 1;
                    if !BUILD {
                        return Ok(Cow::Borrowed(""));
                    }
                    return Ok(match owned {
                        None => Cow::Borrowed(tail),
                        Some(mut text) => {
                            text.push_str(tail);
                            Cow::Owned(text)
                        }
                    });
                }
                b'\\' if !BUILD => {
                    self.escape()?;
                }
                b'\\' => {
                    let text = owned.get_or_insert_with(String::new);
                    text.push_str(&self.source[plain_from..self.at]);
                    let ch = self.escape()?;
                    text.push(ch);
                    plain_from = self.at;
                }
                control => {
                    return self.fail(
                        self.at,
                        format!(
                            "control character U+{control:04X} in a string (write it as an escape such as \\n)"
                        ),
                    );
                }
            }
        }
    }

    /// An escape at the cursor (at its backslash); the cursor moves past it.
    fn escape(&mut self) -> Parsed<char> {
        let at = self.at;
        let ch = match self.text.get(at + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let first = self.hex4(at)?;
                self.at = at + 6;
                let code = if (0xd800..0xdc00).contains(&first) {
                    // A high surrogate needs a low one right after it.
                    let low = if self.text[self.at..].starts_with(b"\\u") {
                        Some(self.hex4(self.at)?)
                    } else {
                        None
                    };
                    match low {
                        Some(low @ 0xdc00..0xe000) => {
                            self.at += 6;
                            0x10000 + ((first - 0xd800) << 10) + (low - 0xdc00)
                        }
                        _ => {
                            return self
                                .fail(at, format!("lone surrogate \\u{first:04x} in a string"));
                        }
                    }
                } else if (0xdc00..0xe000).contains(&first) {
                    return self.fail(at, format!("lone surrogate \\u{first:04x} in a string"));
                } else {
                    first
                };
                return char::from_u32(code)
                    .map_or_else(|| self.fail(at, "invalid \\u escape"), Ok);
            }
            Some(_) => {
                let shown = self.describe(at + 1);
                return self.fail(at, format!("invalid escape: a backslash before {shown}"));
            }
            None => return self.fail(at, "unterminated string"),
        };
        self.at = at + 2;
        Ok(ch)
    }

    /// The four hex digits of `\uXXXX` starting at `at` (the backslash).
    fn hex4(&self, at: usize) -> Parsed<u32> {
        let value = self.text.get(at + 2..at + 6).and_then(hex4_value);
        match value {
            Some(v) => Ok(v),
            None => self.fail(at, "invalid \\u escape (four hex digits must follow \\u)"),
        }
    }

    /// Check the value at the cursor without building it.
    fn skip(&mut self) -> Parsed<()> {
        if self.skip_fast() {
            return Ok(());
        }
        self.skip_slow()
    }

    /// Skip the value at the cursor in one loop, without the recursion and
    /// error bookkeeping of [`Parser::skip_slow`] (which was most of the
    /// time of a pluck). It accepts only what the careful way accepts; on
    /// anything else, or anything unusual (a surrogate escape, deep
    /// nesting, a number near the limits of doubles), it gives up, leaves
    /// the cursor where it was and returns false, and the careful way
    /// finds the error. So a bad line costs at most two passes.
    fn skip_fast(&mut self) -> bool {
        /// Levels the bit stack holds; deeper values take the careful way.
        const STACK_BITS: usize = 64;
        let text = self.text;
        let ws = |mut at: usize| {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = text.get(at) {
                at += 1;
            }
            at
        };
        // The end of the string whose `"` is at `at`.
        let string = |mut at: usize| -> Option<usize> {
            at += 1;
            loop {
                at += find_special(&text[at..])?;
                match text[at] {
                    b'"' => return Some(at + 1),
                    b'\\' => match text.get(at + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                        b'u' => {
                            let code = hex4_value(text.get(at + 2..at + 6)?)?;
                            // Surrogates take the careful way.
                            if (0xd800..0xe000).contains(&code) {
                                return None;
                            }
                            at += 6;
                        }
                        _ => return None,
                    },
                    _ => return None,
                }
            }
        };
        // A key, its colon and the white space after it, from `at`.
        let key = |at: usize| -> Option<usize> {
            let at = ws(at);
            if text.get(at) != Some(&b'"') {
                return None;
            }
            let at = ws(string(at)?);
            (text.get(at) == Some(&b':')).then(|| ws(at + 1))
        };
        // Where the value of a member starting at `at` starts: after its
        // key in an object.
        let member = |at: usize, object: bool| if object { key(at) } else { Some(at) };
        let room = MAX_DEPTH.saturating_sub(self.depth).min(STACK_BITS);
        // Bit `depth - 1` is set when the container at that depth is an
        // object.
        let mut objects: u64 = 0;
        let mut depth = 0usize;
        let mut at = ws(self.at);
        let end = 'value: loop {
            // A value starts at `at`.
            let Some(&first) = text.get(at) else {
                return false;
            };
            match first {
                b'"' => match string(at) {
                    Some(next) => at = next,
                    None => return false,
                },
                b'{' | b'[' => {
                    if depth == room {
                        return false;
                    }
                    let object = first == b'{';
                    objects = objects & !(1 << depth) | u64::from(object) << depth;
                    depth += 1;
                    at = ws(at + 1);
                    let close = if object { b'}' } else { b']' };
                    if text.get(at) == Some(&close) {
                        depth -= 1;
                        at += 1;
                    } else {
                        let Some(next) = member(at, object) else {
                            return false;
                        };
                        at = next;
                        continue 'value;
                    }
                }
                b'-' | b'0'..=b'9' => {
                    let rest = &text[at..];
                    let Some((len, exponent)) = json_number_end(rest) else {
                        return false;
                    };
                    let digits = &rest[usize::from(first == b'-')..];
                    // Without an exponent, only a number of more than 300
                    // digits can be out of range.
                    if digits.len() > 1 && digits[0] == b'0' && digits[1].is_ascii_digit()
                        || (exponent || len > 300) && !surely_in_range(&rest[..len])
                    {
                        return false;
                    }
                    at += len;
                }
                _ => {
                    let rest = &text[at..];
                    let len = if rest.starts_with(b"true") || rest.starts_with(b"null") {
                        4
                    } else if rest.starts_with(b"false") {
                        5
                    } else {
                        return false;
                    };
                    if rest.get(len).is_some_and(u8::is_ascii_alphanumeric) {
                        return false;
                    }
                    at += len;
                }
            }
            // A value ended at `at`: close containers, or go on to the next
            // member.
            loop {
                if depth == 0 {
                    break 'value at;
                }
                at = ws(at);
                let object = objects >> (depth - 1) & 1 == 1;
                match text.get(at) {
                    Some(b',') => {
                        // (`[1,]` fails at the `]`, which starts no value.)
                        let Some(next) = member(ws(at + 1), object) else {
                            return false;
                        };
                        at = next;
                        continue 'value;
                    }
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    _ => return false,
                }
                depth -= 1;
                at += 1;
            }
        };
        self.at = end;
        true
    }

    /// Check the value at the cursor without building it, the careful
    /// way: each part of it is checked where its error would be reported.
    fn skip_slow(&mut self) -> Parsed<()> {
        match self.expect_value()? {
            b'{' => {
                self.enter()?;
                self.at += 1;
                if self.peek() != Some(b'}') {
                    loop {
                        self.skip_key()?;
                        self.skip_slow()?;
                        if self.next_member(b'}')? {
                            break;
                        }
                    }
                }
                self.at += 1;
                self.depth -= 1;
            }
            b'[' => {
                self.enter()?;
                self.at += 1;
                if self.peek() != Some(b']') {
                    loop {
                        self.skip_slow()?;
                        if self.next_member(b']')? {
                            break;
                        }
                    }
                }
                self.at += 1;
                self.depth -= 1;
            }
            b'"' => self.skip_string()?,
            b'-' | b'0'..=b'9' => {
                let (start, end) = self.number_span()?;
                if !surely_in_range(&self.text[start..end]) {
                    let text = std::str::from_utf8(&self.text[start..end]).unwrap_or("0");
                    if Number::from_json_text(text).is_err() {
                        return self.out_of_range(start);
                    }
                }
            }
            _ => {
                self.literal()?;
            }
        }
        Ok(())
    }

    /// The value at `steps` from the value at the cursor, checking the rest.
    fn find(&mut self, steps: &[Step]) -> Parsed<Option<Value>> {
        let Some((step, rest)) = steps.split_first() else {
            return self.value().map(Some);
        };
        let mut found = None;
        match (self.expect_value()?, step) {
            (b'{', Step::Key(wanted)) => {
                self.enter()?;
                self.at += 1;
                if self.peek() != Some(b'}') {
                    loop {
                        if self.key_is(wanted)? {
                            // Of duplicate keys the last one wins, as in
                            // a full parse.
                            found = self.find(rest)?;
                        } else {
                            self.skip()?;
                        }
                        if self.next_member(b'}')? {
                            break;
                        }
                    }
                }
                self.at += 1;
                self.depth -= 1;
            }
            (b'[', Step::Index(wanted)) => {
                self.enter()?;
                self.at += 1;
                // Counting from the end needs the length: note where each
                // element starts, and come back for the one wanted.
                let mut starts = Vec::new();
                let mut index = 0i64;
                if self.peek() != Some(b']') {
                    loop {
                        self.skip_ws();
                        if *wanted < 0 {
                            starts.push(self.at);
                            self.skip()?;
                        } else if index == *wanted {
                            found = self.find(rest)?;
                        } else {
                            self.skip()?;
                        }
                        index += 1;
                        if self.next_member(b']')? {
                            break;
                        }
                    }
                }
                if *wanted < 0 {
                    let chosen = usize::try_from(starts.len() as i64 + wanted).ok();
                    if let Some(&start) = chosen.and_then(|i| starts.get(i)) {
                        let resume = self.at;
                        self.at = start;
                        found = self.find(rest)?;
                        self.at = resume;
                    }
                }
                self.at += 1;
                self.depth -= 1;
            }
            // A scalar, or a container of the other kind: no such member.
            _ => self.skip()?,
        }
        Ok(found)
    }
}

/// The value of four hex digits.
fn hex4_value(digits: &[u8]) -> Option<u32> {
    let [a, b, c, d] = [0, 1, 2, 3].map(|i| HEX_DIGIT[usize::from(digits[i])]);
    // A byte that is no hex digit has its high bit set.
    ((a | b | c | d) < 0x10)
        .then(|| u32::from(a) << 12 | u32::from(b) << 8 | u32::from(c) << 4 | u32::from(d))
}

/// The value of each byte as a hex digit, or 0xff for a byte that is not
/// one.
const HEX_DIGIT: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            d @ b'0'..=b'9' => d - b'0',
            d @ b'a'..=b'f' => d - b'a' + 10,
            d @ b'A'..=b'F' => d - b'A' + 10,
            _ => 0xff,
        };
        b += 1;
    }
    table
};

/// The index of the first `"`, `\` or control byte (below 0x20) in
/// `bytes`, looking at eight bytes at a time: for each word, the high bit
/// of a byte is set where the byte is one of them. A borrow can set it
/// falsely, but only in a byte after a true one, so the first is exact.
fn find_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x;
    let mut chunks = bytes.chunks_exact(8);
    for (i, c) in chunks.by_ref().enumerate() {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let quote = zero_byte(x ^ (ONES * u64::from(b'"')));
        let backslash = zero_byte(x ^ (ONES * u64::from(b'\\')));
        let control = x.wrapping_sub(ONES * 0x20) & !x;
        let found = (quote | backslash | control) & HIGH;
        if found != 0 {
            return Some(i * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let done = bytes.len() - chunks.remainder().len();
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| done + p)
}

/// Whether a number in JSON syntax is surely within the range of doubles
/// without parsing it: an integer (any size is fine) or a float whose
/// decimal exponent is far from the limits.
fn surely_in_range(text: &[u8]) -> bool {
    // Most numbers are short and have no exponent: one pass decides.
    if text.len() <= 300 && !text.iter().any(|&b| b | 0x20 == b'e') {
        return true;
    }
    let mantissa_end = text
        .iter()
        .position(|b| matches!(b, b'e' | b'E'))
        .unwrap_or(text.len());
    let integer_digits = text[..mantissa_end]
        .iter()
        .take_while(|b| **b != b'.')
        .filter(|b| b.is_ascii_digit())
        .count() as i64;
    let exponent = if mantissa_end == text.len() {
        0
    } else {
        match std::str::from_utf8(&text[mantissa_end + 1..])
            .ok()
            .and_then(|e| e.parse::<i64>().ok())
        {
            Some(e) if e.abs() < 100_000 => e,
            _ => return false,
        }
    };
    integer_digits + exponent <= 300
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(text: &str) -> (usize, String) {
        let e = parse(text.as_bytes()).unwrap_err();
        (e.at + 1, e.message)
    }

    fn path(steps: &[&str]) -> Vec<Step> {
        steps
            .iter()
            .map(|s| match s.parse::<i64>() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::Key((*s).to_owned()),
            })
            .collect()
    }

    #[test]
    fn values_parse() {
        let v = parse(
            br#" {"a": [1, -2.5e3, "x\u00e9\n", true, false, null, {}], "b": "\ud83d\ude00"} "#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(v.to_canonical()).unwrap(),
            "{\"a\":[1,-2500.0,\"xé\\n\",true,false,null,{}],\"b\":\"😀\"}"
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(err(r#"{"a": 3,}"#), (9, "trailing comma".into()));
        assert_eq!(err("[1,]"), (4, "trailing comma".into()));
        assert_eq!(
            err("not json at all"),
            (1, "expected a value, found 'not'".into())
        );
        assert_eq!(
            err(r#"{"a" 1}"#),
            (6, "expected ':' after the key, found '1'".into())
        );
        assert_eq!(
            err(r#"{"a": 1"#),
            (
                8,
                "expected ',' or '}' in the object, found the end of the line".into()
            )
        );
        assert_eq!(
            err(r#"{a: 1}"#),
            (2, "expected a string key, found 'a'".into())
        );
        assert_eq!(
            err("[1 2]"),
            (4, "expected ',' or ']' in the array, found '2'".into())
        );
        assert_eq!(err("\"abc"), (1, "unterminated string".into()));
        assert_eq!(
            err("\"a\tb\""),
            (
                3,
                "control character U+0009 in a string (write it as an escape such as \\n)".into()
            )
        );
        assert_eq!(
            err(r#""\x""#),
            (2, "invalid escape: a backslash before 'x'".into())
        );
        assert_eq!(
            err(r#""\ud800""#),
            (2, "lone surrogate \\ud800 in a string".into())
        );
        assert_eq!(err("01"), (1, "invalid number: leading zero".into()));
        assert_eq!(err("1."), (1, "invalid number".into()));
        assert_eq!(err("-"), (1, "invalid number".into()));
        assert_eq!(
            err("1e400"),
            (1, "number out of range (beyond ±1.8e308)".into())
        );
        assert_eq!(err("nul"), (1, "expected a value, found 'nul'".into()));
        assert_eq!(err("nullx"), (1, "expected a value, found 'nullx'".into()));
        assert_eq!(
            err("'a'"),
            (
                1,
                "expected a value, found ''' (strings take double quotes)".into()
            )
        );
        assert_eq!(
            err("1 2"),
            (3, "unexpected '2' after the JSON value".into())
        );
        assert_eq!(
            err(""),
            (1, "expected a value, found the end of the line".into())
        );
        assert_eq!(err("\u{feff}1").1, "expected a value, found byte 0xef");
        let e = parse(b"\"a\xffb\"").unwrap_err();
        assert_eq!((e.at, e.message.as_str()), (2, "invalid UTF-8"));
    }

    #[test]
    fn special_bytes_are_found_eight_at_a_time() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let mut text: Vec<u8> = (0x20..0x7f).filter(|&c| c != b'"' && c != b'\\').collect();
        text.extend("é€😀".as_bytes());
        assert_eq!(find_special(&text), None);
        for special in [b'"', b'\\', 0, 0x1f, b'\n'] {
            for at in 0..text.len() {
                let mut t = text.clone();
                t[at] = special;
                // A control byte right before another one, too.
                if at > 0 {
                    t[at - 1] = 0x1f;
                }
                assert_eq!(find_special(&t), naive(&t), "{special} at {at}");
            }
        }
    }

    #[test]
    fn nesting_has_one_limit_for_every_way_of_reading() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(ok.as_bytes()).is_ok());
        let full = parse(deep.as_bytes()).unwrap_err();
        let lazy = pluck(deep.as_bytes(), &path(&["0"])).unwrap_err();
        let skipped = pluck(
            format!("{{\"a\":1,\"b\":{deep}}}").as_bytes(),
            &path(&["a"]),
        )
        .unwrap_err();
        assert_eq!(
            full.message,
            format!("nested deeper than {MAX_DEPTH} levels")
        );
        assert_eq!(lazy, full);
        assert_eq!(skipped.message, full.message);
        // A value skipped near the limit counts the levels above it.
        let near = "[".repeat(MAX_DEPTH - 2) + "1,[[[[1]]]]" + &"]".repeat(MAX_DEPTH - 2);
        let steps = vec!["0"; MAX_DEPTH - 2];
        let skipped_near = pluck(near.as_bytes(), &path(&steps)).unwrap_err();
        assert_eq!(skipped_near, parse(near.as_bytes()).unwrap_err());
    }

    #[test]
    fn a_number_out_of_range_fails_every_way() {
        let line = br#"{"a": 1e400, "b": 1}"#;
        assert!(parse(line).is_err());
        assert!(pluck(line, &path(&["b"])).is_err());
        assert!(pluck(line, &path(&["a"])).is_err());
        assert!(pluck(br#"{"a": 1e-400, "b": 1}"#, &path(&["b"])).is_ok());
        assert!(pluck(br#"{"a": 0e99999999999999999999, "b": 1}"#, &path(&["b"])).is_ok());
        assert!(pluck(br#"{"a": 1e99999999999999999999, "b": 1}"#, &path(&["b"])).is_err());
        let over = format!("{{\"a\": 2{}.0, \"b\": 1}}", "0".repeat(308));
        assert!(pluck(over.as_bytes(), &path(&["b"])).is_err());
        let under = format!("{{\"a\": 1{}.0, \"b\": 1}}", "0".repeat(307));
        assert!(pluck(under.as_bytes(), &path(&["b"])).is_ok());
    }

    #[test]
    fn pluck_agrees_with_a_full_parse() {
        let records = [
            r#"{"a": {"b": [10, 20, {"c": "x"}]}, "z": "\u00e9\n"}"#,
            r#"{"a": 1, "a": {"b": [1]}}"#,
            r#"{"a": {"b": [1]}, "a": 2}"#,
            r#"[{"a": {"b": [5, 6]}}]"#,
            r#"{"a": {"b": "scalar"}}"#,
            r#""just a string""#,
            r#"{"a\u0062": 1, "ab": 2}"#,
            "null",
            r#"{"a": {"b": []}}"#,
        ];
        let paths: [&[&str]; 10] = [
            &[],
            &["a"],
            &["a", "b"],
            &["a", "b", "1"],
            &["a", "b", "-1"],
            &["a", "b", "2", "c"],
            &["0", "a", "b", "1"],
            &["ab"],
            &["z"],
            &["a", "b", "-9"],
        ];
        for steps in paths {
            let steps = path(steps);
            for record in records {
                let full = parse(record.as_bytes()).unwrap();
                let expected = lookup(&full, &steps);
                assert_eq!(
                    pluck(record.as_bytes(), &steps).unwrap().as_ref(),
                    expected,
                    "{steps:?} in {record}"
                );
            }
        }
    }

    fn lookup<'v>(value: &'v Value, steps: &[Step]) -> Option<&'v Value> {
        let mut current = value;
        for step in steps {
            current = match (step, current) {
                (Step::Key(k), Value::Object(o)) => o.get(k)?,
                (Step::Index(i), Value::Array(items)) => {
                    let i = if *i < 0 { items.len() as i64 + i } else { *i };
                    items.get(usize::try_from(i).ok()?)?
                }
                _ => return None,
            };
        }
        Some(current)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// The fast skip is only a shortcut: where it ends a value, or
        /// hands over to the careful skip, the result is the careful one.
        #[test]
        fn the_fast_skip_ends_or_fails_exactly_as_the_careful_one(
            pieces in proptest::collection::vec(prop_oneof![
                Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just(":"), Just(" "),
                Just("\"a\""), Just("\"\\u00e9\""), Just("\"\\ud83d\\ude00\""), Just("\"\\ud83d\""),
                Just("\"\\udc00\""), Just("\"\\u00g0\""), Just("\"\\u000g\""), Just("\"\\ug000\""),
                Just("\"\\q\""), Just("\"\\\""), Just("\"\\/\\b\\f\\n\\r\\t\""), Just("\"\t\""),
                Just("\"\\u12"), Just("1"), Just("-0.5e3"), Just("01"), Just("-01"), Just("0"),
                Just("1e400"), Just("1."), Just("-"), Just("true"), Just("nul"), Just("null"),
                Just("nullx"), Just("false"), Just("truex"), Just("\n"), Just("{\"k\":"),
            ], 0..24),
        ) {
            let text = pieces.concat();
            let mut fast = Parser::new(text.as_bytes()).unwrap();
            let mut careful = Parser::new(text.as_bytes()).unwrap();
            let fast_end = fast.skip().map(|()| fast.at);
            let careful_end = careful.skip_slow().map(|()| careful.at);
            prop_assert_eq!(fast_end, careful_end, "{}", text);
        }

        /// serde_json is the reference for which lines are JSON: the two
        /// parsers agree on every line (up to numbers serde_json reads
        /// differently: big integers and the range of floats).
        #[test]
        fn accepts_exactly_what_serde_json_accepts(
            pieces in proptest::collection::vec(prop_oneof![
                Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just(":"), Just(" "),
                Just("\"a\""), Just("\"\\u00e9\""), Just("\"\\ud83d\\ude00\""), Just("\"\\q\""),
                Just("1"), Just("-0.5e3"), Just("01"), Just("true"), Just("nul"), Just("null"),
                Just("\"\t\""), Just("1."), Just("-"), Just("\"\\ud83d\""),
                Just("\"\\u00g0\""), Just("\"\\\""), Just("\"\\u00E9\\uD83D\\uDE00\""),
            ], 0..14),
        ) {
            let text = pieces.concat();
            let ours = parse(text.as_bytes());
            let theirs = serde_json::from_str::<serde_json::Value>(&text);
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{}: {:?}", text, ours);
            // A pluck that finds nothing checks every value it skips.
            let skipped = pluck(text.as_bytes(), &path(&["zz"]));
            prop_assert_eq!(skipped.is_ok(), theirs.is_ok(), "{}: {:?}", text, skipped);
        }

        #[test]
        fn canonical_text_parses_back_to_the_same_value(
            pieces in proptest::collection::vec(prop_oneof![
                Just("{\"k\":"), Just("}"), Just("["), Just("]"), Just(","),
                Just("\"a\\\"b\\\\\""), Just("123456789012345678901234567890"), Just("-0.1"),
                Just("1e-320"), Just("true"), Just("null"), Just("\"\\u0001\""),
            ], 0..14),
        ) {
            let text = pieces.concat();
            if let Ok(value) = parse(text.as_bytes()) {
                let canonical = value.to_canonical();
                prop_assert_eq!(parse(&canonical).unwrap(), value);
            }
        }
    }
}
