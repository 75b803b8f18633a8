//! Transactions: a builder for the operations of RFC 7047 `transact`, and
//! the reading of its reply.
//!
//! Inserted rows get a provisional UUID at once, which may be written
//! anywhere later in the same transaction (in another row's reference
//! column, in a `where`): before sending, each provisional UUID becomes the
//! `["named-uuid", NAME]` of its insert, and the outcome maps it to the
//! real UUID the server chose.
//!
//! [`Transaction::verify`] records the current values of the columns a
//! decision was based on as `wait` operations (`timeout` 0, `until` "=="),
//! so the transaction fails with [`TxnError::TryAgain`] if another client
//! changed them meanwhile; the caller then rebuilds the transaction from
//! the updated replica ([`crate::Client::transact_with_retry`]).

use std::collections::{BTreeMap, HashMap};

use ovsdb::Uuid;
use ovsdb::row::Row;
use ovsdb::schema::TableSchema;
use serde_json::{Map, Value as Json, json};

use crate::condition::Clause;
use crate::typed::Table;

/// The position of an operation among those the caller added, for reading
/// its result from the [`TxnOutcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpIndex(pub usize);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TxnError {
    /// Not (yet) connected and monitoring; nothing was sent.
    #[error("not connected to the database")]
    NotConnected,
    /// The connection dropped before the reply: the transaction may or may
    /// not have been committed.
    #[error("connection lost before the transaction's reply")]
    Disconnected,
    /// A verified column changed, a `wait` timed out, or the server
    /// cancelled the transaction: rebuild it from the replica and retry.
    #[error("transaction must be retried: {0}")]
    TryAgain(String),
    /// The client is configured to hold a lock and does not.
    #[error("lock {0:?} is not held")]
    NotLocked(String),
    /// An operation (or the commit, when `index` is past the operations)
    /// failed.
    #[error("operation {index} failed: {error}{}", details.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Failed { index: usize, error: String, details: Option<String> },
    /// The server answered the request with a JSON-RPC error.
    #[error("server refused the transaction: {0}")]
    Rpc(Json),
    #[error("malformed transaction reply: {0}")]
    BadReply(String),
    /// The transaction could not be built (for example, verifying a column
    /// the table lacks).
    #[error("{0}")]
    Build(String),
    /// The client was shut down.
    #[error("client closed")]
    Closed,
}

impl TxnError {
    /// Whether rebuilding the transaction from an updated replica may
    /// succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TxnError::NotConnected | TxnError::Disconnected | TxnError::TryAgain(_))
    }
}

/// A transaction being built.
#[derive(Clone, Debug)]
pub struct Transaction {
    database: String,
    /// `wait` operations of [`Transaction::verify`], sent first.
    verifies: Vec<Json>,
    ops: Vec<Op>,
    /// Provisional UUID of each insert, and its uuid-name.
    provisional: BTreeMap<Uuid, String>,
    /// (index in `ops` of the increment's mutate, column).
    increment: Option<(usize, String)>,
    /// Columns already verified, per row, to send each once.
    verified: BTreeMap<(String, Uuid), Vec<String>>,
}

/// One operation: a tree, or JSON text that goes out as it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Op {
    Tree(Json),
    Text(String),
}

impl Op {
    /// The operation as JSON text.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        match self {
            Op::Tree(json) => serde_json::to_vec(&json).unwrap_or_default(),
            Op::Text(text) => text.into_bytes(),
        }
    }

    /// The operation as a tree (text that is not JSON reads as its string).
    #[cfg(test)]
    fn into_tree(self) -> Json {
        match self {
            Op::Tree(json) => json,
            Op::Text(text) => serde_json::from_str(&text).unwrap_or(Json::String(text)),
        }
    }
}

/// How a transaction's reply is read: what the core keeps while waiting.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    /// Operations before the caller's (the verifies).
    offset: usize,
    n_ops: usize,
    /// (result index of the insert, provisional UUID).
    inserts: Vec<(usize, Uuid)>,
    /// (result index of the select, column).
    increment: Option<(usize, String)>,
}

impl Transaction {
    pub fn new(database: impl Into<String>) -> Transaction {
        Transaction {
            database: database.into(),
            verifies: Vec::new(),
            ops: Vec::new(),
            provisional: BTreeMap::new(),
            increment: None,
            verified: BTreeMap::new(),
        }
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// True if no operation was added.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.verifies.is_empty()
    }

    fn push(&mut self, op: Json) -> OpIndex {
        self.ops.push(Op::Tree(op));
        OpIndex(self.ops.len() - 1)
    }

    /// Adds `op`, an RFC 7047 operation, as it is: for callers that build
    /// operations themselves, with their own `uuid-name`s and `named-uuid`
    /// references (not the builder's own `rowN` if the transaction also
    /// uses [`Transaction::insert`]). Its inserts'
    /// UUIDs are in the results, not in [`TxnOutcome::uuid`].
    pub fn raw(&mut self, op: Json) -> OpIndex {
        self.push(op)
    }

    /// Like [`Transaction::raw`], with the operation already written as
    /// JSON text (one object), which goes out byte for byte: a first
    /// compile writes 40,000 rows, not worth a tree each. The server
    /// checks it; text that is not an operation fails the transaction.
    pub fn raw_text(&mut self, op: String) -> OpIndex {
        self.ops.push(Op::Text(op));
        OpIndex(self.ops.len() - 1)
    }

    /// Inserts a row (`row` is a `<row>` JSON object). Returns its
    /// provisional UUID.
    pub fn insert(&mut self, table: &str, row: Map<String, Json>) -> Uuid {
        let uuid = Uuid::random();
        let name = format!("row{}", self.provisional.len() + 1);
        self.push(json!({"op": "insert", "table": table, "row": row, "uuid-name": name}));
        self.provisional.insert(uuid, name);
        uuid
    }

    /// Inserts a typed row (its `uuid` field is ignored). Columns left at
    /// their Rust default are not sent, so the server gives them its own
    /// default. Returns the row's provisional UUID.
    pub fn insert_row<T: Table + Default>(&mut self, row: &T) -> Uuid {
        self.insert(T::TABLE, row.diff_json_row(&T::default()))
    }

    pub fn update(&mut self, table: &str, where_: &[Clause], row: Map<String, Json>) -> OpIndex {
        self.push(json!({"op": "update", "table": table, "where": clauses(where_), "row": row}))
    }

    /// Writes the columns of `new` that differ from `old` (all of them
    /// without `old`) into row `new.uuid()`. Does nothing if none differ.
    pub fn update_row<T: Table>(&mut self, new: &T, old: Option<&T>) -> Option<OpIndex> {
        let row = match old {
            Some(old) => new.diff_json_row(old),
            None => new.to_json_row(),
        };
        (!row.is_empty()).then(|| self.update(T::TABLE, &[Clause::uuid(new.uuid())], row))
    }

    /// `mutations` are `[column, mutator, value]` arrays.
    pub fn mutate(&mut self, table: &str, where_: &[Clause], mutations: Vec<Json>) -> OpIndex {
        self.push(json!({"op": "mutate", "table": table, "where": clauses(where_), "mutations": mutations}))
    }

    pub fn delete(&mut self, table: &str, where_: &[Clause]) -> OpIndex {
        self.push(json!({"op": "delete", "table": table, "where": clauses(where_)}))
    }

    pub fn delete_row(&mut self, table: &str, uuid: Uuid) -> OpIndex {
        self.delete(table, &[Clause::uuid(uuid)])
    }

    /// Selects `columns` (all when empty) of the matching rows.
    pub fn select(&mut self, table: &str, where_: &[Clause], columns: &[&str]) -> OpIndex {
        let mut op = json!({"op": "select", "table": table, "where": clauses(where_)});
        if !columns.is_empty() {
            op["columns"] = json!(columns);
        }
        self.push(op)
    }

    /// The `wait` operation: until the rows matching `where_`, projected on
    /// `columns`, are (`equal`) or are not (`!equal`) exactly `rows`.
    pub fn wait(
        &mut self,
        table: &str,
        where_: &[Clause],
        columns: &[&str],
        equal: bool,
        rows: Vec<Map<String, Json>>,
        timeout_ms: Option<u64>,
    ) -> OpIndex {
        let mut op = json!({"op": "wait", "table": table, "where": clauses(where_), "columns": columns,
            "until": if equal { "==" } else { "!=" }, "rows": rows});
        if let Some(t) = timeout_ms {
            op["timeout"] = json!(t);
        }
        self.push(op)
    }

    /// Adds text to the database log (`ovsdb-tool show-log`).
    pub fn comment(&mut self, text: &str) -> OpIndex {
        self.push(json!({"op": "comment", "comment": text}))
    }

    /// Fails the transaction unless this session holds `lock`. (The client
    /// adds this by itself when it is configured to hold a lock.)
    pub fn assert_lock(&mut self, lock: &str) -> OpIndex {
        self.push(json!({"op": "assert", "lock": lock}))
    }

    /// Makes the transaction a dry run: everything is checked, nothing
    /// is committed.
    pub fn abort(&mut self) -> OpIndex {
        self.push(json!({"op": "abort"}))
    }

    /// Makes the transaction fail with [`TxnError::TryAgain`] if any of
    /// `columns` of `row` (a replica row over `table`) changed since it
    /// was read.
    pub fn verify(&mut self, table: &TableSchema, row: &Row, columns: &[&str]) -> Result<(), TxnError> {
        let mut values = Map::new();
        for &name in columns {
            let col = table
                .column_id(name)
                .filter(|&c| c >= 2)
                .ok_or_else(|| TxnError::Build(format!("table {} has no column {name} to verify", table.name)))?;
            values.insert(name.to_string(), row.field(col).to_json());
        }
        self.verify_values(&table.name, row.uuid, values);
        Ok(())
    }

    /// [`Transaction::verify`] for a typed row (as read from the replica).
    pub fn verify_row<T: Table>(&mut self, row: &T, columns: &[&str]) -> Result<(), TxnError> {
        let mut all = row.to_json_row();
        let mut values = Map::new();
        for &name in columns {
            let v = all
                .remove(name)
                .ok_or_else(|| TxnError::Build(format!("table {} has no column {name} to verify", T::TABLE)))?;
            values.insert(name.to_string(), v);
        }
        self.verify_values(T::TABLE, row.uuid(), values);
        Ok(())
    }

    fn verify_values(&mut self, table: &str, uuid: Uuid, mut values: Map<String, Json>) {
        let done = self.verified.entry((table.to_string(), uuid)).or_default();
        values.retain(|k, _| !done.contains(k));
        if values.is_empty() {
            return;
        }
        done.extend(values.keys().cloned());
        let columns: Vec<&String> = values.keys().collect();
        let op = json!({"op": "wait", "table": table, "timeout": 0, "where": clauses(&[Clause::uuid(uuid)]),
            "until": "==", "columns": columns, "rows": [values]});
        self.verifies.push(op);
    }

    /// Adds 1 to integer `column` of row `uuid` (a `mutate`), and reads the
    /// new value back (a `select`) into [`TxnOutcome::increment`]: how
    /// `nb_cfg` is bumped.
    pub fn increment(&mut self, table: &str, uuid: Uuid, column: &str) {
        let at = self.mutate(table, &[Clause::uuid(uuid)], vec![json!([column, "+=", 1])]);
        self.select(table, &[Clause::uuid(uuid)], &[column]);
        self.increment = Some((at.0, column.to_string()));
    }

    /// The `transact` parameters, with a lock assertion when `lock` is set,
    /// and how to read the reply.
    #[cfg(test)]
    pub(crate) fn to_params(&self, lock: Option<&str>) -> (Vec<Json>, Layout) {
        let (params, layout) = self.clone().into_params(lock);
        (params.into_iter().map(Op::into_tree).collect(), layout)
    }

    /// Like [`Transaction::to_params`], taking the operations apart instead
    /// of copying them: a first compile sends a whole database.
    pub(crate) fn into_params(self, lock: Option<&str>) -> (Vec<Op>, Layout) {
        let offset = self.verifies.len();
        let by_name: HashMap<&str, Uuid> = self.provisional.iter().map(|(u, n)| (n.as_str(), *u)).collect();
        let inserts = self
            .ops
            .iter()
            .enumerate()
            .filter_map(|(i, op)| {
                let Op::Tree(op) = op else { return None };
                let name = op.get("uuid-name")?.as_str()?;
                Some((offset + i, *by_name.get(name)?))
            })
            .collect();
        let increment = self.increment.as_ref().map(|(i, col)| (offset + i + 1, col.clone()));
        let n_ops = self.ops.len();
        let mut params = Vec::with_capacity(2 + offset + n_ops);
        params.push(Op::Tree(Json::String(self.database)));
        params.extend(self.verifies.into_iter().map(Op::Tree));
        for mut op in self.ops {
            if let Op::Tree(op) = &mut op
                && !self.provisional.is_empty()
            {
                substitute(&self.provisional, op);
            }
            params.push(op);
        }
        if let Some(lock) = lock {
            params.push(Op::Tree(json!({"op": "assert", "lock": lock})));
        }
        (params, Layout { offset, n_ops, inserts, increment })
    }
}

/// Replaces provisional UUIDs in `json` with the named-uuids of their
/// inserts, in place.
fn substitute(provisional: &BTreeMap<Uuid, String>, json: &mut Json) {
    match json {
        Json::Array(a) => {
            if let [Json::String(kind), Json::String(text)] = a.as_slice()
                && kind == "uuid"
                && let Some(name) = Uuid::parse(text).and_then(|u| provisional.get(&u))
            {
                *json = json!(["named-uuid", name]);
                return;
            }
            a.iter_mut().for_each(|j| substitute(provisional, j));
        }
        Json::Object(o) => o.values_mut().for_each(|v| substitute(provisional, v)),
        _ => {}
    }
}

fn clauses(where_: &[Clause]) -> Json {
    Json::Array(where_.iter().map(Clause::to_json).collect())
}

/// A committed transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct TxnOutcome {
    /// The reply's results, one per operation sent (verifies first).
    pub results: Vec<Json>,
    /// The value [`Transaction::increment`] produced.
    pub increment: Option<i64>,
    /// The replica's [`crate::Replica::seqno`] when the reply arrived. The
    /// server sends a transaction's updates before its reply, so the
    /// replica then already shows the transaction's effects.
    pub seqno: u64,
    offset: usize,
    inserted: BTreeMap<Uuid, Uuid>,
}

impl TxnOutcome {
    /// The real UUID of the row inserted under `provisional`.
    pub fn uuid(&self, provisional: Uuid) -> Option<Uuid> {
        self.inserted.get(&provisional).copied()
    }

    /// The result of one of the caller's operations.
    pub fn result(&self, op: OpIndex) -> Option<&Json> {
        self.results.get(self.offset + op.0)
    }

    /// The rows a `select` returned.
    pub fn rows(&self, op: OpIndex) -> &[Json] {
        self.result(op).and_then(|r| r.get("rows")).and_then(Json::as_array).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The row count of an `update`, `mutate` or `delete`.
    pub fn count(&self, op: OpIndex) -> Option<u64> {
        self.result(op)?.get("count")?.as_u64()
    }
}

/// Reads the reply to a `transact` (a result array, or the error of an
/// error reply), as Open vSwitch's IDL does: a hard error anywhere fails
/// the transaction; otherwise a lost lock means [`TxnError::NotLocked`];
/// otherwise a `wait` that timed out, a result left `null` after an
/// error, or a cancelled request means [`TxnError::TryAgain`].
pub(crate) fn read_reply(
    layout: &Layout,
    reply: Result<&Json, &Json>,
    lock: Option<&str>,
    seqno: u64,
) -> Result<TxnOutcome, TxnError> {
    let result = match reply {
        Ok(r) => r,
        Err(Json::String(e)) if e == "canceled" => return Err(TxnError::TryAgain("request canceled".into())),
        Err(e) => return Err(TxnError::Rpc(e.clone())),
    };
    let Json::Array(results) = result else {
        return Err(TxnError::BadReply("result is not an array".into()));
    };
    let mut hard = None;
    let mut lock_lost = false;
    let mut soft = None;
    for (index, r) in results.iter().enumerate() {
        match r {
            Json::Null => {
                soft.get_or_insert_with(|| format!("operation {index} was not executed"));
            }
            Json::Object(o) => match o.get("error") {
                None => {}
                Some(Json::String(e)) => match e.as_str() {
                    "timed out" => {
                        let what = if index < layout.offset { "a verified column changed" } else { "a wait timed out" };
                        soft.get_or_insert_with(|| what.to_string());
                    }
                    "unknown database" => {
                        soft.get_or_insert_with(|| "unknown database".to_string());
                    }
                    "not owner" => lock_lost = true,
                    // A dry run ends this way on purpose.
                    "aborted" => {}
                    _ => {
                        hard.get_or_insert_with(|| TxnError::Failed {
                            index: index.saturating_sub(layout.offset),
                            error: e.clone(),
                            details: o.get("details").and_then(Json::as_str).map(str::to_string),
                        });
                    }
                },
                Some(other) => {
                    hard.get_or_insert_with(|| TxnError::BadReply(format!("\"error\" is not a string: {other}")));
                }
            },
            other => {
                hard.get_or_insert_with(|| TxnError::BadReply(format!("operation result is {other}")));
            }
        }
    }
    if let Some(e) = hard {
        return Err(e);
    }
    if lock_lost {
        return Err(TxnError::NotLocked(lock.unwrap_or_default().to_string()));
    }
    if let Some(why) = soft {
        return Err(TxnError::TryAgain(why));
    }
    if results.len() < layout.offset + layout.n_ops {
        return Err(TxnError::BadReply(format!(
            "{} results for {} operations",
            results.len(),
            layout.offset + layout.n_ops
        )));
    }
    let mut inserted = BTreeMap::new();
    for &(index, provisional) in &layout.inserts {
        let real = results[index]
            .get("uuid")
            .and_then(|u| ovsdb::Atom::from_json(ovsdb::AtomicType::Uuid, u, None).ok())
            .and_then(|a| a.as_uuid())
            .ok_or_else(|| TxnError::BadReply(format!("insert result {} has no uuid", results[index])))?;
        inserted.insert(provisional, real);
    }
    let increment = match &layout.increment {
        None => None,
        Some((index, column)) => {
            let count = results[index - 1].get("count").and_then(Json::as_u64);
            if count != Some(1) {
                return Err(TxnError::Failed {
                    index: index - 1 - layout.offset,
                    error: "increment".into(),
                    details: Some(format!("mutate matched {} rows, not 1", count.unwrap_or(0))),
                });
            }
            let value = results[*index]["rows"][0][column.as_str()].as_i64();
            Some(value.ok_or_else(|| TxnError::BadReply(format!("increment select returned {}", results[*index])))?)
        }
    };
    Ok(TxnOutcome { results: results.clone(), increment, seqno, offset: layout.offset, inserted })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(t: &Transaction) -> Json {
        Json::Array(t.to_params(None).0)
    }

    #[test]
    fn provisional_uuids_become_named() {
        let mut t = Transaction::new("DB");
        let port = t.insert("P", Map::new());
        let mut row = Map::new();
        row.insert("ports".into(), json!(["set", [["uuid", port.to_string()]]]));
        t.insert("S", row);
        t.mutate("S", &[Clause::uuid(port)], vec![json!(["n", "+=", 1])]);
        assert_eq!(
            params(&t),
            json!(["DB",
                {"op": "insert", "table": "P", "row": {}, "uuid-name": "row1"},
                {"op": "insert", "table": "S", "row": {"ports": ["set", [["named-uuid", "row1"]]]}, "uuid-name": "row2"},
                {"op": "mutate", "table": "S", "where": [["_uuid", "==", ["named-uuid", "row1"]]], "mutations": [["n", "+=", 1]]}])
        );
    }

    #[test]
    fn verify_goes_first_and_once() {
        let schema = ovsdb::schema::DatabaseSchema::from_json(
            &json!({"name": "DB", "tables": {"T": {"columns": {"a": {"type": "integer"}, "b": {"type": "string"}}}}}),
        )
        .unwrap();
        let ts = &schema.tables[0];
        let u = Uuid::parse("11111111-2222-3333-4444-555555555555").unwrap();
        let mut row = Row::new_default(ts, u);
        row.set(2, ovsdb::Datum::scalar(ovsdb::Atom::Integer(7)));
        let mut t = Transaction::new("DB");
        t.comment("hi");
        t.verify(ts, &row, &["a"]).unwrap();
        t.verify(ts, &row, &["a"]).unwrap();
        assert!(matches!(t.verify(ts, &row, &["nope"]), Err(TxnError::Build(_))));
        let (p, layout) = t.to_params(Some("L"));
        assert_eq!(
            Json::Array(p),
            json!(["DB",
                {"op": "wait", "table": "T", "timeout": 0, "where": [["_uuid", "==", ["uuid", u.to_string()]]],
                 "until": "==", "columns": ["a"], "rows": [{"a": 7}]},
                {"op": "comment", "comment": "hi"},
                {"op": "assert", "lock": "L"}])
        );
        assert_eq!(layout.offset, 1);
    }

    #[test]
    fn reads_replies() {
        let mut t = Transaction::new("DB");
        let ins = t.insert("T", Map::new());
        let u = Uuid::parse("11111111-2222-3333-4444-555555555555").unwrap();
        t.increment("G", u, "nb_cfg");
        let (_, layout) = t.to_params(None);
        let real = "aaaaaaaa-2222-3333-4444-555555555555";
        let ok = json!([{"uuid": ["uuid", real]}, {"count": 1}, {"rows": [{"nb_cfg": 5}]}]);
        let out = read_reply(&layout, Ok(&ok), None, 9).unwrap();
        assert_eq!(out.uuid(ins).unwrap().to_string(), real);
        assert_eq!(out.increment, Some(5));
        assert_eq!(out.count(OpIndex(1)), Some(1));
        assert_eq!(out.seqno, 9);

        let timed_out = json!([{"error": "timed out"}, null, null]);
        assert!(matches!(read_reply(&layout, Ok(&timed_out), None, 0), Err(TxnError::TryAgain(_))));
        let hard = json!([{"uuid": ["uuid", real]}, {"count": 1}, {"rows": []}, {"error": "referential integrity violation", "details": "x"}]);
        assert_eq!(
            read_reply(&layout, Ok(&hard), None, 0),
            Err(TxnError::Failed { index: 3, error: "referential integrity violation".into(), details: Some("x".into()) })
        );
        let lock = json!([{"uuid": ["uuid", real]}, {"count": 1}, {"rows": [{"nb_cfg": 5}]}, {"error": "not owner"}]);
        assert_eq!(read_reply(&layout, Ok(&lock), Some("L"), 0), Err(TxnError::NotLocked("L".into())));
        assert!(matches!(read_reply(&layout, Err(&json!("canceled")), None, 0), Err(TxnError::TryAgain(_))));
        assert!(matches!(read_reply(&layout, Err(&json!("unknown database")), None, 0), Err(TxnError::Rpc(_))));
        assert!(matches!(read_reply(&layout, Ok(&json!({})), None, 0), Err(TxnError::BadReply(_))));
        assert!(matches!(read_reply(&layout, Ok(&json!([])), None, 0), Err(TxnError::BadReply(_))));
        let zero = json!([{"uuid": ["uuid", real]}, {"count": 0}, {"rows": []}]);
        assert!(matches!(read_reply(&layout, Ok(&zero), None, 0), Err(TxnError::Failed { .. })));
    }
}
