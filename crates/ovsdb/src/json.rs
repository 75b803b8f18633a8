//! Writing OVSDB values as JSON text directly, without building a
//! `serde_json::Value` tree first: monitor updates and initial dumps are
//! the server's largest output and are written once per group.
//!
//! The text is what `Atom::to_json`/`Datum::to_json` denote; reals are
//! written as Open vSwitch writes them (`%.15g`, so `1e+20`).

use std::io::Write as _;

use crate::atom::Atom;
use crate::datum::Datum;

pub fn write_str(out: &mut Vec<u8>, s: &str) {
    // serde_json's escaping is RFC 8259's, as Open vSwitch's is.
    let _ = serde_json::to_writer(&mut *out, s);
}

pub fn write_atom(out: &mut Vec<u8>, atom: &Atom) {
    match atom {
        Atom::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Atom::Real(r) if *r == 0.0 => out.push(b'0'),
        Atom::Real(r) => out.extend_from_slice(crate::display::format_g(*r, 15).as_bytes()),
        Atom::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Atom::String(s) => write_str(out, s),
        Atom::Uuid(u) => {
            let _ = write!(out, "[\"uuid\",\"{u}\"]");
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
            for (i, a) in atoms.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                atom(out, a);
            }
            out.extend_from_slice(b"]]");
        }
        Datum::Map(pairs) => {
            out.extend_from_slice(b"[\"map\",[");
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                atom(out, k);
                out.push(b',');
                atom(out, v);
                out.push(b']');
            }
            out.extend_from_slice(b"]]");
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
