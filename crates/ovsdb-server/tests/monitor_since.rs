//! monitor_cond_since on a standalone database (issue 2, point 4): a
//! reconnecting client that names the last transaction it saw receives only
//! what it missed. (Open vSwitch's standalone server answers found=false
//! and resends everything; we keep a bounded history.)

mod common;

use common::{Server, create_db_from_json};
use serde_json::{Value as Json, json};

fn schema(dir: &std::path::Path) -> std::path::PathBuf {
    let schema = json!({"name": "T", "version": "1.0.0", "tables": {"R": {"isRoot": true, "columns": {
        "n": {"type": "integer"},
        "tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}}}}}});
    create_db_from_json(dir, "t.db", &schema)
}

fn insert(c: &mut common::Client, n: i64) -> String {
    let r = c.request("transact", json!(["T", {"op": "insert", "table": "R", "row": {"n": n}}]));
    r["result"][0]["uuid"][1].as_str().unwrap().to_string()
}

#[test]
fn reconnect_gets_only_missed_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = schema(dir.path());
    let server = Server::start(dir.path(), &[db]);
    let mut writer = server.connect();
    let mut kept = Vec::new();
    for n in 0..50 {
        kept.push(insert(&mut writer, n));
    }

    // First contact: everything, and the id of the last transaction.
    let mut c = server.connect();
    let zero = "00000000-0000-0000-0000-000000000000";
    let r = c.request("monitor_cond_since", json!(["T", "m", {"R": [{"columns": ["n", "tags"]}]}, zero]));
    let [found, last, updates] = r["result"].as_array().unwrap().as_slice() else { panic!("{r}") };
    assert_eq!(found, &json!(false));
    assert_eq!(updates["R"].as_object().unwrap().len(), 50);
    let last = last.as_str().unwrap().to_string();
    assert_ne!(last, zero);
    drop(c);

    // While it is away: one insert, one modify, one delete.
    let added = insert(&mut writer, 100);
    let r = writer.request("transact", json!(["T",
        {"op": "mutate", "table": "R", "where": [["_uuid", "==", ["uuid", kept[1]]]], "mutations": [["tags", "insert", "x"]]},
        {"op": "delete", "table": "R", "where": [["_uuid", "==", ["uuid", kept[2]]]]}]));
    assert_eq!(r["result"], json!([{"count": 1}, {"count": 1}]));

    let mut c = server.connect();
    let r = c.request("monitor_cond_since", json!(["T", "m", {"R": [{"columns": ["n", "tags"]}]}, last]));
    let [found, new_last, updates] = r["result"].as_array().unwrap().as_slice() else { panic!("{r}") };
    assert_eq!(found, &json!(true));
    assert_ne!(new_last.as_str().unwrap(), last);
    let expected: Json = json!({"R": {
        added.clone(): {"insert": {"n": 100}},
        kept[1].clone(): {"modify": {"tags": "x"}},
        kept[2].clone(): {"delete": null}}});
    assert_eq!(updates, &expected);

    // Nothing missed: nothing sent.
    let r = c.request("monitor_cond_since", json!(["T", "m2", {"R": [{"columns": ["n"]}]}, new_last]));
    assert_eq!(r["result"], json!([true, new_last, {}]));

    // Later updates carry the transaction id, to resume from next time.
    insert(&mut writer, 7);
    let upd = loop {
        if let Some(n) = c.notifications.pop() {
            break n;
        }
        let m = c.recv().unwrap();
        c.notifications.push(m);
    };
    assert_eq!(upd["method"], json!("update3"));
    assert!(ovsdb::Uuid::parse(upd["params"][1].as_str().unwrap()).is_some());

    // An id the server never issued: a full resend.
    let r = c.request("monitor_cond_since", json!(["T", "m3", {"R": [{"columns": ["n"]}]}, "11111111-2222-3333-4444-555555555555"]));
    assert_eq!(r["result"][0], json!(false));
    assert_eq!(r["result"][2]["R"].as_object().unwrap().len(), 51);
}

/// Transaction ids are derived from the file, so history survives a
/// restart: clients reconnecting to a restarted server (the reconnect
/// storm) receive only what they missed, not the whole database.
#[test]
fn resume_across_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = schema(dir.path());
    let server = Server::start(dir.path(), std::slice::from_ref(&db));
    let mut writer = server.connect();
    let mut rows = Vec::new();
    for n in 0..30 {
        rows.push(insert(&mut writer, n));
    }
    let mut c = server.connect();
    let zero = "00000000-0000-0000-0000-000000000000";
    let r = c.request("monitor_cond_since", json!(["T", "m", {"R": [{"columns": ["n"]}]}, zero]));
    let last = r["result"][1].as_str().unwrap().to_string();
    drop(c);
    insert(&mut writer, 99);
    drop(writer);
    drop(server);

    // Restarted on the same file: the id is still known.
    let server = Server::start(dir.path(), std::slice::from_ref(&db));
    let mut c = server.connect();
    let r = c.request("monitor_cond_since", json!(["T", "m", {"R": [{"columns": ["n"]}]}, last]));
    assert_eq!(r["result"][0], json!(true), "{r}");
    let table = r["result"][2]["R"].as_object().unwrap();
    assert_eq!(table.len(), 1, "only the missed insert: {r}");
    assert_eq!(table.values().next().unwrap(), &json!({"insert": {"n": 99}}));

    // Compaction keeps ids meaningful too.
    let now_last = r["result"][1].as_str().unwrap().to_string();
    server.appctl(&["ovsdb-server/compact"]);
    let mut writer = server.connect();
    insert(&mut writer, 100);
    drop(writer);
    drop(c);
    drop(server);
    let server = Server::start(dir.path(), std::slice::from_ref(&db));
    let mut c = server.connect();
    let r = c.request("monitor_cond_since", json!(["T", "m", {"R": [{"columns": ["n"]}]}, now_last]));
    assert_eq!(r["result"][0], json!(true), "{r}");
    assert_eq!(r["result"][2]["R"].as_object().unwrap().len(), 1, "{r}");
}
