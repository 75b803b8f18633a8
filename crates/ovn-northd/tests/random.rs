//! Random Northbound contents (seeded, bounded in time): the compiler must
//! not panic, the database must accept every operation the diff produces,
//! and incremental recompilation must equal compilation from scratch.
//! `crates/ovn-northd/fuzz` runs the same case under libFuzzer.

mod nbgen;

use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};

#[test]
fn random_northbound_contents() {
    if let Ok(hex) = std::env::var("NORTHD_RANDOM_BYTES") {
        let bytes: Vec<u8> = (0..hex.len() / 2)
            .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
            .collect();
        nbgen::random_case(&bytes);
        return;
    }
    let seed = std::env::var("NORTHD_RANDOM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20260101u64);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let start = Instant::now();
    let mut cases = 0;
    while cases < 400 && start.elapsed() < Duration::from_secs(20) {
        let mut bytes = vec![0u8; 600];
        rng.fill_bytes(&mut bytes);
        let case = cases;
        let r = std::panic::catch_unwind(|| nbgen::random_case(&bytes));
        if r.is_err() {
            panic!(
                "case {case} (seed {seed}) failed; bytes: {}",
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
        }
        cases += 1;
    }
    println!("{cases} random cases");
    assert!(cases >= 20);
}
