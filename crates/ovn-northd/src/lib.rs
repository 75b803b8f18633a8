//! `ovn-northd`: OVN's compiler. The Northbound database says what the
//! network should be (switches, ports, ACLs, port groups, address sets,
//! DHCP, DNS); this crate computes what the Southbound database must hold
//! for ovn-controller to make it so (datapath and port bindings with
//! tunnel keys, multicast groups, address sets and port groups, DHCP option
//! tables, load balancers, and the logical flows of each datapath's
//! pipeline), exactly as OVN 23.03's ovn-northd computes it. This part
//! covers logical switches; router pipelines come later. docs/NORTHD.md
//! has the pipeline, the design and the differential results.
//!
//! The core is pure: databases in, desired rows and row operations out, no
//! I/O, no clock. It is incremental: [`compile::Compiler::update`] takes
//! the rows that changed and recomputes only the units (a switch, a port,
//! a port group's ACLs...) that depend on them.
//!
//! # Layout
//!
//! - [`nb`]: the Northbound input, typed (the only module that knows its
//!   column names); [`sb`]: what northd reads from the Southbound database
//!   and the desired Southbound contents ([`sb::Desired`]).
//! - [`addr`]: addresses as northd parses and prints them.
//! - [`stage`]: pipeline stages (names, table numbers), registers and
//!   multicast group keys: the interface shared with ovn-controller.
//! - [`flow`]: logical flows, and the table that merges every unit's flows
//!   into rows with datapath groups.
//! - [`switch`]: the logical switch pipeline, per switch, ACL and port.
//! - [`ipam`]: dynamic MAC and IP addresses.
//! - [`compile`]: the engine: units, dependencies, recomputation.
//! - [`diff`]: desired contents against a database, as the minimal
//!   transaction operations.
//! - [`mirror`]: a database kept in step with an `ovsdb-client` replica;
//!   [`cfg`](mod@cfg): the `nb_cfg`/`sb_cfg`/`hv_cfg` sequence numbers.
//! - [`error`] holds the diagnostics (bad Northbound rows: reported, not
//!   fatal) and the diff errors.
//!
//! `src/bin/rovn-northd.rs` is the daemon (options, control commands,
//! the `ovn_northd` lock, transactions) around [`compile`] and [`diff`];
//! `tests/support` runs Debian's northd as the oracle; `fuzz/` feeds
//! random Northbound contents to the compiler.

pub mod addr;
pub mod cfg;
pub mod compile;
pub mod diff;
pub mod error;
pub mod flow;
pub mod ipam;
pub mod mirror;
pub mod nb;
pub mod sb;
pub mod stage;
pub mod switch;
