use super::*;

const MAC_A: Mac = Mac([0x50, 0x54, 0, 0, 0, 1]);
const MAC_B: Mac = Mac([0x50, 0x54, 0, 0, 0, 2]);
const IP_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const IP_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn ip6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// One frame from every builder, named.
fn every_frame() -> Vec<(&'static str, Vec<u8>)> {
    let ll_a = mac_to_link_local(MAC_A);
    vec![
        ("udp", udp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 5678), b"hi")),
        ("udp_checksummed", udp_checksummed((MAC_A, IP_A, 1234), (MAC_B, IP_B, 5678), b"odd")),
        ("udp6", udp6((MAC_A, ll_a, 1234), (MAC_B, ip6("fe80::2"), 5678), b"six")),
        ("tcp", tcp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 80), 1000, 2000, TCP_PSH | TCP_ACK, b"hello")),
        ("tcp_syn", tcp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 80), 1, 0, TCP_SYN, &[])),
        ("tcp_fin_rst", tcp((MAC_B, IP_B, 80), (MAC_A, IP_A, 1234), 7, 8, TCP_FIN | TCP_RST | TCP_ACK, &[])),
        ("icmp4_echo", icmp4_echo((MAC_A, IP_A), (MAC_B, IP_B), 7, 1)),
        ("arp_request", arp_request(MAC_A, IP_A, IP_B)),
        ("arp_reply", arp_reply(MAC_B, IP_B, MAC_A, IP_A)),
        ("neighbor_solicit", neighbor_solicit(MAC_A, ll_a, ip6("fd00::2"))),
        ("neighbor_solicit_dad", neighbor_solicit(MAC_B, Ipv6Addr::UNSPECIFIED, ip6("fd00::1:2:3"))),
        ("dhcp_discover", dhcp_discover(MAC_A, 0x1234_5678)),
        ("dhcp_request", dhcp_request(MAC_A, 0x1234_5678, IP_A, Ipv4Addr::new(10, 0, 0, 254))),
        ("dhcpv6_solicit", dhcpv6_solicit(MAC_A, [1, 2, 3], 9)),
        ("dhcpv6_request", dhcpv6_request(MAC_A, [1, 2, 3], 9, &[0, 3, 0, 1, 1, 2, 3, 4, 5, 6], ip6("fd00::5"))),
    ]
}

fn ipv4_l4(frame: &[u8]) -> (Ipv4, L4) {
    match decode(frame).unwrap().body {
        Body::Ipv4(ip) => {
            assert!(ip.header_checksum_ok);
            let l4 = ip.l4.clone();
            (ip, l4)
        }
        other => panic!("not IPv4: {other:?}"),
    }
}

fn ipv6_l4(frame: &[u8]) -> (Ipv6, L4) {
    match decode(frame).unwrap().body {
        Body::Ipv6(ip) => {
            let l4 = ip.l4.clone();
            (ip, l4)
        }
        other => panic!("not IPv6: {other:?}"),
    }
}

fn udp_payload(l4: L4) -> Vec<u8> {
    match l4 {
        L4::Udp { checksum_ok: true, payload, .. } => payload,
        other => panic!("not a UDP datagram with a right checksum: {other:?}"),
    }
}

#[test]
fn builds_and_describes_udp() {
    let frame = udp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 5678), b"hi");
    assert_eq!(
        hex(&frame),
        "505400000002505400000001080045000\
         01e000000004011 66cd 0a0000010a000002 04d2162e000a0000 6869"
            .replace(' ', "")
    );
    assert_eq!(ones_complement_sum(&[&frame[14..34]]), 0xffff, "IPv4 header checksum");
    assert_eq!(
        describe(&frame),
        "50:54:00:00:00:01 > 50:54:00:00:00:02, IPv4 10.0.0.1 > 10.0.0.2, ttl 64, UDP 1234 > 5678, 44 bytes"
    );
    assert_eq!(describe(&frame[..10]), "runt frame of 10 bytes");
    // No checksum over IPv4 is a right one.
    assert_eq!(udp_payload(ipv4_l4(&frame).1), b"hi");
}

/// Checksums worked out apart from this code (a few lines of Python over
/// the same fields, RFC 1071's sum).
#[test]
fn known_checksums() {
    let syn = tcp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 80), 1, 0, TCP_SYN, &[]);
    assert_eq!(syn[50..52], [0x96, 0xbd], "TCP SYN checksum");
    let data = tcp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 80), 1000, 2000, TCP_PSH | TCP_ACK, b"hello");
    assert_eq!(data[50..52], [0x47, 0x19], "TCP checksum over an odd payload");
    let ns = neighbor_solicit(MAC_A, ip6("fe80::5254:ff:fe00:1"), ip6("fd00::2"));
    assert_eq!(ns[56..58], [0xdc, 0x6e], "ICMPv6 checksum");
}

#[test]
fn tcp_round_trip() {
    let frame = tcp((MAC_A, IP_A, 1234), (MAC_B, IP_B, 80), 1000, 2000, TCP_PSH | TCP_ACK, b"hello");
    let decoded = decode(&frame).unwrap();
    assert_eq!((decoded.src, decoded.dst, decoded.vlan), (MAC_A, MAC_B, None));
    let (ip, l4) = ipv4_l4(&frame);
    assert_eq!((ip.src, ip.dst, ip.ttl, ip.proto), (IP_A, IP_B, 64, 6));
    let expected = L4::Tcp {
        src_port: 1234,
        dst_port: 80,
        seq: 1000,
        ack: 2000,
        flags: TCP_PSH | TCP_ACK,
        checksum_ok: true,
        payload: b"hello".to_vec(),
    };
    assert_eq!(l4, expected);
    assert_eq!(
        describe(&frame),
        "50:54:00:00:00:01 > 50:54:00:00:00:02, IPv4 10.0.0.1 > 10.0.0.2, ttl 64, \
         TCP 1234 > 80 [PSH,ACK] seq 1000 ack 2000, 5 bytes of data, 59 bytes"
    );
    // A flipped bit shows.
    let mut bad = frame.clone();
    bad[58] ^= 1;
    assert!(matches!(ipv4_l4(&bad).1, L4::Tcp { checksum_ok: false, .. }));
    assert!(describe(&bad).ends_with("bad checksum, 59 bytes"), "{}", describe(&bad));
}

#[test]
fn udp_round_trips() {
    let frame = udp_checksummed((MAC_A, IP_A, 1234), (MAC_B, IP_B, 5678), b"odd");
    assert_ne!(frame[40..42], [0, 0], "a checksum is there");
    let (_, l4) = ipv4_l4(&frame);
    assert!(matches!(l4, L4::Udp { src_port: 1234, dst_port: 5678, .. }));
    assert_eq!(udp_payload(l4), b"odd");

    let ll_a = mac_to_link_local(MAC_A);
    let frame = udp6((MAC_A, ll_a, 1234), (MAC_B, ip6("fe80::2"), 5678), b"six");
    let (ip, l4) = ipv6_l4(&frame);
    assert_eq!((ip.src, ip.dst, ip.hop_limit, ip.next_header), (ll_a, ip6("fe80::2"), 64, 17));
    assert_eq!(udp_payload(l4), b"six");
    // Over IPv6 a zero checksum is wrong.
    let mut zero = frame.clone();
    zero[60..62].fill(0);
    assert!(matches!(ipv6_l4(&zero).1, L4::Udp { checksum_ok: false, .. }));
}

#[test]
fn icmp_echo_round_trip() {
    let frame = icmp4_echo((MAC_A, IP_A), (MAC_B, IP_B), 7, 1);
    let (ip, l4) = ipv4_l4(&frame);
    assert_eq!(ip.proto, 1);
    assert_eq!(l4, L4::Icmp { type_: 8, code: 0, checksum_ok: true, rest: vec![0, 7, 0, 1] });
    assert!(describe(&frame).contains("ICMP echo request id 7 seq 1"), "{}", describe(&frame));
}

#[test]
fn arp_round_trips() {
    let request = decode(&arp_request(MAC_A, IP_A, IP_B)).unwrap();
    assert_eq!((request.dst, request.src), (Mac::BROADCAST, MAC_A));
    assert_eq!(request.body, Body::Arp(Arp { op: 1, sha: MAC_A, spa: IP_A, tha: Mac::ZERO, tpa: IP_B }));
    let reply = decode(&arp_reply(MAC_B, IP_B, MAC_A, IP_A)).unwrap();
    assert_eq!((reply.dst, reply.src), (MAC_A, MAC_B));
    assert_eq!(reply.body, Body::Arp(Arp { op: 2, sha: MAC_B, spa: IP_B, tha: MAC_A, tpa: IP_A }));
    assert_eq!(
        describe(&arp_request(MAC_A, IP_A, IP_B)),
        "50:54:00:00:00:01 > ff:ff:ff:ff:ff:ff, ARP who-has 10.0.0.2 tell 10.0.0.1 (50:54:00:00:00:01), 42 bytes"
    );
    assert!(describe(&arp_reply(MAC_B, IP_B, MAC_A, IP_A)).contains("ARP reply 10.0.0.2 is-at 50:54:00:00:00:02"));
}

#[test]
fn neighbor_solicit_round_trip() {
    assert_eq!(mac_to_link_local(MAC_A), ip6("fe80::5254:ff:fe00:1"));
    let ll_a = mac_to_link_local(MAC_A);
    let frame = neighbor_solicit(MAC_A, ll_a, ip6("fd00::1:2:3"));
    let decoded = decode(&frame).unwrap();
    assert_eq!(decoded.dst, Mac([0x33, 0x33, 0xff, 0x02, 0x00, 0x03]));
    let (ip, l4) = ipv6_l4(&frame);
    assert_eq!((ip.src, ip.dst, ip.hop_limit, ip.next_header), (ll_a, ip6("ff02::1:ff02:3"), 255, 58));
    let L4::Icmp6 { type_: 135, code: 0, checksum_ok: true, rest } = l4 else { panic!("{l4:?}") };
    assert_eq!(nd_target(&rest), Some(ip6("fd00::1:2:3")));
    assert_eq!(nd_option_mac(&rest, 1), Some(MAC_A));
    assert_eq!(nd_option_mac(&rest, 2), None);
    assert!(describe(&frame).contains("ICMPv6 neighbor solicitation who-has fd00::1:2:3"), "{}", describe(&frame));

    // Duplicate address detection: from ::, no source link-layer option.
    let dad = neighbor_solicit(MAC_A, Ipv6Addr::UNSPECIFIED, ll_a);
    let L4::Icmp6 { checksum_ok: true, rest, .. } = ipv6_l4(&dad).1 else { panic!() };
    assert_eq!((nd_target(&rest), nd_option_mac(&rest, 1)), (Some(ll_a), None));
    // A zero-length option ends the search rather than looping.
    let mut looping = rest.clone();
    looping.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(nd_option_mac(&looping, 1), None);
}

#[test]
fn dhcp_round_trips() {
    let frame = dhcp_discover(MAC_A, 0x1234_5678);
    let decoded = decode(&frame).unwrap();
    assert_eq!((decoded.dst, decoded.src), (Mac::BROADCAST, MAC_A));
    let (ip, l4) = ipv4_l4(&frame);
    assert_eq!((ip.src, ip.dst), (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST));
    assert!(matches!(l4, L4::Udp { src_port: 68, dst_port: 67, .. }));
    let dhcp = decode_dhcp(&udp_payload(l4)).unwrap();
    assert_eq!((dhcp.op, dhcp.xid, dhcp.chaddr, dhcp.message_type()), (1, 0x1234_5678, MAC_A, Some(1)));
    assert_eq!(dhcp.options, vec![(53, vec![1])]);
    assert!(describe(&frame).contains("UDP 68 > 67, DHCPDISCOVER"), "{}", describe(&frame));

    let server = Ipv4Addr::new(10, 0, 0, 254);
    let frame = dhcp_request(MAC_A, 9, IP_A, server);
    let dhcp = decode_dhcp(&udp_payload(ipv4_l4(&frame).1)).unwrap();
    assert_eq!(dhcp.message_type(), Some(DHCP_REQUEST));
    assert_eq!(dhcp.option(50), Some(&IP_A.octets()[..]));
    assert_eq!(dhcp.option(54), Some(&server.octets()[..]));
    assert_eq!(dhcp.option(1), None);
}

#[test]
fn dhcpv6_round_trips() {
    let frame = dhcpv6_solicit(MAC_A, [1, 2, 3], 9);
    assert_eq!(decode(&frame).unwrap().dst, Mac([0x33, 0x33, 0, 1, 0, 2]));
    let (ip, l4) = ipv6_l4(&frame);
    assert_eq!((ip.src, ip.dst), (mac_to_link_local(MAC_A), ip6("ff02::1:2")));
    assert!(matches!(l4, L4::Udp { src_port: 546, dst_port: 547, .. }));
    let solicit = decode_dhcpv6(&udp_payload(l4)).unwrap();
    assert_eq!((solicit.msg_type, solicit.xid), (DHCPV6_SOLICIT, [1, 2, 3]));
    assert_eq!(solicit.option(1), Some(&[0, 3, 0, 1, 0x50, 0x54, 0, 0, 0, 1][..]));
    assert_eq!(solicit.option(3), Some(&[0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0][..]));
    assert_eq!(solicit.option(8), Some(&[0, 0][..]));
    assert_eq!(solicit.option(2), None);
    assert_eq!(solicit.ia_addresses(), Vec::<Ipv6Addr>::new());
    assert!(describe(&frame).contains("UDP 546 > 547, DHCPv6 SOLICIT"), "{}", describe(&frame));

    let server_id = [0, 3, 0, 1, 1, 2, 3, 4, 5, 6];
    let frame = dhcpv6_request(MAC_A, [4, 5, 6], 9, &server_id, ip6("fd00::5"));
    let request = decode_dhcpv6(&udp_payload(ipv6_l4(&frame).1)).unwrap();
    assert_eq!((request.msg_type, request.xid), (DHCPV6_REQUEST, [4, 5, 6]));
    assert_eq!(request.option(2), Some(&server_id[..]));
    assert_eq!(request.ia_addresses(), vec![ip6("fd00::5")]);
    let codes: Vec<u16> = request.options.iter().map(|(code, _)| *code).collect();
    assert_eq!(codes, [1, 2, 3, 8]);
}

#[test]
fn vlan_tags_and_padding() {
    let frame = udp_checksummed((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), b"x");
    let mut tagged = frame[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x20, 0x0a]); // priority 1, vid 10
    tagged.extend_from_slice(&frame[12..]);
    tagged.extend_from_slice(&[0; 20]); // Ethernet padding
    let decoded = decode(&tagged).unwrap();
    assert_eq!(decoded.vlan, Some(10));
    let Body::Ipv4(ip) = decoded.body else { panic!() };
    assert_eq!(ip.l4, L4::Udp { src_port: 1, dst_port: 2, checksum_ok: true, payload: b"x".to_vec() });
}

#[test]
fn errors_name_what_is_wrong() {
    let frame = tcp((MAC_A, IP_A, 1), (MAC_B, IP_B, 2), 0, 0, TCP_SYN, &[]);
    assert_eq!(decode(&frame[..40]).unwrap_err(), "IPv4 total length 40 with a 20-byte header in 26 bytes");
    assert_eq!(decode(&frame[..20]).unwrap_err(), "IPv4 header truncated (6 bytes, 20 needed)");
    let mut bad_offset = frame.clone();
    bad_offset[46] = 0x40;
    assert_eq!(decode(&bad_offset).unwrap_err(), "TCP data offset 16 in a 20-byte segment");
    assert_eq!(decode_dhcp(&[0; 10]).unwrap_err(), "BOOTP message truncated (10 bytes, 16 needed)");
    let discover = udp_payload(ipv4_l4(&dhcp_discover(MAC_A, 1)).1);
    assert_eq!(decode_dhcp(&discover[..discover.len() - 1]).unwrap_err(), "DHCP options without the end option");
    assert_eq!(decode_dhcpv6(&[12, 0, 0, 0]).unwrap_err(), "DHCPv6 relay message (type 12)");
    assert_eq!(decode_dhcpv6(&[1, 0, 0, 0, 0, 1, 0, 9, 0]).unwrap_err(), "DHCPv6 option 1 of 9 bytes with 1 left");
}

/// Every prefix of every frame decodes to something or an error, and so do
/// DHCP decoders on every prefix of the UDP payloads.
#[test]
fn truncations_never_panic() {
    for (name, frame) in every_frame() {
        assert!(decode(&frame).is_ok(), "{name}");
        for len in 0..frame.len() {
            let _ = decode(&frame[..len]);
            let _ = describe(&frame[..len]);
        }
        let payload = match decode(&frame).unwrap().body {
            Body::Ipv4(Ipv4 { l4: L4::Udp { payload, .. }, .. }) | Body::Ipv6(Ipv6 { l4: L4::Udp { payload, .. }, .. }) => {
                payload
            }
            _ => continue,
        };
        for len in 0..payload.len() {
            let _ = decode_dhcp(&payload[..len]);
            let _ = decode_dhcpv6(&payload[..len]).map(|d| d.ia_addresses());
        }
    }
}


/// What Open vSwitch's own parser must see in each frame of
/// [`every_frame`], written out by hand.
const OVS_SEES: &[(&str, &[&str])] = &[
    ("udp", &["udp", "nw_src=10.0.0.1", "nw_dst=10.0.0.2", "tp_src=1234", "tp_dst=5678"]),
    ("udp_checksummed", &["udp", "nw_ttl=64", "tp_src=1234", "tp_dst=5678"]),
    ("udp6", &["udp6", "ipv6_src=fe80::5254:ff:fe00:1", "ipv6_dst=fe80::2", "nw_ttl=64", "tp_dst=5678"]),
    ("tcp", &["tcp", "tp_src=1234", "tp_dst=80", "tcp_flags=psh|ack"]),
    ("tcp_syn", &["tcp", "tcp_flags=syn"]),
    ("tcp_fin_rst", &["tcp", "tp_src=80", "tcp_flags=fin|rst|ack"]),
    ("icmp4_echo", &["icmp", "icmp_type=8", "icmp_code=0"]),
    ("arp_request", &["arp", "dl_dst=ff:ff:ff:ff:ff:ff", "arp_op=1", "arp_tha=00:00:00:00:00:00", "arp_tpa=10.0.0.2"]),
    ("arp_reply", &["arp", "arp_op=2", "arp_sha=50:54:00:00:00:02", "arp_tha=50:54:00:00:00:01"]),
    (
        "neighbor_solicit",
        &["icmp6", "dl_dst=33:33:ff:00:00:02", "ipv6_dst=ff02::1:ff00:2", "nw_ttl=255", "icmp_type=135"],
    ),
    ("neighbor_solicit", &["nd_target=fd00::2", "nd_sll=50:54:00:00:00:01"]),
    ("neighbor_solicit_dad", &["ipv6_src=::", "nd_target=fd00::1:2:3", "nd_sll=00:00:00:00:00:00"]),
    ("dhcp_discover", &["udp", "nw_src=0.0.0.0", "nw_dst=255.255.255.255", "tp_src=68", "tp_dst=67"]),
    ("dhcp_request", &["udp", "dl_dst=ff:ff:ff:ff:ff:ff", "tp_src=68", "tp_dst=67"]),
    ("dhcpv6_solicit", &["udp6", "dl_dst=33:33:00:01:00:02", "ipv6_dst=ff02::1:2", "tp_src=546", "tp_dst=547"]),
    ("dhcpv6_request", &["udp6", "ipv6_src=fe80::5254:ff:fe00:1", "tp_src=546", "tp_dst=547"]),
];

/// The fields of Open vSwitch's flow syntax that [`decode`] says `frame`
/// has: a second opinion on every frame, beside [`OVS_SEES`].
fn ovs_fields(frame: &Frame) -> Vec<String> {
    let mut fields = vec![format!("dl_src={}", frame.src), format!("dl_dst={}", frame.dst)];
    let l4 = match &frame.body {
        Body::Arp(arp) => {
            fields.push(format!("arp_op={}", arp.op));
            fields.push(format!("arp_spa={}", arp.spa));
            fields.push(format!("arp_tpa={}", arp.tpa));
            fields.push(format!("arp_sha={}", arp.sha));
            fields.push(format!("arp_tha={}", arp.tha));
            return fields;
        }
        Body::Ipv4(ip) => {
            fields.extend([format!("nw_src={}", ip.src), format!("nw_dst={}", ip.dst), format!("nw_ttl={}", ip.ttl)]);
            &ip.l4
        }
        Body::Ipv6(ip) => {
            fields.extend([format!("ipv6_src={}", ip.src), format!("ipv6_dst={}", ip.dst)]);
            fields.push(format!("nw_ttl={}", ip.hop_limit));
            &ip.l4
        }
        Body::Other { .. } => return fields,
    };
    match l4 {
        L4::Tcp { src_port, dst_port, flags, .. } => {
            let flags = tcp_flag_names(*flags).to_lowercase().replace(',', "|");
            fields.extend([format!("tp_src={src_port}"), format!("tp_dst={dst_port}"), format!("tcp_flags={flags}")]);
        }
        L4::Udp { src_port, dst_port, .. } => {
            fields.extend([format!("tp_src={src_port}"), format!("tp_dst={dst_port}")]);
        }
        L4::Icmp { type_, code, .. } => fields.extend([format!("icmp_type={type_}"), format!("icmp_code={code}")]),
        L4::Icmp6 { type_, code, rest, .. } => {
            fields.extend([format!("icmp_type={type_}"), format!("icmp_code={code}")]);
            if let Some(target) = nd_target(rest) {
                fields.push(format!("nd_target={target}"));
                for (option, name) in [(1, "nd_sll"), (2, "nd_tll")] {
                    fields.push(format!("{name}={}", nd_option_mac(rest, option).unwrap_or(Mac::ZERO)));
                }
            }
        }
        L4::Other(_) => {}
    }
    fields
}

/// Open vSwitch's parser (`ovs-ofctl parse-pcap`) reads every built frame
/// as written down by hand and as [`decode`] reads it.
#[test]
fn open_vswitch_parses_what_we_build() {
    let frames = every_frame();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("every.pcap");
    let bytes: Vec<&[u8]> = frames.iter().map(|(_, frame)| frame.as_slice()).collect();
    crate::pcap::write_file(&path, &bytes).unwrap();
    let ovs_ofctl = crate::tool::debian_program("ovs-ofctl").unwrap();
    let mut cmd = std::process::Command::new(ovs_ofctl);
    cmd.arg("parse-pcap").arg(&path);
    let out = crate::tool::run(&mut cmd, std::time::Duration::from_secs(30)).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), frames.len(), "one flow a frame: {out}");
    let mut checked = 0;
    for ((name, frame), line) in frames.iter().zip(&lines) {
        let seen: Vec<&str> = line.split(',').collect();
        let by_hand = OVS_SEES.iter().filter(|(n, _)| n == name).flat_map(|(_, fields)| fields.iter().map(|f| f.to_string()));
        let by_decode = ovs_fields(&decode(frame).unwrap());
        for field in by_hand.chain(by_decode) {
            assert!(seen.contains(&field.as_str()), "{name}: Open vSwitch does not see {field}: {line}");
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked} fields checked");
    // Every frame has its hand-written expectations.
    for (name, _) in &frames {
        assert!(OVS_SEES.iter().any(|(n, _)| n == name), "{name} has no expectations");
    }
}

/// The frame `ovs-ofctl compose-packet FLOW` makes (Open vSwitch fills in
/// lengths and checksums, and gives TCP, UDP and ICMP a payload of counting
/// bytes).
fn ovs_compose(flow: &str) -> Vec<u8> {
    let ovs_ofctl = crate::tool::debian_program("ovs-ofctl").unwrap();
    let mut cmd = std::process::Command::new(ovs_ofctl);
    cmd.arg("compose-packet").arg(flow);
    let out = crate::tool::run(&mut cmd, std::time::Duration::from_secs(30)).unwrap();
    // A hex dump: offset, then bytes with a '-' after the eighth.
    let bytes = out.lines().flat_map(|line| line.split_whitespace().skip(1).flat_map(|word| word.split('-')));
    bytes.map(|b| u8::from_str_radix(b, 16).unwrap_or_else(|e| panic!("{b} in {out}: {e}"))).collect()
}

/// Open vSwitch's checksums are right by [`decode`], and where our builders
/// can make the same frame it is the same to the byte.
#[test]
fn open_vswitch_composes_what_we_build() {
    // Open vSwitch wants each field's prerequisites before it.
    let ends = "dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,dl_type=0x0800,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64";
    let ends6 = "dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,dl_type=0x86dd,\
                 ipv6_src=fe80::5254:ff:fe00:1,ipv6_dst=fe80::2,nw_ttl=64";
    let (a, b) = ((MAC_A, IP_A, 1234), (MAC_B, IP_B, 5678));

    let ovs = ovs_compose(&format!("{ends},nw_proto=17,udp_src=1234,udp_dst=5678"));
    let payload = udp_payload(ipv4_l4(&ovs).1);
    assert_eq!(hex(&udp_checksummed(a, b, &payload)), hex(&ovs), "UDP");

    let ovs = ovs_compose(&format!("{ends6},nw_proto=17,udp_src=1234,udp_dst=5678"));
    let payload = udp_payload(ipv6_l4(&ovs).1);
    let ll_a = mac_to_link_local(MAC_A);
    assert_eq!(hex(&udp6((MAC_A, ll_a, 1234), (MAC_B, ip6("fe80::2"), 5678), &payload)), hex(&ovs), "UDP over IPv6");

    for flags in ["syn", "psh|ack", "fin|rst"] {
        let ovs = ovs_compose(&format!("{ends},nw_proto=6,tcp_src=1234,tcp_dst=5678,tcp_flags={flags}"));
        let L4::Tcp { seq, ack, flags: f, checksum_ok: true, payload, .. } = ipv4_l4(&ovs).1 else { panic!("{ovs:02x?}") };
        let mut ours = tcp(a, b, seq, ack, f, &payload);
        // Open vSwitch's window is 0, ours 65535: all ones adds nothing to
        // a one's complement sum, so the checksums agree all the same.
        ours[48..50].fill(0);
        assert_eq!(hex(&ours), hex(&ovs), "TCP {flags}");
    }

    let ovs = ovs_compose(&format!("{ends},nw_proto=1,icmp_type=8,icmp_code=0"));
    assert!(matches!(ipv4_l4(&ovs).1, L4::Icmp { type_: 8, checksum_ok: true, .. }), "{ovs:02x?}");

    let ovs = ovs_compose(
        "dl_src=50:54:00:00:00:01,dl_dst=33:33:ff:00:00:02,dl_type=0x86dd,ipv6_src=fe80::5254:ff:fe00:1,\
         ipv6_dst=ff02::1:ff00:2,nw_proto=58,nw_ttl=255,icmpv6_type=135,icmpv6_code=0",
    );
    assert!(matches!(ipv6_l4(&ovs).1, L4::Icmp6 { type_: 135, checksum_ok: true, .. }), "{ovs:02x?}");

    let ovs = ovs_compose(
        "arp,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:01,arp_op=2,arp_spa=10.0.0.2,arp_tpa=10.0.0.1,\
         arp_sha=50:54:00:00:00:02,arp_tha=50:54:00:00:00:01",
    );
    assert_eq!(hex(&arp_reply(MAC_B, IP_B, MAC_A, IP_A)), hex(&ovs), "ARP reply");
}
