//! The OVSDB client library of rovn: what Open vSwitch's IDL
//! (`lib/ovsdb-idl.c`, `lib/ovsdb-cs.c`) is to the C daemons. Every rovn
//! daemon and command-line tool talks to a database through it.
//!
//! A [`Client`] connects to one of several remotes (fail-over, reconnection
//! with backoff, inactivity probes), keeps a [`Replica`] of the tables and
//! columns it monitors with `monitor_cond_since` (so a reconnection fetches
//! only what was missed), tracks what changed since the consumer last
//! looked (so northd and the controller can be incremental), changes
//! monitor conditions at run time, runs [`Transaction`]s (named UUIDs,
//! verification of what a decision was based on, `nb_cfg`-style
//! increments) and holds locks.
//!
//! # Layout
//!
//! The protocol is a deterministic state machine with no I/O, in the
//! manner of `quinn-proto`; the tokio part is a thin driver around it.
//!
//! - [`core`]: the session state machine ([`core::Core`]): messages and
//!   events in, [`core::Command`]s out.
//! - [`reconnect`]: the connection's timers: backoff, connection timeout,
//!   inactivity probe.
//! - [`replica`]: the in-memory copy, the update appliers (`update`,
//!   `update2`, `update3`) and change tracking.
//! - [`condition`]: monitor conditions and their acked/requested/new life.
//! - [`txn`]: the transaction builder and the reading of replies.
//! - [`typed`], [`nb`], [`sb`], [`vswitch`], [`server`]: typed rows,
//!   generated at build time from `schemas/*.ovsschema` by `build.rs`.
//! - [`remote`]: `unix:`, `tcp:` and `ssl:` remotes and their lists.
//! - [`client`]: the tokio driver and the [`Client`] handle.
//!
//! Any other schema is served by the dynamic API: [`Replica::table`] gives
//! [`ovsdb::row::Row`]s, and transactions take JSON rows.
//!
//! # Example
//!
//! ```no_run
//! use ovsdb_client::{Client, Config, Remote, Transaction, nb};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let remotes = Remote::parse_list("unix:/run/ovn/ovnnb_db.sock,tcp:192.0.2.1:6641")?;
//! let client = Client::start(Config::new(nb::DATABASE, remotes).monitor_typed::<nb::LogicalSwitch>());
//! client.wait_connected().await?;
//!
//! let mut txn = Transaction::new(nb::DATABASE);
//! let sw = txn.insert_row(&nb::LogicalSwitch { name: "sw0".into(), ..Default::default() });
//! let outcome = client.transact(&txn).await?;
//! let uuid = outcome.uuid(sw).expect("inserted");
//! // The replica already shows the transaction's effects.
//! assert_eq!(client.replica().get::<nb::LogicalSwitch>(uuid).map(|s| s.name), Some("sw0".into()));
//!
//! // Incremental consumers look at what changed since they last looked.
//! for table in &client.take_changes().tables {
//!     println!("{}: {} inserted", table.name(), table.inserted.len());
//! }
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod condition;
pub mod core;
pub mod reconnect;
pub mod remote;
pub mod replica;
pub mod txn;
pub mod typed;

/// Typed rows of `OVN_Northbound` (`schemas/ovn-nb.ovsschema`).
#[allow(clippy::upper_case_acronyms)]
pub mod nb {
    include!(concat!(env!("OUT_DIR"), "/nb.rs"));
}

/// Typed rows of `OVN_Southbound` (`schemas/ovn-sb.ovsschema`).
#[allow(clippy::upper_case_acronyms)]
pub mod sb {
    include!(concat!(env!("OUT_DIR"), "/sb.rs"));
}

/// Typed rows of `Open_vSwitch` (`schemas/vswitch.ovsschema`).
#[allow(clippy::upper_case_acronyms)]
pub mod vswitch {
    include!(concat!(env!("OUT_DIR"), "/vswitch.rs"));
}

/// Typed rows of ovsdb-server's own `_Server` database.
pub mod server {
    include!(concat!(env!("OUT_DIR"), "/server.rs"));
}

pub use client::{Client, ClientError};
pub use condition::{Clause, Condition};
pub use core::{Config, Status};
pub use remote::Remote;
pub use replica::{Changes, Replica};
pub use txn::{Transaction, TxnError, TxnOutcome};
