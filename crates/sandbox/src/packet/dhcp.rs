//! DHCP: client messages built as a client sends them, and decoders for the
//! servers' answers. DHCPv4 is RFC 2131 (the BOOTP message) with RFC 2132's
//! options; DHCPv6 is RFC 8415.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Mac, be16, be32, build, field};

/// The four bytes that open DHCPv4 options (RFC 2131 3).
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Where the options start: the 236 bytes of the BOOTP message, the cookie.
const OPTIONS_AT: usize = 240;

pub const DHCP_DISCOVER: u8 = 1;
pub const DHCP_OFFER: u8 = 2;
pub const DHCP_REQUEST: u8 = 3;
pub const DHCP_ACK: u8 = 5;
pub const DHCP_NAK: u8 = 6;

pub const DHCPV6_SOLICIT: u8 = 1;
pub const DHCPV6_ADVERTISE: u8 = 2;
pub const DHCPV6_REQUEST: u8 = 3;
pub const DHCPV6_REPLY: u8 = 7;

/// The DHCPv6 all-relay-agents-and-servers address.
pub const DHCPV6_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0x1, 0x2);

/// A DHCPDISCOVER broadcast by `mac` (UDP 68 to 67, 0.0.0.0 to
/// 255.255.255.255).
pub fn dhcp_discover(mac: Mac, xid: u32) -> Vec<u8> {
    dhcp_client(mac, xid, &[(53, &[DHCP_DISCOVER])])
}

/// A DHCPREQUEST broadcast by `mac` for `requested`, answering `server`'s
/// offer (options 50 and 54).
pub fn dhcp_request(mac: Mac, xid: u32, requested: Ipv4Addr, server: Ipv4Addr) -> Vec<u8> {
    dhcp_client(mac, xid, &[(53, &[DHCP_REQUEST]), (50, &requested.octets()), (54, &server.octets())])
}

fn dhcp_client(mac: Mac, xid: u32, options: &[(u8, &[u8])]) -> Vec<u8> {
    let mut message = vec![0u8; OPTIONS_AT];
    message[..4].copy_from_slice(&[1, 1, 6, 0]); // BOOTREQUEST, Ethernet, 6-byte address, no hops
    message[4..8].copy_from_slice(&xid.to_be_bytes());
    message[28..34].copy_from_slice(&mac.0); // chaddr
    message[236..240].copy_from_slice(&MAGIC_COOKIE);
    for (code, value) in options {
        message.extend_from_slice(&[*code, value.len() as u8]);
        message.extend_from_slice(value);
    }
    message.push(255);
    build::udp_checksummed((mac, Ipv4Addr::UNSPECIFIED, 68), (Mac::BROADCAST, Ipv4Addr::BROADCAST, 67), &message)
}

/// A DHCPv4 message (either direction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcp {
    /// 1 BOOTREQUEST, 2 BOOTREPLY.
    pub op: u8,
    pub xid: u32,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    /// The first 6 bytes of chaddr.
    pub chaddr: Mac,
    /// Options in order, without pad and end.
    pub options: Vec<(u8, Vec<u8>)>,
}

impl Dhcp {
    /// The value of the first option `code`.
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options.iter().find(|(c, _)| *c == code).map(|(_, v)| v.as_slice())
    }

    /// The DHCP message type (option 53): 1 DISCOVER, 2 OFFER, 3 REQUEST,
    /// 5 ACK, 6 NAK, ...
    pub fn message_type(&self) -> Option<u8> {
        match self.option(53)? {
            [t] => Some(*t),
            _ => None,
        }
    }
}

/// Decodes the UDP payload of a DHCPv4 message. Options must end with the
/// end option (255); pad (0) is skipped.
pub fn decode_dhcp(udp_payload: &[u8]) -> Result<Dhcp, String> {
    let b = udp_payload;
    let addr = |at: usize| field::<4>(b, at, "BOOTP message").map(Ipv4Addr::from);
    let [op, ..] = field::<4>(b, 0, "BOOTP message")?;
    let xid = be32(b, 4, "BOOTP message")?;
    let (ciaddr, yiaddr, siaddr) = (addr(12)?, addr(16)?, addr(20)?);
    let chaddr = Mac(field(b, 28, "BOOTP message")?);
    let cookie: [u8; 4] = field(b, 236, "DHCP magic cookie")?;
    if cookie != MAGIC_COOKIE {
        return Err(format!("DHCP magic cookie {cookie:02x?}"));
    }
    let mut options = Vec::new();
    let mut rest = &b[OPTIONS_AT..];
    loop {
        match *rest {
            [] => return Err("DHCP options without the end option".to_owned()),
            [255, ..] => break,
            [0, ref after @ ..] => rest = after,
            [code, ref after @ ..] => {
                let (len, after) = after.split_first().ok_or_else(|| format!("DHCP option {code} without its length"))?;
                let value = after
                    .get(..usize::from(*len))
                    .ok_or_else(|| format!("DHCP option {code} of {len} bytes in {}", after.len()))?;
                options.push((code, value.to_vec()));
                rest = &after[value.len()..];
            }
        }
    }
    Ok(Dhcp { op, xid, ciaddr, yiaddr, siaddr, chaddr, options })
}

/// The name of a DHCPv4 message type, as in "DHCPDISCOVER".
pub fn dhcp_message_name(message_type: u8) -> Option<&'static str> {
    let names = ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPDECLINE", "DHCPACK", "DHCPNAK", "DHCPRELEASE", "DHCPINFORM"];
    names.get(usize::from(message_type).checked_sub(1)?).copied()
}

/// A DHCPv6 Solicit from `mac`'s link-local address (UDP 546 to 547, to
/// ff02::1:2): client identifier (a DUID-LL of `mac`), one IA_NA `iaid`
/// with T1 = T2 = 0, elapsed time 0.
pub fn dhcpv6_solicit(mac: Mac, xid: [u8; 3], iaid: u32) -> Vec<u8> {
    dhcpv6_client(mac, DHCPV6_SOLICIT, xid, None, iaid, None)
}

/// A DHCPv6 Request for `addr` from server `server_id` (its DUID, option 2),
/// otherwise as [`dhcpv6_solicit`]; the IA_NA holds an IA address option
/// with `addr`, lifetimes 0.
pub fn dhcpv6_request(mac: Mac, xid: [u8; 3], iaid: u32, server_id: &[u8], addr: Ipv6Addr) -> Vec<u8> {
    dhcpv6_client(mac, DHCPV6_REQUEST, xid, Some(server_id), iaid, Some(addr))
}

fn dhcpv6_client(mac: Mac, msg_type: u8, xid: [u8; 3], server_id: Option<&[u8]>, iaid: u32, addr: Option<Ipv6Addr>) -> Vec<u8> {
    let mut message = vec![msg_type, xid[0], xid[1], xid[2]];
    // DUID-LL (type 3) for Ethernet (hardware type 1).
    let mut duid = vec![0, 3, 0, 1];
    duid.extend_from_slice(&mac.0);
    push_option6(&mut message, 1, &duid);
    if let Some(server_id) = server_id {
        push_option6(&mut message, 2, server_id);
    }
    let mut ia_na = iaid.to_be_bytes().to_vec();
    ia_na.extend_from_slice(&[0; 8]); // T1, T2
    if let Some(addr) = addr {
        let mut ia_addr = addr.octets().to_vec();
        ia_addr.extend_from_slice(&[0; 8]); // preferred and valid lifetimes
        push_option6(&mut ia_na, 5, &ia_addr);
    }
    push_option6(&mut message, 3, &ia_na);
    push_option6(&mut message, 8, &[0, 0]);
    let src = (mac, build::mac_to_link_local(mac), 546);
    build::udp6(src, (build::multicast_mac(DHCPV6_SERVERS), DHCPV6_SERVERS, 547), &message)
}

fn push_option6(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// A DHCPv6 client/server message (not a relay message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcpv6 {
    /// 1 Solicit, 2 Advertise, 3 Request, 7 Reply, ...
    pub msg_type: u8,
    pub xid: [u8; 3],
    /// Top-level options in order.
    pub options: Vec<(u16, Vec<u8>)>,
}

impl Dhcpv6 {
    /// The value of the first top-level option `code`.
    pub fn option(&self, code: u16) -> Option<&[u8]> {
        self.options.iter().find(|(c, _)| *c == code).map(|(_, v)| v.as_slice())
    }

    /// The addresses of the IA address options (5) in every IA_NA (3);
    /// malformed ones are left out.
    pub fn ia_addresses(&self) -> Vec<Ipv6Addr> {
        let ia_nas = self.options.iter().filter(|(code, _)| *code == 3);
        // An IA_NA: IAID, T1, T2, then options.
        let sub_options = ia_nas.filter_map(|(_, value)| value.get(12..)).flat_map(|b| options6(b).unwrap_or_default());
        sub_options.filter(|(code, _)| *code == 5).filter_map(|(_, v)| field::<16>(&v, 0, "").ok()).map(Ipv6Addr::from).collect()
    }
}

/// Decodes the UDP payload of a DHCPv6 client/server message.
pub fn decode_dhcpv6(udp_payload: &[u8]) -> Result<Dhcpv6, String> {
    let [msg_type, a, b, c] = field(udp_payload, 0, "DHCPv6 message")?;
    if matches!(msg_type, 12 | 13) {
        return Err(format!("DHCPv6 relay message (type {msg_type})"));
    }
    Ok(Dhcpv6 { msg_type, xid: [a, b, c], options: options6(&udp_payload[4..])? })
}

/// DHCPv6 options: 16-bit code, 16-bit length, value; to the end of `b`.
fn options6(mut b: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, String> {
    let mut options = Vec::new();
    while !b.is_empty() {
        let code = be16(b, 0, "DHCPv6 option")?;
        let len = usize::from(be16(b, 2, "DHCPv6 option")?);
        let value = b.get(4..4 + len).ok_or_else(|| format!("DHCPv6 option {code} of {len} bytes with {} left", b.len() - 4))?;
        options.push((code, value.to_vec()));
        b = &b[4 + len..];
    }
    Ok(options)
}

/// The name of a DHCPv6 message type, as in "SOLICIT".
pub fn dhcpv6_message_name(msg_type: u8) -> Option<&'static str> {
    let names = [
        "SOLICIT",
        "ADVERTISE",
        "REQUEST",
        "CONFIRM",
        "RENEW",
        "REBIND",
        "REPLY",
        "RELEASE",
        "DECLINE",
        "RECONFIGURE",
        "INFORMATION-REQUEST",
        "RELAY-FORW",
        "RELAY-REPL",
    ];
    names.get(usize::from(msg_type).checked_sub(1)?).copied()
}
