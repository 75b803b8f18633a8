//! Flows of a whole logical switch: the default flow of every stage, the
//! fixed parts of pre-ACL, pre-LB, conntrack, ACL hints and ACL defaults,
//! QoS, hairpin, forwarding groups, DNS, broadcast and multicast lookup,
//! and unknown-destination handling. Nothing here depends on one port
//! (see [`super::port`]) or one ACL (see [`super::acl`]).

use crate::flow::FlowSink;
use crate::lflow;
use crate::nb::{ForwardingGroup, QoS};
use crate::stage::{Stage, mcast, reg};

use super::{Global, LsInfo, json_key};

/// The rows a switch's own flows read besides its [`LsInfo`].
pub struct LsRows<'a> {
    pub uuid: ovsdb::Uuid,
    pub qos: Vec<&'a QoS>,
    pub forwarding_groups: Vec<&'a ForwardingGroup>,
}

const ND_ETC: &str = "nd || nd_rs || nd_ra || mldv1 || mldv2";
const IPV6_CT_OMIT_MATCH: &str = "nd || nd_ra || nd_rs || mldv1 || mldv2";

/// Every flow of the switch that does not come from one port or ACL.
pub fn build(g: &Global, info: &LsInfo, rows: &LsRows<'_>, sink: &mut FlowSink) {
    pre_acls(g, info, sink);
    pre_lb(info, sink);
    pre_stateful(g, sink);
    acl_hints(g, info, sink);
    acl_defaults(g, info, sink);
    qos(rows, sink);
    stateful(g, sink);
    lb_hairpin(info, rows, sink);
    vtep_hairpin(info, sink);
    forwarding_groups(rows, sink);
    admission_control(g, info, sink);
    lflow!(sink, Stage::LsInLookupFdb, 0, "1", "next;");
    lflow!(sink, Stage::LsInPutFdb, 0, "1", "next;");
    lflow!(sink, Stage::LsInArpRsp, 0, "1", "next;");
    dns(info, sink);
    lflow!(sink, Stage::LsInLbAffCheck, 0, "1", "next;");
    lflow!(sink, Stage::LsInLbAffLearn, 0, "1", "next;");
    for st in [
        Stage::LsInDhcpOptions,
        Stage::LsInDhcpResponse,
        Stage::LsInDnsLookup,
        Stage::LsInDnsResponse,
        Stage::LsInExternalPort,
    ] {
        lflow!(sink, st, 0, "1", "next;");
    }
    destination_lookup(g, info, sink);
    lflow!(
        sink,
        Stage::LsOutCheckPortSec,
        100,
        "eth.mcast",
        format!("{} = 0; next;", reg::PORT_SEC_DROP)
    );
    lflow!(
        sink,
        Stage::LsOutCheckPortSec,
        0,
        "1",
        format!("{} = check_out_port_sec(); next;", reg::PORT_SEC_DROP)
    );
    lflow!(
        sink,
        Stage::LsOutApplyPortSec,
        50,
        format!("{} == 1", reg::PORT_SEC_DROP),
        g.drop_action.as_str()
    );
    lflow!(sink, Stage::LsOutApplyPortSec, 0, "1", "output;");
    lflow!(sink, Stage::LsInL2Lkup, 0, "1", "outport = get_fdb(eth.dst); next;");
    if info.has_unknown {
        lflow!(
            sink,
            Stage::LsInL2Unknown,
            50,
            "outport == \"none\"",
            format!("outport = \"{}\"; output;", mcast::UNKNOWN)
        );
    } else {
        lflow!(
            sink,
            Stage::LsInL2Unknown,
            50,
            "outport == \"none\"",
            g.drop_action.as_str()
        );
    }
    lflow!(sink, Stage::LsInL2Unknown, 0, "1", "output;");
}

fn pre_acls(g: &Global, info: &LsInfo, sink: &mut FlowSink) {
    lflow!(sink, Stage::LsInPreAcl, 0, "1", "next;");
    lflow!(sink, Stage::LsOutPreAcl, 0, "1", "next;");
    lflow!(
        sink,
        Stage::LsInPreAcl,
        110,
        format!("eth.dst == ${}", "svc_monitor_mac"),
        "next;"
    );
    lflow!(
        sink,
        Stage::LsOutPreAcl,
        110,
        format!("eth.src == ${}", "svc_monitor_mac"),
        "next;"
    );
    let _ = g;
    if info.has_stateful_acl {
        let m = format!("{ND_ETC} || (udp && udp.src == 546 && udp.dst == 547)");
        lflow!(sink, Stage::LsInPreAcl, 110, m.as_str(), "next;");
        lflow!(sink, Stage::LsOutPreAcl, 110, m.as_str(), "next;");
        lflow!(sink, Stage::LsInPreAcl, 110, "eth.mcast", "next;");
        lflow!(sink, Stage::LsOutPreAcl, 110, "eth.mcast", "next;");
        let a = format!("{} = 1; next;", reg::CONNTRACK_DEFRAG);
        lflow!(sink, Stage::LsInPreAcl, 100, "ip", a.as_str());
        lflow!(sink, Stage::LsOutPreAcl, 100, "ip", a.as_str());
    }
}

fn pre_lb(info: &LsInfo, sink: &mut FlowSink) {
    if info.mcast.enabled && info.interconn_ts {
        let meter = info.copp.get("igmp");
        for p in &info.remote_ports {
            let k = json_key(p);
            lflow!(
                sink,
                Stage::LsOutPreLb,
                120,
                format!("inport == {k} && igmp"),
                "clone { igmp; }; next;",
                meter = meter.clone()
            );
            lflow!(
                sink,
                Stage::LsOutPreLb,
                120,
                format!("inport == {k} && (mldv1 || mldv2)"),
                "clone { igmp; }; next;",
                meter = meter.clone()
            );
        }
    }
    lflow!(sink, Stage::LsInPreLb, 110, "eth.mcast", "next;");
    lflow!(sink, Stage::LsOutPreLb, 110, "eth.mcast", "next;");
    lflow!(sink, Stage::LsInPreLb, 110, ND_ETC, "next;");
    lflow!(sink, Stage::LsOutPreLb, 110, ND_ETC, "next;");
    lflow!(sink, Stage::LsInPreLb, 110, "eth.dst == $svc_monitor_mac", "next;");
    lflow!(sink, Stage::LsOutPreLb, 110, "eth.src == $svc_monitor_mac", "next;");
    lflow!(sink, Stage::LsInPreLb, 0, "1", "next;");
    lflow!(sink, Stage::LsOutPreLb, 0, "1", "next;");
    let m = format!("{} == 1", reg::ACL_STATELESS);
    lflow!(sink, Stage::LsInPreLb, 110, m.as_str(), "next;");
    lflow!(sink, Stage::LsOutPreLb, 110, m.as_str(), "next;");
    if info.has_lb_vip {
        let a = format!("{} = 1; next;", reg::CONNTRACK_NAT);
        lflow!(sink, Stage::LsInPreLb, 100, "ip", a.as_str());
        lflow!(sink, Stage::LsOutPreLb, 100, "ip", a.as_str());
    }
}

fn pre_stateful(g: &Global, sink: &mut FlowSink) {
    lflow!(sink, Stage::LsInPreStateful, 0, "1", "next;");
    lflow!(sink, Stage::LsOutPreStateful, 0, "1", "next;");
    let ct_lb = if g.ct_no_masked_label { "ct_lb_mark;" } else { "ct_lb;" };
    let m = format!("{} == 1", reg::CONNTRACK_NAT);
    lflow!(sink, Stage::LsInPreStateful, 110, m.as_str(), ct_lb);
    lflow!(sink, Stage::LsOutPreStateful, 110, m.as_str(), ct_lb);
    let m = format!("{} == 1", reg::CONNTRACK_DEFRAG);
    lflow!(sink, Stage::LsInPreStateful, 100, m.as_str(), "ct_next;");
    lflow!(sink, Stage::LsOutPreStateful, 100, m.as_str(), "ct_next;");
}

fn acl_hints(g: &Global, info: &LsInfo, sink: &mut FlowSink) {
    let blocked = g.ct_blocked();
    for st in [Stage::LsInAclHint, Stage::LsOutAclHint] {
        if !info.has_acls && !info.has_lb_vip {
            lflow!(sink, st, u16::MAX, "1", "next;");
        } else {
            lflow!(sink, st, 0, "1", "next;");
        }
        if !info.has_stateful() {
            continue;
        }
        let (new, allow, drop, block) = (
            reg::ACL_HINT_ALLOW_NEW,
            reg::ACL_HINT_ALLOW,
            reg::ACL_HINT_DROP,
            reg::ACL_HINT_BLOCK,
        );
        lflow!(
            sink,
            st,
            7,
            "ct.new && !ct.est",
            format!("{new} = 1; {drop} = 1; next;")
        );
        lflow!(
            sink,
            st,
            6,
            format!("!ct.new && ct.est && !ct.rpl && {blocked} == 1"),
            format!("{new} = 1; {drop} = 1; next;")
        );
        lflow!(sink, st, 5, "!ct.trk", format!("{allow} = 1; {drop} = 1; next;"));
        lflow!(
            sink,
            st,
            4,
            format!("!ct.new && ct.est && !ct.rpl && {blocked} == 0"),
            format!("{allow} = 1; {block} = 1; next;")
        );
        lflow!(sink, st, 3, "!ct.est", format!("{drop} = 1; next;"));
        lflow!(
            sink,
            st,
            2,
            format!("ct.est && {blocked} == 1"),
            format!("{drop} = 1; next;")
        );
        lflow!(
            sink,
            st,
            1,
            format!("ct.est && {blocked} == 0"),
            format!("{block} = 1; next;")
        );
    }
}

/// The parts of ACL processing that do not come from one ACL: defaults,
/// conntrack state handling, always-allowed IPv6 control traffic, DNS and
/// service monitor replies.
fn acl_defaults(g: &Global, info: &LsInfo, sink: &mut FlowSink) {
    let blocked = g.ct_blocked();
    let default_action = if g.default_acl_drop {
        g.drop_action.as_str()
    } else {
        "next;"
    };
    let has_stateful = info.has_stateful();
    if !info.has_acls {
        if !info.has_lb_vip {
            lflow!(sink, Stage::LsInAcl, u16::MAX, "1", "next;");
            lflow!(sink, Stage::LsOutAcl, u16::MAX, "1", "next;");
        } else {
            lflow!(sink, Stage::LsInAcl, 0, "1", "next;");
            lflow!(sink, Stage::LsOutAcl, 0, "1", "next;");
        }
        lflow!(sink, Stage::LsInAclAfterLb, 0, "1", "next;");
    } else {
        lflow!(sink, Stage::LsInAcl, 0, "1", default_action);
        lflow!(sink, Stage::LsOutAcl, 0, "1", default_action);
        lflow!(sink, Stage::LsInAclAfterLb, 0, "1", default_action);
    }
    let inv = if g.use_ct_inv_match { " && !ct.inv" } else { "" };
    if has_stateful {
        let commit = format!("{} = 1; next;", reg::CONNTRACK_COMMIT);
        let m = format!("ip && ct.est && {blocked} == 1");
        lflow!(sink, Stage::LsInAcl, 1, m.as_str(), commit.as_str());
        lflow!(sink, Stage::LsOutAcl, 1, m.as_str(), commit.as_str());
        let a = if g.default_acl_drop {
            g.drop_action.clone()
        } else {
            commit.clone()
        };
        lflow!(sink, Stage::LsInAcl, 1, "ip && !ct.est", a.as_str());
        lflow!(sink, Stage::LsOutAcl, 1, "ip && !ct.est", a.as_str());

        let m = format!(
            "{}(ct.est && ct.rpl && {blocked} == 1)",
            if g.use_ct_inv_match { "ct.inv || " } else { "" }
        );
        lflow!(sink, Stage::LsInAcl, u16::MAX - 3, m.as_str(), g.drop_action.as_str());
        lflow!(sink, Stage::LsOutAcl, u16::MAX - 3, m.as_str(), g.drop_action.as_str());

        let m = format!("ct.est && !ct.rel && !ct.new{inv} && ct.rpl && {blocked} == 0");
        lflow!(
            sink,
            Stage::LsInAcl,
            u16::MAX - 3,
            m.as_str(),
            format!(
                "{} = 0; {} = 0; {} = 1; next;",
                reg::ACL_HINT_DROP,
                reg::ACL_HINT_BLOCK,
                reg::ACL_HINT_ALLOW_REL
            )
        );
        lflow!(sink, Stage::LsOutAcl, u16::MAX - 3, m.as_str(), "next;");

        let (in_a, out_a) = if g.ct_lb_related {
            (
                format!("{} = 1; ct_commit_nat;", reg::ACL_HINT_ALLOW_REL),
                "ct_commit_nat;",
            )
        } else {
            (format!("{} = 1; next;", reg::ACL_HINT_ALLOW_REL), "next;")
        };
        let m = format!("!ct.est && ct.rel && !ct.new{inv} && {blocked} == 0");
        lflow!(sink, Stage::LsInAcl, u16::MAX - 3, m.as_str(), in_a);
        lflow!(sink, Stage::LsOutAcl, u16::MAX - 3, m.as_str(), out_a);
        lflow!(
            sink,
            Stage::LsInAclAfterLb,
            u16::MAX - 3,
            format!("{} == 1", reg::ACL_HINT_ALLOW_REL),
            "next;"
        );
    }
    lflow!(sink, Stage::LsInAcl, u16::MAX - 3, IPV6_CT_OMIT_MATCH, "next;");
    lflow!(sink, Stage::LsOutAcl, u16::MAX - 3, IPV6_CT_OMIT_MATCH, "next;");
    lflow!(sink, Stage::LsInAclAfterLb, u16::MAX - 3, IPV6_CT_OMIT_MATCH, "next;");
    if info.has_dns_records {
        lflow!(
            sink,
            Stage::LsOutAcl,
            34000,
            "udp.src == 53",
            if has_stateful { "ct_commit; next;" } else { "next;" }
        );
    }
    if info.has_acls || info.has_lb_vip {
        lflow!(sink, Stage::LsInAcl, 34000, "eth.dst == $svc_monitor_mac", "next;");
        lflow!(sink, Stage::LsOutAcl, 34000, "eth.src == $svc_monitor_mac", "next;");
    }
}

fn qos(rows: &LsRows<'_>, sink: &mut FlowSink) {
    for st in [
        Stage::LsInQosMark,
        Stage::LsOutQosMark,
        Stage::LsInQosMeter,
        Stage::LsOutQosMeter,
    ] {
        lflow!(sink, st, 0, "1", "next;");
    }
    for q in &rows.qos {
        let ingress = &*q.direction == "from-lport";
        let Ok(prio) = u16::try_from(q.priority) else {
            continue;
        };
        if let Some(dscp) = q.action.get("dscp") {
            let st = if ingress {
                Stage::LsInQosMark
            } else {
                Stage::LsOutQosMark
            };
            lflow!(
                sink,
                st,
                prio,
                &*q.r#match,
                format!("ip.dscp = {dscp}; next;"),
                hint = q.uuid
            );
        }
        let rate = q.bandwidth.get("rate").copied().unwrap_or(0);
        let burst = q.bandwidth.get("burst").copied().unwrap_or(0);
        if rate != 0 {
            let st = if ingress {
                Stage::LsInQosMeter
            } else {
                Stage::LsOutQosMeter
            };
            let a = if burst != 0 {
                format!("set_meter({rate}, {burst}); next;")
            } else {
                format!("set_meter({rate}); next;")
            };
            lflow!(sink, st, prio, &*q.r#match, a, hint = q.uuid);
        }
    }
}

fn stateful(g: &Global, sink: &mut FlowSink) {
    let blocked = g.ct_blocked();
    lflow!(sink, Stage::LsInLb, 0, "1", "next;");
    lflow!(sink, Stage::LsInStateful, 0, "1", "next;");
    lflow!(sink, Stage::LsOutStateful, 0, "1", "next;");
    let (commit, label) = (reg::CONNTRACK_COMMIT, reg::ACL_LABEL);
    let a = format!("ct_commit {{ {blocked} = 0; ct_label.label = {}; }}; next;", reg::LABEL);
    let m = format!("{commit} == 1 && {label} == 1");
    lflow!(sink, Stage::LsInStateful, 100, m.as_str(), a.as_str());
    lflow!(sink, Stage::LsOutStateful, 100, m.as_str(), a.as_str());
    let a = format!("ct_commit {{ {blocked} = 0; }}; next;");
    let m = format!("{commit} == 1 && {label} == 0");
    lflow!(sink, Stage::LsInStateful, 100, m.as_str(), a.as_str());
    lflow!(sink, Stage::LsOutStateful, 100, m.as_str(), a.as_str());
}

fn lb_hairpin(info: &LsInfo, rows: &LsRows<'_>, sink: &mut FlowSink) {
    lflow!(sink, Stage::LsInPreHairpin, 0, "1", "next;");
    lflow!(sink, Stage::LsInNatHairpin, 0, "1", "next;");
    lflow!(sink, Stage::LsInHairpin, 0, "1", "next;");
    if !info.has_lb_vip {
        return;
    }
    let (hp, hpr) = (reg::HAIRPIN, reg::HAIRPIN_REPLY);
    let h = rows.uuid;
    lflow!(
        sink,
        Stage::LsInPreHairpin,
        100,
        "ip && ct.trk",
        format!("{hp} = chk_lb_hairpin(); {hpr} = chk_lb_hairpin_reply(); next;"),
        hint = h
    );
    lflow!(
        sink,
        Stage::LsInNatHairpin,
        100,
        format!("ip && ct.new && ct.trk && {hp} == 1"),
        "ct_snat_to_vip; next;",
        hint = h
    );
    lflow!(
        sink,
        Stage::LsInNatHairpin,
        100,
        format!("ip && ct.est && ct.trk && {hp} == 1"),
        "ct_snat;",
        hint = h
    );
    lflow!(
        sink,
        Stage::LsInNatHairpin,
        90,
        format!("ip && {hpr} == 1"),
        "ct_snat;",
        hint = h
    );
    lflow!(
        sink,
        Stage::LsInHairpin,
        1,
        format!("({hp} == 1 || {hpr} == 1)"),
        "eth.dst <-> eth.src; outport = inport; flags.loopback = 1; output;"
    );
}

fn vtep_hairpin(info: &LsInfo, sink: &mut FlowSink) {
    if !info.has_vtep_lports {
        return;
    }
    lflow!(
        sink,
        Stage::LsInHairpin,
        1000,
        format!("{} == 1", reg::FROM_RAMP),
        format!("next(pipeline=ingress, table={});", Stage::LsInL2Lkup.table())
    );
}

fn forwarding_groups(rows: &LsRows<'_>, sink: &mut FlowSink) {
    for fg in &rows.forwarding_groups {
        if fg.child_port.is_empty() {
            continue;
        }
        lflow!(
            sink,
            Stage::LsInArpRsp,
            50,
            format!("arp.tpa == {} && arp.op == 1", fg.vip),
            format!(
                "eth.dst = eth.src; eth.src = {m}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = {m}; arp.tpa = arp.spa; arp.spa = {ip}; outport = inport; flags.loopback = 1; output;",
                m = fg.vmac,
                ip = fg.vip
            ),
            hint = fg.uuid
        );
        let mut ports = String::new();
        if fg.liveness {
            ports.push_str("liveness=\"true\",");
        }
        ports.push_str("childports=");
        let quoted: Vec<String> = fg.child_port.iter().map(|p| format!("\"{p}\"")).collect();
        ports.push_str(&quoted.join(","));
        lflow!(
            sink,
            Stage::LsInL2Lkup,
            50,
            format!("eth.dst == {}", fg.vmac),
            format!("fwd_group({ports});"),
            hint = fg.uuid
        );
    }
}

fn admission_control(g: &Global, info: &LsInfo, sink: &mut FlowSink) {
    if !info.vlan_passthru {
        lflow!(
            sink,
            Stage::LsInCheckPortSec,
            100,
            "vlan.present",
            g.drop_action.as_str()
        );
    }
    lflow!(
        sink,
        Stage::LsInCheckPortSec,
        100,
        "eth.src[40]",
        g.drop_action.as_str()
    );
    lflow!(
        sink,
        Stage::LsInCheckPortSec,
        50,
        "1",
        format!("{} = check_in_port_sec(); next;", reg::PORT_SEC_DROP)
    );
    lflow!(
        sink,
        Stage::LsInApplyPortSec,
        50,
        format!("{} == 1", reg::PORT_SEC_DROP),
        g.drop_action.as_str()
    );
    lflow!(sink, Stage::LsInApplyPortSec, 0, "1", "next;");
}

fn dns(info: &LsInfo, sink: &mut FlowSink) {
    if !info.has_dns_records {
        return;
    }
    let r = reg::DNS_LOOKUP_RESULT;
    lflow!(
        sink,
        Stage::LsInDnsLookup,
        100,
        "udp.dst == 53",
        format!("{r} = dns_lookup(); next;"),
        meter = info.copp.get("dns")
    );
    let m = format!("udp.dst == 53 && {r}");
    lflow!(
        sink,
        Stage::LsInDnsResponse,
        100,
        m.as_str(),
        "eth.dst <-> eth.src; ip4.src <-> ip4.dst; udp.dst = udp.src; udp.src = 53; outport = inport; flags.loopback = 1; output;"
    );
    lflow!(
        sink,
        Stage::LsInDnsResponse,
        100,
        m.as_str(),
        "eth.dst <-> eth.src; ip6.src <-> ip6.dst; udp.dst = udp.src; udp.src = 53; outport = inport; flags.loopback = 1; output;"
    );
}

fn destination_lookup(g: &Global, info: &LsInfo, sink: &mut FlowSink) {
    lflow!(
        sink,
        Stage::LsInL2Lkup,
        110,
        "eth.dst == $svc_monitor_mac && (tcp || icmp || icmp6)",
        "handle_svc_check(inport);",
        meter = info.copp.get("svc-monitor")
    );
    let m = &info.mcast;
    if m.enabled {
        let igmp_meter: Option<String> = info.copp.get("igmp");
        lflow!(
            sink,
            Stage::LsInL2Lkup,
            100,
            "igmp",
            "igmp;",
            meter = igmp_meter.clone()
        );
        lflow!(
            sink,
            Stage::LsInL2Lkup,
            100,
            "mldv1 || mldv2",
            "igmp;",
            meter = igmp_meter
        );
        lflow!(
            sink,
            Stage::LsInL2Lkup,
            85,
            "ip4.mcast && ip4.dst == 224.0.0.0/24",
            format!("outport = \"{}\"; output;", mcast::FLOOD_L2)
        );
        lflow!(
            sink,
            Stage::LsInL2Lkup,
            85,
            "ip6.mcast_flood",
            format!("outport = \"{}\"; output;", mcast::FLOOD)
        );
        if !m.flood_unregistered {
            let mut a = String::new();
            if m.flood_relay {
                a.push_str(&format!(
                    "clone {{ outport = \"{}\"; output; }}; ",
                    mcast::MROUTER_FLOOD
                ));
            }
            if m.flood_static {
                a.push_str(&format!("outport =\"{}\"; output;", mcast::STATIC));
            }
            if !m.flood_relay && !m.flood_static {
                a.push_str(&g.drop_action);
            }
            lflow!(sink, Stage::LsInL2Lkup, 80, "ip4.mcast || ip6.mcast", a);
        }
    }
    lflow!(
        sink,
        Stage::LsInL2Lkup,
        70,
        "eth.mcast",
        format!("outport = \"{}\"; output;", mcast::FLOOD)
    );
}
