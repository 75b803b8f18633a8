//! A large transaction (a first compile's) is applied to the database
//! only once its updates and replies are out. Nobody may see the
//! difference: requests right behind it, on its own connection or
//! another, see every row; a `wait` it satisfies is released; monitors
//! get the rows; the file holds them after a restart.

mod common;

use common::{Server, create_db_from_json};
use serde_json::{Value as Json, json};

/// Above the server's threshold for large commits (512 changes), and
/// the file's for encoding a table's rows on every thread (2,048).
const ROWS: i64 = 3000;

fn schema(dir: &std::path::Path) -> std::path::PathBuf {
    let schema = json!({"name": "T", "version": "1.0.0", "tables": {
        "R": {"isRoot": true, "columns": {"n": {"type": "integer"}, "name": {"type": "string"}}, "indexes": [["name"]]},
        "Done": {"isRoot": true, "columns": {"flag": {"type": "boolean"}}}}});
    create_db_from_json(dir, "t.db", &schema)
}

fn big_insert() -> Json {
    let mut ops = vec![json!("T")];
    ops.extend((0..ROWS).map(|n| json!({"op": "insert", "table": "R", "row": {"n": n, "name": format!("r{n}")}})));
    ops.push(json!({"op": "insert", "table": "Done", "row": {"flag": true}}));
    Json::Array(ops)
}

fn request_bytes(id: u64, method: &str, params: &Json) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "method": method, "params": params})).unwrap()
}

/// Reads messages until the replies to every id in `ids` are in.
fn replies(c: &mut common::Client, ids: &[u64]) -> Vec<Json> {
    let mut got: Vec<Option<Json>> = vec![None; ids.len()];
    while got.iter().any(Option::is_none) {
        let m = c.recv().expect("connection closed before the replies");
        match ids.iter().position(|id| m["id"] == json!(id)) {
            Some(i) => got[i] = Some(m),
            None => c.notifications.push(m),
        }
    }
    got.into_iter().flatten().collect()
}

#[test]
fn requests_behind_a_large_commit_see_all_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = schema(dir.path());
    let server = Server::start(dir.path(), &[db.clone()]);

    // Blocked until the large transaction's last row exists.
    let mut waiter = server.connect();
    waiter
        .send_raw(&request_bytes(
            1,
            "transact",
            &json!(["T", {"op": "wait", "table": "Done", "where": [], "columns": ["flag"], "until": "==", "rows": [{"flag": true}], "timeout": 60000}]),
        ))
        .unwrap();
    let mut watcher = server.connect();
    let r = watcher.request("monitor_cond", json!(["T", "w", {"Done": [{"columns": ["flag"]}]}]));
    assert_eq!(r["result"], json!({}), "{r}");

    // The large transaction, then at once, in the same write, a count and
    // an insert that clashes with one of its rows on the index.
    let mut c = server.connect();
    let mut bytes = request_bytes(10, "transact", &big_insert());
    bytes.extend(request_bytes(11, "transact", &json!(["T", {"op": "select", "table": "R", "where": [], "columns": ["n"]}])));
    bytes.extend(request_bytes(12, "transact", &json!(["T", {"op": "insert", "table": "R", "row": {"n": -1, "name": "r7"}}])));
    c.send_raw(&bytes).unwrap();
    let [big, select, clash] = <[Json; 3]>::try_from(replies(&mut c, &[10, 11, 12])).unwrap();
    let results = big["result"].as_array().unwrap();
    assert_eq!(results.len() as i64, ROWS + 1, "{}", results.last().unwrap());
    assert!(results.iter().all(|r| r["uuid"][0] == "uuid"), "{}", results.last().unwrap());
    assert_eq!(select["result"][0]["rows"].as_array().unwrap().len() as i64, ROWS, "{select}");
    assert_eq!(clash["result"][1]["error"], "constraint violation", "{clash}");

    // Another connection sees it too.
    let mut other = server.connect();
    let r = other.request("transact", json!(["T", {"op": "select", "table": "R", "where": [["n", "==", ROWS - 1]], "columns": ["name"]}]));
    assert_eq!(r["result"][0]["rows"], json!([{"name": format!("r{}", ROWS - 1)}]), "{r}");

    // The wait is released, and the monitor heard of the row it waited for.
    let [released] = <[Json; 1]>::try_from(replies(&mut waiter, &[1])).unwrap();
    assert_eq!(released["result"], json!([{}]), "{released}");
    let update = watcher.recv().expect("an update");
    assert_eq!(update["method"], "update2", "{update}");
    assert_eq!(update["params"][1]["Done"].as_object().unwrap().len(), 1, "{update}");

    // All of it is in the file.
    drop((c, other, waiter, watcher));
    drop(server);
    let server = Server::start(dir.path(), &[db]);
    let mut c = server.connect();
    let r = c.request("transact", json!(["T", {"op": "select", "table": "R", "where": [], "columns": ["n"]}]));
    assert_eq!(r["result"][0]["rows"].as_array().unwrap().len() as i64, ROWS, "{r}");
}

/// The updates of groups that see many of a large commit's rows are
/// composed after the others have gone out. The committing connection,
/// whose monitors see both kinds, still gets each update before the
/// reply to its transaction, and that reply before the next one; the
/// other connections get theirs, small and large.
#[test]
fn a_large_commits_updates_come_before_its_reply() {
    let dir = tempfile::tempdir().unwrap();
    let db = schema(dir.path());
    let server = Server::start(dir.path(), &[db]);

    let mut c = server.connect();
    let r = c.request("monitor_cond", json!(["T", "all", {"R": [{"columns": ["n"]}]}]));
    assert_eq!(r["result"], json!({}), "{r}");
    let r = c.request("monitor_cond", json!(["T", "done", {"Done": [{"columns": ["flag"]}]}]));
    assert_eq!(r["result"], json!({}), "{r}");
    let mut few = server.connect();
    let r = few.request("monitor_cond", json!(["T", "few", {"R": [{"where": [["n", "<", 3]], "columns": ["name"]}]}]));
    assert_eq!(r["result"], json!({}), "{r}");
    let mut many = server.connect();
    let r = many.request("monitor_cond", json!(["T", "many", {"R": [{"where": [["n", ">=", 3]], "columns": ["n"]}]}]));
    assert_eq!(r["result"], json!({}), "{r}");

    let mut bytes = request_bytes(10, "transact", &big_insert());
    bytes.extend(request_bytes(11, "transact", &json!(["T", {"op": "select", "table": "Done", "where": [], "columns": ["flag"]}])));
    c.send_raw(&bytes).unwrap();
    let mut seen = Vec::new();
    while seen.last() != Some(&"reply 11".to_string()) {
        let m = c.recv().expect("connection closed before the replies");
        seen.push(match (&m["method"], &m["id"]) {
            (Json::String(method), _) => {
                let rows: usize = m["params"][1].as_object().unwrap().values().map(|t| t.as_object().unwrap().len()).sum();
                format!("{method} {} {rows}", m["params"][0].as_str().unwrap())
            }
            (_, id) => format!("reply {id}"),
        });
    }
    let all = seen.iter().position(|s| s == &format!("update2 all {ROWS}"));
    let done = seen.iter().position(|s| s == "update2 done 1");
    let reply = seen.iter().position(|s| s == "reply 10");
    assert!(all.is_some() && done.is_some() && reply.is_some(), "{seen:?}");
    assert!(all < reply && done < reply && reply < Some(seen.len() - 1), "{seen:?}");

    let update = few.recv().expect("an update");
    assert_eq!(update["params"][1]["R"].as_object().unwrap().len(), 3, "{}", update["method"]);
    let update = many.recv().expect("an update");
    assert_eq!(update["params"][1]["R"].as_object().unwrap().len() as i64, ROWS - 3, "{}", update["method"]);
}
