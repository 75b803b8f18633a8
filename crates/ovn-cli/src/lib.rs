//! rovn's command-line tools for OVN operators.
//!
//! # Layout
//!
//! - `src/bin/rovn-lflow.rs`: parse and check logical flows
//!   (`parse-match`, `parse-actions`, `check --file DUMP | --db REMOTE`).
//! - [`southbound`]: reads what a flow check needs from a live Southbound
//!   database through the client library.
//!
//! The languages and checks themselves live in `ovn-lflow`, which knows no
//! database; this crate is where they meet one.

pub mod southbound;
