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
use std::time::Instant;

use anyhow::{Result, bail, ensure};
use sandbox::db::Schema;
use serde_json::{Value as Json, json};

use super::{MIB, WRITER_WINDOW, generator_busy};
use crate::Bench;
use crate::client::{
    Conn, Replica, connect_all, fingerprint, join_all, notification_updates, txn, uuid_key,
};
use crate::data::{
    FIRST_ACTIONS, SB, insert_datapaths, insert_flows, pipeline, set_actions, spread,
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
    synced: f64,
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
    let mut out = Vec::new();
    for side in Side::BOTH {
        out.push(
            bench
                .phase(
                    &format!("condmon on {}", side.program_name()),
                    one(bench, side, plan),
                )
                .await?,
        );
    }
    let [ovs, rovn] = [&out[0], &out[1]];
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
            Figure::new(
                "subscribe: all initial replies",
                "s",
                Better::Lower,
                ovs.subscribe.wall.as_secs_f64(),
                rovn.subscribe.wall.as_secs_f64(),
            ),
            Figure::new(
                "subscribe: server CPU",
                "s",
                Better::Lower,
                ovs.subscribe.cpu.as_secs_f64(),
                rovn.subscribe.cpu.as_secs_f64(),
            ),
            Figure::new(
                "server CPU per commit",
                "ms",
                Better::Lower,
                per_commit(ovs),
                per_commit(rovn),
            )
            .target(Target::Ratio(5.0)),
            Figure::new(
                "time until every client has its changes",
                "s",
                Better::Lower,
                ovs.synced,
                rovn.synced,
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

fn actions(k: usize) -> String {
    format!("next; /* write {k} */")
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
    let mut ids = Vec::new();
    for (c, conn) in conns.iter_mut().enumerate() {
        let clauses: Vec<Json> = plan
            .datapaths_of(c)
            .map(|d| json!(["logical_datapath", "==", ["uuid", dps[d]]]))
            .collect();
        ids.push(
            conn.send(
                "monitor_cond",
                json!([SB, "flows", {"Logical_Flow": [{"where": clauses}]}]),
            )
            .await?,
        );
    }
    let mut initials = Vec::new();
    for (conn, id) in conns.iter_mut().zip(ids) {
        initials.push(
            conn.reply_to(id, &mut |m, _| {
                bail!("notification {m} before the monitor reply")
            })
            .await?,
        );
    }
    let subscribe = meter.stop()?;
    let first = fingerprint(&json!(FIRST_ACTIONS));
    let mut tasks = Vec::new();
    for (c, (conn, initial)) in conns.into_iter().zip(initials).enumerate() {
        let mine: HashSet<usize> = plan.datapaths_of(c).collect();
        let own: HashSet<u128> = (0..plan.rows())
            .filter(|i| mine.contains(&(i % plan.datapaths)))
            .map(|i| keys[i])
            .collect();
        let expect: HashMap<u128, u64> = (0..plan.rows())
            .filter(|i| mine.contains(&(i % plan.datapaths)))
            .filter_map(|i| Some((keys[i], fingerprint(&json!(actions(*last_write.get(&i)?))))))
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
                match conn.recv().await? {
                    Some(ovsdb::rpc::Message::Notification { method, params }) => {
                        let (updates, _) = notification_updates(&method, &params)?;
                        replica.apply(updates, |k, _| strays += usize::from(!own.contains(&k)))?;
                    }
                    Some(other) => bail!("unexpected message {}", other.to_json()),
                    None => bail!("server closed a monitoring connection"),
                }
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
            Ok((conn.last_read, conn.bytes_in))
        });
    }
    let commit = |c: usize| {
        txn(
            SB,
            (c * WRITES_PER_COMMIT..(c + 1) * WRITES_PER_COMMIT)
                .map(|k| set_actions(&uuids[spread(k, plan.rows())], &actions(k))),
        )
    };
    pipeline(&mut writer, (0..plan.commits).map(commit), WRITER_WINDOW).await?;
    let done = join_all(set).await?;
    let cost = meter.stop()?;
    let last = done.iter().map(|(t, _)| *t).max().unwrap_or(start);
    Ok(Outcome {
        subscribe,
        cost,
        synced: (last - start).as_secs_f64(),
        bytes: done.iter().map(|(_, b)| b).sum(),
    })
}
