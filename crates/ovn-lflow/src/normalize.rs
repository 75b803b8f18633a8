//! From a parsed match to its normal form: a disjunction of clauses, each
//! a conjunction of per-field constraints. A constraint is one masked
//! value, or a set of them ("dimension"); a clause with two or more
//! dimensions is what OpenFlow's `conjunction` action implements, so sets
//! crossed with sets never multiply out.
//!
//! Steps: *lower* (resolve address sets and port groups, push `!` down to
//! the comparisons, expand subfields into their fields and predicates into
//! their expansions, add prerequisites), *simplify* (only `==` remains:
//! `!=` and `<`, `>=`… become disjunctions of masked matches), then
//! *normalise* (group comparisons per field, intersect, distribute).
//!
//! A constraint that came straight from one `$address_set` remembers it,
//! so [`Normal::update_address_set`] can apply a changed set in place.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write};

use crate::error::ResolveError;
use crate::expr::{Const, Expr, Field, RelOp};
use crate::symtab::{Level, SymId, SymKind, SymbolTable};
use crate::value::{Format, IntConst, Quoted, cidr_len, low_mask, write_value};

/// Clauses beyond this make normalisation give up rather than eat memory.
pub const MAX_CLAUSES: usize = 100_000;
/// Clause pairs one conjunction may try to combine (each a merge).
const MAX_PAIRS: usize = 10_000_000;

/// Where address sets and port groups come from.
pub trait Sets {
    fn address_set(&self, name: &str) -> Option<&[IntConst]>;
    fn port_group(&self, name: &str) -> Option<&[String]>;
}

/// A plain in-memory [`Sets`].
#[derive(Debug, Clone, Default)]
pub struct SetEnv {
    pub address_sets: HashMap<String, Vec<IntConst>>,
    pub port_groups: HashMap<String, Vec<String>>,
}

impl Sets for SetEnv {
    fn address_set(&self, name: &str) -> Option<&[IntConst]> {
        self.address_sets.get(name).map(Vec::as_slice)
    }
    fn port_group(&self, name: &str) -> Option<&[String]> {
        self.port_groups.get(name).map(Vec::as_slice)
    }
}

/// A value a field is matched against: masked integer or port name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Val {
    Int { value: u128, mask: u128 },
    Str(String),
}

impl Val {
    fn intersect(&self, other: &Val) -> Option<Val> {
        match (self, other) {
            (Val::Int { value: v1, mask: m1 }, Val::Int { value: v2, mask: m2 }) => {
                ((v1 ^ v2) & m1 & m2 == 0).then(|| Val::Int { value: v1 | v2, mask: m1 | m2 })
            }
            (Val::Str(a), Val::Str(b)) => (a == b).then(|| self.clone()),
            _ => None,
        }
    }
}

/// An address set a constraint was copied from, and how its values were
/// placed in the field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source {
    pub set: String,
    pub field: Field,
}

/// What one clause requires of one field: any of `values`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Constraint {
    /// Sorted, without duplicates, never empty.
    pub values: Vec<Val>,
    pub source: Option<Source>,
}

/// A conjunction: every constraint holds, and every chassis-residency
/// condition has the given truth value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Clause {
    pub constraints: BTreeMap<SymId, Constraint>,
    pub conditions: BTreeMap<String, bool>,
}

impl Clause {
    /// Number of OpenFlow flows this clause needs: the product of its one
    /// dimension, or one flow per value of each dimension plus the flow
    /// that matches the conjunction id.
    pub fn n_flows(&self) -> usize {
        let dims: Vec<usize> = self.constraints.values().map(|c| c.values.len()).filter(|&n| n > 1).collect();
        match dims.len() {
            0 => 1,
            1 => dims[0],
            _ => dims.iter().sum::<usize>() + 1,
        }
    }
}

/// The normal form of a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normal {
    /// Disjunction; empty means the match is always false, a clause with
    /// nothing in it means always true.
    pub clauses: Vec<Clause>,
    /// Address sets the match names.
    pub address_sets: BTreeSet<String>,
    /// Port groups the match names.
    pub port_groups: BTreeSet<String>,
    /// Address sets whose values were merged with other constraints, so a
    /// change needs renormalising from the parse tree.
    pub untracked: BTreeSet<String>,
}

impl Normal {
    pub fn is_false(&self) -> bool {
        self.clauses.is_empty()
    }

    pub fn n_flows(&self) -> usize {
        self.clauses.iter().map(Clause::n_flows).sum()
    }

    /// True if both forms match the same packets the same way, whatever
    /// address sets their constraints came from.
    pub fn same_matches(&self, other: &Normal) -> bool {
        self.clauses.len() == other.clauses.len()
            && self.clauses.iter().zip(&other.clauses).all(|(a, b)| {
                a.conditions == b.conditions
                    && a.constraints.len() == b.constraints.len()
                    && a.constraints.iter().zip(&b.constraints).all(|((s1, c1), (s2, c2))| s1 == s2 && c1.values == c2.values)
            })
    }

    /// Applies new contents of address set `name` without going back to
    /// the parse tree. Returns `Ok(false)` when that is not possible (the
    /// set's values were merged with other constraints) and the caller
    /// must normalise again.
    pub fn update_address_set(&mut self, table: &SymbolTable, name: &str, values: &[IntConst]) -> Result<bool, ResolveError> {
        if !self.address_sets.contains(name) {
            return Ok(true);
        }
        if self.untracked.contains(name) {
            return Ok(false);
        }
        let mut clauses = Vec::with_capacity(self.clauses.len());
        for mut clause in std::mem::take(&mut self.clauses) {
            let mut keep = true;
            for c in clause.constraints.values_mut() {
                if let Some(src) = c.source.as_ref().filter(|s| s.set == name) {
                    let mut vals = Vec::with_capacity(values.len());
                    for v in values {
                        vals.push(place(table, &src.field, v, name)?);
                    }
                    vals.sort();
                    vals.dedup();
                    keep &= !vals.is_empty();
                    c.values = vals;
                }
            }
            if keep {
                clauses.push(clause);
            }
        }
        clauses.sort();
        clauses.dedup();
        self.clauses = clauses;
        Ok(true)
    }

    /// Prints one clause per line.
    pub fn display<'a>(&'a self, table: &'a SymbolTable) -> impl fmt::Display + 'a {
        NormalDisplay { n: self, table, one_line: false }
    }

    /// Prints the whole form as one match expression, which parses and
    /// normalises back to `self`.
    pub fn to_expr_string(&self, table: &SymbolTable) -> String {
        NormalDisplay { n: self, table, one_line: true }.to_string()
    }
}

/// Parses nothing: lowers, simplifies and normalises `expr`.
pub fn normalize(expr: &Expr, table: &SymbolTable, sets: &dyn Sets) -> Result<Normal, ResolveError> {
    let mut cx = Cx { table, sets, address_sets: BTreeSet::new(), port_groups: BTreeSet::new(), untracked: BTreeSet::new() };
    let t = cx.lower(expr, false, true, 0)?;
    let t = simplify(t, table);
    let clauses = cx.dnf(&t)?;
    let mut out = Vec::with_capacity(clauses.len());
    for c in clauses {
        cx.split_crossproduct(c, &mut out);
    }
    out.sort();
    out.dedup();
    Ok(Normal { clauses: out, address_sets: cx.address_sets, port_groups: cx.port_groups, untracked: cx.untracked })
}

/// Places a set member into the bits `field` occupies in its base field.
fn place(table: &SymbolTable, field: &Field, c: &IntConst, set: &str) -> Result<Val, ResolveError> {
    let sym = table.get(field.sym);
    if c.width() > sym.width {
        return Err(ResolveError::SetValueTooWide { set: set.to_string(), value: c.to_string(), width: c.width(), field: sym.name.to_string(), field_width: sym.width });
    }
    let (_, base_ofs) = table.resolve(field.sym);
    let shift = base_ofs + field.ofs;
    let bits = low_mask(field.n_bits);
    Ok(Val::Int { value: (c.value & bits) << shift, mask: (c.mask.unwrap_or(u128::MAX) & bits) << shift })
}

/// The lowered tree: comparisons on base fields only.
#[derive(Debug, Clone)]
enum T {
    Bool(bool),
    Cmp { sym: SymId, op: RelOp, val: Val },
    And(Vec<T>),
    /// A disjunction; carries its address set when it is exactly one.
    Or(Vec<T>, Option<Source>),
    Cond(String, bool),
}

impl T {
    fn negate(self) -> T {
        match self {
            T::Bool(b) => T::Bool(!b),
            T::Cmp { sym, op, val } => T::Cmp { sym, op: op.invert(), val },
            T::And(v) => T::Or(v.into_iter().map(T::negate).collect(), None),
            T::Or(v, _) => T::And(v.into_iter().map(T::negate).collect()),
            T::Cond(p, b) => T::Cond(p, !b),
        }
    }
}

struct Crushed {
    sym: SymId,
    values: Vec<Val>,
    source: Option<Source>,
    lost: Vec<String>,
}

struct Cx<'a> {
    table: &'a SymbolTable,
    sets: &'a dyn Sets,
    address_sets: BTreeSet<String>,
    port_groups: BTreeSet<String>,
    untracked: BTreeSet<String>,
}

fn and2(a: T, b: T) -> T {
    T::And(vec![a, b])
}

impl Cx<'_> {
    fn lower(&mut self, e: &Expr, not: bool, prereqs: bool, depth: usize) -> Result<T, ResolveError> {
        if depth > 64 {
            return Err(ResolveError::Type("predicates expand too deeply".into()));
        }
        Ok(match e {
            Expr::Bool(b) => T::Bool(b ^ not),
            Expr::ChassisResident(p) => T::Cond(p.clone(), !not),
            Expr::Not(x) => self.lower(x, !not, prereqs, depth)?,
            Expr::And(v) | Expr::Or(v) => {
                // When every term is about one symbol, its prerequisites are
                // added once, outside, so the terms stay one dimension.
                let uniq = if prereqs { e.unique_symbol() } else { None };
                let mut items = Vec::with_capacity(v.len());
                for sub in v {
                    items.push(self.lower(sub, not, prereqs && uniq.is_none(), depth)?);
                }
                let node = if matches!(e, Expr::And(_)) != not { T::And(items) } else { T::Or(items, None) };
                match uniq {
                    Some(sym) => self.with_prereqs(node, sym, depth)?,
                    None => node,
                }
            }
            Expr::Test(field) => {
                let zero = [Const::Int(IntConst::new(0, Format::Hex))];
                self.cmp(field, RelOp::Ne, &zero, not, prereqs, depth)?
            }
            Expr::Cmp { field, op, rhs } => self.cmp(field, *op, &rhs.values, not, prereqs, depth)?,
        })
    }

    fn with_prereqs(&mut self, t: T, sym: SymId, depth: usize) -> Result<T, ResolveError> {
        match self.table.prereq_expr(sym) {
            Some(p) => Ok(and2(t, self.lower(p, false, true, depth + 1)?)),
            None => Ok(t),
        }
    }

    fn cmp(&mut self, field: &Field, op: RelOp, consts: &[Const], not: bool, prereqs: bool, depth: usize) -> Result<T, ResolveError> {
        let table = self.table;
        let sym = table.get(field.sym);
        let op = if not { op.invert() } else { op };
        let mut items = Vec::with_capacity(consts.len());
        let single_set = match consts {
            [Const::AddrSet(name)] if op == RelOp::Eq => Some(name.as_str()),
            _ => None,
        };
        for c in consts {
            match c {
                Const::Int(c) => items.push(self.int_cmp(field, op, c, depth)?),
                Const::Str(s) => items.push(T::Cmp { sym: field.sym, op, val: Val::Str(s.clone()) }),
                Const::AddrSet(name) => {
                    self.address_sets.insert(name.clone());
                    if single_set.is_none() {
                        self.untracked.insert(name.clone());
                    }
                    let values = self.sets.address_set(name).ok_or_else(|| ResolveError::UnknownAddressSet(name.clone()))?;
                    if values.is_empty() {
                        self.untracked.insert(name.clone());
                    }
                    for v in values {
                        if v.width() > sym.width {
                            return Err(ResolveError::SetValueTooWide { set: name.clone(), value: v.to_string(), width: v.width(), field: sym.name.into(), field_width: sym.width });
                        }
                        items.push(self.int_cmp(field, op, v, depth)?);
                    }
                }
                Const::PortGroup(name) => {
                    self.port_groups.insert(name.clone());
                    let ports = self.sets.port_group(name).ok_or_else(|| ResolveError::UnknownPortGroup(name.clone()))?;
                    items.extend(ports.iter().map(|p| T::Cmp { sym: field.sym, op, val: Val::Str(p.clone()) }));
                }
            }
        }
        let node = match (op, items.len()) {
            (_, 0) => T::Bool(op == RelOp::Ne),
            (RelOp::Eq, 1) if single_set.is_none() => items.pop().unwrap_or(T::Bool(false)),
            (RelOp::Eq, _) => T::Or(items, single_set.map(|s| Source { set: s.to_string(), field: *field })),
            (_, 1) => items.pop().unwrap_or(T::Bool(true)),
            _ => T::And(items),
        };
        if prereqs { self.with_prereqs(node, field.sym, depth) } else { Ok(node) }
    }

    fn int_cmp(&mut self, field: &Field, op: RelOp, c: &IntConst, depth: usize) -> Result<T, ResolveError> {
        let table = self.table;
        if let SymKind::Predicate { .. } = table.get(field.sym).kind {
            let positive = (c.value & 1 == 1) ^ (op == RelOp::Ne);
            let exp = table.expansion(field.sym).ok_or_else(|| ResolveError::Type("predicate without expansion".into()))?;
            let t = self.lower(exp, false, true, depth + 1)?;
            return Ok(if positive { t } else { t.negate() });
        }
        let (base, base_ofs) = table.resolve(field.sym);
        let shift = base_ofs + field.ofs;
        let bits = low_mask(field.n_bits);
        let value = (c.value & bits) << shift;
        let mask = (c.mask.unwrap_or(u128::MAX) & bits) << shift;
        Ok(T::Cmp { sym: base, op, val: Val::Int { value: value & mask, mask } })
    }

    /// Values of `t` if it is a disjunction/conjunction over one field,
    /// with the address sets whose tracking using that result would lose.
    /// Pure, since callers may try and then not use the result.
    fn crush(t: &T) -> Option<Crushed> {
        match t {
            T::Cmp { sym, op: RelOp::Eq, val } => Some(Crushed { sym: *sym, values: vec![val.clone()], source: None, lost: Vec::new() }),
            T::Or(v, src) => {
                let mut sym = None;
                let mut values = Vec::new();
                let mut lost = Vec::new();
                let mut nested = false;
                for sub in v {
                    let c = Self::crush(sub)?;
                    if *sym.get_or_insert(c.sym) != c.sym {
                        return None;
                    }
                    nested |= !matches!(sub, T::Cmp { .. });
                    values.extend(c.values);
                    lost.extend(c.lost);
                    lost.extend(c.source.map(|s| s.set));
                }
                values.sort();
                values.dedup();
                let source = match src {
                    Some(s) if nested => {
                        lost.push(s.set.clone());
                        None
                    }
                    s => s.clone(),
                };
                Some(Crushed { sym: sym?, values, source, lost })
            }
            T::And(v) => {
                let mut acc: Option<Crushed> = None;
                for sub in v {
                    let c = Self::crush(sub)?;
                    acc = Some(match acc {
                        None => c,
                        Some(a) if a.sym != c.sym => return None,
                        Some(mut a) => {
                            a.lost.extend(c.lost);
                            a.lost.extend(a.source.take().map(|s| s.set));
                            a.lost.extend(c.source.map(|s| s.set));
                            // Too many to crush: the clause form bounds it.
                            a.values = intersect_all(&a.values, &c.values)?;
                            a
                        }
                    });
                }
                acc
            }
            _ => None,
        }
    }

    fn use_crushed(&mut self, c: Crushed) -> (SymId, Constraint) {
        self.untracked.extend(c.lost);
        (c.sym, Constraint { values: c.values, source: c.source })
    }

    fn dnf(&mut self, t: &T) -> Result<Vec<Clause>, ResolveError> {
        if let Some(crushed) = Self::crush(t) {
            let (sym, k) = self.use_crushed(crushed);
            if k.values.is_empty() {
                return Ok(Vec::new());
            }
            let mut c = Clause::default();
            c.constraints.insert(sym, k);
            return Ok(vec![c]);
        }
        match t {
            T::Bool(true) => Ok(vec![Clause::default()]),
            T::Bool(false) => Ok(Vec::new()),
            T::Cond(p, b) => {
                let mut c = Clause::default();
                c.conditions.insert(p.clone(), *b);
                Ok(vec![c])
            }
            T::Cmp { sym, .. } => {
                let name = self.table.get(*sym).name;
                Err(ResolveError::Type(format!("string field {name} compared with != outside of a negation")))
            }
            T::Or(v, src) => {
                if let Some(s) = src {
                    self.untracked.insert(s.set.clone());
                }
                // Terms over one field become one clause per field, so the
                // form does not depend on how the terms were grouped.
                let mut out = Vec::new();
                let mut per_field: BTreeMap<SymId, Constraint> = BTreeMap::new();
                for sub in v {
                    match Self::crush(sub) {
                        Some(crushed) => {
                            let (sym, k) = self.use_crushed(crushed);
                            let merged = match per_field.remove(&sym) {
                                None => k,
                                Some(old) => {
                                    for s in [&old.source, &k.source].into_iter().flatten() {
                                        self.untracked.insert(s.set.clone());
                                    }
                                    let mut values = old.values;
                                    values.extend(k.values);
                                    values.sort();
                                    values.dedup();
                                    Constraint { values, source: None }
                                }
                            };
                            per_field.insert(sym, merged);
                        }
                        None => out.extend(self.dnf(sub)?),
                    }
                    if out.len() > MAX_CLAUSES {
                        return Err(ResolveError::TooComplex(MAX_CLAUSES));
                    }
                }
                for (sym, k) in per_field {
                    if !k.values.is_empty() {
                        let mut c = Clause::default();
                        c.constraints.insert(sym, k);
                        out.push(c);
                    }
                }
                Ok(out)
            }
            T::And(v) => {
                let mut base = Clause::default();
                let mut rest = Vec::new();
                for sub in v {
                    match Self::crush(sub) {
                        Some(crushed) => {
                            let (sym, c) = self.use_crushed(crushed);
                            match base.constraints.remove(&sym) {
                                None => {
                                    base.constraints.insert(sym, c);
                                }
                                Some(old) => {
                                    let merged = self.merge(old, c)?;
                                    base.constraints.insert(sym, merged);
                                }
                            }
                        }
                        None => rest.push(sub),
                    }
                }
                if base.constraints.values().any(|c| c.values.is_empty()) {
                    return Ok(Vec::new());
                }
                let mut acc = vec![base];
                for sub in rest {
                    let d = self.dnf(sub)?;
                    // Every pair is tried even if most contradict: bound
                    // the work, and reserve no more than may be kept.
                    let pairs = acc.len().saturating_mul(d.len());
                    if pairs > MAX_PAIRS {
                        return Err(ResolveError::TooComplex(MAX_CLAUSES));
                    }
                    let mut next = Vec::with_capacity(pairs.min(MAX_CLAUSES + 1));
                    for a in &acc {
                        for b in &d {
                            if let Some(c) = self.merge_clauses(a, b)? {
                                next.push(c);
                            }
                        }
                        if next.len() > MAX_CLAUSES {
                            return Err(ResolveError::TooComplex(MAX_CLAUSES));
                        }
                    }
                    acc = next;
                    if acc.is_empty() {
                        break;
                    }
                }
                Ok(acc)
            }
        }
    }

    fn merge(&mut self, a: Constraint, b: Constraint) -> Result<Constraint, ResolveError> {
        for s in [&a.source, &b.source].into_iter().flatten() {
            self.untracked.insert(s.set.clone());
        }
        let values = intersect_all(&a.values, &b.values).ok_or(ResolveError::TooComplex(MAX_CLAUSES))?;
        Ok(Constraint { values, source: None })
    }

    /// The conjunction of two clauses, `None` if they contradict.
    fn merge_clauses(&mut self, a: &Clause, b: &Clause) -> Result<Option<Clause>, ResolveError> {
        let mut out = a.clone();
        for (sym, c) in &b.constraints {
            let merged = match out.constraints.remove(sym) {
                None => c.clone(),
                Some(old) => self.merge(old, c.clone())?,
            };
            if merged.values.is_empty() {
                return Ok(None);
            }
            out.constraints.insert(*sym, merged);
        }
        for (p, v) in &b.conditions {
            if *out.conditions.entry(p.clone()).or_insert(*v) != *v {
                return Ok(None);
            }
        }
        Ok(Some(out))
    }

    /// Fields that may not be a conjunction dimension get one clause per
    /// value.
    fn split_crossproduct(&mut self, clause: Clause, out: &mut Vec<Clause>) {
        let table = self.table;
        let split = clause.constraints.iter().find(|(s, c)| c.values.len() > 1 && table.get(**s).must_crossproduct).map(|(s, _)| *s);
        let Some(sym) = split else {
            out.push(clause);
            return;
        };
        let c = &clause.constraints[&sym];
        if let Some(s) = &c.source {
            self.untracked.insert(s.set.clone());
        }
        for v in c.values.clone() {
            let mut each = clause.clone();
            each.constraints.insert(sym, Constraint { values: vec![v], source: None });
            self.split_crossproduct(each, out);
        }
    }
}

/// The values both sides allow, `None` if that takes more than
/// [`MAX_PAIRS`] intersections or leaves more than [`MAX_CLAUSES`] values
/// (negated 128-bit matches give 128 alternatives each, and a few of them
/// together would need gigabytes).
fn intersect_all(a: &[Val], b: &[Val]) -> Option<Vec<Val>> {
    if a.len().saturating_mul(b.len()) > MAX_PAIRS {
        return None;
    }
    let mut out: Vec<Val> = Vec::new();
    for v in a.iter().flat_map(|x| b.iter().filter_map(move |y| x.intersect(y))) {
        out.push(v);
        if out.len() > 2 * MAX_CLAUSES {
            out.sort();
            out.dedup();
            if out.len() > MAX_CLAUSES {
                return None;
            }
        }
    }
    out.sort();
    out.dedup();
    (out.len() <= MAX_CLAUSES).then_some(out)
}

/// Leaves only `==` comparisons and folds constants.
fn simplify(t: T, table: &SymbolTable) -> T {
    match t {
        T::Cmp { sym, op, val: Val::Int { value, mask } } => {
            let width = table.get(sym).width;
            match op {
                RelOp::Eq if mask == 0 => T::Bool(true),
                RelOp::Eq => T::Cmp { sym, op, val: Val::Int { value, mask } },
                RelOp::Ne => ne_to_or(sym, value, mask, width),
                _ => relational(sym, op, value, mask, width),
            }
        }
        T::And(v) => {
            let mut items = Vec::with_capacity(v.len());
            for sub in v {
                match simplify(sub, table) {
                    T::Bool(true) => {}
                    T::Bool(false) => return T::Bool(false),
                    T::And(inner) => items.extend(inner),
                    s => items.push(s),
                }
            }
            match items.len() {
                0 => T::Bool(true),
                1 => items.pop().unwrap_or(T::Bool(true)),
                _ => T::And(items),
            }
        }
        T::Or(v, src) => {
            let mut items = Vec::with_capacity(v.len());
            let mut nested = false;
            for sub in v {
                match simplify(sub, table) {
                    T::Bool(false) => {}
                    T::Bool(true) => return T::Bool(true),
                    T::Or(inner, _) => {
                        nested = true;
                        items.extend(inner);
                    }
                    s => items.push(s),
                }
            }
            match items.len() {
                0 => T::Bool(false),
                1 if src.is_none() => items.pop().unwrap_or(T::Bool(false)),
                _ => T::Or(items, if nested { None } else { src }),
            }
        }
        t => t,
    }
}

/// `f != v/m` is true when any bit under the mask differs.
fn ne_to_or(sym: SymId, value: u128, mask: u128, width: u32) -> T {
    let mut items = Vec::new();
    for bit in 0..width {
        let b = 1u128 << bit;
        if mask & b != 0 {
            items.push(T::Cmp { sym, op: RelOp::Eq, val: Val::Int { value: (value & b) ^ b, mask: b } });
        }
    }
    if items.is_empty() { T::Bool(false) } else { T::Or(items, None) }
}

/// `f > c` over the contiguous bits of `mask`, as prefix matches: for each
/// 0 bit of `c`, the bits above it equal to `c`'s, that bit 1, the bits
/// below it wildcarded (and symmetrically for `<`).
fn relational(sym: SymId, op: RelOp, value: u128, mask: u128, width: u32) -> T {
    if mask == 0 {
        return T::Bool(matches!(op, RelOp::Le | RelOp::Ge));
    }
    let start = mask.trailing_zeros();
    let end = (128 - mask.leading_zeros()).min(width.max(start + 1));
    let lt = matches!(op, RelOp::Lt | RelOp::Le);
    let eq = matches!(op, RelOp::Le | RelOp::Ge);
    let bit = |z: u32| value >> z & 1 == 1;
    // Nothing can be below 0 or above all ones.
    if (start..end).all(|z| bit(z) == lt) {
        return if eq { T::Bool(true) } else { ne_to_or(sym, value, mask, width) };
    }
    let mut items = Vec::new();
    if eq {
        items.push(T::Cmp { sym, op: RelOp::Eq, val: Val::Int { value, mask } });
    }
    for z in start..end {
        if bit(z) == lt {
            let below = low_mask(z) & !low_mask(start);
            let m = mask & !below;
            let v = (value ^ (1u128 << z)) & m;
            items.push(T::Cmp { sym, op: RelOp::Eq, val: Val::Int { value: v, mask: m } });
        }
    }
    if items.len() == 1 { items.pop().unwrap_or(T::Bool(false)) } else { T::Or(items, None) }
}

struct NormalDisplay<'a> {
    n: &'a Normal,
    table: &'a SymbolTable,
    one_line: bool,
}

impl NormalDisplay<'_> {
    fn clause(&self, f: &mut impl Write, c: &Clause, parens: bool) -> fmt::Result {
        let table = self.table;
        let mut terms: Vec<String> = Vec::new();
        let mut cons: Vec<(&str, SymId, &Constraint)> = c.constraints.iter().map(|(s, k)| (table.get(*s).name, *s, k)).collect();
        cons.sort_by_key(|(n, _, _)| *n);
        for (_, sym, k) in cons {
            terms.push(constraint_string(table, sym, k));
        }
        for (p, b) in &c.conditions {
            terms.push(format!("{}is_chassis_resident({})", if *b { "" } else { "!" }, Quoted(p)));
        }
        if terms.is_empty() {
            return f.write_str("1");
        }
        let paren = parens && terms.len() > 1;
        if paren {
            f.write_str("(")?;
        }
        f.write_str(&terms.join(" && "))?;
        if paren {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for NormalDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.n.clauses.is_empty() {
            return f.write_str("0");
        }
        for (i, c) in self.n.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(if self.one_line { " || " } else { "\n" })?;
            }
            self.clause(f, c, self.one_line && self.n.clauses.len() > 1)?;
        }
        Ok(())
    }
}

fn constraint_string(table: &SymbolTable, sym: SymId, c: &Constraint) -> String {
    let s = table.get(sym);
    let full = low_mask(s.width);
    let mut out = String::new();
    // A single match on a contiguous run of an ordinal, non-address field
    // reads best as a subfield: `reg0[3] == 1`, `ct_state[5] == 1`. Nominal
    // fields admit no subfields, so theirs stay `value/mask`.
    if let [Val::Int { value, mask }] = c.values.as_slice() {
        let lo = mask.trailing_zeros();
        let n = 128 - mask.leading_zeros() - lo;
        let contiguous = *mask != full && (mask >> lo) == low_mask(n);
        if contiguous && s.level != Level::Nominal && !matches!(s.display, Format::Ipv4 | Format::Ipv6) {
            let f = Field { sym, ofs: lo, n_bits: n };
            let fmt = if n == 1 { Format::Decimal } else { Format::Hex };
            let _ = write!(out, "{} == ", f.display(table));
            let _ = write_value(&mut out, value >> lo, fmt);
            return out;
        }
    }
    let _ = write!(out, "{} == ", s.name);
    let multi = c.values.len() > 1;
    if multi {
        out.push('{');
    }
    for (i, v) in c.values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match v {
            Val::Str(p) => {
                let _ = write!(out, "{}", Quoted(p));
            }
            Val::Int { value, mask } => {
                let addr = matches!(s.display, Format::Ipv4 | Format::Ipv6 | Format::Ethernet);
                if *mask == full {
                    let _ = write_value(&mut out, *value, s.display);
                } else if addr {
                    let cidr = match s.display {
                        Format::Ipv4 => cidr_len(*mask, 32),
                        Format::Ipv6 => cidr_len(*mask, 128),
                        _ => None,
                    };
                    let _ = write_value(&mut out, *value, s.display);
                    out.push('/');
                    let _ = match cidr {
                        Some(n) => write!(out, "{n}"),
                        None => write_value(&mut out, *mask, s.display),
                    };
                } else {
                    let _ = write!(out, "{value:#x}/{mask:#x}");
                }
            }
        }
    }
    if multi {
        out.push('}');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    fn env() -> SetEnv {
        let mut e = SetEnv::default();
        let ip = |s: &str| IntConst::new(u32::from(s.parse::<std::net::Ipv4Addr>().unwrap()) as u128, Format::Ipv4);
        e.address_sets.insert("as1".into(), vec![ip("10.0.0.1"), ip("10.0.0.2")]);
        e.address_sets.insert("as2".into(), vec![ip("10.0.0.3")]);
        e.port_groups.insert("pg1".into(), vec!["p1".into(), "p2".into()]);
        e
    }

    fn norm(s: &str, e: &SetEnv) -> Normal {
        let t = SymbolTable::ovn();
        normalize(&parse(s).unwrap(), t, e).unwrap()
    }

    #[test]
    fn update_in_place_matches_fresh() {
        let t = SymbolTable::ovn();
        let mut e = env();
        let src = "outport == @pg1 && ip4 && ip4.src == $as1 && tcp.dst == {80, 443}";
        let mut n = norm(src, &e);
        assert!(n.untracked.is_empty());
        let new: Vec<IntConst> = ["10.0.0.7", "10.0.0.1", "10.0.0.9"].iter().map(|s| IntConst::new(u32::from(s.parse::<std::net::Ipv4Addr>().unwrap()) as u128, Format::Ipv4)).collect();
        assert!(n.update_address_set(t, "as1", &new).unwrap());
        e.address_sets.insert("as1".into(), new);
        assert_eq!(n, norm(src, &e));
        // Emptied: the match becomes false, like a fresh normalisation.
        assert!(n.update_address_set(t, "as1", &[]).unwrap());
        e.address_sets.insert("as1".into(), vec![]);
        assert_eq!(n.clauses, norm(src, &e).clauses);
    }

    /// Found by fuzzing: negating a predicate over whole IPv6 addresses
    /// gives 128 clauses per address, and a conjunction of a few of them
    /// asked for room for their whole product at once (tens of GB).
    /// It is refused as too complex, promptly and without the allocation.
    #[test]
    fn a_huge_conjunction_is_refused_without_allocating_it() {
        let t = SymbolTable::ovn();
        let start = std::time::Instant::now();
        let r = normalize(&parse("!ip6.mcast_flood").unwrap(), t, &SetEnv::default());
        assert!(matches!(r, Err(ResolveError::TooComplex(_))), "{r:?}");
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "took {:?}", start.elapsed());
    }

    #[test]
    fn merged_sets_are_untracked() {
        let n = norm("ip4.src == $as1 && ip4.src == {10.0.0.1, 10.0.0.3}", &env());
        assert!(n.untracked.contains("as1"));
        let n = norm("ip4.src != $as2", &env());
        assert!(n.untracked.contains("as2"));
    }

    #[test]
    fn nominal_masks_print_without_subfields() {
        // `!ip6.mcast` leaves eth.type's low bits free in some clauses; a
        // subfield of eth.type would not parse back. As in OVN, the
        // predicate's prerequisites are negated with it, so one clause tests
        // ip6.dst alone; printing and normalising again adds eth.type to it,
        // after which the normal form is a fixed point.
        let t = SymbolTable::ovn();
        let e = SetEnv::default();
        let n = norm("!ip6.mcast", &e);
        let once = n.to_expr_string(t);
        assert!(once.contains("eth.type == 0x0/0x1"), "{once}");
        let n2 = normalize(&parse(&once).unwrap(), t, &e).unwrap();
        let twice = n2.to_expr_string(t);
        assert!(twice.contains("(eth.type == 0x86dd && ip6.dst == {"), "{twice}");
        assert!(normalize(&parse(&twice).unwrap(), t, &e).unwrap().same_matches(&n2));
    }
}
