//! The incrementality measurement: 10,000 ports on 200 switches with a
//! port group of 500 ACLs over address sets, compiled in full, then one
//! port changed. Only that port's units are recomputed and only its rows
//! are written. `cargo bench -p ovn-northd --bench incremental` times the
//! same scenario in a release build.

mod nbgen;
mod scale;

use std::time::Instant;

use scale::{FULL, World, build};

#[test]
fn one_port_change_at_scale() {
    let t = Instant::now();
    let nb = build(&FULL);
    let built = t.elapsed();
    let (mut w, full, compile, diff, n_ops) = World::start(nb);
    let flows = w.compiler.desired().flows.len();
    println!(
        "built NB in {built:?}; full compile: {} units in {compile:?}, {flows} logical flows; full diff {n_ops} operations in {diff:?}",
        full.units()
    );
    assert!(full.full);
    assert_eq!(full.ports, 10_000);
    assert!(w.compiler.diagnostics().is_empty(), "{:?}", w.compiler.diagnostics());

    // sw7-p2 is in the port group: its addresses feed pg_big_ip4.
    let step = w.change_port("sw7-p2", "0a:00:00:aa:bb:cc 10.99.0.1");
    let r = &step.report;
    println!(
        "one port changed: {} units ({} port, {} switch info, {} multicast, {} datapath, {} switch ACLs, {} port groups), {} flows changed, compile {:?}, diff {:?}, {} SB operations, {} NB operations",
        r.units(),
        r.ports,
        r.switch_infos,
        r.multicast_groups,
        r.datapaths,
        r.switch_acls,
        r.port_groups,
        r.flows_changed,
        step.compile,
        step.diff,
        step.sb_ops,
        step.nb_ops
    );
    assert!(!r.full);
    assert_eq!(r.ports, 1, "{r:?}");
    assert_eq!((r.datapaths, r.switch_acls, r.port_groups), (0, 0, 0), "{r:?}");
    assert!(r.switch_infos <= 1 && r.multicast_groups <= 1, "{r:?}");
    // The port's own flows (ARP responder pair, L2 lookup), its binding,
    // and the port group's address set.
    assert!(r.flows_changed <= 6, "{r:?}");
    let tables: std::collections::BTreeSet<String> = step
        .ops
        .iter()
        .map(|o| o["table"].as_str().unwrap_or("").to_string())
        .collect();
    let allowed: std::collections::BTreeSet<String> = ["Logical_Flow", "Port_Binding", "Address_Set"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(tables.is_subset(&allowed), "{tables:?}: {:#?}", step.ops);
    assert!(step.sb_ops <= 8, "{:#?}", step.ops);

    // The incremental result is exactly a fresh compilation's.
    let mut fresh = ovn_northd::compile::Compiler::new(1);
    fresh.load(&w.nb, &w.sb);
    let dirty = fresh.take_dirty();
    let ops = ovn_northd::diff::Differ::new()
        .diff(fresh.desired(), &dirty, &w.sb, &w.nb)
        .expect("diff");
    assert!(
        ops.is_empty(),
        "a fresh compile still wants {} SB and {} NB operations",
        ops.sb.len(),
        ops.nb.len()
    );
}
