//! Online schema conversion (the `convert` method, as `ovsdb-client
//! convert` uses it): data carried over, the file rewritten for the new
//! schema, monitors ended, failures leaving the database as it was.

mod common;

use std::process::Command;

use common::{Server, create_db_from_json};
use serde_json::{Value as Json, json};

fn schema(version: &str, extra: Json, n_max: i64) -> Json {
    let mut columns = json!({
        "name": {"type": "string"},
        "n": {"type": {"key": {"type": "integer", "maxInteger": n_max}}}});
    if let Json::Object(extra) = extra {
        columns.as_object_mut().unwrap().extend(extra);
    }
    json!({"name": "T", "version": version, "tables": {"R": {"isRoot": true, "columns": columns}}})
}

fn ovsdb_client(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("ovsdb-client").args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn convert_online() {
    let dir = tempfile::tempdir().unwrap();
    let db = create_db_from_json(dir.path(), "t.db", &schema("1.0.0", json!({}), 100));
    let server = Server::start(dir.path(), std::slice::from_ref(&db));
    let remote = format!("unix:{}", server.sock.display());
    let mut writer = server.connect();
    let r = writer.request("transact", json!(["T",
        {"op": "insert", "table": "R", "row": {"name": "a", "n": 1}},
        {"op": "insert", "table": "R", "row": {"name": "b", "n": 50}}]));
    assert!(r["result"][1]["uuid"].is_array(), "{r}");

    let mut aware = server.connect();
    assert_eq!(aware.request("set_db_change_aware", json!([true]))["result"], json!({}));
    assert!(aware.request("monitor_cond", json!(["T", "m", {"R": [{}]}]))["result"]["R"].is_object());
    let mut unaware = server.connect();
    assert!(unaware.request("monitor", json!(["T", "u", {"R": {}}]))["result"]["R"].is_object());

    // A schema whose constraints the data breaks is refused; nothing changes.
    let narrow = dir.path().join("narrow.ovsschema");
    std::fs::write(&narrow, schema("1.1.0", json!({}), 10).to_string()).unwrap();
    let (ok, _, err) = ovsdb_client(&["convert", &remote, narrow.to_str().unwrap()]);
    assert!(!ok, "conversion should fail");
    assert!(err.contains("constraint violation"), "{err}");
    let (_, version, _) = ovsdb_client(&["get-schema-version", &remote, "T"]);
    assert_eq!(version.trim(), "1.0.0");

    // A wider schema: rows keep their values, the new column its default.
    let wider = dir.path().join("wider.ovsschema");
    std::fs::write(&wider, schema("2.0.0", json!({"tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}}}), 100).to_string()).unwrap();
    let (ok, needs, _) = ovsdb_client(&["needs-conversion", &remote, wider.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(needs.trim(), "yes");
    let (ok, _, err) = ovsdb_client(&["convert", &remote, wider.to_str().unwrap()]);
    assert!(ok, "{err}");

    // Clients that said they cope see their monitor end; others are cut off.
    let cancelled = loop {
        let m = aware.recv().expect("notification");
        if m["method"] == json!("monitor_canceled") {
            break m;
        }
    };
    assert_eq!(cancelled["params"], json!(["m"]));
    assert!(unaware.closed_by_server());

    let (_, version, _) = ovsdb_client(&["get-schema-version", &remote, "T"]);
    assert_eq!(version.trim(), "2.0.0");
    let mut c = server.connect();
    let r = c.request("transact", json!(["T", {"op": "select", "table": "R", "where": [], "columns": ["name", "n", "tags"], "sort": ["name"]}]));
    assert_eq!(r["result"][0]["rows"], json!([
        {"name": "a", "n": 1, "tags": ["set", []]},
        {"name": "b", "n": 50, "tags": ["set", []]}]));
    let r = c.request("transact", json!(["T", {"op": "insert", "table": "R", "row": {"name": "c", "tags": "x"}}]));
    assert!(r["result"][0]["uuid"].is_array(), "{r}");

    // On disk too, for Open vSwitch's tools and after a restart.
    drop(c);
    drop(server);
    let out = Command::new("ovsdb-tool").arg("db-version").arg(&db).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2.0.0");
    let server = Server::start(dir.path(), std::slice::from_ref(&db));
    let mut c = server.connect();
    let r = c.request("transact", json!(["T", {"op": "select", "table": "R", "where": [["name", "==", "c"]], "columns": ["tags"]}]));
    assert_eq!(r["result"][0]["rows"], json!([{"tags": "x"}]));

    // Another database's schema is refused.
    let other = dir.path().join("other.ovsschema");
    let mut s = schema("3.0.0", json!({}), 100);
    s["name"] = json!("U");
    std::fs::write(&other, s.to_string()).unwrap();
    let r = c.request("convert", json!(["T", s]));
    assert_eq!(r["error"]["error"], json!("invalid parameters"), "{r}");
}
