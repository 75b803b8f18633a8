//! Times the incrementality scenario in a release build: 10,000 ports on
//! 200 switches, a port group of 500 ACLs over 50 address sets; full
//! compile and diff, then single-port changes compiled incrementally,
//! against a from-scratch recompile of the same state.
//!
//! `cargo bench -p ovn-northd --bench incremental`

#[path = "../tests/nbgen/mod.rs"]
mod nbgen;
#[path = "../tests/scale/mod.rs"]
mod scale;

use std::time::{Duration, Instant};

use scale::{FULL, World, build};

fn main() {
    let t = Instant::now();
    let nb = build(&FULL);
    println!(
        "Northbound: 200 switches, 10000 ports, 500 ACLs, 50 address sets (built in {:?})",
        t.elapsed()
    );
    let (mut w, full, compile, diff, n_ops) = World::start(nb);
    println!(
        "full compile: {} units, {} logical flows, {:?}; full diff: {} operations, {:?}",
        full.units(),
        w.compiler.desired().flows.len(),
        compile,
        n_ops,
        diff
    );
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    let (mut c_total, mut d_total) = (Duration::ZERO, Duration::ZERO);
    let mut units = 0;
    let mut ops = 0;
    for i in 0..rounds {
        let sw = (i * 37) % 200;
        let step = w.change_port(
            &format!("sw{sw}-p2"),
            &format!("0a:00:01:00:{:02x}:{:02x} 10.200.{i}.1", sw >> 8, sw & 0xff),
        );
        c_total += step.compile;
        d_total += step.diff;
        units += step.report.units();
        ops += step.sb_ops + step.nb_ops;
    }
    let n = rounds as u32;
    println!(
        "one port changed (mean of {rounds}): {} units recomputed, compile {:?}, diff {:?}, {} operations",
        units / rounds,
        c_total / n,
        d_total / n,
        ops / rounds
    );
    let t = Instant::now();
    let mut fresh = ovn_northd::compile::Compiler::new(1);
    fresh.load(&w.nb, &w.sb);
    let scratch = t.elapsed();
    println!(
        "from-scratch recompile of the same state: {scratch:?} ({:.0}x the incremental compile)",
        scratch.as_secs_f64() / (c_total / n).as_secs_f64()
    );
}
