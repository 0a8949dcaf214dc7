//! The pipeline language: one shell argument of stages separated by `|`,
//! parsed and checked before any input is read, with errors that point at
//! the offending spot.
//!
//! Tokens: names (`lower`), regexes (`/[0-9]+/`, flags `i m s x` after the
//! closing slash, `\/` for a slash), JSON strings (`"a b"`), numbers, JSON
//! paths (`.a.b[0]`), comparisons (`== != < <= > >=`) and `|`. A `|` inside a
//! regex or a string belongs to it.

use regex::bytes::Regex;
use serde_json::{Number, Value};

use super::path::Path;

/// A parsed pipeline: element-wise stages, then at most one reduction.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
    pub reduce: Option<Reduce>,
}

/// An element-wise stage.
#[derive(Debug, Clone)]
pub enum Stage {
    Lower,
    Upper,
    Trim,
    Pluck(Path),
    Replace(Regex, Vec<u8>),
    Extract(Regex),
    Len,
    Json,
    Text,
    /// `filter` keeps the records that match, `remove` drops them.
    Filter {
        test: Test,
        keep: bool,
    },
    NonEmpty,
    Words,
    Split(Separator),
    Chars,
    Explode,
}

/// What a `filter` or `remove` checks.
#[derive(Debug, Clone)]
pub enum Test {
    /// The record's text contains a match.
    Matches(Regex),
    /// The record's length compared with a number.
    Len(Compare, Number),
    /// The value at a path compared with a literal.
    Path(Path, Compare, Value),
    /// The value at a path exists and is neither null nor false.
    Truthy(Path),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// What `split` cuts at.
#[derive(Debug, Clone)]
pub enum Separator {
    Text(Vec<u8>),
    Regex(Regex),
}

/// The final reduction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reduce {
    Frequencies,
    Count,
    Distinct,
    Sum,
    Min,
    Max,
    Mean,
    TopK { k: usize, by: Option<Path> },
    Take(u64),
}

/// A pipeline that does not parse: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

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
    "split",
    "chars",
    "explode",
    "frequencies",
    "freq",
    "count",
    "distinct",
    "sum",
    "min",
    "max",
    "mean",
    "topk",
    "take",
];

/// What the records are when they enter the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Regex(String),
    Str(String),
    Num(Number),
    Path(Path),
    Op(Compare),
    Pipe,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    at: usize,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Name(name) => format!("'{name}'"),
            Tok::Regex(re) => format!("the regex /{re}/"),
            Tok::Str(s) => format!("the string {}", Value::String(s.clone())),
            Tok::Num(n) => format!("the number {n}"),
            Tok::Path(p) => format!("the path {p}"),
            Tok::Op(_) => "a comparison".into(),
            Tok::Pipe => "'|'".into(),
        }
    }
}

/// Parse `text`, and check that every stage gets the kind of record it
/// needs when the input is `input`.
///
/// # Errors
/// The first problem, with its line and column in `text`.
pub fn parse(text: &str, input: InputKind) -> Result<Pipeline, ParseError> {
    let error = |at: usize, message: String| {
        let before = &text[..at.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        ParseError {
            line,
            column: before[line_start..].chars().count() + 1,
            message,
        }
    };
    let tokens = lex(text).map_err(|(at, message)| error(at, message))?;
    Parser {
        tokens,
        next: 0,
        end: text.len(),
        kind: input,
    }
    .pipeline()
    .map_err(|(at, message)| error(at, message))
}

fn lex(text: &str) -> Result<Vec<Token>, (usize, String)> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let byte = bytes[at];
        let tok = match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {
                at += 1;
                continue;
            }
            b'|' => {
                at += 1;
                Tok::Pipe
            }
            b'/' => {
                let (pattern, used) = lex_regex(&text[at..]).map_err(|m| (start, m))?;
                at += used;
                Tok::Regex(pattern)
            }
            b'"' => {
                let mut stream =
                    serde_json::Deserializer::from_str(&text[at..]).into_iter::<String>();
                match stream.next() {
                    Some(Ok(s)) => {
                        at += stream.byte_offset();
                        Tok::Str(s)
                    }
                    _ => {
                        return Err((
                            start,
                            "unterminated or malformed string (strings are JSON strings, like \"a\\tb\")"
                                .into(),
                        ));
                    }
                }
            }
            b'.' => {
                let (path, used) = Path::parse_prefix(&text[at..]).map_err(|(m, o)| (at + o, m))?;
                at += used;
                Tok::Path(path)
            }
            b'0'..=b'9' | b'-' => {
                let end = text[at + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-')))
                    .map_or(text.len(), |i| at + 1 + i);
                let number: Number = text[at..end]
                    .parse()
                    .map_err(|_| (start, format!("'{}' is not a number", &text[at..end])))?;
                at = end;
                Tok::Num(number)
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = bytes.get(at + 1) == Some(&b'=');
                let op = match (byte, two) {
                    (b'=', true) => Compare::Eq,
                    (b'!', true) => Compare::Ne,
                    (b'<', true) => Compare::Le,
                    (b'>', true) => Compare::Ge,
                    (b'<', false) => Compare::Lt,
                    (b'>', false) => Compare::Gt,
                    (b'=', false) => {
                        return Err((start, "'=' is not a comparison; use '=='".into()));
                    }
                    _ => return Err((start, "'!' is not a comparison; use '!='".into())),
                };
                at += if two { 2 } else { 1 };
                Tok::Op(op)
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while bytes
                    .get(at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    at += 1;
                }
                Tok::Name(text[start..at].to_owned())
            }
            _ => {
                let ch = text[at..].chars().next().unwrap_or('?');
                return Err((start, format!("unexpected character '{ch}'")));
            }
        };
        tokens.push(Token { tok, at: start });
    }
    Ok(tokens)
}

/// `/pattern/flags`: the pattern with `\/` unescaped, and the flags folded
/// into it as `(?flags)`.
fn lex_regex(text: &str) -> Result<(String, usize), String> {
    let mut pattern = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((at, ch)) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some((_, '/')) => pattern.push('/'),
                Some((_, other)) => {
                    pattern.push('\\');
                    pattern.push(other);
                }
                None => break,
            },
            '/' => {
                let rest = &text[at + 1..];
                let flags: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                if let Some(bad) = flags.chars().find(|c| !"imsx".contains(*c)) {
                    return Err(format!("unknown regex flag '{bad}' (flags are i, m, s, x)"));
                }
                if !flags.is_empty() {
                    pattern = format!("(?{flags}){pattern}");
                }
                return Ok((pattern, at + 1 + flags.len()));
            }
            _ => pattern.push(ch),
        }
    }
    Err("unterminated regex: a regex is written /like this/".into())
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    end: usize,
    kind: InputKind,
}

type Parsed<T> = Result<T, (usize, String)>;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.at)
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn pipeline(mut self) -> Parsed<Pipeline> {
        let mut stages = Vec::new();
        let mut reduce: Option<(Reduce, String)> = None;
        // Whether records are known to be JSON values at this point.
        let mut json = self.kind == InputKind::Json;
        if self.tokens.is_empty() {
            return Err((
                0,
                "empty pipeline: expected a stage such as 'lower' or 'frequencies'".into(),
            ));
        }
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
            if let Some((_, previous)) = &reduce {
                return Err((
                    at,
                    format!(
                        "'{previous}' is a reduction and must be the last stage; '{name}' cannot follow it"
                    ),
                ));
            }
            match self.stage(&name, at, &mut json)? {
                Parsed2::Stage(stage) => stages.push(stage),
                Parsed2::Reduce(r) => reduce = Some((r, name.clone())),
            }
            match self.take() {
                None => break,
                Some(Token { tok: Tok::Pipe, .. }) => {
                    if self.peek().is_none() {
                        return Err((self.end, "expected a stage after the last '|'".into()));
                    }
                }
                Some(token) => {
                    return Err((
                        token.at,
                        format!(
                            "unexpected {} after '{name}' (stages are separated by '|')",
                            token.tok.describe()
                        ),
                    ));
                }
            }
        }
        Ok(Pipeline {
            stages,
            reduce: reduce.map(|(r, _)| r),
        })
    }

    fn stage(&mut self, name: &str, at: usize, json: &mut bool) -> Parsed<Parsed2> {
        let needs_json = |json: bool, what: &str| -> Parsed<()> {
            if json {
                Ok(())
            } else {
                Err((
                    at,
                    format!(
                        "'{what}' needs JSON records: read JSON lines with --jsonl (automatic for .jsonl and .ndjson files) or parse text with 'json' first"
                    ),
                ))
            }
        };
        let stage = match name {
            "lower" => Stage::Lower,
            "upper" => Stage::Upper,
            "trim" => Stage::Trim,
            "len" => Stage::Len,
            "json" => Stage::Json,
            "text" => Stage::Text,
            "nonempty" => Stage::NonEmpty,
            "words" => Stage::Words,
            "chars" => Stage::Chars,
            "explode" => {
                needs_json(*json, name)?;
                Stage::Explode
            }
            "pluck" => {
                needs_json(*json, name)?;
                Stage::Pluck(self.path(name)?)
            }
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
                let test = self.test(name, *json)?;
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
            "frequencies" | "freq" => return Ok(Parsed2::Reduce(Reduce::Frequencies)),
            "count" => return Ok(Parsed2::Reduce(Reduce::Count)),
            "distinct" => return Ok(Parsed2::Reduce(Reduce::Distinct)),
            "sum" => return Ok(Parsed2::Reduce(Reduce::Sum)),
            "min" => return Ok(Parsed2::Reduce(Reduce::Min)),
            "max" => return Ok(Parsed2::Reduce(Reduce::Max)),
            "mean" => return Ok(Parsed2::Reduce(Reduce::Mean)),
            "take" => return Ok(Parsed2::Reduce(Reduce::Take(self.count(name)?))),
            "topk" => {
                let k = usize::try_from(self.count(name)?).unwrap_or(usize::MAX);
                let by = match self.peek() {
                    Some(Token {
                        tok: Tok::Name(word),
                        ..
                    }) if word == "by" => {
                        self.take();
                        needs_json(*json, "topk ... by")?;
                        Some(self.path("topk ... by")?)
                    }
                    _ => None,
                };
                return Ok(Parsed2::Reduce(Reduce::TopK { k, by }));
            }
            unknown => {
                let hint = suggest(unknown)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                return Err((at, format!("unknown stage '{unknown}'{hint}")));
            }
        };
        *json = match stage {
            Stage::Pluck(_) | Stage::Json | Stage::Explode | Stage::Len => true,
            Stage::Filter { .. } | Stage::NonEmpty => *json,
            _ => false,
        };
        Ok(Parsed2::Stage(stage))
    }

    fn path(&mut self, what: &str) -> Parsed<Path> {
        let at = self.here();
        match self.take() {
            Some(Token {
                tok: Tok::Path(path),
                ..
            }) => Ok(path),
            _ => Err((
                at,
                format!("expected a JSON path after '{what}', like .user.name or .tags[0]"),
            )),
        }
    }

    fn regex(&mut self, what: &str, example: &str) -> Parsed<Regex> {
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
        match self.take() {
            Some(Token {
                tok: Tok::Num(n), ..
            }) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or(0)),
            _ => Err((
                at,
                format!("expected a whole number after '{what}', like {what} 10"),
            )),
        }
    }

    fn test(&mut self, what: &str, json: bool) -> Parsed<Test> {
        let at = self.here();
        let expected = || {
            format!(
                "expected what to {what} after '{what}': a regex (/error/), a length (len >= 3) or a JSON path comparison (.lang == \"en\")"
            )
        };
        match self.take().map(|t| t.tok) {
            Some(Tok::Regex(re)) => Ok(Test::Matches(compile(&re, at)?)),
            Some(Tok::Name(name)) if name == "len" => {
                let op = self.op()?;
                let at = self.here();
                match self.take().map(|t| t.tok) {
                    Some(Tok::Num(n)) => Ok(Test::Len(op, n)),
                    _ => Err((at, "expected a number to compare the length with".into())),
                }
            }
            Some(Tok::Path(path)) => {
                if !json {
                    return Err((
                        at,
                        format!(
                            "'{what} {path}' needs JSON records: read JSON lines with --jsonl (automatic for .jsonl and .ndjson files) or parse text with 'json' first"
                        ),
                    ));
                }
                if !matches!(
                    self.peek(),
                    Some(Token {
                        tok: Tok::Op(_),
                        ..
                    })
                ) {
                    return Ok(Test::Truthy(path));
                }
                let op = self.op()?;
                let at = self.here();
                let literal = match self.take().map(|t| t.tok) {
                    Some(Tok::Num(n)) => Value::Number(n),
                    Some(Tok::Str(s)) => Value::String(s),
                    Some(Tok::Name(n)) if n == "true" => Value::Bool(true),
                    Some(Tok::Name(n)) if n == "false" => Value::Bool(false),
                    Some(Tok::Name(n)) if n == "null" => Value::Null,
                    _ => {
                        return Err((at, "expected a value to compare with: a number, a \"string\", true, false or null".into()));
                    }
                };
                Ok(Test::Path(path, op, literal))
            }
            _ => Err((at, expected())),
        }
    }

    fn op(&mut self) -> Parsed<Compare> {
        let at = self.here();
        match self.take().map(|t| t.tok) {
            Some(Tok::Op(op)) => Ok(op),
            _ => Err((at, "expected a comparison: == != < <= > >=".into())),
        }
    }
}

enum Parsed2 {
    Stage(Stage),
    Reduce(Reduce),
}

fn compile(pattern: &str, at: usize) -> Parsed<Regex> {
    Regex::new(pattern).map_err(|e| {
        let detail = match e {
            regex::Error::Syntax(text) => text
                .lines()
                .last()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_owned(),
            other => other.to_string(),
        };
        (at, format!("bad regex /{pattern}/: {detail}"))
    })
}

fn suggest(unknown: &str) -> Option<&'static str> {
    STAGE_NAMES
        .iter()
        .map(|name| (strsim::damerau_levenshtein(unknown, name), *name))
        .filter(|(distance, name)| *distance <= 2 && *distance < name.len())
        .min()
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text, including broken syntax and multi-byte characters at
        /// every position, gives a pipeline or an error, never a panic.
        #[test]
        fn parsing_never_panics(
            pieces in proptest::collection::vec(prop_oneof![
                Just("pluck"), Just("filter"), Just("split"), Just("replace"), Just("topk"), Just("by"),
                Just("take"), Just("len"), Just("|"), Just(" "), Just("."), Just(".a"), Just("["), Just("]"),
                Just("\""), Just("/"), Just("\\"), Just("=="), Just("<"), Just("-"), Just("1e"), Just("9"),
                Just("é"), Just("\u{1f600}"), Just("\n"), Just("x"), Just("/i"), Just("(")
            ], 0..12),
            unicode in "\\PC{0,6}",
            json in any::<bool>(),
        ) {
            let text = pieces.concat() + &unicode;
            let kind = if json { InputKind::Json } else { InputKind::Text };
            if let Err(e) = parse(&text, kind) {
                prop_assert!(e.line >= 1 && e.column >= 1);
            }
        }
    }

    fn err(text: &str) -> String {
        let e = parse(text, InputKind::Text).unwrap_err();
        format!("{}:{}: {}", e.line, e.column, e.message)
    }

    fn ok(text: &str, kind: InputKind) -> Pipeline {
        parse(text, kind).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    #[test]
    fn every_stage_parses() {
        let p = ok(
            r#"lower | upper | trim | replace /a|b/ "x" | extract /(\w+)=/ | len | json | text | filter /x/i | remove len < 3 | nonempty | words | split "," | split /\s+/ | chars | frequencies"#,
            InputKind::Text,
        );
        assert_eq!(p.stages.len(), 15);
        assert_eq!(p.reduce, Some(Reduce::Frequencies));
        let p = ok(
            r#"pluck .a["b c"][0] | filter .n >= -2.5 | filter .ok | explode | topk 3 by .score"#,
            InputKind::Json,
        );
        assert_eq!(p.stages.len(), 4);
        assert_eq!(
            p.reduce,
            Some(Reduce::TopK {
                k: 3,
                by: Some(Path::parse_prefix(".score").unwrap().0)
            })
        );
        for (text, reduce) in [
            ("freq", Reduce::Frequencies),
            ("count", Reduce::Count),
            ("distinct", Reduce::Distinct),
            ("sum", Reduce::Sum),
            ("min", Reduce::Min),
            ("max", Reduce::Max),
            ("mean", Reduce::Mean),
            ("take 5", Reduce::Take(5)),
            ("topk 2", Reduce::TopK { k: 2, by: None }),
        ] {
            assert_eq!(ok(text, InputKind::Text).reduce, Some(reduce), "{text}");
        }
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
        assert_eq!(
            err("count | lower"),
            "1:9: 'count' is a reduction and must be the last stage; 'lower' cannot follow it"
        );
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
    }

    #[test]
    fn json_stages_are_allowed_after_json() {
        ok("json | pluck .a | frequencies", InputKind::Text);
        ok("len | filter . > 3", InputKind::Text);
        let e = parse("pluck .a | lower | pluck .b", InputKind::Json).unwrap_err();
        assert_eq!(e.column, 20);
    }

    #[test]
    fn regexes_and_strings_may_hold_pipes_and_slashes() {
        let p = ok(
            r#"filter /a\/b|c/ | replace /x/ "|" | count"#,
            InputKind::Text,
        );
        let Stage::Filter {
            test: Test::Matches(re),
            ..
        } = &p.stages[0]
        else {
            panic!()
        };
        assert_eq!(re.as_str(), "a/b|c");
        let Stage::Replace(_, text) = &p.stages[1] else {
            panic!()
        };
        assert_eq!(text, b"|");
    }
}
