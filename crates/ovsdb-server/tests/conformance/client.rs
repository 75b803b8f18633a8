//! A small synchronous JSON-RPC client over a Unix socket: test code only.
//!
//! Messages are framed by parsing: the server sends JSON values back to
//! back, so bytes are buffered and each complete value is taken off the
//! front. A read that times out leaves the buffer intact, so a connection
//! stays usable after a wait that found nothing.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

pub struct Connection {
    stream: UnixStream,
    /// Bytes received and not yet parsed into a message.
    buf: Vec<u8>,
}

/// Why no message came.
#[derive(Debug, Clone, PartialEq)]
pub enum RecvError {
    /// The server closed the connection.
    Closed,
    /// Nothing complete arrived before the deadline.
    TimedOut,
    /// The server sent something that is not JSON.
    Garbage(String),
}

impl Connection {
    pub fn connect(socket: &Path) -> std::io::Result<Connection> {
        Ok(Connection { stream: UnixStream::connect(socket)?, buf: Vec::new() })
    }

    pub fn send(&mut self, msg: &Value) -> std::io::Result<()> {
        self.send_text(&msg.to_string())
    }

    pub fn send_text(&mut self, text: &str) -> std::io::Result<()> {
        self.stream.write_all(text.as_bytes())
    }

    /// The next message, waiting until `deadline` at most.
    pub fn recv(&mut self, deadline: Instant) -> Result<Value, RecvError> {
        loop {
            let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
            match it.next() {
                Some(Ok(value)) => {
                    let used = it.byte_offset();
                    self.buf.drain(..used);
                    return Ok(value);
                }
                Some(Err(e)) if !e.is_eof() => return Err(RecvError::Garbage(e.to_string())),
                _ => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvError::TimedOut);
            }
            self.stream.set_read_timeout(Some(left)).expect("nonzero timeout");
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(RecvError::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(RecvError::TimedOut);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(RecvError::Closed),
            }
        }
    }
}
