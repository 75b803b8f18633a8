//! Bad input (issue 2, point f): malformed JSON, unknown methods, wrong
//! parameter shapes, oversized messages, clients that never read. Each gets
//! an error reply or a disconnect, and the server keeps serving everyone
//! else.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{Server, create_db, schema_path};
use serde_json::json;

fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let db = create_db(dir.path(), "conf.db", &schema_path("vswitch.ovsschema"));
    let s = Server::start(dir.path(), &[db]);
    (dir, s)
}

/// The server still answers a well-behaved client.
fn still_serving(s: &mut Server) {
    assert!(s.alive(), "server died");
    let mut c = s.connect();
    let r = c.request("list_dbs", json!([]));
    assert_eq!(r["result"], json!(["Open_vSwitch", "_Server"]));
}

#[test]
fn malformed_json_disconnects_that_client_only() {
    let (_d, mut s) = server();
    let mut bystander = s.connect();
    for junk in [&b"{\"id\":1,\"method\":\"echo\",\"params\":[tru]}"[..], b"hello", b"]", b"{\"a\":\"\\x\"}"] {
        let mut c = s.connect();
        c.send_raw(junk).unwrap();
        assert!(c.closed_by_server(), "not disconnected after {:?}", String::from_utf8_lossy(junk));
    }
    assert_eq!(bystander.request("echo", json!(["hi"]))["result"], json!(["hi"]));
    still_serving(&mut s);
}

#[test]
fn invalid_messages_disconnect() {
    let (_d, mut s) = server();
    for msg in [
        json!([1, 2, 3]),
        json!({"id": 1, "method": "echo", "params": {}}),
        json!({"id": 1, "method": 7, "params": []}),
        json!({"id": 1, "method": "echo", "params": [], "surprise": true}),
        json!({"id": 1, "method": "echo"}),
    ] {
        let mut c = s.connect();
        c.send_raw(&serde_json::to_vec(&msg).unwrap()).unwrap();
        assert!(c.closed_by_server(), "not disconnected after {msg}");
    }
    still_serving(&mut s);
}

#[test]
fn unknown_methods_and_wrong_shapes_get_errors() {
    let (_d, mut s) = server();
    let mut c = s.connect();
    assert_eq!(c.request("frobnicate", json!([]))["error"], json!("unknown method"));
    let cases = [
        ("transact", json!([]), "syntax error"),
        ("transact", json!([5]), "syntax error"),
        ("transact", json!(["Nope"]), "unknown database"),
        ("get_schema", json!([]), "syntax error"),
        ("get_schema", json!(["Nope"]), "unknown database"),
        ("monitor", json!(["Open_vSwitch"]), "syntax error"),
        ("monitor_cond", json!(["Open_vSwitch", null, 7]), "syntax error"),
        ("monitor_cond", json!(["Open_vSwitch", null, {"NoTable": {}}]), "syntax error"),
        ("monitor_cond_since", json!(["Open_vSwitch", null, {}, "not-a-uuid"]), "syntax error"),
        ("monitor_cond_change", json!([1, 2]), "syntax error"),
        ("lock", json!([]), "syntax error"),
        ("lock", json!(["not an id"]), "syntax error"),
        ("unlock", json!(["never_locked"]), "syntax error"),
        ("set_db_change_aware", json!(["yes"]), "syntax error"),
    ];
    for (method, params, tag) in cases {
        let r = c.request(method, params.clone());
        assert_eq!(r["error"]["error"], json!(tag), "{method} {params}: {r}");
        assert_eq!(r["result"], json!(null));
    }
    assert_eq!(c.request("monitor_cancel", json!([]))["error"], json!("invalid parameters"));
    assert_eq!(c.request("monitor_cancel", json!(["x"]))["error"], json!("unknown monitor"));
    // Operations with the wrong shape fail inside the transaction's results.
    let r = c.request("transact", json!(["Open_vSwitch", 5, {"op": "nope"}]));
    assert_eq!(r["result"][0]["error"], json!("syntax error"));
    assert_eq!(r["result"][1], json!(null));
    still_serving(&mut s);
}

#[test]
fn oversized_message_disconnects() {
    let (_d, mut s) = server();
    let mut c = s.connect();
    let mut writer = c.stream.try_clone().unwrap();
    // A single JSON text larger than the server accepts (256 MiB).
    let sent = std::thread::spawn(move || {
        let chunk = vec![b'a'; 1 << 20];
        writer.write_all(b"{\"id\":1,\"method\":\"echo\",\"params\":[\"").ok()?;
        for _ in 0..300 {
            writer.write_all(&chunk).ok()?;
        }
        Some(())
    });
    assert!(c.closed_by_server());
    assert!(sent.join().unwrap().is_none(), "the server read 300 MiB without closing");
    still_serving(&mut s);
}

#[test]
fn client_that_never_reads_does_not_stall_others() {
    let (_d, mut s) = server();
    let mut greedy = s.connect();
    // Ask for far more output than a client is allowed to leave unread
    // (each get_schema reply is about 26 kB), and never read any of it.
    let req = serde_json::to_vec(&json!({"id": 0, "method": "get_schema", "params": ["Open_vSwitch"]})).unwrap();
    let batch: Vec<u8> = req.iter().copied().cycle().take(req.len() * 1000).collect();
    greedy.stream.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut other = s.connect();
    let start = Instant::now();
    let mut stalled = false;
    while start.elapsed() < Duration::from_secs(60) {
        if greedy.send_raw(&batch).is_err() {
            // The server stopped reading the greedy client: backpressure.
            stalled = true;
            break;
        }
        let t = Instant::now();
        let r = other.request("transact", json!(["Open_vSwitch", {"op": "select", "table": "Bridge", "where": []}]));
        assert!(r["result"].is_array(), "{r}");
        assert!(t.elapsed() < Duration::from_secs(2), "a bystander waited {:?}", t.elapsed());
    }
    assert!(stalled, "the server kept reading requests whose replies nobody reads");
    // Memory stays bounded: the server holds at most about a megabyte of
    // unread replies for that client, not the gigabytes it asked for.
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    let rss_kb: u64 = status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).unwrap().parse().unwrap();
    assert!(rss_kb < 200 * 1024, "server RSS {rss_kb} kB");
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(other.request("echo", json!([1]))["result"], json!([1]));
        assert!(t.elapsed() < Duration::from_secs(1));
    }
    drop(greedy);
    still_serving(&mut s);
}
