//! Atoms: the scalar values of OVSDB (RFC 7047 section 5.1, `<atom>`).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::uuid::Uuid;

/// The five atomic types of ovsdb(7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtomicType {
    Integer,
    Real,
    Boolean,
    String,
    Uuid,
}

impl AtomicType {
    pub fn name(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }

    pub fn from_name(name: &str) -> Option<AtomicType> {
        Some(match name {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return None,
        })
    }

    /// The value a column of this type holds when nothing was written.
    pub fn default_atom(self) -> Atom {
        match self {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(empty_str()),
            AtomicType::Uuid => Atom::Uuid(Uuid::ZERO),
        }
    }
}

impl fmt::Display for AtomicType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The empty string, shared: every unset string column holds one, so this
/// saves an allocation per cell.
fn empty_str() -> Arc<str> {
    static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::from("")))
}

/// One OVSDB value. Strings are shared, so copying a row copies pointers.
#[derive(Clone, Debug)]
pub enum Atom {
    Integer(i64),
    Real(f64),
    Boolean(bool),
    String(Arc<str>),
    Uuid(Uuid),
}

impl Atom {
    pub fn string(s: &str) -> Atom {
        Atom::String(crate::intern::intern(s))
    }

    pub fn atomic_type(&self) -> AtomicType {
        match self {
            Atom::Integer(_) => AtomicType::Integer,
            Atom::Real(_) => AtomicType::Real,
            Atom::Boolean(_) => AtomicType::Boolean,
            Atom::String(_) => AtomicType::String,
            Atom::Uuid(_) => AtomicType::Uuid,
        }
    }

    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn is_default(&self) -> bool {
        match self {
            Atom::Integer(i) => *i == 0,
            Atom::Real(r) => *r == 0.0,
            Atom::Boolean(b) => !*b,
            Atom::String(s) => s.is_empty(),
            Atom::Uuid(u) => u.is_zero(),
        }
    }

    /// RFC 7047 JSON notation.
    pub fn to_json(&self) -> Json {
        match self {
            Atom::Integer(i) => Json::from(*i),
            Atom::Real(r) => real_to_json(*r),
            Atom::Boolean(b) => Json::Bool(*b),
            Atom::String(s) => Json::String(s.to_string()),
            Atom::Uuid(u) => Json::Array(vec!["uuid".into(), u.to_text().into()]),
        }
    }

    /// Parses `json` as an atom of type `ty`, without checking constraints.
    /// `symbols` resolves `["named-uuid", NAME]`; without it, named UUIDs are
    /// a syntax error.
    pub fn from_json(ty: AtomicType, json: &Json, symbols: Option<&mut (dyn NamedUuids + 'static)>) -> Result<Atom> {
        let atom = match (ty, json) {
            (AtomicType::Integer, Json::Number(n)) if n.is_i64() => n.as_i64().map(Atom::Integer),
            (AtomicType::Real, Json::Number(n)) => n.as_f64().map(Atom::Real),
            (AtomicType::Boolean, Json::Bool(b)) => Some(Atom::Boolean(*b)),
            (AtomicType::String, Json::String(s)) => Some(Atom::String(crate::intern::intern(s))),
            (AtomicType::Uuid, _) => return parse_uuid(json, symbols).map(Atom::Uuid),
            _ => None,
        };
        atom.ok_or_else(|| {
            Error::syntax_in(crate::ErrorKind::SyntaxError, json, format!("expected {}", ty.name()))
        })
    }
}

/// Resolves `named-uuid` references inside one transaction.
pub trait NamedUuids {
    /// The UUID for `name`, allocating one on first mention.
    fn resolve(&mut self, name: &str) -> Uuid;
}

fn parse_uuid(json: &Json, symbols: Option<&mut (dyn NamedUuids + 'static)>) -> Result<Uuid> {
    if let Json::Array(a) = json
        && a.len() == 2
        && let (Json::String(kind), Json::String(text)) = (&a[0], &a[1])
    {
        if kind == "uuid" {
            return Uuid::parse(text).ok_or_else(|| {
                Error::syntax_in(crate::ErrorKind::SyntaxError, json, format!("\"{text}\" is not a valid UUID"))
            });
        }
        if kind == "named-uuid"
            && let Some(symbols) = symbols
        {
            if !is_id(text) {
                return Err(Error::syntax_in(
                    crate::ErrorKind::SyntaxError,
                    json,
                    format!("named-uuid \"{text}\" is not a valid identifier"),
                ));
            }
            return Ok(symbols.resolve(text));
        }
    }
    Err(Error::syntax_in(crate::ErrorKind::SyntaxError, json, "expected [\"uuid\", <string>]"))
}

/// An `<id>` of RFC 7047: a letter or underscore, then letters, digits, underscores.
pub fn is_id(s: &str) -> bool {
    let mut chars = s.bytes();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Reals go out as Open vSwitch writes them: `%.15g`, so an integral
/// value reads as an integer (`1`, not `1.0`) and 15 significant digits
/// are kept. Readers accept integers for real columns.
pub fn real_to_json(r: f64) -> Json {
    if r == 0.0 {
        return Json::from(0); // "-0" reads back as the integer 0
    }
    let text = crate::display::format_g(r, 15);
    serde_json::from_str::<serde_json::Number>(&text)
        .ok()
        .or_else(|| serde_json::Number::from_f64(r))
        .map(Json::Number)
        .unwrap_or(Json::Null)
}

/// Equal as [`Ord`] has them equal; an interned string is found equal by
/// its address.
impl PartialEq for Atom {
    #[inline]
    fn eq(&self, other: &Atom) -> bool {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a == b,
            (Atom::Real(a), Atom::Real(b)) => a.to_bits() == b.to_bits(),
            (Atom::Boolean(a), Atom::Boolean(b)) => a == b,
            (Atom::String(a), Atom::String(b)) => Arc::ptr_eq(a, b) || a.as_bytes() == b.as_bytes(),
            (Atom::Uuid(a), Atom::Uuid(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Atom {}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Atom) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Open vSwitch's order: numbers by value, false before true, strings by
/// bytes, UUIDs by their text. Atoms of different types (never mixed in one
/// datum) order by type.
impl Ord for Atom {
    #[inline]
    fn cmp(&self, other: &Atom) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.total_cmp(b),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Atom::Uuid(a), Atom::Uuid(b)) => a.cmp(b),
            (a, b) => a.atomic_type().cmp(&b.atomic_type()),
        }
    }
}

impl Hash for Atom {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Atom::Integer(i) => i.hash(state),
            Atom::Real(r) => r.to_bits().hash(state),
            Atom::Boolean(b) => b.hash(state),
            Atom::String(s) => s.hash(state),
            Atom::Uuid(u) => u.hash(state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_each_type() {
        assert_eq!(Atom::from_json(AtomicType::Integer, &json!(-5), None).unwrap(), Atom::Integer(-5));
        assert_eq!(Atom::from_json(AtomicType::Real, &json!(2), None).unwrap(), Atom::Real(2.0));
        assert_eq!(Atom::Real(2.0).to_json(), json!(2));
        assert_eq!(Atom::Real(0.1).to_json(), json!(0.1));
        assert_eq!(Atom::Real(1.0 / 3.0).to_json().to_string(), "0.333333333333333");
        assert_eq!(Atom::from_json(AtomicType::Boolean, &json!(true), None).unwrap(), Atom::Boolean(true));
        assert_eq!(Atom::from_json(AtomicType::String, &json!("x"), None).unwrap(), Atom::string("x"));
        let u = json!(["uuid", "550e8400-e29b-41d4-a716-446655440000"]);
        assert_eq!(Atom::from_json(AtomicType::Uuid, &u, None).unwrap().to_json(), u);
    }

    /// Equality agrees with the order, for every pair of a mixed lot.
    #[test]
    fn equal_exactly_when_ordered_equal() {
        let atoms = [
            Atom::Integer(-1),
            Atom::Integer(3),
            Atom::Real(0.0),
            Atom::Real(-0.0),
            Atom::Real(f64::NAN),
            Atom::Real(2.5),
            Atom::Boolean(false),
            Atom::Boolean(true),
            Atom::String(Arc::from("ab")),
            // The same text apart from the other: not interned together.
            Atom::String(Arc::from("ab")),
            Atom::String(Arc::from("abc")),
            Atom::Uuid(Uuid(7)),
            Atom::Uuid(Uuid(8)),
        ];
        for a in &atoms {
            for b in &atoms {
                assert_eq!(a == b, a.cmp(b) == Ordering::Equal, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn rejects_mismatches() {
        let e = Atom::from_json(AtomicType::Integer, &json!(1.5), None).unwrap_err();
        assert_eq!(e.tag(), "syntax error");
        assert!(Atom::from_json(AtomicType::Integer, &json!(u64::MAX), None).is_err());
        assert!(Atom::from_json(AtomicType::Uuid, &json!(["named-uuid", "a"]), None).is_err());
        assert!(Atom::from_json(AtomicType::Uuid, &json!(["uuid", "nope"]), None).is_err());
        assert!(Atom::from_json(AtomicType::String, &json!(null), None).is_err());
    }

    #[test]
    fn ids() {
        assert!(is_id("_a1"));
        assert!(!is_id("1a"));
        assert!(!is_id(""));
        assert!(!is_id("a-b"));
    }
}
