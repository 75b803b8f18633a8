//! `startup` and `memory`: a Southbound database of 1,000,000
//! `Logical_Flow` rows (plus 1,000 datapaths), written once per run
//! through Open vSwitch's server in transactions of 100,000 rows and then
//! copied, so both servers open byte-identical files.
//!
//! - `startup`: time from process start until the socket answers
//!   `list_dbs` and a `select`; then `ovs-appctl ovsdb-server/compact`,
//!   timed until the file has been replaced.
//! - `memory`: peak RSS (`VmHWM`) once the database is loaded.
//!
//! Validation: the datapaths and a slice of the flows (one `table_id`)
//! are all there, before and after compaction.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use sandbox::db::Schema;
use serde_json::json;

use crate::Bench;
use crate::client::Conn;
use crate::data::{SB, count_rows, flows_in_table, insert_datapaths, insert_flows};
use crate::report::{Figure, Report, Target};
use crate::servers::{Cost, Meter, Server, Side};

/// Rows per transaction when generating the file.
const BATCH: usize = 100_000;
/// The `table_id` whose flows are counted to check the load.
const PROBE_TABLE: usize = 7;

struct Outcome {
    startup: Cost,
    peak_rss: u64,
    rss: u64,
    compaction: Cost,
    compacted_size: u64,
}

pub async fn run(bench: &Bench, startup: bool, memory: bool) -> Result<Vec<Report>> {
    let rows = bench.count(1_000_000, 1000);
    let dps = bench.count(1000, 10);
    let source = bench
        .phase("writing the start-up database", generate(bench, rows, dps))
        .await?;
    let size = std::fs::metadata(&source)?.len();
    let [ovs, rovn] = bench
        .both("startup", |side| one(bench, side, &source, rows, dps))
        .await?;
    let what = format!(
        "{rows} Logical_Flow rows and {dps} datapaths, {} MiB file",
        size >> 20
    );
    let mut reports = Vec::new();
    if startup {
        reports.push(Report {
            workload: "startup",
            setup: what.clone(),
            figures: vec![
                Figure::seconds(
                    "start until list_dbs and a select answer",
                    ovs.startup.wall,
                    rovn.startup.wall,
                )
                .target(Target::Ratio(3.0)),
                Figure::seconds("start-up: server CPU", ovs.startup.cpu, rovn.startup.cpu),
                Figure::seconds(
                    "compaction (ovsdb-server/compact)",
                    ovs.compaction.wall,
                    rovn.compaction.wall,
                ),
                Figure::seconds(
                    "compaction: server CPU",
                    ovs.compaction.cpu,
                    rovn.compaction.cpu,
                ),
                Figure::mib("compacted file", ovs.compacted_size, rovn.compacted_size),
            ],
        });
    }
    if memory {
        reports.push(Report {
            workload: "memory",
            setup: what,
            figures: vec![
                Figure::mib("peak RSS (VmHWM) once loaded", ovs.peak_rss, rovn.peak_rss)
                    .target(Target::Ratio(2.0)),
                Figure::mib("RSS once loaded", ovs.rss, rovn.rss),
            ],
        });
    }
    Ok(reports)
}

/// Writes the database through Open vSwitch's ovsdb-server, the reference
/// writer, and returns the file once that server has stopped.
async fn generate(bench: &Bench, rows: usize, dps: usize) -> Result<PathBuf> {
    let dir = bench.dir("startup/source")?;
    let db = bench.create_db(&dir, Schema::Southbound)?;
    let mut server = Server::start(
        Side::Ovs,
        &bench.programs,
        &dir,
        std::slice::from_ref(&db),
        bench.timeout,
    )
    .await?;
    let mut conn = Conn::connect(&server.sock, bench.timeout).await?;
    let dps = insert_datapaths(&mut conn, dps).await?;
    insert_flows(&mut conn, 0..rows, &dps, BATCH).await?;
    drop(conn);
    server.stop();
    Ok(db)
}

async fn one(bench: &Bench, side: Side, source: &Path, rows: usize, dps: usize) -> Result<Outcome> {
    let dir = bench.server_dir("startup", side)?;
    let db = dir.join(source.file_name().context("database file name")?);
    std::fs::copy(source, &db)
        .with_context(|| format!("copying {} to {}", source.display(), db.display()))?;

    let start = Instant::now();
    let mut server = Server::spawn(side, &bench.programs, &dir, std::slice::from_ref(&db))?;
    let mut conn = server.wait_ready(bench.timeout).await?;
    let n = count_rows(&mut conn, SB, "Datapath_Binding", json!([])).await?;
    let startup = Cost {
        wall: start.elapsed(),
        cpu: server.cpu()?,
        client_cpu: Duration::ZERO,
    };
    let (peak_rss, rss) = (server.peak_rss()?, server.rss()?);
    ensure!(n == dps, "{n} datapaths after start-up, expected {dps}");
    check_flows(&mut conn, rows)
        .await
        .context("after start-up")?;

    let inode = std::fs::metadata(&db)?.ino();
    let meter = Meter::start(&server)?;
    server.appctl(&["ovsdb-server/compact"], bench.timeout)?;
    // Compaction is over once the new file has been renamed over the old.
    let deadline = Instant::now() + bench.timeout;
    while std::fs::metadata(&db).map(|m| m.ino()).unwrap_or(inode) == inode {
        if Instant::now() > deadline {
            bail!(
                "{} was not replaced within {:?} of ovsdb-server/compact",
                db.display(),
                bench.timeout
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let compaction = meter.stop()?;
    let compacted_size = std::fs::metadata(&db)?.len();
    check_flows(&mut conn, rows)
        .await
        .context("after compaction")?;
    server.check_running()?;
    Ok(Outcome {
        startup,
        peak_rss,
        rss,
        compaction,
        compacted_size,
    })
}

/// Counts the flows of [`PROBE_TABLE`].
async fn check_flows(conn: &mut Conn, rows: usize) -> Result<()> {
    let n = count_rows(
        conn,
        SB,
        "Logical_Flow",
        json!([["table_id", "==", PROBE_TABLE]]),
    )
    .await?;
    let want = flows_in_table(rows, PROBE_TABLE);
    ensure!(
        n == want,
        "{n} flows in table {PROBE_TABLE}, expected {want}"
    );
    Ok(())
}
