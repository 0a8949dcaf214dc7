//! The pipeline language: one shell argument of stages separated by `|`,
//! lexed and parsed into a typed tree before any input is read, with errors
//! that point at the offending spot and suggest what was probably meant.
//!
//! One expression grammar serves every stage that looks at values:
//! `filter`/`remove` take a boolean expression (`and`, `or`, `not`,
//! parentheses, comparisons, `=~`, `in`); `pluck`, `group` and
//! `topk/bottomk ... by` take a projection (a path with an optional
//! `// DEFAULT`, or an array of projections). A reduction's result is a bag
//! again, so stages may follow it.

use std::fmt;

use regex::bytes::Regex;

use super::path::Path;
use crate::json::{Number, Value};

/// A parsed pipeline: element-wise stages, then optionally a reduction
/// whose result flows on through the rest.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
    pub reduce: Option<Box<Reduction>>,
}

/// A reduction and what follows it.
#[derive(Debug, Clone)]
pub struct Reduction {
    /// `group KEY | STAGES... |` before the reduction, when there is one.
    pub group: Option<Group>,
    pub reduce: Reduce,
    /// The stages (and reductions) applied to the reduced bag.
    pub rest: Pipeline,
}

/// `group KEY` and the element-wise stages run on each record of a group.
#[derive(Debug, Clone)]
pub struct Group {
    pub key: Key,
    pub stages: Vec<Stage>,
}

/// What records are grouped by.
#[derive(Debug, Clone)]
pub enum Key {
    /// A value of the record.
    Projection(Projection),
    /// The first capture group (else the whole match) in the record's text;
    /// records without a match are dropped.
    Regex(Pattern),
}

/// An element-wise stage.
#[derive(Debug, Clone)]
pub enum Stage {
    Lower,
    Upper,
    Trim,
    Pluck(Projection),
    Replace(Pattern, Vec<u8>),
    Extract(Pattern),
    Len,
    Json,
    Text,
    /// `filter` keeps the records for which the test holds, `remove` drops
    /// them.
    Filter {
        test: Expr,
        keep: bool,
    },
    NonEmpty,
    Words,
    Split(Separator),
    Chars,
    Explode,
    /// Keep a record when the hash of its text and the seed falls below the
    /// threshold (a fraction of 2^64).
    Sample {
        rate: f64,
        seed: u64,
    },
    /// Run a command over the block's records.
    Pipe(String),
}

/// A regex with the text it was written as.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub regex: Regex,
    /// As written between the slashes, flags after.
    pub shown: String,
}

/// A value taken from a record: a path with a default for when it is
/// missing or null, or an array of projections.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    Path { path: Path, default: Option<Value> },
    Array(Vec<Projection>),
}

/// A boolean test on a record.
#[derive(Debug, Clone)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Compare, Operand),
    /// `=~` (or `!~` when negated).
    Matches(Operand, Pattern, bool),
    In(Operand, Vec<Value>),
    /// An operand alone: present and not null or false; a regex alone
    /// matches the record's text.
    Truthy(Operand),
}

/// A value in an expression.
#[derive(Debug, Clone)]
pub enum Operand {
    Path(Path),
    Literal(Value),
    /// The record's length.
    Len,
    /// A regex alone: whether it matches the record's text.
    Regex(Pattern),
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
    Regex(Pattern),
}

/// A reduction.
#[derive(Debug, Clone, PartialEq)]
pub enum Reduce {
    Frequencies,
    Count,
    Distinct,
    Sum,
    Min,
    Max,
    Mean,
    /// Variance (`std`: its square root) with `ddof` delta degrees of
    /// freedom.
    Var {
        ddof: u64,
        std: bool,
    },
    Summary,
    /// The `k` largest (or, `bottom`, smallest) records, by a projection.
    TopK {
        k: usize,
        by: Option<Projection>,
        bottom: bool,
    },
    Take(u64),
}

impl Reduce {
    /// Whether the reduction's answer is one value.
    pub fn is_scalar(&self) -> bool {
        matches!(
            self,
            Reduce::Count
                | Reduce::Sum
                | Reduce::Min
                | Reduce::Max
                | Reduce::Mean
                | Reduce::Var { .. }
                | Reduce::Summary
        )
    }
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
    Cmp(Compare),
    /// `=~` (false) or `!~` (true).
    Match(bool),
    /// `//`
    Alt,
    Pipe,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
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
            Tok::Regex(re) => format!("regex /{re}/"),
            Tok::Str(s) => format!("string {}", quoted(s)),
            Tok::Num(n) => format!("number {n}"),
            Tok::Path(p) => format!("path {p}"),
            Tok::Cmp(op) => format!("'{op}'"),
            Tok::Match(false) => "'=~'".into(),
            Tok::Match(true) => "'!~'".into(),
            Tok::Alt => "'//'".into(),
            Tok::Pipe => "'|'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::LBrace => "'{'".into(),
            Tok::RBrace => "'}'".into(),
            Tok::Comma => "','".into(),
            Tok::Colon => "':'".into(),
        }
    }
}

fn quoted(text: &str) -> String {
    let mut out = Vec::new();
    crate::json::write_string(text, &mut out);
    String::from_utf8_lossy(&out).into_owned()
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
    let mut parser = Parser {
        tokens,
        next: 0,
        end: text.len(),
    };
    if parser.tokens.is_empty() {
        return Err(error(
            0,
            "empty pipeline: expected a stage such as 'lower' or 'frequencies'".into(),
        ));
    }
    let pipeline = parser
        .pipeline(input == InputKind::Json)
        .map_err(|(at, message)| error(at, message))?;
    Ok(pipeline)
}

fn lex(text: &str) -> Result<Vec<Token>, (usize, String)> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let byte = bytes[at];
        let single = match byte {
            b'|' => Some(Tok::Pipe),
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b'{' => Some(Tok::LBrace),
            b'}' => Some(Tok::RBrace),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        let tok = if let Some(tok) = single {
            at += 1;
            tok
        } else {
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' => {
                    at += 1;
                    continue;
                }
                b'/' if bytes.get(at + 1) == Some(&b'/') => {
                    at += 2;
                    Tok::Alt
                }
                b'/' => {
                    let (pattern, used) = lex_regex(&text[at..]).map_err(|m| (start, m))?;
                    at += used;
                    Tok::Regex(pattern)
                }
                b'"' => match crate::json::parse::parse_prefix(&bytes[at..]) {
                    Ok((Value::String(s), used)) => {
                        at += used;
                        Tok::Str(s)
                    }
                    Err(e) => {
                        return Err((
                            at + e.at,
                            format!(
                                "bad string: {} (strings are JSON strings, like \"a\\tb\")",
                                e.message
                            ),
                        ));
                    }
                    Ok(_) => return Err((start, "bad string".into())),
                },
                b'.' => {
                    let (path, used) =
                        Path::parse_prefix(&text[at..]).map_err(|(m, o)| (at + o, m))?;
                    at += used;
                    Tok::Path(path)
                }
                b'0'..=b'9' | b'-' => {
                    let len = crate::numbers::json_number_len(&bytes[at..]);
                    // A number must end where a word would: `3x` is no number.
                    let end = at
                        + bytes[at..]
                            .iter()
                            .position(|b| !(b.is_ascii_alphanumeric() || b".+-_".contains(b)))
                            .unwrap_or(bytes.len() - at);
                    let word = &text[at..end.max(at + 1)];
                    let number = match len {
                        Some(len) if at + len == end => Number::from_json_text(&text[at..end])
                            .map_err(|_| (start, format!("the number {word} is out of range")))?,
                        _ => return Err((start, format!("'{word}' is not a number"))),
                    };
                    at = end;
                    Tok::Num(number)
                }
                b'=' | b'!' | b'<' | b'>' => {
                    let next = bytes.get(at + 1).copied();
                    let (tok, used) = match (byte, next) {
                        (b'=', Some(b'=')) => (Tok::Cmp(Compare::Eq), 2),
                        (b'!', Some(b'=')) => (Tok::Cmp(Compare::Ne), 2),
                        (b'<', Some(b'=')) => (Tok::Cmp(Compare::Le), 2),
                        (b'>', Some(b'=')) => (Tok::Cmp(Compare::Ge), 2),
                        (b'=', Some(b'~')) => (Tok::Match(false), 2),
                        (b'!', Some(b'~')) => (Tok::Match(true), 2),
                        (b'<', _) => (Tok::Cmp(Compare::Lt), 1),
                        (b'>', _) => (Tok::Cmp(Compare::Gt), 1),
                        (b'=', _) => {
                            return Err((start, "'=' is not a comparison; use '=='".into()));
                        }
                        _ => {
                            return Err((
                                start,
                                "'!' alone means nothing here; use '!=', '!~' or 'not'".into(),
                            ));
                        }
                    };
                    at += used;
                    tok
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
                    let hint = match ch {
                        '\'' => " (strings take double quotes)",
                        '&' => " (use 'and')",
                        _ => "",
                    };
                    return Err((start, format!("unexpected character '{ch}'{hint}")));
                }
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

    /// The whole pipeline; `json` says whether records start as JSON.
    fn pipeline(&mut self, json: bool) -> Parsed<Pipeline> {
        let mut json = json;
        self.segment(&mut json, false)
    }

    /// Stages up to the end; with `in_group`, up to the group's reduction.
    fn segment(&mut self, json: &mut bool, in_group: bool) -> Parsed<Pipeline> {
        let mut stages = Vec::new();
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
            let parsed = self.stage(&name, at, json)?;
            match parsed {
                Parsed2::Stage(stage) => {
                    if in_group && matches!(stage, Stage::Pipe(_)) {
                        return Err((at, "'pipe' cannot run inside a group".into()));
                    }
                    stages.push(stage);
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
                            reduce: None,
                        });
                    }
                }
                Parsed2::Reduce(reduce) => {
                    *json = match reduce {
                        Reduce::Distinct
                        | Reduce::Min
                        | Reduce::Max
                        | Reduce::TopK { .. }
                        | Reduce::Take(_) => *json,
                        _ => true,
                    };
                    if in_group {
                        return Ok(Pipeline {
                            stages,
                            reduce: Some(Box::new(Reduction {
                                group: None,
                                reduce,
                                rest: Pipeline::empty(),
                            })),
                        });
                    }
                    let rest = if self.separator(&name)? {
                        self.segment(json, false)?
                    } else {
                        Pipeline::empty()
                    };
                    return Ok(Pipeline {
                        stages,
                        reduce: Some(Box::new(Reduction {
                            group: None,
                            reduce,
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
                    let inner = self.segment(json, true)?;
                    let Some(reduction) = inner.reduce else {
                        return Err((self.end, "a group needs a reduction".into()));
                    };
                    // A group's result is {"key": ..., "value": ...}.
                    *json = true;
                    let rest = if self.separator(&name)? {
                        self.segment(json, false)?
                    } else {
                        Pipeline::empty()
                    };
                    return Ok(Pipeline {
                        stages,
                        reduce: Some(Box::new(Reduction {
                            group: Some(Group {
                                key,
                                stages: inner.stages,
                            }),
                            reduce: reduction.reduce,
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

    fn stage(&mut self, name: &str, at: usize, json: &mut bool) -> Parsed<Parsed2> {
        let needs_json = |json: bool, what: &str| -> Parsed<()> {
            if json {
                Ok(())
            } else {
                Err((at, needs_json_message(what)))
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
                let projection = self.projection(name)?;
                if !*json && !projection.only_whole_record() {
                    return Err((at, needs_json_message(name)));
                }
                Stage::Pluck(projection)
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
                if self.peek().is_none() || self.peek() == Some(&Tok::Pipe) {
                    return Err((
                        self.here(),
                        format!(
                            "expected what to {name} after '{name}': a regex (/error/), a length (len >= 3) or a JSON comparison (.lang == \"en\")"
                        ),
                    ));
                }
                let test = self.expr(*json)?;
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
                    Some(Tok::Path(_) | Tok::LBracket) => {
                        let projection = self.projection(name)?;
                        if !*json && !projection.only_whole_record() {
                            return Err((at, needs_json_message("group .PATH")));
                        }
                        Key::Projection(projection)
                    }
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
                    let at = self.here();
                    let what = format!("{name} ... by");
                    let projection = self.projection(&what)?;
                    if !*json && !projection.only_whole_record() {
                        return Err((at, needs_json_message(&what)));
                    }
                    Some(projection)
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
        *json = match &stage {
            Stage::Json | Stage::Explode | Stage::Len => true,
            Stage::Pluck(p) => *json || !p.only_whole_record(),
            Stage::Filter { .. } | Stage::NonEmpty | Stage::Sample { .. } => *json,
            _ => false,
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

    fn expr(&mut self, json: bool) -> Parsed<Expr> {
        let mut left = self.and(json)?;
        while self.peek_name("or") {
            self.next += 1;
            let right = self.and(json)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, json: bool) -> Parsed<Expr> {
        let mut left = self.not(json)?;
        while self.peek_name("and") {
            self.next += 1;
            let right = self.not(json)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self, json: bool) -> Parsed<Expr> {
        if self.peek_name("not") {
            self.next += 1;
            return Ok(Expr::Not(Box::new(self.not(json)?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.next += 1;
            let inner = self.expr(json)?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(inner);
        }
        self.comparison(json)
    }

    fn comparison(&mut self, json: bool) -> Parsed<Expr> {
        let at = self.here();
        let left = self.operand(json)?;
        match self.peek().cloned() {
            Some(Tok::Cmp(op)) => {
                self.next += 1;
                if matches!(left, Operand::Regex(_)) {
                    return Err((at, "a regex cannot be compared; match it with =~".into()));
                }
                let at = self.here();
                let right = self.operand(json)?;
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

    fn operand(&mut self, json: bool) -> Parsed<Operand> {
        let at = self.here();
        match self.peek().cloned() {
            Some(Tok::Path(path)) => {
                self.next += 1;
                if !json && !path.is_whole() {
                    return Err((at, needs_json_message(&format!("the path {path}"))));
                }
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

impl Pipeline {
    fn empty() -> Pipeline {
        Pipeline {
            stages: Vec::new(),
            reduce: None,
        }
    }

    /// Whether the pipeline has no stage at all.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty() && self.reduce.is_none()
    }

    /// Whether any stage, at any depth, is `pipe` (its output may depend
    /// on where blocks are cut).
    pub fn has_pipe(&self) -> bool {
        self.stages.iter().any(|s| matches!(s, Stage::Pipe(_)))
            || self.reduce.as_ref().is_some_and(|r| r.rest.has_pipe())
    }

    /// Whether any stage can fail on a record (bad JSON from `json`, a
    /// non-array for `explode`, a failing command).
    pub fn can_fail(&self) -> bool {
        let stage_fails = |s: &Stage| matches!(s, Stage::Json | Stage::Explode | Stage::Pipe(_));
        self.stages.iter().any(stage_fails)
            || self.reduce.as_ref().is_some_and(|r| {
                r.group
                    .as_ref()
                    .is_some_and(|g| g.stages.iter().any(stage_fails))
                    || matches!(
                        r.reduce,
                        Reduce::Sum | Reduce::Mean | Reduce::Var { .. } | Reduce::Summary
                    )
                    || r.rest.can_fail()
            })
    }
}

impl Projection {
    /// Whether the projection reads only `.`, which text records have too.
    pub fn only_whole_record(&self) -> bool {
        match self {
            Projection::Path { path, .. } => path.is_whole(),
            Projection::Array(items) => items.iter().all(Projection::only_whole_record),
        }
    }
}

fn needs_json_message(what: &str) -> String {
    format!(
        "'{what}' needs JSON records: read JSON lines with --jsonl (automatic for .jsonl and .ndjson files) or parse text with 'json' first"
    )
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

fn suggest<'n>(unknown: &str, names: &[&'n str]) -> Option<&'n str> {
    names
        .iter()
        .map(|name| (strsim::damerau_levenshtein(unknown, name), *name))
        .filter(|(distance, name)| *distance <= 2 && *distance < name.len())
        .min()
        .map(|(_, name)| name)
}

// The canonical text of a pipeline: what `--explain` shows, and what
// partial results name to tell whether they come from the same pipeline.

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.stages.iter().map(ToString::to_string).collect();
        if let Some(reduction) = &self.reduce {
            if let Some(group) = &reduction.group {
                parts.push(format!("group {}", group.key));
                parts.extend(group.stages.iter().map(ToString::to_string));
            }
            parts.push(reduction.reduce.to_string());
            if !reduction.rest.is_empty() {
                parts.push(reduction.rest.to_string());
            }
        }
        f.write_str(&parts.join(" | "))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Lower => f.write_str("lower"),
            Stage::Upper => f.write_str("upper"),
            Stage::Trim => f.write_str("trim"),
            Stage::Pluck(p) => write!(f, "pluck {p}"),
            Stage::Replace(re, text) => {
                write!(f, "replace {re} {}", quoted(&String::from_utf8_lossy(text)))
            }
            Stage::Extract(re) => write!(f, "extract {re}"),
            Stage::Len => f.write_str("len"),
            Stage::Json => f.write_str("json"),
            Stage::Text => f.write_str("text"),
            Stage::Filter { test, keep: true } => write!(f, "filter {test}"),
            Stage::Filter { test, keep: false } => write!(f, "remove {test}"),
            Stage::NonEmpty => f.write_str("nonempty"),
            Stage::Words => f.write_str("words"),
            Stage::Split(Separator::Text(sep)) => {
                write!(f, "split {}", quoted(&String::from_utf8_lossy(sep)))
            }
            Stage::Split(Separator::Regex(re)) => write!(f, "split {re}"),
            Stage::Chars => f.write_str("chars"),
            Stage::Explode => f.write_str("explode"),
            Stage::Sample { rate, seed } => write!(f, "sample {rate} seed {seed}"),
            Stage::Pipe(cmd) => write!(f, "pipe {}", quoted(cmd)),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.shown.replace('/', "\\/"))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Projection(p) => p.fmt(f),
            Key::Regex(re) => re.fmt(f),
        }
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Projection::Path {
                path,
                default: None,
            } => path.fmt(f),
            Projection::Path {
                path,
                default: Some(value),
            } => write!(
                f,
                "{path} // {}",
                String::from_utf8_lossy(&value.to_canonical())
            ),
            Projection::Array(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(a, b) => write!(f, "({a} or {b})"),
            Expr::And(a, b) => write!(f, "({a} and {b})"),
            Expr::Not(a) => write!(f, "not {a}"),
            Expr::Compare(a, op, b) => write!(f, "{a} {op} {b}"),
            Expr::Matches(a, re, false) => write!(f, "{a} =~ {re}"),
            Expr::Matches(a, re, true) => write!(f, "{a} !~ {re}"),
            Expr::In(a, items) => {
                write!(
                    f,
                    "{a} in {}",
                    String::from_utf8_lossy(&Value::Array(items.clone()).to_canonical())
                )
            }
            Expr::Truthy(a) => a.fmt(f),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Path(p) => p.fmt(f),
            Operand::Literal(v) => f.write_str(&String::from_utf8_lossy(&v.to_canonical())),
            Operand::Len => f.write_str("len"),
            Operand::Regex(re) => re.fmt(f),
        }
    }
}

impl fmt::Display for Compare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compare::Eq => "==",
            Compare::Ne => "!=",
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
        })
    }
}

impl fmt::Display for Reduce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reduce::Frequencies => f.write_str("frequencies"),
            Reduce::Count => f.write_str("count"),
            Reduce::Distinct => f.write_str("distinct"),
            Reduce::Sum => f.write_str("sum"),
            Reduce::Min => f.write_str("min"),
            Reduce::Max => f.write_str("max"),
            Reduce::Mean => f.write_str("mean"),
            Reduce::Var { ddof, std } => {
                let name = if *std { "std" } else { "var" };
                write!(f, "{name} {ddof}")
            }
            Reduce::Summary => f.write_str("summary"),
            Reduce::TopK { k, by, bottom } => {
                let name = if *bottom { "bottomk" } else { "topk" };
                match by {
                    Some(by) => write!(f, "{name} {k} by {by}"),
                    None => write!(f, "{name} {k}"),
                }
            }
            Reduce::Take(n) => write!(f, "take {n}"),
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
