//! Records as they flow through a pipeline (text, or JSON values that
//! remember their original line until a stage changes them), and the two
//! ways they leave it: printed as records, or used as keys.

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::Value;

/// One record.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    /// Bytes, conventionally UTF-8; borrowed from the block while no stage
    /// has changed them.
    Text(Cow<'a, [u8]>),
    /// A JSON value, and its original line while no stage has changed it.
    Json(Value, Option<Cow<'a, [u8]>>),
}

/// A key of a count table: the bytes that print in TSV, and whether they
/// are canonical JSON (a number, object, ...) rather than text. JSON strings
/// are text keys, so `"en"` from JSON and `en` from text count together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyKind {
    Text,
    Json,
}

impl<'a> Item<'a> {
    /// The record as text: a JSON string is its content, any other JSON
    /// value its canonical compact form.
    pub fn text(&self) -> Cow<'_, [u8]> {
        match self {
            Item::Text(text) => Cow::Borrowed(text),
            Item::Json(Value::String(s), _) => Cow::Borrowed(s.as_bytes()),
            Item::Json(value, _) => Cow::Owned(canonical(value)),
        }
    }

    /// Like [`Item::text`], keeping a borrow of the block where there is one.
    pub fn into_text(self) -> Cow<'a, [u8]> {
        match self {
            Item::Text(text) => text,
            Item::Json(Value::String(s), _) => Cow::Owned(s.into_bytes()),
            Item::Json(value, _) => Cow::Owned(canonical(&value)),
        }
    }

    /// The key this record counts under.
    pub fn key(&self) -> (KeyKind, Cow<'_, [u8]>) {
        match self {
            Item::Text(_) | Item::Json(Value::String(_), _) => (KeyKind::Text, self.text()),
            Item::Json(value, _) => (KeyKind::Json, Cow::Owned(canonical(value))),
        }
    }

    /// Print the record as text output: an unchanged record as its original
    /// bytes, text as itself, a JSON string as its text, any other JSON value
    /// as compact JSON.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        match self {
            Item::Json(_, Some(raw)) => out.extend_from_slice(raw),
            Item::Json(Value::String(s), None) => out.extend_from_slice(s.as_bytes()),
            Item::Json(value, None) => write_canonical(value, out),
            Item::Text(text) => out.extend_from_slice(text),
        }
    }

    /// Print the record as one JSON value: text becomes a JSON string (bytes
    /// that are not UTF-8 become U+FFFD), JSON as its original bytes while
    /// unchanged, else compact.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Item::Json(_, Some(raw)) => out.extend_from_slice(raw.trim_ascii()),
            Item::Json(value, None) => write_canonical(value, out),
            Item::Text(text) => write_json_string(text, out),
        }
    }

    /// A copy that owns its data, to outlive the block.
    pub fn into_owned(self) -> Item<'static> {
        match self {
            Item::Text(text) => Item::Text(Cow::Owned(text.into_owned())),
            Item::Json(value, raw) => Item::Json(value, raw.map(|r| Cow::Owned(r.into_owned()))),
        }
    }
}

/// Text as a JSON string.
pub fn write_json_string(text: &[u8], out: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(text);
    // Serialising a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &*text);
}

/// The canonical compact form of a value: no spaces, object keys sorted by
/// their bytes, so that equal values print (and count) the same whatever
/// the order of their keys in the input.
pub fn canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    out
}

/// Append the canonical form of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            // Sorted here rather than trusting the map's order, which a
            // serde_json feature enabled anywhere in the build could change.
            let mut members: Vec<_> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(key.as_bytes(), out);
                out.push(b':');
                write_canonical(member, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// Write a key as a JSON value: text as a string, JSON as itself.
pub fn write_key_json(out: &mut dyn Write, kind: KeyKind, key: &[u8]) -> io::Result<()> {
    match kind {
        KeyKind::Json => out.write_all(key),
        KeyKind::Text => {
            let mut buf = Vec::with_capacity(key.len() + 2);
            write_json_string(key, &mut buf);
            out.write_all(&buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form_sorts_keys_and_has_no_spaces() {
        let value: Value =
            serde_json::from_str(r#"{"b": [1, 2.5, {"z": null, "a": "x"}], "a": true}"#).unwrap();
        assert_eq!(
            canonical(&value),
            br#"{"a":true,"b":[1,2.5,{"a":"x","z":null}]}"#
        );
    }

    #[test]
    fn json_strings_key_as_text_and_other_values_as_json() {
        let s = Item::Json(json!("en"), None);
        let t = Item::Text(Cow::Borrowed(b"en"));
        assert_eq!(s.key(), t.key());
        let n = Item::Json(json!(42), None);
        assert_eq!(n.key(), (KeyKind::Json, Cow::Borrowed(&b"42"[..])));
    }

    #[test]
    fn unchanged_json_prints_its_original_bytes() {
        let raw = br#"{"b":1,  "a":2}"#;
        let item = Item::Json(
            serde_json::from_slice(raw).unwrap(),
            Some(Cow::Borrowed(raw)),
        );
        let mut out = Vec::new();
        item.write_text(&mut out);
        assert_eq!(out, raw);
        let changed = Item::Json(serde_json::from_slice(raw).unwrap(), None);
        out.clear();
        changed.write_text(&mut out);
        assert_eq!(out, br#"{"a":2,"b":1}"#);
    }

    #[test]
    fn text_prints_as_a_json_string_with_invalid_bytes_replaced() {
        let mut out = Vec::new();
        Item::Text(Cow::Borrowed(b"a\"\xff")).write_json(&mut out);
        assert_eq!(out, "\"a\\\"\u{fffd}\"".as_bytes());
    }
}
