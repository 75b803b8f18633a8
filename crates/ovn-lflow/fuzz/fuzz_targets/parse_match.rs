//! Any text: the match parser returns Ok or Err, never panics; what it
//! accepts prints back to itself and normalises without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovn_lflow::normalize::{SetEnv, normalize};
use ovn_lflow::sb::parse_address;
use ovn_lflow::symtab::SymbolTable;
use ovn_lflow::expr;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let t = SymbolTable::ovn();
    let Ok(e) = expr::parse(s) else { return };
    let printed = e.display(t).to_string();
    assert_eq!(expr::parse(&printed).as_ref(), Ok(&e), "reprint `{printed}` of `{s}`");
    // Keep normalisation cheap: long inputs can legitimately need many
    // clauses.
    if s.len() <= 200 {
        let mut env = SetEnv::default();
        env.address_sets.insert("a".into(), vec![parse_address("10.0.0.1").unwrap(), parse_address("fd00::/64").unwrap()]);
        env.port_groups.insert("p".into(), vec!["x".into()]);
        // A normal form parses and normalises again. Reparsing may add
        // prerequisites that a negated predicate dropped (as in OVN,
        // `!ip6.mcast` tests ip6.dst alone in one clause); after that one
        // round the normal form is a fixed point.
        if let Ok(n) = normalize(&e, t, &env) {
            let once = n.to_expr_string(t);
            let n2 = normalize(&expr::parse(&once).expect("normal form parses"), t, &env).expect("normal form normalises");
            let twice = n2.to_expr_string(t);
            let n3 = normalize(&expr::parse(&twice).expect("normal form parses"), t, &env).expect("normal form normalises");
            assert!(n3.same_matches(&n2), "`{s}` normal form `{twice}` is not stable");
        }
    }
});
