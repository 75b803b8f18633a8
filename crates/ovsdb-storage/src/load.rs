//! Reading a whole database file from memory: the schema record, then every
//! transaction record applied in turn, stopping at a damaged tail.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use ovsdb::Uuid;
use ovsdb::db::{Commit, Database};
use ovsdb::schema::DatabaseSchema;

use crate::error::{Error, Result};
use crate::file_txn::{DecodeError, Decoder};
use crate::frame::{self, CLUSTERED_MAGIC, Corruption, STANDALONE_MAGIC};
use crate::txn_id;

/// The end of a file that was cut off because it could not be read: what a
/// crash in the middle of a write leaves, or a damaged disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Where the unreadable record starts: the file's new length.
    pub offset: u64,
    /// How many bytes were dropped.
    pub discarded: u64,
    pub reason: Corruption,
}

impl fmt::Display for TornTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record at offset {}: {}; discarding the last {} bytes of the file",
            self.offset, self.reason, self.discarded
        )
    }
}

/// A database read from a file's bytes.
pub struct Loaded {
    pub schema: Arc<DatabaseSchema>,
    pub db: Database,
    /// Length of the readable records: where the next record goes.
    pub end: u64,
    /// End of the first record after the schema (compaction writes the whole
    /// database there), or of the schema record if there is none: the size
    /// the file had when it was last compacted, as far as one can tell.
    pub base: u64,
    /// Transaction records after `base`.
    pub n_records_since_base: u64,
    pub torn_tail: Option<TornTail>,
    /// The id of the last transaction in the file (zero if none); see
    /// [`crate::txn_id`].
    pub last_txn_id: Uuid,
    /// The most recent transactions after the first record, oldest first,
    /// with their ids, so the server can answer `monitor_cond_since` for
    /// clients that saw them before a restart. At most [`HISTORY_RECORDS`].
    pub history: VecDeque<(Uuid, Commit)>,
    /// The id of the transaction just before `history`'s first one: a
    /// client that saw it has missed exactly `history`.
    pub history_start: Uuid,
}

/// How many of the last transactions [`load`] keeps in [`Loaded::history`].
pub const HISTORY_RECORDS: usize = 10_000;
/// And at most about this many bytes of rows (old versions of rows with
/// large sets are big).
pub const HISTORY_BYTES: usize = 256 << 20;

/// Reads the database in `bytes`, the whole content of a standalone file.
pub fn load(bytes: &[u8]) -> Result<Loaded> {
    let schema_frame = match frame::next_frame(bytes, 0, None) {
        Ok(Some(f)) => f,
        Ok(None) => return Err(Error::Empty),
        Err(e) => return Err(Error::SchemaRecord(e)),
    };
    match schema_frame.magic {
        STANDALONE_MAGIC => {}
        CLUSTERED_MAGIC => return Err(Error::Clustered),
        other => return Err(Error::SchemaRecord(Corruption::WrongMagic(other.to_string()))),
    }
    let schema_json = frame::parse_body(schema_frame.body).map_err(Error::SchemaRecord)?;
    let schema = DatabaseSchema::from_json(&serde_json::Value::Object(schema_json)).map_err(Error::Schema)?;

    let mut db = Database::new(Arc::clone(&schema));
    let decoder = Decoder::new(&schema);
    let mut pos = schema_frame.end;
    let mut base = pos as u64;
    let mut n_records = 0u64;
    let mut torn_tail = None;
    let mut last_txn_id = Uuid::ZERO;
    let mut history = VecDeque::new();
    let mut history_start = Uuid::ZERO;
    let mut history_bytes = 0usize;
    loop {
        let frame = match frame::next_frame(bytes, pos, Some(STANDALONE_MAGIC)) {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(reason) => {
                torn_tail = Some(TornTail {
                    offset: pos as u64,
                    discarded: (bytes.len() - pos) as u64,
                    reason,
                });
                break;
            }
        };
        let commit = match decoder.decode(&db, frame.body) {
            Ok(c) => c,
            Err(DecodeError::Corrupt(reason)) => {
                torn_tail = Some(TornTail {
                    offset: pos as u64,
                    discarded: (bytes.len() - pos) as u64,
                    reason,
                });
                break;
            }
            Err(DecodeError::Invalid(source)) => {
                return Err(Error::Transaction {
                    offset: pos as u64,
                    source,
                });
            }
        };
        db.apply(&commit);
        n_records += 1;
        pos = frame.end;
        if n_records == 1 {
            base = pos as u64;
            // A snapshot we wrote continues the chain of the transactions it
            // holds; anything else starts one. Either way it is not history:
            // no client can have seen a transaction before it but not it.
            last_txn_id = commit
                .comment
                .as_deref()
                .and_then(txn_id::from_comment)
                .unwrap_or_else(|| txn_id::next(Uuid::ZERO, &frame.digest));
            history_start = last_txn_id;
        } else {
            last_txn_id = txn_id::next(last_txn_id, &frame.digest);
            history_bytes += commit.approx_bytes();
            history.push_back((last_txn_id, commit));
            while history.len() > HISTORY_RECORDS || (history.len() > 1 && history_bytes > HISTORY_BYTES) {
                if let Some((id, old)) = history.pop_front() {
                    history_bytes -= old.approx_bytes();
                    history_start = id;
                }
            }
        }
    }
    Ok(Loaded {
        schema,
        db,
        end: pos as u64,
        base,
        n_records_since_base: n_records.saturating_sub(1),
        torn_tail,
        last_txn_id,
        history,
        history_start,
    })
}
