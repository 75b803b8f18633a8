//! Test packets: built here byte by byte (so a test knows exactly what must
//! come out), sent as hex to `netdev-dummy/receive`, read back and decoded
//! (so a test can say what came out), and described in one line for people.
//!
//! # Layout
//!
//! - [`build`]: Ethernet frames of ARP, IPv4 (TCP, UDP, ICMP echo) and
//!   IPv6 (UDP, neighbor solicitation), every checksum right.
//! - [`dhcp`]: DHCPv4 and DHCPv6 client messages, and decoders of the
//!   messages servers answer with.
//! - [`decode`]: frames back into fields, checksums verified; never
//!   panics, whatever the bytes.
//!
//! Everything is re-exported here: tests write `packet::tcp(..)`,
//! `packet::decode(..)`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

pub mod build;
pub mod decode;
pub mod dhcp;

pub use build::*;
pub use decode::*;
pub use dhcp::*;

#[cfg(test)]
mod tests;

/// An Ethernet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    /// 00:00:00:00:00:00.
    pub const ZERO: Mac = Mac([0; 6]);
}

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

pub(crate) const ETH_IPV4: u16 = 0x0800;
pub(crate) const ETH_ARP: u16 = 0x0806;
pub(crate) const ETH_VLAN: u16 = 0x8100;
pub(crate) const ETH_IPV6: u16 = 0x86dd;
pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const PROTO_ICMP6: u8 = 58;

/// The 16-bit one's complement sum (RFC 1071) of the parts taken as one run
/// of bytes, an odd last byte padded with zero. A checksummed run sums to
/// 0xffff; the checksum to write is the complement of the sum without it.
pub(crate) fn ones_complement_sum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    let mut high = true;
    for &byte in parts.iter().flat_map(|part| part.iter()) {
        sum += if high { u64::from(byte) << 8 } else { u64::from(byte) };
        high = !high;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The two addresses of an IP packet, which its transport checksum covers
/// through a pseudo-header.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Addrs {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

impl Addrs {
    /// The pseudo-header for `len` bytes of protocol `proto`: RFC 793 3.1
    /// (IPv4: source, destination, zero, protocol, 16-bit length) or
    /// RFC 8200 8.1 (IPv6: source, destination, 32-bit length, three zeros,
    /// next header). ICMPv4 has none.
    pub(crate) fn pseudo_header(self, proto: u8, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(40);
        match self {
            Addrs::V4(_, _) if proto == PROTO_ICMP => {}
            Addrs::V4(src, dst) => {
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
                out.extend_from_slice(&[0, proto]);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            Addrs::V6(src, dst) => {
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
                out.extend_from_slice(&(len as u32).to_be_bytes());
                out.extend_from_slice(&[0, 0, 0, proto]);
            }
        }
        out
    }

    /// Whether the transport checksum of `segment` is right.
    pub(crate) fn checksum_ok(self, proto: u8, segment: &[u8]) -> bool {
        ones_complement_sum(&[&self.pseudo_header(proto, segment.len()), segment]) == 0xffff
    }
}

/// `N` bytes of `bytes` at `at`, or an error saying that `what` is cut
/// short.
pub(crate) fn field<const N: usize>(bytes: &[u8], at: usize, what: &str) -> Result<[u8; N], String> {
    at.checked_add(N)
        .and_then(|end| bytes.get(at..end))
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{what} truncated ({} bytes, {} needed)", bytes.len(), at.saturating_add(N)))
}

pub(crate) fn be16(bytes: &[u8], at: usize, what: &str) -> Result<u16, String> {
    field(bytes, at, what).map(u16::from_be_bytes)
}

pub(crate) fn be32(bytes: &[u8], at: usize, what: &str) -> Result<u32, String> {
    field(bytes, at, what).map(u32::from_be_bytes)
}

/// One line for people: addresses and protocol, as far as they are
/// understood, then the length.
pub fn describe(packet: &[u8]) -> String {
    if packet.len() < 14 {
        return format!("runt frame of {} bytes", packet.len());
    }
    let mac = |b: &[u8]| Mac(b.try_into().unwrap_or_default()).to_string();
    let mut out = format!("{} > {}", mac(&packet[6..12]), mac(&packet[0..6]));
    match decode(packet) {
        Err(e) => _ = write!(out, ", {e}"),
        Ok(frame) => {
            if let Some(vid) = frame.vlan {
                let _ = write!(out, ", vlan {vid}");
            }
            describe_body(&mut out, &frame.body);
        }
    }
    let _ = write!(out, ", {} bytes", packet.len());
    out
}

fn describe_body(out: &mut String, body: &Body) {
    match body {
        Body::Arp(arp) => match arp.op {
            1 => _ = write!(out, ", ARP who-has {} tell {} ({})", arp.tpa, arp.spa, arp.sha),
            2 => _ = write!(out, ", ARP reply {} is-at {} to {} ({})", arp.spa, arp.sha, arp.tpa, arp.tha),
            op => _ = write!(out, ", ARP op {op} {} ({}) > {} ({})", arp.spa, arp.sha, arp.tpa, arp.tha),
        },
        Body::Ipv4(ip) => {
            let _ = write!(out, ", IPv4 {} > {}, ttl {}", ip.src, ip.dst, ip.ttl);
            if !ip.header_checksum_ok {
                out.push_str(", bad header checksum");
            }
            describe_l4(out, ip.proto, &ip.l4);
        }
        Body::Ipv6(ip) => {
            let _ = write!(out, ", IPv6 {} > {}, hop limit {}", ip.src, ip.dst, ip.hop_limit);
            describe_l4(out, ip.next_header, &ip.l4);
        }
        Body::Other { ethertype, .. } => _ = write!(out, ", ethertype 0x{ethertype:04x}"),
    }
}

fn describe_l4(out: &mut String, proto: u8, l4: &L4) {
    let checksum_ok = match l4 {
        L4::Tcp { src_port, dst_port, flags, seq, ack, payload, checksum_ok } => {
            let _ = write!(out, ", TCP {src_port} > {dst_port} [{}] seq {seq}", tcp_flag_names(*flags));
            if flags & TCP_ACK != 0 {
                let _ = write!(out, " ack {ack}");
            }
            if !payload.is_empty() {
                let _ = write!(out, ", {} bytes of data", payload.len());
            }
            checksum_ok
        }
        L4::Udp { src_port, dst_port, payload, checksum_ok } => {
            let _ = write!(out, ", UDP {src_port} > {dst_port}");
            let ports = [*src_port, *dst_port];
            let dhcp = if ports.contains(&67) || ports.contains(&68) {
                decode_dhcp(payload).ok().and_then(|d| d.message_type()).and_then(dhcp_message_name).map(str::to_owned)
            } else if ports.contains(&546) || ports.contains(&547) {
                decode_dhcpv6(payload).ok().and_then(|d| dhcpv6_message_name(d.msg_type)).map(|n| format!("DHCPv6 {n}"))
            } else {
                None
            };
            if let Some(name) = dhcp {
                let _ = write!(out, ", {name}");
            }
            checksum_ok
        }
        L4::Icmp { type_, code, rest, checksum_ok } => {
            match (type_, rest.get(0..4)) {
                (0 | 8, Some(id_seq)) => {
                    let what = if *type_ == 8 { "request" } else { "reply" };
                    let id = u16::from_be_bytes([id_seq[0], id_seq[1]]);
                    let seq = u16::from_be_bytes([id_seq[2], id_seq[3]]);
                    let _ = write!(out, ", ICMP echo {what} id {id} seq {seq}");
                }
                _ => _ = write!(out, ", ICMP type {type_} code {code}"),
            }
            checksum_ok
        }
        L4::Icmp6 { type_, code, rest, checksum_ok } => {
            let target = nd_target(rest);
            match (type_, target) {
                (135, Some(target)) => _ = write!(out, ", ICMPv6 neighbor solicitation who-has {target}"),
                (136, Some(target)) => {
                    let _ = write!(out, ", ICMPv6 neighbor advertisement {target}");
                    if let Some(mac) = nd_option_mac(rest, 2) {
                        let _ = write!(out, " is-at {mac}");
                    }
                }
                _ => match icmp6_type_name(*type_) {
                    Some(name) => _ = write!(out, ", ICMPv6 {name}"),
                    None => _ = write!(out, ", ICMPv6 type {type_} code {code}"),
                },
            }
            checksum_ok
        }
        L4::Other(_) => {
            let _ = write!(out, ", IP protocol {proto}");
            &true
        }
    };
    if !checksum_ok {
        out.push_str(", bad checksum");
    }
}

/// TCP flags by name, as in "SYN,ACK"; "none" without any.
pub fn tcp_flag_names(flags: u8) -> String {
    const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
    let names: Vec<&str> = (0..8).filter(|bit| flags & (1 << bit) != 0).map(|bit| NAMES[bit]).collect();
    if names.is_empty() { "none".to_owned() } else { names.join(",") }
}

fn icmp6_type_name(type_: u8) -> Option<&'static str> {
    Some(match type_ {
        1 => "destination unreachable",
        2 => "packet too big",
        3 => "time exceeded",
        4 => "parameter problem",
        128 => "echo request",
        129 => "echo reply",
        130 => "multicast listener query",
        131 => "multicast listener report",
        133 => "router solicitation",
        134 => "router advertisement",
        135 => "neighbor solicitation",
        136 => "neighbor advertisement",
        137 => "redirect",
        143 => "multicast listener report v2",
        _ => return None,
    })
}

/// The packet as lowercase hex, the form `netdev-dummy/receive` accepts.
pub fn hex(packet: &[u8]) -> String {
    packet.iter().map(|b| format!("{b:02x}")).collect()
}
