//! Short strings shared between rows.
//!
//! OVN databases repeat the same short strings in row after row: pipeline
//! names, `external_ids` keys, stage names, common actions such as
//! `next;`. Each distinct short string is kept once and shared (the atoms
//! hold `Arc<str>`). Long strings (matches, schemas) are rarely repeated and
//! are not worth hashing, so they are allocated as they come.
//!
//! Strings no atom uses any more are dropped when a shard has doubled in
//! size since its last sweep, so the table stays proportional to what is
//! in use.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, OnceLock};

use crate::db::FastSet;

/// Longer strings are not shared.
pub const MAX_LEN: usize = 64;
const SHARDS: usize = 16;
const MIN_SWEEP: usize = 1024;

struct Shard {
    set: FastSet<Arc<str>>,
    /// Size after the last sweep.
    swept_at: usize,
}

fn shards() -> &'static [Mutex<Shard>; SHARDS] {
    static SHARDS_: OnceLock<[Mutex<Shard>; SHARDS]> = OnceLock::new();
    SHARDS_.get_or_init(|| std::array::from_fn(|_| Mutex::new(Shard { set: FastSet::default(), swept_at: 0 })))
}

/// The shared copy of `s` (a new one for long strings).
pub fn intern(s: &str) -> Arc<str> {
    if s.len() > MAX_LEN {
        return Arc::from(s);
    }
    // The shard comes from the high bits of the hash the set uses (its
    // buckets use the low ones).
    let h = std::hash::BuildHasherDefault::<crate::db::FastHasher>::default().hash_one(s);
    let Ok(mut shard) = shards()[(h >> 60) as usize % SHARDS].lock() else { return Arc::from(s) };
    if let Some(a) = shard.set.get(s) {
        return Arc::clone(a);
    }
    if shard.set.len() >= (2 * shard.swept_at).max(MIN_SWEEP) {
        // Only the table itself holds these: nobody uses them any more.
        shard.set.retain(|a| Arc::strong_count(a) > 1);
        shard.swept_at = shard.set.len();
    }
    let a: Arc<str> = Arc::from(s);
    shard.set.insert(Arc::clone(&a));
    a
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
        for i in 0..(SHARDS * MIN_SWEEP * 4) {
            drop(intern(&format!("transient-{i}")));
        }
        let total: usize = shards().iter().map(|s| s.lock().unwrap().set.len()).sum();
        assert!(total < SHARDS * MIN_SWEEP * 3, "{total} strings kept");
        let kept = intern("kept");
        assert!(Arc::ptr_eq(&kept, &intern("kept")));
    }
}
