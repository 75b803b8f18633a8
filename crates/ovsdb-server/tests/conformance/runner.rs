//! Runs one case against one server and records what each connection
//! received.
//!
//! Synchronisation: after every step the runner sends an `echo` on every
//! open connection, in name order, and reads until its reply. Everything
//! read on the way belongs to the step. Open vSwitch's ovsdb-server queues
//! the notifications a commit causes, and the replies of triggers the
//! commit releases, before it reads the next request from any session, so
//! what a step causes is complete once each echo is answered. The sync
//! echoes themselves are not recorded.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::{Connection, RecvError};
use crate::corpus::{Action, Case, Step};
use crate::server::{Implementation, Server, find_program};

/// Bound on every wait for a message that should come. Open vSwitch
/// answers in microseconds; the margin is for a loaded 2-core machine.
const REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// A case stops after this many waits that ran out, so a server that does
/// not answer fails in seconds, not minutes.
const MAX_TIMEOUTS: usize = 3;

/// One thing a connection received (or a sign that nothing came).
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    Message(Value),
    /// The server closed the connection.
    Closed,
    /// A wait ran out.
    TimedOut,
    /// The server sent bytes that are not JSON.
    Garbage(String),
    /// A step used a connection that is already gone.
    Unusable,
    /// Connecting failed.
    ConnectFailed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Index of the step in its case.
    pub step: usize,
    pub conn: String,
    pub what: Received,
    /// For a reply, the method of the request it answers.
    pub reply_to: Option<String>,
}

enum Conn {
    Open(Connection),
    /// Closed by either side, or broken.
    Gone,
}

struct Session {
    server: Server,
    conns: BTreeMap<String, Conn>,
    next_id: u64,
    n_syncs: u64,
    n_timeouts: usize,
    step: usize,
    events: Vec<Event>,
    /// (connection, id as JSON text) → method, for every request sent.
    methods: HashMap<(String, String), String>,
    /// Values kept by `save=`, by name.
    saved: HashMap<String, Value>,
    /// A connection whose last `text` step ended inside a JSON value: a
    /// sync echo would land in the middle of it, so it is not synced.
    mid_message: Option<String>,
}

/// The transcript of `case` on a fresh server of kind `imp`.
pub fn run(case: &Case, imp: Implementation) -> Result<Vec<Event>, String> {
    let server = Server::start(imp)?;
    let mut session = Session {
        server,
        conns: BTreeMap::new(),
        next_id: 1,
        n_syncs: 0,
        n_timeouts: 0,
        step: 0,
        events: Vec::new(),
        methods: HashMap::new(),
        saved: HashMap::new(),
        mid_message: None,
    };
    for (idx, step) in case.steps.iter().enumerate() {
        session.step = idx;
        session.run_step(step);
        // The server learns of a close when it next polls that socket, and
        // applies some effects of a unixctl command (such as _Server's
        // update) in a later pass of its main loop, so a barrier here would
        // race with them; a case `await`s those consequences instead.
        if !matches!(step.action, Action::Close | Action::Ctl(_)) {
            session.sync_all();
        }
        if session.n_timeouts >= MAX_TIMEOUTS {
            return Err(format!(
                "{imp:?}: gave up on case {} at step {} after {MAX_TIMEOUTS} waits ran out; transcript so far: {:?}",
                case.name, idx, session.events
            ));
        }
    }
    Ok(session.events)
}

fn is_reply_to(msg: &Value, id: &Value) -> bool {
    msg.get("method").is_none_or(Value::is_null) && msg.get("id") == Some(id)
}

impl Session {
    fn record(&mut self, conn: &str, what: Received) {
        let reply_to = match &what {
            Received::Message(msg) if msg.get("method").is_none_or(Value::is_null) => {
                self.methods.get(&(conn.to_string(), msg["id"].to_string())).cloned()
            }
            _ => None,
        };
        self.events.push(Event { step: self.step, conn: conn.to_string(), what, reply_to });
    }

    /// The connection named `name`, opened on first use; None if gone.
    fn conn(&mut self, name: &str) -> Option<&mut Connection> {
        if !self.conns.contains_key(name) {
            match Connection::connect(&self.server.socket()) {
                Ok(c) => self.conns.insert(name.to_string(), Conn::Open(c)),
                Err(e) => {
                    self.record(name, Received::ConnectFailed(e.to_string()));
                    self.conns.insert(name.to_string(), Conn::Gone)
                }
            };
        }
        match self.conns.get_mut(name) {
            Some(Conn::Open(c)) => Some(c),
            _ => None,
        }
    }

    /// Sends `text` on `conn`; on failure, collects what the server sent
    /// before it closed.
    fn send(&mut self, conn: &str, text: &str) -> bool {
        let Some(c) = self.conn(conn) else {
            self.record(conn, Received::Unusable);
            return false;
        };
        if c.send_text(text).is_ok() {
            return true;
        }
        self.read_until(conn, |_| false);
        false
    }

    /// Reads on `conn` until a message satisfies `done`, recording every
    /// message (except the server's own echo requests, answered here).
    fn read_until(&mut self, conn: &str, done: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let Some(Conn::Open(c)) = self.conns.get_mut(conn) else { return None };
            match c.recv(deadline) {
                Ok(msg) => {
                    if msg["method"] == "echo" && !msg["id"].is_null() {
                        let reply = json!({"result": msg["params"], "error": null, "id": msg["id"]});
                        let _ = c.send(&reply);
                        continue;
                    }
                    if done(&msg) {
                        return Some(msg);
                    }
                    self.record(conn, Received::Message(msg));
                }
                Err(RecvError::TimedOut) => {
                    self.n_timeouts += 1;
                    self.record(conn, Received::TimedOut);
                    return None;
                }
                Err(e) => {
                    self.conns.insert(conn.to_string(), Conn::Gone);
                    let what = match e {
                        RecvError::Garbage(text) => Received::Garbage(text),
                        _ => Received::Closed,
                    };
                    self.record(conn, what);
                    return None;
                }
            }
        }
    }

    /// Like `read_until`, but the message that ends the wait is recorded.
    fn read_through(&mut self, conn: &str, done: impl Fn(&Value) -> bool) {
        if let Some(msg) = self.read_until(conn, done) {
            self.record(conn, Received::Message(msg));
        }
    }

    fn run_step(&mut self, step: &Step) {
        let conn = step.conn.as_str();
        match &step.action {
            Action::Request { method, params, id, pending, save } => {
                let id = id.clone().unwrap_or_else(|| {
                    self.next_id += 1;
                    json!(self.next_id - 1)
                });
                let msg = json!({"method": method, "params": self.substitute(&json!(params)), "id": id});
                self.methods.insert((conn.to_string(), id.to_string()), method.clone());
                if self.send(conn, &msg.to_string()) && !pending {
                    let reply = self.read_until(conn, |m| is_reply_to(m, &id));
                    if let Some((name, pointer)) = save {
                        let value = reply.as_ref().and_then(|r| r.pointer(pointer)).cloned().unwrap_or(Value::Null);
                        self.saved.insert(name.clone(), value);
                    }
                    if let Some(reply) = reply {
                        self.record(conn, Received::Message(reply));
                    }
                }
            }
            Action::Notify { method, params } => {
                let params = self.substitute(&json!(params));
                self.send(conn, &json!({"method": method, "params": params, "id": null}).to_string());
            }
            Action::Raw(value) => {
                self.send(conn, &self.substitute(value).to_string());
            }
            Action::Text(text) => {
                let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
                if values.any(|v| v.is_err_and(|e| e.is_eof())) {
                    self.mid_message = Some(conn.to_string());
                }
                self.send(conn, text);
            }
            Action::Close => match self.conns.insert(conn.to_string(), Conn::Gone) {
                Some(Conn::Open(_)) => {}
                _ => self.record(conn, Received::Unusable),
            },
            Action::Await(method) => self.await_on(conn, |m| m["method"] == method.as_str() && m["id"].is_null()),
            Action::Ctl(args) => {
                let dir = self.server.dir().display().to_string();
                let out = std::process::Command::new(find_program("ovs-appctl"))
                    .arg("-t")
                    .arg(self.server.ctl())
                    .arg("--timeout=5")
                    .args(args.iter().map(|a| a.replace("$DIR", &dir)))
                    .output();
                let what = match out {
                    Ok(out) => json!({
                        "ok": out.status.success(),
                        "stdout": String::from_utf8_lossy(&out.stdout).replace(&dir, "$DIR"),
                    }),
                    Err(e) => json!({"spawn failed": e.to_string()}),
                };
                self.record(conn, Received::Message(what));
            }
            Action::AwaitReply(id) => self.await_on(conn, |m| is_reply_to(m, id)),
            Action::AwaitClose => self.await_on(conn, |_| false),
        }
    }

    /// Reads on `conn` through the first message that satisfies `done`.
    fn await_on(&mut self, conn: &str, done: impl Fn(&Value) -> bool) {
        if self.conn(conn).is_some() {
            self.read_through(conn, done);
        } else {
            self.record(conn, Received::Unusable);
        }
    }

    /// `value` with every string `"$NAME"` replaced by the value saved as
    /// NAME.
    fn substitute(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => match s.strip_prefix('$').and_then(|name| self.saved.get(name)) {
                Some(saved) => saved.clone(),
                None => value.clone(),
            },
            Value::Array(items) => Value::Array(items.iter().map(|it| self.substitute(it)).collect()),
            Value::Object(obj) => Value::Object(obj.iter().map(|(k, v)| (k.clone(), self.substitute(v))).collect()),
            _ => value.clone(),
        }
    }

    fn sync_all(&mut self) {
        let mid_message = self.mid_message.take();
        let open: Vec<String> = self
            .conns
            .iter()
            .filter(|(name, c)| matches!(c, Conn::Open(_)) && mid_message.as_ref() != Some(*name))
            .map(|(name, _)| name.clone())
            .collect();
        for conn in open {
            self.n_syncs += 1;
            let id = json!(format!("sync-{}", self.n_syncs));
            let echo = json!({"method": "echo", "params": ["sync"], "id": id});
            if self.send(&conn, &echo.to_string()) {
                self.read_until(&conn, |m| is_reply_to(m, &id));
            }
        }
    }
}
