//! Writing OVSDB values as JSON text directly, without building a
//! `serde_json::Value` tree first: monitor updates and initial dumps are
//! the server's largest output and are written once per group.
//!
//! The text is what `Atom::to_json`/`Datum::to_json` denote; reals are
//! written as Open vSwitch writes them (`%.15g`, so `1e+20`).

use crate::atom::Atom;
use crate::datum::Datum;

/// Writes `s` as a JSON string, escaped as serde_json and Open vSwitch
/// escape (RFC 8259: `"`, `\\` and control characters; the usual short
/// forms, else `\u00xx`).
///
/// Monitor updates and log records are mostly long strings (matches,
/// actions) with few or no characters to escape, so the clean runs
/// between them are found a word at a time and copied whole.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        out.extend_from_slice(&bytes[start..i]);
        write_escape(out, bytes[i]);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Writes a UUID as a JSON string.
pub fn write_uuid(out: &mut Vec<u8>, u: crate::Uuid) {
    out.push(b'"');
    out.extend_from_slice(&u.to_ascii());
    out.push(b'"');
}

/// The position of the first byte at or after `from` that must be escaped.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while i + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        let w = u64::from_le_bytes(word);
        // A byte's high bit is set in `hit` if it is below 0x20, or equal
        // to '"' or '\\' (the classic "has zero byte" test, on w and on w
        // xor the byte looked for); bytes of 0x80 and more never hit.
        let below = w.wrapping_sub(LO * 0x20);
        let quote = (w ^ (LO * u64::from(b'"'))).wrapping_sub(LO);
        let slash = (w ^ (LO * u64::from(b'\\'))).wrapping_sub(LO);
        let hit = (below | quote | slash) & !w & HI;
        if hit != 0 {
            // The lowest flagged byte is exact (borrows only run upwards
            // from a true hit), so it is the first to escape.
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| needs_escape(b)).map(|p| i + p)
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn write_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// Writes `i` in decimal, without going through the formatting machinery
/// (record dates and lengths, integer columns).
pub fn write_int(out: &mut Vec<u8>, i: i64) {
    if i < 0 {
        out.push(b'-');
    }
    let mut n = i.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

pub fn write_atom(out: &mut Vec<u8>, atom: &Atom) {
    match atom {
        Atom::Integer(i) => write_int(out, *i),
        Atom::Real(r) if *r == 0.0 => out.push(b'0'),
        Atom::Real(r) => out.extend_from_slice(crate::display::format_g(*r, 15).as_bytes()),
        Atom::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Atom::String(s) => write_str(out, s),
        Atom::Uuid(u) => {
            out.extend_from_slice(b"[\"uuid\",");
            write_uuid(out, *u);
            out.push(b']');
        }
    }
}

pub fn write_datum(out: &mut Vec<u8>, datum: &Datum) {
    write_datum_with(out, datum, write_atom);
}

/// [`write_datum`] with each atom written by `atom` (a transaction's
/// builder writes its new rows' UUIDs as `named-uuid`s).
pub fn write_datum_with(out: &mut Vec<u8>, datum: &Datum, atom: impl Fn(&mut Vec<u8>, &Atom)) {
    match datum {
        Datum::Set(atoms) if atoms.len() == 1 => atom(out, &atoms[0]),
        Datum::Set(atoms) => {
            out.extend_from_slice(b"[\"set\",[");
            write_separated(out, atoms.iter(), |out, a| atom(out, a));
            out.extend_from_slice(b"]]");
        }
        Datum::Map(pairs) => {
            out.extend_from_slice(b"[\"map\",[");
            write_separated(out, pairs.iter(), |out, (k, v)| {
                out.push(b'[');
                atom(out, k);
                out.push(b',');
                atom(out, v);
                out.push(b']');
            });
            out.extend_from_slice(b"]]");
        }
    }
}

/// Writes `items` with `item`, separated by commas.
fn write_separated<T>(out: &mut Vec<u8>, items: impl Iterator<Item = T>, mut item: impl FnMut(&mut Vec<u8>, T)) {
    for (i, x) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, x);
    }
}

/// Writes a JSON tree as compact text, byte for byte what
/// `serde_json::to_writer` writes (numbers are left to serde_json), with
/// strings escaped by [`write_str`]: a transaction's reply is tens of
/// thousands of small objects.
pub fn write_json(out: &mut Vec<u8>, value: &serde_json::Value) {
    use serde_json::Value as Json;
    match value {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Json::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Json::String(s) => write_str(out, s),
        Json::Array(items) => {
            out.push(b'[');
            write_separated(out, items.iter(), write_json);
            out.push(b']');
        }
        Json::Object(members) => {
            out.push(b'{');
            write_separated(out, members.iter(), |out, (k, v)| {
                write_str(out, k);
                out.push(b':');
                write_json(out, v);
            });
            out.push(b'}');
        }
    }
}

/// Writes the members of one JSON object, adding the commas.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    pub fn open(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, empty: true }
    }

    /// Starts a member; the caller writes its value into the returned buffer.
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        write_str(self.out, key);
        self.out.push(b':');
        self.out
    }

    pub fn is_empty(&self) -> bool {
        self.empty
    }

    pub fn close(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    fn text(d: &Datum) -> Json {
        let mut out = Vec::new();
        write_datum(&mut out, d);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn integers_are_written_as_rust_formats_them() {
        for i in [0, 7, -7, 10, 99, 100, -100, 1 << 40, i64::MAX, i64::MIN, 1_764_000_000_000] {
            let mut out = Vec::new();
            write_int(&mut out, i);
            assert_eq!(String::from_utf8(out).unwrap(), i.to_string());
        }
    }

    #[test]
    fn trees_are_written_as_serde_json_writes_them() {
        let values = [
            json!(null),
            json!([]),
            json!({}),
            json!([{"uuid": ["uuid", "8c1a6a5f-3e5c-4c3b-9d4e-2f1a0b9c8d7e"]}, {"count": 3}, {}, {"rows": [{"a": 1.5, "b": -7, "c": 18446744073709551615u64}]}]),
            json!({"error": "constraint violation", "details": "a \"quoted\" name\n\u{1}", "é": [true, false, null, 0.1, 1e300, -0.0]}),
            json!([[[[["deep"]]]], {"nested": {"k": {"k2": []}}}]),
        ];
        for v in &values {
            let mut ours = Vec::new();
            write_json(&mut ours, v);
            assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(v).unwrap());
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        // Every byte that needs escaping, at every offset of a word, and
        // the bytes around the thresholds the word-at-a-time test uses.
        let mut cases: Vec<String> = vec![String::new(), "plain".into(), "inport == \"lsp1\" && ip4".into()];
        let specials: Vec<char> = (0u8..0x20).map(char::from).chain(['"', '\\', ' ', '!', '#', '[', ']', '\u{7f}', 'é', '€', '😀']).collect();
        for c in &specials {
            for offset in 0..17 {
                let mut s = "a".repeat(offset);
                s.push(*c);
                s.push_str("tail of the string");
                cases.push(s);
            }
        }
        cases.push(specials.iter().collect());
        cases.push(specials.iter().rev().cycle().take(200).collect());
        for s in &cases {
            let mut ours = Vec::new();
            write_str(&mut ours, s);
            assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn same_values_as_to_json() {
        let u = crate::Uuid::random();
        for d in [
            Datum::scalar(Atom::Integer(-7)),
            Datum::scalar(Atom::Real(2.5)),
            Datum::scalar(Atom::Real(-0.0)),
            Datum::scalar(Atom::string("a\"b\n\u{1}é")),
            Datum::scalar(Atom::Uuid(u)),
            Datum::set(vec![Atom::Boolean(true), Atom::Boolean(false)]),
            Datum::set(vec![]),
            Datum::map(vec![(Atom::string("k"), Atom::Uuid(u)), (Atom::string("j"), Atom::string(""))]),
        ] {
            assert_eq!(text(&d), d.to_json(), "{d:?}");
        }
        let mut out = Vec::new();
        write_atom(&mut out, &Atom::Real(1.5e20));
        assert_eq!(out, b"1.5e+20");
    }

    #[test]
    fn objects() {
        let mut out = Vec::new();
        let mut o = Object::open(&mut out);
        write_str(o.key("a"), "x");
        o.key("b").extend_from_slice(b"null");
        o.close();
        assert_eq!(serde_json::from_slice::<Json>(&out).unwrap(), json!({"a": "x", "b": null}));
    }
}
