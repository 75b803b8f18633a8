//! Errors of every operation on a database file.

use std::io;
use std::path::PathBuf;

use crate::frame::Corruption;

/// Why a database file could not be opened, created, written or compacted.
///
/// A damaged *tail* is not an error: it is cut off and reported as a
/// [`crate::log::TornTail`]. A damaged schema record, or a transaction
/// record that is intact (its SHA-1 matches) but makes no sense for the
/// schema, is: no crash produces those, so the file is not ours to repair.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {op} failed: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: database is locked by {}", match .pid { Some(pid) => format!("process {pid}"), None => "another process".into() })]
    Locked { path: PathBuf, pid: Option<i32> },
    #[error("{path}: database is already open in this process")]
    AlreadyOpen { path: PathBuf },
    #[error("file is empty: a database file starts with a schema record")]
    Empty,
    #[error("clustered database files are not supported, only standalone ones")]
    Clustered,
    #[error("schema record is unreadable: {0}")]
    SchemaRecord(Corruption),
    #[error("schema record is not a valid schema: {0}")]
    Schema(ovsdb::Error),
    #[error("transaction record at offset {offset}: {source}")]
    Transaction {
        offset: u64,
        #[source]
        source: ovsdb::Error,
    },
    #[error("the database file was opened read-only")]
    ReadOnly,
    #[error("{path}: an earlier write failed and could not be undone; reopen the database")]
    Poisoned { path: PathBuf },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
