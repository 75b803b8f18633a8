//! Connections that go away: a cut network (resume with
//! monitor_cond_since where the server keeps history), a server restart,
//! fail-over between remotes, a silent server.

use std::collections::BTreeMap;
use std::time::Duration;

use ovsdb_client::core::Phase;
use ovsdb_client::reconnect::Timing;
use ovsdb_client::typed::Table as _;
use ovsdb_client::{Clause, Client, Condition, Transaction, nb};
use sandbox::Impl;
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixListener;

use crate::common::{Proxy, Server, config, connected, create_db, schema_text, within};
use crate::replica::{nb_server, server_switches, switches};

async fn insert(client: &Client, name: &str) -> ovsdb::Uuid {
    let mut txn = Transaction::new(nb::DATABASE);
    let p = txn.insert_row(&nb::LogicalSwitch { name: name.into(), ..Default::default() });
    within("insert", client.transact(&txn)).await.expect("insert").uuid(p).unwrap()
}

/// Switches a and b, seen by `client`, whose changes are then taken.
async fn two_switches(writer: &Client, client: &Client) -> (ovsdb::Uuid, ovsdb::Uuid) {
    let a = insert(writer, "a").await;
    let b = insert(writer, "b").await;
    within("the client to see a and b", client.wait_for(|r| switches(r).len() == 2)).await.unwrap();
    client.take_changes();
    (a, b)
}

/// A server, a writer connected to it, and a proxy in front of it whose
/// connections the test cuts.
struct Partition {
    writer: Client,
    proxy: Proxy,
    /// Kept for its drop: the server stops with the fixture.
    _server: Server,
    _dir: tempfile::TempDir,
}

impl Partition {
    async fn new(imp: Impl) -> Partition {
        let dir = tempfile::tempdir().unwrap();
        let server = nb_server(imp, dir.path());
        let proxy = Proxy::start(dir.path().join("proxy.sock"), server.sock());
        let writer = connected(config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>()).await;
        Partition { writer, proxy, _server: server, _dir: dir }
    }

    /// A client behind the proxy, replicating the switches.
    fn config(&self) -> ovsdb_client::Config {
        config(nb::DATABASE, vec![self.proxy.remote()]).monitor_typed::<nb::LogicalSwitch>()
    }

    async fn cut(&self, client: &Client) {
        self.proxy.cut();
        within("the client to notice", client.wait_until(|s| s.phase != Phase::Monitoring)).await.unwrap();
    }

    async fn restore(&self, client: &Client) {
        self.proxy.restore();
        within("the client to reconnect", client.wait_connected()).await.unwrap();
    }
}

/// Missed changes while disconnected: a modify, a delete, an insert.
async fn miss_some(writer: &Client, modify: ovsdb::Uuid, delete: ovsdb::Uuid) -> ovsdb::Uuid {
    let old = writer.replica().get::<nb::LogicalSwitch>(modify).unwrap();
    let new = nb::LogicalSwitch { other_config: BTreeMap::from([("x".into(), "1".into())]), ..old.clone() };
    let mut txn = Transaction::new(nb::DATABASE);
    txn.update_row(&new, Some(&old));
    txn.delete_row(nb::LogicalSwitch::TABLE, delete);
    within("update and delete", writer.transact(&txn)).await.expect("update and delete");
    insert(writer, "c").await
}

/// Exactly the missed changes, whichever way the replica caught up.
fn assert_missed(client: &Client, modified: ovsdb::Uuid, deleted: ovsdb::Uuid, inserted: ovsdb::Uuid) {
    let changes = client.take_changes();
    let t = changes.table(nb::LogicalSwitch::TABLE).unwrap();
    let uuids = |rows: &[std::sync::Arc<ovsdb::row::Row>]| rows.iter().map(|r| r.uuid).collect::<Vec<_>>();
    assert_eq!(uuids(&t.inserted), [inserted]);
    assert_eq!(uuids(&t.deleted), [deleted]);
    assert_eq!(t.modified.len(), 1);
    assert_eq!(t.modified[0].new.uuid, modified);
    assert!(t.changed(&t.modified[0], "other_config"));
    assert!(!t.changed(&t.modified[0], "name"));
}

async fn resume_after_connection_loss(imp: Impl) {
    let net = Partition::new(imp).await;
    let writer = &net.writer;
    let client = connected(net.config()).await;
    let (a, b) = two_switches(writer, &client).await;

    net.cut(&client).await;
    let c = miss_some(writer, a, b).await;
    net.restore(&client).await;
    let truth = server_switches(writer).await;
    assert_eq!(switches(&client.replica()), truth);
    assert_missed(&client, a, b, c);

    let st = client.status();
    match imp {
        // rovsdb-server keeps history: only the missed updates come back.
        Impl::Ours => assert_eq!((st.stats.full_syncs, st.stats.resumed_syncs), (1, 1)),
        // Open vSwitch's standalone server does not: found=false, all again.
        Impl::Debian => assert_eq!((st.stats.full_syncs, st.stats.resumed_syncs), (2, 0)),
    }
    assert_eq!(st.stats.inconsistencies, 0);
}

async fn server_restart(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = nb_server(imp, dir.path());
    let cfg = || config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>();
    let writer = connected(cfg()).await;
    let client = connected(cfg()).await;
    let (a, b) = two_switches(&writer, &client).await;

    server.stop();
    within("the client to notice", client.wait_until(|s| s.phase != Phase::Monitoring)).await.unwrap();
    server.restart();
    within("the writer to reconnect", writer.wait_connected()).await.unwrap();
    let c = miss_some(&writer, a, b).await;
    let truth = server_switches(&writer).await;
    within("the client to catch up", client.wait_for(|r| switches(r) == truth)).await.unwrap();
    assert_missed(&client, a, b, c);
    let st = client.status();
    assert_eq!(st.stats.connections, 2);
    match imp {
        // rovsdb-server's transaction ids and recent history survive a
        // restart (they are in the file): the client resumes.
        Impl::Ours => assert_eq!((st.stats.full_syncs, st.stats.resumed_syncs), (1, 1)),
        Impl::Debian => assert_eq!((st.stats.full_syncs, st.stats.resumed_syncs), (2, 0)),
    }
}

async fn failover_between_remotes(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let (d1, d2) = (dir.path().join("s1"), dir.path().join("s2"));
    let schema = schema_text("ovn-nb.ovsschema");
    let mut s1 = Server::start(imp, &d1, &[create_db(&d1, "nb", &schema)]);
    let mut s2 = Server::start(imp, &d2, &[create_db(&d2, "nb", &schema)]);
    for (server, name) in [(&s1, "one"), (&s2, "two")] {
        let c = connected(config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>()).await;
        insert(&c, name).await;
    }
    let names = |c: &Client| c.replica().iter::<nb::LogicalSwitch>().map(|s| s.name).collect::<Vec<_>>();

    let client = connected(config(nb::DATABASE, vec![s1.remote(), s2.remote()]).monitor_typed::<nb::LogicalSwitch>()).await;
    assert_eq!(names(&client), ["one"]);
    assert_eq!(client.status().remote, Some(s1.remote()));
    client.take_changes();

    s1.kill();
    within("fail-over to s2", client.wait_for(|r| r.iter::<nb::LogicalSwitch>().any(|s| s.name == "two"))).await.unwrap();
    assert_eq!(names(&client), ["two"]);
    assert_eq!(client.status().remote, Some(s2.remote()));
    let changes = client.take_changes();
    let t = changes.table(nb::LogicalSwitch::TABLE).unwrap();
    assert_eq!((t.inserted.len(), t.deleted.len()), (1, 1));

    s1.restart();
    s2.kill();
    within("fail-over back to s1", client.wait_for(|r| r.iter::<nb::LogicalSwitch>().any(|s| s.name == "one"))).await.unwrap();
    assert_eq!(names(&client), ["one"]);
}

/// The database goes away and comes back: a change-aware client has its
/// monitor cancelled, finds the database missing, and monitors it again
/// once it is back.
async fn database_removed_and_added_back(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let server = nb_server(imp, dir.path());
    let client = connected(config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>()).await;
    insert(&client, "a").await;
    server.appctl(&["ovsdb-server/remove-db", nb::DATABASE]);
    within("the client to notice", client.wait_until(|s| s.phase != Phase::Monitoring)).await.unwrap();
    // Until the database is back, the replica keeps what it had.
    assert_eq!(client.replica().iter::<nb::LogicalSwitch>().count(), 1);
    server.appctl(&["ovsdb-server/add-db", &dir.path().join("nb.db").display().to_string()]);
    within("the client to monitor again", client.wait_connected()).await.unwrap();
    assert_eq!(client.replica().iter::<nb::LogicalSwitch>().map(|s| s.name).collect::<Vec<_>>(), ["a"]);
    assert_eq!(client.status().stats.inconsistencies, 0);
}

/// The same over TCP, with a dead remote first in the list.
async fn tcp_remotes(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::common::free_port();
    let db = create_db(dir.path(), "nb", &schema_text("ovn-nb.ovsschema"));
    let _server = Server::start_with(imp, dir.path(), &[db], &[format!("ptcp:{port}:127.0.0.1")]);
    let dead = crate::common::free_port();
    let remotes = ovsdb_client::Remote::parse_list(&format!("tcp:127.0.0.1:{dead},tcp:127.0.0.1:{port}")).unwrap();
    let client = connected(config(nb::DATABASE, remotes.clone()).monitor_typed::<nb::LogicalSwitch>()).await;
    assert_eq!(client.status().remote, Some(remotes[1].clone()));
    insert(&client, "a").await;
    assert_eq!(switches(&client.replica()).len(), 1);
}

/// Rows that enter and leave a monitor's condition while the client is
/// away: on resuming, the server must send them as inserts and deletes.
async fn resume_with_condition(imp: Impl) {
    let net = Partition::new(imp).await;
    let writer = &net.writer;
    let x = insert(writer, "in").await;
    let y = insert(writer, "out").await;
    let inside = Condition::any(vec![Clause::eq("name", "in")]);
    let client = connected(net.config().condition(nb::LogicalSwitch::TABLE, inside)).await;
    assert_eq!(switches(&client.replica()).keys().copied().collect::<Vec<_>>(), [x]);
    client.take_changes();

    net.cut(&client).await;
    let rename = |u: ovsdb::Uuid, name: &str| {
        let old = writer.replica().get::<nb::LogicalSwitch>(u).unwrap();
        let new = nb::LogicalSwitch { name: name.into(), ..old.clone() };
        (new, old)
    };
    let mut txn = Transaction::new(nb::DATABASE);
    let (new, old) = rename(x, "gone");
    txn.update_row(&new, Some(&old));
    let (new, old) = rename(y, "in");
    txn.update_row(&new, Some(&old));
    within("renames", writer.transact(&txn)).await.unwrap();
    let z = insert(writer, "in").await;
    insert(writer, "out").await;
    net.restore(&client).await;

    let mut want = vec![y, z];
    want.sort();
    assert_eq!(switches(&client.replica()).keys().copied().collect::<Vec<_>>(), want);
    let changes = client.take_changes();
    let t = changes.table(nb::LogicalSwitch::TABLE).unwrap();
    let mut inserted: Vec<_> = t.inserted.iter().map(|r| r.uuid).collect();
    inserted.sort();
    assert_eq!(inserted, want);
    assert_eq!(t.deleted.iter().map(|r| r.uuid).collect::<Vec<_>>(), [x]);
    let st = client.status().stats;
    assert_eq!(st.resumed_syncs, u64::from(imp == Impl::Ours));
}

/// A condition set while disconnected takes effect after reconnecting
/// (the monitor resumes with the condition the replica reflects, then
/// changes it).
async fn condition_set_while_disconnected(imp: Impl) {
    let net = Partition::new(imp).await;
    let a = insert(&net.writer, "a").await;
    let named = |n: &str| Condition::any(vec![Clause::eq("name", n)]);
    let client = connected(net.config().condition(nb::LogicalSwitch::TABLE, named("a"))).await;
    assert_eq!(switches(&client.replica()).keys().copied().collect::<Vec<_>>(), [a]);

    net.cut(&client).await;
    let seqno = client.set_condition(nb::LogicalSwitch::TABLE, named("b"));
    let b = insert(&net.writer, "b").await;
    insert(&net.writer, "c").await;
    net.proxy.restore();
    within("the new condition", client.wait_condition(seqno)).await.unwrap();
    assert_eq!(switches(&client.replica()).keys().copied().collect::<Vec<_>>(), [b]);
}

crate::against_both!(condition_set_while_disconnected, resume_with_condition, tcp_remotes, resume_after_connection_loss, server_restart, failover_between_remotes, database_removed_and_added_back);

/// A fake server that reads and never answers: the client probes, gives
/// up, and reconnects; and it answers the server's own "echo".
#[tokio::test]
async fn probes_a_silent_server_and_answers_echo() {
    crate::common::bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("silent.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let mut cfg = config("D", vec![ovsdb_client::Remote::Unix(sock.clone())]).monitor("T", &[]);
        cfg.timing = Timing { probe_interval: Some(Duration::from_millis(200)), ..crate::common::fast_timing() };
        let client = Client::start(cfg);

        let (mut first, _) = within("a connection", listener.accept()).await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // Read until the client gives up on us (end of stream).
        loop {
            let n = within("the client to probe, then give up", first.read(&mut buf)).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        let seen = String::from_utf8(seen).unwrap();
        assert!(seen.contains(r#""method":"get_schema""#), "{seen}");
        assert!(seen.contains(r#""id":"echo","method":"echo""#), "{seen}");

        let (mut second, _) = within("a new connection", listener.accept()).await.unwrap();
        second.write_all(br#"{"id":"e1","method":"echo","params":[1,"x"]}"#).await.unwrap();
        let mut got = String::new();
        while !got.contains(r#""id":"e1""#) {
            let n = within("the echo reply", second.read(&mut buf)).await.unwrap();
            assert!(n > 0, "connection closed; got {got}");
            got.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        }
        let reply: Json = got
            .split_inclusive('}')
            .filter_map(|s| serde_json::from_str(s.trim()).ok())
            .find(|m: &Json| m["id"] == json!("e1"))
            .expect("an answer to e1");
        assert_eq!(reply, json!({"id": "e1", "result": [1, "x"], "error": null}));
        assert!(client.status().stats.connections >= 2);
    })
    .await
}
