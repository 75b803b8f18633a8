//! rovsdb-server: serves OVSDB databases over JSON-RPC, compatible with
//! Open vSwitch 3.1's ovsdb-server.
//!
//! # Layout
//!
//! - [`server`]: the state machine — databases, sessions, monitors, locks,
//!   blocked transactions. No I/O: events in, [`server::Action`]s out.
//! - [`fanout`]: monitors grouped by identical request, conditional ones
//!   indexed by the values their equality clauses name, and the parallel
//!   composition of each group's update.
//! - [`session`]: one connection's tasks; JSON framing and parsing happen
//!   there, on the runtime's worker threads.
//! - [`remote`]: `punix:`/`ptcp:`/`unix:`/`tcp:`/`db:` remotes.
//! - [`storage`]: the database files, through `ovsdb-storage`.
//! - this module: the daemon — the server loop on its own thread, the
//!   listeners, and the control socket commands.
//!
//! # Threads
//!
//! Connection tasks run on a tokio runtime with as many workers as cores.
//! The databases live on one thread (the server loop), which takes
//! events in batches: it executes every transaction of the batch, writes
//! their commits, makes them durable with one sync, and only then releases
//! replies and updates. Updates are serialised once per distinct monitor.

pub mod fanout;
pub mod remote;
pub mod server;
pub mod session;
pub mod storage;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use daemon::unixctl::Command;
use ovsdb::schema::DatabaseSchema;
use serde_json::Value as Json;
use tokio::runtime::Handle;
use tokio::task::AbortHandle;

use remote::{Remote, RemoteOptions};
use server::{Action, Server, SessionId};
use session::{Inbound, SessionHandle};

/// Everything that reaches the server loop.
pub enum Event {
    /// A new connection, and whether its remote is read-only.
    Accepted(SessionId, SessionHandle, bool),
    Inbound(Inbound),
    Control(Command),
    /// A terminating signal (its number) or end of input.
    Shutdown(Option<i32>),
}

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// The `_Server` schema (Open vSwitch 3.1's built-in database).
pub fn server_schema() -> Arc<DatabaseSchema> {
    let json: Json = serde_json::from_str(include_str!("../../../schemas/_server.ovsschema"))
        .unwrap_or_else(|e| unreachable!("built-in _Server schema is valid JSON: {e}"));
    DatabaseSchema::from_json(&json).unwrap_or_else(|e| unreachable!("built-in _Server schema is valid: {e}"))
}

/// Listening sockets and outgoing connections, by remote.
pub struct Remotes {
    runtime: Handle,
    events: Sender<Event>,
    /// Remotes given on the command line or by `add-remote`.
    configured: Vec<Remote>,
    /// Live tasks, by the remote text they serve, with their options.
    tasks: BTreeMap<String, (RemoteOptions, AbortHandle)>,
}

impl Remotes {
    pub fn new(runtime: Handle, events: Sender<Event>) -> Remotes {
        Remotes { runtime, events, configured: Vec::new(), tasks: BTreeMap::new() }
    }

    /// Adds a configured remote and starts serving it (listeners bind now,
    /// so a bad path or port is reported to the caller).
    pub fn add(&mut self, remote: Remote) -> std::io::Result<()> {
        if !self.configured.contains(&remote) {
            self.start(&remote, RemoteOptions::defaults_for(&remote))?;
            self.configured.push(remote);
        }
        Ok(())
    }

    pub fn remove(&mut self, remote: &Remote) -> bool {
        let before = self.configured.len();
        self.configured.retain(|r| r != remote);
        if let Some((_, t)) = self.tasks.remove(&remote.to_string()) {
            t.abort();
        }
        before != self.configured.len()
    }

    pub fn list(&self) -> Vec<String> {
        let mut v: Vec<String> = self.configured.iter().map(|r| r.to_string()).collect();
        v.sort();
        v
    }

    fn start(&mut self, remote: &Remote, options: RemoteOptions) -> std::io::Result<()> {
        let key = remote.to_string();
        if self.tasks.get(&key).is_some_and(|(o, _)| *o == options) {
            return Ok(());
        }
        if let Some((_, old)) = self.tasks.remove(&key) {
            old.abort();
        }
        let events = self.events.clone();
        let task = match remote {
            Remote::PUnix(path) => {
                let _guard = self.runtime.enter();
                let _ = std::fs::remove_file(path);
                let listener = tokio::net::UnixListener::bind(path)?;
                tracing::info!(target: "ovsdb_server", "{key}: listening");
                self.runtime.spawn(async move {
                    while let Ok((stream, _)) = listener.accept().await {
                        let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
                        session::spawn(stream, id, options, events.clone());
                    }
                })
            }
            Remote::PTcp(addr) => {
                let std_listener = std::net::TcpListener::bind(addr)?;
                std_listener.set_nonblocking(true)?;
                let local = std_listener.local_addr()?;
                tracing::info!(target: "ovsdb_server", "{key}: listening on port {}", local.port());
                let _guard = self.runtime.enter();
                let listener = tokio::net::TcpListener::from_std(std_listener)?;
                self.runtime.spawn(async move {
                    while let Ok((stream, _)) = listener.accept().await {
                        let _ = stream.set_nodelay(true);
                        let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
                        session::spawn(stream, id, options, events.clone());
                    }
                })
            }
            Remote::Unix(path) => {
                let path = path.clone();
                self.runtime.spawn(async move {
                    reconnect_loop(&key_of(&path), || tokio::net::UnixStream::connect(path.clone()), options, events).await
                })
            }
            Remote::Tcp(addr) => {
                let addr = addr.clone();
                let label = format!("tcp:{addr}");
                self.runtime.spawn(async move {
                    reconnect_loop(&label, || tokio::net::TcpStream::connect(addr.clone()), options, events).await
                })
            }
            // Columns are read by the server loop; see `sync_db_remotes`.
            Remote::Db { .. } => return Ok(()),
        };
        self.tasks.insert(key, (options, task.abort_handle()));
        Ok(())
    }

    /// Makes the remotes listed in `db:` columns match what is served.
    fn sync_db_remotes(&mut self, server: &Server) {
        let mut wanted: BTreeMap<String, RemoteOptions> = BTreeMap::new();
        for r in &self.configured {
            if let Remote::Db { db, table, column } = r {
                wanted.extend(remotes_in_column(server, db, table, column));
            }
        }
        let static_keys: HashSet<String> = self.configured.iter().map(|r| r.to_string()).collect();
        let stale: Vec<String> =
            self.tasks.keys().filter(|k| !static_keys.contains(*k) && !wanted.contains_key(*k)).cloned().collect();
        for k in stale {
            if let Some((_, t)) = self.tasks.remove(&k) {
                t.abort();
            }
        }
        for (target, options) in wanted {
            match Remote::parse(&target) {
                Ok(Remote::Db { .. }) => {}
                Ok(r) => {
                    if let Err(e) = self.start(&r, options) {
                        tracing::warn!(target: "ovsdb_server", "{target}: {e}");
                    }
                }
                Err(e) => tracing::warn!(target: "ovsdb_server", "{e}"),
            }
        }
    }
}

fn key_of(path: &std::path::Path) -> String {
    format!("unix:{}", path.display())
}

/// Connects out, serves the connection, and reconnects with backoff.
async fn reconnect_loop<S, F, Fut>(label: &str, connect: F, options: RemoteOptions, events: Sender<Event>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + std::os::fd::AsRawFd + Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<S>>,
{
    let mut backoff = Duration::from_secs(1);
    loop {
        match connect().await {
            Ok(stream) => {
                tracing::info!(target: "reconnect", "{label}: connected");
                backoff = Duration::from_secs(1);
                let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
                let _ = session::spawn(stream, id, options, events.clone()).await;
                tracing::info!(target: "reconnect", "{label}: connection closed");
            }
            Err(e) => tracing::debug!(target: "reconnect", "{label}: connection attempt failed ({e})"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(8));
    }
}

/// The remotes a `db:DB,TABLE,COLUMN` remote names: the column may hold
/// strings, or references to rows (Open vSwitch's Manager, OVN's
/// Connection) whose `target` names the remote and whose
/// `inactivity_probe` (ms, 0 for none) and `read_only` set its options.
fn remotes_in_column(server: &Server, db: &str, table: &str, column: &str) -> Vec<(String, RemoteOptions)> {
    let Some(database) = server.database(db) else { return Vec::new() };
    let Some((_, ts, t)) = database.table_by_name(table) else { return Vec::new() };
    let Some(col_id) = ts.column_id(column) else { return Vec::new() };
    let col = &ts.columns[col_id];
    let mut out = Vec::new();
    for row in t.rows.values() {
        for atom in row.get(col_id).keys() {
            match (atom, col.key_ref) {
                (ovsdb::Atom::String(s), _) => {
                    if let Ok(r) = Remote::parse(s) {
                        out.push((s.to_string(), RemoteOptions::defaults_for(&r)));
                    }
                }
                (ovsdb::Atom::Uuid(u), Some((target_table, _))) => {
                    let tts = &database.schema.tables[target_table];
                    let Some(r) = database.tables[target_table].rows.get(u) else { continue };
                    let text = |name: &str| tts.column_id(name).map(|c| r.get(c).into_owned());
                    let Some(target) = text("target").and_then(|d| d.as_scalar().and_then(|a| a.as_str()).map(String::from))
                    else {
                        continue;
                    };
                    let Ok(remote) = Remote::parse(&target) else { continue };
                    let mut options = RemoteOptions::defaults_for(&remote);
                    if let Some(ms) = text("inactivity_probe").and_then(|d| d.as_scalar().and_then(|a| a.as_integer())) {
                        options.probe = (ms > 0).then(|| Duration::from_millis(ms as u64));
                    }
                    if let Some(ro) = text("read_only").and_then(|d| d.as_scalar().cloned()) {
                        options.read_only = ro == ovsdb::Atom::Boolean(true);
                    }
                    out.push((target, options));
                }
                _ => {}
            }
        }
    }
    out
}

/// What the server loop needs besides the server.
pub struct LoopContext {
    pub remotes: Remotes,
    pub logger: Option<Arc<daemon::log::Logger>>,
    pub version: String,
}

/// One batch's output, released once its files are synced (if it must be).
struct SyncJob {
    files: Vec<Arc<std::fs::File>>,
    needs_sync: bool,
    sends: Vec<(SessionHandle, Option<Vec<bytes::Bytes>>)>,
}

/// Groups a batch's actions by session, keeping each session's order: one
/// message (all its chunks) per session, then a close if asked. A commit
/// seen by 500 monitors wakes each writer once per batch, not once per
/// update.
fn per_session(actions: Vec<Action>, sessions: &HashMap<SessionId, SessionHandle>) -> Vec<(SessionHandle, Option<Vec<bytes::Bytes>>)> {
    let mut order: Vec<SessionId> = Vec::new();
    let mut grouped: HashMap<SessionId, (Vec<bytes::Bytes>, bool), BuildHasherDefault<ovsdb::db::UuidHasher>> =
        HashMap::default();
    for action in actions {
        let (id, chunks) = match action {
            Action::Send(id, chunks) => (id, Some(chunks)),
            Action::Close(id) => (id, None),
        };
        if !sessions.contains_key(&id) {
            continue;
        }
        let entry = grouped.entry(id).or_insert_with(|| {
            order.push(id);
            (Vec::new(), false)
        });
        match chunks {
            // Nothing goes out after a close.
            Some(c) if !entry.1 => entry.0.extend(c),
            Some(_) => {}
            None => entry.1 = true,
        }
    }
    let mut out = Vec::with_capacity(order.len());
    for id in order {
        let (Some(handle), Some((chunks, close))) = (sessions.get(&id), grouped.remove(&id)) else { continue };
        if !chunks.is_empty() {
            out.push((handle.clone(), Some(chunks)));
        }
        if close {
            out.push((handle.clone(), None));
        }
    }
    out
}

/// Carries out one batch's sends.
fn dispatch(sends: Vec<(SessionHandle, Option<Vec<bytes::Bytes>>)>) {
    for (handle, msg) in sends {
        match msg {
            Some(chunks) => {
                if !handle.send(chunks) {
                    tracing::warn!(target: "jsonrpc", "excessive backlog, disconnecting a session");
                }
            }
            None => handle.close(),
        }
    }
}

/// Like [`dispatch`], returning a channel per close that hears once the
/// connection is shut.
fn dispatch_acked(sends: Vec<(SessionHandle, Option<Vec<bytes::Bytes>>)>) -> Vec<std::sync::mpsc::Receiver<()>> {
    let mut acks = Vec::new();
    for (handle, msg) in sends {
        match msg {
            Some(chunks) => {
                if !handle.send(chunks) {
                    tracing::warn!(target: "jsonrpc", "excessive backlog, disconnecting a session");
                }
            }
            None => acks.push(handle.close_acked()),
        }
    }
    acks
}

/// The syncer thread: group commit for batches that must be synced before
/// they are acknowledged, and for the batches queued behind them (which
/// may not overtake them). It takes every job queued since it last looked,
/// syncs each file once if any job needs it (a sync covers every write
/// before it), then carries out the jobs' sends in order. Meanwhile the
/// server loop goes on executing.
fn syncer(jobs: Receiver<SyncJob>, pending: Arc<AtomicU64>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        group.extend(jobs.try_iter());
        if group.iter().any(|j| j.needs_sync) {
            sync_files(group.iter().flat_map(|j| &j.files));
        }
        let n = group.len() as u64;
        for job in group {
            dispatch(job.sends);
        }
        pending.fetch_sub(n, Ordering::Release);
    }
}

/// Syncs each underlying file once, with its newest handle (the handles
/// are shared handles on the same few database files).
fn sync_files<'a>(files: impl Iterator<Item = &'a Arc<std::fs::File>>) {
    use std::os::unix::fs::MetadataExt;
    let mut latest: HashMap<(u64, u64), &std::fs::File> = HashMap::new();
    let mut seen: Vec<&Arc<std::fs::File>> = Vec::new();
    for f in files {
        if seen.iter().any(|s| Arc::ptr_eq(s, f)) {
            continue;
        }
        seen.push(f);
        match f.metadata() {
            Ok(m) => {
                latest.insert((m.dev(), m.ino()), f);
            }
            Err(e) => fatal_sync_error(e),
        }
    }
    for f in latest.values() {
        if let Err(e) = f.sync_data() {
            fatal_sync_error(e);
        }
    }
}

/// Durability can no longer be promised: stop rather than acknowledge
/// transactions that may be lost.
fn fatal_sync_error(e: std::io::Error) -> ! {
    tracing::error!(target: "ovsdb_server", "syncing a database file failed ({e}); exiting");
    std::process::exit(1);
}

/// Written but not yet synced data is synced in the background at most this
/// long after it was written (power-loss exposure under the default policy).
const BACKGROUND_SYNC: Duration = Duration::from_millis(100);

/// Runs the server loop until `exit` or [`Event::Shutdown`]. Returns an
/// error if durability can no longer be guaranteed.
pub fn run_loop(mut server: Server, events: Receiver<Event>, mut ctx: LoopContext) -> std::io::Result<()> {
    let start = Instant::now();
    let now_ms = || start.elapsed().as_millis() as u64;
    let mut sessions: HashMap<SessionId, SessionHandle> = HashMap::new();
    let mut commits_seen = server.stats.commits;
    ctx.remotes.sync_db_remotes(&server);
    // Jobs queued to the syncer and not yet carried out: while there are
    // any, later batches must queue behind them to keep replies in order.
    let pending = Arc::new(AtomicU64::new(0));
    let (jobs, job_rx) = std::sync::mpsc::channel::<SyncJob>();
    let syncer_pending = Arc::clone(&pending);
    let syncer = std::thread::Builder::new().name("rovsdb-sync".into()).spawn(move || syncer(job_rx, syncer_pending))?;
    // Background syncs of data written without a sync.
    let (background, background_rx) = std::sync::mpsc::channel::<Vec<Arc<std::fs::File>>>();
    let background_thread = std::thread::Builder::new()
        .name("rovsdb-bgsync".into())
        .spawn(move || {
            while let Ok(first) = background_rx.recv() {
                let mut files = first;
                files.extend(background_rx.try_iter().flatten());
                sync_files(files.iter());
            }
        })?;
    // One handle per file written since the last background sync.
    let mut unsynced: Vec<Arc<std::fs::File>> = Vec::new();
    let mut unsynced_since: Option<Instant> = None;
    let mut exiting = false;
    while !exiting {
        let mut deadline = server.tick(now_ms());
        if let Some(since) = unsynced_since {
            let bg = (since + BACKGROUND_SYNC).duration_since(start).as_millis() as u64;
            deadline = Some(deadline.map_or(bg, |d| d.min(bg)));
        }
        // What settling queued (replies to blocked transactions) goes out
        // without waiting for another event.
        if server.has_actions() {
            deadline = Some(now_ms());
        }
        let first = match deadline {
            Some(d) => match events.recv_timeout(Duration::from_millis(d.saturating_sub(now_ms()))) {
                Ok(ev) => Some(ev),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match events.recv() {
                Ok(ev) => Some(ev),
                Err(_) => break,
            },
        };
        let mut batch: Vec<Event> = first.into_iter().collect();
        let mut control_replies = Vec::new();
        while batch.len() < 4096 {
            match events.try_recv() {
                Ok(ev) => batch.push(ev),
                Err(_) => break,
            }
        }
        for ev in batch {
            match ev {
                Event::Accepted(id, handle, read_only) => {
                    sessions.insert(id, handle);
                    server.connect(id, read_only);
                }
                Event::Inbound(Inbound::Message(id, msg, _in_flight)) => server.handle(id, msg, now_ms()),
                Event::Inbound(Inbound::Transact(id, request, params, found, _in_flight)) => {
                    server.transact_text(id, request, params, Some(found), now_ms())
                }
                Event::Inbound(Inbound::Closed(id)) => {
                    sessions.remove(&id);
                    server.disconnect(id);
                }
                Event::Control(cmd) => {
                    let answer = if cmd.name == "exit" {
                        exiting = true;
                        Ok(String::new())
                    } else {
                        control(&mut server, &mut ctx, &cmd.name, &cmd.args, &sessions)
                    };
                    // Answered once what the command caused has happened.
                    control_replies.push((cmd.reply, answer));
                }
                Event::Shutdown(signal) => {
                    if let Some(sig) = signal {
                        tracing::info!(target: "fatal_signal", "terminating with signal {sig}");
                    }
                    exiting = true;
                }
            }
        }
        server.tick(now_ms());
        // Everything this batch committed is in its file before anyone
        // hears of it.
        let flushed = server.flush()?;
        let sends = per_session(server.take_actions(), &sessions);
        if flushed.needs_sync || pending.load(Ordering::Acquire) > 0 {
            pending.fetch_add(1, Ordering::AcqRel);
            let files = flushed.files;
            if flushed.needs_sync {
                unsynced.clear();
                unsynced_since = None;
            }
            let _ = jobs.send(SyncJob { files, needs_sync: flushed.needs_sync, sends });
        } else {
            // A control command (remove-db, say) may have closed sessions:
            // its caller hears back once they are closed, as with
            // ovsdb-server, whose closes are immediate.
            if control_replies.is_empty() {
                dispatch(sends);
            } else {
                for closed in dispatch_acked(sends) {
                    let _ = closed.recv_timeout(Duration::from_secs(2));
                }
            }
            if !flushed.files.is_empty() {
                unsynced_since.get_or_insert_with(Instant::now);
                for f in flushed.files {
                    if !unsynced.iter().any(|u| Arc::ptr_eq(u, &f)) {
                        unsynced.push(f);
                    }
                }
            }
        }
        // A large commit's updates for its large groups are queued now
        // that the others are on their way (and go out next round); it is
        // applied once those are on their way too.
        server.settle_step();
        for (reply, answer) in control_replies {
            let _ = reply.send(answer);
        }
        if unsynced_since.is_some_and(|t| t.elapsed() >= BACKGROUND_SYNC) {
            let _ = background.send(std::mem::take(&mut unsynced));
            unsynced_since = None;
        }
        if server.stats.commits != commits_seen {
            commits_seen = server.stats.commits;
            ctx.remotes.sync_db_remotes(&server);
            if let Err(e) = server.compact(None, true) {
                tracing::warn!(target: "ovsdb_server", "{e}");
            }
        }
    }
    // Let every acknowledgement already promised go out, then stop.
    drop(jobs);
    let _ = syncer.join();
    drop(background);
    let _ = background_thread.join();
    server.sync()
}

/// The `ovs-appctl` commands of ovsdb-server, answered on the server loop.
fn control(
    server: &mut Server,
    ctx: &mut LoopContext,
    name: &str,
    args: &[String],
    sessions: &HashMap<SessionId, SessionHandle>,
) -> Result<String, String> {
    match name {
        "version" => Ok(format!("{}\n", ctx.version)),
        "ovsdb-server/list-dbs" => Ok(server.db_names().into_iter().map(|n| n + "\n").collect()),
        "ovsdb-server/compact" => {
            let names: Vec<Option<&str>> = if args.is_empty() { vec![None] } else { args.iter().map(|a| Some(a.as_str())).collect() };
            for n in names {
                server.compact(n, false)?;
            }
            Ok(String::new())
        }
        "ovsdb-server/add-remote" => {
            let r = Remote::parse(&args[0]).map_err(|e| e.to_string())?;
            ctx.remotes.add(r).map_err(|e| format!("{}: {e}", args[0]))?;
            ctx.remotes.sync_db_remotes(server);
            Ok(String::new())
        }
        "ovsdb-server/remove-remote" => {
            let r = Remote::parse(&args[0]).map_err(|e| e.to_string())?;
            if ctx.remotes.remove(&r) {
                ctx.remotes.sync_db_remotes(server);
                Ok(String::new())
            } else {
                Err(format!("{}: no such remote", args[0]))
            }
        }
        "ovsdb-server/list-remotes" => Ok(ctx.remotes.list().into_iter().map(|r| r + "\n").collect()),
        "ovsdb-server/add-db" => {
            let opened = storage::open(std::path::Path::new(&args[0]))?;
            server.add_db(opened.db, Some(opened.storage), opened.history)?;
            Ok(String::new())
        }
        "ovsdb-server/remove-db" => server.remove_db(&args[0]).map(|_| String::new()),
        "ovsdb-server/sync-status" => Ok("state: active\n".into()),
        "memory/show" => {
            let cells: usize = server
                .db_names()
                .iter()
                .filter_map(|n| server.database(n))
                .map(|db| db.tables.iter().zip(&db.schema.tables).map(|(t, ts)| t.len() * ts.columns.len()).sum::<usize>())
                .sum();
            Ok(format!("cells:{cells} monitors:{} sessions:{}\n", server.n_monitors(), sessions.len()))
        }
        "vlog/set" => {
            let logger = ctx.logger.as_ref().ok_or("logging not configured")?;
            if args.is_empty() {
                return Err("vlog/set requires an argument".into());
            }
            for a in args {
                logger.set(a)?;
            }
            Ok(String::new())
        }
        "vlog/list" => Ok(ctx.logger.as_ref().map(|l| l.list()).unwrap_or_default()),
        "vlog/reopen" => ctx.logger.as_ref().ok_or("logging not configured")?.reopen().map(|_| String::new()),
        _ => Err(format!("\"{name}\" is not a valid command")),
    }
}

/// Commands `ovs-appctl` may send us.
pub fn unixctl_commands() -> Vec<daemon::unixctl::CommandSpec> {
    use daemon::unixctl::command;
    let mut v = daemon::unixctl::COMMON_COMMANDS.to_vec();
    v.extend([
        command("ovsdb-server/compact", "[DB]...", 0, usize::MAX),
        command("ovsdb-server/list-dbs", "", 0, 0),
        command("ovsdb-server/add-remote", "REMOTE", 1, 1),
        command("ovsdb-server/remove-remote", "REMOTE", 1, 1),
        command("ovsdb-server/list-remotes", "", 0, 0),
        command("ovsdb-server/add-db", "DB", 1, 1),
        command("ovsdb-server/remove-db", "DB", 1, 1),
        command("ovsdb-server/sync-status", "", 0, 0),
    ]);
    v
}
