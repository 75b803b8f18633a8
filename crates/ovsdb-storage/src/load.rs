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
    load_from(bytes).map_err(|e| match e {
        LoadError::Io(source) => Error::Io { op: "read", path: std::path::PathBuf::new(), source },
        LoadError::Db(e) => e,
    })
}

/// Why [`load_from`] failed: reading, or the content.
#[derive(Debug)]
pub enum LoadError {
    Io(std::io::Error),
    Db(Error),
}

impl From<Error> for LoadError {
    fn from(e: Error) -> LoadError {
        LoadError::Db(e)
    }
}

/// Records read one at a time from a file: only the record being decoded is
/// in memory, so opening a file costs the database, not the database plus
/// the file.
struct Records<R> {
    r: R,
    /// Bytes read; those before `off` are consumed.
    buf: Vec<u8>,
    off: usize,
    /// File offset of `buf[off]`.
    start: u64,
    eof: bool,
}

impl<R: std::io::Read> Records<R> {
    /// The record at the front, complete, or why it cannot be read.
    fn next(&mut self, magic: Option<&str>) -> std::result::Result<std::result::Result<Option<frame::Frame<'_>>, Corruption>, std::io::Error> {
        loop {
            // Ask for more only when the record is cut short and more may come.
            let rest = &self.buf[self.off..];
            let truncated =
                rest.is_empty() || matches!(frame::next_frame(rest, 0, magic), Err(Corruption::Truncated));
            if !truncated || self.eof {
                return Ok(frame::next_frame(&self.buf[self.off..], 0, magic));
            }
            self.fill()?;
        }
    }

    /// Reads about as much again as is buffered (at least 64 KiB).
    fn fill(&mut self) -> std::io::Result<()> {
        if self.off > 0 {
            self.buf.drain(..self.off);
            self.off = 0;
        }
        let want = self.buf.len().max(64 << 10);
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match self.r.read(&mut self.buf[old + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buf.truncate(old + got);
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.off += n;
        self.start += n as u64;
        if self.off == self.buf.len() {
            // Let a big record's buffer go rather than keep it to the end.
            self.buf = Vec::new();
            self.off = 0;
        }
    }

    /// How many bytes are left, reading to the end.
    fn remaining(&mut self) -> std::io::Result<u64> {
        let mut n = (self.buf.len() - self.off) as u64;
        n += std::io::copy(&mut self.r, &mut std::io::sink())?;
        Ok(n)
    }
}

/// Reads a standalone database file from `r`, record by record.
pub fn load_from(r: impl std::io::Read) -> std::result::Result<Loaded, LoadError> {
    let mut records = Records { r, buf: Vec::new(), off: 0, start: 0, eof: false };
    let (schema, schema_end) = {
        let schema_frame = match records.next(None).map_err(LoadError::Io)? {
            Ok(Some(f)) => f,
            Ok(None) => return Err(Error::Empty.into()),
            Err(e) => return Err(Error::SchemaRecord(e).into()),
        };
        match schema_frame.magic {
            STANDALONE_MAGIC => {}
            CLUSTERED_MAGIC => return Err(Error::Clustered.into()),
            other => return Err(Error::SchemaRecord(Corruption::WrongMagic(other.to_string())).into()),
        }
        let schema_json = frame::parse_body(schema_frame.body).map_err(Error::SchemaRecord)?;
        let schema = DatabaseSchema::from_json(&serde_json::Value::Object(schema_json)).map_err(Error::Schema)?;
        (schema, schema_frame.end)
    };
    records.consume(schema_end);

    let mut db = Database::new(Arc::clone(&schema));
    let decoder = Decoder::new(&schema);
    let mut base = records.start;
    let mut n_records = 0u64;
    let mut torn_tail = None;
    let mut last_txn_id = Uuid::ZERO;
    let mut history = VecDeque::new();
    let mut history_start = Uuid::ZERO;
    let mut history_bytes = 0usize;
    loop {
        let pos = records.start;
        let decoded = match records.next(Some(STANDALONE_MAGIC)).map_err(LoadError::Io)? {
            Ok(Some(frame)) => match decoder.decode(&db, frame.body) {
                Ok(c) => Ok((c, frame.end, frame.digest)),
                Err(DecodeError::Corrupt(reason)) => Err(reason),
                Err(DecodeError::Invalid(source)) => return Err(Error::Transaction { offset: pos, source }.into()),
            },
            Ok(None) => break,
            Err(reason) => Err(reason),
        };
        let (commit, end, digest) = match decoded {
            Ok(d) => d,
            Err(reason) => {
                let discarded = records.remaining().map_err(LoadError::Io)?;
                torn_tail = Some(TornTail { offset: pos, discarded, reason });
                break;
            }
        };
        records.consume(end);
        db.apply(&commit);
        n_records += 1;
        if n_records == 1 {
            base = records.start;
            // A snapshot we wrote continues the chain of the transactions it
            // holds; anything else starts one. Either way it is not history:
            // no client can have seen a transaction before it but not it.
            last_txn_id = commit
                .comment
                .as_deref()
                .and_then(txn_id::from_comment)
                .unwrap_or_else(|| txn_id::next(Uuid::ZERO, &digest));
            history_start = last_txn_id;
        } else {
            last_txn_id = txn_id::next(last_txn_id, &digest);
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
        end: records.start,
        base,
        n_records_since_base: n_records.saturating_sub(1),
        torn_tail,
        last_txn_id,
        history,
        history_start,
    })
}
