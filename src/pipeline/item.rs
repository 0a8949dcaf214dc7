//! Records as they flow through a pipeline (text, or JSON values that
//! remember their original line until a stage changes them), how they
//! compare, and the two ways they leave it: printed, or used as keys.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::json::{self, Value};
use crate::table::KeyKind;

/// One record.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    /// Bytes, conventionally UTF-8; borrowed from the block while no stage
    /// has changed them.
    Text(Cow<'a, [u8]>),
    /// A JSON value, and its original line while no stage has changed it.
    Json(Value, Option<Cow<'a, [u8]>>),
}

/// A record seen as a value, for comparisons: text compares as a string
/// (by its bytes, even those that are not UTF-8).
#[derive(Debug, Clone, Copy)]
pub enum View<'v> {
    Text(&'v [u8]),
    Value(&'v Value),
}

impl<'a> Item<'a> {
    /// A JSON value that has no original line.
    pub fn value(value: Value) -> Item<'static> {
        Item::Json(value, None)
    }

    /// The record as text: a JSON string is its content, any other JSON
    /// value its canonical compact form.
    pub fn text(&self) -> Cow<'_, [u8]> {
        match self {
            Item::Text(text) => Cow::Borrowed(text),
            Item::Json(Value::String(s), _) => Cow::Borrowed(s.as_bytes()),
            Item::Json(value, _) => Cow::Owned(value.to_canonical()),
        }
    }

    /// Like [`Item::text`], keeping a borrow of the block where there is one.
    pub fn into_text(self) -> Cow<'a, [u8]> {
        match self {
            Item::Text(text) => text,
            Item::Json(Value::String(s), _) => Cow::Owned(s.into_bytes()),
            Item::Json(value, _) => Cow::Owned(value.to_canonical()),
        }
    }

    /// The key this record counts under.
    pub fn key(&self) -> (KeyKind, Cow<'_, [u8]>) {
        match self {
            Item::Text(_) | Item::Json(Value::String(_), _) => (KeyKind::Text, self.text()),
            Item::Json(value, _) => (KeyKind::Json, Cow::Owned(value.to_key())),
        }
    }

    /// The record back from its key.
    pub fn from_key(kind: KeyKind, key: &[u8]) -> Item<'static> {
        Item::of_key(kind, key).into_owned()
    }

    /// The record back from its key, borrowing a text key.
    pub fn of_key(kind: KeyKind, key: &'a [u8]) -> Item<'a> {
        match kind {
            KeyKind::Text => Item::Text(Cow::Borrowed(key)),
            // A key is canonical JSON written by rbag: it parses back.
            KeyKind::Json => Item::value(json::parse::parse(key).unwrap_or(Value::Null)),
        }
    }

    /// The record as a value (text becomes a string; bytes that are not
    /// UTF-8 become U+FFFD).
    pub fn to_value(&self) -> Value {
        match self {
            Item::Text(text) => Value::from_text(text),
            Item::Json(value, _) => value.clone(),
        }
    }

    /// The record for comparisons.
    pub fn view(&self) -> View<'_> {
        match self {
            Item::Text(text) => View::Text(text),
            Item::Json(value, _) => View::Value(value),
        }
    }

    /// Print the record as text output: an unchanged record as its original
    /// bytes, text as itself, a JSON string as its text, any other JSON value
    /// as compact JSON.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        match self {
            Item::Json(_, Some(raw)) => out.extend_from_slice(raw),
            Item::Json(Value::String(s), None) => out.extend_from_slice(s.as_bytes()),
            Item::Json(value, None) => value.write_canonical(out),
            Item::Text(text) => out.extend_from_slice(text),
        }
    }

    /// Print the record as one JSON value: text becomes a JSON string (bytes
    /// that are not UTF-8 become U+FFFD), JSON as its original bytes while
    /// unchanged, else compact.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Item::Json(_, Some(raw)) => out.extend_from_slice(raw.trim_ascii()),
            Item::Json(value, None) => value.write_canonical(out),
            Item::Text(text) => json::write_text_as_string(text, out),
        }
    }

    /// A copy that owns its data, to outlive the block.
    pub fn into_owned(self) -> Item<'static> {
        match self {
            Item::Text(text) => Item::Text(Cow::Owned(text.into_owned())),
            Item::Json(value, raw) => Item::Json(value, raw.map(|r| Cow::Owned(r.into_owned()))),
        }
    }

    /// The total order of records (see [`View::total_cmp`]).
    pub fn total_cmp(&self, other: &Item<'_>) -> Ordering {
        self.view().total_cmp(other.view())
    }
}

impl<'v> View<'v> {
    /// Compare by value (numbers equal in value are equal).
    pub fn value_cmp(self, other: View<'_>) -> Ordering {
        self.compare(other, false)
    }

    /// The total order: jq's order of values, text taking the place of a
    /// string, numbers equal in value told apart as [`Value::total_cmp`]
    /// does.
    pub fn total_cmp(self, other: View<'_>) -> Ordering {
        self.compare(other, true)
    }

    fn compare(self, other: View<'_>, total: bool) -> Ordering {
        match (self, other) {
            (View::Value(a), View::Value(b)) if total => a.total_cmp(b),
            (View::Value(a), View::Value(b)) => a.value_cmp(b),
            (View::Text(a), View::Text(b)) => a.cmp(b),
            (View::Text(a), View::Value(b)) => text_against(a, b),
            (View::Value(a), View::Text(b)) => text_against(b, a).reverse(),
        }
    }
}

/// Text against a value: text ranks as a string does.
fn text_against(text: &[u8], value: &Value) -> Ordering {
    match value {
        Value::String(s) => text.cmp(s.as_bytes()),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ordering::Greater,
        Value::Array(_) | Value::Object(_) => Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Item<'static> {
        Item::value(json::parse::parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn json_strings_key_as_text_and_other_values_as_json() {
        let s = json("\"en\"");
        let t = Item::Text(Cow::Borrowed(b"en"));
        assert_eq!(s.key(), t.key());
        let n = json("42");
        assert_eq!(n.key(), (KeyKind::Json, Cow::Borrowed(&b"42"[..])));
        assert_eq!(Item::from_key(KeyKind::Json, b"42"), n);
    }

    #[test]
    fn unchanged_json_prints_its_original_bytes() {
        let raw = br#"{"b":1,  "a":2}"#;
        let item = Item::Json(json::parse::parse(raw).unwrap(), Some(Cow::Borrowed(raw)));
        let mut out = Vec::new();
        item.write_text(&mut out);
        assert_eq!(out, raw);
        let changed = Item::value(json::parse::parse(raw).unwrap());
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

    #[test]
    fn text_compares_as_a_string() {
        let text = Item::Text(Cow::Borrowed(b"99"));
        assert_eq!(text.total_cmp(&json("100")), Ordering::Greater);
        assert_eq!(text.total_cmp(&json("\"99\"")), Ordering::Equal);
        assert_eq!(text.total_cmp(&json("\"a\"")), Ordering::Less);
        assert_eq!(text.total_cmp(&json("[]")), Ordering::Less);
    }
}
