//! Short strings shared between rows.
//!
//! OVN databases repeat the same short strings in row after row: pipeline
//! names, `external_ids` keys, stage names, common actions such as
//! `next;`. Each is shared (the atoms hold `Arc<str>`) instead of being
//! allocated again for every row. Long strings (matches, schemas) are
//! rarely repeated and are not worth hashing, so they are allocated as they
//! come.
//!
//! Each thread keeps its own cache of the strings it met last: a table of
//! [`SLOTS`] pairs of slots, a string's hash choosing the pair, the string
//! met most recently first. A repeated string is found there and shared;
//! a new one takes the pair's first slot, and the string it pushes out of
//! the pair is only no longer shared by rows read later. Strings that
//! repeat all the time (those worth sharing) stay; strings met once (port
//! names in matches, hints) cost a slot for a while, never a table that
//! grows, rehashes and is swept. A large transaction's rows, read on every
//! thread, spent a third of their reading time in such a table.
//!
//! Per-thread caches, because rows read on several threads at once (a
//! large transaction's) would otherwise contend for a shared one and, worse,
//! pass the popular strings' cache lines back and forth with every
//! reference count taken; the price is a copy of each string per thread
//! that reads it.

use std::cell::RefCell;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::Arc;

use crate::db::FastHasher;

/// Longer strings are not shared.
pub const MAX_LEN: usize = 64;

/// Pairs of slots in each thread's cache: 128 KiB of slots a thread, a
/// few hundred times the distinct short strings an OVN database repeats.
const SLOTS: usize = 4096;

struct Cache {
    slots: Box<[Option<Arc<str>>]>,
}

impl Default for Cache {
    fn default() -> Cache {
        Cache { slots: vec![None; 2 * SLOTS].into_boxed_slice() }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The shared copy of `s` (a new one for long strings, and for short ones
/// not met lately on this thread).
pub fn intern(s: &str) -> Arc<str> {
    if s.len() > MAX_LEN {
        return Arc::from(s);
    }
    let pair = 2 * (BuildHasherDefault::<FastHasher>::default().hash_one(s) as usize % SLOTS);
    CACHE
        .try_with(|cache| {
            let slots = &mut cache.borrow_mut().slots[pair..pair + 2];
            if let Some(a) = slots[0].as_ref().filter(|a| ***a == *s) {
                return Arc::clone(a);
            }
            if let Some(a) = slots[1].as_ref().filter(|a| ***a == *s) {
                let a = Arc::clone(a);
                slots.swap(0, 1);
                return a;
            }
            let a: Arc<str> = Arc::from(s);
            slots[1] = slots[0].replace(Arc::clone(&a));
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

    /// Strings met once seldom push out those that keep coming back, and
    /// the cache holds no more than its slots whatever it is fed.
    #[test]
    fn repeated_strings_stay_shared_among_passing_ones() {
        let popular: Vec<String> = (0..200).map(|i| format!("ls_in_stage_{i}")).collect();
        let mut last: Vec<Arc<str>> = popular.iter().map(|s| intern(s)).collect();
        let mut shared = 0;
        for round in 0..50 {
            for i in 0..1000 {
                drop(intern(&format!("lsp-{round}-{i}")));
            }
            for (s, before) in popular.iter().zip(&mut last) {
                let now = intern(s);
                shared += Arc::ptr_eq(&now, before) as usize;
                *before = now;
            }
        }
        // A popular string loses its slot only when two passing strings
        // fall on its pair between two of its visits.
        assert!(shared > 200 * 50 * 9 / 10, "{shared} of {}", 200 * 50);
        let held = CACHE.with(|c| c.borrow().slots.iter().filter(|s| s.is_some()).count());
        assert!(held <= 2 * SLOTS, "{held}");
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
