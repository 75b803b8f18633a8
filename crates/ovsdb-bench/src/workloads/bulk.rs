//! `bulk`: one transaction inserting 100,000 Southbound `Logical_Flow`
//! rows (as northd's first run on a large deployment), then a new client's
//! `monitor_cond` of that table: the time until its initial reply has
//! arrived. Validation: the insert returns 100,000 uuids and the reply
//! holds exactly those rows, each with its own match.

use std::collections::HashSet;

use anyhow::{Result, bail, ensure};
use sandbox::db::Schema;
use serde_json::json;

use super::MIB;
use crate::Bench;
use crate::client::{Conn, Replica, check_transact, inserted_uuids, txn};
use crate::data::{SB, flow_row, insert_datapaths};
use crate::report::{Better, Figure, Report, Target};
use crate::servers::{Cost, Meter, Side};

const DATAPATHS: usize = 100;

struct Outcome {
    insert: Cost,
    monitor: Cost,
    reply_bytes: u64,
}

pub async fn run(bench: &Bench) -> Result<Vec<Report>> {
    let rows = bench.count(100_000, 100);
    let mut out = Vec::new();
    for side in Side::BOTH {
        out.push(
            bench
                .phase(
                    &format!("bulk on {}", side.program_name()),
                    one(bench, side, rows),
                )
                .await?,
        );
    }
    let [ovs, rovn] = [&out[0], &out[1]];
    let secs = |c: &Cost| c.wall.as_secs_f64();
    let cpu = |c: &Cost| c.cpu.as_secs_f64();
    Ok(vec![Report {
        workload: "bulk",
        setup: format!(
            "one transaction inserting {rows} Logical_Flow rows, then a new client's monitor_cond of them"
        ),
        figures: vec![
            Figure::new(
                "insert transaction",
                "s",
                Better::Lower,
                secs(&ovs.insert),
                secs(&rovn.insert),
            )
            .target(Target::Ratio(2.0)),
            Figure::new(
                "insert: server CPU",
                "s",
                Better::Lower,
                cpu(&ovs.insert),
                cpu(&rovn.insert),
            ),
            Figure::new(
                "initial monitor reply",
                "s",
                Better::Lower,
                secs(&ovs.monitor),
                secs(&rovn.monitor),
            )
            .target(Target::Ratio(2.0)),
            Figure::new(
                "monitor reply: server CPU",
                "s",
                Better::Lower,
                cpu(&ovs.monitor),
                cpu(&rovn.monitor),
            ),
            Figure::new(
                "monitor reply size",
                "MiB",
                Better::Lower,
                ovs.reply_bytes as f64 / MIB,
                rovn.reply_bytes as f64 / MIB,
            ),
        ],
    }])
}

async fn one(bench: &Bench, side: Side, rows: usize) -> Result<Outcome> {
    let server = bench.fresh_server("bulk", side, Schema::Southbound).await?;
    let mut writer = Conn::connect(&server.sock, bench.timeout).await?;
    let dps = insert_datapaths(&mut writer, DATAPATHS).await?;

    let ops = (0..rows).map(|i| json!({"op": "insert", "table": "Logical_Flow", "row": flow_row(i, &dps[i % DATAPATHS])}));
    let (id, bytes) = writer.request_bytes("transact", txn(SB, ops));
    let meter = Meter::start(&server)?;
    writer.send_bytes(&bytes).await?;
    let result = writer
        .reply_to(id, &mut |m, _| bail!("unexpected notification {m}"))
        .await?;
    let insert = meter.stop()?;
    let uuids = inserted_uuids(&check_transact(result)?)?;
    ensure!(
        uuids.len() == rows,
        "insert returned {} uuids, expected {rows}",
        uuids.len()
    );

    let mut reader = Conn::connect(&server.sock, bench.timeout).await?;
    let (id, request) =
        reader.request_bytes("monitor_cond", json!([SB, "bulk", {"Logical_Flow": [{}]}]));
    let meter = Meter::start(&server)?;
    let sent = std::time::Instant::now();
    reader.send_bytes(&request).await?;
    let reply = reader
        .reply_to(id, &mut |m, _| bail!("unexpected notification {m}"))
        .await?;
    // The reply was complete at the last read; parsing it is ours.
    let mut monitor = meter.stop()?;
    monitor.wall = reader.last_read - sent;

    let mut replica = Replica::new("Logical_Flow", "match");
    replica.apply(&reply, |_, _| {})?;
    ensure!(
        replica.rows.len() == rows,
        "initial reply holds {} rows, expected {rows}",
        replica.rows.len()
    );
    ensure!(
        uuids.iter().all(|u| replica.get(u).is_some()),
        "initial reply lacks inserted rows"
    );
    let matches: HashSet<_> = replica.rows.values().collect();
    ensure!(
        matches.len() == rows,
        "initial reply holds {} distinct matches, expected {rows}",
        matches.len()
    );
    Ok(Outcome {
        insert,
        monitor,
        reply_bytes: reader.bytes_in,
    })
}
