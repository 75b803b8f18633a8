//! `txn`: small transactions, 64 in flight (64 clients, one outstanding
//! transaction each, as 64 busy ovn-controllers or CMS workers would be).
//! Two kinds, measured separately:
//!
//! - Southbound: set one `Port_Binding`'s `chassis` (what ovn-controller
//!   writes when a port is claimed), over 1,000 bindings and 100 chassis;
//! - Northbound: insert one `Logical_Switch_Port` and add it to one of 100
//!   switches (what a CMS does for each new VM port).
//!
//! Figures: throughput and server CPU per transaction. Validation: every
//! operation succeeds and changes one row, and afterwards the database
//! holds exactly what the last writes put there.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, bail, ensure};
use sandbox::db::Schema;
use serde_json::{Value as Json, json};

use super::{generator_busy_of, generator_cores};
use crate::Bench;
use crate::client::{Conn, check_transact, connect_all, inserted_uuids, join_all, request, txn};
use crate::data::{NB, SB, by_uuid, check_counts, count_rows, insert_datapaths};
use crate::report::{Better, Figure, Report, Target};
use crate::servers::{Cost, Meter, Server, Side};

const CLIENTS: usize = 64;
const DATAPATHS: usize = 10;
const PORT_BINDINGS: usize = 1000;
const CHASSIS: usize = 100;
const SWITCHES: usize = 100;

/// Rounds of each kind, each on fresh servers taking turns; every figure
/// is the median of its rounds. One round lasts about a second, and on a
/// shared machine one round's figures move by tens of percent.
const ROUNDS: usize = 3;

pub async fn run(bench: &Bench) -> Result<Vec<Report>> {
    let n = bench.count(20_000, 2 * CLIENTS);
    let (mut sb, mut nb) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        sb.push(
            bench
                .both(&format!("txn (Southbound), round {round}"), |side| {
                    southbound(bench, side, n, round)
                })
                .await?,
        );
        nb.push(
            bench
                .both(&format!("txn (Northbound), round {round}"), |side| {
                    northbound(bench, side, n, round)
                })
                .await?,
        );
    }
    let mut figures = Vec::new();
    for (label, rounds) in [
        ("SB Port_Binding.chassis", sb),
        ("NB Logical_Switch_Port insert", nb),
    ] {
        let rate = |c: &Cost| n as f64 / c.wall.as_secs_f64();
        let cpu_per_txn = |c: &Cost| c.cpu.as_secs_f64() * 1e6 / n as f64;
        // The median of one figure of one side's rounds.
        let median = |side: usize, f: &dyn Fn(&Cost) -> f64| {
            let mut v: Vec<f64> = rounds.iter().map(|r| f(&r[side])).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        figures.push(
            Figure::new(
                format!("{label}: throughput"),
                "txn/s",
                Better::Higher,
                median(0, &rate),
                median(1, &rate),
            )
            .target(Target::Ratio(3.0)),
        );
        figures.push(
            Figure::new(
                format!("{label}: server CPU/txn"),
                "µs",
                Better::Lower,
                median(0, &cpu_per_txn),
                median(1, &cpu_per_txn),
            )
            .target(Target::Ratio(3.0)),
        );
        figures.push(generator_busy_of(
            &format!("{label}: "),
            median(0, &generator_cores),
            median(1, &generator_cores),
        ));
    }
    Ok(vec![Report {
        workload: "txn",
        setup: format!(
            "{n} transactions of each kind from {CLIENTS} clients, one in flight each; medians of {ROUNDS} rounds on fresh servers, taking turns"
        ),
        figures,
    }])
}

/// Builds transaction number `i`.
type MakeTxn = Box<dyn Fn(usize) -> Json>;

/// Runs transactions `0..n` from [`CLIENTS`] connections, each taking the
/// next number when its previous transaction is answered. Requests are
/// serialised beforehand, so the clients only send and check replies.
async fn closed_loop(server: &Server, n: usize, make: MakeTxn) -> Result<Cost> {
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..n)
            .map(|i| request("transact", make(i), i as u64))
            .collect(),
    );
    let conns = connect_all(&server.sock, CLIENTS).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let meter = Meter::start(server)?;
    let mut set = tokio::task::JoinSet::new();
    for mut conn in conns {
        let (next, requests) = (Arc::clone(&next), Arc::clone(&requests));
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(bytes) = requests.get(i) else {
                    return Ok(());
                };
                conn.send_bytes(bytes).await?;
                let result = conn
                    .reply_to(i as u64, &mut |m, _| bail!("unexpected notification {m}"))
                    .await?;
                check_counts(&check_transact(result)?)?;
            }
        });
    }
    join_all(set).await?;
    meter.stop()
}

/// The chassis transaction `i` gives its binding: a binding's successive
/// writes always change it.
fn chassis_of(i: usize) -> usize {
    (i + i / PORT_BINDINGS) % CHASSIS
}

async fn southbound(bench: &Bench, side: Side, n: usize, round: usize) -> Result<Cost> {
    let server = bench
        .fresh_server(&format!("txn-sb-{round}"), side, Schema::Southbound)
        .await?;
    let mut conn = Conn::connect(&server.sock, bench.timeout).await?;
    let dps = insert_datapaths(&mut conn, DATAPATHS).await?;
    let mut ops = Vec::new();
    for c in 0..CHASSIS {
        let ip = format!("192.168.{}.{}", c / 250, c % 250 + 1);
        ops.push(
            json!({"op": "insert", "table": "Encap", "uuid-name": format!("e{c}"),
            "row": {"type": "geneve", "ip": ip, "chassis_name": format!("chassis-{c}")}}),
        );
        ops.push(json!({"op": "insert", "table": "Chassis", "row": {
            "name": format!("chassis-{c}"), "hostname": format!("hv{c}.example.com"),
            "encaps": ["named-uuid", format!("e{c}")]}}));
    }
    let res = conn.transact(SB, ops).await?;
    let chassis = inserted_uuids(&res.into_iter().skip(1).step_by(2).collect::<Vec<_>>())?;
    let ops = (0..PORT_BINDINGS)
        .map(|p| {
            json!({"op": "insert", "table": "Port_Binding", "row": {
                "logical_port": format!("lsp-{p}"), "datapath": ["uuid", dps[p % DATAPATHS]],
                "tunnel_key": p / DATAPATHS + 1, "mac": ["set", [format!("0a:00:00:00:{:02x}:{:02x} 10.0.{}.{}", p >> 8, p & 0xff, p >> 8, p & 0xff)]]}})
        })
        .collect();
    let bindings = inserted_uuids(&conn.transact(SB, ops).await?)?;

    let make: MakeTxn = {
        let (bindings, chassis) = (bindings.clone(), chassis.clone());
        Box::new(move |i| {
            txn(
                SB,
                [
                    json!({"op": "update", "table": "Port_Binding", "where": by_uuid(&bindings[i % PORT_BINDINGS]),
                "row": {"chassis": ["uuid", chassis[chassis_of(i)]]}}),
                ],
            )
        })
    };
    let cost = closed_loop(&server, n, make).await?;

    // Each binding holds the chassis of the last transaction that wrote it.
    let rows = conn.transact(SB, vec![json!({"op": "select", "table": "Port_Binding", "where": [], "columns": ["_uuid", "chassis"]})]).await?;
    let held: HashMap<&str, &str> = rows[0]["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["_uuid"][1].as_str()?,
                r["chassis"][1].as_str().unwrap_or(""),
            ))
        })
        .collect();
    ensure!(
        held.len() == PORT_BINDINGS,
        "{} Port_Binding rows, expected {PORT_BINDINGS}",
        held.len()
    );
    for (p, uuid) in bindings.iter().enumerate() {
        let want = (p..n)
            .step_by(PORT_BINDINGS)
            .next_back()
            .map_or("", |i| chassis[chassis_of(i)].as_str());
        let got = held.get(uuid.as_str()).copied();
        let index = |u: Option<&str>| chassis.iter().position(|c| Some(c.as_str()) == u);
        ensure!(
            got == Some(want),
            "binding {p} holds chassis #{:?}, expected #{:?}",
            index(got),
            index(Some(want))
        );
    }
    Ok(cost)
}

async fn northbound(bench: &Bench, side: Side, n: usize, round: usize) -> Result<Cost> {
    let server = bench
        .fresh_server(&format!("txn-nb-{round}"), side, Schema::Northbound)
        .await?;
    let mut conn = Conn::connect(&server.sock, bench.timeout).await?;
    let ops = (0..SWITCHES).map(|s| json!({"op": "insert", "table": "Logical_Switch", "row": {"name": format!("ls-{s}")}})).collect();
    let switches = inserted_uuids(&conn.transact(NB, ops).await?)?;

    let make: MakeTxn = Box::new(move |i| {
        let (a, b) = (i >> 8 & 0xff, i & 0xff);
        txn(
            NB,
            [
                json!({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "port", "row": {
                "name": format!("port-{i}"),
                "addresses": ["set", [format!("0a:00:00:01:{a:02x}:{b:02x} 10.1.{a}.{b}")]],
                "port_security": ["set", [format!("0a:00:00:01:{a:02x}:{b:02x} 10.1.{a}.{b}")]],
                "external_ids": ["map", [["neutron:device_owner", "compute:nova"], ["neutron:port_name", format!("vm-{i}")]]]}}),
                json!({"op": "mutate", "table": "Logical_Switch", "where": by_uuid(&switches[i % SWITCHES]),
                "mutations": [["ports", "insert", ["set", [["named-uuid", "port"]]]]]}),
            ],
        )
    });
    let cost = closed_loop(&server, n, make).await?;

    // Every port was kept: referenced by its switch, not collected.
    let count = count_rows(&mut conn, NB, "Logical_Switch_Port", json!([])).await?;
    ensure!(count == n, "{count} Logical_Switch_Port rows, expected {n}");
    let switches = conn
        .transact(NB, vec![json!({"op": "select", "table": "Logical_Switch", "where": [], "columns": ["ports"]})])
        .await?;
    let referenced: usize = switches[0]["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| set_len(&r["ports"]))
        .sum();
    ensure!(
        referenced == n,
        "switches reference {referenced} ports, expected {n}"
    );
    Ok(cost)
}

/// Elements of a set datum in RFC 7047 notation (a lone atom is one).
fn set_len(datum: &Json) -> usize {
    match datum {
        Json::Array(a) if a.first() == Some(&json!("set")) => {
            a.get(1).and_then(Json::as_array).map_or(0, Vec::len)
        }
        _ => 1,
    }
}
