//! JSON paths as written in pipelines (`.a.b`, `.a[0]`, `.a[-1]`,
//! `.["odd key"]`): parsing, display, and lookup in a value.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array element; negative counts from the end.
    Index(i64),
}

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
        lookup_steps(&self.steps, value)
    }

    /// Parse `text` as one JSON value and return the value at this path,
    /// building only that value: other members are skipped, their syntax
    /// still checked (but not, for instance, the range of their numbers).
    /// Duplicate keys resolve as in a full parse: the last one wins.
    ///
    /// # Errors
    /// `text` is not one JSON value.
    pub fn pluck_str(&self, text: &str) -> Result<Option<Value>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let found = Pluck(&self.steps).deserialize(&mut de)?;
        de.end()?;
        Ok(found)
    }
}

impl Path {
    /// The value at this path, mutably (so that `pluck` can move it out).
    pub fn lookup_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Value> {
        let mut current = value;
        for step in &self.steps {
            current = match (step, current) {
                (Step::Key(key), Value::Object(map)) => map.get_mut(key)?,
                (Step::Index(index), Value::Array(items)) => {
                    let len = items.len() as i64;
                    let index = if *index < 0 { len + index } else { *index };
                    items.get_mut(usize::try_from(index).ok()?)?
                }
                _ => return None,
            };
        }
        Some(current)
    }
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
                    write!(f, "{dot}[{}]", Value::String(key.clone()))?
                }
                Step::Index(index) if i == 0 => write!(f, ".[{index}]")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn lookup_steps<'v>(steps: &[Step], value: &'v Value) -> Option<&'v Value> {
    let mut current = value;
    for step in steps {
        current = match (step, current) {
            (Step::Key(key), Value::Object(map)) => map.get(key)?,
            (Step::Index(index), Value::Array(items)) => {
                let len = items.len() as i64;
                let index = if *index < 0 { len + index } else { *index };
                items.get(usize::try_from(index).ok()?)?
            }
            _ => return None,
        };
    }
    Some(current)
}

/// Deserializes a value, keeping only what lies at the remaining steps.
struct Pluck<'p>(&'p [Step]);

impl<'de> DeserializeSeed<'de> for Pluck<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Option<Value>, D::Error> {
        match self.0.first() {
            None => Value::deserialize(de).map(Some),
            // Counting from the end needs the array's length: build it.
            Some(Step::Index(index)) if *index < 0 => {
                let value = Value::deserialize(de)?;
                Ok(lookup_steps(self.0, &value).cloned())
            }
            Some(_) => de.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Pluck<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        let mut found = None;
        match self.0.split_first() {
            Some((Step::Key(key), rest)) => {
                while let Some(matched) = map.next_key_seed(KeyIs(key))? {
                    if matched {
                        found = map.next_value_seed(Pluck(rest))?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            _ => while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {},
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        let mut found = None;
        match self.0.split_first() {
            Some((Step::Index(wanted), rest)) => {
                let mut index = 0i64;
                loop {
                    if index == *wanted {
                        match seq.next_element_seed(Pluck(rest))? {
                            Some(value) => found = value,
                            None => break,
                        }
                    } else if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                    index += 1;
                }
            }
            _ => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(found)
    }

    // A scalar has no member to step into: the path is missing.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<Value>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<Value>, E> {
        Ok(None)
    }
}

/// Compares an object key with the wanted one without allocating.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
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
        let mut de = serde_json::Deserializer::from_str(&text[at..]).into_iter::<String>();
        let key = match de.next() {
            Some(Ok(key)) => key,
            _ => return Err(("expected a quoted key like [\"a b\"]".into(), at)),
        };
        at += de.byte_offset();
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
    use serde_json::json;

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
        let value = json!({"a": {"b": [10, 20, 30]}, "odd key": true});
        assert_eq!(path(".a.b[1]").lookup(&value), Some(&json!(20)));
        assert_eq!(path(".a.b[-1]").lookup(&value), Some(&json!(30)));
        assert_eq!(path(".[\"odd key\"]").lookup(&value), Some(&json!(true)));
        assert_eq!(path(".").lookup(&value), Some(&value));
        assert_eq!(path(".a.b[3]").lookup(&value), None);
        assert_eq!(path(".a.b[-4]").lookup(&value), None);
        assert_eq!(path(".a.c").lookup(&value), None);
        assert_eq!(path(".a.b.c").lookup(&value), None);
    }

    #[test]
    fn a_path_stops_at_the_first_byte_that_is_not_part_of_it() {
        assert_eq!(Path::parse_prefix(".a.b > 3").unwrap().1, 4);
        assert_eq!(Path::parse_prefix(". | x").unwrap().1, 1);
    }

    #[test]
    fn lazy_pluck_agrees_with_a_full_parse() {
        let records = [
            r#"{"a": {"b": [10, 20, {"c": "x"}]}, "z": "\u00e9\n"}"#,
            r#"{"a": 1, "a": {"b": [1]}}"#,
            r#"{"a": {"b": [1]}, "a": 2}"#,
            r#"[{"a": {"b": [5, 6]}}]"#,
            r#"{"a": {"b": "scalar"}}"#,
            r#""just a string""#,
            r#"{"a\u0062": 1, "ab": 2}"#,
            "null",
        ];
        for path in [
            ".",
            ".a",
            ".a.b",
            ".a.b[1]",
            ".a.b[-1]",
            ".a.b[2].c",
            ".[0].a.b[1]",
            ".ab",
            ".z",
            ".a.b[9]",
        ] {
            let path = Path::parse_prefix(path).unwrap().0;
            for record in records {
                let full: Value = serde_json::from_str(record).unwrap();
                let lazy = path.pluck_str(record).unwrap();
                assert_eq!(lazy.as_ref(), path.lookup(&full), "{path} in {record}");
            }
        }
    }

    #[test]
    fn lazy_pluck_still_rejects_bad_json() {
        let path = Path::parse_prefix(".a").unwrap().0;
        for bad in [
            r#"{"a": 1,}"#,
            r#"{"b": tru, "a": 1}"#,
            r#"{"a": 1} x"#,
            r#"{"b": [1, 2}"#,
            "",
        ] {
            assert!(path.pluck_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_paths_say_where() {
        assert_eq!(Path::parse_prefix(".a.").unwrap_err().1, 3);
        assert_eq!(Path::parse_prefix(".a[x]").unwrap_err().1, 3);
        assert_eq!(Path::parse_prefix(".a[\"k\"").unwrap_err().1, 6);
    }
}
