//! Files and crashes (issue 2, point e): rovsdb-server killed with SIGKILL
//! during a write load holds, once reopened, every transaction it
//! acknowledged; its files are read by Open vSwitch 3.1's own tools and
//! server, and it serves files they wrote.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, Server};
use serde_json::{Value as Json, json};

/// A root table with a scalar, a set and a map: enough to see every kind
/// of record the file format has.
fn test_db(dir: &std::path::Path) -> std::path::PathBuf {
    let schema = json!({"name": "T", "version": "1.0.0", "tables": {"Bridge": {"isRoot": true, "columns": {
        "name": {"type": "string"},
        "external_ids": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
        "flood_vlans": {"type": {"key": "integer", "min": 0, "max": 4096}}}}}});
    common::create_db_from_json(dir, "t.db", &schema)
}

fn insert_bridge(c: &mut Client, name: &str) -> bool {
    let r = c.request("transact", json!(["T", {"op": "insert", "table": "Bridge", "row": {"name": name}}]));
    r["result"].as_array().is_some_and(|a| a.len() == 1 && a[0].get("uuid").is_some())
}

fn bridges_via_ovsdb_tool(db: &std::path::Path) -> BTreeSet<String> {
    let out = Command::new("ovsdb-tool")
        .arg("query")
        .arg(db)
        .arg(r#"["T",{"op":"select","table":"Bridge","where":[],"columns":["name"]}]"#)
        .output()
        .unwrap();
    assert!(out.status.success(), "ovsdb-tool query: {}", String::from_utf8_lossy(&out.stderr));
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    v[0]["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
}

/// Under the default policy every acknowledged commit is in the file
/// (half of them also ask for `"durable": true`, which syncs them first).
#[test]
fn sigkill_during_writes_loses_nothing_acknowledged() {
    sigkill_under_load(&[]);
}

/// Under `--fsync=always` too (every commit synced before its reply).
#[test]
fn sigkill_with_fsync_always() {
    sigkill_under_load(&["--fsync=always"]);
}

fn sigkill_under_load(options: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let db = test_db(dir.path());
    let mut server = Server::start_with(dir.path(), std::slice::from_ref(&db), options);
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let sock = server.sock.clone();
            let acked = Arc::clone(&acked);
            std::thread::spawn(move || {
                let mut c = Client::connect(&sock);
                for i in 0.. {
                    let name = format!("br-{w}-{i}");
                    let r = c.request_or_closed(
                        "transact",
                        json!(["T", {"op": "insert", "table": "Bridge", "row": {"name": name}},
                               {"op": "commit", "durable": i % 2 == 0}]),
                    );
                    match r {
                        Some(r) if r["result"][0].get("uuid").is_some() => {
                            acked.lock().unwrap().insert(name);
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    common::wait_for("writes to be acknowledged", Duration::from_secs(20), || acked.lock().unwrap().len() > 300);
    // SIGKILL: no chance to flush anything.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    // Open vSwitch's tool reads the file (it ignores a torn tail).
    let on_disk = bridges_via_ovsdb_tool(&db);
    let missing: Vec<_> = acked.difference(&on_disk).collect();
    assert!(missing.is_empty(), "{} acknowledged transactions lost, e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);

    // And we reopen it and keep serving and writing.
    drop(server);
    let server = Server::start(dir.path(), std::slice::from_ref(&db));
    let mut c = server.connect();
    let r = c.request("transact", json!(["T", {"op": "select", "table": "Bridge", "where": [], "columns": ["name"]}]));
    let served: BTreeSet<String> =
        r["result"][0]["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    assert!(acked.is_subset(&served));
    assert!(insert_bridge(&mut c, "after-restart"));
    drop(server);
    assert!(bridges_via_ovsdb_tool(&db).contains("after-restart"));
}

#[test]
fn files_round_trip_with_open_vswitch() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_db(dir.path());
    {
        let server = Server::start(dir.path(), std::slice::from_ref(&db));
        let mut c = server.connect();
        for name in ["br0", "br1", "br2"] {
            assert!(insert_bridge(&mut c, name));
        }
        // Sets and maps change in place: the file records column diffs.
        let r = c.request("transact", json!(["T",
            {"op": "mutate", "table": "Bridge", "where": [["name", "==", "br0"]],
             "mutations": [["external_ids", "insert", ["map", [["a", "1"], ["b", "2"]]]], ["flood_vlans", "insert", ["set", [1, 2, 3]]]]},
            {"op": "delete", "table": "Bridge", "where": [["name", "==", "br2"]]}]));
        assert_eq!(r["result"][0]["count"], json!(1), "{r}");
        let r = c.request("transact", json!(["T",
            {"op": "mutate", "table": "Bridge", "where": [["name", "==", "br0"]],
             "mutations": [["external_ids", "delete", ["set", ["a"]]], ["flood_vlans", "delete", ["set", [2]]]]}]));
        assert_eq!(r["result"][0]["count"], json!(1), "{r}");
        server.appctl(&["ovsdb-server/compact"]);
        assert!(insert_bridge(&mut c, "br3"));
    }
    let query = r#"["T",{"op":"select","table":"Bridge","where":[],"columns":["name","external_ids","flood_vlans"],"sort":["name"]}]"#;
    let ovs_view = |db: &std::path::Path| {
        let out = Command::new("ovsdb-tool").arg("query").arg(db).arg(query).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Json>(&out.stdout).unwrap()
    };
    let expected = json!([{"rows": [
        {"name": "br0", "external_ids": ["map", [["b", "2"]]], "flood_vlans": ["set", [1, 3]]},
        {"name": "br1", "external_ids": ["map", []], "flood_vlans": ["set", []]},
        {"name": "br3", "external_ids": ["map", []], "flood_vlans": ["set", []]}]}]);
    assert_eq!(ovs_view(&db), expected);
    for tool_cmd in [vec!["db-cksum"], vec!["show-log"], vec!["db-name"], vec!["db-version"]] {
        let st = Command::new("ovsdb-tool").args(&tool_cmd).arg(&db).output().unwrap();
        assert!(st.status.success(), "ovsdb-tool {tool_cmd:?}: {}", String::from_utf8_lossy(&st.stderr));
    }
    // Open vSwitch compacts our file and still sees the same thing...
    let st = Command::new("ovsdb-tool").arg("compact").arg(&db).status().unwrap();
    assert!(st.success());
    assert_eq!(ovs_view(&db), expected);

    // ...its own ovsdb-server serves it and writes to it...
    let sock = dir.path().join("ovs.sock");
    let mut ovs = Command::new("ovsdb-server")
        .arg(format!("--remote=punix:{}", sock.display()))
        .arg(format!("--unixctl={}", dir.path().join("ovs.ctl").display()))
        .arg("--no-chdir")
        .arg("-vconsole:off")
        .arg(&db)
        .spawn()
        .unwrap();
    common::wait_for("ovsdb-server's socket", Duration::from_secs(10), || sock.exists());
    {
        let mut c = Client::connect(&sock);
        assert!(insert_bridge(&mut c, "from-ovs"));
        let r = c.request("transact", json!(["T",
            {"op": "mutate", "table": "Bridge", "where": [["name", "==", "br0"]],
             "mutations": [["external_ids", "insert", ["map", [["c", "3"]]]]]}]));
        assert_eq!(r["result"][0]["count"], json!(1));
    }
    let _ = ovs.kill();
    let _ = ovs.wait();

    // ...and we read what it wrote (column-diff records included).
    let server = Server::start(dir.path(), std::slice::from_ref(&db));
    let mut c = server.connect();
    let r = c.request("transact", json!(["T", {"op": "select", "table": "Bridge", "where": [["name", "==", "br0"]], "columns": ["external_ids"]}]));
    assert_eq!(r["result"][0]["rows"], json!([{"external_ids": ["map", [["b", "2"], ["c", "3"]]]}]));
    let r = c.request("transact", json!(["T", {"op": "select", "table": "Bridge", "where": [["name", "==", "from-ovs"]], "columns": ["name"]}]));
    assert_eq!(r["result"][0]["rows"], json!([{"name": "from-ovs"}]));
}
