//! The server's database files, kept by `ovsdb-storage`.
//!
//! Durability: each commit is queued with `append`; after each batch of
//! events the server loop writes the batch's records (`flush_for_sync`)
//! and hands the file to the syncer thread, which releases the batch's
//! replies and updates only once `fdatasync` has returned. A reply
//! therefore means the change is on disk.

use std::path::Path;

use ovsdb::Uuid;
use ovsdb::db::{Commit, Database};
use ovsdb_storage::log::{Log, OpenMode};

use crate::server::{History, Storage};

impl Storage for Log {
    fn append(&mut self, commit: &Commit) -> std::io::Result<Option<Uuid>> {
        Log::append(self, commit).map_err(std::io::Error::other)
    }

    fn writable(&self) -> std::io::Result<()> {
        Log::writable(self).map_err(std::io::Error::other)
    }

    fn write(&mut self) -> std::io::Result<()> {
        Log::flush(self).map_err(std::io::Error::other)
    }

    fn sync(&mut self) -> std::io::Result<()> {
        Log::sync(self).map_err(std::io::Error::other)
    }

    fn flush_for_sync(&mut self) -> std::io::Result<Option<std::sync::Arc<std::fs::File>>> {
        Log::flush_for_sync(self).map_err(std::io::Error::other)
    }

    fn compact(&mut self, db: &Database) -> std::io::Result<()> {
        Log::compact(self, db, Some("compacting database online")).map_err(std::io::Error::other)
    }

    fn convert(&mut self, db: &Database) -> std::io::Result<Uuid> {
        Log::convert(self, db, Some("converted by rovsdb-server")).map_err(std::io::Error::other)
    }

    fn wants_compaction(&self) -> bool {
        self.compaction_due(std::time::Instant::now())
    }

    fn describe(&self) -> String {
        self.path().display().to_string()
    }
}

/// A database read from its file, ready to serve: locked, torn tail cut
/// off (ovsdb-storage logs that), with its recent transactions.
pub struct Opened {
    pub db: Database,
    pub storage: Box<dyn Storage>,
    pub history: History,
}

pub fn open(path: &Path) -> Result<Opened, String> {
    let opened = Log::open(path, OpenMode::ReadWrite).map_err(|e| format!("{}: {e}", path.display()))?;
    let history = History { start: opened.history_start, last: opened.log.last_txn_id(), commits: opened.history };
    Ok(Opened { db: opened.db, storage: Box::new(opened.log), history })
}
