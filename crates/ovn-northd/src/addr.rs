//! Ethernet and IP addresses as northd reads them from Northbound strings
//! ("MAC IP IP...", CIDRs, "dynamic ..."), and the derived addresses it
//! writes into flows (solicited-node multicast, link-local, EUI-64), all
//! printed the way Open vSwitch prints them so that flows compare equal.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An Ethernet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const ZERO: Mac = Mac([0; 6]);

    pub fn to_u64(self) -> u64 {
        self.0.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    }

    pub fn from_u64(v: u64) -> Mac {
        let mut m = [0u8; 6];
        for (i, b) in m.iter_mut().enumerate() {
            *b = (v >> (8 * (5 - i))) as u8;
        }
        Mac(m)
    }

    /// Parses a MAC at the start of `s` as `ovs_scan(s, ETH_ADDR_SCAN_FMT)`
    /// does (one or two hex digits per byte, leading blanks skipped);
    /// returns it and the number of bytes consumed.
    pub fn scan(s: &str) -> Option<(Mac, usize)> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut out = [0u8; 6];
        for (k, byte) in out.iter_mut().enumerate() {
            if k > 0 {
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i += 1;
            }
            while k == 0 && b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            let start = i;
            while i < b.len() && i - start < 2 && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            if i == start {
                return None;
            }
            *byte = u8::from_str_radix(&s[start..i], 16).ok()?;
        }
        Some((Mac(out), i))
    }

    /// The whole string must be a MAC (`eth_addr_from_string`).
    pub fn parse(s: &str) -> Option<Mac> {
        match Mac::scan(s) {
            Some((m, n)) if n == s.len() => Some(m),
            _ => None,
        }
    }

    pub fn is_multicast(self) -> bool {
        self.0[0] & 1 != 0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// An IPv4 address with a prefix length, as in a port's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub plen: u8,
}

impl Ipv4Net {
    pub fn mask(self) -> u32 {
        if self.plen == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.plen))
        }
    }
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }
    pub fn bcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }
}

/// An IPv6 address with a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Net {
    pub addr: Ipv6Addr,
    pub plen: u8,
}

impl Ipv6Net {
    pub fn mask(self) -> u128 {
        if self.plen == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.plen))
        }
    }
    pub fn network(self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) & self.mask())
    }
    /// The solicited-node multicast address of `addr`.
    pub fn sn_addr(self) -> Ipv6Addr {
        solicited_node(self.addr)
    }
}

/// ff02::1:ffXX:XXXX for the low 24 bits of `addr`.
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let low = u128::from(addr) & 0xff_ffff;
    Ipv6Addr::from(0xff02_0000_0000_0000_0000_0001_ff00_0000u128 | low)
}

/// The link-local address a MAC maps to (fe80::/64 plus modified EUI-64).
pub fn link_local(mac: Mac) -> Ipv6Addr {
    eui64(mac, Ipv6Addr::from(0xfe80u128 << 112))
}

/// `prefix` (its first 64 bits) plus the modified EUI-64 of `mac`.
pub fn eui64(mac: Mac, prefix: Ipv6Addr) -> Ipv6Addr {
    let m = mac.0;
    let iid = u64::from_be_bytes([m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]);
    let p = u128::from(prefix) & (u128::MAX << 64);
    Ipv6Addr::from(p | u128::from(iid))
}

/// An IPv6 address printed as `ipv6_string_mapped` does: IPv4-mapped
/// addresses in dotted quad, others as `inet_ntop`.
pub fn ipv6_string_mapped(a: Ipv6Addr) -> String {
    match a.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => a.to_string(),
    }
}

/// A port's addresses: one MAC and any number of IPs
/// (`struct lport_addresses`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct LportAddresses {
    pub ea: Mac,
    pub ipv4: Vec<Ipv4Net>,
    pub ipv6: Vec<Ipv6Net>,
}

impl LportAddresses {
    pub fn ea_s(&self) -> String {
        self.ea.to_string()
    }
}

/// Parses "IPv4[/plen]" (or a dotted mask) into an address and prefix length.
pub fn parse_ipv4_cidr(tok: &str) -> Option<Ipv4Net> {
    let (ip, len) = match tok.split_once('/') {
        Some((ip, len)) => (ip, Some(len)),
        None => (tok, None),
    };
    let addr = parse_ipv4(ip)?;
    let plen = match len {
        None => 32,
        Some(l) if l.bytes().all(|b| b.is_ascii_digit()) && !l.is_empty() => {
            let p: u32 = l.parse().ok()?;
            if p > 32 {
                return None;
            }
            p as u8
        }
        Some(l) => {
            let m = u32::from(parse_ipv4(l)?);
            let ones = m.leading_ones();
            if m.checked_shl(ones).unwrap_or(0) != 0 {
                return None;
            }
            ones as u8
        }
    };
    Some(Ipv4Net { addr, plen })
}

/// Dotted quad with decimal bytes, as `IP_SCAN_FMT` reads it.
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut parts = s.split('.');
    let mut out = [0u8; 4];
    for o in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(out))
}

/// Parses "IPv6[/plen]".
pub fn parse_ipv6_cidr(tok: &str) -> Option<Ipv6Net> {
    let (ip, len) = match tok.split_once('/') {
        Some((ip, len)) => (ip, Some(len)),
        None => (tok, None),
    };
    let addr: Ipv6Addr = ip.parse().ok()?;
    let plen = match len {
        None => 128,
        Some(l) if l.bytes().all(|b| b.is_ascii_digit()) && !l.is_empty() => {
            let p: u32 = l.parse().ok()?;
            if p > 128 {
                return None;
            }
            p as u8
        }
        Some(l) => {
            let m = u128::from(l.parse::<Ipv6Addr>().ok()?);
            let ones = m.leading_ones();
            if m.checked_shl(ones).unwrap_or(0) != 0 {
                return None;
            }
            ones as u8
        }
    };
    Some(Ipv6Net { addr, plen })
}

/// Parses "MAC [IP...]" (`extract_addresses`): the MAC is required; IPs
/// follow until the first word that is not one. Returns the addresses and
/// the byte offset where unparsed content begins.
pub fn extract_addresses(s: &str) -> Option<(LportAddresses, usize)> {
    let (ea, n) = Mac::scan(s)?;
    let (ipv4, ipv6, ofs) = scan_ips(s, n);
    Some((LportAddresses { ea, ipv4, ipv6 }, ofs))
}

/// `extract_lsp_addresses`: like [`extract_addresses`], trailing junk
/// tolerated.
pub fn extract_lsp_addresses(s: &str) -> Option<LportAddresses> {
    extract_addresses(s).map(|(a, _)| a)
}

/// `extract_ip_addresses`: IPs only; at least one required.
pub fn extract_ip_addresses(s: &str) -> Option<LportAddresses> {
    let (ipv4, ipv6, _) = scan_ips(s, 0);
    if ipv4.is_empty() && ipv6.is_empty() {
        return None;
    }
    Some(LportAddresses {
        ea: Mac::ZERO,
        ipv4,
        ipv6,
    })
}

fn scan_ips(s: &str, mut pos: usize) -> (Vec<Ipv4Net>, Vec<Ipv6Net>, usize) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    loop {
        let rest = &s[pos..];
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            return (v4, v6, pos + (rest.len() - trimmed.len()));
        }
        let skip = rest.len() - trimmed.len();
        let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let tok = &trimmed[..end];
        if let Some(n) = parse_ipv4_cidr(tok) {
            v4.push(n);
        } else if let Some(n) = parse_ipv6_cidr(tok) {
            v6.push(n);
        } else {
            return (v4, v6, pos);
        }
        pos += skip + end;
    }
}

/// True for "dynamic", "dynamic IPv4", "dynamic IPv6", "dynamic IPv4
/// IPv6" and "MAC dynamic" (`is_dynamic_lsp_address`).
pub fn is_dynamic_lsp_address(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("dynamic") {
        if rest.is_empty() {
            return true;
        }
        let Some(rest) = rest.strip_prefix(' ') else {
            return false;
        };
        let words: Vec<&str> = rest.split(' ').collect();
        return match words.as_slice() {
            [a] => parse_ipv4(a).is_some() || is_ipv6_chars(a),
            [a, b] => parse_ipv4(a).is_some() && is_ipv6_chars(b),
            _ => false,
        };
    }
    match Mac::scan(s) {
        Some((_, n)) => &s[n..] == " dynamic",
        None => false,
    }
}

/// `IPV6_SCAN_FMT` accepts any run of these characters.
fn is_ipv6_chars(s: &str) -> bool {
    !s.is_empty() && s.len() <= 46 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

/// Splits "MAC IP..." into IPv4 and IPv6 address strings (as
/// `split_addresses` does for port group address sets).
pub fn split_addresses(s: &str, v4: &mut Vec<String>, v6: &mut Vec<String>) {
    if let Some((a, _)) = extract_addresses(s) {
        v4.extend(a.ipv4.iter().map(|n| n.addr.to_string()));
        v6.extend(a.ipv6.iter().map(|n| n.addr.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsp_addresses() {
        let a = extract_lsp_addresses("50:54:00:00:00:01 10.0.0.11 fd00::11").unwrap();
        assert_eq!(a.ea.to_string(), "50:54:00:00:00:01");
        assert_eq!(a.ipv4[0].addr.to_string(), "10.0.0.11");
        assert_eq!(a.ipv4[0].plen, 32);
        assert_eq!(a.ipv6[0].sn_addr().to_string(), "ff02::1:ff00:11");
        let (a, ofs) = extract_addresses("0a:0:0:0:0:1 10.0.0.12/24 is_chassis_resident(\"x\")").unwrap();
        assert_eq!(a.ipv4[0].plen, 24);
        assert_eq!(a.ea.to_string(), "0a:00:00:00:00:01");
        assert_eq!(ofs, 25);
        assert!(extract_lsp_addresses("unknown").is_none());
    }

    #[test]
    fn dynamic() {
        for s in [
            "dynamic",
            "dynamic 10.0.0.5",
            "dynamic fd00::5",
            "dynamic 10.0.0.5 fd00::5",
            "0a:00:00:00:00:01 dynamic",
        ] {
            assert!(is_dynamic_lsp_address(s), "{s}");
        }
        for s in ["dynamicx", "dynamic foo", "unknown", "0a:00:00:00:00:01"] {
            assert!(!is_dynamic_lsp_address(s), "{s}");
        }
    }

    #[test]
    fn derived() {
        let mac = Mac::parse("0a:00:00:00:00:01").unwrap();
        assert_eq!(link_local(mac).to_string(), "fe80::800:ff:fe00:1");
        assert_eq!(eui64(mac, "fd00::".parse().unwrap()).to_string(), "fd00::800:ff:fe00:1");
    }
}
