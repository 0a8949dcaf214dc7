//! A reduction ready to take records: records reach it one by one, each
//! into the accumulator of its group (under `group`, after the group's
//! own stages) or straight into the one accumulator.

use super::acc::{Acc, Groups, Position};
use crate::pipeline::ast::{Group, Key, Reduce};
use crate::pipeline::eval::{Dropped, Evaluator, StageError};
use crate::pipeline::item::Item;
use crate::pipeline::project::project_opt;
use crate::table::KeyKind;

/// A reduction ready to take records: the group key and stages if any, and
/// the reduction.
pub struct Reducer {
    pub reduce: Reduce,
    group: Option<(Key, Evaluator)>,
}

impl Reducer {
    pub fn new(reduce: Reduce, group: Option<Group>) -> Reducer {
        Reducer {
            reduce,
            group: group.map(|g| (g.key, Evaluator::new(g.stages))),
        }
    }

    /// Whether records are grouped.
    pub fn is_grouped(&self) -> bool {
        self.group.is_some()
    }

    /// An empty accumulator.
    pub fn new_acc(&self) -> Acc {
        if self.group.is_some() {
            Acc::Group(Groups::default())
        } else {
            Acc::new(&self.reduce)
        }
    }

    /// Take one record.
    ///
    /// # Errors
    /// A stage of the group or the reduction cannot handle the record.
    pub fn add(
        &self,
        acc: &mut Acc,
        item: Item<'_>,
        position: Position,
        dropped: &mut Dropped,
    ) -> Result<(), StageError> {
        let Some((key, stages)) = &self.group else {
            if let Acc::Frequencies(counts) | Acc::Distinct(counts) = acc {
                // Only here, not in groups: the table is settled when it
                // is merged or finished.
                let (kind, key) = item.key();
                counts.add_soon(kind, &key);
                return Ok(());
            }
            return acc.add(&self.reduce, item, position, dropped);
        };
        let Acc::Group(groups) = acc else {
            return Err(StageError::new(
                "internal error: a group without groups".into(),
            ));
        };
        let Some(key) = group_key(key, &item) else {
            dropped.missing_path += 1;
            return Ok(());
        };
        let reduce = &self.reduce;
        let mut inner = Dropped::default();
        let mut at_reduce = Dropped::default();
        let result = stages.run(item, &mut inner, &mut |item| {
            // A group exists once a record reaches its reduction.
            let acc = groups.state(key.0, &key.1, || Acc::new(reduce));
            acc.add(reduce, item, position, &mut at_reduce)
        });
        dropped.missing_path += inner.missing_path + at_reduce.missing_path;
        result
    }
}

/// The key of a record under `group`: a projection's value, or the text a
/// regex captured. `None` when the record has no key.
fn group_key(key: &Key, item: &Item<'_>) -> Option<(KeyKind, Vec<u8>)> {
    match key {
        Key::Projection(projection) => {
            let value = project_opt(projection, item)?;
            let item = Item::value(value);
            let (kind, bytes) = item.key();
            Some((kind, bytes.into_owned()))
        }
        Key::Regex(pattern) => {
            let text = item.text();
            let caps = pattern.regex.captures(&text)?;
            let found = caps.get(1).or_else(|| caps.get(0))?;
            Some((KeyKind::Text, found.as_bytes().to_vec()))
        }
    }
}
