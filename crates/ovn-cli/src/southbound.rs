//! What `rovn-lflow check --db` reads from a live Southbound database.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ovn_lflow::sb::{Southbound, Table};
use ovsdb_client::core::Phase;
use ovsdb_client::{Client, Config, Remote};
use serde_json::Value as Json;

/// The tables and columns a flow check reads.
const TABLES: &[(&str, &[&str])] = &[
    ("Datapath_Binding", &["tunnel_key"]),
    ("Logical_DP_Group", &["datapaths"]),
    ("Address_Set", &["name", "addresses"]),
    ("Port_Group", &["name", "ports"]),
    ("Logical_Flow", &["pipeline", "table_id", "priority", "match", "actions", "logical_datapath", "logical_dp_group"]),
];

/// Connects to `remotes` (OVS notation, comma-separated), copies what a
/// flow check needs, and disconnects.
pub async fn read(remotes: &str, timeout: Duration) -> Result<Southbound> {
    let remotes = Remote::parse_list(remotes).with_context(|| format!("bad remote {remotes}"))?;
    let mut config = Config::new("OVN_Southbound", remotes);
    for (table, columns) in TABLES {
        config = config.monitor(table, columns);
    }
    let client = Client::start(config);
    // Monitoring means the initial contents have arrived.
    let mut status = client.watch();
    match tokio::time::timeout(timeout, status.wait_for(|s| s.phase == Phase::Monitoring)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => bail!("the connection to the Southbound database ended"),
        Err(_) => bail!("no complete copy of the Southbound database after {timeout:?} ({:?})", client.status().phase),
    }
    let replica = client.replica();
    let mut tables = HashMap::new();
    for (name, columns) in TABLES {
        let view = replica.table(name).with_context(|| format!("the server's schema has no {name} table"))?;
        let mut headings = vec!["_uuid".to_string()];
        headings.extend(columns.iter().map(|c| c.to_string()));
        let rows = view
            .iter()
            .map(|row| {
                let mut cells: Vec<Json> = vec![ovsdb::Atom::Uuid(row.uuid).to_json()];
                cells.extend(columns.iter().map(|c| view.datum(row, c).map_or(Json::Null, ovsdb::Datum::to_json)));
                cells
            })
            .collect();
        tables.insert(name.to_string(), Table { headings, rows });
    }
    Southbound::from_tables(&tables).context("reading the Southbound database")
}
