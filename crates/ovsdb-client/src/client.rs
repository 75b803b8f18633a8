//! The tokio driver around [`Core`] and the [`Client`] handle.
//!
//! One task per client owns the socket: it carries out the core's
//! [`Command`]s, reads and frames messages ([`ovsdb::rpc::Framer`]) and
//! feeds them to the core, and wakes the core at its deadlines. The core
//! sits behind a mutex that the task holds only while feeding it; handles
//! lock it to read the replica or to submit requests, then poke the task.
//! Waiters follow a `watch` channel of the session's [`Status`].

use std::collections::HashMap;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use ovsdb::rpc::Framer;
use rand::seq::SliceRandom as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{Notify, oneshot, watch};
use tracing::warn;

use crate::condition::Condition;
use crate::core::{Command, Config, Core, LockStatus, Phase, Status, TxnId};
use crate::remote::Remote;
use crate::replica::{Changes, Replica};
use crate::txn::{Transaction, TxnError, TxnOutcome};

/// The longest JSON-RPC message accepted from a server.
const MAX_MESSAGE: usize = 1 << 30;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The driver task is gone (the runtime shut down).
    #[error("client closed")]
    Closed,
    #[error("no lock is configured")]
    NoLock,
}

/// Why [`Client::transact_with_retry`] gave up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RetryError<E> {
    #[error(transparent)]
    Txn(TxnError),
    /// The caller's build function failed.
    #[error("{0}")]
    Build(E),
}

type TxnWaiter = oneshot::Sender<Result<TxnOutcome, TxnError>>;

struct Inner {
    core: Core,
    /// Callers waiting for their transactions' results.
    waiters: HashMap<TxnId, TxnWaiter>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Poked when a handle gave the core something to send.
    wake: Notify,
    /// The session's status after each step of the driver.
    status: watch::Sender<Status>,
}

/// Stops the driver when the last handle goes.
struct StopOnDrop(#[allow(dead_code)] oneshot::Sender<()>);

/// A connection to one database, with its replica. Cheap to clone; the
/// driver stops when the last clone is dropped.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    _stop: Arc<StopOnDrop>,
}

/// Read (and change-tracking) access to the replica. Holding it stalls the
/// driver, so do not keep it across an `.await` or a long computation
/// (clone what you need, or call [`Replica::clone`]).
pub struct ReplicaGuard<'a>(MutexGuard<'a, Inner>);

impl Deref for ReplicaGuard<'_> {
    type Target = Replica;
    fn deref(&self) -> &Replica {
        self.0.core.replica()
    }
}

impl DerefMut for ReplicaGuard<'_> {
    fn deref_mut(&mut self) -> &mut Replica {
        self.0.core.replica_mut()
    }
}

impl Client {
    /// Starts a client (within a tokio runtime). It connects in the
    /// background; see [`Client::wait_connected`].
    pub fn start(mut config: Config) -> Client {
        if config.shuffle_remotes {
            // Spread clients over the servers, as Open vSwitch does.
            config.remotes.shuffle(&mut rand::rng());
        }
        let core = Core::new(config, Instant::now());
        let (status, _) = watch::channel(core.status());
        let shared = Arc::new(Shared { inner: Mutex::new(Inner { core, waiters: HashMap::new() }), wake: Notify::new(), status });
        let (stop_tx, stop_rx) = oneshot::channel();
        tokio::spawn(drive(Arc::clone(&shared), stop_rx));
        Client { shared, _stop: Arc::new(StopOnDrop(stop_tx)) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the core, then lets the driver send what it produced.
    fn with_core<T>(&self, f: impl FnOnce(&mut Core) -> T) -> T {
        let out = f(&mut self.lock().core);
        self.shared.wake.notify_one();
        out
    }

    pub fn replica(&self) -> ReplicaGuard<'_> {
        ReplicaGuard(self.lock())
    }

    /// What changed in the replica since the last call.
    pub fn take_changes(&self) -> Changes {
        self.lock().core.replica_mut().take_changes()
    }

    pub fn status(&self) -> Status {
        self.lock().core.status()
    }

    /// Follows the session's status (it changes with the replica, the
    /// condition sequence number, the lock, the connection).
    pub fn watch(&self) -> watch::Receiver<Status> {
        self.shared.status.subscribe()
    }

    /// Waits until `pred` holds for the replica, checking after every
    /// change.
    pub async fn wait_for(&self, mut pred: impl FnMut(&Replica) -> bool) -> Result<(), ClientError> {
        self.wait_status(|client, _| pred(&client.replica())).await
    }

    /// Waits until `pred` holds for the session's status.
    pub async fn wait_until(&self, mut pred: impl FnMut(&Status) -> bool) -> Result<(), ClientError> {
        self.wait_status(|_, s| pred(s)).await
    }

    async fn wait_status(&self, mut pred: impl FnMut(&Client, &Status) -> bool) -> Result<(), ClientError> {
        let mut rx = self.shared.status.subscribe();
        loop {
            let status = rx.borrow_and_update().clone();
            if pred(self, &status) {
                return Ok(());
            }
            rx.changed().await.map_err(|_| ClientError::Closed)?;
        }
    }

    /// Waits until the replica is complete and follows the server.
    pub async fn wait_connected(&self) -> Result<(), ClientError> {
        self.wait_status(|_, s| s.phase == Phase::Monitoring).await
    }

    /// Waits until the replica's sequence number differs from `seqno`.
    pub async fn wait_change(&self, seqno: u64) -> Result<(), ClientError> {
        self.wait_status(|_, s| s.seqno != seqno).await
    }

    /// Changes the rows replicated from `table`; see
    /// [`Client::wait_condition`].
    pub fn set_condition(&self, table: &str, condition: Condition) -> u64 {
        self.with_core(|core| core.set_condition(table, condition))
    }

    /// Waits until the replica reflects the conditions of the
    /// [`Client::set_condition`] call that returned `seqno`.
    pub async fn wait_condition(&self, seqno: u64) -> Result<(), ClientError> {
        self.wait_status(|_, s| s.cond_seqno >= seqno && s.phase == Phase::Monitoring).await
    }

    pub fn set_lock(&self, name: Option<&str>) {
        self.with_core(|core| core.set_lock(name));
    }

    pub fn steal_lock(&self, name: &str) {
        self.with_core(|core| core.steal_lock(name));
    }

    pub fn lock_status(&self) -> LockStatus {
        self.status().lock
    }

    /// Waits until the configured lock is held.
    pub async fn wait_lock(&self) -> Result<(), ClientError> {
        let name = self.lock_status().name.ok_or(ClientError::NoLock)?;
        self.wait_status(|_, s| s.lock.held && s.lock.name.as_deref() == Some(name.as_str())).await
    }

    /// Drops the connection and connects again (to the next remote).
    pub fn force_reconnect(&self) {
        self.with_core(|core| core.force_reconnect(Instant::now()));
    }

    /// Waits until connected, then commits `txn`. The replica shows the
    /// transaction's effects when this returns (see [`TxnOutcome::seqno`]).
    pub async fn transact(&self, txn: &Transaction) -> Result<TxnOutcome, TxnError> {
        self.transact_owned(txn.clone()).await
    }

    /// Like [`Client::transact`], taking the transaction: its operations
    /// go out without being copied.
    pub async fn transact_owned(&self, txn: Transaction) -> Result<TxnOutcome, TxnError> {
        self.wait_connected().await.map_err(|_| TxnError::Closed)?;
        self.submit(txn)?.await.map_err(|_| TxnError::Closed)?
    }

    fn submit(&self, txn: Transaction) -> Result<oneshot::Receiver<Result<TxnOutcome, TxnError>>, TxnError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut inner = self.lock();
            let id = inner.core.transact_owned(txn)?;
            inner.waiters.insert(id, tx);
        }
        self.shared.wake.notify_one();
        Ok(rx)
    }

    /// Builds a transaction from the replica with `build` and commits it,
    /// again and again while the failure is one that a fresh look at the
    /// database may cure (a verified column changed, the connection
    /// dropped): each retry waits for the replica to change first, as
    /// Open vSwitch's IDL loop does. Bound it with `tokio::time::timeout`.
    pub async fn transact_with_retry<T, E>(
        &self,
        database: &str,
        mut build: impl FnMut(&Replica, &mut Transaction) -> Result<T, E>,
    ) -> Result<(T, TxnOutcome), RetryError<E>> {
        loop {
            self.wait_connected().await.map_err(|_| RetryError::Txn(TxnError::Closed))?;
            let mut txn = Transaction::new(database);
            let (value, seqno) = {
                let guard = self.replica();
                (build(&guard, &mut txn).map_err(RetryError::Build)?, guard.seqno())
            };
            let result = match self.submit(txn) {
                Ok(rx) => rx.await.unwrap_or(Err(TxnError::Closed)),
                Err(e) => Err(e),
            };
            match result {
                Ok(outcome) => return Ok((value, outcome)),
                Err(TxnError::TryAgain(_)) => {
                    self.wait_change(seqno).await.map_err(|_| RetryError::Txn(TxnError::Closed))?;
                }
                Err(TxnError::NotConnected | TxnError::Disconnected) => {}
                Err(e) => return Err(RetryError::Txn(e)),
            }
        }
    }
}

type Reader = Box<dyn AsyncRead + Send + Unpin>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;
type Connecting = Pin<Box<dyn Future<Output = std::io::Result<(Reader, Writer)>> + Send>>;

struct Connection {
    reader: Reader,
    writer: Writer,
    framer: Framer,
}

/// Writes `pieces` one after the other, as many at a time as one
/// vectored write takes.
async fn write_pieces<W: AsyncWrite + Unpin + ?Sized>(w: &mut W, pieces: &[Vec<u8>]) -> std::io::Result<()> {
    use std::io::IoSlice;
    // Most systems take at most 1,024 slices in one write.
    const MAX_SLICES: usize = 1024;
    let (mut i, mut offset) = (0, 0);
    while i < pieces.len() {
        if offset == pieces[i].len() {
            (i, offset) = (i + 1, 0);
            continue;
        }
        let slices: Vec<IoSlice> = std::iter::once(&pieces[i][offset..])
            .chain(pieces[i + 1..].iter().take(MAX_SLICES - 1).map(|p| &p[..]))
            .map(IoSlice::new)
            .collect();
        let mut n = w.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 && i < pieces.len() {
            let left = pieces[i].len() - offset;
            if n < left {
                offset += n;
                n = 0;
            } else {
                n -= left;
                (i, offset) = (i + 1, 0);
            }
        }
    }
    Ok(())
}

async fn open(remote: Remote) -> std::io::Result<(Reader, Writer)> {
    match remote {
        Remote::Unix(path) => {
            let (r, w) = tokio::net::UnixStream::connect(path).await?.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        Remote::Tcp { host, port } => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            let (r, w) = stream.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        Remote::Ssl { .. } => {
            Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "ssl: remotes are not supported yet"))
        }
    }
}

/// What woke the driver.
enum Event {
    Stop,
    Poked,
    Timer,
    Connected(std::io::Result<(Reader, Writer)>),
    Read(std::io::Result<usize>),
}

async fn drive(shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let mut conn: Option<Connection> = None;
    let mut connecting: Option<Connecting> = None;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        // Carry out what the core asked for.
        let (commands, deadline) = {
            let mut inner = shared.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner.core.handle_timeout(Instant::now());
            let commands = inner.core.take_commands();
            let mut io = Vec::with_capacity(commands.len());
            for c in commands {
                match c {
                    Command::TxnDone { id, result } => {
                        if let Some(w) = inner.waiters.remove(&id) {
                            let _ = w.send(result);
                        }
                    }
                    other => io.push(other),
                }
            }
            shared.status.send_if_modified(|s| {
                let now = inner.core.status();
                let changed = *s != now;
                *s = now;
                changed
            });
            (io, inner.core.poll_timeout())
        };
        let mut write_error = None;
        for c in commands {
            match c {
                Command::Connect(remote) => {
                    conn = None;
                    connecting = Some(Box::pin(open(remote)));
                }
                Command::Disconnect => {
                    conn = None;
                    connecting = None;
                }
                Command::Send(msg) => {
                    if let Some(c) = conn.as_mut()
                        && write_error.is_none()
                        && let Err(e) = c.writer.write_all(&msg.to_bytes()).await
                    {
                        write_error = Some(e.to_string());
                    }
                }
                Command::SendText(pieces) => {
                    if let Some(c) = conn.as_mut()
                        && write_error.is_none()
                        && let Err(e) = write_pieces(&mut c.writer, &pieces).await
                    {
                        write_error = Some(e.to_string());
                    }
                }
                Command::TxnDone { .. } => {}
            }
        }
        if let Some(e) = write_error {
            conn = None;
            shared.inner.lock().unwrap_or_else(|e| e.into_inner()).core.handle_disconnected(Instant::now(), &e);
            continue;
        }

        let event = tokio::select! {
            _ = &mut stop => Event::Stop,
            _ = shared.wake.notified() => Event::Poked,
            _ = sleep_until(deadline) => Event::Timer,
            r = async { match connecting.as_mut() { Some(f) => f.await, None => std::future::pending().await } } => Event::Connected(r),
            r = async { match conn.as_mut() { Some(c) => c.reader.read(&mut buf).await, None => std::future::pending().await } } => Event::Read(r),
        };

        let mut inner = shared.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match event {
            Event::Stop => return,
            Event::Poked | Event::Timer => {}
            Event::Connected(Ok((reader, writer))) => {
                connecting = None;
                conn = Some(Connection { reader, writer, framer: Framer::new(MAX_MESSAGE) });
                inner.core.handle_connected(now);
            }
            Event::Connected(Err(e)) => {
                connecting = None;
                inner.core.handle_connect_failed(now, &e.to_string());
            }
            Event::Read(Ok(0)) => {
                conn = None;
                inner.core.handle_disconnected(now, "connection closed by peer");
            }
            Event::Read(Err(e)) => {
                conn = None;
                inner.core.handle_disconnected(now, &e.to_string());
            }
            Event::Read(Ok(n)) => {
                let Some(c) = conn.as_mut() else { continue };
                c.framer.push(&buf[..n]);
                let mut error = None;
                loop {
                    match c.framer.next_frame() {
                        Ok(Some(frame)) => {
                            if let Err(e) = inner.core.handle_frame(now, frame) {
                                error = Some(e);
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            error = Some(format!("received bad JSON: {e}"));
                            break;
                        }
                    }
                }
                if let Some(e) = error {
                    warn!("{e}");
                    conn = None;
                    inner.core.handle_disconnected(now, &e);
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// A writer that takes at most `limit` bytes a call, from one slice.
    struct Trickle {
        got: Vec<u8>,
        limit: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
            let n = buf.len().min(self.limit);
            self.got.extend_from_slice(&buf[..n]);
            std::task::Poll::Ready(Ok(n))
        }

        fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn pieces_arrive_whole_and_in_order() {
        let pieces: Vec<Vec<u8>> = (0..3000).map(|i| if i % 7 == 0 { Vec::new() } else { format!("<{i}>").into_bytes() }).collect();
        let want = pieces.concat();
        // Short writes, one slice at a time.
        for limit in [1, 3, 64, usize::MAX] {
            let mut w = Trickle { got: Vec::new(), limit };
            write_pieces(&mut w, &pieces).await.unwrap();
            assert_eq!(w.got, want, "limit {limit}");
        }
        // A socket pair, whose writes take many slices at once.
        let (a, mut b) = tokio::net::UnixStream::pair().unwrap();
        let mut w: Writer = Box::new(a);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            got
        });
        write_pieces(&mut w, &pieces).await.unwrap();
        drop(w);
        assert_eq!(reader.await.unwrap(), want);
    }
}
