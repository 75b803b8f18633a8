//! Transaction ids that survive restarts.
//!
//! `monitor_cond_since` lets a client resume from the last transaction it
//! saw, so ids must mean the same thing after the server restarts. Each
//! record's id is a hash of the previous id and the record's SHA-1, so the
//! server computes the same chain when it writes a record and when it reads
//! the file back. A snapshot written by compaction names, in its
//! `_comment`, the id of the last transaction it contains, and the chain
//! continues from there; Open vSwitch's tools ignore comments.

use sha1::{Digest, Sha1};

use ovsdb::Uuid;

/// How a snapshot's comment names its last transaction.
const MARKER: &str = "rovn-last-txn-id ";

/// The id of the record with SHA-1 `digest`, following `prev`.
pub fn next(prev: Uuid, digest: &[u8; 20]) -> Uuid {
    let mut h = Sha1::new();
    h.update(prev.0.to_be_bytes());
    h.update(digest);
    let out: [u8; 20] = h.finalize().into();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&out[..16]);
    Uuid(u128::from_be_bytes(bytes))
}

/// The last transaction id a snapshot's comment names, if any.
pub fn from_comment(comment: &str) -> Option<Uuid> {
    let at = comment.find(MARKER)? + MARKER.len();
    Uuid::parse(comment.get(at..at + 36)?)
}

/// A snapshot's comment: the caller's, plus the last transaction id.
pub fn snapshot_comment(comment: Option<&str>, last: Uuid) -> String {
    match comment {
        Some(c) if !c.is_empty() => format!("{c}; {MARKER}{last}"),
        _ => format!("{MARKER}{last}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_and_comment() {
        let a = next(Uuid::ZERO, &[1; 20]);
        assert_ne!(a, next(Uuid::ZERO, &[2; 20]));
        assert_ne!(next(a, &[1; 20]), a, "the same record twice gets two ids");
        let c = snapshot_comment(Some("compacting database online"), a);
        assert_eq!(from_comment(&c), Some(a));
        assert_eq!(from_comment("compacting database online"), None);
        assert_eq!(from_comment(&snapshot_comment(None, a)), Some(a));
    }
}
