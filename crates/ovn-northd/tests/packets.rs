//! Packets through the logical switch pipeline that rovn-northd compiles,
//! forwarded by Debian's ovn-controller and ovs-vswitchd (dummy datapath)
//! on two simulated hypervisors joined by Geneve tunnels.
//!
//! The same Northbound and the same packets go through two deployments,
//! one compiled by Debian's ovn-northd and one by rovn-northd. Every case
//! states what must come out (checked on both: the expectations are
//! themselves checked against OVN), and the packets each VIF sent in each
//! case must be identical between the two (the differential).
//!
//! A case that expects nothing at some port proves it with a barrier: after
//! the packet that must be dropped, a frame of an unused ethertype goes the
//! same way to a port that accepts it; once that frame is out, the dropped
//! packet has been dealt with (one datapath thread, one ordered cable).
//!
//! To look at a failure with `ovs-appctl ofproto/trace` or `ovn-trace`, set
//! `ROVN_PACKETS_HOLD=1` and run with `--nocapture`: the failing deployment
//! stays up for 15 minutes and its directory is printed.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use sandbox::packet::{self, Body, Frame, L4, Mac};
use sandbox::{Component, Impl, Programs, Sandbox, tool};

const TIMEOUT: Duration = Duration::from_secs(30);
/// An experimental ethertype (IEEE 802 local use): barriers and plain L2
/// frames no pipeline stage looks into.
const ETH_LOCAL: u16 = 0x88b5;
/// How a barrier's payload starts.
const BARRIER: &str = "barrier ";

/// A VM port of the test network: `vifN` bound to logical port `pN`.
#[derive(Clone, Copy, Debug)]
struct Port {
    n: u8,
    hv: &'static str,
}

impl Port {
    fn iface(self) -> String {
        format!("vif{}", self.n)
    }
    fn lsp(self) -> String {
        format!("p{}", self.n)
    }
    fn mac(self) -> Mac {
        Mac([0x50, 0x54, 0, 0, 0, self.n])
    }
    fn ip(self) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, self.n)
    }
    fn ip6(self) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(self.n))
    }
    fn at(self, port: u16) -> (Mac, Ipv4Addr, u16) {
        (self.mac(), self.ip(), port)
    }
}

/// p1 and p3 on hv1, p2 and p4 on hv2. p1 has port security and DHCP; p2
/// is guarded by ACLs; p4 takes unknown destinations.
const P1: Port = Port { n: 1, hv: "hv1" };
const P2: Port = Port { n: 2, hv: "hv2" };
const P3: Port = Port { n: 3, hv: "hv1" };
const P4: Port = Port { n: 4, hv: "hv2" };
const PORTS: [Port; 4] = [P1, P2, P3, P4];

const DHCP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
const DHCP_SERVER_MAC: &str = "c0:ff:ee:00:00:01";
const DHCPV6_SERVER_MAC: &str = "c0:ff:ee:00:00:02";
const DNS6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x53);

/// What each VIF sent during one case, barriers left out.
type Seen = BTreeMap<String, Vec<Vec<u8>>>;

/// One deployment with the test network, and how far each VIF's capture
/// has been read.
struct Net {
    sandbox: Sandbox,
    read: BTreeMap<String, usize>,
    barriers: u32,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Net {
    fn start(northd: Impl) -> Result<Net> {
        let programs = Programs::cargo_built(&workspace())
            .with(Component::Northd, env!("CARGO_BIN_EXE_rovn-northd"));
        let mut sandbox = Sandbox::builder()
            .programs(programs)
            .northd(northd)
            .timeout(TIMEOUT)
            .start()?;
        sandbox.add_hypervisor("hv1", Ipv4Addr::new(192, 0, 2, 1))?;
        sandbox.add_hypervisor("hv2", Ipv4Addr::new(192, 0, 2, 2))?;
        let net = Net {
            sandbox,
            read: BTreeMap::new(),
            barriers: 0,
        };
        net.configure()?;
        Ok(net)
    }

    fn nbctl(&self, args: &[&str]) -> Result<String> {
        self.sandbox.nbctl(args)
    }

    /// Creates a DHCP_Options row for `cidr`; returns its UUID.
    fn dhcp_options(&self, cidr: &str) -> Result<String> {
        self.nbctl(&["dhcp-options-create", cidr])?;
        let uuid = self.nbctl(&["--bare", "--columns=_uuid", "find", "DHCP_Options", &format!("cidr=\"{cidr}\"")])?;
        Ok(uuid.trim().to_string())
    }

    fn configure(&self) -> Result<()> {
        let nb = |args: &[&str]| self.nbctl(args).map(drop);
        nb(&["ls-add", "sw0"])?;
        for p in PORTS {
            let addresses = if p.n == 4 {
                "unknown".to_string()
            } else {
                format!("{} {} {}", p.mac(), p.ip(), p.ip6())
            };
            nb(&[
                "lsp-add",
                "sw0",
                &p.lsp(),
                "--",
                "lsp-set-addresses",
                &p.lsp(),
                &addresses,
            ])?;
        }
        nb(&[
            "lsp-set-port-security",
            "p1",
            &format!("{} {} {}", P1.mac(), P1.ip(), P1.ip6()),
        ])?;

        let v4 = self.dhcp_options("10.0.0.0/24")?;
        let v4 = v4.as_str();
        nb(&[
            "dhcp-options-set-options",
            v4,
            &format!("server_id={DHCP_SERVER}"),
            &format!("server_mac={DHCP_SERVER_MAC}"),
            "lease_time=3600",
            &format!("router={DHCP_SERVER}"),
            "mtu=1442",
            "dns_server={192.0.2.53}",
        ])?;
        nb(&["lsp-set-dhcpv4-options", "p1", v4])?;
        let v6 = self.dhcp_options("fd00::/64")?;
        let v6 = v6.as_str();
        nb(&[
            "dhcp-options-set-options",
            v6,
            &format!("server_id={DHCPV6_SERVER_MAC}"),
            &format!("dns_server={{{DNS6}}}"),
        ])?;
        nb(&["lsp-set-dhcpv6-options", "p1", v6])?;

        // p2 serves TCP 80 to p1 and p3 (allow-related), rejects TCP 81 and
        // UDP 82, drops TCP 83, accepts UDP 84 from anyone, and drops any
        // other IPv4; it starts no IPv4 conversation of its own.
        nb(&["pg-add", "pg_web", "p2"])?;
        nb(&[
            "create",
            "Address_Set",
            "name=as_clients",
            &format!("addresses=[\"{}\",\"{}\"]", P1.ip(), P3.ip()),
        ])?;
        let acl = |dir: &str, prio: &str, m: &str, verdict: &str| {
            nb(&["acl-add", "pg_web", dir, prio, m, verdict])
        };
        acl(
            "to-lport",
            "1000",
            "outport == @pg_web && ip4.src == $as_clients && tcp.dst == 80",
            "allow-related",
        )?;
        acl(
            "to-lport",
            "1000",
            "outport == @pg_web && tcp.dst == 81",
            "reject",
        )?;
        acl(
            "to-lport",
            "1000",
            "outport == @pg_web && udp.dst == 82",
            "reject",
        )?;
        acl(
            "to-lport",
            "1000",
            "outport == @pg_web && tcp.dst == 83",
            "drop",
        )?;
        acl(
            "to-lport",
            "1000",
            "outport == @pg_web && udp.dst == 84",
            "allow",
        )?;
        acl("to-lport", "900", "outport == @pg_web && ip4", "drop")?;
        acl("from-lport", "900", "inport == @pg_web && ip4", "drop")?;

        for p in PORTS {
            self.sandbox.add_vif(p.hv, &p.iface(), &p.lsp())?;
        }
        for p in PORTS {
            self.sandbox.wait_port_up(&p.lsp())?;
        }
        nb(&["--wait=hv", "sync"])
    }

    fn inject(&self, from: Port, frame: &[u8]) -> Result<()> {
        self.sandbox.inject(from.hv, &from.iface(), frame)
    }

    /// Everything each VIF sent since the last call.
    fn take(&mut self) -> Result<Seen> {
        let mut seen = Seen::new();
        for p in PORTS {
            let all = self.sandbox.read_pcap(p.hv, &p.iface())?;
            let read = self.read.entry(p.iface()).or_default();
            let new: Vec<Vec<u8>> = all[*read..]
                .iter()
                .filter(|f| !is_barrier(f))
                .cloned()
                .collect();
            *read = all.len();
            if !new.is_empty() {
                seen.insert(p.iface(), new);
            }
        }
        Ok(seen)
    }

    /// Waits until `to` has sent a frame `want` accepts, without consuming
    /// anything; returns that frame decoded.
    fn wait_for(&self, to: Port, what: &str, want: impl Fn(&Frame) -> bool) -> Result<Frame> {
        let from = self.read.get(&to.iface()).copied().unwrap_or(0);
        tool::wait_until(&format!("{} to send {what}", to.iface()), TIMEOUT, || {
            let all = self.sandbox.read_pcap(to.hv, &to.iface())?;
            Ok(all[from.min(all.len())..]
                .iter()
                .filter_map(|f| packet::decode(f).ok())
                .find(|f| want(f)))
        })
        .with_context(|| {
            let all = self
                .sandbox
                .read_pcap(to.hv, &to.iface())
                .unwrap_or_default();
            let seen: Vec<String> = all[from.min(all.len())..]
                .iter()
                .map(|f| packet::describe(f))
                .collect();
            format!("{} sent instead: [{}]", to.iface(), seen.join("; "))
        })
    }

    /// Sends `frame` from `from` and waits until it comes out of `to`.
    fn deliver(&self, from: Port, frame: &[u8], to: Port) -> Result<()> {
        self.inject(from, frame)?;
        self.wait_exact(to, frame)
    }

    /// Delivers each `(from, frame, to)` in turn, then checks that those
    /// frames, and nothing else, came out.
    fn exchange(&mut self, sends: &[(Port, Vec<u8>, Port)]) -> Result<Seen> {
        let mut want = Seen::new();
        for (from, frame, to) in sends {
            self.deliver(*from, frame, *to)?;
            want.entry(to.iface()).or_default().push(frame.clone());
        }
        exactly(self.take()?, want)
    }

    /// Waits until `frame` comes out of `to` unchanged.
    fn wait_exact(&self, to: Port, frame: &[u8]) -> Result<()> {
        let what = packet::describe(frame);
        self.wait_for(to, &what, |f| {
            packet::decode(frame).is_ok_and(|want| want == *f)
        })
        .map(drop)
    }

    /// Sends a barrier from `from` to `to` and waits for it: a UDP datagram
    /// to port 84 (what p2's ACLs accept) from p1, whose port security
    /// admits only its own IP traffic, and a frame of an unused ethertype
    /// from the other ports (p2's ACLs drop the IPv4 it starts).
    fn barrier(&mut self, from: Port, to: Port) -> Result<()> {
        self.barriers += 1;
        let tag = format!("{BARRIER}{}", self.barriers);
        let frame = if from.n == P1.n {
            packet::udp(from.at(1000), to.at(84), tag.as_bytes())
        } else {
            ethernet(to.mac(), from.mac(), ETH_LOCAL, tag.as_bytes())
        };
        self.inject(from, &frame)?;
        self.wait_exact(to, &frame)
    }
}

fn ethernet(dst: Mac, src: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len().max(46));
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f.resize(60, 0);
    f
}

fn is_barrier(frame: &[u8]) -> bool {
    let Ok(f) = packet::decode(frame) else {
        return false;
    };
    let payload = match &f.body {
        Body::Other {
            ethertype: ETH_LOCAL,
            bytes,
        } => bytes.as_slice(),
        Body::Ipv4(ip) => match &ip.l4 {
            L4::Udp { payload, .. } => payload.as_slice(),
            _ => return false,
        },
        _ => return false,
    };
    payload.starts_with(BARRIER.as_bytes())
}

fn mac(s: &str) -> Mac {
    let mut m = [0u8; 6];
    for (i, part) in s.split(':').enumerate() {
        m[i] = u8::from_str_radix(part, 16).expect("test MAC");
    }
    Mac(m)
}

/// `seen` if it is `want`.
fn exactly(seen: Seen, want: Seen) -> Result<Seen> {
    ensure!(
        seen == want,
        "expected {}, saw {}",
        describe(&want),
        describe(&seen)
    );
    Ok(seen)
}

/// Asserts that `n` frames came out, all of `to`.
fn only_n(seen: &Seen, to: Port, n: usize) -> Result<()> {
    let ports: Vec<&String> = seen.keys().collect();
    ensure!(
        ports == [&to.iface()] && seen[&to.iface()].len() == n,
        "expected {n} frames at {}, saw {}",
        to.iface(),
        describe(seen)
    );
    Ok(())
}

/// Asserts that only `frame` came out, and only of `to` (compared
/// decoded: Ethernet padding may differ).
fn only(seen: &Seen, to: Port, frame: &[u8]) -> Result<()> {
    let got: Vec<_> = seen
        .iter()
        .flat_map(|(p, fs)| fs.iter().map(move |f| (p.clone(), packet::decode(f).ok())))
        .collect();
    let want = vec![(to.iface(), packet::decode(frame).ok())];
    ensure!(
        got == want,
        "expected only {} at {}, saw {}",
        packet::describe(frame),
        to.iface(),
        describe(seen)
    );
    Ok(())
}

fn describe(seen: &Seen) -> String {
    let mut out = Vec::new();
    for (port, frames) in seen {
        for f in frames {
            out.push(format!("{port}: {}", packet::describe(f)));
        }
    }
    if out.is_empty() {
        "nothing".into()
    } else {
        out.join("; ")
    }
}

fn tcp_of(f: &Frame) -> Option<(Ipv4Addr, Ipv4Addr, u16, u16, u8, bool)> {
    match &f.body {
        Body::Ipv4(ip) => match ip.l4 {
            L4::Tcp {
                src_port,
                dst_port,
                flags,
                checksum_ok,
                ..
            } => Some((
                ip.src,
                ip.dst,
                src_port,
                dst_port,
                flags,
                checksum_ok && ip.header_checksum_ok,
            )),
            _ => None,
        },
        _ => None,
    }
}

/// One case: sends its packets, waits for what must come out, and returns
/// what every VIF sent (checked against the expectations by the case).
type Case = fn(&mut Net) -> Result<Seen>;

const CASES: &[(&str, Case)] = &[
    ("unicast on one hypervisor", unicast_local),
    ("unicast across hypervisors", unicast_remote),
    ("broadcast", broadcast),
    ("unknown destination", unknown_destination),
    ("spoofed source MAC", spoofed_mac),
    ("spoofed source IP", spoofed_ip),
    ("ARP responder", arp_responder),
    ("ND responder", nd_responder),
    ("ACL allow-related and its return traffic", allow_related),
    ("ACL drop", acl_drop),
    ("ACL reject: TCP reset", reject_tcp),
    ("ACL reject: ICMP port unreachable", reject_udp),
    ("DHCPv4 offer and ack", dhcpv4),
    ("DHCPv6 advertise and reply", dhcpv6),
];

fn unicast_local(net: &mut Net) -> Result<Seen> {
    let frame = packet::udp(P1.at(1000), P3.at(2000), b"same hypervisor");
    let back = packet::udp(P3.at(2000), P1.at(1000), b"and back");
    net.exchange(&[(P1, frame, P3), (P3, back, P1)])
}

fn unicast_remote(net: &mut Net) -> Result<Seen> {
    // UDP 84 is what p2's ACLs accept.
    let frame = packet::udp(P1.at(1000), P2.at(84), b"across the tunnel");
    // p4 is remote too and has no ACLs.
    let to4 = ethernet(P4.mac(), P3.mac(), ETH_LOCAL, b"to p4");
    net.exchange(&[(P1, frame, P2), (P3, to4, P4)])
}

fn broadcast(net: &mut Net) -> Result<Seen> {
    let bcast = (Mac([0xff; 6]), Ipv4Addr::new(10, 0, 0, 255), 84);
    let frame = packet::udp(P3.at(1000), bcast, b"to everyone");
    net.inject(P3, &frame)?;
    for p in [P1, P2, P4] {
        net.wait_exact(p, &frame)?;
    }
    net.barrier(P3, P1)?;
    let seen = net.take()?;
    // Every port but the sender's, once.
    exactly(
        seen,
        [P1, P2, P4]
            .iter()
            .map(|p| (p.iface(), vec![frame.clone()]))
            .collect(),
    )
}

fn unknown_destination(net: &mut Net) -> Result<Seen> {
    let stranger = (
        Mac([0x50, 0x54, 0, 0, 0, 0x99]),
        Ipv4Addr::new(10, 0, 0, 99),
        84,
    );
    let frame = packet::udp(P3.at(1000), stranger, b"who?");
    net.deliver(P3, &frame, P4)?;
    net.barrier(P3, P1)?;
    net.barrier(P3, P2)?;
    let seen = net.take()?;
    only(&seen, P4, &frame)?;
    Ok(seen)
}

fn spoofed_mac(net: &mut Net) -> Result<Seen> {
    let mut spoofed = packet::udp(P1.at(1000), P3.at(2000), b"not my MAC");
    spoofed[6..12].copy_from_slice(&[0x50, 0x54, 0, 0, 0, 0x66]);
    net.inject(P1, &spoofed)?;
    net.barrier(P1, P3)?;
    let seen = net.take()?;
    ensure!(
        seen.is_empty(),
        "port security let through {}",
        describe(&seen)
    );
    Ok(seen)
}

fn spoofed_ip(net: &mut Net) -> Result<Seen> {
    let src = (P1.mac(), Ipv4Addr::new(10, 0, 0, 66), 1000);
    let spoofed = packet::udp(src, P3.at(2000), b"not my IP");
    net.inject(P1, &spoofed)?;
    net.barrier(P1, P3)?;
    // The same packet with p1's own address passes.
    let honest = packet::udp(P1.at(1000), P3.at(2000), b"not my IP");
    net.deliver(P1, &honest, P3)?;
    let seen = net.take()?;
    only(&seen, P3, &honest)?;
    Ok(seen)
}

fn arp_responder(net: &mut Net) -> Result<Seen> {
    // p2 is on the other hypervisor: the answer comes from p1's own.
    net.inject(P1, &packet::arp_request(P1.mac(), P1.ip(), P2.ip()))?;
    let reply = packet::arp_reply(P2.mac(), P2.ip(), P1.mac(), P1.ip());
    net.wait_exact(P1, &reply)?;
    net.barrier(P1, P2)?;
    net.barrier(P1, P3)?;
    net.barrier(P1, P4)?;
    let seen = net.take()?;
    only(&seen, P1, &reply)?;
    Ok(seen)
}

fn nd_responder(net: &mut Net) -> Result<Seen> {
    net.inject(P1, &packet::neighbor_solicit(P1.mac(), P1.ip6(), P2.ip6()))?;
    let na = net.wait_for(
        P1,
        "a neighbour advertisement for p2",
        |f| matches!(&f.body, Body::Ipv6(ip) if matches!(&ip.l4, L4::Icmp6 { type_: 136, .. })),
    )?;
    let Body::Ipv6(ip) = &na.body else {
        unreachable!()
    };
    let L4::Icmp6 {
        code,
        checksum_ok,
        rest,
        ..
    } = &ip.l4
    else {
        unreachable!()
    };
    ensure!(
        na.src == P2.mac() && na.dst == P1.mac(),
        "NA between {} and {}",
        na.src,
        na.dst
    );
    ensure!(
        ip.src == P2.ip6()
            && ip.dst == P1.ip6()
            && ip.hop_limit == 255
            && *code == 0
            && *checksum_ok,
        "NA {ip:?}"
    );
    ensure!(
        packet::nd_target(rest) == Some(P2.ip6()),
        "target {:?}",
        packet::nd_target(rest)
    );
    ensure!(
        packet::nd_option_mac(rest, 2) == Some(P2.mac()),
        "target link-layer address"
    );
    ensure!(rest[0] & 0x40 != 0, "solicited flag");
    net.barrier(P1, P2)?;
    net.barrier(P1, P3)?;
    let seen = net.take()?;
    only_n(&seen, P1, 1)?;
    Ok(seen)
}

fn allow_related(net: &mut Net) -> Result<Seen> {
    let syn = packet::tcp(P1.at(40000), P2.at(80), 1000, 0, packet::TCP_SYN, b"");
    net.deliver(P1, &syn, P2)?;
    // p2 starts nothing, but it may answer.
    let syn_ack = packet::tcp(
        P2.at(80),
        P1.at(40000),
        5000,
        1001,
        packet::TCP_SYN | packet::TCP_ACK,
        b"",
    );
    net.deliver(P2, &syn_ack, P1)?;
    let ack = packet::tcp(P1.at(40000), P2.at(80), 1001, 5001, packet::TCP_ACK, b"");
    net.deliver(P1, &ack, P2)?;
    // A conversation p2 starts itself is dropped.
    let own = packet::tcp(P2.at(41000), P1.at(22), 7000, 0, packet::TCP_SYN, b"");
    net.inject(P2, &own)?;
    net.barrier(P2, P1)?;
    // And port 80 is only for the address set's members.
    let from4 = packet::tcp(P4.at(40000), P2.at(80), 1000, 0, packet::TCP_SYN, b"");
    net.inject(P4, &from4)?;
    net.barrier(P4, P2)?;
    let seen = net.take()?;
    exactly(
        seen,
        [(P1.iface(), vec![syn_ack]), (P2.iface(), vec![syn, ack])].into(),
    )
}

fn acl_drop(net: &mut Net) -> Result<Seen> {
    for dst in [83, 9999] {
        net.inject(
            P3,
            &packet::tcp(P3.at(40001), P2.at(dst), 1, 0, packet::TCP_SYN, b""),
        )?;
    }
    net.barrier(P3, P2)?;
    let seen = net.take()?;
    ensure!(seen.is_empty(), "ACLs let through {}", describe(&seen));
    Ok(seen)
}

fn reject_tcp(net: &mut Net) -> Result<Seen> {
    net.inject(
        P1,
        &packet::tcp(P1.at(40002), P2.at(81), 3000, 0, packet::TCP_SYN, b""),
    )?;
    let rst = net.wait_for(P1, "a TCP reset", |f| {
        tcp_of(f).is_some_and(|t| t.4 & packet::TCP_RST != 0)
    })?;
    let (src, dst, sport, dport, _, sums) = tcp_of(&rst).unwrap_or_else(|| unreachable!());
    ensure!(
        rst.src == P2.mac() && rst.dst == P1.mac(),
        "reset between {} and {}",
        rst.src,
        rst.dst
    );
    ensure!(
        (src, dst, sport, dport) == (P2.ip(), P1.ip(), 81, 40002),
        "reset {src}:{sport} > {dst}:{dport}"
    );
    ensure!(sums, "checksums of the reset");
    net.barrier(P1, P2)?;
    let seen = net.take()?;
    only_n(&seen, P1, 1)?;
    Ok(seen)
}

fn reject_udp(net: &mut Net) -> Result<Seen> {
    let sent = packet::udp_checksummed(P1.at(40003), P2.at(82), b"rejected");
    net.inject(P1, &sent)?;
    let icmp = net.wait_for(P1, "an ICMP port unreachable", |f| {
        matches!(&f.body, Body::Ipv4(ip) if matches!(ip.l4, L4::Icmp { type_: 3, code: 3, .. }))
    })?;
    let Body::Ipv4(ip) = &icmp.body else {
        unreachable!()
    };
    let L4::Icmp {
        checksum_ok, rest, ..
    } = &ip.l4
    else {
        unreachable!()
    };
    ensure!(
        icmp.src == P2.mac() && icmp.dst == P1.mac(),
        "ICMP between {} and {}",
        icmp.src,
        icmp.dst
    );
    ensure!(
        ip.src == P2.ip() && ip.dst == P1.ip() && *checksum_ok && ip.header_checksum_ok,
        "ICMP {ip:?}"
    );
    // It quotes the rejected datagram's IPv4 header.
    ensure!(
        rest.len() >= 4 + 20 && rest[4..24] == sent[14..34],
        "quoted header {rest:02x?}"
    );
    net.barrier(P1, P2)?;
    let seen = net.take()?;
    only_n(&seen, P1, 1)?;
    Ok(seen)
}

/// The DHCP reply of message type `kind` that p1 received.
fn dhcp_reply(net: &Net, kind: u8, xid: u32) -> Result<(Frame, packet::Dhcp)> {
    let f = net.wait_for(P1, &format!("a DHCP message of type {kind}"), |f| {
        udp_payload(f, 67, 68)
            .and_then(|p| packet::decode_dhcp(p).ok())
            .is_some_and(|d| d.message_type() == Some(kind))
    })?;
    let d = udp_payload(&f, 67, 68)
        .and_then(|p| packet::decode_dhcp(p).ok())
        .unwrap_or_else(|| unreachable!());
    ensure!(
        d.xid == xid && d.op == 2 && d.chaddr == P1.mac(),
        "reply {d:?}"
    );
    ensure!(
        f.src == mac(DHCP_SERVER_MAC) && f.dst == P1.mac(),
        "from {} to {}",
        f.src,
        f.dst
    );
    let Body::Ipv4(ip) = &f.body else {
        unreachable!()
    };
    ensure!(
        ip.src == DHCP_SERVER && ip.dst == P1.ip(),
        "{} > {}",
        ip.src,
        ip.dst
    );
    ensure!(d.yiaddr == P1.ip(), "offered {}", d.yiaddr);
    let opt = |code: u8| d.option(code).map(<[u8]>::to_vec);
    ensure!(
        opt(1) == Some(vec![255, 255, 255, 0]),
        "netmask {:?}",
        opt(1)
    );
    ensure!(
        opt(3) == Some(DHCP_SERVER.octets().to_vec()),
        "router {:?}",
        opt(3)
    );
    ensure!(
        opt(6) == Some(vec![192, 0, 2, 53]),
        "DNS server {:?}",
        opt(6)
    );
    ensure!(
        opt(26) == Some(1442u16.to_be_bytes().to_vec()),
        "MTU {:?}",
        opt(26)
    );
    ensure!(
        opt(51) == Some(3600u32.to_be_bytes().to_vec()),
        "lease {:?}",
        opt(51)
    );
    ensure!(
        opt(54) == Some(DHCP_SERVER.octets().to_vec()),
        "server id {:?}",
        opt(54)
    );
    Ok((f, d))
}

fn udp_payload(f: &Frame, sport: u16, dport: u16) -> Option<&[u8]> {
    let l4 = match &f.body {
        Body::Ipv4(ip) => &ip.l4,
        Body::Ipv6(ip) => &ip.l4,
        _ => return None,
    };
    match l4 {
        L4::Udp {
            src_port,
            dst_port,
            checksum_ok: true,
            payload,
        } if (*src_port, *dst_port) == (sport, dport) => Some(payload),
        _ => None,
    }
}

fn dhcpv4(net: &mut Net) -> Result<Seen> {
    net.inject(P1, &packet::dhcp_discover(P1.mac(), 0x1234_5678))?;
    dhcp_reply(net, 2, 0x1234_5678)?;
    net.inject(
        P1,
        &packet::dhcp_request(P1.mac(), 0x1234_5679, P1.ip(), DHCP_SERVER),
    )?;
    dhcp_reply(net, 5, 0x1234_5679)?;
    net.barrier(P1, P3)?;
    net.barrier(P1, P2)?;
    let seen = net.take()?;
    only_n(&seen, P1, 2)?;
    Ok(seen)
}

fn dhcpv6_reply(net: &Net, kind: u8, xid: [u8; 3]) -> Result<packet::Dhcpv6> {
    let f = net.wait_for(P1, &format!("a DHCPv6 message of type {kind}"), |f| {
        udp_payload(f, 547, 546)
            .and_then(|p| packet::decode_dhcpv6(p).ok())
            .is_some_and(|d| d.msg_type == kind)
    })?;
    let d = udp_payload(&f, 547, 546)
        .and_then(|p| packet::decode_dhcpv6(p).ok())
        .unwrap_or_else(|| unreachable!());
    ensure!(d.xid == xid, "transaction {:?}", d.xid);
    ensure!(
        f.src == mac(DHCPV6_SERVER_MAC) && f.dst == P1.mac(),
        "from {} to {}",
        f.src,
        f.dst
    );
    ensure!(
        d.ia_addresses() == [P1.ip6()],
        "addresses {:?}",
        d.ia_addresses()
    );
    ensure!(
        d.option(23) == Some(&DNS6.octets()[..]),
        "DNS recursive name server {:?}",
        d.option(23)
    );
    Ok(d)
}

fn dhcpv6(net: &mut Net) -> Result<Seen> {
    let iaid = 0x0102_0304;
    net.inject(P1, &packet::dhcpv6_solicit(P1.mac(), [1, 2, 3], iaid))?;
    let advertise = dhcpv6_reply(net, 2, [1, 2, 3])?;
    let Some(server_id) = advertise.option(2) else {
        bail!("no server id in {advertise:?}")
    };
    let server_id = server_id.to_vec();
    net.inject(
        P1,
        &packet::dhcpv6_request(P1.mac(), [4, 5, 6], iaid, &server_id, P1.ip6()),
    )?;
    dhcpv6_reply(net, 7, [4, 5, 6])?;
    net.barrier(P1, P3)?;
    let seen = net.take()?;
    only_n(&seen, P1, 2)?;
    Ok(seen)
}

/// Runs every case on a deployment whose northd is `northd`; the first
/// failing expectation stops the run.
fn run(northd: Impl) -> Result<Vec<Seen>> {
    let mut net = Net::start(northd)?;
    let mut out = Vec::new();
    for (name, case) in CASES {
        // Nothing left over from set-up or the previous case.
        net.take()?;
        let seen = case(&mut net).with_context(|| format!("{northd:?} northd: {name}"));
        if seen.is_err() && std::env::var_os("ROVN_PACKETS_HOLD").is_some() {
            eprintln!(
                "{northd:?} northd: {name} failed; holding {} for 15 minutes",
                net.sandbox.base_dir().display()
            );
            std::thread::sleep(Duration::from_secs(900));
        }
        let seen = seen?;
        eprintln!("{northd:?}: {name}: {}", describe(&seen));
        out.push(seen);
    }
    net.sandbox.check_running()?;
    Ok(out)
}

#[test]
fn logical_switch_forwards_as_debian_northd_makes_it() -> Result<()> {
    // Both deployments at once: they share nothing but the machine.
    let (debian, ours) = std::thread::scope(|s| {
        let debian = s.spawn(|| run(Impl::Debian));
        let ours = s.spawn(|| run(Impl::Ours));
        (
            debian.join().expect("Debian run"),
            ours.join().expect("our run"),
        )
    });
    let (debian, ours) = (debian?, ours?);
    for ((name, _), (d, o)) in CASES.iter().zip(debian.iter().zip(&ours)) {
        ensure!(
            d == o,
            "{name}: Debian's northd made the VIFs send {}; ours made them send {}",
            describe(d),
            describe(o)
        );
    }
    Ok(())
}
