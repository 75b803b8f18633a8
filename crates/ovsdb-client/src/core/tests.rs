//! The session driven message by message: each step asserts the exact
//! commands the core emits (as JSON, for reading).

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::condition::Clause;

const ZERO: &str = "00000000-0000-0000-0000-000000000000";
const L1: &str = "11111111-1111-1111-1111-111111111111";
const L2: &str = "22222222-2222-2222-2222-222222222222";
const A: &str = "aaaaaaaa-0000-0000-0000-000000000000";
const B: &str = "bbbbbbbb-0000-0000-0000-000000000000";
const S: &str = "55555555-0000-0000-0000-000000000000";

fn server_schema() -> Json {
    serde_json::from_str(include_str!("../../../../schemas/_server.ovsschema")).unwrap()
}

fn data_schema() -> Json {
    json!({"name": "D", "version": "1.0.0", "tables": {"T": {"columns": {
        "name": {"type": "string"},
        "n": {"type": "integer"},
        "tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}}}}}})
}

fn server_row(model: &str, leader: bool) -> Json {
    json!({"name": "D", "model": model, "connected": true, "leader": leader, "schema": data_schema().to_string()})
}

fn config(remotes: &[&str]) -> Config {
    let remotes = remotes.iter().map(|r| Remote::parse(r).unwrap()).collect();
    Config::new("D", remotes).monitor("T", &[]).timing(crate::reconnect::test_timing())
}

fn show(c: &Command) -> Json {
    match c {
        Command::Connect(r) => json!({"connect": r.to_string()}),
        Command::Send(m) => m.to_json(),
        Command::SendText(pieces) => serde_json::from_slice(&pieces.concat()).unwrap(),
        Command::Disconnect => json!("disconnect"),
        Command::TxnDone { id, result } => match result {
            Ok(o) => json!({"txn_done": id.0, "results": o.results, "increment": o.increment}),
            Err(e) => json!({"txn_done": id.0, "error": e.to_string()}),
        },
    }
}

struct Harness {
    core: Core,
    now: Instant,
    /// Messages go in as trees ([`Core::handle_message`]) instead of as
    /// bytes ([`Core::handle_frame`], as the client sends them).
    trees: bool,
}

impl Harness {
    fn new(config: Config) -> Harness {
        let now = Instant::now();
        Harness { core: Core::new(config, now), now, trees: false }
    }

    fn with_trees(config: Config) -> Harness {
        Harness { trees: true, ..Harness::new(config) }
    }

    fn out(&mut self) -> Vec<Json> {
        self.core.take_commands().iter().map(show).collect()
    }

    fn advance(&mut self, ms: u64) -> Vec<Json> {
        self.now += Duration::from_millis(ms);
        self.core.handle_timeout(self.now);
        self.out()
    }

    fn recv(&mut self, msg: Json) -> Vec<Json> {
        if self.trees {
            self.core.handle_message(self.now, Message::from_json(msg).unwrap());
        } else {
            self.core.handle_frame(self.now, &serde_json::to_vec(&msg).unwrap()).unwrap();
        }
        self.out()
    }

    fn reply(&mut self, id: u64, result: Json) -> Vec<Json> {
        self.recv(json!({"id": id, "result": result, "error": null}))
    }

    fn error(&mut self, id: u64, error: Json) -> Vec<Json> {
        self.recv(json!({"id": id, "error": error}))
    }

    fn connected(&mut self) -> Vec<Json> {
        self.core.handle_connected(self.now);
        self.out()
    }

    /// From the first connection to monitoring with `last` as the last
    /// transaction id: returns the next request id.
    fn handshake(&mut self, first_id: u64, reply: Json) -> u64 {
        assert_eq!(self.advance(0), vec![json!({"connect": "unix:/a"})]);
        assert_eq!(self.connected(), vec![json!({"id": first_id, "method": "get_schema", "params": ["_Server"]})]);
        self.reply(first_id, server_schema());
        self.reply(first_id + 1, json!({"Database": {S: {"initial": server_row("standalone", true)}}}));
        self.reply(first_id + 3, reply);
        assert_eq!(self.core.phase(), Phase::Monitoring);
        first_id + 4
    }

    fn rows(&self) -> Json {
        let t = self.core.replica().table("T").unwrap();
        let cols: Vec<ColumnId> = t.schema.user_columns().map(|(c, _)| c).collect();
        t.to_json(&cols)
    }
}

#[test]
fn handshake_with_server_database_and_monitor_cond_since() {
    for trees in [false, true] {
        handshake_and_updates(trees);
    }
}

fn handshake_and_updates(trees: bool) {
    let mut h = if trees { Harness::with_trees(config(&["unix:/a"])) } else { Harness::new(config(&["unix:/a"])) };
    assert_eq!(h.core.phase(), Phase::Backoff);
    assert_eq!(h.advance(0), vec![json!({"connect": "unix:/a"})]);
    assert_eq!(h.core.phase(), Phase::Connecting);
    assert_eq!(h.connected(), vec![json!({"id": 1, "method": "get_schema", "params": ["_Server"]})]);
    assert_eq!(
        h.reply(1, server_schema()),
        vec![json!({"id": 2, "method": "monitor_cond", "params": ["_Server", ["monid", "_Server"],
            {"Database": [{"columns": ["name", "model", "connected", "leader", "schema", "cid", "index"]}]}]})]
    );
    assert_eq!(
        h.reply(2, json!({"Database": {S: {"initial": server_row("standalone", true)}}})),
        vec![
            json!({"id": 3, "method": "set_db_change_aware", "params": [true]}),
            json!({"id": 4, "method": "monitor_cond_since", "params": ["D", ["monid", "D"],
                {"T": [{"columns": ["n", "name", "tags"]}]}, ZERO]}),
        ]
    );
    assert_eq!(h.reply(3, json!({})), Vec::<Json>::new());
    assert_eq!(h.core.phase(), Phase::DataMonitorRequested(Version::V3));
    assert_eq!(h.reply(4, json!([false, L1, {"T": {A: {"initial": {"name": "a", "n": 1}}}}])), Vec::<Json>::new());
    assert_eq!(h.core.phase(), Phase::Monitoring);
    assert_eq!(h.rows(), json!({A: {"name": "a", "n": 1, "tags": ["set", []]}}));
    let st = h.core.status();
    assert_eq!((st.last_txn_id.to_string().as_str(), st.stats.full_syncs, st.stats.connections), (L1, 1, 1));

    // update3 carries the next transaction id.
    h.recv(json!({"id": null, "method": "update3", "params": [["monid", "D"], L2, {"T": {A: {"modify": {"n": 2}}}}]}));
    assert_eq!(h.rows()[A]["n"], json!(2));
    assert_eq!(h.core.status().last_txn_id.to_string(), L2);
    // Notifications for other monitors are not ours.
    h.recv(json!({"id": null, "method": "update3", "params": [["monid", "X"], L1, {"T": {A: {"delete": null}}}]}));
    assert_eq!(h.rows()[A]["n"], json!(2));
    // As bytes, the monitor reply and our update went straight into the
    // replica; the _Server rows and the other monitor's update did not.
    assert_eq!(h.core.status().stats.read_as_text, if trees { 0 } else { 2 });
}

#[test]
fn falls_back_to_older_methods() {
    let mut h = Harness::new(config(&["unix:/a"]));
    h.advance(0);
    h.connected();
    // A server without _Server: straight to the data schema.
    assert_eq!(h.error(1, json!({"error": "unknown database"})), vec![json!({"id": 2, "method": "get_schema", "params": ["D"]})]);
    assert_eq!(
        h.reply(2, data_schema()),
        vec![json!({"id": 3, "method": "monitor_cond", "params": ["D", ["monid", "D"], {"T": [{"columns": ["n", "name", "tags"]}]}]})]
    );
    assert_eq!(
        h.error(3, json!("unknown method")),
        vec![json!({"id": 4, "method": "monitor", "params": ["D", ["monid", "D"], {"T": {"columns": ["n", "name", "tags"]}}]})]
    );
    h.reply(4, json!({"T": {A: {"new": {"name": "a", "n": 1, "tags": ["set", []]}}}}));
    assert_eq!(h.core.phase(), Phase::Monitoring);
    h.recv(json!({"id": null, "method": "update", "params": [["monid", "D"], {"T": {A: {"old": {"n": 1}, "new": {"name": "a", "n": 5, "tags": ["set", []]}}}}]}));
    assert_eq!(h.rows()[A]["n"], json!(5));
    // Conditions cannot change on a plain monitor: nothing is sent.
    h.core.set_condition("T", Condition::False);
    assert_eq!(h.out(), Vec::<Json>::new());

    // monitor_cond_since refused: monitor_cond.
    let mut h = Harness::new(config(&["unix:/a"]));
    h.advance(0);
    h.connected();
    h.reply(1, server_schema());
    h.reply(2, json!({"Database": {S: {"initial": server_row("standalone", true)}}}));
    assert_eq!(
        h.error(4, json!("unknown method")),
        vec![json!({"id": 5, "method": "monitor_cond", "params": ["D", ["monid", "D"], {"T": [{"columns": ["n", "name", "tags"]}]}]})]
    );
    h.reply(5, json!({"T": {A: {"initial": {"name": "a"}}}}));
    assert_eq!(h.core.phase(), Phase::Monitoring);
}

#[test]
fn reconnect_resumes_or_replaces() {
    let mut h = Harness::new(config(&["unix:/a"]));
    h.handshake(1, json!([false, L1, {"T": {A: {"initial": {"name": "a"}}, B: {"initial": {"name": "b"}}}}]));
    h.core.replica_mut().take_changes();

    h.core.handle_disconnected(h.now, "EOF");
    assert_eq!(h.core.phase(), Phase::Backoff);
    // A connection that lasted backs off from the minimum.
    assert_eq!(h.advance(99), Vec::<Json>::new());
    assert_eq!(h.advance(1), vec![json!({"connect": "unix:/a"})]);
    h.connected();
    h.reply(5, server_schema());
    assert_eq!(
        h.reply(6, json!({"Database": {S: {"initial": server_row("standalone", true)}}}))[1],
        json!({"id": 8, "method": "monitor_cond_since", "params": ["D", ["monid", "D"], {"T": [{"columns": ["n", "name", "tags"]}]}, L1]})
    );
    // Found: only what was missed.
    h.reply(8, json!([true, L2, {"T": {A: {"modify": {"n": 7}}}}]));
    assert_eq!(h.rows(), json!({A: {"name": "a", "n": 7, "tags": ["set", []]}, B: {"name": "b", "n": 0, "tags": ["set", []]}}));
    assert_eq!((h.core.status().stats.resumed_syncs, h.core.status().stats.full_syncs), (1, 1));
    let changes = h.core.replica_mut().take_changes();
    assert_eq!(changes.table("T").unwrap().modified.len(), 1);

    // Not found: the replica is replaced, and the changes are the difference.
    h.recv(json!({"id": "x", "method": "echo", "params": []}));
    h.advance(500);
    h.recv(json!({"id": "x", "method": "echo", "params": []}));
    h.core.handle_disconnected(h.now, "EOF");
    h.advance(100);
    h.connected();
    h.reply(9, server_schema());
    h.reply(10, json!({"Database": {S: {"initial": server_row("standalone", true)}}}));
    let out = h.reply(12, json!([false, L1, {"T": {A: {"initial": {"name": "a", "n": 7}}}}]));
    assert_eq!(out, Vec::<Json>::new());
    assert_eq!(h.core.phase(), Phase::Monitoring);
    let changes = h.core.replica_mut().take_changes();
    let t = changes.table("T").unwrap();
    assert_eq!((t.inserted.len(), t.modified.len(), t.deleted.len()), (0, 0, 1));
}

#[test]
fn bad_update_forces_full_resync() {
    let mut h = Harness::new(config(&["unix:/a"]));
    let next = h.handshake(1, json!([false, L1, {"T": {A: {"initial": {"name": "a"}}}}]));
    // Modifying a row we do not have: the replica cannot be trusted.
    let out = h.recv(json!({"id": null, "method": "update3", "params": [["monid", "D"], L2, {"T": {B: {"modify": {"n": 1}}}}]}));
    assert_eq!(out, vec![json!("disconnect")]);
    assert_eq!(h.core.status().stats.inconsistencies, 1);
    // The direct reader refused it and left it to the tree reader.
    assert_eq!(h.core.status().stats.read_as_text, 1);
    // At once (no backoff), and without a transaction id.
    assert_eq!(h.advance(0), vec![json!({"connect": "unix:/a"})]);
    h.connected();
    h.reply(next, server_schema());
    let out = h.reply(next + 1, json!({"Database": {S: {"initial": server_row("standalone", true)}}}));
    assert_eq!(out[1]["params"][3], json!(ZERO));
    // A malformed reply is as bad.
    assert_eq!(h.reply(next + 3, json!([true, "nope", {}])), vec![json!("disconnect")]);
}

#[test]
fn unusable_servers_are_skipped() {
    let mut h = Harness::new(config(&["unix:/a", "unix:/b"]));
    h.advance(0);
    h.connected();
    h.reply(1, server_schema());
    // The database is not there: try the next remote, at once (one free
    // try per remote).
    assert_eq!(h.reply(2, json!({"Database": {S: {"initial": {"name": "Other", "model": "standalone"}}}})), vec![json!("disconnect")]);
    assert_eq!(h.advance(0), vec![json!({"connect": "unix:/b"})]);
    h.connected();
    h.reply(3, server_schema());
    // A cluster member that is not the leader: next.
    assert_eq!(h.reply(4, json!({"Database": {S: {"initial": server_row("clustered", false)}}})), vec![json!("disconnect")]);
    // Both remotes had their free try: now the backoff.
    assert_eq!(h.advance(99), Vec::<Json>::new());
    assert_eq!(h.advance(1), vec![json!({"connect": "unix:/a"})]);
    h.connected();
    h.reply(5, server_schema());
    let out = h.reply(6, json!({"Database": {S: {"initial": server_row("clustered", true)}}}));
    assert_eq!(out.len(), 2);

    // A leader that stops being one while we monitor: reconnect elsewhere.
    h.reply(8, json!([false, L1, {}]));
    assert_eq!(h.core.phase(), Phase::Monitoring);
    let out = h.recv(json!({"id": null, "method": "update2", "params": [["monid", "_Server"], {"Database": {S: {"modify": {"leader": false}}}}]}));
    assert_eq!(out, vec![json!("disconnect")]);
    assert_eq!(h.advance(0), vec![json!({"connect": "unix:/b"})]);
}

#[test]
fn echo_and_inactivity_probe() {
    let mut h = Harness::new(config(&["unix:/a"]));
    let next = h.handshake(1, json!([false, L1, {}]));
    assert_eq!(
        h.recv(json!({"id": "x", "method": "echo", "params": ["hi"]})),
        vec![json!({"id": "x", "result": ["hi"], "error": null})]
    );
    assert_eq!(h.recv(json!({"id": 9, "method": "frobnicate", "params": []})), vec![json!({"id": 9, "error": "unknown method"})]);
    // Idle for the probe interval: echo. An answer keeps us connected.
    assert_eq!(h.advance(999), Vec::<Json>::new());
    assert_eq!(h.advance(1), vec![json!({"id": "echo", "method": "echo", "params": []})]);
    assert_eq!(h.recv(json!({"id": "echo", "result": [], "error": null})), Vec::<Json>::new());
    assert_eq!(h.advance(999), Vec::<Json>::new());
    assert_eq!(h.advance(1), vec![json!({"id": "echo", "method": "echo", "params": []})]);
    // No answer: give up; the connection lasted, so the wait is short.
    assert_eq!(h.advance(999), Vec::<Json>::new());
    assert_eq!(h.advance(1), vec![json!("disconnect")]);
    assert_eq!(h.advance(100), vec![json!({"connect": "unix:/a"})]);
    // A connection attempt that hangs is abandoned.
    assert_eq!(h.advance(500), vec![json!("disconnect")]);
    let _ = next;
}

#[test]
fn condition_changes_one_at_a_time() {
    let cfg = config(&["unix:/a"]).condition("T", Condition::any(vec![Clause::eq("name", "a")]));
    let mut h = Harness::new(cfg);
    h.advance(0);
    h.connected();
    h.reply(1, server_schema());
    let out = h.reply(2, json!({"Database": {S: {"initial": server_row("standalone", true)}}}));
    assert_eq!(out[1]["params"][2], json!({"T": [{"columns": ["n", "name", "tags"], "where": [["name", "==", "a"]]}]}));
    h.reply(4, json!([false, L1, {"T": {A: {"initial": {"name": "a"}}}}]));
    assert_eq!(h.core.status().cond_seqno, 0);

    let first = h.core.set_condition("T", Condition::any(vec![Clause::eq("name", "b")]));
    assert_eq!(
        h.out(),
        vec![json!({"id": 5, "method": "monitor_cond_change", "params": [["monid", "D"], ["monid", "D"],
            {"T": [{"where": [["name", "==", "b"]]}]}]})]
    );
    // Another change while the first is in flight waits for its answer.
    let second = h.core.set_condition("T", Condition::True);
    assert_eq!((first, second), (1, 2));
    assert_eq!(h.out(), Vec::<Json>::new());
    // The server's update for the change comes before its reply.
    h.recv(json!({"id": null, "method": "update3", "params": [["monid", "D"], L1,
        {"T": {A: {"delete": null}, B: {"insert": {"name": "b"}}}}]}));
    assert_eq!(
        h.reply(5, json!({})),
        vec![json!({"id": 6, "method": "monitor_cond_change", "params": [["monid", "D"], ["monid", "D"],
            {"T": [{"where": [true]}]}]})]
    );
    assert_eq!(h.core.status().cond_seqno, 1);
    h.reply(6, json!({}));
    assert_eq!(h.core.status().cond_seqno, 2);

    // A change lost in flight by a disconnection: the replica may or may
    // not reflect it, so the next monitor starts from scratch with it.
    h.core.set_condition("T", Condition::False);
    assert_eq!(h.out()[0]["id"], json!(7));
    h.core.handle_disconnected(h.now, "EOF");
    h.advance(100);
    h.connected();
    h.reply(8, server_schema());
    let out = h.reply(9, json!({"Database": {S: {"initial": server_row("standalone", true)}}}));
    assert_eq!(out[1]["params"][2], json!({"T": [{"columns": ["n", "name", "tags"], "where": [false]}]}));
    assert_eq!(out[1]["params"][3], json!(ZERO));
    h.reply(11, json!([false, L2, {}]));
    assert_eq!(h.core.status().cond_seqno, 3);
}

#[test]
fn transactions() {
    let mut h = Harness::new(config(&["unix:/a"]));
    let mut txn = Transaction::new("D");
    txn.increment("T", ovsdb::Uuid::parse(A).unwrap(), "n");
    assert_eq!(h.core.transact(&txn), Err(TxnError::NotConnected));
    let next = h.handshake(1, json!([false, L1, {"T": {A: {"initial": {"name": "a", "n": 1}}}}]));

    let id = h.core.transact(&txn).unwrap();
    let where_a = json!([["_uuid", "==", ["uuid", A]]]);
    assert_eq!(
        h.out(),
        vec![json!({"id": next, "method": "transact", "params": ["D",
            {"op": "mutate", "table": "T", "where": where_a, "mutations": [["n", "+=", 1]]},
            {"op": "select", "table": "T", "where": where_a, "columns": ["n"]}]})]
    );
    // The update comes first, then the reply.
    h.recv(json!({"id": null, "method": "update3", "params": [["monid", "D"], L2, {"T": {A: {"modify": {"n": 2}}}}]}));
    let out = h.reply(id.0, json!([{"count": 1}, {"rows": [{"n": 2}]}]));
    assert_eq!(out, vec![json!({"txn_done": next, "results": [{"count": 1}, {"rows": [{"n": 2}]}], "increment": 2})]);

    // In flight when the connection drops: the caller learns it.
    let id = h.core.transact(&txn).unwrap();
    h.out();
    h.core.handle_disconnected(h.now, "EOF");
    assert_eq!(h.out(), vec![json!({"txn_done": id.0, "error": "connection lost before the transaction's reply"})]);
    assert!(matches!(h.core.transact(&Transaction::new("Other")), Err(TxnError::NotConnected)));
}

#[test]
fn operations_given_as_text_go_out_as_they_are() {
    let mut h = Harness::new(config(&["unix:/a"]));
    let next = h.handshake(1, json!([false, L1, {}]));
    let mut txn = Transaction::new("D");
    txn.raw_text(r#"{"op":"insert","table":"T","uuid-name":"r","row":{"name":"é\n"}}"#.to_string());
    txn.comment("x");
    h.core.transact(&txn).unwrap();
    let out = h.core.take_commands();
    let [Command::SendText(pieces)] = out.as_slice() else { panic!("{out:?}") };
    assert_eq!(
        std::str::from_utf8(&pieces.concat()).unwrap(),
        format!(
            r#"{{"id":{next},"method":"transact","params":["D",{{"op":"insert","table":"T","uuid-name":"r","row":{{"name":"é\n"}}}},{{"comment":"x","op":"comment"}}]}}"#
        )
    );
    // The reply is read as for any transaction.
    let out = h.reply(next, json!([{"uuid": ["uuid", A]}, {}]));
    assert_eq!(out, vec![json!({"txn_done": next, "results": [{"uuid": ["uuid", A]}, {}], "increment": null})]);
}

#[test]
fn locks() {
    let mut h = Harness::new(config(&["unix:/a"]));
    h.core.set_lock(Some("L"));
    assert_eq!(h.out(), Vec::<Json>::new());
    h.advance(0);
    // The lock is asked for first on every connection.
    assert_eq!(
        h.connected(),
        vec![
            json!({"id": 1, "method": "lock", "params": ["L"]}),
            json!({"id": 2, "method": "get_schema", "params": ["_Server"]}),
        ]
    );
    h.reply(2, server_schema());
    h.reply(3, json!({"Database": {S: {"initial": server_row("standalone", true)}}}));
    h.reply(5, json!([false, L1, {}]));
    h.reply(1, json!({"locked": false}));
    assert_eq!(h.core.status().lock, LockStatus { name: Some("L".into()), held: false, contended: true });
    let mut txn = Transaction::new("D");
    txn.comment("x");
    assert_eq!(h.core.transact(&txn), Err(TxnError::NotLocked("L".into())));

    h.recv(json!({"id": null, "method": "locked", "params": ["L"]}));
    assert_eq!(h.core.status().lock, LockStatus { name: Some("L".into()), held: true, contended: false });
    h.core.transact(&txn).unwrap();
    assert_eq!(
        h.out(),
        vec![json!({"id": 6, "method": "transact", "params": ["D", {"op": "comment", "comment": "x"}, {"op": "assert", "lock": "L"}]})]
    );
    h.recv(json!({"id": null, "method": "stolen", "params": ["L"]}));
    assert!(!h.core.status().lock.held);
    // Losing the lock before the reply: the assertion fails.
    assert_eq!(
        h.reply(6, json!([{}, {"error": "not owner"}])),
        vec![json!({"txn_done": 6, "error": "lock \"L\" is not held"})]
    );

    h.core.steal_lock("L");
    assert_eq!(
        h.out(),
        vec![json!({"id": 7, "method": "unlock", "params": ["L"]}), json!({"id": 8, "method": "steal", "params": ["L"]})]
    );
    h.reply(8, json!({"locked": true}));
    assert!(h.core.status().lock.held);
    h.core.set_lock(Some("M"));
    assert_eq!(
        h.out(),
        vec![json!({"id": 9, "method": "unlock", "params": ["L"]}), json!({"id": 10, "method": "lock", "params": ["M"]})]
    );
    h.core.set_lock(None);
    assert_eq!(h.out(), vec![json!({"id": 11, "method": "unlock", "params": ["M"]})]);
    assert_eq!(h.core.status().lock, LockStatus::default());
}

#[test]
fn monitor_canceled_starts_over_on_the_same_connection() {
    let mut h = Harness::new(config(&["unix:/a"]));
    let next = h.handshake(1, json!([false, L1, {"T": {A: {"initial": {"name": "a"}}}}]));
    assert_eq!(
        h.recv(json!({"id": null, "method": "monitor_canceled", "params": [["monid", "D"]]})),
        vec![
            json!({"id": next, "method": "monitor_cancel", "params": [["monid", "_Server"]]}),
            json!({"id": next + 1, "method": "get_schema", "params": ["_Server"]}),
        ]
    );
    h.reply(next + 1, server_schema());
    // The database is gone: nowhere to go but another connection.
    assert_eq!(h.reply(next + 2, json!({})), vec![json!("disconnect")]);
}

#[test]
fn replies_to_forgotten_requests_are_ignored() {
    let mut h = Harness::new(config(&["unix:/a"]));
    h.handshake(1, json!([false, L1, {}]));
    assert_eq!(h.reply(77, json!({})), Vec::<Json>::new());
    assert_eq!(h.error(78, json!("x")), Vec::<Json>::new());
    assert_eq!(h.recv(json!({"id": null, "method": "update3", "params": [["monid", "D"]]})), vec![json!("disconnect")]);
}
