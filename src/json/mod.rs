//! JSON values as rbag reads, compares and prints them.
//!
//! rbag has its own value type and parser (rather than serde_json's)
//! because it needs three things at once: numbers exactly as written
//! (integers of any size, floats correctly rounded), one validation rule
//! for a whole line whether the value is built or only a path is plucked
//! from it, and error positions in bytes. Objects keep their members sorted
//! by key bytes, the last of duplicate keys winning, so every value has one
//! canonical compact form: that is how values count as keys.

pub mod parse;

use std::cmp::Ordering;

pub use crate::numbers::Number;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Object),
}

/// An object: members sorted by key bytes, keys unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    members: Vec<(String, Value)>,
}

impl Object {
    /// An object from members in input order; of duplicate keys the last
    /// one wins, as in a full parse by most JSON readers.
    pub fn from_members(mut members: Vec<(String, Value)>) -> Object {
        // A stable sort keeps duplicates in input order; keep the last.
        members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut unique: Vec<(String, Value)> = Vec::with_capacity(members.len());
        for member in members {
            match unique.last_mut() {
                Some(last) if last.0 == member.0 => *last = member,
                _ => unique.push(member),
            }
        }
        Object { members: unique }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.members
            .binary_search_by(|(k, _)| k.as_bytes().cmp(key.as_bytes()))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).ok().map(|i| &self.members[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.find(key).ok().map(|i| &mut self.members[i].1)
    }

    /// Members in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl Value {
    /// A string value.
    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// Text as a JSON string: bytes that are not UTF-8 become U+FFFD.
    pub fn from_text(text: &[u8]) -> Value {
        Value::String(String::from_utf8_lossy(text).into_owned())
    }

    /// An object of the given members (any order; the last duplicate wins).
    pub fn object<K: Into<String>>(members: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(Object::from_members(
            members.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// The canonical compact form.
    pub fn to_canonical(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_canonical(&mut out);
        out
    }

    /// Append the canonical compact form: no spaces, object members in key
    /// order, numbers as [`Number::write`] prints them.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => n.write(out),
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_canonical(out);
                }
                out.push(b']');
            }
            Value::Object(object) => {
                out.push(b'{');
                for (i, (key, member)) in object.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(key, out);
                    out.push(b':');
                    member.write_canonical(out);
                }
                out.push(b'}');
            }
        }
    }

    /// The value as a key of a table (`frequencies`, `distinct`, `group`):
    /// the canonical form with every number in its key form
    /// ([`Number::write_key`]), so that values equal by `==` are one key.
    pub fn to_key(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_key(&mut out);
        out
    }

    fn write_key(&self, out: &mut Vec<u8>) {
        match self {
            Value::Number(n) => n.write_key(out),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_key(out);
                }
                out.push(b']');
            }
            Value::Object(object) => {
                out.push(b'{');
                for (i, (key, member)) in object.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(key, out);
                    out.push(b':');
                    member.write_key(out);
                }
                out.push(b'}');
            }
            other => other.write_canonical(out),
        }
    }

    /// The name of the value's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// Neither missing, null nor false (jq's truthiness).
    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false))
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(false) => 1,
            Value::Bool(true) => 2,
            Value::Number(_) => 3,
            Value::String(_) => 4,
            Value::Array(_) => 5,
            Value::Object(_) => 6,
        }
    }

    /// jq's order of values: null < false < true < numbers < strings <
    /// arrays < objects. Numbers by value, strings by their bytes, arrays
    /// element by element, objects by their sorted keys and then their
    /// values in key order. Numbers equal in value (`1`, `1.0`) are equal
    /// here; [`Value::total_cmp`] also tells those apart.
    pub fn value_cmp(&self, other: &Value) -> Ordering {
        self.compare(other, Number::value_cmp)
    }

    /// [`Value::value_cmp`], with numbers in their total order, so that
    /// two values are equal only when they print the same.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        self.compare(other, Number::total_cmp)
    }

    fn compare(&self, other: &Value, numbers: fn(&Number, &Number) -> Ordering) -> Ordering {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => numbers(a, b),
            (Value::String(a), Value::String(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::Array(a), Value::Array(b)) => {
                for (x, y) in a.iter().zip(b) {
                    match x.compare(y, numbers) {
                        Ordering::Equal => {}
                        other => return other,
                    }
                }
                a.len().cmp(&b.len())
            }
            (Value::Object(a), Value::Object(b)) => {
                let keys = a.iter().map(|(k, _)| k.as_bytes());
                let other_keys = b.iter().map(|(k, _)| k.as_bytes());
                keys.cmp(other_keys).then_with(|| {
                    for ((_, x), (_, y)) in a.iter().zip(b.iter()) {
                        match x.compare(y, numbers) {
                            Ordering::Equal => {}
                            other => return other,
                        }
                    }
                    Ordering::Equal
                })
            }
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// Append `text` as a JSON string, escaping `"`, `\` and control
/// characters.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.extend_from_slice(&bytes[plain_from..at]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
                plain_from = at + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain_from..at]);
        out.extend_from_slice(escaped);
        plain_from = at + 1;
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

/// Append text (bytes, conventionally UTF-8) as a JSON string; bytes that
/// are not UTF-8 become U+FFFD.
pub fn write_text_as_string(text: &[u8], out: &mut Vec<u8>) {
    write_string(&String::from_utf8_lossy(text), out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use parse::parse;

    fn value(text: &str) -> Value {
        parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn canonical_form_sorts_keys_and_has_no_spaces() {
        let v = value(r#"{"b": [1, 2.50, {"z": null, "a": "x"}], "a": true, "b2": 1e2}"#);
        assert_eq!(
            String::from_utf8(v.to_canonical()).unwrap(),
            r#"{"a":true,"b":[1,2.5,{"a":"x","z":null}],"b2":100.0}"#
        );
    }

    #[test]
    fn duplicate_keys_keep_the_last() {
        assert_eq!(
            value(r#"{"a": 1, "b": 2, "a": 3}"#),
            value(r#"{"b": 2, "a": 3}"#)
        );
    }

    #[test]
    fn strings_escape_what_json_requires() {
        let mut out = Vec::new();
        write_string("a\"b\\c\n\u{1}\u{7f}é", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\u0001\u{7f}é\""
        );
        let mut out = Vec::new();
        write_text_as_string(b"a\xffb", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "\"a\u{fffd}b\"");
    }

    #[test]
    fn values_follow_jq_order() {
        let ordered = [
            "null",
            "false",
            "true",
            "-1e300",
            "-5",
            "0",
            "0.5",
            "1",
            "99",
            "100",
            "18446744073709551616",
            "\"\"",
            "\"99\"",
            "\"a\"",
            "\"b\"",
            "[]",
            "[1]",
            "[1,2]",
            "[2]",
            "{}",
            r#"{"a":2}"#,
            r#"{"a":1,"b":1}"#,
            r#"{"b":0}"#,
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(value(a).total_cmp(&value(b)), i.cmp(&j), "{a} vs {b}");
            }
        }
        assert_eq!(value("1").value_cmp(&value("1.0")), Ordering::Equal);
        assert_eq!(value("1").total_cmp(&value("1.0")), Ordering::Less);
    }
}
