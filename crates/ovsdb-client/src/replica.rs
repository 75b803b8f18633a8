//! The replica: an in-memory copy of the monitored tables and columns of
//! one database, kept up to date by applying the server's `<table-updates>`
//! (`update`), `<table-updates2>` (`update2`, `update3`) and monitor
//! replies, and the change tracking that lets a consumer be incremental.
//!
//! Rows are [`ovsdb::row::Row`]s over the schema the server announced, so
//! the engine's datum code reads them; columns that are not monitored hold
//! their default values.
//!
//! An update is checked whole before any of it is applied: a bad one (an
//! unknown table, a malformed value, a modification of a row we do not
//! have) is an [`UpdateError`] and leaves the replica as it was. The
//! session then resynchronises from scratch, since the replica can no
//! longer be trusted to match the server.

use std::collections::BTreeMap;
use std::sync::Arc;

use ovsdb::Uuid;
use ovsdb::datum::Datum;
use ovsdb::monitor::Version;
use ovsdb::row::Row;
use ovsdb::schema::{COL_UUID, COL_VERSION, ColumnId, DatabaseSchema, TableId, TableSchema};
use ovsdb::types::Type;
use serde_json::{Map, Value as Json};

use crate::typed;

mod text;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError {
    #[error("update received before the schema")]
    NoSchema,
    #[error("<table-updates> is not a JSON object")]
    NotObject,
    #[error("update names unknown table {0}")]
    UnknownTable(String),
    #[error("table {0}: <table-update> is not a JSON object")]
    TableNotObject(String),
    #[error("table {table}: row name {key:?} is not a UUID")]
    BadUuid { table: String, key: String },
    #[error("table {table}, row {uuid}: {why}")]
    BadRowUpdate { table: String, uuid: Uuid, why: String },
    #[error("table {table}, row {uuid}: {error}")]
    BadValue { table: String, uuid: Uuid, error: ovsdb::Error },
    #[error("table {table}, row {uuid}: cannot insert a row that already exists")]
    RowExists { table: String, uuid: Uuid },
    #[error("table {table}, row {uuid}: cannot {op} a row that does not exist")]
    NoSuchRow { table: String, uuid: Uuid, op: &'static str },
}

/// One monitored table.
#[derive(Clone, Debug, Default)]
struct TableData {
    /// Monitored columns (`None`: the table is not monitored).
    columns: Option<Vec<ColumnId>>,
    /// Each column's type with the element count relaxed, for parsing
    /// update2 diffs (which may hold more elements than the column).
    diff_types: Vec<Type>,
    rows: BTreeMap<Uuid, Arc<Row>>,
    /// Rows changed since the consumer last took the changes, with their
    /// contents then (`None`: the row did not exist).
    tracked: BTreeMap<Uuid, Option<Arc<Row>>>,
}

/// The local copy of one database.
#[derive(Clone, Debug)]
pub struct Replica {
    database: String,
    schema: Option<Arc<DatabaseSchema>>,
    /// Indexed by [`TableId`] of `schema`.
    tables: Vec<TableData>,
    /// Counts changes to the contents, as the C IDL's change seqno does.
    seqno: u64,
    /// Set when the schema changed since the consumer last took changes.
    reset: bool,
}

/// A row change to make, checked and computed ahead of applying.
struct Planned {
    table: TableId,
    uuid: Uuid,
    new: Option<Arc<Row>>,
}

impl Replica {
    pub fn new(database: impl Into<String>) -> Replica {
        Replica { database: database.into(), schema: None, tables: Vec::new(), seqno: 0, reset: false }
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// The schema the server announced, once connected.
    pub fn schema(&self) -> Option<&Arc<DatabaseSchema>> {
        self.schema.as_ref()
    }

    /// Increases whenever the contents change.
    pub fn seqno(&self) -> u64 {
        self.seqno
    }

    /// Adopts the server's schema and the columns to monitor in each table.
    /// A schema that differs from the previous one empties the replica.
    /// Returns true if the schema differs from the previous one.
    pub fn set_schema(&mut self, schema: Arc<DatabaseSchema>, monitored: Vec<(TableId, Vec<ColumnId>)>) -> bool {
        let same = self.schema.as_ref().is_some_and(|old| old.to_json() == schema.to_json());
        if !same {
            if self.schema.is_some() {
                self.reset = true;
                self.seqno += 1;
            }
            self.tables = schema
                .tables
                .iter()
                .map(|t| TableData {
                    diff_types: t.columns.iter().map(|c| Type { min: 0, max: u32::MAX, ..c.ty.clone() }).collect(),
                    ..TableData::default()
                })
                .collect();
            self.schema = Some(schema);
        }
        for t in &mut self.tables {
            t.columns = None;
        }
        for (table, columns) in monitored {
            if let Some(t) = self.tables.get_mut(table) {
                t.columns = Some(columns);
            }
        }
        !same
    }

    /// The monitored columns of `table`.
    pub fn monitored_columns(&self, table: TableId) -> Option<&[ColumnId]> {
        self.tables.get(table)?.columns.as_deref()
    }

    pub fn table(&self, name: &str) -> Option<TableView<'_>> {
        let schema = self.schema.as_ref()?;
        let id = schema.table_id(name)?;
        Some(TableView { schema: &schema.tables[id], rows: &self.tables[id].rows })
    }

    /// The row `uuid` of `T`'s table, typed.
    pub fn get<T: typed::Table>(&self, uuid: Uuid) -> Option<T> {
        let view = self.table(T::TABLE)?;
        view.get(uuid).map(|row| T::from_row(view.schema, row))
    }

    /// Every row of `T`'s table, typed, in UUID order.
    pub fn iter<T: typed::Table>(&self) -> impl Iterator<Item = T> + '_ {
        self.table(T::TABLE).into_iter().flat_map(|view| view.rows.values().map(move |row| T::from_row(view.schema, row)))
    }

    /// Applies `<table-updates>` (V1) or `<table-updates2>` (V2, V3) from a
    /// notification. Returns whether anything changed.
    pub fn apply(&mut self, version: Version, updates: &Json) -> Result<bool, UpdateError> {
        let planned = self.plan(version, updates, false)?;
        Ok(self.commit(planned))
    }

    /// Replaces the contents with the rows of a monitor reply (the
    /// "initial" updates). Returns whether anything changed.
    pub fn replace(&mut self, version: Version, updates: &Json) -> Result<bool, UpdateError> {
        let planned = self.plan(version, updates, true)?;
        // Rows the reply brings back unchanged will not count as changes.
        let cleared = self.clear();
        Ok(self.commit(planned) || cleared)
    }

    /// Empties the replica (the database went away).
    pub fn clear(&mut self) -> bool {
        let mut changed = false;
        for t in &mut self.tables {
            for (uuid, row) in std::mem::take(&mut t.rows) {
                t.tracked.entry(uuid).or_insert(Some(row));
                changed = true;
            }
        }
        if changed {
            self.seqno += 1;
        }
        changed
    }

    /// What changed since the last call: rows inserted, modified (with the
    /// columns that differ) and deleted. A row changed and changed back
    /// does not appear.
    pub fn take_changes(&mut self) -> Changes {
        let reset = std::mem::take(&mut self.reset);
        let Some(schema) = self.schema.clone() else {
            return Changes { reset, tables: Vec::new() };
        };
        let mut tables = Vec::new();
        for (table, t) in self.tables.iter_mut().enumerate() {
            let mut tc = TableChanges {
                schema: Arc::clone(&schema),
                table,
                inserted: Vec::new(),
                modified: Vec::new(),
                deleted: Vec::new(),
            };
            for (uuid, old) in std::mem::take(&mut t.tracked) {
                match (old, t.rows.get(&uuid)) {
                    (None, None) => {}
                    (None, Some(new)) => tc.inserted.push(Arc::clone(new)),
                    (Some(old), None) => tc.deleted.push(old),
                    (Some(old), Some(new)) => {
                        let columns: Vec<ColumnId> =
                            (2..schema.tables[table].columns.len()).filter(|&c| old.field(c) != new.field(c)).collect();
                        if !columns.is_empty() {
                            tc.modified.push(Modified { old, new: Arc::clone(new), columns });
                        }
                    }
                }
            }
            if !tc.is_empty() {
                tables.push(tc);
            }
        }
        Changes { reset, tables }
    }

    /// Checks a whole update and computes the new rows.
    fn plan(&self, version: Version, updates: &Json, from_empty: bool) -> Result<Vec<Planned>, UpdateError> {
        let schema = self.schema.as_ref().ok_or(UpdateError::NoSchema)?;
        let Json::Object(tables) = updates else { return Err(UpdateError::NotObject) };
        let mut planned = Vec::new();
        for (name, rows) in tables {
            let table = schema.table_id(name).ok_or_else(|| UpdateError::UnknownTable(name.clone()))?;
            let ts = &schema.tables[table];
            let data = &self.tables[table];
            let Json::Object(rows) = rows else { return Err(UpdateError::TableNotObject(name.clone())) };
            for (key, update) in rows {
                let uuid = Uuid::parse(key).ok_or_else(|| UpdateError::BadUuid { table: name.clone(), key: key.clone() })?;
                let current = if from_empty { None } else { data.rows.get(&uuid) };
                let cx = RowContext { ts, uuid, current };
                let new = match version {
                    Version::V1 => cx.update1(update)?,
                    Version::V2 | Version::V3 => cx.update2(update, &data.diff_types)?,
                };
                planned.push(Planned { table, uuid, new });
            }
        }
        Ok(planned)
    }

    /// Like [`Replica::apply`], reading `<table-updates2>` (V2, V3)
    /// straight from its JSON text. Refuses V1 and anything the tree
    /// reader would refuse; the error is text only, and the replica is
    /// left as it was, so a caller can fall back to [`Replica::apply`]
    /// for the full error.
    pub fn apply_text(&mut self, version: Version, updates: &str) -> Result<bool, serde_json::Error> {
        let planned = self.plan_text(version, updates, false)?;
        Ok(self.commit(planned))
    }

    /// Like [`Replica::replace`], reading the text as
    /// [`Replica::apply_text`] does.
    pub fn replace_text(&mut self, version: Version, updates: &str) -> Result<bool, serde_json::Error> {
        let planned = self.plan_text(version, updates, true)?;
        let cleared = self.clear();
        Ok(self.commit(planned) || cleared)
    }

    fn plan_text(&self, version: Version, updates: &str, from_empty: bool) -> Result<Vec<Planned>, serde_json::Error> {
        use serde::de::{DeserializeSeed, Error as _};
        if version == Version::V1 {
            return Err(serde_json::Error::custom("update (V1) is read as a tree"));
        }
        let schema = self.schema.as_ref().ok_or_else(|| serde_json::Error::custom("no schema"))?;
        let mut planned = Vec::new();
        let mut de = serde_json::Deserializer::from_str(updates);
        text::Updates { replica: self, schema, from_empty, planned: &mut planned }.deserialize(&mut de)?;
        de.end()?;
        Ok(planned)
    }

    fn commit(&mut self, planned: Vec<Planned>) -> bool {
        if planned.is_empty() {
            return false;
        }
        for Planned { table, uuid, new } in planned {
            let t = &mut self.tables[table];
            let old = match new {
                Some(row) => t.rows.insert(uuid, row),
                None => t.rows.remove(&uuid),
            };
            t.tracked.entry(uuid).or_insert(old);
        }
        self.seqno += 1;
        true
    }
}

/// One row update being checked.
struct RowContext<'a> {
    ts: &'a TableSchema,
    uuid: Uuid,
    current: Option<&'a Arc<Row>>,
}

impl RowContext<'_> {
    fn bad(&self, why: impl Into<String>) -> UpdateError {
        UpdateError::BadRowUpdate { table: self.ts.name.clone(), uuid: self.uuid, why: why.into() }
    }

    fn value_error(&self, error: ovsdb::Error) -> UpdateError {
        UpdateError::BadValue { table: self.ts.name.clone(), uuid: self.uuid, error }
    }

    fn missing(&self, op: &'static str) -> UpdateError {
        UpdateError::NoSuchRow { table: self.ts.name.clone(), uuid: self.uuid, op }
    }

    fn insert(&self, values: &Json) -> Result<Option<Arc<Row>>, UpdateError> {
        if self.current.is_some() {
            return Err(UpdateError::RowExists { table: self.ts.name.clone(), uuid: self.uuid });
        }
        let mut row = Row::new_default(self.ts, self.uuid);
        self.overwrite(&mut row, values)?;
        Ok(Some(Arc::new(row)))
    }

    /// Sets the columns named in `values` (a `<row>`), keeping the others.
    fn overwrite(&self, row: &mut Row, values: &Json) -> Result<(), UpdateError> {
        if !values.is_object() {
            return Err(self.bad("<row> is not a JSON object"));
        }
        row.update_from_json(self.ts, values, None).map_err(|e| self.value_error(e))?;
        // The row's name is the key it came under, whatever "_uuid" said.
        row.uuid = self.uuid;
        Ok(())
    }

    /// `{"old": <row>, "new": <row>}` of RFC 7047 `update`.
    fn update1(&self, update: &Json) -> Result<Option<Arc<Row>>, UpdateError> {
        let Json::Object(obj) = update else { return Err(self.bad("<row-update> is not a JSON object")) };
        if let Some(extra) = obj.keys().find(|k| *k != "old" && *k != "new") {
            return Err(self.bad(format!("unexpected member {extra:?}")));
        }
        match (obj.get("old"), obj.get("new")) {
            (None, Some(new)) => self.insert(new),
            (Some(_), Some(new)) => {
                let current = self.current.ok_or_else(|| self.missing("modify"))?;
                let mut row = Row::clone(current);
                self.overwrite(&mut row, new)?;
                Ok(Some(Arc::new(row)))
            }
            (Some(_), None) => {
                self.current.ok_or_else(|| self.missing("delete"))?;
                Ok(None)
            }
            (None, None) => Err(self.bad("<row-update> has neither \"old\" nor \"new\"")),
        }
    }

    /// `{"initial"|"insert"|"modify"|"delete": ...}` of `update2`.
    fn update2(&self, update: &Json, diff_types: &[Type]) -> Result<Option<Arc<Row>>, UpdateError> {
        let Json::Object(obj) = update else { return Err(self.bad("<row-update2> is not a JSON object")) };
        let mut members = obj.iter();
        let (Some((op, value)), None) = (members.next(), members.next()) else {
            return Err(self.bad("<row-update2> must have exactly one member"));
        };
        match op.as_str() {
            "initial" | "insert" => self.insert(value),
            "delete" => {
                self.current.ok_or_else(|| self.missing("delete"))?;
                Ok(None)
            }
            "modify" => {
                let current = self.current.ok_or_else(|| self.missing("modify"))?;
                let Json::Object(diffs) = value else { return Err(self.bad("\"modify\" <row> is not a JSON object")) };
                Ok(Some(Arc::new(self.modify(current, diffs, diff_types)?)))
            }
            other => Err(self.bad(format!("unknown <row-update2> member {other:?}"))),
        }
    }

    fn modify(&self, current: &Row, diffs: &Map<String, Json>, diff_types: &[Type]) -> Result<Row, UpdateError> {
        let mut row = current.clone();
        for (name, diff_json) in diffs {
            let col = self.ts.column_id(name).ok_or_else(|| self.bad(format!("unknown column {name}")))?;
            let ty = &self.ts.columns[col].ty;
            let diff = Datum::from_json(&diff_types[col], diff_json, None).map_err(|e| self.value_error(e))?;
            match col {
                COL_UUID => return Err(self.bad("\"_uuid\" cannot change")),
                COL_VERSION => {
                    row.version = diff.as_scalar().and_then(ovsdb::Atom::as_uuid).ok_or_else(|| self.bad("bad \"_version\""))?;
                }
                _ => row.field_mut(col).apply_diff(&diff, ty).map_err(|e| self.value_error(e))?,
            }
        }
        Ok(row)
    }
}

/// A read-only view of one table of the replica.
#[derive(Clone, Copy)]
pub struct TableView<'a> {
    pub schema: &'a TableSchema,
    pub rows: &'a BTreeMap<Uuid, Arc<Row>>,
}

impl<'a> TableView<'a> {
    pub fn get(&self, uuid: Uuid) -> Option<&'a Arc<Row>> {
        self.rows.get(&uuid)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows in UUID order.
    pub fn iter(&self) -> impl Iterator<Item = &'a Arc<Row>> + 'a {
        self.rows.values()
    }

    /// The value of column `column` of `row` (None for an unknown column or
    /// `_uuid`/`_version`, which are the row's own fields).
    pub fn datum<'r>(&self, row: &'r Row, column: &str) -> Option<&'r Datum> {
        let col = self.schema.column_id(column)?;
        (col >= 2).then(|| row.field(col))
    }

    /// The rows as `{uuid: {column: value}}` over the given columns, for
    /// comparing replicas in tests and for dumps.
    pub fn to_json(&self, columns: &[ColumnId]) -> Json {
        Json::Object(self.rows.iter().map(|(u, r)| (u.to_string(), r.to_json(self.schema, columns))).collect())
    }
}

/// What changed in the replica between two looks.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// The schema changed: nothing known before still holds, start over.
    pub reset: bool,
    /// Tables with changes, in [`TableId`] order.
    pub tables: Vec<TableChanges>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        !self.reset && self.tables.is_empty()
    }

    pub fn table(&self, name: &str) -> Option<&TableChanges> {
        self.tables.iter().find(|t| t.name() == name)
    }
}

#[derive(Clone, Debug)]
pub struct TableChanges {
    pub schema: Arc<DatabaseSchema>,
    pub table: TableId,
    /// Each list in UUID order.
    pub inserted: Vec<Arc<Row>>,
    pub modified: Vec<Modified>,
    /// The rows as they were last seen.
    pub deleted: Vec<Arc<Row>>,
}

impl TableChanges {
    pub fn name(&self) -> &str {
        &self.schema.tables[self.table].name
    }

    pub fn table_schema(&self) -> &TableSchema {
        &self.schema.tables[self.table]
    }

    pub fn is_empty(&self) -> bool {
        self.inserted.is_empty() && self.modified.is_empty() && self.deleted.is_empty()
    }

    /// Whether `column` is among the columns `m` changed.
    pub fn changed(&self, m: &Modified, column: &str) -> bool {
        self.table_schema().column_id(column).is_some_and(|c| m.columns.contains(&c))
    }
}

#[derive(Clone, Debug)]
pub struct Modified {
    pub old: Arc<Row>,
    pub new: Arc<Row>,
    /// The columns whose values differ, in column order.
    pub columns: Vec<ColumnId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Arc<DatabaseSchema> {
        DatabaseSchema::from_json(&json!({"name": "D", "tables": {
            "T": {"columns": {
                "name": {"type": "string"},
                "n": {"type": {"key": "integer", "min": 0, "max": 1}},
                "tags": {"type": {"key": "string", "min": 0, "max": 2}},
                "map": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}}},
            "U": {"columns": {"x": {"type": "integer"}}}}}))
        .unwrap()
    }

    fn replica() -> Replica {
        let s = schema();
        let monitored = s.tables.iter().enumerate().map(|(i, t)| (i, t.user_columns().map(|(c, _)| c).collect())).collect();
        let mut r = Replica::new("D");
        r.set_schema(s, monitored);
        r
    }

    const A: &str = "00000000-0000-0000-0000-00000000000a";
    const B: &str = "00000000-0000-0000-0000-00000000000b";

    fn dump(r: &Replica, table: &str) -> Json {
        let t = r.table(table).unwrap();
        let cols: Vec<ColumnId> = t.schema.user_columns().map(|(c, _)| c).collect();
        t.to_json(&cols)
    }

    #[test]
    fn update2_initial_modify_delete() {
        let mut r = replica();
        r.replace(Version::V2, &json!({"T": {A: {"initial": {"name": "a", "tags": ["set", ["x", "y"]]}}}})).unwrap();
        assert_eq!(dump(&r, "T"), json!({A: {"name": "a", "n": ["set", []], "tags": ["set", ["x", "y"]], "map": ["map", []]}}));
        // A diff may name more elements than the column holds.
        r.apply(Version::V3, &json!({"T": {A: {"modify": {"tags": ["set", ["x", "y", "z"]], "n": 4, "map": ["map", [["k", "v"]]]}}}}))
            .unwrap();
        assert_eq!(dump(&r, "T"), json!({A: {"name": "a", "n": 4, "tags": "z", "map": ["map", [["k", "v"]]]}}));
        r.apply(Version::V2, &json!({"T": {A: {"delete": null}}, "U": {B: {"insert": {"x": 1}}}})).unwrap();
        assert_eq!(dump(&r, "T"), json!({}));
        assert_eq!(dump(&r, "U"), json!({B: {"x": 1}}));
    }

    #[test]
    fn update1_old_new() {
        let mut r = replica();
        r.replace(Version::V1, &json!({"T": {A: {"new": {"name": "a", "n": 1}}}})).unwrap();
        r.apply(Version::V1, &json!({"T": {A: {"old": {"n": 1}, "new": {"name": "a", "n": 2}}}})).unwrap();
        assert_eq!(dump(&r, "T")[A]["n"], json!(2));
        r.apply(Version::V1, &json!({"T": {A: {"old": {"name": "a", "n": 2}}}})).unwrap();
        assert_eq!(dump(&r, "T"), json!({}));
    }

    #[test]
    fn bad_updates_change_nothing() {
        let mut r = replica();
        r.replace(Version::V2, &json!({"T": {A: {"initial": {"name": "a"}}}})).unwrap();
        let before = r.seqno();
        let cases = [
            json!([]),
            json!({"Nope": {}}),
            json!({"T": []}),
            json!({"T": {"not-a-uuid": {"delete": null}}}),
            json!({"T": {B: {"modify": {"name": "b"}}}}),
            json!({"T": {B: {"delete": null}}}),
            json!({"T": {A: {"insert": {"name": "b"}}}}),
            json!({"T": {A: {"modify": {"name": 7}}}}),
            json!({"T": {A: {"modify": {"nope": 7}}}}),
            json!({"T": {A: {"modify": {"_uuid": ["uuid", B]}}}}),
            json!({"T": {A: {"modify": {"tags": ["set", ["p", "q", "r"]]}}}}),
            json!({"T": {A: {"frobnicate": {}}}}),
            json!({"T": {A: {"insert": {}, "delete": null}}}),
            // The good half of an update is not applied either.
            json!({"U": {B: {"insert": {"x": 1}}}, "T": {B: {"delete": null}}}),
        ];
        for case in cases {
            assert!(r.apply(Version::V2, &case).is_err(), "{case}");
        }
        assert!(r.apply(Version::V1, &json!({"T": {A: {}}})).is_err());
        assert!(r.apply(Version::V1, &json!({"T": {B: {"old": {}}}})).is_err());
        assert_eq!(r.seqno(), before);
        assert_eq!(dump(&r, "U"), json!({}));
        assert_eq!(dump(&r, "T")[A]["name"], json!("a"));
    }

    #[test]
    fn change_tracking() {
        let mut r = replica();
        r.replace(Version::V2, &json!({"T": {A: {"initial": {"name": "a"}}, B: {"initial": {"name": "b"}}}})).unwrap();
        let c = r.take_changes();
        assert_eq!(c.table("T").unwrap().inserted.len(), 2);
        assert!(r.take_changes().is_empty());

        // Changed and changed back: nothing. Inserted then deleted: nothing.
        r.apply(Version::V2, &json!({"T": {A: {"modify": {"name": "x"}}}})).unwrap();
        r.apply(Version::V2, &json!({"T": {A: {"modify": {"name": "a", "n": 3}}}})).unwrap();
        r.apply(Version::V2, &json!({"U": {A: {"insert": {"x": 1}}}})).unwrap();
        r.apply(Version::V2, &json!({"U": {A: {"delete": null}}})).unwrap();
        r.apply(Version::V2, &json!({"T": {B: {"delete": null}}})).unwrap();
        let c = r.take_changes();
        assert!(c.table("U").is_none());
        let t = c.table("T").unwrap();
        assert_eq!(t.modified.len(), 1);
        assert!(t.changed(&t.modified[0], "n"));
        assert!(!t.changed(&t.modified[0], "name"));
        assert_eq!(t.deleted.len(), 1);
        assert_eq!(t.deleted[0].uuid.to_string(), B);

        // A full resync that brings back the same rows reports only the
        // differences.
        r.replace(Version::V2, &json!({"T": {A: {"initial": {"name": "a", "n": 4}}}})).unwrap();
        let c = r.take_changes();
        let t = c.table("T").unwrap();
        assert_eq!((t.inserted.len(), t.modified.len(), t.deleted.len()), (0, 1, 0));
    }

    #[test]
    fn schema_change_resets() {
        let mut r = replica();
        r.replace(Version::V2, &json!({"T": {A: {"initial": {"name": "a"}}}})).unwrap();
        r.take_changes();
        let other = DatabaseSchema::from_json(&json!({"name": "D", "tables": {"T": {"columns": {"name": {"type": "string"}}}}})).unwrap();
        r.set_schema(other, vec![(0, vec![2])]);
        assert!(r.take_changes().reset);
        assert_eq!(r.table("T").unwrap().len(), 0);
    }
}
