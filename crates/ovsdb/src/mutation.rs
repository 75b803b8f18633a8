//! Mutations (RFC 7047 section 5.1, `<mutation>`): arithmetic on integer
//! and real columns, insert into and delete from sets and maps.

use serde_json::Value as Json;

use crate::atom::{Atom, AtomicType, NamedUuids};
use crate::datum::Datum;
use crate::error::{Error, ErrorKind, Result};
use crate::row::Row;
use crate::schema::{ColumnId, TableSchema};
use crate::types::Type;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutator {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Insert,
    Delete,
}

impl Mutator {
    pub fn from_name(name: &str) -> Option<Mutator> {
        Some(match name {
            "+=" => Mutator::Add,
            "-=" => Mutator::Sub,
            "*=" => Mutator::Mul,
            "/=" => Mutator::Div,
            "%=" => Mutator::Mod,
            "insert" => Mutator::Insert,
            "delete" => Mutator::Delete,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Mutation {
    pub column: ColumnId,
    pub mutator: Mutator,
    pub arg: Datum,
}

impl Mutation {
    pub fn from_json(table: &TableSchema, json: &Json, mut symbols: Option<&mut (dyn NamedUuids + 'static)>) -> Result<Mutation> {
        let parse_error = || Error::syntax_in(ErrorKind::SyntaxError, json, "Parse error in mutation.");
        let Json::Array(a) = json else { return Err(parse_error()) };
        let [Json::String(col_name), Json::String(mut_name), arg] = a.as_slice() else {
            return Err(parse_error());
        };
        let column = table.column_id(col_name).ok_or_else(|| {
            Error::syntax_in(ErrorKind::UnknownColumn, json, format!("No column {col_name} in table {}.", table.name))
        })?;
        let col = &table.columns[column];
        if !col.mutable {
            return Err(Error::syntax_in(
                ErrorKind::ConstraintViolation,
                json,
                format!("Cannot mutate immutable column {col_name} in table {}.", table.name),
            ));
        }
        let mutator = Mutator::from_name(mut_name).ok_or_else(|| {
            Error::syntax_in(ErrorKind::UnknownMutator, json, format!("No mutator named {mut_name}."))
        })?;
        let ty = &col.ty;
        let mismatch = || {
            Error::syntax_in(
                ErrorKind::SyntaxError,
                json,
                format!(
                    "Type mismatch: \"{}\" operator may not be applied to column {col_name} of type {}.",
                    mutator.name(),
                    ty.to_english()
                ),
            )
        };
        let arg = match mutator {
            Mutator::Add | Mutator::Sub | Mutator::Mul | Mutator::Div | Mutator::Mod => {
                let numeric = match ty.key.atomic {
                    AtomicType::Integer => true,
                    AtomicType::Real => mutator != Mutator::Mod,
                    _ => false,
                };
                if ty.is_map() || !numeric {
                    return Err(mismatch());
                }
                let arg_type = Type::scalar(ty.key.atomic);
                Datum::from_json(&arg_type, arg, symbols)?
            }
            Mutator::Insert | Mutator::Delete => {
                if !ty.is_set() && !ty.is_map() {
                    return Err(mismatch());
                }
                let mut arg_type = ty.clone();
                arg_type.min = 0;
                if mutator == Mutator::Delete {
                    arg_type.max = u32::MAX;
                }
                match Datum::from_json(&arg_type, arg, symbols.as_deref_mut()) {
                    Err(e) if ty.is_map() && mutator == Mutator::Delete => {
                        // Deleting from a map also accepts a set of keys.
                        let keys_type = Type { value: None, ..arg_type };
                        Datum::from_json(&keys_type, arg, symbols).map_err(|_| e)?
                    }
                    other => other?,
                }
            }
        };
        Ok(Mutation { column, mutator, arg })
    }

    /// Applies the mutation to `row`, checking the result against the
    /// column's type.
    pub fn apply(&self, table: &TableSchema, row: &mut Row) -> Result<()> {
        let ty = &table.columns[self.column].ty;
        let field = row.field_mut(self.column);
        match self.mutator {
            Mutator::Insert => {
                field.union(&self.arg);
                check_count(field, ty)
            }
            Mutator::Delete => {
                field.subtract(&self.arg);
                check_count(field, ty)
            }
            op => {
                let Some(y) = self.arg.as_scalar() else { return Ok(()) };
                let Datum::Set(atoms) = field else { return Ok(()) };
                for x in atoms.iter_mut() {
                    *x = arithmetic(op, x, y)?;
                    ty.key.check(x)?;
                }
                atoms.sort();
                if atoms.windows(2).any(|w| w[0] == w[1]) {
                    return Err(Error::constraint(format!(
                        "Result of \"{}\" operation contains duplicates.",
                        op.name()
                    )));
                }
                Ok(())
            }
        }
    }
}

fn check_count(field: &Datum, ty: &Type) -> Result<()> {
    if field.conforms(ty) {
        Ok(())
    } else {
        Err(Error::constraint(format!("Attempted to store {} elements in {}.", field.len(), ty.to_english())))
    }
}

/// Multiplication with Open vSwitch's overflow test, kept as it is so that
/// results match: it rejects some products that fit (x == i64::MAX / y)
/// and lets a few negative-by-negative products wrap.
fn ovs_mul(x: i64, y: i64) -> Option<i64> {
    let overflow = if x > 0 {
        if y > 0 { x >= i64::MAX / y } else { y < i64::MIN / x }
    } else if y > 0 {
        x < i64::MIN / y
    } else {
        x != 0 && y != 0 && y < i64::MAX / y
    };
    (!overflow).then(|| x.wrapping_mul(y))
}

fn arithmetic(op: Mutator, x: &Atom, y: &Atom) -> Result<Atom> {
    let range = || Error::new(ErrorKind::RangeError, format!("Result of \"{}\" operation is out of range.", op.name()));
    let domain = || Error::new(ErrorKind::DomainError, "Division by zero.");
    match (x, y) {
        (Atom::Integer(x), Atom::Integer(y)) => {
            let (x, y) = (*x, *y);
            let r = match op {
                Mutator::Add => x.checked_add(y),
                Mutator::Sub => x.checked_sub(y),
                Mutator::Mul => ovs_mul(x, y),
                Mutator::Div | Mutator::Mod if y == 0 => return Err(domain()),
                Mutator::Div => x.checked_div(y),
                Mutator::Mod => x.checked_rem(y),
                _ => Some(x),
            };
            r.map(Atom::Integer).ok_or_else(range)
        }
        (Atom::Real(x), Atom::Real(y)) => {
            let r = match op {
                Mutator::Add => x + y,
                Mutator::Sub => x - y,
                Mutator::Mul => x * y,
                Mutator::Div if *y == 0.0 => return Err(domain()),
                Mutator::Div => x / y,
                _ => *x,
            };
            if r.is_finite() { Ok(Atom::Real(r)) } else { Err(range()) }
        }
        _ => Ok(x.clone()),
    }
}
