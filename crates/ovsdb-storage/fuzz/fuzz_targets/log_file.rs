//! Any bytes as a database file: reading never panics, and what it keeps
//! is a prefix of complete records.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(loaded) = ovsdb_storage::load::load(data) {
        let end = loaded.end as usize;
        assert!(end <= data.len());
        match &loaded.torn_tail {
            Some(tail) => assert_eq!((tail.offset + tail.discarded) as usize, data.len()),
            None => assert_eq!(end, data.len()),
        }
        // What was kept reads the same on its own, with nothing torn.
        let again = ovsdb_storage::load::load(&data[..end]).expect("a kept prefix reads again");
        assert!(again.torn_tail.is_none());
        assert_eq!(again.db.n_rows(), loaded.db.n_rows());
    }
});
