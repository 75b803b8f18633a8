//! Random transactions written, the file reopened (sometimes mid-way, and
//! across compactions): the database read back equals the one in memory.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ovsdb::db::Database;
use ovsdb_storage::log::{CompactionPolicy, Log, OpenMode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value as Json, json};
use support::*;

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> Option<&'a T> {
    (!items.is_empty()).then(|| &items[rng.random_range(0..items.len())])
}

fn ints(rng: &mut StdRng) -> Json {
    let n = rng.random_range(0..4);
    json!([
        "set",
        (0..n)
            .map(|_| rng.random_range(-3..10))
            .collect::<std::collections::BTreeSet<i64>>()
    ])
}

fn opts(rng: &mut StdRng) -> Json {
    let n = rng.random_range(0..4);
    let pairs: std::collections::BTreeMap<String, String> = (0..n)
        .map(|_| {
            (
                format!("k{}", rng.random_range(0..5)),
                format!("v{}\n\"{}", rng.random_range(0..3), "é"),
            )
        })
        .collect();
    json!(["map", pairs.into_iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()])
}

fn two(rng: &mut StdRng) -> Json {
    let a = rng.random_range(0..4);
    let b = rng.random_range(0..4);
    if a == b {
        json!(a)
    } else {
        json!(["set", [a.min(b), a.max(b)]])
    }
}

/// One random transaction on the test schema's `db`.
fn random_ops(rng: &mut StdRng, db: &Database) -> Json {
    let names = |table: &str| -> Vec<String> {
        let (_, ts, t) = db.table_by_name(table).unwrap();
        let col = ts.column_id("name").unwrap();
        t.rows
            .values()
            .map(|r| r.field(col).as_scalar().unwrap().as_str().unwrap().to_string())
            .collect()
    };
    let peers: Vec<String> = db
        .table_by_name("Peer")
        .unwrap()
        .2
        .rows
        .keys()
        .map(|u| u.to_string())
        .collect();
    let roots = names("Root");
    let name = format!("n{}", rng.random_range(0..30));
    match rng.random_range(0..10) {
        0 => json!([{"op": "insert", "table": "Peer", "row": {"name": name}}]),
        1 => match pick(rng, &peers) {
            Some(p) => json!([{"op": "delete", "table": "Peer", "where": [["_uuid", "==", ["uuid", p]]]}]),
            None => json!([]),
        },
        2 | 3 => {
            let peer_refs: Vec<Json> = peers
                .iter()
                .filter(|_| rng.random_bool(0.3))
                .map(|p| json!(["uuid", p]))
                .collect();
            json!([
                {"op": "insert", "table": "Child", "row": {"v": rng.random_range(0..100), "tags": ["map", [["t", 1]]]}, "uuid-name": "c"},
                {"op": "insert", "table": "Root", "row": {"name": name, "ints": ints(rng), "opts": opts(rng),
                    "r": rng.random_range(-8..8) as f64 / 4.0, "b": rng.random_bool(0.5), "two": two(rng),
                    "kids": ["named-uuid", "c"], "peers": ["set", peer_refs], "scratch": "s"}}
            ])
        }
        4 => match pick(rng, &roots) {
            Some(r) => json!([{"op": "delete", "table": "Root", "where": [["name", "==", r]]}]),
            None => json!([]),
        },
        5 => match pick(rng, &roots) {
            Some(r) => json!([{"op": "update", "table": "Root", "where": [["name", "==", r]],
                "row": {"ints": ints(rng), "n": rng.random_range(0..3), "color": if rng.random_bool(0.5) { json!("red") } else { json!(["set", []]) }}}]),
            None => json!([]),
        },
        6 => match pick(rng, &roots) {
            Some(r) => json!([{"op": "mutate", "table": "Root", "where": [["name", "==", r]], "mutations": [
                ["ints", if rng.random_bool(0.5) { "insert" } else { "delete" }, ints(rng)],
                ["opts", "insert", opts(rng)],
                ["opts", "delete", ["set", [format!("k{}", rng.random_range(0..5))]]]]}]),
            None => json!([]),
        },
        7 => match pick(rng, &roots) {
            Some(r) => {
                json!([{"op": "update", "table": "Root", "where": [["name", "==", r]], "row": {"two": two(rng)}}])
            }
            None => json!([]),
        },
        8 => match (pick(rng, &roots), pick(rng, &peers)) {
            (Some(r), Some(p)) => json!([{"op": "mutate", "table": "Root", "where": [["name", "==", r]], "mutations": [
                ["peer_by_name", "insert", ["map", [[name, ["uuid", p]]]]]]}]),
            _ => json!([]),
        },
        _ => json!([{"op": "mutate", "table": "Child", "where": [["v", "<", rng.random_range(0..100)]], "mutations": [
            ["tags", "insert", ["map", [[format!("t{}", rng.random_range(0..4)), rng.random_range(0..3)]]]],
            ["v", "+=", 1]]}]),
    }
}

#[test]
fn random_commits_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("random.db");
    let mut rng = StdRng::seed_from_u64(0x0f5d_b1e5);
    let schema = test_schema();
    let mut log = Log::create(&file, Arc::clone(&schema)).unwrap();
    // Compact whenever there is anything to compact, to exercise it often.
    let eager = CompactionPolicy {
        min_interval: Duration::ZERO,
        min_size: 0,
        min_records: 40,
        ..CompactionPolicy::default()
    };
    log.set_compaction_policy(eager.clone());
    let mut db = Database::new(schema);
    let (mut n_records, mut n_compactions, mut n_failed) = (0, 0, 0);
    for i in 0..600 {
        let ops = random_ops(&mut rng, &db);
        match try_commit(&mut db, &ops) {
            Ok(c) => n_records += log.append(&c).unwrap().is_some() as usize,
            Err(_) => n_failed += 1,
        }
        if i % 7 == 0 {
            log.sync().unwrap();
        }
        if log.compaction_due(Instant::now()) {
            log.sync().unwrap();
            log.compact(&db, Some("random")).unwrap();
            n_compactions += 1;
        }
        if i % 150 == 149 {
            // Close and reopen in the middle: appends go on after what was read.
            log.sync().unwrap();
            drop(log);
            let opened = Log::open(&file, OpenMode::ReadWrite).unwrap();
            assert_eq!(opened.torn_tail, None);
            assert_eq!(dump(&opened.db), dump(&db), "after {i} transactions");
            log = opened.log;
            log.set_compaction_policy(eager.clone());
        }
    }
    log.sync().unwrap();
    drop(log);
    assert!(
        n_records > 300 && n_compactions > 3 && n_failed < 300,
        "{n_records} {n_compactions} {n_failed}"
    );
    assert!(db.n_rows() > 10);

    let reopened = Log::open(&file, OpenMode::ReadOnly).unwrap();
    assert_eq!(dump(&reopened.db), dump(&db));
    assert_eq!(ovs_dump(&file, &db.schema), dump(&db));
}

#[test]
fn compaction_is_due_by_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("due.db");
    let schema = test_schema();
    let mut log = Log::create(&file, Arc::clone(&schema)).unwrap();
    log.set_compaction_policy(CompactionPolicy {
        min_size: 4096,
        ..CompactionPolicy::default()
    });
    let mut db = Database::new(schema);
    let start = Instant::now();
    let mut i = 0;
    while log.len() <= 4096 || i < 100 {
        let c = commit(
            &mut db,
            &json!([{"op": "insert", "table": "Peer", "row": {"name": format!("peer{i}")}}]),
        );
        log.append(&c).unwrap();
        i += 1;
    }
    let later = |mins: u64| start + Duration::from_secs(mins * 60);
    assert!(!log.compaction_due(later(5)), "too soon");
    assert!(log.compaction_due(later(11)));
    log.compact(&db, None).unwrap();
    assert!(
        !log.compaction_due(Instant::now() + Duration::from_secs(11 * 60)),
        "nothing new"
    );
    let c = commit(
        &mut db,
        &json!([{"op": "insert", "table": "Peer", "row": {"name": "one more"}}]),
    );
    log.append(&c).unwrap();
    assert!(
        !log.compaction_due(Instant::now() + Duration::from_secs(11 * 60)),
        "too little new"
    );
    assert!(
        log.compaction_due(Instant::now() + Duration::from_secs(25 * 60 * 60)),
        "a day later, anything counts"
    );
}

/// Compacting a database opened through a symbolic link replaces the file
/// the link points to and keeps the link, as Open vSwitch does.
#[test]
fn compaction_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.db");
    let link = dir.path().join("link.db");
    let schema = test_schema();
    let mut db = Database::new(Arc::clone(&schema));
    drop(Log::create(&real, schema).unwrap());
    std::os::unix::fs::symlink("real.db", &link).unwrap();
    let mut opened = Log::open(&link, OpenMode::ReadWrite).unwrap();
    for ops in scenario() {
        opened.log.append(&commit(&mut db, &ops)).unwrap();
    }
    opened.log.sync().unwrap();
    opened.log.compact(&db, None).unwrap();
    let c = commit(
        &mut db,
        &json!([{"op": "insert", "table": "Peer", "row": {"name": "after"}}]),
    );
    opened.log.append(&c).unwrap();
    opened.log.sync().unwrap();
    drop(opened);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(dir.path().join(".real.db.~lock~").exists());
    assert_eq!(dump(&Log::open(&link, OpenMode::ReadOnly).unwrap().db), dump(&db));
    assert_eq!(ovs_dump(&real, &db.schema), dump(&db));
}
