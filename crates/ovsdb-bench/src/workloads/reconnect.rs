//! `reconnect`: 500 clients follow the Southbound `Logical_Flow` table
//! (5,000 rows) with `monitor_cond_since`, keeping the id of the last
//! transaction they saw. A writer changes 100 flows; the server is
//! restarted on the same file (SIGTERM, start again); while the clients
//! are away the writer changes 10 more; then every client reconnects
//! naming its last transaction id, as ovn-controller does.
//!
//! Measured: bytes the clients receive until each is back in sync (each
//! holds every row with its latest `actions`), the time that takes, and,
//! for reference, the bytes of a full resend (a fresh client's initial
//! reply, times the number of clients). Validation: every client's
//! replica matches the database exactly, after either kind of answer
//! (`found: true` and only the missed changes, or `found: false` and
//! everything).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use sandbox::db::Schema;
use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, watch};

use super::{Arrival, WRITER_WINDOW, generator_busy, last_arrival};
use crate::Bench;
use crate::client::{
    CONNECT_PATIENCE, Conn, Replica, connect_all, fingerprint, join_all, txn, uuid_key,
};
use crate::data::{
    FIRST_ACTIONS, SB, insert_datapaths, insert_flows, pipeline, set_actions, spread,
    written_actions,
};
use crate::report::{Better, Figure, Report, Target};
use crate::servers::{Cost, Meter, Side};

const ZERO: &str = "00000000-0000-0000-0000-000000000000";

/// What every client must hold: the row count, and the `actions` of each
/// row written so far (the others still hold [`FIRST_ACTIONS`]).
struct Expect {
    rows: usize,
    written: HashMap<u128, u64>,
}

impl Expect {
    /// After writes `0..n` of the plan over `rows` (uuid keys).
    fn after(rows: &[u128], n: usize) -> Expect {
        let written = (0..n)
            .map(|k| {
                (
                    rows[spread(k, rows.len())],
                    fingerprint(&json!(written_actions(k))),
                )
            })
            .collect();
        Expect {
            rows: rows.len(),
            written,
        }
    }

    fn met_by(&self, replica: &Replica) -> bool {
        replica.rows.len() == self.rows
            && self
                .written
                .iter()
                .all(|(u, v)| replica.rows.get(u) == Some(v))
    }

    /// The full check, once in sync: also every unwritten row.
    fn check(&self, replica: &Replica) -> Result<()> {
        ensure!(self.met_by(replica), "replica out of sync");
        let first = fingerprint(&json!(FIRST_ACTIONS));
        let stale = replica
            .rows
            .iter()
            .filter(|(u, v)| !self.written.contains_key(*u) && **v != first)
            .count();
        ensure!(
            stale == 0,
            "{stale} rows hold actions that were never written"
        );
        Ok(())
    }
}

/// One client's resync, and whether the server resumed from its last id.
struct Resync {
    arrival: Arrival,
    found: bool,
}

struct Outcome {
    resync: Cost,
    synced: Duration,
    resync_bytes: u64,
    full_bytes: u64,
    found: usize,
}

pub async fn run(bench: &Bench) -> Result<Vec<Report>> {
    let clients = bench.count(500, 2);
    let rows = bench.count(5_000, 100);
    let before = bench.count(100, 5);
    let during = bench.count(10, 2);
    let [ovs, rovn] = bench
        .both("reconnect", |side| {
            one(bench, side, clients, rows, before, during)
        })
        .await?;
    let saving = |o: &Outcome| o.full_bytes as f64 / o.resync_bytes as f64;
    Ok(vec![Report {
        workload: "reconnect",
        setup: format!(
            "{clients} clients, {rows} Logical_Flow rows; {before} writes, server restart, {during} writes, \
             all reconnect with their last txn id (resumed from history: ovsdb-server {}/{clients}, rovsdb-server {}/{clients})",
            ovs.found, rovn.found
        ),
        figures: vec![
            Figure::mib(
                "resync: bytes received, all clients",
                ovs.resync_bytes,
                rovn.resync_bytes,
            ),
            Figure::mib(
                "full resend, all clients (reference)",
                ovs.full_bytes,
                rovn.full_bytes,
            ),
            Figure::new(
                "full resend ÷ resync bytes",
                "x",
                Better::Higher,
                saving(&ovs),
                saving(&rovn),
            )
            .target(Target::RovnAtLeast(20.0)),
            Figure::seconds("time until all clients in sync", ovs.synced, rovn.synced),
            Figure::seconds("resync: server CPU", ovs.resync.cpu, rovn.resync.cpu),
            generator_busy("resync: ", &ovs.resync, &rovn.resync),
        ],
    }])
}

async fn one(
    bench: &Bench,
    side: Side,
    clients: usize,
    rows: usize,
    before: usize,
    during: usize,
) -> Result<Outcome> {
    let mut server = bench
        .fresh_server("reconnect", side, Schema::Southbound)
        .await?;
    let mut writer = Conn::connect(&server.sock, bench.timeout).await?;
    let dps = insert_datapaths(&mut writer, 1).await?;
    let uuids = insert_flows(&mut writer, 0..rows, &dps, rows).await?;
    let keys = uuids
        .iter()
        .map(|u| uuid_key(u))
        .collect::<Result<Vec<_>>>()?;
    let write = |k: usize| {
        txn(
            SB,
            [set_actions(&uuids[spread(k, rows)], &written_actions(k))],
        )
    };

    // Everybody follows the table and sees the first writes.
    let (synced_tx, mut synced_rx) = mpsc::channel(clients);
    let (go_tx, go_rx) = watch::channel(None);
    let first = Arc::new(Expect::after(&keys, before));
    let mut set = tokio::task::JoinSet::new();
    for conn in connect_all(&server.sock, clients).await? {
        set.spawn(follow(
            conn,
            server.sock.clone(),
            Arc::clone(&first),
            synced_tx.clone(),
            go_rx.clone(),
        ));
    }
    pipeline(&mut writer, (0..before).map(write), WRITER_WINDOW).await?;
    for _ in 0..clients {
        synced_rx
            .recv()
            .await
            .ok_or_else(|| anyhow!("a client stopped before its first sync"))?;
    }
    drop(writer);

    // Restart; changes happen while the clients are away.
    server.restart()?;
    let mut writer = server.wait_ready(bench.timeout).await?;
    pipeline(
        &mut writer,
        (before..before + during).map(write),
        WRITER_WINDOW,
    )
    .await?;

    let meter = Meter::start(&server)?;
    let start = Instant::now();
    let last = Arc::new(Expect::after(&keys, before + during));
    go_tx
        .send(Some(Arc::clone(&last)))
        .map_err(|_| anyhow!("every client has gone"))?;
    let done = join_all(set).await?;
    let resync = meter.stop()?;
    let found = done.iter().filter(|r| r.found).count();
    let arrivals: Vec<Arrival> = done.into_iter().map(|r| r.arrival).collect();
    let (synced, resync_bytes) = last_arrival(start, &arrivals);

    // For reference: what a client that knows nothing receives.
    let mut fresh = Conn::connect(&server.sock, bench.timeout).await?;
    let mut replica = Replica::new("Logical_Flow", "actions");
    subscribe(&mut fresh, &mut replica, &mut ZERO.to_string()).await?;
    last.check(&replica).context("a fresh client's full copy")?;

    Ok(Outcome {
        resync,
        synced,
        resync_bytes,
        full_bytes: fresh.bytes_in * clients as u64,
        found,
    })
}

fn request(last_txn_id: &str) -> Json {
    json!([SB, "flows", {"Logical_Flow": [{}]}, last_txn_id])
}

/// One client: follows the table until in sync with `first`, says so,
/// holds on until the server goes away, then on the go signal reconnects
/// with the last transaction id it saw and follows until in sync again.
async fn follow(
    mut conn: Conn,
    sock: PathBuf,
    first: Arc<Expect>,
    synced: mpsc::Sender<()>,
    mut go: watch::Receiver<Option<Arc<Expect>>>,
) -> Result<Resync> {
    let mut replica = Replica::new("Logical_Flow", "actions");
    let mut last = ZERO.to_string();
    subscribe(&mut conn, &mut replica, &mut last).await?;
    catch_up(&mut conn, &mut replica, &mut last, &first).await?;
    synced
        .send(())
        .await
        .map_err(|_| anyhow!("the benchmark has gone"))?;
    while let Some((updates, txn_id)) = conn.next_update().await? {
        replica.apply(&updates, |_, _| {})?;
        last = txn_id.unwrap_or(last);
    }

    let expect = go
        .wait_for(Option::is_some)
        .await
        .map_err(|_| anyhow!("no go signal"))?
        .clone();
    let expect = expect.ok_or_else(|| anyhow!("empty go signal"))?;
    let mut conn = Conn::connect(&sock, CONNECT_PATIENCE).await?;
    let found = subscribe(&mut conn, &mut replica, &mut last).await?;
    catch_up(&mut conn, &mut replica, &mut last, &expect).await?;
    expect.check(&replica)?;
    Ok(Resync {
        arrival: Arrival::of(&conn),
        found,
    })
}

/// Sends `monitor_cond_since` with `last` and applies the reply: only the
/// missed changes if the server found `last`, else a full copy. Returns
/// whether it was found.
async fn subscribe(conn: &mut Conn, replica: &mut Replica, last: &mut String) -> Result<bool> {
    let id = conn.send("monitor_cond_since", request(last)).await?;
    let reply = conn
        .reply_to(id, &mut |m, _| {
            bail!("notification {m} before the monitor reply")
        })
        .await?;
    let [found, txn_id, updates] = reply.as_array().map(Vec::as_slice).unwrap_or_default() else {
        bail!("monitor_cond_since reply is not [found, last-txn-id, updates]: {reply}");
    };
    let found = found
        .as_bool()
        .ok_or_else(|| anyhow!("found is not a boolean: {found}"))?;
    if !found {
        replica.rows.clear();
    }
    replica.apply(updates, |_, _| {})?;
    *last = txn_id
        .as_str()
        .ok_or_else(|| anyhow!("last-txn-id is not a string: {txn_id}"))?
        .to_string();
    Ok(found)
}

async fn catch_up(
    conn: &mut Conn,
    replica: &mut Replica,
    last: &mut String,
    expect: &Expect,
) -> Result<()> {
    while !expect.met_by(replica) {
        if let Some(txn_id) = conn.apply_next_update(replica, |_, _| {}).await? {
            *last = txn_id;
        }
    }
    Ok(())
}
