//! An open database file: appending records, making them durable,
//! compacting, and opening or creating the file in the first place.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::collections::VecDeque;

use ovsdb::Uuid;
use ovsdb::db::{Commit, Database};
use ovsdb::schema::DatabaseSchema;

use crate::error::{Error, Result};
use crate::file_txn;
use crate::frame::{self, STANDALONE_MAGIC};
use crate::load::{self, TornTail};
use crate::lockfile::LockFile;
use crate::txn_id;

/// How a file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Read the database; leave the file as it is (a torn tail stays) and
    /// take no lock, as `ovsdb-tool query` does.
    ReadOnly,
    /// Lock the file, cut off a torn tail, and allow appending.
    ReadWrite,
}

/// When [`Log::compaction_due`] says yes. The defaults are Open vSwitch's
/// for standalone databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// Never sooner than this after opening or the last compaction.
    pub min_interval: Duration,
    /// After this long, compact if anything at all was written.
    pub max_interval: Duration,
    /// In between, compact once the file exceeds this size...
    pub min_size: u64,
    /// ...and this multiple of its size just after the last compaction...
    pub growth_factor: u64,
    /// ...and holds at least this many transaction records since then.
    pub min_records: u64,
}

impl Default for CompactionPolicy {
    fn default() -> CompactionPolicy {
        CompactionPolicy {
            min_interval: Duration::from_secs(10 * 60),
            max_interval: Duration::from_secs(24 * 60 * 60),
            min_size: 10 * 1024 * 1024,
            growth_factor: 2,
            min_records: 100,
        }
    }
}

/// What [`Log::open`] returns: the database and the file to keep writing.
pub struct Opened {
    pub schema: Arc<DatabaseSchema>,
    pub db: Database,
    pub log: Log,
    /// Set if the end of the file was unreadable and (in
    /// [`OpenMode::ReadWrite`]) cut off. Every record before it was kept.
    pub torn_tail: Option<TornTail>,
    /// The recent transactions with their ids ([`crate::load::Loaded::history`]).
    pub history: VecDeque<(Uuid, Commit)>,
    /// The id just before `history`'s first transaction.
    pub history_start: Uuid,
}

/// An open standalone database file.
///
/// [`Log::append`] only queues a record in memory; [`Log::flush`] hands the
/// queue to the operating system and [`Log::sync`] also waits until it is
/// on disk. See the crate documentation for the policy built on that.
pub struct Log {
    /// The name the file was opened by.
    path: PathBuf,
    /// Shared with the callers of [`Log::flush_for_sync`], who sync it.
    file: Arc<File>,
    read_only: bool,
    schema: Arc<DatabaseSchema>,
    /// Held for as long as the file is open for writing.
    _lock: Option<LockFile>,
    /// Length of the file: every byte before it is a complete record.
    written: u64,
    /// Records appended but not yet written to the file, in pieces to
    /// write one after the other: a large record's body is its own piece,
    /// written as it was encoded rather than copied.
    pending: Vec<Vec<u8>>,
    /// Records were written by [`Log::flush`] since the file was last
    /// handed out for syncing by [`Log::flush_for_sync`].
    unhanded: bool,
    /// Size of the file right after the last compaction (or as opened).
    base: u64,
    /// Transaction records written or queued since then.
    n_records_since_base: u64,
    last_compaction: Instant,
    policy: CompactionPolicy,
    /// A failed write could not be undone: the file may end in a partial
    /// record, so no more may be appended after it.
    poisoned: bool,
    /// The id of the last transaction appended or read ([`crate::txn_id`]).
    last_txn_id: Uuid,
}

impl Log {
    /// Opens the database file at `path` and reads the database in it.
    pub fn open(path: impl AsRef<Path>, mode: OpenMode) -> Result<Opened> {
        let path = path.as_ref();
        let lock = match mode {
            OpenMode::ReadWrite => Some(LockFile::lock(path)?),
            OpenMode::ReadOnly => None,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(mode == OpenMode::ReadWrite)
            .open(path)
            .map_err(Error::io("open", path))?;
        // Record by record: only one record's text is in memory at a time.
        let loaded = match load::load_from(std::io::BufReader::with_capacity(1 << 20, &mut file)) {
            Ok(l) => l,
            Err(load::LoadError::Io(e)) => return Err(Error::Io { op: "read", path: path.to_path_buf(), source: e }),
            Err(load::LoadError::Db(e)) => return Err(e),
        };

        if let Some(tail) = &loaded.torn_tail {
            tracing::warn!(path = %path.display(), "{tail}");
            if mode == OpenMode::ReadWrite {
                file.set_len(loaded.end).map_err(Error::io("truncate", path))?;
                file.sync_all().map_err(Error::io("fsync", path))?;
            }
        }
        let log = Log {
            path: path.to_path_buf(),
            file: Arc::new(file),
            read_only: mode == OpenMode::ReadOnly,
            schema: Arc::clone(&loaded.schema),
            _lock: lock,
            written: loaded.end,
            pending: Vec::new(),
            unhanded: false,
            base: loaded.base,
            n_records_since_base: loaded.n_records_since_base,
            last_compaction: Instant::now(),
            policy: CompactionPolicy::default(),
            poisoned: false,
            last_txn_id: loaded.last_txn_id,
        };
        Ok(Opened {
            schema: loaded.schema,
            db: loaded.db,
            log,
            torn_tail: loaded.torn_tail,
            history: loaded.history,
            history_start: loaded.history_start,
        })
    }

    /// Creates a database file holding `schema` and no rows, as
    /// `ovsdb-tool create` does. Fails if the file exists. The new file is
    /// on disk when this returns.
    pub fn create(path: impl AsRef<Path>, schema: Arc<DatabaseSchema>) -> Result<Log> {
        let path = path.as_ref();
        let lock = LockFile::lock(path)?;
        let file = create_file(path)?;
        let mut record = Vec::new();
        frame::write_record(&mut record, STANDALONE_MAGIC, &schema.to_json());
        write_durably(&file, path, &record)?;
        let len = record.len() as u64;
        Ok(Log {
            path: path.to_path_buf(),
            file: Arc::new(file),
            read_only: false,
            schema,
            _lock: Some(lock),
            written: len,
            pending: Vec::new(),
            unhanded: false,
            base: len,
            n_records_since_base: 0,
            last_compaction: Instant::now(),
            policy: CompactionPolicy::default(),
            poisoned: false,
            last_txn_id: Uuid::ZERO,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema(&self) -> &Arc<DatabaseSchema> {
        &self.schema
    }

    /// Size of the file once queued records are written.
    pub fn len(&self) -> u64 {
        self.written + self.pending_len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn set_compaction_policy(&mut self, policy: CompactionPolicy) {
        self.policy = policy;
    }

    /// Queues the record for `commit` (made against this file's schema).
    /// Returns false if the commit changes nothing that files store, in
    /// which case nothing is queued. The record is durable only after
    /// [`Log::sync`].
    /// Returns the transaction's id ([`crate::txn_id`]), or None if the
    /// commit changes nothing that is stored (ephemeral columns only).
    pub fn append(&mut self, commit: &Commit) -> Result<Option<Uuid>> {
        self.check_writable()?;
        let mut digest = frame::BodyDigest::default();
        let Some(body) = file_txn::encode_commit_pieces(&self.schema, commit, now_ms(), &mut digest) else {
            return Ok(None);
        };
        let mut header = Vec::with_capacity(64);
        let digest = digest.write_header(&mut header, STANDALONE_MAGIC);
        self.queue(header);
        for piece in body {
            self.queue(piece);
        }
        self.n_records_since_base += 1;
        self.last_txn_id = txn_id::next(self.last_txn_id, &digest);
        Ok(Some(self.last_txn_id))
    }

    /// Adds bytes to those [`Log::flush`] writes; small ones join the last
    /// piece.
    fn queue(&mut self, bytes: Vec<u8>) {
        const OWN_PIECE: usize = 64 << 10;
        match self.pending.last_mut() {
            Some(last) if bytes.len() < OWN_PIECE && last.len() < OWN_PIECE => last.extend_from_slice(&bytes),
            _ => self.pending.push(bytes),
        }
    }

    /// Bytes queued for [`Log::flush`] (a few pieces).
    fn pending_len(&self) -> u64 {
        self.pending.iter().map(|piece| piece.len() as u64).sum()
    }

    /// The id of the last transaction in the log.
    pub fn last_txn_id(&self) -> Uuid {
        self.last_txn_id
    }

    /// Writes queued records to the file, without waiting for the disk.
    /// If this fails, none of them is in the file and all are dropped: the
    /// transactions they hold must be reported as failed.
    pub fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.check_writable()?;
        let mut at = self.written;
        let res = self.pending.iter().try_for_each(|piece| {
            self.file.write_all_at(piece, at)?;
            at += piece.len() as u64;
            Ok(())
        });
        let n = self.pending_len();
        self.pending.clear();
        match res {
            Ok(()) => {
                self.written += n;
                self.unhanded = true;
                Ok(())
            }
            Err(e) => {
                // Remove whatever part was written, so that the next record
                // follows a complete one.
                if self.file.set_len(self.written).is_err() {
                    self.poisoned = true;
                }
                Err(Error::Io {
                    op: "write",
                    path: self.path.clone(),
                    source: e,
                })
            }
        }
    }

    /// Writes queued records and waits until the file's data is on disk.
    /// When this returns `Ok`, every record appended so far is durable.
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        if self.read_only {
            return Ok(());
        }
        self.file.sync_data().map_err(Error::io("fsync", &self.path))
    }

    /// Writes queued records and returns a handle on the file for the
    /// caller to `sync_data` when it suits it (for example on another
    /// thread, so that work on later transactions continues meanwhile).
    /// None if nothing was written. The records are durable only once that
    /// sync has returned successfully.
    pub fn flush_for_sync(&mut self) -> Result<Option<Arc<File>>> {
        if (self.pending.is_empty() && !self.unhanded) || self.read_only {
            return Ok(None);
        }
        self.flush()?;
        self.unhanded = false;
        Ok(Some(Arc::clone(&self.file)))
    }

    /// Fails if records cannot be appended (a read-only or poisoned log),
    /// so that a caller can know [`Log::append`] will succeed.
    pub fn writable(&self) -> Result<()> {
        self.check_writable()
    }

    /// Whether compacting is worthwhile now, by the [`CompactionPolicy`].
    pub fn compaction_due(&self, now: Instant) -> bool {
        let p = &self.policy;
        let elapsed = now.saturating_duration_since(self.last_compaction);
        if self.read_only || elapsed < p.min_interval {
            return false;
        }
        if elapsed >= p.max_interval {
            return self.n_records_since_base > 0;
        }
        let len = self.len();
        self.n_records_since_base >= p.min_records
            && len > p.min_size
            && len > self.base.saturating_mul(p.growth_factor)
    }

    /// Replaces the file by one holding the schema and a single record with
    /// every row of `db`, atomically: the new file is written beside the old
    /// one, synced, renamed over it, and the directory synced. A crash at
    /// any point leaves either the old file or the new one.
    ///
    /// `db` must be the database this log describes, with every commit
    /// appended so far applied: queued records are superseded, not written.
    pub fn compact(&mut self, db: &Database, comment: Option<&str>) -> Result<()> {
        self.check_writable()?;
        let target = follow_symlinks(&self.path);
        let tmp = tmp_path(&target);
        // A leftover from an interrupted compaction is garbage.
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::Io {
                    op: "remove",
                    path: tmp,
                    source: e,
                });
            }
        }
        let comment = txn_id::snapshot_comment(comment, self.last_txn_id);
        let file = write_snapshot_file(&tmp, db, Some(&comment))?;
        if let Err(e) = fs::rename(&tmp, &target) {
            let _ = fs::remove_file(&tmp);
            return Err(Error::Io {
                op: "rename",
                path: tmp,
                source: e,
            });
        }
        // The new file is in place; from here on it is the log.
        let len = file.metadata().map_err(Error::io("stat", &target))?.len();
        self.file = Arc::new(file);
        self.pending.clear();
        self.written = len;
        self.base = len;
        self.n_records_since_base = 0;
        self.last_compaction = Instant::now();
        fsync_parent_dir(&target)
    }

    /// Replaces the file by a snapshot of `db`, which has a new schema (the
    /// `convert` method): like [`Log::compact`], and later records are
    /// written for the new schema. Transactions before the conversion are
    /// history of another schema, so the id chain starts afresh; returns
    /// the new starting id.
    pub fn convert(&mut self, db: &Database, comment: Option<&str>) -> Result<Uuid> {
        let old_schema = std::mem::replace(&mut self.schema, Arc::clone(&db.schema));
        let old_id = std::mem::replace(&mut self.last_txn_id, Uuid::random());
        let res = self.compact(db, comment);
        if res.is_err() {
            self.schema = old_schema;
            self.last_txn_id = old_id;
        }
        res.map(|()| self.last_txn_id)
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::ReadOnly)
        } else if self.poisoned {
            Err(Error::Poisoned {
                path: self.path.clone(),
            })
        } else {
            Ok(())
        }
    }
}

impl Drop for Log {
    /// Hands queued records to the operating system; they were never
    /// reported durable, so a failure here loses nothing promised.
    fn drop(&mut self) {
        if !self.read_only && !self.poisoned {
            let _ = self.flush();
        }
    }
}

/// Writes `db` to a new file at `path` (which must not exist) as a schema
/// record and one record holding every row, synced to disk, as `ovsdb-tool
/// compact DB DST` does. The file is not locked.
pub fn write_database(path: impl AsRef<Path>, db: &Database, comment: Option<&str>) -> Result<()> {
    let path = path.as_ref();
    write_snapshot_file(path, db, comment)?;
    fsync_parent_dir(path)
}

/// Creates `path` holding `db` and syncs it; returns the open file.
fn write_snapshot_file(path: &Path, db: &Database, comment: Option<&str>) -> Result<File> {
    let file = create_file(path)?;
    let mut out = Vec::new();
    frame::write_record(&mut out, STANDALONE_MAGIC, &db.schema.to_json());
    let body = file_txn::encode_snapshot(db, comment, now_ms());
    frame::write_header(&mut out, STANDALONE_MAGIC, &body);
    let res = file
        .write_all_at(&out, 0)
        .and_then(|()| file.write_all_at(&body, out.len() as u64))
        .and_then(|()| file.sync_all());
    if let Err(e) = res {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(Error::Io {
            op: "write",
            path: path.to_path_buf(),
            source: e,
        });
    }
    Ok(file)
}

fn create_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o660)
        .open(path)
        .map_err(Error::io("create", path))
}

/// Writes `bytes` as the whole content of a new file and makes the file and
/// its directory entry durable.
fn write_durably(file: &File, path: &Path, bytes: &[u8]) -> Result<()> {
    file.write_all_at(bytes, 0).map_err(Error::io("write", path))?;
    file.sync_all().map_err(Error::io("fsync", path))?;
    fsync_parent_dir(path)
}

/// Makes a new or renamed directory entry durable.
fn fsync_parent_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let res = File::open(dir).and_then(|d| d.sync_all());
    match res {
        // Some file systems cannot sync directories; nothing more to do there.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        res => res.map_err(Error::io("fsync directory", dir)),
    }
}

/// `path` with symbolic links followed, so that compaction replaces the
/// file a link points to rather than the link (as Open vSwitch does).
pub(crate) fn follow_symlinks(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match fs::read_link(&path) {
            Ok(target) if target.is_absolute() => path = target,
            Ok(target) => path = path.parent().unwrap_or(Path::new("")).join(target),
            Err(_) => break,
        }
    }
    path
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
