//! UUIDs as OVSDB uses them: row identifiers, versions, transaction ids.

use std::fmt;
use std::str::FromStr;

/// A 128-bit UUID. Ordered as its textual form is, which is how Open vSwitch
/// orders UUIDs in sets and maps.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub u128);

/// The value of each hex digit (either case); 0xff for any other byte.
static HEX_VALUE: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// `value` followed by the hex `digits`; any byte that is not one leaves
/// high bits in `bad`.
#[inline]
fn hex_digits(mut value: u64, digits: &[u8], bad: &mut u8) -> u64 {
    for &c in digits {
        let digit = HEX_VALUE[c as usize];
        *bad |= digit;
        value = (value << 4) | u64::from(digit & 0x0f);
    }
    value
}

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
        if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
            return None;
        }
        // Each half of the value from its 16 digits, looked up in a table
        // in which anything but a hex digit has its high bits set.
        let mut bad = 0u8;
        let high = hex_digits(hex_digits(hex_digits(0, &b[0..8], &mut bad), &b[9..13], &mut bad), &b[14..18], &mut bad);
        let low = hex_digits(hex_digits(0, &b[19..23], &mut bad), &b[24..36], &mut bad);
        (bad & 0xf0 == 0).then_some(Uuid((u128::from(high) << 64) | u128::from(low)))
    }

    /// The first eight hex digits, as Open vSwitch tools abbreviate UUIDs.
    pub fn short(self) -> String {
        format!("{:08x}", (self.0 >> 96) as u32)
    }
}

impl Uuid {
    /// The canonical text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in
    /// lowercase hex, without going through the formatting machinery
    /// (every row written to a file or a client spells its UUID).
    pub fn to_ascii(self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut at = 0;
        for (i, byte) in self.0.to_be_bytes().into_iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            out[at] = HEX[usize::from(byte >> 4)];
            out[at + 1] = HEX[usize::from(byte & 0xf)];
            at += 2;
        }
        out
    }

    /// [`Uuid::to_ascii`] as a string: what `to_string` gives, without
    /// the formatting machinery (a large transaction's reply names tens of
    /// thousands).
    pub fn to_text(self) -> String {
        let ascii = self.to_ascii();
        std::str::from_utf8(&ascii).expect("a UUID's text is ASCII").to_owned()
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_ascii();
        f.pad(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
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
    fn text_form() {
        let u = Uuid(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        assert_eq!(u.to_string(), "01234567-89ab-cdef-fedc-ba9876543210");
        assert_eq!(Uuid(0).to_string(), "00000000-0000-0000-0000-000000000000");
        assert_eq!(u.to_text(), u.to_string());
        assert_eq!(format!("{:>38}|", Uuid(1)), "  00000000-0000-0000-0000-000000000001|");
        for _ in 0..100 {
            let r = Uuid::random();
            assert_eq!(Uuid::parse(&r.to_string()), Some(r));
        }
    }

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
        // Any byte out of place, at every position.
        let good = "0123abcd-4567-89ef-0123-456789abcdef";
        for at in 0..good.len() {
            for bad in ["g", "G", "-", " ", "/", ":", "@", "`", "é"] {
                let mut s = good.to_string();
                s.replace_range(at..at + 1, bad);
                if s.len() == 36 && s.as_bytes()[at] == good.as_bytes()[at] {
                    continue;
                }
                assert_eq!(Uuid::parse(&s), None, "{s}");
            }
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
