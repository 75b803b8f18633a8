//! An OVN deployment on one machine, for people (`rovn-sandbox`) and for
//! tests: OVN's databases served by `rovsdb-server` (or Debian's
//! ovsdb-server), northd, and simulated hypervisors, each with its own
//! database server, Debian's `ovs-vswitchd` on the dummy datapath and an
//! OVN controller. Packets go into dummy interfaces with
//! `netdev-dummy/receive` and come out in pcap files.
//!
//! Every daemon is a child process with its own directory, pidfile, log and
//! unixctl socket under the sandbox's base directory, and is stopped by its
//! pid when the sandbox drops; nothing is looked up or killed by name, and
//! nothing outside the base directory is touched. Every wait is bounded and
//! says what it waited for when it gives up.
//!
//! # Layout
//!
//! - [`sandbox`]: [`Sandbox`] and its [`Builder`]: the deployment, who
//!   plays each part ([`Impl::Ours`] or [`Impl::Debian`]), hypervisors,
//!   logical switches with VIFs, and the CLI helpers (`nbctl`, `sbctl`, `vsctl`, `appctl`,
//!   `inject`, `read_pcap`).
//! - [`switch`]: one simulated Open vSwitch machine (database server and
//!   ovs-vswitchd), usable on its own.
//! - [`db`]: database files (from the repository's `schemas/`) and servers.
//! - [`process`]: the daemon registry.
//! - [`programs`]: where each program is found, or built with cargo.
//! - [`tool`]: short commands with deadlines, and bounded waits.
//! - [`packet`], [`pcap`]: test packets (built, decoded, described) and
//!   the pcap files they come out in (read, and written for Open vSwitch's
//!   tools).
//!
//! The base directory holds `nb/`, `sb/`, `northd/`, `main/` and one
//! directory per hypervisor; each is the `OVS_RUNDIR`/`OVN_RUNDIR` of the
//! daemons in it, so the usual tools work there with default paths.

pub mod db;
pub mod packet;
pub mod pcap;
pub mod process;
pub mod programs;
pub mod sandbox;
pub mod switch;
pub mod tool;

pub use programs::{Component, Impl, Programs};
pub use sandbox::{Builder, Hypervisor, Sandbox, Vif};
