//! What the integration tests share: running Open vSwitch's tools with
//! bounded waits, a test schema, and comparing databases.

#![allow(dead_code)] // Each test binary uses a different part.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ovsdb::db::{Commit, Database};
use ovsdb::row::Row;
use ovsdb::schema::DatabaseSchema;
use ovsdb::txn::{ExecContext, Outcome, execute};
use ovsdb::{Datum, Uuid};
use serde_json::{Value as Json, json};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a program to completion (killing it after 30 s), returning stdout.
/// Panics, with stderr, if it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let (ok, out, err) = run_status(program, args);
    assert!(ok, "{program} {args:?} failed: {err}");
    out
}

/// Like [`run`], but returns success, stdout and stderr.
pub fn run_status(program: &str, args: &[&str]) -> (bool, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    // Drain the pipes on threads so a chatty child cannot block on them.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = wait_bounded(&mut child, TIMEOUT).unwrap_or_else(|| panic!("{program} {args:?} timed out"));
    (status.success(), out.join().unwrap(), err.join().unwrap())
}

/// Waits for `child` at most `limit`; kills it (by its pid) after that.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn ovsdb_tool(args: &[&str]) -> String {
    run("ovsdb-tool", args)
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A private ovsdb-server (Open vSwitch's) serving one file.
pub struct OvsdbServer {
    child: Child,
    pub sock: PathBuf,
    pub ctl: PathBuf,
}

impl OvsdbServer {
    pub fn start(dir: &Path, db_file: &Path) -> OvsdbServer {
        OvsdbServer::start_within(dir, db_file, TIMEOUT)
    }

    /// Starts the server, allowing it `limit` to read its database.
    pub fn start_within(dir: &Path, db_file: &Path, limit: Duration) -> OvsdbServer {
        let sock = dir.join("db.sock");
        let ctl = dir.join("ovsdb-server.ctl");
        let child = Command::new("ovsdb-server")
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--unixctl={}", ctl.display()))
            .arg(format!("--pidfile={}", dir.join("ovsdb-server.pid").display()))
            .arg(format!("--log-file={}", dir.join("ovsdb-server.log").display()))
            .arg("--no-chdir")
            .arg(db_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot run ovsdb-server");
        let server = OvsdbServer { child, sock, ctl };
        let deadline = Instant::now() + limit;
        while !(server.sock.exists() && server.ctl.exists()) {
            assert!(Instant::now() < deadline, "ovsdb-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        server
    }

    /// Runs a transaction with ovsdb-client; returns its reply.
    pub fn transact(&self, txn: &Json) -> Json {
        let remote = format!("unix:{}", self.sock.display());
        let out = run("ovsdb-client", &["--timeout=20", "transact", &remote, &txn.to_string()]);
        let reply: Json = serde_json::from_str(&out).unwrap();
        assert!(!reply.to_string().contains("\"error\""), "{txn} -> {reply}");
        reply
    }

    pub fn appctl(&self, args: &[&str]) -> String {
        let target = format!("--target={}", self.ctl.display());
        let mut all = vec!["--timeout=20", target.as_str()];
        all.extend_from_slice(args);
        run("ovs-appctl", &all)
    }

    /// Stops the server and waits for it to exit.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = wait_bounded(&mut self.child, TIMEOUT);
    }
}

impl Drop for OvsdbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A schema with what files must get right: sets, maps, reals, strong
/// references into a garbage-collected table, weak references, an index,
/// an ephemeral column, and a set that holds one to two elements.
pub fn test_schema_json() -> Json {
    json!({
        "name": "Test", "version": "1.2.3",
        "tables": {
            "Root": {
                "columns": {
                    "name": {"type": "string"},
                    "n": {"type": "integer"},
                    "r": {"type": "real"},
                    "b": {"type": "boolean"},
                    "ints": {"type": {"key": "integer", "min": 0, "max": "unlimited"}},
                    "opts": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
                    "kids": {"type": {"key": {"type": "uuid", "refTable": "Child"}, "min": 0, "max": "unlimited"}},
                    "peers": {"type": {"key": {"type": "uuid", "refTable": "Peer", "refType": "weak"}, "min": 0, "max": "unlimited"}},
                    "peer_by_name": {"type": {"key": "string",
                        "value": {"type": "uuid", "refTable": "Peer", "refType": "weak"}, "min": 0, "max": "unlimited"}},
                    "two": {"type": {"key": "integer", "min": 1, "max": 2}},
                    "color": {"type": {"key": {"type": "string", "enum": ["set", ["red", "green"]]}, "min": 0, "max": 1}},
                    "scratch": {"type": "string", "ephemeral": true}
                },
                "indexes": [["name"]],
                "isRoot": true
            },
            "Child": {
                "columns": {
                    "v": {"type": "integer"},
                    "tags": {"type": {"key": "string", "value": "integer", "min": 0, "max": "unlimited"}}
                },
                "isRoot": false
            },
            "Peer": {
                "columns": {"name": {"type": "string"}},
                "isRoot": true
            }
        }
    })
}

pub fn test_schema() -> Arc<DatabaseSchema> {
    DatabaseSchema::from_json(&test_schema_json()).unwrap()
}

/// Creates database `dir/name` with `ovsdb-tool create` from a schema, then
/// runs `steps` into it with `ovsdb-tool transact`, one process each.
pub fn ovs_file(dir: &Path, name: &str, schema: &Json, steps: &[Json]) -> PathBuf {
    let file = dir.join(name);
    let schema_file = dir.join(format!("{name}.ovsschema"));
    std::fs::write(&schema_file, schema.to_string()).unwrap();
    ovsdb_tool(&["create", path_str(&file), path_str(&schema_file)]);
    let db_name = schema["name"].as_str().unwrap();
    for ops in steps {
        ovsdb_tool(&["transact", path_str(&file), &with_db(db_name, ops).to_string()]);
    }
    file
}

pub fn real_schema(name: &str) -> Arc<DatabaseSchema> {
    DatabaseSchema::from_json(&real_schema_json(name)).unwrap()
}

pub fn real_schema_json(name: &str) -> Json {
    let path = format!("{}/../../schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `ops` (a transaction's operations) on `db`; returns the commit,
/// already applied. Panics if the transaction fails.
pub fn commit(db: &mut Database, ops: &Json) -> Commit {
    try_commit(db, ops).unwrap_or_else(|results| panic!("{ops} failed: {results}"))
}

/// Like [`commit`], but returns the results on failure; `Ok(Commit::default())` if it changed nothing.
pub fn try_commit(db: &mut Database, ops: &Json) -> Result<Commit, Json> {
    let mut params = vec![json!(db.schema.name)];
    params.extend(ops.as_array().unwrap().iter().cloned());
    match execute(db, &Json::Array(params), &ExecContext::simple()) {
        Outcome::Done { results, commit } => {
            if results
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r.get("error").is_some()))
            {
                return Err(results);
            }
            let commit = commit.unwrap_or_default();
            db.apply(&commit);
            Ok(commit)
        }
        Outcome::Blocked { .. } => Err(json!("blocked")),
    }
}

/// Every stored row: table name → uuid → datums of the non-ephemeral
/// columns. Versions and ephemeral columns are not stored in files.
pub type Dump = BTreeMap<String, BTreeMap<Uuid, Vec<Datum>>>;

pub fn dump(db: &Database) -> Dump {
    let mut out = Dump::new();
    for (id, ts) in db.schema.tables.iter().enumerate() {
        let rows = db
            .table(id)
            .rows
            .iter()
            .map(|(u, r)| (*u, stored_fields(ts, r)))
            .collect();
        out.insert(ts.name.clone(), rows);
    }
    out
}

fn stored_fields(ts: &ovsdb::schema::TableSchema, row: &Row) -> Vec<Datum> {
    ts.user_columns()
        .map(|(col, c)| {
            if c.ephemeral {
                Datum::default_for(&c.ty)
            } else {
                row.field(col).clone()
            }
        })
        .collect()
}

/// What `ovsdb-tool query` sees in `file`, in the form of [`dump`].
pub fn ovs_dump(file: &Path, schema: &DatabaseSchema) -> Dump {
    let mut txn = vec![json!(schema.name)];
    for ts in &schema.tables {
        txn.push(json!({"op": "select", "table": ts.name, "where": []}));
    }
    let out = ovsdb_tool(&["query", path_str(file), &Json::Array(txn).to_string()]);
    let reply: Json = serde_json::from_str(&out).unwrap();
    let mut dump = Dump::new();
    for (ts, result) in schema.tables.iter().zip(reply.as_array().unwrap()) {
        let mut rows = BTreeMap::new();
        for row_json in result["rows"].as_array().unwrap_or_else(|| panic!("{result}")) {
            let mut row = Row::new_default(ts, Uuid::ZERO);
            row.update_from_json(ts, row_json, None).unwrap();
            rows.insert(row.uuid, stored_fields(ts, &row));
        }
        dump.insert(ts.name.clone(), rows);
    }
    dump
}

/// The UUID of the row of `table` whose `column` is `value`.
pub fn find(db: &Database, table: &str, column: &str, value: &Json) -> Uuid {
    let (_, ts, t) = db.table_by_name(table).unwrap();
    let col = ts.column_id(column).unwrap();
    let want = Datum::from_json(&ts.columns[col].ty, value, None).unwrap();
    t.rows.values().find(|r| *r.get(col) == want).map(|r| r.uuid).unwrap()
}

/// Transactions (operations only, without the database name) that exercise
/// every kind of change a file records: inserts, set and map mutations,
/// updates, garbage collection of unreferenced children, weak references
/// dropped when their target goes, deletes, comments, odd strings.
pub fn scenario() -> Vec<Json> {
    vec![
        json!([
            {"op": "insert", "table": "Peer", "row": {"name": "p1"}, "uuid-name": "p1"},
            {"op": "insert", "table": "Peer", "row": {"name": "p2"}, "uuid-name": "p2"},
            {"op": "insert", "table": "Peer", "row": {"name": "p3"}, "uuid-name": "p3"},
            {"op": "insert", "table": "Child", "row": {"v": 1, "tags": ["map", [["x", 1]]]}, "uuid-name": "c1"},
            {"op": "insert", "table": "Child", "row": {"v": 2}, "uuid-name": "c2"},
            {"op": "insert", "table": "Root", "row": {
                "name": "r1", "n": 1, "r": 1.5, "b": true, "ints": ["set", [1, 2, 3]],
                "opts": ["map", [["k1", "v1"], ["k\"2", "line\nbreak é ✓ \u{1} \\"]]],
                "kids": ["set", [["named-uuid", "c1"], ["named-uuid", "c2"]]],
                "peers": ["set", [["named-uuid", "p1"], ["named-uuid", "p2"]]],
                "peer_by_name": ["map", [["a", ["named-uuid", "p1"]], ["b", ["named-uuid", "p3"]]]],
                "color": "red", "scratch": "not stored"}}
        ]),
        json!([{"op": "mutate", "table": "Root", "where": [["name", "==", "r1"]], "mutations": [
            ["ints", "insert", ["set", [4]]], ["ints", "delete", 1],
            ["opts", "insert", ["map", [["k3", "v3"]]]], ["opts", "delete", ["set", ["k1"]]]]}]),
        json!([{"op": "update", "table": "Root", "where": [["name", "==", "r1"]],
                "row": {"r": 2.25, "b": false, "opts": ["map", [["k\"2", "changed"], ["k3", "v3"]]]}}]),
        // Replacing the children leaves c1 and c2 unreferenced: both are collected.
        json!([
            {"op": "insert", "table": "Child", "row": {"v": 3}, "uuid-name": "c3"},
            {"op": "update", "table": "Root", "where": [["name", "==", "r1"]],
             "row": {"kids": ["set", [["named-uuid", "c3"]]]}}
        ]),
        // Deleting p1 drops the weak references to it.
        json!([{"op": "delete", "table": "Peer", "where": [["name", "==", "p1"]]}]),
        json!([{"op": "insert", "table": "Root", "row": {"name": "r2", "two": ["set", [1, 2]]}}]),
        json!([{"op": "delete", "table": "Root", "where": [["name", "==", "r2"]]},
               {"op": "comment", "comment": "r2 goes"}]),
        json!([
            {"op": "insert", "table": "Child", "row": {"v": 4, "tags": ["map", [["a", 1], ["b", 2]]]}, "uuid-name": "c4"},
            {"op": "insert", "table": "Root", "row": {"name": "r3", "kids": ["named-uuid", "c4"], "r": 0.1}}
        ]),
        json!([
            {"op": "mutate", "table": "Child", "where": [["v", "==", 4]], "mutations": [["tags", "insert", ["map", [["c", 3]]]]]},
            {"op": "update", "table": "Root", "where": [["name", "==", "r3"]], "row": {"color": ["set", []], "n": -5, "r": 1e300}}
        ]),
        json!([{"op": "update", "table": "Child", "where": [["v", "==", 4]], "row": {"tags": ["map", [["a", 10], ["c", 3]]]}}]),
        // Only an ephemeral column: nothing is written.
        json!([{"op": "update", "table": "Root", "where": [["name", "==", "r3"]], "row": {"scratch": "x"}}]),
    ]
}

/// Changes that Open vSwitch 3.1.0 writes as diffs it cannot read back
/// correctly itself: a set growing from its non-empty default, and a diff
/// larger than the column may hold.
pub fn awkward_diffs() -> Vec<Json> {
    vec![
        json!([{"op": "mutate", "table": "Root", "where": [["name", "==", "r1"]], "mutations": [["two", "insert", 5]]}]),
        json!([{"op": "update", "table": "Root", "where": [["name", "==", "r3"]], "row": {"two": ["set", [7, 8]]}}]),
        json!([{"op": "update", "table": "Root", "where": [["name", "==", "r3"]], "row": {"two": ["set", [1, 2]]}}]),
    ]
}

/// `ops` with the database name in front, as a `transact` request.
pub fn with_db(name: &str, ops: &Json) -> Json {
    let mut params = vec![json!(name)];
    params.extend(ops.as_array().unwrap().iter().cloned());
    Json::Array(params)
}
