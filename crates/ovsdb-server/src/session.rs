//! One client connection: bytes in are framed and parsed here (on the
//! runtime's worker threads, off the database thread), messages go to the
//! server loop; messages out arrive already serialised and are written
//! in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ovsdb::rpc::{Framer, Message};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::server::SessionId;

/// Largest message accepted from a client.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;
/// A client that leaves this much unread output is disconnected.
pub const MAX_BACKLOG_BYTES: usize = 512 << 20;
/// While this much output waits for a client, its requests are not read
/// (as ovsdb-server does): a client that does not read cannot make the
/// server queue unbounded replies for it.
pub const READ_PAUSE_BYTES: usize = 1 << 20;
/// Messages a session may have waiting for the server loop. Past this its
/// reader stops reading, so one flooding client cannot push everyone
/// else's requests to the back of the queue.
pub const MAX_IN_FLIGHT: usize = 32;

/// What the connection tasks tell the server loop.
pub enum Inbound {
    /// The permit returns to the session when dropped, after handling.
    Message(SessionId, Message, InFlight),
    Closed(SessionId),
}

/// One message's place in its session's in-flight budget.
pub struct InFlight(Arc<tokio::sync::Semaphore>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.add_permits(1);
    }
}

pub enum Outgoing {
    Message(Vec<Bytes>),
    /// Close, and say so on the channel (if any) once closed.
    Close(Option<std::sync::mpsc::Sender<()>>),
}

/// The server loop's handle on a connection.
#[derive(Clone)]
pub struct SessionHandle {
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Bytes queued but not yet written: shared with the writer task,
    /// which subtracts what it writes.
    backlog: Arc<AtomicUsize>,
}

impl SessionHandle {
    /// Queues a message. Returns false when the client has fallen too far
    /// behind (the connection is then closed).
    pub fn send(&self, chunks: Vec<Bytes>) -> bool {
        let len: usize = chunks.iter().map(Bytes::len).sum();
        let queued = self.backlog.fetch_add(len, Ordering::Relaxed) + len;
        if queued > MAX_BACKLOG_BYTES {
            let _ = self.tx.send(Outgoing::Close(None));
            return false;
        }
        self.tx.send(Outgoing::Message(chunks)).is_ok()
    }

    pub fn close(&self) {
        let _ = self.tx.send(Outgoing::Close(None));
    }

    /// Closes, and returns a channel that hears once the connection is shut.
    pub fn close_acked(&self) -> std::sync::mpsc::Receiver<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        let _ = self.tx.send(Outgoing::Close(Some(tx)));
        rx
    }
}

/// Starts the tasks serving one connection. The server loop hears of the
/// session (with the handle it writes through) before any of its messages.
/// The returned task ends when the connection does.
pub fn spawn<S>(
    stream: S,
    session: SessionId,
    options: crate::remote::RemoteOptions,
    inbound: std::sync::mpsc::Sender<crate::Event>,
) -> tokio::task::JoinHandle<()>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (reader, writer) = tokio::io::split(stream);
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = SessionHandle { tx, backlog: Arc::new(AtomicUsize::new(0)) };
    tokio::spawn(write_loop(writer, rx, Arc::clone(&handle.backlog)));
    let _ = inbound.send(crate::Event::Accepted(session, handle.clone(), options.read_only));
    tokio::spawn(read_loop(reader, session, options.probe, inbound, handle))
}

async fn write_loop<W: AsyncWrite + Unpin>(mut w: W, mut rx: mpsc::UnboundedReceiver<Outgoing>, backlog: Arc<AtomicUsize>) {
    // The chunks are shared (one update's bytes go to many sessions), so
    // they are written with vectored writes rather than copied together.
    let mut queue: std::collections::VecDeque<Bytes> = std::collections::VecDeque::new();
    while let Some(first) = rx.recv().await {
        let mut close = None;
        let mut next = Some(first);
        let mut queued = 0usize;
        // Take whatever else is waiting too: one write for all of it.
        while let Some(item) = next.take() {
            match item {
                Outgoing::Message(chunks) => {
                    queued += chunks.iter().map(Bytes::len).sum::<usize>();
                    queue.extend(chunks.into_iter().filter(|c| !c.is_empty()));
                }
                Outgoing::Close(ack) => {
                    close = Some(ack);
                    break;
                }
            }
            if queued < (1 << 20) {
                next = rx.try_recv().ok();
            }
        }
        if write_all_vectored(&mut w, &mut queue).await.is_err() {
            return;
        }
        backlog.fetch_sub(queued, Ordering::Relaxed);
        if let Some(ack) = close {
            let _ = w.shutdown().await;
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
            return;
        }
    }
}

/// Writes every chunk of `queue`, in order, emptying it.
async fn write_all_vectored<W: AsyncWrite + Unpin>(w: &mut W, queue: &mut std::collections::VecDeque<Bytes>) -> std::io::Result<()> {
    use std::io::IoSlice;
    while !queue.is_empty() {
        let n = {
            let slices: Vec<IoSlice<'_>> = queue.iter().take(512).map(|c| IoSlice::new(c)).collect();
            w.write_vectored(&slices).await?
        };
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let mut left = n;
        while left > 0 {
            let Some(front) = queue.front_mut() else { break };
            if front.len() <= left {
                left -= front.len();
                queue.pop_front();
            } else {
                let _ = front.split_to(left);
                left = 0;
            }
        }
    }
    Ok(())
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut r: R,
    session: SessionId,
    probe: Option<Duration>,
    inbound: std::sync::mpsc::Sender<crate::Event>,
    out: SessionHandle,
) {
    let mut framer = Framer::new(MAX_MESSAGE_BYTES);
    let mut buf = vec![0u8; 64 << 10];
    let budget = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut probe_sent = false;
    loop {
        while out.backlog.load(Ordering::Relaxed) > READ_PAUSE_BYTES {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if out.tx.is_closed() {
                break;
            }
        }
        let read = match probe {
            Some(interval) => match tokio::time::timeout(interval, r.read(&mut buf)).await {
                Ok(res) => res,
                Err(_) if !probe_sent => {
                    probe_sent = true;
                    let echo = Message::Request { method: "echo".into(), params: vec![], id: json!("echo") };
                    out.send(vec![Bytes::from(echo.to_bytes())]);
                    continue;
                }
                Err(_) => {
                    tracing::warn!(target: "reconnect", "session {session}: no response to inactivity probe after {} seconds, disconnecting", interval.as_secs_f32() * 2.0);
                    break;
                }
            },
            None => r.read(&mut buf).await,
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        probe_sent = false;
        framer.push(&buf[..n]);
        let mut ok = true;
        loop {
            match framer.next() {
                Ok(None) => break,
                Ok(Some(json)) => match Message::from_json(json) {
                    // Echo is answered here so that a busy database never
                    // makes a client think the server died.
                    Ok(Message::Request { method, params, id }) if method == "echo" => {
                        out.send(vec![Bytes::from(ovsdb::rpc::reply_bytes(&serde_json::Value::Array(params), &id))]);
                    }
                    // Our inactivity probes are answered with id "echo";
                    // any other reply is a confused client, as in OVS.
                    Ok(Message::Reply { id, .. } | Message::Error { id, .. }) if id == json!("echo") => {}
                    Ok(Message::Reply { .. } | Message::Error { .. }) => {
                        tracing::warn!(target: "jsonrpc", "session {session}: received unexpected reply, disconnecting");
                        ok = false;
                        break;
                    }
                    Ok(msg) => {
                        let Ok(permit) = budget.acquire().await else { return };
                        permit.forget();
                        let in_flight = InFlight(Arc::clone(&budget));
                        if inbound.send(crate::Event::Inbound(Inbound::Message(session, msg, in_flight))).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "jsonrpc", "session {session}: received bad JSON-RPC message ({e}), disconnecting");
                        ok = false;
                        break;
                    }
                },
                Err(e) => {
                    tracing::warn!(target: "jsonrpc", "session {session}: {e}, disconnecting");
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            break;
        }
    }
    out.close();
    let _ = inbound.send(crate::Event::Inbound(Inbound::Closed(session)));
}
