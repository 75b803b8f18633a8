//! The engine without any server: the diff converges (applying its
//! operations leaves nothing more to do), incremental recomputation gives
//! exactly what a compilation from scratch gives, a one-port change
//! recomputes that port's units only, and bad rows become diagnostics.

mod nbgen;

use nbgen::{Nb, converge, empty_nb, empty_sb, snapshot, transact};
use ovn_northd::compile::Compiler;
use ovn_northd::diff::Differ;
use ovn_northd::nb::Northbound;
use ovsdb::Uuid;
use ovsdb::db::Database;
use serde_json::json;

fn topology(db: &mut Database) {
    let mut nb = Nb::default();
    let p1 = nb.port("p1", &["50:54:00:00:00:01 10.0.0.11 fd00::11"]);
    let p2 = nb.port("p2", &["50:54:00:00:00:02 10.0.0.12", "unknown"]);
    let q1 = nb.port("q1", &["50:54:00:00:01:01 20.0.0.11"]);
    let a1 = nb.acl("from-lport", 1000, "ip4 && tcp", "allow-related");
    let a2 = nb.acl("to-lport", 900, "outport == @pg1 && ip4.src == $as1", "drop");
    nb.switch("sw0", &[p1.clone(), p2], &[a1]);
    nb.switch("sw1", std::slice::from_ref(&q1), &[]);
    nb.port_group("pg1", &[p1, q1], &[a2]);
    nb.address_set("as1", &["10.0.0.0/24".into(), "20.0.0.11".into()]);
    nb.run(db);
}

/// [`topology`] compiled and written to a Southbound until nothing is
/// left to do; the number of rounds that took.
fn converged_topology() -> (Compiler, Differ, Database, Database, usize) {
    let mut nb = empty_nb();
    let mut sb = empty_sb();
    topology(&mut nb);
    let mut c = Compiler::new(7);
    c.load(&nb, &sb);
    let mut differ = Differ::new();
    let rounds = converge(&mut c, &mut differ, &mut nb, &mut sb);
    (c, differ, nb, sb, rounds)
}

#[test]
fn diff_converges_and_is_stable() {
    let (c, _, nb, sb, rounds) = converged_topology();
    assert!(rounds <= 3, "{rounds} rounds");
    // A fresh compiler on the result wants exactly what is there.
    let mut fresh = Compiler::new(99);
    fresh.load(&nb, &sb);
    assert_eq!(snapshot(&fresh), snapshot(&c));
    let mut d2 = Differ::new();
    let dirty = fresh.take_dirty();
    let ops = d2.diff(fresh.desired(), &dirty, &sb, &nb).expect("diff");
    assert!(ops.is_empty(), "{ops:#?}");
    // Every switch and port has its keys.
    assert_eq!(sb.table_by_name("Datapath_Binding").unwrap().2.len(), 2);
    assert_eq!(sb.table_by_name("Port_Binding").unwrap().2.len(), 3);
    assert!(sb.table_by_name("Logical_Flow").unwrap().2.len() > 100);
    assert!(!sb.table_by_name("Logical_DP_Group").unwrap().2.is_empty());
}

/// A few edits applied one by one; after each, the incremental result
/// must equal a compilation from scratch, and the diff must converge.
#[test]
fn incremental_equals_full() {
    let (mut c, mut differ, mut nb, mut sb, _) = converged_topology();

    let port = |db: &Database, name: &str| -> Uuid {
        let (_, ts, t) = db.table_by_name("Logical_Switch_Port").unwrap();
        let col = ts.column_id("name").unwrap();
        *t.rows
            .iter()
            .find(|(_, r)| r.field(col).as_set()[0].as_str() == Some(name))
            .unwrap()
            .0
    };
    type Edit<'a> = Box<dyn Fn(&mut Database) + 'a>;
    let edits: Vec<Edit> = vec![
        Box::new(|db| {
            let p = port(db, "p1");
            transact(
                db,
                vec![
                    json!({"op": "update", "table": "Logical_Switch_Port", "where": [["_uuid", "==", ["uuid", p.to_string()]]], "row": {"addresses": "50:54:00:00:00:a1 10.0.0.21"}}),
                ],
            );
        }),
        Box::new(|db| {
            let p = port(db, "p2");
            transact(
                db,
                vec![
                    json!({"op": "update", "table": "Logical_Switch_Port", "where": [["_uuid", "==", ["uuid", p.to_string()]]], "row": {"addresses": ["set", []], "enabled": false}}),
                ],
            );
        }),
        Box::new(|db| {
            transact(
                db,
                vec![
                    json!({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "np", "row": {"name": "q2", "addresses": "50:54:00:00:01:02 20.0.0.12", "type": "localnet"}}),
                    json!({"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "sw1"]], "mutations": [["ports", "insert", ["set", [["named-uuid", "np"]]]]]}),
                ],
            );
        }),
        Box::new(|db| {
            transact(
                db,
                vec![
                    json!({"op": "insert", "table": "ACL", "uuid-name": "a", "row": {"direction": "to-lport", "priority": 5, "match": "udp", "action": "allow-related"}}),
                    json!({"op": "mutate", "table": "Port_Group", "where": [["name", "==", "pg1"]], "mutations": [["acls", "insert", ["set", [["named-uuid", "a"]]]]]}),
                ],
            );
        }),
        Box::new(|db| {
            let p = port(db, "p1");
            transact(
                db,
                vec![
                    json!({"op": "mutate", "table": "Port_Group", "where": [["name", "==", "pg1"]], "mutations": [["ports", "delete", ["set", [["uuid", p.to_string()]]]]]}),
                ],
            );
        }),
        Box::new(|db| {
            transact(
                db,
                vec![
                    json!({"op": "update", "table": "Address_Set", "where": [["name", "==", "as1"]], "row": {"addresses": ["set", ["30.0.0.1"]]}}),
                ],
            );
        }),
        Box::new(|db| {
            let q1 = port(db, "q1");
            transact(
                db,
                vec![
                    json!({"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "sw1"]], "mutations": [["ports", "delete", ["set", [["uuid", q1.to_string()]]]]]}),
                    json!({"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "sw0"]], "mutations": [["ports", "insert", ["set", [["uuid", q1.to_string()]]]]]}),
                ],
            );
        }),
        Box::new(|db| {
            transact(
                db,
                vec![
                    json!({"op": "update", "table": "Logical_Switch", "where": [["name", "==", "sw0"]], "row": {"other_config": ["map", [["subnet", "10.0.0.0/24"]]]}}),
                ],
            );
            let p = port(db, "p2");
            transact(
                db,
                vec![
                    json!({"op": "update", "table": "Logical_Switch_Port", "where": [["_uuid", "==", ["uuid", p.to_string()]]], "row": {"addresses": "dynamic", "enabled": true}}),
                ],
            );
        }),
        Box::new(|db| {
            transact(
                db,
                vec![json!({"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "sw1"]]})],
            );
        }),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let before = Northbound::load(&nb);
        edit(&mut nb);
        let changes = before.changes_from(&nb);
        c.update(&nb, &changes, &sb, &[]);
        converge(&mut c, &mut differ, &mut nb, &mut sb);
        let mut fresh = Compiler::new(7);
        fresh.load(&nb, &sb);
        assert_eq!(snapshot(&c), snapshot(&fresh), "edit {i}: incremental and full differ");
        let dirty = fresh.take_dirty();
        let ops = Differ::new().diff(fresh.desired(), &dirty, &sb, &nb).expect("diff");
        assert!(ops.is_empty(), "edit {i}: a fresh diff still finds {ops:#?}");
    }
}

#[test]
fn one_port_change_touches_its_units() {
    let mut nb = empty_nb();
    let sb = empty_sb();
    topology(&mut nb);
    let mut c = Compiler::new(7);
    let full = c.load(&nb, &sb);
    assert!(full.full);
    c.take_dirty();
    let before = Northbound::load(&nb);
    transact(
        &mut nb,
        vec![
            json!({"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", "p1"]], "row": {"addresses": "50:54:00:00:00:a1 10.0.0.21"}}),
        ],
    );
    let changes = before.changes_from(&nb);
    assert_eq!(changes.len(), 1);
    let r = c.update(&nb, &changes, &sb, &[]);
    assert_eq!(
        (r.ports, r.datapaths, r.switch_acls, r.port_groups),
        (1, 0, 0, 0),
        "{r:?}"
    );
    assert_eq!(r.switch_infos, 1);
    let dirty = c.take_dirty();
    assert_eq!(dirty.port_bindings.len(), 1);
    assert!(
        !dirty.flows.is_empty() && dirty.flows.len() < 12,
        "{} flows dirty",
        dirty.flows.len()
    );
}

#[test]
fn bad_rows_become_diagnostics() {
    let mut nb = empty_nb();
    let sb = empty_sb();
    let mut b = Nb::default();
    let p1 = b.port("p1", &["not-a-mac 10.0.0.1", "50:54:00:00:00:01 10.0.0.11"]);
    let p2 = b.insert(
        "Logical_Switch_Port",
        json!({"name": "p2", "type": "frobnicator", "port_security": "junk"}),
    );
    let a = b.acl("from-lport", 10, "this is not a match", "drop");
    b.switch("sw0", &[p1, p2], &[a]);
    b.run(&mut nb);
    let mut c = Compiler::new(1);
    c.load(&nb, &sb);
    let diags: Vec<String> = c.diagnostics().iter().map(|d| d.to_string()).collect();
    assert!(diags.iter().any(|d| d.contains("not-a-mac")), "{diags:?}");
    assert!(diags.iter().any(|d| d.contains("frobnicator")), "{diags:?}");
    assert!(diags.iter().any(|d| d.contains("junk")), "{diags:?}");
    // The rest still compiles: p1's good address has its flows.
    assert!(
        c.desired()
            .flows
            .iter()
            .any(|(f, _)| &*f.match_ == "eth.dst == 50:54:00:00:00:01")
    );
    assert!(c.desired().port_bindings.contains_key("p2"));
}

#[test]
fn mac_prefix_follows_nb_global() {
    let mut nb = empty_nb();
    let sb = empty_sb();
    let mut c = Compiler::new(3);
    c.load(&nb, &sb);
    let random = c.global().mac_prefix;
    let before = Northbound::load(&nb);
    transact(
        &mut nb,
        vec![json!({"op": "insert", "table": "NB_Global", "row": {"options": ["map", [["mac_prefix", "0a:0b:0c"]]]}})],
    );
    c.update(&nb, &before.changes_from(&nb), &sb, &[]);
    assert_ne!(random.to_string(), c.global().mac_prefix.to_string());
    assert_eq!(c.global().mac_prefix.to_string(), "0a:0b:0c:00:00:00");
}
