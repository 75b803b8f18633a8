//! The rows the workloads write, shaped like what ovn-northd and
//! ovn-controller write, and the helpers that load and change them.

use std::collections::HashSet;

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::{Value as Json, json};

use crate::client::{Conn, check_transact, inserted_uuids};

pub const SB: &str = "OVN_Southbound";
pub const NB: &str = "OVN_Northbound";

/// The `actions` every flow starts with.
pub const FIRST_ACTIONS: &str = "next;";

/// `where` matching one row by uuid (both servers look it up directly).
pub fn by_uuid(uuid: &str) -> Json {
    json!([["_uuid", "==", ["uuid", uuid]]])
}

/// An OVSDB map from string pairs.
fn map(pairs: &[(&str, &str)]) -> Json {
    json!([
        "map",
        pairs.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()
    ])
}

/// Inserts `n` Southbound `Datapath_Binding` rows; returns their uuids.
pub async fn insert_datapaths(conn: &mut Conn, n: usize) -> Result<Vec<String>> {
    let ops = (0..n)
        .map(|i| {
            json!({"op": "insert", "table": "Datapath_Binding", "row": {
                "tunnel_key": i + 1,
                "external_ids": map(&[("name", &format!("ls-{i}")), ("logical-switch", &format!("{i:08x}-0000-4000-8000-000000000000"))]),
            }})
        })
        .collect();
    inserted_uuids(&conn.transact(SB, ops).await?)
}

/// A Southbound `Logical_Flow` row about as big as northd's (≈300 bytes),
/// numbered `i`, on datapath `dp`.
pub fn flow_row(i: usize, dp: &str) -> Json {
    let (a, b, c) = ((i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    json!({
        "logical_datapath": ["uuid", dp],
        "pipeline": if i.is_multiple_of(2) { "ingress" } else { "egress" },
        "table_id": i % 30,
        "priority": (i * 7) % 65536,
        "match": format!("inport == \"lsp-{i}\" && eth.src == {{0a:00:00:{a:02x}:{b:02x}:{c:02x}}} && ip4.src == {{10.{a}.{b}.{c}}}"),
        "actions": FIRST_ACTIONS,
        "external_ids": map(&[("source", "northd.c:5890"), ("stage-name", "ls_in_port_sec_ip"), ("stage-hint", &format!("{i:08x}"))]),
    })
}

/// How many flows [`flow_row`] numbers `0..n` put in table `table_id`.
pub fn flows_in_table(n: usize, table_id: usize) -> usize {
    (0..n).filter(|i| i % 30 == table_id).count()
}

/// Inserts flows `range`, flow `i` on datapath `dps[i % dps.len()]`, in
/// transactions of at most `batch` rows; returns their uuids in order.
pub async fn insert_flows(
    conn: &mut Conn,
    range: std::ops::Range<usize>,
    dps: &[String],
    batch: usize,
) -> Result<Vec<String>> {
    let mut uuids = Vec::with_capacity(range.len());
    let mut start = range.start;
    while start < range.end {
        let end = (start + batch).min(range.end);
        let ops = (start..end)
            .map(|i| json!({"op": "insert", "table": "Logical_Flow", "row": flow_row(i, &dps[i % dps.len()])}))
            .collect();
        uuids.extend(inserted_uuids(&conn.transact(SB, ops).await?)?);
        start = end;
    }
    Ok(uuids)
}

/// How many rows of `table` satisfy `conditions` (a `select` of `_uuid`).
pub async fn count_rows(conn: &mut Conn, db: &str, table: &str, conditions: Json) -> Result<usize> {
    let res = conn
        .transact(
            db,
            vec![
                json!({"op": "select", "table": table, "where": conditions, "columns": ["_uuid"]}),
            ],
        )
        .await?;
    Ok(res[0]["rows"].as_array().map_or(0, Vec::len))
}

/// The `actions` write number `k` puts in a flow (each write's differ).
pub fn written_actions(k: usize) -> String {
    format!("next; /* write {k} */")
}

/// An update of one flow's `actions`.
pub fn set_actions(uuid: &str, actions: &str) -> Json {
    json!({"op": "update", "table": "Logical_Flow", "where": by_uuid(uuid), "row": {"actions": actions}})
}

/// Commits `txns` (each a `transact` params array) over one connection,
/// keeping up to `window` in flight; every operation must succeed, and
/// an `update` must change exactly one row.
pub async fn pipeline(
    conn: &mut Conn,
    txns: impl IntoIterator<Item = Json>,
    window: usize,
) -> Result<usize> {
    let mut txns = txns.into_iter();
    let mut in_flight = HashSet::new();
    let mut done = 0;
    loop {
        while in_flight.len() < window {
            let Some(params) = txns.next() else { break };
            in_flight.insert(conn.send("transact", params).await?);
        }
        if in_flight.is_empty() {
            return Ok(done);
        }
        match conn.recv().await? {
            Some(ovsdb::rpc::Message::Reply { result, id }) => {
                let Some(id) = id.as_u64().filter(|id| in_flight.remove(id)) else {
                    bail!("reply to unknown request {id}")
                };
                check_counts(&check_transact(result)?).with_context(|| format!("request {id}"))?;
                done += 1;
            }
            Some(other) => bail!("writer got an unexpected message: {}", other.to_json()),
            None => bail!("server closed the writer's connection"),
        }
    }
}

/// Checks that each `update`, `mutate` or `delete` result counts one row.
pub fn check_counts(results: &[Json]) -> Result<()> {
    for r in results {
        if let Some(count) = r.get("count") {
            ensure!(count == 1, "an operation changed {count} rows, expected 1");
        }
    }
    Ok(())
}

/// The row a write number `k` lands on: consecutive writes spread over
/// the whole table (a stride coprime with any table size we use).
pub fn spread(k: usize, n_rows: usize) -> usize {
    const STRIDE: u64 = 1_000_003; // prime, larger than any table here
    ((k as u64 * STRIDE) % n_rows as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_visits_every_row_once_per_round() {
        for n in [1, 7, 100, 5000, 50_000] {
            let rows: HashSet<usize> = (0..n).map(|k| spread(k, n)).collect();
            assert_eq!(rows.len(), n);
        }
    }

    #[test]
    fn flows_are_counted_per_table() {
        assert_eq!(flows_in_table(61, 0), 3);
        assert_eq!(flows_in_table(61, 7), 2);
    }
}
