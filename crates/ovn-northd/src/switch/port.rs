//! Flows of one logical switch port: disabled-port drops and queues,
//! MAC learning for ports with unknown addresses, ARP/ND responders for its
//! addresses (and virtual-IP binding for `virtual` ports), DHCPv4/DHCPv6
//! responders, external-port guards, its unicast L2 lookup entries, and
//! for router ports the ARP/ND steering to the router that owns an
//! address. Also the conntrack bypass of router and localnet ports, and
//! the egress ACL exception for its DHCP replies.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use crate::addr::{LportAddresses, Mac, parse_ipv4, solicited_node};
use crate::flow::FlowSink;
use crate::lflow;
use crate::nb::{DHCPOptions, LogicalSwitchPort, LspExt, smap_bool};
use crate::stage::{Stage, mcast, reg};

use super::dhcp::{dhcpv4_actions, dhcpv6_actions};
use super::{Global, PortCtx, json_key};

/// A NAT rule of a peer router that northd answers ARP/ND for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatEntry {
    pub kind: String,
    pub external_ip: String,
    pub external_mac: Option<String>,
    pub logical_port: Option<String>,
    pub v6: bool,
    /// The external IP parsed to exactly one address.
    pub valid: bool,
}

/// The router port a `router`-type switch port is patched to, with what
/// switch-side flows need of its router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRouter {
    pub lrp_name: String,
    pub lrp_enabled: bool,
    pub mac_raw: String,
    /// The router port's networks (plus its link-local address).
    pub networks: LportAddresses,
    pub nat: Vec<NatEntry>,
    pub lb_ips_v4: BTreeSet<String>,
    pub lb_ips_v6: BTreeSet<String>,
    /// This router port is a distributed gateway port: its
    /// chassis-redirect port's name.
    pub cr_port: Option<String>,
    /// The chassis-redirect ports of the router's distributed gateway
    /// ports, in the router's port order.
    pub router_cr_ports: Vec<String>,
    pub reside_on_redirect_chassis: bool,
    /// `options:chassis` of a gateway router.
    pub router_chassis: Option<String>,
    pub mcast_relay: bool,
}

/// One port and everything about it its flows read.
pub struct PortInput<'a> {
    pub port: &'a LogicalSwitchPort,
    /// Parsed addresses: static ones, the peer's networks for "router",
    /// then the dynamic ones.
    pub lsp_addrs: Vec<LportAddresses>,
    pub has_unknown: bool,
    pub n_ps_addrs: usize,
    pub peer: Option<&'a PeerRouter>,
    pub dhcpv4: Option<&'a DHCPOptions>,
    pub dhcpv6: Option<&'a DHCPOptions>,
    pub qdisc_queue_id: Option<String>,
    /// `virtual-parents` that are ports of the same switch.
    pub virtual_parents: Vec<(String, ovsdb::Uuid)>,
    pub has_ha_chassis_group: bool,
    pub dynamic_addresses: Option<String>,
}

/// Every flow of one port.
pub fn build(g: &Global, ctx: &PortCtx, p: &PortInput<'_>, sink: &mut FlowSink) {
    let port = p.port;
    let name = &port.name;
    let key = json_key(name);
    if !port.is_external() {
        port_security(g, p, &key, sink);
    }
    learn_fdb(p, &key, sink);
    if port.is_localnet() {
        lflow!(
            sink,
            Stage::LsInArpRsp,
            100,
            format!("inport == {key}"),
            "next;",
            io = name,
            hint = port.uuid
        );
    }
    arp_nd_responder(g, ctx, p, &key, sink);
    dhcp(ctx, p, sink);
    if port.is_external() {
        external_port(g, ctx, p, sink);
    } else {
        unicast_lookup(g, ctx, p, &key, sink);
    }
    dhcp_acl_exceptions(ctx, p, sink);
    conntrack_bypass(ctx, p, &key, sink);
}

fn port_security(g: &Global, p: &PortInput<'_>, key: &str, sink: &mut FlowSink) {
    let port = p.port;
    let name = &port.name;
    if !port.is_enabled() {
        lflow!(
            sink,
            Stage::LsInCheckPortSec,
            100,
            format!("inport == {key}"),
            format!("{} = 1; next;", reg::PORT_SEC_DROP),
            io = name,
            hint = port.uuid
        );
        lflow!(
            sink,
            Stage::LsInL2Unknown,
            50,
            format!("outport == {key}"),
            g.drop_action.as_str(),
            io = name,
            hint = port.uuid
        );
        return;
    }
    let queue = p.qdisc_queue_id.as_deref();
    let mut a = queue.map(|q| format!("set_queue({q}); ")).unwrap_or_default();
    if port.is_type("vtep") {
        a.push_str(&format!(
            "{} = 1; next(pipeline=ingress, table={});",
            reg::FROM_RAMP,
            Stage::LsInHairpin.table()
        ));
        lflow!(
            sink,
            Stage::LsInCheckPortSec,
            70,
            format!("inport == {key}"),
            a,
            io = name,
            hint = port.uuid
        );
    } else if let Some(q) = queue {
        a.push_str(&format!("{} = check_in_port_sec(); next;", reg::PORT_SEC_DROP));
        lflow!(
            sink,
            Stage::LsInCheckPortSec,
            70,
            format!("inport == {key}"),
            a,
            io = name,
            hint = port.uuid
        );
        if port.is_localnet() {
            lflow!(
                sink,
                Stage::LsOutApplyPortSec,
                100,
                format!("outport == {key}"),
                format!("set_queue({q}); output;"),
                io = name,
                hint = port.uuid
            );
        }
    }
}

fn learn_fdb(p: &PortInput<'_>, key: &str, sink: &mut FlowSink) {
    let port = p.port;
    let eligible =
        port.r#type.is_empty() || (port.is_localnet() && smap_bool(&port.options, "localnet_learn_fdb", false));
    if p.n_ps_addrs != 0 || !p.has_unknown || !eligible {
        return;
    }
    let m = format!("inport == {key}");
    lflow!(
        sink,
        Stage::LsInLookupFdb,
        100,
        m.as_str(),
        format!("{} = lookup_fdb(inport, eth.src); next;", reg::LKUP_FDB),
        io = &port.name,
        hint = port.uuid
    );
    lflow!(
        sink,
        Stage::LsInPutFdb,
        100,
        format!("{m} && {} == 0", reg::LKUP_FDB),
        "put_fdb(inport, eth.src); next;",
        io = &port.name,
        hint = port.uuid
    );
}

fn arp_reply(mac: &str, ip: &str) -> String {
    format!(
        "eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = {mac}; arp.tpa = arp.spa; arp.spa = {ip}; outport = inport; flags.loopback = 1; output;"
    )
}

fn arp_nd_responder(g: &Global, ctx: &PortCtx, p: &PortInput<'_>, key: &str, sink: &mut FlowSink) {
    let port = p.port;
    if port.is_type("virtual") {
        virtual_port(p, key, sink);
        return;
    }
    let up = port.up == Some(true);
    let skip_down = g.check_lsp_is_up && !up && !port.is_router() && !port.is_type("localport");
    if !skip_down && !port.is_external() && !p.has_unknown && !ctx.vlan_passthru {
        for a in &p.lsp_addrs {
            let mac = a.ea_s();
            for ip in &a.ipv4 {
                let ip_s = ip.addr.to_string();
                let m = format!("arp.tpa == {ip_s} && arp.op == 1");
                lflow!(
                    sink,
                    Stage::LsInArpRsp,
                    50,
                    m.as_str(),
                    arp_reply(&mac, &ip_s),
                    hint = port.uuid
                );
                lflow!(
                    sink,
                    Stage::LsInArpRsp,
                    100,
                    format!("{m} && inport == {key}"),
                    "next;",
                    io = &port.name,
                    hint = port.uuid
                );
            }
            for ip in &a.ipv6 {
                let ip_s = ip.addr.to_string();
                let m = format!(
                    "nd_ns && ip6.dst == {{{ip_s}, {}}} && nd.target == {ip_s}",
                    ip.sn_addr()
                );
                let na = if port.is_router() { "nd_na_router" } else { "nd_na" };
                lflow!(
                    sink,
                    Stage::LsInArpRsp,
                    50,
                    m.as_str(),
                    format!(
                        "{na} {{ eth.src = {mac}; ip6.src = {ip_s}; nd.target = {ip_s}; nd.tll = {mac}; outport = inport; flags.loopback = 1; output; }};"
                    ),
                    hint = port.uuid,
                    meter = ctx.copp.get("nd-na")
                );
                lflow!(
                    sink,
                    Stage::LsInArpRsp,
                    100,
                    format!("{m} && inport == {key}"),
                    "next;",
                    io = &port.name,
                    hint = port.uuid
                );
            }
        }
    }
    if let Some(peer) = p.peer {
        let proxies = port
            .options
            .get("arp_proxy")
            .and_then(|s| crate::addr::extract_ip_addresses(s));
        if let Some(proxies) = proxies.filter(|a| !a.ipv4.is_empty()) {
            let ips: Vec<String> = proxies.ipv4.iter().map(|n| n.addr.to_string()).collect();
            let mac = peer.networks.ea_s();
            lflow!(
                sink,
                Stage::LsInArpRsp,
                50,
                format!("arp.op == 1 && arp.tpa == {{{}}}", ips.join(",")),
                format!(
                    "eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = {mac}; arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;"
                ),
                hint = port.uuid
            );
        }
    }
}

fn virtual_port(p: &PortInput<'_>, key: &str, sink: &mut FlowSink) {
    let port = p.port;
    let (Some(vip), Some(_)) = (port.options.get("virtual-ip"), port.options.get("virtual-parents")) else {
        return;
    };
    let is_v4 = vip.contains('.');
    let v6: Option<Ipv6Addr> = if is_v4 {
        if parse_ipv4(vip).is_none() {
            return;
        }
        None
    } else {
        let Ok(ip) = vip.parse() else { return };
        Some(ip)
    };
    for (parent, parent_uuid) in &p.virtual_parents {
        let m = match v6 {
            None => format!(
                "inport == \"{parent}\" && ((arp.op == 1 && arp.spa == {vip} && arp.tpa == {vip}) || (arp.op == 2 && arp.spa == {vip}))"
            ),
            Some(ip) => format!(
                "inport == \"{parent}\" && ((nd_ns && ip6.dst == {{{vip}, {}}} && nd.target == {vip}) ||(nd_na && nd.target == {vip}))",
                solicited_node(ip)
            ),
        };
        lflow!(
            sink,
            Stage::LsInArpRsp,
            100,
            m,
            format!("bind_vport({key}, inport); next;"),
            io = parent,
            hint = *parent_uuid
        );
    }
}

fn dhcp(ctx: &PortCtx, p: &PortInput<'_>, sink: &mut FlowSink) {
    let port = p.port;
    if !port.is_enabled() || port.is_router() {
        return;
    }
    if p.dhcpv4.is_none() && p.dhcpv6.is_none() {
        return;
    }
    let external = port.is_external();
    if external && (ctx.localnet_ports.is_empty() || !p.has_ha_chassis_group) {
        return;
    }
    for a in &p.lsp_addrs {
        if external {
            for ln in &ctx.localnet_ports {
                dhcpv4_flows(ctx, p, a, ln, true, sink);
                dhcpv6_flows(ctx, p, a, ln, true, sink);
            }
        } else {
            dhcpv4_flows(ctx, p, a, &port.name, false, sink);
            dhcpv6_flows(ctx, p, a, &port.name, false, sink);
        }
    }
}

/// What DHCP flows match on: the port they come in by (the localnet port
/// for an external port), the client's MAC, and for an external port the
/// chassis it must be resident on.
fn dhcp_match_parts(p: &PortInput<'_>, a: &LportAddresses, inport: &str, external: bool) -> (String, String, String) {
    let resident = if external {
        format!(" && is_chassis_resident({})", json_key(&p.port.name))
    } else {
        String::new()
    };
    (json_key(inport), a.ea_s(), resident)
}

fn dhcpv4_flows(
    ctx: &PortCtx,
    p: &PortInput<'_>,
    a: &LportAddresses,
    inport: &String,
    external: bool,
    sink: &mut FlowSink,
) {
    let Some(opts) = p.dhcpv4 else { return };
    let (ik, mac, resident) = dhcp_match_parts(p, a, inport, external);
    let meter = ctx.copp.get("dhcpv4-opts");
    for ip in &a.ipv4 {
        let Ok(acts) = dhcpv4_actions(p.port, opts, ip.addr) else {
            continue;
        };
        lflow!(
            sink,
            Stage::LsInDhcpOptions,
            100,
            format!(
                "inport == {ik} && eth.src == {mac} && ip4.src == 0.0.0.0 && ip4.dst == 255.255.255.255 && udp.src == 68 && udp.dst == 67{resident}"
            ),
            acts.options.as_str(),
            io = inport,
            hint = opts.uuid,
            meter = meter.clone()
        );
        lflow!(
            sink,
            Stage::LsInDhcpOptions,
            100,
            format!(
                "inport == {ik} && eth.src == {mac} && {} && udp.src == 68 && udp.dst == 67{resident}",
                acts.ipv4_addr_match
            ),
            acts.options.as_str(),
            io = inport,
            hint = opts.uuid,
            meter = meter.clone()
        );
        lflow!(
            sink,
            Stage::LsInDhcpResponse,
            100,
            format!(
                "inport == {ik} && eth.src == {mac} && ip4 && udp.src == 68 && udp.dst == 67 && {}{resident}",
                reg::DHCP_OPTS_RESULT
            ),
            acts.response,
            io = inport,
            hint = opts.uuid
        );
        break;
    }
}

fn dhcpv6_flows(
    ctx: &PortCtx,
    p: &PortInput<'_>,
    a: &LportAddresses,
    inport: &String,
    external: bool,
    sink: &mut FlowSink,
) {
    let Some(opts) = p.dhcpv6 else { return };
    let (ik, mac, resident) = dhcp_match_parts(p, a, inport, external);
    for ip in &a.ipv6 {
        let Some(acts) = dhcpv6_actions(opts, ip.addr) else {
            continue;
        };
        let m = format!(
            "inport == {ik} && eth.src == {mac} && ip6.dst == ff02::1:2 && udp.src == 546 && udp.dst == 547{resident}"
        );
        lflow!(
            sink,
            Stage::LsInDhcpOptions,
            100,
            m.as_str(),
            acts.options,
            io = inport,
            hint = opts.uuid,
            meter = ctx.copp.get("dhcpv6-opts")
        );
        lflow!(
            sink,
            Stage::LsInDhcpResponse,
            100,
            format!("{m} && {}", reg::DHCP_OPTS_RESULT),
            acts.response,
            io = inport,
            hint = opts.uuid
        );
        break;
    }
}

/// External ports' ARP/ND for router addresses is answered only on the
/// chassis that binds the port.
fn external_port(g: &Global, ctx: &PortCtx, p: &PortInput<'_>, sink: &mut FlowSink) {
    let port = p.port;
    let pk = json_key(&port.name);
    for ln in &ctx.localnet_ports {
        let lk = json_key(ln);
        for a in &p.lsp_addrs {
            let mac = a.ea_s();
            for rp in &ctx.router_ports {
                let ra = &rp.addrs;
                for ip in &ra.ipv4 {
                    lflow!(
                        sink,
                        Stage::LsInExternalPort,
                        100,
                        format!(
                            "inport == {lk} && eth.src == {mac} && !is_chassis_resident({pk}) && arp.tpa == {} && arp.op == 1",
                            ip.addr
                        ),
                        g.drop_action.as_str(),
                        io = ln,
                        hint = port.uuid
                    );
                }
                for ip in &ra.ipv6 {
                    lflow!(
                        sink,
                        Stage::LsInExternalPort,
                        100,
                        format!(
                            "inport == {lk} && eth.src == {mac} && !is_chassis_resident({pk}) && nd_ns && ip6.dst == {{{}, {}}} && nd.target == {}",
                            ip.addr,
                            ip.sn_addr(),
                            ip.addr
                        ),
                        g.drop_action.as_str(),
                        io = ln,
                        hint = port.uuid
                    );
                }
                lflow!(
                    sink,
                    Stage::LsInExternalPort,
                    100,
                    format!(
                        "inport == {lk} && eth.src == {mac} && eth.dst == {} && !is_chassis_resident({pk})",
                        ra.ea_s()
                    ),
                    g.drop_action.as_str(),
                    io = ln,
                    hint = port.uuid
                );
            }
        }
    }
}

fn unicast_lookup(g: &Global, ctx: &PortCtx, p: &PortInput<'_>, key: &str, sink: &mut FlowSink) {
    let port = p.port;
    if port.is_router()
        && let Some(peer) = p.peer
    {
        router_arp_steering(ctx, peer, key, port, sink);
    }
    let action = if port.is_enabled() {
        format!("outport = {key}; output;")
    } else {
        g.drop_action.clone()
    };
    for addr in &port.addresses {
        if let Some((mac, _)) = Mac::scan(addr) {
            lflow!(
                sink,
                Stage::LsInL2Lkup,
                50,
                format!("eth.dst == {mac}"),
                action.as_str(),
                hint = port.uuid
            );
        } else if &**addr == "unknown" {
            // Handled by the switch's _MC_unknown group.
        } else if crate::addr::is_dynamic_lsp_address(addr) {
            let Some(mac) = p.dynamic_addresses.as_deref().and_then(Mac::scan).map(|(m, _)| m) else {
                continue;
            };
            lflow!(
                sink,
                Stage::LsInL2Lkup,
                50,
                format!("eth.dst == {mac}"),
                action.as_str(),
                hint = port.uuid
            );
        } else if &**addr == "router" {
            let Some(peer) = p.peer else { continue };
            let Some((mac, _)) = Mac::scan(&peer.mac_raw) else {
                continue;
            };
            let mut m = format!("eth.dst == {mac}");
            if !peer.router_cr_ports.is_empty() && !ctx.localnet_ports.is_empty() {
                let resident = match &peer.cr_port {
                    Some(cr) => Some(cr.clone()),
                    None if peer.reside_on_redirect_chassis && peer.router_cr_ports.len() == 1 => {
                        Some(peer.router_cr_ports[0].clone())
                    }
                    None => None,
                };
                if let Some(cr) = resident {
                    m.push_str(&format!(" && is_chassis_resident({})", json_key(&cr)));
                }
            }
            lflow!(sink, Stage::LsInL2Lkup, 50, m, action.as_str(), hint = port.uuid);
            if peer.cr_port.is_some() {
                for nat in &peer.nat {
                    let (Some(lp), Some(em)) = (&nat.logical_port, &nat.external_mac) else {
                        continue;
                    };
                    if &*nat.kind != "dnat_and_snat" {
                        continue;
                    }
                    let Some(mac) = Mac::parse(em) else { continue };
                    lflow!(
                        sink,
                        Stage::LsInL2Lkup,
                        50,
                        format!("eth.dst == {mac} && is_chassis_resident(\"{lp}\")"),
                        action.as_str(),
                        hint = port.uuid
                    );
                }
            }
        }
    }
}

fn arp_nd_ns_match(ip: &str, v6: bool) -> String {
    if v6 {
        format!("flags[1] == 0 && nd_ns && nd.target == {ip}")
    } else {
        format!("flags[1] == 0 && arp.op == 1 && arp.tpa == {ip}")
    }
}

/// ARP requests and neighbor solicitations for addresses a router owns
/// go only to that router (and are flooded to the non-router ports).
fn router_arp_steering(ctx: &PortCtx, peer: &PeerRouter, key: &str, port: &LogicalSwitchPort, sink: &mut FlowSink) {
    if !peer.lrp_enabled {
        return;
    }
    let action = if ctx.all_router_ports {
        format!("outport = {key}; output;")
    } else {
        format!(
            "clone {{outport = {key}; output; }}; outport = \"{}\"; output;",
            mcast::FLOOD_L2
        )
    };
    let mut add = |ip: &str, v6: bool| {
        lflow!(
            sink,
            Stage::LsInL2Lkup,
            80,
            arp_nd_ns_match(ip, v6),
            action.as_str(),
            hint = port.uuid
        );
    };
    for ip in &peer.lb_ips_v4 {
        if let Some(a) = parse_ipv4(ip)
            && peer
                .networks
                .ipv4
                .iter()
                .any(|n| u32::from(a) & n.mask() == u32::from(n.network()))
        {
            add(ip, false);
        }
    }
    for ip in &peer.lb_ips_v6 {
        if let Ok(a) = ip.parse::<Ipv6Addr>()
            && peer
                .networks
                .ipv6
                .iter()
                .any(|n| u128::from(a) & n.mask() == u128::from(n.network()))
        {
            add(ip, true);
        }
    }
    for nat in peer.nat.iter().filter(|n| n.valid && &*n.kind != "snat") {
        let lbs = if nat.v6 { &peer.lb_ips_v6 } else { &peer.lb_ips_v4 };
        if !lbs.contains(&*nat.external_ip) {
            add(&nat.external_ip, nat.v6);
        }
    }
    for n in &peer.networks.ipv4 {
        add(&n.addr.to_string(), false);
    }
    for n in &peer.networks.ipv6 {
        add(&n.addr.to_string(), true);
    }
    if !ctx.all_router_ports {
        let mut macs: BTreeSet<String> = BTreeSet::new();
        macs.insert(peer.networks.ea_s());
        for nat in peer.nat.iter().filter(|n| n.valid && &*n.kind != "snat") {
            if let Some(m) = &nat.external_mac {
                macs.insert(m.to_string());
            }
        }
        let list: Vec<String> = macs.into_iter().collect();
        lflow!(
            sink,
            Stage::LsInL2Lkup,
            75,
            format!(
                "eth.src == {{{}}} && (arp.op == 1 || rarp.op == 3 || nd_ns)",
                list.join(", ")
            ),
            format!("outport = \"{}\"; output;", mcast::FLOOD_L2)
        );
    }
}

/// Egress ACLs always let the port's DHCP replies from ovn-controller
/// through.
fn dhcp_acl_exceptions(ctx: &PortCtx, p: &PortInput<'_>, sink: &mut FlowSink) {
    let port = p.port;
    if port.is_external() {
        return;
    }
    let has_stateful = ctx.has_stateful_acl || ctx.has_lb_vip;
    let a = if has_stateful { "ct_commit; next;" } else { "next;" };
    if let Some(o) = p.dhcpv4
        && let (Some(id), Some(mac), Some(_)) = (
            o.options.get("server_id"),
            o.options.get("server_mac"),
            o.options.get("lease_time"),
        )
    {
        lflow!(
            sink,
            Stage::LsOutAcl,
            34000,
            format!(
                "outport == \"{}\" && eth.src == {mac} && ip4.src == {id} && udp && udp.src == 67 && udp.dst == 68",
                port.name
            ),
            a,
            io = &port.name,
            hint = o.uuid
        );
    }
    if let Some(o) = p.dhcpv6
        && let Some(mac) = o.options.get("server_id").filter(|m| Mac::parse(m).is_some())
    {
        let lla = crate::addr::ipv6_string_mapped(crate::addr::link_local(Mac::parse(mac).unwrap_or_default()));
        lflow!(
            sink,
            Stage::LsOutAcl,
            34000,
            format!(
                "outport == \"{}\" && eth.src == {mac} && ip6.src == {lla} && udp && udp.src == 547 && udp.dst == 546",
                port.name
            ),
            a,
            io = &port.name,
            hint = o.uuid
        );
    }
}

/// Router and localnet ports skip conntrack: the other end of their
/// connections is tracked on another chassis or not at all.
fn conntrack_bypass(ctx: &PortCtx, p: &PortInput<'_>, key: &str, sink: &mut FlowSink) {
    let port = p.port;
    let is_router_port = port.is_router() && p.peer.is_some();
    let is_localnet = port.is_localnet();
    if !is_router_port && !is_localnet {
        return;
    }
    let egress = if ctx.has_stateful_acl {
        "next;"
    } else {
        "ct_clear; next;"
    };
    let mut skip = |in_st: Stage, out_st: Stage| {
        lflow!(
            sink,
            in_st,
            110,
            format!("ip && inport == {key}"),
            "next;",
            io = &port.name,
            hint = port.uuid
        );
        lflow!(
            sink,
            out_st,
            110,
            format!("ip && outport == {key}"),
            egress,
            io = &port.name,
            hint = port.uuid
        );
    };
    if ctx.has_stateful_acl {
        skip(Stage::LsInPreAcl, Stage::LsOutPreAcl);
    }
    if is_router_port || !ctx.has_lb_vip {
        skip(Stage::LsInPreLb, Stage::LsOutPreLb);
    }
}
