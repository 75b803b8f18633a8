//! The daemon as operators drive it (issue 2, points 3, 6 and 7):
//! `--detach` with a pidfile, `ovs-appctl` commands, remotes added and
//! removed at run time, outgoing remotes, and `db:` remotes configured from
//! a Connection row (inactivity probe, read-only).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, create_db, schema_path, wait_for};
use serde_json::{Value as Json, json};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn appctl(ctl: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("ovs-appctl").arg("-t").arg(ctl).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn pid_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

/// Reads one JSON message from a stream (tests use small messages).
fn read_json(stream: &mut impl Read) -> Option<Json> {
    let mut framer = ovsdb::rpc::Framer::new(1 << 20);
    let mut buf = [0u8; 4096];
    loop {
        if let Ok(Some(v)) = framer.next() {
            return Some(v);
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => framer.push(&buf[..n]),
        }
    }
}

#[test]
fn detach_pidfile_and_exit() {
    let dir = tempfile::tempdir().unwrap();
    let db = create_db(dir.path(), "conf.db", &schema_path("vswitch.ovsschema"));
    let (sock, ctl, pidfile) = (dir.path().join("db.sock"), dir.path().join("s.ctl"), dir.path().join("s.pid"));
    let st = Command::new(env!("CARGO_BIN_EXE_rovsdb-server"))
        .args(["--detach", "--no-chdir", "-vconsole:off"])
        .arg(format!("--pidfile={}", pidfile.display()))
        .arg(format!("--unixctl={}", ctl.display()))
        .arg(format!("--remote=punix:{}", sock.display()))
        .arg(format!("--log-file={}", dir.path().join("s.log").display()))
        .arg(&db)
        .status()
        .unwrap();
    assert!(st.success());
    // --detach returns only once the server serves.
    assert!(sock.exists() && ctl.exists());
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    let guard = scopeguard(pid);
    assert!(pid_alive(pid));
    let (ok, out, _) = appctl(&ctl, &["ovsdb-server/list-dbs"]);
    assert!(ok);
    assert_eq!(out, "Open_vSwitch\n_Server\n");
    let (ok, _, _) = appctl(&ctl, &["exit"]);
    assert!(ok);
    wait_for("the server to exit", Duration::from_secs(10), || !pid_alive(pid));
    assert!(!pidfile.exists(), "pidfile left behind");
    assert!(!ctl.exists(), "control socket left behind");
    drop(guard);
}

/// Kills the detached server if a test fails half-way.
struct PidGuard(i32);
impl Drop for PidGuard {
    fn drop(&mut self) {
        if pid_alive(self.0) {
            // SAFETY: sending a signal to a pid we started.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
}
fn scopeguard(pid: i32) -> PidGuard {
    PidGuard(pid)
}

#[test]
fn appctl_commands() {
    let dir = tempfile::tempdir().unwrap();
    let vs = create_db(dir.path(), "conf.db", &schema_path("vswitch.ovsschema"));
    let nb = create_db(dir.path(), "nb.db", &schema_path("ovn-nb.ovsschema"));
    let server = Server::start(dir.path(), std::slice::from_ref(&vs));
    assert!(server.appctl(&["version"]).contains("rovsdb-server"));
    assert!(server.appctl(&["memory/show"]).contains("sessions:"));
    assert!(server.appctl(&["list-commands"]).contains("ovsdb-server/compact"));
    server.appctl(&["ovsdb-server/compact"]);
    server.appctl(&["ovsdb-server/compact", "Open_vSwitch"]);

    // Remotes come and go at run time.
    let port = free_port();
    let remote = format!("ptcp:{port}:127.0.0.1");
    server.appctl(&["ovsdb-server/add-remote", &remote]);
    assert!(server.appctl(&["ovsdb-server/list-remotes"]).contains(&remote));
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.write_all(br#"{"id":1,"method":"list_dbs","params":[]}"#).unwrap();
    assert_eq!(read_json(&mut tcp).unwrap()["result"], json!(["Open_vSwitch", "_Server"]));
    server.appctl(&["ovsdb-server/remove-remote", &remote]);
    wait_for("the listener to close", Duration::from_secs(5), || TcpStream::connect(("127.0.0.1", port)).is_err());

    // Databases too.
    server.appctl(&["ovsdb-server/add-db", nb.to_str().unwrap()]);
    assert_eq!(server.appctl(&["ovsdb-server/list-dbs"]), "OVN_Northbound\nOpen_vSwitch\n_Server\n");
    server.appctl(&["ovsdb-server/remove-db", "OVN_Northbound"]);
    assert_eq!(server.appctl(&["ovsdb-server/list-dbs"]), "Open_vSwitch\n_Server\n");

    // Logging levels change while running.
    server.appctl(&["vlog/set", "file:dbg"]);
    assert!(server.appctl(&["vlog/list"]).contains("dbg"));
    let (ok, _, err) = appctl(&server.ctl, &["ovsdb-server/remove-db", "Nope"]);
    assert!(!ok && err.contains("Nope"), "{err}");
    let (ok, _, err) = appctl(&server.ctl, &["no-such-command"]);
    assert!(!ok && err.contains("not a valid command"), "{err}");
}

#[test]
fn outgoing_unix_remote() {
    let dir = tempfile::tempdir().unwrap();
    let db = create_db(dir.path(), "conf.db", &schema_path("vswitch.ovsschema"));
    let manager = dir.path().join("manager.sock");
    let listener = UnixListener::bind(&manager).unwrap();
    let server = Server::start(dir.path(), std::slice::from_ref(&db));
    server.appctl(&["ovsdb-server/add-remote", &format!("unix:{}", manager.display())]);
    // The server connects to us and serves over that connection.
    listener.set_nonblocking(false).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(br#"{"id":7,"method":"get_server_id","params":[]}"#).unwrap();
    let reply = read_json(&mut conn).unwrap();
    assert!(ovsdb::Uuid::parse(reply["result"].as_str().unwrap()).is_some(), "{reply}");
}

#[test]
fn db_remote_with_probe_and_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let sb = create_db(dir.path(), "sb.db", &schema_path("ovn-sb.ovsschema"));
    let port = free_port();
    let target = format!("ptcp:{port}:127.0.0.1");
    // Configure the remote in the database, as ovn-sbctl set-connection does.
    let out = Command::new("ovsdb-tool")
        .arg("transact")
        .arg(&sb)
        .arg(json!(["OVN_Southbound",
            {"op": "insert", "table": "Connection", "uuid-name": "c",
             "row": {"target": target, "inactivity_probe": 300, "read_only": true}},
            {"op": "insert", "table": "SB_Global", "row": {"connections": ["named-uuid", "c"]}}]).to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sock = dir.path().join("db.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rovsdb-server"))
        .arg(format!("--remote=punix:{}", sock.display()))
        .arg("--remote=db:OVN_Southbound,SB_Global,connections")
        .arg(format!("--unixctl={}", dir.path().join("s.ctl").display()))
        .args(["--no-chdir", "-vconsole:off"])
        .arg(&sb)
        .spawn()
        .unwrap();
    let _guard = PidGuard(child.id() as i32);
    wait_for("the configured remote to listen", Duration::from_secs(10), || TcpStream::connect(("127.0.0.1", port)).is_ok());

    // Read-only: writes are refused, reads work.
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(json!({"id": 1, "method": "transact", "params": ["OVN_Southbound",
        {"op": "insert", "table": "Chassis", "row": {"name": "hv1"}}]}).to_string().as_bytes()).unwrap();
    let r = read_json(&mut tcp).unwrap();
    assert_eq!(r["result"][0]["error"], json!("not allowed"), "{r}");

    // Idle for longer than the probe interval: the server asks if we are there...
    let start = Instant::now();
    let probe = read_json(&mut tcp).unwrap();
    assert_eq!(probe["method"], json!("echo"));
    assert!(start.elapsed() < Duration::from_secs(3));
    // ...and, with no answer, hangs up.
    assert!(read_json(&mut tcp).is_none());

    // A client that answers stays connected.
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..3 {
        let probe = read_json(&mut tcp).unwrap();
        assert_eq!(probe["method"], json!("echo"));
        tcp.write_all(json!({"id": probe["id"], "result": [], "error": null}).to_string().as_bytes()).unwrap();
    }
    tcp.write_all(br#"{"id":2,"method":"list_dbs","params":[]}"#).unwrap();
    let r = loop {
        let m = read_json(&mut tcp).unwrap();
        if m["id"] == json!(2) {
            break m;
        }
    };
    assert_eq!(r["result"], json!(["OVN_Southbound", "_Server"]));
    let _ = child.kill();
    let _ = child.wait();
}
