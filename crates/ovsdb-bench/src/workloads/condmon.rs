//! `condmon`: conditional monitoring as ovn-controllers do it. The
//! Southbound holds 500 datapaths of 100 `Logical_Flow` rows each; each of
//! 500 clients monitors the flows of its own 5 datapaths (1% of the rows,
//! `logical_datapath == D` clauses, neighbours overlapping as chassis
//! sharing networks do). One writer commits 1,000 transactions of 10 flow
//! updates spread over all rows (16 in flight). Measured: server CPU per
//! commit, and the time until every client has all its changes.
//! Validation: each client's initial copy is exactly its rows; it then
//! receives the latest `actions` of every written row among them and
//! never a row outside them.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use sandbox::db::Schema;
use serde_json::{Value as Json, json};

use super::{Arrival, WRITER_WINDOW, generator_busy, last_arrival};
use crate::Bench;
use crate::client::{Conn, Replica, call_each, connect_all, fingerprint, join_all, txn, uuid_key};
use crate::data::{
    FIRST_ACTIONS, SB, insert_datapaths, insert_flows, pipeline, set_actions, spread,
    written_actions,
};
use crate::report::{Better, Figure, Report, Target};
use crate::servers::{Cost, Meter, Side};

const FLOWS_PER_DATAPATH: usize = 100;
const WRITES_PER_COMMIT: usize = 10;

/// Sizes of one run.
#[derive(Clone, Copy)]
struct Plan {
    clients: usize,
    datapaths: usize,
    /// Datapaths each client follows.
    per_client: usize,
    commits: usize,
}

impl Plan {
    fn rows(&self) -> usize {
        self.datapaths * FLOWS_PER_DATAPATH
    }

    /// The datapaths (indices) client `c` follows.
    fn datapaths_of(&self, c: usize) -> impl Iterator<Item = usize> {
        let (d, n) = (self.datapaths, self.per_client);
        (0..n).map(move |j| (c + j) % d)
    }
}

struct Outcome {
    /// Every client's `monitor_cond` answered.
    subscribe: Cost,
    cost: Cost,
    synced: Duration,
    bytes: u64,
}

pub async fn run(bench: &Bench) -> Result<Vec<Report>> {
    let datapaths = bench.count(500, 20);
    let plan = Plan {
        clients: bench.count(500, 2),
        datapaths,
        per_client: (datapaths / 100).max(1),
        commits: bench.count(1000, 10),
    };
    let [ovs, rovn] = bench.both("condmon", |side| one(bench, side, plan)).await?;
    let per_commit = |o: &Outcome| o.cost.cpu.as_secs_f64() * 1e3 / plan.commits as f64;
    Ok(vec![Report {
        workload: "condmon",
        setup: format!(
            "{} clients each monitoring the flows of {} of {} datapaths ({} of {} rows); {} commits of {WRITES_PER_COMMIT} \
             updates spread over all rows, {WRITER_WINDOW} in flight",
            plan.clients,
            plan.per_client,
            plan.datapaths,
            plan.per_client * FLOWS_PER_DATAPATH,
            plan.rows(),
            plan.commits
        ),
        figures: vec![
            Figure::seconds(
                "subscribe: all initial replies",
                ovs.subscribe.wall,
                rovn.subscribe.wall,
            ),
            Figure::seconds(
                "subscribe: server CPU",
                ovs.subscribe.cpu,
                rovn.subscribe.cpu,
            ),
            Figure::new(
                "server CPU per commit",
                "ms",
                Better::Lower,
                per_commit(&ovs),
                per_commit(&rovn),
            )
            .target(Target::Ratio(5.0)),
            Figure::seconds(
                "time until every client has its changes",
                ovs.synced,
                rovn.synced,
            ),
            Figure::mib("bytes received, all clients", ovs.bytes, rovn.bytes),
            generator_busy("", &ovs.cost, &rovn.cost),
        ],
    }])
}

async fn one(bench: &Bench, side: Side, plan: Plan) -> Result<Outcome> {
    let server = bench
        .fresh_server("condmon", side, Schema::Southbound)
        .await?;
    let mut writer = Conn::connect(&server.sock, bench.timeout).await?;
    let dps = insert_datapaths(&mut writer, plan.datapaths).await?;
    // Flow i is on datapath i % datapaths.
    let uuids = insert_flows(&mut writer, 0..plan.rows(), &dps, 100_000).await?;
    let keys = uuids
        .iter()
        .map(|u| uuid_key(u))
        .collect::<Result<Vec<_>>>()?;
    let n_writes = plan.commits * WRITES_PER_COMMIT;
    let mut last_write: HashMap<usize, usize> = HashMap::new();
    for k in 0..n_writes {
        last_write.insert(spread(k, plan.rows()), k);
    }

    // Subscribe everybody and check each initial copy.
    let mut conns = connect_all(&server.sock, plan.clients).await?;
    let meter = Meter::start(&server)?;
    let initials = call_each(&mut conns, "monitor_cond", |c| {
        let clauses: Vec<Json> = plan
            .datapaths_of(c)
            .map(|d| json!(["logical_datapath", "==", ["uuid", dps[d]]]))
            .collect();
        json!([SB, "flows", {"Logical_Flow": [{"where": clauses}]}])
    })
    .await?;
    let subscribe = meter.stop()?;
    let first = fingerprint(&json!(FIRST_ACTIONS));
    let mut tasks = Vec::new();
    for (c, (conn, initial)) in conns.into_iter().zip(initials).enumerate() {
        let mine: HashSet<usize> = plan.datapaths_of(c).collect();
        let rows: Vec<usize> = (0..plan.rows())
            .filter(|i| mine.contains(&(i % plan.datapaths)))
            .collect();
        let own: HashSet<u128> = rows.iter().map(|&i| keys[i]).collect();
        let expect: HashMap<u128, u64> = rows
            .iter()
            .filter_map(|i| {
                Some((
                    keys[*i],
                    fingerprint(&json!(written_actions(*last_write.get(i)?))),
                ))
            })
            .collect();
        let mut replica = Replica::new("Logical_Flow", "actions");
        replica.apply(&initial, |_, _| {})?;
        ensure!(
            replica.rows.len() == own.len()
                && replica
                    .rows
                    .iter()
                    .all(|(k, v)| own.contains(k) && *v == first),
            "client {c}: initial copy has {} rows, expected its {}",
            replica.rows.len(),
            own.len()
        );
        tasks.push((conn, replica, own, expect));
    }

    let meter = Meter::start(&server)?;
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (mut conn, mut replica, own, expect) in tasks {
        set.spawn(async move {
            let mut strays = 0;
            while !expect.iter().all(|(k, v)| replica.rows.get(k) == Some(v)) {
                conn.apply_next_update(&mut replica, |k, _| {
                    strays += usize::from(!own.contains(&k))
                })
                .await?;
            }
            ensure!(
                strays == 0,
                "a client received {strays} updates of rows outside its condition"
            );
            ensure!(
                replica.rows.len() == own.len(),
                "a client holds {} rows, expected {}",
                replica.rows.len(),
                own.len()
            );
            Ok(Arrival::of(&conn))
        });
    }
    let commit = |c: usize| {
        let writes = c * WRITES_PER_COMMIT..(c + 1) * WRITES_PER_COMMIT;
        txn(
            SB,
            writes.map(|k| set_actions(&uuids[spread(k, plan.rows())], &written_actions(k))),
        )
    };
    pipeline(&mut writer, (0..plan.commits).map(commit), WRITER_WINDOW).await?;
    let arrivals = join_all(set).await?;
    let cost = meter.stop()?;
    let (synced, bytes) = last_arrival(start, &arrivals);
    Ok(Outcome {
        subscribe,
        cost,
        synced,
        bytes,
    })
}
