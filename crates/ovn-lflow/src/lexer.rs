//! Tokens shared by matches and actions (ovn-sb(5), "Logical_Flow").
//!
//! Numbers are the subtle part: one "integer" token may be decimal, hex,
//! an IPv4 or IPv6 address or an Ethernet address, optionally followed by
//! `/mask`. `1.2.3.4:80` is three tokens (address, colon, port), since a
//! colon never follows a dot inside an address.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::ParseError;
use crate::value::{Format, IntConst, Quoted, low_mask};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    End,
    Id(String),
    Str(String),
    Int(IntConst),
    /// `$name`: an address set.
    AddrSet(String),
    /// `@name`: a port group.
    PortGroup(String),
    /// `^name`: a chassis template variable, to be substituted before
    /// parsing.
    Template(String),
    LParen,
    RParen,
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Not,
    And,
    Or,
    Ellipsis,
    Comma,
    Semicolon,
    Equals,
    Exchange,
    Decrement,
    Colon,
    Hyphen,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::End => return f.write_str("end of input"),
            Tok::Id(s) => return f.write_str(s),
            Tok::Str(s) => return write!(f, "{}", Quoted(s)),
            Tok::Int(c) => return write!(f, "{c}"),
            Tok::AddrSet(s) => return write!(f, "${s}"),
            Tok::PortGroup(s) => return write!(f, "@{s}"),
            Tok::Template(s) => return write!(f, "^{s}"),
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LCurly => "{",
            Tok::RCurly => "}",
            Tok::LSquare => "[",
            Tok::RSquare => "]",
            Tok::Eq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Not => "!",
            Tok::And => "&&",
            Tok::Or => "||",
            Tok::Ellipsis => "..",
            Tok::Comma => ",",
            Tok::Semicolon => ";",
            Tok::Equals => "=",
            Tok::Exchange => "<->",
            Tok::Decrement => "--",
            Tok::Colon => ":",
            Tok::Hyphen => "-",
        };
        f.write_str(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    /// Byte offsets of the token in the input.
    pub start: usize,
    pub end: usize,
}

/// Splits `input` into tokens, ending with `Tok::End`.
pub fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer { s: input.as_bytes(), input, p: 0 };
    let mut out = Vec::with_capacity(input.len() / 3 + 1);
    loop {
        let t = lx.next()?;
        let end = t.tok == Tok::End;
        out.push(t);
        if end {
            return Ok(out);
        }
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    input: &'a str,
    p: usize,
}

fn is_id1(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'.'
}

fn is_idn(c: u8) -> bool {
    is_id1(c) || c.is_ascii_digit()
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }

    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError::Lex { pos, msg: msg.into() })
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        loop {
            while self.p < self.s.len() && matches!(self.s[self.p], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
                self.p += 1;
            }
            let start = self.p;
            if self.at(start) == b'/' {
                match self.at(start + 1) {
                    b'/' => {
                        while self.p < self.s.len() && self.s[self.p] != b'\n' {
                            self.p += 1;
                        }
                        continue;
                    }
                    b'*' => {
                        self.p += 2;
                        loop {
                            if self.p >= self.s.len() || self.s[self.p] == b'\n' {
                                return self.err(start, "`/*' without matching `*/' on the same line");
                            }
                            if self.s[self.p] == b'*' && self.at(self.p + 1) == b'/' {
                                self.p += 2;
                                break;
                            }
                            self.p += 1;
                        }
                        continue;
                    }
                    _ => return self.err(start, "`/' is only valid as part of `//' or `/*'"),
                }
            }
            let tok = self.token(start)?;
            return Ok(Token { tok, start, end: self.p });
        }
    }

    fn token(&mut self, start: usize) -> Result<Tok, ParseError> {
        if start >= self.s.len() {
            return Ok(Tok::End);
        }
        let c = self.s[start];
        let two = |lx: &mut Self, next: u8, yes: Tok, no: Tok| {
            if lx.at(start + 1) == next {
                lx.p = start + 2;
                yes
            } else {
                lx.p = start + 1;
                no
            }
        };
        let tok = match c {
            b'(' => self.single(Tok::LParen),
            b')' => self.single(Tok::RParen),
            b'{' => self.single(Tok::LCurly),
            b'}' => self.single(Tok::RCurly),
            b'[' => self.single(Tok::LSquare),
            b']' => self.single(Tok::RSquare),
            b',' => self.single(Tok::Comma),
            b';' => self.single(Tok::Semicolon),
            b'=' => two(self, b'=', Tok::Eq, Tok::Equals),
            b'!' => two(self, b'=', Tok::Ne, Tok::Not),
            b'>' => two(self, b'=', Tok::Ge, Tok::Gt),
            b'-' => two(self, b'-', Tok::Decrement, Tok::Hyphen),
            b'&' if self.at(start + 1) == b'&' => {
                self.p = start + 2;
                Tok::And
            }
            b'&' => return self.err(start, "`&' is only valid as part of `&&'"),
            b'|' if self.at(start + 1) == b'|' => {
                self.p = start + 2;
                Tok::Or
            }
            b'|' => return self.err(start, "`|' is only valid as part of `||'"),
            b'<' => {
                if self.at(start + 1) == b'=' {
                    self.p = start + 2;
                    Tok::Le
                } else if self.at(start + 1) == b'-' && self.at(start + 2) == b'>' {
                    self.p = start + 3;
                    Tok::Exchange
                } else {
                    self.p = start + 1;
                    Tok::Lt
                }
            }
            b'.' if self.at(start + 1) == b'.' => {
                self.p = start + 2;
                Tok::Ellipsis
            }
            b'.' => return self.err(start, "`.' is only valid as part of `..' or a number"),
            b'$' => Tok::AddrSet(self.sigil_id(start, '$')?),
            b'@' => Tok::PortGroup(self.sigil_id(start, '@')?),
            b'^' => Tok::Template(self.sigil_id(start, '^')?),
            b':' if self.at(start + 1) != b':' => self.single(Tok::Colon),
            b':' | b'0'..=b'9' => Tok::Int(self.integer(start)?),
            b'"' => Tok::Str(self.string(start)?),
            b'a'..=b'f' | b'A'..=b'F' => {
                // A MAC or IPv6 address may start with a letter; an
                // identifier never has a colon right after its hex prefix.
                let mut i = start;
                while self.at(i).is_ascii_hexdigit() {
                    i += 1;
                }
                if self.at(i) == b':' { Tok::Int(self.integer(start)?) } else { Tok::Id(self.id(start)) }
            }
            c if is_id1(c) => Tok::Id(self.id(start)),
            c if c.is_ascii_graphic() => return self.err(start, format!("invalid character `{}' in input", c as char)),
            c => return self.err(start, format!("invalid byte 0x{c:02x} in input")),
        };
        Ok(tok)
    }

    fn single(&mut self, t: Tok) -> Tok {
        self.p += 1;
        t
    }

    fn id(&mut self, start: usize) -> String {
        let mut i = start + 1;
        while is_idn(self.at(i)) {
            i += 1;
        }
        self.p = i;
        self.input[start..i].to_string()
    }

    fn sigil_id(&mut self, start: usize, sigil: char) -> Result<String, ParseError> {
        if !is_id1(self.at(start + 1)) {
            return self.err(start, format!("`{sigil}' must be followed by a valid identifier"));
        }
        Ok(self.id(start + 1))
    }

    fn string(&mut self, start: usize) -> Result<String, ParseError> {
        let mut i = start + 1;
        loop {
            match self.at(i) {
                _ if i >= self.s.len() => return self.err(start, "input ends inside quoted string"),
                b'"' => break,
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        let i = i.min(self.s.len());
        self.p = i + 1;
        unescape_json(&self.input[start + 1..i]).map_err(|msg| ParseError::Lex { pos: start, msg })
    }

    fn integer(&mut self, start: usize) -> Result<IntConst, ParseError> {
        let (mut c, end) = self.integer_body(start)?;
        self.p = end;
        if self.at(end) != b'/' {
            return Ok(c);
        }
        let (m, mend) = self.integer_body(end + 1)?;
        self.p = mend;
        let mask = if c.format == m.format {
            m.value
        } else if c.format == Format::Ipv4 && m.format == Format::Decimal && m.value <= 32 {
            low_mask(32) & !low_mask(32 - m.value as u32)
        } else if c.format == Format::Ipv6 && m.format == Format::Decimal && m.value <= 128 {
            !low_mask(128 - m.value as u32)
        } else if c.format == Format::Decimal && m.format == Format::Hex && c.value == 0 {
            // `0/0x1234` reads naturally; treat it as hex.
            c.format = Format::Hex;
            m.value
        } else {
            return self.err(start, format!("value and mask have incompatible formats ({:?} and {:?})", c.format, m.format));
        };
        c.value &= mask;
        c.mask = Some(mask);
        Ok(c)
    }

    /// Parses one integer in any notation starting at `start`, returning it
    /// and the offset just past it.
    fn integer_body(&self, start: usize) -> Result<(IntConst, usize), ParseError> {
        let mut end = start;
        let mut saw_dot = false;
        loop {
            let c = self.at(end);
            if c.is_ascii_alphanumeric() || (c == b':' && !saw_dot) || (c == b'.' && self.at(end + 1) != b'.') {
                saw_dot |= c == b'.';
                end += 1;
            } else {
                break;
            }
        }
        let text = &self.input[start..end];
        let bytes = text.as_bytes();
        let ok = |v: u128, f: Format| Ok((IntConst::new(v, f), end));
        if text.is_empty() {
            return self.err(start, "integer constant expected");
        }
        if let Some(mac) = parse_mac(text) {
            return ok(mac, Format::Ethernet);
        }
        if bytes.iter().all(u8::is_ascii_digit) {
            if bytes[0] == b'0' && bytes.len() > 1 {
                return self.err(start, "decimal constants must not have leading zeros");
            }
            return match text.parse::<u64>() {
                Ok(v) => ok(v as u128, Format::Decimal),
                Err(_) => self.err(start, "decimal constants must be less than 2**64"),
            };
        }
        if bytes[0] == b'0' && matches!(bytes.get(1), Some(b'x' | b'X')) {
            let digits = text[2..].trim_start_matches('0');
            if text.len() == 2 {
                return self.err(start, format!("hex digits expected following 0{}", bytes[1] as char));
            }
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) || !text[2..].bytes().all(|b| b.is_ascii_hexdigit()) {
                return self.err(start, "invalid syntax in hexadecimal constant");
            }
            if digits.len() > 32 {
                return self.err(start, "hexadecimal constant requires more than 128 bits");
            }
            let v = if digits.is_empty() { 0 } else { u128::from_str_radix(digits, 16).unwrap_or(0) };
            return ok(v, Format::Hex);
        }
        if text.len() < 46 {
            if let Ok(a) = text.parse::<Ipv4Addr>() {
                return ok(u32::from(a) as u128, Format::Ipv4);
            }
            if let Ok(a) = text.parse::<Ipv6Addr>() {
                return ok(u128::from(a), Format::Ipv6);
            }
        }
        self.err(start, format!("invalid numeric constant `{text}'"))
    }
}

fn parse_mac(text: &str) -> Option<u128> {
    if text.len() != 17 {
        return None;
    }
    let mut v: u128 = 0;
    let mut n = 0;
    for part in text.split(':') {
        if part.len() != 2 {
            return None;
        }
        v = (v << 8) | u8::from_str_radix(part, 16).ok()? as u128;
        n += 1;
    }
    (n == 6).then_some(v)
}

/// Decodes the body of a JSON string literal (without the quotes).
pub fn unescape_json(body: &str) -> Result<String, String> {
    if !body.contains('\\') {
        return Ok(body.to_string());
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or("string ends in a backslash")?;
        match e {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hi = hex4(&mut chars)?;
                let cp = if (0xd800..0xdc00).contains(&hi) {
                    if chars.next() != Some('\\') || chars.next() != Some('u') {
                        return Err("\\u escape of a high surrogate must be followed by a low surrogate".into());
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xdc00..0xe000).contains(&lo) {
                        return Err("invalid UTF-16 surrogate pair in \\u escapes".into());
                    }
                    0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                } else {
                    hi
                };
                out.push(char::from_u32(cp).ok_or("\\u escape names an invalid code point")?);
            }
            other => return Err(format!("invalid escape `\\{other}' in string")),
        }
    }
    Ok(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Result<u32, String> {
    let s: String = chars.take(4).collect();
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("\\u must be followed by 4 hex digits".into());
    }
    u32::from_str_radix(&s, 16).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> String {
        match tokenize(s) {
            Ok(v) => v.iter().map(|t| t.tok.to_string()).collect::<Vec<_>>().join(" "),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(toks("1.2.3.4:80"), "1.2.3.4 : 80 end of input");
        assert_eq!(toks("10.0.0.0/8 ::1 fe80::/10"), "10.0.0.0/8 ::1 fe80::/10 end of input");
        assert_eq!(toks("aa:bb:cc:dd:ee:ff 0x10 ab"), "aa:bb:cc:dd:ee:ff 0x10 ab end of input");
        assert_eq!(toks("reg0[1..2]"), "reg0 [ 1 .. 2 ] end of input");
        assert_eq!(toks("01"), "error: column 1: decimal constants must not have leading zeros");
        assert_eq!(toks("0/0xff"), "0x0/0xff end of input");
        assert_eq!(toks("1.2.3.4/ff"), "error: column 9: invalid numeric constant `ff'");
        assert_eq!(toks("\"a\\u00e9\" // c\n<-> --"), "\"aé\" <-> -- end of input");
        assert_eq!(toks("/* x */ a /* y"), "error: column 11: `/*' without matching `*/' on the same line");
    }
}
