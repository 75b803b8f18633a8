//! Transaction execution (RFC 7047 section 4.1.3 and 5.2): the `transact`
//! operations run against a private overlay of the database, then the
//! commit-time checks of ovsdb(7) run (referential integrity, garbage
//! collection, weak references, `maxRows`, indexes) and yield a [`Commit`].
//!
//! Nothing here touches the database: the caller applies the commit once it
//! is durable, so a failed transaction leaves no trace.

use std::cmp::Ordering;
use std::ops::Range;
use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::atom::{Atom, NamedUuids, is_id};
use crate::condition::Condition;
use crate::datum::{Change, Datum};
use crate::db::{Commit, Database, FastMap, RowKey, RowChange, UuidMap, index_key};
use crate::error::{Error, ErrorKind, Result};
use crate::mutation::Mutation;
use crate::row::Row;
use crate::schema::{COL_UUID, ColumnId, DatabaseSchema, TableId, TableSchema};
use crate::types::{ObjectParser, RefType};
use crate::uuid::Uuid;

/// What the session running a transaction contributes to it.
pub struct ExecContext<'a> {
    /// Time since the transaction first arrived (for blocked `wait`s).
    pub elapsed_ms: u64,
    /// The server refuses writes (a backup server, for example).
    pub read_only: bool,
    /// Whether this session owns the named lock (for `assert`).
    pub owns_lock: &'a dyn Fn(&str) -> bool,
}

impl ExecContext<'_> {
    pub fn simple() -> ExecContext<'static> {
        ExecContext { elapsed_ms: 0, read_only: false, owns_lock: &|_| false }
    }
}

#[derive(Debug)]
pub enum Outcome {
    /// `results` is the reply's array. A commit, when present, must be made
    /// durable and applied before the reply is sent.
    Done { results: Json, commit: Option<Commit> },
    /// A `wait` is not satisfied yet: run the transaction again when the
    /// database changes, or once `timeout_ms` (from arrival) has passed.
    Blocked { timeout_ms: Option<u64> },
}

/// Runs a `transact` request's params (`[db-name, operation...]`).
pub fn execute(db: &Database, params: &Json, ctx: &ExecContext) -> Outcome {
    let schema = &*db.schema;
    let ops = match params {
        Json::Array(a) if matches!(a.first(), Some(Json::String(n)) if *n == schema.name) => &a[1..],
        Json::Array(_) => {
            let e = Error::syntax_in(ErrorKind::SyntaxError, params, "database name expected as first parameter");
            return Outcome::Done { results: e.to_json(), commit: None };
        }
        _ => {
            let e = Error::syntax_in(ErrorKind::SyntaxError, params, "array expected");
            return Outcome::Done { results: e.to_json(), commit: None };
        }
    };

    let mut txn = Txn::new(db);
    let mut results = Vec::with_capacity(ops.len() + 1);
    let mut failed = false;
    for (i, op) in ops.iter().enumerate() {
        match txn.execute_op(op, i + 1, ops.len(), ctx) {
            Ok(result) => results.push(result),
            Err(e) if e.kind == ErrorKind::NotSupported => return Outcome::Blocked { timeout_ms: txn.timeout_ms },
            Err(e) => {
                results.push(e.to_json());
                failed = true;
                break;
            }
        }
    }
    results.resize(ops.len(), Json::Null);
    if failed {
        return Outcome::Done { results: Json::Array(results), commit: None };
    }
    match txn.precommit() {
        Ok(commit) => {
            let commit = (!commit.is_empty() || commit.durable).then_some(commit);
            Outcome::Done { results: Json::Array(results), commit }
        }
        Err(e) => {
            results.push(e.to_json());
            Outcome::Done { results: Json::Array(results), commit: None }
        }
    }
}

/// A `transact` request's params: a JSON tree, or the text they arrived
/// as, with where its items are in it if the reader found them (see
/// [`execute_text`]).
#[derive(Clone, Debug)]
pub enum Params {
    Tree(Json),
    Text(Box<str>, Option<Found>),
}

impl Params {
    /// Runs the params with [`execute`] or [`execute_text`].
    pub fn execute(&self, db: &Database, ctx: &ExecContext) -> Outcome {
        match self {
            Params::Tree(json) => execute(db, json, ctx),
            Params::Text(text, found) => execute_text(db, text, found.as_ref(), ctx),
        }
    }
}

/// What the reader of a `transact` request found in its params text
/// while it read the request: where the database name is, and the
/// operations, split for a small transaction. Found on a connection's
/// thread, this is work the database thread does not do.
#[derive(Clone, Debug)]
pub struct Found {
    pub name: Range<usize>,
    pub ops: FoundOps,
}

#[derive(Clone, Debug)]
pub enum FoundOps {
    /// Where each operation is: a large transaction's, split on the pool,
    /// or one of which some operation is not an object.
    At(Vec<Range<usize>>),
    /// A small transaction's operations (fewer than
    /// [`READ_AHEAD_MIN_OPS`]), split as [`execute_text`] splits them.
    Split(Vec<SplitOp>),
}

impl Found {
    /// The elements of the params array as trees, from what was found in
    /// `params`: to check a reader against the usual parse.
    pub fn items_json(&self, params: &str) -> Option<Vec<Json>> {
        let mut items = vec![serde_json::from_str(params.get(self.name.clone())?).ok()?];
        match &self.ops {
            FoundOps::At(at) => {
                for r in at {
                    items.push(serde_json::from_str(params.get(r.clone())?).ok()?);
                }
            }
            FoundOps::Split(split) => {
                for op in split {
                    items.push(op.to_json(params)?);
                }
            }
        }
        Some(items)
    }

    /// From where the elements of the params array are in `params` (the
    /// database name first, then the operations); a small transaction's
    /// operations are split now. `None` without a first element.
    pub fn new(params: &str, items: Vec<Range<usize>>) -> Option<Found> {
        let mut items = items.into_iter();
        let name = items.next()?;
        let at: Vec<Range<usize>> = items.collect();
        let ops = match split_ops(params, &at) {
            Some(split) => FoundOps::Split(split),
            None => FoundOps::At(at),
        };
        Some(Found { name, ops })
    }
}

/// An operation read as a tree, but for its `row`, whose place in the
/// params text is kept, to be read straight into datums.
#[derive(Clone, Debug)]
pub struct SplitOp {
    /// The tree, with an empty object for its `row`.
    pub(crate) op: Json,
    pub(crate) row: Option<Range<usize>>,
}

impl SplitOp {
    /// The whole operation as a tree, its `row` read from `params`.
    pub fn to_json(&self, params: &str) -> Option<Json> {
        let mut op = self.op.clone();
        if let Some(at) = &self.row {
            let row = serde_json::from_str(params.get(at.clone())?).ok()?;
            *op.get_mut("row")? = row;
        }
        Some(op)
    }
}

/// The operations at `ops` of `params`, split as [`execute_text`] splits
/// them, if they are fewer than [`READ_AHEAD_MIN_OPS`] (a large
/// transaction's are split on the pool). `None` also if any is not a
/// JSON object.
fn split_ops(params: &str, ops: &[Range<usize>]) -> Option<Vec<SplitOp>> {
    if ops.len() >= READ_AHEAD_MIN_OPS {
        return None;
    }
    ops.iter()
        .map(|at| {
            let (op, row) = crate::seed::split_member(params.get(at.clone())?, "row")?;
            let row = row.map(|row| {
                let start = row.as_ptr() as usize - params.as_ptr() as usize;
                start..start + row.len()
            });
            Some(SplitOp { op, row })
        })
        .collect()
}

/// Like [`execute`], for params given as JSON text: the `row` of each
/// `insert` and `update` is read straight into datums ([`crate::seed`]),
/// without a JSON tree; the rest of each operation is small and read as
/// a tree. A transaction that does not succeed this way (any error, or a
/// `wait` that blocks) runs again through [`execute`] from the tree, so
/// that every reply is exactly [`execute`]'s; nothing of the first try
/// remains, since only a successful one yields a commit.
///
/// `found`, if given, is what the request's reader found in `params`
/// (see [`Found`]); otherwise it is found here.
pub fn execute_text(db: &Database, params: &str, found: Option<&Found>, ctx: &ExecContext) -> Outcome {
    if let Some(done) = execute_direct(db, params, found, ctx) {
        return done;
    }
    let json = serde_json::from_str(params).unwrap_or(Json::Null);
    execute(db, &json, ctx)
}

/// The database a `transact` request's params text names first, read
/// without going through the rest (a first compile's is megabytes).
pub fn params_db_name(params: &str) -> Option<String> {
    let rest = params.trim_start().strip_prefix('[')?;
    serde_json::Deserializer::from_str(rest).into_iter::<String>().next()?.ok()
}

/// The successful outcome of [`execute_text`]'s direct reading, if it is one.
fn execute_direct(db: &Database, params: &str, found: Option<&Found>, ctx: &ExecContext) -> Option<Outcome> {
    let read;
    let found = match found {
        Some(found) => found,
        None => {
            let at = |v: &str| v.as_ptr() as usize - params.as_ptr() as usize;
            let items = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(params)
                .ok()?
                .into_iter()
                .map(|v| at(v.get())..at(v.get()) + v.get().len())
                .collect();
            read = Found::new(params, items)?;
            &read
        }
    };
    if serde_json::from_str::<&str>(params.get(found.name.clone())?).ok()? != db.schema.name {
        return None;
    }
    let mut txn = Txn::new(db);
    let (results, commit) = if let FoundOps::Split(split) = &found.ops {
        let mut results = Vec::with_capacity(split.len());
        for (i, SplitOp { op, row }) in split.iter().enumerate() {
            let row = match row {
                Some(at) => Some(RowSource::Text(params.get(at.clone())?)),
                None => None,
            };
            results.push(txn.execute_op_with(op, row, i + 1, split.len(), ctx).ok()?);
        }
        let commit = txn.precommit().ok()?;
        (results, commit)
    } else {
        // Found at their places: a large transaction, or one with an
        // operation that is not an object (the tree reports it).
        let FoundOps::At(at) = &found.ops else { return None };
        if at.len() < READ_AHEAD_MIN_OPS {
            return None;
        }
        let ops: Vec<&str> = at.iter().map(|r| params.get(r.clone())).collect::<Option<_>>()?;
        use rayon::prelude::*;
        // Collected in place (an `Option<Vec>` would be gathered in
        // pieces and copied together), then checked.
        let split: Vec<Option<Split>> = ops.par_iter().map(|op| Split::of(op)).collect();
        let split: Vec<Split> = split.into_iter().collect::<Option<_>>()?;
        // The rows are read on the pool, a chunk at a time, while the
        // operations before them run here.
        let names = txn.name_inserts(&split);
        let schema = txn.schema;
        let read = |i: usize| names.as_ref().and_then(|names| read_ahead(schema, names, &split[i]));
        // An insert's result is only its UUID until the end.
        enum Done {
            Inserted(Uuid),
            Result(Json),
        }
        let mut done: Vec<Done> = Vec::with_capacity(split.len());
        let all = crate::ahead::ahead(split.len(), READ_AHEAD_CHUNK, read, |i, read| {
            let result = match &split[i] {
                Split::Insert(insert) => {
                    let row = read.map_or(RowSource::Text(insert.row), RowSource::Read);
                    txn.insert_as_read(insert, row, ctx).map(Done::Inserted)
                }
                Split::Tree(op, text) => {
                    let row = read.map(RowSource::Read).or(text.map(RowSource::Text));
                    txn.execute_op_with(op, row, i + 1, ops.len(), ctx).map(Done::Result)
                }
            };
            match result {
                Ok(result) => {
                    done.push(result);
                    true
                }
                Err(_) => false,
            }
        });
        if !all {
            return None;
        }
        // Tens of thousands of small pieces: freed off this thread.
        let trees: Vec<Json> = split.into_iter().filter_map(|op| if let Split::Tree(op, _) = op { Some(op) } else { None }).collect();
        rayon::spawn(move || drop(trees));
        // The inserts' results (tens of thousands of small trees) are
        // written on the pool while the commit is checked.
        let (commit, written) = rayon::join(
            || txn.precommit(),
            || {
                done.into_par_iter()
                    .map(|done| match done {
                        Done::Inserted(uuid) => insert_result(uuid),
                        Done::Result(json) => json,
                    })
                    .collect::<Vec<Json>>()
            },
        );
        (written, commit.ok()?)
    };
    let commit = (!commit.is_empty() || commit.durable).then_some(commit);
    Some(Outcome::Done { results: Json::Array(results), commit })
}

/// From this many operations on, [`execute_text`] reads the rows of
/// inserts and updates ahead, on several threads.
pub(crate) const READ_AHEAD_MIN_OPS: usize = 256;

/// Operations whose rows are read ahead as one piece of work.
const READ_AHEAD_CHUNK: usize = 128;

/// From this many changed rows on, a table's strong references are
/// counted on every thread ([`Txn::count_strong_refs`]), in runs of
/// [`PARALLEL_REFS_RUN`] rows.
const PARALLEL_REFS_MIN_ROWS: usize = 4096;
const PARALLEL_REFS_RUN: usize = 1024;

/// One operation of a large transaction, read from its text: an insert
/// of the usual shape as its members, anything else as a tree whose `row`
/// text is apart (the tree holds an empty object in its place).
enum Split<'t> {
    Insert(crate::seed::InsertOp<'t>),
    Tree(Json, Option<&'t str>),
}

impl<'t> Split<'t> {
    fn of(text: &'t str) -> Option<Split<'t>> {
        match crate::seed::insert_op(text) {
            Some(insert) => Some(Split::Insert(insert)),
            None => crate::seed::split_member(text, "row").map(|(op, row)| Split::Tree(op, row)),
        }
    }

    /// Kind, table, `uuid` and `uuid-name`, as far as given.
    fn insert_names(&self) -> Option<(Option<&str>, bool, Option<&str>)> {
        match self {
            Split::Insert(i) => Some((Some(&i.table), i.uuid.is_some(), i.uuid_name.as_deref())),
            Split::Tree(op, _) if op.get("op").and_then(Json::as_str) == Some("insert") => Some((
                op.get("table").and_then(Json::as_str),
                op.get("uuid").is_some(),
                op.get("uuid-name").and_then(Json::as_str),
            )),
            Split::Tree(..) => None,
        }
    }
}

/// Where an operation's `row` comes from when it is not in the tree.
enum RowSource<'t> {
    /// Its text, to read now.
    Text(&'t str),
    /// Read ahead: the row with the columns named in it, and their ids.
    Read((Row, Vec<ColumnId>)),
}

/// Resolves the named UUIDs of inserts known before the rows are read
/// (see [`Txn::name_inserts`]); any other name spoils the read.
struct Known {
    names: Arc<FastMap<Arc<str>, Uuid>>,
    unknown: bool,
}

impl NamedUuids for Known {
    fn resolve(&mut self, name: &str) -> Uuid {
        self.names.get(name).copied().unwrap_or_else(|| {
            self.unknown = true;
            Uuid::ZERO
        })
    }
}

#[derive(Default)]
/// Named UUIDs: the name's UUID, and whether its insert has run. Names
/// are shared with [`Known`] (a large transaction gives out tens of
/// thousands).
struct Symbols(FastMap<Arc<str>, (Uuid, bool)>);

/// Reads a `row` member's text into `row`, resolving named UUIDs with
/// `names`; returns the columns it names. Its errors only need to say
/// that something is wrong: the transaction then runs again from the
/// tree, which reports it.
fn read_row_text(ts: &TableSchema, row: &mut Row, text: &str, names: &mut (dyn NamedUuids + 'static)) -> Result<Vec<ColumnId>> {
    let mut named = Vec::new();
    read_text_columns(ts, text, names, |c, d| {
        row.put(c, d);
        named.push(c);
    })?;
    Ok(named)
}

/// [`read_row_text`] into the columns named, each once (the last value
/// of a column named twice, as in a row): an update's few columns, without
/// a whole row of defaults around them.
fn read_columns_text(ts: &TableSchema, text: &str, names: &mut (dyn NamedUuids + 'static)) -> Result<Vec<(ColumnId, Datum)>> {
    let mut values: Vec<(ColumnId, Datum)> = Vec::new();
    read_text_columns(ts, text, names, |c, d| match values.iter_mut().find(|(named, _)| *named == c) {
        Some(value) => value.1 = d,
        None => values.push((c, d)),
    })?;
    Ok(values)
}

/// The values `row` holds in the columns `named`, each column once.
fn named_values(row: &Row, named: Vec<ColumnId>) -> Vec<(ColumnId, Datum)> {
    let mut values: Vec<(ColumnId, Datum)> = Vec::with_capacity(named.len());
    for c in named {
        if !values.iter().any(|(seen, _)| *seen == c) {
            values.push((c, row.get(c).into_owned()));
        }
    }
    values
}

/// Reads the `<row>` in `text`, handing each column and its datum to `each`.
fn read_text_columns(ts: &TableSchema, text: &str, names: &mut (dyn NamedUuids + 'static), mut each: impl FnMut(ColumnId, Datum)) -> Result<()> {
    use serde::de::DeserializeSeed;
    let seed = crate::seed::Columns {
        table: ts,
        types: |c: ColumnId| &ts.columns[c].ty,
        each: |c: ColumnId, d: Datum| {
            each(c, d);
            Ok(())
        },
        names: Some(names),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    seed.deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| Error::new(ErrorKind::SyntaxError, e.to_string()))
}

/// The row of an insert or update (split from its `row` text), read
/// before its turn with the names [`Txn::name_inserts`] gave out; `None`
/// if it is some other operation, names any other UUID, or does not read:
/// its operation then reads it in turn, and finds the same names or
/// reports the same error as it would have.
fn read_ahead(schema: &DatabaseSchema, names: &Arc<FastMap<Arc<str>, Uuid>>, op: &Split) -> Option<(Row, Vec<ColumnId>)> {
    let (table, text) = match op {
        Split::Insert(insert) => (&*insert.table, insert.row),
        Split::Tree(op, text) => {
            if !matches!(op.get("op").and_then(Json::as_str), Some("insert" | "update")) {
                return None;
            }
            (op.get("table")?.as_str()?, (*text)?)
        }
    };
    let ts = &schema.tables[schema.table_id(table)?];
    let mut row = Row::new_default(ts, Uuid::ZERO);
    let mut known = Known { names: Arc::clone(names), unknown: false };
    let named = read_row_text(ts, &mut row, text, &mut known).ok()?;
    (!known.unknown).then_some((row, named))
}

impl NamedUuids for Symbols {
    fn resolve(&mut self, name: &str) -> Uuid {
        match self.0.get(name) {
            Some((uuid, _)) => *uuid,
            None => {
                let uuid = Uuid::random();
                self.0.insert(Arc::from(name), (uuid, false));
                uuid
            }
        }
    }
}

/// A row as the transaction sees it.
struct TxnRow {
    /// The committed row, if it existed before the transaction.
    old: Option<Arc<Row>>,
    /// The row after the transaction; `None` if deleted.
    new: Option<Row>,
    /// Known to differ from `old`: the commit checks found so, and the row
    /// has not been handed out for changes since.
    differs: bool,
}

struct Txn<'a> {
    db: &'a Database,
    schema: &'a DatabaseSchema,
    /// Per table, the rows this transaction touched.
    rows: Vec<UuidMap<TxnRow>>,
    symbols: Symbols,
    comments: Vec<String>,
    durable: bool,
    /// The shortest `timeout` of the `wait`s seen.
    timeout_ms: Option<u64>,
}

impl<'a> Txn<'a> {
    fn new(db: &'a Database) -> Txn<'a> {
        Txn {
            db,
            schema: &db.schema,
            rows: (0..db.tables.len()).map(|_| UuidMap::default()).collect(),
            symbols: Symbols::default(),
            comments: Vec::new(),
            durable: false,
            timeout_ms: None,
        }
    }

    // ----- the transaction's view of the database -----

    fn get(&self, table: TableId, uuid: &Uuid) -> Option<&Row> {
        match self.rows[table].get(uuid) {
            Some(tr) => tr.new.as_ref(),
            None => self.db.tables[table].rows.get(uuid).map(|r| &**r),
        }
    }

    /// The rows of `table` that satisfy every clause of `cond`.
    fn query(&self, table: TableId, cond: &Condition) -> Vec<Uuid> {
        let ts = &self.schema.tables[table];
        if let Some(uuid) = cond.uuid_lookup() {
            return self.get(table, &uuid).filter(|r| cond.matches_all(ts, r)).map(|_| uuid).into_iter().collect();
        }
        let overlay = &self.rows[table];
        let mut out = Vec::new();
        for (uuid, row) in &self.db.tables[table].rows {
            let row = match overlay.get(uuid) {
                Some(tr) => match &tr.new {
                    Some(r) => r,
                    None => continue,
                },
                None => &**row,
            };
            if cond.matches_all(ts, row) {
                out.push(*uuid);
            }
        }
        for (uuid, tr) in overlay {
            if let (None, Some(row)) = (&tr.old, &tr.new)
                && cond.matches_all(ts, row)
            {
                out.push(*uuid);
            }
        }
        out
    }

    /// The row, copied into the transaction for writing.
    fn modify(&mut self, table: TableId, uuid: Uuid) -> Option<&mut Row> {
        let tr = match self.rows[table].entry(uuid) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let old = self.db.tables[table].rows.get(&uuid)?;
                e.insert(TxnRow { old: Some(Arc::clone(old)), new: Some((**old).clone()), differs: false })
            }
        };
        // It may change now, back to what it was even.
        tr.differs = false;
        tr.new.as_mut()
    }

    fn delete(&mut self, table: TableId, uuid: Uuid) {
        match self.rows[table].get_mut(&uuid) {
            Some(tr) if tr.old.is_none() => {
                self.rows[table].remove(&uuid);
            }
            Some(tr) => tr.new = None,
            None => {
                if let Some(old) = self.db.tables[table].rows.get(&uuid) {
                    self.rows[table].insert(uuid, TxnRow { old: Some(Arc::clone(old)), new: None, differs: false });
                }
            }
        }
    }

    // ----- operations -----

    fn execute_op(&mut self, op: &Json, n: usize, of: usize, ctx: &ExecContext) -> Result<Json> {
        self.execute_op_with(op, None, n, of, ctx)
    }

    /// Runs one operation; `row`, when given, is where its `row` member
    /// is (which `op` then holds as an empty placeholder).
    fn execute_op_with(&mut self, op: &Json, row: Option<RowSource<'_>>, n: usize, of: usize, ctx: &ExecContext) -> Result<Json> {
        let mut p = ObjectParser::for_operation(op, n, of)?;
        let name = p.required_id("op")?;
        let read_only_op = matches!(name, "select" | "wait" | "abort" | "comment" | "assert");
        let res = match name {
            "insert" => self.op_insert(&mut p, row),
            "select" => self.op_select(&mut p),
            "update" => self.op_update(&mut p, row),
            "mutate" => self.op_mutate(&mut p),
            "delete" => self.op_delete(&mut p),
            "wait" => self.op_wait(&mut p, ctx),
            "commit" => self.op_commit(&mut p),
            "abort" => Err(Error::new(ErrorKind::Aborted, "aborted by request")),
            "comment" => self.op_comment(&mut p),
            "assert" => self.op_assert(&mut p, ctx),
            other => Err(p.fail(format!("No operation \"{other}\""))),
        };
        // A complaint about the operation's shape outranks any other error.
        if p.failed {
            return res;
        }
        p.finish()?;
        let result = res?;
        if !read_only_op {
            if ctx.read_only {
                return Err(Error::new(
                    ErrorKind::NotAllowed,
                    format!("{name} operation not allowed when database server is in read only mode"),
                ));
            }
            if self.schema.name.starts_with('_') {
                return Err(Error::new(
                    ErrorKind::NotAllowed,
                    format!("{name} operation not allowed on table in reserved database {}", self.schema.name),
                ));
            }
        }
        Ok(result)
    }

    fn parse_table(&self, p: &mut ObjectParser<'_>) -> Result<TableId> {
        let name = p.required_id("table")?;
        self.schema.table_id(name).ok_or_else(|| p.fail(format!("No table named {name}.")))
    }

    fn parse_where(&mut self, table: TableId, json: &Json) -> Result<Condition> {
        Condition::from_json(&self.schema.tables[table], json, Some(&mut self.symbols))
    }

    /// Gives out, ahead of the operations, the named UUIDs of the inserts
    /// among `ops` (each split from its `row` text), as the inserts would
    /// give them, so that their rows can be read ahead ([`read_ahead`]);
    /// `None` if a name is given twice, which the second insert refuses
    /// in turn. The name of an insert with its own `uuid` is not given
    /// out: an earlier mention would get another.
    fn name_inserts(&mut self, ops: &[Split]) -> Option<Arc<FastMap<Arc<str>, Uuid>>> {
        // Most operations of a large transaction are inserts.
        let mut names = FastMap::default();
        names.reserve(ops.len());
        self.symbols.0.reserve(ops.len());
        let mut inserts = vec![0; self.rows.len()];
        for op in ops {
            let Some((table, has_uuid, name)) = op.insert_names() else { continue };
            if let Some(t) = table.and_then(|t| self.schema.table_id(t)) {
                inserts[t] += 1;
            }
            if has_uuid {
                continue;
            }
            let Some(name) = name else { continue };
            if self.symbols.0.contains_key(name) {
                return None;
            }
            let uuid = Uuid::random();
            let name: Arc<str> = Arc::from(name);
            self.symbols.0.insert(Arc::clone(&name), (uuid, false));
            names.insert(name, uuid);
        }
        for (rows, n) in self.rows.iter_mut().zip(inserts) {
            rows.reserve(n);
        }
        Some(Arc::new(names))
    }

    fn op_insert(&mut self, p: &mut ObjectParser<'_>, source: Option<RowSource<'_>>) -> Result<Json> {
        let table = self.parse_table(p)?;
        let uuid_json = p.optional_string("uuid")?;
        let uuid_name = p.optional_id("uuid-name")?;
        let row_json = p.required("row")?;
        if !row_json.is_object() {
            return Err(p.fail("ovsdb operation: member 'row' has the wrong type"));
        }
        let uuid = self.insert_row(table, uuid_json, uuid_name, source.ok_or(row_json))?;
        Ok(insert_result(uuid))
    }

    /// An insert read apart from its text ([`crate::seed::insert_op`]),
    /// run as [`Txn::execute_op_with`] runs one that succeeds. Anything
    /// that would fail fails here too, without the right words: the
    /// transaction then runs again from the tree, which has them.
    /// Returns the row's UUID, which the result names.
    fn insert_as_read(&mut self, insert: &crate::seed::InsertOp<'_>, row: RowSource<'_>, ctx: &ExecContext) -> Result<Uuid> {
        let refused = || Error::new(ErrorKind::NotAllowed, "to be run from the tree");
        if ctx.read_only
            || self.schema.name.starts_with('_')
            || !is_id(&insert.table)
            || insert.uuid_name.as_deref().is_some_and(|name| !is_id(name))
        {
            return Err(refused());
        }
        let table = self.schema.table_id(&insert.table).ok_or_else(refused)?;
        self.insert_row(table, insert.uuid.as_deref(), insert.uuid_name.as_deref(), Ok(row))
    }

    /// The insert itself: its row comes from `source`, or else from the
    /// tree of its `row` member. Returns the row's UUID.
    fn insert_row(&mut self, table: TableId, uuid_json: Option<&str>, uuid_name: Option<&str>, source: std::result::Result<RowSource<'_>, &Json>) -> Result<Uuid> {
        let mut uuid = match uuid_json {
            Some(text) => {
                let u = Uuid::parse(text).ok_or_else(|| {
                    Error::syntax_in(ErrorKind::SyntaxError, &Json::String(text.into()), "bad uuid")
                })?;
                if self.get(table, &u).is_some() || self.rows[table].contains_key(&u) {
                    return Err(Error::syntax_in(
                        ErrorKind::DuplicateUuid,
                        &Json::String(text.into()),
                        "This UUID would duplicate a UUID already present within the table or deleted within the same transaction.",
                    ));
                }
                Some(u)
            }
            None => None,
        };
        if let Some(name) = uuid_name {
            // A large transaction's names were given out ahead: looked up
            // without a copy of the name.
            let (given, inserted) = self.symbols.0.get(name).copied().unwrap_or_else(|| (Uuid::random(), false));
            if inserted {
                return Err(Error::syntax_in(
                    ErrorKind::DuplicateUuidName,
                    &Json::String(name.into()),
                    "This \"uuid-name\" appeared on an earlier \"insert\" operation.",
                ));
            }
            let u = *uuid.get_or_insert(given);
            match self.symbols.0.get_mut(name) {
                Some(slot) => *slot = (u, true),
                None => {
                    self.symbols.0.insert(Arc::from(name), (u, true));
                }
            }
        }
        let uuid = uuid.unwrap_or_else(Uuid::random);

        let ts = &self.schema.tables[table];
        // The columns the row names, which reading it checked.
        let (mut row, named) = match source {
            Ok(RowSource::Read((read, named))) => (read, Some(named)),
            Ok(RowSource::Text(text)) => {
                let mut row = Row::new_default(ts, uuid);
                let named = read_row_text(ts, &mut row, text, &mut self.symbols)?;
                (row, Some(named))
            }
            Err(row_json) => {
                let mut row = Row::new_default(ts, uuid);
                row.update_from_json(ts, row_json, Some(&mut self.symbols))?;
                (row, None)
            }
        };
        let ts = &self.schema.tables[table];
        row.uuid = uuid;
        row.version = Uuid::random();
        // Defaults of one element may break constraints (an enum without "").
        for (col, c) in ts.user_columns() {
            let d = row.field(col);
            if d.len() == 1 && !named.as_ref().is_some_and(|named| named.contains(&col)) {
                d.check_constraints(&c.ty)?;
            }
        }
        self.rows[table].insert(uuid, TxnRow { old: None, new: Some(row), differs: false });
        Ok(uuid)
    }

    fn op_select(&mut self, p: &mut ObjectParser<'_>) -> Result<Json> {
        let table = self.parse_table(p)?;
        let where_json = required_array_json(p, "where")?;
        let columns_json = optional_array_json(p, "columns")?;
        let sort_json = optional_array_json(p, "sort")?;
        let cond = self.parse_where(table, where_json)?;
        let ts = &self.schema.tables[table];
        let columns = match columns_json {
            Some(j) => ts.parse_column_set(j)?,
            None => (0..ts.columns.len()).collect(),
        };
        let sort = match sort_json {
            Some(j) => ts.parse_column_set(j)?,
            None => Vec::new(),
        };
        let mut rows: Vec<&Row> = self.query(table, &cond).iter().filter_map(|u| self.get(table, u)).collect();
        if !columns.contains(&COL_UUID) {
            let mut seen = HashSet::new();
            rows.retain(|r| seen.insert(columns.iter().map(|&c| r.get(c).into_owned()).collect::<Vec<_>>()));
        }
        if !sort.is_empty() {
            rows.sort_by(|a, b| {
                sort.iter().map(|&c| datum_cmp(&a.get(c), &b.get(c))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
            });
        }
        let rows = rows.iter().map(|r| r.to_json(ts, &columns)).collect();
        Ok(single("rows", Json::Array(rows)))
    }

    fn op_update(&mut self, p: &mut ObjectParser<'_>, source: Option<RowSource<'_>>) -> Result<Json> {
        let table = self.parse_table(p)?;
        let where_json = required_array_json(p, "where")?;
        let row_json = p.required("row")?;
        if !row_json.is_object() {
            return Err(p.fail("ovsdb operation: member 'row' has the wrong type"));
        }
        let ts = &self.schema.tables[table];
        // The columns it names and their new values, each column once.
        let values: Vec<(ColumnId, Datum)> = match source {
            Some(RowSource::Text(text)) => read_columns_text(ts, text, &mut self.symbols)?,
            Some(RowSource::Read((row, named))) => named_values(&row, named),
            None => {
                let mut template = Row::new_default(ts, Uuid::ZERO);
                let named = template.update_from_json(ts, row_json, Some(&mut self.symbols))?;
                named_values(&template, named)
            }
        };
        if let Some(&(c, _)) = values.iter().find(|(c, _)| !ts.columns[*c].mutable) {
            return Err(Error::syntax_in(
                ErrorKind::ConstraintViolation,
                row_json,
                format!("Cannot update immutable column {} in table {}.", ts.columns[c].name, ts.name),
            ));
        }
        let cond = self.parse_where(table, where_json)?;
        let matches = self.query(table, &cond);
        // Only mutable columns remain: neither `_uuid` nor `_version`.
        for &uuid in &matches {
            let unchanged = self.get(table, &uuid).is_some_and(|r| values.iter().all(|(c, d)| r.field(*c) == d));
            if unchanged {
                continue;
            }
            if let Some(row) = self.modify(table, uuid) {
                for (c, d) in &values {
                    row.set(*c, d.clone());
                }
            }
        }
        Ok(single("count", matches.len().into()))
    }

    fn op_mutate(&mut self, p: &mut ObjectParser<'_>) -> Result<Json> {
        let table = self.parse_table(p)?;
        let where_json = required_array_json(p, "where")?;
        let mutations_json = p.required_array("mutations")?;
        let ts = &self.schema.tables[table];
        let mutations = mutations_json
            .iter()
            .map(|m| Mutation::from_json(ts, m, Some(&mut self.symbols)))
            .collect::<Result<Vec<_>>>()?;
        let cond = self.parse_where(table, where_json)?;
        let matches = self.query(table, &cond);
        for &uuid in &matches {
            if let Some(row) = self.modify(table, uuid) {
                for m in &mutations {
                    m.apply(ts, row)?;
                }
            }
        }
        Ok(single("count", matches.len().into()))
    }

    fn op_delete(&mut self, p: &mut ObjectParser<'_>) -> Result<Json> {
        let where_json = required_array_json(p, "where")?;
        let table = self.parse_table(p)?;
        let cond = self.parse_where(table, where_json)?;
        let matches = self.query(table, &cond);
        for &uuid in &matches {
            self.delete(table, uuid);
        }
        Ok(single("count", matches.len().into()))
    }

    fn op_wait(&mut self, p: &mut ObjectParser<'_>, ctx: &ExecContext) -> Result<Json> {
        let timeout = p.optional_integer("timeout")?;
        let where_json = required_array_json(p, "where")?;
        let columns_json = optional_array_json(p, "columns")?;
        let until = p.required_string("until")?;
        let rows_json = p.required_array("rows")?;
        let table = self.parse_table(p)?;
        let cond = self.parse_where(table, where_json)?;
        let ts = &self.schema.tables[table];
        let columns = match columns_json {
            Some(j) => ts.parse_column_set(j)?,
            None => (0..ts.columns.len()).collect(),
        };
        if let Some(t) = timeout {
            if t < 0 {
                return Err(Error::syntax("timeout must be nonnegative"));
            }
            self.timeout_ms = Some(self.timeout_ms.map_or(t as u64, |m| m.min(t as u64)));
        }
        if until != "==" && until != "!=" {
            return Err(Error::syntax_in(
                ErrorKind::SyntaxError,
                &Json::String(until.into()),
                "\"until\" must be \"==\" or \"!=\"",
            ));
        }
        let project = |r: &Row| columns.iter().map(|&c| r.get(c).into_owned()).collect::<Vec<_>>();
        let mut expected = HashSet::new();
        for rj in rows_json {
            let mut row = Row::new_default(ts, Uuid::ZERO);
            row.update_from_json(ts, rj, Some(&mut self.symbols))?;
            expected.insert(project(&row));
        }
        let actual: HashSet<Vec<Datum>> =
            self.query(table, &cond).iter().filter_map(|u| self.get(table, u)).map(project).collect();
        let equal = actual == expected;
        if (until == "==") == equal {
            return Ok(Json::Object(Map::new()));
        }
        match timeout {
            Some(t) if ctx.elapsed_ms >= t as u64 => Err(Error::new(
                ErrorKind::TimedOut,
                if ctx.elapsed_ms > 0 {
                    format!("\"wait\" timed out after {} ms", ctx.elapsed_ms)
                } else {
                    "\"where\" clause test failed".to_string()
                },
            )),
            _ => Err(Error::new(ErrorKind::NotSupported, "triggers not supported")),
        }
    }

    fn op_commit(&mut self, p: &mut ObjectParser<'_>) -> Result<Json> {
        match p.required("durable")? {
            Json::Bool(b) => self.durable |= *b,
            _ => return Err(p.fail("ovsdb operation: member 'durable' has the wrong type")),
        }
        Ok(Json::Object(Map::new()))
    }

    fn op_comment(&mut self, p: &mut ObjectParser<'_>) -> Result<Json> {
        let comment = p.required_string("comment")?;
        self.comments.push(comment.to_string());
        Ok(Json::Object(Map::new()))
    }

    fn op_assert(&mut self, p: &mut ObjectParser<'_>, ctx: &ExecContext) -> Result<Json> {
        let lock = p.required_id("lock")?;
        if (ctx.owns_lock)(lock) {
            Ok(Json::Object(Map::new()))
        } else {
            Err(Error::new(ErrorKind::NotOwner, format!("Asserted lock {lock} not held.")))
        }
    }

    // ----- commit-time checks -----

    fn precommit(mut self) -> Result<Commit> {
        // Rows written back unchanged are not changes.
        for rows in self.rows.iter_mut().filter(|rows| !rows.is_empty()) {
            rows.retain(|_, tr| match (&tr.old, &tr.new) {
                (Some(old), Some(new)) => {
                    tr.differs = old.fields != new.fields;
                    tr.differs
                }
                _ => true,
            });
        }

        let mut ref_delta: FastMap<RowKey, i64> = FastMap::default();
        self.count_strong_refs(&mut ref_delta)?;
        for (table, rows) in self.rows.iter().enumerate().filter(|(_, rows)| !rows.is_empty()) {
            for (uuid, tr) in rows {
                if tr.new.is_none() {
                    let n = self.db.tables[table].n_refs(uuid) as i64 + ref_delta.get(&(table, *uuid)).unwrap_or(&0);
                    if n > 0 {
                        return Err(Error::new(
                            ErrorKind::ReferentialIntegrity,
                            format!(
                                "cannot delete {} row {uuid} because of {n} remaining reference(s)",
                                self.schema.tables[table].name
                            ),
                        ));
                    }
                }
            }
        }
        self.collect_garbage(&mut ref_delta);
        self.check_max_rows()?;
        self.drop_dead_weak_refs()?;
        self.check_indexes()?;

        let mut commit = Commit {
            tables: Vec::new(),
            comment: (!self.comments.is_empty()).then(|| self.comments.join("\n")),
            durable: self.durable,
        };
        for (table, rows) in self.rows.into_iter().enumerate().filter(|(_, rows)| !rows.is_empty()) {
            let mut changes = Vec::with_capacity(rows.len());
            for (uuid, tr) in rows {
                // Rows changed again by the checks are compared again.
                let differs = tr.differs;
                let new = match (tr.old.as_ref(), tr.new) {
                    (Some(old), Some(new)) if !differs && old.fields == new.fields => continue,
                    (Some(_), Some(mut new)) => {
                        new.version = Uuid::random();
                        Some(Arc::new(new))
                    }
                    (None, None) => continue,
                    (_, new) => new.map(Arc::new),
                };
                changes.push(RowChange { uuid, old: tr.old, new });
            }
            if !changes.is_empty() {
                commit.tables.push((table, changes));
            }
        }
        Ok(commit)
    }

    /// Adjusts strong reference counts for every changed column, failing on
    /// a new reference to a row that does not exist. A table with many
    /// changed rows (a first compile's flows) is counted in runs of rows
    /// on every thread: most of the time goes to fetching rows from
    /// memory, which threads do side by side.
    fn count_strong_refs(&self, ref_delta: &mut FastMap<RowKey, i64>) -> Result<()> {
        use rayon::prelude::*;
        for (table, rows) in self.rows.iter().enumerate() {
            if rows.is_empty() || self.schema.tables[table].strong_ref_columns().is_empty() {
                continue;
            }
            if rows.len() < PARALLEL_REFS_MIN_ROWS {
                self.count_rows_refs(table, rows.iter(), ref_delta)?;
                continue;
            }
            let rows: Vec<(&Uuid, &TxnRow)> = rows.iter().collect();
            let runs: Vec<Result<FastMap<RowKey, i64>>> = rows
                .par_chunks(PARALLEL_REFS_RUN)
                .map(|run| {
                    let mut delta = FastMap::default();
                    self.count_rows_refs(table, run.iter().copied(), &mut delta).map(|()| delta)
                })
                .collect();
            // The first failure in row order, as counting in turn finds.
            for run in runs {
                for (key, n) in run? {
                    *ref_delta.entry(key).or_default() += n;
                }
            }
        }
        Ok(())
    }

    /// [`Txn::count_strong_refs`] for some rows of `table`.
    fn count_rows_refs<'r>(&self, table: TableId, rows: impl Iterator<Item = (&'r Uuid, &'r TxnRow)>, ref_delta: &mut FastMap<RowKey, i64>) -> Result<()> {
        let ts = &self.schema.tables[table];
        // Reused from column to column: a large transaction has tens of
        // thousands.
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        for (uuid, tr) in rows {
            for &col in ts.strong_ref_columns() {
                let c = &ts.columns[col];
                let old = tr.old.as_ref().map(|r| r.field(col));
                let new = tr.new.as_ref().map(|r| r.field(col));
                if old == new {
                    continue;
                }
                match (old, new) {
                    // An inserted row (most of a large transaction):
                    // all its references are new.
                    (None, Some(new)) => added.extend(strong_refs(c, new)),
                    _ => {
                        let empty = Datum::empty(&c.ty);
                        Datum::changes(old.unwrap_or(&empty), new.unwrap_or(&empty), |change, k, v| match change {
                            Change::Removed => removed.extend(strong_targets(c, k, v)),
                            Change::Added => added.extend(strong_targets(c, k, v)),
                        });
                    }
                }
                // A row's references to itself do not count; a
                // reference to the same UUID in another table is
                // not one of those.
                let own = (table, *uuid);
                for key in removed.drain(..) {
                    if key != own {
                        *ref_delta.entry(key).or_default() -= 1;
                    }
                }
                for (target, dst) in added.drain(..) {
                    if (target, dst) == own {
                        continue;
                    }
                    if self.get(target, &dst).is_none() {
                        return Err(Error::new(
                            ErrorKind::ReferentialIntegrity,
                            format!(
                                "Table {} column {} row {uuid} references nonexistent row {dst} in table {}.",
                                ts.name, c.name, self.schema.tables[target].name
                            ),
                        ));
                    }
                    *ref_delta.entry((target, dst)).or_default() += 1;
                }
            }
        }
        Ok(())
    }

    /// Deletes rows of non-root tables that this transaction left without a
    /// strong reference, and whatever only they referenced.
    fn collect_garbage(&mut self, ref_delta: &mut FastMap<RowKey, i64>) {
        // Rows of root tables are never collected: only the others are work.
        let tables = &self.schema.tables;
        let mut work: Vec<RowKey> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(t, rows)| !rows.is_empty() && !tables[*t].is_root)
            .flat_map(|(t, rows)| rows.keys().map(move |u| (t, *u)))
            .chain(ref_delta.keys().copied().filter(|(t, _)| !tables[*t].is_root))
            .collect();
        while let Some((table, uuid)) = work.pop() {
            if self.schema.tables[table].is_root {
                continue;
            }
            let n = self.db.tables[table].n_refs(&uuid) as i64 + ref_delta.get(&(table, uuid)).unwrap_or(&0);
            if n > 0 {
                continue;
            }
            let Some(row) = self.get(table, &uuid) else { continue };
            let ts = &self.schema.tables[table];
            let mut targets = Vec::new();
            for &col in ts.strong_ref_columns() {
                targets.extend(strong_refs(&ts.columns[col], row.field(col)).filter(|(_, dst)| *dst != uuid));
            }
            self.delete(table, uuid);
            for key in targets {
                *ref_delta.entry(key).or_default() -= 1;
                work.push(key);
            }
        }
    }

    fn check_max_rows(&self) -> Result<()> {
        for (table, rows) in self.rows.iter().enumerate() {
            let Some(max) = self.schema.tables[table].max_rows else { continue };
            if rows.is_empty() {
                continue;
            }
            let mut n = self.db.tables[table].len() as i64;
            for tr in rows.values() {
                n += tr.new.is_some() as i64 - tr.old.is_some() as i64;
            }
            if n > max as i64 {
                return Err(Error::constraint(format!(
                    "transaction causes \"{}\" table to contain {n} rows, greater than the schema-defined limit of {max} row(s)",
                    self.schema.tables[table].name
                )));
            }
        }
        Ok(())
    }

    /// Removes weak references to rows that do not exist after the
    /// transaction, from every row the transaction touched and from rows
    /// that pointed at rows it deleted.
    fn drop_dead_weak_refs(&mut self) -> Result<()> {
        let mut sources = Vec::new();
        for (table, rows) in self.rows.iter().enumerate().filter(|(_, rows)| !rows.is_empty()) {
            for (uuid, tr) in rows {
                if tr.old.is_some() && tr.new.is_none()
                    && let Some(srcs) = self.db.tables[table].weak_srcs.get(uuid)
                {
                    sources.extend(srcs.keys().copied());
                }
            }
        }
        for (table, uuid) in sources {
            self.modify(table, uuid);
        }

        for table in 0..self.rows.len() {
            if self.rows[table].is_empty() {
                continue;
            }
            let ts = &self.schema.tables[table];
            let weak_cols = ts.weak_ref_columns();
            if weak_cols.is_empty() {
                continue;
            }
            let uuids: Vec<Uuid> = self.rows[table].iter().filter(|(_, tr)| tr.new.is_some()).map(|(u, _)| *u).collect();
            for uuid in uuids {
                for &col in weak_cols {
                    let c = &ts.columns[col];
                    let dead = |target: Option<(TableId, RefType)>, atom: &Atom| match (target, atom.as_uuid()) {
                        (Some((t, RefType::Weak)), Some(dst)) => self.get(t, &dst).is_none(),
                        _ => false,
                    };
                    let Some(current) = self.get(table, &uuid).map(|r| r.field(col)) else { continue };
                    let any_dead = match current {
                        Datum::Set(atoms) => atoms.iter().any(|a| dead(c.key_ref, a)),
                        Datum::Map(pairs) => pairs.iter().any(|(k, v)| dead(c.key_ref, k) || dead(c.value_ref, v)),
                    };
                    if !any_dead {
                        continue;
                    }
                    let mut datum = current.clone();
                    let before = datum.len();
                    match &mut datum {
                        Datum::Set(atoms) => Datum::with_set(atoms, |atoms| atoms.retain(|a| !dead(c.key_ref, a))),
                        Datum::Map(pairs) => {
                            Datum::with_map(pairs, |pairs| pairs.retain(|(k, v)| !dead(c.key_ref, k) && !dead(c.value_ref, v)))
                        }
                    }
                    let removed = before - datum.len();
                    if removed == 0 {
                        continue;
                    }
                    if datum.len() < c.ty.min as usize {
                        let inserted = self.rows[table].get(&uuid).is_some_and(|tr| tr.old.is_none());
                        return Err(Error::constraint(format!(
                            "Deletion of {removed} weak reference(s) to deleted (or never-existing) rows from column \"{}\" in \"{}\" row {uuid} {}caused this column to become empty, but constraints on this column disallow an empty column.",
                            c.name,
                            ts.name,
                            if inserted { "(inserted within this transaction) " } else { "" }
                        )));
                    }
                    if let Some(row) = self.modify(table, uuid) {
                        row.set(col, datum);
                    }
                }
            }
        }
        Ok(())
    }

    fn check_indexes(&self) -> Result<()> {
        for (table, rows) in self.rows.iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let ts = &self.schema.tables[table];
            for (i, index) in ts.indexes.iter().enumerate() {
                // The keys of the transaction's other rows, if it has any.
                let alone = rows.len() == 1;
                let mut seen: FastMap<std::borrow::Cow<'_, [Datum]>, Uuid> = FastMap::default();
                if !alone {
                    seen.reserve(rows.len());
                }
                for (uuid, tr) in rows {
                    let Some(row) = &tr.new else { continue };
                    // A row that keeps its key owns it in the database.
                    let kept = tr.old.as_ref().is_some_and(|old| index.iter().all(|&c| old.column_eq(row, c)));
                    if kept && alone {
                        continue;
                    }
                    // A one-column key is the row's own datum, not a copy.
                    let key = match index.as_slice() {
                        [col] => std::borrow::Cow::Borrowed(std::slice::from_ref(row.field(*col))),
                        _ => std::borrow::Cow::Owned(index_key(row, index)),
                    };
                    let clash = match seen.get(&key) {
                        Some(other) => Some(*other),
                        None if kept => None,
                        None => self.db.tables[table]
                            .index_lookup(i, &key)
                            .filter(|owner| owner != uuid && !rows.contains_key(owner)),
                    };
                    if let Some(other) = clash {
                        let names: Vec<&str> = index.iter().map(|&c| ts.columns[c].name.as_str()).collect();
                        let values: Vec<String> = index
                            .iter()
                            .zip(key.iter())
                            .map(|(&c, d)| format!("{}={}", ts.columns[c].name, crate::display::datum_to_string(d, &ts.columns[c].ty)))
                            .collect();
                        return Err(Error::constraint(format!(
                            "Transaction causes multiple rows in \"{}\" table to have identical values ({}) for index on {}: rows {other} and {uuid}.",
                            ts.name,
                            values.join(", "),
                            names.join(" and ")
                        )));
                    }
                    if !alone {
                        seen.insert(key, *uuid);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The strong references one element (set member or map pair) of a datum
/// of column `c` holds.
fn strong_targets(c: &crate::schema::ColumnSchema, key: &Atom, value: Option<&Atom>) -> impl Iterator<Item = RowKey> {
    let strong = |r: Option<(TableId, RefType)>| match r {
        Some((t, RefType::Strong)) => Some(t),
        _ => None,
    };
    let k = strong(c.key_ref).zip(key.as_uuid());
    let v = strong(c.value_ref).zip(value.and_then(Atom::as_uuid));
    k.into_iter().chain(v)
}

/// The strong references in a datum of column `c`.
fn strong_refs<'d>(c: &crate::schema::ColumnSchema, d: &'d Datum) -> impl Iterator<Item = RowKey> + 'd {
    let key = match c.key_ref {
        Some((t, RefType::Strong)) => Some(t),
        _ => None,
    };
    let value = match c.value_ref {
        Some((t, RefType::Strong)) => Some(t),
        _ => None,
    };
    let keys = key.into_iter().flat_map(move |t| d.keys().filter_map(move |a| a.as_uuid().map(|u| (t, u))));
    let values = value.into_iter().flat_map(move |t| d.as_map().iter().filter_map(move |(_, v)| v.as_uuid().map(|u| (t, u))));
    keys.chain(values)
}

/// Open vSwitch's datum order: by size, then element by element.
pub fn datum_cmp(a: &Datum, b: &Datum) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| match (a, b) {
        (Datum::Set(x), Datum::Set(y)) => x.cmp(y),
        (Datum::Map(x), Datum::Map(y)) => x.iter().map(|p| &p.0).cmp(y.iter().map(|p| &p.0)).then_with(|| x.iter().map(|p| &p.1).cmp(y.iter().map(|p| &p.1))),
        _ => Ordering::Equal,
    })
}

/// An insert's result: `{"uuid": ["uuid", UUID]}`.
fn insert_result(uuid: Uuid) -> Json {
    single("uuid", Atom::Uuid(uuid).to_json())
}

fn single(key: &str, value: Json) -> Json {
    let mut m = Map::new();
    m.insert(key.into(), value);
    Json::Object(m)
}

fn required_array_json<'j>(p: &mut ObjectParser<'j>, name: &'j str) -> Result<&'j Json> {
    match p.required(name)? {
        j @ Json::Array(_) => Ok(j),
        _ => Err(p.fail(format!("ovsdb operation: member '{name}' has the wrong type"))),
    }
}

fn optional_array_json<'j>(p: &mut ObjectParser<'j>, name: &'j str) -> Result<Option<&'j Json>> {
    match p.optional(name) {
        None => Ok(None),
        Some(j @ Json::Array(_)) => Ok(Some(j)),
        Some(_) => Err(p.fail(format!("ovsdb operation: member '{name}' has the wrong type"))),
    }
}

/// Convenience for tests and tools: runs a transaction and applies it.
pub fn transact(db: &mut Database, params: &Json) -> Json {
    match execute(db, params, &ExecContext::simple()) {
        Outcome::Done { results, commit } => {
            if let Some(c) = commit {
                db.apply(&c);
            }
            results
        }
        Outcome::Blocked { .. } => {
            Error::new(ErrorKind::TimedOut, "\"wait\" condition not satisfied").to_json()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DatabaseSchema;
    use serde_json::json;

    /// A row that the commit checks change back to what it was (its weak
    /// reference to a row collected in the same transaction removed) is
    /// no change of the commit.
    #[test]
    fn a_row_the_checks_change_back_is_no_change() {
        let mut db = db();
        let setup = execute(&db, &json!(["R",
            {"op": "insert", "table": "Child", "uuid-name": "c1", "row": {"name": "c1"}},
            {"op": "insert", "table": "Child", "uuid-name": "c2", "row": {"name": "c2"}},
            {"op": "insert", "table": "Parent", "row": {"kids": ["named-uuid", "c1"]}},
            {"op": "insert", "table": "Parent", "row": {"kids": ["named-uuid", "c2"]}}]), &ExecContext::simple());
        let Outcome::Done { results, commit: Some(commit) } = setup else { panic!("setup") };
        db.apply(&commit);
        let uuid = |i: usize| results[i]["uuid"][1].as_str().unwrap().to_string();
        let (c2, p1, p2) = (uuid(1), uuid(2), uuid(3));
        // The first parent points weakly at the second's child, which the
        // second lets go of: the child is collected, the weak reference
        // removed, and the first parent ends as it was.
        let done = execute(&db, &json!(["R",
            {"op": "update", "table": "Parent", "where": [["_uuid", "==", ["uuid", p1]]], "row": {"weak": ["uuid", c2]}},
            {"op": "update", "table": "Parent", "where": [["_uuid", "==", ["uuid", p2]]], "row": {"kids": ["set", []]}}]), &ExecContext::simple());
        let Outcome::Done { results, commit: Some(commit) } = done else { panic!("{done:?}") };
        assert!(!results.to_string().contains("error"), "{results}");
        let parent = db.schema.table_id("Parent").unwrap();
        let changed: Vec<String> = commit.tables.iter().filter(|(t, _)| *t == parent).flat_map(|(_, c)| c.iter().map(|c| c.uuid.to_string())).collect();
        assert_eq!(changed, vec![p2], "only the second parent changed");
    }

    fn db() -> Database {
        let schema = DatabaseSchema::from_json(&json!({"name": "R", "tables": {
            "Parent": {"isRoot": true, "columns": {
                "kids": {"type": {"key": {"type": "uuid", "refTable": "Child"}, "min": 0, "max": "unlimited"}},
                "weak": {"type": {"key": {"type": "uuid", "refTable": "Child", "refType": "weak"}, "min": 0, "max": 1}}}},
            "Child": {"columns": {"name": {"type": "string"}}}}}))
        .unwrap();
        Database::new(schema)
    }

    fn run(db: &mut Database, ops: Json) -> Json {
        let mut params = vec![json!("R")];
        params.extend(ops.as_array().unwrap().iter().cloned());
        transact(db, &Json::Array(params))
    }

    #[test]
    fn a_uuid_of_another_table_is_no_self_reference() {
        // Found by fuzzing: a Parent row whose strong reference to Child
        // names its own UUID refers to no Child row at all.
        let mut db = db();
        let r = run(&mut db, json!([
            {"op": "insert", "table": "Parent", "uuid-name": "p", "row": {"kids": ["named-uuid", "p"]}}]));
        assert_eq!(r[1]["error"], "referential integrity violation", "{r}");
        assert!(db.tables[db.schema.table_id("Parent").unwrap()].rows.is_empty());
    }

    #[test]
    fn weak_ref_to_collected_row_is_removed() {
        let mut db = db();
        let r = run(&mut db, json!([
            {"op": "insert", "table": "Child", "uuid-name": "c", "row": {"name": "x"}},
            {"op": "insert", "table": "Parent", "row": {"kids": ["named-uuid", "c"], "weak": ["named-uuid", "c"]}}]));
        assert!(r[1]["uuid"].is_array(), "{r}");
        // Dropping the only strong reference collects the child; the weak
        // reference to it must go too, whatever order rows are examined in.
        let r = run(&mut db, json!([{"op": "update", "table": "Parent", "where": [], "row": {"kids": ["set", []]}}]));
        assert_eq!(r, json!([{"count": 1}]));
        let r = run(&mut db, json!([
            {"op": "select", "table": "Parent", "where": [], "columns": ["kids", "weak"]},
            {"op": "select", "table": "Child", "where": [], "columns": ["name"]}]));
        assert_eq!(r, json!([{"rows": [{"kids": ["set", []], "weak": ["set", []]}]}, {"rows": []}]));
    }

    #[test]
    fn unreferenced_child_is_collected_and_integrity_holds() {
        let mut db = db();
        let r = run(&mut db, json!([{"op": "insert", "table": "Child", "row": {"name": "orphan"}}]));
        assert!(r[0]["uuid"].is_array());
        assert_eq!(db.n_rows(), 0, "an orphan in a non-root table is collected at commit");
        let r = run(&mut db, json!([
            {"op": "insert", "table": "Parent", "row": {"kids": ["uuid", "00000000-0000-0000-0000-000000000001"]}}]));
        assert_eq!(r[1]["error"], json!("referential integrity violation"), "{r}");
        assert_eq!(db.n_rows(), 0, "a failed transaction leaves nothing behind");
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;
    use crate::schema::DatabaseSchema;
    use crate::testing::{apply_outcome as outcome, contents};
    use serde_json::json;

    #[test]
    fn the_database_name_is_read_alone() {
        assert_eq!(params_db_name(r#"["R",{"op":"comment","comment":"x"}]"#).as_deref(), Some("R"));
        assert_eq!(params_db_name(r#" [ "R\u0041" ]"#).as_deref(), Some("RA"));
        assert_eq!(params_db_name("[1]"), None);
        assert_eq!(params_db_name("{}"), None);
        assert_eq!(params_db_name("[\"R"), None);
    }

    /// The same transactions as text and as trees: the same replies and
    /// the same database, successes and failures alike.
    /// Index clashes, within a transaction and with rows already there,
    /// on a one-column index (checked on the rows' own datums) and on a
    /// two-column one.
    #[test]
    fn index_clashes_name_both_rows() {
        let schema = DatabaseSchema::from_json(&json!({"name": "R", "tables": {
            "T": {"isRoot": true, "columns": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "integer"}},
                  "indexes": [["a"], ["b", "c"]]}}}))
        .unwrap();
        let mut db = Database::new(schema);
        let run = |db: &mut Database, ops: Vec<Json>| {
            let params = Json::Array([vec![json!("R")], ops].concat());
            let done = execute(db, &params, &ExecContext::simple());
            outcome(db, done).to_string()
        };
        let ok = run(&mut db, vec![json!({"op": "insert", "table": "T", "row": {"a": "x", "b": 1, "c": 2}})]);
        assert!(!ok.contains("error"), "{ok}");
        let within = run(&mut db, vec![
            json!({"op": "insert", "table": "T", "row": {"a": "y", "b": 5}}),
            json!({"op": "insert", "table": "T", "row": {"a": "y", "b": 6}}),
        ]);
        assert!(within.contains(r#"identical values (a=y) for index on a: rows"#), "{within}");
        let existing = run(&mut db, vec![json!({"op": "insert", "table": "T", "row": {"a": "z", "b": 1, "c": 2}})]);
        assert!(existing.contains("identical values (b=1, c=2) for index on b and c: rows"), "{existing}");
        // Values moving between rows in one transaction do not clash.
        let moved = run(&mut db, vec![
            json!({"op": "update", "table": "T", "where": [["a", "==", "x"]], "row": {"a": "w"}}),
            json!({"op": "insert", "table": "T", "row": {"a": "x", "b": 3}}),
        ]);
        assert!(!moved.contains("error"), "{moved}");
        // A row that keeps its key while another row takes it.
        let taken = run(&mut db, vec![
            json!({"op": "update", "table": "T", "where": [["a", "==", "w"]], "row": {"b": 9}}),
            json!({"op": "update", "table": "T", "where": [["a", "==", "x"]], "row": {"a": "w"}}),
        ]);
        assert!(taken.contains(r#"identical values (a=w) for index on a: rows"#), "{taken}");
        // A committed update that keeps a key leaves it indexed, and the
        // key it gave up free.
        let kept = run(&mut db, vec![json!({"op": "update", "table": "T", "where": [["a", "==", "w"]], "row": {"b": 8}})]);
        assert!(!kept.contains("error"), "{kept}");
        let again = run(&mut db, vec![json!({"op": "insert", "table": "T", "row": {"a": "w"}})]);
        assert!(again.contains(r#"identical values (a=w) for index on a: rows"#), "{again}");
        let freed = run(&mut db, vec![json!({"op": "insert", "table": "T", "row": {"a": "v", "b": 1, "c": 2}})]);
        assert!(!freed.contains("error"), "{freed}");

        // An index may name `_uuid` (a row's own field): an update that
        // keeps the key is checked and applied as any other.
        let schema = DatabaseSchema::from_json(&json!({"name": "R", "tables": {
            "T": {"isRoot": true, "columns": {"a": {"type": "string"}}, "indexes": [["_uuid", "a"]]}}}))
        .unwrap();
        let mut db = Database::new(schema);
        let inserted = run(&mut db, vec![json!({"op": "insert", "table": "T", "row": {"a": "x"}})]);
        assert!(!inserted.contains("error"), "{inserted}");
        let updated = run(&mut db, vec![json!({"op": "update", "table": "T", "where": [], "row": {"a": "x"}}),
            json!({"op": "comment", "comment": "same key"})]);
        assert!(!updated.contains("error"), "{updated}");
        let changed = run(&mut db, vec![json!({"op": "update", "table": "T", "where": [], "row": {"a": "y"}})]);
        assert!(!changed.contains("error"), "{changed}");
    }

    /// A table with many changed rows has its strong references counted
    /// on every thread: the same counts, and the same first failure (in
    /// row order), as counting them in turn.
    #[test]
    fn strong_refs_count_on_every_thread_as_in_turn() {
        let schema = DatabaseSchema::from_json(&json!({"name": "R", "tables": {
            "P": {"isRoot": true, "columns": {
                "kids": {"type": {"key": {"type": "uuid", "refTable": "C"}, "min": 0, "max": "unlimited"}},
                "n": {"type": "integer"}}},
            "C": {"columns": {"n": {"type": "integer"}}}}}))
        .unwrap();
        let mut db = Database::new(schema);
        let kids: Vec<Json> = (0..10).map(|i| json!({"op": "insert", "table": "C", "uuid-name": format!("c{i}"), "row": {"n": i}})).collect();
        let holder = json!({"op": "insert", "table": "P", "row": {"kids": ["set", (0..10).map(|i| json!(["named-uuid", format!("c{i}")])).collect::<Vec<_>>()]}});
        let params = Json::Array([vec![json!("R")], kids, vec![holder]].concat());
        let done = execute(&db, &params, &ExecContext::simple());
        outcome(&mut db, done);
        let children: Vec<Uuid> = db.tables[db.schema.table_id("C").unwrap()].rows.keys().copied().collect();
        assert_eq!(children.len(), 10);

        let p = db.schema.table_id("P").unwrap();
        let nowhere = "00000000-0000-4000-8000-00000000dead";
        for dangling in [vec![], vec![100, 4000], vec![4999]] {
            let mut txn = Txn::new(&db);
            for i in 0..(PARALLEL_REFS_MIN_ROWS + 904) {
                let kid = match dangling.contains(&i) {
                    true => nowhere.to_string(),
                    false => children[i % children.len()].to_string(),
                };
                let row = json!({"n": i, "kids": ["uuid", kid]});
                txn.insert_row(p, None, None, Err(&row)).unwrap();
            }
            let mut each = FastMap::default();
            let parallel = txn.count_strong_refs(&mut each).map_err(|e| e.to_string());
            let mut in_turn = FastMap::default();
            let sequential = txn.count_rows_refs(p, txn.rows[p].iter(), &mut in_turn).map_err(|e| e.to_string());
            assert_eq!(parallel, sequential, "dangling at {dangling:?}");
            if parallel.is_ok() {
                assert_eq!(each, in_turn);
                assert_eq!(each.values().sum::<i64>(), (PARALLEL_REFS_MIN_ROWS + 904) as i64);
            } else {
                assert!(parallel.unwrap_err().contains(nowhere));
            }
        }
    }

    #[test]
    fn text_params_run_as_the_tree_runs() {
        let schema = DatabaseSchema::from_json(&json!({"name": "R", "tables": {
            "P": {"isRoot": true, "columns": {
                "name": {"type": "string"},
                "e": {"type": {"key": {"type": "string", "enum": ["set", ["a", "b"]]}, "min": 0, "max": 1}},
                "kids": {"type": {"key": {"type": "uuid", "refTable": "C"}, "min": 0, "max": "unlimited"}},
                "m": {"type": {"key": "string", "value": "integer", "min": 0, "max": "unlimited"}},
                "k": {"type": "integer", "mutable": false}}},
            "C": {"columns": {"n": {"type": "integer"}}}}}))
        .unwrap();
        let (mut tree_db, mut text_db) = (Database::new(schema.clone()), Database::new(schema));
        let txns = [
            json!(["R", {"op": "insert", "table": "C", "uuid-name": "c1", "row": {"n": 1}},
                {"op": "insert", "table": "P", "uuid-name": "p", "row": {"name": "x", "e": "a", "kids": ["set", [["named-uuid", "c1"]]], "m": ["map", [["z", 1], ["a", 2]]], "k": 3}}]),
            json!(["R", {"op": "update", "table": "P", "where": [["name", "==", "x"]], "row": {"e": ["set", []], "m": ["map", []]}}]),
            // Errors: a value outside the enum, an unknown column, a bad
            // named-uuid, an immutable column, a row that is not an object,
            // an unknown member, a dangling reference.
            json!(["R", {"op": "insert", "table": "P", "row": {"e": "c"}}]),
            json!(["R", {"op": "insert", "table": "P", "row": {"nope": 1}}]),
            json!(["R", {"op": "insert", "table": "P", "row": {"kids": ["named-uuid", "9bad"]}}]),
            json!(["R", {"op": "update", "table": "P", "where": [], "row": {"k": 4}}]),
            json!(["R", {"op": "insert", "table": "C", "row": 5}]),
            json!(["R", {"op": "insert", "table": "C", "row": {}, "extra": 1}]),
            json!(["R", {"op": "insert", "table": "P", "row": {"kids": ["uuid", "00000000-0000-4000-8000-000000000001"]}}]),
            // A child nobody references is collected.
            json!(["R", {"op": "insert", "table": "C", "row": {"n": 2}}]),
            json!(["Other", {"op": "insert", "table": "C", "row": {}}]),
            json!({"not": "an array"}),
            json!(["R", {"op": "wait", "table": "C", "where": [], "columns": ["n"], "until": "==", "rows": [], "timeout": 10}]),
        ];
        for params in txns {
            let done = execute(&tree_db, &params, &ExecContext::simple());
            let tree = outcome(&mut tree_db, done);
            let done = execute_text(&text_db, &params.to_string(), None, &ExecContext::simple());
            let text = outcome(&mut text_db, done);
            assert_eq!(text, tree, "{params}");
            assert_eq!(contents(&text_db), contents(&tree_db), "{params}");
        }
        assert_eq!(contents(&tree_db).len(), 2, "{:?}", contents(&tree_db));

        // Updates, as texts: a column named twice (the last value counts),
        // values already there, `_uuid` named, several rows matched.
        let updates = [
            r#"["R", {"op": "update", "table": "P", "where": [["name", "==", "x"]], "row": {"m": ["map", [["q", 1]]], "m": ["map", [["r", 2]]]}}]"#,
            r#"["R", {"op": "update", "table": "P", "where": [], "row": {"name": "x", "m": ["map", [["r", 2]]]}}]"#,
            r#"["R", {"op": "update", "table": "P", "where": [], "row": {"_uuid": ["uuid", "00000000-0000-4000-8000-000000000001"]}}]"#,
            r#"["R", {"op": "insert", "table": "P", "row": {"name": "y"}}, {"op": "update", "table": "P", "where": [], "row": {"e": "b", "e": "a"}}]"#,
        ];
        for text in updates {
            let params: Json = serde_json::from_str(text).unwrap();
            let done = execute(&tree_db, &params, &ExecContext::simple());
            let tree = outcome(&mut tree_db, done);
            let done = execute_text(&text_db, text, None, &ExecContext::simple());
            let text_outcome = outcome(&mut text_db, done);
            assert_eq!(text_outcome, tree, "{text}");
            assert_eq!(contents(&text_db), contents(&tree_db), "{text}");
        }
        assert_eq!(contents(&tree_db).len(), 3, "{:?}", contents(&tree_db));

        // Large transactions, whose rows are read ahead in parallel: named
        // UUIDs mentioned before and after their insert, an insert with
        // its own UUID and a name, a name inserted twice, a name never
        // inserted, a row that does not read.
        let big = |extra: Vec<Json>| {
            let mut ops = vec![json!("R")];
            let kids: Vec<Json> = (0..READ_AHEAD_MIN_OPS).map(|i| json!(["named-uuid", format!("c{i}")])).collect();
            ops.push(json!({"op": "insert", "table": "P", "row": {"name": "big", "kids": ["set", kids]}}));
            ops.extend((0..READ_AHEAD_MIN_OPS).map(|i| json!({"op": "insert", "table": "C", "uuid-name": format!("c{i}"), "row": {"n": i}})));
            ops.extend(extra);
            Json::Array(ops)
        };
        let fixed = "00000000-0000-4000-8000-0000000000f1";
        let txns = [
            big(vec![]),
            big(vec![
                json!({"op": "insert", "table": "C", "uuid": fixed, "uuid-name": "fixed", "row": {"n": -1}}),
                json!({"op": "insert", "table": "P", "row": {"name": "late", "kids": ["named-uuid", "fixed"]}}),
            ]),
            // The early mention gets a UUID of its own, which no row has.
            big(vec![
                json!({"op": "insert", "table": "P", "row": {"name": "early", "kids": ["named-uuid", "fixed2"]}}),
                json!({"op": "insert", "table": "C", "uuid": fixed, "uuid-name": "fixed2", "row": {"n": -1}}),
            ]),
            big(vec![json!({"op": "update", "table": "P", "where": [["name", "==", "x"]], "row": {"kids": ["named-uuid", "c7"], "e": "b"}})]),
            big(vec![json!({"op": "insert", "table": "C", "uuid-name": "c3", "row": {"n": 3}})]),
            big(vec![json!({"op": "insert", "table": "P", "row": {"kids": ["named-uuid", "nowhere"]}})]),
            big(vec![json!({"op": "insert", "table": "P", "row": {"e": "not in the enum"}})]),
            big(vec![json!({"op": "update", "table": "P", "where": [], "row": {"k": 1}})]),
            // Inserts read apart from their text: members in another
            // order, a name that is not an id, an unknown table, a bad or
            // duplicate UUID, a default that breaks its enum, and one
            // with another member, which goes through the tree.
            big(vec![json!({"row": {"n": 5}, "uuid-name": "late", "table": "C", "op": "insert"}), json!({"op": "insert", "table": "P", "row": {"name": "l", "kids": ["named-uuid", "late"]}})]),
            big(vec![json!({"op": "insert", "table": "C", "uuid-name": "9x", "row": {}})]),
            big(vec![json!({"op": "insert", "table": "Nope", "row": {}})]),
            big(vec![json!({"op": "insert", "table": "C", "uuid": "not a uuid", "row": {}})]),
            big(vec![json!({"op": "insert", "table": "C", "uuid": fixed, "row": {}})]),
            big(vec![json!({"op": "insert", "table": "C", "row": {}, "comment": "x"})]),
        ];
        for params in txns {
            let done = execute(&tree_db, &params, &ExecContext::simple());
            let tree = outcome(&mut tree_db, done);
            // With its operations found as the server's reader finds them.
            let text = params.to_string();
            let request = format!("{{\"id\":1,\"method\":\"transact\",\"params\":{text}}}");
            let found = crate::rpc::transact_request(request.as_bytes()).map(|r| r.found);
            assert!(found.is_some());
            let done = execute_text(&text_db, &text, found.as_ref(), &ExecContext::simple());
            let text = outcome(&mut text_db, done);
            assert_eq!(text, tree, "{}", &params.to_string()[..200]);
            assert_eq!(contents(&text_db), contents(&tree_db), "{}", &params.to_string()[..200]);
        }
        assert!(contents(&tree_db).len() > 3 * READ_AHEAD_MIN_OPS, "{}", contents(&tree_db).len());

        // A read-only server refuses them the same way.
        let read_only = ExecContext { elapsed_ms: 0, read_only: true, owns_lock: &|_| false };
        let params = big(vec![]);
        let done = execute(&tree_db, &params, &read_only);
        let tree = outcome(&mut tree_db, done);
        let done = execute_text(&text_db, &params.to_string(), None, &read_only);
        let text = outcome(&mut text_db, done);
        assert_eq!(text, tree);
        assert!(text.to_string().contains("read only"), "{text}");
    }
}
