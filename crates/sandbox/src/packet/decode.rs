//! Frames back into fields. Whatever the bytes, [`decode`] returns: a
//! field cut short or a length that does not fit is an `Err` naming it; a
//! wrong checksum is not an error but a `false` in the result, since tests
//! want to see it.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{
    Addrs, ETH_ARP, ETH_IPV4, ETH_IPV6, ETH_VLAN, Mac, PROTO_ICMP, PROTO_ICMP6, PROTO_TCP, PROTO_UDP, be16, be32,
    field, ones_complement_sum,
};

/// An Ethernet frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub dst: Mac,
    pub src: Mac,
    /// The VLAN id (12 bits) of an 802.1Q tag, if there is one.
    pub vlan: Option<u16>,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Arp(Arp),
    Ipv4(Ipv4),
    Ipv6(Ipv6),
    /// Any other ethertype, with the bytes after it.
    Other { ethertype: u16, bytes: Vec<u8> },
}

/// An ARP packet for IPv4 over Ethernet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    pub sha: Mac,
    pub spa: Ipv4Addr,
    pub tha: Mac,
    pub tpa: Ipv4Addr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4 {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub proto: u8,
    pub header_checksum_ok: bool,
    /// The transport part; [`L4::Other`] for a fragment.
    pub l4: L4,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6 {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    /// The header after any hop-by-hop, routing and destination options
    /// extension headers (which are skipped): the one `l4` is.
    pub next_header: u8,
    /// The transport part; [`L4::Other`] for a fragment.
    pub l4: L4,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L4 {
    Tcp { src_port: u16, dst_port: u16, seq: u32, ack: u32, flags: u8, checksum_ok: bool, payload: Vec<u8> },
    /// Over IPv4 a checksum of 0 (none) counts as right; over IPv6 it is
    /// wrong.
    Udp { src_port: u16, dst_port: u16, checksum_ok: bool, payload: Vec<u8> },
    /// `rest` is what follows type, code and checksum.
    Icmp { type_: u8, code: u8, checksum_ok: bool, rest: Vec<u8> },
    Icmp6 { type_: u8, code: u8, checksum_ok: bool, rest: Vec<u8> },
    /// Any other protocol, or a fragment: the bytes after the IP headers.
    Other(Vec<u8>),
}

/// Decodes an Ethernet frame. Bytes beyond the IP packet's length (Ethernet
/// padding) are ignored.
pub fn decode(frame: &[u8]) -> Result<Frame, String> {
    let dst = Mac(field(frame, 0, "Ethernet header")?);
    let src = Mac(field(frame, 6, "Ethernet header")?);
    let mut ethertype = be16(frame, 12, "Ethernet header")?;
    let mut at = 14;
    let mut vlan = None;
    if ethertype == ETH_VLAN {
        vlan = Some(be16(frame, 14, "VLAN tag")? & 0x0fff);
        ethertype = be16(frame, 16, "VLAN tag")?;
        at = 18;
    }
    let l3 = &frame[at..];
    let body = match ethertype {
        ETH_ARP => Body::Arp(decode_arp(l3)?),
        ETH_IPV4 => Body::Ipv4(decode_ipv4(l3)?),
        ETH_IPV6 => Body::Ipv6(decode_ipv6(l3)?),
        _ => Body::Other { ethertype, bytes: l3.to_vec() },
    };
    Ok(Frame { dst, src, vlan, body })
}

fn decode_arp(b: &[u8]) -> Result<Arp, String> {
    let kinds: [u8; 6] = field(b, 0, "ARP header")?;
    if kinds != [0, 1, 8, 0, 6, 4] {
        return Err(format!("ARP not for IPv4 over Ethernet (hardware, protocol, lengths {kinds:02x?})"));
    }
    Ok(Arp {
        op: be16(b, 6, "ARP")?,
        sha: Mac(field(b, 8, "ARP")?),
        spa: Ipv4Addr::from(field::<4>(b, 14, "ARP")?),
        tha: Mac(field(b, 18, "ARP")?),
        tpa: Ipv4Addr::from(field::<4>(b, 24, "ARP")?),
    })
}

fn decode_ipv4(b: &[u8]) -> Result<Ipv4, String> {
    let [version_ihl] = field(b, 0, "IPv4 header")?;
    if version_ihl >> 4 != 4 {
        return Err(format!("IPv4 header with version {}", version_ihl >> 4));
    }
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    if header_len < 20 {
        return Err(format!("IPv4 header length {header_len} below 20"));
    }
    let total_len = usize::from(be16(b, 2, "IPv4 header")?);
    let header = b.get(..header_len).ok_or_else(|| format!("IPv4 header truncated ({} bytes, {header_len} needed)", b.len()))?;
    if total_len < header_len || total_len > b.len() {
        return Err(format!("IPv4 total length {total_len} with a {header_len}-byte header in {} bytes", b.len()));
    }
    let src = Ipv4Addr::from(field::<4>(b, 12, "IPv4 header")?);
    let dst = Ipv4Addr::from(field::<4>(b, 16, "IPv4 header")?);
    let proto = header[9];
    let data = &b[header_len..total_len];
    // More fragments, or not the first: the transport header or checksum
    // is not all here.
    let fragment = be16(b, 6, "IPv4 header")? & 0x3fff != 0;
    let l4 = if fragment { L4::Other(data.to_vec()) } else { decode_l4(Addrs::V4(src, dst), proto, data)? };
    Ok(Ipv4 { src, dst, ttl: header[8], proto, header_checksum_ok: ones_complement_sum(&[header]) == 0xffff, l4 })
}

fn decode_ipv6(b: &[u8]) -> Result<Ipv6, String> {
    let [version, ..] = field::<4>(b, 0, "IPv6 header")?;
    if version >> 4 != 6 {
        return Err(format!("IPv6 header with version {}", version >> 4));
    }
    let payload_len = usize::from(be16(b, 4, "IPv6 header")?);
    let [mut next_header, hop_limit] = field(b, 6, "IPv6 header")?;
    let src = Ipv6Addr::from(field::<16>(b, 8, "IPv6 header")?);
    let dst = Ipv6Addr::from(field::<16>(b, 24, "IPv6 header")?);
    let mut data = b
        .get(40..40 + payload_len)
        .ok_or_else(|| format!("IPv6 payload length {payload_len} in {} bytes after the header", b.len() - 40))?;
    let mut fragment = false;
    // Hop-by-hop, routing, fragment, destination options: skipped, their
    // length in 8-byte units after the first 8.
    while matches!(next_header, 0 | 43 | 44 | 60) {
        let [next, len] = field(data, 0, "IPv6 extension header")?;
        let header_len = if next_header == 44 { 8 } else { (usize::from(len) + 1) * 8 };
        fragment |= next_header == 44;
        data = data
            .get(header_len..)
            .ok_or_else(|| format!("IPv6 extension header {next_header} of {header_len} bytes in {}", data.len()))?;
        next_header = next;
    }
    let l4 = if fragment { L4::Other(data.to_vec()) } else { decode_l4(Addrs::V6(src, dst), next_header, data)? };
    Ok(Ipv6 { src, dst, hop_limit, next_header, l4 })
}

fn decode_l4(addrs: Addrs, proto: u8, data: &[u8]) -> Result<L4, String> {
    let ipv6 = matches!(addrs, Addrs::V6(..));
    Ok(match proto {
        PROTO_TCP => {
            let [offset_words, flags] = field(data, 12, "TCP header")?;
            let header_len = usize::from(offset_words >> 4) * 4;
            if header_len < 20 || header_len > data.len() {
                return Err(format!("TCP data offset {header_len} in a {}-byte segment", data.len()));
            }
            L4::Tcp {
                src_port: be16(data, 0, "TCP header")?,
                dst_port: be16(data, 2, "TCP header")?,
                seq: be32(data, 4, "TCP header")?,
                ack: be32(data, 8, "TCP header")?,
                flags,
                checksum_ok: addrs.checksum_ok(proto, data),
                payload: data[header_len..].to_vec(),
            }
        }
        PROTO_UDP => {
            let len = usize::from(be16(data, 4, "UDP header")?);
            if len < 8 || len > data.len() {
                return Err(format!("UDP length {len} in {} bytes", data.len()));
            }
            let datagram = &data[..len];
            let checksum = be16(data, 6, "UDP header")?;
            L4::Udp {
                src_port: be16(data, 0, "UDP header")?,
                dst_port: be16(data, 2, "UDP header")?,
                checksum_ok: if checksum == 0 { !ipv6 } else { addrs.checksum_ok(proto, datagram) },
                payload: datagram[8..].to_vec(),
            }
        }
        PROTO_ICMP if !ipv6 => {
            let [type_, code] = field(data, 0, "ICMP header")?;
            be16(data, 2, "ICMP header")?;
            L4::Icmp { type_, code, checksum_ok: addrs.checksum_ok(proto, data), rest: data[4..].to_vec() }
        }
        PROTO_ICMP6 if ipv6 => {
            let [type_, code] = field(data, 0, "ICMPv6 header")?;
            be16(data, 2, "ICMPv6 header")?;
            L4::Icmp6 { type_, code, checksum_ok: addrs.checksum_ok(proto, data), rest: data[4..].to_vec() }
        }
        _ => L4::Other(data.to_vec()),
    })
}

/// The target address of a neighbor solicitation or advertisement, from
/// the `rest` of its ICMPv6 message (4 bytes of flags and reserved, then
/// the target).
pub fn nd_target(rest: &[u8]) -> Option<Ipv6Addr> {
    field::<16>(rest, 4, "").ok().map(Ipv6Addr::from)
}

/// The Ethernet address in the first option of `option_type` (1 source,
/// 2 target link-layer address) after the target of a neighbor
/// solicitation or advertisement; `None` without one, or where the options
/// are malformed before it.
pub fn nd_option_mac(rest: &[u8], option_type: u8) -> Option<Mac> {
    let mut options = rest.get(20..)?;
    while let [kind, len, ..] = *options {
        let len = usize::from(len) * 8;
        let option = options.get(..len).filter(|_| len > 0)?;
        if kind == option_type {
            return field(option, 2, "").ok().map(Mac);
        }
        options = &options[len..];
    }
    None
}
