//! Test packets: built here byte by byte (so a test knows exactly what must
//! come out), sent as hex to `netdev-dummy/receive`, and described in one
//! line for people.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// An Ethernet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// An Ethernet frame holding an IPv4 UDP datagram with `payload`. The IPv4
/// checksum is right; the UDP checksum is 0 (none), which IPv4 allows.
pub fn udp(src: (Mac, Ipv4Addr, u16), dst: (Mac, Ipv4Addr, u16), payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(42 + payload.len());
    frame.extend_from_slice(&dst.0.0);
    frame.extend_from_slice(&src.0.0);
    frame.extend_from_slice(&0x0800u16.to_be_bytes());
    let total_len = (20 + 8 + payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total_len.to_be_bytes());
    ip[8] = 64; // ttl
    ip[9] = 17; // UDP
    ip[12..16].copy_from_slice(&src.1.octets());
    ip[16..20].copy_from_slice(&dst.1.octets());
    let checksum = !ones_complement_sum(&ip);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&src.2.to_be_bytes());
    frame.extend_from_slice(&dst.2.to_be_bytes());
    frame.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(payload);
    frame
}

fn ones_complement_sum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// One line for people: addresses and protocol, as far as they are
/// understood, then the length.
pub fn describe(packet: &[u8]) -> String {
    if packet.len() < 14 {
        return format!("runt frame of {} bytes", packet.len());
    }
    let mac = |b: &[u8]| Mac(b.try_into().unwrap()).to_string();
    let mut out = format!("{} > {}", mac(&packet[6..12]), mac(&packet[0..6]));
    let ethertype = u16::from_be_bytes([packet[12], packet[13]]);
    let l3 = &packet[14..];
    match ethertype {
        0x0800 if l3.len() >= 20 => {
            let ihl = usize::from(l3[0] & 0x0f) * 4;
            let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            let _ = write!(out, ", IPv4 {} > {}, ttl {}", ip(&l3[12..16]), ip(&l3[16..20]), l3[8]);
            let l4 = l3.get(ihl..).unwrap_or_default();
            let port = |at: usize| u16::from_be_bytes([l4[at], l4[at + 1]]);
            match l3[9] {
                17 if l4.len() >= 4 => _ = write!(out, ", UDP {} > {}", port(0), port(2)),
                6 if l4.len() >= 4 => _ = write!(out, ", TCP {} > {}", port(0), port(2)),
                1 if l4.len() >= 2 => _ = write!(out, ", ICMP type {} code {}", l4[0], l4[1]),
                proto => _ = write!(out, ", IP protocol {proto}"),
            }
        }
        0x0806 => out.push_str(", ARP"),
        0x86dd => out.push_str(", IPv6"),
        other => _ = write!(out, ", ethertype 0x{other:04x}"),
    }
    let _ = write!(out, ", {} bytes", packet.len());
    out
}

/// The packet as lowercase hex, the form `netdev-dummy/receive` accepts.
pub fn hex(packet: &[u8]) -> String {
    packet.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_describes_udp() {
        let a = (Mac([0x50, 0x54, 0, 0, 0, 1]), Ipv4Addr::new(10, 0, 0, 1), 1234);
        let b = (Mac([0x50, 0x54, 0, 0, 0, 2]), Ipv4Addr::new(10, 0, 0, 2), 5678);
        let frame = udp(a, b, b"hi");
        assert_eq!(
            hex(&frame),
            "505400000002505400000001080045000\
             01e000000004011 66cd 0a0000010a000002 04d2162e000a0000 6869"
                .replace(' ', "")
        );
        assert_eq!(ones_complement_sum(&frame[14..34]), 0xffff, "IPv4 header checksum");
        assert_eq!(
            describe(&frame),
            "50:54:00:00:00:01 > 50:54:00:00:00:02, IPv4 10.0.0.1 > 10.0.0.2, ttl 64, UDP 1234 > 5678, 44 bytes"
        );
        assert_eq!(describe(&frame[..10]), "runt frame of 10 bytes");
    }
}
