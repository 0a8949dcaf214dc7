//! Projections, the one evaluator of what `filter`, `pluck`, `group`,
//! `topk ... by` and `// DEFAULT` read from a record: a path's value (`.`
//! is the record itself, text too; other paths need JSON), or an array of
//! projections, with one rule for defaults: a value that is missing or
//! null is the default.

use super::ast::Projection;
use super::item::{Item, View};
use super::path::Path;
use crate::json::Value;

/// The rule of `// DEFAULT`: missing or null is the default, when there
/// is one.
pub fn defaulted(found: Option<Value>, default: Option<&Value>) -> Option<Value> {
    match (found, default) {
        (Some(Value::Null) | None, Some(default)) => Some(default.clone()),
        (found, _) => found,
    }
}

/// `pluck`: the projected record, taking the value out of `item` rather
/// than copying it; `None` when a path is missing and has no default.
/// `.` keeps the record as it is (its original bytes too), unless null.
pub fn pluck<'a>(projection: &Projection, item: Item<'a>) -> Option<Item<'a>> {
    match projection {
        Projection::Path { path, default } if path.is_whole() => match item {
            Item::Json(Value::Null, _) => {
                defaulted(Some(Value::Null), default.as_ref()).map(Item::value)
            }
            other => Some(other),
        },
        Projection::Path { path, default } => {
            let found = match item {
                Item::Json(mut value, _) => path
                    .lookup_mut(&mut value)
                    .map(|found| std::mem::replace(found, Value::Null)),
                Item::Text(_) => None,
            };
            defaulted(found, default.as_ref()).map(Item::value)
        }
        Projection::Array(_) => Some(Item::value(project(projection, &item))),
    }
}

/// The value of a projection on a record; a missing path without a
/// default is null (inside an array of projections too, as in jq).
pub fn project(projection: &Projection, item: &Item<'_>) -> Value {
    project_opt(projection, item).unwrap_or(Value::Null)
}

/// The value at `path` in a record, borrowed (what a test compares);
/// `None` when the record has no such path.
pub fn view<'v>(path: &Path, item: &'v Item<'_>) -> Option<View<'v>> {
    match item {
        Item::Json(value, _) => path.lookup(value).map(View::Value),
        Item::Text(text) if path.is_whole() => Some(View::Text(text)),
        Item::Text(_) => None,
    }
}

/// The value of a projection on a record; `None` for a missing path with
/// no default.
pub fn project_opt(projection: &Projection, item: &Item<'_>) -> Option<Value> {
    match projection {
        Projection::Path { path, default } => {
            let found = view(path, item).map(|found| match found {
                View::Value(value) => value.clone(),
                View::Text(text) => Value::from_text(text),
            });
            defaulted(found, default.as_ref())
        }
        Projection::Array(items) => Some(Value::Array(
            items.iter().map(|p| project(p, item)).collect(),
        )),
    }
}
