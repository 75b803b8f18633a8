//! Rows: a UUID, a version, and one datum per schema column.

use std::borrow::Cow;

use serde_json::{Map, Value as Json};

use crate::atom::{Atom, NamedUuids};
use crate::datum::Datum;
use crate::error::{Error, ErrorKind, Result};
use crate::schema::{COL_UUID, COL_VERSION, ColumnId, TableSchema};
use crate::uuid::Uuid;

/// A row. `fields[i]` is the datum of column `i + 2` (the first two columns,
/// `_uuid` and `_version`, are the struct's own fields).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub uuid: Uuid,
    pub version: Uuid,
    pub fields: Box<[Datum]>,
}

impl Row {
    /// A row with every column at its default value.
    pub fn new_default(table: &TableSchema, uuid: Uuid) -> Row {
        let fields = table.user_columns().map(|(_, c)| Datum::default_for(&c.ty)).collect();
        Row { uuid, version: Uuid::ZERO, fields }
    }

    pub fn get(&self, col: ColumnId) -> Cow<'_, Datum> {
        match col {
            COL_UUID => Cow::Owned(Datum::scalar(Atom::Uuid(self.uuid))),
            COL_VERSION => Cow::Owned(Datum::scalar(Atom::Uuid(self.version))),
            _ => Cow::Borrowed(&self.fields[col - 2]),
        }
    }

    /// The datum of a user column (not `_uuid` or `_version`).
    pub fn field(&self, col: ColumnId) -> &Datum {
        &self.fields[col - 2]
    }

    pub fn field_mut(&mut self, col: ColumnId) -> &mut Datum {
        &mut self.fields[col - 2]
    }

    pub fn set(&mut self, col: ColumnId, datum: Datum) {
        if col >= 2 {
            self.fields[col - 2] = datum;
        }
    }

    pub fn column_eq(&self, other: &Row, col: ColumnId) -> bool {
        match col {
            COL_UUID => self.uuid == other.uuid,
            COL_VERSION => self.version == other.version,
            _ => self.fields[col - 2] == other.fields[col - 2],
        }
    }

    /// Parses the `<row>` of RFC 7047 over `self`: only the named columns
    /// change. Returns the columns that were named.
    pub fn update_from_json(
        &mut self,
        table: &TableSchema,
        json: &Json,
        mut symbols: Option<&mut (dyn NamedUuids + 'static)>,
    ) -> Result<Vec<ColumnId>> {
        let Json::Object(obj) = json else {
            return Err(Error::syntax_in(ErrorKind::SyntaxError, json, "row must be JSON object"));
        };
        let mut named = Vec::with_capacity(obj.len());
        for (name, value) in obj {
            let col = table.column_id(name).ok_or_else(|| {
                Error::syntax_in(ErrorKind::UnknownColumn, json, format!("No column {name} in table {}.", table.name))
            })?;
            let datum = Datum::from_json(&table.columns[col].ty, value, symbols.as_deref_mut())?;
            self.put(col, datum);
            named.push(col);
        }
        Ok(named)
    }

    /// Sets any column, `_uuid` and `_version` included (they are the
    /// row's own fields), as a `<row>` names it.
    pub fn put(&mut self, col: ColumnId, datum: Datum) {
        match col {
            COL_UUID | COL_VERSION => {
                let u = datum.as_scalar().and_then(Atom::as_uuid).unwrap_or_default();
                if col == COL_UUID { self.uuid = u } else { self.version = u }
            }
            _ => self.fields[col - 2] = datum,
        }
    }

    /// Roughly how many bytes the row occupies (for budgets, not exact).
    pub fn approx_bytes(&self) -> usize {
        // A one-atom set is inline in its datum.
        let atoms: usize = self
            .fields
            .iter()
            .map(|d| match d {
                Datum::Set(a) if a.len() == 1 => 0,
                Datum::Set(a) => a.len(),
                Datum::Map(p) => 2 * p.len(),
            })
            .sum();
        64 + self.fields.len() * std::mem::size_of::<Datum>() + atoms * std::mem::size_of::<crate::Atom>()
    }

    /// The row as a JSON object of the given columns.
    pub fn to_json(&self, table: &TableSchema, columns: &[ColumnId]) -> Json {
        let mut obj = Map::with_capacity(columns.len());
        for &col in columns {
            obj.insert(table.columns[col].name.clone(), self.get(col).to_json());
        }
        Json::Object(obj)
    }
}
