//! Datums: the value of one column of one row, a set of atoms or a map
//! between atoms (RFC 7047 section 5.1, `<value>`). Elements are kept
//! sorted by key and unique, as Open vSwitch keeps them.

use serde_json::Value as Json;

use crate::atom::{Atom, NamedUuids};
use crate::error::{Error, ErrorKind, Result};
use crate::types::Type;

/// Which side of [`Datum::changes`] an element is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Removed,
    Added,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Datum {
    /// Sets, including scalars (exactly one element).
    Set(Atoms),
    /// Sorted by key, keys unique.
    Map(Box<[(Atom, Atom)]>),
}

/// A set's elements. Most columns hold exactly one atom (a scalar), which
/// is kept inline: no allocation of its own, to make, copy or free. Other
/// sizes are a boxed slice. Compared, hashed and shown as the slice.
#[derive(Clone)]
pub enum Atoms {
    One(Atom),
    Many(Box<[Atom]>),
}

impl Atoms {
    pub fn into_vec(self) -> Vec<Atom> {
        match self {
            Atoms::One(a) => vec![a],
            Atoms::Many(b) => b.into_vec(),
        }
    }
}

impl Default for Atoms {
    fn default() -> Atoms {
        Atoms::Many(Box::default())
    }
}

impl std::ops::Deref for Atoms {
    type Target = [Atom];
    fn deref(&self) -> &[Atom] {
        match self {
            Atoms::One(a) => std::slice::from_ref(a),
            Atoms::Many(b) => b,
        }
    }
}

impl std::ops::DerefMut for Atoms {
    fn deref_mut(&mut self) -> &mut [Atom] {
        match self {
            Atoms::One(a) => std::slice::from_mut(a),
            Atoms::Many(b) => b,
        }
    }
}

impl From<Vec<Atom>> for Atoms {
    fn from(mut v: Vec<Atom>) -> Atoms {
        match v.len() {
            1 => Atoms::One(v.pop().expect("one element")),
            _ => Atoms::Many(v.into_boxed_slice()),
        }
    }
}

impl From<Box<[Atom]>> for Atoms {
    fn from(b: Box<[Atom]>) -> Atoms {
        match b.len() {
            1 => Atoms::from(b.into_vec()),
            _ => Atoms::Many(b),
        }
    }
}

impl From<&[Atom]> for Atoms {
    fn from(s: &[Atom]) -> Atoms {
        match s {
            [a] => Atoms::One(a.clone()),
            _ => Atoms::Many(s.into()),
        }
    }
}

impl PartialEq for Atoms {
    fn eq(&self, other: &Atoms) -> bool {
        **self == **other
    }
}

impl Eq for Atoms {}

impl std::hash::Hash for Atoms {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl std::fmt::Debug for Atoms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl Datum {
    pub fn set(mut atoms: Vec<Atom>) -> Datum {
        atoms.sort();
        atoms.dedup();
        Datum::Set(atoms.into())
    }

    pub fn map(mut pairs: Vec<(Atom, Atom)>) -> Datum {
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Datum::Map(pairs.into())
    }

    /// Changes a set's elements as a `Vec`.
    pub(crate) fn with_set(atoms: &mut Atoms, f: impl FnOnce(&mut Vec<Atom>)) {
        let mut v = std::mem::take(atoms).into_vec();
        f(&mut v);
        *atoms = v.into();
    }

    /// Changes a map's pairs as a `Vec`.
    pub(crate) fn with_map(pairs: &mut Box<[(Atom, Atom)]>, f: impl FnOnce(&mut Vec<(Atom, Atom)>)) {
        let mut v = std::mem::take(pairs).into_vec();
        f(&mut v);
        *pairs = v.into_boxed_slice();
    }

    pub fn scalar(atom: Atom) -> Datum {
        Datum::Set(Atoms::One(atom))
    }

    pub fn empty(ty: &Type) -> Datum {
        if ty.is_map() { Datum::Map(Box::default()) } else { Datum::Set(Atoms::default()) }
    }

    /// The value of a column that was never written: `min` default atoms.
    pub fn default_for(ty: &Type) -> Datum {
        if ty.min == 0 {
            return Datum::empty(ty);
        }
        let key = ty.key.atomic.default_atom();
        match &ty.value {
            Some(v) => Datum::Map(Box::new([(key, v.atomic.default_atom())])),
            None => Datum::Set(Atoms::One(key)),
        }
    }

    pub fn is_default(&self, ty: &Type) -> bool {
        if self.len() != ty.min as usize {
            return false;
        }
        match self {
            Datum::Set(a) => a.iter().all(Atom::is_default),
            Datum::Map(p) => p.iter().all(|(k, v)| k.is_default() && v.is_default()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Datum::Set(a) => a.len(),
            Datum::Map(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys (for a set, its elements), sorted.
    pub fn keys(&self) -> impl Iterator<Item = &Atom> {
        let (set, map) = match self {
            Datum::Set(a) => (Some(a.iter()), None),
            Datum::Map(p) => (None, Some(p.iter().map(|(k, _)| k))),
        };
        set.into_iter().flatten().chain(map.into_iter().flatten())
    }

    /// Every atom: keys, and for maps the values too.
    pub fn atoms(&self) -> impl Iterator<Item = &Atom> {
        let (set, map) = match self {
            Datum::Set(a) => (Some(a.iter()), None),
            Datum::Map(p) => (None, Some(p.iter().flat_map(|(k, v)| [k, v]))),
        };
        set.into_iter().flatten().chain(map.into_iter().flatten())
    }

    pub fn into_keys(self) -> Vec<Atom> {
        match self {
            Datum::Set(a) => a.into_vec(),
            Datum::Map(p) => p.into_vec().into_iter().map(|(k, _)| k).collect(),
        }
    }

    pub fn as_scalar(&self) -> Option<&Atom> {
        match self {
            Datum::Set(a) if a.len() == 1 => a.first(),
            _ => None,
        }
    }

    pub fn as_set(&self) -> &[Atom] {
        match self {
            Datum::Set(a) => a,
            Datum::Map(_) => &[],
        }
    }

    pub fn as_map(&self) -> &[(Atom, Atom)] {
        match self {
            Datum::Map(p) => p,
            Datum::Set(_) => &[],
        }
    }

    pub fn contains_key(&self, key: &Atom) -> bool {
        self.find_key(key).is_ok()
    }

    /// The value a map holds for `key`.
    pub fn get(&self, key: &Atom) -> Option<&Atom> {
        match self {
            Datum::Map(p) => p.binary_search_by(|(k, _)| k.cmp(key)).ok().map(|i| &p[i].1),
            Datum::Set(_) => None,
        }
    }

    fn find_key(&self, key: &Atom) -> std::result::Result<usize, usize> {
        match self {
            Datum::Set(a) => a.binary_search(key),
            Datum::Map(p) => p.binary_search_by(|(k, _)| k.cmp(key)),
        }
    }

    /// RFC 7047 notation: a one-element set is its atom, other sets are
    /// `["set", [...]]`, maps are `["map", [[k, v], ...]]`.
    pub fn to_json(&self) -> Json {
        match self {
            Datum::Set(_) => self.to_json_set(),
            Datum::Map(p) => Json::Array(vec![
                "map".into(),
                Json::Array(p.iter().map(|(k, v)| Json::Array(vec![k.to_json(), v.to_json()])).collect()),
            ]),
        }
    }

    pub(crate) fn to_json_set(&self) -> Json {
        match self {
            Datum::Set(a) if a.len() == 1 => a[0].to_json(),
            _ => Json::Array(vec!["set".into(), Json::Array(self.keys().map(Atom::to_json).collect())]),
        }
    }

    /// Parses `json` as a value of `ty`, checking element count and
    /// constraints, and rejecting duplicates.
    pub fn from_json(ty: &Type, json: &Json, mut symbols: Option<&mut (dyn NamedUuids + 'static)>) -> Result<Datum> {
        let is_map = ty.is_map();
        let wrapped = is_map
            || matches!(json, Json::Array(a) if matches!(a.first(), Some(Json::String(s)) if s == "set"));
        if !wrapped {
            let atom = Atom::from_json(ty.key.atomic, json, symbols)?;
            ty.key.check(&atom)?;
            if ty.max < 1 {
                return Err(count_error(ty, json, 1));
            }
            return Ok(Datum::Set(Atoms::One(atom)));
        }
        let class = if is_map { "map" } else { "set" };
        let inner = match json {
            Json::Array(a) if a.len() == 2 && a[0] == class => match &a[1] {
                Json::Array(inner) => inner,
                _ => return Err(expected_wrapper(json, class)),
            },
            _ => return Err(expected_wrapper(json, class)),
        };
        let n = inner.len();
        if n < ty.min as usize || n > ty.max as usize {
            return Err(count_error(ty, json, n));
        }
        let datum = if let Some(value_type) = &ty.value {
            let mut pairs = Vec::with_capacity(n);
            for elem in inner {
                let (k, v) = match elem {
                    Json::Array(kv) if kv.len() == 2 => (&kv[0], &kv[1]),
                    _ => {
                        return Err(Error::syntax_in(ErrorKind::SyntaxError, elem, "expected 2-element array"));
                    }
                };
                let key = Atom::from_json(ty.key.atomic, k, symbols.as_deref_mut())?;
                ty.key.check(&key)?;
                let value = Atom::from_json(value_type.atomic, v, symbols.as_deref_mut())?;
                value_type.check(&value)?;
                pairs.push((key, value));
            }
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(Error::new(ErrorKind::Generic, "map contains duplicate key"));
            }
            Datum::Map(pairs.into())
        } else {
            let mut atoms = Vec::with_capacity(n);
            for elem in inner {
                let atom = Atom::from_json(ty.key.atomic, elem, symbols.as_deref_mut())?;
                ty.key.check(&atom)?;
                atoms.push(atom);
            }
            atoms.sort();
            if atoms.windows(2).any(|w| w[0] == w[1]) {
                return Err(Error::new(ErrorKind::Generic, "set contains duplicate"));
            }
            Datum::Set(atoms.into())
        };
        Ok(datum)
    }

    /// Checks every atom against the constraints of `ty`.
    pub fn check_constraints(&self, ty: &Type) -> Result<()> {
        match self {
            Datum::Set(a) => a.iter().try_for_each(|atom| ty.key.check(atom)),
            Datum::Map(p) => p.iter().try_for_each(|(k, v)| {
                ty.key.check(k)?;
                match &ty.value {
                    Some(vt) => vt.check(v),
                    None => Ok(()),
                }
            }),
        }
    }

    pub fn conforms(&self, ty: &Type) -> bool {
        (ty.min as usize..=ty.max as usize).contains(&self.len())
    }

    /// Adds the elements of `other` whose keys are not already present (the
    /// `insert` mutator: existing map keys keep their values).
    pub fn union(&mut self, other: &Datum) {
        match (self, other) {
            (Datum::Set(a), Datum::Set(b)) => Datum::with_set(a, |a| {
                // Usually a few elements into a possibly large set: insert
                // each in place rather than re-sort the whole set, with room
                // made once (growing by doubling would copy the set again,
                // and shrinking it back once more).
                a.reserve_exact(b.len());
                for x in b.iter() {
                    if let Err(i) = a.binary_search(x) {
                        a.insert(i, x.clone());
                    }
                }
            }),
            (Datum::Map(a), Datum::Map(b)) => Datum::with_map(a, |a| {
                a.reserve_exact(b.len());
                for (k, v) in b.iter() {
                    if let Err(i) = a.binary_search_by(|(ak, _)| ak.cmp(k)) {
                        a.insert(i, (k.clone(), v.clone()));
                    }
                }
            }),
            _ => {}
        }
    }

    /// Visits the elements only in `old` (`f(Change::Removed, ...)`) and
    /// only in `new` (`f(Change::Added, ...)`), in one pass over both. Map
    /// elements are pairs: a key whose value changed is one pair removed and
    /// one added.
    pub fn changes(old: &Datum, new: &Datum, mut f: impl FnMut(Change, &Atom, Option<&Atom>)) {

        use std::cmp::Ordering;
        match (old, new) {
            (Datum::Set(a), Datum::Set(b)) => {
                let (a, b) = differing_middles(a, b);
                let (mut i, mut j) = (0, 0);
                while i < a.len() || j < b.len() {
                    match (a.get(i), b.get(j)) {
                        (Some(x), Some(y)) => match x.cmp(y) {
                            Ordering::Less => { f(Change::Removed, x, None); i += 1; }
                            Ordering::Greater => { f(Change::Added, y, None); j += 1; }
                            Ordering::Equal => { i += 1; j += 1; }
                        },
                        (Some(x), None) => { f(Change::Removed, x, None); i += 1; }
                        (None, Some(y)) => { f(Change::Added, y, None); j += 1; }
                        (None, None) => break,
                    }
                }
            }
            (Datum::Map(a), Datum::Map(b)) => {
                let (a, b) = differing_middles(a, b);
                let (mut i, mut j) = (0, 0);
                while i < a.len() || j < b.len() {
                    match (a.get(i), b.get(j)) {
                        (Some((xk, xv)), Some((yk, yv))) => match xk.cmp(yk) {
                            Ordering::Less => { f(Change::Removed, xk, Some(xv)); i += 1; }
                            Ordering::Greater => { f(Change::Added, yk, Some(yv)); j += 1; }
                            Ordering::Equal => {
                                if xv != yv {
                                    f(Change::Removed, xk, Some(xv));
                                    f(Change::Added, yk, Some(yv));
                                }
                                i += 1;
                                j += 1;
                            }
                        },
                        (Some((k, v)), None) => { f(Change::Removed, k, Some(v)); i += 1; }
                        (None, Some((k, v))) => { f(Change::Added, k, Some(v)); j += 1; }
                        (None, None) => break,
                    }
                }
            }
            // Different shapes never meet in one column; treat as replaced.
            (a, b) => {
                for (k, v) in a.pairs() {
                    f(Change::Removed, k, v);
                }
                for (k, v) in b.pairs() {
                    f(Change::Added, k, v);
                }
            }
        }
    }

    /// Elements as (key, value): value is None for sets.
    fn pairs(&self) -> Box<dyn Iterator<Item = (&Atom, Option<&Atom>)> + '_> {
        match self {
            Datum::Set(a) => Box::new(a.iter().map(|x| (x, None))),
            Datum::Map(p) => Box::new(p.iter().map(|(k, v)| (k, Some(v)))),
        }
    }

    /// Removes from a set the elements of `other`; from a map, the pairs of
    /// `other` (key and value must both match) or, when `other` is a set,
    /// the keys it lists (the `delete` mutator).
    pub fn subtract(&mut self, other: &Datum) {
        match (self, other) {
            (Datum::Set(a), Datum::Set(b)) => Datum::with_set(a, |a| a.retain(|x| b.binary_search(x).is_err())),
            (Datum::Map(a), Datum::Map(b)) => Datum::with_map(a, |a| {
                a.retain(|(k, v)| b.binary_search_by(|(bk, _)| bk.cmp(k)).map_or(true, |i| &b[i].1 != v))
            }),
            (Datum::Map(a), Datum::Set(keys)) => Datum::with_map(a, |a| a.retain(|(k, _)| keys.binary_search(k).is_err())),
            (Datum::Set(_), Datum::Map(_)) => {}
        }
    }

    /// True if every element of `other` is in `self` (for maps, as pairs).
    pub fn includes_all(&self, other: &Datum) -> bool {
        match (self, other) {
            (Datum::Set(a), Datum::Set(b)) => b.iter().all(|x| a.binary_search(x).is_ok()),
            (Datum::Map(_), Datum::Map(b)) => b.iter().all(|(k, v)| self.get(k) == Some(v)),
            _ => false,
        }
    }

    /// True if no element of `other` is in `self` (for maps, as pairs).
    pub fn excludes_all(&self, other: &Datum) -> bool {
        match (self, other) {
            (Datum::Set(a), Datum::Set(b)) => b.iter().all(|x| a.binary_search(x).is_err()),
            (Datum::Map(_), Datum::Map(b)) => b.iter().all(|(k, v)| self.get(k) != Some(v)),
            _ => true,
        }
    }

    /// The update2 / file "diff" from `old` to `new`: for scalars the new
    /// value; otherwise the elements added or removed and, for maps, the
    /// pairs whose value changed (with the new value).
    pub fn diff(old: &Datum, new: &Datum, ty: &Type) -> Datum {
        if !ty.is_composite() {
            return new.clone();
        }
        match (old, new) {
            (Datum::Set(a), Datum::Set(b)) => {
                let (a, b) = differing_middles(a, b);
                let mut out = Vec::new();
                let (mut i, mut j) = (0, 0);
                while i < a.len() && j < b.len() {
                    match a[i].cmp(&b[j]) {
                        std::cmp::Ordering::Less => { out.push(a[i].clone()); i += 1; }
                        std::cmp::Ordering::Greater => { out.push(b[j].clone()); j += 1; }
                        std::cmp::Ordering::Equal => { i += 1; j += 1; }
                    }
                }
                out.extend_from_slice(&a[i..]);
                out.extend_from_slice(&b[j..]);
                Datum::Set(out.into())
            }
            (Datum::Map(a), Datum::Map(b)) => {
                let (a, b) = differing_middles(a, b);
                let mut out = Vec::new();
                let (mut i, mut j) = (0, 0);
                while i < a.len() && j < b.len() {
                    match a[i].0.cmp(&b[j].0) {
                        std::cmp::Ordering::Less => { out.push(a[i].clone()); i += 1; }
                        std::cmp::Ordering::Greater => { out.push(b[j].clone()); j += 1; }
                        std::cmp::Ordering::Equal => {
                            if a[i].1 != b[j].1 {
                                out.push(b[j].clone());
                            }
                            i += 1;
                            j += 1;
                        }
                    }
                }
                out.extend_from_slice(&a[i..]);
                out.extend_from_slice(&b[j..]);
                Datum::Map(out.into())
            }
            _ => new.clone(),
        }
    }

    /// Applies a diff made by [`Datum::diff`]: a key absent from `self` is
    /// added, a key present with a different value is updated, a key present
    /// with the same value (or a set element present) is removed.
    pub fn apply_diff(&mut self, diff: &Datum, ty: &Type) -> Result<()> {
        if !ty.is_composite() {
            *self = diff.clone();
            return Ok(());
        }
        match (&mut *self, diff) {
            (Datum::Set(a), Datum::Set(d)) => Datum::with_set(a, |a| {
                for x in d.iter() {
                    match a.binary_search(x) {
                        Ok(i) => { a.remove(i); }
                        Err(i) => a.insert(i, x.clone()),
                    }
                }
            }),
            (Datum::Map(a), Datum::Map(d)) => Datum::with_map(a, |a| {
                for (k, v) in d.iter() {
                    match a.binary_search_by(|(ak, _)| ak.cmp(k)) {
                        Ok(i) if &a[i].1 == v => { a.remove(i); }
                        Ok(i) => a[i].1 = v.clone(),
                        Err(i) => a.insert(i, (k.clone(), v.clone())),
                    }
                }
            }),
            _ => return Err(Error::syntax("diff does not match the column's type")),
        }
        if !self.conforms(ty) {
            return Err(Error::constraint(format!(
                "applying the diff leaves {} elements in a column of type {}",
                self.len(),
                ty.to_english()
            )));
        }
        Ok(())
    }

    /// Removes every element (set) or pair (map) that mentions one of the
    /// UUIDs for which `dead` is true, in keys or values as `key`/`value` say.
    /// Returns how many were removed.
    pub fn remove_refs(&mut self, key: bool, value: bool, dead: impl Fn(&Atom) -> bool) -> usize {
        let before = self.len();
        match self {
            Datum::Set(a) if key => Datum::with_set(a, |a| a.retain(|x| !dead(x))),
            Datum::Map(p) => Datum::with_map(p, |p| p.retain(|(k, v)| !((key && dead(k)) || (value && dead(v))))),
            _ => {}
        }
        before - self.len()
    }
}

fn expected_wrapper(json: &Json, class: &str) -> Error {
    Error::syntax_in(ErrorKind::SyntaxError, json, format!("expected [\"{class}\", <array>]"))
}

fn count_error(ty: &Type, json: &Json, n: usize) -> Error {
    let class = if ty.is_map() { "map" } else { "set" };
    let details = if ty.min == 1 && ty.max == 1 {
        format!("{class} must have exactly one member but {n} are present")
    } else if ty.max == u32::MAX {
        format!("{class} must have at least {} members but {n} are present", ty.min)
    } else {
        format!("{class} must have {} to {} members but {n} are present", ty.min, ty.max)
    };
    Error::syntax_in(ErrorKind::SyntaxError, json, details)
}

/// `a` and `b` (sorted, unique) without the elements they share at their
/// start and at their end: where a merge of the two would find their
/// differences, found by equality alone. A large set that gains or
/// loses a few elements is mostly such ends.
fn differing_middles<'a, T: PartialEq>(a: &'a [T], b: &'a [T]) -> (&'a [T], &'a [T]) {
    let start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[start..], &b[start..]);
    let end = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
    (&a[..a.len() - end], &b[..b.len() - end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(j: Json) -> Type {
        Type::from_json(&j).unwrap()
    }

    fn parse(t: &Type, j: Json) -> Result<Datum> {
        Datum::from_json(t, &j, None)
    }

    /// A one-atom set is kept inline however it is made, and is the same
    /// value (equal, same hash, same order) as a boxed one.
    #[test]
    fn one_atom_sets_are_inline_and_equal_to_boxed_ones() {
        use std::hash::BuildHasher;
        let a = Atom::Integer(7);
        let made = [
            Atoms::from(vec![a.clone()]),
            Atoms::from(Box::from([a.clone()])),
            Atoms::from(&[a.clone()][..]),
            match parse(&ty(json!("integer")), json!(7)).unwrap() {
                Datum::Set(atoms) => atoms,
                Datum::Map(_) => unreachable!(),
            },
        ];
        let boxed = Atoms::Many(Box::new([a.clone()]));
        let state = std::hash::RandomState::new();
        for atoms in &made {
            assert!(matches!(atoms, Atoms::One(_)), "{atoms:?}");
            assert_eq!(*atoms, boxed);
            assert_eq!(state.hash_one(atoms), state.hash_one(&boxed));
            assert_eq!(atoms.cmp(&boxed), std::cmp::Ordering::Equal);
        }
        assert!(matches!(Atoms::from(Vec::new()), Atoms::Many(b) if b.is_empty()));
        assert_eq!(Atoms::from(vec![a.clone(), Atom::Integer(8)]).into_vec(), vec![a, Atom::Integer(8)]);
    }

    #[test]
    fn sets_and_scalars() {
        let t = ty(json!({"key": "integer", "min": 0, "max": "unlimited"}));
        let d = parse(&t, json!(["set", [3, 1, 2]])).unwrap();
        assert_eq!(d.to_json(), json!(["set", [1, 2, 3]]));
        assert_eq!(parse(&t, json!(5)).unwrap().to_json(), json!(5));
        assert_eq!(parse(&t, json!(["set", []])).unwrap().to_json(), json!(["set", []]));
        let e = parse(&t, json!(["set", [1, 1]])).unwrap_err();
        assert_eq!(e.tag(), "ovsdb error");
    }

    #[test]
    fn counts_and_constraints() {
        let t = ty(json!({"key": {"type": "integer", "minInteger": 1, "maxInteger": 3}, "min": 1, "max": 2}));
        assert_eq!(parse(&t, json!(["set", []])).unwrap_err().tag(), "syntax error");
        assert_eq!(parse(&t, json!(["set", [1, 2, 3]])).unwrap_err().tag(), "syntax error");
        assert_eq!(parse(&t, json!(4)).unwrap_err().tag(), "constraint violation");
        let e = ty(json!({"key": {"type": "string", "enum": ["set", ["a", "b"]]}}));
        assert_eq!(parse(&e, json!("c")).unwrap_err().tag(), "constraint violation");
        assert!(parse(&e, json!("a")).is_ok());
    }

    #[test]
    fn maps() {
        let t = ty(json!({"key": "string", "value": "integer", "min": 0, "max": "unlimited"}));
        let d = parse(&t, json!(["map", [["b", 2], ["a", 1]]])).unwrap();
        assert_eq!(d.to_json(), json!(["map", [["a", 1], ["b", 2]]]));
        assert_eq!(d.get(&Atom::string("b")), Some(&Atom::Integer(2)));
        assert_eq!(parse(&t, json!(["map", [["a", 1], ["a", 2]]])).unwrap_err().tag(), "ovsdb error");
        assert_eq!(parse(&t, json!("a")).unwrap_err().tag(), "syntax error");
    }

    #[test]
    fn mutators_union_and_subtract() {
        let t = ty(json!({"key": "string", "value": "integer", "min": 0, "max": "unlimited"}));
        let mut d = parse(&t, json!(["map", [["a", 1], ["b", 2]]])).unwrap();
        d.union(&parse(&t, json!(["map", [["a", 9], ["c", 3]]])).unwrap());
        assert_eq!(d.to_json(), json!(["map", [["a", 1], ["b", 2], ["c", 3]]]));
        d.subtract(&parse(&t, json!(["map", [["a", 9], ["b", 2]]])).unwrap());
        assert_eq!(d.to_json(), json!(["map", [["a", 1], ["c", 3]]]));
        d.subtract(&Datum::set(vec![Atom::string("a")]));
        assert_eq!(d.to_json(), json!(["map", [["c", 3]]]));
    }

    #[test]
    fn changes_visits_each_difference_once() {
        let t = ty(json!({"key": "string", "value": "integer", "min": 0, "max": "unlimited"}));
        let old = parse(&t, json!(["map", [["a", 1], ["b", 2], ["c", 3]]])).unwrap();
        let new = parse(&t, json!(["map", [["a", 1], ["b", 5], ["d", 4]]])).unwrap();
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        Datum::changes(&old, &new, |c, k, v| match c {
            Change::Removed => removed.push((k.clone(), v.cloned())),
            Change::Added => added.push((k.clone(), v.cloned())),
        });
        let s = |x: &str, n: i64| (Atom::string(x), Some(Atom::Integer(n)));
        assert_eq!(removed, vec![s("b", 2), s("c", 3)]);
        assert_eq!(added, vec![s("b", 5), s("d", 4)]);
        let set = |v: &[i64]| Datum::set(v.iter().map(|&i| Atom::Integer(i)).collect());
        let (mut r, mut a) = (Vec::new(), Vec::new());
        Datum::changes(&set(&[1, 2, 5]), &set(&[2, 3, 5, 9]), |c, k, _| match c {
            Change::Removed => r.push(k.clone()),
            Change::Added => a.push(k.clone()),
        });
        assert_eq!(r, vec![Atom::Integer(1)]);
        assert_eq!(a, vec![Atom::Integer(3), Atom::Integer(9)]);
    }

    /// Changes and diffs of sets and maps that share long starts and ends
    /// (which are passed over by equality) agree with the differences
    /// taken element by element.
    #[test]
    fn changes_and_diffs_agree_with_element_differences() {
        use std::collections::BTreeMap;
        let map_ty = ty(json!({"key": "integer", "value": "integer", "min": 0, "max": "unlimited"}));
        let mut seed = 12345u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..2000 {
            let old: BTreeMap<i64, i64> = (0..next(30)).map(|_| (next(40) as i64, next(3) as i64)).collect();
            let mut new = old.clone();
            for _ in 0..next(4) {
                match next(3) {
                    0 => new.insert(next(40) as i64, next(3) as i64),
                    1 => new.remove(&(next(40) as i64)),
                    _ => None,
                };
            }
            let as_map = |m: &BTreeMap<i64, i64>| Datum::map(m.iter().map(|(&k, &v)| (Atom::Integer(k), Atom::Integer(v))).collect());
            let as_set = |m: &BTreeMap<i64, i64>| Datum::set(m.keys().map(|&k| Atom::Integer(k)).collect());
            // Removed: old pairs not in new; added: new pairs not in old.
            let gone = |x: &BTreeMap<i64, i64>, y: &BTreeMap<i64, i64>| -> Vec<(i64, i64)> {
                x.iter().filter(|(k, v)| y.get(k) != Some(v)).map(|(&k, &v)| (k, v)).collect()
            };
            let (mut removed, mut added) = (Vec::new(), Vec::new());
            Datum::changes(&as_map(&old), &as_map(&new), |c, k, v| {
                let pair = (k.as_integer().unwrap(), v.and_then(Atom::as_integer).unwrap());
                if c == Change::Removed { removed.push(pair) } else { added.push(pair) }
            });
            assert_eq!(removed, gone(&old, &new), "{old:?} {new:?}");
            assert_eq!(added, gone(&new, &old), "{old:?} {new:?}");
            let mut applied = as_map(&old);
            applied.apply_diff(&Datum::diff(&as_map(&old), &as_map(&new), &map_ty), &map_ty).unwrap();
            assert_eq!(applied, as_map(&new), "{old:?} {new:?}");
            let keys = |x: &BTreeMap<i64, i64>, y: &BTreeMap<i64, i64>| -> Vec<i64> { x.keys().filter(|k| !y.contains_key(k)).copied().collect() };
            let mut symmetric: Vec<i64> = [keys(&old, &new), keys(&new, &old)].concat();
            symmetric.sort();
            let set_ty = ty(json!({"key": "integer", "min": 0, "max": "unlimited"}));
            let diff = Datum::diff(&as_set(&old), &as_set(&new), &set_ty);
            assert_eq!(diff.keys().map(|a| a.as_integer().unwrap()).collect::<Vec<_>>(), symmetric, "{old:?} {new:?}");
        }
    }

    #[test]
    fn diff_round_trips() {
        let t = ty(json!({"key": "string", "value": "integer", "min": 0, "max": "unlimited"}));
        let old = parse(&t, json!(["map", [["a", 1], ["b", 2], ["c", 3]]])).unwrap();
        let new = parse(&t, json!(["map", [["a", 1], ["b", 5], ["d", 4]]])).unwrap();
        let diff = Datum::diff(&old, &new, &t);
        assert_eq!(diff.to_json(), json!(["map", [["b", 5], ["c", 3], ["d", 4]]]));
        let mut applied = old.clone();
        applied.apply_diff(&diff, &t).unwrap();
        assert_eq!(applied, new);

        let s = ty(json!({"key": "integer", "min": 0, "max": 1}));
        let (o, n) = (parse(&s, json!(1)).unwrap(), parse(&s, json!(2)).unwrap());
        let diff = Datum::diff(&o, &n, &s);
        assert_eq!(diff.to_json(), json!(2));
    }

    #[test]
    fn defaults() {
        let t = ty(json!("string"));
        assert_eq!(Datum::default_for(&t).to_json(), json!(""));
        assert!(Datum::default_for(&t).is_default(&t));
        let m = ty(json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"}));
        assert_eq!(Datum::default_for(&m).to_json(), json!(["map", []]));
    }
}
