//! Schema checksums: what a schema's `"cksum"` member should say.
//!
//! `ovsdb-tool schema-cksum` and `db-cksum` print the member as written;
//! Open vSwitch's build computes it with the POSIX `cksum` of the schema
//! file's text, less the line holding the `"cksum"` member itself, and
//! writes `CRC LENGTH`. [`schema_cksum`] computes the same, so that a
//! schema's stated checksum can be checked or filled in.

/// The CRC-32 of POSIX `cksum`: polynomial 0x04C11DB7, most significant
/// bit first, no initial value; the length follows the data as bytes,
/// least significant first, as many as it needs; the result is inverted.
pub fn posix_cksum(data: &[u8]) -> u32 {
    fn step(crc: u32, byte: u8) -> u32 {
        let mut crc = crc ^ ((byte as u32) << 24);
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
        crc
    }
    let mut crc = data.iter().fold(0u32, |crc, &b| step(crc, b));
    let mut len = data.len() as u64;
    while len != 0 {
        crc = step(crc, len as u8);
        len >>= 8;
    }
    !crc
}

/// Whether a line is the schema's `"cksum": "N N",` member line: the quoted
/// name, optional spaces, and two numbers in quotes followed by a comma.
fn is_cksum_line(line: &[u8]) -> bool {
    let Some(pos) = line.windows(8).position(|w| w == b"\"cksum\":") else {
        return false;
    };
    let mut rest = &line[pos + 8..];
    while let [b' ', tail @ ..] = rest {
        rest = tail;
    }
    let Some(mut rest) = rest.strip_prefix(b"\"") else {
        return false;
    };
    for (i, sep) in [b' ', b'"'].into_iter().enumerate() {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || rest.get(digits) != Some(&sep) {
            return false;
        }
        rest = &rest[digits + 1..];
        if i == 1 {
            return rest.first() == Some(&b',');
        }
    }
    false
}

/// The checksum a schema file's text should state: `CRC LENGTH` of the
/// text without its `"cksum"` line.
pub fn schema_cksum(text: &[u8]) -> String {
    let kept: Vec<u8> = text
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !is_cksum_line(l))
        .flatten()
        .copied()
        .collect();
    format!("{} {}", posix_cksum(&kept), kept.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // `printf '' | cksum` and `printf 'a' | cksum`.
        assert_eq!(posix_cksum(b""), 4294967295);
        assert_eq!(posix_cksum(b"a"), 1220704766);
        assert_eq!(posix_cksum(b"123456789"), 930766865);
    }

    #[test]
    fn cksum_lines() {
        assert!(is_cksum_line(b"  \"cksum\": \"94023179 33468\",\n"));
        assert!(is_cksum_line(b"\"cksum\":\"1 2\","));
        assert!(!is_cksum_line(b"\"cksum\": \"1 2\"\n"));
        assert!(!is_cksum_line(b"\"cksum\": \"x 2\",\n"));
        assert!(!is_cksum_line(b"\"name\": \"cksum\",\n"));
    }
}
