//! Record framing (ovsdb(5)): a header line `OVSDB <magic> <length> <sha1>`
//! and then `<length>` bytes of JSON whose SHA-1 is `<sha1>`.
//!
//! Everything here works on bytes in memory: [`next_frame`] cuts one record
//! out of a buffer and checks its hash, [`parse_body`] turns the body into a
//! JSON object, [`write_header`] makes the header for a body to be written.
//! A damaged record is a [`Corruption`], never a panic; running out of bytes
//! in the middle of a record is [`Corruption::Truncated`], since a file that
//! ends there was torn by a crash.

use std::fmt;

use serde_json::{Map, Value as Json};
use sha1::{Digest, Sha1};

/// The magic of standalone database files.
pub const STANDALONE_MAGIC: &str = "JSON";
/// The magic of clustered database files, which this crate does not read.
pub const CLUSTERED_MAGIC: &str = "CLUSTER";

/// Open vSwitch reads header lines into a 128-byte buffer, so a header
/// (new-line included) longer than 127 bytes is not one it could write.
const MAX_HEADER_LEN: usize = 127;

/// One record located in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Offset of the header line.
    pub start: usize,
    /// Offset just past the body: where the next record starts.
    pub end: usize,
    pub magic: &'a str,
    /// The JSON text, normally ending in a new-line.
    pub body: &'a [u8],
    /// The body's SHA-1, as verified against the header.
    pub digest: [u8; 20],
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corruption {
    /// The buffer ends inside the record.
    Truncated,
    /// The header line is not `OVSDB <magic> <length> <sha1>`.
    BadHeader(String),
    /// The header names a magic other than the file's.
    WrongMagic(String),
    /// The body's SHA-1 differs from the header's.
    BadHash {
        length: usize,
        expected: [u8; 20],
        actual: [u8; 20],
    },
    /// The body is not JSON.
    BadJson(String),
    /// The body is JSON but not an object.
    NotObject,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::Truncated => f.write_str("the file ends in the middle of a record"),
            Corruption::BadHeader(line) => write!(f, "parse error in header line \"{line}\""),
            Corruption::WrongMagic(magic) => write!(f, "record has unexpected magic \"{magic}\""),
            Corruption::BadHash {
                length,
                expected,
                actual,
            } => write!(
                f,
                "{length} bytes have SHA-1 hash {} but should have hash {}",
                hex(actual),
                hex(expected)
            ),
            Corruption::BadJson(e) => write!(f, "record is not valid JSON ({e})"),
            Corruption::NotObject => f.write_str("record is not a JSON object"),
        }
    }
}

impl std::error::Error for Corruption {}

/// Reads the record that starts at `start`. `Ok(None)` means `start` is the
/// end of the buffer. `magic`, when given, is the one every record must carry.
pub fn next_frame<'a>(buf: &'a [u8], start: usize, magic: Option<&str>) -> Result<Option<Frame<'a>>, Corruption> {
    let Some(rest) = buf.get(start..) else {
        return Err(Corruption::Truncated);
    };
    if rest.is_empty() {
        return Ok(None);
    }
    let window = &rest[..rest.len().min(MAX_HEADER_LEN)];
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        return Err(if rest.len() < MAX_HEADER_LEN && is_header_prefix(rest) {
            Corruption::Truncated
        } else {
            Corruption::BadHeader(printable(window))
        });
    };
    let line = &rest[..nl];
    let (found_magic, length, expected) = parse_header(line).ok_or_else(|| Corruption::BadHeader(printable(line)))?;
    if let Some(magic) = magic
        && found_magic != magic
    {
        return Err(Corruption::WrongMagic(found_magic.to_string()));
    }
    let body_start = nl + 1;
    let body = match body_start.checked_add(length).and_then(|end| rest.get(body_start..end)) {
        Some(body) => body,
        None => return Err(Corruption::Truncated),
    };
    let actual: [u8; 20] = Sha1::digest(body).into();
    if actual != expected {
        return Err(Corruption::BadHash {
            length,
            expected,
            actual,
        });
    }
    Ok(Some(Frame {
        start,
        end: start + body_start + length,
        magic: found_magic,
        body,
        digest: actual,
    }))
}

/// Parses `OVSDB <magic> <length> <40 hex digits>` (without the new-line),
/// with single spaces between words, as ovsdb(5) requires.
fn parse_header(line: &[u8]) -> Option<(&str, usize, [u8; 20])> {
    let line = std::str::from_utf8(line).ok()?;
    let rest = line.strip_prefix("OVSDB ")?;
    let mut words = rest.split(' ');
    let magic = words.next().filter(|m| !m.is_empty())?;
    let length = words
        .next()
        .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))?;
    let length: usize = length.parse().ok().filter(|&n| n > 0)?;
    let hash = words.next()?;
    if words.next().is_some() {
        return None;
    }
    Some((magic, length, parse_hex(hash)?))
}

/// True if `bytes` could be the beginning of a header line: what a crash
/// while writing one leaves behind.
fn is_header_prefix(bytes: &[u8]) -> bool {
    let lead = b"OVSDB ";
    let n = bytes.len().min(lead.len());
    bytes[..n] == lead[..n] && bytes.iter().all(|&b| b.is_ascii_graphic() || b == b' ')
}

fn parse_hex(s: &str) -> Option<[u8; 20]> {
    let b = s.as_bytes();
    if b.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(2 * bytes.len());
    push_hex(&mut out, bytes);
    String::from_utf8(out).unwrap_or_default()
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
    }
}

/// A header line for logging: lossy UTF-8, at most 80 characters.
fn printable(line: &[u8]) -> String {
    String::from_utf8_lossy(line).chars().take(80).collect()
}

/// Parses a record's body, which must be a JSON object.
pub fn parse_body(body: &[u8]) -> Result<Map<String, Json>, Corruption> {
    match serde_json::from_slice(body) {
        Ok(Json::Object(obj)) => Ok(obj),
        Ok(_) => Err(Corruption::NotObject),
        Err(e) => Err(Corruption::BadJson(e.to_string())),
    }
}

/// Appends the header line for `body` (which should end in a new-line) to `out`.
/// Returns the body's SHA-1.
pub fn write_header(out: &mut Vec<u8>, magic: &str, body: &[u8]) -> [u8; 20] {
    let mut digest = BodyDigest::default();
    digest.update(body);
    digest.write_header(out, magic)
}

/// The length and SHA-1 of a record's body, taken a piece at a time as
/// the body is made (a large one is hashed while its later pieces are
/// still being encoded).
#[derive(Default)]
pub struct BodyDigest {
    sha: Sha1,
    len: usize,
}

impl BodyDigest {
    pub fn update(&mut self, piece: &[u8]) {
        self.sha.update(piece);
        self.len += piece.len();
    }

    /// Appends the header of the body taken so far; returns its SHA-1.
    pub fn write_header(self, out: &mut Vec<u8>, magic: &str) -> [u8; 20] {
        let hash: [u8; 20] = self.sha.finalize().into();
        out.extend_from_slice(b"OVSDB ");
        out.extend_from_slice(magic.as_bytes());
        out.push(b' ');
        ovsdb::json::write_int(out, self.len as i64);
        out.push(b' ');
        push_hex(out, &hash);
        out.push(b'\n');
        hash
    }
}

/// Appends a whole record holding `json` to `out`.
pub fn write_record(out: &mut Vec<u8>, magic: &str, json: &Json) {
    let mut body = json.to_string().into_bytes();
    body.push(b'\n');
    write_header(out, magic, &body);
    out.extend_from_slice(&body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(json: &Json) -> Vec<u8> {
        let mut out = Vec::new();
        write_record(&mut out, STANDALONE_MAGIC, json);
        out
    }

    #[test]
    fn round_trip() {
        let mut buf = record(&json!({"a": 1}));
        let first_len = buf.len();
        buf.extend(record(&json!({"b": "x\ny"})));
        let f = next_frame(&buf, 0, Some("JSON")).unwrap().unwrap();
        assert_eq!((f.start, f.end, f.magic), (0, first_len, "JSON"));
        assert_eq!(parse_body(f.body).unwrap()["a"], 1);
        let g = next_frame(&buf, f.end, Some("JSON")).unwrap().unwrap();
        assert_eq!(parse_body(g.body).unwrap()["b"], "x\ny");
        assert_eq!(next_frame(&buf, g.end, Some("JSON")), Ok(None));
    }

    #[test]
    fn matches_open_vswitch_bytes() {
        // A record as ovsdb-tool 3.1 wrote it.
        let header = "OVSDB JSON 109 7d0c1f92eca95124c5d58e354a2bdffacf6f29f0\n";
        let body = "{\"_date\":1795498204437,\"A\":{\"bca06aea-6181-4f85-8ff8-49de7b06dec3\":\
                    {\"s\":[\"set\",[1,2,3,4]]}},\"_is_diff\":true}\n";
        let mut out = Vec::new();
        write_header(&mut out, "JSON", body.as_bytes());
        assert_eq!(String::from_utf8(out).unwrap(), header);
        let file = format!("{header}{body}");
        let f = next_frame(file.as_bytes(), 0, Some("JSON")).unwrap().unwrap();
        assert_eq!((f.end, f.body), (file.len(), body.as_bytes()));
    }

    #[test]
    fn every_truncation_is_truncated() {
        let buf = record(&json!({"a": [1, 2, 3]}));
        for cut in 1..buf.len() {
            assert_eq!(
                next_frame(&buf[..cut], 0, Some("JSON")),
                Err(Corruption::Truncated),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn damage_is_reported() {
        let good = record(&json!({"a": 1}));
        let mut bad_hash = good.clone();
        let last = bad_hash.len() - 3;
        bad_hash[last] ^= 1;
        assert!(matches!(
            next_frame(&bad_hash, 0, None),
            Err(Corruption::BadHash { .. })
        ));

        for header in [
            "OVSDB JSON 0 da39a3ee5e6b4b0d3255bfef95601890afd80709\n",
            "OVSDB JSON -1 da39a3ee5e6b4b0d3255bfef95601890afd80709\n",
            "OVSDB JSON  1 da39a3ee5e6b4b0d3255bfef95601890afd80709\n",
            "OVSDB JSON 1 da39a3ee5e6b4b0d3255bfef95601890afd8070\n",
            "OVSDB JSON 1 da39a3ee5e6b4b0d3255bfef95601890afd8070g\n",
            "OVSDB JSON 99999999999999999999999 da39a3ee5e6b4b0d3255bfef95601890afd80709\n",
            "OVSDB  JSON 1 da39a3ee5e6b4b0d3255bfef95601890afd80709\n",
            "garbage\n",
        ] {
            let r = next_frame(header.as_bytes(), 0, None);
            assert!(matches!(r, Err(Corruption::BadHeader(_))), "{header}: {r:?}");
        }
        let long = format!("OVSDB {} 1 x\n", "J".repeat(200));
        assert!(matches!(
            next_frame(long.as_bytes(), 0, None),
            Err(Corruption::BadHeader(_))
        ));

        let cluster = good.clone();
        let cluster = String::from_utf8(cluster).unwrap().replacen("JSON", "CLUSTER", 1);
        assert_eq!(
            next_frame(cluster.as_bytes(), 0, Some("JSON")),
            Err(Corruption::WrongMagic("CLUSTER".into()))
        );
    }

    #[test]
    fn bodies_must_be_objects() {
        assert_eq!(parse_body(b"[1]\n"), Err(Corruption::NotObject));
        assert!(matches!(parse_body(b"{\"a\":\n"), Err(Corruption::BadJson(_))));
        assert!(matches!(parse_body(b"{}{}\n"), Err(Corruption::BadJson(_))));
        // Open vSwitch tolerates new-lines inside the JSON.
        assert_eq!(parse_body(b"{\n\"a\":\n1}\n").unwrap()["a"], 1);
    }
}
