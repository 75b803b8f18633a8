//! Parse + normalise throughput on the flows Debian's ovn-northd writes
//! for the corpus topology (see tests/support). Prints flows/second.
//!
//! Run: `cargo bench -p ovn-lflow --bench throughput`

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use ovn_lflow::normalize::normalize;
use ovn_lflow::sb::Southbound;
use ovn_lflow::symtab::SymbolTable;
use ovn_lflow::{actions, expr};

fn rate(name: &str, n_flows: usize, mut f: impl FnMut()) {
    f();
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        f();
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{name:<40} {:>12.0} flows/s", (rounds as f64 * n_flows as f64) / secs);
}

fn main() {
    let dump = support::corpus_dump();
    let sb = Southbound::from_dump(&dump).expect("dump parses");
    let t = SymbolTable::ovn();
    let n = sb.flows.len();
    println!("corpus: {n} logical flows");
    rate("parse match", n, || {
        for f in &sb.flows {
            black_box(expr::parse_with(&f.match_, t).ok());
        }
    });
    rate("parse actions", n, || {
        for f in &sb.flows {
            black_box(actions::parse_with(&f.actions, t).ok());
        }
    });
    rate("parse + normalise match, parse actions", n, || {
        for f in &sb.flows {
            let sets = sb.sets_for(f.datapaths.first().map(String::as_str));
            if let Ok(e) = expr::parse_with(&f.match_, t) {
                black_box(normalize(&e, t, &sets).ok());
            }
            black_box(actions::parse_with(&f.actions, t).ok());
        }
    });
}
