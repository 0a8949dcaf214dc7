//! The pipeline language's grammar: one shell argument of stages separated
//! by `|`, parsed into the tree of `ast` before any input is read, then
//! checked (`check`) for the kind of record each stage needs.
//!
//! One expression grammar serves every stage that looks at values:
//! `filter`/`remove` take a boolean expression (`and`, `or`, `not`,
//! parentheses, comparisons, `=~`, `in`); `pluck`, `group` and
//! `topk/bottomk ... by` take a projection (a path with an optional
//! `// DEFAULT`, or an array of projections). A reduction's result is a bag
//! again, so stages may follow it.

use regex::bytes::Regex;

use super::ast::{
    Expr, Group, InputKind, Key, Operand, Pattern, Pipeline, Projection, Reduce, Reduction,
    Separator, Stage,
};
use super::check;
use super::diag::{ParseError, suggest};
use super::lex::{Tok, Token, lex};
use crate::json::{Number, Value};

/// The stage names, for suggestions and help.
pub const STAGE_NAMES: &[&str] = &[
    "lower",
    "upper",
    "trim",
    "pluck",
    "replace",
    "extract",
    "len",
    "json",
    "text",
    "filter",
    "remove",
    "nonempty",
    "words",
    "ngrams",
    "split",
    "chars",
    "explode",
    "sample",
    "pipe",
    "group",
    "frequencies",
    "freq",
    "count",
    "distinct",
    "sum",
    "min",
    "max",
    "mean",
    "var",
    "std",
    "summary",
    "topk",
    "bottomk",
    "take",
];

/// Parse `text`, and check that every stage gets the kind of record it
/// needs when the input is `input`.
///
/// # Errors
/// The first problem, with its line and column in `text`.
pub fn parse(text: &str, input: InputKind) -> Result<Pipeline, ParseError> {
    let error = |(at, message): (usize, String)| ParseError::at(text, at, message);
    let tokens = lex(text).map_err(error)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        end: text.len(),
    };
    if parser.tokens.is_empty() {
        return Err(error((
            0,
            "empty pipeline: expected a stage such as 'lower' or 'frequencies'".into(),
        )));
    }
    let pipeline = parser.segment(false).map_err(error)?;
    check::check(&pipeline, input).map_err(error)?;
    Ok(pipeline)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    end: usize,
}

type Parsed<T> = Result<T, (usize, String)>;

/// What a stage parsed to.
enum Parsed2 {
    Stage(Stage),
    Reduce(Reduce),
    Group(Key),
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.next).map(|t| &t.tok)
    }

    fn peek_name(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == name)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |t| t.at)
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn found(&self) -> String {
        self.peek()
            .map_or_else(|| "the end of the pipeline".into(), Tok::describe)
    }

    /// Items separated by commas up to `close` (the opening bracket is
    /// already taken), each read by `item`.
    fn list<T>(
        &mut self,
        close: Tok,
        expected: &str,
        mut item: impl FnMut(&mut Self) -> Parsed<T>,
    ) -> Parsed<Vec<T>> {
        let mut items = Vec::new();
        if self.peek() != Some(&close) {
            loop {
                items.push(item(self)?);
                if self.peek() == Some(&Tok::Comma) {
                    self.next += 1;
                } else {
                    break;
                }
            }
        }
        self.expect(close, expected)?;
        Ok(items)
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Parsed<()> {
        if self.peek() == Some(&tok) {
            self.next += 1;
            Ok(())
        } else {
            Err((
                self.here(),
                format!("expected {what}, found {}", self.found()),
            ))
        }
    }

    /// Stages up to the end; with `in_group`, up to the group's reduction.
    fn segment(&mut self, in_group: bool) -> Parsed<Pipeline> {
        let mut stages = Vec::new();
        let mut starts = Vec::new();
        loop {
            let at = self.here();
            let name = match self.take() {
                Some(Token {
                    tok: Tok::Name(name),
                    ..
                }) => name,
                Some(Token { tok: Tok::Pipe, .. }) | None => {
                    return Err((
                        at,
                        "empty stage: expected a stage name between the '|'".into(),
                    ));
                }
                Some(token) => {
                    return Err((
                        at,
                        format!("expected a stage name, found {}", token.tok.describe()),
                    ));
                }
            };
            let parsed = self.stage(&name, at)?;
            match parsed {
                Parsed2::Stage(stage) => {
                    if in_group && matches!(stage, Stage::Pipe(_)) {
                        return Err((at, "'pipe' cannot run inside a group".into()));
                    }
                    stages.push(stage);
                    starts.push(at);
                    if !self.separator(&name)? {
                        if in_group {
                            return Err((
                                self.end,
                                "a group needs a reduction after its stages, such as 'count'"
                                    .into(),
                            ));
                        }
                        return Ok(Pipeline {
                            stages,
                            starts,
                            reduce: None,
                        });
                    }
                }
                Parsed2::Reduce(reduce) => {
                    let rest = if !in_group && self.separator(&name)? {
                        self.segment(false)?
                    } else {
                        Pipeline::empty()
                    };
                    return Ok(Pipeline {
                        stages,
                        starts,
                        reduce: Some(Box::new(Reduction {
                            group: None,
                            reduce,
                            at,
                            rest,
                        })),
                    });
                }
                Parsed2::Group(key) => {
                    if in_group {
                        return Err((
                            at,
                            "groups cannot be nested: one 'group' per reduction".into(),
                        ));
                    }
                    if !self.separator(&name)? {
                        return Err((
                            self.end,
                            "'group' needs stages and a reduction after it, like group .lang | count"
                                .into(),
                        ));
                    }
                    let inner = self.segment(true)?;
                    let Some(reduction) = inner.reduce else {
                        return Err((self.end, "a group needs a reduction".into()));
                    };
                    let rest = if self.separator(&name)? {
                        self.segment(false)?
                    } else {
                        Pipeline::empty()
                    };
                    return Ok(Pipeline {
                        stages,
                        starts,
                        reduce: Some(Box::new(Reduction {
                            group: Some(Group {
                                key,
                                at,
                                stages: inner.stages,
                                starts: inner.starts,
                            }),
                            reduce: reduction.reduce,
                            at: reduction.at,
                            rest,
                        })),
                    });
                }
            }
        }
    }

    /// After a stage: `|` and more (true), or the end (false).
    fn separator(&mut self, name: &str) -> Parsed<bool> {
        match self.take() {
            None => Ok(false),
            Some(Token { tok: Tok::Pipe, .. }) => {
                if self.peek().is_none() {
                    return Err((self.end, "expected a stage after the last '|'".into()));
                }
                Ok(true)
            }
            Some(token) => {
                // A misspelt keyword reads as a stray word: say which.
                let hint = match &token.tok {
                    Tok::Name(word) => suggest(word, &["and", "or", "not", "in", "by", "seed"])
                        .map(|s| format!("; did you mean '{s}'?")),
                    _ => None,
                };
                Err((
                    token.at,
                    format!(
                        "unexpected {} after '{name}' (stages are separated by '|'{})",
                        token.tok.describe(),
                        hint.unwrap_or_default()
                    ),
                ))
            }
        }
    }

    fn stage(&mut self, name: &str, at: usize) -> Parsed<Parsed2> {
        let stage = match name {
            "lower" => Stage::Lower,
            "upper" => Stage::Upper,
            "trim" => Stage::Trim,
            "len" => Stage::Len,
            "json" => Stage::Json,
            "text" => Stage::Text,
            "nonempty" => Stage::NonEmpty,
            "words" => Stage::Words,
            "ngrams" => {
                let at = self.here();
                match self.count(name)? {
                    0 => {
                        return Err((
                            at,
                            "ngrams 0 has no words: give 1 or more, like ngrams 2".into(),
                        ));
                    }
                    n => Stage::Ngrams(usize::try_from(n).unwrap_or(usize::MAX)),
                }
            }
            "chars" => Stage::Chars,
            "explode" => Stage::Explode,
            "pluck" => Stage::Pluck(self.projection(name)?),
            "replace" => {
                let regex = self.regex(name, "replace /[0-9]+/ \"#\"")?;
                let text = match self.take() {
                    Some(Token {
                        tok: Tok::Str(s), ..
                    }) => s,
                    other => {
                        return Err((
                            other.map_or(self.end, |t| t.at),
                            "expected the replacement as a string after the regex, like replace /[0-9]+/ \"#\" ($1 names a group)".into(),
                        ));
                    }
                };
                Stage::Replace(regex, text.into_bytes())
            }
            "extract" => Stage::Extract(self.regex(name, "extract /user=(\\w+)/")?),
            "filter" | "remove" => {
                if self.peek().is_none() || self.peek() == Some(&Tok::Pipe) {
                    return Err((
                        self.here(),
                        format!(
                            "expected what to {name} after '{name}': a regex (/error/), a length (len >= 3) or a JSON comparison (.lang == \"en\")"
                        ),
                    ));
                }
                let test = self.expr()?;
                Stage::Filter {
                    test,
                    keep: name == "filter",
                }
            }
            "split" => {
                let at = self.here();
                match self.take() {
                    Some(Token { tok: Tok::Str(s), .. }) if !s.is_empty() => Stage::Split(Separator::Text(s.into_bytes())),
                    Some(Token { tok: Tok::Str(_), .. }) => return Err((at, "the separator of 'split' cannot be empty (use 'chars')".into())),
                    Some(Token { tok: Tok::Regex(re), .. }) => Stage::Split(Separator::Regex(compile(&re, at)?)),
                    _ => return Err((at, "expected a separator after 'split': a string like \",\" or a regex like /\\s*,\\s*/".into())),
                }
            }
            "sample" => {
                let at = self.here();
                let rate = match self.take().map(|t| t.tok) {
                    Some(Tok::Num(n)) => n.approx_f64(),
                    _ => f64::NAN,
                };
                if !(0.0..=1.0).contains(&rate) {
                    return Err((
                        at,
                        "expected a probability from 0 to 1 after 'sample', like sample 0.1".into(),
                    ));
                }
                let seed = if self.peek_name("seed") {
                    self.next += 1;
                    self.count("sample ... seed")?
                } else {
                    0
                };
                Stage::Sample { rate, seed }
            }
            "pipe" => {
                let at = self.here();
                match self.take() {
                    Some(Token {
                        tok: Tok::Str(cmd), ..
                    }) if !cmd.trim().is_empty() => Stage::Pipe(cmd),
                    _ => {
                        return Err((
                            at,
                            "expected a command as a string after 'pipe', like pipe \"sort -u\""
                                .into(),
                        ));
                    }
                }
            }
            "group" => {
                let at = self.here();
                let key = match self.peek() {
                    Some(Tok::Regex(_)) => {
                        let Some(Token {
                            tok: Tok::Regex(re),
                            ..
                        }) = self.take()
                        else {
                            unreachable!("peeked a regex")
                        };
                        Key::Regex(compile(&re, at)?)
                    }
                    Some(Tok::Path(_) | Tok::LBracket) => Key::Projection(self.projection(name)?),
                    _ => {
                        return Err((
                            at,
                            format!(
                                "expected what to group by after 'group': a JSON path like .user.lang, or a regex like /user=(\\w+)/; found {}",
                                self.found()
                            ),
                        ));
                    }
                };
                return Ok(Parsed2::Group(key));
            }
            "frequencies" | "freq" => return Ok(Parsed2::Reduce(Reduce::Frequencies)),
            "count" => return Ok(Parsed2::Reduce(Reduce::Count)),
            "distinct" => return Ok(Parsed2::Reduce(Reduce::Distinct)),
            "sum" => return Ok(Parsed2::Reduce(Reduce::Sum)),
            "min" => return Ok(Parsed2::Reduce(Reduce::Min)),
            "max" => return Ok(Parsed2::Reduce(Reduce::Max)),
            "mean" => return Ok(Parsed2::Reduce(Reduce::Mean)),
            "summary" => return Ok(Parsed2::Reduce(Reduce::Summary)),
            "var" | "std" => {
                let ddof = match self.peek() {
                    Some(Tok::Num(_)) => self.count(name)?,
                    _ => 0,
                };
                return Ok(Parsed2::Reduce(Reduce::Var {
                    ddof,
                    std: name == "std",
                }));
            }
            "take" => return Ok(Parsed2::Reduce(Reduce::Take(self.count(name)?))),
            "topk" | "bottomk" => {
                let k = usize::try_from(self.count(name)?).unwrap_or(usize::MAX);
                let by = if self.peek_name("by") {
                    self.next += 1;
                    Some(self.projection(&format!("{name} ... by"))?)
                } else {
                    None
                };
                return Ok(Parsed2::Reduce(Reduce::TopK {
                    k,
                    by,
                    bottom: name == "bottomk",
                }));
            }
            unknown => {
                let hint = suggest(unknown, STAGE_NAMES)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                return Err((at, format!("unknown stage '{unknown}'{hint}")));
            }
        };
        Ok(Parsed2::Stage(stage))
    }

    /// `PATH [// LITERAL]` or `[PROJECTION, ...]`.
    fn projection(&mut self, what: &str) -> Parsed<Projection> {
        let at = self.here();
        match self.take().map(|t| t.tok) {
            Some(Tok::Path(path)) => {
                let default = if self.peek() == Some(&Tok::Alt) {
                    self.next += 1;
                    Some(self.literal("a default value after '//', like .lang // \"none\"")?)
                } else {
                    None
                };
                Ok(Projection::Path { path, default })
            }
            Some(Tok::LBracket) => {
                let items = self.list(Tok::RBracket, "',' or ']' in the list of paths", |p| {
                    p.projection(what)
                })?;
                Ok(Projection::Array(items))
            }
            other => Err((
                at,
                format!(
                    "expected a JSON path after '{what}', like .user.name or [.a, .b]; found {}",
                    other.map_or_else(|| "the end of the pipeline".into(), |t| t.describe())
                ),
            )),
        }
    }

    /// A JSON literal: a number, a string, true, false, null, an array or
    /// an object.
    fn literal(&mut self, expected: &str) -> Parsed<Value> {
        let at = self.here();
        match self.take().map(|t| t.tok) {
            Some(Tok::Num(n)) => Ok(Value::Number(n)),
            Some(Tok::Str(s)) => Ok(Value::String(s)),
            Some(Tok::Name(n)) if n == "true" => Ok(Value::Bool(true)),
            Some(Tok::Name(n)) if n == "false" => Ok(Value::Bool(false)),
            Some(Tok::Name(n)) if n == "null" => Ok(Value::Null),
            Some(Tok::LBracket) => {
                let items = self.list(Tok::RBracket, "',' or ']' in the array", |p| {
                    p.literal("a value in the array")
                })?;
                Ok(Value::Array(items))
            }
            Some(Tok::LBrace) => {
                let members = self.list(Tok::RBrace, "',' or '}' in the object", |p| {
                    let at = p.here();
                    let key = match p.take().map(|t| t.tok) {
                        Some(Tok::Str(s)) => s,
                        _ => return Err((at, "expected a string key in the object".into())),
                    };
                    p.expect(Tok::Colon, "':' after the key")?;
                    Ok((key, p.literal("a value in the object")?))
                })?;
                Ok(Value::object(members))
            }
            other => Err((
                at,
                format!(
                    "expected {expected}; found {}",
                    other.map_or_else(|| "the end of the pipeline".into(), |t| t.describe())
                ),
            )),
        }
    }

    fn expr(&mut self) -> Parsed<Expr> {
        let mut left = self.and()?;
        while self.peek_name("or") {
            self.next += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Parsed<Expr> {
        let mut left = self.not()?;
        while self.peek_name("and") {
            self.next += 1;
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Parsed<Expr> {
        if self.peek_name("not") {
            self.next += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.next += 1;
            let inner = self.expr()?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Parsed<Expr> {
        let at = self.here();
        let left = self.operand()?;
        match self.peek().cloned() {
            Some(Tok::Cmp(op)) => {
                self.next += 1;
                if matches!(left, Operand::Regex(_)) {
                    return Err((at, "a regex cannot be compared; match it with =~".into()));
                }
                let at = self.here();
                let right = self.operand()?;
                if matches!(right, Operand::Regex(_)) {
                    return Err((at, "a regex cannot be compared; match it with =~".into()));
                }
                Ok(Expr::Compare(left, op, right))
            }
            Some(Tok::Match(negated)) => {
                self.next += 1;
                let at = self.here();
                match self.take().map(|t| t.tok) {
                    Some(Tok::Regex(re)) => Ok(Expr::Matches(left, compile(&re, at)?, negated)),
                    _ => Err((
                        at,
                        "expected a regex after =~, like .path =~ /^\\/api/".into(),
                    )),
                }
            }
            Some(Tok::Name(name)) if name == "in" => {
                self.next += 1;
                let at = self.here();
                match self.literal("a list after 'in', like in [\"en\", \"fr\"]")? {
                    Value::Array(items) => Ok(Expr::In(left, items)),
                    _ => Err((
                        at,
                        "expected a list after 'in', like in [\"en\", \"fr\"]".into(),
                    )),
                }
            }
            _ => Ok(Expr::Truthy(left)),
        }
    }

    fn operand(&mut self) -> Parsed<Operand> {
        let at = self.here();
        match self.peek().cloned() {
            Some(Tok::Path(path)) => {
                self.next += 1;
                Ok(Operand::Path(path))
            }
            Some(Tok::Regex(re)) => {
                self.next += 1;
                Ok(Operand::Regex(compile(&re, at)?))
            }
            Some(Tok::Name(name)) if name == "len" => {
                self.next += 1;
                Ok(Operand::Len)
            }
            Some(Tok::Num(_) | Tok::Str(_) | Tok::LBracket | Tok::LBrace) => {
                Ok(Operand::Literal(self.literal("a value")?))
            }
            Some(Tok::Name(name)) if matches!(name.as_str(), "true" | "false" | "null") => {
                Ok(Operand::Literal(self.literal("a value")?))
            }
            Some(Tok::Name(name)) => {
                let words = ["len", "true", "false", "null", "not", "and", "or", "in"];
                let hint = suggest(&name, &words)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_else(|| {
                        " (a field is a path such as .name; a string takes double quotes)".into()
                    });
                Err((at, format!("unexpected '{name}' in a test{hint}")))
            }
            _ => Err((
                at,
                format!(
                    "expected a value to test: a path (.lang), a regex (/error/), len, or a literal; found {}",
                    self.found()
                ),
            )),
        }
    }

    fn regex(&mut self, what: &str, example: &str) -> Parsed<Pattern> {
        let at = self.here();
        match self.take() {
            Some(Token {
                tok: Tok::Regex(re),
                ..
            }) => compile(&re, at),
            _ => Err((
                at,
                format!("expected a regex after '{what}', like {example}"),
            )),
        }
    }

    fn count(&mut self, what: &str) -> Parsed<u64> {
        let at = self.here();
        match self.take().map(|t| t.tok) {
            Some(Tok::Num(Number::Int(n))) if n >= 0 => Ok(n as u64),
            _ => Err((
                at,
                format!("expected a whole number after '{what}', like {what} 10"),
            )),
        }
    }
}

fn compile(pattern: &str, at: usize) -> Parsed<Pattern> {
    match Regex::new(pattern) {
        Ok(regex) => Ok(Pattern {
            regex,
            shown: pattern.to_owned(),
        }),
        Err(e) => {
            let detail = match e {
                regex::Error::Syntax(text) => text
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim_start_matches("error: ")
                    .to_owned(),
                other => other.to_string(),
            };
            Err((at, format!("bad regex /{pattern}/: {detail}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text, including broken syntax and multi-byte characters at
        /// every position, gives a pipeline or an error, never a panic; a
        /// pipeline's canonical text parses to the same canonical text.
        #[test]
        fn parsing_never_panics_and_canonical_text_is_stable(
            pieces in proptest::collection::vec(prop_oneof![
                Just("pluck"), Just("filter"), Just("split"), Just("replace"), Just("topk"), Just("by"),
                Just("take"), Just("len"), Just("|"), Just(" "), Just("."), Just(".a"), Just("["), Just("]"),
                Just("\""), Just("/"), Just("\\"), Just("=="), Just("<"), Just("-"), Just("1e"), Just("9"),
                Just("é"), Just("\u{1f600}"), Just("\n"), Just("x"), Just("/i"), Just("("), Just(")"),
                Just("group"), Just("count"), Just("and"), Just("or"), Just("not"), Just("in"), Just("//"),
                Just("=~"), Just(","), Just("{"), Just("}"), Just(":"), Just("\"a\""), Just("sample"), Just("0.5"),
            ], 0..14),
            unicode in "\\PC{0,6}",
            json in any::<bool>(),
        ) {
            let text = pieces.concat() + &unicode;
            let kind = if json { InputKind::Json } else { InputKind::Text };
            match parse(&text, kind) {
                Err(e) => prop_assert!(e.line >= 1 && e.column >= 1),
                Ok(p) => {
                    let canonical = p.to_string();
                    let again = parse(&canonical, kind);
                    prop_assert!(again.is_ok(), "{} -> {}: {:?}", text, canonical, again.err());
                    prop_assert_eq!(again.unwrap().to_string(), canonical);
                }
            }
        }
    }

    fn err(text: &str) -> String {
        let e = parse(text, InputKind::Text).unwrap_err();
        format!("{}:{}: {}", e.line, e.column, e.message)
    }

    fn json_err(text: &str) -> String {
        let e = parse(text, InputKind::Json).unwrap_err();
        format!("{}:{}: {}", e.line, e.column, e.message)
    }

    fn ok(text: &str, kind: InputKind) -> Pipeline {
        parse(text, kind).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    #[test]
    fn every_stage_parses_and_prints_canonically() {
        for (text, canonical) in [
            (
                r#"lower | upper | trim | replace /a|b/ "x" | extract /(\w+)=/ | len | json | text | filter /x/i | remove len < 3 | nonempty | words | split "," | split /\s+/ | chars | frequencies"#,
                r#"lower | upper | trim | replace /a|b/ "x" | extract /(\w+)=/ | len | json | text | filter /(?i)x/ | remove len < 3 | nonempty | words | split "," | split /\s+/ | chars | frequencies"#,
            ),
            ("distinct|count", "distinct | count"),
            (
                "frequencies | filter .count >= 10 | count",
                "frequencies | filter .count >= 10 | count",
            ),
            (
                "sample 0.25 seed 7 | pipe \"tr a-z A-Z\"",
                "sample 0.25 seed 7 | pipe \"tr a-z A-Z\"",
            ),
            ("sample 1", "sample 1 seed 0"),
            ("var", "var 0"),
            ("std 1", "std 1"),
        ] {
            assert_eq!(ok(text, InputKind::Text).to_string(), canonical);
        }
        for (text, canonical) in [
            (
                r#"pluck .a["b c"][0] | filter .n >= -2.5 | filter .ok | explode | topk 3 by .score"#,
                r#"pluck .a["b c"][0] | filter .n >= -2.5 | filter .ok | explode | topk 3 by .score"#,
            ),
            ("pluck .lang // \"none\"", "pluck .lang // \"none\""),
            (
                "pluck [.lang, .type] | frequencies",
                "pluck [.lang, .type] | frequencies",
            ),
            (
                "group .user.lang | pluck .n | sum",
                "group .user.lang | pluck .n | sum",
            ),
            (
                "group .type | count | filter .value > 1",
                "group .type | count | filter .value > 1",
            ),
            (
                "filter (.a > 1 or .b) and not .c == null",
                "filter ((.a > 1 or .b) and not .c == null)",
            ),
            ("filter .score > .ratio", "filter .score > .ratio"),
            (
                "filter .lang in [\"en\", 1, null]",
                "filter .lang in [\"en\",1,null]",
            ),
            (
                "filter .path =~ /^\\/api/ and .p !~ /x/",
                "filter (.path =~ /^\\/api/ and .p !~ /x/)",
            ),
            ("bottomk 2 by .n | pluck .id", "bottomk 2 by .n | pluck .id"),
            ("summary", "summary"),
            (
                "group .a | filter .b | topk 1 by .c",
                "group .a | filter .b | topk 1 by .c",
            ),
        ] {
            assert_eq!(ok(text, InputKind::Json).to_string(), canonical, "{text}");
        }
    }

    #[test]
    fn chained_reductions_nest() {
        let p = ok(
            "words | frequencies | filter .count > 2 | count",
            InputKind::Text,
        );
        let first = p.reduce.unwrap();
        assert_eq!(first.reduce, Reduce::Frequencies);
        let second = first.rest.reduce.unwrap();
        assert_eq!(second.reduce, Reduce::Count);
        assert_eq!(first.rest.stages.len(), 1);
    }

    #[test]
    fn columns_count_bytes() {
        assert_eq!(
            err("filter /é/ | lowr"),
            "1:15: unknown stage 'lowr' (did you mean 'lower'?)"
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(
            err("words | lowr | freq"),
            "1:9: unknown stage 'lowr' (did you mean 'lower'?)"
        );
        assert_eq!(
            err("frequences"),
            "1:1: unknown stage 'frequences' (did you mean 'frequencies'?)"
        );
        assert_eq!(err("zzzzzz"), "1:1: unknown stage 'zzzzzz'");
        assert_eq!(err("lower |"), "1:8: expected a stage after the last '|'");
        assert_eq!(
            err("lower || upper"),
            "1:8: empty stage: expected a stage name between the '|'"
        );
        assert_eq!(
            err(""),
            "1:1: empty pipeline: expected a stage such as 'lower' or 'frequencies'"
        );
        assert_eq!(err("filter /(/"), "1:8: bad regex /(/: unclosed group");
        assert_eq!(
            err("filter /abc"),
            "1:8: unterminated regex: a regex is written /like this/"
        );
        assert_eq!(
            err("lower upper"),
            "1:7: unexpected 'upper' after 'lower' (stages are separated by '|')"
        );
        assert_eq!(
            err("take x"),
            "1:6: expected a whole number after 'take', like take 10"
        );
        assert_eq!(
            err("pluck .a"),
            "1:1: 'pluck' needs JSON records: read JSON lines with --jsonl (automatic for .jsonl and .ndjson files) or parse text with 'json' first"
        );
        assert_eq!(
            err("filter len = 3"),
            "1:12: '=' is not a comparison; use '=='"
        );
        assert_eq!(
            err("lower |\n  uper"),
            "2:3: unknown stage 'uper' (did you mean 'upper'?)"
        );
        assert_eq!(
            err("replace /a/"),
            "1:12: expected the replacement as a string after the regex, like replace /[0-9]+/ \"#\" ($1 names a group)"
        );
        assert_eq!(
            json_err("pluck .a .b"),
            "1:10: unexpected path .b after 'pluck' (stages are separated by '|')"
        );
        assert_eq!(
            json_err("group .a"),
            "1:9: 'group' needs stages and a reduction after it, like group .lang | count"
        );
        assert_eq!(
            json_err("group .a | lower"),
            "1:17: a group needs a reduction after its stages, such as 'count'"
        );
        assert_eq!(
            json_err("group .a | group .b | count"),
            "1:12: groups cannot be nested: one 'group' per reduction"
        );
        assert_eq!(
            json_err("filter .a == 1 an .b"),
            "1:16: unexpected 'an' after 'filter' (stages are separated by '|'; did you mean 'and'?)"
        );
        assert_eq!(
            json_err("filter lenn > 2"),
            "1:8: unexpected 'lenn' in a test (did you mean 'len'?)"
        );
        assert_eq!(
            json_err("filter (.a > 1"),
            "1:15: expected ')', found the end of the pipeline"
        );
        assert_eq!(
            json_err("filter .a in 3"),
            "1:14: expected a list after 'in', like in [\"en\", \"fr\"]"
        );
        assert_eq!(
            json_err("filter /x/ > 3"),
            "1:8: a regex cannot be compared; match it with =~"
        );
        assert_eq!(
            json_err("pluck .a //"),
            "1:12: expected a default value after '//', like .lang // \"none\"; found the end of the pipeline"
        );
        assert_eq!(
            json_err("sample 2"),
            "1:8: expected a probability from 0 to 1 after 'sample', like sample 0.1"
        );
        assert_eq!(
            json_err("pipe \"\""),
            "1:6: expected a command as a string after 'pipe', like pipe \"sort -u\""
        );
        assert_eq!(
            json_err("group .a | pipe \"cat\" | count"),
            "1:12: 'pipe' cannot run inside a group"
        );
        assert_eq!(
            json_err("filter x"),
            "1:8: unexpected 'x' in a test (a field is a path such as .name; a string takes double quotes)"
        );
        assert_eq!(
            json_err("filter 'a'"),
            "1:8: unexpected character ''' (strings take double quotes)"
        );
        assert_eq!(json_err("take 3x"), "1:6: '3x' is not a number");
    }

    #[test]
    fn json_stages_follow_json_results() {
        ok("json | pluck .a | frequencies", InputKind::Text);
        ok("len | filter . > 3", InputKind::Text);
        ok(
            "words | frequencies | filter .count >= 2 | pluck .key",
            InputKind::Text,
        );
        ok("words | count | filter . > 2", InputKind::Text);
        ok("filter . == \"x\" | pluck .", InputKind::Text);
        let e = parse("pluck .a | lower | pluck .b", InputKind::Json).unwrap_err();
        assert_eq!(e.column, 20);
        assert!(parse("words | distinct | pluck .a", InputKind::Text).is_err());
    }

    #[test]
    fn regexes_and_strings_may_hold_pipes_and_slashes() {
        let p = ok(
            r#"filter /a\/b|c/ | replace /x/ "|" | count"#,
            InputKind::Text,
        );
        let Stage::Filter {
            test: Expr::Truthy(Operand::Regex(re)),
            ..
        } = &p.stages[0]
        else {
            panic!()
        };
        assert_eq!(re.regex.as_str(), "a/b|c");
        let Stage::Replace(_, text) = &p.stages[1] else {
            panic!()
        };
        assert_eq!(text, b"|");
    }
}
