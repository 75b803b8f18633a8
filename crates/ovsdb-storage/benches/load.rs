//! Opening a large database file: Open vSwitch 3.1 against us, same file,
//! same machine, same run. Run with
//! `cargo bench -p ovsdb-storage --bench load [-- ROWS]` (default 1,000,000
//! logical flows in an OVN southbound database).
//!
//! For Open vSwitch it times `ovsdb-tool query` of an empty transaction
//! (which reads the whole file as ovsdb-server does at startup) and
//! ovsdb-server itself, from start until it listens; for us, `Log::open`.
//! Both are timed twice, best of two, after a warm-up read of the file.
//! With the argument `ours`, only our side runs (five times): for profiling.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ovsdb::db::{Commit, Database, RowChange};
use ovsdb::row::Row;
use ovsdb::schema::DatabaseSchema;
use ovsdb::{Atom, Datum, Uuid};
use ovsdb_storage::log::{Log, OpenMode, write_database};

fn main() {
    let n_rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sb.db");
    let t = Instant::now();
    let db = southbound(n_rows);
    write_database(&file, &db, Some("benchmark")).unwrap();
    drop(db);
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "{n_rows} logical flows, {:.1} MiB, written in {:.2?}",
        size as f64 / 1048576.0,
        t.elapsed()
    );
    let _ = std::fs::read(&file); // warm the page cache for everyone

    let only_ours = std::env::args().any(|a| a == "ours");
    let ours = best_of(if only_ours { 5 } else { 2 }, || {
        let t = Instant::now();
        let opened = Log::open(&file, OpenMode::ReadOnly).unwrap();
        assert_eq!(opened.db.n_rows(), n_rows + 1);
        let elapsed = t.elapsed();
        drop(opened); // freeing is not loading
        elapsed
    });
    if only_ours {
        println!("rovn Log::open:         {ours:>10.2?}");
        return;
    }
    let tool = best_of(2, || {
        let t = Instant::now();
        let status = Command::new("ovsdb-tool")
            .args(["query", file.to_str().unwrap(), "[\"OVN_Southbound\"]"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        t.elapsed()
    });
    let server = best_of(2, || ovsdb_server_startup(dir.path(), &file));
    println!("rovn Log::open:         {ours:>10.2?}");
    println!(
        "ovsdb-tool query:       {tool:>10.2?}  ({:.2}x ours)",
        tool.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "ovsdb-server startup:   {server:>10.2?}  ({:.2}x ours)",
        server.as_secs_f64() / ours.as_secs_f64()
    );
}

fn best_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| f()).min().unwrap()
}

/// Time from starting ovsdb-server until it listens, which it does after
/// reading its databases.
fn ovsdb_server_startup(dir: &Path, file: &Path) -> Duration {
    let run_dir = tempfile::tempdir_in(dir).unwrap();
    let t = Instant::now();
    let server = support::OvsdbServer::start_within(run_dir.path(), file, Duration::from_secs(600));
    let elapsed = t.elapsed();
    server.stop();
    elapsed
}

/// A southbound database with one datapath and `n` logical flows, shaped
/// like northd's output.
fn southbound(n: usize) -> Database {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/ovn-sb.ovsschema")).unwrap();
    let schema: Arc<DatabaseSchema> = DatabaseSchema::from_json(&serde_json::from_str(&text).unwrap()).unwrap();
    let mut db = Database::new(Arc::clone(&schema));
    let dp_table = schema.table_id("Datapath_Binding").unwrap();
    let dp_ts = &schema.tables[dp_table];
    let dp_uuid = Uuid::random();
    let mut dp = Row::new_default(dp_ts, dp_uuid);
    dp.set(dp_ts.column_id("tunnel_key").unwrap(), Datum::scalar(Atom::Integer(1)));

    let lf_table = schema.table_id("Logical_Flow").unwrap();
    let ts = &schema.tables[lf_table];
    let col = |name: &str| ts.column_id(name).unwrap();
    let stages = [
        "ls_in_port_sec_l2",
        "ls_in_acl",
        "ls_in_l2_lkup",
        "ls_out_acl",
        "lr_in_ip_routing",
    ];
    let changes: Vec<RowChange> = (0..n)
        .map(|i| {
            let uuid = Uuid::random();
            let mut row = Row::new_default(ts, uuid);
            let stage = stages[i % stages.len()];
            row.set(col("logical_datapath"), Datum::scalar(Atom::Uuid(dp_uuid)));
            row.set(
                col("pipeline"),
                Datum::scalar(Atom::string(if i % 2 == 0 { "ingress" } else { "egress" })),
            );
            row.set(col("table_id"), Datum::scalar(Atom::Integer((i % 30) as i64)));
            row.set(col("priority"), Datum::scalar(Atom::Integer((i % 65535) as i64)));
            row.set(
                col("match"),
                Datum::scalar(Atom::string(&format!(
                    "inport == \"lsp{i}\" && eth.src == 0a:00:00:{:02x}:{:02x}:{:02x} && ip4.src == 10.{}.{}.{}",
                    (i >> 16) & 255,
                    (i >> 8) & 255,
                    i & 255,
                    (i >> 16) & 255,
                    (i >> 8) & 255,
                    i & 255
                ))),
            );
            row.set(
                col("actions"),
                Datum::scalar(Atom::string(&format!("reg0[{}] = 1; next;", i % 16))),
            );
            row.set(
                col("external_ids"),
                Datum::map(vec![
                    (
                        Atom::string("source"),
                        Atom::string(&format!("northd.c:{}", 1000 + i % 5000)),
                    ),
                    (Atom::string("stage-name"), Atom::string(stage)),
                ]),
            );
            RowChange {
                uuid,
                old: None,
                new: Some(Arc::new(row)),
            }
        })
        .collect();
    db.apply(&Commit {
        tables: vec![
            (
                dp_table,
                vec![RowChange {
                    uuid: dp_uuid,
                    old: None,
                    new: Some(Arc::new(dp)),
                }],
            ),
            (lf_table, changes),
        ],
        ..Commit::default()
    });
    db
}
