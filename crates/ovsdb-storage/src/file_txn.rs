//! Transaction records: the JSON of ovsdb(5) "Standalone Format", to and
//! from [`Commit`]s. Pure data, no I/O.
//!
//! A record maps table names to `{"<row uuid>": <row-txn>}`, where a
//! `<row-txn>` is `null` for a deleted row, the non-default columns of an
//! inserted row, or the changed columns of a modified row. With
//! `"_is_diff": true` (what ovsdb-server 3.1 writes by default) a modified
//! composite column holds the difference between old and new value, in the
//! sense of [`Datum::diff`]; otherwise it holds the new value.

use std::collections::HashSet;
use std::fmt;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value as Json;

use ovsdb::db::{Commit, Database, RowChange, UuidHasher};
use ovsdb::error::{Error, ErrorKind, Result};
use ovsdb::row::Row;
use ovsdb::schema::{COL_UUID, COL_VERSION, ColumnId, DatabaseSchema, TableId, TableSchema};
use ovsdb::types::Type;
use ovsdb::{Datum, Uuid};

use crate::frame::{BodyDigest, Corruption};

/// Decodes transaction records against a database that evolves as they are
/// applied. Keeps, per column, the relaxed type that diffs are parsed with.
///
/// Records are decoded straight from their text, without building a JSON
/// tree of the whole record first: a compacted file is one record holding
/// every row, and that tree would cost more than the database itself.
pub struct Decoder {
    /// `diff_types[table][column]`: the column's type without the bounds on
    /// the number of elements, since a diff may hold more (every old element
    /// removed plus every new one added) or fewer than the column allows.
    diff_types: Vec<Vec<Type>>,
}

/// Why a record could not be decoded.
#[derive(Debug)]
pub enum DecodeError {
    /// The body is not a JSON object: damage, as far as the file goes.
    Corrupt(Corruption),
    /// The body is JSON, but not a transaction that fits the database.
    Invalid(Error),
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

    /// Turns a record's body into the commit it describes, relative to `db`.
    pub fn decode(&self, db: &Database, body: &[u8]) -> Result<Commit, DecodeError> {
        let mut state = State {
            decoder: self,
            db,
            error: None,
            is_diff: false,
            comment: None,
            tables: Vec::new(),
            modified: Vec::new(),
            seen_rows: HashSet::default(),
        };
        let mut de = serde_json::Deserializer::from_slice(body);
        let res = RecordSeed(&mut state).deserialize(&mut de).and_then(|()| de.end());
        if let Err(e) = res {
            return Err(match state.error.take() {
                // The JSON may be broken further on; then it is damage.
                Some(invalid) => match serde_json::from_slice::<IgnoredAny>(body) {
                    Ok(_) => DecodeError::Invalid(invalid),
                    Err(e) => DecodeError::Corrupt(Corruption::BadJson(e.to_string())),
                },
                None => match serde_json::from_slice::<IgnoredAny>(body) {
                    Ok(_) => DecodeError::Corrupt(Corruption::NotObject),
                    Err(_) => DecodeError::Corrupt(Corruption::BadJson(e.to_string())),
                },
            });
        }
        state.finish().map_err(DecodeError::Invalid)
    }
}

/// A row a record modifies, before its columns are applied.
struct Modified {
    table_id: TableId,
    old: Arc<Row>,
    /// Column values (or diffs) as written.
    columns: Vec<(ColumnId, Json)>,
}

/// A record being decoded.
struct State<'a> {
    decoder: &'a Decoder,
    db: &'a Database,
    /// Set when decoding stopped because the content is wrong (rather than
    /// the JSON): serde carries only a message, this carries the error.
    error: Option<Error>,
    is_diff: bool,
    comment: Option<String>,
    /// Inserted and deleted rows, by table. They do not depend on
    /// `_is_diff`, which may come last, so they are decoded at once.
    tables: Vec<(TableId, Vec<RowChange>)>,
    /// Modified rows: the old row and the columns as written, applied once
    /// the whole record (and so `_is_diff`) has been read.
    modified: Vec<Modified>,
    /// Rows of the current table so far, to refuse one named twice.
    seen_rows: HashSet<Uuid, BuildHasherDefault<UuidHasher>>,
}

impl State<'_> {
    fn fail<E: de::Error>(&mut self, error: Error) -> E {
        self.error = Some(error);
        E::custom("invalid transaction record")
    }

    fn finish(self) -> Result<Commit> {
        let mut tables = self.tables;
        for Modified { table_id, old, columns } in self.modified {
            let ts = &self.db.schema.tables[table_id];
            let mut row = Row::clone(&old);
            for (col, value) in &columns {
                let ty = &ts.columns[*col].ty;
                if self.is_diff {
                    let diff = Datum::from_json(&self.decoder.diff_types[table_id][*col], value, None)?;
                    let datum = row.field_mut(*col);
                    datum.apply_diff(&diff, ty)?;
                    // A diff that keeps a default the constraints refuse
                    // (an enum without "") would make a value no record
                    // could hold: the snapshot written next could not
                    // be read back.
                    datum.check_constraints(ty)?;
                } else {
                    row.set(*col, Datum::from_json(ty, value, None)?);
                }
            }
            row.version = Uuid::random();
            let change = RowChange {
                uuid: old.uuid,
                old: Some(old),
                new: Some(Arc::new(row)),
            };
            match tables.iter_mut().find(|(id, _)| *id == table_id) {
                Some((_, changes)) => changes.push(change),
                None => tables.push((table_id, vec![change])),
            }
        }
        tables.sort_by_key(|(id, _)| *id);
        Ok(Commit {
            tables,
            comment: self.comment,
            durable: false,
        })
    }
}

/// Visitor methods for the JSON values that are neither objects nor `null`
/// (which means different things to tables and rows): each fails with the
/// visitor's own `not_object`.
macro_rules! refuse_non_objects {
    ($value:ty) => {
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<$value, A::Error> {
            self.not_object()
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$value, E> {
            self.not_object()
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$value, E> {
            self.not_object()
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$value, E> {
            self.not_object()
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$value, E> {
            self.not_object()
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$value, E> {
            self.not_object()
        }
    };
}

/// The record: an object of table names and special members.
struct RecordSeed<'s, 'a>(&'s mut State<'a>);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.0;
        let mut seen_tables = vec![false; state.db.schema.tables.len()];
        while let Some(key) = map.next_key_seed(KeySeed(state.db.schema.as_ref()))? {
            match key {
                Key::Table(table_id) => {
                    if std::mem::replace(&mut seen_tables[table_id], true) {
                        let name = &state.db.schema.tables[table_id].name;
                        return Err(state.fail(Error::syntax(format!("table {name} appears twice in a record"))));
                    }
                    map.next_value_seed(TableSeed {
                        state: &mut *state,
                        table_id,
                    })?;
                }
                Key::Other(name) => {
                    let value: Json = map.next_value()?;
                    match (name.as_str(), &value) {
                        ("_date", Json::Number(n)) if n.is_i64() || n.is_u64() => {}
                        ("_is_diff", Json::Bool(b)) => state.is_diff = *b,
                        ("_comment", Json::String(s)) if !s.is_empty() => state.comment = Some(s.clone()),
                        ("_comment", _) => {}
                        _ => {
                            return Err(
                                state.fail(Error::new(ErrorKind::SyntaxError, format!("No table named {name}.")))
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A member name of a record.
enum Key {
    Table(TableId),
    Other(String),
}

struct KeySeed<'a>(&'a DatabaseSchema);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table name")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
        Ok(match self.0.table_id(s) {
            Some(id) => Key::Table(id),
            None => Key::Other(s.to_string()),
        })
    }
}

/// One table's rows: `{"<uuid>": <row-txn>, ...}`.
struct TableSeed<'s, 'a> {
    state: &'s mut State<'a>,
    table_id: TableId,
}

impl<'de> DeserializeSeed<'de> for TableSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TableSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of rows")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let TableSeed { state, table_id } = self;
        let db = state.db;
        let ts = &db.schema.tables[table_id];
        let table = db.table(table_id);
        state.seen_rows.clear();
        let mut changes = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(uuid) = map.next_key_seed(UuidSeed)? {
            let Some(uuid) = uuid else {
                return Err(state.fail(Error::syntax(format!(
                    "table {}: row name is not a valid UUID",
                    ts.name
                ))));
            };
            if !state.seen_rows.insert(uuid) {
                return Err(state.fail(Error::syntax(format!("row {uuid} appears twice in a record"))));
            }
            let old = table.get(&uuid);
            match map.next_value_seed(RowSeed {
                state: &mut *state,
                ts,
                uuid,
                existing: old.is_some(),
            })? {
                RowTxn::Delete => match old {
                    Some(old) => changes.push(RowChange {
                        uuid,
                        old: Some(Arc::clone(old)),
                        new: None,
                    }),
                    None => {
                        return Err(state.fail(Error::syntax(format!(
                            "transaction deletes row {uuid} that does not exist"
                        ))));
                    }
                },
                RowTxn::Insert(row) => changes.push(RowChange {
                    uuid,
                    old: None,
                    new: Some(Arc::new(row)),
                }),
                RowTxn::Modify(columns) => {
                    if let Some(old) = old {
                        state.modified.push(Modified {
                            table_id,
                            old: Arc::clone(old),
                            columns,
                        });
                    }
                }
            }
        }
        if !changes.is_empty() {
            state.tables.push((table_id, changes));
        }
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_object()
    }

    refuse_non_objects!(());
}

impl TableSeed<'_, '_> {
    fn not_object<E: de::Error>(self) -> Result<(), E> {
        Err(self.state.fail(Error::syntax("table in a record must be an object")))
    }
}

/// A row name: `Some` if it is a UUID.
struct UuidSeed;

impl<'de> DeserializeSeed<'de> for UuidSeed {
    type Value = Option<Uuid>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Uuid>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for UuidSeed {
    type Value = Option<Uuid>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a UUID")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<Uuid>, E> {
        Ok(Uuid::parse(s))
    }
}

/// A column name: its id, or the name if the table has no such column
/// that records may write.
struct ColumnSeed<'a>(&'a TableSchema);

impl<'de> DeserializeSeed<'de> for ColumnSeed<'_> {
    type Value = Result<ColumnId, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for ColumnSeed<'_> {
    type Value = Result<ColumnId, String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a column name")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(match self.0.column_id(s) {
            Some(COL_UUID | COL_VERSION) | None => Err(s.to_string()),
            Some(col) => Ok(col),
        })
    }
}

/// What a record says about one row.
enum RowTxn {
    Delete,
    /// A new row, complete.
    Insert(Row),
    /// Columns of an existing row, as written (values or diffs).
    Modify(Vec<(ColumnId, Json)>),
}

struct RowSeed<'s, 'a> {
    state: &'s mut State<'a>,
    ts: &'a TableSchema,
    uuid: Uuid,
    existing: bool,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = RowTxn;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RowTxn, D::Error> {
        d.deserialize_any(self)
    }
}

impl RowSeed<'_, '_> {
    fn not_object<E: de::Error>(self) -> Result<RowTxn, E> {
        Err(self
            .state
            .fail(Error::syntax(format!("row {} must be JSON object", self.uuid))))
    }

    fn column<E: de::Error>(&mut self, name: Result<ColumnId, String>) -> Result<ColumnId, E> {
        name.map_err(|name| {
            self.state.fail(Error::new(
                ErrorKind::UnknownColumn,
                format!("No column {name} in table {}.", self.ts.name),
            ))
        })
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = RowTxn;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<RowTxn, E> {
        Ok(RowTxn::Delete)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<RowTxn, A::Error> {
        if self.existing {
            let mut columns = Vec::new();
            while let Some(name) = map.next_key_seed(ColumnSeed(self.ts))? {
                let col = self.column(name)?;
                columns.push((col, map.next_value()?));
            }
            return Ok(RowTxn::Modify(columns));
        }
        let mut row = Row::new_default(self.ts, self.uuid);
        while let Some(name) = map.next_key_seed(ColumnSeed(self.ts))? {
            let col = self.column(name)?;
            let value: Json = map.next_value()?;
            match Datum::from_json(&self.ts.columns[col].ty, &value, None) {
                Ok(datum) => row.set(col, datum),
                Err(e) => return Err(self.state.fail(e)),
            }
        }
        row.version = Uuid::random();
        Ok(RowTxn::Insert(row))
    }

    refuse_non_objects!(RowTxn);
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
/// 3.1.0 (see [`portable_diff`]); then the whole record carries new
/// values instead, which every version reads alike.
pub fn encode_commit(schema: &DatabaseSchema, commit: &Commit, date_ms: i64) -> Option<Vec<u8>> {
    let mut digest = BodyDigest::default();
    encode_commit_pieces(schema, commit, date_ms, &mut digest).map(|pieces| pieces.concat())
}

/// From this many rows of one table on, [`encode_commit_pieces`] encodes
/// them on every thread, in runs of [`ROWS_PER_PIECE`].
pub const PARALLEL_MIN_ROWS: usize = 2048;
const ROWS_PER_PIECE: usize = 1024;

/// [`encode_commit`]'s body in pieces, to be written one after the other,
/// each taken into `digest` as it is made: the rows of a large commit (a
/// first compile's 42,000) are encoded on every thread while this one
/// hashes those before them, and no piece is copied into another.
pub fn encode_commit_pieces(schema: &DatabaseSchema, commit: &Commit, date_ms: i64, digest: &mut BodyDigest) -> Option<Vec<Vec<u8>>> {
    encode_pieces(schema, commit, date_ms, PARALLEL_MIN_ROWS, digest)
}

/// [`encode_commit_pieces`], encoding tables of `parallel_min` rows or
/// more on every thread.
fn encode_pieces(schema: &DatabaseSchema, commit: &Commit, date_ms: i64, parallel_min: usize, digest: &mut BodyDigest) -> Option<Vec<Vec<u8>>> {
    // A small commit's modified rows are compared and diffed once, for the
    // check and for the writing; a large one's are looked at again when
    // written, on every thread.
    let mut entries: Vec<Vec<RowEntry>> = Vec::new();
    let as_diff = if commit.n_changes() < parallel_min {
        entries = commit
            .tables
            .iter()
            .map(|(table_id, changes)| changes.iter().map(|c| RowEntry::of(&schema.tables[*table_id], c, true)).collect())
            .collect();
        let as_diff = entries.iter().flatten().all(|e| e.portable);
        if !as_diff {
            entries.clear();
        }
        as_diff
    } else {
        commit.tables.iter().all(|(table_id, changes)| {
            changes.iter().all(|change| RowEntry::of(&schema.tables[*table_id], change, true).portable)
        })
    };

    let mut pieces = Vec::new();
    let mut out = Vec::with_capacity(256 + 256 * commit.n_changes().min(ROWS_PER_PIECE));
    out.push(b'{');
    let mut first_table = true;
    let mut entries = entries.into_iter();
    for (table_id, changes) in &commit.tables {
        let ts = &schema.tables[*table_id];
        let mut first_row = true;
        let mut table_start = |out: &mut Vec<u8>| {
            if !first_table {
                out.push(b',');
            }
            first_table = false;
            ovsdb::json::write_str(out, &ts.name);
            out.extend_from_slice(b":{");
        };
        if let Some(found) = entries.next() {
            first_row = !write_rows(&mut out, ts, changes, found, &mut table_start);
        } else if changes.len() < parallel_min {
            let found = changes.iter().map(|c| RowEntry::of(ts, c, as_diff)).collect();
            first_row = !write_rows(&mut out, ts, changes, found, &mut table_start);
        } else {
            let runs: Vec<&[RowChange]> = changes.chunks(ROWS_PER_PIECE).collect();
            let encode = |i: usize| {
                let mut run = Vec::with_capacity(256 * runs[i].len());
                let found = runs[i].iter().map(|c| RowEntry::of(ts, c, as_diff)).collect();
                write_rows(&mut run, ts, runs[i], found, |_| {});
                run
            };
            // Each run goes into the body (and the digest) as soon as it
            // and those before it are encoded.
            let take = |_: usize, run: Vec<u8>| {
                if run.is_empty() {
                    return true;
                }
                if first_row {
                    table_start(&mut out);
                    first_row = false;
                } else {
                    out.push(b',');
                }
                let before = std::mem::take(&mut out);
                digest.update(&before);
                digest.update(&run);
                pieces.push(before);
                pieces.push(run);
                true
            };
            ovsdb::ahead::ahead(runs.len(), 1, encode, take);
        }
        if !first_row {
            out.push(b'}');
        }
    }
    if first_table {
        return None;
    }
    finish_record(&mut out, true, commit.comment.as_deref(), as_diff, date_ms);
    digest.update(&out);
    pieces.push(out);
    Some(pieces)
}

/// What a record writes for one row change.
struct RowEntry<'a> {
    kind: EntryKind<'a>,
    /// Whether Open vSwitch 3.1.0 reads every diff of it back right (see
    /// [`portable_diff`]); true when written without diffs.
    portable: bool,
}

enum EntryKind<'a> {
    Insert(&'a Row),
    Delete,
    /// The stored columns that changed; none, for a row whose only
    /// changes are to ephemeral columns, which is not written.
    Modify(Vec<(ColumnId, ColumnValue<'a>)>),
}

impl<'a> RowEntry<'a> {
    /// `change` as written, its composite columns as diffs if `as_diff`.
    fn of(ts: &TableSchema, change: &'a RowChange, as_diff: bool) -> RowEntry<'a> {
        let (old, new) = match (&change.old, &change.new) {
            (_, None) => return RowEntry { kind: EntryKind::Delete, portable: true },
            (None, Some(new)) => return RowEntry { kind: EntryKind::Insert(new), portable: true },
            (Some(old), Some(new)) => (old, new),
        };
        let mut portable = true;
        let cols = changed_columns(ts, old, new)
            .map(|col| {
                let ty = &ts.columns[col].ty;
                let v = if as_diff && ty.is_composite() {
                    let diff = Datum::diff(old.field(col), new.field(col), ty);
                    portable &= portable_diff(ty, old.field(col), new.field(col), &diff);
                    ColumnValue::Diff(diff)
                } else {
                    ColumnValue::Full(new.field(col))
                };
                (col, v)
            })
            .collect();
        RowEntry { kind: EntryKind::Modify(cols), portable }
    }
}

/// Writes `changes`' rows (as `entries` found them) as the members of a
/// table's object, separated by commas; `first` runs before the first
/// one. Whether any was written (a row modified without a change to a
/// stored column is not).
fn write_rows(out: &mut Vec<u8>, ts: &TableSchema, changes: &[RowChange], entries: Vec<RowEntry>, mut first: impl FnMut(&mut Vec<u8>)) -> bool {
    let names = ColumnNames::of(ts, changes.len());
    let mut any = false;
    // The separator (or, before the first row, `first`) and the row's key.
    let mut row_key = |out: &mut Vec<u8>, uuid: Uuid| {
        if any {
            out.push(b',');
        } else {
            first(out);
            any = true;
        }
        ovsdb::json::write_uuid(out, uuid);
        out.push(b':');
    };
    for (change, entry) in changes.iter().zip(entries) {
        match entry.kind {
            EntryKind::Delete => {
                row_key(out, change.uuid);
                out.extend_from_slice(b"null");
            }
            // An insert (most rows of a large commit) is written as it is.
            EntryKind::Insert(new) => {
                row_key(out, change.uuid);
                put_row(out, &names, stored_columns(ts, new).map(|col| (col, new.field(col))));
            }
            EntryKind::Modify(cols) if cols.is_empty() => {}
            EntryKind::Modify(cols) => {
                row_key(out, change.uuid);
                put_row(
                    out,
                    &names,
                    cols.iter().map(|(col, v)| match v {
                        ColumnValue::Full(d) => (*col, *d),
                        ColumnValue::Diff(d) => (*col, d),
                    }),
                );
            }
        }
    }
    any
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
        ovsdb::json::write_str(&mut out, &ts.name);
        out.extend_from_slice(b":{");
        let names = ColumnNames::of(ts, table.len());
        for (i, (uuid, row)) in table.rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            ovsdb::json::write_uuid(&mut out, *uuid);
            out.push(b':');
            put_row(&mut out, &names, stored_columns(ts, row).map(|col| (col, row.field(col))));
        }
        out.push(b'}');
    }
    let tables = out.len() > 1;
    finish_record(&mut out, tables, comment, false, date_ms);
    out
}

/// Whether Open vSwitch 3.1.0 reads `diff` (`Datum::diff(old, new)`) back
/// as `new`. It does not in two cases (both fixed in later 3.1 releases):
/// it parses a diff with the column's bounds on size, so a diff larger
/// than the column allows is an error; and it replaces, rather than
/// patches, a column whose old value is the default, which goes wrong when
/// that default is not empty (a set of at least one element).
fn portable_diff(ty: &Type, old: &Datum, new: &Datum, diff: &Datum) -> bool {
    diff.len() <= ty.max as usize && (!old.is_default(ty) || diff == new)
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

/// A table's column names as written before their values (`"name":`):
/// for many rows, each written once beforehand; for a few rows (a small
/// transaction's), as they come.
enum ColumnNames<'a> {
    AsNeeded(&'a TableSchema),
    Written(Vec<Vec<u8>>),
}

impl<'a> ColumnNames<'a> {
    /// Below this many rows, names are written as they come.
    const WRITTEN_MIN_ROWS: usize = 8;

    fn of(ts: &'a TableSchema, rows: usize) -> ColumnNames<'a> {
        if rows < Self::WRITTEN_MIN_ROWS {
            return ColumnNames::AsNeeded(ts);
        }
        ColumnNames::Written(
            ts.columns
                .iter()
                .map(|c| {
                    let mut name = Vec::with_capacity(c.name.len() + 3);
                    put_name(&mut name, &c.name);
                    name
                })
                .collect(),
        )
    }

    fn put(&self, out: &mut Vec<u8>, col: ColumnId) {
        match self {
            ColumnNames::AsNeeded(ts) => put_name(out, &ts.columns[col].name),
            ColumnNames::Written(names) => out.extend_from_slice(&names[col]),
        }
    }
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    ovsdb::json::write_str(out, name);
    out.push(b':');
}

fn put_row<'d>(out: &mut Vec<u8>, names: &ColumnNames, columns: impl Iterator<Item = (ColumnId, &'d Datum)>) {
    out.push(b'{');
    for (i, (col, datum)) in columns.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        names.put(out, col);
        ovsdb::json::write_datum(out, datum);
    }
    out.push(b'}');
}

/// Adds the special members (ovsdb(5)), closes the object, ends the line;
/// `tables` says whether the object holds any table already.
fn finish_record(out: &mut Vec<u8>, tables: bool, comment: Option<&str>, is_diff: bool, date_ms: i64) {
    if tables {
        out.push(b',');
    }
    if let Some(comment) = comment.filter(|c| !c.is_empty()) {
        out.extend_from_slice(b"\"_comment\":");
        ovsdb::json::write_str(out, comment);
        out.push(b',');
    }
    if is_diff {
        out.extend_from_slice(b"\"_is_diff\":true,");
    }
    out.extend_from_slice(b"\"_date\":");
    ovsdb::json::write_int(out, date_ms);
    out.extend_from_slice(b"}\n");
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
            ovsdb::txn::Outcome::Done {
                commit: Some(c),
                results,
            } => {
                assert!(!results.to_string().contains("error"), "{results}");
                db.apply(&c);
                c
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn large_commits_encode_on_every_thread_as_in_turn() {
        let mut db = Database::new(schema());
        let inserts: Vec<Json> = (0..3000).map(|i| json!({"op": "insert", "table": "T", "row": {"i": i, "s": ["set", [format!("s{i}")]], "two": 1}})).collect();
        let big = commit(&mut db, Json::Array(inserts));
        // Modifies a third of the rows, deletes a third; ephemeral-only
        // changes write nothing, so some runs of rows are empty.
        let uuids: Vec<Uuid> = big.tables[0].1.iter().map(|c| c.uuid).collect();
        let ops: Vec<Json> = uuids
            .iter()
            .enumerate()
            .filter_map(|(n, u)| {
                let at = json!([["_uuid", "==", ["uuid", u.to_string()]]]);
                match n % 3 {
                    0 => Some(json!({"op": "update", "table": "T", "where": at, "row": {"m": ["map", [["k", n]]]}})),
                    1 if n < 2500 => Some(json!({"op": "update", "table": "T", "where": at, "row": {"e": "only ephemeral"}})),
                    1 => None,
                    _ => Some(json!({"op": "delete", "table": "T", "where": at})),
                }
            })
            .collect();
        let mixed = commit(&mut db, Json::Array(ops));
        for c in [&big, &mixed] {
            let (mut in_turn_digest, mut parallel_digest) = (BodyDigest::default(), BodyDigest::default());
            let in_turn = encode_pieces(&db.schema, c, 7, usize::MAX, &mut in_turn_digest).unwrap();
            let parallel = encode_pieces(&db.schema, c, 7, 1, &mut parallel_digest).unwrap();
            assert!(parallel.len() > 2, "{} pieces", parallel.len());
            let (a, b) = (String::from_utf8(parallel.concat()).unwrap(), String::from_utf8(in_turn.concat()).unwrap());
            let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
            assert!(a == b, "differ at {at} of {} and {}: {:?} / {:?}", a.len(), b.len(), &a[at.saturating_sub(60)..(at + 60).min(a.len())], &b[at.saturating_sub(60)..(at + 60).min(b.len())]);
            body_json(&parallel.concat());
            let mut one = Vec::new();
            let mut split = Vec::new();
            crate::frame::write_header(&mut one, "JSON", &in_turn.concat());
            let mut pieces_digest = BodyDigest::default();
            parallel.iter().for_each(|piece| pieces_digest.update(piece));
            pieces_digest.write_header(&mut split, "JSON");
            assert_eq!(one, split);
            // On a pool thread (where the rows are encoded another way).
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
            let mut on_pool_digest = BodyDigest::default();
            let on_pool = pool.install(|| encode_pieces(&db.schema, c, 7, 1, &mut on_pool_digest).unwrap());
            assert!(on_pool.concat() == parallel.concat());
            let mut c2 = Vec::new();
            on_pool_digest.write_header(&mut c2, "JSON");
            assert_eq!(c2, one);
            // The digests taken as the pieces were made give the same header.
            let (mut a, mut b) = (Vec::new(), Vec::new());
            in_turn_digest.write_header(&mut a, "JSON");
            parallel_digest.write_header(&mut b, "JSON");
            assert_eq!((&a, &b), (&one, &one));
        }
    }

    #[test]
    fn insert_modify_delete() {
        let mut db = Database::new(schema());
        let c = commit(
            &mut db,
            json!([{"op": "insert", "table": "T", "uuid-name": "r",
            "row": {"i": 5, "s": ["set", ["a", "b"]], "m": ["map", [["k", 1]]], "e": "x"}}]),
        );
        let uuid = c.tables[0].1[0].uuid;
        let j = body_json(&encode_commit(&db.schema, &c, 7).unwrap());
        assert_eq!(
            j,
            json!({"T": {uuid.to_string(): {"i": 5, "s": ["set", ["a", "b"]], "m": ["map", [["k", 1]]]}},
                   "_is_diff": true, "_date": 7})
        );

        let c = commit(
            &mut db,
            json!([{"op": "update", "table": "T", "where": [],
            "row": {"i": 6, "s": ["set", ["b", "c"]], "m": ["map", [["k", 2]]], "e": "y"}},
            {"op": "comment", "comment": "why"}]),
        );
        let j = body_json(&encode_commit(&db.schema, &c, 8).unwrap());
        assert_eq!(
            j,
            json!({"T": {uuid.to_string(): {"i": 6, "s": ["set", ["a", "c"]], "m": ["map", [["k", 2]]]}},
                   "_comment": "why", "_is_diff": true, "_date": 8})
        );

        // Only an ephemeral column changes: nothing to store.
        let c = commit(
            &mut db,
            json!([{"op": "update", "table": "T", "where": [], "row": {"e": "z"}}]),
        );
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
        let c = commit(
            &mut db,
            json!([{"op": "mutate", "table": "T", "where": [],
            "mutations": [["two", "insert", 5]]}]),
        );
        let j = body_json(&encode_commit(&db.schema, &c, 1).unwrap());
        let row = j["T"].as_object().unwrap().values().next().unwrap();
        assert_eq!(row, &json!({"two": ["set", [0, 5]]}));
        assert!(j.get("_is_diff").is_none());

        // {0, 5} to {1, 2}: the diff has four elements, more than "two" holds.
        let c = commit(
            &mut db,
            json!([{"op": "update", "table": "T", "where": [], "row": {"two": ["set", [1, 2]]}}]),
        );
        let j = body_json(&encode_commit(&db.schema, &c, 1).unwrap());
        assert!(j.get("_is_diff").is_none());

        // {1, 2} to {1, 3} is an ordinary diff.
        let c = commit(
            &mut db,
            json!([{"op": "update", "table": "T", "where": [], "row": {"two": ["set", [1, 3]]}}]),
        );
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
            let body = encode_commit(&db.schema, &c, 0).unwrap();
            let decoded = decoder.decode(&replica, &body).unwrap();
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
                a.iter_mut()
                    .for_each(|r| r.1[e - 2] = Datum::default_for(&ts.columns[e].ty));
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn modified_rows_wait_for_is_diff() {
        // Open vSwitch may write "_is_diff" after the tables.
        let mut db = Database::new(schema());
        transact(
            &mut db,
            &json!(["D", {"op": "insert", "table": "T", "row": {"s": ["set", ["a", "b"]]}}]),
        );
        let uuid = db.table(0).rows.keys().next().unwrap().to_string();
        let decoder = Decoder::new(&db.schema);
        let s = db.schema.tables[0].column_id("s").unwrap();
        for (record, expect) in [
            (
                format!("{{\"T\":{{\"{uuid}\":{{\"s\":\"a\"}}}},\"_is_diff\":true}}"),
                json!("b"),
            ),
            (
                format!("{{\"_is_diff\":true,\"T\":{{\"{uuid}\":{{\"s\":\"c\"}}}}}}"),
                json!(["set", ["a", "b", "c"]]),
            ),
            (format!("{{\"T\":{{\"{uuid}\":{{\"s\":\"c\"}}}}}}"), json!("c")),
        ] {
            let commit = decoder.decode(&db, record.as_bytes()).unwrap();
            let new = commit.tables[0].1[0].new.as_ref().unwrap();
            assert_eq!(new.field(s).to_json(), expect, "{record}");
        }
    }

    /// Found by fuzzing: a row inserted without its enum column holds the
    /// default "", which the enum refuses; a diff adding "y" left {"", "y"},
    /// which was loaded but could not be written back in a readable
    /// snapshot. The record is refused instead.
    #[test]
    fn a_diff_must_leave_a_value_the_column_allows() {
        let schema = DatabaseSchema::from_json(&json!({"name": "D", "tables": {"T": {"columns": {
            "s": {"type": {"key": {"type": "string", "enum": ["set", ["x", "y"]]}, "min": 1, "max": 2}}}}}}))
        .unwrap();
        let schema = Arc::new(schema);
        let decoder = Decoder::new(&schema);
        let mut db = Database::new(Arc::clone(&schema));
        let uuid = "00000000-0000-4000-8000-000000000001";
        let insert = json!({"T": {uuid: {}}, "_is_diff": true});
        let commit = decoder.decode(&db, insert.to_string().as_bytes()).unwrap();
        db.apply(&commit);
        let diff = json!({"T": {uuid: {"s": "y"}}, "_is_diff": true});
        let r = decoder.decode(&db, diff.to_string().as_bytes());
        assert!(matches!(r, Err(DecodeError::Invalid(_))), "{r:?}");
        // Replacing the default whole is fine.
        let full = json!({"T": {uuid: {"s": "y"}}});
        assert!(decoder.decode(&db, full.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn decode_errors() {
        let mut db = Database::new(schema());
        transact(
            &mut db,
            &json!(["D", {"op": "insert", "table": "T", "uuid-name": "r", "row": {"i": 1}}]),
        );
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
            let r = decoder.decode(&db, case.to_string().as_bytes());
            assert!(matches!(r, Err(DecodeError::Invalid(_))), "{case}: {r:?}");
        }
        let ok = json!({"_date": 5, "_comment": "c", "_is_diff": false, "T": {}});
        assert!(decoder.decode(&db, ok.to_string().as_bytes()).unwrap().is_empty());
        // Twice the same row or table: Open vSwitch never writes that.
        let twice = format!("{{\"T\":{{\"{uuid}\":{{}},\"{uuid}\":{{}}}}}}");
        assert!(
            matches!(decoder.decode(&db, twice.as_bytes()), Err(DecodeError::Invalid(_))),
            "{twice}"
        );
        let twice = "{\"T\":{},\"T\":{}}";
        assert!(
            matches!(decoder.decode(&db, twice.as_bytes()), Err(DecodeError::Invalid(_))),
            "{twice}"
        );
        // Broken JSON is damage, even after content that is wrong.
        for broken in ["{\"U\":{}", "[]", "{\"T\":{\"x\":", "5", "{\"T\":[]}}"] {
            let r = decoder.decode(&db, broken.as_bytes());
            assert!(matches!(r, Err(DecodeError::Corrupt(_))), "{broken}: {r:?}");
        }
    }

    #[test]
    fn snapshot_holds_stored_columns() {
        let mut db = Database::new(schema());
        transact(
            &mut db,
            &json!(["D", {"op": "insert", "table": "T", "row": {"i": 3, "e": "gone"}}]),
        );
        let uuid = db.table(0).rows.keys().next().unwrap().to_string();
        let j = body_json(&encode_snapshot(&db, Some("compacted"), 42));
        assert_eq!(j, json!({"T": {uuid: {"i": 3}}, "_comment": "compacted", "_date": 42}));
        let empty = Database::new(schema());
        assert_eq!(body_json(&encode_snapshot(&empty, None, 1)), json!({"_date": 1}));
    }
}
