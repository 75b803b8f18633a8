//! One client connection: bytes in are framed and parsed here (on the
//! runtime's worker threads, off the database thread), messages go to the
//! server loop; messages out arrive already serialised and are written
//! in order.
//!
//! A message out is written at once by whoever sends it (the server loop,
//! the syncer) when nothing is waiting before it and the socket takes it
//! all, without waking the writer task; what the socket does not take
//! goes to the writer task, and everything after it follows it there
//! until the writer has caught up.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    /// A `transact` request kept as text: its id, params and what its
    /// reader found in them (see `Server::transact_text`).
    Transact(SessionId, serde_json::Value, Box<str>, ovsdb::txn::Found, InFlight),
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
    out: Arc<Output>,
}

/// What senders and the writer task share.
struct Output {
    /// Bytes handed to the writer task and not yet written, and whether a
    /// close was asked for. Deciding to write at once and queueing behind
    /// the writer happen under this lock, so bytes never interleave.
    state: Mutex<OutState>,
    /// `state.queued`, readable without the lock (the reader pauses on it).
    backlog: AtomicUsize,
    /// The connection's socket (a duplicate descriptor), for writing at
    /// once; none for streams that are not sockets.
    fd: Option<OwnedFd>,
}

#[derive(Default)]
struct OutState {
    queued: usize,
    closed: bool,
}

impl Output {
    fn lock(&self) -> std::sync::MutexGuard<'_, OutState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The writer task wrote `n` queued bytes.
    fn written(&self, n: usize) {
        let mut st = self.lock();
        st.queued -= n.min(st.queued);
        self.backlog.store(st.queued, Ordering::Relaxed);
    }
}

impl SessionHandle {
    /// Sends a message: written at once when nothing waits before it and
    /// the socket takes it, otherwise queued for the writer task. Returns
    /// false when the client has fallen too far behind (the connection is
    /// then closed) or is gone.
    pub fn send(&self, chunks: Vec<Bytes>) -> bool {
        let mut chunks: VecDeque<Bytes> = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let mut st = self.out.lock();
        if st.closed {
            return false;
        }
        if st.queued == 0
            && let Some(fd) = &self.out.fd
        {
            write_now(fd, &mut chunks);
            if chunks.is_empty() {
                return true;
            }
        }
        let queued = st.queued + chunks.iter().map(Bytes::len).sum::<usize>();
        if queued > MAX_BACKLOG_BYTES {
            st.closed = true;
            let _ = self.tx.send(Outgoing::Close(None));
            return false;
        }
        st.queued = queued;
        self.out.backlog.store(queued, Ordering::Relaxed);
        self.tx.send(Outgoing::Message(chunks.into())).is_ok()
    }

    pub fn close(&self) {
        self.out.lock().closed = true;
        let _ = self.tx.send(Outgoing::Close(None));
    }

    /// Closes, and returns a channel that hears once the connection is shut.
    pub fn close_acked(&self) -> std::sync::mpsc::Receiver<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.out.lock().closed = true;
        let _ = self.tx.send(Outgoing::Close(Some(tx)));
        rx
    }
}

/// Writes from the front of `queue` as much as the socket takes without
/// blocking, dropping what was written. An error leaves the rest: the
/// writer task meets it again and ends the connection.
fn write_now(fd: &OwnedFd, queue: &mut VecDeque<Bytes>) {
    while !queue.is_empty() {
        let iov: Vec<libc::iovec> = queue
            .iter()
            .take(512)
            .map(|c| libc::iovec { iov_base: c.as_ptr() as *mut libc::c_void, iov_len: c.len() })
            .collect();
        // SAFETY: a zeroed msghdr is valid; it points at `iov`, which
        // lives across the call and describes memory the chunks own.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = iov.len() as _;
        // SAFETY: sendmsg on a descriptor we own, with a valid msghdr;
        // MSG_NOSIGNAL keeps a closed peer from raising SIGPIPE.
        let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
        match n {
            n if n > 0 => advance(queue, n as usize),
            n if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return,
        }
    }
}

/// Drops the first `n` bytes of `queue`.
fn advance(queue: &mut VecDeque<Bytes>, mut n: usize) {
    while n > 0 {
        let Some(front) = queue.front_mut() else { return };
        if front.len() <= n {
            n -= front.len();
            queue.pop_front();
        } else {
            let _ = front.split_to(n);
            n = 0;
        }
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
    S: AsyncRead + AsyncWrite + AsRawFd + Send + 'static,
{
    // SAFETY: the stream owns this descriptor for the duration of the
    // borrow; the duplicate is ours to close.
    let fd = unsafe { BorrowedFd::borrow_raw(stream.as_raw_fd()) }.try_clone_to_owned().ok();
    let (reader, writer) = tokio::io::split(stream);
    let (tx, rx) = mpsc::unbounded_channel();
    let out = Arc::new(Output { state: Mutex::new(OutState::default()), backlog: AtomicUsize::new(0), fd });
    let handle = SessionHandle { tx, out };
    tokio::spawn(write_loop(writer, rx, Arc::clone(&handle.out)));
    let _ = inbound.send(crate::Event::Accepted(session, handle.clone(), options.read_only));
    tokio::spawn(read_loop(reader, session, options.probe, inbound, handle))
}

async fn write_loop<W: AsyncWrite + Unpin>(mut w: W, mut rx: mpsc::UnboundedReceiver<Outgoing>, out: Arc<Output>) {
    // The chunks are shared (one update's bytes go to many sessions), so
    // they are written with vectored writes rather than copied together.
    let mut queue: VecDeque<Bytes> = VecDeque::new();
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
            out.lock().closed = true;
            return;
        }
        out.written(queued);
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
async fn write_all_vectored<W: AsyncWrite + Unpin>(w: &mut W, queue: &mut VecDeque<Bytes>) -> std::io::Result<()> {
    use std::io::IoSlice;
    while !queue.is_empty() {
        let n = {
            let slices: Vec<IoSlice<'_>> = queue.iter().take(512).map(|c| IoSlice::new(c)).collect();
            w.write_vectored(&slices).await?
        };
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        advance(queue, n);
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
    let budget = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut probe_sent = false;
    loop {
        while out.out.backlog.load(Ordering::Relaxed) > READ_PAUSE_BYTES {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if out.tx.is_closed() {
                break;
            }
        }
        // Reads go straight into the framer's buffer, in larger pieces
        // while a large message comes in.
        let room = (framer.pending() / 4).clamp(64 << 10, 4 << 20);
        let read = match probe {
            Some(interval) => match tokio::time::timeout(interval, r.read_buf(framer.read_buffer(room))).await {
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
            None => r.read_buf(framer.read_buffer(room)).await,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        probe_sent = false;
        let mut ok = true;
        loop {
            let frame = match framer.next_frame() {
                Ok(None) => break,
                Ok(Some(frame)) => frame,
                Err(e) => {
                    tracing::warn!(target: "jsonrpc", "session {session}: {e}, disconnecting");
                    ok = false;
                    break;
                }
            };
            // A `transact` goes to the database thread as text, with its
            // operations found (`ovsdb::txn::execute_text`).
            if let Some(request) = ovsdb::rpc::transact_request(frame) {
                let (id, params, found) = (request.id, Box::<str>::from(request.params), request.found);
                let Ok(permit) = budget.acquire().await else { return };
                permit.forget();
                let in_flight = InFlight(Arc::clone(&budget));
                if inbound.send(crate::Event::Inbound(Inbound::Transact(session, id, params, found, in_flight))).is_err() {
                    return;
                }
                continue;
            }
            match ovsdb::rpc::parse_frame(frame) {
                Ok(json) => match Message::from_json(json) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Messages sent from two threads at once, some far larger than the
    /// socket's buffer, to a client that reads slowly: each arrives whole,
    /// and each thread's messages arrive in the order it sent them,
    /// whether written at once or through the writer task.
    #[test]
    fn output_stays_whole_and_in_order() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let (events, inbound) = std::sync::mpsc::channel();
        {
            let _guard = runtime.enter();
            let stream = tokio::net::UnixStream::from_std(ours).unwrap();
            let options = crate::remote::RemoteOptions { probe: None, read_only: false };
            spawn(stream, 1, options, events);
        }
        let Ok(crate::Event::Accepted(_, handle, _)) = inbound.recv() else { panic!("no session") };

        // Message `i` of thread `t`: a JSON array of its numbers and
        // padding, 10 bytes to 1.5 MiB long.
        let message = |t: usize, i: usize| {
            let pad = if i % 7 == 3 { 1_500_000 } else { (i * 131) % 4000 };
            Bytes::from(format!("[{t},{i},\"{}\"]", "x".repeat(pad)))
        };
        const N: usize = 60;
        let senders: Vec<_> = (0..2)
            .map(|t| {
                let h = handle.clone();
                std::thread::spawn(move || {
                    for i in 0..N {
                        // Some messages in two chunks, as updates are sent.
                        let m = message(t, i);
                        let chunks = if i % 2 == 0 { vec![m] } else { vec![m.slice(..3), m.slice(3..)] };
                        assert!(h.send(chunks));
                    }
                })
            })
            .collect();

        let mut reader = theirs;
        let mut framer = Framer::new(8 << 20);
        let mut next = [0usize; 2];
        let mut buf = vec![0u8; 4096];
        while next != [N, N] {
            // Slowly at first, so that the socket fills up.
            if next[0] + next[1] < 10 {
                std::thread::sleep(Duration::from_millis(2));
            }
            let n = reader.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed early");
            framer.push(&buf[..n]);
            while let Some(v) = framer.next().unwrap() {
                let (t, i) = (v[0].as_u64().unwrap() as usize, v[1].as_u64().unwrap() as usize);
                assert_eq!(i, next[t], "thread {t}'s messages out of order");
                assert_eq!(serde_json::to_vec(&v).unwrap(), message(t, i).to_vec(), "message {t}/{i} damaged");
                next[t] += 1;
            }
        }
        for s in senders {
            s.join().unwrap();
        }
        handle.close();
    }
}
