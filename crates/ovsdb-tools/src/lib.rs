//! rovsdb-client and rovsdb-tool: Open vSwitch 3.1's `ovsdb-client` and
//! `ovsdb-tool`, with the same commands, options and output, byte for byte.
//!
//! # Layout
//!
//! - [`shash`], [`ovs_json`]: Open vSwitch's hash-ordered maps and its JSON
//!   (parser, printer), because output order and number formats follow them.
//! - [`schema`], [`data`]: schemas and values as the tools hold them.
//! - [`table`]: `--format` and `--data`: tables, lists, HTML, CSV, JSON.
//! - [`cli`]: program name, fatal errors, getopt-style options, console
//!   log lines.
//! - [`jsonrpc`]: a blocking JSON-RPC connection (the only network code).
//! - [`dbfile`]: database file records read and written as Open vSwitch
//!   does (for `show-log` and messages about damaged files).
//! - [`client`]: the `rovsdb-client` commands; [`tool`]: `rovsdb-tool`'s.
//! - [`cksum`]: the checksum a schema states, computed.

pub mod cksum;
pub mod cli;
pub mod data;
pub mod ovs_json;
pub mod schema;
pub mod shash;
pub mod table;

pub use cli::strerror;
pub mod client;
pub mod dbfile;
pub mod jsonrpc;
pub mod tool;

/// The Open vSwitch release whose tools these match, for `--version`.
pub const OVS_VERSION: &str = "3.1.0";
