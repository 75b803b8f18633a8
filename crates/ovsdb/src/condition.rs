//! Conditions (RFC 7047 section 5.1, `<condition>`): the `where` of
//! transaction operations (all clauses must hold) and of conditional
//! monitors (any clause may hold).

use serde_json::Value as Json;

use crate::atom::NamedUuids;
use crate::datum::Datum;
use crate::error::{Error, ErrorKind, Result};
use crate::row::Row;
use crate::schema::{COL_UUID, ColumnId, TableSchema};
use crate::types::Type;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
    Includes,
    Excludes,
}

impl Function {
    pub fn from_name(name: &str) -> Option<Function> {
        Some(match name {
            "<" => Function::Lt,
            "<=" => Function::Le,
            "==" => Function::Eq,
            "!=" => Function::Ne,
            ">=" => Function::Ge,
            ">" => Function::Gt,
            "includes" => Function::Includes,
            "excludes" => Function::Excludes,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Ge => ">=",
            Function::Gt => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Clause {
    /// The literal `true` or `false` of monitor conditions.
    Const(bool),
    Compare { column: ColumnId, function: Function, arg: Datum },
}

impl Clause {
    pub fn from_json(table: &TableSchema, json: &Json, symbols: Option<&mut (dyn NamedUuids + 'static)>) -> Result<Clause> {
        if let Json::Bool(b) = json {
            return Ok(Clause::Const(*b));
        }
        let parse_error = || Error::syntax_in(ErrorKind::SyntaxError, json, "Parse error in condition.");
        let Json::Array(a) = json else { return Err(parse_error()) };
        let [Json::String(col_name), Json::String(fn_name), arg] = a.as_slice() else {
            return Err(parse_error());
        };
        let column = table.column_id(col_name).ok_or_else(|| {
            Error::syntax_in(ErrorKind::UnknownColumn, json, format!("No column {col_name} in table {}.", table.name))
        })?;
        let function = Function::from_name(fn_name).ok_or_else(|| {
            Error::syntax_in(ErrorKind::UnknownFunction, json, format!("No function named {fn_name}."))
        })?;
        let col_type = &table.columns[column].ty;
        let mut arg_type: Type = col_type.clone();
        match function {
            Function::Lt | Function::Le | Function::Gt | Function::Ge => {
                let numeric = matches!(col_type.key.atomic, crate::AtomicType::Integer | crate::AtomicType::Real);
                if !(col_type.is_scalar() || col_type.is_optional_scalar()) || !numeric {
                    return Err(Error::syntax_in(
                        ErrorKind::SyntaxError,
                        json,
                        format!(
                            "Type mismatch: \"{}\" operator may not be applied to column {col_name} of type {}.",
                            function.name(),
                            col_type.to_english()
                        ),
                    ));
                }
                arg_type.min = 1;
            }
            Function::Eq | Function::Ne => {}
            Function::Includes => {
                if !col_type.is_scalar() {
                    arg_type.min = 0;
                }
            }
            Function::Excludes => {
                if !col_type.is_scalar() {
                    arg_type.min = 0;
                    arg_type.max = u32::MAX;
                }
            }
        }
        let arg = Datum::from_json(&arg_type, arg, symbols)?;
        Ok(Clause::Compare { column, function, arg })
    }

    pub fn evaluate(&self, table: &TableSchema, row: &Row) -> bool {
        let Clause::Compare { column, function, arg } = self else {
            return matches!(self, Clause::Const(true));
        };
        let ty = &table.columns[*column].ty;
        let field = row.get(*column);
        let scalarish = ty.is_scalar() || ty.is_optional_scalar();
        let ordering = matches!(function, Function::Lt | Function::Le | Function::Gt | Function::Ge);
        if ty.is_optional_scalar() && field.is_empty() && ordering {
            return false;
        }
        if scalarish && field.len() == 1 && arg.len() == 1 {
            let (Some(f), Some(a)) = (field.keys().next(), arg.keys().next()) else { return false };
            let cmp = f.cmp(a);
            return match function {
                Function::Lt => cmp.is_lt(),
                Function::Le => cmp.is_le(),
                Function::Eq | Function::Includes => cmp.is_eq(),
                Function::Ne | Function::Excludes => cmp.is_ne(),
                Function::Ge => cmp.is_ge(),
                Function::Gt => cmp.is_gt(),
            };
        }
        match function {
            Function::Eq => *field == *arg,
            Function::Ne => *field != *arg,
            Function::Includes => field.includes_all(arg),
            Function::Excludes => field.excludes_all(arg),
            _ => false,
        }
    }

    pub fn to_json(&self, table: &TableSchema) -> Json {
        match self {
            Clause::Const(b) => Json::Bool(*b),
            Clause::Compare { column, function, arg } => Json::Array(vec![
                table.columns[*column].name.clone().into(),
                function.name().into(),
                arg.to_json(),
            ]),
        }
    }
}

/// A list of clauses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Condition {
    pub clauses: Vec<Clause>,
}

impl Condition {
    pub fn from_json(table: &TableSchema, json: &Json, mut symbols: Option<&mut (dyn NamedUuids + 'static)>) -> Result<Condition> {
        let Json::Array(items) = json else {
            return Err(Error::syntax_in(ErrorKind::SyntaxError, json, "array of conditions expected"));
        };
        let clauses = items
            .iter()
            .map(|c| Clause::from_json(table, c, symbols.as_deref_mut()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Condition { clauses })
    }

    /// Transaction semantics: every clause holds (an empty condition is true).
    pub fn matches_all(&self, table: &TableSchema, row: &Row) -> bool {
        self.clauses.iter().all(|c| c.evaluate(table, row))
    }

    /// Monitor semantics: some clause holds, and an empty condition is true.
    pub fn matches_any(&self, table: &TableSchema, row: &Row) -> bool {
        self.clauses.is_empty() || self.clauses.iter().any(|c| c.evaluate(table, row))
    }

    /// For monitors: true when every row matches.
    pub fn is_true(&self) -> bool {
        self.clauses.is_empty() || self.clauses.contains(&Clause::Const(true))
    }

    /// The UUIDs this condition pins `_uuid` to, when it is a plain
    /// conjunction containing `_uuid == X` (lets queries skip the scan).
    pub fn uuid_lookup(&self) -> Option<crate::Uuid> {
        self.clauses.iter().find_map(|c| match c {
            Clause::Compare { column: COL_UUID, function: Function::Eq, arg } => {
                arg.as_scalar().and_then(crate::Atom::as_uuid)
            }
            _ => None,
        })
    }

    pub fn to_json(&self, table: &TableSchema) -> Json {
        Json::Array(self.clauses.iter().map(|c| c.to_json(table)).collect())
    }
}
