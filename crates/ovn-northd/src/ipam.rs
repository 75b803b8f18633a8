//! Dynamic addresses (IPAM): ports whose `addresses` say "dynamic" get a
//! MAC from the deployment's MAC prefix and, on switches with
//! `other_config:subnet` or `ipv6_prefix`, an IPv4 address from the subnet
//! and an EUI-64 IPv6 address. Assigned addresses are written back to
//! `Logical_Switch_Port:dynamic_addresses` and kept as long as they stay
//! valid.
//!
//! MACs are unique across the deployment, so this is one pass over every
//! switch with IPAM; the engine runs it only when something it reads
//! changed. Ports that need a new address in the same pass are served in a
//! fixed order (switch UUID, then the switch's port order), where OVN's
//! order is that of its hash tables.

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ovsdb::Uuid;
use ovsdb::db::UuidMap;

use crate::addr::{LportAddresses, Mac, eui64, extract_lsp_addresses, is_dynamic_lsp_address, parse_ipv4};
use crate::nb::{LogicalSwitch, LogicalSwitchPort, Smap, smap_bool};

/// A switch's IPAM configuration.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct IpamConfig {
    /// First usable address and number of addresses after the network
    /// address (`~mask`), with the allocation bitmap's initial contents.
    pub v4: Option<(u32, u32, Vec<bool>)>,
    pub ipv6_prefix: Option<Ipv6Addr>,
    pub mac_only: bool,
}

impl IpamConfig {
    pub fn from_config(c: &Smap) -> IpamConfig {
        let subnet = c.get("subnet");
        let v6 = c.get("ipv6_prefix");
        let mut cfg = IpamConfig {
            v4: subnet.and_then(|s| parse_subnet(s, c.get("exclude_ips").map(|v| &**v))),
            ..Default::default()
        };
        cfg.ipv6_prefix = v6.and_then(|p| parse_v6_prefix(p));
        if subnet.is_none() && v6.is_none() {
            cfg.mac_only = smap_bool(c, "mac_only", false);
        }
        cfg
    }

    pub fn enabled(&self) -> bool {
        self.v4.is_some() || self.ipv6_prefix.is_some() || self.mac_only
    }
}

fn parse_subnet(s: &str, exclude: Option<&str>) -> Option<(u32, u32, Vec<bool>)> {
    let (ip, mask) = crate::switch::dhcp::parse_ipv4_masked(s)?;
    if mask == u32::MAX || mask.leading_ones() + mask.trailing_zeros() != 32 {
        return None;
    }
    let start = (u32::from(ip) & mask) + 1;
    let total = !mask;
    let mut bits = vec![false; total as usize];
    if let Some(b) = bits.first_mut() {
        *b = true;
    }
    if let Some(ex) = exclude {
        let words: Vec<&str> = ex.split_whitespace().collect();
        for w in words {
            let (a, b) = match w.split_once("..") {
                Some((a, b)) => (parse_ipv4(a), parse_ipv4(b)),
                None => (parse_ipv4(w), parse_ipv4(w)),
            };
            let (Some(a), Some(b)) = (a, b) else { break };
            let lo = u32::from(a).max(start);
            let hi = (u64::from(u32::from(b)) + 1).min(u64::from(start) + u64::from(total));
            let mut i = u64::from(lo);
            while i < hi {
                bits[(i - u64::from(start)) as usize] = true;
                i += 1;
            }
        }
    }
    Some((start, total, bits))
}

fn parse_v6_prefix(p: &str) -> Option<Ipv6Addr> {
    let addr = match p.split_once('/') {
        Some((ip, len)) => {
            if len.parse::<u32>().ok()? != 64 {
                return None;
            }
            ip.parse::<Ipv6Addr>().ok()?
        }
        None => p.parse().ok()?,
    };
    Some(Ipv6Addr::from(u128::from(addr) & (u128::MAX << 64)))
}

struct SwitchIpam {
    cfg: IpamConfig,
    bits: Vec<bool>,
}

impl SwitchIpam {
    fn insert_ip(&mut self, ip: u32) {
        if let Some((start, total, _)) = self.cfg.v4
            && ip >= start
            && u64::from(ip) < u64::from(start) + u64::from(total)
        {
            self.bits[(ip - start) as usize] = true;
        }
    }

    fn unused_ip(&mut self) -> Option<u32> {
        let (start, total, _) = self.cfg.v4.as_ref()?;
        let (start, total) = (*start, *total);
        let limit = total.saturating_sub(1) as usize;
        let idx = self.bits[..limit.min(self.bits.len())].iter().position(|b| !b)?;
        Some(start + idx as u32)
    }
}

struct Macam {
    prefix: u64,
    used: HashSet<u64>,
}

impl Macam {
    fn ours(&self, m: Mac) -> bool {
        (m.to_u64() ^ self.prefix) >> 24 == 0
    }
    fn insert(&mut self, m: Mac) {
        if self.ours(m) {
            self.used.insert(m.to_u64());
        }
    }
    fn unused(&self, ip: u32) -> Option<Mac> {
        const SPACE: u32 = 0xff_ffff;
        let base = ip & SPACE;
        for i in 0..SPACE - 1 {
            let suffix = ((base.wrapping_add(i)) % (SPACE - 1)) + 1;
            let m = self.prefix | u64::from(suffix);
            if !self.used.contains(&m) {
                return Some(Mac::from_u64(m));
            }
        }
        None
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Update {
    None,
    Remove,
    Static,
    Dynamic,
}

struct Pending {
    port: Uuid,
    ls: Uuid,
    cur: LportAddresses,
    mac: Update,
    static_mac: Mac,
    v4: Update,
    static_v4: u32,
    v6: Update,
    static_v6: Ipv6Addr,
}

/// Runs IPAM over the whole Northbound database. `ports_of` gives each
/// switch's ports in order (those that belong to it); ports with a peer
/// router port are skipped. Returns the `dynamic_addresses` every port must
/// have (absent: must be empty).
pub fn run(
    mac_prefix: &Mac,
    switches: &[(Arc<LogicalSwitch>, Vec<Arc<LogicalSwitchPort>>)],
    has_peer: &dyn Fn(&LogicalSwitchPort) -> bool,
) -> UuidMap<String> {
    let mut out = UuidMap::default();
    let mut macam = Macam {
        prefix: mac_prefix.to_u64() & !0xff_ffff,
        used: HashSet::new(),
    };
    let mut ipams: BTreeMap<Uuid, SwitchIpam> = BTreeMap::new();
    for (ls, _) in switches {
        let cfg = IpamConfig::from_config(&ls.other_config);
        let bits = cfg.v4.as_ref().map(|v| v.2.clone()).unwrap_or_default();
        ipams.insert(ls.uuid, SwitchIpam { cfg, bits });
    }
    // Every static address is taken first.
    for (ls, ports) in switches {
        let ipam = ipams.get_mut(&ls.uuid).expect("inserted above");
        for p in ports {
            for a in &p.addresses {
                if &**a == "unknown" || &**a == "router" || is_dynamic_lsp_address(a) {
                    continue;
                }
                if let Some(la) = extract_lsp_addresses(a) {
                    macam.insert(la.ea);
                    if ipam.cfg.v4.is_some() {
                        for n in &la.ipv4 {
                            ipam.insert_ip(u32::from(n.addr));
                        }
                    }
                }
            }
        }
    }
    let mut pending = Vec::new();
    for (ls, ports) in switches {
        let ipam = ipams.get_mut(&ls.uuid).expect("inserted above");
        if !ipam.cfg.enabled() {
            continue;
        }
        for p in ports {
            if has_peer(p) {
                continue;
            }
            let Some(spec) = p.addresses.iter().find(|a| is_dynamic_lsp_address(a)) else {
                continue;
            };
            let mut up = Pending {
                port: p.uuid,
                ls: ls.uuid,
                cur: LportAddresses::default(),
                mac: Update::None,
                static_mac: Mac::ZERO,
                v4: Update::None,
                static_v4: 0,
                v6: Update::None,
                static_v6: Ipv6Addr::UNSPECIFIED,
            };
            match p.dynamic_addresses.as_deref().and_then(extract_lsp_addresses) {
                Some(cur) => {
                    up.cur = cur;
                    check_for_updates(spec, &mut up, ipam, &macam);
                    if up.mac == Update::None {
                        macam.insert(up.cur.ea);
                    }
                    if up.v4 == Update::None
                        && let Some(n) = up.cur.ipv4.first()
                    {
                        ipam.insert_ip(u32::from(n.addr));
                    }
                    if up.mac == Update::None && up.v4 == Update::None && up.v6 == Update::None {
                        if let Some(d) = &p.dynamic_addresses {
                            out.insert(p.uuid, d.clone());
                        }
                        continue;
                    }
                }
                None => set_dynamic_updates(spec, &mut up, ipam),
            }
            pending.push(up);
        }
    }
    for up in pending {
        let ipam = ipams.get_mut(&up.ls).expect("inserted above");
        let ip4 = match up.v4 {
            Update::None => up.cur.ipv4.first().map(|n| u32::from(n.addr)).unwrap_or(0),
            Update::Remove => 0,
            Update::Static => up.static_v4,
            Update::Dynamic => ipam.unused_ip().unwrap_or(0),
        };
        let mac = match up.mac {
            Update::None => up.cur.ea,
            Update::Static => up.static_mac,
            Update::Remove | Update::Dynamic => macam.unused(ip4).unwrap_or(Mac::ZERO),
        };
        let ip6 = match up.v6 {
            Update::None => up.cur.ipv6.first().map(|n| n.addr).unwrap_or(Ipv6Addr::UNSPECIFIED),
            Update::Remove => Ipv6Addr::UNSPECIFIED,
            Update::Static => up.static_v6,
            Update::Dynamic => eui64(mac, ipam.cfg.ipv6_prefix.unwrap_or(Ipv6Addr::UNSPECIFIED)),
        };
        macam.insert(mac);
        let mut s = mac.to_string();
        if ip4 != 0 {
            ipam.insert_ip(ip4);
            s.push_str(&format!(" {}", Ipv4Addr::from(ip4)));
        }
        if ip6 != Ipv6Addr::UNSPECIFIED {
            s.push_str(&format!(" {}", crate::addr::ipv6_string_mapped(ip6)));
        }
        out.insert(up.port, s);
    }
    out
}

/// "dynamic IPv4", "dynamic IPv6", "dynamic IPv4 IPv6" requests.
fn requested(spec: &str) -> (Option<u32>, Option<Ipv6Addr>) {
    let Some(rest) = spec.strip_prefix("dynamic ") else {
        return (None, None);
    };
    let w: Vec<&str> = rest.split(' ').collect();
    match w.as_slice() {
        [a] => match parse_ipv4(a) {
            Some(ip) => (Some(u32::from(ip)), None),
            None => (None, a.parse().ok()),
        },
        [a, b] => (parse_ipv4(a).map(u32::from), b.parse().ok()),
        _ => (None, None),
    }
}

fn set_dynamic_updates(spec: &str, up: &mut Pending, ipam: &SwitchIpam) {
    match Mac::scan(spec) {
        Some((m, n)) if &spec[n..] == " dynamic" => {
            up.mac = Update::Static;
            up.static_mac = m;
        }
        _ => up.mac = Update::Dynamic,
    }
    let (v4, v6) = requested(spec);
    if let Some(ip) = v4 {
        up.v4 = Update::Static;
        up.static_v4 = ip;
    } else if ipam.cfg.v4.is_some() {
        up.v4 = Update::Dynamic;
    }
    if let Some(ip) = v6 {
        up.v6 = Update::Static;
        up.static_v6 = ip;
    } else if ipam.cfg.ipv6_prefix.is_some() {
        up.v6 = Update::Dynamic;
    }
}

fn check_for_updates(spec: &str, up: &mut Pending, ipam: &SwitchIpam, macam: &Macam) {
    // MAC.
    up.mac = match Mac::scan(spec) {
        Some((m, _)) if m == up.cur.ea => Update::None,
        Some((m, _)) => {
            up.static_mac = m;
            Update::Static
        }
        None if !macam.ours(up.cur.ea) => Update::Dynamic,
        None => Update::None,
    };
    // IPv4.
    up.v4 = match &ipam.cfg.v4 {
        None => {
            if up.cur.ipv4.is_empty() {
                Update::None
            } else {
                Update::Remove
            }
        }
        Some((start, total, _)) => match up.cur.ipv4.first() {
            None => Update::Dynamic,
            Some(n) => {
                let ip = u32::from(n.addr);
                if ip < *start {
                    Update::Dynamic
                } else {
                    let idx = ip - start;
                    if idx >= total.saturating_sub(1) || ipam.bits[idx as usize] {
                        Update::Dynamic
                    } else {
                        match requested(spec).0 {
                            Some(req) => {
                                let ri = req.wrapping_sub(*start);
                                if req < *start || ri > *total || ipam.bits.get(ri as usize).copied().unwrap_or(true) {
                                    Update::Dynamic
                                } else if req != ip {
                                    up.static_v4 = req;
                                    Update::Static
                                } else {
                                    Update::None
                                }
                            }
                            None => Update::None,
                        }
                    }
                }
            }
        },
    };
    // IPv6.
    up.v6 = match ipam.cfg.ipv6_prefix {
        None => {
            if up.cur.ipv6.is_empty() {
                Update::None
            } else {
                Update::Remove
            }
        }
        Some(prefix) => {
            if up.cur.ipv6.is_empty() || Mac::scan(spec).is_some() {
                Update::Dynamic
            } else {
                match requested(spec).1 {
                    Some(req) => {
                        if u128::from(req) & (u128::MAX << 64) != u128::from(prefix) {
                            Update::Dynamic
                        } else if up.cur.ipv6[0].addr != req {
                            up.static_v6 = req;
                            Update::Static
                        } else {
                            Update::None
                        }
                    }
                    None if up.mac != Update::None => Update::Dynamic,
                    None => Update::None,
                }
            }
        }
    };
}
