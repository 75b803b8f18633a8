//! The replica follows the server: concurrent writers, typed rows,
//! condition changes at run time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ovsdb::monitor::Version;
use ovsdb_client::core::Phase;
use ovsdb_client::typed::Table as _;
use ovsdb_client::{Clause, Client, Condition, Replica, Transaction, nb};
use sandbox::Impl;
use serde_json::{Value as Json, json};

use crate::common::{Server, config, connected, create_db, schema_text, within};

pub fn nb_server(imp: Impl, dir: &Path) -> Server {
    let db = create_db(dir, "nb", &schema_text("ovn-nb.ovsschema"));
    Server::start(imp, dir, &[db])
}

/// The switches of a replica as (name, other_config), by UUID.
pub fn switches(r: &Replica) -> BTreeMap<ovsdb::Uuid, (String, BTreeMap<String, String>)> {
    r.iter::<nb::LogicalSwitch>().map(|s| (s.uuid, (s.name, s.other_config))).collect()
}

/// The switches as the server has them, read with a `select`.
pub async fn server_switches(client: &Client) -> BTreeMap<ovsdb::Uuid, (String, BTreeMap<String, String>)> {
    let mut txn = Transaction::new(nb::DATABASE);
    let op = txn.select(nb::LogicalSwitch::TABLE, &[], &["_uuid", "name", "other_config"]);
    let out = within("select", client.transact(&txn)).await.expect("select");
    out.rows(op)
        .iter()
        .map(|row| {
            let uuid = ovsdb::Uuid::parse(row["_uuid"][1].as_str().unwrap()).unwrap();
            let pairs = row["other_config"][1].as_array().unwrap();
            let other = pairs.iter().map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string())).collect();
            (uuid, (row["name"].as_str().unwrap().to_string(), other))
        })
        .collect()
}

fn names(r: &Replica) -> Vec<String> {
    let mut v: Vec<String> = r.iter::<nb::LogicalSwitch>().map(|s| s.name).collect();
    v.sort();
    v
}

const WRITES: usize = 15;

async fn writer(client: Client, w: usize) {
    for k in 0..WRITES {
        let mut txn = Transaction::new(nb::DATABASE);
        let ls = nb::LogicalSwitch { name: format!("w{w}-{k}"), ..Default::default() };
        let provisional = txn.insert_row(&ls);
        let out = within("insert", client.transact(&txn)).await.expect("insert");
        let uuid = out.uuid(provisional).expect("inserted uuid");
        // The server sends a transaction's updates before its reply, so the
        // replica already has the row.
        let mine = client.replica().get::<nb::LogicalSwitch>(uuid).expect("own insert in the replica");
        assert_eq!(mine.name, ls.name);
        if k % 2 == 0 {
            let mut new = mine.clone();
            new.other_config.insert("k".into(), k.to_string());
            let mut txn = Transaction::new(nb::DATABASE);
            txn.update_row(&new, Some(&mine));
            within("update", client.transact(&txn)).await.expect("update");
        }
        if k % 3 == 0 {
            let mut txn = Transaction::new(nb::DATABASE);
            txn.delete_row(nb::LogicalSwitch::TABLE, uuid);
            within("delete", client.transact(&txn)).await.expect("delete");
            assert!(client.replica().get::<nb::LogicalSwitch>(uuid).is_none());
        }
    }
}

async fn replica_follows_concurrent_writers(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let server = nb_server(imp, dir.path());
    let cfg = || config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>();
    let reader = connected(cfg()).await;
    let mut tasks = Vec::new();
    for w in 0..3 {
        let client = connected(cfg()).await;
        tasks.push(tokio::spawn(writer(client, w)));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let truth = server_switches(&reader).await;
    assert_eq!(truth.len(), 3 * (WRITES - WRITES.div_ceil(3)));
    within("the reader to converge", reader.wait_for(|r| switches(r) == truth)).await.unwrap();
    // Every change arrived as an update: one full copy only.
    let st = reader.status();
    assert_eq!((st.stats.full_syncs, st.stats.inconsistencies), (1, 0));
    let changes = reader.take_changes();
    let t = changes.table(nb::LogicalSwitch::TABLE).unwrap();
    // Inserted-then-deleted rows do not show; inserted-then-modified ones
    // show as inserted.
    assert_eq!((t.inserted.len(), t.modified.len(), t.deleted.len()), (truth.len(), 0, 0));
}

async fn typed_rows(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let server = nb_server(imp, dir.path());
    let client = connected(
        config(nb::DATABASE, vec![server.remote()])
            .monitor_typed::<nb::LogicalSwitch>()
            .monitor_typed::<nb::LogicalSwitchPort>()
            .monitor_typed::<nb::ACL>(),
    )
    .await;
    nb::check_schema(client.replica().schema().unwrap()).expect("the server's schema fits the bindings");

    let mut txn = Transaction::new(nb::DATABASE);
    let port = nb::LogicalSwitchPort {
        name: "lsp0".into(),
        addresses: BTreeSet::from(["00:00:00:00:00:01 10.0.0.1".to_string()]),
        r#type: "router".into(),
        tag_request: Some(7),
        enabled: Some(true),
        ..Default::default()
    };
    let acl = nb::ACL {
        direction: "to-lport".into(),
        priority: 1001,
        r#match: "ip4".into(),
        action: "allow-related".into(),
        label: 3,
        ..Default::default()
    };
    let port_p = txn.insert_row(&port);
    let acl_p = txn.insert_row(&acl);
    let switch = nb::LogicalSwitch {
        name: "sw0".into(),
        ports: BTreeSet::from([port_p]),
        acls: BTreeSet::from([acl_p]),
        other_config: BTreeMap::from([("subnet".into(), "10.0.0.0/24".into())]),
        external_ids: BTreeMap::from([("owner".into(), "test".into())]),
        ..Default::default()
    };
    let switch_p = txn.insert_row(&switch);
    let out = within("insert", client.transact(&txn)).await.expect("insert");
    let (port_u, acl_u, switch_u) = (out.uuid(port_p).unwrap(), out.uuid(acl_p).unwrap(), out.uuid(switch_p).unwrap());

    let r = client.replica();
    let got = r.get::<nb::LogicalSwitch>(switch_u).unwrap();
    assert_eq!(got, nb::LogicalSwitch { uuid: switch_u, ports: BTreeSet::from([port_u]), acls: BTreeSet::from([acl_u]), ..switch });
    assert_eq!(r.get::<nb::LogicalSwitchPort>(port_u).unwrap(), nb::LogicalSwitchPort { uuid: port_u, ..port });
    assert_eq!(r.get::<nb::ACL>(acl_u).unwrap(), nb::ACL { uuid: acl_u, ..acl });
    // Rows convert back to the engine's rows and JSON alike.
    let ts = r.schema().unwrap().table(nb::LogicalSwitch::TABLE).unwrap();
    let row = r.table(nb::LogicalSwitch::TABLE).unwrap().get(switch_u).unwrap().clone();
    assert_eq!(got.to_row(ts), *row);
    assert_eq!(Json::Object(got.to_json_row())["name"], json!("sw0"));
    assert_eq!(nb::logical_switch::OTHER_CONFIG, "other_config");
}

async fn condition_changes(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let server = nb_server(imp, dir.path());
    let writer = connected(config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>()).await;
    let mut txn = Transaction::new(nb::DATABASE);
    for name in ["a", "b", "c"] {
        txn.insert_row(&nb::LogicalSwitch { name: name.into(), ..Default::default() });
    }
    within("insert", writer.transact(&txn)).await.unwrap();

    let named = |n: &str| Clause::eq("name", n);
    let client = connected(
        config(nb::DATABASE, vec![server.remote()])
            .monitor_typed::<nb::LogicalSwitch>()
            .condition(nb::LogicalSwitch::TABLE, Condition::any(vec![named("a")])),
    )
    .await;
    assert_eq!(names(&client.replica()), ["a"]);

    let seqno = client.set_condition(nb::LogicalSwitch::TABLE, Condition::any(vec![named("b")]));
    within("condition b", client.wait_condition(seqno)).await.unwrap();
    assert_eq!(names(&client.replica()), ["b"]);

    // Two changes in a row: the second waits for the first's answer.
    client.set_condition(nb::LogicalSwitch::TABLE, Condition::any(vec![named("c")]));
    let seqno = client.set_condition(nb::LogicalSwitch::TABLE, Condition::any(vec![named("a"), named("c")]));
    within("condition a or c", client.wait_condition(seqno)).await.unwrap();
    assert_eq!(names(&client.replica()), ["a", "c"]);

    // A row that comes to match appears; one that stops matching goes.
    let b = writer.replica().iter::<nb::LogicalSwitch>().find(|s| s.name == "b").unwrap();
    let a = writer.replica().iter::<nb::LogicalSwitch>().find(|s| s.name == "a").unwrap();
    let mut txn = Transaction::new(nb::DATABASE);
    txn.update_row(&nb::LogicalSwitch { name: "c".into(), ..b.clone() }, Some(&b));
    txn.update_row(&nb::LogicalSwitch { name: "z".into(), ..a.clone() }, Some(&a));
    within("rename", writer.transact(&txn)).await.unwrap();
    within("renamed rows", client.wait_for(|r| names(r) == ["c", "c"])).await.unwrap();

    let seqno = client.set_condition(nb::LogicalSwitch::TABLE, Condition::False);
    within("condition false", client.wait_condition(seqno)).await.unwrap();
    assert!(names(&client.replica()).is_empty());
    let seqno = client.set_condition(nb::LogicalSwitch::TABLE, Condition::True);
    within("condition true", client.wait_condition(seqno)).await.unwrap();
    assert_eq!(names(&client.replica()), ["c", "c", "z"]);
}

/// `monitor` (update) and `monitor_cond` (update2) replicas follow inserts,
/// modifications (maps, sets, scalars) and deletions as well.
async fn older_monitor_methods(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let server = nb_server(imp, dir.path());
    let writer = connected(config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>()).await;
    let mut readers = Vec::new();
    for version in [Version::V1, Version::V2] {
        let mut cfg = config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>();
        cfg.max_version = version;
        readers.push((version, connected(cfg).await));
    }
    let mut uuids = Vec::new();
    for k in 0..6 {
        let mut txn = Transaction::new(nb::DATABASE);
        let p = txn.insert_row(&nb::LogicalSwitch { name: format!("s{k}"), ..Default::default() });
        uuids.push(within("insert", writer.transact(&txn)).await.unwrap().uuid(p).unwrap());
    }
    for (k, &u) in uuids.iter().enumerate() {
        let old = writer.replica().get::<nb::LogicalSwitch>(u).unwrap();
        let mut txn = Transaction::new(nb::DATABASE);
        match k % 3 {
            0 => {
                // A port inserted in the same transaction (not a root
                // table: it lives while a switch refers to it).
                let port = txn.insert_row(&nb::LogicalSwitchPort { name: format!("p{k}"), ..Default::default() });
                let new = nb::LogicalSwitch {
                    name: format!("renamed{k}"),
                    other_config: BTreeMap::from([("a".into(), k.to_string()), ("b".into(), "x".into())]),
                    ports: BTreeSet::from([port]),
                    ..old.clone()
                };
                txn.update_row(&new, Some(&old));
            }
            1 => {
                txn.delete_row(nb::LogicalSwitch::TABLE, u);
            }
            _ => {
                txn.mutate(nb::LogicalSwitch::TABLE, &[Clause::uuid(u)], vec![json!(["other_config", "insert", ["map", [["c", "1"]]]])]);
            }
        }
        within("change", writer.transact(&txn)).await.unwrap();
    }
    // Change the maps again: a key replaced, a key removed.
    for &u in uuids.iter().step_by(3) {
        let old = writer.replica().get::<nb::LogicalSwitch>(u).unwrap();
        let mut new = old.clone();
        new.other_config.insert("a".into(), "changed".into());
        new.other_config.remove("b");
        new.ports.clear();
        let mut txn = Transaction::new(nb::DATABASE);
        txn.update_row(&new, Some(&old));
        within("change maps", writer.transact(&txn)).await.unwrap();
    }
    let truth = server_switches(&writer).await;
    let full = |r: &Replica| r.iter::<nb::LogicalSwitch>().collect::<Vec<_>>();
    let expected = full(&writer.replica());
    for (version, reader) in &readers {
        within("the reader to converge", reader.wait_for(|r| switches(r) == truth)).await.unwrap();
        assert_eq!(full(&reader.replica()), expected, "{version:?}");
        assert_eq!(reader.status().phase, Phase::Monitoring);
    }
}

crate::against_both!(replica_follows_concurrent_writers, typed_rows, condition_changes, older_monitor_methods);
