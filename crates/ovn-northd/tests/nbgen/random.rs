//! Random Northbound contents, driven by a tape of bytes (so that the
//! same generator serves a seeded test and coverage-guided fuzzing): rows
//! whose columns satisfy the schema but whose values northd interprets
//! (addresses, options, matches, VIPs) are often nonsense.

use serde_json::{Value as Json, json};

/// Choices read from bytes; zeros once the bytes run out.
pub struct Tape<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Tape<'a> {
    pub fn new(bytes: &'a [u8]) -> Tape<'a> {
        Tape { bytes, pos: 0 }
    }

    pub fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (usize::from(self.byte()) << 8 | usize::from(self.byte())) % n
    }

    pub fn flip(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    pub fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.below(from.len())]
    }

    pub fn exhausted(&self) -> bool {
        self.pos >= self.bytes.len()
    }
}

const ADDRESSES: &[&str] = &[
    "50:54:00:00:00:01 10.0.0.11",
    "50:54:00:00:00:02 10.0.0.12 fd00::12",
    "50:54:00:00:00:03",
    "0a:0b:0c:00:00:07 10.0.0.7/24",
    "unknown",
    "router",
    "dynamic",
    "dynamic 10.0.0.50",
    "dynamic fd00::50",
    "dynamic 10.0.0.51 fd00::51",
    "0a:00:00:00:00:42 dynamic",
    "50:54:00:00:00:09 10.0.0.9 is_chassis_resident(\"x\")",
    "not a mac",
    "ff:ff:ff:ff:ff:ff 255.255.255.255",
    "50:54:00:00:00:0a 300.1.1.1",
    "",
    "50:54:00:00:00:0b fe80::1 ::",
];

const TYPES: &[&str] = &[
    "",
    "",
    "",
    "router",
    "localnet",
    "localport",
    "virtual",
    "external",
    "vtep",
    "remote",
    "l2gateway",
    "bogus",
];

const OPTION_KEYS: &[&str] = &[
    "requested-chassis",
    "virtual-ip",
    "virtual-parents",
    "router-port",
    "qos_max_rate",
    "mcast_flood",
    "mcast_flood_reports",
    "hostname",
    "network_name",
    "arp_proxy",
    "nat-addresses",
    "requested-tnl-key",
    "localnet_learn_fdb",
];

const VALUES: &[&str] = &[
    "true",
    "false",
    "1",
    "0",
    "-5",
    "99999999999",
    "32767",
    "hv1",
    "hv1,hv2",
    "10.0.0.10",
    "fd00::10",
    "p0,p1,p2",
    "p1",
    "router",
    "garbage",
    "",
    "10.0.0.0/24",
    "10.0.0.2..10.0.0.20 10.0.0.30",
    "fd00::/64",
    "0a:0b:0c",
    "zz",
    "\"quoted\"",
];

const SWITCH_KEYS: &[&str] = &[
    "subnet",
    "ipv6_prefix",
    "exclude_ips",
    "mac_only",
    "vlan-passthru",
    "mcast_snoop",
    "mcast_querier",
    "mcast_table_size",
    "mcast_idle_timeout",
    "mcast_query_interval",
    "mcast_flood_unregistered",
    "mcast_eth_src",
    "requested-tnl-key",
    "interconn-ts",
];

const MATCHES: &[&str] = &[
    "ip4",
    "ip6 && icmp6",
    "tcp.dst == 80",
    "outport == @pg0 && ip4.src == $as0",
    "inport == @pg1 && ip4.dst == $pg0_ip4",
    "not a match at all",
    "",
    "udp && !(udp.dst == 53)",
];

const GLOBAL_KEYS: &[&str] = &[
    "mac_prefix",
    "svc_monitor_mac",
    "debug_drop_collector_set",
    "debug_drop_domain_id",
    "default_acl_drop",
    "use_ct_inv_match",
    "ignore_lsp_down",
    "controller_event",
];

fn smap(t: &mut Tape, keys: &[&str]) -> Json {
    let n = t.below(4);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for _ in 0..n {
        let k = t.pick(keys).to_string();
        let v = t.pick(VALUES).to_string();
        if !pairs.iter().any(|(x, _)| *x == k) {
            pairs.push((k, v));
        }
    }
    json!(["map", pairs.into_iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()])
}

/// A set's members, each once (the database refuses duplicates).
fn uniq(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}

fn named(refs: &[String]) -> Json {
    json!(["set", refs.iter().map(|r| json!(["named-uuid", r])).collect::<Vec<_>>()])
}

/// One transaction inserting random contents (port names `p0`..).
pub fn random_nb_ops(t: &mut Tape) -> Vec<Json> {
    let mut ops = Vec::new();
    let mut n = 0;
    let mut name = || {
        n += 1;
        format!("r{n}")
    };
    let insert = |ops: &mut Vec<Json>, table: &str, row: Json, id: &str| {
        ops.push(json!({"op": "insert", "table": table, "row": row, "uuid-name": id}));
    };
    if t.flip() {
        let id = name();
        insert(&mut ops, "NB_Global", json!({"options": smap(t, GLOBAL_KEYS)}), &id);
    }
    let mut meters = Vec::new();
    for i in 0..t.below(3) {
        let (b, m) = (name(), name());
        insert(
            &mut ops,
            "Meter_Band",
            json!({"action": "drop", "rate": 1 + t.below(100), "burst_size": t.below(10)}),
            &b,
        );
        let fair = t.flip();
        insert(
            &mut ops,
            "Meter",
            json!({"name": format!("m{i}"), "unit": "pktps", "bands": ["named-uuid", b], "fair": fair}),
            &m,
        );
        meters.push(format!("m{i}"));
    }
    let mut dhcp = Vec::new();
    for _ in 0..t.below(3) {
        let id = name();
        let cidr = t.pick(&["10.0.0.0/24", "fd00::/64", "bad", "10.0.0.0/255.255.255.0"]);
        let mut opts: Vec<Json> = Vec::new();
        for k in [
            "server_id",
            "server_mac",
            "lease_time",
            "router",
            "dhcpv6_stateless",
            "hostname",
        ] {
            if t.flip() {
                opts.push(json!([
                    k,
                    t.pick(&["10.0.0.1", "c0:ff:ee:00:00:01", "3600", "true", "x"])
                ]));
            }
        }
        insert(
            &mut ops,
            "DHCP_Options",
            json!({"cidr": cidr, "options": ["map", opts]}),
            &id,
        );
        dhcp.push(id);
    }
    let n_ports = t.below(12);
    let mut ports = Vec::new();
    for i in 0..n_ports {
        let id = name();
        let n_addr = t.below(3);
        let addrs = uniq((0..n_addr).map(|_| t.pick(ADDRESSES)).collect());
        let ps = uniq((0..t.below(2)).map(|_| t.pick(ADDRESSES)).collect());
        let mut row = json!({
            "name": format!("p{i}"),
            "type": t.pick(TYPES),
            "addresses": ["set", addrs],
            "port_security": ["set", ps],
            "options": smap(t, OPTION_KEYS),
        });
        if t.flip() {
            row["enabled"] = json!(t.flip());
        }
        if t.below(4) == 0 {
            row["parent_name"] = json!(format!("p{}", t.below(n_ports.max(1))));
            row["tag_request"] = json!(t.below(5));
        }
        if !dhcp.is_empty() && t.flip() {
            row["dhcpv4_options"] = json!(["named-uuid", dhcp[t.below(dhcp.len())]]);
        }
        if !dhcp.is_empty() && t.flip() {
            row["dhcpv6_options"] = json!(["named-uuid", dhcp[t.below(dhcp.len())]]);
        }
        insert(&mut ops, "Logical_Switch_Port", row, &id);
        ports.push(id);
    }
    let mut acls = Vec::new();
    for _ in 0..t.below(8) {
        let id = name();
        let mut row = json!({
            "direction": t.pick(&["from-lport", "to-lport"]),
            "priority": t.below(32768),
            "match": t.pick(MATCHES),
            "action": t.pick(&["allow", "allow-related", "allow-stateless", "drop", "reject"]),
            "log": t.flip(),
            "label": t.below(3),
        });
        if t.flip() {
            row["options"] = json!(["map", [["apply-after-lb", "true"], ["log-related", "true"]]]);
        }
        if !meters.is_empty() && t.flip() {
            row["meter"] = json!(meters[t.below(meters.len())]);
        }
        if t.flip() {
            row["name"] = json!("acl");
        }
        insert(&mut ops, "ACL", row, &id);
        acls.push(id);
    }
    let mut lbs = Vec::new();
    for i in 0..t.below(3) {
        let id = name();
        let vip = t.pick(&[
            "10.0.0.100:80",
            "10.0.0.101",
            "[fd00::100]:80",
            "fd00::101",
            "junk",
            "10.0.0.102:99999",
        ]);
        let backends = t.pick(&[
            "10.0.0.11:8080,10.0.0.12:8080",
            "10.0.0.11",
            "",
            "[fd00::11]:80",
            "bad,10.0.0.1:1",
        ]);
        let mut opts = Vec::new();
        for k in ["reject", "event", "affinity_timeout", "template"] {
            if t.flip() {
                opts.push(json!([k, t.pick(&["true", "60", "99999999", "x"])]));
            }
        }
        let row = json!({"name": format!("lb{i}"), "vips": ["map", [[vip, backends]]], "protocol": t.pick(&["tcp", "udp", "sctp"]), "options": ["map", opts]});
        insert(&mut ops, "Load_Balancer", row, &id);
        lbs.push(id);
    }
    // Switches take ports without sharing (a port listed twice is a
    // duplicate, reported).
    let n_switches = 1 + t.below(4);
    let mut left = ports.clone();
    for s in 0..n_switches {
        let id = name();
        let take = if s + 1 == n_switches {
            left.len()
        } else {
            t.below(left.len() + 1)
        };
        let mine: Vec<String> = left.drain(..take).collect();
        let my_acls: Vec<String> = acls.iter().filter(|_| t.flip()).cloned().collect();
        let my_lbs: Vec<String> = lbs.iter().filter(|_| t.flip()).cloned().collect();
        let row = json!({
            "name": format!("sw{s}"),
            "ports": named(&mine),
            "acls": named(&my_acls),
            "load_balancer": named(&my_lbs),
            "other_config": smap(t, SWITCH_KEYS),
        });
        insert(&mut ops, "Logical_Switch", row, &id);
    }
    for g in 0..t.below(3) {
        let id = name();
        let members: Vec<String> = ports.iter().filter(|_| t.flip()).cloned().collect();
        let pg_acls: Vec<String> = acls.iter().filter(|_| t.flip()).cloned().collect();
        insert(
            &mut ops,
            "Port_Group",
            json!({"name": format!("pg{g}"), "ports": named(&members), "acls": named(&pg_acls)}),
            &id,
        );
    }
    for a in 0..t.below(3) {
        let id = name();
        let addrs = uniq(
            (0..t.below(4))
                .map(|_| t.pick(&["10.0.0.1", "10.0.0.0/8", "fd00::1", "junk", "50:54:00:00:00:01"]))
                .collect(),
        );
        insert(
            &mut ops,
            "Address_Set",
            json!({"name": format!("as{a}"), "addresses": ["set", addrs]}),
            &id,
        );
    }
    ops
}

/// A random edit of the contents: a port's addresses, type or options, a
/// switch's configuration, an ACL's action, or a row deleted.
pub fn random_edit(t: &mut Tape) -> Json {
    match t.below(6) {
        0 => {
            json!({"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", format!("p{}", t.below(12))]],
                    "row": {"addresses": ["set", [t.pick(ADDRESSES)]]}})
        }
        1 => {
            json!({"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", format!("p{}", t.below(12))]],
                    "row": {"type": t.pick(TYPES), "options": smap(t, OPTION_KEYS)}})
        }
        2 => json!({"op": "update", "table": "Logical_Switch", "where": [["name", "==", format!("sw{}", t.below(4))]],
                    "row": {"other_config": smap(t, SWITCH_KEYS)}}),
        3 => json!({"op": "update", "table": "ACL", "where": [],
                    "row": {"action": t.pick(&["allow", "allow-related", "drop", "reject"])}}),
        4 => json!({"op": "delete", "table": "Logical_Switch", "where": [["name", "==", format!("sw{}", t.below(4))]]}),
        _ => json!({"op": "update", "table": "Port_Group", "where": [], "row": {"ports": ["set", []]}}),
    }
}
