//! Errors, one enum per family of operations.
//!
//! The compiler does not fail: a Northbound row it cannot use becomes a
//! [`Diagnostic`] and the rest compiles (OVN logs these and carries on).
//! The diff step can fail only if the Southbound database does not have
//! the schema northd was built for ([`DiffError`]).

use ovsdb::Uuid;

/// A problem with one Northbound (or Southbound) row, found while
/// compiling. The row is skipped or partly used, as OVN does.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum Diagnostic {
    #[error("{table} {row}: invalid syntax '{value}' in {column}")]
    BadAddress {
        table: &'static str,
        row: String,
        column: &'static str,
        value: String,
    },
    #[error("duplicate logical port {name} (in switches {first} and {second})")]
    DuplicatePort { name: String, first: Uuid, second: Uuid },
    #[error("unknown port type '{type_}' set on logical switch port '{port}'")]
    UnknownPortType { port: String, type_: String },
    #[error("required DHCPv4 options (server_id, server_mac, lease_time) not defined for port {port}")]
    Dhcpv4Incomplete { port: String },
    #[error("unknown chassis '{chassis}' set in options:requested-chassis on port '{port}'")]
    UnknownChassis { port: String, chassis: String },
    #[error("logical switch {switch} requests tunnel key {key} already used by another datapath")]
    DatapathKeyConflict { switch: String, key: i64 },
    #[error("port {port} requests tunnel key {key} already used by another port")]
    PortKeyConflict { port: String, key: i64 },
    #[error("{what} {name} requests tunnel key {key}, outside 1..={max}; ignored")]
    KeyOutOfRange {
        what: &'static str,
        name: String,
        key: i64,
        max: i64,
    },
    #[error("all {what} tunnel keys are in use; {name} gets none")]
    KeysExhausted { what: &'static str, name: String },
    #[error("port {port} in port group {group} does not exist or is on no switch")]
    PortGroupMember { group: String, port: Uuid },
    #[error("{what} {name}: {message}")]
    Other {
        what: &'static str,
        name: String,
        message: String,
    },
}

/// The Southbound or Northbound database lacks something the diff needs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    #[error("database {db} has no table {table}")]
    NoTable { db: String, table: &'static str },
    #[error("table {table} has no column {column}")]
    NoColumn { table: &'static str, column: &'static str },
}
