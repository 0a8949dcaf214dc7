//! JSON paths as written in pipelines (`.a.b`, `.a[0]`, `.a[-1]`,
//! `.["odd key"]`): parsing, display, and lookup in a value.

use std::fmt;

use crate::json::Value;
use crate::json::parse::Step;

/// A path into a JSON value; empty is the value itself (`.`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Path {
    pub steps: Vec<Step>,
}

impl Path {
    /// Parse a path starting at `text[0] == '.'`. Returns the path and the
    /// number of bytes it used, or an error message and the byte offset
    /// where the problem is.
    pub fn parse_prefix(text: &str) -> Result<(Path, usize), (String, usize)> {
        let bytes = text.as_bytes();
        debug_assert_eq!(bytes.first(), Some(&b'.'));
        let mut steps = Vec::new();
        let mut at = 0;
        let mut first = true;
        loop {
            match bytes.get(at) {
                Some(b'.') => {
                    at += 1;
                    match bytes.get(at) {
                        Some(b) if is_key_byte(*b) => {
                            let start = at;
                            while bytes.get(at).is_some_and(|b| is_key_byte(*b)) {
                                at += 1;
                            }
                            steps.push(Step::Key(text[start..at].to_owned()));
                        }
                        Some(b'[') => {}
                        // A lone `.` is the whole value; `.a.` is an error.
                        _ if first => {}
                        _ => return Err(("expected a name or [ after '.'".into(), at)),
                    }
                }
                Some(b'[') => {
                    let (step, used) = parse_bracket(&text[at..]).map_err(|(m, o)| (m, at + o))?;
                    steps.push(step);
                    at += used;
                }
                _ => break,
            }
            first = false;
        }
        Ok((Path { steps }, at))
    }

    /// The value at this path, if every step exists.
    pub fn lookup<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        let mut current = value;
        for step in &self.steps {
            current = match (step, current) {
                (Step::Key(key), Value::Object(object)) => object.get(key)?,
                (Step::Index(index), Value::Array(items)) => {
                    items.get(resolve(*index, items.len())?)?
                }
                _ => return None,
            };
        }
        Some(current)
    }

    /// The value at this path, mutably (so that `pluck` can move it out).
    pub fn lookup_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Value> {
        let mut current = value;
        for step in &self.steps {
            current = match (step, current) {
                (Step::Key(key), Value::Object(object)) => object.get_mut(key)?,
                (Step::Index(index), Value::Array(items)) => {
                    let at = resolve(*index, items.len())?;
                    items.get_mut(at)?
                }
                _ => return None,
            };
        }
        Some(current)
    }

    /// Whether this is `.`, the whole record.
    pub fn is_whole(&self) -> bool {
        self.steps.is_empty()
    }
}

/// An index into an array of `len`, negative counting from the end.
fn resolve(index: i64, len: usize) -> Option<usize> {
    let index = if index < 0 { len as i64 + index } else { index };
    usize::try_from(index).ok()
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return f.write_str(".");
        }
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Key(key) if !key.is_empty() && key.bytes().all(is_key_byte) => {
                    write!(f, ".{key}")?
                }
                Step::Key(key) => {
                    let dot = if i == 0 { "." } else { "" };
                    let mut quoted = Vec::new();
                    crate::json::write_string(key, &mut quoted);
                    write!(f, "{dot}[{}]", String::from_utf8_lossy(&quoted))?
                }
                Step::Index(index) if i == 0 => write!(f, ".[{index}]")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn is_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' || byte >= 0x80
}

/// `[0]`, `[-1]` or `["key"]`, starting at the `[`.
fn parse_bracket(text: &str) -> Result<(Step, usize), (String, usize)> {
    let bytes = text.as_bytes();
    let mut at = 1;
    if bytes.get(at) == Some(&b'"') {
        let key = match crate::json::parse::parse_prefix(&bytes[at..]) {
            Ok((Value::String(key), used)) => {
                at += used;
                key
            }
            _ => return Err(("expected a quoted key like [\"a b\"]".into(), at)),
        };
        if bytes.get(at) != Some(&b']') {
            return Err(("expected ']' after the key".into(), at));
        }
        return Ok((Step::Key(key), at + 1));
    }
    let start = at;
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    let index = text[start..at].parse::<i64>().map_err(|_| {
        (
            "expected an index like [0] or a key like [\"a\"]".to_owned(),
            start,
        )
    })?;
    if bytes.get(at) != Some(&b']') {
        return Err(("expected ']'".into(), at));
    }
    Ok((Step::Index(index), at + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse::parse;

    fn path(text: &str) -> Path {
        let (path, used) = Path::parse_prefix(text).unwrap();
        assert_eq!(used, text.len(), "{text}");
        path
    }

    #[test]
    fn paths_parse_and_display_round_trip() {
        for text in [
            ".",
            ".a",
            ".a.b",
            ".a[0]",
            ".a[-1].b",
            ".[\"odd key\"]",
            ".a[\"x.y\"][2]",
            ".[0].a",
        ] {
            assert_eq!(path(text).to_string(), text);
        }
        assert_eq!(path(".[\"plain\"]").to_string(), ".plain");
    }

    #[test]
    fn lookup_follows_keys_and_indexes() {
        let value = parse(br#"{"a": {"b": [10, 20, 30]}, "odd key": true}"#).unwrap();
        let get = |p: &str| {
            path(p)
                .lookup(&value)
                .map(|v| String::from_utf8(v.to_canonical()).unwrap())
        };
        assert_eq!(get(".a.b[1]").as_deref(), Some("20"));
        assert_eq!(get(".a.b[-1]").as_deref(), Some("30"));
        assert_eq!(get(".[\"odd key\"]").as_deref(), Some("true"));
        assert_eq!(path(".").lookup(&value), Some(&value));
        assert_eq!(get(".a.b[3]"), None);
        assert_eq!(get(".a.b[-4]"), None);
        assert_eq!(get(".a.c"), None);
        assert_eq!(get(".a.b.c"), None);
    }

    #[test]
    fn a_path_stops_at_the_first_byte_that_is_not_part_of_it() {
        assert_eq!(Path::parse_prefix(".a.b > 3").unwrap().1, 4);
        assert_eq!(Path::parse_prefix(". | x").unwrap().1, 1);
        assert_eq!(Path::parse_prefix(".a, .b]").unwrap().1, 2);
    }

    #[test]
    fn bad_paths_say_where() {
        assert_eq!(Path::parse_prefix(".a.").unwrap_err().1, 3);
        assert_eq!(Path::parse_prefix(".a[x]").unwrap_err().1, 3);
        assert_eq!(Path::parse_prefix(".a[\"k\"").unwrap_err().1, 6);
    }
}
