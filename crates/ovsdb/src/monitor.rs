//! Monitors (RFC 7047 section 4.1.5 and the Open vSwitch extensions
//! `monitor_cond`, `monitor_cond_since`): which tables, columns and rows a
//! client follows, and the `<table-updates>` it receives.
//!
//! A [`MonitorSpec`] is a value: two clients asking for the same thing have
//! equal specs, so a server can compose each update once and send the same
//! bytes to both.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::condition::Condition;
use crate::datum::Datum;
use crate::db::{Commit, Database, RowChange};
use crate::error::{Error, ErrorKind, Result};
use crate::json;
use crate::row::Row;
use crate::schema::{COL_UUID, ColumnId, DatabaseSchema, TableId, TableSchema};
use crate::types::ObjectParser;
use crate::uuid::Uuid;

/// `monitor` sends "update", `monitor_cond` "update2",
/// `monitor_cond_since` "update3".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    V1,
    V2,
    V3,
}

impl Version {
    pub fn notification(self) -> &'static str {
        match self {
            Version::V1 => "update",
            Version::V2 => "update2",
            Version::V3 => "update3",
        }
    }
}

/// Which kinds of change a monitor wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Select {
    pub initial: bool,
    pub insert: bool,
    pub delete: bool,
    pub modify: bool,
}

impl Select {
    pub const ALL: Select = Select { initial: true, insert: true, delete: true, modify: true };
    const NONE: Select = Select { initial: false, insert: false, delete: false, modify: false };

    fn union(self, o: Select) -> Select {
        Select {
            initial: self.initial || o.initial,
            insert: self.insert || o.insert,
            delete: self.delete || o.delete,
            modify: self.modify || o.modify,
        }
    }

    fn has(self, kind: Kind) -> bool {
        match kind {
            Kind::Initial => self.initial,
            Kind::Insert => self.insert,
            Kind::Delete => self.delete,
            Kind::Modify => self.modify,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Initial,
    Insert,
    Delete,
    Modify,
}

/// What a monitor follows in one table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableSpec {
    pub table: TableId,
    /// Monitored columns, each with the changes it is reported for.
    pub columns: Vec<(ColumnId, Select)>,
    /// Union of the columns' selections.
    pub select: Select,
    /// Rows followed (conditional monitors only; `None` follows every row).
    pub condition: Option<Condition>,
}

/// Everything one monitor follows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MonitorSpec {
    pub version: Version,
    /// In [`TableId`] order.
    pub tables: Vec<TableSpec>,
}

impl MonitorSpec {
    /// Parses `<monitor-requests>`: `{table: request or [request...]}`.
    pub fn parse(schema: &DatabaseSchema, requests: &Json, version: Version) -> Result<MonitorSpec> {
        let Json::Object(obj) = requests else {
            return Err(Error::syntax_in(ErrorKind::SyntaxError, requests, "monitor-requests must be object"));
        };
        let mut tables = Vec::with_capacity(obj.len());
        for (name, value) in obj {
            let table = schema
                .table_id(name)
                .ok_or_else(|| Error::syntax(format!("no table named {name}")))?;
            let ts = &schema.tables[table];
            let mut spec = TableSpec { table, columns: Vec::new(), select: Select::NONE, condition: None };
            match value {
                Json::Array(items) => {
                    for item in items {
                        parse_request(ts, &mut spec, item, version)?;
                    }
                }
                other => parse_request(ts, &mut spec, other, version)?,
            }
            if version != Version::V1 && spec.condition.is_none() {
                spec.condition = Some(Condition::default());
            }
            tables.push(spec);
        }
        tables.sort_by_key(|t| t.table);
        Ok(MonitorSpec { version, tables })
    }

    pub fn table(&self, table: TableId) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.table == table)
    }

    /// Applies `<monitor-cond-change-requests>`, returning the spec as it
    /// was (to compute what the change reveals and hides).
    pub fn change_conditions(&mut self, schema: &DatabaseSchema, requests: &Json) -> Result<MonitorSpec> {
        let Json::Object(obj) = requests else {
            return Err(Error::syntax("monitor-cond-change-requests must be object"));
        };
        let mut new = self.clone();
        for (name, value) in obj {
            let table = schema.table_id(name).ok_or_else(|| Error::syntax(format!("no table named {name}")))?;
            let ts = &schema.tables[table];
            let Some(spec) = new.tables.iter_mut().find(|t| t.table == table) else {
                return Err(Error::syntax(format!("no table named {name} in monitor session")));
            };
            let Json::Array(items) = value else {
                return Err(Error::syntax(format!("table {name} no monitor-cond-change JSON array")));
            };
            for item in items {
                let mut p = ObjectParser::new(item, format!("table {name}"))?;
                let columns = p.optional("columns");
                let where_json = p.optional("where");
                p.finish()?;
                if columns.is_some() {
                    return Err(Error::syntax_in(ErrorKind::SyntaxError, item, "changing columns is unsupported"));
                }
                spec.condition = Some(match where_json {
                    Some(w) => Condition::from_json(ts, w, None)?,
                    None => Condition::default(),
                });
            }
        }
        Ok(std::mem::replace(self, new))
    }

    /// The reply to the monitor request: every followed row, as "initial".
    pub fn initial(&self, db: &Database) -> Json {
        parse(&self.initial_bytes(db))
    }

    /// [`MonitorSpec::initial`] as JSON text.
    pub fn initial_bytes(&self, db: &Database) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let mut tables = json::Object::open(&mut out);
        for spec in &self.tables {
            if !spec.select.initial {
                continue;
            }
            let ts = &db.schema.tables[spec.table];
            let rows = db.tables[spec.table].rows.iter().map(|(u, r)| (*u, None, Some(&**r)));
            self.write_table(&mut tables, spec, ts, rows, true);
        }
        tables.close();
        out
    }

    /// The `<table-updates>` a commit produces for this monitor, if any.
    pub fn update(&self, schema: &DatabaseSchema, commit: &Commit) -> Option<Json> {
        self.update_bytes(schema, commit).map(|b| parse(&b))
    }

    /// [`MonitorSpec::update`] as JSON text.
    pub fn update_bytes(&self, schema: &DatabaseSchema, commit: &Commit) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(256);
        let mut tables = json::Object::open(&mut out);
        let mut specs = self.tables.iter().peekable();
        for (table, changes) in &commit.tables {
            while specs.peek().is_some_and(|s| s.table < *table) {
                specs.next();
            }
            let Some(spec) = specs.peek().filter(|s| s.table == *table) else { continue };
            let ts = &schema.tables[*table];
            let rows = changes.iter().map(|c| (c.uuid, c.old.as_deref(), c.new.as_deref()));
            self.write_table(&mut tables, spec, ts, rows, false);
        }
        let empty = tables.is_empty();
        tables.close();
        (!empty).then_some(out)
    }

    /// One table's share of [`MonitorSpec::update_bytes`] for some of its
    /// changes: the row updates, as members of the table's object without
    /// its braces (`"uuid":{...},...`); empty if this monitor sees none.
    /// A large update is written in such parts on several threads and
    /// put together by [`MonitorSpec::assemble_update`].
    pub fn table_update_part(&self, schema: &DatabaseSchema, table: TableId, changes: &[RowChange]) -> Vec<u8> {
        let mut buf = Vec::new();
        if let Some(spec) = self.tables.iter().find(|s| s.table == table) {
            let rows = changes.iter().map(|c| (c.uuid, c.old.as_deref(), c.new.as_deref()));
            self.write_rows(&mut buf, spec, &schema.tables[table], rows, false);
        }
        buf
    }

    /// The `<table-updates>` made of parts from
    /// [`MonitorSpec::table_update_part`], in table order (a table's parts
    /// next to each other, in row order); None if every part is empty.
    pub fn assemble_update(schema: &DatabaseSchema, parts: &[(TableId, Vec<u8>)]) -> Option<Vec<u8>> {
        let size: usize = parts.iter().map(|(_, p)| p.len() + 1).sum();
        let mut out = Vec::with_capacity(size + 64 * parts.len() + 2);
        let mut tables = json::Object::open(&mut out);
        let mut parts = parts.iter().filter(|(_, p)| !p.is_empty()).peekable();
        while let Some((table, first)) = parts.next() {
            let buf = tables.key(&schema.tables[*table].name);
            buf.push(b'{');
            buf.extend_from_slice(first);
            while let Some((_, more)) = parts.next_if(|(t, _)| t == table) {
                buf.push(b',');
                buf.extend_from_slice(more);
            }
            buf.push(b'}');
        }
        let empty = tables.is_empty();
        tables.close();
        (!empty).then_some(out)
    }

    /// After a condition change from `old` to `self`: rows that came into
    /// view are inserted, rows that left it are deleted.
    pub fn condition_change_update(&self, old: &MonitorSpec, db: &Database) -> Option<Json> {
        self.condition_change_bytes(old, db).map(|b| parse(&b))
    }

    /// [`MonitorSpec::condition_change_update`] as JSON text.
    pub fn condition_change_bytes(&self, old: &MonitorSpec, db: &Database) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(256);
        let mut tables = json::Object::open(&mut out);
        for (spec, old_spec) in self.tables.iter().zip(&old.tables) {
            if spec.condition == old_spec.condition {
                continue;
            }
            let ts = &db.schema.tables[spec.table];
            let mut rows_obj: Option<(Vec<u8>, bool)> = None;
            for (uuid, row) in &db.tables[spec.table].rows {
                let kind = match (matches(old_spec, ts, row), matches(spec, ts, row)) {
                    (false, true) if spec.select.insert => Kind::Insert,
                    (true, false) if spec.select.delete => Kind::Delete,
                    _ => continue,
                };
                let (buf, any) = rows_obj.get_or_insert_with(|| (vec![b'{'], false));
                if *any {
                    buf.push(b',');
                }
                *any = true;
                json::write_uuid(buf, *uuid);
                buf.push(b':');
                let (o, n) = if kind == Kind::Insert { (None, Some(&**row)) } else { (Some(&**row), None) };
                self.write_row(buf, spec, ts, kind, o, n);
            }
            if let Some((mut buf, _)) = rows_obj {
                buf.push(b'}');
                tables.key(&ts.name).extend_from_slice(&buf);
            }
        }
        let empty = tables.is_empty();
        tables.close();
        (!empty).then_some(out)
    }

    /// Writes `"Table": {uuid: row-update, ...}` for the rows that produce
    /// an update; nothing if none does.
    fn write_table<'r>(
        &self,
        tables: &mut json::Object<'_>,
        spec: &TableSpec,
        ts: &TableSchema,
        rows: impl Iterator<Item = (Uuid, Option<&'r Row>, Option<&'r Row>)>,
        initial: bool,
    ) {
        let mut buf = vec![b'{'];
        self.write_rows(&mut buf, spec, ts, rows, initial);
        if buf.len() > 1 {
            buf.push(b'}');
            tables.key(&ts.name).extend_from_slice(&buf);
        }
    }

    /// Appends `uuid:row-update` for each row that produces one, separated
    /// by commas.
    fn write_rows<'r>(
        &self,
        buf: &mut Vec<u8>,
        spec: &TableSpec,
        ts: &TableSchema,
        rows: impl Iterator<Item = (Uuid, Option<&'r Row>, Option<&'r Row>)>,
        initial: bool,
    ) {
        let start = buf.len();
        for (uuid, old, new) in rows {
            let Some(kind) = self.kind(spec, ts, old, new, initial) else { continue };
            if buf.len() > start {
                buf.push(b',');
            }
            json::write_uuid(buf, uuid);
            buf.push(b':');
            self.write_row(buf, spec, ts, kind, old, new);
        }
    }

    /// What a change is for this monitor, or None if it does not see it.
    fn kind(&self, spec: &TableSpec, ts: &TableSchema, old: Option<&Row>, new: Option<&Row>, initial: bool) -> Option<Kind> {
        let mut kind = match (initial, old, new) {
            (true, _, _) => Kind::Initial,
            (_, None, _) => Kind::Insert,
            (_, _, None) => Kind::Delete,
            _ => Kind::Modify,
        };
        if spec.condition.is_some() {
            let old_match = old.is_some_and(|r| matches(spec, ts, r));
            let new_match = new.is_some_and(|r| matches(spec, ts, r));
            kind = match kind {
                _ if !old_match && !new_match => return None,
                Kind::Initial | Kind::Insert if !new_match => return None,
                Kind::Modify if !old_match => Kind::Insert,
                Kind::Modify if !new_match => Kind::Delete,
                Kind::Delete if !old_match => return None,
                k => k,
            };
        }
        if !spec.select.has(kind) {
            return None;
        }
        if kind == Kind::Modify {
            let (o, n) = (old?, new?);
            if !spec.columns.iter().any(|&(c, _)| !o.column_eq(n, c)) {
                return None;
            }
        }
        Some(kind)
    }

    /// Writes one `<row-update>` (v1) or `<row-update2>` (v2, v3).
    fn write_row(&self, out: &mut Vec<u8>, spec: &TableSpec, ts: &TableSchema, kind: Kind, old: Option<&Row>, new: Option<&Row>) {
        let wanted = spec.columns.iter().filter(|(_, sel)| sel.has(kind)).map(|&(c, _)| c);
        let mut obj = json::Object::open(out);
        if self.version == Version::V1 {
            if matches!(kind, Kind::Delete | Kind::Modify)
                && let Some(o) = old
            {
                let mut old_obj = json::Object::open(obj.key("old"));
                for c in wanted.clone() {
                    if kind == Kind::Delete || new.is_some_and(|n| !o.column_eq(n, c)) {
                        json::write_datum(old_obj.key(&ts.columns[c].name), &o.get(c));
                    }
                }
                old_obj.close();
            }
            if kind != Kind::Delete
                && let Some(n) = new
            {
                let mut new_obj = json::Object::open(obj.key("new"));
                for c in wanted {
                    json::write_datum(new_obj.key(&ts.columns[c].name), &n.get(c));
                }
                new_obj.close();
            }
            obj.close();
            return;
        }
        match (kind, old, new) {
            (Kind::Modify, Some(o), Some(n)) => {
                let mut diff = json::Object::open(obj.key("modify"));
                for c in wanted {
                    if !o.column_eq(n, c) {
                        let d = Datum::diff(&o.get(c), &n.get(c), &ts.columns[c].ty);
                        json::write_datum(diff.key(&ts.columns[c].name), &d);
                    }
                }
                diff.close();
            }
            (Kind::Initial | Kind::Insert, _, Some(n)) => {
                let key = if kind == Kind::Initial { "initial" } else { "insert" };
                let mut vals = json::Object::open(obj.key(key));
                for c in wanted {
                    let d = n.get(c);
                    if !d.is_default(&ts.columns[c].ty) {
                        json::write_datum(vals.key(&ts.columns[c].name), &d);
                    }
                }
                vals.close();
            }
            _ => obj.key("delete").extend_from_slice(b"null"),
        }
        obj.close();
    }
}

/// Our own output parses; anything else would be a bug in `json`.
fn parse(bytes: &[u8]) -> Json {
    serde_json::from_slice(bytes).unwrap_or(Json::Null)
}

fn matches(spec: &TableSpec, ts: &TableSchema, row: &Row) -> bool {
    spec.condition.as_ref().is_none_or(|c| c.matches_any(ts, row))
}

fn parse_request(ts: &TableSchema, spec: &mut TableSpec, json: &Json, version: Version) -> Result<()> {
    let mut p = ObjectParser::new(json, format!("table {}", ts.name))?;
    let where_json = if version != Version::V1 { p.optional_array("where")?.map(|_| p_where(json)) } else { None };
    let columns = p.optional_array("columns")?;
    let select_json = p.optional("select");
    p.finish()?;
    let select = match select_json {
        None => Select::ALL,
        Some(sj) => {
            if !sj.is_object() {
                return Err(Error::syntax_in(ErrorKind::SyntaxError, json, format!("table {}: member 'select' has the wrong type", ts.name)));
            }
            let mut sp = ObjectParser::new(sj, format!("table {} select", ts.name))?;
            let s = Select {
                initial: sp.optional_bool("initial")?.unwrap_or(true),
                insert: sp.optional_bool("insert")?.unwrap_or(true),
                delete: sp.optional_bool("delete")?.unwrap_or(true),
                modify: sp.optional_bool("modify")?.unwrap_or(true),
            };
            sp.finish()?;
            s
        }
    };
    spec.select = spec.select.union(select);
    let column_ids: Vec<ColumnId> = match columns {
        Some(names) => {
            let mut ids = Vec::with_capacity(names.len());
            for n in names {
                let Json::String(n) = n else {
                    return Err(Error::syntax("array of column names expected"));
                };
                ids.push(ts.column_id(n).ok_or_else(|| Error::syntax(format!("{n} is not a valid column name")))?);
            }
            ids
        }
        None => (0..ts.columns.len()).filter(|&c| c != COL_UUID).collect(),
    };
    for c in column_ids {
        if spec.columns.iter().any(|&(x, _)| x == c) {
            return Err(Error::syntax(format!("column {} mentioned more than once", ts.columns[c].name)));
        }
        spec.columns.push((c, select));
    }
    if let Some(w) = where_json
        && spec.condition.is_none()
    {
        spec.condition = Some(Condition::from_json(ts, w, None)?);
    }
    Ok(())
}

fn p_where(json: &Json) -> &Json {
    &json["where"]
}

/// Folds several commits into one: each row's oldest "old" and newest
/// "new". Used to answer `monitor_cond_since` from history.
pub fn merge_commits<'a>(commits: impl IntoIterator<Item = &'a Commit>) -> Commit {
    let mut by_table: HashMap<TableId, (Vec<Uuid>, HashMap<Uuid, (Option<Arc<Row>>, Option<Arc<Row>>)>)> = HashMap::new();
    for commit in commits {
        for (table, changes) in &commit.tables {
            let (order, rows) = by_table.entry(*table).or_default();
            for ch in changes {
                rows.entry(ch.uuid)
                    .and_modify(|e| e.1 = ch.new.clone())
                    .or_insert_with(|| {
                        order.push(ch.uuid);
                        (ch.old.clone(), ch.new.clone())
                    });
            }
        }
    }
    let mut tables: Vec<(TableId, Vec<RowChange>)> = by_table
        .into_iter()
        .map(|(t, (order, mut rows))| {
            let changes = order
                .into_iter()
                .filter_map(|u| {
                    let (old, new) = rows.remove(&u)?;
                    (old.is_some() || new.is_some()).then_some(RowChange { uuid: u, old, new })
                })
                .collect();
            (t, changes)
        })
        .collect();
    tables.sort_by_key(|(t, _)| *t);
    Commit { tables, comment: None, durable: false }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::commit;
    use serde_json::json;

    #[test]
    fn an_update_written_in_parts_is_the_update_written_whole() {
        let schema = DatabaseSchema::from_json(&json!({"name": "S", "tables": {
            "A": {"isRoot": true, "columns": {"n": {"type": "integer"}, "s": {"type": "string"}}},
            "B": {"isRoot": true, "columns": {"n": {"type": "integer"}}}}}))
        .unwrap();
        let mut db = Database::new(schema);
        let inserts: Vec<Json> = (0..40)
            .flat_map(|n| {
                [
                    json!({"op": "insert", "table": "A", "row": {"n": n, "s": format!("row \"{n}\"")}}),
                    json!({"op": "insert", "table": "B", "row": {"n": n}}),
                ]
            })
            .collect();
        commit(&mut db, Json::Array(inserts));
        let changes = commit(
            &mut db,
            json!([
                {"op": "update", "table": "A", "where": [["n", "<", 15]], "row": {"n": 100}},
                {"op": "delete", "table": "A", "where": [["n", ">", 30], ["n", "<", 100]]},
                {"op": "insert", "table": "A", "row": {"n": 7}},
                {"op": "update", "table": "B", "where": [], "row": {"n": 1}},
            ]),
        );
        let requests = [
            json!({"A": {}, "B": {}}),
            json!({"A": [{"where": [["n", ">=", 10]], "columns": ["n"]}], "B": {"select": {"modify": false}}}),
            json!({"B": [{"where": [["n", "==", 3]]}]}),
        ];
        for req in requests {
            let spec = MonitorSpec::parse(&db.schema, &req, Version::V2).unwrap();
            let whole = spec.update_bytes(&db.schema, &changes);
            for chunk in [1, 3, 1000] {
                let parts: Vec<(TableId, Vec<u8>)> = changes
                    .tables
                    .iter()
                    .flat_map(|(t, rows)| rows.chunks(chunk).map(|c| (*t, spec.table_update_part(&db.schema, *t, c))))
                    .collect();
                let assembled = MonitorSpec::assemble_update(&db.schema, &parts);
                assert_eq!(
                    assembled.as_deref().map(String::from_utf8_lossy),
                    whole.as_deref().map(String::from_utf8_lossy),
                    "{req} in parts of {chunk}"
                );
            }
        }
    }
}
