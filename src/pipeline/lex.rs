//! The pipeline language's tokens: names, regexes (`/.../flags`), JSON
//! strings and numbers, paths, operators and punctuation, each with the
//! byte offset it starts at.

use super::ast::Compare;
use super::display::quoted;
use super::path::Path;
use crate::json::{Number, Value};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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
pub(super) struct Token {
    pub tok: Tok,
    pub at: usize,
}

impl Tok {
    pub fn describe(&self) -> String {
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

pub(super) fn lex(text: &str) -> Result<Vec<Token>, (usize, String)> {
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
