//! Reading the pcap files that dummy interfaces write (`options:tx_pcap`),
//! and writing ones for other tools to read (`ovs-ofctl parse-pcap`).
//!
//! The format: a 24-byte file header whose magic number tells the byte
//! order, then records of a 16-byte header (seconds, fraction, captured
//! length, original length) followed by the captured bytes. A record that
//! is still being written is not an error: it is left for the next read.

use std::path::Path;

use anyhow::{Context as _, Result, bail};

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// The link type of Ethernet frames.
const LINKTYPE_ETHERNET: u32 = 1;
const SNAPLEN: u32 = 65535;

/// The packets of a pcap file, in order. A missing or empty file has none
/// (a dummy interface creates its file when it is configured).
pub fn read_file(path: &Path) -> Result<Vec<Vec<u8>>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    parse(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// The packets of a whole pcap file held in memory.
pub fn parse(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if bytes.len() < 24 {
        // Still being written.
        return Ok(Vec::new());
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    let big_endian = if [MAGIC_MICROS, MAGIC_NANOS].contains(&u32::from_le_bytes(magic)) {
        false
    } else if [MAGIC_MICROS, MAGIC_NANOS].contains(&u32::from_be_bytes(magic)) {
        true
    } else {
        bail!("not a pcap file (magic {magic:02x?})");
    };
    let u32_at = |at: usize| {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
    };
    let mut packets = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let len = u32_at(at + 8) as usize;
        let start = at + 16;
        let Some(data) = bytes.get(start..start + len) else { break };
        packets.push(data.to_vec());
        at = start + len;
    }
    Ok(packets)
}

/// A pcap file of Ethernet `packets`: little-endian, microsecond
/// timestamps (all zero), version 2.4.
pub fn to_bytes<P: AsRef<[u8]>>(packets: &[P]) -> Vec<u8> {
    let mut out = Vec::new();
    let header = [MAGIC_MICROS, 0x0004_0002, 0, 0, SNAPLEN, LINKTYPE_ETHERNET];
    out.extend(header.iter().flat_map(|word| word.to_le_bytes()));
    for packet in packets {
        let packet = packet.as_ref();
        let len = packet.len() as u32;
        out.extend([0u32, 0, len, len].iter().flat_map(|word| word.to_le_bytes()));
        out.extend_from_slice(packet);
    }
    out
}

/// Writes [`to_bytes`] of `packets` to `path`.
pub fn write_file<P: AsRef<[u8]>>(path: &Path, packets: &[P]) -> Result<()> {
    std::fs::write(path, to_bytes(packets)).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_and_leaves_a_partial_one() {
        let mut bytes = to_bytes(&[b"abc".as_slice(), b"de"]);
        assert_eq!(parse(&bytes).unwrap(), vec![b"abc".to_vec(), b"de".to_vec()]);
        bytes.truncate(bytes.len() - 1);
        assert_eq!(parse(&bytes).unwrap(), vec![b"abc".to_vec()]);
        assert_eq!(parse(&bytes[..10]).unwrap(), Vec::<Vec<u8>>::new());
        assert!(parse(&[0u8; 24]).is_err());
    }
}
