//! Logical-flow actions (ovn-sb(5), `actions` column): a typed tree, a
//! parser that checks arguments (widths, writability, value ranges,
//! option names and types), and a canonical printer.
//!
//! The tree records what was written, not what it compiles to: `next;`
//! stays "the next table" because the current table is the flow's
//! context, not the action's.

use std::fmt::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::ParseError;
use crate::expr::{Const, ConstSet, Field, Parser};
use crate::lexer::{Tok, tokenize};
use crate::symtab::{SymKind, SymbolTable, WR_CT_COMMIT, WR_DEFAULT};
use crate::value::{Format, IntConst, Quoted};

/// Tables per pipeline, hence the highest `next(N)` target plus one.
pub const N_TABLES: u32 = 29;
/// Deepest nesting of `clone { ... }` and friends.
pub const MAX_NESTED_DEPTH: usize = 32;
/// Highest queue id `set_queue` accepts.
pub const MAX_QUEUE_ID: u32 = 0xf000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pipeline {
    Ingress,
    Egress,
}

/// Connection-tracking NAT actions sharing one syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatKind {
    Dnat,
    Snat,
    DnatInCzone,
    SnatInCzone,
}

impl NatKind {
    fn name(self) -> &'static str {
        match self {
            NatKind::Dnat => "ct_dnat",
            NatKind::Snat => "ct_snat",
            NatKind::DnatInCzone => "ct_dnat_in_czone",
            NatKind::SnatInCzone => "ct_snat_in_czone",
        }
    }
}

/// Actions that run a nested action list on a (usually new) packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NestKind {
    Clone,
    Arp,
    Icmp4,
    Icmp4Error,
    Icmp6,
    Icmp6Error,
    TcpReset,
    SctpAbort,
    NdNa,
    NdNaRouter,
    NdNs,
    Reject,
}

const NESTS: [(NestKind, &str, Option<&str>); 12] = [
    (NestKind::Clone, "clone", None),
    (NestKind::Arp, "arp", Some("ip4")),
    (NestKind::Icmp4, "icmp4", Some("ip4")),
    (NestKind::Icmp4Error, "icmp4_error", Some("ip4")),
    (NestKind::Icmp6, "icmp6", Some("ip6")),
    (NestKind::Icmp6Error, "icmp6_error", Some("ip6")),
    (NestKind::TcpReset, "tcp_reset", Some("tcp")),
    (NestKind::SctpAbort, "sctp_abort", Some("sctp")),
    (NestKind::NdNa, "nd_na", Some("nd_ns")),
    (NestKind::NdNaRouter, "nd_na_router", Some("nd_ns")),
    (NestKind::NdNs, "nd_ns", Some("ip6")),
    (NestKind::Reject, "reject", None),
];

impl NestKind {
    pub fn name(self) -> &'static str {
        NESTS.iter().find(|n| n.0 == self).map_or("", |n| n.1)
    }
    /// What the action implies about the packet it applies to.
    pub fn prerequisite(self) -> Option<&'static str> {
        NESTS.iter().find(|n| n.0 == self).and_then(|n| n.2)
    }
}

/// `R = name();` actions: a 1-bit result, no arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultKind {
    DnsLookup,
    ChkLbHairpin,
    ChkLbHairpinReply,
    CheckInPortSec,
    CheckOutPortSec,
    ChkEcmpNhMac,
    ChkEcmpNh,
    ChkLbAff,
}

const RESULTS: [(ResultKind, &str); 8] = [
    (ResultKind::DnsLookup, "dns_lookup"),
    (ResultKind::ChkLbHairpin, "chk_lb_hairpin"),
    (ResultKind::ChkLbHairpinReply, "chk_lb_hairpin_reply"),
    (ResultKind::CheckInPortSec, "check_in_port_sec"),
    (ResultKind::CheckOutPortSec, "check_out_port_sec"),
    (ResultKind::ChkEcmpNhMac, "chk_ecmp_nh_mac"),
    (ResultKind::ChkEcmpNh, "chk_ecmp_nh"),
    (ResultKind::ChkLbAff, "chk_lb_aff"),
];

impl ResultKind {
    pub fn name(self) -> &'static str {
        RESULTS.iter().find(|n| n.0 == self).map_or("", |n| n.1)
    }
}

/// The three option-list actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptsKind {
    Dhcpv4,
    Dhcpv6,
    NdRa,
}

impl OptsKind {
    pub fn name(self) -> &'static str {
        match self {
            OptsKind::Dhcpv4 => "put_dhcp_opts",
            OptsKind::Dhcpv6 => "put_dhcpv6_opts",
            OptsKind::NdRa => "put_nd_ra_opts",
        }
    }
    fn label(self) -> &'static str {
        match self {
            OptsKind::Dhcpv4 => "DHCPv4",
            OptsKind::Dhcpv6 => "DHCPv6",
            OptsKind::NdRa => "IPv6 ND RA",
        }
    }
    /// Known options and their value types, as OVN 23.03 defines them.
    pub fn options(self) -> &'static [(&'static str, &'static str)] {
        match self {
            OptsKind::Dhcpv4 => DHCPV4_OPTS,
            OptsKind::Dhcpv6 => DHCPV6_OPTS,
            OptsKind::NdRa => ND_RA_OPTS,
        }
    }
}

const DHCPV4_OPTS: &[(&str, &str)] = &[
    ("offerip", "ipv4"),
    ("netmask", "ipv4"),
    ("router", "ipv4"),
    ("dns_server", "ipv4"),
    ("log_server", "ipv4"),
    ("lpr_server", "ipv4"),
    ("hostname", "str"),
    ("domain_name", "str"),
    ("swap_server", "ipv4"),
    ("policy_filter", "ipv4"),
    ("router_solicitation", "ipv4"),
    ("nis_server", "ipv4"),
    ("ntp_server", "ipv4"),
    ("server_id", "ipv4"),
    ("tftp_server", "host_id"),
    ("classless_static_route", "static_routes"),
    ("ms_classless_static_route", "static_routes"),
    ("ip_forward_enable", "bool"),
    ("router_discovery", "bool"),
    ("ethernet_encap", "bool"),
    ("default_ttl", "uint8"),
    ("tcp_ttl", "uint8"),
    ("mtu", "uint16"),
    ("lease_time", "uint32"),
    ("T1", "uint32"),
    ("T2", "uint32"),
    ("bootfile_name", "str"),
    ("wpad", "str"),
    ("path_prefix", "str"),
    ("tftp_server_address", "ipv4"),
    ("domain_search_list", "domains"),
    ("broadcast_address", "ipv4"),
    ("netbios_name_server", "ipv4"),
    ("netbios_node_type", "uint8"),
    ("bootfile_name_alt", "str"),
    ("arp_cache_timeout", "uint32"),
    ("tcp_keepalive_interval", "uint32"),
    ("next_server", "ipv4"),
];

const DHCPV6_OPTS: &[(&str, &str)] = &[("server_id", "mac"), ("ia_addr", "ipv6"), ("dns_server", "ipv6"), ("domain_search", "str")];

const ND_RA_OPTS: &[(&str, &str)] = &[
    ("addr_mode", "str"),
    ("router_preference", "str"),
    ("slla", "mac"),
    ("prefix", "ipv6"),
    ("mtu", "uint32"),
    ("rdnss", "ipv6"),
    ("dnssl", "str"),
    ("route_info", "str"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Allow,
    Drop,
    Reject,
}

const VERDICTS: [(Verdict, &str); 3] = [(Verdict::Allow, "allow"), (Verdict::Drop, "drop"), (Verdict::Reject, "reject")];
const SEVERITIES: [&str; 5] = ["alert", "warning", "notice", "info", "debug"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtLbFlag {
    SkipSnat,
    ForceSnat,
}

/// One `ct_lb` backend: address and optional port (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Backend {
    pub ip: IpAddr,
    pub port: u16,
}

/// A load-balancer key as `commit_lb_aff` writes it: `ip[:port]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LbKey {
    pub ip: IpAddr,
    pub port: u16,
}

impl fmt::Display for LbKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(a) => write!(f, "{a}")?,
            IpAddr::V6(a) => write!(f, "[{a}]")?,
        }
        if self.port != 0 {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObsPoint {
    /// `$cookie`: the first 32 bits of the logical flow's UUID.
    Cookie,
    Id(u32),
}

/// One `name = value` argument of option-list actions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Opt {
    pub name: String,
    pub value: ConstSet,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Output,
    Next { pipeline: Option<Pipeline>, table: Option<u32> },
    /// `field = constant;` (also OVN fields such as `icmp4.frag_mtu`).
    Load { dst: Field, value: Const },
    Move { dst: Field, src: Field },
    Exchange { a: Field, b: Field },
    Push(Field),
    Pop(Field),
    DecTtl,
    CtNext,
    /// The old `ct_commit(ct_mark=..., ct_label=...)` form.
    CtCommitV1 { mark: Option<IntConst>, label: Option<IntConst> },
    /// `ct_commit;` (empty) or `ct_commit { ... };`.
    CtCommit(Vec<Action>),
    Nat { kind: NatKind, ip: Option<IpAddr>, ports: Option<(u16, Option<u16>)> },
    CtCommitNat,
    CtLb { mark: bool, backends: Vec<Backend>, hash_fields: Option<String>, flag: Option<CtLbFlag> },
    CtClear,
    Nested { kind: NestKind, actions: Vec<Action> },
    Igmp,
    /// `get_arp(P, A);` (`nd` false) or `get_nd(P, A);`.
    GetMacBind { nd: bool, port: Field, ip: Field },
    PutMacBind { nd: bool, port: Field, ip: Field, mac: Field },
    /// `R = lookup_arp(P, A, M);`, or `lookup_arp_ip(P, A)` when `mac` is
    /// absent; `lookup_nd*` when `nd`.
    LookupMacBind { nd: bool, dst: Field, port: Field, ip: Field, mac: Option<Field> },
    PutOpts { kind: OptsKind, dst: Field, options: Vec<Opt> },
    SetQueue(u32),
    Result { kind: ResultKind, dst: Field },
    Log { name: Option<String>, verdict: Verdict, severity: &'static str, meter: Option<String> },
    SetMeter { rate: u64, burst: u64 },
    CheckPktLarger { dst: Field, len: u32 },
    TriggerEvent { event: String, options: Vec<Opt> },
    BindVport { vport: String, parent: Field },
    HandleSvcCheck(Field),
    FwdGroup { liveness: bool, ports: Vec<String> },
    HandleDhcpv6Reply,
    HandleBfdMsg,
    CtSnatToVip,
    PutFdb { port: Field, mac: Field },
    GetFdb { dst: Field, mac: Field },
    LookupFdb { dst: Field, port: Field, mac: Field },
    CommitEcmpNh { ipv6: bool, proto: Proto },
    CommitLbAff { vip: LbKey, backend: LbKey, proto: Option<Proto>, timeout: u16 },
    /// `R = select(id=weight, ...);` weights default to 100.
    Select { dst: Field, members: Vec<(u16, u16)> },
    Sample { probability: u16, collector_set: u32, obs_domain: u8, obs_point: ObsPoint },
}

/// Parses an `actions` string against OVN's symbol table.
pub fn parse(input: &str) -> Result<Vec<Action>, ParseError> {
    parse_with(input, SymbolTable::ovn())
}

pub fn parse_with(input: &str, table: &SymbolTable) -> Result<Vec<Action>, ParseError> {
    let toks = tokenize(input)?;
    let mut p = ActParser { p: Parser::new(&toks, table), depth: 0, scope: WR_DEFAULT };
    let acts = p.actions(&Tok::End)?;
    Ok(acts)
}

/// Prints `actions` canonically; `drop;` for none.
pub fn display<'a>(actions: &'a [Action], table: &'a SymbolTable) -> impl fmt::Display + 'a {
    ActionsDisplay(actions, table)
}

struct ActParser<'a> {
    p: Parser<'a>,
    depth: usize,
    /// Write scope: what may be assigned here (`ct_commit { }` only allows
    /// the connection-tracking fields).
    scope: u8,
}

impl ActParser<'_> {
    fn actions(&mut self, sentinel: &Tok) -> Result<Vec<Action>, ParseError> {
        let mut out = Vec::new();
        // `drop;` alone is the empty action list; with others it is
        // meaningless, hence not an action.
        if matches!(self.p.peek(), Tok::Id(s) if s == "drop") && *self.p.peek2() == Tok::Semicolon {
            self.p.bump();
            self.p.bump();
            if !self.p.eat(sentinel) {
                return self.p.syntax(format!("`drop;' must be the only action; expecting `{sentinel}'"));
            }
            return Ok(out);
        }
        while !self.p.eat(sentinel) {
            if *self.p.peek() == Tok::End {
                return self.p.syntax(format!("expecting `{sentinel}'"));
            }
            out.push(self.action()?);
            self.p.expect(&Tok::Semicolon)?;
        }
        Ok(out)
    }

    fn field(&mut self, n_bits: u32, rw: bool) -> Result<Field, ParseError> {
        let pos = self.p.pos();
        let f = self.lvalue()?;
        self.check_field(pos, &f, n_bits, rw)?;
        Ok(f)
    }

    /// A field usable in an action: not a predicate.
    fn lvalue(&mut self) -> Result<Field, ParseError> {
        let pos = self.p.pos();
        let f = self.p.field()?;
        let s = self.p.table.get(f.sym);
        if let SymKind::Predicate { .. } = s.kind {
            return self.p.type_err(pos, format!("predicate symbol {} used where lvalue required", s.name));
        }
        Ok(f)
    }

    fn check_field(&self, pos: usize, f: &Field, n_bits: u32, rw: bool) -> Result<(), ParseError> {
        let s = self.p.table.get(f.sym);
        if n_bits != f.n_bits {
            let msg = if n_bits != 0 && f.n_bits != 0 {
                format!("cannot use {}-bit field {} where {n_bits}-bit field is required", f.n_bits, f.display(self.p.table))
            } else if n_bits != 0 {
                format!("cannot use string field {} where numeric field is required", s.name)
            } else {
                format!("cannot use numeric field {} where string field is required", s.name)
            };
            return self.p.type_err(pos, msg);
        }
        self.check_rw(pos, f, rw)
    }

    fn check_rw(&self, pos: usize, f: &Field, rw: bool) -> Result<(), ParseError> {
        let s = self.p.table.get(f.sym);
        if rw && s.rw & self.scope == 0 {
            let hint = if s.rw & WR_CT_COMMIT != 0 { " outside ct_commit { }" } else { "" };
            return self.p.type_err(pos, format!("field {} is not modifiable{hint}", s.name));
        }
        if !rw && s.kind == SymKind::OvnField {
            return self.p.type_err(pos, format!("{} may only be assigned a constant", s.name));
        }
        Ok(())
    }

    /// `PORT, IP` of the MAC binding actions: a string field and a 32-bit
    /// (ARP) or 128-bit (ND) address field.
    fn port_and_ip(&mut self, nd: bool) -> Result<(Field, Field), ParseError> {
        let port = self.field(0, false)?;
        self.comma()?;
        let ip = self.field(if nd { 128 } else { 32 }, false)?;
        Ok((port, ip))
    }

    fn open(&mut self) -> Result<(), ParseError> {
        self.p.expect(&Tok::LParen)
    }

    fn close(&mut self) -> Result<(), ParseError> {
        self.p.expect(&Tok::RParen)
    }

    fn comma(&mut self) -> Result<(), ParseError> {
        self.p.expect(&Tok::Comma)
    }

    fn uint(&mut self, max: u64, what: &str) -> Result<u64, ParseError> {
        match self.p.peek() {
            Tok::Int(IntConst { value, mask: None, format: Format::Decimal }) if *value <= max as u128 => {
                let v = *value as u64;
                self.p.bump();
                Ok(v)
            }
            _ => self.p.syntax(format!("expecting {what} (an integer from 0 to {max})")),
        }
    }

    fn string(&mut self, what: &str) -> Result<String, ParseError> {
        match self.p.peek() {
            Tok::Str(s) => {
                let s = s.clone();
                self.p.bump();
                Ok(s)
            }
            _ => self.p.syntax(format!("expecting {what} (a quoted string)")),
        }
    }

    fn key(&mut self, name: &str) -> Result<(), ParseError> {
        if !self.p.eat_id(name) {
            return self.p.syntax(format!("expecting `{name}'"));
        }
        self.p.expect(&Tok::Equals)
    }

    fn bool_word(&mut self) -> Result<bool, ParseError> {
        let v = match self.p.peek() {
            Tok::Id(s) | Tok::Str(s) if s == "true" => true,
            Tok::Id(s) | Tok::Str(s) if s == "false" => false,
            _ => return self.p.syntax("expecting true or false"),
        };
        self.p.bump();
        Ok(v)
    }

    fn proto(&mut self) -> Result<Proto, ParseError> {
        let p = match self.p.peek() {
            Tok::Id(s) if s == "tcp" => Proto::Tcp,
            Tok::Id(s) if s == "udp" => Proto::Udp,
            Tok::Id(s) if s == "sctp" => Proto::Sctp,
            _ => return self.p.syntax("expecting tcp, udp or sctp"),
        };
        self.p.bump();
        Ok(p)
    }

    fn action(&mut self) -> Result<Action, ParseError> {
        let pos = self.p.pos();
        let name = match self.p.peek() {
            Tok::Id(s) => s.as_str(),
            Tok::Template(_) => return self.p.type_err(pos, "unexpanded template variable"),
            _ => return self.p.syntax("expecting action"),
        };
        if matches!(self.p.peek2(), Tok::Equals | Tok::Exchange | Tok::LSquare) {
            return self.set_action();
        }
        self.p.bump();
        let a = match name {
            "output" => Action::Output,
            "next" => self.next()?,
            "push" | "pop" => {
                self.open()?;
                let fpos = self.p.pos();
                let f = self.lvalue()?;
                self.check_rw(fpos, &f, name == "pop")?;
                self.close()?;
                if name == "push" { Action::Push(f) } else { Action::Pop(f) }
            }
            "ip.ttl" => {
                self.p.expect(&Tok::Decrement)?;
                Action::DecTtl
            }
            "ct_next" => Action::CtNext,
            "ct_commit" => self.ct_commit()?,
            "ct_dnat" => self.nat(NatKind::Dnat)?,
            "ct_snat" => self.nat(NatKind::Snat)?,
            "ct_dnat_in_czone" => self.nat(NatKind::DnatInCzone)?,
            "ct_snat_in_czone" => self.nat(NatKind::SnatInCzone)?,
            "ct_lb" => self.ct_lb(false)?,
            "ct_lb_mark" => self.ct_lb(true)?,
            "ct_clear" => Action::CtClear,
            "ct_commit_nat" => Action::CtCommitNat,
            "igmp" => Action::Igmp,
            "get_arp" | "get_nd" => {
                self.open()?;
                let (port, ip) = self.port_and_ip(name == "get_nd")?;
                self.close()?;
                Action::GetMacBind { nd: name == "get_nd", port, ip }
            }
            "put_arp" | "put_nd" => {
                self.open()?;
                let (port, ip) = self.port_and_ip(name == "put_nd")?;
                self.comma()?;
                let mac = self.field(48, false)?;
                self.close()?;
                Action::PutMacBind { nd: name == "put_nd", port, ip, mac }
            }
            "set_queue" => {
                self.open()?;
                let q = self.uint(u32::MAX as u64, "queue number")?;
                self.close()?;
                if q > MAX_QUEUE_ID as u64 {
                    return self.p.type_err(pos, format!("queue ID {q} for set_queue is not in valid range 0 to {MAX_QUEUE_ID}"));
                }
                Action::SetQueue(q as u32)
            }
            "log" => self.log()?,
            "set_meter" => {
                self.open()?;
                let rate = self.uint(u64::MAX, "rate in kbps")?;
                let burst = if self.p.eat(&Tok::Comma) { self.uint(u64::MAX, "burst in kbps")? } else { 0 };
                self.close()?;
                if rate == 0 {
                    return self.p.type_err(pos, "set_meter rate must be greater than zero");
                }
                Action::SetMeter { rate, burst }
            }
            "trigger_event" => self.trigger_event()?,
            "bind_vport" => {
                self.open()?;
                let vport = self.string("virtual port name")?;
                self.comma()?;
                let parent = self.field(0, false)?;
                self.close()?;
                Action::BindVport { vport, parent }
            }
            "handle_svc_check" => {
                self.open()?;
                let f = self.field(0, false)?;
                self.close()?;
                Action::HandleSvcCheck(f)
            }
            "fwd_group" => self.fwd_group()?,
            "handle_dhcpv6_reply" => Action::HandleDhcpv6Reply,
            "handle_bfd_msg" => {
                self.open()?;
                self.close()?;
                Action::HandleBfdMsg
            }
            "ct_snat_to_vip" => Action::CtSnatToVip,
            "put_fdb" => {
                self.open()?;
                let port = self.field(0, false)?;
                self.comma()?;
                let mac = self.field(48, false)?;
                self.close()?;
                Action::PutFdb { port, mac }
            }
            "commit_ecmp_nh" => {
                self.open()?;
                self.key("ipv6")?;
                let ipv6 = self.bool_word()?;
                self.comma()?;
                self.key("proto")?;
                let proto = self.proto()?;
                self.close()?;
                Action::CommitEcmpNh { ipv6, proto }
            }
            "commit_lb_aff" => self.commit_lb_aff()?,
            "sample" => self.sample()?,
            _ => {
                if let Some(&(kind, _, _)) = NESTS.iter().find(|n| n.1 == name) {
                    let scope = if kind == NestKind::Clone { WR_DEFAULT } else { self.scope };
                    return Ok(Action::Nested { kind, actions: self.nested(scope)? });
                }
                self.p.i -= 1;
                return self.p.syntax("expecting action");
            }
        };
        Ok(a)
    }

    fn nested(&mut self, scope: u8) -> Result<Vec<Action>, ParseError> {
        self.p.expect(&Tok::LCurly)?;
        if self.depth + 1 >= MAX_NESTED_DEPTH {
            return self.p.type_err(self.p.pos(), "maximum depth of nested actions reached");
        }
        let saved = self.scope;
        self.depth += 1;
        self.scope = scope;
        let r = self.actions(&Tok::RCurly);
        self.depth -= 1;
        self.scope = saved;
        r
    }

    fn next(&mut self) -> Result<Action, ParseError> {
        let (mut pipeline, mut table) = (None, None);
        if self.p.eat(&Tok::LParen) {
            if matches!(self.p.peek(), Tok::Int(_)) {
                table = Some(self.p.small_int()?);
            } else {
                loop {
                    if self.p.eat_id("pipeline") {
                        self.p.expect(&Tok::Equals)?;
                        pipeline = Some(if self.p.eat_id("ingress") {
                            Pipeline::Ingress
                        } else if self.p.eat_id("egress") {
                            Pipeline::Egress
                        } else {
                            return self.p.syntax("expecting \"ingress\" or \"egress\"");
                        });
                    } else if self.p.eat_id("table") {
                        self.p.expect(&Tok::Equals)?;
                        table = Some(self.p.small_int()?);
                    } else {
                        return self.p.syntax("expecting \"pipeline\" or \"table\"");
                    }
                    if !self.p.eat(&Tok::Comma) {
                        break;
                    }
                }
            }
            self.close()?;
        }
        if let Some(t) = table.filter(|&t| t >= N_TABLES) {
            return self.p.type_err(self.p.pos(), format!("\"next\" action cannot advance to table {t}, beyond table {}", N_TABLES - 1));
        }
        Ok(Action::Next { pipeline, table })
    }

    fn ct_commit(&mut self) -> Result<Action, ParseError> {
        match self.p.peek() {
            Tok::LCurly => Ok(Action::CtCommit(self.nested(WR_CT_COMMIT)?)),
            Tok::LParen => {
                self.p.bump();
                let (mut mark, mut label) = (None, None);
                while !self.p.eat(&Tok::RParen) {
                    let is_mark = if self.p.eat_id("ct_mark") {
                        true
                    } else if self.p.eat_id("ct_label") {
                        false
                    } else {
                        return self.p.syntax("expecting ct_mark or ct_label");
                    };
                    self.p.expect(&Tok::Equals)?;
                    let pos = self.p.pos();
                    let Tok::Int(c) = self.p.peek() else {
                        return self.p.syntax("expecting integer");
                    };
                    let width = if is_mark { 32 } else { 128 };
                    if c.width() > width {
                        return self.p.type_err(pos, format!("{}-bit constant is too wide for {width}-bit {}", c.width(), if is_mark { "ct_mark" } else { "ct_label" }));
                    }
                    // Printed in hex, so keep it in hex.
                    let c = IntConst { format: Format::Hex, ..*c };
                    self.p.bump();
                    if is_mark { mark = Some(c) } else { label = Some(c) }
                    self.p.eat(&Tok::Comma);
                }
                Ok(Action::CtCommitV1 { mark, label })
            }
            _ => Ok(Action::CtCommit(Vec::new())),
        }
    }

    fn ip(&mut self) -> Result<IpAddr, ParseError> {
        match self.p.peek() {
            Tok::Int(IntConst { value, mask: None, format: Format::Ipv4 }) => {
                let a = IpAddr::V4(Ipv4Addr::from(*value as u32));
                self.p.bump();
                Ok(a)
            }
            Tok::Int(IntConst { value, mask: None, format: Format::Ipv6 }) => {
                let a = IpAddr::V6(Ipv6Addr::from(*value));
                self.p.bump();
                Ok(a)
            }
            _ => self.p.syntax("expecting IPv4 or IPv6 address"),
        }
    }

    fn nat(&mut self, kind: NatKind) -> Result<Action, ParseError> {
        let (mut ip, mut ports) = (None, None);
        if self.p.eat(&Tok::LParen) {
            ip = Some(self.ip()?);
            if self.p.eat(&Tok::Comma) {
                let pos = self.p.pos();
                let lo = self.uint(65535, "port")? as u16;
                if lo == 0 {
                    return self.p.type_err(pos, "port range can't start at 0");
                }
                let hi = if self.p.eat(&Tok::Hyphen) {
                    let pos = self.p.pos();
                    let hi = self.uint(65535, "port")? as u16;
                    if hi <= lo {
                        return self.p.type_err(pos, "port range high should be greater than range low");
                    }
                    Some(hi)
                } else {
                    None
                };
                ports = Some((lo, hi));
            }
            self.close()?;
        }
        Ok(Action::Nat { kind, ip, ports })
    }

    fn ct_lb(&mut self, mark: bool) -> Result<Action, ParseError> {
        let (mut backends, mut hash_fields, mut flag) = (Vec::new(), None, None);
        if self.p.eat(&Tok::LParen) && !self.p.eat(&Tok::RParen) {
            self.key("backends")?;
            let mut more = true;
            while !matches!(self.p.peek(), Tok::Semicolon | Tok::RParen) {
                let b = if self.p.eat(&Tok::LSquare) {
                    let ip = self.ip()?;
                    if !matches!(ip, IpAddr::V6(_)) {
                        return self.p.syntax("expecting IPv6 address inside brackets");
                    }
                    self.p.expect(&Tok::RSquare)?;
                    let port = if self.p.eat(&Tok::Colon) { self.uint(65535, "port number")? as u16 } else { 0 };
                    Backend { ip, port }
                } else {
                    let ip = self.ip()?;
                    let mut port = 0;
                    if self.p.eat(&Tok::Colon) {
                        if ip.is_ipv6() {
                            return self.p.syntax("IPv6 address needs square brackets if port is included");
                        }
                        port = self.uint(65535, "port number")? as u16;
                    }
                    Backend { ip, port }
                };
                backends.push(b);
                self.p.eat(&Tok::Comma);
            }
            while more && self.p.eat(&Tok::Semicolon) {
                if self.p.eat_id("hash_fields") {
                    self.p.expect(&Tok::Equals)?;
                    hash_fields = Some(self.string("hash fields")?);
                } else if self.p.eat_id("skip_snat") {
                    flag = Some(CtLbFlag::SkipSnat);
                } else if self.p.eat_id("force_snat") {
                    flag = Some(CtLbFlag::ForceSnat);
                } else {
                    more = false;
                }
            }
            self.close()?;
        }
        Ok(Action::CtLb { mark, backends, hash_fields, flag })
    }

    fn log(&mut self) -> Result<Action, ParseError> {
        let pos = self.p.pos();
        let (mut name, mut verdict, mut severity, mut meter) = (None, None, "info", None);
        if self.p.eat(&Tok::LParen) {
            while !self.p.eat(&Tok::RParen) {
                if self.p.eat_id("verdict") {
                    self.p.expect(&Tok::Equals)?;
                    let Some(&(v, _)) = VERDICTS.iter().find(|(_, n)| matches!(self.p.peek(), Tok::Id(s) if s == n)) else {
                        return self.p.syntax("unknown verdict (expecting allow, drop or reject)");
                    };
                    self.p.bump();
                    verdict = Some(v);
                } else if self.p.eat_id("name") {
                    self.p.expect(&Tok::Equals)?;
                    let spos = self.p.pos();
                    let n = self.string("name")?;
                    if n.len() >= 64 {
                        return self.p.type_err(spos, "log name must be shorter than 64 bytes");
                    }
                    name = Some(n);
                } else if self.p.eat_id("severity") {
                    self.p.expect(&Tok::Equals)?;
                    let Some(s) = SEVERITIES.iter().find(|n| matches!(self.p.peek(), Tok::Id(s) if s == *n)) else {
                        return self.p.syntax("unknown severity (expecting alert, warning, notice, info or debug)");
                    };
                    self.p.bump();
                    severity = s;
                } else if self.p.eat_id("meter") {
                    self.p.expect(&Tok::Equals)?;
                    meter = Some(self.string("meter name")?);
                } else {
                    return self.p.syntax("expecting verdict, name, severity or meter");
                }
                self.p.eat(&Tok::Comma);
            }
        }
        let Some(verdict) = verdict else {
            return self.p.type_err(pos, "log requires a verdict");
        };
        Ok(Action::Log { name, verdict, severity, meter })
    }

    fn options(&mut self, kind: OptsKind) -> Result<Vec<Opt>, ParseError> {
        let mut out = Vec::new();
        while !self.p.eat(&Tok::RParen) {
            let pos = self.p.pos();
            let Tok::Id(name) = self.p.peek() else {
                return self.p.syntax(format!("expecting {} option name", kind.label()));
            };
            let Some(&(name, ty)) = kind.options().iter().find(|(n, _)| n == name) else {
                return self.p.syntax(format!("expecting {} option name", kind.label()));
            };
            self.p.bump();
            self.p.expect(&Tok::Equals)?;
            let value = self.option_value()?;
            check_option_type(&self.p, pos, kind.label(), name, ty, &value)?;
            out.push(Opt { name: name.to_string(), value });
            self.p.eat(&Tok::Comma);
        }
        Ok(out)
    }

    fn option_value(&mut self) -> Result<ConstSet, ParseError> {
        let pos = self.p.pos();
        let v = self.p.const_set()?;
        if v.values.iter().any(|c| matches!(c, Const::AddrSet(_) | Const::PortGroup(_))) {
            return self.p.type_err(pos, "address sets and port groups are not allowed in option values");
        }
        Ok(v)
    }

    fn trigger_event(&mut self) -> Result<Action, ParseError> {
        self.open()?;
        if !self.p.eat_id("event") {
            return self.p.syntax("expecting `event' option first");
        }
        self.p.expect(&Tok::Equals)?;
        let pos = self.p.pos();
        let event = self.string("event name")?;
        if event != "empty_lb_backends" {
            return self.p.type_err(pos, format!("unknown event {}", Quoted(&event)));
        }
        self.p.eat(&Tok::Comma);
        let mut options = Vec::new();
        while !self.p.eat(&Tok::RParen) {
            let pos = self.p.pos();
            let name = match self.p.peek() {
                Tok::Id(s) if ["vip", "protocol", "load_balancer"].contains(&s.as_str()) => s.clone(),
                _ => return self.p.syntax("expecting empty_lb_backends option name (vip, protocol or load_balancer)"),
            };
            self.p.bump();
            self.p.expect(&Tok::Equals)?;
            let value = self.option_value()?;
            let s = match value.values.as_slice() {
                [Const::Str(s)] => s.as_str(),
                _ => return self.p.type_err(pos, format!("invalid value for \"{name}\" option: expecting one string")),
            };
            let ok = match name.as_str() {
                "vip" => parse_lb_key(s).is_some(),
                "protocol" => ["tcp", "udp", "sctp"].contains(&s),
                _ => is_uuid(s),
            };
            if !ok {
                return self.p.type_err(pos, format!("invalid value {} for \"{name}\" option", Quoted(s)));
            }
            options.push(Opt { name, value });
            self.p.eat(&Tok::Comma);
        }
        Ok(Action::TriggerEvent { event, options })
    }

    fn fwd_group(&mut self) -> Result<Action, ParseError> {
        let (mut liveness, mut ports) = (false, Vec::new());
        if self.p.eat(&Tok::LParen) {
            if self.p.eat_id("liveness") {
                self.p.expect(&Tok::Equals)?;
                liveness = self.bool_word()?;
                self.comma()?;
            }
            if self.p.eat_id("childports") {
                self.p.expect(&Tok::Equals)?;
                while !matches!(self.p.peek(), Tok::RParen) {
                    ports.push(self.string("logical switch port")?);
                    self.p.eat(&Tok::Comma);
                }
            }
            self.close()?;
        }
        Ok(Action::FwdGroup { liveness, ports })
    }

    fn commit_lb_aff(&mut self) -> Result<Action, ParseError> {
        self.open()?;
        let key = |me: &mut Self, k: &str| -> Result<LbKey, ParseError> {
            me.key(k)?;
            let pos = me.p.pos();
            let s = me.string(k)?;
            parse_lb_key(&s).map_or_else(|| me.p.type_err(pos, format!("invalid {k} {}: expecting IP[:PORT] or [IPv6][:PORT]", Quoted(&s))), Ok)
        };
        let vip = key(self, "vip")?;
        self.comma()?;
        let pos = self.p.pos();
        let backend = key(self, "backend")?;
        if vip.ip.is_ipv4() != backend.ip.is_ipv4() {
            return self.p.type_err(pos, "vip and backend must be of the same address family");
        }
        self.comma()?;
        let proto = if vip.port != 0 {
            self.key("proto")?;
            let p = self.proto()?;
            self.comma()?;
            Some(p)
        } else {
            None
        };
        self.key("timeout")?;
        let timeout = self.uint(65535, "affinity timeout")? as u16;
        self.close()?;
        Ok(Action::CommitLbAff { vip, backend, proto, timeout })
    }

    fn sample(&mut self) -> Result<Action, ParseError> {
        let pos = self.p.pos();
        let (mut probability, mut collector_set, mut obs_domain, mut obs_point) = (0, 0, 0, ObsPoint::Id(0));
        if self.p.eat(&Tok::LParen) {
            while !self.p.eat(&Tok::RParen) {
                if self.p.eat_id("probability") {
                    self.p.expect(&Tok::Equals)?;
                    probability = self.uint(65535, "probability")? as u16;
                } else if self.p.eat_id("collector_set") {
                    self.p.expect(&Tok::Equals)?;
                    collector_set = self.uint(u32::MAX as u64, "collector set id")? as u32;
                } else if self.p.eat_id("obs_domain") {
                    self.p.expect(&Tok::Equals)?;
                    obs_domain = self.uint(255, "obs_domain (8 bits)")? as u8;
                } else if self.p.eat_id("obs_point") {
                    self.p.expect(&Tok::Equals)?;
                    if matches!(self.p.peek(), Tok::AddrSet(s) if s == "cookie") {
                        self.p.bump();
                        obs_point = ObsPoint::Cookie;
                    } else {
                        obs_point = ObsPoint::Id(self.uint(u32::MAX as u64, "observation point id or $cookie")? as u32);
                    }
                } else {
                    return self.p.syntax("unknown sample argument");
                }
                self.p.eat(&Tok::Comma);
            }
        }
        if probability == 0 {
            return self.p.type_err(pos, "sample probability must be greater than zero");
        }
        Ok(Action::Sample { probability, collector_set, obs_domain, obs_point })
    }

    /// Actions that start with a field: assignments, exchanges and the
    /// `R = function(...)` family.
    fn set_action(&mut self) -> Result<Action, ParseError> {
        let pos = self.p.pos();
        let lhs = self.lvalue()?;
        let table = self.p.table;
        if self.p.eat(&Tok::Exchange) {
            let rpos = self.p.pos();
            let rhs = self.lvalue()?;
            self.check_pair(rpos, &lhs, &rhs, true)?;
            return Ok(Action::Exchange { a: lhs, b: rhs });
        }
        if !self.p.eat(&Tok::Equals) {
            return self.p.syntax("expecting `=' or `<->'");
        }
        let func = match (self.p.peek(), self.p.peek2()) {
            (Tok::Id(f), Tok::LParen) => Some(f.as_str()),
            _ => None,
        };
        let one_bit = |me: &Self| me.check_field(pos, &lhs, 1, true);
        if let Some(f) = func {
            if let Some(&(kind, _)) = RESULTS.iter().find(|r| r.1 == f) {
                one_bit(self)?;
                self.p.bump();
                self.p.bump();
                if !self.p.eat(&Tok::RParen) {
                    return self.p.type_err(self.p.pos(), format!("{f} doesn't take any parameters"));
                }
                return Ok(Action::Result { kind, dst: lhs });
            }
            let opts = match f {
                "put_dhcp_opts" => Some(OptsKind::Dhcpv4),
                "put_dhcpv6_opts" => Some(OptsKind::Dhcpv6),
                "put_nd_ra_opts" => Some(OptsKind::NdRa),
                _ => None,
            };
            if let Some(kind) = opts {
                one_bit(self)?;
                self.p.bump();
                self.p.bump();
                let options = self.options(kind)?;
                check_options(&self.p, pos, kind, &options)?;
                return Ok(Action::PutOpts { kind, dst: lhs, options });
            }
            match f {
                "select" => {
                    self.check_rw(pos, &lhs, true)?;
                    if lhs.n_bits < 16 {
                        return self.p.type_err(pos, format!("cannot use {}-bit field {} for \"select\", which requires at least 16 bits", lhs.n_bits, lhs.display(table)));
                    }
                    self.p.bump();
                    self.p.bump();
                    let mut members = Vec::new();
                    while !self.p.eat(&Tok::RParen) {
                        let id = self.uint(65535, "id")? as u16;
                        let mut weight = 100;
                        if self.p.eat(&Tok::Equals) {
                            let wpos = self.p.pos();
                            weight = self.uint(65535, "weight")? as u16;
                            if weight == 0 {
                                return self.p.type_err(wpos, "select weight can't be 0");
                            }
                        }
                        members.push((id, weight));
                        self.p.eat(&Tok::Comma);
                    }
                    if members.len() < 2 {
                        return self.p.type_err(pos, "select needs at least 2 group members");
                    }
                    return Ok(Action::Select { dst: lhs, members });
                }
                "check_pkt_larger" => {
                    one_bit(self)?;
                    self.p.bump();
                    self.open()?;
                    let len = self.uint(i32::MAX as u64, "packet length")? as u32;
                    self.close()?;
                    return Ok(Action::CheckPktLarger { dst: lhs, len });
                }
                "lookup_arp" | "lookup_nd" | "lookup_arp_ip" | "lookup_nd_ip" => {
                    one_bit(self)?;
                    self.p.bump();
                    self.p.bump();
                    let nd = f.starts_with("lookup_nd");
                    let (port, ip) = self.port_and_ip(nd)?;
                    let mac = if f.ends_with("_ip") {
                        None
                    } else {
                        self.comma()?;
                        Some(self.field(48, false)?)
                    };
                    self.close()?;
                    return Ok(Action::LookupMacBind { nd, dst: lhs, port, ip, mac });
                }
                "get_fdb" => {
                    if lhs.n_bits != 0 {
                        self.check_field(pos, &lhs, 32, true)?;
                    }
                    self.p.bump();
                    self.p.bump();
                    let mac = self.field(48, false)?;
                    self.close()?;
                    return Ok(Action::GetFdb { dst: lhs, mac });
                }
                "lookup_fdb" => {
                    one_bit(self)?;
                    self.p.bump();
                    self.p.bump();
                    let port = self.field(0, false)?;
                    self.comma()?;
                    let mac = self.field(48, false)?;
                    self.close()?;
                    return Ok(Action::LookupFdb { dst: lhs, port, mac });
                }
                _ => {}
            }
        }
        if let Tok::Id(_) = self.p.peek() {
            let rpos = self.p.pos();
            let rhs = self.lvalue()?;
            self.check_pair(rpos, &lhs, &rhs, false)?;
            return Ok(Action::Move { dst: lhs, src: rhs });
        }
        // `field = constant;`
        self.check_rw(pos, &lhs, true)?;
        let cpos = self.p.pos();
        let value = self.p.constant()?;
        let sym = table.get(lhs.sym);
        match &value {
            Const::Int(c) if !sym.is_string() => {
                if c.width() > sym.width {
                    return self.p.type_err(cpos, format!("{}-bit constant is not compatible with {}-bit field {}", c.width(), sym.width, sym.name));
                }
            }
            Const::Str(_) if sym.is_string() => {}
            Const::AddrSet(_) | Const::PortGroup(_) => return self.p.type_err(cpos, "an address set or port group cannot be assigned"),
            _ => {
                let (f, c) = if sym.is_string() { ("string", "integer") } else { ("integer", "string") };
                return self.p.type_err(cpos, format!("{f} field {} is not compatible with {c} constant", sym.name));
            }
        }
        Ok(Action::Load { dst: lhs, value })
    }

    fn check_pair(&self, pos: usize, lhs: &Field, rhs: &Field, exchange: bool) -> Result<(), ParseError> {
        let t = self.p.table;
        let (ls, rs) = (t.get(lhs.sym), t.get(rhs.sym));
        let kind = |s: &crate::symtab::Symbol| if s.is_string() { "string" } else { "integer" };
        if ls.is_string() != rs.is_string() {
            return self.p.type_err(pos, format!("can't {} {} field ({}) {} {} field ({})", if exchange { "exchange" } else { "assign" }, kind(rs), rs.name, if exchange { "with" } else { "to" }, kind(ls), ls.name));
        }
        if lhs.n_bits != rhs.n_bits {
            let msg = if exchange {
                format!("can't exchange {}-bit field with {}-bit field", lhs.n_bits, rhs.n_bits)
            } else {
                format!("can't assign {}-bit value to {}-bit destination", rhs.n_bits, lhs.n_bits)
            };
            return self.p.type_err(pos, msg);
        }
        self.check_rw(pos, lhs, true)?;
        self.check_rw(pos, rhs, exchange)
    }
}

fn check_option_type(p: &Parser<'_>, pos: usize, label: &str, name: &str, ty: &str, value: &ConstSet) -> Result<(), ParseError> {
    let is_str = matches!(value.values.first(), Some(Const::Str(_)));
    match ty {
        "host_id" => Ok(()),
        "str" | "domains" if !is_str => p.type_err(pos, format!("{label} option {name} requires string value")),
        "str" | "domains" => Ok(()),
        _ if is_str => p.type_err(pos, format!("{label} option {name} requires numeric value")),
        _ => Ok(()),
    }
}

/// The cross-option rules of DHCPv4 and ND RA.
fn check_options(p: &Parser<'_>, pos: usize, kind: OptsKind, options: &[Opt]) -> Result<(), ParseError> {
    match kind {
        OptsKind::Dhcpv4 if !options.iter().any(|o| o.name == "offerip") => p.type_err(pos, "put_dhcp_opts requires offerip to be specified"),
        OptsKind::NdRa => {
            let (mut stateful, mut prefix, mut slla) = (false, false, false);
            for o in options {
                let [c] = o.value.values.as_slice() else {
                    return p.type_err(pos, format!("invalid value for \"{}\" option: expecting exactly one value", o.name));
                };
                let s = if let Const::Str(s) = c { Some(s.as_str()) } else { None };
                let int = if let Const::Int(i) = c { Some(i) } else { None };
                let ok = match o.name.as_str() {
                    "addr_mode" => {
                        stateful |= s == Some("dhcpv6_stateful");
                        matches!(s, Some("slaac" | "dhcpv6_stateful" | "dhcpv6_stateless"))
                    }
                    "router_preference" => matches!(s, Some("MEDIUM" | "HIGH" | "LOW")),
                    "slla" => {
                        slla = true;
                        int.is_some_and(|i| i.format == Format::Ethernet)
                    }
                    "prefix" => {
                        prefix = true;
                        int.is_some_and(|i| i.format == Format::Ipv6 && i.mask.is_some())
                    }
                    "mtu" => int.is_some_and(|i| i.format == Format::Decimal),
                    "rdnss" => int.is_some_and(|i| i.format == Format::Ipv6),
                    _ => s.is_some(),
                };
                if !ok {
                    return p.type_err(pos, format!("invalid value for \"{}\" option", o.name));
                }
            }
            if !slla {
                p.type_err(pos, "put_nd_ra_opts requires the slla option")
            } else if !stateful && !prefix {
                p.type_err(pos, "put_nd_ra_opts needs a prefix option when the address mode is slaac or dhcpv6_stateless")
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// `1.2.3.4`, `1.2.3.4:80`, `fd00::1`, `[fd00::1]`, `[fd00::1]:80`.
pub fn parse_lb_key(s: &str) -> Option<LbKey> {
    let port = |p: &str| p.parse::<u16>().ok();
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']')?;
        let ip = IpAddr::V6(ip.parse().ok()?);
        return match tail {
            "" => Some(LbKey { ip, port: 0 }),
            t => Some(LbKey { ip, port: port(t.strip_prefix(':')?)? }),
        };
    }
    if let Ok(a) = s.parse::<Ipv6Addr>() {
        return Some(LbKey { ip: IpAddr::V6(a), port: 0 });
    }
    let (ip, p) = match s.split_once(':') {
        Some((ip, p)) => (ip, port(p)?),
        None => (s, 0),
    };
    Some(LbKey { ip: IpAddr::V4(ip.parse().ok()?), port: p })
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36 && b.iter().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

struct ActionsDisplay<'a>(&'a [Action], &'a SymbolTable);

impl fmt::Display for ActionsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("drop;");
        }
        write_list(f, self.0, self.1)
    }
}

fn write_list(f: &mut impl Write, acts: &[Action], t: &SymbolTable) -> fmt::Result {
    for (i, a) in acts.iter().enumerate() {
        if i > 0 {
            f.write_char(' ')?;
        }
        write_action(f, a, t)?;
    }
    Ok(())
}

fn write_nested(f: &mut impl Write, name: &str, acts: &[Action], t: &SymbolTable) -> fmt::Result {
    write!(f, "{name} {{ ")?;
    write_list(f, acts, t)?;
    if !acts.is_empty() {
        f.write_char(' ')?;
    }
    f.write_str("};")
}

fn write_opts(f: &mut impl Write, opts: &[Opt]) -> fmt::Result {
    for (i, o) in opts.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{} = {}", o.name, o.value)?;
    }
    Ok(())
}

fn write_action(f: &mut impl Write, a: &Action, t: &SymbolTable) -> fmt::Result {
    let fd = |x: &Field| x.display(t).to_string();
    match a {
        Action::Output => f.write_str("output;"),
        Action::Next { pipeline: None, table: None } => f.write_str("next;"),
        Action::Next { pipeline: None, table: Some(n) } => write!(f, "next({n});"),
        Action::Next { pipeline: Some(p), table } => {
            write!(f, "next(pipeline={}", if *p == Pipeline::Ingress { "ingress" } else { "egress" })?;
            if let Some(n) = table {
                write!(f, ", table={n}")?;
            }
            f.write_str(");")
        }
        Action::Load { dst, value } => write!(f, "{} = {value};", fd(dst)),
        Action::Move { dst, src } => write!(f, "{} = {};", fd(dst), fd(src)),
        Action::Exchange { a, b } => write!(f, "{} <-> {};", fd(a), fd(b)),
        Action::Push(x) => write!(f, "push({});", fd(x)),
        Action::Pop(x) => write!(f, "pop({});", fd(x)),
        Action::DecTtl => f.write_str("ip.ttl--;"),
        Action::CtNext => f.write_str("ct_next;"),
        Action::CtCommitV1 { mark, label } => {
            f.write_str("ct_commit(")?;
            if let Some(m) = mark {
                write!(f, "ct_mark={m}")?;
            }
            if let Some(l) = label {
                if mark.is_some() {
                    f.write_str(", ")?;
                }
                write!(f, "ct_label={l}")?;
            }
            f.write_str(");")
        }
        Action::CtCommit(v) if v.is_empty() => f.write_str("ct_commit;"),
        Action::CtCommit(v) => write_nested(f, "ct_commit", v, t),
        Action::Nat { kind, ip, ports } => {
            f.write_str(kind.name())?;
            if let Some(ip) = ip {
                write!(f, "({ip}")?;
                if let Some((lo, hi)) = ports {
                    write!(f, ",{lo}")?;
                    if let Some(hi) = hi {
                        write!(f, "-{hi}")?;
                    }
                }
                f.write_str(")")?;
            }
            f.write_str(";")
        }
        Action::CtCommitNat => f.write_str("ct_commit_nat;"),
        Action::CtLb { mark, backends, hash_fields, flag } => {
            f.write_str(if *mark { "ct_lb_mark" } else { "ct_lb" })?;
            if !backends.is_empty() || hash_fields.is_some() || flag.is_some() {
                f.write_str("(backends=")?;
                for (i, b) in backends.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    match (b.ip, b.port) {
                        (IpAddr::V4(a), 0) => write!(f, "{a}")?,
                        (IpAddr::V4(a), p) => write!(f, "{a}:{p}")?,
                        (IpAddr::V6(a), 0) => write!(f, "{a}")?,
                        (IpAddr::V6(a), p) => write!(f, "[{a}]:{p}")?,
                    }
                }
                if let Some(h) = hash_fields {
                    write!(f, "; hash_fields={}", Quoted(h))?;
                }
                match flag {
                    Some(CtLbFlag::SkipSnat) => f.write_str("; skip_snat")?,
                    Some(CtLbFlag::ForceSnat) => f.write_str("; force_snat")?,
                    None => {}
                }
                f.write_char(')')?;
            }
            f.write_char(';')
        }
        Action::CtClear => f.write_str("ct_clear;"),
        Action::Nested { kind, actions } => write_nested(f, kind.name(), actions, t),
        Action::Igmp => f.write_str("igmp;"),
        Action::GetMacBind { nd, port, ip } => write!(f, "{}({}, {});", if *nd { "get_nd" } else { "get_arp" }, fd(port), fd(ip)),
        Action::PutMacBind { nd, port, ip, mac } => write!(f, "{}({}, {}, {});", if *nd { "put_nd" } else { "put_arp" }, fd(port), fd(ip), fd(mac)),
        Action::LookupMacBind { nd, dst, port, ip, mac } => {
            let name = if *nd { "lookup_nd" } else { "lookup_arp" };
            match mac {
                Some(m) => write!(f, "{} = {name}({}, {}, {});", fd(dst), fd(port), fd(ip), fd(m)),
                None => write!(f, "{} = {name}_ip({}, {});", fd(dst), fd(port), fd(ip)),
            }
        }
        Action::PutOpts { kind, dst, options } => {
            write!(f, "{} = {}(", fd(dst), kind.name())?;
            write_opts(f, options)?;
            f.write_str(");")
        }
        Action::SetQueue(q) => write!(f, "set_queue({q});"),
        Action::Result { kind, dst } => write!(f, "{} = {}();", fd(dst), kind.name()),
        Action::Log { name, verdict, severity, meter } => {
            f.write_str("log(")?;
            if let Some(n) = name {
                write!(f, "name={}, ", Quoted(n))?;
            }
            let v = VERDICTS.iter().find(|x| x.0 == *verdict).map_or("", |x| x.1);
            write!(f, "verdict={v}, severity={severity}")?;
            if let Some(m) = meter {
                write!(f, ", meter={}", Quoted(m))?;
            }
            f.write_str(");")
        }
        Action::SetMeter { rate, burst: 0 } => write!(f, "set_meter({rate});"),
        Action::SetMeter { rate, burst } => write!(f, "set_meter({rate}, {burst});"),
        Action::CheckPktLarger { dst, len } => write!(f, "{} = check_pkt_larger({len});", fd(dst)),
        Action::TriggerEvent { event, options } => {
            write!(f, "trigger_event(event = {}", Quoted(event))?;
            if !options.is_empty() {
                f.write_str(", ")?;
                write_opts(f, options)?;
            }
            f.write_str(");")
        }
        Action::BindVport { vport, parent } => write!(f, "bind_vport({}, {});", Quoted(vport), fd(parent)),
        Action::HandleSvcCheck(p) => write!(f, "handle_svc_check({});", fd(p)),
        Action::FwdGroup { liveness, ports } => {
            f.write_str("fwd_group(")?;
            if *liveness {
                f.write_str("liveness=\"true\", ")?;
            }
            if !ports.is_empty() {
                f.write_str("childports=")?;
                for (i, p) in ports.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", Quoted(p))?;
                }
            }
            f.write_str(");")
        }
        Action::HandleDhcpv6Reply => f.write_str("handle_dhcpv6_reply;"),
        Action::HandleBfdMsg => f.write_str("handle_bfd_msg();"),
        Action::CtSnatToVip => f.write_str("ct_snat_to_vip;"),
        Action::PutFdb { port, mac } => write!(f, "put_fdb({}, {});", fd(port), fd(mac)),
        Action::GetFdb { dst, mac } => write!(f, "{} = get_fdb({});", fd(dst), fd(mac)),
        Action::LookupFdb { dst, port, mac } => write!(f, "{} = lookup_fdb({}, {});", fd(dst), fd(port), fd(mac)),
        Action::CommitEcmpNh { ipv6, proto } => write!(f, "commit_ecmp_nh(ipv6 = {ipv6}, proto = {});", proto.name()),
        Action::CommitLbAff { vip, backend, proto, timeout } => {
            write!(f, "commit_lb_aff(vip = \"{vip}\", backend = \"{backend}\"")?;
            if let Some(p) = proto {
                write!(f, ", proto = {}", p.name())?;
            }
            write!(f, ", timeout = {timeout});")
        }
        Action::Select { dst, members } => {
            write!(f, "{} = select(", fd(dst))?;
            for (i, (id, w)) in members.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{id}={w}")?;
            }
            f.write_str(");")
        }
        Action::Sample { probability, collector_set, obs_domain, obs_point } => {
            write!(f, "sample(probability={probability},collector_set={collector_set},obs_domain={obs_domain},obs_point=")?;
            match obs_point {
                ObsPoint::Cookie => f.write_str("$cookie")?,
                ObsPoint::Id(n) => write!(f, "{n}")?,
            }
            f.write_str(");")
        }
    }
}
