//! JSON as Open vSwitch's library holds, parses and prints it.
//!
//! The tools' output is made of JSON text in places, and matching it byte
//! for byte needs Open vSwitch's rules rather than serde_json's:
//!
//! - objects keep their members in a [`Shash`], so printing without sorting
//!   follows Open vSwitch's hash order, and printing with sorting orders
//!   names bytewise;
//! - numbers are integers when they are integral and fit in 64 bits, reals
//!   otherwise, and reals print as `%.15g` (`1e+20`, `0.1`, `2`);
//! - strings escape `"`, `\\` and control characters only;
//! - pretty printing indents by two spaces and puts an empty object's `}`
//!   on a line of its own;
//! - parse errors read "line L, column C, byte B: ...", which the tools
//!   print when an argument is not JSON.
//!
//! [`Parser`] is incremental: [`Parser::feed`] takes bytes and stops after
//! one complete value when asked to (for JSON-RPC streams).

use std::fmt::Write as _;

use crate::shash::Shash;

#[derive(Clone, Debug)]
pub enum Json {
    Null,
    False,
    True,
    Object(Shash<Json>),
    Array(Vec<Json>),
    Integer(i64),
    Real(f64),
    String(String),
}

/// `JSSF_PRETTY`: one member or element per line, indented.
pub const PRETTY: u32 = 1;
/// `JSSF_SORT`: object members in bytewise order of their names.
pub const SORT: u32 = 2;

/// Deepest nesting the parser accepts, as Open vSwitch's.
const MAX_HEIGHT: usize = 1000;

impl Json {
    pub fn string(s: impl Into<String>) -> Json {
        Json::String(s.into())
    }

    pub fn bool(b: bool) -> Json {
        if b { Json::True } else { Json::False }
    }

    pub fn object() -> Json {
        Json::Object(Shash::new())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Shash<Json>> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Shash<Json>> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A member of an object (`None` for non-objects).
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.as_object()?.get(name)
    }

    /// `json_object_put`: sets a member of an object (no effect otherwise).
    pub fn put(&mut self, name: &str, value: Json) {
        if let Json::Object(o) = self {
            o.replace(name, value);
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// `json_equal`: objects compare as sets of members.
    pub fn equal(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Null, Json::Null) | (Json::False, Json::False) | (Json::True, Json::True) => true,
            (Json::Integer(a), Json::Integer(b)) => a == b,
            (Json::Real(a), Json::Real(b)) => a == b,
            (Json::String(a), Json::String(b)) => a == b,
            (Json::Array(a), Json::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equal(y)),
            (Json::Object(a), Json::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.equal(w)))
            }
            _ => false,
        }
    }

    /// The text, as `json_to_string(json, flags)` makes it.
    pub fn to_text(&self, flags: u32) -> String {
        let mut out = String::new();
        serialize(self, flags, 0, &mut out);
        out
    }

    /// Parses a whole text (`json_from_string`): exactly one object or
    /// array, nothing after it. The error is Open vSwitch's message.
    pub fn parse(text: &[u8]) -> Result<Json, String> {
        let mut p = Parser::new(true);
        p.feed(text);
        p.finish()
    }

    /// The same value as serde_json holds it (members in serde's order).
    pub fn to_serde(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Json::Null => Value::Null,
            Json::False => Value::Bool(false),
            Json::True => Value::Bool(true),
            Json::Integer(i) => Value::from(*i),
            Json::Real(r) => serde_json::Number::from_f64(*r).map_or(Value::Null, Value::Number),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(a) => Value::Array(a.iter().map(Json::to_serde).collect()),
            Json::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.to_string(), v.to_serde())).collect()),
        }
    }

    /// A serde_json value as Open vSwitch would hold it; object members are
    /// inserted in serde's (sorted) order.
    pub fn from_serde(v: &serde_json::Value) -> Json {
        use serde_json::Value;
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Json::Integer(i),
                None => Json::Real(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Json::String(s.clone()),
            Value::Array(a) => Json::Array(a.iter().map(Json::from_serde).collect()),
            Value::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), Json::from_serde(v))).collect()),
        }
    }
}

// ----- printing -----

fn indent(flags: u32, depth: usize, out: &mut String) {
    if flags & PRETTY != 0 {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', 2 * depth));
    }
}

fn serialize(json: &Json, flags: u32, depth: usize, out: &mut String) {
    match json {
        Json::Null => out.push_str("null"),
        Json::False => out.push_str("false"),
        Json::True => out.push_str("true"),
        Json::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Json::Real(r) => out.push_str(&ovsdb::display::format_g(*r, 15)),
        Json::String(s) => write_string(s, out),
        Json::Array(a) => {
            out.push('[');
            if !a.is_empty() {
                indent(flags, depth + 1, out);
                for (i, e) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        indent(flags, depth + 1, out);
                    }
                    serialize(e, flags, depth + 1, out);
                }
            }
            out.push(']');
        }
        Json::Object(o) => {
            out.push('{');
            indent(flags, depth + 1, out);
            let members: Vec<(&str, &Json)> = if flags & SORT != 0 {
                o.sorted()
            } else {
                o.iter().collect()
            };
            for (i, (name, value)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    indent(flags, depth + 1, out);
                }
                write_string(name, out);
                out.push(':');
                if flags & PRETTY != 0 {
                    out.push(' ');
                }
                serialize(value, flags, depth + 1, out);
            }
            out.push('}');
        }
    }
}

/// A JSON string literal: `"` and `\` escaped, control characters as
/// `\b \t \n \f \r` or `\u00XX`, everything else as is.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ----- parsing -----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lex {
    Start,
    Keyword,
    Number,
    String,
    Escape,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Start,
    End,
    ObjectInit,
    ObjectName,
    ObjectColon,
    ObjectValue,
    ObjectNext,
    ArrayInit,
    ArrayValue,
    ArrayNext,
}

#[derive(Debug)]
enum Token {
    Punct(u8),
    False,
    True,
    Null,
    Integer(i64),
    Real(f64),
    String(String),
}

/// An incremental JSON parser with Open vSwitch's grammar, limits and
/// error messages.
pub struct Parser {
    /// Accept whitespace only after the value (`JSPF_TRAILER`); without
    /// it, parsing stops right after the first complete value.
    trailer: bool,
    lex: Lex,
    state: State,
    /// Open containers, innermost last, with the name of the member being
    /// parsed for objects.
    stack: Vec<(Json, Option<String>)>,
    /// The token being lexed.
    buffer: Vec<u8>,
    line: u64,
    column: u64,
    byte: u64,
    error: Option<String>,
    done: bool,
    result: Option<Json>,
}

impl Parser {
    pub fn new(trailer: bool) -> Parser {
        Parser {
            trailer,
            lex: Lex::Start,
            state: State::Start,
            stack: Vec::new(),
            buffer: Vec::new(),
            line: 0,
            column: 0,
            byte: 0,
            error: None,
            done: false,
            result: None,
        }
    }

    /// True once a complete value was read (without `trailer`) or an error
    /// was found: [`Parser::finish`] then gives the outcome.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether any value has begun (for telling a clean end of stream
    /// from one in the middle of a message).
    pub fn is_started(&self) -> bool {
        self.state != State::Start || self.lex != Lex::Start
    }

    fn account(&mut self, c: u8) {
        self.byte += 1;
        if c == b'\n' {
            self.column = 0;
            self.line += 1;
        } else {
            self.column += 1;
        }
    }

    fn fail(&mut self, msg: impl std::fmt::Display) {
        if self.error.is_none() {
            self.error = Some(format!(
                "line {}, column {}, byte {}: {msg}",
                self.line, self.column, self.byte
            ));
            self.done = true;
        }
    }

    /// Feeds bytes; returns how many were consumed (fewer than given only
    /// once the parser is done).
    pub fn feed(&mut self, input: &[u8]) -> usize {
        let mut i = 0;
        while !self.done && i < input.len() {
            let c = input[i];
            let mut consumed = true;
            match self.lex {
                Lex::Start => match c {
                    b' ' | b'\t' | b'\n' | b'\r' => {}
                    b'a'..=b'z' => {
                        self.lex = Lex::Keyword;
                        self.buffer.push(c);
                    }
                    b'[' | b'{' | b']' | b'}' | b':' | b',' => self.input(Token::Punct(c)),
                    b'-' | b'0'..=b'9' => {
                        self.lex = Lex::Number;
                        self.buffer.push(c);
                    }
                    b'"' => self.lex = Lex::String,
                    _ => {
                        if (0x20..0x7f).contains(&c) {
                            self.fail(format_args!("invalid character '{}'", c as char));
                        } else {
                            self.fail(format_args!("invalid character U+{c:04x}"));
                        }
                    }
                },
                Lex::Keyword => {
                    if c.is_ascii_alphabetic() {
                        self.buffer.push(c);
                    } else {
                        self.lex_keyword();
                        consumed = false;
                    }
                }
                Lex::Number => {
                    if b".0123456789eE-+".contains(&c) {
                        self.buffer.push(c);
                    } else {
                        self.lex_number();
                        consumed = false;
                    }
                }
                Lex::String => {
                    if c == b'\\' {
                        self.buffer.push(c);
                        self.lex = Lex::Escape;
                    } else if c == b'"' {
                        self.lex_string();
                    } else if c < 0x20 {
                        self.fail(format_args!("U+{c:04X} must be escaped in quoted string"));
                    } else {
                        self.buffer.push(c);
                    }
                }
                Lex::Escape => {
                    self.buffer.push(c);
                    self.lex = Lex::String;
                }
            }
            if consumed {
                self.account(c);
                i += 1;
            }
        }
        i
    }

    /// Ends the input and returns the value, or Open vSwitch's message for
    /// what was wrong with it.
    pub fn finish(mut self) -> Result<Json, String> {
        match self.lex {
            Lex::Start => {}
            Lex::String | Lex::Escape => self.fail("unexpected end of input in quoted string"),
            Lex::Number | Lex::Keyword => {
                self.feed(b" ");
            }
        }
        if self.state == State::Start {
            self.fail("empty input stream");
        } else if self.state != State::End {
            self.fail("unexpected end of input");
        }
        match (self.error, self.result) {
            (Some(e), _) => Err(e),
            (None, Some(v)) => Ok(v),
            (None, None) => Err("unexpected end of input".into()),
        }
    }

    fn lex_keyword(&mut self) {
        let token = match &self.buffer[..] {
            b"false" => Token::False,
            b"true" => Token::True,
            b"null" => Token::Null,
            other => {
                let word = String::from_utf8_lossy(other).into_owned();
                self.fail(format_args!("invalid keyword '{word}'"));
                return;
            }
        };
        self.input(token);
    }

    fn lex_number(&mut self) {
        match lex_number(&self.buffer) {
            Ok(token) => self.input(token),
            Err(e) => self.fail(e),
        }
    }

    fn lex_string(&mut self) {
        let raw = std::mem::take(&mut self.buffer);
        let cooked = if raw.contains(&b'\\') { unescape(&raw) } else { Ok(raw) };
        match cooked {
            Ok(bytes) => {
                let s = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                self.input(Token::String(s));
            }
            Err(e) => self.fail(e),
        }
    }

    fn put_value(&mut self, value: Json) {
        if let Some((top, name)) = self.stack.last_mut() {
            match top {
                Json::Object(o) => {
                    o.replace(name.take().unwrap_or_default(), value);
                }
                Json::Array(a) => a.push(value),
                _ => {}
            }
        }
    }

    fn push(&mut self, container: Json, state: State) {
        if self.stack.len() < MAX_HEIGHT {
            self.stack.push((container, None));
            self.state = state;
        } else {
            self.fail(format_args!("input exceeds maximum nesting depth {MAX_HEIGHT}"));
        }
    }

    fn pop(&mut self) {
        let Some((value, _)) = self.stack.pop() else { return };
        match self.stack.last() {
            None => {
                self.result = Some(value);
                self.state = State::End;
                if !self.trailer {
                    self.done = true;
                }
            }
            Some((parent, _)) => {
                self.state = if matches!(parent, Json::Array(_)) {
                    State::ArrayNext
                } else {
                    State::ObjectNext
                };
                self.put_value(value);
            }
        }
    }

    fn parse_value(&mut self, token: Token, next: State) {
        let value = match token {
            Token::False => Json::False,
            Token::True => Json::True,
            Token::Null => Json::Null,
            Token::Integer(i) => Json::Integer(i),
            Token::Real(r) => Json::Real(r),
            Token::String(s) => Json::String(s),
            Token::Punct(b'{') => return self.push(Json::object(), State::ObjectInit),
            Token::Punct(b'[') => return self.push(Json::Array(Vec::new()), State::ArrayInit),
            Token::Punct(_) => return self.fail("syntax error expecting value"),
        };
        self.put_value(value);
        self.state = next;
    }

    fn input(&mut self, token: Token) {
        match self.state {
            State::Start => match token {
                Token::Punct(b'{') => self.push(Json::object(), State::ObjectInit),
                Token::Punct(b'[') => self.push(Json::Array(Vec::new()), State::ArrayInit),
                _ => self.fail("syntax error at beginning of input"),
            },
            State::End => self.fail("trailing garbage at end of input"),
            State::ObjectInit | State::ObjectName => match token {
                Token::Punct(b'}') if self.state == State::ObjectInit => self.pop(),
                Token::String(s) => {
                    if let Some(top) = self.stack.last_mut() {
                        top.1 = Some(s);
                    }
                    self.state = State::ObjectColon;
                }
                _ => self.fail("syntax error parsing object expecting string"),
            },
            State::ObjectColon => match token {
                Token::Punct(b':') => self.state = State::ObjectValue,
                _ => self.fail("syntax error parsing object expecting ':'"),
            },
            State::ObjectValue => self.parse_value(token, State::ObjectNext),
            State::ObjectNext => match token {
                Token::Punct(b',') => self.state = State::ObjectName,
                Token::Punct(b'}') => self.pop(),
                _ => self.fail("syntax error expecting '}' or ','"),
            },
            State::ArrayInit | State::ArrayValue => match token {
                Token::Punct(b']') if self.state == State::ArrayInit => self.pop(),
                token => self.parse_value(token, State::ArrayNext),
            },
            State::ArrayNext => match token {
                Token::Punct(b',') => self.state = State::ArrayValue,
                Token::Punct(b']') => self.pop(),
                _ => self.fail("syntax error expecting ']' or ','"),
            },
        }
        self.lex = Lex::Start;
        self.buffer.clear();
    }
}

/// A number token, classified as Open vSwitch does: an integer if it is
/// integral and fits in 64 bits (`1e2` is the integer 100), else a real.
fn lex_number(text: &[u8]) -> Result<Token, &'static str> {
    let mut cp = 0;
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    let negative = at(0) == b'-';
    if negative {
        cp += 1;
    }
    let mut significand: u64 = 0;
    let mut pow10: i64 = 0;
    let mut imprecise = false;
    if at(cp) == b'0' {
        cp += 1;
        if at(cp).is_ascii_digit() {
            return Err("leading zeros not allowed");
        }
    } else if at(cp).is_ascii_digit() {
        while at(cp).is_ascii_digit() {
            let d = (at(cp) - b'0') as u64;
            if significand <= u64::MAX / 10 {
                significand = significand.wrapping_mul(10).wrapping_add(d);
            } else {
                pow10 += 1;
                if d != 0 {
                    imprecise = true;
                }
            }
            cp += 1;
        }
    } else {
        return Err("'-' must be followed by digit");
    }
    if at(cp) == b'.' {
        cp += 1;
        if !at(cp).is_ascii_digit() {
            return Err("decimal point must be followed by digit");
        }
        while at(cp).is_ascii_digit() {
            let d = (at(cp) - b'0') as u64;
            if significand <= u64::MAX / 10 {
                significand = significand.wrapping_mul(10).wrapping_add(d);
                pow10 -= 1;
            } else if d != 0 {
                imprecise = true;
            }
            cp += 1;
        }
    }
    if at(cp) == b'e' || at(cp) == b'E' {
        cp += 1;
        let mut negative_exponent = false;
        if at(cp) == b'+' {
            cp += 1;
        } else if at(cp) == b'-' {
            negative_exponent = true;
            cp += 1;
        }
        if !at(cp).is_ascii_digit() {
            return Err("exponent must contain at least one digit");
        }
        let mut exponent: i64 = 0;
        while at(cp).is_ascii_digit() {
            if exponent >= (i32::MAX / 10) as i64 {
                return Err("exponent outside valid range");
            }
            exponent = exponent * 10 + (at(cp) - b'0') as i64;
            cp += 1;
        }
        if negative_exponent {
            if pow10 < i32::MIN as i64 + exponent {
                return Err("exponent outside valid range");
            }
            pow10 -= exponent;
        } else {
            if pow10 > i32::MAX as i64 - exponent {
                return Err("exponent outside valid range");
            }
            pow10 += exponent;
        }
    }
    if cp != text.len() {
        return Err("syntax error in number");
    }
    if significand == 0 {
        return Ok(Token::Integer(0));
    }
    if !imprecise {
        while pow10 > 0 && significand < u64::MAX / 10 {
            significand *= 10;
            pow10 -= 1;
        }
        #[allow(
            clippy::manual_is_multiple_of,
            reason = "is_multiple_of is newer than the workspace's rust-version"
        )]
        while pow10 < 0 && significand % 10 == 0 {
            significand /= 10;
            pow10 += 1;
        }
        let limit = if negative { i64::MAX as u64 + 1 } else { i64::MAX as u64 };
        if pow10 == 0 && significand <= limit {
            let v = if negative {
                (significand as i64).wrapping_neg()
            } else {
                significand as i64
            };
            return Ok(Token::Integer(v));
        }
    }
    let s = std::str::from_utf8(text).map_err(|_| "syntax error in number")?;
    match s.parse::<f64>() {
        // strtod's range errors: overflow, and results too small to be
        // normal (but an underflow to zero is accepted).
        Ok(r) if r.is_finite() && (r == 0.0 || r.abs() >= f64::MIN_POSITIVE) => {
            Ok(Token::Real(if r == 0.0 { 0.0 } else { r }))
        }
        _ => Err("number outside valid range"),
    }
}

/// Decodes the escapes of a quoted string's body.
fn unescape(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c == b'"' {
            return Err("quoted string may not include unescaped \"".into());
        }
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&e) = raw.get(i) else {
            return Err("quoted string may not end with backslash".into());
        };
        i += 1;
        match e {
            b'"' | b'\\' | b'/' => out.push(e),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'u' => {
                let c0 = hex4(raw, i)?;
                i += 4;
                let code = if (0xd800..0xdc00).contains(&c0) {
                    if raw.get(i) != Some(&b'\\') || raw.get(i + 1) != Some(&b'u') || i + 2 > raw.len() {
                        return Err("malformed escaped surrogate pair".into());
                    }
                    i += 2;
                    let c1 = hex4(raw, i)?;
                    i += 4;
                    if !(0xdc00..0xe000).contains(&c1) {
                        return Err("second half of escaped surrogate pair is not trailing surrogate".into());
                    }
                    0x10000 + ((c0 - 0xd800) << 10) + (c1 - 0xdc00)
                } else {
                    c0
                };
                // A lone trailing surrogate is written as its three bytes,
                // as Open vSwitch does; Rust strings cannot hold it.
                match char::from_u32(code) {
                    Some(ch) => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    None => out.extend_from_slice(&[
                        0xe0 | (code >> 12) as u8,
                        0x80 | ((code >> 6) & 0x3f) as u8,
                        0x80 | (code & 0x3f) as u8,
                    ]),
                }
            }
            other => return Err(format!("bad escape \\{}", other as char)),
        }
    }
    Ok(out)
}

fn hex4(raw: &[u8], i: usize) -> Result<u32, String> {
    let Some(digits) = raw.get(i..i + 4) else {
        return Err("quoted string ends within \\u escape".into());
    };
    let mut v = 0u32;
    for &d in digits {
        let Some(x) = (d as char).to_digit(16) else {
            return Err("malformed \\u escape".into());
        };
        v = v * 16 + x;
    }
    if v == 0 {
        return Err("null bytes not supported in quoted strings".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(text: &str) -> String {
        Json::parse(text.as_bytes()).unwrap().to_text(SORT)
    }

    fn err(text: &str) -> String {
        Json::parse(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn numbers_as_open_vswitch_classifies_them() {
        assert_eq!(
            round("[1, -0, 1e2, 1.5, 0.1, 1e20, 1.0, -5, 9223372036854775807]"),
            "[1,0,100,1.5,0.1,1e+20,1,-5,9223372036854775807]"
        );
        assert!(matches!(
            Json::parse(b"[1e18]").unwrap().as_array().unwrap()[0],
            Json::Integer(_)
        ));
        assert!(matches!(
            Json::parse(b"[1e19]").unwrap().as_array().unwrap()[0],
            Json::Real(_)
        ));
        assert_eq!(
            round("[1e19, 1.25e-7, -9223372036854775808]"),
            "[1e+19,1.25e-07,-9223372036854775808]"
        );
        assert_eq!(round("[0.30000000000000004]"), "[0.3]");
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            round(r#"["a\"b\\c\/d\u0041\n\u0001é\ud83d\ude00"]"#),
            "[\"a\\\"b\\\\c/dA\\n\\u0001é😀\"]"
        );
        assert_eq!(
            err(r#"["\u0000"]"#),
            "line 0, column 8, byte 8: null bytes not supported in quoted strings"
        );
        assert_eq!(err(r#"["\q"]"#), "line 0, column 4, byte 4: bad escape \\q");
        assert_eq!(err("[1e400]"), "line 0, column 6, byte 6: number outside valid range");
        assert_eq!(
            err("[1.5e-310]"),
            "line 0, column 9, byte 9: number outside valid range"
        );
        assert_eq!(round("[1e-400]"), "[0]");
    }

    #[test]
    fn errors_carry_positions() {
        assert_eq!(err(""), "line 0, column 0, byte 0: empty input stream");
        assert_eq!(err("[1,"), "line 0, column 3, byte 3: unexpected end of input");
        assert_eq!(
            err("[1 2]"),
            "line 0, column 4, byte 4: syntax error expecting ']' or ','"
        );
        assert_eq!(err("\n[tru]"), "line 1, column 4, byte 5: invalid keyword 'tru'");
        assert_eq!(err("[01]"), "line 0, column 3, byte 3: leading zeros not allowed");
        assert_eq!(err("1"), "line 0, column 1, byte 1: syntax error at beginning of input");
        assert_eq!(err("[] x"), "line 0, column 4, byte 4: invalid keyword 'x'");
        assert_eq!(err("[] X"), "line 0, column 3, byte 3: invalid character 'X'");
        assert_eq!(
            err("[] []"),
            "line 0, column 3, byte 3: trailing garbage at end of input"
        );
        assert_eq!(
            err("{\"a\" 1}"),
            "line 0, column 6, byte 6: syntax error parsing object expecting ':'"
        );
        assert_eq!(
            err("[\"a\nb\"]"),
            "line 0, column 3, byte 3: U+000A must be escaped in quoted string"
        );
        assert_eq!(err("[1]\u{1}"), "line 0, column 3, byte 3: invalid character U+0001");
        let deep = "[".repeat(1001);
        assert_eq!(
            err(&deep),
            "line 0, column 1000, byte 1000: input exceeds maximum nesting depth 1000"
        );
    }

    #[test]
    fn pretty_printing() {
        let j = Json::parse(br#"{"b": [1, {}], "a": {"x": []}}"#).unwrap();
        assert_eq!(
            j.to_text(SORT | PRETTY),
            "{\n  \"a\": {\n    \"x\": []},\n  \"b\": [\n    1,\n    {\n      }]}"
        );
    }

    #[test]
    fn streaming_stops_after_one_value() {
        let mut p = Parser::new(false);
        let input = br#"{"id":1} {"id":2}"#;
        let n = p.feed(input);
        assert_eq!(n, 8);
        assert!(p.is_done());
        assert_eq!(p.finish().unwrap().to_text(0), r#"{"id":1}"#);
    }

    #[test]
    fn duplicate_members_keep_the_last_value_in_the_first_place() {
        let j = Json::parse(br#"{"a": 1, "a": 2}"#).unwrap();
        assert_eq!(j.to_text(0), r#"{"a":2}"#);
    }
}
