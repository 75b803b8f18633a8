//! A minimal blocking JSON-RPC connection to one OVSDB server: send a
//! request, read messages until its reply, or read every message in turn
//! (monitors, locks).
//!
//! Messages are parsed with [`crate::ovs_json`] rather than `ovsdb::rpc`,
//! because the tools print objects from replies in the order Open vSwitch
//! would iterate them, which depends on the order members arrived in;
//! requests are built the same way for symmetry. This module is the only
//! network code of the tools, kept small so that it can give way to the
//! `ovsdb-client` crate's connection once that offers request/response and
//! notification streams.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use crate::cli::{self, Fatal};
use crate::ovs_json::{Json, Parser};

/// The default OVSDB port of `tcp:` remotes given without one.
const DEFAULT_PORT: u16 = 6640;

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.write_all(buf),
            Stream::Tcp(s) => s.write_all(buf),
        }
    }
}

/// A JSON-RPC message (`struct jsonrpc_msg`).
#[derive(Debug)]
pub enum Message {
    Request { method: String, params: Json, id: Json },
    Notify { method: String, params: Json },
    Reply { result: Json, id: Json },
    Error { error: Json, id: Json },
}

impl Message {
    pub fn id(&self) -> Option<&Json> {
        match self {
            Message::Request { id, .. } | Message::Reply { id, .. } | Message::Error { id, .. } => Some(id),
            Message::Notify { .. } => None,
        }
    }

    fn to_json(&self) -> Json {
        let mut j = Json::object();
        match self {
            Message::Request { method, params, id } => {
                j.put("method", Json::string(method.clone()));
                j.put("params", params.clone());
                j.put("id", id.clone());
            }
            Message::Notify { method, params } => {
                j.put("method", Json::string(method.clone()));
                j.put("params", params.clone());
                j.put("id", Json::Null);
            }
            Message::Reply { result, id } => {
                j.put("result", result.clone());
                j.put("error", Json::Null);
                j.put("id", id.clone());
            }
            Message::Error { error, id } => {
                j.put("result", Json::Null);
                j.put("error", error.clone());
                j.put("id", id.clone());
            }
        }
        j
    }

    /// Classifies a received object as `jsonrpc_msg_from_json` does; a
    /// JSON `null` member counts as absent.
    fn from_json(json: Json) -> Option<Message> {
        let Json::Object(mut o) = json else { return None };
        let mut take = |name: &str| o.remove(name).filter(|v| !v.is_null());
        let (method, params, result, error, id) = (
            take("method"),
            take("params"),
            take("result"),
            take("error"),
            take("id"),
        );
        if !o.is_empty() {
            return None;
        }
        let method = match method {
            Some(Json::String(s)) => Some(s),
            Some(_) => return None,
            None => None,
        };
        if params.as_ref().is_some_and(|p| !matches!(p, Json::Array(_))) {
            return None;
        }
        Some(match (method, params, result, error, id) {
            (Some(method), Some(params), None, None, Some(id)) => Message::Request { method, params, id },
            (Some(method), Some(params), None, None, None) => Message::Notify { method, params },
            (None, None, Some(result), None, Some(id)) => Message::Reply { result, id },
            (None, None, None, Some(error), Some(id)) => Message::Error { error, id },
            _ => return None,
        })
    }
}

/// Why receiving failed, as `jsonrpc_recv` reports it.
#[derive(Debug)]
pub enum RecvError {
    /// The server closed the connection.
    Eof,
    Io(std::io::Error),
    /// Bytes that are not a JSON-RPC message.
    Protocol,
}

impl RecvError {
    /// `ovs_retval_to_string`: what Open vSwitch appends in parentheses.
    pub fn text(&self) -> String {
        match self {
            RecvError::Eof => "End of file".into(),
            RecvError::Io(e) => cli::strerror(e),
            RecvError::Protocol => cli::errno_text(libc::EPROTO),
        }
    }
}

/// One connection to a server.
pub struct Connection {
    stream: Stream,
    /// The remote as given (`unix:PATH`), for messages.
    name: String,
    /// Received bytes not parsed yet.
    buf: Vec<u8>,
    next_id: i64,
}

impl Connection {
    /// Connects to `remote` (`unix:PATH`, `tcp:HOST[:PORT]`), or listens on
    /// a passive one (`punix:PATH`, `ptcp:PORT[:IP]`) for one connection,
    /// with Open vSwitch's messages on failure.
    pub fn open(remote: &str) -> Result<Connection, Fatal> {
        let stream = match connect(remote) {
            Ok(s) => s,
            Err(OpenError::NotActive) => match accept(remote) {
                Ok(s) => s,
                Err(OpenError::NotActive) => {
                    return Err(cli::fatal(format!(
                        "failed to connect or listen to \"{remote}\" ({})",
                        cli::errno_text(libc::EAFNOSUPPORT)
                    )));
                }
                Err(OpenError::Io(e)) => {
                    return Err(cli::fatal(format!(
                        "failed to connect or listen to \"{remote}\" ({})",
                        cli::strerror(&e)
                    )));
                }
            },
            Err(OpenError::Io(e)) => {
                return Err(cli::fatal(format!(
                    "failed to connect to \"{remote}\" ({})",
                    cli::strerror(&e)
                )));
            }
        };
        Ok(Connection {
            stream,
            name: remote.to_string(),
            buf: Vec::new(),
            next_id: 0,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends a request and returns its id.
    pub fn send_request(&mut self, method: &str, params: Json) -> std::io::Result<Json> {
        let id = Json::Integer(self.next_id);
        self.next_id += 1;
        self.send(&Message::Request {
            method: method.into(),
            params,
            id: id.clone(),
        })?;
        Ok(id)
    }

    pub fn send(&mut self, msg: &Message) -> std::io::Result<()> {
        self.stream.write_all(msg.to_json().to_text(0).as_bytes())
    }

    /// Reads the next message, blocking.
    pub fn recv(&mut self) -> Result<Message, RecvError> {
        let mut parser = Parser::new(false);
        loop {
            if !self.buf.is_empty() {
                let n = parser.feed(&self.buf);
                self.buf.drain(..n);
                if parser.is_done() {
                    let json = parser.finish().map_err(|_| RecvError::Protocol)?;
                    return Message::from_json(json).ok_or(RecvError::Protocol);
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).map_err(RecvError::Io)?;
            if n == 0 {
                return Err(if parser.is_started() {
                    RecvError::Protocol
                } else {
                    RecvError::Eof
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next message other than an `echo` request, which it answers, as
    /// a client that stays connected must.
    pub fn recv_answering_echo(&mut self) -> Result<Message, RecvError> {
        loop {
            match self.recv()? {
                Message::Request { method, params, id } if method == "echo" => {
                    self.send(&Message::Reply { result: params, id })
                        .map_err(RecvError::Io)?;
                }
                msg => return Ok(msg),
            }
        }
    }

    /// Sends a request and waits for its reply or error, discarding
    /// anything else (`jsonrpc_transact_block`).
    pub fn transact(&mut self, method: &str, params: Json) -> Result<Message, RecvError> {
        let id = self.send_request(method, params).map_err(RecvError::Io)?;
        loop {
            let msg = self.recv()?;
            if matches!(msg, Message::Reply { .. } | Message::Error { .. }) && msg.id().is_some_and(|i| i.equal(&id)) {
                return Ok(msg);
            }
        }
    }

    /// A transaction whose failure, or error reply, ends the program as
    /// ovsdb-client's `check_txn` does; returns the result.
    pub fn transact_checked(&mut self, method: &str, params: Json, json_flags: u32) -> Result<Json, Fatal> {
        match self.transact(method, params) {
            Ok(Message::Reply { result, .. }) => Ok(result),
            Ok(Message::Error { error, .. }) => Err(cli::fatal(format!(
                "transaction returned error: {}",
                error.to_text(json_flags)
            ))),
            Ok(_) => Err(cli::fatal("transaction failed")),
            Err(e) => Err(cli::fatal(format!("transaction failed ({})", e.text()))),
        }
    }

    pub fn set_read_timeout(&mut self, t: Option<Duration>) {
        let _ = match &self.stream {
            Stream::Unix(s) => s.set_read_timeout(t),
            Stream::Tcp(s) => s.set_read_timeout(t),
        };
    }
}

enum OpenError {
    /// Not an active remote: try it as a passive one.
    NotActive,
    Io(std::io::Error),
}

fn connect(remote: &str) -> Result<Stream, OpenError> {
    if let Some(path) = remote.strip_prefix("unix:") {
        return UnixStream::connect(path).map(Stream::Unix).map_err(OpenError::Io);
    }
    if let Some(target) = remote.strip_prefix("tcp:") {
        let (host, port) = split_host_port(target);
        let port = port.unwrap_or(DEFAULT_PORT);
        return TcpStream::connect((host.as_str(), port))
            .map(|s| {
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            })
            .map_err(OpenError::Io);
    }
    Err(OpenError::NotActive)
}

fn accept(remote: &str) -> Result<Stream, OpenError> {
    if let Some(path) = remote.strip_prefix("punix:") {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(OpenError::Io)?;
        let res = listener.accept().map(|(s, _)| Stream::Unix(s)).map_err(OpenError::Io);
        let _ = std::fs::remove_file(path);
        return res;
    }
    if let Some(target) = remote.strip_prefix("ptcp:") {
        // ptcp:PORT[:IP]
        let (port, ip) = target.split_once(':').unwrap_or((target, "0.0.0.0"));
        let port: u16 = port
            .parse()
            .map_err(|_| OpenError::Io(std::io::Error::from_raw_os_error(libc::EINVAL)))?;
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        let listener = std::net::TcpListener::bind((ip, port)).map_err(OpenError::Io)?;
        return listener.accept().map(|(s, _)| Stream::Tcp(s)).map_err(OpenError::Io);
    }
    Err(OpenError::NotActive)
}

/// `HOST:PORT`, `HOST`, `[V6]:PORT` or `[V6]`.
fn split_host_port(s: &str) -> (String, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').unwrap_or((rest, ""));
        return (host.to_string(), tail.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_string(), p.parse().ok()),
        _ => (s.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_shapes() {
        let m = Message::from_json(Json::parse(br#"{"id":null,"method":"update","params":[null,{}]}"#).unwrap());
        assert!(matches!(m, Some(Message::Notify { .. })));
        let m = Message::from_json(Json::parse(br#"{"id":3,"result":[],"error":null}"#).unwrap());
        assert!(matches!(m, Some(Message::Reply { .. })));
        let m = Message::from_json(Json::parse(br#"{"id":3,"error":"x"}"#).unwrap());
        assert!(matches!(m, Some(Message::Error { .. })));
        assert!(Message::from_json(Json::parse(br#"{"id":3}"#).unwrap()).is_none());
        assert!(Message::from_json(Json::parse(br#"{"id":3,"method":"x","params":{}}"#).unwrap()).is_none());
    }

    #[test]
    fn host_and_port() {
        assert_eq!(split_host_port("127.0.0.1:6641"), ("127.0.0.1".into(), Some(6641)));
        assert_eq!(split_host_port("[::1]:6641"), ("::1".into(), Some(6641)));
        assert_eq!(split_host_port("localhost"), ("localhost".into(), None));
    }
}
