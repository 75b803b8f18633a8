//! Datums and rows read straight from JSON text, without a JSON tree in
//! between: serde seeds that carry the column's type, so each value is
//! checked and stored as it is parsed.
//!
//! A large update (a client's initial copy of the Southbound, the echo of
//! a 40,000-row transaction) otherwise becomes a tree of maps and strings
//! that is built, walked once and freed. Reading it this way costs one
//! pass and keeps only the datums.
//!
//! The readers accept exactly what [`Datum::from_json`] accepts without
//! named UUIDs, with the same checks (element counts, constraints, no
//! duplicates, no null bytes in strings). Their errors are plain text:
//! callers that must report the protocol's error object read the tree
//! instead ([`crate::error::Error`] via `from_json`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::atom::{Atom, AtomicType, NamedUuids, is_id};
use crate::datum::Datum;
use crate::schema::{ColumnId, TableSchema};
use crate::types::{BaseType, Type};
use crate::uuid::Uuid;

/// A JSON string, borrowed from the input when it holds no escapes.
pub struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// What resolves `["named-uuid", NAME]` inside one transaction; without
/// it, named UUIDs are refused (as [`Datum::from_json`] refuses them).
pub type Names<'s> = Option<&'s mut (dyn NamedUuids + 'static)>;

/// A value of type `ty`.
pub struct DatumSeed<'a, 's> {
    pub ty: &'a Type,
    pub names: Names<'s>,
}

impl<'a> DatumSeed<'a, '_> {
    /// Without named UUIDs.
    pub fn new(ty: &'a Type) -> Self {
        DatumSeed { ty, names: None }
    }
}

impl<'de> DeserializeSeed<'de> for DatumSeed<'_, '_> {
    type Value = Datum;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Datum, D::Error> {
        d.deserialize_any(DatumVisitor(self.ty, self.names))
    }
}

struct DatumVisitor<'a, 's>(&'a Type, Names<'s>);

impl DatumVisitor<'_, '_> {
    /// A bare atom: a one-element set.
    fn scalar<E: de::Error>(self, atom: Result<Atom, String>) -> Result<Datum, E> {
        let ty = self.0;
        if ty.is_map() {
            return Err(E::custom("expected [\"map\", ...]"));
        }
        let atom = atom.map_err(E::custom)?;
        ty.key.check(&atom).map_err(E::custom)?;
        if ty.max < 1 {
            return Err(E::custom("too many elements"));
        }
        Ok(Datum::Set(crate::datum::Atoms::One(atom)))
    }

    fn count<E: de::Error>(&self, n: usize) -> Result<(), E> {
        if n < self.0.min as usize || n > self.0.max as usize {
            return Err(E::custom(format!("{n} elements where {}..{} are allowed", self.0.min, self.0.max)));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for DatumVisitor<'_, '_> {
    type Value = Datum;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OVSDB value")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Datum, E> {
        let key = self.0.key.atomic;
        self.scalar(integer_atom(key, v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Datum, E> {
        let key = self.0.key.atomic;
        self.scalar(unsigned_atom(key, v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Datum, E> {
        let key = self.0.key.atomic;
        self.scalar(real_atom(key, v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Datum, E> {
        let key = self.0.key.atomic;
        self.scalar(bool_atom(key, v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Datum, E> {
        let key = self.0.key.atomic;
        self.scalar(string_atom(key, v))
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Datum, A::Error> {
        let ty = self.0;
        let tag = seq.next_element_seed(Text)?.ok_or_else(|| de::Error::custom("empty array"))?;
        let datum = match (&*tag, &ty.value) {
            ("set", None) => {
                let mut atoms = seq
                    .next_element_seed(Elements(&ty.key, self.1.as_deref_mut()))?
                    .ok_or_else(|| de::Error::custom("[\"set\"] without elements"))?;
                self.count(atoms.len())?;
                atoms.sort();
                if atoms.windows(2).any(|w| w[0] == w[1]) {
                    return Err(de::Error::custom("set contains duplicate"));
                }
                Datum::Set(atoms.into())
            }
            ("map", Some(value)) => {
                let mut pairs = seq
                    .next_element_seed(Pairs(&ty.key, value, self.1.as_deref_mut()))?
                    .ok_or_else(|| de::Error::custom("[\"map\"] without pairs"))?;
                self.count(pairs.len())?;
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
                    return Err(de::Error::custom("map contains duplicate key"));
                }
                Datum::Map(pairs.into())
            }
            ("uuid" | "named-uuid", None) => {
                let text = seq.next_element_seed(Text)?.ok_or_else(|| de::Error::custom("a UUID without its text"))?;
                expect_end(&mut seq)?;
                let atom = match ty.key.atomic {
                    AtomicType::Uuid => uuid_atom(&tag, &text, self.1.as_deref_mut()),
                    other => Err(format!("expected {}", other.name())),
                };
                return self.scalar(atom);
            }
            _ => return Err(de::Error::custom(format!("unexpected [\"{tag}\", ...]"))),
        };
        expect_end(&mut seq)?;
        Ok(datum)
    }
}

/// `["uuid", TEXT]` or, with names, `["named-uuid", NAME]`.
fn uuid_atom(tag: &str, text: &str, names: Names<'_>) -> Result<Atom, String> {
    match (tag, names) {
        ("uuid", _) => Uuid::parse(text).map(Atom::Uuid).ok_or_else(|| format!("\"{text}\" is not a valid UUID")),
        ("named-uuid", Some(names)) if is_id(text) => Ok(Atom::Uuid(names.resolve(text))),
        ("named-uuid", Some(_)) => Err(format!("named-uuid \"{text}\" is not a valid identifier")),
        _ => Err("expected [\"uuid\", <string>]".into()),
    }
}

fn expect_end<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<(), A::Error> {
    match seq.next_element::<IgnoredAny>()? {
        None => Ok(()),
        Some(_) => Err(de::Error::custom("array has extra elements")),
    }
}

fn integer_atom(ty: AtomicType, v: i64) -> Result<Atom, String> {
    match ty {
        AtomicType::Integer => Ok(Atom::Integer(v)),
        AtomicType::Real => Ok(Atom::Real(v as f64)),
        other => Err(format!("expected {}", other.name())),
    }
}

fn unsigned_atom(ty: AtomicType, v: u64) -> Result<Atom, String> {
    match (ty, i64::try_from(v)) {
        (AtomicType::Integer, Ok(i)) => Ok(Atom::Integer(i)),
        (AtomicType::Real, _) => Ok(Atom::Real(v as f64)),
        (other, _) => Err(format!("expected {}", other.name())),
    }
}

fn real_atom(ty: AtomicType, v: f64) -> Result<Atom, String> {
    match ty {
        AtomicType::Real => Ok(Atom::Real(v)),
        other => Err(format!("expected {}", other.name())),
    }
}

fn bool_atom(ty: AtomicType, v: bool) -> Result<Atom, String> {
    match ty {
        AtomicType::Boolean => Ok(Atom::Boolean(v)),
        other => Err(format!("expected {}", other.name())),
    }
}

fn string_atom(ty: AtomicType, v: &str) -> Result<Atom, String> {
    match ty {
        // Open vSwitch cannot represent a null byte in a string.
        AtomicType::String if v.contains('\0') => Err("null bytes are not allowed in strings".into()),
        AtomicType::String => Ok(Atom::string(v)),
        other => Err(format!("expected {}", other.name())),
    }
}

/// One atom of base type `.0`, checked against its constraints.
struct AtomSeed<'a, 's>(&'a BaseType, Names<'s>);

impl<'de> DeserializeSeed<'de> for AtomSeed<'_, '_> {
    type Value = Atom;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Atom, D::Error> {
        d.deserialize_any(AtomVisitor(self.0, self.1))
    }
}

struct AtomVisitor<'a, 's>(&'a BaseType, Names<'s>);

impl AtomVisitor<'_, '_> {
    fn checked<E: de::Error>(&self, atom: Result<Atom, String>) -> Result<Atom, E> {
        let atom = atom.map_err(E::custom)?;
        self.0.check(&atom).map_err(E::custom)?;
        Ok(atom)
    }
}

impl<'de> Visitor<'de> for AtomVisitor<'_, '_> {
    type Value = Atom;


    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an atom of type {}", self.0.atomic.name())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Atom, E> {
        self.checked(integer_atom(self.0.atomic, v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Atom, E> {
        self.checked(unsigned_atom(self.0.atomic, v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Atom, E> {
        self.checked(real_atom(self.0.atomic, v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Atom, E> {
        self.checked(bool_atom(self.0.atomic, v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Atom, E> {
        self.checked(string_atom(self.0.atomic, v))
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Atom, A::Error> {
        let tag = seq.next_element_seed(Text)?.ok_or_else(|| de::Error::custom("empty array"))?;
        if !matches!(&*tag, "uuid" | "named-uuid") || self.0.atomic != AtomicType::Uuid {
            return Err(de::Error::custom(format!("expected {}", self.0.atomic.name())));
        }
        let text = seq.next_element_seed(Text)?.ok_or_else(|| de::Error::custom("a UUID without its text"))?;
        expect_end(&mut seq)?;
        let atom = uuid_atom(&tag, &text, self.1.as_deref_mut());
        self.checked(atom)
    }
}

/// The elements of a set: an array of atoms.
struct Elements<'a, 's>(&'a BaseType, Names<'s>);

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = Vec<Atom>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Atom>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = Vec<Atom>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of atoms")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Vec<Atom>, A::Error> {
        let mut atoms = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(atom) = seq.next_element_seed(AtomSeed(self.0, self.1.as_deref_mut()))? {
            atoms.push(atom);
        }
        Ok(atoms)
    }
}

/// The pairs of a map: an array of two-element arrays.
struct Pairs<'a, 's>(&'a BaseType, &'a BaseType, Names<'s>);

impl<'de> DeserializeSeed<'de> for Pairs<'_, '_> {
    type Value = Vec<(Atom, Atom)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Pairs<'_, '_> {
    type Value = Vec<(Atom, Atom)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [key, value] pairs")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut pairs = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(pair) = seq.next_element_seed(Pair(self.0, self.1, self.2.as_deref_mut()))? {
            pairs.push(pair);
        }
        Ok(pairs)
    }
}

struct Pair<'a, 's>(&'a BaseType, &'a BaseType, Names<'s>);

impl<'de> DeserializeSeed<'de> for Pair<'_, '_> {
    type Value = (Atom, Atom);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Pair<'_, '_> {
    type Value = (Atom, Atom);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a [key, value] pair")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        let missing = || de::Error::custom("expected 2-element array");
        let key = seq.next_element_seed(AtomSeed(self.0, self.2.as_deref_mut()))?.ok_or_else(missing)?;
        let value = seq.next_element_seed(AtomSeed(self.1, self.2.as_deref_mut()))?.ok_or_else(missing)?;
        expect_end(&mut seq)?;
        Ok((key, value))
    }
}

/// A `<row>`: an object of column names to values. Each value is read as
/// the type `types` gives for its column and handed to `each`, which may
/// refuse it.
pub struct Columns<'a, 's, T, F> {
    pub table: &'a TableSchema,
    pub types: T,
    pub each: F,
    pub names: Names<'s>,
}

impl<'de, 'a, T, F> DeserializeSeed<'de> for Columns<'a, '_, T, F>
where
    T: Fn(ColumnId) -> &'a Type,
    F: FnMut(ColumnId, Datum) -> Result<(), String>,
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'a, T, F> Visitor<'de> for Columns<'a, '_, T, F>
where
    T: Fn(ColumnId) -> &'a Type,
    F: FnMut(ColumnId, Datum) -> Result<(), String>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a <row> object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key_seed(Text)? {
            let col = self.table.column_id(&name).ok_or_else(|| {
                de::Error::custom(format!("No column {name} in table {}.", self.table.name))
            })?;
            let datum = map.next_value_seed(DatumSeed { ty: (self.types)(col), names: self.names.as_deref_mut() })?;
            (self.each)(col, datum).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

/// A JSON object's text read as a tree, except member `name`, whose text
/// is returned apart (the tree holds an empty object in its place): the
/// large `row` of an operation, to read with [`Columns`]. `None` if the
/// text is not one JSON object.
pub fn split_member<'a>(text: &'a str, name: &str) -> Option<(serde_json::Value, Option<&'a str>)> {
    let mut de = serde_json::Deserializer::from_str(text);
    let split = SplitMember { name }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(split)
}

pub(crate) struct SplitMember<'n> {
    pub(crate) name: &'n str,
}

impl<'de> DeserializeSeed<'de> for SplitMember<'_> {
    type Value = (serde_json::Value, Option<&'de str>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SplitMember<'_> {
    type Value = (serde_json::Value, Option<&'de str>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut obj = serde_json::Map::new();
        let mut apart = None;
        while let Some(key) = map.next_key_seed(Text)? {
            if key == self.name {
                let raw: &'de serde_json::value::RawValue = map.next_value()?;
                apart = Some(raw.get());
                obj.insert(key.into_owned(), serde_json::Value::Object(serde_json::Map::new()));
            } else {
                obj.insert(key.into_owned(), map.next_value()?);
            }
        }
        Ok((serde_json::Value::Object(obj), apart))
    }
}

/// An `insert` operation's members, read straight from its text.
#[derive(Debug, PartialEq)]
pub struct InsertOp<'t> {
    pub table: Cow<'t, str>,
    pub uuid: Option<Cow<'t, str>>,
    pub uuid_name: Option<Cow<'t, str>>,
    /// The `row` object's text.
    pub row: &'t str,
}

/// `text` read as an `insert` operation of the usual shape: members `op`
/// (`"insert"`), `table` and `row` (an object), and perhaps `uuid` and
/// `uuid-name`, each a string but `row`, each once. `None` for anything
/// else, which the caller reads as a tree: a large transaction's inserts
/// need no tree each.
pub fn insert_op(text: &str) -> Option<InsertOp<'_>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let op = de.deserialize_map(InsertVisitor).ok()?;
    de.end().ok()?;
    Some(op)
}

struct InsertVisitor;

impl<'de> Visitor<'de> for InsertVisitor {
    type Value = InsertOp<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an insert operation")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        fn once<T, E: de::Error>(slot: &mut Option<T>, value: T) -> Result<(), E> {
            match slot.replace(value) {
                None => Ok(()),
                Some(_) => Err(E::custom("member given twice")),
            }
        }
        let (mut op, mut table, mut uuid, mut uuid_name, mut row) = (None, None, None, None, None);
        while let Some(key) = map.next_key_seed(Text)? {
            match &*key {
                "op" => once(&mut op, map.next_value_seed(Text)?)?,
                "table" => once(&mut table, map.next_value_seed(Text)?)?,
                "uuid" => once(&mut uuid, map.next_value_seed(Text)?)?,
                "uuid-name" => once(&mut uuid_name, map.next_value_seed(Text)?)?,
                "row" => once(&mut row, map.next_value::<&'de serde_json::value::RawValue>()?.get())?,
                _ => return Err(de::Error::custom("another member")),
            }
        }
        match (op.as_deref(), table, row) {
            (Some("insert"), Some(table), Some(row)) if row.starts_with('{') => Ok(InsertOp { table, uuid, uuid_name, row }),
            _ => Err(de::Error::custom("not an insert of the usual shape")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value as Json, json};

    use super::*;

    fn ty(j: Json) -> Type {
        Type::from_json(&j).unwrap()
    }

    /// The seed and the tree reader agree: the same datum, or both refuse.
    fn agree(t: &Type, text: &str) -> Option<Datum> {
        let direct = DatumSeed::new(t).deserialize(&mut serde_json::Deserializer::from_str(text));
        let tree = serde_json::from_str::<Json>(text)
            .ok()
            .filter(|j| !crate::rpc::has_null_byte(j))
            .and_then(|j| Datum::from_json(t, &j, None).ok());
        assert_eq!(direct.as_ref().ok(), tree.as_ref(), "{text} as {t:?}");
        tree
    }

    #[test]
    fn values_read_as_the_tree_reader_reads_them() {
        let types = [
            json!("integer"),
            json!("real"),
            json!("boolean"),
            json!("string"),
            json!("uuid"),
            json!({"key": "string", "min": 0, "max": "unlimited"}),
            json!({"key": "uuid", "min": 0, "max": 1}),
            json!({"key": {"type": "integer", "minInteger": 0, "maxInteger": 10}, "min": 1, "max": 2}),
            json!({"key": {"type": "string", "enum": ["set", ["a", "b"]]}}),
            json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"}),
            json!({"key": "integer", "value": "uuid", "min": 1, "max": 2}),
        ];
        let texts = [
            "1", "-3", "18446744073709551615", "9223372036854775807", "1.5", "-0", "1e3", "true", "\"a\"", "\"b\"",
            "\"\\u0000\"", "\"x\\ny\"", "null", "{}", "[]", "[\"set\"]", "[\"set\", []]", "[\"set\", [1, 2]]",
            "[\"set\", [2, 1, 2]]", "[\"set\", [\"a\", \"b\"]]", "[\"set\", [11]]", "[\"set\", [1]] ",
            "[\"set\", [1], 2]", "[\"map\", []]", "[\"map\", [[\"a\", \"b\"], [\"c\", \"d\"]]]",
            "[\"map\", [[\"c\", \"d\"], [\"a\", \"b\"], [\"c\", \"e\"]]]", "[\"map\", [[\"a\"]]]",
            "[\"map\", [[\"a\", \"b\", \"c\"]]]", "[\"map\", [[1, [\"uuid\", \"00000000-0000-0000-0000-000000000001\"]]]]",
            "[\"uuid\", \"00000000-0000-0000-0000-000000000001\"]", "[\"uuid\", \"nonsense\"]",
            "[\"uuid\", \"00000000-0000-0000-0000-000000000001\", 1]",
            "[\"set\", [[\"uuid\", \"00000000-0000-0000-0000-000000000001\"]]]",
            "[\"named-uuid\", \"row1\"]", "[\"set\", [\"a\", \"\\u0000\"]]", "[1, 2]", "[\"set\", {}]",
        ];
        let mut accepted = 0;
        for t in &types {
            let t = ty(t.clone());
            for text in texts {
                accepted += usize::from(agree(&t, text).is_some());
            }
        }
        assert!(accepted > 20, "only {accepted} cases were valid");
    }

    #[test]
    fn inserts_of_the_usual_shape_read_apart() {
        let op = insert_op(r#"{"uuid-name":"r\u0031","op":"insert","table":"T","row":{"n":1}}"#).unwrap();
        assert_eq!(op, InsertOp { table: "T".into(), uuid: None, uuid_name: Some("r1".into()), row: r#"{"n":1}"# });
        assert!(matches!(op.table, Cow::Borrowed(_)));
        let with_uuid = insert_op(r#"{"op":"insert","table":"T","uuid":"u","row":{}}"#).unwrap();
        assert_eq!(with_uuid.uuid.as_deref(), Some("u"));
        for other in [
            r#"{"op":"update","table":"T","row":{}}"#,
            r#"{"op":"insert","table":"T"}"#,
            r#"{"op":"insert","row":{}}"#,
            r#"{"op":"insert","table":"T","row":[]}"#,
            r#"{"op":"insert","table":"T","row":{},"row":{}}"#,
            r#"{"op":"insert","table":"T","row":{},"comment":"x"}"#,
            r#"{"op":"insert","table":7,"row":{}}"#,
            r#"{"op":"insert","table":"T","uuid-name":null,"row":{}}"#,
            r#"{"op":"insert","table":"T","row":{}} x"#,
            r#"["op"]"#,
        ] {
            assert_eq!(insert_op(other), None, "{other}");
        }
    }

    #[test]
    fn a_row_reads_each_column_as_its_type() {
        let schema = crate::schema::DatabaseSchema::from_json(&json!({"name": "D", "version": "1.0.0", "tables": {
            "T": {"columns": {"n": {"type": "integer"}, "tags": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}}}}}))
        .unwrap();
        let ts = &schema.tables[schema.table_id("T").unwrap()];
        let mut got = Vec::new();
        let text = r#"{"tags": ["map", [["k", "v"]]], "n": 7}"#;
        let seed = Columns {
            table: ts,
            types: |c: ColumnId| &ts.columns[c].ty,
            each: |c: ColumnId, d: Datum| {
                got.push((ts.columns[c].name.clone(), d));
                Ok(())
            },
            names: None,
        };
        seed.deserialize(&mut serde_json::Deserializer::from_str(text)).unwrap();
        assert_eq!(
            got,
            vec![
                ("tags".to_string(), Datum::map(vec![(Atom::string("k"), Atom::string("v"))])),
                ("n".to_string(), Datum::scalar(Atom::Integer(7))),
            ]
        );
        let unknown = Columns { table: ts, types: |c: ColumnId| &ts.columns[c].ty, each: |_, _| Ok(()), names: None }
            .deserialize(&mut serde_json::Deserializer::from_str(r#"{"m": 1}"#));
        assert!(unknown.unwrap_err().to_string().contains("No column m in table T."));
        let refused = Columns { table: ts, types: |c: ColumnId| &ts.columns[c].ty, each: |_, _| Err("no".into()), names: None }
            .deserialize(&mut serde_json::Deserializer::from_str(r#"{"n": 1}"#));
        assert!(refused.is_err());
    }
}
