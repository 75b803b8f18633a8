//! Debian's ovn-northd compiles a varied Northbound database; every
//! logical flow it writes must parse, type-check, normalise and print
//! back to itself.

mod support;

use std::collections::BTreeSet;

use ovn_lflow::sb::{self, Southbound};
use ovn_lflow::symtab::SymbolTable;

#[test]
fn every_flow_northd_writes_round_trips() {
    let dump = support::corpus_dump();
    let south = Southbound::from_dump(&dump).expect("dump parses");
    let table = SymbolTable::ovn();
    let report = sb::check(table, &south);
    let failures: Vec<String> = report.failures.iter().map(|f| format!("{:?} `{}` / `{}`: {}", f.stage, f.flow.match_, f.flow.actions, f.message)).collect();
    assert!(failures.is_empty(), "{} of {} flows failed:\n{}", failures.len(), report.n_flows, failures.join("\n"));
    assert!(south.bad_addresses.is_empty(), "{:?}", south.bad_addresses);
    assert!(report.n_flows > 400, "only {} flows: did the topology build?", report.n_flows);

    // The operator's command (`rovn-lflow check`) is tested in crates/ovn-cli.

    // The corpus must exercise the interesting parts of the language.
    let mut seen = BTreeSet::new();
    for f in &south.flows {
        for w in ["put_dhcp_opts", "put_dhcpv6_opts", "dns_lookup", "put_nd_ra_opts", "ct_lb_mark(backends=", "log(", "reject {", "icmp4_error", "check_pkt_larger", "ct_snat(", "ct_dnat(", "commit_lb_aff", "chk_lb_aff", "trigger_event", "fwd_group", "bind_vport", "igmp", "select(", "commit_ecmp_nh", "is_chassis_resident", "$as_clients", "@pg_web", "$pg_db_ip4", "lookup_arp", "put_nd", "nd_na", "tcp_reset", "arp {", "clone {", "ct_commit {", "ip.ttl--", "set_queue", "set_meter", "icmp4.frag_mtu"] {
            if f.actions.contains(w) || f.match_.contains(w) {
                seen.insert(w);
            }
        }
    }
    println!("{} flows, {} OpenFlow flows, constructs seen: {seen:?}", report.n_flows, report.n_of_flows);
    for w in ["put_dhcp_opts", "put_dhcpv6_opts", "dns_lookup", "put_nd_ra_opts", "ct_lb_mark(backends=", "log(", "reject {", "commit_lb_aff", "trigger_event", "fwd_group", "bind_vport", "is_chassis_resident", "$as_clients", "@pg_web"] {
        assert!(seen.contains(w), "corpus lacks {w}");
    }
}
