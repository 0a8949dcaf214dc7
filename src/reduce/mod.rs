//! Reductions: what records reaching a reduction become (per group, under
//! `group`), the one exact merge of partial results (`acc`), the answer
//! (`finish`), and the rest of a pipeline run on that answer (`after`).
//!
//! Every merge is exact and every outcome ordered totally, so neither the
//! number of workers nor the blocks they happened to take show in the
//! output.

mod acc;
pub(crate) mod after;
mod finish;
mod keys;
mod reducer;
pub(crate) mod spill;

pub(crate) use acc::{Acc, Groups, Position, Ranked, SummaryAcc};
pub(crate) use finish::{GroupRow, Outcome, SUMMARY_FIELDS, ranked_in_order};
pub(crate) use keys::KeyCounts;
pub(crate) use reducer::Reducer;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ast::InputKind;
    use crate::pipeline::eval::Dropped;
    use crate::pipeline::item::Item;
    use crate::pipeline::parse::parse;
    use std::borrow::Cow;

    fn text(s: &'static str) -> Item<'static> {
        Item::Text(Cow::Borrowed(s.as_bytes()))
    }

    fn json(s: &str) -> Item<'static> {
        Item::value(crate::json::parse::parse(s.as_bytes()).unwrap())
    }

    fn reducer(pipeline: &str) -> Reducer {
        let parsed = parse(pipeline, InputKind::Json).unwrap();
        let reduction = parsed.reduce.unwrap();
        Reducer::new(reduction.reduce, reduction.group)
    }

    /// Split the records in two partials, the second taking its records in
    /// reverse and merged first, to show that order and grouping do not
    /// matter.
    fn answer(pipeline: &str, items: Vec<Item<'static>>) -> Result<Outcome, String> {
        let reducer = reducer(pipeline);
        let mid = items.len() / 2;
        let mut a = reducer.new_acc();
        let mut b = reducer.new_acc();
        let mut dropped = Dropped::default();
        let indexed: Vec<_> = items.into_iter().enumerate().collect();
        let (first, second) = indexed.split_at(mid);
        for (i, item) in first.iter().cloned().chain(second.iter().rev().cloned()) {
            let target = if i < mid { &mut a } else { &mut b };
            let position = Position {
                item: i as u64,
                ..Position::default()
            };
            reducer
                .add(target, item, position, &mut dropped)
                .map_err(|e| e.message)?;
        }
        b.merge(a, &reducer.reduce)
            .map_err(|e| e.0)?
            .finish(&reducer.reduce)
            .map_err(|e| e.0)
    }

    fn scalar(pipeline: &str, items: Vec<Item<'static>>) -> String {
        match answer(pipeline, items) {
            Ok(Outcome::Scalar(item)) => String::from_utf8(item.text().into_owned()).unwrap(),
            Ok(Outcome::Summary(v)) => String::from_utf8(v.to_canonical()).unwrap(),
            Ok(other) => panic!("{other:?}"),
            Err(e) => e,
        }
    }

    fn records(pipeline: &str, items: Vec<Item<'static>>) -> Vec<String> {
        match answer(pipeline, items).unwrap() {
            Outcome::Distinct(keys) => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .unwrap();
                finish::distinct_records(keys, &pool)
                    .into_iter()
                    .map(|(_, i)| String::from_utf8(i.text().into_owned()).unwrap())
                    .collect()
            }
            Outcome::Records(r) => r
                .into_iter()
                .map(|(_, i)| String::from_utf8(i.text().into_owned()).unwrap())
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scalar_reductions() {
        let nums = || vec![json("3"), text(" 4.5 "), json("-1"), text("2")];
        assert_eq!(scalar("count", nums()), "4");
        assert_eq!(scalar("sum", nums()), "8.5");
        assert_eq!(scalar("mean", nums()), "2.125");
        assert_eq!(scalar("var", nums()), "4.046875");
        assert_eq!(scalar("std 1", nums()), "2.322893310794392");
        assert_eq!(scalar("sum", vec![json("1"), json("2")]), "3");
        assert_eq!(scalar("sum", vec![]), "0");
        assert_eq!(
            scalar("summary", nums()),
            r#"{"count":4,"max":4.5,"mean":2.125,"min":-1,"std":2.011684617428885,"sum":8.5}"#
        );
        assert_eq!(
            scalar(
                "sum",
                vec![json("18446744073709551615"), json("18446744073709551615")]
            ),
            "36893488147419103230"
        );
    }

    #[test]
    fn min_and_max_use_the_order_of_values() {
        let values = || {
            vec![
                json("100"),
                json("\"99\""),
                json("null"),
                json("[1]"),
                text("abc"),
            ]
        };
        assert_eq!(scalar("max", values()), "[1]");
        assert_eq!(scalar("min", values()), "null");
        let numbers = || vec![json("1"), json("1.0"), json("-0.0"), json("0.0")];
        assert_eq!(scalar("max", numbers()), "1.0");
        assert_eq!(scalar("min", numbers()), "-0.0");
    }

    #[test]
    fn empty_and_bad_inputs_are_errors_not_panics() {
        for (pipeline, message) in [
            ("min", "min: no records in the input"),
            ("max", "max: no records in the input"),
            ("mean", "mean: no numbers in the input"),
            ("var 1", "var 1: needs more than 1 number(s)"),
            ("summary", "summary: no numbers in the input"),
        ] {
            assert_eq!(scalar(pipeline, vec![]), message);
        }
        assert_eq!(
            scalar("var 1", vec![json("2")]),
            "var 1: needs more than 1 number(s)"
        );
        assert_eq!(
            scalar("sum", vec![json("1"), text("abc")]),
            "sum: not a number: \"abc\""
        );
        assert_eq!(scalar("sum", vec![json("null")]), "sum: not a number: null");
        assert_eq!(
            scalar("sum", vec![json("1e308"), json("1e308")]),
            "sum: the result is beyond the range of 64-bit floats"
        );
    }

    #[test]
    fn topk_and_bottomk_rank_by_one_order_with_ties_in_input_order() {
        let items = || {
            [
                r#"{"s":2,"i":0}"#,
                r#"{"s":5,"i":1}"#,
                r#"{"i":2}"#,
                r#"{"s":2,"i":3}"#,
                r#"{"s":2.5,"i":4}"#,
                r#"{"s":"x","i":5}"#,
                r#"{"s":100,"i":6}"#,
                r#"{"s":"99","i":7}"#,
            ]
            .iter()
            .map(|r| json(r))
            .collect::<Vec<_>>()
        };
        assert_eq!(
            records("topk 3 by .s", items()),
            [
                r#"{"i":5,"s":"x"}"#,
                r#"{"i":7,"s":"99"}"#,
                r#"{"i":6,"s":100}"#
            ]
        );
        assert_eq!(
            records("bottomk 3 by .s", items()),
            [r#"{"i":0,"s":2}"#, r#"{"i":3,"s":2}"#, r#"{"i":4,"s":2.5}"#]
        );
        assert_eq!(
            records("take 2", items()),
            [r#"{"i":0,"s":2}"#, r#"{"i":1,"s":5}"#]
        );
        assert_eq!(
            records("topk 2", vec![text("b"), text("a"), text("c")]),
            ["c", "b"]
        );
        assert_eq!(
            records(
                "distinct",
                vec![json("2"), text("b"), json("\"b\""), json("10")]
            ),
            ["10", "2", "b"]
        );
    }

    #[test]
    fn states_of_different_reductions_do_not_merge() {
        let count = reducer("count");
        let sum = reducer("sum");
        let merged = count.new_acc().merge(sum.new_acc(), &count.reduce);
        assert_eq!(
            merged.unwrap_err().0,
            "count: a count cannot merge with a sum"
        );
        let full = Acc::Count(u64::MAX).merge(Acc::Count(1), &count.reduce);
        assert_eq!(
            full.unwrap_err().0,
            "count: the counts add up to more than 18446744073709551615"
        );
    }

    #[test]
    fn counts_past_i64_stay_exact() {
        let count = reducer("count");
        let Ok(Outcome::Scalar(item)) = Acc::Count(u64::MAX).finish(&count.reduce) else {
            panic!()
        };
        assert_eq!(&*item.text(), b"18446744073709551615");
    }

    #[test]
    fn groups_reduce_each_key() {
        let items = || {
            [
                r#"{"t":"a","n":1}"#,
                r#"{"t":"b","n":2}"#,
                r#"{"t":"a","n":3.5}"#,
                r#"{"n":9}"#,
                r#"{"t":null,"n":4}"#,
                r#"{"t":"b","n":"x"}"#,
            ]
            .iter()
            .map(|r| json(r))
            .collect::<Vec<_>>()
        };
        let groups = |pipeline: &str| -> Vec<String> {
            let Outcome::Groups { rows, .. } = answer(pipeline, items()).unwrap().with_group_rows()
            else {
                panic!()
            };
            let mut rows: Vec<String> = rows
                .into_iter()
                .map(|r| {
                    format!(
                        "{}={}",
                        String::from_utf8(r.key).unwrap(),
                        String::from_utf8(r.value.to_canonical()).unwrap()
                    )
                })
                .collect();
            rows.sort();
            rows
        };
        assert_eq!(groups("group .t | count"), ["a=2", "b=2", "null=1"]);
        assert_eq!(
            groups("group .t | filter .n > 1 | count"),
            ["a=1", "b=2", "null=1"]
        );
        assert_eq!(
            groups("group .t | pluck .n | max"),
            ["a=3.5", "b=\"x\"", "null=4"]
        );
        assert_eq!(
            groups("group .t | topk 1 by .n | pluck .n"),
            Vec::<String>::new()
                .into_iter()
                .chain([
                    "a=[{\"n\":3.5,\"t\":\"a\"}]".to_owned(),
                    "b=[{\"n\":\"x\",\"t\":\"b\"}]".to_owned(),
                    "null=[{\"n\":4,\"t\":null}]".to_owned()
                ])
                .collect::<Vec<_>>()
        );
        assert_eq!(
            answer("group .t | pluck .n | sum", items()).unwrap_err(),
            "sum: not a number: \"x\""
        );
    }
}
