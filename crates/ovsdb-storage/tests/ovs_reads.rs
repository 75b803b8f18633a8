//! Files we write read by Open vSwitch 3.1's `ovsdb-tool` and
//! `ovsdb-server`: the same content as we hold.

mod support;

use std::path::Path;
use std::sync::Arc;

use ovsdb::db::Database;
use ovsdb_storage::log::{Log, OpenMode, write_database};
use serde_json::{Value as Json, json};
use support::*;

/// Creates `file` with our code and runs `steps` into it, one record each.
fn write_steps(file: &Path, schema: Arc<ovsdb::schema::DatabaseSchema>, steps: &[Json]) -> Database {
    let mut log = Log::create(file, Arc::clone(&schema)).unwrap();
    let mut db = Database::new(schema);
    for ops in steps {
        let c = commit(&mut db, ops);
        log.append(&c).unwrap();
    }
    log.sync().unwrap();
    db
}

#[test]
fn ovsdb_tool_reads_our_records() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("test.db");
    let steps: Vec<Json> = scenario().into_iter().chain(awkward_diffs()).collect();
    let db = write_steps(&file, test_schema(), &steps);
    let ours = dump(&db);

    // Every step but the ephemeral-only one made a record.
    let log = ovsdb_tool(&["show-log", path_str(&file)]);
    let lines: Vec<&str> = log.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "record 0: \"Test\" schema, version=\"1.2.3\", cksum=\"\"");
    assert_eq!(lines.len(), steps.len(), "{log}");
    assert!(lines.iter().any(|l| l.ends_with(" \"r2 goes\"")), "{log}");
    let detail = ovsdb_tool(&["-mm", "show-log", path_str(&file)]);
    assert!(
        detail.contains("table Root row \"r1\" (") && detail.contains("diff:"),
        "{detail}"
    );
    assert!(detail.contains("delete row"), "{detail}");

    assert_eq!(ovs_dump(&file, &db.schema), ours);
    assert_eq!(ovsdb_tool(&["db-name", path_str(&file)]), "Test\n");
    assert_eq!(ovsdb_tool(&["db-version", path_str(&file)]), "1.2.3\n");

    // ovsdb-tool compacts our file into one it and we read alike.
    ovsdb_tool(&["compact", path_str(&file)]);
    assert_eq!(ovs_dump(&file, &db.schema), ours);
    let reopened = Log::open(&file, OpenMode::ReadOnly).unwrap();
    assert_eq!(dump(&reopened.db), ours);
}

#[test]
fn schema_checksum_and_real_schemas() {
    for (name, ops) in [
        (
            "ovn-nb.ovsschema",
            json!([
            {"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "lsp1", "addresses": "00:00:00:00:00:01 10.0.0.1"}, "uuid-name": "p1"},
            {"op": "insert", "table": "Logical_Switch", "row": {"name": "ls1", "ports": ["named-uuid", "p1"],
                "other_config": ["map", [["subnet", "10.0.0.0/24"]]]}}]),
        ),
        (
            "ovn-sb.ovsschema",
            json!([
            {"op": "insert", "table": "Chassis", "row": {"name": "hv1", "hostname": "hv1.example",
                "encaps": ["named-uuid", "e"]}},
            {"op": "insert", "table": "Encap", "row": {"type": "geneve", "ip": "192.0.2.1", "chassis_name": "hv1"}, "uuid-name": "e"}]),
        ),
        (
            "vswitch.ovsschema",
            json!([
            {"op": "insert", "table": "Open_vSwitch", "row": {"bridges": ["named-uuid", "b"]}},
            {"op": "insert", "table": "Bridge", "row": {"name": "br-int", "ports": ["named-uuid", "p"]}, "uuid-name": "b"},
            {"op": "insert", "table": "Port", "row": {"name": "br-int", "interfaces": ["named-uuid", "i"]}, "uuid-name": "p"},
            {"op": "insert", "table": "Interface", "row": {"name": "br-int", "type": "internal"}, "uuid-name": "i"}]),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db");
        let schema = real_schema(name);
        let db = write_steps(&file, Arc::clone(&schema), &[ops]);
        let cksum = real_schema_json(name)["cksum"].as_str().unwrap().to_string();
        assert_eq!(
            ovsdb_tool(&["db-cksum", path_str(&file)]),
            format!("{cksum}\n"),
            "{name}"
        );
        assert_eq!(ovs_dump(&file, &schema), dump(&db), "{name}");
    }
}

#[test]
fn our_compaction_and_later_records() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("test.db");
    let schema = test_schema();
    let steps = scenario();
    let (first, second) = steps.split_at(6);
    let mut log = Log::create(&file, Arc::clone(&schema)).unwrap();
    let mut db = Database::new(schema);
    for ops in first {
        log.append(&commit(&mut db, ops)).unwrap();
    }
    log.sync().unwrap();
    log.compact(&db, Some("compacted by a test")).unwrap();
    let show = ovsdb_tool(&["show-log", path_str(&file)]);
    assert_eq!(show.lines().filter(|l| !l.is_empty()).count(), 2, "{show}");
    // The comment also names the last transaction id (see txn_id.rs).
    assert!(show.contains("\"compacted by a test; rovn-last-txn-id "), "{show}");
    assert_eq!(ovs_dump(&file, &db.schema), dump(&db));

    for ops in second {
        log.append(&commit(&mut db, ops)).unwrap();
    }
    log.sync().unwrap();
    assert_eq!(ovs_dump(&file, &db.schema), dump(&db));
    assert!(!dir.path().join("test.db.tmp").exists());

    // And a copy written elsewhere, as `ovsdb-tool compact DB DST` would.
    let copy = dir.path().join("copy.db");
    write_database(&copy, &db, None).unwrap();
    assert_eq!(ovs_dump(&copy, &db.schema), dump(&db));
}

/// Open vSwitch's ovsdb-server serves a file we wrote, adds its own
/// records, and we read the result.
#[test]
fn ovsdb_server_serves_our_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("test.db");
    let db = write_steps(&file, test_schema(), &scenario());

    let server = OvsdbServer::start(dir.path(), &file);
    let remote = format!("unix:{}", server.sock.display());
    let dumped = run(
        "ovsdb-client",
        &["--timeout=20", "dump", &remote, "Test", "Peer", "name"],
    );
    assert!(
        dumped.contains("p2") && dumped.contains("p3") && !dumped.contains("p1"),
        "{dumped}"
    );
    server.transact(&with_db(
        "Test",
        &json!([
        {"op": "mutate", "table": "Root", "where": [["name", "==", "r1"]], "mutations": [["ints", "insert", 99]]}]),
    ));
    server.stop();

    let reopened = Log::open(&file, OpenMode::ReadWrite).unwrap();
    let mut expected = db;
    commit(
        &mut expected,
        &json!([
        {"op": "mutate", "table": "Root", "where": [["name", "==", "r1"]], "mutations": [["ints", "insert", 99]]}]),
    );
    assert_eq!(dump(&reopened.db), dump(&expected));
}
