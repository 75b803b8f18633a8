//! Bytes drive a random Northbound (switches, ports of every type with
//! good and bad addresses and options, ACLs, groups, sets, DHCP, DNS, load
//! balancers) and random edits to it: the compiler must not panic, the
//! database must accept every operation the diff step produces, and each
//! incremental recompilation must equal a compilation from scratch.
//! `tests/random.rs` runs the same case on seeded bytes.
#![no_main]

#[allow(dead_code)]
#[path = "../../tests/nbgen/mod.rs"]
mod nbgen;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nbgen::random_case(data);
});
