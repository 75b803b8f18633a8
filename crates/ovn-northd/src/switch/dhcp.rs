//! Native DHCPv4/DHCPv6: the option tables northd publishes for
//! ovn-controller (`DHCP_Options`, `DHCPv6_Options`: every option it can
//! encode, with code and type), and the `put_dhcp_opts`/`put_dhcpv6_opts`
//! actions for one port's offered address.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::addr::{Mac, ipv6_string_mapped, link_local, parse_ipv4};
use crate::nb::{DHCPOptions, LogicalSwitchPort, smap_bool};
use crate::stage::reg;

/// DHCPv4 options ovn-controller supports: (name, code, type).
pub const DHCPV4_OPTIONS: &[(&str, i64, &str)] = &[
    ("offerip", 0, "ipv4"),
    ("netmask", 1, "ipv4"),
    ("router", 3, "ipv4"),
    ("dns_server", 6, "ipv4"),
    ("log_server", 7, "ipv4"),
    ("lpr_server", 9, "ipv4"),
    ("hostname", 12, "str"),
    ("domain_name", 15, "str"),
    ("swap_server", 16, "ipv4"),
    ("ip_forward_enable", 19, "bool"),
    ("policy_filter", 21, "ipv4"),
    ("default_ttl", 23, "uint8"),
    ("mtu", 26, "uint16"),
    ("broadcast_address", 28, "ipv4"),
    ("router_discovery", 31, "bool"),
    ("router_solicitation", 32, "ipv4"),
    ("arp_cache_timeout", 35, "uint32"),
    ("ethernet_encap", 36, "bool"),
    ("tcp_ttl", 37, "uint8"),
    ("tcp_keepalive_interval", 38, "uint32"),
    ("nis_server", 41, "ipv4"),
    ("ntp_server", 42, "ipv4"),
    ("netbios_name_server", 44, "ipv4"),
    ("netbios_node_type", 46, "uint8"),
    ("lease_time", 51, "uint32"),
    ("server_id", 54, "ipv4"),
    ("T1", 58, "uint32"),
    ("T2", 59, "uint32"),
    ("tftp_server", 66, "host_id"),
    ("bootfile_name", 67, "str"),
    ("domain_search_list", 119, "domains"),
    ("classless_static_route", 121, "static_routes"),
    ("tftp_server_address", 150, "ipv4"),
    ("path_prefix", 210, "str"),
    ("ms_classless_static_route", 249, "static_routes"),
    ("wpad", 252, "str"),
    ("next_server", 253, "ipv4"),
    ("bootfile_name_alt", 254, "str"),
];

/// DHCPv6 options ovn-controller supports.
pub const DHCPV6_OPTIONS: &[(&str, i64, &str)] = &[
    ("server_id", 2, "mac"),
    ("ia_addr", 5, "ipv6"),
    ("dns_server", 23, "ipv6"),
    ("domain_search", 24, "str"),
];

/// "IP", "IP/plen" or "IP/MASK" (`ip_parse_masked`).
pub fn parse_ipv4_masked(s: &str) -> Option<(Ipv4Addr, u32)> {
    match s.split_once('/') {
        None => Some((parse_ipv4(s)?, u32::MAX)),
        Some((ip, m)) => {
            let ip = parse_ipv4(ip)?;
            let mask = if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) {
                let p: u32 = m.parse().ok()?;
                if p > 32 {
                    return None;
                }
                if p == 0 { 0 } else { u32::MAX << (32 - p) }
            } else {
                u32::from(parse_ipv4(m)?)
            };
            Some((ip, mask))
        }
    }
}

/// "IPv6", "IPv6/plen" or "IPv6/MASK" (`ipv6_parse_masked`).
pub fn parse_ipv6_masked(s: &str) -> Option<(Ipv6Addr, u128)> {
    match s.split_once('/') {
        None => Some((s.parse().ok()?, u128::MAX)),
        Some((ip, m)) => {
            let ip: Ipv6Addr = ip.parse().ok()?;
            let mask = if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) {
                let p: u32 = m.parse().ok()?;
                if p > 128 {
                    return None;
                }
                if p == 0 { 0 } else { u128::MAX << (128 - p) }
            } else {
                u128::from(m.parse::<Ipv6Addr>().ok()?)
            };
            Some((ip, mask))
        }
    }
}

/// The DHCPv4 actions for offering `offer` to `port`.
pub struct Dhcpv4Actions {
    pub options: String,
    pub response: String,
    /// Matches renewals sent to the server or broadcast.
    pub ipv4_addr_match: String,
}

/// Why a port gets no DHCPv4 flows although it has options.
pub enum Dhcpv4Skip {
    /// The offered address is not in the options' CIDR (or the CIDR is
    /// bad): silently none, as OVN does.
    NotInCidr,
    /// `server_id`, `server_mac` or `lease_time` is missing.
    MissingRequired,
}

pub fn dhcpv4_actions(
    port: &LogicalSwitchPort,
    opts: &DHCPOptions,
    offer: Ipv4Addr,
) -> Result<Dhcpv4Actions, Dhcpv4Skip> {
    let Some((host, mask)) = parse_ipv4_masked(&opts.cidr) else {
        return Err(Dhcpv4Skip::NotInCidr);
    };
    if (u32::from(offer) ^ u32::from(host)) & mask != 0 {
        return Err(Dhcpv4Skip::NotInCidr);
    }
    let (Some(server_ip), Some(server_mac), Some(_)) = (
        opts.options.get("server_id"),
        opts.options.get("server_mac"),
        opts.options.get("lease_time"),
    ) else {
        return Err(Dhcpv4Skip::MissingRequired);
    };
    let mut kv: Vec<(String, String)> = opts
        .options
        .iter()
        .filter(|(k, _)| &***k != "server_mac")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    kv.push(("netmask".into(), Ipv4Addr::from(mask).to_string()));
    if let Some(h) = port.options.get("hostname") {
        match kv.iter_mut().find(|(k, _)| k == "hostname") {
            Some(e) => e.1 = h.to_string(),
            None => kv.push(("hostname".into(), h.to_string())),
        }
    }
    kv.sort_by(|a, b| a.0.cmp(&b.0));
    let mut options = format!("{} = put_dhcp_opts(offerip = {offer}, ", reg::DHCP_OPTS_RESULT);
    for (k, v) in &kv {
        options.push_str(&format!("{k} = {v}, "));
    }
    chomp_list(&mut options);
    options.push_str("); next;");
    let response = format!(
        "eth.dst = eth.src; eth.src = {server_mac}; ip4.src = {server_ip}; udp.src = 67; udp.dst = 68; outport = inport; flags.loopback = 1; output;"
    );
    let ipv4_addr_match = format!("ip4.src == {offer} && ip4.dst == {{{server_ip}, 255.255.255.255}}");
    Ok(Dhcpv4Actions {
        options,
        response,
        ipv4_addr_match,
    })
}

/// Removes a trailing ", " as `ds_chomp(' ')` then `ds_chomp(',')` do.
fn chomp_list(s: &mut String) {
    if s.ends_with(' ') {
        s.pop();
    }
    if s.ends_with(',') {
        s.pop();
    }
}

pub struct Dhcpv6Actions {
    pub options: String,
    pub response: String,
}

/// `None` when the port gets no DHCPv6 flows for `offer`.
pub fn dhcpv6_actions(opts: &DHCPOptions, offer: Ipv6Addr) -> Option<Dhcpv6Actions> {
    let (host, mask) = parse_ipv6_masked(&opts.cidr)?;
    if (u128::from(offer) ^ u128::from(host)) & mask != 0 {
        return None;
    }
    let server_mac = opts.options.get("server_id")?;
    let ea = Mac::parse(server_mac)?;
    let server_ip = ipv6_string_mapped(link_local(ea));
    let mut options = format!("{} = put_dhcpv6_opts(", reg::DHCP_OPTS_RESULT);
    if !smap_bool(&opts.options, "dhcpv6_stateless", false) {
        options.push_str(&format!("ia_addr = {}, ", ipv6_string_mapped(offer)));
    }
    for (k, v) in &opts.options {
        if &**k != "dhcpv6_stateless" {
            options.push_str(&format!("{k} = {v}, "));
        }
    }
    chomp_list(&mut options);
    options.push_str("); next;");
    let response = format!(
        "eth.dst = eth.src; eth.src = {server_mac}; ip6.dst = ip6.src; ip6.src = {server_ip}; udp.src = 547; udp.dst = 546; outport = inport; flags.loopback = 1; output;"
    );
    Some(Dhcpv6Actions { options, response })
}
