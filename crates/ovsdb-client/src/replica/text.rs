//! `<table-updates2>` read straight from JSON text into planned row
//! changes ([`super::Replica::apply_text`]): the rows are parsed as
//! datums of their columns' types, with no JSON tree in between.
//!
//! It accepts what [`super::Replica::plan`] accepts for V2 and V3; the
//! error only needs to say that something is wrong, because the caller
//! then reads the same text as a tree for the full error.

use std::fmt;
use std::sync::Arc;

use ovsdb::Uuid;
use ovsdb::datum::Datum;
use ovsdb::row::Row;
use ovsdb::schema::{COL_UUID, COL_VERSION, ColumnId, DatabaseSchema, TableSchema};
use ovsdb::seed::{Columns, Text};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{Planned, Replica, TableData};

/// `{table: {uuid: <row-update2>}}`.
pub(super) struct Updates<'a> {
    pub replica: &'a Replica,
    pub schema: &'a DatabaseSchema,
    pub from_empty: bool,
    pub planned: &'a mut Vec<Planned>,
}

impl<'de> DeserializeSeed<'de> for Updates<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Updates<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("<table-updates2>")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key_seed(Text)? {
            let table = self
                .schema
                .table_id(&name)
                .ok_or_else(|| de::Error::custom(format!("unknown table {name}")))?;
            map.next_value_seed(TableRows {
                ts: &self.schema.tables[table],
                data: &self.replica.tables[table],
                table,
                from_empty: self.from_empty,
                planned: &mut *self.planned,
            })?;
        }
        Ok(())
    }
}

/// `{uuid: <row-update2>}` of one table.
struct TableRows<'a> {
    ts: &'a TableSchema,
    data: &'a TableData,
    table: usize,
    from_empty: bool,
    planned: &'a mut Vec<Planned>,
}

impl<'de> DeserializeSeed<'de> for TableRows<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TableRows<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("<table-update2>")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.planned.reserve(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key_seed(Text)? {
            let uuid = Uuid::parse(&key).ok_or_else(|| de::Error::custom(format!("row name {key:?} is not a UUID")))?;
            let current = if self.from_empty { None } else { self.data.rows.get(&uuid) };
            let new = map.next_value_seed(RowUpdate { ts: self.ts, data: self.data, uuid, current })?;
            self.planned.push(Planned { table: self.table, uuid, new });
        }
        Ok(())
    }
}

/// `{"initial"|"insert": <row>}`, `{"modify": <row>}` or `{"delete": _}`.
struct RowUpdate<'a> {
    ts: &'a TableSchema,
    data: &'a TableData,
    uuid: Uuid,
    current: Option<&'a Arc<Row>>,
}

impl<'de> DeserializeSeed<'de> for RowUpdate<'_> {
    type Value = Option<Arc<Row>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowUpdate<'_> {
    type Value = Option<Arc<Row>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("<row-update2>")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let op = map.next_key_seed(Text)?.ok_or_else(|| de::Error::custom("empty <row-update2>"))?;
        let ts = self.ts;
        let new = match &*op {
            "initial" | "insert" => {
                if self.current.is_some() {
                    return Err(de::Error::custom("insert of a row that exists"));
                }
                let mut row = Row::new_default(ts, self.uuid);
                map.next_value_seed(Columns {
                    table: ts,
                    types: |c: ColumnId| &ts.columns[c].ty,
                    each: |c: ColumnId, d: Datum| {
                        row.put(c, d);
                        Ok(())
                    },
                    names: None,
                })?;
                // The row's name is the key it came under.
                row.uuid = self.uuid;
                Some(Arc::new(row))
            }
            "delete" => {
                self.current.ok_or_else(|| de::Error::custom("delete of a missing row"))?;
                map.next_value::<IgnoredAny>()?;
                None
            }
            "modify" => {
                let current = self.current.ok_or_else(|| de::Error::custom("modify of a missing row"))?;
                let mut row = Row::clone(current);
                let diff_types = &self.data.diff_types;
                map.next_value_seed(Columns {
                    table: ts,
                    types: |c: ColumnId| &diff_types[c],
                    each: |c: ColumnId, diff: Datum| match c {
                        COL_UUID => Err("\"_uuid\" cannot change".into()),
                        COL_VERSION => {
                            row.version = diff
                                .as_scalar()
                                .and_then(ovsdb::Atom::as_uuid)
                                .ok_or_else(|| "bad \"_version\"".to_string())?;
                            Ok(())
                        }
                        _ => row.field_mut(c).apply_diff(&diff, &ts.columns[c].ty).map_err(|e| e.to_string()),
                    },
                    names: None,
                })?;
                Some(Arc::new(row))
            }
            other => return Err(de::Error::custom(format!("unknown <row-update2> member {other:?}"))),
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("<row-update2> must have exactly one member"));
        }
        Ok(new)
    }
}
