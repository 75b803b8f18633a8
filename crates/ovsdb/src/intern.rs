//! Short strings shared between rows.
//!
//! OVN databases repeat the same short strings in row after row: pipeline
//! names, `external_ids` keys, stage names, common actions such as
//! `next;`. Each distinct short string is kept once and shared (the atoms
//! hold `Arc<str>`). Long strings (matches, schemas) are rarely repeated and
//! are not worth hashing, so they are allocated as they come.
//!
//! Each thread keeps its own table. Rows read on several threads at once
//! (a large transaction's) would otherwise contend for a shared table and,
//! worse, pass the popular strings' cache lines back and forth with every
//! reference count taken; the price is a copy of each string per thread
//! that reads it.
//!
//! Strings no atom uses any more are dropped when a table has doubled in
//! size since its last sweep, so it stays proportional to what is in use.

use std::cell::RefCell;
use std::sync::Arc;

use crate::db::FastSet;

/// Longer strings are not shared.
pub const MAX_LEN: usize = 64;
const MIN_SWEEP: usize = 1024;

#[derive(Default)]
struct Table {
    set: FastSet<Arc<str>>,
    /// Size after the last sweep.
    swept_at: usize,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// The shared copy of `s` (a new one for long strings).
pub fn intern(s: &str) -> Arc<str> {
    if s.len() > MAX_LEN {
        return Arc::from(s);
    }
    TABLE
        .try_with(|table| {
            let mut table = table.borrow_mut();
            if let Some(a) = table.set.get(s) {
                return Arc::clone(a);
            }
            if table.set.len() >= (2 * table.swept_at).max(MIN_SWEEP) {
                // Only the table itself holds these: nobody uses them any more.
                table.set.retain(|a| Arc::strong_count(a) > 1);
                table.swept_at = table.set.len();
            }
            let a: Arc<str> = Arc::from(s);
            table.set.insert(Arc::clone(&a));
            a
        })
        // While the thread is going away: no sharing.
        .unwrap_or_else(|_| Arc::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_short_strings_only() {
        let a = intern("stage-name");
        let b = intern("stage-name");
        assert!(Arc::ptr_eq(&a, &b));
        let long = "x".repeat(MAX_LEN + 1);
        assert!(!Arc::ptr_eq(&intern(&long), &intern(&long)));
    }

    #[test]
    fn unused_strings_are_swept() {
        for i in 0..(MIN_SWEEP * 16) {
            drop(intern(&format!("transient-{i}")));
        }
        let total = TABLE.with(|t| t.borrow().set.len());
        assert!(total < MIN_SWEEP * 3, "{total} strings kept");
        let kept = intern("kept");
        assert!(Arc::ptr_eq(&kept, &intern("kept")));
    }

    #[test]
    fn each_thread_shares_its_own_copies() {
        let here = intern("per-thread");
        let there = std::thread::spawn(|| {
            let a = intern("per-thread");
            assert!(Arc::ptr_eq(&a, &intern("per-thread")));
            a
        })
        .join()
        .unwrap();
        assert_eq!(here, there);
        assert!(!Arc::ptr_eq(&here, &there));
    }
}
