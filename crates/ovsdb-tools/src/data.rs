//! OVSDB data as the tools handle it: datums read from Open vSwitch JSON
//! with or without their column's constraints, written back as JSON, in the
//! bare notation of `--data=bare`, and compared as `ovsdb-client dump`
//! sorts rows.

use std::cmp::Ordering;

use ovsdb::types::{BaseType, Type};
use ovsdb::{Atom, Datum};

use crate::ovs_json::Json;

/// Parses `json` as a value of `ty`, checking the number of elements and
/// the constraints (`ovsdb_datum_from_json`).
pub fn datum_from_json(ty: &Type, json: &Json) -> Result<Datum, ovsdb::Error> {
    Datum::from_json(ty, &json.to_serde(), None)
}

/// `ty` without constraints and with any number of elements.
pub fn relaxed(ty: &Type) -> Type {
    Type {
        key: BaseType::new(ty.key.atomic),
        value: ty.value.as_ref().map(|v| BaseType::new(v.atomic)),
        min: 0,
        max: u32::MAX,
    }
}

/// Parses `json` as a value of `ty` ignoring every constraint
/// (`ovsdb_unconstrained_datum_from_json`).
pub fn unconstrained_datum_from_json(ty: &Type, json: &Json) -> Result<Datum, ovsdb::Error> {
    Datum::from_json(&relaxed(ty), &json.to_serde(), None)
}

pub fn atom_to_json(atom: &Atom) -> Json {
    match atom {
        Atom::Integer(i) => Json::Integer(*i),
        Atom::Real(r) => Json::Real(*r),
        Atom::Boolean(b) => Json::bool(*b),
        Atom::String(s) => Json::string(&**s),
        Atom::Uuid(u) => Json::Array(vec![Json::string("uuid"), Json::string(u.to_string())]),
    }
}

/// The RFC 7047 notation (`ovsdb_datum_to_json`): a lone set element is
/// itself, other sets `["set", [...]]`, maps `["map", [[k, v], ...]]`.
pub fn datum_to_json(datum: &Datum) -> Json {
    match datum {
        Datum::Set(a) if a.len() == 1 => atom_to_json(&a[0]),
        Datum::Set(a) => Json::Array(vec![
            Json::string("set"),
            Json::Array(a.iter().map(atom_to_json).collect()),
        ]),
        Datum::Map(p) => Json::Array(vec![
            Json::string("map"),
            Json::Array(
                p.iter()
                    .map(|(k, v)| Json::Array(vec![atom_to_json(k), atom_to_json(v)]))
                    .collect(),
            ),
        ]),
    }
}

/// `--data=bare`: elements separated by spaces, no brackets, strings
/// never quoted.
pub fn datum_to_bare(datum: &Datum, _ty: &Type) -> String {
    let mut out = String::new();
    let atom = |out: &mut String, a: &Atom| match a {
        Atom::String(s) => out.push_str(s),
        other => ovsdb::display::write_atom(out, other),
    };
    match datum {
        Datum::Set(a) => {
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                atom(&mut out, x);
            }
        }
        Datum::Map(p) => {
            for (i, (k, v)) in p.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                atom(&mut out, k);
                out.push('=');
                atom(&mut out, v);
            }
        }
    }
    out
}

/// Open vSwitch's order of atoms of one type: numbers by value (reals by
/// `<`, so unordered reals compare equal), false before true, strings
/// bytewise, UUIDs by their text.
pub fn compare_atoms(a: &Atom, b: &Atom) -> Ordering {
    match (a, b) {
        (Atom::Real(x), Atom::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// `ovsdb_datum_compare_3way`: fewer elements first, then keys element by
/// element, then values.
pub fn compare_datums(a: &Datum, b: &Datum) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| {
        let keys = a
            .keys()
            .zip(b.keys())
            .map(|(x, y)| compare_atoms(x, y))
            .find(|o| o.is_ne());
        keys.unwrap_or_else(|| {
            a.as_map()
                .iter()
                .zip(b.as_map())
                .map(|((_, x), (_, y))| compare_atoms(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
    })
}

/// An OVSDB error as Open vSwitch's tools print it
/// (`ovsdb_error_to_string`): `syntax "JSON": tag: details`.
pub fn error_text(e: &ovsdb::Error) -> String {
    let mut s = String::new();
    if let Some(syntax) = &e.syntax {
        s.push_str(&format!("syntax \"{}\": ", reformat_json(syntax)));
    }
    s.push_str(e.tag());
    if !e.details.is_empty() {
        s.push_str(": ");
        s.push_str(&e.details);
    }
    s
}

/// JSON text from serde_json re-printed as Open vSwitch prints it (sorted
/// members, its number format).
fn reformat_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => Json::from_serde(&v).to_text(crate::ovs_json::SORT),
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(j: &str) -> Type {
        Type::from_json(&serde_json::from_str(j).unwrap()).unwrap()
    }

    fn datum(t: &Type, j: &str) -> Datum {
        datum_from_json(
            t,
            &Json::parse(format!("[{j}]").as_bytes()).unwrap().as_array().unwrap()[0],
        )
        .unwrap()
    }

    #[test]
    fn bare_and_string() {
        let t = ty(r#"{"key": "string", "value": "string", "min": 0, "max": "unlimited"}"#);
        let d = datum(&t, r#"["map", [["a b", "c"], ["d", "true"]]]"#);
        assert_eq!(datum_to_bare(&d, &t), "a b=c d=true");
        assert_eq!(ovsdb::display::datum_to_string(&d, &t), "{\"a b\"=c, d=\"true\"}");
    }

    #[test]
    fn ordering() {
        let t = ty(r#"{"key": "integer", "min": 0, "max": "unlimited"}"#);
        let (a, b, c) = (
            datum(&t, "[\"set\", []]"),
            datum(&t, "5"),
            datum(&t, "[\"set\", [1, 2]]"),
        );
        assert_eq!(compare_datums(&a, &b), Ordering::Less);
        assert_eq!(compare_datums(&c, &b), Ordering::Greater);
        assert_eq!(compare_datums(&b, &datum(&t, "4")), Ordering::Greater);
    }

    #[test]
    fn unconstrained_ignores_limits() {
        let t = ty(r#"{"key": {"type": "integer", "maxInteger": 3}}"#);
        let j = Json::Integer(9);
        assert!(datum_from_json(&t, &j).is_err());
        assert_eq!(
            datum_to_json(&unconstrained_datum_from_json(&t, &j).unwrap()).to_text(0),
            "9"
        );
    }
}
