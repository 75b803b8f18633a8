//! The rovn-lflow binary: output on good input, exit 1 and a pointed
//! message on bad input.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rovn-lflow")).args(args).output().expect("runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn parse_match_prints_the_normal_form() {
    let (ok, out, _) = run(&["parse-match", "--address-set", "as=10.0.0.1,10.0.0.2", "ip4.src == $as && (tcp.dst == 80 || udp.dst == 53)"]);
    assert!(ok);
    assert_eq!(out, "eth.type == 0x800 && ip.proto == 6 && ip4.src == {10.0.0.1, 10.0.0.2} && tcp.dst == 80\neth.type == 0x800 && ip.proto == 17 && ip4.src == {10.0.0.1, 10.0.0.2} && udp.dst == 53\n");
}

#[test]
fn bad_match_exits_1_with_a_caret() {
    let (ok, out, err) = run(&["parse-match", "ip4.src == 10.0.0.300"]);
    assert!(!ok);
    assert!(out.is_empty());
    assert_eq!(err, "rovn-lflow: column 12: invalid numeric constant `10.0.0.300'\n  ip4.src == 10.0.0.300\n             ^\n");
}

#[test]
fn parse_actions_prints_canonically() {
    let (ok, out, _) = run(&["parse-actions", "reg0[0]=lookup_arp(inport,arp.spa,arp.sha);next(pipeline=egress,table=3);"]);
    assert!(ok);
    assert_eq!(out, "reg0[0] = lookup_arp(inport, arp.spa, arp.sha); next(pipeline=egress, table=3);\n");
    let (ok, _, err) = run(&["parse-actions", "outport = 5;"]);
    assert!(!ok);
    assert!(err.contains("string field outport is not compatible with integer constant"), "{err}");
}

#[test]
fn check_without_a_source_explains_itself() {
    let (ok, _, err) = run(&["check"]);
    assert!(!ok);
    assert!(err.contains("expecting --file DUMP"), "{err}");
}
