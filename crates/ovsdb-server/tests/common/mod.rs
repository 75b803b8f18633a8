//! Test support: a private rovsdb-server process and raw JSON-RPC clients.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ovsdb::rpc::Framer;
use serde_json::{Value as Json, json};

pub fn schema_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas").join(file)
}

/// Creates a database file with Open vSwitch's own tool.
pub fn create_db(dir: &Path, name: &str, schema: &Path) -> PathBuf {
    let db = dir.join(name);
    let st = Command::new("ovsdb-tool").arg("create").arg(&db).arg(schema).status().expect("run ovsdb-tool");
    assert!(st.success(), "ovsdb-tool create {}", db.display());
    db
}

/// Writes `schema` to a file and creates an empty database file from it.
pub fn create_db_from_json(dir: &Path, name: &str, schema: &Json) -> PathBuf {
    let path = dir.join(format!("{name}.ovsschema"));
    std::fs::write(&path, schema.to_string()).expect("write schema");
    create_db(dir, name, &path)
}

/// A rovsdb-server child process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub dir: PathBuf,
    pub sock: PathBuf,
    pub ctl: PathBuf,
}

impl Server {
    pub fn start(dir: &Path, dbs: &[PathBuf]) -> Server {
        Server::start_with(dir, dbs, &[])
    }

    /// Like [`Server::start`], with extra command-line options.
    pub fn start_with(dir: &Path, dbs: &[PathBuf], options: &[&str]) -> Server {
        let sock = dir.join("db.sock");
        let ctl = dir.join("server.ctl");
        let _ = std::fs::remove_file(&sock);
        let child = Command::new(env!("CARGO_BIN_EXE_rovsdb-server"))
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--unixctl={}", ctl.display()))
            .arg(format!("--log-file={}", dir.join("server.log").display()))
            .arg("--no-chdir")
            .arg("-vconsole:off")
            .args(options)
            .args(dbs)
            .env("OVS_RUNDIR", dir)
            .env("OVS_LOGDIR", dir)
            .stdin(Stdio::null())
            .spawn()
            .expect("start rovsdb-server");
        wait_for(&format!("{} to appear", sock.display()), Duration::from_secs(10), || sock.exists() && ctl.exists());
        Server { child, dir: dir.to_path_buf(), sock, ctl }
    }

    pub fn connect(&self) -> Client {
        Client::connect(&self.sock)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn appctl(&self, args: &[&str]) -> String {
        let out = Command::new("ovs-appctl").arg("-t").arg(&self.ctl).args(args).output().expect("run ovs-appctl");
        assert!(out.status.success(), "ovs-appctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A JSON-RPC client that speaks raw bytes.
pub struct Client {
    pub stream: UnixStream,
    framer: Framer,
    next_id: u64,
    /// Notifications received while waiting for replies.
    pub notifications: Vec<Json>,
}

impl Client {
    pub fn connect(path: &Path) -> Client {
        let stream = UnixStream::connect(path).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        Client { stream, framer: Framer::new(1 << 30), next_id: 1, notifications: Vec::new() }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The next message, or None if the server closed the connection.
    pub fn recv(&mut self) -> Option<Json> {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            if let Some(v) = self.framer.next().expect("server sends valid JSON") {
                return Some(v);
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.framer.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read from server: {e}"),
            }
        }
    }

    /// Sends a request and returns its reply (`result` or `error` object).
    pub fn request(&mut self, method: &str, params: Json) -> Json {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params});
        self.send_raw(&serde_json::to_vec(&msg).unwrap()).expect("send");
        loop {
            let m = self.recv().expect("connection closed before the reply");
            if m["id"] == json!(id) {
                return m;
            }
            self.notifications.push(m);
        }
    }

    /// Like [`Client::request`], but None if the connection closes first.
    pub fn request_or_closed(&mut self, method: &str, params: Json) -> Option<Json> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params});
        self.send_raw(&serde_json::to_vec(&msg).unwrap()).ok()?;
        loop {
            let m = self.recv_or_error()?;
            if m["id"] == json!(id) {
                return Some(m);
            }
            self.notifications.push(m);
        }
    }

    fn recv_or_error(&mut self) -> Option<Json> {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            if let Ok(Some(v)) = self.framer.next() {
                return Some(v);
            }
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.framer.push(&buf[..n]),
            }
        }
    }

    /// True if the server closed this connection (within the read timeout).
    pub fn closed_by_server(&mut self) -> bool {
        loop {
            match self.recv() {
                None => return true,
                Some(_) => continue,
            }
        }
    }
}
