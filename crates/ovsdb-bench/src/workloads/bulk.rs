//! `bulk`: one transaction inserting 100,000 Southbound `Logical_Flow`
//! rows (as northd's first run on a large deployment), then a new client's
//! `monitor_cond` of that table: the time until its initial reply has
//! arrived. Validation: the insert returns 100,000 uuids and the reply
//! holds exactly those rows, each with its own match.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{Result, bail, ensure};
use sandbox::db::Schema;
use serde_json::{Value as Json, json};

use crate::Bench;
use crate::client::{Conn, Replica, check_transact, inserted_uuids, txn};
use crate::data::{SB, flow_row, insert_datapaths};
use crate::report::{Figure, Report, Target};
use crate::servers::{Cost, Meter, Server, Side};

const DATAPATHS: usize = 100;

struct Outcome {
    insert: Cost,
    monitor: Cost,
    reply_bytes: u64,
}

pub async fn run(bench: &Bench) -> Result<Vec<Report>> {
    let rows = bench.count(100_000, 100);
    let [ovs, rovn] = bench.both("bulk", |side| one(bench, side, rows)).await?;
    let cpu = |metric, ovs: &Cost, rovn: &Cost| Figure::seconds(metric, ovs.cpu, rovn.cpu);
    Ok(vec![Report {
        workload: "bulk",
        setup: format!(
            "one transaction inserting {rows} Logical_Flow rows, then a new client's monitor_cond of them"
        ),
        figures: vec![
            Figure::seconds("insert transaction", ovs.insert.wall, rovn.insert.wall)
                .target(Target::Ratio(2.0)),
            cpu("insert: server CPU", &ovs.insert, &rovn.insert),
            Figure::seconds("initial monitor reply", ovs.monitor.wall, rovn.monitor.wall)
                .target(Target::Ratio(2.0)),
            cpu("monitor reply: server CPU", &ovs.monitor, &rovn.monitor),
            Figure::mib("monitor reply size", ovs.reply_bytes, rovn.reply_bytes),
        ],
    }])
}

async fn one(bench: &Bench, side: Side, rows: usize) -> Result<Outcome> {
    let server = bench.fresh_server("bulk", side, Schema::Southbound).await?;
    let mut writer = Conn::connect(&server.sock, bench.timeout).await?;
    let dps = insert_datapaths(&mut writer, DATAPATHS).await?;

    let ops = (0..rows).map(|i| json!({"op": "insert", "table": "Logical_Flow", "row": flow_row(i, &dps[i % DATAPATHS])}));
    let (result, insert) = timed_call(&server, &mut writer, "transact", txn(SB, ops)).await?;
    let uuids = inserted_uuids(&check_transact(result)?)?;
    ensure!(
        uuids.len() == rows,
        "insert returned {} uuids, expected {rows}",
        uuids.len()
    );

    let mut reader = Conn::connect(&server.sock, bench.timeout).await?;
    let (reply, monitor) = timed_call(
        &server,
        &mut reader,
        "monitor_cond",
        json!([SB, "bulk", {"Logical_Flow": [{}]}]),
    )
    .await?;
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

/// One request, timed from sending (it is serialised before) until the
/// last byte of its reply arrived: parsing the reply is the client's work.
async fn timed_call(
    server: &Server,
    conn: &mut Conn,
    method: &str,
    params: Json,
) -> Result<(Json, Cost)> {
    let (id, request) = conn.request_bytes(method, params);
    let meter = Meter::start(server)?;
    let sent = Instant::now();
    conn.send_bytes(&request).await?;
    let reply = conn
        .reply_to(id, &mut |m, _| bail!("unexpected notification {m}"))
        .await?;
    let mut cost = meter.stop()?;
    cost.wall = conn.last_read - sent;
    Ok((reply, cost))
}
