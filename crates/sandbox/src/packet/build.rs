//! Ethernet frames built byte by byte, every checksum right (IPv4 header:
//! RFC 791; TCP: RFC 793; UDP: RFC 768; ICMP: RFC 792; ICMPv6 and neighbor
//! discovery: RFC 4443 and RFC 4861; ARP: RFC 826).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{
    Addrs, ETH_ARP, ETH_IPV4, ETH_IPV6, Mac, PROTO_ICMP, PROTO_ICMP6, PROTO_TCP, PROTO_UDP, ones_complement_sum,
};

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;

/// The TTL of the IPv4 packets built here, and the hop limit of IPv6 ones
/// (but neighbor discovery, which must be 255).
pub const TTL: u8 = 64;

/// An Ethernet frame holding an IPv4 UDP datagram with `payload`. The IPv4
/// checksum is right; the UDP checksum is 0 (none), which IPv4 allows. See
/// [`udp_checksummed`] for one with a checksum.
pub fn udp(src: (Mac, Ipv4Addr, u16), dst: (Mac, Ipv4Addr, u16), payload: &[u8]) -> Vec<u8> {
    let segment = udp_segment(src.2, dst.2, payload);
    ethernet(dst.0, src.0, ETH_IPV4, &ipv4_packet(src.1, dst.1, PROTO_UDP, &segment))
}

/// An Ethernet frame holding an IPv4 UDP datagram with `payload`, its UDP
/// checksum computed.
pub fn udp_checksummed(src: (Mac, Ipv4Addr, u16), dst: (Mac, Ipv4Addr, u16), payload: &[u8]) -> Vec<u8> {
    ipv4_frame((src.0, src.1), (dst.0, dst.1), PROTO_UDP, udp_segment(src.2, dst.2, payload))
}

/// An Ethernet frame holding an IPv6 UDP datagram with `payload`, hop limit
/// 64 (IPv6 requires the UDP checksum; it is right).
pub fn udp6(src: (Mac, Ipv6Addr, u16), dst: (Mac, Ipv6Addr, u16), payload: &[u8]) -> Vec<u8> {
    ipv6_frame((src.0, src.1), (dst.0, dst.1), PROTO_UDP, TTL, udp_segment(src.2, dst.2, payload))
}

/// An Ethernet frame holding an IPv4 TCP segment: `flags` from the `TCP_*`
/// bits, window 65535, no options.
pub fn tcp(src: (Mac, Ipv4Addr, u16), dst: (Mac, Ipv4Addr, u16), seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut segment = Vec::with_capacity(20 + payload.len());
    segment.extend_from_slice(&src.2.to_be_bytes());
    segment.extend_from_slice(&dst.2.to_be_bytes());
    segment.extend_from_slice(&seq.to_be_bytes());
    segment.extend_from_slice(&ack.to_be_bytes());
    // Data offset 5 words (no options), then the flags.
    segment.extend_from_slice(&[5 << 4, flags]);
    segment.extend_from_slice(&u16::MAX.to_be_bytes()); // window
    segment.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    segment.extend_from_slice(payload);
    ipv4_frame((src.0, src.1), (dst.0, dst.1), PROTO_TCP, segment)
}

/// An Ethernet frame holding an ICMP echo request (type 8) without data.
pub fn icmp4_echo(src: (Mac, Ipv4Addr), dst: (Mac, Ipv4Addr), id: u16, seq: u16) -> Vec<u8> {
    let mut message = vec![8, 0, 0, 0];
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&seq.to_be_bytes());
    ipv4_frame(src, dst, PROTO_ICMP, message)
}

/// A broadcast ARP request from `sha`/`spa` for `tpa`, target hardware
/// address zero.
pub fn arp_request(sha: Mac, spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    ethernet(Mac::BROADCAST, sha, ETH_ARP, &arp(1, sha, spa, Mac::ZERO, tpa))
}

/// An ARP reply, `spa` is at `sha`, sent to `tha`.
pub fn arp_reply(sha: Mac, spa: Ipv4Addr, tha: Mac, tpa: Ipv4Addr) -> Vec<u8> {
    ethernet(tha, sha, ETH_ARP, &arp(2, sha, spa, tha, tpa))
}

fn arp(op: u16, sha: Mac, spa: Ipv4Addr, tha: Mac, tpa: Ipv4Addr) -> Vec<u8> {
    let mut out = Vec::with_capacity(28);
    out.extend_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    out.extend_from_slice(&ETH_IPV4.to_be_bytes()); // protocol: IPv4
    out.extend_from_slice(&[6, 4]);
    out.extend_from_slice(&op.to_be_bytes());
    out.extend_from_slice(&sha.0);
    out.extend_from_slice(&spa.octets());
    out.extend_from_slice(&tha.0);
    out.extend_from_slice(&tpa.octets());
    out
}

/// A neighbor solicitation (RFC 4861 4.3) from `src`/`src_ip` for `target`,
/// to the target's solicited-node multicast address and its multicast MAC,
/// hop limit 255, with a source link-layer address option (but from the
/// unspecified address, duplicate address detection, where the RFC forbids
/// it).
pub fn neighbor_solicit(src: Mac, src_ip: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let t = target.octets();
    let dst_ip = Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, t[13], t[14], t[15]]);
    let mut message = vec![135, 0, 0, 0, 0, 0, 0, 0];
    message.extend_from_slice(&t);
    if !src_ip.is_unspecified() {
        message.extend_from_slice(&[1, 1]);
        message.extend_from_slice(&src.0);
    }
    ipv6_frame((src, src_ip), (multicast_mac(dst_ip), dst_ip), PROTO_ICMP6, 255, message)
}

/// The Ethernet address an IPv6 multicast address maps to (RFC 2464 7):
/// 33:33 and its last four bytes.
pub fn multicast_mac(ip: Ipv6Addr) -> Mac {
    let o = ip.octets();
    Mac([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// The link-local address fe80::/64 with the modified EUI-64 interface
/// identifier of `mac` (RFC 4291 appendix A): ff:fe in the middle, the
/// universal/local bit flipped.
pub fn mac_to_link_local(mac: Mac) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
}

fn udp_segment(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut segment = Vec::with_capacity(8 + payload.len());
    segment.extend_from_slice(&src_port.to_be_bytes());
    segment.extend_from_slice(&dst_port.to_be_bytes());
    segment.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    segment.extend_from_slice(&[0, 0]);
    segment.extend_from_slice(payload);
    segment
}

/// Writes the transport checksum of `segment` (protocol `proto`) in its
/// place. A UDP checksum that comes out 0 is sent as 0xffff, 0 meaning none.
fn fill_checksum(addrs: Addrs, proto: u8, segment: &mut [u8]) {
    let at = match proto {
        PROTO_TCP => 16,
        PROTO_UDP => 6,
        _ => 2,
    };
    segment[at..at + 2].fill(0);
    let mut checksum = !ones_complement_sum(&[&addrs.pseudo_header(proto, segment.len()), segment]);
    if proto == PROTO_UDP && checksum == 0 {
        checksum = 0xffff;
    }
    segment[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
}

fn ipv4_frame(src: (Mac, Ipv4Addr), dst: (Mac, Ipv4Addr), proto: u8, mut segment: Vec<u8>) -> Vec<u8> {
    fill_checksum(Addrs::V4(src.1, dst.1), proto, &mut segment);
    ethernet(dst.0, src.0, ETH_IPV4, &ipv4_packet(src.1, dst.1, proto, &segment))
}

fn ipv6_frame(src: (Mac, Ipv6Addr), dst: (Mac, Ipv6Addr), next_header: u8, hop_limit: u8, mut segment: Vec<u8>) -> Vec<u8> {
    fill_checksum(Addrs::V6(src.1, dst.1), next_header, &mut segment);
    let mut packet = Vec::with_capacity(40 + segment.len());
    packet.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, no traffic class or flow label
    packet.extend_from_slice(&(segment.len() as u16).to_be_bytes());
    packet.extend_from_slice(&[next_header, hop_limit]);
    packet.extend_from_slice(&src.1.octets());
    packet.extend_from_slice(&dst.1.octets());
    packet.extend_from_slice(&segment);
    ethernet(dst.0, src.0, ETH_IPV6, &packet)
}

/// An IPv4 header (no options, not fragmented, TTL 64, checksum right)
/// followed by `segment`.
fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, segment: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 20];
    header[0] = 0x45; // version 4, 5 words
    header[2..4].copy_from_slice(&((20 + segment.len()) as u16).to_be_bytes());
    header[8] = TTL;
    header[9] = proto;
    header[12..16].copy_from_slice(&src.octets());
    header[16..20].copy_from_slice(&dst.octets());
    let checksum = !ones_complement_sum(&[&header]);
    header[10..12].copy_from_slice(&checksum.to_be_bytes());
    let mut packet = header.to_vec();
    packet.extend_from_slice(segment);
    packet
}

fn ethernet(dst: Mac, src: Mac, ethertype: u16, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + body.len());
    frame.extend_from_slice(&dst.0);
    frame.extend_from_slice(&src.0);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(body);
    frame
}
