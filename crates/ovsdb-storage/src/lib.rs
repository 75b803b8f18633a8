//! The on-disk OVSDB database file, in the standalone format of ovsdb(5),
//! byte-compatible with Open vSwitch 3.1: files it writes we read, files we
//! write its `ovsdb-tool` and `ovsdb-server` read.
//!
//! A file is a series of records, each a header line
//! `OVSDB JSON <length> <sha1>` and a line of JSON. The first record is the
//! schema; each later one is a transaction (rows inserted, modified or
//! deleted); compaction rewrites the file as the schema and one record
//! inserting every row. This crate knows the disk and nothing of sockets;
//! the database itself is the `ovsdb` crate's [`ovsdb::db::Database`], built
//! here by applying one [`ovsdb::db::Commit`] per record.
//!
//! # Layout
//!
//! - [`frame`]: cutting records out of bytes and checking their SHA-1;
//!   writing record headers. Pure.
//! - [`file_txn`]: transaction records ⇄ commits, with column diffs
//!   (`"_is_diff": true`) as ovsdb-server 3.1 writes them; the snapshot
//!   record of compaction. Pure.
//! - [`load`]: a whole file's bytes → schema and database, stopping at a
//!   torn tail ([`load::TornTail`]). Pure.
//! - [`log`]: the open file ([`log::Log`]): open, create, append, sync,
//!   compact.
//! - [`lockfile`]: the `.NAME.~lock~` lock Open vSwitch uses, so that C and
//!   Rust tools never write one file at once.
//! - [`error`]: the one error type, [`error::Error`].
//!
//! # Durability
//!
//! [`log::Log::append`] queues a record in memory and costs no system call;
//! [`log::Log::sync`] writes the queue and waits for `fdatasync`. A
//! transaction may be reported committed only after a `sync` that followed
//! its `append` returned `Ok`. A server should therefore append every
//! transaction it commits in one pass of its main loop, call `sync` once,
//! and only then send the replies: one disk flush per batch, not per
//! transaction. (ovsdb-server 3.1 syncs only for clients that ask for
//! `"durable": true`; we always do, and batching pays for it.) If `sync`
//! fails, nothing queued since the previous `sync` may be reported
//! committed.
//!
//! # Compaction
//!
//! [`log::Log::compaction_due`] follows Open vSwitch's rule for standalone
//! databases ([`log::CompactionPolicy`]): never within 10 minutes of the
//! last compaction (or of opening); after that, once the file is larger
//! than 10 MiB *and* twice its size just after the last compaction *and*
//! holds at least 100 transaction records since; and after 24 hours, if
//! anything was written at all. (Open vSwitch waits a random 10 to 20
//! minutes, and counts records since it started rather than since the last
//! compaction; neither matters for one standalone server.)
//! [`log::Log::compact`] writes `NAME.tmp`, syncs it, renames it over the
//! file and syncs the directory, so a crash leaves either the old file or
//! the new one.
//!
//! # Crash recovery
//!
//! Opening a file reads records until one cannot be read: cut short, a bad
//! header, a SHA-1 mismatch, or a body that is not a JSON object. That
//! record and everything after it are the *torn tail*: a read-write open
//! truncates the file there, logs a warning and returns it
//! ([`log::Opened::torn_tail`]). Open vSwitch does the same (at its first
//! write). A damaged schema record, or a record whose hash is right but
//! whose content does not fit the schema, is an error instead: no crash
//! makes those, and throwing data away would hide the problem.

pub mod error;
pub mod file_txn;
pub mod frame;
pub mod load;
pub mod lockfile;
pub mod log;
pub mod txn_id;
