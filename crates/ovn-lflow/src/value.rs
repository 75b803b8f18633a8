//! Constants of the language: integers up to 128 bits written in one of
//! five notations, optionally masked, and JSON-style strings.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// How an integer constant was written. Kept so that printing gives back
/// the notation the author used (an address stays an address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Decimal,
    Hex,
    Ipv4,
    Ipv6,
    Ethernet,
}

/// An integer constant, possibly masked (`value/mask`, or CIDR for
/// addresses). Invariant: `value & !mask == 0` when masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntConst {
    pub value: u128,
    pub mask: Option<u128>,
    pub format: Format,
}

impl IntConst {
    pub fn new(value: u128, format: Format) -> Self {
        IntConst { value, mask: None, format }
    }

    /// The narrowest field width, in bits, this constant fits in.
    pub fn width(&self) -> u32 {
        if let Some(mask) = self.mask {
            return bit_width(mask);
        }
        match self.format {
            Format::Decimal | Format::Hex => bit_width(self.value),
            Format::Ipv4 => 32,
            Format::Ipv6 => 128,
            Format::Ethernet => 48,
        }
    }
}

/// Number of bits needed to hold `x` (0 for 0).
pub fn bit_width(x: u128) -> u32 {
    128 - x.leading_zeros()
}

/// All-ones mask of `n` low bits.
pub fn low_mask(n: u32) -> u128 {
    if n >= 128 { u128::MAX } else { (1u128 << n) - 1 }
}

/// If `mask` (of a `width`-bit address) is a CIDR prefix, its length.
pub fn cidr_len(mask: u128, width: u32) -> Option<u32> {
    let full = low_mask(width);
    let inv = !mask & full;
    // A prefix mask's complement is a run of low one bits.
    if mask & !full == 0 && inv & inv.wrapping_add(1) == 0 {
        Some(width - bit_width(inv))
    } else {
        None
    }
}

pub(crate) fn write_value(f: &mut impl fmt::Write, value: u128, format: Format) -> fmt::Result {
    match format {
        Format::Decimal => write!(f, "{value}"),
        Format::Hex => write!(f, "{value:#x}"),
        Format::Ipv4 => write!(f, "{}", Ipv4Addr::from(value as u32)),
        Format::Ipv6 => write!(f, "{}", Ipv6Addr::from(value)),
        Format::Ethernet => {
            let b = (value as u64).to_be_bytes();
            write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[2], b[3], b[4], b[5], b[6], b[7])
        }
    }
}

impl fmt::Display for IntConst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, self.value, self.format)?;
        if let Some(mask) = self.mask {
            f.write_str("/")?;
            let cidr = match self.format {
                Format::Ipv4 => cidr_len(mask, 32),
                Format::Ipv6 => cidr_len(mask, 128),
                _ => None,
            };
            match cidr {
                Some(n) => write!(f, "{n}")?,
                None => write_value(f, mask, self.format)?,
            }
        }
        Ok(())
    }
}

/// Writes `s` as a JSON string literal, the only string syntax the
/// language has.
pub fn write_json_string(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\u{8}' => out.write_str("\\b")?,
            '\u{c}' => out.write_str("\\f")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

/// A quoted string, for `format!`.
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_json_string(f, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        assert_eq!(cidr_len(0xffff_ff00, 32), Some(24));
        assert_eq!(cidr_len(0, 32), Some(0));
        assert_eq!(cidr_len(0xffff_ffff, 32), Some(32));
        assert_eq!(cidr_len(0xff00_ff00, 32), None);
        assert_eq!(cidr_len(u128::MAX, 128), Some(128));
    }
}
