//! `fanout`: 500 clients `monitor_cond` the Southbound `Logical_Flow`
//! table, all with the same request, while one writer commits 1,000
//! transactions (one new flow each, 16 in flight). Measured: server CPU
//! and the time until every client has every update. Validation: each
//! client ends with exactly the 1,000 flows written, each once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail, ensure};
use sandbox::db::Schema;
use serde_json::{Value as Json, json};

use super::{MIB, WRITER_WINDOW, generator_busy};
use crate::Bench;
use crate::client::{Conn, Replica, connect_all, fingerprint, join_all, notification_updates, txn};
use crate::data::{SB, flow_row, insert_datapaths, pipeline};
use crate::report::{Better, Figure, Report, Target};
use crate::servers::{Cost, Meter, Side};

struct Outcome {
    cost: Cost,
    /// From the first commit sent until the last client had everything.
    all_synced: f64,
    /// Received by all clients together.
    bytes: u64,
}

pub async fn run(bench: &Bench) -> Result<Vec<Report>> {
    let clients = bench.count(500, 2);
    let txns = bench.count(1000, 10);
    let mut out = Vec::new();
    for side in Side::BOTH {
        out.push(
            bench
                .phase(
                    &format!("fanout on {}", side.program_name()),
                    one(bench, side, clients, txns),
                )
                .await?,
        );
    }
    let [ovs, rovn] = [&out[0], &out[1]];
    Ok(vec![Report {
        workload: "fanout",
        setup: format!(
            "{clients} clients monitor Logical_Flow (same request), one writer commits {txns} inserts, {WRITER_WINDOW} in flight"
        ),
        figures: vec![
            Figure::new(
                "server CPU",
                "s",
                Better::Lower,
                ovs.cost.cpu.as_secs_f64(),
                rovn.cost.cpu.as_secs_f64(),
            )
            .target(Target::Ratio(3.0)),
            Figure::new(
                "time until every client has every update",
                "s",
                Better::Lower,
                ovs.all_synced,
                rovn.all_synced,
            ),
            Figure::new(
                "wall time incl. writer",
                "s",
                Better::Lower,
                ovs.cost.wall.as_secs_f64(),
                rovn.cost.wall.as_secs_f64(),
            ),
            Figure::new(
                "bytes received, all clients",
                "MiB",
                Better::Lower,
                ovs.bytes as f64 / MIB,
                rovn.bytes as f64 / MIB,
            ),
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
    let request = json!([SB, "fanout", {"Logical_Flow": [{}]}]);
    let mut ids = Vec::new();
    for conn in &mut conns {
        ids.push(conn.send("monitor_cond", request.clone()).await?);
    }
    for (conn, id) in conns.iter_mut().zip(ids) {
        let initial = conn
            .reply_to(id, &mut |m, _| {
                bail!("notification {m} before the monitor reply")
            })
            .await?;
        ensure!(
            initial
                .get("Logical_Flow")
                .is_none_or(|t| t.as_object().is_some_and(|t| t.is_empty())),
            "initial reply not empty: {initial}"
        );
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
                match conn.recv().await? {
                    Some(ovsdb::rpc::Message::Notification { method, params }) => {
                        let (updates, _) = notification_updates(&method, &params)?;
                        replica.apply(updates, |_, _| {})?;
                    }
                    Some(other) => bail!("unexpected message {}", other.to_json()),
                    None => bail!("server closed a monitoring connection"),
                }
            }
            let seen: HashSet<u64> = replica.rows.values().copied().collect();
            ensure!(
                replica.rows.len() == expected.len() && seen == *expected,
                "a client ended with {} rows ({} distinct), not the {} written",
                replica.rows.len(),
                seen.len(),
                expected.len()
            );
            Ok((conn.last_read, conn.bytes_in))
        });
    }
    let insert = |row: Json| {
        txn(
            SB,
            [json!({"op": "insert", "table": "Logical_Flow", "row": row})],
        )
    };
    pipeline(&mut writer, rows.into_iter().map(insert), WRITER_WINDOW).await?;
    let done = join_all(set).await?;
    let cost = meter.stop()?;
    let last = done.iter().map(|(t, _)| *t).max().unwrap_or(start);
    Ok(Outcome {
        cost,
        all_synced: (last - start).as_secs_f64(),
        bytes: done.iter().map(|(_, b)| b).sum(),
    })
}
