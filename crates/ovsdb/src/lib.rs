//! The OVSDB engine: everything about an Open vSwitch database that does not
//! involve a socket, a file or a thread.
//!
//! # Layout
//!
//! - [`uuid`], [`atom`], [`datum`], [`types`]: values and their types, in the
//!   JSON notation of RFC 7047 and the text notation of `ovs-vsctl`
//!   ([`display`]).
//! - [`schema`]: database schemas as ovsdb(7) defines them.
//! - [`row`], [`db`]: the contents of a database, and the [`db::Commit`]s
//!   that change it.
//! - [`condition`], [`mutation`], [`txn`]: the `transact` method, from JSON
//!   operations to a checked commit.
//! - [`monitor`]: what monitoring clients follow and the updates they get.
//! - [`convert`]: a database carried over to a new schema.
//! - [`rpc`]: JSON-RPC messages and stream framing (a codec, no sockets).
//! - [`seed`]: datums and rows read straight from JSON text, for large
//!   updates that are not worth building as a JSON tree first.
//! - [`error`]: the protocol's error object; every error string lives there.
//!
//! The engine is deterministic given its inputs (UUID generation aside) and
//! never blocks: a transaction that must wait says so
//! ([`txn::Outcome::Blocked`]) and the server retries it.

pub mod ahead;
pub mod atom;
pub mod condition;
pub mod convert;
pub mod datum;
pub mod db;
pub mod display;
pub mod error;
pub mod intern;
pub mod json;
pub mod monitor;
pub mod mutation;
pub mod row;
pub mod rpc;
pub mod schema;
pub mod seed;
#[doc(hidden)]
pub mod testing;
pub mod txn;
pub mod types;
pub mod uuid;

pub use atom::{Atom, AtomicType};
pub use datum::{Atoms, Datum};
pub use error::{Error, ErrorKind};
pub use uuid::Uuid;
