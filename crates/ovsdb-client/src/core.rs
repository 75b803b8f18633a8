//! The session: everything an OVSDB client does on the wire, as a
//! deterministic state machine. It is fed what happened (a connection came
//! up or went down, a message arrived, time passed, the user asked for
//! something) and emits [`Command`]s for a driver to carry out (connect,
//! send, disconnect, hand a transaction result over). It reads no clock
//! and touches no socket, so tests drive it message by message.
//!
//! On each connection it does what Open vSwitch's IDL does:
//!
//! 1. `get_schema` of `_Server`, then `monitor_cond` on its `Database`
//!    table, and checks that the database is there and usable (a cluster
//!    member must be connected, and the leader unless told otherwise);
//!    servers without `_Server` skip to asking for the schema directly;
//! 2. `set_db_change_aware`, so the server cancels our monitor (rather than
//!    dropping us) when the database is converted or removed;
//! 3. `monitor_cond_since` with the last transaction id seen: when the
//!    server still knows that transaction (`found`), only the missed
//!    updates come back and are applied to the replica; otherwise the
//!    replica is replaced. Servers that do not know the method get
//!    `monitor_cond`, then `monitor`;
//! 4. then follows `update`/`update2`/`update3` notifications, sends
//!    condition changes one at a time, answers "echo" and probes an idle
//!    connection, and carries transactions and lock requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use ovsdb::Uuid;
use ovsdb::monitor::Version;
use ovsdb::rpc::{Envelope, Message};
use ovsdb::schema::{ColumnId, DatabaseSchema, TableId};
use serde_json::value::RawValue;
use serde_json::{Value as Json, json};
use tracing::{debug, info, warn};

use crate::condition::{Condition, Conditions};
use crate::reconnect::{LinkAction, LinkState, Reconnect, Timeout, Timing};
use crate::remote::Remote;
use crate::replica::Replica;
use crate::txn::{self, Layout, Transaction, TxnError, TxnOutcome};
use crate::typed::Table;

/// What to replicate from one table.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorTable {
    pub table: String,
    /// `None` monitors every column the server has.
    pub columns: Option<Vec<String>>,
    /// The condition to start with.
    pub condition: Condition,
}

/// What a session connects to and what it replicates.
#[derive(Clone, Debug)]
pub struct Config {
    pub database: String,
    /// Tried in turn (the driver shuffles them first when
    /// `shuffle_remotes` is set, as Open vSwitch does).
    pub remotes: Vec<Remote>,
    pub shuffle_remotes: bool,
    pub tables: Vec<MonitorTable>,
    pub timing: Timing,
    /// Only use a clustered server that is the cluster's leader.
    pub leader_only: bool,
    /// Send `set_db_change_aware` (long-lived clients want it).
    pub db_change_aware: bool,
    /// The newest monitor method to try: V3 (`monitor_cond_since`).
    pub max_version: Version,
}

impl Config {
    pub fn new(database: impl Into<String>, remotes: Vec<Remote>) -> Config {
        Config {
            database: database.into(),
            remotes,
            shuffle_remotes: true,
            tables: Vec::new(),
            timing: Timing::default(),
            leader_only: true,
            db_change_aware: true,
            max_version: Version::V3,
        }
    }

    /// Replicates `columns` of `table` (every column when empty).
    pub fn monitor(mut self, table: &str, columns: &[&str]) -> Config {
        let columns = (!columns.is_empty()).then(|| columns.iter().map(|c| c.to_string()).collect());
        self.tables.push(MonitorTable { table: table.to_string(), columns, condition: Condition::True });
        self
    }

    /// Replicates every column of a typed table.
    pub fn monitor_typed<T: Table>(self) -> Config {
        self.monitor(T::TABLE, T::COLUMNS)
    }

    /// Starts `table` (already monitored) with `condition`.
    pub fn condition(mut self, table: &str, condition: Condition) -> Config {
        if let Some(t) = self.tables.iter_mut().find(|t| t.table == table) {
            t.condition = condition;
        }
        self
    }

    pub fn timing(mut self, timing: Timing) -> Config {
        self.timing = timing;
        self
    }
}

/// Where the session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Backoff,
    Connecting,
    ServerSchemaRequested,
    ServerMonitorRequested,
    DataSchemaRequested,
    DataMonitorRequested(Version),
    /// The replica is complete and follows the server.
    Monitoring,
}

/// The protocol steps of a connected session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    ServerSchema,
    ServerMonitor,
    DataSchema,
    DataMonitor(Version),
    Monitoring,
}

/// Identifies a transaction submitted with [`Core::transact`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxnId(pub u64);

/// What the driver must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Open a connection to this remote, then report with
    /// [`Core::handle_connected`] or [`Core::handle_connect_failed`].
    Connect(Remote),
    Send(Message),
    /// A message already written as JSON text (a transaction with
    /// operations given as text, [`Transaction::raw_text`]), in pieces to
    /// send one after the other: a first compile's operations are tens
    /// of thousands of texts, sent as they are rather than copied into one.
    SendText(Vec<Vec<u8>>),
    /// Close the connection (or abandon the attempt). The core already
    /// counts it as gone: do not report it back.
    Disconnect,
    /// A transaction is over.
    TxnDone { id: TxnId, result: Result<TxnOutcome, TxnError> },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockStatus {
    /// The lock the session wants, if any.
    pub name: Option<String>,
    pub held: bool,
    /// Another client holds it.
    pub contended: bool,
}

/// Counters for operators and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections: u64,
    /// Monitor replies that replaced the replica.
    pub full_syncs: u64,
    /// `monitor_cond_since` replies that resumed from the last transaction.
    pub resumed_syncs: u64,
    /// Bad updates that forced a resynchronisation.
    pub inconsistencies: u64,
    /// Updates and monitor replies read straight from their text into
    /// the replica, with no JSON tree built ([`Core::handle_frame`]).
    pub read_as_text: u64,
}

/// A summary of the session, cheap to compare.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub phase: Phase,
    pub remote: Option<Remote>,
    /// [`Replica::seqno`].
    pub seqno: u64,
    /// Answered condition changes (see [`Core::set_condition`]).
    pub cond_seqno: u64,
    pub lock: LockStatus,
    pub last_txn_id: Uuid,
    pub stats: Stats,
}

#[derive(Clone, Debug, Default)]
struct Lock {
    status: LockStatus,
    /// The pending "lock" or "steal" request.
    request: Option<u64>,
}

/// The columns of `_Server`'s `Database` table the session reads.
const SERVER_COLUMNS: &[&str] = &["name", "model", "connected", "leader", "schema", "cid", "index"];

pub struct Core {
    config: Config,
    link: Reconnect,
    /// Index into `config.remotes` of the next remote to try.
    next_remote: usize,
    remote: Option<Remote>,
    /// None while not connected.
    proto: Option<Proto>,
    next_id: u64,
    /// The one outstanding request that moves `proto` along (schema,
    /// monitor or condition change).
    protocol_request: Option<u64>,
    data: Replica,
    /// `_Server`'s `Database` table.
    server: Replica,
    server_monitored: bool,
    /// The version of the data monitor, once its reply arrived.
    monitor_version: Option<Version>,
    data_monitor_id: Json,
    server_monitor_id: Json,
    conditions: Conditions,
    last_id: Uuid,
    /// Highest cluster index seen, to refuse servers with older data.
    min_index: i64,
    lock: Lock,
    txns: BTreeMap<u64, Layout>,
    stats: Stats,
    commands: Vec<Command>,
}

impl Core {
    pub fn new(config: Config, now: Instant) -> Core {
        let mut conditions = Conditions::default();
        for t in &config.tables {
            if t.condition != Condition::True {
                conditions.set_initial(&t.table, t.condition.clone());
            }
        }
        Core {
            link: Reconnect::new(now, config.timing, config.remotes.len()),
            next_remote: 0,
            remote: None,
            proto: None,
            next_id: 1,
            protocol_request: None,
            data: Replica::new(config.database.clone()),
            server: Replica::new("_Server"),
            server_monitored: false,
            monitor_version: None,
            data_monitor_id: json!(["monid", config.database]),
            server_monitor_id: json!(["monid", "_Server"]),
            conditions,
            last_id: Uuid::ZERO,
            min_index: 0,
            lock: Lock::default(),
            txns: BTreeMap::new(),
            stats: Stats::default(),
            commands: Vec::new(),
            config,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn replica(&self) -> &Replica {
        &self.data
    }

    /// For taking changes; the session itself changes the contents only
    /// through updates.
    pub fn replica_mut(&mut self) -> &mut Replica {
        &mut self.data
    }

    pub fn phase(&self) -> Phase {
        match (self.link.state(), self.proto) {
            (LinkState::Backoff, _) => Phase::Backoff,
            (LinkState::Connecting, _) => Phase::Connecting,
            (_, None | Some(Proto::ServerSchema)) => Phase::ServerSchemaRequested,
            (_, Some(Proto::ServerMonitor)) => Phase::ServerMonitorRequested,
            (_, Some(Proto::DataSchema)) => Phase::DataSchemaRequested,
            (_, Some(Proto::DataMonitor(v))) => Phase::DataMonitorRequested(v),
            (_, Some(Proto::Monitoring)) => Phase::Monitoring,
        }
    }

    pub fn is_monitoring(&self) -> bool {
        self.proto == Some(Proto::Monitoring)
    }

    pub fn status(&self) -> Status {
        Status {
            phase: self.phase(),
            remote: self.remote.clone(),
            seqno: self.data.seqno(),
            cond_seqno: self.conditions.seqno(),
            lock: self.lock.status.clone(),
            last_txn_id: self.last_id,
            stats: self.stats,
        }
    }

    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }

    /// When [`Core::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.link.deadline()
    }

    pub fn set_timing(&mut self, timing: Timing) {
        self.config.timing = timing;
        self.link.set_timing(timing);
    }

    // ----- inputs from the driver -----

    pub fn handle_timeout(&mut self, now: Instant) {
        // Each action moves to a state whose deadline lies ahead, unless a
        // timing is zero; bound the loop for that case.
        for _ in 0..4 {
            let Some(action) = self.link.run(now) else { return };
            match action {
                LinkAction::Connect => {
                    let n = self.config.remotes.len();
                    if n == 0 {
                        // Nothing to connect to: wait as after a failure.
                        self.link.connecting(now);
                        self.link.failed(now);
                        continue;
                    }
                    let remote = self.config.remotes[self.next_remote % n].clone();
                    self.next_remote = (self.next_remote + 1) % n;
                    debug!("{remote}: connecting...");
                    self.remote = Some(remote.clone());
                    self.link.connecting(now);
                    self.commands.push(Command::Connect(remote));
                }
                LinkAction::Probe => {
                    debug!("{}: idle, sending inactivity probe", self.remote_name());
                    self.send(Message::Request { method: "echo".into(), params: vec![], id: json!("echo") });
                }
                LinkAction::Disconnect(why) => {
                    match why {
                        Timeout::Connect => warn!("{}: connection attempt timed out", self.remote_name()),
                        Timeout::Probe => warn!(
                            "{}: no response to inactivity probe after {:?}, disconnecting",
                            self.remote_name(),
                            self.config.timing.probe_interval.unwrap_or_default()
                        ),
                    }
                    self.commands.push(Command::Disconnect);
                    self.lost(now);
                }
            }
        }
    }

    pub fn handle_connected(&mut self, now: Instant) {
        if self.link.state() != LinkState::Connecting {
            return;
        }
        info!("{}: connected", self.remote_name());
        self.link.connected(now);
        self.stats.connections += 1;
        if let Some(name) = self.lock.status.name.clone() {
            self.lock.request = Some(self.request("lock", vec![json!(name)]));
        }
        self.restart_protocol();
    }

    pub fn handle_connect_failed(&mut self, now: Instant, error: &str) {
        if self.link.state() != LinkState::Connecting {
            return;
        }
        info!("{}: connection attempt failed ({error})", self.remote_name());
        self.link.failed(now);
    }

    /// The connection ended (end of stream, I/O error, undecodable input).
    pub fn handle_disconnected(&mut self, now: Instant, error: &str) {
        if !self.link.is_connected() {
            return;
        }
        info!("{}: connection dropped ({error})", self.remote_name());
        self.lost(now);
    }

    /// A message as it came off the wire. The data monitor's updates and
    /// its reply are read straight into the replica
    /// ([`Replica::apply_text`]); everything else, and anything that
    /// reader refuses, is parsed as a tree for [`Core::handle_message`].
    /// An error means the bytes are not a JSON-RPC message.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) -> Result<(), String> {
        if self.link.is_connected() && self.read_directly(now, frame) {
            return Ok(());
        }
        let json = ovsdb::rpc::parse_frame(frame).map_err(|e| format!("received bad JSON: {e}"))?;
        let msg = Message::from_json(json).map_err(|e| format!("received bad JSON-RPC message: {e}"))?;
        self.handle_message(now, msg);
        Ok(())
    }

    /// Reads an update of the data monitor or its reply from text.
    /// Returns false, having changed nothing, for any other message or
    /// one the direct reader refuses.
    fn read_directly(&mut self, now: Instant, frame: &[u8]) -> bool {
        // Params, if any, are read as their elements' texts at once.
        let Some(envelope) = Envelope::<Vec<&RawValue>>::parse(frame) else { return false };
        let read = match envelope {
            Envelope { method: Some(method), params: Some(params), result: None, error: None, id: None } => {
                self.update_directly(&method, &params)
            }
            Envelope { method: None, params: None, result: Some(result), error: None, id: Some(id) } => {
                self.monitor_reply_directly(id, result)
            }
            _ => false,
        };
        if read {
            self.link.activity(now);
            self.stats.read_as_text += 1;
        }
        read
    }

    fn update_directly(&mut self, method: &str, params: &[&RawValue]) -> bool {
        let (version, id, last, updates) = match (method, params) {
            ("update3", [id, last, updates]) => (Version::V3, id, Some(last), updates),
            ("update2", [id, updates]) => (Version::V2, id, None, updates),
            _ => return false,
        };
        if self.monitor_version.is_none()
            || serde_json::from_str::<Json>(id.get()).ok().as_ref() != Some(&self.data_monitor_id)
        {
            return false;
        }
        let last = match last.map(|l| serde_json::from_str::<&str>(l.get()).ok().and_then(Uuid::parse)) {
            Some(None) => return false,
            Some(Some(last)) => Some(last),
            None => None,
        };
        if self.data.apply_text(version, updates.get()).is_err() {
            return false;
        }
        if let Some(last) = last {
            self.last_id = last;
        }
        true
    }

    fn monitor_reply_directly(&mut self, id: &RawValue, result: &RawValue) -> bool {
        let Some(Proto::DataMonitor(version)) = self.proto else { return false };
        if version == Version::V1 || serde_json::from_str::<u64>(id.get()).ok() != self.protocol_request {
            return false;
        }
        let (found, last, updates) = if version == Version::V3 {
            match serde_json::from_str::<(bool, &str, &RawValue)>(result.get()) {
                Ok((found, last, updates)) => match Uuid::parse(last) {
                    Some(last) => (found, last, updates.get()),
                    None => return false,
                },
                Err(_) => return false,
            }
        } else {
            (false, Uuid::ZERO, result.get())
        };
        let applied =
            if found { self.data.apply_text(version, updates) } else { self.data.replace_text(version, updates) };
        if applied.is_err() {
            return false;
        }
        self.protocol_request = None;
        self.last_id = last;
        self.monitoring(version, found);
        true
    }

    pub fn handle_message(&mut self, now: Instant, msg: Message) {
        if !self.link.is_connected() {
            return;
        }
        self.link.activity(now);
        match msg {
            Message::Request { method, params, id } => {
                let reply = if method == "echo" {
                    Message::Reply { result: Json::Array(params), id }
                } else {
                    Message::Error { error: json!("unknown method"), id }
                };
                self.send(reply);
            }
            Message::Notification { method, params } => self.notification(now, &method, params),
            Message::Reply { result, id } => self.response(now, &id, Ok(result)),
            Message::Error { error, id } => self.response(now, &id, Err(error)),
        }
    }

    // ----- inputs from the user -----

    /// Changes the rows replicated from `table`. Returns the condition
    /// sequence number ([`Status::cond_seqno`]) at which the replica holds
    /// exactly the rows of this condition.
    pub fn set_condition(&mut self, table: &str, condition: Condition) -> u64 {
        let seqno = self.conditions.set(table, condition);
        self.send_condition_changes();
        seqno
    }

    /// The condition most recently set for `table`.
    pub fn condition(&self, table: &str) -> Condition {
        self.conditions.latest(table)
    }

    /// Asks for lock `name` (`None` releases the current one). Transactions
    /// are refused while a wanted lock is not held, and assert it when held.
    pub fn set_lock(&mut self, name: Option<&str>) {
        if self.lock.status.name.as_deref() == name {
            return;
        }
        self.release_lock();
        if let Some(name) = name {
            self.lock.status.name = Some(name.to_string());
            if self.link.is_connected() {
                self.lock.request = Some(self.request("lock", vec![json!(name)]));
            }
        }
    }

    /// Takes lock `name` from whoever holds it.
    pub fn steal_lock(&mut self, name: &str) {
        // A session may not ask twice for one lock ("duplicate lock"), so
        // what we asked for before goes first.
        self.release_lock();
        self.lock.status.name = Some(name.to_string());
        if self.link.is_connected() {
            self.lock.request = Some(self.request("steal", vec![json!(name)]));
        }
    }

    fn release_lock(&mut self) {
        if let Some(old) = self.lock.status.name.take() {
            if self.link.is_connected() {
                self.request("unlock", vec![json!(old)]);
            }
            self.lock = Lock::default();
        }
    }

    /// Sends a transaction; its result comes as [`Command::TxnDone`].
    pub fn transact(&mut self, txn: &Transaction) -> Result<TxnId, TxnError> {
        self.transact_owned(txn.clone())
    }

    /// Like [`Core::transact`], taking the transaction (no copy of its
    /// operations is made).
    pub fn transact_owned(&mut self, txn: Transaction) -> Result<TxnId, TxnError> {
        if !self.is_monitoring() {
            return Err(TxnError::NotConnected);
        }
        if txn.database() != self.config.database {
            return Err(TxnError::Build(format!(
                "transaction is for database {}, session for {}",
                txn.database(),
                self.config.database
            )));
        }
        let lock = self.lock.status.name.clone();
        if let Some(name) = &lock
            && !self.lock.status.held
        {
            return Err(TxnError::NotLocked(name.clone()));
        }
        let (params, layout) = txn.into_params(lock.as_deref());
        let id = if params.iter().all(|p| matches!(p, txn::Op::Tree(_))) {
            let params = params.into_iter().filter_map(|p| if let txn::Op::Tree(p) = p { Some(p) } else { None });
            self.request("transact", params.collect())
        } else {
            self.request_text("transact", params)
        };
        self.txns.insert(id, layout);
        Ok(TxnId(id))
    }

    /// Drops the connection and connects again (to the next remote), at
    /// once if the session was monitoring.
    pub fn force_reconnect(&mut self, now: Instant) {
        if self.link.is_connected() {
            self.retry(now);
        }
    }

    // ----- the protocol -----

    fn remote_name(&self) -> String {
        self.remote.as_ref().map(ToString::to_string).unwrap_or_default()
    }

    fn send(&mut self, msg: Message) {
        if self.link.is_connected() {
            self.commands.push(Command::Send(msg));
        }
    }

    fn request(&mut self, method: &str, params: Vec<Json>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(Message::Request { method: method.into(), params, id: json!(id) });
        id
    }

    /// Like [`Core::request`], writing the message as text: the members
    /// in the order [`Message::to_bytes`] writes them.
    fn request_text(&mut self, method: &str, params: Vec<txn::Op>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut head = format!("{{\"id\":{id},\"method\":").into_bytes();
        ovsdb::json::write_str(&mut head, method);
        head.extend_from_slice(b",\"params\":[");
        let mut pieces = Vec::with_capacity(params.len() + 1);
        pieces.push(head);
        for (i, p) in params.into_iter().enumerate() {
            if i > 0
                && let Some(last) = pieces.last_mut()
            {
                last.push(b',');
            }
            pieces.push(p.into_bytes());
        }
        if let Some(last) = pieces.last_mut() {
            last.extend_from_slice(b"]}");
        }
        if self.link.is_connected() {
            self.commands.push(Command::SendText(pieces));
        }
        id
    }

    fn protocol(&mut self, method: &str, params: Vec<Json>, next: Proto) {
        self.protocol_request = Some(self.request(method, params));
        self.proto = Some(next);
    }

    /// The connection is gone: forget its state.
    fn lost(&mut self, now: Instant) {
        if self.link.is_connected() || self.link.state() == LinkState::Connecting {
            self.link.failed(now);
        }
        self.proto = None;
        self.protocol_request = None;
        self.monitor_version = None;
        self.server_monitored = false;
        self.lock.request = None;
        self.lock.status.held = false;
        for (id, _) in std::mem::take(&mut self.txns) {
            self.commands.push(Command::TxnDone { id: TxnId(id), result: Err(TxnError::Disconnected) });
        }
    }

    /// Drops the connection to try again (another remote, or later).
    fn retry(&mut self, now: Instant) {
        if self.proto == Some(Proto::Monitoring) {
            // We were in business: reconnect without waiting.
            self.link.reset_backoff();
        }
        self.commands.push(Command::Disconnect);
        self.lost(now);
    }

    /// The replica no longer matches the server: start over from scratch.
    fn inconsistent(&mut self, now: Instant, why: &str) {
        warn!("{}: {why}; resynchronising", self.remote_name());
        self.stats.inconsistencies += 1;
        self.last_id = Uuid::ZERO;
        self.retry(now);
    }

    fn restart_protocol(&mut self) {
        let resuming = !self.last_id.is_zero();
        if self.conditions.restart(resuming) {
            // A condition change was in flight: we cannot know whether the
            // replica reflects it.
            self.last_id = Uuid::ZERO;
            self.conditions.restart(false);
        }
        self.monitor_version = None;
        self.server_monitored = false;
        self.protocol("get_schema", vec![json!("_Server")], Proto::ServerSchema);
    }

    fn request_data_schema(&mut self) {
        let db = self.config.database.clone();
        self.protocol("get_schema", vec![json!(db)], Proto::DataSchema);
    }

    fn response(&mut self, now: Instant, id: &Json, result: Result<Json, Json>) {
        let Some(n) = id.as_u64() else {
            // Our probes use the id "echo"; the answer is just activity.
            return;
        };
        if self.protocol_request == Some(n) {
            self.protocol_request = None;
            self.protocol_response(now, result);
        } else if self.lock.request == Some(n) {
            self.lock.request = None;
            let held = matches!(&result, Ok(r) if r.get("locked") == Some(&Json::Bool(true)));
            self.lock.status.held = held;
            self.lock.status.contended = !held;
        } else if let Some(layout) = self.txns.remove(&n) {
            let lock = self.lock.status.name.clone();
            let result = txn::read_reply(&layout, result.as_ref(), lock.as_deref(), self.data.seqno());
            if let Err(e) = &result {
                debug!("{}: transaction failed: {e}", self.remote_name());
            }
            self.commands.push(Command::TxnDone { id: TxnId(n), result });
        } else {
            // Answers to set_db_change_aware, unlock, monitor_cancel.
            if let Err(e) = result {
                debug!("{}: request {n} failed: {e}", self.remote_name());
            }
        }
    }

    fn protocol_response(&mut self, now: Instant, result: Result<Json, Json>) {
        let Some(proto) = self.proto else { return };
        match (proto, result) {
            (Proto::ServerSchema, Ok(schema)) => match self.server_monitor_request(&schema) {
                Some(requests) => {
                    let id = self.server_monitor_id.clone();
                    self.protocol("monitor_cond", vec![json!("_Server"), id, requests], Proto::ServerMonitor);
                }
                None => self.request_data_schema(),
            },
            // No _Server database: an old server.
            (Proto::ServerSchema | Proto::ServerMonitor, Err(_)) => self.request_data_schema(),
            (Proto::ServerMonitor, Ok(updates)) => {
                if let Err(e) = self.server.replace(Version::V2, &updates) {
                    warn!("{}: bad _Server monitor reply: {e}", self.remote_name());
                    return self.retry(now);
                }
                self.server_monitored = true;
                match self.check_server_db() {
                    Ok(schema) => {
                        if self.config.db_change_aware {
                            self.request("set_db_change_aware", vec![json!(true)]);
                        }
                        self.request_data_monitor(schema, self.config.max_version);
                    }
                    Err(why) => {
                        info!("{}: {why}; trying another server", self.remote_name());
                        self.retry(now);
                    }
                }
            }
            (Proto::DataSchema, Ok(schema_json)) => match DatabaseSchema::from_json(&schema_json) {
                // Without _Server there is no monitor_cond_since either.
                Ok(schema) => {
                    let version = if self.config.max_version == Version::V1 { Version::V1 } else { Version::V2 };
                    self.request_data_monitor(schema, version);
                }
                Err(e) => {
                    warn!("{}: bad schema for {}: {e}", self.remote_name(), self.config.database);
                    self.retry(now);
                }
            },
            (Proto::DataSchema, Err(e)) => {
                info!("{}: cannot get schema of {}: {e}", self.remote_name(), self.config.database);
                self.retry(now);
            }
            (Proto::DataMonitor(v), Err(e)) => match v {
                Version::V3 => self.send_data_monitor(Version::V2),
                Version::V2 => self.send_data_monitor(Version::V1),
                Version::V1 => {
                    warn!("{}: monitor refused: {e}", self.remote_name());
                    self.retry(now);
                }
            },
            (Proto::DataMonitor(v), Ok(result)) => self.monitor_reply(now, v, &result),
            (Proto::Monitoring, Ok(_)) => {
                self.conditions.ack();
                self.send_condition_changes();
            }
            (Proto::Monitoring, Err(e)) => {
                warn!("{}: condition change refused: {e}", self.remote_name());
                self.retry(now);
            }
        }
    }

    /// Adopts `_Server`'s schema; the monitor request for its `Database`
    /// table, or None if it has none.
    fn server_monitor_request(&mut self, schema_json: &Json) -> Option<Json> {
        let schema = DatabaseSchema::from_json(schema_json).ok()?;
        let table_id = schema.table_id("Database")?;
        let ts = &schema.tables[table_id];
        let columns: Vec<ColumnId> = SERVER_COLUMNS.iter().filter_map(|c| ts.column_id(c)).collect();
        let names: Vec<&str> = columns.iter().map(|&c| ts.columns[c].name.as_str()).collect();
        let request = json!({"Database": [{"columns": names}]});
        self.server.set_schema(schema, vec![(table_id, columns)]);
        Some(request)
    }

    /// Whether the server's copy of our database may be used, and its
    /// schema.
    fn check_server_db(&mut self) -> Result<Arc<DatabaseSchema>, String> {
        let db = &self.config.database;
        let row = self
            .server
            .iter::<crate::server::Database>()
            .find(|r| r.name == *db)
            .ok_or_else(|| format!("server does not have {db} database"))?;
        let schema = row.schema.as_deref();
        match row.model.as_str() {
            "clustered" => {
                let index = row.index.unwrap_or(0);
                if schema.is_none() {
                    return Err("clustered database server has not yet joined cluster".into());
                } else if !row.connected {
                    return Err("clustered database server is disconnected from cluster".into());
                } else if self.config.leader_only && !row.leader {
                    return Err("clustered database server is not cluster leader".into());
                } else if index < self.min_index {
                    return Err("clustered database server has stale data".into());
                }
                self.min_index = index;
            }
            "relay" => {
                if schema.is_none() {
                    return Err("relay database server has not yet connected to the relay source".into());
                } else if !row.connected {
                    return Err("relay database server is disconnected from the relay source".into());
                } else if self.config.leader_only {
                    return Err("relay database server cannot be a leader".into());
                }
            }
            _ if schema.is_none() => return Err("missing database schema".into()),
            _ => {}
        }
        let text = schema.unwrap_or_default();
        let json: Json = serde_json::from_str(text).map_err(|e| format!("bad schema in _Server: {e}"))?;
        DatabaseSchema::from_json(&json).map_err(|e| format!("bad schema in _Server: {e}"))
    }

    fn request_data_monitor(&mut self, schema: Arc<DatabaseSchema>, version: Version) {
        let mut monitored: Vec<(TableId, Vec<ColumnId>)> = Vec::new();
        for t in &self.config.tables {
            let Some(id) = schema.table_id(&t.table) else {
                warn!("{}: server's {} has no table {}", self.remote_name(), schema.name, t.table);
                continue;
            };
            let ts = &schema.tables[id];
            let columns: Vec<ColumnId> = match &t.columns {
                None => ts.user_columns().map(|(c, _)| c).collect(),
                Some(names) => names
                    .iter()
                    .filter_map(|n| {
                        let c = ts.column_id(n).filter(|&c| c >= 2);
                        if c.is_none() {
                            warn!("{}: server's table {} has no column {n}", self.remote_name(), t.table);
                        }
                        c
                    })
                    .collect(),
            };
            match monitored.iter_mut().find(|(t, _)| *t == id) {
                Some((_, cols)) => {
                    for c in columns {
                        if !cols.contains(&c) {
                            cols.push(c);
                        }
                    }
                }
                None => monitored.push((id, columns)),
            }
        }
        if self.data.set_schema(schema, monitored) {
            // What we hold belongs to another schema.
            self.last_id = Uuid::ZERO;
        }
        self.send_data_monitor(version);
    }

    fn send_data_monitor(&mut self, version: Version) {
        let Some(schema) = self.data.schema().cloned() else { return };
        let mut requests = serde_json::Map::new();
        for (id, ts) in schema.tables.iter().enumerate() {
            let Some(columns) = self.data.monitored_columns(id) else { continue };
            let names: Vec<&str> = columns.iter().map(|&c| ts.columns[c].name.as_str()).collect();
            let request = if version == Version::V1 {
                json!({"columns": names})
            } else {
                let mut r = json!({"columns": names});
                let condition = self.conditions.acked(&ts.name);
                if condition != Condition::True {
                    r["where"] = condition.to_json();
                }
                json!([r])
            };
            requests.insert(ts.name.clone(), request);
        }
        let mut params = vec![json!(self.config.database), self.data_monitor_id.clone(), Json::Object(requests)];
        let method = match version {
            Version::V1 => "monitor",
            Version::V2 => "monitor_cond",
            Version::V3 => {
                params.push(json!(self.last_id.to_string()));
                "monitor_cond_since"
            }
        };
        self.protocol(method, params, Proto::DataMonitor(version));
    }

    fn monitor_reply(&mut self, now: Instant, version: Version, result: &Json) {
        let (found, updates) = if version == Version::V3 {
            let parsed = match result.as_array().map(Vec::as_slice) {
                Some([Json::Bool(found), Json::String(last), updates]) => Uuid::parse(last).map(|u| (*found, u, updates)),
                _ => None,
            };
            let Some((found, last, updates)) = parsed else {
                return self.inconsistent(now, "bad monitor_cond_since reply");
            };
            self.last_id = last;
            (found, updates)
        } else {
            self.last_id = Uuid::ZERO;
            (false, result)
        };
        let applied = if found { self.data.apply(version, updates) } else { self.data.replace(version, updates) };
        if let Err(e) = applied {
            return self.inconsistent(now, &format!("bad monitor reply: {e}"));
        }
        self.monitoring(version, found);
    }

    /// The monitor reply is in the replica: follow the updates.
    fn monitoring(&mut self, version: Version, found: bool) {
        if found {
            self.stats.resumed_syncs += 1;
        } else {
            self.stats.full_syncs += 1;
        }
        info!(
            "{}: monitoring {} ({})",
            self.remote_name(),
            self.config.database,
            if found { "resumed from the last transaction" } else { "complete copy" }
        );
        self.monitor_version = Some(version);
        self.proto = Some(Proto::Monitoring);
        self.conditions.monitoring();
        self.send_condition_changes();
    }

    fn send_condition_changes(&mut self) {
        if self.proto != Some(Proto::Monitoring)
            || self.monitor_version == Some(Version::V1)
            || self.protocol_request.is_some()
        {
            return;
        }
        if let Some(requests) = self.conditions.take_changes() {
            let id = self.data_monitor_id.clone();
            self.protocol("monitor_cond_change", vec![id.clone(), id, requests], Proto::Monitoring);
        }
    }

    fn notification(&mut self, now: Instant, method: &str, params: Vec<Json>) {
        match method {
            "update" | "update2" | "update3" => self.update(now, method, params),
            "monitor_canceled" => {
                let Some(id) = params.first() else { return };
                if *id == self.data_monitor_id && self.monitor_version.is_some() {
                    info!("{}: server cancelled the monitor of {}", self.remote_name(), self.config.database);
                    self.monitor_version = None;
                    if self.server_monitored {
                        let sid = self.server_monitor_id.clone();
                        self.request("monitor_cancel", vec![sid]);
                    }
                    self.restart_protocol();
                } else if *id == self.server_monitor_id && self.server_monitored {
                    self.server_monitored = false;
                    if self.monitor_version.take().is_some() {
                        let did = self.data_monitor_id.clone();
                        self.request("monitor_cancel", vec![did]);
                    }
                    self.restart_protocol();
                }
            }
            "locked" | "stolen" => {
                if params.first().and_then(Json::as_str) == self.lock.status.name.as_deref()
                    && self.lock.status.name.is_some()
                {
                    let held = method == "locked";
                    self.lock.status.held = held;
                    self.lock.status.contended = !held;
                }
            }
            _ => debug!("{}: ignoring notification {method}", self.remote_name()),
        }
    }

    fn update(&mut self, now: Instant, method: &str, params: Vec<Json>) {
        let version = match method {
            "update" => Version::V1,
            "update2" => Version::V2,
            _ => Version::V3,
        };
        let Some(id) = params.first() else { return };
        if *id == self.data_monitor_id && self.monitor_version.is_some() {
            let updates = match (version, params.as_slice()) {
                (Version::V3, [_, Json::String(last), updates]) => Uuid::parse(last).map(|last| (Some(last), updates)),
                (Version::V1 | Version::V2, [_, updates]) => Some((None, updates)),
                _ => None,
            };
            let Some((last, updates)) = updates else {
                return self.inconsistent(now, &format!("malformed {method} notification"));
            };
            if let Err(e) = self.data.apply(version, updates) {
                return self.inconsistent(now, &format!("bad {method}: {e}"));
            }
            if let Some(last) = last {
                self.last_id = last;
            }
        } else if *id == self.server_monitor_id && self.server_monitored {
            let applied = match params.as_slice() {
                [_, updates] if version == Version::V2 => self.server.apply(Version::V2, updates).map_err(|e| e.to_string()),
                _ => Err(format!("malformed {method} notification")),
            };
            let checked = applied.and_then(|_| self.check_server_db().map(|_| ()));
            if let Err(why) = checked {
                info!("{}: {why}; trying another server", self.remote_name());
                self.retry(now);
            }
        }
    }
}

#[cfg(test)]
mod tests;
