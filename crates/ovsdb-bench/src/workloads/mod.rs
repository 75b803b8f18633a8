//! One module per workload. Each runs ovsdb-server, then rovsdb-server,
//! on fresh files with the same load, validates what the clients saw, and
//! returns its figures.

pub mod bulk;
pub mod condmon;
pub mod fanout;
pub mod reconnect;
pub mod startup;
pub mod txn;

/// Transactions a single writer keeps in flight (fanout, condmon,
/// reconnect): enough for both servers to batch, as under real load.
pub const WRITER_WINDOW: usize = 16;

pub const MIB: f64 = 1024.0 * 1024.0;
