//! Files written by Open vSwitch 3.1 (`ovsdb-tool`, `ovsdb-server`) read by
//! us: the same rows as Open vSwitch itself reads from them.

mod support;

use ovsdb_storage::log::{Log, OpenMode};
use serde_json::{Value as Json, json};
use support::*;

/// The database in `file`, read by us without touching the file.
fn read(file: &std::path::Path) -> ovsdb_storage::log::Opened {
    let opened = Log::open(file, OpenMode::ReadOnly).unwrap();
    assert_eq!(opened.torn_tail, None);
    opened
}

#[test]
fn ovsdb_tool_transact_records() {
    let dir = tempfile::tempdir().unwrap();
    let file = ovs_file(dir.path(), "test.db", &test_schema_json(), &scenario());

    // The file holds what this test is about: diffs, deletes, comments.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"_is_diff\":true"));
    assert!(text.contains(":null"));
    assert!(text.contains("\"_comment\":\"r2 goes\""));

    let opened = read(&file);
    let ours = dump(&opened.db);
    assert_eq!(ours, ovs_dump(&file, &opened.schema));

    // And it is what the scenario means.
    let db = &opened.db;
    assert_eq!(
        db.table_by_name("Child").unwrap().2.len(),
        2,
        "c1 and c2 were collected"
    );
    assert_eq!(db.table_by_name("Peer").unwrap().2.len(), 2);
    let r1 = find(db, "Root", "name", &json!("r1"));
    let (_, ts, root) = db.table_by_name("Root").unwrap();
    let row = root.get(&r1).unwrap();
    let col = |name: &str| row.field(ts.column_id(name).unwrap()).to_json();
    assert_eq!(col("ints"), json!(["set", [2, 3, 4]]));
    assert_eq!(col("opts"), json!(["map", [["k\"2", "changed"], ["k3", "v3"]]]));
    assert_eq!(
        col("peers"),
        json!(["uuid", find(db, "Peer", "name", &json!("p2")).to_string()])
    );
    assert_eq!(col("peer_by_name").as_array().unwrap()[1].as_array().unwrap().len(), 1);
    assert_eq!(col("r"), json!(2.25));
}

#[test]
fn ovsdb_tool_compact_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = ovs_file(dir.path(), "test.db", &test_schema_json(), &scenario());
    let before = dump(&read(&file).db);
    ovsdb_tool(&["compact", path_str(&file)]);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().count(),
        4,
        "schema and one snapshot"
    );
    let opened = read(&file);
    assert_eq!(dump(&opened.db), before);
}

/// A real ovsdb-server: its transaction records, its online compaction, and
/// diffs that Open vSwitch 3.1.0's own reader gets wrong. The oracle is the
/// server's memory, queried before it stops.
#[test]
fn ovsdb_server_records() {
    let dir = tempfile::tempdir().unwrap();
    let file = ovs_file(dir.path(), "test.db", &test_schema_json(), &[]);
    let server = OvsdbServer::start(dir.path(), &file);
    let steps = scenario();
    let (first, second) = steps.split_at(5);
    for ops in first {
        server.transact(&with_db("Test", ops));
    }
    server.appctl(&["ovsdb-server/compact"]);
    for ops in second.iter().chain(&awkward_diffs()) {
        server.transact(&with_db("Test", ops));
    }
    let schema = test_schema();
    let mut selects = vec![json!("Test")];
    for ts in &schema.tables {
        selects.push(json!({"op": "select", "table": ts.name, "where": []}));
    }
    let in_memory = server.transact(&Json::Array(selects));
    server.stop();

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("compacting database online"));
    let opened = read(&file);
    let mut expected = Dump::new();
    for (ts, result) in schema.tables.iter().zip(in_memory.as_array().unwrap()) {
        let rows = result["rows"].as_array().unwrap();
        let mut table = std::collections::BTreeMap::new();
        for row_json in rows {
            let mut row = ovsdb::row::Row::new_default(ts, ovsdb::Uuid::ZERO);
            row.update_from_json(ts, row_json, None).unwrap();
            let fields = ts
                .user_columns()
                .map(|(c, cs)| {
                    if cs.ephemeral {
                        ovsdb::Datum::default_for(&cs.ty)
                    } else {
                        row.field(c).clone()
                    }
                })
                .collect();
            table.insert(row.uuid, fields);
        }
        expected.insert(ts.name.clone(), table);
    }
    assert_eq!(dump(&opened.db), expected);
    let r3 = find(&opened.db, "Root", "name", &json!("r3"));
    let (_, ts, root) = opened.db.table_by_name("Root").unwrap();
    assert_eq!(
        root.get(&r3).unwrap().field(ts.column_id("two").unwrap()).to_json(),
        json!(["set", [1, 2]])
    );
    let r1 = find(&opened.db, "Root", "name", &json!("r1"));
    assert_eq!(
        root.get(&r1).unwrap().field(ts.column_id("two").unwrap()).to_json(),
        json!(["set", [0, 5]])
    );
}

/// OVN's northbound schema, with the kinds of change northd's clients make.
#[test]
fn ovn_northbound_records() {
    let dir = tempfile::tempdir().unwrap();
    let steps = [
        json!([
            {"op": "insert", "table": "NB_Global", "row": {"options": ["map", [["mac_prefix", "0a:00:00"]]]}},
            {"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "lsp1", "addresses": "00:00:00:00:00:01 10.0.0.1"}, "uuid-name": "p1"},
            {"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "lsp2", "addresses": "dynamic"}, "uuid-name": "p2"},
            {"op": "insert", "table": "ACL", "row": {"priority": 1001, "direction": "to-lport", "match": "ip4 && tcp.dst == 22", "action": "drop"}, "uuid-name": "a1"},
            {"op": "insert", "table": "Logical_Switch", "row": {"name": "ls1", "ports": ["set", [["named-uuid", "p1"], ["named-uuid", "p2"]]], "acls": ["named-uuid", "a1"], "external_ids": ["map", [["neutron:name", "net1"]]]}}
        ]),
        json!([
            {"op": "insert", "table": "Logical_Router_Port", "row": {"name": "lrp1", "mac": "00:00:00:00:ff:01", "networks": "10.0.0.254/24"}, "uuid-name": "rp"},
            {"op": "insert", "table": "Logical_Router", "row": {"name": "lr1", "ports": ["named-uuid", "rp"]}},
            {"op": "mutate", "table": "Logical_Switch_Port", "where": [["name", "==", "lsp1"]], "mutations": [["options", "insert", ["map", [["requested-chassis", "hv1"]]]]]}
        ]),
        json!([{"op": "update", "table": "Logical_Switch", "where": [["name", "==", "ls1"]], "row": {"acls": ["set", []]}}]),
        json!([{"op": "mutate", "table": "Logical_Switch", "where": [], "mutations": [["external_ids", "insert", ["map", [["k", "v"]]]], ["other_config", "insert", ["map", [["subnet", "10.0.0.0/24"]]]]]}]),
        json!([{"op": "delete", "table": "Logical_Router", "where": []}]),
    ];
    let file = ovs_file(dir.path(), "nb.db", &real_schema_json("ovn-nb.ovsschema"), &steps);
    let opened = read(&file);
    let ours = dump(&opened.db);
    assert_eq!(ours, ovs_dump(&file, &opened.schema));
    assert_eq!(ours["ACL"].len(), 0, "the ACL was collected");
    assert_eq!(ours["Logical_Router_Port"].len(), 0, "so was the router's port");
    assert_eq!(ours["Logical_Switch_Port"].len(), 2);
}
