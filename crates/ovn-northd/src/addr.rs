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
    /// does (see [`Scanner`]); returns it and the number of bytes consumed.
    pub fn scan(s: &str) -> Option<(Mac, usize)> {
        let mut sc = Scanner::new(s, 0);
        let m = sc.mac()?;
        Some((m, sc.pos))
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

/// Text read the way Open vSwitch's `ovs_scan` reads it, which is not
/// `sscanf`: white space is skipped before each numeric conversion, a
/// number may carry a sign (and, in hex, `0x`), has any number of digits
/// and keeps only the bits that fit its destination (`300.1.1.1` is
/// 44.1.1.1 for `IP_SCAN_FMT`; `-1` is 255); a scan set (`%46[...]`)
/// needs one character at least.
pub struct Scanner<'a> {
    s: &'a str,
    pub pos: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(s: &'a str, pos: usize) -> Scanner<'a> {
        Scanner { s, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// White space as C's `isspace` knows it.
    pub fn skip_spaces(&mut self) {
        while self
            .peek()
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        {
            self.pos += 1;
        }
    }

    /// A literal character of the format.
    pub fn lit(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.pos += 1)
    }

    /// `%d`, `%u` (base 10) or `%x` (base 16): the value modulo 2^64.
    pub fn int(&mut self, base: u32) -> Option<u64> {
        self.skip_spaces();
        let b = self.s.as_bytes();
        let mut i = self.pos;
        let negative = b.get(i) == Some(&b'-');
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if base == 16 && b.get(i) == Some(&b'0') && matches!(b.get(i + 1), Some(b'x' | b'X')) {
            i += 2;
        }
        let start = i;
        let mut v: u64 = 0;
        while let Some(d) = b.get(i).and_then(|c| char::from(*c).to_digit(base)) {
            v = v.wrapping_mul(u64::from(base)).wrapping_add(u64::from(d));
            i += 1;
        }
        if i == start {
            return None;
        }
        self.pos = i;
        Some(if negative { v.wrapping_neg() } else { v })
    }

    /// `%46[0123456789abcdefABCDEF:.]` (`IPV6_SCAN_FMT`).
    pub fn ipv6_chars(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let start = self.pos;
        let mut i = start;
        while i - start < 46
            && b.get(i)
                .is_some_and(|c| c.is_ascii_hexdigit() || *c == b':' || *c == b'.')
        {
            i += 1;
        }
        if i == start {
            return None;
        }
        self.pos = i;
        Some(&self.s[start..i])
    }

    /// `ETH_ADDR_SCAN_FMT`.
    pub fn mac(&mut self) -> Option<Mac> {
        let mut out = [0u8; 6];
        for (k, byte) in out.iter_mut().enumerate() {
            if k > 0 {
                self.lit(b':')?;
            }
            *byte = self.int(16)? as u8;
        }
        Some(Mac(out))
    }

    /// `IP_SCAN_FMT`.
    pub fn ipv4(&mut self) -> Option<Ipv4Addr> {
        let mut out = [0u8; 4];
        for (k, byte) in out.iter_mut().enumerate() {
            if k > 0 {
                self.lit(b'.')?;
            }
            *byte = self.int(10)? as u8;
        }
        Some(Ipv4Addr::from(out))
    }

    /// Runs `f` from the current position; on failure the position stays.
    pub fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let save = self.pos;
        let r = f(self);
        if r.is_none() {
            self.pos = save;
        }
        r
    }

    /// `ip_parse_cidr_len`: "IP", "IP/MASK" (a CIDR mask) or "IP/PLEN".
    pub fn ipv4_cidr(&mut self) -> Option<Ipv4Net> {
        let save = self.pos;
        let masked = self.attempt(|sc| {
            let ip = sc.ipv4()?;
            sc.lit(b'/')?;
            Some((ip, u32::from(sc.ipv4()?)))
        });
        let (addr, mask) = match masked {
            Some(x) => x,
            None => match self.attempt(|sc| {
                let ip = sc.ipv4()?;
                sc.lit(b'/')?;
                Some((ip, sc.int(10)? as i32))
            }) {
                Some((_, p)) if !(0..=32).contains(&p) => {
                    self.pos = save;
                    return None;
                }
                Some((ip, p)) => (ip, u32::MAX.checked_shl(32 - p as u32).unwrap_or(0)),
                None => (self.attempt(Scanner::ipv4)?, u32::MAX),
            },
        };
        let ones = mask.leading_ones();
        if mask.checked_shl(ones).unwrap_or(0) != 0 {
            self.pos = save;
            return None;
        }
        Some(Ipv4Net { addr, plen: ones as u8 })
    }

    /// `ipv6_parse_cidr_len`: "IPv6", "IPv6/PLEN" or "IPv6/MASK".
    pub fn ipv6_cidr(&mut self) -> Option<Ipv6Net> {
        self.attempt(|sc| {
            sc.skip_spaces();
            let addr: Ipv6Addr = sc.ipv6_chars()?.parse().ok()?;
            let plen = sc.attempt(|sc| {
                sc.lit(b'/')?;
                sc.int(10)
            });
            let mask = match plen {
                Some(p) => {
                    let p = p as i32;
                    if !(0..=128).contains(&p) {
                        return None;
                    }
                    u128::MAX.checked_shl(128 - p as u32).unwrap_or(0)
                }
                None => match sc.attempt(|sc| {
                    sc.lit(b'/')?;
                    sc.ipv6_chars()
                }) {
                    Some(m) => u128::from(m.parse::<Ipv6Addr>().ok()?),
                    None => u128::MAX,
                },
            };
            let ones = mask.leading_ones();
            if mask.checked_shl(ones).unwrap_or(0) != 0 {
                return None;
            }
            Some(Ipv6Net { addr, plen: ones as u8 })
        })
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
}

/// The whole string is "IPv4[/plen]" or "IPv4/MASK" (`ip_parse_cidr`).
pub fn parse_ipv4_cidr(tok: &str) -> Option<Ipv4Net> {
    let mut sc = Scanner::new(tok, 0);
    let n = sc.ipv4_cidr()?;
    sc.at_end().then_some(n)
}

/// Dotted quad with decimal bytes, nothing else.
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

/// The whole string is "IPv6[/plen]" or "IPv6/MASK" (`ipv6_parse_cidr`).
pub fn parse_ipv6_cidr(tok: &str) -> Option<Ipv6Net> {
    let mut sc = Scanner::new(tok, 0);
    let n = sc.ipv6_cidr()?;
    sc.at_end().then_some(n)
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

/// IPv4 then IPv6 CIDRs one after the other, as long as they parse (no
/// separator needed, white space skipped); returns where parsing stopped.
fn scan_ips(s: &str, pos: usize) -> (Vec<Ipv4Net>, Vec<Ipv6Net>, usize) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    let mut sc = Scanner::new(s, pos);
    while !sc.at_end() {
        if let Some(n) = sc.ipv4_cidr() {
            v4.push(n);
        } else if let Some(n) = sc.ipv6_cidr() {
            v6.push(n);
        } else {
            break;
        }
    }
    (v4, v6, sc.pos)
}

/// True for "dynamic", "dynamic IPv4", "dynamic IPv6", "dynamic IPv4
/// IPv6" and "MAC dynamic" (`is_dynamic_lsp_address`).
pub fn is_dynamic_lsp_address(s: &str) -> bool {
    if s.starts_with("dynamic") {
        if s.len() == 7 {
            return true;
        }
        let mut sc = Scanner::new(s, 7);
        // A scan that succeeds moves on even when the end test fails.
        if sc
            .attempt(|sc| {
                sc.skip_spaces();
                sc.ipv4()
            })
            .is_some()
            && sc.at_end()
        {
            return true;
        }
        return sc
            .attempt(|sc| {
                sc.skip_spaces();
                sc.ipv6_chars()
            })
            .is_some()
            && sc.at_end();
    }
    let mut sc = Scanner::new(s, 0);
    sc.mac().is_some() && {
        sc.skip_spaces();
        s[sc.pos..] == *"dynamic"
    }
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
    fn scanned_as_open_vswitch_does() {
        // Bytes keep their low bits; no separator is needed between IPs.
        let a = extract_lsp_addresses("50:54:00:00:00:0a 300.1.1.1").unwrap();
        assert_eq!(a.ipv4[0].addr.to_string(), "44.1.1.1");
        let (a, ofs) = extract_addresses("0a:0:0:0:0:1 10.0.0.1x").unwrap();
        assert_eq!((a.ipv4.len(), ofs), (1, 21));
        assert_eq!(Mac::parse("0x1:2:3:4:5:106"), Mac::parse("01:02:03:04:05:06"));
        assert_eq!(extract_lsp_addresses("0a:0:0:0:0:1 10.0.0.1/33").unwrap().ipv4.len(), 0);
        assert_eq!(parse_ipv4_cidr("10.0.0.0/255.255.255.0").unwrap().plen, 24);
        assert!(parse_ipv4_cidr("10.0.0.0/255.0.255.0").is_none());
        assert_eq!(parse_ipv6_cidr("fd00::/64").unwrap().plen, 64);
        assert!(is_dynamic_lsp_address("dynamic 10.0.0.5 fd00::5"));
        assert!(is_dynamic_lsp_address("dynamic 1.2.3"));
    }

    #[test]
    fn derived() {
        let mac = Mac::parse("0a:00:00:00:00:01").unwrap();
        assert_eq!(link_local(mac).to_string(), "fe80::800:ff:fe00:1");
        assert_eq!(eui64(mac, "fd00::".parse().unwrap()).to_string(), "fd00::800:ff:fe00:1");
    }
}
