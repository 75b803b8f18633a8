//! The lock Open vSwitch takes on a database it writes: a POSIX record lock
//! (`fcntl(F_SETLK)`, whole file, for writing) on `.<name>.~lock~` beside
//! the database. Taking the same one keeps `ovsdb-tool compact` or a C
//! `ovsdb-server` from writing a file we have open, and us from theirs.
//!
//! POSIX record locks belong to the process, and closing *any* descriptor of
//! the locked file drops them, so a process must not lock one file twice:
//! [`LockFile`] keeps a process-wide table of what it holds (as Open vSwitch
//! does) and refuses a second lock instead.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// (device, inode) of every lock file this process holds.
static HELD: Mutex<Option<HashSet<(u64, u64)>>> = Mutex::new(None);

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct LockFile {
    /// Always `Some` until dropped.
    file: Option<File>,
    key: (u64, u64),
}

/// The lock file's name for database `db_path` (symbolic links resolved, so
/// that every name of one database shares one lock).
pub fn lock_path(db_path: &Path) -> PathBuf {
    let target = crate::log::follow_symlinks(db_path);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.~lock~"))
}

impl LockFile {
    /// Locks database `db_path`, failing at once if someone holds the lock.
    pub fn lock(db_path: &Path) -> Result<LockFile> {
        let path = lock_path(db_path);
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        let held = held.get_or_insert_with(HashSet::new);
        // Look before opening: opening and closing a file we hold would
        // release our own lock.
        if let Ok(meta) = std::fs::metadata(&path)
            && held.contains(&(meta.dev(), meta.ino()))
        {
            return Err(Error::AlreadyOpen {
                path: db_path.to_path_buf(),
            });
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(Error::io("open lock file", &path))?;
        let meta = file.metadata().map_err(Error::io("stat lock file", &path))?;
        let key = (meta.dev(), meta.ino());
        if held.contains(&key) {
            // The lock file was replaced between the two looks; keep this
            // descriptor open rather than drop our lock by closing it.
            std::mem::forget(file);
            return Err(Error::AlreadyOpen {
                path: db_path.to_path_buf(),
            });
        }
        let mut fl = whole_file_lock(libc::F_WRLCK as libc::c_short);
        // SAFETY: `fl` is a valid `flock` and the descriptor is open.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &mut fl) } == -1 {
            let err = std::io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EAGAIN | libc::EACCES) => {
                    let mut probe = whole_file_lock(libc::F_WRLCK as libc::c_short);
                    // SAFETY: as above; F_GETLK only fills in `probe`.
                    let holder = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut probe) } == 0
                        && probe.l_type != libc::F_UNLCK as libc::c_short;
                    Err(Error::Locked {
                        path: db_path.to_path_buf(),
                        pid: holder.then_some(probe.l_pid),
                    })
                }
                _ => Err(Error::Io {
                    op: "lock",
                    path,
                    source: err,
                }),
            };
        }
        held.insert(key);
        Ok(LockFile { file: Some(file), key })
    }
}

fn whole_file_lock(l_type: libc::c_short) -> libc::flock {
    // SAFETY: `flock` is plain data; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = l_type;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl
}

impl Drop for LockFile {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock. Do it under the table's
        // mutex, so that no thread of ours locks the file anew in between
        // (which our close would silently undo).
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        drop(self.file.take());
        if let Some(held) = held.as_mut() {
            held.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lock_per_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let lock = LockFile::lock(&db).unwrap();
        assert!(dir.path().join(".x.db.~lock~").exists());
        assert!(matches!(LockFile::lock(&db), Err(Error::AlreadyOpen { .. })));
        drop(lock);
        LockFile::lock(&db).unwrap();
    }
}
