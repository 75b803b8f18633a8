//! Transaction ids survive restarts and compaction: the ids `append`
//! returns are the ones a reopened file reports, with the recent commits
//! behind them, so `monitor_cond_since` works across a server restart.

mod support;

use ovsdb::Uuid;
use ovsdb::db::Database;
use ovsdb_storage::log::{Log, OpenMode};
use support::*;

#[test]
fn ids_survive_reopening_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let schema = test_schema();
    let mut db = Database::new(schema.clone());
    let mut log = Log::create(&path, schema).unwrap();
    let steps = scenario();
    let mut ids: Vec<Uuid> = Vec::new();
    let mut sizes = Vec::new();
    for ops in &steps[..5] {
        let c = commit(&mut db, ops);
        sizes.push(c.n_changes());
        ids.push(log.append(&c).unwrap().expect("stored"));
    }
    log.sync().unwrap();
    assert_eq!(log.last_txn_id(), ids[4]);
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());
    drop(log);

    let opened = Log::open(&path, OpenMode::ReadWrite).unwrap();
    assert_eq!(opened.log.last_txn_id(), ids[4]);
    assert_eq!(opened.history_start, ids[0]);
    let history: Vec<Uuid> = opened.history.iter().map(|(id, _)| *id).collect();
    assert_eq!(history, ids[1..5]);
    let history_sizes: Vec<usize> = opened.history.iter().map(|(_, c)| c.n_changes()).collect();
    assert_eq!(history_sizes, sizes[1..5]);

    // Compaction keeps the chain: the snapshot stands for the last id.
    let mut log = opened.log;
    log.compact(&db, Some("compacting database online")).unwrap();
    let c = commit(&mut db, &steps[5]);
    let after = log.append(&c).unwrap().expect("stored");
    log.sync().unwrap();
    drop(log);
    let opened = Log::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(opened.log.last_txn_id(), after);
    assert_eq!(opened.history_start, ids[4]);
    assert_eq!(opened.history.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![after]);

    // Open vSwitch's tools still read the file (the comment is just a comment).
    let out = ovsdb_tool(&["show-log", path_str(&path)]);
    assert!(out.contains("rovn-last-txn-id"), "{out}");
}
