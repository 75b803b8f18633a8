//! One module per workload. Each runs ovsdb-server, then rovsdb-server,
//! on fresh files with the same load, validates what the clients saw, and
//! returns its figures.

pub mod bulk;
pub mod condmon;
pub mod fanout;
pub mod reconnect;
pub mod startup;
pub mod txn;

use std::time::{Duration, Instant};

use crate::client::Conn;
use crate::report::{Better, Figure};
use crate::servers::Cost;

/// Transactions a single writer keeps in flight (fanout, condmon,
/// reconnect): enough for both servers to batch, as under real load.
pub const WRITER_WINDOW: usize = 16;

/// When one client had everything it waited for, and the bytes it had
/// received by then.
pub struct Arrival {
    pub at: Instant,
    pub bytes: u64,
}

impl Arrival {
    pub fn of(conn: &Conn) -> Arrival {
        Arrival {
            at: conn.last_read,
            bytes: conn.bytes_in,
        }
    }
}

/// How long after `start` the last client had everything, and the bytes
/// all of them received.
pub fn last_arrival(start: Instant, arrivals: &[Arrival]) -> (Duration, u64) {
    let last = arrivals.iter().map(|a| a.at).max().unwrap_or(start);
    (
        last.saturating_duration_since(start),
        arrivals.iter().map(|a| a.bytes).sum(),
    )
}

/// How busy the load generator was during a phase (its CPU time over wall
/// time): near 1 on one thread means it, not the server, set the pace.
pub fn generator_busy(label: &str, ovs: &Cost, rovn: &Cost) -> Figure {
    generator_busy_of(label, generator_cores(ovs), generator_cores(rovn))
}

/// [`generator_busy`] from the cores each side's load generator used.
pub fn generator_busy_of(label: &str, ovs: f64, rovn: f64) -> Figure {
    Figure::new(format!("{label}load generator busy (context)"), "cores", Better::Lower, ovs, rovn)
}

/// How many cores the load generator kept busy during a phase.
pub fn generator_cores(c: &Cost) -> f64 {
    c.client_cpu.as_secs_f64() / c.wall.as_secs_f64()
}
