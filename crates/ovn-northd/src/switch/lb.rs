//! Load balancers applied to logical switches: VIPs parsed as OVN parses
//! them, and their flows: the original destination saved before conntrack
//! (pre-stateful), new connections sent to `ct_lb_mark` with the backends
//! (or rejected or dropped when there are none), session affinity, and the
//! controller event for VIPs without backends.
//!
//! A load balancer's flows are the same on every switch it applies to, so
//! they are built once and shared (a datapath group), except where a
//! switch's control-plane meters make them differ.

use std::net::IpAddr;

use ovsdb::Uuid;

use crate::flow::FlowSink;
use crate::lflow;
use crate::nb::{LoadBalancer, smap_bool};
use crate::stage::{Stage, reg};

use super::Global;

/// `reg9[6]`: the packet belongs to a session affinity already chose a
/// backend for.
const KNOWN_LB_SESSION: &str = "reg9[6]";

/// One backend of a VIP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    /// The address as OVN prints it (no brackets), or a template's text.
    pub ip: String,
    /// The port (`None`: none; always none in a template).
    pub port: Option<u16>,
}

/// One VIP: address, port, backends. In a template load balancer the
/// address and ports are the Northbound's text (`^var`), which
/// ovn-controller expands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vip {
    /// The address as OVN prints it (no brackets), or the template text.
    pub ip: String,
    /// The address family is IPv6 (a template's `address-family` option).
    pub v6: bool,
    /// The flows of session affinity test the address itself, which a
    /// template leaves unset (all zeros, so not IPv4-mapped: IPv6).
    pub affinity_v6: bool,
    pub port: Option<String>,
    pub backends: Vec<Backend>,
    /// The backends as written in the Northbound (`ct_lb_mark` gets them
    /// verbatim).
    pub backend_text: String,
}

/// A load balancer as its flows need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lb {
    pub uuid: Uuid,
    pub proto: &'static str,
    pub vips: Vec<Vip>,
    pub reject_empty: bool,
    pub controller_event: bool,
    pub affinity_timeout: u32,
    pub selection_fields: Option<String>,
}

/// "IP", "IP:PORT" or "`[IPv6]:PORT`", as `inet_parse_active` (default
/// port 0, no name resolution) reads them: a host with two colons or more
/// outside brackets is all host; the port is a whole decimal in
/// 0..=65535; IPv4 is strict dotted decimal. Returns the address and the
/// port (0: none).
pub fn parse_ip_port(s: &str) -> Option<(IpAddr, u16)> {
    fn unbracket(s: &str) -> &str {
        match s.strip_prefix('[') {
            Some(r) => r.strip_suffix(']').unwrap_or(r),
            None => s,
        }
    }
    let (mut n_colons, mut colon, mut in_brackets) = (0, None, false);
    for (i, c) in s.char_indices() {
        match c {
            '[' => in_brackets = true,
            ']' => in_brackets = false,
            ':' if !in_brackets => {
                n_colons += 1;
                colon = Some(i);
            }
            _ => {}
        }
    }
    let (host, port) = match colon {
        _ if n_colons > 1 => (s, None),
        Some(c) => (unbracket(&s[..c]), Some(unbracket(&s[c + 1..]))),
        None => (unbracket(s), None),
    };
    let port = match port.filter(|p| !p.is_empty()) {
        Some(p) => u16::try_from(crate::nb::str_to_llong(p)?).ok()?,
        None => 0,
    };
    if host.contains(':') {
        let (addr, scope) = host.split_once('%').unwrap_or((host, ""));
        if !scope.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some((IpAddr::V6(addr.parse().ok()?), port));
    }
    Some((IpAddr::V4(host.parse().ok()?), port))
}

fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => a.to_string(),
    }
}

impl Lb {
    /// Parses a Northbound load balancer. VIPs or backends that do not
    /// parse are left out and reported. Template load balancers are not
    /// supported (reported, no VIPs).
    pub fn from_nb(nb: &LoadBalancer, controller_event_default: bool) -> (Lb, Vec<String>) {
        let mut errors = Vec::new();
        let proto = match nb.protocol.as_deref() {
            Some("udp") => "udp",
            Some("sctp") => "sctp",
            _ => "tcp",
        };
        let template = smap_bool(&nb.options, "template", false);
        if !nb.health_check.is_empty() {
            errors.push("health checks are not supported: every backend is used as if healthy".to_string());
        }
        let mut vips = Vec::new();
        for (key, value) in &nb.vips {
            if template {
                let v6 = nb.options.get("address-family").is_some_and(|f| f != "ipv4");
                match template_vip(key, value, v6) {
                    Ok(v) => vips.push(v),
                    Err(e) => errors.push(e),
                }
                continue;
            }
            let Some((ip, port)) = parse_ip_port(key) else {
                errors.push(format!(
                    "{key}: should be an IP address (or an IP address and a port number with : as a separator)."
                ));
                continue;
            };
            let v6 = ip.is_ipv6();
            let mut backends = Vec::new();
            let mut bad = Vec::new();
            for tok in value.split(',').filter(|t| !t.is_empty()) {
                match parse_ip_port(tok) {
                    Some((b, bp)) if b.is_ipv6() == v6 && (port == 0) == (bp == 0) => backends.push(Backend {
                        ip: ip_text(b),
                        port: (bp != 0).then_some(bp),
                    }),
                    _ => bad.push(tok),
                }
            }
            // One bad backend and the whole VIP is left out, as OVN does.
            if !bad.is_empty() {
                errors.push(format!("VIP {key} left out: bad backends {}", bad.join(", ")));
                continue;
            }
            vips.push(Vip {
                ip: ip_text(ip),
                v6,
                affinity_v6: v6,
                port: (port != 0).then(|| port.to_string()),
                backends,
                backend_text: value.clone(),
            });
        }
        let selection_fields = if nb.selection_fields.is_empty() {
            None
        } else {
            let proto = nb.protocol.as_deref().filter(|p| !p.is_empty());
            let fields: Vec<String> = nb
                .selection_fields
                .iter()
                .map(|f| match (f.as_str(), proto) {
                    ("tp_src", Some(p)) => format!("{p}_src"),
                    ("tp_dst", Some(p)) => format!("{p}_dst"),
                    (f, _) => f.to_string(),
                })
                .collect();
            Some(fields.join(","))
        };
        let affinity = crate::nb::smap_uint(&nb.options, "affinity_timeout", 0).min(u32::from(u16::MAX));
        let lb = Lb {
            uuid: nb.uuid,
            proto,
            vips,
            reject_empty: smap_bool(&nb.options, "reject", false),
            controller_event: smap_bool(&nb.options, "event", false) || controller_event_default,
            affinity_timeout: affinity,
            selection_fields,
        };
        (lb, errors)
    }
}

/// `strtok` on `sep`: the non-empty pieces.
fn pieces(s: &str, sep: char) -> Vec<&str> {
    s.split(sep).filter(|p| !p.is_empty()).collect()
}

/// A template VIP "^vip[:^port|:port]" with backends "^ip[:^port|:port],…"
/// (any text without `:`, as OVN accepts it).
fn template_vip(key: &str, value: &str, v6: bool) -> Result<Vip, String> {
    let (ip, port) = match pieces(key, ':').as_slice() {
        [ip] => (ip.to_string(), None),
        [ip, port] => (ip.to_string(), Some(port.to_string())),
        _ => {
            return Err(format!(
                "{key}: should be a template of the form: '^vip_variable[:^port_variable|:port]'."
            ));
        }
    };
    let mut backends = Vec::new();
    for b in pieces(value, ',') {
        match pieces(b, ':').as_slice() {
            [ip] | [ip, _] => backends.push(Backend {
                ip: ip.to_string(),
                port: None,
            }),
            _ => {
                return Err(format!(
                    "{b}: should be a template of the form: '^backendip_variable1[:^port_variable1|:port]'."
                ));
            }
        }
    }
    Ok(Vip {
        ip,
        v6,
        affinity_v6: true,
        port,
        backends,
        backend_text: value.to_string(),
    })
}

/// The flows of `lb` common to every switch, and those that depend on a
/// switch's meters (reject and event), given the meters.
pub struct LbMeters {
    pub reject: Option<std::sync::Arc<str>>,
    pub event: Option<std::sync::Arc<str>>,
}

/// Flows that do not depend on the switch.
pub fn shared_flows(g: &Global, lb: &Lb, sink: &mut FlowSink) {
    for vip in &lb.vips {
        pre_stateful(g, lb, vip, sink);
        affinity(lb, vip, sink);
        if !rejects(vip, lb) {
            lb_rule(g, lb, vip, None, sink);
        }
    }
}

/// Flows that carry a switch's meters.
pub fn metered_flows(g: &Global, lb: &Lb, meters: &LbMeters, sink: &mut FlowSink) {
    for vip in &lb.vips {
        if rejects(vip, lb) {
            lb_rule(g, lb, vip, meters.reject.clone(), sink);
        }
        empty_event(lb, vip, meters.event.clone(), sink);
    }
}

fn rejects(vip: &Vip, lb: &Lb) -> bool {
    vip.backends.is_empty() && lb.reject_empty
}

fn ip_match(vip: &Vip) -> &'static str {
    if vip.v6 { "ip6" } else { "ip4" }
}

fn pre_stateful(g: &Global, lb: &Lb, vip: &Vip, sink: &mut FlowSink) {
    let mut a = if vip.v6 {
        format!("{} = {}; ", reg::ORIG_DIP_IPV6, vip.ip)
    } else {
        format!("{} = {}; ", reg::ORIG_DIP_IPV4, vip.ip)
    };
    let mut m = format!("{} == 1 && {}.dst == {}", reg::CONNTRACK_NAT, ip_match(vip), vip.ip);
    if let Some(p) = &vip.port {
        a.push_str(&format!("{} = {p}; ", reg::ORIG_TP_DPORT));
        m.push_str(&format!(" && {}.dst == {p}", lb.proto));
    }
    a.push_str(if g.ct_no_masked_label { "ct_lb_mark;" } else { "ct_lb;" });
    lflow!(sink, Stage::LsInPreStateful, 120, m, a, hint = lb.uuid);
}

fn lb_rule(g: &Global, lb: &Lb, vip: &Vip, meter: Option<std::sync::Arc<str>>, sink: &mut FlowSink) {
    let ct_lb = if g.ct_no_masked_label { "ct_lb_mark" } else { "ct_lb" };
    let a = if vip.backends.is_empty() && lb.reject_empty {
        format!(
            "reg0 = 0; reject {{ outport <-> inport; next(pipeline=egress,table={});}};",
            Stage::LsOutQosMark.table()
        )
    } else if vip.backends.is_empty() {
        g.drop_action.clone()
    } else {
        let mut a = format!("{} = 0; {ct_lb}(backends={}", reg::CONNTRACK_COMMIT, vip.backend_text);
        if let Some(f) = lb.selection_fields.as_deref().filter(|f| !f.is_empty()) {
            a.push_str(&format!("; hash_fields=\"{f}\""));
        }
        a.push_str(");");
        a
    };
    let mut m = format!("ct.new && {}.dst == {}", ip_match(vip), vip.ip);
    let mut prio = 110;
    if let Some(p) = &vip.port {
        m.push_str(&format!(" && {}.dst == {p}", lb.proto));
        prio = 120;
    }
    lflow!(sink, Stage::LsInLb, prio, m, a, hint = lb.uuid, meter = meter);
}

fn empty_event(lb: &Lb, vip: &Vip, meter: Option<std::sync::Arc<str>>, sink: &mut FlowSink) {
    if !lb.controller_event || !vip.backends.is_empty() || lb.reject_empty {
        return;
    }
    let mut m = format!("{}.dst == {} && {}", ip_match(vip), vip.ip, lb.proto);
    let text = match &vip.port {
        Some(p) => {
            m.push_str(&format!(" && {}.dst == {p}", lb.proto));
            if vip.v6 {
                format!("[{}]:{p}", vip.ip)
            } else {
                format!("{}:{p}", vip.ip)
            }
        }
        None => vip.ip.clone(),
    };
    lflow!(
        sink,
        Stage::LsInPreLb,
        130,
        m,
        format!(
            "trigger_event(event = \"empty_lb_backends\", vip = \"{text}\", protocol = \"{}\", load_balancer = \"{}\");",
            lb.proto, lb.uuid
        ),
        hint = lb.uuid,
        meter = meter
    );
}

fn affinity(lb: &Lb, vip: &Vip, sink: &mut FlowSink) {
    if lb.affinity_timeout == 0 {
        return;
    }
    let (ipm, reg_vip, reg_backend) = if vip.affinity_v6 {
        ("ip6", reg::ORIG_DIP_IPV6, "xxreg0")
    } else {
        ("ip4", reg::ORIG_DIP_IPV4, "reg4")
    };
    let mut check = format!("ct.new && {ipm} && {reg_vip} == {}", vip.ip);
    if let Some(p) = &vip.port {
        check.push_str(&format!(" && {} == {p}", reg::ORIG_TP_DPORT));
    }
    lflow!(
        sink,
        Stage::LsInLbAffCheck,
        100,
        check,
        format!("{KNOWN_LB_SESSION} = chk_lb_aff(); next;"),
        hint = lb.uuid
    );

    let mut action = format!("{} = 0; {reg_vip} = {}; ", reg::CONNTRACK_COMMIT, vip.ip);
    let mut learn = String::from("commit_lb_aff(vip = \"");
    match &vip.port {
        Some(p) => {
            action.push_str(&format!("{} = {p}; ", reg::ORIG_TP_DPORT));
            learn.push_str(&if vip.affinity_v6 {
                format!("[{}]:{p}", vip.ip)
            } else {
                format!("{}:{p}", vip.ip)
            });
        }
        None => learn.push_str(&vip.ip),
    }
    action.push_str("ct_lb_mark(backends=");
    learn.push_str("\", backend = \"");
    let learn_match = match &vip.port {
        Some(p) => format!(
            "{KNOWN_LB_SESSION} == 0 && ct.new && {ipm} && {reg_vip} == {} && {} == {p} && {ipm}.dst == ",
            vip.ip,
            reg::ORIG_TP_DPORT
        ),
        None => format!(
            "{KNOWN_LB_SESSION} == 0 && ct.new && {ipm} && {reg_vip} == {} && {ipm}.dst == ",
            vip.ip
        ),
    };
    let aff_match = format!("{KNOWN_LB_SESSION} == 1 && ct.new && {ipm} && {reg_backend} == ");
    for b in &vip.backends {
        let (mut a, mut l, mut lm, mut am) = (action.clone(), learn.clone(), learn_match.clone(), aff_match.clone());
        lm.push_str(&b.ip);
        am.push_str(&b.ip);
        match b.port {
            Some(p) => {
                let bt = if vip.affinity_v6 {
                    format!("[{}]:{p}", b.ip)
                } else {
                    format!("{}:{p}", b.ip)
                };
                a.push_str(&bt);
                l.push_str(&bt);
                lm.push_str(&format!(" && {}.dst == {p}", lb.proto));
                am.push_str(&format!(" && reg8[0..15] == {p}"));
            }
            None => {
                a.push_str(&b.ip);
                l.push_str(&b.ip);
            }
        }
        a.push_str(");");
        l.push('"');
        if vip.port.is_some() {
            l.push_str(&format!(", proto = {}", lb.proto));
        }
        l.push_str(&format!(", timeout = {}); /* drop */", lb.affinity_timeout));
        lflow!(sink, Stage::LsInLbAffLearn, 100, lm, l, hint = lb.uuid);
        lflow!(sink, Stage::LsInLb, 150, am, a, hint = lb.uuid);
    }
}
