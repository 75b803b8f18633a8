//! The load generator's clients: raw JSON-RPC over a Unix socket, framed
//! by `ovsdb::rpc`, and a replica of one monitored table. Deliberately
//! thin (no IDL, no schema knowledge), so the figures measure the server.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use ovsdb::rpc::{Framer, Message};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixStream;

/// How long a client keeps retrying a connection the listener has no room
/// for. Long: under a reconnection storm Open vSwitch accepts one client
/// per main-loop iteration, and each iteration may send megabytes. Phases
/// are bounded by their own timeout anyway.
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(600);

/// The largest message we accept (a 1,000,000-row select is ~100 MB).
const MAX_MESSAGE: usize = 1 << 30;

/// One connection to a server.
pub struct Conn {
    stream: UnixStream,
    framer: Framer,
    buf: Vec<u8>,
    next_id: u64,
    /// Bytes received since the connection opened.
    pub bytes_in: u64,
    /// When the last bytes arrived: a message is complete at the read that
    /// brought its end, before this client spends time parsing it.
    pub last_read: Instant,
}

impl Conn {
    /// Connects, retrying while the listener's backlog is full (hundreds
    /// of clients connecting at once) for at most `patience`.
    pub async fn connect(path: &Path, patience: Duration) -> Result<Conn> {
        let deadline = tokio::time::Instant::now() + patience;
        let stream = loop {
            match UnixStream::connect(path).await {
                Ok(s) => break s,
                Err(e) if tokio::time::Instant::now() < deadline && retryable(&e) => {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("connecting to {}", path.display()));
                }
            }
        };
        Ok(Conn {
            stream,
            framer: Framer::new(MAX_MESSAGE),
            buf: vec![0; 1 << 16],
            next_id: 1,
            bytes_in: 0,
            last_read: Instant::now(),
        })
    }

    /// Serialises a request, for sending later with [`Conn::send_bytes`]
    /// (so building a huge transaction stays out of a timed phase).
    pub fn request_bytes(&mut self, method: &str, params: Json) -> (u64, Vec<u8>) {
        let id = self.next_id;
        self.next_id += 1;
        (id, request(method, params, id))
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream
            .write_all(bytes)
            .await
            .context("sending to the server")
    }

    /// Sends a request and returns its id.
    pub async fn send(&mut self, method: &str, params: Json) -> Result<u64> {
        let (id, bytes) = self.request_bytes(method, params);
        self.send_bytes(&bytes).await?;
        Ok(id)
    }

    /// The next message, or None once the server closed the connection.
    /// Answers the server's `echo` requests on the way.
    pub async fn recv(&mut self) -> Result<Option<Message>> {
        loop {
            if let Some(json) = self.framer.next().context("framing the server's output")? {
                let msg = Message::from_json(json).context("server sent a malformed message")?;
                if let Message::Request { method, params, id } = &msg
                    && method == "echo"
                {
                    let reply = Message::Reply {
                        result: Json::Array(params.clone()),
                        id: id.clone(),
                    };
                    self.send_bytes(&reply.to_bytes()).await?;
                    continue;
                }
                return Ok(Some(msg));
            }
            let n = match self.stream.read(&mut self.buf).await {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e).context("reading from the server"),
            };
            if n == 0 {
                return Ok(None);
            }
            self.bytes_in += n as u64;
            self.last_read = Instant::now();
            self.framer.push(&self.buf[..n]);
        }
    }

    /// Waits for the reply to request `id`, handing notifications that
    /// arrive first to `on_note`. An error reply is an error.
    pub async fn reply_to(
        &mut self,
        id: u64,
        on_note: &mut impl FnMut(&str, &[Json]) -> Result<()>,
    ) -> Result<Json> {
        loop {
            match self
                .recv()
                .await?
                .ok_or_else(|| anyhow!("server closed the connection before replying"))?
            {
                Message::Reply { result, id: rid } if rid == json!(id) => return Ok(result),
                Message::Error { error, id: rid } if rid == json!(id) => {
                    bail!("server replied with an error: {error}")
                }
                Message::Notification { method, params } => on_note(&method, &params)?,
                other => bail!(
                    "unexpected message while waiting for reply {id}: {}",
                    other.to_json()
                ),
            }
        }
    }

    /// The next update notification's `<table-updates2>` and transaction
    /// id (`update3` only); None once the server closed the connection.
    /// Any other message is an error.
    pub async fn next_update(&mut self) -> Result<Option<(Json, Option<String>)>> {
        match self.recv().await? {
            None => Ok(None),
            Some(Message::Notification { method, params }) => {
                notification_updates(&method, params).map(Some)
            }
            Some(other) => bail!("expected an update, got {}", other.to_json()),
        }
    }

    /// Receives the next update and applies it to `replica` (see
    /// [`Replica::apply`]); returns its transaction id, if any.
    pub async fn apply_next_update(
        &mut self,
        replica: &mut Replica,
        touched: impl FnMut(u128, Option<u64>),
    ) -> Result<Option<String>> {
        let (updates, txn_id) = self
            .next_update()
            .await?
            .ok_or_else(|| anyhow!("server closed a monitoring connection"))?;
        replica.apply(&updates, touched)?;
        Ok(txn_id)
    }

    /// A request and its reply, with no notifications expected.
    pub async fn call(&mut self, method: &str, params: Json) -> Result<Json> {
        let id = self.send(method, params).await?;
        self.reply_to(id, &mut |m, _| bail!("unexpected notification {m}"))
            .await
    }

    /// A `transact` whose every operation must succeed; returns the
    /// operations' results.
    pub async fn transact(&mut self, db: &str, ops: Vec<Json>) -> Result<Vec<Json>> {
        self.call_transact(txn(db, ops)).await
    }

    /// Like [`Conn::transact`], with the params already built.
    pub async fn call_transact(&mut self, params: Json) -> Result<Vec<Json>> {
        check_transact(self.call("transact", params).await?)
    }
}

/// Opens `n` connections to `path`, each answered once by the server.
/// (A connection can wait in the listener's backlog for a while: Open
/// vSwitch accepts one per main-loop iteration. Load must not start on
/// some clients before the server has even seen the others.)
pub async fn connect_all(path: &Path, n: usize) -> Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(Conn::connect(path, CONNECT_PATIENCE).await?);
    }
    call_each(&mut conns, "echo", |_| json!(["accepted?"])).await?;
    Ok(conns)
}

/// Sends request `params(i)` on connection `i`, all before reading any
/// reply (as a storm of clients would), then returns the replies in order.
pub async fn call_each(
    conns: &mut [Conn],
    method: &str,
    params: impl Fn(usize) -> Json,
) -> Result<Vec<Json>> {
    let mut ids = Vec::with_capacity(conns.len());
    for (i, conn) in conns.iter_mut().enumerate() {
        ids.push(conn.send(method, params(i)).await?);
    }
    let mut replies = Vec::with_capacity(conns.len());
    for (conn, id) in conns.iter_mut().zip(ids) {
        replies.push(
            conn.reply_to(id, &mut |m, _| {
                bail!("notification {m} before the reply to {method}")
            })
            .await?,
        );
    }
    Ok(replies)
}

/// Waits for every task of `set`; the first failure is the error.
pub async fn join_all<T: 'static>(mut set: tokio::task::JoinSet<Result<T>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(set.len());
    while let Some(res) = set.join_next().await {
        match res.context("a client task panicked")? {
            Ok(v) => out.push(v),
            Err(e) => {
                set.abort_all();
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// A request with the given id, serialised.
pub fn request(method: &str, params: Json, id: u64) -> Vec<u8> {
    let Json::Array(params) = params else {
        unreachable!("request params are built as arrays")
    };
    Message::Request {
        method: method.into(),
        params,
        id: id.into(),
    }
    .to_bytes()
}

fn retryable(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN) | Some(libc::ECONNREFUSED) | Some(libc::ENOENT)
    )
}

/// `transact` params: `db`, then the operations.
pub fn txn(db: &str, ops: impl IntoIterator<Item = Json>) -> Json {
    let mut params = vec![json!(db)];
    params.extend(ops);
    Json::Array(params)
}

/// The results of a `transact` reply, or an error naming the first
/// failed operation.
pub fn check_transact(result: Json) -> Result<Vec<Json>> {
    let Json::Array(results) = result else {
        bail!("transact result is not an array: {result}")
    };
    if let Some(err) = results.iter().find(|r| r.get("error").is_some()) {
        bail!("transaction failed: {err}");
    }
    Ok(results)
}

/// The uuids an insert-only transaction's results carry, in order.
pub fn inserted_uuids(results: &[Json]) -> Result<Vec<String>> {
    results
        .iter()
        .map(|r| {
            r["uuid"][1]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("insert result without a uuid: {r}"))
        })
        .collect()
}

/// One table as a monitoring client sees it: for each row, a fingerprint
/// of one tracked column's value, enough to check what arrived. Compact
/// (24 bytes a row), since hundreds of clients each hold a copy.
pub struct Replica {
    table: String,
    column: String,
    pub rows: HashMap<u128, u64>,
}

impl Replica {
    pub fn new(table: &str, column: &str) -> Replica {
        Replica {
            table: table.into(),
            column: column.into(),
            rows: HashMap::new(),
        }
    }

    /// The tracked value of row `uuid`.
    pub fn get(&self, uuid: &str) -> Option<u64> {
        self.rows.get(&uuid_key(uuid).ok()?).copied()
    }

    /// Applies a `<table-updates2>` object (from a `monitor_cond` or
    /// `monitor_cond_since` reply, an `update2` or an `update3`), calling
    /// `touched` with each row's uuid and tracked value (None: deleted).
    pub fn apply(
        &mut self,
        updates: &Json,
        mut touched: impl FnMut(u128, Option<u64>),
    ) -> Result<()> {
        let Some(table) = updates.get(&self.table) else {
            return Ok(());
        };
        let table = table
            .as_object()
            .ok_or_else(|| anyhow!("table update is not an object"))?;
        for (uuid, change) in table {
            let key = uuid_key(uuid)?;
            let change = change
                .as_object()
                .ok_or_else(|| anyhow!("row update is not an object"))?;
            let (kind, row) = change
                .iter()
                .next()
                .ok_or_else(|| anyhow!("empty row update for {uuid}"))?;
            match kind.as_str() {
                "initial" | "insert" => {
                    let value = fingerprint(row.get(&self.column).unwrap_or(&Json::Null));
                    self.rows.insert(key, value);
                    touched(key, Some(value));
                }
                "modify" => {
                    let Some(slot) = self.rows.get_mut(&key) else {
                        bail!("modify of unknown row {uuid}")
                    };
                    if let Some(value) = row.get(&self.column) {
                        *slot = fingerprint(value);
                    }
                    touched(key, Some(*slot));
                }
                "delete" => {
                    self.rows.remove(&key);
                    touched(key, None);
                }
                other => bail!("unknown row update kind {other:?}"),
            }
        }
        Ok(())
    }
}

/// A uuid's 128 bits, from its text.
pub fn uuid_key(uuid: &str) -> Result<u128> {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        bail!("malformed uuid {uuid:?}");
    }
    u128::from_str_radix(&hex, 16).with_context(|| format!("malformed uuid {uuid:?}"))
}

/// A 64-bit digest of a JSON value (equal values, equal digests).
pub fn fingerprint(value: &Json) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match value {
        Json::String(s) => s.hash(&mut h),
        other => other.to_string().hash(&mut h),
    }
    h.finish()
}

/// The `<table-updates2>` an update notification carries: `update2`
/// params are `[id, updates]`, `update3` params `[id, last-txn-id,
/// updates]`. Returns the updates and the transaction id, if any.
pub fn notification_updates(method: &str, params: Vec<Json>) -> Result<(Json, Option<String>)> {
    let n = params.len();
    let mut params = params.into_iter();
    match (method, n) {
        ("update2", 2) => Ok((params.nth(1).unwrap_or_default(), None)),
        ("update3", 3) => {
            let txn_id = params.nth(1).and_then(|t| t.as_str().map(str::to_string));
            Ok((params.next().unwrap_or_default(), txn_id))
        }
        _ => bail!("unexpected notification {method} with {n} params"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "6f1b3c9e-1d2a-4b5c-8d7e-0f1a2b3c4d5e";
    const B: &str = "00000000-0000-4000-8000-000000000001";

    #[test]
    fn replica_follows_update2() {
        let mut r = Replica::new("T", "x");
        let mut seen = Vec::new();
        r.apply(
            &json!({"T": {A: {"initial": {"x": "a", "y": 1}}, B: {"initial": {"y": 2}}}}),
            |k, v| seen.push((k, v)),
        )
        .unwrap();
        assert_eq!(r.get(A), Some(fingerprint(&json!("a"))));
        assert_eq!(r.get(B), Some(fingerprint(&Json::Null)));
        assert_eq!(seen.len(), 2);
        // A modify without the tracked column keeps its value.
        r.apply(
            &json!({"T": {A: {"modify": {"y": 3}}}, "Other": {B: {"delete": null}}}),
            |_, _| {},
        )
        .unwrap();
        assert_eq!(r.get(A), Some(fingerprint(&json!("a"))));
        r.apply(
            &json!({"T": {A: {"modify": {"x": "b"}}, B: {"delete": null}}}),
            |_, _| {},
        )
        .unwrap();
        assert_eq!(r.get(A), Some(fingerprint(&json!("b"))));
        assert_eq!(r.rows.len(), 1);
        assert!(
            r.apply(&json!({"T": {B: {"modify": {"x": "c"}}}}), |_, _| {})
                .is_err()
        );
        assert!(
            r.apply(&json!({"T": {"not-a-uuid": {"insert": {}}}}), |_, _| {})
                .is_err()
        );
    }

    #[test]
    fn notifications_carry_updates() {
        let params = vec![json!("m"), json!("txn"), json!({"T": {}})];
        assert_eq!(
            notification_updates("update3", params.clone()).unwrap(),
            (json!({"T": {}}), Some("txn".to_string()))
        );
        assert_eq!(
            notification_updates("update2", params[1..].to_vec()).unwrap(),
            (json!({"T": {}}), None)
        );
        assert!(notification_updates("update", params[1..].to_vec()).is_err());
    }
}
