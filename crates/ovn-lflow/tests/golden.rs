//! Golden tests: canonical printing and normal forms of matches, and
//! canonical printing of actions. Refresh with `UPDATE_EXPECT=1`.

use expect_test::{Expect, expect};
use ovn_lflow::normalize::{self, SetEnv};
use ovn_lflow::sb::parse_address;
use ovn_lflow::symtab::SymbolTable;
use ovn_lflow::{actions, expr};

fn env() -> SetEnv {
    let mut e = SetEnv::default();
    let set = |v: &[&str]| v.iter().map(|s| parse_address(s).unwrap()).collect();
    e.address_sets.insert("as1".into(), set(&["10.0.0.1", "10.0.0.2", "192.168.0.0/16"]));
    e.address_sets.insert("as6".into(), set(&["fd00::1", "fd00::/64"]));
    e.port_groups.insert("pg1".into(), vec!["lp1".into(), "lp2".into()]);
    e
}

/// Canonical print, then the normal form, one clause per line.
fn check_match(input: &str, want: Expect) {
    let t = SymbolTable::ovn();
    let out = match expr::parse(input) {
        Err(e) => format!("error: {e}"),
        Ok(e) => {
            let printed = e.display(t).to_string();
            assert_eq!(expr::parse(&printed).as_ref(), Ok(&e), "reprint of {input}");
            match normalize::normalize(&e, t, &env()) {
                Ok(n) => format!("{printed}\n--\n{}", n.display(t)),
                Err(err) => format!("{printed}\n--\nerror: {err}"),
            }
        }
    };
    want.assert_eq(&out);
}

fn check_actions(input: &str, want: Expect) {
    let t = SymbolTable::ovn();
    let out = match actions::parse(input) {
        Err(e) => format!("error: {e}"),
        Ok(a) => {
            let printed = actions::display(&a, t).to_string();
            assert_eq!(actions::parse(&printed).as_ref(), Ok(&a), "reprint of {input}");
            printed
        }
    };
    want.assert_eq(&out);
}

#[test]
fn matches() {
    check_match("1", expect![[r#"
        1
        --
        1"#]]);
    check_match("0 || (1 && 0)", expect![[r#"
        0 || (1 && 0)
        --
        0"#]]);
    check_match("ip4.dst == 192.168.0.1", expect![[r#"
        ip4.dst == 192.168.0.1
        --
        eth.type == 0x800 && ip4.dst == 192.168.0.1"#]]);
    check_match("80 == tcp.src", expect![[r#"
        tcp.src == 80
        --
        eth.type == 0x800 && ip.proto == 6 && tcp.src == 80
        eth.type == 0x86dd && ip.proto == 6 && tcp.src == 80"#]]);
    check_match("tcp.dst == {80, 443} && ip4.src == {10.0.0.1, 10.0.0.2}", expect![[r#"
        tcp.dst == {80, 443} && ip4.src == {10.0.0.1, 10.0.0.2}
        --
        eth.type == 0x800 && ip.proto == 6 && ip4.src == {10.0.0.1, 10.0.0.2} && tcp.dst == {80, 443}"#]]);
    check_match("1024 <= tcp.src <= 49151", expect![[r#"
        tcp.src >= 1024 && tcp.src <= 49151
        --
        eth.type == 0x800 && ip.proto == 6 && tcp.src == {1024, 1025, 0x402/0xfffe, 0x404/0xfffc, 0x408/0xfff8, 0x410/0xfff0, 0x420/0xffe0, 0x440/0xffc0, 0x480/0xff80, 0x500/0xff00, 0x600/0xfe00, 0x800/0xf800, 0x1000/0xf000, 0x2000/0xe000, 0x4000/0xc000, 0x8000/0xe000, 0xa000/0xf000, 0xb000/0xf800, 0xb800/0xfc00, 0xbc00/0xfe00, 0xbe00/0xff00, 0xbf00/0xff80, 0xbf80/0xffc0, 0xbfc0/0xffe0, 0xbfe0/0xfff0, 0xbff0/0xfff8, 0xbff8/0xfffc, 0xbffc/0xfffe, 49150, 49151}
        eth.type == 0x86dd && ip.proto == 6 && tcp.src == {1024, 1025, 0x402/0xfffe, 0x404/0xfffc, 0x408/0xfff8, 0x410/0xfff0, 0x420/0xffe0, 0x440/0xffc0, 0x480/0xff80, 0x500/0xff00, 0x600/0xfe00, 0x800/0xf800, 0x1000/0xf000, 0x2000/0xe000, 0x4000/0xc000, 0x8000/0xe000, 0xa000/0xf000, 0xb000/0xf800, 0xb800/0xfc00, 0xbc00/0xfe00, 0xbe00/0xff00, 0xbf00/0xff80, 0xbf80/0xffc0, 0xbfc0/0xffe0, 0xbfe0/0xfff0, 0xbff0/0xfff8, 0xbff8/0xfffc, 0xbffc/0xfffe, 49150, 49151}"#]]);
    check_match("tcp.dst > 65000", expect![[r#"
        tcp.dst > 65000
        --
        eth.type == 0x800 && ip.proto == 6 && tcp.dst == {65001, 0xfdea/0xfffe, 0xfdec/0xfffc, 0xfdf0/0xfff0, 0xfe00/0xfe00}
        eth.type == 0x86dd && ip.proto == 6 && tcp.dst == {65001, 0xfdea/0xfffe, 0xfdec/0xfffc, 0xfdf0/0xfff0, 0xfe00/0xfe00}"#]]);
    check_match("ip4.src != 10.0.0.0/30", expect![[r#"
        ip4.src != 10.0.0.0/30
        --
        eth.type == 0x800 && ip4.src == {0.0.0.0/2.0.0.0, 0.0.0.0/8.0.0.0, 0.0.0.4/0.0.0.4, 0.0.0.8/0.0.0.8, 0.0.0.16/0.0.0.16, 0.0.0.32/0.0.0.32, 0.0.0.64/0.0.0.64, 0.0.0.128/0.0.0.128, 0.0.1.0/0.0.1.0, 0.0.2.0/0.0.2.0, 0.0.4.0/0.0.4.0, 0.0.8.0/0.0.8.0, 0.0.16.0/0.0.16.0, 0.0.32.0/0.0.32.0, 0.0.64.0/0.0.64.0, 0.0.128.0/0.0.128.0, 0.1.0.0/0.1.0.0, 0.2.0.0/0.2.0.0, 0.4.0.0/0.4.0.0, 0.8.0.0/0.8.0.0, 0.16.0.0/0.16.0.0, 0.32.0.0/0.32.0.0, 0.64.0.0/0.64.0.0, 0.128.0.0/0.128.0.0, 1.0.0.0/1.0.0.0, 4.0.0.0/4.0.0.0, 16.0.0.0/16.0.0.0, 32.0.0.0/32.0.0.0, 64.0.0.0/64.0.0.0, 128.0.0.0/1}"#]]);
    check_match("vlan.present && vlan.pcp == 5", expect![[r#"
        vlan.present && vlan.pcp == 5
        --
        vlan.tci[12..15] == 0xb"#]]);
    check_match("ip && !ip.later_frag", expect![[r#"
        ip && !ip.later_frag
        --
        eth.type == 0x800 && ip.frag[1] == 0
        eth.type == 0x86dd && ip.frag[1] == 0"#]]);
    check_match("ip.first_frag", expect![[r#"
        ip.first_frag
        --
        eth.type == 0x800 && ip.frag == 1
        eth.type == 0x86dd && ip.frag == 1"#]]);
    check_match("ct.est && !ct.rel && ct_mark.blocked == 0", expect![[r#"
        ct.est && !ct.rel && ct_mark.blocked == 0
        --
        ct_mark[0] == 0 && ct_state == 0x22/0x26"#]]);
    check_match("reg0[1..3] == 5 && reg9 == 0x1/0x1 && xxreg1[0] == 1", expect![[r#"
        reg0[1..3] == 5 && reg9 == 0x1/0x1 && xxreg1[0] == 1
        --
        xreg4[0] == 1 && xxreg0[97..99] == 0x5 && xxreg1[0] == 1"#]]);
    check_match("inport == @pg1 && ip4.src == $as1", expect![[r#"
        inport == @pg1 && ip4.src == $as1
        --
        eth.type == 0x800 && inport == {"lp1", "lp2"} && ip4.src == {10.0.0.1, 10.0.0.2, 192.168.0.0/16}"#]]);
    check_match("outport == \"lp1\" && !(outport != {\"lp1\", \"lp2\"})", expect![[r#"
        outport == "lp1" && !(outport != {"lp1", "lp2"})
        --
        outport == "lp1""#]]);
    check_match("ip6.src == $as6 && udp", expect![[r#"
        ip6.src == $as6 && udp
        --
        eth.type == 0x86dd && ip.proto == 17 && ip6.src == {fd00::/64, fd00::1}"#]]);
    check_match("eth.src == 00:00:00:00:00:01/ff:ff:ff:00:00:00 && eth.mcast", expect![[r#"
        eth.src == 00:00:00:00:00:00/ff:ff:ff:00:00:00 && eth.mcast
        --
        eth.dst[40] == 1 && eth.src[24..47] == 0x0"#]]);
    check_match("ip && icmp", expect![[r#"
        ip && icmp
        --
        eth.type == 0x800 && ip.proto == 1
        eth.type == 0x86dd && ip.proto == 58"#]]);
    check_match("nd_ns && nd.sll == 00:00:00:00:00:00", expect![[r#"
        nd_ns && nd.sll == 00:00:00:00:00:00
        --
        eth.type == 0x86dd && icmp6.code == 0 && icmp6.type == 135 && ip.proto == 58 && ip.ttl == 255 && nd.sll == 00:00:00:00:00:00"#]]);
    check_match("is_chassis_resident(\"cr-lrp\") && ip4.mcast", expect![[r#"
        is_chassis_resident("cr-lrp") && ip4.mcast
        --
        eth.dst[40] == 1 && eth.type == 0x800 && ip4.dst == 224.0.0.0/4 && is_chassis_resident("cr-lrp")"#]]);
    check_match("(ip4 || ip6) && (tcp.dst == 1 || udp.dst == 2)", expect![[r#"
        (ip4 || ip6) && (tcp.dst == 1 || udp.dst == 2)
        --
        eth.type == 0x800 && ip.proto == 6 && tcp.dst == 1
        eth.type == 0x800 && ip.proto == 17 && udp.dst == 2
        eth.type == 0x86dd && ip.proto == 6 && tcp.dst == 1
        eth.type == 0x86dd && ip.proto == 17 && udp.dst == 2"#]]);
    check_match("ip4.src == 10.0.0.1 && ip4.src == 10.0.0.2", expect![[r#"
        ip4.src == 10.0.0.1 && ip4.src == 10.0.0.2
        --
        0"#]]);
    check_match("eth.type == 0x800 && ip6", expect![[r#"
        eth.type == 0x800 && ip6
        --
        0"#]]);
}

#[test]
fn match_errors() {
    check_match("tcp.src", expect!["error: column 1: explicit `!= 0' is required for inequality test of multibit field against 0"]);
    check_match("eth.type != 0x800", expect!["error: column 1: nominal field eth.type may only be tested for equality (taking enclosing `!' operators into account)"]);
    check_match("!ip4", expect!["error: column 2: nominal predicate ip4 may only be tested positively, e.g. `ip4' or `ip4 == 1' but not `!ip4' or `ip4 == 0'"]);
    check_match("ip.proto < 6", expect!["error: column 1: only == and != operators may be used with nominal field ip.proto"]);
    check_match("ip4 && ip6 || arp", expect!["error: column 12: syntax error at `||': && and || must be parenthesized when used together"]);
    check_match("ip4.src == 10.0.0.0/ff", expect!["error: column 21: invalid numeric constant `ff'"]);
    check_match("inport == 1", expect!["error: column 1: string field inport is not compatible with integer constant"]);
    check_match("tcp.dst == 0x10000", expect!["error: column 1: 17-bit constant is not compatible with 16-bit field tcp.dst"]);
    check_match("reg0[5..40] == 1", expect!["error: column 1: cannot select bits 5 to 40 of 32-bit field reg0"]);
    check_match("ip4.src == {10.0.0.1, \"x\"}", expect![[r#"error: column 23: syntax error at `"x"': expecting integer"#]]);
    check_match("!tcp.dst == 1", expect!["error: column 2: missing parentheses around operand of !"]);
    check_match("foo(1)", expect!["error: column 1: syntax error at `foo': expecting a field name; the only function is is_chassis_resident()"]);
    check_match("ip4.src == $nosuch", expect![[r#"
        ip4.src == $nosuch
        --
        error: unknown address set $nosuch"#]]);
    check_match("ip4.src == $as6", expect![[r#"
        ip4.src == $as6
        --
        error: address set $as6 holds 128-bit value fd00::1, too wide for 32-bit field ip4.src"#]]);
    check_match("\"unterminated", expect!["error: column 1: input ends inside quoted string"]);
}

#[test]
fn action_printing() {
    check_actions("", expect!["drop;"]);
    check_actions("drop;", expect!["drop;"]);
    check_actions("next; next(3); next(pipeline=egress, table=0); output;", expect!["next; next(3); next(pipeline=egress, table=0); output;"]);
    check_actions("outport = \"lp1\"; reg0[0] = 1; eth.dst <-> eth.src; ip4.dst = ip4.src; ip.ttl--;", expect![[r#"outport = "lp1"; reg0[0] = 1; eth.dst <-> eth.src; ip4.dst = ip4.src; ip.ttl--;"#]]);
    check_actions("ct_commit { ct_mark.blocked = 0; ct_label.label = reg3; }; ct_commit; ct_next;", expect!["ct_commit { ct_mark.blocked = 0; ct_label.label = reg3; }; ct_commit; ct_next;"]);
    check_actions("ct_commit(ct_mark=0x1/0x1, ct_label=0x2);", expect!["ct_commit(ct_mark=0x1/0x1, ct_label=0x2);"]);
    check_actions("ct_dnat; ct_snat(172.16.0.1); ct_dnat(10.0.0.1,1000-2000); ct_snat_in_czone(fd00::1);", expect!["ct_dnat; ct_snat(172.16.0.1); ct_dnat(10.0.0.1,1000-2000); ct_snat_in_czone(fd00::1);"]);
    check_actions("ct_lb_mark(backends=10.0.0.1:80,10.0.0.2:80; hash_fields=\"ip_src,ip_dst\"; skip_snat); ct_lb(backends=[fd00::1]:80);", expect![[r#"ct_lb_mark(backends=10.0.0.1:80,10.0.0.2:80; hash_fields="ip_src,ip_dst"; skip_snat); ct_lb(backends=[fd00::1]:80);"#]]);
    check_actions("reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, router = 10.0.0.1, dns_server = {8.8.8.8, 7.7.7.7}, domain_name = \"ovn.org\"); next;", expect![[r#"reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, router = 10.0.0.1, dns_server = {8.8.8.8, 7.7.7.7}, domain_name = "ovn.org"); next;"#]]);
    check_actions("reg0[3] = put_nd_ra_opts(addr_mode = \"slaac\", slla = 00:00:00:00:10:02, prefix = aef0::/64, mtu = 1450);", expect![[r#"reg0[3] = put_nd_ra_opts(addr_mode = "slaac", slla = 00:00:00:00:10:02, prefix = aef0::/64, mtu = 1450);"#]]);
    check_actions("reg0[4] = dns_lookup(); reg9[2] = lookup_arp(inport, arp.spa, arp.sha); reg9[3] = lookup_nd_ip(inport, ip6.src);", expect!["reg0[4] = dns_lookup(); reg9[2] = lookup_arp(inport, arp.spa, arp.sha); reg9[3] = lookup_nd_ip(inport, ip6.src);"]);
    check_actions("log(verdict=drop, name=\"acl1\", meter=\"m\"); reject { eth.dst <-> eth.src; outport <-> inport; next(pipeline=egress,table=5); };", expect![[r#"log(name="acl1", verdict=drop, severity=info, meter="m"); reject { eth.dst <-> eth.src; outport <-> inport; next(pipeline=egress, table=5); };"#]]);
    check_actions("icmp4_error { icmp4.frag_mtu = 1400; output; }; reg9[1] = check_pkt_larger(1414);", expect!["icmp4_error { icmp4.frag_mtu = 1400; output; }; reg9[1] = check_pkt_larger(1414);"]);
    check_actions("trigger_event(event = \"empty_lb_backends\", vip = \"10.0.0.1:80\", protocol = \"tcp\", load_balancer = \"0e7c4a0f-56b4-4d2a-a4f1-2ac8b1e0b2d3\");", expect![[r#"trigger_event(event = "empty_lb_backends", vip = "10.0.0.1:80", protocol = "tcp", load_balancer = "0e7c4a0f-56b4-4d2a-a4f1-2ac8b1e0b2d3");"#]]);
    check_actions("commit_lb_aff(vip = \"10.0.0.1:80\", backend = \"10.0.0.2:8080\", proto = tcp, timeout = 60); reg9[6] = chk_lb_aff();", expect![[r#"commit_lb_aff(vip = "10.0.0.1:80", backend = "10.0.0.2:8080", proto = tcp, timeout = 60); reg9[6] = chk_lb_aff();"#]]);
    check_actions("reg8[16..31] = select(1=20, 2=30, 3); fwd_group(liveness=\"true\", childports=\"p1\", \"p2\");", expect![[r#"reg8[16..31] = select(1=20, 2=30, 3=100); fwd_group(liveness="true", childports="p1", "p2");"#]]);
    check_actions("bind_vport(\"vip\", inport); handle_svc_check(inport); set_queue(10); set_meter(100, 1000); igmp;", expect![[r#"bind_vport("vip", inport); handle_svc_check(inport); set_queue(10); set_meter(100, 1000); igmp;"#]]);
    check_actions("sample(probability=10, obs_point=$cookie); commit_ecmp_nh(ipv6 = \"true\", proto = udp);", expect!["sample(probability=10,collector_set=0,obs_domain=0,obs_point=$cookie); commit_ecmp_nh(ipv6 = true, proto = udp);"]);
    check_actions("clone { arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; }; };", expect!["clone { arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; }; };"]);
}

#[test]
fn action_errors() {
    check_actions("drop; next;", expect!["error: column 7: syntax error at `next': `drop;' must be the only action; expecting `end of input'"]);
    check_actions("next", expect!["error: column 5: syntax error at end of input: expecting `;'"]);
    check_actions("eth.type = 0x800;", expect!["error: column 1: field eth.type is not modifiable"]);
    check_actions("ct_mark = 1;", expect!["error: column 1: field ct_mark is not modifiable outside ct_commit { }"]);
    check_actions("ct_commit { reg0 = 1; };", expect!["error: column 13: field reg0 is not modifiable"]);
    check_actions("reg0 = ip6.src;", expect!["error: column 8: can't assign 128-bit value to 32-bit destination"]);
    check_actions("reg0[0..1] = dns_lookup();", expect!["error: column 1: cannot use 2-bit field reg0[0..1] where 1-bit field is required"]);
    check_actions("reg0[0] = put_dhcp_opts(router = 10.0.0.1);", expect!["error: column 1: put_dhcp_opts requires offerip to be specified"]);
    check_actions("reg0[0] = put_dhcp_opts(offerip = 10.0.0.1, hostname = 1);", expect!["error: column 45: DHCPv4 option hostname requires string value"]);
    check_actions("log(name=\"x\");", expect!["error: column 4: log requires a verdict"]);
    check_actions("set_queue(70000);", expect!["error: column 1: queue ID 70000 for set_queue is not in valid range 0 to 61440"]);
    check_actions("reg0[0..7] = select(1, 2);", expect![[r#"error: column 1: cannot use 8-bit field reg0[0..7] for "select", which requires at least 16 bits"#]]);
    check_actions("next(30);", expect![[r#"error: column 9: "next" action cannot advance to table 30, beyond table 28"#]]);
    check_actions("ip4 = 1;", expect!["error: column 1: predicate symbol ip4 used where lvalue required"]);
    check_actions("frobnicate;", expect!["error: column 1: syntax error at `frobnicate': expecting action"]);
}
