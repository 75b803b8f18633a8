//! The symbols that matches and actions may name, as OVN 23.03 defines
//! them (ovn-sb(5), "Symbols"): fields, subfields, predicates and string
//! fields, with width, level of measurement, prerequisites and
//! writability. Widths and maskability come from Open vSwitch's fields
//! (ovs-fields(7)).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::expr::Expr;
use crate::value::Format;

/// Index of a symbol in [`SymbolTable::symbols`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymId(pub u16);

/// Level of measurement (ovn-sb(5)): what comparisons make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Bits can be examined individually; all relational operators work.
    Ordinal,
    /// Only equality makes sense (ports, protocols, types).
    Nominal,
    /// A predicate over ordinal fields: may be negated freely.
    Boolean,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Ordinal => "ordinal",
            Level::Nominal => "nominal",
            Level::Boolean => "Boolean",
        }
    }
}

/// Where a field may be assigned: bit set of these.
pub const WR_DEFAULT: u8 = 1;
/// Inside `ct_commit { ... }` only.
pub const WR_CT_COMMIT: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymKind {
    /// A whole header or metadata field.
    Field,
    /// Bits `ofs..ofs+width` of a field.
    Subfield { parent: SymId, ofs: u32 },
    /// Shorthand for a Boolean expression; behaves as a 1-bit field.
    Predicate { expansion: &'static str },
    /// A logical port name (`inport`, `outport`).
    String,
    /// A field OVN sets itself (not OpenFlow), assignable only.
    OvnField,
}

#[derive(Debug, Clone)]
pub struct Symbol {
    pub name: &'static str,
    /// Width in bits; 0 for string fields.
    pub width: u32,
    pub level: Level,
    pub kind: SymKind,
    /// Expression implied by any use of the symbol.
    pub prereqs: Option<&'static str>,
    /// Never use this field as a conjunctive-match dimension.
    pub must_crossproduct: bool,
    /// Write scopes (`WR_*` bits) in which the field is assignable.
    pub rw: u8,
    /// Notation used when printing values of this field.
    pub display: Format,
}

impl Symbol {
    pub fn is_string(&self) -> bool {
        self.width == 0
    }
}

pub struct SymbolTable {
    pub symbols: Vec<Symbol>,
    by_name: HashMap<&'static str, SymId>,
    /// Parsed expansion of each predicate and prerequisite string, by
    /// symbol index (prerequisites) and predicate index.
    expansions: Vec<Option<Expr>>,
    prereq_exprs: Vec<Option<Expr>>,
}

impl std::fmt::Debug for SymbolTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SymbolTable({} symbols)", self.symbols.len())
    }
}

impl SymbolTable {
    /// OVN 23.03's table, built once.
    pub fn ovn() -> &'static SymbolTable {
        static TABLE: OnceLock<SymbolTable> = OnceLock::new();
        TABLE.get_or_init(build)
    }

    pub fn lookup(&self, name: &str) -> Option<SymId> {
        self.by_name.get(name).copied()
    }

    pub fn get(&self, id: SymId) -> &Symbol {
        &self.symbols[id.0 as usize]
    }

    /// The parsed expansion of predicate `id`.
    pub fn expansion(&self, id: SymId) -> Option<&Expr> {
        self.expansions.get(id.0 as usize).and_then(Option::as_ref)
    }

    /// The parsed prerequisites of `id`.
    pub fn prereq_expr(&self, id: SymId) -> Option<&Expr> {
        self.prereq_exprs.get(id.0 as usize).and_then(Option::as_ref)
    }

    /// For a subfield, its field and offset; for a field, itself at 0.
    pub fn resolve(&self, id: SymId) -> (SymId, u32) {
        match self.get(id).kind {
            SymKind::Subfield { parent, ofs } => {
                let (p, o) = self.resolve(parent);
                (p, o + ofs)
            }
            _ => (id, 0),
        }
    }

    fn add(&mut self, s: Symbol) -> SymId {
        let id = SymId(self.symbols.len() as u16);
        assert!(self.by_name.insert(s.name, id).is_none(), "duplicate symbol {}", s.name);
        self.symbols.push(s);
        id
    }

    // One argument per column of the table in `build`, which reads best as
    // one call per field.
    #[allow(clippy::too_many_arguments)]
    fn field(&mut self, name: &'static str, width: u32, maskable: bool, writable: bool, prereqs: Option<&'static str>, cross: bool, display: Format) {
        self.add(Symbol {
            name,
            width,
            level: if maskable { Level::Ordinal } else { Level::Nominal },
            kind: SymKind::Field,
            prereqs,
            must_crossproduct: cross,
            rw: if writable { WR_DEFAULT } else { 0 },
            display,
        });
    }

    fn subfield(&mut self, name: &'static str, prereqs: Option<&'static str>, parent: &str, lo: u32, hi: u32) {
        self.subfield_scoped(name, prereqs, parent, lo, hi, WR_DEFAULT)
    }

    fn subfield_scoped(&mut self, name: &'static str, prereqs: Option<&'static str>, parent: &str, lo: u32, hi: u32, scope: u8) {
        let pid = self.lookup(parent).expect("subfield parent defined first");
        let p = self.get(pid).clone();
        assert!(hi < p.width && p.level == Level::Ordinal);
        let display = if hi - lo + 1 == p.width { p.display } else { Format::Hex };
        self.add(Symbol {
            name,
            width: hi - lo + 1,
            level: Level::Ordinal,
            kind: SymKind::Subfield { parent: pid, ofs: lo },
            prereqs,
            must_crossproduct: false,
            rw: if p.rw != 0 { scope } else { 0 },
            display,
        });
    }

    fn predicate(&mut self, name: &'static str, expansion: &'static str) {
        self.add(Symbol {
            name,
            width: 1,
            // Fixed up once every symbol exists (see `build`).
            level: Level::Boolean,
            kind: SymKind::Predicate { expansion },
            prereqs: None,
            must_crossproduct: false,
            rw: 0,
            display: Format::Decimal,
        });
    }
}

fn build() -> SymbolTable {
    use Format::*;
    let mut t = SymbolTable { symbols: Vec::new(), by_name: HashMap::new(), expansions: Vec::new(), prereq_exprs: Vec::new() };
    // inport and outport live in registers 14 and 15; writable.
    for name in ["inport", "outport"] {
        t.add(Symbol { name, width: 0, level: Level::Nominal, kind: SymKind::String, prereqs: None, must_crossproduct: false, rw: WR_DEFAULT, display: Decimal });
    }
    // Registers: xxreg0-1 overlay reg0-7 (reg0 most significant), xreg4
    // overlays reg8-9; xreg0-3 are halves of the xxregs.
    const XX: [&str; 2] = ["xxreg0", "xxreg1"];
    const X: [&str; 5] = ["xreg0", "xreg1", "xreg2", "xreg3", "xreg4"];
    const R: [&str; 10] = ["reg0", "reg1", "reg2", "reg3", "reg4", "reg5", "reg6", "reg7", "reg8", "reg9"];
    for n in XX {
        t.field(n, 128, true, true, None, false, Hex);
    }
    for (i, n) in X.iter().enumerate() {
        if i < 4 {
            let lo = 64 * (1 - i as u32 % 2);
            t.subfield(n, None, XX[i / 2], lo, lo + 63);
        } else {
            t.field(n, 64, true, true, None, false, Hex);
        }
    }
    for (i, n) in R.iter().enumerate() {
        if i < 8 {
            let lo = 32 * (3 - i as u32 % 4);
            t.subfield(n, None, XX[i / 4], lo, lo + 31);
        } else {
            let lo = 32 * (1 - i as u32 % 2);
            t.subfield(n, None, X[i / 2], lo, lo + 31);
        }
    }

    t.field("flags", 32, true, true, None, false, Hex);
    t.subfield("flags.loopback", None, "flags", 0, 0);
    t.subfield("flags.force_snat_for_dnat", None, "flags", 2, 2);
    t.subfield("flags.force_snat_for_lb", None, "flags", 3, 3);
    t.subfield("flags.skip_snat_for_lb", None, "flags", 9, 9);
    t.subfield("flags.use_snat_zone", None, "flags", 11, 11);

    // Connection tracking: ct_mark and ct_label are written only inside
    // ct_commit { }.
    t.add(Symbol { name: "ct_mark", width: 32, level: Level::Ordinal, kind: SymKind::Field, prereqs: None, must_crossproduct: false, rw: WR_CT_COMMIT, display: Hex });
    for (n, lo, hi) in [("ct_mark.blocked", 0, 0), ("ct_mark.natted", 1, 1), ("ct_mark.ecmp_reply_port", 16, 31), ("ct_mark.skip_snat", 2, 2), ("ct_mark.force_snat", 3, 3)] {
        t.subfield_scoped(n, None, "ct_mark", lo, hi, WR_CT_COMMIT);
    }
    t.add(Symbol { name: "ct_label", width: 128, level: Level::Ordinal, kind: SymKind::Field, prereqs: None, must_crossproduct: false, rw: WR_CT_COMMIT, display: Hex });
    for (n, lo, hi) in [
        ("ct_label.blocked", 0, 0),
        ("ct_label.natted", 1, 1),
        ("ct_label.ecmp_reply_eth", 32, 79),
        ("ct_label.ecmp_reply_port", 80, 95),
        ("ct_label.label", 96, 127),
        ("ct_label.skip_snat", 2, 2),
        ("ct_label.force_snat", 3, 3),
    ] {
        t.subfield_scoped(n, None, "ct_label", lo, hi, WR_CT_COMMIT);
    }
    t.field("ct_state", 32, true, false, None, false, Hex);
    for (n, bit) in [("ct.new", 0), ("ct.est", 1), ("ct.rel", 2), ("ct.rpl", 3), ("ct.inv", 4), ("ct.trk", 5), ("ct.snat", 6), ("ct.dnat", 7)] {
        t.subfield(n, if bit == 5 { None } else { Some("ct.trk") }, "ct_state", bit, bit);
    }

    t.field("eth.src", 48, true, true, None, false, Ethernet);
    t.field("eth.dst", 48, true, true, None, false, Ethernet);
    t.field("eth.type", 16, false, false, None, true, Hex);
    t.predicate("eth.bcast", "eth.dst == ff:ff:ff:ff:ff:ff");
    t.subfield("eth.mcast", None, "eth.dst", 40, 40);
    t.predicate("eth.mcastv6", "eth.dst[32..47] == 0x3333");

    t.field("vlan.tci", 16, true, true, None, false, Hex);
    t.predicate("vlan.present", "vlan.tci[12]");
    t.subfield("vlan.pcp", Some("vlan.present"), "vlan.tci", 13, 15);
    t.subfield("vlan.vid", Some("vlan.present"), "vlan.tci", 0, 11);

    t.predicate("ip4", "eth.type == 0x800");
    t.predicate("ip6", "eth.type == 0x86dd");
    t.predicate("ip", "ip4 || ip6");
    t.field("ip.proto", 8, false, false, Some("ip"), true, Decimal);
    t.field("ip.dscp", 6, false, true, Some("ip"), false, Decimal);
    t.field("ip.ecn", 2, false, true, Some("ip"), false, Decimal);
    t.field("ip.ttl", 8, false, true, Some("ip"), false, Decimal);

    t.field("ip4.src", 32, true, true, Some("ip4"), false, Ipv4);
    t.field("ip4.dst", 32, true, true, Some("ip4"), false, Ipv4);
    t.predicate("ip4.src_mcast", "ip4.src[28..31] == 0xe");
    t.predicate("ip4.mcast", "eth.mcast && ip4.dst[28..31] == 0xe");

    t.predicate("icmp4", "ip4 && ip.proto == 1");
    t.field("icmp4.type", 8, false, true, Some("icmp4"), false, Decimal);
    t.field("icmp4.code", 8, false, true, Some("icmp4"), false, Decimal);

    t.predicate("igmp", "ip4 && ip.proto == 2");

    t.field("ip6.src", 128, true, true, Some("ip6"), false, Ipv6);
    t.field("ip6.dst", 128, true, true, Some("ip6"), false, Ipv6);
    t.field("ip6.label", 20, true, true, Some("ip6"), false, Hex);

    t.predicate("ip6.mcast_rsvd", "ip6.dst[116..127] == 0xff0 && ip6.dst[0..111] == 0x0");
    t.predicate("ip6.mcast_all_nodes", "ip6.dst == ff01::1 || ip6.dst == ff02::1");
    t.predicate("ip6.mcast_all_rtrs", "ip6.dst == ff01::2 || ip6.dst == ff02::2 || ip6.dst == ff05::2");
    t.predicate("ip6.mcast_sol_node", "ip6.dst == ff02::1:ff00:0000/104");
    t.predicate("ip6.mcast_flood", "eth.mcastv6 && (ip6.mcast_rsvd || ip6.mcast_all_nodes || ip6.mcast_all_rtrs || ip6.mcast_sol_node)");
    t.predicate("ip6.mcast", "eth.mcastv6 && ip6.dst[120..127] == 0xff");

    t.predicate("icmp6", "ip6 && ip.proto == 58");
    t.field("icmp6.type", 8, false, true, Some("icmp6"), true, Decimal);
    t.field("icmp6.code", 8, false, true, Some("icmp6"), true, Decimal);
    t.predicate("icmp", "icmp4 || icmp6");

    t.field("ip.frag", 2, true, false, Some("ip"), false, Decimal);
    t.predicate("ip.is_frag", "ip.frag[0]");
    t.predicate("ip.later_frag", "ip.frag[1]");
    t.predicate("ip.first_frag", "ip.is_frag && !ip.later_frag");

    t.predicate("arp", "eth.type == 0x806");
    t.field("arp.op", 16, false, true, Some("arp"), false, Decimal);
    t.field("arp.spa", 32, true, true, Some("arp"), false, Ipv4);
    t.field("arp.sha", 48, true, true, Some("arp"), false, Ethernet);
    t.field("arp.tpa", 32, true, true, Some("arp"), false, Ipv4);
    t.field("arp.tha", 48, true, true, Some("arp"), false, Ethernet);

    // RARP shares ARP's layout (and OpenFlow fields) but has its own names.
    t.predicate("rarp", "eth.type == 0x8035");
    t.field("rarp.op", 16, false, true, Some("rarp"), false, Decimal);
    t.field("rarp.spa", 32, true, true, Some("rarp"), false, Ipv4);
    t.field("rarp.sha", 48, true, true, Some("rarp"), false, Ethernet);
    t.field("rarp.tpa", 32, true, true, Some("rarp"), false, Ipv4);
    t.field("rarp.tha", 48, true, true, Some("rarp"), false, Ethernet);

    t.predicate("nd", "icmp6.type == {135, 136} && icmp6.code == 0 && ip.ttl == 255");
    t.predicate("nd_ns", "icmp6.type == 135 && icmp6.code == 0 && ip.ttl == 255");
    t.predicate("nd_na", "icmp6.type == 136 && icmp6.code == 0 && ip.ttl == 255");
    t.predicate("nd_rs", "icmp6.type == 133 && icmp6.code == 0 && ip.ttl == 255");
    t.predicate("nd_ra", "icmp6.type == 134 && icmp6.code == 0 && ip.ttl == 255");
    t.field("nd.target", 128, true, true, Some("nd"), false, Ipv6);
    t.field("nd.sll", 48, true, true, Some("nd_ns"), false, Ethernet);
    t.field("nd.tll", 48, true, true, Some("nd_na"), false, Ethernet);

    t.predicate("mldv1", "ip6.src == fe80::/10 && icmp6.type == {130, 131, 132}");
    t.predicate("mldv2", "ip6.dst == ff02::16 && icmp6.type == 143");

    t.predicate("tcp", "ip.proto == 6");
    t.field("tcp.src", 16, true, true, Some("tcp"), false, Decimal);
    t.field("tcp.dst", 16, true, true, Some("tcp"), false, Decimal);
    t.field("tcp.flags", 12, true, false, Some("tcp"), false, Hex);

    t.predicate("udp", "ip.proto == 17");
    t.field("udp.src", 16, true, true, Some("udp"), false, Decimal);
    t.field("udp.dst", 16, true, true, Some("udp"), false, Decimal);

    t.predicate("sctp", "ip.proto == 132");
    t.field("sctp.src", 16, true, true, Some("sctp"), false, Decimal);
    t.field("sctp.dst", 16, true, true, Some("sctp"), false, Decimal);

    t.field("pkt.mark", 32, true, true, None, false, Hex);

    // Fields OVN rewrites in the packet itself (ICMP "frag needed" MTU).
    for (name, width) in [("icmp4.frag_mtu", 16), ("icmp6.frag_mtu", 32)] {
        t.add(Symbol { name, width, level: Level::Nominal, kind: SymKind::OvnField, prereqs: None, must_crossproduct: false, rw: WR_DEFAULT, display: Decimal });
    }

    // Predicates and prerequisites are parsed once, in definition order, so
    // that a predicate's level can follow from what it expands to.
    let n = t.symbols.len();
    t.expansions = vec![None; n];
    t.prereq_exprs = vec![None; n];
    for i in 0..n {
        if let SymKind::Predicate { expansion } = t.symbols[i].kind {
            let e = crate::expr::parse_with(expansion, &t).expect("built-in predicate parses");
            let level = if e.mentions_nominal(&t) { Level::Nominal } else { Level::Boolean };
            t.symbols[i].level = level;
            t.expansions[i] = Some(e);
        }
    }
    for i in 0..n {
        if let Some(p) = t.symbols[i].prereqs {
            t.prereq_exprs[i] = Some(crate::expr::parse_with(p, &t).expect("built-in prerequisite parses"));
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_layout() {
        let t = SymbolTable::ovn();
        let level = |n: &str| t.get(t.lookup(n).unwrap()).level;
        assert_eq!(level("ip"), Level::Nominal);
        assert_eq!(level("ip.first_frag"), Level::Boolean);
        assert_eq!(level("ip4.mcast"), Level::Boolean);
        assert_eq!(level("tcp.dst"), Level::Ordinal);
        assert_eq!(t.resolve(t.lookup("reg0").unwrap()), (t.lookup("xxreg0").unwrap(), 96));
        assert_eq!(t.resolve(t.lookup("reg9").unwrap()), (t.lookup("xreg4").unwrap(), 0));
        assert_eq!(t.resolve(t.lookup("xreg1").unwrap()), (t.lookup("xxreg0").unwrap(), 0));
        assert_eq!(t.resolve(t.lookup("reg7").unwrap()), (t.lookup("xxreg1").unwrap(), 0));
    }
}
