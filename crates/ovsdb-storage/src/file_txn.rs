//! Transaction records: the JSON of ovsdb(5) "Standalone Format", to and
//! from [`Commit`]s. Pure data, no I/O.
//!
//! A record maps table names to `{"<row uuid>": <row-txn>}`, where a
//! `<row-txn>` is `null` for a deleted row, the non-default columns of an
//! inserted row, or the changed columns of a modified row. With
//! `"_is_diff": true` (what ovsdb-server 3.1 writes by default) a modified
//! composite column holds the difference between old and new value, in the
//! sense of [`Datum::diff`]; otherwise it holds the new value.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use ovsdb::db::{Commit, Database, RowChange};
use ovsdb::error::{Error, ErrorKind, Result};
use ovsdb::row::Row;
use ovsdb::schema::{COL_UUID, COL_VERSION, ColumnId, DatabaseSchema, TableSchema};
use ovsdb::types::Type;
use ovsdb::{Datum, Uuid};

/// Decodes transaction records against a database that evolves as they are
/// applied. Keeps, per column, the relaxed type that diffs are parsed with.
pub struct Decoder {
    /// `diff_types[table][column]`: the column's type without the bounds on
    /// the number of elements, since a diff may hold more (every old element
    /// removed plus every new one added) or fewer than the column allows.
    diff_types: Vec<Vec<Type>>,
}

impl Decoder {
    pub fn new(schema: &DatabaseSchema) -> Decoder {
        let diff_types = schema
            .tables
            .iter()
            .map(|t| {
                t.columns
                    .iter()
                    .map(|c| {
                        let mut ty = c.ty.clone();
                        // Scalars' "diffs" are their new values and must fit.
                        if ty.is_composite() {
                            ty.min = 0;
                            ty.max = u32::MAX;
                        }
                        ty
                    })
                    .collect()
            })
            .collect();
        Decoder { diff_types }
    }

    /// Turns a record into the commit it describes, relative to `db`.
    pub fn decode(&self, db: &Database, record: &Map<String, Json>) -> Result<Commit> {
        let schema = &*db.schema;
        let is_diff = matches!(record.get("_is_diff"), Some(Json::Bool(true)));
        let mut commit = Commit {
            comment: match record.get("_comment") {
                Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            },
            ..Commit::default()
        };
        for (name, value) in record {
            let Some(table_id) = schema.table_id(name) else {
                match (name.as_str(), value) {
                    ("_date", Json::Number(n)) if n.is_i64() || n.is_u64() => continue,
                    ("_is_diff", Json::Bool(_)) | ("_comment", _) => continue,
                    _ => {
                        return Err(Error::new(ErrorKind::SyntaxError, format!("No table named {name}.")));
                    }
                }
            };
            let Json::Object(rows) = value else {
                return Err(Error::syntax_in(ErrorKind::SyntaxError, value, "object expected"));
            };
            let ts = &schema.tables[table_id];
            let table = db.table(table_id);
            let mut changes = Vec::with_capacity(rows.len());
            for (uuid_text, row_json) in rows {
                let uuid = Uuid::parse(uuid_text).ok_or_else(|| {
                    Error::syntax_in(ErrorKind::SyntaxError, value, format!("\"{uuid_text}\" is not a valid UUID"))
                })?;
                let old = table.get(&uuid);
                let new = match (row_json, old) {
                    (Json::Null, None) => {
                        return Err(Error::syntax(format!(
                            "transaction deletes row {uuid} that does not exist"
                        )));
                    }
                    (Json::Null, Some(_)) => None,
                    (_, Some(old)) => {
                        let mut row = Row::clone(old);
                        self.update_row(ts, table_id, &mut row, row_json, is_diff)?;
                        Some(Arc::new(row))
                    }
                    (_, None) => {
                        let mut row = Row::new_default(ts, uuid);
                        self.update_row(ts, table_id, &mut row, row_json, false)?;
                        Some(Arc::new(row))
                    }
                };
                changes.push(RowChange { uuid, old: old.cloned(), new });
            }
            if !changes.is_empty() {
                commit.tables.push((table_id, changes));
            }
        }
        commit.tables.sort_by_key(|(id, _)| *id);
        Ok(commit)
    }

    /// Writes the columns of a `<row-txn>` object into `row`, applying them
    /// as diffs if `as_diff`. Gives the row a fresh version, as a commit does.
    fn update_row(&self, ts: &TableSchema, table_id: usize, row: &mut Row, json: &Json, as_diff: bool) -> Result<()> {
        let Json::Object(columns) = json else {
            return Err(Error::syntax_in(ErrorKind::SyntaxError, json, "row must be JSON object"));
        };
        for (name, value) in columns {
            let col = match ts.column_id(name) {
                Some(COL_UUID | COL_VERSION) | None => {
                    return Err(Error::syntax_in(
                        ErrorKind::UnknownColumn,
                        json,
                        format!("No column {name} in table {}.", ts.name),
                    ));
                }
                Some(col) => col,
            };
            let ty = &ts.columns[col].ty;
            if as_diff {
                let diff = Datum::from_json(&self.diff_types[table_id][col], value, None)?;
                row.field_mut(col).apply_diff(&diff, ty)?;
            } else {
                row.set(col, Datum::from_json(ty, value, None)?);
            }
        }
        row.version = Uuid::random();
        Ok(())
    }
}

/// What a record writes for one changed column of a modified row.
enum ColumnValue<'a> {
    /// The new value.
    Full(&'a Datum),
    /// The difference from the old value.
    Diff(Datum),
}

/// The body (JSON and a new-line) of the record for `commit`, or `None` if
/// the commit changes nothing that is stored (only ephemeral columns, say).
///
/// Modified columns are written as diffs with `"_is_diff": true`, as
/// ovsdb-server 3.1 does, unless a diff would be misread by Open vSwitch
/// 3.1.0 (see [`diff_is_portable`]); then the whole record carries new
/// values instead, which every version reads alike.
pub fn encode_commit(schema: &DatabaseSchema, commit: &Commit, date_ms: i64) -> Option<Vec<u8>> {
    let as_diff = commit.tables.iter().all(|(table_id, changes)| {
        let ts = &schema.tables[*table_id];
        changes.iter().all(|change| match (&change.old, &change.new) {
            (Some(old), Some(new)) => changed_columns(ts, old, new)
                .all(|col| diff_is_portable(&ts.columns[col].ty, old.field(col), new.field(col))),
            _ => true,
        })
    });

    let mut out = Vec::with_capacity(256);
    out.push(b'{');
    let mut first_table = true;
    for (table_id, changes) in &commit.tables {
        let ts = &schema.tables[*table_id];
        let mut first_row = true;
        for change in changes {
            let entry: Option<Vec<(ColumnId, ColumnValue)>> = match (&change.old, &change.new) {
                (_, None) => None,
                (None, Some(new)) => Some(stored_columns(ts, new).map(|col| (col, ColumnValue::Full(new.field(col)))).collect()),
                (Some(old), Some(new)) => {
                    let cols: Vec<_> = changed_columns(ts, old, new)
                        .map(|col| {
                            let ty = &ts.columns[col].ty;
                            let v = if as_diff && ty.is_composite() {
                                ColumnValue::Diff(Datum::diff(old.field(col), new.field(col), ty))
                            } else {
                                ColumnValue::Full(new.field(col))
                            };
                            (col, v)
                        })
                        .collect();
                    if cols.is_empty() {
                        continue;
                    }
                    Some(cols)
                }
            };
            if first_row {
                if !first_table {
                    out.push(b',');
                }
                first_table = false;
                put_str(&mut out, &ts.name);
                out.extend_from_slice(b":{");
            } else {
                out.push(b',');
            }
            first_row = false;
            put_str(&mut out, &change.uuid.to_string());
            out.push(b':');
            match entry {
                None => out.extend_from_slice(b"null"),
                Some(cols) => {
                    put_row(&mut out, ts, cols.iter().map(|(col, v)| match v {
                        ColumnValue::Full(d) => (*col, *d),
                        ColumnValue::Diff(d) => (*col, d),
                    }));
                }
            }
        }
        if !first_row {
            out.push(b'}');
        }
    }
    if first_table {
        return None;
    }
    finish_record(&mut out, commit.comment.as_deref(), as_diff, date_ms);
    Some(out)
}

/// The body of a record that inserts every row of `db`: with the schema
/// record before it, a complete database file (what compaction writes).
pub fn encode_snapshot(db: &Database, comment: Option<&str>, date_ms: i64) -> Vec<u8> {
    let schema = &*db.schema;
    let mut out = Vec::with_capacity(4096);
    out.push(b'{');
    let mut first_table = true;
    for (table_id, ts) in schema.tables.iter().enumerate() {
        let table = db.table(table_id);
        if table.is_empty() {
            continue;
        }
        if !first_table {
            out.push(b',');
        }
        first_table = false;
        put_str(&mut out, &ts.name);
        out.extend_from_slice(b":{");
        for (i, (uuid, row)) in table.rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put_str(&mut out, &uuid.to_string());
            out.push(b':');
            put_row(&mut out, ts, stored_columns(ts, row).map(|col| (col, row.field(col))));
        }
        out.push(b'}');
    }
    finish_record(&mut out, comment, false, date_ms);
    out
}

/// Whether Open vSwitch 3.1.0 reads `Datum::diff(old, new)` back as `new`.
/// It does not in two cases (both fixed in later 3.1 releases): it parses a
/// diff with the column's bounds on size, so a diff larger than the column
/// allows is an error; and it replaces, rather than patches, a column whose
/// old value is the default, which goes wrong when that default is not
/// empty (a set of at least one element).
pub fn diff_is_portable(ty: &Type, old: &Datum, new: &Datum) -> bool {
    if !ty.is_composite() {
        return true;
    }
    let diff = Datum::diff(old, new, ty);
    diff.len() <= ty.max as usize && (!old.is_default(ty) || &diff == new)
}

/// Columns that files hold: every user column but the ephemeral ones.
fn stored_columns<'a>(ts: &'a TableSchema, row: &'a Row) -> impl Iterator<Item = ColumnId> + 'a {
    ts.user_columns()
        .filter(move |(col, c)| !c.ephemeral && !row.field(*col).is_default(&c.ty))
        .map(|(col, _)| col)
}

fn changed_columns<'a>(ts: &'a TableSchema, old: &'a Row, new: &'a Row) -> impl Iterator<Item = ColumnId> + 'a {
    ts.user_columns()
        .filter(move |(col, c)| !c.ephemeral && old.field(*col) != new.field(*col))
        .map(|(col, _)| col)
}

fn put_row<'d>(out: &mut Vec<u8>, ts: &TableSchema, columns: impl Iterator<Item = (ColumnId, &'d Datum)>) {
    out.push(b'{');
    for (i, (col, datum)) in columns.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_str(out, &ts.columns[col].name);
        out.push(b':');
        put_json(out, &datum.to_json());
    }
    out.push(b'}');
}

/// Adds the special members (ovsdb(5)), closes the object, ends the line.
fn finish_record(out: &mut Vec<u8>, comment: Option<&str>, is_diff: bool, date_ms: i64) {
    if out.len() > 1 {
        out.push(b',');
    }
    if let Some(comment) = comment.filter(|c| !c.is_empty()) {
        out.extend_from_slice(b"\"_comment\":");
        put_str(out, comment);
        out.push(b',');
    }
    if is_diff {
        out.extend_from_slice(b"\"_is_diff\":true,");
    }
    out.extend_from_slice(format!("\"_date\":{date_ms}}}\n").as_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Writing JSON into a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).expect("serializing a string into memory");
}

fn put_json(out: &mut Vec<u8>, json: &Json) {
    serde_json::to_writer(&mut *out, json).expect("serializing JSON into memory");
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::txn::transact;
    use serde_json::json;

    fn schema() -> Arc<DatabaseSchema> {
        DatabaseSchema::from_json(&json!({"name": "D", "tables": {
            "T": {"columns": {
                "i": {"type": "integer"},
                "s": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
                "m": {"type": {"key": "string", "value": "integer", "min": 0, "max": "unlimited"}},
                "two": {"type": {"key": "integer", "min": 1, "max": 2}},
                "e": {"type": "string", "ephemeral": true}}}}}))
        .unwrap()
    }

    fn body_json(body: &[u8]) -> Json {
        assert_eq!(body.last(), Some(&b'\n'));
        serde_json::from_slice(body).unwrap()
    }

    /// Runs `ops` on `db`, returning the commit.
    fn commit(db: &mut Database, ops: Json) -> Commit {
        let mut params = vec![json!("D")];
        params.extend(ops.as_array().unwrap().iter().cloned());
        match ovsdb::txn::execute(db, &Json::Array(params), &ovsdb::txn::ExecContext::simple()) {
            ovsdb::txn::Outcome::Done { commit: Some(c), results } => {
                assert!(!results.to_string().contains("error"), "{results}");
                db.apply(&c);
                c
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn insert_modify_delete() {
        let mut db = Database::new(schema());
        let c = commit(&mut db, json!([{"op": "insert", "table": "T", "uuid-name": "r",
            "row": {"i": 5, "s": ["set", ["a", "b"]], "m": ["map", [["k", 1]]], "e": "x"}}]));
        let uuid = c.tables[0].1[0].uuid;
        let j = body_json(&encode_commit(&db.schema, &c, 7).unwrap());
        assert_eq!(
            j,
            json!({"T": {uuid.to_string(): {"i": 5, "s": ["set", ["a", "b"]], "m": ["map", [["k", 1]]]}},
                   "_is_diff": true, "_date": 7})
        );

        let c = commit(&mut db, json!([{"op": "update", "table": "T", "where": [],
            "row": {"i": 6, "s": ["set", ["b", "c"]], "m": ["map", [["k", 2]]], "e": "y"}},
            {"op": "comment", "comment": "why"}]));
        let j = body_json(&encode_commit(&db.schema, &c, 8).unwrap());
        assert_eq!(
            j,
            json!({"T": {uuid.to_string(): {"i": 6, "s": ["set", ["a", "c"]], "m": ["map", [["k", 2]]]}},
                   "_comment": "why", "_is_diff": true, "_date": 8})
        );

        // Only an ephemeral column changes: nothing to store.
        let c = commit(&mut db, json!([{"op": "update", "table": "T", "where": [], "row": {"e": "z"}}]));
        assert_eq!(encode_commit(&db.schema, &c, 9), None);

        let c = commit(&mut db, json!([{"op": "delete", "table": "T", "where": []}]));
        let j = body_json(&encode_commit(&db.schema, &c, 10).unwrap());
        assert_eq!(j, json!({"T": {uuid.to_string(): null}, "_is_diff": true, "_date": 10}));
    }

    #[test]
    fn unportable_diffs_make_full_records() {
        let mut db = Database::new(schema());
        commit(&mut db, json!([{"op": "insert", "table": "T", "row": {}}]));
        // The default {0} grows to {0, 5}: OVS 3.1.0 would read the diff {5} as the value.
        let c = commit(&mut db, json!([{"op": "mutate", "table": "T", "where": [],
            "mutations": [["two", "insert", 5]]}]));
        let j = body_json(&encode_commit(&db.schema, &c, 1).unwrap());
        let row = j["T"].as_object().unwrap().values().next().unwrap();
        assert_eq!(row, &json!({"two": ["set", [0, 5]]}));
        assert!(j.get("_is_diff").is_none());

        // {0, 5} to {1, 2}: the diff has four elements, more than "two" holds.
        let c = commit(&mut db, json!([{"op": "update", "table": "T", "where": [], "row": {"two": ["set", [1, 2]]}}]));
        let j = body_json(&encode_commit(&db.schema, &c, 1).unwrap());
        assert!(j.get("_is_diff").is_none());

        // {1, 2} to {1, 3} is an ordinary diff.
        let c = commit(&mut db, json!([{"op": "update", "table": "T", "where": [], "row": {"two": ["set", [1, 3]]}}]));
        let j = body_json(&encode_commit(&db.schema, &c, 1).unwrap());
        assert_eq!(j["_is_diff"], true);
        let row = j["T"].as_object().unwrap().values().next().unwrap();
        assert_eq!(row, &json!({"two": ["set", [2, 3]]}));
    }

    #[test]
    fn decode_replays_encode() {
        let mut db = Database::new(schema());
        let mut replica = Database::new(schema());
        let decoder = Decoder::new(&db.schema);
        let steps = [
            json!([{"op": "insert", "table": "T", "row": {"i": 1, "s": ["set", ["x", "y\n\"z"]], "m": ["map", [["a", 1], ["b", 2]]]}},
                   {"op": "insert", "table": "T", "row": {}}]),
            json!([{"op": "mutate", "table": "T", "where": [["i", "==", 1]],
                    "mutations": [["s", "delete", "x"], ["m", "insert", ["map", [["c", 3]]]], ["two", "insert", 9]]}]),
            json!([{"op": "update", "table": "T", "where": [["i", "==", 0]], "row": {"m": ["map", [["b", 7]]], "two": ["set", [3, 4]]}}]),
            json!([{"op": "delete", "table": "T", "where": [["i", "==", 1]]}]),
        ];
        for ops in steps {
            let c = commit(&mut db, ops);
            let record = body_json(&encode_commit(&db.schema, &c, 0).unwrap());
            let decoded = decoder.decode(&replica, record.as_object().unwrap()).unwrap();
            replica.apply(&decoded);
            for (id, ts) in db.schema.tables.iter().enumerate() {
                let dump = |d: &Database| {
                    let mut rows: Vec<_> = d.table(id).rows.values().map(|r| (r.uuid, r.fields.clone())).collect();
                    rows.sort_by_key(|r| r.0);
                    rows
                };
                let (mut a, b) = (dump(&db), dump(&replica));
                // Ephemeral columns are not stored.
                let e = ts.column_id("e").unwrap();
                a.iter_mut().for_each(|r| r.1[e - 2] = Datum::default_for(&ts.columns[e].ty));
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn decode_errors() {
        let mut db = Database::new(schema());
        transact(&mut db, &json!(["D", {"op": "insert", "table": "T", "uuid-name": "r", "row": {"i": 1}}]));
        let uuid = db.table(0).rows.keys().next().unwrap().to_string();
        let decoder = Decoder::new(&db.schema);
        let cases = [
            json!({"U": {}}),
            json!({"_date": "today"}),
            json!({"T": []}),
            json!({"T": {"not-a-uuid": {}}}),
            json!({"T": {"00000000-0000-0000-0000-000000000001": null}}),
            json!({"T": {uuid.clone(): 5}}),
            json!({"T": {uuid.clone(): {"nope": 1}}}),
            json!({"T": {uuid.clone(): {"_uuid": ["uuid", uuid.clone()]}}}),
            json!({"T": {uuid.clone(): {"i": "one"}}}),
            json!({"T": {uuid.clone(): {"two": ["set", [1, 2, 3]]}}}),
            // A diff that leaves more elements than the column allows.
            json!({"T": {uuid.clone(): {"two": ["set", [1, 2]]}}, "_is_diff": true}),
        ];
        for case in cases {
            let r = decoder.decode(&db, case.as_object().unwrap());
            assert!(r.is_err(), "{case} decoded");
        }
        let ok = json!({"_date": 5, "_comment": "c", "_is_diff": false, "T": {}});
        assert!(decoder.decode(&db, ok.as_object().unwrap()).unwrap().is_empty());
    }

    #[test]
    fn snapshot_holds_stored_columns() {
        let mut db = Database::new(schema());
        transact(&mut db, &json!(["D", {"op": "insert", "table": "T", "row": {"i": 3, "e": "gone"}}]));
        let uuid = db.table(0).rows.keys().next().unwrap().to_string();
        let j = body_json(&encode_snapshot(&db, Some("compacted"), 42));
        assert_eq!(j, json!({"T": {uuid: {"i": 3}}, "_comment": "compacted", "_date": 42}));
        let empty = Database::new(schema());
        assert_eq!(body_json(&encode_snapshot(&empty, None, 1)), json!({"_date": 1}));
    }
}
