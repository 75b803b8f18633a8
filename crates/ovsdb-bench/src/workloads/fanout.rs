//! `fanout`: 500 clients `monitor_cond` the Southbound `Logical_Flow`
//! table, all with the same request, while one writer commits 1,000
//! transactions (one new flow each, 16 in flight). Measured: server CPU
//! and the time until every client has every update. Validation: each
//! client ends with exactly the 1,000 flows written, each once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use sandbox::db::Schema;
use serde_json::{Value as Json, json};

use super::{Arrival, WRITER_WINDOW, generator_busy, last_arrival};
use crate::Bench;
use crate::client::{Conn, Replica, call_each, connect_all, fingerprint, join_all, txn};
use crate::data::{SB, flow_row, insert_datapaths, pipeline};
use crate::report::{Figure, Report, Target};
use crate::servers::{Cost, Meter, Side};

struct Outcome {
    cost: Cost,
    /// From the first commit sent until the last client had everything.
    all_synced: Duration,
    /// Received by all clients together.
    bytes: u64,
}

pub async fn run(bench: &Bench) -> Result<Vec<Report>> {
    let clients = bench.count(500, 2);
    let txns = bench.count(1000, 10);
    let [ovs, rovn] = bench
        .both("fanout", |side| one(bench, side, clients, txns))
        .await?;
    Ok(vec![Report {
        workload: "fanout",
        setup: format!(
            "{clients} clients monitor Logical_Flow (same request), one writer commits {txns} inserts, {WRITER_WINDOW} in flight"
        ),
        figures: vec![
            Figure::seconds("server CPU", ovs.cost.cpu, rovn.cost.cpu).target(Target::Ratio(3.0)),
            Figure::seconds(
                "time until every client has every update",
                ovs.all_synced,
                rovn.all_synced,
            ),
            Figure::seconds("wall time incl. writer", ovs.cost.wall, rovn.cost.wall),
            Figure::mib("bytes received, all clients", ovs.bytes, rovn.bytes),
            generator_busy("", &ovs.cost, &rovn.cost),
        ],
    }])
}

async fn one(bench: &Bench, side: Side, clients: usize, txns: usize) -> Result<Outcome> {
    let server = bench
        .fresh_server("fanout", side, Schema::Southbound)
        .await?;
    let mut writer = Conn::connect(&server.sock, bench.timeout).await?;
    let dp = insert_datapaths(&mut writer, 1).await?.remove(0);

    let mut conns = connect_all(&server.sock, clients).await?;
    for initial in call_each(
        &mut conns,
        "monitor_cond",
        |_| json!([SB, "fanout", {"Logical_Flow": [{}]}]),
    )
    .await?
    {
        let empty = initial
            .get("Logical_Flow")
            .is_none_or(|t| t.as_object().is_some_and(|t| t.is_empty()));
        ensure!(empty, "initial reply not empty: {initial}");
    }

    let rows: Vec<Json> = (0..txns).map(|i| flow_row(i, &dp)).collect();
    let expected: Arc<HashSet<u64>> =
        Arc::new(rows.iter().map(|r| fingerprint(&r["match"])).collect());
    let meter = Meter::start(&server)?;
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for mut conn in conns {
        let expected = Arc::clone(&expected);
        set.spawn(async move {
            let mut replica = Replica::new("Logical_Flow", "match");
            while replica.rows.len() < expected.len() {
                conn.apply_next_update(&mut replica, |_, _| {}).await?;
            }
            let seen: HashSet<u64> = replica.rows.values().copied().collect();
            ensure!(
                replica.rows.len() == expected.len() && seen == *expected,
                "a client ended with {} rows ({} distinct), not the {} written",
                replica.rows.len(),
                seen.len(),
                expected.len()
            );
            Ok(Arrival::of(&conn))
        });
    }
    let insert = |row: Json| {
        txn(
            SB,
            [json!({"op": "insert", "table": "Logical_Flow", "row": row})],
        )
    };
    pipeline(&mut writer, rows.into_iter().map(insert), WRITER_WINDOW).await?;
    let arrivals = join_all(set).await?;
    let cost = meter.stop()?;
    let (all_synced, bytes) = last_arrival(start, &arrivals);
    Ok(Outcome {
        cost,
        all_synced,
        bytes,
    })
}
