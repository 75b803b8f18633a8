//! Typed rows: the conversions that the generated bindings ([`crate::nb`],
//! [`crate::sb`], [`crate::vswitch`], [`crate::server`]) are made of.
//!
//! A column's Rust type follows its OVSDB type: exactly one value is the
//! value itself (`String`, `i64`, `f64`, `bool`, `Uuid`), zero or one is an
//! `Option`, more is a `BTreeSet` (a `Vec` for reals, which have no total
//! order in Rust), a map is a `BTreeMap` (a `Vec` of pairs for real keys).
//!
//! Reading is lenient: a column the server does not have, or whose type
//! differs from the one compiled in, reads as the type's default; check a
//! server's schema up front with [`Table::check_schema`].

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::atom::{Atom, AtomicType};
use ovsdb::datum::Datum;
use ovsdb::row::Row;
use ovsdb::schema::TableSchema;
use ovsdb::types::Type;
use ovsdb::Uuid;
use serde_json::{Map, Value as Json};

/// A table with generated bindings.
pub trait Table: Sized {
    /// The table's name in the schema.
    const TABLE: &'static str;
    /// Its columns, without `_uuid` and `_version`.
    const COLUMNS: &'static [&'static str];

    fn uuid(&self) -> Uuid;

    /// Reads a replica row (over the server's `table` schema).
    fn from_row(table: &TableSchema, row: &Row) -> Self;

    /// A row over `table`, for code that works on [`Row`]s.
    fn to_row(&self, table: &TableSchema) -> Row;

    /// Every column as `<row>` JSON, for inserting.
    fn to_json_row(&self) -> Map<String, Json>;

    /// The columns that differ from `old`, as `<row>` JSON, for updating.
    fn diff_json_row(&self, old: &Self) -> Map<String, Json>;

    /// Whether every column this type knows has, on the server, the type it
    /// was generated for (missing columns are allowed: older servers).
    fn check_schema(table: &TableSchema) -> Result<(), RowError>;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowError {
    #[error("table {table}: column {column} has type {found} on the server, not the expected one")]
    ColumnType { table: String, column: String, found: String },
}

/// A Rust type that holds a column's value.
pub trait Value: Sized + Default {
    fn from_datum(datum: &Datum) -> Option<Self>;
    fn to_datum(&self) -> Datum;
    /// Whether a column of type `ty` reads into this type.
    fn fits(ty: &Type) -> bool;
}

/// A Rust type that holds one atom.
pub trait AtomValue: Sized + Clone {
    const ATOMIC: AtomicType;
    fn from_atom(atom: &Atom) -> Option<Self>;
    fn to_atom(&self) -> Atom;
}

impl AtomValue for String {
    const ATOMIC: AtomicType = AtomicType::String;
    fn from_atom(atom: &Atom) -> Option<String> {
        atom.as_str().map(str::to_string)
    }
    fn to_atom(&self) -> Atom {
        Atom::string(self)
    }
}

impl AtomValue for i64 {
    const ATOMIC: AtomicType = AtomicType::Integer;
    fn from_atom(atom: &Atom) -> Option<i64> {
        atom.as_integer()
    }
    fn to_atom(&self) -> Atom {
        Atom::Integer(*self)
    }
}

impl AtomValue for f64 {
    const ATOMIC: AtomicType = AtomicType::Real;
    fn from_atom(atom: &Atom) -> Option<f64> {
        match atom {
            Atom::Real(r) => Some(*r),
            _ => None,
        }
    }
    fn to_atom(&self) -> Atom {
        Atom::Real(*self)
    }
}

impl AtomValue for bool {
    const ATOMIC: AtomicType = AtomicType::Boolean;
    fn from_atom(atom: &Atom) -> Option<bool> {
        match atom {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }
    fn to_atom(&self) -> Atom {
        Atom::Boolean(*self)
    }
}

impl AtomValue for Uuid {
    const ATOMIC: AtomicType = AtomicType::Uuid;
    fn from_atom(atom: &Atom) -> Option<Uuid> {
        atom.as_uuid()
    }
    fn to_atom(&self) -> Atom {
        Atom::Uuid(*self)
    }
}

fn is_set_of(ty: &Type, atomic: AtomicType) -> bool {
    ty.value.is_none() && ty.key.atomic == atomic
}

fn atoms<T: AtomValue>(datum: &Datum) -> Option<Vec<T>> {
    match datum {
        Datum::Set(a) => a.iter().map(T::from_atom).collect(),
        Datum::Map(_) => None,
    }
}

fn pairs<K: AtomValue, V: AtomValue>(datum: &Datum) -> Option<Vec<(K, V)>> {
    match datum {
        Datum::Map(p) => p.iter().map(|(k, v)| Some((K::from_atom(k)?, V::from_atom(v)?))).collect(),
        // An empty map may have been parsed as an empty set.
        Datum::Set(a) if a.is_empty() => Some(Vec::new()),
        Datum::Set(_) => None,
    }
}

macro_rules! scalar_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn from_datum(datum: &Datum) -> Option<$t> {
                datum.as_scalar().and_then(<$t>::from_atom)
            }
            fn to_datum(&self) -> Datum {
                Datum::scalar(self.to_atom())
            }
            fn fits(ty: &Type) -> bool {
                ty.is_scalar() && ty.key.atomic == <$t>::ATOMIC
            }
        }
    )*};
}

scalar_value!(String, i64, f64, bool, Uuid);

impl<T: AtomValue> Value for Option<T> {
    fn from_datum(datum: &Datum) -> Option<Option<T>> {
        match atoms::<T>(datum)?.as_slice() {
            [] => Some(None),
            [one] => Some(Some(one.clone())),
            _ => None,
        }
    }
    fn to_datum(&self) -> Datum {
        Datum::set(self.iter().map(T::to_atom).collect())
    }
    fn fits(ty: &Type) -> bool {
        is_set_of(ty, T::ATOMIC) && ty.min == 0 && ty.max == 1
    }
}

impl<T: AtomValue + Ord> Value for BTreeSet<T> {
    fn from_datum(datum: &Datum) -> Option<BTreeSet<T>> {
        atoms(datum).map(|v| v.into_iter().collect())
    }
    fn to_datum(&self) -> Datum {
        Datum::set(self.iter().map(T::to_atom).collect())
    }
    fn fits(ty: &Type) -> bool {
        is_set_of(ty, T::ATOMIC) && !ty.is_scalar() && !ty.is_optional_scalar()
    }
}

impl Value for Vec<f64> {
    fn from_datum(datum: &Datum) -> Option<Vec<f64>> {
        atoms(datum)
    }
    fn to_datum(&self) -> Datum {
        Datum::set(self.iter().map(f64::to_atom).collect())
    }
    fn fits(ty: &Type) -> bool {
        is_set_of(ty, AtomicType::Real) && !ty.is_scalar() && !ty.is_optional_scalar()
    }
}

impl<K: AtomValue + Ord, V: AtomValue> Value for BTreeMap<K, V> {
    fn from_datum(datum: &Datum) -> Option<BTreeMap<K, V>> {
        pairs(datum).map(|v| v.into_iter().collect())
    }
    fn to_datum(&self) -> Datum {
        Datum::map(self.iter().map(|(k, v)| (k.to_atom(), v.to_atom())).collect())
    }
    fn fits(ty: &Type) -> bool {
        ty.key.atomic == K::ATOMIC && ty.value.as_ref().is_some_and(|v| v.atomic == V::ATOMIC)
    }
}

impl<V: AtomValue> Value for Vec<(f64, V)> {
    fn from_datum(datum: &Datum) -> Option<Vec<(f64, V)>> {
        pairs(datum)
    }
    fn to_datum(&self) -> Datum {
        Datum::map(self.iter().map(|(k, v)| (k.to_atom(), v.to_atom())).collect())
    }
    fn fits(ty: &Type) -> bool {
        ty.key.atomic == AtomicType::Real && ty.value.as_ref().is_some_and(|v| v.atomic == V::ATOMIC)
    }
}

/// Reads column `name` of `row` (the default when the server lacks it or
/// its type differs).
pub fn field<T: Value>(table: &TableSchema, row: &Row, name: &str) -> T {
    table.column_id(name).filter(|&c| c >= 2).and_then(|c| T::from_datum(row.field(c))).unwrap_or_default()
}

/// Writes column `name` of `row`, if the server has it.
pub fn set_field<T: Value>(table: &TableSchema, row: &mut Row, name: &str, value: &T) {
    if let Some(col) = table.column_id(name).filter(|&c| c >= 2) {
        row.set(col, value.to_datum());
    }
}

/// Checks that column `name`, if the server has it, reads into `T`.
pub fn check<T: Value>(table: &TableSchema, name: &str) -> Result<(), RowError> {
    match table.column(name) {
        Some(col) if !T::fits(&col.ty) => Err(RowError::ColumnType {
            table: table.name.clone(),
            column: name.to_string(),
            found: col.ty.to_json().to_string(),
        }),
        _ => Ok(()),
    }
}

/// The JSON of a value, for `<row>` objects.
pub fn to_json<T: Value>(value: &T) -> Json {
    value.to_datum().to_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(j: Json) -> Type {
        Type::from_json(&j).unwrap()
    }

    fn round<T: Value + PartialEq + std::fmt::Debug>(t: &Type, j: Json) -> T {
        let d = Datum::from_json(t, &j, None).unwrap();
        let v = T::from_datum(&d).unwrap();
        assert!(T::fits(t));
        assert_eq!(v.to_datum(), d);
        v
    }

    #[test]
    fn shapes() {
        assert_eq!(round::<String>(&ty(json!("string")), json!("a")), "a");
        assert_eq!(round::<Option<i64>>(&ty(json!({"key": "integer", "min": 0})), json!(["set", []])), None);
        assert_eq!(round::<Option<i64>>(&ty(json!({"key": "integer", "min": 0})), json!(3)), Some(3));
        let set: BTreeSet<String> = round(&ty(json!({"key": "string", "min": 0, "max": "unlimited"})), json!(["set", ["b", "a"]]));
        assert_eq!(set.into_iter().collect::<Vec<_>>(), vec!["a", "b"]);
        let map: BTreeMap<String, i64> =
            round(&ty(json!({"key": "string", "value": "integer", "min": 0, "max": "unlimited"})), json!(["map", [["k", 1]]]));
        assert_eq!(map["k"], 1);
        let reals: Vec<f64> = round(&ty(json!({"key": "real", "min": 0, "max": 4})), json!(["set", [1.5, 0.5]]));
        assert_eq!(reals, vec![0.5, 1.5]);
    }

    #[test]
    fn mismatches_do_not_fit() {
        assert!(!String::fits(&ty(json!("integer"))));
        assert!(!<Option<String>>::fits(&ty(json!("string"))));
        assert!(!<BTreeSet<String>>::fits(&ty(json!({"key": "string", "min": 0}))));
        assert!(!<BTreeMap<String, String>>::fits(&ty(json!({"key": "string", "value": "integer", "min": 0, "max": "unlimited"}))));
        assert_eq!(String::from_datum(&Datum::Set(Default::default())), None);
        assert_eq!(i64::from_datum(&Datum::scalar(Atom::string("x"))), None);
    }
}
