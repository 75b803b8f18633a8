//! The logical switch pipeline: flows per switch ([`datapath`]), per ACL
//! source ([`acl`]) and per port ([`port`]), each a pure function of a
//! context that lists exactly what it depends on. The engine
//! ([`crate::compile`]) recomputes a unit when its context or its own rows
//! change.

pub mod acl;
pub mod datapath;
pub mod dhcp;
pub mod lb;
pub mod port;

use std::sync::Arc;

use crate::addr::{LportAddresses, Mac};
use crate::nb::Smap;

/// Settings that apply to every datapath (from `NB_Global:options` and
/// the chassis' features). A change recomputes everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    pub svc_monitor_mac: String,
    pub mac_prefix: Mac,
    pub use_ct_inv_match: bool,
    pub controller_event: bool,
    pub check_lsp_is_up: bool,
    pub default_acl_drop: bool,
    /// All chassis support `ct_mark` (ovn-controller 22.09 and later):
    /// `ct_mark.blocked` and `ct_lb_mark` instead of the `ct_label` forms.
    pub ct_no_masked_label: bool,
    /// All chassis support `ct_commit_nat` for related traffic.
    pub ct_lb_related: bool,
    /// `drop;`, or a sample action when drop debugging is configured.
    pub drop_action: String,
    /// What ends an ACL's drop flows: `/* drop */` or the sample action.
    pub implicit_drop_action: String,
    /// Northbound meters by name, with their `fair` flag.
    pub meters: Arc<std::collections::BTreeMap<String, bool>>,
    pub vxlan_mode: bool,
}

impl Global {
    pub fn ct_blocked(&self) -> &'static str {
        if self.ct_no_masked_label {
            "ct_mark.blocked"
        } else {
            "ct_label.blocked"
        }
    }
}

/// The multicast settings of a switch (`other_config:mcast_*`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct McastSwitch {
    pub enabled: bool,
    pub querier: bool,
    pub flood_unregistered: bool,
    pub table_size: i64,
    pub idle_timeout: i64,
    pub query_interval: i64,
    pub query_max_response: i64,
    pub eth_src: Option<String>,
    pub ip4_src: Option<String>,
    pub ip6_src: Option<String>,
    /// A port connects to a router with `mcast_relay`.
    pub flood_relay: bool,
    /// Some port has `options:mcast_flood=true`.
    pub flood_static: bool,
}

impl McastSwitch {
    pub fn from_config(c: &Smap) -> McastSwitch {
        use crate::nb::{smap_bool, smap_ullong};
        // Read as unsigned long long, kept in 32 bits (timers) or 64.
        let idle = i64::from((smap_ullong(c, "mcast_idle_timeout", 300) as u32).clamp(15, 3600));
        let query = i64::from((smap_ullong(c, "mcast_query_interval", idle as u64 / 2) as u32).clamp(1, 3600));
        McastSwitch {
            enabled: smap_bool(c, "mcast_snoop", false),
            querier: smap_bool(c, "mcast_querier", true),
            flood_unregistered: smap_bool(c, "mcast_flood_unregistered", false),
            table_size: smap_ullong(c, "mcast_table_size", 2048) as i64,
            idle_timeout: idle,
            query_interval: query,
            query_max_response: smap_ullong(c, "mcast_query_max_response", 1) as i64,
            eth_src: c.get("mcast_eth_src").cloned(),
            ip4_src: c.get("mcast_ip4_src").cloned(),
            ip6_src: c.get("mcast_ip6_src").cloned(),
            flood_relay: false,
            flood_static: false,
        }
    }
}

/// Control-plane protection meters of a switch (`Copp`), resolved to
/// meters that exist.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Copp {
    pub meters: std::collections::BTreeMap<&'static str, String>,
}

impl Copp {
    pub const PROTOCOLS: [&'static str; 17] = [
        "arp",
        "arp-resolve",
        "dhcpv4-opts",
        "dhcpv6-opts",
        "dns",
        "event-elb",
        "icmp4-error",
        "icmp6-error",
        "igmp",
        "nd-na",
        "nd-ns",
        "nd-ns-resolve",
        "nd-ra-opts",
        "tcp-reset",
        "reject",
        "svc-monitor",
        "bfd",
    ];

    pub fn get(&self, proto: &str) -> Option<String> {
        self.meters.get(proto).cloned()
    }
}

/// A router port of a switch: a `router`-type port whose peer router port
/// exists. Its addresses are the peer's networks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterPort {
    pub name: String,
    pub addrs: LportAddresses,
}

/// What the flows of a whole switch depend on, derived from the switch
/// row, its ports, ACL sources and load balancers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LsInfo {
    pub name: String,
    pub has_acls: bool,
    pub has_stateful_acl: bool,
    pub has_lb_vip: bool,
    pub has_unknown: bool,
    pub has_dns_records: bool,
    pub vlan_passthru: bool,
    pub has_vtep_lports: bool,
    pub n_ports: usize,
    pub router_ports: Vec<RouterPort>,
    pub localnet_ports: Vec<String>,
    /// `remote` ports, for IGMP relay across availability zones.
    pub remote_ports: Vec<String>,
    pub interconn_ts: bool,
    pub mcast: McastSwitch,
    pub copp: Copp,
}

impl LsInfo {
    /// Stateful ACLs or load balancers: traffic goes through conntrack.
    pub fn has_stateful(&self) -> bool {
        self.has_stateful_acl || self.has_lb_vip
    }
}

/// What the ACL flows of one switch depend on besides the ACL rows.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclCtx {
    /// `has_stateful_acl || has_lb_vip`.
    pub has_stateful: bool,
    pub reject_meter: Option<String>,
}

impl AclCtx {
    pub fn of(info: &LsInfo) -> AclCtx {
        AclCtx {
            has_stateful: info.has_stateful(),
            reject_meter: info.copp.get("reject"),
        }
    }
}

/// What one port's flows depend on besides its own rows.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PortCtx {
    pub has_stateful_acl: bool,
    pub has_lb_vip: bool,
    pub vlan_passthru: bool,
    pub localnet_ports: Vec<String>,
    pub router_ports: Vec<RouterPort>,
    /// Every port of the switch is a router port.
    pub all_router_ports: bool,
    pub copp: Copp,
}

impl PortCtx {
    pub fn of(info: &LsInfo) -> PortCtx {
        PortCtx {
            has_stateful_acl: info.has_stateful_acl,
            has_lb_vip: info.has_lb_vip,
            vlan_passthru: info.vlan_passthru,
            localnet_ports: info.localnet_ports.clone(),
            router_ports: info.router_ports.clone(),
            all_router_ports: info.router_ports.len() == info.n_ports,
            copp: info.copp.clone(),
        }
    }
}

/// A port name quoted as a JSON string, as matches and actions spell it.
pub fn json_key(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\u{8}' => s.push_str("\\b"),
            '\u{c}' => s.push_str("\\f"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}
