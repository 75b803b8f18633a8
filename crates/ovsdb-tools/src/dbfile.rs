//! Database files read record by record as ovsdb-tool reads them, with
//! its error messages, and records written as Open vSwitch writes them.
//!
//! The `ovsdb-storage` crate opens files for use (the database, appending,
//! compaction); this reader serves the commands that print what a file
//! holds (`show-log`, `db-name`, ...), which need each record's JSON in
//! Open vSwitch's member order and Open vSwitch's messages for damaged
//! files.

use sha1::{Digest, Sha1};

use crate::cli::strerror;
use crate::ovs_json::Json;

/// The magic of standalone database files.
pub const STANDALONE: &str = "JSON";
/// The magic of clustered database files.
pub const CLUSTERED: &str = "CLUSTER";

/// Header lines are read into 128 bytes, new-line and NUL included.
const MAX_HEADER: usize = 127;

/// A database file opened for reading.
pub struct LogReader {
    /// The name as given, for messages.
    name: String,
    bytes: Vec<u8>,
    offset: usize,
    magic: String,
    failed: Option<String>,
}

/// `I/O error: DETAILS (ERRNO TEXT)`.
fn io_error(details: String, e: &std::io::Error) -> String {
    format!("I/O error: {details} ({})", strerror(e))
}

struct Header<'a> {
    magic: &'a str,
    length: usize,
    sha1: [u8; 20],
}

/// `OVSDB MAGIC LENGTH SHA1\n`, as Open vSwitch checks it.
fn parse_header(line: &[u8]) -> Option<Header<'_>> {
    let rest = line.strip_prefix(b"OVSDB ")?;
    let sp = rest.iter().position(|&b| b == b' ')?;
    let magic = std::str::from_utf8(&rest[..sp]).ok()?;
    let rest = &rest[sp + 1..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let length: usize = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    if length == 0 || rest.get(digits) != Some(&b' ') {
        return None;
    }
    let hex = rest.get(digits + 1..digits + 41)?;
    let mut sha1 = [0u8; 20];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        sha1[i] = u8::from_str_radix(s, 16).ok()?;
    }
    (rest.get(digits + 41) == Some(&b'\n')).then_some(Header { magic, length, sha1 })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl LogReader {
    /// Opens `name`, which must start with a record of one of `magics`.
    pub fn open(name: &str, magics: &[&str]) -> Result<LogReader, String> {
        let bytes = std::fs::read(name).map_err(|e| io_error(format!("{name}: open failed"), &e))?;
        LogReader::from_bytes(name, bytes, magics)
    }

    /// Reads a file already in memory (`name` is for messages).
    pub fn from_bytes(name: &str, bytes: Vec<u8>, magics: &[&str]) -> Result<LogReader, String> {
        let line = first_line(&bytes, 0);
        let magic = if line.is_empty() {
            if magics.len() > 1 {
                return Err(format!("ovsdb error: {name}: cannot identify file type"));
            }
            magics[0].to_string()
        } else {
            let Some(h) = parse_header(line) else {
                return Err(format!("ovsdb error: {name}: unexpected file format"));
            };
            if !magics.contains(&h.magic) {
                return Err(format!("ovsdb error: {name}: cannot identify file type"));
            }
            h.magic.to_string()
        };
        Ok(LogReader {
            name: name.to_string(),
            bytes,
            offset: 0,
            magic,
            failed: None,
        })
    }

    pub fn magic(&self) -> &str {
        &self.magic
    }

    /// The next record's JSON object, `None` at the end of the file, or the
    /// message for a damaged record (and for every read after it).
    pub fn read(&mut self) -> Result<Option<Json>, String> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let res = self.read_record();
        if let Err(e) = &res {
            self.failed = Some(e.clone());
        }
        res
    }

    fn read_record(&mut self) -> Result<Option<Json>, String> {
        if self.offset >= self.bytes.len() {
            return Ok(None);
        }
        let name = &self.name;
        let line = first_line(&self.bytes, self.offset);
        let header = parse_header(line).filter(|h| h.magic == self.magic).ok_or_else(|| {
            let shown = line.split(|&b| b == b'\n').next().unwrap_or_default();
            format!(
                "syntax error: {name}: parse error at offset {} in header line \"{}\"",
                self.offset,
                String::from_utf8_lossy(shown)
            )
        })?;
        let data_offset = self.offset + line.len();
        let Some(body) = self.bytes.get(data_offset..data_offset + header.length) else {
            return Err(format!(
                "I/O error: {name}: error reading {} bytes starting at offset {data_offset} (End of file)",
                header.length
            ));
        };
        let actual: [u8; 20] = Sha1::digest(body).into();
        if actual != header.sha1 {
            return Err(format!(
                "syntax error: {name}: {} bytes starting at offset {data_offset} have SHA-1 hash {} but should have hash {}",
                header.length,
                hex(&actual),
                hex(&header.sha1)
            ));
        }
        let json = Json::parse(body).map_err(|e| {
            format!(
                "syntax error: {name}: {} bytes starting at offset {data_offset} are not valid JSON ({e})",
                header.length
            )
        })?;
        if json.as_object().is_none() {
            return Err(format!(
                "syntax error: {name}: {} bytes starting at offset {data_offset} are not a JSON object",
                header.length
            ));
        }
        self.offset = data_offset + header.length;
        Ok(Some(json))
    }
}

/// The header line at `offset` as `fgets` into 128 bytes reads it: up to
/// and including the new-line, at most 127 bytes.
fn first_line(bytes: &[u8], offset: usize) -> &[u8] {
    let rest = &bytes[offset.min(bytes.len())..];
    let window = &rest[..rest.len().min(MAX_HEADER)];
    match window.iter().position(|&b| b == b'\n') {
        Some(i) => &window[..=i],
        None => window,
    }
}

/// A whole record: header line and body, as Open vSwitch writes them
/// (members in its hash order).
pub fn record(json: &Json) -> Vec<u8> {
    let mut body = json.to_text(0).into_bytes();
    body.push(b'\n');
    let mut out = Vec::with_capacity(body.len() + 64);
    ovsdb_storage::frame::write_header(&mut out, STANDALONE, &body);
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_and_reports_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut bytes = record(&Json::parse(br#"{"name":"d","tables":{}}"#).unwrap());
        let first = bytes.len();
        bytes.extend(record(&Json::parse(br#"{"_date":1}"#).unwrap()));
        std::fs::write(&path, &bytes).unwrap();
        let name = path.to_str().unwrap();
        let mut r = LogReader::open(name, &[STANDALONE, CLUSTERED]).unwrap();
        assert_eq!(r.magic(), STANDALONE);
        assert!(r.read().unwrap().is_some());
        assert!(r.read().unwrap().is_some());
        assert!(r.read().unwrap().is_none());

        bytes.truncate(bytes.len() - 3);
        std::fs::write(&path, &bytes).unwrap();
        let mut r = LogReader::open(name, &[STANDALONE]).unwrap();
        r.read().unwrap();
        let e = r.read().unwrap_err();
        let header_len = "OVSDB JSON 12 ".len() + 40 + 1;
        let expect = format!(
            "I/O error: {name}: error reading 12 bytes starting at offset {} (End of file)",
            first + header_len
        );
        assert_eq!(e, expect);

        std::fs::write(&path, b"").unwrap();
        assert_eq!(
            LogReader::open(name, &[STANDALONE, CLUSTERED]).err().unwrap(),
            format!("ovsdb error: {name}: cannot identify file type")
        );
        std::fs::write(&path, b"garbage\n").unwrap();
        assert_eq!(
            LogReader::open(name, &[STANDALONE]).err().unwrap(),
            format!("ovsdb error: {name}: unexpected file format")
        );
        let e = LogReader::open(&format!("{name}.missing"), &[STANDALONE])
            .err()
            .unwrap();
        assert!(e.ends_with("open failed (No such file or directory)"), "{e}");
    }
}
