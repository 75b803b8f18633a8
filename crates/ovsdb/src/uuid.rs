//! UUIDs as OVSDB uses them: row identifiers, versions, transaction ids.

use std::fmt;
use std::str::FromStr;

/// A 128-bit UUID. Ordered as its textual form is, which is how Open vSwitch
/// orders UUIDs in sets and maps.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub u128);

impl Uuid {
    pub const ZERO: Uuid = Uuid(0);

    /// A random (version 4) UUID.
    pub fn random() -> Uuid {
        let mut bits: u128 = rand::random();
        bits = (bits & !(0xf << 76)) | (0x4 << 76); // version 4
        bits = (bits & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
        Uuid(bits)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses the canonical 36-character form, in either case.
    pub fn parse(s: &str) -> Option<Uuid> {
        let b = s.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut value: u128 = 0;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
                continue;
            }
            let digit = (c as char).to_digit(16)?;
            value = (value << 4) | digit as u128;
        }
        Some(Uuid(value))
    }

    /// The first eight hex digits, as Open vSwitch tools abbreviate UUIDs.
    pub fn short(self) -> String {
        format!("{:08x}", (self.0 >> 96) as u32)
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xffff_ffff_ffff
        )
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Uuid {
    type Err = ();
    fn from_str(s: &str) -> Result<Uuid, ()> {
        Uuid::parse(s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = "0123abcd-4567-89ef-0123-456789abcdef";
        let u = Uuid::parse(s).unwrap();
        assert_eq!(u.to_string(), s);
        assert_eq!(Uuid::parse(&s.to_uppercase()), Some(u));
        assert_eq!(u.short(), "0123abcd");
    }

    #[test]
    fn rejects_bad_forms() {
        for s in ["", "0123abcd-4567-89ef-0123-456789abcde", "0123abcd_4567-89ef-0123-456789abcdef",
                  "0123abcg-4567-89ef-0123-456789abcdef", "0123abcd-4567-89ef-0123-456789abcdef0"] {
            assert_eq!(Uuid::parse(s), None, "{s}");
        }
    }

    #[test]
    fn random_is_version_4() {
        let u = Uuid::random().to_string();
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn order_follows_text() {
        let a = Uuid::parse("00000000-0000-0000-0000-00000000000f").unwrap();
        let b = Uuid::parse("00000001-0000-0000-0000-000000000000").unwrap();
        assert!(a < b);
    }
}
