//! The server's database files, kept by `ovsdb-storage`.
//!
//! Durability: each commit is queued with `append`; the server loop syncs
//! once per batch of events, before any reply or update of that batch
//! leaves. A reply therefore means the change is on disk (fsync'd).

use std::path::Path;

use ovsdb::db::{Commit, Database};
use ovsdb_storage::log::{Log, OpenMode};

use crate::server::Storage;

impl Storage for Log {
    fn append(&mut self, _db: &Database, commit: &Commit) -> std::io::Result<()> {
        Log::append(self, commit).map(|_| ()).map_err(std::io::Error::other)
    }

    fn sync(&mut self) -> std::io::Result<()> {
        Log::sync(self).map_err(std::io::Error::other)
    }

    fn compact(&mut self, db: &Database) -> std::io::Result<()> {
        Log::compact(self, db, Some("compacting database online")).map_err(std::io::Error::other)
    }

    fn wants_compaction(&self) -> bool {
        self.compaction_due(std::time::Instant::now())
    }

    fn describe(&self) -> String {
        self.path().display().to_string()
    }
}

/// Opens a database file for serving: locked, torn tail cut off.
pub fn open(path: &Path) -> Result<(Database, Box<dyn Storage>), String> {
    let opened = Log::open(path, OpenMode::ReadWrite).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(tail) = &opened.torn_tail {
        tracing::warn!(target: "ovsdb_server", "{}: {tail}", path.display());
    }
    Ok((opened.db, Box::new(opened.log)))
}
