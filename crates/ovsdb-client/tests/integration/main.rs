//! The client against real servers: rovsdb-server and Debian's
//! ovsdb-server 3.1, each test run against both. One test binary, so the
//! client is linked once.

mod common;
mod reconnect;
mod replica;
mod txn;
