//! Crash recovery: a file whose end is torn or damaged keeps every complete
//! record before the damage; a damaged schema, or an intact record that
//! does not fit the schema, is an error.

mod support;

use std::path::Path;
use std::sync::Arc;

use ovsdb::db::Database;
use ovsdb_storage::error::Error;
use ovsdb_storage::frame::Corruption;
use ovsdb_storage::log::{Log, OpenMode};
use serde_json::json;
use support::*;

/// A file made of the scenario's records. Returns its bytes, where its last
/// record starts, and the database without and with that record.
fn sample(dir: &Path) -> (Vec<u8>, usize, Dump, Dump) {
    let file = dir.join("sample.db");
    let schema = test_schema();
    let mut log = Log::create(&file, Arc::clone(&schema)).unwrap();
    let mut db = Database::new(schema);
    let steps = scenario();
    let (last, most) = steps.split_last().unwrap();
    for ops in most {
        log.append(&commit(&mut db, ops)).unwrap();
    }
    let before = dump(&db);
    let last_start = log.len() as usize;
    // The scenario's last step writes nothing; the one before does.
    let _ = last;
    log.append(&commit(
        &mut db,
        &json!([{"op": "mutate", "table": "Child", "where": [],
        "mutations": [["tags", "insert", ["map", [["new", 1]]]]]}]),
    ))
    .unwrap();
    log.sync().unwrap();
    drop(log);
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > last_start);
    (bytes, last_start, before, dump(&db))
}

#[test]
fn truncation_at_every_offset_of_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, last_start, before, _) = sample(dir.path());
    let file = dir.path().join("torn.db");
    for cut in last_start + 1..bytes.len() {
        std::fs::write(&file, &bytes[..cut]).unwrap();
        let opened = Log::open(&file, OpenMode::ReadWrite).unwrap();
        let tail = opened
            .torn_tail
            .clone()
            .unwrap_or_else(|| panic!("cut at {cut}: no torn tail"));
        assert_eq!(tail.offset, last_start as u64);
        assert_eq!(tail.discarded, (cut - last_start) as u64);
        assert_eq!(tail.reason, Corruption::Truncated, "cut at {cut}");
        assert_eq!(dump(&opened.db), before, "cut at {cut}");
        drop(opened);
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            last_start as u64,
            "cut at {cut}: not truncated"
        );
    }
    // Cut at a record boundary: nothing is torn.
    std::fs::write(&file, &bytes[..last_start]).unwrap();
    let opened = Log::open(&file, OpenMode::ReadWrite).unwrap();
    assert_eq!(opened.torn_tail, None);
    assert_eq!(dump(&opened.db), before);
}

#[test]
fn recovered_files_take_new_records_and_open_vswitch_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, last_start, _, _) = sample(dir.path());
    let file = dir.path().join("torn.db");
    std::fs::write(&file, &bytes[..bytes.len() - 7]).unwrap();
    let mut opened = Log::open(&file, OpenMode::ReadWrite).unwrap();
    assert!(opened.torn_tail.is_some());
    assert_eq!(opened.log.len(), last_start as u64);
    let c = commit(
        &mut opened.db,
        &json!([{"op": "insert", "table": "Peer", "row": {"name": "after"}}]),
    );
    opened.log.append(&c).unwrap();
    opened.log.sync().unwrap();
    let expected = dump(&opened.db);
    drop(opened);
    assert_eq!(ovs_dump(&file, &test_schema()), expected);
    let reopened = Log::open(&file, OpenMode::ReadOnly).unwrap();
    assert_eq!(reopened.torn_tail, None);
    assert_eq!(dump(&reopened.db), expected);
}

/// What is damaged, the damaged file, and the damage expected to be seen.
type Case = (&'static str, Vec<u8>, fn(&Corruption) -> bool);

#[test]
fn damaged_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, last_start, before, _) = sample(dir.path());
    let file = dir.path().join("bad.db");
    let header_end = last_start + bytes[last_start..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let cases: Vec<Case> = vec![
        ("body byte", flip(&bytes, header_end + 5), |c| {
            matches!(c, Corruption::BadHash { .. })
        }),
        (
            "hash digit",
            {
                let mut b = bytes.clone();
                b[header_end - 2] = if b[header_end - 2] == b'0' { b'1' } else { b'0' };
                b
            },
            |c| matches!(c, Corruption::BadHash { .. }),
        ),
        (
            "length digit",
            {
                let mut b = bytes.clone();
                let text = String::from_utf8_lossy(&b[last_start..header_end]).into_owned();
                let len_at = last_start + "OVSDB JSON ".len();
                assert!(text.starts_with("OVSDB JSON "));
                b[len_at] = if b[len_at] == b'9' { b'1' } else { b[len_at] + 1 };
                b
            },
            |c| matches!(c, Corruption::Truncated | Corruption::BadHash { .. }),
        ),
        (
            "magic",
            {
                let mut b = bytes.clone();
                b[last_start + 6] = b'X';
                b
            },
            |c| matches!(c, Corruption::WrongMagic(_)),
        ),
        ("new-line in header", flip(&bytes, header_end - 1), |c| {
            matches!(c, Corruption::BadHeader(_))
        }),
    ];
    for (what, damaged, expect) in cases {
        std::fs::write(&file, &damaged).unwrap();
        let opened = Log::open(&file, OpenMode::ReadWrite).unwrap();
        let tail = opened
            .torn_tail
            .clone()
            .unwrap_or_else(|| panic!("{what}: no torn tail"));
        assert!(expect(&tail.reason), "{what}: {tail}");
        assert_eq!(tail.offset, last_start as u64, "{what}");
        assert_eq!(dump(&opened.db), before, "{what}");
        drop(opened);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), last_start as u64, "{what}");
    }
}

/// A record with a correct hash whose JSON is broken: the hash only shows
/// the bytes are as written, so the tail is torn all the same (as in OVS).
#[test]
fn hashed_garbage_and_non_objects() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, _, after) = sample(dir.path());
    let file = dir.path().join("bad.db");
    for (body, expect) in [
        (&b"{\"Peer\":\n"[..], "not valid JSON"),
        (&b"[1,2]\n"[..], "not a JSON object"),
        (&b"\xff\xfe\n"[..], "not valid JSON"),
    ] {
        let mut damaged = bytes.clone();
        ovsdb_storage::frame::write_header(&mut damaged, "JSON", body);
        damaged.extend_from_slice(body);
        std::fs::write(&file, &damaged).unwrap();
        let opened = Log::open(&file, OpenMode::ReadWrite).unwrap();
        let tail = opened.torn_tail.clone().unwrap();
        assert_eq!(tail.offset, bytes.len() as u64);
        assert!(tail.to_string().contains(expect), "{tail}");
        assert_eq!(dump(&opened.db), after);
    }
}

#[test]
fn garbage_after_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, _, after) = sample(dir.path());
    let file = dir.path().join("garbage.db");
    let garbage: [&[u8]; 6] = [
        b"\0\0\0\0\0\0\0\0",
        b"OVSDB JSON 5 xyz\n{}\n",
        b"OVSDB JSON 99999 0000000000000000000000000000000000000000\n{}\n",
        b"OVSDB JS",
        b"\n",
        b"hello world, this is not a record at all and it goes on for a while past one hundred and twenty-eight bytes of text without any new-line",
    ];
    for g in garbage {
        let mut damaged = bytes.clone();
        damaged.extend_from_slice(g);
        std::fs::write(&file, &damaged).unwrap();

        // Read-only: reported, but the file stays as it is.
        let ro = Log::open(&file, OpenMode::ReadOnly).unwrap();
        assert_eq!(ro.torn_tail.as_ref().map(|t| t.discarded), Some(g.len() as u64));
        assert_eq!(dump(&ro.db), after);
        drop(ro);
        assert_eq!(std::fs::read(&file).unwrap(), damaged);

        let rw = Log::open(&file, OpenMode::ReadWrite).unwrap();
        assert_eq!(rw.torn_tail.as_ref().map(|t| t.offset), Some(bytes.len() as u64));
        drop(rw);
        assert_eq!(std::fs::read(&file).unwrap(), bytes);
    }
}

/// Damage in the middle ends the readable part of the file there, as in
/// Open vSwitch: records after it cannot be trusted to apply.
#[test]
fn damage_in_the_middle_drops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, _, _) = sample(dir.path());
    let file = dir.path().join("mid.db");
    let schema_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let schema_end = schema_end + bytes[schema_end..].iter().position(|&b| b == b'\n').unwrap() + 1;
    // Damage the first transaction record's body.
    let first_txn_body = schema_end + bytes[schema_end..].iter().position(|&b| b == b'\n').unwrap() + 3;
    std::fs::write(&file, flip(&bytes, first_txn_body)).unwrap();
    let opened = Log::open(&file, OpenMode::ReadOnly).unwrap();
    let tail = opened.torn_tail.unwrap();
    assert_eq!(tail.offset, schema_end as u64);
    assert_eq!(opened.db.n_rows(), 0);
}

#[test]
fn unreadable_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, _, _) = sample(dir.path());
    let file = dir.path().join("x.db");
    let open = |content: &[u8]| {
        std::fs::write(&file, content).unwrap();
        Log::open(&file, OpenMode::ReadWrite)
            .err()
            .unwrap_or_else(|| panic!("opened {:?}", String::from_utf8_lossy(content)))
    };
    assert!(matches!(open(b""), Error::Empty));
    let schema_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    assert!(matches!(
        open(&bytes[..schema_end + 10]),
        Error::SchemaRecord(Corruption::Truncated)
    ));
    assert!(matches!(
        open(&flip(&bytes, schema_end + 10)),
        Error::SchemaRecord(Corruption::BadHash { .. })
    ));
    let mut clustered = Vec::new();
    ovsdb_storage::frame::write_header(&mut clustered, "CLUSTER", b"{}\n");
    clustered.extend_from_slice(b"{}\n");
    assert!(matches!(open(&clustered), Error::Clustered));
    let mut bad_schema = Vec::new();
    ovsdb_storage::frame::write_record(&mut bad_schema, "JSON", &json!({"name": "x"}));
    assert!(matches!(open(&bad_schema), Error::Schema(_)));

    // An intact record that names no table of the schema.
    let mut unknown = bytes[..schema_end + bytes[schema_end..].iter().position(|&b| b == b'\n').unwrap() + 1].to_vec();
    let unknown_len = unknown.len();
    ovsdb_storage::frame::write_record(&mut unknown, "JSON", &json!({"Nope": {}}));
    match open(&unknown) {
        Error::Transaction { offset, .. } => assert_eq!(offset, unknown_len as u64),
        e => panic!("{e}"),
    }
    // Errors leave the file alone.
    assert_eq!(std::fs::read(&file).unwrap(), unknown);
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, ..) = sample(dir.path());
    let file = dir.path().join("locked.db");
    std::fs::write(&file, &bytes).unwrap();
    let first = Log::open(&file, OpenMode::ReadWrite).unwrap();
    assert!(matches!(
        Log::open(&file, OpenMode::ReadWrite),
        Err(Error::AlreadyOpen { .. })
    ));
    assert!(Log::open(&file, OpenMode::ReadOnly).is_ok());
    // Open vSwitch sees our lock.
    let (ok, _, err) = run_status("ovsdb-tool", &["compact", path_str(&file)]);
    assert!(!ok && err.contains("lock"), "{err}");
    drop(first);
    ovsdb_tool(&["compact", path_str(&file)]);
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x20;
    b
}
