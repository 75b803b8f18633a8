//! The server's state machine: databases, sessions, monitors, locks and
//! blocked transactions. It performs no I/O of its own: the daemon feeds it
//! events ([`Server::connect`], [`Server::handle`], [`Server::disconnect`],
//! [`Server::tick`]) and carries out the [`Action`]s it queues — but only
//! after [`Server::flush`] has written every queued commit to its file
//! (and synced it, when [`Flushed::needs_sync`] says so), so nobody hears
//! of a change that a crash of the server could lose.
//!
//! Monitor updates are composed once per distinct [`MonitorSpec`] and the
//! same bytes are queued for every session that asked for it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use ovsdb::db::{Commit, Database, RowChange};
use ovsdb::monitor::{MonitorSpec, Version, merge_commits};

use crate::fanout::{Fanout, PARALLEL_MIN_CHANGES};
use ovsdb::row::Row;
use ovsdb::schema::DatabaseSchema;
use ovsdb::txn::{self, ExecContext, Outcome};
use ovsdb::{Atom, Datum, Error, ErrorKind, Uuid};
use serde_json::{Value as Json, json};

/// Identifies one client connection.
pub type SessionId = u64;

/// What the daemon must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send one JSON-RPC message, given as chunks to concatenate.
    Send(SessionId, Vec<Bytes>),
    /// Close the connection (after sending what was queued before).
    Close(SessionId),
}

/// Where a database's commits go to become durable.
pub trait Storage: Send {
    /// Queues the commit's record and returns its transaction id, stable
    /// across restarts; None if nothing was stored. Cannot fail once
    /// [`Storage::writable`] has succeeded.
    fn append(&mut self, commit: &Commit) -> std::io::Result<Option<Uuid>>;
    /// Fails if nothing can be appended.
    fn writable(&self) -> std::io::Result<()>;
    /// Writes the queued records now, not waiting for the disk (the
    /// file is still handed out by the next [`Storage::flush_for_sync`]).
    fn write(&mut self) -> std::io::Result<()>;
    /// Makes everything appended so far durable.
    fn sync(&mut self) -> std::io::Result<()>;
    /// Writes what was appended and returns the file for the caller to
    /// sync (None if nothing was written); durable only after that sync.
    fn flush_for_sync(&mut self) -> std::io::Result<Option<Arc<std::fs::File>>>;
    /// Rewrites the file as a snapshot of `db`.
    fn compact(&mut self, db: &Database) -> std::io::Result<()>;
    /// Rewrites the file for `db`, whose schema changed; returns the id the
    /// transaction chain restarts from.
    fn convert(&mut self, db: &Database) -> std::io::Result<Uuid>;
    /// True when the log has grown enough that compaction pays.
    fn wants_compaction(&self) -> bool;
    /// The file's path, for messages.
    fn describe(&self) -> String;
}

/// When a commit must be on stable storage before it is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// As Open vSwitch: every commit is written to its file before it is
    /// acknowledged (a crash of the server loses nothing acknowledged);
    /// commits whose client asked for `"durable": true` are also synced
    /// first. The daemon syncs the rest in the background within a moment.
    Requested,
    /// Every commit is synced before it is acknowledged (group commit).
    Always,
}

/// What [`Server::flush`] wrote.
pub struct Flushed {
    /// Handles on the files written to.
    pub files: Vec<Arc<std::fs::File>>,
    /// They must be synced before this batch's actions are carried out.
    pub needs_sync: bool,
}

/// How many past commits a database keeps for `monitor_cond_since`.
const HISTORY_MAX_COMMITS: usize = 10_000;
/// A bound on the row changes kept in history (beyond the row count).
const HISTORY_MIN_ROWS: usize = 20_000;
/// A bound on the memory history keeps alive: old versions of rows that
/// hold large sets (a switch's ports, a port group's members) are big.
const HISTORY_MAX_BYTES: usize = 256 << 20;

struct Monitor {
    db: String,
    id: Json,
    spec: Arc<MonitorSpec>,
    /// The start of this monitor's update notifications, up to the
    /// transaction id or the updates: composed once, sent with each.
    prefix: Bytes,
}

impl Monitor {
    fn new(db: String, id: Json, spec: Arc<MonitorSpec>) -> Monitor {
        let prefix = Bytes::from(format!("{{\"id\":null,\"method\":\"{}\",\"params\":[{id},", spec.version.notification()));
        Monitor { db, id, spec, prefix }
    }
}

#[derive(Default)]
struct Session {
    /// By the monitor id's JSON text.
    monitors: HashMap<String, Monitor>,
    /// Locks this session owns or waits for.
    locks: HashSet<String>,
    db_change_aware: bool,
    /// Came in through a read-only remote.
    read_only: bool,
}

/// A transaction waiting for its `wait` operations to be satisfied.
struct Trigger {
    session: SessionId,
    id: Json,
    db: String,
    params: txn::Params,
    arrived_ms: u64,
    deadline_ms: Option<u64>,
}

/// Transactions a database already had when it was opened.
#[derive(Default)]
pub struct History {
    /// The id just before the first of `commits`.
    pub start: Uuid,
    /// The id of the last transaction.
    pub last: Uuid,
    pub commits: VecDeque<(Uuid, Commit)>,
}

struct DbEntry {
    db: Database,
    /// `get_schema`'s answer, serialised once.
    schema_bytes: Bytes,
    storage: Option<Box<dyn Storage>>,
    /// Committed transactions, oldest first, with their ids.
    history: VecDeque<Past>,
    /// The id just before `history`'s first: a client that saw it missed
    /// exactly `history`.
    history_start: Uuid,
    history_rows: usize,
    /// Approximate bytes of the rows `history` holds.
    history_bytes: usize,
    /// The id of the last commit (zero before any).
    last_txn_id: Uuid,
    /// Who monitors what, grouped by identical request.
    fanout: Fanout,
}

/// A committed transaction kept for `monitor_cond_since`, with what it
/// counts against history's bounds (measured once).
struct Past {
    id: Uuid,
    commit: Arc<Commit>,
    rows: usize,
    bytes: usize,
}

impl Past {
    fn new(id: Uuid, commit: Arc<Commit>) -> Past {
        Past { rows: commit.n_changes(), bytes: commit.approx_bytes(), id, commit }
    }
}

impl DbEntry {
    fn new(db: Database, storage: Option<Box<dyn Storage>>, history: History) -> DbEntry {
        let schema_bytes = Bytes::from(serde_json::to_vec(&db.schema.to_json()).unwrap_or_default());
        let (start, last) = (history.start, history.last);
        let history: VecDeque<Past> = history.commits.into_iter().map(|(id, c)| Past::new(id, Arc::new(c))).collect();
        let history_rows = history.iter().map(|p| p.rows).sum();
        let history_bytes = history.iter().map(|p| p.bytes).sum();
        let mut entry = DbEntry {
            db,
            schema_bytes,
            storage,
            history,
            history_start: start,
            history_rows,
            history_bytes,
            last_txn_id: last,
            fanout: Fanout::default(),
        };
        entry.trim_history();
        entry
    }

    /// Keeps history within its bounds, oldest first out.
    fn trim_history(&mut self) {
        let row_budget = self.db.n_rows().max(HISTORY_MIN_ROWS);
        while self.history.len() > HISTORY_MAX_COMMITS
            || (self.history.len() > 1 && (self.history_rows > row_budget || self.history_bytes > HISTORY_MAX_BYTES))
        {
            if let Some(old) = self.history.pop_front() {
                self.history_rows -= old.rows;
                self.history_bytes -= old.bytes;
                self.history_start = old.id;
            }
        }
    }
}

/// Counters for `memory/show` and tests.
#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub transactions: u64,
    pub commits: u64,
    pub updates_composed: u64,
    pub updates_sent: u64,
}

pub struct Server {
    pub server_id: Uuid,
    dbs: BTreeMap<String, DbEntry>,
    server_schema: Arc<DatabaseSchema>,
    sessions: HashMap<SessionId, Session>,
    /// Lock name → sessions, owner first.
    locks: HashMap<String, VecDeque<SessionId>>,
    triggers: Vec<Trigger>,
    outbox: Vec<Action>,
    read_only: bool,
    pub stats: Stats,
    /// Storages with appended but unwritten commits.
    dirty: HashSet<String>,
    /// A record written during a commit failed: the next flush reports it
    /// (and the daemon stops) before anything of that batch goes out.
    write_error: Option<std::io::Error>,
    /// A commit since the last flush must be synced before it is
    /// acknowledged (it asked for `"durable": true`, or the policy says so).
    sync_needed: bool,
    fsync_policy: FsyncPolicy,
    /// Large commits (by database) written and composed but not yet
    /// applied: [`Server::settle`] applies them once what they send is out.
    unapplied: Vec<(String, Arc<Commit>)>,
    /// A large commit's updates for its large groups, still being
    /// composed on the pool, and what must go out after them.
    composing: Option<Composing>,
}

/// The part of a large commit's publishing [`Server::commit`] leaves to
/// [`Server::settle`]: the updates of groups that see many of its rows
/// (northd's echo of its own first compile), composed on the pool while
/// everyone else hears of the commit. Sessions in those groups get
/// nothing before them, so each session's messages keep their order.
struct Composing {
    db: String,
    txn_id: Uuid,
    updates: std::sync::mpsc::Receiver<Vec<(Arc<MonitorSpec>, Bytes)>>,
    /// Sessions that are members of a group being composed.
    waiting: HashSet<SessionId>,
    /// What those sessions were to get meanwhile, in order.
    held: Vec<Action>,
}

const SERVER_DB: &str = "_Server";

impl Server {
    pub fn new(server_schema: Arc<DatabaseSchema>) -> Server {
        let mut s = Server {
            server_id: Uuid::random(),
            dbs: BTreeMap::new(),
            server_schema: Arc::clone(&server_schema),
            sessions: HashMap::new(),
            locks: HashMap::new(),
            triggers: Vec::new(),
            outbox: Vec::new(),
            read_only: false,
            stats: Stats::default(),
            dirty: HashSet::new(),
            write_error: None,
            sync_needed: false,
            fsync_policy: FsyncPolicy::Requested,
            unapplied: Vec::new(),
            composing: None,
        };
        s.dbs.insert(SERVER_DB.into(), DbEntry::new(Database::new(server_schema), None, History::default()));
        s
    }

    pub fn set_read_only(&mut self, read_only: bool) {
        self.read_only = read_only;
    }

    pub fn set_fsync_policy(&mut self, policy: FsyncPolicy) {
        self.fsync_policy = policy;
    }

    /// Serves a database, with the transactions it already had (for
    /// `monitor_cond_since`). Fails if one of that name is already served.
    pub fn add_db(&mut self, db: Database, storage: Option<Box<dyn Storage>>, history: History) -> Result<(), String> {
        self.settle();
        let name = db.schema.name.clone();
        if self.dbs.contains_key(&name) {
            return Err(format!("{name}: database already served"));
        }
        self.dbs.insert(name, DbEntry::new(db, storage, history));
        self.refresh_server_db();
        Ok(())
    }

    /// Stops serving a database; see [`Server::after_schema_change`] for
    /// what its clients see.
    pub fn remove_db(&mut self, name: &str) -> Result<(), String> {
        self.settle();
        if name == SERVER_DB || !self.dbs.contains_key(name) {
            return Err(format!("{name}: no database by that name"));
        }
        if let Some(mut entry) = self.dbs.remove(name)
            && let Some(st) = entry.storage.as_mut()
        {
            let _ = st.sync();
        }
        self.after_schema_change(name);
        Ok(())
    }

    pub fn db_names(&self) -> Vec<String> {
        self.dbs.keys().cloned().collect()
    }

    /// The database as of the last [`Server::settle`].
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.dbs.get(name).map(|e| &e.db)
    }

    pub fn storage_description(&self, name: &str) -> Option<String> {
        self.dbs.get(name)?.storage.as_ref().map(|s| s.describe())
    }

    pub fn n_sessions(&self) -> usize {
        self.sessions.len()
    }

    pub fn n_monitors(&self) -> usize {
        self.sessions.values().map(|s| s.monitors.len()).sum()
    }

    pub fn connect(&mut self, session: SessionId, read_only: bool) {
        self.sessions.insert(session, Session { read_only, ..Session::default() });
    }

    fn session_read_only(&self, session: SessionId) -> bool {
        self.read_only || self.sessions.get(&session).is_some_and(|s| s.read_only)
    }

    /// The connection is gone: drop its monitors, locks and triggers.
    pub fn disconnect(&mut self, session: SessionId) {
        let Some(s) = self.sessions.remove(&session) else { return };
        for (key, m) in s.monitors {
            if let Some(entry) = self.dbs.get_mut(&m.db) {
                remove_from_group(entry, &m.spec, session, &key);
            }
        }
        for lock in s.locks {
            self.release_lock(&lock, session);
        }
        self.triggers.retain(|t| t.session != session);
    }

    /// Applies the large commits whose apply [`Server::commit`] put off,
    /// then gives blocked transactions their chance. The daemon calls it
    /// once a batch's actions are out; every entry point that reads the
    /// databases calls it first, so none ever sees a commit half done.
    pub fn settle(&mut self) {
        self.publish_composed();
        for (db_name, commit) in std::mem::take(&mut self.unapplied) {
            if let Some(entry) = self.dbs.get_mut(&db_name) {
                entry.db.apply(&commit);
            }
            self.retry_triggers(&db_name);
        }
    }

    /// One step of [`Server::settle`] for the daemon's loop: a large
    /// commit's remaining updates are queued (and should be sent) before
    /// it is applied, on the next call.
    pub fn settle_step(&mut self) {
        if self.composing.is_some() {
            self.publish_composed();
        } else {
            self.settle();
        }
    }

    /// Waits for the updates [`Server::commit`] left composing, then
    /// queues them and what was held behind them.
    fn publish_composed(&mut self) {
        let Some(c) = self.composing.take() else { return };
        // A panic while composing has already ended the process (rayon's
        // spawned jobs abort on one); a closed channel only means nothing.
        let updates = c.updates.recv().unwrap_or_default();
        self.publish(&c.db, updates, c.txn_id);
        self.outbox.extend(c.held);
    }

    /// Whether there is work for [`Server::settle_step`]: actions queued
    /// (settling may queue some), or a large commit still to publish or
    /// apply.
    pub fn has_actions(&self) -> bool {
        !self.outbox.is_empty() || self.composing.is_some() || !self.unapplied.is_empty()
    }

    /// Takes the actions queued so far. They may be carried out only after
    /// [`Server::flush`] for the same batch (and the sync it may call for).
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.outbox)
    }

    /// Writes every commit queued since the last call to its file. On
    /// failure the server cannot promise durability: the daemon should stop.
    pub fn flush(&mut self) -> std::io::Result<Flushed> {
        if let Some(e) = self.write_error.take() {
            return Err(e);
        }
        let mut files = Vec::new();
        for name in std::mem::take(&mut self.dirty) {
            if let Some(st) = self.dbs.get_mut(&name).and_then(|e| e.storage.as_mut())
                && let Some(f) = st.flush_for_sync()?
            {
                files.push(f);
            }
        }
        let needs_sync = std::mem::take(&mut self.sync_needed) && !files.is_empty();
        Ok(Flushed { files, needs_sync })
    }

    /// Makes every commit durable now (at shutdown).
    pub fn sync(&mut self) -> std::io::Result<()> {
        for f in self.flush()?.files {
            f.sync_data()?;
        }
        Ok(())
    }

    /// Compacts one database, or every one that wants it (`ovsdb-server/compact`).
    pub fn compact(&mut self, name: Option<&str>, only_if_wanted: bool) -> Result<Vec<String>, String> {
        self.settle();
        let mut done = Vec::new();
        for (db_name, entry) in self.dbs.iter_mut() {
            if name.is_some_and(|n| n != db_name) {
                continue;
            }
            let Some(st) = entry.storage.as_mut() else { continue };
            if only_if_wanted && !st.wants_compaction() {
                continue;
            }
            st.compact(&entry.db).map_err(|e| format!("{db_name}: compaction failed ({e})"))?;
            done.push(db_name.clone());
        }
        if let Some(n) = name
            && done.is_empty()
            && !only_if_wanted
            && !self.dbs.contains_key(n)
        {
            return Err(format!("{n}: no database by that name"));
        }
        Ok(done)
    }

    /// Times out blocked transactions whose deadline passed. Returns the
    /// earliest remaining deadline.
    pub fn tick(&mut self, now_ms: u64) -> Option<u64> {
        let due: Vec<usize> = (0..self.triggers.len())
            .filter(|&i| self.triggers[i].deadline_ms.is_some_and(|d| d <= now_ms))
            .collect();
        if !due.is_empty() {
            self.settle();
        }
        for i in due.into_iter().rev() {
            let t = self.triggers.remove(i);
            self.run_transaction(t.session, t.id, &t.db, t.params, t.arrived_ms, now_ms);
        }
        self.triggers.iter().filter_map(|t| t.deadline_ms).min()
    }

    /// A message from a session.
    pub fn handle(&mut self, session: SessionId, msg: ovsdb::rpc::Message, now_ms: u64) {
        use ovsdb::rpc::Message;
        self.settle();
        match msg {
            Message::Request { method, params, id } => self.request(session, &method, params, id, now_ms),
            Message::Notification { method, params } => {
                // A cancelled transaction gets an answer only if the client
                // declared it understands them (set_db_change_aware), as
                // in Open vSwitch.
                if method == "cancel"
                    && let [id] = params.as_slice()
                    && let Some(pos) = self.triggers.iter().position(|t| t.session == session && t.id == *id)
                {
                    let t = self.triggers.remove(pos);
                    if self.sessions.get(&session).is_some_and(|s| s.db_change_aware) {
                        self.send_error(session, &t.id, json!("canceled"));
                    }
                }
            }
            // Replies to our echo probes, or stray replies: nothing to do.
            Message::Reply { .. } | Message::Error { .. } => {}
        }
    }

    fn request(&mut self, session: SessionId, method: &str, params: Vec<Json>, id: Json, now_ms: u64) {
        match method {
            "transact" => {
                if self.triggers.iter().any(|t| t.session == session && t.id == id) {
                    let e = syntax_error(&Json::Array(params), "transact: duplicate request ID");
                    return self.send_error(session, &id, e);
                }
                if let Some(db) = self.lookup_db(session, method, &params, &id) {
                    self.run_transaction(session, id, &db, txn::Params::Tree(Json::Array(params)), now_ms, now_ms);
                }
            }
            "monitor" | "monitor_cond" | "monitor_cond_since" => {
                if let Some(db) = self.lookup_db(session, method, &params, &id) {
                    let version = match method {
                        "monitor" => Version::V1,
                        "monitor_cond" => Version::V2,
                        _ => Version::V3,
                    };
                    match self.create_monitor(session, &db, &params, version) {
                        Ok(result) => self.send_reply_bytes(session, &id, Bytes::from(result)),
                        Err(e) => self.send_error(session, &id, e),
                    }
                }
            }
            "convert" => {
                if let Some(db) = self.lookup_db(session, method, &params, &id) {
                    match self.convert(&db, &params) {
                        Ok(()) => {
                            self.send_reply(session, &id, &json!({}));
                            self.after_schema_change(&db);
                        }
                        Err(e) => self.send_error(session, &id, e.to_json()),
                    }
                }
            }
            "monitor_cond_change" => match self.monitor_cond_change(session, &params) {
                Ok(()) => self.send_reply(session, &id, &json!({})),
                Err(e) => self.send_error(session, &id, e),
            },
            "monitor_cancel" => {
                let result = match params.as_slice() {
                    [monitor_id] => {
                        let key = monitor_id.to_string();
                        if self.sessions.get(&session).is_some_and(|s| s.monitors.contains_key(&key)) {
                            self.remove_monitor(session, &key);
                            Ok(json!({}))
                        } else {
                            Err(json!("unknown monitor"))
                        }
                    }
                    _ => Err(json!("invalid parameters")),
                };
                match result {
                    Ok(r) => self.send_reply(session, &id, &r),
                    Err(e) => self.send_error(session, &id, e),
                }
            }
            "get_schema" => {
                if let Some(db) = self.lookup_db(session, method, &params, &id) {
                    let schema = self.dbs[&db].schema_bytes.clone();
                    self.send_reply_bytes(session, &id, schema);
                }
            }
            "list_dbs" => {
                let names: Vec<Json> = self.dbs.keys().map(|n| Json::String(n.clone())).collect();
                self.send_reply(session, &id, &Json::Array(names));
            }
            "get_server_id" => {
                let sid = Json::String(self.server_id.to_string());
                self.send_reply(session, &id, &sid)
            }
            "lock" | "steal" => self.lock(session, method, &params, id),
            "unlock" => self.unlock(session, &params, id),
            "set_db_change_aware" => match params.as_slice() {
                [Json::Bool(b)] => {
                    if let Some(s) = self.sessions.get_mut(&session) {
                        s.db_change_aware = *b;
                    }
                    self.send_reply(session, &id, &json!({}));
                }
                _ => {
                    let e = syntax_error(&Json::Array(params.clone()), "set_db_change_aware: true or false parameter expected");
                    self.send_error(session, &id, e);
                }
            },
            "echo" => self.send_reply(session, &id, &Json::Array(params)),
            _ => self.send_error(session, &id, json!("unknown method")),
        }
    }

    /// Finds the database a request names in its first parameter, or
    /// replies with the error.
    fn lookup_db(&mut self, session: SessionId, method: &str, params: &[Json], id: &Json) -> Option<String> {
        if let Some(Json::String(name)) = params.first()
            && self.dbs.contains_key(name)
        {
            return Some(name.clone());
        }
        let all = Json::Array(params.to_vec());
        let err = match params.first() {
            Some(Json::String(name)) => Error::syntax_in(
                ErrorKind::UnknownDatabase,
                &all,
                format!("{method} request specifies unknown database {name}"),
            ),
            _ => Error::syntax_in(ErrorKind::SyntaxError, &all, format!("{method} request params must begin with <db-name>")),
        };
        self.send_error(session, id, err.to_json());
        None
    }

    // ----- transactions -----

    /// A `transact` request whose params are still text, with what the
    /// session found in them (see [`txn::execute_text`]). Anything unusual
    /// goes the way of any request.
    pub fn transact_text(&mut self, session: SessionId, id: Json, params: Box<str>, found: Option<txn::Found>, now_ms: u64) {
        self.settle();
        let db = txn::params_db_name(&params);
        let duplicate = self.triggers.iter().any(|t| t.session == session && t.id == id);
        match db {
            Some(db) if self.dbs.contains_key(&db) && !duplicate => {
                self.run_transaction(session, id, &db, txn::Params::Text(params, found), now_ms, now_ms);
            }
            _ => {
                let params = match serde_json::from_str(&params) {
                    Ok(Json::Array(a)) => a,
                    _ => Vec::new(),
                };
                self.request(session, "transact", params, id, now_ms);
            }
        }
    }

    fn run_transaction(&mut self, session: SessionId, id: Json, db_name: &str, params: txn::Params, arrived_ms: u64, now_ms: u64) {
        self.stats.transactions += 1;
        let Some(entry) = self.dbs.get(db_name) else { return };
        let owns = |lock: &str| self.locks.get(lock).and_then(|q| q.front()) == Some(&session);
        let read_only = self.session_read_only(session);
        let ctx = ExecContext { elapsed_ms: now_ms.saturating_sub(arrived_ms), read_only, owns_lock: &owns };
        match params.execute(&entry.db, &ctx) {
            Outcome::Blocked { timeout_ms } => {
                let deadline_ms = timeout_ms.map(|t| arrived_ms.saturating_add(t));
                self.triggers.push(Trigger { session, id, db: db_name.to_string(), params, arrived_ms, deadline_ms });
            }
            Outcome::Done { mut results, commit } => {
                let mut reply = None;
                if let Some(commit) = commit {
                    match self.commit(db_name, commit, Some((&results, &id))) {
                        Ok(written) => reply = written,
                        Err(e) => {
                            if let Json::Array(a) = &mut results {
                                a.push(e.to_json());
                            }
                        }
                    }
                }
                match reply {
                    Some(bytes) => self.send_after_updates(session, Action::Send(session, vec![Bytes::from(bytes)])),
                    None => self.send_reply(session, &id, &results),
                }
                if matches!(&results, Json::Array(a) if a.len() >= PARALLEL_MIN_CHANGES) {
                    // A first compile's: tens of thousands of small
                    // trees, and megabytes of text, freed off this thread.
                    rayon::spawn(move || drop((results, params)));
                }
            }
        }
    }

    /// Makes `commit` part of the database: storage, memory, history,
    /// monitors, then blocked transactions get another chance. A large
    /// commit also writes the reply to its transaction (`result` with the
    /// request's id) on the side, and returns it.
    fn commit(&mut self, db_name: &str, commit: Commit, reply: Option<(&Json, &Json)>) -> Result<Option<Vec<u8>>, Error> {
        let Some(entry) = self.dbs.get_mut(db_name) else { return Ok(None) };
        let io_error = |e: std::io::Error| Error::new(ErrorKind::IoError, e.to_string());
        let mut routed = if commit.is_empty() || entry.fanout.is_empty() { Vec::new() } else { entry.fanout.route(&commit) };
        let stored_id;
        let composed;
        let mut reply_bytes = None;
        // Groups that see many rows: composed after the record is written.
        let mut later = Vec::new();
        // Applied once its updates and replies are out (settle).
        let large = commit.n_changes() >= PARALLEL_MIN_CHANGES;
        if large {
            // A large commit (a first compile's) is written first, with
            // every thread encoding it; the updates of the groups that see
            // few of its rows and the reply are written meanwhile, and go
            // out as soon as the record is in the file. The groups that
            // see many rows (northd's echo of its own rows) are composed
            // on the pool afterwards, while the others are being told, and
            // go out from settle. The commit is applied to the database
            // only once its updates and replies are out, which no one
            // waits for. Once the file is known to take the record,
            // nothing can refuse the commit; a failed write stops the
            // server before anyone hears of it, as a failed flush does.
            if let Some(st) = &entry.storage {
                st.writable().map_err(io_error)?;
            }
            let schema = Arc::clone(&entry.db.schema);
            let storage = &mut entry.storage;
            (routed, later) = routed.into_iter().partition(|(_, c)| c.n_changes() < PARALLEL_MIN_CHANGES);
            // The record is encoded from this thread (the pool encodes its
            // rows while this thread takes their SHA-1 in order), and the
            // other groups' updates and the reply are written on the pool.
            let (mut c, mut r) = (Vec::new(), None);
            let mut stored = None;
            rayon::in_place_scope(|scope| {
                scope.spawn(|_| {
                    c = Fanout::compose(&schema, routed);
                    r = reply.map(|(results, id)| ovsdb::rpc::reply_bytes(results, id));
                });
                stored = storage.as_mut().map(|st| {
                    let id = st.append(&commit)?;
                    st.write()?;
                    Ok::<_, std::io::Error>(id)
                });
            });
            composed = c;
            reply_bytes = r;
            stored_id = match stored {
                Some(Ok(id)) => id,
                Some(Err(e)) => {
                    self.write_error.get_or_insert(e);
                    None
                }
                None => None,
            };
        } else {
            stored_id = match entry.storage.as_mut() {
                Some(st) => st.append(&commit).map_err(io_error)?,
                None => None,
            };
            composed = Fanout::compose(&entry.db.schema, routed);
            if !commit.is_empty() {
                entry.db.apply(&commit);
            }
        }
        if entry.storage.is_some() {
            if !self.dirty.contains(db_name) {
                self.dirty.insert(db_name.to_string());
            }
            self.sync_needed |= commit.durable || self.fsync_policy == FsyncPolicy::Always;
        }
        if commit.is_empty() {
            return Ok(reply_bytes);
        }
        self.stats.commits += 1;
        let commit = Arc::new(commit);
        // Ids of stored transactions come from the file, so they still mean
        // the same after a restart; in-memory changes get a random one.
        let txn_id = stored_id.unwrap_or_else(Uuid::random);
        entry.last_txn_id = txn_id;
        let past = Past::new(txn_id, Arc::clone(&commit));
        entry.history_rows += past.rows;
        entry.history_bytes += past.bytes;
        entry.history.push_back(past);
        entry.trim_history();
        if !later.is_empty() {
            self.compose_later(db_name, later, txn_id);
        }
        self.publish(db_name, composed, txn_id);
        if large {
            self.unapplied.push((db_name.to_string(), commit));
        } else {
            self.retry_triggers(db_name);
        }
        Ok(reply_bytes)
    }

    /// Queues the update notifications of a commit's composed updates (one
    /// per distinct monitor) to each monitor of the group.
    fn publish(&mut self, db_name: &str, composed: Vec<(Arc<MonitorSpec>, Bytes)>, txn_id: Uuid) {
        if composed.is_empty() {
            return;
        }
        let Some(entry) = self.dbs.get(db_name) else { return };
        self.stats.updates_composed += composed.len() as u64;
        let txn = txn_part(txn_id);
        let mut out = Vec::new();
        for (spec, shared) in composed {
            for (session, key) in entry.fanout.members(&spec) {
                let Some(m) = self.sessions.get(session).and_then(|s| s.monitors.get(key)) else { continue };
                out.push(Action::Send(*session, notification(m, &txn, shared.clone())));
            }
        }
        self.stats.updates_sent += out.len() as u64;
        for action in out {
            let Action::Send(session, _) = &action else { continue };
            self.send_after_updates(*session, action);
        }
    }

    /// Starts composing a large commit's updates for `groups` on the pool;
    /// [`Server::settle`] publishes them.
    fn compose_later(&mut self, db_name: &str, groups: Vec<(Arc<MonitorSpec>, Commit)>, txn_id: Uuid) {
        self.publish_composed();
        let Some(entry) = self.dbs.get(db_name) else { return };
        let waiting = groups.iter().flat_map(|(spec, _)| entry.fanout.members(spec).iter().map(|(session, _)| *session)).collect();
        let schema = Arc::clone(&entry.db.schema);
        let (tx, updates) = std::sync::mpsc::sync_channel(1);
        rayon::spawn(move || {
            let _ = tx.send(Fanout::compose(&schema, groups));
        });
        self.composing = Some(Composing { db: db_name.to_string(), txn_id, updates, waiting, held: Vec::new() });
    }

    /// Queues `action` for `session`, behind the updates still being
    /// composed for it, if any.
    fn send_after_updates(&mut self, session: SessionId, action: Action) {
        match &mut self.composing {
            Some(c) if c.waiting.contains(&session) => c.held.push(action),
            _ => self.outbox.push(action),
        }
    }

    fn retry_triggers(&mut self, db_name: &str) {
        let waiting: Vec<Trigger> = {
            let (mine, others): (Vec<Trigger>, Vec<Trigger>) =
                std::mem::take(&mut self.triggers).into_iter().partition(|t| t.db == db_name);
            self.triggers = others;
            mine
        };
        for t in waiting {
            // Time is judged from arrival; "now" is only used for timeouts,
            // which tick() handles, so pass arrival to keep elapsed at 0.
            self.run_transaction(t.session, t.id, &t.db, t.params, t.arrived_ms, t.arrived_ms);
        }
    }

    // ----- schema conversion -----

    /// The `convert` method: the database moves to a new schema, on disk
    /// first. Transactions before it are another schema's history.
    fn convert(&mut self, db_name: &str, params: &[Json]) -> Result<(), Error> {
        let all = Json::Array(params.to_vec());
        let [_, schema_json] = params else {
            return Err(Error::syntax_in(ErrorKind::SyntaxError, &all, "array expected"));
        };
        if db_name == SERVER_DB || self.read_only {
            return Err(Error::new(ErrorKind::NotAllowed, format!("database {db_name} cannot be converted")));
        }
        let schema = ovsdb::schema::DatabaseSchema::from_json(schema_json)?;
        let entry = self.dbs.get_mut(db_name).ok_or_else(|| Error::new(ErrorKind::UnknownDatabase, db_name))?;
        if schema.name != entry.db.schema.name {
            return Err(Error::new(
                ErrorKind::InvalidParameters,
                format!("new schema name ({}) does not match database name ({})", schema.name, entry.db.schema.name),
            ));
        }
        let new_db = ovsdb::convert::convert(&entry.db, schema).map_err(|e| e.to_error())?;
        let epoch = match entry.storage.as_mut() {
            Some(st) => st.convert(&new_db).map_err(|e| Error::new(ErrorKind::IoError, e.to_string()))?,
            None => Uuid::random(),
        };
        entry.schema_bytes = Bytes::from(serde_json::to_vec(&new_db.schema.to_json()).unwrap_or_default());
        entry.db = new_db;
        entry.history.clear();
        entry.history_rows = 0;
        entry.history_bytes = 0;
        entry.history_start = epoch;
        entry.last_txn_id = epoch;
        Ok(())
    }

    /// After a database changed schema (or went away): monitors and pending
    /// transactions on it end ("monitor_canceled", "canceled") for clients
    /// that said they understand that; the others are disconnected so that
    /// they reconnect and see the new schema.
    fn after_schema_change(&mut self, name: &str) {
        let affected: Vec<(SessionId, String, Json)> = self
            .sessions
            .iter()
            .flat_map(|(sid, s)| s.monitors.iter().filter(|(_, m)| m.db == name).map(|(k, m)| (*sid, k.clone(), m.id.clone())))
            .collect();
        for (sid, key, id) in affected {
            self.remove_monitor(sid, &key);
            if self.sessions.get(&sid).is_some_and(|s| s.db_change_aware) {
                self.notify(sid, "monitor_canceled", vec![id]);
            }
        }
        let (cancelled, kept): (Vec<Trigger>, Vec<Trigger>) =
            std::mem::take(&mut self.triggers).into_iter().partition(|t| t.db == name);
        self.triggers = kept;
        for t in cancelled {
            if self.sessions.get(&t.session).is_some_and(|s| s.db_change_aware) {
                self.send_error(t.session, &t.id, json!("canceled"));
            }
        }
        self.refresh_server_db();
        let unaware: Vec<SessionId> =
            self.sessions.iter().filter(|(_, s)| !s.db_change_aware).map(|(id, _)| *id).collect();
        self.outbox.extend(unaware.into_iter().map(Action::Close));
    }

    // ----- monitors -----

    /// Creates a monitor; the result is the reply's JSON text.
    fn create_monitor(&mut self, session: SessionId, db_name: &str, params: &[Json], version: Version) -> Result<Vec<u8>, Json> {
        let all = Json::Array(params.to_vec());
        let expected = if version == Version::V3 { 4 } else { 3 };
        if params.len() != expected && !(version == Version::V1 && params.len() >= 3) {
            return Err(syntax_error(&all, "invalid parameters"));
        }
        let monitor_id = params[1].clone();
        let key = monitor_id.to_string();
        if self.sessions.get(&session).is_some_and(|s| s.monitors.contains_key(&key)) {
            return Err(syntax_error(&monitor_id, "duplicate monitor ID"));
        }
        let entry = &self.dbs[db_name];
        let spec = MonitorSpec::parse(&entry.db.schema, &params[2], version).map_err(|e| e.to_json())?;
        let since = if version == Version::V3 {
            let last = match &params[3] {
                Json::String(s) => Uuid::parse(s).ok_or_else(|| syntax_error(&params[3], "last-txn-id must be UUID format."))?,
                other => return Err(syntax_error(other, "last-txn-id must be string")),
            };
            if last.is_zero() { None } else { self.changes_since(db_name, last, &spec) }
        } else {
            None
        };
        let entry = &self.dbs[db_name];
        let found = since.is_some();
        let updates = since.unwrap_or_else(|| spec.initial_bytes(&entry.db));
        let result = if version == Version::V3 {
            let mut r = format!("[{found},\"{}\",", entry.last_txn_id).into_bytes();
            r.extend_from_slice(&updates);
            r.push(b']');
            r
        } else {
            updates
        };
        let Some(entry) = self.dbs.get_mut(db_name) else { return Ok(result) };
        let spec = entry.fanout.join(spec, (session, key.clone()));
        if let Some(s) = self.sessions.get_mut(&session) {
            s.monitors.insert(key, Monitor::new(db_name.to_string(), monitor_id, spec));
        }
        Ok(result)
    }

    /// What changed after commit `last` for this spec (JSON text), if
    /// history reaches back that far.
    fn changes_since(&self, db_name: &str, last: Uuid, spec: &MonitorSpec) -> Option<Vec<u8>> {
        let entry = &self.dbs[db_name];
        if last == entry.last_txn_id {
            return Some(b"{}".to_vec());
        }
        let first = if last == entry.history_start {
            0
        } else {
            entry.history.iter().position(|p| p.id == last)? + 1
        };
        let merged = merge_commits(entry.history.iter().skip(first).map(|p| &*p.commit));
        Some(spec.update_bytes(&entry.db.schema, &merged).unwrap_or_else(|| b"{}".to_vec()))
    }

    fn monitor_cond_change(&mut self, session: SessionId, params: &[Json]) -> Result<(), Json> {
        let all = Json::Array(params.to_vec());
        let [old_id, new_id, requests] = params else {
            return Err(syntax_error(&all, "invalid parameters"));
        };
        let old_key = old_id.to_string();
        let new_key = new_id.to_string();
        let s = self.sessions.get(&session).ok_or_else(|| json!("no session"))?;
        let Some(m) = s.monitors.get(&old_key) else {
            return Err(syntax_error(old_id, "unknown monitor session"));
        };
        if new_key != old_key && s.monitors.contains_key(&new_key) {
            return Err(syntax_error(new_id, "duplicate monitor ID"));
        }
        if m.spec.version == Version::V1 {
            return Err(syntax_error(&all, "monitor does not support conditions"));
        }
        let db_name = m.db.clone();
        let mut spec = (*m.spec).clone();
        let old_spec = spec.change_conditions(&self.dbs[&db_name].db.schema, requests).map_err(|e| e.to_json())?;
        let update = spec.condition_change_bytes(&old_spec, &self.dbs[&db_name].db);
        let last_txn = self.dbs[&db_name].last_txn_id;

        self.remove_monitor(session, &old_key);
        if let Some(entry) = self.dbs.get_mut(&db_name) {
            let spec = entry.fanout.join(spec, (session, new_key.clone()));
            if let Some(s) = self.sessions.get_mut(&session) {
                s.monitors.insert(new_key.clone(), Monitor::new(db_name, new_id.clone(), spec));
            }
        }
        if let Some(update) = update {
            let shared = Bytes::from(update);
            if let Some(m) = self.sessions.get(&session).and_then(|s| s.monitors.get(&new_key)) {
                let chunks = notification(m, &txn_part(last_txn), shared);
                self.outbox.push(Action::Send(session, chunks));
            }
        }
        Ok(())
    }

    fn remove_monitor(&mut self, session: SessionId, key: &str) {
        let Some(m) = self.sessions.get_mut(&session).and_then(|s| s.monitors.remove(key)) else { return };
        if let Some(entry) = self.dbs.get_mut(&m.db) {
            remove_from_group(entry, &m.spec, session, key);
        }
    }

    // ----- locks -----

    fn lock(&mut self, session: SessionId, method: &str, params: &[Json], id: Json) {
        if self.session_read_only(session) {
            return self.send_error(session, &id, json!("lock and unlock methods not allowed, DB server is read only."));
        }
        let Some(name) = lock_name(params) else {
            let e = syntax_error(&Json::Array(params.to_vec()), &format!("{method} request params must be <id>"));
            return self.send_error(session, &id, e);
        };
        if self.sessions.get(&session).is_some_and(|s| s.locks.contains(&name)) {
            let e = syntax_error(&Json::Array(params.to_vec()), &format!("must issue \"unlock\" before new \"{method}\""));
            return self.send_error(session, &id, e);
        }
        if let Some(s) = self.sessions.get_mut(&session) {
            s.locks.insert(name.clone());
        }
        let queue = self.locks.entry(name.clone()).or_default();
        let mut victim = None;
        if method == "steal" {
            victim = queue.front().copied();
            queue.push_front(session);
        } else {
            queue.push_back(session);
        }
        let owner = queue.front() == Some(&session);
        if let Some(v) = victim {
            self.notify(v, "stolen", vec![Json::String(name)]);
        }
        self.send_reply(session, &id, &json!({ "locked": owner }));
    }

    fn unlock(&mut self, session: SessionId, params: &[Json], id: Json) {
        if self.session_read_only(session) {
            return self.send_error(session, &id, json!("lock and unlock methods not allowed, DB server is read only."));
        }
        let Some(name) = lock_name(params) else {
            let e = syntax_error(&Json::Array(params.to_vec()), "unlock request params must be <id>");
            return self.send_error(session, &id, e);
        };
        if !self.sessions.get_mut(&session).is_some_and(|s| s.locks.remove(&name)) {
            let e = syntax_error(&Json::Array(params.to_vec()), "unlock: \"unlock\" without \"lock\" or \"steal\"");
            return self.send_error(session, &id, e);
        }
        self.release_lock(&name, session);
        self.send_reply(session, &id, &json!({}));
    }

    /// Removes `session` from the lock's queue. Whoever owns the lock
    /// afterwards is told "locked" — even if it already owned it, since
    /// Open vSwitch clients expect that notification on every departure.
    fn release_lock(&mut self, name: &str, session: SessionId) {
        let Some(queue) = self.locks.get_mut(name) else { return };
        queue.retain(|&s| s != session);
        let owner = queue.front().copied();
        if queue.is_empty() {
            self.locks.remove(name);
        }
        if let Some(owner) = owner {
            self.notify(owner, "locked", vec![Json::String(name.to_string())]);
        }
    }

    // ----- _Server -----

    /// Brings the `_Server` database's Database table in line with what is
    /// served, through the ordinary commit path (so monitors see it).
    fn refresh_server_db(&mut self) {
        let schema = Arc::clone(&self.server_schema);
        let Some(table_id) = schema.table_id("Database") else { return };
        let ts = &schema.tables[table_id];
        let col = |name: &str| ts.column_id(name);
        let mut wanted: BTreeMap<String, Row> = BTreeMap::new();
        for (name, entry) in &self.dbs {
            let mut row = Row::new_default(ts, Uuid::ZERO);
            let mut set = |c: &str, d: Datum| {
                if let Some(id) = col(c) {
                    row.set(id, d);
                }
            };
            set("name", Datum::scalar(Atom::string(name)));
            set("model", Datum::scalar(Atom::string("standalone")));
            set("connected", Datum::scalar(Atom::Boolean(true)));
            set("leader", Datum::scalar(Atom::Boolean(true)));
            let schema_text = serde_json::to_string(&entry.db.schema.to_json()).unwrap_or_default();
            set("schema", Datum::scalar(Atom::string(&schema_text)));
            wanted.insert(name.clone(), row);
        }
        let current = &self.dbs[SERVER_DB].db.tables[table_id];
        let name_col = col("name").unwrap_or(2);
        let mut changes = Vec::new();
        let mut seen = HashSet::new();
        for (uuid, row) in &current.rows {
            let name = row.field(name_col).as_scalar().and_then(|a| a.as_str()).unwrap_or("").to_string();
            match wanted.get(&name) {
                Some(w) if w.fields == row.fields => {
                    seen.insert(name);
                }
                Some(w) => {
                    let new = Row { uuid: *uuid, version: Uuid::random(), fields: w.fields.clone() };
                    changes.push(RowChange { uuid: *uuid, old: Some(Arc::clone(row)), new: Some(Arc::new(new)) });
                    seen.insert(name);
                }
                None => changes.push(RowChange { uuid: *uuid, old: Some(Arc::clone(row)), new: None }),
            }
        }
        for (name, mut row) in wanted {
            if !seen.contains(&name) {
                row.uuid = Uuid::random();
                row.version = Uuid::random();
                changes.push(RowChange { uuid: row.uuid, old: None, new: Some(Arc::new(row)) });
            }
        }
        if !changes.is_empty() {
            let commit = Commit { tables: vec![(table_id, changes)], comment: None, durable: false };
            let _ = self.commit(SERVER_DB, commit, None);
        }
    }

    // ----- output -----

    fn send_reply(&mut self, session: SessionId, id: &Json, result: &Json) {
        self.outbox.push(Action::Send(session, vec![Bytes::from(ovsdb::rpc::reply_bytes(result, id))]));
    }

    /// A reply whose result is already JSON text.
    fn send_reply_bytes(&mut self, session: SessionId, id: &Json, result: Bytes) {
        let prefix = format!("{{\"id\":{id},\"result\":");
        self.outbox.push(Action::Send(session, vec![Bytes::from(prefix), result, Bytes::from_static(b",\"error\":null}")]));
    }

    fn send_error(&mut self, session: SessionId, id: &Json, error: Json) {
        let msg = ovsdb::rpc::Message::Error { error, id: id.clone() };
        self.outbox.push(Action::Send(session, vec![Bytes::from(msg.to_bytes())]));
    }

    fn notify(&mut self, session: SessionId, method: &str, params: Vec<Json>) {
        let msg = ovsdb::rpc::Message::Notification { method: method.into(), params };
        self.outbox.push(Action::Send(session, vec![Bytes::from(msg.to_bytes())]));
    }
}

fn remove_from_group(entry: &mut DbEntry, spec: &Arc<MonitorSpec>, session: SessionId, key: &str) {
    entry.fanout.leave(spec, &(session, key.to_string()));
}

/// An update notification around shared `<table-updates>` bytes.
/// An update notification: the monitor's prefix, for update3 the
/// transaction id (`"UUID",`, shared by every monitor), the shared
/// `<table-updates>` bytes, and the closing brackets.
fn notification(m: &Monitor, txn_part: &Bytes, shared: Bytes) -> Vec<Bytes> {
    let mut chunks = Vec::with_capacity(4);
    chunks.push(m.prefix.clone());
    if m.spec.version == Version::V3 {
        chunks.push(txn_part.clone());
    }
    chunks.push(shared);
    chunks.push(Bytes::from_static(b"]}"));
    chunks
}

fn txn_part(txn_id: Uuid) -> Bytes {
    let mut part = Vec::with_capacity(39);
    part.push(b'"');
    part.extend_from_slice(&txn_id.to_ascii());
    part.extend_from_slice(b"\",");
    Bytes::from(part)
}

fn lock_name(params: &[Json]) -> Option<String> {
    match params {
        [Json::String(s)] if ovsdb::atom::is_id(s) => Some(s.clone()),
        _ => None,
    }
}

fn syntax_error(json: &Json, details: &str) -> Json {
    Error::syntax_in(ErrorKind::SyntaxError, json, details).to_json()
}
