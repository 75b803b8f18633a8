//! Any bytes: the frame, DHCP and DHCPv6 decoders and `describe` return,
//! never panic. A UDP datagram they find, built again with its checksum,
//! decodes to the same ports and payload with a right checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandbox::packet::{self, Body, L4};

fuzz_target!(|data: &[u8]| {
    let _ = packet::describe(data);
    let _ = packet::decode_dhcp(data);
    let _ = packet::decode_dhcpv6(data).map(|d| d.ia_addresses());
    let _ = (packet::nd_target(data), packet::nd_option_mac(data, 1));
    let Ok(frame) = packet::decode(data) else { return };
    let (l4, rebuild): (_, &dyn Fn(u16, u16, &[u8]) -> Vec<u8>) = match &frame.body {
        Body::Ipv4(ip) => (&ip.l4, &|sp, dp, p| packet::udp_checksummed((frame.src, ip.src, sp), (frame.dst, ip.dst, dp), p)),
        Body::Ipv6(ip) => (&ip.l4, &|sp, dp, p| packet::udp6((frame.src, ip.src, sp), (frame.dst, ip.dst, dp), p)),
        _ => return,
    };
    let L4::Udp { src_port, dst_port, payload, .. } = l4 else { return };
    let _ = packet::decode_dhcp(payload);
    let _ = packet::decode_dhcpv6(payload).map(|d| d.ia_addresses());
    // What came in had its lengths in 16 bits; it fits again.
    let rebuilt = rebuild(*src_port, *dst_port, payload);
    let again = match packet::decode(&rebuilt).map(|f| f.body) {
        Ok(Body::Ipv4(ip)) if ip.header_checksum_ok => ip.l4,
        Ok(Body::Ipv6(ip)) => ip.l4,
        other => panic!("rebuilt {rebuilt:02x?}: {other:?}"),
    };
    let expected = L4::Udp { src_port: *src_port, dst_port: *dst_port, checksum_ok: true, payload: payload.clone() };
    assert_eq!(again, expected);
});
